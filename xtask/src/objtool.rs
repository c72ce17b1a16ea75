//! The `noinstr` check run by `cargo xtask build` on the linked kernel, as Linux's objtool checks
//! `.noinstr.text`: no instruction in `__noinstr_text_start..__noinstr_text_end` may call or
//! branch (`bl`, `b`, `b.cond`, `cbz`/`cbnz`, `tbz`/`tbnz`, tail calls included) into a function
//! that has a patch site, except from the instrumentation regions
//! (`__instrumentation_text_start..__instrumentation_text_end`, filled by `arch::instrumentation!`).
//!
//! A callee outside the no-instrumentation text that has no patch site (a precompiled `core`
//! function, an assembly routine, a machine-outlined sequence) is followed: what it calls
//! directly is checked the same way, so `noinstr -> core helper -> traced` is caught with the
//! whole chain named. Indirect branches (`br`, `blr`) are not followed; ARCHITECTURE.md ("Code
//! that guards itself") says where they may go and how registration enforces it.
//!
//! A static branch site (`arch::static_branch_*!`, an asm-goto `nop` or `b`) is a jump, never a
//! call: the `b` it becomes when its key flips is checked like any branch the image holds, with
//! its label taken from the `__jump_table` entry (Linux's objtool reads the same table).
//!
//! A function has a patch site when `__patchable_function_entries` (between `__start_mcount_loc`
//! and `__stop_mcount_loc`) holds an entry for it: each entry is the address of the function's
//! [`PREFIX_BYTES`] of prefix NOPs, just before its symbol (`-Zpatchable-function-entry=4,2` in
//! .cargo/config.toml).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;

use object::elf::{SHF_EXECINSTR, STT_FUNC};
use object::read::elf::{ElfFile64, SectionHeader, Sym};
use object::{Object, ObjectSection, ObjectSymbol};

/// Bytes of prefix NOPs between a patch-site table entry and its function's symbol: the 2 of
/// `-Zpatchable-function-entry=4,2`.
const PREFIX_BYTES: u64 = 8;
/// Every A64 instruction is 4 bytes.
const INSN_BYTES: u64 = 4;
/// A `__jump_table` entry: `.long site - .`, `.long label - .`, `.quad key - .`.
const JUMP_ENTRY_BYTES: usize = 16;

/// A direct branch and where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Branch {
    /// Its destination.
    pub target: u64,
    /// `bl` (a call that returns here) rather than a jump (`b`, a conditional or a tail call).
    pub link: bool,
}

/// Decodes the PC-relative branches: `b`/`bl` (imm26), `b.cond`/`bc.cond` (imm19), `cbz`/`cbnz`
/// (imm19) and `tbz`/`tbnz` (imm14), all scaled by 4 from the instruction's own address `pc`.
/// Every other word (including `br`/`blr`/`ret`) is `None`.
pub fn decode_branch(pc: u64, word: u32) -> Option<Branch> {
    let (offset, link) = if word & 0x7c00_0000 == 0x1400_0000 {
        (signed_field(word, 0, 26), word & 0x8000_0000 != 0)
    } else if word & 0xff00_0000 == 0x5400_0000 || word & 0x7e00_0000 == 0x3400_0000 {
        (signed_field(word, 5, 19), false)
    } else if word & 0x7e00_0000 == 0x3600_0000 {
        (signed_field(word, 5, 14), false)
    } else {
        return None;
    };
    Some(Branch {
        target: pc.wrapping_add_signed(offset * INSN_BYTES as i64),
        link,
    })
}

/// The sign-extended `bits`-wide field of `word` starting at bit `lsb`.
fn signed_field(word: u32, lsb: u32, bits: u32) -> i64 {
    let top = 64 - bits;
    ((u64::from(word >> lsb) << top) as i64) >> top
}

/// A symbol of the image: functions, and the assembly labels that name code without a size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Its address.
    pub addr: u64,
    /// Its size in bytes (0 for a label).
    pub size: u64,
    /// Its demangled name, without the hash.
    pub name: String,
}

impl Symbol {
    fn contains(&self, addr: u64) -> bool {
        (self.addr..self.addr + self.size).contains(&addr)
    }
}

