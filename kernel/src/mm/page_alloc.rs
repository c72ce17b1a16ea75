//! The page-frame allocator (Linux: `mm/page_alloc.c`, reduced to order-0 pages): a free list
//! of 4 KiB frames threaded through the frames themselves (each free frame's first word holds
//! the physical address of the next), over a RAM range set aside at boot.
//!
//! Allocation is fallible: an empty list is `None` (the callers' `ENOMEM`), never a panic.
//! Frames are handed out zeroed, so a process never sees another's data.
//!
//! Locking: one IRQ-masking spinlock, held for a list push or pop only.
//!
//! The kernel's own page-by-page mappings (guarded stacks) take heap pages instead
//! ([`alloc_kernel_page`], at the end of this file).

use arch::mmu::{PAGE_SIZE, phys_to_virt};
use arch::pgtable::PageAlloc;
use arch::spinlock::SpinLockIrq;

struct FreeList {
    head: u64,
    free: usize,
    total: usize,
}

static FRAMES: SpinLockIrq<FreeList> = SpinLockIrq::new(FreeList {
    head: 0,
    free: 0,
    total: 0,
});

/// Hands the physical range `[start, start + size)` to the allocator.
///
/// # Safety
/// Call once; the range must be RAM in the linear map, page aligned, used by nothing else.
pub unsafe fn init(start: u64, size: u64) {
    let mut list = FRAMES.lock();
    let mut pa = start + size;
    while pa >= start + PAGE_SIZE as u64 {
        pa -= PAGE_SIZE as u64;
        // SAFETY: the frame is ours (the caller's contract) and mapped read-write.
        unsafe { *(phys_to_virt(pa) as *mut u64) = list.head };
        list.head = pa;
        list.free += 1;
        list.total += 1;
    }
}

/// A zeroed frame's physical address, or `None` when none is left.
pub fn alloc_page() -> Option<u64> {
    let pa = {
        let mut list = FRAMES.lock();
        if list.head == 0 {
            return None;
        }
        let pa = list.head;
        // SAFETY: a free frame's first word is the next link, written by `init` or `free_page`.
        list.head = unsafe { *(phys_to_virt(pa) as *const u64) };
        list.free -= 1;
        pa
    };
    // SAFETY: the frame was just taken off the free list: nobody else uses it.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, PAGE_SIZE) };
    Some(pa)
}

/// Gives back a frame from [`alloc_page`].
pub fn free_page(pa: u64) {
    let mut list = FRAMES.lock();
    // SAFETY: the caller owned the frame and gives it up; it is mapped read-write.
    unsafe { *(phys_to_virt(pa) as *mut u64) = list.head };
    list.head = pa;
    list.free += 1;
}

/// (free, total) frames.
pub fn counts() -> (usize, usize) {
    let list = FRAMES.lock();
    (list.free, list.total)
}

/// The allocator as the page-table code takes it.
pub struct Frames;

impl PageAlloc for Frames {
    fn alloc_zeroed(&self) -> Option<u64> {
        alloc_page()
    }

    fn free(&self, pa: u64) {
        free_page(pa);
    }
}

// ---------------------------------------------------------------------------------------------
// Kernel pages from the heap
// ---------------------------------------------------------------------------------------------
//
// Memory the kernel maps page by page for itself (the guarded stacks and their page tables)
// comes from the heap, which owns the rest of RAM, not from the user frames above: a process
// cannot starve the kernel of stacks, and a kernel that has exhausted its heap cannot spawn
// (the tests that fill the heap rely on it).

/// A page as a heap allocation.
const PAGE_LAYOUT: core::alloc::Layout =
    match core::alloc::Layout::from_size_align(PAGE_SIZE, PAGE_SIZE) {
        Ok(layout) => layout,
        Err(_) => panic!("a page is a valid layout"),
    };

/// Heap pages handed out and not given back, for leak checks.
static NR_KERNEL_PAGES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// A zeroed heap page's physical address, or `None` when the heap is exhausted.
pub fn alloc_kernel_page() -> Option<u64> {
    // SAFETY: the layout has a non-zero size.
    let page = unsafe { alloc::alloc::alloc_zeroed(PAGE_LAYOUT) };
    if page.is_null() {
        return None;
    }
    NR_KERNEL_PAGES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    Some(arch::mmu::virt_to_phys(page as u64))
}

/// Gives back a page from [`alloc_kernel_page`].
///
/// # Safety
/// `pa` came from [`alloc_kernel_page`], is freed once, and nothing maps or uses it any more.
pub unsafe fn free_kernel_page(pa: u64) {
    NR_KERNEL_PAGES.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: the caller vouches that the heap gave out this block with this layout.
    unsafe { alloc::alloc::dealloc(phys_to_virt(pa) as *mut u8, PAGE_LAYOUT) };
}

/// Heap pages allocated by [`alloc_kernel_page`] and not freed.
pub fn nr_kernel_pages() -> usize {
    NR_KERNEL_PAGES.load(core::sync::atomic::Ordering::Relaxed)
}
