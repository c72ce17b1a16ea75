//! The run queue's FIFO of runnable tasks: a power-of-two ring of slots that grows only when a
//! task is created ([`RunList::try_reserve`]), so queueing and picking never allocate or free.
//!
//! `__schedule` is `noinstr` and queues and picks under the run-queue lock, so those two
//! operations must not reach a function with a patch site: they are `#[inline(always)]` and
//! free of calls (no bounds checks, no drop glue). A `VecDeque` cannot promise that: its
//! methods are generic code compiled in this crate, and out of line they are traceable.

use alloc::collections::TryReserveError;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

/// A FIFO of `T` whose [`push_back`](RunList::push_back) and
/// [`pop_front`](RunList::pop_front) are inlined and call nothing.
pub struct RunList<T> {
    /// The ring; its length is a power of two (or zero) and never changes between reserves.
    slots: Vec<MaybeUninit<T>>,
    /// The slot of the oldest element.
    head: usize,
    /// Elements held, from `head` on (wrapping).
    len: usize,
}

impl<T> RunList<T> {
    pub const fn new() -> Self {
        Self {
            slots: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements it can hold without growing.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Makes room for `additional` more elements than it holds; on failure it is unchanged.
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        let needed = self.len.saturating_add(additional);
        if needed <= self.capacity() {
            return Ok(());
        }
        let capacity = needed.checked_next_power_of_two().unwrap_or(usize::MAX);
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity)?;
        slots.resize_with(capacity, MaybeUninit::uninit);
        for (i, slot) in slots.iter_mut().enumerate().take(self.len) {
            let from = (self.head + i) & (self.capacity() - 1);
            // SAFETY: the `len` slots from `head` hold initialised elements; each is moved
            // out once, and the old ring is then dropped as plain `MaybeUninit`s.
            slot.write(unsafe { self.slots[from].assume_init_read() });
        }
        self.slots = slots;
        self.head = 0;
        Ok(())
    }

    /// [`RunList::try_reserve`], where failing to allocate is fatal.
    pub fn reserve(&mut self, additional: usize) {
        if let Err(error) = self.try_reserve(additional) {
            panic!("run list: cannot grow by {additional}: {error}");
        }
    }

    /// Appends `value`. The room must have been reserved: a full ring is a kernel bug.
    #[inline(always)]
    pub fn push_back(&mut self, value: T) {
        let capacity = self.slots.len();
        assert!(
            self.len < capacity,
            "run list overflow: room was not reserved"
        );
        let tail = (self.head + self.len) & (capacity - 1);
        // SAFETY: `tail` is masked below the (power-of-two) capacity, and is free because
        // `len < capacity`.
        unsafe { self.slots.get_unchecked_mut(tail) }.write(value);
        self.len += 1;
    }

    /// Takes the oldest element.
    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let head = self.head;
        self.head = (head + 1) & (self.slots.len() - 1);
        self.len -= 1;
        // SAFETY: `head` is below the capacity and held the oldest initialised element, which
        // the ring no longer counts.
        Some(unsafe { self.slots.get_unchecked(head).assume_init_read() })
    }
}

impl<T> Default for RunList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for RunList<T> {
    fn drop(&mut self) {
        while self.pop_front().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;

    #[test]
    fn fifo_order_across_wraps_and_growth() {
        let mut list = RunList::new();
        assert_eq!(list.pop_front(), None::<u32>);
        list.reserve(3);
        assert_eq!(list.capacity(), 4);
        let mut next = 0;
        let mut expect = 0;
        // Wrap the ring several times, then grow it while it wraps, and keep going.
        for round in 0..20 {
            if round == 10 {
                list.reserve(5);
                assert_eq!(list.capacity(), 8);
            }
            while list.len() < list.capacity() - 1 {
                list.push_back(next);
                next += 1;
            }
            for _ in 0..2 {
                assert_eq!(list.pop_front(), Some(expect));
                expect += 1;
            }
        }
        while let Some(value) = list.pop_front() {
            assert_eq!(value, expect);
            expect += 1;
        }
        assert_eq!(expect, next);
        assert!(list.is_empty());
    }

    #[test]
    fn reserve_counts_what_is_held() {
        let mut list = RunList::new();
        list.reserve(2);
        list.push_back(1);
        list.push_back(2);
        list.reserve(0);
        assert_eq!(list.capacity(), 2);
        list.reserve(1);
        assert_eq!(list.capacity(), 4);
        assert_eq!(list.len(), 2);
        assert_eq!(list.pop_front(), Some(1));
    }

    #[test]
    #[should_panic(expected = "run list overflow")]
    fn pushing_past_the_reserved_room_is_a_bug() {
        let mut list = RunList::new();
        list.reserve(1);
        list.push_back(1);
        list.push_back(2);
    }

    #[test]
    #[should_panic(expected = "run list overflow")]
    fn pushing_without_room_is_a_bug() {
        RunList::new().push_back(1);
    }

    #[test]
    fn a_failed_reserve_leaves_it_unchanged() {
        let mut list = RunList::new();
        list.reserve(1);
        list.push_back(7u64);
        assert!(list.try_reserve(usize::MAX).is_err());
        assert_eq!((list.len(), list.capacity()), (1, 1));
        assert_eq!(list.pop_front(), Some(7));
    }

    #[test]
    fn elements_are_dropped_exactly_once() {
        let token = Rc::new(());
        let mut list = RunList::new();
        list.reserve(4);
        for _ in 0..3 {
            list.push_back(token.clone());
        }
        drop(list.pop_front());
        list.reserve(6);
        assert_eq!(Rc::strong_count(&token), 3);
        drop(list);
        assert_eq!(Rc::strong_count(&token), 1);
    }
}
