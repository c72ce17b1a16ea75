//! The comms of tasks seen at context switches (Linux: `kernel/trace/trace_sched_switch.c` and
//! the `saved_cmdlines` half of `trace.c`), so that `trace` can name a task that has exited.
//!
//! [`SavedCmdlines`] is Linux's `saved_cmdlines_buffer`: a ring of `cmdline_num` (pid, comm)
//! slots, and a map from a pid's low bits (`pid & (PID_MAX_DEFAULT - 1)`) to its slot. A pid
//! new to the map takes the next slot round the ring, evicting whoever had it; a lookup checks
//! the slot still belongs to the pid, so an evicted or aliased pid reads as unknown.
//!
//! While events are enabled or a tracer runs ([`tracing_start_cmdline_record`], counted), probes
//! on `sched_switch`, `sched_wakeup` and `sched_wakeup_new` save the tasks involved. They only
//! *try* the table's lock (Linux's `arch_spin_trylock`) and skip on contention: the switch path
//! never waits. Each CPU remembers the pair it saved last, so the same two tasks switching
//! back and forth cost a few loads and no lock until some slot changes hands. Readers (`saved_cmdlines`, `trace`) and resizes (`saved_cmdlines_size`) take it;
//! a resize builds the new (empty) table first, so a failed allocation keeps the old one.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::pid_list::PID_MAX_DEFAULT;
use super::trace_output::TASK_COMM_LEN;
use crate::fs::Errno;

/// The default number of saved comms (Linux's `SAVED_CMDLINES_DEFAULT`).
pub const SAVED_CMDLINES_DEFAULT: usize = 128;
/// An empty map entry or slot (Linux's `NO_CMDLINE_MAP`).
pub const NO_CMDLINE_MAP: u32 = u32::MAX;

/// Linux's `struct saved_cmdlines_buffer`.
pub struct SavedCmdlines {
    /// Slot of each pid's low bits, or [`NO_CMDLINE_MAP`].
    map_pid_to_cmdline: Box<[u32]>,
    /// Pid of each slot, or [`NO_CMDLINE_MAP`].
    map_cmdline_to_pid: Box<[u32]>,
    /// Comm of each slot, NUL-padded.
    saved_cmdlines: Box<[[u8; TASK_COMM_LEN]]>,
    /// The slot filled last.
    cmdline_idx: usize,
}

/// A boxed slice of `len` copies of `value`, or `ENOMEM`.
fn try_filled<T: Clone>(len: usize, value: T) -> Result<Box<[T]>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, value);
    Ok(v.into_boxed_slice())
}

impl SavedCmdlines {
    /// An empty table of `num` slots (Linux's `allocate_cmdlines_buffer`); `ENOMEM` when it
    /// cannot be allocated.
    pub fn try_new(num: usize) -> Result<Self, Errno> {
        Ok(Self {
            map_pid_to_cmdline: try_filled(PID_MAX_DEFAULT as usize, NO_CMDLINE_MAP)?,
            map_cmdline_to_pid: try_filled(num, NO_CMDLINE_MAP)?,
            saved_cmdlines: try_filled(num, [0; TASK_COMM_LEN])?,
            cmdline_idx: 0,
        })
    }

    /// The number of slots (`saved_cmdlines_size`).
    pub fn num(&self) -> usize {
        self.map_cmdline_to_pid.len()
    }

    fn tpid(pid: u32) -> usize {
        (pid & (PID_MAX_DEFAULT - 1)) as usize
    }

    /// Whether `pid` holds its slot: saving it again would change nothing, since our tasks'
    /// comms never change (Linux saves again in case of an `exec`).
    #[inline(always)]
    pub fn is_saved(&self, pid: u32) -> bool {
        let map = self.map_pid_to_cmdline[Self::tpid(pid)];
        map != NO_CMDLINE_MAP && self.map_cmdline_to_pid[map as usize] == pid
    }

    /// Saves `comm` (NUL-padded; its last byte is kept NUL) as `pid`'s (Linux's
    /// `trace_save_cmdline`). The idle task (pid 0) is never saved: `<idle>` is printed for it.
    pub fn save(&mut self, pid: u32, comm: &[u8; TASK_COMM_LEN]) {
        if pid == 0 {
            return;
        }
        let tpid = Self::tpid(pid);
        let mut idx = self.map_pid_to_cmdline[tpid];
        if idx == NO_CMDLINE_MAP {
            idx = ((self.cmdline_idx + 1) % self.num()) as u32;
            self.map_pid_to_cmdline[tpid] = idx;
            self.cmdline_idx = idx as usize;
        }
        self.map_cmdline_to_pid[idx as usize] = pid;
        let slot = &mut self.saved_cmdlines[idx as usize];
        *slot = *comm;
        slot[TASK_COMM_LEN - 1] = 0;
    }

