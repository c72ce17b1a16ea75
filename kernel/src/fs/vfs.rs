//! The in-memory tree (Linux: the dcache/inode layer of `fs/namei.c` and `fs/libfs.c`, with
//! rootfs's tmpfs semantics): [`Inode`]s with numbers, directories of named entries, handler
//! files ([`FileOps`]), regular files with content ([`RegFile`]), symbolic links, character
//! devices, and generated directories ([`DirOps`], mounted with [`Vfs::mount`]).
//!
//! Every directory has its own lock, held only long enough to find or change one entry: a walk
//! clones the child's `Arc` and lets go, so handlers and generators run unlocked and may change
//! the tree themselves (writing `kprobe_events` creates event directories).
//!
//! Path walks ([`Vfs::walk`]) follow Linux's rules: relative paths start at a base directory
//! (a process's cwd or a `dirfd`), `..` goes to the real parent (so `/file/..` is `ENOTDIR`),
//! symbolic links are followed in the middle of a path always and at its end on request, at
//! most [`MAXSYMLINKS`] of them (`ELOOP` past that), and a trailing slash demands a directory.

use super::dev::CharDevice;
use super::path::{PATH_MAX, check_absolute, check_name, components, normalize};
use super::tmpfs::RegFile;
use super::{DirEntry, DirOps, Errno, FileOps, WriteMode};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::{Once, RwLock};

/// A copy of `s`; `ENOMEM` if it cannot be allocated.
fn owned(s: &str) -> Result<String, Errno> {
    let mut copy = String::new();
    copy.try_reserve(s.len()).map_err(|_| Errno::ENOMEM)?;
    copy.push_str(s);
    Ok(copy)
}

/// How many symbolic links one walk may follow (Linux's `MAXSYMLINKS`).
pub const MAXSYMLINKS: u32 = 40;

// File type bits of `st_mode` (include/uapi/linux/stat.h).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

/// What a path names (symbolic links followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File {
        /// The file's permission bits.
        mode: u16,
    },
}

/// The `stat` data of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stat {
    pub ino: u64,
    /// Type bits and permissions.
    pub mode: u32,
    pub nlink: u32,
    pub size: u64,
    /// `(major, minor)` of a device node.
    pub rdev: (u32, u32),
    pub blksize: u32,
    /// 512-byte blocks.
    pub blocks: u64,
}

/// One file of the tree.
pub struct Inode {
    ino: u64,
    kind: Kind,
}

/// What an inode is.
pub enum Kind {
    Dir(Directory),
    /// A file whose content a handler makes (tracefs, debugfs, procfs): size 0, as Linux's.
    Handler(Arc<dyn FileOps>),
    Regular(Arc<RegFile>),
    Symlink(String),
    Device(Arc<dyn CharDevice>),
}

/// A directory's stored entries, by name.
type Entries = BTreeMap<String, Arc<Inode>>;

/// A directory's entries.
pub struct Directory {
    entries: RwLock<Entries>,
    /// Makes the entries not stored here (a mounted [`DirOps`], or the whole content of a
    /// generated directory).
    generator: RwLock<Option<Arc<dyn DirOps>>>,
    /// `..`; the root's is empty (its `..` is itself).
    parent: RwLock<Weak<Inode>>,
    /// Whether this directory's entries come only from a generator (`/proc/42`).
    generated: bool,
    /// A pseudo filesystem's directory (made for handler files, or generated): users cannot
    /// create entries in it (`EACCES`, as in tracefs or procfs).
    pseudo: bool,
    /// Set once it is removed: nothing can be created in it any more (a process may still
    /// have it as cwd).
    dead: AtomicBool,
    mode: u16,
}

