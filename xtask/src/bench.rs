//! `cargo xtask bench`: boots the kernel image on deterministic machines (the usual one plus
//! `-icount shift=0,sleep=off`) with 1, 2 and 4 CPUs, or only `--smp N`, types `bench -m` into
//! each one's shell, and reads the `kbench:` reports back. A benchmark runs only on the machine
//! with the CPUs it names (the others report it skipped), so the reports merge into one: each
//! benchmark's row comes from the machine that measured it. Prints the table and writes the same
//! data as JSON to target/bench.json. `--check` boots every machine twice and fails unless both
//! rounds report identical counts. [`smoke`] is the check `cargo xtask test` runs.
//!
//! Under `-icount shift=0` QEMU's PMU counts retired instructions exactly, so every count is the
//! same on every run: the numbers are instructions, never time.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

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
/// The benchmark machines' CPU counts, unless `--smp` names one: every count a benchmark needs.
const BENCH_SMP: [usize; 3] = [1, 2, 4];
/// How long `bench` may run; each benchmark is meant to take well under a second.
const BENCH_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `poweroff` may take to end QEMU.
const POWEROFF_TIMEOUT: Duration = Duration::from_secs(10);
/// The shell's prompt once the console has been quiet this long (as the scenario runner waits).
const PROMPT_SETTLE: Duration = Duration::from_millis(50);
const PROMPT: &str = "/ # ";

/// The benchmarks whose cost is known exactly, in instructions per operation: a disabled patch
/// site is its two entry instructions, `mov x9, x30; nop` as `ftrace_init` leaves them; a
/// disabled static branch is its one `nop`.
const EXACT_COSTS: [(&str, u64); 3] = [
    ("call_disabled_site", 2),
    ("static_branch_disabled", 1),
    ("tracepoint_disabled", 1),
];

/// Where the JSON report goes.
fn json_path() -> PathBuf {
    workspace::target_dir().join("bench.json")
}

/// Options of `cargo xtask bench`.
#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Run only the benchmarks these names or globs pick (as the shell's `bench` takes them).
    pub patterns: Vec<String>,
    /// Boot every machine twice and fail unless both rounds report identical counts.
    #[arg(long)]
    pub check: bool,
    /// Boot only a machine with this many CPUs (default: one machine each with 1, 2 and 4).
    #[arg(long)]
    pub smp: Option<usize>,
}

