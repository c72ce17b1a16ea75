//! Which probed instructions run out of line, which are simulated, and which cannot be probed
//! (Linux: `arch/arm64/kernel/probes/decode-insn.c`, `arm_probe_decode_insn` and
//! `arm_kprobe_decode_insn`).
//!
//! The rules, in the order they are applied:
//!
//! 1. Words [`classify`] cannot name (`udf`, unallocated encodings, SVE/SME) are refused.
//!    *Not in Linux 6.12*, which steps them out of line, where they fault from the slot.
//! 2. `nop` is simulated ([`simulate::simulate_nop`]): it can run from a slot, but skipping it
//!    in the handler saves the slot round trip (Linux 6.13, commit ac4ad5c09b34; 6.12 steps it).
//! 3. Anything Linux's `aarch64_insn_is_steppable` accepts runs out of line, unless [`classify`]
//!    puts it in a class that uses the PC: those few (`bc.cond`, SIMD&FP `ldr` (literal),
//!    unallocated branch-register encodings) are refused. *Not in Linux 6.12*, which steps
//!    them and gets the slot's address instead of theirs.
//! 4. What is left and reads or writes the PC is simulated: `b.cond`, `cbz`/`cbnz`,
//!    `tbz`/`tbnz`, `adr`/`adrp`, `b`/`bl`, `br`/`blr`/`ret`, and (kprobes only, see
//!    [`arm_kprobe_decode_insn`]) integer `ldr`/`ldrsw` (literal).
//! 5. Everything else is refused: exception generation, `eret`, `msr`, `mrs` other than of
//!    DAIF, non-allow-listed hints, pointer-authenticating branches, exclusives and `prfm`
//!    (literal).
//!
//! A kprobe is also refused when it sits between a load-exclusive and its store-exclusive
//! ([`is_probed_address_atomic`]): the BRK and the step would clear the exclusive monitor and
//! the sequence would retry forever.

use crate::insn::{
    AARCH64_INSN_SIZE, AARCH64_INSN_SPCLREG_DAIF, InsnClass, aarch64_insn_extract_system_reg,
    aarch64_insn_is_adr_adrp, aarch64_insn_is_b, aarch64_insn_is_bcond, aarch64_insn_is_bl,
    aarch64_insn_is_blr, aarch64_insn_is_br, aarch64_insn_is_branch, aarch64_insn_is_cbnz,
    aarch64_insn_is_cbz, aarch64_insn_is_class_branch_sys, aarch64_insn_is_eret,
    aarch64_insn_is_eret_auth, aarch64_insn_is_exception, aarch64_insn_is_exclusive,
    aarch64_insn_is_hint, aarch64_insn_is_ldr_lit, aarch64_insn_is_ldrsw_lit,
    aarch64_insn_is_load_ex, aarch64_insn_is_mrs, aarch64_insn_is_msr_imm, aarch64_insn_is_msr_reg,
    aarch64_insn_is_nop, aarch64_insn_is_ret, aarch64_insn_is_steppable_hint,
    aarch64_insn_is_store_ex, aarch64_insn_is_tbnz, aarch64_insn_is_tbz, aarch64_insn_uses_literal,
    classify,
};
use crate::probes::simulate;
use crate::ptrace::TrapFrame;

/// How far back [`arm_kprobe_decode_insn`] looks for an open exclusive sequence, in
/// instructions: Arm strongly recommends at most 128 bytes between a load-exclusive and its
/// store-exclusive, so 32 instructions (Linux's value).
pub const MAX_ATOMIC_CONTEXT_SIZE: usize = 128 / AARCH64_INSN_SIZE;

/// What to do with a probed instruction (Linux's `enum probe_insn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeInsn {
    /// It cannot be probed (`INSN_REJECTED`; registration fails with `-EINVAL`).
    Rejected,
    /// It is simulated by [`ArchProbeInsn::handler`]; no XOL slot (`INSN_GOOD_NO_SLOT`).
    GoodNoSlot,
    /// It runs from an XOL slot followed by `brk #0x006` (`INSN_GOOD`).
    Good,
}

