//! Built-in traced workloads, the functions that tests and benchmarks aim probes and tracers at,
//! and the shell commands `run` and `poweroff`. Every workload function keeps its patchable
//! entry and is never inlined, so its symbol (`kernel::workload::fib`, ...) is a real call site.
//!
//! `run NAME ARGS` runs a workload in the shell; `run -b [-c CPU] NAME ARGS` starts it as a
//! background task (on CPU, or the least loaded one) and prints `[PID] NAME on CPUn`; when the
//! task ends, the shell shows its result and `[PID] Done run ...` (or `Killed`) before its next
//! prompt, as a shell reports finished jobs.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::fmt::{self, Write};
use core::hint::black_box;

use crate::sched;
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

/// The string `greet` counts when given none.
pub static GREETING: [u8; 8] = *b"probes!\0";

/// A word whose bytes all differ and whose top byte, and each lower half's top byte, has its
/// high bit set: probe events read it at every width and type (`@kernel::workload::PATTERN:s8`
/// is negative, `:u8` is not). `greet` folds it in, so it stays in the image.
pub static PATTERN: u64 = 0x8123_4567_89ab_cdef;

/// Counts the bytes of a NUL-terminated string: a workload whose argument is a C string, as
/// Linux's probe tests fetch with `+0(%x0):string`.
#[inline(never)]
pub fn greet(name: &CStr) -> usize {
    black_box(name).to_bytes().len()
}

/// The largest `fib` argument `run` accepts: fib(30) is 2.7 million calls, a few seconds in TCG.
const FIB_MAX: u64 = 30;
/// The most `leaf` calls `run` makes at once.
const LEAF_MAX: u64 = 100_000_000;
/// A killed `leaf` run stops within this many calls.
const LEAF_KILL_CHECK: u64 = 1024;

/// A parsed workload, ready to run in the shell or in a task of its own; it writes its result
/// line to the output it is given.
type Job = Box<dyn FnOnce(&mut dyn fmt::Write) + Send>;

struct Workload {
    name: &'static str,
    usage: &'static str,
    /// Checks the arguments (the error is the message for the user) and makes the job.
    parse: fn(&[&str]) -> Result<Job, String>,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "leaf",
        usage: "leaf N      call kernel::workload::leaf N times",
        parse: parse_leaf,
    },
    Workload {
        name: "fib",
        usage: "fib N       recursive kernel::workload::fib(N), N <= 30",
        parse: parse_fib,
    },
    Workload {
        name: "greet",
        usage: "greet [S]   kernel::workload::greet(S) with S as a C string (default probes!)",
        parse: parse_greet,
    },
    Workload {
        name: "nested",
        usage: "nested      nested_a -> nested_b -> nested_c",
        parse: parse_nested,
    },
];

fn parse_count(name: &str, args: &[&str], max: u64) -> Result<u64, String> {
    match args {
        [n] => match n.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("run: {name}: invalid count '{n}' (0..={max})")),
        },
        _ => Err(format!("run: usage: run {name} N")),
    }
}

fn parse_leaf(args: &[&str]) -> Result<Job, String> {
    let n = parse_count("leaf", args, LEAF_MAX)?;
    Ok(Box::new(move |out| {
        let mut acc = 0u64;
        for i in 0..n {
            if i % LEAF_KILL_CHECK == 0 && sched::signal_pending() {
                let _ = writeln!(out, "leaf: killed after {i} calls");
                return;
            }
            acc = acc.wrapping_add(leaf(i));
        }
        let _ = writeln!(out, "leaf: {n} calls, checksum {acc:#x}");
    }))
}

fn parse_fib(args: &[&str]) -> Result<Job, String> {
    let n = parse_count("fib", args, FIB_MAX)?;
    Ok(Box::new(move |out| {
        let _ = writeln!(out, "fib({n}) = {}", fib(n));
    }))
}

