//! The serial shell: a prompt loop over a [`Tty`] that reads and writes the VFS, in the style
//! of busybox ash (its prompt, messages and builtins), implementing the shell contract shared
//! with the scenario tests.
//!
//! Bytes go through the [`line_editor`], lines through the [`parser`], and the words run a
//! builtin (`help ls cd pwd cat echo`) or a command the kernel registered with
//! [`register_command`].
//!
//! Output: a command's stdout streams straight to the tty as it is produced. With `>`/`>>` it
//! is collected (up to [`REDIRECT_MAX`] bytes) and handed to the file in one write; more than
//! that fails with `sh: write error: File too large` and the file gets nothing. Errors always
//! go to the tty, like stderr. The shell writes bare `"\n"`: the console adds the `"\r"`.
//!
//! Locking: a [`CommandTable`] guards its commands with a reader-writer spinlock (written at
//! init, read per command, never held while a command runs) and its notices with a spinlock
//! held only to push or take them. Neither is taken in interrupt context.

mod builtins;
pub use builtins::write_command_list;
pub mod line_editor;
pub mod parser;
pub mod procps;
#[cfg(test)]
mod tests;

use crate::fs::{self, Errno, NodeKind, Vfs, WriteMode, path};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use line_editor::{Input, LINE_MAX, LineEditor};
use parser::Redirect;
use spin::RwLock;

/// Most bytes of redirected output the shell collects for one write.
pub const REDIRECT_MAX: usize = 1 << 20;

/// The terminal the shell talks to: the kernel's PL011 console, or a scripted fake in tests.
pub trait Tty {
    /// Waits for the next input byte.
    fn read_byte(&mut self) -> u8;
    /// Writes output bytes; `"\n"` is translated to `"\r\n"` by the tty, not the shell.
    fn write_bytes(&mut self, bytes: &[u8]);

    /// A command starts in the foreground: from now until [`Tty::end_command`], Ctrl-C
    /// interrupts it (Linux's `ISIG`: SIGINT to the foreground job) instead of being input.
    fn begin_command(&mut self) {}

    /// The foreground command has returned: whether a Ctrl-C interrupted it.
    fn end_command(&mut self) -> bool {
        false
    }
}

/// The exit status of a command ended by SIGINT, as sh reports it (128 + 2).
pub const STATUS_SIGINT: i32 = 130;

/// Where the shell looks for a program named without a `/` (the `PATH` its programs get too).
pub const PATH: &str = "/bin";

/// A shell command, builtin or kernel-registered.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    /// What the user types.
    pub name: &'static str,
    /// The synopsis, name included: `"run NAME [ARGS]"`.
    pub usage: &'static str,
    /// A one-line description for `help`, lower case like a man page's NAME line.
    pub help: &'static str,
    /// Runs the command. `args` are the words after the name. Returns the exit status
    /// (0 success, 1 failure, 2 misuse).
    pub run: fn(&mut Context<'_>, &[&str]) -> i32,
}

/// What a running command sees.
pub struct Context<'a> {
    /// Standard output: the tty, or the redirection buffer. Writes to it never fail.
    pub out: &'a mut dyn fmt::Write,
    /// The tty when stdout is redirected; `None` when `out` is the tty itself.
    stderr: Option<&'a mut dyn fmt::Write>,
    cwd: &'a str,
    vfs: &'a Vfs,
    commands: &'a CommandTable,
    command: Command,
    /// Set by `cd`, applied by the shell after the command returns.
    new_cwd: Option<String>,
    /// Where a program's standard output goes instead of the tty: the target's absolute path
    /// and how it is opened (`>` or `>>`).
    redirect: Option<(&'a str, WriteMode)>,
}

impl<'a> Context<'a> {
    /// Standard error: always the tty, even when stdout is redirected.
    pub fn err(&mut self) -> &mut dyn fmt::Write {
        match &mut self.stderr {
            Some(stderr) => &mut **stderr,
            None => &mut *self.out,
        }
    }

