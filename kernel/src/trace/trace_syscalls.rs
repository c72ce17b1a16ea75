//! Syscall events, the pure half (Linux: `kernel/trace/trace_syscalls.c` and the metadata
//! `SYSCALL_DEFINEx` leaves in `include/linux/syscalls.h`): the table of the syscalls we
//! implement with their arguments' C types and names, and from it each
//! `syscalls:sys_enter_NAME` / `sys_exit_NAME` event's fields, `print fmt` and output.
//!
//! The entries are Linux's: `struct syscall_trace_enter { struct trace_entry ent; int nr;
//! unsigned long args[]; }` (one `unsigned long` per argument, declared with the argument's C
//! type, `signed:0`) and `struct syscall_trace_exit { struct trace_entry ent; int nr; long
//! ret; }`. The recording half (one probe on each `raw_syscalls` tracepoint and per-syscall
//! enabled files) is `events/syscalls.rs`.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::trace_events::{Field, FieldType};

/// One implemented syscall as `SYSCALL_DEFINEx` describes it (Linux's `struct
/// syscall_metadata`): the number, `sys_NAME`, and each argument's C type and name as the
/// macro stringifies them (`__user` already gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallMeta {
    pub nr: u32,
    pub name: &'static str,
    pub args: &'static [(&'static str, &'static str)],
}

impl SyscallMeta {
    /// The event name without its `sys_enter_`/`sys_exit_` prefix.
    pub fn short_name(&self) -> &'static str {
        self.name.strip_prefix("sys_").unwrap_or(self.name)
    }
}

/// Linux's `NR_syscalls` for arm64 (the generic table's `__NR_syscalls` in 6.12).
pub const NR_SYSCALLS: usize = 463;

macro_rules! meta {
    ($nr:expr, $name:literal $(, $ty:literal $arg:literal)*) => {
        SyscallMeta { nr: $nr, name: $name, args: &[$(($ty, $arg)),*] }
    };
}

