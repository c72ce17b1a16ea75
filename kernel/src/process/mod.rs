//! User processes (Linux: the user side of `task_struct`, `kernel/exit.c`, the EL0 return
//! loop of `arch/arm64/kernel/entry-common.c`).
//!
//! A process is a scheduler task whose body is [`run`]: it installs the address space, then
//! loops entering EL0 ([`arch::uspace::enter_user`]) and acting on why EL0 came back:
//! a syscall goes to [`crate::syscall::invoke_syscall`] (on the vector's `svc` fast path, see
//! [`el0_svc_handler`], which comes back here only when there is work before EL0), an IRQ is
//! handled and may reschedule, any other exception raises the signal Linux would send
//! ([`signal::force_sig_fault`]). Pending signals are delivered before every return to EL0
//! ([`signal::do_signal`]): a handler's frame, a default action that may end or stop the
//! process, and the restart (or `EINTR`) of a syscall that returned a restart code.
//! Only the process dies; the kernel and the shell carry on. Its FP/SIMD registers are
//! reloaded on that path too when another task's were loaded meanwhile ([`arch::fpsimd`]).
//!
//! Every process has an entry in the process table ([`ProcShared`]: pid, parent, exit status)
//! from its creation until its parent reaps it: `exit` leaves a zombie, `wait4` reaps it, and a
//! dying process's children are re-parented to pid 1. The shell (pid 1, a kernel task) starts
//! programs with [`spawn`] and reaps them through [`Child::wait`], orphans included (and
//! its zombie children whenever the table is looked at: [`processes`], [`find_process`]). User
//! processes make more with `fork` ([`fork`], a full copy of the address space, no
//! copy-on-write yet) and replace their image with `execve` ([`execve`]), which renames the
//! task after the program and records its path and arguments ([`ExecInfo`]) for `/proc`; the
//! process table also lends `/proc` readers the address space ([`ProcShared::mm`]).
//!
//! A traced process ([`crate::ptrace`]) makes its ptrace stops on this same way back to EL0,
//! and its tracer's `wait4` finds it here too: the tracer sees its stops and, first, its exit
//! ([`wait4`]). While its tracer asks for syscall stops, its syscalls leave the `svc` fast path
//! (`user_loop` enters EL0 without a context for it) and go through the stops in the loop.

pub mod debug;
pub mod mm;
pub mod pgrp;
pub mod signal;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use arch::asid::MmContext;
use arch::exception::TrapFrame;
use arch::fpsimd::UserFpsimdState;
use arch::spinlock::SpinLockIrq;
use arch::uspace::{UserExit, enter_user_debug, handle_user_irq};
use spin::Once;

use crate::binfmt_elf;
use crate::fs::file::File;
use crate::fs::{self, Errno};
use crate::sched::wait::WaitQueue;
use crate::sched::{self, Pid, Task};
use crate::signal::{SIGINT, SIGKILL, WaitStatus};
use mm::Mm;

/// The pid orphans are given to (the console shell).
pub use crate::signal::INIT_PID;

/// What a process runs, for `/proc/PID/{exe,cmdline}` (Linux: `mm->exe_file` and the
/// argument area): set by `execve`.
pub struct ExecInfo {
    /// The program's path as `execve` got it.
    pub path: String,
    /// The program file's own path, symlinks resolved (`/bin/busybox` for `/bin/sh`): what
    /// `/proc/PID/exe` points at and `maps` names.
    pub exe: String,
    /// The arguments, each ended by a NUL.
    pub argv: Vec<u8>,
}

impl ExecInfo {
    /// `ENOMEM` if the copies cannot be allocated.
    fn new(path: &str, argv: &[&[u8]]) -> Result<Arc<Self>, Errno> {
        let mut copy = String::new();
        copy.try_reserve(path.len()).map_err(|_| Errno::ENOMEM)?;
        copy.push_str(path);
        let vfs = fs::vfs();
        let exe = match vfs.real_path(vfs.root(), path) {
            Ok(exe) => exe,
            Err(Errno::ENOMEM) => return Err(Errno::ENOMEM),
            // Gone already, or a test's image without a file: the path as given.
            Err(_) => {
                let mut exe = String::new();
                exe.try_reserve(path.len()).map_err(|_| Errno::ENOMEM)?;
                exe.push_str(path);
                exe
            }
        };
        let mut args = Vec::new();
        let len = argv.iter().map(|a| a.len() + 1).sum();
        args.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
        for arg in argv {
            args.extend_from_slice(arg);
            args.push(0);
        }
        Arc::try_new(Self {
            path: copy,
            exe,
            argv: args,
        })
        .map_err(|_| Errno::ENOMEM)
    }

    /// The name the program's task takes (`comm`): the path's last component.
    pub fn comm(&self) -> &str {
        basename(&self.path)
    }
}

/// A process as its parent and the process table see it.
///
/// `repr(C)`, so the fields read on the `svc` fast path (`getppid`) stay first, within an
/// immediate offset of the pointer, ahead of the large signal and ptrace state.
#[repr(C)]
pub struct ProcShared {
    pid: AtomicU32,
    ppid: AtomicU32,
    /// Set once, when it exits: a zombie until reaped.
    status: Once<WaitStatus>,
    /// Its children wake it here when they exit (its `wait4` sleeps on it).
    child_exit: WaitQueue,
    /// Its signal actions and pending signals' `siginfo`.
    sighand: SpinLockIrq<signal::SigHand>,
    /// What it runs: replaced by `execve`.
    exec: SpinLockIrq<Arc<ExecInfo>>,
    /// Its address space while it runs, for `/proc` readers (Linux's `get_task_mm`); `None`
    /// once it has exited.
    mm: SpinLockIrq<Option<Arc<Mm>>>,
    /// Its process group and session ([`pgrp`]); a group of 0 is its own pid, filled in with
    /// the pid ([`start`]).
    pgid: AtomicU32,
    sid: AtomicU32,
    /// Its resource limits (Linux: `signal->rlim`), inherited by `fork`.
    rlimits: SpinLockIrq<crate::rlimit::RLimits>,
    /// Set when it execs or exits: a parent that `vfork`ed it sleeps on `vfork_done` until then
    /// (Linux: `vfork_done`).
    released: AtomicBool,
    vfork_done: WaitQueue,
    /// Signals sent to its group before its pid was known ([`pgrp::send_group`]), raised when
    /// it starts.
    birth_signals: AtomicU64,
}

impl ProcShared {
    fn new(
        ppid: Pid,
        sighand: signal::SigHand,
        exec: Arc<ExecInfo>,
        mm: &Arc<Mm>,
    ) -> Result<Arc<Self>, Errno> {
        Arc::try_new(Self {
            pid: AtomicU32::new(0),
            ppid: AtomicU32::new(ppid),
            status: Once::new(),
            child_exit: WaitQueue::new(),
            sighand: SpinLockIrq::new(sighand),
            exec: SpinLockIrq::new(exec),
            mm: SpinLockIrq::new(Some(mm.clone())),
            pgid: AtomicU32::new(0),
            // The console shell (pid 1) leads the one session the console has.
            sid: AtomicU32::new(INIT_PID),
            rlimits: SpinLockIrq::new(crate::rlimit::RLimits::init(sched::max_threads())),
            released: AtomicBool::new(false),
            vfork_done: WaitQueue::new(),
            birth_signals: AtomicU64::new(0),
        })
        .map_err(|_| Errno::ENOMEM)
    }

