//! `forkexec N`: N times fork, execve /bin/hello in the child, and wait4 for it in the parent,
//! each child required to exit with 0 (the loop of the Linux anchor's `forkexec.c`, without
//! its timing: the kernel's `forkexec_hello` benchmark counts it). Exits 1 at the first bad
//! status.
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys;

fn run(args: user::Args) -> i32 {
    let n = args.get(1).and_then(user::parse_u64).unwrap_or(1);
    for _ in 0..n {
        let pid = sys::fork();
        if pid == 0 {
            let argv = [c"/bin/hello".as_ptr().cast(), core::ptr::null()];
            let envp = [core::ptr::null()];
            // SAFETY: NUL-terminated strings, null-terminated arrays.
            unsafe { sys::execve(c"/bin/hello", &argv, &envp) };
            sys::exit_group(127);
        }
        let (reaped, status) = sys::wait4(pid, 0);
        if pid <= 0 || reaped != pid || status != 0 {
            user::print(b"forkexec: FAILED\n");
            return 1;
        }
    }
    0
}

user::entry!(run);
