//! The initramfs: builds the EL0 programs of the `user` crate and packs them, as `bin/NAME`,
//! into a cpio `newc` archive at target/initramfs.cpio, which the kernel embeds (kernel/build.rs
//! names it, `kernel::initramfs` unpacks it at boot).
//!
//! The programs are built for the kernel's target triple but with their own RUSTFLAGS and
//! target directory (target/user): RUSTFLAGS replaces the `[target.*] rustflags` of
//! .cargo/config.toml, so none of the kernel's flags (`-Zpatchable-function-entry`, function
//! alignment) reach them; they are static, non-PIE (`-Crelocation-model=static`) executables
//! for Linux's arm64 ABI, with frame pointers for backtraces and no debug info (the archive
//! stays small).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::workspace::{self, KERNEL_TARGET};
use crate::{Result, command};

/// The programs of the `user` crate that go into /bin.
pub const PROGRAMS: [&str; 11] = [
    "hello", "getppid", "fib", "crash", "badcall", "forkwait", "forkbomb", "forkexec", "fpsimd",
    "sigtest", "fstest",
];

/// The flags of the user programs (all of them: RUSTFLAGS replaces the config's).
const USER_RUSTFLAGS: &str =
    "-Crelocation-model=static -Cforce-frame-pointers=yes -Cdebuginfo=0 -Cstrip=debuginfo";

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
    for program in PROGRAMS {
        let path = dir.join(program);
        let data =
            fs::read(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        members.push(Member::file(format!("bin/{program}"), 0o755, data));
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
}
