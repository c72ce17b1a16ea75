//! The initramfs: a cpio `newc` archive that `cargo xtask build` packs (the user programs as
//! `bin/NAME`) and links into the image, unpacked into the VFS at boot (Linux:
//! `init/initramfs.c`). Directories become directories, regular files become
//! [`RegFile`](crate::fs::RegFile)s that read straight from the image (copied on their first
//! change), symbolic links (mode `S_IFLNK`, the data is the target) become links; other
//! types (devices, fifos) are skipped and counted.
//!
//! The parser ([`entries`]) is pure and host-tested; bad archives end the walk with an error,
//! never a panic.

use crate::fs::Errno;

/// The `newc` magic (no checksums).
pub const NEWC_MAGIC: &[u8; 6] = b"070701";
/// Header length: the magic and 13 eight-digit hex fields.
pub const HEADER_LEN: usize = 110;
/// The name of the last entry.
pub const TRAILER: &str = "TRAILER!!!";

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;

/// One archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path inside the archive, without a leading `/` or `./`.
    pub name: &'a str,
    pub mode: u32,
    pub data: &'a [u8],
}

fn hex_field(header: &[u8], index: usize) -> Result<u32, Errno> {
    let start = 6 + 8 * index;
    let text = core::str::from_utf8(&header[start..start + 8]).map_err(|_| Errno::EINVAL)?;
    u32::from_str_radix(text, 16).map_err(|_| Errno::EINVAL)
}

/// Walks the archive's entries up to the trailer.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries {
        rest: archive,
        done: false,
    }
}

