//! Kernel page tables: a 39-bit upper-half (TTBR1) address space with 4 KiB pages where every
//! virtual address is its physical address plus [`PAGE_OFFSET`] (one linear map for RAM, the
//! kernel image and devices), plus a fixmap: a few page slots at the top of the address space
//! that can map any physical page temporarily. Text patching writes through the fixmap because
//! the kernel text itself is mapped read-only (Linux: `FIX_TEXT_POKE0`).
//!
//! Permissions follow Linux's `PAGE_KERNEL_*`: text read-only and executable, rodata read-only
//! and never executable, data/bss/stack/heap read-write and never executable, devices
//! Device-nGnRE. The early boot map (one 1 GiB RWX block, see `asm/boot.s`) is replaced by
//! [`init`], and TTBR0 then points at an always-empty table with ASID 0 (Linux's
//! `reserved_pg_dir`) whenever no EL0 address space is installed ([`crate::pgtable`],
//! [`crate::asid`]). No kernel mapping has `PTE_USER` (AP[1]), so EL0 can neither read nor
//! write it, and every kernel mapping but text has `PTE_UXN` as well; kernel entries are global
//! (no `PTE_NG`), user entries are not.
//!
//! Locking: [`MAP_LOCK`] serialises changes to the live tables (new device mappings and fixmap
//! slots). Users of a fixmap slot also hold the lock that owns the slot (the patching lock for
//! `TextPoke0`), so the order is: subsystem lock, then `MAP_LOCK`. It masks IRQs: a CPU holding
//! it must never be parked by a stop-machine rendezvous whose patch step needs it.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::spinlock::SpinLockIrq;
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ReadWriteable, TCR_EL1};

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Size of an L2 block mapping.
pub const SECTION_SIZE: usize = 2 << 20;
/// Start of the linear map: virtual = physical + PAGE_OFFSET (39-bit VA, TTBR1).
pub const PAGE_OFFSET: u64 = 0xffff_ff80_0000_0000;
pub const VA_BITS: u64 = 39;

// MAIR_EL1 attribute indices and their encodings (Linux's MT_*).
pub const MT_DEVICE_NGNRE: u64 = 0;
pub const MT_NORMAL: u64 = 1;
pub const MT_NORMAL_NC: u64 = 2;
pub const MAIR_EL1_VALUE: u64 =
    (0x04 << (8 * MT_DEVICE_NGNRE)) | (0xff << (8 * MT_NORMAL)) | (0x44 << (8 * MT_NORMAL_NC));

// TCR_EL1: 39-bit VA on both halves, 4 KiB granules, inner-shareable write-back walks.
// IPS (bits 34:32) is filled in at boot from ID_AA64MMFR0_EL1.PARange.
const TCR_T0SZ: u64 = 64 - VA_BITS;
const TCR_T1SZ: u64 = (64 - VA_BITS) << 16;
const TCR_IRGN0_WBWA: u64 = 1 << 8;
const TCR_ORGN0_WBWA: u64 = 1 << 10;
const TCR_SH0_INNER: u64 = 3 << 12;
const TCR_TG0_4K: u64 = 0 << 14;
const TCR_IRGN1_WBWA: u64 = 1 << 24;
const TCR_ORGN1_WBWA: u64 = 1 << 26;
const TCR_SH1_INNER: u64 = 3 << 28;
const TCR_TG1_4K: u64 = 2 << 30;
pub const TCR_EL1_VALUE: u64 = TCR_T0SZ
    | TCR_IRGN0_WBWA
    | TCR_ORGN0_WBWA
    | TCR_SH0_INNER
    | TCR_TG0_4K
    | TCR_T1SZ
    | TCR_IRGN1_WBWA
    | TCR_ORGN1_WBWA
    | TCR_SH1_INNER
    | TCR_TG1_4K;

