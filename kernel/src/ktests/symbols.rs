//! The embedded kallsyms table: addresses and names round-trip, data objects included.

use crate::symbols::{functions, kallsyms, lookup, lookup_name};
use crate::workload;
use crate::{kassert, kassert_eq, ktest};

ktest! {
fn workload_symbols_round_trip() -> TestResult {
    let table = kallsyms();
    kassert!(table.len() > 100, "only {} symbols", table.len());
    for (name, addr) in [
        ("kernel::workload::fib", workload::fib as *const () as u64),
        ("kernel::workload::leaf", workload::leaf as *const () as u64),
        ("kernel::workload::nested_a", workload::nested_a as *const () as u64),
    ] {
        let sym = lookup_name(name).ok_or_else(|| alloc::format!("{name} not in the table"))?;
        kassert_eq!(sym.addr, addr);
        let hit = lookup(addr + 4).ok_or("no symbol for an address inside the function")?;
        kassert_eq!(hit.name, name);
        kassert_eq!(hit.addr, addr);
    }
    Ok(())
}
}

ktest! {
fn every_symbol_looks_up_to_itself() -> TestResult {
    let table = kallsyms();
    kassert!(!table.is_empty(), "the image has no symbol table");
    for sym in table.iter().filter(|s| s.size > 0) {
        let hit = lookup(sym.addr).ok_or_else(|| alloc::format!("{} not found by address", sym.name))?;
        kassert_eq!(hit.addr, sym.addr);
        kassert_eq!(lookup(sym.addr + u64::from(sym.size) - 1).map(|s| s.addr), Some(sym.addr));
    }
    Ok(())
}
}

ktest! {
fn data_objects_resolve_with_their_size_but_not_as_functions() -> TestResult {
    let ops = &crate::trace::ftrace_ops::FTRACE_LIST_OPS;
    let addr = ops as *const _ as u64;
    let size = core::mem::size_of_val(ops) as u32;
    let sym = lookup(addr + 8).ok_or("the list ops is not in the table")?;
    kassert_eq!(sym.name, "kernel::trace::ftrace_ops::FTRACE_LIST_OPS");
    kassert_eq!((sym.addr, sym.size), (addr, size));
    kassert!(sym.kind.eq_ignore_ascii_case(&b'd'), "kind {}", char::from(sym.kind));
    kassert_eq!(functions().lookup(addr), None);
    kassert!(functions().iter().all(|s| s.kind.eq_ignore_ascii_case(&b't')));
    kassert!(kallsyms().len() > functions().len(), "no data objects at all");
    Ok(())
}
}
