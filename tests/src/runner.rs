//! Runs scenarios: boots a fresh machine per scenario file, plays its steps against the serial
//! shell, evaluates its checks, and keeps the transcript for the failure report. Several files
//! run in parallel, one QEMU each.
//!
//! The shell's contract this relies on (see the shell's docs): a prompt `{cwd} # ` is printed
//! after boot and after every command, input is echoed line by line, and the console turns "\n"
//! into "\r\n" (the "\r" is dropped by [`Qemu`]).

use std::fmt::{self, Write as _};
use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::hvc::HvcLink;
use crate::qemu::{Console, HvcSocket, Qemu, QemuConfig, WaitError, command_line};
use crate::script::{self, Action, Check, Scenario, Step};

/// The debugger `gdb-run:` starts.
const GDB: &str = "gdb-multiarch";
/// The target the user programs are built for (their ELF files are under it).
const USER_TARGET: &str = "aarch64-unknown-none-softfloat";

/// How long the kernel may take from QEMU's start to the first prompt.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// A prompt only counts once the console has been quiet this long, so command output that
/// happens to contain `/ # ` mid-stream is not mistaken for the prompt.
const PROMPT_SETTLE: Duration = Duration::from_millis(50);
/// The shell's line limit: a longer command is cut, so its echo is not compared.
const MAX_LINE_BYTES: usize = 4095;

/// Why a scenario failed: a line of the scenario file (0 for the boot itself) and the story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line in the scenario file; 0 when the machine failed to start or boot.
    pub line: usize,
    /// What went wrong, with the output involved.
    pub message: String,
}

/// The result of running one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `None` when every step and check passed.
    pub failure: Option<Failure>,
    /// The whole console output, control bytes made visible.
    pub transcript: String,
    /// QEMU's own stderr.
    pub stderr: String,
    /// What the guest wrote to `/dev/hvc0`, control bytes made visible (scenarios that use it).
    pub hvc_transcript: Option<String>,
    /// The QEMU command line.
    pub command_line: String,
}

/// One scenario file's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario file.
    pub path: PathBuf,
    /// Its `# description:`, if it parsed.
    pub description: String,
    /// What happened.
    pub outcome: Outcome,
    /// Wall time, boot included.
    pub elapsed: Duration,
}

impl Report {
    /// Whether every step and check passed.
    pub fn passed(&self) -> bool {
        self.outcome.failure.is_none()
    }

    /// The file name, as the one-line result shows it.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .unwrap_or(self.path.as_os_str())
            .to_string_lossy()
            .into_owned()
    }
}

impl fmt::Display for Report {
    /// The failure report: where and why, then the machine and everything it printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.outcome.failure {
            None => writeln!(f, "{path}: passed")?,
            Some(Failure { line: 0, message }) => writeln!(f, "{path}: {message}")?,
            Some(Failure { line, message }) => writeln!(f, "{path}:{line}: {message}")?,
        }
        if !self.description.is_empty() {
            writeln!(f, "description: {}", self.description)?;
        }
        if !self.outcome.command_line.is_empty() {
            writeln!(f, "machine: {}", self.outcome.command_line)?;
            writeln!(f, "---- console transcript ----")?;
            f.write_str(&self.outcome.transcript)?;
            if !self.outcome.transcript.ends_with('\n') {
                writeln!(f)?;
            }
            writeln!(f, "---- end of transcript ----")?;
        }
        if let Some(hvc) = &self.outcome.hvc_transcript {
            writeln!(f, "---- hvc0 transcript (guest to host) ----")?;
            f.write_str(hvc)?;
            if !hvc.ends_with('\n') {
                writeln!(f)?;
            }
        }
        if !self.outcome.stderr.is_empty() {
            writeln!(f, "---- qemu stderr ----")?;
            f.write_str(&self.outcome.stderr)?;
        }
        Ok(())
    }
}

