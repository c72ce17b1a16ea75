//! Raw Linux arm64 system calls: `svc #0`, number in x8, arguments in x0-x5, result in x0
//! (`-errno` on failure, returned as is).

pub const SYS_WRITE: usize = 64;
pub const SYS_EXIT_GROUP: usize = 94;
pub const SYS_NANOSLEEP: usize = 101;
pub const SYS_CLOCK_GETTIME: usize = 113;
pub const SYS_CLOCK_NANOSLEEP: usize = 115;
pub const SYS_SET_ROBUST_LIST: usize = 99;
pub const SYS_UNAME: usize = 160;
pub const SYS_GETPID: usize = 172;
pub const SYS_GETPPID: usize = 173;
pub const SYS_BRK: usize = 214;
pub const SYS_CLONE: usize = 220;
pub const SYS_EXECVE: usize = 221;
pub const SYS_WAIT4: usize = 260;
pub const SYS_MUNMAP: usize = 215;
pub const SYS_MMAP: usize = 222;
pub const SYS_GETRANDOM: usize = 278;
pub const SYS_SCHED_YIELD: usize = 124;
pub const SYS_KILL: usize = 129;
pub const SYS_TGKILL: usize = 131;
pub const SYS_RT_SIGSUSPEND: usize = 133;
pub const SYS_RT_SIGACTION: usize = 134;
pub const SYS_RT_SIGPROCMASK: usize = 135;
pub const SYS_RT_SIGPENDING: usize = 136;
pub const SYS_RT_SIGRETURN: usize = 139;

pub const SYS_PTRACE: usize = 117;
pub const SYS_SETPGID: usize = 154;
pub const SYS_SETSID: usize = 157;

/// A system call with up to six arguments.
///
/// # Safety
/// Pointer arguments must be what the call expects, or deliberately bad (the kernel checks).
#[inline(always)]
pub unsafe fn syscall6(nr: usize, args: [usize; 6]) -> isize {
    #[cfg(target_os = "none")]
    {
        let ret: isize;
        // SAFETY: `svc #0` enters the kernel, which only writes x0 and the memory the call
        // names.
        unsafe {
            core::arch::asm!(
                "svc #0",
                inlateout("x0") args[0] => ret,
                in("x1") args[1],
                in("x2") args[2],
                in("x3") args[3],
                in("x4") args[4],
                in("x5") args[5],
                in("x8") nr,
                options(nostack),
            );
        }
        ret
    }
    #[cfg(not(target_os = "none"))]
    {
        let _ = (nr, args);
        -38
    }
}

pub fn write(fd: usize, bytes: &[u8]) -> isize {
    // SAFETY: a valid buffer and its length.
    unsafe {
        syscall6(
            SYS_WRITE,
            [fd, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0],
        )
    }
}

pub fn exit_group(status: i32) -> ! {
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_EXIT_GROUP, [status as usize, 0, 0, 0, 0, 0]) };
    #[allow(clippy::empty_loop)]
    loop {}
}

pub fn getpid() -> isize {
    // SAFETY: no arguments.
    unsafe { syscall6(SYS_GETPID, [0; 6]) }
}

pub fn getppid() -> isize {
    // SAFETY: no arguments.
    unsafe { syscall6(SYS_GETPPID, [0; 6]) }
}

/// `fork()`: Linux's arm64 libc calls `clone(SIGCHLD, 0, ...)`.
pub fn fork() -> isize {
    const SIGCHLD: usize = 17;
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_CLONE, [SIGCHLD, 0, 0, 0, 0, 0]) }
}

