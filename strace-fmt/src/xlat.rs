//! Linux's arm64 constants by name, as strace's `xlat/` tables list them (the order matters:
//! it is the order flags print in), and the printers for values and flag sets
//! (`printxval`, `printflags`). errno texts are glibc's `strerror`, which strace prints.

use crate::out::Line;

/// A named value of a table.
pub type Xlat = &'static [(u64, &'static str)];

/// The name of `value` in `table`.
pub fn lookup(table: Xlat, value: u64) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}

/// strace's `printxval`: the name, or the number in hex with the table's `/* X_??? */` hint.
pub fn print_xval(out: &mut Line, table: Xlat, value: u64, unknown: &str) {
    match lookup(table, value) {
        Some(name) => out.push_str(name),
        None => {
            out.hex(value);
            out.push_str(" /* ");
            out.push_str(unknown);
            out.push_str(" */");
        }
    }
}

/// strace's `printflags`: the names of the set flags in table order joined by `|`, leftover
/// bits in hex; `0` (or the table's name for 0) when nothing is set.
pub fn print_flags(out: &mut Line, table: Xlat, value: u64) {
    if value == 0 {
        out.push_str(lookup(table, 0).unwrap_or("0"));
        return;
    }
    let mut rest = value;
    let mut first = true;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            if !first {
                out.push_byte(b'|');
            }
            out.push_str(name);
            first = false;
            rest &= !bits;
        }
    }
    if rest != 0 {
        if !first {
            out.push_byte(b'|');
        }
        out.hex(rest);
    }
}

/// [`print_flags`] with strace's `dflt`: a value with no known flag at all prints as hex with
/// the table's `/* X_??? */` hint (`0x8 /* RENAME_??? */`).
pub fn print_flags_or(out: &mut Line, table: Xlat, value: u64, unknown: &str) {
    let known = table
        .iter()
        .any(|&(bits, _)| bits != 0 && value & bits == bits);
    if value != 0 && !known {
        out.hex(value);
        out.push_str(" /* ");
        out.push_str(unknown);
        out.push_str(" */");
    } else {
        print_flags(out, table, value);
    }
}

