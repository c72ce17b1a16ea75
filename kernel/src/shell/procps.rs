//! `ps` and `kill`, the shell's view of processes and kernel tasks (Linux: procps-ng's `ps`,
//! busybox's `kill`).
//!
//! `ps` prints what procps-ng's `ps -e -o pid,ppid,psr,stat,comm` prints: a header
//! `    PID    PPID PSR STAT COMMAND`, then one row per task in pid order, from the same
//! snapshots as `/proc` ([`crate::fs::procfs::task_views`]): user processes (zombies as `Z`)
//! and kernel tasks (the shell, `run -b` workloads). Unlike Linux's, it also lists each CPU's
//! idle task, as pid 0 named `<idle>` (the tracers' name), first. `PSR` is the CPU the task
//! is bound to.
//!
//! `kill [-SIG|-s SIG|-NUM] PID...` and `kill -l [SIG...]` parse as busybox's `kill` and print
//! its messages. A user process gets the signal as from `kill(2)`; a kernel task is a kthread:
//! it ignores signals, except that `-KILL` and `-TERM` (the default) are the shell's stop
//! request, which `kill` waits on until the task has stopped.

use core::fmt::{self, Write};

/// The `ps` header (procps-ng's column widths: pids to 7 digits).
pub const PS_HEADER: &str = "    PID    PPID PSR STAT COMMAND";

/// One `ps` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PsRow<'a> {
    pub pid: u32,
    pub ppid: u32,
    pub cpu: usize,
    /// `R` running or runnable, `S` sleeping, `Z` zombie.
    pub state: char,
    pub comm: &'a str,
}

/// Writes one `ps` line, aligned under [`PS_HEADER`].
pub fn write_ps_row(out: &mut dyn Write, row: &PsRow<'_>) -> fmt::Result {
    writeln!(
        out,
        "{:>7} {:>7} {:>3} {:<4} {}",
        row.pid, row.ppid, row.cpu, row.state, row.comm
    )
}

/// What a `kill` command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillRequest<'a> {
    /// Send `signo` (0: only check) to each pid word.
    Send { signo: u32, pids: &'a [&'a str] },
    /// `kill -l`: the signal list, or each word translated (number to name, name to number).
    List(&'a [&'a str]),
}

/// Why a `kill` command line is refused: busybox's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillUsageError<'a> {
    BadSignal(&'a str),
    Usage,
}

/// Parses a signal given by name (with or without `SIG`, any case busybox takes: upper) or
/// number 0-64.
pub fn parse_signal(word: &str) -> Option<u32> {
    if let Ok(signo) = word.parse::<u32>() {
        return (signo <= crate::signal::_NSIG).then_some(signo);
    }
    crate::signal::signal_by_name(word.strip_prefix("SIG").unwrap_or(word))
}

/// Parses `kill`'s arguments: `-l [WORD...]`, `-s SIG PID...`, `-SIG PID...`, `-NUM PID...`,
/// `PID...` (SIGTERM), with `--` ending the options.
pub fn parse_kill<'a>(args: &'a [&'a str]) -> Result<KillRequest<'a>, KillUsageError<'a>> {
    let (signo, pids) = match args {
        ["-l", rest @ ..] => return Ok(KillRequest::List(rest)),
        ["-s", sig, rest @ ..] => (
            parse_signal(sig).ok_or(KillUsageError::BadSignal(sig))?,
            rest,
        ),
        ["-s"] => return Err(KillUsageError::Usage),
        ["--", rest @ ..] => (crate::signal::SIGTERM, rest),
        [option, rest @ ..] if option.len() > 1 && option.starts_with('-') => {
            let name = &option[1..];
            (
                parse_signal(name).ok_or(KillUsageError::BadSignal(name))?,
                rest,
            )
        }
        _ => (crate::signal::SIGTERM, args),
    };
    let pids = match pids {
        ["--", rest @ ..] => rest,
        _ => pids,
    };
    if pids.is_empty() {
        return Err(KillUsageError::Usage);
    }
    Ok(KillRequest::Send { signo, pids })
}

