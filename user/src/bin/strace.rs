//! `strace [-f] [-o FILE] PROG [ARGS]`: runs PROG under ptrace(2) and prints each system call
//! it makes, each signal it gets and how it ends, in strace's own format.
//!
//! The ptrace side, on Linux's ABI: the child does `PTRACE_TRACEME`, stops itself with SIGSTOP
//! and execs PROG; the tracer sets `PTRACE_O_TRACESYSGOOD | TRACEEXEC | TRACEEXIT` (and
//! `TRACEFORK | TRACEVFORK | TRACECLONE` with `-f`) at each tracee's first stop, then loops on
//! `wait4(-1, __WALL)` and `PTRACE_SYSCALL`. At syscall stops it reads the registers
//! (`PTRACE_GETREGSET NT_PRSTATUS`: x8 is the number, x0-x5 the arguments, x0 the result at
//! the exit stop); strings and structs come word by word through `PTRACE_PEEKDATA`; at
//! signal-delivery-stops `PTRACE_GETSIGINFO` gives the siginfo and the signal is delivered by
//! passing it back to `PTRACE_SYSCALL`.
//!
//! Everything about what to print lives in the `strace-fmt` crate (host-tested); this file only
//! makes the system calls. Output goes to stderr, or to FILE with `-o`.
#![cfg_attr(target_os = "none", no_std, no_main)]

use strace_fmt::cli::{self, WaitStatus};
use strace_fmt::decode::Call;
use strace_fmt::mem::Memory;
use strace_fmt::session::{ChildEnd, Output, Session};
use user::sys;

const SYS_PTRACE: usize = 117;
const SYS_GETPID: usize = 172;
const SYS_NEWFSTATAT: usize = 79;

// include/uapi/linux/ptrace.h
const PTRACE_TRACEME: usize = 0;
const PTRACE_PEEKDATA: usize = 2;
const PTRACE_DETACH: usize = 17;
const PTRACE_SYSCALL: usize = 24;
const PTRACE_SETOPTIONS: usize = 0x4200;
const PTRACE_GETSIGINFO: usize = 0x4202;
const PTRACE_GETREGSET: usize = 0x4204;
const PTRACE_O_TRACESYSGOOD: usize = 0x1;
const PTRACE_O_TRACEFORK: usize = 0x2;
const PTRACE_O_TRACEVFORK: usize = 0x4;
const PTRACE_O_TRACECLONE: usize = 0x8;
const PTRACE_O_TRACEEXEC: usize = 0x10;
const PTRACE_O_TRACEEXIT: usize = 0x40;
const PTRACE_EVENT_EXIT: u32 = 6;
/// include/uapi/linux/elf.h: the general registers regset.
const NT_PRSTATUS: usize = 1;

const SIGSTOP: usize = 19;
const ECHILD: isize = 10;
const EINTR: isize = 4;
/// wait4's `__WALL`: children of any kind, clones included.
const WALL: usize = 0x4000_0000;

/// arm64's `struct user_pt_regs`, the `NT_PRSTATUS` regset.
#[repr(C)]
#[derive(Default)]
struct UserPtRegs {
    regs: [u64; 31],
    sp: u64,
    pc: u64,
    pstate: u64,
}

#[repr(C)]
struct Iovec {
    base: usize,
    len: usize,
}

/// The raw ptrace(2) system call: 0 or -errno (PEEK requests store the word at `data`).
///
/// # Safety
/// `addr` and `data` must be what `request` expects of the caller's memory.
unsafe fn ptrace(request: usize, pid: i32, addr: usize, data: usize) -> isize {
    // SAFETY: forwarded from the caller.
    unsafe { sys::syscall6(SYS_PTRACE, [request, pid as usize, addr, data, 0, 0]) }
}

/// Restarts a stopped tracee until its next syscall stop, delivering `sig` (0: none).
fn restart(pid: i32, sig: u32) {
    // SAFETY: no pointers.
    unsafe { ptrace(PTRACE_SYSCALL, pid, 0, sig as usize) };
}

/// A tracee's memory, one `PTRACE_PEEKDATA` per word.
struct TraceeMemory(i32);

impl Memory for TraceeMemory {
    fn peek(&mut self, addr: u64) -> Option<u64> {
        let mut word = 0u64;
        // SAFETY: the kernel stores one word at `&word`.
        let ret = unsafe {
            ptrace(
                PTRACE_PEEKDATA,
                self.0,
                addr as usize,
                &raw mut word as usize,
            )
        };
        (ret == 0).then_some(word)
    }
}

