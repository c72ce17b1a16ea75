//! The common half of probe events (Linux: `kernel/trace/trace_probe.c`, `trace_probe.h` and
//! `trace_probe_tmpl.h`): the fetch-argument grammar shared by `kprobe_events` and
//! `dynamic_events`, compiled into small fetch programs; the executor that runs a program
//! against a probe hit (registers plus a no-fault memory reader) and stores the values into an
//! entry; the entry's layout (fields, `print fmt`) and its printer; and the error log texts
//! with Linux's caret positions.
//!
//! What a fetch argument is, as Linux 6.12 accepts it on a kernel probe:
//!
//! ```text
//! [NAME=]FETCHARG[:TYPE]      TYPE: u8..u64 s8..s64 x8..x64 char string ustring symbol symstr
//!                                   b<width>@<offset>/<container>, any of them as TYPE[N]
//! FETCHARG: %REG (x0..x30, sp, pc, pstate)  $argN  $retval  $stack  $stackN  $comm
//!           @ADDR  @SYM[+|-offs]  +|-[u]OFFS(FETCHARG)  \IMM  \"STRING"
//! ```
//!
//! Each argument compiles into at most [`FETCH_INSN_MAX`] [`FetchOp`]s, in Linux's stages: a
//! load (register, stack, argument, immediate, ...), dereferences, one store, an optional
//! bitfield fix-up and an optional array loop. The parser works on Linux's fixed-size
//! instruction array so that `Dereference is too much nested` fires at exactly Linux's depth.
//!
//! Where we differ from Linux, on purpose:
//! - Symbols are Rust paths: `::` belongs to a name. The `:TYPE` separator of an argument is
//!   therefore the first `:` that is not part of a `::` (Linux takes the first `:`), so
//!   `@kernel::workload::COUNTER:u32` works.
//! - No BTF: a bare name (`foo`) or `$arg*` is refused with Linux's "BTF is not available"
//!   error, as a Linux without `CONFIG_PROBE_EVENTS_BTF_ARGS` does; default argument names are
//!   `argN`. No `%pd`/`%pD` dentry types (no VFS dentries): they are unknown types.
//! - A scalar read that faults stores zeroes (Linux leaves whatever the ring buffer held); a
//!   string that faults prints `(fault)`, as Linux. A `symstr` is stored with its NUL and its
//!   length (Linux 6.12 leaves the data location's length at the room it had).
//!
//! Everything here is plain data and pure functions, host-tested, except `TrapFrameCtx`: a
//! probe hit on this kernel (trap frame, no-fault reads, current task, kallsyms). The command
//! grammars are in `trace_kprobe` and `trace_fprobe`, the list and the tracefs files in
//! `trace_dynevent`.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::trace_events::{Field, FieldType};
use crate::fs::Errno;

/// The most arguments a probe takes.
pub const MAX_TRACE_ARGS: usize = 128;
/// The longest argument expression (after `NAME=`).
pub const MAX_ARGSTR_LEN: usize = 63;
/// The most elements of an array argument.
pub const MAX_ARRAY_LEN: usize = 64;
/// The longest argument name.
pub const MAX_ARG_NAME_LEN: usize = 32;
/// The longest string an argument records (Linux: `PATH_MAX`).
pub const MAX_STRING_SIZE: usize = 4096;
/// Event and group names are shorter than this (Linux's `MAX_EVENT_NAME_LEN`).
pub const MAX_EVENT_NAME_LEN: usize = 64;
/// Instructions of one fetch program: load, up to 12 dereferences, store, modify, end.
pub const FETCH_INSN_MAX: usize = 16;
/// What a string argument that could not be read prints.
pub const FAULT_STRING: &str = "(fault)";
/// The reserved field names of a probe event.
pub const FIELD_STRING_IP: &str = "__probe_ip";
pub const FIELD_STRING_RETIP: &str = "__probe_ret_ip";
pub const FIELD_STRING_FUNC: &str = "__probe_func";

/// Our kernel stack size (`crate::sched::THREAD_SIZE`; Linux arm64 has 16 KiB), which bounds
/// `$stackN` and `$argN` as Linux's `PARAM_MAX_STACK` does.
pub const THREAD_SIZE: usize = 64 * 1024;
#[cfg(target_os = "none")]
const _: () = assert!(THREAD_SIZE == crate::sched::THREAD_SIZE);
/// The largest `N` of `$stackN` and `$argN`.
pub const PARAM_MAX_STACK: u64 = (THREAD_SIZE / 8) as u64;

/// Names a probe argument may not take (Linux's `reserved_field_names`).
const RESERVED_FIELD_NAMES: [&str; 8] = [
    "common_type",
    "common_flags",
    "common_preempt_count",
    "common_pid",
    "common_tgid",
    FIELD_STRING_IP,
    FIELD_STRING_RETIP,
    FIELD_STRING_FUNC,
];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

macro_rules! tp_errors {
    ($($name:ident => $text:literal,)*) => {
        /// Linux's `TP_ERR_*`, in Linux 6.12's order: the index into [`TP_ERR_TEXT`] that
        /// `error_log` entries carry.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum TpErr { $($name,)* }

        /// The texts of [`TpErr`], by index (Linux's `trace_probe_err_text`).
        pub static TP_ERR_TEXT: [&str; [$($text),*].len()] = [$($text),*];
    };
}

tp_errors! {
    FILE_NOT_FOUND => "Failed to find the given file",
    NO_REGULAR_FILE => "Not a regular file",
    BAD_REFCNT => "Invalid reference counter offset",
    REFCNT_OPEN_BRACE => "Reference counter brace is not closed",
    BAD_REFCNT_SUFFIX => "Reference counter has wrong suffix",
    BAD_UPROBE_OFFS => "Invalid uprobe offset",
    BAD_MAXACT_TYPE => "Maxactive is only for function exit",
    BAD_MAXACT => "Invalid maxactive number",
    MAXACT_TOO_BIG => "Maxactive is too big",
    BAD_PROBE_ADDR => "Invalid probed address or symbol",
    NON_UNIQ_SYMBOL => "The symbol is not unique",
    BAD_RETPROBE => "Retprobe address must be an function entry",
    NO_TRACEPOINT => "Tracepoint is not found",
    BAD_TP_NAME => "Invalid character in tracepoint name",
    BAD_ADDR_SUFFIX => "Invalid probed address suffix",
    NO_GROUP_NAME => "Group name is not specified",
    GROUP_TOO_LONG => "Group name is too long",
    BAD_GROUP_NAME => "Group name must follow the same rules as C identifiers",
    NO_EVENT_NAME => "Event name is not specified",
    EVENT_TOO_LONG => "Event name is too long",
    BAD_EVENT_NAME => "Event name must follow the same rules as C identifiers",
    EVENT_EXIST => "Given group/event name is already used by another event",
    RETVAL_ON_PROBE => "$retval is not available on probe",
    NO_RETVAL => "This function returns 'void' type",
    BAD_STACK_NUM => "Invalid stack number",
    BAD_ARG_NUM => "Invalid argument number",
    BAD_VAR => "Invalid $-valiable specified",
    BAD_REG_NAME => "Invalid register name",
    BAD_MEM_ADDR => "Invalid memory address",
    BAD_IMM => "Invalid immediate value",
    IMMSTR_NO_CLOSE => "String is not closed with '\"'",
    FILE_ON_KPROBE => "File offset is not available with kprobe",
    BAD_FILE_OFFS => "Invalid file offset value",
    SYM_ON_UPROBE => "Symbol is not available with uprobe",
    TOO_MANY_OPS => "Dereference is too much nested",
    DEREF_NEED_BRACE => "Dereference needs a brace",
    BAD_DEREF_OFFS => "Invalid dereference offset",
    DEREF_OPEN_BRACE => "Dereference brace is not closed",
    COMM_CANT_DEREF => "$comm can not be dereferenced",
    BAD_FETCH_ARG => "Invalid fetch argument",
    ARRAY_NO_CLOSE => "Array is not closed",
    BAD_ARRAY_SUFFIX => "Array has wrong suffix",
    BAD_ARRAY_NUM => "Invalid array size",
    ARRAY_TOO_BIG => "Array number is too big",
    BAD_TYPE => "Unknown type is specified",
    BAD_STRING => "String accepts only memory argument",
    BAD_SYMSTRING => "Symbol String doesn't accept data/userdata",
    BAD_BITFIELD => "Invalid bitfield",
    ARG_NAME_TOO_LONG => "Argument name is too long",
    NO_ARG_NAME => "Argument name is not specified",
    BAD_ARG_NAME => "Argument name must follow the same rules as C identifiers",
    USED_ARG_NAME => "This argument name is already used",
    ARG_TOO_LONG => "Argument expression is too long",
    NO_ARG_BODY => "No argument expression",
    BAD_INSN_BNDRY => "Probe point is not an instruction boundary",
    FAIL_REG_PROBE => "Failed to register probe event",
    DIFF_PROBE_TYPE => "Probe type is different from existing probe",
    DIFF_ARG_TYPE => "Argument type or name is different from existing probe",
    SAME_PROBE => "There is already the exact same probe event",
    NO_EVENT_INFO => "This requires both group and event name to attach",
    BAD_ATTACH_EVENT => "Attached event does not exist",
    BAD_ATTACH_ARG => "Attached event does not have this field",
    NO_EP_FILTER => "No filter rule after 'if'",
    NOSUP_BTFARG => "BTF is not available or not supported",
    NO_BTFARG => "This variable is not found at this probe point",
    NO_BTF_ENTRY => "No BTF entry for this probe point",
    BAD_VAR_ARGS => "$arg* must be an independent parameter without name etc.",
    NOFENTRY_ARGS => "$arg* can be used only on function entry or exit",
    DOUBLE_ARGS => "$arg* can be used only once in the parameters",
    ARGS_2LONG => "$arg* failed because the argument list is too long",
    ARGIDX_2BIG => "$argN index is too big",
    NO_PTR_STRCT => "This is not a pointer to union/structure.",
    NOSUP_DAT_ARG => "Non pointer structure/union argument is not supported.",
    BAD_HYPHEN => "Failed to parse single hyphen. Forgot '>'?",
    NO_BTF_FIELD => "This field is not found.",
    BAD_BTF_TID => "Failed to get BTF type info.",
    BAD_TYPE4STR => "This type does not fit for string.",
    NEED_STRING_TYPE => "$comm and immediate-string only accepts string type",
    TOO_MANY_ARGS => "Too many arguments are specified",
    TOO_MANY_EARGS => "Too many entry arguments specified",
}

impl TpErr {
    /// The error's text.
    pub fn text(self) -> &'static str {
        TP_ERR_TEXT[self as usize]
    }
}

/// Errors logged at a place in one word of a command: at most two (Linux logs a register
/// on an fprobe twice, as a bad variable and as a bad fetch argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrAt {
    items: [(TpErr, usize); 2],
    len: u8,
}

impl ErrAt {
    /// One error `offset` bytes into the word.
    pub const fn one(err: TpErr, offset: usize) -> Self {
        Self {
            items: [(err, offset); 2],
            len: 1,
        }
    }

    fn push(&mut self, err: TpErr, offset: usize) {
        if usize::from(self.len) < self.items.len() {
            self.items[usize::from(self.len)] = (err, offset);
            self.len += 1;
        }
    }

    /// The errors, in the order Linux logs them.
    pub fn iter(&self) -> impl Iterator<Item = (TpErr, usize)> + '_ {
        self.items[..usize::from(self.len)].iter().copied()
    }
}

/// Why one fetch argument was refused: the errno and what Linux logs, with offsets inside the
/// argument word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgError {
    pub errno: Errno,
    pub log: Option<ErrAt>,
}

impl ArgError {
    const fn logged(errno: Errno, err: TpErr, offset: usize) -> Self {
        Self {
            errno,
            log: Some(ErrAt::one(err, offset)),
        }
    }

    const fn inval(err: TpErr, offset: usize) -> Self {
        Self::logged(Errno::EINVAL, err, offset)
    }

    /// An error without a log entry (`ENOMEM`, ...).
    pub const fn silent(errno: Errno) -> Self {
        Self { errno, log: None }
    }
}

/// One `error_log` entry as Linux's `__trace_probe_log_err()` makes it: the words of the command
/// joined by single spaces, and the caret's position in that text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedError {
    /// `trace_kprobe` or `trace_fprobe`.
    pub subsystem: &'static str,
    pub command: String,
    pub err: TpErr,
    pub pos: usize,
}

/// Why a probe command was refused: the errno the write returns, and the `error_log` entries
/// (none for errors Linux does not log, such as `ENOMEM`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeError {
    pub errno: Errno,
    pub logged: Vec<LoggedError>,
}

