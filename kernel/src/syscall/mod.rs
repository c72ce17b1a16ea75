//! System calls on Linux's arm64 ABI (Linux: `arch/arm64/kernel/syscall.c`, the generic
//! `unistd.h` numbers): `svc #0` with the number in x8, arguments in x0-x5, and the result or
//! `-errno` back in x0. Unknown numbers return `-ENOSYS`.
//!
//! User pointers arrive as plain `u64`s and are only ever touched through [`crate::uaccess`]:
//! a bad pointer is `EFAULT`, never a kernel fault.
//!
//! Every syscall goes through [`invoke_syscall`]: the `raw_syscalls` tracepoints around a
//! call through [`SYS_CALL_TABLE`]; its argument names and types for the `syscalls:` events
//! are in [`crate::trace::trace_syscalls::SYSCALLS`] (a syscall added here needs a line there).
//!
//! Implemented so far: the file syscalls of [`fs`] (`read`, `write`, `openat`, `pipe2`, ...),
//! `exit`, `exit_group`, `getpid`, `gettid`, `getppid`, the `getuid` family (root), `brk`,
//! `mmap`/`munmap` (anonymous), `uname`, `set_tid_address`, `getrandom`, `clock_gettime`,
//! `nanosleep`, `clock_nanosleep`, `set_robust_list`, `sched_yield`, `clone` (fork and vfork,
//! see [`sys_clone`]), `execve`, `wait4`, and the signal calls (`rt_sigaction`,
//! `rt_sigprocmask`, `rt_sigpending`, `rt_sigsuspend`, `rt_sigreturn` in
//! [`crate::process::signal`]; `kill`, `tkill`, `tgkill`). For glibc's static start-up and
//! busybox (stage 4): `mprotect` and `madvise` ([`mm`]), `futex` ([`futex`]), and the process
//! attributes of [`sys`]: `prlimit64`/`getrlimit`/`setrlimit`, `prctl`, `sysinfo`, process
//! groups and sessions, `umask`, the `setuid` family, `getgroups`/`setgroups`, `times`,
//! `getrusage`, `sched_getaffinity`. `ptrace` is [`crate::ptrace::request`]'s. `rseq` stays
//! `ENOSYS`, which glibc takes as "not available".

pub mod fs;
pub mod futex;
pub mod mm;
pub mod random;
pub mod sys;

use alloc::vec::Vec;

use arch::exception::TrapFrame;

use crate::binfmt_elf::{PAGE_SIZE, TASK_SIZE};
use crate::fs::Errno;
use crate::process::{Process, RestartBlock, signal};
use crate::signal::WaitStatus;
use crate::uaccess::{copy_from_user, copy_to_user, copy_to_user_partial};

