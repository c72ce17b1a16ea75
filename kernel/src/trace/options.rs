//! Trace options (Linux: `trace_options` and the `options/` directory): named on/off flags
//! that change what the tracers record or how the text looks.
//!
//! Every option is one line of [`OPTIONS`]: its file name, its bit, its default and the tracer
//! it belongs to (`None`: a global option, always shown). Code that honours an option reads its
//! bit with [`enabled`], one relaxed load. An option whose change must act on something at
//! once (re-registering a tracer's callback, say) also gets an arm in `apply` below.
//!
//! `trace_options` lists the global options and the current tracer's, each as `name` when on
//! and `noname` when off; writing `name` or `noname` sets or clears one. `options/NAME` exists
//! for every option, reads `0` or `1` and takes `0` or `1` (anything else is `EINVAL`, as
//! Linux's `trace_options_write` answers).

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

use crate::fs::Errno;

/// `print-parent`: ` <-parent` after each function.
pub const PRINT_PARENT: u64 = 1 << 0;
/// `overwrite`: a full buffer overwrites its oldest events (else new ones are dropped).
pub const OVERWRITE: u64 = 1 << 1;
/// `irq-info`: the five flag columns (irqs-off, need-resched, ...).
pub const IRQ_INFO: u64 = 1 << 2;
/// `func_stack_trace` (function tracer): a stack trace after each function entry.
pub const FUNC_STACK_TRACE: u64 = 1 << 3;
/// `funcgraph-cpu` (function_graph): the ` N) ` column.
pub const FUNCGRAPH_CPU: u64 = 1 << 4;
/// `funcgraph-overhead`: the `+ ! # * @ $` duration markers.
pub const FUNCGRAPH_OVERHEAD: u64 = 1 << 5;
/// `funcgraph-proc`: the `comm-pid` column.
pub const FUNCGRAPH_PROC: u64 = 1 << 6;
/// `funcgraph-duration`: the DURATION column.
pub const FUNCGRAPH_DURATION: u64 = 1 << 7;
/// `funcgraph-abstime`: the timestamp column.
pub const FUNCGRAPH_ABSTIME: u64 = 1 << 8;
/// `funcgraph-tail`: the function's name on its closing brace.
pub const FUNCGRAPH_TAIL: u64 = 1 << 9;
/// `funcgraph-retval`: return values on leaves and closing braces.
pub const FUNCGRAPH_RETVAL: u64 = 1 << 10;
/// `funcgraph-irqs`: functions run by interrupts are recorded and shown (between `==========>`
/// and `<==========` lines); off, they are neither recorded nor printed.
pub const FUNCGRAPH_IRQS: u64 = 1 << 11;
/// `event-fork`: tasks created by a task in `set_event_pid` (or `set_event_notrace_pid`) join
/// that list, and freed tasks leave it.
pub const EVENT_FORK: u64 = 1 << 12;

/// One option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceOption {
    pub name: &'static str,
    pub bit: u64,
    pub default: bool,
    /// The tracer whose option this is (shown in `trace_options` only while it is current),
    /// or `None` for a global option.
    pub tracer: Option<&'static str>,
}

const fn global(name: &'static str, bit: u64, default: bool) -> TraceOption {
    TraceOption {
        name,
        bit,
        default,
        tracer: None,
    }
}

const fn tracer_opt(
    tracer: &'static str,
    name: &'static str,
    bit: u64,
    default: bool,
) -> TraceOption {
    TraceOption {
        name,
        bit,
        default,
        tracer: Some(tracer),
    }
}