impl ProbeError {
    /// An error Linux does not log.
    pub const fn silent(errno: Errno) -> Self {
        Self {
            errno,
            logged: Vec::new(),
        }
    }

    /// The last logged entry (what `tail -n 3 error_log` shows).
    pub fn last(&self) -> Option<&LoggedError> {
        self.logged.last()
    }

    /// Adds the entries to the kernel's `error_log`.
    #[cfg(target_os = "none")]
    pub fn log(&self) {
        for e in &self.logged {
            super::error_log::tracing_log_err(
                e.subsystem,
                &e.command,
                &TP_ERR_TEXT,
                e.err as usize,
                e.pos,
            );
        }
    }
}

impl From<ArgError> for Errno {
    fn from(e: ArgError) -> Self {
        e.errno
    }
}

/// The command being parsed, for error positions (Linux's `struct trace_probe_log`): its words,
/// and which word errors point into.
#[derive(Clone, Copy, Debug)]
pub struct ProbeLog<'a> {
    pub subsystem: &'static str,
    pub argv: &'a [&'a str],
    pub index: usize,
}

impl<'a> ProbeLog<'a> {
    pub const fn new(subsystem: &'static str, argv: &'a [&'a str]) -> Self {
        Self {
            subsystem,
            argv,
            index: 0,
        }
    }

    /// Linux's `trace_probe_log_set_index()`.
    pub fn set_index(&mut self, index: usize) {
        self.index = index;
    }

    /// The caret position of `offset` bytes into the current word. Past the last word, the
    /// caret stands after the command and a space, offset ignored (Linux's rule).
    pub fn pos(&self, offset: usize) -> usize {
        let start: usize = self.argv[..self.index.min(self.argv.len())]
            .iter()
            .map(|a| a.len() + 1)
            .sum();
        if self.index >= self.argv.len() {
            start
        } else {
            start + offset
        }
    }

    /// The words joined by single spaces, or `None` without the memory for it.
    fn command(&self) -> Option<String> {
        let len: usize = self.argv.iter().map(|a| a.len() + 1).sum();
        let mut cmd = String::new();
        cmd.try_reserve_exact(len).ok()?;
        for (i, a) in self.argv.iter().enumerate() {
            if i > 0 {
                cmd.push(' ');
            }
            cmd.push_str(a);
        }
        Some(cmd)
    }

    /// The error `errno` with the entries of `at`, in the current word.
    pub fn error(&self, errno: Errno, at: Option<ErrAt>) -> ProbeError {
        let mut logged = Vec::new();
        if let Some(at) = at
            && let Some(command) = self.command()
            && logged.try_reserve_exact(usize::from(at.len)).is_ok()
        {
            for (err, offset) in at.iter() {
                logged.push(LoggedError {
                    subsystem: self.subsystem,
                    command: command.clone(),
                    err,
                    pos: self.pos(offset),
                });
            }
        }
        ProbeError { errno, logged }
    }

    /// `EINVAL` with one entry `offset` bytes into the current word.
    pub fn inval(&self, err: TpErr, offset: usize) -> ProbeError {
        self.error(Errno::EINVAL, Some(ErrAt::one(err, offset)))
    }

    /// `errno` with one entry `offset` bytes into word `index`.
    pub fn err_in(&self, index: usize, errno: Errno, err: TpErr, offset: usize) -> ProbeError {
        let mut at = *self;
        at.set_index(index);
        at.error(errno, Some(ErrAt::one(err, offset)))
    }
}

// ---------------------------------------------------------------------------------------------
// Linux's string helpers
// ---------------------------------------------------------------------------------------------

/// Linux's `_parse_integer_fixup_radix()` for base 0 or 16: the base and the digits.
fn fixup_radix(s: &[u8], base: u32) -> (u32, &[u8]) {
    let hex_prefix = s.len() >= 3 && s[0] == b'0' && s[1].eq_ignore_ascii_case(&b'x');
    match base {
        0 if hex_prefix && s[2].is_ascii_hexdigit() => (16, &s[2..]),
        0 if s.first() == Some(&b'0') => (8, s),
        0 => (10, s),
        16 if hex_prefix => (16, &s[2..]),
        b => (b, s),
    }
}

/// Linux's `kstrtoull()`: all of `s` (one trailing newline allowed) as an unsigned number in
/// `base` (0: `0x` hex, `0` octal, else decimal), a leading `+` allowed.
pub fn kstrtoull(s: &str, base: u32) -> Result<u64, Errno> {
    let s = s.as_bytes();
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (base, digits) = fixup_radix(s, base);
    let digits = digits.strip_suffix(b"\n").unwrap_or(digits);
    if digits.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut val: u64 = 0;
    for &c in digits {
        let d = char::from(c)
            .to_digit(16)
            .filter(|&d| d < base)
            .ok_or(Errno::EINVAL)?;
        val = val
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(Errno::ERANGE)?;
    }
    Ok(val)
}

/// Linux's `kstrtoll()`.
pub fn kstrtoll(s: &str, base: u32) -> Result<i64, Errno> {
    match s.strip_prefix('-') {
        Some(rest) => {
            let v = kstrtoull(rest, base)?;
            if v > 1 << 63 {
                return Err(Errno::ERANGE);
            }
            Ok((v as i64).wrapping_neg())
        }
        None => i64::try_from(kstrtoull(s, base)?).map_err(|_| Errno::ERANGE),
    }
}

/// Linux's `kstrtouint()`.
pub fn kstrtouint(s: &str, base: u32) -> Result<u32, Errno> {
    u32::try_from(kstrtoull(s, base)?).map_err(|_| Errno::ERANGE)
}

/// Linux's `simple_strtoul(s, &end, 0)`: the leading number of `s` and how many bytes it took
/// (0 when there is none).
fn simple_strtoul(s: &str) -> (u64, usize) {
    let bytes = s.as_bytes();
    let (base, digits) = fixup_radix(bytes, 0);
    let skipped = bytes.len() - digits.len();
    let mut val: u64 = 0;
    let mut used = 0;
    for &c in digits {
        let Some(d) = char::from(c).to_digit(16).filter(|&d| d < base) else {
            break;
        };
        val = val.wrapping_mul(u64::from(base)).wrapping_add(u64::from(d));
        used += 1;
    }
    (val, if used == 0 { 0 } else { skipped + used })
}

/// Linux's `is_good_name()`: a C identifier.
pub fn is_good_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Linux's `is_good_system_name()`: a C identifier that may also hold `-`.
pub fn is_good_system_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'-')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A generated event name made valid (Linux's `sanitize_event_name()`, which replaces the `:`
/// and `.` of C symbols; Rust paths hold more, so every character that cannot be in a C
/// identifier becomes `_`), cut to [`MAX_EVENT_NAME_LEN`] - 1 bytes as Linux's `snprintf`.
pub fn sanitize_event_name(name: &str) -> Result<String, Errno> {
    let mut out = String::new();
    let len = name.len().min(MAX_EVENT_NAME_LEN - 1);
    out.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    out.extend(name.bytes().take(len).map(|c| {
        if c.is_ascii_alphanumeric() || c == b'_' {
            char::from(c)
        } else {
            '_'
        }
    }));
    Ok(out)
}

/// Linux's `traceprobe_split_symbol_offset()`: `SYM[+|-OFFS]` into the symbol and the offset.
pub fn split_symbol_offset(symbol: &str) -> Result<(&str, i64), Errno> {
    match symbol.find(['+', '-']) {
        Some(at) => Ok((&symbol[..at], kstrtoll(&symbol[at..], 0)?)),
        None => Ok((symbol, 0)),
    }
}

/// A copy of `s`, or `ENOMEM`.
pub fn try_string(s: &str) -> Result<String, Errno> {
    let mut out = String::new();
    out.try_reserve_exact(s.len()).map_err(|_| Errno::ENOMEM)?;
    out.push_str(s);
    Ok(out)
}

/// `[GROUP/][EVENT]` (or `GROUP.EVENT`) of a probe definition, after its `:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventName<'a> {
    pub group: Option<&'a str>,
    pub event: Option<&'a str>,
}

/// Linux's `traceprobe_parse_event_name()`: `text` stands `offset` bytes into the current word.
pub fn parse_event_name<'a>(
    text: &'a str,
    offset: usize,
    log: &ProbeLog<'_>,
) -> Result<EventName<'a>, ProbeError> {
    let slash = text.find('/').or_else(|| text.find('.'));
    let (group, event, offset) = match slash {
        Some(0) => return Err(log.inval(TpErr::NO_GROUP_NAME, offset)),
        Some(at) if at + 1 > MAX_EVENT_NAME_LEN => {
            return Err(log.inval(TpErr::GROUP_TOO_LONG, offset));
        }
        Some(at) => {
            let group = &text[..at];
            if !is_good_system_name(group) {
                return Err(log.inval(TpErr::BAD_GROUP_NAME, offset));
            }
            (Some(group), &text[at + 1..], offset + at + 1)
        }
        None => (None, text, offset),
    };
    if event.is_empty() {
        if group.is_some() {
            return Ok(EventName { group, event: None });
        }
        return Err(log.inval(TpErr::NO_EVENT_NAME, offset));
    }
    if event.len() >= MAX_EVENT_NAME_LEN {
        return Err(log.inval(TpErr::EVENT_TOO_LONG, offset));
    }
    if !is_good_name(event) {
        return Err(log.inval(TpErr::BAD_EVENT_NAME, offset));
    }
    Ok(EventName {
        group,
        event: Some(event),
    })
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// How a stored value prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintKind {
    Unsigned,
    Signed,
    Hex,
    Char,
    Symbol,
    String,
}

/// A fetch type (Linux's `struct fetch_type`).
#[derive(Debug, PartialEq, Eq)]
pub struct FetchType {
    /// As written after `:`.
    pub name: &'static str,
    /// Bytes in the entry (a `__data_loc` for strings).
    pub size: usize,
    pub is_signed: bool,
    pub is_string: bool,
    pub kind: PrintKind,
    /// Its conversion in `print fmt`.
    pub fmt: &'static str,
    /// Its type in `format`.
    pub fmttype: &'static str,
}

macro_rules! ftype {
    ($name:literal, $size:literal, $signed:literal, $string:literal, $kind:ident, $fmt:literal, $fmttype:literal) => {
        FetchType {
            name: $name,
            size: $size,
            is_signed: $signed,
            is_string: $string,
            kind: PrintKind::$kind,
            fmt: $fmt,
            fmttype: $fmttype,
        }
    };
}

/// Linux's `probe_fetch_types`.
pub static PROBE_FETCH_TYPES: [FetchType; 17] = [
    ftype!(
        "string",
        4,
        true,
        true,
        String,
        "\\\"%s\\\"",
        "__data_loc char[]"
    ),
    ftype!(
        "ustring",
        4,
        true,
        true,
        String,
        "\\\"%s\\\"",
        "__data_loc char[]"
    ),
    ftype!(
        "symstr",
        4,
        true,
        true,
        String,
        "\\\"%s\\\"",
        "__data_loc char[]"
    ),
    ftype!("u8", 1, false, false, Unsigned, "%u", "u8"),
    ftype!("u16", 2, false, false, Unsigned, "%u", "u16"),
    ftype!("u32", 4, false, false, Unsigned, "%u", "u32"),
    ftype!("u64", 8, false, false, Unsigned, "%Lu", "u64"),
    ftype!("s8", 1, true, false, Signed, "%d", "s8"),
    ftype!("s16", 2, true, false, Signed, "%d", "s16"),
    ftype!("s32", 4, true, false, Signed, "%d", "s32"),
    ftype!("s64", 8, true, false, Signed, "%Ld", "s64"),
    ftype!("x8", 1, false, false, Hex, "0x%x", "u8"),
    ftype!("x16", 2, false, false, Hex, "0x%x", "u16"),
    ftype!("x32", 4, false, false, Hex, "0x%x", "u32"),
    ftype!("x64", 8, false, false, Hex, "0x%Lx", "u64"),
    ftype!("char", 1, false, false, Char, "'%c'", "u8"),
    ftype!("symbol", 8, false, false, Symbol, "%pS", "u64"),
];

/// The type of an argument without `:TYPE` (`unsigned long` in hex).
pub const DEFAULT_FETCH_TYPE: &str = "x64";

