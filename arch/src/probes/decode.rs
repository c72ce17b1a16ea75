//! Which probed instructions run out of line, which are simulated, and which cannot be probed
//! (Linux: `arch/arm64/kernel/probes/decode-insn.c`, `arm_probe_decode_insn` and
//! `arm_kprobe_decode_insn`).
//!
//! The rules, in the order they are applied:
//!
//! 1. Words in a reserved or unallocated top-level group (`udf`, SME, unallocated), `bc.cond`
//!    and SIMD&FP literal loads are refused. *Not in Linux 6.12*, which steps these out of
//!    line: an undefined word would fault from the slot instead of from its own address, and the
//!    other two compute an address from the PC, so from the slot they silently do the wrong
//!    thing. See [`refused_beyond_linux`].
//! 2. `nop` is simulated ([`simulate::simulate_nop`]): it can run from a slot, but skipping it
//!    in the handler saves the slot round trip (Linux 6.13, commit ac4ad5c09b34; 6.12 steps it).
//! 3. Anything [`aarch64_insn_is_steppable`] accepts runs out of line.
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
    AARCH64_INSN_SIZE, AARCH64_INSN_SPCLREG_DAIF, aarch64_insn_extract_system_reg,
    aarch64_insn_is_adr_adrp, aarch64_insn_is_b, aarch64_insn_is_bcond, aarch64_insn_is_bl,
    aarch64_insn_is_blr, aarch64_insn_is_br, aarch64_insn_is_branch,
    aarch64_insn_is_class_branch_sys, aarch64_insn_is_class_unknown, aarch64_insn_is_cbnz,
    aarch64_insn_is_cbz, aarch64_insn_is_eret, aarch64_insn_is_eret_auth,
    aarch64_insn_is_exception, aarch64_insn_is_exclusive, aarch64_insn_is_hint,
    aarch64_insn_is_ldr_lit, aarch64_insn_is_ldrsw_lit, aarch64_insn_is_load_ex,
    aarch64_insn_is_mrs, aarch64_insn_is_msr_imm, aarch64_insn_is_msr_reg, aarch64_insn_is_nop,
    aarch64_insn_is_ret, aarch64_insn_is_steppable_hint, aarch64_insn_is_store_ex,
    aarch64_insn_is_tbnz, aarch64_insn_is_tbz, aarch64_insn_uses_literal,
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

/// `b.cond`'s FEAT_HBC sibling `bc.cond` (bit 4 set): a PC-relative branch Linux's `bcond`
/// mask does not match.
const fn is_bc_cond(insn: u32) -> bool {
    insn & 0xff00_0010 == 0x5400_0010
}

/// `ldr St|Dt|Qt, label`: the SIMD&FP literal load (V, bit 26, set), which Linux's
/// `aarch64_insn_uses_literal` does not list.
const fn is_ldr_lit_simd_fp(insn: u32) -> bool {
    insn & 0x3f00_0000 == 0x1c00_0000
}

/// The refusals this kernel adds to Linux 6.12's policy (rule 1 of the module doc): each of
/// these would be stepped out of line by Linux and misbehave there.
fn refused_beyond_linux(insn: u32) -> bool {
    // Reserved/unallocated: nothing to step; it would raise an undefined-instruction
    // exception from the slot, far from the probed code.
    aarch64_insn_is_class_unknown(insn)
        // PC-relative: from the slot it would branch relative to the slot.
        || is_bc_cond(insn)
        // PC-relative: from the slot it would load from the wrong address.
        || is_ldr_lit_simd_fp(insn)
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
        // `mrs` may read state the step changed (ELR, SPSR, the debug registers); reading
        // DAIF is the exception: the kprobe core restores it as it was before reading.
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
    } else if aarch64_insn_is_br(insn) || aarch64_insn_is_blr(insn) || aarch64_insn_is_ret(insn)
    {
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
    if refused_beyond_linux(insn) {
        return ProbeInsn::Rejected;
    }
    if aarch64_insn_is_nop(insn) {
        api.handler = Some(simulate::simulate_nop);
        return ProbeInsn::GoodNoSlot;
    }
    if aarch64_insn_is_steppable(insn) {
        return ProbeInsn::Good;
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
