//! Dynamic events (Linux: `kernel/trace/trace_dynevent.c` and the probe halves of
//! `trace_kprobe.c`/`trace_fprobe.c` that manage the list): the list of probe events in
//! creation order, what a write to `kprobe_events` or `dynamic_events` does with it (create,
//! append to an event, remove), and what reading those files and `kprobe_profile` shows.
//!
//! The list is plain data, host-tested. What it cannot decide itself (whether an event name is
//! taken by a static event, whether an event is enabled, arming and disarming the probes) it
//! asks through [`DynEventHooks`], which the tracefs side implements over the event registry
//! and the kprobe/fprobe mechanisms.
//!
//! Removal: `-:[GRP/]EVENT [POINT [NAME=ARG...]]` removes the probes that match (an empty
//! `EVENT` after `GRP/` matches the whole group); `dynamic_events` also takes `!` for `-`.
//! A probe is busy, and not removed (`EBUSY`), while its event is enabled, unless other probes
//! share the event (Linux removes just that probe then).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::trace_events::{RegFn, TraceEventCall};
use super::trace_fprobe::{TraceFprobe, parse_fprobe};
use super::trace_kprobe::{TraceKprobe, parse_kprobe, register_error};
use super::trace_output::PrintCtx;
use super::trace_probe::{
    KsymLookup, ProbeError, ProbeLog, ProbePrintType, SymInfo, Symbolizer, TpErr, TraceProbe,
    split_words, try_string,
};
use crate::fs::Errno;
use crate::symbols::Table;

/// Linux's `WRITE_BUFSIZE`: a command line is shorter than this.
pub const WRITE_BUFSIZE: usize = 4096;

/// A probe event of either kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DynEvent {
    Kprobe(TraceKprobe),
    Fprobe(TraceFprobe),
}

/// The kind of probe events a file manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynEventKind {
    Kprobe,
    Fprobe,
}

impl DynEvent {
    pub fn kind(&self) -> DynEventKind {
        match self {
            Self::Kprobe(_) => DynEventKind::Kprobe,
            Self::Fprobe(_) => DynEventKind::Fprobe,
        }
    }

    pub fn group(&self) -> &str {
        match self {
            Self::Kprobe(k) => &k.group,
            Self::Fprobe(f) => &f.group,
        }
    }

    pub fn event(&self) -> &str {
        match self {
            Self::Kprobe(k) => &k.event,
            Self::Fprobe(f) => &f.event,
        }
    }

    pub fn tp(&self) -> &TraceProbe {
        match self {
            Self::Kprobe(k) => &k.tp,
            Self::Fprobe(f) => &f.tp,
        }
    }

    fn tp_mut(&mut self) -> &mut TraceProbe {
        match self {
            Self::Kprobe(k) => &mut k.tp,
            Self::Fprobe(f) => &mut f.tp,
        }
    }

    pub fn is_return(&self) -> bool {
        match self {
            Self::Kprobe(k) => k.is_return,
            Self::Fprobe(f) => f.is_return,
        }
    }

    pub fn ptype(&self) -> ProbePrintType {
        match self {
            Self::Kprobe(k) => k.ptype(),
            Self::Fprobe(f) => f.ptype(),
        }
    }

    /// Its listing line.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        match self {
            Self::Kprobe(k) => k.show(w),
            Self::Fprobe(f) => f.show(w),
        }
    }

    fn matches(&self, system: Option<&str>, event: &str, argv: &[&str]) -> bool {
        match self {
            Self::Kprobe(k) => k.matches(system, event, argv),
            Self::Fprobe(f) => f.matches(system, event, argv),
        }
    }

    fn same_probe(&self, other: &DynEvent) -> bool {
        match (self, other) {
            (Self::Kprobe(a), Self::Kprobe(b)) => a.same_probe(b),
            (Self::Fprobe(a), Self::Fprobe(b)) => a.same_probe(b),
            _ => false,
        }
    }

    fn subsystem(&self) -> &'static str {
        match self {
            Self::Kprobe(_) => super::trace_kprobe::SUBSYSTEM,
            Self::Fprobe(_) => super::trace_fprobe::SUBSYSTEM,
        }
    }

    /// Whether it names the same event as `group`/`event`.
    fn is_event(&self, group: &str, event: &str) -> bool {
        self.group() == group && self.event() == event
    }
}