impl Inode {
    pub fn ino(&self) -> u64 {
        self.ino
    }

    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    pub fn as_dir(&self) -> Option<&Directory> {
        match &self.kind {
            Kind::Dir(dir) => Some(dir),
            _ => None,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.as_dir().is_some()
    }

    pub fn stat(&self) -> Stat {
        let (mode, nlink, size, rdev) = match &self.kind {
            Kind::Dir(dir) => {
                let subdirs = dir.entries.read().values().filter(|i| i.is_dir()).count();
                (S_IFDIR | u32::from(dir.mode), 2 + subdirs as u32, 0, (0, 0))
            }
            Kind::Handler(ops) => (S_IFREG | u32::from(ops.mode()), 1, 0, (0, 0)),
            Kind::Regular(file) => (S_IFREG | u32::from(file.perm()), 1, file.size(), (0, 0)),
            Kind::Symlink(target) => (S_IFLNK | 0o777, 1, target.len() as u64, (0, 0)),
            Kind::Device(dev) => (S_IFCHR | 0o666, 1, 0, dev.rdev()),
        };
        Stat {
            ino: self.ino,
            mode,
            nlink,
            size,
            rdev,
            blksize: 4096,
            blocks: size.div_ceil(512),
        }
    }

    /// The names in this directory: stored entries (sorted), then generated ones not shadowed
    /// by them. `ENOTDIR` for a file.
    pub fn names(&self) -> Result<Vec<String>, Errno> {
        let dir = self.as_dir().ok_or(Errno::ENOTDIR)?;
        let mut names: Vec<String> = Vec::new();
        {
            let entries = dir.entries.read();
            names
                .try_reserve(entries.len())
                .map_err(|_| Errno::ENOMEM)?;
            names.extend(entries.keys().cloned());
        }
        let generator = dir.generator.read().clone();
        if let Some(generator) = generator {
            let stored = names.len();
            for name in generator.list()? {
                if names[..stored].binary_search(&name).is_err() {
                    names.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    /// The entry `name` of this directory (one component, not `.` or `..`).
    pub fn lookup(self: &Arc<Self>, name: &str) -> Result<Arc<Inode>, Errno> {
        let dir = self.as_dir().ok_or(Errno::ENOTDIR)?;
        if let Some(child) = dir.entries.read().get(name) {
            return Ok(child.clone());
        }
        let generator = dir.generator.read().clone();
        let entry = generator.ok_or(Errno::ENOENT)?.lookup(name)?;
        let ino = generated_ino(self.ino, name);
        let kind = match entry {
            DirEntry::Dir(ops) => Kind::Dir(Directory::new(0o555, Arc::downgrade(self), Some(ops))),
            DirEntry::File(ops) => Kind::Handler(ops),
            DirEntry::Symlink(target) => Kind::Symlink(target),
        };
        Arc::try_new(Inode { ino, kind }).map_err(|_| Errno::ENOMEM)
    }

    /// The parent directory (itself for the root).
    pub fn parent(self: &Arc<Self>) -> Arc<Inode> {
        self.as_dir()
            .and_then(|dir| dir.parent.read().upgrade())
            .unwrap_or_else(|| self.clone())
    }
}

impl Directory {
    fn new(mode: u16, parent: Weak<Inode>, generator: Option<Arc<dyn DirOps>>) -> Self {
        Self {
            entries: RwLock::new(BTreeMap::new()),
            generated: generator.is_some(),
            pseudo: generator.is_some(),
            generator: RwLock::new(generator),
            parent: RwLock::new(parent),
            dead: AtomicBool::new(false),
            mode,
        }
    }

    fn is_empty(&self) -> bool {
        self.entries.read().is_empty()
    }
}

/// A generated entry's inode number: the same every time it is looked up, far from the
/// sequential numbers of stored inodes.
fn generated_ino(parent: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ parent;
    for byte in name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash | 1 << 62
}

/// One VFS tree. The kernel has a global one (see the free functions in [`crate::fs`]);
/// tests build their own.
///
/// The registration functions (`register_file`, `mkdir_p`, `remove`, `mount`) take absolute
/// paths and normalize them lexically; `lookup`, `read`, `write`, `list` take absolute paths
/// and walk them as a syscall would (symlinks followed).
pub struct Vfs {
    root: Once<Arc<Inode>>,
    next_ino: AtomicU64,
}

impl Default for Vfs {
    fn default() -> Self {
        Self::new()
    }
}

/// Inode number of the root, as Linux's rootfs.
const ROOT_INO: u64 = 1;

impl Vfs {
    /// An empty tree: just `/`.
    pub const fn new() -> Self {
        Self {
            root: Once::new(),
            next_ino: AtomicU64::new(ROOT_INO + 1),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Arc<Inode> {
        self.root.call_once(|| {
            Arc::new(Inode {
                ino: ROOT_INO,
                kind: Kind::Dir(Directory::new(0o755, Weak::new(), None)),
            })
        })
    }

    fn new_inode(&self, kind: Kind) -> Result<Arc<Inode>, Errno> {
        let ino = self.next_ino.fetch_add(1, Ordering::Relaxed);
        Arc::try_new(Inode { ino, kind }).map_err(|_| Errno::ENOMEM)
    }

    /// Resolves `path` from `base` (a relative path's start; an absolute one starts at the
    /// root). The last component's symlink is followed if `follow`.
    pub fn walk(&self, base: &Arc<Inode>, path: &str, follow: bool) -> Result<Arc<Inode>, Errno> {
        check_path(path)?;
        let mut links = 0;
        self.walk_from(base, path, follow, &mut links)
    }

    fn walk_from(
        &self,
        base: &Arc<Inode>,
        path: &str,
        follow: bool,
        links: &mut u32,
    ) -> Result<Arc<Inode>, Errno> {
        let mut current = if path.starts_with('/') {
            self.root().clone()
        } else {
            base.clone()
        };
        let trailing_slash = path.ends_with('/');
        let mut names = components(path).peekable();
        while let Some(name) = names.next() {
            let last = names.peek().is_none();
            if !current.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            match name {
                "." => {}
                ".." => current = current.parent(),
                name => {
                    check_name(name)?;
                    let child = current.lookup(name)?;
                    if let Kind::Symlink(target) = &child.kind
                        && (!last || follow || trailing_slash)
                    {
                        *links += 1;
                        if *links > MAXSYMLINKS {
                            return Err(Errno::ELOOP);
                        }
                        if target.is_empty() {
                            return Err(Errno::ENOENT);
                        }
                        current = self.walk_from(&current, target, true, links)?;
                        continue;
                    }
                    current = child;
                }
            }
        }
        if trailing_slash && !current.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(current)
    }

    /// The directory that holds `path`'s last component, and that component (`.` for `/`; a
    /// trailing slash is dropped). `ENOTDIR` if the parent is not a directory.
    pub fn walk_parent<'p>(
        &self,
        base: &Arc<Inode>,
        path: &'p str,
    ) -> Result<(Arc<Inode>, &'p str), Errno> {
        check_path(path)?;
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok((self.root().clone(), "."));
        }
        let (parent_path, name) = match trimmed.rfind('/') {
            Some(at) => (&trimmed[..=at], &trimmed[at + 1..]),
            None => ("", trimmed),
        };
        check_name(name)?;
        let parent = if parent_path.is_empty() {
            base.clone()
        } else {
            let mut links = 0;
            self.walk_from(base, parent_path, true, &mut links)?
        };
        if !parent.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok((parent, name))
    }

    /// Adds `child` as `name` in `dir` (a user's creation: refused in generated directories
    /// and removed ones). `EEXIST` if the name is taken.
    pub fn link(&self, dir: &Arc<Inode>, name: &str, child: Arc<Inode>) -> Result<(), Errno> {
        let directory = dir.as_dir().ok_or(Errno::ENOTDIR)?;
        if matches!(name, "." | "..") {
            return Err(Errno::EEXIST);
        }
        if directory.dead.load(Ordering::Acquire) {
            return Err(Errno::ENOENT);
        }
        if directory.pseudo || directory.generator.read().is_some() {
            if dir.lookup(name).is_ok() {
                return Err(Errno::EEXIST);
            }
            return Err(Errno::EACCES);
        }
        if let Kind::Dir(child_dir) = &child.kind {
            *child_dir.parent.write() = Arc::downgrade(dir);
        }
        let mut entries = directory.entries.write();
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(String::from(name), child);
        Ok(())
    }

    /// `open(O_CREAT)`'s new regular file `name` in `dir`, with `mode`'s permission bits.
    pub fn create_regular(
        &self,
        dir: &Arc<Inode>,
        name: &str,
        mode: u32,
    ) -> Result<Arc<Inode>, Errno> {
        let file = Arc::try_new(RegFile::new_empty(mode)).map_err(|_| Errno::ENOMEM)?;
        let inode = self.new_inode(Kind::Regular(file))?;
        self.link(dir, name, inode.clone())?;
        Ok(inode)
    }

    /// `mkdir`: a new empty directory `name` in `dir`.
    pub fn create_dir(&self, dir: &Arc<Inode>, name: &str, mode: u32) -> Result<(), Errno> {
        let inode = self.new_inode(Kind::Dir(Directory::new(
            (mode & 0o7777) as u16,
            Arc::downgrade(dir),
            None,
        )))?;
        self.link(dir, name, inode)
    }

    /// `symlink`: a link `name` in `dir` to `target` (stored as given, not checked).
    pub fn create_symlink(&self, dir: &Arc<Inode>, name: &str, target: &str) -> Result<(), Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut stored = String::new();
        stored
            .try_reserve(target.len())
            .map_err(|_| Errno::ENOMEM)?;
        stored.push_str(target);
        let inode = self.new_inode(Kind::Symlink(stored))?;
        self.link(dir, name, inode)
    }

    /// `unlink` (`rmdir` false) or `rmdir` (true) of `name` in `dir`: `EISDIR`/`ENOTDIR` for
    /// the wrong kind, `ENOTEMPTY` for a directory with entries, `EPERM` for handler files and
    /// devices the kernel made, `EBUSY` for a directory with something mounted on it.
    pub fn unlink(&self, dir: &Arc<Inode>, name: &str, rmdir: bool) -> Result<(), Errno> {
        let directory = dir.as_dir().ok_or(Errno::ENOTDIR)?;
        match name {
            "." if rmdir => return Err(Errno::EINVAL),
            ".." if rmdir => return Err(Errno::ENOTEMPTY),
            "." | ".." => return Err(Errno::EISDIR),
            _ => {}
        }
        let mut entries = directory.entries.write();
        let Some(child) = entries.get(name) else {
            drop(entries);
            // A generated entry cannot be removed.
            return match dir.lookup(name) {
                Ok(_) => Err(Errno::EPERM),
                Err(error) => Err(error),
            };
        };
        match (&child.kind, rmdir) {
            (Kind::Dir(sub), true) => {
                if sub.generator.read().is_some() {
                    return Err(Errno::EBUSY);
                }
                if !sub.is_empty() {
                    return Err(Errno::ENOTEMPTY);
                }
                sub.dead.store(true, Ordering::Release);
            }
            (Kind::Dir(_), false) => return Err(Errno::EISDIR),
            (_, true) => return Err(Errno::ENOTDIR),
            (Kind::Regular(_) | Kind::Symlink(_), false) => {}
            (Kind::Handler(_) | Kind::Device(_), false) => return Err(Errno::EPERM),
        }
        entries.remove(name);
        Ok(())
    }

    /// `rename(old_dir/old_name, new_dir/new_name)`, replacing a target of a compatible kind
    /// (Linux's rules: a directory replaces only an empty directory, a file only a non-
    /// directory; `EINVAL` for moving a directory into itself). `noreplace` is
    /// `RENAME_NOREPLACE`.
    pub fn rename(
        &self,
        old_dir: &Arc<Inode>,
        old_name: &str,
        new_dir: &Arc<Inode>,
        new_name: &str,
        noreplace: bool,
    ) -> Result<(), Errno> {
        let (Some(old), Some(new)) = (old_dir.as_dir(), new_dir.as_dir()) else {
            return Err(Errno::ENOTDIR);
        };
        if matches!(old_name, "." | "..") || matches!(new_name, "." | "..") {
            return Err(if noreplace {
                Errno::EEXIST
            } else {
                Errno::EBUSY
            });
        }
        if new.pseudo || new.generator.read().is_some() || old.pseudo {
            return Err(Errno::EACCES);
        }
        if new.dead.load(Ordering::Acquire) {
            return Err(Errno::ENOENT);
        }
        let moving = old
            .entries
            .read()
            .get(old_name)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        if matches!(moving.kind, Kind::Handler(_) | Kind::Device(_)) {
            return Err(Errno::EPERM);
        }
        // One rename at a time (Linux's `s_vfs_rename_mutex`): the ancestor checks below stay
        // true while the directories are locked, and no two renames cross.
        let _rename = RENAME_LOCK.lock();
        if moving.is_dir() {
            // The new parent must not be the directory itself or below it.
            if is_ancestor(&moving, new_dir) {
                return Err(Errno::EINVAL);
            }
        }
        let same_dir = Arc::ptr_eq(old_dir, new_dir);
        // Lock both directories, an ancestor before its descendant as every other path that
        // takes two directory locks does (parent, then the child it empties), otherwise in
        // address order (Linux's `lock_rename`).
        let old_first = is_ancestor(old_dir, new_dir)
            || (!is_ancestor(new_dir, old_dir)
                && (old as *const Directory) < (new as *const Directory));
        let (mut first, mut second);
        let (old_entries, new_entries): (&mut Entries, Option<&mut Entries>) = if same_dir {
            first = old.entries.write();
            (&mut first, None)
        } else if old_first {
            first = old.entries.write();
            second = new.entries.write();
            (&mut first, Some(&mut second))
        } else {
            second = new.entries.write();
            first = old.entries.write();
            (&mut first, Some(&mut second))
        };
        // Still there, unchanged, now that we hold the locks?
        if !old_entries
            .get(old_name)
            .is_some_and(|i| Arc::ptr_eq(i, &moving))
        {
            return Err(Errno::ENOENT);
        }
        let target = match &new_entries {
            Some(entries) => entries.get(new_name).cloned(),
            None => old_entries.get(new_name).cloned(),
        };
        if let Some(target) = &target {
            if Arc::ptr_eq(target, &moving) {
                return Ok(());
            }
            if noreplace {
                return Err(Errno::EEXIST);
            }
            match (moving.is_dir(), target.as_dir()) {
                (true, Some(dir)) if !dir.is_empty() => return Err(Errno::ENOTEMPTY),
                (true, Some(dir)) => dir.dead.store(true, Ordering::Release),
                (true, None) => return Err(Errno::ENOTDIR),
                (false, Some(_)) => return Err(Errno::EISDIR),
                (false, None) => {}
            }
            if matches!(target.kind, Kind::Handler(_) | Kind::Device(_)) {
                return Err(Errno::EPERM);
            }
        }
        let mut key = String::new();
        key.try_reserve(new_name.len()).map_err(|_| Errno::ENOMEM)?;
        key.push_str(new_name);
        old_entries.remove(old_name);
        if let Kind::Dir(dir) = &moving.kind {
            *dir.parent.write() = Arc::downgrade(new_dir);
        }
        match new_entries {
            Some(entries) => entries.insert(key, moving),
            None => old_entries.insert(key, moving),
        };
        Ok(())
    }

    /// The absolute path of what `path` (from `base`) names, every symlink followed: the
    /// name a file is known by in `/proc/PID/exe` and `maps` (Linux: `d_path` of the opened
    /// file). `ELOOP` after [`MAXSYMLINKS`] links.
    pub fn real_path(&self, base: &Arc<Inode>, path: &str) -> Result<String, Errno> {
        let mut base = base.clone();
        let mut path = owned(path)?;
        for _ in 0..=MAXSYMLINKS {
            let (dir, name) = self.walk_parent(&base, &path)?;
            let node = match name {
                "." => dir.clone(),
                ".." => dir.parent(),
                name => dir.lookup(name)?,
            };
            if let Kind::Symlink(target) = &node.kind {
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                let target = owned(target)?;
                base = dir;
                path = target;
                continue;
            }
            if node.is_dir() {
                return self.path_of(&node);
            }
            let mut full = self.path_of(&dir)?;
            full.try_reserve(name.len() + 1)
                .map_err(|_| Errno::ENOMEM)?;
            if !full.ends_with('/') {
                full.push('/');
            }
            full.push_str(name);
            return Ok(full);
        }
        Err(Errno::ELOOP)
    }

    /// The absolute path of directory `dir` (`getcwd`); `ENOENT` once it is removed.
    pub fn path_of(&self, dir: &Arc<Inode>) -> Result<String, Errno> {
        let mut names: Vec<String> = Vec::new();
        let mut current = dir.clone();
        loop {
            if current
                .as_dir()
                .is_some_and(|d| d.dead.load(Ordering::Acquire))
            {
                return Err(Errno::ENOENT);
            }
            let parent = current.parent();
            if Arc::ptr_eq(&parent, &current) {
                break;
            }
            let name = name_in(&parent, &current)?;
            names.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            names.push(name);
            current = parent;
        }
        if !Arc::ptr_eq(&current, self.root()) {
            return Err(Errno::ENOENT);
        }
        let mut path = String::new();
        for name in names.iter().rev() {
            path.try_reserve(name.len() + 1)
                .map_err(|_| Errno::ENOMEM)?;
            path.push('/');
            path.push_str(name);
        }
        if path.is_empty() {
            path.push('/');
        }
        Ok(path)
    }

    /// The directory at the absolute, normalized `names`, creating missing ones when `create`
    /// (pseudo-filesystem directories if `create` is [`Create::Pseudo`]).
    fn dir_at(&self, names: &[&str], create: Create) -> Result<Arc<Inode>, Errno> {
        let mut current = self.root().clone();
        for &name in names {
            let child = match current.lookup(name) {
                Ok(child) => child,
                Err(Errno::ENOENT) if create != Create::Nothing => {
                    let mut dir = Directory::new(0o755, Arc::downgrade(&current), None);
                    dir.pseudo = create == Create::Pseudo;
                    let inode = self.new_inode(Kind::Dir(dir))?;
                    let entries = &current.as_dir().ok_or(Errno::ENOTDIR)?.entries;
                    entries
                        .write()
                        .entry(String::from(name))
                        .or_insert(inode)
                        .clone()
                }
                Err(error) => return Err(error),
            };
            current = match &child.kind {
                Kind::Dir(_) => child,
                Kind::Symlink(_) => self.walk(&current, name, true)?,
                _ => return Err(Errno::ENOTDIR),
            };
            if !current.is_dir() {
                return Err(Errno::ENOTDIR);
            }
        }
        Ok(current)
    }

    /// Adds an inode of `kind` at `path` (absolute, normalized here), creating missing parent
    /// directories. `EEXIST` if the name is taken (also for `/`), `ENOTDIR` if a parent is a
    /// file. Kernel registrations may add to directories with a generator.
    fn add(&self, path: &str, kind: Kind) -> Result<(), Errno> {
        let path = normalize(path)?;
        let mut names: Vec<&str> = components(&path).collect();
        let Some(name) = names.pop() else {
            return Err(Errno::EEXIST);
        };
        let create = match kind {
            Kind::Handler(_) => Create::Pseudo,
            _ => Create::Tmpfs,
        };
        let parent = self.dir_at(&names, create)?;
        let dir = parent.as_dir().ok_or(Errno::ENOTDIR)?;
        let inode = self.new_inode(kind)?;
        if let Kind::Dir(child) = &inode.kind {
            *child.parent.write() = Arc::downgrade(&parent);
        }
        let mut entries = dir.entries.write();
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(String::from(name), inode);
        Ok(())
    }

    /// Adds a handler file, creating missing parent directories. `EEXIST` if the name is
    /// taken (also for `/`), `ENOTDIR` if a parent is a file.
    pub fn register_file(&self, path: &str, file: impl FileOps + 'static) -> Result<(), Errno> {
        let file: Arc<dyn FileOps> = Arc::try_new(file).map_err(|_| Errno::ENOMEM)?;
        self.add(path, Kind::Handler(file))
    }

    /// Adds a regular file with content (the initramfs's members).
    pub fn add_regular(&self, path: &str, file: RegFile) -> Result<(), Errno> {
        let file = Arc::try_new(file).map_err(|_| Errno::ENOMEM)?;
        self.add(path, Kind::Regular(file))
    }

    /// Adds a symbolic link to `target`.
    pub fn add_symlink(&self, path: &str, target: &str) -> Result<(), Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        self.add(path, Kind::Symlink(String::from(target)))
    }

    /// Adds a character device node.
    pub fn add_device(&self, path: &str, device: Arc<dyn CharDevice>) -> Result<(), Errno> {
        self.add(path, Kind::Device(device))
    }

    /// Creates a directory and any missing parents; an existing directory is fine. `ENOTDIR`
    /// if a file is in the way.
    pub fn mkdir_p(&self, path: &str) -> Result<(), Errno> {
        let path = normalize(path)?;
        let names: Vec<&str> = components(&path).collect();
        self.dir_at(&names, Create::Tmpfs).map(drop)
    }

    /// Attaches the generator `ops` to the directory `path` (created if missing): names not
    /// stored there are asked of it, and listings show both. `EBUSY` if one is attached
    /// already.
    pub fn mount(&self, path: &str, ops: Arc<dyn DirOps>) -> Result<(), Errno> {
        let path = normalize(path)?;
        let names: Vec<&str> = components(&path).collect();
        let dir = self.dir_at(&names, Create::Pseudo)?;
        let directory = dir.as_dir().ok_or(Errno::ENOTDIR)?;
        let mut generator = directory.generator.write();
        if generator.is_some() || directory.generated {
            return Err(Errno::EBUSY);
        }
        *generator = Some(ops);
        Ok(())
    }

    /// Removes a file, or a directory with everything below it (as `tracefs_remove` does).
    /// `ENOENT` if it does not exist, `EBUSY` for `/`.
    pub fn remove(&self, path: &str) -> Result<(), Errno> {
        let path = normalize(path)?;
        let mut names: Vec<&str> = components(&path).collect();
        let Some(name) = names.pop() else {
            return Err(Errno::EBUSY);
        };
        let parent = self.dir_at(&names, Create::Nothing)?;
        let dir = parent.as_dir().ok_or(Errno::ENOTDIR)?;
        let removed = dir.entries.write().remove(name).ok_or(Errno::ENOENT)?;
        if let Some(sub) = removed.as_dir() {
            sub.dead.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The inode at the absolute `path`, symlinks followed.
    fn resolve_absolute(&self, path: &str) -> Result<Arc<Inode>, Errno> {
        check_absolute(path)?;
        self.walk(self.root(), path, true)
    }

    /// What `path` names.
    pub fn lookup(&self, path: &str) -> Result<NodeKind, Errno> {
        let inode = self.resolve_absolute(path)?;
        Ok(match &inode.kind {
            Kind::Dir(_) => NodeKind::Dir,
            _ => NodeKind::File {
                mode: (inode.stat().mode & 0o7777) as u16,
            },
        })
    }

    /// The `stat` data of `path` (symlinks followed).
    pub fn stat(&self, path: &str) -> Result<Stat, Errno> {
        Ok(self.resolve_absolute(path)?.stat())
    }

    /// Streams a file's content into `out`. `EISDIR` for a directory.
    pub fn read(&self, path: &str, out: &mut dyn fmt::Write) -> Result<(), Errno> {
        self.file(path)?.read(out)
    }

    /// Gives `data` to a file's write handler. `EISDIR` for a directory.
    pub fn write(&self, path: &str, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        self.file(path)?.write(data, mode)
    }

    /// A directory's entry names, sorted. `ENOTDIR` for a file.
    pub fn list(&self, path: &str) -> Result<Vec<String>, Errno> {
        let mut names = self.resolve_absolute(path)?.names()?;
        names.sort_unstable();
        Ok(names)
    }

    /// The file at `path`, to use outside the tree's locks (the ELF loader reads a program's
    /// bytes this way). `EISDIR` for a directory, `EACCES` for a device.
    pub fn open(&self, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        self.file(path)
    }

    /// The handler of the file at `path`, taken out of the tree so it runs unlocked.
    fn file(&self, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        let inode = self.resolve_absolute(path)?;
        match &inode.kind {
            Kind::Dir(_) => Err(Errno::EISDIR),
            Kind::Handler(ops) => Ok(ops.clone()),
            Kind::Regular(file) => Ok(file.clone()),
            Kind::Device(_) | Kind::Symlink(_) => Err(Errno::EACCES),
        }
    }
}

/// Which directories [`Vfs::dir_at`] creates where they are missing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Create {
    Nothing,
    /// Writable ones (rootfs, `/tmp`, the initramfs's).
    Tmpfs,
    /// A pseudo filesystem's (the parents of handler files).
    Pseudo,
}

/// Whole-path checks of a syscall's path: empty is `ENOENT`, `PATH_MAX` or longer
/// `ENAMETOOLONG`, a NUL `EINVAL`.
fn check_path(path: &str) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.contains('\0') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The name `child` has in directory `parent`.
fn name_in(parent: &Arc<Inode>, child: &Arc<Inode>) -> Result<String, Errno> {
    let dir = parent.as_dir().ok_or(Errno::ENOENT)?;
    if let Some((name, _)) = dir
        .entries
        .read()
        .iter()
        .find(|(_, inode)| Arc::ptr_eq(inode, child))
    {
        return Ok(name.clone());
    }
    let generator = dir.generator.read().clone();
    if let Some(generator) = generator {
        for name in generator.list()? {
            if generated_ino(parent.ino, &name) == child.ino {
                return Ok(name);
            }
        }
    }
    Err(Errno::ENOENT)
}

/// Serializes renames (Linux's `s_vfs_rename_mutex`).
static RENAME_LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Whether `dir` is `of` or one of its ancestors.
fn is_ancestor(dir: &Arc<Inode>, of: &Arc<Inode>) -> bool {
    let mut up = of.clone();
    loop {
        if Arc::ptr_eq(&up, dir) {
            return true;
        }
        let parent = up.parent();
        if Arc::ptr_eq(&parent, &up) {
            return false;
        }
        up = parent;
    }
}

#[cfg(test)]
mod tests;
