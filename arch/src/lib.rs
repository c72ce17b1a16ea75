//! AArch64 mechanisms, and nothing generic: boot and MMU, exception entry and ESR decoding, the
//! debug monitors (BRK and single-step hook tables), A64 instruction encoding, text patching
//! through a fixmap alias, per-CPU preemption state and the context switch, and interrupts and
//! time (GIC, IRQ dispatch, spinlocks, the generic timer and the trace clock). The `kernel` crate
//! builds everything else on top of these.
//!
//! Pure logic (instruction encoding, ESR decoding, interrupt specifiers, cycle-to-ns conversion)
//! builds and unit-tests on the host; everything that touches system registers or contains
//! assembly is gated on `target_os = "none"`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(target_os = "none", feature(patchable_function_entry))]

/// Places a function in the no-instrumentation text range and removes its patchable entry NOPs:
/// code on the exception, patching and tracing paths must never be traced or probed (Linux's
/// `noinstr` / `NOKPROBE_SYMBOL`).
#[macro_export]
macro_rules! noinstr {
    ($($item:tt)*) => {
        #[unsafe(link_section = ".noinstr.text")]
        #[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
        $($item)*
    };
}

pub mod clocksource;
pub mod esr;
pub mod ftrace;
pub mod insn;
pub mod irq;

#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod cache;
#[cfg(target_os = "none")]
pub mod context;
#[cfg(target_os = "none")]
pub mod daifflags;
#[cfg(target_os = "none")]
pub mod debug_monitors;
#[cfg(target_os = "none")]
pub mod exception;
#[cfg(target_os = "none")]
pub mod extable;
#[cfg(target_os = "none")]
pub mod gic;
#[cfg(target_os = "none")]
pub mod irqflags;
#[cfg(target_os = "none")]
pub mod mmu;
#[cfg(target_os = "none")]
pub mod patching;
#[cfg(target_os = "none")]
pub mod percpu;
#[cfg(target_os = "none")]
pub mod pmu;
#[cfg(target_os = "none")]
pub mod processor;
#[cfg(target_os = "none")]
pub mod psci;
#[cfg(target_os = "none")]
pub mod semihosting;
#[cfg(target_os = "none")]
pub mod spinlock;
#[cfg(target_os = "none")]
pub mod timer;
