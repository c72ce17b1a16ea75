//! Spawning commands: each one is echoed as `$ ...` on stderr before it runs, and a failure
//! names the command.

use std::process::Command;

use crate::Result;

/// Prints the command line a shell would run.
pub fn echo(command: &Command) {
    eprintln!("$ {}", scenario::qemu::command_line(command));
}

/// Runs `command` to completion; a non-zero status is an error.
pub fn run(command: &mut Command) -> Result {
    echo(command);
    let line = scenario::qemu::command_line(command);
    let status = command
        .status()
        .map_err(|error| format!("could not start `{line}`: {error}"))?;
    if !status.success() {
        return Err(format!("`{line}` failed ({status})").into());
    }
    Ok(())
}

/// Runs `command` and returns its stdout; a non-zero status is an error.
pub fn output(command: &mut Command) -> Result<String> {
    echo(command);
    let line = scenario::qemu::command_line(command);
    let output = command
        .output()
        .map_err(|error| format!("could not start `{line}`: {error}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("`{line}` failed ({}): {}", output.status, stderr.trim()).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
