//! `ptracetest`: ptrace(2) as Linux gives it to a debugger, one `ptracetest: PASS name` or
//! `ptracetest: FAIL name` line per check, then `ptracetest: N passed, M failed` (exit 1 on
//! any failure). Covers every request the kernel implements and their errors: TRACEME (twice:
//! EPERM), ATTACH/SEIZE (self, pid 1, a traced process: EPERM; no such pid: ESRCH; SEIZE's bad
//! addr or options: EIO), requests on a process not traced or not stopped (ESRCH), PEEK/POKE
//! (unmapped and kernel addresses: EIO; a bad pointer of ours: EFAULT; POKETEXT of `brk #0`
//! into read-only text and the SIGTRAP stop at its pc), GET/SETREGSET (NT_PRSTATUS,
//! NT_PRFPREG, NT_ARM_TLS, NT_ARM_SYSTEM_CALL, bad lengths and PSTATE: EINVAL), GET/SETSIGINFO,
//! SETOPTIONS (unknown bits: EINVAL), GETEVENTMSG, PEEKUSR (EIO), syscall stops around a
//! write() (x8, x0, x7, GET_SYSCALL_INFO), a skipped syscall, SINGLESTEP (TRAP_TRACE stops,
//! over an `svc` too), the NT_ARM_HW_BREAK regset, signal-delivery-stops (suppressed, delivered),
//! fork, exec and exit events (the new child auto-attached), its exit seen by the tracer
//! first and then by its real parent, DETACH (from a group-stopped process too: it stays
//! stopped), INTERRUPT and LISTEN, KILL and SIGKILL of a
//! stopped tracee, a tracer that exits (detach; EXITKILL kills), SIGCHLD with CLD_TRAPPED,
//! and `/proc/PID/status` (`TracerPid:`, `State: t (tracing stop)`).
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use user::sys::{self, SA_RESTORER, SA_SIGINFO, SigAction};

const SYS_PTRACE: usize = 117;
const SYS_SCHED_YIELD: usize = 124;

const PTRACE_TRACEME: usize = 0;
const PTRACE_PEEKTEXT: usize = 1;
const PTRACE_PEEKDATA: usize = 2;
const PTRACE_PEEKUSR: usize = 3;
const PTRACE_POKETEXT: usize = 4;
const PTRACE_POKEDATA: usize = 5;
const PTRACE_CONT: usize = 7;
const PTRACE_KILL: usize = 8;
const PTRACE_SINGLESTEP: usize = 9;
const PTRACE_ATTACH: usize = 16;
const PTRACE_DETACH: usize = 17;
const PTRACE_SYSCALL: usize = 24;
const PTRACE_SETOPTIONS: usize = 0x4200;
const PTRACE_GETEVENTMSG: usize = 0x4201;
const PTRACE_GETSIGINFO: usize = 0x4202;
const PTRACE_SETSIGINFO: usize = 0x4203;
const PTRACE_GETREGSET: usize = 0x4204;
const PTRACE_SETREGSET: usize = 0x4205;
const PTRACE_SEIZE: usize = 0x4206;
const PTRACE_INTERRUPT: usize = 0x4207;
const PTRACE_LISTEN: usize = 0x4208;
const PTRACE_GET_SYSCALL_INFO: usize = 0x420e;

const PTRACE_O_TRACESYSGOOD: usize = 1;
const PTRACE_O_TRACEFORK: usize = 2;
const PTRACE_O_TRACEEXEC: usize = 0x10;
const PTRACE_O_TRACEEXIT: usize = 0x40;
const PTRACE_O_EXITKILL: usize = 0x10_0000;
const PTRACE_EVENT_FORK: u32 = 1;
const PTRACE_EVENT_EXEC: u32 = 4;
const PTRACE_EVENT_EXIT: u32 = 6;
const PTRACE_EVENT_STOP: u32 = 128;

const NT_PRSTATUS: usize = 1;
const NT_PRFPREG: usize = 2;
const NT_ARM_TLS: usize = 0x401;
const NT_ARM_HW_BREAK: usize = 0x402;
const NT_ARM_SYSTEM_CALL: usize = 0x404;

const SIGKILL: usize = 9;
const SIGUSR1: usize = 10;
const SIGTRAP: u32 = 5;
const SIGTERM: usize = 15;
const SIGCHLD: usize = 17;
const SIGCONT: usize = 18;
const SIGSTOP: usize = 19;
const WNOHANG: usize = 1;
const WUNTRACED: usize = 2;
const __WALL: usize = 0x4000_0000;
const CLD_TRAPPED: u64 = 4;
const TRAP_BRKPT: i32 = 1;
const TRAP_TRACE: i32 = 2;

const EPERM: isize = -1;
const ESRCH: isize = -3;
const EIO: isize = -5;
const EFAULT: isize = -14;
const EINVAL: isize = -22;

/// `brk #0`.
const BRK0: u32 = 0xd420_0000;

/// A word the tracer reads and writes in its child's copy.
static DATA: AtomicU64 = AtomicU64::new(0x1122_3344_5566_7788);
/// The SIGCHLD handler's last si_code.
static CHLD_CODE: AtomicU64 = AtomicU64::new(0);

fn ptrace(request: usize, pid: isize, addr: usize, data: usize) -> isize {
    // SAFETY: ptrace reads and writes only what the request says, at addresses we give.
    unsafe { sys::syscall6(SYS_PTRACE, [request, pid as usize, addr, data, 0, 0]) }
}

fn kill(pid: isize, sig: usize) -> isize {
    sys::kill(pid, sig)
}

fn wait(pid: isize) -> (isize, u32) {
    loop {
        let (r, s) = sys::wait4(pid, __WALL);
        if r != -4 {
            return (r, s);
        }
    }
}