/// Every syscall the kernel implements, by number, with Linux 6.12's `SYSCALL_DEFINE`
/// arguments (arm64's `mmap` from `arch/arm64/kernel/sys.c`, `clone` with
/// `CONFIG_CLONE_BACKWARDS`, `uname` as `newuname`). A syscall added to the dispatcher gets its
/// events by a line here.
pub static SYSCALLS: &[SyscallMeta] = &[
    meta!(17, "sys_getcwd", "char *" "buf", "unsigned long" "size"),
    meta!(23, "sys_dup", "unsigned int" "fildes"),
    meta!(24, "sys_dup3", "unsigned int" "oldfd", "unsigned int" "newfd", "int" "flags"),
    meta!(25, "sys_fcntl", "unsigned int" "fd", "unsigned int" "cmd", "unsigned long" "arg"),
    meta!(29, "sys_ioctl", "unsigned int" "fd", "unsigned int" "cmd", "unsigned long" "arg"),
    meta!(34, "sys_mkdirat", "int" "dfd", "const char *" "pathname", "umode_t" "mode"),
    meta!(35, "sys_unlinkat", "int" "dfd", "const char *" "pathname", "int" "flag"),
    meta!(36, "sys_symlinkat", "const char *" "oldname", "int" "newdfd",
        "const char *" "newname"),
    meta!(38, "sys_renameat", "int" "olddfd", "const char *" "oldname", "int" "newdfd",
        "const char *" "newname"),
    meta!(46, "sys_ftruncate", "unsigned int" "fd", "off_t" "length"),
    meta!(48, "sys_faccessat", "int" "dfd", "const char *" "filename", "int" "mode"),
    meta!(49, "sys_chdir", "const char *" "filename"),
    meta!(50, "sys_fchdir", "unsigned int" "fd"),
    meta!(52, "sys_fchmod", "unsigned int" "fd", "umode_t" "mode"),
    meta!(53, "sys_fchmodat", "int" "dfd", "const char *" "filename", "umode_t" "mode"),
    meta!(56, "sys_openat", "int" "dfd", "const char *" "filename", "int" "flags",
        "umode_t" "mode"),
    meta!(57, "sys_close", "unsigned int" "fd"),
    meta!(59, "sys_pipe2", "int *" "fildes", "int" "flags"),
    meta!(61, "sys_getdents64", "unsigned int" "fd", "struct linux_dirent64 *" "dirent",
        "unsigned int" "count"),
    meta!(62, "sys_lseek", "unsigned int" "fd", "off_t" "offset", "unsigned int" "whence"),
    meta!(63, "sys_read", "unsigned int" "fd", "char *" "buf", "size_t" "count"),
    meta!(64, "sys_write", "unsigned int" "fd", "const char *" "buf", "size_t" "count"),
    meta!(65, "sys_readv", "unsigned long" "fd", "const struct iovec *" "vec",
        "unsigned long" "vlen"),
    meta!(66, "sys_writev", "unsigned long" "fd", "const struct iovec *" "vec",
        "unsigned long" "vlen"),
    meta!(67, "sys_pread64", "unsigned int" "fd", "char *" "buf", "size_t" "count",
        "loff_t" "pos"),
    meta!(68, "sys_pwrite64", "unsigned int" "fd", "const char *" "buf", "size_t" "count",
        "loff_t" "pos"),
    meta!(71, "sys_sendfile64", "int" "out_fd", "int" "in_fd", "loff_t *" "offset",
        "size_t" "count"),
    meta!(72, "sys_pselect6", "int" "n", "fd_set *" "inp", "fd_set *" "outp", "fd_set *" "exp",
        "struct __kernel_timespec *" "tsp", "void *" "sig"),
    meta!(73, "sys_ppoll", "struct pollfd *" "ufds", "unsigned int" "nfds",
        "struct __kernel_timespec *" "tsp", "const sigset_t *" "sigmask", "size_t" "sigsetsize"),
    meta!(78, "sys_readlinkat", "int" "dfd", "const char *" "pathname", "char *" "buf",
        "int" "bufsiz"),
    meta!(79, "sys_newfstatat", "int" "dfd", "const char *" "filename",
        "struct stat *" "statbuf", "int" "flag"),
    meta!(80, "sys_newfstat", "unsigned int" "fd", "struct stat *" "statbuf"),
    meta!(93, "sys_exit", "int" "error_code"),
    meta!(94, "sys_exit_group", "int" "error_code"),
    meta!(96, "sys_set_tid_address", "int *" "tidptr"),
    meta!(99, "sys_set_robust_list", "struct robust_list_head *" "head", "size_t" "len"),
    meta!(101, "sys_nanosleep", "struct __kernel_timespec *" "rqtp",
        "struct __kernel_timespec *" "rmtp"),
    meta!(113, "sys_clock_gettime", "const clockid_t" "which_clock",
        "struct __kernel_timespec *" "tp"),
    meta!(115, "sys_clock_nanosleep", "const clockid_t" "which_clock", "int" "flags",
        "const struct __kernel_timespec *" "rqtp", "struct __kernel_timespec *" "rmtp"),
    meta!(117, "sys_ptrace", "long" "request", "long" "pid", "unsigned long" "addr",
        "unsigned long" "data"),
    meta!(124, "sys_sched_yield"),
    meta!(128, "sys_restart_syscall"),
    meta!(129, "sys_kill", "pid_t" "pid", "int" "sig"),
    meta!(130, "sys_tkill", "pid_t" "pid", "int" "sig"),
    meta!(131, "sys_tgkill", "pid_t" "tgid", "pid_t" "pid", "int" "sig"),
    meta!(133, "sys_rt_sigsuspend", "sigset_t *" "unewset", "size_t" "sigsetsize"),
    meta!(134, "sys_rt_sigaction", "int" "sig", "const struct sigaction *" "act",
        "struct sigaction *" "oact", "size_t" "sigsetsize"),
    meta!(135, "sys_rt_sigprocmask", "int" "how", "sigset_t *" "nset", "sigset_t *" "oset",
        "size_t" "sigsetsize"),
    meta!(136, "sys_rt_sigpending", "sigset_t *" "uset", "size_t" "sigsetsize"),
    meta!(139, "sys_rt_sigreturn"),
    meta!(160, "sys_newuname", "struct new_utsname *" "name"),
    meta!(172, "sys_getpid"),
    meta!(173, "sys_getppid"),
    meta!(174, "sys_getuid"),
    meta!(175, "sys_geteuid"),
    meta!(176, "sys_getgid"),
    meta!(177, "sys_getegid"),
    meta!(178, "sys_gettid"),
    meta!(214, "sys_brk", "unsigned long" "brk"),
    meta!(215, "sys_munmap", "unsigned long" "addr", "size_t" "len"),
    meta!(220, "sys_clone", "unsigned long" "clone_flags", "unsigned long" "newsp",
        "int *" "parent_tidptr", "unsigned long" "tls", "int *" "child_tidptr"),
    meta!(221, "sys_execve", "const char *" "filename", "const char *const *" "argv",
        "const char *const *" "envp"),
    meta!(222, "sys_mmap", "unsigned long" "addr", "unsigned long" "len",
        "unsigned long" "prot", "unsigned long" "flags", "unsigned long" "fd",
        "unsigned long" "off"),
    meta!(260, "sys_wait4", "pid_t" "upid", "int *" "stat_addr", "int" "options",
        "struct rusage *" "ru"),
    meta!(276, "sys_renameat2", "int" "olddfd", "const char *" "oldname", "int" "newdfd",
        "const char *" "newname", "unsigned int" "flags"),
    meta!(278, "sys_getrandom", "char *" "ubuf", "size_t" "len", "unsigned int" "flags"),
    meta!(291, "sys_statx", "int" "dfd", "const char *" "filename", "unsigned" "flags",
        "unsigned int" "mask", "struct statx *" "buffer"),
    meta!(439, "sys_faccessat2", "int" "dfd", "const char *" "filename", "int" "mode",
        "int" "flags"),
    // Process attributes, memory protection and futexes (syscall/sys.rs, mm.rs, futex.rs).
    meta!(98, "sys_futex", "u32 *" "uaddr", "int" "op", "u32" "val",
        "const struct __kernel_timespec *" "utime", "u32 *" "uaddr2", "u32" "val3"),
    meta!(123, "sys_sched_getaffinity", "pid_t" "pid", "unsigned int" "len",
        "unsigned long *" "user_mask_ptr"),
    meta!(143, "sys_setregid", "gid_t" "rgid", "gid_t" "egid"),
    meta!(144, "sys_setgid", "gid_t" "gid"),
    meta!(145, "sys_setreuid", "uid_t" "ruid", "uid_t" "euid"),
    meta!(146, "sys_setuid", "uid_t" "uid"),
    meta!(147, "sys_setresuid", "uid_t" "ruid", "uid_t" "euid", "uid_t" "suid"),
    meta!(148, "sys_getresuid", "uid_t *" "ruidp", "uid_t *" "euidp", "uid_t *" "suidp"),
    meta!(149, "sys_setresgid", "gid_t" "rgid", "gid_t" "egid", "gid_t" "sgid"),
    meta!(150, "sys_getresgid", "gid_t *" "rgidp", "gid_t *" "egidp", "gid_t *" "sgidp"),
    meta!(151, "sys_setfsuid", "uid_t" "uid"),
    meta!(152, "sys_setfsgid", "gid_t" "gid"),
    meta!(153, "sys_times", "struct tms *" "tbuf"),
    meta!(154, "sys_setpgid", "pid_t" "pid", "pid_t" "pgid"),
    meta!(155, "sys_getpgid", "pid_t" "pid"),
    meta!(156, "sys_getsid", "pid_t" "pid"),
    meta!(157, "sys_setsid"),
    meta!(158, "sys_getgroups", "int" "gidsetsize", "gid_t *" "grouplist"),
    meta!(159, "sys_setgroups", "int" "gidsetsize", "gid_t *" "grouplist"),
    meta!(163, "sys_getrlimit", "unsigned int" "resource", "struct rlimit *" "rlim"),
    meta!(164, "sys_setrlimit", "unsigned int" "resource", "struct rlimit *" "rlim"),
    meta!(165, "sys_getrusage", "int" "who", "struct rusage *" "ru"),
    meta!(166, "sys_umask", "int" "mask"),
    meta!(167, "sys_prctl", "int" "option", "unsigned long" "arg2", "unsigned long" "arg3",
        "unsigned long" "arg4", "unsigned long" "arg5"),
    meta!(179, "sys_sysinfo", "struct sysinfo *" "info"),
    meta!(226, "sys_mprotect", "unsigned long" "start", "size_t" "len", "unsigned long" "prot"),
    meta!(233, "sys_madvise", "unsigned long" "start", "size_t" "len_in", "int" "behavior"),
    meta!(261, "sys_prlimit64", "pid_t" "pid", "unsigned int" "resource",
        "const struct rlimit64 *" "new_rlim", "struct rlimit64 *" "old_rlim"),
];

