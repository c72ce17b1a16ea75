//! `fstest`: the file syscalls against Linux's results, hostile arguments included (bad and
//! kernel pointers, buffers running into unmapped pages, negative fds, unknown flags, huge
//! lengths). Prints `FAIL name: got X want Y` for each mismatch and ends with
//! `fstest: N checks, M failed` (exit status 1 if any failed). The same binary on Linux gives
//! the same lines.
//!
//! Helper modes for scenarios: `fstest write PATH TEXT...` opens PATH with `O_CREAT|`
//! `O_WRONLY|O_TRUNC` and writes the words (space-separated, newline-terminated) in one
//! `write`; `fstest echo TEXT...` writes them to stdout; `fstest cat PATH` copies a file to
//! stdout through `read`.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::ffi::CStr;
use user::sys::{self, syscall6};

// errnos (include/uapi/asm-generic/errno-base.h, errno.h).
const EPERM: isize = -1;
const ENOENT: isize = -2;
const EBADF: isize = -9;
const EAGAIN: isize = -11;
const EACCES: isize = -13;
const EFAULT: isize = -14;
const EEXIST: isize = -17;
const ENOTDIR: isize = -20;
const EISDIR: isize = -21;
const EINVAL: isize = -22;
const EMFILE: isize = -24;
const ENOTTY: isize = -25;
const ESPIPE: isize = -29;
const EPIPE: isize = -32;
const ERANGE: isize = -34;
const ENAMETOOLONG: isize = -36;
const ENOTEMPTY: isize = -39;
const ELOOP: isize = -40;

/// An address in the kernel's half: must never be read or written.
const KERNEL_ADDR: usize = 0xffff_ff80_4020_0000;
/// A user address nothing maps.
const UNMAPPED: usize = 0x1000;

static mut CHECKS: u64 = 0;
static mut FAILED: u64 = 0;

fn check(name: &[u8], got: isize, want: isize) {
    // SAFETY: single-threaded program.
    unsafe {
        CHECKS += 1;
        if got != want {
            FAILED += 1;
            user::print(b"FAIL ");
            user::print(name);
            user::print(b": got ");
            user::print_ret(got);
            user::print(b" want ");
            user::print_ret(want);
            user::print(b"\n");
        }
    }
}

fn check_true(name: &[u8], ok: bool) {
    check(name, isize::from(ok), 1);
}

/// A raw syscall.
fn sc(nr: usize, args: [usize; 6]) -> isize {
    // SAFETY: the arguments are valid or deliberately bad; the kernel checks every pointer.
    unsafe { syscall6(nr, args) }
}

fn p(s: &CStr) -> usize {
    s.as_ptr() as usize
}

fn open(path: &CStr, flags: usize) -> isize {
    sys::open(path, flags, 0o644)
}

fn write(fd: isize, data: &[u8]) -> isize {
    sys::write(fd as usize, data)
}

fn read(fd: isize, buf: &mut [u8]) -> isize {
    sys::read(fd as usize, buf)
}

fn close(fd: isize) -> isize {
    sys::close(fd as usize)
}

fn lseek(fd: isize, off: isize, whence: usize) -> isize {
    sc(sys::SYS_LSEEK, [fd as usize, off as usize, whence, 0, 0, 0])
}

/// `struct stat`'s mode and size.
fn stat(path: &CStr, flags: usize) -> (isize, u32, u64) {
    let mut buf = [0u8; 128];
    let ret = sc(
        sys::SYS_NEWFSTATAT,
        [
            sys::AT_FDCWD,
            p(path),
            buf.as_mut_ptr() as usize,
            flags,
            0,
            0,
        ],
    );
    let mode = u32::from_le_bytes([buf[16], buf[17], buf[18], buf[19]]);
    let mut size = [0u8; 8];
    size.copy_from_slice(&buf[48..56]);
    (ret, mode, u64::from_le_bytes(size))
}

