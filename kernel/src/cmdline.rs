//! `/proc/cmdline` (Linux: `fs/proc/cmdline.c`): the kernel command line the device tree passes
//! in `/chosen/bootargs` (QEMU's `-append`). Its show function is also what the live-patch
//! sample in [`crate::livepatch`] replaces, as Linux's `samples/livepatch` does.

use core::fmt::{self, Write};

use crate::board;
use crate::fs::{self, Errno};

/// Prints the command line and a newline. Kept out of line and traceable: it has its own
/// ftrace site, which the live patch redirects.
#[inline(never)]
pub fn cmdline_proc_show(out: &mut dyn Write) -> fmt::Result {
    writeln!(out, "{}", board::info().bootargs)
}

pub fn init() {
    let file = fs::read_only(|out| Ok(cmdline_proc_show(out)?));
    fs::register_file("/proc/cmdline", file)
        .unwrap_or_else(|e: Errno| panic!("cannot register /proc/cmdline: {e}"));
}
