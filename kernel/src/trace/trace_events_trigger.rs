//! Event triggers (Linux: `kernel/trace/trace_events_trigger.c`): what a write to
//! `events/SYS/EVENT/trigger` means, what reading it shows, and the count rules of a trigger
//! that fires. Pure logic, host-tested; the event registry keeps an [`EventTriggers`] per event
//! and runs the triggers.
//!
//! The grammar, as Linux 6.12 parses it (surrounding whitespace stripped first):
//!
//! ```text
//! [!]CMD[(:| |\t)PARAM][ if FILTER]
//!   traceon, traceoff, stacktrace:   [N]            N: count (kstrtoul, base 0)
//!   enable_event, disable_event:     SYS:EVENT[:N]  the event to switch (soft mode)
//! ```
//!
//! - A count limits how often the trigger fires; without one it fires without limit.
//!   `traceoff:0` is accepted and never fires. A count of `ULONG_MAX` is Linux's "-1":
//!   unlimited. Text after the count and a `:` is ignored (`traceoff:3:x` is `traceoff:3`).
//! - The filter is the text after `if` and one space or tab; it is kept verbatim, and
//!   [`TriggerOp::Add`] gives its offset in the written data so the caller can compile it (the
//!   event filter grammar) and place an error caret. Linux compiles it against the event
//!   that owns the `trigger` file, and a compile error is logged by the filter code
//!   (`event filter parse error`, the command being the filter text); the trigger code itself
//!   logs nothing to `error_log` for these five commands (only `hist` triggers do).
//! - Errors: every malformed write is `EINVAL` (unknown command, a parameter where a count
//!   belongs, a count that is not a number, text before `if` is not `if`, a missing or unknown
//!   `SYS:EVENT`), except a count too large for an unsigned long, `ERANGE`, and a write of
//!   [`PAGE_SIZE`] bytes or more, `EINVAL` before any parsing.
//! - `!CMD...` removes the trigger in the same slot (see [`TriggerCmd::same_slot`]). It parses
//!   only up to the command (and for enable/disable_event the `SYS:EVENT`, which must exist):
//!   count and filter are ignored, and removing a trigger that is not there succeeds.
//! - Adding a trigger whose slot is taken is `EEXIST` ([`EventTriggers::add`]): an event has at
//!   most one of traceon/traceoff (one slot: Linux's `ETT_TRACE_ONOFF`), one stacktrace, and
//!   one enable/disable_event per target event.
//! - A truncating write does not remove the triggers in Linux 6.12 (only `hist` has an
//!   `unreg_all`): `echo > trigger` is an empty command, `EINVAL`.

use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

use super::trace_events::TraceEventCall;
use super::trace_events_filter::EventFilter;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::ftrace_regex::{FilterErrorKind, kstrtoul};
use crate::fs::Errno;

/// Linux's `event_trigger_type` bits of the commands we have: the slot a trigger takes.
pub const ETT_TRACE_ONOFF: u32 = 1 << 0;
pub const ETT_STACKTRACE: u32 = 1 << 2;
pub const ETT_EVENT_ENABLE: u32 = 1 << 3;

/// A write this long or longer is refused whole (Linux: `cnt >= PAGE_SIZE`).
pub const PAGE_SIZE: usize = 4096;

/// The commands in Linux's registration order, which `trigger` lists while the event has no
/// trigger. Linux 6.12 also has `snapshot` (after `traceoff`) and `enable_hist`,
/// `disable_hist`, `hist` (at the end); we list only what we implement.
pub const TRIGGER_COMMANDS: [&str; 5] = [
    "traceon",
    "traceoff",
    "stacktrace",
    "enable_event",
    "disable_event",
];

/// What a trigger does when it fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerCmd {
    /// Turns tracing on (`tracing_on`).
    Traceon,
    /// Turns tracing off; runs after the event is recorded.
    Traceoff,
    /// Records the kernel stack; runs after the event is recorded.
    Stacktrace,
    /// Lets event `system:event` record (clears its soft-disabled flag).
    EnableEvent { system: String, event: String },
    /// Stops event `system:event` from recording (sets its soft-disabled flag).
    DisableEvent { system: String, event: String },
}