// Linux's generic syscall numbers (include/uapi/asm-generic/unistd.h), as arm64 uses them.
pub const __NR_GETCWD: u64 = 17;
pub const __NR_DUP: u64 = 23;
pub const __NR_DUP3: u64 = 24;
pub const __NR_FCNTL: u64 = 25;
pub const __NR_IOCTL: u64 = 29;
pub const __NR_MKDIRAT: u64 = 34;
pub const __NR_UNLINKAT: u64 = 35;
pub const __NR_SYMLINKAT: u64 = 36;
pub const __NR_RENAMEAT: u64 = 38;
pub const __NR_FTRUNCATE: u64 = 46;
pub const __NR_FACCESSAT: u64 = 48;
pub const __NR_CHDIR: u64 = 49;
pub const __NR_FCHDIR: u64 = 50;
pub const __NR_FCHMOD: u64 = 52;
pub const __NR_FCHMODAT: u64 = 53;
pub const __NR_OPENAT: u64 = 56;
pub const __NR_CLOSE: u64 = 57;
pub const __NR_PIPE2: u64 = 59;
pub const __NR_GETDENTS64: u64 = 61;
pub const __NR_LSEEK: u64 = 62;
pub const __NR_READ: u64 = 63;
pub const __NR_WRITE: u64 = 64;
pub const __NR_READV: u64 = 65;
pub const __NR_WRITEV: u64 = 66;
pub const __NR_PREAD64: u64 = 67;
pub const __NR_PWRITE64: u64 = 68;
pub const __NR_SENDFILE: u64 = 71;
pub const __NR_PSELECT6: u64 = 72;
pub const __NR_PPOLL: u64 = 73;
pub const __NR_READLINKAT: u64 = 78;
pub const __NR_NEWFSTATAT: u64 = 79;
pub const __NR_FSTAT: u64 = 80;
pub const __NR_RENAMEAT2: u64 = 276;
pub const __NR_STATX: u64 = 291;
pub const __NR_FACCESSAT2: u64 = 439;
pub const __NR_EXIT: u64 = 93;
pub const __NR_EXIT_GROUP: u64 = 94;
pub const __NR_SET_TID_ADDRESS: u64 = 96;
pub const __NR_SET_ROBUST_LIST: u64 = 99;
pub const __NR_NANOSLEEP: u64 = 101;
pub const __NR_CLOCK_GETTIME: u64 = 113;
pub const __NR_CLOCK_NANOSLEEP: u64 = 115;
pub const __NR_PTRACE: u64 = 117;
pub const __NR_SCHED_YIELD: u64 = 124;
pub const __NR_RESTART_SYSCALL: u64 = 128;
pub const __NR_KILL: u64 = 129;
pub const __NR_TKILL: u64 = 130;
pub const __NR_TGKILL: u64 = 131;
pub const __NR_RT_SIGSUSPEND: u64 = 133;
pub const __NR_RT_SIGACTION: u64 = 134;
pub const __NR_RT_SIGPROCMASK: u64 = 135;
pub const __NR_RT_SIGPENDING: u64 = 136;
pub const __NR_RT_SIGRETURN: u64 = 139;
pub const __NR_UNAME: u64 = 160;
pub const __NR_GETPID: u64 = 172;
pub const __NR_GETPPID: u64 = 173;
pub const __NR_GETUID: u64 = 174;
pub const __NR_GETEUID: u64 = 175;
pub const __NR_GETGID: u64 = 176;
pub const __NR_GETEGID: u64 = 177;
pub const __NR_GETTID: u64 = 178;
pub const __NR_BRK: u64 = 214;
pub const __NR_CLONE: u64 = 220;
pub const __NR_EXECVE: u64 = 221;
pub const __NR_WAIT4: u64 = 260;
pub const __NR_MUNMAP: u64 = 215;
pub const __NR_MMAP: u64 = 222;
pub const __NR_GETRANDOM: u64 = 278;
// Process attributes, memory protection and futexes (sys.rs, mm.rs, futex.rs).
pub const __NR_FUTEX: u64 = 98;
pub const __NR_SCHED_GETAFFINITY: u64 = 123;
pub const __NR_SETREGID: u64 = 143;
pub const __NR_SETGID: u64 = 144;
pub const __NR_SETREUID: u64 = 145;
pub const __NR_SETUID: u64 = 146;
pub const __NR_SETRESUID: u64 = 147;
pub const __NR_GETRESUID: u64 = 148;
pub const __NR_SETRESGID: u64 = 149;
pub const __NR_GETRESGID: u64 = 150;
pub const __NR_SETFSUID: u64 = 151;
pub const __NR_SETFSGID: u64 = 152;
pub const __NR_TIMES: u64 = 153;
pub const __NR_SETPGID: u64 = 154;
pub const __NR_GETPGID: u64 = 155;
pub const __NR_GETSID: u64 = 156;
pub const __NR_SETSID: u64 = 157;
pub const __NR_GETGROUPS: u64 = 158;
pub const __NR_SETGROUPS: u64 = 159;
pub const __NR_GETRLIMIT: u64 = 163;
pub const __NR_SETRLIMIT: u64 = 164;
pub const __NR_GETRUSAGE: u64 = 165;
pub const __NR_UMASK: u64 = 166;
pub const __NR_PRCTL: u64 = 167;
pub const __NR_SYSINFO: u64 = 179;
pub const __NR_MPROTECT: u64 = 226;
pub const __NR_MADVISE: u64 = 233;
pub const __NR_PRLIMIT64: u64 = 261;

// mmap's arguments (include/uapi/asm-generic/mman-common.h, linux/mman.h).
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;

// getrandom's flags.
pub const GRND_NONBLOCK: u64 = 0x1;
pub const GRND_RANDOM: u64 = 0x2;
pub const GRND_INSECURE: u64 = 0x4;

// Clocks (include/uapi/linux/time.h).
pub const CLOCK_REALTIME: u64 = 0;
pub const CLOCK_MONOTONIC: u64 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
pub const CLOCK_MONOTONIC_RAW: u64 = 4;
pub const CLOCK_REALTIME_COARSE: u64 = 5;
pub const CLOCK_MONOTONIC_COARSE: u64 = 6;
pub const CLOCK_BOOTTIME: u64 = 7;

/// Linux's `MAX_RW_COUNT`: one read or write moves at most this much.
const MAX_RW_COUNT: u64 = (i32::MAX as u64) & !(PAGE_SIZE - 1);
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// A syscall's value, or the errno it fails with.
pub type SysResult = Result<u64, Errno>;

/// A syscall's implementation: reads its arguments from x0-x5 of `frame` and returns its
/// value or errno. `exit` records the process's status instead ([`Process::set_exit`]).
pub type SyscallImpl = fn(&mut Process, &mut TrapFrame) -> SysResult;

/// A table entry: a [`SyscallImpl`] wrapped by [`syscall!`] to return what goes to x0 (the
/// value or `-errno`), in a register.
pub type SyscallFn = fn(&mut Process, &mut TrapFrame) -> u64;

