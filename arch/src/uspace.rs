//! Running EL0 code: [`enter_user`] returns to user space with a [`TrapFrame`] and comes back
//! with the reason the CPU returned to the kernel, as arceos's `UserContext::run` does, so the
//! policy (syscalls, signals, scheduling) stays in the `kernel` crate. Linux's `el0_svc`,
//! `el0_da`, `el0_interrupt` split the same way in `entry-common.c`.
//!
//! The frame lives at the top of the task's kernel stack (Linux's `task_pt_regs`): exceptions
//! from EL0 save their frame there (`asm/vectors.s`), and `__exit_user` then unwinds to the
//! caller of `enter_user` below it.

use crate::esr::{self, Esr};
use crate::exception::{PSR_MODE_EL0T, TrapFrame, VectorKind};

/// Why EL0 stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserExit {
    /// `svc #0`: x8 holds the number, x0-x5 the arguments (Linux arm64 ABI).
    Syscall,
    /// An interrupt; hand the frame to [`handle_user_irq`].
    Irq,
    /// Any other synchronous exception (abort, undefined instruction, BRK, step...), with its
    /// syndrome; the frame's `far` holds the fault address for aborts.
    Exception(Esr),
    /// FIQ or SError from EL0: nothing here routes them.
    Unexpected(VectorKind),
}

unsafe extern "C" {
    fn __enter_user(frame: *mut TrapFrame) -> u64;
}

/// The PSTATE a new user context starts with: EL0t, every exception unmasked.
pub const USER_PSTATE: u64 = PSR_MODE_EL0T;

/// Runs `frame` at EL0 until it traps back, and says why. Returns with every DAIF bit set.
///
/// # Safety
/// `frame` must be the task's user frame at the very top of its kernel stack, above the
/// caller's stack pointer; its `pstate` must select EL0t; TTBR0 must hold the task's address
/// space.
pub unsafe fn enter_user(frame: &mut TrapFrame) -> UserExit {
    debug_assert_eq!(
        frame.pstate & crate::exception::PSR_MODE_MASK,
        PSR_MODE_EL0T
    );
    // SAFETY: forwarded from the caller; `__enter_user` keeps the callee-saved registers.
    let kind = unsafe { __enter_user(frame) };
    match kind {
        8 => match Esr(frame.esr).ec() {
            esr::ESR_ELx_EC_SVC64 => UserExit::Syscall,
            _ => UserExit::Exception(Esr(frame.esr)),
        },
        9 => UserExit::Irq,
        _ => UserExit::Unexpected(VectorKind(kind)),
    }
}

/// Handles the interrupt that made [`enter_user`] return [`UserExit::Irq`], as the IRQ vector
/// does for EL1 (Linux: `el0_interrupt`), without the preemption at its exit: the caller is in
/// process context and schedules itself.
pub fn handle_user_irq(frame: &mut TrapFrame) {
    crate::daifflags::local_daif_unmask_debug_serror();
    crate::percpu::irq_enter();
    crate::irq::handle_irq(frame);
    crate::percpu::irq_exit();
}
