//! A64 instruction encoding and decoding: the few instructions the kernel writes into its own
//! text (the ftrace patch site's `nop` / `mov x9, x30` / `bl`, kprobe `brk`s, `ret`), and a
//! decoder that tells what a word is, down to the broad classes the kprobe instruction decoder
//! sorts on. Linux's `arch/arm64/lib/insn.c` and `asm/insn.h` own the same job.
//!
//! Everything here is pure arithmetic on `u32` words: it runs on the host under `cargo test` and
//! never touches memory. Encoders that can fail (branches) return [`InsnError`] instead of
//! Linux's `AARCH64_BREAK_FAULT` word, so a caller cannot patch in a bad instruction by accident.

use core::fmt;

/// Every A64 instruction is one little-endian 32-bit word.
pub const AARCH64_INSN_SIZE: usize = 4;

/// `brk #0`: OR an immediate shifted left by 5 into it to get `brk #imm`.
pub const AARCH64_BREAK_MON: u32 = 0xd420_0000;

/// BRK immediate of a kprobe's breakpoint at the probed instruction.
pub const KPROBES_BRK_IMM: u16 = 0x004;
/// BRK immediate of a uprobe's breakpoint.
pub const UPROBES_BRK_IMM: u16 = 0x005;
/// BRK immediate that ends a kprobe's out-of-line single-step slot.
pub const KPROBES_BRK_SS_IMM: u16 = 0x006;
/// BRK immediate of the kretprobe return trampoline.
pub const KRETPROBES_BRK_IMM: u16 = 0x007;
/// BRK immediate of `BUG()`.
pub const BUG_BRK_IMM: u16 = 0x800;

/// The kprobe breakpoint instruction, `brk #0x004`.
pub const BRK64_OPCODE_KPROBES: u32 = brk(KPROBES_BRK_IMM);
/// The uprobe breakpoint instruction, `brk #0x005`.
pub const BRK64_OPCODE_UPROBES: u32 = brk(UPROBES_BRK_IMM);
/// The instruction after a kprobe's single-step slot, `brk #0x006`.
pub const BRK64_OPCODE_KPROBES_SS: u32 = brk(KPROBES_BRK_SS_IMM);
/// The kretprobe trampoline's breakpoint, `brk #0x007`.
pub const BRK64_OPCODE_KRETPROBES: u32 = brk(KRETPROBES_BRK_IMM);
/// The `BUG()` breakpoint, `brk #0x800`.
pub const BRK64_OPCODE_BUG: u32 = brk(BUG_BRK_IMM);

/// `nop` (`hint #0`).
const NOP: u32 = 0xd503_201f;
/// Bits that identify a `hint #imm7` (its immediate is bits [11:5]).
const HINT_MASK: u32 = 0xffff_f01f;
/// `b` opcode (bits [31:26] = 0b000101); `bl` sets bit 31 on top of it.
const B_OPCODE: u32 = 0x1400_0000;
/// `bl` opcode (bits [31:26] = 0b100101).
const BL_OPCODE: u32 = 0x9400_0000;
/// Bits that identify an unconditional branch-immediate (`b` or `bl`).
const BRANCH_IMM_MASK: u32 = 0xfc00_0000;
/// Bits that identify `brk #imm16`.
const BRK_MASK: u32 = 0xffe0_001f;
/// `ret x0`; the register sits in bits [9:5].
const RET_OPCODE: u32 = 0xd65f_0000;
/// Bits that identify `ret Xn` (RETAA/RETAB differ in bits [11:10]).
const RET_MASK: u32 = 0xffff_fc1f;
/// `orr x0, xzr, x0` with LSL #0: the 64-bit `mov Xd, Xm` alias.
const MOV_REG64_OPCODE: u32 = 0xaa00_03e0;
/// Bits that identify the 64-bit `mov Xd, Xm` alias (Rm in [20:16], Rd in [4:0] are free).
const MOV_REG64_MASK: u32 = 0xffe0_ffe0;
/// Branch-immediate reach: the signed 26-bit word offset covers [-128 MiB, +128 MiB).
const BRANCH_IMM_RANGE: i64 = 128 * 1024 * 1024;

/// A general-purpose register number, 0..=31. What 31 means (XZR or SP) depends on the operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reg(u8);

impl Reg {
    /// X9, the scratch register Linux's ftrace patch site saves the caller's LR into.
    pub const X9: Reg = Reg(9);
    /// X29, the frame pointer.
    pub const FP: Reg = Reg(29);
    /// X30, the link register.
    pub const LR: Reg = Reg(30);
    /// Register number 31: XZR in most operands, SP in a few.
    pub const ZR: Reg = Reg(31);

    /// The register numbered `n`, or `None` when `n` is not 0..=31.
    pub const fn new(n: u8) -> Option<Reg> {
        if n < 32 { Some(Reg(n)) } else { None }
    }

    /// The register number, 0..=31.
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The 5-bit register field at bit `shift` of `word`.
    const fn field(word: u32, shift: u32) -> Reg {
        Reg(((word >> shift) & 0x1f) as u8)
    }
}

/// Why an instruction could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsnError {
    /// The instruction's address or its branch target is not 4-byte aligned.
    Misaligned,
    /// The branch target is outside the instruction's reach.
    OutOfRange,
}

impl fmt::Display for InsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InsnError::Misaligned => "A64 instructions must be word aligned",
            InsnError::OutOfRange => "branch target out of range (+/-128 MiB)",
        })
    }
}

/// `nop`.
pub const fn nop() -> u32 {
    NOP
}

/// `b target`, placed at `pc`.
pub fn b(pc: u64, target: u64) -> Result<u32, InsnError> {
    branch_imm(B_OPCODE, pc, target)
}

/// `bl target`, placed at `pc`.
pub fn bl(pc: u64, target: u64) -> Result<u32, InsnError> {
    branch_imm(BL_OPCODE, pc, target)
}

