//! `cargo xtask bench`: boots the kernel image on a deterministic machine (the usual one plus
//! `-icount shift=0,sleep=off`, one CPU unless `--smp`), types `bench -m` into its shell, and
//! reads the `kbench:` report back. Prints the table and writes the same data as JSON to
//! target/bench.json. `--check` boots two machines and fails unless they report identical
//! counts. [`smoke`] is the check `cargo xtask test` runs.
//!
//! Under `-icount shift=0` QEMU's PMU counts retired instructions exactly, so every count is the
//! same on every run: the numbers are instructions, never time.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::Args;
use scenario::qemu::{Console, Qemu, QemuConfig, WaitError};
use scenario::runner::{BOOT_TIMEOUT, visible};

use crate::build::{self, Image};
use crate::{Result, command, prereq, workspace};

/// The report format shared with the kernel's `bench` command.
#[path = "../../kernel/src/bench/format.rs"]
mod format;

use format::{Line, Outcome, PerOp, Summary};

/// What makes QEMU's instruction counting exact and its runs repeatable: one instruction per
/// virtual nanosecond, and virtual time that never waits for the host.
const ICOUNT_ARGS: [&str; 2] = ["-icount", "shift=0,sleep=off"];
/// CPUs of the benchmark machine unless `--smp` says otherwise.
const DEFAULT_SMP: usize = 1;
/// How long `bench` may run; each benchmark is meant to take well under a second.
const BENCH_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `poweroff` may take to end QEMU.
const POWEROFF_TIMEOUT: Duration = Duration::from_secs(10);
/// The shell's prompt once the console has been quiet this long (as the scenario runner waits).
const PROMPT_SETTLE: Duration = Duration::from_millis(50);
const PROMPT: &str = "/ # ";

/// The benchmark whose cost is known exactly: a disabled patch site is its two entry NOPs.
pub const DISABLED_SITE_BENCH: &str = "call_disabled_site";
const DISABLED_SITE_INSNS: u64 = 2;

/// Where the JSON report goes.
fn json_path() -> PathBuf {
    workspace::target_dir().join("bench.json")
}

/// Options of `cargo xtask bench`.
#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Run only the benchmarks these names or globs pick (as the shell's `bench` takes them).
    pub patterns: Vec<String>,
    /// Boot two machines and fail unless both report identical counts.
    #[arg(long)]
    pub check: bool,
    /// Number of CPUs.
    #[arg(long, default_value_t = DEFAULT_SMP)]
    pub smp: usize,
}

