//! Jump labels, the arm64 half of static keys (Linux: `arch/arm64/include/asm/jump_label.h`,
//! `arch/arm64/kernel/jump_label.c`).
//!
//! A static branch site is one instruction, `nop` or `b l_yes`, emitted by an `asm!` with a
//! `label` operand, plus a `__jump_table` entry that says where it is, where it jumps and which
//! key rules it. The entry is PC-relative as in Linux since 5.x: `code` and `target` are 32-bit
//! offsets from their own fields, `key` a 64-bit offset from its own field whose bit 0 is the
//! branch's polarity (1 for [`static_branch_likely!`]). Flipping a key rewrites its sites
//! between the two instructions through [`crate::patching`]; nothing at a site ever loads.
//!
//! Which instruction a site holds (Linux's `jump_label_type`): the jump while the key's state
//! differs from the branch's polarity (`enabled ^ likely`). The compiler emits the instruction
//! for the key's initial state, which its type gives at compile time ([`StaticKeyType`]).

use crate::insn::{self, InsnError};
#[cfg(target_os = "none")]
use crate::patching::{self, PatchError, TextPatch};

/// The type of a static key, as the branch macros need it at compile time: whether it starts
/// enabled (Linux's `static_key_true` / `static_key_false`). The key types themselves live in
/// `kernel` (the generic half); this crate only needs their initial state.
///
/// # Safety
///
/// The generic half reads a key's static, through its jump table address, as its own key
/// type: only that type's `repr(transparent)` wrappers may implement this.
pub unsafe trait StaticKeyType: Sync {
    /// The key's state before anything changes it.
    const INIT_ENABLED: bool;
}

/// Whether a site of `key` with polarity `likely` starts as the jump (`b`), rather than `nop`.
/// `const`, so the branch macros pick one `asm!` at compile time.
#[doc(hidden)]
pub const fn initially_jumps<K: StaticKeyType>(_key: &K, likely: bool) -> bool {
    K::INIT_ENABLED ^ likely
}

/// One `__jump_table` entry (Linux's `struct jump_entry` with `CONFIG_HAVE_ARCH_JUMP_LABEL_RELATIVE`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JumpEntry {
    /// The site, relative to this field.
    pub code: i32,
    /// The `l_yes` label the jump goes to, relative to this field.
    pub target: i32,
    /// The key, relative to this field; bit 0 is the branch's polarity (1: likely).
    pub key: i64,
}

/// Offsets of the fields from the start of an entry, as the `.long`/`.quad` lines place them.
const CODE_OFFSET: u64 = 0;
const TARGET_OFFSET: u64 = 4;
const KEY_OFFSET: u64 = 8;

/// An entry made absolute: what the generic half sorts and patches by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct JumpSite {
    /// The key's address (Linux's `jump_entry_key`).
    pub key: u64,
    /// The site's address (`jump_entry_code`).
    pub code: u64,
    /// Where the jump goes (`jump_entry_target`).
    pub target: u64,
    /// The branch's polarity (`jump_entry_is_branch`): `static_branch_likely!`.
    pub likely: bool,
}

impl JumpEntry {
    /// The entry's addresses, given the address `at` it is stored at.
    pub fn resolve(&self, at: u64) -> JumpSite {
        let key = (at + KEY_OFFSET).wrapping_add_signed(self.key);
        JumpSite {
            key: key & !1,
            code: (at + CODE_OFFSET).wrapping_add_signed(i64::from(self.code)),
            target: (at + TARGET_OFFSET).wrapping_add_signed(i64::from(self.target)),
            likely: key & 1 != 0,
        }
    }
}

impl JumpSite {
    /// Whether the site must hold the jump while its key is `enabled` (Linux's
    /// `jump_label_type`: `JUMP_LABEL_JMP` when `enabled ^ branch`).
    pub fn jumps(&self, enabled: bool) -> bool {
        enabled ^ self.likely
    }