impl TriggerCmd {
    /// The command's name, as written and shown.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Traceon => "traceon",
            Self::Traceoff => "traceoff",
            Self::Stacktrace => "stacktrace",
            Self::EnableEvent { .. } => "enable_event",
            Self::DisableEvent { .. } => "disable_event",
        }
    }

    /// Linux's `trigger_type`: traceon and traceoff share one, as do enable and disable_event.
    pub fn trigger_type(&self) -> u32 {
        match self {
            Self::Traceon | Self::Traceoff => ETT_TRACE_ONOFF,
            Self::Stacktrace => ETT_STACKTRACE,
            Self::EnableEvent { .. } | Self::DisableEvent { .. } => ETT_EVENT_ENABLE,
        }
    }

    /// Whether Linux runs it after the event is written (`EVENT_CMD_FL_POST_TRIGGER`), so the
    /// event that turns tracing off or asks for a stack is itself in the trace.
    pub fn is_post_trigger(&self) -> bool {
        matches!(self, Self::Traceoff | Self::Stacktrace)
    }

    /// The event an enable/disable_event trigger switches.
    pub fn target(&self) -> Option<(&str, &str)> {
        match self {
            Self::EnableEvent { system, event } | Self::DisableEvent { system, event } => {
                Some((system, event))
            }
            _ => None,
        }
    }

    /// Whether two triggers take the same slot of an event: one refuses the other (`EEXIST`),
    /// and `!` of one removes the other. Linux compares the trigger type, and for
    /// enable/disable_event the target event: `!traceon` removes a `traceoff`.
    pub fn same_slot(&self, other: &Self) -> bool {
        self.trigger_type() == other.trigger_type() && self.target() == other.target()
    }
}

/// One trigger of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub cmd: TriggerCmd,
    /// How many more times it may fire; `None` without limit.
    pub count: Option<u64>,
    /// The filter text (after `if `) that an event must match for the trigger to run.
    pub filter: Option<String>,
}

impl Trigger {
    /// Its line in `trigger`: `traceoff:unlimited`, `traceon:count=3 if prev_pid==1`,
    /// `enable_event:sched:sched_wakeup:unlimited`.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        w.write_str(self.cmd.name())?;
        if let Some((system, event)) = self.cmd.target() {
            write!(w, ":{system}:{event}")?;
        }
        match self.count {
            None => w.write_str(":unlimited")?,
            // Linux prints its unsigned long count with `%ld`.
            Some(count) => write!(w, ":count={}", count as i64)?,
        }
        match &self.filter {
            Some(filter) => writeln!(w, " if {filter}"),
            None => writeln!(w),
        }
    }

    /// Whether the trigger, its filter matched, does its work now, using up one of its count.
    /// `already` says that what it would do already holds: for traceon that tracing is on,
    /// for traceoff that it is off, for enable_event that the target is not soft-disabled,
    /// for disable_event that it is; stacktrace always passes `false`. As in Linux's
    /// `*_count_trigger`, a trigger with nothing to change neither fires nor counts, so
    /// `traceoff:3` turns tracing off three times however often the event happens.
    pub fn should_fire(&mut self, already: bool) -> bool {
        if already {
            return false;
        }
        match &mut self.count {
            None => true,
            Some(0) => false,
            Some(count) => {
                *count -= 1;
                true
            }
        }
    }
}

/// What a write to `trigger` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerOp {
    /// Add `trigger`; `filter_offset` is the byte offset of its filter text in the written
    /// data (`Some` exactly when it has a filter).
    Add {
        trigger: Trigger,
        filter_offset: Option<usize>,
    },
    /// Remove the trigger in this command's slot, if there is one.
    Remove(TriggerCmd),
}

/// A piece of the written text and its byte offset in the data.
#[derive(Clone, Copy)]
struct Span<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Span<'a> {
    /// Splits at the first of `delims`: the part before it, and what follows it (`None`
    /// when there is no delimiter, as C's `strsep` leaves its cursor NULL).
    fn strsep(self, delims: &[char]) -> (Span<'a>, Option<Span<'a>>) {
        match self.text.find(delims) {
            Some(i) => (
                Span {
                    text: &self.text[..i],
                    at: self.at,
                },
                Some(self.from(i + 1)),
            ),
            None => (self, None),
        }
    }

    fn from(self, i: usize) -> Span<'a> {
        Span {
            text: &self.text[i..],
            at: self.at + i,
        }
    }

    /// Leading C whitespace skipped (Linux's `skip_spaces`).
    fn skip_spaces(self) -> Span<'a> {
        let skipped = self.text.len() - self.text.trim_start_matches(is_c_space).len();
        self.from(skipped)
    }
}

/// C's `isspace`.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `s` in fresh memory, `ENOMEM` if there is none.
fn try_string(s: &str) -> Result<String, Errno> {
    let mut owned = String::new();
    owned
        .try_reserve_exact(s.len())
        .map_err(|_| Errno::ENOMEM)?;
    owned.push_str(s);
    Ok(owned)
}