pub struct Entries<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Entries<'a> {
    fn parse_one(&mut self) -> Result<Option<Entry<'a>>, Errno> {
        let archive = self.rest;
        if archive.len() < HEADER_LEN || &archive[..6] != NEWC_MAGIC {
            return Err(Errno::EINVAL);
        }
        let header = &archive[..HEADER_LEN];
        let mode = hex_field(header, 1)?;
        let file_size = hex_field(header, 6)? as usize;
        let name_size = hex_field(header, 11)? as usize;
        if name_size == 0 {
            return Err(Errno::EINVAL);
        }
        let name_end = HEADER_LEN.checked_add(name_size).ok_or(Errno::EINVAL)?;
        let data_start = name_end.next_multiple_of(4);
        let data_end = data_start.checked_add(file_size).ok_or(Errno::EINVAL)?;
        if data_end > archive.len() {
            return Err(Errno::EINVAL);
        }
        let name_bytes = &archive[HEADER_LEN..name_end];
        let Some((&0, name_bytes)) = name_bytes.split_last() else {
            return Err(Errno::EINVAL);
        };
        let name = core::str::from_utf8(name_bytes).map_err(|_| Errno::EINVAL)?;
        self.rest = &archive[data_end.next_multiple_of(4).min(archive.len())..];
        if name == TRAILER {
            return Ok(None);
        }
        let name = name.trim_start_matches("./").trim_start_matches('/');
        Ok(Some(Entry {
            name,
            mode,
            data: &archive[data_start..data_end],
        }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.parse_one() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

#[cfg(target_os = "none")]
pub use target::*;

#[cfg(target_os = "none")]
mod target {
    use super::*;
    use crate::fs::{self, RegFile};
    use crate::println;

    /// The archive `cargo xtask build` wrote (target/initramfs.cpio; an empty one before it
    /// ever ran, see build.rs), linked into rodata.
    static INITRAMFS: &[u8] = include_bytes!(env!("INITRAMFS_PATH"));

    /// The nodes every root has before the archive is unpacked (Linux's `default_rootfs` and
    /// devtmpfs): `/dev/{console,tty,null,zero}` and `/tmp`.
    fn populate_rootfs() {
        use alloc::sync::Arc;
        let console: Arc<dyn fs::dev::CharDevice> = Arc::new(crate::console::ConsoleDevice);
        let nodes: [(&str, Arc<dyn fs::dev::CharDevice>); 4] = [
            ("/dev/console", console.clone()),
            ("/dev/tty", Arc::new(fs::dev::ControllingTty(console))),
            ("/dev/null", Arc::new(fs::dev::Null)),
            ("/dev/zero", Arc::new(fs::dev::Zero)),
        ];
        for (path, device) in nodes {
            if let Err(error) = fs::vfs().add_device(path, device) {
                println!("initramfs: {path}: {error}");
            }
        }
        if let Err(error) = fs::mkdir_p("/tmp") {
            println!("initramfs: /tmp: {error}");
        }
    }

    /// Unpacks the built-in archive under `/`.
    pub fn init() {
        populate_rootfs();
        let (mut files, mut dirs, mut links, mut skipped) = (0, 0, 0, 0);
        for entry in entries(INITRAMFS) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    println!("initramfs: bad archive ({error}), unpacking stopped");
                    break;
                }
            };
            if entry.name.is_empty() || entry.name == "." {
                continue;
            }
            let path = alloc::format!("/{}", entry.name);
            let result = match entry.mode & S_IFMT {
                S_IFDIR => fs::mkdir_p(&path).map(|()| dirs += 1),
                S_IFREG => fs::vfs()
                    .add_regular(&path, RegFile::new_static(entry.data, entry.mode))
                    .map(|()| files += 1),
                S_IFLNK => core::str::from_utf8(entry.data)
                    .map_err(|_| Errno::EINVAL)
                    .and_then(|target| fs::vfs().add_symlink(&path, target))
                    .map(|()| links += 1),
                _ => {
                    skipped += 1;
                    Ok(())
                }
            };
            if let Err(error) = result {
                println!("initramfs: {path}: {error}");
            }
        }
        println!(
            "initramfs: {} bytes, {files} files, {dirs} directories, {links} symlinks, {skipped} others skipped",
            INITRAMFS.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn member(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        let header = alloc::format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    fn archive() -> Vec<u8> {
        let mut out = Vec::new();
        member(&mut out, "bin", S_IFDIR | 0o755, b"");
        member(&mut out, "bin/hello", S_IFREG | 0o755, b"\x7fELF...");
        member(&mut out, "./etc/motd", S_IFREG | 0o644, b"hi\n");
        member(&mut out, TRAILER, 0, b"");
        out
    }

    #[test]
    fn walks_every_member_to_the_trailer() {
        let archive = archive();
        let found: Vec<Entry<'_>> = entries(&archive).collect::<Result<_, _>>().unwrap();
        let names: Vec<&str> = found.iter().map(|e| e.name).collect();
        assert_eq!(names, ["bin", "bin/hello", "etc/motd"]);
        assert_eq!(found[0].mode & S_IFMT, S_IFDIR);
        assert_eq!(found[1].data, b"\x7fELF...");
        assert_eq!(found[1].mode, S_IFREG | 0o755);
        assert_eq!(found[2].data, b"hi\n");
    }

    #[test]
    fn bad_archives_end_with_einval() {
        let good = archive();
        // Empty, wrong magic, truncated header, truncated data, non-hex field.
        assert_eq!(entries(b"").next(), Some(Err(Errno::EINVAL)));
        let mut magic = good.clone();
        magic[5] = b'7';
        assert_eq!(entries(&magic).next(), Some(Err(Errno::EINVAL)));
        assert_eq!(entries(&good[..50]).next(), Some(Err(Errno::EINVAL)));
        let cut = &good[..good.len() - 130];
        let result: Result<Vec<_>, _> = entries(cut).collect();
        assert_eq!(result, Err(Errno::EINVAL));
        let mut nonhex = good.clone();
        nonhex[6 + 8 * 6] = b'z';
        assert_eq!(entries(&nonhex).next(), Some(Err(Errno::EINVAL)));
        // A huge size field does not overflow or panic.
        let mut huge = good.clone();
        huge[6 + 8 * 6..6 + 8 * 7].copy_from_slice(b"ffffffff");
        assert_eq!(entries(&huge).next(), Some(Err(Errno::EINVAL)));
        // A name without its NUL.
        let mut nonul = good;
        nonul[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000003");
        assert_eq!(entries(&nonul).next(), Some(Err(Errno::EINVAL)));
        // No trailer: the walk ends with an error, not silently.
        let mut untrailed = Vec::new();
        member(&mut untrailed, "a", S_IFREG, b"x");
        let result: Result<Vec<_>, _> = entries(&untrailed).collect();
        assert_eq!(result, Err(Errno::EINVAL));
    }
}