/// The metadata of syscall `nr`, if we implement it.
pub fn syscall_nr_to_meta(nr: i64) -> Option<&'static SyscallMeta> {
    SYSCALLS.iter().find(|m| i64::from(m.nr) == nr)
}

/// Where `syscall_trace_enter`'s `args[]` start: after the 8-byte header and the `int nr`,
/// aligned for `unsigned long`.
pub const ENTER_ARGS_OFFSET: usize = 16;
/// `sizeof(struct syscall_trace_exit)`.
pub const EXIT_ENTRY_SIZE: usize = 24;
/// Where `nr` is in both entries.
pub const NR_OFFSET: usize = 8;

/// The size of `meta`'s enter entry.
pub fn enter_entry_size(meta: &SyscallMeta) -> usize {
    ENTER_ARGS_OFFSET + 8 * meta.args.len()
}

fn field(
    c_type: &'static str,
    name: &'static str,
    offset: usize,
    size: usize,
    signed: bool,
) -> Field {
    Field {
        c_type: Cow::Borrowed(c_type),
        name: Cow::Borrowed(name),
        offset,
        size,
        ty: if signed { FieldType::S } else { FieldType::U },
        signed,
    }
}

/// The fields of `sys_enter_NAME` (Linux's `syscall_enter_fields_array` and
/// `syscall_enter_define_fields`): `int __syscall_nr`, then each argument.
pub fn enter_fields(meta: &SyscallMeta) -> Vec<Field> {
    let mut fields = Vec::with_capacity(meta.args.len() + 1);
    fields.push(field("int", "__syscall_nr", NR_OFFSET, 4, true));
    for (i, (ty, name)) in meta.args.iter().enumerate() {
        fields.push(field(ty, name, ENTER_ARGS_OFFSET + 8 * i, 8, false));
    }
    fields
}