/// `b`/`bl`: the distance is taken modulo 2^64, as the CPU adds it to the PC.
fn branch_imm(opcode: u32, pc: u64, target: u64) -> Result<u32, InsnError> {
    let size = AARCH64_INSN_SIZE as u64;
    if !pc.is_multiple_of(size) || !target.is_multiple_of(size) {
        return Err(InsnError::Misaligned);
    }
    let offset = target.wrapping_sub(pc) as i64;
    if !(-BRANCH_IMM_RANGE..BRANCH_IMM_RANGE).contains(&offset) {
        return Err(InsnError::OutOfRange);
    }
    let imm26 = ((offset >> 2) as u32) & 0x03ff_ffff;
    Ok(opcode | imm26)
}

/// `brk #imm16`.
pub const fn brk(imm16: u16) -> u32 {
    AARCH64_BREAK_MON | ((imm16 as u32) << 5)
}

/// `mov Xd, Xm` (`orr Xd, xzr, Xm`). With `rm` = 31 it reads XZR, so it is `mov Xd, xzr`.
pub const fn mov_reg(rd: Reg, rm: Reg) -> u32 {
    MOV_REG64_OPCODE | ((rm.0 as u32) << 16) | rd.0 as u32
}

/// `mov x9, x30`: the first instruction of an enabled ftrace patch site, which saves the
/// caller's return address before `bl ftrace_caller` overwrites the LR.
pub const fn mov_x9_x30() -> u32 {
    mov_reg(Reg::X9, Reg::LR)
}

/// `ret` (returns through X30).
pub const fn ret() -> u32 {
    ret_reg(Reg::LR)
}

/// `ret Xn`.
pub const fn ret_reg(rn: Reg) -> u32 {
    RET_OPCODE | ((rn.0 as u32) << 5)
}

/// What an instruction word is. Words the kernel itself emits or inspects get their own
/// variant with their operands; everything else is reported by class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insn {
    /// `nop`.
    Nop,
    /// Any other `hint #imm` (`yield`, `bti`, `paciasp`, ...), with its 7-bit immediate.
    Hint(u8),
    /// `b` with its byte offset from the instruction's own address.
    B { offset: i64 },
    /// `bl` with its byte offset from the instruction's own address.
    Bl { offset: i64 },
    /// `brk #imm`.
    Brk { imm: u16 },
    /// `ret Xn`.
    Ret { reg: Reg },
    /// The 64-bit `mov Xd, Xm` alias of `orr Xd, xzr, Xm`.
    MovReg { rd: Reg, rm: Reg },
    /// Anything else, by class.
    Other(InsnClass),
}

/// The broad encoding groups of the A64 instruction set, split where a kprobe has to treat
/// instructions differently: whatever reads the PC cannot be stepped out of line and must be
/// simulated, exception-generating and most system instructions must not be probed at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InsnClass {
    /// `b`, `bl`.
    BranchImm,
    /// `b.cond`, `bc.cond`.
    CondBranch,
    /// `cbz`, `cbnz`.
    CompareBranch,
    /// `tbz`, `tbnz`.
    TestBranch,
    /// `br`, `blr`, `ret`, `eret` and their pointer-authenticating forms.
    BranchReg,
    /// `adr`, `adrp`.
    PcRelAddr,
    /// `ldr` / `ldrsw` / `prfm` (literal), integer or SIMD&FP.
    LoadLiteral,
    /// `svc`, `hvc`, `smc`, `brk`, `hlt`, `dcps*`.
    Exception,
    /// `hint #imm`: `nop`, `yield`, `wfe`, `wfi`, `bti`, pointer-authentication hints, ...
    Hint,
    /// Every other system instruction: `msr`, `mrs`, barriers, `sys`/`sysl`, PSTATE access.
    System,
    /// Loads and stores other than literal loads.
    LoadStore,
    /// Data processing: immediate (other than PC-relative), register, and SIMD&FP.
    DataProcessing,
    /// Unallocated, reserved (including `udf`), SVE/SME, or not known to this decoder.
    Unknown,
}

/// Decodes one instruction word.
pub fn decode(word: u32) -> Insn {
    if word == NOP {
        Insn::Nop
    } else if word & HINT_MASK == NOP {
        Insn::Hint(((word >> 5) & 0x7f) as u8)
    } else if word & BRANCH_IMM_MASK == B_OPCODE {
        Insn::B {
            offset: branch_imm_offset(word),
        }
    } else if word & BRANCH_IMM_MASK == BL_OPCODE {
        Insn::Bl {
            offset: branch_imm_offset(word),
        }
    } else if word & BRK_MASK == AARCH64_BREAK_MON {
        Insn::Brk {
            imm: ((word >> 5) & 0xffff) as u16,
        }
    } else if word & RET_MASK == RET_OPCODE {
        Insn::Ret {
            reg: Reg::field(word, 5),
        }
    } else if word & MOV_REG64_MASK == MOV_REG64_OPCODE {
        Insn::MovReg {
            rd: Reg::field(word, 0),
            rm: Reg::field(word, 16),
        }
    } else {
        Insn::Other(classify(word))
    }
}

/// The sign-extended imm26 of a `b`/`bl`, in bytes.
fn branch_imm_offset(word: u32) -> i64 {
    // Shift the 26-bit field to the top, then arithmetic-shift back down: sign extension, and
    // two bits fewer on the way down multiplies by the instruction size.
    i64::from(((word << 6) as i32) >> 4)
}

/// The destination of a `b` or `bl` at `pc`; `None` for any other instruction.
pub fn branch_target(pc: u64, word: u32) -> Option<u64> {
    match decode(word) {
        Insn::B { offset } | Insn::Bl { offset } => Some(pc.wrapping_add_signed(offset)),
        _ => None,
    }
}

