//! Tasks and the scheduler: tasks run on the CPU they were given, sleep and wake through wait
//! queues and timeouts, are preempted by the tick, stop when killed, and free their stacks.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use arch::timer::{counter_freq_hz, counter_now};

use crate::fs::Errno;
use crate::heap;
use crate::ktest::{Context, TestResult};
use crate::sched::format::{MAX_THREADS, default_max_threads};
use crate::sched::wait::{Interrupted, WaitQueue};
use crate::sched::{
    self, KillError, SpawnError, THREAD_SIZE, Task, TaskState, all_tasks, current,
    find_task_by_pid, join, kill, max_threads, msleep, set_max_threads, spawn,
};
use crate::smp::{num_online_cpus, smp_processor_id};
use crate::{kassert, kassert_eq, ktest};

/// How long a test waits for another task before it fails, in milliseconds.
const PATIENCE_MS: u64 = 5000;

fn ms_since(start: u64) -> u64 {
    (counter_now() - start) * 1000 / counter_freq_hz()
}

/// Sleeps in small steps until `done()` or [`PATIENCE_MS`] passed; whether `done()` came true.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let start = counter_now();
    while !done() {
        if ms_since(start) > PATIENCE_MS {
            return false;
        }
        let _ = msleep(1);
    }
    true
}

ktest! {
fn tests_run_as_task_one_on_cpu0() -> TestResult {
    let me = current().ok_or("no current task")?;
    kassert_eq!(me.pid(), 1);
    kassert_eq!(me.name(), crate::sched::format::Comm::new("ktest"));
    kassert_eq!(me.cpu(), 0);
    kassert_eq!(smp_processor_id(), 0);
    kassert_eq!(me.state(), TaskState::Running);
    Ok(())
}
}

ktest! {
fn a_task_runs_on_the_cpu_it_was_given_with_its_own_pid() -> TestResult {
    for cpu in 0..num_online_cpus() {
        let seen = Arc::new(AtomicU64::new(u64::MAX));
        let pid_seen = Arc::new(AtomicU64::new(0));
        let (s, p) = (seen.clone(), pid_seen.clone());
        let task = spawn("cpu-probe", Some(cpu), false, move || {
            s.store(smp_processor_id() as u64, Ordering::SeqCst);
            p.store(current().map_or(0, |t| u64::from(t.pid())), Ordering::SeqCst);
        })
        .map_err(|e| alloc::format!("spawn on CPU{cpu}: {e:?}"))?;
        kassert_eq!(task.cpu(), cpu);
        kassert!(task.pid() > 1);
        join(&task).map_err(|_| "join interrupted")?;
        kassert_eq!(seen.load(Ordering::SeqCst), cpu as u64);
        kassert_eq!(pid_seen.load(Ordering::SeqCst), u64::from(task.pid()));
        kassert!(find_task_by_pid(task.pid()).is_none(), "an exited task left the pid table");
    }
    kassert_eq!(
        spawn("nope", Some(64), false, || {}).err(),
        Some(SpawnError::CpuOffline(64))
    );
    Ok(())
}
}

ktest! {
fn a_waiter_sleeps_until_woken_and_sees_the_condition() -> TestResult {
    static QUEUE: WaitQueue = WaitQueue::new();
    static FLAG: AtomicBool = AtomicBool::new(false);
    FLAG.store(false, Ordering::SeqCst);
    let result = Arc::new(AtomicUsize::new(0));
    let r = result.clone();
    let cpu = num_online_cpus() - 1;
    let waiter = spawn("waiter", Some(cpu), false, move || {
        let woke = QUEUE.wait_event(|| FLAG.load(Ordering::SeqCst));
        r.store(if woke.is_ok() { 1 } else { 2 }, Ordering::SeqCst);
    })
    .or_fail()?;
    kassert!(
        wait_until(|| waiter.state() == TaskState::Interruptible),
        "the waiter never went to sleep"
    );
    let switches = waiter.nr_switches();
    kassert_eq!(result.load(Ordering::SeqCst), 0);
    // A wake-up without the condition puts it back to sleep.
    QUEUE.wake_up();
    kassert!(
        wait_until(|| waiter.nr_switches() > switches && waiter.state() == TaskState::Interruptible),
        "a spurious wake-up did not put the waiter back to sleep"
    );
    kassert_eq!(result.load(Ordering::SeqCst), 0);
    FLAG.store(true, Ordering::SeqCst);
    QUEUE.wake_up();
    join(&waiter).map_err(|_| "join interrupted")?;
    kassert_eq!(result.load(Ordering::SeqCst), 1);
    Ok(())
}
}