    /// It has exec'd or exited: a `vfork`ing parent may go on.
    fn release_vfork(&self) {
        self.released.store(true, Ordering::Release);
        self.vfork_done.wake_up();
    }

    pub fn pid(&self) -> Pid {
        self.pid.load(Ordering::Acquire)
    }

    pub fn ppid(&self) -> Pid {
        self.ppid.load(Ordering::Acquire)
    }

    /// Its `RLIMIT_NOFILE` soft limit: the first descriptor number it may not open.
    pub fn nofile_limit(&self) -> usize {
        let limit = self
            .rlimits
            .lock()
            .get(crate::rlimit::RLIMIT_NOFILE as u64)
            .map_or(fs::fdtable::NR_OPEN_DEFAULT as u64, |limit| limit.cur);
        usize::try_from(limit).unwrap_or(usize::MAX)
    }

    /// Its resource limits.
    pub fn rlimits(&self) -> &SpinLockIrq<crate::rlimit::RLimits> {
        &self.rlimits
    }

    /// What it runs now.
    pub fn exec(&self) -> Arc<ExecInfo> {
        self.exec.lock().clone()
    }

    /// Its address space, `None` once it has exited.
    pub fn mm(&self) -> Option<Arc<Mm>> {
        self.mm.lock().clone()
    }

    /// Its wait status once it has exited (a zombie), `None` while it runs.
    pub fn exit_status(&self) -> Option<WaitStatus> {
        self.status.get().copied()
    }

    /// The signals it ignores and those it catches (bit `signo - 1`).
    pub fn sig_actions(&self) -> (u64, u64) {
        self.sighand.lock().ignored_and_caught()
    }

    /// Its signal state, job control and ptrace state, under one lock.
    pub(crate) fn sighand(&self) -> &SpinLockIrq<signal::SigHand> {
        &self.sighand
    }

    /// Whether its children leave no zombie: SIGCHLD ignored or `SA_NOCLDWAIT`, unless it is
    /// pid 1 (the shell, which reaps its orphans itself).
    fn reaps_children_at_once(&self) -> bool {
        self.pid() != INIT_PID && self.sighand.lock().autoreaps_children()
    }

    /// The pid of its tracer, 0 when it is not traced (`TracerPid:`).
    pub fn tracer_pid(&self) -> Pid {
        self.sighand.lock().ptrace.tracer
    }

    /// Whether it sleeps in a ptrace stop (`t (tracing stop)`).
    pub fn ptrace_stopped(&self) -> bool {
        self.sighand.lock().ptrace.stopped
    }
}

/// Reaps pid 1's zombie children whose task is gone: pid 1 (the shell, a kernel task) never
/// calls `wait4`, and Linux's init reaps its orphans as soon as they die. Zombies whose task
/// is still finishing stay until then, so their pid is never taken for a kernel task's.
fn reap_init_zombies(table: &mut Vec<Arc<ProcShared>>) {
    table.retain(|p| {
        p.ppid() != INIT_PID
            || p.status.get().is_none()
            || sched::find_task_by_pid(p.pid()).is_some()
            // A tracer reaps it first.
            || p.sighand.lock().ptrace.traced()
    });
}

/// Every process not yet reaped, zombies included, in pid order: what `/proc` lists.
/// `ENOMEM` if the list cannot be allocated.
pub fn processes() -> Result<Vec<Arc<ProcShared>>, Errno> {
    let mut list = Vec::new();
    {
        let mut table = TABLE.lock();
        reap_init_zombies(&mut table);
        list.try_reserve(table.len()).map_err(|_| Errno::ENOMEM)?;
        list.extend(table.iter().filter(|p| p.pid() != 0).cloned());
    }
    list.sort_unstable_by_key(|p| p.pid());
    Ok(list)
}

/// The process `pid` (a zombie included), if there is one.
pub fn find_process(pid: Pid) -> Option<Arc<ProcShared>> {
    let mut table = TABLE.lock();
    reap_init_zombies(&mut table);
    table.iter().find(|p| p.pid() == pid).cloned()
}

/// Every process not yet reaped.
static TABLE: SpinLockIrq<Vec<Arc<ProcShared>>> = SpinLockIrq::new(Vec::new());

/// Enters `shared` in the table, before its task exists: its children may exit and look for it
/// as soon as it runs. Its pid is filled in once the task is made ([`start`]).
///
/// A forked child is entered only if no group signal was sent since `fork_epoch` (read when
/// the fork began): otherwise `EINTR`, and `clone` starts over once the parent has taken its
/// signals, as Linux's `copy_process` ends in `ERESTARTNOINTR` when a signal arrives during
/// a fork. So a signal to the parent's group either finds the child in the table or is taken
/// before the child exists.
///
/// A child a tracer auto-attached at fork is entered traced only if that tracer has not
/// exited meanwhile (its status is set under this lock before its last pass over its tracees
/// in [`exit_notify`]): otherwise it starts untraced, without the attach's SIGSTOP or trap
/// (Linux decides this under `tasklist_lock` in `ptrace_init_task`).
fn insert(shared: &Arc<ProcShared>, fork_epoch: Option<u64>) -> Result<(), Errno> {
    let mut table = TABLE.lock();
    if fork_epoch.is_some_and(|epoch| epoch != pgrp::GROUP_SIGNALS.load(Ordering::Acquire)) {
        return Err(Errno::EINTR);
    }
    table.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    {
        let mut hand = shared.sighand.lock();
        let tracer = hand.ptrace.tracer;
        if tracer != 0 && !live(&table, tracer) {
            hand.ptrace.unlink(0);
            hand.ptrace.trap_stop = false;
            shared.birth_signals.fetch_and(
                !crate::signal::sigmask(crate::signal::SIGSTOP),
                Ordering::AcqRel,
            );
        }
    }
    table.push(shared.clone());
    Ok(())
}

/// Whether process `pid` is in `table` and has not exited.
fn live(table: &[Arc<ProcShared>], pid: Pid) -> bool {
    table
        .iter()
        .any(|p| p.pid() == pid && p.status.get().is_none())
}

/// Runs `link` with the process table locked if process `pid` is alive (has not exited), and
/// `None` otherwise: how ptrace links a tracer and a tracee, so that neither can exit
/// unnoticed in between (Linux: the checks under `tasklist_lock` in `ptrace_attach` and
/// `ptrace_traceme`). `link` may take a `sighand` lock (the table's comes first).
pub(crate) fn with_live<R>(pid: Pid, link: impl FnOnce() -> R) -> Option<R> {
    let table = TABLE.lock();
    live(&table, pid).then(link)
}

/// Unlinks one process traced by `tracer` from it ([`crate::ptrace::Ptrace::unlink`]), if
/// there is one: the process and the options it was traced with (the exiting tracer's side of
/// Linux's `exit_ptrace`). A zombie that is someone else's child goes back to that parent.
pub(crate) fn untrace_one(tracer: Pid) -> Option<(Arc<ProcShared>, u32)> {
    let mut table = TABLE.lock();
    let (tracee, options) = table.iter().find_map(|p| {
        let mut hand = p.sighand.lock();
        if hand.ptrace.tracer != tracer {
            return None;
        }
        let options = hand.ptrace.options;
        hand.ptrace.unlink(0);
        Some((p.clone(), options))
    })?;
    // A zombie goes back to its real parent in the same hold (see [`give_back_locked`]).
    let given_back = match tracee.exit_status() {
        Some(status) if tracee.ppid() != tracer => give_back_locked(&mut table, &tracee, status),
        _ => None,
    };
    drop(table);
    wake_parent(given_back);
    Some((tracee, options))
}

