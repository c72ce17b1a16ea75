//! Page-by-page kernel mappings outside the linear map (Linux: the vmalloc area's
//! `vmap_pages_range` / `vunmap_range`), used for guarded kernel stacks.
//!
//! The area is [`VMAP_STACK_START`]`..`[`VMAP_STACK_END`], in the upper half of the kernel's
//! 39-bit TTBR1 space, above the linear map (which covers physical addresses below 256 GiB) and
//! below the fixmap. Any physical page can be mapped at any page of it, so a stack's pages need
//! not be contiguous and the pages around it stay unmapped: an access there faults.
//!
//! Table pages come from the caller (the kernel's page allocator) the first time a range needs
//! them, and are kept afterwards: a freed stack's slot is reused with the same tables, as Linux
//! keeps vmalloc's page tables. Mapping writes invalid entries only, so it needs no TLB
//! maintenance, only the barriers that make the entries visible to the table walker; unmapping
//! invalidates each page on every CPU (`TLBI VAALE1IS`, `DSB ISH`, `ISB`) before the caller may
//! reuse the physical page.
//!
//! Locking: [`VMAP_LOCK`] serialises changes to the area's tables. Nothing else writes them:
//! `mmu` never maps in this part of the address space.

use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::asm::barrier;

use crate::mmu::{
    MT_NORMAL, PAGE_SHIFT, PAGE_SIZE, PMD_TYPE_TABLE, PTE_AF, PTE_PXN, PTE_SHARED, PTE_TYPE_PAGE,
    PTE_UXN, PTE_VALID, kernel_root_phys, phys_to_virt, pte_attrindx,
};
use crate::spinlock::SpinLockIrq;

/// Start of the stack area: the first address of the upper half of the 39-bit TTBR1 space.
pub const VMAP_STACK_START: u64 = 0xffff_ffc0_0000_0000;
/// Size of the stack area: 8 GiB, room for 65535 guarded 64 KiB stacks.
pub const VMAP_STACK_SIZE: u64 = 8 << 30;
pub const VMAP_STACK_END: u64 = VMAP_STACK_START + VMAP_STACK_SIZE;

/// A leaf entry of normal read-write memory, never executable (`mmu::PAGE_KERNEL`).
const PAGE_KERNEL_PTE: u64 =
    PTE_AF | PTE_SHARED | pte_attrindx(MT_NORMAL) | PTE_PXN | PTE_UXN | PTE_TYPE_PAGE;
const PTE_ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

static VMAP_LOCK: SpinLockIrq<()> = SpinLockIrq::new(());

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmapError {
    /// No page for a page table.
    NoMemory,
    /// Not a page of the area, or already mapped.
    BadAddress,
}

type Table = [AtomicU64; 512];

fn table_at(pa: u64) -> &'static Table {
    // SAFETY: table descriptors of the kernel's tables point at page-sized, page-aligned tables
    // that live for the whole program in the linear map (mmu's pool, or pages handed to
    // `map_page` that are never freed).
    unsafe { &*(phys_to_virt(pa) as *const Table) }
}

const fn level_index(va: u64, level: u32) -> usize {
    ((va >> (PAGE_SHIFT + 9 * (3 - level))) & 0x1ff) as usize
}

fn in_area(va: u64) -> bool {
    (VMAP_STACK_START..VMAP_STACK_END).contains(&va) && va.is_multiple_of(PAGE_SIZE as u64)
}

/// The level-3 entry of `va`, creating the tables on the way with `new_table` (a zeroed page's
/// physical address) if `new_table` is given; `None` when a table is missing and cannot be made.
fn pte_of(
    va: u64,
    mut new_table: Option<&mut dyn FnMut() -> Option<u64>>,
) -> Result<Option<&'static AtomicU64>, VmapError> {
    let mut table = table_at(kernel_root_phys());
    for level in 1..3 {
        let entry = &table[level_index(va, level)];
        let mut desc = entry.load(Ordering::Acquire);
        if desc & PTE_VALID == 0 {
            let Some(alloc) = new_table.as_mut() else {
                return Ok(None);
            };
            let pa = alloc().ok_or(VmapError::NoMemory)?;
            // The zeroed table must reach the walker before the entry that points at it.
            barrier::dsb(barrier::ISHST);
            desc = pa | PMD_TYPE_TABLE;
            entry.store(desc, Ordering::Release);
        } else if desc & PMD_TYPE_TABLE != PMD_TYPE_TABLE {
            return Err(VmapError::BadAddress);
        }
        table = table_at(desc & PTE_ADDR_MASK);
    }
    Ok(Some(&table[level_index(va, 3)]))
}