/// The `*.tc` files in `dir`, sorted by name.
pub fn scenario_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "tc") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs `paths` on up to `jobs` machines at once. `on_report` sees each report as it finishes
/// (from a worker thread); the reports come back in `paths` order.
pub fn run_files(
    paths: &[PathBuf],
    config: &QemuConfig,
    jobs: usize,
    on_report: impl Fn(&Report) + Sync,
) -> Vec<Report> {
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<Option<Report>>> = Mutex::new(vec![None; paths.len()]);
    thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, paths.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(index) else { break };
                    let report = run_file(path, config);
                    on_report(&report);
                    reports
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(report);
                }
            });
        }
    });
    reports
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Parses and runs one scenario file.
pub fn run_file(path: &Path, config: &QemuConfig) -> Report {
    let started = Instant::now();
    let not_run = |line, message| Outcome {
        failure: Some(Failure { line, message }),
        transcript: String::new(),
        stderr: String::new(),
        hvc_transcript: None,
        command_line: String::new(),
    };
    let (description, outcome) = match fs::read_to_string(path) {
        Err(error) => (
            String::new(),
            not_run(0, format!("cannot read the scenario: {error}")),
        ),
        Ok(source) => match script::parse(&source) {
            Err(error) => (
                String::new(),
                not_run(error.line, format!("bad scenario: {}", error.message)),
            ),
            Ok(scenario) => (scenario.description.clone(), run(&scenario, config)),
        },
    };
    Report {
        path: path.to_path_buf(),
        description,
        outcome,
        elapsed: started.elapsed(),
    }
}

/// A Unix socket path for one machine's hvc0, unique among the runs of this process.
fn hvc_socket_path() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("scenario-hvc0-{}-{n}.sock", std::process::id()))
}

/// Boots a machine (`config` plus the scenario's `qemu:` arguments, and a virtio console on a
/// Unix socket when the scenario talks to `/dev/hvc0`) and plays `scenario` on it.
pub fn run(scenario: &Scenario, config: &QemuConfig) -> Outcome {
    let mut config = config.clone();
    config.extra_args.extend(scenario.qemu_args.iter().cloned());
    let socket = scenario.uses_hvc().then(hvc_socket_path);
    if let Some(path) = &socket {
        let _ = fs::remove_file(path);
        config.hvc = Some(HvcSocket::Unix(path.clone()));
    }
    let command = config.command(Console::Stdio);
    let command_line = command_line(&command);
    let failed = |message: String, command_line| Outcome {
        failure: Some(Failure { line: 0, message }),
        transcript: String::new(),
        stderr: String::new(),
        hvc_transcript: None,
        command_line,
    };
    let qemu = match Qemu::spawn(command, false) {
        Ok(qemu) => qemu,
        Err(error) => return failed(error.to_string(), command_line),
    };
    let mut session = Session::new(qemu);
    session.user_programs = config
        .kernel
        .parent()
        .map(|target| target.join("user").join(USER_TARGET).join("release"));
    if let Some(path) = &socket {
        match HvcLink::connect(path, BOOT_TIMEOUT) {
            Ok(link) => session.hvc = Some(link),
            Err(error) => return failed(error.to_string(), command_line),
        }
        // Connected: the name is no longer needed.
        let _ = fs::remove_file(path);
    }
    let failure = session.play(scenario).err();
    Outcome {
        failure,
        transcript: visible(&session.qemu.transcript()),
        stderr: session.qemu.stderr(),
        hvc_transcript: session.hvc.as_ref().map(|hvc| visible(&hvc.transcript())),
        command_line,
    }
}

/// The output the checks look at, split into lines.
struct StepOutput {
    /// Which step produced it, for messages: "the boot log" or "line 7 (`$ ls`)".
    origin: String,
    text: String,
    lines: Vec<String>,
    /// Where the next ordered check (`=`, `~`) starts looking.
    next_line: usize,
}

impl StepOutput {
    fn new(origin: String, bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let lines = if text.is_empty() {
            Vec::new()
        } else {
            body.split('\n').map(String::from).collect()
        };
        StepOutput {
            origin,
            text,
            lines,
            next_line: 0,
        }
    }

    /// The output for a failure message, indented, control bytes made visible.
    fn shown(&self) -> String {
        if self.text.is_empty() {
            return "    (no output)\n".into();
        }
        self.lines.iter().fold(String::new(), |mut shown, line| {
            let _ = writeln!(shown, "    | {}", visible(line.as_bytes()));
            shown
        })
    }
}

/// A machine being driven through a scenario.
struct Session {
    qemu: Qemu,
    /// The host end of `/dev/hvc0`, for scenarios that use it.
    hvc: Option<HvcLink>,
    /// Commands queued by `gdb:` for the next `gdb-run:`.
    gdb_commands: Vec<String>,
    /// Where the user programs' ELF files (with their symbols) are: target/user/.../release
    /// beside the kernel image.
    user_programs: Option<PathBuf>,
    timeout: Duration,
    output: StepOutput,
    /// The directory in the last prompt, which settles ambiguous prompts (see [`find_prompt`]).
    cwd: Option<String>,
    /// QEMU's exit status and the line during which it exited, until an `exit:` claims it.
    exit: Option<(i32, usize)>,
}

