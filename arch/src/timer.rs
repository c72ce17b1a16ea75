//! The ARM generic timer (Linux: `drivers/clocksource/arm_arch_timer.c`, the periodic tick of
//! `kernel/time/tick-common.c`, and `trace_clock_local`): the EL1 virtual timer (CNTV) raises
//! the tick [`HZ`] times a second on every CPU, the boot CPU's tick advances [`jiffies`], and
//! the virtual counter CNTVCT_EL0, converted to nanoseconds, is the trace clock.
//!
//! Split like the GIC: [`timer_init`] once (frequency, conversion factors, the per-CPU IRQ), and
//! [`timer_cpu_init`] on every CPU (arms its own CNTV and enables the PPI on it).
//!
//! The tick is drift-free: each one advances CNTV_CVAL_EL0 by exactly one period from the
//! previous deadline, not from "now". A tick that comes late (the CPU had IRQs masked, or the
//! host descheduled QEMU) accounts every period that ended meanwhile, so jiffies stays equal to
//! elapsed counter time / period.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0, Readable, Writeable};
use spin::Once;

use crate::clocksource::ClockConv;
use crate::exception::TrapFrame;
use crate::gic;
use crate::irq::{self, IrqAction, IrqError, IrqSpec};

/// Ticks per second (Linux arm64 defconfig: CONFIG_HZ_250).
pub const HZ: u64 = 250;

/// The CPU whose tick advances jiffies (Linux: `tick_do_timer_cpu`, the boot CPU).
const TICK_DO_TIMER_CPU: usize = 0;

struct ArchTimer {
    freq_hz: u64,
    conv: ClockConv,
    cycles_per_tick: u64,
    spec: IrqSpec,
}

static ARCH_TIMER: Once<ArchTimer> = Once::new();
static JIFFIES: AtomicU64 = AtomicU64::new(0);

static TIMER_ACTION: IrqAction = IrqAction {
    name: "arch_timer",
    handler: arch_timer_handler,
};

/// Called on every tick of every CPU, in interrupt context, with the interrupted frame: the
/// scheduler's tick, profiling.
pub struct TickHook {
    pub handler: fn(&mut TrapFrame),
}

const MAX_TICK_HOOKS: usize = 4;
static TICK_HOOKS: [AtomicPtr<TickHook>; MAX_TICK_HOOKS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; MAX_TICK_HOOKS];

/// All tick-hook slots are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickHooksFull;