/// Linux's errno names (asm-generic, as arm64 uses) with glibc's `strerror` text.
const ERRNOS: [(&str, &str); 134] = [
    ("", ""),
    ("EPERM", "Operation not permitted"),
    ("ENOENT", "No such file or directory"),
    ("ESRCH", "No such process"),
    ("EINTR", "Interrupted system call"),
    ("EIO", "Input/output error"),
    ("ENXIO", "No such device or address"),
    ("E2BIG", "Argument list too long"),
    ("ENOEXEC", "Exec format error"),
    ("EBADF", "Bad file descriptor"),
    ("ECHILD", "No child processes"),
    ("EAGAIN", "Resource temporarily unavailable"),
    ("ENOMEM", "Cannot allocate memory"),
    ("EACCES", "Permission denied"),
    ("EFAULT", "Bad address"),
    ("ENOTBLK", "Block device required"),
    ("EBUSY", "Device or resource busy"),
    ("EEXIST", "File exists"),
    ("EXDEV", "Invalid cross-device link"),
    ("ENODEV", "No such device"),
    ("ENOTDIR", "Not a directory"),
    ("EISDIR", "Is a directory"),
    ("EINVAL", "Invalid argument"),
    ("ENFILE", "Too many open files in system"),
    ("EMFILE", "Too many open files"),
    ("ENOTTY", "Inappropriate ioctl for device"),
    ("ETXTBSY", "Text file busy"),
    ("EFBIG", "File too large"),
    ("ENOSPC", "No space left on device"),
    ("ESPIPE", "Illegal seek"),
    ("EROFS", "Read-only file system"),
    ("EMLINK", "Too many links"),
    ("EPIPE", "Broken pipe"),
    ("EDOM", "Numerical argument out of domain"),
    ("ERANGE", "Numerical result out of range"),
    ("EDEADLK", "Resource deadlock avoided"),
    ("ENAMETOOLONG", "File name too long"),
    ("ENOLCK", "No locks available"),
    ("ENOSYS", "Function not implemented"),
    ("ENOTEMPTY", "Directory not empty"),
    ("ELOOP", "Too many levels of symbolic links"),
    ("", ""),
    ("ENOMSG", "No message of desired type"),
    ("EIDRM", "Identifier removed"),
    ("ECHRNG", "Channel number out of range"),
    ("EL2NSYNC", "Level 2 not synchronized"),
    ("EL3HLT", "Level 3 halted"),
    ("EL3RST", "Level 3 reset"),
    ("ELNRNG", "Link number out of range"),
    ("EUNATCH", "Protocol driver not attached"),
    ("ENOCSI", "No CSI structure available"),
    ("EL2HLT", "Level 2 halted"),
    ("EBADE", "Invalid exchange"),
    ("EBADR", "Invalid request descriptor"),
    ("EXFULL", "Exchange full"),
    ("ENOANO", "No anode"),
    ("EBADRQC", "Invalid request code"),
    ("EBADSLT", "Invalid slot"),
    ("", ""),
    ("EBFONT", "Bad font file format"),
    ("ENOSTR", "Device not a stream"),
    ("ENODATA", "No data available"),
    ("ETIME", "Timer expired"),
    ("ENOSR", "Out of streams resources"),
    ("ENONET", "Machine is not on the network"),
    ("ENOPKG", "Package not installed"),
    ("EREMOTE", "Object is remote"),
    ("ENOLINK", "Link has been severed"),
    ("EADV", "Advertise error"),
    ("ESRMNT", "Srmount error"),
    ("ECOMM", "Communication error on send"),
    ("EPROTO", "Protocol error"),
    ("EMULTIHOP", "Multihop attempted"),
    ("EDOTDOT", "RFS specific error"),
    ("EBADMSG", "Bad message"),
    ("EOVERFLOW", "Value too large for defined data type"),
    ("ENOTUNIQ", "Name not unique on network"),
    ("EBADFD", "File descriptor in bad state"),
    ("EREMCHG", "Remote address changed"),
    ("ELIBACC", "Can not access a needed shared library"),
    ("ELIBBAD", "Accessing a corrupted shared library"),
    ("ELIBSCN", ".lib section in a.out corrupted"),
    ("ELIBMAX", "Attempting to link in too many shared libraries"),
    ("ELIBEXEC", "Cannot exec a shared library directly"),
    (
        "EILSEQ",
        "Invalid or incomplete multibyte or wide character",
    ),
    ("ERESTART", "Interrupted system call should be restarted"),
    ("ESTRPIPE", "Streams pipe error"),
    ("EUSERS", "Too many users"),
    ("ENOTSOCK", "Socket operation on non-socket"),
    ("EDESTADDRREQ", "Destination address required"),
    ("EMSGSIZE", "Message too long"),
    ("EPROTOTYPE", "Protocol wrong type for socket"),
    ("ENOPROTOOPT", "Protocol not available"),
    ("EPROTONOSUPPORT", "Protocol not supported"),
    ("ESOCKTNOSUPPORT", "Socket type not supported"),
    ("EOPNOTSUPP", "Operation not supported"),
    ("EPFNOSUPPORT", "Protocol family not supported"),
    ("EAFNOSUPPORT", "Address family not supported by protocol"),
    ("EADDRINUSE", "Address already in use"),
    ("EADDRNOTAVAIL", "Cannot assign requested address"),
    ("ENETDOWN", "Network is down"),
    ("ENETUNREACH", "Network is unreachable"),
    ("ENETRESET", "Network dropped connection on reset"),
    ("ECONNABORTED", "Software caused connection abort"),
    ("ECONNRESET", "Connection reset by peer"),
    ("ENOBUFS", "No buffer space available"),
    ("EISCONN", "Transport endpoint is already connected"),
    ("ENOTCONN", "Transport endpoint is not connected"),
    ("ESHUTDOWN", "Cannot send after transport endpoint shutdown"),
    ("ETOOMANYREFS", "Too many references: cannot splice"),
    ("ETIMEDOUT", "Connection timed out"),
    ("ECONNREFUSED", "Connection refused"),
    ("EHOSTDOWN", "Host is down"),
    ("EHOSTUNREACH", "No route to host"),
    ("EALREADY", "Operation already in progress"),
    ("EINPROGRESS", "Operation now in progress"),
    ("ESTALE", "Stale file handle"),
    ("EUCLEAN", "Structure needs cleaning"),
    ("ENOTNAM", "Not a XENIX named type file"),
    ("ENAVAIL", "No XENIX semaphores available"),
    ("EISNAM", "Is a named type file"),
    ("EREMOTEIO", "Remote I/O error"),
    ("EDQUOT", "Disk quota exceeded"),
    ("ENOMEDIUM", "No medium found"),
    ("EMEDIUMTYPE", "Wrong medium type"),
    ("ECANCELED", "Operation canceled"),
    ("ENOKEY", "Required key not available"),
    ("EKEYEXPIRED", "Key has expired"),
    ("EKEYREVOKED", "Key has been revoked"),
    ("EKEYREJECTED", "Key was rejected by service"),
    ("EOWNERDEAD", "Owner died"),
    ("ENOTRECOVERABLE", "State not recoverable"),
    ("ERFKILL", "Operation not possible due to RF-kill"),
    ("EHWPOISON", "Memory page has hardware error"),
];

/// The kernel-internal codes above 511 that strace names (include/linux/errno.h); glibc has
/// no text for them.
const KERNEL_ERRNOS: Xlat = &[
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (515, "ENOIOCTLCMD"),
    (516, "ERESTART_RESTARTBLOCK"),
    (517, "EPROBE_DEFER"),
    (518, "EOPENSTALE"),
    (519, "ENOPARAM"),
    (521, "EBADHANDLE"),
    (522, "ENOTSYNC"),
    (523, "EBADCOOKIE"),
    (524, "ENOTSUPP"),
    (525, "ETOOSMALL"),
    (526, "ESERVERFAULT"),
    (527, "EBADTYPE"),
    (528, "EJUKEBOX"),
    (529, "EIOCBQUEUED"),
    (530, "ERECALLCONFLICT"),
];

/// The name of errno `code` (`ENOENT`).
pub fn errno_name(code: u64) -> Option<&'static str> {
    match ERRNOS.get(code as usize) {
        Some((name, _)) if !name.is_empty() => Some(name),
        _ => lookup(KERNEL_ERRNOS, code),
    }
}

/// glibc's `strerror` of `code`, when it has one of its own (not "Unknown error N").
pub fn strerror(code: u64) -> Option<&'static str> {
    match ERRNOS.get(code as usize) {
        Some((_, text)) if !text.is_empty() => Some(text),
        _ => None,
    }
}

/// strace's `print_err_ret` after `-1 `: `ENOENT (No such file or directory)`.
pub fn print_errno(out: &mut Line, code: u64) {
    match errno_name(code) {
        Some(name) => out.push_str(name),
        None => {
            out.push_str("errno ");
            out.udec(code);
        }
    }
    out.push_str(" (");
    match strerror(code) {
        Some(text) => out.push_str(text),
        None => {
            out.push_str("Unknown error ");
            out.udec(code);
        }
    }
    out.push_byte(b')');
}

