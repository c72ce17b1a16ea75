//! The scheduler's shell commands: `ps`, `kill`, `wait` and `sleep`, with busybox's messages;
//! and `/proc/sys/kernel/threads-max`, the task limit.

use alloc::format;
use alloc::vec::Vec;

use super::format::{
    PS_HEADER, PsRow, default_max_threads, parse_duration_ms, parse_signal, parse_threads_max,
    write_ps_row,
};
use super::{
    KillError, Pid, THREAD_SIZE, TaskState, all_tasks, find_task_by_pid, idle_task, join, kill,
    max_threads, msleep, set_max_threads, task_curr,
};
use crate::fs::{self, Errno};
use crate::println;
use crate::shell::{Command, Context, register_command};
use crate::smp::{cpu_online_mask, num_possible_cpus};

fn state_letter(task: &super::Task) -> char {
    // The running task is R even while it is between marking itself asleep and switching.
    if task_curr(task) {
        TaskState::Running.letter()
    } else {
        task.state().letter()
    }
}

fn cmd_ps(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    if !args.is_empty() {
        ctx.error("ps: usage: ps");
        return 2;
    }
    let idle = (0..num_possible_cpus())
        .filter(|cpu| cpu_online_mask() & (1 << cpu) != 0)
        .filter_map(idle_task);
    let tasks: Vec<_> = idle.chain(all_tasks()).collect();
    let _ = writeln!(ctx.out, "{PS_HEADER}");
    for task in &tasks {
        let row = PsRow {
            pid: task.pid(),
            cpu: task.cpu(),
            state: state_letter(task),
            name: task.name(),
        };
        let _ = write_ps_row(ctx.out, &row);
    }
    0
}

/// `kill [-SIG] PID...`: a user process gets the signal as from Linux's `kill(2)` (any
/// signal, returning at once); a kernel task (a `run -b` workload) is a kthread that ignores
/// signals except the stop request of -KILL and -TERM (the default), and the command waits for
/// it to stop.
fn cmd_kill(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let (signo, pids) = match args.split_first() {
        Some((option, rest)) if option.starts_with('-') => match parse_signal(option) {
            Some(signo) => (signo, rest),
            None => {
                ctx.error(&format!("kill: bad signal name '{}'", &option[1..]));
                return 1;
            }
        },
        _ => (crate::signal::SIGTERM, args),
    };
    if pids.is_empty() {
        ctx.error("kill: usage: kill [-SIG] PID...");
        return 2;
    }
    let mut status = 0;
    for word in pids {
        let Ok(pid) = word.parse::<Pid>() else {
            ctx.error(&format!("kill: bad pid '{word}'"));
            status = 1;
            continue;
        };
        if crate::process::signal::is_process(pid) {
            let sender = crate::sched::current().map_or(0, |t| t.pid());
            match crate::process::signal::send_signal(pid, signo, crate::signal::SI_USER, sender) {
                Ok(()) => continue,
                Err(_) => {
                    ctx.error(&format!("kill: can't kill pid {pid}: No such process"));
                    status = 1;
                    continue;
                }
            }
        }
        let stops = matches!(signo, crate::signal::SIGKILL | crate::signal::SIGTERM);
        let why = match kill_kernel_task(pid, stops) {
            Ok(()) => continue,
            Err(KillError::NoSuchProcess) => "No such process",
            Err(KillError::NotPermitted) => "Operation not permitted",
        };
        ctx.error(&format!("kill: can't kill pid {pid}: {why}"));
        status = 1;
    }
    status
}

/// Stops kernel task `pid` if `stops` (like kthread_stop, returning once it has stopped);
/// other signals are ignored by kernel tasks, once the pid is known to exist.
fn kill_kernel_task(pid: Pid, stops: bool) -> Result<(), KillError> {
    if !stops {
        return find_task_by_pid(pid)
            .map(|_| ())
            .ok_or(KillError::NoSuchProcess);
    }
    let task = kill(pid)?;
    let _ = join(&task);
    Ok(())
}

fn cmd_wait(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let mut jobs = Vec::new();
    if args.is_empty() {
        jobs.extend(all_tasks().into_iter().filter(|t| t.killable()));
    }
    let mut status = 0;
    for word in args {
        match word.parse::<Pid>().ok().and_then(find_task_by_pid) {
            Some(task) if task.killable() => jobs.push(task),
            _ => {
                ctx.error(&format!(
                    "sh: wait: pid {word} is not a child of this shell"
                ));
                status = 127;
            }
        }
    }
    for task in jobs {
        let _ = join(&task);
    }
    status
}

fn cmd_sleep(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let [operand] = args else {
        ctx.error("sleep: usage: sleep N[.FRAC][s|m|h|d]");
        return 2;
    };
    let Some(ms) = parse_duration_ms(operand) else {
        ctx.error(&format!("sleep: invalid number '{operand}'"));
        return 1;
    };
    match msleep(ms) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Sets the task limit from the heap's size, as Linux does from RAM at boot, and creates
/// `/proc/sys/kernel/threads-max` to read and change it.
fn init_threads_max() {
    let (used, free) = crate::heap::usage();
    set_max_threads(default_max_threads(used + free, THREAD_SIZE));
    let file = fs::read_write(
        |out| Ok(writeln!(out, "{}", max_threads())?),
        |data, _| {
            set_max_threads(parse_threads_max(data).ok_or(Errno::EINVAL)?);
            Ok(())
        },
    );
    if let Err(e) = fs::register_file("/proc/sys/kernel/threads-max", file) {
        println!("sched: cannot create /proc/sys/kernel/threads-max: {e:?}");
    }
}

pub(super) fn init() {
    init_threads_max();
    register_command(Command {
        name: "ps",
        usage: "ps",
        help: "list tasks: PID, CPU, STATE (R running or runnable, S sleeping), NAME",
        run: cmd_ps,
    });
    register_command(Command {
        name: "kill",
        usage: "kill [-9|-15] PID...",
        help: "stop background tasks, waiting until they have stopped",
        run: cmd_kill,
    });
    register_command(Command {
        name: "wait",
        usage: "wait [PID...]",
        help: "wait for background tasks to finish (all of them by default)",
        run: cmd_wait,
    });
    register_command(Command {
        name: "sleep",
        usage: "sleep N[.FRAC][s|m|h|d]",
        help: "sleep for N seconds, letting other tasks run",
        run: cmd_sleep,
    });
}
