//! `cargo xtask debug PROG [ARGS...]`: debugs a user program of the image with the host's
//! gdb, as one debugs a program on a remote board. Boots the image with a virtio console on a
//! TCP port (`--hvc-port`), types `gdbserver /dev/hvc0 PROG ARGS` into the shell, and starts
//! `gdb-multiarch` with the program's ELF (its symbols) connected to that port. The guest's
//! console (the program's own output) is copied to ours. When gdb exits, the machine is
//! powered off.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Args;
use scenario::Qemu;
use scenario::qemu::Console;

use crate::build::BuildArgs;
use crate::run::RunArgs;
use crate::workspace::{self, KERNEL_TARGET};
use crate::{Result, command, prereq};

/// The port unless `--hvc-port` says otherwise: gdbserver's customary one.
const DEFAULT_PORT: u16 = 2345;
/// Boot to the shell's first prompt.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// From typing the command to gdbserver waiting for gdb.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// What gdbserver prints once it waits for gdb.
const GDBSERVER_READY: &str = "Remote debugging using /dev/hvc0";

/// Options of `debug`.
#[derive(Args, Clone, Debug)]
pub struct DebugArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Number of CPUs.
    #[arg(long, default_value_t = crate::run::DEFAULT_SMP)]
    pub smp: usize,
    /// The TCP port of 127.0.0.1 gdb connects to (the guest's /dev/hvc0).
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT)]
    pub hvc_port: u16,
    /// A gdb command to run after connecting (`-ex`); repeat for several.
    #[arg(long = "ex", value_name = "COMMAND")]
    pub gdb_commands: Vec<String>,
    /// Run gdb in batch mode: the `--ex` commands, then exit (for scripts).
    #[arg(long)]
    pub batch: bool,
    /// The program in the image (`/bin/fib`) and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROG"
    )]
    pub program: Vec<String>,
}

/// The host-side ELF of an image program: the `user` crate's build of `/bin/NAME`.
fn program_elf(program: &str) -> Option<PathBuf> {
    let name = program.rsplit('/').next()?;
    let elf = workspace::target_dir()
        .join("user")
        .join(KERNEL_TARGET)
        .join("release")
        .join(name);
    elf.exists().then_some(elf)
}

/// The gdb command line: the program's symbols, the connection, then the user's commands.
fn gdb_command(elf: Option<&PathBuf>, port: u16, commands: &[String], batch: bool) -> Command {
    let mut gdb = workspace::command("gdb-multiarch");
    gdb.arg("-q");
    if batch {
        gdb.arg("--batch");
    }
    if let Some(elf) = elf {
        gdb.arg(elf);
    }
    gdb.args(["-ex", &format!("target remote localhost:{port}")]);
    for command in commands {
        gdb.args(["-ex", command]);
    }
    gdb
}

/// `cargo xtask debug`.
pub fn debug(args: DebugArgs) -> Result<ExitCode> {
    prereq::ensure_gdb()?;
    let port = args.hvc_port;
    let run = RunArgs {
        build: args.build.clone(),
        smp: args.smp,
        hvc_port: Some(port),
        qemu_args: Vec::new(),
    };
    let config = run.prepare()?;
    let elf = program_elf(&args.program[0]);
    if elf.is_none() {
        eprintln!(
            "xtask: {} is not one of the user crate's programs: gdb starts without its symbols",
            args.program[0]
        );
    }
    let qemu_command = config.command(Console::Stdio);
    command::echo(&qemu_command);
    let mut qemu = Qemu::spawn(qemu_command, true)?;
    qemu.expect_literal("/ # ", BOOT_TIMEOUT)
        .map_err(|error| format!("no shell prompt: {error:?}"))?;
    qemu.send(format!("gdbserver /dev/hvc0 {}\n", args.program.join(" ")).as_bytes());
    qemu.expect_literal(GDBSERVER_READY, START_TIMEOUT)
        .map_err(|error| format!("gdbserver did not start: {error:?}"))?;
    let mut gdb = gdb_command(elf.as_ref(), port, &args.gdb_commands, args.batch);
    command::echo(&gdb);
    let status = gdb
        .status()
        .map_err(|error| format!("could not start gdb-multiarch: {error}"))?;
    // gdbserver ends with gdb's session (exit, kill or detach); then the machine goes.
    qemu.send(b"poweroff\n");
    let _ = qemu.wait_exit(Duration::from_secs(10));
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdb_connects_then_runs_the_commands() {
        let elf = PathBuf::from("target/user/x/release/fib");
        let gdb = gdb_command(
            Some(&elf),
            2345,
            &["break fib".into(), "continue".into()],
            true,
        );
        assert_eq!(
            scenario::qemu::command_line(&gdb),
            "gdb-multiarch -q --batch target/user/x/release/fib -ex target remote localhost:2345 \
             -ex break fib -ex continue"
        );
        let bare = gdb_command(None, 1, &[], false);
        assert_eq!(
            scenario::qemu::command_line(&bare),
            "gdb-multiarch -q -ex target remote localhost:1"
        );
    }
}