/// Signal names 1-31 (asm-generic), and 32 as strace calls it.
const SIGNALS: [&str; 33] = [
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
    "SIGRTMIN",
];

pub const SIGTRAP: u32 = 5;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGCHLD: u32 = 17;
pub const SIGSTOP: u32 = 19;
/// The first real-time signal (`ASM_SIGRTMIN`) and the last (`_NSIG`).
const SIGRTMIN: u64 = 32;
const SIGRTMAX: u64 = 64;

/// strace's `printsignal`: `SIGSEGV`, `SIGRT_3`, or the number.
pub fn print_signal(out: &mut Line, sig: u64) {
    match sig {
        1..=32 => out.push_str(SIGNALS[sig as usize]),
        33..=SIGRTMAX => {
            out.push_str("SIGRT_");
            out.udec(sig - SIGRTMIN);
        }
        _ => out.dec(sig as i32 as i64),
    }
}

/// strace's `sprintsigmask_n` for a 64-bit mask: `[INT TERM]`, `[]`, or `~[...]` listing the
/// signals not in the mask when two thirds or more are set.
pub fn print_sigset(out: &mut Line, mask: u64) {
    let mask = if mask.count_ones() >= 64 * 2 / 3 {
        out.push_byte(b'~');
        !mask
    } else {
        mask
    };
    out.push_byte(b'[');
    let mut first = true;
    for bit in 0..64u64 {
        if mask & (1 << bit) == 0 {
            continue;
        }
        if !first {
            out.push_byte(b' ');
        }
        first = false;
        let sig = bit + 1;
        match sig {
            1..=32 => out.push_str(&SIGNALS[sig as usize][3..]),
            _ => {
                out.push_str("RT_");
                out.udec(sig - SIGRTMIN);
            }
        }
    }
    out.push_byte(b']');
}

/// `si_code` values every signal shares (`siginfo_codes.in`).
pub const SI_CODES: Xlat = &[
    (0, "SI_USER"),
    (0x80, "SI_KERNEL"),
    (-1i64 as u64, "SI_QUEUE"),
    (-2i64 as u64, "SI_TIMER"),
    (-3i64 as u64, "SI_MESGQ"),
    (-4i64 as u64, "SI_ASYNCIO"),
    (-5i64 as u64, "SI_SIGIO"),
    (-6i64 as u64, "SI_TKILL"),
    (-7i64 as u64, "SI_DETHREAD"),
    (-60i64 as u64, "SI_ASYNCNL"),
];
const SEGV_CODES: Xlat = &[
    (1, "SEGV_MAPERR"),
    (2, "SEGV_ACCERR"),
    (3, "SEGV_BNDERR"),
    (4, "SEGV_PKUERR"),
    (5, "SEGV_ACCADI"),
    (6, "SEGV_ADIDERR"),
    (7, "SEGV_ADIPERR"),
    (8, "SEGV_MTEAERR"),
    (9, "SEGV_MTESERR"),
    (10, "SEGV_CPERR"),
];
const BUS_CODES: Xlat = &[
    (1, "BUS_ADRALN"),
    (2, "BUS_ADRERR"),
    (3, "BUS_OBJERR"),
    (4, "BUS_MCEERR_AR"),
    (5, "BUS_MCEERR_AO"),
];
const ILL_CODES: Xlat = &[
    (1, "ILL_ILLOPC"),
    (2, "ILL_ILLOPN"),
    (3, "ILL_ILLADR"),
    (4, "ILL_ILLTRP"),
    (5, "ILL_PRVOPC"),
    (6, "ILL_PRVREG"),
    (7, "ILL_COPROC"),
    (8, "ILL_BADSTK"),
    (9, "ILL_BADIADDR"),
];
const FPE_CODES: Xlat = &[
    (1, "FPE_INTDIV"),
    (2, "FPE_INTOVF"),
    (3, "FPE_FLTDIV"),
    (4, "FPE_FLTOVF"),
    (5, "FPE_FLTUND"),
    (6, "FPE_FLTRES"),
    (7, "FPE_FLTINV"),
    (8, "FPE_FLTSUB"),
    (14, "FPE_FLTUNK"),
    (15, "FPE_CONDTRAP"),
];
const TRAP_CODES: Xlat = &[
    (1, "TRAP_BRKPT"),
    (2, "TRAP_TRACE"),
    (3, "TRAP_BRANCH"),
    (4, "TRAP_HWBKPT"),
    (5, "TRAP_UNK"),
    (6, "TRAP_PERF"),
];
const CLD_CODES: Xlat = &[
    (1, "CLD_EXITED"),
    (2, "CLD_KILLED"),
    (3, "CLD_DUMPED"),
    (4, "CLD_TRAPPED"),
    (5, "CLD_STOPPED"),
    (6, "CLD_CONTINUED"),
];
const POLL_CODES: Xlat = &[
    (1, "POLL_IN"),
    (2, "POLL_OUT"),
    (3, "POLL_MSG"),
    (4, "POLL_ERR"),
    (5, "POLL_PRI"),
    (6, "POLL_HUP"),
];
const SYS_CODES: Xlat = &[(1, "SYS_SECCOMP"), (2, "SYS_USER_DISPATCH")];

/// strace's `print_si_code`: the shared codes first, then the signal's own.
pub fn print_si_code(out: &mut Line, sig: u32, code: i32) {
    let value = code as i64 as u64;
    let own = match sig {
        4 => ILL_CODES,
        5 => TRAP_CODES,
        7 => BUS_CODES,
        8 => FPE_CODES,
        11 => SEGV_CODES,
        17 => CLD_CODES,
        29 => POLL_CODES,
        31 => SYS_CODES,
        _ => &[],
    };
    match lookup(SI_CODES, value).or_else(|| lookup(own, value)) {
        Some(name) => out.push_str(name),
        None => out.dec(code.into()),
    }
}

