//! Tasks and the scheduler (Linux: `kernel/sched/core.c`, reduced to round robin).
//!
//! Every CPU has a run queue of the tasks bound to it and an idle task that runs when the queue
//! is empty. Tasks never migrate: a task is created on one CPU ([`spawn`] picks the least
//! loaded when not told) and only that CPU ever switches to it, so a task's per-CPU data is
//! stable and a run queue is only ever emptied by its own CPU.
//!
//! - **Switching** happens in [`schedule`]: the running task goes to the back of its queue (or
//!   off it, if it is going to sleep or has exited), the front task comes in through
//!   [`cpu_switch_to`]. After the switch the incoming task frees the stack of an exited
//!   predecessor ([`schedule_tail`], Linux's `finish_task_switch`).
//! - **Preemption**: the tick ([`scheduler_tick`]) ends a time slice of [`SCHED_SLICE_TICKS`]
//!   when another task is waiting, by setting `need_resched`; the IRQ exit path then calls
//!   [`preempt_schedule_irq`] unless preemption is disabled. A wake-up onto a CPU whose idle task
//!   is running reschedules it at once (an `IPI_RESCHEDULE` when it is another CPU).
//! - **Sleeping**: [`wait::WaitQueue`] for conditions, [`msleep`] for time; both end early when
//!   the task is killed ([`kill`] sets the flag and wakes it; the task itself decides where to
//!   stop, checking [`signal_pending`], like a kernel thread checking `kthread_should_stop`).
//! - **Exit**: [`do_exit`] wakes whoever waits for the task ([`join`]) and switches away for the
//!   last time.
//!
//! `current` is a per-CPU pointer read without a lock ([`current`]), for the tracers' TASK-PID
//! column.
//!
//! Locking: one [`SpinLockIrq`] per run queue, held only to pick a task or queue one, never
//! across the switch itself (IRQs stay masked from the pick to the end of the switch). Order: a
//! wait queue's lock, then a run queue's lock, then the pid table's lock. Timed sleepers live in
//! their CPU's run queue, woken by its tick. Locks of the host-testable code (the VFS tree, the
//! shell's tables) are plain spinlocks taken with IRQs enabled: a task preempted while holding
//! one makes a contender on its CPU spin until the next tick, never forever.

pub mod format;
pub mod run_list;

#[cfg(target_os = "none")]
mod command;
#[cfg(target_os = "none")]
mod task;
#[cfg(target_os = "none")]
pub mod wait;

#[cfg(target_os = "none")]
pub use core_sched::*;
#[cfg(target_os = "none")]
pub use task::{
    IDLE_NAME, IDLE_PID, Pid, THREAD_SIZE, Task, TaskState, all_tasks, find_task_by_pid, last_pid,
    max_threads, nr_threads, set_max_threads,
};

#[cfg(target_os = "none")]
mod core_sched {
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::mem::ManuallyDrop;
    use core::sync::atomic::Ordering;

    use arch::context::{CpuContext, cpu_switch_to};
    use arch::exception::TrapFrame;
    use arch::gic;
    use arch::irq::{IrqAction, request_percpu_irq};
    use arch::irqflags::{local_irq_disable, local_irq_enable, local_irq_save};
    use arch::percpu::{need_resched, preempt_count, set_need_resched};
    use arch::spinlock::SpinLockIrq;
    use arch::timer::{self, HZ, TickHook};
    use spin::Once;

    use super::run_list::RunList;
    use super::task::{self, Pid, Task, TaskState};
    use super::wait::Interrupted;
    use crate::board::MAX_CPUS;
    use crate::fs::Errno;
    use crate::println;
    use crate::smp::{IPI_TYPES, smp_cross_call};
    use crate::smp::{cpu_online_mask, num_possible_cpus, per_cpu, smp_processor_id, this_cpu};
    use crate::trace::events::ipi as ipi_events;
    use crate::trace::events::sched as sched_events;

