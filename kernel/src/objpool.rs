//! Preallocated per-call instances for return hooks (Linux: `lib/objpool.c`, which rethook
//! uses for kretprobes and fprobe for its exits): a registration allocates `maxactive`
//! instances up front, each with a fixed part `S` and `data_size` bytes of its user's data; a
//! probe hit takes one without locking or allocating (a bitmap claimed by compare-and-swap)
//! and its hooked return gives it back.
//!
//! Per CPU, one free instance may wait outside the bitmap (Linux's objpool keeps a per-CPU
//! ring of them): a call made and returned on one CPU (tasks do not migrate) takes and gives
//! back that one with a plain load and store, no compare-and-swap loop. Only its own CPU
//! writes its cache word, and only with IRQs masked (checked: otherwise the bitmap is used),
//! so nothing can come between the load and the store. A cached instance keeps its bit set in
//! the bitmap; it is free all the same (see [`ObjPool::nr_free`]).
//!
//! An instance's address is the data word of its shadow-stack entry, so the return finds its
//! pool through [`PoolSlot::pool`], and the pool its owner through [`ObjPool::owner`] (null
//! once the owner is unregistered: returns still out then complete without a handler). A pool
//! must therefore outlive its last instance out: owners park an unregistered pool until
//! [`ObjPool::in_use`] turns false. An instance out when its task ends (inside the hooked
//! call) is given back by the task's shadow-stack flush (`trace::fgraph`), so a pool is never
//! kept for good by a task that will not return.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use spin::Mutex;

use crate::fs::Errno;

/// One instance's fixed part.
pub struct PoolSlot<O, S> {
    pool: AtomicPtr<ObjPool<O, S>>,
    index: usize,
    /// What the user keeps per call besides its data (return addresses, entry ip...).
    pub ext: S,
}

impl<O, S> PoolSlot<O, S> {
    /// The pool the instance belongs to.
    ///
    /// # Safety
    /// The pool must still be alive: the caller owns the instance (the pool outlives every
    /// instance out, see the module docs).
    #[inline(always)]
    pub unsafe fn pool(&self) -> &ObjPool<O, S> {
        // SAFETY: set once by `try_new` to the pool's own address; alive per the caller.
        unsafe { &*self.pool.load(Ordering::Relaxed) }
    }
}

/// A registration's instances.
pub struct ObjPool<O, S> {
    /// The owner while registered; null once it is gone.
    pub owner: AtomicPtr<O>,
    used: Box<[AtomicU64]>,
    /// Per CPU (by number): a free instance whose bit is still set in `used`, or null.
    cache: Box<[AtomicPtr<PoolSlot<O, S>>]>,
    slots: Box<[PoolSlot<O, S>]>,
    /// `words` u64s of data per instance.
    storage: Box<[UnsafeCell<u64>]>,
    words: usize,
    data_size: usize,
}

// SAFETY: an instance's storage is only touched by the one hooked call that owns its bit in
// `used`; everything else is atomic or set before the pool is shared. The raw pointers name the
// pool itself and an owner kept alive by its registration.
unsafe impl<O, S: Sync> Sync for ObjPool<O, S> {}
// SAFETY: as above.
unsafe impl<O, S: Send> Send for ObjPool<O, S> {}

/// A boxed slice of `len` elements made by `f`, or `ENOMEM`.
fn try_boxed_slice<T>(len: usize, f: impl FnMut(usize) -> T) -> Result<Box<[T]>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.extend((0..len).map(f));
    Ok(v.into_boxed_slice())
}

impl<O, S> ObjPool<O, S> {
    /// `maxactive` instances with `data_size` bytes of data each and fixed parts made by
    /// `ext`, no owner yet; `ENOMEM` when they cannot be allocated.
    pub fn try_new(
        maxactive: usize,
        data_size: usize,
        mut ext: impl FnMut() -> S,
    ) -> Result<Arc<Self>, Errno> {
        let words = data_size.div_ceil(8);
        // Bits past maxactive are never free.
        let free_word = |w: usize| {
            let valid = (maxactive - w * 64).min(64);
            if valid == 64 { 0 } else { !0 << valid }
        };
        let bitmap_words = maxactive.div_ceil(64);
        let used = try_boxed_slice(bitmap_words, |w| AtomicU64::new(free_word(w)))?;
        let cache = try_boxed_slice(crate::smp::num_possible_cpus(), |_| {
            AtomicPtr::new(ptr::null_mut())
        })?;
        let slots = try_boxed_slice(maxactive, |index| PoolSlot {
            pool: AtomicPtr::new(ptr::null_mut()),
            index,
            ext: ext(),
        })?;
        let storage_len = words.checked_mul(maxactive).ok_or(Errno::ENOMEM)?;
        let storage = try_boxed_slice(storage_len, |_| UnsafeCell::new(0))?;
        let pool = Arc::try_new(ObjPool {
            owner: AtomicPtr::new(ptr::null_mut()),
            used,
            cache,
            slots,
            storage,
            words,
            data_size,
        })
        .map_err(|_| Errno::ENOMEM)?;
        let me = Arc::as_ptr(&pool).cast_mut();
        for slot in pool.slots.iter() {
            slot.pool.store(me, Ordering::Relaxed);
        }
        Ok(pool)
    }

