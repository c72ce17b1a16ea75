//! The generic kernel, built on the `arch` crate: boot order, console, heap, symbols, tracefs,
//! the serial shell and the traced workloads.
//!
//! Pure logic (symbol table format, glob matching, the VFS, the shell's line editor and parser)
//! builds and unit-tests on the host; the rest is gated on `target_os = "none"`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(target_os = "none", feature(patchable_function_entry))]
// Fallible `Box`/`Arc` construction (`try_new`), host-tested code included.
#![feature(allocator_api)]

extern crate alloc;

/// For the `trace_event!` macro's generated names.
#[doc(hidden)]
pub use pastey as __pastey;

pub mod bench;
pub mod binfmt_elf;
pub mod fs;
pub mod glob;
pub mod initramfs;
pub mod irq;
pub mod jump_label;
pub mod kfifo;
pub mod mm;
pub mod ptrace;
pub mod rlimit;
pub mod sched;
pub mod shell;
pub mod signal;
pub mod symbols;
pub mod trace;

#[cfg(target_os = "none")]
pub mod board;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod cmdline;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod debugfs;
#[cfg(target_os = "none")]
pub mod drivers;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod kprobes;
#[cfg(target_os = "none")]
pub mod ktest;
#[cfg(all(target_os = "none", feature = "ktest"))]
mod ktests;
#[cfg(target_os = "none")]
pub mod livepatch;
#[cfg(target_os = "none")]
pub mod objpool;
#[cfg(all(target_os = "none", feature = "plant-noinstr-violation"))]
pub mod planted;
#[cfg(target_os = "none")]
pub mod process;
#[cfg(target_os = "none")]
pub mod report;
#[cfg(target_os = "none")]
pub mod smp;
#[cfg(target_os = "none")]
pub mod stacktrace;
#[cfg(target_os = "none")]
pub mod stop_machine;
#[cfg(target_os = "none")]
pub mod syscall;
#[cfg(target_os = "none")]
pub mod tracefs;
#[cfg(target_os = "none")]
pub mod tracepoint;
#[cfg(target_os = "none")]
pub mod uaccess;
#[cfg(target_os = "none")]
pub mod workload;
