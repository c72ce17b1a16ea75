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
