//! The tracer framework's first slice (Linux: `kernel/trace/trace.c`,
//! `trace_functions.c`): the global trace buffer, the `nop` and `function` tracers (and the
//! switch to `function_graph`, which lives in [`super::trace_functions_graph`]), and their tracefs control
//! files (`available_tracers`, `current_tracer`, `tracing_on`, `trace`, `trace_marker`,
//! `buffer_size_kb`, `set_ftrace_filter`, `set_ftrace_notrace`, `set_graph_function`,
//! `set_graph_notrace`).
//!
//! The buffer is one [`RingBuffer`] with a per-CPU part for every possible CPU
//! ([`MAX_CPUS`]), [`TRACE_BUF_SIZE_DEFAULT`] bytes each. Events are Linux-like binary entries:
//! a common header (type, `TRACE_FLAG_*` flags, preempt count, pid) and the type's fields;
//! the comm is looked up only when `trace` is read.
//!
//! The `function` tracer is an [`FtraceOps`] on every function except the tracing code itself
//! (`*kernel::trace::*` is on its notrace list: Linux builds `kernel/trace/` without `-pg`).
//! What the callback reaches is `noinstr` (the ring-buffer writer, the clock, `current`, the
//! per-CPU helpers; `cargo xtask build` checks it), so nothing it calls can recurse into it.
//!
//! Reading `trace` pauses recording, as Linux does by default (`pause-on-trace`): the reader's
//! own functions would otherwise keep appending to the buffer it is walking.

use core::fmt::{self, Write};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use arch::percpu::{HARDIRQ_MASK, PREEMPT_MASK};
use spin::Mutex;

use super::ftrace;
use super::ftrace_ops::FtraceOps;
use super::ftrace_regex::{FilterFile, FilterState, FuncRecord};
use super::func_probes;
use super::options;
use super::ring_buffer::{BUF_MAX_DATA_SIZE, Event, RingBuffer};
use super::trace_clock;
use super::trace_entries::{
    PrintEntry, TRACE_FLAG_HARDIRQ, TRACE_FLAG_IRQS_OFF, TRACE_FLAG_NEED_RESCHED, TRACE_PRINT,
    TraceEntry, entry_bytes, entry_header,
};
use super::trace_functions::{FUNCTION_OPS, FUNCTION_STACK_OPS, function_ops};
use super::trace_functions_graph::{self, GraphFilter};
use super::trace_output::{
    self, BufferStats, EVENTS, FTRACE_EVENTS, Func, PrintCtx, PrintOpts, print_trace_line,
    register_trace_event,
};
use super::trace_sched_switch::{
    trace_find_cmdline, tracing_start_cmdline_record, tracing_stop_cmdline_record,
};
use crate::board::MAX_CPUS;
use crate::fs::{self, Errno, WriteMode};
use crate::glob::Pattern;
use crate::sched::{self, IDLE_NAME, IDLE_PID};
use crate::smp::{num_online_cpus, smp_processor_id};
use crate::symbols;
use crate::tracefs::create_file;

/// Per-CPU buffer size. Linux's default is 1408 KiB per CPU (`TRACE_BUF_SIZE_DEFAULT`,
/// 1441792); with 8 possible CPUs that is 11 MiB of our 128 MiB machine's heap before anyone
/// traces. 256 KiB (about 10 000 function entries per CPU) keeps several `run fib` calls' worth
/// of history for 2 MiB in all; `buffer_size_kb` grows it when needed.
pub const TRACE_BUF_SIZE_DEFAULT: usize = 256 * 1024;

/// Preempt depth and migrate-disable depth each print as one hex digit.
const PREEMPT_DEPTH_MAX: u32 = 0xf;

pub(super) use super::trace_sched_switch::COMM_UNKNOWN;

/// The tracers, in `available_tracers` order (Linux lists the newest registered first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tracer {
    FunctionGraph,
    Function,
    Nop,
}

const TRACERS: [Tracer; 3] = [Tracer::FunctionGraph, Tracer::Function, Tracer::Nop];

impl Tracer {
    fn name(self) -> &'static str {
        match self {
            Tracer::FunctionGraph => "function_graph",
            Tracer::Function => "function",
            Tracer::Nop => "nop",
        }
    }

    /// Parses what `echo NAME > current_tracer` wrote: surrounding whitespace (the newline)
    /// is ignored, as Linux's `tracing_set_trace_write()` strips it.
    fn parse(data: &[u8]) -> Option<Tracer> {
        let name = core::str::from_utf8(data).ok()?.trim();
        TRACERS.into_iter().find(|t| t.name() == name)
    }
}

