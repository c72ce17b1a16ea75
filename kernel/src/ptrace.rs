//! ptrace(2) for user processes (Linux: `kernel/ptrace.c`, the stops of `kernel/signal.c`,
//! `arch/arm64/kernel/ptrace.c`), for processes of one thread each.
//!
//! A traced process keeps its tracer's pid and the state of its stops in [`Ptrace`], beside
//! its signal actions and job-control state (under the same lock, as Linux keeps `jobctl`
//! and the stop's `exit_code` under `siglock`). The tracee stops itself, always on its own
//! way back to EL0 or inside one of its syscalls ([`stop`]): it saves its registers
//! ([`regset::TraceeRegs`]), records the stop's report (Linux's `task->exit_code`: the signal,
//! with an event in bits 8-15), tells its tracer (SIGCHLD with `CLD_TRAPPED`, and a wake-up
//! of its `wait4`) and sleeps until the tracer resumes it, then takes back the registers the
//! tracer may have changed and the signal it gave. The tracer's requests ([`request`]) only
//! ever touch that saved copy, the tracee's address space (through its page tables, see
//! `process::mm::access_process_vm`) and these fields, never a running task.
//!
//! The stops, as Linux makes them: signal-delivery-stop (every signal but SIGKILL, before its
//! action), group-stop (a stop signal's; `PTRACE_EVENT_STOP` for a seized tracee, also after
//! `PTRACE_INTERRUPT`), syscall-entry and -exit stops after `PTRACE_SYSCALL` (SIGTRAP, `| 0x80`
//! with `PTRACE_O_TRACESYSGOOD`; x7 says which, 0 entry, 1 exit), and the `PTRACE_EVENT_*`
//! stops the options ask for (fork, vfork, clone, exec, vfork-done, exit). `wait4` reports
//! them to the tracer with `(report << 8) | 0x7f` (`process::wait4`).
//!
//! `PTRACE_SINGLESTEP` and the hardware breakpoint and watchpoint sets use the debug
//! monitors' per-task state (`process::debug`): a step or a hit comes back as a SIGTRAP, hence
//! as a signal-delivery-stop.
//!
//! This file holds the ABI and the pure decisions (status words, options, the
//! `PTRACE_GET_SYSCALL_INFO` layout); the register sets are [`regset`]'s.

pub mod regset;
#[cfg(target_os = "none")]
pub mod request;
#[cfg(target_os = "none")]
pub mod stop;

use crate::fs::Errno;
use crate::signal::{KSigInfo, SIGTRAP, WaitStatus};

// Requests (include/uapi/linux/ptrace.h).
pub const PTRACE_TRACEME: u64 = 0;
pub const PTRACE_PEEKTEXT: u64 = 1;
pub const PTRACE_PEEKDATA: u64 = 2;
pub const PTRACE_PEEKUSR: u64 = 3;
pub const PTRACE_POKETEXT: u64 = 4;
pub const PTRACE_POKEDATA: u64 = 5;
pub const PTRACE_POKEUSR: u64 = 6;
pub const PTRACE_CONT: u64 = 7;
pub const PTRACE_KILL: u64 = 8;
pub const PTRACE_SINGLESTEP: u64 = 9;
pub const PTRACE_ATTACH: u64 = 16;
pub const PTRACE_DETACH: u64 = 17;
pub const PTRACE_SYSCALL: u64 = 24;
pub const PTRACE_SETOPTIONS: u64 = 0x4200;
pub const PTRACE_GETEVENTMSG: u64 = 0x4201;
pub const PTRACE_GETSIGINFO: u64 = 0x4202;
pub const PTRACE_SETSIGINFO: u64 = 0x4203;
pub const PTRACE_GETREGSET: u64 = 0x4204;
pub const PTRACE_SETREGSET: u64 = 0x4205;
pub const PTRACE_SEIZE: u64 = 0x4206;
pub const PTRACE_INTERRUPT: u64 = 0x4207;
pub const PTRACE_LISTEN: u64 = 0x4208;
pub const PTRACE_GET_SYSCALL_INFO: u64 = 0x420e;

// Events: a stop's report is `SIGTRAP | event << 8`.
pub const PTRACE_EVENT_FORK: u32 = 1;
pub const PTRACE_EVENT_VFORK: u32 = 2;
pub const PTRACE_EVENT_CLONE: u32 = 3;
pub const PTRACE_EVENT_EXEC: u32 = 4;
pub const PTRACE_EVENT_VFORK_DONE: u32 = 5;
pub const PTRACE_EVENT_EXIT: u32 = 6;
pub const PTRACE_EVENT_SECCOMP: u32 = 7;
pub const PTRACE_EVENT_STOP: u32 = 128;