ktest! {
fn waiters_leave_the_queue_in_any_order() -> TestResult {
    // Three sleepers on one queue, each with its own condition. The one in the middle of the
    // list leaves first; the wake-ups after it must still reach the other two.
    static QUEUE: WaitQueue = WaitQueue::new();
    static GO: [AtomicBool; 3] = [const { AtomicBool::new(false) }; 3];
    let done = Arc::new(AtomicUsize::new(0));
    let mut waiters = Vec::new();
    for (i, go) in GO.iter().enumerate() {
        go.store(false, Ordering::SeqCst);
        let done = done.clone();
        let cpu = i % num_online_cpus();
        waiters.push(
            spawn("waiter", Some(cpu), false, move || {
                if QUEUE.wait_event(|| go.load(Ordering::SeqCst)).is_ok() {
                    done.fetch_add(1 << (8 * i), Ordering::SeqCst);
                }
            })
            .or_fail()?,
        );
        let waiter = &waiters[i];
        kassert!(
            wait_until(|| waiter.state() == TaskState::Interruptible),
            "waiter {i} never went to sleep"
        );
    }
    GO[1].store(true, Ordering::SeqCst);
    QUEUE.wake_up();
    join(&waiters[1]).map_err(|_| "join interrupted")?;
    kassert_eq!(done.load(Ordering::SeqCst), 1 << 8);
    for i in [0, 2] {
        let waiter = &waiters[i];
        kassert!(
            wait_until(|| waiter.state() == TaskState::Interruptible),
            "waiter {i} did not go back to sleep"
        );
    }
    GO[0].store(true, Ordering::SeqCst);
    GO[2].store(true, Ordering::SeqCst);
    QUEUE.wake_up();
    for waiter in &waiters {
        join(waiter).map_err(|_| "join interrupted")?;
    }
    kassert_eq!(done.load(Ordering::SeqCst), 0x01_01_01);
    Ok(())
}
}

ktest! {
fn msleep_sleeps_at_least_as_long_as_asked() -> TestResult {
    let start = counter_now();
    kassert_eq!(msleep(20), Ok(()));
    let slept = ms_since(start);
    kassert!(slept >= 20, "slept {slept} ms");
    Ok(())
}
}

ktest! {
fn the_tick_preempts_a_busy_task_on_the_same_cpu() -> TestResult {
    static STOP: AtomicBool = AtomicBool::new(false);
    static SPINS: AtomicU64 = AtomicU64::new(0);
    STOP.store(false, Ordering::SeqCst);
    SPINS.store(0, Ordering::SeqCst);
    let hog = spawn("hog", Some(0), false, || {
        while !STOP.load(Ordering::Relaxed) {
            SPINS.fetch_add(1, Ordering::Relaxed);
        }
    })
    .or_fail()?;
    // Busy-wait, never yielding: the hog only runs if the tick takes CPU0 away from us, and we
    // only get past this loop if the tick gives it back.
    let start = counter_now();
    while SPINS.load(Ordering::Relaxed) < 1000 {
        kassert!(ms_since(start) < PATIENCE_MS, "the busy task never ran on our CPU");
    }
    let switches = sched::nr_switches(0);
    let start = counter_now();
    while sched::nr_switches(0) < switches + 4 {
        kassert!(ms_since(start) < PATIENCE_MS, "the tick stopped switching between us");
    }
    STOP.store(true, Ordering::SeqCst);
    join(&hog).map_err(|_| "join interrupted")?;
    Ok(())
}
}

ktest! {
fn kill_stops_a_busy_task_and_interrupts_a_sleeping_one() -> TestResult {
    let cpu = num_online_cpus() - 1;
    let busy = spawn("busy", Some(cpu), true, || {
        while !sched::signal_pending() {
            core::hint::spin_loop();
        }
    })
    .or_fail()?;
    let slept = Arc::new(AtomicUsize::new(0));
    let s = slept.clone();
    let sleeper = spawn("sleeper", Some(cpu), true, move || {
        let interrupted = msleep(60_000) == Err(Interrupted);
        s.store(if interrupted { 1 } else { 2 }, Ordering::SeqCst);
    })
    .or_fail()?;
    kassert!(
        wait_until(|| sleeper.state() == TaskState::Interruptible),
        "the sleeper never slept"
    );
    let start = counter_now();
    for task in [&busy, &sleeper] {
        let killed = kill(task.pid()).context("kill")?;
        join(&killed).map_err(|_| "join interrupted")?;
    }
    kassert!(ms_since(start) < PATIENCE_MS, "kill took too long");
    kassert_eq!(slept.load(Ordering::SeqCst), 1);
    kassert_eq!(kill(busy.pid()).err(), Some(KillError::NoSuchProcess));
    Ok(())
}
}

ktest! {
fn the_shell_like_tasks_and_idle_cannot_be_killed() -> TestResult {
    kassert_eq!(kill(0).err(), Some(KillError::NotPermitted));
    kassert_eq!(kill(1).err(), Some(KillError::NotPermitted));
    kassert_eq!(kill(u32::MAX).err(), Some(KillError::NoSuchProcess));
    Ok(())
}
}

