//! The grammar and semantics of the function filter files `set_ftrace_filter`,
//! `set_ftrace_notrace`, `set_graph_function` and `set_graph_notrace` (Linux's
//! `ftrace_regex_write()`, `ftrace_process_regex()`, `match_records()`,
//! `ftrace_graph_set_hash()` and the function probe commands of `trace_functions.c`).
//!
//! This module is pure data: [`FilterState::write`] takes the current state, the traceable
//! functions (in `available_filter_functions` order) and one write, and returns the new state
//! or an error; the caller swaps the result in (and re-patches call sites) under its own lock.
//! [`FilterState::show`] prints a file's read-back. Nothing here touches the record table or
//! the text, so it is tested on the host with a fake function list.
//!
//! Grammar of one write: words separated by whitespace (C's `isspace`). Each word is
//! - `GLOB`: add every function whose whole name matches ([`crate::glob::Pattern`]);
//! - `N` (first character a digit, parsed as C's `kstrtoul(.., 0)`: decimal, `0x` hex,
//!   leading-`0` octal): add line `N` of `available_filter_functions`, counting from 1
//!   (`set_ftrace_filter` and `set_ftrace_notrace` only: Linux's graph files match an index
//!   against no name, so it is an error there);
//! - `!GLOB` or `!N`: remove those functions instead;
//! - `GLOB:CMD[:COUNT]` with `CMD` one of `traceon`, `traceoff`, `stacktrace`: attach a
//!   function probe (`set_ftrace_filter` only); `COUNT` as `kstrtoul`, anything after a
//!   further `:` ignored, as in Linux;
//! - `!GLOB:CMD` removes the unlimited probe `CMD` from the matching functions,
//!   `!GLOB:CMD:ANYTHING` the counted one (Linux keeps them as separate probes); `!*:CMD` or
//!   `!:CMD` removes it everywhere.
//!
//! Function names here are Rust paths (`kernel::workload::fib`), so `::` belongs to the name:
//! the command separator is a `:` with no `:` on either side. Runs of three or more colons
//! are part of the name (and so match nothing).
//!
//! Semantics, as Linux:
//! - a glob or index that matches no function is `EINVAL`; for the filter files a `!` word
//!   only has to match a function, for the graph files it must actually remove one
//!   (`ftrace_graph_set_hash()`);
//! - `>` ([`WriteMode::Truncate`]) empties the function set first, even for an empty or
//!   all-blank write; it never removes probes, which only `!` words remove;
//! - a probe word that matches nothing, or only functions that already carry that probe, is
//!   `EINVAL`; removing a probe kind that is not registered is `ENODEV`; a command on any
//!   file but `set_ftrace_filter`, or an unknown command, is `EINVAL`; a malformed count is
//!   `EINVAL` and an overflowing one `ERANGE` (`kstrtoul`).
//!
//! Two deliberate differences from Linux:
//! - A write is atomic. Linux truncates at `open()` and applies each word as it is parsed, so
//!   `echo 'fib nosuch' > set_ftrace_filter` leaves just `fib` (and a failing truncating
//!   write leaves the filter empty); here any error leaves the old state untouched. The error
//!   carries the byte offset of the offending word.
//! - `FUNC:CMD:` (an empty count) is the unlimited probe. Linux registers a counted probe with
//!   count -1 there, which reads back as `count=-1` and never fires for `traceon`/`traceoff`.
//!
//! Linux does not report these errors in `error_log` (only the return code); [`FilterError`]
//! still says which word failed and why, for a caller that wants to.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::fs::{Errno, WriteMode};
use crate::glob::Pattern;

/// One traceable function: a line of `available_filter_functions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncRecord<'a> {
    /// The patch-site address the function set holds (`rec->ip`).
    pub ip: u64,
    /// The name printed on that line and matched by globs.
    pub name: &'a str,
}

/// Which of the four filter files a write or read is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterFile {
    /// `set_ftrace_filter`: functions to trace, plus the function probes.
    Filter,
    /// `set_ftrace_notrace`: functions never to trace.
    Notrace,
    /// `set_graph_function`: functions whose calls function_graph traces.
    GraphFunction,
    /// `set_graph_notrace`: functions whose calls function_graph skips.
    GraphNotrace,
}

impl FilterFile {
    /// The file's name in tracefs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Filter => "set_ftrace_filter",
            Self::Notrace => "set_ftrace_notrace",
            Self::GraphFunction => "set_graph_function",
            Self::GraphNotrace => "set_graph_notrace",
        }
    }

    /// What an empty function set reads as (`t_show()` / `g_show()`).
    fn empty_line(self) -> &'static str {
        match self {
            Self::Filter | Self::GraphFunction => "#### all functions enabled ####",
            Self::Notrace | Self::GraphNotrace => "#### no functions disabled ####",
        }
    }

    fn is_graph(self) -> bool {
        matches!(self, Self::GraphFunction | Self::GraphNotrace)
    }
}

/// A function probe command (Linux's `ftrace_func_command`s of `trace_functions.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeCommand {
    /// `traceon`: turn the ring buffer on when the function is hit.
    Traceon,
    /// `traceoff`: turn the ring buffer off when the function is hit.
    Traceoff,
    /// `stacktrace`: record a stack trace when the function is hit.
    Stacktrace,
}

impl ProbeCommand {
    /// Every command, in Linux's README order.
    pub const ALL: [ProbeCommand; 3] = [Self::Traceon, Self::Traceoff, Self::Stacktrace];

