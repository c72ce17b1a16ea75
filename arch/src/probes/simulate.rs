//! Software versions of the instructions a kprobe cannot step out of line because they read or
//! write the PC (Linux: `arch/arm64/kernel/probes/simulate-insn.c`, same names and semantics).
//!
//! Each simulator is a [`ProbeHandler`]: it gets the instruction word, the address it sits at,
//! and the registers saved by the BRK exception, and leaves the registers as executing the
//! instruction at `addr` would have: destination register written, `regs.pc` set to the branch
//! target or to `addr + 4`. Linux advances the non-branching ones with `regs->pc + 4`; that is
//! the same address, since the BRK that led here sits at `addr`.
//!
//! Register number 31 reads as zero and discards writes (XZR), as in every operand here.
//!
//! The simulators run in the kprobe BRK handler, so they are `noinstr` (never traced or
//! probed), and everything they call is inlined into them.

use crate::insn::aarch64_insn_condition_holds;
use crate::ptrace::{PSR_BTYPE_MASK, TrapFrame};

#[cfg(doc)]
use crate::probes::decode::ProbeHandler;

/// The A64 instruction size, as a PC increment.
const INSN_SIZE: u64 = crate::insn::AARCH64_INSN_SIZE as u64;
/// The link register written by `bl` and `blr`.
const LR: usize = 30;

