//! One system call argument of each kind, printed as strace's decoders print it, reading the
//! tracee's memory through [`Memory`] where the argument points at something. Structs strace
//! expands but nobody here needs (statx, rusage, rlimit, poll and select sets) print as their
//! address, which strace's own "structs may be abbreviated" style allows.

use crate::mem::{self, Memory};
use crate::out::Line;
use crate::quote::{self, MAX_PATHLEN, MAX_STRLEN};
use crate::xlat::{self, Xlat};

/// The registers of a syscall stop that decoding needs: number (x8), arguments (x0-x5), the
/// stack pointer (rt_sigreturn's frame is there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Call {
    pub nr: u64,
    pub args: [u64; 6],
    pub sp: u64,
}

/// How one argument prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `int` in decimal (fds, pids, counts, ids).
    Int,
    /// `long` in decimal (offsets).
    Long,
    /// `unsigned long` in decimal (sizes).
    Ulong,
    /// Raw hex (`%#lx`).
    Hex,
    /// An address: `NULL` or hex.
    Ptr,
    /// A directory fd: `AT_FDCWD` or the number.
    Dirfd,
    /// A path (not limited by `-s`).
    Path,
    /// A NUL-terminated string (`-s 32`).
    Str,
    /// A buffer written by the tracee: its length is the argument in that register.
    InBuf(u8),
    /// A buffer the call fills: as many bytes as it returned.
    OutBuf,
    /// A path the call fills (getcwd).
    OutPath,
    /// A NUL-terminated string the call fills (prctl's PR_GET_NAME).
    OutStr,
    /// Random bytes the call fills, in hex (getrandom).
    OutHexBuf,
    /// A pointer to a `struct rlimit`: `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}`.
    Rlimit,
    /// A CPU mask the call fills (sched_getaffinity): `[0 1]`.
    CpuSet,
    /// A `struct rusage` the call fills: its two times, abbreviated.
    Rusage,
    /// A `struct tms` the call fills, in clock ticks (USER_HZ 100).
    Tms,
    /// A `struct sysinfo` the call fills, every field.
    Sysinfo,
    OpenFlags,
    /// Flags of a table, and the hint for unknown bits.
    Flags(Xlat, &'static str),
    /// A value of a table.
    Xval(Xlat, &'static str),
    /// A file mode (`0644`).
    Mode,
    Prot,
    MmapFlags,
    Signal,
    /// A pointer to a sigset whose size is in that register: printed if it is the kernel's
    /// 8 bytes, else as its address (strace's `print_sigset_addr_len`).
    Sigset(u8),
    /// A pointer to a `struct sigaction`.
    SigAction,
    /// A pointer to a `struct timespec`.
    Timespec,
    /// nanosleep's `rem`: the time left if the sleep was interrupted (an ERESTART* result),
    /// else only its address (the kernel did not write it).
    RemTimespec,
    /// A pointer to a `struct stat`.
    Stat,
    /// statx's flags: the sync type, then the AT_* flags.
    StatxFlags,
    /// A `struct statx` the call fills, abbreviated.
    Statx,
    /// A pointer to a `struct utsname`.
    Utsname,
    /// A pointer to an `int` the call fills: `[N]`.
    IntOut,
    /// pipe2's `int[2]`: `[3, 4]`.
    FdPair,
    /// An iovec array whose count is in that register; at exit it prints what was read.
    Iovec(u8),
    /// getdents64's buffer: its address and how many entries came back.
    Dirents,
    /// A wait status the call fills.
    WaitStatus,
    /// execve's argv.
    Argv,
    /// execve's envp: its address and how many variables.
    Envp,
    /// ppoll's `struct pollfd` array, its count in that register: `[{fd=0, events=POLLIN}]`.
    PollFds(u8),
    /// A select `fd_set` of as many fds as that register says: `[0 3]`.
    FdSet(u8),
    /// pselect6's sixth argument: `{sigmask=[], sigsetsize=8}`.
    PselectSigmask,
    /// An ioctl request.
    Ioctl,
    /// An ioctl's argument, by request: a winsize, an `int`, a struct's address, or hex.
    IoctlArg,
    /// fcntl's third argument, which depends on the command.
    FcntlArg,
    CloneFlags,
    FutexOp,
    /// futex's arguments after the operation, which depend on it (strace's `do_futex`).
    FutexRest,
    /// rt_sigreturn: the mask the frame on the stack restores.
    SigreturnMask,
    /// An argument printed as `name=value` (clone's).
    Named(&'static str, &'static Kind),
}

/// When an argument prints: at the syscall-enter stop, or at the exit stop (what the call
/// writes). `ExitOwnComma` is an exit argument whose `, ` is printed at exit as well (strace's
/// clone prints its optional arguments that way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Entry,
    Exit,
    ExitOwnComma,
}

/// Whether an argument is printed at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Always,
    /// Only if the argument in `reg` has one of `mask`'s bits.
    AnyBit {
        reg: u8,
        mask: u64,
    },
    /// fcntl's argument: only for commands that take one.
    FcntlTakesArg,
    /// futex's arguments past the third: only for operations that take at least `n` args.
    FutexArgs(u8),
    /// ioctl's argument: not for the requests that take none.
    IoctlTakesArg,
    /// Only if the argument in `reg` is `value` (prctl's options).
    Is {
        reg: u8,
        value: u64,
    },
    /// Only if the argument in `reg` is none of `values`.
    IsNot {
        reg: u8,
        values: &'static [u64],
    },
}

/// One argument: which register, how it prints, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    pub reg: u8,
    pub kind: Kind,
    pub phase: Phase,
    pub cond: Cond,
}

impl Arg {
    pub fn present(&self, call: &Call) -> bool {
        match self.cond {
            Cond::Always => true,
            Cond::AnyBit { reg, mask } => call.args[reg as usize] & mask != 0,
            Cond::FcntlTakesArg => fcntl_takes_arg(call.args[1]),
            Cond::FutexArgs(n) => futex_arity(call.args[1]) >= n,
            Cond::IoctlTakesArg => ioctl_takes_arg(call.args[1]),
            Cond::Is { reg, value } => call.args[reg as usize] == value,
            Cond::IsNot { reg, values } => !values.contains(&call.args[reg as usize]),
        }
    }

    pub fn at_exit(&self) -> bool {
        self.phase != Phase::Entry
    }
}

fn fcntl_takes_arg(cmd: u64) -> bool {
    !matches!(cmd, 1 | 3 | 9 | 11 | 1025 | 1032 | 1034)
}

/// How many arguments strace prints for a futex operation: 2 for UNLOCK_PI and TRYLOCK_PI,
/// else 3 (the rest printed together by [`Kind::FutexRest`]).
fn futex_arity(op: u64) -> u8 {
    match op & 127 {
        7 | 8 => 2,
        _ => 3,
    }
}

/// What the exit stop returned: the raw x0 (`None` at entry).
pub type Ret = Option<i64>;

/// Whether x0 is `-errno` (strace's `is_negated_errno`: -4095..-1).
pub fn is_error(ret: i64) -> bool {
    (-4095..0).contains(&ret)
}

/// Whether x0 is one of the kernel's restart codes (ERESTARTSYS, ERESTARTNOINTR,
/// ERESTARTNOHAND, ERESTART_RESTARTBLOCK): the call was interrupted by a signal.
pub fn is_erestart(ret: i64) -> bool {
    matches!(ret, -516 | -514 | -513 | -512)
}

fn succeeded(ret: Ret) -> Option<u64> {
    ret.filter(|r| !is_error(*r)).map(|r| r as u64)
}

