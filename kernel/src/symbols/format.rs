//! The binary format of the kernel's symbol table (our kallsyms): written by `cargo xtask build`
//! into the linked image's reserved `.kallsyms` area, read in place by the kernel at run time.
//!
//! This one file is compiled into both sides: the kernel as `symbols::format`, and xtask through
//! `#[path = "../../kernel/src/symbols/format.rs"] mod format;`. So it uses only `core` and
//! `alloc`, and nothing from either crate.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! header   0  magic      b"KALLSYMS"
//!          8  version    u32, FORMAT_VERSION
//!         12  count      u32, number of entries
//!         16  functions  u32, how many of them are functions (the first ones)
//!         20  names_len  u32, bytes in the name pool
//!         24  checksum   u32, FNV-1a over the entries and the name pool
//! entries 28  count x 20 bytes: the functions sorted by address, then the data objects sorted
//!             by address:
//!               0 addr u64 | 8 size u32 | 12 name_off u32 | 16 name_len u16 | 18 kind u8 | 19 0u8
//! names       the UTF-8 names, back to back, no separators
//! ```
//!
//! Functions (kinds `T t W w`) and data objects (every other letter: `D d B b R r V v`) are two
//! sorted runs, each with its own largest size, so a lookup among the functions never walks
//! over data objects, whose sizes (a 512 KiB reserved area, a heap) would otherwise bound every
//! function lookup's walk back. [`Table::functions`] is the function run alone.
//!
//! Anything after the name pool is ignored: the reserved area is larger than the table. An area
//! that was never filled in is all zeros, which fails the magic check.

use alloc::vec::Vec;
use core::fmt;

/// Bytes the kernel reserves in `.kallsyms` for the table.
pub const KALLSYMS_RESERVED: usize = 768 * 1024;

/// Identifies a filled-in table.
const MAGIC: [u8; 8] = *b"KALLSYMS";
/// Bumped on any layout change, so a kernel never misreads another build's table.
const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 28;
const ENTRY_LEN: usize = 20;
const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// Is `kind` a function's type letter (`nm`'s `T`/`t` text, `W`/`w` weak text)?
pub fn is_function_kind(kind: u8) -> bool {
    matches!(kind, b'T' | b't' | b'W' | b'w')
}

/// A symbol handed to [`encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymbolIn<'a> {
    /// Start address.
    pub addr: u64,
    /// Length in bytes; 0 if unknown.
    pub size: u32,
    /// `nm`-style type letter, as `/proc/kallsyms` prints it: `T`/`t` functions, `D`/`d` data,
    /// `B`/`b` bss, `R`/`r` read-only data; upper case for globals.
    pub kind: u8,
    /// The (demangled) name, e.g. `kernel::workload::fib`.
    pub name: &'a str,
}

/// A symbol read from a [`Table`], borrowing its name from the table's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Start address.
    pub addr: u64,
    /// Length in bytes; 0 if unknown.
    pub size: u32,
    /// `nm`-style type letter (see [`SymbolIn::kind`]).
    pub kind: u8,
    /// The name.
    pub name: &'a str,
}

impl Symbol<'_> {
    /// Does `[addr, addr + size)` contain `target`? Never true for a symbol of size 0.
    pub fn contains(&self, target: u64) -> bool {
        target >= self.addr && target - self.addr < u64::from(self.size)
    }
}