/// x0 for a syscall's result (Linux's `long` return: the value or `-errno`).
#[inline(always)]
fn syscall_return(process: &mut Process, frame: &TrapFrame, result: SysResult) -> u64 {
    match result {
        Ok(value) => value,
        Err(errno) => syscall_error(process, frame, errno),
    }
}

/// `-errno`; a restart code (`ERESTARTSYS`...) also keeps the syscall's original x0, still in
/// the frame, for the signal path, which restarts the syscall or makes it `EINTR`
/// ([`crate::process::signal::do_signal`]): no restart code ever reaches EL0.
#[cold]
fn syscall_error(process: &mut Process, frame: &TrapFrame, errno: Errno) -> u64 {
    if errno.is_restart() {
        process.set_restart(errno, frame.regs[0]);
    }
    (-i64::from(errno.code())) as u64
}

/// The table entry for `$imp` (Linux's `__arm64_sys_*` wrapper around `__se_sys_*`).
macro_rules! syscall {
    ($imp:path) => {{
        fn entry(process: &mut Process, frame: &mut TrapFrame) -> u64 {
            let result = $imp(process, frame);
            syscall_return(process, frame, result)
        }
        entry as SyscallFn
    }};
}

/// Linux's `__NR_syscalls` for arm64 (6.12): the size of the table.
pub const NR_SYSCALLS: usize = 463;

/// The syscall table (Linux: `sys_call_table`), indexed by number; `ENOSYS` where unset.
static SYS_CALL_TABLE: [SyscallFn; NR_SYSCALLS] = sys_call_table();

/// The entry of every number without a syscall (Linux's `sys_ni_syscall`): `ENOSYS`.
const SYS_NI: SyscallFn = syscall!(sys_ni_syscall);

/// Whether syscall `nr` is implemented (has its own table entry).
pub fn implemented(nr: usize) -> bool {
    SYS_CALL_TABLE
        .get(nr)
        .is_some_and(|entry| !core::ptr::fn_addr_eq(*entry, SYS_NI))
}

