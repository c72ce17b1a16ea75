//! `jobctl`: job control and syscall restarts as Linux gives them to a program. Runs every
//! check and prints `jobctl: N checks passed` (or the first failure, exit 1): a child stopped
//! by SIGSTOP (`wait4(WUNTRACED)` sees `WIFSTOPPED` once, the parent gets SIGCHLD with
//! `CLD_STOPPED`), continued by SIGCONT (`WCONTINUED`: `WIFCONTINUED`, `CLD_CONTINUED`),
//! SIGKILL ending a stopped child, SIGTSTP stopping by default and caught by a handler, a pipe
//! read restarted transparently after a stop and continue, and a pipe read interrupted by a
//! handler: restarted with `SA_RESTART` (the data arrives), `EINTR` without; a `nanosleep`
//! stopped and continued sleeps on to its first deadline (`restart_syscall`), and one
//! interrupted by a handler returns `EINTR` with the time left in `rem`; children of a parent
//! that ignores SIGCHLD, or set `SA_NOCLDWAIT`, leave no zombie (`wait4` ends in `ECHILD`);
//! SIGTSTP leaves a member of an orphaned process group running, and an exit that orphans a
//! group with a stopped member hangs it up (SIGHUP, SIGCONT).
//! `jobctl stopme` stops itself with SIGSTOP and prints `jobctl: continued` once continued.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use user::sys::{self, SA_RESTORER, SA_SIGINFO, SigAction};
use user::{Checks, Failed};

const SIGHUP: usize = 1;
const SIGKILL: usize = 9;
const SIGUSR1: usize = 10;
const SIGCHLD: usize = 17;
const SIGCONT: usize = 18;
const SIGSTOP: usize = 19;
const SIGTSTP: usize = 20;
/// SIGRTMIN+6 (Linux's SIGRTMIN is 32; glibc keeps 32 and 33).
const SIGRT6: usize = 38;
const SA_RESTART: usize = 0x1000_0000;
const WNOHANG: usize = 1;
const WUNTRACED: usize = 2;
const WCONTINUED: usize = 8;
const CLD_STOPPED: u64 = 5;
const CLD_CONTINUED: u64 = 6;
const EINTR: isize = -4;
const EAGAIN: isize = -11;

/// What the SIGCHLD handler saw last: si_code, si_status; and how many signals came.
static CHLD_CODE: AtomicU64 = AtomicU64::new(0);
static CHLD_STATUS: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_signal(sig: i32, info: *const u8, _: *mut u8) {
    COUNT.fetch_add(1, SeqCst);
    if sig as usize == SIGCHLD {
        // SAFETY: the kernel's siginfo: si_code at 8, si_status at 24.
        unsafe {
            CHLD_CODE.store(info.add(8).cast::<i32>().read_unaligned() as u64, SeqCst);
            CHLD_STATUS.store(info.add(24).cast::<i32>().read_unaligned() as u64, SeqCst);
        }
    }
}

fn install(sig: usize, flags: usize) -> isize {
    let act = SigAction {
        handler: on_signal as *const () as usize,
        flags: flags | SA_SIGINFO | SA_RESTORER,
        restorer: sys::restorer(),
        mask: 0,
    };
    sys::sigaction(sig, Some(&act), None)
}

/// `nanosleep(ms, &rem)`: its result and the remainder in milliseconds.
fn nanosleep_rem(ms: u64) -> (isize, u64) {
    let ts = [ms / 1000, (ms % 1000) * 1_000_000];
    let mut rem = [u64::MAX; 2];
    // SAFETY: a valid timespec and a writable one for the remainder.
    let r = unsafe {
        sys::syscall6(
            sys::SYS_NANOSLEEP,
            [ts.as_ptr() as usize, rem.as_mut_ptr() as usize, 0, 0, 0, 0],
        )
    };
    (
        r,
        rem[0].wrapping_mul(1000).wrapping_add(rem[1] / 1_000_000),
    )
}

/// A child that spins until a signal ends it, in a group of its own: its parent, in another
/// group of the session, keeps that group from being orphaned, so SIGTSTP stops it wherever
/// this runs (under a shell that is init, the parent's own group is orphaned). Both sides
/// call `setpgid`, as a job-control shell does, so neither waits for the other.
fn spinner() -> isize {
    let pid = sys::fork();
    if pid == 0 {
        sys::setpgid(0, 0);
        loop {
            sys::sched_yield();
        }
    }
    sys::setpgid(pid, pid);
    pid
}

