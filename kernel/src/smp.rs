//! SMP bring-up and per-CPU data (Linux: `smp.c`, `smp_processor_id`, `this_cpu_ptr`).
//!
//! The boot CPU is logical CPU 0; the other CPUs of the device tree are numbered in DTB order
//! and started one at a time with PSCI CPU_ON at `secondary_entry`, each on its own stack, with
//! Linux's five-second timeout that a late CPU can never outrun (see [`BOOT_STATE`]). Every
//! CPU points TPIDR_EL1 at its [`PerCpu`] slot, so per-CPU data costs one register read and no
//! lock. A CPU is online once it has run its per-CPU init; [`cpu_online_mask`] says which are.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use aarch64_cpu::registers::{MIDR_EL1, MPIDR_EL1, Readable, TPIDR_EL1, Writeable};
use arch::gic::MPIDR_HWID_BITMASK;
use arch::percpu::ArchPerCpu;
use arch::psci::{self, Conduit};

use crate::board::{self, MAX_CPUS};
use crate::mm::vmap_stack::{VmapStack, init_irq_stack};
use crate::println;
use crate::sched::Task;

/// How long the boot CPU waits for a secondary to come online, in seconds.
const ONLINE_TIMEOUT_SECS: u64 = 5;

/// What each CPU owns. Cache-line aligned so CPUs never share a line.
#[repr(C, align(64))]
pub struct PerCpu {
    /// The architecture's part: CPU number, preemption count, need_resched. First, because
    /// `arch::percpu` finds it at TPIDR_EL1.
    pub arch: ArchPerCpu,
    /// This CPU's MPIDR affinity, as it reads it itself.
    pub mpidr: AtomicU64,
    /// The task running on this CPU; the scheduler's run queue keeps it alive.
    pub current: AtomicPtr<Task>,
    /// The ftrace recursion bits (Linux keeps them in `current->trace_recursion`; callbacks
    /// run with IRQs masked here, so per CPU is per context).
    pub trace_recursion: AtomicU32,
}

static PER_CPU: [PerCpu; MAX_CPUS] = {
    let mut cpus = [const {
        PerCpu {
            arch: ArchPerCpu::new(0),
            mpidr: AtomicU64::new(0),
            current: AtomicPtr::new(ptr::null_mut()),
            trace_recursion: AtomicU32::new(0),
        }
    }; MAX_CPUS];
    let mut i = 0;
    while i < MAX_CPUS {
        cpus[i].arch = ArchPerCpu::new(i);
        i += 1;
    }
    cpus
};

static ONLINE: AtomicU64 = AtomicU64::new(0);
static NR_CPUS_POSSIBLE: AtomicUsize = AtomicUsize::new(1);

arch::noinstr! {
/// This CPU's per-CPU data.
#[inline(always)]
pub fn this_cpu() -> &'static PerCpu {
    // SAFETY: every CPU sets TPIDR_EL1 to its PER_CPU slot before anything calls this.
    unsafe { &*(TPIDR_EL1.get() as *const PerCpu) }
}
}

arch::noinstr! {
/// The logical number of the CPU this runs on. Tasks never migrate, so it stays true for the
/// calling task.
#[inline(always)]
pub fn smp_processor_id() -> usize {
    arch::percpu::this_arch_cpu().cpu
}
}

/// The IPIs, by number: `crate::sched::IPI_RESCHEDULE` and
/// [`crate::stop_machine::IPI_STOP_MACHINE`].
pub const NR_IPI: usize = 2;

/// What each IPI is for, by number (Linux arm64's `ipi_types`): /proc/interrupts names their
/// handlers so, and the `ipi:` events give it as the reason. The stop-machine IPI is ours
/// (Linux wakes stopper threads instead), so it has its own text.
pub const IPI_TYPES: [&str; NR_IPI] = ["Rescheduling interrupts", "Stop-machine interrupts"];

/// Sends IPI `ipinr` to `cpu` (Linux arm64: `smp_cross_call` with that CPU's mask): the
/// `ipi_raise` event, then the SGI.
pub fn smp_cross_call(cpu: usize, ipinr: u32) -> Result<(), arch::gic::GicError> {
    crate::trace::events::ipi::trace_ipi_raise(1 << cpu, ipinr);
    arch::gic::send_sgi(arch::gic::SgiTarget::Cpu(cpu), ipinr)
}

/// Bit N set: CPU N is online.
pub fn cpu_online_mask() -> u64 {
    ONLINE.load(Ordering::Acquire)
}

pub fn num_online_cpus() -> usize {
    cpu_online_mask().count_ones() as usize
}

/// The CPUs the device tree describes (online or not).
pub fn num_possible_cpus() -> usize {
    NR_CPUS_POSSIBLE.load(Ordering::Relaxed)
}

fn own_mpidr() -> u64 {
    MPIDR_EL1.get() & MPIDR_HWID_BITMASK
}

