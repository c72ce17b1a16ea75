//! Host tests of the tree: registration, walks, symlinks, tmpfs operations, generated directories.

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

/// A generator like procfs's: `self` -> `42`, `42/status`, `42/exe` -> `/bin/hello`.
struct Gen;

impl DirOps for Gen {
    fn lookup(&self, name: &str) -> Result<DirEntry, Errno> {
        match name {
            "self" => Ok(DirEntry::Symlink("42".to_string())),
            "42" => Ok(DirEntry::Dir(Arc::new(Pid42))),
            _ => Err(Errno::ENOENT),
        }
    }

    fn list(&self) -> Result<Vec<String>, Errno> {
        Ok(vec!["self".to_string(), "42".to_string()])
    }
}

struct Pid42;

impl DirOps for Pid42 {
    fn lookup(&self, name: &str) -> Result<DirEntry, Errno> {
        match name {
            "status" => Ok(DirEntry::File(Arc::new(read_only(|out| {
                Ok(out.write_str("Name:\thello\n")?)
            })))),
            "exe" => Ok(DirEntry::Symlink("/bin/hello".to_string())),
            _ => Err(Errno::ENOENT),
        }
    }

    fn list(&self) -> Result<Vec<String>, Errno> {
        Ok(vec!["status".to_string(), "exe".to_string()])
    }
}

#[test]
fn mounted_generators_merge_with_stored_entries() {
    let vfs = Vfs::new();
    vfs.register_file("/proc/kallsyms", read_only(|out| Ok(out.write_str("k\n")?)))
        .unwrap();
    vfs.mount("/proc", Arc::new(Gen)).unwrap();
    assert_eq!(vfs.mount("/proc", Arc::new(Gen)), Err(Errno::EBUSY));
    vfs.register_file("/proc/interrupts", read_only(|_| Ok(())))
        .unwrap();
    assert_eq!(
        vfs.list("/proc").unwrap(),
        ["42", "interrupts", "kallsyms", "self"]
    );
    assert_eq!(read_string(&vfs, "/proc/kallsyms").unwrap(), "k\n");
    assert_eq!(
        read_string(&vfs, "/proc/42/status").unwrap(),
        "Name:\thello\n"
    );
    assert_eq!(
        read_string(&vfs, "/proc/self/status").unwrap(),
        "Name:\thello\n"
    );
    assert_eq!(vfs.list("/proc/self").unwrap(), ["exe", "status"]);
    assert_eq!(vfs.lookup("/proc/43"), Err(Errno::ENOENT));
    // Generated inodes keep their numbers; `..` of a generated directory is its parent.
    let a = vfs.walk(vfs.root(), "/proc/42", true).unwrap();
    let b = vfs.walk(vfs.root(), "/proc/self", true).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(vfs.path_of(&a).unwrap(), "/proc/42");
    let proc_dir = vfs.walk(&a, "..", true).unwrap();
    assert_eq!(vfs.path_of(&proc_dir).unwrap(), "/proc");
    // Users cannot create in generated directories; the exe link dangles here.
    assert_eq!(vfs.create_dir(&a, "x", 0o755), Err(Errno::EACCES));
    assert_eq!(vfs.create_dir(&proc_dir, "x", 0o755), Err(Errno::EACCES));
    assert_eq!(vfs.create_dir(&proc_dir, "42", 0o755), Err(Errno::EEXIST));
    assert_eq!(vfs.lookup("/proc/42/exe"), Err(Errno::ENOENT));
    assert_eq!(vfs.unlink(&proc_dir, "self", false), Err(Errno::EPERM));
    let proc_parent = vfs.root().clone();
    assert_eq!(vfs.unlink(&proc_parent, "proc", true), Err(Errno::EBUSY));
}

