//! Boot entry glue: pulls in `asm/boot.s` with the translation-control values it needs, all
//! defined once in [`crate::mmu`]. The boot CPU arrives at `_start` with the MMU off and leaves
//! for `kernel_main(boot_x0)` (provided by the kernel crate) at its linked high-half address.
//! Secondary CPUs arrive at `secondary_entry` (started by PSCI CPU_ON) and leave for
//! `secondary_start_kernel(cpu)`, with what [`prepare_secondary`] left in their own slot of
//! [`SecondaryData`].

use core::sync::atomic::{AtomicU64, Ordering};

use crate::cache::dcache_clean_poc;
use crate::irq::NR_CPUS;
use crate::mmu;

/// What a starting secondary CPU reads with its MMU still off (Linux: `secondary_data`). Each
/// logical CPU has its own slot, written once before its CPU_ON and never reused: a CPU that
/// starts late (after the boot CPU gave up waiting for it) still finds its own values.
#[repr(C)]
pub struct SecondaryData {
    /// Physical address of the kernel's root table, for TTBR1.
    ttbr1: AtomicU64,
    /// Top of the CPU's stack (virtual).
    stack: AtomicU64,
}

#[unsafe(export_name = "secondary_data")]
static SECONDARY_DATA: [SecondaryData; NR_CPUS] = [const {
    SecondaryData {
        ttbr1: AtomicU64::new(0),
        stack: AtomicU64::new(0),
    }
}; NR_CPUS];

core::arch::global_asm!(
    include_str!("asm/boot.s"),
    early_block_attrs = const mmu::EARLY_BLOCK_ATTRS,
    mair = const mmu::MAIR_EL1_VALUE,
    tcr = const mmu::TCR_EL1_VALUE,
    sctlr = const mmu::SCTLR_EL1_MMU_ON,
    secondary_ttbr1 = const core::mem::offset_of!(SecondaryData, ttbr1),
    secondary_stack = const core::mem::offset_of!(SecondaryData, stack),
    secondary_size = const core::mem::size_of::<SecondaryData>(),
);

unsafe extern "C" {
    fn secondary_entry();
}

/// Physical address where PSCI CPU_ON starts a secondary CPU.
pub fn secondary_entry_phys() -> u64 {
    mmu::virt_to_phys(secondary_entry as *const () as u64)
}

/// Logical CPU `cpu` has no [`SecondaryData`] slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSlot;

/// Fills logical CPU `cpu`'s [`SecondaryData`] and pushes it to the point of coherency, where
/// the CPU (caches and MMU still off) will read it. Call once per CPU, before its CPU_ON.
pub fn prepare_secondary(cpu: usize, stack_top: u64) -> Result<(), NoSlot> {
    let slot = SECONDARY_DATA.get(cpu).ok_or(NoSlot)?;
    slot.ttbr1.store(mmu::kernel_root_phys(), Ordering::Relaxed);
    slot.stack.store(stack_top, Ordering::Relaxed);
    let start = slot as *const SecondaryData as u64;
    dcache_clean_poc(start, start + core::mem::size_of::<SecondaryData>() as u64);
    Ok(())
}
