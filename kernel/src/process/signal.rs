//! Signal delivery for user processes (Linux: `kernel/signal.c` `send_signal`, `get_signal`,
//! and arm64's `do_signal`, `setup_rt_frame`, `sys_rt_sigreturn`), on the return-to-user path
//! of [`super::user_loop`]: no assembly involved. The layouts and default actions are
//! [`crate::signal`]'s.
//!
//! A process's actions and the `siginfo` of its pending signals live in its [`SigHand`]
//! (reached by senders through the process table); the pending and blocked bits live in its
//! task, so that a pending signal ends the task's interruptible sleeps. Only the task itself
//! takes pending signals and changes its blocked mask.
//!
//! Standard and real-time signals alike pend at most once (no queue of real-time instances).
//!
//! Job control (Linux's group stop, for a process of one thread): the [`JobCtl`] state lives
//! in the [`SigHand`], under its lock. A stop signal whose action is `SIG_DFL` stops the task
//! in [`do_signal`] before it returns to EL0: it sleeps in [`TaskState::Stopped`], which only
//! SIGCONT and SIGKILL wake ([`send`]), and the parent gets SIGCHLD with `CLD_STOPPED` (unless
//! `SA_NOCLDSTOP`) and a `wait4(WUNTRACED)` report. SIGCONT continues it when sent; the task
//! itself then sends its parent `CLD_CONTINUED` once it runs. SIGTSTP, SIGTTIN and SIGTTOU do
//! not stop a process of an orphaned group ([`super::pgrp`]).
//!
//! Restarts (Linux's `-ERESTART*` codes, [`Errno::ERESTARTSYS`] and friends): a syscall whose
//! sleep a signal ended returns one; the syscall layer keeps the original x0 beside it
//! ([`Process::set_restart`]) and makes the way back to EL0 run [`do_signal`], which puts the
//! pc back on the `svc` with the original x0, or returns `EINTR` when a handler runs and the
//! code asks for it ([`crate::signal::syscall_restart`]).

use alloc::boxed::Box;
use alloc::sync::Arc;

use arch::daifflags::{PSR_A_BIT, PSR_D_BIT, PSR_F_BIT, PSR_I_BIT};
use arch::exception::TrapFrame;
use arch::ptrace::PSR_MODE_MASK;

/// PSTATE.M[4]: an AArch32 context (Linux's `PSR_MODE32_BIT`), never valid here.
const PSR_MODE32_BIT: u64 = 0x10;

use super::{ProcShared, Process, TABLE};
use crate::fs::Errno;
use crate::sched::{self, Pid, Task, TaskState};
use crate::signal::{
    _NSIG, DefaultAction, FrameRecord, KSigInfo, RtSigframe, SA_NODEFER, SA_RESETHAND, SA_RESTORER,
    SA_SIGINFO, SIG_DFL, SIG_IGN, SIGKILL, SIGSEGV, SS_DISABLE, SigAction, SigFields, UNBLOCKABLE,
    WaitStatus, default_action, ignored, sigmask,
};
use crate::signal::{CLD_STOPPED, JobCtl, SA_NOCLDSTOP, SIGCHLD, SIGCONT, SIGSTOP, SyscallRestart};
use crate::uaccess::{copy_from_user, copy_to_user};

/// A process's signal actions and what its pending signals carry (Linux: `sighand_struct`
/// and the `siginfo` of `sigpending`), index `signo - 1`.
pub struct SigHand {
    actions: [SigAction; _NSIG as usize],
    info: [KSigInfo; _NSIG as usize],
    /// Its group stop and continue state.
    pub(crate) jobctl: JobCtl,
    /// Its tracer and ptrace stops ([`crate::ptrace`]).
    pub(crate) ptrace: crate::ptrace::Ptrace,
}

impl Default for SigHand {
    fn default() -> Self {
        Self::new()
    }
}

impl SigHand {
    pub const fn new() -> Self {
        Self {
            actions: [SigAction {
                handler: SIG_DFL,
                flags: 0,
                restorer: 0,
                mask: 0,
            }; _NSIG as usize],
            info: [KSigInfo {
                signo: 0,
                code: 0,
                fields: SigFields::None,
            }; _NSIG as usize],
            jobctl: JobCtl {
                jobctl: 0,
                flags: 0,
                group_exit_code: 0,
                group_stop_count: 0,
            },
            ptrace: crate::ptrace::Ptrace::new(),
        }
    }