fn stopped(sig: u32) -> u32 {
    (sig << 8) | 0x7f
}

fn event_stop(event: u32) -> u32 {
    (event << 16) | stopped(SIGTRAP)
}

fn exited(code: u32) -> u32 {
    code << 8
}

struct Checks {
    passed: u64,
    failed: u64,
}

impl Checks {
    fn check(&mut self, ok: bool, name: &[u8]) -> bool {
        user::print(if ok {
            b"ptracetest: PASS "
        } else {
            b"ptracetest: FAIL "
        });
        user::print(name);
        user::print(b"\n");
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        ok
    }

    /// A check of a value, printed on failure.
    fn eq(&mut self, got: i64, want: i64, name: &[u8]) -> bool {
        let ok = self.check(got == want, name);
        if !ok {
            user::print(b"ptracetest:   got ");
            user::print_ret(got as isize);
            user::print(b" (0x");
            print_hex(got as u64);
            user::print(b"), want ");
            user::print_ret(want as isize);
            user::print(b"\n");
        }
        ok
    }
}

fn print_hex(mut n: u64) {
    let mut buf = [0u8; 16];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    user::print(&buf[at..]);
}

/// A child that asks to be traced and stops itself with SIGSTOP, then runs `then`.
fn traced_child(then: fn() -> i32) -> isize {
    let pid = sys::fork();
    if pid == 0 {
        if ptrace(PTRACE_TRACEME, 0, 0, 0) != 0 {
            sys::exit_group(100);
        }
        kill(sys::getpid(), SIGSTOP);
        sys::exit_group(then());
    }
    pid
}

/// A child that spins until a signal ends it.
fn spinner() -> isize {
    let pid = sys::fork();
    if pid == 0 {
        loop {
            // SAFETY: no arguments.
            unsafe { sys::syscall6(SYS_SCHED_YIELD, [0; 6]) };
        }
    }
    pid
}

/// The registers of `pid` (`struct user_pt_regs`: x0-x30, sp, pc, pstate).
fn getregs(pid: isize) -> Option<[u64; 34]> {
    let mut regs = [0u64; 34];
    let iov = [regs.as_mut_ptr() as usize, 272];
    (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, iov.as_ptr() as usize) == 0).then_some(regs)
}

fn setregs(pid: isize, regs: &[u64; 34]) -> isize {
    let iov = [regs.as_ptr() as usize, 272];
    ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, iov.as_ptr() as usize)
}

fn peek(pid: isize, addr: usize) -> Result<u64, isize> {
    let mut word = 0u64;
    match ptrace(PTRACE_PEEKDATA, pid, addr, &mut word as *mut u64 as usize) {
        0 => Ok(word),
        e => Err(e),
    }
}

fn geteventmsg(pid: isize) -> u64 {
    let mut msg = 0u64;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &mut msg as *mut u64 as usize);
    msg
}

/// `si_signo`, `si_code` and `si_addr`/`si_pid` of `pid`'s stop.
fn getsiginfo(pid: isize) -> Option<[u8; 128]> {
    let mut info = [0u8; 128];
    (ptrace(PTRACE_GETSIGINFO, pid, 0, info.as_mut_ptr() as usize) == 0).then_some(info)
}

