//! `futex` (Linux: `kernel/futex/`), reduced to what single-threaded glibc programs can reach:
//! `FUTEX_WAIT`/`FUTEX_WAKE` and their `_BITSET` forms, private or not. Every process has its
//! own address space (fork copies it), so a futex is keyed by the address space and the user
//! address, shared or private alike.
//!
//! Waiters are recorded in one table (Linux hashes them into buckets; a few sleepers at most
//! exist here) and sleep on one wait queue, each until a wake names its key and sets its flag.
//! A waiter is recorded before the futex word is read, under the table's lock, so a wake that
//! follows the store the waiter missed always finds it (Linux's ordering guarantee).
//!
//! A wait may have a timeout: relative for `FUTEX_WAIT`, absolute for `FUTEX_WAIT_BITSET`
//! (every clock counts from boot here), ending in `ETIMEDOUT`. A signal ends a wait with
//! `ERESTARTSYS` without a timeout; with one, the wait restarts through `restart_syscall` to
//! the same deadline (Linux: `futex_wait_restart`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use arch::exception::TrapFrame;
use arch::spinlock::SpinLockIrq;

use super::SysResult;
use crate::fs::Errno;
use crate::process::{Process, RestartBlock};
use crate::sched::wait::WaitQueue;

// futex operations and flags (include/uapi/linux/futex.h).
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const FUTEX_CMD_MASK: u64 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
const FUTEX_BITSET_MATCH_ANY: u32 = u32::MAX;

/// A futex: the address space (its `Mm`'s address) and the user address of the word.
type Key = (usize, u64);

struct Waiter {
    key: Key,
    bitset: u32,
    woken: Arc<AtomicBool>,
}

static WAITERS: SpinLockIrq<Vec<Waiter>> = SpinLockIrq::new(Vec::new());
static QUEUE: WaitQueue = WaitQueue::new();

/// `futex(uaddr, op, val, timeout, uaddr2, val3)`.
pub fn sys_futex(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [uaddr, op, val, timeout, _uaddr2, val3] = [0, 1, 2, 3, 4, 5].map(|i| frame.regs[i]);
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let cmd = op & FUTEX_CMD_MASK;
    if op & FUTEX_CLOCK_REALTIME != 0 && cmd != FUTEX_WAIT_BITSET {
        return Err(Errno::ENOSYS);
    }
    let (bitset, deadline_ns) = match cmd {
        FUTEX_WAKE => return wake(key(process, uaddr), val as u32, FUTEX_BITSET_MATCH_ANY),
        FUTEX_WAKE_BITSET => return wake(key(process, uaddr), val as u32, val3 as u32),
        FUTEX_WAIT if timeout != 0 => (
            FUTEX_BITSET_MATCH_ANY,
            Some(super::monotonic_ns().saturating_add(super::timespec_ns(timeout)?)),
        ),
        FUTEX_WAIT => (FUTEX_BITSET_MATCH_ANY, None),
        FUTEX_WAIT_BITSET if timeout != 0 => (val3 as u32, Some(super::timespec_ns(timeout)?)),
        FUTEX_WAIT_BITSET => (val3 as u32, None),
        _ => return Err(Errno::ENOSYS),
    };
    wait(process, uaddr, val as u32, deadline_ns, bitset)
}

/// A futex's key in `process`.
fn key(process: &Process, uaddr: u64) -> Key {
    (core::ptr::from_ref(process.mm()) as usize, uaddr)
}

/// Sleeps while the word at `uaddr` holds `expected` (`EAGAIN` if it does not from the start),
/// until a matching wake (0), the monotonic clock reaching `deadline_ns` (`ETIMEDOUT`), or a
/// signal (a restart code).
pub fn wait(
    process: &mut Process,
    uaddr: u64,
    expected: u32,
    deadline_ns: Option<u64>,
    bitset: u32,
) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key(process, uaddr);
    let woken = Arc::try_new(AtomicBool::new(false)).map_err(|_| Errno::ENOMEM)?;
    {
        let mut waiters = WAITERS.lock();
        waiters.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let mut word = [0u8; 4];
        crate::uaccess::copy_from_user(&mut word, key.1)?;
        if u32::from_le_bytes(word) != expected {
            return Err(Errno::EAGAIN);
        }
        waiters.push(Waiter {
            key,
            bitset,
            woken: woken.clone(),
        });
    }
    let condition = || woken.load(Ordering::Acquire);
    let result = match deadline_ns {
        None => QUEUE.wait_event(condition).map(|()| true),
        Some(deadline) => {
            let left = deadline.saturating_sub(super::monotonic_ns());
            QUEUE.wait_event_timeout(condition, crate::sched::deadline_after_ns(left))
        }
    };
    // A wake took us off the table; a signal or the timeout did not.
    WAITERS
        .lock()
        .retain(|waiter| !Arc::ptr_eq(&waiter.woken, &woken));
    if woken.load(Ordering::Acquire) {
        return Ok(0);
    }
    match (result, deadline_ns) {
        (Ok(_), _) => Err(Errno::ETIMEDOUT),
        // Without a timeout: restarted under SA_RESTART.
        (Err(_), None) => Err(Errno::ERESTARTSYS),
        (Err(_), Some(deadline_ns)) => {
            process.restart_block = Some(RestartBlock::FutexWait {
                uaddr,
                expected,
                deadline_ns,
                bitset,
            });
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
    }
}

/// Wakes up to `count` waiters of `key` whose bitset meets `bitset`; returns how many.
fn wake(key: Key, count: u32, bitset: u32) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let mut woken = 0u32;
    WAITERS.lock().retain(|waiter| {
        if woken < count && waiter.key == key && waiter.bitset & bitset != 0 {
            waiter.woken.store(true, Ordering::Release);
            woken += 1;
            return false;
        }
        true
    });
    if woken > 0 {
        QUEUE.wake_up();
    }
    Ok(u64::from(woken))
}
