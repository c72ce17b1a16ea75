//! Event pid filtering (Linux: the pid half of `kernel/trace/trace_events.c`):
//! `set_event_pid`, `set_event_notrace_pid` and `options/event-fork`.
//!
//! While either list is set, events record only what allowed tasks do: a task is ignored when
//! `set_event_pid` is set and lacks it, or `set_event_notrace_pid` has it. As in Linux, the
//! decision is made per CPU when it switches tasks and kept in [`IGNORE_PID`], so an event's
//! probe pays one load ([`trace_event_ignore_this_pid`], checked only on events that carry
//! `EVENT_FILE_FL_PID_FILTER`, which every event does while a list is set):
//! - probes on `sched_switch` run first (before the event's own: a switch is recorded when
//!   either task is allowed) and last (then the incoming task decides);
//! - probes on the wakeup tracepoints let a wakeup *of* an allowed task be recorded from an
//!   ignored one, then restore the waker's decision.
//!
//! The lists are published by pointer swap; the old one is freed after a stop-machine
//! rendezvous, which also recomputes every CPU's decision for the task it runs (Linux's
//! `on_each_cpu(ignore_task_cpu)`). Probes read the lists with IRQs masked (the tracepoint's
//! walk), so none still reads a freed list. Writes and publishing hold the event mutex.
//!
//! With `event-fork`, a task created by an allowed-list task joins that list (and likewise for
//! the notrace list), in place ([`PidList::set_in_place`]); a freed task leaves both.

use alloc::boxed::Box;
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use super::events::{EVENT_MUTEX, all_events, sched as sched_events};
use super::options::{self, EVENT_FORK};
use super::pid_list::{PidList, parse_pids};
use super::trace_events::EVENT_FILE_FL_PID_FILTER;
use crate::board::MAX_CPUS;
use crate::fs::{self, Errno, WriteMode};
use crate::sched::{self, IDLE_PID, Task};
use crate::smp::{per_cpu, smp_processor_id};
use crate::tracefs::create_file;

/// Which list (Linux's `TRACE_PIDS` / `TRACE_NO_PIDS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PidType {
    Pids,
    NoPids,
}

/// `set_event_pid` (Linux's `tr->filtered_pids`): a leaked `Box<PidList>`, or null.
static FILTERED_PIDS: AtomicPtr<PidList> = AtomicPtr::new(ptr::null_mut());
/// `set_event_notrace_pid` (Linux's `tr->filtered_no_pids`).
static FILTERED_NO_PIDS: AtomicPtr<PidList> = AtomicPtr::new(ptr::null_mut());

/// Whether events on each CPU are ignored now (Linux's per-CPU `ignore_pid`).
static IGNORE_PID: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Whether the sched probes are attached (under the event mutex).
static PID_EVENTS_REGISTERED: AtomicBool = AtomicBool::new(false);

/// Linux's `INT_MAX` / `0` probe priorities: before and after the events' own probes.
const PRIO_PRE: i32 = i32::MAX;
const PRIO_POST: i32 = 0;

fn slot(ty: PidType) -> &'static AtomicPtr<PidList> {
    match ty {
        PidType::Pids => &FILTERED_PIDS,
        PidType::NoPids => &FILTERED_NO_PIDS,
    }
}

/// Both lists. The caller holds IRQs masked or the event mutex, so neither is freed while it
/// reads them.
fn lists() -> (Option<&'static PidList>, Option<&'static PidList>) {
    // SAFETY: null or a leaked box, freed only under the event mutex after a rendezvous that
    // waits for every CPU to unmask IRQs (module docs).
    unsafe {
        (
            FILTERED_PIDS.load(Ordering::Acquire).as_ref(),
            FILTERED_NO_PIDS.load(Ordering::Acquire).as_ref(),
        )
    }
}

/// Linux's `trace_ignore_this_task`: `pid` is ignored when the allow list lacks it or the
/// notrace list has it.
fn ignore_this_task(pid: u32) -> bool {
    let (pids, no_pids) = lists();
    pids.is_some_and(|l| !l.is_set(pid)) || no_pids.is_some_and(|l| l.is_set(pid))
}

/// Whether events on this CPU are dropped now (Linux's `trace_event_ignore_this_pid`). For
/// probes of events with `EVENT_FILE_FL_PID_FILTER`.
#[inline(always)]
pub fn trace_event_ignore_this_pid() -> bool {
    IGNORE_PID[smp_processor_id()].load(Ordering::Relaxed)
}

