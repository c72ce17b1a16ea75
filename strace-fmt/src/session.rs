//! strace's tracing state, driven by what `wait4(__WALL)` reports about each tracee, and the
//! lines it prints (strace.c's `printleader`, `print_exited`, `print_signalled`,
//! `print_stopped`, `print_event_exit`; syscall.c's entering/exiting trace).
//!
//! A call's line is written in two pieces: `name(args` at the syscall-enter stop (what is
//! known then), and the rest (`, out-args) = result`) at the exit stop. When another tracee
//! prints in between, the open line is closed with ` <unfinished ...>` and later resumed as
//! `<... name resumed>`. With more than one tracee every line starts with `[pid N] ` (or, with
//! `-o FILE -f`, `N `). The tracer program feeds the stops in and does the ptrace calls; this
//! module does no system calls, so host tests drive it with scripted stops.

use crate::decode::{self, Arg, Call, Phase};
use crate::mem::Memory;
use crate::out::Line;
use crate::table::{self, RetKind, Syscall};
use crate::xlat;

/// Where the lines go.
pub trait Output {
    fn write(&mut self, bytes: &[u8]);
}

/// How many tracees can be followed at once.
pub const MAX_TRACEES: usize = 64;

const NR_EXECVE: u64 = 221;
const NR_RESTART_SYSCALL: u64 = 128;

/// One tracee (strace's `struct tcb`).
#[derive(Clone, Copy, Default)]
struct Tracee {
    /// 0: a free slot.
    pid: i32,
    /// Between the syscall-enter and the syscall-exit stop.
    in_syscall: bool,
    /// The call being made (saved at entry: the exit stop only has its result).
    call: Call,
    /// The last call that returned (strace's `s_prev_ent`): what a restart_syscall resumes.
    prev_nr: Option<u64>,
    /// This call is not shown (the startup child before its execve).
    filtered: bool,
    /// The column its open line has reached (0: no open line).
    curcol: usize,
    /// The program's own child before it execs: strace's `TCB_HIDE_LOG`.
    hide_log: bool,
    /// The SIGSTOP every new tracee starts with is not the program's: swallow it.
    ignore_one_sigstop: bool,
    /// Not stopped yet since it appeared: its options are still to be set.
    startup: bool,
}

/// How the traced program ended, for strace's own exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildEnd {
    Exited(u8),
    Killed(u32),
}

pub struct Session {
    tracees: [Tracee; MAX_TRACEES],
    nprocs: usize,
    /// The tracee whose line was printed last and may still be open.
    printing: Option<usize>,
    /// `-o FILE -f`: every line starts with the pid (`%-5u `).
    pid_column: bool,
    /// The program strace started, and how it ended.
    child: i32,
    child_end: Option<ChildEnd>,
    line: Line,
}

impl Session {
    /// A session; `follow` is `-f`, `to_file` is `-o FILE`.
    pub fn new(follow: bool, to_file: bool) -> Self {
        Self {
            tracees: [Tracee::default(); MAX_TRACEES],
            nprocs: 0,
            printing: None,
            pid_column: follow && to_file,
            child: 0,
            child_end: None,
            line: Line::new(),
        }
    }

    fn find(&self, pid: i32) -> Option<usize> {
        (pid > 0)
            .then(|| self.tracees.iter().position(|t| t.pid == pid))
            .flatten()
    }

    fn alloc(&mut self, pid: i32) -> bool {
        let Some(slot) = self.tracees.iter().position(|t| t.pid == 0) else {
            return false;
        };
        self.tracees[slot] = Tracee {
            pid,
            ignore_one_sigstop: true,
            startup: true,
            ..Tracee::default()
        };
        self.nprocs += 1;
        true
    }

    /// The program strace forked: it stops itself with SIGSTOP (swallowed) and its lines stay
    /// hidden until its execve.
    pub fn start_child(&mut self, pid: i32) {
        if self.alloc(pid) {
            self.child = pid;
            if let Some(i) = self.find(pid) {
                self.tracees[i].hide_log = true;
            }
        }
    }

    /// A stop of a pid not traced yet: with `-f`, a new child (it starts with a SIGSTOP);
    /// false if it cannot be followed (the caller detaches it).
    pub fn attach_new(&mut self, pid: i32) -> bool {
        self.find(pid).is_some() || self.alloc(pid)
    }

    pub fn is_traced(&self, pid: i32) -> bool {
        self.find(pid).is_some()
    }

    /// Whether this is the tracee's first stop (its ptrace options are then set).
    pub fn take_startup(&mut self, pid: i32) -> bool {
        self.find(pid)
            .is_some_and(|i| core::mem::take(&mut self.tracees[i].startup))
    }

    /// Tracees still alive.
    pub fn nprocs(&self) -> usize {
        self.nprocs
    }

