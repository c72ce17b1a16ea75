//! The `function_graph` tracer (Linux: `kernel/trace/trace_functions_graph.c`): an
//! [`FgraphOps`] that records a `TRACE_GRAPH_ENT` event at each traced function's entry and a
//! `TRACE_GRAPH_RET` event at its return, the `set_graph_function` / `set_graph_notrace`
//! filters, the `options/funcgraph-*` switches, and the reading of `trace` in the graph layout
//! (the layout itself is [`super::trace_output::GraphPrinter`], host-tested).
//!
//! Which functions reach the tracer at all is the ftrace_ops filter (`set_ftrace_filter`,
//! `set_ftrace_notrace`, shared with the `function` tracer, as Linux's global ops is). The graph
//! filters act inside the callbacks, per task: with `set_graph_function` set, a function is
//! traced only when it is one of those or is called (at any depth) from one; a
//! `set_graph_notrace` function is not traced, nor is anything it calls. With
//! `options/funcgraph-irqs` off, nothing an interrupt runs is traced (unless the interrupt
//! entered the `set_graph_function` function itself), and a reading hides what was recorded
//! before.
//!
//! Interrupts in the output: Linux frames each function of its IRQ-entry text
//! (`__irqentry_text`, arm64's `gic_handle_irq`) with `==========>` / `<==========` lines. Ours
//! is [`arch::irq::generic_handle_domain_irq`], the one traced function every interrupt goes
//! through (its caller, the GIC acknowledge and EOI around it, is `noinstr`).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{RefCell, UnsafeCell};
use core::fmt::{self, Write};
use core::ops::Range;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use arch::ftrace::{FgraphRetRegs, FtraceRegs};
use arch::{static_branch_likely, static_branch_unlikely};

use super::fgraph::{FgraphOps, FtraceGraphEnt, FtraceGraphRet, GraphTaskState};
use super::ftrace_plan::hash_contains;
use super::options;
use super::ring_buffer::{Event, RingBuffer};
use super::trace::{COMM_UNKNOWN, comm_of, func_at, print_opts, tracing_gen_ctx, try_buffer};
use super::trace_clock;
use super::trace_entries::{
    FtraceGraphEntEntry, FtraceGraphRetEntry, TRACE_GRAPH_ENT, TRACE_GRAPH_RET, TRACE_PRINT,
    TraceEntry, entry_header, print_text, read_entry,
};
use super::trace_output::{self, GraphEvent, GraphOpts, GraphPrinter, GraphRecord};
use super::trace_output::{EVENTS, PrintCtx, print_entry_body};
use crate::fs::Errno;
use crate::jump_label::{StaticKeyFalse, static_key_slow_dec, static_key_slow_inc};
use crate::stop_machine::synchronize;
use crate::symbols;

/// The tracer's fgraph user.
pub static GRAPH_OPS: FgraphOps = FgraphOps::new(trace_graph_entry, trace_graph_return);

/// Events are recorded while this key is on, one user per recorder: while `function_graph` is
/// the current tracer (or a benchmark measures it). A static key, so each entry and return
/// tests it with one `nop` instead of a load. Returns hooked before it stopped still reach
/// [`trace_graph_return`], which then only keeps the task state straight.
static RECORDING: StaticKeyFalse = StaticKeyFalse::new();

/// A published graph filter: sorted patch-site addresses.
type GraphHash = Vec<u64>;

/// `set_graph_function` and `set_graph_notrace` as the callbacks read them (null = empty).
static GRAPH_FUNCTION: AtomicPtr<GraphHash> = AtomicPtr::new(ptr::null_mut());
static GRAPH_NOTRACE: AtomicPtr<GraphHash> = AtomicPtr::new(ptr::null_mut());

/// Which per-call tests are on, one bit each.
static GRAPH_TESTS: AtomicU32 = AtomicU32::new(0);
/// On while any bit of [`GRAPH_TESTS`] is (one user per bit), so a call with no test to make
/// (the common case) costs the entry callback one `nop` and no load (Linux guards its rarely
/// used tracing paths with static keys the same way, as `ftrace_graph_is_dead` does).
static GRAPH_TESTS_KEY: StaticKeyFalse = StaticKeyFalse::new();
/// `set_graph_function` is set.
const TEST_FUNCTION: u32 = 1 << 0;
/// `set_graph_notrace` is set.
const TEST_NOTRACE: u32 = 1 << 1;
/// `funcgraph-irqs` is off (Linux's `ftrace_graph_skip_irqs`).
const TEST_SKIP_IRQS: u32 = 1 << 2;

/// Turns a per-call test on or off.
fn set_test(bit: u32, on: bool) {
    // Counting each bit's own transitions keeps the key right when two callers race.
    if on {
        if GRAPH_TESTS.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
            static_key_slow_inc(&GRAPH_TESTS_KEY);
        }
    } else if GRAPH_TESTS.fetch_and(!bit, Ordering::Relaxed) & bit != 0 {
        static_key_slow_dec(&GRAPH_TESTS_KEY);
    }
}