/// Prints one argument's value.
pub fn print_arg(
    out: &mut Line,
    mem: &mut impl Memory,
    call: &Call,
    kind: &Kind,
    ret: Ret,
    reg: u8,
) {
    let value = call.args[reg as usize];
    match *kind {
        Kind::Int => out.dec(value as i32 as i64),
        Kind::Long => out.dec(value as i64),
        Kind::Ulong => out.udec(value),
        Kind::Hex => out.hex(value),
        Kind::Ptr => out.addr(value),
        Kind::Dirfd => {
            if value as i32 == xlat::AT_FDCWD {
                out.push_str("AT_FDCWD");
            } else {
                out.dec(value as i32 as i64);
            }
        }
        Kind::Path => print_cstring(out, mem, value, MAX_PATHLEN),
        Kind::Str => print_cstring(out, mem, value, MAX_STRLEN),
        Kind::InBuf(len_reg) => print_buffer(out, mem, value, call.args[len_reg as usize]),
        Kind::OutBuf => match succeeded(ret) {
            Some(len) => print_buffer(out, mem, value, len),
            None => out.addr(value),
        },
        Kind::OutPath => match succeeded(ret) {
            Some(_) => print_cstring(out, mem, value, MAX_PATHLEN),
            None => out.addr(value),
        },
        Kind::OutStr => match succeeded(ret) {
            Some(_) => print_cstring(out, mem, value, MAX_STRLEN),
            None => out.addr(value),
        },
        Kind::OutHexBuf => {
            let mut buf = [0u8; MAX_STRLEN];
            match succeeded(ret) {
                Some(len) if value != 0 => {
                    let want = len.min(MAX_STRLEN as u64) as usize;
                    if mem::read(mem, value, &mut buf[..want]) {
                        quote::hex_buffer(out, &buf[..want], len);
                    } else {
                        out.addr(value);
                    }
                }
                _ => out.addr(value),
            }
        }
        Kind::Rlimit => print_rlimit(out, mem, value, ret),
        Kind::CpuSet => print_cpuset(out, mem, value, ret),
        Kind::Rusage => print_rusage(out, mem, value, ret),
        Kind::Tms => print_tms(out, mem, value, ret),
        Kind::Sysinfo => print_sysinfo(out, mem, value, ret),
        Kind::OpenFlags => xlat::print_open_flags(out, value),
        Kind::Flags(table, unknown) => xlat::print_flags_or(out, table, value, unknown),
        Kind::Xval(table, unknown) => xlat::print_xval(out, table, value, unknown),
        Kind::Mode => out.mode(value),
        Kind::Prot => xlat::print_flags_or(out, xlat::PROT_FLAGS, value, "PROT_???"),
        Kind::MmapFlags => xlat::print_mmap_flags(out, value),
        Kind::Signal => xlat::print_signal(out, u64::from(value as u32)),
        Kind::Sigset(size_reg) if call.args[size_reg as usize] == 8 => {
            print_sigset_at(out, mem, value, ret)
        }
        Kind::Sigset(_) => out.addr(value),
        Kind::SigAction => print_sigaction(out, mem, value, ret),
        Kind::Timespec => print_timespec(out, mem, value, ret),
        Kind::RemTimespec => match ret {
            Some(r) if is_erestart(r) => print_timespec(out, mem, value, None),
            _ => out.addr(value),
        },
        Kind::Stat => print_stat(out, mem, value, ret),
        Kind::StatxFlags => {
            xlat::print_xval(
                out,
                xlat::AT_STATX_SYNC_TYPES,
                value & xlat::AT_STATX_SYNC_TYPE,
                "AT_STATX_SYNC_???",
            );
            let rest = value & !xlat::AT_STATX_SYNC_TYPE;
            if rest != 0 {
                out.push_byte(b'|');
                xlat::print_flags(out, xlat::AT_FLAGS, rest);
            }
        }
        Kind::Statx => print_statx(out, mem, value, ret),
        Kind::Utsname => print_utsname(out, mem, value, ret),
        Kind::IntOut => match fetch(mem, value, ret, 4) {
            Some(n) => {
                out.push_byte(b'[');
                out.dec(n as u32 as i32 as i64);
                out.push_byte(b']');
            }
            None => out.addr(value),
        },
        Kind::FdPair => {
            let mut fds = [0u8; 8];
            if value != 0 && succeeded(ret).is_some() && mem::read(mem, value, &mut fds) {
                let fd =
                    |i: usize| i32::from_le_bytes([fds[i], fds[i + 1], fds[i + 2], fds[i + 3]]);
                out.push_byte(b'[');
                out.dec(fd(0).into());
                out.push_str(", ");
                out.dec(fd(4).into());
                out.push_byte(b']');
            } else {
                out.addr(value);
            }
        }
        Kind::Iovec(count_reg) => print_iovec(out, mem, value, call.args[count_reg as usize], ret),
        Kind::Dirents => print_dirents(out, mem, value, ret),
        // No child reported (WNOHANG's 0): nothing was stored.
        Kind::WaitStatus => match fetch(mem, value, ret, 4).filter(|_| ret != Some(0)) {
            Some(status) => xlat::print_wait_status(out, status as u32),
            None => out.addr(value),
        },
        Kind::Argv => print_argv(out, mem, value),
        Kind::Envp => print_envp(out, mem, value),
        Kind::Ioctl => match xlat::lookup(xlat::TTY_IOCTLS, value & 0xffff_ffff) {
            Some(name) => out.push_str(name),
            None => out.hex(value & 0xffff_ffff),
        },
        Kind::PollFds(count_reg) => print_pollfds(out, mem, value, call.args[count_reg as usize]),
        Kind::FdSet(nfds_reg) => match read_fdset(mem, value, call.args[nfds_reg as usize]) {
            Some(set) => print_fds(out, &set),
            None => out.addr(value),
        },
        Kind::PselectSigmask => {
            let mut raw = [0u8; 16];
            if value == 0 || !mem::read(mem, value, &mut raw) {
                out.addr(value);
                return;
            }
            let mask = u64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
            out.push_str("{sigmask=");
            print_sigset_at(out, mem, mask, None);
            out.push_str(", sigsetsize=");
            out.udec(u64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8])));
            out.push_byte(b'}');
        }
        Kind::IoctlArg => print_ioctl_arg(out, mem, call.args[1] & 0xffff_ffff, value, ret),
        Kind::FcntlArg => match call.args[1] {
            xlat::F_SETFD => xlat::print_flags_or(out, xlat::FD_FLAGS, value, "FD_???"),
            xlat::F_SETFL => xlat::print_open_flags(out, value),
            5..=7 => out.addr(value),
            _ => out.dec(value as i32 as i64),
        },
        Kind::CloneFlags => xlat::print_clone_flags(out, value),
        Kind::FutexOp => xlat::print_futex_op(out, value),
        Kind::FutexRest => print_futex_rest(out, mem, call),
        Kind::SigreturnMask => {
            // struct rt_sigframe: siginfo (128 bytes), then the ucontext: uc_flags, uc_link,
            // uc_stack (24 bytes), uc_sigmask.
            const UC_SIGMASK: u64 = 128 + 8 + 8 + 24;
            out.push_str("{mask=");
            match call
                .sp
                .checked_add(UC_SIGMASK)
                .and_then(|at| mem::read_u64(mem, at))
            {
                Some(mask) => xlat::print_sigset(out, mask),
                None => out.addr(call.sp.wrapping_add(UC_SIGMASK)),
            }
            out.push_byte(b'}');
        }
        Kind::Named(name, inner) => {
            out.push_str(name);
            out.push_byte(b'=');
            print_arg(out, mem, call, inner, ret, reg);
        }
    }
}

/// Reads `size` (4 or 8) bytes at `addr` if the call has not failed (at exit) and the pointer
/// is not NULL: strace's `umove_or_printaddr` rule.
fn fetch(mem: &mut impl Memory, addr: u64, ret: Ret, size: usize) -> Option<u64> {
    if addr == 0 || ret.is_some_and(is_error) {
        return None;
    }
    let mut buf = [0u8; 8];
    mem::read(mem, addr, &mut buf[..size]).then(|| u64::from_le_bytes(buf))
}

fn print_cstring(out: &mut Line, mem: &mut impl Memory, addr: u64, limit: usize) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    let mut buf = [0u8; MAX_PATHLEN + 1];
    let want = (limit + 1).min(buf.len());
    match mem::read_cstr(mem, addr, &mut buf[..want]) {
        Some((len, terminated)) => quote::cstring(out, &buf[..len], terminated, limit),
        None => out.addr(addr),
    }
}

fn print_buffer(out: &mut Line, mem: &mut impl Memory, addr: u64, len: u64) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    let mut buf = [0u8; MAX_STRLEN + 1];
    let want = (len.min(buf.len() as u64)) as usize;
    if mem::read(mem, addr, &mut buf[..want]) {
        quote::buffer(out, &buf[..want], len);
    } else {
        out.addr(addr);
    }
}

fn print_sigset_at(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    match fetch(mem, addr, ret, 8) {
        Some(mask) => xlat::print_sigset(out, mask),
        None => out.addr(addr),
    }
}

/// arm64's kernel `struct sigaction`: handler, flags, restorer, mask.
fn print_sigaction(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 32];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let word = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let (handler, flags, restorer, mask) = (word(0), word(1), word(2), word(3));
    out.push_str("{sa_handler=");
    match xlat::lookup(xlat::SA_HANDLERS, handler) {
        Some(name) => out.push_str(name),
        None => out.addr(handler),
    }
    out.push_str(", sa_mask=");
    xlat::print_sigset(out, mask);
    out.push_str(", sa_flags=");
    xlat::print_flags_or(out, xlat::SA_FLAGS, flags, "SA_???");
    if flags & xlat::SA_RESTORER != 0 {
        out.push_str(", sa_restorer=");
        out.addr(restorer);
    }
    out.push_byte(b'}');
}

fn print_timespec(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 16];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let sec = i64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
    let nsec = i64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8]));
    out.push_str("{tv_sec=");
    out.dec(sec);
    out.push_str(", tv_nsec=");
    out.dec(nsec);
    out.push_byte(b'}');
}

/// The tty ioctls strace's `term_ioctl` prints no argument for.
/// TIOCEXCL, TIOCNXCL, TIOCCONS, TIOCNOTTY, FIONCLEX, FIOCLEX, TIOCSBRK, TIOCCBRK.
const IOCTLS_WITHOUT_ARG: [u64; 8] = [
    0x540C, 0x540D, 0x541D, 0x5422, 0x5450, 0x5451, 0x5427, 0x5428,
];