    /// The shell's working directory, normalized (`/` or `/a/b`).
    pub fn cwd(&self) -> &'a str {
        self.cwd
    }

    /// The tree the shell works on.
    pub fn vfs(&self) -> &'a Vfs {
        self.vfs
    }

    /// The absolute form of a path argument, relative ones taken from the working directory.
    /// Not normalized: the VFS walks `.` and `..` itself, with Linux's errors.
    pub fn path(&self, arg: &str) -> String {
        path::join(self.cwd, arg)
    }

    /// The file a program run by path gets as its standard output (`prog > FILE`), if any:
    /// its absolute path and whether it is truncated or appended to.
    pub fn stdout_redirect(&self) -> Option<(&'a str, WriteMode)> {
        self.redirect
    }

    /// Prints one line on stderr: `ctx.error("run: usage: run NAME [ARGS]")`.
    pub fn error(&mut self, message: &str) {
        let _ = writeln!(self.err(), "{message}");
    }

    /// Prints `usage: USAGE` on stderr and returns the misuse status, 2:
    /// `return ctx.usage();`.
    pub fn usage(&mut self) -> i32 {
        let usage = self.command.usage;
        let _ = writeln!(self.err(), "usage: {usage}");
        2
    }
}

/// What the context of a program run by path names as its command (for `usage`).
const EXEC_COMMAND: Command = Command {
    name: "exec",
    usage: "PATH [ARGS]",
    help: "run a program",
    run: |_, _| 127,
};

/// The commands the kernel adds to the builtins. The kernel has one global table
/// ([`register_command`]); tests build their own.
pub struct CommandTable {
    commands: RwLock<Vec<Command>>,
    /// Messages from background jobs, shown before the next prompt.
    notices: spin::Mutex<Vec<String>>,
    /// Runs a program for a command word with a `/` in it (`/bin/hello`): the kernel's
    /// process spawner, or none (then such a word is "not found", as any unknown command).
    exec: spin::Once<ExecFn>,
}

/// Runs the program at the absolute path `path` with `argv` (`argv[0]` is the word typed) and
/// returns the shell's status for it.
pub type ExecFn = fn(&mut Context<'_>, &str, &[&str]) -> i32;

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandTable {
    pub const fn new() -> Self {
        Self {
            commands: RwLock::new(Vec::new()),
            notices: spin::Mutex::new(Vec::new()),
            exec: spin::Once::new(),
        }
    }

    /// Sets what runs a program named by a path (once; later calls are ignored).
    pub fn set_exec(&self, exec: ExecFn) {
        self.exec.call_once(|| exec);
    }

    /// Queues `text` (whole lines) for the shell to print before its next prompt, as a shell
    /// reports finished background jobs: never in the middle of a command's output or of a
    /// line being typed.
    pub fn notify(&self, text: String) {
        self.notices.lock().push(text);
    }

    fn take_notices(&self) -> Vec<String> {
        core::mem::take(&mut *self.notices.lock())
    }

    /// Adds a command. `EEXIST` if a builtin or another command has the name, `EINVAL` if the
    /// name is empty or has whitespace (it could not be typed as one word).
    pub fn register(&self, command: Command) -> Result<(), Errno> {
        if command.name.is_empty() || command.name.contains(char::is_whitespace) {
            return Err(Errno::EINVAL);
        }
        let mut commands = self.commands.write();
        let taken = |other: &Command| other.name == command.name;
        if builtins::BUILTINS.iter().any(taken) || commands.iter().any(taken) {
            return Err(Errno::EEXIST);
        }
        commands.push(command);
        Ok(())
    }

    /// The command called `name`, copied out so it runs without the lock.
    fn find(&self, name: &str) -> Option<Command> {
        self.commands
            .read()
            .iter()
            .find(|c| c.name == name)
            .copied()
    }

    fn all(&self) -> Vec<Command> {
        self.commands.read().clone()
    }

    /// Every command a user can type, the builtins included, sorted by name (what `help`
    /// lists).
    pub fn with_builtins(&self) -> Vec<Command> {
        let mut commands: Vec<Command> = builtins::BUILTINS.to_vec();
        commands.extend(self.all());
        commands.sort_by_key(|command| command.name);
        commands
    }
}

static COMMANDS: CommandTable = CommandTable::new();

/// Adds a kernel command to the global table (see [`CommandTable::register`]).
///
/// # Panics
///
/// If the name is taken or invalid: commands are registered once at init, so that is a bug
/// to catch at the first boot.
pub fn register_command(command: Command) {
    if let Err(errno) = COMMANDS.register(command) {
        panic!("shell: cannot register command '{}': {errno}", command.name);
    }
}

/// Queues `text` (whole lines) for the kernel's shell to print before its next prompt (see
/// [`CommandTable::notify`]).
pub fn notify(text: String) {
    COMMANDS.notify(text);
}

/// Makes the kernel's shell run programs named by a path (see [`CommandTable::set_exec`]).
pub fn set_exec(exec: ExecFn) {
    COMMANDS.set_exec(exec);
}

/// Every command of the kernel's shell, builtins included, sorted by name.
pub fn commands() -> Vec<Command> {
    COMMANDS.with_builtins()
}

/// Runs the shell on the kernel's VFS and commands until input ends (Ctrl-D on an empty line).
pub fn run(tty: &mut dyn Tty) {
    Shell::new(fs::vfs(), &COMMANDS).run(tty);
}

/// One shell session's state.
pub struct Shell<'a> {
    vfs: &'a Vfs,
    commands: &'a CommandTable,
    cwd: String,
    editor: LineEditor,
    /// The last command's exit status (`$?`).
    last_status: i32,
}