/// `wait4` that goes on after a handler interrupted it (it is restarted under SA_RESTART
/// anyway; this keeps a check from depending on it).
fn wait(pid: isize, options: usize) -> (isize, u32) {
    loop {
        let (r, s) = sys::wait4(pid, options);
        if r != EINTR {
            return (r, s);
        }
    }
}

/// Waits (a second at most) for the SIGCHLD handler to see `code`.
fn await_chld(code: u64) {
    for _ in 0..200 {
        if CHLD_CODE.load(SeqCst) == code {
            return;
        }
        sys::sleep_ms(5);
    }
}

fn stop_continue_kill(c: &mut Checks) -> Result<(), Failed> {
    c.check(install(SIGCHLD, SA_RESTART) == 0, b"SIGCHLD handler")?;
    let pid = spinner();
    c.check(sys::kill(pid, SIGSTOP) == 0, b"kill SIGSTOP")?;
    let (r, status) = wait(pid, WUNTRACED);
    c.check(
        r == pid && status == 0x137f,
        b"WUNTRACED: WIFSTOPPED, WSTOPSIG 19",
    )?;
    // On another CPU the stop may be seen just before the child sends SIGCHLD (as on Linux).
    await_chld(CLD_STOPPED);
    c.check(
        CHLD_CODE.load(SeqCst) == CLD_STOPPED && CHLD_STATUS.load(SeqCst) == SIGSTOP as u64,
        b"SIGCHLD CLD_STOPPED, si_status 19",
    )?;
    c.check(
        sys::wait4(pid, WUNTRACED | WNOHANG).0 == 0,
        b"a stop is reported once",
    )?;
    c.check(sys::kill(pid, SIGCONT) == 0, b"kill SIGCONT")?;
    let (r, status) = wait(pid, WCONTINUED);
    c.check(r == pid && status == 0xffff, b"WCONTINUED: WIFCONTINUED")?;
    // The report is there once SIGCONT is sent; the SIGCHLD comes when the child runs again
    // (Linux: the continued task notifies its parent itself).
    await_chld(CLD_CONTINUED);
    c.check(
        CHLD_CODE.load(SeqCst) == CLD_CONTINUED && CHLD_STATUS.load(SeqCst) == SIGCONT as u64,
        b"SIGCHLD CLD_CONTINUED, si_status 18",
    )?;
    c.check(
        sys::wait4(pid, WCONTINUED | WNOHANG).0 == 0,
        b"a continue is reported once",
    )?;
    // Stopped by SIGTSTP's default action, then SIGKILL ends the stopped child.
    sys::kill(pid, SIGTSTP);
    let (r, status) = wait(pid, WUNTRACED);
    c.check(r == pid && status == 0x147f, b"SIGTSTP stops: WSTOPSIG 20")?;
    // A signal other than SIGCONT/SIGKILL only pends while stopped.
    sys::kill(pid, SIGUSR1);
    c.check(
        sys::wait4(pid, WNOHANG).0 == 0,
        b"SIGUSR1 pends on a stopped child",
    )?;
    c.check(sys::kill(pid, SIGKILL) == 0, b"kill SIGKILL")?;
    let (r, status) = wait(pid, WUNTRACED);
    c.check(
        r == pid && status == SIGKILL as u32,
        b"SIGKILL ends a stopped child",
    )?;
    Ok(())
}

fn tstp_handler(c: &mut Checks) -> Result<(), Failed> {
    let Ok((rd, wr)) = sys::pipe2(0) else {
        return c.check(false, b"pipe2");
    };
    let pid = sys::fork();
    if pid == 0 {
        install(SIGTSTP, 0);
        sys::write(wr, b"r");
        while COUNT.load(SeqCst) == 0 {
            sys::sched_yield();
        }
        sys::exit_group(42);
    }
    let mut byte = [0u8; 1];
    c.check(sys::read(rd, &mut byte) == 1, b"child ready")?;
    sys::kill(pid, SIGTSTP);
    let (r, status) = wait(pid, WUNTRACED);
    c.check(r == pid && status == 42 << 8, b"SIGTSTP caught: no stop")?;
    sys::close(rd);
    sys::close(wr);
    Ok(())
}

