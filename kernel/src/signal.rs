//! Signals, as far as stage 1 of user space needs them: Linux's numbers and names, which
//! signal an exception from EL0 raises (Linux: `arch/arm64/mm/fault.c` `fault_info`,
//! `do_el0_undef`, `do_sp_pc_abort`, the BRK and step handlers), and the `wait4` status words
//! (`WIFEXITED`, `WIFSIGNALED`, the core flag). Handlers, masks and `rt_sigreturn` come in a
//! later stage; until then every signal a process receives takes its default action, which for
//! all of these is to terminate it.

use arch::esr::{self, Esr};

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
pub const SIGSYS: u32 = 31;

// si_code values (Linux's uapi/asm-generic/siginfo.h).
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;

/// A signal with its `si_code`, as a fault raises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: u32,
    pub code: i32,
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
        esr::ESR_ELx_EC_BRK64 | esr::ESR_ELx_EC_BREAKPT_LOW => info(SIGTRAP, TRAP_BRKPT),
        esr::ESR_ELx_EC_SOFTSTP_LOW => info(SIGTRAP, TRAP_TRACE),
        // Undefined instructions, trapped FP/SIMD (not enabled for EL0 yet), system registers.
        _ => info(SIGILL, ILL_ILLOPC),
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

    pub const fn if_exited(self) -> bool {
        self.0 & 0x7f == 0
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
        SIGSYS => "Bad system call",
        _ => "Unknown signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
