//! The arch half of ptrace for EL0 tasks: single step and hardware breakpoints and
//! watchpoints per task (Linux: `user_enable_single_step` in `debug-monitors.c`, the
//! `NT_ARM_HW_BREAK`/`NT_ARM_HW_WATCH` regsets of `arch/arm64/kernel/ptrace.c`).
//!
//! The state lives in the task ([`Task::debug`], an [`arch::hw_breakpoint::TaskDebug`]); a
//! tracer changes it while the tracee is stopped, and the tracee's next return to EL0 from
//! `user_loop` applies it ([`arch::uspace::enter_user_debug`]): MDSCR_EL1.SS and .MDE on only
//! while that task runs at EL0, its slots written into the debug registers first. The `svc`
//! fast path returns to EL0 without looking at it, so a stopped tracee must come back to EL0
//! through the run loop (as signal-delivery and group stops do, and syscall and event stops do
//! when they leave syscall work).
//!
//! The exceptions come back as signals ([`crate::signal::fault_siginfo`]): a step is SIGTRAP
//! `TRAP_TRACE` at the next pc, a breakpoint SIGTRAP `TRAP_HWBKPT` at its pc, a watchpoint
//! SIGTRAP `TRAP_HWBKPT` with the data address. As on Linux, a breakpoint or watchpoint hit
//! leaves the pc on the instruction, which has not run: the tracer steps over it by disabling
//! the slot, single-stepping and enabling it again (gdb does, arm64 watchpoints being
//! "non-steppable"); resumed with the slot still enabled, the task hits it again.

use arch::esr::{self, Esr};
use arch::exception::TrapFrame;
use arch::hw_breakpoint::HwDebugError;

use crate::fs::Errno;
use crate::sched::Task;

/// Single-steps `task` (whose saved user registers are `frame`) from its next return to EL0:
/// one instruction, then SIGTRAP `TRAP_TRACE` (Linux: `user_enable_single_step`).
pub fn user_enable_single_step(task: &Task, frame: &mut TrapFrame) {
    arch::debug_monitors::user_enable_single_step(task.debug(), frame);
}

/// Stops single-stepping `task` (Linux: `user_disable_single_step`) and clears SPSR.SS in its
/// saved registers, as Linux's register writes do for a task that is not stepped.
pub fn user_disable_single_step(task: &Task, frame: &mut TrapFrame) {
    arch::debug_monitors::user_disable_single_step(task.debug());
    frame.pstate &= !arch::exception::DBG_SPSR_SS;
}

/// Whether `task` is single-stepped (Linux: `test_tsk_thread_flag(task, TIF_SINGLESTEP)`).
pub fn user_single_step(task: &Task) -> bool {
    task.debug().single_step()
}

/// After a tracer wrote `task`'s registers (`NT_PRSTATUS`), SPSR.SS follows the step flag
/// whatever the tracer wrote (Linux: `valid_user_regs`' `user_regs_reset_single_step`), so a
/// stepped task steps one instruction from the written state.
pub fn user_regs_reset_single_step(task: &Task, frame: &mut TrapFrame) {
    if task.debug().single_step() {
        frame.pstate |= arch::exception::DBG_SPSR_SS;
    } else {
        frame.pstate &= !arch::exception::DBG_SPSR_SS;
    }
}

/// Arms a stepped task's next step after a stop reported as a step without the hardware's
/// exception (Linux's pseudo-step at syscall exit, `user_rewind_single_step`): the next
/// instruction runs before the next trap.
pub fn user_rewind_single_step(task: &Task, frame: &mut TrapFrame) {
    arch::debug_monitors::user_rewind_single_step(task.debug(), frame);
}

/// Makes a stepped task trap before its next instruction, the kernel having completed one for
/// it (Linux: `user_fastforward_single_step`).
pub fn user_fastforward_single_step(task: &Task, frame: &mut TrapFrame) {
    arch::debug_monitors::user_fastforward_single_step(task.debug(), frame);
}

fn regset_errno(err: HwDebugError) -> Errno {
    match err {
        HwDebugError::Invalid => Errno::EINVAL,
        HwDebugError::NoSpace => Errno::ENOSPC,
        HwDebugError::NoMemory => Errno::ENOMEM,
    }
}

/// `PTRACE_GETREGSET` of `NT_ARM_HW_BREAK` (`watch` false) or `NT_ARM_HW_WATCH`: `struct
/// user_hwdebug_state` into `out` (cut to its length), the bytes written. `EINVAL` when
/// `out`'s length is not a multiple of 4.
pub fn hw_break_regset_get(task: &Task, watch: bool, out: &mut [u8]) -> Result<usize, Errno> {
    task.debug().regset_get(watch, out).map_err(regset_errno)
}

/// `PTRACE_SETREGSET` of `NT_ARM_HW_BREAK`/`NT_ARM_HW_WATCH` from `data`, the bytes taken.
/// `EINVAL` for a malformed slot (wrong type, holey BAS, unaligned breakpoint, watched bytes
/// across a doubleword, an address outside user space) or a length not a multiple of 4,
/// `ENOSPC` for a slot the CPU lacks, `ENOMEM` when the task's first slots cannot be
/// allocated; nothing changes then. Applies at the next return to EL0.
pub fn hw_break_regset_set(task: &Task, watch: bool, data: &[u8]) -> Result<usize, Errno> {
    task.debug().regset_set(watch, data).map_err(regset_errno)
}

/// Drops `task`'s breakpoints and watchpoints (Linux: `flush_ptrace_hw_breakpoint`, at
/// `execve` and when the tracer detaches).
pub fn flush_ptrace_hw_breakpoint(task: &Task) {
    task.debug().flush_hw();
}

/// After a debug exception from EL0 raised its SIGTRAP: a stepped task's next step is armed
/// (Linux: `single_step_handler`'s `user_rewind_single_step`), so a tracer that steps again
/// gets the next instruction, not the same trap.
pub(super) fn el0_debug_exception(task: &Task, esr: Esr, frame: &mut TrapFrame) {
    if esr.ec() == esr::ESR_ELx_EC_SOFTSTP_LOW {
        user_rewind_single_step(task, frame);
    }
}