/// Access modes, then flags, in `open_mode_flags.in` order with arm64's values.
pub const O_ACCMODE: u64 = 0o3;
pub const O_CREAT: u64 = 0o100;
pub const O_TMPFILE: u64 = 0o20040000;
/// O_TMPFILE without its O_DIRECTORY bit: what makes openat take a mode.
pub const __O_TMPFILE: u64 = 0o20000000;
pub const OPEN_FLAGS: Xlat = &[
    (O_CREAT, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o4000000, "__O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o200000, "O_DIRECT"),
    (0o400000, "O_LARGEFILE"),
    (0o100000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (O_TMPFILE, "O_TMPFILE"),
    (__O_TMPFILE, "__O_TMPFILE"),
    (0o40000, "O_DIRECTORY"),
    (0o20000, "O_ASYNC"),
];
const ACCMODES: [&str; 4] = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"];

/// strace's `tprint_open_modes`: `O_RDONLY|O_CLOEXEC`.
pub fn print_open_flags(out: &mut Line, flags: u64) {
    out.push_str(ACCMODES[(flags & O_ACCMODE) as usize]);
    let rest = flags & !O_ACCMODE;
    if rest != 0 {
        out.push_byte(b'|');
        print_flags(out, OPEN_FLAGS, rest);
    }
}

pub const PROT_FLAGS: Xlat = &[
    (0, "PROT_NONE"),
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x10, "PROT_BTI"),
    (0x20, "PROT_MTE"),
    (0x0100_0000, "PROT_GROWSDOWN"),
    (0x0200_0000, "PROT_GROWSUP"),
];

const MAP_TYPE: u64 = 0xf;
const MAP_TYPES: Xlat = &[
    (0x1, "MAP_SHARED"),
    (0x2, "MAP_PRIVATE"),
    (0x3, "MAP_SHARED_VALIDATE"),
    (0x8, "MAP_DROPPABLE"),
];
const MAP_FLAGS: Xlat = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x4000000, "MAP_UNINITIALIZED"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];

/// strace's `print_mmap_flags`: the mapping type, then the flags.
pub fn print_mmap_flags(out: &mut Line, flags: u64) {
    print_xval(out, MAP_TYPES, flags & MAP_TYPE, "MAP_???");
    let rest = flags & !MAP_TYPE;
    if rest != 0 {
        out.push_byte(b'|');
        print_flags(out, MAP_FLAGS, rest);
    }
}

pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_FLAGS: Xlat = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (CLONE_PIDFD, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (CLONE_SETTLS, "CLONE_SETTLS"),
    (CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"),
    (CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
];

/// strace's clone flags: the flags, then the exit signal (`CSIGNAL`).
pub fn print_clone_flags(out: &mut Line, flags: u64) {
    let sig = flags & 0xff;
    let rest = flags & !0xff;
    if rest != 0 || sig == 0 {
        print_flags(out, CLONE_FLAGS, rest);
    }
    if sig != 0 {
        if rest != 0 {
            out.push_byte(b'|');
        }
        print_signal(out, sig);
    }
}

pub const WAIT_OPTIONS: Xlat = &[
    (0x1, "WNOHANG"),
    (0x2, "WSTOPPED"),
    (0x4, "WEXITED"),
    (0x8, "WCONTINUED"),
    (0x0100_0000, "WNOWAIT"),
    (0x2000_0000, "__WNOTHREAD"),
    (0x4000_0000, "__WALL"),
    (0x8000_0000, "__WCLONE"),
];

/// wait4's options print `WUNTRACED` for 2 (`wait4_options.in`).
pub const WAIT4_OPTIONS: Xlat = &[
    (0x1, "WNOHANG"),
    (0x2, "WUNTRACED"),
    (0x8, "WCONTINUED"),
    (0x2000_0000, "__WNOTHREAD"),
    (0x4000_0000, "__WALL"),
    (0x8000_0000, "__WCLONE"),
];

const PTRACE_EVENTS: Xlat = &[
    (1, "PTRACE_EVENT_FORK"),
    (2, "PTRACE_EVENT_VFORK"),
    (3, "PTRACE_EVENT_CLONE"),
    (4, "PTRACE_EVENT_EXEC"),
    (5, "PTRACE_EVENT_VFORK_DONE"),
    (6, "PTRACE_EVENT_EXIT"),
    (7, "PTRACE_EVENT_SECCOMP"),
    (128, "PTRACE_EVENT_STOP"),
];

/// strace's `printstatus` of a wait status word: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
pub fn print_wait_status(out: &mut Line, status: u32) {
    out.push_str("[{");
    let low = status & 0x7f;
    if status & 0xff == 0x7f {
        out.push_str("WIFSTOPPED(s) && WSTOPSIG(s) == ");
        print_signal(out, u64::from((status >> 8) & 0xff));
        let event = status >> 16;
        if event != 0 {
            out.push_str(" && s>>16 == ");
            print_xval(out, PTRACE_EVENTS, event.into(), "PTRACE_EVENT_???");
        }
    } else if status == 0xffff {
        out.push_str("WIFCONTINUED(s)");
    } else if low != 0 {
        out.push_str("WIFSIGNALED(s) && WTERMSIG(s) == ");
        print_signal(out, low.into());
        if status & 0x80 != 0 {
            out.push_str(" && WCOREDUMP(s)");
        }
    } else {
        out.push_str("WIFEXITED(s) && WEXITSTATUS(s) == ");
        out.udec(u64::from((status >> 8) & 0xff));
    }
    out.push_str("}]");
}

pub const AT_FDCWD: i32 = -100;
pub const AT_FLAGS: Xlat = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
    (0x8000, "AT_RECURSIVE"),
];
/// statx's synchronisation type (`AT_STATX_SYNC_TYPE`), printed before its other flags.
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
pub const AT_STATX_SYNC_TYPES: Xlat = &[
    (0, "AT_STATX_SYNC_AS_STAT"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
];
pub const STATX_MASKS: Xlat = &[
    (0xfff, "STATX_ALL"),
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"),
    (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"),
];
pub const STATX_ATTRS: Xlat = &[
    (0x4, "STATX_ATTR_COMPRESSED"),
    (0x10, "STATX_ATTR_IMMUTABLE"),
    (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"),
    (0x800, "STATX_ATTR_ENCRYPTED"),
    (0x1000, "STATX_ATTR_AUTOMOUNT"),
    (0x2000, "STATX_ATTR_MOUNT_ROOT"),
    (0x100000, "STATX_ATTR_VERITY"),
    (0x200000, "STATX_ATTR_DAX"),
];

/// faccessat2's flags: 0x200 is `AT_EACCESS` there.
pub const ACCESSAT_FLAGS: Xlat = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];
pub const ACCESS_MODES: Xlat = &[(0, "F_OK"), (4, "R_OK"), (2, "W_OK"), (1, "X_OK")];
pub const RENAME_FLAGS: Xlat = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];
pub const SEEK_WHENCE: Xlat = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];
pub const FD_FLAGS: Xlat = &[(1, "FD_CLOEXEC")];
pub const F_GETFD: u64 = 1;
pub const F_SETFD: u64 = 2;
pub const F_GETFL: u64 = 3;
pub const F_SETFL: u64 = 4;
pub const FCNTL_CMDS: Xlat = &[
    (0, "F_DUPFD"),
    (F_GETFD, "F_GETFD"),
    (F_SETFD, "F_SETFD"),
    (F_GETFL, "F_GETFL"),
    (F_SETFL, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];
pub const CLOCK_IDS: Xlat = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (11, "CLOCK_TAI"),
];
pub const TIMER_FLAGS: Xlat = &[(1, "TIMER_ABSTIME")];
pub const SIGPROCMASK_HOW: Xlat = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_FLAGS: Xlat = &[
    (SA_RESTORER, "SA_RESTORER"),
    (0x0800_0000, "SA_ONSTACK"),
    (0x1000_0000, "SA_RESTART"),
    (0x4000_0000, "SA_NODEFER"),
    (0x8000_0000, "SA_RESETHAND"),
    (0x4, "SA_SIGINFO"),
    (0x1, "SA_NOCLDSTOP"),
    (0x2, "SA_NOCLDWAIT"),
    (0x400, "SA_UNSUPPORTED"),
    (0x800, "SA_EXPOSE_TAGBITS"),
];
pub const SA_HANDLERS: Xlat = &[(0, "SIG_DFL"), (1, "SIG_IGN")];
pub const MADVISE_ADVICE: Xlat = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
];
pub const RLIMIT_RESOURCES: Xlat = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];
pub const RUSAGE_WHO: Xlat = &[
    (0, "RUSAGE_SELF"),
    (-1i64 as u64, "RUSAGE_CHILDREN"),
    (1, "RUSAGE_THREAD"),
];
pub const GRND_FLAGS: Xlat = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];
pub const PR_SET_NAME: u64 = 15;
pub const PR_GET_NAME: u64 = 16;
pub const PRCTL_OPTIONS: Xlat = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (8, "PR_SET_KEEPCAPS"),
    (PR_SET_NAME, "PR_SET_NAME"),
    (PR_GET_NAME, "PR_GET_NAME"),
    (22, "PR_SET_SECCOMP"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (0x59616d61, "PR_SET_PTRACER"),
    (50, "PR_SVE_SET_VL"),
    (51, "PR_SVE_GET_VL"),
    (54, "PR_PAC_RESET_KEYS"),
    (55, "PR_SET_TAGGED_ADDR_CTRL"),
    (56, "PR_GET_TAGGED_ADDR_CTRL"),
];
pub const FUTEX_OPS: Xlat = &[
    (0, "FUTEX_WAIT"),
    (1, "FUTEX_WAKE"),
    (2, "FUTEX_FD"),
    (3, "FUTEX_REQUEUE"),
    (4, "FUTEX_CMP_REQUEUE"),
    (5, "FUTEX_WAKE_OP"),
    (6, "FUTEX_LOCK_PI"),
    (7, "FUTEX_UNLOCK_PI"),
    (8, "FUTEX_TRYLOCK_PI"),
    (9, "FUTEX_WAIT_BITSET"),
    (10, "FUTEX_WAKE_BITSET"),
    (11, "FUTEX_WAIT_REQUEUE_PI"),
    (12, "FUTEX_CMP_REQUEUE_PI"),
    (13, "FUTEX_LOCK_PI2"),
];
pub const FUTEX_PRIVATE_FLAG: u64 = 128;
pub const FUTEX_CLOCK_REALTIME: u64 = 256;

/// strace's `futexops` names: `FUTEX_WAIT_PRIVATE`,
/// `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`; other bits make it `0x... /* FUTEX_??? */`.
pub fn print_futex_op(out: &mut Line, op: u64) {
    let op = op & 0xffff_ffff;
    let cmd = op & 127;
    match lookup(FUTEX_OPS, cmd)
        .filter(|_| op & !(127 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) == 0)
    {
        Some(name) => {
            out.push_str(name);
            if op & FUTEX_PRIVATE_FLAG != 0 {
                out.push_str("_PRIVATE");
            }
            if op & FUTEX_CLOCK_REALTIME != 0 {
                out.push_str("|FUTEX_CLOCK_REALTIME");
            }
        }
        None => {
            out.hex(op);
            out.push_str(" /* FUTEX_??? */");
        }
    }
}