fn word32(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn word64(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Whether `/proc/PID/status` has the line `want`.
fn status_has(pid: isize, want: &[u8]) -> bool {
    let mut path = [0u8; 32];
    let prefix = b"/proc/";
    path[..prefix.len()].copy_from_slice(prefix);
    let mut at = prefix.len();
    let mut digits = [0u8; 20];
    let mut n = pid as u64;
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &c in &digits[d..] {
        path[at] = c;
        at += 1;
    }
    for &c in b"/status\0" {
        path[at] = c;
        at += 1;
    }
    let Ok(path) = core::ffi::CStr::from_bytes_until_nul(&path) else {
        return false;
    };
    let fd = sys::open(path, 0, 0);
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 2048];
    let n = sys::read(fd as usize, &mut buf);
    sys::close(fd as usize);
    if n <= 0 {
        return false;
    }
    buf[..n as usize]
        .split(|&c| c == b'\n')
        .any(|line| line == want)
}

/// Whether `/proc/PID/status` shows `want` within `tries` looks, yielding between them.
fn status_soon(pid: isize, want: &[u8], tries: u32) -> bool {
    for _ in 0..tries {
        if status_has(pid, want) {
            return true;
        }
        // SAFETY: no arguments.
        unsafe { sys::syscall6(SYS_SCHED_YIELD, [0; 6]) };
    }
    false
}

/// `TracerPid:\tN`.
fn tracer_line(pid: isize, out: &mut [u8; 32]) -> usize {
    let head = b"TracerPid:\t";
    out[..head.len()].copy_from_slice(head);
    let mut at = head.len();
    let mut digits = [0u8; 20];
    let mut n = pid as u64;
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &c in &digits[d..] {
        out[at] = c;
        at += 1;
    }
    at
}

fn traced_by(pid: isize, tracer: isize) -> bool {
    let mut line = [0u8; 32];
    let n = tracer_line(tracer, &mut line);
    status_has(pid, &line[..n])
}

extern "C" fn on_chld(_: i32, info: *const u8, _: *mut u8) {
    // SAFETY: the kernel's siginfo: si_code at 8.
    let code = unsafe { info.add(8).cast::<i32>().read_unaligned() };
    CHLD_CODE.store(code as u64, SeqCst);
}

fn child_checks_data() -> i32 {
    // The tracer poked 0xfeed into our copy.
    if DATA.load(SeqCst) == 0xfeed { 0 } else { 1 }
}

/// TRACEME, the stop, reading and writing memory and registers, the error cases.
fn basics(c: &mut Checks) {
    let me = sys::getpid();
    let act = SigAction {
        handler: on_chld as *const () as usize,
        flags: SA_SIGINFO | SA_RESTORER,
        restorer: sys::restorer(),
        mask: 0,
    };
    sys::sigaction(SIGCHLD, Some(&act), None);
    let pid = traced_child(child_checks_data);
    let (r, status) = wait(pid);
    c.check(
        r == pid && status == stopped(SIGSTOP as u32),
        b"TRACEME child stops with SIGSTOP (0x137f)",
    );
    c.eq(
        CHLD_CODE.load(SeqCst) as i64,
        CLD_TRAPPED as i64,
        b"tracer gets SIGCHLD with CLD_TRAPPED",
    );
    c.check(
        traced_by(pid, me),
        b"/proc/PID/status TracerPid: is the tracer",
    );
    c.check(
        status_has(pid, b"State:\tt (tracing stop)"),
        b"/proc/PID/status State: t (tracing stop)",
    );
    let info = getsiginfo(pid).unwrap_or([0; 128]);
    c.eq(
        word32(&info, 0) as i64,
        SIGSTOP as i64,
        b"GETSIGINFO si_signo SIGSTOP",
    );
    c.eq(
        word32(&info, 16) as i64,
        pid as i64,
        b"GETSIGINFO si_pid is the tracee (kill)",
    );
    let mut bad = info;
    bad[8..12].copy_from_slice(&(-6i32).to_le_bytes());
    c.eq(
        ptrace(PTRACE_SETSIGINFO, pid, 0, bad.as_ptr() as usize) as i64,
        0,
        b"SETSIGINFO",
    );
    let again = getsiginfo(pid).unwrap_or([0; 128]);
    c.eq(
        word32(&again, 8) as i64,
        -6,
        b"GETSIGINFO reads SETSIGINFO's code back",
    );
    c.eq(
        ptrace(PTRACE_GETSIGINFO, pid, 0, 8) as i64,
        EFAULT as i64,
        b"GETSIGINFO to a bad pointer: EFAULT",
    );
    // Memory.
    let addr = DATA.as_ptr() as usize;
    c.eq(
        peek(pid, addr).unwrap_or(0) as i64,
        0x1122_3344_5566_7788,
        b"PEEKDATA reads the tracee's word",
    );
    c.eq(
        peek(pid, 0x10).err().unwrap_or(0) as i64,
        EIO as i64,
        b"PEEKDATA of an unmapped address: EIO",
    );
    c.eq(
        peek(pid, 0xffff_0000_0000_0000).err().unwrap_or(0) as i64,
        EIO as i64,
        b"PEEKDATA of a kernel address: EIO",
    );
    c.eq(
        ptrace(PTRACE_PEEKDATA, pid, addr, 0x10) as i64,
        EFAULT as i64,
        b"PEEKDATA to a bad tracer pointer: EFAULT",
    );
    c.eq(
        ptrace(PTRACE_PEEKTEXT, pid, addr, 0xffff_0000_0000_1000) as i64,
        EFAULT as i64,
        b"PEEKTEXT to a kernel pointer: EFAULT",
    );
    c.eq(
        ptrace(PTRACE_POKEDATA, pid, 0x10, 1) as i64,
        EIO as i64,
        b"POKEDATA of an unmapped address: EIO",
    );
    c.eq(
        ptrace(PTRACE_POKEDATA, pid, addr, 0xfeed) as i64,
        0,
        b"POKEDATA",
    );
    c.eq(
        DATA.load(SeqCst) as i64,
        0x1122_3344_5566_7788,
        b"POKEDATA leaves the tracer's own copy alone",
    );
    c.eq(
        ptrace(PTRACE_PEEKUSR, pid, 0, 0) as i64,
        EIO as i64,
        b"PEEKUSR: EIO (arm64)",
    );
    // Registers.
    let mut regs = [0u64; 34];
    let mut iov = [regs.as_mut_ptr() as usize, 4096];
    c.eq(
        ptrace(
            PTRACE_GETREGSET,
            pid,
            NT_PRSTATUS,
            iov.as_mut_ptr() as usize,
        ) as i64,
        0,
        b"GETREGSET NT_PRSTATUS",
    );
    c.eq(
        iov[1] as i64,
        272,
        b"GETREGSET NT_PRSTATUS iov_len cut to 272",
    );
    c.check(
        regs[32] != 0 && regs[33] & 0xf == 0,
        b"NT_PRSTATUS pc set, pstate EL0t",
    );
    iov[1] = 12;
    c.eq(
        ptrace(
            PTRACE_GETREGSET,
            pid,
            NT_PRSTATUS,
            iov.as_mut_ptr() as usize,
        ) as i64,
        EINVAL as i64,
        b"GETREGSET length not a whole register: EINVAL",
    );
    c.eq(
        ptrace(PTRACE_GETREGSET, pid, 0x999, iov.as_mut_ptr() as usize) as i64,
        EINVAL as i64,
        b"GETREGSET unknown set: EINVAL",
    );
    c.eq(
        ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, 8) as i64,
        EFAULT as i64,
        b"GETREGSET bad iovec: EFAULT",
    );
    let mut bad = regs;
    bad[33] = 0x3c5; // EL1h, DAIF masked
    c.eq(
        setregs(pid, &bad) as i64,
        EINVAL as i64,
        b"SETREGSET with an EL1 PSTATE: EINVAL",
    );
    c.eq(setregs(pid, &regs) as i64, 0, b"SETREGSET NT_PRSTATUS");
    let mut fp = [0u8; 528];
    let mut iov = [fp.as_mut_ptr() as usize, 528];
    c.eq(
        ptrace(PTRACE_GETREGSET, pid, NT_PRFPREG, iov.as_mut_ptr() as usize) as i64,
        0,
        b"GETREGSET NT_PRFPREG",
    );
    c.eq(iov[1] as i64, 528, b"NT_PRFPREG is 528 bytes");
    c.eq(
        ptrace(PTRACE_SETREGSET, pid, NT_PRFPREG, iov.as_mut_ptr() as usize) as i64,
        0,
        b"SETREGSET NT_PRFPREG",
    );
    let mut tls = [0u64; 2];
    let mut iov = [tls.as_mut_ptr() as usize, 16];
    c.eq(
        ptrace(PTRACE_GETREGSET, pid, NT_ARM_TLS, iov.as_mut_ptr() as usize) as i64,
        0,
        b"GETREGSET NT_ARM_TLS",
    );
    let mut nr = 0i32;
    let mut iov = [&mut nr as *mut i32 as usize, 4];
    c.eq(
        ptrace(
            PTRACE_GETREGSET,
            pid,
            NT_ARM_SYSTEM_CALL,
            iov.as_mut_ptr() as usize,
        ) as i64,
        0,
        b"GETREGSET NT_ARM_SYSTEM_CALL",
    );
    // Options and the rest.
    c.eq(
        ptrace(PTRACE_SETOPTIONS, pid, 0, 1 << 8) as i64,
        EINVAL as i64,
        b"SETOPTIONS unknown bit: EINVAL",
    );
    c.eq(
        ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD) as i64,
        0,
        b"SETOPTIONS TRACESYSGOOD",
    );
    c.eq(
        ptrace(PTRACE_GETEVENTMSG, pid, 0, 8) as i64,
        EFAULT as i64,
        b"GETEVENTMSG to a bad pointer: EFAULT",
    );
    c.eq(
        ptrace(0x9999, pid, 0, 0) as i64,
        EIO as i64,
        b"unknown request: EIO",
    );
    c.eq(
        ptrace(PTRACE_CONT, pid, 0, 100) as i64,
        EIO as i64,
        b"CONT with a bad signal: EIO",
    );
    c.eq(
        ptrace(PTRACE_ATTACH, pid, 0, 0) as i64,
        EPERM as i64,
        b"ATTACH to a traced process: EPERM",
    );
    c.eq(
        ptrace(PTRACE_INTERRUPT, pid, 0, 0) as i64,
        EIO as i64,
        b"INTERRUPT without SEIZE: EIO",
    );
    c.eq(ptrace(PTRACE_CONT, pid, 0, 0) as i64, 0, b"CONT");
    c.eq(
        ptrace(PTRACE_CONT, pid, 0, 0) as i64,
        ESRCH as i64,
        b"CONT of a running tracee: ESRCH",
    );
    let (r, status) = wait(pid);
    c.check(
        r == pid && status == exited(0),
        b"the child saw the POKEDATA and exited 0",
    );
    sys::sigaction(
        SIGCHLD,
        Some(&SigAction {
            handler: 0,
            flags: SA_RESTORER,
            restorer: sys::restorer(),
            mask: 0,
        }),
        None,
    );
}

