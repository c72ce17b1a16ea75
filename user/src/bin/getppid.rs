//! `getppid N`: N getppid calls in a tight loop (the Linux anchor's benchmark loop), then the
//! parent's pid.
#![cfg_attr(target_os = "none", no_std, no_main)]

fn run(args: user::Args) -> i32 {
    let n = args.get(1).and_then(user::parse_u64).unwrap_or(1);
    let mut ppid = 0;
    for _ in 0..n {
        ppid = user::sys::getppid();
    }
    user::print(b"getppid: ");
    user::print_u64(n);
    user::print(b" calls, ppid ");
    user::print_ret(ppid);
    user::print(b"\n");
    0
}

user::entry!(run);
