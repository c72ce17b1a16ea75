//! `events/SYSTEM/EVENT/filter` and `events/SYSTEM/filter` (Linux's `event_filter_write`,
//! `apply_event_filter`, `apply_subsystem_event_filter`): compiling a filter with
//! [`super::super::trace_events_filter`], publishing it to the event's probe, and what the
//! files read back.
//!
//! A bad filter fails with Linux's errno, `filter` then shows the text, a caret and
//! `parse_error: ...`, and `error_log` gets an `event filter parse error` entry; the event
//! keeps the filter it had (Linux 6.12 drops it and records everything; the issue asks that a
//! bad write leave the old state, which we follow). `0` clears. A subsystem filter applies to
//! each event of the system that has the fields; each other event logs its own error and
//! shows it, and the write itself succeeds, as in Linux.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::Ordering;

use super::{EVENT_MUTEX, all_events, set_flag, switchable};
use crate::fs::Errno;
use crate::trace::error_log::tracing_log_err;
use crate::trace::trace_events::{EVENT_FILE_FL_FILTERED, TraceEventCall};
use crate::trace::trace_events_filter::{
    DEFAULT_SYS_FILTER_MESSAGE, ERR_TEXT, EventFilter, FILTER_ERR_LOC, FilterParseError,
    event_field, filter_err_show, filter_text, is_clear, parse, parse_subsystem_event,
};
use crate::trace::trace_events_trigger::PAGE_SIZE;

/// Publishes `new` (or none) as `call`'s filter and frees the old one once no probe can be
/// using it. The caller holds [`EVENT_MUTEX`].
fn install(call: &TraceEventCall, new: Option<Box<EventFilter>>) {
    let new = new.map_or(ptr::null_mut(), Box::into_raw);
    if !new.is_null() {
        let old = call.filter.swap(new, Ordering::AcqRel);
        set_flag(call, EVENT_FILE_FL_FILTERED, true);
        free_after_grace(old);
        return;
    }
    set_flag(call, EVENT_FILE_FL_FILTERED, false);
    let old = call.filter.swap(ptr::null_mut(), Ordering::AcqRel);
    free_after_grace(old);
}

fn free_after_grace(old: *mut EventFilter) {
    if !old.is_null() {
        crate::stop_machine::synchronize();
        // SAFETY: unpublished, and every CPU has since passed a rendezvous (probes read
        // filters with IRQs masked).
        drop(unsafe { Box::from_raw(old) });
    }
}

/// Logs a filter that did not compile as Linux does: `event filter parse error`, the filter
/// text as the command, the caret within it. Event and trigger filters alike.
pub(super) fn log_filter_error(text: &str, err: &FilterParseError) {
    let (kind, pos) = err.log_err();
    tracing_log_err(
        FILTER_ERR_LOC,
        filter_text(text),
        &ERR_TEXT,
        kind as usize,
        pos,
    );
}

/// What `filter` shows after a failed write, logged to `error_log` as well.
fn record_error(call: &TraceEventCall, text: &str, err: &FilterParseError) {
    log_filter_error(text, err);
    let mut shown = String::new();
    if filter_err_show(text, err, &mut shown).is_ok() {
        *call.filter_text.lock() = Some(shown);
    }
}

/// The written text, or `EINVAL` for a page or more, or bytes that are not text.
fn written_text(data: &[u8]) -> Result<&str, Errno> {
    if data.len() >= PAGE_SIZE {
        return Err(Errno::EINVAL);
    }
    core::str::from_utf8(data).map_err(|_| Errno::EINVAL)
}

/// Compiles `text` for `call`, subsystem rules when `subsystem`.
fn compile(
    call: &TraceEventCall,
    text: &str,
    subsystem: bool,
) -> Result<Box<EventFilter>, FilterParseError> {
    let lookup = |name: &str| event_field(&call.fields, name);
    let filter = if subsystem {
        parse_subsystem_event(text, lookup)?
    } else {
        parse(text, lookup)?
    };
    Box::try_new(filter).map_err(|_| FilterParseError::bad_subsys(Errno::ENOMEM))
}

/// A write to `events/SYSTEM/EVENT/filter`.
pub fn write_event_filter(call: &'static TraceEventCall, data: &[u8]) -> Result<(), Errno> {
    let text = written_text(data)?;
    let _guard = EVENT_MUTEX.lock();
    if is_clear(text) {
        install(call, None);
        *call.filter_text.lock() = None;
        return Ok(());
    }
    match compile(call, text, false) {
        Ok(filter) => {
            let shown = String::from(filter.text());
            install(call, Some(filter));
            *call.filter_text.lock() = Some(shown);
            Ok(())
        }
        Err(err) => {
            record_error(call, text, &err);
            Err(err.errno)
        }
    }
}

/// `events/SYSTEM/EVENT/filter`: the filter, the last error, or `none`.
pub fn read_event_filter(call: &TraceEventCall, w: &mut dyn Write) -> Result<(), Errno> {
    match &*call.filter_text.lock() {
        Some(text) => writeln!(w, "{text}")?,
        None => writeln!(w, "none")?,
    }
    Ok(())
}

/// A write to `events/SYSTEM/filter`: each event of `system` that has the fields gets the
/// filter; each other one shows and logs "Couldn't find or set field in one of a subsystem's
/// events". `0` clears them all.
pub fn write_system_filter(system: &str, data: &[u8]) -> Result<(), Errno> {
    let text = written_text(data)?;
    let _guard = EVENT_MUTEX.lock();
    let events = || all_events().filter(|c| switchable(c) && c.system == system);
    if is_clear(text) {
        for call in events() {
            install(call, None);
            *call.filter_text.lock() = None;
        }
        return Ok(());
    }
    for call in events() {
        match compile(call, text, true) {
            Ok(filter) => {
                let shown = String::from(filter.text());
                install(call, Some(filter));
                *call.filter_text.lock() = Some(shown);
            }
            Err(err) => record_error(call, text, &err),
        }
    }
    Ok(())
}

/// `events/SYSTEM/filter` reads Linux's explanation (errors show on the events).
pub fn read_system_filter(w: &mut dyn Write) -> Result<(), Errno> {
    writeln!(w, "{DEFAULT_SYS_FILTER_MESSAGE}")?;
    Ok(())
}
