//! Directories whose entries are made when they are looked up, not stored in the tree: a
//! pseudo filesystem such as procfs, whose `/proc/PID` entries come and go with processes
//! (Linux: a pseudo filesystem's `inode_operations.lookup` and `file_operations.iterate_shared`).
//!
//! The tree mounts a [`DirOps`] at a path; a walk that reaches it asks it for each further
//! name. Its answers are [`DirEntry`]s: more generated directories, handler files
//! ([`FileOps`]) or symbolic links (`/proc/self`, `/proc/PID/exe`). Lookups run without any
//! VFS lock held and in the context of the task that walks, so `/proc/self` can answer with
//! the caller's pid.

use super::{Errno, FileOps};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What a generated directory holds under one name.
pub enum DirEntry {
    /// A generated subdirectory (`/proc/42`).
    Dir(Arc<dyn DirOps>),
    /// A file whose content a handler makes (`/proc/42/status`).
    File(Arc<dyn FileOps>),
    /// A symbolic link and its target (`/proc/self` -> `42`, `/proc/42/exe` -> `/bin/hello`).
    Symlink(String),
}

/// A directory whose entries are generated on demand.
pub trait DirOps: Send + Sync {
    /// The entry called `name` (one path component, never `.` or `..`): `ENOENT` if there is
    /// none.
    fn lookup(&self, name: &str) -> Result<DirEntry, Errno>;

    /// The names of the entries, in the order a listing shows them. `ENOMEM` if the list
    /// cannot be allocated.
    fn list(&self) -> Result<Vec<String>, Errno>;
}
