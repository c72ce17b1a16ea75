//! The `events/` tree and the event switches (Linux: the tracefs half of
//! `kernel/trace/trace_events.c`): `events/enable`, `events/SYSTEM/enable`,
//! `events/SYSTEM/EVENT/{enable,format,id}`, `events/header_page`, `events/header_event`,
//! `available_events` and `set_event`; and what an event's probe does when its tracepoint
//! fires ([`trace_event_buffer_record`] for every event the [`crate::trace_event!`] macro
//! defines, [`trace_event_record_with`] for entries laid out at run time).
//!
//! Enabling an event attaches its probe to its tracepoint (`TraceEventCall::reg`), which flips
//! the tracepoint's static key; the probe then records one entry per hit. Soft mode (triggers
//! holding an event registered while it reads as disabled) follows Linux's
//! `__ftrace_event_enable_disable`.

pub mod filter;
pub mod ipi;
pub mod irq;
pub mod sched;
pub mod syscalls;
pub mod timer;
pub mod trigger;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::mem::{align_of, size_of};
use core::sync::atomic::Ordering;

use spin::Mutex;

use super::ring_buffer::{BUF_PAGE_HDR_SIZE, BUF_PAGE_SIZE, PendingWrite};
use super::trace::{tracing_gen_ctx, try_buffer};
use super::trace_clock;
use super::trace_entries::{Entry, TRACE_FLAG_IRQS_OFF, TraceEntry, entry_header};
use super::trace_events::{
    EVENT_FILE_FL_ENABLED, EVENT_FILE_FL_FILTERED, EVENT_FILE_FL_PID_FILTER,
    EVENT_FILE_FL_SOFT_DISABLED, EVENT_FILE_FL_SOFT_MODE, EVENT_FILE_FL_TRIGGER_COND,
    EVENT_FILE_FL_TRIGGER_MODE, EVENT_FILE_FL_WAS_ENABLED, TRACE_EVENT_FL_HAS_ID,
    TRACE_EVENT_FL_IGNORE_ENABLE, TraceEventCall,
};
use super::trace_events_filter::FilterContext;
use super::trace_events_pid::trace_event_ignore_this_pid;
use super::trace_output::{EVENTS, register_trace_event};
use super::trace_sched_switch::{tracing_start_cmdline_record, tracing_stop_cmdline_record};
use crate::fs::{self, Errno, WriteMode};
use crate::smp::smp_processor_id;
use crate::stacktrace::current_frame_pointer;
use crate::tracefs::create_file;

/// Serialises every change of an event's state (Linux's `event_mutex`).
pub static EVENT_MUTEX: Mutex<()> = Mutex::new(());

/// The events made at run time (probe events), in creation order. Their descriptions are
/// never freed: file handlers and triggers may still hold them after removal.
static DYNAMIC_EVENTS: Mutex<Vec<&'static TraceEventCall>> = Mutex::new(Vec::new());

/// The events this kernel has, in registration order: the tracepoint events it defines, then
/// the run-time ones (left out of this walk if there is no memory to take their list).
pub(super) fn all_events() -> impl Iterator<Item = &'static TraceEventCall> {
    let mut dynamic = Vec::new();
    {
        let list = DYNAMIC_EVENTS.lock();
        if dynamic.try_reserve_exact(list.len()).is_ok() {
            dynamic.extend(list.iter().copied());
        }
    }
    sched::EVENTS
        .iter()
        .chain(irq::EVENTS.iter())
        .chain(ipi::EVENTS.iter())
        .chain(timer::EVENTS.iter())
        .chain(syscalls::EVENTS.iter())
        .copied()
        .chain(syscalls::syscall_events())
        .chain(dynamic)
}

/// Adds a run-time event (Linux's `trace_add_event_call()`): registers it and creates its
/// directory, and its system's `enable` and `filter` when it is the system's first event. The
/// caller holds [`EVENT_MUTEX`].
pub fn add_dynamic_event(tracefs: &str, call: &'static TraceEventCall) -> Result<(), Errno> {
    // The names must not land on a file of `events/` or of the system's directory.
    let system_dir = alloc::format!("{tracefs}/events/{}", call.system);
    let taken = matches!(fs::lookup(&system_dir), Ok(fs::NodeKind::File { .. }))
        || matches!(&*call.name, "enable" | "filter")
        || fs::lookup(&alloc::format!("{system_dir}/{}", call.name)).is_ok();
    if taken {
        return Err(Errno::EINVAL);
    }
    DYNAMIC_EVENTS
        .lock()
        .try_reserve(1)
        .map_err(|_| Errno::ENOMEM)?;
    register_trace_event(call).map_err(|e| match e {
        super::trace_output::RegisterError::Exists => Errno::EEXIST,
        super::trace_output::RegisterError::NoIds => Errno::ENOSPC,
        super::trace_output::RegisterError::NoMem => Errno::ENOMEM,
    })?;
    DYNAMIC_EVENTS.lock().push(call);
    if super::trace_events_pid::pid_filter_active() {
        set_flag(call, EVENT_FILE_FL_PID_FILTER, true);
    }
    let enable = alloc::format!("{tracefs}/events/{}/enable", call.system);
    if fs::lookup(&enable).is_err() {
        create_system_files(tracefs, &call.system);
    }
    create_event_dir(tracefs, call);
    Ok(())
}

