//! Interrupts and time on the real GIC and generic timer: the tick fires and advances jiffies,
//! the trace clock is monotonic and runs at the rate CNTFRQ_EL0 implies, an SGI reaches its
//! handler on every CPU it targets (and waits while that CPU has interrupts masked), and a
//! level-triggered interrupt without a handler is counted once and disabled, not stormed.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use aarch64_cpu::registers::{CNTP_CTL_EL0, CNTP_CVAL_EL0, Writeable};
use arch::exception::TrapFrame;
use arch::gic::{self, SgiTarget};
use arch::irq::{
    self, IrqAction, NR_CPUS, enable_percpu_irq, free_irq, kstat_irqs_cpu, request_percpu_irq,
};
use arch::irqflags::{irqs_disabled, local_irq_restore, local_irq_save};
use arch::processor::cpu_relax;
use arch::spinlock::SpinLockIrq;
use arch::timer::{self, HZ, TickHook, jiffies, trace_clock_ns};

use crate::board::{self, ARCH_TIMER_PHYS_NONSECURE_PPI, ARCH_TIMER_VIRT_PPI};
use crate::ktest::Context;
use crate::ktest::TestResult;
use crate::{kassert, kassert_eq, ktest};

const NSEC_PER_TICK: u64 = 1_000_000_000 / HZ;
/// How long to wait for something that should come within a tick or two: waits end as soon
/// as it comes, and under TCG a loaded host can hold a vCPU (or the delivery of its timer
/// interrupt) back for many periods.
const PATIENCE_NS: u64 = 250 * NSEC_PER_TICK;
/// An SGI reserved for these tests (the kernel's IPIs use the low numbers, as Linux's do).
const KTEST_SGI: u32 = 15;

/// Spins until `done()` or `timeout_ns` of trace-clock time; whether `done()` held.
fn wait_for(timeout_ns: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = trace_clock_ns() + timeout_ns;
    while !done() {
        if trace_clock_ns() > deadline {
            return false;
        }
        cpu_relax();
    }
    true
}

/// Busy-waits `ns` of trace-clock time, interrupts staying as they are.
fn spin_for(ns: u64) {
    let deadline = trace_clock_ns() + ns;
    while trace_clock_ns() < deadline {
        cpu_relax();
    }
}

/// Waits for the next jiffies increment; returns the new value.
fn next_jiffy() -> Result<u64, String> {
    let start = jiffies();
    let mut now = start;
    kassert!(
        wait_for(PATIENCE_NS, || {
            now = jiffies();
            now != start
        }),
        "jiffies stuck at {start}"
    );
    Ok(now)
}

fn timer_irq() -> u32 {
    board::info().timer_irqs[ARCH_TIMER_VIRT_PPI].map_or(0, |spec| spec.irq)
}

ktest! {
fn the_tick_fires_and_advances_jiffies() -> TestResult {
    kassert!(!irqs_disabled(), "tests run with interrupts on");
    let cpu = gic::this_cpu_id();
    let taken = kstat_irqs_cpu(timer_irq(), cpu);
    let start = next_jiffy()?;
    let t0 = trace_clock_ns();
    // Ten periods, plus half of one for the last tick to be handled. Under TCG the last
    // interrupt can arrive late (QEMU delivers it when its host thread runs again), so give
    // jiffies time to catch up: the handler accounts every period the counter has passed.
    spin_for(10 * NSEC_PER_TICK + NSEC_PER_TICK / 2);
    let caught_up = wait_for(PATIENCE_NS, || jiffies() >= start + 10);
    // Read the clock first: jiffies can only grow after it, never past its value plus one.
    let elapsed = trace_clock_ns() - t0;
    let ticks = jiffies() - start;
    kassert!(caught_up, "{ticks} ticks in {elapsed} ns at HZ={HZ}");
    kassert!(
        ticks <= elapsed / NSEC_PER_TICK + 2,
        "{ticks} ticks in {elapsed} ns at HZ={HZ}: faster than the counter"
    );
    kassert!(kstat_irqs_cpu(timer_irq(), cpu) > taken, "the timer interrupt was not counted");
    Ok(())
}
}