/// Every option, in Linux's `trace_options` order: the global flags (`TRACE_FLAGS` order),
/// then the tracers' own.
pub const OPTIONS: &[TraceOption] = &[
    global("print-parent", PRINT_PARENT, true),
    global("overwrite", OVERWRITE, true),
    global("irq-info", IRQ_INFO, true),
    global("event-fork", EVENT_FORK, false),
    tracer_opt("function", "func_stack_trace", FUNC_STACK_TRACE, false),
    tracer_opt("function_graph", "funcgraph-cpu", FUNCGRAPH_CPU, true),
    tracer_opt(
        "function_graph",
        "funcgraph-overhead",
        FUNCGRAPH_OVERHEAD,
        true,
    ),
    tracer_opt("function_graph", "funcgraph-proc", FUNCGRAPH_PROC, false),
    tracer_opt(
        "function_graph",
        "funcgraph-duration",
        FUNCGRAPH_DURATION,
        true,
    ),
    tracer_opt(
        "function_graph",
        "funcgraph-abstime",
        FUNCGRAPH_ABSTIME,
        false,
    ),
    tracer_opt("function_graph", "funcgraph-irqs", FUNCGRAPH_IRQS, true),
    tracer_opt("function_graph", "funcgraph-tail", FUNCGRAPH_TAIL, false),
    tracer_opt(
        "function_graph",
        "funcgraph-retval",
        FUNCGRAPH_RETVAL,
        false,
    ),
];

/// The bits of the options that are on by default.
const fn defaults() -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < OPTIONS.len() {
        if OPTIONS[i].default {
            bits |= OPTIONS[i].bit;
        }
        i += 1;
    }
    bits
}

static FLAGS: AtomicU64 = AtomicU64::new(defaults());

/// Whether option `bit` is on.
#[inline(always)]
pub fn enabled(bit: u64) -> bool {
    FLAGS.load(Ordering::Relaxed) & bit != 0
}

/// Sets or clears option `bit` (the caller serialises changes and applies their effect).
pub fn store(bit: u64, on: bool) {
    if on {
        FLAGS.fetch_or(bit, Ordering::Relaxed);
    } else {
        FLAGS.fetch_and(!bit, Ordering::Relaxed);
    }
}

/// The options `trace_options` shows while `tracer` is current.
pub fn visible(tracer: &str) -> impl Iterator<Item = &'static TraceOption> + '_ {
    OPTIONS
        .iter()
        .filter(move |o| o.tracer.is_none_or(|t| t == tracer))
}

/// `trace_options`: each visible option as `name` or `noname`, one per line.
pub fn show(flags: u64, tracer: &str, w: &mut dyn Write) -> fmt::Result {
    for option in visible(tracer) {
        let no = if flags & option.bit != 0 { "" } else { "no" };
        writeln!(w, "{no}{}", option.name)?;
    }
    Ok(())
}

/// A write to `trace_options` (Linux's `trace_set_options`): `name` turns a visible option on,
/// `noname` off; surrounding whitespace is ignored. Anything else is `EINVAL`.
pub fn parse_trace_options(
    data: &[u8],
    tracer: &str,
) -> Result<(&'static TraceOption, bool), Errno> {
    let text = core::str::from_utf8(data)
        .map_err(|_| Errno::EINVAL)?
        .trim();
    let (name, on) = match text.strip_prefix("no") {
        Some(rest) => (rest, false),
        None => (text, true),
    };
    let option = visible(tracer)
        .find(|o| o.name == name)
        .ok_or(Errno::EINVAL)?;
    Ok((option, on))
}