    /// `execve`'s reset (Linux's `flush_signal_handlers`): caught signals go back to
    /// `SIG_DFL`, ignored ones stay; pending signals and the job-control state stay too.
    pub fn flush_handlers(&mut self) {
        for action in &mut self.actions {
            if action.handler != SIG_IGN {
                *action = SigAction::default();
            }
        }
    }

    /// Whether the process is stopped by a stop signal (`T` in `ps`).
    pub fn stopped(&self) -> bool {
        self.jobctl.stopped()
    }

    /// The signals whose action is `SIG_IGN`, and those with a handler (bit `signo - 1`), as
    /// `/proc/PID/status` shows them.
    pub fn ignored_and_caught(&self) -> (u64, u64) {
        let (mut ignored, mut caught) = (0, 0);
        for (i, action) in self.actions.iter().enumerate() {
            match action.handler {
                SIG_IGN => ignored |= 1 << i,
                SIG_DFL => {}
                _ => caught |= 1 << i,
            }
        }
        (ignored, caught)
    }

    /// Whether children that exit are reaped at once instead of becoming zombies: SIGCHLD is
    /// ignored, or its action has `SA_NOCLDWAIT` (Linux: `do_notify_parent`'s autoreap).
    pub fn autoreaps_children(&self) -> bool {
        let action = &self.actions[crate::signal::SIGCHLD as usize - 1];
        action.handler == SIG_IGN || action.flags & crate::signal::SA_NOCLDWAIT != 0
    }

    /// What a forked child starts with: its parent's actions, nothing pending, no stop, not
    /// traced (an auto-attach is `fork`'s).
    pub fn inherit(&self) -> Self {
        let mut new = Self::new();
        new.actions = self.actions;
        new
    }
}

fn valid(signo: u32) -> bool {
    (1..=_NSIG).contains(&signo)
}

/// Queues `info` on the process `shared` runs as `task` (Linux: `send_signal_locked`): first
/// its job-control effects ([`JobCtl::prepare_signal`]: SIGCONT continues a stopped process
/// and discards pending stop signals, a stop signal discards a pending SIGCONT, SIGKILL ends a
/// stop); then dropped if the process ignores it, does not block it and is not traced, else pending (once)
/// and the task woken from an interruptible sleep (a stopped one only by SIGCONT, SIGKILL).
pub(crate) fn send(shared: &ProcShared, task: &Arc<Task>, info: KSigInfo) {
    let bit = sigmask(info.signo);
    let (wake_stopped, queued) = {
        let mut hand = shared.sighand.lock();
        let prepared = hand.jobctl.prepare_signal(info.signo);
        if prepared.flush != 0 {
            task.sig_take(prepared.flush);
        }
        if info.signo == SIGKILL && prepared.wake_stopped {
            // A stale stop must not be what the tracer's next `wait4` sees.
            hand.ptrace.end_stop_for_kill();
        }
        let index = info.signo as usize - 1;
        // A tracee's tracer hears of every signal, ignored ones too (Linux: `sig_ignored`
        // ignores nothing for a ptraced task): they are dropped after its
        // signal-delivery-stop instead.
        let queued = task.sig_blocked() & bit != 0
            || hand.ptrace.traced()
            || !ignored(&hand.actions[index], info.signo);
        if queued {
            if task.sig_pending() & bit == 0 {
                hand.info[index] = info;
            }
            task.sig_raise(bit);
        }
        (prepared.wake_stopped, queued)
    };
    if wake_stopped {
        sched::wake_up_state(task, TaskState::Stopped);
    }
    if queued {
        sched::wake_up_state(task, TaskState::Interruptible);
    }
}

/// The live process with `pid` and its task; `None` for a zombie or no process.
fn find(pid: Pid) -> Option<(Arc<ProcShared>, Arc<Task>)> {
    let shared = TABLE
        .lock()
        .iter()
        .find(|p| p.pid() == pid && p.status.get().is_none())
        .cloned()?;
    let task = sched::find_task_by_pid(pid)?;
    Some((shared, task))
}

