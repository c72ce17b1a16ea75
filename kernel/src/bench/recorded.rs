//! What the tracer benchmarks check their run recorded: every traced call of the bench leaf
//! must have written its entries to the trace buffer, and nothing else may have. Without the
//! check a run with `tracing_on` at 0, another tracer's entries mixed in, or events dropped by a
//! full buffer would report the cost of something other than what its row names.
//!
//! The setup empties the buffer, so its counters start at zero; the teardown counts every
//! event written since on every CPU (those still in the buffer, those overwritten and those
//! read: Linux's `entries`, `overrun` and `read events` in `per_cpu/cpuN/stats`), requires no
//! dropped one, and looks at each event still in the buffer: it must be one of the row's entry
//! types and name the bench leaf.

use alloc::format;
use alloc::string::String;

use crate::trace::ftrace::records;
use crate::trace::ring_buffer::CpuStats;
use crate::trace::trace::buffer;
use crate::trace::trace_entries::{ENTRY_HDR_SIZE, entry_header};

/// Empties the trace buffer and zeroes its counters: the setup's first step.
pub(super) fn start_recording() {
    buffer().reset(None);
}

/// The patch-site address (`rec->ip`) of `leaf`: what the tracers record as the function.
pub(super) fn record_ip(leaf: fn(u64) -> u64) -> Option<u64> {
    let func = leaf as usize as u64;
    records()
        .iter()
        .find(|rec| rec.func() == func)
        .map(|rec| rec.ip)
}

/// Every event written since [`start_recording`], and those lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Written {
    /// Committed: still in the buffer, overwritten or read.
    events: u64,
    /// Not recorded for want of room (full without overwrite, or nested writers).
    dropped: u64,
}

fn written() -> Written {
    let rb = buffer();
    (0..rb.nr_cpus())
        .map(|cpu| rb.stats(cpu))
        .fold(Written::default(), |sum, s: CpuStats| Written {
            events: sum.events + s.entries + s.overrun + s.read_events,
            dropped: sum.dropped + s.dropped_events + s.commit_overrun,
        })
}

/// Checks that exactly `expected` events were written since [`start_recording`], none was
/// dropped, and every event still in the buffer has one of the entry types `kinds` and names
/// the function at `ip` (the word after the entry's common header).
pub(super) fn check_recorded(expected: u64, kinds: &[u16], ip: u64) -> Result<(), String> {
    let written = written();
    if written.events != expected || written.dropped != 0 {
        return Err(format!(
            "expected {expected} trace entries, {} were written and {} dropped (is tracing_on \
             1 and no other tracer running?)",
            written.events, written.dropped
        ));
    }
    let foreign = buffer()
        .iter_all()
        .filter(|event| {
            let kind = entry_header(&event.payload).map(|h| h.type_);
            let func = event
                .payload
                .get(ENTRY_HDR_SIZE..ENTRY_HDR_SIZE + 8)
                .and_then(|word| word.try_into().ok())
                .map(u64::from_le_bytes);
            !kind.is_some_and(|kind| kinds.contains(&kind)) || func != Some(ip)
        })
        .count();
    if foreign != 0 {
        return Err(format!(
            "{foreign} trace entries are not the benchmark's (another tracer running?)"
        ));
    }
    Ok(())
}