/// `cargo xtask bench`.
pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    prereq::ensure_qemu()?;
    let config = machine(build::build(Image::Kernel)?, args.smp);
    let machines = if args.check { 2 } else { 1 };
    let outputs = run_machines(&config, &args.patterns, machines)?;
    let reports = outputs
        .iter()
        .map(|output| parse_report(output))
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let report = &reports[0];
    let mut table = String::new();
    format::write_table(&mut table, report)?;
    print!("{table}");
    let command_line = scenario::qemu::command_line(&config.command(Console::Stdio));
    let path = json_path();
    fs::write(&path, to_json(&command_line, report))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    if args.check {
        same_counts(&reports[0], &reports[1])?;
        eprintln!("xtask: both runs gave identical counts");
    }
    let failed = Summary::of(report).failed;
    if failed != 0 {
        return Err(format!("{failed} benchmark(s) failed").into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The smoke check `cargo xtask test` runs: two machines run every benchmark; none may fail,
/// both must report the same counts, and the disabled patch site must cost exactly its two
/// NOPs. Returns a one-line summary.
pub fn smoke() -> Result<String> {
    let config = machine(build::build(Image::Kernel)?, DEFAULT_SMP);
    let outputs = run_machines(&config, &[], 2)?;
    let first = parse_report(&outputs[0])?;
    let second = parse_report(&outputs[1])?;
    if let Some(failed) = first.iter().find_map(|outcome| match outcome {
        Outcome::Failed { name, reason } => Some(format!("{name}: {reason}")),
        _ => None,
    }) {
        return Err(format!("a benchmark failed: {failed}").into());
    }
    same_counts(&first, &second)?;
    let per_op = disabled_site_cost(&first)?;
    Ok(format!(
        "{} benchmarks, identical counts on two machines, {DISABLED_SITE_BENCH} = {per_op} insns/op",
        first.len()
    ))
}

/// The benchmark machine: the usual one, made deterministic.
fn machine(kernel: PathBuf, smp: usize) -> QemuConfig {
    let mut config = QemuConfig::new(kernel, smp);
    config.extra_args = ICOUNT_ARGS.map(String::from).to_vec();
    config
}

/// Boots `count` machines at once, each running `bench -m PATTERNS`; returns their outputs.
fn run_machines(config: &QemuConfig, patterns: &[String], count: usize) -> Result<Vec<String>> {
    let command = config.command(Console::Stdio);
    command::echo(&command);
    thread::scope(|scope| {
        let machines: Vec<_> = (0..count)
            .map(|_| scope.spawn(|| run_machine(config, patterns)))
            .collect();
        machines
            .into_iter()
            .map(|machine| {
                machine
                    .join()
                    .expect("a benchmark machine's thread panicked")
            })
            .collect::<std::result::Result<Vec<_>, String>>()
    })
    .map_err(Into::into)
}

/// One machine: boot to the prompt, `bench -m`, `poweroff`. Returns what `bench` printed.
fn run_machine(config: &QemuConfig, patterns: &[String]) -> std::result::Result<String, String> {
    let mut qemu = Qemu::spawn(config.command(Console::Stdio), false).map_err(|e| e.to_string())?;
    let failure = |qemu: &Qemu, what: String| {
        format!(
            "{what}\n---- console ----\n{}\n---- qemu stderr ----\n{}",
            visible(&qemu.transcript()),
            qemu.stderr()
        )
    };
    if let Err(error) = qemu.expect_literal(PROMPT, BOOT_TIMEOUT) {
        return Err(failure(&qemu, format!("booting: {}", describe(&error))));
    }
    let mut line = String::from("bench -m");
    for pattern in patterns {
        line.push(' ');
        line.push_str(pattern);
    }
    line.push('\n');
    qemu.send(line.as_bytes());
    let prompt = format!("\n{PROMPT}");
    let output = match qemu.read_until(BENCH_TIMEOUT, PROMPT_SETTLE, |unread| {
        unread.ends_with(prompt.as_bytes()).then_some(unread.len())
    }) {
        Ok(output) => String::from_utf8_lossy(&output).into_owned(),
        Err(error) => return Err(failure(&qemu, format!("`bench`: {}", describe(&error)))),
    };
    qemu.send(b"poweroff\n");
    match qemu.wait_exit(POWEROFF_TIMEOUT) {
        Ok(0) => Ok(output),
        Ok(status) => Err(failure(
            &qemu,
            format!("`poweroff`: QEMU exit status {status}"),
        )),
        Err(error) => Err(failure(&qemu, format!("`poweroff`: {}", describe(&error)))),
    }
}

fn describe(error: &WaitError) -> String {
    match error {
        WaitError::Timeout { .. } => "no shell prompt in time".to_string(),
        WaitError::Exited { status, .. } => format!("QEMU exited with status {status}"),
    }
}

/// The outcomes a `bench -m` output reports. Every `kbench:` line must parse, and the run must
/// end with a summary that agrees with them: a report cut short by a crash is an error, as is
/// output without any report (the kernel's message says why, e.g. no INST_RETIRED).
fn parse_report(output: &str) -> std::result::Result<Vec<Outcome<'_>>, String> {
    let mut outcomes = Vec::new();
    let mut summary = None;
    for line in output.lines() {
        let Some(parsed) = format::parse_line(line) else {
            continue;
        };
        let parsed = parsed.map_err(|error| format!("bad report line `{line}`: {error}"))?;
        match (parsed, summary) {
            (_, Some(_)) => return Err(format!("report line after the summary: `{line}`")),
            (Line::Outcome(outcome), None) => outcomes.push(outcome),
            (Line::Summary(found), None) => summary = Some(found),
        }
    }
    match summary {
        Some(summary) if summary == Summary::of(&outcomes) => Ok(outcomes),
        Some(summary) => Err(format!(
            "the summary ({} measured, {} skipped, {} failed) does not match the report",
            summary.measured, summary.skipped, summary.failed
        )),
        None if outcomes.is_empty() => {
            Err(format!("`bench` printed no report:\n{}", output.trim_end()))
        }
        None => Err(format!(
            "the report has no summary line:\n{}",
            output.trim_end()
        )),
    }
}

/// Fails, naming the first difference, unless both reports are the same.
fn same_counts(first: &[Outcome<'_>], second: &[Outcome<'_>]) -> std::result::Result<(), String> {
    if first.len() != second.len() {
        return Err(format!(
            "the runs reported {} and {} benchmarks",
            first.len(),
            second.len()
        ));
    }
    match first.iter().zip(second).find(|(a, b)| a != b) {
        None => Ok(()),
        Some((a, b)) => Err(format!(
            "counts differ between runs:\n  {}\n  {}",
            Line::Outcome(*a),
            Line::Outcome(*b)
        )),
    }
}

/// The disabled site's cost per call, which must be exactly the two NOPs.
fn disabled_site_cost(outcomes: &[Outcome<'_>]) -> std::result::Result<PerOp, String> {
    let measurement = outcomes
        .iter()
        .find_map(|outcome| match outcome {
            Outcome::Measured(m) if m.name == DISABLED_SITE_BENCH => Some(m),
            _ => None,
        })
        .ok_or_else(|| format!("no measurement of {DISABLED_SITE_BENCH}"))?;
    match measurement.per_op() {
        Some(per_op) if per_op.whole == DISABLED_SITE_INSNS && per_op.remainder == 0 => Ok(per_op),
        _ => Err(format!(
            "{DISABLED_SITE_BENCH} costs {} instructions per call, not exactly {DISABLED_SITE_INSNS}: {}",
            measurement
                .per_op()
                .map_or("<0".to_string(), |p| p.to_string()),
            Line::Outcome(Outcome::Measured(*measurement))
        )),
    }
}

/// The report as JSON: the machine, then one object per benchmark.
fn to_json(command_line: &str, outcomes: &[Outcome<'_>]) -> String {
    let mut json = String::new();
    json.push_str("{\n");
    let _ = writeln!(
        json,
        "  \"counter\": \"INST_RETIRED (PMU event 0x08)\",\n  \"machine\": {},",
        json_string(command_line)
    );
    json.push_str("  \"benchmarks\": [");
    for (i, outcome) in outcomes.iter().enumerate() {
        json.push_str(if i == 0 { "\n" } else { ",\n" });
        json.push_str("    ");
        json.push_str(&json_object(outcome));
    }
    json.push_str(if outcomes.is_empty() {
        "]\n}\n"
    } else {
        "\n  ]\n}\n"
    });
    json
}

fn json_object(outcome: &Outcome<'_>) -> String {
    match outcome {
        Outcome::Measured(m) => {
            let (net, per_op, remainder) = match (m.net(), m.per_op()) {
                (Some(net), Some(per_op)) => (
                    net.to_string(),
                    per_op.whole.to_string(),
                    per_op.remainder.to_string(),
                ),
                _ => ("null".into(), "null".into(), "null".into()),
            };
            format!(
                "{{\"name\": {}, \"status\": \"measured\", \"ops\": {}, \"insns\": {}, \
                 \"baseline\": {}, \"baseline_insns\": {}, \"net_insns\": {net}, \
                 \"insns_per_op\": {per_op}, \"remainder\": {remainder}}}",
                json_string(m.name),
                m.ops,
                m.insns,
                json_string(m.baseline),
                m.baseline_insns
            )
        }
        Outcome::Skipped { name, reason } => format!(
            "{{\"name\": {}, \"status\": \"skipped\", \"reason\": {}}}",
            json_string(name),
            json_string(reason)
        ),
        Outcome::Failed { name, reason } => format!(
            "{{\"name\": {}, \"status\": \"failed\", \"reason\": {}}}",
            json_string(name),
            json_string(reason)
        ),
    }
}

/// A JSON string literal (RFC 8259: `"` and `\` escaped, control characters as `\uXXXX`).
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(quoted, "\\u{:04x}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
bench -m
kbench: measured name=brk_round_trip ops=1000 insns=129015 baseline=loop_without_brk baseline_insns=2015
kbench: skipped name=stop_machine_4 reason=needs 4 CPUs, 1 online
kbench: measured name=call_disabled_site ops=10000 insns=130036 baseline=call_without_site baseline_insns=110036
kbench: summary measured=2 skipped=1 failed=0
/ # ";

    #[test]
    fn reads_a_report() {
        let outcomes = parse_report(REPORT).unwrap();
        assert_eq!(outcomes.len(), 3);
        assert_eq!(
            outcomes[1],
            Outcome::Skipped {
                name: "stop_machine_4",
                reason: "needs 4 CPUs, 1 online"
            }
        );
        assert_eq!(disabled_site_cost(&outcomes).unwrap().to_string(), "2");
        let mut table = String::new();
        format::write_table(&mut table, &outcomes).unwrap();
        assert_eq!(
            table,
            "\
NAME                  OPS  INSNS/OP  BASELINE           SUBTRACTED
brk_round_trip       1000       127  loop_without_brk         2015
stop_machine_4      skipped: needs 4 CPUs, 1 online
call_disabled_site  10000         2  call_without_site      110036
"
        );
    }

    #[test]
    fn refuses_broken_reports() {
        let no_report = "bench -m\nbench: cannot count instructions: PMU event 0x08 INST_RETIRED \
                         is not supported\n/ # ";
        let error = parse_report(no_report).unwrap_err();
        assert!(error.starts_with("`bench` printed no report:"), "{error}");
        assert!(error.contains("INST_RETIRED is not supported"), "{error}");

        let cut_short = REPORT.replace("kbench: summary measured=2 skipped=1 failed=0\n", "");
        assert!(
            parse_report(&cut_short)
                .unwrap_err()
                .starts_with("the report has no summary line")
        );

        let miscounted = REPORT.replace("measured=2", "measured=3");
        assert_eq!(
            parse_report(&miscounted).unwrap_err(),
            "the summary (3 measured, 1 skipped, 0 failed) does not match the report"
        );

        let after = format!("{REPORT}\nkbench: skipped name=x reason=late\n");
        assert!(
            parse_report(&after)
                .unwrap_err()
                .starts_with("report line after the summary")
        );

        let malformed = REPORT.replace("ops=1000", "ops=lots");
        assert!(
            parse_report(&malformed)
                .unwrap_err()
                .ends_with("a count is not a decimal number")
        );
    }

    #[test]
    fn the_disabled_site_must_cost_exactly_two() {
        let three = REPORT.replace("insns=130036", "insns=140036");
        let error = disabled_site_cost(&parse_report(&three).unwrap()).unwrap_err();
        assert!(
            error.starts_with("call_disabled_site costs 3 instructions per call"),
            "{error}"
        );
        let uneven = REPORT.replace("insns=130036", "insns=130037");
        let error = disabled_site_cost(&parse_report(&uneven).unwrap()).unwrap_err();
        assert!(error.contains("costs 2+1/10000 instructions"), "{error}");
        let missing = REPORT.replace("name=call_disabled_site", "name=other");
        assert_eq!(
            disabled_site_cost(&parse_report(&missing).unwrap()).unwrap_err(),
            "no measurement of call_disabled_site"
        );
    }

    #[test]
    fn runs_compare_every_count() {
        let first = parse_report(REPORT).unwrap();
        assert_eq!(same_counts(&first, &first), Ok(()));
        let other = REPORT.replace("baseline_insns=2015", "baseline_insns=2016");
        let second = parse_report(&other).unwrap();
        let error = same_counts(&first, &second).unwrap_err();
        assert!(error.starts_with("counts differ between runs:"), "{error}");
        assert!(error.contains("baseline_insns=2016"), "{error}");
        assert_eq!(
            same_counts(&first, &first[..2]).unwrap_err(),
            "the runs reported 3 and 2 benchmarks"
        );
    }

    #[test]
    fn writes_json() {
        let outcomes = parse_report(REPORT).unwrap();
        let failed = [Outcome::Failed {
            name: "x",
            reason: "said \"no\"\\\n\u{1}",
        }];
        assert_eq!(
            to_json("qemu -icount shift=0,sleep=off", &outcomes[..2]),
            "{\n  \"counter\": \"INST_RETIRED (PMU event 0x08)\",\n  \
             \"machine\": \"qemu -icount shift=0,sleep=off\",\n  \"benchmarks\": [\n    \
             {\"name\": \"brk_round_trip\", \"status\": \"measured\", \"ops\": 1000, \
             \"insns\": 129015, \"baseline\": \"loop_without_brk\", \"baseline_insns\": 2015, \
             \"net_insns\": 127000, \"insns_per_op\": 127, \"remainder\": 0},\n    \
             {\"name\": \"stop_machine_4\", \"status\": \"skipped\", \
             \"reason\": \"needs 4 CPUs, 1 online\"}\n  ]\n}\n"
        );
        assert!(to_json("q", &failed).contains(
            "{\"name\": \"x\", \"status\": \"failed\", \
                 \"reason\": \"said \\\"no\\\"\\\\\\n\\u0001\"}"
        ));
        assert!(to_json("q", &[]).ends_with("\"benchmarks\": []\n}\n"));
    }
}
