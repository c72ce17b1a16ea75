//! `fib N`: the N-th Fibonacci number, computed recursively (a deep call tree to set
//! breakpoints in), counting its calls in a global (a variable for gdb's `watch`).
#![cfg_attr(target_os = "none", no_std, no_main)]

/// How many times `fib` was called: a plain global a debugger can watch (`watch fib::CALLS`).
/// Not atomic: an atomic add is an exclusive load/store pair, which a single step between the
/// two (as a debugger stepping over a watchpoint does) makes fail forever.
static mut CALLS: u64 = 0;

#[inline(never)]
fn fib(n: u64) -> u64 {
    let result = if n < 2 { n } else { fib(n - 1) + fib(n - 2) };
    // SAFETY: the program has one thread; the pointer is to a live global.
    unsafe {
        let calls = &raw mut CALLS;
        calls.write_volatile(calls.read_volatile() + 1);
    }
    result
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
