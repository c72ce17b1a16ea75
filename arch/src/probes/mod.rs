//! The arm64 half of kprobes (Linux: `arch/arm64/kernel/probes/`): deciding what to do with the
//! instruction under a probe ([`decode`]), doing in software what the instructions that cannot
//! run out of line would have done ([`simulate`]), and, on the machine, the XOL slots, arming
//! and the BRK handlers ([`kprobes`]).
//!
//! A kprobe replaces the probed instruction with `brk #0x004`. When the BRK hits, the kprobe
//! core must still make the original instruction take effect, in one of three ways that
//! [`decode::arm_kprobe_decode_insn`] chooses at registration:
//!
//! - [`decode::ProbeInsn::Good`]: copy it into an executable out-of-line (XOL) slot followed by
//!   `brk #0x006`, run it there, and resume after the probed address. Right for anything whose
//!   effect does not depend on where it sits.
//! - [`decode::ProbeInsn::GoodNoSlot`]: call the [`decode::ProbeHandler`] the decoder picked,
//!   which computes the instruction's effect on the saved registers (branches and PC-relative
//!   instructions, which would see the slot's address instead of their own).
//! - [`decode::ProbeInsn::Rejected`]: refuse the probe (`-EINVAL`).
//!
//! `decode` and `simulate` build and unit-test on the host; `kprobes` only on the machine.

pub mod decode;
#[cfg(target_os = "none")]
pub mod kprobes;
pub mod simulate;
