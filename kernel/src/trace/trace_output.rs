//! The text formats of the `trace` file, byte for byte as Linux 6.x prints them: the tracer
//! banner and column headers, the `function` tracer's lines (Linux's `trace_print_context()`,
//! `trace_print_lat_fmt()` and `trace_fn_trace()`), `trace_marker` lines (`trace_print_print()`),
//! and the `function_graph` tracer's output (`trace_functions_graph.c`), including the one-event
//! look-ahead that folds an entry followed by its own return into a leaf line.
//!
//! Everything here is pure: functions take decoded records and write into any
//! [`core::fmt::Write`], so the same code serves `trace`, `trace_pipe` and the host tests. The
//! ring buffer's reader decodes its events into [`EntryContext`] / [`GraphRecord`], resolves
//! addresses into [`Func`] names through the symbol table, and hands them over.
//!
//! What is deliberately left out: the latency format (`latency-format` option), the TGID column
//! (`record-tgid`), `funcgraph-overrun`, `funcgraph-reltime`, `funcgraph-retaddr` and
//! `funcgraph-args`. The retval comment follows
//! Linux 6.5–6.13 (`/* = 0x0 */`), the format `Documentation/trace/ftrace.rst` documents.

use core::fmt::{self, Write};
use core::iter::Peekable;
use core::ops::Range;

use alloc::vec::Vec;
use spin::RwLock;

use super::trace_entries::{
    FTRACE_FIELDS, FtraceEntry, FtraceGraphEntEntry, FtraceGraphRetEntry, GRAPH_ENT_FIELDS,
    GRAPH_RET_FIELDS, PRINT_FIELDS, PrintEntry, STACK_FIELDS, TRACE_FN, TRACE_GRAPH_ENT,
    TRACE_GRAPH_RET, TRACE_LAST_TYPE, TRACE_PRINT, TRACE_STACK, entry_header, print_text,
    read_entry, stack_frames,
};
use super::trace_events::{TRACE_EVENT_FL_HAS_ID, TRACE_EVENT_FL_IGNORE_ENABLE, TraceEventCall};

pub use super::trace_entries::{
    TRACE_FLAG_BH_OFF, TRACE_FLAG_HARDIRQ, TRACE_FLAG_IRQS_OFF, TRACE_FLAG_NEED_RESCHED,
    TRACE_FLAG_NEED_RESCHED_LAZY, TRACE_FLAG_NMI, TRACE_FLAG_PREEMPT_RESCHED, TRACE_FLAG_SOFTIRQ,
};

/// Linux's `TASK_COMM_LEN`: a comm holds at most 15 bytes plus the NUL.
pub const TASK_COMM_LEN: usize = 16;
/// Spaces per call depth in `function_graph` output.
pub const TRACE_GRAPH_INDENT: usize = 2;
/// Width the `funcgraph-proc` column centres `comm-pid` in.
pub const TRACE_GRAPH_PROCINFO_LENGTH: usize = 14;
/// Depth of the per-CPU table remembering which function each open `{` belongs to.
pub const FTRACE_RETFUNC_DEPTH: usize = 50;
/// Linux's `MAX_ERRNO`: return values in `-MAX_ERRNO..=-1` print as negative errnos.
pub const MAX_ERRNO: u64 = 4095;

const NSEC_PER_USEC: u64 = 1_000;
const USEC_PER_SEC: u64 = 1_000_000;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// `trace_find_mark()`'s table: the first threshold a duration exceeds picks its marker.
const MARKS: [(u64, char); 6] = [
    (1_000_000_000, '$'),
    (100_000_000, '@'),
    (10_000_000, '*'),
    (1_000_000, '#'),
    (100_000, '!'),
    (10_000, '+'),
];

/// A code address and its symbol name, when the symbol table knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Func<'a> {
    /// The address; `function_graph` pairs entries and returns by it.
    pub ip: u64,
    /// The symbol name, or `None` to print the address.
    pub name: Option<&'a str>,
}

impl<'a> Func<'a> {
    /// A resolved function.
    pub const fn named(ip: u64, name: &'a str) -> Self {
        Self {
            ip,
            name: Some(name),
        }
    }
}

/// `seq_print_ip_sym()` without sym-offset/sym-addr: the name, `0` for a null address, or
/// `0x%08lx` for an address without a symbol.
fn write_ip_sym(w: &mut dyn Write, f: Func<'_>) -> fmt::Result {
    match f.name {
        Some(name) => w.write_str(name),
        None if f.ip == 0 => w.write_char('0'),
        None => write!(w, "0x{:08x}", f.ip),
    }
}

/// `%ps`: the name, or the address as `0x` and 16 hex digits (`special_hex_number()`).
fn write_ps(w: &mut dyn Write, f: Func<'_>) -> fmt::Result {
    match f.name {
        Some(name) => w.write_str(name),
        None => write!(w, "0x{:016x}", f.ip),
    }
}

/// Bits per group of `%*pb` (Linux's `CHUNKSZ` in `bitmap_string()`).
const BITMAP_CHUNKSZ: usize = 32;

/// A `__bitmask`/`__cpumask` field as Linux prints it (`trace_print_bitmask_seq()`, `%*pb`):
/// the bitmap in `bits` (little-endian words, every byte's bits) as hex groups of 32 bits,
/// most significant first, separated by commas, each zero-padded to its width (the first
/// group only as wide as its bits need).
pub fn write_bitmask(w: &mut dyn Write, bits: &[u8]) -> fmt::Result {
    let nr_bits = bits.len() * 8;
    let bit = |i: usize| bits[i / 8] >> (i % 8) & 1 != 0;
    let mut chunksz = match nr_bits % BITMAP_CHUNKSZ {
        0 => BITMAP_CHUNKSZ,
        partial => partial,
    };
    let mut start = nr_bits.next_multiple_of(BITMAP_CHUNKSZ);
    let mut sep = "";
    while start >= BITMAP_CHUNKSZ {
        start -= BITMAP_CHUNKSZ;
        let val = (start..start + chunksz)
            .rev()
            .fold(0u32, |v, i| (v << 1) | u32::from(bit(i)));
        write!(w, "{sep}{val:0width$x}", width = chunksz.div_ceil(4))?;
        sep = ",";
        chunksz = BITMAP_CHUNKSZ;
    }
    Ok(())
}

/// A comm as the trace prints it: at most `TASK_COMM_LEN - 1` bytes, cut on a char boundary.
fn comm_prefix(comm: &str, max: usize) -> &str {
    if comm.len() <= max {
        return comm;
    }
    let mut end = max;
    while !comm.is_char_boundary(end) {
        end -= 1;
    }
    &comm[..end]
}

fn write_spaces(w: &mut dyn Write, n: usize) -> fmt::Result {
    for _ in 0..n {
        w.write_char(' ')?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

/// The counters of the `# entries-in-buffer/entries-written` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferStats {
    /// Events still in the buffer.
    pub entries: u64,
    /// Events ever written (entries plus overwritten ones).
    pub written: u64,
    /// `num_online_cpus()`.
    pub online_cpus: u32,
}

/// `# tracer: NAME` and the `#` line under it, which every tracer's output starts with.
pub fn write_tracer_banner(w: &mut dyn Write, tracer: &str) -> fmt::Result {
    write!(w, "# tracer: {tracer}\n#\n")
}

/// Linux's `print_event_info()` followed by `print_func_help_header_irq()` (irq-info on) or
/// `print_func_help_header()` (irq-info off): the column header of the `function` and `nop`
/// tracers and of trace events.
pub fn write_func_help_header(
    w: &mut dyn Write,
    stats: &BufferStats,
    irq_info: bool,
) -> fmt::Result {
    write!(
        w,
        "# entries-in-buffer/entries-written: {}/{}   #P:{}\n#\n",
        stats.entries, stats.written, stats.online_cpus
    )?;
    if !irq_info {
        w.write_str("#           TASK-PID     CPU#     TIMESTAMP  FUNCTION\n")?;
        return w.write_str("#              | |         |         |         |\n");
    }
    const LEGEND: [&str; 6] = [
        "  _-----=> irqs-off/BH-disabled",
        " / _----=> need-resched",
        "| / _---=> hardirq/softirq",
        "|| / _--=> preempt-depth",
        "||| / _-=> migrate-disable",
        "|||| /     delay",
    ];
    for line in LEGEND {
        writeln!(w, "#{:30}{line}", "")?;
    }
    w.write_str("#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n")?;
    w.write_str("#              | |         |   |||||     |         |\n")
}

/// The whole header of a tracer without its own (`nop`, `function`): banner plus help header.
pub fn write_default_header(
    w: &mut dyn Write,
    tracer: &str,
    stats: &BufferStats,
    irq_info: bool,
) -> fmt::Result {
    write_tracer_banner(w, tracer)?;
    write_func_help_header(w, stats, irq_info)
}

// ---------------------------------------------------------------------------------------------
// function tracer and trace_marker lines
// ---------------------------------------------------------------------------------------------

/// The common fields of one event (Linux's `struct trace_entry` plus what the reader knows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryContext<'a> {
    /// The task's comm (`<idle>` for PID 0, as Linux's cmdline cache names it).
    pub comm: &'a str,
    /// The task's PID.
    pub pid: i32,
    /// The CPU whose buffer held the event.
    pub cpu: u32,
    /// `TRACE_FLAG_*` bits.
    pub flags: u8,
    /// Low nibble: preempt depth; high nibble: migrate-disable depth (both capped at 15).
    pub preempt_count: u8,
    /// Trace clock timestamp: nanoseconds, or the clock's raw count when
    /// [`PrintOpts::time_in_ns`] is false.
    pub ts_ns: u64,
}

/// Trace-wide options that change the context columns of every line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintOpts {
    /// `options/irq-info`: the five flag columns.
    pub irq_info: bool,
    /// `options/print-parent`: ` <-parent` after the function.
    pub print_parent: bool,
    /// The trace clock counts nanoseconds (`secs.usecs` columns); otherwise timestamps are
    /// plain counts (Linux: `TRACE_FILE_TIME_IN_NS`).
    pub time_in_ns: bool,
}

impl Default for PrintOpts {
    /// Linux's defaults: both on.
    fn default() -> Self {
        Self {
            irq_info: true,
            print_parent: true,
            time_in_ns: true,
        }
    }
}

/// The irqs-off column: `D` (irqs and BH off), `d`, `b` (BH off) or `.`.
fn irqs_off_char(flags: u8) -> char {
    let irqs_off = flags & TRACE_FLAG_IRQS_OFF != 0;
    let bh_off = flags & TRACE_FLAG_BH_OFF != 0;
    match (irqs_off, bh_off) {
        (true, true) => 'D',
        (true, false) => 'd',
        (false, true) => 'b',
        (false, false) => '.',
    }
}

/// The need-resched column from the eager, lazy and preempt-fold bits.
fn need_resched_char(flags: u8) -> char {
    let eager = flags & TRACE_FLAG_NEED_RESCHED != 0;
    let lazy = flags & TRACE_FLAG_NEED_RESCHED_LAZY != 0;
    let fold = flags & TRACE_FLAG_PREEMPT_RESCHED != 0;
    match (eager, lazy, fold) {
        (true, true, true) => 'B',
        (true, false, true) => 'N',
        (false, true, true) => 'L',
        (true, true, false) => 'b',
        (true, false, false) => 'n',
        (false, false, true) => 'p',
        (false, true, false) => 'l',
        (false, false, false) => '.',
    }
}

