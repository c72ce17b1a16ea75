//! The tracee's side of ptrace (Linux: `ptrace_stop`, `ptrace_signal`, `do_jobctl_trap`,
//! `ptrace_event`, arm64's `report_syscall`, `ptrace_init_task`, `exit_ptrace`): the stops a
//! traced process makes itself, on its way back to EL0 or inside a syscall, and the clean-up
//! when a tracer exits.
//!
//! [`ptrace_stop`] is the one way to stop: the registers go to the [`Ptrace`] state (the
//! FP/SIMD ones saved from the CPU first), the report is left for the tracer's `wait4`, the
//! tracer gets SIGCHLD, and the task sleeps as [`sched::TaskState::Stopped`] until its tracer
//! resumes or detaches it, or SIGKILL comes (a SIGCONT wakes it too, and it sleeps on). It then
//! takes back the registers, which the tracer may have changed, and the tracer's signal.

use arch::exception::TrapFrame;

use super::regset::TraceeRegs;
use super::{
    PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC, PTRACE_EVENT_FORK, PTRACE_EVENT_STOP,
    PTRACE_EVENT_VFORK, PTRACE_EVENTMSG_SYSCALL_ENTRY, PTRACE_EVENTMSG_SYSCALL_EXIT,
    PTRACE_O_EXITKILL, PTRACE_SYSCALL_ENTER, PTRACE_SYSCALL_EXIT, Ptrace, event_report,
    syscall_report,
};
use crate::fs::Errno;
use crate::process::{CloneArgs, ProcShared, Process, signal as psignal};
use crate::sched::{self, Pid, Task};
use crate::signal::{
    CLD_STOPPED, CLD_TRAPPED, KSigInfo, SI_KERNEL, SI_USER, SIGCHLD, SIGKILL, SIGTRAP, SigFields,
    sigmask,
};

/// Whether SIGKILL is ending the task: no stop starts or goes on (Linux:
/// `__fatal_signal_pending`).
fn fatal_pending(task: &Task) -> bool {
    task.killed() || task.sig_pending() & sigmask(SIGKILL) != 0
}

/// How a ptrace stop ended.
struct Resumed {
    /// The signal the tracer gave (0: none).
    signo: u32,
    /// The stop's `siginfo`, as the tracer may have rewritten it (`PTRACE_SETSIGINFO`).
    info: Option<KSigInfo>,
    /// The syscall number, as the tracer may have set it (`NT_ARM_SYSTEM_CALL`).
    syscallno: i32,
}

/// The `siginfo` of a stop the kernel reports (Linux: `ptrace_do_notify`): SIGTRAP (or the
/// stop signal) with the report as its code, from the tracee itself.
fn report_info(signo: u32, report: u32, pid: Pid) -> KSigInfo {
    KSigInfo {
        signo,
        code: report as i32,
        fields: SigFields::Kill { pid, uid: 0 },
    }
}