/// Linux's `find_fetch_type()`: a bitfield `b<w>@<o>/<c>` has the unsigned type of its
/// container.
pub fn find_fetch_type(ty: Option<&str>) -> Option<&'static FetchType> {
    let ty = ty.unwrap_or(DEFAULT_FETCH_TYPE);
    if ty.starts_with('b') {
        let container = &ty[ty.find('/')? + 1..];
        let name = match kstrtoull(container, 0).ok()? {
            8 => "u8",
            16 => "u16",
            32 => "u32",
            64 => "u64",
            _ => return None,
        };
        return find_fetch_type(Some(name));
    }
    PROBE_FETCH_TYPES.iter().find(|t| t.name == ty)
}

// ---------------------------------------------------------------------------------------------
// Fetch programs
// ---------------------------------------------------------------------------------------------

/// A register `%REG` names (arm64's `regs_query_register_offset()` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    /// `x0`..`x30`.
    X(u8),
    Sp,
    Pc,
    Pstate,
}

impl Reg {
    /// The register called `name`, exactly as arm64 Linux spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sp" => Some(Self::Sp),
            "pc" => Some(Self::Pc),
            "pstate" => Some(Self::Pstate),
            _ => {
                let n = name.strip_prefix('x')?;
                // Linux's table spells `x0`..`x30`: no sign, no leading zero.
                if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
                    return None;
                }
                if !n.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                n.parse().ok().filter(|&n| n <= 30).map(Self::X)
            }
        }
    }
}

/// One fetch instruction (Linux's `struct fetch_insn`). Loads make a value, dereferences
/// replace it by the word it points at, the store writes it into the entry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum FetchOp {
    /// An unused slot.
    #[default]
    Nop,
    // Stage 1: loads.
    Reg(Reg),
    /// The `N`th word above the stack pointer.
    Stack(u32),
    /// The stack pointer.
    StackP,
    Retval,
    Imm(u64),
    /// The current task's name (a string source).
    Comm,
    /// A function argument, from 0.
    Arg(u32),
    /// An immediate string (a string source).
    Data(Box<str>),
    /// A word the entry handler saved (a return probe's `$argN`), by byte offset.
    EData(u32),
    // Stage 2: dereferences.
    Deref(i64),
    UDeref(i64),
    // Stage 3: stores.
    StRaw {
        size: u8,
    },
    StMem {
        offset: i64,
        size: u8,
    },
    StUMem {
        offset: i64,
        size: u8,
    },
    StString {
        offset: i64,
    },
    StUString {
        offset: i64,
    },
    StSymstr {
        offset: i64,
    },
    // Stage 4: modify.
    ModBf {
        basesize: u8,
        lshift: u8,
        rshift: u8,
    },
    // Stage 5: loop.
    LpArray(u32),
    End,
    /// `@SYM[+|-OFFS]` until it is resolved into the [`FetchOp::Imm`] that follows.
    NopSymbol(Box<str>),
}

impl FetchOp {
    fn is_nop(&self) -> bool {
        *self == FetchOp::Nop
    }
}

/// One argument of a probe (Linux's `struct probe_arg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeArg {
    /// The program, ending in [`FetchOp::End`].
    pub code: Box<[FetchOp]>,
    /// A string (its data follows the fixed part of the entry).
    pub dynamic: bool,
    /// Offset of its value after the entry's header.
    pub offset: usize,
    /// Elements of an array; 0 for a scalar.
    pub count: u32,
    pub name: String,
    /// The argument as written, after `NAME=` (what the listing shows).
    pub comm: String,
    pub ty: &'static FetchType,
}

impl ProbeArg {
    /// Its type in `format`: `u8[4]` for arrays.
    pub fn fmt_type(&self) -> Cow<'static, str> {
        if self.count == 0 {
            Cow::Borrowed(self.ty.fmttype)
        } else {
            Cow::Owned(alloc::format!("{}[{}]", self.ty.fmttype, self.count))
        }
    }

    /// Bytes of its value in the fixed part of the entry.
    pub fn size(&self) -> usize {
        self.ty.size * (self.count.max(1) as usize)
    }
}

/// `TPARG_FL_*`: where an argument is parsed.
pub mod flags {
    pub const RETURN: u32 = 1 << 0;
    pub const KERNEL: u32 = 1 << 1;
    pub const FENTRY: u32 = 1 << 2;
    pub const TEVENT: u32 = 1 << 3;
    pub const USER: u32 = 1 << 4;
    pub const FPROBE: u32 = 1 << 5;
    pub const TPOINT: u32 = 1 << 6;
    pub const LOC_MASK: u32 = 0x1f;
}

fn is_function_entry(f: u32) -> bool {
    f & flags::LOC_MASK == flags::KERNEL | flags::FENTRY
}

fn is_function_return(f: u32) -> bool {
    f & flags::LOC_MASK == flags::KERNEL | flags::RETURN
}

/// The arguments of a probe (Linux's `struct trace_probe` without its event).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceProbe {
    pub args: Vec<ProbeArg>,
    /// Bytes of all values in the fixed part of the entry.
    pub size: usize,
    /// The arguments (from 0) a return probe's entry handler saves, one word each, in order
    /// (Linux's `entry_arg`); `$argN` on a return probe reads them back.
    pub entry_args: Vec<u32>,
}

/// Parser state for one argument (Linux's `struct traceprobe_parse_context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseCtx {
    /// `flags::*`.
    pub flags: u32,
    /// Where the part being parsed starts in the argument word.
    pub offset: usize,
}

/// Linux's fixed instruction array while one argument compiles.
struct Code {
    ops: [FetchOp; FETCH_INSN_MAX],
}

const END: usize = FETCH_INSN_MAX - 1;

/// The first `:` of `arg` that is not part of a `::`.
fn type_separator(arg: &str) -> Option<usize> {
    let b = arg.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b':' && (i == 0 || b[i - 1] != b':') && b.get(i + 1) != Some(&b':'))
}

impl TraceProbe {
    pub const fn new() -> Self {
        Self {
            args: Vec::new(),
            size: 0,
            entry_args: Vec::new(),
        }
    }

    /// Bytes the entry handler of a return probe saves (Linux's
    /// `traceprobe_get_entry_data_size()`).
    pub fn entry_data_size(&self) -> usize {
        self.entry_args.len() * 8
    }

    /// Linux's `__store_entry_arg()`: the byte offset where argument `argnum` is saved.
    fn store_entry_arg(&mut self, argnum: u32) -> Result<u32, ArgError> {
        if let Some(i) = self.entry_args.iter().position(|&a| a == argnum) {
            return Ok(i as u32 * 8);
        }
        self.entry_args
            .try_reserve(1)
            .map_err(|_| ArgError::silent(Errno::ENOMEM))?;
        self.entry_args.push(argnum);
        Ok((self.entry_args.len() as u32 - 1) * 8)
    }

    /// Parses argument `arg` (Linux's `traceprobe_parse_probe_arg()`) and appends it. The
    /// error offsets are inside `arg`.
    pub fn parse_arg(&mut self, arg: &str, ctx: &mut ParseCtx) -> Result<(), ArgError> {
        let i = self.args.len();
        let (name, body, body_offset) = match arg.find('=') {
            Some(at) if at > MAX_ARG_NAME_LEN => {
                return Err(ArgError::inval(TpErr::ARG_NAME_TOO_LONG, 0));
            }
            Some(0) => return Err(ArgError::inval(TpErr::NO_ARG_NAME, 0)),
            Some(at) => (try_string(&arg[..at])?, &arg[at + 1..], at + 1),
            None => (try_string(&alloc::format!("arg{}", i + 1))?, arg, 0),
        };
        if !is_good_name(&name) {
            return Err(ArgError::inval(TpErr::BAD_ARG_NAME, 0));
        }
        if RESERVED_FIELD_NAMES.contains(&name.as_str()) || self.args.iter().any(|a| a.name == name)
        {
            return Err(ArgError::inval(TpErr::USED_ARG_NAME, 0));
        }
        ctx.offset = body_offset;
        let parg = self.parse_arg_body(body, name, ctx)?;
        self.args
            .try_reserve(1)
            .map_err(|_| ArgError::silent(Errno::ENOMEM))?;
        self.size += parg.size();
        self.args.push(parg);
        Ok(())
    }

    /// Linux's `traceprobe_parse_probe_arg_body()`.
    fn parse_arg_body(
        &mut self,
        body: &str,
        name: String,
        ctx: &mut ParseCtx,
    ) -> Result<ProbeArg, ArgError> {
        if body.len() > MAX_ARGSTR_LEN {
            return Err(ArgError::logged(
                Errno::E2BIG,
                TpErr::ARG_TOO_LONG,
                ctx.offset,
            ));
        }
        if body.is_empty() {
            return Err(ArgError::inval(TpErr::NO_ARG_BODY, ctx.offset));
        }
        let comm = try_string(body)?;
        let (expr, ty, type_text, type_offset, count) = parse_arg_type(body, ctx)?;
        let mut code = Code {
            ops: Default::default(),
        };
        code.ops[END] = FetchOp::End;
        let mut pc = 0;
        self.parse_probe_arg(expr, &mut code, &mut pc, ctx)?;
        let parg_offset = self.size;
        let dynamic = finalize(&mut code, pc, ty, type_text, type_offset, count, ctx)?;
        let len = code
            .ops
            .iter()
            .position(|op| *op == FetchOp::End)
            .map_or(FETCH_INSN_MAX, |i| i + 1);
        let mut ops = Vec::new();
        ops.try_reserve_exact(len)
            .map_err(|_| ArgError::silent(Errno::ENOMEM))?;
        ops.extend(code.ops.into_iter().take(len));
        Ok(ProbeArg {
            code: ops.into_boxed_slice(),
            dynamic,
            offset: parg_offset,
            count,
            name,
            comm,
            ty,
        })
    }

    /// Linux's recursive `parse_probe_arg()`: compiles `arg` from slot `*pc` on, leaving `*pc`
    /// at the last instruction it wrote.
    fn parse_probe_arg(
        &mut self,
        arg: &str,
        code: &mut Code,
        pc: &mut usize,
        ctx: &mut ParseCtx,
    ) -> Result<(), ArgError> {
        let bytes = arg.as_bytes();
        let mut err: Option<ArgError> = None;
        match bytes.first() {
            Some(b'$') => self.parse_probe_vars(arg, code, *pc, ctx)?,
            Some(b'%') => {
                if ctx.flags & (flags::TEVENT | flags::FPROBE) != 0 {
                    // Linux logs this and goes on to "Invalid fetch argument" below.
                    err = Some(ArgError::inval(TpErr::BAD_VAR, ctx.offset));
                } else {
                    match Reg::from_name(&arg[1..]) {
                        Some(r) => code.ops[*pc] = FetchOp::Reg(r),
                        None => return Err(ArgError::inval(TpErr::BAD_REG_NAME, ctx.offset)),
                    }
                }
            }
            Some(b'@') => {
                if bytes.get(1).is_some_and(u8::is_ascii_digit) {
                    let addr = kstrtoull(&arg[1..], 0)
                        .map_err(|_| ArgError::inval(TpErr::BAD_MEM_ADDR, ctx.offset))?;
                    code.ops[*pc] = FetchOp::Imm(addr);
                } else if bytes.get(1) == Some(&b'+') {
                    if ctx.flags & flags::KERNEL != 0 {
                        return Err(ArgError::inval(TpErr::FILE_ON_KPROBE, ctx.offset));
                    }
                    // File offsets are for uprobes, which we do not have.
                    return Err(ArgError::inval(TpErr::BAD_FILE_OFFS, ctx.offset));
                } else {
                    if ctx.flags & flags::KERNEL == 0 {
                        return Err(ArgError::inval(TpErr::SYM_ON_UPROBE, ctx.offset));
                    }
                    code.ops[*pc] = FetchOp::NopSymbol(boxed_str(&arg[1..])?);
                    *pc += 1;
                    if *pc == END {
                        return Err(ArgError::inval(TpErr::TOO_MANY_OPS, ctx.offset));
                    }
                    code.ops[*pc] = FetchOp::Imm(0);
                }
                *pc += 1;
                if *pc == END {
                    return Err(ArgError::inval(TpErr::TOO_MANY_OPS, ctx.offset));
                }
                code.ops[*pc] = FetchOp::Deref(0);
            }
            Some(b'+' | b'-') => self.parse_deref(arg, code, pc, ctx)?,
            Some(b'\\') => {
                if bytes.get(1) == Some(&b'"') {
                    let s = &arg[2..];
                    if !s.is_empty() && !s.ends_with('"') {
                        return Err(ArgError::inval(
                            TpErr::IMMSTR_NO_CLOSE,
                            ctx.offset + 2 + s.len(),
                        ));
                    }
                    let s = s.strip_suffix('"').unwrap_or(s);
                    code.ops[*pc] = FetchOp::Data(boxed_str(s)?);
                } else {
                    let imm = str_to_immediate(&arg[1..])
                        .map_err(|_| ArgError::inval(TpErr::BAD_IMM, ctx.offset + 1))?;
                    code.ops[*pc] = FetchOp::Imm(imm);
                }
            }
            Some(&c) if c.is_ascii_alphabetic() || c == b'_' => {
                // A BTF variable: we have no BTF.
                return Err(ArgError::inval(TpErr::NOSUP_BTFARG, ctx.offset));
            }
            _ => {}
        }
        if code.ops[*pc].is_nop() {
            let mut e = err.unwrap_or(ArgError {
                errno: Errno::EINVAL,
                log: None,
            });
            match &mut e.log {
                Some(at) => at.push(TpErr::BAD_FETCH_ARG, ctx.offset),
                None => e.log = Some(ErrAt::one(TpErr::BAD_FETCH_ARG, ctx.offset)),
            }
            return Err(e);
        }
        Ok(())
    }

