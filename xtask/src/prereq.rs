//! The tools the tasks need, checked before use: QEMU (and gdb-multiarch for `gdb`) from the
//! distribution, installed when we are root and named otherwise; the toolchain pinned in
//! rust-toolchain.toml, installed by rustup only when a target or component is missing so a
//! repeated run costs two quick queries.

use std::env;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::workspace;
use crate::{Result, command};

/// Makes sure `qemu-system-aarch64` is on PATH.
pub fn ensure_qemu() -> Result {
    ensure_program(scenario::qemu::QEMU, "qemu-system-arm")
}

/// Makes sure `gdb-multiarch` is on PATH.
pub fn ensure_gdb() -> Result {
    ensure_program("gdb-multiarch", "gdb-multiarch")
}

fn ensure_program(program: &str, package: &str) -> Result {
    if on_path(program) {
        return Ok(());
    }
    let install = format!("apt-get update && apt-get install -y {package}");
    if !is_root() {
        return Err(format!(
            "`{program}` is not installed; install it with: sudo sh -c '{install}'"
        )
        .into());
    }
    eprintln!("xtask: `{program}` is not installed; installing {package}");
    command::run(workspace::command("apt-get").arg("update"))?;
    command::run(
        workspace::command("apt-get")
            .args(["install", "-y", package])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if !on_path(program) {
        return Err(format!("installed {package}, but `{program}` is still not on PATH").into());
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    let Some(path) = env::var_os("PATH") else {
        return false;
    };
    env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.mode() & 0o111 != 0)
}

/// `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

/// Set once the toolchain passed: `test` builds two images and each build checks.
static TOOLCHAIN_CHECKED: AtomicBool = AtomicBool::new(false);

/// Installs the pinned toolchain's targets and components if any is missing.
pub fn ensure_toolchain() -> Result {
    if TOOLCHAIN_CHECKED.load(Ordering::Relaxed) {
        return Ok(());
    }
    ensure_pinned_toolchain()?;
    TOOLCHAIN_CHECKED.store(true, Ordering::Relaxed);
    Ok(())
}

fn ensure_pinned_toolchain() -> Result {
    if !on_path("rustup") {
        // Without rustup the toolchain is whatever the system provides; cargo will say if the
        // target is missing.
        return Ok(());
    }
    let toolchain_file = workspace::root().join("rust-toolchain.toml");
    let pinned = fs::read_to_string(&toolchain_file)
        .map_err(|error| format!("cannot read {}: {error}", toolchain_file.display()))?;
    let targets =
        command::output(workspace::command("rustup").args(["target", "list", "--installed"]))?;
    let components =
        command::output(workspace::command("rustup").args(["component", "list", "--installed"]))?;
    let missing_target = toml_list(&pinned, "targets")
        .into_iter()
        .find(|target| !targets.lines().any(|line| line.trim() == target));
    let missing_component = toml_list(&pinned, "components")
        .into_iter()
        .find(|component| !component_installed(&components, component));
    if let Some(missing) = missing_target.or(missing_component) {
        eprintln!("xtask: `{missing}` is missing from the pinned toolchain; installing it");
        command::run(workspace::command("rustup").args(["toolchain", "install"]))?;
    }
    Ok(())
}

/// Whether `rustup component list --installed` lists `component`. Host components carry the
/// host triple (`clippy-x86_64-unknown-linux-gnu`), read off `cargo-<triple>` which is always
/// installed; `rust-src` carries none.
fn component_installed(installed: &str, component: &str) -> bool {
    let host = installed
        .lines()
        .find_map(|line| line.trim().strip_prefix("cargo-"));
    installed.lines().map(str::trim).any(|line| {
        line == component
            || host.is_some_and(|host| {
                line.strip_suffix(host)
                    .and_then(|name| name.strip_suffix('-'))
                    == Some(component)
            })
    })
}

/// The strings of a one-line TOML array `key = ["a", "b"]` (the form rust-toolchain.toml uses).
fn toml_list(toml: &str, key: &str) -> Vec<String> {
    toml.lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')
        })
        .filter_map(|value| Some(value.trim().strip_prefix('[')?.split_once(']')?.0))
        .flat_map(|items| items.split(','))
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &str = r#"
[toolchain]
channel = "nightly-2026-05-20"
components = ["rust-src","llvm-tools", "rustfmt" ,"clippy"]
targets = ["aarch64-unknown-none-softfloat"]
profile = "minimal"
"#;

    #[test]
    fn reads_the_pinned_lists() {
        assert_eq!(
            toml_list(PINNED, "components"),
            ["rust-src", "llvm-tools", "rustfmt", "clippy"]
        );
        assert_eq!(
            toml_list(PINNED, "targets"),
            ["aarch64-unknown-none-softfloat"]
        );
        assert!(toml_list(PINNED, "profile").is_empty());
        assert!(toml_list(PINNED, "missing").is_empty());
        assert!(toml_list("targets = []", "targets").is_empty());
        assert!(toml_list("targets = [\"a\"", "targets").is_empty());
    }

    #[test]
    fn components_match_with_or_without_the_host_triple() {
        let installed = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\nllvm-tools-x86_64-unknown-linux-gnu\nrust-src\nrust-std-x86_64-unknown-linux-gnu\n";
        assert!(component_installed(installed, "rust-src"));
        assert!(component_installed(installed, "clippy"));
        assert!(component_installed(installed, "llvm-tools"));
        assert!(!component_installed(installed, "rustfmt"));
        assert!(!component_installed(installed, "rust"));
        assert!(!component_installed(installed, "llvm"));
        assert!(!component_installed(installed, "tools"));
        assert!(!component_installed(
            "clippy-x86_64-unknown-linux-gnu\n",
            "clippy"
        ));
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-xtask"));
    }
}
