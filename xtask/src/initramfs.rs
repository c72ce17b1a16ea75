//! The initramfs: builds the EL0 programs of the `user` crate and packs them, as `bin/NAME`,
//! into a cpio `newc` archive at target/initramfs.cpio, which the kernel embeds (kernel/build.rs
//! names it, `kernel::initramfs` unpacks it at boot). Beside them: the C programs of user/c,
//! built with Debian's `aarch64-linux-gnu-gcc -static -O2` against glibc (`/bin/NAME-glibc`,
//! the proof that the ABI is Linux's), and Debian's own static busybox for arm64
//! ([`prereq::busybox`]) as `/bin/busybox`, with its applets as symlinks to it.
//!
//! The programs are built for the kernel's target triple but with their own RUSTFLAGS and
//! target directory (target/user): RUSTFLAGS replaces the `[target.*] rustflags` of
//! .cargo/config.toml, so none of the kernel's flags (`-Zpatchable-function-entry`, function
//! alignment) reach them; they are static, non-PIE (`-Crelocation-model=static`) executables
//! for Linux's arm64 ABI, with frame pointers for backtraces and no debug info (the archive
//! stays small).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace::{self, KERNEL_TARGET};
use crate::{Result, command, prereq};

/// The programs of the `user` crate that go into /bin.
pub const PROGRAMS: [&str; 17] = [
    "hello",
    "getppid",
    "fib",
    "crash",
    "badcall",
    "forkwait",
    "forkbomb",
    "forkexec",
    "fpsimd",
    "sigtest",
    "fstest",
    "jobctl",
    "ptracetest",
    "ptracebench",
    "strace",
    "pollread",
    "gdbserver",
];

/// The C programs (user/c/NAME.c), installed as `/bin/NAME-glibc`: a printf hello, the Linux
/// anchor's getppid bench, and a check of the process-attribute and memory syscalls.
pub const C_PROGRAMS: [&str; 3] = ["hello", "bench", "systest"];

/// busybox's applets that get a `/bin/NAME -> busybox` link (busybox picks the applet from
/// argv[0]); every one is in Debian's build (`busybox --list`). The console shell's own commands of the same names (`ls`, `cat`, `echo`...) still
/// win when typed there; programs run through `sh` and `execve` reach these.
pub const BUSYBOX_APPLETS: [&str; 74] = [
    "[", "ash", "awk", "basename", "cat", "chmod", "clear", "cmp", "cp", "cut", "date", "df",
    "diff", "dirname", "dmesg", "du", "echo", "egrep", "env", "expr", "false", "fgrep", "find",
    "free", "grep", "head", "hexdump", "hostname", "id", "kill", "ln", "ls", "md5sum", "mkdir",
    "mktemp", "more", "mount", "mv", "nproc", "od", "printf", "ps", "pwd", "readlink", "realpath",
    "rm", "rmdir", "sed", "seq", "setsid", "sh", "sleep", "sort", "stat", "stty", "sync", "tail",
    "tee", "test", "time", "timeout", "touch", "tr", "true", "tty", "umount", "uname", "uniq",
    "uptime", "usleep", "wc", "which", "xargs", "yes",
];

/// The flags of the user programs (all of them: RUSTFLAGS replaces the config's). They keep
/// their DWARF in target/user, for gdb on the host (`cargo xtask debug`); the initramfs gets
/// them stripped ([`strip_debug`]).
const USER_RUSTFLAGS: &str = "-Crelocation-model=static -Cforce-frame-pointers=yes -Cdebuginfo=2";

