//! The file syscalls (Linux: `fs/read_write.c`, `fs/open.c`, `fs/namei.c`, `fs/stat.c`,
//! `fs/fcntl.c`, `fs/ioctl.c`, `fs/pipe.c`, `fs/select.c`, `fs/readdir.c`, `fs/d_path.c`):
//! descriptors of the process's table ([`Process::files`]) on the VFS's open files
//! ([`File`]), paths walked from the cwd or a `dirfd`.
//!
//! User memory only through [`crate::uaccess`]: a bad pointer is `EFAULT`; reads and writes
//! that fault part-way return what was moved before the bad byte, as Linux's do.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use arch::exception::TrapFrame;

use super::{MAX_RW_COUNT, SysResult};
use crate::fs::file::{
    __O_TMPFILE, File, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK,
    SEEK_CUR,
};
use crate::fs::path::PATH_MAX;
use crate::fs::poll::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, PollWake};
use crate::fs::{self, Errno, Inode, Kind, Stat};
use crate::process::{Process, signal};
use crate::sched::wait::{Interrupted, NO_DEADLINE, PollWait};
use crate::uaccess::{
    access_ok, copy_from_user, copy_from_user_partial, copy_to_user, copy_to_user_partial,
    get_user_u64, strndup_user,
};

// *at's arguments (include/uapi/linux/fcntl.h).
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_REMOVEDIR: u64 = 0x200;
pub const AT_EACCESS: u64 = 0x200;
pub const AT_SYMLINK_FOLLOW: u64 = 0x400;
pub const AT_NO_AUTOMOUNT: u64 = 0x800;
pub const AT_EMPTY_PATH: u64 = 0x1000;
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
pub const RENAME_NOREPLACE: u64 = 1;

// fcntl's commands.
pub const F_DUPFD: u64 = 0;
pub const F_GETFD: u64 = 1;
pub const F_SETFD: u64 = 2;
pub const F_GETFL: u64 = 3;
pub const F_SETFL: u64 = 4;
pub const F_DUPFD_CLOEXEC: u64 = 1030;
pub const FD_CLOEXEC: u64 = 1;

// Generic ioctls every file answers (include/uapi/asm-generic/ioctls.h).
const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;

/// Most iovecs one `readv`/`writev` takes (Linux's `UIO_MAXIOV`).
const UIO_MAXIOV: u64 = 1024;
/// The largest kernel bounce buffer one step of a read or write uses.
const CHUNK: usize = 64 * 1024;

/// A syscall argument as the C `int` it is.
fn int(value: u64) -> i32 {
    value as i32
}

/// A user path: `ENAMETOOLONG` at `PATH_MAX`, `EFAULT` for a bad pointer. Names that are not
/// UTF-8 cannot exist here: `ENOENT`.
fn user_path(addr: u64) -> Result<String, Errno> {
    let bytes = strndup_user(addr, PATH_MAX - 1)?;
    String::from_utf8(bytes).map_err(|_| Errno::ENOENT)
}