    /// The command's name, as written and read back.
    pub fn name(self) -> &'static str {
        match self {
            Self::Traceon => "traceon",
            Self::Traceoff => "traceoff",
            Self::Stacktrace => "stacktrace",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|cmd| cmd.name() == name)
    }

    /// Whether a hit should act, updating the count left (`None`: unlimited), given whether
    /// the ring buffer is on. As Linux: `traceon`/`traceoff` act, and spend one count, only
    /// when they change the state, and stop at a count of zero or below; `stacktrace` acts
    /// only while tracing is on and stops at exactly zero.
    pub fn fire(self, count: &mut Option<i64>, tracing_on: bool) -> bool {
        let changes_state = match self {
            Self::Traceon => !tracing_on,
            Self::Traceoff | Self::Stacktrace => tracing_on,
        };
        if !changes_state {
            return false;
        }
        let Some(left) = count else {
            return true;
        };
        let exhausted = match self {
            Self::Traceon | Self::Traceoff => *left <= 0,
            Self::Stacktrace => *left == 0,
        };
        if exhausted {
            return false;
        }
        *left = left.wrapping_sub(1);
        true
    }
}

/// A probe kind: Linux registers the unlimited and the counted form of a command as two
/// separate `ftrace_probe_ops`, each with its own function set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProbeKind {
    command: ProbeCommand,
    counted: bool,
}

/// One registered probe kind and the functions it is attached to, each with its count left
/// (`None` for the unlimited kind).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Probe {
    kind: ProbeKind,
    entries: BTreeMap<u64, Option<i64>>,
}

/// One probe on one function, as read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeEntry {
    /// The function's patch-site address.
    pub ip: u64,
    /// What the probe does.
    pub command: ProbeCommand,
    /// Count left, `None` when unlimited.
    pub count: Option<i64>,
}

/// The contents of one filter file: a set of functions and, for `set_ftrace_filter`, the
/// function probes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterState {
    ips: BTreeSet<u64>,
    /// Newest kind first, as Linux's `list_add()` puts a new probe at the head of
    /// `tr->func_probes`, which is the order the file lists them in.
    probes: Vec<Probe>,
}

/// Why a word was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterErrorKind {
    /// The word is not valid UTF-8, so it can name no function.
    NotUtf8,
    /// The glob or index matches no function (for a graph file's `!`: none was in the set).
    NoMatch,
    /// Every matching function already carries this probe.
    NothingAdded,
    /// `CMD` is not a known command.
    UnknownCommand,
    /// Commands work only in `set_ftrace_filter`.
    CommandNotAllowed,
    /// The count is not a number.
    BadCount,
    /// The count does not fit in an unsigned long.
    CountOverflow,
    /// `!FUNC:CMD` for a probe kind that is not registered.
    NoSuchProbe,
}

/// A refused write: the byte offset and length of the word at fault, and why. The state is
/// unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset of the word in the written data (for an `error_log` caret).
    pub pos: usize,
    /// Length of the word in bytes.
    pub len: usize,
    /// What was wrong with it.
    pub kind: FilterErrorKind,
}

impl FilterError {
    /// The code Linux returns for this error.
    pub fn errno(&self) -> Errno {
        match self.kind {
            FilterErrorKind::NoSuchProbe => Errno::ENODEV,
            FilterErrorKind::CountOverflow => Errno::ERANGE,
            _ => Errno::EINVAL,
        }
    }

    /// A short description, for a log line.
    pub fn message(&self) -> &'static str {
        match self.kind {
            FilterErrorKind::NotUtf8 => "Invalid UTF-8 in function name",
            FilterErrorKind::NoMatch => "No matching function",
            FilterErrorKind::NothingAdded => "Probe already set on the matching functions",
            FilterErrorKind::UnknownCommand => "Unknown command",
            FilterErrorKind::CommandNotAllowed => "Commands only work in set_ftrace_filter",
            FilterErrorKind::BadCount => "Invalid count",
            FilterErrorKind::CountOverflow => "Count out of range",
            FilterErrorKind::NoSuchProbe => "No such probe registered",
        }
    }
}

/// C's `isspace()` in the "C" locale, which `trace_get_user()` splits words on (unlike
/// `u8::is_ascii_whitespace`, it includes the vertical tab).
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The words of `data` with their byte offsets.
fn words(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = 0;
    core::iter::from_fn(move || {
        while pos < data.len() && is_c_space(data[pos]) {
            pos += 1;
        }
        let start = pos;
        while pos < data.len() && !is_c_space(data[pos]) {
            pos += 1;
        }
        (pos > start).then(|| (start, &data[start..pos]))
    })
}

/// C's `kstrtoul(s, 0, ..)`: optional `+`, then `0x` hex, leading-`0` octal or decimal, and
/// nothing after the digits.
pub(crate) fn kstrtoul(s: &str) -> Result<u64, FilterErrorKind> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None if s.len() > 1 && s.starts_with('0') => (&s[1..], 8),
        None => (s, 10),
    };
    if digits.is_empty() {
        return Err(FilterErrorKind::BadCount);
    }
    digits.bytes().try_fold(0u64, |value, byte| {
        let digit = char::from(byte)
            .to_digit(radix)
            .ok_or(FilterErrorKind::BadCount)?;
        value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or(FilterErrorKind::CountOverflow)
    })
}

/// Splits `word` at its first lone `:` (one with no `:` on either side) into the function
/// part and what follows.
fn split_command(word: &str) -> Option<(&str, &str)> {
    let bytes = word.as_bytes();
    let lone = |i: usize| {
        bytes[i] == b':'
            && (i == 0 || bytes[i - 1] != b':')
            && bytes.get(i + 1).is_none_or(|&b| b != b':')
    };
    let at = (0..bytes.len()).find(|&i| lone(i))?;
    Some((&word[..at], &word[at + 1..]))
}