fn attach_errors(c: &mut Checks) {
    let me = sys::getpid();
    c.eq(
        ptrace(PTRACE_ATTACH, me, 0, 0) as i64,
        EPERM as i64,
        b"ATTACH to self: EPERM",
    );
    c.eq(
        ptrace(PTRACE_ATTACH, 1, 0, 0) as i64,
        EPERM as i64,
        b"ATTACH to pid 1 (a kernel task): EPERM",
    );
    c.eq(
        ptrace(PTRACE_ATTACH, 99999, 0, 0) as i64,
        ESRCH as i64,
        b"ATTACH to no such pid: ESRCH",
    );
    c.eq(
        ptrace(PTRACE_CONT, 99999, 0, 0) as i64,
        ESRCH as i64,
        b"CONT of no such pid: ESRCH",
    );
    let pid = spinner();
    c.eq(
        ptrace(PTRACE_CONT, pid, 0, 0) as i64,
        ESRCH as i64,
        b"CONT of a process not traced: ESRCH",
    );
    c.eq(
        ptrace(PTRACE_KILL, pid, 0, 0) as i64,
        ESRCH as i64,
        b"KILL of a process not traced: ESRCH",
    );
    c.eq(
        ptrace(PTRACE_SEIZE, pid, 8, 0) as i64,
        EIO as i64,
        b"SEIZE with addr != 0: EIO",
    );
    c.eq(
        ptrace(PTRACE_SEIZE, pid, 0, 1 << 9) as i64,
        EIO as i64,
        b"SEIZE with an unknown option: EIO",
    );
    kill(pid, SIGKILL);
    wait(pid);
    // TRACEME twice.
    let pid = sys::fork();
    if pid == 0 {
        let first = ptrace(PTRACE_TRACEME, 0, 0, 0);
        let second = ptrace(PTRACE_TRACEME, 0, 0, 0);
        sys::exit_group(if first == 0 && second == EPERM { 0 } else { 1 });
    }
    let (_, status) = wait(pid);
    c.check(status == exited(0), b"TRACEME twice: EPERM");
}

fn write_twice() -> i32 {
    let msg = b"ptracetest: the tracee's write\n";
    let first = sys::write(1, msg);
    // The tracer skips this one and makes it return 777.
    let second = sys::write(1, b"ptracetest: FAIL skipped write ran\n");
    if first == msg.len() as isize && second == 777 {
        0
    } else {
        1
    }
}

