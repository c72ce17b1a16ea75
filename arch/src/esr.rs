//! ESR_EL1 (Exception Syndrome Register) decoding: the exception class that routes a synchronous
//! exception (BRK, software step, aborts, ...), the fields the handlers need (BRK comment, fault
//! status code, WnR, FnV), and the readable report Linux prints for an unhandled fault.
//!
//! Constants, class names and fault names are Linux's (`asm/esr.h`, `esr_get_class_string()` in
//! `kernel/traps.c`, `fault_info[]` and `mem_abort_decode()` in `mm/fault.c`), so reports read
//! like a Linux oops. Pure bit arithmetic: builds and unit-tests on the host.

// Linux's names, verbatim (`ESR_ELx_EC_BRK64`), so the seeds and Linux's sources read straight
// onto this code.
#![allow(non_upper_case_globals)]

use core::fmt;

/// Unknown reason.
pub const ESR_ELx_EC_UNKNOWN: u8 = 0x00;
/// Trapped WFI or WFE.
pub const ESR_ELx_EC_WFx: u8 = 0x01;
/// Trapped AArch32 MCR/MRC access to CP15.
pub const ESR_ELx_EC_CP15_32: u8 = 0x03;
/// Trapped AArch32 MCRR/MRRC access to CP15.
pub const ESR_ELx_EC_CP15_64: u8 = 0x04;
/// Trapped AArch32 MCR/MRC access to CP14.
pub const ESR_ELx_EC_CP14_MR: u8 = 0x05;
/// Trapped AArch32 LDC/STC access to CP14.
pub const ESR_ELx_EC_CP14_LS: u8 = 0x06;
/// Access to SVE, Advanced SIMD or floating point trapped by CPACR_EL1.FPEN.
pub const ESR_ELx_EC_FP_ASIMD: u8 = 0x07;
/// Trapped VMRS access (EL2 only).
pub const ESR_ELx_EC_CP10_ID: u8 = 0x08;
/// Trapped pointer-authentication instruction (EL2 and above).
pub const ESR_ELx_EC_PAC: u8 = 0x09;
/// Trapped LD64B/ST64B and similar.
pub const ESR_ELx_EC_OTHER: u8 = 0x0A;
/// Trapped AArch32 MRRC access to CP14.
pub const ESR_ELx_EC_CP14_64: u8 = 0x0C;
/// Branch Target Identification failure.
pub const ESR_ELx_EC_BTI: u8 = 0x0D;
/// Illegal Execution state (PSTATE.IL set).
pub const ESR_ELx_EC_ILL: u8 = 0x0E;
/// SVC from AArch32.
pub const ESR_ELx_EC_SVC32: u8 = 0x11;
/// HVC from AArch32 (EL2 only).
pub const ESR_ELx_EC_HVC32: u8 = 0x12;
/// SMC from AArch32 (EL2 and above).
pub const ESR_ELx_EC_SMC32: u8 = 0x13;
/// SVC from AArch64.
pub const ESR_ELx_EC_SVC64: u8 = 0x15;
/// HVC from AArch64 (EL2 and above).
pub const ESR_ELx_EC_HVC64: u8 = 0x16;
/// SMC from AArch64 (EL2 and above).
pub const ESR_ELx_EC_SMC64: u8 = 0x17;
/// Trapped MSR, MRS or System instruction.
pub const ESR_ELx_EC_SYS64: u8 = 0x18;
/// Access to SVE functionality trapped.
pub const ESR_ELx_EC_SVE: u8 = 0x19;
/// Trapped ERET/ERETAA/ERETAB (EL2 only).
pub const ESR_ELx_EC_ERET: u8 = 0x1a;
/// Pointer-authentication failure (FEAT_FPAC).
pub const ESR_ELx_EC_FPAC: u8 = 0x1C;
/// Access to SME functionality trapped.
pub const ESR_ELx_EC_SME: u8 = 0x1D;
/// Implementation defined (EL3 only).
pub const ESR_ELx_EC_IMP_DEF: u8 = 0x1f;
/// Instruction abort from a lower Exception level.
pub const ESR_ELx_EC_IABT_LOW: u8 = 0x20;
/// Instruction abort taken without a change of Exception level.
pub const ESR_ELx_EC_IABT_CUR: u8 = 0x21;
/// PC alignment fault.
pub const ESR_ELx_EC_PC_ALIGN: u8 = 0x22;
/// Data abort from a lower Exception level.
pub const ESR_ELx_EC_DABT_LOW: u8 = 0x24;
/// Data abort taken without a change of Exception level.
pub const ESR_ELx_EC_DABT_CUR: u8 = 0x25;
/// SP alignment fault.
pub const ESR_ELx_EC_SP_ALIGN: u8 = 0x26;
/// Memory copy/set (FEAT_MOPS) exception.
pub const ESR_ELx_EC_MOPS: u8 = 0x27;
/// Trapped floating-point exception from AArch32.
pub const ESR_ELx_EC_FP_EXC32: u8 = 0x28;
/// Trapped floating-point exception from AArch64.
pub const ESR_ELx_EC_FP_EXC64: u8 = 0x2C;
/// Guarded Control Stack exception.
pub const ESR_ELx_EC_GCS: u8 = 0x2D;
/// SError interrupt.
pub const ESR_ELx_EC_SERROR: u8 = 0x2F;
/// Hardware breakpoint from a lower Exception level.
pub const ESR_ELx_EC_BREAKPT_LOW: u8 = 0x30;
/// Hardware breakpoint taken without a change of Exception level.
pub const ESR_ELx_EC_BREAKPT_CUR: u8 = 0x31;
/// Software step from a lower Exception level.
pub const ESR_ELx_EC_SOFTSTP_LOW: u8 = 0x32;
/// Software step taken without a change of Exception level.
pub const ESR_ELx_EC_SOFTSTP_CUR: u8 = 0x33;
/// Watchpoint from a lower Exception level.
pub const ESR_ELx_EC_WATCHPT_LOW: u8 = 0x34;
/// Watchpoint taken without a change of Exception level.
pub const ESR_ELx_EC_WATCHPT_CUR: u8 = 0x35;
/// BKPT instruction from AArch32.
pub const ESR_ELx_EC_BKPT32: u8 = 0x38;
/// Vector catch from AArch32 (EL2 only).
pub const ESR_ELx_EC_VECTOR32: u8 = 0x3A;
/// BRK instruction from AArch64.
pub const ESR_ELx_EC_BRK64: u8 = 0x3C;
/// The largest exception class value.
pub const ESR_ELx_EC_MAX: u8 = 0x3F;

