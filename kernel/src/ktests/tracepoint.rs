//! Tracepoint probe order: probes run by priority, highest first, and in registration order
//! within one priority (Linux's `tracepoint_probe_register_prio`), which the event pid filter
//! relies on to decide before and after an event's own probe.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::fs::Errno;
use crate::jump_label::StaticKeyFalse;
use crate::tracepoint::{TRACEPOINT_DEFAULT_PRIO, Tracepoint};
use crate::{kassert_eq, ktest};

static KEY: StaticKeyFalse = StaticKeyFalse::new();
static TP: Tracepoint<fn(*const (), u64)> = Tracepoint::new("ktest_order", &KEY.key);

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
    TP.call(|f, data| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 2143);
    for id in 1..=4 {
        kassert_eq!(unregister(id), Ok(()));
    }
    ORDER.store(0, Ordering::Relaxed);
    TP.call(|f, data| f(data, 0));
    kassert_eq!(ORDER.load(Ordering::Relaxed), 0);
    Ok(())
}
}
