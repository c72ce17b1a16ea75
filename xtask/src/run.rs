//! `cargo xtask run`: builds the image and boots it. On a terminal QEMU takes the terminal
//! (`-nographic`, Ctrl-A X quits). From a pipe or a file our input is typed into the shell and,
//! at its end, one Ctrl-D ends the session, so `printf 'ls\npoweroff\n' | cargo xtask run`
//! works as a script. The exit status is QEMU's: 0 for poweroff or end of input, N for
//! `poweroff N`, 101 for a kernel crash.

use std::io::{self, IsTerminal, Write};
use std::process::{Command, ExitCode, Stdio};
use std::thread;

use clap::Args;
use scenario::qemu::{Console, HvcSocket, QemuConfig, exit_code};

use crate::build::{self, BuildArgs};
use crate::{Result, command, prereq};

/// The CPUs a machine gets unless told otherwise: more than one, so SMP paths always run.
pub const DEFAULT_SMP: usize = 2;

/// Ctrl-D, which the shell reads on an empty line as the end of input.
const END_OF_INPUT: u8 = 0x04;

/// Options of `run` and `gdb`.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Number of CPUs.
    #[arg(long, default_value_t = DEFAULT_SMP)]
    pub smp: usize,
    /// Give the guest a virtio console (`/dev/hvc0`) whose host end listens on this TCP port
    /// of 127.0.0.1 (`gdb-multiarch -ex 'target remote :PORT'` against a gdbserver on it).
    #[arg(long, value_name = "PORT")]
    pub hvc_port: Option<u16>,
    /// Extra QEMU arguments, after `--`.
    #[arg(last = true)]
    pub qemu_args: Vec<String>,
}

impl RunArgs {
    /// Checks for QEMU, builds the image and returns the machine to boot it on.
    pub fn prepare(&self) -> Result<QemuConfig> {
        prereq::ensure_qemu()?;
        let kernel = build::build(self.build.image())?;
        let mut config = QemuConfig::new(kernel, self.smp);
        config.hvc = self.hvc_port.map(HvcSocket::Tcp);
        config.extra_args = self.qemu_args.clone();
        Ok(config)
    }
}

/// `cargo xtask run`.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let config = args.prepare()?;
    let status = boot(&config)?;
    Ok(ExitCode::from(status))
}

/// Boots `config` on our stdio and returns QEMU's exit status.
pub fn boot(config: &QemuConfig) -> Result<u8> {
    let status = if io::stdin().is_terminal() {
        interactive(config.command(Console::Terminal))?
    } else {
        scripted(config.command(Console::Stdio))?
    };
    Ok(u8::try_from(status).unwrap_or(u8::MAX))
}

fn interactive(mut qemu: Command) -> Result<i32> {
    command::echo(&qemu);
    let status = qemu
        .status()
        .map_err(|error| format!("could not start QEMU: {error}"))?;
    Ok(exit_code(status))
}

/// Types our input into the guest, then Ctrl-D once it ends.
fn scripted(mut qemu: Command) -> Result<i32> {
    command::echo(&qemu);
    let mut child = qemu
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|error| format!("could not start QEMU: {error}"))?;
    let mut guest_input = child.stdin.take().ok_or("QEMU's stdin is not piped")?;
    // Not joined: if QEMU exits first (`poweroff`), we exit without waiting for our input.
    thread::spawn(move || {
        // Write errors mean QEMU has exited, which its status reports.
        let _ = io::copy(&mut io::stdin().lock(), &mut guest_input)
            .and_then(|_| guest_input.write_all(&[END_OF_INPUT]));
    });
    let status = child
        .wait()
        .map_err(|error| format!("waiting for QEMU: {error}"))?;
    Ok(exit_code(status))
}