    /// How the started program ended, once it has.
    pub fn child_end(&self) -> Option<ChildEnd> {
        self.child_end
    }

    /// strace's `printleader`: closes another open line with ` <unfinished ...>`, then starts
    /// a line for tracee `i` in `self.line`, with its pid prefix.
    fn leader(&mut self, i: usize, out: &mut impl Output) {
        if let Some(p) = self.printing
            && self.tracees[p].curcol != 0
        {
            out.write(b" <unfinished ...>\n");
            self.tracees[p].curcol = 0;
        }
        self.printing = Some(i);
        self.line.reset(0);
        let pid = self.tracees[i].pid;
        if self.pid_column {
            let _ = core::fmt::Write::write_fmt(&mut self.line, format_args!("{pid:<5} "));
        } else if self.nprocs > 1 {
            let _ = core::fmt::Write::write_fmt(&mut self.line, format_args!("[pid {pid:>5}] "));
        }
    }

    /// Writes `self.line` as tracee `i`'s; a trailing newline ends its line.
    fn emit(&mut self, i: usize, out: &mut impl Output) {
        out.write(self.line.as_bytes());
        if self.line.as_bytes().last() == Some(&b'\n') {
            self.tracees[i].curcol = 0;
            self.printing = None;
        } else {
            self.tracees[i].curcol = self.line.column();
        }
    }

    /// A syscall stop (`SIGTRAP | 0x80`): `regs` are x8 (nr), x0-x5 and sp; at the exit stop
    /// x0 is the result.
    pub fn syscall_stop(
        &mut self,
        pid: i32,
        regs: &Call,
        mem: &mut impl Memory,
        out: &mut impl Output,
    ) {
        let Some(i) = self.find(pid) else {
            return;
        };
        if self.tracees[i].in_syscall {
            self.tracees[i].in_syscall = false;
            if !self.tracees[i].filtered {
                self.syscall_exit(i, regs.args[0] as i64, mem, out);
            }
        } else {
            self.tracees[i].in_syscall = true;
            self.tracees[i].call = *regs;
            let tracee = &mut self.tracees[i];
            if tracee.hide_log && regs.nr == NR_EXECVE {
                tracee.hide_log = false;
            }
            tracee.filtered = tracee.hide_log;
            if !tracee.filtered {
                self.syscall_enter(i, mem, out);
            }
        }
    }

    fn syscall_enter(&mut self, i: usize, mem: &mut impl Memory, out: &mut impl Output) {
        let call = self.tracees[i].call;
        self.leader(i, out);
        print_name(&mut self.line, call.nr);
        self.line.push_byte(b'(');
        if call.nr == NR_RESTART_SYSCALL {
            self.line.push_str("<... resuming interrupted ");
            match self.tracees[i].prev_nr {
                Some(nr) => print_name(&mut self.line, nr),
                None => self.line.push_str("system call"),
            }
            self.line.push_str(" ...>");
        }
        let args = args_of(call.nr);
        let mut printed = false;
        let mut present = args.iter().filter(|a| a.present(&call)).peekable();
        while let Some(arg) = present.next_if(|a| !a.at_exit()) {
            if printed {
                self.line.push_str(", ");
            }
            decode::print_arg(&mut self.line, mem, &call, &arg.kind, None, arg.reg);
            printed = true;
        }
        if printed && present.peek().is_some_and(|a| a.phase == Phase::Exit) {
            self.line.push_str(", ");
        }
        self.emit(i, out);
    }

    /// strace's `print_syscall_resume`: continues tracee `i`'s line, or starts a new one with
    /// `<... name resumed>` if something else was printed since its entry.
    fn resume(&mut self, i: usize, out: &mut impl Output) {
        if self.printing == Some(i) && self.tracees[i].curcol != 0 {
            self.line.reset(self.tracees[i].curcol);
        } else {
            self.leader(i, out);
            self.line.push_str("<... ");
            print_name(&mut self.line, self.tracees[i].call.nr);
            self.line.push_str(" resumed>");
        }
    }

    fn syscall_exit(&mut self, i: usize, ret: i64, mem: &mut impl Memory, out: &mut impl Output) {
        let call = self.tracees[i].call;
        if call.nr != NR_RESTART_SYSCALL {
            self.tracees[i].prev_nr = Some(call.nr);
        }
        self.resume(i, out);
        let args = args_of(call.nr);
        let entry_printed = args.iter().any(|a| !a.at_exit() && a.present(&call));
        let mut first_exit = true;
        let mut printed = entry_printed;
        for arg in args.iter().filter(|a| a.at_exit() && a.present(&call)) {
            let comma = match arg.phase {
                Phase::ExitOwnComma => printed,
                _ => !first_exit,
            };
            if comma {
                self.line.push_str(", ");
            }
            decode::print_arg(&mut self.line, mem, &call, &arg.kind, Some(ret), arg.reg);
            first_exit = false;
            printed = true;
        }
        self.line.push_str(") ");
        self.line.tab_to_result();
        self.line.push_str("= ");
        print_result(&mut self.line, mem, table::lookup(call.nr), &call, ret);
        self.line.push_byte(b'\n');
        self.emit(i, out);
    }