/// The low `bits` bits of `value`, sign-extended (Linux's `sign_extend64(value, bits - 1)`).
#[inline(always)]
const fn sign_extend(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

/// `b`/`bl`: imm26 (bits [25:0]) words.
#[inline(always)]
const fn bbl_displacement(insn: u32) -> i64 {
    sign_extend(((insn & 0x03ff_ffff) as u64) << 2, 28)
}

/// `b.cond`, `cbz`/`cbnz` and `ldr` (literal): imm19 (bits [23:5]) words.
#[inline(always)]
const fn imm19_displacement(insn: u32) -> i64 {
    sign_extend((((insn >> 5) & 0x7_ffff) as u64) << 2, 21)
}

/// `tbz`/`tbnz`: imm14 (bits [18:5]) words.
#[inline(always)]
const fn tbz_displacement(insn: u32) -> i64 {
    sign_extend((((insn >> 5) & 0x3fff) as u64) << 2, 16)
}

/// The register field at bit `shift` of `insn`.
#[inline(always)]
const fn reg_field(insn: u32, shift: u32) -> usize {
    ((insn >> shift) & 0x1f) as usize
}

#[inline(always)]
fn get_x_reg(regs: &TrapFrame, reg: usize) -> u64 {
    if reg < 31 { regs.regs[reg] } else { 0 }
}

#[inline(always)]
fn get_w_reg(regs: &TrapFrame, reg: usize) -> u32 {
    get_x_reg(regs, reg) as u32
}

#[inline(always)]
fn set_x_reg(regs: &mut TrapFrame, reg: usize, value: u64) {
    if reg < 31 {
        regs.regs[reg] = value;
    }
}

/// Writing a W register zeroes the upper half of the X register.
#[inline(always)]
fn set_w_reg(regs: &mut TrapFrame, reg: usize, value: u32) {
    set_x_reg(regs, reg, u64::from(value));
}

/// Where execution continues when a conditional branch at `addr` is or is not taken.
#[inline(always)]
fn branch_if(regs: &mut TrapFrame, addr: u64, taken: bool, displacement: i64) {
    regs.pc = if taken {
        addr.wrapping_add_signed(displacement)
    } else {
        addr.wrapping_add(INSN_SIZE)
    };
}

crate::noinstr! {
/// `adr Xd, label` / `adrp Xd, label`: Xd = addr + imm21, or the 4 KiB page of addr +
/// imm21 pages.
pub fn simulate_adr_adrp(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    // immhi is bits [23:5], immlo bits [30:29]: imm21 = immhi:immlo.
    let imm = (((opcode >> 3) & 0x1f_fffc) | ((opcode >> 29) & 0x3)) as u64;
    let imm = sign_extend(imm, 21);
    let value = if opcode & (1 << 31) != 0 {
        (addr & !0xfff).wrapping_add_signed(imm << 12)
    } else {
        addr.wrapping_add_signed(imm)
    };
    set_x_reg(regs, reg_field(opcode, 0), value);
    regs.pc = addr.wrapping_add(INSN_SIZE);
}
}

crate::noinstr! {
/// `b label` / `bl label`; `bl` (bit 31) links the return address into X30.
pub fn simulate_b_bl(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    if opcode & (1 << 31) != 0 {
        set_x_reg(regs, LR, addr.wrapping_add(INSN_SIZE));
    }
    regs.pc = addr.wrapping_add_signed(bbl_displacement(opcode));
}
}

crate::noinstr! {
/// `b.cond label`: taken when the condition (bits [3:0]) holds for PSTATE's NZCV.
pub fn simulate_b_cond(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    let taken = aarch64_insn_condition_holds(opcode & 0xf, regs.pstate);
    branch_if(regs, addr, taken, imm19_displacement(opcode));
}
}

crate::noinstr! {
/// `br Xn` / `blr Xn` / `ret Xn`. The target is read before `blr` writes X30, so
/// `blr x30` jumps to the old X30.
pub fn simulate_br_blr_ret(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    regs.pc = get_x_reg(regs, reg_field(opcode, 5));
    // opc (bits [24:21]): 0b0000 br, 0b0001 blr, 0b0010 ret.
    if (opcode >> 21) & 0x3 == 1 {
        set_x_reg(regs, LR, addr.wrapping_add(INSN_SIZE));
    }
}
}

crate::noinstr! {
/// `cbz Rt, label` / `cbnz Rt, label` (bit 24 set): compares Wt, or Xt when sf (bit 31) is set.
pub fn simulate_cbz_cbnz(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    let rt = reg_field(opcode, 0);
    let is_zero = if opcode & (1 << 31) != 0 {
        get_x_reg(regs, rt) == 0
    } else {
        get_w_reg(regs, rt) == 0
    };
    let taken = if opcode & (1 << 24) != 0 { !is_zero } else { is_zero };
    branch_if(regs, addr, taken, imm19_displacement(opcode));
}
}

crate::noinstr! {
/// `tbz Rt, #bit, label` / `tbnz` (bit 24 set): tests bit b5:b40 (bits 31 and [23:19]) of Xt.
pub fn simulate_tbz_tbnz(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    let bit = ((opcode >> 26) & 0x20) | ((opcode >> 19) & 0x1f);
    let is_set = (get_x_reg(regs, reg_field(opcode, 0)) >> bit) & 1 != 0;
    let taken = if opcode & (1 << 24) != 0 { is_set } else { !is_set };
    branch_if(regs, addr, taken, tbz_displacement(opcode));
}
}

crate::noinstr! {
/// `ldr Wt|Xt, label`: loads 32 bits (zero-extended) or, when bit 30 is set, 64 bits from
/// addr + imm19 words.
///
/// Only [`crate::probes::decode::arm_kprobe_decode_insn`] installs this, for a word read from
/// kernel text at `addr`: the literal is then part of the kernel image, which is mapped
/// readable for as long as its text is.
pub fn simulate_ldr_literal(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    let load_addr = addr.wrapping_add_signed(imm19_displacement(opcode));
    let rt = reg_field(opcode, 0);
    if opcode & (1 << 30) != 0 {
        // SAFETY: `load_addr` is the literal of the instruction at `addr` (see above), so it
        // is mapped and readable. It is only 4-byte aligned, hence the unaligned read.
        let value = unsafe { core::ptr::read_unaligned(load_addr as *const u64) };
        set_x_reg(regs, rt, value);
    } else {
        // SAFETY: as above; a 32-bit literal is 4-byte aligned.
        let value = unsafe { core::ptr::read_unaligned(load_addr as *const u32) };
        set_w_reg(regs, rt, value);
    }
    regs.pc = addr.wrapping_add(INSN_SIZE);
}
}

crate::noinstr! {
/// `ldrsw Xt, label`: loads 32 bits from addr + imm19 words, sign-extended to 64.
///
/// Installed only as [`simulate_ldr_literal`] is, under the same rule.
pub fn simulate_ldrsw_literal(opcode: u32, addr: u64, regs: &mut TrapFrame) {
    let load_addr = addr.wrapping_add_signed(imm19_displacement(opcode));
    // SAFETY: `load_addr` is the literal of the instruction at `addr`, in the mapped kernel
    // image (see `simulate_ldr_literal`).
    let value = unsafe { core::ptr::read_unaligned(load_addr as *const i32) };
    set_x_reg(regs, reg_field(opcode, 0), i64::from(value) as u64);
    regs.pc = addr.wrapping_add(INSN_SIZE);
}
}

crate::noinstr! {
/// `nop`: only moves to the next instruction, clearing PSTATE.BTYPE as executing any
/// instruction does (Linux 6.13: `arm64_skip_faulting_instruction`).
pub fn simulate_nop(_opcode: u32, addr: u64, regs: &mut TrapFrame) {
    regs.pc = addr.wrapping_add(INSN_SIZE);
    regs.pstate &= !PSR_BTYPE_MASK;
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ptrace::{PSR_C_BIT, PSR_N_BIT, PSR_V_BIT, PSR_Z_BIT};

    const PC: u64 = 0xffff_8000_8012_3454;

    /// A frame whose registers hold recognisable junk, so a write to the wrong one shows.
    fn frame() -> TrapFrame {
        let mut regs = TrapFrame::default();
        for (n, reg) in regs.regs.iter_mut().enumerate() {
            *reg = 0xdead_0000_0000_0000 | n as u64;
        }
        regs.pc = PC;
        regs
    }

    // Encoders for the test inputs, checked against the assembler's words below.
    fn enc_bcond(cond: u32, words: i32) -> u32 {
        0x5400_0000 | ((words as u32 & 0x7_ffff) << 5) | cond
    }
    fn enc_cb(sf: bool, nonzero: bool, rt: u32, words: i32) -> u32 {
        (u32::from(sf) << 31)
            | 0x3400_0000
            | (u32::from(nonzero) << 24)
            | ((words as u32 & 0x7_ffff) << 5)
            | rt
    }
    fn enc_tb(nonzero: bool, bit: u32, rt: u32, words: i32) -> u32 {
        ((bit >> 5) << 31)
            | 0x3600_0000
            | (u32::from(nonzero) << 24)
            | ((bit & 0x1f) << 19)
            | ((words as u32 & 0x3fff) << 5)
            | rt
    }
    fn enc_ldr_lit(x64: bool, rt: u32, words: i32) -> u32 {
        0x1800_0000 | (u32::from(x64) << 30) | ((words as u32 & 0x7_ffff) << 5) | rt
    }
    fn enc_ldrsw_lit(rt: u32, words: i32) -> u32 {
        0x9800_0000 | ((words as u32 & 0x7_ffff) << 5) | rt
    }

    #[test]
    fn encoders_match_the_assembler() {
        // Words from `llvm-mc` + `llvm-objdump` (see the decode table).
        assert_eq!(enc_bcond(0x0, 2), 0x5400_0040, "b.eq .+8");
        assert_eq!(enc_bcond(0x1, -1), 0x54ff_ffe1, "b.ne .-4");
        assert_eq!(enc_cb(true, false, 0, 2), 0xb400_0040, "cbz x0, .+8");
        assert_eq!(enc_cb(false, true, 1, -2), 0x35ff_ffc1, "cbnz w1, .-8");
        assert_eq!(enc_tb(false, 0, 2, 2), 0x3600_0042, "tbz w2, #0, .+8");
        assert_eq!(enc_tb(true, 63, 3, -2), 0xb7ff_ffc3, "tbnz x3, #63, .-8");
        assert_eq!(enc_ldr_lit(true, 0, 2), 0x5800_0040, "ldr x0, .+8");
        assert_eq!(enc_ldr_lit(false, 1, -2), 0x18ff_ffc1, "ldr w1, .-8");
        assert_eq!(enc_ldrsw_lit(2, 4), 0x9800_0082, "ldrsw x2, .+16");
    }

    /// Each word was linked at its address with `rust-lld -Ttext=0x40200000` and disassembled
    /// with `llvm-objdump`, which printed the destination given here.
    #[test]
    fn linked_words_reach_the_disassembler_targets() {
        let cases: &[(u64, u32, &str, usize, u64)] = &[
            (
                0x4020_0008,
                0xf0ff_ffc3,
                "adrp x3, 0x401fb000",
                3,
                0x401f_b000,
            ),
            (
                0x4020_000c,
                0xf003_ffe4,
                "adrp x4, 0x481ff000",
                4,
                0x481f_f000,
            ),
            (
                0x4020_0010,
                0x10ff_ff85,
                "adr x5, 0x40200000",
                5,
                0x4020_0000,
            ),
            (
                0x4020_0014,
                0x707f_ffe6,
                "adr x6, 0x40300013",
                6,
                0x4030_0013,
            ),
            (
                0x4020_0018,
                0x1080_0007,
                "adr x7, 0x40100018",
                7,
                0x4010_0018,
            ),
        ];
        for &(addr, word, name, rd, value) in cases {
            let mut regs = frame();
            simulate_adr_adrp(word, addr, &mut regs);
            assert_eq!(regs.regs[rd], value, "{name}");
            assert_eq!(regs.pc, addr + 4, "{name}");
        }

        let mut regs = frame();
        regs.regs[10] = !(1u64 << 32);
        simulate_tbz_tbnz(0xb604_000a, 0x4020_0024, &mut regs);
        assert_eq!(regs.pc, 0x401f_8024, "tbz x10, #32, 0x401f8024");

        let mut regs = frame();
        regs.regs[11] = 1 << 31;
        simulate_tbz_tbnz(0x37fb_ffeb, 0x4020_0028, &mut regs);
        assert_eq!(regs.pc, 0x4020_8024, "tbnz w11, #31, 0x40208024");

        let mut regs = frame();
        regs.pstate = PSR_C_BIT;
        simulate_b_cond(0x5480_0008, 0x4020_002c, &mut regs);
        assert_eq!(regs.pc, 0x4010_002c, "b.hi 0x4010002c");

        let mut regs = frame();
        regs.regs[12] = 0xffff_ffff_0000_0000;
        simulate_cbz_cbnz(0x347f_ffec, 0x4020_0030, &mut regs);
        assert_eq!(regs.pc, 0x4030_002c, "cbz w12 looks at the low half only");

        let mut regs = frame();
        simulate_b_bl(0x15ff_ffff, 0x4020_0034, &mut regs);
        assert_eq!(regs.pc, 0x4820_0030, "b +128 MiB - 4");
        assert_eq!(regs.regs[30], frame().regs[30], "b does not link");

        let mut regs = frame();
        simulate_b_bl(0x9600_0000, 0x4020_0038, &mut regs);
        assert_eq!(regs.pc, 0x3820_0038, "bl -128 MiB");
        assert_eq!(regs.regs[30], 0x4020_003c, "bl links");
    }

    /// The Arm ARM's ConditionHolds(), written from its table independently of the code.
    fn condition_holds(cond: u32, n: bool, z: bool, c: bool, v: bool) -> bool {
        match cond {
            0x0 => z,
            0x1 => !z,
            0x2 => c,
            0x3 => !c,
            0x4 => n,
            0x5 => !n,
            0x6 => v,
            0x7 => !v,
            0x8 => c && !z,
            0x9 => !c || z,
            0xa => n == v,
            0xb => n != v,
            0xc => !z && n == v,
            0xd => z || n != v,
            _ => true,
        }
    }

    #[test]
    fn b_cond_every_condition_and_flag_combination() {
        for cond in 0..16 {
            for nzcv in 0..16u64 {
                let (n, z, c, v) = (nzcv & 8 != 0, nzcv & 4 != 0, nzcv & 2 != 0, nzcv & 1 != 0);
                // Unrelated PSTATE bits (DAIF, mode, BTYPE) must not matter.
                let pstate = (nzcv << 28) | 0x3c5 | PSR_BTYPE_MASK;
                for words in [2i32, -1, 0x3_ffff, -0x4_0000] {
                    let mut regs = frame();
                    regs.pstate = pstate;
                    simulate_b_cond(enc_bcond(cond, words), PC, &mut regs);
                    let want = if condition_holds(cond, n, z, c, v) {
                        PC.wrapping_add_signed(i64::from(words) * 4)
                    } else {
                        PC + 4
                    };
                    assert_eq!(
                        regs.pc, want,
                        "cond {cond:#x} nzcv {nzcv:04b} words {words}"
                    );
                    assert_eq!(regs.pstate, pstate, "flags untouched");
                    assert_eq!(regs.regs, frame().regs, "registers untouched");
                }
            }
        }
    }

    #[test]
    fn condition_helper_uses_linux_flag_positions() {
        assert!(aarch64_insn_condition_holds(0x0, PSR_Z_BIT));
        assert!(aarch64_insn_condition_holds(0x4, PSR_N_BIT));
        assert!(aarch64_insn_condition_holds(0x6, PSR_V_BIT));
        assert!(aarch64_insn_condition_holds(0x2, PSR_C_BIT));
        assert!(!aarch64_insn_condition_holds(0x0, !PSR_Z_BIT));
    }

    #[test]
    fn cbz_cbnz_32_and_64_bit() {
        let cases: &[(u64, bool, bool, bool)] = &[
            // (value, sf, cbnz, taken)
            (0, false, false, true),
            (0, true, false, true),
            (0, false, true, false),
            (0, true, true, false),
            (0x1_0000_0000, false, false, true),
            (0x1_0000_0000, true, false, false),
            (0x1_0000_0000, false, true, false),
            (0x1_0000_0000, true, true, true),
            (1, false, false, false),
            (1 << 63, true, true, true),
        ];
        for &(value, sf, nonzero, taken) in cases {
            for words in [8i32, -8, 0x3_ffff, -0x4_0000] {
                let mut regs = frame();
                regs.regs[7] = value;
                simulate_cbz_cbnz(enc_cb(sf, nonzero, 7, words), PC, &mut regs);
                let want = if taken {
                    PC.wrapping_add_signed(i64::from(words) * 4)
                } else {
                    PC + 4
                };
                assert_eq!(regs.pc, want, "{value:#x} sf={sf} cbnz={nonzero} {words}");
                assert_eq!(regs.regs[7], value);
            }
        }
        // Register 31 is XZR here: cbz xzr always branches, cbnz wzr never.
        let mut regs = frame();
        simulate_cbz_cbnz(enc_cb(true, false, 31, 4), PC, &mut regs);
        assert_eq!(regs.pc, PC + 16);
        simulate_cbz_cbnz(enc_cb(false, true, 31, 4), PC, &mut regs);
        assert_eq!(regs.pc, PC + 4);
    }

    #[test]
    fn tbz_tbnz_every_bit() {
        for bit in 0..64u32 {
            for value in [1u64 << bit, !(1u64 << bit)] {
                let set = value & (1 << bit) != 0;
                for (nonzero, words) in
                    [(false, 3i32), (true, -3), (false, 0x1fff), (true, -0x2000)]
                {
                    let mut regs = frame();
                    regs.regs[2] = value;
                    simulate_tbz_tbnz(enc_tb(nonzero, bit, 2, words), PC, &mut regs);
                    let want = if set == nonzero {
                        PC.wrapping_add_signed(i64::from(words) * 4)
                    } else {
                        PC + 4
                    };
                    assert_eq!(regs.pc, want, "bit {bit} value {value:#x} tbnz={nonzero}");
                }
            }
        }
    }

    #[test]
    fn adr_adrp_offsets_and_page_alignment() {
        fn enc_adr(page: bool, rd: u32, imm: i32) -> u32 {
            let imm = imm as u32;
            (u32::from(page) << 31)
                | ((imm & 3) << 29)
                | 0x1000_0000
                | (((imm >> 2) & 0x7_ffff) << 5)
                | rd
        }
        // adr: byte offsets over the whole ±1 MiB range, odd ones included.
        for imm in [0i32, 1, -1, 3, -5, 0xf_ffff, -0x10_0000] {
            let mut regs = frame();
            simulate_adr_adrp(enc_adr(false, 9, imm), PC, &mut regs);
            assert_eq!(
                regs.regs[9],
                PC.wrapping_add_signed(i64::from(imm)),
                "adr {imm}"
            );
            assert_eq!(regs.pc, PC + 4);
        }
        // adrp: pages from the instruction's own page, whatever its offset in the page.
        for imm in [0i32, 1, -1, 0x7_ffff, -0x8_0000] {
            for addr in [PC, PC & !0xfff, PC | 0xffc] {
                let mut regs = frame();
                simulate_adr_adrp(enc_adr(true, 9, imm), addr, &mut regs);
                let want = (addr & !0xfff).wrapping_add_signed(i64::from(imm) << 12);
                assert_eq!(regs.regs[9], want, "adrp {imm} at {addr:#x}");
                assert_eq!(regs.regs[9] & 0xfff, 0);
            }
        }
        // Rd = 31 is XZR: the result is discarded.
        let mut regs = frame();
        simulate_adr_adrp(enc_adr(true, 31, 5), PC, &mut regs);
        assert_eq!(regs.regs, frame().regs);
        assert_eq!(regs.pc, PC + 4);
    }

    #[test]
    fn b_bl_offsets() {
        for words in [1i32, -1, 0x1ff_ffff, -0x200_0000] {
            let word = (words as u32) & 0x03ff_ffff;
            let target = PC.wrapping_add_signed(i64::from(words) * 4);
            let mut regs = frame();
            simulate_b_bl(0x1400_0000 | word, PC, &mut regs);
            assert_eq!(
                (regs.pc, regs.regs[30]),
                (target, frame().regs[30]),
                "b {words}"
            );
            let mut regs = frame();
            simulate_b_bl(0x9400_0000 | word, PC, &mut regs);
            assert_eq!((regs.pc, regs.regs[30]), (target, PC + 4), "bl {words}");
        }
    }

    #[test]
    fn br_blr_ret_and_the_link_register() {
        const BR_X0: u32 = 0xd61f_0000;
        const BLR_X30: u32 = 0xd63f_03c0;
        const RET: u32 = 0xd65f_03c0;
        const RET_X5: u32 = 0xd65f_00a0;
        const BR_X30: u32 = 0xd61f_03c0;
        const BLR_X8: u32 = 0xd63f_0100;

        let mut regs = frame();
        simulate_br_blr_ret(BR_X0, PC, &mut regs);
        assert_eq!(
            (regs.pc, regs.regs[30]),
            (frame().regs[0], frame().regs[30])
        );

        let mut regs = frame();
        simulate_br_blr_ret(RET, PC, &mut regs);
        assert_eq!(
            (regs.pc, regs.regs[30]),
            (frame().regs[30], frame().regs[30])
        );

        let mut regs = frame();
        simulate_br_blr_ret(RET_X5, PC, &mut regs);
        assert_eq!(regs.pc, frame().regs[5]);

        let mut regs = frame();
        simulate_br_blr_ret(BR_X30, PC, &mut regs);
        assert_eq!(
            (regs.pc, regs.regs[30]),
            (frame().regs[30], frame().regs[30])
        );

        let mut regs = frame();
        simulate_br_blr_ret(BLR_X8, PC, &mut regs);
        assert_eq!((regs.pc, regs.regs[30]), (frame().regs[8], PC + 4));

        // blr x30: the target is the old x30, read before the link overwrites it.
        let mut regs = frame();
        simulate_br_blr_ret(BLR_X30, PC, &mut regs);
        assert_eq!(regs.pc, frame().regs[30]);
        assert_eq!(regs.regs[30], PC + 4);

        // Register 31 reads as zero.
        let mut regs = frame();
        simulate_br_blr_ret(0xd61f_03e0, PC, &mut regs);
        assert_eq!(regs.pc, 0);
    }

    /// A literal pool in host memory: the "instruction" at `insn_index` loads from `lit_index`.
    fn ldr_from_pool(
        pool: &[u32],
        insn_index: usize,
        lit_index: usize,
        make: impl Fn(i32) -> u32,
    ) -> (TrapFrame, u64) {
        let words = lit_index as i32 - insn_index as i32;
        let addr = &pool[insn_index] as *const u32 as u64;
        let mut regs = frame();
        regs.pc = addr;
        let opcode = make(words);
        if aarch64_ldrsw(opcode) {
            simulate_ldrsw_literal(opcode, addr, &mut regs);
        } else {
            simulate_ldr_literal(opcode, addr, &mut regs);
        }
        (regs, addr)
    }

    fn aarch64_ldrsw(opcode: u32) -> bool {
        crate::insn::aarch64_insn_is_ldrsw_lit(opcode)
    }

    #[test]
    fn ldr_literal_reads_the_pool() {
        // Little-endian words: 0x8765_4321_0fed_cba9 sits at [1..3] and at [4..6], twelve bytes
        // apart, so one copy is 8-byte aligned and the other only 4-byte aligned.
        let pool: [u32; 8] = [
            0,
            0x0fed_cba9,
            0x8765_4321,
            0,
            0x0fed_cba9,
            0x8765_4321,
            0x8000_0001,
            0xffff_fffe,
        ];
        for (insn_index, lit_index) in [(0usize, 1usize), (7, 1), (3, 1), (0, 4), (7, 4)] {
            let (regs, addr) =
                ldr_from_pool(&pool, insn_index, lit_index, |w| enc_ldr_lit(true, 4, w));
            assert_eq!(
                regs.regs[4], 0x8765_4321_0fed_cba9,
                "ldr x4 at [{insn_index}] from [{lit_index}]"
            );
            assert_eq!(regs.pc, addr + 4);
        }
        // A W load zero-extends: the junk in the upper half of x4 is gone.
        let (regs, _) = ldr_from_pool(&pool, 7, 6, |w| enc_ldr_lit(false, 4, w));
        assert_eq!(regs.regs[4], 0x8000_0001);
        // ldrsw sign-extends, forwards and backwards.
        let (regs, _) = ldr_from_pool(&pool, 2, 7, |w| enc_ldrsw_lit(5, w));
        assert_eq!(regs.regs[5], 0xffff_ffff_ffff_fffe);
        let (regs, _) = ldr_from_pool(&pool, 7, 6, |w| enc_ldrsw_lit(5, w));
        assert_eq!(regs.regs[5], 0xffff_ffff_8000_0001);
        let (regs, _) = ldr_from_pool(&pool, 0, 1, |w| enc_ldrsw_lit(5, w));
        assert_eq!(regs.regs[5], 0x0fed_cba9);
        // Rt = 31 is XZR: the load happens, the result is discarded.
        let (regs, addr) = ldr_from_pool(&pool, 0, 1, |w| enc_ldr_lit(true, 31, w));
        assert_eq!(regs.regs, frame().regs);
        assert_eq!(regs.pc, addr + 4);
    }

    #[test]
    fn nop_steps_and_clears_btype() {
        let mut regs = frame();
        regs.pstate = PSR_N_BIT | PSR_BTYPE_MASK | 0x3c5;
        simulate_nop(0xd503_201f, PC, &mut regs);
        assert_eq!(regs.pc, PC + 4);
        assert_eq!(regs.pstate, PSR_N_BIT | 0x3c5);
        assert_eq!(regs.regs, frame().regs);
    }

    #[test]
    fn handlers_fit_the_decoder_type() {
        use crate::probes::decode::ProbeHandler;
        let all: [ProbeHandler; 9] = [
            simulate_adr_adrp,
            simulate_b_bl,
            simulate_b_cond,
            simulate_br_blr_ret,
            simulate_cbz_cbnz,
            simulate_tbz_tbnz,
            simulate_ldr_literal,
            simulate_ldrsw_literal,
            simulate_nop,
        ];
        // Each sets the PC: run the ones that do not read memory on a nop-shaped frame.
        for handler in &all[..6] {
            let mut regs = frame();
            regs.pc = 0;
            handler(0, PC, &mut regs);
            assert_ne!(regs.pc, 0);
        }
    }
}
