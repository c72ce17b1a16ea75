//! Per-task EL0 debug state (the arch half of ptrace): a single-stepped task runs exactly one
//! instruction and dies by SIGTRAP `TRAP_TRACE` at the next pc; MDSCR_EL1.SS is never left on
//! for the kernel or another task (another task's state, or another real task on the same CPU
//! while the stepped one sleeps in a syscall); a stepped task's syscall (one that sleeps, with interrupts
//! and a reschedule inside) runs without kernel step exceptions and the step completes after
//! it; a hardware breakpoint stops a user function at its first instruction with
//! `TRAP_HWBKPT`; a watchpoint stops the store to a user global with `si_addr` = the global,
//! and the store runs once the tracer steps over it; a task without slots is not hit by the
//! slots another task left in the registers.
//!
//! The tests run hand-assembled programs on the test task itself, as `uspace.rs` does: the
//! lower-level ones through [`enter_user_debug`] to see the exception and registers, the
//! others through the real run loop ([`crate::process::run_here`]) to see the wait status.

use alloc::string::String;
use alloc::vec::Vec;

use aarch64_cpu::registers::{MDSCR_EL1, Readable};
use arch::daifflags::{DAIF_PROCCTX, local_daif_restore};
use arch::esr;
use arch::exception::{DBG_SPSR_SS, TrapFrame};
use arch::hw_breakpoint::{
    AARCH64_BREAKPOINT_EL0, ARM_BREAKPOINT_EXECUTE, ARM_BREAKPOINT_STORE, ArchHwBreakpointCtrl,
    TaskDebug, encode_ctrl_reg,
};
use arch::uspace::{UserExit, enter_user_debug, handle_user_irq};

use super::uspace::{CODE, DATA, STR_X2_X1, SVC_0, expect_fault, install, program};
use crate::process::debug::{
    flush_ptrace_hw_breakpoint, hw_break_regset_get, hw_break_regset_set, user_disable_single_step,
    user_enable_single_step, user_regs_reset_single_step,
};
use crate::process::mm::Mm;
use crate::sched::current_task;
use crate::signal::{
    KSigInfo, SIGTRAP, SigFields, TRAP_HWBKPT, TRAP_TRACE, WaitStatus, fault_siginfo,
};
use crate::{kassert, kassert_eq, ktest};

/// The user global the watchpoint tests watch.
const GLOBAL: u64 = DATA + 8;

/// `mov x0, #imm` (MOVZ).
const fn mov_x0(imm: u32) -> u32 {
    0xd280_0000 | (imm << 5)
}
/// `mov x3, #1`.
const MOV_X3_1: u32 = 0xd280_0023;
/// `bl .+8`.
const BL_PLUS_8: u32 = 0x9400_0002;
/// `ret`.
const RET: u32 = 0xd65f_03c0;

/// A user frame starting at CODE with `regs`.
fn user_frame(regs: [u64; 31]) -> TrapFrame {
    TrapFrame {
        regs,
        sp: DATA + 4096,
        pc: CODE,
        pstate: arch::uspace::USER_PSTATE,
        ..TrapFrame::default()
    }
}

/// Runs the test task's user frame (as set up by the caller) at EL0 with `debug`'s state
/// until something other than an IRQ brings it back; returns why and whether MDSCR_EL1.SS
/// and .MDE were clear on every return to the kernel.
fn run_debug(mm: &Mm, debug: &TaskDebug) -> (UserExit, TrapFrame, bool) {
    let task = current_task();
    // SAFETY: our own task's user frame, at the top of our stack; nothing else uses it.
    let frame = unsafe { &mut *task.pt_regs().expect("the test task has a stack") };
    install(mm.context());
    let mut clean = true;
    let exit = loop {
        arch::irqflags::local_irq_disable();
        // SAFETY: the frame is ours, made for EL0t; `mm` is installed; IRQs are masked.
        let exit = unsafe { enter_user_debug(frame, core::ptr::null_mut(), debug) };
        clean &= !MDSCR_EL1.is_set(MDSCR_EL1::SS) && !MDSCR_EL1.is_set(MDSCR_EL1::MDE);
        if exit == UserExit::Irq {
            handle_user_irq(frame);
            local_daif_restore(DAIF_PROCCTX);
            continue;
        }
        local_daif_restore(DAIF_PROCCTX);
        break exit;
    };
    let frame = frame.clone();
    install(core::ptr::null());
    (exit, frame, clean)
}

