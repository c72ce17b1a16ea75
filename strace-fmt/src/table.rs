//! The system call table: for every call the kernel implements (kernel/src/syscall/mod.rs),
//! its name and arguments as Linux's arm64 (asm-generic) table and strace's decoders give
//! them, and how its result prints. The rest of the arm64 table is named with its argument
//! count and prints its arguments in hex (strace's `printargs`, as `-e raw=` shows them);
//! numbers outside the table print as strace prints them: `syscall_0x1f4(0x1, ...)` with all
//! six registers.

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
    /// ppoll: the count, then `(Timeout)` or the fds that got events.
    Poll,
    /// pselect6: the count, then `(Timeout)` or the ready fds of each set.
    Select,
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

const AT: Kind = Flags(xlat::AT_FLAGS, "AT_???");
const FD: Kind = Int;
const CLONE_OPTIONAL: Phase = Phase::ExitOwnComma;
/// prctl's options other than the two whose name argument is a string.
const PRCTL_OTHER: Cond = Cond::IsNot {
    reg: 0,
    values: &[xlat::PR_SET_NAME, xlat::PR_GET_NAME],
};

/// The arguments of an unknown call: six registers in hex (strace's `printargs`).
pub const RAW_ARGS: &[Arg] = &[
    e(0, Hex),
    e(1, Hex),
    e(2, Hex),
    e(3, Hex),
    e(4, Hex),
    e(5, Hex),
];

/// A call named here but not decoded: its first `nargs` registers in hex.
const fn raw(nr: u64, name: &'static str, nargs: usize) -> Syscall {
    sc(nr, name, RAW_ARGS.split_at(nargs).0, Dec)
}