/// Position of the exception class, bits [31:26].
pub const ESR_ELx_EC_SHIFT: u32 = 26;
/// The exception class field.
pub const ESR_ELx_EC_MASK: u64 = 0x3F << ESR_ELx_EC_SHIFT;
/// Position of IL, the instruction length bit.
pub const ESR_ELx_IL_SHIFT: u32 = 25;
/// IL: the trapped instruction was 32 bits (otherwise 16).
pub const ESR_ELx_IL: u64 = 1 << ESR_ELx_IL_SHIFT;
/// The instruction specific syndrome, bits [24:0].
pub const ESR_ELx_ISS_MASK: u64 = 0x01FF_FFFF;

/// Abort ISS: ISV, the syndrome in bits [23:14] is valid.
pub const ESR_ELx_ISV_SHIFT: u32 = 24;
/// Abort ISS: ISV.
pub const ESR_ELx_ISV: u64 = 1 << ESR_ELx_ISV_SHIFT;
/// Abort ISS: SAS, log2 of the access size.
pub const ESR_ELx_SAS_SHIFT: u32 = 22;
/// Abort ISS: SAS.
pub const ESR_ELx_SAS: u64 = 3 << ESR_ELx_SAS_SHIFT;
/// Abort ISS: SSE, the load was sign-extending.
pub const ESR_ELx_SSE_SHIFT: u32 = 21;
/// Abort ISS: SSE.
pub const ESR_ELx_SSE: u64 = 1 << ESR_ELx_SSE_SHIFT;
/// Abort ISS: SRT, the transfer register.
pub const ESR_ELx_SRT_SHIFT: u32 = 16;
/// Abort ISS: SRT.
pub const ESR_ELx_SRT_MASK: u64 = 0x1F << ESR_ELx_SRT_SHIFT;
/// Abort ISS: SF, the transfer register is 64 bits wide.
pub const ESR_ELx_SF_SHIFT: u32 = 15;
/// Abort ISS: SF.
pub const ESR_ELx_SF: u64 = 1 << ESR_ELx_SF_SHIFT;
/// Abort ISS: AR, acquire/release semantics.
pub const ESR_ELx_AR_SHIFT: u32 = 14;
/// Abort ISS: AR.
pub const ESR_ELx_AR: u64 = 1 << ESR_ELx_AR_SHIFT;
/// Abort ISS: SET, synchronous error type.
pub const ESR_ELx_SET_SHIFT: u32 = 11;
/// Abort ISS: SET.
pub const ESR_ELx_SET_MASK: u64 = 3 << ESR_ELx_SET_SHIFT;
/// Abort ISS: FnV, FAR is not valid.
pub const ESR_ELx_FnV_SHIFT: u32 = 10;
/// Abort ISS: FnV.
pub const ESR_ELx_FnV: u64 = 1 << ESR_ELx_FnV_SHIFT;
/// Abort ISS: EA, external abort type.
pub const ESR_ELx_EA_SHIFT: u32 = 9;
/// Abort ISS: EA.
pub const ESR_ELx_EA: u64 = 1 << ESR_ELx_EA_SHIFT;
/// Abort ISS: CM, the fault came from a cache maintenance instruction.
pub const ESR_ELx_CM_SHIFT: u32 = 8;
/// Abort ISS: CM.
pub const ESR_ELx_CM: u64 = 1 << ESR_ELx_CM_SHIFT;
/// Abort ISS: S1PTW, the fault was on a stage 2 translation of a stage 1 table walk.
pub const ESR_ELx_S1PTW_SHIFT: u32 = 7;
/// Abort ISS: S1PTW.
pub const ESR_ELx_S1PTW: u64 = 1 << ESR_ELx_S1PTW_SHIFT;
/// Data abort ISS: WnR, the access was a write.
pub const ESR_ELx_WNR_SHIFT: u32 = 6;
/// Data abort ISS: WnR.
pub const ESR_ELx_WNR: u64 = 1 << ESR_ELx_WNR_SHIFT;
/// Abort ISS: the fault status code (IFSC/DFSC).
pub const ESR_ELx_FSC: u64 = 0x3F;
/// BRK ISS: the instruction's immediate (the "comment").
pub const ESR_ELx_BRK64_ISS_COMMENT_MASK: u64 = 0xffff;

