//! The in-memory tree: directories of named entries whose files are [`FileOps`] handlers.
//!
//! Subsystems build the tree at init and mostly leave it alone, so one `RwLock` guards it.
//! Lookups only hold the lock long enough to find a node and clone its handler's `Arc`; the
//! handler runs unlocked, so a handler may change the tree (creating event directories, say).

use super::path::{check_absolute, check_name, components, normalize};
use super::{Errno, FileOps, WriteMode};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use spin::RwLock;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File {
        /// The handler's permission bits ([`FileOps::mode`]).
        mode: u16,
    },
}

/// A directory's entries, sorted by name.
type Dir = BTreeMap<String, Node>;

enum Node {
    Dir(Dir),
    File(Arc<dyn FileOps>),
}

/// A node found by a walk.
enum Found<'t> {
    Dir(&'t Dir),
    File(&'t Arc<dyn FileOps>),
}

/// One VFS tree. The kernel has a global one (see the free functions in [`crate::fs`]);
/// tests build their own.
///
/// Paths are absolute. Lookups (`lookup`, `read`, `write`, `list`) walk `..` against the tree
/// as Linux does, so `/file/..` is `ENOTDIR` and `/missing/..` is `ENOENT`; a trailing slash
/// demands a directory. Changes (`register_file`, `mkdir_p`, `remove`) take the lexically
/// normalized path.
pub struct Vfs {
    root: RwLock<Dir>,
}

impl Default for Vfs {
    fn default() -> Self {
        Self::new()
    }
}

impl Vfs {
    /// An empty tree: just `/`.
    pub const fn new() -> Self {
        Self {
            root: RwLock::new(BTreeMap::new()),
        }
    }

    /// Adds a file, creating missing parent directories. `EEXIST` if the name is taken (also
    /// for `/`), `ENOTDIR` if a parent is a file.
    pub fn register_file(&self, path: &str, file: impl FileOps + 'static) -> Result<(), Errno> {
        let path = normalize(path)?;
        let mut names: Vec<&str> = components(&path).collect();
        let Some(name) = names.pop() else {
            return Err(Errno::EEXIST);
        };
        let mut root = self.root.write();
        let parent = walk_dirs_mut(&mut root, &names, Create::Missing)?;
        if parent.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        parent.insert(String::from(name), Node::File(Arc::new(file)));
        Ok(())
    }

    /// Creates a directory and any missing parents; an existing directory is fine. `ENOTDIR`
    /// if a file is in the way.
    pub fn mkdir_p(&self, path: &str) -> Result<(), Errno> {
        let path = normalize(path)?;
        let names: Vec<&str> = components(&path).collect();
        walk_dirs_mut(&mut self.root.write(), &names, Create::Missing).map(|_| ())
    }

    /// Removes a file, or a directory with everything below it (as `tracefs_remove` does).
    /// `ENOENT` if it does not exist, `EBUSY` for `/`.
    pub fn remove(&self, path: &str) -> Result<(), Errno> {
        let path = normalize(path)?;
        let mut names: Vec<&str> = components(&path).collect();
        let Some(name) = names.pop() else {
            return Err(Errno::EBUSY);
        };
        let mut root = self.root.write();
        let parent = walk_dirs_mut(&mut root, &names, Create::Nothing)?;
        parent.remove(name).map(drop).ok_or(Errno::ENOENT)
    }

    /// What `path` names.
    pub fn lookup(&self, path: &str) -> Result<NodeKind, Errno> {
        match walk(&self.root.read(), path)? {
            Found::Dir(_) => Ok(NodeKind::Dir),
            Found::File(file) => Ok(NodeKind::File { mode: file.mode() }),
        }
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
        match walk(&self.root.read(), path)? {
            Found::Dir(dir) => Ok(dir.keys().cloned().collect()),
            Found::File(_) => Err(Errno::ENOTDIR),
        }
    }

    /// The file at `path`, to use outside the tree's lock (the ELF loader reads a program's
    /// bytes this way). `EISDIR` for a directory.
    pub fn open(&self, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        self.file(path)
    }

    /// The handler of the file at `path`, taken out of the tree so it runs unlocked.
    fn file(&self, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        match walk(&self.root.read(), path)? {
            Found::Dir(_) => Err(Errno::EISDIR),
            Found::File(file) => Ok(Arc::clone(file)),
        }
    }
}

/// Whether [`walk_dirs_mut`] creates the directories it does not find.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Create {
    Missing,
    Nothing,
}

