//! Wait queues: a task sleeps until a condition holds, and whoever makes it hold wakes the
//! queue (Linux: `wait_queue_head_t`, `wait_event_interruptible`, `wake_up`).
//!
//! The sleeper adds itself and marks itself asleep under the queue's lock, then checks the
//! condition, then schedules. The waker makes the condition true, then takes the same lock and
//! wakes everyone queued. Whichever comes first, the sleeper either sees the condition or is
//! woken: no wake-up is lost. Waking never allocates, so interrupt handlers may call
//! [`WaitQueue::wake_up`].
//!
//! [`PollWait`] sleeps on several queues at once, for `ppoll` and `pselect6` (Linux:
//! `poll_wqueues`): it links one entry on each polled file's queue, and each entry's wake also
//! sets a flag the poller reads before it sleeps, so a wake that comes while it looks at the
//! files is not lost either.
//!
//! Locking: the queue's [`SpinLockIrq`] is taken before a run-queue lock, never after.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering, fence};

use arch::spinlock::SpinLockIrq;

use super::task::{Task, TaskState};
use super::{current_task, schedule, signal_pending, wake_up_state};

/// A [`WaitQueue::wait_event_timeout`] deadline that never comes.
pub const NO_DEADLINE: u64 = u64::MAX;

/// The sleep ended because the task was killed, not because the condition came true
/// (Linux: `-ERESTARTSYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

/// One sleeper's link in a queue (Linux: `wait_queue_entry`). It lives on the sleeper's stack
/// for the whole of [`WaitQueue::wait_event`], which unlinks it before returning. Its link
/// fields are cells: other CPUs rewrite `next` (under the queue's lock) while the sleeper holds
/// a shared reference, so the compiler must not assume they stay put.
struct WaitEntry {
    task: Arc<Task>,
    next: Cell<*const WaitEntry>,
    queued: Cell<bool>,
    /// A poller's flag, set by every wake before the task is woken (Linux:
    /// `poll_wqueues.triggered`); null for a plain sleeper.
    triggered: *const AtomicBool,
}

impl WaitEntry {
    fn new(triggered: *const AtomicBool) -> Self {
        Self {
            task: current_task(),
            next: Cell::new(ptr::null()),
            queued: Cell::new(false),
            triggered,
        }
    }
}

/// The first entry of a queue's singly linked list (null when empty).
struct WaitList(*const WaitEntry);

// SAFETY: the pointers are only followed under the queue's lock, and every entry they reach is
// alive: its owner unlinks it (under the same lock) before its stack frame goes away. The
// entries' cells are likewise only read or written under that lock.
unsafe impl Send for WaitList {}

/// A queue of sleeping tasks. The sleepers' entries are linked in place, on their own stacks,
/// so neither sleeping nor waking allocates: how often a task happened to sleep leaves no trace
/// in the heap (the benchmarks' counts depend on its layout).
pub struct WaitQueue {
    waiters: SpinLockIrq<WaitList>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self {
            waiters: SpinLockIrq::new(WaitList(ptr::null())),
        }
    }

    /// Sleeps until `condition()` is true, or the task is killed. Call from a task, with IRQs
    /// enabled and preemption enabled.
    pub fn wait_event(&self, condition: impl FnMut() -> bool) -> Result<(), Interrupted> {
        self.wait_event_timeout(condition, NO_DEADLINE).map(drop)
    }

    /// Like [`Self::wait_event`], but gives up when the virtual counter reaches `deadline`
    /// (see [`super::deadline_after_ns`]; [`NO_DEADLINE`] for none): `Ok(true)` when the
    /// condition came true, `Ok(false)` when the time ran out first (Linux:
    /// `wait_event_interruptible_timeout`).
    pub fn wait_event_timeout(
        &self,
        mut condition: impl FnMut() -> bool,
        deadline: u64,
    ) -> Result<bool, Interrupted> {
        let entry = WaitEntry::new(ptr::null());
        let result = loop {
            self.prepare_to_wait(&entry);
            if condition() {
                break Ok(true);
            }
            if signal_pending() {
                break Err(Interrupted);
            }
            if deadline == NO_DEADLINE {
                schedule();
            } else if arch::timer::counter_now() >= deadline {
                break Ok(false);
            } else {
                super::schedule_timeout(deadline);
            }
        };
        self.finish_wait(&entry);
        result
    }

    fn prepare_to_wait(&self, entry: &WaitEntry) {
        let _list = self.link(entry);
        entry.task.set_state(TaskState::Interruptible);
    }

    fn finish_wait(&self, entry: &WaitEntry) {
        entry.task.set_state(TaskState::Running);
        self.unlink(entry);
    }

    /// Links `entry` (once), returning the held lock.
    fn link(&self, entry: &WaitEntry) -> impl Drop + '_ {
        let mut list = self.waiters.lock();
        if !entry.queued.get() {
            entry.next.set(list.0);
            list.0 = entry;
            entry.queued.set(true);
        }
        list
    }

    fn unlink(&self, entry: &WaitEntry) {
        let mut list = self.waiters.lock();
        if !entry.queued.get() {
            return;
        }
        let target: *const WaitEntry = entry;
        if list.0 == target {
            list.0 = entry.next.get();
        } else {
            let mut cursor = list.0;
            // SAFETY: under the lock every linked entry is alive (see `WaitList`), and `entry`
            // is linked, so the walk meets its predecessor before the end of the list.
            unsafe {
                while (*cursor).next.get() != target {
                    cursor = (*cursor).next.get();
                }
                (*cursor).next.set(entry.next.get());
            }
        }
        entry.queued.set(false);
    }

    /// Wakes every task sleeping on the queue. Safe in interrupt context.
    pub fn wake_up(&self) {
        let list = self.waiters.lock();
        let mut cursor = list.0;
        while !cursor.is_null() {
            // SAFETY: under the lock every linked entry is alive (see `WaitList`).
            let entry = unsafe { &*cursor };
            // SAFETY: a poller's flag outlives its entries ([`PollWait`] owns both).
            if let Some(triggered) = unsafe { entry.triggered.as_ref() } {
                triggered.store(true, Ordering::SeqCst);
                // Ordered before the task's state is read: see [`PollWait::wait_timeout`].
                fence(Ordering::SeqCst);
            }
            wake_up_state(&entry.task, TaskState::Interruptible);
            cursor = entry.next.get();
        }
    }
}

