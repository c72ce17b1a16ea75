//! The kernel's symbol table, made after linking: every function and data object of the linked
//! ELF (Linux's kallsyms with `CONFIG_KALLSYMS_ALL`), demangled and encoded with the kernel's
//! own table format, written into the `.kallsyms` section the linker script reserves. Writing in
//! place keeps every address the same, so the table describes the very image it is part of.

use object::elf::{
    SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, STB_LOCAL, STB_WEAK, STT_FUNC, STT_OBJECT,
};
use object::read::elf::{ElfFile64, SectionHeader, Sym};
use object::{Object, ObjectSection, ObjectSymbol};

/// The table format shared with the kernel. xtask only encodes (and checks that the result
/// decodes); the lookup half is the kernel's.
#[allow(dead_code)]
#[path = "../../kernel/src/symbols/format.rs"]
mod format;

/// The name of the reserved section, bracketed by `__kallsyms_start`/`__kallsyms_end`.
const SECTION: &str = ".kallsyms";

/// A symbol, as `/proc/kallsyms` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSymbol {
    /// Its (virtual) start address.
    pub addr: u64,
    /// Its size in bytes.
    pub size: u32,
    /// nm's type letter, as Linux writes it: `T` text, `D` data, `B` bss, `R` read-only data,
    /// lower case for a local symbol; `W`/`V` for a weak function/object.
    pub kind: u8,
    /// The demangled name without the hash: `kernel::workload::fib`.
    pub name: String,
}

/// Every function (STT_FUNC in an executable section) and data object (STT_OBJECT in another
/// allocated section) of `elf` with a nonzero size, sorted by address then name.
pub fn symbols(elf: &[u8]) -> Result<Vec<KernelSymbol>, String> {
    let file = ElfFile64::<object::Endianness>::parse(elf)
        .map_err(|error| format!("not a 64-bit ELF: {error}"))?;
    let endian = file.endian();
    let mut symbols = Vec::new();
    for symbol in file.symbols() {
        let raw = symbol.elf_symbol();
        let Some(section) = section_flags(&file, &symbol) else {
            continue;
        };
        if raw.st_size(endian) == 0 {
            continue;
        }
        let Some(kind) = type_letter(raw.st_type(), raw.st_bind(), section) else {
            continue;
        };
        let mangled = symbol
            .name()
            .map_err(|error| format!("unreadable symbol name: {error}"))?;
        let size = u32::try_from(raw.st_size(endian))
            .map_err(|_| format!("symbol `{mangled}` is larger than 4 GiB"))?;
        symbols.push(KernelSymbol {
            addr: raw.st_value(endian),
            size,
            kind,
            name: format!("{:#}", rustc_demangle::demangle(mangled)),
        });
    }
    symbols.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));
    symbols.dedup();
    Ok(symbols)
}

/// What the symbol's section is, for [`type_letter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SectionFlags {
    /// `sh_flags` (SHF_*).
    flags: u64,
    /// `sh_type` is SHT_NOBITS: zero-filled at load (bss).
    nobits: bool,
}

fn section_flags<'data>(
    file: &ElfFile64<'data, object::Endianness>,
    symbol: &impl ObjectSymbol<'data>,
) -> Option<SectionFlags> {
    let header = file
        .elf_section_table()
        .section(symbol.section_index()?)
        .ok()?;
    Some(SectionFlags {
        flags: header.sh_flags(file.endian()),
        nobits: header.sh_type(file.endian()) == SHT_NOBITS,
    })
}

/// nm's letter for a symbol of ELF type `st_type` and binding `st_bind` in `section`, or `None`
/// if kallsyms leaves it out: a function outside executable code, an object outside the loaded
/// image or inside its code, or any other type (sections, files, TLS, labels).
fn type_letter(st_type: u8, st_bind: u8, section: SectionFlags) -> Option<u8> {
    let has = |flag: u32| section.flags & u64::from(flag) != 0;
    let (local, weak) = match st_type {
        STT_FUNC if has(SHF_EXECINSTR) => (b't', b'W'),
        STT_OBJECT if has(SHF_ALLOC) && !has(SHF_EXECINSTR) => {
            let local = if section.nobits {
                b'b'
            } else if has(SHF_WRITE) {
                b'd'
            } else {
                b'r'
            };
            (local, b'V')
        }
        _ => return None,
    };
    Some(match st_bind {
        STB_LOCAL => local,
        STB_WEAK => weak,
        _ => local.to_ascii_uppercase(),
    })
}

/// Encodes `symbols` in the kernel's table format.
pub fn encode(symbols: &[KernelSymbol]) -> Vec<u8> {
    let entries: Vec<format::SymbolIn<'_>> = symbols
        .iter()
        .map(|symbol| format::SymbolIn {
            addr: symbol.addr,
            size: symbol.size,
            kind: symbol.kind,
            name: &symbol.name,
        })
        .collect();
    format::encode(&entries)
}

/// An image with its symbol table in place.
pub struct Embedded {
    /// The whole ELF file.
    pub elf: Vec<u8>,
    /// The number of symbols in the table.
    pub symbols: usize,
    /// The size of the `.kallsyms` section the table had to fit in.
    pub reserved: usize,
}