/// The tracer state the control files change, under one lock.
struct State {
    tracer: Tracer,
    /// What `set_ftrace_filter` and `set_ftrace_notrace` hold.
    filter: FilterState,
    notrace: FilterState,
    /// What `set_graph_function` and `set_graph_notrace` hold.
    graph_function: FilterState,
    graph_notrace: FilterState,
}

static STATE: Mutex<State> = Mutex::new(State {
    tracer: Tracer::Nop,
    filter: FilterState::new(),
    notrace: FilterState::new(),
    graph_function: FilterState::new(),
    graph_notrace: FilterState::new(),
});

/// The global buffer, leaked at [`init`]: a plain pointer, so the callback's access is one load
/// and no (traceable) library code.
static BUFFER: AtomicPtr<RingBuffer> = AtomicPtr::new(ptr::null_mut());

/// Whether the notrace lists of the tracers' ops are set up (done on first use).
static NOTRACE_SET: AtomicBool = AtomicBool::new(false);

/// `options/func_stack_trace`: a running function tracer is re-registered with the other
/// callback, as Linux's `func_set_flag` does. On failure the old callback stays.
pub(super) fn set_func_stack_trace(on: bool) -> Result<(), Errno> {
    let state = STATE.lock();
    if state.tracer != Tracer::Function {
        options::store(options::FUNC_STACK_TRACE, on);
        return Ok(());
    }
    let old = function_ops();
    old.unregister()?;
    options::store(options::FUNC_STACK_TRACE, on);
    if let Err(errno) = function_ops().register() {
        options::store(options::FUNC_STACK_TRACE, !on);
        old.register()?;
        return Err(errno);
    }
    Ok(())
}

/// Whether `function_graph` is the current tracer (`trace_pipe` prints its layout then).
pub(super) fn is_function_graph() -> bool {
    STATE.lock().tracer == Tracer::FunctionGraph
}

/// The current tracer's name, for `trace_options`.
pub(super) fn current_tracer_name() -> &'static str {
    STATE.lock().tracer.name()
}

/// Every ftrace_ops of the function tracers: `set_ftrace_filter` and `set_ftrace_notrace`
/// apply to each (Linux's global ops).
fn tracer_ops() -> [&'static FtraceOps; 3] {
    [
        &FUNCTION_OPS,
        &FUNCTION_STACK_OPS,
        trace_functions_graph::GRAPH_OPS.ops(),
    ]
}

/// The global trace buffer; created by [`init`].
pub fn buffer() -> &'static RingBuffer {
    try_buffer().expect("trace::init creates the buffer")
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

/// The common header of an entry of type `type_` written now on this CPU by `current`
/// (Linux's `tracing_gen_ctx()` and `tracing_generic_entry_update()`), and the CPU: the flags
/// (`irqs_off` as the caller saw them, need-resched, hardirq) and the preemption depth capped
/// at 15, all branch-free.
#[inline(always)]
pub fn tracing_gen_ctx(type_: u16, irqs_off: bool) -> (TraceEntry, usize) {
    let pcpu = crate::smp::this_cpu();
    // Read as a byte and masked, the flag is one bit-field insert; read as a bool, LLVM
    // makes `bool * flag` a compare and a select (3 instructions per entry).
    // SAFETY: an AtomicBool has the size, alignment and bit validity of an AtomicU8.
    let need_resched = unsafe { AtomicU8::from_ptr(pcpu.arch.need_resched.as_ptr().cast()) }
        .load(Ordering::Relaxed);
    let count = pcpu.arch.preempt_count.load(Ordering::Relaxed);
    let flags = (u8::from(irqs_off) * TRACE_FLAG_IRQS_OFF)
        | ((need_resched & 1) << TRACE_FLAG_NEED_RESCHED.trailing_zeros())
        | (u8::from(count & HARDIRQ_MASK != 0) * TRACE_FLAG_HARDIRQ);
    // SAFETY: as in `sched::current`: the running task (or the one an interrupt came in on)
    // stays alive while it runs here. Relaxed: only this CPU writes its own `current`.
    let task = unsafe { pcpu.current.load(Ordering::Relaxed).as_ref() };
    let pid = task.map_or(IDLE_PID, |t| t.pid());
    let entry = TraceEntry {
        type_,
        flags,
        preempt_count: (count & PREEMPT_MASK).min(PREEMPT_DEPTH_MAX) as u8,
        pid: pid as i32,
    };
    (entry, pcpu.arch.cpu)
}

