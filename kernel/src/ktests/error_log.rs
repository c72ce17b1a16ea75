//! The `error_log` file on the running kernel: entries logged through `tracing_log_err` read
//! back in Linux's format, stamped by the clock, bounded to the newest eight; an appending
//! write changes nothing and a truncating one empties it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::fs::{self, WriteMode};
use crate::trace::error_log::{TRACING_LOG_ERRS_MAX, tracing_log_err};
use crate::tracefs::TRACEFS;
use crate::{kassert, kassert_eq, ktest};

const ERRS: &[&str] = &["Field not found"];

fn error_log() -> Result<String, String> {
    let mut text = String::new();
    fs::read(&alloc::format!("{TRACEFS}/error_log"), &mut text)
        .map_err(|e| alloc::format!("cat error_log: {e}"))?;
    Ok(text)
}

fn write_error_log(data: &[u8], mode: WriteMode) -> Result<(), String> {
    fs::write(&alloc::format!("{TRACEFS}/error_log"), data, mode)
        .map_err(|e| alloc::format!("write error_log: {e}"))
}

/// The seconds of each entry's `[SSSSS.UUUUUU]` stamp, in microseconds.
fn stamps(text: &str) -> Result<Vec<u64>, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix('['))
        .map(|line| {
            let stamp = line.split(']').next().unwrap_or("").trim();
            let (secs, usecs) = stamp.split_once('.').ok_or("no `.` in the stamp")?;
            let secs: u64 = secs.parse().map_err(|_| "bad seconds")?;
            let usecs: u64 = usecs.parse().map_err(|_| "bad microseconds")?;
            Ok(secs * 1_000_000 + usecs)
        })
        .collect::<Result<_, &str>>()
        .map_err(String::from)
}

ktest! {
fn error_log_keeps_the_newest_and_clears_on_truncate() -> TestResult {
    write_error_log(b"\n", WriteMode::Truncate)?;
    kassert_eq!(error_log()?, "");
    let logged = TRACING_LOG_ERRS_MAX + 2;
    for i in 0..logged {
        tracing_log_err("ktest", &alloc::format!("field{i} == 1"), ERRS, 0, 5);
    }
    let text = error_log()?;
    let first_kept = logged - TRACING_LOG_ERRS_MAX;
    let want_cmds: Vec<String> = (first_kept..logged)
        .map(|i| alloc::format!("  Command: field{i} == 1"))
        .collect();
    let cmds: Vec<&str> = text.lines().filter(|l| l.starts_with("  Command: ")).collect();
    kassert_eq!(cmds, want_cmds);
    kassert!(text.lines().all(|l| !l.starts_with('[') || l.ends_with("] ktest: error: Field not found")));
    kassert!(text.lines().filter(|l| l.trim_start() == "^").all(|l| l.len() == 11 + 5 + 1));
    let stamps = stamps(&text)?;
    kassert_eq!(stamps.len(), TRACING_LOG_ERRS_MAX);
    kassert!(stamps[0] > 0, "the clock stamped 0");
    kassert!(stamps.windows(2).all(|w| w[0] <= w[1]), "stamps go back: {stamps:?}");

    write_error_log(b"x\n", WriteMode::Append)?;
    kassert_eq!(error_log()?, text);
    write_error_log(b"", WriteMode::Truncate)?;
    kassert_eq!(error_log()?, "");
    Ok(())
}
}
