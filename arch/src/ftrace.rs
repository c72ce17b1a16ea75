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
//!
//! The function-graph tracer's return hook lives here too: `return_to_handler` (also in
//! `asm/entry_ftrace.s`) is the address a hooked function returns to. It saves the result
//! registers as an [`FgraphRetRegs`] and calls the kernel's
//! `extern "C" fn ftrace_return_to_handler(regs: &mut FgraphRetRegs) -> u64`, which pops the
//! task's shadow stack and returns the real return address (`kernel::trace::fgraph`).

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

/// What `return_to_handler` saves of a hooked function at its return (Linux:
/// `struct fgraph_ret_regs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FgraphRetRegs {
    /// x0-x7: the function's result (x0, or more registers for a large one).
    pub regs: [u64; 8],
    /// x29 at the return: the caller's frame pointer again.
    pub fp: u64,
    /// The stack pointer at the return: the function's entry stack pointer again.
    pub sp: u64,
    /// The interrupt mask the trampoline restores.
    daif: u64,
    _pad: u64,
}

impl FgraphRetRegs {
    /// Linux's `fgraph_ret_regs_return_value`: x0.
    pub fn return_value(&self) -> u64 {
        self.regs[0]
    }

    /// Whether IRQs were masked when the function returned.
    #[inline(always)]
    pub fn irqs_disabled(&self) -> bool {
        self.daif & DAIF_I != 0
    }
}

/// Size of the saved result frame; a multiple of 16 so the stack stays aligned.
pub const FGRET_SIZE: usize = size_of::<FgraphRetRegs>();
const _: () = assert!(FGRET_SIZE.is_multiple_of(16));
// return_to_handler stores fp and sp as a pair.
const _: () = assert!(
    core::mem::offset_of!(FgraphRetRegs, sp) == core::mem::offset_of!(FgraphRetRegs, fp) + 8
);

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
    ".set FGRET_SIZE, {gsize}",
    ".set FGRET_X0, {gx0}",
    ".set FGRET_FP, {gfp}",
    ".set FGRET_DAIF, {gdaif}",
    include_str!("asm/entry_ftrace.s"),
    size = const FREGS_SIZE,
    x0 = const offset_of!(FtraceRegs, regs),
    fp = const offset_of!(FtraceRegs, fp),
    lr = const offset_of!(FtraceRegs, lr),
    sp = const offset_of!(FtraceRegs, sp),
    pc = const offset_of!(FtraceRegs, pc),
    daif = const offset_of!(FtraceRegs, daif),
    gsize = const FGRET_SIZE,
    gx0 = const offset_of!(FgraphRetRegs, regs),
    gfp = const offset_of!(FgraphRetRegs, fp),
    gdaif = const offset_of!(FgraphRetRegs, daif),
);

#[cfg(target_os = "none")]
unsafe extern "C" {
    /// The trampoline; never called from Rust, only branched to by patched sites.
    fn ftrace_caller();
}

#[cfg(target_os = "none")]
unsafe extern "C" {
    /// The function-graph return trampoline; never called, only returned to.
    fn return_to_handler();
}

/// The address the function-graph tracer makes a hooked function return to.
#[cfg(target_os = "none")]
pub fn return_to_handler_addr() -> u64 {
    return_to_handler as unsafe extern "C" fn() as usize as u64
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
    fn fgraph_ret_regs_layout() {
        assert_eq!(offset_of!(FgraphRetRegs, regs), 0);
        assert_eq!(offset_of!(FgraphRetRegs, fp), 64);
        assert_eq!(offset_of!(FgraphRetRegs, sp), 72);
        assert_eq!(FGRET_SIZE, 96);
        let mut regs = FgraphRetRegs::default();
        regs.regs[0] = 42;
        assert_eq!(regs.return_value(), 42);
        assert!(!regs.irqs_disabled());
        regs.daif = DAIF_I;
        assert!(regs.irqs_disabled());
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