/// The table entry of process `pid` (a zombie included).
pub fn find_shared(pid: Pid) -> Option<Arc<ProcShared>> {
    TABLE.lock().iter().find(|p| p.pid() == pid).cloned()
}

fn remove(shared: &Arc<ProcShared>) {
    TABLE.lock().retain(|p| !Arc::ptr_eq(p, shared));
}

/// What `wait4` for `which` (-1: any child) of `parent` finds.
enum Reaped {
    Zombie(Pid, WaitStatus),
    /// A stop (`WUNTRACED`) or continue (`WCONTINUED`) of a live child, reported once.
    Report(Pid, WaitStatus),
    Running,
    NoChild,
}

/// Which changes besides exits `wait4` reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitOptions {
    /// `WNOHANG`: do not sleep.
    pub nohang: bool,
    /// `WUNTRACED`: stopped children.
    pub untraced: bool,
    /// `WCONTINUED`: children continued by SIGCONT.
    pub continued: bool,
}

/// Whether `wait4(which)` looks at `p`: any process for -1, process `which` for a positive
/// one, one in group `-which` for one below -1 (the syscall turns 0 into the caller's group).
fn which_matches(p: &ProcShared, which: i64) -> bool {
    match which {
        -1 => true,
        which if which > 0 => i64::from(p.pid()) == which,
        which => i64::from(p.pgid()) == -which,
    }
}

/// What `wait4` of `waiter` finds in `p` (Linux: `wait_consider_task`).
enum Found {
    /// Neither its child nor its tracee, or nothing for this wait.
    Nothing,
    /// Its child or tracee, with nothing to report yet.
    Waiting,
    /// An exit to reap.
    Zombie,
    /// A stop or continue report (taken when `take`).
    Report(WaitStatus),
}

/// Looks at `p` for `wait4` of `waiter` with `options`: its tracer sees its ptrace stops
/// (whatever `WUNTRACED` says) and its exit first; its real parent sees its exit only once
/// no other process traces it, and its group stops (`WUNTRACED`) and continues
/// (`WCONTINUED`) as for any child. With `take`, a report is taken (reported once).
fn consider(p: &ProcShared, waiter: Pid, which: i64, options: WaitOptions, take: bool) -> Found {
    if !which_matches(p, which) {
        return Found::Nothing;
    }
    let mut hand = p.sighand.lock();
    let tracer = hand.ptrace.tracer;
    let ptrace = tracer == waiter;
    if !ptrace && p.ppid() != waiter {
        return Found::Nothing;
    }
    if p.status.get().is_some() {
        return if ptrace || tracer == 0 {
            Found::Zombie
        } else {
            Found::Waiting
        };
    }
    if ptrace {
        if take && let Some(status) = hand.ptrace.take_report() {
            return Found::Report(status);
        }
        if !take && hand.ptrace.report_ready() {
            return Found::Report(WaitStatus(0));
        }
    } else if options.untraced {
        if take && let Some(status) = hand.jobctl.wait_stopped() {
            return Found::Report(status);
        }
        if !take && hand.jobctl.wait_ready(true, false) {
            return Found::Report(WaitStatus(0));
        }
    }
    if options.continued {
        if take && let Some(status) = hand.jobctl.wait_continued() {
            return Found::Report(status);
        }
        if !take && hand.jobctl.wait_ready(false, true) {
            return Found::Report(WaitStatus(0));
        }
    }
    Found::Waiting
}

/// Reaps one exited child or tracee of `waiter` matching `which`, if any, else takes a stop
/// or continue report the options ask for (Linux: `wait_task_zombie`, `wait_task_stopped`,
/// `wait_task_continued`). A tracer reaping a tracee that is not its child only detaches
/// from it: the real parent is told of the exit and reaps it (Linux's `EXIT_TRACE`).
fn reap(waiter: Pid, which: i64, options: WaitOptions) -> Reaped {
    let mut table = TABLE.lock();
    let mut any = false;
    let mut zombie = None;
    for (at, p) in table.iter().enumerate() {
        match consider(p, waiter, which, options, false) {
            Found::Nothing => {}
            Found::Waiting => any = true,
            Found::Zombie => {
                zombie = Some(at);
                break;
            }
            Found::Report(_) => {
                if let Found::Report(status) = consider(p, waiter, which, options, true) {
                    return Reaped::Report(p.pid(), status);
                }
                any = true;
            }
        }
    }
    let Some(at) = zombie else {
        return if any {
            Reaped::Running
        } else {
            Reaped::NoChild
        };
    };
    let status = *table[at].status.get().unwrap_or(&WaitStatus(0));
    if table[at].ppid() == waiter {
        let zombie = table.swap_remove(at);
        drop(table);
        return Reaped::Zombie(zombie.pid(), status);
    }
    // Our tracee, someone else's child: it goes back to its parent, a zombie (or is gone at
    // once, if the parent reaps its children automatically).
    let zombie = table[at].clone();
    zombie.sighand.lock().ptrace.unlink(0);
    let given_back = give_back_locked(&mut table, &zombie, status);
    drop(table);
    wake_parent(given_back);
    Reaped::Zombie(zombie.pid(), status)
}

/// A zombie its tracer let go (reaped it, or exited) goes back to its real parent, who hears
/// of the exit now, or leaves the table at once if that parent reaps its children
/// automatically (Linux: `__ptrace_detach` and `do_notify_parent` for a dead tracee). Called
/// under the table's lock, in the hold that unlinked it from its tracer (see
/// [`notify_locked`]); the caller wakes the parent ([`wake_parent`]) once it lets go.
fn give_back_locked(
    table: &mut Vec<Arc<ProcShared>>,
    zombie: &Arc<ProcShared>,
    status: WaitStatus,
) -> Option<(Arc<ProcShared>, Option<Arc<Task>>)> {
    let parent = table.iter().find(|p| p.pid() == zombie.ppid()).cloned()?;
    if parent.reaps_children_at_once() {
        table.retain(|p| !Arc::ptr_eq(p, zombie));
    }
    let task = notify_locked(&parent, zombie.pid(), status);
    Some((parent, task))
}

/// SIGCHLD for `child`'s exit to `parent`, sent under the table's lock in the same hold that
/// makes the zombie the parent's to reap, as Linux sends it under `tasklist_lock`: a `wait4`
/// (which looks under that lock) that returns the zombie finds the signal pending already.
/// Returns the parent's task, to be dropped after the lock (it may be the last reference).
fn notify_locked(parent: &ProcShared, child: Pid, status: WaitStatus) -> Option<Arc<Task>> {
    let task = sched::find_task_by_pid(parent.pid())?;
    signal::notify_parent(parent, &task, child, status);
    Some(task)
}

/// Wakes the `wait4` of a parent told of an exit under the table's lock, once it is let go.
fn wake_parent(notified: Option<(Arc<ProcShared>, Option<Arc<Task>>)>) {
    if let Some((parent, _task)) = notified {
        parent.child_exit.wake_up();
    }
}

/// Whether `waiter` has a child or tracee matching `which` that has exited (or has a report
/// the options ask for), or none at all (`wait4`'s condition to stop sleeping).
fn wait_done(waiter: Pid, which: i64, options: WaitOptions) -> bool {
    let table = TABLE.lock();
    let mut any = false;
    for p in table.iter() {
        match consider(p, waiter, which, options, false) {
            Found::Nothing => {}
            Found::Waiting => any = true,
            Found::Zombie | Found::Report(_) => return true,
        }
    }
    !any
}

