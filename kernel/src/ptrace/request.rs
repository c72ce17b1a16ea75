//! The tracer's side: `ptrace(request, pid, addr, data)` (Linux: `sys_ptrace`,
//! `ptrace_traceme`, `ptrace_attach`, `ptrace_check_attach`, `ptrace_request`, `ptrace_resume`,
//! `ptrace_detach`, and arm64's `arch_ptrace`, which has no `PEEKUSR`/`POKEUSR` area).
//!
//! Every request but `TRACEME`, `ATTACH` and `SEIZE` needs the caller to be the tracer of
//! `pid` and the tracee to sleep in a ptrace stop (`ESRCH` otherwise); `KILL` and `INTERRUPT`
//! only need the caller to be its tracer. A request reads and writes the registers the tracee
//! saved when it stopped ([`super::Ptrace::regs`], under its signal lock, which the tracee
//! takes again before it runs) and its memory through its page tables
//! ([`access_process_vm`]): `EIO` for an address the tracee has not mapped (a kernel address
//! included), `EFAULT` for a bad pointer of the tracer's own.

use alloc::sync::Arc;

use arch::exception::TrapFrame;

use super::regset::{
    self, NT_ARM_HW_BREAK, NT_ARM_HW_WATCH, NT_ARM_TLS, NT_PRFPREG, NT_PRSTATUS, USER_FPSIMD_SIZE,
};
use super::{
    PTRACE_ATTACH, PTRACE_CONT, PTRACE_DETACH, PTRACE_GET_SYSCALL_INFO, PTRACE_GETEVENTMSG,
    PTRACE_GETREGSET, PTRACE_GETSIGINFO, PTRACE_INTERRUPT, PTRACE_KILL, PTRACE_LISTEN,
    PTRACE_O_MASK, PTRACE_PEEKDATA, PTRACE_PEEKTEXT, PTRACE_PEEKUSR, PTRACE_POKEDATA,
    PTRACE_POKETEXT, PTRACE_POKEUSR, PTRACE_SEIZE, PTRACE_SETOPTIONS, PTRACE_SETREGSET,
    PTRACE_SETSIGINFO, PTRACE_SINGLESTEP, PTRACE_SYSCALL, PTRACE_TRACEME, check_options,
    is_event_stop,
};
use crate::fs::Errno;
use crate::process::mm::access_process_vm;
use crate::process::{self, ProcShared, Process, debug, signal as psignal};
use crate::sched::{self, Pid, TaskState};
use crate::signal::{_NSIG, KSigInfo, SI_KERNEL, SI_MAX_SIZE, SI_USER, SIGKILL, SIGSTOP};
use crate::syscall::SysResult;
use crate::uaccess::{copy_from_user, copy_to_user};

/// `ptrace(request, pid, addr, data)`.
pub fn sys_ptrace(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [request, pid, addr, data] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    if request == PTRACE_TRACEME {
        return traceme(process).map(|()| 0);
    }
    // `pid_t`: the low 32 bits, signed.
    let pid = pid as i32;
    if request == PTRACE_ATTACH || request == PTRACE_SEIZE {
        return attach(process, pid, request == PTRACE_SEIZE, addr, data).map(|()| 0);
    }
    let ignore_state = request == PTRACE_KILL || request == PTRACE_INTERRUPT;
    let tracee = check_attach(process.pid(), pid, ignore_state)?;
    let pid = tracee.pid();
    match request {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => peek(&tracee, addr, data),
        PTRACE_POKETEXT | PTRACE_POKEDATA => poke(&tracee, addr, data),
        PTRACE_CONT | PTRACE_SYSCALL | PTRACE_SINGLESTEP => resume(&tracee, request, data),
        PTRACE_KILL => {
            psignal::send_signal(pid, SIGKILL, SI_USER, process.pid())?;
            Ok(0)
        }
        PTRACE_DETACH => detach(&tracee, data),
        PTRACE_SETOPTIONS => {
            let options = check_options(data)?;
            let mut hand = tracee.sighand().lock();
            still_stopped(&hand.ptrace)?;
            hand.ptrace.options = options;
            Ok(0)
        }
        PTRACE_GETEVENTMSG => {
            let message = tracee.sighand().lock().ptrace.message;
            copy_to_user(data, &message.to_le_bytes())?;
            Ok(0)
        }
        PTRACE_GETSIGINFO => {
            let info = tracee.sighand().lock().ptrace.last_siginfo;
            copy_to_user(data, &info.ok_or(Errno::EINVAL)?.to_user())?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let mut bytes = [0u8; SI_MAX_SIZE];
            copy_from_user(&mut bytes, data)?;
            let mut hand = tracee.sighand().lock();
            still_stopped(&hand.ptrace)?;
            let info = hand.ptrace.last_siginfo.as_mut().ok_or(Errno::EINVAL)?;
            *info = KSigInfo::from_user(&bytes);
            Ok(0)
        }
        PTRACE_GETREGSET | PTRACE_SETREGSET => {
            regset_request(&tracee, request == PTRACE_SETREGSET, addr, data)
        }
        PTRACE_GET_SYSCALL_INFO => {
            let (info, size) = {
                let hand = tracee.sighand().lock();
                let pt = &hand.ptrace;
                super::syscall_info(&pt.regs, pt.last_siginfo.map(|i| i.code), pt.message)
            };
            copy_to_user(data, &info[..size.min(addr as usize)])?;
            Ok(size as u64)
        }
        PTRACE_INTERRUPT => interrupt(&tracee),
        PTRACE_LISTEN => listen(&tracee),
        // arm64 has no `struct user` area to peek or poke.
        PTRACE_PEEKUSR | PTRACE_POKEUSR => Err(Errno::EIO),
        _ => Err(Errno::EIO),
    }
}