/// An ESR_ELx value, as saved in the TrapFrame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Esr(pub u64);

impl Esr {
    /// The exception class, bits [31:26].
    // Inlined: the exception path (noinstr) decodes with it.
    #[inline(always)]
    pub const fn ec(self) -> u8 {
        ((self.0 & ESR_ELx_EC_MASK) >> ESR_ELx_EC_SHIFT) as u8
    }

    /// The trapped instruction's length in bits: 32, or 16 for a T32 instruction.
    pub const fn il(self) -> u32 {
        if self.0 & ESR_ELx_IL != 0 { 32 } else { 16 }
    }

    /// The instruction specific syndrome, bits [24:0].
    pub const fn iss(self) -> u32 {
        (self.0 & ESR_ELx_ISS_MASK) as u32
    }

    /// Linux's name for the exception class (`esr_get_class_string()`).
    pub const fn ec_name(self) -> &'static str {
        ec_name(self.ec())
    }

    /// The immediate of the BRK that trapped (ISS[15:0]); `None` for any other class.
    // Inlined: the exception path (noinstr) decodes with it.
    #[inline(always)]
    pub const fn brk_comment(self) -> Option<u16> {
        if self.ec() == ESR_ELx_EC_BRK64 {
            Some((self.0 & ESR_ELx_BRK64_ISS_COMMENT_MASK) as u16)
        } else {
            None
        }
    }

    /// A data abort, from either Exception level.
    pub const fn is_data_abort(self) -> bool {
        matches!(self.ec(), ESR_ELx_EC_DABT_LOW | ESR_ELx_EC_DABT_CUR)
    }

    /// An instruction abort, from either Exception level.
    pub const fn is_instruction_abort(self) -> bool {
        matches!(self.ec(), ESR_ELx_EC_IABT_LOW | ESR_ELx_EC_IABT_CUR)
    }

    /// A data or instruction abort: the classes whose ISS carries a fault status code.
    pub const fn is_abort(self) -> bool {
        self.is_data_abort() || self.is_instruction_abort()
    }

    /// The data fault status code; `None` unless this is a data abort.
    pub const fn dfsc(self) -> Option<u8> {
        if self.is_data_abort() {
            Some(self.raw_fsc())
        } else {
            None
        }
    }

    /// The instruction fault status code; `None` unless this is an instruction abort.
    pub const fn ifsc(self) -> Option<u8> {
        if self.is_instruction_abort() {
            Some(self.raw_fsc())
        } else {
            None
        }
    }

    /// The fault status code of a data or instruction abort.
    pub const fn fsc(self) -> Option<u8> {
        if self.is_abort() {
            Some(self.raw_fsc())
        } else {
            None
        }
    }

    /// Linux's name for the abort's fault status code ("level 3 permission fault").
    pub const fn fsc_name(self) -> Option<&'static str> {
        match self.fsc() {
            Some(fsc) => Some(fault_name(fsc)),
            None => None,
        }
    }

    /// The faulting access was a write (Linux's `is_write_abort()`): a data abort with WnR set,
    /// not caused by cache maintenance (which reports WnR = 1 for reads as well).
    pub const fn is_write(self) -> bool {
        self.is_data_abort() && self.0 & ESR_ELx_WNR != 0 && self.0 & ESR_ELx_CM == 0
    }

    /// FAR_EL1 holds the faulting address: an abort whose FnV is clear, a PC alignment fault,
    /// or a watchpoint. For any other class FAR_EL1 is UNKNOWN.
    pub const fn far_valid(self) -> bool {
        match self.ec() {
            ESR_ELx_EC_PC_ALIGN | ESR_ELx_EC_WATCHPT_LOW | ESR_ELx_EC_WATCHPT_CUR => true,
            _ => self.is_abort() && self.0 & ESR_ELx_FnV == 0,
        }
    }

    const fn raw_fsc(self) -> u8 {
        (self.0 & ESR_ELx_FSC) as u8
    }

    /// Bits `mask` of the value, shifted down by `shift`.
    const fn field(self, mask: u64, shift: u32) -> u64 {
        (self.0 & mask) >> shift
    }
}