    /// The instruction the site holds while its key is `enabled` (Linux's
    /// `aarch64_insn_gen_branch_imm` for a jump, `aarch64_insn_gen_nop` otherwise).
    pub fn insn(&self, enabled: bool) -> Result<u32, InsnError> {
        if self.jumps(enabled) {
            insn::b(self.code, self.target)
        } else {
            Ok(insn::nop())
        }
    }

    /// The patch that takes the site from its key's other state to `enabled`.
    #[cfg(target_os = "none")]
    pub fn patch(&self, enabled: bool) -> Result<TextPatch, InsnError> {
        Ok(TextPatch {
            addr: self.code,
            old: self.insn(!enabled)?,
            new: self.insn(enabled)?,
        })
    }
}

/// Writes a key change's patches, all in one stop-machine rendezvous (Linux:
/// `arch_jump_label_transform_queue` then `arch_jump_label_transform_apply`). Unlike ftrace
/// and kprobes, a static branch may sit in `noinstr` text, as in Linux: the instruction is
/// only ever `nop` or a branch inside its own function, and the rendezvous parks every other
/// CPU while it changes.
#[cfg(target_os = "none")]
pub fn arch_jump_label_transform_apply(patches: &[TextPatch]) -> Result<(), PatchError> {
    patching::patch_kernel_text_batch(patches)
}

#[cfg(target_os = "none")]
unsafe extern "C" {
    static __start___jump_table: JumpEntry;
    static __stop___jump_table: JumpEntry;
}

/// Every static branch site of the image, in link order, made absolute.
#[cfg(target_os = "none")]
pub fn jump_sites() -> impl ExactSizeIterator<Item = JumpSite> {
    // SAFETY: the linker script bounds `__jump_table` (8-byte aligned, only whole entries, each
    // emitted by the branch macros) with these two symbols.
    let table = unsafe {
        let start = &raw const __start___jump_table;
        let len = (&raw const __stop___jump_table).offset_from(start) as usize;
        core::slice::from_raw_parts(start, len)
    };
    table
        .iter()
        .map(|entry| entry.resolve(core::ptr::from_ref(entry) as u64))
}

/// One static branch site: `true` when it jumps to its label. `$likely` is the polarity, a
/// literal `true` or `false`; the key's type decides the initial instruction. Use
/// [`static_branch_likely!`] or [`static_branch_unlikely!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __static_branch {
    ($key:path, $likely:literal) => {
        'site: {
            if const { $crate::jump_label::initially_jumps(&$key, $likely) } {
                // SAFETY: one `b` to the label operand and a table entry; no register, memory or
                // flag changes (the entry is data in its own section).
                unsafe {
                    ::core::arch::asm!(
                        "1: b {l_yes}",
                        $crate::__jump_table_entry!(),
                        key = sym $key,
                        likely = const $likely as u8,
                        l_yes = label { break 'site true },
                        options(nostack, preserves_flags),
                    )
                }
            } else {
                // SAFETY: as above, with `nop` as the site.
                unsafe {
                    ::core::arch::asm!(
                        "1: nop",
                        $crate::__jump_table_entry!(),
                        key = sym $key,
                        likely = const $likely as u8,
                        l_yes = label { break 'site true },
                        options(nostack, preserves_flags),
                    )
                }
            }
            false
        }
    };
}

/// The `__jump_table` entry of the site at local label `1` (see [`JumpEntry`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __jump_table_entry {
    () => {
        concat!(
            "\n.pushsection __jump_table, \"aw\"\n",
            ".balign 8\n",
            ".long 1b - ., {l_yes} - .\n",
            ".quad {key} + {likely} - .\n",
            ".popsection",
        )
    };
}