impl Session {
    fn new(qemu: Qemu) -> Self {
        Session {
            qemu,
            hvc: None,
            gdb_commands: Vec::new(),
            user_programs: None,
            timeout: script::DEFAULT_TIMEOUT,
            output: StepOutput::new("the boot log".into(), b""),
            cwd: None,
            exit: None,
        }
    }

    fn play(&mut self, scenario: &Scenario) -> Result<(), Failure> {
        self.boot()
            .map_err(|message| Failure { line: 0, message })?;
        for step in &scenario.steps {
            self.step(step).map_err(|message| Failure {
                line: step.line,
                message: format!("`{}`: {message}", step.source),
            })?;
        }
        match self.exit {
            Some((status, line)) => Err(Failure {
                line,
                message: format!(
                    "QEMU exited with status {status} here, and no `exit:` expected it"
                ),
            }),
            None => Ok(()),
        }
    }

    fn boot(&mut self) -> Result<(), String> {
        match self.read_prompt(BOOT_TIMEOUT) {
            Ok(log) => {
                self.output = StepOutput::new("the boot log".into(), &log);
                Ok(())
            }
            Err(WaitError::Timeout { .. }) => Err(format!(
                "no shell prompt within {} s of boot",
                BOOT_TIMEOUT.as_secs()
            )),
            Err(WaitError::Exited { status, .. }) => Err(format!(
                "QEMU exited with status {status} before the first prompt"
            )),
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        if let Some((status, line)) = self.exit
            && step_needs_machine(&step.action)
        {
            return Err(format!(
                "QEMU already exited with status {status} during line {line}"
            ));
        }
        let origin = format!("line {} (`{}`)", step.line, step.source);
        match &step.action {
            Action::Command(command) => self.command(command, origin, step.line),
            Action::Send(bytes) => {
                self.qemu.send(bytes);
                Ok(())
            }
            Action::Prompt => match self.read_prompt(self.timeout) {
                Ok(text) => {
                    self.output = StepOutput::new(origin, &text);
                    Ok(())
                }
                Err(error) => self.waited_in_vain(error, origin, step.line, "prompt", false),
            },
            Action::Expect(pattern) => match self.qemu.expect(pattern, self.timeout) {
                Ok(text) => {
                    self.output = StepOutput::new(origin, &text);
                    Ok(())
                }
                Err(error) => {
                    let what = format!("output matching `{pattern}`");
                    self.waited_in_vain(error, origin, step.line, &what, false)?;
                    Err(format!("QEMU exited before any output matched `{pattern}`"))
                }
            },
            Action::Exit(expected) => self.exit(*expected, origin),
            Action::HvcSend(bytes) => self
                .hvc_link()?
                .send(bytes)
                .map_err(|error| format!("writing to hvc0's socket: {error}")),
            Action::GdbCommand(command) => {
                self.gdb_commands.push(command.clone());
                Ok(())
            }
            Action::GdbRun(program) => {
                let text = self.gdb_run(program)?;
                self.output = StepOutput::new(origin, &text);
                Ok(())
            }
            Action::HvcExpect(pattern) => {
                let timeout = self.timeout;
                match self.hvc_link()?.expect(pattern, timeout) {
                    Ok(text) => {
                        self.output = StepOutput::new(origin, &text);
                        Ok(())
                    }
                    Err(no_match) => Err(format!(
                        "{} nothing on hvc0 matched `{pattern}`; received since the previous match:\n{}",
                        if no_match.closed {
                            "the socket closed and".to_string()
                        } else {
                            format!("within {} s", timeout.as_secs_f64())
                        },
                        StepOutput::new(origin, &no_match.unread).shown()
                    )),
                }
            }
            Action::Timeout(timeout) => {
                self.timeout = *timeout;
                Ok(())
            }
            Action::Check(check) => self.check(check),
        }
    }

    /// Runs gdb in batch mode on `program`'s ELF with the queued commands, relaying its remote
    /// connection (a TCP port the system picks, so parallel scenarios never collide) to hvc0.
    /// Returns what gdb printed, stdout and stderr interleaved as it wrote them.
    fn gdb_run(&mut self, program: &str) -> Result<Vec<u8>, String> {
        let commands = std::mem::take(&mut self.gdb_commands);
        let listener = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr().map(|addr| (l, addr.port())))
            .map_err(|error| format!("no TCP port for gdb: {error}"))?;
        let (listener, port) = listener;
        let elf = self.user_programs.as_ref().and_then(|dir| {
            let elf = dir.join(program.rsplit('/').next()?);
            elf.exists().then_some(elf)
        });
        let (mut output, writer) = io::pipe().map_err(|error| format!("pipe: {error}"))?;
        let mut gdb = Command::new(GDB);
        gdb.args(["-q", "-nx", "--batch"]);
        if let Some(elf) = &elf {
            gdb.arg(elf);
        }
        gdb.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
        for command in &commands {
            gdb.args(["-ex", command]);
        }
        let stderr = writer
            .try_clone()
            .map_err(|error| format!("pipe: {error}"))?;
        gdb.stdin(Stdio::null()).stdout(writer).stderr(stderr);
        let mut child = gdb
            .spawn()
            .map_err(|error| format!("could not start {GDB}: {error}"))?;
        // gdb's own output, collected until it exits and closes the pipe.
        let collected = thread::spawn(move || {
            let mut text = Vec::new();
            let _ = output.read_to_end(&mut text);
            text
        });
        drop(gdb);
        let relayed = self.relay_gdb(&listener, &mut child);
        let _ = child.kill();
        let _ = child.wait();
        let text = collected.join().unwrap_or_default();
        relayed.map_err(|error| {
            format!(
                "{error}; gdb printed:\n{}",
                StepOutput::new(String::new(), &text).shown()
            )
        })?;
        Ok(text)
    }