/// Linux's name for an exception class (`esr_get_class_string()`); "UNRECOGNIZED EC" for values
/// without one, including anything above 0x3f.
pub const fn ec_name(ec: u8) -> &'static str {
    match ec {
        ESR_ELx_EC_UNKNOWN => "Unknown/Uncategorized",
        ESR_ELx_EC_WFx => "WFI/WFE",
        ESR_ELx_EC_CP15_32 => "CP15 MCR/MRC",
        ESR_ELx_EC_CP15_64 => "CP15 MCRR/MRRC",
        ESR_ELx_EC_CP14_MR => "CP14 MCR/MRC",
        ESR_ELx_EC_CP14_LS => "CP14 LDC/STC",
        ESR_ELx_EC_FP_ASIMD => "ASIMD",
        ESR_ELx_EC_CP10_ID => "CP10 MRC/VMRS",
        ESR_ELx_EC_PAC => "PAC",
        ESR_ELx_EC_CP14_64 => "CP14 MCRR/MRRC",
        ESR_ELx_EC_BTI => "BTI",
        ESR_ELx_EC_ILL => "PSTATE.IL",
        ESR_ELx_EC_SVC32 => "SVC (AArch32)",
        ESR_ELx_EC_HVC32 => "HVC (AArch32)",
        ESR_ELx_EC_SMC32 => "SMC (AArch32)",
        ESR_ELx_EC_SVC64 => "SVC (AArch64)",
        ESR_ELx_EC_HVC64 => "HVC (AArch64)",
        ESR_ELx_EC_SMC64 => "SMC (AArch64)",
        ESR_ELx_EC_SYS64 => "MSR/MRS (AArch64)",
        ESR_ELx_EC_SVE => "SVE",
        ESR_ELx_EC_ERET => "ERET/ERETAA/ERETAB",
        ESR_ELx_EC_FPAC => "FPAC",
        ESR_ELx_EC_SME => "SME",
        ESR_ELx_EC_IMP_DEF => "EL3 IMP DEF",
        ESR_ELx_EC_IABT_LOW => "IABT (lower EL)",
        ESR_ELx_EC_IABT_CUR => "IABT (current EL)",
        ESR_ELx_EC_PC_ALIGN => "PC Alignment",
        ESR_ELx_EC_DABT_LOW => "DABT (lower EL)",
        ESR_ELx_EC_DABT_CUR => "DABT (current EL)",
        ESR_ELx_EC_SP_ALIGN => "SP Alignment",
        ESR_ELx_EC_MOPS => "MOPS",
        ESR_ELx_EC_FP_EXC32 => "FP (AArch32)",
        ESR_ELx_EC_FP_EXC64 => "FP (AArch64)",
        ESR_ELx_EC_GCS => "Guarded Control Stack",
        ESR_ELx_EC_SERROR => "SError",
        ESR_ELx_EC_BREAKPT_LOW => "Breakpoint (lower EL)",
        ESR_ELx_EC_BREAKPT_CUR => "Breakpoint (current EL)",
        ESR_ELx_EC_SOFTSTP_LOW => "Software Step (lower EL)",
        ESR_ELx_EC_SOFTSTP_CUR => "Software Step (current EL)",
        ESR_ELx_EC_WATCHPT_LOW => "Watchpoint (lower EL)",
        ESR_ELx_EC_WATCHPT_CUR => "Watchpoint (current EL)",
        ESR_ELx_EC_BKPT32 => "BKPT (AArch32)",
        ESR_ELx_EC_VECTOR32 => "Vector catch (AArch32)",
        ESR_ELx_EC_BRK64 => "BRK (AArch64)",
        _ => "UNRECOGNIZED EC",
    }
}

