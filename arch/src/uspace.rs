//! Running EL0 code: [`enter_user`] returns to user space with a [`TrapFrame`] and comes back
//! with the reason the CPU returned to the kernel, as arceos's `UserContext::run` does, so the
//! policy (syscalls, signals, scheduling) stays in the `kernel` crate. Linux's `el0_svc`,
//! `el0_da`, `el0_interrupt` split the same way in `entry-common.c`.
//!
//! An `svc` from EL0 takes a fast path when the kernel has installed a handler
//! ([`set_svc_handler`]): the vector saves the frame, calls the handler on the kernel stack below
//! `enter_user`'s caller, and returns straight to EL0, with no return to the caller and no
//! generic exception dispatch (Linux's `el0_svc`). Only when the handler says work is due
//! before EL0 (a reschedule, a signal, an exit) does `enter_user` return, with
//! [`UserExit::SvcWork`]: the syscall is done, the work is the caller's.
//!
//! A task under a debugger (single-stepped, or with hardware breakpoints or watchpoints) runs
//! through [`enter_user_debug`] instead: MDSCR_EL1.SS and .MDE are on only from just before its
//! ERET to its next exception, and it never takes the fast path, whose handler runs with
//! PSTATE.D unmasked; the untraced fast path stays as it is.
//!
//! The frame lives at the top of the task's kernel stack (Linux's `task_pt_regs`): exceptions
//! from EL0 save their frame there (`asm/vectors.s`), and `__exit_user` then unwinds to the
//! caller of `enter_user` below it.

use core::sync::atomic::{AtomicPtr, Ordering};

use crate::esr::{self, Esr};
use crate::exception::{PSR_MODE_EL0T, TrapFrame, VectorKind};

/// Why EL0 stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserExit {
    /// `svc #0`: x8 holds the number, x0-x5 the arguments (Linux arm64 ABI); only while no
    /// fast-path handler is installed.
    Syscall,
    /// The fast path ran a syscall and its handler asked for the work before EL0.
    SvcWork,
    /// An interrupt; hand the frame to [`handle_user_irq`].
    Irq,
    /// Any other synchronous exception (abort, undefined instruction, BRK, step...), with its
    /// syndrome; the frame's `far` holds the fault address for aborts.
    Exception(Esr),
    /// FIQ or SError from EL0: nothing here routes them.
    Unexpected(VectorKind),
}

unsafe extern "C" {
    fn __enter_user(frame: *mut TrapFrame, context: *mut ()) -> u64;
}

/// The fast path's handler: runs the syscall in `frame` for the EL0 context `context` (what
/// [`enter_user`] was given) and returns 0 to go straight back to EL0, or non-zero when work is
/// due first. Called in process context (every exception unmasked, so it may be probed and may
/// sleep); must return with IRQs masked, as the work check must run that way.
pub type SvcHandler = unsafe extern "C" fn(frame: *mut TrapFrame, context: *mut ()) -> u64;

/// The kind `el0_svc` returns from `__enter_user` with when its handler asks for the work.
pub const VECTOR_SVC_WORK: u64 = 17;

/// The installed fast-path handler, null for none (read by `asm/vectors.s`).
#[unsafe(no_mangle)]
pub static SVC_HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs the `svc` fast path's handler (once, at boot, before any user code runs).
pub fn set_svc_handler(handler: SvcHandler) {
    SVC_HANDLER.store(handler as *mut (), Ordering::Release);
}

/// The PSTATE a new user context starts with: EL0t, every exception unmasked.
pub const USER_PSTATE: u64 = PSR_MODE_EL0T;

/// Runs `frame` at EL0 until it traps back with something the `svc` fast path does not finish,
/// and says why. Returns with every DAIF bit set.
///
/// # Safety
/// `frame` must be the task's user frame at the very top of its kernel stack, above the
/// caller's stack pointer; its `pstate` must select EL0t; TTBR0 must hold the task's address
/// space. `context` must be valid for the installed [`SvcHandler`] until this returns, and
/// neither it nor `frame` may be used meanwhile except by that handler.
pub unsafe fn enter_user(frame: &mut TrapFrame, context: *mut ()) -> UserExit {
    debug_assert_eq!(
        frame.pstate & crate::exception::PSR_MODE_MASK,
        PSR_MODE_EL0T
    );
    // SAFETY: forwarded from the caller; `__enter_user` keeps the callee-saved registers.
    let kind = unsafe { __enter_user(frame, context) };
    user_exit(kind, frame)
}

/// Decodes the vector kind `__enter_user` returned with.
fn user_exit(kind: u64, frame: &TrapFrame) -> UserExit {
    match kind {
        8 => match Esr(frame.esr).ec() {
            esr::ESR_ELx_EC_SVC64 => UserExit::Syscall,
            _ => UserExit::Exception(Esr(frame.esr)),
        },
        9 => UserExit::Irq,
        VECTOR_SVC_WORK => UserExit::SvcWork,
        _ => UserExit::Unexpected(VectorKind(kind)),
    }
}

/// [`enter_user`] for a task with EL0 debug state: `debug`'s MDSCR_EL1 bits (single step,
/// breakpoints and watchpoints) are set just before the ERET and cleared on the exception
/// that brings the CPU back, before anything unmasks PSTATE.D (Linux: `enable_step_tsk` in
/// `ret_to_user`, `disable_step_tsk` in `kernel_entry`). Its slots are written into the debug
/// registers first. An `svc` comes back as [`UserExit::Syscall`], not through the fast path.
/// Without debug state, just [`enter_user`].
///
/// # Safety
/// As [`enter_user`]; IRQs must be masked (the registers written stay this CPU's).
pub unsafe fn enter_user_debug(
    frame: &mut TrapFrame,
    context: *mut (),
    debug: &crate::hw_breakpoint::TaskDebug,
) -> UserExit {
    use crate::debug_monitors::{DBG_MDSCR_MDE, user_debug_disable, user_debug_enable};
    let bits = debug.mdscr_bits();
    if bits == 0 {
        // SAFETY: forwarded from the caller.
        return unsafe { enter_user(frame, context) };
    }
    if bits & DBG_MDSCR_MDE != 0 {
        debug.install_hw();
    }
    // Every exception masked from here to the ERET (which unmasks them for EL0): MDSCR.SS
    // with PSTATE.D clear would step the kernel.
    // SAFETY: masking DAIF; `__enter_user` returns with it masked too.
    unsafe {
        core::arch::asm!(
            "msr daifset, #0xf",
            options(nomem, nostack, preserves_flags)
        )
    };
    // From setting the bits to the ERET only `__enter_user` runs: no patch site where a probe
    // could take a kernel single step (which ends by clearing MDSCR_EL1.SS).
    user_debug_enable(bits);
    // SAFETY: forwarded from the caller; no context, so an `svc` leaves through the generic
    // path (`__exit_user`), with every exception masked like any exception from EL0.
    let kind = unsafe { __enter_user(frame, core::ptr::null_mut()) };
    user_debug_disable(bits);
    user_exit(kind, frame)
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
