//! The task: a kernel thread with a pid, a name, a state and the CPU it is bound to (Linux:
//! `struct task_struct`), and the pid table behind `ps` and `kill`, with Linux's task limit
//! (`/proc/sys/kernel/threads-max`).
//!
//! A task owns its kernel stack and, while it is not running, the registers
//! [`cpu_switch_to`](arch::context::cpu_switch_to) saved. It runs on one CPU for its whole
//! life: per-CPU data stays per-task, and a task is only ever switched in by the CPU whose run
//! queue holds it. Each CPU's idle task is pid 0, named `<idle>` as in trace output; it runs on
//! the stack the CPU booted on.
//!
//! A user task keeps its EL0 registers in a `TrapFrame` at the top of its kernel stack
//! ([`Task::pt_regs`], Linux's `task_pt_regs`; every spawned task reserves the room) and its
//! address space as an [`MmContext`] pointer that `__schedule` installs in TTBR0, and its EL0
//! debug state ([`TaskDebug`]: single step, hardware breakpoints and watchpoints), which its
//! returns to EL0 apply. Room to grow: a ptrace link (tracer pid, stop state) next to
//! `killed`.
//!
//! Creating a task never panics for want of memory: the stack, the task and the pid table's
//! slot are allocated fallibly (`ENOMEM`), and past the task limit creation fails with `EAGAIN`
//! before anything is allocated, as Linux's `copy_process` does.
//!
//! Locking: [`TASKS`] (the pid table) is a leaf lock; `state` and `on_rq` change under the run
//! queue lock of the task's CPU, except that a task sets its own state before it sleeps.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering};

use arch::asid::MmContext;
use arch::context::CpuContext;
use arch::exception::TrapFrame;
use arch::fpsimd::UserFpsimdState;
use arch::hw_breakpoint::TaskDebug;
use arch::spinlock::SpinLockIrq;
use arch::stack::StackRange;

use super::SpawnError;
use super::format::{Comm, MIN_THREADS};
use super::wait::WaitQueue;
use crate::mm::vmap_stack::VmapStack;
use crate::trace::fgraph::TaskRetStack;

pub type Pid = u32;

/// The pid of every CPU's idle task (Linux's `swapper/N`, shown as `<idle>` by the tracers).
pub const IDLE_PID: Pid = 0;
/// The idle task's name, as it appears in trace output.
pub const IDLE_NAME: &str = "<idle>";
/// Kernel stack size of a task (Linux arm64: `THREAD_SIZE`, 16 KiB; ours is larger because
/// Rust's formatting machinery and the shell's buffers live on it). Guarded: see
/// [`crate::mm::vmap_stack`].
pub const THREAD_SIZE: usize = arch::stack::THREAD_SIZE;

/// What a task is doing (Linux: `TASK_RUNNING`, `TASK_INTERRUPTIBLE`, `EXIT_DEAD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    /// Running, or queued to run.
    Running = 0,
    /// Asleep until woken, or until killed.
    Interruptible = 1,
    /// Finished; its stack is freed after the switch away from it.
    Dead = 2,
    /// Stopped by a stop signal (Linux: `TASK_STOPPED`): only SIGCONT or SIGKILL wakes it.
    Stopped = 3,
}

impl TaskState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Running,
            1 => Self::Interruptible,
            3 => Self::Stopped,
            _ => Self::Dead,
        }
    }

    /// The letter `ps` shows (Linux: `task_state_array`).
    pub fn letter(self) -> char {
        match self {
            Self::Running => 'R',
            Self::Interruptible => 'S',
            Self::Dead => 'X',
            Self::Stopped => 'T',
        }
    }
}