/// The running tracee stops with `report` (Linux: `ptrace_stop`), telling its tracer with
/// SIGCHLD `why`; `None` when it does not stop (not traced, or dying).
fn ptrace_stop(
    process: &mut Process,
    frame: &mut TrapFrame,
    report: u32,
    why: i32,
    message: u64,
    info: Option<KSigInfo>,
    syscallno: i32,
) -> Option<Resumed> {
    let task = sched::current_task();
    let shared = process.shared().clone();
    // Saved before the stop: the tracer reads them while the task sleeps.
    let fpsimd = crate::process::current_fpsimd();
    let tls = arch::context::tpidr_el0();
    let tracer = {
        let mut hand = shared.sighand().lock();
        let pt = &mut hand.ptrace;
        if !pt.traced() || fatal_pending(&task) {
            return None;
        }
        pt.stopped = true;
        pt.exit_code = report;
        pt.message = message;
        pt.last_siginfo = info;
        // Any stop answers a PTRACE_INTERRUPT (Linux clears JOBCTL_TRAP_STOP there too).
        pt.trap_stop = false;
        task.set_ptrace_trap(false);
        pt.regs = TraceeRegs {
            frame: frame.clone(),
            fpsimd,
            tls,
            syscallno,
        };
        pt.regs_written = false;
        // Under the lock: a resume after it finds the task stopped and wakes it.
        sched::set_current_stopped();
        pt.tracer
    };
    psignal::notify_tracer(tracer, task.pid(), why, report);
    loop {
        sched::schedule();
        let mut hand = shared.sighand().lock();
        if fatal_pending(&task) || !hand.ptrace.stopped {
            break;
        }
        if hand.ptrace.listening && hand.jobctl.group_stopped() != hand.ptrace.listen_group_stopped
        {
            // `PTRACE_LISTEN`, and a SIGCONT ended the group stop: a new report, still
            // stopped (Linux: `JOBCTL_TRAP_NOTIFY`).
            let report = SIGTRAP | PTRACE_EVENT_STOP << 8;
            let pt = &mut hand.ptrace;
            pt.listening = false;
            pt.exit_code = report;
            pt.last_siginfo = Some(report_info(SIGTRAP, report, task.pid()));
            let tracer = pt.tracer;
            sched::set_current_stopped();
            drop(hand);
            psignal::notify_tracer(tracer, task.pid(), CLD_TRAPPED, report);
            continue;
        }
        // Woken by something else (SIGCONT): back to sleep.
        sched::set_current_stopped();
    }
    let fatal = fatal_pending(&task);
    let (resumed, fp_and_tls, syscall_trace) = {
        let mut hand = shared.sighand().lock();
        let pt = &mut hand.ptrace;
        pt.stopped = false;
        pt.listening = false;
        let signo = core::mem::take(&mut pt.exit_code);
        let resumed = Resumed {
            signo: if fatal { 0 } else { signo },
            info: pt.last_siginfo.take(),
            syscallno: pt.regs.syscallno,
        };
        // The registers come back as the tracer left them; the FP/SIMD registers (528 bytes)
        // and TLS only when it wrote them, as most stops (every syscall stop of strace) do not.
        frame.clone_from(&pt.regs.frame);
        let fp_and_tls = if pt.regs_written {
            Some((pt.regs.fpsimd, pt.regs.tls))
        } else {
            None
        };
        (resumed, fp_and_tls, pt.syscall_trace)
    };
    if let Some((fpsimd, tls)) = fp_and_tls {
        crate::process::set_current_fpsimd(&task, &fpsimd);
        arch::context::set_tpidr_el0(tls);
    }
    process.set_ptrace_syscall(syscall_trace);
    Some(resumed)
}

/// Signal-delivery-stop (Linux: `ptrace_signal`): the tracee stops with the signal `info`
/// it dequeued, before its action. `None` if it did not stop (the signal goes on as it is);
/// else the signal the tracer chose (0: none) and its `siginfo`: the stop's (rewritten by
/// `PTRACE_SETSIGINFO` maybe) if it is the same signal, one from the tracer (`SI_USER`)
/// otherwise.
pub fn signal_delivery_stop(
    process: &mut Process,
    frame: &mut TrapFrame,
    info: KSigInfo,
) -> Option<(u32, KSigInfo)> {
    let tracer = process.shared().tracer_pid();
    let resumed = ptrace_stop(process, frame, info.signo, CLD_TRAPPED, 0, Some(info), -1)?;
    let signo = resumed.signo;
    let info = resumed.info.unwrap_or(info);
    if signo == 0 || info.signo == signo {
        return Some((signo, info));
    }
    Some((
        signo,
        KSigInfo {
            signo,
            code: SI_USER,
            fields: SigFields::Kill {
                pid: tracer,
                uid: 0,
            },
        },
    ))
}

