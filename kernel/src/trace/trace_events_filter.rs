//! Event filters: the language written to `events/SYS/EVENT/filter` and `events/SYS/filter`
//! (Linux's `kernel/trace/trace_events_filter.c`), compiled into a flat branch program that
//! is run against each record, and the error texts Linux shows for a bad filter.
//!
//! This module is pure: [`parse`] takes the text written and a field lookup, and returns an
//! [`EventFilter`] or a [`FilterParseError`]; [`EventFilter::matches`] tests one record.
//! Installing the filter, discarding rejected records and the `error_log` belong to the
//! callers.
//!
//! # Grammar (Linux 6.12)
//! - A predicate is `FIELD OP VALUE`. `FIELD` is a run of letters, digits and `_`, looked up
//!   first in the event (the lookup closure, which also answers the `common_*` fields), then
//!   among Linux's generic fields: `CPU`, `cpu`, `common_cpu` (the CPU the record is written
//!   on) and `COMM`, `comm` (the current task's name).
//! - Operators, tried in this order: `~`, `!=`, `==`, `<=`, `<`, `>=`, `>`, `&`.
//! - Numbers (`-`? then letters and digits, shorter than 24 bytes) on numeric fields with any
//!   operator but `~`, read as `kstrtoll(.., 0)` for signed fields and `kstrtoull(.., 0)` for
//!   unsigned ones: decimal, `0x` hex, leading-`0` octal. The value is truncated to the
//!   field's size, as Linux casts it (`u8_field == 256` tests against 0).
//! - Strings are quoted (`'..'` or `".."`, at most [`MAX_FILTER_STR_VAL`]` - 1` bytes) and take
//!   `==`, `!=` and `~`. `~` is a glob: `*x`, `x*`, `*x*` are end/front/middle matches, any
//!   other `*`, `?`, `[` or `\` makes it a full [`glob_match_bytes`]; a leading `!` negates,
//!   and a pattern starting with a digit is compared whole. Bare (unquoted) strings are an
//!   error, "Invalid value (did you forget quotes)?", as in Linux since 4.17.
//! - `&&` binds tighter than `||`; `!` negates the predicate or parenthesised group that
//!   follows; parentheses nest. A trailing `&&` or `||` is ignored, as in Linux.
//!
//! Linux's quirks are kept, since scripts see them: an end match (`*x`) on a fixed-size
//! string (`char name[N]`, and `comm`, 16 bytes) compares the last bytes of the whole array,
//! not of the string in it; a fixed-size string equals a longer pattern whose first N bytes
//! match; the status of the failed write is `EPERM`, `ENOENT` or `ESRCH` for some errors
//! (Linux returns its internal codes -1, -2, -3 there), `EINVAL` for the rest.
//!
//! Not supported yet: `CPUS{list}` values, the `.function` and `.ustring` field suffixes,
//! `char *` fields and the `ip`-only rule of the `ftrace:function` event.
//!
//! # Evaluation
//! [`parse`] compiles Linux's way (`predicate_parse()`): each predicate becomes one entry
//! with a result that makes it branch and the entry it branches past; falling off the end
//! accepts, branching past the end rejects. [`EventFilter::matches`] walks that array
//! forwards only, without allocating or recursing, so it can run where the event is
//! recorded. A predicate on a field that lies (even partly) outside the record is false,
//! whatever its operator.
//!
//! # What the caller does (Linux's `event_filter_write()`, `apply_event_filter()`)
//! - A write of `PAGE_SIZE` bytes or more is `EINVAL` before any parsing, with no
//!   `error_log` entry and the old filter kept.
//! - [`is_clear`] text removes the filter; `filter` then reads `none`.
//! - Otherwise the filter is replaced even when [`parse`] fails: the event then runs
//!   unfiltered and `filter` reads the [`filter_err_show`] text (Linux 6.12 records every
//!   `sched_switch` after a bad write that replaced `prev_pid == 0`). A good filter reads back
//!   as [`EventFilter::text`]; both are printed with one more newline.
//! - On failure, the `error_log` entry is ([`FILTER_ERR_LOC`], [`filter_text`], [`ERR_TEXT`],
//!   [`FilterParseError::log_err`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::trace_entries::COMMON_FIELDS;
use super::trace_events::{Field, FieldType};
use crate::fs::Errno;
use crate::glob::{MatchType, glob_match_bytes};

/// The longest quoted string is one byte shorter than this (`kernel/trace/trace.h`).
pub const MAX_FILTER_STR_VAL: usize = 256;
/// The size of a task name, `current->comm`, including its NUL.
pub const TASK_COMM_LEN: usize = 16;
/// `parse_pred()`'s `num_buf`: a number must be shorter than this.
const NUM_BUF_LEN: usize = 24;

/// What `events/SYS/filter` reads back when it holds no error
/// (`DEFAULT_SYS_FILTER_MESSAGE`, printed with a newline after it).
pub const DEFAULT_SYS_FILTER_MESSAGE: &str = "### global filter ###\n\
# Use this to set filters for multiple events.\n\
# Only events with the given fields will be affected.\n\
# If no events are modified, an error message will be displayed here";

/// The `loc` of an `error_log` entry for a bad filter.
pub const FILTER_ERR_LOC: &str = "event filter parse error";

/// How a field's bytes are read (Linux's `filter_type` with the field's size and signedness).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer of `size` bytes (1, 2, 4 or 8; Linux's filters never match another size),
    /// in the CPU's byte order.
    Int { size: usize, signed: bool },
    /// `char name[len]`: the string is the bytes up to the first NUL (`len` 0: a `char
    /// name[]` that runs to the end of the record).
    StaticString { len: usize },
    /// `__data_loc char[]`: a `u32` whose low 16 bits are the string's offset from the
    /// start of the record and high 16 bits its length including the NUL.
    DynString,
    /// The CPU the record is written on ([`FilterContext::cpu`]); not stored in the record.
    Cpu,
    /// The name of the task the record is written by ([`FilterContext::comm`]).
    Comm,
}

/// A field a filter can name: where it is in the record and how to read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterField {
    /// Byte offset from the start of the record (unused for `Cpu` and `Comm`).
    pub offset: usize,
    pub kind: FieldKind,
}

impl FilterField {
    /// How filters read a registered field: Linux's `filter_assign_type()` (a `char` data
    /// location is a dynamic string, a `char` array a fixed-size one) and its size and
    /// signedness for the rest.
    pub fn of(field: &Field) -> FilterField {
        let is_char = field.c_type.contains("char");
        let kind = match field.ty {
            FieldType::DataLoc if is_char => FieldKind::DynString,
            FieldType::Array { .. } | FieldType::DynArray if is_char => {
                FieldKind::StaticString { len: field.size }
            }
            ty => FieldKind::Int {
                size: field.size,
                signed: ty == FieldType::S,
            },
        };
        FilterField {
            offset: field.offset,
            kind,
        }
    }

    /// Linux's `is_string_field()`.
    fn is_string(&self) -> bool {
        matches!(
            self.kind,
            FieldKind::StaticString { .. } | FieldKind::DynString | FieldKind::Comm
        )
    }

    /// Linux's `field->is_signed`: numbers are read with `kstrtoll` rather than `kstrtoull`.
    fn is_signed(&self) -> bool {
        match self.kind {
            FieldKind::Int { signed, .. } => signed,
            FieldKind::Cpu => true,
            _ => false,
        }
    }
}

/// What a record is tested in besides its own bytes.
#[derive(Clone, Copy, Debug)]
pub struct FilterContext<'a> {
    /// The CPU the record is being written on.
    pub cpu: u32,
    /// The current task's name (NUL padding optional; bytes past 16 are ignored).
    pub comm: &'a [u8],
}

/// Linux's `FILT_ERR_*`, in Linux's order: the index into [`ERR_TEXT`] that `error_log`
/// entries carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FilterErr {
    None,
    InvalidOp,
    TooManyOpen,
    TooManyClose,
    MissingQuote,
    MissingBraceOpen,
    MissingBraceClose,
    OperandTooLong,
    ExpectString,
    ExpectDigit,
    IllegalFieldOp,
    FieldNotFound,
    IllegalIntval,
    BadSubsysFilter,
    TooManyPreds,
    InvalidFilter,
    InvalidCpulist,
    IpFieldOnly,
    InvalidValue,
    NoFunction,
    Errno,
    NoFilter,
}

/// Linux's `err_text[]`, indexed by [`FilterErr`].
pub const ERR_TEXT: [&str; 22] = [
    "No error",
    "Invalid operator",
    "Too many '('",
    "Too few '('",
    "Missing matching quote",
    "Missing '{'",
    "Missing '}'",
    "Operand too long",
    "Expecting string field",
    "Expecting numeric field",
    "Illegal operation for field type",
    "Field not found",
    "Illegal integer value",
    "Couldn't find or set field in one of a subsystem's events",
    "Too many terms in predicate expression",
    "Meaningless filter expression",
    "Invalid cpulist",
    "Only 'ip' field is supported for function trace",
    "Invalid value (did you forget quotes)?",
    "Function not found",
    "Error",
    "No filter found",
];

impl FilterErr {
    /// Linux's message for this error.
    pub fn text(self) -> &'static str {
        ERR_TEXT[self as usize]
    }
}

/// Why a filter was refused: Linux's `struct filter_parse_error` and the write's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterParseError {
    /// Linux's `lasterr_pos`: a byte offset into the [`filter_text`] (it may be one past its
    /// end); [`filter_err_show`] and the `error_log` turn it into a caret column.
    pub pos: usize,
    /// Linux's `lasterr`; [`FilterErr::None`] where Linux refuses without a message.
    pub err: FilterErr,
    /// What the write returns.
    pub errno: Errno,
}

impl FilterParseError {
    fn new(err: FilterErr, pos: usize, errno: Errno) -> Self {
        FilterParseError { pos, err, errno }
    }

    /// A refusal with a message; Linux's `parse_error()` then `-EINVAL`.
    fn parse(err: FilterErr, pos: usize) -> Self {
        Self::new(err, pos, Errno::EINVAL)
    }

