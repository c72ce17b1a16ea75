//! Cache maintenance to the point of unification, for code that writes instructions (Linux:
//! `caches_clean_inval_pou`). After a store to text: clean the D-cache line to PoU (DC CVAU),
//! DSB ISH, invalidate the I-cache line (IC IVAU), DSB ISH, then ISB on the CPU that will run it.
//! QEMU does not model caches, so nothing can test this: it follows the architecture as written.

crate::noinstr! {
/// CTR_EL0 (aarch64-cpu does not describe it): DminLine is bits 19:16, IminLine bits 3:0, each
/// log2 of the line size in 4-byte words.
fn ctr_el0() -> u64 {
    let ctr: u64;
    // SAFETY: reads an ID register; no side effects.
    unsafe {
        core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags))
    };
    ctr
}
}

crate::noinstr! {
/// Smallest D-cache line, in bytes.
pub fn dcache_line_size() -> u64 {
    4 << ((ctr_el0() >> 16) & 0xf)
}
}

crate::noinstr! {
/// Smallest I-cache line, in bytes.
pub fn icache_line_size() -> u64 {
    4 << (ctr_el0() & 0xf)
}
}

crate::noinstr! {
/// Makes instructions written to `[start, end)` visible to instruction fetch on every CPU in the
/// inner-shareable domain; ends with an ISB for the calling CPU.
pub fn caches_clean_inval_pou(start: u64, end: u64) {
    let dline = dcache_line_size();
    let mut addr = start & !(dline - 1);
    while addr < end {
        // SAFETY: cache maintenance by VA on a mapped, readable kernel address.
        unsafe { core::arch::asm!("dc cvau, {0}", in(reg) addr, options(nostack, preserves_flags)) };
        addr += dline;
    }
    // SAFETY: barrier only.
    unsafe { core::arch::asm!("dsb ish", options(nostack, preserves_flags)) };
    let iline = icache_line_size();
    let mut addr = start & !(iline - 1);
    while addr < end {
        // SAFETY: cache maintenance by VA on a mapped kernel text address.
        unsafe { core::arch::asm!("ic ivau, {0}", in(reg) addr, options(nostack, preserves_flags)) };
        addr += iline;
    }
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}
}

/// Cleans `[start, end)` to the point of coherency, so an observer that does not look in the
/// caches (a CPU whose MMU and caches are still off) sees the data.
pub fn dcache_clean_poc(start: u64, end: u64) {
    let dline = dcache_line_size();
    let mut addr = start & !(dline - 1);
    while addr < end {
        // SAFETY: cache maintenance by VA on a mapped kernel address.
        unsafe {
            core::arch::asm!("dc cvac, {0}", in(reg) addr, options(nostack, preserves_flags))
        };
        addr += dline;
    }
    // SAFETY: barrier only.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
}