/// What the list asks of the rest of the kernel.
pub trait DynEventHooks {
    /// Whether an event that is not a probe event of the same kind is called `group`/`event`
    /// (Linux's `find_trace_event_call()`).
    fn event_exists(&self, group: &str, event: &str) -> bool;
    /// Whether the event of `ev` is enabled or otherwise in use.
    fn is_busy(&self, ev: &DynEvent) -> bool;
    /// Arms `ev`; `new_event` when it creates its event (else it joins the event's probes).
    /// The event's registry entry ([`ProbeEventCall`]) shares `ev`.
    fn register(&mut self, ev: &Arc<DynEvent>, new_event: bool) -> Result<(), Errno>;
    /// Disarms `ev`; `last` when its event goes with it.
    fn unregister(&mut self, ev: &DynEvent, last: bool);
    /// The address of a symbol (for `@SYM` arguments and the probe point).
    fn lookup_name(&self, name: &str) -> Option<u64>;
}

/// Every probe event, in creation order (Linux's `dyn_event_list`).
#[derive(Debug, Default)]
pub struct DynEventList {
    events: Vec<Arc<DynEvent>>,
}

/// Which file a write goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynEventFile {
    /// `kprobe_events`: kprobes only.
    KprobeEvents,
    /// `dynamic_events`: every kind.
    DynamicEvents,
}

impl DynEventFile {
    fn kind(self) -> Option<DynEventKind> {
        match self {
            Self::KprobeEvents => Some(DynEventKind::Kprobe),
            Self::DynamicEvents => None,
        }
    }
}

impl DynEventList {
    pub const fn new() -> Self {
        Self { events: Vec::new() }
    }