/// A copy of `elf` whose `.kallsyms` section holds `table` (and zeros after it).
pub fn embed(elf: &[u8], table: &[u8]) -> Result<Embedded, String> {
    let file = ElfFile64::<object::Endianness>::parse(elf)
        .map_err(|error| format!("not a 64-bit ELF: {error}"))?;
    let section = file
        .section_by_name(SECTION)
        .ok_or(format!("no {SECTION} section: linker.ld must reserve it"))?;
    let (offset, size) = section.file_range().ok_or(format!(
        "the {SECTION} section has no bytes in the file (is it NOBITS?)"
    ))?;
    let (offset, reserved) = (to_usize(offset)?, to_usize(size)?);
    if reserved == 0 {
        return Err(format!(
            "the {SECTION} section is empty: the kernel must reserve space in it"
        ));
    }
    if table.len() > reserved {
        return Err(format!(
            "the symbol table needs {} bytes but {SECTION} reserves only {reserved}: raise KALLSYMS_RESERVED",
            table.len()
        ));
    }
    let symbols = format::Table::parse(table)
        .ok_or("the encoded symbol table does not decode: the format module is broken")?
        .len();
    let mut embedded = elf.to_vec();
    let bytes = embedded
        .get_mut(offset..offset + reserved)
        .ok_or(format!("the {SECTION} section lies outside the file"))?;
    bytes.fill(0);
    bytes[..table.len()].copy_from_slice(table);
    Ok(Embedded {
        elf: embedded,
        symbols,
        reserved,
    })
}

