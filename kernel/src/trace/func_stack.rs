//! `kernel_stack` entries (printed as `<stack trace>` and one ` => func` line per frame), as
//! `func_stack_trace`, the `FUNC:stacktrace` probe command and `stacktrace` event triggers
//! record them.
//!
//! The stack (Linux's `__ftrace_trace_stack()`): the frames known at the call site, then the
//! return addresses found by walking the frame records from the frame pointer there (the
//! parent's frame: the traced function has not built its own yet), out to the task's outermost
//! frame. The function tracer's entry starts with the traced function and its parent; a
//! `FUNC:stacktrace` probe's starts with the parent, as Linux's does.
//!
//! An entry's size is the stack's: Linux walks into a per-CPU scratch array and copies what it
//! found into an event of that size (dropping the event when it does not fit a ring-buffer
//! page). Ours walks twice instead, once to count and once to fill the reserved event, and
//! keeps the innermost [`STACK_MAX_FRAMES`] (what fits in one event) of a deeper stack, with
//! the kernel's one unwinder ([`crate::stacktrace`]).

use super::ring_buffer::{BUF_MAX_DATA_SIZE, RingBuffer};
use super::trace::tracing_gen_ctx;
use super::trace_entries::{StackEntry, TRACE_STACK, entry_bytes};
use crate::stacktrace::walk_frames;

/// Bytes per frame in a `kernel_stack` entry.
const FRAME_SIZE: usize = 8;
/// The entry's header, in frame-sized slots.
const HEAD_SLOTS: usize = size_of::<StackEntry>() / FRAME_SIZE;
const _: () = assert!(size_of::<StackEntry>() == HEAD_SLOTS * FRAME_SIZE);

/// Most frames one `kernel_stack` entry holds: as many as fit in one ring-buffer event after
/// the entry's header.
pub const STACK_MAX_FRAMES: usize = (BUF_MAX_DATA_SIZE - size_of::<StackEntry>()) / FRAME_SIZE;

arch::noinstr! {
/// Records a `TRACE_STACK` entry on `cpu` at `ts`: the frames `known` (innermost first), then
/// those above the call site's frame pointer `fp`. For callbacks (IRQs masked, this CPU).
#[inline(always)]
pub fn record_stack(rb: &RingBuffer, cpu: usize, ts: u64, irqs_off: bool, known: &[u64], fp: u64) {
    let max = STACK_MAX_FRAMES.saturating_sub(known.len());
    let walked = walk_frames(fp, max, &mut []);
    let nr = known.len() + walked;
    let len = size_of::<StackEntry>() + nr * FRAME_SIZE;
    let (ent, _) = tracing_gen_ctx(TRACE_STACK, irqs_off);
    let head = StackEntry {
        ent,
        size: nr as i32,
        _pad: 0,
    };
    // SAFETY: the caller runs on `cpu` with IRQs masked until the entry is committed.
    let Some(mut r) = (unsafe { rb.reserve(cpu, len, ts) }) else {
        return;
    };
    let (words, _) = r.as_chunks_mut::<FRAME_SIZE>();
    let (head_slots, frames) = words.split_at_mut(HEAD_SLOTS);
    // A plain memcpy: a slice copy or an iterator loop here is a generic instance that other
    // callers can make the compiler keep out of line, i.e. a traceable function.
    let (dst, src) = (head_slots.as_flattened_mut(), entry_bytes(&head));
    // SAFETY: both are `size_of::<StackEntry>()` bytes (asserted with HEAD_SLOTS above), and the
    // entry is on the stack while the destination is in the ring buffer.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr(), src.len()) };
    let (lead, rest) = frames.split_at_mut(known.len().min(frames.len()));
    for (slot, ip) in lead.iter_mut().zip(known) {
        *slot = ip.to_le_bytes();
    }
    // The same walk again (the frames above this callback cannot change meanwhile); should it
    // come up short, zeros end the stack.
    let filled = walk_frames(fp, walked, rest);
    for slot in rest.iter_mut().skip(filled) {
        *slot = [0; FRAME_SIZE];
    }
    r.commit();
}
}