/// Per-CPU setup every CPU runs, the boot CPU included.
fn cpu_init(cpu: usize) {
    let slot = &PER_CPU[cpu];
    TPIDR_EL1.set(slot as *const PerCpu as u64);
    slot.mpidr.store(own_mpidr(), Ordering::Relaxed);
    arch::debug_monitors::debug_monitors_init();
    arch::fpsimd::cpu_init();
    // Process context with interrupts still off: debug exceptions and SError are taken from
    // here on (Linux: `local_daif_restore(DAIF_PROCCTX_NOIRQ)` in setup_arch and
    // secondary_start_kernel). The vectors are installed.
    arch::daifflags::local_daif_restore(arch::daifflags::DAIF_PROCCTX_NOIRQ);
}

/// The last step of a CPU's bring-up: from here on other CPUs may rely on it. Taken under the
/// hotplug lock, so a rendezvous in progress never misses a CPU that came online under it.
fn set_cpu_online(cpu: usize) {
    crate::stop_machine::cpus_write_locked(|| ONLINE.fetch_or(1 << cpu, Ordering::Release));
}

/// Makes the boot CPU logical CPU 0. Runs before anything uses per-CPU data.
pub fn init_boot_cpu() {
    cpu_init(0);
    set_cpu_online(0);
}

/// Gives the boot CPU its IRQ stack, once there is memory to map one and before IRQs are
/// unmasked.
pub fn init_boot_cpu_irq_stack() {
    init_irq_stack(&PER_CPU[0].arch).expect("memory for the boot CPU's IRQ stack");
}

/// The per-CPU slot of logical CPU `cpu`.
pub fn per_cpu(cpu: usize) -> Option<&'static PerCpu> {
    PER_CPU.get(cpu)
}

/// Where each secondary CPU's bring-up stands (Linux: the `cpu_running` completion plus
/// `secondary_data.status`). The boot CPU and the starting CPU race on one compare-and-swap:
/// either the CPU claims its bring-up ([`BOOT_RUNNING`]) before the boot CPU's timeout, and is
/// then waited for, or the boot CPU abandons it first ([`BOOT_ABANDONED`]) and the CPU, should
/// it start after all, turns itself off without touching anything shared. A CPU that missed
/// its timeout can therefore never come online later.
static BOOT_STATE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(BOOT_IDLE) }; MAX_CPUS];
const BOOT_IDLE: u8 = 0;
/// CPU_ON was issued; the CPU has not reached Rust yet.
const BOOT_STARTED: u8 = 1;
/// The CPU claimed its bring-up; it comes online shortly.
const BOOT_RUNNING: u8 = 2;
/// The boot CPU gave up on it.
const BOOT_ABANDONED: u8 = 3;

static PSCI_CONDUIT: AtomicU8 = AtomicU8::new(0);

arch::noinstr! {
/// The Rust entry of a secondary CPU, from `secondary_entry` in `asm/boot.s`. Nothing up to
/// the claim may be traced or touch shared state: a CPU that comes too late runs it with no
/// per-CPU pointer, possibly while a tracer has every patch site enabled.
#[unsafe(no_mangle)]
extern "C" fn secondary_start_kernel(cpu: u64) -> ! {
    let cpu = cpu as usize;
    late_start_delay(cpu);
    if BOOT_STATE[cpu]
        .compare_exchange(
            BOOT_STARTED,
            BOOT_RUNNING,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        turn_off_abandoned_cpu();
    }
    // Claimed: the boot CPU waits for this one, and from here it is an ordinary CPU.
    arch::instrumentation! { secondary_bring_up(cpu) }
}
}

/// A secondary CPU's bring-up once it has claimed it: per-CPU setup, its GIC and timer, its
/// idle task, online.
fn secondary_bring_up(cpu: usize) -> ! {
    arch::mmu::cpu_uninstall_idmap();
    cpu_init(cpu);
    crate::irq::secondary_init(cpu);
    println!(
        "CPU{}: Booted secondary processor 0x{:010x} [0x{:08x}]",
        cpu,
        own_mpidr(),
        MIDR_EL1.get()
    );
    crate::sched::init_idle(cpu);
    set_cpu_online(cpu);
    crate::sched::cpu_idle()
}

arch::noinstr! {
/// A CPU the boot CPU stopped waiting for: power off (PSCI CPU_OFF), or park for good if the
/// firmware refuses. Nothing shared has been touched: no per-CPU pointer, no GIC, no task.
fn turn_off_abandoned_cpu() -> ! {
    let conduit = match PSCI_CONDUIT.load(Ordering::Relaxed) {
        CONDUIT_SMC => Conduit::Smc,
        _ => Conduit::Hvc,
    };
    psci::cpu_off(conduit);
    loop {
        arch::irqflags::local_irq_disable();
        aarch64_cpu::asm::wfe();
    }
}
}

const CONDUIT_HVC: u8 = 1;
const CONDUIT_SMC: u8 = 2;

/// The command-line option that makes one secondary CPU start too late (after the boot CPU's
/// timeout), so the scenario tests can check it never comes online: `smp_test_late_cpu=N`.
const LATE_CPU_OPTION: &str = "smp_test_late_cpu=";