/// `options/funcgraph-irqs`: off, the entry callback ignores calls made in hard interrupt
/// context (Linux's `func_graph_set_flag`).
pub fn set_funcgraph_irqs(on: bool) {
    set_test(TEST_SKIP_IRQS, !on);
}

/// Which graph filter a write replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFilter {
    Function,
    Notrace,
}

/// The published hash, if any.
#[inline(always)]
fn published(hash: &AtomicPtr<GraphHash>) -> Option<&'static GraphHash> {
    // SAFETY: a published hash is freed only after a rendezvous that follows its replacement,
    // and the callbacks run with IRQs masked, so none can still hold it then.
    unsafe { hash.load(Ordering::Acquire).as_ref() }
}

/// Replaces a graph filter with `ips` (empty clears it); the old one is freed once no callback
/// can be reading it.
pub fn set_graph_ips(which: GraphFilter, ips: impl IntoIterator<Item = u64>) {
    let mut sorted: Vec<u64> = ips.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let new = if sorted.is_empty() {
        ptr::null_mut()
    } else {
        Box::into_raw(Box::new(sorted))
    };
    let (slot, test) = match which {
        GraphFilter::Function => (&GRAPH_FUNCTION, TEST_FUNCTION),
        GraphFilter::Notrace => (&GRAPH_NOTRACE, TEST_NOTRACE),
    };
    // The test is on whenever a hash is published (a callback may still see a null one).
    if !new.is_null() {
        set_test(test, true);
    }
    let old = slot.swap(new, Ordering::AcqRel);
    if new.is_null() {
        set_test(test, false);
    }
    if !old.is_null() {
        synchronize();
        // SAFETY: unpublished above, and every CPU has since passed a rendezvous.
        drop(unsafe { Box::from_raw(old) });
    }
}

arch::noinstr! {
/// Linux's `trace_graph_entry()`: decides per task whether the call is traced, and records
/// its entry.
pub fn trace_graph_entry(ent: &FtraceGraphEnt, task: &mut GraphTaskState, regs: &FtraceRegs) -> bool {
    if task.notrace_depth >= 0 {
        return false;
    }
    if static_branch_unlikely!(GRAPH_TESTS_KEY)
        && let Some(hooked) = graph_tests(GRAPH_TESTS.load(Ordering::Relaxed), ent, task)
    {
        return hooked;
    }
    if static_branch_likely!(RECORDING)
        && let Some(rb) = try_buffer()
    {
        let (header, cpu) = tracing_gen_ctx(TRACE_GRAPH_ENT, regs.irqs_disabled());
        let entry = FtraceGraphEntEntry {
            ent: header,
            func: ent.func,
            depth: ent.depth as i32,
            _pad: 0,
        };
        // SAFETY: this CPU, with IRQs masked until the entry is committed; no padding.
        unsafe { rb.write_entry(cpu, ent.calltime, entry.words()) };
    }
    true
}
}

/// The per-call tests `tests` names, in Linux's `graph_entry()` order: `Some(hooked)` when
/// they decide the call is not recorded, `hooked` saying whether its return still is.
#[inline(always)]
fn graph_tests(tests: u32, ent: &FtraceGraphEnt, task: &mut GraphTaskState) -> Option<bool> {
    if tests & TEST_NOTRACE != 0
        && let Some(notrace) = published(&GRAPH_NOTRACE)
        && hash_contains(notrace, ent.func)
    {
        // Hooked all the same: its return ends the skipping of its callees.
        task.notrace_depth = ent.depth as i32;
        return Some(true);
    }
    if tests & TEST_FUNCTION != 0
        && task.filter_depth < 0
        && let Some(filter) = published(&GRAPH_FUNCTION)
    {
        if !hash_contains(filter, ent.func) {
            return Some(false);
        }
        task.filter_depth = ent.depth as i32;
        // Linux's TRACE_IRQ_BIT: an interrupt that enters the filter function is traced.
        task.filter_in_irq = arch::percpu::in_hardirq();
    }
    // Linux's ftrace_graph_ignore_irqs().
    if tests & TEST_SKIP_IRQS != 0 && !task.filter_in_irq && arch::percpu::in_hardirq() {
        return Some(false);
    }
    None
}