    /// A refusal without a message.
    fn silent(errno: Errno) -> Self {
        Self::new(FilterErr::None, 0, errno)
    }

    /// Linux's `lasterr` as a number: the error index, or the negative errno Linux stores
    /// when an allocation fails (then it prints `Error: (-12)`).
    fn lasterr(&self) -> i32 {
        match (self.err, self.errno) {
            (FilterErr::None, Errno::ENOMEM) => -Errno::ENOMEM.code(),
            (err, _) => err as i32,
        }
    }

    /// The error index and position for the `error_log` entry (`tracing_log_err(tr,
    /// FILTER_ERR_LOC, filter_text, ERR_TEXT, err, pos)`): errors without a message are
    /// logged as [`FilterErr::Errno`] at position 0, as Linux does.
    pub fn log_err(&self) -> (FilterErr, usize) {
        if self.lasterr() > 0 {
            (self.err, self.pos)
        } else {
            (FilterErr::Errno, 0)
        }
    }

    /// The error an event of a subsystem shows when the subsystem's filter does not parse
    /// for it (Linux's `process_system_preds()` overrides the real error), and the one the
    /// subsystem write itself fails with when the subsystem has no events.
    pub fn bad_subsys(errno: Errno) -> Self {
        Self::new(FilterErr::BadSubsysFilter, 0, errno)
    }
}

/// C's `isspace()`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The filter as Linux keeps it: the text up to a NUL (it is a C string), without trailing
/// whitespace (`strstrip()` in `apply_event_filter()`); leading whitespace stays, and error
/// positions count from it. This is what `filter` reads back and the `error_log` command.
pub fn filter_text(text: &str) -> &str {
    let text = text.split('\0').next().unwrap_or("");
    text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8))
}

/// Does writing `text` clear the filter? Linux's `!strcmp(strstrip(filter_string), "0")`.
pub fn is_clear(text: &str) -> bool {
    filter_text(text).trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8)) == "0"
}

/// Writes what Linux's `append_filter_err()` makes the filter's text after a failed write:
/// the text, a caret under the error and `parse_error: MESSAGE`, each line ending in `\n`
/// (or `Error: (N)` for an error without a message). `filter` prints it followed by one more
/// newline, as it prints every filter text.
pub fn filter_err_show(text: &str, err: &FilterParseError, w: &mut impl Write) -> fmt::Result {
    let text = filter_text(text);
    w.write_str(text)?;
    let lasterr = err.lasterr();
    if lasterr <= 0 {
        return write!(w, "\nError: ({lasterr})\n");
    }
    // Linux prints the caret right-aligned in a field of `pos + 1` columns, except at 0.
    let mut width = err.pos.min(text.len());
    if width > 0 {
        width += 1;
    }
    write!(w, "\n{:>width$}\nparse_error: {}\n", "^", err.err.text())
}

/// A compiled filter.
#[derive(Debug)]
pub struct EventFilter {
    text: String,
    prog: Vec<ProgEntry>,
}

impl EventFilter {
    /// The filter's text, as `filter` reads it back (without the final newline).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Does the record pass? Linux's `filter_match_preds()`: run the program forwards,
    /// branching past entry `target` when a predicate gives `when_to_branch`; ending just
    /// past the last entry accepts, one further rejects.
    pub fn matches(&self, record: &[u8], ctx: &FilterContext<'_>) -> bool {
        let mut i = 0;
        while let Some(entry) = self.prog.get(i) {
            if entry.pred.eval(record, ctx) == entry.when_to_branch {
                i = entry.target;
            }
            i += 1;
        }
        i == self.prog.len()
    }
}

/// One step of the program.
#[derive(Debug)]
struct ProgEntry {
    pred: Pred,
    when_to_branch: bool,
    /// One less than the index to continue at when branching; always > own index.
    target: usize,
}

/// A comparison operator, in Linux's matching order (`<=` before `<`, `>=` before `>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Glob,
    Ne,
    Eq,
    Le,
    Lt,
    Ge,
    Gt,
    Band,
}

const OPS: [(&str, Op); 8] = [
    ("~", Op::Glob),
    ("!=", Op::Ne),
    ("==", Op::Eq),
    ("<=", Op::Le),
    ("<", Op::Lt),
    (">=", Op::Ge),
    (">", Op::Gt),
    ("&", Op::Band),
];

/// One compiled predicate (Linux's `struct filter_pred` with its `fn_num`).
#[derive(Debug)]
enum Pred {
    /// Linux's `FILTER_PRED_FN_NOP`: an integer of a size no comparison exists for.
    Never,
    /// An integer field against `val` (already truncated to `size` bytes).
    Int {
        offset: usize,
        size: usize,
        signed: bool,
        op: Op,
        val: u64,
    },
    /// The current CPU against `val` (Linux compares as `int`).
    Cpu { op: Op, val: i32 },
    /// A string against a pattern; `not` inverts (`!=`, or `~ "!..."`).
    Str {
        source: StrSource,
        regex: Regex,
        not: bool,
    },
}

/// Where a string predicate finds its string.
#[derive(Clone, Copy, Debug)]
enum StrSource {
    Static { offset: usize, len: usize },
    Dyn { offset: usize },
    Comm,
}

/// A string pattern (Linux's `struct regex` after `filter_build_regex()`).
#[derive(Debug)]
struct Regex {
    kind: MatchType,
    pattern: Vec<u8>,
}

/// A string as Linux's `regex_match_*()` see it: `bytes` (reads past them give NUL) and
/// `len`, the length passed in, including the NUL; 0 means "up to the NUL".
struct CStr<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl CStr<'_> {
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// The bytes before the first NUL.
    fn until_nul(&self) -> &[u8] {
        let end = self.bytes.iter().position(|&b| b == 0);
        &self.bytes[..end.unwrap_or(self.bytes.len())]
    }

    /// C's `strncmp(self, pattern, n) == 0`.
    fn strn_eq(&self, pattern: &[u8], n: usize) -> bool {
        for k in 0..n {
            let (a, b) = (self.at(k), pattern.get(k).copied().unwrap_or(0));
            if a != b {
                return false;
            }
            if a == 0 {
                break;
            }
        }
        true
    }
}

impl Regex {
    /// Linux's `regex_match_full/front/middle/end/glob()`.
    fn matches(&self, s: &CStr<'_>) -> bool {
        let p = &self.pattern[..];
        match self.kind {
            MatchType::Full if s.len == 0 => s.until_nul() == p,
            MatchType::Full => s.strn_eq(p, s.len),
            MatchType::FrontOnly => (s.len == 0 || s.len >= p.len()) && s.strn_eq(p, p.len()),
            MatchType::MiddleOnly if s.len == 0 => contains(s.until_nul(), p),
            // `strnstr()` looks at all `len` bytes, NULs included.
            MatchType::MiddleOnly => {
                p.is_empty()
                    || (s.len >= p.len()
                        && (0..=s.len - p.len())
                            .any(|start| (0..p.len()).all(|k| s.at(start + k) == p[k])))
            }
            MatchType::EndOnly => {
                let strlen = s.len.wrapping_sub(1);
                s.len > 0
                    && strlen >= p.len()
                    && (0..p.len()).all(|k| s.at(strlen - p.len() + k) == p[k])
            }
            MatchType::Glob => glob_match_bytes(p, s.until_nul()),
        }
    }
}

/// Does `hay` contain `needle` (C's `strstr`)?
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// `N` bytes of the record at `offset`, if they are inside it.
fn load<const N: usize>(record: &[u8], offset: usize) -> Option<[u8; N]> {
    record.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

/// An integer field, zero-extended.
fn load_int(record: &[u8], offset: usize, size: usize) -> Option<u64> {
    Some(match size {
        1 => u8::from_ne_bytes(load(record, offset)?).into(),
        2 => u16::from_ne_bytes(load(record, offset)?).into(),
        4 => u32::from_ne_bytes(load(record, offset)?).into(),
        _ => u64::from_ne_bytes(load(record, offset)?),
    })
}

/// Sign-extends the low `size` bytes of `v`.
fn sign_extend(v: u64, size: usize) -> i64 {
    let shift = 64 - 8 * size as u32;
    ((v << shift) as i64) >> shift
}

/// Linux's ordered comparisons (`DEFINE_COMPARISON_PRED`) and `==`/`!=`.
fn compare<T: Ord>(a: T, op: Op, b: T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Glob | Op::Band => false,
    }
}

impl Pred {
    fn eval(&self, record: &[u8], ctx: &FilterContext<'_>) -> bool {
        match *self {
            Pred::Never => false,
            Pred::Int {
                offset,
                size,
                signed,
                op,
                val,
            } => {
                let Some(raw) = load_int(record, offset, size) else {
                    return false;
                };
                match op {
                    Op::Band => raw & val != 0,
                    Op::Eq | Op::Ne => compare(raw, op, val),
                    _ if signed => compare(sign_extend(raw, size), op, sign_extend(val, size)),
                    _ => compare(raw, op, val),
                }
            }
            Pred::Cpu { op, val } => compare(ctx.cpu as i32, op, val),
            Pred::Str {
                source,
                ref regex,
                not,
            } => source
                .text(record, ctx)
                .is_some_and(|s| regex.matches(&s) != not),
        }
    }
}

impl StrSource {
    /// The string and the length Linux passes with it.
    fn text<'a>(self, record: &'a [u8], ctx: &FilterContext<'a>) -> Option<CStr<'a>> {
        match self {
            StrSource::Static { offset, len } => {
                let end = if len == 0 {
                    record.len()
                } else {
                    offset.checked_add(len)?
                };
                Some(CStr {
                    bytes: record.get(offset..end)?,
                    len,
                })
            }
            StrSource::Dyn { offset } => {
                let item = u32::from_ne_bytes(load(record, offset)?);
                let (loc, len) = ((item & 0xffff) as usize, (item >> 16) as usize);
                let rest = record.get(loc..)?;
                let bytes = if len == 0 { rest } else { rest.get(..len)? };
                Some(CStr { bytes, len })
            }
            StrSource::Comm => Some(CStr {
                bytes: &ctx.comm[..ctx.comm.len().min(TASK_COMM_LEN)],
                len: TASK_COMM_LEN,
            }),
        }
    }
}

