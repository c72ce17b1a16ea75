//! Signals with Linux's arm64 ABI (Linux: `kernel/signal.c`, `arch/arm64/kernel/signal.c`):
//! numbers and names, `struct sigaction` as `rt_sigaction` takes it, default actions, the
//! `siginfo` a signal carries, the `rt_sigframe` a handler runs on (siginfo, then a ucontext
//! whose sigcontext holds the registers and, in `__reserved`, an `fpsimd_context` record, an
//! `esr_context` for faults, and the null terminator), which signal an exception from EL0 raises
//! (Linux: `arch/arm64/mm/fault.c` `fault_info`, `do_el0_undef`, `do_sp_pc_abort`, the BRK and
//! step handlers), and the `wait4` status words (`WIFEXITED`, `WIFSIGNALED`, the core flag).
//!
//! The layouts and decisions here are pure and tested on the host; delivery (choosing a
//! pending signal, writing the frame to the user stack, `rt_sigreturn`) is in
//! `crate::process::signal`, on the return-to-user path.

use arch::esr::{self, Esr};

use crate::fs::Errno;

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGPIPE: u32 = 13;
pub const SIGTERM: u32 = 15;
pub const SIGCHLD: u32 = 17;
pub const SIGUSR1: u32 = 10;
pub const SIGUSR2: u32 = 12;
pub const SIGALRM: u32 = 14;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
/// Signals are 1..=_NSIG.
pub const _NSIG: u32 = 64;

/// The mask bit of `signo` (Linux's `sigmask`); 0 for a number out of range.
pub const fn sigmask(signo: u32) -> u64 {
    if signo == 0 || signo > _NSIG {
        0
    } else {
        1 << (signo - 1)
    }
}

/// What can never be blocked, caught or ignored.
pub const UNBLOCKABLE: u64 = sigmask(SIGKILL) | sigmask(SIGSTOP);

/// The signals whose default action stops the process (Linux's `SIG_KERNEL_STOP_MASK`).
pub const STOP_MASK: u64 =
    sigmask(SIGSTOP) | sigmask(SIGTSTP) | sigmask(SIGTTIN) | sigmask(SIGTTOU);

// sa_flags (include/uapi/asm-generic/signal.h).
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

// rt_sigprocmask's `how`.
pub const SIG_BLOCK: u64 = 0;
pub const SIG_UNBLOCK: u64 = 1;
pub const SIG_SETMASK: u64 = 2;

/// `struct sigaction` as arm64's `rt_sigaction` reads and writes it: handler, flags,
/// restorer, mask.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// What a signal does when its action is `SIG_DFL` (Linux's `SIG_KERNEL_*_MASK`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    /// Terminate with a core dump (none is written here: see [`WaitStatus::signaled`]).
    Core,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(signo: u32) -> DefaultAction {
    match signo {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::Core,
        _ => DefaultAction::Terminate,
    }
}

/// Whether a signal sent now would be discarded at once (Linux's `sig_ignored`, for an
/// unblocked signal): its action is `SIG_IGN`, or `SIG_DFL` with a default of ignoring
/// (SIGCONT included: its continuing is done when it is sent, Linux's `sig_kernel_ignore`).
/// SIGKILL and SIGSTOP are never ignored.
pub fn ignored(action: &SigAction, signo: u32) -> bool {
    if sigmask(signo) & UNBLOCKABLE != 0 {
        return false;
    }
    match action.handler {
        SIG_IGN => true,
        SIG_DFL => matches!(
            default_action(signo),
            DefaultAction::Ignore | DefaultAction::Continue
        ),
        _ => false,
    }
}

// si_code values for signals sent by processes and the kernel.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

// si_code values (Linux's uapi/asm-generic/siginfo.h).
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const TRAP_HWBKPT: i32 = 4;

/// A signal with its `si_code`, as a fault raises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u32,
    pub code: i32,
}

/// What a pending signal carries to its handler's `siginfo_t` (Linux's `kernel_siginfo`,
/// the union members our senders use).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KSigInfo {
    pub signo: u32,
    pub code: i32,
    pub fields: SigFields,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigFields {
    /// `kill`, `tgkill`, the kernel: `si_pid`, `si_uid`.
    #[default]
    None,
    Kill {
        pid: u32,
        uid: u32,
    },
    /// A fault: `si_addr`.
    Fault {
        addr: u64,
    },
    /// SIGCHLD: `si_pid`, `si_uid`, `si_status` (exit code or signal).
    Child {
        pid: u32,
        uid: u32,
        status: i32,
    },
}

/// `sizeof(siginfo_t)`.
pub const SI_MAX_SIZE: usize = 128;

impl KSigInfo {
    /// The user `siginfo_t` (Linux's layout on a 64-bit kernel: signo, errno, code, then the
    /// union at offset 16).
    pub fn to_user(&self) -> [u8; SI_MAX_SIZE] {
        let mut out = [0u8; SI_MAX_SIZE];
        let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, &self.signo.to_le_bytes());
        put(8, &self.code.to_le_bytes());
        match self.fields {
            SigFields::None => {}
            SigFields::Kill { pid, uid } => {
                put(16, &pid.to_le_bytes());
                put(20, &uid.to_le_bytes());
            }
            SigFields::Fault { addr } => put(16, &addr.to_le_bytes()),
            SigFields::Child { pid, uid, status } => {
                put(16, &pid.to_le_bytes());
                put(20, &uid.to_le_bytes());
                put(24, &status.to_le_bytes());
            }
        }
        out
    }

    /// A user `siginfo_t` back (what a tracer gives `PTRACE_SETSIGINFO`), read with the union
    /// member Linux's `siginfo_layout` picks for its signal and code: the fault address for a
    /// fault signal's own codes, the child's pid, uid and status for SIGCHLD's, else the
    /// sender's pid and uid (`kill`, `tkill`, the kernel's `SI_KERNEL` and ptrace's reports).
    pub fn from_user(bytes: &[u8; SI_MAX_SIZE]) -> Self {
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let signo = word(0);
        let code = word(8) as i32;
        let own_code = code > SI_USER && code < SI_KERNEL;
        let fields = match signo {
            SIGILL | SIGFPE | SIGSEGV | SIGBUS | SIGTRAP if own_code => SigFields::Fault {
                addr: u64::from(word(16)) | u64::from(word(20)) << 32,
            },
            SIGCHLD if own_code => SigFields::Child {
                pid: word(16),
                uid: word(20),
                status: word(24) as i32,
            },
            _ => SigFields::Kill {
                pid: word(16),
                uid: word(20),
            },
        };
        Self {
            signo,
            code,
            fields,
        }
    }
}

// The records in `sigcontext.__reserved` (arch/arm64/include/uapi/asm/sigcontext.h).
pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
pub const ESR_MAGIC: u32 = 0x4553_5201;

/// `struct _aarch64_ctx`: every record's header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Aarch64Ctx {
    pub magic: u32,
    pub size: u32,
}