/// What the check reads from the linked kernel.
#[derive(Debug, Default)]
pub struct Image<'data> {
    /// The executable sections: start address and bytes.
    pub code: Vec<(u64, &'data [u8])>,
    /// Function symbols and code labels.
    pub symbols: Vec<Symbol>,
    /// The AArch64 mapping symbols: from each address on, data (`$d`) or code (`$x`).
    pub mapping: BTreeMap<u64, bool>,
    /// The functions that have a patch site (their symbol addresses).
    pub patchable: BTreeSet<u64>,
    /// `__noinstr_text_start..__noinstr_text_end`.
    pub noinstr: Range<u64>,
    /// `__instrumentation_text_start..__instrumentation_text_end`, inside `noinstr`.
    pub instrumentation: Range<u64>,
    /// The static branch sites of `__jump_table`: (site, label) of the jump each may become.
    pub jump_labels: Vec<(u64, u64)>,
}

/// One way out of the no-instrumentation text into traceable code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The branch in `.noinstr.text`, then one per untraced function it led through: the
    /// branch's `symbol+offset`, whether it links, and where it went.
    pub path: Vec<Hop>,
    /// Why the last hop's destination counts as traceable.
    pub end: End,
}

/// Why a destination counts as traceable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The function has a patch site.
    PatchSite,
    /// No sized symbol covers it, so the check cannot follow it.
    Unknown,
}

/// One branch on a [`Violation`]'s path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// `symbol+0xoff` of the branch.
    pub from: String,
    /// `bl` rather than a jump.
    pub link: bool,
    /// The function it enters (or `symbol+0xoff` for a branch into a function's middle).
    pub to: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, hop) in self.path.iter().enumerate() {
            if index > 0 {
                write!(f, "; ")?;
            }
            let verb = if hop.link { "calls" } else { "branches to" };
            write!(f, "{} {verb} {}", hop.from, hop.to)?;
        }
        match self.end {
            End::PatchSite => write!(f, " (has a patch site)"),
            End::Unknown => write!(f, " (code no function symbol covers)"),
        }
    }
}

/// What [`Image::reach`] remembers per function: the violation it leads to, if any.
type Memo = HashMap<u64, Option<Violation>>;