ktest! {
fn the_trace_clock_is_monotonic_and_runs_at_cntfrq() -> TestResult {
    kassert!(timer::counter_freq_hz() >= HZ);
    let mut prev = trace_clock_ns();
    for _ in 0..10_000 {
        let now = trace_clock_ns();
        kassert!(now >= prev, "went back from {prev} to {now}");
        prev = now;
    }
    // 25 ticks are 100 ms of counter time by CNTFRQ; jiffies counts them from interrupts.
    let start = next_jiffy()?;
    let t0 = trace_clock_ns();
    let mut now = start;
    kassert!(wait_for(PATIENCE_NS, || {
        now = jiffies();
        now >= start + 25
    }));
    let elapsed = trace_clock_ns() - t0;
    let expect = (now - start) * NSEC_PER_TICK;
    // Jiffies never run ahead of the counter. They may lag it by the interrupt's latency,
    // which under TCG on a loaded host can be several periods; a lag of as many periods as
    // were counted would mean the tick runs at half speed.
    kassert!(
        elapsed + NSEC_PER_TICK >= expect && elapsed <= 2 * expect,
        "{} ticks took {elapsed} ns of trace clock, expected {expect} ns",
        now - start
    );
    Ok(())
}
}

static TICK_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

fn count_tick(_frame: &mut TrapFrame) {
    TICK_HOOK_CALLS.fetch_add(1, Ordering::Relaxed);
}

static COUNT_TICK: TickHook = TickHook {
    handler: count_tick,
};

ktest! {
fn tick_hooks_run_on_every_tick() -> TestResult {
    timer::register_tick_hook(&COUNT_TICK).map_err(|_| "no free tick-hook slot")?;
    let cpu = gic::this_cpu_id();
    let before = TICK_HOOK_CALLS.load(Ordering::Relaxed);
    let taken = kstat_irqs_cpu(timer_irq(), cpu);
    let start = next_jiffy()?;
    let ok = wait_for(PATIENCE_NS, || jiffies() >= start + 5);
    timer::unregister_tick_hook(&COUNT_TICK);
    kassert!(ok, "jiffies stalled");
    let calls = TICK_HOOK_CALLS.load(Ordering::Relaxed) - before;
    // The hooks run once per timer interrupt on every CPU. One interrupt may account several
    // periods when it came late (a loaded host stalls QEMU), so count interrupts, not jiffies.
    let interrupts = kstat_irqs_cpu(timer_irq(), cpu) - taken;
    kassert!(
        interrupts >= 1 && calls >= interrupts as usize,
        "{calls} hook calls for {interrupts} timer interrupts on CPU{cpu}"
    );
    let after = TICK_HOOK_CALLS.load(Ordering::Relaxed);
    next_jiffy()?;
    kassert_eq!(TICK_HOOK_CALLS.load(Ordering::Relaxed), after);
    Ok(())
}
}

/// Per CPU: SGIs our handler saw there.
static SGI_HITS: [AtomicU32; NR_CPUS] = [const { AtomicU32::new(0) }; NR_CPUS];
static SGI_LAST_IRQ: AtomicU32 = AtomicU32::new(0);

fn ktest_sgi_handler(irq: u32, _frame: &mut TrapFrame) {
    SGI_LAST_IRQ.store(irq, Ordering::Relaxed);
    SGI_HITS[gic::this_cpu_id()].fetch_add(1, Ordering::Release);
}

static KTEST_SGI_ACTION: IrqAction = IrqAction {
    name: "ktest SGI",
    handler: ktest_sgi_handler,
};

fn hits(cpu: usize) -> u32 {
    SGI_HITS[cpu].load(Ordering::Acquire)
}