#[rustfmt::skip]
pub static SYSCALLS: &[Syscall] = &[
    sc(17, "getcwd", &[x(0, OutPath), x(1, Ulong)], Dec),
    sc(23, "dup", &[e(0, FD)], Dec),
    sc(24, "dup3", &[e(0, FD), e(1, FD), e(2, Flags(xlat::OPEN_FLAGS, "O_???"))], Dec),
    sc(25, "fcntl", &[e(0, FD), e(1, Xval(xlat::FCNTL_CMDS, "F_???")), when(e(2, FcntlArg), Cond::FcntlTakesArg)], RetKind::Fcntl),
    sc(29, "ioctl", &[e(0, FD), e(1, Ioctl), when(x(2, IoctlArg), Cond::IoctlTakesArg)], Dec),
    sc(34, "mkdirat", &[e(0, Dirfd), e(1, Path), e(2, Mode)], Dec),
    sc(35, "unlinkat", &[e(0, Dirfd), e(1, Path), e(2, AT)], Dec),
    sc(36, "symlinkat", &[e(0, Path), e(1, Dirfd), e(2, Path)], Dec),
    sc(38, "renameat", &[e(0, Dirfd), e(1, Path), e(2, Dirfd), e(3, Path)], Dec),
    sc(46, "ftruncate", &[e(0, FD), e(1, Long)], Dec),
    sc(48, "faccessat", &[e(0, Dirfd), e(1, Path), e(2, Flags(xlat::ACCESS_MODES, "?_OK"))], Dec),
    sc(49, "chdir", &[e(0, Path)], Dec),
    sc(50, "fchdir", &[e(0, FD)], Dec),
    sc(52, "fchmod", &[e(0, FD), e(1, Mode)], Dec),
    sc(53, "fchmodat", &[e(0, Dirfd), e(1, Path), e(2, Mode)], Dec),
    sc(56, "openat", &[e(0, Dirfd), e(1, Path), e(2, OpenFlags),
        when(e(3, Mode), Cond::AnyBit { reg: 2, mask: xlat::O_CREAT | xlat::__O_TMPFILE })], Dec),
    sc(57, "close", &[e(0, FD)], Dec),
    sc(59, "pipe2", &[x(0, FdPair), x(1, Flags(xlat::OPEN_FLAGS, "O_???"))], Dec),
    sc(61, "getdents64", &[e(0, FD), x(1, Dirents), x(2, Ulong)], Dec),
    sc(62, "lseek", &[e(0, FD), e(1, Long), e(2, Xval(xlat::SEEK_WHENCE, "SEEK_???"))], Dec),
    sc(63, "read", &[e(0, FD), x(1, OutBuf), x(2, Ulong)], Dec),
    sc(64, "write", &[e(0, FD), e(1, InBuf(2)), e(2, Ulong)], Dec),
    sc(65, "readv", &[e(0, FD), x(1, Iovec(2)), x(2, Int)], Dec),
    sc(66, "writev", &[e(0, FD), e(1, Iovec(2)), e(2, Int)], Dec),
    sc(67, "pread64", &[e(0, FD), x(1, OutBuf), x(2, Ulong), x(3, Long)], Dec),
    sc(68, "pwrite64", &[e(0, FD), e(1, InBuf(2)), e(2, Ulong), e(3, Long)], Dec),
    sc(71, "sendfile", &[e(0, FD), e(1, FD), e(2, Ptr), e(3, Ulong)], Dec),
    sc(72, "pselect6", &[e(0, Int), e(1, FdSet(0)), e(2, FdSet(0)), e(3, FdSet(0)), e(4, Timespec),
        e(5, PselectSigmask)], RetKind::Select),
    sc(73, "ppoll", &[e(0, PollFds(1)), e(1, Ulong), e(2, Timespec), e(3, Sigset(4)), e(4, Ulong)], RetKind::Poll),
    sc(78, "readlinkat", &[e(0, Dirfd), e(1, Path), x(2, OutBuf), x(3, Ulong)], Dec),
    sc(79, "newfstatat", &[e(0, Dirfd), e(1, Path), x(2, Stat), x(3, AT)], Dec),
    sc(80, "fstat", &[e(0, FD), x(1, Stat)], Dec),
    sc(93, "exit", &[e(0, Int)], NoReturn),
    sc(94, "exit_group", &[e(0, Int)], NoReturn),
    sc(96, "set_tid_address", &[e(0, Ptr)], Dec),
    sc(98, "futex", &[e(0, Ptr), e(1, FutexOp), when(e(2, FutexRest), Cond::FutexArgs(3))], Dec),
    sc(99, "set_robust_list", &[e(0, Ptr), e(1, Ulong)], Dec),
    sc(101, "nanosleep", &[e(0, Timespec), x(1, RemTimespec)], Dec),
    sc(113, "clock_gettime", &[e(0, Xval(xlat::CLOCK_IDS, "CLOCK_???")), x(1, Timespec)], Dec),
    sc(115, "clock_nanosleep", &[e(0, Xval(xlat::CLOCK_IDS, "CLOCK_???")), e(1, Flags(xlat::TIMER_FLAGS, "TIMER_???")),
        e(2, Timespec), x(3, RemTimespec)], Dec),
    sc(117, "ptrace", &[e(0, Xval(xlat::PTRACE_REQUESTS, "PTRACE_???")), e(1, Int), e(2, Hex), e(3, Hex)], Dec),
    sc(123, "sched_getaffinity", &[e(0, Int), e(1, Ulong), x(2, CpuSet)], Dec),
    sc(124, "sched_yield", &[], Dec),
    // Its one "argument" is the call it resumes, which the session knows (strace's
    // `<... resuming interrupted nanosleep ...>`).
    sc(128, "restart_syscall", &[], Dec),
    sc(129, "kill", &[e(0, Int), e(1, Signal)], Dec),
    sc(130, "tkill", &[e(0, Int), e(1, Signal)], Dec),
    sc(131, "tgkill", &[e(0, Int), e(1, Int), e(2, Signal)], Dec),
    sc(133, "rt_sigsuspend", &[e(0, Sigset(1)), e(1, Ulong)], Dec),
    sc(134, "rt_sigaction", &[e(0, Signal), e(1, SigAction), x(2, SigAction), x(3, Ulong)], Dec),
    sc(135, "rt_sigprocmask", &[e(0, Xval(xlat::SIGPROCMASK_HOW, "SIG_???")), e(1, Sigset(3)), x(2, Sigset(3)), x(3, Ulong)], Dec),
    sc(136, "rt_sigpending", &[x(0, Sigset(1)), x(1, Ulong)], Dec),
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
    sc(153, "times", &[x(0, Tms)], Dec),
    sc(154, "setpgid", &[e(0, Int), e(1, Int)], Dec),
    sc(155, "getpgid", &[e(0, Int)], Dec),
    sc(156, "getsid", &[e(0, Int)], Dec),
    sc(157, "setsid", &[], Dec),
    sc(158, "getgroups", &[e(0, Int), x(1, Ptr)], Dec),
    sc(159, "setgroups", &[e(0, Int), e(1, Ptr)], Dec),
    sc(160, "uname", &[x(0, Utsname)], Dec),
    sc(163, "getrlimit", &[e(0, Xval(xlat::RLIMIT_RESOURCES, "RLIMIT_???")), x(1, Rlimit)], Dec),
    sc(164, "setrlimit", &[e(0, Xval(xlat::RLIMIT_RESOURCES, "RLIMIT_???")), e(1, Rlimit)], Dec),
    sc(165, "getrusage", &[e(0, Xval(xlat::RUSAGE_WHO, "RUSAGE_???")), x(1, Rusage)], Dec),
    sc(166, "umask", &[e(0, Mode)], Octal),
    sc(167, "prctl", &[e(0, Xval(xlat::PRCTL_OPTIONS, "PR_???")),
        when(e(1, Str), Cond::Is { reg: 0, value: xlat::PR_SET_NAME }),
        when(e(1, Hex), PRCTL_OTHER), when(e(2, Hex), PRCTL_OTHER), when(e(3, Hex), PRCTL_OTHER),
        when(e(4, Hex), PRCTL_OTHER),
        when(x(1, OutStr), Cond::Is { reg: 0, value: xlat::PR_GET_NAME })], Dec),
    sc(172, "getpid", &[], Dec),
    sc(173, "getppid", &[], Dec),
    sc(174, "getuid", &[], Dec),
    sc(175, "geteuid", &[], Dec),
    sc(176, "getgid", &[], Dec),
    sc(177, "getegid", &[], Dec),
    sc(178, "gettid", &[], Dec),
    sc(179, "sysinfo", &[x(0, Sysinfo)], Dec),
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
    sc(260, "wait4", &[e(0, Int), x(1, WaitStatus), x(2, Flags(xlat::WAIT4_OPTIONS, "W???")), x(3, Rusage)], Dec),
    sc(261, "prlimit64", &[e(0, Int), e(1, Xval(xlat::RLIMIT_RESOURCES, "RLIMIT_???")), e(2, Rlimit), x(3, Rlimit)], Dec),
    sc(276, "renameat2", &[e(0, Dirfd), e(1, Path), e(2, Dirfd), e(3, Path), e(4, Flags(xlat::RENAME_FLAGS, "RENAME_???"))], Dec),
    sc(278, "getrandom", &[x(0, OutHexBuf), x(1, Ulong), x(2, Flags(xlat::GRND_FLAGS, "GRND_???"))], Dec),
    sc(291, "statx", &[e(0, Dirfd), e(1, Path), e(2, StatxFlags),
        e(3, Flags(xlat::STATX_MASKS, "STATX_???")), x(4, Statx)], Dec),
    sc(439, "faccessat2", &[e(0, Dirfd), e(1, Path), e(2, Flags(xlat::ACCESS_MODES, "?_OK")), e(3, Flags(xlat::ACCESSAT_FLAGS, "AT_???"))], Dec),
];