    /// `PTRACE_EVENT_EXIT`: a call that will never return (exit_group, or one cut short by a
    /// fatal signal) ends its line with `= ?`.
    pub fn exit_event(&mut self, pid: i32, out: &mut impl Output) {
        let Some(i) = self.find(pid) else {
            return;
        };
        if !self.tracees[i].in_syscall || self.tracees[i].filtered {
            return;
        }
        self.tracees[i].in_syscall = false;
        let nr = self.tracees[i].call.nr;
        self.resume(i, out);
        if table::lookup(nr).is_some_and(Syscall::has_exit_args) {
            self.line.push_str(" <unfinished ...>");
        }
        self.line.push_str(") ");
        self.line.tab_to_result();
        self.line.push_str("= ?\n");
        self.emit(i, out);
    }

    /// A signal-delivery-stop (`siginfo` from PTRACE_GETSIGINFO) or, without siginfo, a
    /// group-stop. Returns the signal to deliver when restarting the tracee.
    pub fn signal_stop(
        &mut self,
        pid: i32,
        sig: u32,
        siginfo: Option<&[u8; 128]>,
        out: &mut impl Output,
    ) -> u32 {
        let Some(i) = self.find(pid) else {
            return sig;
        };
        if sig == xlat::SIGSTOP && self.tracees[i].ignore_one_sigstop {
            self.tracees[i].ignore_one_sigstop = false;
            return 0;
        }
        if self.tracees[i].hide_log {
            return sig;
        }
        self.leader(i, out);
        match siginfo {
            Some(info) => {
                self.line.push_str("--- ");
                xlat::print_signal(&mut self.line, sig.into());
                self.line.push_byte(b' ');
                print_siginfo(&mut self.line, info);
                self.line.push_str(" ---\n");
            }
            None => {
                self.line.push_str("--- stopped by ");
                xlat::print_signal(&mut self.line, sig.into());
                self.line.push_str(" ---\n");
            }
        }
        self.emit(i, out);
        sig
    }

    /// The tracee exited with `code`.
    pub fn exited(&mut self, pid: i32, code: u8, out: &mut impl Output) {
        self.end(pid, ChildEnd::Exited(code), out);
    }

    /// The tracee was killed by `sig`.
    pub fn killed(&mut self, pid: i32, sig: u32, core_dumped: bool, out: &mut impl Output) {
        let Some(i) = self.find(pid) else {
            return;
        };
        self.leader(i, out);
        self.line.push_str("+++ killed by ");
        xlat::print_signal(&mut self.line, sig.into());
        self.line.push_str(if core_dumped {
            " (core dumped) +++\n"
        } else {
            " +++\n"
        });
        self.emit(i, out);
        self.drop_tracee(i, ChildEnd::Killed(sig));
    }

    fn end(&mut self, pid: i32, how: ChildEnd, out: &mut impl Output) {
        let Some(i) = self.find(pid) else {
            return;
        };
        if let ChildEnd::Exited(code) = how {
            self.leader(i, out);
            self.line.push_str("+++ exited with ");
            self.line.udec(code.into());
            self.line.push_str(" +++\n");
            self.emit(i, out);
        }
        self.drop_tracee(i, how);
    }

    fn drop_tracee(&mut self, i: usize, how: ChildEnd) {
        if self.tracees[i].pid == self.child {
            self.child_end = Some(how);
        }
        if self.printing == Some(i) {
            self.printing = None;
        }
        self.tracees[i] = Tracee::default();
        self.nprocs -= 1;
    }
}

fn args_of(nr: u64) -> &'static [Arg] {
    table::lookup(nr).map_or(table::RAW_ARGS, |s| s.args)
}

/// The call's name, or strace's `syscall_0x...` for one it does not know.
fn print_name(out: &mut Line, nr: u64) {
    match table::lookup(nr) {
        Some(call) => out.push_str(call.name),
        None => {
            out.push_str("syscall_");
            out.hex(nr);
        }
    }
}

