//! ASIDs and installing an address space in TTBR0 (Linux: `arch/arm64/mm/context.c`,
//! `check_and_switch_context`, reduced).
//!
//! Every user page-table entry is non-global (`PTE_NG`), so TLB entries are tagged with the
//! ASID that TTBR0 held when they were made, and switching address spaces is one TTBR0 write
//! and an ISB, with no flush. TCR_EL1.AS is 0: 8-bit ASIDs, 255 for user address spaces
//! (ASID 0 goes with the reserved empty table that kernel tasks run on).
//!
//! An address space's id is `generation | asid`. A switch to an address space of an older
//! generation gives it a fresh ASID. When the ASIDs of a generation are used up (rollover) the
//! generation advances, the bitmap is cleared, and every CPU must invalidate its whole TLB
//! before it next installs an address space (`flush_pending`): entries of the old generation
//! could otherwise answer for an address space that gets the same number. A CPU that is running
//! an address space at the rollover keeps its ASID (it is "reserved" into the new generation,
//! as Linux does), so no ASID is ever live under two address spaces at once. Freed address
//! spaces do not give their ASID back before a rollover, so stale entries of a freed address
//! space are never reachable either.
//!
//! Locking: one IRQ-masking spinlock around the allocator, taken only when an address space
//! changes on a CPU (never for kernel task to kernel task switches).

use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use crate::spinlock::SpinLockIrq;

/// ASID width (TCR_EL1.AS = 0).
pub const ASID_BITS: u32 = 8;
const NUM_ASIDS: usize = 1 << ASID_BITS;
const ASID_MASK: u64 = (1 << ASID_BITS) - 1;
/// CPUs the allocator tracks (the kernel's `MAX_CPUS`).
pub const NR_CPUS: usize = 8;

/// An address space as the MMU sees it: its root table and its ASID.
#[derive(Debug)]
pub struct MmContext {
    root: u64,
    /// `generation | asid`; 0 until the first switch to it.
    id: AtomicU64,
}

impl MmContext {
    pub const fn new(root_phys: u64) -> Self {
        Self {
            root: root_phys,
            id: AtomicU64::new(0),
        }
    }

    /// The ASID it last ran with (for TLB maintenance by ASID).
    pub fn asid(&self) -> u16 {
        (self.id.load(Ordering::Relaxed) & ASID_MASK) as u16
    }
}

struct Allocator {
    /// The current generation, in the bits above the ASID.
    generation: u64,
    used: [u64; NUM_ASIDS / 64],
    /// Where the search for a free ASID starts.
    next: usize,
    /// Per CPU: the id it runs now (0 for none).
    active: [u64; NR_CPUS],
    /// Per CPU: the id it was running at the last rollover, kept by its address space.
    reserved: [u64; NR_CPUS],
    /// CPUs that must flush their TLB before installing an address space.
    flush_pending: u64,
}

static ALLOCATOR: SpinLockIrq<Allocator> = SpinLockIrq::new(Allocator {
    generation: 1 << ASID_BITS,
    used: [1, 0, 0, 0],
    next: 1,
    active: [0; NR_CPUS],
    reserved: [0; NR_CPUS],
    flush_pending: 0,
});

/// The address space installed on each CPU (null: the reserved table).
static INSTALLED: [AtomicPtr<MmContext>; NR_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; NR_CPUS];

/// ASID rollovers so far (for tests and the boot log).
static ROLLOVERS: AtomicU64 = AtomicU64::new(0);

pub fn rollovers() -> u64 {
    ROLLOVERS.load(Ordering::Relaxed)
}

impl Allocator {
    fn is_used(&self, asid: usize) -> bool {
        self.used[asid / 64] & (1 << (asid % 64)) != 0
    }

    fn set_used(&mut self, asid: usize) {
        self.used[asid / 64] |= 1 << (asid % 64);
    }

