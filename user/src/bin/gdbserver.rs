//! `gdbserver DEV PROG [ARGS...]` and `gdbserver --attach DEV PID`: gdb's remote stub for one
//! process, talking the GDB Remote Serial Protocol (the `gdbstub` crate) over the character
//! device DEV (`/dev/hvc0`, the virtio console QEMU connects to a TCP port), and reaching the
//! process only through ptrace(2) with Linux's arm64 ABI, so it runs unchanged on Linux:
//!
//! - start: `fork`, `PTRACE_TRACEME` and `execve` in the child, which stops with SIGTRAP at the
//!   new program's first instruction; or `PTRACE_ATTACH` to a running process (SIGSTOP stop);
//! - registers: `PTRACE_GETREGSET`/`SETREGSET` of `NT_PRSTATUS` and `NT_PRFPREG`;
//! - memory: `PTRACE_PEEKDATA`/`POKEDATA`, a word at a time;
//! - software breakpoints: `brk #0` poked over the instruction; single step: `PTRACE_SINGLESTEP`;
//!   watchpoints: `NT_ARM_HW_WATCH`; continue, kill, detach: `PTRACE_CONT`, `PTRACE_KILL`,
//!   `PTRACE_DETACH`.
//!
//! While the process runs, gdbserver waits for it (`wait4` with `WNOHANG`) and for gdb's bytes
//! (`ppoll` on DEV) at once: a Ctrl-C from gdb (0x03) becomes SIGINT to the process, whose
//! stop gdb then sees. The layouts and decisions that need no kernel are in the `gdbtarget`
//! crate, unit-tested on the host.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::fmt::Write as _;

