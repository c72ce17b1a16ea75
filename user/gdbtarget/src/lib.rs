//! The half of `gdbserver` (user/src/bin/gdbserver.rs) that needs no kernel, so it is unit-tested
//! on the host: what gdb's Remote Serial Protocol (through the `gdbstub` crate) and Linux's arm64
//! ptrace(2) ABI say about the same things, and the conversions between them.
//!
//! - [`regs`]: `struct user_pt_regs` (`NT_PRSTATUS`) and `struct user_fpsimd_state`
//!   (`NT_PRFPREG`) as gdb's aarch64 core and fpu registers; [`arch`] the `gdbstub` `Arch`
//!   with the target description gdb reads.
//! - [`wait`]: `wait4` status words and the `siginfo_t` fields a stop report needs.
//! - [`mem`]: memory accesses of any alignment as the word accesses `PEEKDATA`/`POKEDATA` do.
//! - [`breakpoints`]: software breakpoints (`brk #0` patched over an instruction).
//! - [`watch`]: hardware watchpoints as `struct user_hwdebug_state` (`NT_ARM_HW_WATCH`).
#![cfg_attr(not(test), no_std)]

pub mod arch;
pub mod breakpoints;
pub mod mem;
pub mod regs;
pub mod wait;
pub mod watch;
