//! `trace_pipe` and `per_cpu/cpuN/trace_pipe` (Linux: `tracing_read_pipe`): consuming reads
//! of the trace buffer. Each event is printed as `trace` prints it (CPUs merged by timestamp,
//! no header; in the graph layout under `function_graph`) and is gone from the buffer
//! afterwards. When the buffer is empty the reader waits for new events, printing them as they
//! arrive, until it is interrupted (Ctrl-C on the console: [`sched::signal_pending`]); the read
//! then ends with `EINTR`.
//!
//! Waiting: the ring buffer's writers run in tracing callbacks with IRQs masked and take no
//! lock, so they cannot wake a wait queue. Linux defers that wake-up to an `irq_work`; here the
//! reader polls instead, sleeping [`POLL_MS`] between looks at the buffer (a timer tick or two),
//! only while a `trace_pipe` read is blocked.

use core::fmt::Write;

use super::ring_buffer::RingBuffer;
use super::trace::{buffer, is_function_graph, write_event_with_comm};
use super::trace_functions_graph::PipePrinter;
use crate::fs::{self, Errno};
use crate::sched;
use crate::tracefs::create_file;

/// How long a blocked reader sleeps before it looks at the buffer again.
const POLL_MS: u64 = 10;

/// Events printed between two checks for a pending Ctrl-C, so a reader that never catches up
/// with the writers (the function tracer tracing every function) still stops.
const SIGNAL_CHECK_EVENTS: usize = 64;

/// Whether `cpu` (or any CPU, for `None`) has something to consume.
fn has_events(rb: &RingBuffer, cpu: Option<usize>) -> bool {
    match cpu {
        Some(cpu) => !rb.is_empty(cpu),
        None => (0..rb.nr_cpus()).any(|cpu| !rb.is_empty(cpu)),
    }
}

/// Prints and consumes what the buffer holds now; stops early (false) if a signal arrived.
fn drain(rb: &RingBuffer, cpu: Option<usize>, w: &mut dyn Write) -> Result<bool, Errno> {
    let mut printed = 0;
    let mut emit = |event: super::ring_buffer::Event| -> Result<bool, Errno> {
        write_event_with_comm(w, &event)?;
        printed += 1;
        Ok(printed % SIGNAL_CHECK_EVENTS != 0 || !sched::signal_pending())
    };
    match cpu {
        Some(cpu) => {
            while let Some(event) = rb.consume(cpu) {
                if !emit(event)? {
                    return Ok(false);
                }
            }
        }
        None => {
            for event in rb.consume_all() {
                if !emit(event)? {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// [`drain`] in the `function_graph` layout.
fn drain_graph(
    graph: &mut PipePrinter,
    rb: &RingBuffer,
    cpu: Option<usize>,
    w: &mut dyn Write,
) -> Result<bool, Errno> {
    while graph.drain(rb, cpu, w)? {
        if sched::signal_pending() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The blocking, consuming read of `cpu` (or every CPU).
pub(super) fn read_pipe(cpu: Option<usize>, w: &mut dyn Write) -> Result<(), Errno> {
    let rb = buffer();
    let mut graph = is_function_graph().then(|| PipePrinter::new(rb));
    loop {
        let finished = match &mut graph {
            Some(graph) => drain_graph(graph, rb, cpu, w)?,
            None => drain(rb, cpu, w)?,
        };
        if !finished {
            return Err(Errno::EINTR);
        }
        while !has_events(rb, cpu) {
            sched::msleep(POLL_MS).map_err(|_| Errno::EINTR)?;
        }
    }
}

/// `trace_pipe` under `tracefs`.
pub(super) fn init(tracefs: &str) {
    create_file(
        &alloc::format!("{tracefs}/trace_pipe"),
        fs::read_only(|w| read_pipe(None, w)),
    );
}