impl Image<'_> {
    /// Every violation, in address order of the branch in `.noinstr.text`; also every patch site
    /// inside `.noinstr.text` (a `noinstr` function must have none).
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems: Vec<String> = self
            .patchable
            .iter()
            .filter(|addr| self.noinstr.contains(addr))
            .map(|&addr| {
                format!(
                    "{} has a patch site but lies in .noinstr.text",
                    self.describe(addr)
                )
            })
            .collect();
        problems.extend(self.traceable_closures());
        let mut memo = HashMap::new();
        let mut pc = self.noinstr.start;
        while pc < self.noinstr.end {
            if !self.instrumentation.contains(&pc)
                && let Some(violation) = self.branch_violation(pc, &mut memo)
            {
                problems.push(violation.to_string());
            }
            pc += INSN_BYTES;
        }
        for &(site, label) in &self.jump_labels {
            let jump = Branch {
                target: label,
                link: false,
            };
            // A site that already holds its jump was checked by the scan above.
            if self.noinstr.contains(&site)
                && !self.instrumentation.contains(&site)
                && self.word(site).and_then(|word| decode_branch(site, word)) != Some(jump)
                && let Some(violation) = self.jump_violation(site, jump, &mut memo)
            {
                problems.push(violation.to_string());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Closures of functions in `.noinstr.text` (and their shims) that kept a patch site:
    /// `noinstr` covers only the named function, and a closure it passes on as `&mut dyn FnMut`
    /// is reached by an indirect call the branch scan cannot follow.
    fn traceable_closures(&self) -> Vec<String> {
        let noinstr: BTreeSet<&str> = self
            .symbols
            .iter()
            .filter(|symbol| symbol.size > 0 && self.noinstr.contains(&symbol.addr))
            .map(|symbol| without_generic_args(&symbol.name))
            .collect();
        self.symbols
            .iter()
            .filter(|symbol| self.patchable.contains(&symbol.addr))
            .filter_map(|symbol| {
                // `<parent::{closure#0} as FnOnce<()>>::call_once::{shim:vtable#0}` counts too.
                let (parent, _) = symbol.name.split_once(CLOSURE)?;
                let parent = parent.trim_start_matches('<');
                noinstr.contains(without_generic_args(parent)).then(|| {
                    format!(
                        "{} has a patch site but is a closure of noinstr {parent}",
                        symbol.name
                    )
                })
            })
            .collect()
    }

    /// The violation path starting with the instruction at `pc`, if it is a branch out of the
    /// current function that reaches traceable code.
    fn branch_violation(&self, pc: u64, memo: &mut Memo) -> Option<Violation> {
        if self.is_data(pc) {
            return None;
        }
        let branch = decode_branch(pc, self.word(pc)?)?;
        self.jump_violation(pc, branch, memo)
    }

    /// The violation path starting with `branch` at `pc`, if it leaves the current function
    /// for traceable code.
    fn jump_violation(&self, pc: u64, branch: Branch, memo: &mut Memo) -> Option<Violation> {
        if self.noinstr.contains(&branch.target)
            || self
                .function_at(pc)
                .is_some_and(|f| f.contains(branch.target))
        {
            return None;
        }
        let hop = Hop {
            from: self.describe(pc),
            link: branch.link,
            to: self.describe(branch.target),
        };
        let Some(callee) = self.function_at(branch.target) else {
            return Some(Violation {
                path: vec![hop],
                end: End::Unknown,
            });
        };
        if self.patchable.contains(&callee.addr) {
            return Some(Violation {
                path: vec![hop],
                end: End::PatchSite,
            });
        }
        let mut violation = self.reach(callee, memo)?;
        violation.path.insert(0, hop);
        Some(violation)
    }

    /// Whether the untraced function `callee` (outside `.noinstr.text`) reaches traceable code
    /// through its direct branches. Memoized; a function on the current path counts as clean,
    /// so recursion ends.
    fn reach(&self, callee: &Symbol, memo: &mut Memo) -> Option<Violation> {
        if let Some(known) = memo.get(&callee.addr) {
            return known.clone();
        }
        memo.insert(callee.addr, None);
        let found = (callee.addr..callee.addr + callee.size)
            .step_by(INSN_BYTES as usize)
            .find_map(|pc| self.branch_violation(pc, memo));
        memo.insert(callee.addr, found.clone());
        found
    }

    /// The instruction word at `addr`, if an executable section holds it.
    fn word(&self, addr: u64) -> Option<u32> {
        self.code.iter().find_map(|&(start, bytes)| {
            let offset = usize::try_from(addr.checked_sub(start)?).ok()?;
            let word = bytes.get(offset..offset + INSN_BYTES as usize)?;
            Some(u32::from_le_bytes(word.try_into().ok()?))
        })
    }

    /// Whether the last mapping symbol at or before `addr` is `$d`.
    fn is_data(&self, addr: u64) -> bool {
        self.mapping
            .range(..=addr)
            .next_back()
            .is_some_and(|(_, &data)| data)
    }

    /// The sized symbol that covers `addr`.
    fn function_at(&self, addr: u64) -> Option<&Symbol> {
        self.symbols
            .iter()
            .filter(|symbol| symbol.contains(addr))
            .min_by_key(|symbol| symbol.size)
    }

    /// `symbol+0xoff` for `addr`: the covering function, else the nearest label before it.
    fn describe(&self, addr: u64) -> String {
        let symbol = self.function_at(addr).or_else(|| {
            self.symbols
                .iter()
                .filter(|symbol| symbol.addr <= addr)
                .max_by_key(|symbol| symbol.addr)
        });
        match symbol {
            Some(symbol) if symbol.addr == addr => symbol.name.clone(),
            Some(symbol) => format!("{}+{:#x}", symbol.name, addr - symbol.addr),
            None => format!("{addr:#x}"),
        }
    }
}

/// How a demangled symbol name marks a closure of the function named before it.
const CLOSURE: &str = "::{closure#";

/// `name` without a trailing `::<...>` list of generic arguments.
fn without_generic_args(name: &str) -> &str {
    match name.strip_suffix('>').and_then(|rest| rest.rfind("::<")) {
        Some(start) => &name[..start],
        None => name,
    }
}

/// Reads the linked kernel `elf` and runs [`Image::check`] on it; on success, the size of the
/// no-instrumentation text it checked.
pub fn check_elf(elf: &[u8]) -> Result<u64, String> {
    let file = ElfFile64::<object::Endianness>::parse(elf)
        .map_err(|error| format!("not a 64-bit ELF: {error}"))?;
    let image = read_image(&file)?;
    image
        .check()
        .map(|()| image.noinstr.end - image.noinstr.start)
        .map_err(|problems| {
            format!(
                "noinstr check: {} violation(s); code in .noinstr.text must not reach a function \
             with a patch site outside `arch::instrumentation!` (see ARCHITECTURE.md, \"Code \
             that guards itself\"):\n  {}",
                problems.len(),
                problems.join("\n  ")
            )
        })
}

fn read_image<'data>(
    file: &'data ElfFile64<'data, object::Endianness>,
) -> Result<Image<'data>, String> {
    let endian = file.endian();
    let mut image = Image::default();
    let mut bounds = HashMap::new();
    for section in file.sections() {
        let flags = section.elf_section_header().sh_flags(endian);
        if flags & u64::from(SHF_EXECINSTR) != 0 {
            let bytes = section
                .data()
                .map_err(|error| format!("unreadable executable section: {error}"))?;
            image.code.push((section.address(), bytes));
        }
    }
    for symbol in file.symbols() {
        let name = symbol
            .name()
            .map_err(|error| format!("unreadable symbol name: {error}"))?;
        let raw = symbol.elf_symbol();
        let addr = raw.st_value(endian);
        match name {
            "$x" | "$d" => {
                image.mapping.insert(addr, name == "$d");
            }
            "__noinstr_text_start"
            | "__noinstr_text_end"
            | "__instrumentation_text_start"
            | "__instrumentation_text_end"
            | "__start_mcount_loc"
            | "__stop_mcount_loc" => {
                bounds.insert(name, addr);
            }
            _ if name.starts_with(".L") || name.is_empty() => {}
            _ if raw.st_type() == STT_FUNC || image.code_contains(addr) => {
                image.symbols.push(Symbol {
                    addr,
                    size: raw.st_size(endian),
                    name: format!("{:#}", rustc_demangle::demangle(name)),
                });
            }
            _ => {}
        }
    }
    let bound = |name: &str| {
        bounds
            .get(name)
            .copied()
            .ok_or(format!("no `{name}` symbol: linker.ld must define it"))
    };
    image.noinstr = bound("__noinstr_text_start")?..bound("__noinstr_text_end")?;
    image.instrumentation =
        bound("__instrumentation_text_start")?..bound("__instrumentation_text_end")?;
    let sites = bound("__start_mcount_loc")?..bound("__stop_mcount_loc")?;
    image.patchable = patch_site_table(file, sites)?
        .into_iter()
        .map(|entry| entry + PREFIX_BYTES)
        .collect();
    image.jump_labels = jump_table(file)?;
    Ok(image)
}