arch::noinstr! {
/// Linux's `trace_graph_return()`: records the return, with the entry's time and x0.
pub fn trace_graph_return(ret: &FtraceGraphRet, task: &mut GraphTaskState, regs: &FgraphRetRegs) {
    let depth = ret.depth as i32;
    if task.notrace_depth == depth {
        task.notrace_depth = -1;
        return;
    }
    if task.filter_depth == depth {
        task.filter_depth = -1;
    }
    if static_branch_likely!(RECORDING)
        && let Some(rb) = try_buffer()
    {
        let (header, cpu) = tracing_gen_ctx(TRACE_GRAPH_RET, regs.irqs_disabled());
        let entry = FtraceGraphRetEntry {
            ent: header,
            func: ret.func,
            retval: ret.retval,
            depth: ret.depth as i32,
            overrun: 0,
            calltime: ret.calltime,
            rettime: ret.rettime,
        };
        // SAFETY: this CPU, with IRQs masked until the entry is committed; no padding.
        unsafe { rb.write_entry(cpu, ret.rettime, entry.words()) };
    }
}
}

/// Registers `gops` (the tracer's [`GRAPH_OPS`], or a benchmark's copy of it) and records its
/// events into the trace buffer.
pub fn start(gops: &'static FgraphOps) -> Result<(), Errno> {
    static_key_slow_inc(&RECORDING);
    gops.register()
        .inspect_err(|_| static_key_slow_dec(&RECORDING))
}

/// Undoes [`start`].
pub fn stop(gops: &'static FgraphOps) -> Result<(), Errno> {
    gops.unregister()?;
    static_key_slow_dec(&RECORDING);
    Ok(())
}

/// The `options/funcgraph-*` switches as the printer takes them.
pub fn graph_opts() -> GraphOpts {
    GraphOpts {
        cpu: options::enabled(options::FUNCGRAPH_CPU),
        overhead: options::enabled(options::FUNCGRAPH_OVERHEAD),
        proc_: options::enabled(options::FUNCGRAPH_PROC),
        duration: options::enabled(options::FUNCGRAPH_DURATION),
        abstime: options::enabled(options::FUNCGRAPH_ABSTIME),
        irqs: options::enabled(options::FUNCGRAPH_IRQS),
        tail: options::enabled(options::FUNCGRAPH_TAIL),
        retval: options::enabled(options::FUNCGRAPH_RETVAL),
        retval_hex: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// The IRQ-entry text (Linux: `__irqentry_text_start..__irqentry_text_end`): the addresses of
/// [`arch::irq::generic_handle_domain_irq`].
fn irqentry_text() -> Range<u64> {
    let entry = arch::irq::generic_handle_domain_irq as fn(u32, &mut arch::exception::TrapFrame);
    symbols::lookup(entry as usize as u64)
        .map_or(0..0, |sym| sym.addr..sym.addr + u64::from(sym.size))
}

/// A printer for one reading, with the current options.
fn graph_printer(rb: &RingBuffer) -> GraphPrinter {
    GraphPrinter::new(graph_opts(), rb.nr_cpus() as u32, irqentry_text())
}

/// Marker texts of one reading, kept while the printer looks at them. Each text is its own
/// allocation, owned through a raw pointer (never through a `Box` that moves), and freed when
/// the arena is dropped.
struct TextArena {
    texts: UnsafeCell<Vec<*mut str>>,
}

impl TextArena {
    fn new() -> Self {
        Self {
            texts: UnsafeCell::new(Vec::new()),
        }
    }

    fn alloc(&self, text: &str) -> &str {
        let raw = Box::into_raw(Box::<str>::from(text));
        // SAFETY: the arena is not Sync and hands out no reference into the Vec itself, so
        // this push cannot alias a live borrow of it.
        unsafe { (*self.texts.get()).push(raw) };
        // SAFETY: `raw` came from `Box::into_raw` and is freed only in `drop`, which needs
        // `&mut self` and so comes after every `&self` borrow, including the one returned.
        unsafe { &*raw }
    }
}

impl Drop for TextArena {
    fn drop(&mut self) {
        for raw in self.texts.get_mut().drain(..) {
            // SAFETY: each pointer came from `Box::into_raw` in `alloc` and is freed once.
            drop(unsafe { Box::from_raw(raw) });
        }
    }
}

/// Task names by pid for one reading, looked up when a pid first appears (a live task's
/// name, else its saved comm, as `trace` does) and kept in the reading's arena: the cost
/// follows what the buffer holds, not the size of `saved_cmdlines`.
struct Comms<'a> {
    texts: &'a TextArena,
    seen: RefCell<BTreeMap<u32, &'a str>>,
}

impl<'a> Comms<'a> {
    fn new(texts: &'a TextArena) -> Self {
        Self {
            texts,
            seen: RefCell::new(BTreeMap::new()),
        }
    }

    fn get(&self, pid: u32) -> &'a str {
        if let Some(&comm) = self.seen.borrow().get(&pid) {
            return comm;
        }
        let mut found = COMM_UNKNOWN;
        let _ = comm_of(pid as i32, &mut |comm| {
            found = self.texts.alloc(comm);
            Ok(())
        });
        self.seen.borrow_mut().insert(pid, found);
        found
    }
}