/// Linux's name for a data/instruction fault status code (`fault_info[].name`), indexed by the
/// 6-bit code; bits above the low six are ignored, as Linux masks with `ESR_ELx_FSC`.
pub const fn fault_name(fsc: u8) -> &'static str {
    FAULT_NAMES[(fsc & 0x3f) as usize]
}

/// `fault_info[].name` from Linux's `arch/arm64/mm/fault.c`, one per fault status code.
const FAULT_NAMES: [&str; 64] = [
    "ttbr address size fault",
    "level 1 address size fault",
    "level 2 address size fault",
    "level 3 address size fault",
    "level 0 translation fault",
    "level 1 translation fault",
    "level 2 translation fault",
    "level 3 translation fault",
    "level 0 access flag fault",
    "level 1 access flag fault",
    "level 2 access flag fault",
    "level 3 access flag fault",
    "level 0 permission fault",
    "level 1 permission fault",
    "level 2 permission fault",
    "level 3 permission fault",
    "synchronous external abort",
    "synchronous tag check fault",
    "unknown 18",
    "level -1 (translation table walk)",
    "level 0 (translation table walk)",
    "level 1 (translation table walk)",
    "level 2 (translation table walk)",
    "level 3 (translation table walk)",
    "synchronous parity or ECC error",
    "unknown 25",
    "unknown 26",
    "level -1 synchronous parity error (translation table walk)",
    "level 0 synchronous parity error (translation table walk)",
    "level 1 synchronous parity error (translation table walk)",
    "level 2 synchronous parity error (translation table walk)",
    "level 3 synchronous parity error (translation table walk)",
    "unknown 32",
    "alignment fault",
    "unknown 34",
    "unknown 35",
    "unknown 36",
    "unknown 37",
    "unknown 38",
    "unknown 39",
    "unknown 40",
    "level -1 address size fault",
    "unknown 42",
    "level -1 translation fault",
    "unknown 44",
    "unknown 45",
    "unknown 46",
    "unknown 47",
    "TLB conflict abort",
    "Unsupported atomic hardware update fault",
    "unknown 50",
    "unknown 51",
    "implementation fault (lockdown abort)",
    "implementation fault (unsupported exclusive)",
    "unknown 54",
    "unknown 55",
    "unknown 56",
    "unknown 57",
    "unknown 58",
    "unknown 59",
    "unknown 60",
    "section domain fault",
    "page domain fault",
    "unknown 63",
];

/// The multi-line summary Linux prints for a fault (`mem_abort_decode()` and
/// `data_abort_decode()`): the ESR, its class and length, then the abort fields for aborts and
/// the access details for data aborts. Other classes show their raw ISS. No trailing newline.
impl fmt::Display for Esr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ESR = {:#018x}\n  EC = {:#04x}: {}, IL = {} bits",
            self.0,
            self.ec(),
            self.ec_name(),
            self.il()
        )?;
        if self.is_abort() {
            self.fmt_abort(f)?;
        } else {
            write!(f, "\n  ISS = {:#010x}", self.iss())?;
        }
        if self.is_data_abort() {
            self.fmt_data_abort(f)?;
        }
        Ok(())
    }
}

impl Esr {
    fn fmt_abort(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n  SET = {}, FnV = {}\n  EA = {}, S1PTW = {}\n  FSC = {:#04x}: {}",
            self.field(ESR_ELx_SET_MASK, ESR_ELx_SET_SHIFT),
            self.field(ESR_ELx_FnV, ESR_ELx_FnV_SHIFT),
            self.field(ESR_ELx_EA, ESR_ELx_EA_SHIFT),
            self.field(ESR_ELx_S1PTW, ESR_ELx_S1PTW_SHIFT),
            self.raw_fsc(),
            fault_name(self.raw_fsc()),
        )
    }