/// The CPU `smp_test_late_cpu=N` names, read by the boot CPU before it starts any; `usize::MAX`
/// for none.
static LATE_CPU: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Reads `smp_test_late_cpu=N` from the command line.
fn parse_late_cpu(bootargs: &str) -> Option<usize> {
    bootargs
        .split_whitespace()
        .find_map(|arg| arg.strip_prefix(LATE_CPU_OPTION)?.parse().ok())
}

arch::noinstr! {
/// Fault injection for the bring-up timeout: delays the CPU named by `smp_test_late_cpu=N`
/// one second past the boot CPU's timeout before it claims its bring-up.
fn late_start_delay(cpu: usize) {
    if LATE_CPU.load(Ordering::Relaxed) == cpu {
        let until = counter_now() + (ONLINE_TIMEOUT_SECS + 1) * counter_freq();
        while counter_now() < until {
            arch::processor::cpu_relax();
        }
    }
}
}

arch::noinstr! {
/// The raw generic counter: unlike `arch::timer`'s readers it works before (or without) the
/// timer's own setup, which the bring-up timeout must not depend on; and a late CPU reads it
/// before it may run traced code.
#[inline(always)]
fn counter_now() -> u64 {
    let cnt: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects.
    unsafe { core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) cnt, options(nomem, nostack)) };
    cnt
}
}

arch::noinstr! {
#[inline(always)]
fn counter_freq() -> u64 {
    let freq: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) freq, options(nomem, nostack)) };
    freq
}
}

/// Starts every other CPU of the device tree and waits for each to come online.
pub fn smp_init() {
    let board = board::info();
    let boot_mpidr = own_mpidr();
    let secondaries = board
        .cpus()
        .iter()
        .filter(|c| c.mpidr & MPIDR_HWID_BITMASK != boot_mpidr);
    NR_CPUS_POSSIBLE.store(board.cpus().len().max(1), Ordering::Relaxed);
    let Some(conduit) = Conduit::from_method(board.psci_method) else {
        println!(
            "smp: no PSCI conduit in the device tree ({}); running on one CPU",
            board.psci_method
        );
        return;
    };
    let conduit_id = match conduit {
        Conduit::Hvc => CONDUIT_HVC,
        Conduit::Smc => CONDUIT_SMC,
    };
    PSCI_CONDUIT.store(conduit_id, Ordering::Relaxed);
    if let Some(late) = parse_late_cpu(board.bootargs) {
        LATE_CPU.store(late, Ordering::Relaxed);
    }
    if let Ok((major, minor)) = psci::version(conduit) {
        println!(
            "psci: PSCIv{major}.{minor} detected via {}",
            board.psci_method
        );
    }
    for (index, cpu) in secondaries.enumerate() {
        bring_up(conduit, index + 1, cpu.mpidr & MPIDR_HWID_BITMASK);
    }
    println!("smp: Brought up 1 node, {} CPUs", num_online_cpus());
}

fn bring_up(conduit: Conduit, cpu: usize, mpidr: u64) {
    if cpu >= MAX_CPUS {
        println!("CPU{cpu}: not started: the kernel supports {MAX_CPUS} CPUs");
        return;
    }
    // Its idle stack and IRQ stack, guarded like every kernel stack. Never freed: a CPU that
    // starts after its timeout still runs on them until it turns off.
    let Ok(stack) = VmapStack::alloc() else {
        println!("CPU{cpu}: not started: no memory for its stack");
        return;
    };
    if init_irq_stack(&PER_CPU[cpu].arch).is_err() {
        println!("CPU{cpu}: not started: no memory for its IRQ stack");
        return;
    }
    let stack_top = stack.leak().high;
    if arch::boot::prepare_secondary(cpu, stack_top).is_err() {
        println!("CPU{cpu}: not started: no secondary data slot");
        return;
    }
    BOOT_STATE[cpu].store(BOOT_STARTED, Ordering::Release);
    if let Err(e) = psci::cpu_on(
        conduit,
        mpidr,
        arch::boot::secondary_entry_phys(),
        cpu as u64,
    ) {
        BOOT_STATE[cpu].store(BOOT_ABANDONED, Ordering::Release);
        println!("CPU{cpu}: failed to boot: PSCI CPU_ON returned {:?}", e.0);
        return;
    }
    let deadline = counter_now() + ONLINE_TIMEOUT_SECS * counter_freq();
    while BOOT_STATE[cpu].load(Ordering::Acquire) == BOOT_STARTED {
        if counter_now() > deadline
            && BOOT_STATE[cpu]
                .compare_exchange(
                    BOOT_STARTED,
                    BOOT_ABANDONED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            println!("CPU{cpu}: failed to come online");
            return;
        }
        arch::processor::cpu_relax();
    }
    // It claimed its bring-up in time: it is running our code now and will come online.
    while cpu_online_mask() & (1 << cpu) == 0 {
        arch::processor::cpu_relax();
    }
}
