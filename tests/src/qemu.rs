//! The QEMU machine the kernel runs on, and a handle that drives one over its serial console.
//!
//! [`QemuConfig`] is the one place that knows the machine's command line: `cargo xtask run`, the
//! in-kernel test run and the scenarios all build theirs from it. [`Qemu`] is a running machine
//! with piped stdio: a reader thread appends the console output to a shared buffer (with the
//! console's "\r" removed), a writer thread feeds the input so [`Qemu::send`] never blocks, and
//! every wait has a deadline. Dropping a [`Qemu`] kills the process, so a failing test never
//! leaves one behind.

use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The emulator binary.
pub const QEMU: &str = "qemu-system-aarch64";

/// How long a process that closed its output may take to be reaped before it is killed.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// How the guest's serial console is wired to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// `-nographic`: the console and QEMU's monitor share our terminal (Ctrl-A X quits).
    Terminal,
    /// `-serial stdio` without monitor or display: plain byte streams for pipes and files.
    Stdio,
}

/// Where the host end of the guest's virtio console (`/dev/hvc0`) is: a listening socket
/// QEMU creates (`server=on,wait=off`: the guest boots without waiting for a client, and what
/// it writes while none is connected is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HvcSocket {
    /// TCP on 127.0.0.1 (`cargo xtask run --hvc-port PORT`, gdb's `target remote :PORT`).
    Tcp(u16),
    /// A Unix socket at this path (scenarios: no port to collide on when several machines run).
    Unix(PathBuf),
}

impl HvcSocket {
    /// QEMU's arguments for a virtio console on the `virt` board's virtio-mmio bus, its
    /// character device this socket.
    pub fn qemu_args(&self) -> Vec<String> {
        let socket = match self {
            HvcSocket::Tcp(port) => format!("host=127.0.0.1,port={port}"),
            HvcSocket::Unix(path) => format!("path={}", path.display()),
        };
        [
            "-device".to_string(),
            "virtio-serial-device".to_string(),
            "-chardev".to_string(),
            format!("socket,id=hvc0,{socket},server=on,wait=off"),
            "-device".to_string(),
            "virtconsole,chardev=hvc0".to_string(),
        ]
        .to_vec()
    }
}

/// The machine: QEMU's `virt` board with a GICv3, a Cortex-A72 and semihosting for exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConfig {
    /// The ELF image QEMU loads (`-kernel`).
    pub kernel: PathBuf,
    /// Number of CPUs (`-smp`), unless `extra_args` sets its own `-smp`.
    pub smp: usize,
    /// A virtio console for the guest's `/dev/hvc0`, connected to this socket.
    pub hvc: Option<HvcSocket>,
    /// Further arguments, appended last.
    pub extra_args: Vec<String>,
}

impl QemuConfig {
    /// A machine with `smp` CPUs booting `kernel`.
    pub fn new(kernel: impl Into<PathBuf>, smp: usize) -> Self {
        QemuConfig {
            kernel: kernel.into(),
            smp,
            hvc: None,
            extra_args: Vec::new(),
        }
    }