/// A write to `options/NAME`: `0` or `1` (Linux: `kstrtoul`, then anything but 0 and 1 is
/// `EINVAL`).
pub fn parse_option_file(data: &[u8]) -> Result<bool, Errno> {
    let text = core::str::from_utf8(data)
        .map_err(|_| Errno::EINVAL)?
        .trim();
    match text.parse::<u64>() {
        Ok(0) => Ok(false),
        Ok(1) => Ok(true),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(target_os = "none")]
mod files {
    use core::fmt::Write;

    use spin::Mutex;

    use super::{FLAGS, OPTIONS, Ordering, TraceOption, enabled, store};
    use crate::fs::{self, Errno};
    use crate::trace::{trace, trace_events_pid, trace_functions_graph};
    use crate::tracefs::create_file;

    /// Serialises option changes, so each one's effect is applied in the order they were made.
    static LOCK: Mutex<()> = Mutex::new(());

    /// Sets `option` and applies what it changes at once.
    fn set(option: &TraceOption, on: bool) -> Result<(), Errno> {
        let _guard = LOCK.lock();
        if enabled(option.bit) == on {
            return Ok(());
        }
        match option.bit {
            super::FUNC_STACK_TRACE => return trace::set_func_stack_trace(on),
            super::OVERWRITE => trace::buffer().set_overwrite(on),
            super::FUNCGRAPH_IRQS => trace_functions_graph::set_funcgraph_irqs(on),
            super::EVENT_FORK => trace_events_pid::trace_event_follow_fork(on)?,
            _ => {}
        }
        store(option.bit, on);
        Ok(())
    }

    fn read_trace_options(w: &mut dyn Write) -> Result<(), Errno> {
        let flags = FLAGS.load(Ordering::Relaxed);
        Ok(super::show(flags, trace::current_tracer_name(), w)?)
    }

    fn write_trace_options(data: &[u8]) -> Result<(), Errno> {
        let (option, on) = super::parse_trace_options(data, trace::current_tracer_name())?;
        set(option, on)
    }

    /// `trace_options` and `options/NAME` for every option, under `tracefs`.
    pub fn init(tracefs: &str) {
        create_file(
            &alloc::format!("{tracefs}/trace_options"),
            fs::read_write(read_trace_options, |data, _| write_trace_options(data)),
        );
        for option in OPTIONS {
            create_file(
                &alloc::format!("{tracefs}/options/{}", option.name),
                fs::read_write(
                    move |w| Ok(writeln!(w, "{}", u8::from(enabled(option.bit)))?),
                    move |data, _| set(option, super::parse_option_file(data)?),
                ),
            );
        }
    }
}

#[cfg(target_os = "none")]
pub use files::init;

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn bits_are_distinct_and_names_unique() {
        for (i, a) in OPTIONS.iter().enumerate() {
            assert_eq!(a.bit.count_ones(), 1, "{}", a.name);
            for b in &OPTIONS[i + 1..] {
                assert_ne!(a.bit, b.bit, "{} and {}", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
            assert!(
                !a.name.starts_with("no"),
                "{} would read as a negation",
                a.name
            );
        }
    }

    #[test]
    fn show_prints_no_for_off_options_and_only_the_current_tracers() {
        let mut out = String::new();
        show(PRINT_PARENT | IRQ_INFO, "nop", &mut out).unwrap();
        assert_eq!(out, "print-parent\nnooverwrite\nirq-info\nnoevent-fork\n");
        let mut out = String::new();
        show(defaults() | FUNC_STACK_TRACE, "function", &mut out).unwrap();
        assert_eq!(
            out,
            "print-parent\noverwrite\nirq-info\nnoevent-fork\nfunc_stack_trace\n"
        );
        let mut out = String::new();
        show(defaults(), "function_graph", &mut out).unwrap();
        assert_eq!(
            out,
            "print-parent\noverwrite\nirq-info\nnoevent-fork\nfuncgraph-cpu\nfuncgraph-overhead\n\
             nofuncgraph-proc\nfuncgraph-duration\nnofuncgraph-abstime\nfuncgraph-irqs\n\
             nofuncgraph-tail\nnofuncgraph-retval\n"
        );
    }

    #[test]
    fn trace_options_writes_name_or_noname() {
        let (o, on) = parse_trace_options(b"nooverwrite\n", "nop").unwrap();
        assert_eq!((o.bit, on), (OVERWRITE, false));
        let (o, on) = parse_trace_options(b"func_stack_trace", "function").unwrap();
        assert_eq!((o.bit, on), (FUNC_STACK_TRACE, true));
        // Another tracer's option, unknown names, garbage: EINVAL.
        for bad in [
            &b"func_stack_trace"[..],
            b"bogus",
            b"no",
            b"",
            b"\xff",
            b"print-parent x",
        ] {
            assert_eq!(parse_trace_options(bad, "nop"), Err(Errno::EINVAL));
        }
    }

    #[test]
    fn option_files_take_0_or_1() {
        assert_eq!(parse_option_file(b"1\n"), Ok(true));
        assert_eq!(parse_option_file(b"0"), Ok(false));
        for bad in [&b"2"[..], b"-1", b"yes", b"", b"1 1", b"\xff"] {
            assert_eq!(parse_option_file(bad), Err(Errno::EINVAL));
        }
    }
}