    fn rollover(&mut self) {
        self.generation += 1 << ASID_BITS;
        self.used = [1, 0, 0, 0];
        for cpu in 0..NR_CPUS {
            if self.active[cpu] != 0 {
                self.reserved[cpu] = self.active[cpu];
            }
            let keep = self.reserved[cpu];
            if keep != 0 {
                self.set_used((keep & ASID_MASK) as usize);
            }
        }
        self.flush_pending = (1 << NR_CPUS) - 1;
        self.next = 1;
        ROLLOVERS.fetch_add(1, Ordering::Relaxed);
    }

    /// A current-generation id for an address space whose id is `old` (Linux: `new_context`).
    fn new_context(&mut self, old: u64) -> u64 {
        if old != 0 {
            for cpu in 0..NR_CPUS {
                if self.reserved[cpu] == old {
                    // It was running at the rollover: it keeps its number.
                    let id = self.generation | (old & ASID_MASK);
                    self.reserved[cpu] = id;
                    return id;
                }
            }
        }
        loop {
            if let Some(asid) = (self.next..NUM_ASIDS).find(|&a| !self.is_used(a)) {
                self.set_used(asid);
                self.next = asid + 1;
                return self.generation | asid as u64;
            }
            self.rollover();
        }
    }
}

crate::noinstr! {
/// Installs `mm` (null: the reserved empty table) in this CPU's TTBR0, giving it a current
/// ASID first if it needs one. Inlined: a switch between tasks of one address space (kernel
/// tasks, all with none) costs a load and a compare.
///
/// # Safety
/// Call with IRQs masked on CPU `cpu`, from the context switch (or a task changing its own
/// address space); `mm` is null or points at a context that stays alive while it is installed.
#[inline(always)]
pub unsafe fn switch_mm(cpu: usize, mm: *const MmContext) {
    let Some(installed) = INSTALLED.get(cpu) else {
        return;
    };
    if !core::ptr::eq(installed.load(Ordering::Relaxed), mm) {
        // SAFETY: forwarded from the caller.
        unsafe { install(cpu, mm) };
    }
}
}

crate::noinstr! {
/// The part of [`switch_mm`] that changes TTBR0.
///
/// # Safety
/// As for [`switch_mm`].
#[inline(never)]
unsafe fn install(cpu: usize, mm: *const MmContext) {
    INSTALLED[cpu].store(mm.cast_mut(), Ordering::Relaxed);
    // SAFETY: the caller keeps `mm` alive while it is installed.
    let Some(mm) = (unsafe { mm.as_ref() }) else {
        ALLOCATOR.lock().active[cpu] = 0;
        write_ttbr0(crate::mmu::reserved_ttbr0());
        return;
    };
    let id = {
        let mut alloc = ALLOCATOR.lock();
        let mut id = mm.id.load(Ordering::Relaxed);
        if id & !ASID_MASK != alloc.generation {
            id = alloc.new_context(id);
            mm.id.store(id, Ordering::Relaxed);
        }
        if alloc.flush_pending & (1 << cpu) != 0 {
            alloc.flush_pending &= !(1 << cpu);
            crate::mmu::flush_tlb_all_local();
        }
        alloc.active[cpu] = id;
        id
    };
    write_ttbr0(((id & ASID_MASK) << 48) | mm.root);
}
}

crate::noinstr! {
#[inline(always)]
fn write_ttbr0(value: u64) {
    // SAFETY: TTBR0 only maps EL0 addresses; the kernel runs from TTBR1. The ISB makes later
    // user accesses (uaccess, the ERET to EL0) walk the new tables.
    unsafe {
        core::arch::asm!("msr ttbr0_el1, {v}", "isb", v = in(reg) value, options(nostack, preserves_flags))
    };
}
}

/// Whether `mm` is installed on some CPU.
pub fn is_installed(mm: &MmContext) -> bool {
    INSTALLED
        .iter()
        .any(|slot| core::ptr::eq(slot.load(Ordering::Relaxed), mm))
}
