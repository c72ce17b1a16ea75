//! EL0 page tables: one per address space, walked through TTBR0 (Linux: `pgd_alloc`,
//! `set_pte_at`, `pte_clear`, `free_pgd_range`, `flush_tlb_page`, for our 39-bit, 4 KiB-page
//! layout, three levels starting at level 1).
//!
//! The tables and the pages they map are physical frames the caller's [`PageAlloc`] hands out
//! (the kernel's page-frame allocator); the code reaches them through the linear map. A table
//! owns every frame it maps: [`UserPageTable::unmap_page`] gives one back to the caller, and
//! [`UserPageTable::destroy`] frees the lot.
//!
//! Permissions: every user mapping has `PTE_USER` (EL0 access), `PTE_NG` (tagged with the
//! address space's ASID) and `PTE_PXN` (never executable at EL1, so a kernel jump into user
//! memory faults instead of running it); `PTE_UXN` unless the program asked for execute.
//!
//! Locking: none here; the owner of the address space serialises changes to it.

use crate::mmu::{
    MT_NORMAL, PAGE_SHIFT, PAGE_SIZE, PMD_TYPE_TABLE, PTE_ADDR_MASK, PTE_AF, PTE_NG, PTE_PXN,
    PTE_RDONLY, PTE_SHARED, PTE_TYPE_PAGE, PTE_USER, PTE_UXN, PTE_VALID, Prot, phys_to_virt,
    pte_attrindx,
};
use aarch64_cpu::asm::barrier;
use core::sync::atomic::{AtomicU64, Ordering};

/// The end of the EL0 address range: everything below 2^39 walks through TTBR0 (Linux's
/// `TASK_SIZE` with `VA_BITS=39`).
pub const TASK_SIZE: u64 = 1 << 39;

/// Hands out and takes back zeroed physical frames for tables and user pages.
pub trait PageAlloc {
    /// A zeroed 4 KiB frame's physical address, or `None` when memory is exhausted.
    fn alloc_zeroed(&self) -> Option<u64>;
    /// Gives back a frame from [`PageAlloc::alloc_zeroed`].
    fn free(&self, pa: u64);
}

/// User page protections (Linux's `PAGE_READONLY`, `PAGE_SHARED`, `PAGE_READONLY_EXEC`...):
/// `read` is implied by any mapping (AArch64 has no write-only or execute-only EL0 pages in
/// this scheme, as on Linux without EPAN).
pub const fn user_prot(write: bool, exec: bool) -> Prot {
    let mut bits = PTE_AF | PTE_SHARED | pte_attrindx(MT_NORMAL) | PTE_USER | PTE_NG | PTE_PXN;
    if !write {
        bits |= PTE_RDONLY;
    }
    if !exec {
        bits |= PTE_UXN;
    }
    Prot(bits)
}

/// A user page EL0 may not touch at all (`PROT_NONE` after `mprotect`): still a valid
/// descriptor holding its frame (so a later `mprotect` gets the data back, as Linux's), but
/// without `PTE_USER`, so any EL0 access is a permission fault. Linux keeps such pages invalid
/// with a software bit instead (`PTE_PROT_NONE`); here the kernel's own uaccess helpers (plain
/// loads and stores, no PAN) could still read one, which is the one difference.
pub const fn user_prot_none() -> Prot {
    Prot(PTE_AF | PTE_SHARED | pte_attrindx(MT_NORMAL) | PTE_NG | PTE_PXN | PTE_UXN | PTE_RDONLY)
}

/// Whether a user page of protection `prot` is executable at EL0.
pub const fn user_prot_exec(prot: Prot) -> bool {
    prot.0 & PTE_UXN == 0
}

/// Why a user mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserMapError {
    /// A table frame could not be allocated.
    NoMemory,
    /// The page is mapped already.
    Exists,
    /// Not page aligned, or outside `[0, TASK_SIZE)`.
    BadAddress,
}

#[inline(always)]
fn entries(pa: u64) -> &'static [AtomicU64; 512] {
    // SAFETY: `pa` is a table frame from the PageAlloc, in the linear map, 4 KiB aligned; the
    // entries are atomics, so shared access is fine.
    unsafe { &*(phys_to_virt(pa) as *const [AtomicU64; 512]) }
}

const fn level_index(va: u64, level: u32) -> usize {
    ((va >> (PAGE_SHIFT + 9 * (3 - level))) & 0x1ff) as usize
}