/// `kill -l`: busybox's list of the standard signals, `%2d) %s` a line.
pub fn write_signal_list(out: &mut dyn Write) -> fmt::Result {
    for signo in 1..=31 {
        if let Some(name) = crate::signal::signal_name(signo) {
            writeln!(out, "{signo:2}) {name}")?;
        }
    }
    Ok(())
}

/// `kill -l WORD`: a number's name, or a name's number; `None` for neither.
pub fn translate_signal(word: &str) -> Option<alloc::string::String> {
    use alloc::string::ToString;
    match word.parse::<u32>() {
        Ok(signo) => crate::signal::signal_name(signo).map(ToString::to_string),
        Err(_) => parse_signal(word).map(|signo| signo.to_string()),
    }
}

#[cfg(target_os = "none")]
pub use commands::init;

#[cfg(target_os = "none")]
mod commands {
    use super::*;
    use alloc::format;

    use crate::fs::procfs::task_views;
    use crate::sched::{self, KillError, Pid};
    use crate::shell::{Command, Context, register_command};
    use crate::smp::{cpu_online_mask, num_possible_cpus};

    fn cmd_ps(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
        if !args.is_empty() {
            ctx.error("ps: usage: ps");
            return 2;
        }
        let views = match task_views() {
            Ok(views) => views,
            Err(error) => {
                ctx.error(&format!("ps: {error}"));
                return 1;
            }
        };
        let _ = writeln!(ctx.out, "{PS_HEADER}");
        let idle = (0..num_possible_cpus())
            .filter(|cpu| cpu_online_mask() & (1 << cpu) != 0)
            .filter_map(sched::idle_task);
        for task in idle {
            let state = if sched::task_curr(&task) {
                'R'
            } else {
                task.state().letter()
            };
            let row = PsRow {
                pid: task.pid(),
                ppid: 0,
                cpu: task.cpu(),
                state,
                comm: sched::IDLE_NAME,
            };
            let _ = write_ps_row(ctx.out, &row);
        }
        for view in &views {
            let row = PsRow {
                pid: view.pid,
                ppid: view.ppid,
                cpu: view.cpu,
                state: view.state.letter(),
                comm: view.comm.as_str(),
            };
            let _ = write_ps_row(ctx.out, &row);
        }
        0
    }

    fn cmd_kill(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
        match parse_kill(args) {
            Ok(KillRequest::List([])) => {
                let _ = write_signal_list(ctx.out);
                0
            }
            Ok(KillRequest::List(words)) => {
                let mut status = 0;
                for word in words {
                    match translate_signal(word) {
                        Some(text) => {
                            let _ = writeln!(ctx.out, "{text}");
                        }
                        None => {
                            ctx.error(&format!("kill: bad signal name '{word}'"));
                            status = 1;
                        }
                    }
                }
                status
            }
            Ok(KillRequest::Send { signo, pids }) => send_all(ctx, signo, pids),
            Err(KillUsageError::BadSignal(name)) => {
                ctx.error(&format!("kill: bad signal name '{name}'"));
                1
            }
            Err(KillUsageError::Usage) => {
                ctx.error("kill: usage: kill [-s SIG|-SIG] PID...");
                2
            }
        }
    }

    fn send_all(ctx: &mut Context<'_>, signo: u32, pids: &[&str]) -> i32 {
        let mut status = 0;
        for word in pids {
            let Ok(pid) = word.parse::<Pid>() else {
                ctx.error(&format!("kill: bad pid '{word}'"));
                status = 1;
                continue;
            };
            if let Err(why) = send(pid, signo) {
                ctx.error(&format!("kill: can't kill pid {pid}: {why}"));
                status = 1;
            }
        }
        status
    }

