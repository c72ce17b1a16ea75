//! Stack entries on real stacks: a `TRACE_STACK` entry holds the whole frame chain, out to the
//! task's outermost frame, however deep; a stack deeper than one ring-buffer event can hold
//! keeps its innermost frames and fills the event exactly.

use alloc::vec::Vec;
use core::hint::black_box;

use crate::board::MAX_CPUS;
use crate::smp::smp_processor_id;
use crate::symbols::lookup;
use crate::trace::func_stack::{STACK_MAX_FRAMES, record_stack};
use crate::trace::ring_buffer::{PAGE_SIZE, RingBuffer};
use crate::trace::trace_entries::{StackEntry, TRACE_STACK, entry_header, stack_frames};
use crate::{kassert, kassert_eq, ktest};

/// Bytes of the entry header before the frames.
const HEADER: usize = size_of::<StackEntry>();

/// Records this frame's stack (nothing known beforehand) into `rb`.
#[inline(never)]
fn record_here(rb: &RingBuffer) {
    let fp: u64;
    // SAFETY: reads x29.
    unsafe { core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack)) };
    let _irqs = arch::irqflags::local_irq_save_guard();
    record_stack(rb, smp_processor_id(), 0, true, &[], fp);
}

/// `depth` nested calls of itself, then a stack entry.
#[inline(never)]
fn recurse(depth: u64, rb: &RingBuffer) -> u64 {
    if depth == 0 {
        record_here(rb);
        return 0;
    }
    // Not a tail call: each level keeps its frame.
    black_box(recurse(black_box(depth - 1), rb)) + 1
}

/// The frames of the one stack entry a `depth`-deep recursion records.
fn stack_at_depth(depth: u64) -> Result<Vec<u64>, alloc::string::String> {
    let rb = RingBuffer::try_new(MAX_CPUS, 2 * PAGE_SIZE)
        .map_err(|_| "no memory for the test buffer")?;
    recurse(depth, &rb);
    let cpu = smp_processor_id();
    let event = rb.consume(cpu).ok_or("no stack entry recorded")?;
    kassert!(rb.consume(cpu).is_none(), "more than one entry");
    kassert_eq!(
        entry_header(&event.payload).map(|h| h.type_),
        Some(TRACE_STACK)
    );
    kassert!(event.payload.len() >= HEADER, "no header");
    kassert_eq!((event.payload.len() - HEADER) % 8, 0);
    Ok(stack_frames(&event.payload).collect())
}

fn name_of(ip: u64) -> &'static str {
    lookup(ip).map_or("?", |s| s.name)
}

ktest! {
fn a_stack_entry_reaches_the_outermost_frame() -> TestResult {
    let frames = stack_at_depth(40)?;
    kassert!(frames.len() > 41, "{} frames", frames.len());
    kassert!(
        frames[..41].iter().all(|&ip| name_of(ip).ends_with("::recurse")),
        "{:?}",
        frames.iter().map(|&ip| name_of(ip)).collect::<Vec<_>>()
    );
    kassert_eq!(frames.last().map(|&ip| name_of(ip)), Some("ret_from_fork"));
    Ok(())
}
}

ktest! {
fn a_stack_deeper_than_an_event_keeps_its_innermost_frames() -> TestResult {
    let frames = stack_at_depth(STACK_MAX_FRAMES as u64 + 50)?;
    kassert_eq!(frames.len(), STACK_MAX_FRAMES);
    kassert!(frames.iter().all(|&ip| name_of(ip).ends_with("::recurse")));
    Ok(())
}
}