pub struct Task {
    pid: Pid,
    /// Its name (`comm`), as [`Comm::to_parts`]: renamed by `execve` while others may read it.
    /// A reader racing a rename may see a mix of the two names, as Linux's readers of `comm`
    /// may; it is always valid text.
    name: [AtomicU64; 2],
    name_len: AtomicU8,
    cpu: usize,
    /// `jiffies` when it was created (`/proc/PID/stat`'s `starttime`).
    start_jiffies: u64,
    state: AtomicU8,
    /// Queued on its CPU's run queue, or running (Linux: `on_rq`). Changes under that lock.
    pub(super) on_rq: AtomicBool,
    /// `kill` asked it to stop (a pending SIGKILL).
    killed: AtomicBool,
    /// A pending SIGINT: the console's Ctrl-C while the task ran a shell command in the
    /// foreground ([`super::send_sigint`]). It interrupts sleeps like `killed`, but the task
    /// carries on once it has been taken ([`super::clear_sigint`]).
    sigint: AtomicBool,
    /// Its tracer asked for a trap (`PTRACE_INTERRUPT`; Linux: `JOBCTL_TRAP_STOP` with
    /// `signal_wake_up`): it ends interruptible sleeps like a signal, so a syscall asleep
    /// returns its restart code, the way back to EL0 takes the trap stop (which clears this)
    /// and the syscall then restarts. Not in [`Self::exit_to_user_work`]: a sleep it ends
    /// always leaves syscall work, and a running task takes the trap at its next interrupt.
    ptrace_trap: AtomicBool,
    /// A user task's pending and blocked signals, bit `signo - 1` (Linux: `pending.signal`,
    /// `blocked`): set by senders ([`crate::process::send_signal`]), taken and masked by the
    /// task itself on its way back to EL0 (`crate::signal`). An unblocked pending signal ends
    /// interruptible sleeps like `killed`.
    sig_pending: AtomicU64,
    sig_blocked: AtomicU64,
    /// `kill` may stop it: background workloads yes, the shell and idle tasks no.
    killable: bool,
    /// Set once the task has finished its work; [`Task::exit_wait`] is woken then.
    exited: AtomicBool,
    pub(super) exit_wait: WaitQueue,
    /// Times this task was switched in.
    pub(super) nr_switches: AtomicU64,
    /// Counter cycles charged to it at EL0 and at EL1 (Linux: `utime`, `stime`), by the tick
    /// sampling of `/proc`'s accounting.
    cputime: [AtomicU64; 2],
    /// Ticks left in its time slice.
    pub(super) slice: AtomicU32,
    /// Saved by `cpu_switch_to` while the task is not running.
    context: UnsafeCell<CpuContext>,
    /// The stack it owns, unmapped and freed when the task is dropped; None for an idle task,
    /// which runs on the stack its CPU booted on.
    stack: Option<VmapStack>,
    /// Where its stack lies, idle tasks included.
    stack_range: StackRange,
    /// The function-graph tracer's shadow stack of hooked returns (Linux: `ret_stack`).
    ret_stack: TaskRetStack,
    /// The EL0 address space `__schedule` installs for it; null for a kernel task. Whoever
    /// sets it keeps the context alive until it is cleared (the task's process).
    mm: AtomicPtr<MmContext>,
    /// Its EL0 FP/SIMD registers while they are not live in the CPU (Linux:
    /// `thread.uw.fpsimd_state`); see [`arch::fpsimd`]. Only the task's own CPU touches it.
    fpsimd: UnsafeCell<UserFpsimdState>,
    /// Its EL0 debug state (Linux: `TIF_SINGLESTEP`, `thread.debug`): set by a tracer while
    /// the task is stopped, applied by the task's own returns to EL0.
    debug: TaskDebug,
}

// SAFETY: three fields have no synchronisation of their own. `fpsimd` is touched only by the
// task itself on its CPU, or by that CPU's scheduler while switching it out (IRQs masked). `context` is written only by
// `cpu_switch_to` on the task's own CPU, with IRQs masked, while the task is switched out, and
// read only when that CPU switches it back in. `ret_stack` is touched only by the task's own CPU
// with IRQs masked while the task is current (`trace::fgraph`). Everything else is owned data
// or atomics.
unsafe impl Sync for Task {}
// SAFETY: as above; everything else is owned data or atomics.
unsafe impl Send for Task {}

/// The last reference is gone: Linux's `delayed_put_task_struct` reports it.
#[cfg(target_os = "none")]
impl Drop for Task {
    fn drop(&mut self) {
        crate::trace::events::sched::trace_sched_process_free(self);
    }
}