/// `PTRACE_TRACEME`: the caller's parent becomes its tracer. `EPERM` if it is traced already,
/// and (unlike Linux, whose every parent can wait) when the parent is not a live user
/// process: the console shell and kernel tasks never trace.
fn traceme(process: &Process) -> Result<(), Errno> {
    let parent = process.ppid();
    // Linked under the process table's lock, the parent alive: it cannot exit unnoticed.
    process::with_live(parent, || {
        let mut hand = process.shared().sighand().lock();
        if hand.ptrace.traced() {
            return Err(Errno::EPERM);
        }
        hand.ptrace.tracer = parent;
        hand.ptrace.seized = false;
        hand.ptrace.options = 0;
        Ok(())
    })
    .unwrap_or(Err(Errno::EPERM))
}

/// `PTRACE_ATTACH` (sends SIGSTOP) and `PTRACE_SEIZE` (options in `data`, `addr` 0, nothing
/// sent) of process `pid` (Linux: `ptrace_attach`). `ESRCH` for no such pid; `EPERM` for the
/// caller itself, a kernel task (pid 1, the console shell, among them), a process that has
/// exited, or one traced already; `SEIZE`'s unknown option bits are `EIO`, as Linux has it.
fn attach(process: &Process, pid: i32, seize: bool, addr: u64, data: u64) -> Result<(), Errno> {
    let options = if seize {
        if addr != 0 || data & !PTRACE_O_MASK != 0 {
            return Err(Errno::EIO);
        }
        check_options(data)?
    } else {
        0
    };
    let pid = Pid::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .ok_or(Errno::ESRCH)?;
    let Some(tracee) = process::find_shared(pid) else {
        return Err(if sched::find_task_by_pid(pid).is_some() {
            Errno::EPERM
        } else {
            Errno::ESRCH
        });
    };
    let me = process.pid();
    if pid == me || tracee.exit_status().is_some() {
        return Err(Errno::EPERM);
    }
    let task = sched::find_task_by_pid(pid).ok_or(Errno::EPERM)?;
    // Linked under the process table's lock with the tracee alive, so that an exit racing
    // the attach is either seen here (EPERM) or sees the link.
    let trapped = process::with_live(pid, || {
        let mut hand = tracee.sighand().lock();
        if hand.ptrace.traced() {
            return Err(Errno::EPERM);
        }
        let pt = &mut hand.ptrace;
        pt.tracer = me;
        pt.seized = seize;
        pt.options = options;
        // Already stopped by a stop signal: it turns its group stop into a ptrace stop, so
        // the tracer's `wait4` sees it (Linux: `JOBCTL_TRAP_STOP | JOBCTL_TRAPPING`).
        let stopped = hand.jobctl.stopped();
        hand.ptrace.trap_stop = stopped;
        Ok(stopped)
    })
    .unwrap_or(Err(Errno::EPERM))?;
    if !seize {
        psignal::send_signal(pid, SIGSTOP, SI_KERNEL, 0)?;
    }
    if trapped {
        sched::wake_up_state(&task, TaskState::Stopped);
    }
    Ok(())
}

