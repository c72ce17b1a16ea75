//! The tools the tasks need, checked before use: QEMU and gdb-multiarch (for `gdb`, `debug`
//! and the scenarios that drive gdb against the guest's gdbserver) and the
//! AArch64 cross compiler with glibc (for the C programs of the initramfs) from the
//! distribution, installed when we are root and named otherwise; Debian's `busybox-static` for
//! arm64, downloaded once with `apt-get download` and cached under target/busybox; the
//! toolchain pinned in rust-toolchain.toml, installed by rustup only when a target or component
//! is missing so a repeated run costs two quick queries.

use std::env;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::workspace;
use crate::{Result, command};

/// Makes sure `qemu-system-aarch64` is on PATH.
pub fn ensure_qemu() -> Result {
    ensure_program(scenario::qemu::QEMU, &["qemu-system-arm"])
}

/// Makes sure `gdb-multiarch` is on PATH (`cargo xtask test` checks it with QEMU).
pub fn ensure_gdb() -> Result {
    ensure_program("gdb-multiarch", &["gdb-multiarch"])
}

/// The C cross compiler for Linux on arm64, with glibc's static libraries.
pub const CROSS_CC: &str = "aarch64-linux-gnu-gcc";
/// The file `-static` links against: missing when only the compiler is installed.
const CROSS_LIBC: &str = "/usr/aarch64-linux-gnu/lib/libc.a";

/// Makes sure `aarch64-linux-gnu-gcc` and glibc's static libraries for arm64 are installed.
pub fn ensure_cross_cc() -> Result {
    let packages = ["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"];
    if !Path::new(CROSS_LIBC).exists() {
        // The program is there but not the library: install both anyway (a no-op for one).
        return install(CROSS_CC, &packages).and_then(|()| {
            if Path::new(CROSS_LIBC).exists() {
                Ok(())
            } else {
                Err(format!("installed {packages:?}, but {CROSS_LIBC} is still missing").into())
            }
        });
    }
    ensure_program(CROSS_CC, &packages)
}

fn ensure_program(program: &str, packages: &[&str]) -> Result {
    if on_path(program) {
        return Ok(());
    }
    install(program, packages)?;
    if !on_path(program) {
        return Err(format!("installed {packages:?}, but `{program}` is still not on PATH").into());
    }
    Ok(())
}

/// Installs `packages` (which provide `program`) with apt when we are root; says how otherwise.
fn install(program: &str, packages: &[&str]) -> Result {
    let packages_line = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "`{program}` is not installed; install it with: sudo sh -c 'apt-get update && \
             apt-get install -y {packages_line}'"
        )
        .into());
    }
    eprintln!("xtask: `{program}` is not installed; installing {packages_line}");
    command::run(apt_get().arg("update"))?;
    command::run(
        apt_get()
            .args(["install", "-y"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// `apt-get` that neither waits forever on another apt's lock nor on a silent mirror.
fn apt_get() -> std::process::Command {
    let mut apt = workspace::command("apt-get");
    apt.args([
        "-o",
        "DPkg::Lock::Timeout=120",
        "-o",
        "Acquire::Retries=2",
        "-o",
        "Acquire::http::Timeout=30",
        "-o",
        "Acquire::https::Timeout=30",
    ]);
    apt
}

/// Debian's package of the static busybox, and the architecture it is fetched for.
const BUSYBOX_PACKAGE: &str = "busybox-static:arm64";

/// Debian's arm64 busybox (a static glibc program), extracted from `busybox-static:arm64` into
/// target/busybox/busybox on the first call and taken from there afterwards. Needs arm64 among
/// dpkg's architectures (added, with an `apt-get update`, when we are root; named otherwise).
pub fn busybox() -> Result<PathBuf> {
    let dir = workspace::target_dir().join("busybox");
    let cached = dir.join("busybox");
    if cached.is_file() {
        return Ok(cached);
    }
    fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    ensure_arm64_architecture()?;
    let deb = match download_deb(&dir) {
        Ok(deb) => deb,
        // An index without arm64 lists (the architecture was added by someone else, or the
        // lists are stale): refresh them once and try again.
        Err(first) if is_root() => {
            eprintln!("xtask: {first}; updating the package lists and trying again");
            command::run(apt_get().arg("update"))?;
            download_deb(&dir)?
        }
        Err(error) => {
            return Err(format!(
                "{error}\nxtask needs Debian's {BUSYBOX_PACKAGE}: as root run `dpkg \
                 --add-architecture arm64 && apt-get update`, or put an arm64 busybox at {}",
                cached.display()
            )
            .into());
        }
    };
    let unpacked = dir.join("deb-root");
    let _ = fs::remove_dir_all(&unpacked);
    command::run(
        workspace::command("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&unpacked),
    )?;
    let binary = unpacked.join("bin/busybox");
    // Copy then rename: an interrupted run leaves no half a binary as the cache.
    let partial = dir.join("busybox.partial");
    fs::copy(&binary, &partial)
        .map_err(|error| format!("{} has no bin/busybox: {error}", deb.display()))?;
    fs::rename(&partial, &cached)
        .map_err(|error| format!("cannot write {}: {error}", cached.display()))?;
    let _ = fs::remove_dir_all(&unpacked);
    let _ = fs::remove_file(&deb);
    Ok(cached)
}

/// Adds arm64 to dpkg's foreign architectures (and updates the lists) if it is missing.
fn ensure_arm64_architecture() -> Result {
    let foreign = command::output(workspace::command("dpkg").arg("--print-foreign-architectures"))?;
    if foreign.lines().any(|line| line.trim() == "arm64") {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "dpkg does not know the arm64 architecture, needed to fetch {BUSYBOX_PACKAGE}; add \
             it with: sudo sh -c 'dpkg --add-architecture arm64 && apt-get update'"
        )
        .into());
    }
    eprintln!("xtask: adding the arm64 architecture to dpkg, for {BUSYBOX_PACKAGE}");
    command::run(workspace::command("dpkg").args(["--add-architecture", "arm64"]))?;
    command::run(apt_get().arg("update"))
}

/// `apt-get download`s the package into `dir` (apt's `_apt` user may not write there, so the
/// download runs as ourselves) and returns the .deb's path.
fn download_deb(dir: &Path) -> Result<PathBuf> {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "deb") {
            let _ = fs::remove_file(entry.path());
        }
    }
    let mut apt = apt_get();
    apt.current_dir(dir);
    if is_root() {
        apt.args(["-o", "APT::Sandbox::User=root"]);
    }
    command::run(apt.args(["download", BUSYBOX_PACKAGE]))?;
    fs::read_dir(dir)
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("busybox-static_") && name.ends_with(".deb"))
        })
        .ok_or_else(|| format!("`apt-get download {BUSYBOX_PACKAGE}` left no .deb").into())
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
