//! The shell's builtins, with busybox's messages: `cat`, `cd`, `echo`, `help`, `ls`, `pwd`.

use super::{Command, Context};
use crate::fs::{Errno, NodeKind, path};
use alloc::vec::Vec;
use core::fmt;

/// Sorted by name.
pub(super) const BUILTINS: &[Command] = &[
    Command {
        name: "cat",
        usage: "cat FILE...",
        help: "print the contents of files",
        run: cat,
    },
    Command {
        name: "cd",
        usage: "cd [DIR]",
        help: "change the working directory (default /)",
        run: cd,
    },
    Command {
        name: "echo",
        usage: "echo [-n] [ARG...]",
        help: "print the arguments (-n: without the newline)",
        run: echo,
    },
    Command {
        name: "help",
        usage: "help",
        help: "list the commands",
        run: help,
    },
    Command {
        name: "ls",
        usage: "ls [PATH...]",
        help: "list directory entries",
        run: ls,
    },
    Command {
        name: "pwd",
        usage: "pwd",
        help: "print the working directory",
        run: pwd,
    },
];

fn cat(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    if args.is_empty() {
        return ctx.usage();
    }
    let vfs = ctx.vfs();
    let mut status = 0;
    for &arg in args {
        let path = ctx.path(arg);
        let read = match vfs.lookup(&path) {
            Ok(NodeKind::File { .. }) => vfs.read(&path, ctx.out),
            Ok(NodeKind::Dir) => Err(Errno::EISDIR),
            Err(errno) => {
                let _ = writeln!(ctx.err(), "cat: can't open '{arg}': {errno}");
                status = 1;
                continue;
            }
        };
        match read {
            Ok(()) => {}
            // A blocking read (`trace_pipe`) ended by Ctrl-C: cat dies of the SIGINT quietly.
            Err(Errno::EINTR) => return super::STATUS_SIGINT,
            Err(errno) => {
                let _ = writeln!(ctx.err(), "cat: read error: {errno}");
                status = 1;
            }
        }
    }
    status
}

fn cd(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let dir = match args {
        [] => "/",
        [dir] => dir,
        _ => {
            ctx.error("sh: cd: too many arguments");
            return 1;
        }
    };
    let joined = ctx.path(dir);
    let new_cwd = match ctx.vfs().lookup(&joined) {
        Ok(NodeKind::Dir) => path::normalize(&joined),
        Ok(NodeKind::File { .. }) => Err(Errno::ENOTDIR),
        Err(errno) => Err(errno),
    };
    match new_cwd {
        Ok(new_cwd) => {
            ctx.new_cwd = Some(new_cwd);
            0
        }
        Err(errno) => {
            let _ = writeln!(ctx.err(), "sh: cd: can't cd to {dir}: {errno}");
            1
        }
    }
}

fn echo(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let options = args
        .iter()
        .take_while(|arg| is_no_newline_option(arg))
        .count();
    let mut words = args[options..].iter();
    if let Some(first) = words.next() {
        let _ = ctx.out.write_str(first);
        for word in words {
            let _ = write!(ctx.out, " {word}");
        }
    }
    if options == 0 {
        let _ = ctx.out.write_str("\n");
    }
    0
}

/// `-n`, or `-nn...` as busybox also takes.
fn is_no_newline_option(arg: &str) -> bool {
    arg.strip_prefix('-')
        .is_some_and(|flags| !flags.is_empty() && flags.bytes().all(|b| b == b'n'))
}

fn help(ctx: &mut Context<'_>, _args: &[&str]) -> i32 {
    let _ = write_command_list(ctx.out, &ctx.commands.with_builtins(), "");
    0
}

/// `help`'s table: each command's usage, padded to the longest, then its help; each line after
/// `indent` (the tracefs README indents it).
pub fn write_command_list(
    out: &mut dyn fmt::Write,
    commands: &[Command],
    indent: &str,
) -> fmt::Result {
    let width = commands
        .iter()
        .map(|command| command.usage.chars().count())
        .max()
        .unwrap_or(0);
    for Command { usage, help, .. } in commands {
        writeln!(out, "{indent}{usage:<width$}  {help}")?;
    }
    Ok(())
}

/// Like busybox `ls -1`: errors first, then file operands, then each directory's entries,
/// under a `DIR:` header when there are several operands.
fn ls(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let operands: &[&str] = if args.is_empty() { &["."] } else { args };
    let vfs = ctx.vfs();
    let mut status = 0;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for &operand in operands {
        match vfs.lookup(&ctx.path(operand)) {
            Ok(NodeKind::Dir) => dirs.push(operand),
            Ok(NodeKind::File { .. }) => files.push(operand),
            Err(errno) => {
                let _ = writeln!(ctx.err(), "ls: {operand}: {errno}");
                status = 1;
            }
        }
    }
    files.sort_unstable();
    dirs.sort_unstable();
    for file in &files {
        let _ = writeln!(ctx.out, "{file}");
    }
    let with_headers = operands.len() > 1;
    for (index, dir) in dirs.iter().enumerate() {
        if with_headers {
            let separator = if index > 0 || !files.is_empty() {
                "\n"
            } else {
                ""
            };
            let _ = writeln!(ctx.out, "{separator}{dir}:");
        }
        match vfs.list(&ctx.path(dir)) {
            Ok(entries) => {
                for entry in entries {
                    let _ = writeln!(ctx.out, "{entry}");
                }
            }
            Err(errno) => {
                let _ = writeln!(ctx.err(), "ls: {dir}: {errno}");
                status = 1;
            }
        }
    }
    status
}

fn pwd(ctx: &mut Context<'_>, _args: &[&str]) -> i32 {
    let _ = writeln!(ctx.out, "{}", ctx.cwd());
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_sorted_and_unique() {
        let names: Vec<&str> = BUILTINS.iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn echo_options() {
        assert!(is_no_newline_option("-n"));
        assert!(is_no_newline_option("-nnn"));
        assert!(!is_no_newline_option("-"));
        assert!(!is_no_newline_option("-e"));
        assert!(!is_no_newline_option("-nx"));
        assert!(!is_no_newline_option("n"));
        assert!(!is_no_newline_option("--n"));
    }
}
