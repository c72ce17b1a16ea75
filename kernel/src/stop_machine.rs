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
//! Never pretending: a CPU that has not arrived after [`REKICK_SPINS`] polls is sent the IPI
//! again (an IPI the GIC refused, or one lost, is retried), and an IPI that cannot be sent at
//! all after [`MAX_SEND_ATTEMPTS`] is a kernel bug reported by a panic. The function never runs
//! with another online CPU unparked, so the grace periods built on an empty rendezvous (ftrace's
//! `synchronize`, before it frees a hash) hold.
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
use arch::gic::{self, GicError, SgiTarget};
use arch::irq::{IrqAction, request_percpu_irq};
use arch::irqflags::local_irq_save_guard;
use arch::patching::StopMachine;
use arch::processor::cpu_relax;
use arch::spinlock::{SpinLock, SpinLockGuard};

use crate::smp::{cpu_online_mask, smp_processor_id};

const STATE_IDLE: u32 = 0;
const STATE_PREPARE: u32 = 1;
const STATE_RUN: u32 = 2;
const STATE_EXIT: u32 = 3;

/// Polls of the arrival mask before a CPU that has not arrived is kicked again.
const REKICK_SPINS: u32 = 1 << 16;
/// Attempts to send one IPI before giving up with a panic.
const MAX_SEND_ATTEMPTS: u32 = 1000;

static STOP_LOCK: SpinLock<()> = SpinLock::new(());
static STATE: AtomicU32 = AtomicU32::new(STATE_IDLE);
/// The CPUs the current rendezvous waits for (bit N: CPU N).
static TARGETS: AtomicU64 = AtomicU64::new(0);
static ARRIVED: AtomicU64 = AtomicU64::new(0);
static DEPARTED: AtomicU64 = AtomicU64::new(0);
static RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);
static LAST_PARKED: AtomicUsize = AtomicUsize::new(0);
static IPI_RETRIES: AtomicUsize = AtomicUsize::new(0);

/// The SGI that parks a CPU for a rendezvous. Linux wakes per-CPU stopper threads instead (with
/// IPI_RESCHEDULE); with no threads yet, the IPI handler itself is the parking place.
pub const IPI_STOP_MACHINE: u32 = 1;

static STOP_ACTION: IrqAction = IrqAction {
    name: "Stop-machine interrupts",
    handler: stop_ipi,
};

fn stop_ipi(_irq: u32, _frame: &mut TrapFrame) {
    stop_machine_ipi_handler();
}

static PATCHING_STOP_MACHINE: StopMachine = StopMachine {
    run: stop_machine,
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

/// Test-only fault injection: the next N stop IPIs fail as if the GIC refused them.
static INJECT_SEND_FAILURES: AtomicU32 = AtomicU32::new(0);

/// Makes the next `n` stop IPIs fail to send (for the in-kernel test of the retry).
#[cfg(feature = "ktest")]
pub fn inject_ipi_send_failures(n: u32) {
    INJECT_SEND_FAILURES.store(n, Ordering::Relaxed);
}

fn send_stop_ipi(cpu: usize) -> Result<(), GicError> {
    let injected = INJECT_SEND_FAILURES
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if injected {
        return Err(GicError::BadCpu(cpu));
    }
    gic::send_sgi(SgiTarget::Cpu(cpu), IPI_STOP_MACHINE)
}

/// Sends the stop IPI to every CPU in `mask`, retrying each until the GIC takes it. A CPU that
/// cannot be reached at all would leave the caller running its function next to an unparked
/// CPU, so that is a panic, never a silent fallback.
fn kick_cpus(mask: u64) {
    for cpu in (0..64).filter(|cpu| mask & (1 << cpu) != 0) {
        let mut attempts = 1;
        while let Err(e) = send_stop_ipi(cpu) {
            IPI_RETRIES.fetch_add(1, Ordering::Relaxed);
            if attempts >= MAX_SEND_ATTEMPTS {
                panic!("stop_machine: cannot send the stop IPI to CPU{cpu}: {e:?}");
            }
            attempts += 1;
            cpu_relax();
        }
    }
}

/// How many rendezvous have completed (for tests and benchmarks).
pub fn rendezvous_count() -> usize {
    RENDEZVOUS.load(Ordering::Relaxed)
}

/// How many other CPUs were parked during the last rendezvous.
pub fn last_parked_cpus() -> usize {
    LAST_PARKED.load(Ordering::Relaxed)
}

/// The CPUs parked in the rendezvous in progress: what the function sees from inside it.
pub fn parked_cpus() -> u64 {
    ARRIVED.load(Ordering::Acquire) & !DEPARTED.load(Ordering::Acquire)
}

/// How many stop IPIs had to be sent again (refused by the GIC, or not answered in time).
pub fn ipi_retries() -> usize {
    IPI_RETRIES.load(Ordering::Relaxed)
}

/// Takes [`STOP_LOCK`], answering any rendezvous that waits for this CPU meanwhile.
fn lock_answering() -> SpinLockGuard<'static, ()> {
    STOP_LOCK.lock_with(cpu_stop_answer)
}

