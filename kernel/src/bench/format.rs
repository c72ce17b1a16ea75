//! The benchmark report in its two shapes, shared by the kernel's `bench` command and
//! `cargo xtask bench` (which includes this file): the `kbench:` lines the kernel prints for the
//! host, and the human table. Also the exact per-operation arithmetic: counts are integers, so
//! a cost is shown as a whole number of instructions plus `remainder/ops`, never rounded.
//!
//! A line is `kbench:`, a kind, then `key=value` fields. Values have no whitespace, except a
//! reason, which comes last and runs to the end of the line:
//!
//! ```text
//! kbench: measured name=brk_round_trip ops=1000 insns=190012 baseline=loop_without_brk baseline_insns=2012
//! kbench: skipped name=stop_machine_4 reason=needs 4 CPUs, 1 online
//! kbench: failed name=call_disabled_site reason=the patch site is enabled
//! kbench: summary measured=1 skipped=1 failed=1
//! ```
//!
//! `insns` and `baseline_insns` are the instructions retired by `ops` operations and by the
//! baseline doing the same `ops` times without the operation; the cost of one operation is
//! their difference over `ops`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// What starts every machine-readable line.
pub const LINE_PREFIX: &str = "kbench: ";

/// Whether `name` can be a benchmark or baseline name: printable ASCII without spaces or `=`,
/// so it is one word on the shell's command line and one value in a line.
pub const fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_graphic() || bytes[i] == b'=' {
            return false;
        }
        i += 1;
    }
    true
}

/// One benchmark's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurement<'a> {
    pub name: &'a str,
    /// Operations per run.
    pub ops: u64,
    /// Instructions retired by the run.
    pub insns: u64,
    /// What the baseline is.
    pub baseline: &'a str,
    /// Instructions retired by the baseline: subtracted from `insns`.
    pub baseline_insns: u64,
}

impl Measurement<'_> {
    /// Instructions the operations themselves cost; `None` when the baseline cost more than the
    /// run, which makes the benchmark meaningless.
    pub fn net(&self) -> Option<u64> {
        self.insns.checked_sub(self.baseline_insns)
    }

    /// The exact cost of one operation.
    pub fn per_op(&self) -> Option<PerOp> {
        let net = self.net()?;
        (self.ops != 0).then(|| PerOp {
            whole: net / self.ops,
            remainder: net % self.ops,
            ops: self.ops,
        })
    }
}

/// `whole + remainder/ops` instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerOp {
    pub whole: u64,
    pub remainder: u64,
    pub ops: u64,
}

impl fmt::Display for PerOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.remainder == 0 {
            write!(f, "{}", self.whole)
        } else {
            write!(f, "{}+{}/{}", self.whole, self.remainder, self.ops)
        }
    }
}

/// What became of one benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    Measured(Measurement<'a>),
    /// This machine cannot run it (too few CPUs, say); not an error.
    Skipped {
        name: &'a str,
        reason: &'a str,
    },
    Failed {
        name: &'a str,
        reason: &'a str,
    },
}

/// How many benchmarks ended which way: the line that closes a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub measured: usize,
    pub skipped: usize,
    pub failed: usize,
}

impl Summary {
    pub fn of(outcomes: &[Outcome<'_>]) -> Summary {
        outcomes
            .iter()
            .fold(Summary::default(), |mut summary, outcome| {
                match outcome {
                    Outcome::Measured(_) => summary.measured += 1,
                    Outcome::Skipped { .. } => summary.skipped += 1,
                    Outcome::Failed { .. } => summary.failed += 1,
                }
                summary
            })
    }
}

/// One machine-readable line; `Display` writes it without the newline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Outcome(Outcome<'a>),
    Summary(Summary),
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(LINE_PREFIX)?;
        match *self {
            Line::Outcome(Outcome::Measured(m)) => write!(
                f,
                "measured name={} ops={} insns={} baseline={} baseline_insns={}",
                m.name, m.ops, m.insns, m.baseline, m.baseline_insns
            ),
            Line::Outcome(Outcome::Skipped { name, reason }) => {
                write!(f, "skipped name={name} reason={reason}")
            }
            Line::Outcome(Outcome::Failed { name, reason }) => {
                write!(f, "failed name={name} reason={reason}")
            }
            Line::Summary(s) => write!(
                f,
                "summary measured={} skipped={} failed={}",
                s.measured, s.skipped, s.failed
            ),
        }
    }
}

/// A `kbench:` line that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

fn error<T>(message: &'static str) -> Result<T, ParseError> {
    Err(ParseError { message })
}

