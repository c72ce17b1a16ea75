//! `fib N`: the N-th Fibonacci number, computed recursively (a deep call tree to set
//! breakpoints in later).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[inline(never)]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

fn run(args: user::Args) -> i32 {
    let Some(n) = args.get(1).and_then(user::parse_u64).filter(|&n| n <= 90) else {
        user::print(b"usage: fib N (N <= 90)\n");
        return 2;
    };
    user::print(b"fib(");
    user::print_u64(n);
    user::print(b") = ");
    user::print_u64(fib(n));
    user::print(b"\n");
    0
}

user::entry!(run);