// Options: bit `event - 1` asks for the event's stops.
pub const PTRACE_O_TRACESYSGOOD: u32 = 1;
pub const PTRACE_O_TRACEFORK: u32 = 1 << PTRACE_EVENT_FORK;
pub const PTRACE_O_TRACEVFORK: u32 = 1 << PTRACE_EVENT_VFORK;
pub const PTRACE_O_TRACECLONE: u32 = 1 << PTRACE_EVENT_CLONE;
pub const PTRACE_O_TRACEEXEC: u32 = 1 << PTRACE_EVENT_EXEC;
pub const PTRACE_O_TRACEVFORKDONE: u32 = 1 << PTRACE_EVENT_VFORK_DONE;
pub const PTRACE_O_TRACEEXIT: u32 = 1 << PTRACE_EVENT_EXIT;
pub const PTRACE_O_TRACESECCOMP: u32 = 1 << PTRACE_EVENT_SECCOMP;
pub const PTRACE_O_EXITKILL: u32 = 1 << 20;
pub const PTRACE_O_SUSPEND_SECCOMP: u32 = 1 << 21;
pub const PTRACE_O_MASK: u64 =
    0x0000_00ff | PTRACE_O_EXITKILL as u64 | PTRACE_O_SUSPEND_SECCOMP as u64;

/// The report of a syscall stop with `PTRACE_O_TRACESYSGOOD`: SIGTRAP with bit 7 set.
pub const SYSCALL_TRAP_BIT: u32 = 0x80;

/// x7 at a syscall stop (Linux's `enum ptrace_syscall_dir`).
pub const PTRACE_SYSCALL_ENTER: u64 = 0;
pub const PTRACE_SYSCALL_EXIT: u64 = 1;

/// `GETEVENTMSG` at a syscall-entry and a syscall-exit stop.
pub const PTRACE_EVENTMSG_SYSCALL_ENTRY: u64 = 1;
pub const PTRACE_EVENTMSG_SYSCALL_EXIT: u64 = 2;

// `struct ptrace_syscall_info`'s `op`.
pub const PTRACE_SYSCALL_INFO_NONE: u8 = 0;
pub const PTRACE_SYSCALL_INFO_ENTRY: u8 = 1;
pub const PTRACE_SYSCALL_INFO_EXIT: u8 = 2;
/// `AUDIT_ARCH_AARCH64`: `EM_AARCH64` (183), 64-bit, little-endian.
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// `sizeof(struct ptrace_syscall_info)`: the seccomp member is the largest.
pub const PTRACE_SYSCALL_INFO_SIZE: usize = 88;
/// Linux's `MAX_ERRNO`: x0 from -4095 to -1 is an error.
const MAX_ERRNO: u64 = 4095;

/// `PTRACE_GET_SYSCALL_INFO`'s `struct ptrace_syscall_info` for a stop with `si_code` and
/// `message` and registers `regs`, and its size as Linux counts it (`actual_size`: up to the
/// end of the member that applies): a syscall-entry stop gives the number and x0-x5
/// (`op` ENTRY, 80 bytes), a syscall-exit stop the value or the error (`op` EXIT, 33 bytes),
/// any other stop only the pc and sp (`op` NONE, 24 bytes). Syscall stops are told apart by
/// their `SIGTRAP | 0x80` code, so only with `PTRACE_O_TRACESYSGOOD`, as on Linux.
pub fn syscall_info(
    regs: &regset::TraceeRegs,
    si_code: Option<i32>,
    message: u64,
) -> ([u8; PTRACE_SYSCALL_INFO_SIZE], usize) {
    let mut out = [0u8; PTRACE_SYSCALL_INFO_SIZE];
    let f = &regs.frame;
    out[4..8].copy_from_slice(&AUDIT_ARCH_AARCH64.to_le_bytes());
    out[8..16].copy_from_slice(&f.pc.to_le_bytes());
    out[16..24].copy_from_slice(&f.sp.to_le_bytes());
    let syscall_stop = si_code == Some((SIGTRAP | SYSCALL_TRAP_BIT) as i32);
    let size = match message {
        PTRACE_EVENTMSG_SYSCALL_ENTRY if syscall_stop => {
            out[0] = PTRACE_SYSCALL_INFO_ENTRY;
            out[24..32].copy_from_slice(&i64::from(regs.syscallno).to_le_bytes());
            for (i, arg) in f.regs[..6].iter().enumerate() {
                out[32 + i * 8..40 + i * 8].copy_from_slice(&arg.to_le_bytes());
            }
            80
        }
        PTRACE_EVENTMSG_SYSCALL_EXIT if syscall_stop => {
            out[0] = PTRACE_SYSCALL_INFO_EXIT;
            let x0 = f.regs[0];
            let is_error = x0 >= MAX_ERRNO.wrapping_neg();
            out[24..32].copy_from_slice(&x0.to_le_bytes());
            out[32] = u8::from(is_error);
            33
        }
        _ => {
            out[0] = PTRACE_SYSCALL_INFO_NONE;
            24
        }
    };
    (out, size)
}