    /// `+|-[u]OFFS(FETCHARG)`.
    fn parse_deref(
        &mut self,
        arg: &str,
        code: &mut Code,
        pc: &mut usize,
        ctx: &mut ParseCtx,
    ) -> Result<(), ArgError> {
        let negative = arg.starts_with('-');
        let user = arg.as_bytes().get(1) == Some(&b'u');
        let digits_at = 1 + usize::from(user);
        let Some(open) = arg[digits_at..].find('(').map(|o| o + digits_at) else {
            return Err(ArgError::inval(TpErr::DEREF_NEED_BRACE, ctx.offset));
        };
        let digits = &arg[digits_at..open];
        let offset = if negative {
            neg_kstrtol(digits)
        } else {
            kstrtoll(digits, 0)
        }
        .map_err(|_| ArgError::inval(TpErr::BAD_DEREF_OFFS, ctx.offset))?;
        // Linux's cursor arithmetic lands one byte short after a `u`.
        ctx.offset += open + 1 - usize::from(user);
        let inner = &arg[open + 1..];
        let Some(close) = inner.rfind(')') else {
            return Err(ArgError::inval(
                TpErr::DEREF_OPEN_BRACE,
                ctx.offset + inner.len(),
            ));
        };
        let cur_offs = ctx.offset;
        self.parse_probe_arg(&inner[..close], code, pc, ctx)?;
        ctx.offset = cur_offs;
        if matches!(code.ops[*pc], FetchOp::Comm | FetchOp::Data(_)) {
            return Err(ArgError::inval(TpErr::COMM_CANT_DEREF, ctx.offset));
        }
        *pc += 1;
        if *pc == END {
            return Err(ArgError::inval(TpErr::TOO_MANY_OPS, ctx.offset));
        }
        code.ops[*pc] = if user {
            FetchOp::UDeref(offset)
        } else {
            FetchOp::Deref(offset)
        };
        Ok(())
    }

    /// Linux's `parse_probe_vars()`: `$retval`, `$stack[N]`, `$comm`, `$argN`.
    fn parse_probe_vars(
        &mut self,
        orig: &str,
        code: &mut Code,
        pc: usize,
        ctx: &mut ParseCtx,
    ) -> Result<(), ArgError> {
        let arg = &orig[1..];
        let inval = |e| Err(ArgError::inval(e, ctx.offset));
        if arg.starts_with("retval") {
            if ctx.flags & flags::RETURN == 0 {
                return inval(TpErr::RETVAL_ON_PROBE);
            }
            code.ops[pc] = FetchOp::Retval;
            return Ok(());
        }
        if let Some(rest) = arg.strip_prefix("stack") {
            if rest.is_empty() {
                code.ops[pc] = FetchOp::StackP;
                return Ok(());
            }
            if rest.as_bytes()[0].is_ascii_digit() {
                let Ok(n) = kstrtoull(rest, 10) else {
                    return inval(TpErr::BAD_VAR);
                };
                if ctx.flags & flags::KERNEL != 0 && n > PARAM_MAX_STACK {
                    return inval(TpErr::BAD_STACK_NUM);
                }
                code.ops[pc] = FetchOp::Stack(n as u32);
                return Ok(());
            }
            return inval(TpErr::BAD_VAR);
        }
        if arg == "comm" || arg == "COMM" {
            code.ops[pc] = FetchOp::Comm;
            return Ok(());
        }
        if let Some(rest) = arg.strip_prefix("arg") {
            let Ok(n) = kstrtoull(rest, 10) else {
                return inval(TpErr::BAD_VAR);
            };
            if n == 0 || n > PARAM_MAX_STACK {
                return inval(TpErr::BAD_ARG_NUM);
            }
            let n = n as u32 - 1;
            if is_function_entry(ctx.flags) {
                code.ops[pc] = FetchOp::Arg(n + u32::from(ctx.flags & flags::TPOINT != 0));
            } else if is_function_return(ctx.flags) {
                code.ops[pc] = FetchOp::EData(self.store_entry_arg(n)?);
            } else {
                return inval(TpErr::NOFENTRY_ARGS);
            }
            return Ok(());
        }
        inval(TpErr::BAD_VAR)
    }
}

/// A boxed copy of `s`, or `ENOMEM`.
fn boxed_str(s: &str) -> Result<Box<str>, ArgError> {
    Ok(try_string(s)?.into_boxed_str())
}

impl From<Errno> for ArgError {
    fn from(errno: Errno) -> Self {
        ArgError::silent(errno)
    }
}

/// Linux's `str_to_immediate()`.
fn str_to_immediate(s: &str) -> Result<u64, Errno> {
    match s.as_bytes().first() {
        Some(c) if c.is_ascii_digit() => kstrtoull(s, 0),
        Some(b'-') => kstrtoll(s, 0).map(|v| v as u64),
        Some(b'+') => kstrtoll(&s[1..], 0).map(|v| v as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// `kstrtol("-" + digits)`, which Linux's parser builds in place for `-OFFS` and `-uOFFS`.
fn neg_kstrtol(digits: &str) -> Result<i64, Errno> {
    let v = kstrtoull(digits, 0)?;
    if v > 1 << 63 {
        return Err(Errno::ERANGE);
    }
    Ok((v as i64).wrapping_neg())
}

/// Linux's `parse_probe_arg_type()`: splits `body` into the expression, its type, the type's
/// text (without an array suffix) and offset in `body` (0 without one), and the array count
/// (0 for a scalar).
#[allow(clippy::type_complexity)]
fn parse_arg_type<'b>(
    body: &'b str,
    ctx: &ParseCtx,
) -> Result<(&'b str, &'static FetchType, Option<&'b str>, usize, u32), ArgError> {
    let (expr, mut type_text, type_offset) = match type_separator(body) {
        Some(at) => (&body[..at], Some(&body[at + 1..]), at + 1),
        None => (body, None, 0),
    };
    let mut count = 0;
    if let Some(t) = type_text
        && let Some(open) = t.find('[')
    {
        let num_at = type_offset + open + 1;
        let num = &t[open + 1..];
        let Some(close) = num.find(']') else {
            return Err(ArgError::inval(
                TpErr::ARRAY_NO_CLOSE,
                ctx.offset + num_at + num.len(),
            ));
        };
        if close + 1 != num.len() {
            return Err(ArgError::inval(
                TpErr::BAD_ARRAY_SUFFIX,
                ctx.offset + num_at + close + 1,
            ));
        }
        count = match kstrtouint(&num[..close], 0) {
            Ok(n) if n > 0 => n,
            _ => return Err(ArgError::inval(TpErr::BAD_ARRAY_NUM, ctx.offset + num_at)),
        };
        if count as usize > MAX_ARRAY_LEN {
            return Err(ArgError::inval(TpErr::ARRAY_TOO_BIG, ctx.offset + num_at));
        }
        type_text = Some(&t[..open]);
    }
    let found = if ctx.flags & flags::TEVENT == 0
        && (expr == "$comm" || expr == "$COMM" || expr.starts_with("\\\""))
    {
        // `$comm` and immediate strings are strings, never arrays.
        if count != 0 || type_text.is_some_and(|t| t != "string") {
            return Err(ArgError::inval(
                TpErr::NEED_STRING_TYPE,
                ctx.offset + type_offset,
            ));
        }
        find_fetch_type(Some("string"))
    } else {
        find_fetch_type(type_text)
    };
    let Some(found) = found else {
        return Err(ArgError::inval(TpErr::BAD_TYPE, ctx.offset + type_offset));
    };
    Ok((expr, found, type_text, type_offset, count))
}

/// Linux's `finalize_fetch_insn()`: adds the store, the bitfield fix-up, the array loop and the
/// end after the load/dereference instructions ending at `pc`. `type_text` is the text after
/// `:` without an array suffix, `type_offset` where it starts in the argument. Whether the
/// argument is dynamic (a string).
fn finalize(
    code: &mut Code,
    mut pc: usize,
    ty: &'static FetchType,
    type_text: Option<&str>,
    type_offset: usize,
    count: u32,
    ctx: &ParseCtx,
) -> Result<bool, ArgError> {
    let at_type = ctx.offset + type_offset;
    let next_free = |code: &Code, pc: usize, errno| {
        if code.ops[pc + 1].is_nop() {
            Ok(pc + 1)
        } else {
            Err(ArgError::logged(errno, TpErr::TOO_MANY_OPS, ctx.offset))
        }
    };
    let last = code.ops[pc].clone();
    if ty.is_string {
        if ty.name == "symstr" {
            if !matches!(
                last,
                FetchOp::Reg(_)
                    | FetchOp::Stack(_)
                    | FetchOp::Retval
                    | FetchOp::Arg(_)
                    | FetchOp::Deref(_)
            ) {
                return Err(ArgError::inval(TpErr::BAD_SYMSTRING, at_type));
            }
        } else if !matches!(
            last,
            FetchOp::Deref(_)
                | FetchOp::UDeref(_)
                | FetchOp::Imm(_)
                | FetchOp::Comm
                | FetchOp::Data(_)
        ) {
            return Err(ArgError::inval(TpErr::BAD_STRING, at_type));
        }
        // Sources that are the string's address themselves, symbol strings and arrays of
        // string pointers keep their last instruction; a plain dereference becomes the store.
        if ty.name == "symstr"
            || matches!(last, FetchOp::Imm(_) | FetchOp::Comm | FetchOp::Data(_))
            || count != 0
        {
            pc = next_free(code, pc, Errno::EINVAL)?;
        }
        // The store keeps a replaced dereference's offset (Linux's union).
        let (offset, user) = match code.ops[pc] {
            FetchOp::Deref(o) => (o, false),
            FetchOp::UDeref(o) => (o, true),
            _ => (0, false),
        };
        code.ops[pc] = if ty.name == "ustring" || user {
            FetchOp::StUString { offset }
        } else if ty.name == "symstr" {
            FetchOp::StSymstr { offset }
        } else {
            FetchOp::StString { offset }
        };
    } else {
        let size = ty.size as u8;
        match last {
            FetchOp::Deref(offset) => code.ops[pc] = FetchOp::StMem { offset, size },
            FetchOp::UDeref(offset) => code.ops[pc] = FetchOp::StUMem { offset, size },
            _ => {
                pc = next_free(code, pc, Errno::E2BIG)?;
                code.ops[pc] = FetchOp::StRaw { size };
            }
        }
    }
    let store = pc;
    if let Some(t) = type_text
        && t.starts_with('b')
    {
        pc =
            parse_bitfield(code, pc, t, ty).ok_or(ArgError::inval(TpErr::BAD_BITFIELD, at_type))?;
    }
    if count != 0 {
        if !matches!(
            code.ops[store],
            FetchOp::StMem { .. } | FetchOp::StString { .. } | FetchOp::StUString { .. }
        ) {
            return Err(ArgError::inval(TpErr::BAD_STRING, at_type));
        }
        pc = next_free(code, pc, Errno::E2BIG)?;
        code.ops[pc] = FetchOp::LpArray(count);
    }
    code.ops[pc + 1] = FetchOp::End;
    Ok(ty.is_string)
}

/// Linux's `__parse_bitfield_probe_arg()`: `b<width>@<offset>/<container>` becomes a shift
/// pair after the store at `pc`; the new last instruction, or `None` for a bad bitfield.
fn parse_bitfield(code: &mut Code, pc: usize, bf: &str, ty: &FetchType) -> Option<usize> {
    let (bw, used) = simple_strtoul(&bf[1..]);
    let rest = &bf[1 + used..];
    if bw == 0 || !rest.starts_with('@') {
        return None;
    }
    let (bo, used) = simple_strtoul(&rest[1..]);
    if used == 0 || !rest[1 + used..].starts_with('/') {
        return None;
    }
    if !code.ops[pc + 1].is_nop() {
        return None;
    }
    let bits = ty.size as u64 * 8;
    if bw.checked_add(bo)? > bits {
        return None;
    }
    code.ops[pc + 1] = FetchOp::ModBf {
        basesize: ty.size as u8,
        lshift: (bits - (bw + bo)) as u8,
        rshift: (bits - bw) as u8,
    };
    Some(pc + 1)
}

impl TraceProbe {
    /// Resolves every `@SYM[+|-OFFS]` through `lookup` (Linux's `traceprobe_update_arg()`, run
    /// when the probe is registered): `ENOENT` for an unknown symbol.
    pub fn resolve_symbols(&mut self, lookup: &dyn Fn(&str) -> Option<u64>) -> Result<(), Errno> {
        for arg in &mut self.args {
            for i in 0..arg.code.len() {
                let FetchOp::NopSymbol(text) = &arg.code[i] else {
                    continue;
                };
                let (sym, offset) = split_symbol_offset(text)?;
                let addr = lookup(sym).ok_or(Errno::ENOENT)?;
                match arg.code.get_mut(i + 1) {
                    Some(FetchOp::Imm(imm)) => *imm = addr.wrapping_add(offset as u64),
                    _ => return Err(Errno::EINVAL),
                }
            }
        }
        Ok(())
    }

    /// Linux's `trace_probe_compare_arg_type()`: 0 when both probes have arguments of the same
    /// names, types and counts, else the (1-based) index of the first that differs.
    pub fn compare_arg_type(&self, other: &TraceProbe) -> usize {
        let (a, b) = (&self.args, &other.args);
        if a.len() != b.len() {
            return a.len().min(b.len()) + 1;
        }
        a.iter()
            .zip(b)
            .position(|(x, y)| !core::ptr::eq(x.ty, y.ty) || x.count != y.count || x.name != y.name)
            .map_or(0, |i| i + 1)
    }

    /// Whether every argument was written the same way as `other`'s.
    pub fn same_comms(&self, other: &TraceProbe) -> bool {
        self.args.len() == other.args.len()
            && self
                .args
                .iter()
                .zip(&other.args)
                .all(|(a, b)| a.comm == b.comm)
    }

    /// ` NAME=ARG` for every argument, as the probe listings show them.
    pub fn write_args_def(&self, w: &mut dyn Write) -> fmt::Result {
        self.args
            .iter()
            .try_for_each(|a| write!(w, " {}={}", a.name, a.comm))
    }
}

// ---------------------------------------------------------------------------------------------
// The event layout: fields and print fmt
// ---------------------------------------------------------------------------------------------

/// What the probe's entry head holds (Linux's `enum probe_print_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbePrintType {
    /// `__probe_ip`: a kprobe or an fprobe entry.
    Normal,
    /// `__probe_func` and `__probe_ret_ip`: a kretprobe or an fprobe exit.
    Return,
}

/// Bytes of the common header every entry starts with.
pub const COMMON_HEADER_SIZE: usize = core::mem::size_of::<super::trace_entries::TraceEntry>();

impl ProbePrintType {
    /// The head of a return probe (`is_return`) or of an entry probe.
    pub fn of(is_return: bool) -> Self {
        if is_return {
            ProbePrintType::Return
        } else {
            ProbePrintType::Normal
        }
    }

    /// The entry head: the common header and the probe's words (Linux's
    /// `kprobe_trace_entry_head` / `kretprobe_trace_entry_head`).
    pub const fn head_size(self) -> usize {
        match self {
            Self::Normal => COMMON_HEADER_SIZE + 8,
            Self::Return => COMMON_HEADER_SIZE + 16,
        }
    }

    /// The head's own fields after the common header.
    pub const fn head_fields(self) -> &'static [&'static str] {
        match self {
            Self::Normal => &[FIELD_STRING_IP],
            Self::Return => &[FIELD_STRING_FUNC, FIELD_STRING_RETIP],
        }
    }
}

