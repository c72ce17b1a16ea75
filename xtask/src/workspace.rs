//! Where things are: the workspace root, the kernel target, and the cargo that runs us.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// The kernel's target triple.
pub const KERNEL_TARGET: &str = "aarch64-unknown-none-softfloat";

/// The workspace root (the parent of this crate).
pub fn root() -> PathBuf {
    // `cargo run` sets this at run time too; the compile-time value covers a bare binary.
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), PathBuf::from)
}

/// The workspace's target directory, whatever `CARGO_TARGET_DIR` says: the images always land
/// in `target/` of the workspace, where the docs and the gdb command point.
pub fn target_dir() -> PathBuf {
    root().join("target")
}

/// A cargo command run from the workspace root, with the cargo (and so toolchain) that runs us.
pub fn cargo() -> Command {
    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(root());
    cargo
}

/// A command run from the workspace root.
pub fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}