impl Task {
    fn new(
        pid: Pid,
        name: &str,
        cpu: usize,
        killable: bool,
        stack: Option<VmapStack>,
        stack_range: StackRange,
    ) -> Self {
        Self {
            pid,
            name: Comm::new(name).to_parts().0.map(AtomicU64::new),
            name_len: AtomicU8::new(Comm::new(name).to_parts().1),
            cpu,
            start_jiffies: arch::timer::jiffies(),
            state: AtomicU8::new(TaskState::Running as u8),
            on_rq: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            sigint: AtomicBool::new(false),
            ptrace_trap: AtomicBool::new(false),
            sig_pending: AtomicU64::new(0),
            sig_blocked: AtomicU64::new(0),
            killable,
            exited: AtomicBool::new(false),
            exit_wait: WaitQueue::new(),
            nr_switches: AtomicU64::new(0),
            cputime: [const { AtomicU64::new(0) }; 2],
            slice: AtomicU32::new(0),
            context: UnsafeCell::new(CpuContext::default()),
            stack,
            stack_range,
            ret_stack: TaskRetStack::new(),
            mm: AtomicPtr::new(core::ptr::null_mut()),
            fpsimd: UnsafeCell::new(UserFpsimdState::default()),
            debug: TaskDebug::new(),
        }
    }

    /// The shadow stack of the function-graph tracer's hooked returns.
    #[inline(always)]
    pub fn ret_stack(&self) -> &TaskRetStack {
        &self.ret_stack
    }

    /// The idle task of `cpu`, which is already running on it, on `stack`.
    pub(super) fn new_idle(cpu: usize, stack: StackRange) -> Self {
        let task = Self::new(IDLE_PID, IDLE_NAME, cpu, false, None, stack);
        task.on_rq.store(true, Ordering::Relaxed);
        task
    }

