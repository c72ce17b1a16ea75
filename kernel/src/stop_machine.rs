//! stop_machine: run a function on one CPU while every other online CPU is parked with
//! interrupts masked (Linux: `kernel/stop_machine.c`, `multi_cpu_stop`). Text patching runs its
//! write phase here, so no CPU can fetch a half-patched sequence.
//!
//! The protocol, one rendezvous per call:
//! 1. the caller (interrupts masked) resets the counters, enters `Prepare` and kicks every other
//!    online CPU with the stop IPI; each answers in [`stop_machine_ipi_handler`], counts itself
//!    in and spins;
//! 2. once all have arrived the caller enters `Run` and runs the function;
//! 3. it then enters `Exit`; every parked CPU executes an ISB (discarding anything it fetched
//!    before the patch) and counts itself out; the caller returns once all have left.
//!
//! Locking: [`STOP_LOCK`] serialises callers. It is taken with interrupts enabled, so a CPU
//! waiting for it can still be parked by the current rendezvous.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use arch::exception::TrapFrame;
use arch::gic::{self, SgiTarget};
use arch::irq::{IrqAction, request_percpu_irq};
use arch::irqflags::local_irq_save_guard;
use arch::patching::TextPatch;
use arch::processor::cpu_relax;
use arch::spinlock::SpinLock;

use crate::smp::{cpu_online_mask, smp_processor_id};

const STATE_IDLE: u32 = 0;
const STATE_PREPARE: u32 = 1;
const STATE_RUN: u32 = 2;
const STATE_EXIT: u32 = 3;

static STOP_LOCK: SpinLock<()> = SpinLock::new(());
static STATE: AtomicU32 = AtomicU32::new(STATE_IDLE);
static ARRIVED: AtomicUsize = AtomicUsize::new(0);
static DEPARTED: AtomicUsize = AtomicUsize::new(0);
static RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);
static LAST_PARKED: AtomicUsize = AtomicUsize::new(0);

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
    arch::patching::set_stop_machine(stop_machine_text);
}

/// [`stop_machine`] in the form text patching calls it: its `noinstr` write phase and the
/// patches, so the rendezvous enters no traceable function (the closure is always inlined).
fn stop_machine_text(phase: fn(&[TextPatch]), patches: &[TextPatch]) {
    rendezvous(
        #[inline(always)]
        || phase(patches),
    );
}

/// Sends the stop IPI to every CPU in `mask`; false if any could not be reached.
fn kick_cpus(mask: u64) -> bool {
    (0..64)
        .filter(|cpu| mask & (1 << cpu) != 0)
        .all(|cpu| gic::send_sgi(SgiTarget::Cpu(cpu), IPI_STOP_MACHINE).is_ok())
}

/// How many rendezvous have completed (for tests and benchmarks).
pub fn rendezvous_count() -> usize {
    RENDEZVOUS.load(Ordering::Relaxed)
}

/// How many other CPUs were parked during the last rendezvous.
pub fn last_parked_cpus() -> usize {
    LAST_PARKED.load(Ordering::Relaxed)
}

/// Runs `f` on this CPU while every other online CPU is parked with interrupts masked.
pub fn stop_machine(f: &mut dyn FnMut()) {
    rendezvous(f);
}

/// [`stop_machine`] for any function, called directly (inlined) rather than through a pointer.
fn rendezvous(f: impl FnOnce()) {
    let _lock = STOP_LOCK.lock();
    let _irqs = local_irq_save_guard();
    let others = cpu_online_mask() & !(1 << smp_processor_id());
    let count = others.count_ones() as usize;
    if count == 0 || !kick_cpus_prepared(others) {
        LAST_PARKED.store(0, Ordering::Relaxed);
        f();
    } else {
        while ARRIVED.load(Ordering::Acquire) < count {
            cpu_relax();
        }
        STATE.store(STATE_RUN, Ordering::Release);
        LAST_PARKED.store(count, Ordering::Relaxed);
        f();
        STATE.store(STATE_EXIT, Ordering::Release);
        while DEPARTED.load(Ordering::Acquire) < count {
            cpu_relax();
        }
        STATE.store(STATE_IDLE, Ordering::Release);
    }
    RENDEZVOUS.fetch_add(1, Ordering::Relaxed);
}

fn kick_cpus_prepared(others: u64) -> bool {
    ARRIVED.store(0, Ordering::Relaxed);
    DEPARTED.store(0, Ordering::Relaxed);
    STATE.store(STATE_PREPARE, Ordering::Release);
    if kick_cpus(others) {
        return true;
    }
    // A CPU that could not be kicked would never arrive; whoever did arrive leaves at Exit.
    STATE.store(STATE_EXIT, Ordering::Release);
    false
}

/// The stop IPI's handler on a parked CPU (interrupts are masked in IRQ context).
pub fn stop_machine_ipi_handler() {
    if STATE.load(Ordering::Acquire) != STATE_PREPARE {
        return;
    }
    ARRIVED.fetch_add(1, Ordering::AcqRel);
    while STATE.load(Ordering::Acquire) != STATE_EXIT {
        cpu_relax();
    }
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    DEPARTED.fetch_add(1, Ordering::AcqRel);
}
