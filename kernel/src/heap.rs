//! The kernel heap: a `linked_list_allocator` over the RAM above the kernel image, in the
//! linear map. Its size follows the device tree's memory node.
//!
//! Locking: the allocator's own spinlock, taken with IRQs masked (Linux's `kmalloc` is likewise
//! safe from any context). Masking keeps the holder from being preempted or interrupted, so code
//! that allocates with IRQs already masked (under a run-queue lock, say) can never spin on a
//! lock held by a task switched out on the same CPU. Code on the tracing hot paths must not
//! allocate.

use core::alloc::{GlobalAlloc, Layout};

use arch::irqflags::local_irq_save_guard;
use linked_list_allocator::LockedHeap;

/// [`LockedHeap`] with IRQs masked around every operation.
struct IrqSafeHeap(LockedHeap);

// SAFETY: every method forwards to LockedHeap's GlobalAlloc implementation unchanged; masking
// IRQs around it does not affect what it returns.
unsafe impl GlobalAlloc for IrqSafeHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _irqs = local_irq_save_guard();
        // SAFETY: forwarded from our caller.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _irqs = local_irq_save_guard();
        // SAFETY: forwarded from our caller.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: IrqSafeHeap = IrqSafeHeap(LockedHeap::empty());

/// Hands `[start, start + size)` (virtual, linear map, read-write) to the allocator.
///
/// # Safety
/// Call once; the range must be mapped read-write and used by nothing else, ever.
pub unsafe fn init(start: u64, size: usize) {
    let _irqs = local_irq_save_guard();
    // SAFETY: forwarded from the caller.
    unsafe { HEAP.0.lock().init(start as *mut u8, size) };
}

/// (used, free) bytes.
pub fn usage() -> (usize, usize) {
    let _irqs = local_irq_save_guard();
    let heap = HEAP.0.lock();
    (heap.used(), heap.free())
}