    /// Sends `signo` to `pid`: a process as `kill(2)` does, a kernel task as a kthread takes
    /// it (stopped by KILL and TERM, which we wait on; other signals ignored).
    fn send(pid: Pid, signo: u32) -> Result<(), &'static str> {
        use crate::process::signal::{is_process, send_signal};
        use crate::signal::{SI_USER, SIGKILL, SIGTERM};
        const ESRCH: &str = "No such process";
        if is_process(pid) {
            let sender = sched::current().map_or(0, sched::Task::pid);
            return send_signal(pid, signo, SI_USER, sender).map_err(|_| ESRCH);
        }
        if !matches!(signo, SIGKILL | SIGTERM) {
            // Checked like kill(2): the pid must exist.
            return sched::find_task_by_pid(pid).map(|_| ()).ok_or(ESRCH);
        }
        match sched::kill(pid) {
            Ok(task) => {
                let _ = sched::join(&task);
                Ok(())
            }
            Err(KillError::NoSuchProcess) => Err(ESRCH),
            Err(KillError::NotPermitted) => Err("Operation not permitted"),
        }
    }

    pub fn init() {
        register_command(Command {
            name: "ps",
            usage: "ps",
            help: "list processes and kernel tasks: PID, PPID, PSR (CPU), STAT (R, S, Z), COMMAND",
            run: cmd_ps,
        });
        register_command(Command {
            name: "kill",
            usage: "kill [-s SIG|-SIG] PID...",
            help: "send a signal (TERM by default; -l lists them); KILL and TERM stop kernel tasks",
            run: cmd_kill,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn ps_rows_align_under_the_header() {
        let mut out = String::from(PS_HEADER);
        out.push('\n');
        let row = PsRow {
            pid: 12,
            ppid: 1,
            cpu: 3,
            state: 'S',
            comm: "sigtest",
        };
        write_ps_row(&mut out, &row).unwrap();
        assert_eq!(
            out,
            "    PID    PPID PSR STAT COMMAND\n     12       1   3 S    sigtest\n"
        );
    }

    #[test]
    fn kill_options_as_busybox() {
        use KillRequest::*;
        let send = |signo, pids| Ok(Send { signo, pids });
        assert_eq!(parse_kill(&["5"]), send(15, &["5"][..]));
        assert_eq!(parse_kill(&["-9", "5", "6"]), send(9, &["5", "6"][..]));
        assert_eq!(parse_kill(&["-KILL", "5"]), send(9, &["5"][..]));
        assert_eq!(parse_kill(&["-SIGUSR1", "5"]), send(10, &["5"][..]));
        assert_eq!(parse_kill(&["-s", "HUP", "5"]), send(1, &["5"][..]));
        assert_eq!(parse_kill(&["-s", "SIGCHLD", "5"]), send(17, &["5"][..]));
        assert_eq!(parse_kill(&["-0", "5"]), send(0, &["5"][..]));
        assert_eq!(parse_kill(&["-64", "5"]), send(64, &["5"][..]));
        assert_eq!(parse_kill(&["--", "5"]), send(15, &["5"][..]));
        assert_eq!(parse_kill(&["-l"]), Ok(List(&[][..])));
        assert_eq!(parse_kill(&["-l", "9"]), Ok(List(&["9"][..])));
    }

    #[test]
    fn kill_refusals_as_busybox() {
        use KillUsageError::*;
        assert_eq!(parse_kill(&["-FOO", "1"]), Err(BadSignal("FOO")));
        assert_eq!(parse_kill(&["-s", "FOO", "1"]), Err(BadSignal("FOO")));
        assert_eq!(parse_kill(&["-99", "1"]), Err(BadSignal("99")));
        assert_eq!(parse_kill(&["-65", "1"]), Err(BadSignal("65")));
        assert_eq!(parse_kill(&[]), Err(Usage));
        assert_eq!(parse_kill(&["-9"]), Err(Usage));
        assert_eq!(parse_kill(&["-s"]), Err(Usage));
        assert_eq!(parse_kill(&["-s", "9"]), Err(Usage));
    }

    #[test]
    fn signal_list_and_translation_as_busybox() {
        let mut out = String::new();
        write_signal_list(&mut out).unwrap();
        assert!(out.starts_with(" 1) HUP\n 2) INT\n 3) QUIT\n"));
        assert!(out.contains("\n 9) KILL\n10) USR1\n"));
        assert!(out.ends_with("30) PWR\n31) SYS\n"));
        assert_eq!(out.lines().count(), 31);
        assert_eq!(translate_signal("9").as_deref(), Some("KILL"));
        assert_eq!(translate_signal("KILL").as_deref(), Some("9"));
        assert_eq!(translate_signal("SIGTERM").as_deref(), Some("15"));
        assert_eq!(translate_signal("0"), None);
        assert_eq!(translate_signal("BOGUS"), None);
    }
}