use gdbstub::common::Pid;
use gdbstub::common::Signal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
    WatchKind,
};
use gdbstub::target::ext::extended_mode::{
    Args, AttachKind, ExtendedMode, ExtendedModeOps, ShouldTerminate,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbtarget::arch::AArch64User;
use gdbtarget::breakpoints::{AARCH64_BREAKPOINT, SwBreakpoints};
use gdbtarget::mem::{merge, word_chunks};
use gdbtarget::regs::{
    AArch64Regs, NT_PRFPREG, NT_PRSTATUS, USER_FPSIMD_STATE_SIZE, USER_PT_REGS_SIZE,
};
use gdbtarget::wait::{self, SIGINFO_SIZE, SigInfo, Stop, WaitStatus};
use gdbtarget::watch::{NT_ARM_HW_WATCH, USER_HWDEBUG_STATE_SIZE, Watchpoints};
use user::sys;

// ptrace requests (include/uapi/linux/ptrace.h).
const PTRACE_TRACEME: usize = 0;
const PTRACE_PEEKDATA: usize = 2;
const PTRACE_POKEDATA: usize = 5;
const PTRACE_CONT: usize = 7;
const PTRACE_KILL: usize = 8;
const PTRACE_SINGLESTEP: usize = 9;
const PTRACE_ATTACH: usize = 16;
const PTRACE_DETACH: usize = 17;
const PTRACE_SETOPTIONS: usize = 0x4200;
const PTRACE_GETSIGINFO: usize = 0x4202;
const PTRACE_GETREGSET: usize = 0x4204;
const PTRACE_SETREGSET: usize = 0x4205;
/// The tracee is killed if gdbserver dies.
const PTRACE_O_EXITKILL: usize = 0x10_0000;

const SYS_PTRACE: usize = 117;
/// `wait4`'s `WNOHANG`, and `__WALL` (wait for the tracee whatever its exit signal).
const WNOHANG: usize = 1;
const WALL: usize = 0x4000_0000;
const POLLIN: i16 = 0x0001;
const EIO: u8 = 5;
/// How long one `ppoll` on DEV waits before `wait4` looks at the tracee again.
const POLL_INTERVAL_NS: u64 = 10_000_000;
/// The most breakpoints gdb may insert at once.
const MAX_BREAKPOINTS: usize = 64;
/// The largest packet: a `g` reply (1576 hex digits) and memory transfers with room to spare.
const PACKET_BUFFER_SIZE: usize = 4096;

/// `ptrace(request, pid, addr, data)`: the result or -errno.
fn ptrace(request: usize, pid: isize, addr: usize, data: usize) -> isize {
    // SAFETY: every caller passes, for requests that take one, a pointer to memory of the size
    // the request writes or reads.
    unsafe { sys::syscall6(SYS_PTRACE, [request, pid as usize, addr, data, 0, 0]) }
}

/// `struct iovec`, how `PTRACE_GETREGSET`/`SETREGSET` take a buffer.
#[repr(C)]
struct IoVec {
    base: *mut u8,
    len: usize,
}

/// `PTRACE_GETREGSET` of `note` into `buf`: the bytes the kernel filled.
fn get_regset(pid: isize, note: usize, buf: &mut [u8]) -> Result<usize, isize> {
    let mut iov = IoVec {
        base: buf.as_mut_ptr(),
        len: buf.len(),
    };
    let ret = ptrace(PTRACE_GETREGSET, pid, note, &raw mut iov as usize);
    if ret < 0 { Err(ret) } else { Ok(iov.len) }
}

/// `PTRACE_SETREGSET` of `note` from `buf`.
fn set_regset(pid: isize, note: usize, buf: &[u8]) -> Result<(), isize> {
    let mut iov = IoVec {
        base: buf.as_ptr() as *mut u8,
        len: buf.len(),
    };
    let ret = ptrace(PTRACE_SETREGSET, pid, note, &raw mut iov as usize);
    if ret < 0 { Err(ret) } else { Ok(()) }
}

/// How many bytes of output are gathered before they are written.
const OUTPUT_BUFFER_SIZE: usize = 1024;

/// The character device gdb's bytes come through.
struct Device {
    fd: usize,
    /// A byte `peek` read ahead.
    peeked: Option<u8>,
    /// Output not yet written: `gdbstub` hands over a packet a byte at a time and flushes at
    /// its end, and one write per packet is one virtio request instead of one per byte (and a
    /// host side that reads slowly does not see a virtio console drop bytes it could not take).
    out: [u8; OUTPUT_BUFFER_SIZE],
    out_len: usize,
}

impl Device {
    /// Waits up to `timeout_ns` for a byte to read: whether one is there.
    fn readable(&self, timeout_ns: u64) -> Result<bool, isize> {
        #[repr(C)]
        struct PollFd {
            fd: i32,
            events: i16,
            revents: i16,
        }
        let mut pollfd = PollFd {
            fd: self.fd as i32,
            events: POLLIN,
            revents: 0,
        };
        let timeout = [timeout_ns / 1_000_000_000, timeout_ns % 1_000_000_000];
        // SAFETY: one pollfd and a timespec, both valid; no signal mask.
        let ret = unsafe {
            sys::syscall6(
                sys::SYS_PPOLL,
                [
                    &raw mut pollfd as usize,
                    1,
                    timeout.as_ptr() as usize,
                    0,
                    8,
                    0,
                ],
            )
        };
        match ret {
            // EINTR: a signal (SIGCHLD) cut the wait short, which is no error.
            -4 => Ok(false),
            ret if ret < 0 => Err(ret),
            _ => Ok(pollfd.revents & POLLIN != 0),
        }
    }
}

impl Connection for Device {
    type Error = isize;

    fn write(&mut self, byte: u8) -> Result<(), isize> {
        if self.out_len == self.out.len() {
            self.flush()?;
        }
        self.out[self.out_len] = byte;
        self.out_len += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), isize> {
        let mut done = 0;
        while done < self.out_len {
            match sys::write(self.fd, &self.out[done..self.out_len]) {
                n if n > 0 => done += n as usize,
                -4 => {}
                n => return Err(n.min(-1)),
            }
        }
        self.out_len = 0;
        Ok(())
    }
}

impl ConnectionExt for Device {
    fn read(&mut self) -> Result<u8, isize> {
        if let Some(byte) = self.peeked.take() {
            return Ok(byte);
        }
        let mut byte = [0u8];
        loop {
            match sys::read(self.fd, &mut byte) {
                1 => return Ok(byte[0]),
                -4 => {}
                // End of file: the device has gone.
                0 => return Err(-isize::from(EIO)),
                n => return Err(n),
            }
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, isize> {
        if self.peeked.is_none() && self.readable(0)? {
            self.peeked = Some(self.read()?);
        }
        Ok(self.peeked)
    }
}

/// The traced process.
struct Tracee {
    pid: isize,
    /// Attached to (`--attach`) rather than started: gdb detaches rather than kills on quit.
    attached: bool,
    /// Killed and reaped (a kill must not wait twice).
    killed: bool,
    /// The last resume was `PTRACE_SINGLESTEP`.
    stepping: bool,
    breakpoints: SwBreakpoints<MAX_BREAKPOINTS>,
    /// `None` when the kernel has no `NT_ARM_HW_WATCH`.
    watchpoints: Option<Watchpoints>,
}

/// What went wrong with the tracee, fatally for the session: the -errno of a ptrace call.
type Fatal = isize;

impl Tracee {
    fn peek(&self, addr: u64) -> Result<u64, isize> {
        let mut word = 0u64;
        let ret = ptrace(
            PTRACE_PEEKDATA,
            self.pid,
            addr as usize,
            &raw mut word as usize,
        );
        if ret < 0 { Err(ret) } else { Ok(word) }
    }

    fn poke(&self, addr: u64, word: u64) -> Result<(), isize> {
        let ret = ptrace(PTRACE_POKEDATA, self.pid, addr as usize, word as usize);
        if ret < 0 { Err(ret) } else { Ok(()) }
    }

    /// Writes one 32-bit instruction; returns the one it replaced.
    fn swap_insn(&self, addr: u64, insn: u32) -> Result<u32, isize> {
        let word_addr = addr & !7;
        let offset = (addr - word_addr) as usize;
        let word = self.peek(word_addr)?;
        let old = (word >> (offset * 8)) as u32;
        self.poke(
            word_addr,
            merge(word, offset..offset + 4, &insn.to_le_bytes()),
        )?;
        Ok(old)
    }

    fn regsets(&self) -> Result<([u8; USER_PT_REGS_SIZE], [u8; USER_FPSIMD_STATE_SIZE]), isize> {
        let mut prstatus = [0u8; USER_PT_REGS_SIZE];
        let mut fpsimd = [0u8; USER_FPSIMD_STATE_SIZE];
        get_regset(self.pid, NT_PRSTATUS, &mut prstatus)?;
        get_regset(self.pid, NT_PRFPREG, &mut fpsimd)?;
        Ok((prstatus, fpsimd))
    }

    fn pc(&self) -> Result<u64, isize> {
        let mut prstatus = [0u8; USER_PT_REGS_SIZE];
        get_regset(self.pid, NT_PRSTATUS, &mut prstatus)?;
        let (regs, _) = prstatus.split_at(32 * 8 + 8);
        let mut pc = [0u8; 8];
        pc.copy_from_slice(&regs[32 * 8..]);
        Ok(u64::from_le_bytes(pc))
    }

    fn resume(&mut self, request: usize, signal: Option<Signal>) -> Result<(), Fatal> {
        let signal = match signal {
            Some(Signal(gdb)) => wait::linux_signal(gdb).unwrap_or(0),
            None => 0,
        };
        self.stepping = request == PTRACE_SINGLESTEP;
        let ret = ptrace(request, self.pid, 0, usize::from(signal));
        if ret < 0 { Err(ret) } else { Ok(()) }
    }

    /// What gdb is told about a `wait4` status of the tracee; `None` for one that is no stop.
    fn stop_reason(&mut self, status: u32) -> Result<Option<SingleThreadStopReason<u64>>, Fatal> {
        let stop = match WaitStatus::decode(status) {
            WaitStatus::Exited(code) => return Ok(Some(SingleThreadStopReason::Exited(code))),
            WaitStatus::Signaled(signal) => {
                return Ok(Some(SingleThreadStopReason::Terminated(Signal(
                    wait::gdb_signal(signal),
                ))));
            }
            WaitStatus::Continued => return Ok(None),
            WaitStatus::Stopped { signal, .. } => {
                let mut raw = [0u8; SIGINFO_SIZE];
                let info = if ptrace(PTRACE_GETSIGINFO, self.pid, 0, raw.as_mut_ptr() as usize) < 0
                {
                    SigInfo {
                        signo: i32::from(signal),
                        code: 0,
                        addr: 0,
                    }
                } else {
                    SigInfo::from_bytes(&raw)
                };
                let at_breakpoint = self.breakpoints.contains(self.pc()?);
                wait::classify(signal, &info, self.stepping, at_breakpoint)
            }
        };
        self.stepping = false;
        Ok(Some(match stop {
            Stop::DoneStep => SingleThreadStopReason::DoneStep,
            Stop::SwBreak => SingleThreadStopReason::SwBreak(()),
            Stop::Watch(addr) => {
                let kind = self
                    .watchpoints
                    .as_ref()
                    .and_then(|w| w.hit(addr))
                    .map_or(WatchKind::Write, |(_, kind)| kind);
                SingleThreadStopReason::Watch {
                    tid: (),
                    kind,
                    addr,
                }
            }
            Stop::Signal(signal) => {
                SingleThreadStopReason::Signal(Signal(wait::gdb_signal(signal)))
            }
        }))
    }

    /// `PTRACE_KILL`, and the exit reaped; once.
    fn kill(&mut self) {
        if !self.killed {
            self.killed = true;
            ptrace(PTRACE_KILL, self.pid, 0, 0);
            sys::wait4(self.pid, WALL);
        }
    }

    /// Puts back every instruction we replaced and clears every watchpoint, so a detached
    /// process runs as if never debugged.
    fn remove_all(&mut self) {
        let inserted: [Option<(u64, u32)>; MAX_BREAKPOINTS] = {
            let mut all = [None; MAX_BREAKPOINTS];
            for (slot, bp) in all.iter_mut().zip(self.breakpoints.iter()) {
                *slot = Some(bp);
            }
            all
        };
        for (addr, original) in inserted.into_iter().flatten() {
            let _ = self.swap_insn(addr, original);
            self.breakpoints.remove(addr);
        }
        if let Some(watch) = &self.watchpoints {
            let (_, len) = watch.encode();
            let _ = set_regset(
                self.pid,
                NT_ARM_HW_WATCH,
                &[0u8; USER_HWDEBUG_STATE_SIZE][..len],
            );
        }
    }
}

fn nonfatal<T>(result: Result<T, isize>) -> TargetResult<T, Tracee> {
    result.map_err(|_| TargetError::Errno(EIO))
}

impl Target for Tracee {
    type Arch = AArch64User;
    type Error = Fatal;

    fn base_ops(&mut self) -> BaseOps<'_, AArch64User, Fatal> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_extended_mode(&mut self) -> Option<ExtendedModeOps<'_, Self>> {
        Some(self)
    }
}

/// The parts of extended mode a one-process gdbserver has (Linux's gdbserver without
/// `--multi`): gdb's `kill` gets its `OK`, and gdb learns whether quitting should detach or
/// kill. Starting or attaching to further processes is refused.
impl ExtendedMode for Tracee {
    fn run(&mut self, _filename: Option<&[u8]>, _args: Args<'_, '_>) -> TargetResult<Pid, Self> {
        Err(TargetError::NonFatal)
    }

    fn attach(&mut self, _pid: Pid) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }

    fn query_if_attached(&mut self, _pid: Pid) -> TargetResult<AttachKind, Self> {
        Ok(if self.attached {
            AttachKind::Attach
        } else {
            AttachKind::Run
        })
    }

    fn kill(&mut self, _pid: Option<Pid>) -> TargetResult<ShouldTerminate, Self> {
        Tracee::kill(self);
        Ok(ShouldTerminate::Yes)
    }

    /// `R`: gdb sends it only to a stub started with `--multi` (to rerun the program), which
    /// this one is not; an unexpected one leaves the process as it is.
    fn restart(&mut self) -> Result<(), Fatal> {
        Ok(())
    }
}

impl SingleThreadBase for Tracee {
    fn read_registers(&mut self, regs: &mut AArch64Regs) -> TargetResult<(), Self> {
        let (prstatus, fpsimd) = nonfatal(self.regsets())?;
        *regs = AArch64Regs::from_regsets(&prstatus, &fpsimd);
        Ok(())
    }

    fn write_registers(&mut self, regs: &AArch64Regs) -> TargetResult<(), Self> {
        let (mut prstatus, mut fpsimd) = nonfatal(self.regsets())?;
        regs.to_regsets(&mut prstatus, &mut fpsimd);
        nonfatal(set_regset(self.pid, NT_PRSTATUS, &prstatus))?;
        nonfatal(set_regset(self.pid, NT_PRFPREG, &fpsimd))
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        let mut done = 0;
        for chunk in word_chunks(start, data.len()) {
            match self.peek(chunk.word_addr) {
                Ok(word) => {
                    data[chunk.in_data.clone()]
                        .copy_from_slice(&word.to_le_bytes()[chunk.in_word.clone()]);
                    done = chunk.in_data.end;
                }
                // What could be read, or EIO for none (an unmapped address).
                Err(_) if done > 0 => break,
                Err(_) => return Err(TargetError::Errno(EIO)),
            }
        }
        self.breakpoints.unpatch(start, &mut data[..done]);
        Ok(done)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8]) -> TargetResult<(), Self> {
        for chunk in word_chunks(start, data.len()) {
            let bytes = &data[chunk.in_data.clone()];
            let word = if chunk.is_whole() {
                merge(0, 0..8, bytes)
            } else {
                merge(
                    nonfatal(self.peek(chunk.word_addr))?,
                    chunk.in_word.clone(),
                    bytes,
                )
            };
            nonfatal(self.poke(chunk.word_addr, word))?;
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Tracee {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Fatal> {
        Tracee::resume(self, PTRACE_CONT, signal)
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Tracee {
    fn step(&mut self, signal: Option<Signal>) -> Result<(), Fatal> {
        Tracee::resume(self, PTRACE_SINGLESTEP, signal)
    }
}

impl Breakpoints for Tracee {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        if self.watchpoints.is_some() {
            Some(self)
        } else {
            None
        }
    }
}

impl SwBreakpoint for Tracee {
    fn add_sw_breakpoint(&mut self, addr: u64, kind: usize) -> TargetResult<bool, Self> {
        if self.breakpoints.check(addr, kind).is_err() {
            return Ok(false);
        }
        if self.breakpoints.contains(addr) {
            return Ok(true);
        }
        let original = nonfatal(self.swap_insn(addr, AARCH64_BREAKPOINT))?;
        Ok(self.breakpoints.insert(addr, original).is_ok())
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        match self.breakpoints.remove(addr) {
            Some(original) => nonfatal(self.swap_insn(addr, original)).map(|_| true),
            None => Ok(false),
        }
    }
}

impl HwWatchpoint for Tracee {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let Some(watch) = self.watchpoints.as_mut() else {
            return Ok(false);
        };
        if watch.add(addr, len, kind).is_err() {
            return Ok(false);
        }
        let (state, size) = watch.encode();
        if set_regset(self.pid, NT_ARM_HW_WATCH, &state[..size]).is_err() {
            watch.remove(addr, len, kind);
            return Ok(false);
        }
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let Some(watch) = self.watchpoints.as_mut() else {
            return Ok(false);
        };
        if !watch.remove(addr, len, kind) {
            return Ok(false);
        }
        let (state, size) = watch.encode();
        nonfatal(set_regset(self.pid, NT_ARM_HW_WATCH, &state[..size])).map(|()| true)
    }
}

/// Waits for the tracee and for gdb's bytes at once.
enum EventLoop {}

impl BlockingEventLoop for EventLoop {
    type Target = Tracee;
    type Connection = Device;
    type StopReason = SingleThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut Tracee,
        conn: &mut Device,
    ) -> Result<Event<Self::StopReason>, WaitForStopReasonError<Fatal, isize>> {
        // The `+` acknowledging the resume, in case it is still buffered.
        conn.flush().map_err(WaitForStopReasonError::Connection)?;
        loop {
            let (pid, status) = sys::wait4(target.pid, WNOHANG | WALL);
            if pid < 0 {
                return Err(WaitForStopReasonError::Target(pid));
            }
            if pid == target.pid
                && let Some(stop) = target
                    .stop_reason(status)
                    .map_err(WaitForStopReasonError::Target)?
            {
                return Ok(Event::TargetStopped(stop));
            }
            if conn.peeked.is_some()
                || conn
                    .readable(POLL_INTERVAL_NS)
                    .map_err(WaitForStopReasonError::Connection)?
            {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(Event::IncomingData(byte));
            }
        }
    }

    /// gdb's Ctrl-C: SIGINT to the process (as Linux's gdbserver sends it); its
    /// signal-delivery stop is the stop gdb then gets.
    fn on_interrupt(target: &mut Tracee) -> Result<Option<Self::StopReason>, Fatal> {
        sys::kill(target.pid, usize::from(wait::SIGINT));
        Ok(None)
    }
}

/// Standard output for `write!`.
struct Stdout;

impl core::fmt::Write for Stdout {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        user::print(s.as_bytes());
        Ok(())
    }
}

/// Prints `text` then `n` and a newline.
fn say(text: &[u8], n: isize) {
    user::print(text);
    user::print_ret(n);
    user::print(b"\n");
}

/// A NUL-terminated copy of an argument.
fn c_string<'a>(arg: &[u8], buf: &'a mut [u8; 256]) -> Option<&'a core::ffi::CStr> {
    let bytes = buf.get_mut(..arg.len() + 1)?;
    bytes[..arg.len()].copy_from_slice(arg);
    bytes[arg.len()] = 0;
    core::ffi::CStr::from_bytes_with_nul(bytes).ok()
}

