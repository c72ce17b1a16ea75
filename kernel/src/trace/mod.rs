//! Tracing, one module per Linux file with the same job: the ftrace patch-site table and the
//! `FtraceOps` API on top of it (with its host-tested planner), the `set_ftrace_filter` grammar
//! (`ftrace_regex`), the per-CPU ring buffer, the entry layouts (`trace_entries`), the event
//! registry and printing (`trace_output`), the event descriptions and their `format` text
//! (`trace_events`), the function-graph core (shadow stacks and the return hook), and the
//! `nop`, `function` and `function_graph` tracers with their control files (`trace`).

pub mod error_log;
#[cfg(target_os = "none")]
pub mod events;
#[cfg(target_os = "none")]
pub mod fgraph;
#[cfg(target_os = "none")]
pub mod fprobe;
#[cfg(target_os = "none")]
pub mod ftrace;
pub mod ftrace_files;
#[cfg(target_os = "none")]
pub mod ftrace_ops;
pub mod ftrace_plan;
pub mod ftrace_regex;
#[cfg(target_os = "none")]
pub mod func_probes;
#[cfg(target_os = "none")]
pub mod func_stack;
pub mod options;
#[cfg(target_os = "none")]
pub mod per_cpu;
pub mod pid_list;
pub mod readme;
pub mod ring_buffer;
// Linux's `kernel/trace/trace.c`: the name a reader looks for.
#[allow(clippy::module_inception)]
#[cfg(target_os = "none")]
pub mod trace;
pub mod trace_clock;
pub mod trace_dynevent;
pub mod trace_entries;
pub mod trace_events;
pub mod trace_events_filter;
#[cfg(target_os = "none")]
pub mod trace_events_pid;
pub mod trace_events_trigger;
pub mod trace_fprobe;
#[cfg(target_os = "none")]
pub mod trace_functions;
#[cfg(target_os = "none")]
pub mod trace_functions_graph;
pub mod trace_kprobe;
pub mod trace_output;
#[cfg(target_os = "none")]
pub mod trace_pipe;
pub mod trace_probe;
pub mod trace_sched_switch;
pub mod trace_syscalls;