    /// The full QEMU argument list (without the program name).
    pub fn args(&self, console: Console) -> Vec<String> {
        let mut args: Vec<String> = [
            "-M",
            "virt,gic-version=3",
            "-cpu",
            "cortex-a72",
            "-m",
            "128M",
        ]
        .map(String::from)
        .to_vec();
        if !self.extra_args.iter().any(|arg| arg == "-smp") {
            args.extend(["-smp".to_string(), self.smp.to_string()]);
        }
        args.extend(
            ["-semihosting-config", "enable=on,target=native", "-kernel"].map(String::from),
        );
        args.push(self.kernel.display().to_string());
        let console_args: &[&str] = match console {
            Console::Terminal => &["-nographic"],
            Console::Stdio => &["-display", "none", "-monitor", "none", "-serial", "stdio"],
        };
        args.extend(console_args.iter().map(|arg| arg.to_string()));
        if let Some(hvc) = &self.hvc {
            args.extend(hvc.qemu_args());
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// A ready-to-spawn QEMU command.
    pub fn command(&self, console: Console) -> Command {
        let mut command = Command::new(QEMU);
        command.args(self.args(console));
        command
    }
}

/// The command line a [`Command`] runs, as a shell would show it.
pub fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The exit status as a shell reports it: the code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

/// Why a wait on a [`Qemu`] ended without what it waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    /// Nothing matching arrived in time; `unread` is the output seen since the last match.
    Timeout { unread: Vec<u8> },
    /// QEMU exited first with `status`; `unread` is its output after the last match.
    Exited { status: i32, unread: Vec<u8> },
}

/// Output collected by the reader threads.
#[derive(Default)]
struct Output {
    /// The console output, "\r" removed.
    console: Vec<u8>,
    /// QEMU's own diagnostics.
    stderr: Vec<u8>,
    /// The console pipe is closed: QEMU is exiting.
    closed: bool,
    /// The stderr pipe is closed too: everything QEMU wrote there has been collected.
    stderr_closed: bool,
    /// When `console` last grew.
    last_change: Option<Instant>,
}

struct Shared {
    output: Mutex<Output>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Output> {
        // A reader thread cannot panic while holding the lock, but a poisoned buffer is still
        // the best record of what happened.
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running QEMU whose console is driven through pipes.
pub struct Qemu {
    child: Child,
    input: Sender<Vec<u8>>,
    shared: Arc<Shared>,
    /// How much of the console output earlier waits consumed.
    cursor: usize,
    status: Option<i32>,
}

impl Qemu {
    /// Starts `command` with piped stdio. With `tee`, its output is also copied to ours as it
    /// arrives (for runs a human watches).
    pub fn spawn(mut command: Command, tee: bool) -> io::Result<Qemu> {
        let command_line = command_line(&command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("could not start `{command_line}`: {error}"),
                )
            })?;
        let shared = Arc::new(Shared {
            output: Mutex::new(Output::default()),
            changed: Condvar::new(),
        });
        let (input, receiver) = mpsc::channel::<Vec<u8>>();
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        // The threads end by themselves when the pipes close; nothing joins them, so a process
        // that keeps a pipe open (QEMU never does) cannot hang the caller.
        thread::spawn(move || feed_input(stdin, receiver));
        spawn_reader(stdout, Arc::clone(&shared), Stream::Console, tee);
        spawn_reader(stderr, Arc::clone(&shared), Stream::Stderr, tee);
        Ok(Qemu {
            child,
            input,
            shared,
            cursor: 0,
            status: None,
        })
    }

    /// Queues bytes for the guest's console. Never blocks; if QEMU has gone, the next wait says so.
    pub fn send(&self, bytes: &[u8]) {
        // A send error means the writer ended because QEMU closed its stdin, i.e. exited.
        let _ = self.input.send(bytes.to_vec());
    }

    /// Waits until the unread output matches `pattern`, and consumes it through the match.
    /// Returns the consumed text.
    pub fn expect(
        &mut self,
        pattern: &regex::bytes::Regex,
        timeout: Duration,
    ) -> Result<Vec<u8>, WaitError> {
        self.read_until(timeout, Duration::ZERO, |unread| {
            pattern.find(unread).map(|found| found.end())
        })
    }

    /// Waits until the unread output contains `literal`, and consumes it through that text.
    pub fn expect_literal(
        &mut self,
        literal: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, WaitError> {
        let needle = literal.as_bytes();
        self.read_until(timeout, Duration::ZERO, |unread| {
            if needle.is_empty() {
                return Some(0);
            }
            unread
                .windows(needle.len())
                .position(|window| window == needle)
                .map(|start| start + needle.len())
        })
    }

    /// The general wait: `find` looks at the unread output and returns how many of its bytes it
    /// consumes once it recognises what it waits for. Its answer is only taken after the output
    /// has been quiet for `settle`, so text that merely looks complete mid-stream is not taken.
    pub fn read_until(
        &mut self,
        timeout: Duration,
        settle: Duration,
        mut find: impl FnMut(&[u8]) -> Option<usize>,
    ) -> Result<Vec<u8>, WaitError> {
        let deadline = Instant::now() + timeout;
        let mut output = self.shared.lock();
        loop {
            let unread = &output.console[self.cursor..];
            let now = Instant::now();
            let mut wake_at = deadline;
            if let Some(consumed) = find(unread) {
                let quiet_since = output.last_change.unwrap_or(now);
                if now.duration_since(quiet_since) >= settle {
                    let taken = unread[..consumed].to_vec();
                    self.cursor += consumed;
                    return Ok(taken);
                }
                wake_at = wake_at.min(quiet_since + settle);
            } else if output.closed {
                let unread = unread.to_vec();
                self.cursor = output.console.len();
                drop(output);
                let status = self.reap();
                return Err(WaitError::Exited { status, unread });
            }
            if now >= deadline {
                return Err(WaitError::Timeout {
                    unread: unread.to_vec(),
                });
            }
            output = self
                .shared
                .changed
                .wait_timeout(output, wake_at.saturating_duration_since(now))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Waits for QEMU to exit and returns its status; on timeout QEMU is killed. The unread
    /// output is left for [`Qemu::take_unread`].
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<i32, WaitError> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(self.exited(status)),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let unread = self.take_unread();
                    self.kill();
                    return Err(WaitError::Timeout { unread });
                }
            }
        }
    }