/// Any other entry under `function_graph`, as the comment Linux's `print_graph_comment()`
/// makes of it: a marker's text alone, other events as `trace` prints them after the context
/// columns.
fn comment_text(header: TraceEntry, p: &[u8]) -> String {
    if header.type_ == TRACE_PRINT {
        return String::from(print_text(p));
    }
    let opts = print_opts();
    let ctx = PrintCtx {
        opts: &opts,
        sym: &func_at,
    };
    let mut text = String::new();
    let _ = print_entry_body(&EVENTS.read(), p, &mut text, &ctx);
    text
}

/// One buffer event as the graph printer takes it.
fn decode<'a>(event: &Event, comms: &Comms<'a>, texts: &'a TextArena) -> Option<GraphRecord<'a>> {
    let p = &event.payload;
    let header = entry_header(p)?;
    let pid = header.pid as u32;
    let comm = comms.get(pid);
    let event_kind = match header.type_ {
        TRACE_GRAPH_ENT => {
            let e = read_entry::<FtraceGraphEntEntry>(p)?;
            GraphEvent::Entry {
                func: func_at(e.func),
                depth: e.depth as u32,
            }
        }
        TRACE_GRAPH_RET => {
            let e = read_entry::<FtraceGraphRetEntry>(p)?;
            GraphEvent::Return {
                func: func_at(e.func),
                depth: e.depth as u32,
                calltime: trace_clock::display(e.calltime),
                rettime: trace_clock::display(event.ts),
                retval: e.retval,
            }
        }
        _ => {
            let text = comment_text(header, p);
            GraphEvent::Comment(texts.alloc(text.trim_end_matches('\n')))
        }
    };
    Some(GraphRecord {
        cpu: event.cpu as u32,
        pid: pid as i32,
        comm,
        ts_ns: trace_clock::display(event.ts),
        event: event_kind,
    })
}

/// `trace_pipe` under `function_graph`: the printer's state (open braces, the last task of
/// each CPU) lasts for the whole read, across the batches it consumes.
pub struct PipePrinter {
    printer: GraphPrinter,
}

/// Events one batch consumes before the reader checks for Ctrl-C.
const PIPE_BATCH: usize = 256;

impl PipePrinter {
    pub fn new(rb: &RingBuffer) -> Self {
        Self {
            printer: graph_printer(rb),
        }
    }

    /// Consumes and prints a batch of what `cpu` (or every CPU) holds now; false once the
    /// buffer had nothing left.
    pub fn drain(
        &mut self,
        rb: &RingBuffer,
        cpu: Option<usize>,
        w: &mut dyn Write,
    ) -> Result<bool, fmt::Error> {
        // The oldest pending events across the CPUs (Linux's trace_pipe order), split back
        // into per-CPU streams for the printer's look-ahead; merged again by time when printed.
        let mut batches: Vec<Vec<Event>> = (0..rb.nr_cpus()).map(|_| Vec::new()).collect();
        let events: Vec<Event> = match cpu {
            Some(cpu) => (0..PIPE_BATCH).map_while(|_| rb.consume(cpu)).collect(),
            None => rb.consume_all().take(PIPE_BATCH).collect(),
        };
        if events.is_empty() {
            return Ok(false);
        }
        for event in events {
            if let Some(batch) = batches.get_mut(event.cpu) {
                batch.push(event);
            }
        }
        print_streams(
            &mut self.printer,
            w,
            batches.into_iter().map(Vec::into_iter),
        )?;
        Ok(true)
    }
}

/// Decodes one event stream per CPU and prints them, merged by time, with `printer`.
fn print_streams<S: Iterator<Item = Event>>(
    printer: &mut GraphPrinter,
    w: &mut dyn Write,
    streams: impl Iterator<Item = S>,
) -> fmt::Result {
    let texts = TextArena::new();
    let comms = Comms::new(&texts);
    let mut sources: Vec<_> = streams
        .map(|events| {
            events
                .filter_map(|event| decode(&event, &comms, &texts))
                .peekable()
        })
        .collect();
    printer.write_all(w, &mut sources)
}

/// The `trace` file under `function_graph`: banner, column header, then every CPU's events
/// (or only `cpu`'s, for `per_cpu/cpuN/trace`) merged by time in the graph layout.
pub fn write_trace(w: &mut dyn Write, rb: &RingBuffer, cpu: Option<usize>) -> fmt::Result {
    trace_output::write_tracer_banner(w, "function_graph")?;
    trace_output::write_graph_header(w, &graph_opts())?;
    let cpus = match cpu {
        Some(cpu) => cpu..cpu + 1,
        None => 0..rb.nr_cpus(),
    };
    let mut printer = graph_printer(rb);
    print_streams(&mut printer, w, cpus.map(|cpu| rb.iter(cpu)))
}