#[test]
fn symlinks_are_followed_with_eloop_after_40() {
    let vfs = sample();
    let root = vfs.root().clone();
    vfs.mkdir_p("/bin").unwrap();
    vfs.add_regular("/bin/busybox", RegFile::new_static(b"BB", 0o755))
        .unwrap();
    vfs.add_symlink("/bin/ls", "busybox").unwrap();
    vfs.add_symlink("/tracing", "sys/kernel/tracing").unwrap();
    assert_eq!(read_string(&vfs, "/bin/ls").unwrap(), "BB");
    assert_eq!(
        read_string(&vfs, "/tracing/current_tracer").unwrap(),
        "nop\n"
    );
    assert_eq!(vfs.lookup("/tracing/"), Ok(NodeKind::Dir));
    let link = vfs.walk(&root, "/bin/ls", false).unwrap();
    assert_eq!(link.stat().mode, S_IFLNK | 0o777);
    assert_eq!(link.stat().size, 7);
    let target = vfs.walk(&root, "/bin/ls", true).unwrap();
    assert_eq!(target.stat().mode, S_IFREG | 0o755);
    // A chain of 40 links resolves; 41 is ELOOP; a loop is ELOOP.
    let bin = vfs.walk(&root, "/bin", true).unwrap();
    vfs.create_symlink(&bin, "l0", "busybox").unwrap();
    for i in 1..=40 {
        vfs.create_symlink(&bin, &format!("l{i}"), &format!("l{}", i - 1))
            .unwrap();
    }
    assert!(vfs.walk(&root, "/bin/l39", true).is_ok());
    assert_eq!(vfs.walk(&root, "/bin/l40", true).err(), Some(Errno::ELOOP));
    assert!(vfs.walk(&root, "/bin/l40", false).is_ok());
    vfs.create_symlink(&bin, "loop", "loop").unwrap();
    assert_eq!(vfs.walk(&root, "/bin/loop", true).err(), Some(Errno::ELOOP));
    assert_eq!(
        vfs.walk(&root, "/bin/loop/x", false).err(),
        Some(Errno::ELOOP)
    );
    vfs.create_symlink(&bin, "dangling", "/nope").unwrap();
    assert_eq!(
        vfs.walk(&root, "/bin/dangling", true).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(vfs.create_symlink(&bin, "empty", ""), Err(Errno::ENOENT));
    assert_eq!(vfs.create_symlink(&bin, "ls", "x"), Err(Errno::EEXIST));
    // A trailing slash follows a final link and demands a directory.
    assert_eq!(
        vfs.walk(&root, "/bin/ls/", false).err(),
        Some(Errno::ENOTDIR)
    );
}

#[test]
fn tmpfs_create_unlink_rename_and_relative_walks() {
    let vfs = sample();
    let root = vfs.root().clone();
    vfs.mkdir_p("/tmp").unwrap();
    let tmp = vfs.walk(&root, "tmp", true).unwrap();
    assert_eq!(vfs.path_of(&tmp).unwrap(), "/tmp");
    vfs.create_dir(&tmp, "d", 0o700).unwrap();
    assert_eq!(vfs.create_dir(&tmp, "d", 0o700), Err(Errno::EEXIST));
    assert_eq!(vfs.create_dir(&tmp, ".", 0o700), Err(Errno::EEXIST));
    let d = vfs.walk(&tmp, "d", true).unwrap();
    assert_eq!(d.stat().mode, S_IFDIR | 0o700);
    assert_eq!(tmp.stat().nlink, 3);
    let file = vfs.create_regular(&d, "f", 0o644).unwrap();
    let Kind::Regular(content) = file.kind() else {
        panic!("not regular")
    };
    content.write_at(None, b"data").unwrap();
    assert_eq!(vfs.walk(&d, "../d/./f", true).unwrap().stat().size, 4);
    assert_eq!(vfs.walk(&d, "f/", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(vfs.walk(&d, "f/..", true).err(), Some(Errno::ENOTDIR));
    assert_ne!(file.ino(), d.ino());
    // Parents of new names.
    let (parent, name) = vfs.walk_parent(&root, "tmp/d/new/").unwrap();
    assert!(Arc::ptr_eq(&parent, &d));
    assert_eq!(name, "new");
    assert_eq!(
        vfs.walk_parent(&root, "/version/x").err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(vfs.walk_parent(&root, "/nope/x").err(), Some(Errno::ENOENT));
    assert_eq!(vfs.walk_parent(&root, "").err(), Some(Errno::ENOENT));
    // Removal rules.
    assert_eq!(vfs.unlink(&tmp, "d", false), Err(Errno::EISDIR));
    assert_eq!(vfs.unlink(&tmp, "d", true), Err(Errno::ENOTEMPTY));
    assert_eq!(vfs.unlink(&d, "f", true), Err(Errno::ENOTDIR));
    assert_eq!(vfs.unlink(&d, ".", true), Err(Errno::EINVAL));
    assert_eq!(vfs.unlink(&d, "nope", false), Err(Errno::ENOENT));
    let tracing = vfs.walk(&root, "/sys/kernel/tracing", true).unwrap();
    assert_eq!(
        vfs.unlink(&tracing, "current_tracer", false),
        Err(Errno::EPERM)
    );
    // Rename within and across directories, with Linux's replacement rules.
    vfs.rename(&d, "f", &tmp, "g", false).unwrap();
    assert_eq!(vfs.list("/tmp").unwrap(), ["d", "g"]);
    vfs.create_regular(&tmp, "h", 0o600).unwrap();
    assert_eq!(vfs.rename(&tmp, "g", &tmp, "h", true), Err(Errno::EEXIST));
    vfs.rename(&tmp, "g", &tmp, "h", false).unwrap();
    assert_eq!(vfs.stat("/tmp/h").unwrap().size, 4);
    assert_eq!(vfs.rename(&tmp, "h", &tmp, "d", false), Err(Errno::EISDIR));
    assert_eq!(vfs.rename(&tmp, "d", &tmp, "h", false), Err(Errno::ENOTDIR));
    assert_eq!(vfs.rename(&tmp, "d", &d, "x", false), Err(Errno::EINVAL));
    assert_eq!(vfs.rename(&tmp, "nope", &d, "x", false), Err(Errno::ENOENT));
    vfs.rename(&tmp, "d", &root, "moved", false).unwrap();
    assert_eq!(vfs.path_of(&d).unwrap(), "/moved");
    // A removed cwd: nothing can be created in it, getcwd fails.
    vfs.unlink(&root, "moved", true).unwrap();
    assert_eq!(
        vfs.create_regular(&d, "x", 0o644).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(vfs.path_of(&d), Err(Errno::ENOENT));
}

#[test]
fn stat_of_each_kind() {
    let vfs = sample();
    let stat = vfs.stat("/version").unwrap();
    assert_eq!((stat.mode, stat.size, stat.nlink), (S_IFREG | 0o444, 0, 1));
    assert_eq!(vfs.stat("/").unwrap().ino, 1);
    assert_eq!(vfs.stat("/").unwrap().mode, S_IFDIR | 0o755);
    vfs.add_device("/dev/null", Arc::new(crate::fs::dev::Null))
        .unwrap();
    let null = vfs.stat("/dev/null").unwrap();
    assert_eq!((null.mode, null.rdev), (S_IFCHR | 0o666, (1, 3)));
    vfs.add_regular("/f", RegFile::new_static(&[0; 1000], 0o644))
        .unwrap();
    let f = vfs.stat("/f").unwrap();
    assert_eq!((f.size, f.blocks, f.blksize), (1000, 2, 4096));
    assert_ne!(f.ino, null.ino);
}

#[test]
fn pseudo_filesystem_directories_refuse_new_entries() {
    let vfs = sample();
    let root = vfs.root().clone();
    let tracing = vfs.walk(&root, "/sys/kernel/tracing", true).unwrap();
    assert_eq!(
        vfs.create_regular(&tracing, "x", 0o644).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(vfs.create_dir(&tracing, "x", 0o755), Err(Errno::EACCES));
    assert_eq!(vfs.create_symlink(&tracing, "x", "y"), Err(Errno::EACCES));
    let sys = vfs.walk(&root, "/sys", true).unwrap();
    assert_eq!(vfs.create_dir(&sys, "x", 0o755), Err(Errno::EACCES));
    // mkdir_p and the root make writable directories.
    vfs.mkdir_p("/tmp").unwrap();
    let tmp = vfs.walk(&root, "/tmp", true).unwrap();
    assert!(vfs.create_regular(&tmp, "x", 0o644).is_ok());
    assert!(vfs.create_dir(&root, "new", 0o755).is_ok());
    // Renames into or out of pseudo directories are refused too.
    assert_eq!(
        vfs.rename(&tmp, "x", &tracing, "x", false),
        Err(Errno::EACCES)
    );
}

#[test]
fn real_path_resolves_every_link() {
    let vfs = sample();
    let root = vfs.root().clone();
    vfs.mkdir_p("/bin").unwrap();
    vfs.add_regular("/bin/busybox", RegFile::new_static(b"BB", 0o755))
        .unwrap();
    vfs.add_symlink("/bin/sh", "busybox").unwrap();
    vfs.add_symlink("/bin/abs", "/bin/sh").unwrap();
    vfs.add_symlink("/tracing", "sys/kernel/tracing").unwrap();
    let real = |path: &str| vfs.real_path(&root, path);
    assert_eq!(real("/bin/busybox").as_deref(), Ok("/bin/busybox"));
    assert_eq!(real("/bin/sh").as_deref(), Ok("/bin/busybox"));
    assert_eq!(real("/bin/abs").as_deref(), Ok("/bin/busybox"));
    assert_eq!(real("bin/./sh").as_deref(), Ok("/bin/busybox"));
    assert_eq!(
        real("/tracing/current_tracer").as_deref(),
        Ok("/sys/kernel/tracing/current_tracer")
    );
    assert_eq!(real("/tracing").as_deref(), Ok("/sys/kernel/tracing"));
    assert_eq!(real("/bin/..").as_deref(), Ok("/"));
    assert_eq!(real("/").as_deref(), Ok("/"));
    assert_eq!(real("/bin/nope"), Err(Errno::ENOENT));
    let bin = vfs.walk(&root, "/bin", true).unwrap();
    vfs.create_symlink(&bin, "l0", "busybox").unwrap();
    for i in 1..=40 {
        vfs.create_symlink(&bin, &format!("l{i}"), &format!("l{}", i - 1))
            .unwrap();
    }
    assert_eq!(real("/bin/l39").as_deref(), Ok("/bin/busybox"));
    assert_eq!(real("/bin/l40"), Err(Errno::ELOOP));
}
