//! The VFS that tracefs, procfs and debugfs files live in: an in-memory tree of directories
//! and handler-backed files ([`FileOps`]), Linux error numbers ([`Errno`]) and path syntax
//! ([`path`]).
//!
//! Subsystems register their files at init through the free functions here, which act on the
//! kernel's one global tree; the shell reads and writes them. A [`Vfs`] can also stand alone
//! (the host tests build their own). Nothing here touches hardware.
//!
//! ```ignore
//! fs::register_file("/sys/kernel/tracing/current_tracer", fs::read_write(
//!     |out| Ok(writeln!(out, "{}", current_tracer())?),
//!     |data, _mode| set_current_tracer(data),
//! ))?;
//! ```

pub mod dev;
mod dir_ops;
mod errno;
pub mod fdtable;
#[cfg(target_os = "none")]
pub mod file;
mod file_ops;
pub mod path;
pub mod pipe;
pub mod poll;
pub mod procfs;
pub mod tmpfs;
pub mod tty;
mod vfs;

pub use dir_ops::{DirEntry, DirOps};
pub use errno::Errno;
pub use file_ops::{FileOps, WriteMode, read_only, read_write, write_only};
pub use tmpfs::RegFile;
pub use vfs::{
    Inode, Kind, MAXSYMLINKS, NodeKind, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG,
    S_IFSOCK, Stat, Vfs,
};

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

static VFS: Vfs = Vfs::new();

/// The kernel's tree, for code that takes a `&Vfs` (the shell).
pub fn vfs() -> &'static Vfs {
    &VFS
}

/// Adds a file to the kernel's tree: see [`Vfs::register_file`].
pub fn register_file(path: &str, file: impl FileOps + 'static) -> Result<(), Errno> {
    VFS.register_file(path, file)
}

/// Creates a directory and its parents in the kernel's tree: see [`Vfs::mkdir_p`].
pub fn mkdir_p(path: &str) -> Result<(), Errno> {
    VFS.mkdir_p(path)
}

/// Attaches a generated directory (procfs) at `path` of the kernel's tree: see
/// [`Vfs::mount`].
pub fn mount(path: &str, ops: Arc<dyn DirOps>) -> Result<(), Errno> {
    VFS.mount(path, ops)
}

/// Removes a file or directory tree from the kernel's tree: see [`Vfs::remove`].
pub fn remove(path: &str) -> Result<(), Errno> {
    VFS.remove(path)
}

/// What `path` names in the kernel's tree: see [`Vfs::lookup`].
pub fn lookup(path: &str) -> Result<NodeKind, Errno> {
    VFS.lookup(path)
}

/// Streams a file of the kernel's tree into `out`: see [`Vfs::read`].
pub fn read(path: &str, out: &mut dyn fmt::Write) -> Result<(), Errno> {
    VFS.read(path, out)
}

/// Writes to a file of the kernel's tree: see [`Vfs::write`].
pub fn write(path: &str, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
    VFS.write(path, data, mode)
}

/// A directory's sorted entries in the kernel's tree: see [`Vfs::list`].
pub fn list(path: &str) -> Result<Vec<String>, Errno> {
    VFS.list(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_functions_act_on_the_global_tree() {
        let file = read_only(|out| Ok(out.write_str("v1\n")?));
        register_file("/fs-test/version", file).unwrap();
        mkdir_p("/fs-test/dir/sub").unwrap();
        assert_eq!(
            lookup("/fs-test/version"),
            Ok(NodeKind::File { mode: 0o444 })
        );
        assert_eq!(list("/fs-test").unwrap(), ["dir", "version"]);
        let mut out = String::new();
        read("/fs-test/version", &mut out).unwrap();
        assert_eq!(out, "v1\n");
        assert_eq!(
            write("/fs-test/version", b"x", WriteMode::Truncate),
            Err(Errno::EINVAL)
        );
        assert_eq!(vfs().lookup("/fs-test/dir/sub"), Ok(NodeKind::Dir));
        remove("/fs-test").unwrap();
        assert_eq!(lookup("/fs-test/version"), Err(Errno::ENOENT));
    }
}
