//! What `wait4` and `PTRACE_GETSIGINFO` report about a tracee (include/uapi/linux/wait.h's
//! status word, `siginfo_t`'s head), and which gdb stop reply a ptrace stop is.

/// `SIGINT`, `SIGTRAP`, `SIGKILL`, `SIGSTOP` (asm-generic/signal.h).
pub const SIGINT: u8 = 2;
pub const SIGTRAP: u8 = 5;
pub const SIGKILL: u8 = 9;
pub const SIGSTOP: u8 = 19;

/// `si_code` of a SIGTRAP (include/uapi/asm-generic/siginfo.h).
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const TRAP_HWBKPT: i32 = 4;

/// `sizeof(siginfo_t)`.
pub const SIGINFO_SIZE: usize = 128;

/// A decoded `wait4` status word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// `WIFEXITED`: `exit(code)`.
    Exited(u8),
    /// `WIFSIGNALED`: killed by this signal.
    Signaled(u8),
    /// `WIFSTOPPED`: a ptrace stop with this signal; `event` is the `PTRACE_EVENT_*` in bits
    /// 16-23 (0 for a plain signal-delivery stop).
    Stopped { signal: u8, event: u8 },
    /// `WIFCONTINUED`.
    Continued,
}

impl WaitStatus {
    pub fn decode(status: u32) -> Self {
        let low = status & 0x7f;
        if status == 0xffff {
            WaitStatus::Continued
        } else if status & 0xff == 0x7f {
            WaitStatus::Stopped {
                signal: (status >> 8) as u8,
                event: (status >> 16) as u8,
            }
        } else if low == 0 {
            WaitStatus::Exited((status >> 8) as u8)
        } else {
            WaitStatus::Signaled(low as u8)
        }
    }
}

/// The fields of a `siginfo_t` a stop report uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    /// `si_addr` (meaningful for SIGTRAP, SIGSEGV, SIGBUS...): after the three ints and their
    /// padding to 8 bytes.
    pub addr: u64,
}

impl SigInfo {
    pub fn from_bytes(bytes: &[u8; SIGINFO_SIZE]) -> Self {
        let int = |at: usize| {
            i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut addr = [0u8; 8];
        addr.copy_from_slice(&bytes[16..24]);
        SigInfo {
            signo: int(0),
            code: int(8),
            addr: u64::from_le_bytes(addr),
        }
    }
}

/// GDB's own signal numbers (gdb/include/gdb/signals.def), which the Remote Serial Protocol
/// carries, for Linux arm64's 1-31 (asm-generic/signal.h): they agree only up to SIGKILL.
const GDB_FROM_LINUX: [u8; 32] = [
    0, // no signal
    1, 2, 3, 4, 5, 6,  // HUP INT QUIT ILL TRAP ABRT
    10, // BUS
    8, 9,  // FPE KILL
    30, // USR1
    11, // SEGV
    31, // USR2
    13, 14, 15,  // PIPE ALRM TERM
    143, // STKFLT: gdb has no name for it
    20, 19, 17, 18, 21, 22, 16, // CHLD CONT STOP TSTP TTIN TTOU URG
    24, 25, 26, 27, 28, // XCPU XFSZ VTALRM PROF WINCH
    23, // IO
    32, // PWR
    12, // SYS
];
/// `GDB_SIGNAL_REALTIME_32` and `_33` (gdb numbers real-time signals 33-63 from 45 up).
const GDB_SIGNAL_REALTIME_32: u8 = 77;
const GDB_SIGNAL_REALTIME_33: u8 = 45;
/// `GDB_SIGNAL_UNKNOWN`.
const GDB_SIGNAL_UNKNOWN: u8 = 143;

/// GDB's number for Linux signal `signal`.
pub fn gdb_signal(signal: u8) -> u8 {
    match signal {
        0..=31 => GDB_FROM_LINUX[signal as usize],
        32 => GDB_SIGNAL_REALTIME_32,
        33..=63 => GDB_SIGNAL_REALTIME_33 + (signal - 33),
        _ => GDB_SIGNAL_UNKNOWN,
    }
}

/// The Linux signal for GDB's number `gdb`, if Linux has it.
pub fn linux_signal(gdb: u8) -> Option<u8> {
    (0..=63).find(|&signal| gdb != GDB_SIGNAL_UNKNOWN && gdb_signal(signal) == gdb)
}

/// Why a stopped tracee stopped, as gdb is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A `PTRACE_SINGLESTEP` completed.
    DoneStep,
    /// It hit one of our `brk #0`s (the PC is at the BRK).
    SwBreak,
    /// A hardware watchpoint fired on an access to this address.
    Watch(u64),
    /// Any other signal (gdb decides whether it is passed on when resuming).
    Signal(u8),
}