/// Where a walk of `path` relative to `dirfd` starts: the cwd for `AT_FDCWD`, the directory
/// open at `dirfd` otherwise (`EBADF`, `ENOTDIR`); absolute paths ignore `dirfd`.
fn base_dir(process: &Process, dirfd: i32, path: &str) -> Result<Arc<Inode>, Errno> {
    if path.starts_with('/') {
        return Ok(fs::vfs().root().clone());
    }
    if dirfd == AT_FDCWD {
        return Ok(process.cwd.clone());
    }
    let file = process.files.get(dirfd)?;
    match file.inode() {
        Some(inode) if inode.is_dir() => Ok(inode.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

/// The inode `dirfd`+`path` names (`follow`: a final symlink is followed).
fn walk_at(process: &Process, dirfd: i32, path: &str, follow: bool) -> Result<Arc<Inode>, Errno> {
    let base = base_dir(process, dirfd, path)?;
    fs::vfs().walk(&base, path, follow)
}

// ---- read and write ----

/// A bounce buffer for up to `count` bytes.
fn bounce(count: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = Vec::new();
    let len = count.clamp(1, CHUNK);
    buf.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    buf.resize(len, 0);
    Ok(buf)
}

/// Reads up to `count` bytes into the user buffer `buf` (at `offset` for `pread64`).
fn do_read(file: &File, buf: u64, count: u64, offset: Option<u64>) -> SysResult {
    let count = count.min(MAX_RW_COUNT) as usize;
    if !access_ok(buf, count) {
        return Err(Errno::EFAULT);
    }
    let mut kbuf = bounce(count)?;
    let mut done = 0usize;
    loop {
        let want = (count - done).min(kbuf.len());
        let result = match offset {
            Some(offset) => file.pread(&mut kbuf[..want], offset + done as u64),
            None => file.read(&mut kbuf[..want]),
        };
        let n = match result {
            Ok(n) => n,
            Err(_) if done > 0 => return Ok(done as u64),
            Err(error) => return Err(error),
        };
        let copied = copy_to_user_partial(buf + done as u64, &kbuf[..n]);
        done += copied;
        if copied < n {
            // The offset moves only past what reached the user.
            if offset.is_none() && file.is_seekable_data() {
                let _ = file.lseek(-((n - copied) as i64), SEEK_CUR);
            }
            return if done > 0 {
                Ok(done as u64)
            } else {
                Err(Errno::EFAULT)
            };
        }
        if n < want || done == count || !file.reads_in_pieces() {
            return Ok(done as u64);
        }
    }
}

/// Sends `SIGPIPE` to the caller for a write that found no reader.
fn sigpipe(process: &Process, error: Errno) -> Errno {
    if error == Errno::EPIPE {
        let pid = process.pid();
        let _ = crate::process::signal::send_signal(
            pid,
            crate::signal::SIGPIPE,
            crate::signal::SI_USER,
            pid,
        );
    }
    error
}

/// Writes up to `count` bytes from the user buffer `buf` (at `offset` for `pwrite64`).
fn do_write(
    process: &Process,
    file: &File,
    buf: u64,
    count: u64,
    offset: Option<u64>,
) -> SysResult {
    let count = count.min(MAX_RW_COUNT) as usize;
    let write = |data: &[u8]| match offset {
        Some(offset) => file.pwrite(data, offset),
        None => file.write(data),
    };
    if file.wants_whole_writes() {
        // A handler parses a write whole: it gets all of it in one call.
        if !access_ok(buf, count) {
            return Err(Errno::EFAULT);
        }
        let mut data = Vec::new();
        data.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
        data.resize(count, 0);
        copy_from_user(&mut data, buf)?;
        return write(&data).map(|n| n as u64);
    }
    let mut kbuf = bounce(count)?;
    let mut done = 0usize;
    loop {
        let want = (count - done).min(kbuf.len());
        let copied = copy_from_user_partial(&mut kbuf[..want], buf + done as u64);
        if copied == 0 && want > 0 {
            return if done > 0 {
                Ok(done as u64)
            } else {
                Err(Errno::EFAULT)
            };
        }
        let at = offset.map(|o| o + done as u64);
        let result = match at {
            Some(at) => file.pwrite(&kbuf[..copied], at),
            None => file.write(&kbuf[..copied]),
        };
        let n = match result {
            Ok(n) => n,
            Err(_) if done > 0 => return Ok(done as u64),
            Err(error) => return Err(sigpipe(process, error)),
        };
        done += n;
        if n < copied || done == count {
            return Ok(done as u64);
        }
        if copied < want {
            return Ok(done as u64);
        }
    }
}

pub fn sys_read(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    do_read(&file, frame.regs[1], frame.regs[2], None).map_err(Errno::restart_sys)
}

pub fn sys_write(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    do_write(process, &file, frame.regs[1], frame.regs[2], None).map_err(Errno::restart_sys)
}

/// `pread64`/`pwrite64`'s offset: `EINVAL` if negative.
fn position(value: u64) -> Result<u64, Errno> {
    if (value as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(value)
}

pub fn sys_pread64(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    do_read(
        &file,
        frame.regs[1],
        frame.regs[2],
        Some(position(frame.regs[3])?),
    )
}

pub fn sys_pwrite64(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    let offset = position(frame.regs[3])?;
    do_write(process, &file, frame.regs[1], frame.regs[2], Some(offset))
}

/// A user iovec array: `EINVAL` for too many or a total past `ssize_t`.
fn iovecs(addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 16];
    let mut out = Vec::new();
    out.try_reserve_exact(count as usize)
        .map_err(|_| Errno::ENOMEM)?;
    let mut total: u64 = 0;
    for i in 0..count {
        copy_from_user(&mut raw, addr.wrapping_add(i * 16))?;
        let base = u64::from_le_bytes(raw[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(raw[8..].try_into().unwrap_or_default());
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        total = total.checked_add(len).ok_or(Errno::EINVAL)?;
        if total > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        out.push((base, len));
    }
    Ok(out)
}

pub fn sys_readv(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    vectored(frame, |base, len| do_read(&file, base, len, None))
}

pub fn sys_writev(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    vectored(frame, |base, len| do_write(process, &file, base, len, None))
}

/// The loop of `readv`/`writev` over the iovec array at x1 (x2 entries): `transfer` for each
/// buffer in turn until one comes up short; an error after some bytes moved ends the call
/// with that count, as Linux's `do_loop_readv_writev`.
fn vectored(frame: &TrapFrame, mut transfer: impl FnMut(u64, u64) -> SysResult) -> SysResult {
    let mut done = 0;
    for (base, len) in iovecs(frame.regs[1], frame.regs[2])? {
        match transfer(base, len) {
            Ok(n) => {
                done += n;
                if n < len {
                    break;
                }
            }
            Err(_) if done > 0 => break,
            Err(error) => return Err(error.restart_sys()),
        }
    }
    Ok(done)
}

/// `sendfile(out_fd, in_fd, offset, count)`: through a kernel buffer; with `offset` the
/// input is read there (and `*offset` advanced), its file offset unchanged.
pub fn sys_sendfile(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [out_fd, in_fd, offset_ptr, count] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    let input = process.files.get(int(in_fd))?;
    let output = process.files.get(int(out_fd))?;
    let mut offset = if offset_ptr != 0 {
        Some(position(get_user_u64(offset_ptr)?)?)
    } else {
        None
    };
    let count = count.min(MAX_RW_COUNT) as usize;
    let mut kbuf = bounce(count)?;
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(kbuf.len());
        let read = match offset {
            Some(at) => input.pread(&mut kbuf[..want], at),
            None => input.read(&mut kbuf[..want]),
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(error) => return Err(error.restart_sys()),
        };
        let written = match output.write(&kbuf[..n]) {
            Ok(written) => written,
            Err(_) if done > 0 => break,
            Err(error) => return Err(sigpipe(process, error)),
        };
        done += written;
        if let Some(at) = &mut offset {
            *at += written as u64;
        }
        if written < n {
            break;
        }
    }
    if let Some(at) = offset {
        crate::uaccess::put_user_u64(offset_ptr, at)?;
    }
    Ok(done as u64)
}

// ---- open, close, seek ----

pub fn sys_openat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, flags, mode] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    let flags = flags as u32;
    let path = user_path(path)?;
    if flags & __O_TMPFILE != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let vfs = fs::vfs();
    let base = base_dir(process, int(dirfd), &path)?;
    let inode = if flags & O_CREAT != 0 {
        if flags & O_DIRECTORY != 0 && flags & O_EXCL == 0 {
            // Linux refuses the ambiguous O_CREAT|O_DIRECTORY.
            return Err(Errno::EINVAL);
        }
        open_creat(&base, &path, flags, mode as u32 & !process.umask())?
    } else {
        vfs.walk(&base, &path, flags & O_NOFOLLOW == 0)?
    };
    let file = File::open(inode, flags)?;
    process
        .files
        .alloc(file, flags & O_CLOEXEC != 0, 0, process.nofile_limit())
        .map(|fd| fd as u64)
}

/// `open(O_CREAT)`'s walk: the existing file at `path`, or a new regular file with the
/// permission bits `perm`. As Linux, without `O_EXCL` a symbolic link is followed even when
/// it dangles: the file is created where it points (each link a step of the
/// [`fs::MAXSYMLINKS`] budget, `ELOOP` past it).
fn open_creat(base: &Arc<Inode>, path: &str, flags: u32, perm: u32) -> Result<Arc<Inode>, Errno> {
    let vfs = fs::vfs();
    let (mut parent, name) = vfs.walk_parent(base, path)?;
    if matches!(name, "." | "..") || path.ends_with('/') {
        return Err(Errno::EISDIR);
    }
    let mut name = String::from(name);
    for _ in 0..=fs::MAXSYMLINKS {
        let existing = match parent.lookup(&name) {
            Ok(_) if flags & O_EXCL != 0 => return Err(Errno::EEXIST),
            Ok(existing) => existing,
            Err(Errno::ENOENT) => return vfs.create_regular(&parent, &name, perm),
            Err(error) => return Err(error),
        };
        let Kind::Symlink(link) = existing.kind() else {
            return Ok(existing);
        };
        if flags & O_NOFOLLOW != 0 {
            return Err(Errno::ELOOP);
        }
        if link.ends_with('/') {
            // A dangling link to "dir/" would name a directory to create.
            return match vfs.walk(&parent, &name, true) {
                Err(Errno::ENOENT) => Err(Errno::EISDIR),
                other => other,
            };
        }
        let (next_parent, next_name) = vfs.walk_parent(&parent, link)?;
        if matches!(next_name, "." | "..") {
            return vfs.walk(&parent, &name, true);
        }
        let next_name = String::from(next_name);
        parent = next_parent;
        name = next_name;
    }
    Err(Errno::ELOOP)
}

pub fn sys_close(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    process.files.close(int(frame.regs[0])).map(|_| 0)
}

pub fn sys_lseek(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    file.lseek(frame.regs[1] as i64, frame.regs[2] as u32)
}

pub fn sys_ftruncate(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    let len = frame.regs[1] as i64;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    file.truncate(len as u64).map(|()| 0)
}

/// The `struct linux_dirent64` header size (`d_ino`, `d_off`, `d_reclen`, `d_type`).
const DIRENT64_HEADER: usize = 19;

pub fn sys_getdents64(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [fd, dirp, count] = [frame.regs[0], frame.regs[1], frame.regs[2] as u32 as u64];
    let file = process.files.get(int(fd))?;
    if !file.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let count = (count as usize).min(CHUNK);
    if !access_ok(dirp, count) {
        return Err(Errno::EFAULT);
    }
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
    let mut too_small = false;
    file.getdents(|ino, next, d_type, name| {
        let reclen = (DIRENT64_HEADER + name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > count {
            too_small = out.is_empty();
            return false;
        }
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&next.to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(d_type);
        out.extend_from_slice(name.as_bytes());
        out.resize(out.len() + reclen - DIRENT64_HEADER - name.len(), 0);
        true
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    copy_to_user(dirp, &out)?;
    Ok(out.len() as u64)
}

// ---- stat ----

/// Linux's `new_encode_dev`.
fn encode_dev((major, minor): (u32, u32)) -> u64 {
    u64::from(minor & 0xff) | u64::from(major) << 8 | u64::from(minor & !0xff) << 12
}

/// The device every inode here reports (one filesystem).
pub const ST_DEV: (u32, u32) = (0, 1);

/// arm64's `struct stat` (include/uapi/asm-generic/stat.h): 128 bytes.
fn stat_bytes(stat: &Stat) -> [u8; 128] {
    let mut out = [0u8; 128];
    let mut put =
        |offset: usize, bytes: &[u8]| out[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(0, &encode_dev(ST_DEV).to_le_bytes());
    put(8, &stat.ino.to_le_bytes());
    put(16, &stat.mode.to_le_bytes());
    put(20, &stat.nlink.to_le_bytes());
    put(32, &encode_dev(stat.rdev).to_le_bytes());
    put(48, &stat.size.to_le_bytes());
    put(56, &stat.blksize.to_le_bytes());
    put(64, &stat.blocks.to_le_bytes());
    out
}

/// The stat data `dirfd`+`path` names under `*at` `flags` (`AT_EMPTY_PATH`: the file at
/// `dirfd` itself, pipes included).
fn stat_at(process: &Process, dirfd: i32, path: u64, flags: u64) -> Result<Stat, Errno> {
    let path = user_path(path)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(process.cwd.stat());
        }
        return Ok(process.files.get(dirfd)?.stat());
    }
    let inode = walk_at(process, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    Ok(inode.stat())
}

pub fn sys_newfstatat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, buf, flags] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let stat = stat_at(process, int(dirfd), path, flags)?;
    copy_to_user(buf, &stat_bytes(&stat))?;
    Ok(0)
}

pub fn sys_fstat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let stat = process.files.get(int(frame.regs[0]))?.stat();
    copy_to_user(frame.regs[1], &stat_bytes(&stat))?;
    Ok(0)
}

/// statx's `STATX_BASIC_STATS`: what every answer here fills in.
const STATX_BASIC_STATS: u32 = 0x7ff;

pub fn sys_statx(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, flags, _mask, buf] = [0, 1, 2, 3, 4].map(|i| frame.regs[i]);
    let flags = flags as u32 as u64;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
    {
        return Err(Errno::EINVAL);
    }
    let stat = stat_at(process, int(dirfd), path, flags)?;
    let mut out = [0u8; 256];
    let mut put =
        |offset: usize, bytes: &[u8]| out[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(0, &STATX_BASIC_STATS.to_le_bytes());
    put(4, &stat.blksize.to_le_bytes());
    put(16, &stat.nlink.to_le_bytes());
    put(28, &(stat.mode as u16).to_le_bytes());
    put(32, &stat.ino.to_le_bytes());
    put(40, &stat.size.to_le_bytes());
    put(48, &stat.blocks.to_le_bytes());
    put(128, &stat.rdev.0.to_le_bytes());
    put(132, &stat.rdev.1.to_le_bytes());
    put(136, &ST_DEV.0.to_le_bytes());
    put(140, &ST_DEV.1.to_le_bytes());
    copy_to_user(buf, &out)?;
    Ok(0)
}

/// `faccessat2`: as root, everything is readable and writable; `X_OK` needs an execute bit
/// on a file.
fn access(process: &Process, dirfd: u64, path: u64, mode: u64, flags: u64) -> SysResult {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let stat = stat_at(process, int(dirfd), path, flags)?;
    const X_OK: u64 = 1;
    if mode & X_OK != 0 && stat.mode & fs::S_IFMT != fs::S_IFDIR && stat.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn sys_faccessat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    access(process, frame.regs[0], frame.regs[1], frame.regs[2], 0)
}

pub fn sys_faccessat2(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    access(
        process,
        frame.regs[0],
        frame.regs[1],
        frame.regs[2],
        frame.regs[3],
    )
}

/// `chmod` of `inode` to `mode`'s permission bits (`S_ISUID` and friends included). Only
/// tmpfs files keep a mode that can change: directories, symbolic links (Linux too refuses
/// those), devices and the pseudo filesystems' files are `EPERM`.
fn chmod(inode: &Inode, mode: u64) -> SysResult {
    match inode.kind() {
        Kind::Regular(file) => {
            file.set_perm(mode as u32 & 0o7777);
            Ok(0)
        }
        Kind::Symlink(_) => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EPERM),
    }
}

pub fn sys_fchmodat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, mode] = [0, 1, 2].map(|i| frame.regs[i]);
    let path = user_path(path)?;
    let inode = walk_at(process, int(dirfd), &path, true)?;
    chmod(&inode, mode)
}