// SCTLR_EL1: MMU, caches and SP alignment checking on; RES1 bits of ARMv8.0 set (11, 20, 22,
// 23 (SPAN), 28, 29); little-endian; WXN off (we set permissions per page).
const SCTLR_ELX_M: u64 = 1 << 0;
const SCTLR_ELX_C: u64 = 1 << 2;
const SCTLR_ELX_SA: u64 = 1 << 3;
const SCTLR_ELX_I: u64 = 1 << 12;
const SCTLR_EL1_RES1: u64 = (1 << 11) | (1 << 20) | (1 << 22) | (1 << 23) | (1 << 28) | (1 << 29);
pub const SCTLR_EL1_MMU_ON: u64 =
    SCTLR_EL1_RES1 | SCTLR_ELX_M | SCTLR_ELX_C | SCTLR_ELX_SA | SCTLR_ELX_I;

// Stage-1 descriptor bits (Linux's pgtable-hwdef.h names).
pub const PTE_VALID: u64 = 1 << 0;
/// Bit 1: "table" at levels 1-2, "page" at level 3.
pub const PTE_TABLE_BIT: u64 = 1 << 1;
pub const PMD_TYPE_SECT: u64 = PTE_VALID;
pub const PMD_TYPE_TABLE: u64 = PTE_VALID | PTE_TABLE_BIT;
pub const PTE_TYPE_PAGE: u64 = PTE_VALID | PTE_TABLE_BIT;
pub const fn pte_attrindx(mt: u64) -> u64 {
    mt << 2
}
/// AP[1]: accessible from EL0.
pub const PTE_USER: u64 = 1 << 6;
/// AP[2]: read-only.
pub const PTE_RDONLY: u64 = 1 << 7;
pub const PTE_SHARED: u64 = 3 << 8;
pub const PTE_AF: u64 = 1 << 10;
pub const PTE_NG: u64 = 1 << 11;
pub const PTE_PXN: u64 = 1 << 53;
pub const PTE_UXN: u64 = 1 << 54;
pub const PTE_ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

/// Memory protections, as Linux names them; each is the non-type part of a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prot(pub(crate) u64);

const PROT_NORMAL: u64 = PTE_AF | PTE_SHARED | pte_attrindx(MT_NORMAL);
pub const PAGE_KERNEL: Prot = Prot(PROT_NORMAL | PTE_PXN | PTE_UXN);
pub const PAGE_KERNEL_RO: Prot = Prot(PROT_NORMAL | PTE_RDONLY | PTE_PXN | PTE_UXN);
pub const PAGE_KERNEL_ROX: Prot = Prot(PROT_NORMAL | PTE_RDONLY | PTE_UXN);
pub const PROT_DEVICE_NGNRE: Prot =
    Prot(PTE_AF | pte_attrindx(MT_DEVICE_NGNRE) | PTE_PXN | PTE_UXN);

/// The early boot block: normal memory, read-write-execute, for the 1 GiB holding the image.
pub const EARLY_BLOCK_ATTRS: u64 = PMD_TYPE_SECT | PROT_NORMAL;

/// The fixmap: page slots in the last 2 MiB of the address space.
pub const FIXADDR_START: u64 = 0xffff_ffff_ffe0_0000;

/// Fixmap slots (Linux's `enum fixed_addresses`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum FixmapSlot {
    /// The writable alias used to patch kernel text.
    TextPoke0 = 0,
}

/// Virtual address of a fixmap slot.
#[inline(always)]
pub const fn fix_to_virt(slot: FixmapSlot) -> u64 {
    FIXADDR_START + ((slot as u64) << PAGE_SHIFT)
}

pub const fn phys_to_virt(pa: u64) -> u64 {
    pa + PAGE_OFFSET
}

/// Physical address of a linear-map (or kernel image) address.
pub const fn virt_to_phys(va: u64) -> u64 {
    va - PAGE_OFFSET
}

#[repr(C, align(4096))]
struct PageTable([AtomicU64; 512]);

impl PageTable {
    const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; 512])
    }

    #[inline(always)]
    fn phys(&self) -> u64 {
        virt_to_phys(self as *const Self as u64)
    }
}

/// Page-table pages come from this pool, so building the tables needs no allocator.
const POOL_TABLES: usize = 96;
static POOL: [PageTable; POOL_TABLES] = [const { PageTable::new() }; POOL_TABLES];
static POOL_NEXT: AtomicUsize = AtomicUsize::new(0);
/// An always-empty table: TTBR1 points at it while the root is being replaced.
static EMPTY_TABLE: PageTable = PageTable::new();

