//! Tracepoints on the real kernel: a probe registered with data is called with it (and with
//! the call's arguments) at every hit, several probes are all called, duplicates and unknown
//! probes are refused with Linux's errnos, the call site's static key is on exactly while a
//! probe is attached, and after unregistering no probe runs again.
//!
//! Tracepoint probe order: probes run by priority, highest first, and in registration order
//! within one priority (Linux's `tracepoint_probe_register_prio`), which the event pid filter
//! relies on to decide before and after an event's own probe.

use core::sync::atomic::{AtomicU32, Ordering};

use arch::insn::nop;
use arch::patching::read_insn;

use crate::fs::Errno;
use crate::jump_label::{static_key_enabled, static_key_sites};
use crate::sched::{Task, current};
use crate::trace::events::sched::{
    __TRACEPOINT_KEY_SCHED_PROCESS_FREE, register_trace_sched_process_free,
    trace_sched_process_free, unregister_trace_sched_process_free,
};
use crate::{kassert, kassert_eq, ktest};

static HITS_A: AtomicU32 = AtomicU32::new(0);
static HITS_B: AtomicU32 = AtomicU32::new(0);
static LAST_PID: AtomicU32 = AtomicU32::new(u32::MAX);

fn probe_a(data: *const (), irqs_off: bool, task: &Task) {
    // The data is the counter the test registered, and probes run with IRQs masked.
    // SAFETY: registered as a pointer to a static AtomicU32.
    let hits = unsafe { &*data.cast::<AtomicU32>() };
    hits.fetch_add(1, Ordering::Relaxed);
    LAST_PID.store(task.pid(), Ordering::Relaxed);
    let _ = irqs_off;
    assert!(
        arch::irqflags::irqs_disabled(),
        "a probe ran with IRQs unmasked"
    );
}

fn probe_b(data: *const (), _irqs_off: bool, _task: &Task) {
    // SAFETY: as in `probe_a`.
    let hits = unsafe { &*data.cast::<AtomicU32>() };
    hits.fetch_add(1, Ordering::Relaxed);
}

fn data(counter: &'static AtomicU32) -> *const () {
    core::ptr::from_ref(counter).cast()
}

fn sites_are_nops() -> bool {
    static_key_sites(&__TRACEPOINT_KEY_SCHED_PROCESS_FREE)
        .iter()
        .all(|s| read_insn(s.code) == Ok(nop()))
}

ktest! {
fn probes_are_called_with_their_data_while_attached_and_never_after() -> TestResult {
    let me = current().ok_or("no current task")?;
    kassert!(!static_key_enabled(&__TRACEPOINT_KEY_SCHED_PROCESS_FREE));
    kassert!(sites_are_nops(), "a site of an unused tracepoint is not a nop");
    trace_sched_process_free(me);
    kassert_eq!(HITS_A.load(Ordering::Relaxed), 0);

    register_trace_sched_process_free(probe_a, data(&HITS_A)).map_err(|e| alloc::format!("{e}"))?;
    kassert_eq!(
        register_trace_sched_process_free(probe_a, data(&HITS_A)),
        Err(Errno::EEXIST)
    );
    register_trace_sched_process_free(probe_b, data(&HITS_B)).map_err(|e| alloc::format!("{e}"))?;
    kassert!(static_key_enabled(&__TRACEPOINT_KEY_SCHED_PROCESS_FREE));
    kassert!(!sites_are_nops(), "the sites were not patched to branches");
    for _ in 0..3 {
        trace_sched_process_free(me);
    }
    kassert_eq!(HITS_A.load(Ordering::Relaxed), 3);
    kassert_eq!(HITS_B.load(Ordering::Relaxed), 3);
    kassert_eq!(LAST_PID.load(Ordering::Relaxed), me.pid());

    unregister_trace_sched_process_free(probe_a, data(&HITS_A)).map_err(|e| alloc::format!("{e}"))?;
    kassert_eq!(
        unregister_trace_sched_process_free(probe_a, data(&HITS_A)),
        Err(Errno::ENOENT)
    );
    trace_sched_process_free(me);
    kassert_eq!(HITS_A.load(Ordering::Relaxed), 3);
    kassert_eq!(HITS_B.load(Ordering::Relaxed), 4);
    kassert!(static_key_enabled(&__TRACEPOINT_KEY_SCHED_PROCESS_FREE));

    unregister_trace_sched_process_free(probe_b, data(&HITS_B)).map_err(|e| alloc::format!("{e}"))?;
    kassert!(!static_key_enabled(&__TRACEPOINT_KEY_SCHED_PROCESS_FREE));
    kassert!(sites_are_nops(), "the sites were not patched back to nops");
    trace_sched_process_free(me);
    kassert_eq!(HITS_B.load(Ordering::Relaxed), 4);
    Ok(())
}
}