/// Maps the physical page `pa` read-write at `va`, a free page of the area. `new_table` gives
/// a zeroed page for a missing page table; when it cannot, `NoMemory`.
pub fn map_page(
    va: u64,
    pa: u64,
    new_table: &mut dyn FnMut() -> Option<u64>,
) -> Result<(), VmapError> {
    if !in_area(va) || pa & !PTE_ADDR_MASK != 0 {
        return Err(VmapError::BadAddress);
    }
    let _guard = VMAP_LOCK.lock();
    let pte = pte_of(va, Some(new_table))?.ok_or(VmapError::NoMemory)?;
    if pte.load(Ordering::Relaxed) & PTE_VALID != 0 {
        return Err(VmapError::BadAddress);
    }
    pte.store(pa | PAGE_KERNEL_PTE, Ordering::Release);
    // An invalid entry became valid: no TLB maintenance, only visibility to the walker.
    barrier::dsb(barrier::ISHST);
    barrier::isb(barrier::SY);
    Ok(())
}

/// Unmaps the page at `va` and invalidates it in every CPU's TLB; returns the physical page it
/// mapped, which the caller may reuse from then on. `None` if nothing was mapped there.
pub fn unmap_page(va: u64) -> Option<u64> {
    if !in_area(va) {
        return None;
    }
    let _guard = VMAP_LOCK.lock();
    let pte = pte_of(va, None).ok()??;
    let old = pte.swap(0, Ordering::AcqRel);
    if old & PTE_VALID == 0 {
        return None;
    }
    flush_tlb_kernel_page(va);
    Some(old & PTE_ADDR_MASK)
}

/// Linux's `flush_tlb_kernel_range` for one page: the cleared entry is visible to the walkers
/// (`DSB ISHST`), then the page's translation, last level, any ASID, is invalidated on every
/// CPU of the inner-shareable domain and the invalidation completed (`DSB ISH`) before any
/// later access or reuse of the page (`ISB`).
fn flush_tlb_kernel_page(va: u64) {
    // SAFETY: TLB maintenance by address has no memory-safety effect; the barriers complete it.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "tlbi vaale1is, {page}",
            "dsb ish",
            "isb",
            page = in(reg) (va >> PAGE_SHIFT) & ((1 << 44) - 1),
            options(nostack, preserves_flags),
        );
    }
}

/// The physical page mapped at `va` in the area, if any (a page-table walk).
pub fn lookup(va: u64) -> Option<u64> {
    if !in_area(va & !(PAGE_SIZE as u64 - 1)) {
        return None;
    }
    let pte = pte_of(va & !(PAGE_SIZE as u64 - 1), None).ok()??;
    let desc = pte.load(Ordering::Acquire);
    (desc & PTE_VALID != 0).then_some((desc & PTE_ADDR_MASK) | (va & (PAGE_SIZE as u64 - 1)))
}

/// Pages mapped in the whole area, counted by walking its page tables.
pub fn mapped_pages() -> usize {
    let _guard = VMAP_LOCK.lock();
    let root = table_at(kernel_root_phys());
    let level_size = |level: u32| 1u64 << (PAGE_SHIFT + 9 * (3 - level));
    let mut count = 0;
    let mut l1_va = VMAP_STACK_START;
    while l1_va < VMAP_STACK_END {
        let l1 = root[level_index(l1_va, 1)].load(Ordering::Acquire);
        if l1 & PMD_TYPE_TABLE == PMD_TYPE_TABLE {
            for l2 in table_at(l1 & PTE_ADDR_MASK).iter() {
                let l2 = l2.load(Ordering::Acquire);
                if l2 & PMD_TYPE_TABLE == PMD_TYPE_TABLE {
                    count += table_at(l2 & PTE_ADDR_MASK)
                        .iter()
                        .filter(|pte| pte.load(Ordering::Relaxed) & PTE_VALID != 0)
                        .count();
                }
            }
        }
        l1_va += level_size(1);
    }
    count
}
