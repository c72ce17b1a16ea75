//! The target as `gdbstub` sees it: an AArch64 user process. Our own `Arch` rather than
//! `gdbstub_arch`'s, whose description also offers every EL1 system register (which no
//! process can read) and whose register block puts fpcr before fpsr, against its own XML. This
//! description is what Linux's gdbserver sends for a process: gdb's `aarch64-core` and
//! `aarch64-fpu` features (register names, numbers and types as gdb/features/*.xml).

use core::num::NonZeroUsize;

use gdbstub::arch::{Arch, RegId};

use crate::regs::AArch64Regs;

/// An AArch64 Linux process.
pub enum AArch64User {}

impl Arch for AArch64User {
    type Usize = u64;
    type Registers = AArch64Regs;
    /// The `kind` of a `Z0` packet: the breakpoint's length, 4 on AArch64.
    type BreakpointKind = usize;
    type RegId = AArch64RegNum;

    fn target_description_xml() -> Option<&'static str> {
        Some(TARGET_XML)
    }
}

/// A register by gdb's number in [`TARGET_XML`] (0-30 x, 31 sp, 32 pc, 33 cpsr, 34-65 v,
/// 66 fpsr, 67 fpcr).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AArch64RegNum(pub usize);

/// gdb's number of the last register, fpcr.
const LAST_REGNUM: usize = 67;

impl RegId for AArch64RegNum {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let size = match id {
            0..=32 => 8,
            33 | 66 | 67 => 4,
            34..=65 => 16,
            _ => return None,
        };
        debug_assert!(id <= LAST_REGNUM);
        Some((AArch64RegNum(id), NonZeroUsize::new(size)))
    }
}