/// Whether `pid` is a user process (a zombie included): `kill` signals it as Linux does.
pub fn is_process(pid: Pid) -> bool {
    TABLE.lock().iter().any(|p| p.pid() == pid)
}

/// Sends `signo` (0: only checks) to process `pid` with `code` from `sender` (Linux:
/// `kill_pid_info`). `ESRCH` if there is no such process; a zombie takes it silently. A pid
/// that is a kernel task (the shell, a workload) ignores signals, as kthreads do.
pub fn send_signal(pid: Pid, signo: u32, code: i32, sender: Pid) -> Result<(), Errno> {
    if signo > _NSIG {
        return Err(Errno::EINVAL);
    }
    let Some((shared, task)) = find(pid) else {
        return if is_process(pid) || sched::find_task_by_pid(pid).is_some() {
            Ok(())
        } else {
            Err(Errno::ESRCH)
        };
    };
    if signo != 0 {
        let fields = SigFields::Kill {
            pid: sender,
            uid: 0,
        };
        send(
            &shared,
            &task,
            KSigInfo {
                signo,
                code,
                fields,
            },
        );
    }
    Ok(())
}

/// `kill(-1, sig)`: every process but pid 1 and the caller (Linux: `kill_something_info`);
/// `ESRCH` if there was none.
pub fn send_signal_all(signo: u32, sender: Pid) -> Result<(), Errno> {
    let pids: alloc::vec::Vec<Pid> = TABLE
        .lock()
        .iter()
        .map(|p| p.pid())
        .filter(|&pid| pid != sender && pid != super::INIT_PID && pid != 0)
        .collect();
    let mut any = false;
    for pid in pids {
        any |= send_signal(pid, signo, crate::signal::SI_USER, sender).is_ok();
    }
    if any { Ok(()) } else { Err(Errno::ESRCH) }
}

/// SIGCHLD to `parent` for a child that ended with `status` (Linux: `do_notify_parent`).
pub fn notify_parent(parent: &ProcShared, task: &Arc<Task>, child: Pid, status: WaitStatus) {
    let (code, value) = if status.if_signaled() {
        (crate::signal::CLD_KILLED, status.term_sig() as i32)
    } else {
        (crate::signal::CLD_EXITED, status.exit_status() as i32)
    };
    let info = KSigInfo {
        signo: crate::signal::SIGCHLD,
        code,
        fields: SigFields::Child {
            pid: child,
            uid: 0,
            status: value,
        },
    };
    send(parent, task, info);
}

/// SIGCHLD with `why` (`CLD_STOPPED`, `CLD_CONTINUED`) to the parent of `child` (process
/// `pid`), unless the parent ignores SIGCHLD or set `SA_NOCLDSTOP`; its `wait4` is woken
/// either way (Linux: `do_notify_parent_cldstop`). `si_status` is the stop signal, or SIGCONT.
fn notify_parent_cldstop(child: &ProcShared, pid: Pid, why: i32, signo: u32) {
    let Some(parent) = super::find_shared(child.ppid()) else {
        return;
    };
    if let Some(task) = sched::find_task_by_pid(parent.pid())
        && parent.status.get().is_none()
    {
        let action = parent.sighand.lock().actions[SIGCHLD as usize - 1];
        if action.handler != SIG_IGN && action.flags & SA_NOCLDSTOP == 0 {
            let status = if why == CLD_STOPPED { signo } else { SIGCONT };
            let info = KSigInfo {
                signo: SIGCHLD,
                code: why,
                fields: SigFields::Child {
                    pid,
                    uid: 0,
                    status: status as i32,
                },
            };
            send(&parent, &task, info);
        }
    }
    parent.child_exit.wake_up();
}