/// Parses one write to `trigger`. `Ok(None)` for an empty write, which Linux accepts and
/// ignores. `event_exists(system, event)` says whether an enable/disable_event target exists.
pub fn parse(
    data: &[u8],
    event_exists: &dyn Fn(&str, &str) -> bool,
) -> Result<Option<TriggerOp>, Errno> {
    if data.is_empty() {
        return Ok(None);
    }
    if data.len() >= PAGE_SIZE {
        return Err(Errno::EINVAL);
    }
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let whole = Span {
        text: text.trim_end_matches(is_c_space),
        at: 0,
    }
    .skip_spaces();
    let (glob, rest) = whole.strsep(&[':', ' ', '\t']);
    // What follows the command, `None` when nothing does.
    let param_and_filter = rest
        .map(Span::skip_spaces)
        .filter(|rest| !rest.text.is_empty());
    let (remove, name) = match glob.text.strip_prefix('!') {
        Some(name) => (true, name),
        None => (false, glob.text),
    };
    let op = match name {
        "traceon" => parse_plain(TriggerCmd::Traceon, remove, param_and_filter)?,
        "traceoff" => parse_plain(TriggerCmd::Traceoff, remove, param_and_filter)?,
        "stacktrace" => parse_plain(TriggerCmd::Stacktrace, remove, param_and_filter)?,
        "enable_event" | "disable_event" => parse_enable(
            name == "enable_event",
            remove,
            param_and_filter,
            event_exists,
        )?,
        _ => return Err(Errno::EINVAL),
    };
    Ok(Some(op))
}

/// traceon, traceoff, stacktrace: an optional count, then an optional filter (Linux's
/// `event_trigger_parse`).
fn parse_plain(
    cmd: TriggerCmd,
    remove: bool,
    param_and_filter: Option<Span<'_>>,
) -> Result<TriggerOp, Errno> {
    let (param, filter) = match param_and_filter {
        None => (None, None),
        // Only a count may come before the filter, and it starts with a digit.
        Some(pf) if !pf.text.starts_with(|c: char| c.is_ascii_digit()) => (None, Some(pf)),
        Some(pf) => {
            let (param, filter) = separate_filter(pf);
            (Some(param), filter)
        }
    };
    if remove {
        return Ok(TriggerOp::Remove(cmd));
    }
    add(cmd, param, filter)
}

/// enable_event, disable_event: `SYS:EVENT[:N]`, then an optional filter (Linux's
/// `event_enable_trigger_parse`).
fn parse_enable(
    enable: bool,
    remove: bool,
    param_and_filter: Option<Span<'_>>,
    event_exists: &dyn Fn(&str, &str) -> bool,
) -> Result<TriggerOp, Errno> {
    let (param, filter) = separate_filter(param_and_filter.ok_or(Errno::EINVAL)?);
    let (system, rest) = param.strsep(&[':']);
    let (event, count) = rest.ok_or(Errno::EINVAL)?.strsep(&[':']);
    if !event_exists(system.text, event.text) {
        return Err(Errno::EINVAL);
    }
    let (system, event) = (try_string(system.text)?, try_string(event.text)?);
    let cmd = if enable {
        TriggerCmd::EnableEvent { system, event }
    } else {
        TriggerCmd::DisableEvent { system, event }
    };
    if remove {
        return Ok(TriggerOp::Remove(cmd));
    }
    add(cmd, count, filter)
}

/// Splits `PARAM[ FILTER]` at its first space or tab (Linux's
/// `event_trigger_separate_filter`); an all-blank filter is none.
fn separate_filter(param_and_filter: Span<'_>) -> (Span<'_>, Option<Span<'_>>) {
    let (param, rest) = param_and_filter.strsep(&[' ', '\t']);
    let filter = rest
        .map(Span::skip_spaces)
        .filter(|filter| !filter.text.is_empty());
    (param, filter)
}

/// The trigger `cmd` with the count in `param` and the filter in `filter`.
fn add(
    cmd: TriggerCmd,
    param: Option<Span<'_>>,
    filter: Option<Span<'_>>,
) -> Result<TriggerOp, Errno> {
    let count = parse_count(param)?;
    let filter = filter.map(filter_text).transpose()?;
    let filter_offset = filter.map(|f| f.at);
    let filter = filter.map(|f| try_string(f.text)).transpose()?;
    Ok(TriggerOp::Add {
        trigger: Trigger { cmd, count, filter },
        filter_offset,
    })
}

