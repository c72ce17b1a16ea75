//! A minimal page-frame allocator (Linux: `alloc_page` / `__free_page`): zeroed, page-aligned
//! 4 KiB frames, named by physical address, for memory that is mapped page by page elsewhere
//! (guarded stacks, their page tables).
//!
//! The frames come from the kernel heap, which owns all free RAM; allocating one is fallible
//! and an exhausted heap means no frame. The count of frames out is kept for leak checks.

use alloc::alloc::{alloc_zeroed, dealloc};
use core::alloc::Layout;
use core::sync::atomic::{AtomicUsize, Ordering};

use arch::mmu::{PAGE_SIZE, phys_to_virt, virt_to_phys};

const PAGE_LAYOUT: Layout = match Layout::from_size_align(PAGE_SIZE, PAGE_SIZE) {
    Ok(layout) => layout,
    Err(_) => panic!("a page is a valid layout"),
};

static NR_PAGES: AtomicUsize = AtomicUsize::new(0);

/// A zeroed page's physical address, or `None` when memory is exhausted.
pub fn alloc_page() -> Option<u64> {
    // SAFETY: the layout has a non-zero size.
    let page = unsafe { alloc_zeroed(PAGE_LAYOUT) };
    if page.is_null() {
        return None;
    }
    NR_PAGES.fetch_add(1, Ordering::Relaxed);
    Some(virt_to_phys(page as u64))
}

/// Gives back a page from [`alloc_page`].
///
/// # Safety
/// `pa` came from [`alloc_page`], is freed once, and nothing maps or uses it any more.
pub unsafe fn free_page(pa: u64) {
    NR_PAGES.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: the caller vouches that the heap gave out this block with this layout.
    unsafe { dealloc(phys_to_virt(pa) as *mut u8, PAGE_LAYOUT) };
}

/// Pages allocated and not freed.
pub fn nr_pages() -> usize {
    NR_PAGES.load(Ordering::Relaxed)
}