fn files() {
    let _ = sc(
        sys::SYS_UNLINKAT,
        [sys::AT_FDCWD, p(c"/tmp/fstest"), 0, 0, 0, 0],
    );
    let fd = open(c"/tmp/fstest", sys::O_CREAT | sys::O_EXCL | sys::O_RDWR);
    check_true(b"openat O_CREAT", fd >= 3);
    check(b"write", write(fd, b"hello world"), 11);
    check(b"lseek SET", lseek(fd, 0, 0), 0);
    let mut buf = [0u8; 64];
    check(b"read 5", read(fd, &mut buf[..5]), 5);
    check_true(b"read data", &buf[..5] == b"hello");
    check(b"lseek CUR", lseek(fd, 0, 1), 5);
    check(b"lseek END", lseek(fd, 0, 2), 11);
    check(b"read at end", read(fd, &mut buf), 0);
    check(b"lseek negative", lseek(fd, -100, 0), EINVAL);
    check(b"lseek whence 7", lseek(fd, 0, 7), EINVAL);
    check(b"lseek past end", lseek(fd, 100, 0), 100);
    let ret = sc(
        sys::SYS_PREAD64,
        [fd as usize, buf.as_mut_ptr() as usize, 5, 6, 0, 0],
    );
    check(b"pread64", ret, 5);
    check_true(b"pread64 data", &buf[..5] == b"world");
    check(b"lseek after pread", lseek(fd, 0, 1), 100);
    let ret = sc(
        sys::SYS_PWRITE64,
        [fd as usize, b"W".as_ptr() as usize, 1, 6, 0, 0],
    );
    check(b"pwrite64", ret, 1);
    let ret = sc(
        sys::SYS_PREAD64,
        [fd as usize, buf.as_mut_ptr() as usize, 5, usize::MAX, 0, 0],
    );
    check(b"pread64 negative offset", ret, EINVAL);
    let (ret, mode, size) = stat(c"/tmp/fstest", 0);
    check(b"newfstatat", ret, 0);
    check(b"st_mode", mode as isize, 0o100644);
    check(b"st_size", size as isize, 11);
    let mut st = [0u8; 128];
    check(
        b"fstat",
        sc(
            sys::SYS_FSTAT,
            [fd as usize, st.as_mut_ptr() as usize, 0, 0, 0, 0],
        ),
        0,
    );
    check(
        b"fstat kernel",
        sc(sys::SYS_FSTAT, [fd as usize, KERNEL_ADDR, 0, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"ftruncate",
        sc(sys::SYS_FTRUNCATE, [fd as usize, 3, 0, 0, 0, 0]),
        0,
    );
    check(
        b"size after ftruncate",
        stat(c"/tmp/fstest", 0).2 as isize,
        3,
    );
    check(
        b"ftruncate negative",
        sc(sys::SYS_FTRUNCATE, [fd as usize, usize::MAX, 0, 0, 0, 0]),
        EINVAL,
    );
    let mut stx = [0u8; 256];
    let ret = sc(
        sys::SYS_STATX,
        [
            sys::AT_FDCWD,
            p(c"/tmp/fstest"),
            0,
            0x7ff,
            stx.as_mut_ptr() as usize,
            0,
        ],
    );
    check(b"statx", ret, 0);
    check(b"statx size", stx[40] as isize, 3);
    check(b"close", close(fd), 0);
    check(b"close again", close(fd), EBADF);
    check(
        b"O_EXCL existing",
        open(c"/tmp/fstest", sys::O_CREAT | sys::O_EXCL | sys::O_WRONLY),
        EEXIST,
    );
    let fd = open(c"/tmp/fstest", sys::O_WRONLY | sys::O_APPEND);
    check(b"O_APPEND write", write(fd, b"def"), 3);
    check(b"O_APPEND offset", lseek(fd, 0, 1), 6);
    check(b"read on O_WRONLY", read(fd, &mut buf), EBADF);
    close(fd);
    let fd = open(c"/tmp/fstest", sys::O_RDONLY);
    check(b"read whole", read(fd, &mut buf), 6);
    check_true(b"append data", &buf[..6] == b"heldef");
    check(b"write on O_RDONLY", write(fd, b"x"), EBADF);
    close(fd);
    let fd = open(c"/tmp/fstest", sys::O_RDWR | sys::O_TRUNC);
    check(b"O_TRUNC size", stat(c"/tmp/fstest", 0).2 as isize, 0);
    // readv / writev across two iovecs.
    let iov_w: [usize; 4] = [b"ab".as_ptr() as usize, 2, b"cde".as_ptr() as usize, 3];
    check(
        b"writev",
        sc(
            sys::SYS_WRITEV,
            [fd as usize, iov_w.as_ptr() as usize, 2, 0, 0, 0],
        ),
        5,
    );
    lseek(fd, 0, 0);
    let (mut a, mut b) = ([0u8; 3], [0u8; 8]);
    let iov_r: [usize; 4] = [a.as_mut_ptr() as usize, 3, b.as_mut_ptr() as usize, 8];
    check(
        b"readv",
        sc(
            sys::SYS_READV,
            [fd as usize, iov_r.as_ptr() as usize, 2, 0, 0, 0],
        ),
        5,
    );
    check_true(b"readv data", &a == b"abc" && &b[..2] == b"de");
    check(
        b"writev too many",
        sc(
            sys::SYS_WRITEV,
            [fd as usize, iov_w.as_ptr() as usize, 1025, 0, 0, 0],
        ),
        EINVAL,
    );
    check(
        b"readv bad iovec",
        sc(sys::SYS_READV, [fd as usize, UNMAPPED, 1, 0, 0, 0]),
        EFAULT,
    );
    close(fd);
}

fn hostile() {
    let fd = open(c"/tmp/fstest", sys::O_RDWR | sys::O_TRUNC);
    write(fd, b"12345678");
    lseek(fd, 0, 0);
    let mut buf = [0u8; 8];
    check(b"read(-1)", read(-1, &mut buf), EBADF);
    check(b"read(9999)", read(9999, &mut buf), EBADF);
    // fd is an `unsigned int`: the upper bits of the register are ignored.
    check(
        b"write((1<<40)|77)",
        sc(sys::SYS_WRITE, [(1 << 40) | 77, 0, 0, 0, 0, 0]),
        EBADF,
    );
    check(
        b"write((1<<40)|1, 0 bytes)",
        sc(sys::SYS_WRITE, [(1 << 40) | 1, 0, 0, 0, 0, 0]),
        0,
    );
    check(
        b"read unmapped",
        sc(sys::SYS_READ, [fd as usize, UNMAPPED, 8, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"read kernel",
        sc(sys::SYS_READ, [fd as usize, KERNEL_ADDR, 8, 0, 0, 0]),
        EFAULT,
    );
    check(b"offset kept after EFAULT", lseek(fd, 0, 1), 0);
    check(
        b"read huge length",
        sc(
            sys::SYS_READ,
            [fd as usize, buf.as_mut_ptr() as usize, usize::MAX, 0, 0, 0],
        ),
        EFAULT,
    );
    check(
        b"write unmapped",
        sc(sys::SYS_WRITE, [fd as usize, UNMAPPED, 8, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"openat unmapped path",
        sc(sys::SYS_OPENAT, [sys::AT_FDCWD, UNMAPPED, 0, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"openat kernel path",
        sc(sys::SYS_OPENAT, [sys::AT_FDCWD, KERNEL_ADDR, 0, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"openat bad dirfd",
        sc(sys::SYS_OPENAT, [77, p(c"x"), 0, 0, 0, 0]),
        EBADF,
    );
    check(
        b"openat file dirfd",
        sc(sys::SYS_OPENAT, [fd as usize, p(c"x"), 0, 0, 0, 0]),
        ENOTDIR,
    );
    check(b"openat empty", open(c"", 0), ENOENT);
    check(b"openat missing", open(c"/nope/x", 0), ENOENT);
    check(b"openat through file", open(c"/tmp/fstest/x", 0), ENOTDIR);
    check(
        b"openat dir for writing",
        open(c"/tmp", sys::O_WRONLY),
        EISDIR,
    );
    check(
        b"O_DIRECTORY on file",
        open(c"/tmp/fstest", sys::O_DIRECTORY),
        ENOTDIR,
    );
    check(
        b"read a directory",
        {
            let dir = open(c"/tmp", sys::O_RDONLY);
            let ret = read(dir, &mut buf);
            close(dir);
            ret
        },
        EISDIR,
    );
    // Paths of PATH_MAX bytes and names of NAME_MAX + 1.
    let mut long = [b'a'; 4097];
    long[0] = b'/';
    long[4096] = 0;
    let long = CStr::from_bytes_with_nul(&long).unwrap_or_default();
    check(b"path too long", open(long, 0), ENAMETOOLONG);
    let mut name = [b'n'; 262];
    name[..5].copy_from_slice(b"/tmp/");
    name[261] = 0;
    let name = CStr::from_bytes_with_nul(&name).unwrap_or_default();
    check(
        b"name too long",
        open(name, sys::O_CREAT | sys::O_WRONLY),
        ENAMETOOLONG,
    );
    check(b"close(-1)", close(-1), EBADF);
    check(b"lseek pipe-less bad fd", lseek(-5, 0, 0), EBADF);
    // A buffer that runs from a mapped page into an unmapped one: partial transfers.
    let page = sc(sys::SYS_MMAP, [0, 8192, 3, 0x22, usize::MAX, 0]);
    check_true(b"mmap", page > 0);
    let page = page as usize;
    check(
        b"munmap",
        sc(sys::SYS_MUNMAP, [page + 4096, 4096, 0, 0, 0, 0]),
        0,
    );
    lseek(fd, 0, 0);
    check(
        b"read crossing into unmapped",
        sc(sys::SYS_READ, [fd as usize, page + 4092, 8, 0, 0, 0]),
        4,
    );
    check(b"offset after partial read", lseek(fd, 0, 1), 4);
    check(
        b"write crossing into unmapped",
        sc(sys::SYS_WRITE, [fd as usize, page + 4092, 8, 0, 0, 0]),
        4,
    );
    sc(sys::SYS_MUNMAP, [page, 4096, 0, 0, 0, 0]);
    close(fd);
}

fn directories_and_links() {
    let _ = sc(
        sys::SYS_UNLINKAT,
        [sys::AT_FDCWD, p(c"/tmp/d/f"), 0, 0, 0, 0],
    );
    let _ = sc(
        sys::SYS_UNLINKAT,
        [sys::AT_FDCWD, p(c"/tmp/d"), 0x200, 0, 0, 0],
    );
    let mkdir = |path: &CStr| sc(sys::SYS_MKDIRAT, [sys::AT_FDCWD, p(path), 0o755, 0, 0, 0]);
    check(b"mkdirat", mkdir(c"/tmp/d"), 0);
    check(b"mkdirat again", mkdir(c"/tmp/d"), EEXIST);
    check(b"mkdirat missing parent", mkdir(c"/tmp/nope/d"), ENOENT);
    check(
        b"mkdirat in tracefs",
        mkdir(c"/sys/kernel/tracing/x"),
        EACCES,
    );
    check(b"mkdirat /", mkdir(c"/"), EEXIST);
    let fd = open(c"/tmp/d/f", sys::O_CREAT | sys::O_WRONLY);
    close(fd);
    // getcwd / chdir / fchdir and relative paths.
    check(
        b"chdir",
        sc(sys::SYS_CHDIR, [p(c"/tmp/d"), 0, 0, 0, 0, 0]),
        0,
    );
    let mut cwd = [0u8; 64];
    let ret = sc(sys::SYS_GETCWD, [cwd.as_mut_ptr() as usize, 64, 0, 0, 0, 0]);
    check(b"getcwd", ret, 7);
    check_true(b"getcwd text", &cwd[..7] == b"/tmp/d\0");
    check(
        b"getcwd small",
        sc(sys::SYS_GETCWD, [cwd.as_mut_ptr() as usize, 2, 0, 0, 0, 0]),
        ERANGE,
    );
    check(
        b"getcwd unmapped",
        sc(sys::SYS_GETCWD, [UNMAPPED, 64, 0, 0, 0, 0]),
        EFAULT,
    );
    let rel = open(c"f", sys::O_RDONLY);
    check_true(b"relative open", rel >= 0);
    close(rel);
    check(
        b"chdir file",
        sc(sys::SYS_CHDIR, [p(c"f"), 0, 0, 0, 0, 0]),
        ENOTDIR,
    );
    check(
        b"chdir ..",
        sc(sys::SYS_CHDIR, [p(c".."), 0, 0, 0, 0, 0]),
        0,
    );
    let dir = open(c"d", sys::O_RDONLY | sys::O_DIRECTORY);
    check_true(b"open dir", dir >= 0);
    let rel = sc(sys::SYS_OPENAT, [dir as usize, p(c"f"), 0, 0, 0, 0]);
    check_true(b"openat dirfd", rel >= 0);
    close(rel);
    check(
        b"fchdir",
        sc(sys::SYS_FCHDIR, [dir as usize, 0, 0, 0, 0, 0]),
        0,
    );
    check(
        b"fchdir bad",
        sc(sys::SYS_FCHDIR, [999, 0, 0, 0, 0, 0]),
        EBADF,
    );
    // getdents64: ".", "..", "f".
    let mut dents = [0u8; 512];
    lseek(dir, 0, 0);
    let n = sc(
        sys::SYS_GETDENTS64,
        [dir as usize, dents.as_mut_ptr() as usize, 512, 0, 0, 0],
    );
    let mut names = 0;
    let mut at = 0;
    while n > 0 && at < n as usize {
        let reclen = u16::from_le_bytes([dents[at + 16], dents[at + 17]]) as usize;
        let name = &dents[at + 19..];
        if name.starts_with(b".\0") || name.starts_with(b"..\0") || name.starts_with(b"f\0") {
            names += 1;
        }
        if reclen == 0 {
            break;
        }
        at += reclen;
    }
    check(b"getdents64 names", names, 3);
    check(
        b"getdents64 at end",
        sc(
            sys::SYS_GETDENTS64,
            [dir as usize, dents.as_mut_ptr() as usize, 512, 0, 0, 0],
        ),
        0,
    );
    lseek(dir, 0, 0);
    check(
        b"getdents64 small buffer",
        sc(
            sys::SYS_GETDENTS64,
            [dir as usize, dents.as_mut_ptr() as usize, 8, 0, 0, 0],
        ),
        EINVAL,
    );
    check(
        b"getdents64 unmapped",
        sc(sys::SYS_GETDENTS64, [dir as usize, UNMAPPED, 512, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"getdents64 on file",
        sc(
            sys::SYS_GETDENTS64,
            [1, dents.as_mut_ptr() as usize, 512, 0, 0, 0],
        ),
        ENOTDIR,
    );
    close(dir);
    sc(sys::SYS_CHDIR, [p(c"/"), 0, 0, 0, 0, 0]);
    // Symbolic links.
    let symlink = |target: &CStr, path: &CStr| {
        sc(
            sys::SYS_SYMLINKAT,
            [p(target), sys::AT_FDCWD, p(path), 0, 0, 0],
        )
    };
    let _ = sc(
        sys::SYS_UNLINKAT,
        [sys::AT_FDCWD, p(c"/tmp/link"), 0, 0, 0, 0],
    );
    let _ = sc(
        sys::SYS_UNLINKAT,
        [sys::AT_FDCWD, p(c"/tmp/loop"), 0, 0, 0, 0],
    );
    check(b"symlinkat", symlink(c"d/f", c"/tmp/link"), 0);
    check(b"symlinkat exists", symlink(c"d/f", c"/tmp/link"), EEXIST);
    check(b"symlinkat empty", symlink(c"", c"/tmp/empty"), ENOENT);
    check(b"symlinkat loop", symlink(c"loop", c"/tmp/loop"), 0);
    let mut target = [0u8; 16];
    let readlink = |path: &CStr, buf: &mut [u8]| {
        sc(
            sys::SYS_READLINKAT,
            [
                sys::AT_FDCWD,
                p(path),
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                0,
            ],
        )
    };
    check(b"readlinkat", readlink(c"/tmp/link", &mut target), 3);
    check_true(b"readlinkat text", &target[..3] == b"d/f");
    check(
        b"readlinkat short",
        readlink(c"/tmp/link", &mut target[..2]),
        2,
    );
    check(
        b"readlinkat size 0",
        readlink(c"/tmp/link", &mut target[..0]),
        EINVAL,
    );
    check(
        b"readlinkat not a link",
        readlink(c"/tmp/d", &mut target),
        EINVAL,
    );
    check(
        b"readlinkat unmapped buf",
        sc(
            sys::SYS_READLINKAT,
            [sys::AT_FDCWD, p(c"/tmp/link"), UNMAPPED, 16, 0, 0],
        ),
        EFAULT,
    );
    check(
        b"stat through link",
        stat(c"/tmp/link", 0).1 as isize,
        0o100644,
    );
    check(
        b"lstat of link",
        stat(c"/tmp/link", 0x100).1 as isize,
        0o120777,
    );
    check(b"newfstatat bad flag", stat(c"/tmp/link", 0x1).0, EINVAL);
    check(
        b"open O_NOFOLLOW link",
        open(c"/tmp/link", sys::O_NOFOLLOW),
        ELOOP,
    );
    check(b"open loop", open(c"/tmp/loop", 0), ELOOP);
    let fd = open(c"/tmp/link", 0);
    check_true(b"open through link", fd >= 0);
    close(fd);
    // faccessat.
    let access =
        |path: &CStr, mode: usize| sc(sys::SYS_FACCESSAT, [sys::AT_FDCWD, p(path), mode, 0, 0, 0]);
    check(b"faccessat F_OK", access(c"/tmp/d/f", 0), 0);
    check(b"faccessat X_OK file", access(c"/tmp/d/f", 1), EACCES);
    check(b"faccessat X_OK dir", access(c"/tmp/d", 1), 0);
    check(b"faccessat bad mode", access(c"/tmp/d", 8), EINVAL);
    check(b"faccessat missing", access(c"/nope", 0), ENOENT);
    check(
        b"faccessat2 bad flags",
        sc(
            sys::SYS_FACCESSAT2,
            [sys::AT_FDCWD, p(c"/tmp"), 0, 0x1, 0, 0],
        ),
        EINVAL,
    );
    // Renames and removals.
    let rename = |old: &CStr, new: &CStr, flags: usize| {
        sc(
            sys::SYS_RENAMEAT2,
            [sys::AT_FDCWD, p(old), sys::AT_FDCWD, p(new), flags, 0],
        )
    };
    check(b"renameat2", rename(c"/tmp/d/f", c"/tmp/d/g", 0), 0);
    check(b"renamed", stat(c"/tmp/d/g", 0).0, 0);
    check(
        b"renameat2 missing",
        rename(c"/tmp/d/f", c"/tmp/d/h", 0),
        ENOENT,
    );
    check(
        b"RENAME_NOREPLACE",
        rename(c"/tmp/link", c"/tmp/d/g", 1),
        EEXIST,
    );
    check(
        b"renameat2 bad flags",
        rename(c"/tmp/d/g", c"/tmp/d/h", 8),
        EINVAL,
    );
    check(
        b"rename dir into itself",
        rename(c"/tmp/d", c"/tmp/d/x", 0),
        EINVAL,
    );
    let unlink =
        |path: &CStr, flags: usize| sc(sys::SYS_UNLINKAT, [sys::AT_FDCWD, p(path), flags, 0, 0, 0]);
    check(b"unlinkat dir", unlink(c"/tmp/d", 0), EISDIR);
    check(b"rmdir non-empty", unlink(c"/tmp/d", 0x200), ENOTEMPTY);
    check(b"rmdir file", unlink(c"/tmp/d/g", 0x200), ENOTDIR);
    check(b"unlinkat bad flags", unlink(c"/tmp/d/g", 0x1), EINVAL);
    check(
        b"unlink tracefs file",
        unlink(c"/sys/kernel/tracing/trace", 0),
        EPERM,
    );
    check(b"unlinkat", unlink(c"/tmp/d/g", 0), 0);
    check(b"unlinkat again", unlink(c"/tmp/d/g", 0), ENOENT);
    check(b"rmdir", unlink(c"/tmp/d", 0x200), 0);
    check(b"unlink link", unlink(c"/tmp/link", 0), 0);
    check(b"unlink loop", unlink(c"/tmp/loop", 0), 0);
}

fn descriptors() {
    let fd = open(c"/tmp/fstest", sys::O_RDWR);
    let dup = sc(sys::SYS_DUP, [fd as usize, 0, 0, 0, 0, 0]);
    check_true(b"dup", dup > fd);
    // A dup shares the offset.
    lseek(fd, 2, 0);
    check(b"dup shares offset", lseek(dup, 0, 1), 2);
    check(
        b"dup3 same fd",
        sys::dup3(fd as usize, fd as usize, 0),
        EINVAL,
    );
    check(b"dup3 bad flags", sys::dup3(fd as usize, 50, 1), EINVAL);
    check(b"dup3 bad old", sys::dup3(999, 50, 0), EBADF);
    check(b"dup3 new too big", sys::dup3(fd as usize, 5000, 0), EBADF);
    check(b"dup3", sys::dup3(fd as usize, 50, sys::O_CLOEXEC), 50);
    let fcntl =
        |fd: isize, cmd: usize, arg: usize| sc(sys::SYS_FCNTL, [fd as usize, cmd, arg, 0, 0, 0]);
    check(b"F_GETFD cloexec", fcntl(50, 1, 0), 1);
    check(b"F_SETFD", fcntl(50, 2, 0), 0);
    check(b"F_GETFD cleared", fcntl(50, 1, 0), 0);
    check(b"F_DUPFD", fcntl(fd, 0, 100), 100);
    check(b"F_DUPFD_CLOEXEC", fcntl(fd, 1030, 100), 101);
    check(b"F_DUPFD past limit", fcntl(fd, 0, 1024), EINVAL);
    check(b"F_GETFL", fcntl(fd, 3, 0), 0o400002);
    check(
        b"F_SETFL O_APPEND",
        fcntl(fd, 4, sys::O_APPEND | sys::O_RDONLY),
        0,
    );
    check(b"F_GETFL after", fcntl(fd, 3, 0), 0o402002);
    check(b"fcntl bad cmd", fcntl(fd, 9999, 0), EINVAL);
    check(b"fcntl bad fd", fcntl(-3, 1, 0), EBADF);
    for fd in [50, 100, 101] {
        close(fd);
    }
    // RLIMIT_NOFILE: 1024 descriptors, then EMFILE.
    let mut last = 0;
    let mut error = 0;
    for _ in 0..1100 {
        let ret = sc(sys::SYS_DUP, [fd as usize, 0, 0, 0, 0, 0]);
        if ret < 0 {
            error = ret;
            break;
        }
        last = ret;
    }
    check(b"EMFILE", error, EMFILE);
    check(b"last fd", last, 1023);
    for extra in (dup + 1)..=last {
        close(extra);
    }
    close(dup);
    // ioctl: a regular file is no tty; the console answers the termios calls.
    check(
        b"ioctl TCGETS file",
        sc(sys::SYS_IOCTL, [fd as usize, 0x5401, 0, 0, 0, 0]),
        ENOTTY,
    );
    check(
        b"ioctl bad fd",
        sc(sys::SYS_IOCTL, [999, 0x5401, 0, 0, 0, 0]),
        EBADF,
    );
    close(fd);
    let tty = open(c"/dev/tty", sys::O_RDWR);
    check_true(b"open /dev/tty", tty >= 0);
    let mut termios = [0u8; 36];
    check(
        b"TCGETS",
        sc(
            sys::SYS_IOCTL,
            [tty as usize, 0x5401, termios.as_mut_ptr() as usize, 0, 0, 0],
        ),
        0,
    );
    check(b"c_lflag ICANON|ECHO", (termios[12] & 0x0a) as isize, 0x0a);
    check(
        b"TCSETS",
        sc(
            sys::SYS_IOCTL,
            [tty as usize, 0x5402, termios.as_ptr() as usize, 0, 0, 0],
        ),
        0,
    );
    check(
        b"TCGETS unmapped",
        sc(sys::SYS_IOCTL, [tty as usize, 0x5401, UNMAPPED, 0, 0, 0]),
        EFAULT,
    );
    let mut winsize = [0u16; 4];
    check(
        b"TIOCGWINSZ",
        sc(
            sys::SYS_IOCTL,
            [tty as usize, 0x5413, winsize.as_mut_ptr() as usize, 0, 0, 0],
        ),
        0,
    );
    check_true(b"winsize", winsize[0] > 0 && winsize[1] > 0);
    let mut pgrp = 0i32;
    check(
        b"TIOCGPGRP",
        sc(
            sys::SYS_IOCTL,
            [tty as usize, 0x540F, (&raw mut pgrp) as usize, 0, 0, 0],
        ),
        0,
    );
    check_true(b"pgrp", pgrp > 0);
    check(
        b"ioctl unknown",
        sc(sys::SYS_IOCTL, [tty as usize, 0x1234, 0, 0, 0, 0]),
        ENOTTY,
    );
    check(b"lseek tty", lseek(tty, 0, 0), ESPIPE);
    close(tty);
    // /dev/null and /dev/zero.
    let null = open(c"/dev/null", sys::O_RDWR);
    check(b"write /dev/null", write(null, b"gone"), 4);
    let mut buf = [7u8; 4];
    check(b"read /dev/null", read(null, &mut buf), 0);
    close(null);
    let zero = open(c"/dev/zero", sys::O_RDONLY);
    check(b"read /dev/zero", read(zero, &mut buf), 4);
    check_true(b"zeros", buf == [0; 4]);
    close(zero);
}

fn pipes() {
    let (r, w) = match sys::pipe2(0) {
        Ok(ends) => ends,
        Err(error) => {
            check(b"pipe2", error, 0);
            return;
        }
    };
    let (r, w) = (r as isize, w as isize);
    check(b"pipe write", write(w, b"abc"), 3);
    let mut buf = [0u8; 16];
    check(b"pipe read", read(r, &mut buf), 3);
    check_true(b"pipe data", &buf[..3] == b"abc");
    check(b"lseek pipe", lseek(r, 0, 0), ESPIPE);
    check(
        b"pread pipe",
        sc(
            sys::SYS_PREAD64,
            [r as usize, buf.as_mut_ptr() as usize, 1, 0, 0, 0],
        ),
        ESPIPE,
    );
    check(b"write to read end", write(r, b"x"), EBADF);
    // ppoll: nothing to read yet, then something.
    let ts = [0i64, 10_000_000];
    let mut fds = [
        r as i32, 1, /* POLLIN */
        w as i32, 4, /* POLLOUT */
    ];
    let ppoll = |fds: &mut [i32], n: usize, ts: usize| {
        sc(sys::SYS_PPOLL, [fds.as_mut_ptr() as usize, n, ts, 0, 8, 0])
    };
    check(
        b"ppoll timeout",
        ppoll(&mut fds[..2], 1, ts.as_ptr() as usize),
        0,
    );
    check(
        b"ppoll writable",
        ppoll(&mut fds, 2, ts.as_ptr() as usize),
        1,
    );
    check(b"ppoll revents", (fds[3] >> 16) as isize, 4);
    write(w, b"x");
    check(
        b"ppoll readable",
        ppoll(&mut fds[..2], 1, ts.as_ptr() as usize),
        1,
    );
    check(b"ppoll POLLIN", (fds[1] >> 16) as isize, 1);
    let mut bad = [999i32, 1];
    check(b"ppoll bad fd", ppoll(&mut bad, 1, ts.as_ptr() as usize), 1);
    check(b"ppoll POLLNVAL", (bad[1] >> 16) as isize, 0x20);
    check(
        b"ppoll too many",
        ppoll(&mut bad, 5000, ts.as_ptr() as usize),
        EINVAL,
    );
    check(
        b"ppoll unmapped",
        sc(sys::SYS_PPOLL, [UNMAPPED, 1, 0, 0, 8, 0]),
        EFAULT,
    );
    // pselect6 on the same pipe.
    let mut readset = [1u64 << r];
    check(
        b"pselect6",
        sc(
            sys::SYS_PSELECT6,
            [
                r as usize + 1,
                readset.as_mut_ptr() as usize,
                0,
                0,
                ts.as_ptr() as usize,
                0,
            ],
        ),
        1,
    );
    check(b"pselect6 set", (readset[0] >> r) as isize & 1, 1);
    check(
        b"pselect6 negative n",
        sc(sys::SYS_PSELECT6, [usize::MAX, 0, 0, 0, 0, 0]),
        EINVAL,
    );
    read(r, &mut buf);
    // O_NONBLOCK: EAGAIN on an empty pipe.
    sc(sys::SYS_FCNTL, [r as usize, 4, sys::O_NONBLOCK, 0, 0, 0]);
    check(b"O_NONBLOCK read", read(r, &mut buf), EAGAIN);
    // sendfile from a regular file into the pipe.
    let file = open(c"/tmp/fstest", sys::O_RDWR | sys::O_TRUNC);
    write(file, b"sendfile!");
    let mut off = 4i64;
    check(
        b"sendfile",
        sc(
            sys::SYS_SENDFILE,
            [
                w as usize,
                file as usize,
                (&raw mut off) as usize,
                100,
                0,
                0,
            ],
        ),
        5,
    );
    check(b"sendfile offset", off as isize, 9);
    check(b"sendfile data", read(r, &mut buf), 5);
    check_true(b"sendfile bytes", &buf[..5] == b"file!");
    close(file);
    // The writer gone: end of file. The reader gone: EPIPE (SIGPIPE ignored here).
    close(w);
    check(b"pipe EOF", read(r, &mut buf), 0);
    close(r);
    let (r, w) = sys::pipe2(0).unwrap_or((0, 0));
    let ignore = sys::SigAction {
        handler: 1,
        ..Default::default()
    };
    sys::sigaction(13, Some(&ignore), None);
    close(r as isize);
    check(b"EPIPE", write(w as isize, b"x"), EPIPE);
    close(w as isize);
    check(b"pipe2 bad flags", sys::pipe2(1).err().unwrap_or(0), EINVAL);
    check(
        b"pipe2 unmapped",
        sc(sys::SYS_PIPE2, [UNMAPPED, 0, 0, 0, 0, 0]),
        EFAULT,
    );
    check(
        b"pipe2 fds not leaked",
        sc(sys::SYS_DUP, [0, 0, 0, 0, 0, 0]),
        3,
    );
    close(3);
}

/// A child writes through a pipe dup'd onto its stdout; the parent reads it all to EOF.
fn fork_pipe() {
    let Ok((r, w)) = sys::pipe2(sys::O_CLOEXEC) else {
        check(b"pipe2 O_CLOEXEC", -1, 0);
        return;
    };
    let pid = sys::fork();
    if pid == 0 {
        sys::dup3(w, 1, 0);
        sys::close(w);
        sys::close(r);
        for _ in 0..100 {
            user::print(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n");
        }
        user::print(b"child done\n");
        sys::exit_group(0);
    }
    sys::close(w);
    let mut total = 0;
    let mut last = [0u8; 11];
    let mut buf = [0u8; 700];
    loop {
        let n = sys::read(r, &mut buf);
        if n <= 0 {
            check(b"pipe read end", n, 0);
            break;
        }
        let n = n as usize;
        if n >= 11 {
            last.copy_from_slice(&buf[n - 11..n]);
        }
        total += n;
    }
    check(b"fork pipe bytes", total as isize, 64 * 100 + 11);
    check_true(b"fork pipe tail", &last == b"child done\n");
    let (reaped, status) = sys::wait4(pid, 0);
    check(b"wait4 child", reaped, pid);
    check(b"child status", status as isize, 0);
    sys::close(r);
}

/// `voluntary_ctxt_switches` from `/proc/self/status`: how often this task has slept.
fn voluntary_switches() -> Option<u64> {
    let fd = open(c"/proc/self/status", sys::O_RDONLY);
    let mut buf = [0u8; 4096];
    let n = read(fd, &mut buf);
    close(fd);
    let text = buf.get(..usize::try_from(n).ok()?)?;
    // After a newline: `nonvoluntary_ctxt_switches` ends the same way.
    let key = b"\nvoluntary_ctxt_switches:\t";
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    user::parse_u64(&text[at..at + digits])
}

/// Whether this task slept at most a few times since `before` (a wait that looked again every
/// few milliseconds would have slept dozens of times in 300 ms).
fn slept_a_few_times(before: Option<u64>) -> bool {
    matches!((before, voluntary_switches()), (Some(b), Some(a)) if a - b <= 10)
}

/// `ppoll` and `pselect6` with no timeout sleep until a forked child makes the pipe ready,
/// 300 ms later: the pipe's own wake-up ends the sleep, so the wait is one sleep.
fn poll_sleeps() {
    let Ok((r, w)) = sys::pipe2(0) else {
        check(b"pipe2", -1, 0);
        return;
    };
    let pid = sys::fork();
    if pid == 0 {
        sys::sleep_ms(300);
        sys::write(w, b"y");
        sys::sleep_ms(300);
        sys::exit_group(0);
    }
    sys::close(w);
    let before = voluntary_switches();
    let mut fds = [r as i32, 1 /* POLLIN */];
    check(
        b"ppoll sleeps until written",
        sc(sys::SYS_PPOLL, [fds.as_mut_ptr() as usize, 1, 0, 0, 8, 0]),
        1,
    );
    check(b"ppoll sleeps: POLLIN", (fds[1] >> 16) as isize, 1);
    check_true(b"ppoll sleeps: woken once", slept_a_few_times(before));
    let mut buf = [0u8; 4];
    check(b"ppoll sleeps: read", sys::read(r, &mut buf), 1);
    // The writer's exit closes the last write end: readable (EOF).
    let before = voluntary_switches();
    let mut readset = [1u64 << r];
    check(
        b"pselect6 sleeps until EOF",
        sc(
            sys::SYS_PSELECT6,
            [r + 1, readset.as_mut_ptr() as usize, 0, 0, 0, 0],
        ),
        1,
    );
    check_true(b"pselect6 sleeps: woken once", slept_a_few_times(before));
    check(b"pselect6 sleeps: EOF", sys::read(r, &mut buf), 0);
    check(b"poll child", sys::wait4(pid, 0).0, pid);
    sys::close(r);
}

fn print_words(args: &user::Args, from: usize, fd: isize) -> isize {
    let mut line = [0u8; 1024];
    let mut len = 0;
    for i in from..args.len() {
        let word = args.get(i).unwrap_or_default();
        if len + word.len() + 1 > line.len() {
            break;
        }
        if i > from {
            line[len] = b' ';
            len += 1;
        }
        line[len..len + word.len()].copy_from_slice(word);
        len += word.len();
    }
    line[len] = b'\n';
    write(fd, &line[..len + 1])
}

fn c_path<'b>(arg: &[u8], buf: &'b mut [u8; 256]) -> Option<&'b CStr> {
    if arg.len() >= buf.len() {
        return None;
    }
    buf[..arg.len()].copy_from_slice(arg);
    buf[arg.len()] = 0;
    CStr::from_bytes_with_nul(&buf[..=arg.len()]).ok()
}

/// The helper modes: `write PATH WORDS`, `echo WORDS`, `cat PATH`.
fn helper(args: &user::Args, mode: &[u8]) -> i32 {
    let mut path = [0u8; 256];
    match mode {
        b"echo" => i32::from(print_words(args, 2, 1) < 0),
        b"write" => {
            let Some(path) = args.get(2).and_then(|a| c_path(a, &mut path)) else {
                return 2;
            };
            let fd = open(path, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC);
            let ret = if fd < 0 { fd } else { print_words(args, 3, fd) };
            if ret < 0 {
                user::print(b"fstest: write: ");
                user::print_ret(ret);
                user::print(b"\n");
                return 1;
            }
            i32::from(close(fd) < 0)
        }
        b"cat" => {
            let Some(path) = args.get(2).and_then(|a| c_path(a, &mut path)) else {
                return 2;
            };
            let fd = open(path, sys::O_RDONLY);
            if fd < 0 {
                user::print(b"fstest: cat: ");
                user::print_ret(fd);
                user::print(b"\n");
                return 1;
            }
            let mut buf = [0u8; 100];
            loop {
                let n = read(fd, &mut buf);
                if n <= 0 {
                    return i32::from(n < 0);
                }
                write(1, &buf[..n as usize]);
            }
        }
        _ => 2,
    }
}

fn run(args: user::Args) -> i32 {
    if let Some(mode) = args.get(1) {
        return helper(&args, mode);
    }
    files();
    hostile();
    directories_and_links();
    descriptors();
    pipes();
    fork_pipe();
    poll_sleeps();
    let _ = sc(
        sys::SYS_UNLINKAT,
        [sys::AT_FDCWD, p(c"/tmp/fstest"), 0, 0, 0, 0],
    );
    // SAFETY: single-threaded program.
    let (checks, failed) = unsafe { (CHECKS, FAILED) };
    user::print(b"fstest: ");
    user::print_u64(checks);
    user::print(b" checks, ");
    user::print_u64(failed);
    user::print(b" failed\n");
    i32::from(failed > 0)
}

user::entry!(run);