    /// A task that starts in `entry(arg)` on a fresh stack the first time `cpu` switches to it;
    /// `OutOfMemory` when the stack or the task cannot be allocated.
    pub(super) fn new_thread(
        pid: Pid,
        name: &str,
        cpu: usize,
        killable: bool,
        entry: extern "C" fn(u64) -> !,
        arg: u64,
    ) -> Result<Arc<Self>, SpawnError> {
        let stack = VmapStack::alloc().map_err(|_| SpawnError::OutOfMemory)?;
        let range = stack.range();
        // The user frame sits above everything the task's kernel code pushes.
        let top = range.high - size_of::<TrapFrame>() as u64;
        let task = Arc::try_new(Self::new(pid, name, cpu, killable, Some(stack), range))
            .map_err(|_| SpawnError::OutOfMemory)?;
        // SAFETY: nothing else can see the task yet.
        unsafe { *task.context.get() = CpuContext::new_task(top, entry, arg) };
        Ok(task)
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The name as Linux's `char comm[TASK_COMM_LEN]` holds it, NUL-padded (what trace
    /// events record, without checking the text again).
    #[inline(always)]
    pub fn comm(&self) -> [u8; super::format::TASK_COMM_LEN] {
        self.name().to_comm()
    }

    /// Its name now (`task.name().as_str()` for the text).
    #[inline(always)]
    pub fn name(&self) -> Comm {
        let [lo, hi] = &self.name;
        Comm::from_parts(
            [lo.load(Ordering::Relaxed), hi.load(Ordering::Relaxed)],
            self.name_len.load(Ordering::Relaxed),
        )
    }

    /// Renames the task (Linux: `__set_task_comm`, which `execve` calls with the program's
    /// basename). Cut to [`TASK_COMM_LEN`](super::format::TASK_COMM_LEN) - 1 bytes.
    pub fn set_name(&self, name: &str) {
        let (words, len) = Comm::new(name).to_parts();
        // Shortest first: a racing reader never reads past the bytes of either name.
        self.name_len.fetch_min(len, Ordering::Relaxed);
        self.name[0].store(words[0], Ordering::Relaxed);
        self.name[1].store(words[1], Ordering::Relaxed);
        self.name_len.store(len, Ordering::Release);
    }

    /// `jiffies` when the task was created.
    pub fn start_jiffies(&self) -> u64 {
        self.start_jiffies
    }

    /// The CPU the task runs on, always.
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    pub fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(super) fn set_state(&self, state: TaskState) {
        self.state.store(state as u8, Ordering::SeqCst);
    }

    pub fn is_idle(&self) -> bool {
        self.pid == IDLE_PID
    }

    pub fn killable(&self) -> bool {
        self.killable
    }

    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// A signal ends its interruptible sleeps: it was killed, has a SIGINT pending, or (a user
    /// task) has a pending signal it does not block.
    pub fn signal_pending(&self) -> bool {
        self.killed()
            || self.sigint.load(Ordering::Acquire)
            || self.sig_deliverable() != 0
            || self.ptrace_trap.load(Ordering::Acquire)
    }

    /// Marks (or clears) a trap its tracer asked for ([`Self::ptrace_trap`]'s field); the
    /// tracer wakes it from an interruptible sleep after marking.
    pub fn set_ptrace_trap(&self, on: bool) {
        self.ptrace_trap.store(on, Ordering::Release);
    }

    /// Its pending signals that it does not block (bit `signo - 1`).
    pub fn sig_deliverable(&self) -> u64 {
        self.sig_pending.load(Ordering::Acquire) & !self.sig_blocked.load(Ordering::Acquire)
    }

    pub fn sig_pending(&self) -> u64 {
        self.sig_pending.load(Ordering::Acquire)
    }

    /// Marks signal bits pending; the caller wakes the task.
    pub fn sig_raise(&self, bits: u64) {
        self.sig_pending.fetch_or(bits, Ordering::AcqRel);
    }

    /// Takes signal bits off the pending set; whether any was pending.
    pub fn sig_take(&self, bits: u64) -> bool {
        self.sig_pending.fetch_and(!bits, Ordering::AcqRel) & bits != 0
    }

    pub fn sig_blocked(&self) -> u64 {
        self.sig_blocked.load(Ordering::Acquire)
    }

    /// Sets the blocked mask (the running task only).
    pub fn set_sig_blocked(&self, mask: u64) {
        self.sig_blocked.store(mask, Ordering::Release);
    }

    /// [`Self::signal_pending`] for the running task's return to user space, with relaxed
    /// loads: only whether the flags are visible matters there, nothing is read after them.
    #[inline(always)]
    pub fn exit_to_user_work(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
            || self.sigint.load(Ordering::Relaxed)
            || self.sig_pending.load(Ordering::Relaxed) & !self.sig_blocked.load(Ordering::Relaxed)
                != 0
    }

    pub(super) fn set_sigint(&self, pending: bool) -> bool {
        self.sigint.swap(pending, Ordering::AcqRel)
    }

    pub(super) fn set_killed(&self) {
        self.killed.store(true, Ordering::Release);
    }

    pub fn has_exited(&self) -> bool {
        self.exited.load(Ordering::Acquire)
    }

    pub(super) fn set_exited(&self) {
        self.exited.store(true, Ordering::Release);
    }

    pub fn nr_switches(&self) -> u64 {
        self.nr_switches.load(Ordering::Relaxed)
    }

    /// Charges `cycles` of CPU time to the task, as user (EL0) or system time.
    pub fn account_cputime(&self, user: bool, cycles: u64) {
        self.cputime[usize::from(!user)].fetch_add(cycles, Ordering::Relaxed);
    }

    /// Its user and system time so far, in counter cycles.
    pub fn cputime(&self) -> (u64, u64) {
        (
            self.cputime[0].load(Ordering::Relaxed),
            self.cputime[1].load(Ordering::Relaxed),
        )
    }

    pub(super) fn context(&self) -> *mut CpuContext {
        self.context.get()
    }

    /// Its kernel stack (Linux: `task_stack_page` .. + `THREAD_SIZE`). Inlined: the unwinder
    /// (`noinstr`) reads it.
    #[inline(always)]
    pub fn stack_range(&self) -> StackRange {
        self.stack_range
    }

    /// The task's user registers, at the top of its kernel stack (Linux: `task_pt_regs`); None
    /// for an idle task.
    pub fn pt_regs(&self) -> Option<*mut TrapFrame> {
        self.stack.as_ref()?;
        Some((self.stack_range.high - size_of::<TrapFrame>() as u64) as *mut TrapFrame)
    }

    /// The address space to install when the task runs (null: none).
    #[inline(always)]
    pub fn mm(&self) -> *const MmContext {
        self.mm.load(Ordering::Acquire)
    }

    /// Sets the address space `__schedule` installs whenever it switches to the task (the
    /// running task installs a new one itself, with `arch::asid::switch_mm`). The caller keeps
    /// `mm` alive until it is replaced.
    pub fn set_mm(&self, mm: *const MmContext) {
        self.mm.store(mm.cast_mut(), Ordering::Release);
    }

    /// Its saved EL0 FP/SIMD state; whether the CPU's registers are newer is
    /// [`arch::fpsimd`]'s to say. Only the task itself (or the scheduler switching it) may
    /// dereference it.
    #[inline(always)]
    pub fn fpsimd_state(&self) -> *mut UserFpsimdState {
        self.fpsimd.get()
    }

    /// Its EL0 debug state: single step, breakpoints, watchpoints.
    #[inline(always)]
    pub fn debug(&self) -> &TaskDebug {
        &self.debug
    }
}

/// Every task but the idle tasks, and the task limit.
struct PidTable {
    /// In pid order.
    tasks: Vec<Arc<Task>>,
    /// Tasks in the table plus those being created (Linux: `nr_threads`).
    nr_threads: usize,
    /// The limit on `nr_threads` (Linux: `max_threads`, `/proc/sys/kernel/threads-max`).
    max_threads: u32,
    next_pid: Pid,
}

static TASKS: SpinLockIrq<PidTable> = SpinLockIrq::new(PidTable {
    tasks: Vec::new(),
    nr_threads: 0,
    max_threads: MIN_THREADS,
    next_pid: 1,
});

/// The last pid given out (pids are never reused): also the number of tasks ever created.
pub fn last_pid() -> Pid {
    TASKS.lock().next_pid - 1
}

/// Tasks that exist now, idle tasks excluded (Linux: `nr_threads`).
pub fn nr_threads() -> usize {
    TASKS.lock().tasks.len()
}

/// The task limit (`threads-max`).
pub fn max_threads() -> u32 {
    TASKS.lock().max_threads
}

/// Sets the task limit. Tasks beyond it keep running; only new ones are refused.
pub fn set_max_threads(max: u32) {
    TASKS.lock().max_threads = max;
}

/// Gives out the next pid (1 is the first task, the shell), has `make` create the task, and
/// records it. `TooManyTasks` (EAGAIN) when `threads-max` tasks exist already; `make`'s error,
/// or `OutOfMemory` when the table cannot grow. A failed creation leaves no trace but its pid.
pub(super) fn register(
    make: impl FnOnce(Pid) -> Result<Arc<Task>, SpawnError>,
) -> Result<Arc<Task>, SpawnError> {
    let pid = {
        let mut table = TASKS.lock();
        if table.nr_threads >= table.max_threads as usize {
            return Err(SpawnError::TooManyTasks);
        }
        // A slot for every task being created, so the insertion below never allocates.
        let room = table.nr_threads + 1 - table.tasks.len();
        table
            .tasks
            .try_reserve(room)
            .map_err(|_| SpawnError::OutOfMemory)?;
        table.nr_threads += 1;
        let pid = table.next_pid;
        table.next_pid += 1;
        pid
    };
    // The stack is allocated outside the lock.
    let made = make(pid);
    let mut table = TASKS.lock();
    match made {
        Ok(task) => {
            let at = table.tasks.partition_point(|t| t.pid < pid);
            table.tasks.insert(at, task.clone());
            Ok(task)
        }
        Err(error) => {
            table.nr_threads -= 1;
            Err(error)
        }
    }
}

pub(super) fn unregister(pid: Pid) {
    let task = {
        let mut table = TASKS.lock();
        let found = table.tasks.binary_search_by_key(&pid, |t| t.pid);
        found.ok().map(|at| {
            table.nr_threads -= 1;
            table.tasks.remove(at)
        })
    };
    // The last reference is dropped outside the lock (it may be a running task's).
    drop(task);
}

pub fn find_task_by_pid(pid: Pid) -> Option<Arc<Task>> {
    let table = TASKS.lock();
    let at = table.tasks.binary_search_by_key(&pid, |t| t.pid).ok()?;
    Some(table.tasks[at].clone())
}

/// Every task but the idle tasks, in pid order.
pub fn all_tasks() -> Vec<Arc<Task>> {
    TASKS.lock().tasks.clone()
}