    /// Relays bytes between gdb's connection and hvc0 until gdb exits (within the timeout).
    fn relay_gdb(&mut self, listener: &TcpListener, gdb: &mut Child) -> Result<(), String> {
        let deadline = Instant::now() + self.timeout;
        let timeout = self.timeout;
        listener
            .set_nonblocking(true)
            .map_err(|error| error.to_string())?;
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() != io::ErrorKind::WouldBlock => {
                    return Err(format!("accepting gdb's connection: {error}"));
                }
                Err(_) => {}
            }
            if let Ok(Some(status)) = gdb.try_wait() {
                return Err(format!("gdb exited ({status}) without connecting"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "gdb did not connect within {} s",
                    timeout.as_secs_f64()
                ));
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The listener was polled without blocking; the connection itself blocks, so no write
        // to gdb is cut short.
        stream
            .set_nonblocking(false)
            .map_err(|error| error.to_string())?;
        let link = self.hvc_link()?;
        let mut to_guest = link.writer().map_err(|error| error.to_string())?;
        let mut from_gdb = stream.try_clone().map_err(|error| error.to_string())?;
        // Ends when gdb closes its connection.
        thread::spawn(move || io::copy(&mut from_gdb, &mut to_guest));
        loop {
            let bytes = link.take_new(Duration::from_millis(20));
            // A failed write means gdb closed its connection: it is exiting, which try_wait sees.
            let _ = stream.write_all(&bytes);
            if let Ok(Some(_)) = gdb.try_wait() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "gdb did not finish within {} s",
                    timeout.as_secs_f64()
                ));
            }
        }
    }

    fn hvc_link(&mut self) -> Result<&mut HvcLink, String> {
        self.hvc
            .as_mut()
            .ok_or_else(|| "the machine has no hvc0 link".to_string())
    }

    /// Types `command` and Enter; its output is what follows the echoed line up to the prompt.
    fn command(&mut self, command: &[u8], origin: String, line: usize) -> Result<(), String> {
        let mut typed = command.to_vec();
        typed.push(b'\n');
        self.qemu.send(&typed);
        match self.read_prompt(self.timeout) {
            Ok(text) => {
                let (echo, output) = split_echo(&text);
                check_echo(command, echo)?;
                self.output = StepOutput::new(origin, output);
                Ok(())
            }
            Err(error) => self.waited_in_vain(error, origin, line, "prompt", true),
        }
    }

    /// A wait that ended without what it waited for. A timeout fails the step; an exit is
    /// recorded (with the output up to it, less the echo of a typed command) for a following
    /// `exit:` to claim.
    fn waited_in_vain(
        &mut self,
        error: WaitError,
        origin: String,
        line: usize,
        what: &str,
        strip_echo: bool,
    ) -> Result<(), String> {
        match error {
            WaitError::Timeout { unread } => Err(format!(
                "no {what} within {} s; output since the previous step:\n{}",
                self.timeout.as_secs_f64(),
                StepOutput::new(origin, &unread).shown()
            )),
            WaitError::Exited { status, unread } => {
                let output = if strip_echo {
                    split_echo(&unread).1
                } else {
                    &unread
                };
                self.output = StepOutput::new(origin, output);
                self.exit = Some((status, line));
                Ok(())
            }
        }
    }

    fn exit(&mut self, expected: i32, origin: String) -> Result<(), String> {
        let status = match self.exit.take() {
            Some((status, _)) => status,
            None => self.qemu.wait_exit(self.timeout).map_err(|_| {
                format!(
                    "QEMU did not exit within {} s (it was killed)",
                    self.timeout.as_secs_f64()
                )
            })?,
        };
        self.output = StepOutput::new(origin, &self.qemu.take_unread());
        if status != expected {
            return Err(format!(
                "QEMU exited with status {status}, expected {expected}; output since the previous step:\n{}",
                self.output.shown()
            ));
        }
        Ok(())
    }

    fn check(&mut self, check: &Check) -> Result<(), String> {
        let output = &mut self.output;
        let failure = match check {
            Check::Line(text) => find_in_order(output, |line| line == text)
                .err()
                .map(|after| format!("no line `{text}` in the output of {}{after}", output.origin)),
            Check::LineMatching(pattern) => find_in_order(output, |line| pattern.is_match(line))
                .err()
                .map(|after| {
                    format!(
                        "no line matching `{pattern}` in the output of {}{after}",
                        output.origin
                    )
                }),
            Check::NoLineContaining(text) => output
                .lines
                .iter()
                .position(|line| line.contains(text.as_str()))
                .map(|index| {
                    format!(
                        "line {} of the output of {} contains `{text}`",
                        index + 1,
                        output.origin
                    )
                }),
            Check::Count {
                lines,
                pattern,
                at_least,
            } => {
                let matching = output
                    .lines
                    .iter()
                    .filter(|line| pattern.is_match(line))
                    .count();
                let enough = if *at_least {
                    matching >= *lines
                } else {
                    matching == *lines
                };
                let expected = if *at_least { "at least" } else { "exactly" };
                (!enough).then(|| {
                    format!(
                        "{matching} lines of the output of {} match `{pattern}`, expected {expected} {lines}",
                        output.origin
                    )
                })
            }
            Check::AllLines(pattern) => {
                match output.lines.iter().position(|line| !pattern.is_match(line)) {
                    _ if output.lines.is_empty() => Some(format!(
                        "the output of {} has no lines to match `{pattern}`",
                        output.origin
                    )),
                    Some(index) => Some(format!(
                        "line {} of the output of {} does not match `{pattern}`",
                        index + 1,
                        output.origin
                    )),
                    None => None,
                }
            }
            Check::Empty => (!output.text.is_empty())
                .then(|| format!("the output of {} is not empty", output.origin)),
        };
        match failure {
            Some(message) => Err(format!("{message}:\n{}", output.shown())),
            None => Ok(()),
        }
    }

    /// Waits for the next prompt and returns what was printed before it.
    fn read_prompt(&mut self, timeout: Duration) -> Result<Vec<u8>, WaitError> {
        let last_cwd = self.cwd.clone();
        let taken = self.qemu.read_until(timeout, PROMPT_SETTLE, |unread| {
            find_prompt(unread, last_cwd.as_deref()).map(|_| unread.len())
        })?;
        let (start, cwd) =
            find_prompt(&taken, last_cwd.as_deref()).expect("read_until only returns a prompt");
        self.cwd = Some(cwd);
        Ok(taken[..start].to_vec())
    }
}

