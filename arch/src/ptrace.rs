//! The saved register state of an interrupted context, `TrapFrame` (Linux's `struct pt_regs`,
//! `asm/ptrace.h`), and the PSTATE bits that code outside the exception entry reads.
//!
//! It lives apart from [`crate::exception`] (which owns the vectors and only builds for the
//! kernel) so that pure logic working on a frame, such as the kprobe instruction simulators in
//! [`crate::probes::simulate`], builds and unit-tests on the host. The kernel reaches it as
//! `arch::exception::TrapFrame`, which re-exports this type.

/// Registers and exception state saved on every exception (Linux's `struct pt_regs`).
///
/// `Default` is the all-zero frame; host tests build frames from it.
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrapFrame {
    /// x0-x30.
    pub regs: [u64; 31],
    /// The interrupted stack pointer (restored only for returns to EL0).
    pub sp: u64,
    /// ELR_EL1: where execution resumes.
    pub pc: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub pstate: u64,
    pub esr: u64,
    pub far: u64,
    /// A frame record {x29, pc} linking the handler's frame chain to the interrupted code.
    pub stackframe: [u64; 2],
}

/// PSTATE.M[3:0]: the exception level and stack pointer the frame returns to.
pub const PSR_MODE_MASK: u64 = 0xf;
/// M[3:0] of EL0 (which always uses SP_EL0).
pub const PSR_MODE_EL0T: u64 = 0x0;
/// PSTATE.N: the last flag-setting result was negative.
pub const PSR_N_BIT: u64 = 1 << 31;
/// PSTATE.Z: the last flag-setting result was zero.
pub const PSR_Z_BIT: u64 = 1 << 30;
/// PSTATE.C: the last flag-setting operation carried out (or did not borrow).
pub const PSR_C_BIT: u64 = 1 << 29;
/// PSTATE.V: the last flag-setting operation overflowed as a signed operation.
pub const PSR_V_BIT: u64 = 1 << 28;
/// PSTATE.BTYPE: the branch type a BTI landing pad checks; stepping over an instruction
/// by hand must clear it, as executing it would.
pub const PSR_BTYPE_MASK: u64 = 0x0000_0c00;

impl TrapFrame {
    pub fn user_mode(&self) -> bool {
        self.pstate & PSR_MODE_MASK == PSR_MODE_EL0T
    }

    pub fn fp(&self) -> u64 {
        self.regs[29]
    }

    pub fn lr(&self) -> u64 {
        self.regs[30]
    }
}
