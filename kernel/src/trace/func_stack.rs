//! `options/func_stack_trace` (Linux: `function_stack_trace_call` in `trace_functions.c`):
//! the function tracer's second callback, which records each call's `TRACE_FN` entry and then
//! a `TRACE_STACK` entry, printed as `<stack trace>` and one ` => func` line per frame.
//!
//! The option swaps the tracer's ops (see `tracer::set_func_stack_trace`) rather than being
//! tested in the plain callback, so the plain function tracer's path is unchanged when it is
//! off.
//!
//! The stack: the traced function, its parent, then the return addresses found by walking the
//! frame records from the frame pointer at the call site (the parent's frame: the traced
//! function has not built its own yet). Each record is read with a nofault load, and the walk
//! stops at [`FTRACE_STACK_ENTRIES`] frames, a zero or misaligned frame pointer, or one that
//! does not move up the stack.

use core::fmt::{self, Write};

use arch::extable::read_u64_nofault;
use arch::ftrace::FtraceRegs;

use super::fgraph::ftrace_graph_ret_addr;
use super::ftrace_ops::{FtraceOps, ftrace_test_recursion_trylock, ftrace_test_recursion_unlock};
use super::output::{self, EntryContext, Func, PrintOpts};
use super::ring_buffer::RingBuffer;
use super::trace_clock;
use super::tracer::{ENTRY_HDR_SIZE, TRACE_FN, entry_header, try_buffer};
use crate::smp::smp_processor_id;
use crate::symbols;

/// Linux's `enum trace_type` value of a kernel stack trace.
pub const TRACE_STACK: u8 = 4;

/// Most frames one stack entry holds.
pub const FTRACE_STACK_ENTRIES: usize = 16;

/// The function tracer's ops while `func_stack_trace` is on.
pub static FUNCTION_STACK_OPS: FtraceOps = FtraceOps::new(function_stack_trace_call, 0);

arch::noinstr! {
/// Fills `frames` from the call site's frame pointer onwards; returns how many it filled.
/// Return addresses the function-graph tracer hooked are given as the real ones.
fn walk_frames(mut fp: u64, frames: &mut [u64]) -> usize {
    let mut n = 0;
    while n < frames.len() {
        if fp == 0 || !fp.is_multiple_of(16) {
            break;
        }
        let (Ok(next), Ok(lr)) = (read_u64_nofault(fp), read_u64_nofault(fp + 8)) else {
            break;
        };
        if lr == 0 {
            break;
        }
        frames[n] = ftrace_graph_ret_addr(lr, fp);
        n += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
    n
}
}

arch::noinstr! {
/// Records a `TRACE_STACK` entry on `cpu` at `ts`: `ip`'s function, its parent, and the frames
/// above the call site's frame pointer `fp`. For callbacks (IRQs masked, this CPU).
#[inline(always)]
pub fn record_stack(
    rb: &RingBuffer,
    cpu: usize,
    ts: u64,
    irqs_off: bool,
    ip: u64,
    parent_ip: u64,
    fp: u64,
) {
    let mut frames = [0u64; FTRACE_STACK_ENTRIES];
    frames[0] = ip;
    frames[1] = parent_ip;
    let n = 2 + walk_frames(fp, &mut frames[2..]);
    let header = entry_header(TRACE_STACK, irqs_off);
    // SAFETY: the caller runs on `cpu` with IRQs masked until the entry is committed.
    if let Some(mut r) = unsafe { rb.reserve(cpu, ENTRY_HDR_SIZE + n * 8, ts) } {
        r[..ENTRY_HDR_SIZE].copy_from_slice(&header.to_le_bytes());
        for (chunk, frame) in r[ENTRY_HDR_SIZE..].chunks_exact_mut(8).zip(frames) {
            chunk.copy_from_slice(&frame.to_le_bytes());
        }
        r.commit();
    }
}
}

arch::noinstr! {
/// The callback: the function entry, then its stack. IRQs are masked (ftrace_caller), so both
/// entries go to this CPU's buffer.
pub fn function_stack_trace_call(ip: u64, parent_ip: u64, _ops: &FtraceOps, regs: &mut FtraceRegs) {
    let bit = ftrace_test_recursion_trylock();
    if bit < 0 {
        return;
    }
    if let Some(rb) = try_buffer() {
        let cpu = smp_processor_id();
        let irqs_off = regs.irqs_disabled();
        // One timestamp for both entries, as Linux stamps them with one context.
        let ts = trace_clock::now();
        // SAFETY: this CPU, with IRQs masked until the entries are committed.
        unsafe { rb.write_words(cpu, ts, [entry_header(TRACE_FN, irqs_off), ip, parent_ip]) };
        record_stack(rb, cpu, ts, irqs_off, ip, parent_ip, regs.fp);
    }
    ftrace_test_recursion_unlock(bit);
}
}

/// Prints a `TRACE_STACK` entry whose frames (8 bytes each) are `frames`.
pub fn write_stack_event(
    w: &mut dyn Write,
    ctx: &EntryContext<'_>,
    frames: &[u8],
    opts: &PrintOpts,
) -> fmt::Result {
    let funcs = frames.chunks_exact(8).map(|chunk| {
        let ip = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        Func {
            ip,
            name: symbols::lookup(ip).map(|s| s.name),
        }
    });
    output::write_stack_lines(w, ctx, funcs, opts)
}