impl TraceProbe {
    /// The `print fmt:` of the event (Linux's `__set_print_fmt()`), e.g.
    /// `"(%lx) n=0x%Lx", REC->__probe_ip, REC->n`.
    pub fn print_fmt(&self, ptype: ProbePrintType) -> Result<String, Errno> {
        let mut s = String::new();
        self.write_print_fmt(ptype, &mut s)
            .map_err(|_| Errno::ENOMEM)?;
        Ok(s)
    }

    fn write_print_fmt(&self, ptype: ProbePrintType, w: &mut String) -> fmt::Result {
        let reserve = |w: &mut String, n: usize| w.try_reserve(n).map_err(|_| fmt::Error);
        let (fmt, head) = match ptype {
            ProbePrintType::Normal => ("(%lx)", ", REC->__probe_ip"),
            ProbePrintType::Return => ("(%lx <- %lx)", ", REC->__probe_func, REC->__probe_ret_ip"),
        };
        reserve(w, 64)?;
        write!(w, "\"{fmt}")?;
        for a in &self.args {
            reserve(
                w,
                a.name.len() + 8 + (a.count.max(1) as usize) * (a.ty.fmt.len() + 1),
            )?;
            write!(w, " {}=", a.name)?;
            if a.count == 0 {
                w.push_str(a.ty.fmt);
            } else {
                write!(w, "{{{}", a.ty.fmt)?;
                for _ in 1..a.count {
                    write!(w, ",{}", a.ty.fmt)?;
                }
                w.push('}');
            }
        }
        reserve(w, head.len() + 1)?;
        write!(w, "\"{head}")?;
        for a in &self.args {
            let (pre, post) = if a.ty.is_string {
                (", __get_str(", ")")
            } else {
                (", REC->", "")
            };
            reserve(w, (a.count.max(1) as usize) * (a.name.len() + 24))?;
            if a.count == 0 {
                write!(w, "{pre}{}{post}", a.name)?;
            } else {
                for j in 0..a.count {
                    write!(w, "{pre}{}[{j}]{post}", a.name)?;
                }
            }
        }
        Ok(())
    }

    /// The event's fields after the common header (Linux's `kprobe_event_define_fields()` and
    /// friends): the head's words, then one field per argument.
    pub fn fields(&self, ptype: ProbePrintType) -> Result<Vec<Field>, Errno> {
        let mut fields = Vec::new();
        fields
            .try_reserve_exact(ptype.head_fields().len() + self.args.len())
            .map_err(|_| Errno::ENOMEM)?;
        for (i, name) in ptype.head_fields().iter().enumerate() {
            fields.push(Field::new(
                "unsigned long",
                name,
                COMMON_HEADER_SIZE + 8 * i,
                8,
                FieldType::U,
            ));
        }
        let base = ptype.head_size();
        for a in &self.args {
            fields.push(arg_field(a, base)?);
        }
        Ok(fields)
    }
}

/// The field of argument `a` of an entry whose head is `base` bytes. Linux declares arrays with
/// an empty `[]` (its probe fields carry no length), and strings as signed.
fn arg_field(a: &ProbeArg, base: usize) -> Result<Field, Errno> {
    let name = Cow::Owned(try_string(&a.name)?);
    let (c_type, ty): (Cow<'static, str>, FieldType) = match (a.ty.is_string, a.count) {
        (true, 0) => (Cow::Borrowed("char"), FieldType::DataLoc),
        (true, _) => (Cow::Owned(try_string(&a.fmt_type())?), FieldType::U),
        (false, 0) if a.ty.is_signed => (Cow::Borrowed(a.ty.fmttype), FieldType::S),
        (false, 0) => (Cow::Borrowed(a.ty.fmttype), FieldType::U),
        (false, _) => (Cow::Borrowed(a.ty.fmttype), FieldType::DynArray),
    };
    Ok(Field {
        c_type,
        name,
        offset: base + a.offset,
        size: a.size(),
        ty,
        signed: a.ty.is_signed,
    })
}

// ---------------------------------------------------------------------------------------------
// The executor
// ---------------------------------------------------------------------------------------------

/// A symbol an address falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymInfo<'a> {
    pub name: &'a str,
    /// Its start address.
    pub addr: u64,
    pub size: u64,
}

/// Address to symbol, for `symbol`/`symstr` values and the probe address of a line.
pub trait Symbolizer {
    /// The symbol containing `addr`.
    fn symbol(&self, addr: u64) -> Option<SymInfo<'_>>;
    /// Whether `addr` is the kretprobe return trampoline (printed `[unknown/kretprobe'd]`).
    fn is_kretprobe_trampoline(&self, addr: u64) -> bool;
}

/// What a probe hit offers its fetch programs (Linux: the `pt_regs`, `current` and the no-fault
/// accessors). The kprobe and fprobe handlers implement it over their trap frame; host tests
/// over a fake.
pub trait FetchCtx: Symbolizer {
    /// `x0`..`x30`.
    fn reg(&self, n: u8) -> u64;
    fn sp(&self) -> u64;
    fn pc(&self) -> u64;
    fn pstate(&self) -> u64;
    /// Function argument `n` from 0 (Linux's `regs_get_kernel_argument()`: `x0`..`x7`, then 0).
    fn arg(&self, n: u32) -> u64;
    /// The return value (`x0`).
    fn retval(&self) -> u64;
    /// The word the entry handler saved at byte `offset` ([`TraceProbe::store_entry_data`]).
    fn entry_data(&self, offset: u32) -> u64;
    /// Reads kernel memory without faulting (Linux's `copy_from_kernel_nofault()`).
    fn read_nofault(&self, addr: u64, buf: &mut [u8]) -> Result<(), FetchFault>;
    /// Reads user memory without faulting (Linux's `copy_from_user_nofault()`).
    fn read_user_nofault(&self, addr: u64, buf: &mut [u8]) -> Result<(), FetchFault>;
    /// The current task's name, NUL-padded as `task_struct.comm`.
    fn comm(&self) -> &[u8];
}

/// Linux's `make_data_loc()`.
pub const fn make_data_loc(len: usize, offs: usize) -> u32 {
    ((len as u32) << 16) | (offs as u32 & 0xffff)
}

fn update_data_loc(loc: u32, consumed: usize) -> u32 {
    let maxlen = (loc >> 16) as usize;
    let offset = (loc & 0xffff) as usize;
    make_data_loc(maxlen.saturating_sub(consumed), offset + consumed)
}

/// Where a string source is.
#[derive(Clone, Copy)]
enum Src<'p> {
    /// A word: an address for strings.
    Word(u64),
    /// The current task's name.
    Comm,
    /// An immediate string.
    Data(&'p str),
}

/// Whose memory a string read looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mem {
    Kernel,
    User,
}

arch::nokprobe! {
fn read_mem<C: FetchCtx + ?Sized>(
    ctx: &C,
    mem: Mem,
    addr: u64,
    buf: &mut [u8],
) -> Result<(), FetchFault> {
    match mem {
        Mem::Kernel => ctx.read_nofault(addr, buf),
        Mem::User => ctx.read_user_nofault(addr, buf),
    }
}
}

