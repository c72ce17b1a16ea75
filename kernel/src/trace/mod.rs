//! Tracing: today the ftrace patch-site table; tracers, the ring buffer, kprobes and the rest
//! build on it.

pub mod ftrace;
