//! The tracefs files of this layer, mounted at `/sys/kernel/tracing`, and `/proc/kallsyms`.
//! Tracers and probes register their own files next to these as they arrive.

use core::fmt::{self, Write};

use crate::fs::{self, Errno};
use crate::symbols;
use crate::trace::ftrace;

pub const TRACEFS: &str = "/sys/kernel/tracing";

/// One traceable function per line, in address order (Linux prints the symbol of each record).
fn available_filter_functions(out: &mut dyn Write) -> fmt::Result {
    let table = symbols::functions();
    for rec in ftrace::records() {
        match table.lookup(rec.func()) {
            Some(sym) => writeln!(out, "{}", sym.name)?,
            None => writeln!(out, "{:#x}", rec.func())?,
        }
    }
    Ok(())
}

/// `/proc/kallsyms`: `address type name`, as Linux prints it.
fn kallsyms(out: &mut dyn Write) -> fmt::Result {
    for sym in symbols::kallsyms().iter() {
        writeln!(out, "{:016x} {} {}", sym.addr, sym.kind as char, sym.name)?;
    }
    Ok(())
}

/// Creates one of the tracing files at boot (Linux: `trace_create_file`). The paths are fixed
/// and created once, so a failure is a bug in the kernel, not a runtime error.
pub fn create_file(path: &str, file: impl fs::FileOps + 'static) {
    fs::register_file(path, file)
        .unwrap_or_else(|e: Errno| panic!("tracefs: cannot register {path}: {e}"));
}

fn register(path: &str, read: fn(&mut dyn Write) -> fmt::Result) {
    create_file(path, fs::read_only(move |out| Ok(read(out)?)));
}

pub fn init() {
    crate::trace::readme::init(TRACEFS);
    register(
        "/sys/kernel/tracing/available_filter_functions",
        available_filter_functions,
    );
    register("/proc/kallsyms", kallsyms);
    crate::trace::trace::init(TRACEFS);
}
