//! stop_machine: run a function on one CPU while every other online CPU is parked with
//! interrupts masked (Linux: `kernel/stop_machine.c`, `multi_cpu_stop`). Text patching runs its
//! write phase here, so no CPU can fetch a half-patched sequence.
//!
//! The protocol, one rendezvous per call:
//! 1. the caller (interrupts masked) clears the arrival and departure masks, records which CPUs
//!    it waits for, enters `Prepare` and kicks each of them with the stop IPI; each answers in
//!    [`stop_machine_ipi_handler`], sets its bit in the arrival mask and spins;
//! 2. once all have arrived the caller enters `Run` and runs the function;
//! 3. it then enters `Exit`; every parked CPU executes an ISB (discarding anything it fetched
//!    before the patch) and sets its departure bit; the caller returns once all have left.
//!
//! Never pretending: a stop IPI the GIC refuses is sent again, and one that cannot be sent at
//! all after [`MAX_SEND_ATTEMPTS`] is a kernel bug reported by a panic (an SGI the GIC took is
//! delivered; it is never lost). The function never runs with another online CPU unparked, so
//! the grace periods built on an empty rendezvous (ftrace's `synchronize`, before it frees a
//! hash) hold. A CPU joins a rendezvous from the stop IPI or, while it spins for
//! [`STOP_LOCK`] or text patching's lock, by polling [`cpu_stop_answer`]: so no code that a
//! grace period waits out (an ftrace callback, a hash reader) may wait for either lock.
//!
//! Locking: [`STOP_LOCK`] serialises callers and is also the CPU-hotplug lock: a CPU comes
//! online only under it ([`cpus_write_locked`]), so the set of CPUs a rendezvous waits for
//! cannot change under it (Linux holds `cpus_read_lock` in `stop_machine`). A CPU waiting for
//! the lock keeps answering the rendezvous in progress ([`cpu_stop_answer`]), so the lock may be
//! waited for with interrupts masked: the caller that holds it could otherwise wait forever for
//! this CPU to be parked while this CPU waits for the lock. Text patching's own lock is waited
//! for the same way.

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use arch::exception::TrapFrame;
use arch::gic::{self, GicError};
use arch::irq::{IrqAction, request_percpu_irq};
use arch::irqflags::local_irq_save_guard;
use arch::patching::{StopMachine, TextPatch, WritePhase};
use arch::processor::cpu_relax;
use arch::spinlock::{SpinLock, SpinLockGuard};

use crate::smp::{IPI_TYPES, cpu_online_mask, smp_cross_call, smp_processor_id};
use crate::trace::events::ipi as ipi_events;

const STATE_IDLE: u32 = 0;
const STATE_PREPARE: u32 = 1;
const STATE_RUN: u32 = 2;
const STATE_EXIT: u32 = 3;

/// Attempts to send one IPI before giving up with a panic.
const MAX_SEND_ATTEMPTS: u32 = 1000;

static STOP_LOCK: SpinLock<()> = SpinLock::new(());
static STATE: AtomicU32 = AtomicU32::new(STATE_IDLE);
/// The CPUs the current rendezvous waits for (bit N: CPU N).
static TARGETS: AtomicU64 = AtomicU64::new(0);
static ARRIVED: AtomicU64 = AtomicU64::new(0);
static DEPARTED: AtomicU64 = AtomicU64::new(0);
static RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);
/// The CPUs the last rendezvous parked.
static LAST_PARKED: AtomicU64 = AtomicU64::new(0);
static IPI_RETRIES: AtomicUsize = AtomicUsize::new(0);

/// The SGI that parks a CPU for a rendezvous. Linux wakes per-CPU stopper threads instead (with
/// IPI_RESCHEDULE); with no threads yet, the IPI handler itself is the parking place.
pub const IPI_STOP_MACHINE: u32 = 1;

static STOP_ACTION: IrqAction = IrqAction {
    name: IPI_TYPES[IPI_STOP_MACHINE as usize],
    handler: stop_ipi,
};

fn stop_ipi(_irq: u32, _frame: &mut TrapFrame) {
    ipi_events::trace_ipi_entry(IPI_STOP_MACHINE);
    stop_machine_ipi_handler();
    ipi_events::trace_ipi_exit(IPI_STOP_MACHINE);
}

