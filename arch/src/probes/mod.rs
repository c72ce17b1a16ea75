//! The arm64 half of kprobes (Linux: `arch/arm64/kernel/probes/`): deciding what to do with
//! the instruction under a probe ([`decode`]), simulating the ones that cannot run out of line,
//! and, on the machine, the XOL slots, arming and the BRK handlers ([`kprobes`]).

pub mod decode;
#[cfg(target_os = "none")]
pub mod kprobes;
