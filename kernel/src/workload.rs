//! Built-in traced workloads, the functions that tests and benchmarks aim probes and tracers at,
//! and the shell commands `run` and `poweroff`. Every workload function keeps its patchable
//! entry and is never inlined, so its symbol (`kernel::workload::fib`, ...) is a real call site.

use alloc::format;
use core::hint::black_box;

use crate::shell::{Command, Context, register_command};

/// A leaf: no calls, no frame beyond the prologue.
#[inline(never)]
pub fn leaf(x: u64) -> u64 {
    black_box(x).wrapping_mul(2654435761).rotate_left(7)
}

/// Naive recursive Fibonacci, base case `n < 2`: `fib(5)` makes 15 calls.
#[inline(never)]
pub fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(black_box(n - 1)) + fib(black_box(n - 2))
    }
}

#[inline(never)]
pub fn nested_a(x: u64) -> u64 {
    nested_b(black_box(x) + 1)
}

#[inline(never)]
pub fn nested_b(x: u64) -> u64 {
    nested_c(black_box(x) * 2)
}

#[inline(never)]
pub fn nested_c(x: u64) -> u64 {
    black_box(x) ^ 0x5a
}

/// The largest `fib` argument `run` accepts: fib(30) is 2.7 million calls, a few seconds in TCG.
const FIB_MAX: u64 = 30;
/// The most `leaf` calls `run` makes at once.
const LEAF_MAX: u64 = 100_000_000;

struct Workload {
    name: &'static str,
    usage: &'static str,
    run: fn(&mut Context<'_>, &[&str]) -> i32,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "leaf",
        usage: "leaf N      call kernel::workload::leaf N times",
        run: run_leaf,
    },
    Workload {
        name: "fib",
        usage: "fib N       recursive kernel::workload::fib(N), N <= 30",
        run: run_fib,
    },
    Workload {
        name: "nested",
        usage: "nested      nested_a -> nested_b -> nested_c",
        run: run_nested,
    },
];

fn parse_count(ctx: &mut Context<'_>, name: &str, args: &[&str], max: u64) -> Option<u64> {
    match args {
        [n] => match n.parse::<u64>() {
            Ok(n) if n <= max => Some(n),
            _ => {
                ctx.error(&format!("run: {name}: invalid count '{n}' (0..={max})"));
                None
            }
        },
        _ => {
            ctx.error(&format!("run: usage: run {name} N"));
            None
        }
    }
}

fn run_leaf(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let Some(n) = parse_count(ctx, "leaf", args, LEAF_MAX) else {
        return 1;
    };
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(leaf(i));
    }
    let _ = writeln!(ctx.out, "leaf: {n} calls, checksum {acc:#x}");
    0
}

fn run_fib(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let Some(n) = parse_count(ctx, "fib", args, FIB_MAX) else {
        return 1;
    };
    let _ = writeln!(ctx.out, "fib({n}) = {}", fib(n));
    0
}

fn run_nested(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    if !args.is_empty() {
        ctx.error("run: usage: run nested");
        return 1;
    }
    let _ = writeln!(
        ctx.out,
        "nested: nested_a -> nested_b -> nested_c = {:#x}",
        nested_a(1)
    );
    0
}

fn cmd_run(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let Some((name, rest)) = args.split_first() else {
        ctx.error("run: usage: run NAME [ARGS]");
        for w in WORKLOADS {
            ctx.error(&format!("  {}", w.usage));
        }
        return 1;
    };
    match WORKLOADS.iter().find(|w| w.name == *name) {
        Some(w) => (w.run)(ctx, rest),
        None => {
            ctx.error(&format!(
                "run: {name}: no such workload (try: leaf, fib, nested)"
            ));
            1
        }
    }
}

fn cmd_poweroff(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let status = match args {
        [] => 0,
        [s] => match s.parse::<u32>() {
            Ok(s) if s <= 255 => s,
            _ => {
                ctx.error(&format!("poweroff: invalid status '{s}' (0..=255)"));
                return 1;
            }
        },
        _ => {
            ctx.error("poweroff: usage: poweroff [STATUS]");
            return 1;
        }
    };
    crate::println!("reboot: Power down");
    arch::semihosting::exit(status)
}

pub fn init() {
    register_command(Command {
        name: "run",
        usage: "run NAME [ARGS]",
        help: "run a traced workload: leaf N, fib N, nested",
        run: cmd_run,
    });
    register_command(Command {
        name: "poweroff",
        usage: "poweroff [STATUS]",
        help: "power off; QEMU exits with STATUS (default 0)",
        run: cmd_poweroff,
    });
}