/// How a word selects functions: Linux's `filter_parse_regex()` plus `MATCH_INDEX`.
enum Selector<'a> {
    /// Line `N` of `available_filter_functions`, counting from 1 (`None`: not a valid
    /// number, which selects nothing).
    Index(Option<u64>),
    Glob(Pattern<'a>),
}

impl<'a> Selector<'a> {
    fn parse(search: &'a str) -> Self {
        if search.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            Selector::Index(kstrtoul(search).ok())
        } else {
            Selector::Glob(Pattern::parse(search))
        }
    }

    /// The matching functions, in list order. Graph files and probe removal match an index
    /// against names, which never succeeds, as in Linux.
    fn select<'f>(
        &self,
        funcs: &'f [FuncRecord<'f>],
        index_allowed: bool,
    ) -> impl Iterator<Item = &'f FuncRecord<'f>> {
        let by_index = match self {
            Selector::Index(Some(n)) if index_allowed => usize::try_from(*n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| funcs.get(i)),
            _ => None,
        };
        let glob = match self {
            Selector::Glob(pattern) => Some(*pattern),
            Selector::Index(_) => None,
        };
        by_index.into_iter().chain(
            funcs
                .iter()
                .filter(move |f| glob.is_some_and(|p| p.matches(f.name))),
        )
    }
}

impl FilterState {
    /// An empty file.
    pub const fn new() -> Self {
        Self {
            ips: BTreeSet::new(),
            probes: Vec::new(),
        }
    }

    /// The function set (patch-site addresses). Empty means "all functions" for
    /// `set_ftrace_filter`/`set_graph_function` and "none" for the notrace files.
    pub fn ips(&self) -> &BTreeSet<u64> {
        &self.ips
    }