/// PTRACE_SYSCALL through a write(): x8, x0 and x7 at the entry and exit stops, then a
/// write skipped by NT_ARM_SYSTEM_CALL = -1 with the tracer's result.
fn syscall_stops(c: &mut Checks) {
    let pid = traced_child(write_twice);
    wait(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
    c.eq(ptrace(PTRACE_SYSCALL, pid, 0, 0) as i64, 0, b"SYSCALL");
    let (_, status) = wait(pid);
    c.eq(status as i64, 0x857f, b"syscall-entry stop: SIGTRAP|0x80");
    let regs = getregs(pid).unwrap_or([0; 34]);
    c.eq(regs[8] as i64, 64, b"entry stop: x8 is write (64)");
    c.eq(regs[0] as i64, 1, b"entry stop: x0 is fd 1");
    c.eq(regs[2] as i64, 31, b"entry stop: x2 is the length");
    c.eq(regs[7] as i64, 0, b"entry stop: x7 is 0 (entry)");
    let info = getsiginfo(pid).unwrap_or([0; 128]);
    c.eq(
        word32(&info, 8) as i64,
        0x85,
        b"syscall stop siginfo si_code SIGTRAP|0x80",
    );
    c.eq(
        geteventmsg(pid) as i64,
        1,
        b"entry stop: GETEVENTMSG 1 (SYSCALL_ENTRY)",
    );
    let mut sc = [0u64; 11];
    let size = ptrace(PTRACE_GET_SYSCALL_INFO, pid, 88, sc.as_mut_ptr() as usize);
    c.check(
        size == 80
            && sc[0] & 0xff == 1
            && sc[0] >> 32 == 0xc000_00b7
            && sc[3] == 64
            && sc[4] == 1
            && sc[6] == 31,
        b"GET_SYSCALL_INFO at entry: op ENTRY, AUDIT_ARCH_AARCH64, nr 64, args",
    );
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(status as i64, 0x857f, b"syscall-exit stop");
    let regs = getregs(pid).unwrap_or([0; 34]);
    c.eq(regs[0] as i64, 31, b"exit stop: x0 is write's result");
    c.eq(regs[7] as i64, 1, b"exit stop: x7 is 1 (exit)");
    let mut sc = [0u64; 11];
    let size = ptrace(PTRACE_GET_SYSCALL_INFO, pid, 88, sc.as_mut_ptr() as usize);
    c.check(
        size == 33 && sc[0] & 0xff == 2 && sc[3] == 31 && sc[4] & 0xff == 0,
        b"GET_SYSCALL_INFO at exit: op EXIT, rval 31, not an error",
    );
    // The second write: skipped, its result ours.
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    wait(pid);
    let mut nr = -1i32;
    let iov = [&mut nr as *mut i32 as usize, 4];
    c.eq(
        ptrace(
            PTRACE_SETREGSET,
            pid,
            NT_ARM_SYSTEM_CALL,
            iov.as_ptr() as usize,
        ) as i64,
        0,
        b"SETREGSET NT_ARM_SYSTEM_CALL -1",
    );
    let mut regs = getregs(pid).unwrap_or([0; 34]);
    regs[0] = 777;
    setregs(pid, &regs);
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    let (_, status) = wait(pid);
    let regs = getregs(pid).unwrap_or([0; 34]);
    c.check(
        status == 0x857f && regs[0] == 777,
        b"skipped syscall: exit stop with the tracer's x0",
    );
    c.eq(
        ptrace(PTRACE_CONT, pid, 0, 0) as i64,
        0,
        b"CONT out of a syscall stop",
    );
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(0) as i64,
        b"the tracee saw write's result and the skip's 777",
    );
}

#[inline(never)]
fn target() -> i32 {
    42
}

fn call_target() -> i32 {
    let f: fn() -> i32 = core::hint::black_box(target);
    f()
}

/// POKETEXT of `brk #0` into read-only text: the SIGTRAP stop at that pc, then the original
/// instruction back and the program runs on.
fn breakpoint(c: &mut Checks) {
    let pid = traced_child(call_target);
    wait(pid);
    let addr = target as *const () as usize;
    let mut orig = 0u64;
    ptrace(PTRACE_PEEKTEXT, pid, addr, &mut orig as *mut u64 as usize);
    c.check(orig != 0, b"PEEKTEXT reads the tracee's text");
    let patched = (orig & !0xffff_ffff) | u64::from(BRK0);
    c.eq(
        ptrace(PTRACE_POKETEXT, pid, addr, patched as usize) as i64,
        0,
        b"POKETEXT brk #0 into read-only text",
    );
    c.eq(
        peek(pid, addr).unwrap_or(0) as i64,
        patched as i64,
        b"PEEKTEXT reads the breakpoint back",
    );
    // SAFETY: our own text, readable.
    let mine = unsafe { (addr as *const u64).read_volatile() };
    c.eq(
        mine as i64,
        orig as i64,
        b"the tracer's own text is unchanged",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGTRAP) as i64,
        b"the breakpoint stops the tracee with SIGTRAP",
    );
    let regs = getregs(pid).unwrap_or([0; 34]);
    c.eq(
        regs[32] as i64,
        addr as i64,
        b"the stop's pc is the breakpoint",
    );
    let info = getsiginfo(pid).unwrap_or([0; 128]);
    c.check(
        word32(&info, 8) == TRAP_BRKPT && word64(&info, 16) == addr as u64,
        b"siginfo TRAP_BRKPT, si_addr the pc",
    );
    ptrace(PTRACE_POKETEXT, pid, addr, orig as usize);
    // Resume without the SIGTRAP: the original instruction runs.
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(42) as i64,
        b"the original instruction back: the tracee goes on",
    );
}