/// Linux's generic fields, found when the event has no field of that name.
fn generic_field(name: &str) -> Option<FilterField> {
    let kind = match name {
        "CPU" | "cpu" | "common_cpu" => FieldKind::Cpu,
        "COMM" | "comm" => FieldKind::Comm,
        _ => return None,
    };
    Some(FilterField { offset: 0, kind })
}

/// The field lookup [`parse`] needs for an event whose fields (after the common header) are
/// `fields`: its own fields, then the common header's. With the generic fields [`parse`]
/// adds, this is Linux's `trace_find_event_field()`.
pub fn event_field(fields: &[Field], name: &str) -> Option<FilterField> {
    fields
        .iter()
        .chain(&COMMON_FIELDS)
        .find(|f| f.name == name)
        .map(FilterField::of)
}

/// Compiles `text` (first normalised by [`filter_text`]) for an event whose fields
/// `lookup` answers by name. Linux's `create_filter()` without the side effects: on error,
/// show it with [`filter_err_show`] and log [`FilterParseError::log_err`].
pub fn parse(
    text: &str,
    lookup: impl Fn(&str) -> Option<FilterField>,
) -> Result<EventFilter, FilterParseError> {
    let text = filter_text(text);
    let (nr_parens, nr_preds) = calc_stack(text.as_bytes())?;
    if nr_preds == 0 {
        return Err(FilterParseError::silent(Errno::EINVAL));
    }
    let find = |name: &str| lookup(name).or_else(|| generic_field(name));
    let prog = predicate_parse(text.as_bytes(), nr_parens, nr_preds, &find)?;
    let mut owned = String::new();
    owned
        .try_reserve_exact(text.len())
        .map_err(|_| FilterParseError::silent(Errno::ENOMEM))?;
    owned.push_str(text);
    Ok(EventFilter { text: owned, prog })
}

/// Parses a subsystem filter (`events/SYS/filter`) for one event of the subsystem. Linux
/// applies it to every event of the subsystem: an event it parses for gets the filter; one
/// it does not parse for loses its filter and shows this error (always
/// [`FilterErr::BadSubsysFilter`] at position 0, whatever went wrong). The subsystem write
/// itself succeeds whenever the subsystem has events, and `events/SYS/filter` then reads
/// [`DEFAULT_SYS_FILTER_MESSAGE`].
pub fn parse_subsystem_event(
    text: &str,
    lookup: impl Fn(&str) -> Option<FilterField>,
) -> Result<EventFilter, FilterParseError> {
    parse(text, lookup).map_err(|e| FilterParseError::bad_subsys(e.errno))
}

/// The byte at `i`, or NUL past the end (the text is a C string).
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Linux's `calc_stack()`: a first pass that checks quotes and parentheses and returns how
/// deep the parentheses go (counting the whole as one level) and an upper bound on the
/// number of predicates.
fn calc_stack(s: &[u8]) -> Result<(usize, usize), FilterParseError> {
    let (mut is_pred, mut nr_preds) = (false, 0);
    let (mut open, mut max_open) = (1usize, 1usize);
    let (mut quote, mut last_quote) = (0u8, 0);
    for (i, &c) in s.iter().enumerate() {
        if is_space(c) {
            continue;
        }
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
            continue;
        }
        match c {
            b'\'' | b'"' => {
                quote = c;
                last_quote = i;
            }
            b'|' | b'&' if at(s, i + 1) == c => {
                is_pred = false;
                continue;
            }
            b'(' => {
                is_pred = false;
                open += 1;
                max_open = max_open.max(open);
                continue;
            }
            b')' => {
                is_pred = false;
                if open == 1 {
                    return Err(FilterParseError::new(
                        FilterErr::TooManyClose,
                        i,
                        Errno::EPERM,
                    ));
                }
                open -= 1;
                continue;
            }
            _ => {}
        }
        if !is_pred {
            nr_preds += 1;
            is_pred = true;
        }
    }
    if quote != 0 {
        return Err(FilterParseError::new(
            FilterErr::MissingQuote,
            last_quote,
            Errno::ESRCH,
        ));
    }
    if open != 1 {
        let pos = unclosed_paren(s, open);
        return Err(FilterParseError::new(
            FilterErr::TooManyOpen,
            pos,
            Errno::ENOENT,
        ));
    }
    Ok((max_open, nr_preds))
}

/// Where `calc_stack()` reports an unclosed `(`: scanning back from the end (never looking
/// at byte 0), the first `(` not closed later, or 0.
fn unclosed_paren(s: &[u8], open: usize) -> usize {
    let mut level = open;
    let mut quote = 0u8;
    for i in (1..s.len()).rev() {
        let c = s[i];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
            continue;
        }
        match c {
            b'(' if level == open => return i,
            b'(' => level -= 1,
            b')' => level += 1,
            b'\'' | b'"' => quote = c,
            _ => {}
        }
    }
    0
}

/// Flags of one parenthesis level (Linux's `INVERT`, `PROCESS_AND`, `PROCESS_OR`).
const INVERT: u8 = 1;
const PROCESS_AND: u8 = 2;
const PROCESS_OR: u8 = 4;

/// A program entry while it is being built: `target` may still be -1 ("none yet").
#[derive(Clone, Copy)]
struct Link {
    target: isize,
    when_to_branch: bool,
}

/// Linux's `update_preds()`: the entry that entry `n` points at now branches past `n`
/// when its result is `invert`, and `n` takes over what it pointed at.
fn update_preds(links: &mut [Link], n: usize, invert: bool) -> Result<(), FilterParseError> {
    let t = usize::try_from(links[n].target)
        .ok()
        .filter(|&t| t < links.len())
        .ok_or(FilterParseError::silent(Errno::EINVAL))?;
    let s = links[t].target;
    links[t].when_to_branch = invert;
    links[t].target = n as isize;
    links[n].target = s;
    Ok(())
}

/// A fallible `Vec::with_capacity`.
fn try_vec<T>(n: usize) -> Result<Vec<T>, FilterParseError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| FilterParseError {
        pos: 0,
        err: FilterErr::None,
        errno: Errno::ENOMEM,
    })?;
    Ok(v)
}

/// Linux's `predicate_parse()`: turns the logical structure into the branch program in one
/// pass over the text, then shortens branch chains and folds the inversions in.
fn predicate_parse(
    s: &[u8],
    nr_parens: usize,
    nr_preds: usize,
    find: &dyn Fn(&str) -> Option<FilterField>,
) -> Result<Vec<ProgEntry>, FilterParseError> {
    let nr_preds = nr_preds + 2; // room for the accept and reject ends
    let mut stack: Vec<u8> = try_vec(nr_parens + 1)?;
    let mut preds: Vec<Pred> = try_vec(nr_preds)?;
    let mut links: Vec<Link> = try_vec(nr_preds)?;
    let mut inverts: Vec<bool> = try_vec(nr_preds)?;
    stack.push(0);
    let mut invert = false;
    let mut ptr = 0;
    let mut n = 0;
    'outer: while at(s, ptr) != 0 {
        let next = ptr;
        ptr += 1;
        let c = s[next];
        if is_space(c) {
            continue;
        }
        match c {
            b'(' => {
                if stack.len() > nr_parens {
                    return Err(FilterParseError::silent(Errno::EINVAL));
                }
                stack.push(if invert { INVERT } else { 0 });
                continue;
            }
            // `!=` and `!~` start no negation (and then no valid predicate either).
            b'!' if !matches!(at(s, next + 1), b'=' | b'~') => {
                invert = !invert;
                continue;
            }
            _ => {}
        }
        if n >= nr_preds {
            return Err(FilterParseError::new(
                FilterErr::TooManyPreds,
                next,
                Errno::EPERM,
            ));
        }
        inverts.push(invert);
        links.push(Link {
            target: n as isize - 1,
            when_to_branch: false,
        });
        // Linux passes the position one past the predicate's first byte.
        let (pred, len) = parse_pred(&s[next..], next + 1, find)?;
        preds.push(pred);
        ptr = next + len;
        n += 1;
        loop {
            let next = ptr;
            ptr += 1;
            let c = at(s, next);
            if is_space(c) {
                continue;
            }
            match c {
                b')' | 0 => {}
                b'&' | b'|' if at(s, next + 1) == c => ptr += 1,
                _ => {
                    return Err(FilterParseError::new(
                        FilterErr::TooManyPreds,
                        next,
                        Errno::EPERM,
                    ));
                }
            }
            let top = stack
                .last_mut()
                .expect("the outermost level is never popped");
            invert = *top & INVERT != 0;
            if *top & PROCESS_AND != 0 {
                *top &= !PROCESS_AND;
                update_preds(&mut links, n - 1, invert)?;
            }
            let top = stack
                .last_mut()
                .expect("the outermost level is never popped");
            if c == b'&' {
                *top |= PROCESS_AND;
                break;
            }
            if *top & PROCESS_OR != 0 {
                *top &= !PROCESS_OR;
                update_preds(&mut links, n - 1, !invert)?;
            }
            let top = stack
                .last_mut()
                .expect("the outermost level is never popped");
            if c == b'|' {
                *top |= PROCESS_OR;
                break;
            }
            if c == 0 {
                break 'outer;
            }
            if stack.len() == 1 {
                return Err(FilterParseError::new(
                    FilterErr::TooManyClose,
                    ptr,
                    Errno::EPERM,
                ));
            }
            stack.pop();
        }
    }
    if stack.len() != 1 {
        // Linux's status here is whatever its `ret` held: -1 once a predicate was parsed.
        let errno = if n > 0 { Errno::EPERM } else { Errno::ENOMEM };
        return Err(FilterParseError::new(FilterErr::TooManyOpen, ptr, errno));
    }
    if n == 0 {
        return Err(FilterParseError::parse(FilterErr::NoFilter, ptr));
    }
    finish_program(preds, links, &inverts)
}

