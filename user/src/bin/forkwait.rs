//! `forkwait N`: fork, exec and wait. One child execs /bin/hello; then N children exit with
//! `i % 256` and the parent checks each status word; a child inherits TPIDR_EL0 and its change
//! of it does not reach the parent; a child that reads NULL must come back
//! killed by SIGSEGV; finally wait4 with no child left is ECHILD, and execve of a missing file
//! or a kernel pointer fails without harming the caller.
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys;

fn check(what: &[u8], ok: bool) -> bool {
    if !ok {
        user::print(b"forkwait: FAILED: ");
        user::print(what);
        user::print(b"\n");
    }
    ok
}

fn exec_hello() -> ! {
    let argv = [c"hello".as_ptr().cast(), core::ptr::null()];
    let envp = [core::ptr::null()];
    // SAFETY: NUL-terminated strings, null-terminated arrays.
    unsafe { sys::execve(c"/bin/hello", &argv, &envp) };
    sys::exit_group(127)
}

fn set_tpidr(value: u64) {
    #[cfg(target_os = "none")]
    // SAFETY: TPIDR_EL0 is ours; this runtime does not use it.
    unsafe {
        core::arch::asm!("msr tpidr_el0, {v}", v = in(reg) value)
    };
    #[cfg(not(target_os = "none"))]
    let _ = value;
}

fn tpidr() -> u64 {
    #[cfg(target_os = "none")]
    {
        let value: u64;
        // SAFETY: reads our own register.
        unsafe { core::arch::asm!("mrs {v}, tpidr_el0", v = out(reg) value) };
        value
    }
    #[cfg(not(target_os = "none"))]
    0
}

fn run(args: user::Args) -> i32 {
    let n = args.get(1).and_then(user::parse_u64).unwrap_or(10);
    let mut ok = true;

    let pid = sys::fork();
    if pid == 0 {
        exec_hello();
    }
    let (reaped, status) = sys::wait4(pid, 0);
    ok &= check(
        b"exec of /bin/hello",
        pid > 0 && reaped == pid && status == 0,
    );

    for i in 0..n {
        let pid = sys::fork();
        if pid == 0 {
            sys::exit_group((i % 256) as i32);
        }
        let (reaped, status) = sys::wait4(-1, 0);
        ok &= check(
            b"exit status",
            reaped == pid && status == ((i % 256) as u32) << 8,
        );
    }

    // The thread pointer is per process: a child inherits it, and its changes stay its own.
    set_tpidr(0x1234_5678);
    let pid = sys::fork();
    if pid == 0 {
        let inherited = tpidr() == 0x1234_5678;
        set_tpidr(0xdead);
        sys::exit_group(if inherited { 0 } else { 1 });
    }
    let (reaped, status) = sys::wait4(pid, 0);
    ok &= check(b"TPIDR_EL0 inherited", reaped == pid && status == 0);
    ok &= check(b"TPIDR_EL0 kept", tpidr() == 0x1234_5678);

    let pid = sys::fork();
    if pid == 0 {
        // SAFETY: deliberately not: page 0 is never mapped.
        let value = unsafe { core::ptr::read_volatile(core::ptr::null::<u32>()) };
        sys::exit_group(value as i32);
    }
    let (reaped, status) = sys::wait4(pid, 0);
    ok &= check(b"SIGSEGV status", reaped == pid && status == 11);

    ok &= check(b"ECHILD", sys::wait4(-1, 0).0 == -10);
    ok &= check(b"WNOHANG without children", sys::wait4(-1, 1).0 == -10);
    let argv = [core::ptr::null()];
    // SAFETY: NUL-terminated path, null-terminated arrays; the file does not exist.
    ok &= check(
        b"execve ENOENT",
        unsafe { sys::execve(c"/bin/nope", &argv, &argv) } == -2,
    );
    let kernel = [0xffff_ff80_4020_0000usize as *const u8, core::ptr::null()];
    // SAFETY: a kernel pointer as argv[0]: the kernel must refuse it.
    ok &= check(
        b"execve EFAULT",
        unsafe { sys::execve(c"/bin/hello", &kernel, &argv) } == -14,
    );

    user::print(b"forkwait: ");
    user::print_u64(n + 3);
    user::print(if ok {
        b" children, all as expected\n"
    } else {
        b" children, some FAILED\n"
    });
    if ok { 0 } else { 1 }
}

user::entry!(run);