/// The count of `N[:...]` (Linux's `event_trigger_parse_num`): `None` for no count or
/// `ULONG_MAX` (Linux's -1), both without limit.
fn parse_count(param: Option<Span<'_>>) -> Result<Option<u64>, Errno> {
    let Some(param) = param else {
        return Ok(None);
    };
    let (number, _) = param.strsep(&[':']);
    if number.text.is_empty() {
        return Err(Errno::EINVAL);
    }
    match kstrtoul(number.text) {
        Ok(u64::MAX) => Ok(None),
        Ok(count) => Ok(Some(count)),
        Err(FilterErrorKind::CountOverflow) => Err(Errno::ERANGE),
        Err(_) => Err(Errno::EINVAL),
    }
}

/// The filter of `if FILTER` (Linux's `set_trigger_filter`): `if`, one space or tab, and the
/// rest verbatim.
fn filter_text(filter: Span<'_>) -> Result<Span<'_>, Errno> {
    match filter.strsep(&[' ', '\t']) {
        (word, Some(rest)) if word.text == "if" => Ok(rest),
        _ => Err(Errno::EINVAL),
    }
}

/// The triggers of one event, newest first (Linux adds at the head of the list and shows it
/// in that order), each with what the caller keeps beside it (its compiled filter, say).
#[derive(Debug)]
pub struct EventTriggers<X> {
    list: Vec<(Trigger, X)>,
}

impl<X> Default for EventTriggers<X> {
    fn default() -> Self {
        Self::new()
    }
}

impl<X> EventTriggers<X> {
    pub const fn new() -> Self {
        Self { list: Vec::new() }
    }

    /// Adds `trigger` first. `EEXIST` if a trigger in its slot is there (Linux's
    /// `register_trigger`), `ENOMEM` if the list cannot grow; either leaves the list as it was.
    pub fn add(&mut self, trigger: Trigger, extra: X) -> Result<(), Errno> {
        if self.list.iter().any(|(t, _)| t.cmd.same_slot(&trigger.cmd)) {
            return Err(Errno::EEXIST);
        }
        self.list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.list.insert(0, (trigger, extra));
        Ok(())
    }

    /// Removes and returns the trigger in `cmd`'s slot, if any (Linux's `unregister_trigger`;
    /// a write that removes nothing still succeeds).
    pub fn remove(&mut self, cmd: &TriggerCmd) -> Option<(Trigger, X)> {
        let i = self.list.iter().position(|(t, _)| t.cmd.same_slot(cmd))?;
        Some(self.list.remove(i))
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The triggers, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &(Trigger, X)> {
        self.list.iter()
    }

    /// The triggers, newest first, for running them (counts change).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut (Trigger, X)> {
        self.list.iter_mut()
    }

    /// The `trigger` file: a line per trigger, or the list of commands when there is none.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        if self.list.is_empty() {
            return write_available_triggers(w);
        }
        self.list.iter().try_for_each(|(t, _)| t.show(w))
    }
}

/// What `trigger` reads without triggers: the commands it takes.
pub fn write_available_triggers(w: &mut dyn Write) -> fmt::Result {
    w.write_str("# Available triggers:\n#")?;
    for name in TRIGGER_COMMANDS {
        write!(w, " {name}")?;
    }
    writeln!(w)
}

/// A trigger as an event's probe runs it: the trigger, its compiled filter, the event an
/// enable/disable_event switches, and the fires left, counted down atomically (probes on
/// several CPUs may fire it at once; Linux's own count is not atomic).
pub struct ArmedTrigger {
    pub trigger: Trigger,
    pub filter: Option<EventFilter>,
    pub target: Option<&'static TraceEventCall>,
    /// Fires left; `u64::MAX` without a limit.
    remaining: AtomicU64,
}

impl ArmedTrigger {
    pub fn new(
        trigger: Trigger,
        filter: Option<EventFilter>,
        target: Option<&'static TraceEventCall>,
    ) -> Self {
        let remaining = AtomicU64::new(trigger.count.unwrap_or(u64::MAX));
        Self {
            trigger,
            filter,
            target,
            remaining,
        }
    }