/// The registers a syscall stop decodes with.
fn syscall_regs(pid: i32) -> Option<Call> {
    let mut regs = UserPtRegs::default();
    let mut iov = Iovec {
        base: &raw mut regs as usize,
        len: core::mem::size_of::<UserPtRegs>(),
    };
    // SAFETY: `iov` describes `regs`, which the kernel fills.
    let ret = unsafe { ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &raw mut iov as usize) };
    if ret != 0 {
        return None;
    }
    let mut args = [0u64; 6];
    args.copy_from_slice(&regs.regs[..6]);
    Some(Call {
        nr: regs.regs[8],
        args,
        sp: regs.sp,
    })
}

/// The siginfo of a signal-delivery-stop; `None` for a group-stop (GETSIGINFO fails there).
fn siginfo(pid: i32) -> Option<[u8; 128]> {
    let mut info = [0u8; 128];
    // SAFETY: the kernel fills 128 bytes of siginfo.
    let ret = unsafe { ptrace(PTRACE_GETSIGINFO, pid, 0, info.as_mut_ptr() as usize) };
    (ret == 0).then_some(info)
}

/// The trace's destination: stderr or the `-o` file.
struct Fd(usize);

impl Output for Fd {
    fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = sys::write(self.0, bytes);
            if n <= 0 {
                return;
            }
            bytes = &bytes[n as usize..];
        }
    }
}

/// strace's error message format: `strace: WHAT`; returns its exit status.
fn fail(what: &[u8]) -> i32 {
    let _ = sys::write(2, b"strace: ");
    let _ = sys::write(2, what);
    let _ = sys::write(2, b"\n");
    1
}

/// strace's `perror_msg`: `strace: WHAT 'NAME': strerror`; returns its exit status.
fn fail_errno(what: &str, name: &[u8], ret: isize) -> i32 {
    let mut line = strace_fmt::out::Line::new();
    line.push_str("strace: ");
    line.push_str(what);
    line.push_str(" '");
    line.push(name);
    line.push_str("': ");
    let code = ret.unsigned_abs() as u64;
    line.push_str(strace_fmt::xlat::strerror(code).unwrap_or("Unknown error"));
    line.push_str("\n");
    Fd(2).write(line.as_bytes());
    1
}

/// Room for the program's path when it is looked up in /bin.
const PATH_MAX: usize = 4096;
/// At most this many arguments are passed on.
const MAX_ARGS: usize = 256;

/// The child: asks to be traced, stops so the tracer can set its options, then execs.
fn exec_child(args: &user::Args, prog: usize, path: &[u8; PATH_MAX]) -> ! {
    let mut argv = [core::ptr::null::<u8>(); MAX_ARGS + 1];
    for (slot, i) in argv.iter_mut().zip(prog..args.len().min(prog + MAX_ARGS)) {
        // The kernel's argument strings are NUL-terminated in place.
        *slot = args.get(i).map_or(core::ptr::null(), <[u8]>::as_ptr);
    }
    // SAFETY: no pointers.
    if unsafe { ptrace(PTRACE_TRACEME, 0, 0, 0) } != 0 {
        // Stopping untraced would hang both: give up as strace does.
        sys::exit_group(fail(b"ptrace(PTRACE_TRACEME, ...) failed"));
    }
    // SAFETY: no pointers.
    unsafe {
        let me = sys::syscall6(SYS_GETPID, [0; 6]);
        sys::kill(me, SIGSTOP);
    }
    let path = core::ffi::CStr::from_bytes_until_nul(path).unwrap_or(c"");
    // SAFETY: argv holds C strings and ends in NULL (MAX_ARGS + 1 slots); envp is ours.
    let ret = unsafe {
        sys::syscall6(
            sys::SYS_EXECVE,
            [
                path.as_ptr() as usize,
                argv.as_ptr() as usize,
                args.envp() as usize,
                0,
                0,
                0,
            ],
        )
    };
    let _ = sys::write(2, b"strace: exec: ");
    let _ = sys::write(2, path.to_bytes());
    let _ = sys::write(
        2,
        if ret == -2 {
            b": No such file or directory\n"
        } else {
            b": failed\n"
        },
    );
    sys::exit_group(1)
}