static ROOT: AtomicU64 = AtomicU64::new(0);
static FIXMAP_PTE_TABLE: AtomicU64 = AtomicU64::new(0);
static MAP_LOCK: SpinLockIrq<()> = SpinLockIrq::new(());

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The table pool is exhausted.
    OutOfTables,
    /// Part of the range is already mapped differently.
    Conflict {
        va: u64,
    },
    Unaligned,
}

fn alloc_table() -> Result<&'static PageTable, MapError> {
    let index = POOL_NEXT.fetch_add(1, Ordering::Relaxed);
    POOL.get(index).ok_or(MapError::OutOfTables)
}

crate::noinstr! {
fn table_at(pa: u64) -> &'static PageTable {
    // SAFETY: table descriptors only ever point at tables of POOL, which live for the whole
    // program in the linear map; the address comes from a descriptor we wrote.
    unsafe { &*(phys_to_virt(pa) as *const PageTable) }
}
}

const fn level_index(va: u64, level: u32) -> usize {
    ((va >> (PAGE_SHIFT + 9 * (3 - level))) & 0x1ff) as usize
}

/// The next-level table under `entry`, creating it if the entry is empty.
fn next_table(entry: &AtomicU64, va: u64) -> Result<&'static PageTable, MapError> {
    let desc = entry.load(Ordering::Relaxed);
    if desc & PMD_TYPE_TABLE == PMD_TYPE_TABLE {
        return Ok(table_at(desc & PTE_ADDR_MASK));
    }
    if desc & PTE_VALID != 0 {
        return Err(MapError::Conflict { va });
    }
    let table = alloc_table()?;
    entry.store(table.phys() | PMD_TYPE_TABLE, Ordering::Release);
    Ok(table)
}

/// Writes a leaf descriptor; an identical one is fine, anything else valid is a conflict
/// (changing a live mapping would need break-before-make, which nothing here requires).
fn set_leaf(entry: &AtomicU64, desc: u64, va: u64) -> Result<(), MapError> {
    let old = entry.load(Ordering::Relaxed);
    if old & PTE_VALID != 0 && old != desc {
        return Err(MapError::Conflict { va });
    }
    entry.store(desc, Ordering::Release);
    Ok(())
}

/// Maps `[va, va + len)` to `pa` under `root`; 2 MiB blocks where `allow_blocks` and alignment
/// allow, 4 KiB pages elsewhere.
fn map_range(
    root: &PageTable,
    mut va: u64,
    mut pa: u64,
    len: u64,
    prot: Prot,
    allow_blocks: bool,
) -> Result<(), MapError> {
    let page = PAGE_SIZE as u64;
    let section = SECTION_SIZE as u64;
    if (va | pa | len) & (page - 1) != 0 {
        return Err(MapError::Unaligned);
    }
    let end = va + len;
    while va < end {
        let l2 = next_table(&root.0[level_index(va, 1)], va)?;
        let l2_entry = &l2.0[level_index(va, 2)];
        if allow_blocks && (va | pa) & (section - 1) == 0 && end - va >= section {
            set_leaf(l2_entry, pa | prot.0 | PMD_TYPE_SECT, va)?;
            va += section;
            pa += section;
            continue;
        }
        let l3 = next_table(l2_entry, va)?;
        set_leaf(&l3.0[level_index(va, 3)], pa | prot.0 | PTE_TYPE_PAGE, va)?;
        va += page;
        pa += page;
    }
    Ok(())
}

/// A physical RAM range, as the device tree's /memory node gives it.
#[derive(Clone, Copy, Debug)]
pub struct RamRange {
    pub start: u64,
    pub size: u64,
}

unsafe extern "C" {
    static __kernel_start: u8;
    static __rodata_start: u8;
    static __data_start: u8;
    static __bss_end: u8;
    static __boot_stack_bottom: u8;
    static __boot_stack_top: u8;
    static __kernel_end: u8;
    fn idmap_cpu_replace_ttbr1(new_root: u64, empty: u64);
}