/// The options `PTRACE_SETOPTIONS` (and `PTRACE_SEIZE`'s data) may set (Linux's
/// `check_ptrace_options`): `EINVAL` for bits that are no option, and for
/// `PTRACE_O_SUSPEND_SECCOMP`, which needs seccomp (there is none here).
/// `PTRACE_O_TRACESECCOMP` is taken, as Linux takes it, and never fires.
pub fn check_options(data: u64) -> Result<u32, Errno> {
    if data & !PTRACE_O_MASK != 0 || data & u64::from(PTRACE_O_SUSPEND_SECCOMP) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(data as u32)
}

/// The report (Linux's `exit_code`) of a `PTRACE_EVENT_*` stop: SIGTRAP with the event
/// above it.
pub const fn event_report(event: u32) -> u32 {
    (event << 8) | SIGTRAP
}

/// The report of a syscall-entry or -exit stop.
pub const fn syscall_report(options: u32) -> u32 {
    if options & PTRACE_O_TRACESYSGOOD != 0 {
        SIGTRAP | SYSCALL_TRAP_BIT
    } else {
        SIGTRAP
    }
}

/// The `wait4` status of a ptrace stop with `report` (Linux's `wait_task_stopped` for a
/// tracee: `(exit_code << 8) | 0x7f`): `WSTOPSIG` is the signal (with 0x80 for a
/// TRACESYSGOOD syscall stop) and the event is in bits 16-23.
pub const fn stop_status(report: u32) -> WaitStatus {
    WaitStatus((report << 8) | 0x7f)
}

/// Whether a stop's report is a `PTRACE_EVENT_STOP` (what `PTRACE_LISTEN` needs).
pub const fn is_event_stop(code: i32) -> bool {
    (code >> 8) as u32 == PTRACE_EVENT_STOP
}

/// A process's side of ptrace (Linux: `task->ptrace`, `parent` while traced, `exit_code`,
/// `last_siginfo`, `ptrace_message` and the ptrace bits of `jobctl`), kept under its signal
/// lock.
#[derive(Clone, Debug)]
pub struct Ptrace {
    /// The tracer's pid; 0 when not traced.
    pub tracer: u32,
    /// Attached by `PTRACE_SEIZE` (Linux's `PT_SEIZED`): group-stops are `PTRACE_EVENT_STOP`s,
    /// `INTERRUPT` and `LISTEN` work, no SIGSTOP was sent.
    pub seized: bool,
    /// `PTRACE_O_*`.
    pub options: u32,
    /// `PTRACE_GETEVENTMSG`'s value: a new child's pid, the exit status.
    pub message: u64,
    /// In a ptrace stop (Linux's `TASK_TRACED`): the tracer may operate on it.
    pub stopped: bool,
    /// The stop's report until `wait4` takes it (0 after); once resumed, the signal the tracer
    /// gave (Linux's `exit_code`).
    pub exit_code: u32,
    /// The `siginfo` of the stop (`GETSIGINFO`/`SETSIGINFO`), `None` when not stopped.
    pub last_siginfo: Option<KSigInfo>,
    /// Resumed with `PTRACE_SYSCALL` (Linux's `TIF_SYSCALL_TRACE`).
    pub syscall_trace: bool,
    /// A group-stop trap is due (Linux's `JOBCTL_TRAP_STOP`): after `PTRACE_INTERRUPT`, or an
    /// attach to a process already stopped.
    pub trap_stop: bool,
    /// `PTRACE_LISTEN`: still stopped, but a change of the group stop (SIGCONT) re-traps it.
    pub listening: bool,
    /// Whether the group was stopped when `PTRACE_LISTEN` came.
    pub listen_group_stopped: bool,
    /// The tracee's registers while it is stopped.
    pub regs: regset::TraceeRegs,
    /// The tracer wrote the FP/SIMD or TLS registers: the tracee reloads them.
    pub regs_written: bool,
}