/// The global buffer for the tracers' callbacks: `None` before [`init`].
#[inline(always)]
pub(super) fn try_buffer() -> Option<&'static RingBuffer> {
    // SAFETY: the pointer is null or a leaked Box that is never freed.
    unsafe { BUFFER.load(Ordering::Acquire).as_ref() }
}

/// The longest prefix of `data` that is valid UTF-8 and fits one marker entry.
fn marker_text(data: &[u8]) -> &str {
    let data = &data[..data.len().min(BUF_MAX_DATA_SIZE - size_of::<PrintEntry>())];
    match core::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => core::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// `trace_marker`: one `print` entry with the text (Linux's `tracing_mark_write()`, whose
/// address the entry records). EBADF when nothing could be recorded (tracing off), as Linux
/// answers.
fn tracing_mark_write(data: &[u8]) -> Result<(), Errno> {
    let text = marker_text(data).as_bytes();
    // The writer's context, taken before this function disables preemption itself.
    let (ent, _) = tracing_gen_ctx(TRACE_PRINT, arch::irqflags::irqs_disabled());
    let head = PrintEntry {
        ent,
        ip: tracing_mark_write as fn(&[u8]) -> Result<(), Errno> as usize as u64,
    };
    let _preempt = arch::percpu::preempt_guard();
    let ts = trace_clock::now();
    let len = size_of::<PrintEntry>() + text.len();
    // SAFETY: preemption is off until the entry is committed, and tasks never migrate, so
    // this is and stays the calling CPU.
    let reservation = unsafe { buffer().reserve(smp_processor_id(), len, ts) };
    let mut r = reservation.ok_or(Errno::EBADF)?;
    let (h, rest) = r.split_at_mut(size_of::<PrintEntry>());
    h.copy_from_slice(entry_bytes(&head));
    rest.copy_from_slice(text);
    r.commit();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Control
// ---------------------------------------------------------------------------------------------

/// Excludes the tracing code from the `function` tracer, once. `user` is the current
/// `set_ftrace_notrace` (the caller holds the state lock).
fn ensure_notrace(user: &FilterState) -> Result<(), Errno> {
    if !NOTRACE_SET.load(Ordering::Acquire) {
        apply_notrace(user)?;
        NOTRACE_SET.store(true, Ordering::Release);
    }
    Ok(())
}

/// The tracer's notrace hash: the user's `set_ftrace_notrace` plus the tracing code itself
/// (Linux builds `kernel/trace/` without `-pg`; the parts of it that have patch sites, such as
/// the readers and the tracefs handlers, are excluded here instead, and never recorded whatever
/// the user writes).
fn apply_notrace(user: &FilterState) -> Result<(), Errno> {
    let tracing_code = Pattern::parse("*kernel::trace::*");
    let names = FilterFunctions::new();
    let records = names.records();
    let own: Vec<u64> = records
        .iter()
        .filter(|f| tracing_code.matches(f.name))
        .map(|f| f.ip)
        .collect();
    for ops in tracer_ops() {
        ops.set_notrace_ips(own.iter().chain(user.ips()).copied())?;
    }
    Ok(())
}

/// The traceable functions as `available_filter_functions` lists them, for the filter files.
struct FilterFunctions {
    names: Vec<(u64, String)>,
}

impl FilterFunctions {
    fn new() -> Self {
        let table = symbols::functions();
        let names = ftrace::records()
            .iter()
            .map(|rec| {
                let name = match table.lookup(rec.func()) {
                    Some(sym) => String::from(sym.name),
                    None => alloc::format!("{:#x}", rec.func()),
                };
                (rec.ip, name)
            })
            .collect();
        Self { names }
    }

    fn records(&self) -> Vec<FuncRecord<'_>> {
        self.names
            .iter()
            .map(|(ip, name)| FuncRecord { ip: *ip, name })
            .collect()
    }
}

/// The state of one filter file.
fn filter_state(state: &mut State, file: FilterFile) -> &mut FilterState {
    match file {
        FilterFile::Filter => &mut state.filter,
        FilterFile::Notrace => &mut state.notrace,
        FilterFile::GraphFunction => &mut state.graph_function,
        FilterFile::GraphNotrace => &mut state.graph_notrace,
    }
}

/// A write to one of the filter files: the whole write is resolved first; on any error nothing
/// changes. The `FUNC:traceon|traceoff|stacktrace` probes of `set_ftrace_filter` act through
/// [`func_probes`].
fn write_filter_file(file: FilterFile, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
    let funcs = FilterFunctions::new();
    let records = funcs.records();
    let mut state = STATE.lock();
    func_probes::sync_counts(&mut state.filter);
    let new = filter_state(&mut state, file)
        .write(file, &records, data, mode)
        .map_err(|e| e.errno())?;
    match file {
        FilterFile::Notrace => {
            if let Err(errno) = apply_notrace(&new) {
                // Some ops may have the new list already: give them all the old one back.
                let _ = apply_notrace(&state.notrace);
                return Err(errno);
            }
        }
        FilterFile::Filter => {
            let set_ips = |ips: &alloc::collections::BTreeSet<u64>| {
                tracer_ops()
                    .iter()
                    .try_for_each(|ops| ops.set_filter_ips(ips.iter().copied()))
            };
            // Either the tracers' filter and the probes both change, or neither.
            let applied = set_ips(new.ips()).and_then(|()| func_probes::apply(&state.filter, &new));
            if let Err(errno) = applied {
                let _ = set_ips(state.filter.ips());
                return Err(errno);
            }
        }
        FilterFile::GraphFunction => {
            trace_functions_graph::set_graph_ips(GraphFilter::Function, new.ips().iter().copied());
        }
        FilterFile::GraphNotrace => {
            trace_functions_graph::set_graph_ips(GraphFilter::Notrace, new.ips().iter().copied());
        }
    }
    *filter_state(&mut state, file) = new;
    Ok(())
}

fn read_filter_file(file: FilterFile, w: &mut dyn Write) -> Result<(), Errno> {
    let funcs = FilterFunctions::new();
    let mut state = STATE.lock();
    func_probes::sync_counts(&mut state.filter);
    Ok(filter_state(&mut state, file).show(file, &funcs.records(), w)?)
}

/// Linux's `tracing_set_tracer()`: stops the old tracer, clears the buffer, starts the new
/// one. Writing the current tracer's name changes nothing.
fn set_tracer(new: Tracer) -> Result<(), Errno> {
    let mut state = STATE.lock();
    if state.tracer == new {
        return Ok(());
    }
    match state.tracer {
        Tracer::Function => function_ops().unregister()?,
        Tracer::FunctionGraph => trace_functions_graph::stop(&trace_functions_graph::GRAPH_OPS)?,
        Tracer::Nop => {}
    }
    if state.tracer != Tracer::Nop {
        tracing_stop_cmdline_record();
    }
    state.tracer = Tracer::Nop;
    buffer().reset(None);
    // Linux's function and graph tracers save comms while they run; the probes are attached
    // first, so that attaching them is not traced.
    if new != Tracer::Nop {
        tracing_start_cmdline_record();
    }
    let started = match new {
        Tracer::Function => ensure_notrace(&state.notrace).and_then(|()| function_ops().register()),
        Tracer::FunctionGraph => ensure_notrace(&state.notrace)
            .and_then(|()| trace_functions_graph::start(&trace_functions_graph::GRAPH_OPS)),
        Tracer::Nop => Ok(()),
    };
    if let Err(errno) = started {
        tracing_stop_cmdline_record();
        return Err(errno);
    }
    state.tracer = new;
    Ok(())
}

fn write_current_tracer(data: &[u8]) -> Result<(), Errno> {
    set_tracer(Tracer::parse(data).ok_or(Errno::EINVAL)?)
}

/// `0` or `1` (any other number counts as on, as Linux's `kstrtoul` + `if (val)` does).
fn parse_number(data: &[u8]) -> Result<usize, Errno> {
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    text.trim().parse().map_err(|_| Errno::EINVAL)
}

fn write_tracing_on(data: &[u8]) -> Result<(), Errno> {
    let on = parse_number(data)? != 0;
    let _state = STATE.lock();
    if on {
        buffer().record_on();
    } else {
        buffer().record_off();
    }
    Ok(())
}

/// `buffer_size_kb`: resizes every CPU's buffer, or `per_cpu/cpuN/buffer_size_kb` that CPU's
/// (dropping its contents). 0 is refused, as Linux refuses a buffer without entries; a size
/// the memory cannot hold fails with `ENOMEM` and leaves every buffer as it was.
pub(super) fn write_buffer_size_kb(cpu: Option<usize>, data: &[u8]) -> Result<(), Errno> {
    let kb = parse_number(data)?;
    let bytes = kb
        .checked_mul(1024)
        .filter(|&b| b > 0)
        .ok_or(Errno::EINVAL)?;
    let cpus = match cpu {
        Some(cpu) => cpu..cpu + 1,
        None => super::per_cpu::tracing_cpus(),
    };
    let _state = STATE.lock();
    buffer().resize(cpus, bytes).map_err(|_| Errno::ENOMEM)
}

// ---------------------------------------------------------------------------------------------
// Reading `trace`
// ---------------------------------------------------------------------------------------------

/// The header's counters: events in the buffer (of `cpu`, or all), and those plus the
/// overwritten ones.
fn buffer_stats(rb: &RingBuffer) -> BufferStats {
    let (mut entries, mut overrun) = (0, 0);
    for cpu in 0..rb.nr_cpus() {
        let stats = rb.stats(cpu);
        entries += stats.entries;
        overrun += stats.overrun;
    }
    BufferStats {
        entries,
        written: entries + overrun,
        online_cpus: num_online_cpus() as u32,
    }
}

pub(super) fn func_at(ip: u64) -> Func<'static> {
    Func {
        ip,
        name: symbols::lookup(ip).map(|s| s.name),
    }
}