/// A read of one byte that gives up after five seconds: the byte, or `None` (at EOF too).
fn read_byte_within_5s(fd: usize) -> Option<u8> {
    let mut byte = [0u8; 1];
    for _ in 0..1000 {
        match sys::read(fd, &mut byte) {
            1 => return Some(byte[0]),
            EAGAIN => sys::sleep_ms(5),
            _ => return None,
        };
    }
    None
}

static PIPE_FD: AtomicU64 = AtomicU64::new(0);

/// Writes `h` for a SIGHUP, `r` for SIGRTMIN+6, to the pipe at `PIPE_FD`; exits on SIGHUP.
extern "C" fn report_signal(sig: i32, _: *const u8, _: *mut u8) {
    let fd = PIPE_FD.load(SeqCst) as usize;
    if sig as usize == SIGHUP {
        sys::write(fd, b"h");
        sys::exit_group(0);
    }
    sys::write(fd, b"r");
}

fn install_report(sig: usize) -> isize {
    let act = SigAction {
        handler: report_signal as *const () as usize,
        flags: SA_SIGINFO | SA_RESTORER,
        restorer: sys::restorer(),
        mask: 0,
    };
    sys::sigaction(sig, Some(&act), None)
}

/// The checks on `pid`, alone in a new session (so its group is orphaned), which writes `s` to
/// the pipe `rd` reads once ready.
fn orphaned_session(c: &mut Checks, pid: isize, rd: usize) -> Result<(), Failed> {
    c.check(read_byte_within_5s(rd) == Some(b's'), b"orphan ready")?;
    sys::kill(pid, SIGTSTP);
    // Signals are taken lowest first: once SIGRTMIN+6's handler ran, SIGTSTP was taken too.
    sys::kill(pid, SIGRT6);
    c.check(
        read_byte_within_5s(rd) == Some(b'r'),
        b"SIGTSTP leaves an orphaned group running",
    )?;
    c.check(
        sys::wait4(pid, WUNTRACED | WNOHANG).0 == 0,
        b"no stop reported for it",
    )?;
    sys::kill(pid, SIGSTOP);
    let (r, status) = wait(pid, WUNTRACED);
    c.check(r == pid && status == 0x137f, b"SIGSTOP stops it")
}

/// Orphaned process groups, as POSIX and Linux: SIGTSTP does not stop a member of an orphaned
/// group (SIGSTOP does), and a process whose exit orphans a group with a stopped member makes
/// the kernel send that group SIGHUP and SIGCONT.
fn orphaned_groups(c: &mut Checks) -> Result<(), Failed> {
    let Ok((rd, wr)) = sys::pipe2(sys::O_NONBLOCK) else {
        return c.check(false, b"pipe2");
    };
    PIPE_FD.store(wr as u64, SeqCst);
    // A session leader's group: its only member's parent is in another session.
    let pid = sys::fork();
    if pid == 0 {
        // Ready only in a session of its own (else the check below proves nothing).
        if sys::setsid() == sys::getpid() && install_report(SIGRT6) == 0 {
            sys::write(wr, b"s");
        }
        loop {
            sys::sched_yield();
        }
    }
    let checked = orphaned_session(c, pid, rd);
    sys::kill(pid, SIGKILL);
    wait(pid, 0);
    checked?;

    // A leads a group under this one; its child B stops there with SIGTSTP. A exits: nothing
    // links the group to the session any more, and B is stopped: SIGHUP, then SIGCONT.
    let a = sys::fork();
    if a == 0 {
        sys::setpgid(0, 0);
        let b = sys::fork();
        if b == 0 {
            install_report(SIGHUP);
            sys::kill(sys::getpid(), SIGTSTP);
            sys::exit_group(3);
        }
        let (r, status) = wait(b, WUNTRACED);
        sys::exit_group(if r == b && status == 0x147f { 0 } else { 2 });
    }
    sys::setpgid(a, a);
    let (r, status) = wait(a, 0);
    c.check(r == a && status == 0, b"a stopped child left behind")?;
    c.check(
        read_byte_within_5s(rd) == Some(b'h'),
        b"its group orphaned with a stopped member: SIGHUP",
    )?;
    sys::close(rd);
    sys::close(wr);
    Ok(())
}