/// The toolchain's `llvm-objcopy` (the pinned `llvm-tools` component).
fn llvm_objcopy() -> Result<PathBuf> {
    let rustc = |arg: &str| command::output(workspace::command("rustc").arg(arg));
    let sysroot = rustc("--print=sysroot")?;
    let host = rustc("-vV")?
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or("rustc -vV names no host")?;
    Ok(PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-objcopy"))
}

/// `program`'s bytes without its debug sections (`llvm-objcopy --strip-debug`), as they go
/// into the image: the loaded segments are the built ones.
fn strip_debug(objcopy: &Path, program: &Path) -> Result<Vec<u8>> {
    let stripped = program.with_extension("stripped");
    command::run(
        workspace::command(&objcopy.display().to_string())
            .arg("--strip-debug")
            .arg(program)
            .arg(&stripped),
    )?;
    read(&stripped)
}

fn user_target_dir() -> PathBuf {
    workspace::target_dir().join("user")
}

/// `cargo SUBCOMMAND` (build, clippy) of the user programs, with their flags and target
/// directory.
pub fn user_cargo(subcommand: &str) -> Command {
    let mut cargo = workspace::cargo();
    cargo
        .args([
            subcommand,
            "-p",
            "user",
            "--bins",
            "--release",
            "--target",
            KERNEL_TARGET,
        ])
        .arg("--target-dir")
        .arg(user_target_dir())
        .env("RUSTFLAGS", USER_RUSTFLAGS)
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    cargo
}

/// Where the C programs are built.
fn c_target_dir() -> PathBuf {
    workspace::target_dir().join("user-c")
}

/// Builds `user/c/NAME.c` into target/user-c/NAME-glibc (static glibc, `-O2`) unless the
/// binary is newer than its source; returns the binary's path.
fn build_c_program(name: &str) -> Result<PathBuf> {
    let source = workspace::root().join("user/c").join(format!("{name}.c"));
    let output = c_target_dir().join(format!("{name}-glibc"));
    let modified = |path: &PathBuf| fs::metadata(path).and_then(|m| m.modified()).ok();
    let source_time =
        modified(&source).ok_or_else(|| format!("cannot read {}", source.display()))?;
    if modified(&output).is_some_and(|built| built >= source_time) {
        return Ok(output);
    }
    fs::create_dir_all(c_target_dir())
        .map_err(|error| format!("cannot create {}: {error}", c_target_dir().display()))?;
    command::run(
        workspace::command(prereq::CROSS_CC)
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(&output)
            .arg(&source),
    )?;
    Ok(output)
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    Ok(fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?)
}

/// The archive's path.
pub fn archive_path() -> PathBuf {
    workspace::target_dir().join("initramfs.cpio")
}

/// Builds the user programs and writes the archive (only when its bytes change, so an
/// unchanged archive does not relink the kernel).
pub fn prepare() -> Result<PathBuf> {
    command::run(&mut user_cargo("build"))?;
    let dir = user_target_dir().join(KERNEL_TARGET).join("release");
    let mut members = vec![Member::dir("bin")];
    let objcopy = llvm_objcopy()?;
    for program in PROGRAMS {
        members.push(Member::file(
            format!("bin/{program}"),
            0o755,
            strip_debug(&objcopy, &dir.join(program))?,
        ));
    }
    prereq::ensure_cross_cc()?;
    for program in C_PROGRAMS {
        members.push(Member::file(
            format!("bin/{program}-glibc"),
            0o755,
            read(&build_c_program(program)?)?,
        ));
    }
    members.push(Member::file(
        "bin/busybox".into(),
        0o755,
        read(&prereq::busybox()?)?,
    ));
    for applet in BUSYBOX_APPLETS {
        members.push(Member::symlink(format!("bin/{applet}"), "busybox"));
    }
    let archive = pack(&members);
    let path = archive_path();
    if fs::read(&path).ok().as_deref() != Some(archive.as_slice()) {
        fs::write(&path, &archive)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    Ok(path)
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// One archive member.
pub struct Member {
    name: String,
    mode: u32,
    data: Vec<u8>,
}

impl Member {
    pub fn dir(name: &str) -> Self {
        Self {
            name: name.to_string(),
            mode: S_IFDIR | 0o755,
            data: Vec::new(),
        }
    }

    pub fn file(name: String, perm: u32, data: Vec<u8>) -> Self {
        Self {
            name,
            mode: S_IFREG | perm,
            data,
        }
    }

    /// A symbolic link to `target`: as `gen_init_cpio` writes one, mode `S_IFLNK | 0777`, the
    /// target (without a NUL) as its data.
    pub fn symlink(name: String, target: &str) -> Self {
        Self {
            name,
            mode: S_IFLNK | 0o777,
            data: target.as_bytes().to_vec(),
        }
    }
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn header(out: &mut Vec<u8>, ino: usize, mode: u32, size: usize, name: &str) {
    let fields = [
        ino,
        mode as usize,
        0,
        0,
        1,
        0,
        size,
        0,
        0,
        0,
        0,
        name.len() + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for field in fields {
        out.extend_from_slice(format!("{field:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

/// A `newc` archive of `members`, ending with the trailer (Linux's `gen_init_cpio` format:
/// 4-byte alignment after the name and after the data, no checksums).
pub fn pack(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, member) in members.iter().enumerate() {
        header(
            &mut out,
            i + 1,
            member.mode,
            member.data.len(),
            &member.name,
        );
        out.extend_from_slice(&member.data);
        pad4(&mut out);
    }
    header(&mut out, 0, 0, 0, "TRAILER!!!");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout() {
        let archive = pack(&[
            Member::dir("bin"),
            Member::file("bin/a".into(), 0o755, b"xyz".to_vec()),
        ]);
        assert_eq!(&archive[..6], b"070701");
        // First header: mode 040755, name size 4 ("bin\0"), then the name, padded to 4.
        assert_eq!(&archive[14..22], b"000041ed");
        assert_eq!(&archive[94..102], b"00000004");
        assert_eq!(&archive[110..114], b"bin\0");
        // Second member: header at 116 (110 + 4 rounded up to 4), size 3, "bin/a\0", data.
        let second = 116;
        assert_eq!(&archive[second..second + 6], b"070701");
        assert_eq!(&archive[second + 54..second + 62], b"00000003");
        let data = second + 110 + 6; // 110 + 6 = 116: already aligned
        assert_eq!(&archive[data..data + 3], b"xyz");
        assert!(archive.len().is_multiple_of(4));
        let tail = String::from_utf8_lossy(&archive[archive.len() - 16..]).to_string();
        assert!(tail.contains("TRAILER!!!"), "{tail}");
    }

    #[test]
    fn symlinks_carry_their_target_as_data() {
        let archive = pack(&[Member::symlink("bin/sh".into(), "busybox")]);
        // Mode 0120777, size 7, name "bin/sh\0" (7 bytes: the data starts at 110 + 7 -> 120).
        assert_eq!(&archive[14..22], b"0000a1ff");
        assert_eq!(&archive[54..62], b"00000007");
        assert_eq!(&archive[94..102], b"00000007");
        assert_eq!(&archive[110..117], b"bin/sh\0");
        assert_eq!(&archive[120..127], b"busybox");
        assert_eq!(archive[127], 0);
    }

    #[test]
    fn applet_links_are_unique() {
        let mut applets = BUSYBOX_APPLETS.to_vec();
        applets.sort_unstable();
        applets.dedup();
        assert_eq!(applets.len(), BUSYBOX_APPLETS.len());
        assert!(!applets.contains(&"busybox"));
    }
}