/// A traced task's group stop for stop signal `signo` (Linux: `do_jobctl_trap`): a seized
/// tracee reports `PTRACE_EVENT_STOP` with the signal, an attached one the bare signal.
pub fn group_stop(process: &mut Process, frame: &mut TrapFrame, signo: u32) {
    let seized = process.shared().sighand().lock().ptrace.seized;
    let pid = process.pid();
    let (report, info) = if seized {
        let report = signo | PTRACE_EVENT_STOP << 8;
        (report, Some(report_info(signo, report, pid)))
    } else {
        (signo, None)
    };
    let _ = ptrace_stop(process, frame, report, CLD_STOPPED, 0, info, -1);
}

/// Whether a trap the tracer asked for is due ([`Ptrace::trap_stop`]).
pub fn trap_pending(process: &Process) -> bool {
    let hand = process.shared().sighand().lock();
    if !hand.ptrace.trap_stop {
        // None due (another stop answered it, or the tracer left): a wake-up flag still set
        // would end every sleep. Cleared under the lock the tracer sets both under.
        sched::current_task().set_ptrace_trap(false);
    }
    hand.ptrace.trap_stop
}

/// The trap `PTRACE_INTERRUPT` or an attach to a stopped process asked for: a group-stop
/// report, with the stop signal while the group is stopped, SIGTRAP otherwise.
pub fn trap_stop(process: &mut Process, frame: &mut TrapFrame) {
    let signo = {
        let mut hand = process.shared().sighand().lock();
        hand.ptrace.trap_stop = false;
        sched::current_task().set_ptrace_trap(false);
        if !hand.ptrace.traced() {
            return;
        }
        // Sleeping in a group stop until now: the ptrace stop takes its place.
        hand.jobctl.leave_stop();
        match hand.jobctl.stop_signal() {
            signo if hand.jobctl.group_stopped() && signo != 0 => signo,
            _ => SIGTRAP,
        }
    };
    group_stop(process, frame, signo);
}

/// The running process's own signal `signo`, from its tracer's resume (Linux: `send_sig` of
/// `exit_code` after a syscall or event stop).
fn send_resume_signal(process: &Process, signo: u32) {
    if signo != 0 {
        let tracer = process.shared().tracer_pid();
        let _ = psignal::send_signal(process.pid(), signo, SI_USER, tracer);
    }
}

/// A `PTRACE_EVENT_*` stop with `message` for `GETEVENTMSG`, if the tracer asked for the
/// event (Linux: `ptrace_event`); without `PTRACE_O_TRACEEXEC`, an exec of a tracee attached
/// by `PTRACE_TRACEME` or `PTRACE_ATTACH` raises SIGTRAP instead (the legacy way).
pub fn event(process: &mut Process, frame: &mut TrapFrame, event: u32, message: u64) {
    let (enabled, legacy_exec) = {
        let hand = process.shared().sighand().lock();
        let pt = &hand.ptrace;
        (
            pt.event_enabled(event),
            event == PTRACE_EVENT_EXEC && pt.traced() && !pt.seized,
        )
    };
    if enabled {
        let report = event_report(event);
        let info = report_info(SIGTRAP, report, process.pid());
        let syscallno = frame.regs[8] as i32;
        if let Some(resumed) = ptrace_stop(
            process,
            frame,
            report,
            CLD_TRAPPED,
            message,
            Some(info),
            syscallno,
        ) {
            send_resume_signal(process, resumed.signo);
            // A stop inside a syscall: the way back to EL0 goes through the run loop, which
            // looks at what the tracer asked (`PTRACE_SYSCALL`, the FP/SIMD registers).
            process.set_syscall_work();
        }
    } else if legacy_exec {
        let _ = psignal::send_signal(process.pid(), SIGTRAP, SI_USER, 0);
    }
}

/// Which event a fork is (Linux: `kernel_clone`): vfork, clone (an exit signal other than
/// SIGCHLD) or fork.
pub fn fork_event(args: &CloneArgs) -> u32 {
    if args.vfork {
        PTRACE_EVENT_VFORK
    } else if args.exit_signal != SIGCHLD {
        PTRACE_EVENT_CLONE
    } else {
        PTRACE_EVENT_FORK
    }
}