/// `struct fpsimd_context`.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct FpsimdContext {
    pub head: Aarch64Ctx,
    pub fpsr: u32,
    pub fpcr: u32,
    pub vregs: [u128; 32],
}

/// `struct esr_context`: the syndrome of the fault that raised the signal.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EsrContext {
    pub head: Aarch64Ctx,
    pub esr: u64,
}

/// `struct sigcontext`.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct SigContext {
    pub fault_address: u64,
    pub regs: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub pstate: u64,
    pub __reserved: Reserved,
}

/// `sigcontext.__reserved`: 4096 bytes, 16-byte aligned.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct Reserved(pub [u8; 4096]);

/// `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct StackT {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub ss_size: u64,
}

/// `ss_flags` when no alternate stack is set up.
pub const SS_DISABLE: i32 = 2;

/// `struct ucontext` (arm64: a 1024-bit sigset area before the machine context).
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct UContext {
    pub uc_flags: u64,
    pub uc_link: u64,
    pub uc_stack: StackT,
    pub uc_sigmask: u64,
    pub __unused: [u8; 1024 / 8 - 8],
    pub uc_mcontext: SigContext,
}

/// `struct rt_sigframe`: what a handler's x1 and x2 point into.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct RtSigframe {
    pub info: [u8; SI_MAX_SIZE],
    pub uc: UContext,
}

/// `struct frame_record`, pushed above the sigframe so backtraces cross the handler.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameRecord {
    pub fp: u64,
    pub lr: u64,
}

/// Where in `__reserved` each record goes (Linux's `setup_sigframe_layout` order).
pub const FPSIMD_OFFSET: usize = 0;
pub const ESR_OFFSET: usize = size_of::<FpsimdContext>();

/// The frame and record addresses for a handler whose interrupted stack pointer is `sp`
/// (Linux's `get_sigframe`): a frame record just below `sp`, then the 16-byte aligned
/// `rt_sigframe` below it. Returns (frame, frame record).
pub const fn sigframe_addresses(sp: u64) -> (u64, u64) {
    let record = (sp - size_of::<FrameRecord>() as u64) & !15;
    let frame = (record - size_of::<RtSigframe>() as u64) & !15;
    (frame, record)
}

/// Fills `__reserved` with an `fpsimd_context`, an `esr_context` when `esr` is given, and the
/// terminating null record.
pub fn write_reserved(
    reserved: &mut [u8; 4096],
    vregs: &[u128; 32],
    fpsr: u32,
    fpcr: u32,
    esr: Option<u64>,
) {
    reserved.fill(0);
    let mut at = FPSIMD_OFFSET;
    let mut put = |at: &mut usize, bytes: &[u8]| {
        reserved[*at..*at + bytes.len()].copy_from_slice(bytes);
        *at += bytes.len();
    };
    put(&mut at, &FPSIMD_MAGIC.to_le_bytes());
    put(&mut at, &(size_of::<FpsimdContext>() as u32).to_le_bytes());
    put(&mut at, &fpsr.to_le_bytes());
    put(&mut at, &fpcr.to_le_bytes());
    for v in vregs {
        put(&mut at, &v.to_le_bytes());
    }
    if let Some(esr) = esr {
        put(&mut at, &ESR_MAGIC.to_le_bytes());
        put(&mut at, &(size_of::<EsrContext>() as u32).to_le_bytes());
        put(&mut at, &esr.to_le_bytes());
    }
    // The terminator: magic 0, size 0 (already zero).
}

