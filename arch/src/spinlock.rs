//! The kernel's two spinlocks (Linux: `spin_lock` and `spin_lock_irqsave`).
//!
//! - [`SpinLock`] disables preemption while held, so the holder is never switched away from
//!   (a task on the same CPU would spin until the next tick). Interrupts stay enabled: take it
//!   only where no interrupt handler takes the same lock.
//! - [`SpinLockIrq`] also masks interrupts on this CPU while it is held, saving and restoring
//!   DAIF; masked interrupts imply no preemption.
//!
//! Use it for any lock that an interrupt handler also takes: with a plain spinlock, an interrupt
//! arriving on the CPU that holds the lock would spin forever in its handler. Interrupts are
//! masked before the lock is tried and restored only after it is released, so a handler never
//! runs on a CPU while that CPU holds the lock. Nesting is fine: the inner guard saves "masked"
//! and restores "masked".

use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

use spin::{Mutex, MutexGuard};

use crate::irqflags::{IrqFlags, local_irq_restore, local_irq_save};
use crate::percpu::{PreemptGuard, preempt_guard};

pub struct SpinLock<T> {
    inner: Mutex<T>,
}

/// Holds the lock; dropping it unlocks and then enables preemption again.
pub struct SpinLockGuard<'a, T> {
    guard: ManuallyDrop<MutexGuard<'a, T>>,
    _preempt: PreemptGuard,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self {
            inner: Mutex::new(value),
        }
    }

    /// Disables preemption, then spins until the lock is free.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let preempt = preempt_guard();
        SpinLockGuard {
            guard: ManuallyDrop::new(self.inner.lock()),
            _preempt: preempt,
        }
    }

    /// Disables preemption and takes the lock if it is free; otherwise enables preemption
    /// again and returns `None`.
    #[inline(always)]
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let preempt = preempt_guard();
        let guard = self.inner.try_lock()?;
        Some(SpinLockGuard {
            guard: ManuallyDrop::new(guard),
            _preempt: preempt,
        })
    }

    /// [`lock`](Self::lock), calling `while_waiting` between attempts. A lock that a
    /// stop-machine initiator may hold is taken this way with the rendezvous's answer as
    /// `while_waiting`, so a CPU waiting for it with IRQs masked is still parked when asked.
    #[inline(always)]
    pub fn lock_with(&self, while_waiting: impl FnMut()) -> SpinLockGuard<'_, T> {
        match self.try_lock() {
            Some(guard) => guard,
            None => lock_with_contended(self, while_waiting),
        }
    }
}

crate::noinstr! {
/// The contended path of [`SpinLock::lock_with`]: a free function so it can be `noinstr`
/// (rustc refuses the attribute on methods); it runs on the patching path.
#[inline(never)]
fn lock_with_contended<T>(
    lock: &SpinLock<T>,
    mut while_waiting: impl FnMut(),
) -> SpinLockGuard<'_, T> {
    loop {
        if let Some(guard) = lock.try_lock() {
            return guard;
        }
        while_waiting();
        crate::processor::cpu_relax();
    }
}
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard is dropped exactly once, here, and never used afterwards; the
        // preemption guard field drops after this body, so the unlock comes first.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
    }
}

pub struct SpinLockIrq<T> {
    inner: Mutex<T>,
}

/// Holds the lock; dropping it unlocks and then restores the interrupt mask.
pub struct SpinLockIrqGuard<'a, T> {
    guard: ManuallyDrop<MutexGuard<'a, T>>,
    flags: IrqFlags,
}

impl<T> SpinLockIrq<T> {
    pub const fn new(value: T) -> Self {
        Self {
            inner: Mutex::new(value),
        }
    }

    /// Masks interrupts, then spins until the lock is free.
    pub fn lock(&self) -> SpinLockIrqGuard<'_, T> {
        let flags = local_irq_save();
        SpinLockIrqGuard {
            guard: ManuallyDrop::new(self.inner.lock()),
            flags,
        }
    }

    /// Whether some CPU holds the lock (a snapshot, for crash reporting).
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// Releases the lock whoever holds it.
    ///
    /// # Safety
    /// Only for a crash report taking the console over from a CPU that died holding the lock:
    /// the holder must never touch the protected data again.
    pub unsafe fn force_unlock(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.force_unlock() };
    }
}

impl<T> Deref for SpinLockIrqGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for SpinLockIrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for SpinLockIrqGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard is dropped exactly once, here, and never used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        local_irq_restore(self.flags);
    }
}