    /// `pid`'s saved comm, if its slot is still its own (Linux's `__trace_find_cmdline`).
    pub fn find(&self, pid: u32) -> Option<&str> {
        let map = *self.map_pid_to_cmdline.get(Self::tpid(pid))?;
        if map == NO_CMDLINE_MAP || self.map_cmdline_to_pid[map as usize] != pid {
            return None;
        }
        let comm = &self.saved_cmdlines[map as usize];
        let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        core::str::from_utf8(&comm[..end]).ok()
    }

    /// The pid of every filled slot, in slot order, with its comm if [`Self::find`] finds it.
    pub fn entries(&self) -> impl Iterator<Item = (u32, Option<&str>)> {
        self.map_cmdline_to_pid
            .iter()
            .filter(|&&pid| pid != NO_CMDLINE_MAP)
            .map(|&pid| (pid, self.find(pid)))
    }

    /// `saved_cmdlines`: `PID COMM` for every filled slot, in slot order; a pid whose map entry
    /// another pid has taken since reads `<...>`, as in Linux.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        for (pid, comm) in self.entries() {
            writeln!(w, "{pid} {}", comm.unwrap_or(COMM_UNKNOWN))?;
        }
        Ok(())
    }
}

/// Linux's comm for a pid it has no saved comm for.
pub const COMM_UNKNOWN: &str = "<...>";