const fn sys_call_table() -> [SyscallFn; NR_SYSCALLS] {
    let mut t: [SyscallFn; NR_SYSCALLS] = [SYS_NI; NR_SYSCALLS];
    t[__NR_GETCWD as usize] = syscall!(fs::sys_getcwd);
    t[__NR_DUP as usize] = syscall!(fs::sys_dup);
    t[__NR_DUP3 as usize] = syscall!(fs::sys_dup3);
    t[__NR_FCNTL as usize] = syscall!(fs::sys_fcntl);
    t[__NR_IOCTL as usize] = syscall!(fs::sys_ioctl);
    t[__NR_MKDIRAT as usize] = syscall!(fs::sys_mkdirat);
    t[__NR_UNLINKAT as usize] = syscall!(fs::sys_unlinkat);
    t[__NR_SYMLINKAT as usize] = syscall!(fs::sys_symlinkat);
    t[__NR_RENAMEAT as usize] = syscall!(fs::sys_renameat);
    t[__NR_FTRUNCATE as usize] = syscall!(fs::sys_ftruncate);
    t[__NR_FACCESSAT as usize] = syscall!(fs::sys_faccessat);
    t[__NR_FCHMOD as usize] = syscall!(fs::sys_fchmod);
    t[__NR_FCHMODAT as usize] = syscall!(fs::sys_fchmodat);
    t[__NR_CHDIR as usize] = syscall!(fs::sys_chdir);
    t[__NR_FCHDIR as usize] = syscall!(fs::sys_fchdir);
    t[__NR_OPENAT as usize] = syscall!(fs::sys_openat);
    t[__NR_CLOSE as usize] = syscall!(fs::sys_close);
    t[__NR_PIPE2 as usize] = syscall!(fs::sys_pipe2);
    t[__NR_GETDENTS64 as usize] = syscall!(fs::sys_getdents64);
    t[__NR_LSEEK as usize] = syscall!(fs::sys_lseek);
    t[__NR_READ as usize] = syscall!(fs::sys_read);
    t[__NR_WRITE as usize] = syscall!(fs::sys_write);
    t[__NR_READV as usize] = syscall!(fs::sys_readv);
    t[__NR_WRITEV as usize] = syscall!(fs::sys_writev);
    t[__NR_PREAD64 as usize] = syscall!(fs::sys_pread64);
    t[__NR_PWRITE64 as usize] = syscall!(fs::sys_pwrite64);
    t[__NR_SENDFILE as usize] = syscall!(fs::sys_sendfile);
    t[__NR_PSELECT6 as usize] = syscall!(fs::sys_pselect6);
    t[__NR_PPOLL as usize] = syscall!(fs::sys_ppoll);
    t[__NR_READLINKAT as usize] = syscall!(fs::sys_readlinkat);
    t[__NR_NEWFSTATAT as usize] = syscall!(fs::sys_newfstatat);
    t[__NR_FSTAT as usize] = syscall!(fs::sys_fstat);
    t[__NR_RENAMEAT2 as usize] = syscall!(fs::sys_renameat2);
    t[__NR_STATX as usize] = syscall!(fs::sys_statx);
    t[__NR_FACCESSAT2 as usize] = syscall!(fs::sys_faccessat2);
    t[__NR_EXIT as usize] = syscall!(sys_exit);
    t[__NR_EXIT_GROUP as usize] = syscall!(sys_exit);
    t[__NR_SET_TID_ADDRESS as usize] = syscall!(sys_set_tid_address);
    t[__NR_SET_ROBUST_LIST as usize] = syscall!(sys_set_robust_list);
    t[__NR_NANOSLEEP as usize] = syscall!(sys_nanosleep);
    t[__NR_CLOCK_GETTIME as usize] = syscall!(sys_clock_gettime);
    t[__NR_CLOCK_NANOSLEEP as usize] = syscall!(sys_clock_nanosleep);
    t[__NR_PTRACE as usize] = syscall!(crate::ptrace::request::sys_ptrace);
    t[__NR_SCHED_YIELD as usize] = syscall!(sys_sched_yield);
    t[__NR_RESTART_SYSCALL as usize] = syscall!(sys_restart_syscall);
    t[__NR_UNAME as usize] = syscall!(sys_uname);
    t[__NR_GETPID as usize] = syscall!(sys_getpid);
    t[__NR_GETPPID as usize] = syscall!(sys_getppid);
    t[__NR_GETUID as usize] = syscall!(sys_getuid);
    t[__NR_GETEUID as usize] = syscall!(sys_getuid);
    t[__NR_GETGID as usize] = syscall!(sys_getuid);
    t[__NR_GETEGID as usize] = syscall!(sys_getuid);
    t[__NR_GETTID as usize] = syscall!(sys_getpid);
    t[__NR_BRK as usize] = syscall!(sys_brk);
    t[__NR_MUNMAP as usize] = syscall!(sys_munmap);
    t[__NR_CLONE as usize] = syscall!(sys_clone);
    t[__NR_EXECVE as usize] = syscall!(sys_execve);
    t[__NR_MMAP as usize] = syscall!(sys_mmap);
    t[__NR_WAIT4 as usize] = syscall!(sys_wait4);
    t[__NR_GETRANDOM as usize] = syscall!(sys_getrandom);
    t[__NR_KILL as usize] = syscall!(sys_kill);
    t[__NR_TKILL as usize] = syscall!(sys_tkill);
    t[__NR_TGKILL as usize] = syscall!(sys_tgkill);
    t[__NR_RT_SIGSUSPEND as usize] = syscall!(signal::sys_rt_sigsuspend);
    t[__NR_RT_SIGACTION as usize] = syscall!(signal::sys_rt_sigaction);
    t[__NR_RT_SIGPROCMASK as usize] = syscall!(signal::sys_rt_sigprocmask);
    t[__NR_RT_SIGPENDING as usize] = syscall!(signal::sys_rt_sigpending);
    t[__NR_RT_SIGRETURN as usize] = syscall!(signal::sys_rt_sigreturn);
    // Process attributes, memory protection and futexes (sys.rs, mm.rs, futex.rs).
    t[__NR_FUTEX as usize] = syscall!(futex::sys_futex);
    t[__NR_SCHED_GETAFFINITY as usize] = syscall!(sys::sys_sched_getaffinity);
    t[__NR_SETREGID as usize] = syscall!(sys::sys_setuid);
    t[__NR_SETGID as usize] = syscall!(sys::sys_setuid);
    t[__NR_SETREUID as usize] = syscall!(sys::sys_setuid);
    t[__NR_SETUID as usize] = syscall!(sys::sys_setuid);
    t[__NR_SETRESUID as usize] = syscall!(sys::sys_setuid);
    t[__NR_GETRESUID as usize] = syscall!(sys::sys_getresuid);
    t[__NR_SETRESGID as usize] = syscall!(sys::sys_setuid);
    t[__NR_GETRESGID as usize] = syscall!(sys::sys_getresuid);
    t[__NR_SETFSUID as usize] = syscall!(sys::sys_setfsuid);
    t[__NR_SETFSGID as usize] = syscall!(sys::sys_setfsuid);
    t[__NR_TIMES as usize] = syscall!(sys::sys_times);
    t[__NR_SETPGID as usize] = syscall!(sys::sys_setpgid);
    t[__NR_GETPGID as usize] = syscall!(sys::sys_getpgid);
    t[__NR_GETSID as usize] = syscall!(sys::sys_getsid);
    t[__NR_SETSID as usize] = syscall!(sys::sys_setsid);
    t[__NR_GETGROUPS as usize] = syscall!(sys::sys_getgroups);
    t[__NR_SETGROUPS as usize] = syscall!(sys::sys_setgroups);
    t[__NR_GETRLIMIT as usize] = syscall!(sys::sys_getrlimit);
    t[__NR_SETRLIMIT as usize] = syscall!(sys::sys_setrlimit);
    t[__NR_GETRUSAGE as usize] = syscall!(sys::sys_getrusage);
    t[__NR_UMASK as usize] = syscall!(sys::sys_umask);
    t[__NR_PRCTL as usize] = syscall!(sys::sys_prctl);
    t[__NR_SYSINFO as usize] = syscall!(sys::sys_sysinfo);
    t[__NR_MPROTECT as usize] = syscall!(mm::sys_mprotect);
    t[__NR_MADVISE as usize] = syscall!(mm::sys_madvise);
    t[__NR_PRLIMIT64 as usize] = syscall!(sys::sys_prlimit64);
    t
}