/// Records `status` for the exiting process, gives its children to pid 1 and wakes its
/// parent (or its tracer: see below). A parent that ignores SIGCHLD (or set `SA_NOCLDWAIT`)
/// gets no zombie: the process leaves the table at once, decided under the table's lock so no
/// `wait4` reaps it first.
fn exit_notify(shared: &Arc<ProcShared>, pid: Pid, status: WaitStatus) {
    // Its tracees go free (or die, with PTRACE_O_EXITKILL) before anyone hears of the exit;
    // again once its status is set (below), for those linked meanwhile: after that no link to
    // it is made ([`insert`], [`with_live`]).
    crate::ptrace::stop::exit_ptrace(pid);
    // The groups its exit leaves orphaned with a stopped member, which nothing could continue
    // any more: its children's and its own, so room for one more than its children (they
    // cannot grow now). Without that memory, no group is hung up.
    let mut hangups: Vec<Pid> = Vec::new();
    let children = TABLE.lock().iter().filter(|p| p.ppid() == pid).count();
    if hangups.try_reserve_exact(children + 1).is_ok() {
        // Decided as if it had gone (its children init's), and sent before its parent hears
        // of the exit, as Linux does. Linux decides and sends under `tasklist_lock`; sending
        // takes the table's lock here, so a `setpgid` in between can move a stopped member
        // out of reach first.
        let table = TABLE.lock();
        crate::signal::orphaned_by_exit(table.as_slice(), shared, |pgid| {
            if hangups.len() < hangups.capacity() {
                hangups.push(pgid);
            }
        });
    }
    for pgid in hangups {
        pgrp::hang_up_orphaned(pgid);
    }
    // Done with the memory it shared with a parent that `vfork`ed it (Linux: `exit_mm`, before
    // `exit_notify`).
    shared.release_vfork();
    let told = {
        let mut table = TABLE.lock();
        for child in table.iter().filter(|p| p.ppid() == pid) {
            child.ppid.store(INIT_PID, Ordering::Release);
        }
        shared.status.call_once(|| status);
        // A traced process's exit goes to its tracer first (Linux: `do_notify_parent` to
        // `tsk->parent`); its real parent hears of it once the tracer has reaped it, and only
        // an untraced one is reaped at once.
        let tracer = shared.sighand.lock().ptrace.tracer;
        let notified = if tracer != 0 { tracer } else { shared.ppid() };
        let parent = table.iter().find(|p| p.pid() == notified).cloned();
        if tracer == 0 && parent.as_ref().is_some_and(|p| p.reaps_children_at_once()) {
            table.retain(|p| !Arc::ptr_eq(p, shared));
        }
        parent.map(|parent| {
            let task = notify_locked(&parent, pid, status);
            (parent, task)
        })
    };
    crate::ptrace::stop::exit_ptrace(pid);
    wake_parent(told);
}

/// What the shell keeps of a program it started.
pub struct Child {
    pub task: Arc<Task>,
    shared: Arc<ProcShared>,
}

impl Child {
    /// Waits for the child to finish, reaps it (and any orphan that ended meanwhile, as init
    /// does) and returns its wait status. A Ctrl-C while waiting is passed on to the child (it
    /// owns the console), and the wait goes on.
    pub fn wait(&self) -> WaitStatus {
        while sched::join(&self.task).is_err() {
            // Ctrl-C: SIGINT to the foreground process group, as the tty does: the program's
            // own group (its children too, unless they moved), or the program alone if it
            // left it.
            if sched::clear_sigint() {
                let pid = self.task.pid();
                let code = crate::signal::SI_KERNEL;
                if pgrp::send_group(pid, SIGINT, code, 0).is_err() {
                    let _ = signal::send_signal(pid, SIGINT, code, 0);
                }
                // This shell has no job control to take the console back when its program
                // stops (bash would print `Stopped`): a stopped program would keep it for
                // good, so Ctrl-C continues it too, and the SIGINT takes effect.
                if self.task.state() == sched::TaskState::Stopped {
                    let cont = crate::signal::SIGCONT;
                    if pgrp::send_group(pid, cont, code, 0).is_err() {
                        let _ = signal::send_signal(pid, cont, code, 0);
                    }
                }
            }
        }
        let status = self
            .shared
            .status
            .get()
            .copied()
            .unwrap_or(WaitStatus::signaled(SIGKILL, false));
        let me = sched::current().map_or(INIT_PID, Task::pid);
        TABLE.lock().retain(|p| {
            !(Arc::ptr_eq(p, &self.shared) || p.ppid() == me && p.status.get().is_some())
        });
        status
    }
}

/// The running program's side.
pub struct Process {
    mm: Arc<Mm>,
    shared: Arc<ProcShared>,
    /// `set_tid_address`'s pointer (Linux: `clear_child_tid`), used once threads exist.
    clear_child_tid: AtomicU64,
    /// `set_robust_list`'s head (Linux: `robust_list`), walked at exit once futexes exist.
    robust_list: AtomicU64,
    /// The syndrome and address of the fault whose signal is being delivered (Linux:
    /// `thread.fault_code`, `fault_address`), for the frame's `esr_context`.
    fault: Option<(u64, u64)>,
    /// The mask `rt_sigsuspend` replaced, restored once a signal has been delivered (Linux:
    /// `saved_sigmask`).
    saved_sigmask: Option<u64>,
    /// Set by `exit`/`exit_group`: the run loop ends the process with it before EL0 runs
    /// again.
    exit_status: Option<WaitStatus>,
    /// The last syscall returned a restart code, with its original x0 (Linux's `orig_x0`):
    /// taken by [`signal::do_signal`] right after the syscall.
    restart: Option<(Errno, u64)>,
    /// How `restart_syscall` carries on a syscall that returned `ERESTART_RESTARTBLOCK`
    /// (Linux: `current->restart_block`); `None` makes it `EINTR`.
    pub restart_block: Option<RestartBlock>,
    /// The last syscall left work for the run loop (an exit, a restart): the `svc` fast path
    /// does not go straight back to EL0.
    syscall_work: bool,
    /// Its tracer resumed it with `PTRACE_SYSCALL` (a copy of the tracee's flag, refreshed at
    /// every ptrace stop): its syscalls go the slow way, through the run loop's stops.
    ptrace_syscall: bool,
    /// Its file descriptors and working directory (see [`crate::syscall::fs`]).
    pub files: fs::fdtable::FdTable<File>,
    pub cwd: Arc<fs::Inode>,
    /// The file mode creation mask (Linux: `fs->umask`), inherited by `fork`.
    umask: AtomicU32,
}

impl Process {
    pub fn mm(&self) -> &Mm {
        &self.mm
    }

    pub fn pid(&self) -> Pid {
        sched::current().map_or(0, Task::pid)
    }

    pub fn ppid(&self) -> Pid {
        self.shared.ppid()
    }

    pub fn set_clear_child_tid(&self, addr: u64) {
        self.clear_child_tid.store(addr, Ordering::Relaxed);
    }

    pub fn set_robust_list(&self, head: u64) {
        self.robust_list.store(head, Ordering::Relaxed);
    }

    /// `exit`: the process ends with `status` before EL0 runs again.
    pub fn set_exit(&mut self, status: WaitStatus) {
        self.exit_status = Some(status);
        self.syscall_work = true;
    }

    /// Whether it has called `exit`.
    pub fn exiting(&self) -> bool {
        self.exit_status.is_some()
    }

