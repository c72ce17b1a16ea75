//! The only way the kernel touches user memory (Linux: `copy_from_user`, `copy_to_user`,
//! `strncpy_from_user`, `access_ok`).
//!
//! This kernel targets ARMv8.0, which has no PAN (Privileged Access Never): at EL1 every
//! EL0-accessible page is reachable by any load or store, so nothing in hardware stops a stray
//! dereference of a user pointer. The rule is therefore enforced by review: syscalls take user
//! addresses as plain `u64`s, never as references or raw pointers, and reach them only through
//! these helpers. Each helper first checks that the whole range lies below `TASK_SIZE` (so a
//! "user" pointer into the kernel's half is `EFAULT` before anything is read), then copies with
//! the `arch` accessors, whose user loads and stores have exception-table fixups: an unmapped
//! or read-only page ends the copy with `EFAULT` instead of a kernel fault.

use alloc::vec::Vec;

use arch::pgtable::TASK_SIZE;

use crate::fs::Errno;

/// Whether `[addr, addr + len)` lies in the user half (Linux: `access_ok`).
pub fn access_ok(addr: u64, len: usize) -> bool {
    (len as u64) <= TASK_SIZE && addr <= TASK_SIZE - len as u64
}

/// Fills `to` from the user address `from`; `EFAULT` unless all of it could be read.
pub fn copy_from_user(to: &mut [u8], from: u64) -> Result<(), Errno> {
    if !access_ok(from, to.len()) || arch::extable::raw_copy_from_user(to, from) != 0 {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// Copies `from` to the user address `to`; `EFAULT` unless all of it could be written.
pub fn copy_to_user(to: u64, from: &[u8]) -> Result<(), Errno> {
    if !access_ok(to, from.len()) || arch::extable::raw_copy_to_user(to, from) != 0 {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// Copies as much of `from` as possible to the user address `to` and returns how much that
/// was (the partial-copy form `write`-like syscalls need).
pub fn copy_to_user_partial(to: u64, from: &[u8]) -> usize {
    if !access_ok(to, from.len()) {
        return 0;
    }
    from.len() - arch::extable::raw_copy_to_user(to, from)
}

/// Fills as much of `to` as possible from the user address `from` and returns how much that
/// was.
pub fn copy_from_user_partial(to: &mut [u8], from: u64) -> usize {
    if !access_ok(from, to.len()) {
        return 0;
    }
    to.len() - arch::extable::raw_copy_from_user(to, from)
}

/// Reads a `u64` from user memory.
pub fn get_user_u64(from: u64) -> Result<u64, Errno> {
    let mut bytes = [0; 8];
    copy_from_user(&mut bytes, from)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Writes a `u64` to user memory.
pub fn put_user_u64(to: u64, value: u64) -> Result<(), Errno> {
    copy_to_user(to, &value.to_le_bytes())
}

/// A NUL-terminated user string of at most `max` bytes (NUL excluded): `ENAMETOOLONG` when
/// no NUL comes in time, `EFAULT` on a bad pointer, `ENOMEM` when the buffer cannot grow. Read
/// in pieces, so the buffer is only as large as the string.
pub fn strndup_user(from: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        let addr = from.checked_add(out.len() as u64).ok_or(Errno::EFAULT)?;
        // Only the part of the range below TASK_SIZE may be read; a string running past it
        // faults.
        let room = (TASK_SIZE.saturating_sub(addr) as usize).min(chunk.len());
        if room == 0 {
            return Err(Errno::EFAULT);
        }
        let len = arch::extable::raw_strncpy_from_user(&mut chunk[..room], addr)
            .map_err(|_| Errno::EFAULT)?;
        let take = len.min(max + 1 - out.len());
        out.try_reserve(take).map_err(|_| Errno::ENOMEM)?;
        out.extend_from_slice(&chunk[..take]);
        if out.len() > max {
            return Err(Errno::ENAMETOOLONG);
        }
        if len < room {
            return Ok(out);
        }
    }
}