/// Reads the FP/SIMD state back from `__reserved` for `rt_sigreturn` (Linux's
/// `parse_user_sigframe`): records are walked in order up to the null one; an
/// `fpsimd_context` of the right size is required, unknown or malformed records make the frame
/// bad (`None`).
pub fn read_reserved(reserved: &[u8; 4096]) -> Option<([u128; 32], u32, u32)> {
    // Every read is checked: the records come from user memory, and a bad frame must end in
    // `None` (SIGSEGV for the caller), never in a kernel panic.
    let word = |at: usize| {
        Some(u32::from_le_bytes(
            reserved.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let mut at = 0;
    let mut fpsimd = None;
    while at + 8 <= reserved.len() {
        let (magic, size) = (word(at)?, word(at + 4)? as usize);
        if magic != 0 && (size < 8 || at + size > reserved.len()) {
            return None;
        }
        match magic {
            0 if size == 0 => return fpsimd,
            FPSIMD_MAGIC if size == size_of::<FpsimdContext>() && fpsimd.is_none() => {
                let mut vregs = [0u128; 32];
                for (i, v) in vregs.iter_mut().enumerate() {
                    let from = at + 16 + i * 16;
                    *v = u128::from_le_bytes(reserved.get(from..from + 16)?.try_into().ok()?);
                }
                fpsimd = Some((vregs, word(at + 8)?, word(at + 12)?));
            }
            ESR_MAGIC if size == size_of::<EsrContext>() => {}
            _ => return None,
        }
        if size < 8 || size % 16 != 0 && magic != 0 {
            return None;
        }
        at += size;
    }
    None
}

/// The signal a synchronous exception from EL0 raises (other than `svc`, which is a syscall).
pub fn signal_for_exception(esr: Esr) -> SigInfo {
    let info = |signo, code| SigInfo { signo, code };
    match esr.ec() {
        esr::ESR_ELx_EC_DABT_LOW | esr::ESR_ELx_EC_IABT_LOW => match esr.0 & esr::ESR_ELx_FSC {
            // Alignment fault.
            0x21 => info(SIGBUS, BUS_ADRALN),
            // Permission faults, levels 0-3.
            0x0c..=0x0f => info(SIGSEGV, SEGV_ACCERR),
            // Access flag faults count as permission faults here: we never clear AF.
            0x08..=0x0b => info(SIGSEGV, SEGV_ACCERR),
            // Translation and address size faults, and whatever else: not mapped.
            _ => info(SIGSEGV, SEGV_MAPERR),
        },
        esr::ESR_ELx_EC_PC_ALIGN | esr::ESR_ELx_EC_SP_ALIGN => info(SIGBUS, BUS_ADRALN),
        esr::ESR_ELx_EC_BRK64 => info(SIGTRAP, TRAP_BRKPT),
        // A single step of a stepped task (Linux: `single_step_handler`'s
        // `send_user_sigtrap(TRAP_TRACE)`).
        esr::ESR_ELx_EC_SOFTSTP_LOW => info(SIGTRAP, TRAP_TRACE),
        // A hardware breakpoint or watchpoint of the task's (Linux: `ptrace_hbptriggered`).
        esr::ESR_ELx_EC_BREAKPT_LOW | esr::ESR_ELx_EC_WATCHPT_LOW => info(SIGTRAP, TRAP_HWBKPT),
        // Undefined instructions, trapped FP/SIMD (not enabled for EL0 yet), system registers.
        _ => info(SIGILL, ILL_ILLOPC),
    }
}

/// The `siginfo` of the signal an exception from EL0 raises: `si_addr` is the faulting data
/// address for a data abort or a watchpoint (FAR), the instruction's address otherwise (Linux:
/// `far` for aborts, the watchpoint's `trigger`; `pc` for undefined instructions,
/// breakpoints, and a single step, where it is the next instruction to run).
pub fn fault_siginfo(esr: Esr, far: u64, pc: u64) -> KSigInfo {
    let info = signal_for_exception(esr);
    let addr = match esr.ec() {
        esr::ESR_ELx_EC_DABT_LOW
        | esr::ESR_ELx_EC_IABT_LOW
        | esr::ESR_ELx_EC_PC_ALIGN
        | esr::ESR_ELx_EC_WATCHPT_LOW => far,
        _ => pc,
    };
    KSigInfo {
        signo: info.signo,
        code: info.code,
        fields: SigFields::Fault { addr },
    }
}

/// A `wait4` status word (Linux's encoding, `include/uapi/linux/wait.h` readers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitStatus(pub u32);

impl WaitStatus {
    /// `exit(code)`: `WIFEXITED`, `WEXITSTATUS` = the low 8 bits.
    pub const fn exited(code: u64) -> Self {
        Self(((code & 0xff) as u32) << 8)
    }

    /// Killed by `signo`: `WIFSIGNALED`, `WTERMSIG`; `core` sets `WCOREDUMP` (0x80).
    pub const fn signaled(signo: u32, core: bool) -> Self {
        Self((signo & 0x7f) | if core { 0x80 } else { 0 })
    }

    /// Stopped by `signo` (`WUNTRACED`): `WIFSTOPPED`, `WSTOPSIG` (Linux: `(sig << 8) | 0x7f`).
    pub const fn stopped(signo: u32) -> Self {
        Self(((signo & 0xff) << 8) | 0x7f)
    }

    /// Continued by SIGCONT (`WCONTINUED`): `WIFCONTINUED` (Linux: `0xffff`).
    pub const fn continued() -> Self {
        Self(0xffff)
    }

    pub const fn if_exited(self) -> bool {
        self.0 & 0x7f == 0
    }

    pub const fn if_stopped(self) -> bool {
        self.0 & 0xff == 0x7f
    }

    pub const fn stop_sig(self) -> u32 {
        (self.0 >> 8) & 0xff
    }

    pub const fn if_continued(self) -> bool {
        self.0 == 0xffff
    }

    pub const fn exit_status(self) -> u32 {
        (self.0 >> 8) & 0xff
    }

    pub const fn if_signaled(self) -> bool {
        let sig = self.0 & 0x7f;
        sig != 0 && sig != 0x7f
    }

    pub const fn term_sig(self) -> u32 {
        self.0 & 0x7f
    }

    /// What `$?` shows in sh: the exit status, or 128 + the signal.
    pub const fn shell_status(self) -> i32 {
        if self.if_signaled() {
            128 + self.term_sig() as i32
        } else {
            self.exit_status() as i32
        }
    }
}

/// What becomes of a syscall that returned a restart code (Linux: arm64 `do_signal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallRestart {
    /// The `svc` runs again with its original x0 (pc back by 4).
    Restart,
    /// It returns `EINTR`.
    Eintr,
}

/// The fate of a syscall that ended with `code`, when a handler with `sa_flags` runs
/// (`handler`), or none does (the signal was ignored, stopped the process, or none was
/// pending): `None` when `code` is not a restart code (the value stands).
/// `ERESTARTNOINTR` always restarts; `ERESTARTSYS` restarts after a handler only with
/// `SA_RESTART`; `ERESTARTNOHAND` and `ERESTART_RESTARTBLOCK` end in `EINTR` whenever a
/// handler runs; without a handler, every one restarts transparently.
pub fn syscall_restart(code: Errno, handler: Option<u64>) -> Option<SyscallRestart> {
    if !code.is_restart() {
        return None;
    }
    Some(match (code, handler) {
        (_, None) | (Errno::ERESTARTNOINTR, _) => SyscallRestart::Restart,
        (Errno::ERESTARTSYS, Some(flags)) if flags & SA_RESTART != 0 => SyscallRestart::Restart,
        _ => SyscallRestart::Eintr,
    })
}

/// The x0 value of a failed syscall back as its errno, if it is a restart code.
pub fn restart_code(x0: u64) -> Option<Errno> {
    [
        Errno::ERESTARTSYS,
        Errno::ERESTARTNOINTR,
        Errno::ERESTARTNOHAND,
        Errno::ERESTART_RESTARTBLOCK,
    ]
    .into_iter()
    .find(|e| x0 == (-i64::from(e.code())) as u64)
}

// A process's job-control state (Linux: `task->jobctl` bits, include/linux/sched/jobctl.h).
/// The stop signal's number, in the low bits of `jobctl`.
pub const JOBCTL_STOP_SIGMASK: u32 = 0xffff;
/// A stop signal was dequeued: it still counts until the task stops, unless SIGCONT or
/// SIGKILL comes first.
pub const JOBCTL_STOP_DEQUEUED: u32 = 1 << 16;
/// A group stop is pending for the task.
pub const JOBCTL_STOP_PENDING: u32 = 1 << 17;
/// The task counts in `group_stop_count` when it stops.
pub const JOBCTL_STOP_CONSUME: u32 = 1 << 18;
/// The task is stopped for a group stop.
pub const JOBCTL_STOPPED: u32 = 1 << 26;

// `signal->flags` (include/linux/sched/signal.h).
/// The group stop is complete: the process is stopped.
pub const SIGNAL_STOP_STOPPED: u32 = 0x0000_0001;
/// SIGCONT came after a stop: `WCONTINUED` reports it once.
pub const SIGNAL_STOP_CONTINUED: u32 = 0x0000_0002;
/// The parent is owed a SIGCHLD with CLD_CONTINUED or CLD_STOPPED, sent by the task itself.
pub const SIGNAL_CLD_STOPPED: u32 = 0x0000_0010;
pub const SIGNAL_CLD_CONTINUED: u32 = 0x0000_0020;
const SIGNAL_CLD_MASK: u32 = SIGNAL_CLD_STOPPED | SIGNAL_CLD_CONTINUED;
const SIGNAL_STOP_MASK: u32 = SIGNAL_CLD_MASK | SIGNAL_STOP_STOPPED | SIGNAL_STOP_CONTINUED;
/// A fatal signal (SIGKILL) is ending the process: no more stops.
pub const SIGNAL_GROUP_EXIT: u32 = 0x0000_0004;

/// A process's group stop and continue (Linux's `signal_struct` flags, `group_exit_code`,
/// `group_stop_count` and the task's `jobctl`), for one thread: the decisions of
/// `prepare_signal`, `dequeue_signal`, `do_signal_stop`, `get_signal`'s parent notice and
/// `wait_task_stopped`/`wait_task_continued`, kept under the process's signal lock. Shaped as
/// Linux's group stop, so that ptrace's stops can join it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCtl {
    /// The task's `JOBCTL_*` bits and stop signal.
    pub jobctl: u32,
    /// The process's `SIGNAL_*` flags.
    pub flags: u32,
    /// The stop signal while stopping or stopped, until `wait4(WUNTRACED)` takes it.
    pub group_exit_code: u32,
    /// Threads yet to stop for the group stop.
    pub group_stop_count: u32,
}

/// What sending a signal did to the job-control state ([`JobCtl::prepare_signal`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Pending signals to discard (SIGCONT for a stop signal, stop signals for SIGCONT).
    pub flush: u64,
    /// Wake the task if it is stopped (SIGCONT, SIGKILL).
    pub wake_stopped: bool,
}

