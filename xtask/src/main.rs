//! `cargo xtask`: the project's host tooling. Each subcommand is a small module:
//! [`build`] (kernel image plus its embedded symbol table, see [`kallsyms`], once the `noinstr`
//! check in [`objtool`] passes), [`run`] and [`gdb`] (boot it in QEMU), [`debug`] (gdb on a
//! user program through the guest's gdbserver), [`test`] (everything CI
//! checks) and [`bench`] (instruction counts of the kernel's benchmarks). Every command spawned is echoed on stderr as `$ ...`
//! ([`command`]); missing tools are installed or named ([`prereq`]).

// The symbol-table and benchmark-report format modules are shared with the no_std kernel,
// which spells `alloc::`.
extern crate alloc;

mod bench;
mod build;
mod command;
mod debug;
mod gdb;
mod initramfs;
mod kallsyms;
mod objtool;
mod prereq;
mod run;
mod test;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Errors are reported once, in `main`, as text: every failure here is a message for a human.
type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run, debug and test the kernel")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the kernel image with its symbol table: target/kernel.elf (target/ktest.elf with
    /// `--features ktest`).
    Build(build::BuildArgs),
    /// Build, then boot the kernel in QEMU. On a terminal QEMU owns it (Ctrl-A X quits); from a
    /// pipe or file the input is typed into the shell and end of input ends the session. Exits
    /// with QEMU's status (0 = poweroff, N = `poweroff N`).
    Run(run::RunArgs),
    /// Build, then start QEMU halted with its gdbstub on :1234 and print the gdb command.
    Gdb(run::RunArgs),
    /// Build, boot with a virtio console on a TCP port (`--hvc-port`, default 2345), start
    /// `gdbserver /dev/hvc0 PROG ARGS` in the guest and `gdb-multiarch` on the host, connected,
    /// with the program's symbols.
    Debug(debug::DebugArgs),
    /// Run everything CI runs: format, clippy, host unit tests, the in-kernel test image and
    /// the scenario tests. Ends with `N passed, N failed`.
    Test(test::TestArgs),
    /// Boot on a deterministic machine (`-icount shift=0,sleep=off`), run the kernel's
    /// benchmarks and print their instruction counts; also written to target/bench.json.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Build(args) => build::build(args.image()).map(|_| ExitCode::SUCCESS),
        Task::Run(args) => run::run(args),
        Task::Gdb(args) => gdb::gdb(args),
        Task::Debug(args) => debug::debug(args),
        Task::Test(args) => test::test(args),
        Task::Bench(args) => bench::bench(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("xtask: error: {error}");
        ExitCode::FAILURE
    })
}