/// Whether ioctl `request` has an argument to print.
pub fn ioctl_takes_arg(request: u64) -> bool {
    !IOCTLS_WITHOUT_ARG.contains(&(request & 0xffff_ffff))
}

/// The tty ioctls' arguments as strace's `term_ioctl` prints them. The "get" requests print
/// what the call stored (their address after an error); the "set" ones what the kernel read,
/// whatever it returned.
fn print_ioctl_arg(out: &mut Line, mem: &mut impl Memory, request: u64, arg: u64, ret: Ret) {
    const TCGETS: u64 = 0x5401;
    const TCSETSF: u64 = 0x5404;
    const TCXONC: u64 = 0x540A;
    const TCFLSH: u64 = 0x540B;
    const TIOCSTI: u64 = 0x5412;
    const TIOCGWINSZ: u64 = 0x5413;
    const TIOCSWINSZ: u64 = 0x5414;
    // TIOCGPGRP, TIOCGSID, TIOCGETD, TIOCGPTN, FIONREAD, TIOCOUTQ.
    const INT_GETS: [u64; 6] = [0x540F, 0x5429, 0x5424, 0x80045430, 0x541B, 0x5411];
    // TIOCSPGRP, TIOCSETD, FIONBIO, FIOASYNC, TIOCPKT, TIOCSPTLCK.
    const INT_SETS: [u64; 6] = [0x5410, 0x5423, 0x5421, 0x5452, 0x5420, 0x40045431];
    // TCSBRK, TCSBRKP, TIOCSCTTY.
    const INT_VALUES: [u64; 3] = [0x5409, 0x5425, 0x540E];
    match request {
        TCGETS..=TCSETSF => {
            let ret = if request == TCGETS { ret } else { None };
            print_termios(out, mem, arg, ret);
        }
        TIOCGWINSZ | TIOCSWINSZ => {
            let ret = if request == TIOCSWINSZ { None } else { ret };
            let mut raw = [0u8; 8];
            if arg == 0 || ret.is_some_and(is_error) || !mem::read(mem, arg, &mut raw) {
                out.addr(arg);
                return;
            }
            let field = |i: usize| u64::from(u16::from_le_bytes([raw[2 * i], raw[2 * i + 1]]));
            let _ = core::fmt::Write::write_fmt(
                out,
                format_args!(
                    "{{ws_row={}, ws_col={}, ws_xpixel={}, ws_ypixel={}}}",
                    field(0),
                    field(1),
                    field(2),
                    field(3)
                ),
            );
        }
        _ if INT_GETS.contains(&request) || INT_SETS.contains(&request) => {
            let ret = if INT_SETS.contains(&request) {
                None
            } else {
                ret
            };
            match fetch(mem, arg, ret, 4) {
                Some(n) => {
                    out.push_byte(b'[');
                    out.dec(n as u32 as i32 as i64);
                    out.push_byte(b']');
                }
                None => out.addr(arg),
            }
        }
        _ if INT_VALUES.contains(&request) => out.dec(arg as i32 as i64),
        TCXONC => xlat::print_xval(out, xlat::TCXONC_OPTIONS, arg, "TC???"),
        TCFLSH => xlat::print_xval(out, xlat::TCFLSH_OPTIONS, arg, "TC???"),
        TIOCSTI => print_buffer(out, mem, arg, 1),
        _ => out.hex(arg),
    }
}

/// A `struct termios` (asm-generic: four u32 flag words first), abbreviated as strace prints
/// it: `{c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR,
/// c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|..., ...}`.
fn print_termios(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 16];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let word = |i: usize| {
        u64::from(u32::from_le_bytes(
            raw[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4]),
        ))
    };
    out.push_str("{c_iflag=");
    xlat::print_flags(out, xlat::TERM_IFLAGS, word(0));
    out.push_str(", c_oflag=");
    let mut oflag = word(1);
    for (mask, table, unknown) in xlat::TERM_OFLAG_DELAYS {
        xlat::print_xval(out, table, oflag & mask, unknown);
        out.push_byte(b'|');
        oflag &= !mask;
    }
    xlat::print_flags(out, xlat::TERM_OFLAGS, oflag);
    out.push_str(", c_cflag=");
    let cflag = word(2);
    xlat::print_xval(out, xlat::BAUD_RATES, cflag & xlat::CBAUD, "B???");
    out.push_byte(b'|');
    if cflag & xlat::CIBAUD != 0 {
        xlat::print_xval(out, xlat::BAUD_RATES, (cflag & xlat::CIBAUD) >> 16, "B???");
        out.push_str("<<IBSHIFT|");
    }
    xlat::print_xval(out, xlat::CSIZES, cflag & xlat::CSIZE, "CS?");
    out.push_byte(b'|');
    xlat::print_flags(
        out,
        xlat::TERM_CFLAGS,
        cflag & !(xlat::CBAUD | xlat::CIBAUD | xlat::CSIZE),
    );
    out.push_str(", c_lflag=");
    xlat::print_flags(out, xlat::TERM_LFLAGS, word(3));
    out.push_str(", ...}");
}

/// futex's val, timeout, uaddr2 and val3 as its operation uses them.
fn print_futex_rest(out: &mut Line, mem: &mut impl Memory, call: &Call) {
    let [_, op, val, timeout, uaddr2, val3] = call.args;
    let (val, val2, val3) = (val & 0xffff_ffff, timeout & 0xffff_ffff, val3 & 0xffff_ffff);
    let bitset = |out: &mut Line| {
        if val3 == 0xffff_ffff {
            out.push_str("FUTEX_BITSET_MATCH_ANY");
        } else {
            out.hex(val3);
        }
    };
    match op & 127 {
        // WAIT
        0 => {
            out.udec(val);
            out.push_str(", ");
            print_timespec(out, mem, timeout, None);
        }
        // LOCK_PI, LOCK_PI2
        6 | 13 => print_timespec(out, mem, timeout, None),
        // WAIT_BITSET
        9 => {
            out.udec(val);
            out.push_str(", ");
            print_timespec(out, mem, timeout, None);
            out.push_str(", ");
            bitset(out);
        }
        // WAKE_BITSET
        10 => {
            out.udec(val);
            out.push_str(", ");
            bitset(out);
        }
        // REQUEUE, CMP_REQUEUE, CMP_REQUEUE_PI, WAKE_OP
        3 | 4 | 12 | 5 => {
            let _ = core::fmt::Write::write_fmt(out, format_args!("{val}, {val2}, "));
            out.addr(uaddr2);
            match op & 127 {
                4 | 12 => {
                    out.push_str(", ");
                    out.udec(val3);
                }
                5 => {
                    out.push_str(", ");
                    print_futex_wake_op(out, val3);
                }
                _ => {}
            }
        }
        // WAIT_REQUEUE_PI
        11 => {
            out.udec(val);
            out.push_str(", ");
            print_timespec(out, mem, timeout, None);
            out.push_str(", ");
            out.addr(uaddr2);
        }
        // WAKE, FD
        1 | 2 => out.udec(val),
        _ => {
            out.udec(val);
            out.push_str(", ");
            out.addr(timeout);
            out.push_str(", ");
            out.addr(uaddr2);
            out.push_str(", ");
            out.hex(val3);
        }
    }
}

/// FUTEX_WAKE_OP's encoded operation: `FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1`.
fn print_futex_wake_op(out: &mut Line, val3: u64) {
    const FUTEX_OP_OPARG_SHIFT: u64 = 8;
    if (val3 >> 28) & FUTEX_OP_OPARG_SHIFT != 0 {
        out.push_str("FUTEX_OP_OPARG_SHIFT<<28|");
    }
    let op = (val3 >> 28) & 7;
    match xlat::lookup(xlat::FUTEX_WAKE_OPS, op) {
        Some(name) => out.push_str(name),
        None => out.udec(op),
    }
    out.push_str("<<28");
    if xlat::lookup(xlat::FUTEX_WAKE_OPS, op).is_none() {
        out.push_str(" /* FUTEX_OP_??? */");
    }
    out.push_byte(b'|');
    out.hex((val3 >> 12) & 0xfff);
    out.push_str("<<12|");
    let cmp = (val3 >> 24) & 0xf;
    match xlat::lookup(xlat::FUTEX_WAKE_CMPS, cmp) {
        Some(name) => out.push_str(name),
        None => out.udec(cmp),
    }
    out.push_str("<<24");
    if xlat::lookup(xlat::FUTEX_WAKE_CMPS, cmp).is_none() {
        out.push_str(" /* FUTEX_OP_CMP_??? */");
    }
    out.push_byte(b'|');
    out.hex(val3 & 0xfff);
}

/// One `struct pollfd` (fd, events, revents) at `addr`.
fn read_pollfd(mem: &mut impl Memory, addr: u64) -> Option<(i32, u16, u16)> {
    let mut raw = [0u8; 8];
    mem::read(mem, addr, &mut raw).then(|| {
        let fd = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        (
            fd,
            u16::from_le_bytes([raw[4], raw[5]]),
            u16::from_le_bytes([raw[6], raw[7]]),
        )
    })
}

