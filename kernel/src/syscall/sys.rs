//! The process-attribute syscalls of Linux's `kernel/sys.c` (and `kernel/exit.c`'s neighbours)
//! that glibc's start-up and busybox call: resource limits (`prlimit64`, `getrlimit`,
//! `setrlimit`, over [`crate::rlimit`]), `prctl` (`PR_GET_NAME`), `sysinfo`, process groups and
//! sessions ([`crate::process::pgrp`]), `umask`, the credential calls (everything runs as
//! root: ids 0, no supplementary groups), `times`, `getrusage` and `sched_getaffinity`.
//!
//! No CPU time is accounted per task yet, so the CPU-time fields of `times` and `getrusage`
//! are zero (as for a process that has not used a tick); their wall-clock parts are real.

use arch::exception::TrapFrame;

use super::SysResult;
use crate::fs::Errno;
use crate::process::{Process, pgrp};
use crate::rlimit::RLimit;
use crate::uaccess::{copy_from_user, copy_to_user};

/// `prlimit64(pid, resource, new, old)`: `pid` 0 is the caller; `ESRCH` for no such process.
/// The old limit is read before the new one is set, both under the table's lock.
pub fn sys_prlimit64(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [pid, resource, new, old] = [0, 1, 2, 3].map(|i| frame.regs[i]);
    let new = if new == 0 {
        None
    } else {
        let mut bytes = [0; 16];
        copy_from_user(&mut bytes, new)?;
        Some(RLimit::from_bytes(bytes))
    };
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let previous = if pid == 0 || pid as u32 == process.pid() {
        prlimit(process.rlimits(), resource, new)?
    } else {
        let shared = crate::process::find_shared(pid as u32).ok_or(Errno::ESRCH)?;
        prlimit(shared.rlimits(), resource, new)?
    };
    if old != 0 {
        copy_to_user(old, &previous.to_bytes())?;
    }
    Ok(0)
}

fn prlimit(
    limits: &arch::spinlock::SpinLockIrq<crate::rlimit::RLimits>,
    resource: u64,
    new: Option<RLimit>,
) -> Result<RLimit, Errno> {
    let mut limits = limits.lock();
    match new {
        Some(new) => limits.set(resource, new),
        None => limits.get(resource),
    }
}

/// `getrlimit(resource, rlim)` (arm64's is the 64-bit `struct rlimit`).
pub fn sys_getrlimit(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let limit = process.rlimits().lock().get(frame.regs[0])?;
    copy_to_user(frame.regs[1], &limit.to_bytes())?;
    Ok(0)
}

/// `setrlimit(resource, rlim)`.
pub fn sys_setrlimit(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let mut bytes = [0; 16];
    copy_from_user(&mut bytes, frame.regs[1])?;
    process
        .rlimits()
        .lock()
        .set(frame.regs[0], RLimit::from_bytes(bytes))?;
    Ok(0)
}

// prctl options (include/uapi/linux/prctl.h).
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
/// `TASK_COMM_LEN`.
const TASK_COMM_LEN: usize = 16;

