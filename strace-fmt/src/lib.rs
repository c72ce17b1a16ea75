//! The pure half of the `strace` user program (user/src/bin/strace.rs): everything that turns
//! ptrace stops into strace's output lines, with no system calls of its own, so `cargo test`
//! covers it on the host.
//!
//! - [`cli`]: the command line, and what each `wait4` status word means.
//! - [`out`]: the line buffer and strace's column rules (results aligned at column 40).
//! - [`quote`]: strings escaped and truncated as `strace -s 32` prints them.
//! - [`xlat`]: Linux's arm64 constants by name: errnos with glibc's texts, signals, `si_code`s,
//!   open/mmap/clone/wait flags, tty ioctls.
//! - [`mem`]: the tracee's memory as words (`PTRACE_PEEKDATA`), and strings and structs read
//!   through it.
//! - [`table`]: the system call table (names and argument kinds from Linux's arm64 table).
//! - [`decode`]: one argument of each kind, printed as strace prints it.
//! - [`session`]: strace's tracing state (one record per tracee, which line is open,
//!   `<unfinished ...>`/`<... resumed>`, `[pid N]` prefixes) driven by wait4's stops.
//!
//! The formats follow strace's sources (`syscall.c`, `strace.c`, `util.c`, `printsiginfo.c`,
//! `signal.c`, `execve.c` and the `xlat/` tables), in its default abbreviated style.
#![cfg_attr(not(test), no_std)]

pub mod cli;
pub mod decode;
pub mod mem;
pub mod out;
pub mod quote;
pub mod session;
pub mod table;
pub mod xlat;