/// SIGCHLD with `why` (`CLD_TRAPPED`, or `CLD_STOPPED` for a group stop) to `tracer` for its
/// tracee `pid`, which stopped with `report`, unless the tracer ignores SIGCHLD or set
/// `SA_NOCLDSTOP`; its `wait4` is woken either way (Linux: `do_notify_parent_cldstop` with
/// `for_ptracer`). `si_status` is the report's signal.
pub(crate) fn notify_tracer(tracer: Pid, pid: Pid, why: i32, report: u32) {
    let Some(parent) = super::find_shared(tracer) else {
        return;
    };
    if let Some(task) = sched::find_task_by_pid(tracer)
        && parent.status.get().is_none()
    {
        let action = parent.sighand.lock().actions[SIGCHLD as usize - 1];
        if action.handler != SIG_IGN && action.flags & SA_NOCLDSTOP == 0 {
            let info = KSigInfo {
                signo: SIGCHLD,
                code: why,
                fields: SigFields::Child {
                    pid,
                    uid: 0,
                    status: (report & 0x7f) as i32,
                },
            };
            send(&parent, &task, info);
        }
    }
    parent.child_exit.wake_up();
}

/// The running task stops for stop signal `signo` (Linux: `do_signal_stop`), unless SIGCONT
/// or SIGKILL came since it was dequeued: tells the parent when the stop is fresh, then
/// sleeps until SIGCONT or SIGKILL ends the stop.
fn do_signal_stop(task: &Task, process: &mut Process, frame: &mut TrapFrame, signo: u32) {
    let notify = {
        let mut hand = process.shared.sighand.lock();
        let Some(notify) = hand.jobctl.do_signal_stop(signo) else {
            return;
        };
        if hand.ptrace.traced() {
            // While traced, the group stop is a ptrace stop (Linux: `do_jobctl_trap`): the
            // tracer resumes it, whatever the group's state.
            hand.jobctl.leave_stop();
            let tracer = hand.ptrace.tracer;
            drop(hand);
            if notify && tracer != process.shared.ppid() {
                notify_parent_cldstop(&process.shared, task.pid(), CLD_STOPPED, signo);
            }
            crate::ptrace::stop::group_stop(process, frame, signo);
            return;
        }
        // Set under the lock: a SIGCONT after it finds the task stopped and wakes it.
        sched::set_current_stopped();
        notify
    };
    if notify {
        notify_parent_cldstop(&process.shared, task.pid(), CLD_STOPPED, signo);
    }
    sleep_stopped(task, process);
}

/// Sleeps in a group stop (the task already marked stopped) until SIGCONT or SIGKILL ends
/// it, or a tracer that attached meanwhile makes it a ptrace stop (`do_signal` traps).
fn sleep_stopped(task: &Task, process: &Process) {
    loop {
        sched::schedule();
        let hand = process.shared.sighand.lock();
        if !hand.jobctl.stopped() || task.killed() || hand.ptrace.trap_stop {
            break;
        }
        // Woken by something else: back to sleep.
        sched::set_current_stopped();
    }
}

/// A task no longer traced whose group is still stopped (its tracer resumed it, then
/// detached or exited) stops again, without a new report (Linux: `__ptrace_unlink` sets
/// `JOBCTL_STOP_PENDING`). Whether it stopped.
fn rejoin_group_stop(task: &Task, process: &Process) -> bool {
    {
        let mut hand = process.shared.sighand.lock();
        if hand.ptrace.traced() || !hand.jobctl.rejoin_stop() {
            return false;
        }
        sched::set_current_stopped();
    }
    sleep_stopped(task, process);
    true
}

/// A fault at EL0 raises `info` (Linux: `force_sig_fault`): if the process blocks or ignores
/// it, the action goes back to `SIG_DFL` and the signal is unblocked, so it cannot be lost.
/// `esr` and `fault_address` go to the handler's frame (`esr_context`, `sigcontext`): Linux
/// gives the FAR for aborts and 0 for other exceptions (`arm64_notify_die`).
pub fn force_sig_fault(
    process: &mut Process,
    task: &Task,
    info: KSigInfo,
    esr: u64,
    fault_address: u64,
) {
    let bit = sigmask(info.signo);
    let mut hand = process.shared.sighand.lock();
    let index = info.signo as usize - 1;
    let blocked = task.sig_blocked() & bit != 0;
    if blocked || hand.actions[index].handler == SIG_IGN {
        hand.actions[index] = SigAction::default();
        task.set_sig_blocked(task.sig_blocked() & !bit);
    }
    hand.info[index] = info;
    task.sig_raise(bit);
    process.fault = Some((esr, fault_address));
}