/// The hardirq/softirq column: `Z`/`z` in NMI (with/without hardirq), `H` hardirq over
/// softirq, `h`, `s` or `.`.
fn hardsoft_irq_char(flags: u8) -> char {
    let nmi = flags & TRACE_FLAG_NMI != 0;
    let hardirq = flags & TRACE_FLAG_HARDIRQ != 0;
    let softirq = flags & TRACE_FLAG_SOFTIRQ != 0;
    match (nmi, hardirq, softirq) {
        (true, true, _) => 'Z',
        (true, false, _) => 'z',
        (false, true, true) => 'H',
        (false, true, false) => 'h',
        (false, false, true) => 's',
        (false, false, false) => '.',
    }
}

/// A depth nibble as one hex digit, `.` when zero.
fn write_depth_nibble(w: &mut dyn Write, nibble: u8) -> fmt::Result {
    if nibble == 0 {
        w.write_char('.')
    } else {
        write!(w, "{nibble:x}")
    }
}

/// Linux's `trace_print_lat_fmt()`: the five flag characters, e.g. `d..1.`.
pub fn write_lat_fmt(w: &mut dyn Write, flags: u8, preempt_count: u8) -> fmt::Result {
    w.write_char(irqs_off_char(flags))?;
    w.write_char(need_resched_char(flags))?;
    w.write_char(hardsoft_irq_char(flags))?;
    write_depth_nibble(w, preempt_count & 0xf)?;
    write_depth_nibble(w, preempt_count >> 4)
}

/// Linux's `trace_print_context()`: `%16s-%-7d [%03d] FLAGS %5lu.%06lu: `. The timestamp is
/// rounded to the nearest microsecond (`ns2usecs()`).
pub fn write_context(w: &mut dyn Write, ctx: &EntryContext<'_>, opts: &PrintOpts) -> fmt::Result {
    let comm = comm_prefix(ctx.comm, TASK_COMM_LEN - 1);
    write!(w, "{comm:>16}-{:<7} [{:03}] ", ctx.pid, ctx.cpu)?;
    if opts.irq_info {
        write_lat_fmt(w, ctx.flags, ctx.preempt_count)?;
    }
    if !opts.time_in_ns {
        return write!(w, " {:12}: ", ctx.ts_ns);
    }
    let usecs = ctx.ts_ns.saturating_add(NSEC_PER_USEC / 2) / NSEC_PER_USEC;
    write!(
        w,
        " {:5}.{:06}: ",
        usecs / USEC_PER_SEC,
        usecs % USEC_PER_SEC
    )
}

/// A `function` entry after the context columns (`trace_fn_trace()`): `func`, ` <-parent`
/// when print-parent is on and the parent address is known, newline.
pub fn write_function_body(
    w: &mut dyn Write,
    func: Func<'_>,
    parent: Func<'_>,
    opts: &PrintOpts,
) -> fmt::Result {
    write_ip_sym(w, func)?;
    if opts.print_parent && parent.ip != 0 {
        w.write_str(" <-")?;
        write_ip_sym(w, parent)?;
    }
    w.write_char('\n')
}

/// A `kernel_stack` entry after the context columns (`trace_stack_print()`): `<stack trace>`,
/// then one ` => func` line per frame, innermost first.
pub fn write_stack_body<'a>(
    w: &mut dyn Write,
    frames: impl IntoIterator<Item = Func<'a>>,
) -> fmt::Result {
    w.write_str("<stack trace>\n")?;
    for frame in frames {
        w.write_str(" => ")?;
        write_ip_sym(w, frame)?;
        w.write_char('\n')?;
    }
    Ok(())
}

/// The name Linux prints for `trace_marker` events: the writer's instruction pointer.
pub const TRACE_MARKER_FUNC: &str = "tracing_mark_write";

/// A `print` entry after the context columns (`trace_print_print()`): `FUNC: TEXT`. Linux
/// stores the text with a newline appended when the writer gave none; this does the same.
pub fn write_print_body(w: &mut dyn Write, func: Func<'_>, text: &str) -> fmt::Result {
    write_ps(w, func)?;
    write!(w, ": {text}")?;
    if text.ends_with('\n') {
        Ok(())
    } else {
        w.write_char('\n')
    }
}

// ---------------------------------------------------------------------------------------------
// The event registry
// ---------------------------------------------------------------------------------------------

/// What an event's print function needs besides the entry: the options and the symbol table.
pub struct PrintCtx<'a> {
    pub opts: &'a PrintOpts,
    /// Resolves an address into its function (`%ps`).
    pub sym: &'a dyn Fn(u64) -> Func<'static>,
}

/// Prints one entry of an event after the context columns, with its trailing newline (Linux's
/// `trace_event_functions.trace`).
pub type PrintFn = fn(&TraceEventCall, &[u8], &mut dyn Write, &PrintCtx<'_>) -> fmt::Result;

/// Linux's `TRACE_EVENT_TYPE_MAX`: the largest id.
pub const TRACE_EVENT_TYPE_MAX: u16 = u16::MAX;

/// Every registered entry type, by id (Linux's `event_hash` and `ftrace_event_list`).
pub struct EventRegistry {
    /// Sorted by id.
    events: Vec<&'static TraceEventCall>,
    /// The next id to hand out (Linux's `next_event_type`).
    next_id: u32,
}

/// Why an event could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The id, or the system and name, is taken.
    Exists,
    /// No id is left.
    NoIds,
    /// No memory for the table.
    NoMem,
}

impl EventRegistry {
    pub const fn new() -> Self {
        Self {
            events: Vec::new(),
            next_id: TRACE_LAST_TYPE as u32,
        }
    }

    fn position(&self, id: u16) -> Result<usize, usize> {
        self.events.binary_search_by_key(&id, |call| call.id())
    }

    /// The first free id: the next never used, or once those ran out, the lowest hole above the
    /// fixed ones (Linux's `alloc_trace_event_type`).
    fn alloc_id(&mut self) -> Option<u16> {
        if self.next_id <= u32::from(TRACE_EVENT_TYPE_MAX) {
            self.next_id += 1;
            return Some((self.next_id - 1) as u16);
        }
        (TRACE_LAST_TYPE..=TRACE_EVENT_TYPE_MAX).find(|&id| self.position(id).is_err())
    }

    /// Adds `call`, giving it an id unless it has a fixed one (Linux's `register_trace_event`).
    pub fn register(&mut self, call: &'static TraceEventCall) -> Result<u16, RegisterError> {
        if self.lookup(&call.system, &call.name).is_some() {
            return Err(RegisterError::Exists);
        }
        self.events
            .try_reserve(1)
            .map_err(|_| RegisterError::NoMem)?;
        let id = match call.id() {
            0 => self.alloc_id().ok_or(RegisterError::NoIds)?,
            fixed => fixed,
        };
        let at = match self.position(id) {
            Ok(_) => return Err(RegisterError::Exists),
            Err(at) => at,
        };
        call.set_id(id);
        self.events.insert(at, call);
        Ok(id)
    }

    /// Removes `call` (Linux's `unregister_trace_event`); its entries still in the buffer print
    /// as an unknown type from now on.
    pub fn unregister(&mut self, call: &TraceEventCall) {
        if let Ok(at) = self.position(call.id())
            && core::ptr::eq(self.events[at], call)
        {
            self.events.remove(at);
        }
    }

    /// The event with id `id` (Linux's `ftrace_find_event`).
    pub fn find(&self, id: u16) -> Option<&'static TraceEventCall> {
        self.position(id).ok().map(|at| self.events[at])
    }

    /// The event `system:name`.
    pub fn lookup(&self, system: &str, name: &str) -> Option<&'static TraceEventCall> {
        self.events
            .iter()
            .find(|call| call.system == system && call.name == name)
            .copied()
    }

    /// Every event, by id.
    pub fn iter(&self) -> impl Iterator<Item = &'static TraceEventCall> + '_ {
        self.events.iter().copied()
    }
}

impl Default for EventRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// The kernel's registry. Readers hold it while they print an entry, so an event is never
/// unregistered (and freed) under them.
pub static EVENTS: RwLock<EventRegistry> = RwLock::new(EventRegistry::new());

/// Registers `call` in the kernel's registry; its id.
pub fn register_trace_event(call: &'static TraceEventCall) -> Result<u16, RegisterError> {
    EVENTS.write().register(call)
}

/// One entry after its context columns: its event's print, or Linux's `Unknown type N` for an
/// id nobody registered (never dropped silently).
pub fn print_entry_body(
    registry: &EventRegistry,
    payload: &[u8],
    w: &mut dyn Write,
    ctx: &PrintCtx<'_>,
) -> fmt::Result {
    let id = entry_header(payload).map_or(0, |h| h.type_);
    match registry.find(id) {
        Some(call) => (call.print)(call, payload, w, ctx),
        None => writeln!(w, "Unknown type {id}"),
    }
}

/// One whole `trace` line (Linux's `print_trace_fmt`): the context columns, then the entry.
pub fn print_trace_line(
    registry: &EventRegistry,
    ectx: &EntryContext<'_>,
    payload: &[u8],
    w: &mut dyn Write,
    ctx: &PrintCtx<'_>,
) -> fmt::Result {
    write_context(w, ectx, ctx.opts)?;
    print_entry_body(registry, payload, w, ctx)
}

/// The context an entry's header gives (the reader adds the comm, CPU and time).
pub fn entry_context<'a>(payload: &[u8], comm: &'a str, cpu: u32, ts_ns: u64) -> EntryContext<'a> {
    let h = entry_header(payload).unwrap_or_default();
    EntryContext {
        comm,
        pid: h.pid,
        cpu,
        flags: h.flags,
        preempt_count: h.preempt_count,
        ts_ns,
    }
}

// ---------------------------------------------------------------------------------------------
// The ftrace-internal entries' print functions
// ---------------------------------------------------------------------------------------------

fn print_function(
    _: &TraceEventCall,
    p: &[u8],
    w: &mut dyn Write,
    c: &PrintCtx<'_>,
) -> fmt::Result {
    let e = read_entry::<FtraceEntry>(p).ok_or(fmt::Error)?;
    write_function_body(w, (c.sym)(e.ip), (c.sym)(e.parent_ip), c.opts)
}

fn print_stack(_: &TraceEventCall, p: &[u8], w: &mut dyn Write, c: &PrintCtx<'_>) -> fmt::Result {
    write_stack_body(w, stack_frames(p).map(c.sym))
}

/// A `print` entry names its writer as Linux's `%ps` of a C function does: the bare function
/// name, the last component of our Rust path (`tracing_mark_write` for `trace_marker`).
fn print_print(_: &TraceEventCall, p: &[u8], w: &mut dyn Write, c: &PrintCtx<'_>) -> fmt::Result {
    let e = read_entry::<PrintEntry>(p).ok_or(fmt::Error)?;
    let mut func = (c.sym)(e.ip);
    func.name = func
        .name
        .map(|name| name.rsplit("::").next().unwrap_or(name));
    write_print_body(w, func, print_text(p))
}