/// The result after `= ` (syscall.c's `syscall_exiting_trace`).
fn print_result(
    out: &mut Line,
    mem: &mut impl Memory,
    call: Option<&Syscall>,
    regs: &Call,
    ret: i64,
) {
    let kind = call.map_or(RetKind::Dec, |c| c.ret);
    if kind == RetKind::NoReturn {
        out.push_byte(b'?');
        return;
    }
    if decode::is_error(ret) {
        let code = ret.unsigned_abs();
        let restart = match code {
            512 => Some("To be restarted if SA_RESTART is set"),
            513 => Some("To be restarted"),
            514 => Some("To be restarted if no handler"),
            516 => Some("Interrupted by signal"),
            _ => None,
        };
        match (restart, xlat::errno_name(code)) {
            (Some(text), Some(name)) => {
                out.push_str("? ");
                out.push_str(name);
                out.push_str(" (");
                out.push_str(text);
                out.push_byte(b')');
            }
            _ => {
                out.push_str("-1 ");
                xlat::print_errno(out, code);
            }
        }
        return;
    }
    match kind {
        RetKind::Hex => out.hex(ret as u64),
        RetKind::Octal => out.mode(ret as u64),
        RetKind::Poll => {
            out.dec(ret);
            decode::print_poll_result(out, mem, regs, ret);
        }
        RetKind::Select => {
            out.dec(ret);
            decode::print_select_result(out, mem, regs, ret);
        }
        RetKind::Fcntl => match regs.args[1] {
            xlat::F_GETFD => {
                out.hex(ret as u64);
                if ret != 0 {
                    out.push_str(" (flags ");
                    xlat::print_flags(out, xlat::FD_FLAGS, ret as u64);
                    out.push_byte(b')');
                }
            }
            xlat::F_GETFL => {
                out.hex(ret as u64);
                out.push_str(" (flags ");
                xlat::print_open_flags(out, ret as u64);
                out.push_byte(b')');
            }
            _ => out.dec(ret),
        },
        _ => out.dec(ret),
    }
}

