//! The tracing error log (Linux: `tracing_log_err()` and the `error_log` file in
//! `kernel/trace/trace.c`): the last [`TRACING_LOG_ERRS_MAX`] errors of commands that report
//! one (a bad event filter, for a start), each with the time, where it happened, the command
//! and a caret under the offending character.
//!
//! What a read shows, per entry, byte for byte Linux's:
//!
//! ```text
//! [   12.345678] event filter parse error: error: Field not found
//!   Command: prev_pidd == 1
//!            ^
//! ```
//!
//! The caret stands `pos` characters into the command. Linux cuts nothing from the command
//! (since 6.0 it allocates what the command needs) but the location only, to
//! [`TRACING_LOG_LOC_MAX`] bytes with its `": error: "`.
//!
//! Writing with truncation (`echo > error_log`) empties the log, as Linux does on an `O_TRUNC`
//! open; any other write is accepted and changes nothing.
//!
//! The entries ([`ErrorLog`], [`ErrEntry`]) are plain data, host-tested; the kernel's one log,
//! its clock and its file are target-only.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// The most entries the log keeps; a new one then replaces the oldest (Linux's value).
pub const TRACING_LOG_ERRS_MAX: usize = 8;
/// The room for an entry's location text, its `": error: "` and a C string's NUL included.
pub const TRACING_LOG_LOC_MAX: usize = 128;
/// What goes before the command on an entry's second line.
const CMD_PREFIX: &str = "  Command: ";
/// Linux's `NSEC_PER_SEC`.
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// One logged error.
#[derive(Debug, PartialEq, Eq)]
pub struct ErrEntry {
    /// When, in nanoseconds since boot (Linux: `local_clock()`).
    ts_ns: u64,
    /// `"LOC: error: "`, cut to fit [`TRACING_LOG_LOC_MAX`].
    loc: String,
    /// The command as written.
    cmd: String,
    /// The error text.
    err: &'static str,
    /// How many characters into the command the caret stands.
    pos: u16,
}

impl ErrEntry {
    /// The entry for error `errs[err_type]` at `pos` in `cmd`, seen in `loc` at `ts_ns`.
    /// `None` when `err_type` is not an index of `errs` or the memory for the texts cannot be
    /// had: an error log never fails the command it reports on. `pos` is Linux's `u16`; a
    /// larger one stands at the end of the range.
    pub fn try_new(
        ts_ns: u64,
        loc: &str,
        cmd: &str,
        errs: &'static [&'static str],
        err_type: usize,
        pos: usize,
    ) -> Option<Self> {
        let err = *errs.get(err_type)?;
        let mut full_loc = String::new();
        full_loc
            .try_reserve_exact(loc.len() + ": error: ".len())
            .ok()?;
        full_loc.push_str(loc);
        full_loc.push_str(": error: ");
        truncate_at_char(&mut full_loc, TRACING_LOG_LOC_MAX - 1);
        let mut owned_cmd = String::new();
        owned_cmd.try_reserve_exact(cmd.len()).ok()?;
        owned_cmd.push_str(cmd);
        Some(Self {
            ts_ns,
            loc: full_loc,
            cmd: owned_cmd,
            err,
            pos: u16::try_from(pos).unwrap_or(u16::MAX),
        })
    }

    /// The entry's three lines, as `error_log` shows them.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        let secs = self.ts_ns / NSEC_PER_SEC;
        let usecs = self.ts_ns % NSEC_PER_SEC / 1000;
        writeln!(w, "[{secs:5}.{usecs:06}] {}{}", self.loc, self.err)?;
        writeln!(w, "{CMD_PREFIX}{}", self.cmd)?;
        let indent = CMD_PREFIX.len() + usize::from(self.pos);
        writeln!(w, "{:indent$}^", "")
    }
}

/// `s` cut to at most `max` bytes, on a character boundary (Linux's `snprintf` cuts bytes).
fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
    }
}

/// The log: at most [`TRACING_LOG_ERRS_MAX`] entries, oldest first. A plain `Vec`: with so few
/// entries, moving them down when the oldest goes costs nothing worth a ring.
#[derive(Debug, Default)]
pub struct ErrorLog {
    entries: Vec<ErrEntry>,
}

