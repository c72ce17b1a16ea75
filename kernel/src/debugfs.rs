//! `/sys/kernel/debug/provoke-crash/DIRECT`: Linux's LKDTM direct-entry crash trigger, for
//! seeing (and testing) what the kernel reports when it dies. Writing a crash type performs it
//! at once; reading lists the types.
//!
//! - `BUG`: `BUG()`, i.e. `brk #0x800`, reported by the BUG hook;
//! - `EXCEPTION`: a store through a NULL pointer;
//! - `WRITE_KERN`: a store into kernel text, which is mapped read-only;
//! - `PANIC`: a Rust panic.

use core::fmt::{self, Write};

use crate::fs::{self, Errno, WriteMode};
use crate::println;

const CRASH_TYPES: &[&str] = &["BUG", "EXCEPTION", "PANIC", "WRITE_KERN"];

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