/// Linux's `static_branch_likely(&KEY)`: `true` while `KEY` is enabled, the fall-through (a
/// `nop` at the site) being the enabled path when the key starts enabled. `KEY` is the path
/// of a `static` whose type implements [`StaticKeyType`] (kernel's `StaticKeyTrue` /
/// `StaticKeyFalse`), from any crate. Costs one instruction at the site, no load.
#[macro_export]
macro_rules! static_branch_likely {
    ($key:path) => {
        !$crate::__static_branch!($key, true)
    };
}

/// Linux's `static_branch_unlikely(&KEY)`: `true` while `KEY` is enabled, the disabled path
/// being the fall-through (a `nop` at the site) when the key starts disabled. Costs one
/// instruction at the site, no load.
#[macro_export]
macro_rules! static_branch_unlikely {
    ($key:path) => {
        $crate::__static_branch!($key, false)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: u64 = 0xffff_ff80_4030_0000;
    const CODE: u64 = 0xffff_ff80_4021_0010;
    const TARGET: u64 = 0xffff_ff80_4021_0040;
    const KEY: u64 = 0xffff_ff80_4040_0100;

    fn entry(likely: bool) -> JumpEntry {
        JumpEntry {
            code: CODE.wrapping_sub(AT) as i64 as i32,
            target: TARGET.wrapping_sub(AT + 4) as i64 as i32,
            key: (KEY + u64::from(likely)).wrapping_sub(AT + 8) as i64,
        }
    }

    #[test]
    fn entries_resolve_relative_to_their_fields() {
        assert_eq!(
            entry(false).resolve(AT),
            JumpSite {
                key: KEY,
                code: CODE,
                target: TARGET,
                likely: false
            }
        );
        let likely = entry(true).resolve(AT);
        assert_eq!((likely.key, likely.likely), (KEY, true));
    }

    #[test]
    fn the_entry_is_sixteen_bytes_as_the_asm_lays_it_out() {
        assert_eq!(core::mem::size_of::<JumpEntry>(), 16);
        assert_eq!(
            core::mem::offset_of!(JumpEntry, target) as u64,
            TARGET_OFFSET
        );
        assert_eq!(core::mem::offset_of!(JumpEntry, key) as u64, KEY_OFFSET);
    }

    #[test]
    fn unlikely_sites_jump_while_enabled() {
        let site = entry(false).resolve(AT);
        // b +0x30: imm26 = 0x30 / 4 = 12.
        assert_eq!(site.insn(true), Ok(0x1400_000c));
        assert_eq!(site.insn(false), Ok(0xd503_201f));
    }

    #[test]
    fn likely_sites_jump_while_disabled() {
        let site = entry(true).resolve(AT);
        assert_eq!(site.insn(false), Ok(0x1400_000c));
        assert_eq!(site.insn(true), Ok(0xd503_201f));
    }

    #[test]
    fn backward_targets_encode_negative_offsets() {
        let site = JumpSite {
            key: KEY,
            code: TARGET,
            target: CODE,
            likely: false,
        };
        // b -0x30: imm26 = -12 in 26 bits.
        assert_eq!(site.insn(true), Ok(0x17ff_fff4));
    }

    #[test]
    fn out_of_range_targets_are_refused() {
        let site = JumpSite {
            key: KEY,
            code: CODE,
            target: CODE + (128 << 20),
            likely: false,
        };
        assert_eq!(site.insn(true), Err(InsnError::OutOfRange));
        assert_eq!(site.insn(false), Ok(insn::nop()));
    }

    struct Off;
    // SAFETY: never read as a key (no sites).
    unsafe impl StaticKeyType for Off {
        const INIT_ENABLED: bool = false;
    }
    struct On;
    // SAFETY: as for `Off`.
    unsafe impl StaticKeyType for On {
        const INIT_ENABLED: bool = true;
    }

    #[test]
    fn the_initial_instruction_follows_the_key_type_and_polarity() {
        assert!(!initially_jumps(&Off, false));
        assert!(initially_jumps(&Off, true));
        assert!(initially_jumps(&On, false));
        assert!(!initially_jumps(&On, true));
    }
}