/// Reads one line: `None` if it is not a `kbench:` line at all (console chatter around the
/// report), else the line or why it is malformed. Leading and trailing whitespace is ignored.
pub fn parse_line(line: &str) -> Option<Result<Line<'_>, ParseError>> {
    let body = line.trim().strip_prefix(LINE_PREFIX.trim_end())?;
    let body = body.strip_prefix(' ').unwrap_or(body);
    let (kind, fields) = body.split_once(' ').unwrap_or((body, ""));
    Some(match kind {
        "measured" => parse_measured(fields).map(|m| Line::Outcome(Outcome::Measured(m))),
        "skipped" => parse_reasoned(fields)
            .map(|(name, reason)| Line::Outcome(Outcome::Skipped { name, reason })),
        "failed" => parse_reasoned(fields)
            .map(|(name, reason)| Line::Outcome(Outcome::Failed { name, reason })),
        "summary" => parse_summary(fields).map(Line::Summary),
        _ => error("unknown kind (measured, skipped, failed, summary)"),
    })
}

/// Splits `key=value` fields off the front of `fields`, in the order `keys` names them.
struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Fields<'a> {
    /// The next field, which must be `key`; its value ends at the next space.
    fn word(&mut self, key: &str) -> Result<&'a str, ParseError> {
        let (field, rest) = self.rest.split_once(' ').unwrap_or((self.rest, ""));
        self.rest = rest;
        match field.split_once('=') {
            Some((found, value)) if found == key && is_valid_name(value) => Ok(value),
            Some((found, _)) if found == key => error("a field's value is empty or malformed"),
            _ => error("a field is missing or out of order"),
        }
    }

    fn count<T: core::str::FromStr>(&mut self, key: &str) -> Result<T, ParseError> {
        let value = self.word(key)?;
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return error("a count is not a decimal number");
        }
        value.parse().or_else(|_| error("a count is out of range"))
    }

    /// The last field: `key=` and the rest of the line, which must not be empty.
    fn rest_of_line(&mut self, key: &str) -> Result<&'a str, ParseError> {
        let value = self
            .rest
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='));
        self.rest = "";
        match value {
            Some(value) if !value.trim().is_empty() => Ok(value),
            Some(_) => error("the reason is empty"),
            None => error("a field is missing or out of order"),
        }
    }

    fn end(&self) -> Result<(), ParseError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            error("unexpected text after the last field")
        }
    }
}

fn parse_measured(fields: &str) -> Result<Measurement<'_>, ParseError> {
    let mut fields = Fields { rest: fields };
    let measurement = Measurement {
        name: fields.word("name")?,
        ops: fields.count("ops")?,
        insns: fields.count("insns")?,
        baseline: fields.word("baseline")?,
        baseline_insns: fields.count("baseline_insns")?,
    };
    fields.end()?;
    if measurement.ops == 0 {
        return error("ops is zero");
    }
    Ok(measurement)
}

fn parse_reasoned(fields: &str) -> Result<(&str, &str), ParseError> {
    let mut fields = Fields { rest: fields };
    let name = fields.word("name")?;
    let reason = fields.rest_of_line("reason")?;
    Ok((name, reason))
}

fn parse_summary(fields: &str) -> Result<Summary, ParseError> {
    let mut fields = Fields { rest: fields };
    let summary = Summary {
        measured: fields.count("measured")?,
        skipped: fields.count("skipped")?,
        failed: fields.count("failed")?,
    };
    fields.end()?;
    Ok(summary)
}

const HEADER: [&str; 5] = ["NAME", "OPS", "INSNS/OP", "BASELINE", "SUBTRACTED"];
/// Names and baselines read left to right; numbers line up on their last digit.
const RIGHT_ALIGNED: [bool; 5] = [false, true, true, false, true];
const GAP: &str = "  ";

/// A row of the table: the five cells of a measurement, or a name and a note.
enum Row {
    Cells([String; 5]),
    Note { name: String, note: String },
}

fn row(outcome: &Outcome<'_>) -> Row {
    match outcome {
        Outcome::Measured(m) => Row::Cells([
            m.name.to_string(),
            m.ops.to_string(),
            m.per_op()
                .map_or_else(|| "<0".to_string(), |per_op| per_op.to_string()),
            m.baseline.to_string(),
            m.baseline_insns.to_string(),
        ]),
        Outcome::Skipped { name, reason } => Row::Note {
            name: name.to_string(),
            note: format!("skipped: {reason}"),
        },
        Outcome::Failed { name, reason } => Row::Note {
            name: name.to_string(),
            note: format!("FAILED: {reason}"),
        },
    }
}