/// Virtual address of a linker-script symbol (taking the address reads nothing).
macro_rules! linker_addr {
    ($sym:ident) => {
        core::ptr::addr_of!($sym) as u64
    };
}

const fn page_align_up(x: u64) -> u64 {
    (x + PAGE_SIZE as u64 - 1) & !(PAGE_SIZE as u64 - 1)
}

/// The kernel image's extent, as virtual addresses.
pub fn kernel_image() -> core::ops::Range<u64> {
    linker_addr!(__kernel_start)..linker_addr!(__kernel_end)
}

/// Builds the final kernel page tables and switches to them.
///
/// `ram` is every RAM range of the device tree; `devices` are MMIO ranges to map now (more can
/// be added later with [`map_device`]).
///
/// # Safety
/// Call once, on the boot CPU, while the early boot tables are live and nothing else runs.
pub unsafe fn init(ram: &[RamRange], devices: &[(u64, u64)]) -> Result<(), MapError> {
    let root = alloc_table()?;
    let image = kernel_image();
    let text = image.start..linker_addr!(__rodata_start);
    let rodata = linker_addr!(__rodata_start)..linker_addr!(__data_start);
    let data = linker_addr!(__data_start)..page_align_up(linker_addr!(__bss_end));
    let stack = linker_addr!(__boot_stack_bottom)..linker_addr!(__boot_stack_top);
    for (range, prot) in [
        (text, PAGE_KERNEL_ROX),
        (rodata, PAGE_KERNEL_RO),
        (data, PAGE_KERNEL),
        (stack, PAGE_KERNEL),
    ] {
        map_range(
            root,
            range.start,
            virt_to_phys(range.start),
            range.end - range.start,
            prot,
            false,
        )?;
    }

    // The rest of RAM: read-write, never executable. The image's own pages keep the permissions
    // above (its guard page stays unmapped).
    let (image_pa_start, image_pa_end) = (virt_to_phys(image.start), virt_to_phys(image.end));
    for r in ram {
        let (start, end) = (r.start, r.start + r.size);
        for (s, e) in [
            (start, end.min(image_pa_start)),
            (start.max(image_pa_end), end),
        ] {
            if s < e {
                map_range(root, phys_to_virt(s), s, e - s, PAGE_KERNEL, true)?;
            }
        }
    }
    for &(pa, size) in devices {
        map_device_in(root, pa, size)?;
    }

    // Pre-build the fixmap's level-3 table so setting a slot never allocates.
    let fix_l2 = next_table(&root.0[level_index(FIXADDR_START, 1)], FIXADDR_START)?;
    let fix_l3 = next_table(&fix_l2.0[level_index(FIXADDR_START, 2)], FIXADDR_START)?;
    FIXMAP_PTE_TABLE.store(
        virt_to_phys(fix_l3 as *const PageTable as u64),
        Ordering::Relaxed,
    );
    ROOT.store(root.phys(), Ordering::Relaxed);

    barrier::dsb(barrier::ISHST);
    let replace: unsafe extern "C" fn(u64, u64) = idmap_cpu_replace_ttbr1;
    let replace_phys = virt_to_phys(replace as usize as u64);
    // SAFETY: the routine is position-independent and touches no memory; we call it at its
    // physical address, which the early identity map (TTBR0) still covers, so the brief moment
    // in which TTBR1 maps nothing does not affect its own instruction fetches.
    unsafe {
        let replace_idmap: unsafe extern "C" fn(u64, u64) =
            core::mem::transmute(replace_phys as usize);
        replace_idmap(root.phys(), EMPTY_TABLE.phys());
    }

    cpu_uninstall_idmap();
    Ok(())
}