    /// This CPU's cache word, when IRQs are masked (the only time it may be used: nothing can
    /// then run on this CPU between its load and its store).
    #[inline(always)]
    fn local_cache(&self) -> Option<&AtomicPtr<PoolSlot<O, S>>> {
        if !arch::irqflags::irqs_disabled() {
            return None;
        }
        self.cache.get(crate::smp::smp_processor_id())
    }

    /// Takes a free instance, or `None` when all are out: this CPU's cached one if there is
    /// one, else a bit of the bitmap.
    #[inline(always)]
    pub fn alloc(&self) -> Option<&PoolSlot<O, S>> {
        if let Some(cache) = self.local_cache() {
            // SAFETY: a cached pointer is to one of `slots`, which live as long as the pool.
            if let Some(slot) = unsafe { cache.load(Ordering::Relaxed).as_ref() } {
                // Only this CPU writes its word, and with IRQs masked nothing runs between.
                cache.store(ptr::null_mut(), Ordering::Relaxed);
                return Some(slot);
            }
        }
        self.alloc_bit()
    }

    /// [`ObjPool::alloc`] from the bitmap.
    #[inline(always)]
    fn alloc_bit(&self) -> Option<&PoolSlot<O, S>> {
        for (w, word) in self.used.iter().enumerate() {
            let mut cur = word.load(Ordering::Relaxed);
            while cur != u64::MAX {
                let bit = (!cur).trailing_zeros() as usize;
                match word.compare_exchange_weak(
                    cur,
                    cur | 1 << bit,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return self.slots.get(w * 64 + bit),
                    Err(now) => cur = now,
                }
            }
        }
        None
    }

    /// Gives back an instance from [`ObjPool::alloc`]: into this CPU's cache if it is empty
    /// (the instance's bit stays set), else to the bitmap. The last touch of the pool: once
    /// every instance is back, a retired pool may be freed by another CPU.
    #[inline(always)]
    pub fn free(&self, slot: &PoolSlot<O, S>) {
        if let Some(cache) = self.local_cache()
            && cache.load(Ordering::Relaxed).is_null()
        {
            // Release: what the instance's user wrote is done before another CPU can see it
            // free (and free the pool).
            cache.store(ptr::from_ref(slot).cast_mut(), Ordering::Release);
            return;
        }
        self.used[slot.index / 64].fetch_and(!(1 << (slot.index % 64)), Ordering::Release);
    }

    /// Whether some instance is out (in a hooked call, or being taken). Dependable on a
    /// retired pool, where instances only come back: see [`ObjPool::nr_free`].
    pub fn in_use(&self) -> bool {
        self.nr_free() < self.slots.len()
    }

    /// Instances free now, in the bitmap or cached (for tests and statistics). Exact when
    /// nothing is taken or given back meanwhile. While instances are only given back (a
    /// retired pool), one is never counted twice (it is either cached or clear in the bitmap,
    /// for good) but one given back meanwhile may be missed: [`ObjPool::in_use`] may then say
    /// true a little too long, never false too early.
    pub fn nr_free(&self) -> usize {
        let cached = self
            .cache
            .iter()
            .filter(|c| !c.load(Ordering::Acquire).is_null())
            .count();
        let clear: usize = self
            .used
            .iter()
            .map(|word| word.load(Ordering::Acquire).count_zeros() as usize)
            .sum();
        cached + clear
    }

    /// The instance's data bytes.
    ///
    /// # Safety
    /// The caller owns `slot` (took it with `alloc` and has not freed it) and holds no other
    /// reference to its data.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn data(&self, slot: &PoolSlot<O, S>) -> &mut [u8] {
        if self.words == 0 {
            return &mut [];
        }
        let base = self.storage[slot.index * self.words].get();
        // SAFETY: the instance's `words` u64s are contiguous and owned by the caller;
        // `data_size` <= 8 * `words`.
        unsafe { core::slice::from_raw_parts_mut(base.cast::<u8>(), self.data_size) }
    }

    /// Retires the pool of a registration that ended: its owner is forgotten, a grace period
    /// passes (return handlers run with IRQs masked, so afterwards none still uses the owner),
    /// and a pool with instances still out is parked in `graveyard` until they are back (see
    /// [`ObjPool::reap`]), or kept for good if even that cannot be allocated, rather than
    /// freeing memory a return will still touch.
    pub fn retire(pool: Arc<Self>, graveyard: &Mutex<Vec<Arc<Self>>>) {
        pool.owner.store(ptr::null_mut(), Ordering::Release);
        crate::stop_machine::synchronize();
        if pool.in_use() {
            let mut graveyard = graveyard.lock();
            if graveyard.try_reserve(1).is_ok() {
                graveyard.push(pool);
            } else {
                core::mem::forget(pool);
            }
        }
    }

    /// Frees the parked pools whose instances are all back.
    pub fn reap(graveyard: &Mutex<Vec<Arc<Self>>>) {
        graveyard.lock().retain(|pool| pool.in_use());
    }
}