/// The user global's value in `mm`.
fn read_global(mm: &Mm) -> Result<u64, crate::fs::Errno> {
    let mut back = [0u8; 8];
    install(mm.context());
    let read = crate::uaccess::copy_from_user(&mut back, GLOBAL);
    install(core::ptr::null());
    read.map(|()| u64::from_le_bytes(back))
}

/// Sets the test task's user frame.
fn set_frame(frame: TrapFrame) {
    // SAFETY: our own task's user frame; nothing else uses it.
    unsafe { *current_task().pt_regs().expect("the test task has a stack") = frame };
}

/// The test task's user frame as the last run left it.
fn last_frame() -> TrapFrame {
    // SAFETY: our own task's user frame; nothing else uses it.
    unsafe { (*current_task().pt_regs().expect("the test task has a stack")).clone() }
}

/// Leaves the test task without step or slots, however the test ends.
struct DebugReset;

impl Drop for DebugReset {
    fn drop(&mut self) {
        let task = current_task();
        let mut frame = TrapFrame::default();
        user_disable_single_step(&task, &mut frame);
        flush_ptrace_hw_breakpoint(&task);
    }
}

fn sigtrap(code: i32, addr: u64) -> KSigInfo {
    KSigInfo {
        signo: SIGTRAP,
        code,
        fields: SigFields::Fault { addr },
    }
}

/// `struct user_hwdebug_state` with one enabled slot.
fn one_slot(addr: u64, type_: u32, bas: u32) -> [u8; 24] {
    let ctrl = encode_ctrl_reg(ArchHwBreakpointCtrl {
        len: bas,
        type_,
        privilege: AARCH64_BREAKPOINT_EL0,
        enabled: true,
    });
    let mut out = [0u8; 24];
    out[8..16].copy_from_slice(&addr.to_le_bytes());
    out[16..20].copy_from_slice(&ctrl.to_le_bytes());
    out
}

/// Whether `status` is a death by SIGTRAP.
fn killed_by_sigtrap(status: WaitStatus) -> bool {
    status.if_signaled() && status.0 & 0x7f == SIGTRAP
}

ktest! {
fn single_step_runs_one_instruction_then_traps() -> TestResult {
    let _reset = DebugReset;
    let task = current_task();
    let mm = program(&[mov_x0(1), mov_x0(2), mov_x0(3), SVC_0], 0)?;
    let mut frame = user_frame([0; 31]);
    user_enable_single_step(&task, &mut frame);
    kassert!(frame.pstate & DBG_SPSR_SS != 0, "SPSR.SS not set");
    set_frame(frame);
    let (exit, frame, clean) = run_debug(&mm, task.debug());
    let e = expect_fault(exit, esr::ESR_ELx_EC_SOFTSTP_LOW)?;
    kassert!(clean, "MDSCR_EL1.SS or .MDE left set in the kernel");
    kassert_eq!((frame.regs[0], frame.pc), (1, CODE + 4));
    // Linux's siginfo: SIGTRAP, TRAP_TRACE, si_addr = the pc to run next.
    kassert_eq!(fault_siginfo(e, frame.far, frame.pc), sigtrap(TRAP_TRACE, CODE + 4));
    // The run loop re-arms the step (as Linux's rewind): the next run steps the next one.
    let mut frame = frame;
    arch::debug_monitors::user_rewind_single_step(task.debug(), &mut frame);
    set_frame(frame);
    let (exit, frame, _) = run_debug(&mm, task.debug());
    expect_fault(exit, esr::ESR_ELx_EC_SOFTSTP_LOW)?;
    kassert_eq!((frame.regs[0], frame.pc), (2, CODE + 8));

    // Through the run loop, with no tracer: SIGTRAP's default action ends the process
    // after exactly the first instruction. (A task already stepped keeps its SPSR.SS, as
    // on Linux: a new frame needs the flag cleared first.)
    let mut initial = user_frame([0; 31]);
    user_disable_single_step(&task, &mut initial);
    user_enable_single_step(&task, &mut initial);
    let (status, regs) = crate::process::run_here(program(&[mov_x0(1), mov_x0(2), SVC_0], 0)?, initial)
        .map_err(|e| alloc::format!("run_here: {e}"))?;
    kassert!(killed_by_sigtrap(status), "status {:#x}", status.0);
    kassert_eq!((regs[0], last_frame().pc), (1, CODE + 4));
    Ok(())
}
}