/// Adds a tick hook; it may run on another CPU before this returns.
pub fn register_tick_hook(hook: &'static TickHook) -> Result<(), TickHooksFull> {
    let hook = hook as *const TickHook as *mut TickHook;
    TICK_HOOKS
        .iter()
        .find(|slot| {
            slot.compare_exchange(ptr::null_mut(), hook, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
        .map(|_| ())
        .ok_or(TickHooksFull)
}

/// Removes a tick hook. It must stay valid memory: another CPU may be running it right now.
pub fn unregister_tick_hook(hook: &'static TickHook) {
    let hook = hook as *const TickHook as *mut TickHook;
    for slot in &TICK_HOOKS {
        let _ = slot.compare_exchange(hook, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// What [`timer_init`] found, for the boot log.
#[derive(Clone, Copy, Debug)]
pub struct TimerInfo {
    pub freq_hz: u64,
    pub irq: u32,
    /// Nanoseconds per counter cycle, rounded down (the trace clock's resolution).
    pub resolution_ns: u64,
}

/// Why the timer could not be set up.
#[derive(Clone, Copy, Debug)]
pub enum TimerError {
    /// CNTFRQ_EL0 is below [`HZ`]: the firmware did not program it.
    NoFrequency(u64),
    /// The timer interrupt is not a PPI, or could not be registered or enabled.
    Irq(IrqError),
}

impl From<IrqError> for TimerError {
    fn from(error: IrqError) -> Self {
        Self::Irq(error)
    }
}

/// Reads CNTFRQ_EL0 and registers the tick handler for the virtual timer's PPI `spec` (the
/// third interrupt of the device tree's `/timer` node). Call once, on the boot CPU; from then
/// on [`trace_clock_ns`] runs.
pub fn timer_init(spec: IrqSpec) -> Result<TimerInfo, TimerError> {
    let freq_hz = CNTFRQ_EL0.get();
    if freq_hz < HZ {
        return Err(TimerError::NoFrequency(freq_hz));
    }
    if !spec.is_private() {
        return Err(IrqError::Invalid(spec.irq).into());
    }
    irq::request_percpu_irq(spec.irq, &TIMER_ACTION)?;
    let timer = ARCH_TIMER.call_once(|| ArchTimer {
        freq_hz,
        conv: ClockConv::new(freq_hz),
        cycles_per_tick: freq_hz / HZ,
        spec,
    });
    Ok(TimerInfo {
        freq_hz,
        irq: spec.irq,
        resolution_ns: timer.conv.cyc2ns(1),
    })
}

/// Starts this CPU's tick: arms its CNTV one period from now and enables the timer PPI on it.
/// Every CPU calls this once, with IRQs masked, after its [`gic::gic_cpu_init`]; the boot CPU
/// after [`timer_init`].
pub fn timer_cpu_init() -> Result<(), TimerError> {
    let timer = ARCH_TIMER
        .get()
        .expect("timer_init runs before any timer_cpu_init");
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR);
    CNTV_CVAL_EL0.set(read_cntvct() + timer.cycles_per_tick);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
    Ok(irq::enable_percpu_irq(timer.spec)?)
}

crate::noinstr! {
/// CNTVCT_EL0, not read early: the ISB keeps the read after the instructions before it
/// (Linux: `__arch_counter_get_cntvct`).
#[inline(always)]
fn read_cntvct() -> u64 {
    let cycles: u64;
    // SAFETY: reading the virtual counter has no side effects.
    unsafe {
        core::arch::asm!(
            "isb",
            "mrs {c}, cntvct_el0",
            c = out(reg) cycles,
            options(nostack, preserves_flags),
        )
    };
    cycles
}
}

crate::noinstr! {
/// The trace clock: nanoseconds of the virtual counter, monotonic and the same on every CPU
/// (the counter is system-wide). 0 before [`timer_init`].
pub fn trace_clock_ns() -> u64 {
    ARCH_TIMER.get().map_or(0, |timer| timer.conv.cyc2ns(read_cntvct()))
}
}

/// The virtual counter now (CNTVCT_EL0), in counter cycles. Inlined, so the tracers' callbacks
/// can read it without calling traceable code.
#[inline(always)]
pub fn counter_now() -> u64 {
    read_cntvct()
}

/// Nanoseconds for `cycles` of the virtual counter; 0 before [`timer_init`].
pub fn cycles_to_ns(cycles: u64) -> u64 {
    ARCH_TIMER
        .get()
        .map_or(0, |timer| timer.conv.cyc2ns(cycles))
}

/// Ticks of the boot CPU since its [`timer_cpu_init`] (Linux: `jiffies`).
#[inline(always)]
pub fn jiffies() -> u64 {
    JIFFIES.load(Ordering::Relaxed)
}

/// The counter frequency, 0 before [`timer_init`].
pub fn counter_freq_hz() -> u64 {
    ARCH_TIMER.get().map_or(0, |timer| timer.freq_hz)
}

crate::noinstr! {
/// The timer PPI: moves this CPU's deadline on by whole periods, accounts them, runs the tick
/// hooks. A re-entry with the condition already cleared (the GIC saw the line before our
/// CVAL write reached the timer) does nothing.
fn arch_timer_handler(_irq: u32, frame: &mut TrapFrame) {
    let Some(timer) = ARCH_TIMER.get() else { return };
    if !CNTV_CTL_EL0.is_set(CNTV_CTL_EL0::ISTATUS) {
        return;
    }
    let period = timer.cycles_per_tick;
    let deadline = CNTV_CVAL_EL0.get();
    let ticks = read_cntvct().saturating_sub(deadline) / period + 1;
    CNTV_CVAL_EL0.set(deadline + ticks * period);
    // The new deadline takes effect before the EOI; should the GIC still have seen the old
    // level, the ISTATUS check above makes the re-entry a no-op.
    // SAFETY: a barrier only.
    unsafe { core::arch::asm!("isb", options(nostack, preserves_flags)) };
    if gic::this_cpu_id() == TICK_DO_TIMER_CPU {
        JIFFIES.fetch_add(ticks, Ordering::Relaxed);
    }
    for slot in &TICK_HOOKS {
        let hook = slot.load(Ordering::Acquire);
        if !hook.is_null() {
            // SAFETY: non-null slots only ever hold pointers made from `&'static TickHook`.
            (unsafe { &*hook }.handler)(frame);
        }
    }
}
}