impl ErrorLog {
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Adds `entry`, dropping the oldest when the log is full. The room for all entries is
    /// taken on the first one; if it cannot be had, `entry` is dropped instead.
    pub fn add(&mut self, entry: ErrEntry) {
        let room = TRACING_LOG_ERRS_MAX - self.entries.len();
        if self.entries.try_reserve_exact(room).is_err() {
            return;
        }
        if self.entries.len() == TRACING_LOG_ERRS_MAX {
            self.entries.remove(0);
        }
        self.entries.push(entry);
    }

    /// Empties the log (Linux: `clear_tracing_err_log`).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, oldest first, as `error_log` shows them.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        self.entries.iter().try_for_each(|entry| entry.show(w))
    }
}

#[cfg(target_os = "none")]
mod global {
    use core::fmt::Write;

    use spin::Mutex;

    use super::{ErrEntry, ErrorLog};
    use crate::fs::{self, Errno, WriteMode};
    use crate::tracefs::create_file;

    /// The kernel's log (Linux keeps one per trace instance; we have the top one only).
    static LOG: Mutex<ErrorLog> = Mutex::new(ErrorLog::new());

    /// Logs error `errs[err_type]` of command `cmd`, the caret `pos` characters in, seen in
    /// `loc` (`"event filter parse error"`, ...), stamped now. Never fails: an entry that
    /// cannot be stored is dropped.
    pub fn tracing_log_err(
        loc: &str,
        cmd: &str,
        errs: &'static [&'static str],
        err_type: usize,
        pos: usize,
    ) {
        let ts_ns = arch::timer::cycles_to_ns(arch::timer::counter_now());
        // Built before the lock is taken: allocation stays out of the critical section.
        if let Some(entry) = ErrEntry::try_new(ts_ns, loc, cmd, errs, err_type, pos) {
            LOG.lock().add(entry);
        }
    }

    /// Empties the log.
    pub fn clear() {
        LOG.lock().clear();
    }

    fn read_error_log(w: &mut dyn Write) -> Result<(), Errno> {
        Ok(LOG.lock().show(w)?)
    }

    /// Linux clears on an `O_TRUNC` open and accepts (ignores) the data of any write.
    fn write_error_log(mode: WriteMode) -> Result<(), Errno> {
        if mode == WriteMode::Truncate {
            clear();
        }
        Ok(())
    }

    /// Creates `error_log` under `tracefs`.
    pub fn init(tracefs: &str) {
        create_file(
            &alloc::format!("{tracefs}/error_log"),
            fs::read_write(read_error_log, |_, mode| write_error_log(mode)),
        );
    }
}

