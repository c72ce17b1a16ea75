//! `trace_pipe` and `per_cpu/cpuN/trace_pipe` (Linux: `tracing_read_pipe`): consuming reads
//! of the trace buffer. Each event is printed as `trace` prints it (CPUs merged by timestamp,
//! no header; in the graph layout under `function_graph`) and is gone from the buffer
//! afterwards. When the buffer is empty the reader waits for new events, printing them as they
//! arrive, until it is interrupted (Ctrl-C on the console: [`sched::signal_pending`]); the read
//! then ends with `EINTR`.
//!
//! A `read(2)` from user space is Linux's: it returns the events there are (whole lines, as
//! many as fit the buffer, the rest of a line kept for the next read) and blocks only while
//! the buffer is empty ([`fs::FileOps::read_stream`]).
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

/// The oldest event of `cpu` (or of every CPU), consumed. Unlike [`RingBuffer::consume_all`]
/// it takes nothing else, so a reader that stops after this event loses none.
fn consume_oldest(rb: &RingBuffer, cpu: Option<usize>) -> Option<super::ring_buffer::Event> {
    let cpu = match cpu {
        Some(cpu) => cpu,
        None => {
            (0..rb.nr_cpus())
                .filter_map(|cpu| rb.peek(cpu).map(|event| (event.ts, cpu)))
                .min()?
                .1
        }
    };
    rb.consume(cpu)
}

/// Counts what goes through to `inner`.
struct Counting<'w> {
    inner: &'w mut dyn Write,
    written: usize,
}

impl Write for Counting<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.inner.write_str(s)?;
        self.written += s.len();
        Ok(())
    }
}

/// One `read(2)` of `cpu`'s (or every CPU's) pipe: consumes and prints events until `want`
/// bytes are out or the buffer is empty; waits for the first one (Linux's
/// `tracing_wait_pipe`). `EAGAIN` when empty and `nonblock`, `EINTR` when a signal arrives
/// while waiting (a restarting `ERESTARTSYS` would go here once signals have restart codes).
/// Under `function_graph` each call prints a batch with a fresh printer: the nesting of calls
/// already read is not carried into the next read.
fn read_some(
    cpu: Option<usize>,
    out: &mut dyn Write,
    want: usize,
    nonblock: bool,
) -> Result<(), Errno> {
    let rb = buffer();
    while !has_events(rb, cpu) {
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        sched::msleep(POLL_MS).map_err(|_| Errno::EINTR)?;
    }
    let mut out = Counting {
        inner: out,
        written: 0,
    };
    if is_function_graph() {
        PipePrinter::new(rb).drain(rb, cpu, &mut out)?;
        return Ok(());
    }
    while out.written < want {
        let Some(event) = consume_oldest(rb, cpu) else {
            break;
        };
        write_event_with_comm(&mut out, &event)?;
    }
    Ok(())
}

/// A `trace_pipe` file: the shell's `cat` streams it ([`read_pipe`]), `read(2)` returns what
/// is there ([`read_some`]).
pub(super) struct TracePipe {
    cpu: Option<usize>,
}

impl TracePipe {
    pub(super) fn new(cpu: Option<usize>) -> Self {
        Self { cpu }
    }
}

impl fs::FileOps for TracePipe {
    fn read(&self, out: &mut dyn Write) -> Result<(), Errno> {
        read_pipe(self.cpu, out)
    }

    fn read_stream(
        &self,
        out: &mut dyn Write,
        want: usize,
        nonblock: bool,
    ) -> Option<Result<(), Errno>> {
        Some(read_some(self.cpu, out, want, nonblock))
    }
}

/// `trace_pipe` under `tracefs`.
pub(super) fn init(tracefs: &str) {
    create_file(
        &alloc::format!("{tracefs}/trace_pipe"),
        TracePipe::new(None),
    );
}