/// ppoll's fds at entry (strace's `print_array` of `print_pollfd`): at most `-s` of them.
fn print_pollfds(out: &mut Line, mem: &mut impl Memory, addr: u64, count: u64) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    if count != 0 && read_pollfd(mem, addr).is_none() {
        out.addr(addr);
        return;
    }
    out.push_byte(b'[');
    for i in 0..count {
        if i != 0 {
            out.push_str(", ");
        }
        let at = addr.wrapping_add(i * 8);
        let Some((fd, events, _)) = read_pollfd(mem, at).filter(|_| i < MAX_STRLEN as u64) else {
            out.push_str("...");
            break;
        };
        out.push_str("{fd=");
        out.dec(fd.into());
        if fd >= 0 {
            out.push_str(", events=");
            xlat::print_flags_or(out, xlat::POLL_FLAGS, events.into(), "POLL???");
        }
        out.push_byte(b'}');
    }
    out.push_byte(b']');
}

/// ppoll's result note (strace's `decode_poll_exiting`): ` (Timeout)`, or the fds that got
/// events and the time left, ` ([{fd=0, revents=POLLIN}], left {tv_sec=0, tv_nsec=5000})`.
pub fn print_poll_result(out: &mut Line, mem: &mut impl Memory, call: &Call, ret: i64) {
    if ret == 0 {
        out.push_str(" (Timeout)");
        return;
    }
    let (addr, count, timeout) = (call.args[0], call.args[1], call.args[2]);
    let mut note = Line::new();
    let mut printed = 0;
    for i in 0..count.min(1024) {
        let at = addr.wrapping_add(i * 8);
        let Some((fd, _, revents)) = read_pollfd(mem, at) else {
            note.push_str(if note.is_empty() { "[" } else { ", " });
            note.hex(at);
            break;
        };
        if revents == 0 {
            continue;
        }
        note.push_str(if note.is_empty() { "[" } else { ", " });
        if printed == MAX_STRLEN {
            note.push_str("...");
            break;
        }
        note.push_str("{fd=");
        note.dec(fd.into());
        note.push_str(", revents=");
        xlat::print_flags(&mut note, xlat::POLL_FLAGS, revents.into());
        note.push_byte(b'}');
        printed += 1;
    }
    if !note.is_empty() {
        note.push_byte(b']');
    }
    if timeout != 0 {
        note.push_str(if note.is_empty() { "left " } else { ", left " });
        print_timespec(&mut note, mem, timeout, None);
    }
    if !note.is_empty() {
        out.push_str(" (");
        out.push(note.as_bytes());
        out.push_byte(b')');
    }
}

/// The most fds a select set is decoded for (FD_SETSIZE).
const FD_SETSIZE: u64 = 1024;

/// An `fd_set` of `nfds` fds at `addr`, or `None` if NULL or unreadable.
fn read_fdset(mem: &mut impl Memory, addr: u64, nfds: u64) -> Option<([u8; 128], u64)> {
    let nfds = nfds.min(FD_SETSIZE);
    let mut set = [0u8; 128];
    let bytes = nfds.div_ceil(8) as usize;
    (addr != 0 && mem::read(mem, addr, &mut set[..bytes])).then_some((set, nfds))
}

/// `[0 3]`: the fds in a set.
fn print_fds(out: &mut Line, (set, nfds): &([u8; 128], u64)) {
    out.push_byte(b'[');
    let mut first = true;
    for fd in (0..*nfds).filter(|fd| set[(fd / 8) as usize] & (1 << (fd % 8)) != 0) {
        if !first {
            out.push_byte(b' ');
        }
        out.udec(fd);
        first = false;
    }
    out.push_byte(b']');
}

/// pselect6's result note (strace's `decode_select`): ` (Timeout)`, or the ready fds of each
/// set and the time left, ` (in [0 3], out [4], left {tv_sec=4, tv_nsec=999998401})`.
pub fn print_select_result(out: &mut Line, mem: &mut impl Memory, call: &Call, ret: i64) {
    if ret == 0 {
        out.push_str(" (Timeout)");
        return;
    }
    let mut note = Line::new();
    for (reg, name) in [(1, "in "), (2, "out "), (3, "except ")] {
        let Some(set) = read_fdset(mem, call.args[reg], call.args[0]) else {
            continue;
        };
        if set.0.iter().all(|&b| b == 0) {
            continue;
        }
        if !note.is_empty() {
            note.push_str(", ");
        }
        note.push_str(name);
        print_fds(&mut note, &set);
    }
    if call.args[4] != 0 {
        note.push_str(if note.is_empty() { "left " } else { ", left " });
        print_timespec(&mut note, mem, call.args[4], None);
    }
    if !note.is_empty() {
        out.push_str(" (");
        out.push(note.as_bytes());
        out.push_byte(b')');
    }
}

/// sched_getaffinity's mask (as many bytes as the call returned): the CPUs in it.
fn print_cpuset(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    const MAX_BYTES: usize = 128;
    let mut raw = [0u8; MAX_BYTES];
    let len = succeeded(ret).map_or(0, |n| (n as usize).min(MAX_BYTES));
    if addr == 0 || succeeded(ret).is_none() || !mem::read(mem, addr, &mut raw[..len]) {
        out.addr(addr);
        return;
    }
    out.push_byte(b'[');
    let mut first = true;
    for cpu in (0..len * 8).filter(|cpu| raw[cpu / 8] & (1 << (cpu % 8)) != 0) {
        if !first {
            out.push_byte(b' ');
        }
        out.udec(cpu as u64);
        first = false;
    }
    out.push_byte(b']');
}

/// `{ru_utime={tv_sec=0, tv_usec=23316}, ru_stime={tv_sec=0, tv_usec=19430}, ...}`.
fn print_rusage(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 32];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let word = |i: usize| i64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let _ = core::fmt::Write::write_fmt(
        out,
        format_args!(
            "{{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ...}}",
            word(0),
            word(1),
            word(2),
            word(3)
        ),
    );
}

/// `{tms_utime=2 /* 0.02 s */, ...}`: clock ticks, with seconds for the nonzero ones.
fn print_tms(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    const USER_HZ: u64 = 100;
    let mut raw = [0u8; 32];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    for (i, name) in ["tms_utime", "tms_stime", "tms_cutime", "tms_cstime"]
        .iter()
        .enumerate()
    {
        out.push_str(if i == 0 { "{" } else { ", " });
        out.push_str(name);
        out.push_byte(b'=');
        let ticks = u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        out.udec(ticks);
        if ticks != 0 {
            let _ = core::fmt::Write::write_fmt(
                out,
                format_args!(" /* {}.{:02} s */", ticks / USER_HZ, ticks % USER_HZ),
            );
        }
    }
    out.push_byte(b'}');
}

/// The 64-bit `struct sysinfo`, as strace prints it whole.
fn print_sysinfo(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 112];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let u64_at = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    let _ = core::fmt::Write::write_fmt(
        out,
        format_args!(
            "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, \
             bufferram={}, totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, \
             mem_unit={}}}",
            u64_at(0) as i64,
            u64_at(8),
            u64_at(16),
            u64_at(24),
            u64_at(32),
            u64_at(40),
            u64_at(48),
            u64_at(56),
            u64_at(64),
            u64_at(72),
            u16::from_le_bytes([raw[80], raw[81]]),
            u64_at(88),
            u64_at(96),
            u32::from_le_bytes([raw[104], raw[105], raw[106], raw[107]]),
        ),
    );
}

/// strace's `print_rlim64_t`: `RLIM64_INFINITY`, `N*1024` for multiples of 1024, or `N`.
fn print_rlim(out: &mut Line, value: u64) {
    if value == u64::MAX {
        out.push_str("RLIM64_INFINITY");
    } else if value > 1024 && value.is_multiple_of(1024) {
        out.udec(value / 1024);
        out.push_str("*1024");
    } else {
        out.udec(value);
    }
}

fn print_rlimit(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 16];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    out.push_str("{rlim_cur=");
    print_rlim(
        out,
        u64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8])),
    );
    out.push_str(", rlim_max=");
    print_rlim(
        out,
        u64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8])),
    );
    out.push_byte(b'}');
}

const S_IFMT: u64 = 0o170000;
const S_IFCHR: u64 = 0o020000;
const S_IFBLK: u64 = 0o060000;
const FILE_TYPES: Xlat = &[
    (0o140000, "S_IFSOCK"),
    (0o120000, "S_IFLNK"),
    (0o100000, "S_IFREG"),
    (S_IFBLK, "S_IFBLK"),
    (0o040000, "S_IFDIR"),
    (S_IFCHR, "S_IFCHR"),
    (0o010000, "S_IFIFO"),
];
const MODE_BITS: Xlat = &[
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
];

/// strace's `print_symbolic_mode_t`: `S_IFREG|0644`.
fn print_symbolic_mode(out: &mut Line, mode: u64) {
    let mut first = true;
    if let Some(name) = xlat::lookup(FILE_TYPES, mode & S_IFMT) {
        out.push_str(name);
        first = false;
    }
    for &(bit, name) in MODE_BITS {
        if mode & bit != 0 {
            if !first {
                out.push_byte(b'|');
            }
            out.push_str(name);
            first = false;
        }
    }
    if !first {
        out.push_byte(b'|');
    }
    out.mode(mode & 0o777);
}