/// The fields of `sys_exit_NAME` (Linux's `syscall_exit_fields_array`).
pub fn exit_fields() -> Vec<Field> {
    alloc::vec![
        field("int", "__syscall_nr", NR_OFFSET, 4, true),
        field("long", "ret", 16, 8, true),
    ]
}

/// `sys_enter_NAME`'s `print fmt` (Linux's `__set_enter_print_fmt`).
pub fn enter_print_fmt(meta: &SyscallMeta) -> String {
    let mut s = String::from("\"");
    for (i, (_, name)) in meta.args.iter().enumerate() {
        let sep = if i + 1 == meta.args.len() { "" } else { ", " };
        let _ = write!(s, "{name}: 0x%0{}lx{sep}", size_of::<u64>());
    }
    s.push('"');
    for (_, name) in meta.args {
        let _ = write!(s, ", ((unsigned long)(REC->{name}))");
    }
    s
}

/// `sys_exit_NAME`'s `print fmt`.
pub const EXIT_PRINT_FMT: &str = "\"0x%lx\", REC->ret";

/// A syscall event's `nr` and its `unsigned long`/`long` words, from a record.
fn word(record: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        record.get(offset..offset + 8)?.try_into().ok()?,
    ))
}

fn record_nr(record: &[u8]) -> Option<i64> {
    let bytes = record.get(NR_OFFSET..NR_OFFSET + 4)?;
    Some(i64::from(i32::from_le_bytes(bytes.try_into().ok()?)))
}

/// The text after the context columns of a `sys_enter_NAME` entry (Linux 6.12's
/// `print_syscall_enter`): `sys_write(fd: 1, buf: 4000e8, count: 6)`, each value in plain hex;
/// an empty line for an unknown number.
pub fn print_syscall_enter(record: &[u8], w: &mut dyn Write) -> fmt::Result {
    if let Some(meta) = record_nr(record).and_then(syscall_nr_to_meta) {
        write!(w, "{}(", meta.name)?;
        for (i, (_, name)) in meta.args.iter().enumerate() {
            let value = word(record, ENTER_ARGS_OFFSET + 8 * i).unwrap_or(0);
            let sep = if i + 1 == meta.args.len() { "" } else { ", " };
            write!(w, "{name}: {value:x}{sep}")?;
        }
        w.write_char(')')?;
    }
    w.write_char('\n')
}