/// The class of an instruction word, from the A64 top-level decode (op0, bits [28:25]).
pub fn classify(word: u32) -> InsnClass {
    match (word >> 25) & 0xf {
        0b1000 | 0b1001 => classify_data_processing_imm(word),
        0b1010 | 0b1011 => classify_branch_exception_system(word),
        0b0100 | 0b0110 | 0b1100 | 0b1110 => classify_load_store(word),
        0b0101 | 0b1101 | 0b0111 | 0b1111 => InsnClass::DataProcessing,
        _ => InsnClass::Unknown,
    }
}

fn classify_data_processing_imm(word: u32) -> InsnClass {
    // Bits [28:24] = 0b10000: adr (op = 0) and adrp (op = 1).
    if word & 0x1f00_0000 == 0x1000_0000 {
        InsnClass::PcRelAddr
    } else {
        InsnClass::DataProcessing
    }
}

fn classify_load_store(word: u32) -> InsnClass {
    // Bits [29:27] = 0b011 and [25:24] = 0b00, whatever V (bit 26) says: load register (literal).
    if word & 0x3b00_0000 == 0x1800_0000 {
        InsnClass::LoadLiteral
    } else {
        InsnClass::LoadStore
    }
}

fn classify_branch_exception_system(word: u32) -> InsnClass {
    if word & 0x7c00_0000 == 0x1400_0000 {
        InsnClass::BranchImm
    } else if word & 0xff00_0000 == 0x5400_0000 {
        InsnClass::CondBranch
    } else if word & 0x7e00_0000 == 0x3400_0000 {
        InsnClass::CompareBranch
    } else if word & 0x7e00_0000 == 0x3600_0000 {
        InsnClass::TestBranch
    } else if word & 0xff00_0000 == 0xd400_0000 {
        InsnClass::Exception
    } else if word & HINT_MASK == NOP {
        InsnClass::Hint
    } else if word & 0xffc0_0000 == 0xd500_0000 {
        InsnClass::System
    } else if word & 0xfe00_0000 == 0xd600_0000 {
        InsnClass::BranchReg
    } else {
        InsnClass::Unknown
    }
}

