//! fork + execve + exit + wait4 of `/bin/hello` from EL0: the initramfs's `forkexec N` runs the
//! Linux anchor's `forkexec.c` loop (fork; the child execs /bin/hello, which writes its line
//! and exits 0; the parent waits for it), started and reaped by the benchmark as the shell
//! starts a program. The baseline runs `forkexec 0`: the same program started and reaped with
//! no iteration, so one operation is one whole fork, exec, exit and wait (the address-space
//! copy, the ELF load, two task switches each way, the zombie reaped). Linux 6.12 takes 272,000
//! instructions for the same with a minimal raw-syscall hello writing to /dev/null (549,000
//! with glibc's static start-up), measured with `../anchor/forkexec.c`; ours writes to the
//! console. The teardown checks both runs exited 0 (every child exited 0).

use alloc::format;
use alloc::string::String;

use super::SetupError;
use crate::kbench;
use crate::signal::WaitStatus;

const OPS: u64 = 20;

static FAILED: spin::Mutex<Option<String>> = spin::Mutex::new(None);

fn forkexec(n: u64) {
    let count = format!("{n}");
    let result = crate::process::spawn("/bin/forkexec", &["forkexec", &count])
        .map_err(|e| format!("cannot start /bin/forkexec: {e}"))
        .and_then(|child| match child.wait() {
            status if status == WaitStatus::exited(0) => Ok(()),
            status => Err(format!("forkexec {n} ended with status {:#x}", status.0)),
        });
    if let Err(error) = result {
        *FAILED.lock() = Some(error);
    }
}

fn run(n: u64) {
    forkexec(n);
}

fn baseline(_n: u64) {
    forkexec(0);
}

fn reset() -> Result<(), SetupError> {
    *FAILED.lock() = None;
    Ok(())
}

fn check() -> Result<(), String> {
    FAILED.lock().take().map_or(Ok(()), Err)
}

kbench! {
    name: "forkexec_hello",
    ops: OPS,
    run: run,
    baseline: "forkexec_0" => baseline,
    setup: reset,
    teardown: check,
}