static PATCHING_STOP_MACHINE: StopMachine = StopMachine {
    run: stop_machine_text,
    answer: cpu_stop_answer,
};

/// Registers the stop IPI and makes text patching use the rendezvous. Call after the GIC is up
/// and before the secondary CPUs come online.
pub fn init() {
    if gic::gic_version().is_none() {
        crate::println!("stop_machine: no GIC, so no IPIs: patching assumes one CPU");
        return;
    }
    if let Err(e) = request_percpu_irq(IPI_STOP_MACHINE, &STOP_ACTION) {
        crate::println!("stop_machine: cannot register IPI{IPI_STOP_MACHINE}: {e:?}");
        return;
    }
    arch::patching::set_stop_machine(&PATCHING_STOP_MACHINE);
}

/// [`stop_machine`] in the form text patching calls it: its `noinstr` write phase and the
/// patches, so the rendezvous enters no traceable function (the closure is always inlined).
fn stop_machine_text(phase: WritePhase, patches: &[TextPatch]) {
    rendezvous(
        #[inline(always)]
        || phase(patches),
    );
}

/// Test-only fault injection: the next N stop IPIs fail as if the GIC refused them.
#[cfg(feature = "ktest")]
static INJECT_SEND_FAILURES: AtomicU32 = AtomicU32::new(0);

/// Makes the next `n` stop IPIs fail to send (for the in-kernel test of the retry).
#[cfg(feature = "ktest")]
pub fn inject_ipi_send_failures(n: u32) {
    INJECT_SEND_FAILURES.store(n, Ordering::Relaxed);
}

fn send_stop_ipi(cpu: usize) -> Result<(), GicError> {
    #[cfg(feature = "ktest")]
    if INJECT_SEND_FAILURES
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        return Err(GicError::BadCpu(cpu));
    }
    smp_cross_call(cpu, IPI_STOP_MACHINE)
}

/// Sends the stop IPI to every CPU in `mask`, retrying each until the GIC takes it. A CPU that
/// cannot be reached at all would leave the caller running its function next to an unparked
/// CPU, so that is a panic, never a silent fallback. The request is traced as Linux's
/// `smp_call_function_many_cond` does (one CPU: `ipi_send_cpu`), the IPI's handler as the
/// callback; out of line, so the callsite is its caller.
#[inline(never)]
fn kick_cpus(mask: u64) {
    let (callsite, callback) = (
        ipi_events::return_address(),
        stop_ipi as fn(u32, &mut TrapFrame) as usize as u64,
    );
    if mask.is_power_of_two() {
        ipi_events::trace_ipi_send_cpu(mask.trailing_zeros(), callsite, callback);
    } else {
        ipi_events::trace_ipi_send_cpumask(mask, callsite, callback);
    }
    for cpu in (0..64).filter(|cpu| mask & (1 << cpu) != 0) {
        if send_stop_ipi(cpu).is_err() {
            kick_cpu_again(cpu);
        }
    }
}

/// Opens a rendezvous for the CPUs in `others` and sends each the stop IPI.
fn prepare_and_kick(others: u64) {
    ARRIVED.store(0, Ordering::Relaxed);
    DEPARTED.store(0, Ordering::Relaxed);
    TARGETS.store(others, Ordering::Relaxed);
    STATE.store(STATE_PREPARE, Ordering::Release);
    kick_cpus(others);
}

/// The refused-IPI path of [`kick_cpus`], out of line so the common path stays short.
#[cold]
#[inline(never)]
fn kick_cpu_again(cpu: usize) {
    for _ in 1..MAX_SEND_ATTEMPTS {
        IPI_RETRIES.fetch_add(1, Ordering::Relaxed);
        cpu_relax();
        if send_stop_ipi(cpu).is_ok() {
            return;
        }
    }
    panic!("stop_machine: the GIC refused the stop IPI to CPU{cpu} {MAX_SEND_ATTEMPTS} times");
}

/// How many rendezvous have completed (for tests and benchmarks).
pub fn rendezvous_count() -> usize {
    RENDEZVOUS.load(Ordering::Relaxed)
}

/// How many other CPUs were parked during the last rendezvous.
pub fn last_parked_cpus() -> usize {
    LAST_PARKED.load(Ordering::Relaxed).count_ones() as usize
}

