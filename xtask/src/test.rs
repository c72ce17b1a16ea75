//! `cargo xtask test`: everything CI checks, in order, cheapest first.
//!
//! 1. Static checks and host unit tests (format, clippy for the kernel target and the host,
//!    `cargo test`), then a kernel build with a planted `noinstr` violation, which must fail
//!    the build's check; the first failure stops the run.
//! 2. The in-kernel test image (`--features ktest`) booted once with [`KTEST_SMP`] CPUs; it
//!    prints `ktest: N passed, N failed` and exits 0 (all passed) or 2 (failures). Any other
//!    status is a crash.
//! 3. Every `tests/scenarios/*.tc` against the kernel image, two machines at a time.
//! 4. A smoke run of the benchmark harness ([`bench::smoke`]), counted as one test.
//!
//! The last line is `N passed, N failed`, counting the in-kernel tests, the scenarios and the
//! benchmark smoke run.
//!
//! `cargo xtask test NAME...` runs only the named scenarios, for a quick loop while working on
//! the shell.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use scenario::qemu::{Console, Qemu, QemuConfig, WaitError};
use scenario::runner;

use crate::build::{self, Image};
use crate::run::DEFAULT_SMP;
use crate::workspace::{self, KERNEL_TARGET};
use crate::{Result, bench, command, initramfs, prereq};

/// How long the whole in-kernel test image may run.
const KTEST_TIMEOUT: Duration = Duration::from_secs(120);
/// CPUs of the in-kernel test machine: the stop-machine stress test needs three callers and
/// a patching CPU.
const KTEST_SMP: usize = 4;
/// Single-threaded TCG for the in-kernel tests: the vCPUs take turns on one host thread,
/// switching at every YIELD (`cpu_relax`) and WFI. The stop-machine stress test's 20 002
/// rendezvous then cost microseconds each; with one host thread per vCPU on a two-core CI
/// machine each costs 20-100 ms, because every phase waits for the host to schedule a
/// spinning vCPU's thread.
const KTEST_ACCEL: [&str; 2] = ["-accel", "tcg,thread=single"];
/// Scenario machines running at once.
const SCENARIO_JOBS: usize = 2;
/// The in-kernel image's exit status when some test failed.
const KTEST_FAILED_STATUS: i32 = 2;

/// Passed and failed counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn add(self, other: Tally) -> Tally {
        Tally {
            passed: self.passed + other.passed,
            failed: self.failed + other.failed,
        }
    }
}

/// Options of `cargo xtask test`.
#[derive(Args, Clone, Debug)]
pub struct TestArgs {
    /// Run only these scenarios (file names in tests/scenarios, `.tc` optional), nothing else.
    pub scenarios: Vec<String>,
}