/// A `saved_cmdlines_size` write (Linux's `tracing_saved_cmdlines_size_write`): a decimal
/// number from 1 to [`PID_MAX_DEFAULT`], else `EINVAL`.
pub fn parse_saved_cmdlines_size(data: &[u8]) -> Result<usize, Errno> {
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    match text.parse::<u64>() {
        Ok(n) if n != 0 && n <= u64::from(PID_MAX_DEFAULT) => Ok(n as usize),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(target_os = "none")]
mod record {
    use alloc::boxed::Box;
    use core::fmt::{self, Write};
    use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

    use spin::Mutex;

    use super::{SAVED_CMDLINES_DEFAULT, SavedCmdlines, TASK_COMM_LEN, parse_saved_cmdlines_size};
    use crate::board::MAX_CPUS;
    use crate::fs::{self, Errno};
    use crate::sched::{self, Task};
    use crate::smp::smp_processor_id;
    use crate::trace::events::sched as sched_events;
    use crate::trace::trace::try_buffer;
    use crate::tracefs::create_file;

    /// The table (Linux's `savedcmd`, under `trace_cmdline_lock`): probes only try the lock.
    static SAVEDCMD: Mutex<Option<Box<SavedCmdlines>>> = Mutex::new(None);

    /// Users of recording (Linux's `sched_cmdline_ref`, under `sched_register_mutex`).
    static CMDLINE_REF: Mutex<usize> = Mutex::new(0);

    /// Bumped (under the table's lock) whenever a pid takes a slot, which may evict another,
    /// and when the table is replaced.
    static SAVED_GEN: AtomicU32 = AtomicU32::new(0);
    /// Per CPU: the pid pair it last found or made saved (the lower pid in the low half) and
    /// [`SAVED_GEN`] then. While no slot has changed hands since, the pair is still saved.
    static LAST_SAVED: [(AtomicU64, AtomicU32); MAX_CPUS] =
        [const { (AtomicU64::new(u64::MAX), AtomicU32::new(0)) }; MAX_CPUS];

    /// Saves two tasks' comms (Linux's `tracing_record_taskinfo_sched_switch`), unless nothing
    /// is being recorded (Linux saves only after an entry was committed on the CPU; a buffer
    /// whose recording is off commits nothing), the pair is known saved (no lock taken), or
    /// someone holds the table (skipped, as Linux's trylock does).
    ///
    /// The checks are inlined into the probes; the saving is out of line, so a probe whose
    /// pair is known saved (every switch between the same two tasks) stays a leaf.
    #[inline(always)]
    fn save_pair(a: &Task, b: &Task) {
        if !try_buffer().is_some_and(|rb| rb.is_record_on()) {
            return;
        }
        let (lo, hi) = (a.pid().min(b.pid()), a.pid().max(b.pid()));
        let pair = u64::from(lo) | (u64::from(hi) << 32);
        let (last, last_gen) = &LAST_SAVED[smp_processor_id()];
        if last.load(Ordering::Relaxed) == pair
            && last_gen.load(Ordering::Relaxed) == SAVED_GEN.load(Ordering::Relaxed)
        {
            return;
        }
        save_pair_slow(a, b, pair);
    }

    /// [`save_pair`] for a pair not known saved on this CPU.
    #[inline(never)]
    fn save_pair_slow(a: &Task, b: &Task, pair: u64) {
        let (last, last_gen) = &LAST_SAVED[smp_processor_id()];
        let Some(mut table) = SAVEDCMD.try_lock() else {
            return;
        };
        let Some(table) = table.as_mut() else {
            return;
        };
        for task in [a, b] {
            let pid = task.pid();
            if !table.is_saved(pid) {
                table.save(pid, &task.comm());
                SAVED_GEN.fetch_add(1, Ordering::Relaxed);
            }
        }
        last.store(pair, Ordering::Relaxed);
        last_gen.store(SAVED_GEN.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn probe_sched_switch(_: *const (), _: bool, _preempt: bool, prev: &Task, next: &Task) {
        save_pair(prev, next);
    }

    fn probe_sched_wakeup(_: *const (), _: bool, wakee: &Task) {
        save_pair(sched::current().unwrap_or(wakee), wakee);
    }

    /// Attaches (`on`) or detaches the probes (Linux's `tracing_sched_register` and
    /// `tracing_sched_unregister`). Linux only reports a failure; so do we, by leaving the
    /// probes that did attach.
    fn sched_register(on: bool) {
        let none = core::ptr::null();
        if on {
            let _ = sched_events::register_trace_sched_wakeup(probe_sched_wakeup, none);
            let _ = sched_events::register_trace_sched_wakeup_new(probe_sched_wakeup, none);
            let _ = sched_events::register_trace_sched_switch(probe_sched_switch, none);
        } else {
            let _ = sched_events::unregister_trace_sched_switch(probe_sched_switch, none);
            let _ = sched_events::unregister_trace_sched_wakeup_new(probe_sched_wakeup, none);
            let _ = sched_events::unregister_trace_sched_wakeup(probe_sched_wakeup, none);
        }
    }

    /// One more user of comm recording: an enabled event or a running tracer (Linux's
    /// `tracing_start_cmdline_record`).
    pub fn tracing_start_cmdline_record() {
        let mut refs = CMDLINE_REF.lock();
        *refs += 1;
        if *refs == 1 {
            sched_register(true);
        }
    }

    /// One user fewer (Linux's `tracing_stop_cmdline_record`).
    pub fn tracing_stop_cmdline_record() {
        let mut refs = CMDLINE_REF.lock();
        *refs = refs.saturating_sub(1);
        if *refs == 0 {
            sched_register(false);
        }
    }

    /// Saves `task`'s new comm after a rename (`execve`) if its pid has a slot, so events it
    /// recorded before it exits print with the program's name (Linux saves the comm again at
    /// each switch). A busy table is left alone, as the switch probes leave it.
    pub fn trace_task_rename(task: &Task) {
        let Some(mut table) = SAVEDCMD.try_lock() else {
            return;
        };
        let Some(table) = table.as_mut() else {
            return;
        };
        if table.is_saved(task.pid()) {
            table.save(task.pid(), &task.comm());
            SAVED_GEN.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `pid`'s saved comm, given to `f` outside the lock (Linux's `trace_find_cmdline`);
    /// `None` when unknown.
    pub fn trace_find_cmdline(
        pid: u32,
        f: &mut dyn FnMut(&str) -> fmt::Result,
    ) -> Option<fmt::Result> {
        let mut comm = [0; TASK_COMM_LEN];
        let len = {
            let table = SAVEDCMD.lock();
            let found = table.as_ref()?.find(pid)?.as_bytes();
            comm[..found.len()].copy_from_slice(found);
            found.len()
        };
        Some(f(core::str::from_utf8(&comm[..len]).unwrap_or_default()))
    }

    fn read_saved_cmdlines(w: &mut dyn Write) -> Result<(), Errno> {
        let table = SAVEDCMD.lock();
        if let Some(table) = table.as_ref() {
            table.show(w)?;
        }
        Ok(())
    }

    fn read_saved_cmdlines_size(w: &mut dyn Write) -> Result<(), Errno> {
        let num = SAVEDCMD.lock().as_ref().map_or(0, |t| t.num());
        Ok(writeln!(w, "{num}")?)
    }

    /// Linux's `tracing_resize_saved_cmdlines`: a new, empty table; the old one is kept when
    /// the new one cannot be allocated (ENOMEM).
    fn write_saved_cmdlines_size(data: &[u8]) -> Result<(), Errno> {
        let num = parse_saved_cmdlines_size(data)?;
        let new = Box::try_new(SavedCmdlines::try_new(num)?).map_err(|_| Errno::ENOMEM)?;
        let old = {
            let mut table = SAVEDCMD.lock();
            SAVED_GEN.fetch_add(1, Ordering::Relaxed);
            table.replace(new)
        };
        drop(old);
        Ok(())
    }

    /// Allocates the default table and creates `saved_cmdlines` and `saved_cmdlines_size`.
    pub fn init(tracefs: &str) {
        match SavedCmdlines::try_new(SAVED_CMDLINES_DEFAULT)
            .and_then(|t| Box::try_new(t).map_err(|_| Errno::ENOMEM))
        {
            Ok(table) => *SAVEDCMD.lock() = Some(table),
            Err(e) => crate::println!("trace: no saved_cmdlines ({e:?})"),
        }
        create_file(
            &alloc::format!("{tracefs}/saved_cmdlines"),
            fs::read_only(read_saved_cmdlines),
        );
        create_file(
            &alloc::format!("{tracefs}/saved_cmdlines_size"),
            fs::read_write(read_saved_cmdlines_size, |data, _| {
                write_saved_cmdlines_size(data)
            }),
        );
    }
}

#[cfg(target_os = "none")]
pub use record::{
    init, trace_find_cmdline, trace_task_rename, tracing_start_cmdline_record,
    tracing_stop_cmdline_record,
};

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// A comm as tasks give it: NUL-padded, at most 15 bytes.
    fn comm(name: &str) -> [u8; TASK_COMM_LEN] {
        let mut c = [0; TASK_COMM_LEN];
        let n = name.len().min(TASK_COMM_LEN);
        c[..n].copy_from_slice(&name.as_bytes()[..n]);
        c
    }

    fn shown(t: &SavedCmdlines) -> String {
        let mut s = String::new();
        t.show(&mut s).unwrap();
        s
    }

    #[test]
    fn saves_in_ring_order_starting_at_slot_one() {
        let mut t = SavedCmdlines::try_new(3).unwrap();
        assert_eq!(shown(&t), "");
        t.save(1, &comm("sh"));
        t.save(7, &comm("fib"));
        assert_eq!(shown(&t), "1 sh\n7 fib\n");
        t.save(9, &comm("a-very-long-task-name"));
        // Slot 0 is filled last, so it is listed first.
        assert_eq!(shown(&t), "9 a-very-long-tas\n1 sh\n7 fib\n");
        assert_eq!(t.find(9), Some("a-very-long-tas"));
        assert!(t.is_saved(9) && t.is_saved(1) && !t.is_saved(2));
        // Saving again updates in place.
        t.save(7, &comm("fib2"));
        assert_eq!(shown(&t), "9 a-very-long-tas\n1 sh\n7 fib2\n");
    }

    #[test]
    fn eviction_and_aliases_read_as_unknown() {
        let mut t = SavedCmdlines::try_new(2).unwrap();
        t.save(1, &comm("sh"));
        t.save(2, &comm("two"));
        t.save(3, &comm("three"));
        // 3 took slot 1 from pid 1.
        assert_eq!(t.find(1), None);
        assert!(!t.is_saved(1));
        assert_eq!(t.find(3), Some("three"));
        assert_eq!(shown(&t), "2 two\n3 three\n");
        // pid 32771 shares pid 3's map entry: it reuses (steals) that slot.
        t.save(PID_MAX_DEFAULT + 3, &comm("alias"));
        assert_eq!(t.find(3), None);
        assert_eq!(t.find(PID_MAX_DEFAULT + 3), Some("alias"));
        // Pid 2's slot still holds 2, but a pid with no map entry is unknown.
        assert_eq!(t.find(PID_MAX_DEFAULT + 2), None);
    }

    #[test]
    fn the_idle_task_is_never_saved() {
        let mut t = SavedCmdlines::try_new(4).unwrap();
        t.save(0, &comm("swapper/0"));
        assert_eq!(t.find(0), None);
        assert_eq!(shown(&t), "");
    }

    #[test]
    fn size_writes_take_1_to_pid_max_default() {
        assert_eq!(parse_saved_cmdlines_size(b"2\n"), Ok(2));
        assert_eq!(parse_saved_cmdlines_size(b"32768"), Ok(32768));
        for bad in [
            &b"0"[..],
            b"32769",
            b"abc",
            b"",
            b"-1",
            b" 5",
            b"5 ",
            b"0x10",
        ] {
            assert_eq!(
                parse_saved_cmdlines_size(bad),
                Err(Errno::EINVAL),
                "{bad:?}"
            );
        }
    }
}