fn parse_greet(args: &[&str]) -> Result<Job, String> {
    let name = match args {
        [] => None,
        [s] if !s.contains('\0') => {
            let mut bytes = Vec::new();
            bytes
                .try_reserve_exact(s.len() + 1)
                .map_err(|_| String::from("run: greet: out of memory"))?;
            bytes.extend_from_slice(s.as_bytes());
            bytes.push(0);
            Some(bytes)
        }
        _ => return Err("run: usage: run greet [S]".into()),
    };
    Ok(Box::new(move |out| {
        let s = match &name {
            Some(bytes) => CStr::from_bytes_with_nul(bytes).unwrap_or_default(),
            None => CStr::from_bytes_with_nul(&GREETING).unwrap_or_default(),
        };
        // PATTERN is read here so that the linker keeps it for the probes that read it.
        let pattern = black_box(&PATTERN) as *const u64 as u64;
        let _ = writeln!(
            out,
            "greet({}) = {}",
            s.to_str().unwrap_or("?"),
            greet(s) + usize::from(pattern == 0)
        );
    }))
}

fn parse_nested(args: &[&str]) -> Result<Job, String> {
    if !args.is_empty() {
        return Err("run: usage: run nested".into());
    }
    Ok(Box::new(|out| {
        let _ = writeln!(
            out,
            "nested: nested_a -> nested_b -> nested_c = {:#x}",
            nested_a(1)
        );
    }))
}

/// `run`'s options: `-b` (background task) and `-c CPU` (pin it).
#[derive(Debug, Default, PartialEq, Eq)]
struct RunOptions {
    background: bool,
    cpu: Option<usize>,
}

/// Splits the leading options off `args`.
fn parse_options<'a, 'b>(args: &'a [&'b str]) -> Result<(RunOptions, &'a [&'b str]), String> {
    let mut options = RunOptions::default();
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        match *first {
            "-b" => {
                options.background = true;
                rest = tail;
            }
            "-c" => {
                let Some((cpu, tail)) = tail.split_first() else {
                    return Err("run: option requires an argument -- 'c'".into());
                };
                let cpu = cpu
                    .parse::<usize>()
                    .map_err(|_| format!("run: invalid CPU '{cpu}'"))?;
                options.cpu = Some(cpu);
                rest = tail;
            }
            option if option.starts_with('-') => {
                return Err(format!("run: unrecognized option '{option}'"));
            }
            _ => break,
        }
    }
    if options.cpu.is_some() && !options.background {
        return Err("run: -c CPU needs -b".into());
    }
    Ok((options, rest))
}

fn usage(ctx: &mut Context<'_>) {
    ctx.error("run: usage: run [-b [-c CPU]] NAME [ARGS]");
    for w in WORKLOADS {
        ctx.error(&format!("  {}", w.usage));
    }
}

fn cmd_run(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let (options, args) = match parse_options(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            ctx.error(&message);
            usage(ctx);
            return 2;
        }
    };
    let Some((name, rest)) = args.split_first() else {
        usage(ctx);
        return 1;
    };
    let Some(workload) = WORKLOADS.iter().find(|w| w.name == *name) else {
        ctx.error(&format!(
            "run: {name}: no such workload (try: leaf, fib, greet, nested)"
        ));
        return 1;
    };
    let job = match (workload.parse)(rest) {
        Ok(job) => job,
        Err(message) => {
            ctx.error(&message);
            return 1;
        }
    };
    if !options.background {
        job(ctx.out);
        return 0;
    }
    let command = args.join(" ");
    let spawned = sched::spawn(workload.name, options.cpu, true, move || {
        // The job's output and its end, shown by the shell before its next prompt.
        let mut report = String::new();
        job(&mut report);
        let me = sched::current().map_or(0, sched::Task::pid);
        let how = if sched::signal_pending() {
            "Killed"
        } else {
            "Done"
        };
        let _ = writeln!(report, "[{me}] {how} run {command}");
        crate::shell::notify(report);
    });
    match spawned {
        Ok(task) => {
            let _ = writeln!(
                ctx.out,
                "[{}] {} on CPU{}",
                task.pid(),
                task.name(),
                task.cpu()
            );
            0
        }
        Err(sched::SpawnError::CpuOffline(cpu)) => {
            ctx.error(&format!("run: CPU{cpu} is not online"));
            1
        }
        // What busybox sh says when the fork of `CMD &` fails.
        Err(error) => {
            ctx.error(&format!("sh: can't fork: {}", error.errno()));
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
        usage: "run [-b [-c CPU]] NAME [ARGS]",
        help: "run a traced workload (leaf N, fib N, nested); -b in a background task",
        run: cmd_run,
    });
    register_command(Command {
        name: "poweroff",
        usage: "poweroff [STATUS]",
        help: "power off; QEMU exits with STATUS (default 0)",
        run: cmd_poweroff,
    });
}