/// arm64's (asm-generic) `struct stat`, abbreviated as strace does:
/// `{st_mode=S_IFREG|0644, st_size=1234, ...}`, devices with `st_rdev=makedev(M, m)`.
fn print_stat(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 56];
    if addr == 0 || ret.is_some_and(is_error) || ret.is_none() || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let mode = u64::from(u32::from_le_bytes(raw[16..20].try_into().unwrap_or([0; 4])));
    let rdev = u64::from_le_bytes(raw[32..40].try_into().unwrap_or([0; 8]));
    let size = i64::from_le_bytes(raw[48..56].try_into().unwrap_or([0; 8]));
    out.push_str("{st_mode=");
    print_symbolic_mode(out, mode);
    let kind = mode & S_IFMT;
    if kind == S_IFCHR || kind == S_IFBLK {
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        out.push_str(", st_rdev=makedev(");
        out.hex(major);
        out.push_str(", ");
        out.hex(minor);
        out.push_byte(b')');
    } else {
        out.push_str(", st_size=");
        out.dec(size);
    }
    out.push_str(", ...}");
}

/// `struct statx`, abbreviated as strace: `{stx_mask=STATX_BASIC_STATS, stx_attributes=0,
/// stx_mode=S_IFREG|0644, stx_size=11, ...}`.
fn print_statx(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    let mut raw = [0u8; 48];
    if addr == 0 || ret.is_none() || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    let u64_at = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or([0; 8]));
    out.push_str("{stx_mask=");
    let mask = u64::from(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]));
    xlat::print_flags_or(out, xlat::STATX_MASKS, mask, "STATX_???");
    out.push_str(", stx_attributes=");
    xlat::print_flags_or(out, xlat::STATX_ATTRS, u64_at(8), "STATX_ATTR_???");
    out.push_str(", stx_mode=");
    print_symbolic_mode(out, u64::from(u16::from_le_bytes([raw[28], raw[29]])));
    out.push_str(", stx_size=");
    out.udec(u64_at(40));
    out.push_str(", ...}");
}

/// `{sysname="Linux", nodename="...", ...}`.
fn print_utsname(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    const FIELD: usize = 65;
    let mut raw = [0u8; 2 * FIELD];
    if addr == 0 || ret.is_some_and(is_error) || !mem::read(mem, addr, &mut raw) {
        out.addr(addr);
        return;
    }
    for (i, name) in ["{sysname=", ", nodename="].iter().enumerate() {
        out.push_str(name);
        let field = &raw[i * FIELD..(i + 1) * FIELD];
        let len = field.iter().position(|&b| b == 0);
        quote::cstring(out, &field[..len.unwrap_or(FIELD)], len.is_some(), FIELD);
    }
    out.push_str(", ...}");
}

/// `[{iov_base="...", iov_len=N}, ...]`: writev's at entry, readv's at exit with the bytes it
/// read; at most `-s` elements.
fn print_iovec(out: &mut Line, mem: &mut impl Memory, addr: u64, count: u64, ret: Ret) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    if ret.is_some_and(is_error) {
        out.addr(addr);
        return;
    }
    if count != 0 && !mem::read(mem, addr, &mut [0u8; 16]) {
        out.addr(addr);
        return;
    }
    // At exit only the bytes the call transferred are data.
    let mut budget = ret.map_or(u64::MAX, |r| r as u64);
    out.push_byte(b'[');
    for i in 0..count {
        if i != 0 {
            out.push_str(", ");
        }
        if i == MAX_STRLEN as u64 {
            out.push_str("...");
            break;
        }
        let mut raw = [0u8; 16];
        let ok = i
            .checked_mul(16)
            .and_then(|off| addr.checked_add(off))
            .is_some_and(|at| mem::read(mem, at, &mut raw));
        if !ok {
            out.push_str("...");
            break;
        }
        let base = u64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
        let len = u64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8]));
        let data = len.min(budget);
        budget -= data;
        out.push_str("{iov_base=");
        print_buffer(out, mem, base, data);
        out.push_str(", iov_len=");
        out.udec(len);
        out.push_byte(b'}');
    }
    out.push_byte(b']');
}

/// getdents64's buffer: `0x... /* N entries */` (each `linux_dirent64` has its length at
/// offset 16).
fn print_dirents(out: &mut Line, mem: &mut impl Memory, addr: u64, ret: Ret) {
    out.addr(addr);
    let Some(total) = succeeded(ret) else {
        return;
    };
    let mut entries = 0u64;
    let mut offset = 0u64;
    while offset < total {
        let mut reclen = [0u8; 2];
        let ok = addr
            .checked_add(offset + 16)
            .is_some_and(|at| mem::read(mem, at, &mut reclen));
        let reclen = u64::from(u16::from_le_bytes(reclen));
        if !ok || reclen == 0 {
            break;
        }
        entries += 1;
        offset += reclen;
    }
    out.push_str(" /* ");
    out.udec(entries);
    out.push_str(if entries == 1 {
        " entry */"
    } else {
        " entries */"
    });
}

/// execve's argv (strace's `printargv`): `["ls", "-l"]`, at most `-s` strings.
fn print_argv(out: &mut Line, mem: &mut impl Memory, addr: u64) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    let mut n = 0u64;
    loop {
        let word = n
            .checked_mul(8)
            .and_then(|off| addr.checked_add(off))
            .and_then(|at| mem::read_u64(mem, at));
        let Some(word) = word else {
            if n == 0 {
                out.addr(addr);
                return;
            }
            out.push_str(", ...");
            break;
        };
        if n == 0 {
            out.push_byte(b'[');
        }
        if word == 0 {
            break;
        }
        if n != 0 {
            out.push_str(", ");
        }
        if n == MAX_STRLEN as u64 {
            out.push_str("...");
            break;
        }
        print_cstring(out, mem, word, MAX_STRLEN);
        n += 1;
    }
    out.push_byte(b']');
}