/// Encodes `symbols` as a table that [`Table::parse`] accepts. Deterministic: functions first,
/// then data, each sorted by address, then globals before locals, then by name and size; exact
/// duplicates are dropped. Symbols the format cannot hold are left out: an empty name or one
/// longer than 65535 bytes, a kind that is not an ASCII letter, or an `addr + size` past the end
/// of the address space. The caller checks that the result fits in [`KALLSYMS_RESERVED`].
pub fn encode(symbols: &[SymbolIn<'_>]) -> Vec<u8> {
    let mut sorted: Vec<&SymbolIn<'_>> = symbols.iter().filter(|s| representable(s)).collect();
    sorted.sort_unstable_by_key(|s| order_key(s));
    sorted.dedup_by_key(|s| order_key(s));

    let mut entries = Vec::with_capacity(sorted.len() * ENTRY_LEN);
    let mut names = Vec::new();
    let mut count: u32 = 0;
    let mut functions: u32 = 0;
    for symbol in sorted {
        let name = symbol.name.as_bytes();
        let fits = names
            .len()
            .checked_add(name.len())
            .is_some_and(|end| u32::try_from(end).is_ok());
        let (Ok(name_off), Ok(name_len), true) =
            (u32::try_from(names.len()), u16::try_from(name.len()), fits)
        else {
            break;
        };
        if count == u32::MAX {
            break;
        }
        entries.extend_from_slice(&symbol.addr.to_le_bytes());
        entries.extend_from_slice(&symbol.size.to_le_bytes());
        entries.extend_from_slice(&name_off.to_le_bytes());
        entries.extend_from_slice(&name_len.to_le_bytes());
        entries.push(symbol.kind);
        entries.push(0);
        names.extend_from_slice(name);
        count += 1;
        functions += u32::from(is_function_kind(symbol.kind));
    }

    let names_len = names.len() as u32; // The loop above keeps it within u32.
    let checksum = fnv1a(fnv1a(FNV_OFFSET_BASIS, &entries), &names);
    let mut out = Vec::with_capacity(HEADER_LEN + entries.len() + names.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&functions.to_le_bytes());
    out.extend_from_slice(&names_len.to_le_bytes());
    out.extend_from_slice(&checksum.to_le_bytes());
    out.extend_from_slice(&entries);
    out.extend_from_slice(&names);
    out
}

fn representable(symbol: &SymbolIn<'_>) -> bool {
    !symbol.name.is_empty()
        && symbol.name.len() <= usize::from(u16::MAX)
        && symbol.kind.is_ascii_alphabetic()
        && symbol.addr.checked_add(u64::from(symbol.size)).is_some()
}

/// The table's order: functions first, then by address, globals (upper-case kinds) first, then
/// name, size, kind.
fn order_key<'a>(symbol: &SymbolIn<'a>) -> (bool, u64, bool, &'a str, u32, u8) {
    (
        !is_function_kind(symbol.kind),
        symbol.addr,
        symbol.kind.is_ascii_lowercase(),
        symbol.name,
        symbol.size,
        symbol.kind,
    )
}

/// 32-bit FNV-1a, continuing from `hash`.
fn fnv1a(hash: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(hash, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(FNV_PRIME)
    })
}

/// One sorted run of entries: the functions, or the data objects.
#[derive(Clone, Copy, Default)]
struct Run<'a> {
    entries: &'a [u8],
    len: usize,
    /// The largest symbol size: bounds how far back [`Run::lookup`] has to look.
    max_size: u32,
}

impl<'a> Run<'a> {
    /// Entry `i`, its name taken from `names`.
    fn get(&self, names: &'a [u8], i: usize) -> Option<Symbol<'a>> {
        if i >= self.len {
            return None;
        }
        let at = i.checked_mul(ENTRY_LEN)?;
        let entry = self.entries.get(at..at.checked_add(ENTRY_LEN)?)?;
        let addr = le_u64(entry, 0)?;
        let size = le_u32(entry, 8)?;
        let name_off = usize::try_from(le_u32(entry, 12)?).ok()?;
        let name_len = usize::from(u16::from_le_bytes([entry[16], entry[17]]));
        let (kind, reserved) = (entry[18], entry[19]);
        if reserved != 0 || !kind.is_ascii_alphabetic() || name_len == 0 {
            return None;
        }
        addr.checked_add(u64::from(size))?;
        let name = names.get(name_off..name_off.checked_add(name_len)?)?;
        let name = core::str::from_utf8(name).ok()?;
        Some(Symbol {
            addr,
            size,
            kind,
            name,
        })
    }

    /// Checks that every entry decodes, belongs in this run (`functions` or not) and that
    /// addresses never decrease; returns the run with its largest symbol size.
    fn validated(mut self, names: &'a [u8], functions: bool) -> Option<Run<'a>> {
        let mut previous_addr = 0;
        for i in 0..self.len {
            let symbol = self.get(names, i)?;
            if symbol.addr < previous_addr || is_function_kind(symbol.kind) != functions {
                return None;
            }
            previous_addr = symbol.addr;
            self.max_size = self.max_size.max(symbol.size);
        }
        Some(self)
    }

    /// See [`Table::lookup`]: a binary search, then a short walk back bounded by the largest
    /// symbol size.
    fn lookup(&self, names: &'a [u8], addr: u64) -> Option<Symbol<'a>> {
        let mut i = self.partition_point(addr);
        while i > 0 {
            i -= 1;
            let symbol = self.get(names, i)?;
            if addr - symbol.addr >= u64::from(self.max_size) {
                return None;
            }
            if symbol.contains(addr) {
                return Some(self.first_alias_containing(names, i, symbol, addr));
            }
        }
        None
    }

    /// The earliest entry before `i` with the same start as `found` that also contains `addr`.
    fn first_alias_containing(
        &self,
        names: &'a [u8],
        mut i: usize,
        mut found: Symbol<'a>,
        addr: u64,
    ) -> Symbol<'a> {
        let start = found.addr;
        while let Some(previous) = i.checked_sub(1).and_then(|p| self.get(names, p)) {
            if previous.addr != start {
                break;
            }
            if previous.contains(addr) {
                found = previous;
            }
            i -= 1;
        }
        found
    }

    /// The number of entries whose start address is `<= addr`.
    fn partition_point(&self, addr: u64) -> usize {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.addr_at(mid) {
                Some(start) if start <= addr => low = mid + 1,
                _ => high = mid,
            }
        }
        low
    }

    /// Just the start address of entry `i`, without decoding its name.
    fn addr_at(&self, i: usize) -> Option<u64> {
        if i >= self.len {
            return None;
        }
        le_u64(self.entries, i.checked_mul(ENTRY_LEN)?)
    }
}

/// A validated symbol table, decoded in place from its bytes.
#[derive(Clone, Copy, Default)]
pub struct Table<'a> {
    names: &'a [u8],
    functions: Run<'a>,
    data: Run<'a>,
}

