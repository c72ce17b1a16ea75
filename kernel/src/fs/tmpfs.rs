//! Regular files with real content (Linux: `mm/shmem.c`'s tmpfs, and the rootfs the initramfs
//! unpacks into): bytes at offsets, partial reads, writes that grow the file, `ftruncate`.
//!
//! An initramfs member starts as a borrowed view of the image ([`RegFile::new_static`], no
//! copy: `execve` loads it straight from there) and becomes an owned buffer on its first change.
//! Growth is fallible: a write that cannot get memory fails with `ENOSPC`, as a full tmpfs.

use super::{Errno, FileOps, WriteMode};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::RwLock;

/// The largest size a file may grow to (Linux's `MAX_LFS_FILESIZE` is far larger; our memory
/// is not): a write or truncate past it is `EFBIG`.
pub const MAX_FILE_SIZE: u64 = 1 << 30;

enum Content {
    /// Bytes of the kernel image, never freed.
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl Content {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Static(data) => data,
            Self::Owned(data) => data,
        }
    }

    /// The owned buffer, copying a static view first.
    fn owned(&mut self) -> Result<&mut Vec<u8>, Errno> {
        if let Self::Static(data) = *self {
            let mut copy = Vec::new();
            copy.try_reserve_exact(data.len())
                .map_err(|_| Errno::ENOSPC)?;
            copy.extend_from_slice(data);
            *self = Self::Owned(copy);
        }
        match self {
            Self::Owned(data) => Ok(data),
            Self::Static(_) => Err(Errno::ENOSPC),
        }
    }
}

/// A regular file's content and permission bits.
pub struct RegFile {
    content: RwLock<Content>,
    mode: AtomicU32,
}

impl RegFile {
    /// A file showing `data` (an initramfs member); `mode`'s permission bits are kept.
    pub fn new_static(data: &'static [u8], mode: u32) -> Self {
        Self {
            content: RwLock::new(Content::Static(data)),
            mode: AtomicU32::new(mode & 0o7777),
        }
    }

    /// An empty file (`open(O_CREAT)`).
    pub fn new_empty(mode: u32) -> Self {
        Self {
            content: RwLock::new(Content::Owned(Vec::new())),
            mode: AtomicU32::new(mode & 0o7777),
        }
    }

    pub fn size(&self) -> u64 {
        self.content.read().bytes().len() as u64
    }

    pub fn perm(&self) -> u16 {
        self.mode.load(Ordering::Relaxed) as u16
    }

    /// `chmod`: the new permission bits.
    pub fn set_perm(&self, perm: u32) {
        self.mode.store(perm & 0o7777, Ordering::Relaxed);
    }

    /// Copies the bytes at `offset` into `buf`: how many (0 at or past the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        let content = self.content.read();
        let data = content.bytes();
        let Ok(start) = usize::try_from(offset) else {
            return 0;
        };
        if start >= data.len() {
            return 0;
        }
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        n
    }

    /// Writes `data` at `offset` (a hole before it reads as zeros); `None` for the offset means
    /// the end of the file, decided under the lock (`O_APPEND`). Returns the offset after
    /// the data.
    pub fn write_at(&self, offset: Option<u64>, data: &[u8]) -> Result<u64, Errno> {
        let mut content = self.content.write();
        let buf = content.owned()?;
        let start = offset.unwrap_or(buf.len() as u64);
        let end = start.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let (start, end) = (start as usize, end as usize);
        if end > buf.len() {
            buf.try_reserve(end - buf.len())
                .map_err(|_| Errno::ENOSPC)?;
            buf.resize(end, 0);
        }
        buf[start..end].copy_from_slice(data);
        Ok(end as u64)
    }

    /// Sets the size to `len`, dropping bytes past it or adding zeros.
    pub fn truncate(&self, len: u64) -> Result<(), Errno> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut content = self.content.write();
        if len == 0 {
            *content = Content::Owned(Vec::new());
            return Ok(());
        }
        let buf = content.owned()?;
        let len = len as usize;
        if len > buf.len() {
            buf.try_reserve(len - buf.len())
                .map_err(|_| Errno::ENOSPC)?;
        }
        buf.resize(len, 0);
        Ok(())
    }
}