/// `execve(path, argv, envp)` with NULL-terminated arrays of C strings.
///
/// # Safety
/// Every array element must be a C string, and both arrays must end in a null pointer.
pub unsafe fn execve(path: &core::ffi::CStr, argv: &[*const u8], envp: &[*const u8]) -> isize {
    // SAFETY: forwarded from the caller.
    unsafe {
        syscall6(
            SYS_EXECVE,
            [
                path.as_ptr() as usize,
                argv.as_ptr() as usize,
                envp.as_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    }
}

/// `wait4(pid, &status, options, NULL)`: the reaped pid (or -errno) and the status word.
pub fn wait4(pid: isize, options: usize) -> (isize, u32) {
    let mut status = 0u32;
    // SAFETY: `status` is a valid u32 to write.
    let ret = unsafe {
        syscall6(
            SYS_WAIT4,
            [pid as usize, &raw mut status as usize, options, 0, 0, 0],
        )
    };
    (ret, status)
}

/// `struct sigaction` as arm64's `rt_sigaction` takes it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SigAction {
    pub handler: usize,
    pub flags: usize,
    pub restorer: usize,
    pub mask: u64,
}

pub const SA_SIGINFO: usize = 0x4;
pub const SA_RESTORER: usize = 0x0400_0000;
pub const SA_NODEFER: usize = 0x4000_0000;
pub const SA_RESETHAND: usize = 0x8000_0000;

/// `rt_sigaction(sig, act, oact, 8)`; a null `act` only reads.
pub fn sigaction(sig: usize, act: Option<&SigAction>, oact: Option<&mut SigAction>) -> isize {
    let act = act.map_or(0, |a| a as *const SigAction as usize);
    let oact = oact.map_or(0, |a| a as *mut SigAction as usize);
    // SAFETY: valid struct pointers or null.
    unsafe { syscall6(SYS_RT_SIGACTION, [sig, act, oact, 8, 0, 0]) }
}

/// `rt_sigprocmask(how, set, oset, 8)`: the old mask (or -errno as u64).
pub fn sigprocmask(how: usize, set: Option<u64>) -> u64 {
    let mut old = 0u64;
    let set_ptr = set.as_ref().map_or(0, |s| s as *const u64 as usize);
    // SAFETY: valid pointers or null.
    let ret = unsafe {
        syscall6(
            SYS_RT_SIGPROCMASK,
            [how, set_ptr, &raw mut old as usize, 8, 0, 0],
        )
    };
    if ret < 0 { ret as u64 } else { old }
}

pub fn sigpending() -> u64 {
    let mut set = 0u64;
    // SAFETY: a valid u64.
    unsafe { syscall6(SYS_RT_SIGPENDING, [&raw mut set as usize, 8, 0, 0, 0, 0]) };
    set
}

pub fn sigsuspend(mask: u64) -> isize {
    // SAFETY: a valid u64.
    unsafe { syscall6(SYS_RT_SIGSUSPEND, [&raw const mask as usize, 8, 0, 0, 0, 0]) }
}

pub fn kill(pid: isize, sig: usize) -> isize {
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_KILL, [pid as usize, sig, 0, 0, 0, 0]) }
}

pub fn tgkill(tgid: isize, tid: isize, sig: usize) -> isize {
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_TGKILL, [tgid as usize, tid as usize, sig, 0, 0, 0]) }
}

/// `setpgid(pid, pgid)`: 0 or `-errno`.
pub fn setpgid(pid: isize, pgid: isize) -> isize {
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_SETPGID, [pid as usize, pgid as usize, 0, 0, 0, 0]) }
}

/// `setsid()`: the new session's id or `-errno`.
pub fn setsid() -> isize {
    // SAFETY: no arguments.
    unsafe { syscall6(SYS_SETSID, [0; 6]) }
}

pub fn sched_yield() -> isize {
    // SAFETY: no arguments.
    unsafe { syscall6(SYS_SCHED_YIELD, [0; 6]) }
}

#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".section .text.__restore_rt, \"ax\"",
    ".global __restore_rt",
    ".type __restore_rt, %function",
    "__restore_rt:",
    "    mov x8, #{nr}",
    "    svc #0",
    nr = const SYS_RT_SIGRETURN,
);

/// The `sa_restorer` that handlers return to: `rt_sigreturn` (glibc's `__restore_rt`).
pub fn restorer() -> usize {
    #[cfg(target_os = "none")]
    {
        unsafe extern "C" {
            fn __restore_rt();
        }
        __restore_rt as *const () as usize
    }
    #[cfg(not(target_os = "none"))]
    0
}