/// execve's envp, abbreviated (strace's `printargc`): `0x... /* 3 vars */`.
fn print_envp(out: &mut Line, mem: &mut impl Memory, addr: u64) {
    out.addr(addr);
    if addr == 0 {
        return;
    }
    let mut n = 0u64;
    loop {
        let word = n
            .checked_mul(8)
            .and_then(|off| addr.checked_add(off))
            .and_then(|at| mem::read_u64(mem, at));
        match word {
            Some(0) => break,
            Some(_) => n += 1,
            None if n == 0 => return,
            None => break,
        }
    }
    out.push_str(" /* ");
    out.udec(n);
    out.push_str(if n == 1 { " var */" } else { " vars */" });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::fake::FakeMemory;
    use std::string::String;
    use std::vec::Vec;

    fn words(values: &[u64]) -> Vec<u8> {
        values.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Prints `kind` for register 0 = `value` (other registers from `rest`).
    fn show(mem: &mut FakeMemory, kind: Kind, args: &[u64], ret: Ret) -> String {
        let mut call = Call::default();
        call.args[..args.len()].copy_from_slice(args);
        let mut line = Line::new();
        print_arg(&mut line, mem, &call, &kind, ret, 0);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn numbers() {
        let mut mem = FakeMemory::new();
        assert_eq!(show(&mut mem, Kind::Int, &[-1i64 as u64], None), "-1");
        assert_eq!(show(&mut mem, Kind::Int, &[0xffff_ffff], None), "-1");
        assert_eq!(
            show(&mut mem, Kind::Long, &[-4096i64 as u64], None),
            "-4096"
        );
        assert_eq!(
            show(&mut mem, Kind::Ulong, &[u64::MAX], None),
            "18446744073709551615"
        );
        assert_eq!(show(&mut mem, Kind::Hex, &[0x1000], None), "0x1000");
        assert_eq!(show(&mut mem, Kind::Ptr, &[0], None), "NULL");
        assert_eq!(
            show(&mut mem, Kind::Dirfd, &[-100i64 as u64], None),
            "AT_FDCWD"
        );
        assert_eq!(show(&mut mem, Kind::Dirfd, &[3], None), "3");
        assert_eq!(show(&mut mem, Kind::Mode, &[0o755], None), "0755");
        assert_eq!(show(&mut mem, Kind::Signal, &[9], None), "SIGKILL");
        assert_eq!(show(&mut mem, Kind::Ioctl, &[0x5413], None), "TIOCGWINSZ");
        assert_eq!(show(&mut mem, Kind::Ioctl, &[0xdead], None), "0xdead");
        assert_eq!(
            show(&mut mem, Kind::CloneFlags, &[0x1200011], None),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        );
        assert_eq!(
            show(&mut mem, Kind::FutexOp, &[0x81], None),
            "FUTEX_WAKE_PRIVATE"
        );
        assert_eq!(
            show(&mut mem, Kind::Prot, &[5], None),
            "PROT_READ|PROT_EXEC"
        );
        assert_eq!(
            show(&mut mem, Kind::MmapFlags, &[0x22], None),
            "MAP_PRIVATE|MAP_ANONYMOUS"
        );
        assert_eq!(
            show(&mut mem, Kind::OpenFlags, &[0o2000000], None),
            "O_RDONLY|O_CLOEXEC"
        );
        assert_eq!(
            show(
                &mut mem,
                Kind::Xval(xlat::SEEK_WHENCE, "SEEK_???"),
                &[2],
                None
            ),
            "SEEK_END"
        );
        assert_eq!(
            show(&mut mem, Kind::Named("flags", &Kind::Hex), &[16], None),
            "flags=0x10"
        );
    }

    #[test]
    fn strings_paths_and_buffers() {
        let mut mem = FakeMemory::new();
        let long = "/a/very/long/path/that/is/longer/than/thirty-two/bytes\0";
        mem.map(0x1000, long.as_bytes());
        mem.map(
            0x2000,
            b"hello\n\x00\x01\x02 world, this is a long buffer indeed",
        );
        assert_eq!(
            show(&mut mem, Kind::Path, &[0x1000], None),
            "\"/a/very/long/path/that/is/longer/than/thirty-two/bytes\""
        );
        assert_eq!(
            show(&mut mem, Kind::Str, &[0x1000], None),
            "\"/a/very/long/path/that/is/longer\"..."
        );
        assert_eq!(show(&mut mem, Kind::Path, &[0], None), "NULL");
        assert_eq!(show(&mut mem, Kind::Path, &[0x9000], None), "0x9000");
        assert_eq!(
            show(&mut mem, Kind::InBuf(1), &[0x2000, 6], None),
            "\"hello\\n\""
        );
        assert_eq!(
            show(&mut mem, Kind::InBuf(1), &[0x2000, 100], None),
            "\"hello\\n\\0\\1\\2 world, this is a long \"..."
        );
        assert_eq!(show(&mut mem, Kind::InBuf(1), &[0x9000, 5], None), "0x9000");
        assert_eq!(
            show(&mut mem, Kind::OutBuf, &[0x2000], Some(5)),
            "\"hello\""
        );
        assert_eq!(show(&mut mem, Kind::OutBuf, &[0x2000], Some(0)), "\"\"");
        assert_eq!(show(&mut mem, Kind::OutBuf, &[0x2000], Some(-14)), "0x2000");
        assert_eq!(
            show(&mut mem, Kind::OutPath, &[0x1000], Some(10)),
            format!("\"{}\"", &long[..long.len() - 1])
        );
        assert_eq!(
            show(&mut mem, Kind::OutPath, &[0x1000], Some(-34)),
            "0x1000"
        );
    }

    #[test]
    fn execve_arrays() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, b"ls\0-l\0A=1\0B=2\0");
        mem.map(0x2000, &words(&[0x1000, 0x1003, 0]));
        mem.map(0x3000, &words(&[0x1006, 0x100a, 0]));
        mem.map(0x4000, &words(&[0x1006, 0]));
        mem.map(0x5000, &words(&[0]));
        assert_eq!(
            show(&mut mem, Kind::Argv, &[0x2000], None),
            "[\"ls\", \"-l\"]"
        );
        assert_eq!(show(&mut mem, Kind::Argv, &[0x5000], None), "[]");
        assert_eq!(show(&mut mem, Kind::Argv, &[0], None), "NULL");
        assert_eq!(show(&mut mem, Kind::Argv, &[0x9000], None), "0x9000");
        assert_eq!(
            show(&mut mem, Kind::Envp, &[0x3000], None),
            "0x3000 /* 2 vars */"
        );
        assert_eq!(
            show(&mut mem, Kind::Envp, &[0x4000], None),
            "0x4000 /* 1 var */"
        );
        assert_eq!(
            show(&mut mem, Kind::Envp, &[0x5000], None),
            "0x5000 /* 0 vars */"
        );
        assert_eq!(show(&mut mem, Kind::Envp, &[0x9000], None), "0x9000");
        // More than 32 arguments: the first 32, then "...".
        let many: Vec<u64> = (0..40).map(|_| 0x1000).chain([0]).collect();
        mem.map(0x6000, &words(&many));
        let text = show(&mut mem, Kind::Argv, &[0x6000], None);
        assert_eq!(text.matches("\"ls\"").count(), 32);
        assert!(text.ends_with(", \"ls\", ...]"));
        // An array running into unmapped memory.
        mem.map(0x7000, &words(&[0x1000]));
        assert_eq!(show(&mut mem, Kind::Argv, &[0x7000], None), "[\"ls\", ...]");
    }

    #[test]
    fn signal_structs() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &words(&[(1 << 1) | (1 << 16)]));
        mem.map(
            0x2000,
            &words(&[0x40_1234, 0x0400_0004, 0x40_5678, 1 << 16]),
        );
        mem.map(0x3000, &words(&[1, 0, 0, 0]));
        assert_eq!(
            show(&mut mem, Kind::Sigset(1), &[0x1000, 8], None),
            "[INT CHLD]"
        );
        assert_eq!(show(&mut mem, Kind::Sigset(1), &[0, 8], None), "NULL");
        assert_eq!(
            show(&mut mem, Kind::Sigset(1), &[0x1000, 8], Some(-22)),
            "0x1000"
        );
        assert_eq!(
            show(&mut mem, Kind::Sigset(1), &[0x1000, 8], Some(0)),
            "[INT CHLD]"
        );
        // A size other than the kernel's sigset: just the address.
        assert_eq!(
            show(&mut mem, Kind::Sigset(1), &[0x1000, 4], None),
            "0x1000"
        );
        assert_eq!(
            show(&mut mem, Kind::SigAction, &[0x2000], None),
            "{sa_handler=0x401234, sa_mask=[CHLD], sa_flags=SA_RESTORER|SA_SIGINFO, sa_restorer=0x405678}"
        );
        assert_eq!(
            show(&mut mem, Kind::SigAction, &[0x3000], None),
            "{sa_handler=SIG_IGN, sa_mask=[], sa_flags=0}"
        );
        assert_eq!(show(&mut mem, Kind::SigAction, &[0], None), "NULL");
        // rt_sigreturn reads the mask the frame on the stack restores.
        let mut call = Call {
            sp: 0x8000,
            ..Call::default()
        };
        mem.map(0x8000 + 168, &words(&[1 << 9]));
        let mut line = Line::new();
        print_arg(&mut line, &mut mem, &call, &Kind::SigreturnMask, None, 0);
        assert_eq!(line.as_bytes(), b"{mask=[USR1]}");
        call.sp = 0xa000;
        let mut line = Line::new();
        print_arg(&mut line, &mut mem, &call, &Kind::SigreturnMask, None, 0);
        assert_eq!(line.as_bytes(), b"{mask=0xa0a8}");
    }

    #[test]
    fn time_stat_and_uname() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &words(&[1, 500_000_000]));
        assert_eq!(
            show(&mut mem, Kind::Timespec, &[0x1000], None),
            "{tv_sec=1, tv_nsec=500000000}"
        );
        assert_eq!(
            show(&mut mem, Kind::Timespec, &[0x1000], Some(-22)),
            "0x1000"
        );
        let mut stat = [0u8; 128];
        stat[16..20].copy_from_slice(&0o100644u32.to_le_bytes());
        stat[48..56].copy_from_slice(&1234i64.to_le_bytes());
        mem.map(0x2000, &stat);
        assert_eq!(
            show(&mut mem, Kind::Stat, &[0x2000], Some(0)),
            "{st_mode=S_IFREG|0644, st_size=1234, ...}"
        );
        assert_eq!(show(&mut mem, Kind::Stat, &[0x2000], Some(-2)), "0x2000");
        let mut tty = [0u8; 128];
        tty[16..20].copy_from_slice(&0o20620u32.to_le_bytes());
        tty[32..40].copy_from_slice(&((0x88u64 << 8) | 2).to_le_bytes());
        mem.map(0x3000, &tty);
        assert_eq!(
            show(&mut mem, Kind::Stat, &[0x3000], Some(0)),
            "{st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0x2), ...}"
        );
        let mut dir = [0u8; 128];
        dir[16..20].copy_from_slice(&0o41777u32.to_le_bytes());
        mem.map(0x4000, &dir);
        assert_eq!(
            show(&mut mem, Kind::Stat, &[0x4000], Some(0)),
            "{st_mode=S_IFDIR|S_ISVTX|0777, st_size=0, ...}"
        );
        let mut uts = [0u8; 65 * 6];
        uts[..5].copy_from_slice(b"Linux");
        uts[65..74].copy_from_slice(b"localhost");
        mem.map(0x5000, &uts);
        assert_eq!(
            show(&mut mem, Kind::Utsname, &[0x5000], Some(0)),
            "{sysname=\"Linux\", nodename=\"localhost\", ...}"
        );
    }

    #[test]
    fn rlimits_and_random_bytes() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &words(&[8192 * 1024, u64::MAX, 1024, 1025]));
        assert_eq!(
            show(&mut mem, Kind::Rlimit, &[0x1000], Some(0)),
            "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
        );
        assert_eq!(
            show(&mut mem, Kind::Rlimit, &[0x1010], None),
            "{rlim_cur=1024, rlim_max=1025}"
        );
        assert_eq!(show(&mut mem, Kind::Rlimit, &[0], None), "NULL");
        assert_eq!(show(&mut mem, Kind::Rlimit, &[0x1000], Some(-1)), "0x1000");
        mem.map(0x2000, &[0x26, 0x83, 0x3b]);
        assert_eq!(
            show(&mut mem, Kind::OutHexBuf, &[0x2000], Some(3)),
            "\"\\x26\\x83\\x3b\""
        );
        assert_eq!(
            show(&mut mem, Kind::OutHexBuf, &[0x2000], Some(-11)),
            "0x2000"
        );
    }

    #[test]
    fn tty_ioctls() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &[24, 0, 80, 0, 0, 0, 0, 0]);
        mem.map(0x2000, &7u32.to_le_bytes());
        let arg = |mem: &mut FakeMemory, req: u64, addr: u64, ret| {
            show(mem, Kind::IoctlArg, &[addr, req], ret)
        };
        assert_eq!(
            arg(&mut mem, 0x5413, 0x1000, Some(0)),
            "{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}"
        );
        assert_eq!(arg(&mut mem, 0x5413, 0x1000, Some(-25)), "0x1000");
        assert_eq!(
            arg(&mut mem, 0x5414, 0x1000, Some(-25)),
            "{ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}"
        );
        assert_eq!(arg(&mut mem, 0x540F, 0x2000, Some(0)), "[7]");
        assert_eq!(arg(&mut mem, 0x540F, 0x2000, Some(-25)), "0x2000");
        assert_eq!(arg(&mut mem, 0x5410, 0x2000, Some(-1)), "[7]");
        assert_eq!(arg(&mut mem, 0x540E, 1, Some(0)), "1");
        assert_eq!(arg(&mut mem, 0x5401, 0x3000, Some(0)), "0x3000");
        // The console's termios as Linux's tty layer sets it up (stty sane).
        let termios: Vec<u8> = [0o2400u32, 0o5, 0o277, 0o105073]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        mem.map(0x4000, &termios);
        assert_eq!(
            arg(&mut mem, 0x5401, 0x4000, Some(0)),
            "{c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, \
             c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}"
        );
        assert_eq!(arg(&mut mem, 0x5401, 0x4000, Some(-25)), "0x4000");
        assert!(arg(&mut mem, 0x5402, 0x4000, Some(-25)).starts_with("{c_iflag=ICRNL|IXON, "));
        assert_eq!(arg(&mut mem, 0x540B, 2, Some(0)), "TCIOFLUSH");
        assert!(!ioctl_takes_arg(0x5422));
        assert!(ioctl_takes_arg(0x5401));
        assert_eq!(arg(&mut mem, 0x5401, 0, Some(-14)), "NULL");
        assert_eq!(arg(&mut mem, 0xdead, 0, Some(-25)), "0");
        assert_eq!(arg(&mut mem, 0xdead, 0x42, Some(-25)), "0x42");
    }

    #[test]
    fn cpus_and_times() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &[0b11, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(show(&mut mem, Kind::CpuSet, &[0x1000], Some(8)), "[0 1]");
        assert_eq!(show(&mut mem, Kind::CpuSet, &[0x1000], Some(-22)), "0x1000");
        mem.map(0x2000, &words(&[0, 23316, 0, 19430]));
        assert_eq!(
            show(&mut mem, Kind::Rusage, &[0x2000], Some(0)),
            "{ru_utime={tv_sec=0, tv_usec=23316}, ru_stime={tv_sec=0, tv_usec=19430}, ...}"
        );
        assert_eq!(show(&mut mem, Kind::Rusage, &[0], Some(0)), "NULL");
        mem.map(0x3000, &words(&[2, 1, 150, 0]));
        assert_eq!(
            show(&mut mem, Kind::Tms, &[0x3000], Some(100)),
            "{tms_utime=2 /* 0.02 s */, tms_stime=1 /* 0.01 s */, tms_cutime=150 /* 1.50 s */, tms_cstime=0}"
        );
    }

    #[test]
    fn poll_fds_and_results() {
        let mut mem = FakeMemory::new();
        let fds: Vec<u8> = [(0i32, 1u16, 1u16), (-1, 0, 0), (5, 5, 0)]
            .iter()
            .flat_map(|&(fd, ev, rev)| {
                [
                    fd.to_le_bytes().to_vec(),
                    ev.to_le_bytes().to_vec(),
                    rev.to_le_bytes().to_vec(),
                ]
                .concat()
            })
            .collect();
        mem.map(0x1000, &fds);
        mem.map(0x2000, &words(&[4, 999_000_000]));
        assert_eq!(
            show(&mut mem, Kind::PollFds(1), &[0x1000, 3], None),
            "[{fd=0, events=POLLIN}, {fd=-1}, {fd=5, events=POLLIN|POLLOUT}]"
        );
        assert_eq!(show(&mut mem, Kind::PollFds(1), &[0x1000, 0], None), "[]");
        assert_eq!(show(&mut mem, Kind::PollFds(1), &[0, 1], None), "NULL");
        assert_eq!(
            show(&mut mem, Kind::PollFds(1), &[0x9000, 1], None),
            "0x9000"
        );
        let result = |mem: &mut FakeMemory, args: [u64; 3], ret| {
            let call = Call {
                args: [args[0], args[1], args[2], 0, 0, 0],
                ..Call::default()
            };
            let mut line = Line::new();
            print_poll_result(&mut line, mem, &call, ret);
            String::from_utf8(line.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(result(&mut mem, [0x1000, 3, 0], 0), " (Timeout)");
        assert_eq!(
            result(&mut mem, [0x1000, 3, 0], 1),
            " ([{fd=0, revents=POLLIN}])"
        );
        assert_eq!(
            result(&mut mem, [0x1000, 3, 0x2000], 1),
            " ([{fd=0, revents=POLLIN}], left {tv_sec=4, tv_nsec=999000000})"
        );
        assert_eq!(
            result(&mut mem, [0x1000, 4, 0], 1),
            " ([{fd=0, revents=POLLIN}, 0x1018])"
        );
    }

    #[test]
    fn select_sets_and_results() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &[0b1001, 0, 0, 0, 0, 0, 0, 0]);
        mem.map(0x1100, &[0b10000, 0, 0, 0, 0, 0, 0, 0]);
        mem.map(0x2000, &words(&[4, 999_998_401]));
        mem.map(0x3000, &words(&[0x1000, 8]));
        mem.map(0x1000 + 64, &0u64.to_le_bytes());
        assert_eq!(show(&mut mem, Kind::FdSet(1), &[0x1000, 5], None), "[0 3]");
        assert_eq!(show(&mut mem, Kind::FdSet(1), &[0x1000, 1], None), "[0]");
        assert_eq!(show(&mut mem, Kind::FdSet(1), &[0, 5], None), "NULL");
        assert_eq!(show(&mut mem, Kind::FdSet(1), &[0x9000, 5], None), "0x9000");
        mem.map(0x4000, &words(&[0, 8]));
        assert_eq!(
            show(&mut mem, Kind::PselectSigmask, &[0x4000], None),
            "{sigmask=NULL, sigsetsize=8}"
        );
        assert_eq!(show(&mut mem, Kind::PselectSigmask, &[0], None), "NULL");
        let result = |mem: &mut FakeMemory, args: [u64; 5], ret| {
            let call = Call {
                args: [args[0], args[1], args[2], args[3], args[4], 0],
                ..Call::default()
            };
            let mut line = Line::new();
            print_select_result(&mut line, mem, &call, ret);
            String::from_utf8(line.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(
            result(&mut mem, [5, 0x1000, 0x1100, 0, 0x2000], 0),
            " (Timeout)"
        );
        assert_eq!(
            result(&mut mem, [5, 0x1000, 0x1100, 0, 0x2000], 3),
            " (in [0 3], out [4], left {tv_sec=4, tv_nsec=999998401})"
        );
        assert_eq!(result(&mut mem, [1, 0x1000, 0, 0, 0], 1), " (in [0])");
    }

    #[test]
    fn sysinfo_whole() {
        let mut mem = FakeMemory::new();
        let mut raw = words(&[
            2493, 221376, 306048, 296896, 1000, 500, 9, 8, 0, 0, 131, 0, 0, 1,
        ]);
        raw[80..88].copy_from_slice(&131u64.to_le_bytes());
        mem.map(0x1000, &raw);
        assert_eq!(
            show(&mut mem, Kind::Sysinfo, &[0x1000], Some(0)),
            "{uptime=2493, loads=[221376, 306048, 296896], totalram=1000, freeram=500, sharedram=9, \
             bufferram=8, totalswap=0, freeswap=0, procs=131, totalhigh=0, freehigh=0, mem_unit=1}"
        );
        assert_eq!(
            show(&mut mem, Kind::Sysinfo, &[0x1000], Some(-14)),
            "0x1000"
        );
    }

    #[test]
    fn remaining_time_only_after_an_interruption() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &words(&[0, 250_000_000]));
        assert_eq!(
            show(&mut mem, Kind::RemTimespec, &[0x1000], Some(-516)),
            "{tv_sec=0, tv_nsec=250000000}"
        );
        assert_eq!(
            show(&mut mem, Kind::RemTimespec, &[0x1000], Some(0)),
            "0x1000"
        );
        assert_eq!(
            show(&mut mem, Kind::RemTimespec, &[0x1000], Some(-22)),
            "0x1000"
        );
        assert_eq!(show(&mut mem, Kind::RemTimespec, &[0], Some(-516)), "NULL");
    }

    #[test]
    fn statx_abbreviated() {
        let mut mem = FakeMemory::new();
        let mut raw = [0u8; 256];
        raw[..4].copy_from_slice(&0x17ffu32.to_le_bytes());
        raw[28..30].copy_from_slice(&0o100644u16.to_le_bytes());
        raw[40..48].copy_from_slice(&693u64.to_le_bytes());
        mem.map(0x1000, &raw);
        assert_eq!(
            show(&mut mem, Kind::Statx, &[0x1000], Some(0)),
            "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=693, ...}"
        );
        assert_eq!(show(&mut mem, Kind::Statx, &[0x1000], Some(-2)), "0x1000");
        assert_eq!(
            show(&mut mem, Kind::StatxFlags, &[0x900], None),
            "AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT"
        );
        assert_eq!(
            show(&mut mem, Kind::StatxFlags, &[0x2000], None),
            "AT_STATX_FORCE_SYNC"
        );
        assert_eq!(
            show(
                &mut mem,
                Kind::Flags(xlat::STATX_MASKS, "STATX_???"),
                &[0xfff],
                None
            ),
            "STATX_ALL"
        );
    }

    #[test]
    fn futex_arguments_by_operation() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &words(&[1, 0]));
        let rest = |mem: &mut FakeMemory, args: [u64; 6]| {
            let call = Call {
                args,
                ..Call::default()
            };
            let mut line = Line::new();
            print_arg(&mut line, mem, &call, &Kind::FutexRest, None, 2);
            String::from_utf8(line.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(rest(&mut mem, [0x9000, 0x80, 2, 0, 0, 0]), "2, NULL");
        assert_eq!(
            rest(&mut mem, [0x9000, 0x80, 2, 0x1000, 0, 0]),
            "2, {tv_sec=1, tv_nsec=0}"
        );
        assert_eq!(
            rest(&mut mem, [0x9000, 0x81, 2147483647, 0, 0, 0]),
            "2147483647"
        );
        assert_eq!(
            rest(&mut mem, [0x9000, 0x189, 0, 0, 0, 0xffff_ffff]),
            "0, NULL, FUTEX_BITSET_MATCH_ANY"
        );
        assert_eq!(
            rest(&mut mem, [0x9000, 0x84, 1, 2147483647, 0x9004, 0]),
            "1, 2147483647, 0x9004, 0"
        );
        assert_eq!(
            rest(&mut mem, [0x9000, 0x85, 1, 1, 0x9004, 0x0400_0001]),
            "1, 1, 0x9004, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1"
        );
        assert_eq!(rest(&mut mem, [0x9000, 0x86, 0, 0, 0, 0]), "NULL");
        assert_eq!(
            rest(&mut mem, [0x9000, 0x7f, 1, 2, 3, 4]),
            "1, 0x2, 0x3, 0x4"
        );
    }

    #[test]
    fn out_values() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, &[3, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(show(&mut mem, Kind::FdPair, &[0x1000], Some(0)), "[3, 4]");
        assert_eq!(show(&mut mem, Kind::FdPair, &[0x1000], Some(-24)), "0x1000");
        assert_eq!(show(&mut mem, Kind::IntOut, &[0x1000], Some(0)), "[3]");
        assert_eq!(show(&mut mem, Kind::IntOut, &[0], Some(0)), "NULL");
        mem.map(0x2000, &(9u32).to_le_bytes());
        assert_eq!(
            show(&mut mem, Kind::WaitStatus, &[0x2000], Some(42)),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]"
        );
        // wait4 returning 0 (WNOHANG, nothing yet) or failing leaves the status unread.
        assert_eq!(
            show(&mut mem, Kind::WaitStatus, &[0x2000], Some(0)),
            "0x2000"
        );
        assert_eq!(
            show(&mut mem, Kind::WaitStatus, &[0x2000], Some(-10)),
            "0x2000"
        );
    }

    #[test]
    fn iovecs_and_dirents() {
        let mut mem = FakeMemory::new();
        mem.map(0x1000, b"hello world\n");
        mem.map(0x2000, &words(&[0x1000, 5, 0x1005, 7]));
        assert_eq!(
            show(&mut mem, Kind::Iovec(1), &[0x2000, 2], None),
            "[{iov_base=\"hello\", iov_len=5}, {iov_base=\" world\\n\", iov_len=7}]"
        );
        // readv: only what was read is data.
        assert_eq!(
            show(&mut mem, Kind::Iovec(1), &[0x2000, 2], Some(7)),
            "[{iov_base=\"hello\", iov_len=5}, {iov_base=\" w\", iov_len=7}]"
        );
        assert_eq!(
            show(&mut mem, Kind::Iovec(1), &[0x2000, 2], Some(-9)),
            "0x2000"
        );
        assert_eq!(show(&mut mem, Kind::Iovec(1), &[0x9000, 2], None), "0x9000");
        assert_eq!(show(&mut mem, Kind::Iovec(1), &[0x2000, 0], None), "[]");
        assert_eq!(
            show(&mut mem, Kind::Iovec(1), &[0x2000, 3], None)
                .matches("iov_base")
                .count(),
            2
        );
        let mut dents = [0u8; 48];
        dents[16] = 24;
        dents[24 + 16] = 24;
        mem.map(0x3000, &dents);
        assert_eq!(
            show(&mut mem, Kind::Dirents, &[0x3000], Some(48)),
            "0x3000 /* 2 entries */"
        );
        assert_eq!(
            show(&mut mem, Kind::Dirents, &[0x3000], Some(24)),
            "0x3000 /* 1 entry */"
        );
        assert_eq!(
            show(&mut mem, Kind::Dirents, &[0x3000], Some(0)),
            "0x3000 /* 0 entries */"
        );
        assert_eq!(show(&mut mem, Kind::Dirents, &[0x3000], Some(-9)), "0x3000");
    }

    #[test]
    fn which_arguments_print() {
        let arg = |kind, cond| Arg {
            reg: 0,
            kind,
            phase: Phase::Entry,
            cond,
        };
        let call = |args: [u64; 6]| Call {
            args,
            ..Call::default()
        };
        let openat_mode = arg(
            Kind::Mode,
            Cond::AnyBit {
                reg: 2,
                mask: xlat::O_CREAT | xlat::__O_TMPFILE,
            },
        );
        assert!(!openat_mode.present(&call([0, 0, 0o2000000, 0, 0, 0])));
        assert!(openat_mode.present(&call([0, 0, 0o101, 0, 0, 0])));
        assert!(openat_mode.present(&call([0, 0, 0o20040002, 0, 0, 0])));
        // O_DIRECTORY alone (one bit of O_TMPFILE) takes no mode.
        assert!(!openat_mode.present(&call([0, 0, 0o2044000, 0, 0, 0])));
        let set_name = arg(Kind::Str, Cond::Is { reg: 0, value: 15 });
        assert!(set_name.present(&call([15, 0, 0, 0, 0, 0])));
        assert!(!set_name.present(&call([16, 0, 0, 0, 0, 0])));
        let other = arg(
            Kind::Hex,
            Cond::IsNot {
                reg: 0,
                values: &[15, 16],
            },
        );
        assert!(!other.present(&call([15, 0, 0, 0, 0, 0])));
        assert!(other.present(&call([4, 0, 0, 0, 0, 0])));
        let fcntl = arg(Kind::FcntlArg, Cond::FcntlTakesArg);
        assert!(!fcntl.present(&call([3, xlat::F_GETFD, 0, 0, 0, 0])));
        assert!(fcntl.present(&call([3, xlat::F_SETFD, 1, 0, 0, 0])));
        let futex_rest = arg(Kind::FutexRest, Cond::FutexArgs(3));
        assert!(futex_rest.present(&call([0, 0x80, 0, 0, 0, 0])));
        assert!(!futex_rest.present(&call([0, 0x87, 0, 0, 0, 0])));
        let mut mem = FakeMemory::new();
        assert_eq!(
            show(&mut mem, Kind::FcntlArg, &[1, xlat::F_SETFD], None),
            "FD_CLOEXEC"
        );
        let mut c = Call::default();
        c.args[1] = xlat::F_SETFL;
        c.args[2] = 0o4002;
        let mut line = Line::new();
        print_arg(&mut line, &mut mem, &c, &Kind::FcntlArg, None, 2);
        assert_eq!(line.as_bytes(), b"O_RDWR|O_NONBLOCK");
        assert!(is_error(-1) && is_error(-4095) && !is_error(-4096) && !is_error(0));
    }
}