impl Ptrace {
    /// Not traced.
    pub const fn new() -> Self {
        Self {
            tracer: 0,
            seized: false,
            options: 0,
            message: 0,
            stopped: false,
            exit_code: 0,
            last_siginfo: None,
            syscall_trace: false,
            trap_stop: false,
            listening: false,
            listen_group_stopped: false,
            regs: regset::TraceeRegs::ZERO,
            regs_written: false,
        }
    }

    pub const fn traced(&self) -> bool {
        self.tracer != 0
    }

    /// The event `event`'s stops were asked for.
    pub const fn event_enabled(&self, event: u32) -> bool {
        self.traced() && self.options & (1 << event) != 0
    }

    /// `wait4`'s report of the tracee's stop to its tracer, taken once (Linux:
    /// `wait_task_stopped` with `ptrace`).
    pub fn take_report(&mut self) -> Option<WaitStatus> {
        if !self.stopped || self.exit_code == 0 {
            return None;
        }
        Some(stop_status(core::mem::take(&mut self.exit_code)))
    }

    /// Whether [`Self::take_report`] would report something.
    pub const fn report_ready(&self) -> bool {
        self.stopped && self.exit_code != 0
    }

    /// SIGKILL came: the stop ends now, before the tracee runs again, so its report is no
    /// longer there for `wait4` and requests get `ESRCH` (Linux: `signal_wake_up`'s fatal case
    /// clears `JOBCTL_TRACED`). The tracee, woken, finds the SIGKILL and takes no signal.
    pub fn end_stop_for_kill(&mut self) {
        if self.stopped {
            self.stopped = false;
            self.listening = false;
            self.exit_code = 0;
        }
    }

    /// Ends the tracing (Linux: `__ptrace_unlink`): the tracee, if stopped, resumes with
    /// `signo` (0: none).
    pub fn unlink(&mut self, signo: u32) {
        let regs = core::mem::replace(&mut self.regs, regset::TraceeRegs::ZERO);
        let written = self.regs_written;
        let stopped = self.stopped;
        *self = Self::new();
        // A stopped tracee still takes back what the tracer wrote, and the signal.
        self.regs = regs;
        self.regs_written = written;
        self.exit_code = if stopped { signo } else { 0 };
    }
}

impl Default for Ptrace {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{SIGSTOP, SIGUSR1};

    #[test]
    fn status_words_are_linux() {
        // A signal-delivery-stop: WIFSTOPPED, WSTOPSIG = the signal.
        let s = stop_status(SIGSTOP);
        assert_eq!(s.0, 0x137f);
        assert!(s.if_stopped() && s.stop_sig() == SIGSTOP);
        // A syscall stop with TRACESYSGOOD: WSTOPSIG = SIGTRAP | 0x80.
        assert_eq!(syscall_report(PTRACE_O_TRACESYSGOOD), 0x85);
        assert_eq!(stop_status(syscall_report(PTRACE_O_TRACESYSGOOD)).0, 0x857f);
        assert_eq!(syscall_report(0), SIGTRAP);
        // Events: status >> 8 == SIGTRAP | event << 8.
        assert_eq!(stop_status(event_report(PTRACE_EVENT_FORK)).0, 0x1057f);
        assert_eq!(stop_status(event_report(PTRACE_EVENT_EXEC)).0, 0x4057f);
        assert_eq!(stop_status(event_report(PTRACE_EVENT_EXIT)).0, 0x6057f);
        // A seized group stop: SIGSTOP with PTRACE_EVENT_STOP.
        let g = stop_status(SIGSTOP | PTRACE_EVENT_STOP << 8);
        assert_eq!(g.0, 0x80137f);
        assert!(g.if_stopped() && g.stop_sig() == SIGSTOP);
        assert!(is_event_stop((SIGTRAP | PTRACE_EVENT_STOP << 8) as i32));
        assert!(!is_event_stop(event_report(PTRACE_EVENT_EXIT) as i32));
    }

