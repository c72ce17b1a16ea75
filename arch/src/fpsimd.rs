//! The EL0 floating-point and Advanced SIMD state (Linux: `arch/arm64/kernel/fpsimd.c`,
//! `struct user_fpsimd_state`, `fpsimd_save_state`/`fpsimd_load_state` in `entry-fpsimd.S`).
//!
//! The kernel is built for the softfloat target (`-fp-armv8,-neon`), so the compiler never
//! emits an instruction that touches V0-V31, FPCR or FPSR; the only kernel code that does is
//! [`thread_switch`], [`restore_current`] and [`preserve_current`] here. The architecture has
//! no `CPACR_EL1.FPEN` setting that allows EL0 and traps EL1 (0b01 traps EL0 only), so
//! [`cpu_init`] sets 0b11 as Linux does; trapping EL1 instead would cost a CPACR write on
//! every kernel entry and exit, the syscall fast path included.
//!
//! Because the kernel leaves the registers alone, a user task's FP/SIMD state stays live in the
//! CPU while it is in the kernel; the scheduler saves it when it switches that task out and the
//! return-to-user path reloads it only if another task's state has been loaded since (Linux's
//! `fpsimd_last_state` and `TIF_FOREIGN_FPSTATE`). That policy lives in the `kernel` crate.

/// `struct user_fpsimd_state` (Linux's `uapi/asm/ptrace.h`): V0-V31, then FPSR and FPCR.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserFpsimdState {
    pub vregs: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
    pub __reserved: [u32; 2],
}

const _: () = assert!(core::mem::size_of::<UserFpsimdState>() == 528);
const _: () = assert!(core::mem::offset_of!(UserFpsimdState, fpsr) == 512);
const _: () = assert!(core::mem::offset_of!(UserFpsimdState, fpcr) == 516);

/// `CPACR_EL1.FPEN`, bits [21:20] (Linux's names): 0b11 traps neither EL0 nor EL1.
pub const CPACR_EL1_FPEN_EL1EN: u64 = 1 << 20;
pub const CPACR_EL1_FPEN_EL0EN: u64 = 1 << 21;
pub const CPACR_EL1_FPEN: u64 = CPACR_EL1_FPEN_EL1EN | CPACR_EL1_FPEN_EL0EN;
/// `CNTKCTL_EL1.EL0VCTEN`: EL0 may read CNTVCT_EL0 and CNTFRQ_EL0 (Linux sets this for the vDSO).
pub const CNTKCTL_EL1_EL0VCTEN: u64 = 1 << 1;

// Linux's `HWCAP_*` (uapi/asm/hwcap.h): what AT_HWCAP advertises.
pub const HWCAP_FP: u64 = 1 << 0;
pub const HWCAP_ASIMD: u64 = 1 << 1;

#[cfg(target_os = "none")]
pub use target::*;

#[cfg(target_os = "none")]
mod target {
    use core::sync::atomic::{AtomicPtr, Ordering};

    use super::*;

    core::arch::global_asm!(
        ".section .noinstr.text, \"ax\"",
        ".arch_extension fp",
        ".arch_extension simd",
        ".balign 8",
        // x0 = *mut UserFpsimdState.
        ".global __fpsimd_save_state",
        ".type __fpsimd_save_state, %function",
        "__fpsimd_save_state:",
        "    stp q0, q1, [x0, #32 * 0]",
        "    stp q2, q3, [x0, #32 * 1]",
        "    stp q4, q5, [x0, #32 * 2]",
        "    stp q6, q7, [x0, #32 * 3]",
        "    stp q8, q9, [x0, #32 * 4]",
        "    stp q10, q11, [x0, #32 * 5]",
        "    stp q12, q13, [x0, #32 * 6]",
        "    stp q14, q15, [x0, #32 * 7]",
        "    stp q16, q17, [x0, #32 * 8]",
        "    stp q18, q19, [x0, #32 * 9]",
        "    stp q20, q21, [x0, #32 * 10]",
        "    stp q22, q23, [x0, #32 * 11]",
        "    stp q24, q25, [x0, #32 * 12]",
        "    stp q26, q27, [x0, #32 * 13]",
        "    stp q28, q29, [x0, #32 * 14]",
        "    stp q30, q31, [x0, #32 * 15]",
        "    mrs x2, fpsr",
        "    str w2, [x0, #512]",
        "    mrs x2, fpcr",
        "    str w2, [x0, #516]",
        "    ret",
        ".size __fpsimd_save_state, . - __fpsimd_save_state",
        // x0 = *const UserFpsimdState.
        ".global __fpsimd_load_state",
        ".type __fpsimd_load_state, %function",
        "__fpsimd_load_state:",
        "    ldp q0, q1, [x0, #32 * 0]",
        "    ldp q2, q3, [x0, #32 * 1]",
        "    ldp q4, q5, [x0, #32 * 2]",
        "    ldp q6, q7, [x0, #32 * 3]",
        "    ldp q8, q9, [x0, #32 * 4]",
        "    ldp q10, q11, [x0, #32 * 5]",
        "    ldp q12, q13, [x0, #32 * 6]",
        "    ldp q14, q15, [x0, #32 * 7]",
        "    ldp q16, q17, [x0, #32 * 8]",
        "    ldp q18, q19, [x0, #32 * 9]",
        "    ldp q20, q21, [x0, #32 * 10]",
        "    ldp q22, q23, [x0, #32 * 11]",
        "    ldp q24, q25, [x0, #32 * 12]",
        "    ldp q26, q27, [x0, #32 * 13]",
        "    ldp q28, q29, [x0, #32 * 14]",
        "    ldp q30, q31, [x0, #32 * 15]",
        "    ldr w2, [x0, #512]",
        "    msr fpsr, x2",
        "    ldr w2, [x0, #516]",
        "    msr fpcr, x2",
        "    ret",
        ".size __fpsimd_load_state, . - __fpsimd_load_state",
        ".arch_extension nofp",
        ".arch_extension nosimd",
    );