/// The options every entry's printing takes.
pub(super) fn print_opts() -> PrintOpts {
    PrintOpts {
        irq_info: options::enabled(options::IRQ_INFO),
        print_parent: options::enabled(options::PRINT_PARENT),
        time_in_ns: trace_clock::in_ns(trace_clock::selected()),
    }
}

/// The comm of `pid`: `<idle>` for the idle tasks, a live task's name, else the comm saved
/// when it was seen switching (`saved_cmdlines`), else `<...>`.
pub(super) fn comm_of(pid: i32, f: &mut dyn FnMut(&str) -> fmt::Result) -> fmt::Result {
    if pid as u32 == IDLE_PID {
        return f(IDLE_NAME);
    }
    match sched::find_task_by_pid(pid as u32) {
        Some(task) => f(task.name().as_str()),
        None => trace_find_cmdline(pid as u32, f).unwrap_or_else(|| f(COMM_UNKNOWN)),
    }
}

/// One event's `trace` line, printed through the event registry.
pub(super) fn write_event_with_comm(w: &mut dyn Write, event: &Event) -> fmt::Result {
    let Some(header) = entry_header(&event.payload) else {
        return Ok(());
    };
    let opts = print_opts();
    let ctx = PrintCtx {
        opts: &opts,
        sym: &func_at,
    };
    let registry = EVENTS.read();
    let ts = trace_clock::display(event.ts);
    comm_of(header.pid, &mut |comm| {
        let ectx = trace_output::entry_context(&event.payload, comm, event.cpu as u32, ts);
        print_trace_line(&registry, &ectx, &event.payload, w, &ctx)
    })
}