impl fmt::Debug for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("functions", &self.functions.len)
            .field("data", &self.data.len)
            .finish_non_exhaustive()
    }
}

impl<'a> Table<'a> {
    /// A table with no symbols.
    pub const fn empty() -> Table<'a> {
        const EMPTY: Run<'static> = Run {
            entries: &[],
            len: 0,
            max_size: 0,
        };
        Table {
            names: &[],
            functions: EMPTY,
            data: EMPTY,
        }
    }

    /// Validates and opens a table: `None` unless the header, checksum and every entry are well
    /// formed, the functions come first and each run is sorted by address. Never panics,
    /// whatever the bytes.
    pub fn parse(bytes: &'a [u8]) -> Option<Table<'a>> {
        if bytes.get(..MAGIC.len())? != MAGIC || le_u32(bytes, 8)? != FORMAT_VERSION {
            return None;
        }
        let len = usize::try_from(le_u32(bytes, 12)?).ok()?;
        let functions = usize::try_from(le_u32(bytes, 16)?).ok()?;
        let names_len = usize::try_from(le_u32(bytes, 20)?).ok()?;
        let checksum = le_u32(bytes, 24)?;
        let entries_len = len.checked_mul(ENTRY_LEN)?;
        let end = HEADER_LEN
            .checked_add(entries_len)?
            .checked_add(names_len)?;
        let body = bytes.get(HEADER_LEN..end)?;
        if functions > len || fnv1a(FNV_OFFSET_BASIS, body) != checksum {
            return None;
        }
        let (entries, names) = body.split_at(entries_len);
        let (function_entries, data_entries) = entries.split_at(functions * ENTRY_LEN);
        let run = |entries, len| Run {
            entries,
            len,
            max_size: 0,
        };
        Some(Table {
            names,
            functions: run(function_entries, functions).validated(names, true)?,
            data: run(data_entries, len - functions).validated(names, false)?,
        })
    }

    /// The functions alone: what `available_filter_functions`, filters and backtraces look at.
    pub fn functions(&self) -> Table<'a> {
        Table {
            data: Run::default(),
            ..*self
        }
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.functions.len + self.data.len
    }

    /// No symbols at all (also what an image that was not post-processed has).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All symbols in address order (a function before a data object at the same address).
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            table: *self,
            function: 0,
            data: 0,
        }
    }

    /// The symbol whose `[addr, addr + size)` contains `addr`, a function before a data object.
    /// Where symbols nest, the one that starts last wins; among aliases (same start), the first
    /// in table order (globals first).
    pub fn lookup(&self, addr: u64) -> Option<Symbol<'a>> {
        self.functions
            .lookup(self.names, addr)
            .or_else(|| self.data.lookup(self.names, addr))
    }

    /// The first symbol named exactly `name`, in address order.
    pub fn find(&self, name: &str) -> Option<Symbol<'a>> {
        self.iter().find(|symbol| symbol.name == name)
    }
}