/// The rest of Linux's arm64 table (include/uapi/asm-generic/unistd.h), names and argument
/// counts.
#[rustfmt::skip]
pub static UNDECODED: &[Syscall] = &[
    raw(0, "io_setup", 2),
    raw(1, "io_destroy", 1),
    raw(2, "io_submit", 3),
    raw(3, "io_cancel", 3),
    raw(4, "io_getevents", 5),
    raw(5, "setxattr", 5),
    raw(6, "lsetxattr", 5),
    raw(7, "fsetxattr", 5),
    raw(8, "getxattr", 4),
    raw(9, "lgetxattr", 4),
    raw(10, "fgetxattr", 4),
    raw(11, "listxattr", 3),
    raw(12, "llistxattr", 3),
    raw(13, "flistxattr", 3),
    raw(14, "removexattr", 2),
    raw(15, "lremovexattr", 2),
    raw(16, "fremovexattr", 2),
    raw(18, "lookup_dcookie", 3),
    raw(19, "eventfd2", 2),
    raw(20, "epoll_create1", 1),
    raw(21, "epoll_ctl", 4),
    raw(22, "epoll_pwait", 6),
    raw(26, "inotify_init1", 1),
    raw(27, "inotify_add_watch", 3),
    raw(28, "inotify_rm_watch", 2),
    raw(30, "ioprio_set", 3),
    raw(31, "ioprio_get", 2),
    raw(32, "flock", 2),
    raw(33, "mknodat", 4),
    raw(37, "linkat", 5),
    raw(39, "umount2", 2),
    raw(40, "mount", 5),
    raw(41, "pivot_root", 2),
    raw(42, "nfsservctl", 3),
    raw(43, "statfs", 2),
    raw(44, "fstatfs", 2),
    raw(45, "truncate", 2),
    raw(47, "fallocate", 4),
    raw(51, "chroot", 1),
    raw(54, "fchownat", 5),
    raw(55, "fchown", 3),
    raw(58, "vhangup", 0),
    raw(60, "quotactl", 4),
    raw(69, "preadv", 5),
    raw(70, "pwritev", 5),
    raw(74, "signalfd4", 4),
    raw(75, "vmsplice", 4),
    raw(76, "splice", 6),
    raw(77, "tee", 4),
    raw(81, "sync", 0),
    raw(82, "fsync", 1),
    raw(83, "fdatasync", 1),
    raw(84, "sync_file_range", 4),
    raw(85, "timerfd_create", 2),
    raw(86, "timerfd_settime", 4),
    raw(87, "timerfd_gettime", 2),
    raw(88, "utimensat", 4),
    raw(89, "acct", 1),
    raw(90, "capget", 2),
    raw(91, "capset", 2),
    raw(92, "personality", 1),
    raw(95, "waitid", 5),
    raw(97, "unshare", 1),
    raw(100, "get_robust_list", 3),
    raw(102, "getitimer", 2),
    raw(103, "setitimer", 3),
    raw(104, "kexec_load", 4),
    raw(105, "init_module", 3),
    raw(106, "delete_module", 2),
    raw(107, "timer_create", 3),
    raw(108, "timer_gettime", 2),
    raw(109, "timer_getoverrun", 1),
    raw(110, "timer_settime", 4),
    raw(111, "timer_delete", 1),
    raw(112, "clock_settime", 2),
    raw(114, "clock_getres", 2),
    raw(116, "syslog", 3),
    raw(118, "sched_setparam", 2),
    raw(119, "sched_setscheduler", 3),
    raw(120, "sched_getscheduler", 1),
    raw(121, "sched_getparam", 2),
    raw(122, "sched_setaffinity", 3),
    raw(125, "sched_get_priority_max", 1),
    raw(126, "sched_get_priority_min", 1),
    raw(127, "sched_rr_get_interval", 2),
    raw(132, "sigaltstack", 2),
    raw(137, "rt_sigtimedwait", 4),
    raw(138, "rt_sigqueueinfo", 3),
    raw(140, "setpriority", 3),
    raw(141, "getpriority", 2),
    raw(142, "reboot", 4),
    raw(161, "sethostname", 2),
    raw(162, "setdomainname", 2),
    raw(168, "getcpu", 3),
    raw(169, "gettimeofday", 2),
    raw(170, "settimeofday", 2),
    raw(171, "adjtimex", 1),
    raw(180, "mq_open", 4),
    raw(181, "mq_unlink", 1),
    raw(182, "mq_timedsend", 5),
    raw(183, "mq_timedreceive", 5),
    raw(184, "mq_notify", 2),
    raw(185, "mq_getsetattr", 3),
    raw(186, "msgget", 2),
    raw(187, "msgctl", 3),
    raw(188, "msgrcv", 5),
    raw(189, "msgsnd", 4),
    raw(190, "semget", 3),
    raw(191, "semctl", 4),
    raw(192, "semtimedop", 4),
    raw(193, "semop", 3),
    raw(194, "shmget", 3),
    raw(195, "shmctl", 3),
    raw(196, "shmat", 3),
    raw(197, "shmdt", 1),
    raw(198, "socket", 3),
    raw(199, "socketpair", 4),
    raw(200, "bind", 3),
    raw(201, "listen", 2),
    raw(202, "accept", 3),
    raw(203, "connect", 3),
    raw(204, "getsockname", 3),
    raw(205, "getpeername", 3),
    raw(206, "sendto", 6),
    raw(207, "recvfrom", 6),
    raw(208, "setsockopt", 5),
    raw(209, "getsockopt", 5),
    raw(210, "shutdown", 2),
    raw(211, "sendmsg", 3),
    raw(212, "recvmsg", 3),
    raw(213, "readahead", 3),
    raw(216, "mremap", 5),
    raw(217, "add_key", 5),
    raw(218, "request_key", 4),
    raw(219, "keyctl", 5),
    raw(223, "fadvise64", 4),
    raw(224, "swapon", 2),
    raw(225, "swapoff", 1),
    raw(227, "msync", 3),
    raw(228, "mlock", 2),
    raw(229, "munlock", 2),
    raw(230, "mlockall", 1),
    raw(231, "munlockall", 0),
    raw(232, "mincore", 3),
    raw(234, "remap_file_pages", 5),
    raw(235, "mbind", 6),
    raw(236, "get_mempolicy", 5),
    raw(237, "set_mempolicy", 3),
    raw(238, "migrate_pages", 4),
    raw(239, "move_pages", 6),
    raw(240, "rt_tgsigqueueinfo", 4),
    raw(241, "perf_event_open", 5),
    raw(242, "accept4", 4),
    raw(243, "recvmmsg", 5),
    raw(262, "fanotify_init", 2),
    raw(263, "fanotify_mark", 5),
    raw(264, "name_to_handle_at", 5),
    raw(265, "open_by_handle_at", 3),
    raw(266, "clock_adjtime", 2),
    raw(267, "syncfs", 1),
    raw(268, "setns", 2),
    raw(269, "sendmmsg", 4),
    raw(270, "process_vm_readv", 6),
    raw(271, "process_vm_writev", 6),
    raw(272, "kcmp", 5),
    raw(273, "finit_module", 3),
    raw(274, "sched_setattr", 3),
    raw(275, "sched_getattr", 4),
    raw(277, "seccomp", 3),
    raw(279, "memfd_create", 2),
    raw(280, "bpf", 3),
    raw(281, "execveat", 5),
    raw(282, "userfaultfd", 1),
    raw(283, "membarrier", 3),
    raw(284, "mlock2", 3),
    raw(285, "copy_file_range", 6),
    raw(286, "preadv2", 6),
    raw(287, "pwritev2", 6),
    raw(288, "pkey_mprotect", 4),
    raw(289, "pkey_alloc", 2),
    raw(290, "pkey_free", 1),
    raw(292, "io_pgetevents", 6),
    raw(293, "rseq", 4),
    raw(294, "kexec_file_load", 5),
    raw(424, "pidfd_send_signal", 4),
    raw(425, "io_uring_setup", 2),
    raw(426, "io_uring_enter", 6),
    raw(427, "io_uring_register", 4),
    raw(428, "open_tree", 3),
    raw(429, "move_mount", 5),
    raw(430, "fsopen", 2),
    raw(431, "fsconfig", 5),
    raw(432, "fsmount", 3),
    raw(433, "fspick", 3),
    raw(434, "pidfd_open", 2),
    raw(435, "clone3", 2),
    raw(436, "close_range", 3),
    raw(437, "openat2", 4),
    raw(438, "pidfd_getfd", 3),
    raw(440, "process_madvise", 5),
    raw(441, "epoll_pwait2", 6),
    raw(442, "mount_setattr", 5),
    raw(443, "quotactl_fd", 4),
    raw(444, "landlock_create_ruleset", 3),
    raw(445, "landlock_add_rule", 4),
    raw(446, "landlock_restrict_self", 2),
    raw(447, "memfd_secret", 1),
    raw(448, "process_mrelease", 2),
    raw(449, "futex_waitv", 5),
    raw(450, "set_mempolicy_home_node", 4),
    raw(451, "cachestat", 4),
    raw(452, "fchmodat2", 4),
    raw(453, "map_shadow_stack", 3),
    raw(454, "futex_wake", 4),
    raw(455, "futex_wait", 6),
    raw(456, "futex_requeue", 4),
    raw(457, "statmount", 4),
    raw(458, "listmount", 4),
    raw(459, "lsm_get_self_attr", 4),
    raw(460, "lsm_set_self_attr", 4),
    raw(461, "lsm_list_modules", 3),
    raw(462, "mseal", 3),
];

/// The table entry of syscall `nr`.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    SYSCALLS.iter().chain(UNDECODED).find(|s| s.nr == nr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

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
        let all: Vec<&Syscall> = SYSCALLS.iter().chain(UNDECODED).collect();
        for (i, call) in all.iter().enumerate() {
            // Registers x0-x5, each printed at most once whatever the conditions say.
            assert!(call.args.iter().all(|a| a.reg < 6), "{}", call.name);
            let unconditional = call.args.iter().filter(|a| a.cond == Cond::Always);
            assert!(unconditional.count() <= 6, "{}", call.name);
            assert!(
                all[i + 1..].iter().all(|other| other.nr != call.nr),
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
        assert_eq!(
            lookup(293).map(|s| (s.name, s.args.len())),
            Some(("rseq", 4))
        );
        assert!(lookup(500).is_none());
        // Every number of the arm64 table up to 294 has a name (244-259 are other arches').
        for nr in (0..=294).filter(|nr| !(244..=259).contains(nr)) {
            assert!(lookup(nr).is_some(), "{nr}");
        }
        for nr in 424..=462 {
            assert!(lookup(nr).is_some(), "{nr}");
        }
    }
}