/// Runs the syscall `frame` trapped with (Linux: `invoke_syscall`) between its `raw_syscalls`
/// tracepoints (`syscall_trace_enter`/`syscall_trace_exit`), one NOP each while no event is
/// enabled, and puts its result or `-errno` in x0. After `exit` there is no `sys_exit` event,
/// as Linux's `do_exit` never returns. Returns whether the process is exiting.
#[inline(always)]
pub fn invoke_syscall(process: &mut Process, frame: &mut TrapFrame) -> bool {
    invoke_syscall_nr(process, frame, frame.regs[8])
}

/// [`invoke_syscall`] of syscall `nr`, which a tracer may have changed at the syscall-entry
/// stop (Linux's `regs->syscallno`; x8 keeps the number the program gave).
#[inline(always)]
pub fn invoke_syscall_nr(process: &mut Process, frame: &mut TrapFrame, nr: u64) -> bool {
    use crate::trace::events::syscalls::{trace_sys_enter, trace_sys_exit};
    trace_sys_enter(frame, nr as i64);
    frame.regs[0] = match SYS_CALL_TABLE.get(nr as usize) {
        Some(handler) => handler(process, frame),
        None => (-i64::from(Errno::ENOSYS.code())) as u64,
    };
    let work = process.syscall_work();
    if !work || !process.exiting() {
        trace_sys_exit(frame, frame.regs[0] as i64);
    }
    work
}

fn sys_ni_syscall(_: &mut Process, _: &mut TrapFrame) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `exit` and `exit_group` (one thread per process: the same).
fn sys_exit(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    process.set_exit(WaitStatus::exited(frame.regs[0]));
    Ok(frame.regs[0])
}

/// `kill(pid, sig)`: `pid` > 0 one process, 0 the caller's process group, -1 every process
/// but pid 1 and the caller, -N the members of group N.
fn sys_kill(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [pid, sig] = [frame.regs[0], frame.regs[1]];
    let sig = u32::try_from(sig).map_err(|_| Errno::EINVAL)?;
    if sig > crate::signal::_NSIG {
        return Err(Errno::EINVAL);
    }
    let me = process.pid();
    let target = match pid as i32 {
        -1 => return signal::send_signal_all(sig, me).map(|()| 0),
        0 => return crate::process::pgrp::kill_pgrp(process, 0, sig).map(|()| 0),
        i32::MIN => return Err(Errno::ESRCH),
        pid if pid < 0 => {
            return crate::process::pgrp::kill_pgrp(process, pid.unsigned_abs(), sig).map(|()| 0);
        }
        pid => pid as u32,
    };
    signal::send_signal(target, sig, crate::signal::SI_USER, me).map(|()| 0)
}

/// `tkill(tid, sig)`: `tgkill` of the thread's own group.
fn sys_tkill(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    tgkill(process, frame.regs[0], frame.regs[0], frame.regs[1])
}

fn sys_tgkill(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    tgkill(process, frame.regs[0], frame.regs[1], frame.regs[2])
}

/// `tgkill(tgid, tid, sig)`: every process has one thread, whose tid is its pid.
fn tgkill(process: &Process, tgid: u64, tid: u64, sig: u64) -> SysResult {
    let (tgid, tid) = (tgid as i32, tid as i32);
    let sig = u32::try_from(sig).map_err(|_| Errno::EINVAL)?;
    if tgid <= 0 || tid <= 0 || sig > crate::signal::_NSIG {
        return Err(Errno::EINVAL);
    }
    if tgid != tid || !signal::is_process(tid as u32) {
        return Err(Errno::ESRCH);
    }
    signal::send_signal(tid as u32, sig, crate::signal::SI_TKILL, process.pid()).map(|()| 0)
}

fn sys_getpid(process: &mut Process, _: &mut TrapFrame) -> SysResult {
    Ok(u64::from(process.pid()))
}

fn sys_getppid(process: &mut Process, _: &mut TrapFrame) -> SysResult {
    Ok(u64::from(process.ppid()))
}

/// The `getuid` family: everything runs as root.
fn sys_getuid(_: &mut Process, _: &mut TrapFrame) -> SysResult {
    Ok(0)
}

fn sys_brk(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    Ok(process.mm().brk(frame.regs[0]))
}

fn sys_set_tid_address(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    process.set_clear_child_tid(frame.regs[0]);
    Ok(u64::from(process.pid()))
}