/// Starts `args[first..]` as a traced child stopped at its first instruction: its pid.
fn launch(args: &user::Args, first: usize) -> Result<isize, &'static [u8]> {
    const MAX_ARGS: usize = 32;
    let mut path = [0u8; 256];
    let prog = args.get(first).ok_or(&b"no program"[..])?;
    let path = c_string(prog, &mut path).ok_or(&b"program path too long"[..])?;
    // The arguments are the C strings on our own initial stack.
    let mut argv = [core::ptr::null::<u8>(); MAX_ARGS + 1];
    for (slot, i) in argv.iter_mut().zip(first..args.len().min(first + MAX_ARGS)) {
        *slot = args.get(i).map_or(core::ptr::null(), <[u8]>::as_ptr);
    }
    let envp = [core::ptr::null::<u8>()];
    let pid = sys::fork();
    if pid == 0 {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        // SAFETY: argv holds C strings and ends in null, envp is empty.
        let err = unsafe { sys::execve(path, &argv, &envp) };
        say(b"gdbserver: execve failed: ", err);
        sys::exit_group(127);
    }
    if pid < 0 {
        return Err(b"fork failed");
    }
    match WaitStatus::decode(sys::wait4(pid, WALL).1) {
        WaitStatus::Stopped {
            signal: wait::SIGTRAP,
            ..
        } => Ok(pid),
        _ => Err(b"the program did not start"),
    }
}

