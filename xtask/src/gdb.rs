//! `cargo xtask gdb`: boots the image like `run`, but with QEMU halted before the first
//! instruction and its gdbstub listening on :1234, and prints the gdb command to attach.

use std::env;
use std::process::ExitCode;

use crate::run::{self, RunArgs};
use crate::{Result, prereq, workspace};

/// `cargo xtask gdb`.
pub fn gdb(args: RunArgs) -> Result<ExitCode> {
    prereq::ensure_gdb()?;
    let mut config = args.prepare()?;
    config
        .extra_args
        .splice(0..0, ["-s".to_string(), "-S".to_string()]);
    // Relative to where the user stands when that is the workspace root, as the docs show it.
    let root = workspace::root();
    let elf = match env::current_dir() {
        Ok(dir) if dir == root => config
            .kernel
            .strip_prefix(&root)
            .unwrap_or(&config.kernel)
            .to_path_buf(),
        _ => config.kernel.clone(),
    };
    eprintln!("QEMU waits for gdb on :1234. In another terminal run:");
    eprintln!(
        "    gdb-multiarch {} -ex 'target remote :1234'",
        elf.display()
    );
    Ok(ExitCode::from(run::boot(&config)?))
}