fn sys_set_robust_list(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    if frame.regs[1] != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    process.set_robust_list(frame.regs[0]);
    Ok(0)
}

fn sys_sched_yield(_: &mut Process, _: &mut TrapFrame) -> SysResult {
    crate::sched::yield_now();
    Ok(0)
}

/// `SIGCHLD`: the exit signal a forking `clone` names.
const SIGCHLD: u64 = crate::signal::SIGCHLD as u64;

// clone's flags (include/uapi/linux/sched.h).
const CSIGNAL: u64 = 0xff;
const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_SETTLS: u64 = 0x0008_0000;
const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
const CLONE_CHILD_SETTID: u64 = 0x0100_0000;

/// `clone(flags, newsp, parent_tid, tls, child_tid)` for new processes: glibc's `fork()`
/// (`CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD`, the tid written to `child_tid` in
/// the child), `vfork()` (`CLONE_VM | CLONE_VFORK | SIGCHLD`: the parent sleeps until the child
/// execs or exits, and the child runs in the parent's address space until then, as Linux's),
/// `CLONE_VFORK` alone (a copy, the parent still waiting), `CLONE_PARENT_SETTID` and
/// `CLONE_SETTLS`.
/// The exit signal must be `SIGCHLD` (or none). Threads (`CLONE_VM` without `CLONE_VFORK`,
/// `CLONE_THREAD`...) and namespaces are not implemented: `ENOSYS`.
fn sys_clone(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [flags, newsp, parent_tid, tls, child_tid] = [0, 1, 2, 3, 4].map(|i| frame.regs[i]);
    let supported = CSIGNAL
        | CLONE_VM
        | CLONE_VFORK
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_CHILD_SETTID;
    if flags & !supported != 0
        || !matches!(flags & CSIGNAL, 0 | SIGCHLD)
        || flags & (CLONE_VM | CLONE_VFORK) == CLONE_VM
    {
        return Err(Errno::ENOSYS);
    }
    let args = crate::process::CloneArgs {
        stack: newsp,
        tls: (flags & CLONE_SETTLS != 0).then_some(tls),
        child_set_tid: (flags & CLONE_CHILD_SETTID != 0).then_some(child_tid),
        child_clear_tid: (flags & CLONE_CHILD_CLEARTID != 0).then_some(child_tid),
        vfork: flags & CLONE_VFORK != 0,
        share_vm: flags & CLONE_VM != 0,
        exit_signal: (flags & CSIGNAL) as u32,
    };
    // A signal to our group came during the fork, and no child was made: take the signal
    // and run `clone` again (Linux's `ERESTARTNOINTR`: the `svc` again, x0 as it was).
    let pid = crate::process::fork(process, frame, args).map_err(|e| match e {
        Errno::EINTR => Errno::ERESTARTNOINTR,
        other => other,
    })?;
    if flags & CLONE_PARENT_SETTID != 0 {
        // Linux ignores a failure here too: the child exists either way.
        let _ = copy_to_user(parent_tid, &pid.to_le_bytes());
    }
    Ok(u64::from(pid))
}

/// Linux's limits on `execve`'s arguments: a path of `PATH_MAX` bytes with its NUL, and
/// (ours) at most this many argv/envp strings.
const PATH_MAX: usize = 4096;
const MAX_ARGS: usize = 1024;
const MAX_ARG_STRLEN: usize = crate::binfmt_elf::MAX_ARG_BYTES;