    #[test]
    fn syscall_info_layout() {
        let mut regs = regset::TraceeRegs::ZERO;
        regs.frame.pc = 0x40_1000;
        regs.frame.sp = 0x7fff_f000;
        regs.frame.regs[..6].copy_from_slice(&[1, 0x4000, 6, 0, 0, 0]);
        regs.syscallno = 64;
        let code = Some((SIGTRAP | SYSCALL_TRAP_BIT) as i32);
        let (info, size) = syscall_info(&regs, code, PTRACE_EVENTMSG_SYSCALL_ENTRY);
        assert_eq!(size, 80);
        assert_eq!(info[0], PTRACE_SYSCALL_INFO_ENTRY);
        assert_eq!(&info[4..8], &[0xb7, 0, 0, 0xc0]);
        assert_eq!(&info[8..16], &0x40_1000u64.to_le_bytes());
        assert_eq!(&info[16..24], &0x7fff_f000u64.to_le_bytes());
        assert_eq!(&info[24..32], &64u64.to_le_bytes());
        assert_eq!(&info[32..40], &1u64.to_le_bytes());
        assert_eq!(&info[40..48], &0x4000u64.to_le_bytes());
        // Exit: a value, then an error.
        regs.frame.regs[0] = 6;
        let (info, size) = syscall_info(&regs, code, PTRACE_EVENTMSG_SYSCALL_EXIT);
        assert_eq!((size, info[0], info[32]), (33, PTRACE_SYSCALL_INFO_EXIT, 0));
        assert_eq!(&info[24..32], &6u64.to_le_bytes());
        regs.frame.regs[0] = (-2i64) as u64;
        let (info, _) = syscall_info(&regs, code, PTRACE_EVENTMSG_SYSCALL_EXIT);
        assert_eq!(info[32], 1);
        assert_eq!(&info[24..32], &(-2i64).to_le_bytes());
        regs.frame.regs[0] = (-4096i64) as u64;
        assert_eq!(
            syscall_info(&regs, code, PTRACE_EVENTMSG_SYSCALL_EXIT).0[32],
            0
        );
        // Without TRACESYSGOOD, or at another stop: only pc and sp.
        let (info, size) = syscall_info(&regs, Some(SIGTRAP as i32), PTRACE_EVENTMSG_SYSCALL_ENTRY);
        assert_eq!((size, info[0]), (24, PTRACE_SYSCALL_INFO_NONE));
        assert_eq!(syscall_info(&regs, None, 0).1, 24);
    }

    #[test]
    fn options_are_validated() {
        let all = PTRACE_O_TRACESYSGOOD
            | PTRACE_O_TRACEFORK
            | PTRACE_O_TRACEVFORK
            | PTRACE_O_TRACECLONE
            | PTRACE_O_TRACEEXEC
            | PTRACE_O_TRACEVFORKDONE
            | PTRACE_O_TRACEEXIT
            | PTRACE_O_TRACESECCOMP
            | PTRACE_O_EXITKILL;
        assert_eq!(check_options(u64::from(all)), Ok(all));
        assert_eq!(check_options(0), Ok(0));
        assert_eq!(check_options(1 << 8), Err(Errno::EINVAL));
        assert_eq!(check_options(1 << 32), Err(Errno::EINVAL));
        assert_eq!(
            check_options(u64::from(PTRACE_O_SUSPEND_SECCOMP)),
            Err(Errno::EINVAL)
        );
        assert_eq!(PTRACE_O_TRACEEXIT, 0x40);
        assert_eq!(PTRACE_O_EXITKILL, 0x10_0000);
    }

    #[test]
    fn a_report_is_taken_once_and_unlink_resumes() {
        let mut p = Ptrace::new();
        assert!(!p.traced() && p.take_report().is_none());
        p.tracer = 5;
        p.options = PTRACE_O_TRACEEXIT;
        assert!(p.event_enabled(PTRACE_EVENT_EXIT) && !p.event_enabled(PTRACE_EVENT_FORK));
        p.stopped = true;
        p.exit_code = SIGUSR1;
        assert!(p.report_ready());
        assert_eq!(p.take_report(), Some(stop_status(SIGUSR1)));
        assert_eq!(p.take_report(), None);
        p.regs.tls = 9;
        p.unlink(SIGUSR1);
        assert!(!p.traced() && !p.stopped && p.options == 0);
        assert_eq!((p.exit_code, p.regs.tls), (SIGUSR1, 9));
    }

    #[test]
    fn sigkill_withdraws_an_untaken_report() {
        let mut p = Ptrace::new();
        p.tracer = 5;
        p.stopped = true;
        p.listening = true;
        p.exit_code = SIGUSR1;
        p.end_stop_for_kill();
        assert!(!p.stopped && !p.listening && !p.report_ready());
        assert_eq!(p.take_report(), None);
        assert!(p.traced(), "still traced: the exit stop may follow");
        // Not stopped (resumed with a signal not yet taken): nothing changes.
        p.exit_code = SIGUSR1;
        p.end_stop_for_kill();
        assert_eq!(p.exit_code, SIGUSR1);
    }
}