impl Image<'_> {
    fn code_contains(&self, addr: u64) -> bool {
        self.code
            .iter()
            .any(|&(start, bytes)| (start..start + bytes.len() as u64).contains(&addr))
    }
}

/// The 64-bit entries of the patch-site table at `range`.
fn patch_site_table(
    file: &ElfFile64<'_, object::Endianness>,
    range: Range<u64>,
) -> Result<Vec<u64>, String> {
    let section = file
        .sections()
        .find(|section| {
            let start = section.address();
            start <= range.start && range.end <= start + section.size()
        })
        .ok_or("no section holds the patch-site table")?;
    let data = section
        .data()
        .map_err(|error| format!("unreadable patch-site table: {error}"))?;
    let offset = |addr: u64| usize::try_from(addr - section.address()).unwrap_or(usize::MAX);
    let table = data
        .get(offset(range.start)..offset(range.end))
        .ok_or("the patch-site table lies outside its section's bytes")?;
    Ok(table
        .chunks_exact(8)
        .map(|entry| u64::from_le_bytes(entry.try_into().expect("8-byte chunk")))
        .collect())
}

/// (site, label) of every `__jump_table` entry: two 32-bit offsets, each from its own field,
/// then the key (arch's `JumpEntry`). An image without static branches has no such section.
fn jump_table(file: &ElfFile64<'_, object::Endianness>) -> Result<Vec<(u64, u64)>, String> {
    let Some(section) = file.section_by_name("__jump_table") else {
        return Ok(Vec::new());
    };
    let data = section
        .data()
        .map_err(|error| format!("unreadable __jump_table: {error}"))?;
    let field = |entry: &[u8], at: usize| {
        i64::from(i32::from_le_bytes(
            entry[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    Ok(data
        .chunks_exact(JUMP_ENTRY_BYTES)
        .zip((section.address()..).step_by(JUMP_ENTRY_BYTES))
        .map(|(entry, addr)| {
            (
                addr.wrapping_add_signed(field(entry, 0)),
                (addr + 4).wrapping_add_signed(field(entry, 4)),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PC: u64 = 0xffff_ff80_4020_1000;

    #[test]
    fn decodes_branch_offsets() {
        // bl +8, bl -4, b +0x1000 (as llvm-objdump prints them).
        assert_eq!(
            decode_branch(PC, 0x9400_0002),
            Some(Branch {
                target: PC + 8,
                link: true
            })
        );
        assert_eq!(decode_branch(PC, 0x97ff_ffff).unwrap().target, PC - 4);
        assert_eq!(
            decode_branch(PC, 0x1400_0400),
            Some(Branch {
                target: PC + 0x1000,
                link: false
            })
        );
        // The imm26 extremes: +128 MiB - 4 and -128 MiB.
        assert_eq!(
            decode_branch(PC, 0x15ff_ffff).unwrap().target,
            PC + (128 << 20) - 4
        );
        assert_eq!(
            decode_branch(PC, 0x9600_0000).unwrap().target,
            PC - (128 << 20)
        );
        // b.ne +0x20 and b.eq -8; bc.eq +4 (FEAT_HBC).
        assert_eq!(decode_branch(PC, 0x5400_0101).unwrap().target, PC + 0x20);
        assert_eq!(decode_branch(PC, 0x54ff_ffc0).unwrap().target, PC - 8);
        assert_eq!(decode_branch(PC, 0x5400_0030).unwrap().target, PC + 4);
        // cbz x0, +0x10; cbnz w3, -0x100000 (the imm19 minimum).
        assert_eq!(decode_branch(PC, 0xb400_0080).unwrap().target, PC + 0x10);
        assert_eq!(
            decode_branch(PC, 0x3580_0003).unwrap().target,
            PC - 0x10_0000
        );
        // tbz w1, #3, +0x40; tbnz x2, #63, -4.
        assert_eq!(decode_branch(PC, 0x3618_0201).unwrap().target, PC + 0x40);
        assert_eq!(decode_branch(PC, 0xb7ff_ffe2).unwrap().target, PC - 4);
        for word in [
            0xd503_201f_u32, // nop
            0xd63f_0100,     // blr x8
            0xd61f_0220,     // br x17
            0xd65f_03c0,     // ret
            0x9100_0000,     // add x0, x0, #0
            0xb940_0000,     // ldr w0, [x0]
            0x5800_0040,     // ldr x0, literal
        ] {
            assert_eq!(decode_branch(PC, word), None, "{word:#010x}");
        }
    }

    /// A synthetic image: `words` from `PC`, `.noinstr.text` covering the first `noinstr`
    /// words of which the first `region` are the instrumentation region.
    struct Synthetic {
        bytes: Vec<u8>,
        symbols: Vec<Symbol>,
        patchable: BTreeSet<u64>,
        mapping: BTreeMap<u64, bool>,
        /// (site, label) word indices.
        jump_labels: Vec<(usize, usize)>,
    }

    const NOP: u32 = 0xd503_201f;
    const RET: u32 = 0xd65f_03c0;

    /// `bl` (or `b`) from word `from` to word `to`.
    fn branch(from: usize, to: usize, link: bool) -> u32 {
        let offset = (to as i64 - from as i64) as u32 & 0x03ff_ffff;
        offset | if link { 0x9400_0000 } else { 0x1400_0000 }
    }

    impl Synthetic {
        fn new(words: &[u32]) -> Self {
            Synthetic {
                bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
                symbols: Vec::new(),
                patchable: BTreeSet::new(),
                mapping: BTreeMap::new(),
                jump_labels: Vec::new(),
            }
        }

        /// A static branch site at word `site` whose jump goes to word `label`.
        fn jump_label(mut self, site: usize, label: usize) -> Self {
            self.jump_labels.push((site, label));
            self
        }

        fn function(mut self, name: &str, first: usize, words: usize, patchable: bool) -> Self {
            let addr = PC + first as u64 * 4;
            self.symbols.push(Symbol {
                addr,
                size: words as u64 * 4,
                name: name.into(),
            });
            if patchable {
                self.patchable.insert(addr);
            }
            self
        }

        fn data(mut self, first: usize, words: usize) -> Self {
            self.mapping.insert(PC + first as u64 * 4, true);
            self.mapping.insert(PC + (first + words) as u64 * 4, false);
            self
        }

        fn check(&self, region: Range<usize>, noinstr: Range<usize>) -> Result<(), Vec<String>> {
            let at = |word: usize| PC + word as u64 * 4;
            Image {
                code: vec![(PC, &self.bytes)],
                symbols: self.symbols.clone(),
                mapping: self.mapping.clone(),
                patchable: self.patchable.clone(),
                noinstr: at(noinstr.start)..at(noinstr.end),
                instrumentation: at(region.start)..at(region.end),
                jump_labels: self
                    .jump_labels
                    .iter()
                    .map(|&(site, label)| (at(site), at(label)))
                    .collect(),
            }
            .check()
        }
    }

    /// Words 0..4 noinstr `entry`, 4..6 the instrumentation region, 6..8 traced `traced`,
    /// 8..10 untraced `helper` outside .noinstr.text.
    fn layout(entry: [u32; 4], region: [u32; 2], helper: [u32; 2]) -> Synthetic {
        let mut words = Vec::new();
        words.extend(entry);
        words.extend(region);
        words.extend([NOP, RET]);
        words.extend(helper);
        Synthetic::new(&words)
            .function("entry", 0, 4, false)
            .function("region<closure>", 4, 2, false)
            .function("traced", 6, 2, true)
            .function("helper", 8, 2, false)
    }

    #[test]
    fn static_branch_jumps_are_checked_as_the_branch_they_become() {
        // A `nop` site in `entry` whose label is inside `entry` is fine...
        let inside = layout([NOP, NOP, NOP, RET], [NOP, RET], [NOP, RET]).jump_label(1, 3);
        assert_eq!(inside.check(4..6, 0..6), Ok(()));
        // ...one whose label is traced code is reported as the branch it becomes, once even
        // when the image already holds that branch.
        let expected = Err(vec![
            "entry+0x4 branches to traced (has a patch site)".to_string(),
        ]);
        let out = layout([NOP, NOP, NOP, RET], [NOP, RET], [NOP, RET]).jump_label(1, 6);
        assert_eq!(out.check(4..6, 0..6), expected);
        let taken =
            layout([NOP, branch(1, 6, false), NOP, RET], [NOP, RET], [NOP, RET]).jump_label(1, 6);
        assert_eq!(taken.check(4..6, 0..6), expected);
        // Sites outside .noinstr.text are not checked.
        let helper = layout([NOP, NOP, NOP, RET], [NOP, RET], [NOP, RET]).jump_label(8, 6);
        assert_eq!(helper.check(4..6, 0..6), Ok(()));
    }

    #[test]
    fn direct_call_into_traced_code_is_reported() {
        let image = layout([NOP, branch(1, 6, true), NOP, RET], [NOP, RET], [NOP, RET]);
        assert_eq!(
            image.check(4..6, 0..6),
            Err(vec![
                "entry+0x4 calls traced (has a patch site)".to_string()
            ])
        );
    }

    #[test]
    fn tail_and_conditional_branches_are_reported() {
        let b_eq = 0x5400_0000 | (((6 - 2) as u32) << 5);
        let image = layout(
            [NOP, NOP, b_eq, branch(3, 6, false)],
            [NOP, RET],
            [NOP, RET],
        );
        assert_eq!(
            image.check(4..6, 0..6),
            Err(vec![
                "entry+0x8 branches to traced (has a patch site)".to_string(),
                "entry+0xc branches to traced (has a patch site)".to_string(),
            ])
        );
    }

    #[test]
    fn instrumentation_region_is_exempt() {
        let image = layout(
            [NOP, branch(1, 4, true), NOP, RET],
            [branch(4, 6, true), RET],
            [NOP, RET],
        );
        assert_eq!(image.check(4..6, 0..6), Ok(()));
        // The same call with no region around it is a violation.
        assert!(image.check(4..4, 0..6).is_err());
    }

    #[test]
    fn untraced_helpers_are_followed() {
        let image = layout(
            [NOP, branch(1, 8, true), NOP, RET],
            [NOP, RET],
            [branch(8, 6, false), RET],
        );
        assert_eq!(
            image.check(4..6, 0..6),
            Err(vec![
                "entry+0x4 calls helper; helper branches to traced (has a patch site)".to_string()
            ])
        );
        let clean = layout(
            [NOP, branch(1, 8, true), NOP, RET],
            [NOP, RET],
            [branch(8, 9, false), RET],
        );
        assert_eq!(clean.check(4..6, 0..6), Ok(()));
    }

    #[test]
    fn recursive_helpers_terminate() {
        // entry calls a; a and b call each other; b may also call traced (word 6).
        let words = |b_calls_traced: bool| {
            let last = if b_calls_traced {
                branch(5, 6, true)
            } else {
                RET
            };
            Synthetic::new(&[
                branch(0, 2, true),
                RET,
                branch(2, 4, true),
                RET,
                branch(4, 2, true),
                last,
                NOP,
                RET,
            ])
            .function("entry", 0, 2, false)
            .function("a", 2, 2, false)
            .function("b", 4, 2, false)
            .function("traced", 6, 2, true)
        };
        assert_eq!(words(false).check(2..2, 0..2), Ok(()));
        assert_eq!(
            words(true).check(2..2, 0..2),
            Err(vec![
                "entry calls a; a calls b; b+0x4 calls traced (has a patch site)".to_string()
            ])
        );
    }

    #[test]
    fn data_and_internal_branches_are_not_calls() {
        // A literal that decodes as `bl traced`, marked `$d`, and a branch inside `entry`.
        let image = layout(
            [NOP, branch(1, 6, true), branch(2, 0, false), RET],
            [NOP, RET],
            [NOP, RET],
        )
        .data(1, 1);
        assert_eq!(image.check(4..6, 0..6), Ok(()));
    }

    #[test]
    fn patch_site_inside_noinstr_is_reported() {
        let image = layout([NOP, NOP, NOP, RET], [NOP, RET], [NOP, RET]).function("x", 2, 2, true);
        let problems = image.check(4..6, 0..6).unwrap_err();
        assert_eq!(
            problems,
            vec!["x has a patch site but lies in .noinstr.text"]
        );
    }

    const SHIM: &str =
        "<entry::{closure#0} as core::ops::function::FnOnce<()>>::call_once::{shim:vtable#0}";

    #[test]
    fn traceable_closures_of_noinstr_code_are_reported() {
        let image = Synthetic::new(&[NOP, RET, NOP, RET, NOP, RET, NOP, RET, NOP, RET])
            .function("entry::<3>", 0, 2, false)
            .function("entry::{closure#0}", 2, 2, true)
            .function("entry::{closure#1}", 4, 2, false)
            .function("other::{closure#0}", 6, 2, true)
            .function(SHIM, 8, 2, true);
        assert_eq!(
            image.check(2..2, 0..2),
            Err(vec![
                "entry::{closure#0} has a patch site but is a closure of noinstr entry".to_string(),
                format!("{SHIM} has a patch site but is a closure of noinstr entry"),
            ])
        );
    }

    #[test]
    fn unknown_code_counts_as_traced() {
        // A call to word 10, which no symbol covers.
        let mut image = layout([NOP, branch(1, 10, true), NOP, RET], [NOP, RET], [NOP, RET]);
        image
            .bytes
            .extend([NOP, RET].iter().flat_map(|w| w.to_le_bytes()));
        assert_eq!(
            image.check(4..6, 0..6),
            Err(vec![
                "entry+0x4 calls helper+0x8 (code no function symbol covers)".to_string()
            ])
        );
    }
}