/// `cargo xtask test`.
pub fn test(args: TestArgs) -> Result<ExitCode> {
    let started = Instant::now();
    prereq::ensure_toolchain()?;
    prereq::ensure_qemu()?;
    prereq::ensure_gdb()?;
    let scenario_files = select_scenarios(&args.scenarios)?;
    let mut ktest = Tally::default();
    let mut ktest_failures = Vec::new();
    if args.scenarios.is_empty() {
        // Clippy of the kernel target embeds the initramfs: build it first.
        stage("user programs and initramfs");
        initramfs::prepare()?;
        for (title, mut check) in static_checks() {
            stage(title);
            command::run(&mut check).map_err(|error| format!("{title} failed: {error}"))?;
        }
        stage("noinstr check refuses a planted violation");
        check_planted_violation()?;
        stage("in-kernel tests");
        (ktest, ktest_failures) = run_ktest()?;
    }
    stage("scenarios");
    let scenarios = run_scenarios(&scenario_files)?;
    let mut harness = Tally::default();
    if args.scenarios.is_empty() {
        stage("benchmark harness (smoke)");
        harness = bench_smoke();
    }
    let total = ktest.add(scenarios).add(harness);
    eprintln!(
        "xtask: in-kernel tests {} passed, {} failed; scenarios {} passed, {} failed; \
         benchmark smoke {} passed, {} failed; {:.0} s",
        ktest.passed,
        ktest.failed,
        scenarios.passed,
        scenarios.failed,
        harness.passed,
        harness.failed,
        started.elapsed().as_secs_f64()
    );
    // The failures again at the end, where a CI log's tail shows them.
    for failure in &ktest_failures {
        eprintln!("xtask: in-kernel test failed: {failure}");
    }
    println!("{} passed, {} failed", total.passed, total.failed);
    Ok(if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Smoke-runs the benchmark harness: one test, passed or failed.
fn bench_smoke() -> Tally {
    match bench::smoke() {
        Ok(summary) => {
            println!("ok   benchmark harness: {summary}");
            Tally {
                passed: 1,
                failed: 0,
            }
        }
        Err(error) => {
            println!("FAIL benchmark harness: {error}");
            Tally {
                passed: 0,
                failed: 1,
            }
        }
    }
}

fn stage(title: &str) {
    eprintln!("\n==> {title}");
}

/// The checks that need no machine, each a cargo command that must succeed.
fn static_checks() -> Vec<(&'static str, Command)> {
    let cargo = |args: &[&str]| {
        let mut command = workspace::cargo();
        command.args(args);
        command
    };
    let mut ktest_clippy = cargo(&[
        "clippy",
        "-p",
        "kernel",
        "--features",
        "ktest",
        "--target",
        KERNEL_TARGET,
        "--release",
    ]);
    ktest_clippy
        .arg("--target-dir")
        .arg(workspace::target_dir().join("ktest"));
    ktest_clippy.args(["--", "-D", "warnings"]);
    let mut user_clippy = initramfs::user_cargo("clippy");
    user_clippy.args(["--", "-D", "warnings"]);
    vec![
        ("format", cargo(&["fmt", "--all", "--check"])),
        (
            "clippy (kernel target)",
            cargo(&[
                "clippy",
                "-p",
                "kernel",
                "-p",
                "arch",
                "--target",
                KERNEL_TARGET,
                "--release",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        ("clippy (kernel target, ktest build)", ktest_clippy),
        ("clippy (user programs)", user_clippy),
        (
            "clippy (host tools)",
            cargo(&[
                "clippy",
                "-p",
                "xtask",
                "-p",
                "scenario",
                "-p",
                "gdbtarget",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        (
            "clippy (host unit tests)",
            cargo(&[
                "clippy",
                "-p",
                "kernel",
                "-p",
                "arch",
                "-p",
                "strace-fmt",
                "--lib",
                "--tests",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        (
            "unit tests (kernel, arch, strace-fmt)",
            cargo(&[
                "test",
                "-p",
                "arch",
                "-p",
                "kernel",
                "-p",
                "strace-fmt",
                "--lib",
            ]),
        ),
        (
            "unit tests (host tools)",
            cargo(&["test", "-p", "scenario", "-p", "xtask", "-p", "gdbtarget"]),
        ),
    ]
}

/// What the noinstr check must say about the planted violation (`kernel::planted`).
const PLANTED_VIOLATION: [&str; 2] = [
    "kernel::planted::noinstr_calls_traced+0x",
    " kernel::planted::traced (has a patch site)",
];

/// Builds the kernel with its planted `noinstr` violation: the build must fail, and with the
/// check's report of that call (a compile error would fail differently).
fn check_planted_violation() -> Result {
    let started = Instant::now();
    let error = match build::build(Image::PlantedViolation) {
        Ok(image) => {
            return Err(format!(
                "{} built, but it calls traced code from noinstr code",
                image.display()
            )
            .into());
        }
        Err(error) => error.to_string(),
    };
    let reported = error
        .lines()
        .any(|line| PLANTED_VIOLATION.iter().all(|part| line.contains(part)));
    if !reported {
        return Err(
            format!("the planted build failed without naming its violation: {error}").into(),
        );
    }
    eprintln!(
        "xtask: the build refused the planted violation, as it must ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Boots the in-kernel test image with its output streamed, and counts its results. A crash,
/// a hang or a missing summary counts as one failure more. Also returns each failed test with
/// its message, for the summary.
fn run_ktest() -> Result<(Tally, Vec<String>)> {
    let image = build::build(Image::Ktest)?;
    let mut config = QemuConfig::new(image, KTEST_SMP);
    config.extra_args = KTEST_ACCEL.map(String::from).to_vec();
    let command = config.command(Console::Stdio);
    command::echo(&command);
    let mut qemu = Qemu::spawn(command, true)?;
    let status = qemu.wait_exit(KTEST_TIMEOUT);
    let transcript = String::from_utf8_lossy(&qemu.transcript()).into_owned();
    let (tally, problem) = judge_ktest(status, &transcript);
    let mut failures = failed_ktests(&transcript);
    if let Some(problem) = &problem {
        failures.push(problem.clone());
        eprintln!("xtask: in-kernel tests: {problem}");
        let stderr = qemu.stderr();
        if !stderr.is_empty() {
            eprintln!("---- qemu stderr ----\n{stderr}");
        }
    }
    Ok((tally, failures))
}

/// The tests the image reported as failed (`ktest: NAME ... FAILED`), each with the message on
/// the line after it.
fn failed_ktests(transcript: &str) -> Vec<String> {
    let mut lines = transcript.lines().map(str::trim).peekable();
    let mut failures = Vec::new();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("ktest: ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        else {
            continue;
        };
        let message = lines
            .next_if(|next| next.starts_with("ktest:   "))
            .map_or("", |next| next["ktest:".len()..].trim());
        failures.push(format!("{name}: {message}"));
    }
    failures
}

/// The in-kernel tests' tally from QEMU's status and the image's output, and what went wrong
/// with the run itself, if anything (counted as one more failure).
fn judge_ktest(
    status: std::result::Result<i32, WaitError>,
    transcript: &str,
) -> (Tally, Option<String>) {
    let summary = ktest_summary(transcript);
    let tally = summary.unwrap_or_default();
    let problem = match (status, summary) {
        (Err(_), _) => Some(format!(
            "no exit within {} s (killed)",
            KTEST_TIMEOUT.as_secs()
        )),
        (Ok(0), Some(summary)) if summary.failed == 0 => None,
        (Ok(KTEST_FAILED_STATUS), Some(summary)) if summary.failed > 0 => None,
        (Ok(status @ (0 | KTEST_FAILED_STATUS)), Some(summary)) => Some(format!(
            "exit status {status} contradicts its summary ({} failed)",
            summary.failed
        )),
        (Ok(status @ (0 | KTEST_FAILED_STATUS)), None) => Some(format!(
            "exit status {status}, but no `ktest: N passed, N failed` line"
        )),
        (Ok(status), _) => Some(format!("crashed: QEMU exit status {status}")),
    };
    let extra = Tally {
        passed: 0,
        failed: usize::from(problem.is_some()),
    };
    (tally.add(extra), problem)
}

/// The last `ktest: N passed, N failed` line of the output.
fn ktest_summary(transcript: &str) -> Option<Tally> {
    transcript.lines().rev().find_map(|line| {
        let counts = line.trim().strip_prefix("ktest: ")?;
        let (passed, failed) = counts.split_once(" passed, ")?;
        Some(Tally {
            passed: passed.parse().ok()?,
            failed: failed.strip_suffix(" failed")?.parse().ok()?,
        })
    })
}

/// The scenario files to run: all of them, or those `names` picks.
fn select_scenarios(names: &[String]) -> Result<Vec<PathBuf>> {
    let dir = workspace::root().join("tests").join("scenarios");
    let files = runner::scenario_files(&dir)
        .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    if names.is_empty() {
        return Ok(files);
    }
    names
        .iter()
        .map(|name| {
            let file_name = if name.ends_with(".tc") {
                name.clone()
            } else {
                format!("{name}.tc")
            };
            files
                .iter()
                .find(|file| file.file_name().is_some_and(|found| *found == *file_name))
                .cloned()
                .ok_or_else(|| format!("no scenario {file_name} in {}", dir.display()).into())
        })
        .collect()
}

/// Runs the scenario files against the kernel image, printing each result as it comes and a
/// failure's full report.
fn run_scenarios(files: &[PathBuf]) -> Result<Tally> {
    let image = build::build(Image::Kernel)?;
    let config = QemuConfig::new(image, DEFAULT_SMP);
    eprintln!(
        "xtask: {} scenarios, {SCENARIO_JOBS} at a time, each on `{}` plus its `qemu:` arguments",
        files.len(),
        scenario::qemu::command_line(&config.command(Console::Stdio))
    );
    let printing = Mutex::new(());
    let reports = runner::run_files(files, &config, SCENARIO_JOBS, |report| {
        let _one_at_a_time = printing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let seconds = report.elapsed.as_secs_f64();
        if report.passed() {
            println!("ok   {} ({seconds:.1} s)", report.name());
        } else {
            println!("FAIL {} ({seconds:.1} s)\n{report}", report.name());
        }
    });
    let failed = reports.iter().filter(|report| !report.passed()).count();
    let failures: Vec<String> = reports
        .iter()
        .filter(|report| !report.passed())
        .map(|report| report.name())
        .collect();
    if !failures.is_empty() {
        eprintln!("xtask: failed scenarios: {}", failures.join(" "));
    }
    Ok(Tally {
        passed: reports.len() - failed,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(passed: usize, failed: usize) -> Tally {
        Tally { passed, failed }
    }

    #[test]
    fn finds_the_last_summary_line() {
        assert_eq!(
            ktest_summary("boot\nktest: 12 passed, 0 failed\n"),
            Some(tally(12, 0))
        );
        assert_eq!(
            ktest_summary("ktest: 1 passed, 1 failed\nktest: 3 passed, 2 failed"),
            Some(tally(3, 2))
        );
        assert_eq!(
            ktest_summary("  ktest: 4 passed, 0 failed  \n"),
            Some(tally(4, 0))
        );
        assert_eq!(ktest_summary("ktest: x passed, 0 failed"), None);
        assert_eq!(ktest_summary("ktest: 1 passed"), None);
        assert_eq!(ktest_summary("ktest: 1 passed, 2 failures"), None);
        assert_eq!(ktest_summary(""), None);
    }

    #[test]
    fn names_the_failed_tests_with_their_messages() {
        let transcript = "ktest: a::b ... ok\nktest: a::c ... FAILED\nktest:   3 ticks in 9 ns\n\
                          ktest: a::d ... FAILED\nktest: 1 passed, 2 failed\n";
        assert_eq!(
            failed_ktests(transcript),
            ["a::c: 3 ticks in 9 ns", "a::d: "]
        );
        assert!(failed_ktests("ktest: a::b ... ok\n").is_empty());
        assert_eq!(failed_ktests("ktest: a::e ... FAILED"), ["a::e: "]);
    }

    #[test]
    fn judges_the_run() {
        let passed = "ktest: 5 passed, 0 failed\n";
        let failed = "ktest: 4 passed, 1 failed\n";
        assert_eq!(judge_ktest(Ok(0), passed), (tally(5, 0), None));
        assert_eq!(judge_ktest(Ok(2), failed), (tally(4, 1), None));

        let (counts, problem) = judge_ktest(Ok(101), "ktest: 2 passed, 0 failed\npanic");
        assert_eq!(counts, tally(2, 1));
        assert_eq!(problem.unwrap(), "crashed: QEMU exit status 101");

        let (counts, problem) = judge_ktest(Ok(0), "");
        assert_eq!(counts, tally(0, 1));
        assert!(
            problem
                .unwrap()
                .contains("no `ktest: N passed, N failed` line")
        );

        let (counts, problem) = judge_ktest(Ok(0), failed);
        assert_eq!(counts, tally(4, 2));
        assert!(problem.unwrap().contains("contradicts"));
        assert!(
            judge_ktest(Ok(2), passed)
                .1
                .unwrap()
                .contains("contradicts")
        );

        let (counts, problem) = judge_ktest(Err(WaitError::Timeout { unread: Vec::new() }), passed);
        assert_eq!(counts, tally(5, 1));
        assert!(problem.unwrap().contains("no exit within 120 s"));

        assert_eq!(
            judge_ktest(Ok(1), passed).1.unwrap(),
            "crashed: QEMU exit status 1"
        );
    }
}
