//! User processes (Linux: the user side of `task_struct`, `kernel/exit.c`, the EL0 return
//! loop of `arch/arm64/kernel/entry-common.c`).
//!
//! A process is a scheduler task whose body is [`run`]: it installs the address space, then
//! loops entering EL0 ([`arch::uspace::enter_user`]) and acting on why EL0 came back:
//! a syscall goes to [`crate::syscall::dispatch`], an IRQ is handled and may reschedule, any
//! other exception kills the process with the signal Linux would send
//! ([`crate::signal::signal_for_exception`]). Pending kills and Ctrl-C are checked before every
//! return to EL0. Only the process dies; the kernel and the shell carry on.
//!
//! The parent (the shell, for now) gets a [`Child`]: the task, to wait for, and the exit
//! status in Linux's `wait4` encoding once it is done. `fork`, `execve` and `wait4` come next
//! (stage 1 of the issue continues); `spawn` is the `posix_spawn` they will be built from.

pub mod mm;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::asid::MmContext;
use arch::exception::TrapFrame;
use arch::uspace::{UserExit, enter_user, handle_user_irq};
use spin::Once;

use crate::binfmt_elf;
use crate::fs::{self, Errno};
use crate::sched::{self, Pid, Task};
use crate::signal::{self, SIGINT, SIGKILL, WaitStatus};
use mm::Mm;

/// What the parent keeps of a child.
pub struct Child {
    pub task: Arc<Task>,
    status: Arc<Once<WaitStatus>>,
}

impl Child {
    /// Waits for the child to finish and returns its wait status. A Ctrl-C while waiting is
    /// passed on to the child (it owns the console), and the wait goes on.
    pub fn wait(&self) -> WaitStatus {
        while sched::join(&self.task).is_err() {
            if sched::clear_sigint() {
                sched::send_sigint(&self.task);
            }
        }
        // A child that died before setting a status was killed by the kernel.
        *self
            .status
            .get()
            .unwrap_or(&WaitStatus::signaled(SIGKILL, false))
    }
}

/// The running program's side.
pub struct Process {
    mm: Box<Mm>,
    ppid: Pid,
    /// `set_tid_address`'s pointer (Linux: `clear_child_tid`), used once threads exist.
    clear_child_tid: AtomicU64,
    status: Arc<Once<WaitStatus>>,
}

impl Process {
    pub fn mm(&self) -> &Mm {
        &self.mm
    }

    pub fn pid(&self) -> Pid {
        sched::current().map_or(0, Task::pid)
    }

    pub fn ppid(&self) -> Pid {
        self.ppid
    }

    pub fn set_clear_child_tid(&self, addr: u64) {
        self.clear_child_tid.store(addr, Ordering::Relaxed);
    }
}

/// The last path component: the task's name, as Linux's `comm` after `execve`.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Starts the program at `path` with `argv` (argv[0] included) as a child of the running
/// task. `ENOENT` for a missing file, `EACCES` for a directory or a file without plain content
/// (as Linux's `execve`),
/// `ENOEXEC` for one that is not a static AArch64 ELF, `ENOMEM`/`EAGAIN` when memory or tasks
/// run out. Nothing is left behind on failure.
pub fn spawn(path: &str, argv: &[&str]) -> Result<Child, Errno> {
    let file = fs::vfs().open(path).map_err(|error| match error {
        Errno::EISDIR => Errno::EACCES,
        other => other,
    })?;
    let data = file.bytes().ok_or(Errno::EACCES)?;
    let mm = Box::try_new(Mm::new()?).map_err(|_| Errno::ENOMEM)?;
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let envp: [&[u8]; 2] = [b"PATH=/bin", b"HOME=/"];
    let loaded = binfmt_elf::load(&mm, data, &argv, &envp, path.as_bytes())?;
    mm.set_brk_start(loaded.brk);
    let status = Arc::try_new(Once::new()).map_err(|_| Errno::ENOMEM)?;
    let process = Process {
        mm,
        ppid: sched::current().map_or(0, Task::pid),
        clear_child_tid: AtomicU64::new(0),
        status: status.clone(),
    };
    let (entry, sp) = (loaded.entry, loaded.sp);
    let task = sched::spawn(basename(path), None, true, move || run(process, entry, sp))
        .map_err(|error| error.errno())?;
    Ok(Child { task, status })
}