/// `trace`, or `per_cpu/cpuN/trace` for `Some(N)`.
pub(super) fn read_trace(cpu: Option<usize>, w: &mut dyn Write) -> Result<(), Errno> {
    let state = STATE.lock();
    let rb = buffer();
    // Recording pauses while the buffer is walked (Linux's pause-on-trace), apart from
    // `tracing_on`, which reads the same meanwhile and which probes may still change.
    rb.pause();
    let result = write_trace(w, rb, state.tracer, cpu);
    rb.unpause();
    Ok(result?)
}

fn write_trace(
    w: &mut dyn Write,
    rb: &RingBuffer,
    tracer: Tracer,
    cpu: Option<usize>,
) -> fmt::Result {
    if tracer == Tracer::FunctionGraph {
        return trace_functions_graph::write_trace(w, rb, cpu);
    }
    let irq_info = options::enabled(options::IRQ_INFO);
    // Every CPU's counts, also in `per_cpu/cpuN/trace` (Linux's `print_event_info` sums the
    // whole buffer).
    trace_output::write_default_header(w, tracer.name(), &buffer_stats(rb), irq_info)?;
    match cpu {
        None => rb
            .iter_all()
            .try_for_each(|event| write_event_with_comm(w, &event)),
        Some(cpu) => rb
            .iter(cpu)
            .try_for_each(|event| write_event_with_comm(w, &event)),
    }
}

/// `echo > trace` (an open with O_TRUNC) clears the buffer (`per_cpu/cpuN/trace`: that CPU's);
/// appending changes nothing.
pub(super) fn write_trace_file(cpu: Option<usize>, mode: WriteMode) -> Result<(), Errno> {
    if mode == WriteMode::Truncate {
        let _state = STATE.lock();
        buffer().reset(cpu);
    }
    Ok(())
}