impl JobCtl {
    fn set_stop_flags(&mut self, flags: u32) {
        self.flags = (self.flags & !SIGNAL_STOP_MASK) | flags;
    }

    fn clear_pending(&mut self) {
        self.jobctl &= !(JOBCTL_STOP_PENDING | JOBCTL_STOP_CONSUME | JOBCTL_STOP_DEQUEUED);
    }

    /// A signal is being sent (Linux: `prepare_signal`, and `complete_signal`'s SIGKILL): a
    /// stop signal discards a pending SIGCONT; SIGCONT discards pending stop signals, cancels
    /// a stop under way, and continues a stopped process (whether or not it blocks, ignores
    /// or catches SIGCONT), owing its parent a CLD_CONTINUED (or CLD_STOPPED, for a stop that
    /// had not completed); SIGKILL ends any stop.
    pub fn prepare_signal(&mut self, signo: u32) -> Prepared {
        let bit = sigmask(signo);
        if self.flags & SIGNAL_GROUP_EXIT != 0 {
            return Prepared::default();
        }
        if bit & STOP_MASK != 0 {
            return Prepared {
                flush: sigmask(SIGCONT),
                wake_stopped: false,
            };
        }
        if signo == SIGKILL {
            self.clear_pending();
            self.jobctl &= !JOBCTL_STOPPED;
            self.flags = SIGNAL_GROUP_EXIT;
            self.group_stop_count = 0;
            return Prepared {
                flush: 0,
                wake_stopped: true,
            };
        }
        if signo != SIGCONT {
            return Prepared::default();
        }
        let why = if self.flags & SIGNAL_STOP_STOPPED != 0 {
            SIGNAL_CLD_CONTINUED
        } else if self.group_stop_count != 0 {
            SIGNAL_CLD_STOPPED
        } else {
            0
        };
        self.clear_pending();
        self.jobctl &= !JOBCTL_STOPPED;
        if why != 0 {
            self.set_stop_flags(why | SIGNAL_STOP_CONTINUED);
            self.group_stop_count = 0;
            self.group_exit_code = 0;
        }
        Prepared {
            flush: STOP_MASK,
            wake_stopped: true,
        }
    }

    /// The task took stop signal `signo` off its pending set (Linux: `dequeue_signal`).
    pub fn dequeued(&mut self, signo: u32) {
        if sigmask(signo) & STOP_MASK != 0 {
            self.jobctl |= JOBCTL_STOP_DEQUEUED;
        }
    }

    /// The task acts on the stop signal `signo` it dequeued (Linux: `do_signal_stop` for a
    /// process with one thread): `None` if SIGCONT or SIGKILL came meanwhile (no stop),
    /// else it stops now, and `Some(true)` when this completes a fresh group stop (the
    /// parent gets CLD_STOPPED).
    pub fn do_signal_stop(&mut self, signo: u32) -> Option<bool> {
        if self.jobctl & JOBCTL_STOP_PENDING == 0 {
            if self.jobctl & JOBCTL_STOP_DEQUEUED == 0 || self.flags & SIGNAL_GROUP_EXIT != 0 {
                return None;
            }
            if self.flags & SIGNAL_STOP_STOPPED == 0 {
                self.group_exit_code = signo;
            }
            self.jobctl = (self.jobctl & !JOBCTL_STOP_SIGMASK)
                | (signo & JOBCTL_STOP_SIGMASK)
                | JOBCTL_STOP_PENDING
                | JOBCTL_STOP_CONSUME;
            self.group_stop_count = 1;
        }
        // task_participate_group_stop
        let consume = self.jobctl & JOBCTL_STOP_CONSUME != 0;
        self.clear_pending();
        let mut notify = false;
        if consume {
            self.group_stop_count = self.group_stop_count.saturating_sub(1);
            if self.group_stop_count == 0 && self.flags & SIGNAL_STOP_STOPPED == 0 {
                self.set_stop_flags(SIGNAL_STOP_STOPPED);
                notify = true;
            }
        }
        self.jobctl |= JOBCTL_STOPPED;
        Some(notify)
    }

    /// Whether the task is (still) stopped: it sleeps until this turns false.
    pub const fn stopped(&self) -> bool {
        self.jobctl & JOBCTL_STOPPED != 0
    }

    /// A traced task's group stop is a ptrace stop instead (Linux: `do_signal_stop` leaves it
    /// to `do_jobctl_trap`): it does not sleep here, the group stays stopped.
    pub fn leave_stop(&mut self) {
        self.jobctl &= !JOBCTL_STOPPED;
    }

    /// A task that ran on during a group stop (traced, resumed by its tracer) joins it again
    /// once untraced: whether it is to sleep stopped now.
    pub fn rejoin_stop(&mut self) -> bool {
        if self.flags & SIGNAL_STOP_STOPPED == 0 || self.jobctl & JOBCTL_STOPPED != 0 {
            return false;
        }
        self.jobctl |= JOBCTL_STOPPED;
        true
    }

    /// Whether a group stop is in effect (Linux: `SIGNAL_STOP_STOPPED`), until SIGCONT.
    pub const fn group_stopped(&self) -> bool {
        self.flags & SIGNAL_STOP_STOPPED != 0
    }

    /// The stop signal of the last group stop (Linux: `jobctl & JOBCTL_STOP_SIGMASK`).
    pub const fn stop_signal(&self) -> u32 {
        self.jobctl & JOBCTL_STOP_SIGMASK
    }

    /// The SIGCHLD code the task owes its parent once it runs again after a SIGCONT (Linux:
    /// `get_signal`'s `SIGNAL_CLD_MASK` check), taken once.
    pub fn take_cld_notice(&mut self) -> Option<i32> {
        if self.flags & SIGNAL_CLD_MASK == 0 {
            return None;
        }
        let why = if self.flags & SIGNAL_CLD_CONTINUED != 0 {
            CLD_CONTINUED
        } else {
            CLD_STOPPED
        };
        self.flags &= !SIGNAL_CLD_MASK;
        Some(why)
    }

    /// `wait4(WUNTRACED)`'s report of a stopped child, once (Linux: `wait_task_stopped`).
    pub fn wait_stopped(&mut self) -> Option<WaitStatus> {
        if self.flags & SIGNAL_STOP_STOPPED == 0 || self.group_exit_code == 0 {
            return None;
        }
        let code = core::mem::take(&mut self.group_exit_code);
        Some(WaitStatus::stopped(code))
    }