arch::nokprobe! {
fn read_word<C: FetchCtx + ?Sized>(ctx: &C, mem: Mem, addr: u64) -> Result<u64, FetchFault> {
    let mut b = [0u8; 8];
    read_mem(ctx, mem, addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}
}

arch::nokprobe! {
/// The bytes of an in-memory string source, up to its NUL.
fn src_bytes<'a, C: FetchCtx + ?Sized>(ctx: &'a C, src: Src<'a>) -> Option<&'a [u8]> {
    match src {
        Src::Word(_) => None,
        Src::Comm => {
            let c = ctx.comm();
            Some(&c[..c.iter().position(|&b| b == 0).unwrap_or(c.len())])
        }
        Src::Data(s) => Some(s.as_bytes()),
    }
}
}

arch::nokprobe! {
/// Linux's `fetch_store_strlen()`: bytes a string needs, its NUL included.
fn strlen<C: FetchCtx + ?Sized>(
    ctx: &C,
    src: Src<'_>,
    mem: Mem,
    addr: u64,
) -> Result<usize, FetchFault> {
    if let Some(b) = src_bytes(ctx, src) {
        return Ok(b.len() + 1);
    }
    let mut len = 0;
    loop {
        let mut c = [0u8];
        read_mem(ctx, mem, addr.wrapping_add(len as u64), &mut c)?;
        len += 1;
        if c[0] == 0 || len >= MAX_STRING_SIZE {
            return Ok(len);
        }
    }
}
}

arch::nokprobe! {
/// Linux's `strncpy_from_kernel_nofault()`: copies the string into `dst` (cut and terminated at
/// its end); the bytes written, NUL included.
fn strncpy<C: FetchCtx + ?Sized>(
    ctx: &C,
    src: Src<'_>,
    mem: Mem,
    addr: u64,
    dst: &mut [u8],
) -> Result<usize, FetchFault> {
    if dst.is_empty() {
        return Ok(0);
    }
    let fixed = src_bytes(ctx, src);
    let mut i = 0;
    while i < dst.len() {
        let c = match fixed {
            Some(b) => b.get(i).copied().unwrap_or(0),
            None => {
                let mut c = [0u8];
                if read_mem(ctx, mem, addr.wrapping_add(i as u64), &mut c).is_err() {
                    dst[0] = 0;
                    return Err(FetchFault);
                }
                c[0]
            }
        };
        dst[i] = c;
        i += 1;
        if c == 0 {
            return Ok(i);
        }
    }
    dst[i - 1] = 0;
    Ok(i)
}
}

/// Counts what is written through it.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Writes into a byte slice, dropping what does not fit.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Linux's `sprint_symbol()` / `%pS`: `name+0xoff/0xsize`, or `0xaddr` outside every symbol.
pub fn write_symbol(w: &mut dyn Write, sym: &(impl Symbolizer + ?Sized), addr: u64) -> fmt::Result {
    match sym.symbol(addr) {
        Some(s) => write!(w, "{}+{:#x}/{:#x}", s.name, addr - s.addr, s.size),
        None => write!(w, "{addr:#x}"),
    }
}

/// Linux's `seq_print_ip_sym()`: `0` for a null address; the symbol with or without its offset
/// (`[unknown/kretprobe'd]` for the return trampoline); `0x%08lx` without a symbol.
pub fn write_ip_sym(
    w: &mut dyn Write,
    sym: &(impl Symbolizer + ?Sized),
    addr: u64,
    with_offset: bool,
) -> fmt::Result {
    if addr == 0 {
        return w.write_char('0');
    }
    if sym.is_kretprobe_trampoline(addr) {
        return w.write_str("[unknown/kretprobe'd]");
    }
    match (sym.symbol(addr), with_offset) {
        (Some(_), true) => write_symbol(w, sym, addr),
        (Some(s), false) => w.write_str(s.name),
        // `sprint_symbol()` falls back to the bare address itself.
        (None, true) => write!(w, "{addr:#x}"),
        (None, false) => write!(w, "0x{addr:08x}"),
    }
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = buf.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    if let Some(s) = buf.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// Reads a little-endian unsigned value of `size` bytes.
fn get_uint(buf: &[u8], at: usize, size: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = buf.get(at..at + size) {
        b[..size].copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// Stores the low `size` bytes of `v`, little-endian. One fixed-size copy per width: a copy
/// of a run-time length would be a `memcpy` call on the probe's hot path.
#[inline(always)]
fn put_uint(buf: &mut [u8], at: usize, size: usize, v: u64) {
    let b = v.to_le_bytes();
    match size {
        8 => put_fixed::<8>(buf, at, &b),
        4 => put_fixed::<4>(buf, at, &b),
        2 => put_fixed::<2>(buf, at, &b),
        1 => put_fixed::<1>(buf, at, &b),
        _ => {
            if let Some(d) = buf.get_mut(at..at + size) {
                d.iter_mut().zip(b).for_each(|(d, b)| *d = b);
            }
        }
    }
}

/// Stores the first `N` bytes of `b` at `at`, as one fixed-size copy: a single store where
/// the place is aligned (the target has strict alignment, so a copy that might be unaligned
/// is done byte by byte).
#[inline(always)]
fn put_fixed<const N: usize>(buf: &mut [u8], at: usize, b: &[u8; 8]) {
    let dst = buf
        .get_mut(at..at + N)
        .and_then(|d| <&mut [u8; N]>::try_from(d).ok());
    let (Some(d), Some(s)) = (dst, b.first_chunk::<N>()) else {
        return;
    };
    let p = d.as_mut_ptr();
    if p.addr().is_multiple_of(N) {
        let v = u64::from_le_bytes(*b);
        // SAFETY: `p` is N writable bytes aligned to N; the integer types have that size and
        // alignment here.
        unsafe {
            match N {
                8 => p.cast::<u64>().write(v.to_le()),
                4 => p.cast::<u32>().write((v as u32).to_le()),
                2 => p.cast::<u16>().write((v as u16).to_le()),
                _ => *d = *s,
            }
        }
    } else {
        *d = *s;
    }
}

/// Where a store writes: the whole entry and the value's offset in it.
struct Dest<'e> {
    entry: &'e mut [u8],
    at: usize,
}

/// A fetch program that could not run to its end (Linux: `-EFAULT` or `-EILSEQ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchFault;

impl ProbeArg {
    /// The common programs, a register, argument or return value stored as it is (`$arg1`,
    /// `%x0`, `$retval`, a return probe's saved `$argN`), without the interpreter: whether
    /// this was one.
    #[inline(always)]
    fn store_simple<C: FetchCtx + ?Sized>(&self, ctx: &C, entry: &mut [u8], at: usize) -> bool {
        let [load, FetchOp::StRaw { size }, FetchOp::End, ..] = &self.code[..] else {
            return false;
        };
        let v = match load {
            FetchOp::Arg(n) => ctx.arg(*n),
            FetchOp::Reg(Reg::X(n)) => ctx.reg(*n),
            FetchOp::Retval => ctx.retval(),
            FetchOp::EData(off) => ctx.entry_data(*off),
            _ => return false,
        };
        put_uint(entry, at, usize::from(*size), v);
        true
    }

    arch::nokprobe! {
    /// Runs the program (Linux's `process_fetch_insn()`): stores the value at `dest`, or
    /// without one returns the bytes a string argument needs. The result is Linux's: the
    /// dynamic bytes used (negative when a string could not be read).
    fn process<C: FetchCtx + ?Sized>(
        &self,
        ctx: &C,
        dest: Option<Dest<'_>>,
    ) -> Result<isize, FetchFault> {
        let code = &self.code;
        let pc = usize::from(matches!(code.first(), Some(FetchOp::NopSymbol(_))));
        let src = match code.get(pc).ok_or(FetchFault)? {
            FetchOp::Reg(Reg::X(n)) => Src::Word(ctx.reg(*n)),
            FetchOp::Reg(Reg::Sp) | FetchOp::StackP => Src::Word(ctx.sp()),
            FetchOp::Reg(Reg::Pc) => Src::Word(ctx.pc()),
            FetchOp::Reg(Reg::Pstate) => Src::Word(ctx.pstate()),
            // Linux's `regs_get_kernel_stack_nth()`: 0 off the stack.
            FetchOp::Stack(n) => Src::Word(
                read_word(ctx, Mem::Kernel, ctx.sp().wrapping_add(u64::from(*n) * 8)).unwrap_or(0),
            ),
            FetchOp::Retval => Src::Word(ctx.retval()),
            FetchOp::Imm(v) => Src::Word(*v),
            FetchOp::Comm => Src::Comm,
            FetchOp::Arg(n) => Src::Word(ctx.arg(*n)),
            FetchOp::Data(s) => Src::Data(s),
            FetchOp::EData(off) => Src::Word(ctx.entry_data(*off)),
            _ => return Err(FetchFault),
        };
        // The common program, a value stored as it is loaded (`$arg1`, `%x0`, `$retval`):
        // straight to the store.
        let rest = code.get(pc + 1..).unwrap_or(&[]);
        if let (Some(d), Src::Word(v), [FetchOp::StRaw { size }, FetchOp::End, ..]) =
            (&dest, src, rest)
        {
            let at = d.at;
            let entry = dest.map(|d| d.entry).unwrap_or_default();
            put_uint(entry, at, usize::from(*size), v);
            return Ok(0);
        }
        process_bottom(code, pc + 1, src, ctx, dest)
    }
    }
}

arch::nokprobe! {
/// Linux's `process_fetch_insn_bottom()`: dereferences, store, bitfield and array stages.
fn process_bottom<C: FetchCtx + ?Sized>(
    code: &[FetchOp],
    mut pc: usize,
    src: Src<'_>,
    ctx: &C,
    mut dest: Option<Dest<'_>>,
) -> Result<isize, FetchFault> {
    let op = |pc: usize| code.get(pc).ok_or(FetchFault);
    let mut val = match src {
        Src::Word(v) => v,
        _ => 0,
    };
    let mut lval = val;
    let (mut total, mut ret, mut i, mut loc) = (0isize, 0isize, 0u32, 0u32);
    'stage2: loop {
        loop {
            let (offset, mem) = match op(pc)? {
                FetchOp::Deref(o) => (*o, Mem::Kernel),
                FetchOp::UDeref(o) => (*o, Mem::User),
                _ => break,
            };
            lval = val;
            val = read_word(ctx, mem, val.wrapping_add(offset as u64))?;
            pc += 1;
        }
        let s3 = pc;
        loop {
            match dest.as_mut() {
                None => {
                    ret = match op(pc)? {
                        FetchOp::StString { offset } => {
                            strlen(ctx, src, Mem::Kernel, val.wrapping_add(*offset as u64))
                        }
                        FetchOp::StUString { offset } => {
                            strlen(ctx, src, Mem::User, val.wrapping_add(*offset as u64))
                        }
                        FetchOp::StSymstr { offset } => {
                            let mut n = Counter(0);
                            let _ = write_symbol(&mut n, ctx, val.wrapping_add(*offset as u64));
                            Ok(n.0 + 1)
                        }
                        _ => return Err(FetchFault),
                    }
                    .map_or(-(Errno::EFAULT.code() as isize), |n| n as isize);
                    pc += 1;
                }
                Some(d) => {
                    match op(pc)? {
                        FetchOp::StRaw { size } => put_uint(d.entry, d.at, usize::from(*size), val),
                        FetchOp::StMem { offset, size } | FetchOp::StUMem { offset, size } => {
                            let mem = if matches!(op(pc)?, FetchOp::StMem { .. }) {
                                Mem::Kernel
                            } else {
                                Mem::User
                            };
                            let size = usize::from(*size);
                            if let Some(buf) = d.entry.get_mut(d.at..d.at + size)
                                && read_mem(ctx, mem, val.wrapping_add(*offset as u64), buf)
                                    .is_err()
                            {
                                buf.fill(0);
                            }
                        }
                        FetchOp::StString { offset } | FetchOp::StUString { offset } => {
                            let mem = if matches!(op(pc)?, FetchOp::StString { .. }) {
                                Mem::Kernel
                            } else {
                                Mem::User
                            };
                            loc = get_u32(d.entry, d.at);
                            ret = store_string(ctx, src, mem, val.wrapping_add(*offset as u64), d);
                        }
                        FetchOp::StSymstr { offset } => {
                            loc = get_u32(d.entry, d.at);
                            ret = store_symstr(ctx, val.wrapping_add(*offset as u64), d);
                        }
                        _ => return Err(FetchFault),
                    }
                    pc += 1;
                    if let FetchOp::ModBf {
                        basesize,
                        lshift,
                        rshift,
                    } = op(pc)?
                    {
                        apply_bitfield(d, usize::from(*basesize), *lshift, *rshift);
                        pc += 1;
                    }
                }
            }
            if let FetchOp::LpArray(n) = op(pc)? {
                ret = ret.max(0);
                total += ret;
                i += 1;
                if i < *n {
                    pc = s3;
                    let step = match op(s3)? {
                        FetchOp::StString { .. } | FetchOp::StUString { .. } => None,
                        FetchOp::StMem { size, .. } | FetchOp::StUMem { size, .. } => {
                            Some(usize::from(*size))
                        }
                        FetchOp::StRaw { size } => Some(usize::from(*size)),
                        _ => Some(4),
                    };
                    if let Some(step) = step {
                        if let Some(d) = dest.as_mut() {
                            d.at += step;
                        }
                        val = val.wrapping_add(step as u64);
                        continue;
                    }
                    pc = s3 - 1;
                    val = lval.wrapping_add(8);
                    if let Some(d) = dest.as_mut() {
                        d.at += 4;
                        put_u32(d.entry, d.at, update_data_loc(loc, ret as usize));
                    }
                    continue 'stage2;
                }
                pc += 1;
                ret = total;
            }
            return if matches!(op(pc)?, FetchOp::End) {
                Ok(ret)
            } else {
                Err(FetchFault)
            };
        }
    }
}
}

arch::nokprobe! {
/// Linux's `fetch_store_string()`: the string goes where the data location at `d` points, which
/// is then set to its length (0 when it could not be read: printed `(fault)`).
fn store_string<C: FetchCtx + ?Sized>(
    ctx: &C,
    src: Src<'_>,
    mem: Mem,
    addr: u64,
    d: &mut Dest<'_>,
) -> isize {
    let dl = get_u32(d.entry, d.at);
    let (maxlen, off) = ((dl >> 16) as usize, (dl & 0xffff) as usize);
    if maxlen == 0 {
        return -(Errno::ENOMEM.code() as isize);
    }
    let end = (off + maxlen).min(d.entry.len());
    let Some(dst) = d.entry.get_mut(off..end) else {
        return -(Errno::ENOMEM.code() as isize);
    };
    match strncpy(ctx, src, mem, addr, dst) {
        Ok(n) => {
            put_u32(d.entry, d.at, make_data_loc(n, off));
            n as isize
        }
        Err(FetchFault) => {
            put_u32(d.entry, d.at, make_data_loc(0, off));
            -(Errno::EFAULT.code() as isize)
        }
    }
}
}

arch::nokprobe! {
/// A `symstr`: the symbolized address as a string (Linux's `fetch_store_symstring()`).
fn store_symstr<C: FetchCtx + ?Sized>(ctx: &C, addr: u64, d: &mut Dest<'_>) -> isize {
    let dl = get_u32(d.entry, d.at);
    let (maxlen, off) = ((dl >> 16) as usize, (dl & 0xffff) as usize);
    let end = (off + maxlen).min(d.entry.len());
    let Some(dst) = d.entry.get_mut(off..end).filter(|b| !b.is_empty()) else {
        return -(Errno::ENOMEM.code() as isize);
    };
    let room = dst.len() - 1;
    let mut sw = SliceWriter {
        buf: &mut dst[..room],
        len: 0,
    };
    let _ = write_symbol(&mut sw, ctx, addr);
    let n = sw.len;
    dst[n] = 0;
    put_u32(d.entry, d.at, make_data_loc(n + 1, off));
    (n + 1) as isize
}
}

arch::nokprobe! {
/// Linux's `fetch_apply_bitfield()`.
fn apply_bitfield(d: &mut Dest<'_>, size: usize, lshift: u8, rshift: u8) {
    let bits = size as u32 * 8;
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    };
    let v = get_uint(d.entry, d.at, size);
    let v = (v.checked_shl(u32::from(lshift)).unwrap_or(0) & mask)
        .checked_shr(u32::from(rshift))
        .unwrap_or(0);
    put_uint(d.entry, d.at, size, v);
}
}

impl TraceProbe {
    arch::nokprobe! {
    /// Bytes the string arguments need after the fixed part (Linux's `__get_data_size()`).
    #[inline(always)]
    pub fn data_size<C: FetchCtx + ?Sized>(&self, ctx: &C) -> usize {
        if !self.args.iter().any(|a| a.dynamic) {
            return 0;
        }
        self.dynamic_size(ctx)
    }
    }

    arch::nokprobe! {
    /// [`Self::data_size`] of a probe with strings.
    fn dynamic_size<C: FetchCtx + ?Sized>(&self, ctx: &C) -> usize {
        self.args
            .iter()
            .filter(|a| a.dynamic)
            .filter_map(|a| a.process(ctx, None).ok())
            .filter(|&n| n > 0)
            .map(|n| n as usize)
            .sum()
    }
    }

    arch::nokprobe! {
    /// Stores every argument into `entry` (Linux's `store_trace_args()`): the whole entry,
    /// `head` bytes of header, then [`Self::size`] bytes of values, then the room for strings
    /// that [`Self::data_size`] asked for. A value that cannot be read is stored as 0.
    pub fn store_trace_args<C: FetchCtx + ?Sized>(&self, ctx: &C, entry: &mut [u8], head: usize) {
        let mut dyndata = head + self.size;
        let mut maxlen = entry.len().saturating_sub(dyndata);
        for a in &self.args {
            let at = head + a.offset;
            if a.store_simple(ctx, entry, at) {
                continue;
            }
            if let Some(field) = entry.get_mut(at..at + a.size()) {
                field.fill(0);
            }
            if a.dynamic {
                put_u32(entry, at, make_data_loc(maxlen, dyndata));
            }
            let ret = a.process(ctx, Some(Dest { entry, at }));
            match ret {
                Ok(n) if a.dynamic && n > 0 => {
                    dyndata += n as usize;
                    maxlen = maxlen.saturating_sub(n as usize);
                }
                Ok(_) if a.dynamic && a.count != 0 => {}
                Ok(_) | Err(FetchFault) if a.dynamic => {
                    put_u32(entry, at, make_data_loc(0, dyndata));
                }
                _ => {}
            }
        }
    }
    }

    arch::nokprobe! {
    /// What a return probe's entry handler saves for its `$argN` (Linux's
    /// `store_trace_entry_data()`): `out` holds [`Self::entry_data_size`] bytes as words.
    pub fn store_entry_data<C: FetchCtx + ?Sized>(&self, ctx: &C, out: &mut [u64]) {
        for (slot, &argnum) in out.iter_mut().zip(&self.entry_args) {
            *slot = ctx.arg(argnum);
        }
    }
    }

    arch::nokprobe! {
    /// [`Self::store_entry_data`] straight from the saved argument registers `regs` (`x0`
    /// on; arm64's `regs_get_kernel_argument()`: 0 from the ninth argument or past `regs`),
    /// for a handler that has no trap frame to build.
    #[inline(always)]
    pub fn store_entry_regs(&self, regs: &[u64], out: &mut [u64]) {
        for (slot, &argnum) in out.iter_mut().zip(&self.entry_args) {
            *slot = if argnum < 8 {
                regs.get(argnum as usize).copied().unwrap_or(0)
            } else {
                0
            };
        }
    }
    }
}

/// Where a [`SimpleArg`]'s value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimpleSrc {
    /// `x0`..`x30`; also `$argN` below 8 and `$retval` (`x0`).
    Reg(u8),
    /// A word the entry handler saved, by index (a return probe's `$argN`).
    EData(u32),
    /// `$argN` from 8 on: arm64's `regs_get_kernel_argument()` gives 0.
    Zero,
}