/// SINGLESTEP: one instruction per SIGTRAP `TRAP_TRACE` stop, the pc moving on; CONT ends
/// the stepping. And the hardware breakpoint slots' regset.
fn single_step(c: &mut Checks) {
    let pid = traced_child(call_target);
    wait(pid);
    let mut ok = true;
    let mut pc = getregs(pid).map_or(0, |r| r[32]);
    for _ in 0..5 {
        ok &= ptrace(PTRACE_SINGLESTEP, pid, 0, 0) == 0;
        let (_, status) = wait(pid);
        let info = getsiginfo(pid).unwrap_or([0; 128]);
        let now = getregs(pid).map_or(0, |r| r[32]);
        ok &= status == stopped(SIGTRAP) && word32(&info, 8) == TRAP_TRACE && now != pc;
        ok &= word64(&info, 16) == now;
        pc = now;
    }
    c.check(
        ok,
        b"SINGLESTEP x5: SIGTRAP TRAP_TRACE stops, the pc moving on",
    );
    let mut hw = [0u8; 264];
    let mut iov = [hw.as_mut_ptr() as usize, 264];
    c.eq(
        ptrace(
            PTRACE_GETREGSET,
            pid,
            NT_ARM_HW_BREAK,
            iov.as_mut_ptr() as usize,
        ) as i64,
        0,
        b"GETREGSET NT_ARM_HW_BREAK",
    );
    c.check(
        iov[1] >= 8 && hw[0] != 0,
        b"NT_ARM_HW_BREAK dbg_info counts the slots",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(42) as i64,
        b"CONT after steps: the tracee runs to its end",
    );
}

/// getpid by a bare `svc`, for stepping over a syscall.
fn getpid_svc() -> i32 {
    let pid: usize;
    // SAFETY: getpid takes no argument and only sets x0.
    unsafe {
        core::arch::asm!("mov x8, #172", "svc #0", "nop", out("x0") pid, out("x8") _, options(nostack))
    };
    if pid == sys::getpid() as usize { 0 } else { 1 }
}

/// Stepping over `svc`: one stop, after the syscall, with its result in x0.
fn step_over_svc(c: &mut Checks) {
    let pid = traced_child(getpid_svc);
    wait(pid);
    let mut seen = false;
    let mut ok = true;
    for _ in 0..200 {
        let before = getregs(pid).map_or(0, |r| r[32]) as usize;
        let insn = peek(pid, before).unwrap_or(0) as u32;
        ok &= ptrace(PTRACE_SINGLESTEP, pid, 0, 0) == 0;
        let (_, status) = wait(pid);
        ok &= status == stopped(SIGTRAP);
        let regs = getregs(pid).unwrap_or([0; 34]);
        if insn == 0xd400_0001 && regs[8] == 172 {
            c.eq(
                regs[32] as i64,
                before as i64 + 4,
                b"a step over svc stops after it",
            );
            c.eq(
                regs[0] as i64,
                pid as i64,
                b"with the syscall's result in x0",
            );
            seen = true;
            break;
        }
    }
    c.check(ok && seen, b"stepping reaches and crosses the getpid svc");
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(0) as i64,
        b"the stepped program ends normally",
    );
}

fn raise_usr1() -> i32 {
    kill(sys::getpid(), SIGUSR1);
    0
}

/// Signal-delivery-stops: suppressed with CONT 0, delivered with CONT SIGUSR1; KILL and
/// SIGKILL of a stopped tracee.
fn signal_stops(c: &mut Checks) {
    let pid = traced_child(raise_usr1);
    wait(pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGUSR1 as u32) as i64,
        b"signal-delivery-stop for SIGUSR1",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(0) as i64,
        b"CONT 0 suppresses the signal",
    );
    let pid = traced_child(raise_usr1);
    wait(pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    wait(pid);
    ptrace(PTRACE_CONT, pid, 0, SIGUSR1);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        SIGUSR1 as i64,
        b"CONT SIGUSR1 delivers it (killed by SIGUSR1)",
    );
    let pid = traced_child(raise_usr1);
    wait(pid);
    c.eq(ptrace(PTRACE_KILL, pid, 0, 0) as i64, 0, b"KILL");
    let (_, status) = wait(pid);
    c.eq(status as i64, SIGKILL as i64, b"KILL ends a stopped tracee");
    let pid = traced_child(raise_usr1);
    wait(pid);
    kill(pid, SIGKILL);
    let (r, status) = wait(pid);
    c.check(
        r == pid && status == SIGKILL as u32,
        b"SIGKILL ends a stopped tracee",
    );
    // A stop not yet waited for: SIGKILL withdraws its report (Linux clears JOBCTL_TRACED
    // as it wakes the tracee), so `wait4` sees the death, never the stale stop.
    let pid = traced_child(raise_usr1);
    wait(pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    let in_stop = status_soon(pid, b"State:\tt (tracing stop)", 1000);
    kill(pid, SIGKILL);
    let (_, status) = wait(pid);
    c.check(in_stop, b"a signal-delivery-stop not waited for");
    c.eq(
        status as i64,
        SIGKILL as i64,
        b"SIGKILL withdraws the stop's report: wait4 sees the death",
    );
}

fn fork_child() -> i32 {
    let pid = sys::fork();
    if pid == 0 {
        sys::exit_group(7);
    }
    // The tracer reaps it first; then it is ours.
    let (r, status) = sys::wait4(pid, 0);
    if r == pid && status == 7 << 8 { 0 } else { 1 }
}