/// One address space's translation tables.
#[derive(Debug)]
pub struct UserPageTable {
    root: u64,
}

impl UserPageTable {
    /// An empty address space: just a root table.
    pub fn new(alloc: &dyn PageAlloc) -> Option<Self> {
        Some(Self {
            root: alloc.alloc_zeroed()?,
        })
    }

    /// The root table's physical address (TTBR0's BADDR).
    pub fn root_phys(&self) -> u64 {
        self.root
    }

    /// The level-3 entry of `va`, allocating tables on the way when `alloc` is given.
    fn pte(
        &self,
        va: u64,
        alloc: Option<&dyn PageAlloc>,
    ) -> Result<&'static AtomicU64, UserMapError> {
        let mut table = self.root;
        for level in 1..3 {
            let entry = &entries(table)[level_index(va, level)];
            let desc = entry.load(Ordering::Relaxed);
            table = if desc & PTE_VALID != 0 {
                desc & PTE_ADDR_MASK
            } else {
                let alloc = alloc.ok_or(UserMapError::BadAddress)?;
                let new = alloc.alloc_zeroed().ok_or(UserMapError::NoMemory)?;
                // The zeroed frame must be visible to the walker before the entry that links it.
                barrier::dsb(barrier::ISHST);
                entry.store(new | PMD_TYPE_TABLE, Ordering::Release);
                new
            };
        }
        Ok(&entries(table)[level_index(va, 3)])
    }

    /// Maps the frame `pa` at the page `va`. The frame belongs to the table from then on.
    pub fn map_page(
        &mut self,
        va: u64,
        pa: u64,
        prot: Prot,
        alloc: &dyn PageAlloc,
    ) -> Result<(), UserMapError> {
        if va >= TASK_SIZE || (va | pa) & (PAGE_SIZE as u64 - 1) != 0 {
            return Err(UserMapError::BadAddress);
        }
        let pte = self.pte(va, Some(alloc))?;
        if pte.load(Ordering::Relaxed) & PTE_VALID != 0 {
            return Err(UserMapError::Exists);
        }
        // An invalid entry becomes valid: no break-before-make, no TLB maintenance; the DSB
        // makes it visible to the walker before we return to EL0.
        pte.store(pa | prot.0 | PTE_TYPE_PAGE, Ordering::Release);
        barrier::dsb(barrier::ISHST);
        Ok(())
    }

    /// The frame mapped at the page of `va` and whether EL0 may write it.
    pub fn translate(&self, va: u64) -> Option<(u64, bool)> {
        if va >= TASK_SIZE {
            return None;
        }
        let desc = self.pte(va, None).ok()?.load(Ordering::Relaxed);
        (desc & PTE_VALID != 0).then_some((desc & PTE_ADDR_MASK, desc & PTE_RDONLY == 0))
    }

    /// Removes every mapping in `[start, end)` (page aligned) and hands each frame to `free`
    /// once no TLB holds it. Skips unmapped 1 GiB and 2 MiB regions whole, so a huge range
    /// costs what is mapped in it, not its length.
    pub fn unmap_range(&mut self, start: u64, end: u64, asid: u16, mut free: impl FnMut(u64)) {
        self.for_each_pte_in(start, end, |va, pte| {
            let desc = pte.swap(0, Ordering::AcqRel);
            if desc & PTE_VALID != 0 {
                flush_tlb_page(asid, va);
                free(desc & PTE_ADDR_MASK);
            }
        });
    }

    /// Gives every mapped page in `[start, end)` (page aligned) the protection `prot`, keeping
    /// its frame, and returns how many it changed. A change of permissions alone needs no
    /// break-before-make; each page's old TLB entry is invalidated before this returns.
    /// Unmapped 1 GiB and 2 MiB regions are skipped whole, as in [`Self::unmap_range`].
    pub fn protect_range(&mut self, start: u64, end: u64, asid: u16, prot: Prot) -> usize {
        let mut changed = 0;
        self.for_each_pte_in(start, end, |va, pte| {
            let desc = pte.load(Ordering::Relaxed);
            if desc & PTE_VALID != 0 {
                let new = (desc & PTE_ADDR_MASK) | prot.0 | PTE_TYPE_PAGE;
                if new != desc {
                    pte.store(new, Ordering::Release);
                    flush_tlb_page(asid, va);
                    changed += 1;
                }
            }
        });
        changed
    }

    /// Calls `f(va, pte)` for each last-level entry slot in `[start, end)` (page aligned,
    /// clipped to `TASK_SIZE`) whose tables exist, skipping absent 1 GiB and 2 MiB tables
    /// whole, so a huge range costs what is mapped in it, not its length.
    fn for_each_pte_in(&mut self, start: u64, end: u64, mut f: impl FnMut(u64, &AtomicU64)) {
        let end = end.min(TASK_SIZE);
        let mut va = start;
        while va < end {
            let d1 = entries(self.root)[level_index(va, 1)].load(Ordering::Relaxed);
            if d1 & PTE_VALID == 0 {
                va = (va | ((1 << 30) - 1)) + 1;
                continue;
            }
            let d2 = entries(d1 & PTE_ADDR_MASK)[level_index(va, 2)].load(Ordering::Relaxed);
            if d2 & PTE_VALID == 0 {
                va = (va | ((1 << 21) - 1)) + 1;
                continue;
            }
            f(va, &entries(d2 & PTE_ADDR_MASK)[level_index(va, 3)]);
            va += PAGE_SIZE as u64;
        }
    }

    /// Calls `f(va, pa, writable, executable)` for every mapped page, in address order.
    pub fn for_each_page(&self, mut f: impl FnMut(u64, u64, bool, bool)) {
        self.for_each_page_prot(|va, pa, prot| {
            f(va, pa, prot.0 & PTE_RDONLY == 0, prot.0 & PTE_UXN == 0);
        });
    }

    /// Calls `f(va, pa, prot)` for every mapped page, in address order, with its protection
    /// exactly as mapped (what a copy of the address space maps again).
    pub fn for_each_page_prot(&self, mut f: impl FnMut(u64, u64, Prot)) {
        for (i1, e1) in entries(self.root).iter().enumerate() {
            let d1 = e1.load(Ordering::Relaxed);
            if d1 & PTE_VALID == 0 {
                continue;
            }
            for (i2, e2) in entries(d1 & PTE_ADDR_MASK).iter().enumerate() {
                let d2 = e2.load(Ordering::Relaxed);
                if d2 & PTE_VALID == 0 {
                    continue;
                }
                for (i3, e3) in entries(d2 & PTE_ADDR_MASK).iter().enumerate() {
                    let d3 = e3.load(Ordering::Relaxed);
                    if d3 & PTE_VALID != 0 {
                        let va = ((i1 as u64) << 30) | ((i2 as u64) << 21) | ((i3 as u64) << 12);
                        f(
                            va,
                            d3 & PTE_ADDR_MASK,
                            Prot(d3 & !(PTE_ADDR_MASK | PTE_TYPE_PAGE)),
                        );
                    }
                }
            }
        }
    }

    /// Frees every mapped frame and every table. The address space must not be installed on
    /// any CPU; its ASID is never reused without a TLB flush ([`crate::asid`]), so stale TLB
    /// entries cannot be reached.
    pub fn destroy(self, alloc: &dyn PageAlloc) {
        for e1 in entries(self.root) {
            let d1 = e1.load(Ordering::Relaxed);
            if d1 & PTE_VALID == 0 {
                continue;
            }
            for e2 in entries(d1 & PTE_ADDR_MASK) {
                let d2 = e2.load(Ordering::Relaxed);
                if d2 & PTE_VALID == 0 {
                    continue;
                }
                for e3 in entries(d2 & PTE_ADDR_MASK) {
                    let d3 = e3.load(Ordering::Relaxed);
                    if d3 & PTE_VALID != 0 {
                        alloc.free(d3 & PTE_ADDR_MASK);
                    }
                }
                alloc.free(d2 & PTE_ADDR_MASK);
            }
            alloc.free(d1 & PTE_ADDR_MASK);
        }
        alloc.free(self.root);
    }
}

/// Invalidates `va` tagged with `asid` in every CPU's TLB (Linux: `flush_tlb_page`).
pub fn flush_tlb_page(asid: u16, va: u64) {
    let arg = (u64::from(asid) << 48) | ((va >> PAGE_SHIFT) & ((1 << 44) - 1));
    // SAFETY: TLB maintenance only; the barriers order it after the entry's store and
    // complete it before the caller frees the frame.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "tlbi vale1is, {arg}",
            "dsb ish",
            "isb",
            arg = in(reg) arg,
            options(nostack, preserves_flags)
        )
    };
}
