//! The shell's `bench [-m] [PATTERN...]`: runs every registered benchmark, or those whose name
//! matches a pattern (a glob, as `set_ftrace_filter` takes them), and prints the table, or with
//! `-m` the `kbench:` lines `cargo xtask bench` reads. Exit status 0 when nothing failed, 1
//! otherwise, and 1 at once when the PMU cannot count instructions (QEMU without `-icount`).

use alloc::format;
use alloc::vec::Vec;

use arch::pmu;

use super::format::{Line, Measurement, Outcome, Summary, write_table};
use super::harness::{self, Counts, KBench, SetupError};
use crate::glob::Pattern;
use crate::shell::{Command, Context, register_command};

pub fn init() {
    register_command(Command {
        name: "bench",
        usage: "bench [-m] [PATTERN...]",
        help: "count the instructions of the kernel benchmarks (needs QEMU -icount)",
        run: cmd_bench,
    });
}

fn cmd_bench(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let (machine, patterns) = match args {
        ["-m", patterns @ ..] => (true, patterns),
        [option, ..] if option.starts_with('-') => return ctx.usage(),
        patterns => (false, patterns),
    };
    let Some(selected) = select(ctx, patterns) else {
        return 1;
    };
    if let Err(error) = pmu::inst_retired_init() {
        ctx.error(&format!("bench: cannot count instructions: {error}"));
        return 1;
    }
    let mut results = Vec::with_capacity(selected.len());
    for bench in selected {
        let result = harness::measure(bench);
        if machine {
            // Streamed, so a crash mid-run still shows what came before it.
            let _ = writeln!(ctx.out, "{}", Line::Outcome(outcome(bench, &result)));
        }
        results.push((bench, result));
    }
    let outcomes: Vec<Outcome<'_>> = results
        .iter()
        .map(|(bench, result)| outcome(bench, result))
        .collect();
    let summary = Summary::of(&outcomes);
    if machine {
        let _ = writeln!(ctx.out, "{}", Line::Summary(summary));
    } else {
        let _ = write_table(ctx.out, &outcomes);
    }
    i32::from(summary.failed != 0)
}

/// The benchmarks the patterns pick, all of them without patterns, in name order (link order
/// is no order). A pattern that picks none is an error, so a typo is not a silently empty
/// report.
fn select(ctx: &mut Context<'_>, patterns: &[&str]) -> Option<Vec<&'static KBench>> {
    let mut selected = pick(ctx, patterns)?;
    selected.sort_unstable_by_key(|bench| bench.name);
    Some(selected)
}

fn pick(ctx: &mut Context<'_>, patterns: &[&str]) -> Option<Vec<&'static KBench>> {
    let benches = harness::benches();
    if patterns.is_empty() {
        return Some(benches.iter().collect());
    }
    if let Some(unmatched) = patterns.iter().find(|p| {
        let pattern = Pattern::parse(p);
        !benches.iter().any(|bench| pattern.matches(bench.name))
    }) {
        let names: Vec<&str> = benches.iter().map(|bench| bench.name).collect();
        ctx.error(&format!(
            "bench: {unmatched}: no such benchmark (have: {})",
            names.join(" ")
        ));
        return None;
    }
    let patterns: Vec<Pattern<'_>> = patterns.iter().map(|p| Pattern::parse(p)).collect();
    Some(
        benches
            .iter()
            .filter(|bench| patterns.iter().any(|p| p.matches(bench.name)))
            .collect(),
    )
}

/// A measurement as the report shows it: a baseline dearer than the run is a failure.
fn outcome<'a>(bench: &'a KBench, result: &'a Result<Counts, SetupError>) -> Outcome<'a> {
    match result {
        Ok(counts) => {
            let measurement = Measurement {
                name: bench.name,
                ops: bench.ops,
                insns: counts.insns,
                baseline: bench.baseline_name,
                baseline_insns: counts.baseline_insns,
            };
            if measurement.net().is_some() {
                Outcome::Measured(measurement)
            } else {
                Outcome::Failed {
                    name: bench.name,
                    reason: "the baseline retired more instructions than the run",
                }
            }
        }
        Err(SetupError::Skip(reason)) => Outcome::Skipped {
            name: bench.name,
            reason,
        },
        Err(SetupError::Fail(reason)) => Outcome::Failed {
            name: bench.name,
            reason,
        },
    }
}