// The file syscalls (include/uapi/asm-generic/unistd.h).
pub const SYS_GETCWD: usize = 17;
pub const SYS_DUP: usize = 23;
pub const SYS_DUP3: usize = 24;
pub const SYS_FCNTL: usize = 25;
pub const SYS_IOCTL: usize = 29;
pub const SYS_MKDIRAT: usize = 34;
pub const SYS_UNLINKAT: usize = 35;
pub const SYS_SYMLINKAT: usize = 36;
pub const SYS_FTRUNCATE: usize = 46;
pub const SYS_FACCESSAT: usize = 48;
pub const SYS_CHDIR: usize = 49;
pub const SYS_FCHDIR: usize = 50;
pub const SYS_OPENAT: usize = 56;
pub const SYS_CLOSE: usize = 57;
pub const SYS_PIPE2: usize = 59;
pub const SYS_GETDENTS64: usize = 61;
pub const SYS_LSEEK: usize = 62;
pub const SYS_READ: usize = 63;
pub const SYS_READV: usize = 65;
pub const SYS_WRITEV: usize = 66;
pub const SYS_PREAD64: usize = 67;
pub const SYS_PWRITE64: usize = 68;
pub const SYS_SENDFILE: usize = 71;
pub const SYS_PSELECT6: usize = 72;
pub const SYS_PPOLL: usize = 73;
pub const SYS_READLINKAT: usize = 78;
pub const SYS_NEWFSTATAT: usize = 79;
pub const SYS_FSTAT: usize = 80;
pub const SYS_RENAMEAT2: usize = 276;
pub const SYS_STATX: usize = 291;
pub const SYS_FACCESSAT2: usize = 439;

pub const AT_FDCWD: usize = -100isize as usize;
pub const O_RDONLY: usize = 0;
pub const O_WRONLY: usize = 0o1;
pub const O_RDWR: usize = 0o2;
pub const O_CREAT: usize = 0o100;
pub const O_EXCL: usize = 0o200;
pub const O_TRUNC: usize = 0o1000;
pub const O_APPEND: usize = 0o2000;
pub const O_NONBLOCK: usize = 0o4000;
pub const O_DIRECTORY: usize = 0o40000;
pub const O_NOFOLLOW: usize = 0o100000;
pub const O_CLOEXEC: usize = 0o2000000;

/// `openat(AT_FDCWD, path, flags, mode)` with a C string path.
pub fn open(path: &core::ffi::CStr, flags: usize, mode: usize) -> isize {
    // SAFETY: a valid C string.
    unsafe {
        syscall6(
            SYS_OPENAT,
            [AT_FDCWD, path.as_ptr() as usize, flags, mode, 0, 0],
        )
    }
}

pub fn read(fd: usize, buf: &mut [u8]) -> isize {
    // SAFETY: a valid buffer and its length.
    unsafe {
        syscall6(
            SYS_READ,
            [fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        )
    }
}

pub fn close(fd: usize) -> isize {
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_CLOSE, [fd, 0, 0, 0, 0, 0]) }
}

/// `pipe2(fds, flags)`: the read and write ends, or -errno.
pub fn pipe2(flags: usize) -> Result<(usize, usize), isize> {
    let mut fds = [0i32; 2];
    // SAFETY: a valid int[2].
    let ret = unsafe { syscall6(SYS_PIPE2, [fds.as_mut_ptr() as usize, flags, 0, 0, 0, 0]) };
    if ret < 0 {
        return Err(ret);
    }
    Ok((fds[0] as usize, fds[1] as usize))
}

pub fn dup3(old: usize, new: usize, flags: usize) -> isize {
    // SAFETY: no pointers.
    unsafe { syscall6(SYS_DUP3, [old, new, flags, 0, 0, 0]) }
}

/// `ptrace(request, pid, addr, data)`: the raw call (PEEK requests store the word at `data`).
pub fn ptrace(request: usize, pid: isize, addr: usize, data: usize) -> isize {
    // SAFETY: ptrace reads and writes only what the request names, at addresses the caller
    // gives (the kernel checks them).
    unsafe { syscall6(SYS_PTRACE, [request, pid as usize, addr, data, 0, 0]) }
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = [0u64; 2];
    // SAFETY: `ts` is a writable timespec.
    unsafe { syscall6(SYS_CLOCK_GETTIME, [1, ts.as_mut_ptr() as usize, 0, 0, 0, 0]) };
    ts[0] * 1_000_000_000 + ts[1]
}

/// `nanosleep` for `ms` milliseconds, no remainder asked for.
pub fn sleep_ms(ms: u64) -> isize {
    let ts = [ms / 1000, (ms % 1000) * 1_000_000];
    // SAFETY: a valid timespec; no remainder pointer.
    unsafe { syscall6(SYS_NANOSLEEP, [ts.as_ptr() as usize, 0, 0, 0, 0, 0]) }
}
