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
// Fallible `Box` construction (`try_new`) for state a user can make the kernel allocate.
#![cfg_attr(target_os = "none", feature(allocator_api))]

#[cfg(target_os = "none")]
extern crate alloc;

/// Places a function in the no-instrumentation text range and removes its patchable entry NOPs:
/// code on the exception, patching and tracing paths must never be traced or probed (Linux's
/// `noinstr` / `NOKPROBE_SYMBOL`).
///
/// This covers the named function only. `cargo xtask build` checks the rest (xtask's `objtool`):
/// nothing in `.noinstr.text` may call or branch into a function that has a patch site, so a
/// closure or generic callee it calls out of line must be `noinstr` too (or inlined), and a
/// deliberate call into traced code goes inside [`instrumentation!`]. An indirect call from here
/// may only reach a `noinstr` function or one that runs under the tracing recursion guard.
/// On the host (unit tests) the attributes are left out.
#[macro_export]
macro_rules! noinstr {
    ($($item:tt)*) => {
        #[cfg_attr(target_os = "none", unsafe(link_section = ".noinstr.text"))]
        #[cfg_attr(
            target_os = "none",
            patchable_function_entry(prefix_nops = 0, entry_nops = 0)
        )]
        $($item)*
    };
}

/// Places a function in the no-probe text (Linux's `NOKPROBE_SYMBOL` / `__kprobes`): it keeps
/// its patch site (ftrace may trace it) but the kprobe core refuses a probe anywhere in it. For
/// code that runs under a kprobe handler (probe events' dispatchers, fetch and record path):
/// a probe hit there would only be counted as missed, so it is refused up front, as Linux does.
/// A generic function's instances all go there; closures it calls out of line do not.
#[macro_export]
macro_rules! nokprobe {
    ($($item:tt)*) => {
        #[cfg_attr(target_os = "none", unsafe(link_section = ".kprobes.text"))]
        $($item)*
    };
}

/// Runs its body as an instrumentation region of `noinstr` code (Linux's
/// `instrumentation_begin()` / `instrumentation_end()`): the one place where `noinstr` code may
/// call functions that have a patch site.
///
/// The body becomes an always-inlined closure run by [`instrumentation_region`], which is never
/// inlined and lives in its own part of the no-instrumentation text
/// (`__instrumentation_text_start..__instrumentation_text_end`), so the build-time check exempts
/// exactly the region's code however the compiler orders blocks. The region evaluates to the
/// body's value; `return` and `?` leave the region, not the enclosing function.
///
/// Use it only where a traced callee is safe to reach: the tracer's recursion guard is held (a
/// callback reaching the region re-enters the tracer and is dropped), or the code runs where
/// tracing is expected (the traced IRQ-entry function). Say which in a comment at the call.
#[macro_export]
macro_rules! instrumentation {
    ($($body:tt)*) => {
        $crate::instrumentation_region(#[inline(always)] || { $($body)* })
    };
}

/// The out-of-line half of [`instrumentation!`]; call the macro instead.
#[doc(hidden)]
#[inline(never)]
#[cfg_attr(
    target_os = "none",
    unsafe(link_section = ".noinstr.text.instrumentation")
)]
#[cfg_attr(
    target_os = "none",
    patchable_function_entry(prefix_nops = 0, entry_nops = 0)
)]
pub fn instrumentation_region<R>(body: impl FnOnce() -> R) -> R {
    body()
}

pub mod clocksource;
pub mod esr;
pub mod fpsimd;
pub mod ftrace;
pub mod hw_breakpoint;
pub mod insn;
pub mod irq;
pub mod jump_label;
pub mod probes;
pub mod ptrace;
pub mod stack;

#[cfg(target_os = "none")]
pub mod asid;
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
pub mod pgtable;
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
#[cfg(target_os = "none")]
pub mod uspace;
#[cfg(target_os = "none")]
pub mod vmap;
