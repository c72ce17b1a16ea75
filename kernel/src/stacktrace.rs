//! The kernel's one frame-pointer unwinder (Linux: `arch/arm64/kernel/stacktrace.c`): crash
//! reports, `func_stack_trace`, `FUNC:stacktrace` probes and `stacktrace` event triggers all
//! walk frame records with it, so they agree on where a stack ends.
//!
//! A frame record is `{ previous fp, return address }` at the frame pointer. The walk reads
//! each with a nofault load and ends at a zero or misaligned frame pointer, an unreadable
//! record, a zero return address, or a frame pointer that does not move up the stack (the
//! stack grows down, so a caller's record is always above its callee's). Return addresses the
//! function-graph tracer hooked are given as the real ones.

use arch::extable::read_u64_nofault;

use crate::trace::fgraph::ftrace_graph_ret_addr;

/// The frame pointer (x29) of the caller's frame.
#[inline(always)]
pub fn current_frame_pointer() -> u64 {
    let fp: u64;
    // SAFETY: reads x29, nothing else.
    unsafe {
        core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    fp
}

arch::noinstr! {
/// Walks at most `max` frame records up from `fp`, storing each return address (little-endian)
/// in `out` while it has room (an empty `out` only counts); returns how many it found.
/// `noinstr`: the tracers' callbacks walk stacks.
pub fn walk_frames(mut fp: u64, max: usize, out: &mut [[u8; 8]]) -> usize {
    let mut n = 0;
    while n < max {
        if fp == 0 || !fp.is_multiple_of(16) {
            break;
        }
        let (Ok(next), Ok(lr)) = (read_u64_nofault(fp), read_u64_nofault(fp + 8)) else {
            break;
        };
        if lr == 0 {
            break;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = ftrace_graph_ret_addr(lr, fp).to_le_bytes();
        }
        n += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
    n
}
}

/// Calls `visit` with each return address of the chain from `fp`, at most `MAX` of them.
pub fn unwind<const MAX: usize>(fp: u64, mut visit: impl FnMut(u64)) {
    let mut frames = [[0u8; 8]; MAX];
    let n = walk_frames(fp, MAX, &mut frames);
    for frame in &frames[..n] {
        visit(u64::from_le_bytes(*frame));
    }
}