ktest! {
fn single_step_stays_with_its_task() -> TestResult {
    let _reset = DebugReset;
    let task = current_task();
    let mm = program(&[mov_x0(1), mov_x0(2), mov_x0(3), SVC_0], 0)?;
    let mut frame = user_frame([0; 31]);
    user_enable_single_step(&task, &mut frame);
    set_frame(frame);
    let (exit, _, clean) = run_debug(&mm, task.debug());
    expect_fault(exit, esr::ESR_ELx_EC_SOFTSTP_LOW)?;
    kassert!(clean, "MDSCR_EL1 debug bits left set in the kernel");
    // Another task's state on the same CPU (no step): it runs to its `svc`, even with SPSR.SS
    // set in its frame, since MDSCR_EL1.SS is off.
    let other = TaskDebug::new();
    let mut frame = user_frame([0; 31]);
    frame.pstate |= DBG_SPSR_SS;
    set_frame(frame);
    let (exit, frame, clean) = run_debug(&mm, &other);
    kassert_eq!(exit, UserExit::Syscall);
    kassert!(clean);
    kassert_eq!((frame.regs[0], frame.pc), (3, CODE + 16));
    // A tracer's register write cannot take SPSR.SS away from a stepped task, nor give it to
    // one that is not (Linux: `user_regs_reset_single_step`).
    let mut written = user_frame([0; 31]);
    user_regs_reset_single_step(&task, &mut written);
    kassert!(written.pstate & DBG_SPSR_SS != 0, "stepped task lost SPSR.SS");
    // And a disabled step is gone for the task itself.
    let mut frame = user_frame([0; 31]);
    user_disable_single_step(&task, &mut frame);
    kassert_eq!(frame.pstate & DBG_SPSR_SS, 0);
    let mut written = user_frame([0; 31]);
    written.pstate |= DBG_SPSR_SS;
    user_regs_reset_single_step(&task, &mut written);
    kassert_eq!(written.pstate & DBG_SPSR_SS, 0);
    set_frame(frame);
    let (exit, _, _) = run_debug(&mm, task.debug());
    kassert_eq!(exit, UserExit::Syscall);
    Ok(())
}
}

ktest! {
fn stepped_syscall_completes_without_kernel_steps() -> TestResult {
    let _reset = DebugReset;
    let task = current_task();
    // nanosleep(&{0, 2 ms}, NULL): it sleeps, so timer interrupts, a reschedule and the
    // wake-up all happen inside the stepped task's syscall. A step exception taken in the
    // kernel would be an unclaimed EL1 step: a crash, not a test failure.
    let mm = program(&[SVC_0, MOV_X3_1, SVC_0], 0)?;
    let timespec: [u64; 2] = [0, 2_000_000];
    let bytes: Vec<u8> = timespec.iter().flat_map(|v| v.to_le_bytes()).collect();
    mm.write(DATA, &bytes)
        .map_err(|e| alloc::format!("write timespec: {e}"))?;
    let mut regs = [0; 31];
    regs[0] = DATA;
    regs[8] = crate::syscall::__NR_NANOSLEEP;
    let mut initial = user_frame(regs);
    user_enable_single_step(&task, &mut initial);
    let (status, regs) =
        crate::process::run_here(mm, initial).map_err(|e| alloc::format!("run_here: {e}"))?;
    // The `svc` is the stepped instruction: the syscall returned 0, and the step trap comes
    // right after it, before `mov x3, #1` (the hardware completes a stepped SVC).
    kassert!(killed_by_sigtrap(status), "status {:#x}", status.0);
    kassert_eq!((regs[0], regs[3]), (0, 0));
    kassert_eq!(last_frame().pc, CODE + 4);
    Ok(())
}
}

