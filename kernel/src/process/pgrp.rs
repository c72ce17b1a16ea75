//! Process groups and sessions (Linux: `setpgid`, `getpgid`, `setsid`, `getsid` in
//! `kernel/sys.c`, `kill_pgrp` in `kernel/signal.c`), over the process table.
//!
//! The console shell (pid 1, a kernel task) leads the console's session (sid 1); every program
//! it starts leads a process group of its own (its job), and a forked child stays in its
//! parent's group and session until it moves with `setpgid` or `setsid`. `kill(0, sig)`,
//! `kill(-pgid, sig)` and `wait4(0 or -pgid)` reach the members of a group. A group id stays
//! in use while any of its members is in the table, zombies included, as on Linux.
//!
//! A group is orphaned when no member has a parent in another group of the session (init's
//! children, the console shell's, do not count: every job the shell starts is orphaned). Its
//! members ignore SIGTSTP, SIGTTIN and SIGTTOU ([`is_current_pgrp_orphaned`]), and an exit that
//! orphans a group with a stopped member sends it SIGHUP and SIGCONT ([`hang_up_orphaned`]),
//! as Linux does; the rules themselves are [`crate::signal::will_become_orphaned_pgrp`]'s.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::{ProcShared, Process, TABLE, signal};
use crate::fs::Errno;
use crate::sched::Pid;

impl ProcShared {
    pub fn pgid(&self) -> Pid {
        self.pgid.load(Ordering::Acquire)
    }

    pub fn sid(&self) -> Pid {
        self.sid.load(Ordering::Acquire)
    }
}

/// The orphaned-group rules' view of a table entry (see [`crate::signal::JobIds`]); read under
/// the table's lock.
impl crate::signal::JobIds for Arc<ProcShared> {
    fn pid(&self) -> u32 {
        ProcShared::pid(self)
    }
    fn ppid(&self) -> u32 {
        ProcShared::ppid(self)
    }
    fn pgid(&self) -> u32 {
        ProcShared::pgid(self)
    }
    fn sid(&self) -> u32 {
        ProcShared::sid(self)
    }
    fn zombie(&self) -> bool {
        self.exit_status().is_some()
    }
    fn stopped(&self) -> bool {
        self.sighand.lock().jobctl.group_stopped()
    }
}

/// Whether the caller's group is orphaned, so that SIGTSTP, SIGTTIN and SIGTTOU do not stop it
/// (Linux: `is_current_pgrp_orphaned`): nobody in the session could continue it.
pub fn is_current_pgrp_orphaned(process: &Process) -> bool {
    let table = TABLE.lock();
    crate::signal::will_become_orphaned_pgrp(table.as_slice(), process.pgid(), None)
}

/// SIGHUP, then SIGCONT, from the kernel to every member of a group an exit left orphaned with
/// a stopped member (Linux: `kill_orphaned_pgrp`).
pub fn hang_up_orphaned(pgid: Pid) {
    use crate::signal::{SI_KERNEL, SIGCONT, SIGHUP};
    let _ = send_group(pgid, SIGHUP, SI_KERNEL, 0);
    let _ = send_group(pgid, SIGCONT, SI_KERNEL, 0);
}

impl Process {
    pub fn pgid(&self) -> Pid {
        self.shared.pgid()
    }

    pub fn sid(&self) -> Pid {
        self.shared.sid()
    }
}

/// `pid`, or the caller for 0; `ESRCH` for a negative one.
fn resolve(process: &Process, pid: i32) -> Result<Pid, Errno> {
    match pid {
        0 => Ok(process.pid()),
        pid if pid > 0 => Ok(pid as Pid),
        _ => Err(Errno::ESRCH),
    }
}

/// `(pgid, sid)` of process `pid` (zombies included); `ESRCH` for none.
fn ids_of(pid: Pid) -> Result<(Pid, Pid), Errno> {
    TABLE
        .lock()
        .iter()
        .find(|p| p.pid() == pid)
        .map(|p| (p.pgid(), p.sid()))
        .ok_or(Errno::ESRCH)
}