/// Iterator over a [`Table`]'s symbols in address order: the merge of its two runs.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    table: Table<'a>,
    /// The next function and the next data object.
    function: usize,
    data: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Symbol<'a>;

    fn next(&mut self) -> Option<Symbol<'a>> {
        let Table {
            names,
            functions,
            data,
        } = self.table;
        let take_data = match (functions.addr_at(self.function), data.addr_at(self.data)) {
            (Some(function), Some(data)) => data < function,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if take_data {
            let symbol = data.get(names, self.data)?;
            self.data += 1;
            Some(symbol)
        } else {
            let symbol = functions.get(names, self.function)?;
            self.function += 1;
            Some(symbol)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.table.len() - self.function - self.data;
        (left, Some(left))
    }
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sym(addr: u64, size: u32, kind: u8, name: &str) -> SymbolIn<'_> {
        SymbolIn {
            addr,
            size,
            kind,
            name,
        }
    }

    fn out(addr: u64, size: u32, kind: u8, name: &str) -> Symbol<'_> {
        Symbol {
            addr,
            size,
            kind,
            name,
        }
    }

    const BASE: u64 = 0xffff_ff80_4020_0000;

    fn sample() -> Vec<u8> {
        encode(&[
            sym(BASE + 0x200, 0x80, b'T', "kernel::workload::fib"),
            sym(BASE + 0x100, 0x40, b't', "kernel::workload::leaf"),
            sym(BASE + 0x300, 0x20, b'T', "_start"),
            sym(BASE + 0x260, 0x0, b't', "label_without_size"),
        ])
    }

    /// Re-seals a table whose body a test edited, so `parse` gets past the checksum and the
    /// structural checks are what is tested.
    fn reseal(bytes: &mut [u8]) {
        let count = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let names_len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
        let end = (HEADER_LEN + count * ENTRY_LEN + names_len).min(bytes.len());
        let checksum = fnv1a(FNV_OFFSET_BASIS, &bytes[HEADER_LEN..end]);
        bytes[24..28].copy_from_slice(&checksum.to_le_bytes());
    }

    #[test]
    fn round_trip_sorted_by_address() {
        let bytes = sample();
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(table.len(), 4);
        assert!(!table.is_empty());
        let all: Vec<_> = table.iter().collect();
        assert_eq!(
            all,
            vec![
                out(BASE + 0x100, 0x40, b't', "kernel::workload::leaf"),
                out(BASE + 0x200, 0x80, b'T', "kernel::workload::fib"),
                out(BASE + 0x260, 0x0, b't', "label_without_size"),
                out(BASE + 0x300, 0x20, b'T', "_start"),
            ]
        );
        assert_eq!(table.iter().size_hint(), (4, Some(4)));
    }

    #[test]
    fn header_layout() {
        let bytes = sample();
        assert_eq!(&bytes[..8], b"KALLSYMS");
        assert_eq!(bytes[8..12], 2u32.to_le_bytes());
        assert_eq!(bytes[12..16], 4u32.to_le_bytes());
        assert_eq!(bytes[16..20], 4u32.to_le_bytes(), "all four are functions");
        let names_len = "kernel::workload::leaf".len()
            + "kernel::workload::fib".len()
            + "label_without_size".len()
            + "_start".len();
        assert_eq!(bytes[20..24], (names_len as u32).to_le_bytes());
        assert_eq!(bytes.len(), HEADER_LEN + 4 * ENTRY_LEN + names_len);
        // First entry: leaf.
        assert_eq!(bytes[28..36], (BASE + 0x100).to_le_bytes());
        assert_eq!(bytes[36..40], 0x40u32.to_le_bytes());
        assert_eq!(bytes[40..44], 0u32.to_le_bytes());
        assert_eq!(
            bytes[44..46],
            ("kernel::workload::leaf".len() as u16).to_le_bytes()
        );
        assert_eq!(bytes[46], b't');
        assert_eq!(bytes[47], 0);
    }

    #[test]
    fn encoding_is_deterministic() {
        let a = [
            sym(8, 4, b'T', "b"),
            sym(4, 4, b't', "a"),
            sym(8, 4, b't', "a"),
        ];
        let b = [
            sym(8, 4, b't', "a"),
            sym(8, 4, b'T', "b"),
            sym(4, 4, b't', "a"),
        ];
        assert_eq!(encode(&a), encode(&b));
    }

    #[test]
    fn empty_input_encodes_an_empty_table() {
        let bytes = encode(&[]);
        assert_eq!(bytes.len(), HEADER_LEN);
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(table.len(), 0);
        assert!(table.is_empty());
        assert_eq!(table.iter().next(), None);
        assert_eq!(table.lookup(0), None);
        assert_eq!(table.find("x"), None);
    }

    #[test]
    fn unrepresentable_symbols_are_left_out() {
        let long = "x".repeat(usize::from(u16::MAX) + 1);
        let longest = "y".repeat(usize::from(u16::MAX));
        let bytes = encode(&[
            sym(0x10, 4, b'T', ""),
            sym(0x20, 4, b'?', "bad_kind"),
            sym(0x30, 4, 0, "nul_kind"),
            sym(u64::MAX - 1, 4, b'T', "wraps"),
            sym(0x40, 4, b'T', &long),
            sym(0x50, 4, b'T', &longest),
            sym(u64::MAX - 4, 4, b'T', "ends_at_the_top"),
            sym(0x60, 4, b'T', "fine"),
        ]);
        let table = Table::parse(&bytes).unwrap();
        let names: Vec<_> = table.iter().map(|s| s.name.len()).collect();
        assert_eq!(
            names,
            vec![usize::from(u16::MAX), 4, "ends_at_the_top".len()]
        );
    }

    #[test]
    fn exact_duplicates_are_dropped_aliases_kept() {
        let bytes = encode(&[
            sym(0x100, 8, b'T', "f"),
            sym(0x100, 8, b'T', "f"),
            sym(0x100, 8, b't', "f_alias"),
            sym(0x100, 8, b't', "a_alias"),
        ]);
        let table = Table::parse(&bytes).unwrap();
        let names: Vec<_> = table.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            vec!["f", "a_alias", "f_alias"],
            "globals first, then by name"
        );
    }

    #[test]
    fn lookup_edges() {
        let bytes = sample();
        let table = Table::parse(&bytes).unwrap();
        let name = |addr| table.lookup(addr).map(|s| s.name);
        assert_eq!(name(0), None);
        assert_eq!(name(BASE + 0xff), None, "just before the first symbol");
        assert_eq!(
            name(BASE + 0x100),
            Some("kernel::workload::leaf"),
            "first byte"
        );
        assert_eq!(
            name(BASE + 0x13f),
            Some("kernel::workload::leaf"),
            "last byte"
        );
        assert_eq!(name(BASE + 0x140), None, "one past the end: a gap");
        assert_eq!(name(BASE + 0x1ff), None);
        assert_eq!(name(BASE + 0x214), Some("kernel::workload::fib"));
        assert_eq!(
            name(BASE + 0x260),
            Some("kernel::workload::fib"),
            "a size-0 symbol contains nothing"
        );
        assert_eq!(name(BASE + 0x27f), Some("kernel::workload::fib"));
        assert_eq!(name(BASE + 0x280), None);
        assert_eq!(name(BASE + 0x2ff), None);
        assert_eq!(name(BASE + 0x31f), Some("_start"));
        assert_eq!(name(BASE + 0x320), None, "past the last symbol");
        assert_eq!(name(u64::MAX), None);
    }

    #[test]
    fn lookup_prefers_innermost_then_first_alias() {
        let bytes = encode(&[
            sym(0x1000, 0x100, b'T', "outer"),
            sym(0x1040, 0x10, b't', "inner"),
            sym(0x1040, 0x20, b't', "inner_alias_longer"),
            sym(0x1040, 0x10, b'T', "inner_global"),
            sym(0x2000, 0x10, b't', "b_local"),
            sym(0x2000, 0x10, b't', "a_local"),
        ]);
        let table = Table::parse(&bytes).unwrap();
        let name = |addr| table.lookup(addr).map(|s| s.name);
        assert_eq!(name(0x1000), Some("outer"));
        assert_eq!(name(0x1044), Some("inner_global"));
        assert_eq!(
            name(0x1054),
            Some("inner_alias_longer"),
            "only that alias reaches"
        );
        assert_eq!(name(0x1060), Some("outer"), "after the nested ones end");
        assert_eq!(name(0x10ff), Some("outer"));
        assert_eq!(name(0x1100), None);
        assert_eq!(name(0x2008), Some("a_local"));
    }

    #[test]
    fn lookup_with_only_zero_sized_symbols() {
        let bytes = encode(&[sym(0x10, 0, b'T', "a"), sym(0x20, 0, b'T', "b")]);
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(table.lookup(0x10), None);
        assert_eq!(table.lookup(0x20), None);
        assert_eq!(table.find("b"), Some(out(0x20, 0, b'T', "b")));
    }

    #[test]
    fn lookup_at_the_top_of_the_address_space() {
        let bytes = encode(&[sym(u64::MAX - 8, 8, b'T', "top"), sym(0, 1, b'T', "zero")]);
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(table.lookup(u64::MAX - 1).map(|s| s.name), Some("top"));
        assert_eq!(table.lookup(u64::MAX), None);
        assert_eq!(table.lookup(0).map(|s| s.name), Some("zero"));
        assert_eq!(table.lookup(1), None);
    }

    #[test]
    fn lookup_matches_a_linear_scan() {
        // A pseudo-random table of functions and data objects with overlaps, aliases and gaps,
        // checked against brute force: the innermost function, else the innermost data object.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let names: Vec<alloc::string::String> = (0..300).map(|i| alloc::format!("s{i}")).collect();
        let symbols: Vec<_> = names
            .iter()
            .map(|n| {
                sym(
                    next() % 0x4000,
                    (next() % 0x80) as u32,
                    b"TtDdBbRr"[(next() % 8) as usize],
                    n,
                )
            })
            .collect();
        let bytes = encode(&symbols);
        let table = Table::parse(&bytes).unwrap();
        let all: Vec<_> = table.iter().collect();
        assert!(all.windows(2).all(|w| w[0].addr <= w[1].addr));
        let innermost = |functions: bool, addr| {
            let run: Vec<_> = all
                .iter()
                .filter(|s| is_function_kind(s.kind) == functions)
                .collect();
            run.iter()
                .filter(|s| s.contains(addr))
                .max_by_key(|s| s.addr)
                .map(|best| {
                    **run
                        .iter()
                        .find(|s| s.addr == best.addr && s.contains(addr))
                        .unwrap()
                })
        };
        for addr in 0..0x4100 {
            let function = innermost(true, addr);
            assert_eq!(table.functions().lookup(addr), function, "addr {addr:#x}");
            let expected = function.or_else(|| innermost(false, addr));
            assert_eq!(table.lookup(addr), expected, "addr {addr:#x}");
        }
    }

    /// Kernel-like: text low, data above it, one huge reserved area.
    fn with_data() -> Vec<u8> {
        encode(&[
            sym(BASE + 0x100, 0x40, b't', "kernel::workload::leaf"),
            sym(BASE + 0x200, 0x80, b'T', "kernel::workload::fib"),
            sym(
                BASE + 0x1000,
                0x8_0000,
                b'r',
                "kernel::symbols::KALLSYMS_AREA",
            ),
            sym(
                BASE + 0x9_0000,
                0x20,
                b'd',
                "kernel::trace::trace::FUNCTION_OPS",
            ),
            sym(
                BASE + 0x9_0020,
                0x30,
                b'D',
                "kernel::trace::trace_functions_graph::GRAPH_OPS",
            ),
            sym(BASE + 0xa_0000, 0x1000, b'b', "kernel::console::RX"),
            sym(BASE + 0xa_0000, 0x1000, b'B', "kernel::console::RX_ALIAS"),
            // A data object below a function: the iteration still goes by address.
            sym(BASE + 0x80, 0x10, b'R', "kernel::early::TABLE"),
        ])
    }

    #[test]
    fn data_objects_iterate_in_address_order_with_the_functions() {
        let bytes = with_data();
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(table.len(), 8);
        let shown: Vec<_> = table.iter().map(|s| (char::from(s.kind), s.name)).collect();
        assert_eq!(
            shown,
            [
                ('R', "kernel::early::TABLE"),
                ('t', "kernel::workload::leaf"),
                ('T', "kernel::workload::fib"),
                ('r', "kernel::symbols::KALLSYMS_AREA"),
                ('d', "kernel::trace::trace::FUNCTION_OPS"),
                ('D', "kernel::trace::trace_functions_graph::GRAPH_OPS"),
                ('B', "kernel::console::RX_ALIAS"),
                ('b', "kernel::console::RX"),
            ]
        );
        assert_eq!(table.iter().size_hint(), (8, Some(8)));
        let functions: Vec<_> = table.functions().iter().map(|s| s.name).collect();
        assert_eq!(
            functions,
            ["kernel::workload::leaf", "kernel::workload::fib"]
        );
        assert_eq!(table.functions().len(), 2);
        // A function and a data object at one address: the function first.
        let same = encode(&[sym(0x10, 4, b'D', "data"), sym(0x10, 4, b'T', "text")]);
        let names: Vec<_> = Table::parse(&same)
            .unwrap()
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["text", "data"]);
    }

    #[test]
    fn data_objects_look_up_with_their_sizes() {
        let bytes = with_data();
        let table = Table::parse(&bytes).unwrap();
        let name = |addr| table.lookup(addr).map(|s| (s.name, addr - s.addr, s.size));
        assert_eq!(
            name(BASE + 0x9_0020),
            Some(("kernel::trace::trace_functions_graph::GRAPH_OPS", 0, 0x30))
        );
        assert_eq!(
            name(BASE + 0x9_0018),
            Some(("kernel::trace::trace::FUNCTION_OPS", 0x18, 0x20))
        );
        assert_eq!(name(BASE + 0x9_0050), None, "past the last ops");
        assert_eq!(
            name(BASE + 0xa_0fff).map(|n| n.0),
            Some("kernel::console::RX_ALIAS"),
            "globals first among aliases"
        );
        assert_eq!(
            name(BASE + 0x7_0000).map(|n| n.0),
            Some("kernel::symbols::KALLSYMS_AREA")
        );
        assert_eq!(
            table.find("kernel::console::RX").map(|s| s.kind),
            Some(b'b')
        );
    }

    #[test]
    fn functions_never_see_data_objects() {
        let bytes = with_data();
        let table = Table::parse(&bytes).unwrap().functions();
        assert_eq!(table.lookup(BASE + 0x9_0020), None);
        assert_eq!(table.lookup(BASE + 0x88), None);
        assert_eq!(table.find("kernel::trace::trace::FUNCTION_OPS"), None);
        assert_eq!(
            table.lookup(BASE + 0x214).map(|s| s.name),
            Some("kernel::workload::fib")
        );
        // A data object spanning a function's addresses does not hide it, either way round.
        let overlap = encode(&[sym(0, 0x1_0000, b'r', "area"), sym(0x100, 0x10, b't', "f")]);
        let table = Table::parse(&overlap).unwrap();
        assert_eq!(table.lookup(0x104).map(|s| s.name), Some("f"));
        assert_eq!(table.lookup(0x200).map(|s| s.name), Some("area"));
        assert_eq!(table.functions().lookup(0x200), None);
    }

    #[test]
    fn find_by_exact_name() {
        let bytes = sample();
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(
            table.find("_start"),
            Some(out(BASE + 0x300, 0x20, b'T', "_start"))
        );
        assert_eq!(
            table.find("kernel::workload::fib").map(|s| s.addr),
            Some(BASE + 0x200)
        );
        assert_eq!(table.find("kernel::workload::fi"), None);
        assert_eq!(table.find("kernel::workload::fibx"), None);
        assert_eq!(table.find(""), None);
    }

    #[test]
    fn unfilled_area_is_rejected() {
        assert!(Table::parse(&vec![0u8; KALLSYMS_RESERVED]).is_none());
        assert!(Table::parse(&[]).is_none());
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut area = sample();
        let len = area.len();
        area.resize(KALLSYMS_RESERVED, 0);
        assert_eq!(Table::parse(&area).unwrap().len(), 4);
        area[len..].fill(0xff);
        assert_eq!(Table::parse(&area).unwrap().len(), 4);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(Table::parse(&bytes[..len]).is_none(), "truncated to {len}");
        }
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let bytes = sample();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut corrupt = bytes.clone();
                corrupt[i] ^= 1 << bit;
                assert!(Table::parse(&corrupt).is_none(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn bad_header_fields() {
        let good = sample();
        let mut bad_magic = good.clone();
        bad_magic[0] = b'k';
        assert!(Table::parse(&bad_magic).is_none());
        let mut bad_version = good.clone();
        bad_version[8..12].copy_from_slice(&1u32.to_le_bytes());
        reseal(&mut bad_version);
        assert!(Table::parse(&bad_version).is_none(), "the old layout");
        for count in [5u32, u32::MAX] {
            let mut bad_count = good.clone();
            bad_count[12..16].copy_from_slice(&count.to_le_bytes());
            reseal(&mut bad_count);
            assert!(Table::parse(&bad_count).is_none(), "count {count}");
        }
        let mut fewer = good.clone();
        fewer[12..16].copy_from_slice(&3u32.to_le_bytes());
        reseal(&mut fewer);
        assert!(
            Table::parse(&fewer).is_none(),
            "the pool then starts inside the 4th entry"
        );
        let mut bad_names_len = good.clone();
        bad_names_len[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut bad_names_len);
        assert!(Table::parse(&bad_names_len).is_none());
        for functions in [3u32, 5, u32::MAX] {
            let mut bad_functions = good.clone();
            bad_functions[16..20].copy_from_slice(&functions.to_le_bytes());
            reseal(&mut bad_functions);
            assert!(
                Table::parse(&bad_functions).is_none(),
                "{functions} functions: a function among the data, or more than there are"
            );
        }
    }

    /// Applies `edit` to entry `i` of the sample, reseals it, and parses.
    fn parse_with_entry_edit(i: usize, edit: impl FnOnce(&mut [u8])) -> Option<usize> {
        let mut bytes = sample();
        let at = HEADER_LEN + i * ENTRY_LEN;
        edit(&mut bytes[at..at + ENTRY_LEN]);
        reseal(&mut bytes);
        Table::parse(&bytes).map(|t| t.len())
    }

    #[test]
    fn bad_entries() {
        assert_eq!(
            parse_with_entry_edit(0, |_| {}),
            Some(4),
            "the helper itself is sound"
        );
        assert_eq!(
            parse_with_entry_edit(1, |e| e[19] = 1),
            None,
            "reserved byte"
        );
        assert_eq!(
            parse_with_entry_edit(1, |e| e[18] = b'1'),
            None,
            "kind not a letter"
        );
        assert_eq!(
            parse_with_entry_edit(1, |e| e[18] = b'W'),
            Some(4),
            "any function letter"
        );
        assert_eq!(
            parse_with_entry_edit(1, |e| e[18] = b'D'),
            None,
            "a data object among the functions"
        );
        assert_eq!(
            parse_with_entry_edit(1, |e| e[16..18].fill(0)),
            None,
            "empty name"
        );
        assert_eq!(
            parse_with_entry_edit(3, |e| e[16..18].fill(0xff)),
            None,
            "name past pool"
        );
        assert_eq!(
            parse_with_entry_edit(3, |e| e[12..16].fill(0xff)),
            None,
            "name offset"
        );
        assert_eq!(
            parse_with_entry_edit(1, |e| e[0..8].copy_from_slice(&0u64.to_le_bytes())),
            None,
            "out of address order"
        );
        assert_eq!(
            parse_with_entry_edit(3, |e| e[0..8]
                .copy_from_slice(&(u64::MAX - 1).to_le_bytes())),
            None,
            "addr + size wraps"
        );
    }

    #[test]
    fn invalid_utf8_name_is_rejected() {
        let mut bytes = sample();
        let pool = HEADER_LEN + 4 * ENTRY_LEN;
        bytes[pool] = 0xff;
        reseal(&mut bytes);
        assert!(Table::parse(&bytes).is_none());
    }

    #[test]
    fn names_may_share_the_pool() {
        // A hand-built table whose two entries point at overlapping name bytes is still valid.
        let mut bytes = encode(&[sym(0x10, 4, b'T', "abcdef"), sym(0x20, 4, b'T', "xyz")]);
        let second = HEADER_LEN + ENTRY_LEN;
        bytes[second + 12..second + 16].copy_from_slice(&3u32.to_le_bytes());
        reseal(&mut bytes);
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(table.iter().nth(1).unwrap().name, "def");
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let good = sample();
        for round in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes = good.clone();
            let edits = 1 + (seed % 4) as usize;
            for k in 0..edits {
                let at = (seed >> (8 * k)) as usize % bytes.len();
                bytes[at] = (seed >> (3 * k + 7)) as u8;
            }
            if round % 2 == 0 {
                reseal(&mut bytes);
            }
            if let Some(table) = Table::parse(&bytes) {
                for symbol in table.iter() {
                    if symbol.size > 0 {
                        assert!(table.lookup(symbol.addr).is_some());
                    }
                    assert!(table.find(symbol.name).is_some());
                }
            }
        }
    }
}