pub fn sys_fchmod(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    let inode = file.inode().ok_or(Errno::EPERM)?;
    chmod(inode, frame.regs[1])
}

// ---- names ----

pub fn sys_readlinkat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, buf, size] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    let size = int(size);
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(path)?;
    let inode = walk_at(process, int(dirfd), &path, false)?;
    let Kind::Symlink(target) = inode.kind() else {
        return Err(Errno::EINVAL);
    };
    let n = target.len().min(size as usize);
    copy_to_user(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

pub fn sys_symlinkat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [target, dirfd, path] = [0, 1, 2].map(|i| frame.regs[i]);
    let target = user_path(target)?;
    let path = user_path(path)?;
    let base = base_dir(process, int(dirfd), &path)?;
    let (parent, name) = fs::vfs().walk_parent(&base, &path)?;
    fs::vfs().create_symlink(&parent, name, &target).map(|()| 0)
}

pub fn sys_mkdirat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, mode] = [0, 1, 2].map(|i| frame.regs[i]);
    let path = user_path(path)?;
    let base = base_dir(process, int(dirfd), &path)?;
    let (parent, name) = fs::vfs().walk_parent(&base, &path)?;
    fs::vfs()
        .create_dir(&parent, name, mode as u32 & 0o7777 & !process.umask())
        .map(|()| 0)
}