    /// The syscall being finished returned restart code `code` with `orig_x0` as its first
    /// argument: the signal path restarts it or turns it into `EINTR` before EL0 runs again.
    pub fn set_restart(&mut self, code: Errno, orig_x0: u64) {
        self.restart = Some((code, orig_x0));
        self.syscall_work = true;
    }

    /// A ptrace stop happened in the syscall being run: the run loop looks again at what the
    /// tracer asked before EL0 runs (`PTRACE_SYSCALL`, registers, a signal).
    pub fn set_syscall_work(&mut self) {
        self.syscall_work = true;
    }

    /// Whether its syscalls stop for its tracer (`PTRACE_SYSCALL`).
    pub fn ptrace_syscall(&self) -> bool {
        self.ptrace_syscall
    }

    pub fn set_ptrace_syscall(&mut self, on: bool) {
        self.ptrace_syscall = on;
    }

    /// Its entry in the process table.
    pub fn shared(&self) -> &Arc<ProcShared> {
        &self.shared
    }

    /// Whether the last syscall left work for the run loop ([`Self::set_exit`],
    /// [`Self::set_restart`]).
    #[inline(always)]
    pub fn syscall_work(&self) -> bool {
        self.syscall_work
    }

    /// `umask`: sets the mask (its permission bits) and returns the old one.
    pub fn set_umask(&self, mask: u32) -> u32 {
        self.umask.swap(mask & 0o777, Ordering::Relaxed)
    }

    pub fn umask(&self) -> u32 {
        self.umask.load(Ordering::Relaxed)
    }

    /// Its `RLIMIT_NOFILE` soft limit: the first descriptor number it may not open.
    pub fn nofile_limit(&self) -> usize {
        self.shared.nofile_limit()
    }

    /// Its resource limits.
    pub fn rlimits(&self) -> &SpinLockIrq<crate::rlimit::RLimits> {
        &self.shared.rlimits
    }
}

/// What `restart_syscall` resumes (Linux: `struct restart_block`, one variant per `fn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartBlock {
    /// A relative `nanosleep`/`clock_nanosleep`: sleep on to `deadline_ns` of the monotonic
    /// clock, writing what is left to `rem` (0: nowhere) if interrupted again.
    Nanosleep { deadline_ns: u64, rem: u64 },
    /// A `futex` wait with a timeout: wait on for the same word, value and bitset until
    /// `deadline_ns`.
    FutexWait {
        uaddr: u64,
        expected: u32,
        deadline_ns: u64,
        bitset: u32,
    },
}

/// Linux's default umask (`init_fs`).
const DEFAULT_UMASK: u32 = 0o022;

/// The last path component: the task's name, as Linux's `comm` after `execve`.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A program file and, for a file written at run time, a copy of its bytes.
type ProgramFile = (Arc<dyn fs::FileOps>, Option<Vec<u8>>);

/// The program file at `path` and, for a file written at run time, a copy of its bytes:
/// `ENOENT` if missing, `EACCES` for a directory, a file without plain content or one without
/// any execute bit (as Linux's `execve`, for root too).
fn program_file(path: &str) -> Result<ProgramFile, Errno> {
    let file = fs::vfs().open(path).map_err(|error| match error {
        Errno::EISDIR => Errno::EACCES,
        other => other,
    })?;
    if file.mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if file.bytes().is_some() {
        return Ok((file, None));
    }
    let copy = file.copy_bytes().ok_or(Errno::EACCES)??;
    Ok((file, Some(copy)))
}

/// The environment every program starts with.
const ENVP: [&[u8]; 2] = [b"PATH=/bin", b"HOME=/"];

/// A new address space holding `path`'s program, and the registers to start it with.
fn load_program(path: &str, argv: &[&[u8]], envp: &[&[u8]]) -> Result<(Arc<Mm>, TrapFrame), Errno> {
    let (file, copy) = program_file(path)?;
    let data = match &copy {
        Some(copy) => copy.as_slice(),
        None => file.bytes().ok_or(Errno::EACCES)?,
    };
    let mm = Arc::try_new(Mm::new()?).map_err(|_| Errno::ENOMEM)?;
    let loaded = binfmt_elf::load(&mm, data, argv, envp, path.as_bytes())?;
    mm.set_brk_start(loaded.brk);
    mm.map_sigpage()?;
    Ok((mm, initial_frame(loaded.entry, loaded.sp)))
}

fn initial_frame(entry: u64, sp: u64) -> TrapFrame {
    TrapFrame {
        regs: [0; 31],
        sp,
        pc: entry,
        pstate: arch::uspace::USER_PSTATE,
        esr: 0,
        far: 0,
        stackframe: [0; 2],
    }
}

/// The EL0 state a new process starts with besides its frame: TPIDR_EL0, the FP/SIMD
/// registers and the blocked signals.
struct StartState {
    tls: u64,
    fpsimd: Box<UserFpsimdState>,
    blocked: u64,
}

/// Starts a task running `process` from `frame` with `state`; returns the task.
fn start(
    name: &str,
    process: Process,
    frame: TrapFrame,
    state: StartState,
) -> Result<Arc<Task>, Errno> {
    start_with(name, process, frame, state, None, |_| {})
}

/// [`start`] for a forked child (`fork_epoch`, see [`insert`]), calling `before_run(pid)`
/// once the pid is known and before the process runs.
fn start_with(
    name: &str,
    process: Process,
    frame: TrapFrame,
    state: StartState,
    fork_epoch: Option<u64>,
    before_run: impl FnOnce(Pid),
) -> Result<Arc<Task>, Errno> {
    let StartState {
        tls,
        fpsimd,
        blocked,
    } = state;
    let shared = process.shared.clone();
    insert(&shared, fork_epoch)?;
    let body = move || {
        sched::current_task().set_sig_blocked(blocked);
        run(process, frame, tls, fpsimd)
    };
    match sched::spawn(name, None, true, body) {
        Ok(task) => {
            // A new program leads its own group (the shell's job); a forked child keeps its
            // parent's. Set before the pid, which is what the child waits for.
            let _ =
                shared
                    .pgid
                    .compare_exchange(0, task.pid(), Ordering::AcqRel, Ordering::Relaxed);
            before_run(task.pid());
            // Its parent learns the pid from our return, so nobody looks it up before this.
            // Stored under the table's lock: a group signal sent meanwhile either finds the pid
            // or leaves the signal for the child to raise once it sees its pid (`run`).
            {
                let _table = TABLE.lock();
                shared.pid.store(task.pid(), Ordering::Release);
            }
            Ok(task)
        }
        Err(error) => {
            remove(&shared);
            Err(error.errno())
        }
    }
}

/// Starts the program at `path` with `argv` (argv[0] included) as a child of the running
/// task. `ENOENT` for a missing file, `EACCES` for a directory or a file without plain content
/// (as Linux's `execve`), `ENOEXEC` for one that is not a static AArch64 ELF, `ENOMEM`/`EAGAIN`
/// when memory or tasks run out. Nothing is left behind on failure.
pub fn spawn(path: &str, argv: &[&str]) -> Result<Child, Errno> {
    spawn_with_stdio(path, argv, None, "/")
}