/// Replaces the early identity map in TTBR0 by the reserved empty table (ASID 0) and turns
/// TTBR0 walks on, so user addresses fault until a process's tables are installed (Linux:
/// `cpu_uninstall_idmap`). Every CPU calls this once it runs in the high half.
pub fn cpu_uninstall_idmap() {
    // Walks off while TTBR0 changes: the early identity map must not be walked half-replaced.
    TCR_EL1.modify(TCR_EL1::EPD0::DisableTTBR0Walks);
    barrier::isb(barrier::SY);
    // SAFETY: TTBR0 gets the physical address of a static, always-empty table; nothing
    // running at EL1 depends on lower-half mappings any more.
    unsafe {
        core::arch::asm!(
            "msr ttbr0_el1, {t}",
            "isb",
            t = in(reg) reserved_ttbr0(),
            options(nostack, preserves_flags)
        )
    };
    flush_tlb_all_local();
    TCR_EL1.modify(TCR_EL1::EPD0::EnableTTBR0Walks);
    barrier::isb(barrier::SY);
}

crate::noinstr! {
/// TTBR0's value while no EL0 address space is installed: the empty table, ASID 0.
#[inline(always)]
pub fn reserved_ttbr0() -> u64 {
    EMPTY_TABLE.phys()
}
}

/// Physical address of the kernel's root table (what every CPU's TTBR1 holds).
pub fn kernel_root_phys() -> u64 {
    ROOT.load(Ordering::Relaxed)
}

crate::noinstr! {
/// Invalidates every EL1&0 TLB entry of this CPU (Linux: `local_flush_tlb_all`).
pub fn flush_tlb_all_local() {
    // SAFETY: TLB maintenance has no memory-safety effect; the barriers complete it.
    unsafe {
        core::arch::asm!(
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            options(nostack, preserves_flags)
        )
    };
}
}

fn map_device_in(root: &PageTable, pa: u64, size: u64) -> Result<u64, MapError> {
    let start = pa & !(PAGE_SIZE as u64 - 1);
    let end = page_align_up(pa + size);
    map_range(
        root,
        phys_to_virt(start),
        start,
        end - start,
        PROT_DEVICE_NGNRE,
        false,
    )?;
    Ok(phys_to_virt(pa))
}

/// Maps an MMIO range as Device-nGnRE into the live tables and returns its virtual address.
/// Mapping the same range twice is fine.
pub fn map_device(pa: u64, size: u64) -> Result<u64, MapError> {
    let _guard = MAP_LOCK.lock();
    let va = map_device_in(table_at(ROOT.load(Ordering::Relaxed)), pa, size)?;
    // New entries replace invalid ones, so no TLB maintenance is needed: only make the
    // descriptor writes visible to the table walker before the mapping is used.
    barrier::dsb(barrier::ISHST);
    barrier::isb(barrier::SY);
    Ok(va)
}

crate::noinstr! {
/// Maps the physical page holding `pa` at `slot` (read-write, never executable) and returns the
/// virtual address that corresponds to `pa`. Pair with [`clear_fixmap`].
pub fn set_fixmap(slot: FixmapSlot, pa: u64) -> u64 {
    let _guard = MAP_LOCK.lock();
    let entry = &table_at(FIXMAP_PTE_TABLE.load(Ordering::Relaxed)).0[slot as usize];
    entry.store(
        (pa & PTE_ADDR_MASK) | PAGE_KERNEL.0 | PTE_TYPE_PAGE,
        Ordering::Relaxed,
    );
    barrier::dsb(barrier::ISHST);
    barrier::isb(barrier::SY);
    fix_to_virt(slot) + (pa & (PAGE_SIZE as u64 - 1))
}
}

crate::noinstr! {
/// Removes the mapping at `slot` and flushes it from every CPU's TLB.
pub fn clear_fixmap(slot: FixmapSlot) {
    let _guard = MAP_LOCK.lock();
    let entry = &table_at(FIXMAP_PTE_TABLE.load(Ordering::Relaxed)).0[slot as usize];
    entry.store(0, Ordering::Relaxed);
    let va = fix_to_virt(slot);
    // SAFETY: TLB maintenance by address; the DSBs order it after the descriptor store and
    // complete it before any later access.
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
}

/// Page tables used by the pool, for the boot log.
pub fn tables_used() -> usize {
    POOL_NEXT.load(Ordering::Relaxed).min(POOL_TABLES)
}
