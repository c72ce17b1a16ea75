//! Memory syscalls beyond `mmap`/`munmap`/`brk` (Linux: `mm/mprotect.c`, `mm/madvise.c`):
//! `mprotect` changes the protection of a range in place ([`crate::process::mm::Mm::mprotect`]),
//! `madvise` takes Linux's advice values and acts on the one that changes what a program sees.

use arch::exception::TrapFrame;

use super::{PROT_EXEC, PROT_READ, PROT_WRITE, SysResult};
use crate::binfmt_elf::PAGE_SIZE;
use crate::fs::Errno;
use crate::process::Process;

/// `mprotect`'s flags for stacks that grow (include/uapi/asm-generic/mman-common.h): only valid
/// on a mapping that grows, which none here does.
const PROT_GROWSDOWN: u64 = 0x0100_0000;
const PROT_GROWSUP: u64 = 0x0200_0000;

/// `PROT_SEM`: accepted and meaningless on arm64, as on Linux (`arch_validate_prot`).
const PROT_SEM: u64 = 0x8;

/// `mprotect(addr, len, prot)`, with Linux's checks in Linux's order: `EINVAL` for an
/// unaligned address, 0 for an empty range, `ENOMEM` for one that wraps, `EINVAL` for unknown
/// bits (`PROT_BTI` and `PROT_MTE` too: the CPU has neither) or a stack-growth flag (no mapping
/// grows here), then `ENOMEM` for unmapped pages ([`crate::process::mm::Mm::mprotect`]).
pub fn sys_mprotect(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [addr, len, prot] = [frame.regs[0], frame.regs[1], frame.regs[2]];
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = len
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::ENOMEM)?;
    if addr.checked_add(len).is_none() {
        return Err(Errno::ENOMEM);
    }
    if prot & (PROT_GROWSDOWN | PROT_GROWSUP) != 0
        || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0
    {
        return Err(Errno::EINVAL);
    }
    let prot = prot & !PROT_SEM;
    process.mm().mprotect(
        addr,
        len,
        prot == 0,
        prot & PROT_WRITE != 0,
        prot & PROT_EXEC != 0,
    )?;
    Ok(0)
}

// madvise's advice (include/uapi/asm-generic/mman-common.h).
const MADV_NORMAL: u64 = 0;
const MADV_RANDOM: u64 = 1;
const MADV_SEQUENTIAL: u64 = 2;
const MADV_WILLNEED: u64 = 3;
const MADV_DONTNEED: u64 = 4;
const MADV_FREE: u64 = 8;
const MADV_REMOVE: u64 = 9;
const MADV_DONTFORK: u64 = 10;
const MADV_DOFORK: u64 = 11;
const MADV_MERGEABLE: u64 = 12;
const MADV_UNMERGEABLE: u64 = 13;
const MADV_HUGEPAGE: u64 = 14;
const MADV_NOHUGEPAGE: u64 = 15;
const MADV_DONTDUMP: u64 = 16;
const MADV_DODUMP: u64 = 17;
const MADV_WIPEONFORK: u64 = 18;
const MADV_KEEPONFORK: u64 = 19;
const MADV_COLD: u64 = 20;
const MADV_PAGEOUT: u64 = 21;

/// `madvise(addr, len, advice)`: `EINVAL` for an unaligned address, an unknown advice or a
/// range that wraps; `ENOMEM` for a range with unmapped pages (after acting on the rest, as
/// Linux). `MADV_DONTNEED` (and `MADV_FREE`, which Linux may
/// treat the same way) zero the range's private anonymous pages, as Linux's next access sees
/// them; every other advice is a hint about paging, which this kernel (no swap, no huge pages,
/// no core dumps) has nothing to do for.
pub fn sys_madvise(process: &mut Process, frame: &mut TrapFrame) -> SysResult {
    let [addr, len, advice] = [frame.regs[0], frame.regs[1], frame.regs[2]];
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    match advice {
        MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_DONTNEED | MADV_FREE
        | MADV_REMOVE | MADV_DONTFORK | MADV_DOFORK | MADV_MERGEABLE | MADV_UNMERGEABLE
        | MADV_HUGEPAGE | MADV_NOHUGEPAGE | MADV_DONTDUMP | MADV_DODUMP | MADV_WIPEONFORK
        | MADV_KEEPONFORK | MADV_COLD | MADV_PAGEOUT => {}
        _ => return Err(Errno::EINVAL),
    }
    let len = len
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::EINVAL)?;
    if len == 0 {
        return Ok(0);
    }
    addr.checked_add(len).ok_or(Errno::EINVAL)?;
    process
        .mm()
        .madvise(addr, len, matches!(advice, MADV_DONTNEED | MADV_FREE))?;
    Ok(0)
}