ktest! {
fn an_exited_task_gives_back_its_stack() -> TestResult {
    let mut tasks = Vec::new();
    for cpu in 0..num_online_cpus() {
        tasks.push(spawn("short", Some(cpu), false, || {}).or_fail()?);
    }
    for task in &tasks {
        join(task).map_err(|_| "join interrupted")?;
        // The run queue drops its reference after switching away from the dead task; ours is
        // then the last, and dropping it frees the stack.
        kassert!(
            wait_until(|| Arc::strong_count(task) == 1),
            "pid {} still referenced {} times after exit",
            task.pid(),
            Arc::strong_count(task)
        );
        kassert_eq!(task.state(), TaskState::Dead);
    }
    Ok(())
}
}

/// Starts tasks that sleep until [`release_sleepers`] until `spawn` refuses one; returns them
/// and the refusal.
fn spawn_until_refused(
    queue: &'static WaitQueue,
    go: &'static AtomicBool,
) -> (Vec<Arc<Task>>, SpawnError) {
    let mut tasks = Vec::new();
    loop {
        match spawn("sleeper", None, false, move || {
            let _ = queue.wait_event(|| go.load(Ordering::SeqCst));
        }) {
            Ok(task) => tasks.push(task),
            Err(error) => return (tasks, error),
        }
    }
}

/// Wakes the tasks of [`spawn_until_refused`] and waits until they have exited.
fn release_sleepers(queue: &WaitQueue, go: &AtomicBool, tasks: &[Arc<Task>]) -> TestResult {
    go.store(true, Ordering::SeqCst);
    queue.wake_up();
    for task in tasks {
        join(task).map_err(|_| "join interrupted")?;
    }
    Ok(())
}

ktest! {
fn past_threads_max_spawn_fails_with_eagain_before_memory_runs_out() -> TestResult {
    static QUEUE: WaitQueue = WaitQueue::new();
    static GO: AtomicBool = AtomicBool::new(false);
    GO.store(false, Ordering::SeqCst);
    let (used, free) = heap::usage();
    kassert_eq!(max_threads(), default_max_threads(used + free, THREAD_SIZE));
    let before = all_tasks().len();
    let (tasks, refused) = spawn_until_refused(&QUEUE, &GO);
    let spawned = tasks.len();
    let (_, free_at_limit) = heap::usage();
    release_sleepers(&QUEUE, &GO, &tasks)?;
    kassert_eq!(refused, SpawnError::TooManyTasks);
    kassert_eq!(refused.errno(), Errno::EAGAIN);
    kassert_eq!(before + spawned, max_threads() as usize);
    kassert!(
        free_at_limit > 16 * THREAD_SIZE,
        "the limit left only {free_at_limit} bytes free"
    );
    // The exited tasks gave their slots back.
    let again = spawn("again", None, false, || {}).or_fail()?;
    join(&again).map_err(|_| "join interrupted")?;
    Ok(())
}
}

/// Allocates every free block of the heap down to a page: no stack page (nor page table) fits
/// then, as stacks are mapped page by page.
fn exhaust_heap() -> Vec<Vec<u8>> {
    let mut hog: Vec<Vec<u8>> = Vec::new();
    if hog.try_reserve_exact(16 * 1024).is_err() {
        return hog;
    }
    let mut chunk = 1 << 20;
    while chunk >= arch::mmu::PAGE_SIZE && hog.len() < hog.capacity() {
        let mut block = Vec::new();
        if block.try_reserve_exact(chunk).is_ok() {
            hog.push(block);
        } else {
            chunk /= 2;
        }
    }
    hog
}

/// Spawns on `cpu` with the heap exhausted: refused with ENOMEM, leaving the heap as it was;
/// then again with the heap back.
fn spawn_starved(cpu: usize) -> TestResult {
    // A first task on the same CPU grows the run queue and the pid table, which keep the room.
    let first = spawn("first", Some(cpu), false, || {}).or_fail()?;
    join(&first).map_err(|_| "join interrupted")?;
    let used_before = heap::usage().0;
    let hog = exhaust_heap();
    // Nothing that allocates (no message formatted) until the hog is gone.
    let refused = spawn("starved", Some(cpu), false, || {}).err();
    drop(hog);
    let used_after = heap::usage().0;
    kassert_eq!(refused, Some(SpawnError::OutOfMemory));
    kassert_eq!(refused.map(SpawnError::errno), Some(Errno::ENOMEM));
    kassert!(
        used_after == used_before,
        "the failed spawn leaked {} bytes",
        used_after.abs_diff(used_before)
    );
    let fed = spawn("fed", Some(cpu), false, || {}).or_fail()?;
    join(&fed).map_err(|_| "join interrupted")?;
    Ok(())
}

ktest! {
fn spawn_fails_with_enomem_when_no_stack_fits_and_leaks_nothing() -> TestResult {
    // The limit lifted, so memory runs out first.
    let limit = max_threads();
    set_max_threads(MAX_THREADS);
    let result = spawn_starved(num_online_cpus() - 1);
    set_max_threads(limit);
    result
}
}