/// Writes the human table: a header, then one row per outcome. A measured row shows the
/// operations, the exact cost of one (`whole` or `whole+remainder/ops`), the baseline and the
/// instructions it subtracted; a skipped or failed one its reason.
pub fn write_table(out: &mut dyn fmt::Write, outcomes: &[Outcome<'_>]) -> fmt::Result {
    let rows: Vec<Row> = outcomes.iter().map(row).collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        match row {
            Row::Cells(cells) => {
                for (width, cell) in widths.iter_mut().zip(cells) {
                    *width = (*width).max(cell.len());
                }
            }
            Row::Note { name, .. } => widths[0] = widths[0].max(name.len()),
        }
    }
    write_cells(out, &HEADER, &widths)?;
    for row in &rows {
        match row {
            Row::Cells(cells) => write_cells(out, &cells.each_ref().map(String::as_str), &widths)?,
            Row::Note { name, note } => {
                writeln!(out, "{name:<width$}{GAP}{note}", width = widths[0])?
            }
        }
    }
    Ok(())
}

fn write_cells(out: &mut dyn fmt::Write, cells: &[&str; 5], widths: &[usize; 5]) -> fmt::Result {
    for (i, cell) in cells.iter().enumerate() {
        let width = widths[i];
        let last = i == cells.len() - 1;
        match (RIGHT_ALIGNED[i], last) {
            (true, _) => write!(out, "{cell:>width$}")?,
            // No trailing spaces after the last cell.
            (false, true) => write!(out, "{cell}")?,
            (false, false) => write!(out, "{cell:<width$}")?,
        }
        if !last {
            out.write_str(GAP)?;
        }
    }
    out.write_str("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(ops: u64, insns: u64, baseline_insns: u64) -> Measurement<'static> {
        Measurement {
            name: "brk_round_trip",
            ops,
            insns,
            baseline: "loop_without_brk",
            baseline_insns,
        }
    }

    fn parsed(line: &str) -> Result<Line<'_>, ParseError> {
        parse_line(line).expect("a kbench line")
    }

    fn parse_error(line: &str) -> &'static str {
        parsed(line).unwrap_err().message
    }

    #[test]
    fn names_are_single_words() {
        assert!(is_valid_name("call_disabled_site"));
        assert!(is_valid_name("stop-machine/4"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("two words"));
        assert!(!is_valid_name("a=b"));
        assert!(!is_valid_name("tab\there"));
        assert!(!is_valid_name("caf\u{e9}"));
    }

    #[test]
    fn per_op_is_exact() {
        let even = measured(1000, 192_012, 2_012).per_op().unwrap();
        assert_eq!(
            even,
            PerOp {
                whole: 190,
                remainder: 0,
                ops: 1000
            }
        );
        assert_eq!(even.to_string(), "190");
        let uneven = measured(1000, 192_019, 2_012).per_op().unwrap();
        assert_eq!((uneven.whole, uneven.remainder), (190, 7));
        assert_eq!(uneven.to_string(), "190+7/1000");
        assert_eq!(measured(1000, 5, 5).per_op().unwrap().to_string(), "0");
        assert_eq!(measured(1000, 4, 5).net(), None);
        assert_eq!(measured(1000, 4, 5).per_op(), None);
        assert_eq!(measured(0, 10, 5).per_op(), None);
    }

    #[test]
    fn lines_round_trip() {
        let lines = [
            Line::Outcome(Outcome::Measured(measured(1000, u64::MAX, 0))),
            Line::Outcome(Outcome::Skipped {
                name: "stop_machine_4",
                reason: "needs 4 CPUs, 1 online",
            }),
            Line::Outcome(Outcome::Failed {
                name: "x",
                reason: "a=b  c",
            }),
            Line::Summary(Summary {
                measured: 3,
                skipped: 0,
                failed: 12,
            }),
        ];
        for line in lines {
            let text = line.to_string();
            assert!(text.starts_with("kbench: "), "{text}");
            assert_eq!(parsed(&text), Ok(line), "{text}");
        }
        assert_eq!(
            Line::Outcome(Outcome::Measured(measured(1000, 192_012, 2_012))).to_string(),
            "kbench: measured name=brk_round_trip ops=1000 insns=192012 \
             baseline=loop_without_brk baseline_insns=2012"
        );
    }

    #[test]
    fn other_lines_are_not_kbench_lines() {
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("/ # bench -m"), None);
        assert_eq!(
            parse_line("bench: PMU event 0x08 INST_RETIRED is not supported"),
            None
        );
        assert_eq!(parse_line("kbenchmark: x"), None);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(
            parsed("  kbench: summary measured=1 skipped=0 failed=0 \r"),
            Ok(Line::Summary(Summary {
                measured: 1,
                skipped: 0,
                failed: 0
            }))
        );
    }

    #[test]
    fn malformed_lines_say_why() {
        assert_eq!(
            parse_error("kbench: "),
            "unknown kind (measured, skipped, failed, summary)"
        );
        assert_eq!(
            parse_error("kbench: timed name=x"),
            "unknown kind (measured, skipped, failed, summary)"
        );
        let good = "kbench: measured name=a ops=10 insns=30 baseline=b baseline_insns=10";
        assert!(parsed(good).is_ok());
        for (line, why) in [
            (
                "kbench: measured name=a ops=10 insns=30 baseline=b",
                "a field is missing or out of order",
            ),
            (
                "kbench: measured ops=10 name=a insns=30 baseline=b baseline_insns=10",
                "a field is missing or out of order",
            ),
            (
                "kbench: measured name= ops=10 insns=30 baseline=b baseline_insns=10",
                "a field's value is empty or malformed",
            ),
            (
                "kbench: measured name=a ops=+10 insns=30 baseline=b baseline_insns=10",
                "a count is not a decimal number",
            ),
            (
                "kbench: measured name=a ops=-1 insns=30 baseline=b baseline_insns=10",
                "a count is not a decimal number",
            ),
            (
                "kbench: measured name=a ops=0x10 insns=30 baseline=b baseline_insns=10",
                "a count is not a decimal number",
            ),
            (
                "kbench: measured name=a ops=10 insns=18446744073709551616 baseline=b baseline_insns=10",
                "a count is out of range",
            ),
            (
                "kbench: measured name=a ops=0 insns=30 baseline=b baseline_insns=10",
                "ops is zero",
            ),
            (
                "kbench: measured name=a ops=10 insns=30 baseline=b baseline_insns=10 extra=1",
                "unexpected text after the last field",
            ),
            (
                "kbench: measured name=a  ops=10 insns=30 baseline=b baseline_insns=10",
                "a field is missing or out of order",
            ),
            (
                "kbench: skipped name=a",
                "a field is missing or out of order",
            ),
            ("kbench: skipped name=a reason=", "the reason is empty"),
            ("kbench: failed name=a reason=  ", "the reason is empty"),
            (
                "kbench: failed reason=x name=a",
                "a field is missing or out of order",
            ),
            (
                "kbench: summary measured=1 skipped=0",
                "a field is missing or out of order",
            ),
            (
                "kbench: summary measured=1 skipped=0 failed=x",
                "a count is not a decimal number",
            ),
        ] {
            assert_eq!(parse_error(line), why, "{line}");
        }
    }

    #[test]
    fn summary_counts_each_kind() {
        let outcomes = [
            Outcome::Measured(measured(1, 1, 0)),
            Outcome::Skipped {
                name: "a",
                reason: "r",
            },
            Outcome::Measured(measured(1, 2, 0)),
            Outcome::Failed {
                name: "b",
                reason: "r",
            },
        ];
        assert_eq!(
            Summary::of(&outcomes),
            Summary {
                measured: 2,
                skipped: 1,
                failed: 1
            }
        );
        assert_eq!(Summary::of(&[]), Summary::default());
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let outcomes = [
            Outcome::Measured(Measurement {
                name: "call_disabled_site",
                ops: 10_000,
                insns: 90_012,
                baseline: "call_without_site",
                baseline_insns: 70_012,
            }),
            Outcome::Measured(measured(1000, 192_019, 2_012)),
            Outcome::Skipped {
                name: "stop_machine_4",
                reason: "needs 4 CPUs, 1 online",
            },
            Outcome::Failed {
                name: "a_benchmark_with_a_long_name",
                reason: "setup failed",
            },
        ];
        let mut table = String::new();
        write_table(&mut table, &outcomes).unwrap();
        assert_eq!(
            table,
            "\
NAME                            OPS    INSNS/OP  BASELINE           SUBTRACTED
call_disabled_site            10000           2  call_without_site       70012
brk_round_trip                 1000  190+7/1000  loop_without_brk         2012
stop_machine_4                skipped: needs 4 CPUs, 1 online
a_benchmark_with_a_long_name  FAILED: setup failed
"
        );
        let mut negative = String::new();
        write_table(&mut negative, &[Outcome::Measured(measured(2, 1, 3))]).unwrap();
        assert!(negative.lines().nth(1).unwrap().contains("  <0  "));
        let mut empty = String::new();
        write_table(&mut empty, &[]).unwrap();
        assert_eq!(empty, "NAME  OPS  INSNS/OP  BASELINE  SUBTRACTED\n");
    }
}
