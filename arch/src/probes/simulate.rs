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