#[cfg(target_os = "none")]
pub use global::{clear, init, tracing_log_err};

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const ERRS: &[&str] = &["Field not found", "Missing field name and/or value"];

    fn entry(ts_ns: u64, cmd: &str, err_type: usize, pos: usize) -> ErrEntry {
        ErrEntry::try_new(ts_ns, "event filter parse error", cmd, ERRS, err_type, pos).unwrap()
    }

    fn shown(e: &ErrEntry) -> String {
        let mut out = String::new();
        e.show(&mut out).unwrap();
        out
    }

    #[test]
    fn entry_shows_as_linux_prints_it() {
        let e = entry(12_345_678_901, "prev_pidd == 1", 0, 0);
        assert_eq!(
            shown(&e),
            "[   12.345678] event filter parse error: error: Field not found\n  \
             Command: prev_pidd == 1\n           ^\n"
        );
    }

    #[test]
    fn entry_matches_linux_6_12_output() {
        // Linux 6.12 after `echo 'traceoff if prev_pid ==' > events/sched/sched_switch/trigger`.
        const ERR: &[&str] = &["Invalid value (did you forget quotes)?"];
        let e = ErrEntry::try_new(
            21_709_942_123,
            "event filter parse error",
            "prev_pid ==",
            ERR,
            0,
            12,
        )
        .unwrap();
        assert_eq!(
            shown(&e),
            "[   21.709942] event filter parse error: error: Invalid value (did you forget \
             quotes)?\n  Command: prev_pid ==\n                       ^\n"
        );
    }

    #[test]
    fn caret_stands_pos_characters_into_the_command() {
        let e = entry(0, "prev_pid == 1 && x", 0, 17);
        let out = shown(&e);
        let lines: std::vec::Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "  Command: prev_pid == 1 && x");
        assert_eq!(lines[2].find('^'), lines[1].find('x'));
        assert_eq!(lines[2].trim_start(), "^");
    }

    #[test]
    fn timestamp_pads_seconds_to_five_and_cuts_to_microseconds() {
        let first_line = |ts| {
            shown(&entry(ts, "c", 1, 0))
                .lines()
                .next()
                .unwrap()
                .to_string()
        };
        assert!(first_line(0).starts_with("[    0.000000] "));
        assert!(first_line(999).starts_with("[    0.000000] "));
        assert!(first_line(1_000).starts_with("[    0.000001] "));
        assert!(first_line(123_456_999_999).starts_with("[  123.456999] "));
        assert!(first_line(123_456_000_000_000).starts_with("[123456.000000] "));
        assert!(first_line(0).ends_with("error: Missing field name and/or value"));
    }

    #[test]
    fn location_is_cut_to_linux_room_but_command_is_not() {
        let long_loc = "l".repeat(200);
        let long_cmd = "c".repeat(5000);
        let e = ErrEntry::try_new(0, &long_loc, &long_cmd, ERRS, 0, 4999).unwrap();
        assert_eq!(e.loc.len(), TRACING_LOG_LOC_MAX - 1);
        assert!(e.loc.chars().all(|c| c == 'l'));
        assert_eq!(e.cmd, long_cmd);
        let out = shown(&e);
        assert_eq!(
            out.lines().nth(2).unwrap().len(),
            CMD_PREFIX.len() + 4999 + 1
        );
        // Multi-byte text is cut on a character boundary.
        let e = ErrEntry::try_new(0, &"é".repeat(100), "c", ERRS, 0, 0).unwrap();
        assert!(e.loc.len() < TRACING_LOG_LOC_MAX);
        assert!(e.loc.chars().all(|c| c == 'é'));
    }

    #[test]
    fn position_saturates_at_u16() {
        let e = entry(0, "c", 0, 1 << 20);
        assert_eq!(e.pos, u16::MAX);
    }

    #[test]
    fn unknown_error_type_is_not_logged() {
        assert!(ErrEntry::try_new(0, "loc", "cmd", ERRS, ERRS.len(), 0).is_none());
    }

    #[test]
    fn log_keeps_the_newest_eight_in_order() {
        let mut log = ErrorLog::new();
        assert!(log.is_empty());
        for i in 0..TRACING_LOG_ERRS_MAX + 5 {
            log.add(entry(
                i as u64 * NSEC_PER_SEC,
                &std::format!("cmd{i}"),
                0,
                0,
            ));
            assert_eq!(log.len(), (i + 1).min(TRACING_LOG_ERRS_MAX));
        }
        let mut out = String::new();
        log.show(&mut out).unwrap();
        let cmds: std::vec::Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("  Command: "))
            .collect();
        let want: std::vec::Vec<String> = (5..TRACING_LOG_ERRS_MAX + 5)
            .map(|i| std::format!("cmd{i}"))
            .collect();
        assert_eq!(cmds, want);
        assert!(out.starts_with("[    5.000000] "));
        assert_eq!(out.lines().count(), 3 * TRACING_LOG_ERRS_MAX);
    }

    #[test]
    fn storage_is_taken_once_and_stays_bounded() {
        let mut log = ErrorLog::new();
        log.add(entry(0, "x", 0, 0));
        let capacity = log.entries.capacity();
        assert_eq!(capacity, TRACING_LOG_ERRS_MAX);
        for i in 0..3 * TRACING_LOG_ERRS_MAX {
            log.add(entry(i as u64, "x", 0, 0));
        }
        assert_eq!(log.entries.capacity(), capacity);
    }

    #[test]
    fn clear_empties_and_the_log_fills_again() {
        let mut log = ErrorLog::new();
        for i in 0..3 {
            log.add(entry(i, "x", 0, 0));
        }
        log.clear();
        assert!(log.is_empty());
        let mut out = String::new();
        log.show(&mut out).unwrap();
        assert_eq!(out, "");
        log.add(entry(7, "again", 1, 2));
        log.show(&mut out).unwrap();
        assert_eq!(
            out,
            "[    0.000000] event filter parse error: error: Missing field name and/or value\n  \
             Command: again\n             ^\n"
        );
    }
}