fn to_usize(value: u64) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| format!("{value} does not fit in memory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object as Writer, Symbol, SymbolSection};
    use object::{
        Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
    };

    const FIB: &str = "_ZN6kernel8workload3fib17h0123456789abcdefE";

    struct TestElf {
        writer: Writer<'static>,
    }

    impl TestElf {
        fn new() -> Self {
            TestElf {
                writer: Writer::new(BinaryFormat::Elf, Architecture::Aarch64, Endianness::Little),
            }
        }

        fn section(
            &mut self,
            name: &str,
            kind: SectionKind,
            size: usize,
        ) -> object::write::SectionId {
            let segment = self
                .writer
                .segment_name(object::write::StandardSegment::Text)
                .to_vec();
            let id = self
                .writer
                .add_section(segment, name.as_bytes().to_vec(), kind);
            if kind == SectionKind::UninitializedData {
                self.writer.append_section_bss(id, size as u64, 8);
            } else {
                self.writer.append_section_data(id, &vec![0xaa; size], 8);
            }
            id
        }

        fn symbol(
            &mut self,
            name: &str,
            value: u64,
            size: u64,
            kind: SymbolKind,
            scope: SymbolScope,
            section: object::write::SectionId,
        ) {
            self.add(name, value, size, kind, scope, section, false);
        }

        /// A weak symbol (STB_WEAK).
        fn weak(
            &mut self,
            name: &str,
            value: u64,
            size: u64,
            kind: SymbolKind,
            section: object::write::SectionId,
        ) {
            self.add(name, value, size, kind, SymbolScope::Linkage, section, true);
        }

        #[allow(clippy::too_many_arguments)]
        fn add(
            &mut self,
            name: &str,
            value: u64,
            size: u64,
            kind: SymbolKind,
            scope: SymbolScope,
            section: object::write::SectionId,
            weak: bool,
        ) {
            self.writer.add_symbol(Symbol {
                name: name.as_bytes().to_vec(),
                value,
                size,
                kind,
                scope,
                weak,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
        }

        fn bytes(self) -> Vec<u8> {
            self.writer.write().unwrap()
        }
    }

    fn kernel_like_elf(kallsyms_size: usize) -> Vec<u8> {
        let mut elf = TestElf::new();
        let text = elf.section(".text", SectionKind::Text, 0x100);
        let rodata = elf.section(".rodata", SectionKind::ReadOnlyData, 0x40);
        let data = elf.section(".data", SectionKind::Data, 0x80);
        let bss = elf.section(".bss", SectionKind::UninitializedData, 0x110);
        if kallsyms_size > 0 {
            elf.section(SECTION, SectionKind::ReadOnlyData, kallsyms_size);
        }
        elf.symbol(
            FIB,
            0x40,
            0x20,
            SymbolKind::Text,
            SymbolScope::Linkage,
            text,
        );
        elf.symbol(
            "local_helper",
            0x10,
            0x8,
            SymbolKind::Text,
            SymbolScope::Compilation,
            text,
        );
        elf.symbol(
            "_start",
            0x0,
            0x10,
            SymbolKind::Text,
            SymbolScope::Dynamic,
            text,
        );
        elf.symbol(
            "zero_sized",
            0x80,
            0,
            SymbolKind::Text,
            SymbolScope::Linkage,
            text,
        );
        elf.symbol(
            "a_label",
            0x90,
            4,
            SymbolKind::Label,
            SymbolScope::Compilation,
            text,
        );
        elf.symbol(
            "TABLE",
            0x0,
            0x10,
            SymbolKind::Data,
            SymbolScope::Linkage,
            rodata,
        );
        elf.symbol(
            "misplaced_fn",
            0x20,
            0x10,
            SymbolKind::Text,
            SymbolScope::Linkage,
            rodata,
        );
        let local = SymbolScope::Compilation;
        let global = SymbolScope::Linkage;
        elf.symbol("FUNCTION_OPS", 0x8, 0x20, SymbolKind::Data, local, data);
        elf.symbol("GRAPH_OPS", 0x28, 0x30, SymbolKind::Data, global, data);
        elf.symbol("zero_sized_obj", 0x60, 0, SymbolKind::Data, global, data);
        elf.symbol("RX", 0x0, 0x100, SymbolKind::Data, local, bss);
        elf.symbol("TASKS", 0x100, 0x10, SymbolKind::Data, global, bss);
        elf.symbol("data_in_text", 0xa0, 4, SymbolKind::Data, local, text);
        elf.weak("weak_fn", 0x60, 8, SymbolKind::Text, text);
        elf.weak("weak_obj", 0x0, 8, SymbolKind::Data, data);
        elf.bytes()
    }

    fn kallsyms_bytes(elf: &[u8]) -> Vec<u8> {
        let file = ElfFile64::<Endianness>::parse(elf).unwrap();
        file.section_by_name(SECTION)
            .unwrap()
            .data()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn sized_functions_and_data_objects_with_nm_letters() {
        let symbols = symbols(&kernel_like_elf(64)).unwrap();
        let shown: Vec<(u64, u32, char, &str)> = symbols
            .iter()
            .map(|symbol| {
                (
                    symbol.addr,
                    symbol.size,
                    char::from(symbol.kind),
                    symbol.name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (0x0, 0x100, 'b', "RX"),
                (0x0, 0x10, 'R', "TABLE"),
                (0x0, 0x10, 'T', "_start"),
                (0x0, 0x8, 'V', "weak_obj"),
                (0x8, 0x20, 'd', "FUNCTION_OPS"),
                (0x10, 0x8, 't', "local_helper"),
                (0x28, 0x30, 'D', "GRAPH_OPS"),
                (0x40, 0x20, 'T', "kernel::workload::fib"),
                (0x60, 0x8, 'W', "weak_fn"),
                (0x100, 0x10, 'B', "TASKS"),
            ]
        );
    }

    #[test]
    fn the_table_goes_into_the_reserved_section_only() {
        let elf = kernel_like_elf(4096);
        let table = encode(&symbols(&elf).unwrap());
        let embedded = embed(&elf, &table).unwrap();
        assert_eq!(embedded.reserved, 4096);
        assert_eq!(embedded.symbols, 10);
        assert_eq!(embedded.elf.len(), elf.len());
        let section = kallsyms_bytes(&embedded.elf);
        assert_eq!(&section[..table.len()], &table[..]);
        assert!(section[table.len()..].iter().all(|&byte| byte == 0));
        let changed = elf
            .iter()
            .zip(&embedded.elf)
            .filter(|(a, b)| a != b)
            .count();
        assert!(changed <= 4096);
        // The kernel's decoder finds what we put in.
        let decoded = format::Table::parse(&section).unwrap();
        let fib = decoded.find("kernel::workload::fib").unwrap();
        assert_eq!((fib.addr, fib.size, fib.kind), (0x40, 0x20, b'T'));
        assert_eq!(decoded.lookup(0x14).unwrap().name, "local_helper");
        let ops = decoded.find("GRAPH_OPS").unwrap();
        assert_eq!((ops.addr, ops.size, ops.kind), (0x28, 0x30, b'D'));
        // Function lookups see only the functions, whatever data shares their addresses.
        let functions: Vec<&str> = decoded.functions().iter().map(|s| s.name).collect();
        assert_eq!(
            functions,
            ["_start", "local_helper", "kernel::workload::fib", "weak_fn"]
        );
    }

    #[test]
    fn a_table_that_does_not_fit_is_an_error() {
        let elf = kernel_like_elf(8);
        let table = encode(&symbols(&elf).unwrap());
        let error = embed(&elf, &table).err().unwrap();
        assert!(error.contains("reserves only 8"), "{error}");
    }

    #[test]
    fn a_missing_or_unfilled_section_is_an_error() {
        let error = embed(&kernel_like_elf(0), &[]).err().unwrap();
        assert!(error.contains("no .kallsyms section"), "{error}");

        let mut elf = TestElf::new();
        elf.section(SECTION, SectionKind::UninitializedData, 64);
        let error = embed(&elf.bytes(), &[]).err().unwrap();
        assert!(error.contains("no bytes in the file"), "{error}");
    }

    #[test]
    fn garbage_is_not_an_elf() {
        assert!(
            symbols(b"not an elf")
                .unwrap_err()
                .contains("not a 64-bit ELF")
        );
        assert!(embed(b"", &[]).err().unwrap().contains("not a 64-bit ELF"));
    }
}