/// strace's `printsiginfo` of a 64-bit `siginfo_t` (128 bytes: signo, errno, code, then the
/// union at offset 16).
pub fn print_siginfo(out: &mut Line, info: &[u8; 128]) {
    let i32_at =
        |at: usize| i32::from_le_bytes([info[at], info[at + 1], info[at + 2], info[at + 3]]);
    let u64_at = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&info[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let (signo, errno, code) = (i32_at(0), i32_at(4), i32_at(8));
    out.push_byte(b'{');
    if signo != 0 {
        out.push_str("si_signo=");
        xlat::print_signal(out, signo as u32 as u64);
        out.push_str(", si_code=");
        xlat::print_si_code(out, signo as u32, code);
        if errno != 0 {
            out.push_str(", si_errno=");
            match xlat::errno_name(errno as u32 as u64) {
                Some(name) => out.push_str(name),
                None => out.dec(errno.into()),
            }
        }
        let source = |out: &mut Line| {
            out.push_str(", si_pid=");
            out.dec(i32_at(16).into());
            out.push_str(", si_uid=");
            out.udec(u64::from(i32_at(20) as u32));
        };
        let sigval = |out: &mut Line| {
            out.push_str(", si_int=");
            out.dec(i32_at(24).into());
            out.push_str(", si_ptr=");
            out.addr(u64_at(24));
        };
        if code <= 0 {
            match code {
                0 | -6 => source(out),
                -2 => {
                    out.push_str(", si_timerid=");
                    out.hex(u64::from(i32_at(16) as u32));
                    out.push_str(", si_overrun=");
                    out.dec(i32_at(20).into());
                    sigval(out);
                }
                -5 => {
                    out.push_str(", si_band=");
                    out.dec(u64_at(16) as i64);
                    out.push_str(", si_fd=");
                    out.dec(i32_at(24).into());
                }
                _ => {
                    source(out);
                    if u64_at(24) != 0 {
                        sigval(out);
                    }
                }
            }
        } else {
            match signo as u32 {
                xlat::SIGCHLD => {
                    source(out);
                    out.push_str(", si_status=");
                    if code == 1 {
                        out.dec(i32_at(24).into());
                    } else {
                        xlat::print_signal(out, i32_at(24) as u32 as u64);
                    }
                    out.push_str(", si_utime=");
                    out.dec(u64_at(32) as i64);
                    out.push_str(", si_stime=");
                    out.dec(u64_at(40) as i64);
                }
                4 | 5 | 7 | 8 | 11 => {
                    out.push_str(", si_addr=");
                    out.addr(u64_at(16));
                }
                29 if (1..=3).contains(&code) => {
                    out.push_str(", si_band=");
                    out.dec(u64_at(16) as i64);
                    out.push_str(", si_fd=");
                    out.dec(i32_at(24).into());
                }
                31 => {
                    out.push_str(", si_call_addr=");
                    out.addr(u64_at(16));
                    out.push_str(", si_syscall=");
                    out.dec(i32_at(24).into());
                    out.push_str(", si_arch=");
                    out.hex(u64::from(i32_at(28) as u32));
                }
                _ => {
                    if i32_at(16) != 0 || i32_at(20) != 0 {
                        source(out);
                    }
                    if u64_at(24) != 0 {
                        sigval(out);
                    }
                }
            }
        }
    }
    out.push_byte(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::fake::FakeMemory;
    use std::string::String;
    use std::vec::Vec;

    #[derive(Default)]
    struct Transcript(Vec<u8>);

    impl Output for Transcript {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }

    impl Transcript {
        fn text(&self) -> String {
            String::from_utf8(self.0.clone()).unwrap()
        }
    }

    /// A finished call line: `= result` at column 40, as strace's `tabto()` puts it.
    fn r(call: &str, result: &str) -> String {
        format!("{call:<39} = {result}\n")
    }

    fn call(nr: u64, args: &[u64]) -> Call {
        let mut regs = Call {
            nr,
            ..Call::default()
        };
        regs.args[..args.len()].copy_from_slice(args);
        regs
    }

    fn ret(nr: u64, value: i64) -> Call {
        call(nr, &[value as u64])
    }

    /// Enter and exit one call.
    fn syscall(
        s: &mut Session,
        mem: &mut FakeMemory,
        out: &mut Transcript,
        pid: i32,
        nr: u64,
        args: &[u64],
        result: i64,
    ) {
        s.syscall_stop(pid, &call(nr, args), mem, out);
        s.syscall_stop(pid, &ret(nr, result), mem, out);
    }

    /// A program's memory: "/bin/hello" at 0x1000, argv at 0x2000, envp at 0x3000,
    /// "hello\n" at 0x4000, "/nope" at 0x5000.
    fn hello_memory() -> FakeMemory {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, b"/bin/hello\0hello\0HOME=/\0");
        let argv: Vec<u8> = [0x100bu64, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let envp: Vec<u8> = [0x1011u64, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        mem.map(0x2000, &argv).map(0x3000, &envp);
        mem.map(0x4000, b"hello\n").map(0x5000, b"/nope\0");
        mem
    }

    /// The start every traced program has: fork, the child's SIGSTOP, its execve.
    fn start(s: &mut Session, mem: &mut FakeMemory, out: &mut Transcript) {
        s.start_child(100);
        assert!(s.take_startup(100));
        assert!(!s.take_startup(100));
        assert_eq!(s.signal_stop(100, xlat::SIGSTOP, Some(&[0; 128]), out), 0);
        syscall(s, mem, out, 100, 221, &[0x1000, 0x2000, 0x3000], 0);
    }

    #[test]
    fn strace_hello() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        syscall(&mut s, &mut mem, &mut out, 100, 64, &[1, 0x4000, 6], 6);
        s.syscall_stop(100, &call(94, &[0]), &mut mem, &mut out);
        s.exit_event(100, &mut out);
        s.exited(100, 0, &mut out);
        assert_eq!(
            out.text(),
            "execve(\"/bin/hello\", [\"hello\"], 0x3000 /* 1 var */) = 0\n\
             write(1, \"hello\\n\", 6)                  = 6\n\
             exit_group(0)                           = ?\n\
             +++ exited with 0 +++\n"
        );
        assert_eq!(s.child_end(), Some(ChildEnd::Exited(0)));
        assert_eq!(s.nprocs(), 0);
    }

    #[test]
    fn calls_before_the_execve_are_hidden() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        s.start_child(100);
        s.signal_stop(100, xlat::SIGSTOP, Some(&[0; 128]), &mut out);
        syscall(&mut s, &mut mem, &mut out, 100, 172, &[], 100);
        // A signal before the execve is not shown either, but still delivered.
        assert_eq!(s.signal_stop(100, 10, Some(&[0; 128]), &mut out), 10);
        assert_eq!(out.text(), "");
        syscall(
            &mut s,
            &mut mem,
            &mut out,
            100,
            221,
            &[0x1000, 0x2000, 0x3000],
            -2,
        );
        assert_eq!(
            out.text(),
            "execve(\"/bin/hello\", [\"hello\"], 0x3000 /* 1 var */) = -1 ENOENT (No such file or directory)\n"
        );
    }

    #[test]
    fn errors_signals_and_deaths() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        syscall(
            &mut s,
            &mut mem,
            &mut out,
            100,
            56,
            &[-100i64 as u64, 0x5000, 0],
            -2,
        );
        syscall(
            &mut s,
            &mut mem,
            &mut out,
            100,
            56,
            &[-100i64 as u64, 0x5000, 0o1101, 0o644],
            3,
        );
        syscall(&mut s, &mut mem, &mut out, 100, 214, &[0], 0x41_2000);
        syscall(
            &mut s,
            &mut mem,
            &mut out,
            100,
            222,
            &[0, 4096, 3, 0x22, -1i64 as u64, 0],
            0xffff_8000_0000,
        );
        syscall(&mut s, &mut mem, &mut out, 100, 133, &[0, 8], -514);
        let mut segv = [0u8; 128];
        segv[0] = 11;
        segv[8] = 1;
        assert_eq!(s.signal_stop(100, 11, Some(&segv), &mut out), 11);
        s.killed(100, 11, false, &mut out);
        let want = [
            r(
                "openat(AT_FDCWD, \"/nope\", O_RDONLY)",
                "-1 ENOENT (No such file or directory)",
            ),
            r(
                "openat(AT_FDCWD, \"/nope\", O_WRONLY|O_CREAT|O_TRUNC, 0644)",
                "3",
            ),
            r("brk(NULL)", "0x412000"),
            r(
                "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
                "0xffff80000000",
            ),
            r(
                "rt_sigsuspend(NULL, 8)",
                "? ERESTARTNOHAND (To be restarted if no handler)",
            ),
            "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---\n".into(),
            "+++ killed by SIGSEGV +++\n".into(),
        ];
        assert_eq!(out.text(), want.concat());
        assert!(
            out.text()
                .starts_with("openat(AT_FDCWD, \"/nope\", O_RDONLY)     = -1 ENOENT")
        );
        assert_eq!(s.child_end(), Some(ChildEnd::Killed(11)));
    }

    #[test]
    fn a_group_stop_and_a_core_dump() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        assert_eq!(
            s.signal_stop(100, xlat::SIGSTOP, None, &mut out),
            xlat::SIGSTOP
        );
        s.killed(100, 6, true, &mut out);
        assert_eq!(
            out.text(),
            "--- stopped by SIGSTOP ---\n+++ killed by SIGABRT (core dumped) +++\n"
        );
    }

    #[test]
    fn follow_forks_with_pid_prefixes() {
        let (mut s, mut mem, mut out) = (
            Session::new(true, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        // The parent forks: its clone line stays open while the child runs.
        s.syscall_stop(100, &call(220, &[17, 0, 0, 0, 0]), &mut mem, &mut out);
        assert!(!s.is_traced(101));
        assert!(s.attach_new(101));
        assert!(s.take_startup(101));
        assert_eq!(
            s.signal_stop(101, xlat::SIGSTOP, Some(&[0; 128]), &mut out),
            0
        );
        syscall(&mut s, &mut mem, &mut out, 101, 172, &[], 101);
        s.syscall_stop(100, &ret(220, 101), &mut mem, &mut out);
        // The parent waits; the child exits meanwhile.
        s.syscall_stop(
            100,
            &call(260, &[-1i64 as u64, 0x6000, 0, 0]),
            &mut mem,
            &mut out,
        );
        s.syscall_stop(101, &call(94, &[3]), &mut mem, &mut out);
        s.exit_event(101, &mut out);
        s.exited(101, 3, &mut out);
        mem.map(0x6000, &(3u32 << 8).to_le_bytes());
        let mut chld = [0u8; 128];
        chld[0] = 17;
        chld[8] = 1;
        chld[16] = 101;
        chld[24] = 3;
        s.syscall_stop(100, &ret(260, 101), &mut mem, &mut out);
        s.signal_stop(100, 17, Some(&chld), &mut out);
        s.syscall_stop(100, &call(94, &[0]), &mut mem, &mut out);
        s.exit_event(100, &mut out);
        s.exited(100, 0, &mut out);
        let want = [
            "clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n".into(),
            r("[pid   101] getpid()", "101"),
            r("[pid   100] <... clone resumed>)", "101"),
            "[pid   100] wait4(-1,  <unfinished ...>\n".into(),
            r("[pid   101] exit_group(3)", "?"),
            "[pid   101] +++ exited with 3 +++\n".into(),
            r("<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL)", "101"),
            "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=101, si_uid=0, si_status=3, \
             si_utime=0, si_stime=0} ---\n"
                .into(),
            r("exit_group(0)", "?"),
            "+++ exited with 0 +++\n".into(),
        ];
        assert_eq!(out.text(), want.concat());
    }

    #[test]
    fn pid_column_with_an_output_file() {
        let (mut s, mut mem, mut out) = (
            Session::new(true, true),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        s.exited(100, 0, &mut out);
        assert_eq!(
            out.text(),
            "100   execve(\"/bin/hello\", [\"hello\"], 0x3000 /* 1 var */) = 0\n100   +++ exited with 0 +++\n"
        );
    }

    #[test]
    fn a_call_cut_short_by_death() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        s.syscall_stop(100, &call(63, &[0, 0x7000, 10]), &mut mem, &mut out);
        s.exit_event(100, &mut out);
        s.killed(100, 9, false, &mut out);
        assert_eq!(
            out.text(),
            r("read(0,  <unfinished ...>)", "?") + "+++ killed by SIGKILL +++\n"
        );
    }

    #[test]
    fn an_open_line_is_closed_before_the_exit_message() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        // No PTRACE_EVENT_EXIT stop (a kill while blocked): strace closes the line.
        s.syscall_stop(100, &call(101, &[0, 0]), &mut mem, &mut out);
        s.killed(100, 9, false, &mut out);
        assert_eq!(
            out.text(),
            "nanosleep(NULL,  <unfinished ...>\n+++ killed by SIGKILL +++\n"
        );
    }

    #[test]
    fn unknown_calls_and_tracees() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        let args = [1, 2, 3, 4, 5, 6];
        syscall(&mut s, &mut mem, &mut out, 100, 500, &args, -38);
        let args = [0x9000, 0x20, 0, 0xd428bc00];
        syscall(&mut s, &mut mem, &mut out, 100, 293, &args, -38);
        // Stops of pids not traced are ignored.
        syscall(&mut s, &mut mem, &mut out, 555, 64, &[1, 0x4000, 6], 6);
        s.exited(555, 0, &mut out);
        s.exit_event(555, &mut out);
        assert_eq!(s.signal_stop(555, 2, None, &mut out), 2);
        assert_eq!(
            out.text(),
            "syscall_0x1f4(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)\n\
             rseq(0x9000, 0x20, 0, 0xd428bc00)       = -1 ENOSYS (Function not implemented)\n"
        );
    }

    #[test]
    fn a_restarted_call_names_what_it_resumes() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        mem.map(0x6000, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        syscall(&mut s, &mut mem, &mut out, 100, 101, &[0x6000, 0], -516);
        assert_eq!(s.signal_stop(100, 19, None, &mut out), 19);
        syscall(&mut s, &mut mem, &mut out, 100, 128, &[], 0);
        let want = [
            r(
                "nanosleep({tv_sec=1, tv_nsec=0}, NULL)",
                "? ERESTART_RESTARTBLOCK (Interrupted by signal)",
            ),
            "--- stopped by SIGSTOP ---\n".into(),
            r(
                "restart_syscall(<... resuming interrupted nanosleep ...>)",
                "0",
            ),
        ];
        assert_eq!(out.text(), want.concat());
    }

    #[test]
    fn the_table_fills_up_without_panicking() {
        let mut s = Session::new(true, false);
        for pid in 1..=MAX_TRACEES as i32 {
            assert!(s.attach_new(pid));
        }
        assert!(!s.attach_new(1000));
        assert!(s.attach_new(1));
        assert_eq!(s.nprocs(), MAX_TRACEES);
    }

    #[test]
    fn lines_of_common_calls() {
        let (mut s, mut mem, mut out) = (
            Session::new(false, false),
            hello_memory(),
            Transcript::default(),
        );
        start(&mut s, &mut mem, &mut out);
        out.0.clear();
        let act: Vec<u8> = [0x40_0100u64, 0x0400_0004, 0x40_0200, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        mem.map(0x8000, &act)
            .map(0x8100, &[0; 32])
            .map(0x8200, &[5, 0, 0, 0, 6, 0, 0, 0]);
        mem.map(0x8300, &(1u64 << 16).to_le_bytes())
            .map(0x8400, b"/\0");
        let clone_flags = xlat::CLONE_CHILD_SETTID | xlat::CLONE_CHILD_CLEARTID | 17;
        /// A call (number, arguments, result) and its line (before and after `=`).
        type Case<'a> = (u64, &'a [u64], i64, (&'a str, &'a str));
        let lines: &[Case<'_>] = &[
            (
                220,
                &[clone_flags, 0, 0, 0, 0x9000],
                101,
                (
                    "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x9000)",
                    "101",
                ),
            ),
            (
                25,
                &[3, xlat::F_GETFD],
                1,
                ("fcntl(3, F_GETFD)", "0x1 (flags FD_CLOEXEC)"),
            ),
            (
                25,
                &[3, xlat::F_GETFL],
                2,
                ("fcntl(3, F_GETFL)", "0x2 (flags O_RDWR)"),
            ),
            (
                25,
                &[3, xlat::F_SETFD, 1],
                0,
                ("fcntl(3, F_SETFD, FD_CLOEXEC)", "0"),
            ),
            (
                63,
                &[0, 0x4000, 100],
                6,
                ("read(0, \"hello\\n\", 100)", "6"),
            ),
            (
                63,
                &[0, 0x4000, 100],
                -11,
                (
                    "read(0, 0x4000, 100)",
                    "-1 EAGAIN (Resource temporarily unavailable)",
                ),
            ),
            (
                59,
                &[0x8200, 0o2000000],
                0,
                ("pipe2([5, 6], O_CLOEXEC)", "0"),
            ),
            (
                134,
                &[2, 0x8000, 0x8100, 8],
                0,
                (
                    "rt_sigaction(SIGINT, {sa_handler=0x400100, sa_mask=[], sa_flags=SA_RESTORER|SA_SIGINFO, sa_restorer=0x400200}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8)",
                    "0",
                ),
            ),
            (
                135,
                &[0, 0x8300, 0x8100, 8],
                0,
                ("rt_sigprocmask(SIG_BLOCK, [CHLD], [], 8)", "0"),
            ),
            (
                29,
                &[0, 0x5401, 0x9000],
                -25,
                (
                    "ioctl(0, TCGETS, 0x9000)",
                    "-1 ENOTTY (Inappropriate ioctl for device)",
                ),
            ),
            (166, &[0o22], 0o22, ("umask(022)", "022")),
            (17, &[0x8400, 4096], 2, ("getcwd(\"/\", 4096)", "2")),
            (24, &[3, 1, 0], 1, ("dup3(3, 1, 0)", "1")),
            (
                62,
                &[3, -1i64 as u64, 1],
                -22,
                ("lseek(3, -1, SEEK_CUR)", "-1 EINVAL (Invalid argument)"),
            ),
            (129, &[101, 15], 0, ("kill(101, SIGTERM)", "0")),
            (
                98,
                &[0x9000, 0x81, 1],
                0,
                ("futex(0x9000, FUTEX_WAKE_PRIVATE, 1)", "0"),
            ),
            (
                98,
                &[0x9000, 0x80, 2, 0],
                0,
                ("futex(0x9000, FUTEX_WAIT_PRIVATE, 2, NULL)", "0"),
            ),
            (172, &[], 100, ("getpid()", "100")),
            (
                167,
                &[15, 0x4000],
                0,
                ("prctl(PR_SET_NAME, \"hello\\n\")", "0"),
            ),
            (
                167,
                &[16, 0x5000],
                0,
                ("prctl(PR_GET_NAME, \"/nope\")", "0"),
            ),
            (
                167,
                &[4, 1],
                0,
                ("prctl(PR_SET_DUMPABLE, 0x1, 0, 0, 0)", "0"),
            ),
            (
                56,
                &[-100i64 as u64, 0x5000, 0o2044000],
                3,
                (
                    "openat(AT_FDCWD, \"/nope\", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY)",
                    "3",
                ),
            ),
            (
                117,
                &[0x4204, 101, 1, 0x9000],
                0,
                ("ptrace(PTRACE_GETREGSET, 101, 0x1, 0x9000)", "0"),
            ),
        ];
        for &(nr, args, result, (call, want)) in lines {
            out.0.clear();
            syscall(&mut s, &mut mem, &mut out, 100, nr, args, result);
            assert_eq!(out.text(), r(call, want));
        }
    }

    fn siginfo_text(info: &[u8; 128]) -> String {
        let mut line = Line::new();
        print_siginfo(&mut line, info);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn siginfo_variants() {
        let mut info = [0u8; 128];
        assert_eq!(siginfo_text(&info), "{}");
        info[0] = 15; // SIGTERM from kill(): SI_USER
        info[16] = 7;
        assert_eq!(
            siginfo_text(&info),
            "{si_signo=SIGTERM, si_code=SI_USER, si_pid=7, si_uid=0}"
        );
        info[8..12].copy_from_slice(&(-6i32).to_le_bytes());
        assert_eq!(
            siginfo_text(&info),
            "{si_signo=SIGTERM, si_code=SI_TKILL, si_pid=7, si_uid=0}"
        );
        let mut kernel = [0u8; 128];
        kernel[0] = 2;
        kernel[8] = 0x80;
        assert_eq!(
            siginfo_text(&kernel),
            "{si_signo=SIGINT, si_code=SI_KERNEL}"
        );
        let mut trap = [0u8; 128];
        trap[0] = 5;
        trap[8] = 1;
        trap[16..24].copy_from_slice(&0x40_1000u64.to_le_bytes());
        assert_eq!(
            siginfo_text(&trap),
            "{si_signo=SIGTRAP, si_code=TRAP_BRKPT, si_addr=0x401000}"
        );
        let mut ill = [0u8; 128];
        ill[0] = 4;
        ill[4] = 2;
        ill[8] = 1;
        assert_eq!(
            siginfo_text(&ill),
            "{si_signo=SIGILL, si_code=ILL_ILLOPC, si_errno=ENOENT, si_addr=NULL}"
        );
        let mut killed = [0u8; 128];
        killed[0] = 17;
        killed[8] = 2;
        killed[24] = 9;
        assert!(
            siginfo_text(&killed)
                .contains("si_code=CLD_KILLED, si_pid=0, si_uid=0, si_status=SIGKILL")
        );
    }
}