fn print_graph_ent(
    _: &TraceEventCall,
    p: &[u8],
    w: &mut dyn Write,
    c: &PrintCtx<'_>,
) -> fmt::Result {
    let e = read_entry::<FtraceGraphEntEntry>(p).ok_or(fmt::Error)?;
    w.write_str("--> ")?;
    write_ps(w, (c.sym)(e.func))?;
    writeln!(w, " ({})", e.depth)
}

fn print_graph_ret(
    _: &TraceEventCall,
    p: &[u8],
    w: &mut dyn Write,
    c: &PrintCtx<'_>,
) -> fmt::Result {
    let e = read_entry::<FtraceGraphRetEntry>(p).ok_or(fmt::Error)?;
    w.write_str("<-- ")?;
    write_ps(w, (c.sym)(e.func))?;
    writeln!(
        w,
        " ({}) (start: {:x}  end: {:x}) over: {} retval: {:x}",
        e.depth, e.calltime, e.rettime, e.overrun, e.retval
    )
}

/// The ftrace-internal entries (Linux's `trace_entries.h`), with their fixed ids; they have a
/// `format` but no `enable`.
pub static FTRACE_EVENTS: [TraceEventCall; 5] = [
    TraceEventCall::new(
        "ftrace",
        "function",
        TRACE_FN,
        &FTRACE_FIELDS,
        "\" %ps <-- %ps\", (void *)REC->ip, (void *)REC->parent_ip",
        print_function,
        TRACE_EVENT_FL_IGNORE_ENABLE | TRACE_EVENT_FL_HAS_ID,
    ),
    TraceEventCall::new(
        "ftrace",
        "kernel_stack",
        TRACE_STACK,
        &STACK_FIELDS,
        concat!(
            "\"\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n\" \"\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n\" ",
            "\"\\t=> %ps\\n\\t=> %ps\\n\", (void *)REC->caller[0], (void *)REC->caller[1], ",
            "(void *)REC->caller[2], (void *)REC->caller[3], (void *)REC->caller[4], ",
            "(void *)REC->caller[5], (void *)REC->caller[6], (void *)REC->caller[7]"
        ),
        print_stack,
        TRACE_EVENT_FL_IGNORE_ENABLE,
    ),
    TraceEventCall::new(
        "ftrace",
        "print",
        TRACE_PRINT,
        &PRINT_FIELDS,
        "\"%ps: %s\", (void *)REC->ip, REC->buf",
        print_print,
        TRACE_EVENT_FL_IGNORE_ENABLE | TRACE_EVENT_FL_HAS_ID,
    ),
    TraceEventCall::new(
        "ftrace",
        "funcgraph_exit",
        TRACE_GRAPH_RET,
        &GRAPH_RET_FIELDS,
        "\"<-- %ps (%d) (start: %llx  end: %llx) over: %d retval: %lx\", (void *)REC->func, REC->depth, REC->calltime, REC->rettime, REC->depth, REC->retval",
        print_graph_ret,
        TRACE_EVENT_FL_IGNORE_ENABLE,
    ),
    TraceEventCall::new(
        "ftrace",
        "funcgraph_entry",
        TRACE_GRAPH_ENT,
        &GRAPH_ENT_FIELDS,
        "\"--> %ps (%d)\", (void *)REC->func, REC->depth",
        print_graph_ent,
        TRACE_EVENT_FL_IGNORE_ENABLE,
    ),
];

// ---------------------------------------------------------------------------------------------
// function_graph
// ---------------------------------------------------------------------------------------------

/// Linux's `trace_find_mark()`: the marker for a duration in nanoseconds, `' '` up to 10 us.
pub fn trace_find_mark(duration_ns: u64) -> char {
    MARKS
        .iter()
        .find(|(threshold, _)| duration_ns > *threshold)
        .map_or(' ', |m| m.1)
}

fn decimal_digits(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Linux's `trace_print_graph_duration()`: microseconds with up to three decimals, never more
/// than seven digits, then ` us ` and padding to eight characters.
pub fn write_graph_duration(w: &mut dyn Write, duration_ns: u64) -> fmt::Result {
    let usecs = duration_ns / NSEC_PER_USEC;
    let nsecs = duration_ns % NSEC_PER_USEC;
    write!(w, "{usecs}")?;
    let mut len = decimal_digits(usecs);
    if len < 7 {
        let decimals = (7 - len).min(3);
        let mut frac = [b'0'; 3];
        frac[0] += (nsecs / 100) as u8;
        frac[1] += (nsecs / 10 % 10) as u8;
        frac[2] += (nsecs % 10) as u8;
        w.write_char('.')?;
        for &d in &frac[..decimals] {
            w.write_char(char::from(d))?;
        }
        len += decimals + 1;
    }
    w.write_str(" us ")?;
    write_spaces(w, 8usize.saturating_sub(len))
}

/// The `funcgraph-*` options (`options/funcgraph-*` files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphOpts {
    /// `funcgraph-cpu`: the ` N) ` column.
    pub cpu: bool,
    /// `funcgraph-overhead`: the `+ ! # * @ $` markers.
    pub overhead: bool,
    /// `funcgraph-proc`: the centred `comm-pid` column.
    pub proc_: bool,
    /// `funcgraph-duration`: the DURATION column.
    pub duration: bool,
    /// `funcgraph-abstime`: the timestamp column.
    pub abstime: bool,
    /// `funcgraph-irqs`: interrupt functions are shown, between `==========>` and
    /// `<==========` lines; off, they are hidden.
    pub irqs: bool,
    /// `funcgraph-tail`: `} /* func */` on every closing brace.
    pub tail: bool,
    /// `funcgraph-retval`: return values on leaves and closing braces.
    pub retval: bool,
    /// `funcgraph-retval-hex`: always print return values in hex.
    pub retval_hex: bool,
}

impl Default for GraphOpts {
    /// Linux's defaults: cpu, overhead, duration and irqs on.
    fn default() -> Self {
        Self {
            cpu: true,
            overhead: true,
            proc_: false,
            duration: true,
            abstime: false,
            irqs: true,
            tail: false,
            retval: false,
            retval_hex: false,
        }
    }
}

/// `print_graph_headers_flags()`: the two column header lines of `function_graph` (the
/// `# tracer: function_graph` banner comes first, from [`write_tracer_banner`]).
pub fn write_graph_header(w: &mut dyn Write, opts: &GraphOpts) -> fmt::Result {
    let columns = [
        (opts.abstime, "     TIME       ", "      |         "),
        (opts.cpu, " CPU", " |  "),
        (opts.proc_, "  TASK/PID       ", "   |    |        "),
        (opts.duration, "  DURATION   ", "   |   |      "),
    ];
    w.write_char('#')?;
    for (on, title, _) in columns {
        if on {
            w.write_str(title)?;
        }
    }
    w.write_str("               FUNCTION CALLS\n#")?;
    for (on, _, bar) in columns {
        if on {
            w.write_str(bar)?;
        }
    }
    w.write_str("               |   |   |   |\n")
}

/// What one `function_graph` ring-buffer event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphEvent<'a> {
    /// `TRACE_GRAPH_ENT`: a traced function was entered at call depth `depth` (0 outermost).
    Entry {
        /// The function.
        func: Func<'a>,
        /// Its call depth.
        depth: u32,
    },
    /// `TRACE_GRAPH_RET`: the function returned.
    Return {
        /// The function.
        func: Func<'a>,
        /// Its call depth.
        depth: u32,
        /// Trace clock at entry.
        calltime: u64,
        /// Trace clock at return.
        rettime: u64,
        /// The return value register (x0).
        retval: u64,
    },
    /// Any other event under `function_graph` (a `trace_marker` write): printed as
    /// `/* TEXT */`.
    Comment(&'a str),
}

/// One event out of a CPU's buffer, decoded for `function_graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphRecord<'a> {
    /// The CPU whose buffer held it.
    pub cpu: u32,
    /// The task's PID.
    pub pid: i32,
    /// The task's comm.
    pub comm: &'a str,
    /// The event's timestamp (what `funcgraph-abstime` shows, and the merge order).
    pub ts_ns: u64,
    /// The event.
    pub event: GraphEvent<'a>,
}

/// A comm kept across records (the context-switch banner names the previous task).
#[derive(Clone, Copy)]
struct SavedComm {
    buf: [u8; TASK_COMM_LEN - 1],
    len: usize,
}

impl SavedComm {
    fn new(comm: &str) -> Self {
        let comm = comm_prefix(comm, TASK_COMM_LEN - 1);
        let mut buf = [0; TASK_COMM_LEN - 1];
        buf[..comm.len()].copy_from_slice(comm.as_bytes());
        Self {
            buf,
            len: comm.len(),
        }
    }