/// `trace_clock`: selecting a clock (even the current one) empties the buffer, as Linux's
/// `tracing_set_clock()` does, so it never mixes two clocks' timestamps.
fn write_trace_clock(data: &[u8]) -> Result<(), Errno> {
    let clock = trace_clock::parse(data).ok_or(Errno::EINVAL)?;
    let _state = STATE.lock();
    trace_clock::select(clock);
    buffer().reset(None);
    Ok(())
}

fn read_trace_clock(w: &mut dyn Write) -> Result<(), Errno> {
    Ok(trace_clock::show(trace_clock::selected(), w)?)
}

fn read_available_tracers(w: &mut dyn Write) -> Result<(), Errno> {
    for (i, tracer) in TRACERS.iter().enumerate() {
        let sep = if i + 1 == TRACERS.len() { "\n" } else { " " };
        write!(w, "{}{sep}", tracer.name())?;
    }
    Ok(())
}

fn read_current_tracer(w: &mut dyn Write) -> Result<(), Errno> {
    Ok(writeln!(w, "{}", STATE.lock().tracer.name())?)
}

fn read_tracing_on(w: &mut dyn Write) -> Result<(), Errno> {
    Ok(writeln!(w, "{}", u8::from(buffer().is_record_on()))?)
}

/// The per-CPU size in KiB, as Linux prints it (pages times their data bytes); `X` when the
/// CPUs' sizes differ (Linux's `tracing_entries_read`). `per_cpu/cpuN/buffer_size_kb` for
/// `Some(N)`.
pub(super) fn read_buffer_size_kb(cpu: Option<usize>, w: &mut dyn Write) -> Result<(), Errno> {
    let rb = buffer();
    match cpu {
        Some(cpu) => writeln!(w, "{}", rb.size(cpu) / 1024)?,
        None => {
            let size = rb.size(0);
            if super::per_cpu::tracing_cpus().all(|cpu| rb.size(cpu) == size) {
                writeln!(w, "{}", size / 1024)?;
            } else {
                writeln!(w, "X")?;
            }
        }
    }
    Ok(())
}

/// Creates the trace buffer and the tracer files under `tracefs`.
pub fn init(tracefs: &str) {
    let rb = RingBuffer::try_new(MAX_CPUS, TRACE_BUF_SIZE_DEFAULT)
        .unwrap_or_else(|e| panic!("trace: no memory for the default buffer: {e}"));
    let rb = Box::leak(Box::new(rb));
    BUFFER.store(rb, Ordering::Release);
    for call in &FTRACE_EVENTS {
        register_trace_event(call).expect("the ftrace entries' ids are free at boot");
    }
    let path = |name: &str| alloc::format!("{tracefs}/{name}");
    create_file(
        &path("available_tracers"),
        fs::read_only(read_available_tracers),
    );
    create_file(
        &path("current_tracer"),
        fs::read_write(read_current_tracer, |data, _| write_current_tracer(data)),
    );
    create_file(
        &path("tracing_on"),
        fs::read_write(read_tracing_on, |data, _| write_tracing_on(data)),
    );
    create_file(
        &path("trace"),
        fs::read_write(
            |w| read_trace(None, w),
            |_, mode| write_trace_file(None, mode),
        ),
    );
    create_file(
        &path("trace_marker"),
        fs::write_only(|data, _| tracing_mark_write(data)),
    );
    create_file(
        &path("trace_clock"),
        fs::read_write(read_trace_clock, |data, _| write_trace_clock(data)),
    );
    create_file(
        &path("buffer_size_kb"),
        fs::read_write(
            |w| read_buffer_size_kb(None, w),
            |data, _| write_buffer_size_kb(None, data),
        ),
    );
    super::events::init(tracefs);
    super::trace_sched_switch::init(tracefs);
    super::trace_pipe::init(tracefs);
    super::error_log::init(tracefs);
    super::trace_dynevent::init(tracefs);
    super::per_cpu::init(tracefs);
    options::init(tracefs);
    super::ftrace_files::init(tracefs);
    for file in [
        FilterFile::Filter,
        FilterFile::Notrace,
        FilterFile::GraphFunction,
        FilterFile::GraphNotrace,
    ] {
        let name = file.name();
        create_file(
            &path(name),
            fs::read_write(
                move |w| read_filter_file(file, w),
                move |data, mode| write_filter_file(file, data, mode),
            ),
        );
    }
}