/// The text of a `sys_exit_NAME` entry (Linux's `print_syscall_exit`): `sys_getppid -> 0x1`.
pub fn print_syscall_exit(record: &[u8], w: &mut dyn Write) -> fmt::Result {
    if let Some(meta) = record_nr(record).and_then(syscall_nr_to_meta) {
        let ret = word(record, 16).unwrap_or(0);
        write!(w, "{} -> {ret:#x}", meta.name)?;
    }
    w.write_char('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_lines(fields: &[Field]) -> String {
        let mut s = String::new();
        for f in fields {
            f.write_format(&mut s).unwrap();
        }
        s
    }

    #[test]
    fn numbers_are_unique() {
        for (i, a) in SYSCALLS.iter().enumerate() {
            assert!((a.nr as usize) < NR_SYSCALLS);
            assert!(
                SYSCALLS[i + 1..]
                    .iter()
                    .all(|b| b.nr != a.nr && b.name != a.name)
            );
            assert!(a.args.len() <= 6 && a.name.starts_with("sys_"));
        }
    }

    #[test]
    fn write_format_is_linuxs() {
        let meta = syscall_nr_to_meta(64).unwrap();
        assert_eq!(
            format_lines(&enter_fields(meta)),
            "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
             \tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;\n\
             \tfield:const char * buf;\toffset:24;\tsize:8;\tsigned:0;\n\
             \tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;\n"
        );
        assert_eq!(
            enter_print_fmt(meta),
            "\"fd: 0x%08lx, buf: 0x%08lx, count: 0x%08lx\", ((unsigned long)(REC->fd)), \
             ((unsigned long)(REC->buf)), ((unsigned long)(REC->count))"
        );
        assert_eq!(
            format_lines(&exit_fields()),
            "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
             \tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n"
        );
        assert_eq!(enter_entry_size(meta), 40);
    }

    #[test]
    fn no_argument_syscalls_print_empty() {
        let meta = syscall_nr_to_meta(173).unwrap();
        assert_eq!(enter_print_fmt(meta), "\"\"");
        assert_eq!(meta.short_name(), "getppid");
        let mut record = [0u8; 16];
        record[8..12].copy_from_slice(&173i32.to_le_bytes());
        let mut s = String::new();
        print_syscall_enter(&record, &mut s).unwrap();
        assert_eq!(s, "sys_getppid()\n");
        let mut exit = [0u8; EXIT_ENTRY_SIZE];
        exit[8..12].copy_from_slice(&173i32.to_le_bytes());
        exit[16..].copy_from_slice(&1u64.to_le_bytes());
        s.clear();
        print_syscall_exit(&exit, &mut s).unwrap();
        assert_eq!(s, "sys_getppid -> 0x1\n");
    }

    #[test]
    fn enter_prints_plain_hex_and_unknown_numbers_print_nothing() {
        let mut record = [0u8; 40];
        record[8..12].copy_from_slice(&64i32.to_le_bytes());
        for (i, v) in [1u64, 0x4000e8, 14].iter().enumerate() {
            record[16 + 8 * i..24 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        let mut s = String::new();
        print_syscall_enter(&record, &mut s).unwrap();
        assert_eq!(s, "sys_write(fd: 1, buf: 4000e8, count: e)\n");
        record[8..12].copy_from_slice(&999i32.to_le_bytes());
        s.clear();
        print_syscall_enter(&record, &mut s).unwrap();
        assert_eq!(s, "\n");
        s.clear();
        print_syscall_exit(&record[..5], &mut s).unwrap();
        assert_eq!(s, "\n");
    }

    #[test]
    fn exit_ret_prints_as_unsigned_hex() {
        let mut exit = [0u8; EXIT_ENTRY_SIZE];
        exit[8..12].copy_from_slice(&64i32.to_le_bytes());
        exit[16..].copy_from_slice(&(-9i64).to_le_bytes());
        let mut s = String::new();
        print_syscall_exit(&exit, &mut s).unwrap();
        assert_eq!(s, "sys_write -> 0xfffffffffffffff7\n");
    }
}
