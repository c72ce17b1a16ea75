//! Guarded kernel stacks (Linux: `CONFIG_VMAP_STACK`, `alloc_thread_stack_node`): every task and
//! IRQ stack is `THREAD_SIZE` bytes mapped page by page from page frames into a slot of the
//! stack area (`arch::vmap`), with the `THREAD_SIZE` below it left unmapped. Running off the
//! bottom of a stack faults on that guard instead of overwriting whatever lies below, and the
//! EL1 vector entries report it from the overflow stack (`arch::stack`).
//!
//! Slot `i` holds the stack `[VMAP_STACK_START + (i + 1) * THREAD_ALIGN, + THREAD_SIZE)`: each
//! stack is [`THREAD_ALIGN`]-aligned (the vector entry's one-bit overflow test needs that) and
//! the upper half of the slot below it (or the area's first half-slot) is its guard.
//!
//! Allocation is fallible at every step (a slot, each page, each page table) and undoes itself
//! on failure; freeing unmaps every page, with the TLB maintenance the architecture requires,
//! before the pages go back. Slots are given lowest first, so a freed stack's slot (and its page
//! tables) is the next one reused.

use arch::stack::THREAD_ALIGN;

/// A bitmap of stack slots, lowest free first.
pub struct SlotMap<const WORDS: usize> {
    used: [u64; WORDS],
    /// No word below this one has a free slot.
    first_free_word: usize,
    /// Slots beyond this are never given.
    nr_slots: usize,
}

impl<const WORDS: usize> SlotMap<WORDS> {
    /// A map of `nr_slots` free slots (at most `64 * WORDS`).
    pub const fn new(nr_slots: usize) -> Self {
        Self {
            used: [0; WORDS],
            first_free_word: 0,
            nr_slots: if nr_slots < 64 * WORDS {
                nr_slots
            } else {
                64 * WORDS
            },
        }
    }

    /// Takes the lowest free slot.
    pub fn alloc(&mut self) -> Option<usize> {
        for word in self.first_free_word..WORDS {
            let free = !self.used[word];
            if free == 0 {
                continue;
            }
            let slot = word * 64 + free.trailing_zeros() as usize;
            if slot >= self.nr_slots {
                break;
            }
            self.used[word] |= 1 << (slot % 64);
            self.first_free_word = word;
            return Some(slot);
        }
        self.first_free_word = WORDS;
        None
    }

    /// Gives `slot` back; false if it was not taken.
    pub fn free(&mut self, slot: usize) -> bool {
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        if slot >= self.nr_slots || self.used[word] & bit == 0 {
            return false;
        }
        self.used[word] &= !bit;
        self.first_free_word = self.first_free_word.min(word);
        true
    }

