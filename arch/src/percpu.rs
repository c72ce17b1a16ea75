//! The architecture's head of every CPU's per-CPU area, and the preemption count kept there
//! (Linux: `thread_info.preempt_count`, `TIF_NEED_RESCHED`, `asm/preempt.h`).
//!
//! The kernel's per-CPU structure starts with an [`ArchPerCpu`] and each CPU points TPIDR_EL1 at
//! its own, so everything here costs one system-register read and no lock. Tasks never migrate
//! between CPUs in this kernel, so a per-CPU count is also the running task's count.
//!
//! - `preempt_count` > 0: the scheduler must not switch away from the running task at interrupt
//!   exit ([`preempt_disable`]; every [`SpinLock`](crate::spinlock::SpinLock) holder counts).
//! - `need_resched`: set by a wake-up or the tick when a switch is due; acted on at the next
//!   interrupt exit with `preempt_count` 0, or at the next `schedule()`.
//!
//! The count has Linux's layout: bits 0-7 count `preempt_disable` nesting, bits 16-19 hard
//! interrupt nesting ([`irq_enter`] adds [`HARDIRQ_OFFSET`] around each IRQ's handling), so
//! "in interrupt" and "preemptible" are both one look at one word.

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, TPIDR_EL1};

use crate::fpsimd::UserFpsimdState;
use crate::probes::kprobes::KprobeCtlblk;

/// What the architecture code keeps per CPU. `#[repr(C)]`, and the first field of the kernel's
/// per-CPU structure.
#[repr(C)]
pub struct ArchPerCpu {
    /// Logical CPU number.
    pub cpu: usize,
    pub preempt_count: AtomicU32,
    pub need_resched: AtomicBool,
    /// While a kernel single step is armed on this CPU, the stepped context's own DAIF bits
    /// (Linux: kprobes' `kcb->saved_irqflag`); [`NO_KERNEL_STEP`] otherwise.
    pub kernel_step_daif: AtomicU64,
    /// The low end of this CPU's IRQ stack, 0 until it has one (Linux: `irq_stack_ptr`; see
    /// [`crate::stack`]).
    pub irq_stack_ptr: AtomicU64,
    /// This CPU's kprobe state (Linux's per-CPU `current_kprobe` and `kprobe_ctlblk`).
    pub kprobe_ctlblk: KprobeCtlblk,
    /// While this CPU runs EL0 code: the kernel stack pointer to resume at the next exception
    /// from EL0 (written and read only by `asm/vectors.s`).
    pub user_kernel_sp: AtomicU64,
    /// While this CPU runs EL0 code: the kernel's context for it (its process), which the
    /// `svc` fast path hands to the syscall handler (written and read only by `asm/vectors.s`).
    pub user_context: AtomicU64,
    /// The task FP/SIMD state this CPU's registers hold (Linux: `fpsimd_last_state`), null
    /// when they hold nobody's; see [`crate::fpsimd`].
    pub fpsimd_last_state: AtomicPtr<UserFpsimdState>,
}

/// [`ArchPerCpu::kernel_step_daif`] when no kernel single step is armed.
pub const NO_KERNEL_STEP: u64 = u64::MAX;

impl ArchPerCpu {
    pub const fn new(cpu: usize) -> Self {
        Self {
            cpu,
            preempt_count: AtomicU32::new(0),
            need_resched: AtomicBool::new(false),
            kernel_step_daif: AtomicU64::new(NO_KERNEL_STEP),
            irq_stack_ptr: AtomicU64::new(0),
            kprobe_ctlblk: KprobeCtlblk::new(),
            user_kernel_sp: AtomicU64::new(0),
            user_context: AtomicU64::new(0),
            fpsimd_last_state: AtomicPtr::new(core::ptr::null_mut()),
        }
    }
}

/// The preemption-disable depth's bits of the count (Linux: `PREEMPT_MASK`).
pub const PREEMPT_MASK: u32 = 0xff;
/// One level of hard-interrupt nesting (Linux: `HARDIRQ_OFFSET`).
pub const HARDIRQ_OFFSET: u32 = 1 << 16;
/// The hard-interrupt nesting bits (Linux: `HARDIRQ_MASK`).
pub const HARDIRQ_MASK: u32 = 0xf << 16;

crate::noinstr! {
/// This CPU's [`ArchPerCpu`].
#[inline(always)]
pub fn this_arch_cpu() -> &'static ArchPerCpu {
    // SAFETY: the kernel points TPIDR_EL1 at a `'static` structure that starts with an
    // ArchPerCpu before anything runs that uses per-CPU data (its first act on every CPU).
    unsafe { &*(TPIDR_EL1.get() as *const ArchPerCpu) }
}
}

crate::noinstr! {
/// Forbids switching away from the running task until the matching [`preempt_enable`].
#[inline(always)]
pub fn preempt_disable() {
    this_arch_cpu().preempt_count.fetch_add(1, Ordering::Relaxed);
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
}
}

crate::noinstr! {
/// Undoes one [`preempt_disable`]. A switch that fell due meanwhile happens at the next
/// interrupt exit (at most one tick later), not here.
#[inline(always)]
pub fn preempt_enable() {
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
    this_arch_cpu().preempt_count.fetch_sub(1, Ordering::Relaxed);
}
}

crate::noinstr! {
/// Entering an interrupt handler (Linux: `irq_enter`, `__irq_enter_raw`).
#[inline(always)]
pub fn irq_enter() {
    this_arch_cpu().preempt_count.fetch_add(HARDIRQ_OFFSET, Ordering::Relaxed);
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
}
}

crate::noinstr! {
/// Leaving it (Linux: `irq_exit`).
#[inline(always)]
pub fn irq_exit() {
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
    this_arch_cpu().preempt_count.fetch_sub(HARDIRQ_OFFSET, Ordering::Relaxed);
}
}

crate::noinstr! {
/// Whether this CPU is handling a hard interrupt (Linux: `in_hardirq`).
#[inline(always)]
pub fn in_hardirq() -> bool {
    preempt_count() & HARDIRQ_MASK != 0
}
}

crate::noinstr! {
#[inline(always)]
pub fn preempt_count() -> u32 {
    this_arch_cpu().preempt_count.load(Ordering::Relaxed)
}
}

/// Preemption disabled for the guard's lifetime.
#[must_use = "preemption is enabled again when the guard drops"]
pub struct PreemptGuard(());

crate::noinstr! {
#[inline(always)]
pub fn preempt_guard() -> PreemptGuard {
    preempt_disable();
    PreemptGuard(())
}
}

impl Drop for PreemptGuard {
    #[inline(always)]
    fn drop(&mut self) {
        preempt_enable();
    }
}

crate::noinstr! {
/// Asks this CPU to reschedule at its next opportunity.
#[inline(always)]
pub fn set_need_resched() {
    this_arch_cpu().need_resched.store(true, Ordering::Relaxed);
}
}

crate::noinstr! {
#[inline(always)]
pub fn need_resched() -> bool {
    this_arch_cpu().need_resched.load(Ordering::Relaxed)
}
}