/// Attaches to `pid` and waits for its SIGSTOP stop.
fn attach(pid: isize) -> Result<isize, &'static [u8]> {
    if ptrace(PTRACE_ATTACH, pid, 0, 0) < 0 {
        return Err(b"cannot attach");
    }
    loop {
        let (ret, status) = sys::wait4(pid, WALL);
        if ret < 0 {
            return Err(b"the process went away");
        }
        match WaitStatus::decode(status) {
            WaitStatus::Stopped {
                signal: wait::SIGSTOP,
                ..
            } => return Ok(pid),
            // An execve right after the attach: the SIGTRAP a traced exec raises is ptrace's
            // own, not one to deliver. The SIGSTOP follows.
            WaitStatus::Stopped {
                signal: wait::SIGTRAP,
                ..
            } => {
                ptrace(PTRACE_CONT, pid, 0, 0);
            }
            // Another signal came first: it is delivered, and the SIGSTOP follows.
            WaitStatus::Stopped { signal, .. } => {
                ptrace(PTRACE_CONT, pid, 0, usize::from(signal));
            }
            _ => return Err(b"the process exited"),
        }
    }
}

fn usage() -> i32 {
    user::print(b"usage: gdbserver DEV PROG [ARGS...]\n       gdbserver --attach DEV PID\n");
    2
}