    unsafe extern "C" {
        fn __fpsimd_save_state(state: *mut UserFpsimdState);
        fn __fpsimd_load_state(state: *const UserFpsimdState);
    }

    /// Loads `state` into this CPU's FP/SIMD registers.
    fn load(state: &UserFpsimdState) {
        // SAFETY: reads exactly `state`; the registers belong to EL0, never to kernel code.
        unsafe { __fpsimd_load_state(state) };
    }

    #[inline(always)]
    fn last_state() -> &'static AtomicPtr<UserFpsimdState> {
        &crate::percpu::this_arch_cpu().fpsimd_last_state
    }

    crate::noinstr! {
    /// The scheduler is switching `prev` out (IRQs masked): if the registers hold its state,
    /// store them there (Linux: `fpsimd_thread_switch`). They stay marked as its, so it finds
    /// them loaded if no other task loads its own before it runs again. Costs one compare for
    /// a task that never ran at EL0.
    ///
    /// # Safety
    /// IRQs masked; `prev` is the state of the task being switched out on this CPU.
    #[inline(always)]
    pub unsafe fn thread_switch(prev: *mut UserFpsimdState) {
        if last_state().load(Ordering::Relaxed) == prev {
            // SAFETY: the caller's: the switched-out task's state, which only its own CPU
            // touches and which it cannot touch while it is being switched out.
            unsafe { __fpsimd_save_state(prev) };
        }
    }
    }

    /// Whether the registers hold some other state than `state` (the running task's), so the
    /// way back to EL0 must go through [`restore_current`] (Linux: `TIF_FOREIGN_FPSTATE`).
    #[inline(always)]
    pub fn foreign(state: *mut UserFpsimdState) -> bool {
        last_state().load(Ordering::Relaxed) != state
    }

    /// On the way back to EL0 (IRQs masked), makes the registers hold `state`, the running
    /// task's, loading it only if another task's state was loaded since (Linux:
    /// `fpsimd_restore_current_state` under `TIF_FOREIGN_FPSTATE`).
    ///
    /// # Safety
    /// IRQs masked; `state` is the running task's state, valid until [`release`].
    pub unsafe fn restore_current(state: *mut UserFpsimdState) {
        let last = last_state();
        if last.load(Ordering::Relaxed) != state {
            // SAFETY: the caller's; nothing writes the running task's state concurrently.
            load(unsafe { &*state });
            last.store(state, Ordering::Relaxed);
        }
    }

    /// Makes `state` (the running task's) up to date with the registers, so the kernel can read
    /// it (a signal frame, fork; Linux: `fpsimd_preserve_current_state`).
    ///
    /// # Safety
    /// `state` is the running task's state.
    pub unsafe fn preserve_current(state: *mut UserFpsimdState) {
        let flags = crate::irqflags::local_irq_save();
        if last_state().load(Ordering::Relaxed) == state {
            // SAFETY: the caller's; IRQs are masked, so no switch intervenes.
            unsafe { __fpsimd_save_state(state) };
        }
        crate::irqflags::local_irq_restore(flags);
    }

    /// Forgets that the registers hold `state` (the running task's): before the kernel writes
    /// it (execve, sigreturn), so the next return to EL0 loads the new values, and before it
    /// is freed, so no later task at the same address is taken for its owner (Linux:
    /// `fpsimd_flush_task_state`).
    pub fn release(state: *mut UserFpsimdState) {
        let flags = crate::irqflags::local_irq_save();
        let _ = last_state().compare_exchange(
            state,
            core::ptr::null_mut(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        crate::irqflags::local_irq_restore(flags);
    }

    /// Per-CPU setup, at boot of every CPU: FP/SIMD on, the virtual counter readable
    /// from EL0, and this CPU's registers zeroed (no earlier owner's values leak to the first
    /// program loaded here).
    pub fn cpu_init() {
        // SAFETY: CPACR_EL1 and CNTKCTL_EL1 control only access to FP/SIMD (which kernel code
        // never uses: softfloat) and EL0 access to the
        // counter; the kernel uses neither FP nor the EL0 timer views.
        unsafe {
            core::arch::asm!(
                "msr cpacr_el1, {cpacr}",
                "mrs {tmp}, cntkctl_el1",
                "orr {tmp}, {tmp}, {vcten}",
                "msr cntkctl_el1, {tmp}",
                "isb",
                cpacr = in(reg) CPACR_EL1_FPEN,
                vcten = in(reg) CNTKCTL_EL1_EL0VCTEN,
                tmp = out(reg) _,
                options(nostack, preserves_flags),
            );
        }
        load(&UserFpsimdState::default());
    }
}
