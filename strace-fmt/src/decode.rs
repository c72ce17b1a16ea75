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
    OpenFlags,
    /// Flags of a table.
    Flags(Xlat),
    /// A value of a table.
    Xval(Xlat, &'static str),
    /// A file mode (`0644`).
    Mode,
    Prot,
    MmapFlags,
    Signal,
    /// A pointer to a sigset.
    Sigset,
    /// A pointer to a `struct sigaction`.
    SigAction,
    /// A pointer to a `struct timespec`.
    Timespec,
    /// A pointer to a `struct stat`.
    Stat,
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
    /// An ioctl request.
    Ioctl,
    /// fcntl's third argument, which depends on the command.
    FcntlArg,
    CloneFlags,
    FutexOp,
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
        }
    }

    pub fn at_exit(&self) -> bool {
        self.phase != Phase::Entry
    }
}

fn fcntl_takes_arg(cmd: u64) -> bool {
    !matches!(cmd, 1 | 3 | 9 | 11 | 1025 | 1032 | 1034)
}

/// How many arguments strace prints for a futex operation.
fn futex_arity(op: u64) -> u8 {
    match op & 0x7f {
        0 => 4,             // WAIT: uaddr, op, val, timeout
        1 | 2 | 7 | 8 => 3, // WAKE, FD, UNLOCK_PI, TRYLOCK_PI
        6 | 13 => 4,        // LOCK_PI(2): timeout
        9 | 10 => 6,        // *_BITSET: ..., NULL, bitset
        _ => 6,
    }
}

/// What the exit stop returned: the raw x0 (`None` at entry).
pub type Ret = Option<i64>;

/// Whether x0 is `-errno` (strace's `is_negated_errno`: -4095..-1).
pub fn is_error(ret: i64) -> bool {
    (-4095..0).contains(&ret)
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
        Kind::OpenFlags => xlat::print_open_flags(out, value),
        Kind::Flags(table) => xlat::print_flags(out, table, value),
        Kind::Xval(table, unknown) => xlat::print_xval(out, table, value, unknown),
        Kind::Mode => out.mode(value),
        Kind::Prot => xlat::print_flags(out, xlat::PROT_FLAGS, value),
        Kind::MmapFlags => xlat::print_mmap_flags(out, value),
        Kind::Signal => xlat::print_signal(out, value as i32 as i64 as u64 & 0xffff_ffff),
        Kind::Sigset => print_sigset_at(out, mem, value, ret),
        Kind::SigAction => print_sigaction(out, mem, value, ret),
        Kind::Timespec => print_timespec(out, mem, value, ret),
        Kind::Stat => print_stat(out, mem, value, ret),
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
        Kind::WaitStatus => match fetch(mem, value, ret.filter(|r| *r != 0), 4) {
            Some(status) => xlat::print_wait_status(out, status as u32),
            None => out.addr(value),
        },
        Kind::Argv => print_argv(out, mem, value),
        Kind::Envp => print_envp(out, mem, value),
        Kind::Ioctl => match xlat::lookup(xlat::TTY_IOCTLS, value & 0xffff_ffff) {
            Some(name) => out.push_str(name),
            None => out.hex(value & 0xffff_ffff),
        },
        Kind::FcntlArg => match call.args[1] {
            xlat::F_SETFD => xlat::print_flags(out, xlat::FD_FLAGS, value),
            xlat::F_SETFL => xlat::print_open_flags(out, value),
            5..=7 => out.addr(value),
            _ => out.dec(value as i32 as i64),
        },
        Kind::CloneFlags => xlat::print_clone_flags(out, value),
        Kind::FutexOp => xlat::print_futex_op(out, value),
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
    xlat::print_flags(out, xlat::SA_FLAGS, flags);
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
