//! The ftrace record table (Linux: `ftrace_process_locs` / `ftrace_init`).
//!
//! Every kernel function is compiled with `-Zpatchable-function-entry=4,2`: two NOPs before the
//! symbol (room for a per-site ops literal) and two at its entry, the patch site that will
//! become `mov x9, x30; bl ftrace_caller`. The compiler lists each sequence's first NOP in
//! `__patchable_function_entries`, which the linker script brackets with
//! `__start_mcount_loc`/`__stop_mcount_loc`. At boot each site is checked to hold four NOPs and
//! becomes one [`DynFtrace`] record, sorted by address, and its first entry NOP becomes
//! `mov x9, x30` (Linux's `ftrace_init_nop`), all in one patch batch: enabling a site later only
//! toggles the NOP at `rec->ip` with `bl ftrace_caller` (see [`super::ftrace_ops`]).

use alloc::vec::Vec;

use arch::insn::{AARCH64_INSN_SIZE, mov_x9_x30, nop};
use arch::patching::{TextPatch, is_patchable_text, patch_text_batch, read_insn};
use spin::Once;

use crate::println;

/// NOPs the compiler puts before each function.
const PREFIX_NOPS: u64 = 2;
/// NOPs at each function's entry.
const ENTRY_NOPS: u64 = 2;

/// One patchable call site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynFtrace {
    /// Address of the second entry NOP, the one that becomes `bl ftrace_caller` (Linux's
    /// `rec->ip`, as `ftrace_call_adjust` computes it on arm64). The first entry NOP is
    /// `ip - 4`; the function's symbol address is `ip - 4` as well.
    pub ip: u64,
}

impl DynFtrace {
    /// The function this site belongs to.
    pub fn func(&self) -> u64 {
        self.ip - AARCH64_INSN_SIZE as u64
    }
}

static RECORDS: Once<Vec<DynFtrace>> = Once::new();

unsafe extern "C" {
    static __start_mcount_loc: u64;
    static __stop_mcount_loc: u64;
}

fn mcount_loc() -> &'static [u64] {
    // SAFETY: the linker script brackets the compiler's __patchable_function_entries section,
    // an array of 64-bit absolute addresses, with these symbols.
    unsafe {
        let start = core::ptr::addr_of!(__start_mcount_loc);
        let stop = core::ptr::addr_of!(__stop_mcount_loc);
        core::slice::from_raw_parts(start, stop.offset_from(start) as usize)
    }
}

/// Whether the whole NOP sequence starting at `loc` is intact.
fn site_is_nops(loc: u64) -> bool {
    let nop = nop();
    (0..PREFIX_NOPS + ENTRY_NOPS).all(|i| read_insn(loc + i * AARCH64_INSN_SIZE as u64) == Ok(nop))
}

/// Builds the record table from the compiler's list, verifying every site.
pub fn ftrace_init() {
    let locs = mcount_loc();
    let mut records = Vec::with_capacity(locs.len());
    let mut bad = 0;
    for &loc in locs {
        let func = loc + PREFIX_NOPS * AARCH64_INSN_SIZE as u64;
        if !is_patchable_text(func) || !site_is_nops(loc) {
            bad += 1;
            println!(
                "ftrace: site at {} does not hold its NOPs; not traceable",
                crate::symbols::symbolize(func)
            );
            continue;
        }
        records.push(DynFtrace {
            ip: func + AARCH64_INSN_SIZE as u64,
        });
    }
    records.sort_unstable_by_key(|r| r.ip);
    records.dedup();
    println!(
        "ftrace: {} patch sites verified ({} NOPs before and {} at each entry), {} rejected",
        records.len(),
        PREFIX_NOPS,
        ENTRY_NOPS,
        bad
    );
    init_nops(&records);
    RECORDS.call_once(|| records);
}

/// Turns every site's first entry NOP into `mov x9, x30` in one batch (one rendezvous).
fn init_nops(records: &[DynFtrace]) {
    let batch: Vec<TextPatch> = records
        .iter()
        .map(|rec| TextPatch {
            addr: rec.func(),
            old: nop(),
            new: mov_x9_x30(),
        })
        .collect();
    if let Err(e) = patch_text_batch(&batch) {
        panic!("ftrace: cannot prepare the patch sites: {e:?}");
    }
}

/// Every traceable site, sorted by address.
pub fn records() -> &'static [DynFtrace] {
    RECORDS.get().map_or(&[], Vec::as_slice)
}

/// Linux's `ftrace_location`: the record ip of the patch site at `ip` (its `bl` word), or, for
/// a function's own address (`SYM+0`, the site's `mov x9, x30`), of that function's site.
pub fn ftrace_location(ip: u64) -> Option<u64> {
    let recs = records();
    let found = |target: u64| {
        recs.binary_search_by_key(&target, |rec| rec.ip)
            .ok()
            .map(|i| recs[i].ip)
    };
    found(ip).or_else(|| found(ip + AARCH64_INSN_SIZE as u64))
}