    fn fmt_data_abort(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\nData abort info:")?;
        if self.0 & ESR_ELx_ISV != 0 {
            write!(
                f,
                "\n  Access size = {} byte(s)\n  SSE = {}, SRT = {}\n  SF = {}, AR = {}",
                1u32 << self.field(ESR_ELx_SAS, ESR_ELx_SAS_SHIFT),
                self.field(ESR_ELx_SSE, ESR_ELx_SSE_SHIFT),
                self.field(ESR_ELx_SRT_MASK, ESR_ELx_SRT_SHIFT),
                self.field(ESR_ELx_SF, ESR_ELx_SF_SHIFT),
                self.field(ESR_ELx_AR, ESR_ELx_AR_SHIFT),
            )?;
        } else {
            write!(f, "\n  ISV = 0, ISS = {:#010x}", self.iss())?;
        }
        write!(
            f,
            "\n  CM = {}, WnR = {}",
            self.field(ESR_ELx_CM, ESR_ELx_CM_SHIFT),
            self.field(ESR_ELx_WNR, ESR_ELx_WNR_SHIFT),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ESR with class `ec`, IL set, and syndrome `iss`.
    fn esr(ec: u8, iss: u32) -> Esr {
        Esr((u64::from(ec) << ESR_ELx_EC_SHIFT) | ESR_ELx_IL | u64::from(iss))
    }

    #[test]
    fn fields() {
        let e = Esr(0x9600_004f);
        assert_eq!(e.ec(), ESR_ELx_EC_DABT_CUR);
        assert_eq!(e.il(), 32);
        assert_eq!(e.iss(), 0x4f);
        assert_eq!(Esr(0x9400_0000).il(), 16);
        assert_eq!(Esr(u64::MAX).ec(), 0x3f);
        assert_eq!(Esr(u64::MAX).iss(), 0x01ff_ffff);
        assert_eq!(Esr(0).ec(), ESR_ELx_EC_UNKNOWN);
    }

    #[test]
    fn upper_bits_do_not_leak_into_fields() {
        // ISS2 lives in bits [55:32]; RES0 above. Neither changes EC, IL or ISS.
        let e = Esr(0xffff_ffff_0000_0000 | 0xf200_0800);
        assert_eq!(e.ec(), ESR_ELx_EC_BRK64);
        assert_eq!(e.iss(), 0x800);
        assert_eq!(e.brk_comment(), Some(0x800));
    }

    #[test]
    fn every_class_name() {
        let named: &[(u8, &str)] = &[
            (0x00, "Unknown/Uncategorized"),
            (0x01, "WFI/WFE"),
            (0x03, "CP15 MCR/MRC"),
            (0x04, "CP15 MCRR/MRRC"),
            (0x05, "CP14 MCR/MRC"),
            (0x06, "CP14 LDC/STC"),
            (0x07, "ASIMD"),
            (0x08, "CP10 MRC/VMRS"),
            (0x09, "PAC"),
            (0x0C, "CP14 MCRR/MRRC"),
            (0x0D, "BTI"),
            (0x0E, "PSTATE.IL"),
            (0x11, "SVC (AArch32)"),
            (0x12, "HVC (AArch32)"),
            (0x13, "SMC (AArch32)"),
            (0x15, "SVC (AArch64)"),
            (0x16, "HVC (AArch64)"),
            (0x17, "SMC (AArch64)"),
            (0x18, "MSR/MRS (AArch64)"),
            (0x19, "SVE"),
            (0x1a, "ERET/ERETAA/ERETAB"),
            (0x1C, "FPAC"),
            (0x1D, "SME"),
            (0x1f, "EL3 IMP DEF"),
            (0x20, "IABT (lower EL)"),
            (0x21, "IABT (current EL)"),
            (0x22, "PC Alignment"),
            (0x24, "DABT (lower EL)"),
            (0x25, "DABT (current EL)"),
            (0x26, "SP Alignment"),
            (0x27, "MOPS"),
            (0x28, "FP (AArch32)"),
            (0x2C, "FP (AArch64)"),
            (0x2D, "Guarded Control Stack"),
            (0x2F, "SError"),
            (0x30, "Breakpoint (lower EL)"),
            (0x31, "Breakpoint (current EL)"),
            (0x32, "Software Step (lower EL)"),
            (0x33, "Software Step (current EL)"),
            (0x34, "Watchpoint (lower EL)"),
            (0x35, "Watchpoint (current EL)"),
            (0x38, "BKPT (AArch32)"),
            (0x3A, "Vector catch (AArch32)"),
            (0x3C, "BRK (AArch64)"),
        ];
        for ec in 0..=u8::MAX {
            let expected = named
                .iter()
                .find(|(c, _)| *c == ec)
                .map_or("UNRECOGNIZED EC", |(_, n)| *n);
            assert_eq!(ec_name(ec), expected, "EC {ec:#x}");
            if ec <= ESR_ELx_EC_MAX {
                assert_eq!(esr(ec, 0).ec_name(), expected);
            }
        }
        // EC_OTHER (0x0A) has a name in esr.h but none in Linux's class strings.
        assert_eq!(ec_name(ESR_ELx_EC_OTHER), "UNRECOGNIZED EC");
    }

    #[test]
    fn fault_names() {
        let cases: &[(u8, &str)] = &[
            (0x00, "ttbr address size fault"),
            (0x03, "level 3 address size fault"),
            (0x04, "level 0 translation fault"),
            (0x06, "level 2 translation fault"),
            (0x07, "level 3 translation fault"),
            (0x0b, "level 3 access flag fault"),
            (0x0d, "level 1 permission fault"),
            (0x0f, "level 3 permission fault"),
            (0x10, "synchronous external abort"),
            (0x11, "synchronous tag check fault"),
            (0x12, "unknown 18"),
            (0x13, "level -1 (translation table walk)"),
            (0x17, "level 3 (translation table walk)"),
            (0x18, "synchronous parity or ECC error"),
            (
                0x1b,
                "level -1 synchronous parity error (translation table walk)",
            ),
            (0x21, "alignment fault"),
            (0x29, "level -1 address size fault"),
            (0x2b, "level -1 translation fault"),
            (0x30, "TLB conflict abort"),
            (0x31, "Unsupported atomic hardware update fault"),
            (0x34, "implementation fault (lockdown abort)"),
            (0x35, "implementation fault (unsupported exclusive)"),
            (0x3d, "section domain fault"),
            (0x3e, "page domain fault"),
            (0x3f, "unknown 63"),
        ];
        for &(fsc, name) in cases {
            assert_eq!(fault_name(fsc), name, "FSC {fsc:#x}");
        }
        // Every "unknown N" entry carries its own index, so the table is not shifted.
        for fsc in 0..64u8 {
            if let Some(n) = fault_name(fsc).strip_prefix("unknown ") {
                assert_eq!(n.parse::<u8>().unwrap(), fsc);
            }
        }
        assert_eq!(
            fault_name(0x40 | 0x0f),
            "level 3 permission fault",
            "high bits ignored"
        );
        assert_eq!(fault_name(0xff), "unknown 63");
    }

    #[test]
    fn abort_helpers() {
        let dabt = Esr(0x9600_004f);
        assert!(dabt.is_data_abort() && dabt.is_abort() && !dabt.is_instruction_abort());
        assert_eq!(dabt.dfsc(), Some(0x0f));
        assert_eq!(dabt.ifsc(), None);
        assert_eq!(dabt.fsc(), Some(0x0f));
        assert_eq!(dabt.fsc_name(), Some("level 3 permission fault"));
        assert!(dabt.is_write());
        assert!(dabt.far_valid());

        let iabt = esr(ESR_ELx_EC_IABT_CUR, 0x07);
        assert!(iabt.is_instruction_abort() && !iabt.is_data_abort());
        assert_eq!(iabt.ifsc(), Some(0x07));
        assert_eq!(iabt.dfsc(), None);
        assert_eq!(iabt.fsc_name(), Some("level 3 translation fault"));
        assert!(!iabt.is_write(), "WnR means nothing for instruction aborts");
        assert!(!esr(ESR_ELx_EC_IABT_LOW, ESR_ELx_WNR as u32).is_write());

        let read = esr(ESR_ELx_EC_DABT_LOW, 0x06);
        assert!(!read.is_write());
        assert_eq!(read.fsc_name(), Some("level 2 translation fault"));
    }

    #[test]
    fn cache_maintenance_is_not_a_write() {
        let dc = esr(
            ESR_ELx_EC_DABT_CUR,
            (ESR_ELx_CM | ESR_ELx_WNR) as u32 | 0x07,
        );
        assert!(!dc.is_write());
    }

    #[test]
    fn far_validity() {
        let fnv = esr(ESR_ELx_EC_DABT_CUR, ESR_ELx_FnV as u32 | 0x10);
        assert!(!fnv.far_valid());
        assert!(esr(ESR_ELx_EC_PC_ALIGN, 0).far_valid());
        assert!(esr(ESR_ELx_EC_WATCHPT_CUR, 0).far_valid());
        assert!(esr(ESR_ELx_EC_WATCHPT_LOW, 0).far_valid());
        assert!(!esr(ESR_ELx_EC_BRK64, 0).far_valid());
        assert!(!esr(ESR_ELx_EC_SVC64, ESR_ELx_FnV as u32).far_valid());
        // FnV in a non-abort ISS is some other field: it does not make FAR valid either.
        assert!(!esr(ESR_ELx_EC_SOFTSTP_CUR, 0).far_valid());
    }

    #[test]
    fn non_abort_classes_have_no_fault_status() {
        for ec in [
            ESR_ELx_EC_BRK64,
            ESR_ELx_EC_SOFTSTP_CUR,
            ESR_ELx_EC_SP_ALIGN,
            ESR_ELx_EC_UNKNOWN,
        ] {
            let e = esr(ec, 0x4f);
            assert_eq!(e.fsc(), None);
            assert_eq!(e.dfsc(), None);
            assert_eq!(e.ifsc(), None);
            assert_eq!(e.fsc_name(), None);
            assert!(!e.is_write());
        }
    }

    #[test]
    fn brk_comment() {
        assert_eq!(Esr(0xf200_0004).brk_comment(), Some(0x004));
        assert_eq!(Esr(0xf200_0800).brk_comment(), Some(0x800));
        assert_eq!(
            esr(ESR_ELx_EC_BRK64, 0x01ff_ffff).brk_comment(),
            Some(0xffff)
        );
        assert_eq!(esr(ESR_ELx_EC_SOFTSTP_CUR, 0x004).brk_comment(), None);
        assert_eq!(esr(ESR_ELx_EC_BKPT32, 0x004).brk_comment(), None);
    }

    #[test]
    fn display_data_abort_without_syndrome() {
        let expected = "ESR = 0x000000009600004f\n  EC = 0x25: DABT (current EL), IL = 32 bits\n  \
                        SET = 0, FnV = 0\n  EA = 0, S1PTW = 0\n  \
                        FSC = 0x0f: level 3 permission fault\nData abort info:\n  \
                        ISV = 0, ISS = 0x0000004f\n  CM = 0, WnR = 1";
        assert_eq!(Esr(0x9600_004f).to_string(), expected);
    }

    #[test]
    fn display_data_abort_with_syndrome() {
        // A 4-byte access through w1 from EL0 hitting a level 3 translation fault (ISV, SAS = 2,
        // SRT = 1, SF = 0, WnR = 1), with SSE, AR, SET, EA, S1PTW and CM set to show every field.
        let iss = ESR_ELx_ISV
            | (2 << ESR_ELx_SAS_SHIFT)
            | ESR_ELx_SSE
            | (1 << ESR_ELx_SRT_SHIFT)
            | ESR_ELx_AR
            | (2 << ESR_ELx_SET_SHIFT)
            | ESR_ELx_EA
            | ESR_ELx_S1PTW
            | ESR_ELx_CM
            | ESR_ELx_WNR
            | 0x07;
        let expected = "ESR = 0x0000000093a153c7\n  EC = 0x24: DABT (lower EL), IL = 32 bits\n  \
                        SET = 2, FnV = 0\n  EA = 1, S1PTW = 1\n  \
                        FSC = 0x07: level 3 translation fault\nData abort info:\n  \
                        Access size = 4 byte(s)\n  SSE = 1, SRT = 1\n  SF = 0, AR = 1\n  \
                        CM = 1, WnR = 1";
        let e = esr(ESR_ELx_EC_DABT_LOW, iss as u32);
        assert_eq!(e.0, 0x93a1_53c7);
        assert_eq!(e.to_string(), expected);
    }

    #[test]
    fn display_instruction_abort() {
        let expected = "ESR = 0x0000000086000010\n  EC = 0x21: IABT (current EL), IL = 32 bits\n  \
                        SET = 0, FnV = 0\n  EA = 0, S1PTW = 0\n  \
                        FSC = 0x10: synchronous external abort";
        assert_eq!(Esr(0x8600_0010).to_string(), expected);
    }

    #[test]
    fn display_other_classes() {
        assert_eq!(
            Esr(0xf200_0800).to_string(),
            "ESR = 0x00000000f2000800\n  EC = 0x3c: BRK (AArch64), IL = 32 bits\n  ISS = 0x00000800"
        );
        assert_eq!(
            Esr(0xcc00_0000).to_string(),
            "ESR = 0x00000000cc000000\n  EC = 0x33: Software Step (current EL), IL = 16 bits\n  \
             ISS = 0x00000000"
        );
        assert_eq!(
            Esr(0).to_string(),
            "ESR = 0x0000000000000000\n  EC = 0x00: Unknown/Uncategorized, IL = 16 bits\n  \
             ISS = 0x00000000"
        );
    }

    #[test]
    fn display_malformed_values() {
        // Unallocated class, every bit set: still one well-formed report, no panic.
        assert_eq!(
            Esr(0x3e << ESR_ELx_EC_SHIFT).to_string(),
            "ESR = 0x00000000f8000000\n  EC = 0x3e: UNRECOGNIZED EC, IL = 16 bits\n  ISS = 0x00000000"
        );
        let all = Esr(u64::MAX).to_string();
        assert!(
            all.starts_with("ESR = 0xffffffffffffffff\n  EC = 0x3f: UNRECOGNIZED EC, IL = 32 bits")
        );
        let dabt_all = Esr(0xffff_ffff_0000_0000 | 0x97ff_ffff).to_string();
        assert!(dabt_all.contains("FSC = 0x3f: unknown 63"), "{dabt_all}");
        assert!(dabt_all.contains("Access size = 8 byte(s)"), "{dabt_all}");
        assert!(dabt_all.contains("SSE = 1, SRT = 31"), "{dabt_all}");
    }
}