/// `cargo xtask bench`.
pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    prereq::ensure_qemu()?;
    let kernel = build::build(Image::Kernel)?;
    let configs: Vec<QemuConfig> = args
        .smp
        .map_or(BENCH_SMP.to_vec(), |smp| vec![smp])
        .into_iter()
        .map(|smp| machine(kernel.clone(), smp))
        .collect();
    let rounds = if args.check { 2 } else { 1 };
    let all_machines: Vec<QemuConfig> = (0..rounds).flat_map(|_| configs.clone()).collect();
    let outputs = run_machines(&all_machines, &args.patterns)?;
    let merged = outputs
        .chunks(configs.len())
        .map(|round| {
            let reports = configs
                .iter()
                .zip(round)
                .map(|(config, output)| Ok((config.smp, parse_report(output)?)))
                .collect::<std::result::Result<Vec<_>, String>>()?;
            merge(&reports)
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let rows = &merged[0];
    let report = outcomes(rows);
    let mut table = String::new();
    format::write_table(&mut table, &report)?;
    print!("{table}");
    let machines: Vec<(usize, String)> = configs
        .iter()
        .map(|config| {
            let command = config.command(Console::Stdio);
            (config.smp, scenario::qemu::command_line(&command))
        })
        .collect();
    let path = json_path();
    fs::write(&path, to_json(&machines, rows))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    if args.check {
        same_counts(&report, &outcomes(&merged[1]))?;
        eprintln!("xtask: both rounds gave identical counts");
    }
    let failed = Summary::of(&report).failed;
    if failed != 0 {
        return Err(format!("{failed} benchmark(s) failed").into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The smoke check `cargo xtask test` runs: two machines each with 1, 2 and 4 CPUs run every
/// benchmark, all at once (each is a few seconds of one host thread). None may fail, every
/// benchmark must be measured on one of them, the two machines of a CPU count must report the
/// same counts, and the disabled patch site and static branch must cost exactly their
/// instructions ([`EXACT_COSTS`]). Returns a one-line summary.
pub fn smoke() -> Result<String> {
    let started = Instant::now();
    let kernel = build::build(Image::Kernel)?;
    let configs: Vec<QemuConfig> = BENCH_SMP
        .iter()
        .flat_map(|&smp| [machine(kernel.clone(), smp), machine(kernel.clone(), smp)])
        .collect();
    let outputs = run_machines(&configs, &[])?;
    let reports = configs
        .iter()
        .zip(&outputs)
        .map(|(config, output)| Ok((config.smp, parse_report(output)?)))
        .collect::<std::result::Result<Vec<_>, String>>()?;
    if let Some(failed) = reports.iter().find_map(|(smp, outcomes)| {
        outcomes.iter().find_map(|outcome| match outcome {
            Outcome::Failed { name, reason } => Some(format!("{name} ({smp} CPUs): {reason}")),
            _ => None,
        })
    }) {
        return Err(format!("a benchmark failed: {failed}").into());
    }
    for pair in reports.chunks(2) {
        same_counts(&pair[0].1, &pair[1].1)?;
    }
    let rows = outcomes(&merge(&reports)?);
    if let Some(Outcome::Skipped { name, reason }) = rows
        .iter()
        .find(|outcome| matches!(outcome, Outcome::Skipped { .. }))
    {
        return Err(format!("{name} ran on no machine: {reason}").into());
    }
    let exact = EXACT_COSTS
        .iter()
        .map(|&(name, insns)| {
            Ok(format!(
                "{name} = {} insns/op",
                exact_cost(&rows, name, insns)?
            ))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok(format!(
        "{} benchmarks on machines with {BENCH_SMP:?} CPUs, identical counts on two machines \
         each, {}; {:.0} s",
        rows.len(),
        exact.join(", "),
        started.elapsed().as_secs_f64()
    ))
}

/// The benchmark machine: the usual one, made deterministic.
fn machine(kernel: PathBuf, smp: usize) -> QemuConfig {
    let mut config = QemuConfig::new(kernel, smp);
    config.extra_args = ICOUNT_ARGS.map(String::from).to_vec();
    config
}

/// Boots every machine of `configs` at once, each running `bench -m PATTERNS`; returns their
/// outputs, in the same order.
fn run_machines(configs: &[QemuConfig], patterns: &[String]) -> Result<Vec<String>> {
    for config in configs {
        command::echo(&config.command(Console::Stdio));
    }
    thread::scope(|scope| {
        let machines: Vec<_> = configs
            .iter()
            .map(|config| scope.spawn(|| run_machine(config, patterns)))
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

/// One benchmark of a merged report and the CPUs of the machine its outcome comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Row<'a> {
    smp: usize,
    outcome: Outcome<'a>,
}

fn outcomes<'a>(rows: &[Row<'a>]) -> Vec<Outcome<'a>> {
    rows.iter().map(|row| row.outcome).collect()
}

fn name<'a>(outcome: &Outcome<'a>) -> &'a str {
    match *outcome {
        Outcome::Measured(m) => m.name,
        Outcome::Skipped { name, .. } | Outcome::Failed { name, .. } => name,
    }
}

/// Merges the reports of machines with different CPU counts, each `(smp, outcomes)`. One
/// kernel image gives every machine the same benchmarks in the same order; each benchmark's row
/// is the first outcome that is not a skip (a benchmark runs only with its own CPU count), or
/// the first machine's skip when every machine skipped it.
fn merge<'a>(reports: &[(usize, Vec<Outcome<'a>>)]) -> std::result::Result<Vec<Row<'a>>, String> {
    let Some((first_smp, first)) = reports.first() else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = first.iter().map(name).collect();
    if let Some((smp, _)) = reports
        .iter()
        .find(|(_, outcomes)| !outcomes.iter().map(name).eq(names.iter().copied()))
    {
        return Err(format!(
            "the machines with {first_smp} and {smp} CPUs reported different benchmarks"
        ));
    }
    Ok((0..names.len())
        .map(|i| {
            reports
                .iter()
                .map(|(smp, outcomes)| Row {
                    smp: *smp,
                    outcome: outcomes[i],
                })
                .find(|row| !matches!(row.outcome, Outcome::Skipped { .. }))
                .unwrap_or(Row {
                    smp: *first_smp,
                    outcome: first[i],
                })
        })
        .collect())
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