    fn as_str(&self) -> &str {
        // The bytes were copied from a `str` cut on a char boundary.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Per-CPU reading state (Linux's `struct fgraph_cpu_data`).
#[derive(Clone, Copy)]
struct CpuState {
    /// The task of the last event printed, for the context-switch banner.
    last: Option<(i32, SavedComm)>,
    /// Depth comments are indented at.
    depth: i64,
    /// Which function each open `{` belongs to, so a `}` without its entry names itself.
    enter_funcs: [u64; FTRACE_RETFUNC_DEPTH],
    /// With `funcgraph-irqs` off: the depth of the IRQ-entry function whose events are being
    /// hidden, or -1.
    depth_irq: i64,
}

impl CpuState {
    const EMPTY: Self = Self {
        last: None,
        depth: 0,
        enter_funcs: [0; FTRACE_RETFUNC_DEPTH],
        depth_irq: -1,
    };
}

/// Which side of an interrupt an IRQ marker line stands for.
#[derive(Clone, Copy)]
enum IrqMarker {
    Entry,
    Exit,
}

/// The `function_graph` output state machine for one reading of the `trace` file: merges the
/// per-CPU streams by timestamp, folds an entry immediately followed (on its CPU) by its return
/// into a leaf line, and tracks the per-CPU state that closing braces, comments and the
/// context-switch banner need.
///
/// Interrupts: a function whose address lies in the IRQ-entry text (Linux's
/// `__irqentry_text_start..__irqentry_text_end`) is framed by a `==========>` line before its
/// entry and a `<==========` line after its return; with `funcgraph-irqs` off, it and
/// everything it calls are not printed at all.
pub struct GraphPrinter {
    opts: GraphOpts,
    cpu_width: usize,
    irqentry_text: Range<u64>,
    cpus: Vec<CpuState>,
}

/// Takes the next record across per-CPU streams in timestamp order, as Linux's
/// `trace_find_next_entry()` does (on equal timestamps the lowest-numbered stream goes first).
/// Returns the stream's index with the record.
pub fn next_merged<T, I, F>(sources: &mut [Peekable<I>], ts: F) -> Option<(usize, T)>
where
    I: Iterator<Item = T>,
    F: Fn(&T) -> u64,
{
    let mut best: Option<(usize, u64)> = None;
    for (i, src) in sources.iter_mut().enumerate() {
        if let Some(t) = src.peek().map(&ts)
            && best.is_none_or(|(_, b)| t < b)
        {
            best = Some((i, t));
        }
    }
    let (i, _) = best?;
    sources[i].next().map(|rec| (i, rec))
}

impl GraphPrinter {
    /// A fresh reader. `nr_cpu_ids` sizes the CPU column as Linux does (digits of the highest
    /// possible CPU number); `irqentry_text` holds the addresses of the IRQ-entry functions.
    pub fn new(opts: GraphOpts, nr_cpu_ids: u32, irqentry_text: Range<u64>) -> Self {
        let highest = nr_cpu_ids.saturating_sub(1);
        Self {
            opts,
            cpu_width: decimal_digits(u64::from(highest)),
            irqentry_text,
            cpus: Vec::new(),
        }
    }

    /// Prints every record of `sources` (one stream per CPU buffer, each in its own order),
    /// merged by timestamp.
    pub fn write_all<'a, I>(
        &mut self,
        w: &mut dyn Write,
        sources: &mut [Peekable<I>],
    ) -> fmt::Result
    where
        I: Iterator<Item = GraphRecord<'a>>,
    {
        while let Some((i, rec)) = next_merged(sources, |r: &GraphRecord<'a>| r.ts_ns) {
            self.write_record(w, &rec, &mut sources[i])?;
        }
        Ok(())
    }

    /// Prints one record; `rest` is the remainder of the same CPU's stream, which an entry
    /// peeks into (and consumes its return from, when it is a leaf).
    pub fn write_record<'a, I>(
        &mut self,
        w: &mut dyn Write,
        rec: &GraphRecord<'a>,
        rest: &mut Peekable<I>,
    ) -> fmt::Result
    where
        I: Iterator<Item = GraphRecord<'a>>,
    {
        match rec.event {
            GraphEvent::Entry { func, depth } => {
                if self.check_irq_entry(rec.cpu, func, depth) {
                    return Ok(());
                }
                let leaf = rest.next_if(|next| is_return_of(rec, func, next));
                match leaf.map(|next| next.event) {
                    Some(GraphEvent::Return {
                        calltime,
                        rettime,
                        retval,
                        ..
                    }) => {
                        let duration = rettime.saturating_sub(calltime);
                        self.write_leaf(w, rec, func, depth, duration, retval)
                    }
                    _ => self.write_nested(w, rec, func, depth),
                }
            }
            GraphEvent::Return {
                func,
                depth,
                calltime,
                rettime,
                retval,
            } => {
                if self.check_irq_return(rec.cpu, depth) {
                    return Ok(());
                }
                let ret = ReturnInfo {
                    func,
                    depth,
                    duration: rettime.saturating_sub(calltime),
                };
                self.write_return(w, rec, &ret, retval)
            }
            GraphEvent::Comment(text) => self.write_comment(w, rec, text),
        }
    }

    fn is_irqentry(&self, func: Func<'_>) -> bool {
        self.irqentry_text.contains(&func.ip)
    }

    /// Linux's `check_irq_entry()`: with `funcgraph-irqs` off, whether this entry is hidden,
    /// being an IRQ-entry function or inside one.
    fn check_irq_entry(&mut self, cpu: u32, func: Func<'_>, depth: u32) -> bool {
        if self.opts.irqs {
            return false;
        }
        let irqentry = self.is_irqentry(func);
        let state = self.cpu_state(cpu);
        if state.depth_irq >= 0 {
            return true;
        }
        if !irqentry {
            return false;
        }
        state.depth_irq = i64::from(depth);
        true
    }

    /// Linux's `check_irq_return()`: with `funcgraph-irqs` off, whether this return is hidden;
    /// the IRQ-entry function's own return (or one from below it, its entry lost) ends the
    /// hiding.
    fn check_irq_return(&mut self, cpu: u32, depth: u32) -> bool {
        if self.opts.irqs {
            return false;
        }
        let state = self.cpu_state(cpu);
        if state.depth_irq < 0 {
            return false;
        }
        if state.depth_irq >= i64::from(depth) {
            state.depth_irq = -1;
        }
        true
    }

    fn cpu_state(&mut self, cpu: u32) -> &mut CpuState {
        let idx = cpu as usize;
        if self.cpus.len() <= idx {
            self.cpus.resize(idx + 1, CpuState::EMPTY);
        }
        &mut self.cpus[idx]
    }

    /// ` %*d) `, the width set by the highest CPU number.
    fn write_cpu(&self, w: &mut dyn Write, cpu: u32) -> fmt::Result {
        write!(w, " {cpu:>width$}) ", width = self.cpu_width)
    }

    /// `print_graph_proc()`: `comm-pid` (comm cut to 7 bytes) centred in 14 columns.
    fn write_proc(w: &mut dyn Write, comm: &str, pid: i32) -> fmt::Result {
        let comm = comm_prefix(comm, 7);
        let len =
            comm.len() + decimal_digits(u64::from(pid.unsigned_abs())) + 1 + usize::from(pid < 0);
        let spaces = TRACE_GRAPH_PROCINFO_LENGTH.saturating_sub(len);
        write_spaces(w, spaces / 2)?;
        write!(w, "{comm}-{pid}")?;
        write_spaces(w, spaces - spaces / 2)
    }

    /// `verif_pid()`: when a CPU switches task, a banner naming both tasks.
    fn write_switch_banner(&mut self, w: &mut dyn Write, rec: &GraphRecord<'_>) -> fmt::Result {
        let state = self.cpu_state(rec.cpu);
        let prev = state.last;
        if prev.is_some_and(|(pid, _)| pid == rec.pid) {
            return Ok(());
        }
        state.last = Some((rec.pid, SavedComm::new(rec.comm)));
        let Some((prev_pid, prev_comm)) = prev else {
            return Ok(());
        };
        w.write_str(" ------------------------------------------\n")?;
        self.write_cpu(w, rec.cpu)?;
        Self::write_proc(w, prev_comm.as_str(), prev_pid)?;
        w.write_str(" => ")?;
        Self::write_proc(w, rec.comm, rec.pid)?;
        w.write_str("\n ------------------------------------------\n\n")
    }

    /// `print_graph_prologue()`: banner, the `==========>` line when `entered` is an IRQ-entry
    /// function, then the line's columns.
    fn write_prologue(
        &mut self,
        w: &mut dyn Write,
        rec: &GraphRecord<'_>,
        entered: Option<Func<'_>>,
    ) -> fmt::Result {
        self.write_switch_banner(w, rec)?;
        if let Some(func) = entered {
            self.write_irq_marker(w, rec, func, IrqMarker::Entry)?;
        }
        self.write_columns(w, rec)
    }

    /// `print_graph_irq()`: for an IRQ-entry function, the `==========>` or `<==========` line,
    /// in the duration column when there is one.
    fn write_irq_marker(
        &self,
        w: &mut dyn Write,
        rec: &GraphRecord<'_>,
        func: Func<'_>,
        marker: IrqMarker,
    ) -> fmt::Result {
        if !self.is_irqentry(func) {
            return Ok(());
        }
        self.write_columns(w, rec)?;
        if self.opts.duration {
            w.write_str("  ")?;
        }
        w.write_str(match marker {
            IrqMarker::Entry => "==========>",
            IrqMarker::Exit => "<==========",
        })?;
        if self.opts.duration {
            w.write_str(" |")?;
        }
        w.write_char('\n')
    }

    /// The abstime, CPU and proc columns that start every line.
    fn write_columns(&self, w: &mut dyn Write, rec: &GraphRecord<'_>) -> fmt::Result {
        if self.opts.abstime {
            let secs = rec.ts_ns / NSEC_PER_SEC;
            let usecs = rec.ts_ns % NSEC_PER_SEC / NSEC_PER_USEC;
            write!(w, "{secs:5}.{usecs:06} |  ")?;
        }
        if self.opts.cpu {
            self.write_cpu(w, rec.cpu)?;
        }
        if self.opts.proc_ {
            Self::write_proc(w, rec.comm, rec.pid)?;
            w.write_str(" | ")?;
        }
        Ok(())
    }

    /// `print_graph_duration()` with a real duration: marker, duration, `|  `.
    fn write_duration_column(&self, w: &mut dyn Write, duration_ns: u64) -> fmt::Result {
        if !self.opts.duration {
            return Ok(());
        }
        let mark = if self.opts.overhead {
            trace_find_mark(duration_ns)
        } else {
            ' '
        };
        write!(w, "{mark} ")?;
        write_graph_duration(w, duration_ns)?;
        w.write_str("|  ")
    }

    /// `print_graph_duration()` with `FLAGS_FILL_FULL`: an empty duration column.
    fn write_empty_duration_column(&self, w: &mut dyn Write) -> fmt::Result {
        if self.opts.duration {
            w.write_str("              |  ")
        } else {
            Ok(())
        }
    }

    /// `print_graph_entry_leaf()`: `func();` with its duration.
    fn write_leaf(
        &mut self,
        w: &mut dyn Write,
        rec: &GraphRecord<'_>,
        func: Func<'_>,
        depth: u32,
        duration: u64,
        retval: u64,
    ) -> fmt::Result {
        let state = self.cpu_state(rec.cpu);
        state.depth = i64::from(depth) - 1;
        if let Some(slot) = state.enter_funcs.get_mut(depth as usize) {
            *slot = 0;
        }
        self.write_prologue(w, rec, Some(func))?;
        self.write_duration_column(w, duration)?;
        write_spaces(w, depth as usize * TRACE_GRAPH_INDENT)?;
        write_ps(w, func)?;
        w.write_str("();")?;
        if self.opts.retval {
            w.write_str(" /* = ")?;
            self.write_retval(w, retval)?;
            w.write_str(" */")?;
        }
        w.write_char('\n')?;
        self.write_irq_marker(w, rec, func, IrqMarker::Exit)
    }

    /// `print_graph_entry_nested()`: `func() {`.
    fn write_nested(
        &mut self,
        w: &mut dyn Write,
        rec: &GraphRecord<'_>,
        func: Func<'_>,
        depth: u32,
    ) -> fmt::Result {
        let state = self.cpu_state(rec.cpu);
        state.depth = i64::from(depth);
        if let Some(slot) = state.enter_funcs.get_mut(depth as usize) {
            *slot = func.ip;
        }
        self.write_prologue(w, rec, Some(func))?;
        self.write_empty_duration_column(w)?;
        write_spaces(w, depth as usize * TRACE_GRAPH_INDENT)?;
        write_ps(w, func)?;
        w.write_str("() {\n")
    }