/// Fork and exit events: the new child auto-attached with SIGSTOP, its exit stop and exit
/// reported to the tracer first, then to its real parent.
fn fork_events(c: &mut Checks) {
    let me = sys::getpid();
    let pid = traced_child(fork_child);
    wait(pid);
    c.eq(
        ptrace(
            PTRACE_SETOPTIONS,
            pid,
            0,
            PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXIT,
        ) as i64,
        0,
        b"SETOPTIONS TRACEFORK|TRACEEXIT",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_FORK) as i64,
        b"PTRACE_EVENT_FORK stop",
    );
    let child = geteventmsg(pid) as isize;
    c.check(child > 0, b"GETEVENTMSG is the new pid");
    let (r, status) = wait(child);
    c.check(
        r == child && status == stopped(SIGSTOP as u32),
        b"the new child starts traced, stopped by SIGSTOP",
    );
    c.check(traced_by(child, me), b"the new child's TracerPid: is ours");
    ptrace(PTRACE_CONT, child, 0, 0);
    let (_, status) = wait(child);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_EXIT) as i64,
        b"PTRACE_EVENT_EXIT stop (options inherited)",
    );
    c.eq(
        geteventmsg(child) as i64,
        7 << 8,
        b"exit stop's GETEVENTMSG is the exit status",
    );
    ptrace(PTRACE_CONT, child, 0, 0);
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (r, status) = wait(child);
    c.check(
        r == child && status == exited(7),
        b"the tracer sees the exit first",
    );
    // Its child's SIGCHLD reaches it once we reaped the child: a traced task stops for it
    // though it ignores SIGCHLD (as on Linux), and we deliver nothing.
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGCHLD as u32) as i64,
        b"the parent's SIGCHLD stop (ignored, still reported)",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_EXIT) as i64,
        b"the parent's own exit stop",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(0) as i64,
        b"then its real parent reaped it (exit 7)",
    );
}

fn exec_hello() -> i32 {
    let path = c"/bin/hello";
    let argv = [path.as_ptr().cast::<u8>(), core::ptr::null()];
    let envp = [core::ptr::null()];
    // SAFETY: NUL-terminated arrays of NUL-terminated strings.
    unsafe { sys::execve(path, &argv, &envp) };
    1
}

fn exec_events(c: &mut Checks) {
    let pid = traced_child(exec_hello);
    wait(pid);
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_EXEC) as i64,
        b"PTRACE_EVENT_EXEC stop",
    );
    c.eq(
        geteventmsg(pid) as i64,
        pid as i64,
        b"exec stop's GETEVENTMSG is the pid",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(0) as i64,
        b"the exec'd program runs to its end",
    );
    // Without TRACEEXEC: the legacy SIGTRAP after exec.
    let pid = traced_child(exec_hello);
    wait(pid);
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGTRAP) as i64,
        b"exec without TRACEEXEC: SIGTRAP stop",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        exited(0) as i64,
        b"CONT 0 after the exec SIGTRAP",
    );
}

/// INTERRUPT of a tracee asleep in nanosleep: the sleep ends at once for the trap (as for a
/// signal), and once continued the call sleeps on (restarted), so the tracee is not done.
fn interrupt_a_sleeper(c: &mut Checks) {
    let pid = sys::fork();
    if pid == 0 {
        sys::sleep_ms(3000);
        sys::exit_group(5);
    }
    c.eq(
        ptrace(PTRACE_SEIZE, pid, 0, 0) as i64,
        0,
        b"SEIZE a sleeper",
    );
    sys::sleep_ms(50);
    let start = sys::monotonic_ns() / 1_000_000;
    ptrace(PTRACE_INTERRUPT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_STOP) as i64,
        b"INTERRUPT of a sleeper: PTRACE_EVENT_STOP",
    );
    c.check(
        sys::monotonic_ns() / 1_000_000 - start < 1000,
        b"INTERRUPT ends the sleep at once",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    sys::sleep_ms(100);
    c.eq(
        sys::wait4(pid, WNOHANG | __WALL).0 as i64,
        0,
        b"continued, the sleeper sleeps on (restarted)",
    );
    kill(pid, SIGKILL);
    let (r, status) = wait(pid);
    c.check(r == pid && status == 9, b"the sleeper killed and reaped");
}

/// ATTACH to a running process, DETACH, and SEIZE with INTERRUPT and LISTEN.
fn attach_detach(c: &mut Checks) {
    let me = sys::getpid();
    let pid = spinner();
    c.eq(ptrace(PTRACE_ATTACH, pid, 0, 0) as i64, 0, b"ATTACH");
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGSTOP as u32) as i64,
        b"ATTACH stops it with SIGSTOP",
    );
    c.check(traced_by(pid, me), b"attached: TracerPid: is ours");
    c.eq(ptrace(PTRACE_DETACH, pid, 0, 0) as i64, 0, b"DETACH");
    c.eq(
        ptrace(PTRACE_CONT, pid, 0, 0) as i64,
        ESRCH as i64,
        b"CONT after DETACH: ESRCH",
    );
    c.check(traced_by(pid, 0), b"detached: TracerPid: 0");
    kill(pid, SIGTERM);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        SIGTERM as i64,
        b"the detached process runs on (SIGTERM ends it)",
    );

    let pid = spinner();
    c.eq(
        ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT) as i64,
        0,
        b"SEIZE with options",
    );
    c.eq(
        sys::wait4(pid, WNOHANG | __WALL).0 as i64,
        0,
        b"SEIZE does not stop the tracee",
    );
    c.eq(ptrace(PTRACE_INTERRUPT, pid, 0, 0) as i64, 0, b"INTERRUPT");
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_STOP) as i64,
        b"INTERRUPT: PTRACE_EVENT_STOP with SIGTRAP",
    );
    interrupt_a_sleeper(c);
    ptrace(PTRACE_CONT, pid, 0, 0);
    kill(pid, SIGSTOP);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGSTOP as u32) as i64,
        b"seized: signal-delivery-stop for SIGSTOP",
    );
    ptrace(PTRACE_CONT, pid, 0, SIGSTOP);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        ((PTRACE_EVENT_STOP << 16) | stopped(SIGSTOP as u32)) as i64,
        b"seized group-stop: PTRACE_EVENT_STOP with SIGSTOP",
    );
    c.eq(ptrace(PTRACE_LISTEN, pid, 0, 0) as i64, 0, b"LISTEN");
    c.eq(
        ptrace(PTRACE_CONT, pid, 0, 0) as i64,
        ESRCH as i64,
        b"requests on a listening tracee: ESRCH",
    );
    c.eq(
        sys::wait4(pid, WNOHANG | __WALL).0 as i64,
        0,
        b"listening: nothing to report",
    );
    kill(pid, SIGCONT);
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_STOP) as i64,
        b"SIGCONT while listening: a new PTRACE_EVENT_STOP",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    kill(pid, SIGKILL);
    // Linux still stops a SIGKILLed tracee at PTRACE_EVENT_EXIT (SIGKILL is dequeued by
    // then: `ptrace_stop` sees no fatal signal pending).
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        event_stop(PTRACE_EVENT_EXIT) as i64,
        b"SIGKILL: the exit stop, as Linux",
    );
    c.eq(
        geteventmsg(pid) as i64,
        SIGKILL as i64,
        b"the exit stop's message: killed by SIGKILL",
    );
    ptrace(PTRACE_CONT, pid, 0, 0);
    let (_, status) = wait(pid);
    c.eq(status as i64, SIGKILL as i64, b"then killed by SIGKILL");
}

