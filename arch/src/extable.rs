//! The exception table and the nofault accessors built on it (Linux: `extable.c`,
//! `copy_{from,to}_kernel_nofault`).
//!
//! Each accessor in `asm/nofault.s` registers its one load or store in `__ex_table` together
//! with a fixup. A data abort at EL1 looks the faulting PC up here; on a hit execution resumes
//! at the fixup, which returns `-EFAULT`, instead of dying. Backtraces, ptrace PEEK/POKE and
//! probe-event memory fetches use these to read addresses that may not be mapped.

use crate::exception::TrapFrame;

/// An exception-table entry: the instruction that may fault, and where to continue.
#[repr(C)]
struct ExceptionTableEntry {
    insn: u64,
    fixup: u64,
}

core::arch::global_asm!(include_str!("asm/nofault.s"));
core::arch::global_asm!(include_str!("asm/uaccess.s"));

unsafe extern "C" {
    static __start___ex_table: ExceptionTableEntry;
    static __stop___ex_table: ExceptionTableEntry;
    fn __nofault_read_u8(addr: u64, out: *mut u8) -> i64;
    fn __nofault_read_u32(addr: u64, out: *mut u32) -> i64;
    fn __nofault_read_u64(addr: u64, out: *mut u64) -> i64;
    fn __nofault_write_u32(addr: u64, value: u32) -> i64;
    fn __nofault_write_u64(addr: u64, value: u64) -> i64;
    fn __arch_copy_from_user(to: *mut u8, from: u64, n: usize) -> usize;
    fn __arch_copy_to_user(to: u64, from: *const u8, n: usize) -> usize;
    fn __arch_strncpy_from_user(to: *mut u8, from: u64, n: usize) -> i64;
}

/// The access faulted (Linux's -EFAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Efault;

fn table() -> &'static [ExceptionTableEntry] {
    // SAFETY: the linker script brackets __ex_table with these symbols; it holds only
    // ExceptionTableEntry records (two 8-aligned quads each) emitted by nofault.s.
    unsafe {
        let start = core::ptr::addr_of!(__start___ex_table);
        let stop = core::ptr::addr_of!(__stop___ex_table);
        core::slice::from_raw_parts(start, stop.offset_from(start) as usize)
    }
}

crate::noinstr! {
/// If the faulting instruction has a fixup, redirect `frame` to it and return true.
pub fn fixup_exception(frame: &mut TrapFrame) -> bool {
    match table().iter().find(|entry| entry.insn == frame.pc) {
        Some(entry) => {
            frame.pc = entry.fixup;
            true
        }
        None => false,
    }
}
}

crate::noinstr! {
/// Whether the instruction at `addr` has a fixup (Linux's `search_exception_tables`): a kprobe
/// must not move it out of line, where the fault would find no entry.
pub fn search_exception_tables(addr: u64) -> bool {
    let entries = table();
    let mut i = 0;
    while i < entries.len() {
        if entries[i].insn == addr {
            return true;
        }
        i += 1;
    }
    false
}
}

#[inline(always)]
fn result(ret: i64) -> Result<(), Efault> {
    if ret == 0 { Ok(()) } else { Err(Efault) }
}

// Untraced: the stack walkers of the tracers (noinstr) read frames with these.
macro_rules! nofault_read {
    ($name:ident, $raw:ident, $ty:ty) => {
        crate::noinstr! {
        #[doc = concat!("Reads a `", stringify!($ty), "` at `addr`, or `Efault` if it is not mapped readable.")]
        #[doc = ""]
        #[doc = "`noinstr`: stack walkers call it from inside tracing callbacks."]
        pub fn $name(addr: u64) -> Result<$ty, Efault> {
            let mut value: $ty = 0;
            // SAFETY: the accessor's only access that can fault is covered by __ex_table, and
            // `value` is a valid destination.
            if unsafe { $raw(addr, &mut value) } != 0 {
                return Err(Efault);
            }
            Ok(value)
        }
        }
    };
}

nofault_read!(read_u8_nofault, __nofault_read_u8, u8);
nofault_read!(read_u32_nofault, __nofault_read_u32, u32);
nofault_read!(read_u64_nofault, __nofault_read_u64, u64);

/// Writes a `u32` at `addr`, or `Efault` if it is not mapped writable (kernel text included).
///
/// # Safety
/// If the address is writable, the store really happens: it must not break any Rust invariant.
pub unsafe fn write_u32_nofault(addr: u64, value: u32) -> Result<(), Efault> {
    // SAFETY: a fault is caught by __ex_table; the caller vouches for the store itself.
    result(unsafe { __nofault_write_u32(addr, value) })
}

/// Writes a `u64` at `addr`, or `Efault` if it is not mapped writable.
///
/// # Safety
/// As for [`write_u32_nofault`].
pub unsafe fn write_u64_nofault(addr: u64, value: u64) -> Result<(), Efault> {
    // SAFETY: as in write_u32_nofault.
    result(unsafe { __nofault_write_u64(addr, value) })
}

/// Copies `to.len()` bytes from the user address `from`; returns how many were NOT copied (0 on
/// success). The caller has checked that the range is a user range (below `TASK_SIZE`).
pub fn raw_copy_from_user(to: &mut [u8], from: u64) -> usize {
    // SAFETY: `to` is a valid kernel destination; the user loads are covered by __ex_table.
    unsafe { __arch_copy_from_user(to.as_mut_ptr(), from, to.len()) }
}

/// Copies `from` to the user address `to`; returns how many bytes were NOT copied. The caller
/// has checked that the range is a user range (below `TASK_SIZE`).
pub fn raw_copy_to_user(to: u64, from: &[u8]) -> usize {
    // SAFETY: `from` is a valid kernel source; the user stores are covered by __ex_table.
    unsafe { __arch_copy_to_user(to, from.as_ptr(), from.len()) }
}

/// Copies a NUL-terminated string from the user address `from` into `to`: its length when the
/// NUL came within `to.len()` bytes, `to.len()` when it did not, `Efault` on a fault. The
/// caller has checked that the range is a user range.
pub fn raw_strncpy_from_user(to: &mut [u8], from: u64) -> Result<usize, Efault> {
    // SAFETY: `to` is a valid kernel destination; the user loads are covered by __ex_table.
    let ret = unsafe { __arch_strncpy_from_user(to.as_mut_ptr(), from, to.len()) };
    usize::try_from(ret).map_err(|_| Efault)
}