use core::sync::atomic::AtomicU64;

use crate::jump_label::StaticKeyFalse;
use crate::tracepoint::{TRACEPOINT_DEFAULT_PRIO, Tracepoint};

static KEY: StaticKeyFalse = StaticKeyFalse::new();
static TP: Tracepoint<fn(*const (), u64)> =
    Tracepoint::new("ktest_order", &KEY.key, stub as fn(*const (), u64));

fn stub(_: *const (), _: u64) {}

/// The probes' ids in call order, one decimal digit each.
static ORDER: AtomicU64 = AtomicU64::new(0);

fn probe(data: *const (), _arg: u64) {
    let id = data as u64;
    let _ = ORDER.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| Some(o * 10 + id));
}

fn register(id: usize, prio: i32) -> Result<(), Errno> {
    TP.probe_register_prio(probe, probe as *const (), id as *const (), prio)
}

fn unregister(id: usize) -> Result<(), Errno> {
    TP.probe_unregister(probe as *const (), id as *const ())
}

ktest! {
fn probes_run_by_priority_then_registration_order() -> TestResult {
    for (id, prio) in [(1, TRACEPOINT_DEFAULT_PRIO), (2, i32::MAX), (3, 0), (4, TRACEPOINT_DEFAULT_PRIO)] {
        kassert_eq!(register(id, prio), Ok(()));
    }
    kassert_eq!(register(4, 0), Err(Errno::EEXIST));
    ORDER.store(0, Ordering::Relaxed);
    TP.call(|f, data, _| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 2143);
    for id in 1..=4 {
        kassert_eq!(unregister(id), Ok(()));
    }
    ORDER.store(0, Ordering::Relaxed);
    TP.call(|f, data, _| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 0);
    Ok(())
}
}

ktest! {
fn unregister_without_memory_stubs_the_slot() -> TestResult {
    use crate::tracepoint::INJECT_UNREGISTER_ALLOC_FAILURE;
    for (id, prio) in [(1, 3), (2, 2), (3, 1)] {
        kassert_eq!(register(id, prio), Ok(()));
    }
    INJECT_UNREGISTER_ALLOC_FAILURE.store(true, Ordering::Relaxed);
    kassert_eq!(unregister(2), Ok(()));
    ORDER.store(0, Ordering::Relaxed);
    TP.call(|f, data, _| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 13);
    kassert_eq!(unregister(2), Err(Errno::ENOENT));
    // The next registration rebuilds the array without the stubbed slot.
    kassert_eq!(register(4, 2), Ok(()));
    ORDER.store(0, Ordering::Relaxed);
    TP.call(|f, data, _| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 143);
    // The last probe removed without memory still turns the key off.
    kassert_eq!(unregister(1), Ok(()));
    kassert_eq!(unregister(4), Ok(()));
    INJECT_UNREGISTER_ALLOC_FAILURE.store(true, Ordering::Relaxed);
    kassert_eq!(unregister(3), Ok(()));
    kassert!(!crate::jump_label::static_key_enabled(&KEY.key));
    ORDER.store(0, Ordering::Relaxed);
    TP.call(|f, data, _| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 0);
    Ok(())
}
}
