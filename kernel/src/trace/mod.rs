//! Tracing: the ftrace patch-site table, and the pieces the tracers build on (filter files,
//! the trace text formats); the ring buffer, tracers, kprobes and the rest come next.

pub mod filter;
#[cfg(target_os = "none")]
pub mod ftrace;
pub mod output;