/// The CPUs parked in the rendezvous in progress: what the function sees from inside it.
pub fn parked_cpus() -> u64 {
    ARRIVED.load(Ordering::Acquire) & !DEPARTED.load(Ordering::Acquire)
}

/// How many stop IPIs had to be sent again because the GIC refused them.
pub fn ipi_retries() -> usize {
    IPI_RETRIES.load(Ordering::Relaxed)
}

/// Takes [`STOP_LOCK`], answering any rendezvous that waits for this CPU meanwhile.
#[inline(always)]
fn lock_answering() -> SpinLockGuard<'static, ()> {
    STOP_LOCK.lock_with(cpu_stop_answer)
}

/// Runs `f` with the CPU-hotplug lock held: a CPU marks itself online this way, so it never
/// joins in the middle of a rendezvous (Linux: `cpus_write_lock` around `set_cpu_online`).
pub fn cpus_write_locked<R>(f: impl FnOnce() -> R) -> R {
    let _lock = lock_answering();
    f()
}

/// A grace period for readers that hold IRQs masked (ftrace callbacks, tracepoint probes,
/// hash and probe-array readers): an empty rendezvous. When it returns, every other online CPU
/// has taken the stop IPI, so none is still inside a section that was IRQs-masked when it
/// began; what was unpublished before the call may be freed.
pub fn synchronize() {
    stop_machine(&mut || {});
}

/// Runs `f` on this CPU while every other online CPU is parked with interrupts masked. May be
/// called with interrupts masked or not.
pub fn stop_machine(f: &mut dyn FnMut()) {
    rendezvous(f);
}

/// [`stop_machine`] for any function, called directly (inlined) rather than through a pointer.
fn rendezvous(f: impl FnOnce()) {
    let _lock = lock_answering();
    let _irqs = local_irq_save_guard();
    let others = cpu_online_mask() & !(1 << smp_processor_id());
    if others == 0 {
        LAST_PARKED.store(0, Ordering::Relaxed);
        f();
    } else {
        prepare_and_kick(others);
        while ARRIVED.load(Ordering::Acquire) != others {
            cpu_relax();
        }
        STATE.store(STATE_RUN, Ordering::Release);
        LAST_PARKED.store(others, Ordering::Relaxed);
        f();
        STATE.store(STATE_EXIT, Ordering::Release);
        while DEPARTED.load(Ordering::Acquire) != others {
            cpu_relax();
        }
        STATE.store(STATE_IDLE, Ordering::Release);
    }
    RENDEZVOUS.fetch_add(1, Ordering::Relaxed);
}

/// The stop IPI's handler on a parked CPU (interrupts are masked in IRQ context). Only the
/// rendezvous's targets are sent the IPI, and one still pending from an earlier rendezvous
/// finds it over or, at a CPU that is a target of the next one, answers that one.
#[inline(always)]
pub fn stop_machine_ipi_handler() {
    if STATE.load(Ordering::Acquire) == STATE_PREPARE {
        park(1u64 << smp_processor_id());
    }
}

arch::noinstr! {
/// Parks this CPU if a rendezvous is waiting for it; returns at once otherwise. What a CPU
/// polls while it spins for a lock the initiator may hold, with interrupts in any state.
pub fn cpu_stop_answer() {
    if STATE.load(Ordering::Acquire) != STATE_PREPARE {
        return;
    }
    let me = 1u64 << smp_processor_id();
    // A CPU coming online (spinning for the hotplug lock) is not a target and must not count.
    if TARGETS.load(Ordering::Relaxed) & me != 0 {
        // Parked CPUs run nothing else: no interrupt, so no preemption either.
        let _irqs = local_irq_save_guard();
        park(me);
    }
}
}

/// Arrives (at most once per rendezvous: a second call, such as the IPI after a polled
/// answer, finds the bit set) and spins until the initiator has run its function.
#[inline(always)]
fn park(me: u64) {
    if ARRIVED.fetch_or(me, Ordering::AcqRel) & me != 0 {
        return;
    }
    while STATE.load(Ordering::Acquire) != STATE_EXIT {
        cpu_relax();
    }
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    DEPARTED.fetch_or(me, Ordering::AcqRel);
}