impl<'a> Shell<'a> {
    /// A session starting in `/`.
    pub fn new(vfs: &'a Vfs, commands: &'a CommandTable) -> Self {
        Self {
            vfs,
            commands,
            cwd: String::from("/"),
            editor: LineEditor::new(),
            last_status: 0,
        }
    }

    /// The working directory, normalized.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// Prompts, reads and runs lines until input ends.
    pub fn run(&mut self, tty: &mut dyn Tty) {
        let mut echo = Vec::new();
        loop {
            for notice in self.commands.take_notices() {
                tty.write_bytes(notice.as_bytes());
            }
            tty.write_bytes(self.cwd.as_bytes());
            tty.write_bytes(b" # ");
            match self.read_input(tty, &mut echo) {
                Input::Line(line) => {
                    self.execute(tty, &line);
                }
                Input::LineTooLong => {
                    print_to(
                        tty,
                        format_args!("sh: line too long (max {LINE_MAX} bytes)\n"),
                    );
                }
                Input::InvalidUtf8 => tty.write_bytes(b"sh: invalid UTF-8 in input\n"),
                Input::Interrupted => {}
                Input::EndOfInput => {
                    tty.write_bytes(b"exit\n");
                    return;
                }
            }
        }
    }

    /// Runs one line and returns its exit status (2 for a syntax error, 127 for an unknown
    /// command).
    pub fn execute(&mut self, tty: &mut dyn Tty, line: &str) -> i32 {
        let status = self.execute_line(tty, line);
        self.last_status = status;
        status
    }

    fn execute_line(&mut self, tty: &mut dyn Tty, line: &str) -> i32 {
        let parsed = match parser::parse_with_status(line, self.last_status) {
            Ok(parsed) => parsed,
            Err(error) => {
                print_to(tty, format_args!("sh: {error}\n"));
                return 2;
            }
        };
        tty.begin_command();
        let status = match parsed.redirects.split_last() {
            None => self.run_command(&parsed.words, &mut TtyWriter(tty), None, None),
            Some((target, earlier)) => self.run_redirected(tty, &parsed.words, earlier, target),
        };
        if tty.end_command() {
            // The terminal's echo of the Ctrl-C, and sh's newline after a job killed by SIGINT.
            tty.write_bytes(b"^C\n");
            return STATUS_SIGINT;
        }
        status
    }