fn set_ignore(ignore: bool) {
    IGNORE_PID[smp_processor_id()].store(ignore, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

fn sched_switch_probe_pre(_: *const (), _: bool, _preempt: bool, prev: &Task, next: &Task) {
    set_ignore(ignore_this_task(prev.pid()) && ignore_this_task(next.pid()));
}

fn sched_switch_probe_post(_: *const (), _: bool, _preempt: bool, _prev: &Task, next: &Task) {
    set_ignore(ignore_this_task(next.pid()));
}

fn sched_wakeup_probe_pre(_: *const (), _: bool, task: &Task) {
    if trace_event_ignore_this_pid() {
        set_ignore(ignore_this_task(task.pid()));
    }
}

fn sched_wakeup_probe_post(_: *const (), _: bool, _task: &Task) {
    if !trace_event_ignore_this_pid() {
        set_ignore(ignore_this_task(
            sched::current().map_or(IDLE_PID, Task::pid),
        ));
    }
}

/// A freed task leaves both lists (Linux's `event_filter_pid_sched_process_exit`).
fn sched_process_free_probe(_: *const (), _: bool, task: &Task) {
    let (pids, no_pids) = lists();
    for list in [pids, no_pids].into_iter().flatten() {
        list.clear_in_place(task.pid());
    }
}

/// Attaches or detaches the sched probes (Linux's `register_pid_events` /
/// `unregister_pid_events`). Linux only warns when one cannot be attached; so do we, by going
/// on with the rest.
fn register_pid_events(on: bool) {
    let none = ptr::null();
    if on {
        let _ =
            sched_events::register_trace_prio_sched_switch(sched_switch_probe_pre, none, PRIO_PRE);
        let _ = sched_events::register_trace_prio_sched_switch(
            sched_switch_probe_post,
            none,
            PRIO_POST,
        );
        for (probe, prio) in [
            (
                sched_wakeup_probe_pre as fn(*const (), bool, &Task),
                PRIO_PRE,
            ),
            (sched_wakeup_probe_post, PRIO_POST),
        ] {
            let _ = sched_events::register_trace_prio_sched_wakeup(probe, none, prio);
            let _ = sched_events::register_trace_prio_sched_wakeup_new(probe, none, prio);
            let _ = sched_events::register_trace_prio_sched_waking(probe, none, prio);
        }
    } else {
        let _ = sched_events::unregister_trace_sched_switch(sched_switch_probe_pre, none);
        let _ = sched_events::unregister_trace_sched_switch(sched_switch_probe_post, none);
        for probe in [
            sched_wakeup_probe_pre as fn(*const (), bool, &Task),
            sched_wakeup_probe_post,
        ] {
            let _ = sched_events::unregister_trace_sched_wakeup(probe, none);
            let _ = sched_events::unregister_trace_sched_wakeup_new(probe, none);
            let _ = sched_events::unregister_trace_sched_waking(probe, none);
        }
    }
}

/// `options/event-fork` changed (Linux's `trace_event_follow_fork`): a freed task leaves the
/// lists only while it is on (creation is followed by [`event_filter_pid_fork`], which checks
/// the option itself).
pub fn trace_event_follow_fork(on: bool) -> Result<(), Errno> {
    let none = ptr::null();
    if on {
        sched_events::register_trace_prio_sched_process_free(
            sched_process_free_probe,
            none,
            PRIO_PRE,
        )
    } else {
        sched_events::unregister_trace_sched_process_free(sched_process_free_probe, none)
    }
}

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

/// Every CPU's decision for the task it runs (Linux's `ignore_task_cpu` on each CPU). Runs in
/// a stop-machine rendezvous: every other CPU is parked, its `current` alive and unchanging.
fn ignore_task_all_cpus() {
    for (cpu, ignore) in IGNORE_PID.iter().enumerate() {
        let pid = per_cpu(cpu)
            // SAFETY: as in `sched::current`: the run queue keeps the CPU's current task alive,
            // and it is parked (or is this CPU) until the rendezvous ends.
            .and_then(|p| unsafe { p.current.load(Ordering::Acquire).as_ref() })
            .map_or(IDLE_PID, Task::pid);
        ignore.store(ignore_this_task(pid), Ordering::Relaxed);
    }
}

/// Whether `set_event_pid` or `set_event_notrace_pid` is set, so that a new event takes
/// [`EVENT_FILE_FL_PID_FILTER`] (Linux's `trace_create_new_event()`). Under the event mutex.
pub fn pid_filter_active() -> bool {
    PID_EVENTS_REGISTERED.load(Ordering::Relaxed)
}

/// Makes `new` the `ty` list: attaches or detaches the probes and the events' flag as the
/// lists are now set or not, recomputes every CPU's decision, and frees the old list once no
/// probe can read it. The caller holds the event mutex.
fn publish(ty: PidType, new: Option<PidList>) -> Result<(), Errno> {
    let new = match new {
        Some(list) => Box::into_raw(Box::try_new(list).map_err(|_| Errno::ENOMEM)?),
        None => ptr::null_mut(),
    };
    let old = slot(ty).swap(new, Ordering::AcqRel);
    let (pids, no_pids) = lists();
    let active = pids.is_some() || no_pids.is_some();
    for call in all_events() {
        if active {
            call.file_flags
                .fetch_or(EVENT_FILE_FL_PID_FILTER, Ordering::Relaxed);
        } else {
            call.file_flags
                .fetch_and(!EVENT_FILE_FL_PID_FILTER, Ordering::Relaxed);
        }
    }
    if active != PID_EVENTS_REGISTERED.load(Ordering::Relaxed) {
        register_pid_events(active);
        PID_EVENTS_REGISTERED.store(active, Ordering::Relaxed);
    }
    crate::stop_machine::stop_machine(&mut ignore_task_all_cpus);
    if !old.is_null() {
        // SAFETY: unpublished above, and every CPU has since passed the rendezvous.
        drop(unsafe { Box::from_raw(old) });
    }
    Ok(())
}

/// A task made `child` (Linux's `event_filter_pid_sched_process_fork`): with `event-fork`,
/// it joins each list its creator (the running task) is on. Called by `sched::spawn` before
/// the child first runs.
pub fn event_filter_pid_fork(child: u32) {
    if !options::enabled(EVENT_FORK)
        || (FILTERED_PIDS.load(Ordering::Relaxed).is_null()
            && FILTERED_NO_PIDS.load(Ordering::Relaxed).is_null())
    {
        return;
    }
    let Some(parent) = sched::current().map(Task::pid) else {
        return;
    };
    let _guard = EVENT_MUTEX.lock();
    for ty in [PidType::Pids, PidType::NoPids] {
        // SAFETY: as in `lists`; the event mutex is held.
        let Some(list) = (unsafe { slot(ty).load(Ordering::Acquire).as_ref() }) else {
            continue;
        };
        if list.is_set(parent) && !list.set_in_place(child) {
            // Beyond the bitmap: a copy with the child. Linux drops the pid too when it
            // cannot allocate.
            if let Ok(new) = PidList::try_new(Some(list), &[child]) {
                let _ = publish(ty, new);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

fn read_pids(ty: PidType, w: &mut dyn Write) -> Result<(), Errno> {
    let _guard = EVENT_MUTEX.lock();
    // SAFETY: as in `lists`; the event mutex is held.
    if let Some(list) = unsafe { slot(ty).load(Ordering::Acquire).as_ref() } {
        for pid in list.iter() {
            writeln!(w, "{pid}")?;
        }
    }
    Ok(())
}

/// A write to `set_event_pid` / `set_event_notrace_pid` (Linux's `event_pid_write`): `>`
/// empties the list first (Linux does it at open, so it stays empty when the write then
/// fails); the pids written are added to what is there, all or none.
fn write_pids(ty: PidType, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
    let _guard = EVENT_MUTEX.lock();
    if mode == WriteMode::Truncate && !slot(ty).load(Ordering::Relaxed).is_null() {
        publish(ty, None)?;
    }
    let pids = parse_pids(data)?;
    // SAFETY: as in `lists`; the event mutex is held.
    let old = unsafe { slot(ty).load(Ordering::Acquire).as_ref() };
    if pids.is_empty() {
        return Ok(());
    }
    let new = PidList::try_new(old, &pids)?;
    publish(ty, new)
}

/// Creates `set_event_pid` and `set_event_notrace_pid` under `tracefs`.
pub fn init(tracefs: &str) {
    for (name, ty) in [
        ("set_event_pid", PidType::Pids),
        ("set_event_notrace_pid", PidType::NoPids),
    ] {
        create_file(
            &alloc::format!("{tracefs}/{name}"),
            fs::read_write(
                move |w| read_pids(ty, w),
                move |data, mode| write_pids(ty, data, mode),
            ),
        );
    }
}