/// The descriptors a program the shell starts gets: 0, 1 and 2 on the console, or the
/// files given for them.
fn stdio_files(stdio: Option<[Arc<File>; 3]>) -> Result<fs::fdtable::FdTable<File>, Errno> {
    let mut files = fs::fdtable::FdTable::new();
    let stdio = match stdio {
        Some(stdio) => stdio,
        None => {
            let Ok(console) = fs::vfs().walk(fs::vfs().root(), "/dev/console", true) else {
                // No console node (a test image without /dev): no descriptors.
                return Ok(files);
            };
            let file = File::open(console, fs::file::O_RDWR)?;
            [file.clone(), file.clone(), file]
        }
    };
    for file in stdio {
        files.alloc(file, false, 0, fs::fdtable::NR_OPEN_DEFAULT)?;
    }
    Ok(files)
}

/// [`spawn`] with the given files as descriptors 0, 1 and 2 (the shell's redirections) and
/// the working directory `cwd` (the shell's).
pub fn spawn_with_stdio(
    path: &str,
    argv: &[&str],
    stdio: Option<[Arc<File>; 3]>,
    cwd: &str,
) -> Result<Child, Errno> {
    let cwd = fs::vfs().walk(fs::vfs().root(), cwd, true)?;
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let (mm, frame) = load_program(path, &argv, &ENVP)?;
    let shared = ProcShared::new(
        sched::current().map_or(0, Task::pid),
        signal::SigHand::new(),
        ExecInfo::new(path, &argv)?,
        &mm,
    )?;
    let process = Process {
        mm,
        shared: shared.clone(),
        clear_child_tid: AtomicU64::new(0),
        robust_list: AtomicU64::new(0),
        fault: None,
        saved_sigmask: None,
        exit_status: None,
        restart: None,
        restart_block: None,
        syscall_work: false,
        ptrace_syscall: false,
        files: stdio_files(stdio)?,
        cwd,
        umask: AtomicU32::new(DEFAULT_UMASK),
    };
    let fpsimd = Box::try_new(UserFpsimdState::default()).map_err(|_| Errno::ENOMEM)?;
    let state = StartState {
        tls: 0,
        fpsimd,
        blocked: 0,
    };
    let task = start(basename(path), process, frame, state)?;
    Ok(Child { task, shared })
}

/// What `clone` asks of a new process besides the copy ([`fork`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    /// The child's stack pointer (0: the parent's).
    pub stack: u64,
    /// `CLONE_SETTLS`: the child's TPIDR_EL0.
    pub tls: Option<u64>,
    /// `CLONE_CHILD_SETTID`: where the child's tid is written, in the child's memory.
    pub child_set_tid: Option<u64>,
    /// `CLONE_CHILD_CLEARTID`: the child's `clear_child_tid`.
    pub child_clear_tid: Option<u64>,
    /// `CLONE_VFORK`: the parent sleeps until the child execs or exits.
    pub vfork: bool,
    /// `CLONE_VM` (only with `CLONE_VFORK`): the child runs in the parent's address space
    /// instead of a copy, so what it writes before `execve` or `_exit` (glibc's `posix_spawn`
    /// reports a failed exec this way) is the parent's.
    pub share_vm: bool,
    /// The signal the parent gets at the child's exit (`CSIGNAL`: SIGCHLD or none); which
    /// ptrace event the fork is ([`crate::ptrace::stop::fork_event`]).
    pub exit_signal: u32,
}

/// `fork`: a child with a copy of the address space, resuming from `frame` with x0 = 0 and
/// `args` applied. Returns the child's pid once it runs (with `args.vfork`, once it has
/// exec'd or exited). `EINTR` means a group signal came during the fork and nothing was made:
/// the caller restarts the syscall after the signals ([`insert`]).
pub fn fork(parent: &mut Process, frame: &mut TrapFrame, args: CloneArgs) -> Result<Pid, Errno> {
    let epoch = pgrp::GROUP_SIGNALS.load(Ordering::Acquire);
    let mm = if args.share_vm {
        // The parent sleeps until the child execs or exits (`vfork`), so one task at a time
        // runs in it; TLB maintenance is by ASID and broadcast, wherever either runs.
        parent.mm.clone()
    } else {
        Arc::try_new(parent.mm.duplicate()?).map_err(|_| Errno::ENOMEM)?
    };
    let mut sighand = parent.shared.sighand.lock().inherit();
    // A tracer that asked for this fork's event traces the child too, from its first
    // instruction (Linux: `ptrace_init_task`).
    let event = crate::ptrace::stop::fork_event(&args);
    let traced = crate::ptrace::stop::attach_child(&parent.shared, event, &mut sighand.ptrace);
    let shared = ProcShared::new(parent.pid(), sighand, parent.shared.exec(), &mm)?;
    if traced {
        // It stops at once: SIGSTOP, or a group-stop trap when seized (set above).
        let seized = shared.sighand.lock().ptrace.seized;
        if !seized {
            shared.birth_signals.fetch_or(
                crate::signal::sigmask(crate::signal::SIGSTOP),
                Ordering::AcqRel,
            );
        }
    }
    shared.pgid.store(parent.shared.pgid(), Ordering::Relaxed);
    shared.sid.store(parent.shared.sid(), Ordering::Relaxed);
    *shared.rlimits.lock() = *parent.shared.rlimits.lock();
    let child = Process {
        mm,
        shared: shared.clone(),
        clear_child_tid: AtomicU64::new(args.child_clear_tid.unwrap_or(0)),
        robust_list: AtomicU64::new(0),
        fault: None,
        saved_sigmask: None,
        exit_status: None,
        restart: None,
        restart_block: None,
        syscall_work: false,
        ptrace_syscall: false,
        files: parent.files.try_clone()?,
        cwd: parent.cwd.clone(),
        umask: AtomicU32::new(parent.umask()),
    };
    let mut child_frame = frame.clone();
    child_frame.regs[0] = 0;
    if args.stack != 0 {
        child_frame.sp = args.stack;
    }
    let name = sched::current().map_or(sched::format::Comm::new("?"), Task::name);
    let tls = args.tls.unwrap_or_else(arch::context::tpidr_el0);
    // The child starts with the parent's FP/SIMD registers as they are now.
    let fpsimd = Box::try_new(current_fpsimd()).map_err(|_| Errno::ENOMEM)?;
    // It inherits the blocked mask too; its pending set starts empty.
    let blocked = sched::current_task().sig_blocked();
    let set_tid = args.child_set_tid;
    let child_mm: *const Mm = &*child.mm;
    // The child waits for its pid in `run` before touching its memory, and `start` stores
    // the pid last: write the tid in between, through a hook run by `start`.
    let state = StartState {
        tls,
        fpsimd,
        blocked,
    };
    let task = start_with(
        name.as_str(),
        child,
        child_frame,
        state,
        Some(epoch),
        |pid| {
            if let Some(addr) = set_tid {
                // SAFETY: the child's Mm lives in its Process, owned by its task, which does not
                // run user code (nor free the Mm) until its pid is published after this hook.
                // A bad address is ignored, as Linux's `put_user` failure is.
                let _ = unsafe { &*child_mm }.write(addr, &pid.to_le_bytes());
            }
        },
    )?;
    let pid = task.pid();
    if traced {
        crate::ptrace::stop::event(parent, frame, event, u64::from(pid));
    }
    if args.vfork {
        // Killable only: a signal to the parent waits for the child too (Linux's
        // `wait_for_vfork_done` is killable, and then the child is left to run).
        while shared
            .vfork_done
            .wait_event(|| shared.released.load(Ordering::Acquire))
            .is_err()
        {
            if sched::current_task().sig_pending() & crate::signal::sigmask(SIGKILL) != 0 {
                break;
            }
            // Another signal is pending and would end every sleep at once: let the child run.
            sched::yield_now();
        }
        crate::ptrace::stop::event(
            parent,
            frame,
            crate::ptrace::PTRACE_EVENT_VFORK_DONE,
            u64::from(pid),
        );
    }
    Ok(pid)
}