pub fn sys_unlinkat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [dirfd, path, flags] = [0, 1, 2].map(|i| frame.regs[i]);
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let rmdir = flags & AT_REMOVEDIR != 0;
    let path = user_path(path)?;
    let base = base_dir(process, int(dirfd), &path)?;
    let (parent, name) = fs::vfs().walk_parent(&base, &path)?;
    if !rmdir && path.ends_with('/') {
        // `unlink("file/")`: the slash demands a directory.
        return match parent.lookup(name)?.is_dir() {
            true => Err(Errno::EISDIR),
            false => Err(Errno::ENOTDIR),
        };
    }
    fs::vfs().unlink(&parent, name, rmdir).map(|()| 0)
}

fn rename(process: &Process, regs: [u64; 4], flags: u64) -> SysResult {
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let [old_dirfd, old_path, new_dirfd, new_path] = regs;
    let old_path = user_path(old_path)?;
    let new_path = user_path(new_path)?;
    let vfs = fs::vfs();
    let old_base = base_dir(process, int(old_dirfd), &old_path)?;
    let new_base = base_dir(process, int(new_dirfd), &new_path)?;
    let (old_dir, old_name) = vfs.walk_parent(&old_base, &old_path)?;
    let (new_dir, new_name) = vfs.walk_parent(&new_base, &new_path)?;
    vfs.rename(
        &old_dir,
        old_name,
        &new_dir,
        new_name,
        flags & RENAME_NOREPLACE != 0,
    )
    .map(|()| 0)
}