/// The strings of a NULL-terminated user array of string pointers (none for a NULL array),
/// `budget` bytes at most in all (E2BIG past it, as past the initial stack's room).
fn copy_strings(array: u64, budget: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut strings = Vec::new();
    if array == 0 {
        return Ok(strings);
    }
    for i in 0..=MAX_ARGS as u64 {
        let ptr = crate::uaccess::get_user_u64(array.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
        if ptr == 0 {
            return Ok(strings);
        }
        let max = (*budget).min(MAX_ARG_STRLEN);
        let string = crate::uaccess::strndup_user(ptr, max).map_err(|e| match e {
            Errno::ENAMETOOLONG => Errno::E2BIG,
            other => other,
        })?;
        *budget -= string.len();
        strings.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        strings.push(string);
    }
    Err(Errno::E2BIG)
}

/// `execve`: on success the new program starts with every register zero, x0 included.
fn sys_execve(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [path, argv, envp] = [frame.regs[0], frame.regs[1], frame.regs[2]];
    let path = crate::uaccess::strndup_user(path, PATH_MAX - 1)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let path = core::str::from_utf8(&path).map_err(|_| Errno::ENOENT)?;
    // A relative path starts at the cwd.
    let cwd = crate::fs::vfs()
        .path_of(&process.cwd)
        .unwrap_or_else(|_| alloc::string::String::from("/"));
    let path = crate::fs::path::join(&cwd, path);
    let mut budget = MAX_ARG_STRLEN;
    let argv = copy_strings(argv, &mut budget)?;
    let envp = copy_strings(envp, &mut budget)?;
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
    crate::process::execve(process, frame, &path, &argv, &envp)?;
    // The tracer sees the new program before its first instruction (the message: the pid,
    // which Linux gives as the former thread id).
    let pid = u64::from(process.pid());
    crate::ptrace::stop::event(process, frame, crate::ptrace::PTRACE_EVENT_EXEC, pid);
    Ok(0)
}

// wait4's options (include/uapi/linux/wait.h).
const WNOHANG: u64 = 0x1;
const WUNTRACED: u64 = 0x2;
const WCONTINUED: u64 = 0x8;
const __WNOTHREAD: u64 = 0x2000_0000;
const __WALL: u64 = 0x4000_0000;
const __WCLONE: u64 = 0x8000_0000;
/// `sizeof(struct rusage)` on arm64.
pub const RUSAGE_SIZE: usize = 144;

/// `wait4(pid, wstatus, options, rusage)`: `pid` -1 for any child, a child's pid, 0 for a
/// child in the caller's process group, -N for one in group N. `WUNTRACED` reports a
/// stopped child once (`WIFSTOPPED`), `WCONTINUED` a continued one (`WIFCONTINUED`); a
/// signal ends the sleep with `ERESTARTSYS` (restarted under `SA_RESTART`). The rusage is all
/// zero (no accounting).
fn sys_wait4(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [pid, wstatus, options, rusage] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match pid as i32 {
        0 => -i64::from(process.pgid()),
        i32::MIN => return Err(Errno::ESRCH),
        which => i64::from(which),
    };
    let wait_options = crate::process::WaitOptions {
        nohang: options & WNOHANG != 0,
        untraced: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
    };
    match crate::process::wait4(process, which, wait_options)? {
        None => Ok(0),
        Some((child, status)) => {
            if wstatus != 0 {
                copy_to_user(wstatus, &status.0.to_le_bytes())?;
            }
            if rusage != 0 {
                copy_to_user(rusage, &[0; RUSAGE_SIZE])?;
            }
            Ok(u64::from(child))
        }
    }
}

fn sys_mmap(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [addr, len, prot, flags, _fd, offset] = [0, 1, 2, 3, 4, 5].map(|i| frame.regs[i]);
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0
        || len == 0
        || !offset.is_multiple_of(PAGE_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let len = len
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::ENOMEM)?;
    if len > TASK_SIZE {
        return Err(Errno::ENOMEM);
    }
    // MAP_SHARED anonymous memory behaves as private while processes cannot fork.
    if !matches!(flags & MAP_TYPE, MAP_SHARED | MAP_PRIVATE) {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        // No file can be mapped yet: every fd is as good as a bad one.
        return Err(Errno::EBADF);
    }
    let fixed = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if addr.checked_add(len).is_none_or(|end| end > TASK_SIZE) {
            return Err(Errno::ENOMEM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 && flags & MAP_FIXED == 0 {
            // Placed where asked, but never over an existing mapping: map_zeroed says EEXIST.
            return process
                .mm()
                .mmap_at(addr, len, prot & PROT_WRITE != 0, prot & PROT_EXEC != 0);
        }
        Some(addr)
    } else {
        None
    };
    process.mm().mmap_anonymous(
        fixed,
        len,
        prot == 0,
        prot & PROT_WRITE != 0,
        prot & PROT_EXEC != 0,
    )
}

fn sys_munmap(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [addr, len] = [frame.regs[0], frame.regs[1]];
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::EINVAL)?;
    if addr.checked_add(len).is_none_or(|end| end > TASK_SIZE) {
        return Err(Errno::EINVAL);
    }
    process.mm().unmap(addr, len)?;
    Ok(0)
}

/// `struct new_utsname`: six fields of 65 bytes.
const UTS_LEN: usize = 65;

fn sys_uname(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let buf = frame.regs[0];
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"(none)",
        b"6.12.0-tracing-unikernel",
        b"#1 SMP",
        b"aarch64",
        b"(none)",
    ];
    let mut uts = [0u8; UTS_LEN * 6];
    for (i, field) in fields.iter().enumerate() {
        uts[i * UTS_LEN..i * UTS_LEN + field.len()].copy_from_slice(field);
    }
    copy_to_user(buf, &uts)?;
    Ok(0)
}

fn sys_getrandom(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [buf, len, flags] = [frame.regs[0], frame.regs[1], frame.regs[2]];
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(MAX_RW_COUNT);
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len() as u64) as usize;
        random::fill(&mut chunk[..n]);
        let copied = copy_to_user_partial(buf + done, &chunk[..n]);
        done += copied as u64;
        if copied < n {
            return if done == 0 {
                Err(Errno::EFAULT)
            } else {
                Ok(done)
            };
        }
    }
    Ok(done)
}

/// Nanoseconds since boot, from the generic timer.
pub fn monotonic_ns() -> u64 {
    let ticks = u128::from(arch::timer::counter_now());
    let freq = u128::from(arch::timer::counter_freq_hz().max(1));
    (ticks * u128::from(NSEC_PER_SEC) / freq) as u64
}

