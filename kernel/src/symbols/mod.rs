//! The kernel's symbol table (Linux's kallsyms with `CONFIG_KALLSYMS_ALL`: functions and data
//! objects): address to `name+0xoff/0xsize` for backtraces, trace output, reports and `%pS` of
//! data (an ftrace_ops), name to address for probes and filters, and glob queries for
//! `set_ftrace_filter`-style selections over [`functions`] only.
//!
//! The table lives in the image itself: the kernel reserves [`format::KALLSYMS_RESERVED`] bytes
//! in `.kallsyms`, and `cargo xtask build` writes the encoded table there after linking. The
//! kernel reads it in place through the linker's `__kallsyms_start`/`__kallsyms_end`, so nothing
//! is copied and the zero initializer the compiler saw is never trusted. An image that was not
//! post-processed has an empty table and prints raw addresses.
//!
//! The helpers that take a [`Table`] are pure and host-tested; only the reserved area and the
//! global accessors are target-only.

pub mod format;

use core::fmt;

pub use format::{Symbol, Table};

use crate::glob::Pattern;

/// An address shown Linux's `%pS` way: `name+0xoff/0xsize`, or `0x<hex>` outside every symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymbolizedAddr<'a> {
    addr: u64,
    symbol: Option<Symbol<'a>>,
}

impl fmt::Display for SymbolizedAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.symbol {
            Some(symbol) => {
                write!(
                    f,
                    "{}+{:#x}/{:#x}",
                    symbol.name,
                    self.addr - symbol.addr,
                    symbol.size
                )
            }
            None => write!(f, "{:#x}", self.addr),
        }
    }
}

/// `addr` symbolized against `table`, ready to print.
pub fn format_addr<'t>(table: &Table<'t>, addr: u64) -> SymbolizedAddr<'t> {
    SymbolizedAddr {
        addr,
        symbol: table.lookup(addr),
    }
}

/// The symbols of `table` whose names match `glob`, with ftrace's filter semantics
/// ([`Pattern`]), in address order.
pub fn matching<'t, 'g>(
    table: &Table<'t>,
    glob: &'g str,
) -> impl Iterator<Item = Symbol<'t>> + use<'t, 'g> {
    let pattern = Pattern::parse(glob);
    table
        .iter()
        .filter(move |symbol| pattern.matches(symbol.name))
}

/// The space `cargo xtask build` fills in. `#[used]` and the linker script's `KEEP` keep it in
/// the image although nothing refers to it by name.
#[cfg(target_os = "none")]
#[used]
#[unsafe(link_section = ".kallsyms")]
static KALLSYMS_AREA: [u8; format::KALLSYMS_RESERVED] = [0; format::KALLSYMS_RESERVED];

/// The `.kallsyms` section, as the linker laid it out.
#[cfg(target_os = "none")]
fn kallsyms_area() -> &'static [u8] {
    unsafe extern "C" {
        static __kallsyms_start: u8;
        static __kallsyms_end: u8;
    }
    let start = &raw const __kallsyms_start;
    let end = &raw const __kallsyms_end;
    let len = (end as usize).saturating_sub(start as usize);
    // SAFETY: the linker script brackets the `.kallsyms` output section with these symbols; it
    // is loaded read-only data that stays mapped for the kernel's lifetime and that nothing
    // writes at run time.
    unsafe { core::slice::from_raw_parts(start, len) }
}

/// The kernel's symbol table, validated on first use; empty if the image carries none.
#[cfg(target_os = "none")]
pub fn kallsyms() -> Table<'static> {
    static TABLE: spin::Once<Table<'static>> = spin::Once::new();
    *TABLE.call_once(|| Table::parse(kallsyms_area()).unwrap_or_default())
}

/// The kernel's functions alone: what `available_filter_functions`, filters and function names
/// look at, never a data object.
#[cfg(target_os = "none")]
pub fn functions() -> Table<'static> {
    kallsyms().functions()
}

/// Reports at boot whether the image carries a symbol table.
#[cfg(target_os = "none")]
pub fn init_log() {
    let table = kallsyms();
    if table.is_empty() {
        crate::println!("kallsyms: no symbol table in this image; addresses print raw");
    } else {
        crate::println!("kallsyms: {} symbols", table.len());
    }
}

