//! Waiting for another CPU (Linux: `asm/processor.h`, `cpu_relax`).
//!
//! A spin-wait on another CPU pauses with YIELD, as Linux's arm64 `cpu_relax` does, and not
//! with the ISB `core::hint::spin_loop` emits. On hardware YIELD hints that the thread is
//! waiting (an SMT sibling may run). Under QEMU's single-threaded TCG (`-icount`, or
//! `-accel tcg,thread=single`) it ends the vCPU's turn, so the CPU being waited for runs now
//! instead of after the spinner's whole time slice; a CPU spinning on ISBs keeps the thread.

crate::noinstr! {
/// One pause of a spin-wait loop.
#[inline(always)]
pub fn cpu_relax() {
    // SAFETY: YIELD is a hint with no architectural effect.
    unsafe { core::arch::asm!("yield", options(nomem, nostack, preserves_flags)) };
}
}
