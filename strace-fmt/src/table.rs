//! The system call table: for every call the kernel implements (kernel/src/syscall/mod.rs),
//! its name and arguments as Linux's arm64 (asm-generic) table and strace's decoders give
//! them, and how its result prints. Calls not listed print as strace prints calls it does not
//! know: `syscall_0x1c3(0x1, 0x2, ...)` with all six registers.

use crate::decode::{Arg, Cond, Kind, Phase};
use crate::xlat;

/// How the result prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetKind {
    /// Signed decimal.
    Dec,
    /// Hex (brk, mmap: addresses).
    Hex,
    /// Octal (umask).
    Octal,
    /// The call does not return (exit, exit_group): `= ?`.
    NoReturn,
    /// fcntl: hex with the flags F_GETFD/F_GETFL returned.
    Fcntl,
}

#[derive(Debug)]
pub struct Syscall {
    pub nr: u64,
    pub name: &'static str,
    pub args: &'static [Arg],
    pub ret: RetKind,
}

impl Syscall {
    /// Whether any argument is printed at exit (strace leaves such a call's line open at the
    /// entry stop, and prints `<unfinished ...>` if the exit never comes).
    pub fn has_exit_args(&self) -> bool {
        self.args.iter().any(Arg::at_exit)
    }
}

const fn e(reg: u8, kind: Kind) -> Arg {
    Arg {
        reg,
        kind,
        phase: Phase::Entry,
        cond: Cond::Always,
    }
}

const fn x(reg: u8, kind: Kind) -> Arg {
    Arg {
        reg,
        kind,
        phase: Phase::Exit,
        cond: Cond::Always,
    }
}

const fn when(arg: Arg, cond: Cond) -> Arg {
    Arg { cond, ..arg }
}

const fn sc(nr: u64, name: &'static str, args: &'static [Arg], ret: RetKind) -> Syscall {
    Syscall {
        nr,
        name,
        args,
        ret,
    }
}

use Kind::*;
use RetKind::{Dec, NoReturn, Octal};

const AT: Kind = Flags(xlat::AT_FLAGS);
const FD: Kind = Int;
const CLONE_OPTIONAL: Phase = Phase::ExitOwnComma;

/// The arguments of an unknown call: six registers in hex (strace's `printargs`).
pub static RAW_ARGS: [Arg; 6] = [
    e(0, Hex),
    e(1, Hex),
    e(2, Hex),
    e(3, Hex),
    e(4, Hex),
    e(5, Hex),
];