/// `getpgid(pid)`.
pub fn getpgid(process: &Process, pid: i32) -> Result<Pid, Errno> {
    let pid = resolve(process, pid)?;
    if pid == process.pid() {
        return Ok(process.pgid());
    }
    ids_of(pid).map(|(pgid, _)| pgid)
}

/// `getsid(pid)`.
pub fn getsid(process: &Process, pid: i32) -> Result<Pid, Errno> {
    let pid = resolve(process, pid)?;
    if pid == process.pid() {
        return Ok(process.sid());
    }
    ids_of(pid).map(|(_, sid)| sid)
}

/// `setpgid(pid, pgid)` (Linux's checks, in its order): `EINVAL` for a negative group;
/// `ESRCH` unless `pid` is the caller or its child; `EPERM` for a session leader, a child in
/// another session, or a group that does not exist in the caller's session. (Linux's `EACCES`
/// for a child that has exec'd is not checked: exec is not recorded.)
pub fn setpgid(process: &Process, pid: i32, pgid: i32) -> Result<(), Errno> {
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = process.pid();
    let pid = if pid == 0 { me } else { resolve(process, pid)? };
    let pgid = if pgid == 0 { pid } else { pgid as Pid };
    let table = TABLE.lock();
    let target = table
        .iter()
        .find(|p| p.pid() == pid && (pid == me || p.ppid() == me))
        .ok_or(Errno::ESRCH)?;
    let my_sid = process.sid();
    if target.sid() != my_sid || target.sid() == pid {
        return Err(Errno::EPERM);
    }
    if pgid != pid && !table.iter().any(|p| p.pgid() == pgid && p.sid() == my_sid) {
        return Err(Errno::EPERM);
    }
    target.pgid.store(pgid, Ordering::Release);
    Ok(())
}

/// `setsid()`: the caller leads a new session and group with its pid as both ids; `EPERM` if
/// a group with that id exists already (the caller leads one, or another process is in it).
pub fn setsid(process: &Process) -> Result<Pid, Errno> {
    let me = process.pid();
    let table = TABLE.lock();
    if table.iter().any(|p| p.pgid() == me) {
        return Err(Errno::EPERM);
    }
    process.shared.sid.store(me, Ordering::Release);
    process.shared.pgid.store(me, Ordering::Release);
    Ok(me)
}

/// `kill(-pgid, sig)` (`pgid` 0: the caller's group): every live member of the group (Linux:
/// `kill_pgrp`); `ESRCH` if it has none, success if any member took the signal.
pub fn kill_pgrp(process: &Process, pgid: Pid, signo: u32) -> Result<(), Errno> {
    let pgid = if pgid == 0 { process.pgid() } else { pgid };
    send_group(pgid, signo, crate::signal::SI_USER, process.pid())
}

/// Counts the group signals sent, under the table's lock: a fork that began before one does
/// not enter its child ([`super::insert`]).
pub static GROUP_SIGNALS: AtomicU64 = AtomicU64::new(0);

/// Sends `signo` with `code` from `sender` to every live member of group `pgid`; `ESRCH` if
/// it has none.
pub fn send_group(pgid: Pid, signo: u32, code: i32, sender: Pid) -> Result<(), Errno> {
    let members: Vec<Pid> = {
        let table = TABLE.lock();
        if signo != 0 {
            GROUP_SIGNALS.fetch_add(1, Ordering::AcqRel);
        }
        let mut members = Vec::new();
        members
            .try_reserve(table.len())
            .map_err(|_| Errno::ENOMEM)?;
        for p in table
            .iter()
            .filter(|p| p.pgid() == pgid && p.status.get().is_none())
        {
            match p.pid() {
                // Being created by `fork` (its pid is stored under this lock): it raises the
                // signal itself when it starts.
                0 if signo != 0 => {
                    p.birth_signals
                        .fetch_or(crate::signal::sigmask(signo), Ordering::AcqRel);
                }
                0 => {}
                pid => members.push(pid),
            }
        }
        members
    };
    let mut result = Err(Errno::ESRCH);
    for pid in members {
        if signal::send_signal(pid, signo, code, sender).is_ok() {
            result = Ok(());
        }
    }
    result
}