/// Simulates `opcode`, which sits at `addr`, on `regs`, and sets `regs.pc` to where execution
/// continues (Linux's `probe_handler_t`).
///
/// Call it only with the word and address the decoder chose it for: the literal-load
/// simulators read memory at an address computed from `addr` (see [`simulate`]).
pub type ProbeHandler = fn(opcode: u32, addr: u64, regs: &mut TrapFrame);

/// The decoder's verdict that is not the slot (Linux's `struct arch_probe_insn`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ArchProbeInsn {
    /// The simulator, set exactly when the decoder returns [`ProbeInsn::GoodNoSlot`].
    pub handler: Option<ProbeHandler>,
}

/// Words [`classify`] cannot name: `udf`, unallocated encodings, SVE and SME. This kernel uses
/// none of them, and stepping one would fault from the slot, far from the probed code. Linux
/// 6.12 steps them.
fn is_unknown(insn: u32) -> bool {
    classify(insn) == InsnClass::Unknown
}

/// Whether `insn` is in a class that computes something from its own address or writes the PC.
/// Linux's masks miss a few of these and would step them out of line, where they use the
/// slot's address: `bc.cond` (FEAT_HBC), SIMD&FP `ldr` (literal), and unallocated encodings in
/// the branch-register group. This kernel refuses them instead.
fn uses_pc(insn: u32) -> bool {
    matches!(
        classify(insn),
        InsnClass::BranchImm
            | InsnClass::CondBranch
            | InsnClass::CompareBranch
            | InsnClass::TestBranch
            | InsnClass::BranchReg
            | InsnClass::PcRelAddr
            | InsnClass::LoadLiteral
    )
}

/// Whether `insn` does the same thing from an XOL slot as at its own address, and stepping it
/// there is safe (Linux's `aarch64_insn_is_steppable`).
fn aarch64_insn_is_steppable(insn: u32) -> bool {
    if aarch64_insn_is_class_branch_sys(insn) {
        // Branches write a PC computed from the slot's address; a deliberate exception in
        // the middle of the step is not safe; `msr` can change state (DAIF, SP, PAN, ...)
        // the step machinery relies on.
        if aarch64_insn_is_branch(insn)
            || aarch64_insn_is_msr_imm(insn)
            || aarch64_insn_is_msr_reg(insn)
            || aarch64_insn_is_exception(insn)
            || aarch64_insn_is_eret(insn)
            || aarch64_insn_is_eret_auth(insn)
        {
            return false;
        }
        // `mrs` reads the same register from the slot, except DAIF: the kprobe core masks
        // interrupts while it steps, so DAIF read there is not the probed code's DAIF.
        if aarch64_insn_is_mrs(insn) {
            return aarch64_insn_extract_system_reg(insn) != AARCH64_INSN_SPCLREG_DAIF;
        }
        // Hints are allocated to new features over time: step only the vetted ones.
        if aarch64_insn_is_hint(insn) {
            return aarch64_insn_is_steppable_hint(insn);
        }
        // Barriers, `sys` (cache and TLB maintenance), `clrex`, ...
        return true;
    }
    // A literal load or `adr` from the slot reads/computes the wrong address; an exclusive
    // access loses its monitor to the BRK and the step exception.
    !(aarch64_insn_uses_literal(insn) || aarch64_insn_is_exclusive(insn))
}

/// The simulator for a PC-reading instruction Linux simulates for every probe type, or `None`.
fn pc_relative_simulator(insn: u32) -> Option<ProbeHandler> {
    let handler: ProbeHandler = if aarch64_insn_is_bcond(insn) {
        simulate::simulate_b_cond
    } else if aarch64_insn_is_cbz(insn) || aarch64_insn_is_cbnz(insn) {
        simulate::simulate_cbz_cbnz
    } else if aarch64_insn_is_tbz(insn) || aarch64_insn_is_tbnz(insn) {
        simulate::simulate_tbz_tbnz
    } else if aarch64_insn_is_adr_adrp(insn) {
        simulate::simulate_adr_adrp
    } else if aarch64_insn_is_b(insn) || aarch64_insn_is_bl(insn) {
        simulate::simulate_b_bl
    } else if aarch64_insn_is_br(insn) || aarch64_insn_is_blr(insn) || aarch64_insn_is_ret(insn) {
        simulate::simulate_br_blr_ret
    } else {
        // Cannot be stepped out of line and is not (yet) simulated.
        return None;
    };
    Some(handler)
}

