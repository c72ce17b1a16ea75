//! `events/SYSTEM/EVENT/trigger` (Linux: `kernel/trace/trace_events_trigger.c`): attaching
//! `traceon`, `traceoff`, `stacktrace`, `enable_event` and `disable_event` triggers to an
//! event, and running them when its probe fires.
//!
//! The grammar and the read format are [`crate::trace::trace_events_trigger`]'s. An event with
//! triggers is held in soft mode (its probe attached, recording only if enabled), as is the
//! target of an enable/disable_event trigger, which the trigger switches by its
//! `SOFT_DISABLED` flag alone: no static key is flipped from event context. The trigger list is
//! published by pointer swap and freed after a grace period; counts are atomic.
//!
//! Triggers without a filter run when the event fires, before anything is recorded (and
//! whether or not the event itself records); when any has a filter, they run on the built
//! entry instead, and `traceoff`/`stacktrace` run after the entry is committed (Linux's post
//! triggers), so the event that turns tracing off is itself in the trace.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::Ordering;

use super::{EVENT_MUTEX, all_events, event_enable_disable, set_flag};
use crate::fs::Errno;
use crate::smp::smp_processor_id;
use crate::trace::func_stack::record_stack;
use crate::trace::trace::try_buffer;
use crate::trace::trace_clock;
use crate::trace::trace_events::{
    EVENT_FILE_FL_SOFT_DISABLED, EVENT_FILE_FL_TRIGGER_COND, EVENT_FILE_FL_TRIGGER_MODE,
    TraceEventCall,
};
use crate::trace::trace_events_filter::{event_field, parse as parse_filter};
use crate::trace::trace_events_trigger::{
    ArmedTrigger, PAGE_SIZE, TriggerCmd, TriggerOp, parse, write_available_triggers,
};

/// The event `system:name` a user can switch.
fn find_event(system: &str, name: &str) -> Option<&'static TraceEventCall> {
    all_events().find(|c| c.reg.is_some() && c.system == system && c.name == name)
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Whether `call`'s soft-disabled flag is set.
fn soft_disabled(call: &TraceEventCall) -> bool {
    call.file_flags.load(Ordering::Relaxed) & EVENT_FILE_FL_SOFT_DISABLED != 0
}

/// Does what `armed` says if it would change something and has fires left. A stack is taken
/// from the frame `fp` (the probe's callee's record: the stack starts at the probe).
fn fire(armed: &ArmedTrigger, irqs_off: bool, fp: u64) {
    let Some(rb) = try_buffer() else {
        return;
    };
    match &armed.trigger.cmd {
        TriggerCmd::Traceon => {
            if armed.try_fire(rb.is_record_on()) {
                rb.record_on();
            }
        }
        TriggerCmd::Traceoff => {
            if armed.try_fire(!rb.is_record_on()) {
                rb.record_off();
            }
        }
        TriggerCmd::Stacktrace => {
            if armed.try_fire(false) {
                let ts = trace_clock::now();
                record_stack(rb, smp_processor_id(), ts, irqs_off, &[], fp);
            }
        }
        TriggerCmd::EnableEvent { .. } | TriggerCmd::DisableEvent { .. } => {
            let Some(target) = armed.target else {
                return;
            };
            let enable = matches!(armed.trigger.cmd, TriggerCmd::EnableEvent { .. });
            if armed.try_fire(soft_disabled(target) != enable) {
                set_flag(target, EVENT_FILE_FL_SOFT_DISABLED, !enable);
            }
        }
    }
}