    /// `print_graph_return()`: `}` with the duration, naming the function when asked to
    /// (funcgraph-tail), when its entry was not seen, or with funcgraph-retval.
    fn write_return(
        &mut self,
        w: &mut dyn Write,
        rec: &GraphRecord<'_>,
        ret: &ReturnInfo<'_>,
        retval: u64,
    ) -> fmt::Result {
        let state = self.cpu_state(rec.cpu);
        state.depth = i64::from(ret.depth) - 1;
        let func_match = match state.enter_funcs.get_mut(ret.depth as usize) {
            Some(slot) => core::mem::replace(slot, 0) == ret.func.ip,
            None => true,
        };
        self.write_prologue(w, rec, None)?;
        self.write_duration_column(w, ret.duration)?;
        write_spaces(w, ret.depth as usize * TRACE_GRAPH_INDENT)?;
        if self.opts.retval {
            w.write_str("} /* ")?;
            write_ps(w, ret.func)?;
            w.write_str(" = ")?;
            self.write_retval(w, retval)?;
            w.write_str(" */\n")?;
        } else if func_match && !self.opts.tail {
            w.write_str("}\n")?;
        } else {
            w.write_str("} /* ")?;
            write_ps(w, ret.func)?;
            w.write_str(" */\n")?;
        }
        self.write_irq_marker(w, rec, ret.func, IrqMarker::Exit)
    }

    /// `print_graph_retval()`'s value: a negative errno in decimal (a 64-bit or sign-extended
    /// 32-bit value in `-MAX_ERRNO..=-1`), anything else in hex; always hex with retval-hex.
    fn write_retval(&self, w: &mut dyn Write, retval: u64) -> fmt::Result {
        if !self.opts.retval_hex && retval != 0 {
            let widened = if retval >> 32 == 0 && retval & (1 << 31) != 0 {
                retval as u32 as i32 as i64 as u64
            } else {
                retval
            };
            if widened >= MAX_ERRNO.wrapping_neg() {
                return write!(w, "{}", widened as i64);
            }
        }
        write!(w, "0x{retval:x}")
    }

    /// `print_graph_comment()`: `/* TEXT */` at the current depth, trailing newline dropped.
    fn write_comment(
        &mut self,
        w: &mut dyn Write,
        rec: &GraphRecord<'_>,
        text: &str,
    ) -> fmt::Result {
        let depth = self.cpu_state(rec.cpu).depth;
        self.write_prologue(w, rec, None)?;
        self.write_empty_duration_column(w)?;
        if depth > 0 {
            write_spaces(w, (depth as usize + 1) * TRACE_GRAPH_INDENT)?;
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        writeln!(w, "/* {text} */")
    }
}

/// The return half of a record, with its duration worked out.
struct ReturnInfo<'a> {
    func: Func<'a>,
    depth: u32,
    duration: u64,
}

/// `get_return_for_leaf()`'s test: the next event on the CPU returns from this very call.
fn is_return_of(entry: &GraphRecord<'_>, func: Func<'_>, next: &GraphRecord<'_>) -> bool {
    matches!(next.event, GraphEvent::Return { func: f, .. } if f.ip == func.ip)
        && next.pid == entry.pid
}

#[cfg(test)]
mod tests {
    #[test]
    fn bitmasks_print_as_linuxs_pb() {
        let pb = |bits: &[u8]| {
            let mut s = alloc::string::String::new();
            write_bitmask(&mut s, bits).unwrap();
            s
        };
        // One unsigned long, CPU1 (Linux's ipi_raise on a 2-CPU machine).
        assert_eq!(pb(&2u64.to_le_bytes()), "00000000,00000002");
        assert_eq!(pb(&0xeu64.to_le_bytes()), "00000000,0000000e");
        assert_eq!(pb(&(1u64 << 63 | 1).to_le_bytes()), "80000000,00000001");
        assert_eq!(pb(&u64::MAX.to_le_bytes()), "ffffffff,ffffffff");
        // Two words: the higher one first.
        let two: alloc::vec::Vec<u8> = [1u64, 1 << 32]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(pb(&two), "00000001,00000000,00000000,00000001");
        // A partial first group is only as wide as its bits.
        assert_eq!(pb(&[0x0f, 0x1]), "010f");
        assert_eq!(pb(&[0x5]), "05");
        assert_eq!(pb(&[]), "");
    }

    use super::*;

    fn write_function_line(
        w: &mut dyn Write,
        c: &EntryContext<'_>,
        func: Func<'_>,
        parent: Func<'_>,
        opts: &PrintOpts,
    ) -> fmt::Result {
        write_context(w, c, opts)?;
        write_function_body(w, func, parent, opts)
    }

