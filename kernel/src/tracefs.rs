//! The tracefs files of this layer, mounted at `/sys/kernel/tracing`, and `/proc/kallsyms`.
//! Tracers and probes register their own files next to these as they arrive.

use core::fmt::{self, Write};

use crate::fs::{self, Errno};
use crate::symbols;
use crate::trace::ftrace;

pub const TRACEFS: &str = "/sys/kernel/tracing";

/// The `README` mini-HOWTO: grows with each feature.
const README: &str = "\
tracing mini-HOWTO:

# cd /sys/kernel/tracing

Files:
  README\t\t\t- this text
  available_filter_functions\t- every function that can be traced, one per line,
\t\t\t\t  in address order (the kernel's patchable call sites)
  available_tracers\t- the tracers current_tracer accepts
  current_tracer\t- the active tracer; writing a name switches (and clears trace)
  tracing_on\t\t- 1 while events are recorded; echo 0 pauses, echo 1 resumes
  trace\t\t\t- the buffer, oldest event first (reading does not consume);
\t\t\t  echo > trace empties it
  trace_pipe\t\t- the buffer without a header, consuming what it prints; waits for new
\t\t\t  events until Ctrl-C
  trace_marker\t\t- text written here is recorded as a tracing_mark_write event
  buffer_size_kb\t- each CPU's buffer size in KiB (X when they differ); writing resizes
\t\t\t  every CPU (and clears)
  per_cpu/cpuN/\t\t- one CPU's trace, trace_pipe, buffer_size_kb (resizes that CPU) and
\t\t\t  stats (entries, overrun, bytes, timestamps, dropped and read events)
  trace_clock\t\t- the clock of the timestamps: local, global (monotonic across CPUs),
\t\t\t  counter (an event count), uptime (ticks); writing one clears trace
  trace_options\t\t- the options of the text and the tracers: NAME when on, noNAME when off;
\t\t\t  echo NAME or noNAME sets or clears one
  options/\t\t- one file per option, 0 or 1: print-parent, overwrite, irq-info,
\t\t\t  func_stack_trace (function tracer: a stack trace after each entry)
  set_ftrace_filter\t- only trace these functions (globs, !GLOB removes, N = line N of
\t\t\t  available_filter_functions); empty means all
  set_ftrace_notrace\t- never trace these functions; wins over set_ftrace_filter
  set_graph_function\t- function_graph traces only these functions and their callees
  set_graph_notrace\t- function_graph skips these functions and their callees
  options/funcgraph-*\t- function_graph columns and details, 0 or 1 each: abstime, cpu,
\t\t\t  duration, overhead, proc, retval, tail
  enabled_functions\t- the functions some ftrace_ops wants: name (ops count), R (regs),
\t\t\t  I (ip modify), O (calls its only ops directly: ops: CALLBACK), M (modified)
  Function probes, written to set_ftrace_filter (they act whatever the tracer):
\t\t\t  FUNC:traceoff[:N] - turn tracing off when FUNC is hit (N times)
\t\t\t  FUNC:traceon[:N]  - turn tracing on when FUNC is hit
\t\t\t  FUNC:stacktrace[:N] - record a <stack trace> when FUNC is hit
\t\t\t  !FUNC:CMD[:N]     - remove the probe; read back as
\t\t\t  FUNC:CMD:unlimited or FUNC:CMD:count=LEFT

Other files:
  /proc/kallsyms\t\t- the kernel symbol table: address, type (t/T), name
  /proc/cmdline\t\t- the kernel command line (QEMU's -append)
  /proc/sys/kernel/ftrace_enabled
\t\t\t- 1: ftrace sites may be enabled; echo 0 turns every site off (EBUSY while a
\t\t\t  PERMANENT ops, such as the live patch, is registered)
  /sys/kernel/livepatch/livepatch_sample/enabled
\t\t\t- 1 while the sample live patch replaces cmdline_proc_show

Shell:
  cat FILE, echo TEXT > FILE, echo TEXT >> FILE, ls, cd, pwd, help
  run leaf N | run fib N | run nested\t- traced workloads in kernel::workload
  livepatch [enable|disable]\t- apply or remove the sample live patch
  poweroff [STATUS]\t\t- leave QEMU with STATUS
";

fn readme(out: &mut dyn Write) -> fmt::Result {
    out.write_str(README)
}

/// One traceable function per line, in address order (Linux prints the symbol of each record).
fn available_filter_functions(out: &mut dyn Write) -> fmt::Result {
    let table = symbols::functions();
    for rec in ftrace::records() {
        match table.lookup(rec.func()) {
            Some(sym) => writeln!(out, "{}", sym.name)?,
            None => writeln!(out, "{:#x}", rec.func())?,
        }
    }
    Ok(())
}

/// `/proc/kallsyms`: `address type name`, as Linux prints it.
fn kallsyms(out: &mut dyn Write) -> fmt::Result {
    for sym in symbols::kallsyms().iter() {
        writeln!(out, "{:016x} {} {}", sym.addr, sym.kind as char, sym.name)?;
    }
    Ok(())
}

/// Creates one of the tracing files at boot (Linux: `trace_create_file`). The paths are fixed
/// and created once, so a failure is a bug in the kernel, not a runtime error.
pub fn create_file(path: &str, file: impl fs::FileOps + 'static) {
    fs::register_file(path, file)
        .unwrap_or_else(|e: Errno| panic!("tracefs: cannot register {path}: {e}"));
}

fn register(path: &str, read: fn(&mut dyn Write) -> fmt::Result) {
    create_file(path, fs::read_only(move |out| Ok(read(out)?)));
}

pub fn init() {
    register("/sys/kernel/tracing/README", readme);
    register(
        "/sys/kernel/tracing/available_filter_functions",
        available_filter_functions,
    );
    register("/proc/kallsyms", kallsyms);
    crate::trace::tracer::init(TRACEFS);
}