/// FUTEX_WAKE_OP's operations and comparisons.
pub const FUTEX_WAKE_OPS: Xlat = &[
    (0, "FUTEX_OP_SET"),
    (1, "FUTEX_OP_ADD"),
    (2, "FUTEX_OP_OR"),
    (3, "FUTEX_OP_ANDN"),
    (4, "FUTEX_OP_XOR"),
];
pub const FUTEX_WAKE_CMPS: Xlat = &[
    (0, "FUTEX_OP_CMP_EQ"),
    (1, "FUTEX_OP_CMP_NE"),
    (2, "FUTEX_OP_CMP_LT"),
    (3, "FUTEX_OP_CMP_LE"),
    (4, "FUTEX_OP_CMP_GT"),
    (5, "FUTEX_OP_CMP_GE"),
];

pub const POLL_FLAGS: Xlat = &[
    (0x1, "POLLIN"),
    (0x2, "POLLPRI"),
    (0x4, "POLLOUT"),
    (0x8, "POLLERR"),
    (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"),
    (0x40, "POLLRDNORM"),
    (0x80, "POLLRDBAND"),
    (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"),
    (0x400, "POLLMSG"),
    (0x1000, "POLLREMOVE"),
    (0x2000, "POLLRDHUP"),
];

// struct termios's flags (asm-generic/termbits.h), in strace's `term_*flags.in` order.
pub const TERM_IFLAGS: Xlat = &[
    (0o1, "IGNBRK"),
    (0o2, "BRKINT"),
    (0o4, "IGNPAR"),
    (0o10, "PARMRK"),
    (0o20, "INPCK"),
    (0o40, "ISTRIP"),
    (0o100, "INLCR"),
    (0o200, "IGNCR"),
    (0o400, "ICRNL"),
    (0o1000, "IUCLC"),
    (0o2000, "IXON"),
    (0o4000, "IXANY"),
    (0o10000, "IXOFF"),
    (0o20000, "IMAXBEL"),
    (0o40000, "IUTF8"),
];
pub const TERM_OFLAGS: Xlat = &[
    (0o1, "OPOST"),
    (0o2, "OLCUC"),
    (0o4, "ONLCR"),
    (0o10, "OCRNL"),
    (0o20, "ONOCR"),
    (0o40, "ONLRET"),
    (0o100, "OFILL"),
    (0o200, "OFDEL"),
];
/// c_oflag's delay fields: mask and the names of their values.
pub const TERM_OFLAG_DELAYS: [(u64, Xlat, &str); 6] = [
    (0o400, &[(0, "NL0"), (0o400, "NL1")], "NL?"),
    (
        0o3000,
        &[
            (0, "CR0"),
            (0o1000, "CR1"),
            (0o2000, "CR2"),
            (0o3000, "CR3"),
        ],
        "CR?",
    ),
    (
        0o14000,
        &[
            (0, "TAB0"),
            (0o4000, "TAB1"),
            (0o10000, "TAB2"),
            (0o14000, "TAB3"),
        ],
        "TAB?",
    ),
    (0o20000, &[(0, "BS0"), (0o20000, "BS1")], "BS?"),
    (0o40000, &[(0, "VT0"), (0o40000, "VT1")], "VT?"),
    (0o100000, &[(0, "FF0"), (0o100000, "FF1")], "FF?"),
];
pub const CBAUD: u64 = 0o10017;
pub const CIBAUD: u64 = 0o2003600000;
pub const CSIZE: u64 = 0o60;
pub const BAUD_RATES: Xlat = &[
    (0, "B0"),
    (0o1, "B50"),
    (0o2, "B75"),
    (0o3, "B110"),
    (0o4, "B134"),
    (0o5, "B150"),
    (0o6, "B200"),
    (0o7, "B300"),
    (0o10, "B600"),
    (0o11, "B1200"),
    (0o12, "B1800"),
    (0o13, "B2400"),
    (0o14, "B4800"),
    (0o15, "B9600"),
    (0o16, "B19200"),
    (0o17, "B38400"),
    (0o10000, "BOTHER"),
    (0o10001, "B57600"),
    (0o10002, "B115200"),
    (0o10003, "B230400"),
    (0o10004, "B460800"),
    (0o10005, "B500000"),
    (0o10006, "B576000"),
    (0o10007, "B921600"),
    (0o10010, "B1000000"),
    (0o10011, "B1152000"),
    (0o10012, "B1500000"),
    (0o10013, "B2000000"),
    (0o10014, "B2500000"),
    (0o10015, "B3000000"),
    (0o10016, "B3500000"),
    (0o10017, "B4000000"),
];
pub const CSIZES: Xlat = &[(0, "CS5"), (0o20, "CS6"), (0o40, "CS7"), (0o60, "CS8")];
pub const TERM_CFLAGS: Xlat = &[
    (0o100, "CSTOPB"),
    (0o200, "CREAD"),
    (0o400, "PARENB"),
    (0o1000, "PARODD"),
    (0o2000, "HUPCL"),
    (0o4000, "CLOCAL"),
    (0o10000000000, "CMSPAR"),
    (0o20000000000, "CRTSCTS"),
];
pub const TERM_LFLAGS: Xlat = &[
    (0o1, "ISIG"),
    (0o2, "ICANON"),
    (0o4, "XCASE"),
    (0o10, "ECHO"),
    (0o20, "ECHOE"),
    (0o40, "ECHOK"),
    (0o100, "ECHONL"),
    (0o200, "NOFLSH"),
    (0o100000, "IEXTEN"),
    (0o1000, "ECHOCTL"),
    (0o2000, "ECHOPRT"),
    (0o4000, "ECHOKE"),
    (0o10000, "FLUSHO"),
    (0o40000, "PENDIN"),
    (0o400, "TOSTOP"),
    (0o200000, "EXTPROC"),
];
pub const TCXONC_OPTIONS: Xlat = &[(0, "TCOOFF"), (1, "TCOON"), (2, "TCIOFF"), (3, "TCION")];
pub const TCFLSH_OPTIONS: Xlat = &[(0, "TCIFLUSH"), (1, "TCOFLUSH"), (2, "TCIOFLUSH")];

/// The tty ioctls (asm-generic/ioctls.h, as arm64 uses them).
pub const TTY_IOCTLS: Xlat = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x5405, "TCGETA"),
    (0x5406, "TCSETA"),
    (0x5407, "TCSETAW"),
    (0x5408, "TCSETAF"),
    (0x5409, "TCSBRK"),
    (0x540A, "TCXONC"),
    (0x540B, "TCFLSH"),
    (0x540C, "TIOCEXCL"),
    (0x540D, "TIOCNXCL"),
    (0x540E, "TIOCSCTTY"),
    (0x540F, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5411, "TIOCOUTQ"),
    (0x5412, "TIOCSTI"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x5415, "TIOCMGET"),
    (0x5416, "TIOCMBIS"),
    (0x5417, "TIOCMBIC"),
    (0x5418, "TIOCMSET"),
    (0x541B, "FIONREAD"),
    (0x541C, "TIOCLINUX"),
    (0x541D, "TIOCCONS"),
    (0x5420, "TIOCPKT"),
    (0x5421, "FIONBIO"),
    (0x5422, "TIOCNOTTY"),
    (0x5423, "TIOCSETD"),
    (0x5424, "TIOCGETD"),
    (0x5425, "TCSBRKP"),
    (0x5427, "TIOCSBRK"),
    (0x5428, "TIOCCBRK"),
    (0x5429, "TIOCGSID"),
    (0x80045430, "TIOCGPTN"),
    (0x40045431, "TIOCSPTLCK"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
];
pub const PTRACE_REQUESTS: Xlat = &[
    (0, "PTRACE_TRACEME"),
    (1, "PTRACE_PEEKTEXT"),
    (2, "PTRACE_PEEKDATA"),
    (3, "PTRACE_PEEKUSER"),
    (4, "PTRACE_POKETEXT"),
    (5, "PTRACE_POKEDATA"),
    (6, "PTRACE_POKEUSER"),
    (7, "PTRACE_CONT"),
    (8, "PTRACE_KILL"),
    (9, "PTRACE_SINGLESTEP"),
    (16, "PTRACE_ATTACH"),
    (17, "PTRACE_DETACH"),
    (24, "PTRACE_SYSCALL"),
    (0x4200, "PTRACE_SETOPTIONS"),
    (0x4201, "PTRACE_GETEVENTMSG"),
    (0x4202, "PTRACE_GETSIGINFO"),
    (0x4203, "PTRACE_SETSIGINFO"),
    (0x4204, "PTRACE_GETREGSET"),
    (0x4205, "PTRACE_SETREGSET"),
    (0x4206, "PTRACE_SEIZE"),
    (0x4207, "PTRACE_INTERRUPT"),
    (0x4208, "PTRACE_LISTEN"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut Line)) -> String {
        let mut line = Line::new();
        f(&mut line);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn errnos_carry_glibc_texts() {
        assert_eq!(
            with(|l| print_errno(l, 2)),
            "ENOENT (No such file or directory)"
        );
        assert_eq!(
            with(|l| print_errno(l, 38)),
            "ENOSYS (Function not implemented)"
        );
        assert_eq!(
            with(|l| print_errno(l, 133)),
            "EHWPOISON (Memory page has hardware error)"
        );
        assert_eq!(
            with(|l| print_errno(l, 515)),
            "ENOIOCTLCMD (Unknown error 515)"
        );
        assert_eq!(with(|l| print_errno(l, 41)), "errno 41 (Unknown error 41)");
        assert_eq!(
            with(|l| print_errno(l, 4000)),
            "errno 4000 (Unknown error 4000)"
        );
        // Every name is distinct and has its text.
        for code in 1..ERRNOS.len() as u64 {
            assert_eq!(
                errno_name(code).is_some(),
                strerror(code).is_some(),
                "{code}"
            );
        }
    }

    #[test]
    fn signals_and_sets() {
        assert_eq!(with(|l| print_signal(l, 11)), "SIGSEGV");
        assert_eq!(with(|l| print_signal(l, 32)), "SIGRTMIN");
        assert_eq!(with(|l| print_signal(l, 35)), "SIGRT_3");
        assert_eq!(with(|l| print_signal(l, 0)), "0");
        assert_eq!(with(|l| print_signal(l, 65)), "65");
        assert_eq!(with(|l| print_sigset(l, 0)), "[]");
        assert_eq!(
            with(|l| print_sigset(l, (1 << 1) | (1 << 14))),
            "[INT TERM]"
        );
        assert_eq!(
            with(|l| print_sigset(l, (1 << 31) | (1 << 32))),
            "[RTMIN RT_1]"
        );
        assert_eq!(with(|l| print_sigset(l, !(1u64 << 8))), "~[KILL]");
        assert_eq!(with(|l| print_sigset(l, u64::MAX)), "~[]");
    }

    #[test]
    fn si_codes_per_signal() {
        assert_eq!(with(|l| print_si_code(l, 11, 1)), "SEGV_MAPERR");
        assert_eq!(with(|l| print_si_code(l, 7, 1)), "BUS_ADRALN");
        assert_eq!(with(|l| print_si_code(l, 5, 1)), "TRAP_BRKPT");
        assert_eq!(with(|l| print_si_code(l, 17, 1)), "CLD_EXITED");
        assert_eq!(with(|l| print_si_code(l, 2, 0x80)), "SI_KERNEL");
        assert_eq!(with(|l| print_si_code(l, 15, -6)), "SI_TKILL");
        assert_eq!(with(|l| print_si_code(l, 15, 0)), "SI_USER");
        assert_eq!(with(|l| print_si_code(l, 10, 42)), "42");
    }

    #[test]
    fn open_flags() {
        assert_eq!(with(|l| print_open_flags(l, 0)), "O_RDONLY");
        assert_eq!(
            with(|l| print_open_flags(l, 0o2000000)),
            "O_RDONLY|O_CLOEXEC"
        );
        assert_eq!(
            with(|l| print_open_flags(l, 0o1101)),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(
            with(|l| print_open_flags(l, 0o2044000)),
            "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY"
        );
        assert_eq!(with(|l| print_open_flags(l, 0o4010002)), "O_RDWR|O_SYNC");
        assert_eq!(
            with(|l| print_open_flags(l, 0o20040002)),
            "O_RDWR|O_TMPFILE"
        );
        assert_eq!(
            with(|l| print_open_flags(l, 3 | (1 << 40))),
            "O_ACCMODE|0x10000000000"
        );
    }

    #[test]
    fn mmap_prot_and_flags() {
        assert_eq!(with(|l| print_flags(l, PROT_FLAGS, 0)), "PROT_NONE");
        assert_eq!(
            with(|l| print_flags(l, PROT_FLAGS, 3)),
            "PROT_READ|PROT_WRITE"
        );
        assert_eq!(
            with(|l| print_flags(l, PROT_FLAGS, 5 | 0x40)),
            "PROT_READ|PROT_EXEC|0x40"
        );
        assert_eq!(
            with(|l| print_mmap_flags(l, 0x22)),
            "MAP_PRIVATE|MAP_ANONYMOUS"
        );
        assert_eq!(
            with(|l| print_mmap_flags(l, 0x812)),
            "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"
        );
        assert_eq!(
            with(|l| print_mmap_flags(l, 0x20)),
            "0 /* MAP_??? */|MAP_ANONYMOUS"
        );
    }

    #[test]
    fn clone_flags_end_in_the_exit_signal() {
        assert_eq!(with(|l| print_clone_flags(l, 17)), "SIGCHLD");
        assert_eq!(with(|l| print_clone_flags(l, 0)), "0");
        assert_eq!(
            with(|l| print_clone_flags(l, 0x1200000 | 17)),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        );
        assert_eq!(
            with(|l| print_clone_flags(l, 0x4100 | 17)),
            "CLONE_VM|CLONE_VFORK|SIGCHLD"
        );
    }

    #[test]
    fn wait_statuses() {
        assert_eq!(
            with(|l| print_wait_status(l, 0)),
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]"
        );
        assert_eq!(
            with(|l| print_wait_status(l, 3 << 8)),
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]"
        );
        assert_eq!(
            with(|l| print_wait_status(l, 11)),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV}]"
        );
        assert_eq!(
            with(|l| print_wait_status(l, 0x80 | 11)),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]"
        );
        assert_eq!(
            with(|l| print_wait_status(l, (19 << 8) | 0x7f)),
            "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]"
        );
        assert_eq!(
            with(|l| print_wait_status(l, (1 << 16) | (5 << 8) | 0x7f)),
            "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP && s>>16 == PTRACE_EVENT_FORK}]"
        );
        assert_eq!(
            with(|l| print_wait_status(l, 0xffff)),
            "[{WIFCONTINUED(s)}]"
        );
    }

    #[test]
    fn values_and_unknowns() {
        assert_eq!(
            with(|l| print_xval(l, TTY_IOCTLS, 0x5401, "TC???")),
            "TCGETS"
        );
        assert_eq!(
            with(|l| print_xval(l, SEEK_WHENCE, 9, "SEEK_???")),
            "0x9 /* SEEK_??? */"
        );
        assert_eq!(with(|l| print_flags(l, ACCESS_MODES, 0)), "F_OK");
        assert_eq!(with(|l| print_flags(l, ACCESS_MODES, 6)), "R_OK|W_OK");
        assert_eq!(with(|l| print_flags(l, AT_FLAGS, 0)), "0");
        assert_eq!(
            with(|l| print_flags_or(l, RENAME_FLAGS, 8, "RENAME_???")),
            "0x8 /* RENAME_??? */"
        );
        assert_eq!(
            with(|l| print_flags_or(l, RENAME_FLAGS, 9, "RENAME_???")),
            "RENAME_NOREPLACE|0x8"
        );
        assert_eq!(
            with(|l| print_flags_or(l, RENAME_FLAGS, 0, "RENAME_???")),
            "0"
        );
        assert_eq!(with(|l| print_futex_op(l, 128)), "FUTEX_WAIT_PRIVATE");
        assert_eq!(with(|l| print_futex_op(l, 1)), "FUTEX_WAKE");
        assert_eq!(
            with(|l| print_futex_op(l, 256 | 128 | 9)),
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"
        );
        assert_eq!(with(|l| print_futex_op(l, 99)), "0x63 /* FUTEX_??? */");
        assert_eq!(with(|l| print_futex_op(l, 0x401)), "0x401 /* FUTEX_??? */");
    }
}