/// One argument stored as it is loaded, its place in the entry precomputed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimpleArg {
    pub src: SimpleSrc,
    /// Its offset in the whole entry.
    pub at: usize,
    /// Bytes stored: 1, 2, 4 or 8.
    pub size: u8,
}

/// A probe whose arguments are all plain registers, `$argN`, `$retval` or saved entry words
/// (the common case): the entry's length and each value's source and place, worked out once
/// when the probe is armed, so a hit writes the words without walking the fetch programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbePlan {
    /// The whole entry's length: head and values.
    pub len: usize,
    /// The head's length ([`ProbePrintType::head_size`]).
    pub head: usize,
    /// Registers read: one more than the highest `x` number a value comes from (0 for none).
    /// A caller with fewer saved registers (an fprobe's x0-x8) takes the general path.
    pub nregs: usize,
    /// The arguments' stores cover every byte after the head: an entry need not be zeroed
    /// before [`Self::fill`] (else its padding must be).
    pub covers: bool,
    pub args: Box<[SimpleArg]>,
}

impl TraceProbe {
    /// The plan of a probe whose every argument is a plain value (the cases of
    /// `ProbeArg::store_simple`) and whose entry (with `ptype`'s head) fits in `max_len`;
    /// `None` otherwise, or when memory runs out (the hit then takes the general path).
    pub fn simple_plan(&self, ptype: ProbePrintType, max_len: usize) -> Option<ProbePlan> {
        let head = ptype.head_size();
        let len = head.checked_add(self.size).filter(|&l| l <= max_len)?;
        let mut args = Vec::new();
        args.try_reserve_exact(self.args.len()).ok()?;
        let mut nregs = 0;
        for a in &self.args {
            let [load, FetchOp::StRaw { size }, FetchOp::End, ..] = &a.code[..] else {
                return None;
            };
            if a.dynamic || a.count != 0 || !matches!(size, 1 | 2 | 4 | 8) {
                return None;
            }
            let src = match load {
                FetchOp::Arg(n) if *n < 8 => SimpleSrc::Reg(*n as u8),
                FetchOp::Arg(_) => SimpleSrc::Zero,
                FetchOp::Reg(Reg::X(n)) if *n <= 30 => SimpleSrc::Reg(*n),
                FetchOp::Retval => SimpleSrc::Reg(0),
                FetchOp::EData(off) => SimpleSrc::EData(off / 8),
                _ => return None,
            };
            let at = head + a.offset;
            if let SimpleSrc::Reg(n) = src {
                nregs = nregs.max(usize::from(n) + 1);
            }
            // In the entry and naturally aligned (for plain stores).
            if at + usize::from(*size) > len || !at.is_multiple_of(usize::from(*size)) {
                return None;
            }
            args.push(SimpleArg {
                src,
                at,
                size: *size,
            });
        }
        // The places never overlap (each value has its own), so they cover the values' bytes
        // exactly when their sizes add up to them.
        let stored: usize = args.iter().map(|a| usize::from(a.size)).sum();
        let covers = stored == len - head
            && args.iter().enumerate().all(|(i, a)| {
                args[..i].iter().all(|b| {
                    a.at + usize::from(a.size) <= b.at || b.at + usize::from(b.size) <= a.at
                })
            });
        Some(ProbePlan {
            len,
            head,
            nregs,
            covers,
            args: args.into_boxed_slice(),
        })
    }
}

impl ProbePlan {
    arch::nokprobe! {
    /// Writes a hit into `entry` (its common header written, the rest zeroed unless the plan
    /// [`covers`](Self::covers) it): the head's `words` (`ip`, or `func` and `ret_ip`), then
    /// each argument from the registers `regs` or the saved words `edata` (0 past the end of
    /// either), as [`TraceProbe::store_trace_args`] would.
    /// An 8-byte aligned entry of at least [`Self::len`] bytes (what the recorder hands out)
    /// with all the head's words given takes plain stores, the places having been checked when
    /// the plan was made; anything else the general path, which zeroes what it writes first.
    #[inline(always)]
    pub fn fill(&self, words: &[u64], regs: &[u64], edata: &[u64], entry: &mut [u8]) {
        let base = entry.as_mut_ptr();
        if entry.len() < self.len
            || !base.addr().is_multiple_of(8)
            || words.len() * 8 != self.head - COMMON_HEADER_SIZE
        {
            return self.fill_general(words, regs, edata, entry);
        }
        let head = base.wrapping_add(COMMON_HEADER_SIZE).cast::<u64>();
        // SAFETY: `COMMON_HEADER_SIZE + 8 * words.len() == head <= len <= entry.len()`, and
        // the words' places are multiples of 8 from an 8-byte aligned base. One or two words
        // (`ProbePrintType`), stored without a loop.
        unsafe {
            match *words {
                [ip] => head.write(ip.to_le()),
                [func, ret_ip] => {
                    head.write(func.to_le());
                    head.add(1).write(ret_ip.to_le());
                }
                _ => {
                    for (i, &w) in words.iter().enumerate() {
                        head.add(i).write(w.to_le());
                    }
                }
            }
        }
        for a in &self.args {
            let v = a.value(regs, edata);
            // SAFETY: `simple_plan` checked `at + size <= len` (and `len <= entry.len()`
            // here) and that `at` is a multiple of `size`; the base is 8-byte aligned.
            unsafe {
                let p = base.add(a.at);
                if a.size == 8 {
                    p.cast::<u64>().write(v.to_le());
                } else if a.size == 4 {
                    p.cast::<u32>().write((v as u32).to_le());
                } else if a.size == 2 {
                    p.cast::<u16>().write((v as u16).to_le());
                } else {
                    p.write(v as u8);
                }
            }
        }
    }
    }

    arch::nokprobe! {
    /// [`Self::fill`] for an entry the plain stores cannot take: zeroed after the header, then
    /// each word and value stored where it fits.
    #[cold]
    #[inline(never)]
    fn fill_general(&self, words: &[u64], regs: &[u64], edata: &[u64], entry: &mut [u8]) {
        if let Some(rest) = entry.get_mut(COMMON_HEADER_SIZE..) {
            rest.fill(0);
        }
        let nwords = (self.head - COMMON_HEADER_SIZE) / 8;
        for (i, &w) in words.iter().take(nwords).enumerate() {
            put_uint(entry, COMMON_HEADER_SIZE + 8 * i, 8, w);
        }
        for a in &self.args {
            put_uint(entry, a.at, usize::from(a.size), a.value(regs, edata));
        }
    }
    }
}