/// Defines Linux's `aarch64_insn_is_<name>(insn)`: `insn` is that instruction when the bits in
/// `mask` equal `value` (Linux's `__AARCH64_INSN_FUNCS` in `asm/insn.h`, same masks and values).
macro_rules! aarch64_insn_funcs {
    ($($(#[$doc:meta])* $name:ident, $mask:literal, $value:literal;)*) => {
        $(
            $(#[$doc])*
            #[inline(always)]
            pub const fn $name(insn: u32) -> bool {
                const MASK: u32 = $mask;
                const VALUE: u32 = $value;
                const _: () = assert!(VALUE | MASK == MASK, "value bits outside the mask");
                insn & MASK == VALUE
            }
        )*
    };
}

aarch64_insn_funcs! {
    /// `adr Xd, label`.
    aarch64_insn_is_adr, 0x9f00_0000, 0x1000_0000;
    /// `adrp Xd, label`.
    aarch64_insn_is_adrp, 0x9f00_0000, 0x9000_0000;
    /// `prfm op, label`: prefetch from a PC-relative literal address.
    aarch64_insn_is_prfm_lit, 0xff00_0000, 0xd800_0000;
    /// `ldr Wt|Xt, label` (integer registers only: bit 26, V, must be 0; bit 30 picks W or X).
    aarch64_insn_is_ldr_lit, 0xbf00_0000, 0x1800_0000;
    /// `ldrsw Xt, label`.
    aarch64_insn_is_ldrsw_lit, 0xff00_0000, 0x9800_0000;
    /// The load/store exclusive group: `ldxr`/`stxr`/`ldaxr`/`stlxr`/`ldxp`/..., and in the same
    /// encoding space the load-acquire/store-release (`ldar`, `stlr`) and `cas*` forms.
    aarch64_insn_is_exclusive, 0x3f80_0000, 0x0800_0000;
    /// A load of the exclusive group (L = 1): `ldxr`, `ldaxr`, `ldxp`, `ldaxp`, `ldar`, ...
    aarch64_insn_is_load_ex, 0x3f40_0000, 0x0840_0000;
    /// A store of the exclusive group (L = 0): `stxr`, `stlxr`, `stxp`, `stlxp`, `stlr`, ...
    aarch64_insn_is_store_ex, 0x3f40_0000, 0x0800_0000;
    /// `b label`.
    aarch64_insn_is_b, 0xfc00_0000, 0x1400_0000;
    /// `bl label`.
    aarch64_insn_is_bl, 0xfc00_0000, 0x9400_0000;
    /// `cbz Wt|Xt, label`.
    aarch64_insn_is_cbz, 0x7f00_0000, 0x3400_0000;
    /// `cbnz Wt|Xt, label`.
    aarch64_insn_is_cbnz, 0x7f00_0000, 0x3500_0000;
    /// `tbz Rt, #bit, label`.
    aarch64_insn_is_tbz, 0x7f00_0000, 0x3600_0000;
    /// `tbnz Rt, #bit, label`.
    aarch64_insn_is_tbnz, 0x7f00_0000, 0x3700_0000;
    /// `b.cond label` (bit 4 clear; with bit 4 set it is FEAT_HBC's `bc.cond`).
    aarch64_insn_is_bcond, 0xff00_0010, 0x5400_0000;
    /// `svc #imm`.
    aarch64_insn_is_svc, 0xffe0_001f, 0xd400_0001;
    /// `hvc #imm`.
    aarch64_insn_is_hvc, 0xffe0_001f, 0xd400_0002;
    /// `smc #imm`.
    aarch64_insn_is_smc, 0xffe0_001f, 0xd400_0003;
    /// `brk #imm`.
    aarch64_insn_is_brk, 0xffe0_001f, 0xd420_0000;
    /// The exception-generation group: `svc`, `hvc`, `smc`, `brk`, `hlt`, `dcps1-3`, ...
    aarch64_insn_is_exception, 0xff00_0000, 0xd400_0000;
    /// `hint #imm` (`nop`, `yield`, `wfe`, `bti`, `paciasp`, ...); the immediate is bits [11:5].
    aarch64_insn_is_hint, 0xffff_f01f, 0xd503_201f;
    /// `br Xn`.
    aarch64_insn_is_br, 0xffff_fc1f, 0xd61f_0000;
    /// `braa`, `brab`, `braaz`, `brabz`: `br` that authenticates the target first.
    aarch64_insn_is_br_auth, 0xfeff_f800, 0xd61f_0800;
    /// `blr Xn`.
    aarch64_insn_is_blr, 0xffff_fc1f, 0xd63f_0000;
    /// `blraa`, `blrab`, `blraaz`, `blrabz`.
    aarch64_insn_is_blr_auth, 0xfeff_f800, 0xd63f_0800;
    /// `ret Xn`.
    aarch64_insn_is_ret, 0xffff_fc1f, 0xd65f_0000;
    /// `retaa`, `retab`.
    aarch64_insn_is_ret_auth, 0xffff_fbff, 0xd65f_0bff;
    /// `eret`.
    aarch64_insn_is_eret, 0xffff_ffff, 0xd69f_03e0;
    /// `eretaa`, `eretab`.
    aarch64_insn_is_eret_auth, 0xffff_fbff, 0xd69f_0bff;
    /// `mrs Xt, <sysreg>`.
    aarch64_insn_is_mrs, 0xfff0_0000, 0xd530_0000;
    /// `msr <pstatefield>, #imm` (`msr daifset, #2`, `msr pan, #1`, ...).
    aarch64_insn_is_msr_imm, 0xfff8_f01f, 0xd500_401f;
    /// `msr <sysreg>, Xt`.
    aarch64_insn_is_msr_reg, 0xfff0_0000, 0xd510_0000;
}

/// `hint` immediates (CRm:op2 in bits [11:5], kept shifted in place as Linux's
/// `enum aarch64_insn_hint_cr_op` does) that [`aarch64_insn_is_steppable_hint`] sorts on.
pub const AARCH64_INSN_HINT_NOP: u32 = 0x00 << 5;
pub const AARCH64_INSN_HINT_YIELD: u32 = 0x01 << 5;
pub const AARCH64_INSN_HINT_WFE: u32 = 0x02 << 5;
pub const AARCH64_INSN_HINT_WFI: u32 = 0x03 << 5;
pub const AARCH64_INSN_HINT_SEV: u32 = 0x04 << 5;
pub const AARCH64_INSN_HINT_SEVL: u32 = 0x05 << 5;
pub const AARCH64_INSN_HINT_XPACLRI: u32 = 0x07 << 5;
pub const AARCH64_INSN_HINT_PACIA_1716: u32 = 0x08 << 5;
pub const AARCH64_INSN_HINT_PACIB_1716: u32 = 0x0a << 5;
pub const AARCH64_INSN_HINT_AUTIA_1716: u32 = 0x0c << 5;
pub const AARCH64_INSN_HINT_AUTIB_1716: u32 = 0x0e << 5;
pub const AARCH64_INSN_HINT_ESB: u32 = 0x10 << 5;
pub const AARCH64_INSN_HINT_PSB: u32 = 0x11 << 5;
pub const AARCH64_INSN_HINT_TSB: u32 = 0x12 << 5;
pub const AARCH64_INSN_HINT_CSDB: u32 = 0x14 << 5;
pub const AARCH64_INSN_HINT_CLEARBHB: u32 = 0x16 << 5;
pub const AARCH64_INSN_HINT_PACIAZ: u32 = 0x18 << 5;
pub const AARCH64_INSN_HINT_PACIASP: u32 = 0x19 << 5;
pub const AARCH64_INSN_HINT_PACIBZ: u32 = 0x1a << 5;
pub const AARCH64_INSN_HINT_PACIBSP: u32 = 0x1b << 5;
pub const AARCH64_INSN_HINT_AUTIAZ: u32 = 0x1c << 5;
pub const AARCH64_INSN_HINT_AUTIASP: u32 = 0x1d << 5;
pub const AARCH64_INSN_HINT_AUTIBZ: u32 = 0x1e << 5;
pub const AARCH64_INSN_HINT_AUTIBSP: u32 = 0x1f << 5;
pub const AARCH64_INSN_HINT_BTI: u32 = 0x20 << 5;
pub const AARCH64_INSN_HINT_BTIC: u32 = 0x22 << 5;
pub const AARCH64_INSN_HINT_BTIJ: u32 = 0x24 << 5;
pub const AARCH64_INSN_HINT_BTIJC: u32 = 0x26 << 5;

/// The system-register operand of `mrs`/`msr` (o0:op1:CRn:CRm:op2, bits [20:5]) as Linux's
/// `enum aarch64_insn_special_register` spells it: DAIF.
pub const AARCH64_INSN_SPCLREG_DAIF: u32 = 0xda11;

/// `adr` or `adrp`.
#[inline(always)]
pub const fn aarch64_insn_is_adr_adrp(insn: u32) -> bool {
    aarch64_insn_is_adr(insn) || aarch64_insn_is_adrp(insn)
}

/// `nop` itself, and no other hint (Linux 6.13's `aarch64_insn_is_nop`: other hints are
/// allocated to features and must not be treated as "does nothing").
#[inline(always)]
pub const fn aarch64_insn_is_nop(insn: u32) -> bool {
    insn == NOP
}

/// The Branch, exception generation and system instructions group (op0 = 0b101x), Linux's
/// `aarch64_get_insn_class(insn) == AARCH64_INSN_CLS_BR_SYS`.
#[inline(always)]
pub const fn aarch64_insn_is_class_branch_sys(insn: u32) -> bool {
    (insn >> 25) & 0xe == 0b1010
}

/// Every instruction that can write the PC: `b`, `bl`, `cbz`, `cbnz`, `tbz`, `tbnz`, `b.cond`,
/// and the register branches with and without pointer authentication (Linux's
/// `aarch64_insn_is_branch`; `eret` is tested separately).
pub const fn aarch64_insn_is_branch(insn: u32) -> bool {
    aarch64_insn_is_b(insn)
        || aarch64_insn_is_bl(insn)
        || aarch64_insn_is_cbz(insn)
        || aarch64_insn_is_cbnz(insn)
        || aarch64_insn_is_tbz(insn)
        || aarch64_insn_is_tbnz(insn)
        || aarch64_insn_is_ret(insn)
        || aarch64_insn_is_ret_auth(insn)
        || aarch64_insn_is_br(insn)
        || aarch64_insn_is_br_auth(insn)
        || aarch64_insn_is_blr(insn)
        || aarch64_insn_is_blr_auth(insn)
        || aarch64_insn_is_bcond(insn)
}

/// Instructions that compute an address from their own PC (Linux's `aarch64_insn_uses_literal`):
/// integer `ldr`/`ldrsw` (literal), `adr`/`adrp` and `prfm` (literal). The SIMD&FP
/// `ldr St|Dt|Qt, label` forms are not in Linux's list.
pub const fn aarch64_insn_uses_literal(insn: u32) -> bool {
    aarch64_insn_is_ldr_lit(insn)
        || aarch64_insn_is_ldrsw_lit(insn)
        || aarch64_insn_is_adr_adrp(insn)
        || aarch64_insn_is_prfm_lit(insn)
}

/// The hints that are safe to execute in an out-of-line slot (Linux's allow-list): `nop`, the
/// pointer-authentication *signing* hints (they only compute a PAC into a register) and BTI
/// landing pads. Everything else may trap or wait (`wfi`, `wfe`), authenticate and fault
/// (`aut*`), or has a meaning Linux has not vetted (a hint allocated to a future feature).
pub const fn aarch64_insn_is_steppable_hint(insn: u32) -> bool {
    if !aarch64_insn_is_hint(insn) {
        return false;
    }
    matches!(
        insn & 0xfe0,
        AARCH64_INSN_HINT_XPACLRI
            | AARCH64_INSN_HINT_PACIA_1716
            | AARCH64_INSN_HINT_PACIB_1716
            | AARCH64_INSN_HINT_PACIAZ
            | AARCH64_INSN_HINT_PACIASP
            | AARCH64_INSN_HINT_PACIBZ
            | AARCH64_INSN_HINT_PACIBSP
            | AARCH64_INSN_HINT_BTI
            | AARCH64_INSN_HINT_BTIC
            | AARCH64_INSN_HINT_BTIJ
            | AARCH64_INSN_HINT_BTIJC
            | AARCH64_INSN_HINT_NOP
    )
}

/// The system-register field of `mrs`/`msr` (bits [20:5]), comparable with
/// [`AARCH64_INSN_SPCLREG_DAIF`] (Linux's `aarch64_insn_extract_system_reg`).
#[inline(always)]
pub const fn aarch64_insn_extract_system_reg(insn: u32) -> u32 {
    (insn & 0x1f_ffe0) >> 5
}

/// Condition codes of `b.cond` (Linux's `enum aarch64_insn_condition`).
pub const AARCH64_INSN_COND_EQ: u32 = 0x0;
pub const AARCH64_INSN_COND_NE: u32 = 0x1;
pub const AARCH64_INSN_COND_CS: u32 = 0x2;
pub const AARCH64_INSN_COND_CC: u32 = 0x3;
pub const AARCH64_INSN_COND_MI: u32 = 0x4;
pub const AARCH64_INSN_COND_PL: u32 = 0x5;
pub const AARCH64_INSN_COND_VS: u32 = 0x6;
pub const AARCH64_INSN_COND_VC: u32 = 0x7;
pub const AARCH64_INSN_COND_HI: u32 = 0x8;
pub const AARCH64_INSN_COND_LS: u32 = 0x9;
pub const AARCH64_INSN_COND_GE: u32 = 0xa;
pub const AARCH64_INSN_COND_LT: u32 = 0xb;
pub const AARCH64_INSN_COND_GT: u32 = 0xc;
pub const AARCH64_INSN_COND_LE: u32 = 0xd;
pub const AARCH64_INSN_COND_AL: u32 = 0xe;

/// Whether condition `cond` (the low four bits are used) holds for the NZCV flags of
/// `pstate` (Linux's `aarch32_opcode_cond_checks[cond](pstate)`, the `__check_*` functions).
/// 0b1111 ("nv") behaves as "al", as the Arm ARM says.
///
/// Always inlined: it runs inside the kprobe BRK handler, which must not be traced.
#[inline(always)]
pub const fn aarch64_insn_condition_holds(cond: u32, pstate: u64) -> bool {
    use crate::ptrace::{PSR_C_BIT, PSR_N_BIT, PSR_V_BIT, PSR_Z_BIT};
    let n = pstate & PSR_N_BIT != 0;
    let z = pstate & PSR_Z_BIT != 0;
    let c = pstate & PSR_C_BIT != 0;
    let v = pstate & PSR_V_BIT != 0;
    // Conditions come in pairs: the odd member of each pair (except 0b1111) is the negation
    // of the even one, so evaluate cond[3:1] and flip on cond[0].
    let base = match (cond >> 1) & 0x7 {
        0b000 => z,            // EQ / NE
        0b001 => c,            // CS / CC
        0b010 => n,            // MI / PL
        0b011 => v,            // VS / VC
        0b100 => c && !z,      // HI / LS
        0b101 => n == v,       // GE / LT
        0b110 => n == v && !z, // GT / LE
        _ => return true,      // AL / NV
    };
    if cond & 1 != 0 { !base } else { base }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PC: u64 = 0xffff_ff80_4020_1000;
    const MIB: u64 = 1024 * 1024;

    fn reg(n: u8) -> Reg {
        Reg::new(n).unwrap()
    }

    #[test]
    fn linux_constants() {
        assert_eq!(AARCH64_INSN_SIZE, 4);
        assert_eq!(AARCH64_BREAK_MON, 0xd420_0000);
        assert_eq!(BRK64_OPCODE_KPROBES, 0xd420_0080);
        assert_eq!(BRK64_OPCODE_UPROBES, 0xd420_00a0);
        assert_eq!(BRK64_OPCODE_KPROBES_SS, 0xd420_00c0);
        assert_eq!(BRK64_OPCODE_KRETPROBES, 0xd420_00e0);
        assert_eq!(BRK64_OPCODE_BUG, 0xd421_0000);
    }

    #[test]
    fn fixed_encodings() {
        assert_eq!(nop(), 0xd503_201f);
        assert_eq!(ret(), 0xd65f_03c0);
        assert_eq!(ret_reg(reg(0)), 0xd65f_0000);
        assert_eq!(ret_reg(reg(9)), 0xd65f_0120);
        assert_eq!(mov_x9_x30(), 0xaa1e_03e9);
        assert_eq!(mov_reg(Reg::FP, reg(0)), 0xaa00_03fd);
        assert_eq!(mov_reg(reg(0), Reg::ZR), 0xaa1f_03e0);
        assert_eq!(brk(0), 0xd420_0000);
        assert_eq!(brk(0xffff), 0xd43f_ffe0);
        assert_eq!(brk(0x3e8), 0xd420_7d00);
    }

    #[test]
    fn reg_rejects_out_of_range_numbers() {
        assert_eq!(Reg::new(31), Some(Reg::ZR));
        assert_eq!(Reg::new(32), None);
        assert_eq!(Reg::new(255), None);
        assert_eq!(Reg::LR.index(), 30);
    }

    #[test]
    fn branch_encodings() {
        assert_eq!(b(PC, PC), Ok(0x1400_0000));
        assert_eq!(b(PC, PC + 4), Ok(0x1400_0001));
        assert_eq!(b(PC, PC - 4), Ok(0x17ff_ffff));
        assert_eq!(bl(PC, PC + 8), Ok(0x9400_0002));
        assert_eq!(bl(PC, PC - 8), Ok(0x97ff_fffe));
        assert_eq!(bl(PC, PC + 0x1234), Ok(0x9400_048d));
    }

    #[test]
    fn branch_range_limits() {
        let max_forward = PC + 128 * MIB - 4;
        let max_backward = PC - 128 * MIB;
        assert_eq!(b(PC, max_forward), Ok(0x15ff_ffff));
        assert_eq!(bl(PC, max_backward), Ok(0x9600_0000));
        assert_eq!(b(PC, max_forward + 4), Err(InsnError::OutOfRange));
        assert_eq!(bl(PC, max_backward - 4), Err(InsnError::OutOfRange));
        assert_eq!(bl(PC, 0), Err(InsnError::OutOfRange));
        assert_eq!(
            bl(0, 0u64.wrapping_sub(4)),
            Ok(0x97ff_ffff),
            "wraps like the CPU"
        );
        assert_eq!(bl(PC, PC ^ (1 << 63)), Err(InsnError::OutOfRange));
    }

    #[test]
    fn branch_alignment() {
        assert_eq!(b(PC + 2, PC + 8), Err(InsnError::Misaligned));
        assert_eq!(bl(PC, PC + 1), Err(InsnError::Misaligned));
        assert_eq!(bl(PC + 3, PC + 1), Err(InsnError::Misaligned));
        // Alignment is reported even when the target is also out of range.
        assert_eq!(bl(PC, PC + 512 * MIB + 2), Err(InsnError::Misaligned));
    }

    #[test]
    fn branch_round_trips_through_decode() {
        for delta in [
            0i64,
            4,
            -4,
            0x40,
            -0x1000,
            128 * 1024 * 1024 - 4,
            -128 * 1024 * 1024,
        ] {
            let target = PC.wrapping_add_signed(delta);
            let word = bl(PC, target).unwrap();
            assert_eq!(decode(word), Insn::Bl { offset: delta });
            assert_eq!(branch_target(PC, word), Some(target));
            let word = b(PC, target).unwrap();
            assert_eq!(decode(word), Insn::B { offset: delta });
            assert_eq!(branch_target(PC, word), Some(target));
        }
    }

    #[test]
    fn branch_target_only_for_b_and_bl() {
        assert_eq!(branch_target(PC, nop()), None);
        assert_eq!(branch_target(PC, ret()), None);
        assert_eq!(
            branch_target(PC, 0x5400_0040),
            None,
            "b.eq is not an unconditional branch"
        );
        assert_eq!(branch_target(PC, 0xb400_0040), None, "cbz");
    }

    #[test]
    fn decode_known_words() {
        assert_eq!(decode(0xd503_201f), Insn::Nop);
        assert_eq!(decode(0xd503_203f), Insn::Hint(1), "yield");
        assert_eq!(decode(0xd503_233f), Insn::Hint(0x19), "paciasp");
        assert_eq!(decode(0xd503_241f), Insn::Hint(0x20), "bti");
        assert_eq!(decode(0xd503_2fff), Insn::Hint(0x7f));
        assert_eq!(
            decode(BRK64_OPCODE_KPROBES),
            Insn::Brk {
                imm: KPROBES_BRK_IMM
            }
        );
        assert_eq!(decode(BRK64_OPCODE_BUG), Insn::Brk { imm: BUG_BRK_IMM });
        assert_eq!(decode(0xd43f_ffe0), Insn::Brk { imm: 0xffff });
        assert_eq!(decode(0xd65f_03c0), Insn::Ret { reg: Reg::LR });
        assert_eq!(decode(0xd65f_0020), Insn::Ret { reg: reg(1) });
        assert_eq!(
            decode(0xaa1e_03e9),
            Insn::MovReg {
                rd: Reg::X9,
                rm: Reg::LR
            }
        );
        assert_eq!(
            decode(0xaa01_03e0),
            Insn::MovReg {
                rd: reg(0),
                rm: reg(1)
            }
        );
        assert_eq!(decode(0x97ff_ffff), Insn::Bl { offset: -4 });
        assert_eq!(
            decode(0x1600_0000),
            Insn::B {
                offset: -128 * 1024 * 1024
            }
        );
    }

    #[test]
    fn decode_near_misses_are_not_the_special_forms() {
        // retaa / retab: RET-like but authenticate first.
        assert_eq!(decode(0xd65f_0bff), Insn::Other(InsnClass::BranchReg));
        assert_eq!(decode(0xd65f_0fff), Insn::Other(InsnClass::BranchReg));
        // br x30 and blr x30.
        assert_eq!(decode(0xd61f_03c0), Insn::Other(InsnClass::BranchReg));
        assert_eq!(decode(0xd63f_03c0), Insn::Other(InsnClass::BranchReg));
        // 32-bit mov w9, w30; orr x9, x1, x30 (Rn not XZR); orr with a shift; orn (N set).
        assert_eq!(decode(0x2a1e_03e9), Insn::Other(InsnClass::DataProcessing));
        assert_eq!(decode(0xaa1e_0029), Insn::Other(InsnClass::DataProcessing));
        assert_eq!(decode(0xaa1e_07e9), Insn::Other(InsnClass::DataProcessing));
        assert_eq!(decode(0xaa5e_03e9), Insn::Other(InsnClass::DataProcessing));
        assert_eq!(decode(0xaa3e_03e9), Insn::Other(InsnClass::DataProcessing));
        // hlt #0 and svc #0: exception-generating but not BRK.
        assert_eq!(decode(0xd440_0000), Insn::Other(InsnClass::Exception));
        assert_eq!(decode(0xd400_0001), Insn::Other(InsnClass::Exception));
        // A BRK word with the low bits set is unallocated, not a BRK.
        assert_eq!(decode(0xd420_0001), Insn::Other(InsnClass::Exception));
        // msr daifset, #0xf is a system instruction, not a hint.
        assert_eq!(decode(0xd503_4fdf), Insn::Other(InsnClass::System));
    }

    #[test]
    fn classify_every_group() {
        let cases: &[(u32, InsnClass, &str)] = &[
            (0x1400_0010, InsnClass::BranchImm, "b"),
            (0x9400_0010, InsnClass::BranchImm, "bl"),
            (0x5400_0040, InsnClass::CondBranch, "b.eq"),
            (0x5400_004b, InsnClass::CondBranch, "b.lt"),
            (0x5400_0050, InsnClass::CondBranch, "bc.eq"),
            (0xb400_0040, InsnClass::CompareBranch, "cbz x0"),
            (0x3500_0040, InsnClass::CompareBranch, "cbnz w0"),
            (0x3600_0040, InsnClass::TestBranch, "tbz w0, #0"),
            (0xb7f8_0040, InsnClass::TestBranch, "tbnz x0, #63"),
            (0xd61f_0000, InsnClass::BranchReg, "br x0"),
            (0xd63f_0100, InsnClass::BranchReg, "blr x8"),
            (0xd65f_03c0, InsnClass::BranchReg, "ret"),
            (0xd69f_03e0, InsnClass::BranchReg, "eret"),
            (0xd71f_0820, InsnClass::BranchReg, "braa x1, x0"),
            (0x1000_0000, InsnClass::PcRelAddr, "adr x0, ."),
            (0x9000_0000, InsnClass::PcRelAddr, "adrp x0, ."),
            (0xb000_0001, InsnClass::PcRelAddr, "adrp x1, .+0x1000"),
            (0x5800_0040, InsnClass::LoadLiteral, "ldr x0, .+8"),
            (0x1800_0040, InsnClass::LoadLiteral, "ldr w0, .+8"),
            (0x9800_0040, InsnClass::LoadLiteral, "ldrsw x0, .+8"),
            (0xd800_0040, InsnClass::LoadLiteral, "prfm pldl1keep, .+8"),
            (0x1c00_0040, InsnClass::LoadLiteral, "ldr s0, .+8"),
            (0x9c00_0040, InsnClass::LoadLiteral, "ldr q0, .+8"),
            (0xd400_0001, InsnClass::Exception, "svc #0"),
            (0xd400_0002, InsnClass::Exception, "hvc #0"),
            (0xd400_0003, InsnClass::Exception, "smc #0"),
            (0xd420_0000, InsnClass::Exception, "brk #0"),
            (0xd440_0000, InsnClass::Exception, "hlt #0"),
            (0xd503_201f, InsnClass::Hint, "nop"),
            (0xd503_205f, InsnClass::Hint, "wfe"),
            (0xd503_207f, InsnClass::Hint, "wfi"),
            (0xd503_23bf, InsnClass::Hint, "autiasp"),
            (0xd503_3f9f, InsnClass::System, "dsb sy"),
            (0xd503_3fdf, InsnClass::System, "isb"),
            (0xd538_4000, InsnClass::System, "mrs x0, spsr_el1"),
            (0xd518_4020, InsnClass::System, "msr elr_el1, x0"),
            (0xd50b_7520, InsnClass::System, "ic ivau, x0"),
            (0xd503_4fdf, InsnClass::System, "msr daifset, #0xf"),
            (0xf940_0000, InsnClass::LoadStore, "ldr x0, [x0]"),
            (
                0xa9bf_7bfd,
                InsnClass::LoadStore,
                "stp x29, x30, [sp, #-16]!",
            ),
            (0xa8c1_7bfd, InsnClass::LoadStore, "ldp x29, x30, [sp], #16"),
            (0xc85f_7c20, InsnClass::LoadStore, "ldxr x0, [x1]"),
            (0x3d80_0000, InsnClass::LoadStore, "str q0, [x0]"),
            (0x9100_0400, InsnClass::DataProcessing, "add x0, x0, #1"),
            (0xd280_0000, InsnClass::DataProcessing, "mov x0, #0"),
            (0x8b01_0000, InsnClass::DataProcessing, "add x0, x0, x1"),
            (0x9b01_7c00, InsnClass::DataProcessing, "mul x0, x0, x1"),
            (0x1e21_4000, InsnClass::DataProcessing, "fneg s0, s0"),
            (0x4ea1_1c20, InsnClass::DataProcessing, "mov v0.16b, v1.16b"),
            (0x0000_0000, InsnClass::Unknown, "udf #0"),
            (0x0000_ffff, InsnClass::Unknown, "udf #0xffff"),
            (0x0400_0000, InsnClass::Unknown, "SVE"),
            (
                0x7400_0000,
                InsnClass::Unknown,
                "unallocated in the branch group",
            ),
            (
                0xffff_ffff,
                InsnClass::DataProcessing,
                "all ones (SIMD&FP group)",
            ),
        ];
        for &(word, class, name) in cases {
            assert_eq!(classify(word), class, "{name} ({word:#010x})");
        }
    }

    #[test]
    fn decode_is_total() {
        // Every bit pattern decodes to something, without panicking; sample the space densely.
        let mut word: u32 = 0;
        loop {
            let insn = decode(word);
            if let Insn::Other(class) = insn {
                assert_eq!(class, classify(word));
            }
            match word.checked_add(0x0001_0001) {
                Some(next) => word = next,
                None => break,
            }
        }
    }

    #[test]
    fn linux_predicates_on_assembled_words() {
        // Words from llvm-mc; each predicate against its own instruction and a near miss.
        assert!(aarch64_insn_is_ldr_lit(0x5800_0040), "ldr x0, .+8");
        assert!(aarch64_insn_is_ldr_lit(0x18ff_ffc1), "ldr w1, .-8");
        assert!(!aarch64_insn_is_ldr_lit(0x5c00_0041), "ldr d1 is SIMD&FP");
        assert!(aarch64_insn_is_ldrsw_lit(0x9800_0082));
        assert!(aarch64_insn_is_prfm_lit(0xd800_0040));
        assert!(aarch64_insn_uses_literal(0x9000_0001), "adrp");
        assert!(aarch64_insn_is_exclusive(0xc85f_7c20), "ldxr");
        assert!(!aarch64_insn_is_exclusive(0xc8df_fc20), "ldar");
        assert!(aarch64_insn_is_load_ex(0xc85f_fc20), "ldaxr");
        assert!(aarch64_insn_is_store_ex(0xc802_fc20), "stlxr");
        assert!(aarch64_insn_is_bcond(0x5400_0040), "b.eq");
        assert!(!aarch64_insn_is_bcond(0x5400_0050), "bc.eq");
        assert!(aarch64_insn_is_branch(0xd63f_081f), "blraaz");
        assert!(aarch64_insn_is_ret_auth(0xd65f_0fff), "retab");
        assert!(aarch64_insn_is_eret_auth(0xd69f_0bff), "eretaa");
        assert!(aarch64_insn_is_msr_imm(0xd503_42df), "msr daifset, #2");
        assert!(aarch64_insn_is_msr_reg(0xd51b_4220), "msr daif, x0");
        assert!(aarch64_insn_is_mrs(0xd53b_4220), "mrs x0, daif");
        assert_eq!(
            aarch64_insn_extract_system_reg(0xd53b_4220),
            AARCH64_INSN_SPCLREG_DAIF
        );
        assert_eq!(
            aarch64_insn_extract_system_reg(0xd51b_4220),
            AARCH64_INSN_SPCLREG_DAIF
        );
        assert_ne!(
            aarch64_insn_extract_system_reg(0xd53b_4200),
            AARCH64_INSN_SPCLREG_DAIF,
            "nzcv"
        );
        assert!(aarch64_insn_is_nop(nop()));
        assert!(!aarch64_insn_is_nop(0xd503_203f), "yield");
        assert!(aarch64_insn_is_class_branch_sys(0xd503_201f));
        assert!(!aarch64_insn_is_class_branch_sys(0x9100_0420), "add");
    }

    #[test]
    fn steppable_hints_are_linux_allow_list() {
        let allowed: Vec<u32> = (0..128u32)
            .map(|imm| NOP | (imm << 5))
            .filter(|&word| aarch64_insn_is_steppable_hint(word))
            .map(|word| (word >> 5) & 0x7f)
            .collect();
        // nop, xpaclri, pacia1716, pacib1716, paciaz, paciasp, pacibz, pacibsp, bti, bti c/j/jc.
        assert_eq!(
            allowed,
            [
                0x00, 0x07, 0x08, 0x0a, 0x18, 0x19, 0x1a, 0x1b, 0x20, 0x22, 0x24, 0x26
            ]
        );
        assert!(!aarch64_insn_is_steppable_hint(0xd503_3f9f), "dsb sy");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            InsnError::Misaligned.to_string(),
            "A64 instructions must be word aligned"
        );
        assert_eq!(
            InsnError::OutOfRange.to_string(),
            "branch target out of range (+/-128 MiB)"
        );
    }
}