/// The directory reached by descending through `names` (already normalized).
fn walk_dirs_mut<'t>(
    mut dir: &'t mut Dir,
    names: &[&str],
    create: Create,
) -> Result<&'t mut Dir, Errno> {
    for &name in names {
        let node = match create {
            Create::Missing => dir
                .entry(String::from(name))
                .or_insert_with(|| Node::Dir(BTreeMap::new())),
            Create::Nothing => dir.get_mut(name).ok_or(Errno::ENOENT)?,
        };
        dir = match node {
            Node::Dir(children) => children,
            Node::File(_) => return Err(Errno::ENOTDIR),
        };
    }
    Ok(dir)
}

/// Resolves `path` component by component, `..` included, as Linux's path walk does.
fn walk<'t>(root: &'t Dir, path: &str) -> Result<Found<'t>, Errno> {
    check_absolute(path)?;
    let mut ancestors: Vec<&Dir> = Vec::new();
    let mut current = Found::Dir(root);
    for name in components(path) {
        let Found::Dir(dir) = current else {
            return Err(Errno::ENOTDIR);
        };
        match name {
            "." => {}
            ".." => {
                if let Some(parent) = ancestors.pop() {
                    current = Found::Dir(parent);
                }
            }
            name => {
                check_name(name)?;
                let child = dir.get(name).ok_or(Errno::ENOENT)?;
                ancestors.push(dir);
                current = match child {
                    Node::Dir(children) => Found::Dir(children),
                    Node::File(file) => Found::File(file),
                };
            }
        }
    }
    if path.ends_with('/') && matches!(current, Found::File(_)) {
        return Err(Errno::ENOTDIR);
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{read_only, read_write, write_only};
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use spin::Mutex;

    fn sample() -> Vfs {
        let vfs = Vfs::new();
        vfs.register_file(
            "/sys/kernel/tracing/current_tracer",
            read_only(|out| Ok(out.write_str("nop\n")?)),
        )
        .unwrap();
        vfs.register_file(
            "/sys/kernel/tracing/trace_marker",
            write_only(|_, _| Ok(())),
        )
        .unwrap();
        vfs.mkdir_p("/sys/kernel/tracing/events").unwrap();
        vfs.register_file("/version", read_only(|out| Ok(out.write_str("1.0\n")?)))
            .unwrap();
        vfs
    }

    fn read_string(vfs: &Vfs, path: &str) -> Result<String, Errno> {
        let mut out = String::new();
        vfs.read(path, &mut out).map(|()| out)
    }

    #[test]
    fn register_creates_parents_and_lists_sorted() {
        let vfs = sample();
        assert_eq!(vfs.list("/").unwrap(), ["sys", "version"]);
        assert_eq!(vfs.list("/sys").unwrap(), ["kernel"]);
        assert_eq!(
            vfs.list("/sys/kernel/tracing").unwrap(),
            ["current_tracer", "events", "trace_marker"]
        );
        assert!(vfs.list("/sys/kernel/tracing/events").unwrap().is_empty());
        assert_eq!(vfs.lookup("/sys/kernel").unwrap(), NodeKind::Dir);
        assert_eq!(vfs.lookup("/").unwrap(), NodeKind::Dir);
        assert_eq!(
            vfs.lookup("/version").unwrap(),
            NodeKind::File { mode: 0o444 }
        );
        assert_eq!(
            vfs.lookup("/sys/kernel/tracing/trace_marker").unwrap(),
            NodeKind::File { mode: 0o200 }
        );
    }

    #[test]
    fn register_refuses_taken_names_and_file_parents() {
        let vfs = sample();
        let file = || read_only(|_| Ok(()));
        assert_eq!(vfs.register_file("/version", file()), Err(Errno::EEXIST));
        assert_eq!(vfs.register_file("/sys/kernel", file()), Err(Errno::EEXIST));
        assert_eq!(vfs.register_file("/", file()), Err(Errno::EEXIST));
        assert_eq!(vfs.register_file("//./", file()), Err(Errno::EEXIST));
        assert_eq!(vfs.register_file("/version/x", file()), Err(Errno::ENOTDIR));
        assert_eq!(vfs.register_file("relative", file()), Err(Errno::EINVAL));
        assert_eq!(vfs.register_file("", file()), Err(Errno::ENOENT));
        let long_name = "x".repeat(256);
        assert_eq!(
            vfs.register_file(&format!("/{long_name}"), file()),
            Err(Errno::ENAMETOOLONG)
        );
        // Nothing was created by the failures.
        assert_eq!(vfs.list("/").unwrap(), ["sys", "version"]);
        // Registration paths are normalized.
        vfs.register_file("//a/./b/../c", file()).unwrap();
        assert_eq!(vfs.list("/a").unwrap(), ["c"]);
    }

    #[test]
    fn mkdir_p_is_idempotent_and_stops_at_files() {
        let vfs = sample();
        vfs.mkdir_p("/a/b/c").unwrap();
        vfs.mkdir_p("/a/b/c").unwrap();
        vfs.mkdir_p("/a/b").unwrap();
        vfs.mkdir_p("/").unwrap();
        assert_eq!(vfs.list("/a/b").unwrap(), ["c"]);
        assert_eq!(vfs.mkdir_p("/version"), Err(Errno::ENOTDIR));
        assert_eq!(vfs.mkdir_p("/version/x"), Err(Errno::ENOTDIR));
        assert_eq!(vfs.mkdir_p("a"), Err(Errno::EINVAL));
    }

    #[test]
    fn remove_takes_files_and_whole_directories() {
        let vfs = sample();
        vfs.remove("/version").unwrap();
        assert_eq!(vfs.lookup("/version"), Err(Errno::ENOENT));
        vfs.remove("/sys/kernel/tracing").unwrap();
        assert_eq!(
            vfs.lookup("/sys/kernel/tracing/trace_marker"),
            Err(Errno::ENOENT)
        );
        assert_eq!(vfs.list("/sys/kernel").unwrap(), Vec::<String>::new());
        assert_eq!(vfs.remove("/sys/kernel/tracing"), Err(Errno::ENOENT));
        assert_eq!(vfs.remove("/nope/x"), Err(Errno::ENOENT));
        assert_eq!(vfs.remove("/"), Err(Errno::EBUSY));
        // A removed name can be registered again.
        vfs.register_file("/version", read_only(|_| Ok(())))
            .unwrap();
    }

    #[test]
    fn lookups_walk_dot_dot_physically() {
        let vfs = sample();
        assert_eq!(vfs.lookup("/sys/kernel/..").unwrap(), NodeKind::Dir);
        assert_eq!(vfs.list("/sys/kernel/../..").unwrap(), ["sys", "version"]);
        assert_eq!(vfs.list("/..").unwrap(), ["sys", "version"]);
        assert_eq!(
            vfs.list("//sys///kernel/./tracing/../tracing/events/")
                .unwrap()
                .len(),
            0
        );
        assert_eq!(read_string(&vfs, "/sys/../version").unwrap(), "1.0\n");
        assert_eq!(vfs.lookup("/version/.."), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup("/version/."), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup("/version/"), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup("/missing/.."), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup("/sys/"), Ok(NodeKind::Dir));
    }

    #[test]
    fn lookup_errors() {
        let vfs = sample();
        assert_eq!(vfs.lookup("/nope"), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup("/sys/nope/deeper"), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup("/version/x"), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup(""), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup("sys"), Err(Errno::EINVAL));
        assert_eq!(vfs.lookup("/sys\0"), Err(Errno::EINVAL));
        assert_eq!(
            vfs.lookup(&format!("/{}", "x".repeat(256))),
            Err(Errno::ENAMETOOLONG)
        );
        assert_eq!(vfs.lookup(&"/".repeat(4096)), Err(Errno::ENAMETOOLONG));
        assert_eq!(vfs.lookup(&"/".repeat(4095)), Ok(NodeKind::Dir));
    }

    #[test]
    fn read_and_write_reach_handlers_or_fail_precisely() {
        let vfs = sample();
        assert_eq!(
            read_string(&vfs, "/sys/kernel/tracing/current_tracer").unwrap(),
            "nop\n"
        );
        assert_eq!(read_string(&vfs, "/sys"), Err(Errno::EISDIR));
        assert_eq!(read_string(&vfs, "/nope"), Err(Errno::ENOENT));
        assert_eq!(
            read_string(&vfs, "/sys/kernel/tracing/trace_marker"),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            vfs.write("/sys", b"x", WriteMode::Truncate),
            Err(Errno::EISDIR)
        );
        assert_eq!(
            vfs.write("/nope", b"x", WriteMode::Truncate),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            vfs.write("/version", b"x", WriteMode::Append),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            vfs.write(
                "/sys/kernel/tracing/trace_marker",
                b"hello\n",
                WriteMode::Append
            ),
            Ok(())
        );
        assert_eq!(vfs.list("/version"), Err(Errno::ENOTDIR));
        assert_eq!(vfs.list("/nope"), Err(Errno::ENOENT));
    }

    #[test]
    fn writes_pass_data_and_mode_through() {
        let vfs = Vfs::new();
        type WriteLog = Mutex<Vec<(Vec<u8>, WriteMode)>>;
        let log: Arc<WriteLog> = Arc::default();
        let record = Arc::clone(&log);
        vfs.register_file(
            "/f",
            read_write(
                |_| Ok(()),
                move |data, mode| {
                    record.lock().push((data.to_vec(), mode));
                    Ok(())
                },
            ),
        )
        .unwrap();
        vfs.write("/f", b"", WriteMode::Truncate).unwrap();
        vfs.write("/f", b"a b\n", WriteMode::Append).unwrap();
        assert_eq!(
            *log.lock(),
            vec![
                (b"".to_vec(), WriteMode::Truncate),
                (b"a b\n".to_vec(), WriteMode::Append)
            ]
        );
    }

    #[test]
    fn handlers_run_unlocked_and_may_change_the_tree() {
        static VFS: Vfs = Vfs::new();
        VFS.register_file(
            "/kprobe_events",
            write_only(|data, _| {
                let name = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
                VFS.register_file(&format!("/events/{name}/enable"), read_only(|_| Ok(())))
            }),
        )
        .unwrap();
        VFS.write("/kprobe_events", b"p1", WriteMode::Append)
            .unwrap();
        assert_eq!(VFS.list("/events").unwrap(), ["p1"]);
        assert_eq!(
            VFS.write("/kprobe_events", b"p1", WriteMode::Append)
                .map_err(|e| e.to_string()),
            Err("File exists".to_string())
        );
    }

    #[test]
    fn large_reads_stream_in_pieces() {
        struct CountingSink(usize, usize);
        impl fmt::Write for CountingSink {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 += 1;
                self.1 += s.len();
                Ok(())
            }
        }
        let vfs = Vfs::new();
        vfs.register_file(
            "/big",
            read_only(|out| {
                for i in 0..10_000 {
                    writeln!(out, "line {i:05}")?;
                }
                Ok(())
            }),
        )
        .unwrap();
        let mut sink = CountingSink(0, 0);
        vfs.read("/big", &mut sink).unwrap();
        assert!(sink.0 >= 10_000);
        assert_eq!(sink.1, 10_000 * 11);
    }
}