    pub fn iter(&self) -> impl Iterator<Item = &DynEvent> {
        self.events.iter().map(|e| &**e)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The first (primary) probe of an event: what its layout and printer come from.
    pub fn find(&self, group: &str, event: &str) -> Option<&Arc<DynEvent>> {
        self.events.iter().find(|e| e.is_event(group, event))
    }

    /// One command line written to `file` (Linux's `create_or_delete_trace_kprobe()` and
    /// `create_dyn_event()`).
    pub fn run_command(
        &mut self,
        raw: &str,
        file: DynEventFile,
        syms: &dyn KsymLookup,
        hooks: &mut dyn DynEventHooks,
    ) -> Result<(), ProbeError> {
        let removal = match file {
            DynEventFile::KprobeEvents => raw.starts_with('-'),
            DynEventFile::DynamicEvents => raw.starts_with(['-', '!']),
        };
        if removal {
            return self
                .release(raw, file.kind(), hooks)
                .map_err(ProbeError::silent);
        }
        let argv = split_words(raw).map_err(ProbeError::silent)?;
        if argv.is_empty() {
            return Ok(());
        }
        let ev = match parse_kprobe(&argv, syms)? {
            Some(k) => DynEvent::Kprobe(k),
            None if file == DynEventFile::DynamicEvents => match parse_fprobe(&argv)? {
                Some(f) => DynEvent::Fprobe(f),
                None => return Err(ProbeError::silent(Errno::EINVAL)),
            },
            None => return Err(ProbeError::silent(Errno::EINVAL)),
        };
        self.register(ev, &argv, hooks)
    }

    /// Linux's `register_trace_kprobe()` / `register_trace_fprobe()`: a new event, or one more
    /// probe on an event of the same kind.
    fn register(
        &mut self,
        mut ev: DynEvent,
        argv: &[&str],
        hooks: &mut dyn DynEventHooks,
    ) -> Result<(), ProbeError> {
        let log = ProbeLog::new(ev.subsystem(), argv);
        let existing = self
            .events
            .iter()
            .find(|o| o.kind() == ev.kind() && o.is_event(ev.group(), ev.event()));
        let new_event = existing.is_none();
        match existing {
            Some(old) => {
                if old.is_return() != ev.is_return() {
                    return Err(log.err_in(0, Errno::EEXIST, TpErr::DIFF_PROBE_TYPE, 0));
                }
                let diff = ev.tp().compare_arg_type(old.tp());
                if diff != 0 {
                    // Arguments are words 2 on.
                    return Err(log.err_in(diff + 1, Errno::EEXIST, TpErr::DIFF_ARG_TYPE, 0));
                }
                if self
                    .events
                    .iter()
                    .filter(|o| o.kind() == ev.kind() && o.is_event(ev.group(), ev.event()))
                    .any(|o| o.same_probe(&ev))
                {
                    return Err(log.err_in(0, Errno::EEXIST, TpErr::SAME_PROBE, 0));
                }
            }
            None => {
                let taken = hooks.event_exists(ev.group(), ev.event())
                    || self.find(ev.group(), ev.event()).is_some();
                if taken {
                    return Err(log.err_in(0, Errno::EEXIST, TpErr::EVENT_EXIST, 0));
                }
            }
        }
        self.events
            .try_reserve(1)
            .map_err(|_| ProbeError::silent(Errno::ENOMEM))?;
        let subsystem = ev.subsystem();
        let registered = ev
            .tp_mut()
            .resolve_symbols(&|name| hooks.lookup_name(name))
            .and_then(|()| Arc::try_new(ev).map_err(|_| Errno::ENOMEM))
            .and_then(|ev| hooks.register(&ev, new_event).map(|()| ev));
        match registered {
            Ok(ev) => {
                self.events.push(ev);
                Ok(())
            }
            Err(errno) => Err(register_error(argv, subsystem, errno)),
        }
    }

    /// Linux's `dyn_event_release()`: removes the probes a `-:` (or `!`) line names.
    pub fn release(
        &mut self,
        raw: &str,
        kind: Option<DynEventKind>,
        hooks: &mut dyn DynEventHooks,
    ) -> Result<(), Errno> {
        let argv = split_words(raw)?;
        let Some(first) = argv.first() else {
            return Err(Errno::EINVAL);
        };
        let spec = if let Some(rest) = first.strip_prefix('-') {
            rest.strip_prefix(':').ok_or(Errno::EINVAL)?
        } else {
            &first[first.find(':').ok_or(Errno::EINVAL)? + 1..]
        };
        let (system, event) = match spec.split_once('/') {
            Some((s, e)) => (Some(s), e),
            None => (None, spec),
        };
        if system.is_none() && event.is_empty() {
            return Err(Errno::EINVAL);
        }
        let mut ret = Err(Errno::ENOENT);
        let mut i = 0;
        while i < self.events.len() {
            let ev = &self.events[i];
            if kind.is_some_and(|k| k != ev.kind()) || !ev.matches(system, event, &argv[1..]) {
                i += 1;
                continue;
            }
            self.free_at(i, hooks)?;
            ret = Ok(());
        }
        ret
    }

    /// Linux's `unregister_trace_kprobe()`: the probe at `i` goes, unless it is its event's
    /// last and the event is busy.
    fn free_at(&mut self, i: usize, hooks: &mut dyn DynEventHooks) -> Result<(), Errno> {
        let ev = &self.events[i];
        let siblings = self
            .events
            .iter()
            .filter(|o| o.kind() == ev.kind() && o.is_event(ev.group(), ev.event()))
            .count();
        let last = siblings == 1;
        if last && hooks.is_busy(ev) {
            return Err(Errno::EBUSY);
        }
        hooks.unregister(ev, last);
        self.events.remove(i);
        Ok(())
    }

    /// A truncating open (Linux's `dyn_events_release_all()`): every probe of `kind` goes, or
    /// none when one of them is busy.
    pub fn release_all(
        &mut self,
        kind: Option<DynEventKind>,
        hooks: &mut dyn DynEventHooks,
    ) -> Result<(), Errno> {
        let of_kind = |e: &DynEvent| kind.is_none_or(|k| k == e.kind());
        if self.events.iter().any(|e| of_kind(e) && hooks.is_busy(e)) {
            return Err(Errno::EBUSY);
        }
        let mut i = 0;
        while i < self.events.len() {
            if of_kind(&self.events[i]) {
                self.free_at(i, hooks)?;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// `kprobe_events` (`Some(Kprobe)`) or `dynamic_events` (`None`).
    pub fn show(&self, kind: Option<DynEventKind>, w: &mut dyn Write) -> fmt::Result {
        self.events
            .iter()
            .filter(|e| kind.is_none_or(|k| k == e.kind()))
            .try_for_each(|e| e.show(w))
    }

    /// `kprobe_profile`: each kprobe's hits and misses, from `counts`.
    pub fn show_profile(
        &self,
        w: &mut dyn Write,
        counts: &dyn Fn(&TraceKprobe) -> (u64, u64),
    ) -> fmt::Result {
        for e in &self.events {
            if let DynEvent::Kprobe(k) = &**e {
                let (hits, misses) = counts(k);
                k.show_profile(w, hits, misses)?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The event of a probe
// ---------------------------------------------------------------------------------------------

/// A probe event's description in the event registry together with the probe it prints for
/// (Linux's `trace_probe_event`, whose `call` the print function finds its probe from). The
/// call comes first so that [`ProbeEventCall::from_call`] can go back from it.
#[repr(C)]
pub struct ProbeEventCall {
    pub call: TraceEventCall,
    /// The event's primary probe: its layout and printer.
    pub event: Arc<DynEvent>,
}

impl ProbeEventCall {
    /// The registry entry of `event` (Linux's `init_trace_event_call()` and
    /// `traceprobe_set_print_fmt()`): its fields, `print fmt` and printer; `reg` arms and
    /// disarms it.
    pub fn new(event: Arc<DynEvent>, reg: RegFn) -> Result<Self, Errno> {
        let ptype = event.ptype();
        let call = TraceEventCall::new_dynamic(
            try_string(event.group())?,
            try_string(event.event())?,
            event.tp().fields(ptype)?,
            event.tp().print_fmt(ptype)?,
            print_probe_event,
            reg,
        );
        Ok(Self { call, event })
    }

    /// The probe event whose `call` this is.
    ///
    /// # Safety
    ///
    /// `call` must be the `call` field of a [`ProbeEventCall`]: true of every call whose print
    /// function is `print_probe_event`, which only [`ProbeEventCall::new`] installs.
    pub unsafe fn from_call(call: &TraceEventCall) -> &ProbeEventCall {
        // SAFETY: `repr(C)` puts `call` at offset 0 of the `ProbeEventCall` the caller vouches
        // for, so the pointer to it is a pointer to the whole, valid as long as `call` is.
        unsafe { &*core::ptr::from_ref(call).cast::<ProbeEventCall>() }
    }
}

/// The print function of every probe event: finds the probe and prints the hit as Linux's
/// `print_kprobe_event()` and friends, symbols from the kernel's table.
fn print_probe_event(
    call: &TraceEventCall,
    record: &[u8],
    w: &mut dyn Write,
    _ctx: &PrintCtx<'_>,
) -> fmt::Result {
    // SAFETY: only `ProbeEventCall::new` installs this function.
    let pe = unsafe { ProbeEventCall::from_call(call) };
    let sym = TableSymbolizer::new(kernel_symbols());
    match &*pe.event {
        DynEvent::Kprobe(k) => k.print_event(w, record, &sym),
        DynEvent::Fprobe(f) => f.print_event(w, record, &sym),
    }
}

#[cfg(target_os = "none")]
fn kernel_symbols() -> Table<'static> {
    crate::symbols::kallsyms()
}

/// The host has no kernel symbol table: addresses print raw.
#[cfg(not(target_os = "none"))]
fn kernel_symbols() -> Table<'static> {
    Table::default()
}

/// Symbols from a kallsyms [`Table`], for printing probe hits and `symbol`/`symstr` values.
#[derive(Clone, Copy)]
pub struct TableSymbolizer<'t> {
    table: Table<'t>,
    /// The kretprobe return trampoline, once kprobes have one.
    pub trampoline: Option<u64>,
}

impl<'t> TableSymbolizer<'t> {
    pub const fn new(table: Table<'t>) -> Self {
        Self {
            table,
            trampoline: None,
        }
    }
}

impl Symbolizer for TableSymbolizer<'_> {
    fn symbol(&self, addr: u64) -> Option<SymInfo<'_>> {
        self.table.lookup(addr).map(|s| SymInfo {
            name: s.name,
            addr: s.addr,
            size: u64::from(s.size),
        })
    }

    fn is_kretprobe_trampoline(&self, addr: u64) -> bool {
        self.trampoline == Some(addr)
    }
}

impl KsymLookup for Table<'_> {
    fn lookup_name(&self, name: &str) -> Option<u64> {
        self.find(name).map(|s| s.addr)
    }

    fn count(&self, name: &str) -> usize {
        self.iter().filter(|s| s.name == name).count()
    }
}

/// Linux's `trace_parse_run_command()`: runs every line of `buf` (comments after `#` cut)
/// through `run`, stopping at the first error. A line must be shorter than
/// [`WRITE_BUFSIZE`] - 1 bytes. The bytes consumed.
pub fn parse_run_command<E>(
    buf: &str,
    mut run: impl FnMut(&str) -> Result<(), E>,
    too_long: E,
) -> Result<usize, E> {
    let bytes = buf.as_bytes();
    let count = bytes.len();
    let mut done = 0;
    while done < count {
        // Linux reads at most WRITE_BUFSIZE - 1 bytes at a time and runs whole lines of it.
        let chunk_end = (done + WRITE_BUFSIZE - 1).min(count);
        let chunk_start = done;
        while done < count {
            let rest = &bytes[done..chunk_end];
            let (line, size) = match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => (&buf[done..done + nl], nl + 1),
                None => {
                    if chunk_end < count {
                        if done != chunk_start {
                            break;
                        }
                        return Err(too_long);
                    }
                    (&buf[done..], rest.len())
                }
            };
            done += size;
            run(line.split('#').next().unwrap_or(""))?;
        }
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------------
// The kernel's probe events and their files
// ---------------------------------------------------------------------------------------------

#[cfg(target_os = "none")]
mod global {
    use alloc::boxed::Box;
    use alloc::string::String;
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::fmt::Write;
    use core::sync::atomic::Ordering;

    use spin::Mutex;

    use super::{
        DynEvent, DynEventFile, DynEventHooks, DynEventKind, DynEventList, ProbeEventCall,
        parse_run_command,
    };
    use crate::fs::{self, Errno, FileOps, WriteMode};
    use crate::symbols::kallsyms;
    use crate::trace::events::{
        EVENT_MUTEX, add_dynamic_event, remove_dynamic_event, trace_event_record_with,
    };
    use crate::trace::ring_buffer::BUF_MAX_DATA_SIZE;
    use crate::trace::trace_events::{
        EVENT_FILE_FL_ENABLED, EVENT_FILE_FL_SOFT_MODE, TraceEventCall,
    };
    use crate::trace::trace_kprobe::{
        enable_trace_kprobe, register_trace_kprobe, trace_kprobe_nmissed, unregister_trace_kprobe,
    };
    use crate::trace::trace_output::EVENTS;
    use crate::trace::trace_probe::{
        COMMON_HEADER_SIZE, FetchCtx, KsymLookup, ProbePlan, ProbePrintType, TraceProbe,
    };
    use crate::tracefs::{TRACEFS, create_file};

    /// Every probe event (Linux's `dyn_event_list`), changed under [`EVENT_MUTEX`].
    static LIST: Mutex<DynEventList> = Mutex::new(DynEventList::new());

    /// A kprobe event's `reg` (Linux's `kprobe_register()`): arms or disarms its probes. Fprobe
    /// events get [`crate::trace::trace_fprobe::fprobe_event_reg`] instead.
    fn probe_reg(call: &'static TraceEventCall, on: bool) -> Result<(), Errno> {
        // SAFETY: `probe_reg` is only installed by `ProbeEventCall::new`.
        let pe = unsafe { ProbeEventCall::from_call(call) };
        match &*pe.event {
            DynEvent::Kprobe(_) => enable_trace_kprobe(call, on),
            DynEvent::Fprobe(_) => Err(Errno::EINVAL),
        }
    }

    /// The hooks over the event registry and `events/`.
    struct KernelHooks;

    fn registered(ev: &DynEvent) -> Option<&'static TraceEventCall> {
        EVENTS.read().lookup(ev.group(), ev.event())
    }

    impl DynEventHooks for KernelHooks {
        fn event_exists(&self, group: &str, event: &str) -> bool {
            EVENTS.read().lookup(group, event).is_some()
        }

        fn is_busy(&self, ev: &DynEvent) -> bool {
            registered(ev).is_some_and(|call| {
                call.file_flags.load(Ordering::Relaxed)
                    & (EVENT_FILE_FL_ENABLED | EVENT_FILE_FL_SOFT_MODE)
                    != 0
            })
        }

        fn register(&mut self, ev: &Arc<DynEvent>, new_event: bool) -> Result<(), Errno> {
            // What Linux 6.12's `register_fprobe()` finds out first: its ftrace filter must
            // match a traceable function (`EINVAL` from `ftrace_set_filter()` otherwise).
            if let DynEvent::Fprobe(f) = &**ev
                && !crate::trace::fprobe::is_fprobe_target(&f.symbol)
            {
                return Err(Errno::EINVAL);
            }
            let is_kprobe = matches!(&**ev, DynEvent::Kprobe(_));
            if !new_event {
                // It joins its event's probes, armed at once if the event is (Linux's
                // `append_trace_kprobe()`).
                let Some(call) = registered(ev) else {
                    return if is_kprobe {
                        Err(Errno::EINVAL)
                    } else {
                        Ok(())
                    };
                };
                if !is_kprobe {
                    return crate::trace::trace_fprobe::fprobe_probe_added(call, ev);
                }
                let enabled = call.file_flags.load(Ordering::Relaxed) & EVENT_FILE_FL_ENABLED != 0;
                return register_trace_kprobe(ev, call, enabled);
            }
            let reg = match &**ev {
                DynEvent::Fprobe(_) => crate::trace::trace_fprobe::fprobe_event_reg,
                DynEvent::Kprobe(_) => probe_reg,
            };
            let pe = ProbeEventCall::new(Arc::clone(ev), reg)?;
            let pe = Box::into_raw(Box::try_new(pe).map_err(|_| Errno::ENOMEM)?);
            // SAFETY: from `Box::into_raw` just above; freed below only if never published.
            let call: &'static TraceEventCall = unsafe { &(*pe).call };
            // A kprobe is registered (disabled) with its line, as Linux does: what the kprobe
            // core refuses fails the line.
            if is_kprobe && let Err(e) = register_trace_kprobe(ev, call, false) {
                // SAFETY: nothing saw `pe`: the failed registration dropped its reference.
                drop(unsafe { Box::from_raw(pe) });
                return Err(e);
            }
            add_dynamic_event(TRACEFS, call).inspect_err(|_| {
                if is_kprobe {
                    unregister_trace_kprobe(ev);
                }
                // SAFETY: `add_dynamic_event` fails before publishing the call, and the kprobe
                // that named it is unregistered (past its grace period): nothing refers to it.
                drop(unsafe { Box::from_raw(pe) });
            })
        }

        fn unregister(&mut self, ev: &DynEvent, last: bool) {
            match ev {
                DynEvent::Fprobe(_) => {
                    // Only a probe of an enabled event is armed; one whose fprobe cannot be
                    // unregistered (out of memory) stays armed until its event is disabled.
                    if let Err(e) = crate::trace::trace_fprobe::fprobe_probe_removed(ev) {
                        crate::println!("WARNING: fprobe event probe left armed: {e}");
                    }
                }
                DynEvent::Kprobe(_) => unregister_trace_kprobe(ev),
            }
            if last && let Some(call) = registered(ev) {
                // What may still run on the call after it leaves the registry: its files'
                // handlers, taken before their nodes go.
                let files = call_files(call);
                // Busy events were refused before; this cannot fail with EBUSY here.
                if remove_dynamic_event(TRACEFS, call).is_ok() {
                    retire_call(call, files);
                }
            }
        }

        fn lookup_name(&self, name: &str) -> Option<u64> {
            kallsyms().lookup_name(name)
        }
    }

    /// A removed event's registry entry (a [`ProbeEventCall`] from `Box::into_raw` in
    /// `register`) and the handlers of the files that named it, kept until nothing can reach
    /// it any more (Linux refuses the removal while an event file is open, and its readers of
    /// the event list hold `event_mutex`; here they run unlocked on pointers they copied).
    struct RemovedCall {
        pe: *mut ProbeEventCall,
        /// Each with the path it had.
        files: Vec<(String, Arc<dyn FileOps>)>,
    }

    // SAFETY: `pe` is owned by this entry alone (the registry forgot it); the handlers are
    // `Send + Sync`.
    unsafe impl Send for RemovedCall {}

    /// Removed events' entries not yet freed, changed under [`EVENT_MUTEX`].
    static REMOVED: Mutex<Vec<RemovedCall>> = Mutex::new(Vec::new());

    /// The files of `call`'s directory, and its system's `enable` and `filter`, whose
    /// handlers capture the call (or read the event list); None if memory runs out.
    fn call_files(call: &TraceEventCall) -> Option<Vec<(String, Arc<dyn FileOps>)>> {
        let system = alloc::format!("{TRACEFS}/events/{}", call.system);
        let dir = alloc::format!("{system}/{}", call.name);
        let mut files = Vec::new();
        files.try_reserve_exact(7).ok()?;
        for name in ["enable", "id", "format", "filter", "trigger"] {
            let path = alloc::format!("{dir}/{name}");
            if let Ok(ops) = fs::vfs().open(&path) {
                files.push((path, ops));
            }
        }
        for name in ["enable", "filter"] {
            let path = alloc::format!("{system}/{name}");
            if let Ok(ops) = fs::vfs().open(&path) {
                files.push((path, ops));
            }
        }
        Some(files)
    }

    /// Frees `call`'s [`ProbeEventCall`], just removed from the registry and `events/`, once
    /// no handler can reach it: at once in the common case, else at a later removal. Without
    /// memory to track it, it stays allocated (a leak rather than a use after free).
    fn retire_call(call: &'static TraceEventCall, files: Option<Vec<(String, Arc<dyn FileOps>)>>) {
        let Some(files) = files else {
            return;
        };
        let mut removed = REMOVED.lock();
        if removed.try_reserve(1).is_err() {
            return;
        }
        // SAFETY: every registered probe event's call is a `ProbeEventCall`'s (`register`).
        let pe = unsafe { ProbeEventCall::from_call(call) };
        removed.push(RemovedCall {
            pe: core::ptr::from_ref(pe).cast_mut(),
            files,
        });
        drop(removed);
        reap_removed();
    }

    /// Removed events whose registry entry is not freed yet (for tests).
    pub fn removed_events_pending() -> usize {
        let _guard = EVENT_MUTEX.lock();
        REMOVED.lock().len()
    }

    /// The files whose handlers walk the event list (unlocked, on pointers copied out of it):
    /// `available_events`, `set_event`, `events/enable` and every `events/SYSTEM/enable`.
    fn list_readers() -> Option<Vec<Arc<dyn FileOps>>> {
        let events = alloc::format!("{TRACEFS}/events");
        let systems = fs::list(&events).ok()?;
        let mut readers = Vec::new();
        readers.try_reserve_exact(systems.len() + 3).ok()?;
        let top = [
            alloc::format!("{TRACEFS}/available_events"),
            alloc::format!("{TRACEFS}/set_event"),
        ];
        let per_system = systems
            .iter()
            .map(|system| alloc::format!("{events}/{system}/enable"));
        for path in top.into_iter().chain(per_system) {
            if let Ok(ops) = fs::vfs().open(&path) {
                readers.push(ops);
            }
        }
        if let Ok(ops) = fs::vfs().open(&alloc::format!("{events}/enable")) {
            readers.push(ops);
        }
        Some(readers)
    }

    /// Frees the removed entries no handler can reach: every handler that could (the
    /// removed event's own files, and the event-list readers) is held by nobody but the tree
    /// and us, so none runs or is open, and none can start on the removed call (it left the
    /// tree and the list before). Caller: under [`EVENT_MUTEX`].
    fn reap_removed() {
        let mut removed = REMOVED.lock();
        if removed.is_empty() {
            return;
        }
        let Some(readers) = list_readers() else {
            return;
        };
        // A handler is idle when its only references are the tree's (one while its node is
        // there) and ours: the fresh ones in `readers` and `fresh`, and the entries' clones.
        let mut fresh = Vec::new();
        let total: usize = removed.iter().map(|entry| entry.files.len()).sum();
        if fresh.try_reserve_exact(total).is_err() {
            return;
        }
        for entry in removed.iter() {
            for (path, ops) in &entry.files {
                if let Ok(now) = fs::vfs().open(path)
                    && Arc::ptr_eq(&now, ops)
                {
                    fresh.push(now);
                }
            }
        }
        let count = |list: &[Arc<dyn FileOps>], ops: &Arc<dyn FileOps>| {
            list.iter().filter(|o| Arc::ptr_eq(o, ops)).count()
        };
        let idle = |ops: &Arc<dyn FileOps>| {
            let fresh_here = count(&fresh, ops);
            let in_readers = count(&readers, ops);
            let in_tree = usize::from(fresh_here + in_readers > 0);
            let stored: usize = removed
                .iter()
                .map(|entry| {
                    entry
                        .files
                        .iter()
                        .filter(|(_, o)| Arc::ptr_eq(o, ops))
                        .count()
                })
                .sum();
            Arc::strong_count(ops) == in_tree + fresh_here + in_readers + stored
        };
        if !readers.iter().all(idle) {
            return;
        }
        let mut free = Vec::new();
        if free.try_reserve_exact(removed.len()).is_err() {
            return;
        }
        free.extend(
            removed
                .iter()
                .map(|entry| entry.files.iter().all(|(_, ops)| idle(ops))),
        );
        drop(fresh);
        drop(readers);
        let mut at = 0;
        removed.retain(|entry| {
            at += 1;
            if !free[at - 1] {
                return true;
            }
            // Pairs with the handlers' last `Arc` drop (Release): what they read of the call
            // happened before the free.
            core::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: from `Box::into_raw` in `register`; the registry, the event list, the
            // probes (unregistered with their grace period) and every handler have let go.
            drop(unsafe { Box::from_raw(entry.pe) });
            false
        });
    }

    /// A write to `kprobe_events` or `dynamic_events` (Linux's `probes_write()` after
    /// `probes_open()`): a truncating write first removes every probe of the file's kind.
    fn write_events(file: DynEventFile, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        let _guard = EVENT_MUTEX.lock();
        let mut list = LIST.lock();
        let kind = match file {
            DynEventFile::KprobeEvents => Some(DynEventKind::Kprobe),
            DynEventFile::DynamicEvents => None,
        };
        if mode == WriteMode::Truncate {
            list.release_all(kind, &mut KernelHooks)?;
        }
        let table = kallsyms();
        parse_run_command(
            text,
            |line| {
                list.run_command(line, file, &table as &dyn KsymLookup, &mut KernelHooks)
                    .map_err(|e| {
                        e.log();
                        e.errno
                    })
            },
            Errno::EINVAL,
        )
        .map(drop)
    }

    fn read_events(kind: Option<DynEventKind>, w: &mut dyn Write) -> Result<(), Errno> {
        Ok(LIST.lock().show(kind, w)?)
    }

    /// `kprobe_profile`: the counts the kprobe mechanism keeps in each probe.
    fn read_profile(w: &mut dyn Write) -> Result<(), Errno> {
        Ok(LIST.lock().show_profile(w, &|k| {
            (k.hits.nhit(), k.hits.nmissed() + trace_kprobe_nmissed(k))
        })?)
    }

    /// Every probe of the event `group`/`event`, primary first (what enabling the event arms).
    pub fn probes_of_event(group: &str, event: &str) -> Result<Vec<Arc<DynEvent>>, Errno> {
        let list = LIST.lock();
        let mut probes = Vec::new();
        for ev in list.events.iter().filter(|e| e.is_event(group, event)) {
            probes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            probes.push(Arc::clone(ev));
        }
        Ok(probes)
    }

    arch::nokprobe! {
    /// Records one hit of probe `tp` of event `call` (Linux's `__kprobe_trace_func()`,
    /// `__kretprobe_trace_func()` and the fprobe twins): the head's `words` (`ip`, or `func`
    /// and `ret_ip`), then the arguments fetched from `ctx`. Strings are cut to what fits one
    /// ring-buffer event. The probe handler calls it with IRQs masked, when the event is
    /// enabled.
    pub fn trace_probe_record<C: FetchCtx + ?Sized>(
        call: &TraceEventCall,
        tp: &TraceProbe,
        ptype: ProbePrintType,
        words: &[u64],
        ctx: &C,
        irqs_off: bool,
    ) {
        let head = ptype.head_size();
        let Some(room) = BUF_MAX_DATA_SIZE.checked_sub(head + tp.size) else {
            return;
        };
        let len = head + tp.size + tp.data_size(ctx).min(room);
        trace_event_record_with(call, irqs_off, len, true, |entry| {
            for (i, w) in words.iter().take(2).enumerate() {
                put_u64(entry, COMMON_HEADER_SIZE + 8 * i, *w);
            }
            tp.store_trace_args(ctx, entry, head);
        });
    }

    }

    arch::nokprobe! {
    /// [`trace_probe_record`] for a probe with a [`ProbePlan`] (made by
    /// [`TraceProbe::simple_plan`] with [`BUF_MAX_DATA_SIZE`]): the head's `words`, then each
    /// value straight from `regs` or the saved words `edata`, no fetch program run.
    #[inline(always)]
    pub fn trace_probe_record_plan(
        call: &TraceEventCall,
        plan: &ProbePlan,
        words: &[u64],
        regs: &[u64],
        edata: &[u64],
        irqs_off: bool,
    ) {
        trace_event_record_with(
            call,
            irqs_off,
            plan.len,
            !plan.covers,
            // By value: captured by reference, the slices would be spilled to the stack for
            // the slow path's sake on every hit.
            #[inline(always)]
            move |entry| plan.fill(words, regs, edata, entry),
        );
    }
    }

    /// Stores `v` at `at`: one store where aligned (ring-buffer entries are), else byte by
    /// byte (the target has strict alignment).
    #[inline(always)]
    fn put_u64(entry: &mut [u8], at: usize, v: u64) {
        let Some(d) = entry.get_mut(at..at + 8) else {
            return;
        };
        let p = d.as_mut_ptr();
        if p.addr().is_multiple_of(8) {
            // SAFETY: 8 writable bytes at `p`, 8-byte aligned.
            unsafe { p.cast::<u64>().write(v.to_le()) };
        } else {
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Creates `kprobe_events`, `kprobe_profile` and `dynamic_events` under `tracefs`.
    pub fn init(tracefs: &str) {
        create_file(
            &alloc::format!("{tracefs}/kprobe_profile"),
            fs::read_only(read_profile),
        );
        create_file(
            &alloc::format!("{tracefs}/kprobe_events"),
            fs::read_write(
                |w| read_events(Some(DynEventKind::Kprobe), w),
                |data, mode| write_events(DynEventFile::KprobeEvents, data, mode),
            ),
        );
        create_file(
            &alloc::format!("{tracefs}/dynamic_events"),
            fs::read_write(
                |w| read_events(None, w),
                |data, mode| write_events(DynEventFile::DynamicEvents, data, mode),
            ),
        );
    }
}

#[cfg(target_os = "none")]
pub use global::{
    init, probes_of_event, removed_events_pending, trace_probe_record, trace_probe_record_plan,
};

#[cfg(test)]
pub(crate) mod tests;
