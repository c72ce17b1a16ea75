//! Wait queues: a task sleeps until a condition holds, and whoever makes it hold wakes the
//! queue (Linux: `wait_queue_head_t`, `wait_event_interruptible`, `wake_up`).
//!
//! The sleeper adds itself and marks itself asleep under the queue's lock, then checks the
//! condition, then schedules. The waker makes the condition true, then takes the same lock and
//! wakes everyone queued. Whichever comes first, the sleeper either sees the condition or is
//! woken: no wake-up is lost. Waking never allocates, so interrupt handlers may call
//! [`WaitQueue::wake_up`].
//!
//! Locking: the queue's [`SpinLockIrq`] is taken before a run-queue lock, never after.

use alloc::sync::Arc;
use alloc::vec::Vec;

use arch::spinlock::SpinLockIrq;

use super::task::{Task, TaskState};
use super::{current_task, schedule, signal_pending, wake_up_state};

/// The sleep ended because the task was killed, not because the condition came true
/// (Linux: `-ERESTARTSYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

pub struct WaitQueue {
    waiters: SpinLockIrq<Vec<Arc<Task>>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self {
            waiters: SpinLockIrq::new(Vec::new()),
        }
    }

    /// Sleeps until `condition()` is true, or the task is killed. Call from a task, with IRQs
    /// enabled and preemption enabled.
    pub fn wait_event(&self, mut condition: impl FnMut() -> bool) -> Result<(), Interrupted> {
        let me = current_task();
        let result = loop {
            self.prepare_to_wait(&me);
            if condition() {
                break Ok(());
            }
            if signal_pending() {
                break Err(Interrupted);
            }
            schedule();
        };
        self.finish_wait(&me);
        result
    }

    fn prepare_to_wait(&self, me: &Arc<Task>) {
        let mut waiters = self.waiters.lock();
        if !waiters.iter().any(|t| Arc::ptr_eq(t, me)) {
            waiters.push(me.clone());
        }
        me.set_state(TaskState::Interruptible);
    }

    fn finish_wait(&self, me: &Arc<Task>) {
        me.set_state(TaskState::Running);
        self.waiters.lock().retain(|t| !Arc::ptr_eq(t, me));
    }

    /// Wakes every task sleeping on the queue. Safe in interrupt context.
    pub fn wake_up(&self) {
        for task in self.waiters.lock().iter() {
            wake_up_state(task, TaskState::Interruptible);
        }
    }
}