/// A child blocked in a pipe read is stopped and continued: no handler runs, so the read is
/// restarted transparently and returns the data written after.
fn restart_after_stop(c: &mut Checks) -> Result<(), Failed> {
    let Ok((rd, wr)) = sys::pipe2(0) else {
        return c.check(false, b"pipe2");
    };
    let pid = sys::fork();
    if pid == 0 {
        let mut buf = [0u8; 8];
        let n = sys::read(rd, &mut buf);
        sys::exit_group(if n < 0 { 100 + (-n) as i32 } else { n as i32 });
    }
    sys::sleep_ms(30);
    sys::kill(pid, SIGSTOP);
    let (r, status) = wait(pid, WUNTRACED);
    c.check(r == pid && status == 0x137f, b"reader stopped")?;
    sys::kill(pid, SIGCONT);
    sys::sleep_ms(30);
    sys::write(wr, b"data");
    let (r, status) = wait(pid, 0);
    c.check(
        r == pid && status == 4 << 8,
        b"read restarted after stop/continue",
    )?;
    sys::close(rd);
    sys::close(wr);
    Ok(())
}

/// A child sleeping 300 ms is stopped and continued: its `nanosleep` goes on (through
/// `restart_syscall`) to the deadline it had, and returns 0. Another, interrupted by a
/// handler, returns `EINTR` with the rest of its time in `rem`.
fn nanosleep_restart(c: &mut Checks) -> Result<(), Failed> {
    let pid = sys::fork();
    if pid == 0 {
        let start = sys::monotonic_ns() / 1_000_000;
        let (r, _) = nanosleep_rem(300);
        let slept = sys::monotonic_ns() / 1_000_000 - start;
        sys::exit_group(if r != 0 {
            1
        } else if slept < 300 {
            2
        } else {
            0
        });
    }
    sys::sleep_ms(30);
    sys::kill(pid, SIGSTOP);
    let (r, status) = wait(pid, WUNTRACED);
    c.check(r == pid && status == 0x137f, b"sleeper stopped")?;
    sys::kill(pid, SIGCONT);
    let (r, status) = wait(pid, 0);
    c.check(
        r == pid && status == 0,
        b"nanosleep sleeps on after stop/continue",
    )?;
    install(SIGUSR1, SA_RESTART);
    let parent = sys::getpid();
    let pid = sys::fork();
    if pid == 0 {
        sys::sleep_ms(50);
        sys::kill(parent, SIGUSR1);
        sys::exit_group(0);
    }
    let (r, rem) = nanosleep_rem(2000);
    wait(pid, 0);
    c.check(r == EINTR, b"nanosleep interrupted by a handler: EINTR")?;
    c.check(
        rem > 0 && rem < 2000,
        b"nanosleep's rem holds the time left",
    )?;
    Ok(())
}

/// A `wait4` that returns a zombie finds its SIGCHLD pending already (Linux queues it under
/// the lock `wait4` looks under): with SIGCHLD blocked, 200 children exit at once while the
/// parent, on the other CPU, polls for them with `WNOHANG`.
fn sigchld_before_reap(c: &mut Checks) -> Result<(), Failed> {
    const SIG_BLOCK: usize = 0;
    const SIG_SETMASK: usize = 2;
    let chld = 1u64 << (SIGCHLD - 1);
    let old = sys::sigprocmask(SIG_BLOCK, Some(chld));
    let mut ok = true;
    for _ in 0..200 {
        let pid = sys::fork();
        if pid == 0 {
            sys::exit_group(0);
        }
        // Polled, so that the reap can come the moment the exit is visible.
        let r = loop {
            match sys::wait4(pid, WNOHANG).0 {
                0 | EINTR => continue,
                r => break r,
            }
        };
        ok &= r == pid && sys::sigpending() & chld != 0;
        // Unblocked, the handler takes it; blocked again for the next child.
        sys::sigprocmask(SIG_SETMASK, Some(old));
        sys::sigprocmask(SIG_BLOCK, Some(chld));
    }
    sys::sigprocmask(SIG_SETMASK, Some(old));
    c.check(ok, b"wait4's zombie comes with its SIGCHLD pending")
}