/// Installs `mm` (or nothing) for the running task, now and at every switch to it.
fn install_mm(task: &Task, mm: *const MmContext) {
    let flags = arch::irqflags::local_irq_save();
    task.set_mm(mm);
    // SAFETY: IRQs are masked and tasks never migrate, so this is our CPU; `mm` is null or
    // the context of the process running here, which `run` uninstalls before freeing it.
    unsafe { arch::asid::switch_mm(crate::smp::smp_processor_id(), mm) };
    arch::irqflags::local_irq_restore(flags);
}

/// The body of a process's task.
fn run(process: Process, entry: u64, sp: u64) {
    let task = sched::current_task();
    let frame_ptr = task.pt_regs().expect("a spawned task has a stack");
    // SAFETY: the frame area at the top of our own stack is ours alone; nothing else refers
    // to it while we run.
    let frame = unsafe { &mut *frame_ptr };
    *frame = TrapFrame {
        regs: [0; 31],
        sp,
        pc: entry,
        pstate: arch::uspace::USER_PSTATE,
        esr: 0,
        far: 0,
        stackframe: [0; 2],
    };
    install_mm(&task, process.mm.context());
    let status = user_loop(&task, &process, frame);
    install_mm(&task, core::ptr::null());
    process.status.call_once(|| status);
    // Dropping `process` frees the address space: it is installed nowhere now.
}

/// The signal that ends the process before it returns to EL0, if any: SIGKILL from `kill`,
/// SIGINT from the console's Ctrl-C (no handlers yet: both take their default action).
fn pending_signal(task: &Task) -> Option<WaitStatus> {
    if task.killed() {
        return Some(WaitStatus::signaled(SIGKILL, false));
    }
    if sched::clear_sigint() {
        return Some(WaitStatus::signaled(SIGINT, false));
    }
    None
}

fn user_loop(task: &Task, process: &Process, frame: &mut TrapFrame) -> WaitStatus {
    use arch::daifflags::{DAIF_PROCCTX, local_daif_restore};
    loop {
        if let Some(status) = pending_signal(task) {
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
        // SAFETY: `frame` is this task's user frame at the top of its stack, far above our
        // stack pointer; it was made with EL0t and only syscalls edit its registers; TTBR0
        // holds this process's address space (installed by `run`, reinstalled by every switch
        // back to this task).
        let exit = unsafe { enter_user(frame) };
        match exit {
            UserExit::Irq => {
                handle_user_irq(frame);
                local_daif_restore(DAIF_PROCCTX);
            }
            UserExit::Syscall => {
                local_daif_restore(DAIF_PROCCTX);
                if let Some(status) = crate::syscall::dispatch(process, frame) {
                    return status;
                }
            }
            UserExit::Exception(esr) => {
                local_daif_restore(DAIF_PROCCTX);
                let info = signal::signal_for_exception(esr);
                return WaitStatus::signaled(info.signo, false);
            }
            UserExit::Unexpected(_) => {
                local_daif_restore(DAIF_PROCCTX);
                return WaitStatus::signaled(SIGKILL, false);
            }
        }
    }
}

/// The shell's way to run a program by path: spawn it, wait, and turn its wait status into
/// sh's `$?`, printing the signal's name when one killed it (as sh does; not for SIGINT).
fn shell_exec(ctx: &mut crate::shell::Context<'_>, path: &str, argv: &[&str]) -> i32 {
    let name = argv.first().copied().unwrap_or(path);
    let child = match spawn(path, argv) {
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
    if status.if_signaled() && status.term_sig() != SIGINT {
        let _ = writeln!(ctx.err(), "{}", signal::signal_text(status.term_sig()));
    }
    status.shell_status()
}

/// Lets the shell run programs.
pub fn init() {
    crate::shell::set_exec(shell_exec);
}
