//! The benchmark harness: benchmarks registered with [`kbench!`](crate::kbench) land in the
//! `.kbench` linker section; the shell's `bench` command runs them and `cargo xtask bench` reads
//! its report. A benchmark counts retired instructions (PMU event INST_RETIRED, see
//! [`arch::pmu`]), never time: under `-icount shift=0,sleep=off` the counts are the same on
//! every run.
//!
//! Each benchmark names a run and a baseline, two functions that do the same `ops`-long loop
//! with and without the operation measured; the report subtracts the baseline. Registering one:
//!
//! ```ignore
//! kbench! {
//!     name: "brk_round_trip",
//!     ops: 1000,
//!     run: brk_loop,
//!     baseline: "loop_without_brk" => empty_loop,
//!     setup: register_hook,
//!     teardown: unregister_hook,
//! }
//! ```
//!
//! The report's shapes (table, `kbench:` lines) are [`format`], pure and shared with xtask.

pub mod format;

#[cfg(target_os = "none")]
mod brk;
#[cfg(target_os = "none")]
mod call_site;
#[cfg(target_os = "none")]
mod command;
#[cfg(target_os = "none")]
mod context_switch;
#[cfg(target_os = "none")]
mod forkexec;
#[cfg(target_os = "none")]
mod fprobe;
#[cfg(target_os = "none")]
mod ftrace_enable_all;
#[cfg(target_os = "none")]
mod ftrace_ops;
#[cfg(target_os = "none")]
mod function_graph;
#[cfg(target_os = "none")]
mod function_tracer;
#[cfg(target_os = "none")]
mod getppid;
#[cfg(target_os = "none")]
mod harness;
#[cfg(target_os = "none")]
mod kprobe_events;
#[cfg(target_os = "none")]
mod kprobes;
#[cfg(target_os = "none")]
mod ptrace;
#[cfg(target_os = "none")]
mod recorded;
#[cfg(target_os = "none")]
mod rendezvous;
#[cfg(target_os = "none")]
mod static_branch;
#[cfg(target_os = "none")]
mod timer_irq;
#[cfg(target_os = "none")]
mod trace_event;
#[cfg(target_os = "none")]
mod tracepoint;

#[cfg(target_os = "none")]
pub use command::init;
#[cfg(target_os = "none")]
pub use harness::{KBench, SetupError, no_setup, no_teardown};