fn step_needs_machine(action: &Action) -> bool {
    !matches!(
        action,
        Action::Timeout(_) | Action::Check(_) | Action::Exit(_)
    )
}

/// Finds the ordered line a `=` or `~` check wants, starting after the previous one's. On
/// failure returns the note saying where the search started.
fn find_in_order(output: &mut StepOutput, wanted: impl Fn(&str) -> bool) -> Result<(), String> {
    let start = output.next_line;
    match output.lines[start.min(output.lines.len())..]
        .iter()
        .position(|line| wanted(line))
    {
        Some(offset) => {
            output.next_line = start + offset + 1;
            Ok(())
        }
        None if start == 0 => Err(String::new()),
        None => Err(format!(
            " after its line {start} (matched by an earlier check)"
        )),
    }
}

/// Finds a prompt at the very end of `unread`: `{cwd} # ` where cwd starts with `/` and holds
/// no whitespace. Returns where it starts and the cwd.
///
/// A command's output need not end with a newline (`echo -n /a`), so the prompt may share its
/// line with output, and `/a/ # ` could be the prompt `/a/ # ` or `/a` then `/ # `. The choice:
/// the directory of the previous prompt (only `cd` changes it), else a prompt starting its line,
/// else the longest.
pub fn find_prompt(unread: &[u8], last_cwd: Option<&str>) -> Option<(usize, String)> {
    let body = unread.strip_suffix(b" # ")?;
    let line_start = body
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |newline| newline + 1);
    let last_line = &body[line_start..];
    let words_start = last_line
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(0, |space| space + 1);
    let candidates: Vec<usize> = (words_start..last_line.len())
        .filter(|&at| last_line[at] == b'/')
        .collect();
    let cwd_at = |at: usize| String::from_utf8_lossy(&last_line[at..]).into_owned();
    let chosen = candidates
        .iter()
        .copied()
        .find(|&at| last_cwd.is_some_and(|cwd| cwd_at(at) == cwd))
        .or_else(|| candidates.first().copied())?;
    Some((line_start + chosen, cwd_at(chosen)))
}

