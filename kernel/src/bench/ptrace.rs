//! ptrace round trips from EL0, as a debugger pays them: the initramfs's `ptracebench` runs the
//! loop (a tracer and its traced child, both user processes), started and reaped by the
//! benchmark as the shell starts a program.
//!
//! - `ptrace_syscall_stop`: one getppid of a child traced with `PTRACE_SYSCALL` (and
//!   `TRACESYSGOOD`): its syscall-enter stop, the tracer's `wait4` returning, `PTRACE_SYSCALL`,
//!   the call, the syscall-exit stop, `wait4` and `PTRACE_SYSCALL` again. Two stops per
//!   operation.
//! - `ptrace_singlestep`: one `PTRACE_SINGLESTEP` of a spinning child and the `wait4` that
//!   sees its SIGTRAP stop.
//! - `strace_getppid`: one getppid of `/bin/getppid N` run under `strace -o /dev/null`: the
//!   two stops, strace's register and memory reads and its formatted line (written to
//!   `/dev/null`), beside the untraced call's 120 of `getppid_round_trip`.
//!
//! Each against the same program with no round trip (`ptracebench MODE 0`: the fork, the
//! child's first stop, its end and both reaps; `strace -o /dev/null /bin/getppid 0`).
//! `ptracebench` checks the stops it waited for (their number, exit_group's at the end, SIGTRAP
//! at each step) and exits 1 otherwise; strace exits with its tracee's status; the teardown
//! checks every run exited 0.

use alloc::format;
use alloc::string::String;

use super::SetupError;
use crate::kbench;
use crate::signal::WaitStatus;

const OPS: u64 = 200;

static FAILED: spin::Mutex<Option<String>> = spin::Mutex::new(None);

/// Runs `argv` to its end; a start failure or a status other than 0 is recorded.
fn run_program(argv: &[&str]) {
    let result = crate::process::spawn(argv[0], argv)
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))
        .and_then(|child| match child.wait() {
            status if status == WaitStatus::exited(0) => Ok(()),
            status => Err(format!("{argv:?} ended with status {:#x}", status.0)),
        });
    if let Err(error) = result {
        FAILED.lock().get_or_insert(error);
    }
}

fn ptracebench(mode: &str, n: u64) {
    run_program(&["/bin/ptracebench", mode, &format!("{n}")]);
}

fn strace_getppid(n: u64) {
    run_program(&[
        "/bin/strace",
        "-o",
        "/dev/null",
        "/bin/getppid",
        &format!("{n}"),
    ]);
}

fn strace_baseline(_n: u64) {
    strace_getppid(0);
}

fn syscall_stops(n: u64) {
    ptracebench("syscall", n);
}

fn syscall_baseline(_n: u64) {
    ptracebench("syscall", 0);
}

fn single_steps(n: u64) {
    ptracebench("step", n);
}

fn step_baseline(_n: u64) {
    ptracebench("step", 0);
}

fn reset() -> Result<(), SetupError> {
    *FAILED.lock() = None;
    Ok(())
}

fn check() -> Result<(), String> {
    FAILED.lock().take().map_or(Ok(()), Err)
}

kbench! {
    name: "ptrace_syscall_stop",
    ops: OPS,
    run: syscall_stops,
    baseline: "ptracebench_syscall_0" => syscall_baseline,
    setup: reset,
    teardown: check,
}

kbench! {
    name: "ptrace_singlestep",
    ops: OPS,
    run: single_steps,
    baseline: "ptracebench_step_0" => step_baseline,
    setup: reset,
    teardown: check,
}

kbench! {
    name: "strace_getppid",
    ops: OPS,
    run: strace_getppid,
    baseline: "strace_getppid_0" => strace_baseline,
    setup: reset,
    teardown: check,
}