/// ATTACH to a process stopped by SIGSTOP: it reports the stop to its tracer; DETACH leaves
/// it stopped (`T (stopped)`) until SIGCONT.
fn attach_stopped(c: &mut Checks) {
    let pid = spinner();
    kill(pid, SIGSTOP);
    let (_, status) = sys::wait4(pid, WUNTRACED);
    c.eq(
        status as i64,
        stopped(SIGSTOP as u32) as i64,
        b"a child stopped by SIGSTOP",
    );
    c.eq(
        ptrace(PTRACE_ATTACH, pid, 0, 0) as i64,
        0,
        b"ATTACH to a stopped process",
    );
    let (_, status) = wait(pid);
    c.eq(
        status as i64,
        stopped(SIGSTOP as u32) as i64,
        b"its tracer sees the stop",
    );
    c.check(
        status_has(pid, b"State:\tt (tracing stop)"),
        b"attached to a stopped process: t (tracing stop)",
    );
    c.eq(
        ptrace(PTRACE_DETACH, pid, 0, 0) as i64,
        0,
        b"DETACH from the group-stopped process",
    );
    let still = status_soon(pid, b"State:\tT (stopped)", 100);
    c.check(still, b"detached, it stays stopped: T (stopped)");
    kill(pid, SIGCONT);
    kill(pid, SIGKILL);
    let (_, status) = wait(pid);
    c.eq(status as i64, SIGKILL as i64, b"SIGCONT, SIGKILL: it ends");
}

/// A tracer that exits: its tracee is detached and runs on; with EXITKILL it is killed.
fn tracer_exits(c: &mut Checks) {
    for (exitkill, name) in [
        (false, &b"a tracer's exit detaches its tracee"[..]),
        (true, &b"a tracer's exit with EXITKILL kills its tracee"[..]),
    ] {
        let victim = spinner();
        let tracer = sys::fork();
        if tracer == 0 {
            let ok = if exitkill {
                ptrace(PTRACE_SEIZE, victim, 0, PTRACE_O_EXITKILL) == 0
                    && ptrace(PTRACE_INTERRUPT, victim, 0, 0) == 0
            } else {
                ptrace(PTRACE_ATTACH, victim, 0, 0) == 0
            };
            let (r, _) = wait(victim);
            sys::exit_group(if ok && r == victim { 0 } else { 1 });
        }
        let (_, status) = wait(tracer);
        c.eq(
            status as i64,
            0,
            b"the tracer attached and stopped its tracee",
        );
        if exitkill {
            let (_, status) = wait(victim);
            c.eq(status as i64, SIGKILL as i64, name);
        } else {
            c.check(traced_by(victim, 0), b"the tracer gone: TracerPid: 0");
            kill(victim, SIGTERM);
            let (_, status) = wait(victim);
            c.eq(status as i64, SIGTERM as i64, name);
        }
    }
}

/// `ptracetest hold`: leaves a tracer (our child) holding a tracee (its child) in a ptrace
/// stop, seized with `PTRACE_O_EXITKILL`, and prints both pids, for a shell to look at
/// `/proc` and `ps` and then kill the tracer (which kills the tracee).
fn hold() -> i32 {
    let Ok((read_end, write_end)) = sys::pipe2(0) else {
        return 1;
    };
    let tracer = sys::fork();
    if tracer == 0 {
        let tracee = spinner();
        let ok = ptrace(PTRACE_SEIZE, tracee, 0, PTRACE_O_EXITKILL) == 0
            && ptrace(PTRACE_INTERRUPT, tracee, 0, 0) == 0
            && wait(tracee).1 == event_stop(PTRACE_EVENT_STOP);
        if ok {
            user::print(b"ptracetest: tracer ");
            user::print_u64(sys::getpid() as u64);
            user::print(b" holds ");
            user::print_u64(tracee as u64);
            user::print(b" in a ptrace stop\n");
        }
        sys::write(write_end, &[u8::from(ok)]);
        loop {
            sys::sigsuspend(0);
        }
    }
    let mut ok = [0u8];
    sys::read(read_end, &mut ok);
    i32::from(ok[0] != 1)
}

fn main(args: user::Args) -> i32 {
    if args.get(1) == Some(b"hold") {
        return hold();
    }
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    basics(&mut c);
    attach_errors(&mut c);
    syscall_stops(&mut c);
    breakpoint(&mut c);
    single_step(&mut c);
    step_over_svc(&mut c);
    signal_stops(&mut c);
    fork_events(&mut c);
    exec_events(&mut c);
    attach_detach(&mut c);
    attach_stopped(&mut c);
    tracer_exits(&mut c);
    user::print(b"ptracetest: ");
    user::print_u64(c.passed);
    user::print(b" passed, ");
    user::print_u64(c.failed);
    user::print(b" failed\n");
    i32::from(c.failed != 0)
}

user::entry!(main);