/// Splits what a command printed into the shell's echo of the typed line and the output after.
fn split_echo(text: &[u8]) -> (&[u8], &[u8]) {
    match text.iter().position(|&byte| byte == b'\n') {
        Some(newline) => (&text[..newline], &text[newline + 1..]),
        None => (text, &[]),
    }
}

/// A line of printable text within the shell's limit must be echoed as typed; a line with
/// control bytes or beyond the limit is echoed edited, which the scenario checks itself.
fn check_echo(command: &[u8], echo: &[u8]) -> Result<(), String> {
    let printable =
        std::str::from_utf8(command).is_ok_and(|text| !text.chars().any(char::is_control));
    if printable && command.len() <= MAX_LINE_BYTES && command != echo {
        return Err(format!(
            "the shell echoed `{}` for the typed line `{}`",
            visible(echo),
            visible(command)
        ));
    }
    Ok(())
}

/// Text with control bytes (other than newline and tab) and invalid UTF-8 shown as `\xNN`.
pub fn visible(bytes: &[u8]) -> String {
    let mut shown = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                let mut utf8 = [0; 4];
                for byte in c.encode_utf8(&mut utf8).bytes() {
                    let _ = write!(shown, "\\x{byte:02x}");
                }
            } else {
                shown.push(c);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(shown, "\\x{byte:02x}");
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_prompt_must_end_the_output() {
        assert_eq!(find_prompt(b"boot\n/ # ", None), Some((5, "/".into())));
        assert_eq!(
            find_prompt(b"/sys/kernel/tracing # ", None),
            Some((0, "/sys/kernel/tracing".into()))
        );
        assert_eq!(find_prompt(b"/ # x", None), None);
        assert_eq!(find_prompt(b"/ #", None), None);
        assert_eq!(find_prompt(b"/ # \n", None), None);
        assert_eq!(find_prompt(b"x # ", None), None);
        assert_eq!(find_prompt(b" # ", None), None);
        assert_eq!(find_prompt(b"", None), None);
    }

    #[test]
    fn a_prompt_may_follow_output_without_newline() {
        assert_eq!(
            find_prompt(b"echo -n hi\nhi/ # ", Some("/")),
            Some((13, "/".into()))
        );
        assert_eq!(find_prompt(b"a b/x # ", None), Some((3, "/x".into())));
    }

    #[test]
    fn an_ambiguous_prompt_prefers_the_last_directory() {
        assert_eq!(find_prompt(b"/tmp/ # ", Some("/")), Some((4, "/".into())));
        assert_eq!(
            find_prompt(b"/tmp/ # ", Some("/sys")),
            Some((0, "/tmp/".into()))
        );
        assert_eq!(find_prompt(b"/tmp/ # ", None), Some((0, "/tmp/".into())));
        assert_eq!(
            find_prompt(b"x/sys/sys # ", Some("/sys")),
            Some((5, "/sys".into()))
        );
    }

    #[test]
    fn the_echo_is_the_first_line() {
        assert_eq!(split_echo(b"ls\na\nb\n"), (&b"ls"[..], &b"a\nb\n"[..]));
        assert_eq!(split_echo(b"ls"), (&b"ls"[..], &b""[..]));
        assert_eq!(split_echo(b""), (&b""[..], &b""[..]));
    }

    #[test]
    fn printable_lines_must_echo_as_typed() {
        assert!(check_echo(b"ls /", b"ls /").is_ok());
        assert!(check_echo("échø".as_bytes(), "échø".as_bytes()).is_ok());
        let error = check_echo(b"ls /", b"l /").unwrap_err();
        assert!(
            error.contains("echoed `l /` for the typed line `ls /`"),
            "{error}"
        );
        // Edited, cut or undecodable lines are the scenario's business.
        assert!(check_echo(b"ab\x7fc", b"ab\x08 \x08c").is_ok());
        assert!(check_echo(b"\xff", b"").is_ok());
        assert!(check_echo(&[b'a'; 5000], &[b'a'; 4095]).is_ok());
        assert!(check_echo(&[b'a'; 4095], &[b'a'; 4094]).is_err());
    }

    #[test]
    fn visible_escapes_control_bytes_and_bad_utf8() {
        assert_eq!(visible(b"a\tb\nc"), "a\tb\nc");
        assert_eq!(visible(b"x\x08 \x08\x1b[A"), "x\\x08 \\x08\\x1b[A");
        assert_eq!(visible(b"\xffok\xc3"), "\\xffok\\xc3");
        assert_eq!(visible("é\u{85}".as_bytes()), "é\\xc2\\x85");
    }

    #[test]
    fn output_lines() {
        assert!(StepOutput::new(String::new(), b"").lines.is_empty());
        assert_eq!(StepOutput::new(String::new(), b"\n").lines, [""]);
        assert_eq!(StepOutput::new(String::new(), b"a\nb").lines, ["a", "b"]);
        assert_eq!(
            StepOutput::new(String::new(), b"a\n\nb\n").lines,
            ["a", "", "b"]
        );
        assert_eq!(
            StepOutput::new(String::new(), b"").shown(),
            "    (no output)\n"
        );
        assert_eq!(
            StepOutput::new(String::new(), b"a\x01\n").shown(),
            "    | a\\x01\n"
        );
    }

    /// A scripted stand-in for the kernel's shell: `sh` reading lines and printing prompts.
    fn fake_shell(script_body: &str) -> Session {
        let mut command = Command::new("sh");
        command.args(["-c", script_body]);
        Session::new(Qemu::spawn(command, false).unwrap())
    }

    fn play(session: &mut Session, source: &str) -> Result<(), Failure> {
        let scenario = script::parse(source).unwrap();
        session.play(&scenario)
    }

    /// Echoes each line, answers `pwd`/`echo`/`poweroff N`, prints the prompt.
    const SHELL: &str = r#"
        printf 'booting\r\n/ # '
        while IFS= read -r line; do
            printf '%s\r\n' "$line"
            case "$line" in
                pwd) printf '/\r\n' ;;
                "echo -n "*) printf '%s' "${line#echo -n }" ;;
                "echo "*) printf '%s\r\n' "${line#echo }" ;;
                "poweroff "*) exit "${line#poweroff }" ;;
                bad) printf 'echo garbled\r\n' ;;
            esac
            printf '/ # '
        done
        exit 0
    "#;

    #[test]
    fn a_passing_scenario() {
        let mut session = fake_shell(SHELL);
        let result = play(
            &mut session,
            "# description: d\n~ ^booting$\ncount 1 .\n$ pwd\n= /\n! x\natleast 1 /\n$ echo a\n= a\n$ echo -n /x\n= /x\n\
             all ^/\n$ nothing\nempty\nsend: echo b\\n\nprompt\n= echo b\n= b\nsend: echo c\\n\nexpect: (?m)^c\\n\n= echo c\n= c\nprompt\n\
             $ poweroff 4\nempty\nexit: 4\nempty\n",
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn ordered_checks_and_their_messages() {
        let mut session = fake_shell(SHELL);
        let failure = play(
            &mut session,
            "# description: d\n$ echo one two\n= one two\n= one two\n",
        )
        .unwrap_err();
        assert_eq!(failure.line, 4);
        assert!(
            failure.message.starts_with(
                "`= one two`: no line `one two` in the output of line 2 (`$ echo one two`) after its line 1"
            ),
            "{}",
            failure.message
        );
        assert!(
            failure.message.ends_with("    | one two\n"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn each_check_reports_its_failure() {
        let cases: &[(&str, &str)] = &[
            (
                "~ ^z",
                "no line matching `^z` in the output of line 2 (`$ echo a`)",
            ),
            (
                "! a",
                "line 1 of the output of line 2 (`$ echo a`) contains `a`",
            ),
            (
                "count 2 a",
                "1 lines of the output of line 2 (`$ echo a`) match `a`, expected exactly 2",
            ),
            ("atleast 3 .", "expected at least 3"),
            (
                "all ^b",
                "line 1 of the output of line 2 (`$ echo a`) does not match `^b`",
            ),
            ("empty", "the output of line 2 (`$ echo a`) is not empty"),
            ("exit: 0", "QEMU did not exit within"),
        ];
        for (check, expected) in cases {
            let mut session = fake_shell(SHELL);
            let failure = play(
                &mut session,
                &format!("# description: d\n$ echo a\ntimeout: 0.5\n{check}\n"),
            )
            .unwrap_err();
            assert_eq!(failure.line, 4, "{check}");
            assert!(
                failure.message.contains(expected),
                "{check}: {}",
                failure.message
            );
        }
    }

    #[test]
    fn all_needs_lines() {
        let mut session = fake_shell(SHELL);
        let failure = play(&mut session, "# description: d\n$ nothing\nall .\n").unwrap_err();
        assert!(
            failure.message.contains("has no lines to match `.`"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_wrong_echo_fails_the_command() {
        let mut session =
            fake_shell(r#"printf '/ # '; read -r line; printf 'typo\r\n/ # '; exec sleep 5"#);
        let failure = play(&mut session, "# description: d\n$ ls\n").unwrap_err();
        assert_eq!(failure.line, 2);
        assert!(
            failure
                .message
                .contains("echoed `typo` for the typed line `ls`"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_wrong_exit_status_fails() {
        let mut session = fake_shell(SHELL);
        let failure = play(&mut session, "# description: d\n$ poweroff 3\nexit: 4\n").unwrap_err();
        assert_eq!(failure.line, 3);
        assert!(
            failure
                .message
                .contains("QEMU exited with status 3, expected 4"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn an_unexpected_exit_fails() {
        let mut session = fake_shell(SHELL);
        let failure = play(&mut session, "# description: d\n$ poweroff 101\n").unwrap_err();
        assert_eq!(failure.line, 2);
        assert!(
            failure.message.contains("status 101 here, and no `exit:`"),
            "{}",
            failure.message
        );

        let mut session = fake_shell(SHELL);
        let failure = play(&mut session, "# description: d\n$ poweroff 1\n$ pwd\n").unwrap_err();
        assert_eq!(failure.line, 3);
        assert!(
            failure
                .message
                .contains("already exited with status 1 during line 2"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_missing_prompt_times_out() {
        let mut session = fake_shell(
            r#"printf '/ # '; read -r line; printf '%s\r\nstuck' "$line"; exec sleep 5"#,
        );
        let failure = play(&mut session, "# description: d\ntimeout: 0.3\n$ ls\n").unwrap_err();
        assert_eq!(failure.line, 3);
        assert!(
            failure.message.contains("no prompt within 0.3 s"),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("| stuck"), "{}", failure.message);
    }

    #[test]
    fn an_expect_that_never_matches() {
        let mut session = fake_shell(SHELL);
        let failure = play(
            &mut session,
            "# description: d\ntimeout: 0.3\nsend: x\nexpect: ^y\n",
        )
        .unwrap_err();
        assert_eq!(failure.line, 4);
        assert!(
            failure
                .message
                .contains("no output matching `^y` within 0.3 s"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_boot_without_prompt_fails_at_line_zero() {
        let mut session = fake_shell("printf 'panic!'; exit 101");
        let failure = play(&mut session, "# description: d\n$ ls\n").unwrap_err();
        assert_eq!(failure.line, 0);
        assert_eq!(
            failure.message,
            "QEMU exited with status 101 before the first prompt"
        );
    }

    #[test]
    fn bad_files_are_reported_with_their_line() {
        let dir = std::env::temp_dir().join(format!("scenario-runner-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.tc");
        fs::write(&bad, "# description: d\n$ ls\nwhat\n").unwrap();
        fs::write(dir.join("notes.txt"), "").unwrap();
        assert_eq!(scenario_files(&dir).unwrap(), std::slice::from_ref(&bad));
        let config = QemuConfig::new("/nonexistent.elf", 1);
        let reports = run_files(&[bad.clone(), dir.join("missing.tc")], &config, 2, |_| {});
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].outcome.failure.as_ref().unwrap().line, 3);
        assert!(reports[0].to_string().starts_with(&format!(
            "{}:3: bad scenario: unknown directive `what`",
            bad.display()
        )));
        assert!(reports[1].to_string().contains("cannot read the scenario"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_scenario_file_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let files = scenario_files(&dir).unwrap();
        assert!(!files.is_empty());
        for file in files {
            let source = fs::read_to_string(&file).unwrap();
            if let Err(error) = script::parse(&source) {
                panic!("{}:{error}", file.display());
            }
        }
    }
}