    /// The SGI that makes another CPU look at its run queue (Linux arm64: `IPI_RESCHEDULE`, 0).
    pub const IPI_RESCHEDULE: u32 = 0;
    /// Ticks a task runs before another runnable task on its CPU gets a turn: one tick, 4 ms,
    /// near Linux's 3 ms base slice.
    pub const SCHED_SLICE_TICKS: u32 = 1;

    struct RunQueue {
        /// Runnable tasks waiting for this CPU, in turn order; the running task is not here.
        queue: RunList<Arc<Task>>,
        curr: Arc<Task>,
        idle: Arc<Task>,
        /// Tasks bound to this CPU, idle excluded: the queue never needs more room than this.
        nr_tasks: usize,
        /// The run queue's reference to the task just switched away from, when it left the
        /// queue (asleep or dead): the next task drops it after the switch, outside the lock
        /// ([`finish_task_switch`]), which frees a dead task. `ManuallyDrop`, so that storing
        /// it in `noinstr` [`__schedule`] has no drop glue to call (it is empty then).
        released: ManuallyDrop<Option<Arc<Task>>>,
        /// Tasks in [`msleep`], with the counter value to wake them at; like the queue, it has
        /// room for every task of the CPU.
        sleepers: Vec<(u64, Arc<Task>)>,
        nr_switches: u64,
    }

    static RQS: [Once<SpinLockIrq<RunQueue>>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];

