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
//!
//! Each against the same program with no round trip (`ptracebench MODE 0`: the fork, the
//! child's first stop, its end and both reaps). `ptracebench` checks every stop it waited for
//! (the syscall number at each getppid stop, SIGTRAP at each step) and exits 1 otherwise; the
//! teardown checks both runs exited 0.

use alloc::format;
use alloc::string::String;

use super::SetupError;
use crate::kbench;
use crate::signal::WaitStatus;

const OPS: u64 = 200;

static FAILED: spin::Mutex<Option<String>> = spin::Mutex::new(None);

fn ptracebench(mode: &str, n: u64) {
    let count = format!("{n}");
    let result = crate::process::spawn("/bin/ptracebench", &["ptracebench", mode, &count])
        .map_err(|e| format!("cannot start /bin/ptracebench: {e}"))
        .and_then(|child| match child.wait() {
            status if status == WaitStatus::exited(0) => Ok(()),
            status => Err(format!(
                "ptracebench {mode} {n} ended with status {:#x}",
                status.0
            )),
        });
    if let Err(error) = result {
        FAILED.lock().get_or_insert(error);
    }
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