/// Delivers the running process's pending signals before it returns to EL0 (Linux:
/// `do_signal`): `Some` when one ends it. A caught signal gets its frame on the user stack and
/// the registers to run its handler.
pub fn do_signal(task: &Task, process: &mut Process, frame: &mut TrapFrame) -> Option<WaitStatus> {
    // A syscall that returned a restart code: back on its `svc` with the original x0 (Linux's
    // rewind in `do_signal`), undone below if a handler runs and the code says EINTR.
    let restart = process.restart.take();
    if let Some((_, orig_x0)) = restart {
        frame.regs[0] = orig_x0;
        frame.pc -= 4;
    }
    loop {
        if task.killed() {
            return Some(WaitStatus::signaled(SIGKILL, false));
        }
        // Continued after a stop: the parent hears of it from us (Linux: `get_signal`).
        let notice = process.shared.sighand.lock().jobctl.take_cld_notice();
        if let Some(why) = notice {
            notify_parent_cldstop(&process.shared, task.pid(), why, SIGCONT);
            continue;
        }
        // A trap the tracer asked for (`PTRACE_INTERRUPT`, an attach to a stopped process).
        if crate::ptrace::stop::trap_pending(process) {
            crate::ptrace::stop::trap_stop(process, frame);
            continue;
        }
        if rejoin_group_stop(task, process) {
            continue;
        }
        let deliverable = task.sig_deliverable();
        if deliverable == 0 {
            break;
        }
        let signo = if deliverable & sigmask(SIGKILL) != 0 {
            SIGKILL
        } else {
            deliverable.trailing_zeros() + 1
        };
        let (info, traced) = {
            let mut hand = process.shared.sighand.lock();
            task.sig_take(sigmask(signo));
            hand.jobctl.dequeued(signo);
            (hand.info[signo as usize - 1], hand.ptrace.traced())
        };
        let info = if info.signo == signo {
            info
        } else {
            KSigInfo {
                signo,
                code: crate::signal::SI_KERNEL,
                fields: SigFields::None,
            }
        };
        if signo == SIGKILL {
            return Some(WaitStatus::signaled(SIGKILL, false));
        }
        // A tracee stops before the action (signal-delivery-stop); the tracer says which
        // signal is delivered (Linux: `ptrace_signal`).
        let (signo, info) = if traced {
            match crate::ptrace::stop::signal_delivery_stop(process, frame, info) {
                None => (signo, info),
                Some((0, _)) => continue,
                Some((new, info)) => {
                    if task.sig_blocked() & sigmask(new) != 0 {
                        // Blocked now: it waits pending, as Linux requeues it.
                        send(&process.shared, &sched::current_task(), info);
                        continue;
                    }
                    if new != signo {
                        process.shared.sighand.lock().jobctl.dequeued(new);
                    }
                    (new, info)
                }
            }
        } else {
            (signo, info)
        };
        if signo == SIGKILL {
            return Some(WaitStatus::signaled(SIGKILL, false));
        }
        let action = {
            let mut hand = process.shared.sighand.lock();
            let index = signo as usize - 1;
            let action = hand.actions[index];
            // SA_RESETHAND (SA_ONESHOT): the handler goes back to SIG_DFL, the flags and
            // mask stay (Linux: `get_signal`).
            if action.flags & SA_RESETHAND != 0 && action.handler > SIG_IGN {
                hand.actions[index].handler = SIG_DFL;
            }
            action
        };
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(signo) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                // Nobody could continue an orphaned group: the terminal's stop signals do
                // nothing to it (Linux: `get_signal`); SIGSTOP still stops.
                DefaultAction::Stop
                    if signo != SIGSTOP && super::pgrp::is_current_pgrp_orphaned(process) =>
                {
                    continue;
                }
                DefaultAction::Stop => {
                    do_signal_stop(task, process, frame, signo);
                    continue;
                }
                // No core is dumped, as Linux with its default RLIMIT_CORE of 0: no core flag.
                DefaultAction::Terminate | DefaultAction::Core => {
                    return Some(WaitStatus::signaled(signo, false));
                }
            },
            _ => {
                if let Some((code, _)) = restart
                    && crate::signal::syscall_restart(code, Some(action.flags))
                        == Some(SyscallRestart::Eintr)
                {
                    frame.pc += 4;
                    frame.regs[0] = (-i64::from(Errno::EINTR.code())) as u64;
                }
                if setup_rt_frame(task, process, frame, &action, &info).is_err() {
                    // No room for the frame: the process dies of SIGSEGV (Linux: force_sigsegv).
                    return Some(WaitStatus::signaled(SIGSEGV, false));
                }
                let mut blocked = task.sig_blocked() | action.mask;
                if action.flags & SA_NODEFER == 0 {
                    blocked |= sigmask(signo);
                }
                task.set_sig_blocked(blocked & !UNBLOCKABLE);
                process.saved_sigmask = None;
                // One frame per return to EL0; the rest wait for the handler's first syscall
                // or interrupt, or its sigreturn.
                return None;
            }
        }
    }
    // Restarting without a handler: a syscall that keeps its state in the restart block
    // comes back as `restart_syscall` (Linux: `setup_restart_syscall`).
    if let Some((Errno::ERESTART_RESTARTBLOCK, _)) = restart {
        frame.regs[8] = crate::syscall::__NR_RESTART_SYSCALL;
    }
    if let Some(mask) = process.saved_sigmask.take() {
        task.set_sig_blocked(mask);
    }
    None
}