/// Runs `f` with the CPU-hotplug lock held: a CPU marks itself online this way, so it never
/// joins in the middle of a rendezvous (Linux: `cpus_write_lock` around `set_cpu_online`).
pub fn cpus_write_locked<R>(f: impl FnOnce() -> R) -> R {
    let _lock = lock_answering();
    f()
}

/// Runs `f` on this CPU while every other online CPU is parked with interrupts masked. May be
/// called with interrupts masked or not.
pub fn stop_machine(f: &mut dyn FnMut()) {
    let _lock = lock_answering();
    let _irqs = local_irq_save_guard();
    let others = cpu_online_mask() & !(1 << smp_processor_id());
    if others == 0 {
        LAST_PARKED.store(0, Ordering::Relaxed);
        f();
    } else {
        ARRIVED.store(0, Ordering::Relaxed);
        DEPARTED.store(0, Ordering::Relaxed);
        TARGETS.store(others, Ordering::Relaxed);
        STATE.store(STATE_PREPARE, Ordering::Release);
        kick_cpus(others);
        wait_for_arrivals(others);
        STATE.store(STATE_RUN, Ordering::Release);
        LAST_PARKED.store(others.count_ones() as usize, Ordering::Relaxed);
        f();
        STATE.store(STATE_EXIT, Ordering::Release);
        while DEPARTED.load(Ordering::Acquire) != others {
            cpu_relax();
        }
        STATE.store(STATE_IDLE, Ordering::Release);
    }
    RENDEZVOUS.fetch_add(1, Ordering::Relaxed);
}

/// Waits until every CPU in `others` is parked, kicking the late ones again now and then.
fn wait_for_arrivals(others: u64) {
    let mut spins = 0u32;
    loop {
        let missing = others & !ARRIVED.load(Ordering::Acquire);
        if missing == 0 {
            return;
        }
        spins += 1;
        if spins == REKICK_SPINS {
            spins = 0;
            IPI_RETRIES.fetch_add(missing.count_ones() as usize, Ordering::Relaxed);
            kick_cpus(missing);
        }
        cpu_relax();
    }
}

/// The stop IPI's handler on a parked CPU (interrupts are masked in IRQ context).
pub fn stop_machine_ipi_handler() {
    cpu_stop_answer();
}

/// Parks this CPU if a rendezvous is waiting for it, until the caller has run its function;
/// returns at once otherwise. Called from the stop IPI and by CPUs spinning for a lock the
/// initiator may hold. A CPU answers at most once per rendezvous: a second call (the IPI after
/// a polled answer, or a re-kick) finds its arrival bit set, or the rendezvous over.
pub fn cpu_stop_answer() {
    if STATE.load(Ordering::Acquire) != STATE_PREPARE {
        return;
    }
    let me = 1u64 << smp_processor_id();
    // With hotplug under STOP_LOCK every online CPU but the initiator is a target; the check
    // only guards against a CPU that is not (the initiator itself, polling nothing).
    if TARGETS.load(Ordering::Relaxed) & me == 0 {
        return;
    }
    let _irqs = local_irq_save_guard();
    if ARRIVED.fetch_or(me, Ordering::AcqRel) & me != 0 {
        return;
    }
    while STATE.load(Ordering::Acquire) != STATE_EXIT {
        cpu_relax();
    }
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    DEPARTED.fetch_or(me, Ordering::AcqRel);
}
