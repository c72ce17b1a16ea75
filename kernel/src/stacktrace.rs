//! The kernel's one frame-pointer unwinder (Linux: `arch/arm64/kernel/stacktrace.c`): crash
//! reports, `func_stack_trace`, `FUNC:stacktrace` probes and `stacktrace` event triggers all
//! walk frame records with it, so they agree on where a stack ends.
//!
//! A frame record is `{ previous fp, return address }` at the frame pointer. The walk reads
//! each with a nofault load and ends at a zero or misaligned frame pointer, an unreadable
//! record, or a zero return address. It follows the chain across this CPU's stacks as Linux's
//! unwinder does (`kunwind_next_frame_record`): the current task's stack, the IRQ stack and the
//! overflow stack. Within one stack the chain must move up (the stack grows down, so a caller's
//! record is always above its callee's); it may move to another of those stacks once (an
//! interrupt handler's chain continues on the interrupted task's stack, an overflow report's on
//! the overflowed one), never back to a stack it left. Return addresses the function-graph
//! tracer hooked are given as the real ones.

use arch::extable::read_u64_nofault;
use arch::stack::StackRange;

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

/// Size of a frame record.
const RECORD: u64 = 16;

/// The stacks a chain may cross on this CPU, and those it has left.
struct Stacks {
    known: [Option<StackRange>; 3],
    /// Bit i: the chain left `known[i]` and may not come back.
    consumed: u8,
}

impl Stacks {
    #[inline(always)]
    fn of_this_cpu() -> Self {
        let task = crate::sched::current().map(|task| task.stack_range());
        Self {
            known: [
                task,
                arch::stack::irq_stack(),
                Some(arch::stack::overflow_stack()),
            ],
            consumed: 0,
        }
    }

    /// The known stack holding a frame record at `fp`.
    #[inline(always)]
    fn find(&self, fp: u64) -> Option<usize> {
        // A plain loop: no closure for the compiler to leave out of line (and traceable).
        let mut i = 0;
        while i < self.known.len() {
            if let Some(stack) = self.known[i]
                && stack.contains(fp, RECORD)
            {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Whether the chain may step from the record at `fp` to the one at `next`.
    #[inline(always)]
    fn step(&mut self, fp: u64, next: u64) -> bool {
        let Some(from) = self.find(fp) else {
            // Not on a stack we know (early boot): all we can check is that it moves up.
            return next > fp;
        };
        match self.find(next) {
            Some(to) if to == from => next > fp,
            Some(to) if self.consumed & (1 << to) == 0 => {
                self.consumed |= 1 << from;
                true
            }
            _ => false,
        }
    }
}

arch::noinstr! {
/// Walks at most `max` frame records up from `fp`, storing each return address (little-endian)
/// in `out` while it has room (an empty `out` only counts); returns how many it found.
/// `noinstr`: the tracers' callbacks walk stacks.
pub fn walk_frames(mut fp: u64, max: usize, out: &mut [[u8; 8]]) -> usize {
    let mut stacks = Stacks::of_this_cpu();
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
            *slot = ftrace_graph_ret_addr(lr, next).to_le_bytes();
        }
        n += 1;
        if !stacks.step(fp, next) {
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