/// Decides how a probe on `insn` makes it take effect, and sets `api.handler` when it is
/// simulated (Linux's `arm_probe_decode_insn`, the part shared with uprobes: it does not
/// simulate literal loads, whose target may not be readable from the handler).
pub fn arm_probe_decode_insn(insn: u32, api: &mut ArchProbeInsn) -> ProbeInsn {
    api.handler = None;
    if is_unknown(insn) {
        return ProbeInsn::Rejected;
    }
    if aarch64_insn_is_nop(insn) {
        api.handler = Some(simulate::simulate_nop);
        return ProbeInsn::GoodNoSlot;
    }
    if aarch64_insn_is_steppable(insn) {
        // Not Linux: a PC-using word its masks do not recognise is refused, not stepped.
        return if uses_pc(insn) {
            ProbeInsn::Rejected
        } else {
            ProbeInsn::Good
        };
    }
    match pc_relative_simulator(insn) {
        Some(handler) => {
            api.handler = Some(handler);
            ProbeInsn::GoodNoSlot
        }
        None => ProbeInsn::Rejected,
    }
}

/// Whether the instruction after `preceding` (oldest first) lies inside an exclusive
/// sequence: scanning backwards, a load-exclusive comes before any store-exclusive (Linux's
/// `is_probed_address_atomic`). Linux's load/store-exclusive masks also match `ldar`/`stlr`.
pub fn is_probed_address_atomic(preceding: &[u32]) -> bool {
    for &insn in preceding.iter().rev() {
        if aarch64_insn_is_store_ex(insn) {
            return false;
        }
        if aarch64_insn_is_load_ex(insn) {
            return true;
        }
    }
    false
}