ktest! {
fn hw_breakpoint_stops_a_user_function() -> TestResult {
    let _reset = DebugReset;
    let task = current_task();
    // main: bl func; svc.  func: mov x0, #7; ret.
    let func = CODE + 8;
    let mm = program(&[BL_PLUS_8, SVC_0, mov_x0(7), RET], 0)?;
    let slot = one_slot(func, ARM_BREAKPOINT_EXECUTE, 0xf);
    kassert_eq!(hw_break_regset_set(&task, false, &slot), Ok(slot.len()));
    let mut back = [0u8; 24];
    kassert_eq!(hw_break_regset_get(&task, false, &mut back), Ok(24));
    kassert_eq!(&back[8..], &slot[8..]);
    kassert!(back[0] >= 2, "{} breakpoints", back[0]);
    set_frame(user_frame([0; 31]));
    let (exit, frame, clean) = run_debug(&mm, task.debug());
    let e = expect_fault(exit, esr::ESR_ELx_EC_BREAKPT_LOW)?;
    kassert!(clean, "MDSCR_EL1 debug bits left set in the kernel");
    // Stopped before the function's first instruction ran.
    kassert_eq!((frame.pc, frame.regs[0], frame.regs[30]), (func, 0, CODE + 4));
    kassert_eq!(fault_siginfo(e, frame.far, frame.pc), sigtrap(TRAP_HWBKPT, func));

    // A task without slots on the same CPU runs through: the registers still hold the
    // breakpoint, but MDSCR_EL1.MDE is off for it.
    set_frame(user_frame([0; 31]));
    let (exit, frame, _) = run_debug(&mm, &TaskDebug::new());
    kassert_eq!(exit, UserExit::Syscall);
    kassert_eq!(frame.regs[0], 7);

    // Through the run loop: SIGTRAP ends the process at the breakpoint.
    let (status, regs) = crate::process::run_here(
        program(&[BL_PLUS_8, SVC_0, mov_x0(7), RET], 0)?,
        user_frame([0; 31]),
    )
    .map_err(|e| alloc::format!("run_here: {e}"))?;
    kassert!(killed_by_sigtrap(status), "status {:#x}", status.0);
    kassert_eq!((regs[0], last_frame().pc), (0, func));
    Ok(())
}
}

ktest! {
fn watchpoint_stops_a_store_to_a_user_global() -> TestResult {
    let _reset = DebugReset;
    let task = current_task();
    let mm = program(&[mov_x0(1), STR_X2_X1, mov_x0(2), SVC_0], 0)?;
    // Watch the eight bytes of GLOBAL for stores, as gdb writes it: the doubleword and BAS.
    let slot = one_slot(GLOBAL, ARM_BREAKPOINT_STORE, 0xff);
    kassert_eq!(hw_break_regset_set(&task, true, &slot), Ok(slot.len()));
    let mut regs = [0; 31];
    regs[1] = GLOBAL;
    regs[2] = 0xfeed;
    set_frame(user_frame(regs));
    let (exit, frame, clean) = run_debug(&mm, task.debug());
    let e = expect_fault(exit, esr::ESR_ELx_EC_WATCHPT_LOW)?;
    kassert!(clean, "MDSCR_EL1 debug bits left set in the kernel");
    // Stopped on the store, which has not happened; si_addr is the data address.
    kassert_eq!((frame.pc, frame.regs[0], frame.far), (CODE + 4, 1, GLOBAL));
    kassert_eq!(fault_siginfo(e, frame.far, frame.pc), sigtrap(TRAP_HWBKPT, GLOBAL));
    kassert_eq!(read_global(&mm), Ok(0));

    // A tracer's step over it (gdb's way on arm64): disable the slot, single-step, enable it,
    // continue. The store runs once and the task goes on to its `svc`.
    let off = [0u8; 24];
    kassert_eq!(hw_break_regset_set(&task, true, &off), Ok(off.len()));
    let mut frame = frame;
    user_enable_single_step(&task, &mut frame);
    set_frame(frame);
    let (exit, frame, _) = run_debug(&mm, task.debug());
    expect_fault(exit, esr::ESR_ELx_EC_SOFTSTP_LOW)?;
    kassert_eq!(frame.pc, CODE + 8);
    kassert_eq!(read_global(&mm), Ok(0xfeed));
    kassert_eq!(hw_break_regset_set(&task, true, &slot), Ok(slot.len()));
    let mut frame = frame;
    user_disable_single_step(&task, &mut frame);
    set_frame(frame);
    let (exit, frame, _) = run_debug(&mm, task.debug());
    kassert_eq!(exit, UserExit::Syscall);
    kassert_eq!(frame.regs[0], 2);

    // A task without slots stores to the same address undisturbed.
    set_frame(user_frame(regs));
    let (exit, _, _) = run_debug(&mm, &TaskDebug::new());
    kassert_eq!(exit, UserExit::Syscall);

    // Bad slots are refused: a kernel address, an execute watchpoint, a slot past the CPU's.
    let kernel = one_slot(0xffff_0000_0000_0000, ARM_BREAKPOINT_STORE, 0xff);
    kassert_eq!(hw_break_regset_set(&task, true, &kernel), Err(crate::fs::Errno::EINVAL));
    let exec = one_slot(GLOBAL, ARM_BREAKPOINT_EXECUTE, 0xff);
    kassert_eq!(hw_break_regset_set(&task, true, &exec), Err(crate::fs::Errno::EINVAL));
    let all = [0u8; arch::hw_breakpoint::USER_HWDEBUG_STATE_SIZE];
    kassert_eq!(hw_break_regset_set(&task, true, &all), Err(crate::fs::Errno::ENOSPC));
    Ok(())
}
}