/// The kernel shell's view: `cat` streams the text, `echo >`/`>>` write whole.
impl FileOps for RegFile {
    fn read(&self, out: &mut dyn fmt::Write) -> Result<(), Errno> {
        let content = self.content.read();
        let text = core::str::from_utf8(content.bytes()).map_err(|_| Errno::EINVAL)?;
        out.write_str(text).map_err(|_| Errno::EIO)
    }

    fn write(&self, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        if mode == WriteMode::Truncate {
            self.truncate(0)?;
        }
        self.write_at(None, data).map(drop)
    }

    fn mode(&self) -> u16 {
        self.perm()
    }

    fn bytes(&self) -> Option<&[u8]> {
        match *self.content.read() {
            Content::Static(data) => Some(data),
            Content::Owned(_) => None,
        }
    }

    fn copy_bytes(&self) -> Option<Result<Vec<u8>, Errno>> {
        let content = self.content.read();
        let data = content.bytes();
        let mut copy = Vec::new();
        Some(match copy.try_reserve_exact(data.len()) {
            Ok(()) => {
                copy.extend_from_slice(data);
                Ok(copy)
            }
            Err(_) => Err(Errno::ENOMEM),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn static_files_read_at_offsets_and_copy_on_write() {
        let file = RegFile::new_static(b"hello world", 0o100755);
        assert_eq!(file.perm(), 0o755);
        assert_eq!(file.bytes(), Some(&b"hello world"[..]));
        let mut buf = [0u8; 5];
        assert_eq!(file.read_at(6, &mut buf), 5);
        assert_eq!(&buf, b"world");
        assert_eq!(file.read_at(9, &mut buf), 2);
        assert_eq!(file.read_at(11, &mut buf), 0);
        assert_eq!(file.read_at(u64::MAX, &mut buf), 0);
        assert_eq!(file.write_at(Some(0), b"J"), Ok(1));
        assert_eq!(file.bytes(), None);
        let mut out = String::new();
        file.read(&mut out).unwrap();
        assert_eq!(out, "Jello world");
    }

    #[test]
    fn writes_grow_with_holes_and_append() {
        let file = RegFile::new_empty(0o644);
        assert_eq!(file.write_at(Some(4), b"ab"), Ok(6));
        let mut buf = [9u8; 8];
        assert_eq!(file.read_at(0, &mut buf), 6);
        assert_eq!(&buf[..6], b"\0\0\0\0ab");
        assert_eq!(file.write_at(None, b"c"), Ok(7));
        assert_eq!(file.size(), 7);
        assert_eq!(file.write_at(Some(MAX_FILE_SIZE), b"x"), Err(Errno::EFBIG));
        assert_eq!(file.write_at(Some(u64::MAX), b"x"), Err(Errno::EFBIG));
        assert_eq!(file.size(), 7);
    }

    #[test]
    fn truncate_shrinks_and_extends() {
        let file = RegFile::new_static(b"abcdef", 0o644);
        file.truncate(3).unwrap();
        assert_eq!(file.size(), 3);
        file.truncate(5).unwrap();
        let mut buf = [1u8; 5];
        assert_eq!(file.read_at(0, &mut buf), 5);
        assert_eq!(&buf, b"abc\0\0");
        assert_eq!(file.truncate(MAX_FILE_SIZE + 1), Err(Errno::EFBIG));
        file.write(b"new", WriteMode::Truncate).unwrap();
        file.write(b"+", WriteMode::Append).unwrap();
        let mut out = String::new();
        file.read(&mut out).unwrap();
        assert_eq!(out, "new+");
    }
}
