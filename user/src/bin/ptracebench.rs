//! `ptracebench syscall N` and `ptracebench step N`: the loops the ptrace benchmarks count
//! (kernel/src/bench/ptrace.rs), each checking it did what it claims and exiting 1 otherwise.
//!
//! - `syscall N`: a traced child makes N `getppid` calls; the tracer resumes it with
//!   `PTRACE_SYSCALL` at every stop and waits for the next (`TRACESYSGOOD`), so each call is
//!   one syscall-enter and one syscall-exit round trip. It checks the number of stops (2N + 1
//!   with exit_group's entry), that the last was exit_group's, and that the child exited 0.
//! - `step N`: the tracer single-steps a child spinning in a loop N times
//!   (`PTRACE_SINGLESTEP` + `wait4`, each a SIGTRAP stop), then kills it. It checks every stop
//!   was SIGTRAP, that a step moves the pc, and that PTRACE_KILL ended the child.
//!
//! `N = 0` runs the same set-up and teardown with no round trip: the baseline.
//!
//! `ptracebench time PROG ARGS...` runs PROG and prints the CLOCK_MONOTONIC nanoseconds it
//! took: how these loops are measured on the Linux anchor, where under `-icount shift=0` a
//! nanosecond is an instruction.
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys::{self, ptrace};

const PTRACE_TRACEME: usize = 0;
const PTRACE_KILL: usize = 8;
const PTRACE_SINGLESTEP: usize = 9;
const PTRACE_SYSCALL: usize = 24;
const PTRACE_SETOPTIONS: usize = 0x4200;
const PTRACE_GETREGSET: usize = 0x4204;
const PTRACE_O_TRACESYSGOOD: usize = 1;
const PTRACE_O_EXITKILL: usize = 0x10_0000;
const NT_PRSTATUS: usize = 1;
const SIGTRAP: u32 = 5;
const SIGSTOP: usize = 19;
const NR_EXIT_GROUP: u64 = 94;
const __WALL: usize = 0x4000_0000;

/// The child's side: stop for the tracer, then run `body`.
fn traced_child(body: impl FnOnce()) -> ! {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    sys::kill(sys::getpid(), SIGSTOP);
    body();
    sys::exit_group(0)
}

/// `wait4` for the child, going on after EINTR.
fn wait(pid: isize) -> u32 {
    loop {
        let (r, status) = sys::wait4(pid, __WALL);
        if r == pid {
            return status;
        }
        if r != -4 {
            return u32::MAX;
        }
    }
}

/// x8 and pc of the stopped child (`struct user_pt_regs`: x0-x30, sp, pc, pstate).
fn regs(pid: isize) -> Option<(u64, u64)> {
    let mut regs = [0u64; 34];
    let iov = [regs.as_mut_ptr() as usize, core::mem::size_of_val(&regs)];
    (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, iov.as_ptr() as usize) == 0)
        .then(|| (regs[8], regs[32]))
}

fn stopped(sig: u32) -> u32 {
    (sig << 8) | 0x7f
}

/// `syscall N`: true when all N getppid calls gave their two stops and the child exited 0.
fn syscall_stops(n: u64) -> bool {
    let pid = sys::fork();
    if pid == 0 {
        traced_child(|| {
            for _ in 0..n {
                sys::getppid();
            }
        });
    }
    if wait(pid) != stopped(SIGSTOP as u32) {
        return false;
    }
    ptrace(
        PTRACE_SETOPTIONS,
        pid,
        0,
        PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL,
    );
    // After the SIGSTOP stop (in `kill`), the child makes N getppid calls, then exit_group:
    // 2N + 1 stops. The registers are read at the last one only (exit_group's entry, x8 94),
    // in the baseline too, so the count holds the round trips alone.
    let mut stops = 0;
    let mut last_nr = 0;
    loop {
        ptrace(PTRACE_SYSCALL, pid, 0, 0);
        let status = wait(pid);
        if status == 0 {
            return stops == 2 * n + 1 && last_nr == NR_EXIT_GROUP;
        }
        if status != stopped(SIGTRAP | 0x80) {
            return false;
        }
        stops += 1;
        if stops == 2 * n + 1 {
            last_nr = regs(pid).map_or(0, |(x8, _)| x8);
        }
    }
}

/// `step N`: true when each of N single steps stopped with SIGTRAP and moved the pc.
fn single_steps(n: u64) -> bool {
    let pid = sys::fork();
    if pid == 0 {
        traced_child(|| {
            let mut x = 0u64;
            loop {
                // SAFETY: a register increment the compiler must keep.
                unsafe { core::arch::asm!("add {0}, {0}, #1", inout(reg) x) };
            }
        });
    }
    if wait(pid) != stopped(SIGSTOP as u32) {
        return false;
    }
    let mut ok = true;
    let mut pcs = [0u64; 2];
    for i in 0..n {
        ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
        if wait(pid) != stopped(SIGTRAP) {
            ok = false;
            break;
        }
        // The first two steps' pcs must differ (the step ran one instruction); the register
        // reads are few enough not to matter in the count.
        if let Some(pc) = pcs.get_mut(i as usize) {
            *pc = regs(pid).map_or(0, |(_, pc)| pc);
        }
    }
    if n >= 2 {
        ok &= pcs[0] != 0 && pcs[1] != 0 && pcs[0] != pcs[1];
    }
    ptrace(PTRACE_KILL, pid, 0, 0);
    let status = wait(pid);
    ok && status == 9
}

/// `time PROG ARGS...`: runs argv[2..] and prints `ns: N status: S`.
fn time(args: user::Args) -> i32 {
    let start = sys::monotonic_ns();
    let pid = sys::fork();
    if pid == 0 {
        // SAFETY: argv[2..] is a NULL-terminated array of C strings (the initial stack's), and
        // so is envp.
        unsafe {
            let argv = args.argv().add(2);
            sys::syscall6(
                sys::SYS_EXECVE,
                [*argv as usize, argv as usize, args.envp() as usize, 0, 0, 0],
            );
        }
        sys::exit_group(127);
    }
    let status = wait(pid);
    let ns = sys::monotonic_ns() - start;
    user::print(b"ns: ");
    user::print_u64(ns);
    user::print(b" status: ");
    user::print_u64(u64::from(status));
    user::print(b"\n");
    0
}

fn run(args: user::Args) -> i32 {
    if args.get(1) == Some(b"time") && args.len() > 2 {
        return time(args);
    }
    let n = args.get(2).and_then(user::parse_u64);
    let ok = match (args.get(1), n) {
        (Some(b"syscall"), Some(n)) => syscall_stops(n),
        (Some(b"step"), Some(n)) => single_steps(n),
        _ => {
            user::print(b"usage: ptracebench syscall|step N\n");
            return 2;
        }
    };
    if !ok {
        user::print(b"ptracebench: a stop was not what it should be\n");
        return 1;
    }
    0
}

user::entry!(run);
