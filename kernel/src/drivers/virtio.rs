//! virtio over MMIO (Linux: `drivers/virtio/virtio_mmio.c`): every `virtio,mmio` node of the
//! DTB is a transport slot; the ones with a device behind them are handed to the driver for
//! that device type. The transports and queues themselves are the `virtio-drivers` crate's; this
//! file gives it what it needs from the kernel ([`KernelHal`]).
//!
//! DMA memory: QEMU's devices are cache-coherent and see guest physical memory, so a buffer is
//! shared by giving its physical address. Buffers must therefore sit in the linear map (heap or
//! kernel image), where `virt_to_phys` holds: never on a (vmapped) kernel stack. Queue memory
//! must be physically contiguous over several pages (a legacy queue puts its rings in one
//! allocation); the page-frame allocator (`crate::mm::page_alloc`) hands out single frames only,
//! so queues come from page-aligned heap allocations, which the linear map makes contiguous.

use core::alloc::Layout;
use core::ptr::NonNull;

use arch::mmu::{self, PAGE_SIZE};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use crate::board::BoardInfo;
use crate::println;

/// The kernel's side of the `virtio-drivers` crate.
pub struct KernelHal;

fn dma_layout(pages: usize) -> Option<Layout> {
    Layout::from_size_align(pages.checked_mul(PAGE_SIZE)?, PAGE_SIZE).ok()
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned, physically contiguous memory (one heap block
// in the linear map) that nothing else uses until `dma_dealloc`; `share` gives the physical
// address of the very buffer (no bounce copy is needed, the device is coherent).
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Some(layout) = dma_layout(pages).filter(|l| l.size() > 0) else {
            return (0, NonNull::dangling());
        };
        // SAFETY: the layout has a non-zero size.
        let block = unsafe { alloc::alloc::alloc_zeroed(layout) };
        match NonNull::new(block) {
            // A physical address of 0 is the crate's "allocation failed".
            None => (0, NonNull::dangling()),
            Some(va) => (mmu::virt_to_phys(block as u64), va),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let Some(layout) = dma_layout(pages) else {
            return -1;
        };
        // SAFETY: the crate frees what `dma_alloc` gave it for this many pages, once.
        unsafe { alloc::alloc::dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        // Only reached for PCI BARs, which this kernel does not use; the MMIO transports are
        // mapped by `probe_all` before the crate sees them.
        let va = mmu::map_device(paddr, size as u64).expect("virtio: BAR mapping");
        NonNull::new(va as *mut u8).expect("the linear map is not at 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        let va = buffer.cast::<u8>().as_ptr() as u64;
        assert!(
            va >= mmu::PAGE_OFFSET,
            "virtio: a shared buffer must be in the linear map"
        );
        mmu::virt_to_phys(va)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// Maps each transport the DTB lists, reads which device is behind it, and starts the
/// driver for the ones we have.
pub fn probe_all(board: &BoardInfo) {
    for slot in board.virtio_mmio() {
        let regs = slot.regs;
        let va = match mmu::map_device(regs.base, regs.size) {
            Ok(va) => va,
            Err(error) => {
                println!("virtio-mmio: {:#x}: cannot map: {error:?}", regs.base);
                continue;
            }
        };
        let Some(header) = NonNull::new(va as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: the slot's registers (header and config space, `regs.size` bytes) were just
        // mapped as device memory and stay mapped; each slot is probed once, and a transport
        // without a driver is dropped here, so only its driver ever holds it.
        let transport = match unsafe { MmioTransport::new(header, regs.size as usize) } {
            Ok(transport) => transport,
            // An empty slot reports device ID 0: nothing there.
            Err(_) => continue,
        };
        if transport.device_type() == DeviceType::Console {
            super::virtio_console::probe(transport, regs.base, slot.irq);
        }
    }
}