    fn read_input(&mut self, tty: &mut dyn Tty, echo: &mut Vec<u8>) -> Input {
        loop {
            let byte = tty.read_byte();
            echo.clear();
            let input = self.editor.feed(byte, echo);
            if !echo.is_empty() {
                tty.write_bytes(echo);
            }
            if let Some(input) = input {
                return input;
            }
        }
    }

    /// Runs `words` with stdout collected for `target`. Like sh, every target is opened first
    /// in order (earlier `>` targets are truncated, which clears a trace buffer), then the
    /// command runs and the last target receives its output in one write.
    fn run_redirected(
        &mut self,
        tty: &mut dyn Tty,
        words: &[String],
        earlier: &[Redirect],
        target: &Redirect,
    ) -> i32 {
        for redirect in earlier {
            if let Err(error) = self.open_for_writing(redirect, Truncate::Now) {
                error.report(tty, redirect);
                return 1;
            }
        }
        let target_path = match self.open_for_writing(target, Truncate::WithTheWrite) {
            Ok(path) => path,
            Err(error) => {
                error.report(tty, target);
                return 1;
            }
        };
        if self.is_program(words) {
            // A program writes its descriptor 1 itself: it gets the target opened for it.
            let redirect = Some((target_path.as_str(), target.mode));
            return self.run_command(words, &mut TtyWriter(tty), None, redirect);
        }
        let mut buffer = RedirectBuffer::default();
        let status = self.run_command(words, &mut buffer, Some(&mut TtyWriter(tty)), None);
        let written = match buffer.error {
            Some(errno) => Err(errno),
            None => self
                .vfs
                .write(&target_path, buffer.data.as_bytes(), target.mode),
        };
        match written {
            Ok(()) => status,
            Err(errno) => {
                RedirectError::Write(errno).report(tty, target);
                1
            }
        }
    }

    /// Checks that a redirection target is a file, as `open(O_WRONLY|O_CREAT)` would, and
    /// returns its absolute path. A missing file is created where files can be (tmpfs); in a
    /// pseudo filesystem (tracefs, procfs) that is `EACCES`.
    fn open_for_writing(
        &self,
        redirect: &Redirect,
        truncate: Truncate,
    ) -> Result<String, RedirectError> {
        let path = path::join(&self.cwd, &redirect.path);
        match self.vfs.lookup(&path) {
            Ok(NodeKind::File { .. }) => {}
            Ok(NodeKind::Dir) => return Err(RedirectError::Create(Errno::EISDIR)),
            Err(Errno::ENOENT) => {
                let root = self.vfs.root();
                let (parent, name) = self
                    .vfs
                    .walk_parent(root, &path)
                    .map_err(RedirectError::Create)?;
                self.vfs
                    .create_regular(&parent, name, 0o644)
                    .map_err(RedirectError::Create)?;
            }
            Err(errno) => return Err(RedirectError::Create(errno)),
        }
        if truncate == Truncate::Now && redirect.mode == WriteMode::Truncate {
            self.vfs
                .write(&path, b"", WriteMode::Truncate)
                .map_err(RedirectError::Write)?;
        }
        Ok(path)
    }

    /// Whether `words` run a program (not a builtin or registered command).
    fn is_program(&self, words: &[String]) -> bool {
        words
            .first()
            .is_some_and(|name| self.program_path(name).is_some())
    }

    /// The absolute path of the program the command word `name` runs, if it runs one: a word
    /// with a `/` names its file (relative to the working directory); any other word that is
    /// not a builtin or registered command is looked up in the shell's `PATH`, [`PATH`], as
    /// sh does (builtins come first, as in busybox sh). `None` without a process spawner.
    fn program_path(&self, name: &str) -> Option<String> {
        self.commands.exec.get()?;
        if name.contains('/') {
            return Some(path::join(&self.cwd, name));
        }
        if name.is_empty() || self.find_command(name).is_some() {
            return None;
        }
        PATH.split(':').find_map(|dir| {
            let candidate = path::join(dir, name);
            matches!(self.vfs.lookup(&candidate), Ok(NodeKind::File { .. })).then_some(candidate)
        })
    }