/// Runs `call`'s triggers (Linux's `event_triggers_call`). Without `record`, every trigger
/// without a filter runs now (a filtered one, added since the caller saw no filters, cannot
/// be judged without the record and is skipped, where Linux fires it); with it, each whose
/// filter matches runs now unless it is a post trigger, whose bit is returned for
/// [`event_triggers_post_call`]. IRQs are masked (a probe).
pub fn event_triggers_call(
    call: &TraceEventCall,
    record: Option<(&[u8], &crate::trace::trace_events_filter::FilterContext<'_>)>,
    irqs_off: bool,
    fp: u64,
) -> u32 {
    let mut post = 0;
    for armed in call.active_triggers() {
        if record.is_none() && armed.filter.is_some() {
            continue;
        }
        if let Some((rec, ctx)) = record {
            if armed.filter.as_ref().is_some_and(|f| !f.matches(rec, ctx)) {
                continue;
            }
            if armed.trigger.cmd.is_post_trigger() {
                post |= armed.trigger.cmd.trigger_type();
                continue;
            }
        }
        fire(armed, irqs_off, fp);
    }
    post
}

/// Runs the post triggers `types` selected, after the entry was committed (or discarded).
pub fn event_triggers_post_call(call: &TraceEventCall, types: u32, irqs_off: bool, fp: u64) {
    for armed in call.active_triggers() {
        if armed.trigger.cmd.is_post_trigger() && armed.trigger.cmd.trigger_type() & types != 0 {
            fire(armed, irqs_off, fp);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The trigger file
// ---------------------------------------------------------------------------------------------

/// A trigger list ready to publish (`None` when empty): the only allocation of a change, so
/// callers make it before they change anything else. Boxed because the published list sits
/// behind an `AtomicPtr`, which needs a thin pointer.
#[allow(clippy::box_collection)]
fn boxed(list: Vec<Arc<ArmedTrigger>>) -> Result<Option<Box<Vec<Arc<ArmedTrigger>>>>, Errno> {
    if list.is_empty() {
        return Ok(None);
    }
    Box::try_new(list).map(Some).map_err(|_| Errno::ENOMEM)
}

/// Publishes `list` as `call`'s triggers, sets the trigger flags to match, and frees the old
/// list once no probe can be walking it. The caller holds [`EVENT_MUTEX`].
#[allow(clippy::box_collection)]
fn publish_boxed(call: &TraceEventCall, list: Option<Box<Vec<Arc<ArmedTrigger>>>>) {
    let cond = list
        .as_ref()
        .is_some_and(|l| l.iter().any(|t| t.filter.is_some()));
    let any = list.is_some();
    let new = list.map_or(ptr::null_mut(), Box::into_raw);
    let old = call.triggers.swap(new, Ordering::AcqRel);
    set_flag(call, EVENT_FILE_FL_TRIGGER_MODE, any);
    set_flag(call, EVENT_FILE_FL_TRIGGER_COND, cond);
    if !old.is_null() {
        crate::stop_machine::synchronize();
        // SAFETY: unpublished, and every CPU has since passed a rendezvous (probes walk the
        // list with IRQs masked).
        drop(unsafe { Box::from_raw(old) });
    }
}

/// `call`'s triggers with `change` applied: a new list (the kept triggers shared, with
/// their counts).
fn with_change(
    call: &TraceEventCall,
    add: Option<Arc<ArmedTrigger>>,
    remove: Option<usize>,
) -> Result<Vec<Arc<ArmedTrigger>>, Errno> {
    let old = call.active_triggers();
    let mut list = Vec::new();
    list.try_reserve_exact(old.len() + 1)
        .map_err(|_| Errno::ENOMEM)?;
    list.extend(add);
    list.extend(
        old.iter()
            .enumerate()
            .filter(|&(i, _)| Some(i) != remove)
            .map(|(_, t)| t.clone()),
    );
    Ok(list)
}

/// Adds a trigger to `call`. The caller holds [`EVENT_MUTEX`].
fn add_trigger(call: &'static TraceEventCall, armed: ArmedTrigger) -> Result<(), Errno> {
    if call
        .active_triggers()
        .iter()
        .any(|t| t.trigger.cmd.same_slot(&armed.trigger.cmd))
    {
        return Err(Errno::EEXIST);
    }
    let first = call.active_triggers().is_empty();
    let target = armed.target;
    let list = boxed(with_change(
        call,
        Some(Arc::try_new(armed).map_err(|_| Errno::ENOMEM)?),
        None,
    )?)?;
    if let Some(target) = target {
        event_enable_disable(target, true, true)?;
    }
    if first && let Err(e) = event_enable_disable(call, true, true) {
        if let Some(target) = target {
            let _ = event_enable_disable(target, false, true);
        }
        return Err(e);
    }
    publish_boxed(call, list);
    Ok(())
}

/// Removes the trigger in `cmd`'s slot, if any. The caller holds [`EVENT_MUTEX`].
fn remove_trigger(call: &'static TraceEventCall, cmd: &TriggerCmd) -> Result<(), Errno> {
    let Some(at) = call
        .active_triggers()
        .iter()
        .position(|t| t.trigger.cmd.same_slot(cmd))
    else {
        return Ok(());
    };
    let target = call.active_triggers()[at].target;
    let list = with_change(call, None, Some(at))?;
    let last = list.is_empty();
    publish_boxed(call, boxed(list)?);
    if let Some(target) = target {
        event_enable_disable(target, false, true)?;
    }
    if last {
        event_enable_disable(call, false, true)?;
    }
    Ok(())
}

/// A write to `events/SYSTEM/EVENT/trigger`.
pub fn write_trigger(call: &'static TraceEventCall, data: &[u8]) -> Result<(), Errno> {
    if data.len() >= PAGE_SIZE {
        return Err(Errno::EINVAL);
    }
    let op = parse(data, &|system, name| find_event(system, name).is_some())?;
    let _guard = EVENT_MUTEX.lock();
    match op {
        None => Ok(()),
        Some(TriggerOp::Remove(cmd)) => remove_trigger(call, &cmd),
        Some(TriggerOp::Add { trigger, .. }) => {
            let filter = match &trigger.filter {
                Some(text) => Some(compile_trigger_filter(call, text)?),
                None => None,
            };
            let target = trigger.cmd.target().and_then(|(s, e)| find_event(s, e));
            add_trigger(call, ArmedTrigger::new(trigger, filter, target))
        }
    }
}

/// A trigger's `if FILTER`, compiled against the event whose trigger it is; a bad one is
/// logged as Linux logs it (the command is the filter text, the caret within it).
fn compile_trigger_filter(
    call: &TraceEventCall,
    text: &str,
) -> Result<crate::trace::trace_events_filter::EventFilter, Errno> {
    parse_filter(text, |name| event_field(&call.fields, name)).map_err(|err| {
        super::filter::log_filter_error(text, &err);
        Errno::EINVAL
    })
}

/// `events/SYSTEM/EVENT/trigger`: the triggers, newest first, or the available commands.
pub fn read_trigger(call: &TraceEventCall, w: &mut dyn Write) -> Result<(), Errno> {
    let _guard = EVENT_MUTEX.lock();
    let triggers = call.active_triggers();
    if triggers.is_empty() {
        return Ok(write_available_triggers(w)?);
    }
    for armed in triggers {
        armed.show(w)?;
    }
    Ok(())
}