/// `ESRCH` unless the tracee whose ptrace state is `pt` is still stopped for its tracer
/// (not listening): checked again under the lock that applies a change, since a SIGKILL can
/// end the stop after [`check_attach`] (Linux holds `siglock` across both).
fn still_stopped(pt: &super::Ptrace) -> Result<(), Errno> {
    if pt.stopped && !pt.listening {
        Ok(())
    } else {
        Err(Errno::ESRCH)
    }
}

/// The process `pid` if the caller `me` traces it and (unless `ignore_state`) it sleeps in a
/// ptrace stop, not listening (Linux: `ptrace_check_attach`); `ESRCH` otherwise.
fn check_attach(me: Pid, pid: i32, ignore_state: bool) -> Result<Arc<ProcShared>, Errno> {
    let pid = Pid::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .ok_or(Errno::ESRCH)?;
    let tracee = process::find_shared(pid).ok_or(Errno::ESRCH)?;
    let hand = tracee.sighand().lock();
    let pt = &hand.ptrace;
    if pt.tracer != me || !ignore_state && (!pt.stopped || pt.listening) {
        return Err(Errno::ESRCH);
    }
    drop(hand);
    Ok(tracee)
}

/// `PEEKTEXT`/`PEEKDATA`: the tracee's word at `addr`, stored at the tracer's `data` (the
/// raw syscall's way; glibc's wrapper returns it).
fn peek(tracee: &ProcShared, addr: u64, data: u64) -> SysResult {
    let mm = tracee.mm().ok_or(Errno::EIO)?;
    let mut word = [0u8; 8];
    if access_process_vm(&mm, addr, &mut word, false) != word.len() {
        return Err(Errno::EIO);
    }
    copy_to_user(data, &word)?;
    Ok(0)
}

/// `POKETEXT`/`POKEDATA`: `data` as the tracee's word at `addr`, read-only text included.
fn poke(tracee: &ProcShared, addr: u64, data: u64) -> SysResult {
    let mm = tracee.mm().ok_or(Errno::EIO)?;
    let mut word = data.to_le_bytes();
    if access_process_vm(&mm, addr, &mut word, true) != word.len() {
        return Err(Errno::EIO);
    }
    Ok(0)
}

/// Wakes the tracee from its ptrace stop (or a group stop it should leave).
fn wake(tracee: &ProcShared) {
    if let Some(task) = sched::find_task_by_pid(tracee.pid()) {
        sched::wake_up_state(&task, TaskState::Stopped);
    }
}

/// `CONT`, `SYSCALL` (stop at the next syscall entry and exit) and `SINGLESTEP` (one
/// instruction, then SIGTRAP `TRAP_TRACE`: [`debug::user_enable_single_step`]): resumes the
/// tracee with signal `data` (0: none) (Linux: `ptrace_resume`). `EIO` for a bad signal.
fn resume(tracee: &ProcShared, request: u64, data: u64) -> SysResult {
    if data > u64::from(_NSIG) {
        return Err(Errno::EIO);
    }
    let task = sched::find_task_by_pid(tracee.pid()).ok_or(Errno::ESRCH)?;
    {
        let mut hand = tracee.sighand().lock();
        let pt = &mut hand.ptrace;
        still_stopped(pt)?;
        // The step state is the task's; SPSR.SS goes in the registers it takes back.
        if request == PTRACE_SINGLESTEP {
            debug::user_enable_single_step(&task, &mut pt.regs.frame);
        } else {
            debug::user_disable_single_step(&task, &mut pt.regs.frame);
        }
        pt.syscall_trace = request == PTRACE_SYSCALL;
        pt.exit_code = data as u32;
        pt.stopped = false;
    }
    wake(tracee);
    Ok(0)
}

/// `PTRACE_DETACH`: the tracee goes free, resumed with signal `data`, no longer stepped
/// (Linux: `ptrace_detach`).
fn detach(tracee: &ProcShared, data: u64) -> SysResult {
    if data > u64::from(_NSIG) {
        return Err(Errno::EIO);
    }
    let task = sched::find_task_by_pid(tracee.pid()).ok_or(Errno::ESRCH)?;
    let mut hand = tracee.sighand().lock();
    still_stopped(&hand.ptrace)?;
    // Linux's arm64 `ptrace_disable`: no more stepping. Hardware breakpoints stay, as on Linux
    // (which tried flushing them at detach and reverted it).
    debug::user_disable_single_step(&task, &mut hand.ptrace.regs.frame);
    hand.ptrace.unlink(data as u32);
    drop(hand);
    wake(tracee);
    Ok(0)
}