/// Builds the `rt_sigframe` for `action` on the user stack and points the registers at the
/// handler (Linux: `setup_rt_frame`, `setup_return`).
fn setup_rt_frame(
    task: &Task,
    process: &mut Process,
    frame: &mut TrapFrame,
    action: &SigAction,
    info: &KSigInfo,
) -> Result<(), Errno> {
    let sp = frame.sp;
    if sp < (size_of::<RtSigframe>() + 64) as u64 {
        return Err(Errno::EFAULT);
    }
    let (frame_addr, record_addr) = crate::signal::sigframe_addresses(sp);
    let mut sigframe = Box::<RtSigframe>::try_new_zeroed().map_err(|_| Errno::ENOMEM)?;
    // SAFETY: every field of RtSigframe is plain integers, for which zero is valid.
    let sigframe = unsafe { &mut *sigframe.as_mut_ptr() };
    if action.flags & SA_SIGINFO != 0 {
        sigframe.info = info.to_user();
    }
    let uc = &mut sigframe.uc;
    uc.uc_stack.ss_flags = SS_DISABLE;
    uc.uc_sigmask = process.saved_sigmask.unwrap_or(task.sig_blocked());
    let (esr, far) = process
        .fault
        .take()
        .map_or((None, 0), |(e, f)| (Some(e), f));
    let mc = &mut uc.uc_mcontext;
    mc.fault_address = far;
    mc.regs = frame.regs;
    mc.sp = frame.sp;
    mc.pc = frame.pc;
    mc.pstate = frame.pstate;
    let fp = super::current_fpsimd();
    crate::signal::write_reserved(&mut mc.__reserved.0, &fp.vregs, fp.fpsr, fp.fpcr, esr);
    // SAFETY: RtSigframe is repr(C) plain data with no padding read as anything but bytes.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            (sigframe as *const RtSigframe).cast::<u8>(),
            size_of::<RtSigframe>(),
        )
    };
    copy_to_user(frame_addr, bytes)?;
    let record = FrameRecord {
        fp: frame.regs[29],
        lr: frame.regs[30],
    };
    let mut record_bytes = [0u8; 16];
    record_bytes[..8].copy_from_slice(&record.fp.to_le_bytes());
    record_bytes[8..].copy_from_slice(&record.lr.to_le_bytes());
    copy_to_user(record_addr, &record_bytes)?;

    frame.regs[0] = u64::from(info.signo);
    if action.flags & SA_SIGINFO != 0 {
        frame.regs[1] = frame_addr + core::mem::offset_of!(RtSigframe, info) as u64;
        frame.regs[2] = frame_addr + core::mem::offset_of!(RtSigframe, uc) as u64;
    }
    frame.sp = frame_addr;
    frame.regs[29] = record_addr;
    frame.pc = action.handler;
    // Without SA_RESTORER (glibc's way on arm64) the handler returns to the signal-return
    // page every program has, as Linux's returns to the vDSO's sigtramp.
    frame.regs[30] = if action.flags & SA_RESTORER != 0 {
        action.restorer
    } else {
        super::mm::SIGTRAMP
    };
    // The handler starts with no branch-target state (Linux clears PSTATE.BTYPE).
    frame.pstate &= !arch::ptrace::PSR_BTYPE_MASK;
    Ok(())
}

