//! Tracing: the ftrace patch-site table and the `FtraceOps` API on top of it (with its
//! host-tested planner), and the pieces the tracers build on (filter files, the per-CPU ring
//! buffer, the trace text formats), the function-graph core (shadow stacks and the return hook),
//! and the `nop`, `function` and `function_graph` tracers with their control files; kprobes
//! and the rest come next.

pub mod error_log;
#[cfg(target_os = "none")]
pub mod fgraph;
pub mod filter;
#[cfg(target_os = "none")]
pub mod ftrace;
pub mod ftrace_files;
#[cfg(target_os = "none")]
pub mod ftrace_ops;
pub mod ftrace_plan;
#[cfg(target_os = "none")]
pub mod func_probes;
#[cfg(target_os = "none")]
pub mod func_stack;
pub mod options;
pub mod output;
#[cfg(target_os = "none")]
pub mod per_cpu;
pub mod readme;
pub mod ring_buffer;
pub mod trace_clock;
pub mod trace_events_trigger;
#[cfg(target_os = "none")]
pub mod trace_graph;
#[cfg(target_os = "none")]
pub mod trace_pipe;
#[cfg(target_os = "none")]
pub mod tracer;