/// Registers the test SGI's handler, runs `f`, and unregisters it whatever `f` returned.
fn with_test_sgi(f: impl FnOnce() -> TestResult) -> TestResult {
    request_percpu_irq(KTEST_SGI, &KTEST_SGI_ACTION).or_fail()?;
    let result = f();
    free_irq(KTEST_SGI, &KTEST_SGI_ACTION).or_fail()?;
    result
}

ktest! {
fn an_sgi_to_self_reaches_its_handler() -> TestResult {
    with_test_sgi(|| {
        let cpu = gic::this_cpu_id();
        let before = hits(cpu);
        let counted = kstat_irqs_cpu(KTEST_SGI, cpu);
        gic::send_sgi(SgiTarget::Cpu(cpu), KTEST_SGI).or_fail()?;
        kassert!(wait_for(PATIENCE_NS, || hits(cpu) != before), "SGI {KTEST_SGI} never arrived");
        kassert_eq!(hits(cpu), before + 1);
        kassert_eq!(SGI_LAST_IRQ.load(Ordering::Relaxed), KTEST_SGI);
        kassert_eq!(kstat_irqs_cpu(KTEST_SGI, cpu), counted + 1);
        Ok(())
    })
}
}

ktest! {
fn an_sgi_waits_while_its_cpu_masks_interrupts() -> TestResult {
    static LOCK: SpinLockIrq<()> = SpinLockIrq::new(());
    with_test_sgi(|| {
        let cpu = gic::this_cpu_id();
        let before = hits(cpu);
        let flags = local_irq_save();
        {
            let guard = LOCK.lock();
            let _ = gic::send_sgi(SgiTarget::Cpu(cpu), KTEST_SGI);
            spin_for(NSEC_PER_TICK);
            if hits(cpu) != before {
                drop(guard);
                local_irq_restore(flags);
                return Err("delivered inside a SpinLockIrq section".into());
            }
        }
        let still_masked = irqs_disabled() && hits(cpu) == before;
        local_irq_restore(flags);
        kassert!(still_masked, "the guard's drop unmasked interrupts it did not mask");
        kassert!(wait_for(PATIENCE_NS, || hits(cpu) == before + 1), "never delivered");
        Ok(())
    })
}
}

ktest! {
fn an_sgi_reaches_every_cpu_with_interrupts_on() -> TestResult {
    with_test_sgi(|| {
        let cpus: Vec<usize> = (0..NR_CPUS).filter(|&c| gic::cpu_online(c)).collect();
        kassert!(!cpus.is_empty());
        for &cpu in &cpus {
            let before = hits(cpu);
            gic::send_sgi(SgiTarget::Cpu(cpu), KTEST_SGI).or_fail()?;
            kassert!(wait_for(PATIENCE_NS, || hits(cpu) != before), "CPU{cpu} got no SGI");
        }
        Ok(())
    })
}
}

ktest! {
fn a_level_interrupt_without_a_handler_is_counted_and_disabled() -> TestResult {
    let spec = board::info().timer_irqs[ARCH_TIMER_PHYS_NONSECURE_PPI].ok_or("no CNTP PPI")?;
    let cpu = gic::this_cpu_id();
    let errors = irq::irq_err_count();
    let taken = kstat_irqs_cpu(spec.irq, cpu);
    enable_percpu_irq(spec).or_fail()?;
    // The EL1 physical timer, with a deadline long past: its level-triggered line asserts now
    // and stays asserted. Nothing handles it; only the dispatcher disabling it stops a storm.
    CNTP_CVAL_EL0.set(0);
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    let counted = wait_for(PATIENCE_NS, || irq::irq_err_count() != errors);
    spin_for(NSEC_PER_TICK);
    let err_delta = irq::irq_err_count() - errors;
    let taken_delta = kstat_irqs_cpu(spec.irq, cpu) - taken;
    CNTP_CTL_EL0.set(0);
    kassert!(counted, "the unhandled interrupt was never taken");
    kassert_eq!((err_delta, taken_delta), (1, 1));
    Ok(())
}
}