/// Removes a run-time event (Linux's `trace_remove_event_call()`): `EBUSY` while it is enabled
/// or held in soft mode; else it is unregistered (no reader prints it any more) and its
/// directory goes, with its system's when nothing else is in it. The caller holds
/// [`EVENT_MUTEX`].
pub fn remove_dynamic_event(tracefs: &str, call: &'static TraceEventCall) -> Result<(), Errno> {
    if call.file_flags.load(Ordering::Relaxed) & (EVENT_FILE_FL_ENABLED | EVENT_FILE_FL_SOFT_MODE)
        != 0
    {
        return Err(Errno::EBUSY);
    }
    EVENTS.write().unregister(call);
    DYNAMIC_EVENTS.lock().retain(|c| !core::ptr::eq(*c, call));
    let system_dir = alloc::format!("{tracefs}/events/{}", call.system);
    let _ = fs::remove(&alloc::format!("{system_dir}/{}", call.name));
    // The system's directory goes with its last event; its switches with its last switchable
    // one (a probe in `ftrace` leaves the tracer's own entries).
    let (any, switchables) = EVENTS
        .read()
        .iter()
        .filter(|c| c.system == call.system)
        .fold((false, false), |(_, s), c| (true, s || switchable(c)));
    if !any {
        let _ = fs::remove(&system_dir);
    } else if !switchables {
        let _ = fs::remove(&alloc::format!("{system_dir}/enable"));
        let _ = fs::remove(&alloc::format!("{system_dir}/filter"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

/// The start of a run-time laid-out event's probe (Linux's `trace_trigger_soft_disabled` and
/// `trace_event_buffer_reserve`): the entry's common header, the event file's flags as read
/// here and this CPU's number (so the probe reads each once), or `None` when the event
/// records nothing now. Unconditional triggers run here, whether or not the event records.
/// `irqs_off` is the tracepoint caller's IRQ state.
///
/// The common case (no trigger, soft disable or pid filter) costs one test of the flags; the
/// rest is out of line.
#[inline(always)]
pub fn trace_event_buffer_begin(
    call: &TraceEventCall,
    irqs_off: bool,
) -> Option<(TraceEntry, u32, usize)> {
    let flags = call.file_flags.load(Ordering::Relaxed);
    if flags & (EVENT_FILE_FL_TRIGGER_MODE | EVENT_FILE_FL_SOFT_DISABLED | EVENT_FILE_FL_PID_FILTER)
        != 0
        && !begin_slow(call, flags, irqs_off)
    {
        return None;
    }
    let (ent, cpu) = tracing_gen_ctx(call.id(), irqs_off);
    Some((ent, flags, cpu))
}

/// An event's probe with unconditional triggers, soft-disabled or a pid filter: runs the
/// triggers; whether the event records.
#[inline(never)]
fn begin_slow(call: &TraceEventCall, flags: u32, irqs_off: bool) -> bool {
    if flags & (EVENT_FILE_FL_TRIGGER_MODE | EVENT_FILE_FL_SOFT_DISABLED) != 0
        && flags & EVENT_FILE_FL_TRIGGER_COND == 0
    {
        if flags & EVENT_FILE_FL_TRIGGER_MODE != 0 {
            // Not inlined: this frame's record leads back into the probe.
            let fp = current_frame_pointer();
            trigger::event_triggers_call(call, None, irqs_off, fp);
        }
        if flags & EVENT_FILE_FL_SOFT_DISABLED != 0 {
            return false;
        }
    }
    !(flags & EVENT_FILE_FL_PID_FILTER != 0 && trace_event_ignore_this_pid())
}

/// The flags under which an event does more than build its entry in place and commit it:
/// triggers, soft disable, a pid filter or an event filter.
const EVENT_FILE_FL_SLOW_PATH: u32 = EVENT_FILE_FL_TRIGGER_MODE
    | EVENT_FILE_FL_SOFT_DISABLED
    | EVENT_FILE_FL_PID_FILTER
    | EVENT_FILE_FL_FILTERED
    | EVENT_FILE_FL_TRIGGER_COND;

/// Of those, the ones under which the entry is built on the stack first and tested before it
/// reaches the buffer.
const EVENT_FILE_FL_BUILD_ASIDE: u32 =
    EVENT_FILE_FL_FILTERED | EVENT_FILE_FL_TRIGGER_COND | EVENT_FILE_FL_SOFT_DISABLED;

/// An event's probe (Linux's `trace_trigger_soft_disabled`, `trace_event_buffer_reserve`, the
/// assign step and `trace_event_buffer_commit`): an entry `T` with this context's common header,
/// filled by `fill`, followed by `tail` (its dynamic data), recorded on this CPU; `irqs_off` is
/// the tracepoint caller's IRQ state. Runs with IRQs masked (the tracepoint's probe walk).
///
/// The common case (no trigger, soft disable, pid or event filter) is one test of the flags,
/// then the entry built in place in the ring buffer's reservation, as Linux does: zeroed (so
/// its padding is defined; stores the fill overwrites are dropped by the compiler), filled,
/// committed. Everything else is out of line, in [`record_slow`], reached by one test: so the
/// common case makes no call whose return it waits for, and its values need no callee-saved
/// registers. `fill` is a `move` closure of the probe's arguments (so `Copy`: the slow path
/// gets it when the fast one declined): one that borrowed them would make every hit store
/// them to the stack for the slow paths' sake. Generic and inlined
/// into each probe: the entry's size is a constant.
#[inline(always)]
pub fn trace_event_buffer_record<T: Entry>(
    call: &TraceEventCall,
    irqs_off: bool,
    tail: &[u8],
    fill: impl FnOnce(&mut T) + Copy,
) {
    let flags = call.file_flags.load(Ordering::Relaxed);
    if flags & EVENT_FILE_FL_SLOW_PATH != 0 {
        return record_slow(call, flags, irqs_off, tail, fill);
    }
    let (ent, cpu) = tracing_gen_ctx(call.id(), irqs_off);
    let Some(rb) = try_buffer() else {
        return;
    };
    let ts = trace_clock::now();
    const { assert!(align_of::<T>() <= 8) };
    let len = size_of::<T>() + tail.len();
    // SAFETY: this CPU, IRQs masked until the entry is committed.
    let written = unsafe {
        rb.write_on_tail_page(
            cpu,
            len,
            ts,
            #[inline(always)]
            |dst| build_entry(dst, ent, tail, fill),
        )
    };
    if let Err(pending) = written {
        record_next_page(pending, ts, ent, tail, fill);
    }
}

/// [`trace_event_buffer_record`] when the entry did not fit on the tail page: the full
/// reservation and the rest of the write, out of line. Every argument is a register or two,
/// and none goes on the stack (the buffer is found again).
/// No patch site and no probe, as the ring-buffer writer it finishes: it runs inside it.
#[cold]
#[inline(never)]
#[cfg_attr(
    target_os = "none",
    patchable_function_entry(prefix_nops = 0, entry_nops = 0),
    unsafe(link_section = ".kprobes.text")
)]
fn record_next_page<T: Entry>(
    pending: PendingWrite<'_>,
    ts: u64,
    ent: TraceEntry,
    tail: &[u8],
    fill: impl FnOnce(&mut T),
) {
    // The buffer `pending` is of: it is never freed once made (a leaked `Box`).
    let Some(rb) = try_buffer() else {
        return;
    };
    // SAFETY: this CPU, IRQs masked until the entry is committed; `pending` is what this
    // event's `write_on_tail_page` left.
    unsafe {
        rb.write_pending(
            pending,
            size_of::<T>() + tail.len(),
            ts,
            #[inline(always)]
            |dst| build_entry(dst, ent, tail, fill),
        )
    };
}

/// [`trace_event_buffer_record`] when a trigger, soft disable or a filter applies: the
/// unconditional triggers and the pid filter first ([`begin_slow`]), then the entry built in place, or, under a filter, a
/// conditional trigger or soft disable, on the stack first ([`commit_slow`]), so a rejected
/// event never reaches the buffer.
#[cold]
#[inline(never)]
fn record_slow<T: Entry>(
    call: &TraceEventCall,
    flags: u32,
    irqs_off: bool,
    tail: &[u8],
    fill: impl FnOnce(&mut T),
) {
    if flags & (EVENT_FILE_FL_TRIGGER_MODE | EVENT_FILE_FL_SOFT_DISABLED | EVENT_FILE_FL_PID_FILTER)
        != 0
        && !begin_slow(call, flags, irqs_off)
    {
        return;
    }
    let (ent, cpu) = tracing_gen_ctx(call.id(), irqs_off);
    if flags & EVENT_FILE_FL_BUILD_ASIDE == 0 {
        return write_in_place(ent, cpu, tail, fill);
    }
    let mut entry = core::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: see `zeroed_entry_at`; the entry stays in place (a move could drop the
    // padding's zeros).
    let entry = unsafe { zeroed_entry_at(entry.as_mut_ptr(), ent) };
    fill(entry);
    commit_slow(call, flags, entry_record(entry), tail);
}

/// Builds the entry with header `ent` in place in `cpu`'s ring buffer, with the full
/// reservation (which moves the tail to the next page), and commits it. IRQs masked.
#[inline(always)]
fn write_in_place<T: Entry>(ent: TraceEntry, cpu: usize, tail: &[u8], fill: impl FnOnce(&mut T)) {
    let Some(rb) = try_buffer() else {
        return;
    };
    let ts = trace_clock::now();
    // SAFETY: this CPU, IRQs masked until the entry is committed.
    let Some(mut r) = (unsafe { rb.reserve(cpu, size_of::<T>() + tail.len(), ts) }) else {
        return;
    };
    build_entry(r.as_mut_ptr(), ent, tail, fill);
    r.commit();
}

/// Builds the entry `T` with header `ent`, filled by `fill` and followed by `tail`, at `dst`:
/// a reservation of `size_of::<T>() + tail.len()` bytes, 8-byte aligned. It is zeroed first,
/// as a `MaybeUninit`, which is copied with every byte, padding included (a `T` would not
/// be); the stores the fill overwrites are dropped by the compiler.
#[inline(always)]
fn build_entry<T: Entry>(dst: *mut u8, ent: TraceEntry, tail: &[u8], fill: impl FnOnce(&mut T)) {
    const { assert!(align_of::<T>() <= 8) };
    // SAFETY: `dst` holds `size_of::<T>() + tail.len()` bytes, aligned for `T` (checked above),
    // and is ours until the commit.
    let entry = unsafe {
        let at = dst.cast::<core::mem::MaybeUninit<T>>();
        at.write(core::mem::MaybeUninit::zeroed());
        zeroed_entry_at(at.cast::<T>(), ent)
    };
    fill(entry);
    if !tail.is_empty() {
        // SAFETY: the tail's bytes follow the entry's in the reservation; no overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(tail.as_ptr(), dst.add(size_of::<T>()), tail.len())
        };
    }
}

/// The entry at `at`, whose bytes are all zero, with its header set to `ent`: filled in place
/// from here on, so its padding stays zero (a typed move of the entry would not keep it).
///
/// # Safety
/// `at` is valid for writes of a `T`, aligned, all its bytes zero, and not otherwise borrowed
/// while the result lives; a zeroed `T` is valid (entries are plain integers, `Entry`'s
/// contract, with the header first).
#[inline(always)]
unsafe fn zeroed_entry_at<'a, T: Entry>(at: *mut T, ent: TraceEntry) -> &'a mut T {
    // SAFETY: per the caller.
    unsafe {
        at.cast::<TraceEntry>().write(ent);
        &mut *at
    }
}

/// Most bytes of a run-time laid-out entry recorded while a filter, a conditional trigger or
/// soft-disable applies: such an entry is assembled on the stack first.
pub const RECORD_STACK_MAX: usize = 512;

arch::nokprobe! {
/// Records an entry laid out at run time (a probe event's; Linux's
/// `trace_event_buffer_reserve()`, the probe's fill, `trace_event_buffer_commit()`): `len`
/// bytes, its common header written, the rest zeroed first when `prezero` says so (otherwise
/// `fill` must write every byte after the header: the reservation holds whatever the buffer
/// held before), then written by `fill`, which always gets an 8-byte aligned entry of exactly
/// `len` bytes. In place in the ring buffer, or, while a filter, a conditional trigger or
/// soft-disable applies, on the stack first (entries longer than [`RECORD_STACK_MAX`] are
/// then dropped), as Linux's per-CPU temporary buffer. Runs with IRQs masked.
///
/// Both ways fill the same slice, so `fill` is inlined once and its captures stay in
/// registers (a slow path taking `fill` along would keep them in memory on every hit).
#[inline(always)]
pub fn trace_event_record_with(
    call: &TraceEventCall,
    irqs_off: bool,
    len: usize,
    prezero: bool,
    fill: impl FnOnce(&mut [u8]),
) {
    let Some((ent, flags, cpu)) = trace_event_buffer_begin(call, irqs_off) else {
        return;
    };
    if len < size_of::<TraceEntry>() {
        return;
    }
    let mut stack = core::mem::MaybeUninit::<[u64; RECORD_STACK_MAX / 8]>::uninit();
    let slow = flags & (EVENT_FILE_FL_FILTERED | EVENT_FILE_FL_TRIGGER_COND | EVENT_FILE_FL_SOFT_DISABLED)
        != 0;
    let (entry, reservation) = if slow {
        let Some(entry) = stack_entry(&mut stack, len) else {
            return;
        };
        (entry, None)
    } else {
        let Some(rb) = try_buffer() else {
            return;
        };
        let ts = trace_clock::now();
        // SAFETY: this CPU, IRQs masked until the entry is committed.
        let Some(mut r) = (unsafe { rb.reserve(cpu, len, ts) }) else {
            return;
        };
        let (p, n) = (r.as_mut_ptr(), r.len());
        // SAFETY: the reservation's bytes, ours until the commit below, which consumes `r`
        // after the last use of this slice; `r` itself is not touched meanwhile.
        let entry = unsafe { core::slice::from_raw_parts_mut(p, n) };
        if prezero {
            zero(&mut entry[size_of::<TraceEntry>()..]);
        }
        (entry, Some(r))
    };
    // SAFETY: either entry is 8-byte aligned (a reservation; the stack's words) and holds
    // `len` bytes, at least a header's (checked above).
    unsafe { entry.as_mut_ptr().cast::<TraceEntry>().write(ent) };
    fill(entry);
    match reservation {
        Some(r) => r.commit(),
        None => commit_slow(call, flags, entry, &[]),
    }
}
}

arch::nokprobe! {
/// The first `len` bytes of `stack`, zeroed, for an entry [`trace_event_record_with`] builds
/// on the stack; `None` past [`RECORD_STACK_MAX`]. Out of line: the common case never comes
/// here.
#[cold]
#[inline(never)]
fn stack_entry(
    stack: &mut core::mem::MaybeUninit<[u64; RECORD_STACK_MAX / 8]>,
    len: usize,
) -> Option<&mut [u8]> {
    if len > RECORD_STACK_MAX {
        return None;
    }
    let words = stack.write([0; RECORD_STACK_MAX / 8]);
    // SAFETY: the array's bytes, initialised (zero), borrowed as long as `stack`.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), RECORD_STACK_MAX)
    };
    Some(&mut bytes[..len])
}
}

/// Zeroes `buf`, a word at a time where it is aligned (ring-buffer reservations are): entries
/// are short, and a `memset` call costs more than the stores. Volatile, so that the loop does
/// not become that call.
#[inline(always)]
fn zero(buf: &mut [u8]) {
    let p = buf.as_mut_ptr();
    if !p.addr().is_multiple_of(8) {
        buf.fill(0);
        return;
    }
    let words = buf.len() / 8;
    for i in 0..words {
        // SAFETY: word `i` lies inside `buf`, 8-byte aligned (checked above).
        unsafe { p.cast::<u64>().add(i).write_volatile(0) };
    }
    for b in &mut buf[words * 8..] {
        // SAFETY: `b` is a valid, exclusive reference.
        unsafe { core::ptr::write_volatile(b, 0) };
    }
}

/// An entry's bytes, padding included (it was zeroed before it was filled).
fn entry_record<T: Entry>(entry: &T) -> &[u8] {
    // SAFETY: see above: all `size_of::<T>()` bytes are initialised.
    unsafe { core::slice::from_raw_parts(core::ptr::from_ref(entry).cast::<u8>(), size_of::<T>()) }
}

/// Most bytes of an entry a filter or conditional trigger sees whole (entry and dynamic
/// data together, assembled on the stack); longer dynamic data is cut.
const FILTER_RECORD_MAX: usize = 256;

/// An event's probe with a filter, conditional triggers or soft-disabled:
/// Linux's `__event_trigger_test_discard` and `event_triggers_post_call`.
#[inline(never)]
fn commit_slow(call: &TraceEventCall, flags: u32, head: &[u8], tail: &[u8]) {
    let mut buf = [0u8; FILTER_RECORD_MAX];
    let record = if tail.is_empty() {
        head
    } else {
        let len = (head.len() + tail.len()).min(FILTER_RECORD_MAX);
        let (h, t) = buf.split_at_mut(head.len().min(len));
        h.copy_from_slice(&head[..h.len()]);
        let t_len = len - h.len();
        t[..t_len].copy_from_slice(&tail[..t_len]);
        &buf[..len]
    };
    let irqs_off = entry_header(head).is_some_and(|h| h.flags & TRACE_FLAG_IRQS_OFF != 0);
    let comm = crate::sched::current().map_or([0; 16], sched::comm_field);
    let cpu = smp_processor_id();
    let ctx = FilterContext {
        cpu: cpu as u32,
        comm: &comm,
    };
    // Not inlined: this frame's record leads back into the probe.
    let fp = current_frame_pointer();
    let mut post = 0;
    if flags & EVENT_FILE_FL_TRIGGER_COND != 0 {
        post = trigger::event_triggers_call(call, Some((record, &ctx)), irqs_off, fp);
    }
    let discard = flags & EVENT_FILE_FL_SOFT_DISABLED != 0
        || (flags & EVENT_FILE_FL_FILTERED != 0
            && call
                .active_filter()
                .is_some_and(|f| !f.matches(record, &ctx)));
    if !discard && let Some(rb) = try_buffer() {
        let ts = trace_clock::now();
        // SAFETY: this CPU, IRQs masked until the entry is committed.
        if let Some(mut r) = unsafe { rb.reserve(cpu, head.len() + tail.len(), ts) } {
            let (h, t) = r.split_at_mut(head.len());
            h.copy_from_slice(head);
            t.copy_from_slice(tail);
            r.commit();
        }
    }
    if post != 0 {
        trigger::event_triggers_post_call(call, post, irqs_off, fp);
    }
}

// ---------------------------------------------------------------------------------------------
// Enabling
// ---------------------------------------------------------------------------------------------

pub(super) fn set_flag(call: &TraceEventCall, bit: u32, on: bool) {
    if on {
        call.file_flags.fetch_or(bit, Ordering::Relaxed);
    } else {
        call.file_flags.fetch_and(!bit, Ordering::Relaxed);
    }
}

/// Linux's `__ftrace_event_enable_disable`: `enable` turns recording on or off; `soft`
/// takes or drops a soft-mode reference (a trigger that needs the probe attached whether or
/// not the event is enabled). The caller holds [`EVENT_MUTEX`].
pub fn event_enable_disable(
    call: &'static TraceEventCall,
    enable: bool,
    soft: bool,
) -> Result<(), Errno> {
    let reg = call.reg.ok_or(Errno::EINVAL)?;
    let flags = call.file_flags.load(Ordering::Relaxed);
    if !enable {
        let disable = if soft {
            // A soft disable without its soft enable is a caller's bug: refuse it rather
            // than wrap the count and leave the event in soft mode for good.
            let Ok(refs) = call
                .sm_ref
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            else {
                crate::println!("WARNING: {}: soft disable without soft enable", call.name);
                return Err(Errno::EINVAL);
            };
            if refs > 1 {
                return Ok(());
            }
            flags & EVENT_FILE_FL_SOFT_DISABLED != 0
        } else {
            flags & EVENT_FILE_FL_SOFT_MODE == 0
        };
        // Detached first: an event whose probe could not be detached (a run-time event's
        // unregistration out of memory) stays enabled, with its soft reference, and says so.
        if disable && flags & EVENT_FILE_FL_ENABLED != 0 {
            if let Err(e) = reg(call, false) {
                if soft {
                    call.sm_ref.fetch_add(1, Ordering::Relaxed);
                }
                return Err(e);
            }
            set_flag(call, EVENT_FILE_FL_ENABLED, false);
            tracing_stop_cmdline_record();
        }
        if soft {
            set_flag(call, EVENT_FILE_FL_SOFT_MODE, false);
        }
        let soft_mode = call.file_flags.load(Ordering::Relaxed) & EVENT_FILE_FL_SOFT_MODE != 0;
        set_flag(call, EVENT_FILE_FL_SOFT_DISABLED, soft_mode);
        return Ok(());
    }
    if !soft {
        set_flag(call, EVENT_FILE_FL_SOFT_DISABLED, false);
    } else {
        if call.sm_ref.fetch_add(1, Ordering::Relaxed) > 0 {
            return Ok(());
        }
        set_flag(call, EVENT_FILE_FL_SOFT_MODE, true);
    }
    if flags & EVENT_FILE_FL_ENABLED == 0 {
        if soft {
            set_flag(call, EVENT_FILE_FL_SOFT_DISABLED, true);
        }
        if let Err(e) = reg(call, true) {
            if soft {
                call.sm_ref.fetch_sub(1, Ordering::Relaxed);
                set_flag(
                    call,
                    EVENT_FILE_FL_SOFT_MODE | EVENT_FILE_FL_SOFT_DISABLED,
                    false,
                );
            }
            return Err(e);
        }
        set_flag(
            call,
            EVENT_FILE_FL_ENABLED | EVENT_FILE_FL_WAS_ENABLED,
            true,
        );
        // Linux's `record-cmd` (on by default): comms are saved while an event records.
        tracing_start_cmdline_record();
    }
    Ok(())
}

/// Whether a user may switch `call` on and off (the ftrace entries have no `enable`).
pub(super) fn switchable(call: &TraceEventCall) -> bool {
    call.reg.is_some() && call.flags & TRACE_EVENT_FL_IGNORE_ENABLE == 0
}

/// Whether `call` records (what `enable` reads as `1`).
fn is_enabled(call: &TraceEventCall) -> bool {
    let flags = call.file_flags.load(Ordering::Relaxed);
    flags & EVENT_FILE_FL_ENABLED != 0 && flags & EVENT_FILE_FL_SOFT_DISABLED == 0
}

/// Which events a `set_event` token or a system `enable` write names (Linux's
/// `__ftrace_set_clr_event`): `matches` either the system or the event name; `system` and
/// `event` each one name (`None`: any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EventSelector<'a> {
    matches: Option<&'a str>,
    system: Option<&'a str>,
    event: Option<&'a str>,
}