/// gdb's aarch64 target description for a process: core and FP/SIMD registers.
pub const TARGET_XML: &str = concat!(
    r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">"#,
    r#"<target version="1.0"><architecture>aarch64</architecture>"#,
    r#"<feature name="org.gnu.gdb.aarch64.core">"#,
    r#"<reg name="x0" bitsize="64" regnum="0"/><reg name="x1" bitsize="64"/>"#,
    r#"<reg name="x2" bitsize="64"/><reg name="x3" bitsize="64"/><reg name="x4" bitsize="64"/>"#,
    r#"<reg name="x5" bitsize="64"/><reg name="x6" bitsize="64"/><reg name="x7" bitsize="64"/>"#,
    r#"<reg name="x8" bitsize="64"/><reg name="x9" bitsize="64"/><reg name="x10" bitsize="64"/>"#,
    r#"<reg name="x11" bitsize="64"/><reg name="x12" bitsize="64"/>"#,
    r#"<reg name="x13" bitsize="64"/><reg name="x14" bitsize="64"/>"#,
    r#"<reg name="x15" bitsize="64"/><reg name="x16" bitsize="64"/>"#,
    r#"<reg name="x17" bitsize="64"/><reg name="x18" bitsize="64"/>"#,
    r#"<reg name="x19" bitsize="64"/><reg name="x20" bitsize="64"/>"#,
    r#"<reg name="x21" bitsize="64"/><reg name="x22" bitsize="64"/>"#,
    r#"<reg name="x23" bitsize="64"/><reg name="x24" bitsize="64"/>"#,
    r#"<reg name="x25" bitsize="64"/><reg name="x26" bitsize="64"/>"#,
    r#"<reg name="x27" bitsize="64"/><reg name="x28" bitsize="64"/>"#,
    r#"<reg name="x29" bitsize="64"/><reg name="x30" bitsize="64"/>"#,
    r#"<reg name="sp" bitsize="64" type="data_ptr"/>"#,
    r#"<reg name="pc" bitsize="64" type="code_ptr"/>"#,
    r#"<flags id="cpsr_flags" size="4">"#,
    r#"<field name="SP" start="0" end="0"/><field name="EL" start="2" end="3"/>"#,
    r#"<field name="nRW" start="4" end="4"/><field name="F" start="6" end="6"/>"#,
    r#"<field name="I" start="7" end="7"/><field name="A" start="8" end="8"/>"#,
    r#"<field name="D" start="9" end="9"/><field name="BTYPE" start="10" end="11"/>"#,
    r#"<field name="SSBS" start="12" end="12"/><field name="IL" start="20" end="20"/>"#,
    r#"<field name="SS" start="21" end="21"/><field name="PAN" start="22" end="22"/>"#,
    r#"<field name="UAO" start="23" end="23"/><field name="DIT" start="24" end="24"/>"#,
    r#"<field name="TCO" start="25" end="25"/><field name="V" start="28" end="28"/>"#,
    r#"<field name="C" start="29" end="29"/><field name="Z" start="30" end="30"/>"#,
    r#"<field name="N" start="31" end="31"/></flags>"#,
    r#"<reg name="cpsr" bitsize="32" type="cpsr_flags"/></feature>"#,
    r#"<feature name="org.gnu.gdb.aarch64.fpu">"#,
    r#"<vector id="v2d" type="ieee_double" count="2"/>"#,
    r#"<vector id="v2u" type="uint64" count="2"/><vector id="v2i" type="int64" count="2"/>"#,
    r#"<vector id="v4f" type="ieee_single" count="4"/>"#,
    r#"<vector id="v4u" type="uint32" count="4"/><vector id="v4i" type="int32" count="4"/>"#,
    r#"<vector id="v8f" type="ieee_half" count="8"/>"#,
    r#"<vector id="v8u" type="uint16" count="8"/><vector id="v8i" type="int16" count="8"/>"#,
    r#"<vector id="v16u" type="uint8" count="16"/><vector id="v16i" type="int8" count="16"/>"#,
    r#"<vector id="v1u" type="uint128" count="1"/><vector id="v1i" type="int128" count="1"/>"#,
    r#"<union id="vnd"><field name="f" type="v2d"/><field name="u" type="v2u"/>"#,
    r#"<field name="s" type="v2i"/></union>"#,
    r#"<union id="vns"><field name="f" type="v4f"/><field name="u" type="v4u"/>"#,
    r#"<field name="s" type="v4i"/></union>"#,
    r#"<union id="vnh"><field name="f" type="v8f"/><field name="u" type="v8u"/>"#,
    r#"<field name="s" type="v8i"/></union>"#,
    r#"<union id="vnb"><field name="u" type="v16u"/><field name="s" type="v16i"/></union>"#,
    r#"<union id="vnq"><field name="u" type="v1u"/><field name="s" type="v1i"/></union>"#,
    r#"<union id="aarch64v"><field name="d" type="vnd"/><field name="s" type="vns"/>"#,
    r#"<field name="h" type="vnh"/><field name="b" type="vnb"/><field name="q" type="vnq"/>"#,
    r#"</union>"#,
    r#"<reg name="v0" bitsize="128" type="aarch64v" regnum="34"/>"#,
    r#"<reg name="v1" bitsize="128" type="aarch64v"/><reg name="v2" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v3" bitsize="128" type="aarch64v"/><reg name="v4" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v5" bitsize="128" type="aarch64v"/><reg name="v6" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v7" bitsize="128" type="aarch64v"/><reg name="v8" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v9" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v10" bitsize="128" type="aarch64v"/><reg name="v11" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v12" bitsize="128" type="aarch64v"/><reg name="v13" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v14" bitsize="128" type="aarch64v"/><reg name="v15" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v16" bitsize="128" type="aarch64v"/><reg name="v17" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v18" bitsize="128" type="aarch64v"/><reg name="v19" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v20" bitsize="128" type="aarch64v"/><reg name="v21" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v22" bitsize="128" type="aarch64v"/><reg name="v23" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v24" bitsize="128" type="aarch64v"/><reg name="v25" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v26" bitsize="128" type="aarch64v"/><reg name="v27" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v28" bitsize="128" type="aarch64v"/><reg name="v29" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="v30" bitsize="128" type="aarch64v"/><reg name="v31" bitsize="128" type="aarch64v"/>"#,
    r#"<reg name="fpsr" bitsize="32"/><reg name="fpcr" bitsize="32"/></feature></target>"#,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_numbers_and_sizes() {
        let size = |id| AArch64RegNum::from_raw_id(id).map(|(_, size)| size.unwrap().get());
        assert_eq!(size(0), Some(8));
        assert_eq!(size(32), Some(8));
        assert_eq!(size(33), Some(4));
        assert_eq!(size(34), Some(16));
        assert_eq!(size(65), Some(16));
        assert_eq!(size(66), Some(4));
        assert_eq!(size(67), Some(4));
        assert_eq!(size(68), None);
    }

    #[test]
    fn the_description_lists_every_register_once_in_order() {
        let names: Vec<&str> = TARGET_XML
            .split("<reg name=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        let mut expected: Vec<String> = (0..31).map(|i| format!("x{i}")).collect();
        expected.extend(["sp", "pc", "cpsr"].map(String::from));
        expected.extend((0..32).map(|i| format!("v{i}")));
        expected.extend(["fpsr", "fpcr"].map(String::from));
        assert_eq!(names, expected);
        assert_eq!(names.len(), LAST_REGNUM + 1);
        assert_eq!(TARGET_XML.matches("<feature ").count(), 2);
        assert_eq!(TARGET_XML.matches("</feature>").count(), 2);
    }
}