fn run(args: user::Args) -> i32 {
    let attaching = args.get(1) == Some(b"--attach");
    let dev_index = if attaching { 2 } else { 1 };
    let Some(dev) = args.get(dev_index) else {
        return usage();
    };
    let mut dev_path = [0u8; 256];
    let Some(dev_path) = c_string(dev, &mut dev_path) else {
        return usage();
    };
    let fd = sys::open(dev_path, sys::O_RDWR | sys::O_CLOEXEC, 0);
    if fd < 0 {
        say(b"gdbserver: cannot open the device: ", fd);
        return 1;
    }
    let started = if attaching {
        match args.get(3).and_then(user::parse_u64) {
            Some(pid) => attach(pid as isize),
            None => return usage(),
        }
    } else {
        launch(&args, 2)
    };
    let pid = match started {
        Ok(pid) => pid,
        Err(why) => {
            user::print(b"gdbserver: ");
            user::print(why);
            user::print(b"\n");
            return 1;
        }
    };
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL);
    say(
        if attaching {
            b"Attached; pid = "
        } else {
            b"Process created; pid = "
        },
        pid,
    );
    user::print(b"Remote debugging using ");
    user::print(dev);
    user::print(b"\n");

    let mut info = [0u8; 8];
    let watchpoints = get_regset(pid, NT_ARM_HW_WATCH, &mut info)
        .ok()
        .map(|_| Watchpoints::new(u32::from_le_bytes([info[0], info[1], info[2], info[3]])));
    let mut tracee = Tracee {
        pid,
        attached: attaching,
        killed: false,
        stepping: false,
        breakpoints: SwBreakpoints::new(),
        watchpoints,
    };
    let mut packets = [0u8; PACKET_BUFFER_SIZE];
    let conn = Device {
        fd: fd as usize,
        peeked: None,
        out: [0; OUTPUT_BUFFER_SIZE],
        out_len: 0,
    };
    let gdb = match GdbStub::builder(conn)
        .with_packet_buffer(&mut packets)
        .build()
    {
        Ok(gdb) => gdb,
        Err(_) => return 1,
    };
    match gdb.run_blocking::<EventLoop>(&mut tracee) {
        Ok(DisconnectReason::TargetExited(code)) => {
            say(b"Child exited with status ", isize::from(code));
            0
        }
        Ok(DisconnectReason::TargetTerminated(Signal(signal))) => {
            say(b"Child terminated with signal = ", isize::from(signal));
            0
        }
        Ok(DisconnectReason::Disconnect) => {
            tracee.remove_all();
            ptrace(PTRACE_DETACH, pid, 0, 0);
            say(b"Detached; pid = ", pid);
            0
        }
        Ok(DisconnectReason::Kill) => {
            tracee.kill();
            say(b"Killed; pid = ", pid);
            0
        }
        Err(error) => {
            let _ = writeln!(Stdout, "gdbserver: the session failed: {error}");
            if attaching {
                tracee.remove_all();
                ptrace(PTRACE_DETACH, pid, 0, 0);
            } else {
                tracee.kill();
            }
            1
        }
    }
}

user::entry!(run);