fn timespec_bytes(ns: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&(ns / NSEC_PER_SEC).to_le_bytes());
    out[8..].copy_from_slice(&(ns % NSEC_PER_SEC).to_le_bytes());
    out
}

/// Every clock counts from boot: there is no RTC driver yet, so `CLOCK_REALTIME` is the time
/// since boot too (as on a board whose clock was never set); CPU-time clocks likewise.
fn sys_clock_gettime(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [clock, tp] = [frame.regs[0], frame.regs[1]];
    match clock {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_PROCESS_CPUTIME_ID
        | CLOCK_THREAD_CPUTIME_ID
        | CLOCK_MONOTONIC_RAW
        | CLOCK_REALTIME_COARSE
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME => {}
        _ => return Err(Errno::EINVAL),
    }
    copy_to_user(tp, &timespec_bytes(monotonic_ns()))?;
    Ok(0)
}

/// `sizeof(struct robust_list_head)` on arm64.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;
/// clock_nanosleep's flag: `req` is a point in time, not a duration.
const TIMER_ABSTIME: u64 = 1;

/// A user `struct timespec` as nanoseconds; `EINVAL` for a negative or unnormalised one.
fn timespec_ns(addr: u64) -> Result<u64, Errno> {
    let mut ts = [0u8; 16];
    copy_from_user(&mut ts, addr)?;
    let sec = i64::from_le_bytes(ts[..8].try_into().unwrap_or_default());
    let nsec = i64::from_le_bytes(ts[8..].try_into().unwrap_or_default());
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(NSEC_PER_SEC)
        .saturating_add(nsec as u64))
}

/// `clock_nanosleep(clock, flags, req, rem)`: relative or (`TIMER_ABSTIME`) absolute sleeps
/// on the clocks that count from boot here (CPU-time clocks: `EINVAL`, as Linux's for a
/// thread's; unknown flags are ignored, as Linux does).
fn sys_clock_nanosleep(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [clock, flags, req, rem] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    if !matches!(clock, CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME) {
        return Err(Errno::EINVAL);
    }
    if flags & TIMER_ABSTIME == 0 {
        return nanosleep(process, req, rem);
    }
    // An absolute sleep restarts with its own arguments, unless a handler ran (Linux:
    // `hrtimer_nanosleep` returns ERESTARTNOHAND for TIMER_ABSTIME); it has no remainder.
    if sleep_until(timespec_ns(req)?) {
        Ok(0)
    } else {
        Err(Errno::ERESTARTNOHAND)
    }
}

fn sys_nanosleep(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    nanosleep(process, frame.regs[0], frame.regs[1])
}

/// A relative sleep of `*req`. Interrupted, it writes what is left to `rem` and returns
/// `ERESTART_RESTARTBLOCK`: a handler turns that into `EINTR`; without one (a stop and
/// SIGCONT, an ignored signal) `restart_syscall` sleeps on to the same deadline (Linux:
/// `do_nanosleep`, `nanosleep_copyout`, `hrtimer_nanosleep_restart`).
fn nanosleep(process: &mut Process, req: u64, rem: u64) -> SysResult {
    let deadline_ns = monotonic_ns().saturating_add(timespec_ns(req)?);
    sleep_to_deadline(process, deadline_ns, rem)
}

fn sleep_to_deadline(process: &mut Process, deadline_ns: u64, rem: u64) -> SysResult {
    if sleep_until(deadline_ns) {
        return Ok(0);
    }
    if rem != 0 {
        let left = deadline_ns.saturating_sub(monotonic_ns());
        copy_to_user(rem, &timespec_bytes(left))?;
    }
    process.restart_block = Some(RestartBlock::Nanosleep { deadline_ns, rem });
    Err(Errno::ERESTART_RESTARTBLOCK)
}

/// Sleeps until `deadline_ns` of the monotonic clock (true), or until a signal is pending
/// (false).
fn sleep_until(deadline_ns: u64) -> bool {
    let left = deadline_ns.saturating_sub(monotonic_ns());
    crate::sched::msleep(left.div_ceil(1_000_000)).is_ok()
}

/// `restart_syscall()`: the signal path puts its number in x8 when a syscall that returned
/// `ERESTART_RESTARTBLOCK` restarts without a handler; it carries on from the restart block,
/// or says `EINTR` when there is none (Linux: `do_no_restart_syscall`).
fn sys_restart_syscall(process: &mut Process, _: &mut TrapFrame) -> SysResult {
    match process.restart_block.take() {
        Some(RestartBlock::Nanosleep { deadline_ns, rem }) => {
            sleep_to_deadline(process, deadline_ns, rem)
        }
        Some(RestartBlock::FutexWait {
            uaddr,
            expected,
            deadline_ns,
            bitset,
        }) => futex::wait(process, uaddr, expected, Some(deadline_ns), bitset),
        None => Err(Errno::EINTR),
    }
}
