//! `/sys/kernel/debug/provoke-crash/DIRECT`: Linux's LKDTM direct-entry crash trigger, for
//! seeing (and testing) what the kernel reports when it dies. Writing a crash type performs it
//! at once; reading lists the types.
//!
//! - `BUG`: `BUG()`, i.e. `brk #0x800`, reported by the BUG hook;
//! - `EXCEPTION`: a store through a NULL pointer;
//! - `WRITE_KERN`: a store into kernel text, which is mapped read-only;
//! - `PANIC`: a Rust panic;
//! - `EXHAUST_STACK`: recursion with a large frame until the kernel stack runs into its guard,
//!   which the EL1 vector entry catches and reports from the overflow stack.

use core::fmt::{self, Write};

use crate::fs::{self, Errno, WriteMode};
use crate::println;

const CRASH_TYPES: &[&str] = &["BUG", "EXCEPTION", "EXHAUST_STACK", "PANIC", "WRITE_KERN"];

/// Each recursion's buffer (Linux: `REC_STACK_SIZE`, `CONFIG_FRAME_WARN` (2048) / 2).
const REC_STACK_SIZE: usize = 1024;
/// Recursion depth: twice what a stack holds (Linux: `REC_NUM_DEFAULT`).
const REC_NUM_DEFAULT: usize = (arch::stack::THREAD_SIZE / REC_STACK_SIZE) * 2;

struct ProvokeCrash;

#[inline(never)]
fn lkdtm_bug() -> ! {
    crate::bug!()
}

#[inline(never)]
fn lkdtm_exception() -> ! {
    // SAFETY: deliberately faults: the store to address 0 is a translation fault (nothing is
    // mapped at 0), which kills the kernel with a report; the asm never returns.
    unsafe {
        core::arch::asm!(
            "mov x0, #0",
            "str wzr, [x0]",
            "udf #0",
            options(noreturn, nostack)
        )
    }
}

/// Linux's `recursive_loop`: a frame of [`REC_STACK_SIZE`] bytes, written and read through
/// volatile accesses so neither the buffer nor the recursion (not a tail call) is optimized
/// away. The buffer is filled by this function's own stores (no zeroing `memset` first), so
/// the store that reaches the guard, and the report's pc, is in this function.
#[inline(never)]
fn recursive_loop(remaining: usize) -> usize {
    let mut buf = core::mem::MaybeUninit::<[u8; REC_STACK_SIZE]>::uninit();
    let bytes = buf.as_mut_ptr().cast::<u8>();
    for i in 0..REC_STACK_SIZE {
        // SAFETY: within the local buffer.
        unsafe { bytes.add(i).write_volatile(remaining as u8) };
    }
    let ret = if remaining == 0 {
        0
    } else {
        // SAFETY: within the local buffer, written above.
        let next = unsafe { bytes.add(remaining % REC_STACK_SIZE).read_volatile() };
        recursive_loop(usize::from(next).wrapping_sub(1))
    };
    core::hint::black_box(&mut buf);
    ret
}

#[inline(never)]
fn lkdtm_exhaust_stack() {
    println!(
        "lkdtm: Calling function with {REC_STACK_SIZE} frame size to depth {REC_NUM_DEFAULT} ..."
    );
    core::hint::black_box(recursive_loop(REC_NUM_DEFAULT));
    println!("lkdtm: FAIL: survived without exhausting stack?!");
}

#[inline(never)]
fn lkdtm_write_kern() -> ! {
    let target = lkdtm_bug as *const () as u64;
    println!("lkdtm: attempting bad write to kernel text at {target:#x}");
    // SAFETY: deliberately faults: kernel text is mapped read-only, so the store takes a
    // permission fault and the kernel dies with a report; the asm never returns.
    unsafe {
        core::arch::asm!("str wzr, [{0}]", "udf #0", in(reg) target, options(noreturn, nostack))
    }
}

impl fs::FileOps for ProvokeCrash {
    fn read(&self, out: &mut dyn Write) -> Result<(), Errno> {
        let list = |out: &mut dyn Write| -> fmt::Result {
            writeln!(out, "Available crash types:")?;
            CRASH_TYPES.iter().try_for_each(|t| writeln!(out, "{t}"))
        };
        list(out).map_err(|_| Errno::EIO)
    }

    fn write(&self, data: &[u8], _mode: WriteMode) -> Result<(), Errno> {
        let name = core::str::from_utf8(data)
            .map_err(|_| Errno::EINVAL)?
            .trim();
        if !CRASH_TYPES.contains(&name) {
            return Err(Errno::EINVAL);
        }
        println!("lkdtm: Performing direct entry {name}");
        match name {
            "BUG" => lkdtm_bug(),
            "EXCEPTION" => lkdtm_exception(),
            "WRITE_KERN" => lkdtm_write_kern(),
            "EXHAUST_STACK" => {
                lkdtm_exhaust_stack();
                Ok(())
            }
            _ => panic!("dumptest"),
        }
    }

    fn mode(&self) -> u16 {
        0o600
    }
}

pub fn init() {
    fs::register_file("/sys/kernel/debug/provoke-crash/DIRECT", ProvokeCrash)
        .expect("debugfs: DIRECT registers once");
}