    /// Runs a builtin or registered command; an empty line does nothing.
    fn run_command(
        &mut self,
        words: &[String],
        out: &mut dyn fmt::Write,
        mut stderr: Option<&mut dyn fmt::Write>,
        redirect: Option<(&str, WriteMode)>,
    ) -> i32 {
        let Some((name, args)) = words.split_first() else {
            return 0;
        };
        let program = self.program_path(name);
        let exec = self
            .commands
            .exec
            .get()
            .copied()
            .filter(|_| program.is_some());
        let found = match exec {
            Some(_) => None,
            None => self.find_command(name),
        };
        let Some(command) = found.or(exec.map(|_| EXEC_COMMAND)) else {
            let err: &mut dyn fmt::Write = match &mut stderr {
                Some(stderr) => *stderr,
                None => out,
            };
            let _ = writeln!(err, "sh: {name}: not found");
            return 127;
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut context = Context {
            out,
            // Re-coerced so the trait object's lifetime can shrink to the context's.
            stderr: stderr.map(|stderr| stderr as &mut dyn fmt::Write),
            cwd: &self.cwd,
            vfs: self.vfs,
            commands: self.commands,
            command,
            new_cwd: None,
            redirect,
        };
        let status = match exec {
            Some(exec) => {
                let path = program.unwrap_or_default();
                let argv: Vec<&str> = words.iter().map(String::as_str).collect();
                exec(&mut context, &path, &argv)
            }
            None => (command.run)(&mut context, &args),
        };
        if let Some(new_cwd) = context.new_cwd.take() {
            self.cwd = new_cwd;
        }
        status
    }

    fn find_command(&self, name: &str) -> Option<Command> {
        builtins::BUILTINS
            .iter()
            .find(|builtin| builtin.name == name)
            .copied()
            .or_else(|| self.commands.find(name))
    }
}

/// When a `>` target is truncated: at open for all but the last target, whose one write
/// carries the truncation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Truncate {
    Now,
    WithTheWrite,
}

/// Why a redirection failed: its target could not be opened, or refused a write.
enum RedirectError {
    Create(Errno),
    Write(Errno),
}

impl RedirectError {
    fn report(self, tty: &mut dyn Tty, redirect: &Redirect) {
        match self {
            Self::Create(errno) => {
                print_to(
                    tty,
                    format_args!("sh: can't create {}: {errno}\n", redirect.path),
                );
            }
            Self::Write(errno) => print_to(tty, format_args!("sh: write error: {errno}\n")),
        }
    }
}

fn print_to(tty: &mut dyn Tty, message: fmt::Arguments<'_>) {
    let _ = TtyWriter(tty).write_fmt(message);
}

/// Streams formatted output straight to the tty.
struct TtyWriter<'t>(&'t mut dyn Tty);

impl fmt::Write for TtyWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Collects a redirected command's output for the one write it becomes. Past
/// [`REDIRECT_MAX`] bytes, or if memory runs out, it drops everything and remembers why;
/// it never fails a write, so the command runs to its end as it would into a real file.
#[derive(Default)]
struct RedirectBuffer {
    data: String,
    error: Option<Errno>,
}

impl fmt::Write for RedirectBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.error.is_some() {
            return Ok(());
        }
        let error = if self.data.len() + s.len() > REDIRECT_MAX {
            Errno::EFBIG
        } else if self.data.try_reserve(s.len()).is_err() {
            Errno::ENOMEM
        } else {
            self.data.push_str(s);
            return Ok(());
        };
        self.error = Some(error);
        self.data = String::new();
        Ok(())
    }
}