    /// `wait4(WCONTINUED)`'s report of a continued child, once (Linux: `wait_task_continued`).
    pub fn wait_continued(&mut self) -> Option<WaitStatus> {
        if self.flags & SIGNAL_STOP_CONTINUED == 0 {
            return None;
        }
        self.flags &= !SIGNAL_STOP_CONTINUED;
        Some(WaitStatus::continued())
    }

    /// Whether a wait with these options would find something to report (without taking it).
    pub const fn wait_ready(&self, untraced: bool, continued: bool) -> bool {
        untraced && self.flags & SIGNAL_STOP_STOPPED != 0 && self.group_exit_code != 0
            || continued && self.flags & SIGNAL_STOP_CONTINUED != 0
    }
}

/// Signal names without `SIG`, as `kill -l` lists them (1-31).
const NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// The number of a signal name given without `SIG` (`TERM`, `USR1`).
pub fn signal_by_name(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32 + 1)
}

/// The name of signal `signo` without `SIG`, for 1-31 (`kill -l`).
pub fn signal_name(signo: u32) -> Option<&'static str> {
    NAMES
        .get(usize::try_from(signo).ok()?.checked_sub(1)?)
        .copied()
}

/// `strsignal`'s text, as sh prints it for a job a signal killed (SIGINT prints nothing).
pub fn signal_text(signo: u32) -> &'static str {
    match signo {
        SIGHUP => "Hangup",
        SIGINT => "Interrupt",
        SIGQUIT => "Quit",
        SIGILL => "Illegal instruction",
        SIGTRAP => "Trace/breakpoint trap",
        SIGABRT => "Aborted",
        SIGBUS => "Bus error",
        SIGFPE => "Floating point exception",
        SIGKILL => "Killed",
        SIGSEGV => "Segmentation fault",
        SIGPIPE => "Broken pipe",
        SIGTERM => "Terminated",
        SIGUSR1 => "User defined signal 1",
        SIGUSR2 => "User defined signal 2",
        SIGALRM => "Alarm clock",
        SIGSTKFLT => "Stack fault",
        SIGCHLD => "Child exited",
        SIGCONT => "Continued",
        SIGSTOP => "Stopped (signal)",
        SIGTSTP => "Stopped",
        SIGTTIN => "Stopped (tty input)",
        SIGTTOU => "Stopped (tty output)",
        SIGURG => "Urgent I/O condition",
        SIGXCPU => "CPU time limit exceeded",
        SIGXFSZ => "File size limit exceeded",
        SIGVTALRM => "Virtual timer expired",
        SIGPROF => "Profiling timer expired",
        SIGWINCH => "Window changed",
        SIGIO => "I/O possible",
        SIGPWR => "Power failure",
        SIGSYS => "Bad system call",
        _ => "Unknown signal",
    }
}

// ---- Orphaned process groups ----

/// What the orphaned-group rules need of one process (Linux reads these from `task_struct`).
pub trait JobIds {
    fn pid(&self) -> u32;
    /// The real parent: a tracer does not count.
    fn ppid(&self) -> u32;
    fn pgid(&self) -> u32;
    fn sid(&self) -> u32;
    /// Exited, not yet reaped.
    fn zombie(&self) -> bool;
    /// In a group stop, which only SIGCONT ends (Linux: `SIGNAL_STOP_STOPPED`): a tracee the
    /// tracer let run on within one counts, a plain ptrace stop does not.
    fn stopped(&self) -> bool;
}

/// The pid of init, whose children do not keep a group from being orphaned. Here it is the
/// console shell, a kernel task outside the process table, leading group and session 1.
pub const INIT_PID: u32 = 1;

/// The group and session of `pid` in `procs` (init's own when it is pid 1).
fn ids_of<P: JobIds>(procs: &[P], pid: u32) -> Option<(u32, u32)> {
    procs
        .iter()
        .find(|p| p.pid() == pid)
        .map(|p| (p.pgid(), p.sid()))
        .or((pid == INIT_PID).then_some((INIT_PID, INIT_PID)))
}

/// Whether group `pgid` is orphaned: none of its live members has a parent in another group of
/// the same session, which could stop and continue it (POSIX; Linux:
/// `will_become_orphaned_pgrp`). Members whose parent is init do not count. With `gone`, as it
/// will be once that process has exited: it is no member, and its children are init's.
pub fn will_become_orphaned_pgrp<P: JobIds>(procs: &[P], pgid: u32, gone: Option<u32>) -> bool {
    !procs.iter().any(|p| {
        p.pgid() == pgid
            && Some(p.pid()) != gone
            && !p.zombie()
            && p.ppid() != INIT_PID
            && Some(p.ppid()) != gone
            && ids_of(procs, p.ppid())
                .is_some_and(|(pgrp, session)| pgrp != pgid && session == p.sid())
    })
}

/// Whether a member of group `pgid` is stopped (Linux: `has_stopped_jobs`).
pub fn has_stopped_jobs<P: JobIds>(procs: &[P], pgid: u32) -> bool {
    procs.iter().any(|p| p.pgid() == pgid && p.stopped())
}

