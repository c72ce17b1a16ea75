//! Masking interrupts on this CPU through PSTATE.DAIF (Linux: `asm/irqflags.h`).
//!
//! As on Linux arm64, "interrupts off" masks both IRQ and FIQ (`daifset, #3`) and leaves debug
//! exceptions (D) and SError (A) alone, so BRK, single-step and watchpoints keep working inside
//! an interrupts-off section. Every function is a compiler barrier: memory accesses are never
//! moved into or out of the section they bracket.

use crate::exception::PSR_I_BIT;

/// The DAIF value saved by [`local_irq_save`], to be given back to [`local_irq_restore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the saved flags must be restored"]
pub struct IrqFlags(u64);

impl IrqFlags {
    /// Whether IRQs were masked when the flags were saved.
    pub fn irqs_disabled(self) -> bool {
        self.0 & PSR_I_BIT != 0
    }
}

crate::noinstr! {
/// Masks IRQ and FIQ and returns the previous state (Linux: `local_irq_save`).
#[inline(always)]
pub fn local_irq_save() -> IrqFlags {
    let daif: u64;
    // SAFETY: reading and masking DAIF has no memory-safety effect; no `nomem`, so this is a
    // compiler barrier for the critical section that follows.
    unsafe {
        core::arch::asm!(
            "mrs {daif}, daif",
            "msr daifset, #3",
            daif = out(reg) daif,
            options(nostack, preserves_flags),
        )
    };
    IrqFlags(daif)
}
}

crate::noinstr! {
/// Puts back the interrupt mask [`local_irq_save`] returned (Linux: `local_irq_restore`).
#[inline(always)]
pub fn local_irq_restore(flags: IrqFlags) {
    // SAFETY: writes back a DAIF value read earlier on this CPU; a compiler barrier as above.
    unsafe {
        core::arch::asm!(
            "msr daif, {daif}",
            daif = in(reg) flags.0,
            options(nostack, preserves_flags),
        )
    };
}
}

/// IRQ and FIQ masked for the guard's lifetime; the previous mask comes back on drop. The
/// scoped form of [`local_irq_save`]/[`local_irq_restore`], for sections with early returns.
#[must_use = "interrupts are unmasked again when the guard drops"]
pub struct IrqSaveGuard(IrqFlags);

crate::noinstr! {
/// Masks IRQ and FIQ until the returned guard drops.
#[inline(always)]
pub fn local_irq_save_guard() -> IrqSaveGuard {
    IrqSaveGuard(local_irq_save())
}
}

impl Drop for IrqSaveGuard {
    #[inline(always)]
    fn drop(&mut self) {
        local_irq_restore(self.0);
    }
}

crate::noinstr! {
/// Unmasks IRQ and FIQ (Linux: `local_irq_enable`). The GIC and its handlers must be set up.
#[inline(always)]
pub fn local_irq_enable() {
    // SAFETY: unmasking interrupts; the vectors route them to `irq::handle_irq`.
    unsafe { core::arch::asm!("msr daifclr, #3", options(nostack, preserves_flags)) };
}
}

crate::noinstr! {
/// Masks IRQ and FIQ (Linux: `local_irq_disable`).
#[inline(always)]
pub fn local_irq_disable() {
    // SAFETY: masking interrupts has no memory-safety effect.
    unsafe { core::arch::asm!("msr daifset, #3", options(nostack, preserves_flags)) };
}
}

crate::noinstr! {
/// Whether IRQs are masked on this CPU (Linux: `irqs_disabled`).
#[inline(always)]
pub fn irqs_disabled() -> bool {
    let daif: u64;
    // SAFETY: reading DAIF has no side effects.
    unsafe {
        core::arch::asm!(
            "mrs {daif}, daif",
            daif = out(reg) daif,
            options(nostack, preserves_flags),
        )
    };
    IrqFlags(daif).irqs_disabled()
}
}

crate::noinstr! {
/// Waits for an interrupt (Linux: `cpu_do_idle`). Call it with IRQs masked after checking that
/// there is nothing to do: a pending interrupt still wakes the CPU, and unmasking afterwards
/// runs its handler, so a wake-up between the check and the WFI is never lost.
#[inline(always)]
pub fn cpu_do_idle() {
    // SAFETY: DSB completes outstanding memory accesses before sleeping; WFI only waits.
    unsafe { core::arch::asm!("dsb sy", "wfi", options(nostack, preserves_flags)) };
}
}
