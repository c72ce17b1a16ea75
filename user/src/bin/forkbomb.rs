//! `forkbomb`: forks children that sleep two seconds until fork fails, then reaps them all.
//! The failure must be an errno (Linux's EAGAIN past the task limit, ENOMEM when the page
//! frames run out), never a kernel panic, and every child must come back.
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys::{self, syscall6};

fn run(_args: user::Args) -> i32 {
    let mut children = 0u64;
    let error = loop {
        let pid = sys::fork();
        if pid == 0 {
            let ts = [2i64, 0];
            // SAFETY: a valid timespec; no remainder wanted.
            unsafe { syscall6(sys::SYS_NANOSLEEP, [ts.as_ptr() as usize, 0, 0, 0, 0, 0]) };
            sys::exit_group(0);
        }
        if pid < 0 {
            break pid;
        }
        children += 1;
        if children == 10_000 {
            break 0;
        }
    };
    let mut reaped = 0;
    while sys::wait4(-1, 0).0 > 0 {
        reaped += 1;
    }
    user::print(b"forkbomb: ");
    user::print_u64(children);
    user::print(b" children, then fork = ");
    user::print_ret(error);
    user::print(b", ");
    user::print_u64(reaped);
    user::print(b" reaped\n");
    i32::from(reaped != children || !(error == -11 || error == -12))
}

user::entry!(run);