    fn write_stack_lines<'a>(
        w: &mut dyn Write,
        c: &EntryContext<'_>,
        frames: impl IntoIterator<Item = Func<'a>>,
        opts: &PrintOpts,
    ) -> fmt::Result {
        write_context(w, c, opts)?;
        write_stack_body(w, frames)
    }

    fn write_marker_line(
        w: &mut dyn Write,
        c: &EntryContext<'_>,
        text: &str,
        opts: &PrintOpts,
    ) -> fmt::Result {
        write_context(w, c, opts)?;
        write_print_body(w, Func::named(1, TRACE_MARKER_FUNC), text)
    }

    /// A `kernel_stack` entry's payload holding `ips`.
    fn stack_payload(ips: &[u64]) -> Vec<u8> {
        use crate::trace::trace_entries::{StackEntry, TraceEntry, entry_bytes};
        let head = StackEntry {
            ent: TraceEntry::default(),
            size: ips.len() as i32,
            _pad: 0,
        };
        let mut p = entry_bytes(&head).to_vec();
        p.extend(ips.iter().flat_map(|ip| ip.to_le_bytes()));
        p
    }
    use alloc::string::String;
    use alloc::vec;

    fn render(f: impl FnOnce(&mut dyn Write) -> fmt::Result) -> String {
        let mut s = String::new();
        f(&mut s).unwrap();
        s
    }

    fn ctx(
        comm: &'static str,
        pid: i32,
        cpu: u32,
        flags: u8,
        pc: u8,
        ts_ns: u64,
    ) -> EntryContext<'static> {
        EntryContext {
            comm,
            pid,
            cpu,
            flags,
            preempt_count: pc,
            ts_ns,
        }
    }

    fn sym(name: &'static str) -> Func<'static> {
        Func::named(name.as_ptr() as u64, name)
    }

    const SEC: u64 = NSEC_PER_SEC;
    const US: u64 = NSEC_PER_USEC;

    // ---- headers ----

    #[test]
    fn nop_header_matches_linux() {
        // From a Linux 6.x `cat trace` with the nop tracer (eprobe example).
        let expected = "# tracer: nop\n\
#\n\
# entries-in-buffer/entries-written: 2721/2721   #P:8\n\
#\n\
#                                _-----=> irqs-off/BH-disabled\n\
#                               / _----=> need-resched\n\
#                              | / _---=> hardirq/softirq\n\
#                              || / _--=> preempt-depth\n\
#                              ||| / _-=> migrate-disable\n\
#                              |||| /     delay\n\
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n\
#              | |         |   |||||     |         |\n";
        let stats = BufferStats {
            entries: 2721,
            written: 2721,
            online_cpus: 8,
        };
        assert_eq!(
            render(|w| write_default_header(w, "nop", &stats, true)),
            expected
        );
    }

    #[test]
    fn function_header_counts_and_banner() {
        let stats = BufferStats {
            entries: 53,
            written: 60,
            online_cpus: 2,
        };
        let out = render(|w| write_default_header(w, "function", &stats, true));
        assert!(out.starts_with(
            "# tracer: function\n#\n# entries-in-buffer/entries-written: 53/60   #P:2\n#\n"
        ));
        assert_eq!(out.lines().count(), 12);
    }

    #[test]
    fn header_without_irq_info() {
        let stats = BufferStats {
            entries: 0,
            written: 0,
            online_cpus: 4,
        };
        let expected = "# entries-in-buffer/entries-written: 0/0   #P:4\n\
#\n\
#           TASK-PID     CPU#     TIMESTAMP  FUNCTION\n\
#              | |         |         |         |\n";
        assert_eq!(
            render(|w| write_func_help_header(w, &stats, false)),
            expected
        );
    }

    // ---- flag columns ----

    fn lat(flags: u8, pc: u8) -> String {
        render(|w| write_lat_fmt(w, flags, pc))
    }

    #[test]
    fn irqs_off_column() {
        assert_eq!(lat(0, 0), ".....");
        assert_eq!(lat(TRACE_FLAG_IRQS_OFF, 0), "d....");
        assert_eq!(lat(TRACE_FLAG_BH_OFF, 0), "b....");
        assert_eq!(lat(TRACE_FLAG_IRQS_OFF | TRACE_FLAG_BH_OFF, 3), "D..3.");
    }

    #[test]
    fn need_resched_column() {
        let cases = [
            (
                TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_NEED_RESCHED_LAZY | TRACE_FLAG_PREEMPT_RESCHED,
                'B',
            ),
            (TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED, 'N'),
            (
                TRACE_FLAG_NEED_RESCHED_LAZY | TRACE_FLAG_PREEMPT_RESCHED,
                'L',
            ),
            (TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_NEED_RESCHED_LAZY, 'b'),
            (TRACE_FLAG_NEED_RESCHED, 'n'),
            (TRACE_FLAG_PREEMPT_RESCHED, 'p'),
            (TRACE_FLAG_NEED_RESCHED_LAZY, 'l'),
        ];
        for (flags, c) in cases {
            assert_eq!(lat(flags, 0).chars().nth(1), Some(c), "flags {flags:#x}");
        }
    }

    #[test]
    fn hardirq_softirq_column() {
        let cases = [
            (TRACE_FLAG_NMI | TRACE_FLAG_HARDIRQ, 'Z'),
            (TRACE_FLAG_NMI, 'z'),
            (TRACE_FLAG_NMI | TRACE_FLAG_SOFTIRQ, 'z'),
            (TRACE_FLAG_HARDIRQ | TRACE_FLAG_SOFTIRQ, 'H'),
            (TRACE_FLAG_HARDIRQ, 'h'),
            (TRACE_FLAG_SOFTIRQ, 's'),
        ];
        for (flags, c) in cases {
            assert_eq!(lat(flags, 0).chars().nth(2), Some(c), "flags {flags:#x}");
        }
    }

    #[test]
    fn preempt_and_migrate_nibbles_are_hex() {
        assert_eq!(lat(0, 0x0a), "...a.");
        assert_eq!(lat(0, 0x21), "...12");
        assert_eq!(lat(0, 0xf0), "....f");
        assert_eq!(lat(TRACE_FLAG_NMI | TRACE_FLAG_HARDIRQ, 0xff), "..Zff");
    }

    // ---- function tracer lines ----

    #[test]
    fn context_matches_linux_examples() {
        // Prefixes copied from Linux 6.x trace output.
        let cases = [
            (
                ctx("tail", 84, 0, 0, 0, 1324 * SEC + 561_958 * US),
                "            tail-84      [000] .....  1324.561958: ",
            ),
            (
                ctx(
                    "<idle>",
                    0,
                    5,
                    TRACE_FLAG_IRQS_OFF,
                    4,
                    521 * SEC + 164_922 * US,
                ),
                "          <idle>-0       [005] d..4.   521.164922: ",
            ),
            (
                ctx(
                    "sshd-session",
                    1082,
                    4,
                    TRACE_FLAG_IRQS_OFF,
                    4,
                    5041 * SEC + 239_906 * US,
                ),
                "    sshd-session-1082    [004] d..4.  5041.239906: ",
            ),
            (
                ctx(
                    "kworker/u34:5",
                    141,
                    1,
                    TRACE_FLAG_IRQS_OFF,
                    4,
                    5041 * SEC + 240_259 * US,
                ),
                "   kworker/u34:5-141     [001] d..4.  5041.240259: ",
            ),
            (
                ctx("modprobe", 203, 0, 0, 0, 938_668 * US),
                "        modprobe-203     [000] .....     0.938668: ",
            ),
            (
                ctx(
                    "sh",
                    113,
                    4,
                    TRACE_FLAG_NMI | TRACE_FLAG_HARDIRQ,
                    0xff,
                    6 * SEC + 468_534 * US,
                ),
                "              sh-113     [004] ..Zff     6.468534: ",
            ),
            (
                ctx(
                    "<idle>",
                    0,
                    0,
                    TRACE_FLAG_IRQS_OFF | TRACE_FLAG_NMI | TRACE_FLAG_HARDIRQ,
                    1,
                    717 * SEC + 26_259 * US,
                ),
                "          <idle>-0       [000] d.Z1.   717.026259: ",
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(
                render(|w| write_context(w, &c, &PrintOpts::default())),
                expected
            );
        }
    }

    #[test]
    fn function_lines_match_linux_examples() {
        let opts = PrintOpts::default();
        let c = ctx(
            "irq/68-dwc3",
            523,
            0,
            TRACE_FLAG_IRQS_OFF | TRACE_FLAG_BH_OFF,
            3,
            133 * SEC + 990_254 * US,
        );
        assert_eq!(
            render(|w| write_function_line(
                w,
                &c,
                sym("reset_config"),
                sym("__composite_disconnect"),
                &opts
            )),
            "     irq/68-dwc3-523     [000] D..3.   133.990254: reset_config <-__composite_disconnect\n"
        );
        let c = ctx("cat", 117, 2, 0, 1, 1_602_243 * US);
        assert_eq!(
            render(|w| write_function_line(
                w,
                &c,
                sym("__bio_try_merge_page"),
                sym("bio_add_page"),
                &opts
            )),
            "             cat-117     [002] ...1.     1.602243: __bio_try_merge_page <-bio_add_page\n"
        );
    }

    #[test]
    fn function_line_options_and_unknown_symbols() {
        let c = ctx("cat", 117, 2, 0, 0, 0);
        let no_parent = PrintOpts {
            irq_info: false,
            print_parent: false,
            ..PrintOpts::default()
        };
        assert_eq!(
            render(|w| write_function_line(w, &c, sym("f"), sym("g"), &no_parent)),
            "             cat-117     [002]      0.000000: f\n"
        );
        // A clock that does not count nanoseconds (`counter`, `uptime`): the raw count.
        let counted = PrintOpts {
            time_in_ns: false,
            ..PrintOpts::default()
        };
        let c42 = ctx("cat", 117, 2, 0, 0, 42);
        assert_eq!(
            render(|w| write_function_line(w, &c42, sym("f"), sym("g"), &counted)),
            "             cat-117     [002] .....           42: f <-g\n"
        );
        let unknown = Func {
            ip: 0xffff_8000_1234,
            name: None,
        };
        let zero = Func { ip: 0, name: None };
        assert_eq!(
            render(|w| write_function_line(w, &c, unknown, zero, &PrintOpts::default())),
            "             cat-117     [002] .....     0.000000: 0xffff80001234\n"
        );
        let small = Func {
            ip: 0x1234,
            name: None,
        };
        assert!(
            render(|w| write_function_line(w, &c, small, unknown, &PrintOpts::default()))
                .ends_with(": 0x00001234 <-0xffff80001234\n")
        );
    }

    #[test]
    fn stack_trace_lines_match_linux() {
        // ftrace.rst's func_stack_trace example layout.
        let c = ctx("cat", 117, 2, 0, 1, 1_602_243 * US);
        let frames = [sym("vfs_read"), sym("ksys_read"), sym("__arm64_sys_read")];
        assert_eq!(
            render(|w| write_stack_lines(w, &c, frames, &PrintOpts::default())),
            "             cat-117     [002] ...1.     1.602243: <stack trace>\n\
             \x20=> vfs_read\n => ksys_read\n => __arm64_sys_read\n"
        );
    }

    #[test]
    fn stack_entries_hold_every_frame() {
        // The task's whole stack, however deep: 40 frames, the outermost last.
        let ips: Vec<u64> = (1..=40u64)
            .map(|i| 0xffff_ff80_4020_0000 + i * 0x100)
            .collect();
        let payload = stack_payload(&ips);
        assert_eq!(stack_frames(&payload).collect::<Vec<_>>(), ips);
        let names: Vec<String> = (1..=40).map(|i| format!("f{i}")).collect();
        let frames = stack_frames(&payload)
            .zip(&names)
            .map(|(ip, name)| Func::named(ip, name));
        let c = ctx("sh", 1, 0, 0, 0, 0);
        let out = render(|w| write_stack_lines(w, &c, frames, &PrintOpts::default()));
        assert_eq!(out.lines().count(), 41);
        assert!(out.lines().nth(1) == Some(" => f1"), "{out}");
        assert!(out.ends_with(" => f39\n => f40\n"), "{out}");
    }

    #[test]
    fn context_edge_cases() {
        let opts = PrintOpts::default();
        // A comm longer than TASK_COMM_LEN - 1 is cut to 15 bytes.
        let c = ctx("a_very_long_comm_name", 1, 0, 0, 0, 0);
        assert!(
            render(|w| write_context(w, &c, &opts)).starts_with(" a_very_long_com-1       [000]")
        );
        // Wide PIDs and CPUs grow their fields.
        let c = ctx("x", 12_345_678, 12, 0, 0, 0);
        assert!(
            render(|w| write_context(w, &c, &opts)).starts_with("               x-12345678 [012] ")
        );
        let c = ctx("x", 1, 1234, 0, 0, 0);
        assert!(render(|w| write_context(w, &c, &opts)).contains("-1       [1234] "));
        // Large seconds widen the timestamp; nanoseconds round to the nearest microsecond.
        let c = ctx("x", 1, 0, 0, 0, 123_456 * SEC);
        assert!(render(|w| write_context(w, &c, &opts)).ends_with("..... 123456.000000: "));
        let c = ctx("x", 1, 0, 0, 0, 1_999_999_500);
        assert!(render(|w| write_context(w, &c, &opts)).ends_with(".....     2.000000: "));
        let c = ctx("x", 1, 0, 0, 0, 1_999_999_499);
        assert!(render(|w| write_context(w, &c, &opts)).ends_with(".....     1.999999: "));
    }

    #[test]
    fn marker_line_appends_missing_newline_once() {
        let c = ctx("bash", 1085, 1, 0, 0, 5041 * SEC + 240_198 * US);
        let expected =
            "            bash-1085    [001] .....  5041.240198: tracing_mark_write: hello world\n";
        let opts = PrintOpts::default();
        assert_eq!(
            render(|w| write_marker_line(w, &c, "hello world", &opts)),
            expected
        );
        assert_eq!(
            render(|w| write_marker_line(w, &c, "hello world\n", &opts)),
            expected
        );
    }

    // ---- function_graph: pieces ----

    #[test]
    fn marks_in_each_band() {
        let cases = [
            (0, ' '),
            (10_000, ' '),
            (10_001, '+'),
            (100_000, '+'),
            (100_001, '!'),
            (1_000_000, '!'),
            (1_000_001, '#'),
            (10_000_001, '*'),
            (100_000_001, '@'),
            (1_000_000_000, '@'),
            (1_000_000_001, '$'),
        ];
        for (ns, c) in cases {
            assert_eq!(trace_find_mark(ns), c, "{ns} ns");
        }
    }

    #[test]
    fn duration_widths() {
        let d = |ns| render(|w| write_graph_duration(w, ns));
        assert_eq!(d(179), "0.179 us    ");
        assert_eq!(d(310_041), "310.041 us  ");
        assert_eq!(d(8_148_320), "8148.320 us ");
        assert_eq!(d(52_999_059), "52999.05 us ");
        assert_eq!(d(123_456_789), "123456.7 us ");
        assert_eq!(d(1_500_000_000), "1500000 us  ");
        assert_eq!(d(12_345_678_901), "12345678 us ");
    }

    #[test]
    fn graph_headers() {
        let h = |o: GraphOpts| render(|w| write_graph_header(w, &o));
        let base = GraphOpts::default();
        assert_eq!(
            h(base),
            "# CPU  DURATION                  FUNCTION CALLS\n\
# |     |   |                     |   |   |   |\n"
        );
        assert_eq!(
            h(GraphOpts {
                proc_: true,
                ..base
            }),
            "# CPU  TASK/PID         DURATION                  FUNCTION CALLS\n\
# |     |    |           |   |                     |   |   |   |\n"
        );
        assert_eq!(
            h(GraphOpts {
                abstime: true,
                ..base
            }),
            "#     TIME        CPU  DURATION                  FUNCTION CALLS\n\
#      |          |     |   |                     |   |   |   |\n"
        );
        assert_eq!(
            h(GraphOpts {
                cpu: false,
                duration: false,
                ..base
            }),
            "#               FUNCTION CALLS\n#               |   |   |   |\n"
        );
    }

    // ---- function_graph: the state machine ----

    /// Builds one CPU's event stream from nested calls.
    struct Stream {
        cpu: u32,
        pid: i32,
        comm: &'static str,
        stack: Vec<(Func<'static>, u64)>,
        recs: Vec<GraphRecord<'static>>,
    }

    impl Stream {
        fn new(cpu: u32, pid: i32, comm: &'static str) -> Self {
            Self {
                cpu,
                pid,
                comm,
                stack: Vec::new(),
                recs: Vec::new(),
            }
        }

        fn push(&mut self, ts_ns: u64, event: GraphEvent<'static>) {
            let (cpu, pid, comm) = (self.cpu, self.pid, self.comm);
            self.recs.push(GraphRecord {
                cpu,
                pid,
                comm,
                ts_ns,
                event,
            });
        }

        fn enter(&mut self, name: &'static str, at: u64) -> &mut Self {
            let func = sym(name);
            let depth = self.stack.len() as u32;
            self.stack.push((func, at));
            self.push(at, GraphEvent::Entry { func, depth });
            self
        }

        fn exit_ret(&mut self, at: u64, retval: u64) -> &mut Self {
            let (func, calltime) = self.stack.pop().unwrap();
            let depth = self.stack.len() as u32;
            self.push(
                at,
                GraphEvent::Return {
                    func,
                    depth,
                    calltime,
                    rettime: at,
                    retval,
                },
            );
            self
        }

        fn exit(&mut self, at: u64) -> &mut Self {
            self.exit_ret(at, 0)
        }

        /// A leaf call lasting `ns`, starting at `at`.
        fn leaf(&mut self, name: &'static str, at: u64, ns: u64) -> &mut Self {
            self.enter(name, at).exit(at + ns)
        }
    }

    fn print_graph(
        opts: GraphOpts,
        nr_cpus: u32,
        streams: Vec<Vec<GraphRecord<'static>>>,
    ) -> String {
        let mut sources: Vec<_> = streams
            .into_iter()
            .map(|s| s.into_iter().peekable())
            .collect();
        let mut printer = GraphPrinter::new(opts, nr_cpus, 0..0);
        render(|w| printer.write_all(w, &mut sources))
    }

    #[test]
    fn graph_matches_linux_example() {
        // The start of a Linux function_graph trace of pci_proc_init() (boot-time tracing).
        let mut s = Stream::new(0, 1, "swapper/0");
        s.enter("pci_proc_init", 0)
            .enter("proc_mkdir", 100)
            .enter("proc_mkdir_data", 200)
            .enter("__proc_create", 300)
            .enter("_raw_read_lock", 400)
            .leaf("preempt_count_add", 500, 179)
            .leaf("do_raw_read_lock", 800, 203)
            .exit(400 + 1210)
            .enter("__xlate_proc_name", 2000)
            .leaf("pde_subdir_find", 2100, 449)
            .exit(2000 + 913);
        let expected = " 0)               |  pci_proc_init() {
 0)               |    proc_mkdir() {
 0)               |      proc_mkdir_data() {
 0)               |        __proc_create() {
 0)               |          _raw_read_lock() {
 0)   0.179 us    |            preempt_count_add();
 0)   0.203 us    |            do_raw_read_lock();
 0)   1.210 us    |          }
 0)               |          __xlate_proc_name() {
 0)   0.449 us    |            pde_subdir_find();
 0)   0.913 us    |          }