/// The end of `predicate_parse()`: point the last entry at the reject end, let a branch to
/// an entry that branches on the same result go straight to that entry's target, then fold
/// each predicate's inversion into its branch condition.
fn finish_program(
    preds: Vec<Pred>,
    mut links: Vec<Link>,
    inverts: &[bool],
) -> Result<Vec<ProgEntry>, FilterParseError> {
    let n = preds.len();
    let internal = FilterParseError::silent(Errno::EINVAL);
    // The accept and reject ends: Linux's zeroed entries with targets 1 and 0.
    links.push(Link {
        target: 1,
        when_to_branch: false,
    });
    links.push(Link {
        target: 0,
        when_to_branch: false,
    });
    links[n - 1] = Link {
        target: n as isize,
        when_to_branch: false,
    };
    for i in (0..n - 1).rev() {
        let t = usize::try_from(links[i].target)
            .ok()
            .filter(|&t| t < links.len())
            .ok_or(internal)?;
        if links[i].when_to_branch == links[t].when_to_branch {
            links[i].target = links[t].target;
        }
    }
    let mut prog = try_vec(n)?;
    for (i, (pred, link)) in preds.into_iter().zip(&links).enumerate() {
        // The program must only move forwards, and never past the reject end.
        let target = usize::try_from(link.target)
            .ok()
            .filter(|&t| t > i && t <= n)
            .ok_or(internal)?;
        prog.push(ProgEntry {
            pred,
            when_to_branch: inverts[i] ^ link.when_to_branch,
            target,
        });
    }
    Ok(prog)
}

/// Linux's `parse_pred()`: one `FIELD OP VALUE` at the start of `s`, where `pos` is the
/// position Linux reports errors from (one past `s`'s offset in the filter). Returns the
/// predicate and how many bytes it took.
fn parse_pred(
    s: &[u8],
    pos: usize,
    find: &dyn Fn(&str) -> Option<FilterField>,
) -> Result<(Pred, usize), FilterParseError> {
    let err = |e: FilterErr, i: usize| FilterParseError::parse(e, pos + i);
    let mut i = 0;
    while is_space(at(s, i)) {
        i += 1;
    }
    let name_start = i;
    while at(s, i).is_ascii_alphanumeric() || at(s, i) == b'_' {
        i += 1;
    }
    if i == name_start {
        // Linux returns -1 here without a message.
        return Err(FilterParseError::silent(Errno::EPERM));
    }
    let name = core::str::from_utf8(&s[name_start..i]).unwrap_or("");
    let field = find(name).ok_or(err(FilterErr::FieldNotFound, i))?;
    while is_space(at(s, i)) {
        i += 1;
    }
    let Some(&(op_text, op)) = OPS.iter().find(|(t, _)| s[i..].starts_with(t.as_bytes())) else {
        return Err(err(FilterErr::InvalidOp, i));
    };
    i += op_text.len();
    while is_space(at(s, i)) {
        i += 1;
    }
    match at(s, i) {
        q @ (b'\'' | b'"') => parse_string(s, i, q, op, &field).map_err(|(e, at)| match e {
            Some(e) => err(e, at),
            None => FilterParseError::silent(Errno::ENOMEM),
        }),
        c if c.is_ascii_digit() || c == b'-' => {
            parse_number(s, i, op, &field).map_err(|(e, at)| err(e, at))
        }
        _ => Err(err(FilterErr::InvalidValue, i)),
    }
}

/// The quoted-string half of `parse_pred()`; `i` is at the opening quote `q`. Errors are
/// (message, offset in `s`), with no message for an allocation failure.
fn parse_string(
    s: &[u8],
    mut i: usize,
    q: u8,
    op: Op,
    field: &FilterField,
) -> Result<(Pred, usize), (Option<FilterErr>, usize)> {
    let not = match op {
        Op::Ne => true,
        Op::Glob | Op::Eq => false,
        _ => return Err((Some(FilterErr::IllegalFieldOp), i)),
    };
    if !field.is_string() {
        return Err((Some(FilterErr::ExpectDigit), i));
    }
    let start = i + 1;
    i = start;
    while at(s, i) != 0 && at(s, i) != q {
        i += 1;
    }
    if at(s, i) == 0 {
        return Err((Some(FilterErr::MissingQuote), i));
    }
    if i - start >= MAX_FILTER_STR_VAL {
        return Err((Some(FilterErr::OperandTooLong), i));
    }
    let (regex, not) = build_regex(&s[start..i], op, not).map_err(|()| (None, i))?;
    let source = match field.kind {
        FieldKind::StaticString { len } => StrSource::Static {
            offset: field.offset,
            len,
        },
        FieldKind::DynString => StrSource::Dyn {
            offset: field.offset,
        },
        _ => StrSource::Comm,
    };
    Ok((Pred::Str { source, regex, not }, i + 1))
}

/// Linux's `filter_build_regex()` with `filter_parse_regex()`: `==` and `!=` compare the
/// whole string; `~` classifies the pattern (and a leading `!` sets `not`).
fn build_regex(pattern: &[u8], op: Op, not: bool) -> Result<(Regex, bool), ()> {
    let (kind, search, not) = if op == Op::Glob {
        classify(pattern)
    } else {
        (MatchType::Full, pattern, not)
    };
    let mut owned = Vec::new();
    owned.try_reserve_exact(search.len()).map_err(|_| ())?;
    owned.extend_from_slice(search);
    let regex = Regex {
        kind,
        pattern: owned,
    };
    Ok((regex, not))
}

/// Linux's `filter_parse_regex()` for filters: (how to match, what to compare with,
/// negated).
fn classify(pattern: &[u8]) -> (MatchType, &[u8], bool) {
    let (not, buff) = match pattern.split_first() {
        Some((b'!', rest)) => (true, rest),
        _ => (false, pattern),
    };
    // Linux's MATCH_INDEX, which filters compare as a whole string.
    if buff.first().is_some_and(u8::is_ascii_digit) {
        return (MatchType::Full, buff, not);
    }
    let mut kind = MatchType::Full;
    let mut search = buff;
    for (i, &c) in buff.iter().enumerate() {
        match c {
            b'*' if i == 0 => kind = MatchType::EndOnly,
            b'*' if i == buff.len() - 1 => {
                kind = if kind == MatchType::EndOnly {
                    MatchType::MiddleOnly
                } else {
                    MatchType::FrontOnly
                };
                search = &buff[..i];
                break;
            }
            b'*' | b'[' | b'?' | b'\\' => return (MatchType::Glob, buff, not),
            _ => {}
        }
    }
    if buff.first() == Some(&b'*') {
        search = &search[1..];
    }
    (kind, search, not)
}

/// The numeric half of `parse_pred()`; `i` is at the number's first byte.
fn parse_number(
    s: &[u8],
    mut i: usize,
    op: Op,
    field: &FilterField,
) -> Result<(Pred, usize), (FilterErr, usize)> {
    if field.is_string() {
        return Err((FilterErr::ExpectString, i));
    }
    if op == Op::Glob {
        return Err((FilterErr::IllegalFieldOp, i));
    }
    let start = i;
    if at(s, i) == b'-' {
        i += 1;
    }
    while at(s, i).is_ascii_alphanumeric() {
        i += 1;
    }
    if i - start >= NUM_BUF_LEN {
        return Err((FilterErr::OperandTooLong, i));
    }
    let digits = &s[start..i];
    let val = if field.is_signed() {
        kstrtoll(digits).map(|v| v as u64)
    } else {
        kstrtoull(digits)
    };
    let val = val.ok_or((FilterErr::IllegalIntval, start))?;
    let pred = match field.kind {
        FieldKind::Cpu => Pred::Cpu {
            op,
            val: val as i32,
        },
        FieldKind::Int { size, signed } if matches!(size, 1 | 2 | 4 | 8) => Pred::Int {
            offset: field.offset,
            size,
            signed,
            op,
            val: val & (u64::MAX >> (64 - 8 * size)),
        },
        _ => Pred::Never,
    };
    Ok((pred, i))
}

/// Linux's `kstrtoull(s, 0, ..)`: `0x` hex (when a hex digit follows), leading-`0` octal or
/// decimal, an optional `+`, one trailing newline; `None` for anything else or overflow.
fn kstrtoull(s: &[u8]) -> Option<u64> {
    parse_u64(s.strip_prefix(b"+").unwrap_or(s))
}