pub fn sys_renameat(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    rename(process, [0, 1, 2, 3].map(|i| frame.regs[i]), 0)
}

pub fn sys_renameat2(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    rename(process, [0, 1, 2, 3].map(|i| frame.regs[i]), frame.regs[4])
}

pub fn sys_getcwd(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [buf, size] = [frame.regs[0], frame.regs[1]];
    let path = fs::vfs().path_of(&process.cwd)?;
    let len = path.len() + 1;
    if (size as usize) < len {
        return Err(Errno::ERANGE);
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    bytes.extend_from_slice(path.as_bytes());
    bytes.push(0);
    copy_to_user(buf, &bytes)?;
    Ok(len as u64)
}

pub fn sys_chdir(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let path = user_path(frame.regs[0])?;
    let inode = walk_at(process, AT_FDCWD, &path, true)?;
    if !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    process.cwd = inode;
    Ok(0)
}

pub fn sys_fchdir(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    match file.inode() {
        Some(inode) if inode.is_dir() => {
            process.cwd = inode.clone();
            Ok(0)
        }
        _ => Err(Errno::ENOTDIR),
    }
}

// ---- descriptors ----

pub fn sys_dup(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let file = process.files.get(int(frame.regs[0]))?;
    let limit = process.nofile_limit();
    process
        .files
        .alloc(file, false, 0, limit)
        .map(|fd| fd as u64)
}

pub fn sys_dup3(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [old, new, flags] = [0, 1, 2].map(|i| frame.regs[i]);
    if flags & !u64::from(O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (old, new) = (int(old), int(new));
    if old == new {
        return Err(Errno::EINVAL);
    }
    let file = process.files.get(old)?;
    let new = usize::try_from(new).map_err(|_| Errno::EBADF)?;
    // The replaced file closes after the table changed, as Linux's `do_dup2`.
    let limit = process.nofile_limit();
    let replaced = process
        .files
        .install(new, file, flags & u64::from(O_CLOEXEC) != 0, limit)?;
    drop(replaced);
    Ok(new as u64)
}

pub fn sys_fcntl(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [fd, cmd, arg] = [0, 1, 2].map(|i| frame.regs[i]);
    let fd = int(fd);
    let file = process.files.get(fd)?;
    match cmd as u32 as u64 {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = usize::try_from(arg as u32 as i32).map_err(|_| Errno::EINVAL)?;
            let cloexec = cmd as u32 as u64 == F_DUPFD_CLOEXEC;
            let limit = process.nofile_limit();
            process
                .files
                .alloc(file, cloexec, min, limit)
                .map(|fd| fd as u64)
        }
        F_GETFD => Ok(u64::from(process.files.cloexec(fd)?)),
        F_SETFD => process
            .files
            .set_cloexec(fd, arg & FD_CLOEXEC != 0)
            .map(|()| 0),
        F_GETFL => Ok(u64::from(file.flags())),
        F_SETFL => {
            file.set_flags(arg as u32);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_ioctl(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [fd, cmd, arg] = [0, 1, 2].map(|i| frame.regs[i]);
    let fd = int(fd);
    let file = process.files.get(fd)?;
    match cmd as u32 {
        FIOCLEX => process.files.set_cloexec(fd, true).map(|()| 0),
        FIONCLEX => process.files.set_cloexec(fd, false).map(|()| 0),
        FIONBIO => {
            let mut on = [0u8; 4];
            copy_from_user(&mut on, arg)?;
            let flags = file.flags() & !O_NONBLOCK;
            let on = if u32::from_le_bytes(on) != 0 {
                O_NONBLOCK
            } else {
                0
            };
            file.set_flags(flags | on);
            Ok(0)
        }
        crate::fs::file::FIONREAD if file.is_pipe() => {
            let n = file.ioctl(crate::fs::file::FIONREAD, 0)? as u32;
            copy_to_user(arg, &n.to_le_bytes())?;
            Ok(0)
        }
        cmd => file.ioctl(cmd, arg),
    }
}

pub fn sys_pipe2(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [fds, flags] = [frame.regs[0], frame.regs[1]];
    let flags = flags as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 || flags as u64 != frame.regs[1] {
        return Err(Errno::EINVAL);
    }
    let (reader, writer) = File::pipe(flags)?;
    let cloexec = flags & O_CLOEXEC != 0;
    let limit = process.nofile_limit();
    let read_fd = process.files.alloc(reader, cloexec, 0, limit)?;
    let write_fd = match process.files.alloc(writer, cloexec, 0, limit) {
        Ok(fd) => fd,
        Err(error) => {
            let _ = process.files.close(read_fd);
            return Err(error);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&read_fd.to_le_bytes());
    out[4..].copy_from_slice(&write_fd.to_le_bytes());
    if let Err(error) = copy_to_user(fds, &out) {
        let _ = process.files.close(read_fd);
        let _ = process.files.close(write_fd);
        return Err(error);
    }
    Ok(0)
}

// ---- ppoll and pselect6 ----

/// How often a poller looks again at a file that announces no change ([`PollWake::Unannounced`]).
const POLL_INTERVAL_MS: u64 = 5;

/// A user timespec as nanoseconds (`None` for a NULL pointer: wait forever).
fn timeout_ns(addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    super::timespec_ns(addr).map(Some)
}

/// Runs `check` (the number of ready descriptors among `fds`) until it finds some or
/// `timeout` passes; `ERESTARTNOHAND` when a signal arrives first (Linux's `do_poll`). While
/// it waits, the files stay open (another thread may close their descriptors) and the task
/// sleeps on all their queues at once ([`PollWait`]), so any change wakes it.
fn wait_ready(
    process: &Process,
    fds: impl Iterator<Item = i32>,
    timeout: Option<u64>,
    mut check: impl FnMut() -> Result<u64, Errno>,
) -> SysResult {
    let ready = check()?;
    if ready > 0 || timeout == Some(0) {
        return Ok(ready);
    }
    let deadline = timeout.map_or(NO_DEADLINE, crate::sched::deadline_after_ns);
    let mut files = Vec::new();
    for fd in fds {
        if let Ok(file) = process.files.get(fd) {
            files.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            files.push(file);
        }
    }
    let mut queues = Vec::new();
    queues
        .try_reserve_exact(files.len())
        .map_err(|_| Errno::ENOMEM)?;
    let mut unannounced = false;
    for file in &files {
        match file.poll_wake() {
            PollWake::Queue(queue) => queues.push(queue),
            PollWake::Never => {}
            PollWake::Unannounced => unannounced = true,
        }
    }
    let wait = PollWait::new(&queues).ok_or(Errno::ENOMEM)?;
    loop {
        let until = if unannounced {
            deadline.min(crate::sched::deadline_after_ns(
                POLL_INTERVAL_MS * 1_000_000,
            ))
        } else {
            deadline
        };
        let mut result = Ok(0);
        let woken = wait.wait_timeout(
            || match check() {
                Ok(0) => false,
                other => {
                    result = other;
                    true
                }
            },
            until,
        );
        match woken {
            Ok(true) => return result,
            // Linux's ppoll and pselect6: restarted when no handler runs.
            Err(Interrupted) => return Err(Errno::ERESTARTNOHAND),
            Ok(false) if until == deadline => return Ok(0),
            Ok(false) => {}
        }
    }
}

/// `n` copies of `value` in a new vector; `ENOMEM` if it cannot be allocated.
fn filled_vec<T: Clone>(n: usize, value: T) -> Result<Vec<T>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    v.resize(n, value);
    Ok(v)
}

/// Runs a ppoll/pselect6 wait with the caller's temporary signal mask (at `sigmask`, 0 for
/// none), as Linux's `set_user_sigmask` and `poll_select_finish` do: an interrupted wait keeps
/// the temporary mask until the signal has been handled.
fn with_sigmask(
    process: &mut Process,
    sigmask: u64,
    sigsetsize: u64,
    wait: impl FnOnce(&mut Process) -> SysResult,
) -> SysResult {
    if sigmask != 0 {
        signal::set_user_sigmask(process, sigmask, sigsetsize)?;
    }
    let result = wait(process);
    if sigmask != 0 {
        signal::restore_saved_sigmask_unless(process, result == Err(Errno::ERESTARTNOHAND));
    }
    result
}

/// The deadline of a ppoll/pselect6 `timeout` (nanoseconds of the monotonic clock), if any.
fn poll_deadline(timeout: Option<u64>) -> Option<u64> {
    timeout
        .filter(|&ns| ns != 0)
        .map(|ns| super::monotonic_ns().saturating_add(ns))
}

/// Ends a ppoll/pselect6: the time left until `deadline` goes back to the caller's timespec
/// at `tsp`, so that a restarted call (after a stop, an ignored signal, a tracer's stop) waits
/// only for the rest; if it cannot be written, a restart becomes `EINTR` (Linux:
/// `poll_select_finish`). No deadline (no timeout, or a zero one): nothing written.
fn poll_select_finish(tsp: u64, deadline: Option<u64>, result: SysResult) -> SysResult {
    let Some(deadline) = deadline else {
        return result;
    };
    let left = deadline.saturating_sub(super::monotonic_ns());
    match copy_to_user(tsp, &super::timespec_bytes(left)) {
        Ok(()) => result,
        Err(_) if result == Err(Errno::ERESTARTNOHAND) => Err(Errno::EINTR),
        Err(_) => result,
    }
}

/// `ppoll(fds, nfds, tmo_p, sigmask, sigsetsize)`.
pub fn sys_ppoll(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [fds, nfds, tsp, sigmask, sigsetsize] = [0, 1, 2, 3, 4].map(|i| frame.regs[i]);
    let nfds = nfds as u32 as usize;
    if nfds > process.nofile_limit() {
        return Err(Errno::EINVAL);
    }
    let timeout = timeout_ns(tsp)?;
    let mut raw = filled_vec(nfds * 8, 0u8)?;
    copy_from_user(&mut raw, fds)?;
    let mut polled = Vec::new();
    polled.try_reserve_exact(nfds).map_err(|_| Errno::ENOMEM)?;
    polled.extend(raw.chunks_exact(8).map(|p| {
        (
            i32::from_le_bytes([p[0], p[1], p[2], p[3]]),
            u16::from_le_bytes([p[4], p[5]]),
        )
    }));
    let mut revents = filled_vec(nfds, 0u16)?;
    let deadline = poll_deadline(timeout);
    let result = with_sigmask(process, sigmask, sigsetsize, |process| {
        let fds = polled.iter().map(|&(fd, _)| fd).filter(|&fd| fd >= 0);
        wait_ready(process, fds, timeout, || {
            let mut count = 0;
            for (i, &(fd, events)) in polled.iter().enumerate() {
                revents[i] = if fd < 0 {
                    0
                } else {
                    match process.files.get(fd) {
                        Ok(file) => file.poll() & (events | POLLERR | POLLHUP),
                        Err(_) => POLLNVAL,
                    }
                };
                if revents[i] != 0 {
                    count += 1;
                }
            }
            Ok(count)
        })
    });
    let ready = poll_select_finish(tsp, deadline, result)?;
    for (i, r) in revents.iter().enumerate() {
        raw[i * 8 + 6..i * 8 + 8].copy_from_slice(&r.to_le_bytes());
    }
    copy_to_user(fds, &raw)?;
    Ok(ready)
}

/// `pselect6(n, inp, outp, exp, tsp, sig)`, `sig` pointing at `{ sigset_t *ss; size_t len }`.
pub fn sys_pselect6(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [n, inp, outp, exp, tsp, sig] = [0, 1, 2, 3, 4, 5].map(|i| frame.regs[i]);
    let (sigmask, sigsetsize) = if sig == 0 {
        (0, 0)
    } else {
        let mut words = [0u8; 16];
        copy_from_user(&mut words, sig)?;
        let [ss, len] =
            [0, 8].map(|at| u64::from_le_bytes(words[at..at + 8].try_into().unwrap_or_default()));
        (ss, len)
    };
    let n = int(n);
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    // Descriptors past the table's end cannot be open: Linux caps `n` at its size.
    let n = (n as usize).min(process.files.max_fds());
    let timeout = timeout_ns(tsp)?;
    let bytes = n.div_ceil(64) * 8;
    let read_set = |addr: u64| -> Result<Vec<u8>, Errno> {
        let mut set = filled_vec(bytes, 0u8)?;
        if addr != 0 {
            copy_from_user(&mut set, addr)?;
        }
        Ok(set)
    };
    let (ins, outs, exs) = (read_set(inp)?, read_set(outp)?, read_set(exp)?);
    let bit = |set: &[u8], fd: usize| set[fd / 8] & (1 << (fd % 8)) != 0;
    let mut results = [
        filled_vec(bytes, 0u8)?,
        filled_vec(bytes, 0u8)?,
        filled_vec(bytes, 0u8)?,
    ];
    let deadline = poll_deadline(timeout);
    let result = with_sigmask(process, sigmask, sigsetsize, |process| {
        let fds = (0..n)
            .filter(|&fd| bit(&ins, fd) || bit(&outs, fd) || bit(&exs, fd))
            .map(|fd| fd as i32);
        wait_ready(process, fds, timeout, || {
            let mut count = 0;
            for set in &mut results {
                set.fill(0);
            }
            for fd in 0..n {
                let wanted = [bit(&ins, fd), bit(&outs, fd), bit(&exs, fd)];
                if !wanted.contains(&true) {
                    continue;
                }
                let events = process.files.get(fd as i32)?.poll();
                let got = [
                    events & (POLLIN | POLLHUP | POLLERR) != 0,
                    events & (POLLOUT | POLLERR) != 0,
                    events & POLLPRI != 0,
                ];
                for (k, set) in results.iter_mut().enumerate() {
                    if wanted[k] && got[k] {
                        set[fd / 8] |= 1 << (fd % 8);
                        count += 1;
                    }
                }
            }
            Ok(count)
        })
    });
    let ready = poll_select_finish(tsp, deadline, result)?;
    for (addr, set) in [inp, outp, exp].into_iter().zip(&results) {
        if addr != 0 {
            copy_to_user(addr, set)?;
        }
    }
    Ok(ready)
}