/// Makes `child` (the new child's state) traced by `parent`'s tracer when the tracer asked
/// for `event` (Linux: `ptrace_init_task`): same tracer and options; a seized child gets a
/// group-stop trap, the caller sends another one SIGSTOP. Whether it is traced.
pub fn attach_child(parent: &ProcShared, event: u32, child: &mut Ptrace) -> bool {
    let hand = parent.sighand().lock();
    let pt = &hand.ptrace;
    if !pt.event_enabled(event) {
        return false;
    }
    child.tracer = pt.tracer;
    child.seized = pt.seized;
    child.options = pt.options;
    child.trap_stop = pt.seized;
    true
}

/// A syscall of a tracee resumed with `PTRACE_SYSCALL` (Linux: `el0_svc_common` with
/// syscall work): the entry stop, the syscall unless the tracer set its number to -1 (or
/// SIGKILL came), and the exit stop if the tracer still asks for it. A syscall of number -1
/// returns `ENOSYS` unless the tracer sets x0.
pub fn traced_syscall(process: &mut Process, frame: &mut TrapFrame) {
    let nr = frame.regs[8] as i32;
    if nr == -1 {
        frame.regs[0] = (-i64::from(Errno::ENOSYS.code())) as u64;
    }
    let nr = syscall_stop(process, frame, PTRACE_SYSCALL_ENTER, nr);
    if nr != -1 {
        crate::syscall::invoke_syscall_nr(process, frame, u64::from(nr as u32));
    }
    if !process.exiting() {
        syscall_stop(process, frame, PTRACE_SYSCALL_EXIT, nr);
    }
}

/// A syscall-entry or -exit stop (Linux arm64: `report_syscall`), if the tracer still asks
/// for them: x7 says which (0 entry, 1 exit) during the stop and gets its value back after.
/// Returns the syscall number to run, as the tracer left it (-1: skip).
fn syscall_stop(process: &mut Process, frame: &mut TrapFrame, dir: u64, nr: i32) -> i32 {
    if !process.ptrace_syscall() {
        return nr;
    }
    let options = process.shared().sighand().lock().ptrace.options;
    let report = syscall_report(options);
    let info = report_info(SIGTRAP, report, process.pid());
    let saved = frame.regs[7];
    frame.regs[7] = dir;
    let message = if dir == PTRACE_SYSCALL_ENTER {
        PTRACE_EVENTMSG_SYSCALL_ENTRY
    } else {
        PTRACE_EVENTMSG_SYSCALL_EXIT
    };
    let resumed = ptrace_stop(process, frame, report, CLD_TRAPPED, message, Some(info), nr);
    frame.regs[7] = saved;
    let task = sched::current_task();
    if fatal_pending(&task) {
        return -1;
    }
    match resumed {
        Some(resumed) => {
            send_resume_signal(process, resumed.signo);
            resumed.syscallno
        }
        None => nr,
    }
}

/// The tracer `tracer` is exiting (Linux: `exit_ptrace`): each of its tracees is detached,
/// or killed with `PTRACE_O_EXITKILL`; a stopped one resumes, and a zombie one goes back to
/// its real parent to be reaped. One tracee at a time, found and unlinked under the table's
/// lock, so nothing is allocated and none is missed.
pub fn exit_ptrace(tracer: Pid) {
    while let Some((tracee, options)) = crate::process::untrace_one(tracer) {
        let pid = tracee.pid();
        if options & PTRACE_O_EXITKILL != 0 {
            let _ = psignal::send_signal(pid, SIGKILL, SI_KERNEL, 0);
        }
        if let Some(task) = sched::find_task_by_pid(pid) {
            // No more stepping: a stray step trap would kill it. SPSR.SS, left in its
            // registers, means nothing without MDSCR_EL1.SS.
            arch::debug_monitors::user_disable_single_step(task.debug());
            sched::wake_up_state(&task, sched::TaskState::Stopped);
        }
    }
}
