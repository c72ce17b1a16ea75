//! The in-kernel tests: what needs the real hardware (MMU permissions, the fixmap, BRK and step
//! routing, the patch-site table, the embedded symbol table, interrupts and the timer).
//! Collected by `ktest!` and run by the test image.

mod debug;
mod error_log;
mod fgraph;
mod fprobe;
mod ftrace_ops;
mod ftrace_startup;
mod func_stack;
mod irq;
mod jump_label;
mod kprobes;
mod patching;
mod probe_events;
mod ptrace;
mod ptrace_debug;
mod readme;
mod sched;
mod smp;
mod stop_machine_locks;
mod stop_machine_stress;
mod symbols;
mod syscalls;
mod tracepoint;
mod uspace;
mod vmap_stack;