/// `execve`: replaces the running program by `path`'s. On failure the old program carries on
/// with the error; on success `frame` starts the new one.
pub fn execve(
    process: &mut Process,
    frame: &mut TrapFrame,
    path: &str,
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<(), Errno> {
    let (mm, new_frame) = load_program(path, argv, envp)?;
    let exec = ExecInfo::new(path, argv)?;
    let task = sched::current_task();
    install_mm(&task, mm.context());
    task.set_name(exec.comm());
    crate::trace::trace_sched_switch::trace_task_rename(&task);
    *process.shared.exec.lock() = exec;
    *process.shared.mm.lock() = Some(mm.clone());
    // The old address space is installed nowhere now: dropping it frees it (once a `/proc`
    // reader that holds it lets go).
    drop(core::mem::replace(&mut process.mm, mm));
    process.files.close_on_exec();
    *frame = new_frame;
    arch::context::set_tpidr_el0(0);
    // Caught signals go back to their default action; ignored ones, the mask, pending
    // signals and the job-control state stay.
    process.shared.sighand.lock().flush_handlers();
    // A new program starts with FP/SIMD registers zeroed (Linux: `fpsimd_flush_thread`).
    set_current_fpsimd(&task, &UserFpsimdState::default());
    // Hardware breakpoints and watchpoints were for the old image (Linux: `flush_thread`).
    debug::flush_ptrace_hw_breakpoint(&task);
    // A `vfork`ing parent goes on once its child has its own program.
    process.shared.release_vfork();
    Ok(())
}

/// `wait4(which, ...)` for the running process: the reaped child's pid and status (or a
/// stop or continue the options ask for), `None` with `WNOHANG` when there is nothing yet.
/// `ECHILD` without a matching child, `ERESTARTSYS` when a signal ends the wait.
pub fn wait4(
    process: &Process,
    which: i64,
    options: WaitOptions,
) -> Result<Option<(Pid, WaitStatus)>, Errno> {
    let me = process.pid();
    loop {
        match reap(me, which, options) {
            Reaped::Zombie(pid, status) | Reaped::Report(pid, status) => {
                return Ok(Some((pid, status)));
            }
            Reaped::NoChild => return Err(Errno::ECHILD),
            Reaped::Running if options.nohang => return Ok(None),
            Reaped::Running => {}
        }
        process
            .shared
            .child_exit
            .wait_event(|| wait_done(me, which, options))
            .map_err(|_| Errno::ERESTARTSYS)?;
    }
}

/// Runs the user code of `mm` from `frame` in the running task itself, as a child process of
/// it that never gets a task of its own (the getppid benchmark's way to time the syscall path
/// from a kernel command): until it exits, with its status and final registers.
pub fn run_here(mm: Mm, initial: TrapFrame) -> Result<(WaitStatus, [u64; 31]), Errno> {
    let task = sched::current_task();
    let mm = Arc::try_new(mm).map_err(|_| Errno::ENOMEM)?;
    let shared = ProcShared::new(
        task.pid(),
        signal::SigHand::new(),
        ExecInfo::new("", &[])?,
        &mm,
    )?;
    let mut process = Process {
        mm,
        shared,
        clear_child_tid: AtomicU64::new(0),
        robust_list: AtomicU64::new(0),
        fault: None,
        saved_sigmask: None,
        exit_status: None,
        restart: None,
        restart_block: None,
        syscall_work: false,
        ptrace_syscall: false,
        files: fs::fdtable::FdTable::new(),
        cwd: fs::vfs().root().clone(),
        umask: AtomicU32::new(DEFAULT_UMASK),
    };
    let frame_ptr = task.pt_regs().ok_or(Errno::EINVAL)?;
    // SAFETY: the frame area at the top of our own stack; a kernel task does not use it.
    let frame = unsafe { &mut *frame_ptr };
    *frame = initial;
    install_mm(&task, process.mm.context());
    set_current_fpsimd(&task, &UserFpsimdState::default());
    let status = user_loop(&task, &mut process, frame);
    arch::fpsimd::release(task.fpsimd_state());
    install_mm(&task, core::ptr::null());
    Ok((status, frame.regs))
}

/// The running task's EL0 FP/SIMD registers, as they are now.
pub fn current_fpsimd() -> UserFpsimdState {
    let task = sched::current_task();
    // SAFETY: the running task's own state; only it (and its CPU's scheduler, which cannot run
    // between these two lines and the read without a switch that saves it) touch it.
    unsafe {
        arch::fpsimd::preserve_current(task.fpsimd_state());
        *task.fpsimd_state()
    }
}

/// Gives the running task `state` as its EL0 FP/SIMD registers from its next return to EL0.
pub fn set_current_fpsimd(task: &Task, state: &UserFpsimdState) {
    arch::fpsimd::release(task.fpsimd_state());
    // SAFETY: the running task's own state, which no CPU register copy stands for any more.
    unsafe { *task.fpsimd_state() = *state };
}

/// Installs `mm` (or nothing) for the running task, now and at every switch to it.
fn install_mm(task: &Task, mm: *const MmContext) {
    let flags = arch::irqflags::local_irq_save();
    task.set_mm(mm);
    // SAFETY: IRQs are masked and tasks never migrate, so this is our CPU; `mm` is null or
    // the context of the process running here, which is uninstalled before it is freed.
    unsafe { arch::asid::switch_mm(crate::smp::smp_processor_id(), mm) };
    arch::irqflags::local_irq_restore(flags);
}

/// The body of a process's task.
fn run(mut process: Process, initial: TrapFrame, tls: u64, fpsimd: Box<UserFpsimdState>) {
    let task = sched::current_task();
    // Our children find us in the table by pid: wait until our creator has filled it in (it
    // does so as soon as it has our task).
    while process.shared.pid() == 0 {
        sched::yield_now();
    }
    // Signals sent to our group while we were being created (Linux makes `fork` restart
    // instead, `ERESTARTNOINTR`, so the new child is in the group before any later signal).
    let born_with = process.shared.birth_signals.swap(0, Ordering::AcqRel);
    for signo in 1..=crate::signal::_NSIG {
        if born_with & crate::signal::sigmask(signo) != 0 {
            let _ = signal::send_signal(task.pid(), signo, crate::signal::SI_KERNEL, 0);
        }
    }
    let frame_ptr = task.pt_regs().expect("a spawned task has a stack");
    // SAFETY: the frame area at the top of our own stack is ours alone; nothing else refers
    // to it while we run.
    let frame = unsafe { &mut *frame_ptr };
    *frame = initial;
    arch::context::set_tpidr_el0(tls);
    set_current_fpsimd(&task, &fpsimd);
    drop(fpsimd);
    install_mm(&task, process.mm.context());
    let status = user_loop(&task, &mut process, frame);
    crate::ptrace::stop::event(
        &mut process,
        frame,
        crate::ptrace::PTRACE_EVENT_EXIT,
        u64::from(status.0),
    );
    // The task's memory may be reused once it is gone: this CPU must not think it holds it.
    arch::fpsimd::release(task.fpsimd_state());
    install_mm(&task, core::ptr::null());
    let Process {
        mm,
        shared,
        mut files,
        ..
    } = process;
    // Its files close before the parent hears of the exit (a pipe's reader sees EOF first).
    files.close_all();
    // Installed nowhere now: the memory goes back before the parent hears of the exit (or
    // when a `/proc` reader that holds it lets go).
    shared.mm.lock().take();
    drop(mm);
    exit_notify(&shared, task.pid(), status);
}

fn user_loop(task: &Task, process: &mut Process, frame: &mut TrapFrame) -> WaitStatus {
    use arch::daifflags::{DAIF_PROCCTX, local_daif_restore};
    loop {
        // The console's Ctrl-C reached this task as a kernel flag: make it a signal.
        if sched::clear_sigint() {
            let _ = signal::send_signal(task.pid(), SIGINT, crate::signal::SI_KERNEL, 0);
        }
        if let Some(status) = signal::do_signal(task, process, frame) {
            return status;
        }
        // IRQs stay masked from this check to the ERET: a wake-up that sets need_resched
        // after it finds us at EL0 and brings us straight back.
        arch::irqflags::local_irq_disable();
        if arch::percpu::need_resched() {
            arch::irqflags::local_irq_enable();
            sched::schedule();
            continue;
        }
        // SAFETY: IRQs are masked; the running task's own state, released before it exits.
        unsafe { arch::fpsimd::restore_current(task.fpsimd_state()) };
        // A tracee stopping at its syscalls takes the slow way for them: without a context the
        // vector's `svc` fast path hands the syscall to us unrun (`UserExit::Syscall`).
        let context = if process.ptrace_syscall {
            core::ptr::null_mut()
        } else {
            core::ptr::from_mut::<Process>(process).cast::<()>()
        };
        // SAFETY: `frame` is this task's user frame at the top of its stack, far above our
        // stack pointer; it was made with EL0t and only syscalls edit its registers; TTBR0
        // holds this process's address space (installed by `run`, reinstalled by every switch
        // back to this task). `context` is our process, which `el0_svc_handler` alone uses
        // until `enter_user` returns. A task under a debugger enters with its debug state
        // and without the fast path (`debug`).
        let exit = unsafe { enter_user_debug(frame, context, task.debug()) };
        match exit {
            UserExit::Irq => {
                handle_user_irq(frame);
                local_daif_restore(DAIF_PROCCTX);
            }
            UserExit::Syscall | UserExit::SvcWork => {
                local_daif_restore(DAIF_PROCCTX);
                if exit == UserExit::Syscall {
                    if process.ptrace_syscall {
                        crate::ptrace::stop::traced_syscall(process, frame);
                    } else {
                        crate::syscall::invoke_syscall(process, frame);
                    }
                }
                process.syscall_work = false;
                if let Some(status) = process.exit_status.take() {
                    return status;
                }
            }
            UserExit::Exception(esr) => {
                local_daif_restore(DAIF_PROCCTX);
                let info = crate::signal::fault_siginfo(esr, frame.far, frame.pc);
                debug::el0_debug_exception(task, esr, frame);
                let far = match esr.ec() {
                    arch::esr::ESR_ELx_EC_DABT_LOW | arch::esr::ESR_ELx_EC_IABT_LOW => frame.far,
                    _ => 0,
                };
                signal::force_sig_fault(process, task, info, esr.0, far);
            }
            UserExit::Unexpected(_) => {
                local_daif_restore(DAIF_PROCCTX);
                return WaitStatus::signaled(SIGKILL, false);
            }
        }
    }
}

/// The `svc` fast path's handler (Linux: `el0_svc` and `exit_to_user_mode`), entered in
/// process context: runs the syscall in `frame` for the process `context`, then, with IRQs
/// masked, says whether anything must happen before EL0 runs again (1: an exit, a deliverable
/// signal, a reschedule, FP/SIMD registers to reload, which `user_loop` handles) or not (0:
/// straight back to EL0).
///
/// No patch site (two instructions less per syscall); the syscalls it calls have theirs.
///
/// # Safety
/// Called only by the vector's fast path, with the frame it saved and the context
/// `user_loop` gave `enter_user`: a live `Process` nobody else uses meanwhile.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
unsafe extern "C" fn el0_svc_handler(frame: *mut TrapFrame, context: *mut ()) -> u64 {
    // SAFETY: see the contract: the frame at the top of our stack and our process, both
    // unused by their owner (`user_loop`, inside `enter_user`) until we return.
    let (frame, process) = unsafe { (&mut *frame, &mut *context.cast::<Process>()) };
    let exiting = crate::syscall::invoke_syscall(process, frame);
    arch::irqflags::local_irq_disable();
    // A syscall that slept may have let another task load its FP/SIMD registers, and
    // rt_sigreturn and execve replace ours: the run loop reloads them.
    // One read of this CPU's per-CPU pointer for every check (each accessor would take its
    // own `mrs`); tasks never migrate, so it stays ours.
    let pcpu = crate::smp::this_cpu();
    let work = exiting
        || pcpu.arch.need_resched.load(Ordering::Relaxed)
        // SAFETY: as in `sched::current`: the running task is alive while it runs here.
        // Relaxed: only this CPU writes its own `current`, and we are its running task.
        || unsafe { pcpu.current.load(Ordering::Relaxed).as_ref() }.is_some_and(|task| {
            task.exit_to_user_work()
                || pcpu.arch.fpsimd_last_state.load(Ordering::Relaxed) != task.fpsimd_state()
        });
    u64::from(work)
}

/// The shell's way to run a program by path: spawn it, wait, and turn its wait status into
/// sh's `$?`, printing the signal's name when one killed it (as sh does; not for SIGINT).
fn shell_exec(ctx: &mut crate::shell::Context<'_>, path: &str, argv: &[&str]) -> i32 {
    let name = argv.first().copied().unwrap_or(path);
    let stdio = match ctx.stdout_redirect().map(redirected_stdio) {
        None => None,
        Some(Ok(stdio)) => Some(stdio),
        Some(Err(error)) => {
            let _ = writeln!(ctx.err(), "sh: {name}: {error}");
            return 1;
        }
    };
    let child = match spawn_with_stdio(path, argv, stdio, ctx.cwd()) {
        Ok(child) => child,
        Err(Errno::ENOENT) => {
            let _ = writeln!(ctx.err(), "sh: {name}: not found");
            return 127;
        }
        Err(error) => {
            let _ = writeln!(ctx.err(), "sh: {name}: {error}");
            return 126;
        }
    };
    let status = child.wait();
    // The shell takes the terminal back in its own modes, whatever the program left.
    crate::console::reset_tty();
    if status.if_signaled() && status.term_sig() != SIGINT {
        let _ = writeln!(
            ctx.err(),
            "{}",
            crate::signal::signal_text(status.term_sig())
        );
    }
    status.shell_status()
}

/// Descriptors 0 and 2 on the console and 1 on the file a shell redirection names.
fn redirected_stdio((path, mode): (&str, fs::WriteMode)) -> Result<[Arc<File>; 3], Errno> {
    use fs::file::{O_APPEND, O_RDWR, O_TRUNC, O_WRONLY};
    let vfs = fs::vfs();
    let console = File::open(vfs.walk(vfs.root(), "/dev/console", true)?, O_RDWR)?;
    let flags = O_WRONLY
        | match mode {
            fs::WriteMode::Truncate => O_TRUNC,
            fs::WriteMode::Append => O_APPEND,
        };
    let out = File::open(vfs.walk(vfs.root(), path, true)?, flags)?;
    Ok([console.clone(), out, console])
}

/// Lets the shell run programs.
pub fn init() {
    arch::uspace::set_svc_handler(el0_svc_handler);
    crate::shell::set_exec(shell_exec);
}