/// The cost per operation of `name`, which must be exactly `insns`.
fn exact_cost(
    outcomes: &[Outcome<'_>],
    name: &str,
    insns: u64,
) -> std::result::Result<PerOp, String> {
    let measurement = outcomes
        .iter()
        .find_map(|outcome| match outcome {
            Outcome::Measured(m) if m.name == name => Some(m),
            _ => None,
        })
        .ok_or_else(|| format!("no measurement of {name}"))?;
    match measurement.per_op() {
        Some(per_op) if per_op.whole == insns && per_op.remainder == 0 => Ok(per_op),
        _ => Err(format!(
            "{name} costs {} instructions per call, not exactly {insns}: {}",
            measurement
                .per_op()
                .map_or("<0".to_string(), |p| p.to_string()),
            Line::Outcome(Outcome::Measured(*measurement))
        )),
    }
}

/// The report as JSON: the machines (CPUs and QEMU command line), then one object per
/// benchmark, with the CPUs of the machine that gave it.
fn to_json(machines: &[(usize, String)], rows: &[Row<'_>]) -> String {
    let mut json = String::new();
    json.push_str("{\n  \"counter\": \"INST_RETIRED (PMU event 0x08)\",\n  \"machines\": [");
    for (i, (smp, command_line)) in machines.iter().enumerate() {
        json.push_str(if i == 0 { "\n" } else { ",\n" });
        let _ = write!(
            json,
            "    {{\"smp\": {smp}, \"command\": {}}}",
            json_string(command_line)
        );
    }
    json.push_str(if machines.is_empty() {
        "],\n"
    } else {
        "\n  ],\n"
    });
    json.push_str("  \"benchmarks\": [");
    for (i, row) in rows.iter().enumerate() {
        json.push_str(if i == 0 { "\n" } else { ",\n" });
        json.push_str("    ");
        json.push_str(&json_object(row));
    }
    json.push_str(if rows.is_empty() {
        "]\n}\n"
    } else {
        "\n  ]\n}\n"
    });
    json
}

fn json_object(row: &Row<'_>) -> String {
    let smp = row.smp;
    match &row.outcome {
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
                "{{\"name\": {}, \"smp\": {smp}, \"status\": \"measured\", \"ops\": {}, \
                 \"insns\": {}, \"baseline\": {}, \"baseline_insns\": {}, \"net_insns\": {net}, \
                 \"insns_per_op\": {per_op}, \"remainder\": {remainder}}}",
                json_string(m.name),
                m.ops,
                m.insns,
                json_string(m.baseline),
                m.baseline_insns
            )
        }
        Outcome::Skipped { name, reason } => format!(
            "{{\"name\": {}, \"smp\": {smp}, \"status\": \"skipped\", \"reason\": {}}}",
            json_string(name),
            json_string(reason)
        ),
        Outcome::Failed { name, reason } => format!(
            "{{\"name\": {}, \"smp\": {smp}, \"status\": \"failed\", \"reason\": {}}}",
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
        assert_eq!(
            exact_cost(&outcomes, "call_disabled_site", 2)
                .unwrap()
                .to_string(),
            "2"
        );
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
        let error =
            exact_cost(&parse_report(&three).unwrap(), "call_disabled_site", 2).unwrap_err();
        assert!(
            error.starts_with("call_disabled_site costs 3 instructions per call"),
            "{error}"
        );
        let uneven = REPORT.replace("insns=130036", "insns=130037");
        let error =
            exact_cost(&parse_report(&uneven).unwrap(), "call_disabled_site", 2).unwrap_err();
        assert!(error.contains("costs 2+1/10000 instructions"), "{error}");
        let missing = REPORT.replace("name=call_disabled_site", "name=other");
        assert_eq!(
            exact_cost(&parse_report(&missing).unwrap(), "call_disabled_site", 2).unwrap_err(),
            "no measurement of call_disabled_site"
        );
    }

    #[test]
    fn the_disabled_static_branch_must_cost_exactly_one() {
        let report = REPORT.replace(
            "kbench: summary measured=2",
            "kbench: measured name=static_branch_disabled ops=10000 insns=120036 \
             baseline=call_without_static_branch baseline_insns=110036\n\
             kbench: summary measured=3",
        );
        let outcomes = parse_report(&report).unwrap();
        assert_eq!(
            exact_cost(&outcomes, "static_branch_disabled", 1)
                .unwrap()
                .to_string(),
            "1"
        );
        let two = report.replace("insns=120036", "insns=130036");
        let error =
            exact_cost(&parse_report(&two).unwrap(), "static_branch_disabled", 1).unwrap_err();
        assert!(
            error.starts_with("static_branch_disabled costs 2 instructions per call"),
            "{error}"
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
        let rows: Vec<Row<'_>> = parse_report(REPORT).unwrap()[..2]
            .iter()
            .map(|&outcome| Row { smp: 1, outcome })
            .collect();
        let failed = [Row {
            smp: 4,
            outcome: Outcome::Failed {
                name: "x",
                reason: "said \"no\"\\\n\u{1}",
            },
        }];
        let machines = [
            (1, "qemu -smp 1".to_string()),
            (4, "qemu -smp 4".to_string()),
        ];
        assert_eq!(
            to_json(&machines, &rows),
            "{\n  \"counter\": \"INST_RETIRED (PMU event 0x08)\",\n  \"machines\": [\n    \
             {\"smp\": 1, \"command\": \"qemu -smp 1\"},\n    \
             {\"smp\": 4, \"command\": \"qemu -smp 4\"}\n  ],\n  \"benchmarks\": [\n    \
             {\"name\": \"brk_round_trip\", \"smp\": 1, \"status\": \"measured\", \
             \"ops\": 1000, \"insns\": 129015, \"baseline\": \"loop_without_brk\", \
             \"baseline_insns\": 2015, \"net_insns\": 127000, \"insns_per_op\": 127, \
             \"remainder\": 0},\n    \
             {\"name\": \"stop_machine_4\", \"smp\": 1, \"status\": \"skipped\", \
             \"reason\": \"needs 4 CPUs, 1 online\"}\n  ]\n}\n"
        );
        assert!(to_json(&machines, &failed).contains(
            "{\"name\": \"x\", \"smp\": 4, \"status\": \"failed\", \
                 \"reason\": \"said \\\"no\\\"\\\\\\n\\u0001\"}"
        ));
        assert!(to_json(&[], &[]).ends_with("\"machines\": [],\n  \"benchmarks\": []\n}\n"));
    }

    #[test]
    fn merges_machines_by_cpu_count() {
        let one = parse_report(REPORT).unwrap();
        let four_report = REPORT
            .replace(
                "kbench: measured name=brk_round_trip ops=1000 insns=129015 \
                 baseline=loop_without_brk baseline_insns=2015",
                "kbench: skipped name=brk_round_trip reason=needs 1 CPU, 4 online",
            )
            .replace(
                "kbench: skipped name=stop_machine_4 reason=needs 4 CPUs, 1 online",
                "kbench: measured name=stop_machine_4 ops=10 insns=500 baseline=b baseline_insns=100",
            )
            .replace(
                "kbench: measured name=call_disabled_site ops=10000 insns=130036 \
                 baseline=call_without_site baseline_insns=110036",
                "kbench: skipped name=call_disabled_site reason=needs 1 CPU, 4 online",
            )
            .replace("measured=2 skipped=1", "measured=1 skipped=2");
        let four = parse_report(&four_report).unwrap();
        let merged = merge(&[(1, one.clone()), (4, four.clone())]).unwrap();
        assert_eq!(
            merged.iter().map(|row| row.smp).collect::<Vec<_>>(),
            [1, 4, 1]
        );
        assert_eq!(merged[0].outcome, one[0]);
        assert_eq!(merged[1].outcome, four[1]);
        assert_eq!(merged[2].outcome, one[2]);
        let everywhere_skipped = merge(&[(4, four.clone()), (4, four.clone())]).unwrap();
        assert_eq!(everywhere_skipped[0].outcome, four[0]);
        assert_eq!(
            merge(&[(1, one.clone()), (2, one[..2].to_vec())]).unwrap_err(),
            "the machines with 1 and 2 CPUs reported different benchmarks"
        );
        assert_eq!(merge(&[]).unwrap(), []);
    }
}