/// Linux's `kstrtoll(s, 0, ..)`.
fn kstrtoll(s: &[u8]) -> Option<i64> {
    match s.strip_prefix(b"-") {
        Some(rest) => {
            let v = parse_u64(rest)?;
            (v <= 1 << 63).then(|| (v as i64).wrapping_neg())
        }
        None => kstrtoull(s).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Linux's `_kstrtoull(s, 0, ..)`.
fn parse_u64(s: &[u8]) -> Option<u64> {
    let (base, digits) = match s {
        [b'0', x, h, ..] if x.eq_ignore_ascii_case(&b'x') && h.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    let mut val: u64 = 0;
    let mut overflow = false;
    let mut used = 0;
    for &c in digits {
        let Some(d) = (c as char).to_digit(16).filter(|&d| d < base) else {
            break;
        };
        match val
            .checked_mul(base.into())
            .and_then(|v| v.checked_add(d.into()))
        {
            Some(v) => val = v,
            None => overflow = true,
        }
        used += 1;
    }
    let rest = &digits[used..];
    (!overflow && used > 0 && (rest.is_empty() || rest == b"\n")).then_some(val)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    /// The test event: Linux's common header, one integer of each size and signedness, a
    /// `char name[8]`, a `__data_loc char[] msg`, an integer of a size Linux never compares,
    /// and a field that lies past the end of the record.
    const RECORD_LEN: usize = 64;
    const DYN_AT: usize = 56;

    fn lookup(name: &str) -> Option<FilterField> {
        let int = |size, signed| FieldKind::Int { size, signed };
        let (offset, kind) = match name {
            "common_type" => (0, int(2, false)),
            "common_flags" => (2, int(1, false)),
            "common_preempt_count" => (3, int(1, false)),
            "common_pid" => (4, int(4, true)),
            "u8f" => (8, int(1, false)),
            "s8f" => (9, int(1, true)),
            "u16f" => (10, int(2, false)),
            "s16f" => (12, int(2, true)),
            "u32f" => (16, int(4, false)),
            "s32f" => (20, int(4, true)),
            "u64f" => (24, int(8, false)),
            "s64f" => (32, int(8, true)),
            "name" => (40, FieldKind::StaticString { len: 8 }),
            "msg" => (48, FieldKind::DynString),
            "odd" => (52, int(3, false)),
            "beyond" => (RECORD_LEN, int(4, false)),
            _ => return None,
        };
        Some(FilterField { offset, kind })
    }

    struct Rec(Vec<u8>);

    impl Rec {
        fn new() -> Rec {
            Rec(vec![0; RECORD_LEN])
        }
        fn put(mut self, field: &str, bytes: &[u8]) -> Rec {
            let off = lookup(field).unwrap().offset;
            self.0[off..off + bytes.len()].copy_from_slice(bytes);
            self
        }
        fn int(self, field: &str, v: i128) -> Rec {
            let FieldKind::Int { size, .. } = lookup(field).unwrap().kind else {
                panic!("{field} is not an integer");
            };
            let bytes = (v as u64).to_ne_bytes();
            self.put(field, &bytes[..size])
        }
        /// Stores `s` plus a NUL as the dynamic string.
        fn msg(mut self, s: &[u8]) -> Rec {
            self.0.truncate(DYN_AT);
            self.0.extend_from_slice(s);
            self.0.push(0);
            let item = (DYN_AT as u32) | (((s.len() + 1) as u32) << 16);
            self.put("msg", &item.to_ne_bytes())
        }
    }

    const CTX: FilterContext<'static> = FilterContext {
        cpu: 2,
        comm: b"sh\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    };

    fn matches(filter: &str, rec: &Rec) -> bool {
        let f = parse(filter, lookup).unwrap_or_else(|e| panic!("{filter:?}: {e:?}"));
        f.matches(&rec.0, &CTX)
    }

    fn error(filter: &str) -> FilterParseError {
        match parse(filter, lookup) {
            Ok(_) => panic!("{filter:?} parsed"),
            Err(e) => e,
        }
    }

    fn shown(filter: &str) -> String {
        let mut s = String::new();
        filter_err_show(filter, &error(filter), &mut s).unwrap();
        s
    }

    /// For every integer field: each operator against values around `v`, checked against
    /// the same comparison done on the field's own Rust type.
    macro_rules! check_int_field {
        ($field:literal, $ty:ty, $v:expr) => {{
            let v: $ty = $v;
            let rec = Rec::new().int($field, v as i128);
            let ks: [$ty; 5] = [
                v.wrapping_sub(1),
                v,
                v.wrapping_add(1),
                <$ty>::MIN,
                <$ty>::MAX,
            ];
            for k in ks {
                let cases = [
                    ("==", v == k),
                    ("!=", v != k),
                    ("<", v < k),
                    ("<=", v <= k),
                    (">", v > k),
                    (">=", v >= k),
                    ("&", v & k != 0),
                ];
                for (op, want) in cases {
                    for text in [
                        format!("{} {op} {k}", $field),
                        format!("{}{op}{k:#x}", $field),
                    ] {
                        // Hex only makes sense for non-negative values.
                        if text.contains("0x") && (k as i128) < 0 {
                            continue;
                        }
                        assert_eq!(matches(&text, &rec), want, "{text} with {v}");
                    }
                }
            }
        }};
    }

    #[test]
    fn every_operator_on_every_integer_size() {
        for v in [0u8, 1, 0x7f, 0x80, 0xff] {
            check_int_field!("u8f", u8, v);
        }
        for v in [0i8, 1, -1, i8::MIN, i8::MAX] {
            check_int_field!("s8f", i8, v);
        }
        for v in [0u16, 0x1234, 0x8000, u16::MAX] {
            check_int_field!("u16f", u16, v);
        }
        for v in [0i16, -2, i16::MIN, i16::MAX] {
            check_int_field!("s16f", i16, v);
        }
        for v in [0u32, 7, 0x8000_0000, u32::MAX] {
            check_int_field!("u32f", u32, v);
        }
        for v in [0i32, -7, i32::MIN, i32::MAX] {
            check_int_field!("s32f", i32, v);
        }
        for v in [0u64, 42, 1 << 63, u64::MAX] {
            check_int_field!("u64f", u64, v);
        }
        for v in [0i64, -42, i64::MIN, i64::MAX] {
            check_int_field!("s64f", i64, v);
        }
        check_int_field!("common_pid", i32, 1);
        check_int_field!("common_type", u16, 300);
    }

    #[test]
    fn numbers_are_read_as_kstrtoull_and_truncated_to_the_field() {
        let rec = Rec::new().int("u8f", 0).int("u32f", 8).int("s16f", -1);
        assert!(matches("u8f == 256", &rec), "256 becomes (u8)0");
        assert!(matches("u32f == 010", &rec), "leading 0 is octal");
        assert!(matches("u32f == 0x8", &rec));
        assert!(matches("u32f == 0X8", &rec));
        assert!(matches("u32f == 8", &rec));
        assert!(matches("s16f == -1", &rec));
        assert!(
            matches("s16f == 0xffff", &rec),
            "truncated, then compared as bits"
        );
        assert!(matches("s16f < 0", &rec));
        assert!(matches("s16f > -2", &rec));
        let min = Rec::new().int("s64f", i64::MIN.into());
        assert!(matches("s64f == -9223372036854775808", &min));
        assert!(matches("s64f < -9223372036854775807", &min));
        assert!(matches(
            "u64f == 18446744073709551615",
            &Rec::new().int("u64f", -1)
        ));
        assert!(matches(
            "u64f == 01777777777777777777777",
            &Rec::new().int("u64f", -1)
        ));
    }

    #[test]
    fn odd_sizes_never_match_and_fields_outside_the_record_never_match() {
        let rec = Rec::new();
        for op in ["==", "!=", "<", ">=", "&"] {
            assert!(!matches(&format!("odd {op} 0"), &rec), "odd {op} 0");
            assert!(!matches(&format!("beyond {op} 0"), &rec), "beyond {op} 0");
        }
        for op in ["==", "!=", "~"] {
            assert!(!matches(&format!("name {op} 'x'"), &Rec(vec![0; 44])));
            assert!(!matches(&format!("msg {op} ''"), &Rec(vec![0; 40])));
        }
    }

    #[test]
    fn static_strings() {
        let rec = Rec::new().put("name", b"bash\0\0\0\0");
        assert!(matches("name == \"bash\"", &rec));
        assert!(matches("name == 'bash'", &rec));
        assert!(!matches("name == 'bas'", &rec));
        assert!(!matches("name == 'bashx'", &rec));
        assert!(matches("name != 'bas'", &rec));
        assert!(!matches("name != 'bash'", &rec));
        assert!(matches("name ~ 'ba*'", &rec));
        assert!(!matches("name ~ 'sh*'", &rec));
        assert!(matches("name ~ '*as*'", &rec));
        assert!(!matches("name ~ '*x*'", &rec));
        assert!(matches("name ~ 'b?sh'", &rec));
        assert!(matches("name ~ '[ab]a*h'", &rec));
        assert!(!matches("name ~ 'b?s'", &rec));
        assert!(matches("name ~ '*'", &rec));
        assert!(matches("name ~ '**'", &rec));
        assert!(matches("name ~ 'bash'", &rec));
        assert!(!matches("name ~ '!ba*'", &rec), "a leading ! negates");
        assert!(matches("name ~ '!x*'", &rec));
        // Linux's end match looks at the end of the whole array.
        assert!(!matches("name ~ '*sh'", &rec));
        let full = Rec::new().put("name", b"abcdefg\0");
        assert!(matches("name ~ '*fg'", &full));
        // strncmp over the field's 8 bytes: a longer pattern matches on its first 8.
        let unterminated = Rec::new().put("name", b"abcdefgh");
        assert!(matches("name == 'abcdefghij'", &unterminated));
        // A pattern starting with a digit is compared whole.
        let digits = Rec::new().put("name", b"1*\0");
        assert!(matches("name ~ '1*'", &digits));
        assert!(!matches("name ~ '1*'", &Rec::new().put("name", b"12\0")));
    }

    #[test]
    fn dynamic_strings() {
        let rec = Rec::new().msg(b"hello world");
        assert!(matches("msg == 'hello world'", &rec));
        assert!(!matches("msg == 'hello'", &rec));
        assert!(matches("msg != 'hello'", &rec));
        assert!(matches("msg ~ 'hello*'", &rec));
        assert!(
            matches("msg ~ '*world'", &rec),
            "the length is the string's"
        );
        assert!(!matches("msg ~ '*worl'", &rec));
        assert!(matches("msg ~ '*lo w*'", &rec));
        assert!(matches("msg ~ 'h*d'", &rec));
        assert!(matches("msg ~ 'h[a-f]llo *'", &rec));
        assert!(!matches("msg ~ 'h*x'", &rec));
        let empty = Rec::new().msg(b"");
        assert!(matches("msg == ''", &empty));
        assert!(matches("msg ~ '*'", &empty));
        assert!(!matches("msg ~ 'a*'", &empty));
        // A zero length means "up to the NUL".
        let mut zero = Rec::new().msg(b"abc");
        zero.0[48..52].copy_from_slice(&(DYN_AT as u32).to_ne_bytes());
        assert!(matches("msg == 'abc'", &zero));
        assert!(matches("msg ~ '*b*'", &zero));
        assert!(!matches("msg ~ '*c'", &zero));
        // A location past the record never matches.
        let mut bad = Rec::new();
        bad.0[48..52].copy_from_slice(&(0x0010_0100u32).to_ne_bytes());
        assert!(!matches("msg == ''", &bad));
        assert!(!matches("msg != ''", &bad));
    }

    #[test]
    fn cpu_and_comm() {
        let rec = Rec::new();
        for f in ["CPU", "cpu", "common_cpu"] {
            assert!(matches(&format!("{f} == 2"), &rec));
            assert!(matches(&format!("{f} != 3"), &rec));
            assert!(matches(&format!("{f} < 3"), &rec));
            assert!(matches(&format!("{f} <= 2"), &rec));
            assert!(!matches(&format!("{f} > 2"), &rec));
            assert!(matches(&format!("{f} >= 2"), &rec));
            assert!(matches(&format!("{f} > -1"), &rec), "compared as int");
            assert!(
                !matches(&format!("{f} & 2"), &rec),
                "Linux has no & for CPU"
            );
        }
        for f in ["COMM", "comm"] {
            assert!(matches(&format!("{f} == 'sh'"), &rec));
            assert!(matches(&format!("{f} != 'bash'"), &rec));
            assert!(matches(&format!("{f} ~ 's*'"), &rec));
            assert!(matches(&format!("{f} ~ '?h'"), &rec));
            // The end match reads the last bytes of the 16-byte name.
            assert!(!matches(&format!("{f} ~ '*h'"), &rec));
        }
        let short = FilterContext {
            cpu: 0,
            comm: b"init",
        };
        let f = parse("comm == 'init' && cpu == 0", lookup).unwrap();
        assert!(f.matches(&rec.0, &short));
        assert_eq!(error("comm == 1").err, FilterErr::ExpectString);
        assert_eq!(error("cpu == 'x'").err, FilterErr::ExpectDigit);
        assert_eq!(error("CPU ~ 1").err, FilterErr::IllegalFieldOp);
        assert_eq!(error("common_comm == 'x'").err, FilterErr::FieldNotFound);
        assert_eq!(error("Cpu == 1").err, FilterErr::FieldNotFound);
    }

    #[test]
    fn event_fields_shadow_the_generic_ones() {
        let own = |name: &str| match name {
            "cpu" => Some(FilterField {
                offset: 8,
                kind: FieldKind::Int {
                    size: 1,
                    signed: false,
                },
            }),
            _ => None,
        };
        let f = parse("cpu == 9 && CPU == 2", own).unwrap();
        assert!(f.matches(&Rec::new().int("u8f", 9).0, &CTX));
        assert!(!f.matches(&Rec::new().int("u8f", 2).0, &CTX));
    }

    /// Linux's own self-test table (`CONFIG_FTRACE_STARTUP_TEST`): each filter with records
    /// of eight fields `a`..`h`, and whether they match.
    #[test]
    fn precedence_and_parentheses_as_linux_selftest() {
        let abc = |name: &str| {
            let i = "abcdefgh".find(name).filter(|_| name.len() == 1)?;
            Some(FilterField {
                offset: 4 * i,
                kind: FieldKind::Int {
                    size: 4,
                    signed: true,
                },
            })
        };
        type Records = &'static [([i32; 8], bool)];
        let table: [(&str, Records); 8] = [
            (
                "a == 1 && b == 1 && c == 1 && d == 1 && e == 1 && f == 1 && g == 1 && h == 1",
                &[
                    ([1, 1, 1, 1, 1, 1, 1, 1], true),
                    ([0, 1, 1, 1, 1, 1, 1, 1], false),
                    ([1, 1, 1, 1, 1, 1, 1, 0], false),
                ],
            ),
            (
                "a == 1 || b == 1 || c == 1 || d == 1 || e == 1 || f == 1 || g == 1 || h == 1",
                &[
                    ([0, 0, 0, 0, 0, 0, 0, 0], false),
                    ([0, 0, 0, 0, 0, 0, 0, 1], true),
                    ([1, 0, 0, 0, 0, 0, 0, 0], true),
                ],
            ),
            (
                "(a == 1 || b == 1) && (c == 1 || d == 1) && (e == 1 || f == 1) && (g == 1 || h == 1)",
                &[
                    ([0, 0, 1, 1, 1, 1, 1, 1], false),
                    ([0, 1, 0, 1, 0, 1, 0, 1], true),
                    ([1, 0, 1, 0, 0, 1, 0, 1], true),
                    ([1, 0, 1, 0, 0, 1, 0, 0], false),
                ],
            ),
            (
                "(a == 1 && b == 1) || (c == 1 && d == 1) || (e == 1 && f == 1) || (g == 1 && h == 1)",
                &[
                    ([1, 0, 1, 1, 1, 1, 1, 1], true),
                    ([0, 0, 0, 0, 0, 0, 1, 1], true),
                    ([0, 0, 0, 0, 0, 0, 0, 1], false),
                ],
            ),
            (
                "(a == 1 && b == 1) && (c == 1 && d == 1) && (e == 1 && f == 1) || (g == 1 && h == 1)",
                &[
                    ([1, 1, 1, 1, 1, 1, 0, 0], true),
                    ([0, 0, 0, 0, 0, 0, 0, 1], false),
                    ([1, 1, 1, 1, 1, 0, 1, 1], true),
                ],
            ),
            (
                "((a == 1 || b == 1) || (c == 1 || d == 1) || (e == 1 || f == 1)) && (g == 1 || h == 1)",
                &[
                    ([1, 1, 1, 1, 1, 1, 0, 1], true),
                    ([0, 0, 0, 0, 0, 0, 0, 0], false),
                    ([1, 1, 1, 1, 1, 0, 1, 1], true),
                ],
            ),
            (
                "((((((((a == 1) && (b == 1)) || (c == 1)) && (d == 1)) || (e == 1)) && (f == 1)) || (g == 1)) && (h == 1))",
                &[
                    ([1, 1, 1, 1, 1, 1, 1, 1], true),
                    ([0, 1, 0, 1, 0, 1, 0, 1], false),
                    ([1, 0, 1, 0, 1, 0, 1, 0], false),
                ],
            ),
            (
                "((((((((a == 1) || (b == 1)) && (c == 1)) || (d == 1)) && (e == 1)) || (f == 1)) && (g == 1)) || (h == 1))",
                &[
                    ([1, 1, 1, 1, 1, 1, 1, 1], true),
                    ([0, 1, 0, 1, 0, 1, 0, 1], true),
                    ([1, 0, 1, 0, 1, 0, 1, 0], true),
                ],
            ),
        ];
        for (text, records) in table {
            let f = parse(text, abc).unwrap();
            for (values, want) in records {
                let rec: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
                assert_eq!(f.matches(&rec, &CTX), *want, "{text} on {values:?}");
            }
        }
    }

    /// Every combination of three predicates under `&&`/`||`, with and without `!` and
    /// parentheses, against Rust's own evaluation of the same expression.
    #[test]
    fn and_binds_tighter_than_or_and_not_negates() {
        let abc = |name: &str| {
            let i = "abc".find(name).filter(|_| name.len() == 1)?;
            Some(FilterField {
                offset: i,
                kind: FieldKind::Int {
                    size: 1,
                    signed: false,
                },
            })
        };
        type Eval = fn(bool, bool, bool) -> bool;
        let forms: [(&str, Eval); 12] = [
            ("a == 1 || b == 1 && c == 1", |a, b, c| a || b && c),
            ("a == 1 && b == 1 || c == 1", |a, b, c| a && b || c),
            ("(a == 1 || b == 1) && c == 1", |a, b, c| (a || b) && c),
            ("a == 1 && (b == 1 || c == 1)", |a, b, c| a && (b || c)),
            ("!a == 1 || b == 1", |a, b, _| !a || b),
            ("!(a == 1 || b == 1) && c == 1", |a, b, c| !(a || b) && c),
            ("!(a == 1 && !b == 1) || c == 1", |a, b, c| !(a && !b) || c),
            ("!!a == 1", |a, _, _| a),
            ("!(!(a == 1) || !(b == 1 && c == 1))", |a, b, c| a && b && c),
            ("a == 1 || !(b == 1 || !c == 1)", |a, b, c| a || !(b || !c)),
            ("a != 1 && b != 1 || !(c != 1)", |a, b, c| !a && !b || c),
            ("a == 1 &&", |a, _, _| a),
        ];
        for (text, eval) in forms {
            let f = parse(text, abc).unwrap();
            for bits in 0..8u8 {
                let v = [bits & 1, (bits >> 1) & 1, (bits >> 2) & 1];
                let want = eval(v[0] == 1, v[1] == 1, v[2] == 1);
                assert_eq!(f.matches(&v, &CTX), want, "{text} with {v:?}");
            }
        }
    }

    #[test]
    fn the_program_only_branches_forwards() {
        let f = parse(
            "(u8f == 1 || s8f == 1) && !(u16f == 1 && s16f == 1)",
            lookup,
        )
        .unwrap();
        assert_eq!(f.prog.len(), 4);
        for (i, e) in f.prog.iter().enumerate() {
            assert!(e.target > i && e.target <= f.prog.len());
        }
    }

    fn err_at(filter: &str, err: FilterErr, pos: usize, errno: Errno) {
        let e = error(filter);
        assert_eq!((e.err, e.pos, e.errno), (err, pos, errno), "{filter:?}");
    }

    #[test]
    fn every_error_at_linux_position() {
        use Errno::*;
        use FilterErr as E;
        // The ftracetest case: the caret under `==` after the unknown field.
        let signal = |name: &str| match name {
            "sig" => lookup("s32f"),
            _ => None,
        };
        let e = parse(
            "((sig >= 10 && sig < 15) || dsig == 17) && comm != bash",
            signal,
        );
        assert_eq!(e.unwrap_err().pos, 33);
        err_at("nosuch == 1", E::FieldNotFound, 7, EINVAL);
        err_at("u8f = 1", E::InvalidOp, 5, EINVAL);
        err_at("u8f", E::InvalidOp, 4, EINVAL);
        err_at("u8f =~ 1", E::InvalidOp, 5, EINVAL);
        err_at("u8f == 'x'", E::ExpectDigit, 8, EINVAL);
        err_at("name == 1", E::ExpectString, 9, EINVAL);
        err_at("u8f ~ 1", E::IllegalFieldOp, 7, EINVAL);
        err_at("u8f < 'x'", E::IllegalFieldOp, 7, EINVAL);
        err_at("name < 'x'", E::IllegalFieldOp, 8, EINVAL);
        err_at("name & 'x'", E::IllegalFieldOp, 8, EINVAL);
        err_at("name == bash", E::InvalidValue, 9, EINVAL);
        err_at("u8f ==", E::InvalidValue, 7, EINVAL);
        err_at("u8f == 12x", E::IllegalIntval, 8, EINVAL);
        err_at("u8f == -1", E::IllegalIntval, 8, EINVAL);
        err_at("s8f == -", E::IllegalIntval, 8, EINVAL);
        err_at("u8f == 08", E::IllegalIntval, 8, EINVAL);
        err_at("u64f == 18446744073709551616", E::IllegalIntval, 9, EINVAL);
        err_at("s64f == 9223372036854775808", E::IllegalIntval, 9, EINVAL);
        err_at("s64f == -9223372036854775809", E::IllegalIntval, 9, EINVAL);
        let long = format!("u8f == 0x{}1", "0".repeat(21));
        err_at(&long, E::OperandTooLong, 1 + 7 + 24, EINVAL);
        assert!(parse(&format!("u8f == 0x{}1", "0".repeat(20)), lookup).is_ok());
        let long = format!("name == '{}'", "x".repeat(256));
        err_at(&long, E::OperandTooLong, 1 + 8 + 1 + 256, EINVAL);
        err_at("u8f == 1 s8f == 2", E::TooManyPreds, 9, EPERM);
        err_at("u8f == 1 & s8f == 2", E::TooManyPreds, 9, EPERM);
        err_at("u8f == 1 | s8f == 2", E::TooManyPreds, 9, EPERM);
        err_at("u8f == 1)", E::TooManyClose, 8, EPERM);
        err_at("(u8f == 1", E::TooManyOpen, 0, ENOENT);
        err_at("u8f == 1 && (s8f == 2", E::TooManyOpen, 12, ENOENT);
        err_at("(u8f == 1) && ((s8f == 2)", E::TooManyOpen, 14, ENOENT);
        err_at("name == 'abc", E::MissingQuote, 8, ESRCH);
        err_at("name == \"a' && u8f == 1", E::MissingQuote, 8, ESRCH);
        err_at("!", E::NoFilter, 1, EINVAL);
        err_at("!  ", E::NoFilter, 1, EINVAL);
        // Refused without a message, with Linux's status.
        err_at("", E::None, 0, EINVAL);
        err_at(" \t\n", E::None, 0, EINVAL);
        err_at("()", E::None, 0, EINVAL);
        err_at("== 1", E::None, 0, EPERM);
        err_at("(!)", E::None, 0, EPERM);
        err_at("u8f == 1 && != 2", E::None, 0, EPERM);
    }

    #[test]
    fn the_filter_file_after_an_error() {
        assert_eq!(
            shown("nosuch == 1"),
            "nosuch == 1\n       ^\nparse_error: Field not found\n"
        );
        assert_eq!(
            shown("  u8f = 1\n"),
            "  u8f = 1\n       ^\nparse_error: Invalid operator\n"
        );
        // The position is clamped to the text.
        assert_eq!(shown("u8f"), "u8f\n   ^\nparse_error: Invalid operator\n");
        // Position 0 puts the caret in column 0; 1 also does (the width is then 2).
        assert_eq!(
            shown("(u8f == 1"),
            "(u8f == 1\n^\nparse_error: Too many '('\n"
        );
        assert_eq!(shown("!"), "!\n ^\nparse_error: No filter found\n");
        assert_eq!(shown(""), "\nError: (0)\n");
        assert_eq!(shown("== 1"), "== 1\nError: (0)\n");
        let mut s = String::new();
        let oom = FilterParseError::silent(Errno::ENOMEM);
        filter_err_show("u8f == 1", &oom, &mut s).unwrap();
        assert_eq!(s, "u8f == 1\nError: (-12)\n");
    }

    #[test]
    fn error_log_pieces() {
        let e = error("u8f == 1 && nosuch == 2");
        assert_eq!(e.log_err(), (FilterErr::FieldNotFound, 19));
        assert_eq!(ERR_TEXT[e.log_err().0 as usize], "Field not found");
        assert_eq!(error("== 1").log_err(), (FilterErr::Errno, 0));
        assert_eq!(FilterErr::Errno.text(), "Error");
        assert_eq!(FilterErr::NoFilter as usize, ERR_TEXT.len() - 1);
        assert_eq!(FILTER_ERR_LOC, "event filter parse error");
    }

    #[test]
    fn subsystem_filters() {
        let sched_like = |name: &str| match name {
            "prev_pid" => lookup("s32f"),
            _ => None,
        };
        assert!(parse_subsystem_event("prev_pid == 1", sched_like).is_ok());
        let e = parse_subsystem_event("u8f == 1", sched_like).unwrap_err();
        assert_eq!(
            (e.err, e.pos, e.errno),
            (FilterErr::BadSubsysFilter, 0, Errno::EINVAL)
        );
        let mut s = String::new();
        filter_err_show("u8f == 1", &e, &mut s).unwrap();
        assert_eq!(
            s,
            "u8f == 1\n^\nparse_error: Couldn't find or set field in one of a subsystem's events\n"
        );
        assert!(DEFAULT_SYS_FILTER_MESSAGE.starts_with("### global filter ###\n"));
    }

    #[test]
    fn text_clear_and_long_input() {
        assert!(is_clear("0"));
        assert!(is_clear(" 0 \n"));
        assert!(!is_clear("00"));
        assert!(!is_clear("0 0"));
        assert!(!is_clear(""));
        let f = parse("  u8f == 1 \n", lookup).unwrap();
        assert_eq!(f.text(), "  u8f == 1");
        assert_eq!(filter_text("u8f == 1\0 garbage"), "u8f == 1");
        // A page of predicates: parses, evaluates, and only the last one decides.
        let mut text = String::new();
        for _ in 0..200 {
            text.push_str("u8f == 9 || ");
        }
        text.push_str("s8f == 3");
        let f = parse(&text, lookup).unwrap();
        assert_eq!(f.prog.len(), 201);
        assert!(f.matches(&Rec::new().int("s8f", 3).0, &CTX));
        assert!(!f.matches(&Rec::new().0, &CTX));
        // Deep parentheses.
        let deep = format!("{}u8f == 0{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep, lookup).unwrap().matches(&Rec::new().0, &CTX));
        // Garbage never panics.
        for text in [
            "((((",
            "))))",
            "'''",
            "\"",
            "&&&&",
            "||||",
            "!!!!",
            "~~",
            "u8f ~~ 1",
            "\u{e9} == 1",
        ] {
            assert!(parse(text, lookup).is_err(), "{text:?}");
        }
    }
    /// Linux 6.12's answers for filters written to `sched_switch`: the write's error,
    /// what `filter` reads back, and the `error_log` caret position.
    const LINUX_SCHED_SWITCH: &[(&str, Option<&str>, &str, Option<usize>)] = &[
        (
            "prev_pid == 1 || next_pid == 1",
            None,
            "prev_pid == 1 || next_pid == 1\n",
            None,
        ),
        ("prev_pid == 1 &&", None, "prev_pid == 1 &&\n", None),
        (
            "prev_pidd == 1",
            Some("Invalid argument"),
            "prev_pidd == 1\n          ^\nparse_error: Field not found\n\n",
            Some(10),
        ),
        (
            "prev_pid = 1",
            Some("Invalid argument"),
            "prev_pid = 1\n          ^\nparse_error: Invalid operator\n\n",
            Some(10),
        ),
        (
            "prev_pid == ",
            Some("Invalid argument"),
            "prev_pid ==\n           ^\nparse_error: Invalid value (did you forget quotes)?\n\n",
            Some(12),
        ),
        (
            "(prev_pid == 1",
            Some("No such file or directory"),
            "(prev_pid == 1\n^\nparse_error: Too many '('\n\n",
            Some(0),
        ),
        (
            "prev_pid == 1)",
            Some("Operation not permitted"),
            "prev_pid == 1)\n             ^\nparse_error: Too few '('\n\n",
            Some(13),
        ),
        (
            "prev_comm == \"sh",
            Some("No such process"),
            "prev_comm == \"sh\n             ^\nparse_error: Missing matching quote\n\n",
            Some(13),
        ),
        ("prev_comm ~ \"*sh\"", None, "prev_comm ~ \"*sh\"\n", None),
        ("prev_comm ~ \"sh*\"", None, "prev_comm ~ \"sh*\"\n", None),
        (
            "prev_comm ~ \"s[hx]\"",
            None,
            "prev_comm ~ \"s[hx]\"\n",
            None,
        ),
        (
            "prev_pid ~ 1",
            Some("Invalid argument"),
            "prev_pid ~ 1\n            ^\nparse_error: Illegal operation for field type\n\n",
            Some(12),
        ),
        (
            "prev_comm > \"a\"",
            Some("Invalid argument"),
            "prev_comm > \"a\"\n             ^\nparse_error: Illegal operation for field type\n\n",
            Some(13),
        ),
        ("prev_pid & 1", None, "prev_pid & 1\n", None),
        ("!prev_pid == 1", None, "!prev_pid == 1\n", None),
        ("!(prev_pid == 1)", None, "!(prev_pid == 1)\n", None),
        ("prev_pid == 0x1f", None, "prev_pid == 0x1f\n", None),
        (
            "prev_pid == abc",
            Some("Invalid argument"),
            "prev_pid == abc\n             ^\nparse_error: Invalid value (did you forget quotes)?\n\n",
            Some(13),
        ),
        ("prev_pid == -1", None, "prev_pid == -1\n", None),
        (
            "prev_pid != 1 && prev_prio <= 120 && prev_prio >= 100 && prev_prio < 140 && prev_prio > 0",
            None,
            "prev_pid != 1 && prev_prio <= 120 && prev_prio >= 100 && prev_prio < 140 && prev_prio > 0\n",
            None,
        ),
        ("common_pid == 1", None, "common_pid == 1\n", None),
        ("CPU == 0", None, "CPU == 0\n", None),
        ("cpu == 0", None, "cpu == 0\n", None),
        ("COMM == \"sh\"", None, "COMM == \"sh\"\n", None),
        ("comm == \"sh\"", None, "comm == \"sh\"\n", None),
        (
            "prev_comm == sh",
            Some("Invalid argument"),
            "prev_comm == sh\n              ^\nparse_error: Invalid value (did you forget quotes)?\n\n",
            Some(14),
        ),
        ("prev_comm == 'sh'", None, "prev_comm == 'sh'\n", None),
        ("prev_comm != \"sh\"", None, "prev_comm != \"sh\"\n", None),
        (
            "prev_comm == \"init\"",
            None,
            "prev_comm == \"init\"\n",
            None,
        ),
        (
            "prev_pid == 1 || (next_pid == 2 && prev_prio < 120)",
            None,
            "prev_pid == 1 || (next_pid == 2 && prev_prio < 120)\n",
            None,
        ),
        (
            "prev_pid==1||next_pid==2",
            None,
            "prev_pid==1||next_pid==2\n",
            None,
        ),
        ("  prev_pid == 1  ", None, "  prev_pid == 1\n", None),
        (
            "((((prev_pid == 1))))",
            None,
            "((((prev_pid == 1))))\n",
            None,
        ),
        (
            "prev_pid == 1 prev_pid == 2",
            Some("Operation not permitted"),
            "prev_pid == 1 prev_pid == 2\n              ^\nparse_error: Too many terms in predicate expression\n\n",
            Some(14),
        ),
        ("prev_state == 1", None, "prev_state == 1\n", None),
        ("prev_state & 1", None, "prev_state & 1\n", None),
        (
            "prev_pid == 1 ||| next_pid == 1",
            Some("Operation not permitted"),
            "prev_pid == 1 ||| next_pid == 1\nError: (0)\n\n",
            Some(0),
        ),
        (
            "prev_pid == 99999999999999999999",
            Some("Invalid argument"),
            "prev_pid == 99999999999999999999\n             ^\nparse_error: Illegal integer value\n\n",
            Some(13),
        ),
        (
            "common_preempt_count == 0",
            None,
            "common_preempt_count == 0\n",
            None,
        ),
        ("common_flags & 1", None, "common_flags & 1\n", None),
        (
            "1 == prev_pid",
            Some("Invalid argument"),
            "1 == prev_pid\n  ^\nparse_error: Field not found\n\n",
            Some(2),
        ),
        (
            "&& prev_pid == 1",
            Some("Operation not permitted"),
            "&& prev_pid == 1\nError: (0)\n\n",
            Some(0),
        ),
        (
            "()",
            Some("Invalid argument"),
            "()\nError: (0)\n\n",
            Some(0),
        ),
        ("", Some("Invalid argument"), "\nError: (0)\n\n", Some(0)),
        ("0", None, "none\n", None),
        ("prev_pid == 1", None, "prev_pid == 1\n", None),
    ];

    /// `sched_switch`'s fields in Linux 6.12.
    fn sched_switch(name: &str) -> Option<FilterField> {
        let int = |offset, size, signed| {
            let kind = FieldKind::Int { size, signed };
            Some(FilterField { offset, kind })
        };
        let comm = |offset| {
            let kind = FieldKind::StaticString { len: 16 };
            Some(FilterField { offset, kind })
        };
        match name {
            "common_type" => int(0, 2, false),
            "common_flags" => int(2, 1, false),
            "common_preempt_count" => int(3, 1, false),
            "common_pid" => int(4, 4, true),
            "prev_comm" => comm(8),
            "prev_pid" => int(24, 4, true),
            "prev_prio" => int(28, 4, true),
            "prev_state" => int(32, 8, true),
            "next_comm" => comm(40),
            "next_pid" => int(56, 4, true),
            "next_prio" => int(60, 4, true),
            _ => None,
        }
    }

    /// Thousands of generated filters, a third of them then damaged (a fixed pseudo-random
    /// sequence): parsing never panics, every program only branches forwards, and
    /// evaluating it never panics.
    #[test]
    fn generated_filters_never_panic() {
        const PREDS: [&str; 10] = [
            "u8f == 1",
            "s64f < -0x1f",
            "name ~ 'b*'",
            "msg != \"abc\"",
            "comm == 'sh'",
            "CPU >= 2",
            "u16f & 0x10",
            "nosuch == 1",
            "s8f == x",
            "name < 'a'",
        ];
        const JUNK: [&str; 12] = [
            "(", ")", "!", "&&", "||", "&", "'", "\"", "=", " ", "~", "0x",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        fn expr(next: &mut dyn FnMut(usize) -> usize, depth: u32, out: &mut String) {
            match if depth > 3 { 0 } else { next(5) } {
                0 | 1 => out.push_str(PREDS[next(PREDS.len())]),
                2 => {
                    out.push('(');
                    expr(next, depth + 1, out);
                    out.push(')');
                }
                3 => {
                    out.push('!');
                    expr(next, depth + 1, out);
                }
                _ => {
                    expr(next, depth + 1, out);
                    out.push_str([" && ", " || ", "&&", "||"][next(4)]);
                    expr(next, depth + 1, out);
                }
            }
        }
        let rec = Rec::new().msg(b"abc");
        let (mut parsed, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut text = String::new();
            expr(&mut next, 0, &mut text);
            if next(3) == 0 {
                let at = next(text.len() + 1);
                if next(2) == 0 && at < text.len() {
                    text.remove(at);
                } else {
                    text.insert_str(at, JUNK[next(JUNK.len())]);
                }
            }
            match parse(&text, lookup) {
                Ok(f) => {
                    parsed += 1;
                    for (i, e) in f.prog.iter().enumerate() {
                        assert!(e.target > i && e.target <= f.prog.len(), "{text:?}");
                    }
                    f.matches(&rec.0, &CTX);
                    f.matches(&[], &CTX);
                }
                Err(e) => {
                    refused += 1;
                    let mut shown = String::new();
                    filter_err_show(&text, &e, &mut shown).unwrap();
                }
            }
        }
        assert!(
            parsed > 1000 && refused > 1000,
            "{parsed} parsed, {refused} refused"
        );
    }

    /// `sched_switch` as the registry describes it (Linux 6.12's fields after the header).
    static SCHED_SWITCH: [Field; 7] = [
        Field::new("char", "prev_comm", 8, 16, FieldType::Array { len: 16 }),
        Field::new("pid_t", "prev_pid", 24, 4, FieldType::S),
        Field::new("int", "prev_prio", 28, 4, FieldType::S),
        Field::new("long", "prev_state", 32, 8, FieldType::S),
        Field::new("char", "next_comm", 40, 16, FieldType::Array { len: 16 }),
        Field::new("pid_t", "next_pid", 56, 4, FieldType::S),
        Field::new("int", "next_prio", 60, 4, FieldType::S),
    ];

    #[test]
    fn registry_fields_read_as_linux_assigns_them() {
        let names = [
            "common_type",
            "common_flags",
            "common_preempt_count",
            "common_pid",
            "prev_comm",
            "prev_pid",
            "prev_prio",
            "prev_state",
            "next_comm",
            "next_pid",
            "next_prio",
            "nosuch",
        ];
        for name in names {
            assert_eq!(
                event_field(&SCHED_SWITCH, name),
                sched_switch(name),
                "{name}"
            );
        }
        let loc = Field::new("char", "msg", 48, 4, FieldType::DataLoc);
        assert_eq!(FilterField::of(&loc).kind, FieldKind::DynString);
        let loc = Field::new("u8", "bytes", 48, 4, FieldType::DataLoc);
        let raw = FieldKind::Int {
            size: 4,
            signed: false,
        };
        assert_eq!(FilterField::of(&loc).kind, raw);
        let frames = Field::new(
            "unsigned long",
            "caller",
            16,
            64,
            FieldType::Array { len: 8 },
        );
        let nop = FieldKind::Int {
            size: 64,
            signed: false,
        };
        assert_eq!(FilterField::of(&frames).kind, nop);
        // A `char buf[]` runs to the end of the record, as Linux's zero-length char array.
        let buf = Field::new("char", "buf", 16, 0, FieldType::DynArray);
        let field = FilterField::of(&buf);
        assert_eq!(field.kind, FieldKind::StaticString { len: 0 });
        let lookup = |name: &str| (name == "buf").then_some(field);
        let mut rec = vec![0u8; 16];
        rec.extend_from_slice(b"hello world\n");
        let on = |text| parse(text, lookup).unwrap().matches(&rec, &CTX);
        assert!(on("buf == 'hello world\n'"));
        assert!(on("buf ~ 'hello*'"));
        assert!(on("buf ~ '*wor*'"));
        assert!(!on("buf == 'hello'"));
    }

    #[test]
    fn byte_for_byte_as_linux() {
        for &(text, write_error, filter_file, log_pos) in LINUX_SCHED_SWITCH {
            if is_clear(text) {
                assert_eq!(filter_file, "none\n");
                continue;
            }
            let from_registry = parse(text, |name| event_field(&SCHED_SWITCH, name));
            assert_eq!(
                from_registry.as_ref().err(),
                parse(text, sched_switch).as_ref().err()
            );
            match parse(text, sched_switch) {
                Ok(f) => {
                    assert_eq!(write_error, None, "{text:?}");
                    assert_eq!(format!("{}\n", f.text()), filter_file, "{text:?}");
                }
                Err(e) => {
                    assert_eq!(write_error, Some(e.errno.text()), "{text:?}");
                    let mut shown = String::new();
                    filter_err_show(text, &e, &mut shown).unwrap();
                    assert_eq!(format!("{shown}\n"), filter_file, "{text:?}");
                    assert_eq!(Some(e.log_err().1), log_pos, "{text:?}");
                }
            }
        }
    }

    /// Linux's `prev_comm ~ "*sched"` records nothing for `rcu_sched`: the end match of a
    /// 16-byte array looks at bytes 9..15, past the name.
    #[test]
    fn end_match_on_comm_arrays_as_linux() {
        let mut rec = vec![0u8; 64];
        rec[8..17].copy_from_slice(b"rcu_sched");
        let on = |text| parse(text, sched_switch).unwrap().matches(&rec, &CTX);
        assert!(!on("prev_comm ~ \"*sched\""));
        assert!(on("prev_comm ~ \"rcu*\""));
        assert!(on("prev_comm ~ \"*cu_sch*\""));
        assert!(on("prev_comm ~ \"[rk]*\""));
        assert!(on("prev_comm ~ \"rcu_sche?\""));
    }
}