    /// Slots taken.
    pub fn nr_used(&self) -> usize {
        self.used.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// The low end of slot `slot`'s stack, for an area starting at `area_start`.
pub const fn slot_stack_low(area_start: u64, slot: usize) -> u64 {
    area_start + (slot as u64 + 1) * THREAD_ALIGN as u64
}

#[cfg(target_os = "none")]
pub use target::*;

#[cfg(target_os = "none")]
mod target {
    use arch::mmu::PAGE_SIZE;
    use arch::spinlock::SpinLockIrq;
    use arch::stack::{StackRange, THREAD_SIZE};
    use arch::vmap::{VMAP_STACK_SIZE, VMAP_STACK_START, map_page, unmap_page};

    use super::*;
    use crate::fs::Errno;
    use crate::mm::page_alloc::{alloc_kernel_page as alloc_page, free_kernel_page as free_page};

    /// Slots in the area: all but its first half-slot, which is slot 0's guard.
    pub const NR_STACK_SLOTS: usize = (VMAP_STACK_SIZE as usize / THREAD_ALIGN) - 1;
    const SLOT_WORDS: usize = NR_STACK_SLOTS.div_ceil(64);

    static SLOTS: SpinLockIrq<SlotMap<SLOT_WORDS>> = SpinLockIrq::new(SlotMap::new(NR_STACK_SLOTS));

    /// A mapped kernel stack with its guard; unmapped and freed on drop.
    pub struct VmapStack {
        slot: usize,
    }

    impl VmapStack {
        /// A zeroed stack, or `ENOMEM` when no slot, page or page table is left.
        pub fn alloc() -> Result<Self, Errno> {
            Self::alloc_with(&mut alloc_page)
        }

        /// As [`VmapStack::alloc`], taking the stack's pages from `page` (which must hand out
        /// pages of [`alloc_page`]; tests use it to fail part-way).
        pub fn alloc_with(page: &mut dyn FnMut() -> Option<u64>) -> Result<Self, Errno> {
            let slot = SLOTS.lock().alloc().ok_or(Errno::ENOMEM)?;
            // From here a failure drops `stack`, which unmaps and frees what was mapped.
            let stack = Self { slot };
            let range = stack.range();
            for va in (range.low..range.high).step_by(PAGE_SIZE) {
                let pa = page().ok_or(Errno::ENOMEM)?;
                if map_page(va, pa, &mut alloc_page).is_err() {
                    // SAFETY: the page came from `page`, i.e. alloc_page, and was not mapped.
                    unsafe { free_page(pa) };
                    return Err(Errno::ENOMEM);
                }
            }
            Ok(stack)
        }

        /// `[low, high)` of the stack.
        #[inline(always)]
        pub fn range(&self) -> StackRange {
            let low = slot_stack_low(VMAP_STACK_START, self.slot);
            StackRange {
                low,
                high: low + THREAD_SIZE as u64,
            }
        }

        /// Keeps the stack mapped for good (a CPU's IRQ stack or idle stack); returns its range.
        pub fn leak(self) -> StackRange {
            let range = self.range();
            core::mem::forget(self);
            range
        }
    }

    impl Drop for VmapStack {
        fn drop(&mut self) {
            let range = self.range();
            for va in (range.low..range.high).step_by(PAGE_SIZE) {
                if let Some(pa) = unmap_page(va) {
                    // SAFETY: the page was mapped here only, by `alloc_with` from alloc_page,
                    // and unmap_page has invalidated it in every TLB.
                    unsafe { free_page(pa) };
                }
            }
            SLOTS.lock().free(self.slot);
        }
    }

    /// Stacks allocated and not freed (leaked ones included).
    pub fn nr_stacks() -> usize {
        SLOTS.lock().nr_used()
    }

    /// Gives logical CPU `cpu` its IRQ stack; `ENOMEM` when none can be allocated.
    pub fn init_irq_stack(cpu: &arch::percpu::ArchPerCpu) -> Result<(), Errno> {
        let stack = VmapStack::alloc()?.leak();
        arch::stack::set_irq_stack(cpu, stack.low);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arch::stack::THREAD_SIZE;

    #[test]
    fn slots_are_given_lowest_first_and_reused() {
        let mut map = SlotMap::<2>::new(100);
        assert_eq!(map.alloc(), Some(0));
        assert_eq!(map.alloc(), Some(1));
        assert_eq!(map.alloc(), Some(2));
        assert!(map.free(1));
        assert_eq!(map.alloc(), Some(1));
        assert_eq!(map.alloc(), Some(3));
        assert_eq!(map.nr_used(), 4);
    }

    #[test]
    fn the_map_runs_out_at_its_slot_count() {
        let mut map = SlotMap::<2>::new(70);
        for i in 0..70 {
            assert_eq!(map.alloc(), Some(i));
        }
        assert_eq!(map.alloc(), None);
        assert!(map.free(65));
        assert_eq!(map.alloc(), Some(65));
        assert_eq!(map.alloc(), None);
    }

    #[test]
    fn a_slot_is_freed_once() {
        let mut map = SlotMap::<1>::new(64);
        assert!(!map.free(3));
        assert_eq!(map.alloc(), Some(0));
        assert!(map.free(0));
        assert!(!map.free(0));
        assert!(!map.free(64));
        assert!(!map.free(1000));
    }

    #[test]
    fn a_count_beyond_the_words_is_capped() {
        let mut map = SlotMap::<1>::new(1000);
        for _ in 0..64 {
            assert!(map.alloc().is_some());
        }
        assert_eq!(map.alloc(), None);
    }

    #[test]
    fn stacks_are_thread_align_aligned_with_a_guard_below() {
        let start = 0xffff_ffc0_0000_0000;
        for slot in [0, 1, 2, 65534] {
            let low = slot_stack_low(start, slot);
            assert_eq!(low % THREAD_ALIGN as u64, 0);
            // The guard [low - THREAD_SIZE, low) lies in the area and holds no stack.
            assert!(low - THREAD_SIZE as u64 >= start);
            if slot > 0 {
                let below = slot_stack_low(start, slot - 1);
                assert_eq!(below + THREAD_SIZE as u64, low - THREAD_SIZE as u64);
            }
            // Bit THREAD_SHIFT tells a stack address from a guard address.
            let shift = arch::stack::THREAD_SHIFT;
            assert_eq!((low + THREAD_SIZE as u64 - 16) >> shift & 1, 0);
            assert_eq!((low - 16) >> shift & 1, 1);
        }
    }
}