/// With SIGCHLD ignored, an exiting child is reaped at once: `wait4` sleeps until it has
/// gone and then says `ECHILD`. `SA_NOCLDWAIT` does the same and still runs the handler.
fn autoreap(c: &mut Checks) -> Result<(), Failed> {
    const SIG_IGN: usize = 1;
    const SA_NOCLDWAIT: usize = 2;
    const ECHILD: isize = -10;
    let ignore = SigAction {
        handler: SIG_IGN,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    c.check(
        sys::sigaction(SIGCHLD, Some(&ignore), None) == 0,
        b"SIGCHLD ignored",
    )?;
    if sys::fork() == 0 {
        sys::sleep_ms(20);
        sys::exit_group(3);
    }
    let (r, _) = wait(-1, 0);
    c.check(r == ECHILD, b"SIGCHLD ignored: no zombie, wait4 ECHILD")?;
    c.check(
        install(SIGCHLD, SA_NOCLDWAIT | SA_RESTART) == 0,
        b"SA_NOCLDWAIT",
    )?;
    let before = COUNT.load(SeqCst);
    if sys::fork() == 0 {
        sys::exit_group(4);
    }
    let (r, _) = wait(-1, 0);
    c.check(r == ECHILD, b"SA_NOCLDWAIT: no zombie, wait4 ECHILD")?;
    for _ in 0..100 {
        if COUNT.load(SeqCst) > before {
            break;
        }
        sys::sleep_ms(5);
    }
    c.check(
        COUNT.load(SeqCst) > before,
        b"SA_NOCLDWAIT: SIGCHLD still sent",
    )?;
    c.check(install(SIGCHLD, SA_RESTART) == 0, b"SIGCHLD handler again")
}

/// The parent blocks in a pipe read; a child sends it SIGUSR1 (caught with `flags`), then
/// writes. Returns the first read's result and what it read.
fn interrupted_read(flags: usize) -> (isize, [u8; 8]) {
    install(SIGUSR1, flags);
    let mut buf = [0u8; 8];
    let Ok((rd, wr)) = sys::pipe2(0) else {
        return (-1, buf);
    };
    let parent = sys::getpid();
    let pid = sys::fork();
    if pid == 0 {
        sys::sleep_ms(50);
        sys::kill(parent, SIGUSR1);
        sys::sleep_ms(50);
        sys::write(wr, b"data");
        sys::exit_group(0);
    }
    let n = sys::read(rd, &mut buf);
    if n == EINTR {
        // The data still comes: read it so the child's write is not lost.
        sys::read(rd, &mut buf);
    }
    wait(pid, 0);
    sys::close(rd);
    sys::close(wr);
    (n, buf)
}

fn sa_restart(c: &mut Checks) -> Result<(), Failed> {
    let before = COUNT.load(SeqCst);
    let (n, buf) = interrupted_read(SA_RESTART);
    c.check(
        n == 4 && &buf[..4] == b"data",
        b"SA_RESTART: the read goes on and returns the data",
    )?;
    c.check(COUNT.load(SeqCst) > before, b"SA_RESTART: the handler ran")?;
    let before = COUNT.load(SeqCst);
    let (n, buf) = interrupted_read(0);
    c.check(n == EINTR, b"without SA_RESTART: EINTR")?;
    c.check(&buf[..4] == b"data", b"the data is read after EINTR")?;
    c.check(
        COUNT.load(SeqCst) > before,
        b"without SA_RESTART: the handler ran",
    )?;
    Ok(())
}

/// Stops itself; once continued says so.
fn stop_me() -> i32 {
    user::print(b"jobctl: stopping\n");
    sys::kill(sys::getpid(), SIGSTOP);
    user::print(b"jobctl: continued\n");
    0
}

fn run(args: user::Args) -> i32 {
    if args.get(1) == Some(b"stopme") {
        return stop_me();
    }
    let mut c = Checks::new(b"jobctl");
    let ok = stop_continue_kill(&mut c).is_ok()
        && tstp_handler(&mut c).is_ok()
        && orphaned_groups(&mut c).is_ok()
        && restart_after_stop(&mut c).is_ok()
        && nanosleep_restart(&mut c).is_ok()
        && sigchld_before_reap(&mut c).is_ok()
        && autoreap(&mut c).is_ok()
        && sa_restart(&mut c).is_ok();
    if !ok {
        return 1;
    }
    user::print(b"jobctl: ");
    user::print_u64(c.passed);
    user::print(b" checks passed\n");
    0
}

user::entry!(run);