type RunResult = Result<(WaitStatus, [u64; 31]), crate::fs::Errno>;

/// A task started by [`spawn_user`] and where its result lands.
struct UserTask {
    task: alloc::sync::Arc<crate::sched::Task>,
    result: alloc::sync::Arc<spin::Mutex<Option<RunResult>>>,
}

/// Runs `mm` from `initial` through the run loop in a new task on `cpu`, single-stepped or
/// not.
fn spawn_user(cpu: usize, mm: Mm, mut initial: TrapFrame, step: bool) -> Result<UserTask, String> {
    let result = alloc::sync::Arc::new(spin::Mutex::new(None));
    let out = result.clone();
    let task = crate::sched::spawn("debugged", Some(cpu), false, move || {
        let task = current_task();
        if step {
            user_enable_single_step(&task, &mut initial);
        }
        *out.lock() = Some(crate::process::run_here(mm, initial));
    })
    .map_err(|e| alloc::format!("spawn on CPU{cpu}: {e:?}"))?;
    Ok(UserTask { task, result })
}

/// Waits for a [`spawn_user`] task: its wait status and final x0-x30.
fn join_user(user: &UserTask) -> Result<(WaitStatus, [u64; 31]), String> {
    crate::sched::join(&user.task).map_err(|_| "join interrupted")?;
    let result = user.result.lock().take().ok_or("the task left no result")?;
    result.map_err(|e| alloc::format!("run_here: {e}"))
}

ktest! {
fn a_stepped_task_sleeping_leaves_other_tasks_unstepped() -> TestResult {
    let cpu = crate::smp::num_online_cpus() - 1;
    // The stepped task: nanosleep(20 ms) as its first, stepped, instruction.
    let stepped = program(&[SVC_0, MOV_X3_1, SVC_0], 0)?;
    let timespec: [u64; 2] = [0, 20_000_000];
    let bytes: Vec<u8> = timespec.iter().flat_map(|v| v.to_le_bytes()).collect();
    stepped
        .write(DATA, &bytes)
        .map_err(|e| alloc::format!("write timespec: {e}"))?;
    let mut regs = [0; 31];
    regs[0] = DATA;
    regs[8] = crate::syscall::__NR_NANOSLEEP;
    let a = spawn_user(cpu, stepped, user_frame(regs), true)?;
    // Meanwhile, on the same CPU, a task that is not stepped counts x4 down from 200000 and
    // exits: it would die by SIGTRAP after one instruction if MDSCR_EL1.SS leaked to it.
    let plain = program(&[0xf100_0484, 0x54ff_ffe1, SVC_0], 0)?; // subs x4, x4, #1; b.ne .-4
    let mut regs = [0; 31];
    regs[4] = 200_000;
    regs[8] = crate::syscall::__NR_EXIT;
    let b = spawn_user(cpu, plain, user_frame(regs), false)?;
    let (status_b, regs_b) = join_user(&b)?;
    let (status_a, regs_a) = join_user(&a)?;
    kassert_eq!(status_b, WaitStatus::exited(0));
    kassert_eq!(regs_b[4], 0);
    kassert!(killed_by_sigtrap(status_a), "status {:#x}", status_a.0);
    kassert_eq!((regs_a[0], regs_a[3]), (0, 0));
    Ok(())
}
}
