//! The arm64 half of dynamic ftrace (Linux: `arch/arm64/kernel/entry-ftrace.S`,
//! `arch/arm64/include/asm/ftrace.h`): the [`FtraceRegs`] frame and the `ftrace_caller`
//! trampoline every enabled site branches to (`asm/entry_ftrace.s`).
//!
//! An enabled site is `mov x9, x30; bl ftrace_caller`. The trampoline saves the traced function's
//! argument registers, fp, lr (its caller, from x9), sp and pc (where its body resumes) as an
//! [`FtraceRegs`], reads the site's ops literal from the 8 bytes before the function (Linux's
//! DYNAMIC_FTRACE_WITH_CALL_OPS) and calls the kernel's
//! `extern "C" fn ftrace_dispatch(ip: u64, parent_ip: u64, ops: *const FtraceOps, regs: &mut
//! FtraceRegs)` with IRQs and FIQs masked. It then restores the registers from the frame and
//! resumes at `regs.pc`, so a callback may change the arguments, the return address or, to
//! redirect the call, the pc.
//!
//! The kernel crate owns the ops, records and patching policy (`kernel::trace::ftrace_ops`).

use core::mem::size_of;

/// The registers a callback sees and may change (Linux: `struct __arch_ftrace_regs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FtraceRegs {
    /// x0-x8: the traced function's arguments (and the indirect-result register x8).
    pub regs: [u64; 9],
    /// x29 at the call site.
    pub fp: u64,
    /// The traced function's return address (x30 at its entry): the parent.
    pub lr: u64,
    /// The stack pointer at the traced function's entry.
    pub sp: u64,
    /// Where execution resumes: rec->ip + 4, in the traced function, unless a callback with
    /// IPMODIFY sets another function's address.
    pub pc: u64,
    /// The interrupt mask ftrace_caller restores; not the callback's business.
    daif: u64,
}

impl FtraceRegs {
    /// Linux's `ftrace_regs_get_instruction_pointer`.
    pub fn instruction_pointer(&self) -> u64 {
        self.pc
    }

    /// Linux's `ftrace_regs_set_instruction_pointer`: resume at `pc` instead, with the original
    /// arguments and return address (only for ops with IPMODIFY).
    pub fn set_instruction_pointer(&mut self, pc: u64) {
        self.pc = pc;
    }

    /// Argument `n` (0-7) of the traced function.
    pub fn argument(&self, n: usize) -> Option<u64> {
        self.regs[..8].get(n).copied()
    }

    /// Whether IRQs were masked in the traced function (the saved DAIF's I bit): the callback
    /// itself always runs masked, so tracers read the traced context's state from here.
    #[inline(always)]
    pub fn irqs_disabled(&self) -> bool {
        self.daif & DAIF_I != 0
    }
}

/// DAIF's IRQ mask bit (PSTATE.I), as `mrs x, daif` returns it.
const DAIF_I: u64 = 1 << 7;

/// Size of the saved frame; a multiple of 16 so the stack stays aligned.
pub const FREGS_SIZE: usize = size_of::<FtraceRegs>();
const _: () = assert!(FREGS_SIZE.is_multiple_of(16));
// entry_ftrace.s saves and restores these fields in pairs: x8 (regs[8]) and fp, lr and sp,
// pc and daif.
const _: () =
    assert!(core::mem::offset_of!(FtraceRegs, fp) == core::mem::offset_of!(FtraceRegs, regs) + 72);
const _: () =
    assert!(core::mem::offset_of!(FtraceRegs, sp) == core::mem::offset_of!(FtraceRegs, lr) + 8);
const _: () =
    assert!(core::mem::offset_of!(FtraceRegs, daif) == core::mem::offset_of!(FtraceRegs, pc) + 8);

#[cfg(target_os = "none")]
use core::mem::offset_of;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".set FREGS_SIZE, {size}",
    ".set FREGS_X0, {x0}",
    ".set FREGS_FP, {fp}",
    ".set FREGS_LR, {lr}",
    ".set FREGS_SP, {sp}",
    ".set FREGS_PC, {pc}",
    ".set FREGS_DAIF, {daif}",
    include_str!("asm/entry_ftrace.s"),
    size = const FREGS_SIZE,
    x0 = const offset_of!(FtraceRegs, regs),
    fp = const offset_of!(FtraceRegs, fp),
    lr = const offset_of!(FtraceRegs, lr),
    sp = const offset_of!(FtraceRegs, sp),
    pc = const offset_of!(FtraceRegs, pc),
    daif = const offset_of!(FtraceRegs, daif),
);

#[cfg(target_os = "none")]
unsafe extern "C" {
    /// The trampoline; never called from Rust, only branched to by patched sites.
    fn ftrace_caller();
}

/// The address enabled sites branch to.
#[cfg(target_os = "none")]
pub fn ftrace_caller_addr() -> u64 {
    ftrace_caller as unsafe extern "C" fn() as usize as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layout_matches_linux_arm64_order() {
        assert_eq!(offset_of!(FtraceRegs, regs), 0);
        assert_eq!(offset_of!(FtraceRegs, fp), 72);
        assert_eq!(offset_of!(FtraceRegs, lr), 80);
        assert_eq!(offset_of!(FtraceRegs, sp), 88);
        assert_eq!(offset_of!(FtraceRegs, pc), 96);
        assert_eq!(FREGS_SIZE, 112);
    }

    #[test]
    fn instruction_pointer_and_arguments() {
        let mut regs = FtraceRegs::default();
        regs.regs[7] = 7;
        regs.regs[8] = 8;
        regs.set_instruction_pointer(0x1000);
        assert_eq!(regs.instruction_pointer(), 0x1000);
        assert_eq!(regs.argument(7), Some(7));
        assert_eq!(regs.argument(8), None);
    }

    #[test]
    fn irqs_disabled_reads_the_saved_i_bit() {
        let mut regs = FtraceRegs::default();
        assert!(!regs.irqs_disabled());
        regs.daif = (0b1011 << 6) & !DAIF_I;
        assert!(!regs.irqs_disabled());
        regs.daif = DAIF_I;
        assert!(regs.irqs_disabled());
    }
}