/// `rt_sigreturn()`: restores the registers, FP/SIMD state and blocked mask from the frame at
/// the stack pointer (Linux: `sys_rt_sigreturn`). A bad frame kills the process with SIGSEGV,
/// as Linux's `arm64_notify_segfault`; x0 comes from the frame, not from a return value.
pub fn sys_rt_sigreturn(process: &mut Process, frame: &mut TrapFrame) -> Result<u64, Errno> {
    let task = sched::current_task();
    // A restart block from before the handler must not resume (Linux: `restart_block.fn =
    // do_no_restart_syscall`).
    process.restart_block = None;
    if restore_sigframe(&task, frame).is_err() {
        let info = KSigInfo {
            signo: SIGSEGV,
            code: crate::signal::SI_KERNEL,
            fields: SigFields::Fault { addr: frame.sp },
        };
        force_sig_fault(process, &task, info, 0, 0);
        process.fault = None;
    }
    // x0 is the frame's: the syscall's "result" is what it restored.
    Ok(frame.regs[0])
}

fn restore_sigframe(task: &Task, frame: &mut TrapFrame) -> Result<(), Errno> {
    let addr = frame.sp;
    if !addr.is_multiple_of(16) {
        return Err(Errno::EFAULT);
    }
    let mut sigframe = Box::<RtSigframe>::try_new_zeroed().map_err(|_| Errno::ENOMEM)?;
    // SAFETY: zero is valid for every field; the bytes are then filled from user memory, and
    // any bit pattern is valid for these integer fields.
    let sigframe = unsafe {
        let bytes = core::slice::from_raw_parts_mut(
            sigframe.as_mut_ptr().cast::<u8>(),
            size_of::<RtSigframe>(),
        );
        copy_from_user(bytes, addr)?;
        sigframe.assume_init()
    };
    let mc = &sigframe.uc.uc_mcontext;
    // Linux's valid_native_regs: back to EL0t, with no exception masked.
    if mc.pstate & (PSR_MODE_MASK | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT) != 0
        || mc.pstate & PSR_MODE32_BIT != 0
    {
        return Err(Errno::EINVAL);
    }
    let (vregs, fpsr, fpcr) =
        crate::signal::read_reserved(&mc.__reserved.0).ok_or(Errno::EINVAL)?;
    frame.regs = mc.regs;
    frame.sp = mc.sp;
    frame.pc = mc.pc;
    frame.pstate = mc.pstate;
    task.set_sig_blocked(sigframe.uc.uc_sigmask & !UNBLOCKABLE);
    let state = arch::fpsimd::UserFpsimdState {
        vregs,
        fpsr,
        fpcr,
        __reserved: [0; 2],
    };
    super::set_current_fpsimd(task, &state);
    Ok(())
}