/// [`arm_probe_decode_insn`] for a kprobe (Linux's `arm_kprobe_decode_insn`): integer
/// `ldr`/`ldrsw` (literal) are simulated, since a kprobe's literal sits in mapped kernel text,
/// and a probe inside an exclusive sequence is refused.
///
/// `preceding` holds the instruction words before the probed one inside the same function,
/// oldest first; only the last [`MAX_ATOMIC_CONTEXT_SIZE`] are looked at. The caller reads them
/// from the symbol's start (as Linux uses `kallsyms_lookup_size_offset`), so the scan never
/// reads another function's code or data.
pub fn arm_kprobe_decode_insn(insn: u32, preceding: &[u32], api: &mut ArchProbeInsn) -> ProbeInsn {
    let decoded = if aarch64_insn_is_ldr_lit(insn) {
        api.handler = Some(simulate::simulate_ldr_literal);
        ProbeInsn::GoodNoSlot
    } else if aarch64_insn_is_ldrsw_lit(insn) {
        api.handler = Some(simulate::simulate_ldrsw_literal);
        ProbeInsn::GoodNoSlot
    } else {
        arm_probe_decode_insn(insn, api)
    };
    let window = &preceding[preceding.len().saturating_sub(MAX_ATOMIC_CONTEXT_SIZE)..];
    if decoded != ProbeInsn::Rejected && is_probed_address_atomic(window) {
        api.handler = None;
        return ProbeInsn::Rejected;
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::simulate::*;

    /// The verdict a test expects: rejected, stepped out of line, or simulated by a handler.
    #[derive(Clone, Copy, Debug)]
    enum Want {
        Reject,
        Xol,
        Sim(ProbeHandler),
    }
    use Want::{Reject, Sim, Xol};

    fn check(verdict: ProbeInsn, api: &ArchProbeInsn, want: Want, what: &str) {
        match want {
            Reject => {
                assert_eq!(verdict, ProbeInsn::Rejected, "{what}");
                assert!(api.handler.is_none(), "{what}: rejected with a handler");
            }
            Xol => {
                assert_eq!(verdict, ProbeInsn::Good, "{what}");
                assert!(api.handler.is_none(), "{what}: XOL with a handler");
            }
            Sim(handler) => {
                assert_eq!(verdict, ProbeInsn::GoodNoSlot, "{what}");
                let got = api.handler.map(|h| h as usize);
                assert_eq!(got, Some(handler as usize), "{what}: wrong simulator");
            }
        }
    }

    fn kprobe(insn: u32, preceding: &[u32]) -> (ProbeInsn, ArchProbeInsn) {
        let mut api = ArchProbeInsn::default();
        (arm_kprobe_decode_insn(insn, preceding, &mut api), api)
    }

    fn probe(insn: u32) -> (ProbeInsn, ArchProbeInsn) {
        let mut api = ArchProbeInsn::default();
        (arm_probe_decode_insn(insn, &mut api), api)
    }

    /// Encodings assembled with `llvm-mc -triple=aarch64 -mattr=+v8.8a,+pauth,+bti,+sb,+hbc`
    /// and read back with `llvm-objdump -d`, with the kprobe verdict of Linux 6.12 (and the
    /// deviations the module doc lists, marked "not Linux").
    const TABLE: &[(u32, &str, Want)] = &[
        // Hints: only `nop` is simulated; the PAC-signing and BTI hints step out of line.
        (0xd503_201f, "nop", Sim(simulate_nop)),
        (0xd503_203f, "yield", Reject),
        (0xd503_205f, "wfe", Reject),
        (0xd503_207f, "wfi", Reject),
        (0xd503_209f, "sev", Reject),
        (0xd503_20bf, "sevl", Reject),
        (0xd503_20ff, "xpaclri", Xol),
        (0xd503_211f, "pacia1716", Xol),
        (0xd503_215f, "pacib1716", Xol),
        (0xd503_219f, "autia1716", Reject),
        (0xd503_21df, "autib1716", Reject),
        (0xd503_221f, "esb", Reject),
        (0xd503_223f, "psb csync", Reject),
        (0xd503_225f, "tsb csync", Reject),
        (0xd503_229f, "csdb", Reject),
        (0xd503_231f, "paciaz", Xol),
        (0xd503_233f, "paciasp", Xol),
        (0xd503_235f, "pacibz", Xol),
        (0xd503_237f, "pacibsp", Xol),
        (0xd503_239f, "autiaz", Reject),
        (0xd503_23bf, "autiasp", Reject),
        (0xd503_23df, "autibz", Reject),
        (0xd503_23ff, "autibsp", Reject),
        (0xd503_241f, "bti", Xol),
        (0xd503_245f, "bti c", Xol),
        (0xd503_249f, "bti j", Xol),
        (0xd503_24df, "bti jc", Xol),
        (0xd503_2fff, "hint #0x7f", Reject),
        // Exception generation and return.
        (0xd400_0001, "svc #0", Reject),
        (0xd400_0002, "hvc #0", Reject),
        (0xd400_0003, "smc #0", Reject),
        (0xd420_0000, "brk #0", Reject),
        (0xd420_0080, "brk #0x4", Reject),
        (0xd440_0000, "hlt #0", Reject),
        (0xd4a0_0001, "dcps1", Reject),
        (0xd4a0_0002, "dcps2", Reject),
        (0xd4a0_0003, "dcps3", Reject),
        (0xd69f_03e0, "eret", Reject),
        (0xd69f_0bff, "eretaa", Reject),
        (0xd69f_0fff, "eretab", Reject),
        // Every msr is refused; mrs steps out of line except a read of DAIF.
        (0xd503_42df, "msr daifset, #2", Reject),
        (0xd503_4fff, "msr daifclr, #0xf", Reject),
        (0xd500_41bf, "msr spsel, #1", Reject),
        (0xd500_419f, "msr pan, #1", Reject),
        (0xd51b_4220, "msr daif, x0", Reject),
        (0xd518_4021, "msr elr_el1, x1", Reject),
        (0xd518_4102, "msr sp_el0, x2", Reject),
        (0xd518_d083, "msr tpidr_el1, x3", Reject),
        (0xd53b_4220, "mrs x0, daif", Reject),
        (0xd53b_4200, "mrs x0, nzcv", Xol),
        (0xd538_d081, "mrs x1, tpidr_el1", Xol),
        (0xd538_4242, "mrs x2, currentel", Xol),
        (0xd538_4023, "mrs x3, elr_el1", Xol),
        (0xd53b_e044, "mrs x4, cntvct_el0", Xol),
        // Barriers and cache/TLB maintenance step out of line.
        (0xd503_3bbf, "dmb ish", Xol),
        (0xd503_3f9f, "dsb sy", Xol),
        (0xd503_3fdf, "isb", Xol),
        (0xd503_30ff, "sb", Xol),
        (0xd503_3f5f, "clrex", Xol),
        (0xd503_309f, "ssbb", Xol),
        (0xd50b_7e20, "dc civac, x0", Xol),
        (0xd508_711f, "ic ialluis", Xol),
        (0xd508_831f, "tlbi vmalle1is", Xol),
        (0xd508_7500, "sys #0, c7, c5, #0, x0", Xol),
        // Immediate branches are simulated.
        (0x1400_0002, "b .+8", Sim(simulate_b_bl)),
        (0x97ff_fffe, "bl .-8", Sim(simulate_b_bl)),
        (0x5400_0040, "b.eq .+8", Sim(simulate_b_cond)),
        (0x54ff_ffe1, "b.ne .-4", Sim(simulate_b_cond)),
        (0x5400_000e, "b.al .", Sim(simulate_b_cond)),
        (0x5400_002f, "b.nv .+4", Sim(simulate_b_cond)),
        (0x5400_0050, "bc.eq .+8 (not Linux: stepped there)", Reject),
        (0xb400_0040, "cbz x0, .+8", Sim(simulate_cbz_cbnz)),
        (0x35ff_ffc1, "cbnz w1, .-8", Sim(simulate_cbz_cbnz)),
        (0x3600_0042, "tbz w2, #0, .+8", Sim(simulate_tbz_tbnz)),
        (0xb7ff_ffc3, "tbnz x3, #63, .-8", Sim(simulate_tbz_tbnz)),
        // Register branches: the plain forms are simulated, the authenticating ones refused.
        (0xd61f_0000, "br x0", Sim(simulate_br_blr_ret)),
        (0xd63f_03c0, "blr x30", Sim(simulate_br_blr_ret)),
        (0xd65f_03c0, "ret", Sim(simulate_br_blr_ret)),
        (0xd65f_00a0, "ret x5", Sim(simulate_br_blr_ret)),
        (0xd71f_0801, "braa x0, x1", Reject),
        (0xd71f_0c01, "brab x0, x1", Reject),
        (0xd61f_081f, "braaz x0", Reject),
        (0xd61f_0c1f, "brabz x0", Reject),
        (0xd73f_0801, "blraa x0, x1", Reject),
        (0xd63f_081f, "blraaz x0", Reject),
        (0xd65f_0bff, "retaa", Reject),
        (0xd65f_0fff, "retab", Reject),
        // PC-relative addresses and literal loads.
        (0x1000_0080, "adr x0, .+16", Sim(simulate_adr_adrp)),
        (0x9000_0001, "adrp x1, .", Sim(simulate_adr_adrp)),
        (0x1000_001f, "adr xzr, .", Sim(simulate_adr_adrp)),
        (0x5800_0040, "ldr x0, .+8", Sim(simulate_ldr_literal)),
        (0x18ff_ffc1, "ldr w1, .-8", Sim(simulate_ldr_literal)),
        (0x9800_0082, "ldrsw x2, .+16", Sim(simulate_ldrsw_literal)),
        (0xd800_0040, "prfm pldl1keep, .+8", Reject),
        (
            0x1c00_0040,
            "ldr s0, .+8 (not Linux: stepped there)",
            Reject,
        ),
        (
            0x5c00_0041,
            "ldr d1, .+8 (not Linux: stepped there)",
            Reject,
        ),
        (
            0x9c00_0042,
            "ldr q2, .+8 (not Linux: stepped there)",
            Reject,
        ),
        // Exclusives are refused; acquire/release and LSE atomics step out of line.
        (0xc85f_7c20, "ldxr x0, [x1]", Reject),
        (0x885f_7c20, "ldxr w0, [x1]", Reject),
        (0x085f_7c20, "ldxrb w0, [x1]", Reject),
        (0x485f_7c20, "ldxrh w0, [x1]", Reject),
        (0xc85f_fc20, "ldaxr x0, [x1]", Reject),
        (0xc802_7c20, "stxr w2, x0, [x1]", Reject),
        (0xc802_fc20, "stlxr w2, x0, [x1]", Reject),
        (0xc87f_0440, "ldxp x0, x1, [x2]", Reject),
        (0xc823_0440, "stxp w3, x0, x1, [x2]", Reject),
        (0xc8df_fc20, "ldar x0, [x1]", Xol),
        (0xc89f_fc20, "stlr x0, [x1]", Xol),
        (0x08df_fc20, "ldarb w0, [x1]", Xol),
        (0xf820_0041, "ldadd x0, x1, [x2]", Xol),
        (0xf8e0_8041, "swpal x0, x1, [x2]", Xol),
        (0xc8e0_fc41, "casal x0, x1, [x2]", Xol),
        // Other loads and stores, and data processing, step out of line.
        (0xf940_0020, "ldr x0, [x1]", Xol),
        (0xf900_0420, "str x0, [x1, #8]", Xol),
        (0xa9bf_7bfd, "stp x29, x30, [sp, #-16]!", Xol),
        (0xa8c1_7bfd, "ldp x29, x30, [sp], #16", Xol),
        (0x3862_6820, "ldrb w0, [x1, x2]", Xol),
        (0x3d80_0000, "str q0, [x0]", Xol),
        (0x9100_0420, "add x0, x1, #1", Xol),
        (0x9100_03fd, "mov x29, sp", Xol),
        (0xaa01_03e0, "mov x0, x1", Xol),
        (0x9b02_7c20, "mul x0, x1, x2", Xol),
        (0x9b02_0c20, "madd x0, x1, x2, x3", Xol),
        (0xf100_141f, "cmp x0, #5", Xol),
        (0x9a82_0020, "csel x0, x1, x2, eq", Xol),
        (0xd344_2c20, "ubfx x0, x1, #4, #8", Xol),
        (0x1e22_2820, "fadd s0, s1, s2", Xol),
        (0x4ea2_8420, "add v0.4s, v1.4s, v2.4s", Xol),
        // Words nothing can execute (not Linux: it steps them, and they fault in the slot).
        (0x0000_0000, "udf #0", Reject),
        (0x0000_ffff, "udf #0xffff", Reject),
        (0x0400_0000, "SVE", Reject),
        (0x7400_0000, "unallocated in the branch group", Reject),
        (
            0xd548_0000,
            "unallocated system space (op0 = 01, L = 1, bit 22)",
            Reject,
        ),
        (
            0xd600_087d,
            "unallocated branch-register encoding (not Linux)",
            Reject,
        ),
    ];

    #[test]
    fn every_class_from_the_table() {
        for &(word, name, want) in TABLE {
            let (verdict, api) = kprobe(word, &[]);
            check(verdict, &api, want, &format!("{name} ({word:#010x})"));
        }
    }

    #[test]
    fn generic_decoder_does_not_simulate_literal_loads() {
        // Linux simulates `ldr`/`ldrsw` (literal) for kprobes only: uprobes would have to read
        // user memory from the handler. The generic decoder refuses them.
        for word in [0x5800_0040, 0x18ff_ffc1, 0x9800_0082] {
            let (verdict, api) = probe(word);
            check(verdict, &api, Reject, &format!("{word:#010x}"));
        }
        // Everything else decodes as for a kprobe.
        for &(word, name, want) in TABLE {
            if aarch64_insn_is_ldr_lit(word) || aarch64_insn_is_ldrsw_lit(word) {
                continue;
            }
            let (verdict, api) = probe(word);
            check(verdict, &api, want, name);
        }
    }

    #[test]
    fn decoder_resets_a_stale_handler() {
        let mut api = ArchProbeInsn {
            handler: Some(simulate_nop),
        };
        assert_eq!(
            arm_kprobe_decode_insn(0x9100_0420, &[], &mut api),
            ProbeInsn::Good
        );
        assert!(api.handler.is_none());
    }

    #[test]
    fn linux_constants() {
        assert_eq!(MAX_ATOMIC_CONTEXT_SIZE, 32);
    }

    const LDXR: u32 = 0xc85f_7c20;
    const LDAXR: u32 = 0xc85f_fc20;
    const STXR: u32 = 0xc802_7c20;
    const STLXR: u32 = 0xc802_fc20;
    const LDAR: u32 = 0xc8df_fc20;
    const ADD: u32 = 0x9100_0420;
    const CMP: u32 = 0xf100_141f;
    const BNE: u32 = 0x54ff_ffe1;
    const LDR_LIT: u32 = 0x5800_0040;

    #[test]
    fn probe_inside_exclusive_sequence_is_refused() {
        // ldaxr; cmp; b.ne; [add]; stlxr: every instruction after the load is inside.
        for (preceding, insn) in [
            (&[LDAXR][..], CMP),
            (&[LDAXR, CMP][..], BNE),
            (&[LDAXR, CMP, BNE][..], ADD),
            (&[LDXR][..], LDR_LIT),
        ] {
            let (verdict, api) = kprobe(insn, preceding);
            check(
                verdict,
                &api,
                Reject,
                &format!("{insn:#010x} after {preceding:x?}"),
            );
        }
    }

    #[test]
    fn probe_after_a_completed_sequence_is_allowed() {
        let (verdict, api) = kprobe(ADD, &[LDXR, ADD, STXR]);
        check(verdict, &api, Xol, "after stxr");
        let (verdict, api) = kprobe(BNE, &[LDAXR, CMP, STLXR, CMP]);
        check(verdict, &api, Sim(simulate_b_cond), "b.ne after stlxr");
        // A store-exclusive seen first (scanning backwards) ends the search, even if a load
        // comes before it.
        assert!(!is_probed_address_atomic(&[LDXR, STXR, LDXR, STXR]));
        assert!(is_probed_address_atomic(&[STXR, LDXR]));
        assert!(!is_probed_address_atomic(&[]));
    }

    #[test]
    fn linux_612_counts_load_acquire_as_opening_a_sequence() {
        // Linux 6.12's load_ex mask ignores bit 23, so `ldar` (not exclusive) also refuses the
        // probes after it until a store of the group; kept as Linux has it.
        let (verdict, _) = kprobe(ADD, &[LDAR]);
        assert_eq!(verdict, ProbeInsn::Rejected);
    }

    #[test]
    fn exclusive_scan_window_is_max_atomic_context_size() {
        let mut preceding = vec![LDXR];
        preceding.extend(core::iter::repeat_n(ADD, MAX_ATOMIC_CONTEXT_SIZE - 1));
        // The load is exactly MAX_ATOMIC_CONTEXT_SIZE instructions back: still inside.
        assert_eq!(kprobe(ADD, &preceding).0, ProbeInsn::Rejected);
        // One more instruction in between and the load is out of reach.
        preceding.insert(1, ADD);
        assert_eq!(kprobe(ADD, &preceding).0, ProbeInsn::Good);
    }

    #[test]
    fn rejected_instructions_stay_rejected_outside_sequences() {
        let (verdict, api) = kprobe(STXR, &[ADD, ADD]);
        check(verdict, &api, Reject, "stxr");
    }

    #[test]
    fn sweep_invariants() {
        // Sample the whole encoding space: the decoder never panics, a handler is set exactly
        // for GoodNoSlot, and nothing that reads or writes the PC or generates an exception
        // is ever stepped out of line.
        let mut word: u32 = 0;
        loop {
            let (verdict, api) = kprobe(word, &[]);
            assert_eq!(
                api.handler.is_some(),
                verdict == ProbeInsn::GoodNoSlot,
                "{word:#010x}"
            );
            if verdict == ProbeInsn::Good {
                assert!(!uses_pc(word), "{word:#010x} stepped out of line");
                assert_ne!(classify(word), InsnClass::Exception, "{word:#010x}");
                assert!(!aarch64_insn_is_exclusive(word), "{word:#010x}");
            }
            match word.checked_add(0x0000_1003) {
                Some(next) => word = next,
                None => break,
            }
        }
    }
}