    /// Consumes and returns everything not yet consumed by a wait.
    pub fn take_unread(&mut self) -> Vec<u8> {
        let output = self.shared.lock();
        let unread = output.console[self.cursor..].to_vec();
        self.cursor = output.console.len();
        unread
    }

    /// The whole console output so far ("\r" removed).
    pub fn transcript(&self) -> Vec<u8> {
        self.shared.lock().console.clone()
    }

    /// What QEMU itself printed on stderr.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().stderr).into_owned()
    }

    /// The exit status, once QEMU has exited.
    pub fn status(&self) -> Option<i32> {
        self.status
    }

    /// Reaps a QEMU that closed its console; one that lingers is killed.
    fn reap(&mut self) -> i32 {
        match self.wait_exit(REAP_TIMEOUT) {
            Ok(status) => status,
            Err(_) => self.status.unwrap_or(1),
        }
    }

    /// Records the exit and waits (briefly) for both readers to drain their pipes, so the
    /// transcript and stderr are complete.
    fn exited(&mut self, status: ExitStatus) -> i32 {
        let code = exit_code(status);
        self.status = Some(code);
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut output = self.shared.lock();
        while !(output.closed && output.stderr_closed) && Instant::now() < deadline {
            output = self
                .shared
                .changed
                .wait_timeout(output, Duration::from_millis(10))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        code
    }

    fn kill(&mut self) {
        if self.status.is_none() {
            // Errors mean it already exited, which is what we want.
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.status = Some(exit_code(status));
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Console,
    Stderr,
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    shared: Arc<Shared>,
    stream: Stream,
    tee: bool,
) {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            let read = match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let bytes = &chunk[..read];
            if tee {
                // Watching is best effort: a closed terminal must not stop the collection.
                let _ = match stream {
                    Stream::Console => io::stdout()
                        .write_all(bytes)
                        .and_then(|()| io::stdout().flush()),
                    Stream::Stderr => io::stderr().write_all(bytes),
                };
            }
            let mut output = shared.lock();
            match stream {
                Stream::Console => {
                    output
                        .console
                        .extend(bytes.iter().filter(|&&byte| byte != b'\r'));
                    output.last_change = Some(Instant::now());
                }
                Stream::Stderr => output.stderr.extend_from_slice(bytes),
            }
            shared.changed.notify_all();
        }
        let mut output = shared.lock();
        match stream {
            Stream::Console => output.closed = true,
            Stream::Stderr => output.stderr_closed = true,
        }
        drop(output);
        shared.changed.notify_all();
    });
}

