//! Tracing: the ftrace patch-site table, and the pieces the tracers build on (filter files,
//! the per-CPU ring buffer, the trace text formats); tracers, kprobes and the rest come next.

pub mod filter;
#[cfg(target_os = "none")]
pub mod ftrace;
pub mod output;
pub mod ring_buffer;
