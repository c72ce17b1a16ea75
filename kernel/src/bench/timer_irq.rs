//! The cost of a timer interrupt round trip: the real tick of this CPU taken and returned from.
//! One operation is the IRQ exception entry and its TrapFrame save, the GIC acknowledge, the
//! descriptor's count, the timer handler (CNTV_CVAL_EL0 moved on by one period, jiffies on the
//! boot CPU) with every registered tick hook, the scheduler's `scheduler_tick` included as in
//! any real tick, the EOI, the preemption check of the IRQ exit path, and the restore and ERET.
//!
//! Each operation waits for the next real tick: WFI with IRQs masked (a pending interrupt still
//! ends it), then a two-instruction window with IRQs unmasked, in which the tick is taken. The
//! baseline opens the same window after a NOP instead of the WFI, and takes nothing. Waiting for
//! the real deadline rather than arming CNTV to fire early leaves the tick schedule alone: a
//! forced early tick would account a period that had not passed (one jiffy too many per
//! operation) and end scheduler time slices early. Under `-icount sleep=off` the wait costs no
//! host time, virtual time jumps to the deadline, and the tick arrives at the same instruction
//! on every run; 1000 operations are 4 s of virtual time at HZ=250.
//!
//! One tick in 1250 also takes the load-average sample (every `LOAD_FREQ` = 5 s, procfs's
//! `calc_global_load`). Whether one falls inside the run's 4 s depends on the jiffies count when
//! `bench` started, which is when the host typed it: so the setup sleeps until a sample has just
//! been taken, and the run ends before the next is due. The count is the plain tick.
//!
//! The teardown checks that the run took exactly one timer interrupt per operation and the
//! baseline none, that neither switched tasks (a preemption, another task runnable on this CPU,
//! would add a context switch to the count), and that no load sample fell inside them.

use alloc::format;
use alloc::string::String;
use core::arch::asm;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::irq::kstat_irqs_cpu;

use super::SetupError;
use super::harness::{sleep_past_load_sample, tick_irq};
use crate::fs::procfs::{LOAD_FREQ, next_load_sample};
use crate::kbench;
use crate::sched;
use crate::smp::smp_processor_id;

const OPS: u64 = 1000;

/// What the run and the baseline did besides retiring instructions.
static RUN_TICKS: AtomicU64 = AtomicU64::new(0);
static RUN_SWITCHES: AtomicU64 = AtomicU64::new(0);
static BASELINE_TICKS: AtomicU64 = AtomicU64::new(0);
static BASELINE_SWITCHES: AtomicU64 = AtomicU64::new(0);
/// When the load sample after the one the setup waited for is due.
static SAMPLE_DUE: AtomicU64 = AtomicU64::new(0);

/// Sleeps until an interrupt is pending, then unmasks IRQs for one instruction: the tick is
/// taken between the two DAIF writes and returns to the second.
#[inline(never)]
fn wait_for_tick() {
    // SAFETY: WFI only waits; the window lets in the interrupt the run is there to take, whose
    // handler saves and restores every register.
    unsafe {
        asm!(
            "wfi",
            "msr daifclr, #2",
            "msr daifset, #2",
            options(nostack)
        )
    };
}

/// The same window after a NOP: with no interrupt pending, nothing is taken.
#[inline(never)]
fn open_window() {
    // SAFETY: as in `wait_for_tick`, without the wait.
    unsafe {
        asm!(
            "nop",
            "msr daifclr, #2",
            "msr daifset, #2",
            options(nostack)
        )
    };
}

/// Calls `window` `n` times; returns the timer interrupts this CPU took and the task switches
/// it made meanwhile. The run and the baseline share it, so only `window` differs.
#[inline(never)]
fn tick_loop(n: u64, window: fn()) -> (u64, u64) {
    let cpu = smp_processor_id();
    let irq = tick_irq().unwrap_or(0);
    let ticks = kstat_irqs_cpu(irq, cpu);
    let switches = sched::nr_switches(cpu);
    let window = black_box(window);
    for _ in 0..n {
        window();
    }
    (
        kstat_irqs_cpu(irq, cpu).wrapping_sub(ticks).into(),
        sched::nr_switches(cpu) - switches,
    )
}

fn take_ticks(n: u64) {
    let (ticks, switches) = tick_loop(n, wait_for_tick);
    RUN_TICKS.store(ticks, Ordering::Relaxed);
    RUN_SWITCHES.store(switches, Ordering::Relaxed);
}

fn open_windows(n: u64) {
    let (ticks, switches) = tick_loop(n, open_window);
    BASELINE_TICKS.store(ticks, Ordering::Relaxed);
    BASELINE_SWITCHES.store(switches, Ordering::Relaxed);
}

/// Checks for a tick, then sleeps until the boot CPU's tick has taken a load sample: the run
/// then ends before the next is due.
fn setup() -> Result<(), SetupError> {
    if tick_irq().is_none() {
        return Err(SetupError::Fail(
            "the device tree names no virtual timer interrupt".into(),
        ));
    }
    sleep_past_load_sample(LOAD_FREQ * 1000)?;
    SAMPLE_DUE.store(next_load_sample(), Ordering::Relaxed);
    Ok(())
}

fn check_ticks() -> Result<(), String> {
    let counts = [
        RUN_TICKS.load(Ordering::Relaxed),
        RUN_SWITCHES.load(Ordering::Relaxed),
        BASELINE_TICKS.load(Ordering::Relaxed),
        BASELINE_SWITCHES.load(Ordering::Relaxed),
    ];
    if next_load_sample() != SAMPLE_DUE.load(Ordering::Relaxed) {
        return Err("a load sample fell inside the counts".into());
    }
    if counts == [OPS, 0, 0, 0] {
        return Ok(());
    }
    let [run_ticks, run_switches, baseline_ticks, baseline_switches] = counts;
    Err(format!(
        "expected {OPS} ticks and no task switch in the run, neither in the baseline; got \
         {run_ticks} ticks and {run_switches} switches, and {baseline_ticks} and \
         {baseline_switches}"
    ))
}

kbench! {
    name: "timer_irq_round_trip",
    ops: OPS,
    run: take_ticks,
    baseline: "irq_window_without_tick" => open_windows,
    setup: setup,
    teardown: check_ticks,
}