impl EventSelector<'_> {
    fn selects(&self, call: &TraceEventCall) -> bool {
        switchable(call)
            && self
                .matches
                .is_none_or(|m| m == call.name || m == call.system)
            && self.system.is_none_or(|s| s == call.system)
            && self.event.is_none_or(|e| e == call.name)
    }
}

/// Parses one `set_event` token (without its `!`): `SYSTEM:EVENT`, `SYSTEM:`, `:EVENT`,
/// `*:EVENT`, `SYSTEM:*`, or one name matching a system or an event.
fn parse_selector(token: &str) -> EventSelector<'_> {
    let any = |s: &'_ str| !(s.is_empty() || s == "*");
    match token.split_once(':') {
        Some((system, event)) => EventSelector {
            matches: None,
            system: any(system).then_some(system),
            event: any(event).then_some(event),
        },
        None => EventSelector {
            matches: Some(token),
            system: None,
            event: None,
        },
    }
}

/// Enables or disables every event `sel` selects; `EINVAL` when it selects none. The caller
/// holds [`EVENT_MUTEX`].
fn set_clr_events(sel: &EventSelector<'_>, enable: bool) -> Result<(), Errno> {
    let mut found = false;
    let mut result = Ok(());
    for call in all_events().filter(|c| sel.selects(c)) {
        found = true;
        if let Err(e) = event_enable_disable(call, enable, false) {
            result = Err(e);
        }
    }
    if !found {
        return Err(Errno::EINVAL);
    }
    result
}