/// `PTRACE_INTERRUPT` (seized tracees only, `EIO` otherwise): the tracee traps into a
/// group-stop report on its next way back to user space through the run loop (a running one
/// at its next interrupt); a listening one reports again. A tracee asleep in a syscall wakes
/// as for a signal ([`sched::Task::set_ptrace_trap`]): the syscall returns its restart code,
/// the trap is taken, and the syscall restarts once the tracee is continued.
fn interrupt(tracee: &ProcShared) -> SysResult {
    let task = sched::find_task_by_pid(tracee.pid());
    let listening = {
        let mut hand = tracee.sighand().lock();
        let pt = &mut hand.ptrace;
        if !pt.seized {
            return Err(Errno::EIO);
        }
        pt.trap_stop = true;
        let listening = pt.listening;
        if listening {
            pt.listening = false;
            pt.stopped = false;
        } else if let Some(task) = &task {
            // Asleep in a syscall, the sleep ends as for a signal: the trap is taken on the
            // way out and the syscall restarts after it (Linux: `signal_wake_up` for
            // PTRACE_INTERRUPT). Set under the lock `trap_pending` clears it under.
            task.set_ptrace_trap(true);
        }
        listening
    };
    if listening {
        wake(tracee);
    } else if let Some(task) = &task {
        sched::wake_up_state(task, TaskState::Interruptible);
    }
    Ok(0)
}

/// `PTRACE_LISTEN` (seized tracees in a `PTRACE_EVENT_STOP` only, `EIO` otherwise): the
/// tracee stays stopped (other requests get `ESRCH`), but the end of its group stop
/// (SIGCONT) makes it report again.
fn listen(tracee: &ProcShared) -> SysResult {
    {
        let mut hand = tracee.sighand().lock();
        let pt = &mut hand.ptrace;
        still_stopped(pt)?;
        let in_event_stop = pt.last_siginfo.is_some_and(|i| is_event_stop(i.code));
        if !pt.seized || !in_event_stop {
            return Err(Errno::EIO);
        }
        pt.listening = true;
        hand.ptrace.listen_group_stopped = hand.jobctl.group_stopped();
    }
    Ok(0)
}

/// `GETREGSET`/`SETREGSET` of set `note` through the tracer's iovec at `iov`: `iov_len` is
/// cut to what was moved and written back.
fn regset_request(tracee: &ProcShared, set: bool, note: u64, iov: u64) -> SysResult {
    let mut raw = [0u8; 16];
    copy_from_user(&mut raw, iov)?;
    let base = u64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
    let iov_len = u64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8]));
    let (_, len) = regset::transfer_len(note, iov_len)?;
    if matches!(note, NT_ARM_HW_BREAK | NT_ARM_HW_WATCH) {
        // The debug monitors' per-task slots, not the saved registers.
        let task = sched::find_task_by_pid(tracee.pid()).ok_or(Errno::ESRCH)?;
        let watch = note == NT_ARM_HW_WATCH;
        let mut buf = [0u8; regset::USER_HWDEBUG_STATE_SIZE];
        let buf = &mut buf[..len];
        let moved = if set {
            copy_from_user(buf, base)?;
            // Applied while the tracee is still stopped (its next return to EL0 installs it).
            let hand = tracee.sighand().lock();
            still_stopped(&hand.ptrace)?;
            debug::hw_break_regset_set(&task, watch, buf)?
        } else {
            let n = debug::hw_break_regset_get(&task, watch, buf)?;
            copy_to_user(base, &buf[..n])?;
            n
        };
        copy_to_user(iov + 8, &(moved as u64).to_le_bytes())?;
        return Ok(0);
    }
    if set {
        let mut buf = [0u8; USER_FPSIMD_SIZE];
        let buf = &mut buf[..len];
        copy_from_user(buf, base)?;
        let mut hand = tracee.sighand().lock();
        still_stopped(&hand.ptrace)?;
        regset::set(note, &mut hand.ptrace.regs, buf)?;
        if note == NT_PRSTATUS {
            // SPSR.SS follows the step flag, whatever the tracer wrote.
            let task = sched::find_task_by_pid(tracee.pid()).ok_or(Errno::ESRCH)?;
            debug::user_regs_reset_single_step(&task, &mut hand.ptrace.regs.frame);
        }
        if matches!(note, NT_PRFPREG | NT_ARM_TLS) {
            hand.ptrace.regs_written = true;
        }
    } else {
        let bytes = regset::get(note, &tracee.sighand().lock().ptrace.regs)?;
        copy_to_user(base, &bytes[..len])?;
    }
    copy_to_user(iov + 8, &(len as u64).to_le_bytes())?;
    Ok(0)
}