impl SimpleArg {
    /// The value from `regs` or `edata` (0 past the end of either).
    #[inline(always)]
    fn value(&self, regs: &[u64], edata: &[u64]) -> u64 {
        match self.src {
            SimpleSrc::Reg(n) => regs.get(usize::from(n)).copied().unwrap_or(0),
            SimpleSrc::EData(i) => edata.get(i as usize).copied().unwrap_or(0),
            SimpleSrc::Zero => 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------

/// One value of type `ty` at `at` in `entry` (Linux's `print_type_*()`).
fn print_value(
    w: &mut dyn Write,
    ty: &FetchType,
    entry: &[u8],
    at: usize,
    sym: &(impl Symbolizer + ?Sized),
) -> fmt::Result {
    let v = get_uint(entry, at, ty.size);
    match ty.kind {
        PrintKind::Unsigned => write!(w, "{v}"),
        PrintKind::Signed => {
            let shift = 64 - ty.size as u32 * 8;
            write!(w, "{}", ((v << shift) as i64) >> shift)
        }
        PrintKind::Hex => write!(w, "{v:#x}"),
        PrintKind::Char => write!(w, "'{}'", char::from(v as u8)),
        PrintKind::Symbol => write_symbol(w, sym, v),
        PrintKind::String => {
            let dl = v as u32;
            let (len, off) = ((dl >> 16) as usize, (dl & 0xffff) as usize);
            if len == 0 {
                return w.write_str(FAULT_STRING);
            }
            let bytes = entry.get(off..(off + len).min(entry.len())).unwrap_or(&[]);
            let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
            w.write_char('"')?;
            for chunk in bytes.utf8_chunks() {
                w.write_str(chunk.valid())?;
                for &b in chunk.invalid() {
                    w.write_char(char::from(b))?;
                }
            }
            w.write_char('"')
        }
    }
}

impl TraceProbe {
    /// ` NAME=VALUE` for every argument of `entry` whose head is `head` bytes (Linux's
    /// `trace_probe_print_args()`): arrays as `{a,b}`, strings quoted.
    pub fn print_args(
        &self,
        w: &mut dyn Write,
        entry: &[u8],
        head: usize,
        sym: &(impl Symbolizer + ?Sized),
    ) -> fmt::Result {
        for a in &self.args {
            write!(w, " {}=", a.name)?;
            let at = head + a.offset;
            if a.count == 0 {
                print_value(w, a.ty, entry, at, sym)?;
                continue;
            }
            w.write_char('{')?;
            for j in 0..a.count as usize {
                print_value(w, a.ty, entry, at + j * a.ty.size, sym)?;
                w.write_char(if j + 1 == a.count as usize { '}' } else { ',' })?;
            }
        }
        Ok(())
    }

    /// A whole line after the context columns (Linux's `print_kprobe_event()`,
    /// `print_kretprobe_event()` and their fprobe twins): `NAME: (SYM+OFF/SIZE) ARGS` or
    /// `NAME: (RET_SYM+OFF/SIZE <- FUNC) ARGS`, with its newline.
    pub fn print_event(
        &self,
        w: &mut dyn Write,
        name: &str,
        ptype: ProbePrintType,
        entry: &[u8],
        sym: &(impl Symbolizer + ?Sized),
    ) -> fmt::Result {
        let word = |i: usize| get_uint(entry, COMMON_HEADER_SIZE + 8 * i, 8);
        write!(w, "{name}: (")?;
        match ptype {
            ProbePrintType::Normal => write_ip_sym(w, sym, word(0), true)?,
            ProbePrintType::Return => {
                write_ip_sym(w, sym, word(1), true)?;
                w.write_str(" <- ")?;
                write_ip_sym(w, sym, word(0), false)?;
            }
        }
        w.write_char(')')?;
        self.print_args(w, entry, ptype.head_size(), sym)?;
        w.write_char('\n')
    }
}

// ---------------------------------------------------------------------------------------------
// Command helpers shared by kprobe and fprobe events
// ---------------------------------------------------------------------------------------------

/// Symbols a probe command names (Linux's kallsyms and ftrace filter lookups).
pub trait KsymLookup {
    /// The address of the symbol called exactly `name` (Linux's `kallsyms_lookup_name()`).
    fn lookup_name(&self, name: &str) -> Option<u64>;
    /// How many symbols are called `name` (Linux's `number_of_same_symbols()`).
    fn count(&self, name: &str) -> usize;
}

/// The `MAXACTIVE` after `r` or `f` of `argv0` (Linux's digits-then-`:` rule): `Ok(0)` without
/// one. `event_at` is where the event name starts, after the `:`.
pub fn parse_maxactive(
    argv0: &str,
    event_at: Option<usize>,
    log: &ProbeLog<'_>,
) -> Result<u32, ProbeError> {
    let digits = &argv0[1..event_at.map_or(argv0.len(), |at| at - 1)];
    if digits.len() > MAX_EVENT_NAME_LEN - 1 {
        return Err(log.inval(TpErr::BAD_MAXACT, 1));
    }
    match kstrtouint(digits, 0) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(log.inval(TpErr::BAD_MAXACT, 1)),
    }
}

/// Linux's `traceprobe_expand_meta_args()` without BTF: `$arg*` cannot be expanded. Checks every
/// argument that starts with `$arg`; the entries Linux logs while going on (`$arg*` without BTF
/// logs and lets the argument fail later).
pub fn check_meta_args(
    args: &[&str],
    parse_flags: u32,
    log: &mut ProbeLog<'_>,
) -> Result<Vec<LoggedError>, ProbeError> {
    let mut args_idx = None;
    for (i, a) in args.iter().enumerate() {
        if !a.starts_with("$arg") {
            continue;
        }
        log.set_index(i + 2);
        if !is_function_entry(parse_flags) && !is_function_return(parse_flags) {
            return Err(log.inval(TpErr::NOFENTRY_ARGS, 0));
        }
        match a.as_bytes().get(4) {
            Some(c) if c.is_ascii_digit() => {}
            Some(b'*') => {
                if args_idx.is_some() {
                    return Err(log.inval(TpErr::DOUBLE_ARGS, 0));
                }
                args_idx = Some(i);
            }
            _ => return Err(log.inval(TpErr::BAD_VAR, 0)),
        }
    }
    // Without BTF, Linux logs at the last `$arg` word and goes on with the arguments unexpanded.
    Ok(match args_idx {
        Some(_) => log.inval(TpErr::NOSUP_BTFARG, 0).logged,
        None => Vec::new(),
    })
}

/// Parses every argument of a probe command (from word 2 on) into `tp`.
pub fn parse_args(
    tp: &mut TraceProbe,
    args: &[&str],
    parse_flags: u32,
    log: &mut ProbeLog<'_>,
) -> Result<(), ProbeError> {
    if args.len() > MAX_TRACE_ARGS {
        return Err(ProbeError::silent(Errno::E2BIG));
    }
    tp.args
        .try_reserve_exact(args.len())
        .map_err(|_| ProbeError::silent(Errno::ENOMEM))?;
    for (i, a) in args.iter().enumerate() {
        log.set_index(i + 2);
        let mut ctx = ParseCtx {
            flags: parse_flags,
            offset: 0,
        };
        tp.parse_arg(a, &mut ctx)
            .map_err(|e| log.error(e.errno, e.log))?;
    }
    Ok(())
}

/// Puts entries Linux logged before the failure in front of it.
pub fn with_pending(mut pending: Vec<LoggedError>, mut err: ProbeError) -> ProbeError {
    if !pending.is_empty() && pending.try_reserve(err.logged.len()).is_ok() {
        pending.append(&mut err.logged);
        err.logged = pending;
    }
    err
}

/// The words of a command (Linux's `argv_split()`: runs of white space separate them).
pub fn split_words(cmd: &str) -> Result<Vec<&str>, Errno> {
    let mut argv = Vec::new();
    for w in cmd
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        argv.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        argv.push(w);
    }
    Ok(argv)
}

/// Linux's `trace_probe_match_command_args()`: the first words after the probe point name the
/// probe's first arguments as `NAME=ARG`.
pub fn match_command_args(tp: &TraceProbe, argv: &[&str]) -> bool {
    tp.args.len() >= argv.len()
        && tp.args.iter().zip(argv).all(|(a, w)| {
            w.len() == a.name.len() + 1 + a.comm.len()
                && w.starts_with(a.name.as_str())
                && w[a.name.len()..].starts_with('=')
                && w.ends_with(a.comm.as_str())
        })
}

// ---------------------------------------------------------------------------------------------
// A probe hit on this kernel
// ---------------------------------------------------------------------------------------------

#[cfg(target_os = "none")]
pub use frame::TrapFrameCtx;

#[cfg(target_os = "none")]
mod frame {
    use core::cell::OnceCell;

    use arch::exception::TrapFrame;
    use arch::extable::{read_u8_nofault, read_u64_nofault};

    use super::{FetchCtx, FetchFault, SymInfo, Symbolizer};

    use crate::sched::format::TASK_COMM_LEN;
    use crate::symbols::kallsyms;

    /// Lower-half (TTBR0) addresses: where user memory is, as Linux's `access_ok()` sees it.
    const USER_TOP: u64 = 1 << 48;

    /// What a kprobe or fprobe handler offers the fetch programs: the trap frame of the hit,
    /// the data a return probe's entry handler saved, the current task and the kernel's
    /// symbols. Memory is read through the exception table's no-fault accessors.
    pub struct TrapFrameCtx<'a> {
        frame: &'a TrapFrame,
        entry_data: &'a [u64],
        /// The current task's name, read the first time a program asks for it (`$comm`).
        comm: OnceCell<[u8; TASK_COMM_LEN]>,
        /// The kretprobe return trampoline, once kprobes have one.
        trampoline: Option<u64>,
    }

    impl<'a> TrapFrameCtx<'a> {
        #[inline(always)]
        pub fn new(frame: &'a TrapFrame, entry_data: &'a [u64], trampoline: Option<u64>) -> Self {
            Self {
                frame,
                entry_data,
                comm: OnceCell::new(),
                trampoline,
            }
        }
    }

    arch::nokprobe! {
    /// Reads `buf.len()` bytes at `addr`, a word at a time where aligned.
    fn read(addr: u64, buf: &mut [u8]) -> Result<(), FetchFault> {
        let mut done = 0;
        while done < buf.len() {
            let at = addr.checked_add(done as u64).ok_or(FetchFault)?;
            if at % 8 == 0 && buf.len() - done >= 8 {
                let word = read_u64_nofault(at).map_err(|_| FetchFault)?;
                buf[done..done + 8].copy_from_slice(&word.to_le_bytes());
                done += 8;
            } else {
                buf[done] = read_u8_nofault(at).map_err(|_| FetchFault)?;
                done += 1;
            }
        }
        Ok(())
    }
    }

    impl Symbolizer for TrapFrameCtx<'_> {
        fn symbol(&self, addr: u64) -> Option<SymInfo<'_>> {
            kallsyms().lookup(addr).map(|s| SymInfo {
                name: s.name,
                addr: s.addr,
                size: u64::from(s.size),
            })
        }

        fn is_kretprobe_trampoline(&self, addr: u64) -> bool {
            self.trampoline == Some(addr)
        }
    }

    impl FetchCtx for TrapFrameCtx<'_> {
        fn reg(&self, n: u8) -> u64 {
            self.frame.regs.get(usize::from(n)).copied().unwrap_or(0)
        }

        fn sp(&self) -> u64 {
            self.frame.sp
        }

        fn pc(&self) -> u64 {
            self.frame.pc
        }

        fn pstate(&self) -> u64 {
            self.frame.pstate
        }

        /// arm64's `regs_get_kernel_argument()`: `x0`..`x7`, then 0.
        fn arg(&self, n: u32) -> u64 {
            if n < 8 {
                self.frame.regs[n as usize]
            } else {
                0
            }
        }

        fn retval(&self) -> u64 {
            self.frame.regs[0]
        }

        fn entry_data(&self, offset: u32) -> u64 {
            self.entry_data
                .get(offset as usize / 8)
                .copied()
                .unwrap_or(0)
        }

        fn read_nofault(&self, addr: u64, buf: &mut [u8]) -> Result<(), FetchFault> {
            read(addr, buf)
        }

        /// Only lower-half addresses are user memory (Linux's `access_ok()`).
        fn read_user_nofault(&self, addr: u64, buf: &mut [u8]) -> Result<(), FetchFault> {
            match addr.checked_add(buf.len() as u64) {
                Some(end) if end <= USER_TOP => read(addr, buf),
                _ => Err(FetchFault),
            }
        }

        fn comm(&self) -> &[u8] {
            self.comm
                .get_or_init(|| crate::sched::current().map_or([0; TASK_COMM_LEN], |t| t.comm()))
        }
    }
}

#[cfg(test)]
mod tests;