    /// Whether the function set is empty.
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty()
    }

    /// Whether `ip` is in the function set.
    pub fn contains(&self, ip: u64) -> bool {
        self.ips.contains(&ip)
    }

    /// Every function that carries at least one probe: the set the probe callback's own
    /// `ftrace_ops` must be attached to.
    pub fn probe_ips(&self) -> BTreeSet<u64> {
        self.probes
            .iter()
            .flat_map(|probe| probe.entries.keys().copied())
            .collect()
    }

    /// Every probe: newest probe kind first, then by function address (which is
    /// `available_filter_functions` order, that list being sorted by address).
    pub fn probes(&self) -> impl Iterator<Item = ProbeEntry> + '_ {
        self.probes.iter().flat_map(|probe| {
            probe.entries.iter().map(move |(&ip, &count)| ProbeEntry {
                ip,
                command: probe.kind.command,
                count,
            })
        })
    }

    /// The probes on `ip`, with their counts to update through [`ProbeCommand::fire`].
    pub fn probes_at(
        &mut self,
        ip: u64,
    ) -> impl Iterator<Item = (ProbeCommand, &mut Option<i64>)> + '_ {
        self.probes
            .iter_mut()
            .filter_map(move |probe| Some((probe.kind.command, probe.entries.get_mut(&ip)?)))
    }

    /// Applies one write to `file` and returns the new contents; `self` is never changed.
    /// `funcs` is `available_filter_functions`, in its order.
    pub fn write(
        &self,
        file: FilterFile,
        funcs: &[FuncRecord<'_>],
        data: &[u8],
        mode: WriteMode,
    ) -> Result<FilterState, FilterError> {
        let mut next = self.clone();
        if mode == WriteMode::Truncate {
            next.ips.clear();
        }
        for (pos, word) in words(data) {
            let fail = |kind| FilterError {
                pos,
                len: word.len(),
                kind,
            };
            let word = core::str::from_utf8(word).map_err(|_| fail(FilterErrorKind::NotUtf8))?;
            next.apply_word(file, funcs, word).map_err(fail)?;
        }
        Ok(next)
    }

    /// Linux's `ftrace_process_regex()` for one word.
    fn apply_word(
        &mut self,
        file: FilterFile,
        funcs: &[FuncRecord<'_>],
        word: &str,
    ) -> Result<(), FilterErrorKind> {
        // The graph files take every word as a pattern: a command there is a name no
        // function has.
        let command = if file.is_graph() {
            None
        } else {
            split_command(word)
        };
        let Some((func, rest)) = command else {
            return self.apply_functions(file, funcs, word);
        };
        let (name, param) = match rest.split_once(':') {
            Some((name, param)) => (name, Some(param)),
            None => (rest, None),
        };
        let command = ProbeCommand::parse(name).ok_or(FilterErrorKind::UnknownCommand)?;
        if file != FilterFile::Filter {
            return Err(FilterErrorKind::CommandNotAllowed);
        }
        // Only the first field of the parameter is the count; Linux ignores the rest.
        let count = param.and_then(|p| p.split(':').next()).unwrap_or("");
        let kind = ProbeKind {
            command,
            counted: !count.is_empty(),
        };
        match func.strip_prefix('!') {
            Some(glob) => self.unregister_probe(kind, funcs, glob),
            None if count.is_empty() => self.register_probe(kind, funcs, func, None),
            // `as`: Linux keeps the unsigned long in a long, so huge counts read back negative.
            None => self.register_probe(kind, funcs, func, Some(kstrtoul(count)? as i64)),
        }
    }

    /// Adds or removes the functions a plain word selects (`match_records()` for the filter
    /// files, `ftrace_graph_set_hash()` for the graph files).
    fn apply_functions(
        &mut self,
        file: FilterFile,
        funcs: &[FuncRecord<'_>],
        word: &str,
    ) -> Result<(), FilterErrorKind> {
        let (remove, search) = match word.strip_prefix('!') {
            Some(search) => (true, search),
            None => (false, word),
        };
        let mut found = false;
        for func in Selector::parse(search).select(funcs, !file.is_graph()) {
            if !remove {
                self.ips.insert(func.ip);
                found = true;
            } else if self.ips.remove(&func.ip) || !file.is_graph() {
                found = true;
            }
        }
        found.then_some(()).ok_or(FilterErrorKind::NoMatch)
    }

    /// `register_ftrace_function_probe()`: attaches `kind` to the functions `glob` selects.
    fn register_probe(
        &mut self,
        kind: ProbeKind,
        funcs: &[FuncRecord<'_>],
        glob: &str,
        count: Option<i64>,
    ) -> Result<(), FilterErrorKind> {
        let selected: Vec<u64> = Selector::parse(glob)
            .select(funcs, true)
            .map(|f| f.ip)
            .collect();
        if selected.is_empty() {
            return Err(FilterErrorKind::NoMatch);
        }
        let slot = match self.probes.iter().position(|p| p.kind == kind) {
            Some(slot) => slot,
            None => {
                self.probes.insert(
                    0,
                    Probe {
                        kind,
                        entries: BTreeMap::new(),
                    },
                );
                0
            }
        };
        let entries = &mut self.probes[slot].entries;
        let mut added = false;
        for ip in selected {
            if let alloc::collections::btree_map::Entry::Vacant(entry) = entries.entry(ip) {
                entry.insert(count);
                added = true;
            }
        }
        // The caller discards this whole state on error, so a probe kind created just now
        // needs no clean-up.
        added.then_some(()).ok_or(FilterErrorKind::NothingAdded)
    }

    /// `unregister_ftrace_function_probe_func()`: detaches `kind` from the functions whose
    /// names match `glob` (all of them for an empty glob or `*`).
    fn unregister_probe(
        &mut self,
        kind: ProbeKind,
        funcs: &[FuncRecord<'_>],
        glob: &str,
    ) -> Result<(), FilterErrorKind> {
        // A second `!` is not supported (Linux warns and refuses before looking the kind up).
        if glob.starts_with('!') {
            return Err(FilterErrorKind::NoMatch);
        }
        let probe = self
            .probes
            .iter_mut()
            .find(|p| p.kind == kind)
            .ok_or(FilterErrorKind::NoSuchProbe)?;
        let victims: Vec<u64> = if glob.is_empty() || glob == "*" {
            probe.entries.keys().copied().collect()
        } else {
            Selector::parse(glob)
                .select(funcs, false)
                .map(|f| f.ip)
                .filter(|ip| probe.entries.contains_key(ip))
                .collect()
        };
        if victims.is_empty() {
            return Err(FilterErrorKind::NoMatch);
        }
        for ip in victims {
            probe.entries.remove(&ip);
        }
        self.drop_empty_probes();
        Ok(())
    }

    /// A probe kind with no functions left is unregistered (`release_probe()`), so a later
    /// registration puts it back at the head of the list.
    fn drop_empty_probes(&mut self) {
        self.probes.retain(|p| !p.entries.is_empty());
    }

    /// Prints `file`'s read-back: the functions in list order, one per line, or the empty
    /// line (`#### all functions enabled ####`, or `#### no functions disabled ####` for the
    /// notrace files); then, for `set_ftrace_filter`, one line per probe,
    /// `NAME:CMD:unlimited` or `NAME:CMD:count=N`.
    pub fn show(
        &self,
        file: FilterFile,
        funcs: &[FuncRecord<'_>],
        out: &mut dyn Write,
    ) -> fmt::Result {
        if self.ips.is_empty() {
            writeln!(out, "{}", file.empty_line())?;
        }
        for func in funcs.iter().filter(|f| self.ips.contains(&f.ip)) {
            writeln!(out, "{}", func.name)?;
        }
        if file != FilterFile::Filter {
            return Ok(());
        }
        for probe in &self.probes {
            for func in funcs {
                let Some(count) = probe.entries.get(&func.ip) else {
                    continue;
                };
                write!(out, "{}:{}", func.name, probe.kind.command.name())?;
                match count {
                    Some(left) => writeln!(out, ":count={left}")?,
                    None => writeln!(out, ":unlimited")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    use FilterErrorKind as K;
    use FilterFile::{Filter, GraphFunction, GraphNotrace, Notrace};
    use WriteMode::{Append, Truncate};

    const NAMES: [&str; 20] = [
        "kernel::boot::kmain",
        "kernel::sched::schedule",
        "kernel::sched::pick_next_task",
        "kernel::sched::spawn",
        "kernel::irq::handle_irq",
        "kernel::shell::run",
        "kernel::shell::parse_line",
        "kernel::workload::leaf",
        "kernel::workload::fib",
        "kernel::workload::fib2",
        "kernel::workload::nested",
        "kernel::workload::nested_inner",
        "kernel::fs::vfs::Vfs::read",
        "kernel::fs::vfs::Vfs::write",
        "kernel::glob::glob_match",
        "kernel::console::putc",
        "arch::timer::trace_clock_ns",
        "arch::gic::ack",
        "arch::gic::eoi",
        "memcpy",
    ];

    /// Addresses ascending, as the record table is.
    fn funcs() -> Vec<FuncRecord<'static>> {
        NAMES
            .iter()
            .enumerate()
            .map(|(i, &name)| FuncRecord {
                ip: 0x4008_0004 + 0x100 * i as u64,
                name,
            })
            .collect()
    }

    fn ip_of(name: &str) -> u64 {
        funcs().iter().find(|f| f.name == name).unwrap().ip
    }

    fn apply(
        state: &FilterState,
        file: FilterFile,
        data: &str,
        mode: WriteMode,
    ) -> Result<FilterState, FilterError> {
        state.write(file, &funcs(), data.as_bytes(), mode)
    }

    /// Writes that must succeed, in sequence, starting from empty.
    fn run(file: FilterFile, writes: &[(&str, WriteMode)]) -> FilterState {
        writes
            .iter()
            .fold(FilterState::new(), |state, &(data, mode)| {
                apply(&state, file, data, mode).unwrap_or_else(|e| panic!("{data:?}: {e:?}"))
            })
    }

    fn show(state: &FilterState, file: FilterFile) -> String {
        let mut out = String::new();
        state.show(file, &funcs(), &mut out).unwrap();
        out
    }

    fn names(state: &FilterState) -> Vec<&'static str> {
        funcs()
            .into_iter()
            .filter(|f| state.contains(f.ip))
            .map(|f| f.name)
            .collect()
    }

    /// A write that must fail with `kind` at byte `pos` and leave `state` as it was.
    fn refused(state: &FilterState, file: FilterFile, data: &[u8], pos: usize, kind: K) {
        for mode in [Truncate, Append] {
            let err = state
                .write(file, &funcs(), data, mode)
                .expect_err(&alloc::format!("{data:?} must fail"));
            assert_eq!((err.pos, err.kind), (pos, kind), "{data:?}");
        }
    }

    #[test]
    fn empty_read_backs() {
        let empty = FilterState::new();
        assert_eq!(show(&empty, Filter), "#### all functions enabled ####\n");
        assert_eq!(
            show(&empty, GraphFunction),
            "#### all functions enabled ####\n"
        );
        assert_eq!(show(&empty, Notrace), "#### no functions disabled ####\n");
        assert_eq!(
            show(&empty, GraphNotrace),
            "#### no functions disabled ####\n"
        );
        assert!(empty.is_empty());
    }

    #[test]
    fn globs_select_whole_names() {
        let state = run(Filter, &[("*fib*", Truncate)]);
        assert_eq!(
            names(&state),
            ["kernel::workload::fib", "kernel::workload::fib2"]
        );
        assert_eq!(
            show_filter(&state),
            "kernel::workload::fib\nkernel::workload::fib2\n"
        );
        let state = run(Filter, &[("kernel::workload::fib", Truncate)]);
        assert_eq!(
            names(&state),
            ["kernel::workload::fib"],
            "full match, not prefix"
        );
        let state = run(Filter, &[("*::fib?", Truncate)]);
        assert_eq!(names(&state), ["kernel::workload::fib2"]);
        let state = run(Filter, &[("arch::gic::[a-d]*", Truncate)]);
        assert_eq!(names(&state), ["arch::gic::ack"]);
        let state = run(Filter, &[("kernel::sched::*", Truncate)]);
        assert_eq!(state.ips().len(), 3);
        // A bare last component is not a name: globs see the whole path.
        refused(&state, Filter, b"fib", 0, K::NoMatch);
    }

    fn show_filter(state: &FilterState) -> String {
        show(state, Filter)
    }

    #[test]
    fn read_back_is_in_list_order_not_write_order() {
        let state = run(Filter, &[("memcpy kernel::boot::kmain *::leaf", Truncate)]);
        assert_eq!(
            show_filter(&state),
            "kernel::boot::kmain\nkernel::workload::leaf\nmemcpy\n"
        );
    }

    #[test]
    fn truncate_replaces_append_adds() {
        let state = run(Filter, &[("*fib", Truncate), ("*leaf", Append)]);
        assert_eq!(
            names(&state),
            ["kernel::workload::leaf", "kernel::workload::fib"]
        );
        let state = apply(&state, Filter, "memcpy", Truncate).unwrap();
        assert_eq!(names(&state), ["memcpy"]);
        let state = apply(&state, Filter, "memcpy", Append).unwrap();
        assert_eq!(names(&state), ["memcpy"], "adding twice keeps one entry");
    }

    #[test]
    fn empty_truncating_write_clears() {
        let state = run(Filter, &[("*workload*", Truncate)]);
        for blank in ["", "\n", " \t\n\x0b\x0c\r "] {
            let cleared = apply(&state, Filter, blank, Truncate).unwrap();
            assert!(cleared.is_empty(), "{blank:?}");
            assert_eq!(show_filter(&cleared), "#### all functions enabled ####\n");
            let kept = apply(&state, Filter, blank, Append).unwrap();
            assert_eq!(kept, state, "an empty append changes nothing");
        }
    }

    #[test]
    fn words_split_on_c_whitespace() {
        let state = run(
            Filter,
            &[("memcpy\tkernel::boot::kmain\x0barch::gic::ack\n", Truncate)],
        );
        assert_eq!(
            names(&state),
            ["kernel::boot::kmain", "arch::gic::ack", "memcpy"]
        );
    }

    #[test]
    fn bang_removes() {
        let state = run(
            Filter,
            &[("kernel::workload::*", Truncate), ("!*fib*", Append)],
        );
        assert_eq!(
            names(&state),
            [
                "kernel::workload::leaf",
                "kernel::workload::nested",
                "kernel::workload::nested_inner"
            ]
        );
        // In the filter files a `!` word only has to match a function, not a set member.
        let same = apply(&state, Filter, "!memcpy", Append).unwrap();
        assert_eq!(same, state);
        // Later words see earlier ones: add then remove in one write.
        let state = run(Filter, &[("*gic* !arch::gic::eoi", Truncate)]);
        assert_eq!(names(&state), ["arch::gic::ack"]);
    }

    #[test]
    fn index_selects_a_line_counting_from_one() {
        let state = run(Filter, &[("1", Truncate)]);
        assert_eq!(names(&state), [NAMES[0]]);
        let state = run(Filter, &[("20 9", Truncate)]);
        assert_eq!(names(&state), [NAMES[8], NAMES[19]]);
        // kstrtoul base 0: hex and octal.
        let state = run(Filter, &[("0x2 010", Truncate)]);
        assert_eq!(names(&state), [NAMES[1], NAMES[7]]);
        let state = run(Notrace, &[("3 4", Truncate), ("!3", Append)]);
        assert_eq!(names(&state), [NAMES[3]]);
        let empty = FilterState::new();
        refused(&empty, Filter, b"0", 0, K::NoMatch);
        refused(&empty, Filter, b"21", 0, K::NoMatch);
        refused(&empty, Filter, b"3abc", 0, K::NoMatch);
        refused(&empty, Filter, b"99999999999999999999999", 0, K::NoMatch);
        refused(&empty, Filter, b"09", 0, K::NoMatch);
    }

    #[test]
    fn graph_files_reject_indexes_and_commands() {
        let empty = FilterState::new();
        refused(&empty, GraphFunction, b"3", 0, K::NoMatch);
        refused(&empty, GraphNotrace, b"memcpy:traceoff", 0, K::NoMatch);
        let state = run(GraphFunction, &[("*nested*", Truncate)]);
        assert_eq!(
            show(&state, GraphFunction),
            "kernel::workload::nested\nkernel::workload::nested_inner\n"
        );
    }

    #[test]
    fn graph_bang_must_remove_something() {
        let state = run(GraphNotrace, &[("*fib*", Truncate)]);
        refused(&state, GraphNotrace, b"!memcpy", 0, K::NoMatch);
        let state = apply(&state, GraphNotrace, "!*fib2", Append).unwrap();
        assert_eq!(show(&state, GraphNotrace), "kernel::workload::fib\n");
        // Adding what is already there is fine.
        let again = apply(&state, GraphNotrace, "*::fib", Append).unwrap();
        assert_eq!(again, state);
    }

    #[test]
    fn no_match_is_refused_and_changes_nothing() {
        let state = run(Filter, &[("*fib*", Truncate)]);
        refused(&state, Filter, b"nosuch", 0, K::NoMatch);
        refused(&state, Filter, b"!nosuch", 0, K::NoMatch);
        // The whole write is refused, even the words before the bad one.
        refused(&state, Filter, b"memcpy  nosuch *leaf", 8, K::NoMatch);
        refused(&state, Notrace, b"kernel::workload", 0, K::NoMatch);
        let err = apply(&state, Filter, "memcpy nosuch", Truncate).unwrap_err();
        assert_eq!((err.pos, err.len, err.errno()), (7, 6, Errno::EINVAL));
        assert!(!err.message().is_empty());
    }

    #[test]
    fn malformed_words_never_panic_nor_change_state() {
        let state = run(Filter, &[("*leaf", Truncate), ("*fib:traceoff:3", Append)]);
        let cases: &[(&[u8], usize, K)] = &[
            (b"!", 0, K::NoMatch),
            (b"! !", 0, K::NoMatch),
            (b"[abc", 0, K::NoMatch),
            (b"kernel::[", 0, K::NoMatch),
            (b"*[", 0, K::NoMatch),
            (b"\\", 0, K::NoMatch),
            (b"memcpy:nosuchcmd", 0, K::UnknownCommand),
            (b"memcpy:", 0, K::UnknownCommand),
            (b":traceon", 0, K::NoMatch),
            (b"memcpy:traceon:abc", 0, K::BadCount),
            (b"memcpy:traceon:-1", 0, K::BadCount),
            (b"memcpy:traceon:0x", 0, K::BadCount),
            (
                b"memcpy:traceon:99999999999999999999999",
                0,
                K::CountOverflow,
            ),
            (b"memcpy \xff\xfe", 7, K::NotUtf8),
            (b"kernel:::fib", 0, K::NoMatch),
            (b"!!*fib:traceoff:3", 0, K::NoMatch),
            (b"\0", 0, K::NoMatch),
        ];
        for &(data, pos, kind) in cases {
            refused(&state, Filter, data, pos, kind);
        }
        let err = apply(&state, Filter, "x:traceon:99999999999999999999999", Append);
        assert_eq!(err.unwrap_err().errno(), Errno::ERANGE);
    }

    #[test]
    fn huge_input() {
        let state = run(Filter, &[("memcpy", Truncate)]);
        let long_word = "*".repeat(100_000) + "x";
        refused(&state, Filter, long_word.as_bytes(), 0, K::NoMatch);
        let mut many = "kernel::workload::leaf ".repeat(10_000);
        many.push_str("nosuch");
        refused(&state, Filter, many.as_bytes(), 230_000, K::NoMatch);
        let brackets = "[".repeat(50_000);
        refused(&state, Filter, brackets.as_bytes(), 0, K::NoMatch);
        let fine = apply(&state, Filter, &"*fib* ".repeat(10_000), Append).unwrap();
        assert_eq!(fine.ips().len(), 3);
    }

    #[test]
    fn notrace_is_separate_and_takes_no_commands() {
        let state = run(Notrace, &[("*gic*", Truncate)]);
        assert_eq!(show(&state, Notrace), "arch::gic::ack\narch::gic::eoi\n");
        refused(&state, Notrace, b"memcpy:traceoff", 0, K::CommandNotAllowed);
        refused(
            &state,
            Notrace,
            b"!memcpy:traceoff",
            0,
            K::CommandNotAllowed,
        );
        refused(&state, Notrace, b"memcpy:bogus", 0, K::UnknownCommand);
    }

    #[test]
    fn probe_read_back_formats() {
        let state = run(
            Filter,
            &[
                ("kernel::workload::fib:traceoff", Truncate),
                ("*leaf:traceon:5", Append),
                ("kernel::irq::handle_irq:stacktrace:0x10", Append),
            ],
        );
        assert!(state.is_empty(), "commands do not touch the function set");
        // Newest probe kind first; the empty-set line still comes first.
        assert_eq!(
            show_filter(&state),
            "#### all functions enabled ####\n\
             kernel::irq::handle_irq:stacktrace:count=16\n\
             kernel::workload::leaf:traceon:count=5\n\
             kernel::workload::fib:traceoff:unlimited\n"
        );
        let state = apply(&state, Filter, "memcpy", Append).unwrap();
        assert_eq!(
            show_filter(&state).lines().take(2).collect::<Vec<_>>(),
            ["memcpy", "kernel::irq::handle_irq:stacktrace:count=16"]
        );
        // Probes never show in the other files' read-back.
        assert_eq!(show(&state, Notrace), "memcpy\n");
    }

    #[test]
    fn probe_kinds_group_and_order() {
        let state = run(
            Filter,
            &[
                ("memcpy:traceon", Truncate),
                ("kernel::workload::leaf:traceoff", Append),
                ("kernel::boot::kmain:traceon", Append),
            ],
        );
        assert_eq!(
            show_filter(&state),
            "#### all functions enabled ####\n\
             kernel::workload::leaf:traceoff:unlimited\n\
             kernel::boot::kmain:traceon:unlimited\n\
             memcpy:traceon:unlimited\n"
        );
        let listed: Vec<_> = state.probes().map(|p| (p.ip, p.command, p.count)).collect();
        assert_eq!(
            listed,
            [
                (
                    ip_of("kernel::workload::leaf"),
                    ProbeCommand::Traceoff,
                    None
                ),
                (ip_of("kernel::boot::kmain"), ProbeCommand::Traceon, None),
                (ip_of("memcpy"), ProbeCommand::Traceon, None),
            ]
        );
        assert_eq!(
            state.probe_ips(),
            BTreeSet::from([
                ip_of("kernel::boot::kmain"),
                ip_of("kernel::workload::leaf"),
                ip_of("memcpy")
            ])
        );
    }

    #[test]
    fn probes_survive_truncate_and_leave_only_by_bang() {
        let state = run(Filter, &[("*fib*:traceoff:2", Truncate), ("*leaf", Append)]);
        let cleared = apply(&state, Filter, "", Truncate).unwrap();
        assert!(cleared.is_empty());
        assert_eq!(cleared.probes().count(), 2);
        // The counted kind is removed with any parameter, the unlimited kind without one.
        refused(&cleared, Filter, b"!*fib*:traceoff", 0, K::NoSuchProbe);
        let err = apply(&cleared, Filter, "!*fib*:traceoff", Append).unwrap_err();
        assert_eq!(err.errno(), Errno::ENODEV);
        let one = apply(
            &cleared,
            Filter,
            "!kernel::workload::fib:traceoff:0",
            Append,
        )
        .unwrap();
        assert_eq!(
            show_filter(&one),
            "#### all functions enabled ####\nkernel::workload::fib2:traceoff:count=2\n"
        );
        let none = apply(&one, Filter, "!*:traceoff:x", Append).unwrap();
        assert_eq!(none.probes().count(), 0);
        assert_eq!(show_filter(&none), "#### all functions enabled ####\n");
        // Once its last function goes, the kind is gone too.
        refused(&none, Filter, b"!*:traceoff:1", 0, K::NoSuchProbe);
    }

    #[test]
    fn bang_probe_forms() {
        let state = run(Filter, &[("*fib*:stacktrace *leaf:stacktrace", Truncate)]);
        let all = apply(&state, Filter, "!:stacktrace", Append).unwrap();
        assert_eq!(all.probes().count(), 0, "an empty glob removes everywhere");
        refused(&state, Filter, b"!memcpy:stacktrace", 0, K::NoMatch);
        refused(&state, Filter, b"!8:stacktrace", 0, K::NoMatch);
        let fewer = apply(&state, Filter, "!*2:stacktrace", Append).unwrap();
        assert_eq!(fewer.probes().count(), 2);
    }

    #[test]
    fn probe_registration_rules() {
        let state = run(Filter, &[("*fib*:traceon:3", Truncate)]);
        // Everything already there: nothing added.
        refused(
            &state,
            Filter,
            b"kernel::workload::fib:traceon:7",
            0,
            K::NothingAdded,
        );
        refused(&state, Filter, b"nosuch:traceon", 0, K::NoMatch);
        // Partly new: only the new function gets the new count.
        let state = apply(&state, Filter, "kernel::workload::*:traceon:7", Append).unwrap();
        assert_eq!(
            show_filter(&state),
            "#### all functions enabled ####\n\
             kernel::workload::leaf:traceon:count=7\n\
             kernel::workload::fib:traceon:count=3\n\
             kernel::workload::fib2:traceon:count=3\n\
             kernel::workload::nested:traceon:count=7\n\
             kernel::workload::nested_inner:traceon:count=7\n"
        );
        // The unlimited kind is separate, and an index selects for probes too.
        let state = apply(&state, Filter, "9:traceon", Append).unwrap();
        assert!(show_filter(&state).contains("kernel::workload::fib:traceon:unlimited\n"));
        // An empty count is the unlimited kind; fields after the count are ignored.
        let state = run(
            Filter,
            &[
                ("memcpy:traceoff:", Truncate),
                ("memcpy:stacktrace:4:x", Append),
            ],
        );
        assert_eq!(
            show_filter(&state),
            "#### all functions enabled ####\n\
             memcpy:stacktrace:count=4\n\
             memcpy:traceoff:unlimited\n"
        );
    }

    #[test]
    fn huge_count_reads_back_as_a_long() {
        let state = run(
            Filter,
            &[("memcpy:traceoff:18446744073709551615", Truncate)],
        );
        assert!(show_filter(&state).ends_with("memcpy:traceoff:count=-1\n"));
    }

    #[test]
    fn command_separator_skips_path_colons() {
        assert_eq!(split_command("kernel::workload::fib"), None);
        assert_eq!(
            split_command("kernel::workload::fib:traceon:3"),
            Some(("kernel::workload::fib", "traceon:3"))
        );
        assert_eq!(split_command("fib:traceon"), Some(("fib", "traceon")));
        assert_eq!(split_command(":traceon"), Some(("", "traceon")));
        assert_eq!(split_command("fib:"), Some(("fib", "")));
        assert_eq!(split_command("a:::b"), None);
        assert_eq!(
            split_command("*::*:stacktrace"),
            Some(("*::*", "stacktrace"))
        );
    }

    #[test]
    fn kstrtoul_like_linux() {
        assert_eq!(kstrtoul("0"), Ok(0));
        assert_eq!(kstrtoul("42"), Ok(42));
        assert_eq!(kstrtoul("+42"), Ok(42));
        assert_eq!(kstrtoul("0x1F"), Ok(31));
        assert_eq!(kstrtoul("0X10"), Ok(16));
        assert_eq!(kstrtoul("017"), Ok(15));
        assert_eq!(kstrtoul("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(kstrtoul("18446744073709551616"), Err(K::CountOverflow));
        for bad in ["", "+", "0x", "08", "1a", "-1", " 1", "1 "] {
            assert_eq!(kstrtoul(bad), Err(K::BadCount), "{bad:?}");
        }
    }

    #[test]
    fn fire_follows_linux_counting() {
        use ProbeCommand::*;
        // traceoff: acts only when tracing is on, spends a count each time it acts.
        let mut count = Some(2);
        assert!(!Traceoff.fire(&mut count, false), "already off: no-op");
        assert_eq!(count, Some(2));
        assert!(Traceoff.fire(&mut count, true));
        assert!(Traceoff.fire(&mut count, true));
        assert!(!Traceoff.fire(&mut count, true), "exhausted");
        assert_eq!(count, Some(0));
        let mut negative = Some(-1);
        assert!(!Traceon.fire(&mut negative, false), "<= 0 never fires");
        // traceon mirrors it.
        let mut count = Some(1);
        assert!(!Traceon.fire(&mut count, true));
        assert!(Traceon.fire(&mut count, false));
        assert!(!Traceon.fire(&mut count, false));
        // stacktrace: needs tracing on; stops only at exactly 0.
        let mut count = Some(1);
        assert!(!Stacktrace.fire(&mut count, false));
        assert!(Stacktrace.fire(&mut count, true));
        assert!(!Stacktrace.fire(&mut count, true));
        let mut negative = Some(-1);
        assert!(Stacktrace.fire(&mut negative, true));
        assert_eq!(negative, Some(-2));
        // Unlimited: whenever the state allows.
        let mut unlimited = None;
        assert!(Traceoff.fire(&mut unlimited, true));
        assert!(Traceon.fire(&mut unlimited, false));
        assert!(Stacktrace.fire(&mut unlimited, true));
        assert_eq!(unlimited, None);
    }

    #[test]
    fn probes_at_updates_counts_in_place() {
        let mut state = run(
            Filter,
            &[
                ("memcpy:traceoff:1 memcpy:stacktrace", Truncate),
                ("*leaf:traceon", Append),
            ],
        );
        let memcpy = ip_of("memcpy");
        let mut seen: Vec<ProbeCommand> = Vec::new();
        for (command, count) in state.probes_at(memcpy) {
            seen.push(command);
            command.fire(count, true);
        }
        assert_eq!(seen, [ProbeCommand::Stacktrace, ProbeCommand::Traceoff]);
        assert!(show_filter(&state).contains("memcpy:traceoff:count=0\n"));
        assert_eq!(state.probes_at(ip_of("kernel::boot::kmain")).count(), 0);
    }

    #[test]
    fn file_names() {
        let all = [Filter, Notrace, GraphFunction, GraphNotrace].map(FilterFile::name);
        assert_eq!(
            all,
            [
                "set_ftrace_filter",
                "set_ftrace_notrace",
                "set_graph_function",
                "set_graph_notrace"
            ]
        );
        assert_eq!(
            ProbeCommand::parse("stacktrace"),
            Some(ProbeCommand::Stacktrace)
        );
        assert_eq!(ProbeCommand::parse("dump"), None);
    }

    #[test]
    fn error_positions_point_at_the_word() {
        let data = "  memcpy\t\t*leaf   bad:cmd";
        let err = apply(&FilterState::new(), Filter, data, Append).unwrap_err();
        assert_eq!(&data[err.pos..err.pos + err.len], "bad:cmd");
        assert_eq!(err.kind, K::UnknownCommand);
    }
}