fn run(args: user::Args) -> i32 {
    let Some(options) = cli::parse(args.len(), |i| args.get(i)) else {
        fail(b"must have PROG [ARGS] or -p PID");
        let _ = sys::write(2, b"Try 'strace -h' for more information.\n");
        return 1;
    };
    // PROG without a slash is looked up in /bin (the only PATH here).
    let prog = args.get(options.prog).unwrap_or(b"");
    let mut path = [0u8; PATH_MAX];
    let prefix: &[u8] = if prog.contains(&b'/') { b"" } else { b"/bin/" };
    if prefix.len() + prog.len() >= PATH_MAX {
        return fail(b"exec: File name too long");
    }
    path[..prefix.len()].copy_from_slice(prefix);
    path[prefix.len()..prefix.len() + prog.len()].copy_from_slice(prog);

    // As strace, refuse a program that is not there before forking.
    let mut stat = [0u64; 16];
    // SAFETY: a NUL-terminated path and a buffer of `struct stat`'s 128 bytes.
    let ret = unsafe {
        sys::syscall6(
            SYS_NEWFSTATAT,
            [
                sys::AT_FDCWD,
                path.as_ptr() as usize,
                stat.as_mut_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    };
    if ret < 0 {
        return fail_errno("Can't stat", &path[..prefix.len() + prog.len()], ret);
    }

    let mut out = Fd(2);
    if let Some(file) = options.output {
        let mut name = [0u8; PATH_MAX];
        if file.len() >= PATH_MAX {
            return fail(b"-o: File name too long");
        }
        name[..file.len()].copy_from_slice(file);
        let name = core::ffi::CStr::from_bytes_until_nul(&name).unwrap_or(c"");
        let fd = sys::open(
            name,
            sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC | sys::O_CLOEXEC,
            0o666,
        );
        if fd < 0 {
            return fail_errno("Can't fopen", file, fd);
        }
        out = Fd(fd as usize);
    }

    let child = sys::fork();
    if child < 0 {
        return fail(b"fork failed");
    }
    if child == 0 {
        exec_child(&args, options.prog, &path);
    }

    let mut session = Session::new(options.follow, options.output.is_some());
    session.start_child(child as i32);
    let mut ptrace_options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;
    if options.follow {
        ptrace_options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
    }
    trace(&mut session, ptrace_options, &mut out);
    match session.child_end() {
        Some(ChildEnd::Exited(code)) => code.into(),
        Some(ChildEnd::Killed(sig)) => {
            // As strace: die of the same signal (its default action), else report it.
            let me = sys::getpid();
            sys::kill(me, sig as usize);
            128 + sig as i32
        }
        None => 1,
    }
}

/// strace's notice on stderr (not in the trace) that it follows a new child.
fn attached_message(pid: i32) {
    let mut line = strace_fmt::out::Line::new();
    let _ =
        core::fmt::Write::write_fmt(&mut line, format_args!("strace: Process {pid} attached\n"));
    Fd(2).write(line.as_bytes());
}

/// The wait loop: every stop of every tracee until none is left.
fn trace(session: &mut Session, ptrace_options: usize, out: &mut Fd) {
    loop {
        let (ret, status) = sys::wait4(-1, WALL);
        if ret == -EINTR {
            continue;
        }
        if ret < 0 {
            if ret != -ECHILD {
                fail(b"wait4 failed");
            }
            return;
        }
        let pid = ret as i32;
        let stop = match WaitStatus::decode(status) {
            WaitStatus::Exited(code) => {
                session.exited(pid, code, out);
                continue;
            }
            WaitStatus::Killed { sig, core_dumped } => {
                session.killed(pid, sig, core_dumped, out);
                continue;
            }
            WaitStatus::Other => continue,
            stop => stop,
        };
        // A ptrace stop; one of a pid not seen yet is a new child (auto-attached with -f).
        if !session.is_traced(pid) {
            if !session.attach_new(pid) {
                // SAFETY: no pointers.
                unsafe { ptrace(PTRACE_DETACH, pid, 0, 0) };
                continue;
            }
            attached_message(pid);
        }
        if session.take_startup(pid) {
            // SAFETY: no pointers.
            unsafe { ptrace(PTRACE_SETOPTIONS, pid, 0, ptrace_options) };
        }
        let deliver = match stop {
            WaitStatus::SyscallStop => {
                if let Some(regs) = syscall_regs(pid) {
                    session.syscall_stop(pid, &regs, &mut TraceeMemory(pid), out);
                }
                0
            }
            WaitStatus::SignalStop(sig) => {
                session.signal_stop(pid, sig, siginfo(pid).as_ref(), out)
            }
            WaitStatus::EventStop(PTRACE_EVENT_EXIT) => {
                session.exit_event(pid, out);
                0
            }
            // Fork, vfork, clone and exec events: the new child reports itself; the exec's
            // syscall-exit stop follows.
            _ => 0,
        };
        restart(pid, deliver);
    }
}

user::entry!(run);