/// `enable` writes: `0` or `1` as `kstrtoul` reads them (decimal, one trailing newline).
fn parse_enable(data: &[u8]) -> Result<bool, Errno> {
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Errno::EINVAL);
    }
    match text.parse::<u64>() {
        Ok(0) => Ok(false),
        Ok(1) => Ok(true),
        _ => Err(Errno::EINVAL),
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

fn read_event_enable(call: &TraceEventCall, w: &mut dyn Write) -> Result<(), Errno> {
    let flags = call.file_flags.load(Ordering::Relaxed);
    let soft = flags & (EVENT_FILE_FL_SOFT_DISABLED | EVENT_FILE_FL_SOFT_MODE) != 0;
    writeln!(
        w,
        "{}{}",
        u8::from(is_enabled(call)),
        if soft { "*" } else { "" }
    )?;
    Ok(())
}

fn write_event_enable(call: &'static TraceEventCall, data: &[u8]) -> Result<(), Errno> {
    let on = parse_enable(data)?;
    let _guard = EVENT_MUTEX.lock();
    event_enable_disable(call, on, false)
}

/// `events/enable` and `events/SYSTEM/enable`: `0`, `1`, `X` (mixed) or `?` (no events), as
/// Linux's `system_enable_read` (which looks at `ENABLED` alone, soft mode included).
fn read_system_enable(system: Option<&str>, w: &mut dyn Write) -> Result<(), Errno> {
    let mut set = 0;
    for call in all_events().filter(|c| switchable(c) && system.is_none_or(|s| s == c.system)) {
        let on = call.file_flags.load(Ordering::Relaxed) & EVENT_FILE_FL_ENABLED != 0;
        set |= 1 << u8::from(on);
    }
    writeln!(w, "{}", ['?', '0', '1', 'X'][set])?;
    Ok(())
}

fn write_system_enable(system: Option<&str>, data: &[u8]) -> Result<(), Errno> {
    let on = parse_enable(data)?;
    let _guard = EVENT_MUTEX.lock();
    let sel = EventSelector {
        matches: None,
        system,
        event: None,
    };
    set_clr_events(&sel, on)
}

/// `available_events`: every event a user can enable, `system:event`.
fn read_available_events(w: &mut dyn Write) -> Result<(), Errno> {
    for call in all_events().filter(|c| switchable(c)) {
        writeln!(w, "{}:{}", call.system, call.name)?;
    }
    Ok(())
}

/// `set_event`: the events whose probe is attached, soft-mode ones included (Linux's `s_next`
/// lists every file with `EVENT_FILE_FL_ENABLED`: a trigger's event and an `enable_event`
/// target show here while their `enable` reads `0*`).
fn read_set_event(w: &mut dyn Write) -> Result<(), Errno> {
    let attached =
        |c: &TraceEventCall| c.file_flags.load(Ordering::Relaxed) & EVENT_FILE_FL_ENABLED != 0;
    for call in all_events().filter(|c| switchable(c) && attached(c)) {
        writeln!(w, "{}:{}", call.system, call.name)?;
    }
    Ok(())
}

/// `set_event` writes (Linux's `ftrace_event_write`): whitespace-separated tokens, each
/// enabling what it selects, or disabling it with a leading `!`. Opening with `>` disables every
/// event first. Every token is checked before any is applied.
fn write_set_event(data: &[u8], mode: WriteMode) -> Result<(), Errno> {
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let _guard = EVENT_MUTEX.lock();
    if mode == WriteMode::Truncate {
        for call in all_events().filter(|c| switchable(c)) {
            event_enable_disable(call, false, false)?;
        }
    }
    let mut ops: Vec<(EventSelector<'_>, bool)> = Vec::new();
    for token in text.split_ascii_whitespace() {
        let (enable, token) = match token.strip_prefix('!') {
            Some(rest) => (false, rest),
            None => (true, token),
        };
        let sel = parse_selector(token);
        if token.is_empty() || !all_events().any(|c| sel.selects(c)) {
            return Err(Errno::EINVAL);
        }
        ops.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        ops.push((sel, enable));
    }
    ops.iter()
        .try_for_each(|(sel, enable)| set_clr_events(sel, *enable))
}

/// `events/header_page` (Linux's `ring_buffer_print_page_header`): the header of a
/// ring-buffer page as raw readers get pages (Linux's `buffer_data_page`: timestamp, commit,
/// then the data; the same 16 bytes and data size as our pages). Tools such as libtraceevent
/// read it to parse binary pages.
fn read_header_page(w: &mut dyn Write) -> Result<(), Errno> {
    const _: () = assert!(BUF_PAGE_HDR_SIZE == 16);
    writeln!(w, "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;")?;
    writeln!(w, "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;")?;
    writeln!(w, "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;")?;
    writeln!(
        w,
        "\tfield: char data;\toffset:16;\tsize:{BUF_PAGE_SIZE};\tsigned:0;"
    )?;
    Ok(())
}

/// `events/header_event`: the compressed event header of those binary pages (Linux's
/// `ring_buffer_print_entry_header`).
fn read_header_event(w: &mut dyn Write) -> Result<(), Errno> {
    w.write_str(
        "# compressed entry header\n\
         \ttype_len    :    5 bits\n\
         \ttime_delta  :   27 bits\n\
         \tarray       :   32 bits\n\n\
         \tpadding     : type == 29\n\
         \ttime_extend : type == 30\n\
         \ttime_stamp : type == 31\n\
         \tdata max type_len  == 28\n",
    )?;
    Ok(())
}

/// Creates one event's directory (Linux's `event_create_dir`).
fn create_event_dir(tracefs: &str, call: &'static TraceEventCall) {
    let dir = alloc::format!("{tracefs}/events/{}/{}", call.system, call.name);
    let path = |name: &str| alloc::format!("{dir}/{name}");
    if switchable(call) {
        create_file(
            &path("enable"),
            fs::read_write(
                move |w| read_event_enable(call, w),
                move |data, _| write_event_enable(call, data),
            ),
        );
    }
    if call.reg.is_some() || call.flags & TRACE_EVENT_FL_HAS_ID != 0 {
        create_file(
            &path("id"),
            fs::read_only(move |w| Ok(writeln!(w, "{}", call.id())?)),
        );
    }
    create_file(
        &path("format"),
        fs::read_only(move |w| Ok(call.write_format(w)?)),
    );
    if switchable(call) {
        create_file(
            &path("filter"),
            fs::read_write(
                move |w| filter::read_event_filter(call, w),
                move |data, _| filter::write_event_filter(call, data),
            ),
        );
        create_file(
            &path("trigger"),
            fs::read_write(
                move |w| trigger::read_trigger(call, w),
                move |data, _| trigger::write_trigger(call, data),
            ),
        );
    }
}

/// Creates `events/SYSTEM/filter` and `events/SYSTEM/enable`.
fn create_system_files(tracefs: &str, system: &str) {
    let name = String::from(system);
    let filter_system = String::from(system);
    let enable_system = String::from(system);
    create_file(
        &alloc::format!("{tracefs}/events/{system}/filter"),
        fs::read_write(filter::read_system_filter, move |data, _| {
            filter::write_system_filter(&filter_system, data)
        }),
    );
    create_file(
        &alloc::format!("{tracefs}/events/{system}/enable"),
        fs::read_write(
            move |w| read_system_enable(Some(&enable_system), w),
            move |data, _| write_system_enable(Some(&name), data),
        ),
    );
}

/// Registers the tracepoint events and creates the `events/` tree under `tracefs`.
pub fn init(tracefs: &str) {
    syscalls::init();
    for call in all_events() {
        register_trace_event(call).expect("event ids are free at boot");
    }
    let path = |name: &str| alloc::format!("{tracefs}/{name}");
    let mut systems: Vec<String> = Vec::new();
    for call in EVENTS.read().iter() {
        create_event_dir(tracefs, call);
        if switchable(call) && !systems.iter().any(|s| *s == call.system) {
            systems.push(String::from(&*call.system));
        }
    }
    for system in systems {
        create_system_files(tracefs, &system);
    }
    create_file(
        &path("events/enable"),
        fs::read_write(
            |w| read_system_enable(None, w),
            |data, _| write_system_enable(None, data),
        ),
    );
    create_file(&path("events/header_page"), fs::read_only(read_header_page));
    create_file(
        &path("events/header_event"),
        fs::read_only(read_header_event),
    );
    create_file(
        &path("available_events"),
        fs::read_only(read_available_events),
    );
    create_file(
        &path("set_event"),
        fs::read_write(read_set_event, write_set_event),
    );
    super::trace_events_pid::init(tracefs);
}