#[rustfmt::skip]
pub static SYSCALLS: &[Syscall] = &[
    sc(17, "getcwd", &[x(0, OutPath), x(1, Ulong)], Dec),
    sc(23, "dup", &[e(0, FD)], Dec),
    sc(24, "dup3", &[e(0, FD), e(1, FD), e(2, Flags(xlat::OPEN_FLAGS))], Dec),
    sc(25, "fcntl", &[e(0, FD), e(1, Xval(xlat::FCNTL_CMDS, "F_???")), when(e(2, FcntlArg), Cond::FcntlTakesArg)], RetKind::Fcntl),
    sc(29, "ioctl", &[e(0, FD), e(1, Ioctl), e(2, Ptr)], Dec),
    sc(34, "mkdirat", &[e(0, Dirfd), e(1, Path), e(2, Mode)], Dec),
    sc(35, "unlinkat", &[e(0, Dirfd), e(1, Path), e(2, AT)], Dec),
    sc(36, "symlinkat", &[e(0, Path), e(1, Dirfd), e(2, Path)], Dec),
    sc(38, "renameat", &[e(0, Dirfd), e(1, Path), e(2, Dirfd), e(3, Path)], Dec),
    sc(46, "ftruncate", &[e(0, FD), e(1, Long)], Dec),
    sc(48, "faccessat", &[e(0, Dirfd), e(1, Path), e(2, Flags(xlat::ACCESS_MODES))], Dec),
    sc(49, "chdir", &[e(0, Path)], Dec),
    sc(50, "fchdir", &[e(0, FD)], Dec),
    sc(52, "fchmod", &[e(0, FD), e(1, Mode)], Dec),
    sc(53, "fchmodat", &[e(0, Dirfd), e(1, Path), e(2, Mode)], Dec),
    sc(56, "openat", &[e(0, Dirfd), e(1, Path), e(2, OpenFlags),
        when(e(3, Mode), Cond::AnyBit { reg: 2, mask: xlat::O_CREAT | xlat::O_TMPFILE })], Dec),
    sc(57, "close", &[e(0, FD)], Dec),
    sc(59, "pipe2", &[x(0, FdPair), x(1, Flags(xlat::OPEN_FLAGS))], Dec),
    sc(61, "getdents64", &[e(0, FD), x(1, Dirents), x(2, Ulong)], Dec),
    sc(62, "lseek", &[e(0, FD), e(1, Long), e(2, Xval(xlat::SEEK_WHENCE, "SEEK_???"))], Dec),
    sc(63, "read", &[e(0, FD), x(1, OutBuf), x(2, Ulong)], Dec),
    sc(64, "write", &[e(0, FD), e(1, InBuf(2)), e(2, Ulong)], Dec),
    sc(65, "readv", &[e(0, FD), x(1, Iovec(2)), x(2, Int)], Dec),
    sc(66, "writev", &[e(0, FD), e(1, Iovec(2)), e(2, Int)], Dec),
    sc(67, "pread64", &[e(0, FD), x(1, OutBuf), x(2, Ulong), x(3, Long)], Dec),
    sc(68, "pwrite64", &[e(0, FD), e(1, InBuf(2)), e(2, Ulong), e(3, Long)], Dec),
    sc(71, "sendfile", &[e(0, FD), e(1, FD), e(2, Ptr), e(3, Ulong)], Dec),
    sc(72, "pselect6", &[e(0, Int), e(1, Ptr), e(2, Ptr), e(3, Ptr), e(4, Ptr), e(5, Ptr)], Dec),
    sc(73, "ppoll", &[e(0, Ptr), e(1, Ulong), e(2, Timespec), e(3, Ptr), e(4, Ulong)], Dec),
    sc(78, "readlinkat", &[e(0, Dirfd), e(1, Path), x(2, OutBuf), x(3, Ulong)], Dec),
    sc(79, "newfstatat", &[e(0, Dirfd), e(1, Path), x(2, Stat), x(3, AT)], Dec),
    sc(80, "fstat", &[e(0, FD), x(1, Stat)], Dec),
    sc(93, "exit", &[e(0, Int)], NoReturn),
    sc(94, "exit_group", &[e(0, Int)], NoReturn),
    sc(96, "set_tid_address", &[e(0, Ptr)], Dec),
    sc(98, "futex", &[e(0, Ptr), e(1, FutexOp), e(2, Int),
        when(e(3, Ptr), Cond::FutexArgs(4)), when(e(4, Ptr), Cond::FutexArgs(5)),
        when(e(5, Hex), Cond::FutexArgs(6))], Dec),
    sc(99, "set_robust_list", &[e(0, Ptr), e(1, Ulong)], Dec),
    sc(101, "nanosleep", &[e(0, Timespec), x(1, Ptr)], Dec),
    sc(113, "clock_gettime", &[e(0, Xval(xlat::CLOCK_IDS, "CLOCK_???")), x(1, Timespec)], Dec),
    sc(115, "clock_nanosleep", &[e(0, Xval(xlat::CLOCK_IDS, "CLOCK_???")), e(1, Flags(xlat::TIMER_FLAGS)),
        e(2, Timespec), x(3, Ptr)], Dec),
    sc(117, "ptrace", &[e(0, Xval(xlat::PTRACE_REQUESTS, "PTRACE_???")), e(1, Int), e(2, Hex), e(3, Hex)], Dec),
    sc(123, "sched_getaffinity", &[e(0, Int), e(1, Ulong), x(2, Ptr)], Dec),
    sc(124, "sched_yield", &[], Dec),
    sc(129, "kill", &[e(0, Int), e(1, Signal)], Dec),
    sc(130, "tkill", &[e(0, Int), e(1, Signal)], Dec),
    sc(131, "tgkill", &[e(0, Int), e(1, Int), e(2, Signal)], Dec),
    sc(133, "rt_sigsuspend", &[e(0, Sigset), e(1, Ulong)], Dec),
    sc(134, "rt_sigaction", &[e(0, Signal), e(1, SigAction), x(2, SigAction), x(3, Ulong)], Dec),
    sc(135, "rt_sigprocmask", &[e(0, Xval(xlat::SIGPROCMASK_HOW, "SIG_???")), e(1, Sigset), x(2, Sigset), x(3, Ulong)], Dec),
    sc(136, "rt_sigpending", &[x(0, Sigset), x(1, Ulong)], Dec),
    sc(139, "rt_sigreturn", &[e(0, SigreturnMask)], Dec),
    sc(143, "setregid", &[e(0, Int), e(1, Int)], Dec),
    sc(144, "setgid", &[e(0, Int)], Dec),
    sc(145, "setreuid", &[e(0, Int), e(1, Int)], Dec),
    sc(146, "setuid", &[e(0, Int)], Dec),
    sc(147, "setresuid", &[e(0, Int), e(1, Int), e(2, Int)], Dec),
    sc(148, "getresuid", &[x(0, IntOut), x(1, IntOut), x(2, IntOut)], Dec),
    sc(149, "setresgid", &[e(0, Int), e(1, Int), e(2, Int)], Dec),
    sc(150, "getresgid", &[x(0, IntOut), x(1, IntOut), x(2, IntOut)], Dec),
    sc(151, "setfsuid", &[e(0, Int)], Dec),
    sc(152, "setfsgid", &[e(0, Int)], Dec),
    sc(153, "times", &[x(0, Ptr)], Dec),
    sc(154, "setpgid", &[e(0, Int), e(1, Int)], Dec),
    sc(155, "getpgid", &[e(0, Int)], Dec),
    sc(156, "getsid", &[e(0, Int)], Dec),
    sc(157, "setsid", &[], Dec),
    sc(158, "getgroups", &[e(0, Int), x(1, Ptr)], Dec),
    sc(159, "setgroups", &[e(0, Int), e(1, Ptr)], Dec),
    sc(160, "uname", &[x(0, Utsname)], Dec),
    sc(163, "getrlimit", &[e(0, Xval(xlat::RLIMIT_RESOURCES, "RLIMIT_???")), x(1, Ptr)], Dec),
    sc(164, "setrlimit", &[e(0, Xval(xlat::RLIMIT_RESOURCES, "RLIMIT_???")), e(1, Ptr)], Dec),
    sc(165, "getrusage", &[e(0, Xval(xlat::RUSAGE_WHO, "RUSAGE_???")), x(1, Ptr)], Dec),
    sc(166, "umask", &[e(0, Mode)], Octal),
    sc(167, "prctl", &[e(0, Xval(xlat::PRCTL_OPTIONS, "PR_???")), e(1, Hex), e(2, Hex), e(3, Hex), e(4, Hex)], Dec),
    sc(172, "getpid", &[], Dec),
    sc(173, "getppid", &[], Dec),
    sc(174, "getuid", &[], Dec),
    sc(175, "geteuid", &[], Dec),
    sc(176, "getgid", &[], Dec),
    sc(177, "getegid", &[], Dec),
    sc(178, "gettid", &[], Dec),
    sc(179, "sysinfo", &[x(0, Ptr)], Dec),
    sc(214, "brk", &[e(0, Ptr)], RetKind::Hex),
    sc(215, "munmap", &[e(0, Ptr), e(1, Ulong)], Dec),
    sc(220, "clone", &[
        e(1, Named("child_stack", &Ptr)),
        e(0, Named("flags", &CloneFlags)),
        when(Arg { reg: 2, kind: Named("parent_tid", &IntOut), phase: CLONE_OPTIONAL, cond: Cond::Always },
            Cond::AnyBit { reg: 0, mask: xlat::CLONE_PARENT_SETTID | xlat::CLONE_PIDFD }),
        when(Arg { reg: 3, kind: Named("tls", &Ptr), phase: CLONE_OPTIONAL, cond: Cond::Always },
            Cond::AnyBit { reg: 0, mask: xlat::CLONE_SETTLS }),
        when(Arg { reg: 4, kind: Named("child_tidptr", &Ptr), phase: CLONE_OPTIONAL, cond: Cond::Always },
            Cond::AnyBit { reg: 0, mask: xlat::CLONE_CHILD_SETTID | xlat::CLONE_CHILD_CLEARTID }),
    ], Dec),
    sc(221, "execve", &[e(0, Path), e(1, Argv), e(2, Envp)], Dec),
    sc(222, "mmap", &[e(0, Ptr), e(1, Ulong), e(2, Prot), e(3, MmapFlags), e(4, FD), e(5, Hex)], RetKind::Hex),
    sc(226, "mprotect", &[e(0, Ptr), e(1, Ulong), e(2, Prot)], Dec),
    sc(233, "madvise", &[e(0, Ptr), e(1, Ulong), e(2, Xval(xlat::MADVISE_ADVICE, "MADV_???"))], Dec),
    sc(260, "wait4", &[e(0, Int), x(1, WaitStatus), x(2, Flags(xlat::WAIT4_OPTIONS)), x(3, Ptr)], Dec),
    sc(261, "prlimit64", &[e(0, Int), e(1, Xval(xlat::RLIMIT_RESOURCES, "RLIMIT_???")), e(2, Ptr), x(3, Ptr)], Dec),
    sc(276, "renameat2", &[e(0, Dirfd), e(1, Path), e(2, Dirfd), e(3, Path), e(4, Flags(xlat::RENAME_FLAGS))], Dec),
    sc(278, "getrandom", &[x(0, OutBuf), x(1, Ulong), x(2, Flags(xlat::GRND_FLAGS))], Dec),
    sc(291, "statx", &[e(0, Dirfd), e(1, Path), e(2, AT), e(3, Hex), x(4, Ptr)], Dec),
    sc(439, "faccessat2", &[e(0, Dirfd), e(1, Path), e(2, Flags(xlat::ACCESS_MODES)), e(3, Flags(xlat::ACCESSAT_FLAGS))], Dec),
];