/// Classifies a signal-delivery stop: `signal` from `wait4`, `info` from `PTRACE_GETSIGINFO`,
/// `stepping` whether the last resume was a single step, `at_breakpoint` whether the PC is at
/// a breakpoint we inserted.
pub fn classify(signal: u8, info: &SigInfo, stepping: bool, at_breakpoint: bool) -> Stop {
    if signal != SIGTRAP {
        return Stop::Signal(signal);
    }
    match info.code {
        TRAP_HWBKPT => Stop::Watch(info.addr),
        TRAP_BRKPT if at_breakpoint => Stop::SwBreak,
        _ if stepping => Stop::DoneStep,
        _ if at_breakpoint => Stop::SwBreak,
        _ => Stop::Signal(SIGTRAP),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_linux_status_words() {
        assert_eq!(WaitStatus::decode(0x0000), WaitStatus::Exited(0));
        assert_eq!(WaitStatus::decode(0x0300), WaitStatus::Exited(3));
        assert_eq!(WaitStatus::decode(0x0009), WaitStatus::Signaled(SIGKILL));
        // A core dump sets bit 7; the signal is still the low 7 bits.
        assert_eq!(WaitStatus::decode(0x008b), WaitStatus::Signaled(11));
        assert_eq!(
            WaitStatus::decode(0x057f),
            WaitStatus::Stopped {
                signal: SIGTRAP,
                event: 0
            }
        );
        // SIGTRAP | 0x80 (TRACESYSGOOD) and PTRACE_EVENT_EXEC (4) << 16.
        assert_eq!(
            WaitStatus::decode(0x857f),
            WaitStatus::Stopped {
                signal: 0x85,
                event: 0
            }
        );
        assert_eq!(
            WaitStatus::decode(0x4057f),
            WaitStatus::Stopped {
                signal: SIGTRAP,
                event: 4
            }
        );
        assert_eq!(WaitStatus::decode(0xffff), WaitStatus::Continued);
    }

    fn siginfo(signo: i32, code: i32, addr: u64) -> [u8; SIGINFO_SIZE] {
        let mut bytes = [0u8; SIGINFO_SIZE];
        bytes[0..4].copy_from_slice(&signo.to_le_bytes());
        bytes[8..12].copy_from_slice(&code.to_le_bytes());
        bytes[16..24].copy_from_slice(&addr.to_le_bytes());
        bytes
    }

    #[test]
    fn signal_numbers_between_linux_and_gdb() {
        for (linux, gdb) in [
            (2, 2),
            (5, 5),
            (9, 9),
            (10, 30),
            (11, 11),
            (17, 20),
            (19, 17),
            (7, 10),
            (31, 12),
            (32, 77),
            (34, 46),
            (63, 75),
        ] {
            assert_eq!(gdb_signal(linux), gdb, "linux {linux}");
            assert_eq!(linux_signal(gdb), Some(linux), "gdb {gdb}");
        }
        assert_eq!(gdb_signal(16), 143);
        assert_eq!(gdb_signal(64), 143);
        assert_eq!(linux_signal(143), None);
        assert_eq!(linux_signal(200), None);
        // Every Linux signal gdb knows maps back to itself.
        for linux in (1..=63).filter(|&s| gdb_signal(s) != 143) {
            assert_eq!(linux_signal(gdb_signal(linux)), Some(linux));
        }
    }

    #[test]
    fn reads_siginfo_head() {
        let info = SigInfo::from_bytes(&siginfo(5, TRAP_HWBKPT, 0x41_2340));
        assert_eq!(
            info,
            SigInfo {
                signo: 5,
                code: TRAP_HWBKPT,
                addr: 0x41_2340
            }
        );
    }

    #[test]
    fn classifies_stops() {
        let trap = |code, addr| SigInfo::from_bytes(&siginfo(5, code, addr));
        assert_eq!(
            classify(SIGTRAP, &trap(TRAP_TRACE, 0), true, false),
            Stop::DoneStep
        );
        assert_eq!(
            classify(SIGTRAP, &trap(TRAP_BRKPT, 0), false, true),
            Stop::SwBreak
        );
        // A step that lands on a breakpoint is still the step gdb asked for.
        assert_eq!(
            classify(SIGTRAP, &trap(TRAP_TRACE, 0), true, true),
            Stop::DoneStep
        );
        assert_eq!(
            classify(SIGTRAP, &trap(TRAP_HWBKPT, 0x1008), false, false),
            Stop::Watch(0x1008)
        );
        assert_eq!(
            classify(SIGTRAP, &trap(TRAP_HWBKPT, 0x1008), true, false),
            Stop::Watch(0x1008)
        );
        // A BRK the program has itself, or a SIGTRAP someone sent.
        assert_eq!(
            classify(SIGTRAP, &trap(TRAP_BRKPT, 0), false, false),
            Stop::Signal(SIGTRAP)
        );
        assert_eq!(
            classify(SIGTRAP, &trap(0, 0), false, false),
            Stop::Signal(SIGTRAP)
        );
        assert_eq!(
            classify(SIGINT, &trap(0, 0), true, true),
            Stop::Signal(SIGINT)
        );
    }
}
