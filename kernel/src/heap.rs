//! The kernel heap: a `linked_list_allocator` over the RAM above the kernel image, in the
//! linear map. Its size follows the device tree's memory node.
//!
//! Locking: the allocator's own spinlock. Code on the tracing hot paths must not allocate.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Hands `[start, start + size)` (virtual, linear map, read-write) to the allocator.
///
/// # Safety
/// Call once; the range must be mapped read-write and used by nothing else, ever.
pub unsafe fn init(start: u64, size: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { HEAP.lock().init(start as *mut u8, size) };
}

/// (used, free) bytes.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.used(), heap.free())
}
