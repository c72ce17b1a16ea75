//! The whole PSTATE.DAIF mask and the states it takes in each kind of context (Linux:
//! `asm/daifflags.h`).
//!
//! [`crate::irqflags`] only ever touches I and F. This module sets all four bits at the points
//! where the context changes, as Linux arm64 does:
//! - process context ([`DAIF_PROCCTX`]): everything unmasked. Every task starts this way
//!   (`schedule_tail`), whatever DAIF the switch into it left, and every CPU reaches it after
//!   boot: debug exceptions (D) and SError (A) are taken in process context;
//! - interrupt handling ([`DAIF_PROCCTX_NOIRQ`]): IRQ and FIQ masked, D and A not, so
//!   breakpoints and watchpoints keep working inside IRQ handlers and a task switched in from
//!   an IRQ exit does not inherit a debug mask;
//! - the exception return ([`DAIF_MASK`]): everything masked from the moment ELR_EL1 and
//!   SPSR_EL1 are written until the ERET (in `asm/vectors.s`), so no exception can overwrite
//!   them in between.

/// PSTATE.{D,A,I,F}, bits 9..6.
pub const PSR_D_BIT: u64 = 1 << 9;
pub const PSR_A_BIT: u64 = 1 << 8;
pub const PSR_I_BIT: u64 = 1 << 7;
pub const PSR_F_BIT: u64 = 1 << 6;
pub const DAIF_MASK: u64 = PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;
/// Process context: nothing masked.
pub const DAIF_PROCCTX: u64 = 0;
/// Process context with interrupts off, and IRQ handling: only I and F masked.
pub const DAIF_PROCCTX_NOIRQ: u64 = PSR_I_BIT | PSR_F_BIT;

crate::noinstr! {
/// This CPU's PSTATE.DAIF, in SPSR bit positions.
#[inline(always)]
pub fn local_daif_save() -> u64 {
    let daif: u64;
    // SAFETY: reading DAIF has no side effects; no `nomem`, so it is a compiler barrier.
    unsafe { core::arch::asm!("mrs {daif}, daif", daif = out(reg) daif, options(nostack)) };
    daif
}
}

crate::noinstr! {
/// Unmasks D and A only. From an exception's entry state (everything masked) this reaches
/// [`DAIF_PROCCTX_NOIRQ`] in one instruction, on the interrupt path where every one counts.
#[inline(always)]
pub fn local_daif_unmask_debug_serror() {
    // SAFETY: changes only the exception masks; a compiler barrier like every DAIF access.
    unsafe { core::arch::asm!("msr daifclr, #0xc", options(nostack)) };
}
}

crate::noinstr! {
/// Sets PSTATE.DAIF to `flags` (only its DAIF bits are used) (Linux: `local_daif_restore`).
#[inline(always)]
pub fn local_daif_restore(flags: u64) {
    // SAFETY: changes only the exception masks; a compiler barrier like every DAIF access.
    unsafe {
        core::arch::asm!("msr daif, {daif}", daif = in(reg) flags & DAIF_MASK, options(nostack))
    };
}
}