    /// [`Trigger::should_fire`] for a shared trigger: fires (and counts) only when it would
    /// change something and has fires left.
    pub fn try_fire(&self, already: bool) -> bool {
        if already {
            return false;
        }
        self.remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| match left {
                u64::MAX => Some(left),
                0 => None,
                n => Some(n - 1),
            })
            .is_ok()
    }

    /// Its `trigger` line, with the fires left.
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        let left = self.remaining.load(Ordering::Relaxed);
        let trigger = Trigger {
            cmd: self.trigger.cmd.clone(),
            count: (left != u64::MAX).then_some(left),
            filter: self.trigger.filter.clone(),
        };
        trigger.show(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn exists(system: &str, event: &str) -> bool {
        matches!(
            (system, event),
            ("sched", "sched_wakeup") | ("sched", "sched_switch") | ("irq", "irq_handler_entry")
        )
    }

    fn op(s: &str) -> Result<Option<TriggerOp>, Errno> {
        parse(s.as_bytes(), &exists)
    }

    /// The trigger `s` adds, with its filter offset.
    fn added(s: &str) -> (Trigger, Option<usize>) {
        match op(s) {
            Ok(Some(TriggerOp::Add {
                trigger,
                filter_offset,
            })) => (trigger, filter_offset),
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn removed(s: &str) -> TriggerCmd {
        match op(s) {
            Ok(Some(TriggerOp::Remove(cmd))) => cmd,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn shown(t: &Trigger) -> String {
        let mut out = String::new();
        t.show(&mut out).unwrap();
        out
    }

    fn enable(system: &str, event: &str) -> TriggerCmd {
        TriggerCmd::EnableEvent {
            system: system.to_string(),
            event: event.to_string(),
        }
    }

    fn disable(system: &str, event: &str) -> TriggerCmd {
        TriggerCmd::DisableEvent {
            system: system.to_string(),
            event: event.to_string(),
        }
    }

    fn trigger(cmd: TriggerCmd, count: Option<u64>, filter: Option<&str>) -> Trigger {
        Trigger {
            cmd,
            count,
            filter: filter.map(str::to_string),
        }
    }

    #[test]
    fn plain_commands_without_count_are_unlimited() {
        for (s, cmd) in [
            ("traceon", TriggerCmd::Traceon),
            ("traceoff\n", TriggerCmd::Traceoff),
            ("  stacktrace \t\n", TriggerCmd::Stacktrace),
            // A `:` with nothing after it is no parameter.
            ("traceoff:", TriggerCmd::Traceoff),
            ("traceoff:  \n", TriggerCmd::Traceoff),
        ] {
            assert_eq!(added(s), (trigger(cmd, None, None), None), "{s:?}");
        }
    }

    #[test]
    fn counts_are_kstrtoul_base_zero() {
        for (s, count) in [
            ("traceoff:3", 3),
            ("traceon:0", 0),
            ("stacktrace:0x10", 16),
            ("traceoff:010", 8),
            // A space or tab also ends the command.
            ("traceoff 5", 5),
            ("traceoff\t5", 5),
            ("traceoff: 5", 5),
            // After the count, a `:` ends it and the rest is not looked at.
            ("traceoff:3:whatever", 3),
            ("traceoff:18446744073709551614", u64::MAX - 1),
        ] {
            assert_eq!(added(s).0.count, Some(count), "{s:?}");
        }
        // ULONG_MAX is Linux's -1: unlimited.
        assert_eq!(added("traceoff:18446744073709551615").0.count, None);
        assert_eq!(added("traceoff:0xffffffffffffffff").0.count, None);
    }

    #[test]
    fn filters_are_kept_verbatim_with_their_offset() {
        let s = "traceon:3 if prev_pid==1";
        let (t, at) = added(s);
        assert_eq!(
            t,
            trigger(TriggerCmd::Traceon, Some(3), Some("prev_pid==1"))
        );
        assert_eq!(&s[at.unwrap()..], "prev_pid==1");

        let s = "  traceoff   if  next_comm ~ \"sh*\" && prev_pid != 0 \n";
        let (t, at) = added(s);
        // One blank after `if` separates; the rest, inner blanks included, is the filter.
        assert_eq!(
            t.filter.as_deref(),
            Some(" next_comm ~ \"sh*\" && prev_pid != 0")
        );
        assert_eq!(t.count, None);
        assert!(s[at.unwrap()..].starts_with(" next_comm"));

        let (t, at) = added("stacktrace:if common_pid == 0");
        assert_eq!(t.filter.as_deref(), Some("common_pid == 0"));
        assert_eq!(at, Some(14));
        let (t, _) = added("traceoff:2\t\tif\tx==1");
        assert_eq!((t.count, t.filter.as_deref()), (Some(2), Some("x==1")));
    }

    #[test]
    fn enable_and_disable_event_name_their_target() {
        assert_eq!(
            added("enable_event:sched:sched_wakeup"),
            (trigger(enable("sched", "sched_wakeup"), None, None), None)
        );
        assert_eq!(
            added("disable_event:sched:sched_switch:2").0,
            trigger(disable("sched", "sched_switch"), Some(2), None)
        );
        assert_eq!(
            added("enable_event sched:sched_wakeup:0x3:junk").0.count,
            Some(3)
        );
        let s = "enable_event:irq:irq_handler_entry:1 if prev_pid == 1";
        let (t, at) = added(s);
        assert_eq!(
            t,
            trigger(
                enable("irq", "irq_handler_entry"),
                Some(1),
                Some("prev_pid == 1")
            )
        );
        assert_eq!(&s[at.unwrap()..], "prev_pid == 1");
    }

    #[test]
    fn bad_input_gets_linux_errno() {
        for bad in [
            "\n",
            "   ",
            "foo",
            "traceoffx",
            "Traceoff",
            "!",
            "! traceoff",
            "!foo",
            "snapshot",
            "hist:keys=pid",
            // Not a count and not `if`.
            "traceoff:abc",
            "traceoff junk",
            "traceoff:+3",
            "traceoff:3abc",
            "traceoff:3 junk",
            "traceoff:08",
            "traceoff:0x",
            "traceoff:3 iff x==1",
            "traceoff:3 if",
            "traceoff if",
            "traceoff:if",
            // The target is missing, partial, or not an event.
            "enable_event",
            "enable_event:",
            "enable_event:sched",
            "enable_event:sched:",
            "enable_event::sched_wakeup",
            "enable_event:sched:nope",
            "disable_event:nope:sched_wakeup",
            "!enable_event",
            "!enable_event:sched",
            "!disable_event:sched:nope",
            // A `:` after the event is an empty count.
            "enable_event:sched:sched_wakeup:",
            "enable_event:sched:sched_wakeup:x",
            "enable_event:sched:sched_wakeup junk",
            "enable_event:sched:sched_wakeup:1 iff x",
        ] {
            assert_eq!(op(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(op("traceoff:18446744073709551616"), Err(Errno::ERANGE));
        assert_eq!(
            op("enable_event:sched:sched_wakeup:99999999999999999999"),
            Err(Errno::ERANGE)
        );
        // The event is looked up before the count is read.
        assert_eq!(
            op("enable_event:sched:nope:99999999999999999999"),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            parse(b"traceoff if comm == \xff", &exists),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn writes_of_a_page_or_more_are_refused_and_empty_ones_ignored() {
        assert_eq!(parse(b"", &exists), Ok(None));
        let mut long = std::vec![b' '; PAGE_SIZE - "traceoff".len() - 1];
        long.extend_from_slice(b"traceoff");
        assert!(matches!(parse(&long, &exists), Ok(Some(_))));
        long.push(b'\n');
        assert_eq!(parse(&long, &exists), Err(Errno::EINVAL));
    }

    #[test]
    fn removal_reads_only_the_command_and_target() {
        assert_eq!(removed("!traceoff"), TriggerCmd::Traceoff);
        assert_eq!(removed("!traceon:3 if x==1"), TriggerCmd::Traceon);
        assert_eq!(removed("!stacktrace:abc"), TriggerCmd::Stacktrace);
        assert_eq!(removed("!traceoff junk"), TriggerCmd::Traceoff);
        assert_eq!(
            removed("!enable_event:sched:sched_wakeup:abc if"),
            enable("sched", "sched_wakeup")
        );
        assert_eq!(
            removed("  !disable_event:sched:sched_switch\n"),
            disable("sched", "sched_switch")
        );
    }

    #[test]
    fn show_prints_linux_lines() {
        let cases = [
            (
                trigger(TriggerCmd::Traceoff, None, None),
                "traceoff:unlimited\n",
            ),
            (
                trigger(TriggerCmd::Traceon, Some(3), Some("prev_pid==1")),
                "traceon:count=3 if prev_pid==1\n",
            ),
            (
                trigger(TriggerCmd::Stacktrace, Some(2), None),
                "stacktrace:count=2\n",
            ),
            (
                trigger(TriggerCmd::Traceoff, Some(0), None),
                "traceoff:count=0\n",
            ),
            (
                trigger(enable("sched", "sched_wakeup"), None, None),
                "enable_event:sched:sched_wakeup:unlimited\n",
            ),
            (
                trigger(disable("sched", "sched_switch"), Some(1), Some(" x == 1")),
                "disable_event:sched:sched_switch:count=1 if  x == 1\n",
            ),
            // `%ld` of an unsigned long.
            (
                trigger(TriggerCmd::Traceoff, Some(1 << 63), None),
                "traceoff:count=-9223372036854775808\n",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(shown(&t), want);
        }
    }

    #[test]
    fn parse_then_show_round_trips() {
        for s in [
            "traceoff:unlimited",
            "traceon:count=3 if prev_pid==1",
            "enable_event:sched:sched_wakeup:count=2",
        ] {
            // What `trigger` shows is not itself a valid write (`count=` is not a number),
            // but the equivalent write shows it.
            let write = s.replace("count=", "").replace(":unlimited", "");
            assert_eq!(shown(&added(&write).0), std::format!("{s}\n"));
        }
    }

    /// Writes and reads of Linux 6.12's `events/sched/sched_switch/trigger`, in order, with no
    /// event in between (Linux's counts move as the event fires; here they stay).
    #[test]
    fn replays_a_linux_session() {
        let mut list = EventTriggers::new();
        let mut write = |s: &str| -> Result<String, Errno> {
            match op(s)? {
                Some(TriggerOp::Add { trigger, .. }) => list.add(trigger, ())?,
                Some(TriggerOp::Remove(cmd)) => drop(list.remove(&cmd)),
                None => {}
            }
            let mut out = String::new();
            list.show(&mut out).unwrap();
            Ok(out)
        };
        let none = "# Available triggers:\n\
                    # traceon traceoff stacktrace enable_event disable_event\n";
        let steps: &[(&str, Result<&str, Errno>)] = &[
            ("traceoff\n", Ok("traceoff:unlimited\n")),
            ("traceoff\n", Err(Errno::EEXIST)),
            ("traceon\n", Err(Errno::EEXIST)),
            ("!traceoff\n", Ok(none)),
            ("!traceoff\n", Ok(none)),
            ("!traceon\n", Ok(none)),
            ("traceoff:count=3\n", Err(Errno::EINVAL)),
            ("!traceoff:3\n", Ok(none)),
            (
                "traceon:3 if prev_pid == 1\n",
                Ok("traceon:count=3 if prev_pid == 1\n"),
            ),
            ("traceon if prev_pid == 1\n", Err(Errno::EEXIST)),
            ("!traceon:3 if prev_pid == 1\n", Ok(none)),
            (
                "traceon if prev_pid == 1\n",
                Ok("traceon:unlimited if prev_pid == 1\n"),
            ),
            ("!traceon\n", Ok(none)),
            ("stacktrace:5\n", Ok("stacktrace:count=5\n")),
            (
                "enable_event:sched:sched_wakeup\n",
                Ok("enable_event:sched:sched_wakeup:unlimited\nstacktrace:count=5\n"),
            ),
            ("enable_event:sched:sched_wakeup:2\n", Err(Errno::EEXIST)),
            ("disable_event:sched:sched_wakeup\n", Err(Errno::EEXIST)),
            (
                "!enable_event:sched:sched_wakeup\n",
                Ok("stacktrace:count=5\n"),
            ),
            (
                "!disable_event:sched:sched_wakeup\n",
                Ok("stacktrace:count=5\n"),
            ),
            (
                "disable_event:sched:sched_switch:1 if next_pid > 0\n",
                Ok("disable_event:sched:sched_switch:count=1 if next_pid > 0\n\
                    stacktrace:count=5\n"),
            ),
            (
                "!disable_event:sched:sched_switch\n",
                Ok("stacktrace:count=5\n"),
            ),
            ("\n", Err(Errno::EINVAL)),
            ("nosuchcmd\n", Err(Errno::EINVAL)),
            ("TRACEOFF\n", Err(Errno::EINVAL)),
            ("traceoff:abc\n", Err(Errno::EINVAL)),
            ("traceoff:-1\n", Err(Errno::EINVAL)),
            ("traceoff if\n", Err(Errno::EINVAL)),
            ("enable_event:nosuch:event\n", Err(Errno::EINVAL)),
            ("enable_event:sched\n", Err(Errno::EINVAL)),
            ("enable_event\n", Err(Errno::EINVAL)),
            ("!stacktrace\n", Ok(none)),
            ("traceoff:3:4\n", Ok("traceoff:count=3\n")),
            ("traceoff extra\n", Err(Errno::EINVAL)),
            ("traceoff:3 extra\n", Err(Errno::EINVAL)),
            ("!nosuchcmd\n", Err(Errno::EINVAL)),
            ("!traceoff\n", Ok(none)),
            (
                "traceoff  if  prev_pid == 1\n",
                Ok("traceoff:unlimited if  prev_pid == 1\n"),
            ),
        ];
        for (s, want) in steps {
            assert_eq!(write(s).as_deref(), want.as_deref(), "{s:?}");
        }
    }

    #[test]
    fn the_empty_list_shows_the_commands() {
        let list = EventTriggers::<()>::new();
        let mut out = String::new();
        list.show(&mut out).unwrap();
        assert_eq!(
            out,
            "# Available triggers:\n# traceon traceoff stacktrace enable_event disable_event\n"
        );
    }

    #[test]
    fn list_shows_newest_first_and_refuses_a_taken_slot() {
        let mut list = EventTriggers::new();
        list.add(added("traceoff:3").0, 1).unwrap();
        list.add(added("stacktrace").0, 2).unwrap();
        list.add(added("enable_event:sched:sched_wakeup").0, 3)
            .unwrap();
        // Another target is another slot.
        list.add(added("disable_event:sched:sched_switch:1").0, 4)
            .unwrap();
        for taken in [
            "traceoff",
            "traceon:5",
            "stacktrace:1 if x==1",
            "disable_event:sched:sched_wakeup",
            "enable_event:sched:sched_switch",
        ] {
            assert_eq!(list.add(added(taken).0, 0), Err(Errno::EEXIST), "{taken}");
        }
        assert_eq!(list.len(), 4);
        let mut out = String::new();
        list.show(&mut out).unwrap();
        assert_eq!(
            out,
            "disable_event:sched:sched_switch:count=1\n\
             enable_event:sched:sched_wakeup:unlimited\n\
             stacktrace:unlimited\n\
             traceoff:count=3\n"
        );
        let extras: std::vec::Vec<i32> = list.iter().map(|(_, x)| *x).collect();
        assert_eq!(extras, [4, 3, 2, 1]);
    }

    #[test]
    fn removal_takes_the_slot_whichever_command_names_it() {
        let mut list = EventTriggers::new();
        list.add(added("traceoff:3").0, ()).unwrap();
        list.add(added("enable_event:sched:sched_wakeup").0, ())
            .unwrap();
        // `!traceon` removes the traceoff trigger: they share a slot.
        let (gone, ()) = list.remove(&removed("!traceon")).unwrap();
        assert_eq!(gone.cmd, TriggerCmd::Traceoff);
        assert!(list.remove(&TriggerCmd::Traceoff).is_none());
        assert!(list.remove(&TriggerCmd::Stacktrace).is_none());
        assert!(list.remove(&disable("sched", "sched_switch")).is_none());
        let (gone, ()) = list
            .remove(&removed("!disable_event:sched:sched_wakeup"))
            .unwrap();
        assert_eq!(gone.cmd, enable("sched", "sched_wakeup"));
        assert!(list.is_empty());
        // The slot is free again.
        list.add(added("traceon").0, ()).unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn count_is_used_only_when_the_trigger_changes_something() {
        let mut t = added("traceoff:2").0;
        assert!(!t.should_fire(true), "tracing already off");
        assert_eq!(t.count, Some(2));
        assert!(t.should_fire(false));
        assert_eq!(t.count, Some(1));
        assert!(!t.should_fire(true));
        assert!(t.should_fire(false));
        assert_eq!(t.count, Some(0));
        assert!(!t.should_fire(false), "count used up");
        assert_eq!(t.count, Some(0));
        assert_eq!(shown(&t), "traceoff:count=0\n");
    }

    #[test]
    fn unlimited_fires_whenever_there_is_work_and_zero_never() {
        let mut t = added("stacktrace").0;
        for _ in 0..1000 {
            assert!(t.should_fire(false));
        }
        assert_eq!(t.count, None);
        assert!(!t.should_fire(true));
        let mut t = added("traceon:0").0;
        assert!(!t.should_fire(false));
    }

    #[test]
    fn post_triggers_are_traceoff_and_stacktrace() {
        assert!(TriggerCmd::Traceoff.is_post_trigger());
        assert!(TriggerCmd::Stacktrace.is_post_trigger());
        assert!(!TriggerCmd::Traceon.is_post_trigger());
        assert!(!enable("a", "b").is_post_trigger());
        assert!(!disable("a", "b").is_post_trigger());
    }

    #[test]
    fn every_listed_command_parses() {
        for name in TRIGGER_COMMANDS {
            let s = match name {
                "enable_event" | "disable_event" => std::format!("{name}:sched:sched_wakeup"),
                _ => name.to_string(),
            };
            assert_eq!(added(&s).0.cmd.name(), name);
        }
    }
}