/// `rt_sigaction(sig, act, oact, sigsetsize)`.
pub fn sys_rt_sigaction(process: &mut Process, frame: &mut TrapFrame) -> Result<u64, Errno> {
    let [signo, act, oact, size] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let signo = u32::try_from(signo).map_err(|_| Errno::EINVAL)?;
    if !valid(signo) || act != 0 && sigmask(signo) & UNBLOCKABLE != 0 {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        let mut bytes = [0u8; 32];
        copy_from_user(&mut bytes, act)?;
        let word =
            |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        Some(SigAction {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3) & !UNBLOCKABLE,
        })
    } else {
        None
    };
    let index = signo as usize - 1;
    let old = process.shared.sighand.lock().actions[index];
    if oact != 0 {
        let mut bytes = [0u8; 32];
        for (i, word) in [old.handler, old.flags, old.restorer, old.mask]
            .iter()
            .enumerate()
        {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&word.to_le_bytes());
        }
        copy_to_user(oact, &bytes)?;
    }
    if let Some(new) = new {
        process.shared.sighand.lock().actions[index] = new;
        // A signal that is now ignored is discarded if pending (Linux: POSIX 3.3.1.3).
        if ignored(&new, signo) {
            sched::current_task().sig_take(sigmask(signo));
        }
    }
    Ok(0)
}

/// `rt_sigprocmask(how, set, oset, sigsetsize)`.
pub fn sys_rt_sigprocmask(_: &mut Process, frame: &mut TrapFrame) -> Result<u64, Errno> {
    let [how, set, oset, size] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let task = sched::current_task();
    let old = task.sig_blocked();
    let new = if set != 0 {
        let mut bytes = [0u8; 8];
        copy_from_user(&mut bytes, set)?;
        let mask = u64::from_le_bytes(bytes) & !UNBLOCKABLE;
        Some(match how {
            crate::signal::SIG_BLOCK => old | mask,
            crate::signal::SIG_UNBLOCK => old & !mask,
            crate::signal::SIG_SETMASK => mask,
            _ => return Err(Errno::EINVAL),
        })
    } else {
        None
    };
    if oset != 0 {
        copy_to_user(oset, &old.to_le_bytes())?;
    }
    if let Some(new) = new {
        task.set_sig_blocked(new);
    }
    Ok(0)
}

/// `rt_sigpending(set, sigsetsize)`: the pending signals that are blocked.
pub fn sys_rt_sigpending(_: &mut Process, frame: &mut TrapFrame) -> Result<u64, Errno> {
    let [set, size] = [frame.regs[0], frame.regs[1]];
    if size > 8 {
        return Err(Errno::EINVAL);
    }
    let task = sched::current_task();
    let pending = task.sig_pending() & task.sig_blocked();
    copy_to_user(set, &pending.to_le_bytes()[..size as usize])?;
    Ok(0)
}

/// Installs the temporary mask at `mask` (`sigsetsize` must be 8) for a wait that takes one
/// (ppoll, pselect6), keeping the current mask to restore (Linux: `set_user_sigmask`).
pub fn set_user_sigmask(process: &mut Process, mask: u64, sigsetsize: u64) -> Result<(), Errno> {
    if sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = [0u8; 8];
    copy_from_user(&mut bytes, mask)?;
    let task = sched::current_task();
    process.saved_sigmask = Some(task.sig_blocked());
    task.set_sig_blocked(u64::from_le_bytes(bytes) & !UNBLOCKABLE);
    Ok(())
}

/// Ends a wait begun with [`set_user_sigmask`]: the old mask comes back now, unless the wait
/// was `interrupted`, when [`do_signal`] restores it after running the handler, so the
/// signal the temporary mask let in is delivered under it (Linux:
/// `restore_saved_sigmask_unless`).
pub fn restore_saved_sigmask_unless(process: &mut Process, interrupted: bool) {
    if interrupted {
        return;
    }
    if let Some(mask) = process.saved_sigmask.take() {
        sched::current_task().set_sig_blocked(mask);
    }
}

/// `rt_sigsuspend(mask, sigsetsize)`: waits with `mask` blocked until a signal is delivered;
/// `EINTR` once a handler ran (Linux's `ERESTARTNOHAND`: a signal that only stopped and
/// continued the process, or was ignored, sends it back to sleep). The handler's frame
/// records the old mask, which sigreturn restores.
pub fn sys_rt_sigsuspend(process: &mut Process, frame: &mut TrapFrame) -> Result<u64, Errno> {
    set_user_sigmask(process, frame.regs[0], frame.regs[1])?;
    // Nothing wakes this queue but a signal (and a child's exit, which re-checks and sleeps on).
    let _ = process.shared.child_exit.wait_event(|| false);
    Err(Errno::ERESTARTNOHAND)
}
