//! The cost of a context switch between two tasks on one CPU. One operation is one switch, as
//! a task sees it from `sched::yield_now()` to the other task running: `schedule()` saving DAIF,
//! the run-queue lock, requeueing the task and picking the next, `cpu_switch_to`,
//! `finish_task_switch`, and the return to the other task's loop. A yield round trip, to the
//! partner and back, is two operations.
//!
//! The setup starts a partner task on this CPU that yields until the teardown stops it. The
//! run yields `ops / 2` times; the baseline runs the same loop calling an empty function
//! instead, so it subtracts only the loop and the call, and the whole switch stays in the cost
//! (the part of `schedule()` a yield with nothing else runnable also pays included).
//!
//! The partner masks IRQs for as long as it loops: a task resumes with the DAIF it saved when it
//! switched away, so with IRQs open in the partner a tick could land inside the count. The
//! setup lets it run once before counting, because a new task's first switch-in enables IRQs
//! (`schedule_tail`). The teardown checks that the run made exactly `ops` switches and the
//! baseline none.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arch::irqflags::{local_irq_disable, local_irq_enable};
use arch::spinlock::SpinLock;

use super::SetupError;
use crate::kbench;
use crate::sched::{self, Task};
use crate::smp::smp_processor_id;

/// Switches per run: 1000 yield round trips.
const OPS: u64 = 2000;
const _: () = assert!(OPS.is_multiple_of(2), "a run is whole round trips");

static STOP: AtomicBool = AtomicBool::new(false);
static PARTNER: SpinLock<Option<Arc<Task>>> = SpinLock::new(None);
static RUN_SWITCHES: AtomicU64 = AtomicU64::new(0);
static BASELINE_SWITCHES: AtomicU64 = AtomicU64::new(0);

/// The partner: hands the CPU straight back until told to stop, with IRQs masked throughout.
fn partner_loop() {
    local_irq_disable();
    while !STOP.load(Ordering::Acquire) {
        sched::yield_now();
    }
    local_irq_enable();
}

fn start_partner() -> Result<(), SetupError> {
    STOP.store(false, Ordering::Release);
    let partner = sched::spawn(
        "bench_partner",
        Some(smp_processor_id()),
        false,
        partner_loop,
    )
    .map_err(|error| SetupError::Fail(format!("cannot start the partner task: {error:?}")))?;
    // Its first run, outside the counts: it masks IRQs there and yields back.
    sched::yield_now();
    *PARTNER.lock() = Some(partner);
    Ok(())
}

/// Stops and reaps the partner, then checks the switch counts.
fn stop_partner() -> Result<(), String> {
    STOP.store(true, Ordering::Release);
    // Taken out first: the lock disables preemption, and joining sleeps.
    let partner = PARTNER.lock().take();
    if let Some(partner) = partner {
        sched::join(&partner).map_err(|_| "interrupted while reaping the partner task")?;
    }
    let run = RUN_SWITCHES.load(Ordering::Relaxed);
    let baseline = BASELINE_SWITCHES.load(Ordering::Relaxed);
    if (run, baseline) == (OPS, 0) {
        Ok(())
    } else {
        Err(format!(
            "expected {OPS} switches in the run and none in the baseline, got {run} and {baseline}"
        ))
    }
}

/// Does nothing, out of line: what the baseline calls instead of `yield_now`.
#[inline(never)]
fn no_switch() {}

/// Calls `op` `n / 2` times; returns the switches this CPU made meanwhile. The run and the
/// baseline share it, so only `op` differs.
#[inline(never)]
fn switch_loop(n: u64, op: fn()) -> u64 {
    let cpu = smp_processor_id();
    let before = sched::nr_switches(cpu);
    let op = black_box(op);
    for _ in 0..n / 2 {
        op();
    }
    sched::nr_switches(cpu) - before
}

fn yield_to_partner(n: u64) {
    RUN_SWITCHES.store(switch_loop(n, sched::yield_now), Ordering::Relaxed);
}

fn call_without_switch(n: u64) {
    BASELINE_SWITCHES.store(switch_loop(n, no_switch), Ordering::Relaxed);
}

kbench! {
    name: "context_switch",
    ops: OPS,
    run: yield_to_partner,
    baseline: "call_without_switch" => call_without_switch,
    setup: start_partner,
    teardown: stop_partner,
}