/// `prctl(option, ...)`: `PR_SET_NAME` renames the task (at most 15 bytes, up to a NUL, as
/// Linux's `strncpy_from_user`; `EFAULT` if the name cannot be read), `PR_GET_NAME` copies
/// its name (`comm`, NUL-padded to 16 bytes). Other options are not implemented (`EINVAL`,
/// Linux's answer for an option it does not know).
pub fn sys_prctl(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    match frame.regs[0] {
        PR_GET_NAME => {
            let comm: [u8; TASK_COMM_LEN] = crate::sched::current_task().comm();
            copy_to_user(frame.regs[1], &comm)?;
            Ok(0)
        }
        PR_SET_NAME => {
            let mut name = [0u8; TASK_COMM_LEN - 1];
            let copied = crate::uaccess::copy_from_user_partial(&mut name, frame.regs[1]);
            let len = name[..copied]
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(copied);
            if len == copied && copied < name.len() {
                return Err(Errno::EFAULT);
            }
            // Task names are text: a name cut inside a UTF-8 sequence keeps the valid part.
            let name = match core::str::from_utf8(&name[..len]) {
                Ok(name) => name,
                Err(error) => core::str::from_utf8(&name[..error.valid_up_to()]).unwrap_or(""),
            };
            crate::sched::current_task().set_name(name);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `sizeof(struct sysinfo)` on arm64.
const SYSINFO_SIZE: usize = 112;

/// `sysinfo(info)`: the uptime, the user page-frame pool as RAM (`mem_unit` 4096, the pages
/// programs can have) and the number of tasks; no swap, no shared or buffer memory, and load
/// averages of zero (none is computed yet).
pub fn sys_sysinfo(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let (free, total) = crate::mm::page_alloc::counts();
    let tasks = crate::sched::all_tasks().len();
    let mut info = [0u8; SYSINFO_SIZE];
    let uptime = super::monotonic_ns() / super::NSEC_PER_SEC;
    info[0..8].copy_from_slice(&uptime.to_le_bytes());
    info[32..40].copy_from_slice(&(total as u64).to_le_bytes());
    info[40..48].copy_from_slice(&(free as u64).to_le_bytes());
    info[80..82].copy_from_slice(&(tasks.min(u16::MAX as usize) as u16).to_le_bytes());
    info[104..108].copy_from_slice(&(crate::binfmt_elf::PAGE_SIZE as u32).to_le_bytes());
    copy_to_user(frame.regs[0], &info)?;
    Ok(0)
}

pub fn sys_getpgid(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    pgrp::getpgid(process, frame.regs[0] as i32).map(u64::from)
}

pub fn sys_setpgid(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    pgrp::setpgid(process, frame.regs[0] as i32, frame.regs[1] as i32).map(|()| 0)
}

pub fn sys_getsid(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    pgrp::getsid(process, frame.regs[0] as i32).map(u64::from)
}

pub fn sys_setsid(process: &mut Process, _: &mut TrapFrame) -> SysResult {
    pgrp::setsid(process).map(u64::from)
}

/// `umask(mask)`: returns the old mask.
pub fn sys_umask(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    Ok(u64::from(process.set_umask(frame.regs[0] as u32)))
}

/// Linux's `NGROUPS_MAX`.
const NGROUPS_MAX: u64 = 65536;

/// `getgroups(size, list)`: root has no supplementary groups, so the count is 0 whatever
/// room `list` has; a negative size is `EINVAL`, as on Linux.
pub fn sys_getgroups(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    if (frame.regs[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `setgroups(size, list)`: only the empty list, the one root has (credentials other than
/// root's do not exist here: `EPERM`).
pub fn sys_setgroups(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let size = frame.regs[0];
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut gid = [0u8; 4];
    for i in 0..size {
        copy_from_user(&mut gid, frame.regs[1] + i * 4)?;
        if u32::from_le_bytes(gid) != 0 {
            return Err(Errno::EPERM);
        }
    }
    Ok(0)
}

/// An id argument of the `setuid` family: -1 leaves it, 0 (root) is what it is already.
fn root_or_unchanged(id: u64) -> Result<(), Errno> {
    match id as u32 {
        0 | u32::MAX => Ok(()),
        _ => Err(Errno::EPERM),
    }
}

/// `setuid`, `setgid`, `setreuid`, `setregid`, `setresuid`, `setresgid`: every process is
/// root and stays root; ids other than 0 (and -1, "unchanged") are `EPERM`, since no other
/// credentials exist here.
pub fn sys_setuid(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let count = match frame.regs[8] {
        super::__NR_SETUID | super::__NR_SETGID => 1,
        super::__NR_SETREUID | super::__NR_SETREGID => 2,
        _ => 3,
    };
    for id in &frame.regs[..count] {
        root_or_unchanged(*id)?;
    }
    Ok(0)
}

/// `setfsuid`/`setfsgid`: return the old fs id (0) and change nothing unless asked for 0.
pub fn sys_setfsuid(_: &mut Process, _: &mut TrapFrame) -> SysResult {
    Ok(0)
}

/// `getresuid(ruid, euid, suid)` and `getresgid`: all 0.
pub fn sys_getresuid(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    for addr in &frame.regs[..3] {
        copy_to_user(*addr, &0u32.to_le_bytes())?;
    }
    Ok(0)
}

/// Linux's `USER_HZ`: `clock_t` ticks per second.
const USER_HZ: u64 = 100;

/// `times(buf)`: the clock ticks since boot, and the process's CPU times (zero: no accounting
/// yet) in `buf` if it is not NULL.
pub fn sys_times(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    if frame.regs[0] != 0 {
        copy_to_user(frame.regs[0], &[0u8; 32])?;
    }
    Ok(super::monotonic_ns() / (super::NSEC_PER_SEC / USER_HZ))
}

// getrusage's who (include/uapi/linux/resource.h).
const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

/// `getrusage(who, usage)`: `EINVAL` for an unknown `who`; the usage is zero (no accounting).
pub fn sys_getrusage(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    if !matches!(
        frame.regs[0] as i32,
        RUSAGE_SELF | RUSAGE_CHILDREN | RUSAGE_THREAD
    ) {
        return Err(Errno::EINVAL);
    }
    copy_to_user(frame.regs[1], &[0u8; super::RUSAGE_SIZE])?;
    Ok(0)
}

/// `sched_getaffinity(pid, len, mask)`: tasks never migrate here, so a task's CPU mask is its
/// own CPU's bit. `len` must be a whole number of `unsigned long`s (`EINVAL`); the mask is one
/// (64 CPUs at most), and its size in bytes is the return value, as Linux's.
pub fn sys_sched_getaffinity(_: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [pid, len, mask] = [frame.regs[0], frame.regs[1], frame.regs[2]];
    if len == 0 || !len.is_multiple_of(8) || len > u64::from(u32::MAX) {
        return Err(Errno::EINVAL);
    }
    let pid = pid as i32;
    let task = match pid {
        0 => crate::sched::current_task(),
        pid if pid > 0 => crate::sched::find_task_by_pid(pid as u32).ok_or(Errno::ESRCH)?,
        _ => return Err(Errno::ESRCH),
    };
    let bits = 1u64.checked_shl(task.cpu() as u32).unwrap_or(0);
    copy_to_user(mask, &bits.to_le_bytes())?;
    Ok(8)
}