";
        assert_eq!(print_graph(GraphOpts::default(), 4, vec![s.recs]), expected);
    }

    #[test]
    fn graph_markers_match_linux_example() {
        let mut s = Stream::new(1, 77, "syz");
        s.enter("hwsim_del_radio_nl", 0)
            .enter("hwsim_del", 10)
            .enter("hwsim_edge_unsubscribe_me", 20)
            .leaf("hwsim_free_edge", 30, 310_041)
            .exit(20 + 665_221)
            .exit(10 + 52_999_059)
            .exit(53_035_380);
        let expected = " 1)               |  hwsim_del_radio_nl() {
 1)               |    hwsim_del() {
 1)               |      hwsim_edge_unsubscribe_me() {
 1) ! 310.041 us  |        hwsim_free_edge();
 1) ! 665.221 us  |      }
 1) * 52999.05 us |    }
 1) * 53035.38 us |  }
";
        assert_eq!(print_graph(GraphOpts::default(), 2, vec![s.recs]), expected);
    }

    #[test]
    fn graph_every_band_and_overhead_off() {
        let mut s = Stream::new(0, 1, "t");
        let durations = [
            5_000,
            10_001,
            100_001,
            1_000_001,
            10_000_001,
            100_000_001,
            1_000_000_001,
        ];
        let mut at = 0;
        for ns in durations {
            s.leaf("f", at, ns);
            at += ns + 1;
        }
        let out = print_graph(GraphOpts::default(), 1, vec![s.recs.clone()]);
        let marks: String = out.lines().map(|l| l.chars().nth(4).unwrap()).collect();
        assert_eq!(marks, " +!#*@$");
        let quiet = print_graph(
            GraphOpts {
                overhead: false,
                ..GraphOpts::default()
            },
            1,
            vec![s.recs],
        );
        assert!(quiet.lines().all(|l| l.starts_with(" 0)   ")));
        assert!(quiet.ends_with(" 0)   1000000 us  |  f();\n"));
    }

    #[test]
    fn graph_tail_option_and_lost_entry() {
        let mut s = Stream::new(0, 1, "t");
        s.enter("wp_page_copy.isra.56", 0)
            .leaf("put_page", 10, 42)
            .exit(17_010);
        let tail = GraphOpts {
            tail: true,
            ..GraphOpts::default()
        };
        let out = print_graph(tail, 1, vec![s.recs.clone()]);
        assert!(
            out.ends_with(" 0) + 17.010 us   |  } /* wp_page_copy.isra.56 */\n"),
            "{out}"
        );
        // Without the option, a return whose entry was never seen still names itself.
        let orphan = s.recs[3..].to_vec();
        let out = print_graph(GraphOpts::default(), 1, vec![orphan]);
        assert_eq!(out, " 0) + 17.010 us   |  } /* wp_page_copy.isra.56 */\n");
        let out = print_graph(GraphOpts::default(), 1, vec![s.recs]);
        assert!(out.ends_with(" 0) + 17.010 us   |  }\n"));
    }

    #[test]
    fn graph_deep_nesting() {
        let mut s = Stream::new(0, 1, "t");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
        for (i, n) in names.iter().enumerate() {
            s.enter(n, i as u64);
        }
        s.leaf("leaf", 100, 1_000);
        for i in 0..names.len() {
            s.exit(2_000 + i as u64);
        }
        let out = print_graph(GraphOpts::default(), 1, vec![s.recs]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[11],
            format!(" 0)               |  {}l() {{", " ".repeat(22))
        );
        assert_eq!(
            lines[12],
            format!(" 0)   1.000 us    |  {}leaf();", " ".repeat(24))
        );
        assert_eq!(
            lines[13].trim_end(),
            format!(" 0)   1.989 us    |  {}}}", " ".repeat(22))
        );
        assert_eq!(lines.len(), 25);
    }

    #[test]
    fn graph_retval_formats() {
        let opts = GraphOpts {
            retval: true,
            ..GraphOpts::default()
        };
        let mut s = Stream::new(0, 1, "t");
        s.enter("outer", 0)
            .enter("zero", 1)
            .exit_ret(2, 0)
            .enter("ptr", 3)
            .exit_ret(4, 0xffff_0000_1234_5678)
            .enter("enomem", 5)
            .exit_ret(6, (-12i64) as u64)
            .enter("einval32", 7)
            .exit_ret(8, 0xffff_ffea)
            .enter("not_errno", 9)
            .exit_ret(10, (-5000i64) as u64)
            .exit_ret(1_000, (-22i64) as u64);
        let out = print_graph(opts, 1, vec![s.recs.clone()]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], " 0)   0.001 us    |    zero(); /* = 0x0 */");
        assert_eq!(
            lines[2],
            " 0)   0.001 us    |    ptr(); /* = 0xffff000012345678 */"
        );
        assert_eq!(lines[3], " 0)   0.001 us    |    enomem(); /* = -12 */");
        assert_eq!(lines[4], " 0)   0.001 us    |    einval32(); /* = -22 */");
        assert_eq!(
            lines[5],
            " 0)   0.001 us    |    not_errno(); /* = 0xffffffffffffec78 */"
        );
        assert_eq!(lines[6], " 0)   1.000 us    |  } /* outer = -22 */");
        let hex = print_graph(
            GraphOpts {
                retval_hex: true,
                ..opts
            },
            1,
            vec![s.recs],
        );
        assert!(hex.contains("enomem(); /* = 0xfffffffffffffff4 */"));
        assert!(hex.contains("einval32(); /* = 0xffffffea */"));
    }

    #[test]
    fn graph_cpu_width_follows_cpu_count() {
        let mut a = Stream::new(3, 1, "t");
        a.leaf("f", 0, 100);
        let mut b = Stream::new(12, 2, "u");
        b.leaf("g", 5, 100);
        let out = print_graph(GraphOpts::default(), 16, vec![a.recs, b.recs]);
        assert_eq!(
            out,
            "  3)   0.100 us    |  f();\n 12)   0.100 us    |  g();\n"
        );
    }

    #[test]
    fn graph_lookahead_stays_on_its_cpu() {
        // cpu0's return comes after cpu1's events in time, yet f is still a leaf.
        let mut a = Stream::new(0, 1, "a");
        a.leaf("f", 10, 20);
        let mut b = Stream::new(1, 2, "b");
        b.enter("g", 15).leaf("h", 16, 2).exit(25);
        let out = print_graph(GraphOpts::default(), 2, vec![a.recs, b.recs]);
        let expected = " 0)   0.020 us    |  f();
 1)               |  g() {
 1)   0.002 us    |    h();
 1)   0.010 us    |  }
";
        assert_eq!(out, expected);
    }

    #[test]
    fn graph_other_pid_is_not_a_leaf_and_switch_banner() {
        let f = sym("f");
        let recs = vec![
            GraphRecord {
                cpu: 0,
                pid: 1234,
                comm: "bash",
                ts_ns: 0,
                event: GraphEvent::Entry { func: f, depth: 0 },
            },
            GraphRecord {
                cpu: 0,
                pid: 0,
                comm: "<idle>",
                ts_ns: 5,
                event: GraphEvent::Return {
                    func: f,
                    depth: 0,
                    calltime: 1,
                    rettime: 5,
                    retval: 0,
                },
            },
        ];
        let out = print_graph(GraphOpts::default(), 1, vec![recs]);
        let expected = " 0)               |  f() {
 ------------------------------------------
 0)   bash-1234    =>    <idle>-0   
 ------------------------------------------

 0)   0.004 us    |  }
";
        assert_eq!(out, expected);
    }

    #[test]
    fn graph_proc_abstime_and_no_duration() {
        let mut s = Stream::new(0, 1234, "bash");
        s.enter("f", 123 * SEC + 456_789_999)
            .leaf("g", 124 * SEC, 179)
            .exit(124 * SEC + 1_000);
        let opts = GraphOpts {
            proc_: true,
            abstime: true,
            ..GraphOpts::default()
        };
        let out = print_graph(opts, 1, vec![s.recs.clone()]);
        let expected = "  123.456789 |   0)   bash-1234    |               |  f() {
  124.000000 |   0)   bash-1234    |   0.179 us    |    g();
  124.000001 |   0)   bash-1234    | @ 543211.0 us |  }
";
        assert_eq!(out, expected);
        // A comm longer than 7 bytes is cut in the proc column.
        let mut s = Stream::new(0, 7, "kworker/0:1");
        s.leaf("f", 0, 1);
        let out = print_graph(
            GraphOpts {
                proc_: true,
                ..GraphOpts::default()
            },
            1,
            vec![s.recs],
        );
        assert_eq!(out, " 0)   kworker-7    |   0.001 us    |  f();\n");
        let mut s = Stream::new(0, 1, "t");
        s.enter("f", 0).leaf("g", 1, 1).exit(3);
        let bare = GraphOpts {
            duration: false,
            cpu: false,
            ..GraphOpts::default()
        };
        assert_eq!(print_graph(bare, 1, vec![s.recs]), "f() {\n  g();\n}\n");
    }

    #[test]
    fn graph_comments_follow_depth() {
        let mut s = Stream::new(0, 1, "t");
        s.enter("a", 0).enter("b", 1);
        s.push(2, GraphEvent::Comment("hello\n"));
        s.exit(3).exit(4);
        s.push(5, GraphEvent::Comment("top"));
        let out = print_graph(GraphOpts::default(), 1, vec![s.recs]);
        let expected = " 0)               |  a() {
 0)               |    b() {
 0)               |      /* hello */
 0)   0.002 us    |    }
 0)   0.004 us    |  }
 0)               |  /* top */