fn feed_input(mut stdin: ChildStdin, queued: mpsc::Receiver<Vec<u8>>) {
    for bytes in queued {
        if stdin
            .write_all(&bytes)
            .and_then(|()| stdin.flush())
            .is_err()
        {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for QEMU: a shell script with the same stdio behaviour.
    fn fake(script: &str) -> Qemu {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        Qemu::spawn(command, false).unwrap()
    }

    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn the_machine_command_line() {
        let config = QemuConfig::new("target/kernel.elf", 2);
        assert_eq!(
            config.args(Console::Stdio).join(" "),
            "-M virt,gic-version=3 -cpu cortex-a72 -m 128M -smp 2 -semihosting-config \
             enable=on,target=native -kernel target/kernel.elf -display none -monitor none -serial stdio"
        );
        assert!(
            config
                .args(Console::Terminal)
                .ends_with(&["-nographic".to_string()])
        );
    }

    #[test]
    fn a_virtio_console_on_a_socket() {
        let mut config = QemuConfig::new("k.elf", 2);
        config.hvc = Some(HvcSocket::Tcp(1234));
        config.extra_args = vec!["-s".into()];
        let line = config.args(Console::Stdio).join(" ");
        assert!(line.ends_with(
            "-serial stdio -device virtio-serial-device -chardev \
             socket,id=hvc0,host=127.0.0.1,port=1234,server=on,wait=off \
             -device virtconsole,chardev=hvc0 -s"
        ));
        config.hvc = Some(HvcSocket::Unix("/tmp/h.sock".into()));
        assert!(
            config
                .args(Console::Stdio)
                .contains(&"socket,id=hvc0,path=/tmp/h.sock,server=on,wait=off".to_string())
        );
    }

    #[test]
    fn extra_args_come_last_and_may_replace_smp() {
        let mut config = QemuConfig::new("k.elf", 2);
        config.extra_args = vec!["-smp".into(), "4".into(), "-s".into()];
        let args = config.args(Console::Stdio);
        assert_eq!(args.iter().filter(|arg| *arg == "-smp").count(), 1);
        assert!(args.ends_with(&["-smp".into(), "4".into(), "-s".into()]));
        assert_eq!(
            command_line(&config.command(Console::Stdio))
                .split(' ')
                .next(),
            Some(QEMU)
        );
    }

    #[test]
    fn expect_consumes_through_the_match_and_strips_cr() {
        let mut qemu = fake(
            "printf 'boot\\r\\n/ # '; read line; printf '%s\\r\\nout\\r\\n/ # ' \"$line\"; exec sleep 5",
        );
        assert_eq!(qemu.expect_literal("/ # ", LONG).unwrap(), b"boot\n/ # ");
        qemu.send(b"hello\n");
        let pattern = regex::bytes::Regex::new("out\n").unwrap();
        assert_eq!(qemu.expect(&pattern, LONG).unwrap(), b"hello\nout\n");
        assert_eq!(qemu.expect_literal("/ # ", LONG).unwrap(), b"/ # ");
        assert_eq!(qemu.transcript(), b"boot\n/ # hello\nout\n/ # ");
    }

    #[test]
    fn a_wait_times_out_with_what_it_saw() {
        let mut qemu = fake("printf 'partial'; exec sleep 5");
        let started = Instant::now();
        let error = qemu.expect_literal("never", SHORT).unwrap_err();
        assert!(started.elapsed() < LONG);
        assert_eq!(
            error,
            WaitError::Timeout {
                unread: b"partial".to_vec()
            }
        );
    }

    #[test]
    fn a_wait_reports_the_exit_status() {
        let mut qemu = fake("printf 'bye'; exit 7");
        let error = qemu.expect_literal("never", LONG).unwrap_err();
        assert_eq!(
            error,
            WaitError::Exited {
                status: 7,
                unread: b"bye".to_vec()
            }
        );
        assert_eq!(qemu.status(), Some(7));
        assert_eq!(qemu.wait_exit(SHORT), Ok(7));
    }

    #[test]
    fn wait_exit_leaves_the_output_unread() {
        let mut qemu = fake("printf 'exit\\n'; exit 3");
        assert_eq!(qemu.wait_exit(LONG), Ok(3));
        assert_eq!(qemu.take_unread(), b"exit\n");
        assert_eq!(qemu.take_unread(), b"");
    }

    #[test]
    fn wait_exit_kills_on_timeout() {
        let mut qemu = fake("printf x; exec sleep 30");
        assert_eq!(
            qemu.wait_exit(SHORT),
            Err(WaitError::Timeout {
                unread: b"x".to_vec()
            })
        );
        // SIGKILL.
        assert_eq!(qemu.status(), Some(128 + 9));
    }

    #[test]
    fn settle_waits_for_the_output_to_go_quiet() {
        let mut qemu = fake("printf 'a # '; sleep 0.3; printf 'more # '; exec sleep 5");
        let ends_with_prompt = |unread: &[u8]| unread.ends_with(b" # ").then_some(unread.len());
        let taken = qemu
            .read_until(LONG, Duration::from_millis(600), ends_with_prompt)
            .unwrap();
        assert_eq!(taken, b"a # more # ");
    }

    #[test]
    fn stderr_is_kept_apart() {
        let mut qemu = fake("echo oops >&2; printf ok; exit 1");
        assert_eq!(qemu.wait_exit(LONG), Ok(1));
        assert_eq!(qemu.stderr(), "oops\n");
        assert_eq!(qemu.transcript(), b"ok");
    }

    #[test]
    fn send_after_exit_and_drop_are_harmless() {
        let mut qemu = fake("exit 0");
        assert_eq!(qemu.wait_exit(LONG), Ok(0));
        qemu.send(b"ignored");
        drop(qemu);
    }

    #[test]
    fn drop_kills_a_running_machine() {
        let qemu = fake("exec sleep 30");
        let started = Instant::now();
        drop(qemu);
        assert!(started.elapsed() < LONG);
    }

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let error = Qemu::spawn(Command::new("/nonexistent/qemu"), false)
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .contains("could not start `/nonexistent/qemu`")
        );
    }
}