/// The calling task's sleep on several queues at once, for `ppoll` and `pselect6` (Linux:
/// `poll_wqueues` and `poll_schedule_timeout`). Its entries are linked when it is made and
/// unlinked when it is dropped; the queues must outlive it (the poller holds the files they
/// belong to), and it must be dropped by the task that made it.
pub struct PollWait<'q> {
    /// Heap-allocated once, never grown: the linked entries do not move.
    entries: Vec<(&'q WaitQueue, WaitEntry)>,
    /// Set by any queue's wake; boxed, so the entries' pointers to it stay valid when the
    /// `PollWait` moves.
    triggered: Box<AtomicBool>,
}

impl<'q> PollWait<'q> {
    /// Links an entry for the current task on each of `queues` (a queue given twice gets two
    /// entries). `None` when the memory for the entries cannot be had.
    pub fn new(queues: &[&'q WaitQueue]) -> Option<Self> {
        let mut entries = Vec::new();
        entries.try_reserve_exact(queues.len()).ok()?;
        let triggered = Box::try_new(AtomicBool::new(false)).ok()?;
        let flag: *const AtomicBool = &*triggered;
        entries.extend(queues.iter().map(|&queue| (queue, WaitEntry::new(flag))));
        // Linked only now that every entry sits where it stays.
        for (queue, entry) in &entries {
            let _list = queue.link(entry);
        }
        Some(Self { entries, triggered })
    }

    /// Sleeps until `ready()` is true, a signal is pending, or the virtual counter reaches
    /// `deadline` ([`NO_DEADLINE`] for none): `Ok(true)` when ready, `Ok(false)` when the time
    /// ran out, `Interrupted` for a signal. Unlike [`WaitQueue::wait_event_timeout`], `ready`
    /// runs with the task running (it may take locks, allocate, write to the console): a wake
    /// that comes meanwhile sets the flag, and the sleep after it returns at once.
    pub fn wait_timeout(
        &self,
        mut ready: impl FnMut() -> bool,
        deadline: u64,
    ) -> Result<bool, Interrupted> {
        let me = current_task();
        loop {
            if ready() {
                return Ok(true);
            }
            if signal_pending() {
                return Err(Interrupted);
            }
            if deadline != NO_DEADLINE && arch::timer::counter_now() >= deadline {
                return Ok(false);
            }
            me.set_state(TaskState::Interruptible);
            // A waker stores the flag and then reads the state; this task stores the state
            // and then reads the flag (both sequentially consistent, with a fence on the
            // waker's side): at least one of them sees the other's store, so either the wake
            // finds the task asleep or the task sees the flag and does not sleep. A signal
            // sent from here on finds it asleep too.
            if !self.triggered.load(Ordering::SeqCst) && !signal_pending() {
                if deadline == NO_DEADLINE {
                    schedule();
                } else {
                    super::schedule_timeout(deadline);
                }
            }
            me.set_state(TaskState::Running);
            self.triggered.store(false, Ordering::SeqCst);
        }
    }
}

impl Drop for PollWait<'_> {
    fn drop(&mut self) {
        for (queue, entry) in &self.entries {
            queue.unlink(entry);
        }
    }
}
