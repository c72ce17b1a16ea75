//! The scheduler's shell commands: `wait` and `sleep`, with busybox's messages; and
//! `/proc/sys/kernel/threads-max`, the task limit. (`ps` and `kill` are the shell's
//! `procps`.)

use alloc::format;
use alloc::vec::Vec;

use super::format::{default_max_threads, parse_duration_ms, parse_threads_max};
use super::{
    Pid, THREAD_SIZE, all_tasks, find_task_by_pid, join, max_threads, msleep, set_max_threads,
};
use crate::fs::{self, Errno};
use crate::println;
use crate::shell::{Command, Context, register_command};

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