/// The kernel symbol containing `addr`.
#[cfg(target_os = "none")]
pub fn lookup(addr: u64) -> Option<Symbol<'static>> {
    kallsyms().lookup(addr)
}

/// The kernel symbol named exactly `name`.
#[cfg(target_os = "none")]
pub fn lookup_name(name: &str) -> Option<Symbol<'static>> {
    kallsyms().find(name)
}

/// `addr` as `name+0xoff/0xsize` against the kernel's symbols.
#[cfg(target_os = "none")]
pub fn symbolize(addr: u64) -> SymbolizedAddr<'static> {
    format_addr(&kallsyms(), addr)
}

#[cfg(test)]
mod tests {
    use super::format::{SymbolIn, encode};
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    const FIB: u64 = 0xffff_ff80_4020_1000;

    fn table_bytes() -> Vec<u8> {
        encode(&[
            SymbolIn {
                addr: FIB,
                size: 0x60,
                kind: b'T',
                name: "kernel::workload::fib",
            },
            SymbolIn {
                addr: FIB + 0x60,
                size: 0x20,
                kind: b't',
                name: "kernel::workload::leaf",
            },
            SymbolIn {
                addr: FIB + 0x80,
                size: 0x40,
                kind: b'T',
                name: "kernel::shell::run",
            },
            SymbolIn {
                addr: FIB + 0x100,
                size: 0,
                kind: b't',
                name: "kernel::workload::marker",
            },
        ])
    }

    #[test]
    fn format_addr_like_linux() {
        let bytes = table_bytes();
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(
            format_addr(&table, FIB + 0x14).to_string(),
            "kernel::workload::fib+0x14/0x60"
        );
        assert_eq!(
            format_addr(&table, FIB).to_string(),
            "kernel::workload::fib+0x0/0x60"
        );
        assert_eq!(
            format_addr(&table, FIB + 0x5f).to_string(),
            "kernel::workload::fib+0x5f/0x60"
        );
        assert_eq!(
            format_addr(&table, FIB + 0x60).to_string(),
            "kernel::workload::leaf+0x0/0x20"
        );
    }

    #[test]
    fn format_addr_outside_every_symbol() {
        let bytes = table_bytes();
        let table = Table::parse(&bytes).unwrap();
        assert_eq!(
            format_addr(&table, FIB - 4).to_string(),
            "0xffffff8040200ffc"
        );
        assert_eq!(
            format_addr(&table, FIB + 0xc0).to_string(),
            "0xffffff80402010c0"
        );
        assert_eq!(
            format_addr(&table, FIB + 0x100).to_string(),
            "0xffffff8040201100",
            "size 0"
        );
        assert_eq!(format_addr(&table, 0).to_string(), "0x0");
        assert_eq!(
            format_addr(&Table::empty(), FIB).to_string(),
            "0xffffff8040201000"
        );
    }

    #[test]
    fn matching_uses_ftrace_patterns() {
        let bytes = table_bytes();
        let table = Table::parse(&bytes).unwrap();
        let names = |glob| matching(&table, glob).map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names("kernel::workload::*"),
            [
                "kernel::workload::fib",
                "kernel::workload::leaf",
                "kernel::workload::marker"
            ]
        );
        assert_eq!(names("*::run"), ["kernel::shell::run"]);
        assert_eq!(names("*::r*"), ["kernel::shell::run"]);
        assert_eq!(names("*ea*"), ["kernel::workload::leaf"]);
        assert_eq!(names("kernel::workload::fib"), ["kernel::workload::fib"]);
        assert_eq!(
            names("*::[fl]*"),
            ["kernel::workload::fib", "kernel::workload::leaf"]
        );
        assert_eq!(names("kernel::workload::f?b"), ["kernel::workload::fib"]);
        assert!(names("fib").is_empty(), "a full match needs the whole name");
        assert!(names("").is_empty());
        assert_eq!(names("*").len(), 4);
        assert_eq!(matching(&Table::empty(), "*").count(), 0);
    }
}