";
        assert_eq!(out, expected);
    }

    #[test]
    fn unknown_graph_symbol_prints_full_width_address() {
        let f = Func {
            ip: 0xffff_8000_1000,
            name: None,
        };
        let recs = vec![GraphRecord {
            cpu: 0,
            pid: 1,
            comm: "t",
            ts_ns: 0,
            event: GraphEvent::Entry { func: f, depth: 0 },
        }];
        let out = print_graph(GraphOpts::default(), 1, vec![recs]);
        assert_eq!(out, " 0)               |  0x0000ffff80001000() {\n");
    }

    // ---- function_graph: interrupts ----

    /// The IRQ-entry function of these tests (one static, so `sym` gives one address).
    static IRQ_ENTRY: &str = "gic_handle_irq";

    fn print_graph_irq(
        opts: GraphOpts,
        nr_cpus: u32,
        streams: Vec<Vec<GraphRecord<'static>>>,
    ) -> String {
        let irq = sym(IRQ_ENTRY).ip;
        let mut sources: Vec<_> = streams
            .into_iter()
            .map(|s| s.into_iter().peekable())
            .collect();
        let mut printer = GraphPrinter::new(opts, nr_cpus, irq..irq + 1);
        render(|w| printer.write_all(w, &mut sources))
    }

    /// A timer interrupt as Linux 6.12 arm64 records it: the IRQ-entry function, the domain
    /// dispatch and the handler, at `at`.
    fn timer_irq(s: &mut Stream, at: u64) -> &mut Stream {
        s.enter(IRQ_ENTRY, at)
            .enter("generic_handle_domain_irq", at + 16 * US)
            .leaf("handle_percpu_devid_irq", at + 21 * US, 6_800)
            .exit(at + 16 * US + 17_888)
            .exit(at + 45_760)
    }

    #[test]
    fn graph_irq_markers_match_linux() {
        // Linux 6.12 arm64 under QEMU, function_graph filtered to the IRQ path.
        let mut s = Stream::new(1, 0, "<idle>");
        timer_irq(&mut s, 12 * SEC);
        let expected = " 1)   ==========> |
 1)               |  gic_handle_irq() {
 1)               |    generic_handle_domain_irq() {
 1)   6.800 us    |      handle_percpu_devid_irq();
 1) + 17.888 us   |    }
 1) + 45.760 us   |  }
 1)   <========== |
";
        assert_eq!(
            print_graph_irq(GraphOpts::default(), 2, vec![s.recs.clone()]),
            expected
        );
        // Without the CPU and duration columns the markers stand alone.
        let bare = GraphOpts {
            cpu: false,
            duration: false,
            ..GraphOpts::default()
        };
        let expected = "==========>
gic_handle_irq() {
  generic_handle_domain_irq() {
    handle_percpu_devid_irq();
  }
}
<==========
";
        assert_eq!(print_graph_irq(bare, 2, vec![s.recs]), expected);
    }

    #[test]
    fn graph_irq_markers_take_the_context_columns() {
        let mut s = Stream::new(1, 0, "<idle>");
        timer_irq(&mut s, 12 * SEC + 280_910 * US);
        let opts = GraphOpts {
            proc_: true,
            abstime: true,
            ..GraphOpts::default()
        };
        let out = print_graph_irq(opts, 2, vec![s.recs]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "   12.280910 |   1)    <idle>-0    |   ==========> |"
        );
        assert_eq!(
            lines[1],
            "   12.280910 |   1)    <idle>-0    |               |  gic_handle_irq() {"
        );
        // The exit marker carries the return's timestamp.
        assert_eq!(
            lines[5],
            "   12.280955 |   1)    <idle>-0    | + 45.760 us   |  }"
        );
        assert_eq!(
            lines[6],
            "   12.280955 |   1)    <idle>-0    |   <========== |"
        );
        assert_eq!(lines.len(), 7);
    }

    #[test]
    fn graph_irq_marker_follows_the_switch_banner() {
        let mut idle = Stream::new(1, 0, "<idle>");
        idle.leaf("f", 0, 100);
        let mut sleep = Stream::new(1, 146, "sleep");
        timer_irq(&mut sleep, 1_000);
        let mut recs = idle.recs;
        recs.extend(sleep.recs);
        let out = print_graph_irq(GraphOpts::default(), 2, vec![recs]);
        assert!(
            out.starts_with(
                " 1)   0.100 us    |  f();
 ------------------------------------------
 1)    <idle>-0    =>   sleep-146   
 ------------------------------------------

 1)   ==========> |
 1)               |  gic_handle_irq() {
"
            ),
            "{out}"
        );
    }

    #[test]
    fn graph_irq_entry_leaf_gets_both_markers() {
        let mut s = Stream::new(0, 1, "t");
        s.enter("outer", 0).leaf(IRQ_ENTRY, 10, 500).exit(1_000);
        let expected = " 0)               |  outer() {
 0)   ==========> |
 0)   0.500 us    |    gic_handle_irq();
 0)   <========== |
 0)   1.000 us    |  }
";
        assert_eq!(
            print_graph_irq(GraphOpts::default(), 1, vec![s.recs]),
            expected
        );
    }

    #[test]
    fn graph_irqs_off_hides_interrupts_when_printing() {
        // Linux: the interrupt's events stay in the buffer and still keep do_nanosleep from
        // being a leaf, but none of them is printed, markers included.
        let mut s = Stream::new(1, 146, "sleep");
        s.enter("hrtimer_nanosleep", 0).enter("do_nanosleep", 100);
        timer_irq(&mut s, 1_000);
        s.exit(100 + 1_000_860 * US).exit(1_000_976 * US);
        // A second interrupt on another CPU, and a leaf IRQ entry: hidden as well.
        let mut other = Stream::new(0, 0, "<idle>");
        timer_irq(&mut other, 2_000);
        other
            .leaf(IRQ_ENTRY, 100_000, 10)
            .leaf("after", 200_000, 10);
        let opts = GraphOpts {
            irqs: false,
            ..GraphOpts::default()
        };
        let expected = " 1)               |  hrtimer_nanosleep() {
 1)               |    do_nanosleep() {
 0)   0.010 us    |  after();
 1) $ 1000860 us  |    }
 1) $ 1000976 us  |  }
";
        assert_eq!(print_graph_irq(opts, 2, vec![other.recs, s.recs]), expected);
    }

    #[test]
    fn graph_irqs_off_resumes_after_a_lost_irq_return() {
        // The IRQ-entry function's return was lost (overwritten, say): a return from below its
        // depth still ends the hiding, as Linux's check_irq_return() does.
        let irq = sym(IRQ_ENTRY);
        let outer = sym("outer");
        let mut s = Stream::new(0, 1, "t");
        s.push(
            0,
            GraphEvent::Entry {
                func: outer,
                depth: 0,
            },
        );
        s.push(
            1,
            GraphEvent::Entry {
                func: irq,
                depth: 1,
            },
        );
        s.push(
            5,
            GraphEvent::Return {
                func: outer,
                depth: 0,
                calltime: 0,
                rettime: 5,
                retval: 0,
            },
        );
        s.leaf("next", 10, 1);
        let opts = GraphOpts {
            irqs: false,
            ..GraphOpts::default()
        };
        let expected = " 0)               |  outer() {
 0)   0.001 us    |  next();
";
        assert_eq!(print_graph_irq(opts, 1, vec![s.recs]), expected);
    }

    #[test]
    fn merge_prefers_lowest_stream_on_ties() {
        let mut sources = [
            vec![(5u64, 'a'), (9, 'c')].into_iter().peekable(),
            vec![(5u64, 'b'), (6, 'd')].into_iter().peekable(),
        ];
        let mut order = String::new();
        while let Some((_, (_, c))) = next_merged(&mut sources, |r: &(u64, char)| r.0) {
            order.push(c);
        }
        assert_eq!(order, "abdc");
    }

    fn leaked(system: &'static str, name: &'static str, id: u16) -> &'static TraceEventCall {
        Box::leak(Box::new(TraceEventCall::new(
            system,
            name,
            id,
            &[],
            "\"\"",
            print_function,
            0,
        )))
    }

    #[test]
    fn registry_hands_out_ids_from_the_last_fixed_type_and_refuses_clashes() {
        let mut reg = EventRegistry::new();
        for call in &FTRACE_EVENTS {
            reg.register(call).unwrap();
        }
        let a = leaked("s", "a", 0);
        let b = leaked("s", "b", 0);
        assert_eq!(reg.register(a), Ok(TRACE_LAST_TYPE));
        assert_eq!(reg.register(b), Ok(TRACE_LAST_TYPE + 1));
        assert_eq!(
            reg.register(leaked("s", "a", 0)),
            Err(RegisterError::Exists)
        );
        assert_eq!(
            reg.register(leaked("t", "x", TRACE_FN)),
            Err(RegisterError::Exists)
        );
        assert!(core::ptr::eq(reg.find(TRACE_LAST_TYPE).unwrap(), a));
        assert!(core::ptr::eq(
            reg.lookup("ftrace", "print").unwrap(),
            &FTRACE_EVENTS[2]
        ));
        reg.unregister(a);
        assert!(reg.find(TRACE_LAST_TYPE).is_none());
        // Ids are not reused until they run out, as Linux's next_event_type.
        assert_eq!(reg.register(leaked("s", "c", 0)), Ok(TRACE_LAST_TYPE + 2));
        let ids: Vec<u16> = reg.iter().map(|c| c.id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }

    #[test]
    fn ids_wrap_to_the_lowest_hole_once_exhausted() {
        let mut reg = EventRegistry::new();
        reg.next_id = u32::from(TRACE_EVENT_TYPE_MAX);
        assert_eq!(
            reg.register(leaked("s", "last", 0)),
            Ok(TRACE_EVENT_TYPE_MAX)
        );
        assert_eq!(reg.register(leaked("s", "hole", 0)), Ok(TRACE_LAST_TYPE));
    }

    #[test]
    fn entries_print_through_their_event_and_unknown_ids_are_not_dropped() {
        use crate::trace::trace_entries::{FtraceEntry, TraceEntry, entry_bytes};
        let mut reg = EventRegistry::new();
        for call in &FTRACE_EVENTS {
            reg.register(call).unwrap();
        }
        let opts = PrintOpts::default();
        let names = |ip: u64| Func {
            ip,
            name: match ip {
                1 => Some("f"),
                2 => Some("g"),
                _ => None,
            },
        };
        let pctx = PrintCtx {
            opts: &opts,
            sym: &names,
        };
        let c = ctx("sh", 1, 0, 0, 0, 1_000_000);
        let mut entry = FtraceEntry {
            ent: TraceEntry {
                type_: TRACE_FN,
                flags: 0,
                preempt_count: 0,
                pid: 1,
            },
            ip: 1,
            parent_ip: 2,
        };
        let line = render(|w| print_trace_line(&reg, &c, entry_bytes(&entry), w, &pctx));
        assert!(line.ends_with(": f <-g\n"), "{line}");
        entry.ent.type_ = 999;
        let line = render(|w| print_trace_line(&reg, &c, entry_bytes(&entry), w, &pctx));
        assert!(line.ends_with("0.001000: Unknown type 999\n"), "{line}");
    }
}