/// Calls `hangup` once for each group that gets SIGHUP and then SIGCONT because `exiting`
/// leaves (Linux: `exit_notify`'s `kill_orphaned_pgrp` calls): the group of a child of its, or
/// its own, when it was that group's link to another group of the session (its own parent's
/// link, for its own group), the group is orphaned without it, and a member is stopped, which
/// nothing could continue any more. `procs` is the table before its children go to init.
pub fn orphaned_by_exit<P: JobIds>(procs: &[P], exiting: &P, mut hangup: impl FnMut(u32)) {
    let gone = Some(exiting.pid());
    let orphaned_with_stopped =
        |pgid: u32| will_become_orphaned_pgrp(procs, pgid, gone) && has_stopped_jobs(procs, pgid);
    // Children sharing a group: the group is decided once, at its first child.
    let seen = |pgid: u32, upto: usize| {
        procs[..upto]
            .iter()
            .any(|p| p.ppid() == exiting.pid() && p.pgid() == pgid)
    };
    for (i, child) in procs.iter().enumerate() {
        let pgid = child.pgid();
        if child.ppid() == exiting.pid()
            && pgid != exiting.pgid()
            && child.sid() == exiting.sid()
            && !seen(pgid, i)
            && orphaned_with_stopped(pgid)
        {
            hangup(pgid);
        }
    }
    let own = exiting.pgid();
    if ids_of(procs, exiting.ppid())
        .is_some_and(|(pgrp, session)| pgrp != own && session == exiting.sid())
        && orphaned_with_stopped(own)
    {
        hangup(own);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One process for the orphaned-group rules: (pid, ppid, pgid, sid, zombie, stopped).
    struct P(u32, u32, u32, u32, bool, bool);

    impl JobIds for P {
        fn pid(&self) -> u32 {
            self.0
        }
        fn ppid(&self) -> u32 {
            self.1
        }
        fn pgid(&self) -> u32 {
            self.2
        }
        fn sid(&self) -> u32 {
            self.3
        }
        fn zombie(&self) -> bool {
            self.4
        }
        fn stopped(&self) -> bool {
            self.5
        }
    }

    fn live(pid: u32, ppid: u32, pgid: u32) -> P {
        P(pid, ppid, pgid, 1, false, false)
    }

    fn stopped(pid: u32, ppid: u32, pgid: u32) -> P {
        P(pid, ppid, pgid, 1, false, true)
    }

    fn hangups(procs: &[P], exiting: u32) -> Vec<u32> {
        let exiting = procs.iter().find(|p| p.0 == exiting).unwrap();
        let mut groups = Vec::new();
        orphaned_by_exit(procs, exiting, |pgid| groups.push(pgid));
        groups
    }

    #[test]
    fn a_group_whose_members_are_init_children_is_orphaned() {
        // A program the shell (init) started, in its own group, and its forked child.
        let procs = [live(2, 1, 2), live(3, 2, 2)];
        assert!(will_become_orphaned_pgrp(&procs, 2, None));
    }

    #[test]
    fn a_parent_in_another_group_of_the_session_keeps_a_group_from_being_orphaned() {
        // 3 moved to a group of its own: its parent, in group 2, could still stop it.
        let procs = [live(2, 1, 2), live(3, 2, 3)];
        assert!(!will_become_orphaned_pgrp(&procs, 3, None));
        // ...unless that parent is in another session, a zombie, or leaving.
        let other_session = [live(2, 1, 2), P(3, 2, 3, 3, false, false)];
        assert!(will_become_orphaned_pgrp(&other_session, 3, None));
        assert!(will_become_orphaned_pgrp(&procs, 3, Some(2)));
        let zombie_member = [live(2, 1, 2), P(3, 2, 3, 1, true, false)];
        assert!(will_become_orphaned_pgrp(&zombie_member, 3, None));
    }

    #[test]
    fn an_unknown_parent_does_not_link_a_group() {
        let procs = [live(3, 9, 3)];
        assert!(will_become_orphaned_pgrp(&procs, 3, None));
    }

    #[test]
    fn an_exit_that_orphans_a_stopped_child_group_hangs_it_up_once() {
        // 2 (group 2) has two children in group 4, one stopped, and one in group 5, running.
        let procs = [
            live(2, 1, 2),
            stopped(3, 2, 4),
            live(4, 2, 4),
            live(5, 2, 5),
        ];
        assert_eq!(hangups(&procs, 2), [4]);
        // Nothing stopped: nothing to continue.
        let procs = [live(2, 1, 2), live(3, 2, 4)];
        assert!(hangups(&procs, 2).is_empty());
    }

    #[test]
    fn a_child_group_still_linked_by_another_parent_is_left_alone() {
        // Group 4 holds 8 (parent 2, in group 2) and 3 (parent 6, in group 7), stopped.
        let procs = [
            live(2, 1, 2),
            live(6, 2, 7),
            stopped(3, 6, 4),
            live(8, 2, 4),
        ];
        // 8 exits: group 4 keeps its link through 3's parent, in group 7 of the session.
        assert!(hangups(&procs, 8).is_empty());
    }

    #[test]
    fn an_exit_that_orphans_its_own_stopped_group_hangs_it_up() {
        // 3 (group 3, parent 2 in group 2) was its group's link; 4 in group 3 is stopped.
        let procs = [live(2, 1, 2), live(3, 2, 3), stopped(4, 3, 3)];
        assert_eq!(hangups(&procs, 3), [3]);
        // A parent in the same group was no link.
        let procs = [live(2, 1, 3), live(3, 2, 3), stopped(4, 3, 3)];
        assert!(hangups(&procs, 3).is_empty());
        // Init's child leaving its stopped group: Linux hangs it up (init's group differs).
        let procs = [live(3, 1, 3), stopped(4, 3, 3)];
        assert_eq!(hangups(&procs, 3), [3]);
    }

    fn esr(ec: u8, iss: u32) -> Esr {
        Esr((u64::from(ec) << 26) | (1 << 25) | u64::from(iss))
    }

    #[test]
    fn faults_map_to_linux_signals() {
        // Level-3 translation fault: SEGV_MAPERR; level-3 permission fault: SEGV_ACCERR.
        assert_eq!(
            signal_for_exception(esr(esr::ESR_ELx_EC_DABT_LOW, 0x07)),
            SigInfo {
                signo: SIGSEGV,
                code: SEGV_MAPERR
            }
        );
        assert_eq!(
            signal_for_exception(esr(esr::ESR_ELx_EC_DABT_LOW, 0x0f)),
            SigInfo {
                signo: SIGSEGV,
                code: SEGV_ACCERR
            }
        );
        assert_eq!(
            signal_for_exception(esr(esr::ESR_ELx_EC_IABT_LOW, 0x0f)).signo,
            SIGSEGV
        );
        assert_eq!(
            signal_for_exception(esr(esr::ESR_ELx_EC_UNKNOWN, 0)),
            SigInfo {
                signo: SIGILL,
                code: ILL_ILLOPC
            }
        );
        assert_eq!(
            signal_for_exception(esr(esr::ESR_ELx_EC_BRK64, 0x123)),
            SigInfo {
                signo: SIGTRAP,
                code: TRAP_BRKPT
            }
        );
        assert_eq!(
            signal_for_exception(esr(esr::ESR_ELx_EC_DABT_LOW, 0x21)).signo,
            SIGBUS
        );
    }

    #[test]
    fn debug_exceptions_from_el0() {
        let trap = |code, addr| KSigInfo {
            signo: SIGTRAP,
            code,
            fields: SigFields::Fault { addr },
        };
        let (far, pc) = (0x4_2000, 0x40_1004);
        assert_eq!(
            fault_siginfo(esr(esr::ESR_ELx_EC_SOFTSTP_LOW, 0), far, pc),
            trap(TRAP_TRACE, pc)
        );
        assert_eq!(
            fault_siginfo(esr(esr::ESR_ELx_EC_BREAKPT_LOW, 0), far, pc),
            trap(TRAP_HWBKPT, pc)
        );
        assert_eq!(
            fault_siginfo(esr(esr::ESR_ELx_EC_WATCHPT_LOW, 0), far, pc),
            trap(TRAP_HWBKPT, far)
        );
        assert_eq!(
            fault_siginfo(esr(esr::ESR_ELx_EC_BRK64, 0), far, pc),
            trap(TRAP_BRKPT, pc)
        );
    }

    #[test]
    fn rt_sigframe_has_linux_arm64_layout() {
        use core::mem::{offset_of, size_of};
        assert_eq!(size_of::<SigAction>(), 32);
        assert_eq!(size_of::<StackT>(), 24);
        assert_eq!(offset_of!(UContext, uc_stack), 16);
        assert_eq!(offset_of!(UContext, uc_sigmask), 40);
        assert_eq!(offset_of!(UContext, uc_mcontext), 176);
        assert_eq!(offset_of!(SigContext, regs), 8);
        assert_eq!(offset_of!(SigContext, sp), 256);
        assert_eq!(offset_of!(SigContext, pc), 264);
        assert_eq!(offset_of!(SigContext, pstate), 272);
        assert_eq!(offset_of!(SigContext, __reserved), 288);
        assert_eq!(size_of::<SigContext>(), 4384);
        assert_eq!(size_of::<UContext>(), 4560);
        assert_eq!(offset_of!(RtSigframe, uc), 128);
        assert_eq!(size_of::<RtSigframe>(), 4688);
        assert_eq!(size_of::<FpsimdContext>(), 528);
        assert_eq!(offset_of!(FpsimdContext, vregs), 16);
        assert_eq!(size_of::<EsrContext>(), 16);
        // Just below a 16-aligned sp: the frame record, then the frame, both 16-aligned.
        let (frame, record) = sigframe_addresses(0x7fff_f000);
        assert_eq!(record, 0x7fff_f000 - 16);
        assert_eq!(frame, (record - 4688) & !15);
        assert_eq!(frame % 16, 0);
        let (frame, record) = sigframe_addresses(0x10009);
        assert_eq!(record, 0xfff0);
        assert!(frame + 4688 <= record && frame % 16 == 0);
    }

    #[test]
    fn reserved_records_round_trip_and_bad_ones_are_refused() {
        let mut vregs = [0u128; 32];
        for (i, v) in vregs.iter_mut().enumerate() {
            *v = (i as u128) << 64 | 0xabc;
        }
        let mut reserved = [0xffu8; 4096];
        write_reserved(&mut reserved, &vregs, 0x1f, 0x0300_0000, Some(0x9200_0046));
        assert_eq!(&reserved[..8], &[0x01, 0x80, 0x50, 0x46, 0x10, 0x02, 0, 0]);
        assert_eq!(&reserved[528..532], &ESR_MAGIC.to_le_bytes());
        assert_eq!(&reserved[544..552], &[0; 8]);
        assert_eq!(read_reserved(&reserved), Some((vregs, 0x1f, 0x0300_0000)));
        write_reserved(&mut reserved, &vregs, 1, 2, None);
        assert_eq!(&reserved[528..536], &[0; 8]);
        assert_eq!(read_reserved(&reserved), Some((vregs, 1, 2)));
        // No fpsimd record, a wrong size, an unknown magic: bad frames.
        let mut bad = reserved;
        bad[0] = 0;
        assert_eq!(read_reserved(&bad), None);
        let mut bad = reserved;
        bad[4] = 0x20;
        assert_eq!(read_reserved(&bad), None);
        let mut bad = reserved;
        bad[528..536].copy_from_slice(&[1, 2, 3, 4, 16, 0, 0, 0]);
        assert_eq!(read_reserved(&bad), None);
        // A record that runs off the end never loops forever.
        let mut bad = [0u8; 4096];
        bad[..8].copy_from_slice(&[1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(read_reserved(&bad), None);
        // An fpsimd record placed so that it would run past the end of `__reserved` (after
        // 224 esr records): refused, not read out of bounds.
        let mut bad = [0u8; 4096];
        for i in 0..224 {
            bad[i * 16..i * 16 + 4].copy_from_slice(&ESR_MAGIC.to_le_bytes());
            bad[i * 16 + 4..i * 16 + 8].copy_from_slice(&16u32.to_le_bytes());
        }
        bad[3584..3588].copy_from_slice(&FPSIMD_MAGIC.to_le_bytes());
        bad[3588..3592].copy_from_slice(&(size_of::<FpsimdContext>() as u32).to_le_bytes());
        assert_eq!(read_reserved(&bad), None);
    }

    #[test]
    fn siginfo_and_default_actions() {
        let info = KSigInfo {
            signo: SIGSEGV,
            code: SEGV_MAPERR,
            fields: SigFields::Fault { addr: 0x10 },
        };
        let bytes = info.to_user();
        assert_eq!(&bytes[..12], &[11, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&bytes[16..24], &0x10u64.to_le_bytes());
        let chld = KSigInfo {
            signo: SIGCHLD,
            code: CLD_EXITED,
            fields: SigFields::Child {
                pid: 7,
                uid: 0,
                status: 3,
            },
        }
        .to_user();
        assert_eq!(&chld[16..28], &[7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(default_action(SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(SIGSEGV), DefaultAction::Core);
        assert_eq!(default_action(SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(SIGSTOP), DefaultAction::Stop);
        assert_eq!(default_action(40), DefaultAction::Terminate);
        assert!(ignored(&SigAction::default(), SIGCHLD));
        assert!(!ignored(&SigAction::default(), SIGTERM));
        let ign = SigAction {
            handler: SIG_IGN,
            ..SigAction::default()
        };
        assert!(ignored(&ign, SIGTERM));
        assert_eq!(sigmask(SIGKILL), 1 << 8);
        assert_eq!(sigmask(0), 0);
        assert_eq!(sigmask(65), 0);
        let brk = fault_siginfo(esr(esr::ESR_ELx_EC_BRK64, 0), 0xdead, 0x4000);
        assert_eq!(brk.fields, SigFields::Fault { addr: 0x4000 });
        let dabt = fault_siginfo(esr(esr::ESR_ELx_EC_DABT_LOW, 0x07), 0x8, 0x4000);
        assert_eq!(dabt.fields, SigFields::Fault { addr: 0x8 });
    }

    #[test]
    fn siginfo_round_trips_through_user_layout() {
        let cases = [
            KSigInfo {
                signo: SIGSEGV,
                code: SEGV_MAPERR,
                fields: SigFields::Fault {
                    addr: 0x1234_5678_9abc,
                },
            },
            KSigInfo {
                signo: SIGTRAP,
                code: TRAP_BRKPT,
                fields: SigFields::Fault { addr: 0x40_0000 },
            },
            KSigInfo {
                signo: SIGCHLD,
                code: CLD_TRAPPED,
                fields: SigFields::Child {
                    pid: 9,
                    uid: 0,
                    status: 5,
                },
            },
            KSigInfo {
                signo: SIGUSR1,
                code: SI_TKILL,
                fields: SigFields::Kill { pid: 3, uid: 0 },
            },
            // A ptrace event report: SIGTRAP with code (event << 8) | SIGTRAP.
            KSigInfo {
                signo: SIGTRAP,
                code: 0x605,
                fields: SigFields::Kill { pid: 4, uid: 0 },
            },
        ];
        for info in cases {
            assert_eq!(KSigInfo::from_user(&info.to_user()), info);
        }
        // SI_KERNEL's layout is kill's, whatever the signal.
        let mut bytes = [0u8; SI_MAX_SIZE];
        bytes[0] = SIGSEGV as u8;
        bytes[8] = SI_KERNEL as u8;
        bytes[16] = 7;
        assert_eq!(
            KSigInfo::from_user(&bytes).fields,
            SigFields::Kill { pid: 7, uid: 0 }
        );
    }

    #[test]
    fn wait_status_words() {
        let exited = WaitStatus::exited(0x1_07);
        assert_eq!(exited.0, 0x0700);
        assert!(exited.if_exited() && !exited.if_signaled());
        assert_eq!(exited.shell_status(), 7);
        let segv = WaitStatus::signaled(SIGSEGV, false);
        assert_eq!(segv.0, 11);
        assert!(segv.if_signaled() && !segv.if_exited());
        assert_eq!(segv.shell_status(), 139);
        assert_eq!(WaitStatus::signaled(SIGSEGV, true).0, 0x8b);
        assert_eq!(signal_text(SIGSEGV), "Segmentation fault");
    }

    #[test]
    fn stop_and_continue_status_words() {
        let stopped = WaitStatus::stopped(SIGSTOP);
        assert_eq!(stopped.0, 0x137f);
        assert!(stopped.if_stopped() && !stopped.if_exited() && !stopped.if_signaled());
        assert!(!stopped.if_continued());
        assert_eq!(stopped.stop_sig(), SIGSTOP);
        assert_eq!(WaitStatus::stopped(SIGTSTP).0, 0x147f);
        let cont = WaitStatus::continued();
        assert_eq!(cont.0, 0xffff);
        assert!(cont.if_continued() && !cont.if_exited() && !cont.if_signaled());
        assert!(!WaitStatus::exited(0).if_stopped());
        assert!(!WaitStatus::signaled(SIGKILL, false).if_stopped());
        // SIGCONT with SIG_DFL is discarded once sent; SIGSTOP and SIGKILL never are.
        assert!(ignored(&SigAction::default(), SIGCONT));
        let ign = SigAction {
            handler: SIG_IGN,
            ..SigAction::default()
        };
        assert!(!ignored(&ign, SIGSTOP) && !ignored(&ign, SIGKILL));
        assert!(!ignored(&SigAction::default(), SIGTSTP));
    }

    #[test]
    fn restart_decisions_follow_arm64_do_signal() {
        use SyscallRestart::{Eintr, Restart};
        let restart = Some(SA_RESTART);
        assert_eq!(syscall_restart(Errno::EINTR, None), None);
        assert_eq!(syscall_restart(Errno::EAGAIN, restart), None);
        for code in [
            Errno::ERESTARTSYS,
            Errno::ERESTARTNOINTR,
            Errno::ERESTARTNOHAND,
            Errno::ERESTART_RESTARTBLOCK,
        ] {
            // No handler runs: every one restarts.
            assert_eq!(syscall_restart(code, None), Some(Restart));
            assert_eq!(restart_code((-i64::from(code.code())) as u64), Some(code));
        }
        assert_eq!(syscall_restart(Errno::ERESTARTSYS, restart), Some(Restart));
        assert_eq!(syscall_restart(Errno::ERESTARTSYS, Some(0)), Some(Eintr));
        assert_eq!(
            syscall_restart(Errno::ERESTARTNOINTR, Some(0)),
            Some(Restart)
        );
        assert_eq!(syscall_restart(Errno::ERESTARTNOHAND, restart), Some(Eintr));
        assert_eq!(
            syscall_restart(Errno::ERESTART_RESTARTBLOCK, restart),
            Some(Eintr)
        );
        assert_eq!(restart_code((-4i64) as u64), None);
        assert_eq!(restart_code(512), None);
        assert_eq!(Errno::EINTR.restart_sys(), Errno::ERESTARTSYS);
        assert_eq!(Errno::EINTR.restart_nohand(), Errno::ERESTARTNOHAND);
        assert_eq!(Errno::EAGAIN.restart_sys(), Errno::EAGAIN);
    }

    #[test]
    fn group_stop_then_continue() {
        let mut j = JobCtl::default();
        // A stop signal discards a pending SIGCONT.
        assert_eq!(j.prepare_signal(SIGSTOP).flush, sigmask(SIGCONT));
        j.dequeued(SIGSTOP);
        assert_eq!(j.do_signal_stop(SIGSTOP), Some(true));
        assert!(j.stopped());
        assert!(j.wait_ready(true, false) && !j.wait_ready(false, true));
        // Reported once.
        assert_eq!(j.wait_stopped(), Some(WaitStatus::stopped(SIGSTOP)));
        assert_eq!(j.wait_stopped(), None);
        // SIGCONT: discards stop signals, wakes, owes CLD_CONTINUED, WCONTINUED once.
        let p = j.prepare_signal(SIGCONT);
        assert_eq!(p.flush, STOP_MASK);
        assert!(p.wake_stopped && !j.stopped());
        assert_eq!(j.take_cld_notice(), Some(CLD_CONTINUED));
        assert_eq!(j.take_cld_notice(), None);
        assert_eq!(j.wait_continued(), Some(WaitStatus::continued()));
        assert_eq!(j.wait_continued(), None);
        // A second stop is a fresh group stop again.
        j.dequeued(SIGTSTP);
        assert_eq!(j.do_signal_stop(SIGTSTP), Some(true));
        assert_eq!(j.wait_stopped(), Some(WaitStatus::stopped(SIGTSTP)));
    }

    #[test]
    fn a_task_resumed_during_a_group_stop_rejoins_it() {
        let mut j = JobCtl::default();
        assert!(!j.rejoin_stop());
        j.dequeued(SIGSTOP);
        assert_eq!(j.do_signal_stop(SIGSTOP), Some(true));
        // Traced: the ptrace stop takes its place and the tracer resumes it.
        j.leave_stop();
        assert!(j.group_stopped() && !j.stopped());
        assert_eq!(j.stop_signal(), SIGSTOP);
        // Untraced again: it stops, once.
        assert!(j.rejoin_stop() && j.stopped());
        assert!(!j.rejoin_stop());
        // SIGCONT ends it for good.
        j.prepare_signal(SIGCONT);
        assert!(!j.group_stopped() && !j.stopped() && !j.rejoin_stop());
    }

    #[test]
    fn sigcont_or_sigkill_before_the_stop_cancels_it() {
        let mut j = JobCtl::default();
        j.dequeued(SIGSTOP);
        // SIGCONT between dequeue and stop: no stop, nothing owed.
        j.prepare_signal(SIGCONT);
        assert_eq!(j.do_signal_stop(SIGSTOP), None);
        assert!(!j.stopped());
        assert_eq!(j.take_cld_notice(), None);
        assert_eq!(j.wait_continued(), None);
        // SIGKILL wakes a stopped process and no stop follows.
        let mut j = JobCtl::default();
        j.dequeued(SIGSTOP);
        j.do_signal_stop(SIGSTOP);
        let p = j.prepare_signal(SIGKILL);
        assert!(p.wake_stopped && !j.stopped());
        assert_eq!(j.wait_stopped(), None);
        j.dequeued(SIGSTOP);
        assert_eq!(j.do_signal_stop(SIGSTOP), None);
        assert_eq!(j.prepare_signal(SIGCONT), Prepared::default());
        // Other signals leave the state alone.
        let mut j = JobCtl::default();
        assert_eq!(j.prepare_signal(SIGTERM), Prepared::default());
        assert_eq!(j, JobCtl::default());
    }
}
