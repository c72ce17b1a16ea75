//! Boot entry glue: pulls in `asm/boot.s` with the translation-control values it needs, all
//! defined once in [`crate::mmu`]. The boot CPU arrives at `_start` with the MMU off and leaves
//! for `kernel_main(boot_x0)` (provided by the kernel crate) at its linked high-half address.

use crate::mmu;

core::arch::global_asm!(
    include_str!("asm/boot.s"),
    early_block_attrs = const mmu::EARLY_BLOCK_ATTRS,
    mair = const mmu::MAIR_EL1_VALUE,
    tcr = const mmu::TCR_EL1_VALUE,
    sctlr = const mmu::SCTLR_EL1_MMU_ON,
);