/// The table entry of syscall `nr`.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.nr == nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calls kernel/src/syscall/mod.rs implements (`sys_call_table`), which all must be
    /// named here.
    const KERNEL_IMPLEMENTS: &[u64] = &[
        17, 23, 24, 25, 29, 34, 35, 36, 38, 46, 48, 49, 50, 52, 53, 56, 57, 59, 61, 62, 63, 64, 65,
        66, 67, 68, 71, 72, 73, 78, 79, 80, 276, 291, 439, 93, 94, 96, 99, 101, 113, 115, 124, 160,
        172, 173, 174, 175, 176, 177, 178, 214, 215, 220, 221, 222, 260, 278, 129, 130, 131, 133,
        134, 135, 136, 139, 98, 123, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154,
        155, 156, 157, 158, 159, 163, 164, 165, 166, 167, 179, 226, 233, 261,
    ];

    #[test]
    fn every_implemented_call_is_named() {
        for &nr in KERNEL_IMPLEMENTS {
            assert!(lookup(nr).is_some(), "syscall {nr} missing");
        }
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, call) in SYSCALLS.iter().enumerate() {
            assert!(call.args.len() <= 6, "{}", call.name);
            assert!(call.args.iter().all(|a| a.reg < 6), "{}", call.name);
            assert!(
                SYSCALLS[i + 1..].iter().all(|other| other.nr != call.nr),
                "{} twice",
                call.name
            );
            // Exit arguments come after entry arguments (the line is printed in order).
            let first_exit = call.args.iter().position(Arg::at_exit);
            if let Some(first) = first_exit {
                assert!(call.args[first..].iter().all(Arg::at_exit), "{}", call.name);
            }
        }
        assert_eq!(lookup(64).map(|s| s.name), Some("write"));
        assert_eq!(lookup(94).map(|s| s.ret), Some(NoReturn));
        assert!(lookup(63).is_some_and(Syscall::has_exit_args));
        assert!(!lookup(64).is_some_and(Syscall::has_exit_args));
        assert!(lookup(451).is_none());
    }
}