    arch::noinstr! {
    fn rq(cpu: usize) -> &'static SpinLockIrq<RunQueue> {
        RQS[cpu]
            .get()
            .expect("the CPU's run queue exists once it runs tasks")
    }
    }

    static TICK_HOOK: TickHook = TickHook {
        handler: scheduler_tick,
    };

    static RESCHED_ACTION: IrqAction = IrqAction {
        name: IPI_TYPES[IPI_RESCHEDULE as usize],
        handler: scheduler_ipi,
    };

    /// Makes the code running on `cpu` its idle task (pid 0) and gives the CPU a run queue.
    /// Each CPU calls it once, before it can be sent a task.
    pub fn init_idle(cpu: usize) {
        // The CPU runs on its boot stack, THREAD_ALIGN-aligned like every kernel stack.
        let idle = Arc::new(Task::new_idle(cpu, arch::stack::current_thread_stack()));
        this_cpu()
            .current
            .store(Arc::as_ptr(&idle).cast_mut(), Ordering::Release);
        RQS[cpu].call_once(|| {
            SpinLockIrq::new(RunQueue {
                queue: RunList::new(),
                curr: idle.clone(),
                idle,
                nr_tasks: 0,
                released: ManuallyDrop::new(None),
                sleepers: Vec::new(),
                nr_switches: 0,
            })
        });
    }

    /// The boot CPU's part: its idle task, the tick, the reschedule IPI, the preemption hook and
    /// the shell commands. After `irq::init`, before the other CPUs start.
    pub fn init() {
        init_idle(smp_processor_id());
        if let Err(e) = timer::register_tick_hook(&TICK_HOOK) {
            println!("sched: no tick hook ({e:?}): no preemption");
        }
        if gic::gic_version().is_some()
            && let Err(e) = request_percpu_irq(IPI_RESCHEDULE, &RESCHED_ACTION)
        {
            println!("sched: cannot register IPI{IPI_RESCHEDULE}: {e:?}");
        }
        arch::exception::set_preempt_handler(preempt_schedule_irq);
        super::command::init();
        println!(
            "sched: round robin, {} ms slices, HZ={HZ}, preemption at IRQ exit",
            u64::from(SCHED_SLICE_TICKS) * 1000 / HZ
        );
    }

    arch::noinstr! {
    /// The task running on this CPU; None before the scheduler is set up. Lock-free.
    #[inline(always)]
    pub fn current() -> Option<&'static Task> {
        // SAFETY: the pointer comes from an Arc the run queue holds while the task runs; the
        // caller is that task (or an interrupt on top of it), so it outlives this borrow for as
        // long as the caller can use it.
        unsafe { this_cpu().current.load(Ordering::Acquire).as_ref() }
    }
    }

    /// The running task, counted.
    pub fn current_task() -> Arc<Task> {
        let ptr = this_cpu().current.load(Ordering::Acquire);
        assert!(!ptr.is_null(), "a task exists once the scheduler is up");
        // SAFETY: `ptr` came from `Arc::as_ptr` of an Arc the run queue holds while the task
        // runs, so taking one more reference is sound.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// The running task was killed or interrupted (a pending SIGINT).
    pub fn signal_pending() -> bool {
        current().is_some_and(Task::signal_pending)
    }

    /// Delivers SIGINT to `task` (the console's Ctrl-C, Linux's `isig()`): marks it and wakes
    /// it from an interruptible sleep, which then ends with [`Interrupted`]. Unlike
    /// [`kill`] any task may be interrupted; the flag stays until [`clear_sigint`]. Safe in
    /// interrupt context; never allocates.
    pub fn send_sigint(task: &Arc<Task>) {
        task.set_sigint(true);
        wake_up_state(task, TaskState::Interruptible);
    }

    /// Takes the running task's pending SIGINT: whether there was one.
    pub fn clear_sigint() -> bool {
        current().is_some_and(|task| task.set_sigint(false))
    }

    /// Why a task could not be started.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SpawnError {
        /// The CPU asked for is not online.
        CpuOffline(usize),
        /// `threads-max` tasks exist already (Linux's `fork`: EAGAIN).
        TooManyTasks,
        /// The stack, the task or a table could not be allocated (ENOMEM).
        OutOfMemory,
    }

    impl SpawnError {
        /// Linux's errno for it: `fork`'s EAGAIN and ENOMEM, `sched_setaffinity`'s EINVAL for
        /// an offline CPU.
        pub fn errno(self) -> Errno {
            match self {
                Self::CpuOffline(_) => Errno::EINVAL,
                Self::TooManyTasks => Errno::EAGAIN,
                Self::OutOfMemory => Errno::ENOMEM,
            }
        }
    }

    /// Starts `f` as a new task named `name` on `cpu` (or the least loaded online CPU). With
    /// `killable`, [`kill`] may stop it. It runs until `f` returns.
    pub fn spawn(
        name: &str,
        cpu: Option<usize>,
        killable: bool,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<Arc<Task>, SpawnError> {
        let cpu = match cpu {
            Some(cpu) if cpu < MAX_CPUS && cpu_online_mask() & (1 << cpu) != 0 => cpu,
            Some(cpu) => return Err(SpawnError::CpuOffline(cpu)),
            None => least_loaded_cpu(),
        };
        let job: Box<dyn FnOnce() + Send> = Box::try_new(f).map_err(|_| SpawnError::OutOfMemory)?;
        let job = Box::try_new(job).map_err(|_| SpawnError::OutOfMemory)?;
        let arg = Box::into_raw(job);
        let task = task::register(|pid| {
            reserve_rq_room(cpu)?;
            Task::new_thread(pid, name, cpu, killable, task_entry, arg as u64)
                .inspect_err(|_| rq(cpu).lock().nr_tasks -= 1)
        })
        .inspect_err(|_| {
            // SAFETY: from `Box::into_raw` above; no task was made to take it.
            drop(unsafe { Box::from_raw(arg) });
        })?;
        crate::trace::trace_events_pid::event_filter_pid_fork(task.pid());
        task.set_state(TaskState::Interruptible);
        wake_up_new_task(&task);
        Ok(task)
    }

    /// Counts one more task on `cpu` and makes room for it in the run queue and among the
    /// timed sleepers, so that waking it or putting it to sleep never allocates.
    fn reserve_rq_room(cpu: usize) -> Result<(), SpawnError> {
        let mut rq = rq(cpu).lock();
        let tasks = rq.nr_tasks + 1;
        let queue_room = tasks.saturating_sub(rq.queue.len());
        let sleepers_room = tasks.saturating_sub(rq.sleepers.len());
        rq.queue
            .try_reserve(queue_room)
            .and_then(|()| rq.sleepers.try_reserve(sleepers_room))
            .map_err(|_| SpawnError::OutOfMemory)?;
        rq.nr_tasks = tasks;
        Ok(())
    }

    /// The online CPU with the fewest tasks; the lowest-numbered among equals.
    fn least_loaded_cpu() -> usize {
        (0..num_possible_cpus().min(MAX_CPUS))
            .filter(|&cpu| cpu_online_mask() & (1 << cpu) != 0 && RQS[cpu].get().is_some())
            .min_by_key(|&cpu| rq(cpu).lock().nr_tasks)
            .unwrap_or(0)
    }

    /// The first Rust code of a spawned task.
    extern "C" fn task_entry(arg: u64) -> ! {
        // SAFETY: `spawn` made `arg` with `Box::into_raw` and hands it to exactly one task.
        let job = unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() + Send>) };
        job();
        do_exit()
    }

    /// Ends the running task: wakes its joiners, leaves the pid table, and switches away for
    /// good. The next task frees the stack.
    pub fn do_exit() -> ! {
        let me = current_task();
        sched_events::trace_sched_process_exit(&me);
        // Out of the pid table before anyone hears of the exit: a joiner that then looks the
        // pid up must not find the task.
        task::unregister(me.pid());
        me.set_exited();
        me.exit_wait.wake_up();
        local_irq_disable();
        me.set_state(TaskState::Dead);
        drop(me);
        __schedule(false);
        unreachable!("a dead task was switched back in");
    }

    /// Waits until `task` has exited. Fails only if the waiter itself is killed.
    pub fn join(task: &Task) -> Result<(), Interrupted> {
        task.exit_wait.wait_event(|| task.has_exited())
    }

    /// Why `kill` refused.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum KillError {
        /// No task has this pid (ESRCH).
        NoSuchProcess,
        /// The task cannot be killed: an idle task or the shell (EPERM).
        NotPermitted,
    }

    /// Asks task `pid` to stop: marks it killed and wakes it if it sleeps. Returns at once,
    /// like `kill(2)`, with the task, which exits at its next check ([`join`] waits for that).
    pub fn kill(pid: Pid) -> Result<Arc<Task>, KillError> {
        if pid == super::IDLE_PID {
            return Err(KillError::NotPermitted);
        }
        let task = task::find_task_by_pid(pid).ok_or(KillError::NoSuchProcess)?;
        if !task.killable() {
            return Err(KillError::NotPermitted);
        }
        task.set_killed();
        wake_up_state(&task, TaskState::Interruptible);
        Ok(task)
    }

    /// Marks the running task stopped (Linux: `set_special_state(TASK_STOPPED)`), before it
    /// calls [`schedule`]: it sleeps there until `wake_up_state(task, TaskState::Stopped)`
    /// (SIGCONT, SIGKILL); signals that merely pend do not wake it.
    pub fn set_current_stopped() {
        current_task().set_state(TaskState::Stopped);
    }

    /// Makes `task` runnable if it is in `state` (Linux: `try_to_wake_up`). Safe in interrupt
    /// context; never allocates.
    pub fn wake_up_state(task: &Arc<Task>, state: TaskState) -> bool {
        activate(task, state, false)
    }

    /// Queues a new task for its first run (Linux: `wake_up_new_task`).
    fn wake_up_new_task(task: &Arc<Task>) {
        activate(task, TaskState::Interruptible, true);
    }

    /// Makes `task` runnable if it is in `state`, and kicks its CPU if that idles; `new` for
    /// a task's first run, which Linux reports as `sched_wakeup_new` alone.
    fn activate(task: &Arc<Task>, state: TaskState, new: bool) -> bool {
        let cpu = task.cpu();
        let idle_running = {
            let mut rq = rq(cpu).lock();
            if task.state() != state {
                return false;
            }
            if !new {
                sched_events::trace_sched_waking(task);
            }
            task.set_state(TaskState::Running);
            if task.on_rq.swap(true, Ordering::AcqRel) {
                // Still queued or running: it had not switched away yet and now will not.
                sched_events::trace_sched_wakeup(task);
                return true;
            }
            rq.queue.push_back(task.clone());
            if new {
                sched_events::trace_sched_wakeup_new(task);
            } else {
                sched_events::trace_sched_wakeup(task);
            }
            rq.curr.is_idle()
        };
        if idle_running {
            resched_cpu(cpu);
        }
        true
    }

    /// Makes `cpu` reschedule at its next interrupt exit, now if it is another CPU (Linux:
    /// `resched_curr`; out of line, so the `ipi_send_cpu` callsite is its caller, as there).
    #[inline(never)]
    fn resched_cpu(cpu: usize) {
        if cpu == smp_processor_id() {
            set_need_resched();
        } else if let Some(slot) = per_cpu(cpu) {
            slot.arch.need_resched.store(true, Ordering::Release);
            // Linux's `smp_send_reschedule`: the request (no callback), then the IPI.
            ipi_events::trace_ipi_send_cpu(cpu as u32, ipi_events::return_address(), 0);
            let _ = smp_cross_call(cpu, IPI_RESCHEDULE);
        }
    }

    /// Gives the CPU to the next task (if any) and returns when this one runs again. Call with
    /// preemption enabled; a task that has set itself asleep sleeps here.
    pub fn schedule() {
        if preempt_count() != 0 {
            println!(
                "BUG: scheduling while atomic: {}/{}/0x{:08x}",
                current().map_or(crate::sched::format::Comm::new("?"), Task::name),
                current().map_or(0, Task::pid),
                preempt_count()
            );
            crate::bug!();
        }
        let flags = local_irq_save();
        __schedule(false);
        arch::irqflags::local_irq_restore(flags);
    }

    /// Puts the running task at the back of its queue and runs the next one (Linux:
    /// `sched_yield`).
    pub fn yield_now() {
        schedule();
    }

    arch::noinstr! {
    /// The interrupt-exit preemption (Linux: `preempt_schedule_irq`): IRQs are masked, the
    /// interrupted task's frame is on its stack and is restored when it is switched back in.
    /// `noinstr`: the exception path calls it through a pointer.
    fn preempt_schedule_irq() {
        __schedule(true);
    }
    }

    arch::noinstr! {
    /// The switch itself; IRQs masked throughout. A `preempt`ed task stays runnable whatever
    /// state it had set: it was interrupted between marking itself asleep and checking its
    /// condition, and must get to check it (Linux: `__schedule(SM_PREEMPT)`).
    fn __schedule(preempt: bool) {
        let cpu = smp_processor_id();
        this_cpu().arch.need_resched.store(false, Ordering::Relaxed);
        let Some((prev, next, next_mm)) = pick_next_task(&mut rq(cpu).lock(), preempt) else {
            return;
        };
        // The incoming task's address space (or the reserved table) in TTBR0, with its ASID.
        // SAFETY: IRQs are masked on this CPU; a task's mm pointer stays valid while it is set
        // (its process clears it, and uninstalls it, before freeing the address space).
        unsafe { arch::asid::switch_mm(cpu, next_mm) };
        // SAFETY: IRQs are masked; `prev` is the running task's context, and `next` is a
        // runnable task of this CPU, switched out earlier or never run, whose stack nobody uses.
        unsafe { cpu_switch_to(prev, next) };
        // Traced code, as Linux's finish_task_switch: the switch is complete and the lock free.
        arch::instrumentation! { finish_task_switch() }
    }
    }

    arch::noinstr! {
    /// Takes the running task off the CPU and the next one on (its queue's front, else the
    /// idle task), and returns their contexts; `None` when the running task keeps the CPU.
    /// Only moves `Arc`s (and takes one more reference to the idle task), so it never drops
    /// one: the running task's reference goes back to the queue or to `released`.
    #[inline(always)]
    fn pick_next_task(
        rq: &mut RunQueue,
        preempt: bool,
    ) -> Option<(*mut CpuContext, *mut CpuContext, *const arch::asid::MmContext)> {
        let prev = &rq.curr;
        let requeue = !prev.is_idle()
            && match prev.state() {
                TaskState::Running => true,
                TaskState::Interruptible | TaskState::Stopped if preempt => true,
                TaskState::Interruptible if prev.signal_pending() => {
                    prev.set_state(TaskState::Running);
                    true
                }
                TaskState::Interruptible | TaskState::Stopped | TaskState::Dead => false,
            };
        if rq.queue.is_empty() && (requeue || prev.is_idle()) {
            return None;
        }
        let next = match rq.queue.pop_front() {
            Some(next) => next,
            None => rq.idle.clone(),
        };
        // Recorded as the task switched away from, still `current` (Linux: before
        // context_switch).
        sched_events::trace_sched_switch(preempt, &rq.curr, &next);
        next.slice.store(SCHED_SLICE_TICKS, Ordering::Relaxed);
        next.nr_switches.fetch_add(1, Ordering::Relaxed);
        rq.nr_switches += 1;
        this_cpu()
            .current
            .store(Arc::as_ptr(&next).cast_mut(), Ordering::Release);
        let next_context = next.context();
        let next_mm = next.mm();
        let prev = core::mem::replace(&mut rq.curr, next);
        // SAFETY: IRQs are masked and `prev` is the task this CPU is switching out.
        unsafe { arch::fpsimd::thread_switch(prev.fpsimd_state()) };
        let prev_context = prev.context();
        if requeue {
            rq.queue.push_back(prev);
        } else {
            if !prev.is_idle() {
                prev.on_rq.store(false, Ordering::Release);
                if prev.state() == TaskState::Dead {
                    rq.nr_tasks -= 1;
                }
            }
            // `released` is empty: the previous switch's finish_task_switch took it.
            rq.released = ManuallyDrop::new(Some(prev));
        }
        // The run queue keeps both tasks alive: `prev` in its queue, in `released`, or as
        // `idle`; `next` as `curr`.
        Some((prev_context, next_context, next_mm))
    }
    }

    /// Drops the run queue's reference to the task switched away from, if it left the queue
    /// (Linux: `finish_task_switch`): a dead task's stack is freed here.
    fn finish_task_switch() {
        let released = rq(smp_processor_id()).lock().released.take();
        drop(released);
    }

    arch::noinstr! {
    /// Where a new task's first switch lands (from `ret_from_fork`): finish the switch, then
    /// run in process context, as every task does: nothing masked, whatever DAIF the switch
    /// left (an IRQ exit, a `schedule()` with IRQs off). Linux: `local_daif_restore(DAIF_PROCCTX)`.
    #[unsafe(no_mangle)]
    extern "C" fn schedule_tail() {
        // As in `__schedule`: the switch is complete, traced code may run.
        arch::instrumentation! { finish_task_switch() }
        arch::daifflags::local_daif_restore(arch::daifflags::DAIF_PROCCTX);
    }
    }

    /// Every CPU ends its boot here, as its idle task: sleep until an interrupt, and switch to
    /// whatever it made runnable.
    pub fn cpu_idle() -> ! {
        loop {
            local_irq_disable();
            if !need_resched() {
                arch::irqflags::cpu_do_idle();
            }
            local_irq_enable();
            if need_resched() {
                schedule();
            }
        }
    }

    /// Sleeps for at least `ms` milliseconds (rounded up to ticks). Fails if the task is killed
    /// or interrupted.
    pub fn msleep(ms: u64) -> Result<(), Interrupted> {
        let freq = timer::counter_freq_hz();
        let deadline = timer::counter_now() + ms.saturating_mul(freq).div_ceil(1000);
        let me = current_task();
        let cpu = me.cpu();
        let result = loop {
            {
                let mut rq = rq(cpu).lock();
                if timer::counter_now() >= deadline {
                    break Ok(());
                }
                if me.signal_pending() {
                    break Err(Interrupted);
                }
                me.set_state(TaskState::Interruptible);
                rq.sleepers.push((deadline, me.clone()));
            }
            schedule();
        };
        me.set_state(TaskState::Running);
        rq(cpu)
            .lock()
            .sleepers
            .retain(|(_, t)| !Arc::ptr_eq(t, &me));
        result
    }

    /// Schedules away until woken or until the virtual counter reaches `deadline` (Linux:
    /// `schedule_timeout`). The caller has set its own state to `Interruptible`, as a wait
    /// queue's `prepare_to_wait` does, and checks its condition and the time again after.
    pub fn schedule_timeout(deadline: u64) {
        let me = current_task();
        let cpu = me.cpu();
        // Room for one timed sleep of every task is reserved when tasks are made: no
        // allocation here.
        rq(cpu).lock().sleepers.push((deadline, me.clone()));
        schedule();
        rq(cpu)
            .lock()
            .sleepers
            .retain(|(_, t)| !Arc::ptr_eq(t, &me));
    }

    /// The virtual counter's value `ns` nanoseconds from now (a deadline for
    /// [`schedule_timeout`]), saturating.
    pub fn deadline_after_ns(ns: u64) -> u64 {
        let freq = timer::counter_freq_hz();
        let cycles =
            u64::try_from(u128::from(ns) * u128::from(freq) / 1_000_000_000).unwrap_or(u64::MAX);
        timer::counter_now().saturating_add(cycles)
    }

    /// Timed sleepers one tick wakes at most; the rest wait one more tick. Fixed, so the tick
    /// never allocates.
    const WAKE_BATCH: usize = 8;

    /// Runs on every tick of every CPU: wakes timed sleepers that are due and ends the running
    /// task's slice when someone else is waiting.
    fn scheduler_tick(_frame: &mut TrapFrame) {
        let Some(rq) = RQS[smp_processor_id()].get() else {
            return;
        };
        let now = timer::counter_now();
        let mut due: [Option<Arc<Task>>; WAKE_BATCH] = Default::default();
        let resched = {
            let mut rq = rq.lock();
            let mut n = 0;
            rq.sleepers.retain(|(deadline, task)| {
                if *deadline > now || n == due.len() {
                    return true;
                }
                due[n] = Some(task.clone());
                n += 1;
                false
            });
            let curr = rq.curr.clone();
            let waiting = !rq.queue.is_empty();
            if curr.is_idle() {
                waiting
            } else {
                let left = curr.slice.load(Ordering::Relaxed).saturating_sub(1);
                curr.slice.store(left, Ordering::Relaxed);
                left == 0 && waiting
            }
        };
        for task in due.iter().flatten() {
            wake_up_state(task, TaskState::Interruptible);
        }
        if resched {
            set_need_resched();
        }
    }

    fn scheduler_ipi(_irq: u32, _frame: &mut TrapFrame) {
        // Nothing to do here but the events: the sender set need_resched, and the IRQ exit
        // acts on it.
        ipi_events::trace_ipi_entry(IPI_RESCHEDULE);
        ipi_events::trace_ipi_exit(IPI_RESCHEDULE);
    }

    /// Context switches CPU `cpu` has made.
    pub fn nr_switches(cpu: usize) -> u64 {
        RQS.get(cpu)
            .and_then(Once::get)
            .map_or(0, |rq| rq.lock().nr_switches)
    }

    /// Tasks runnable on `cpu` now, the running one included, idle excluded (Linux:
    /// `rq->nr_running`).
    pub fn nr_running(cpu: usize) -> usize {
        RQS.get(cpu).and_then(Once::get).map_or(0, |rq| {
            let rq = rq.lock();
            rq.queue.len() + usize::from(!rq.curr.is_idle())
        })
    }

    /// The idle task of `cpu`, if the CPU runs tasks.
    pub fn idle_task(cpu: usize) -> Option<Arc<Task>> {
        RQS.get(cpu)
            .and_then(Once::get)
            .map(|rq| rq.lock().idle.clone())
    }

    /// Whether `task` is on a CPU right now.
    pub fn task_curr(task: &Task) -> bool {
        RQS.get(task.cpu())
            .and_then(Once::get)
            .is_some_and(|rq| core::ptr::eq(Arc::as_ptr(&rq.lock().curr), task))
    }
}
