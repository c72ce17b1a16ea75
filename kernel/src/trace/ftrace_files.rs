//! The ftrace core's own files: `enabled_functions` (Linux: `t_show` with
//! `FTRACE_ITER_ENABLED` in `kernel/trace/ftrace.c`) and `/proc/sys/kernel/ftrace_enabled`
//! (Linux's `ftrace_enable_sysctl`).
//!
//! `enabled_functions` lists each function some ops wants, in `available_filter_functions`
//! order: `name (refs)`, then the flag columns ` R` (SAVE_REGS), ` I` (IPMODIFY), ` D` (direct
//! call: never, we have none), ` O` (the site calls its only ops directly), ` M ` (modified by
//! an IPMODIFY ops; Linux keeps this once set, we show it while IPMODIFY is), each blank when
//! off; for an ` O` site, `\tops: OPS (FUNC)`, the ops and its callback each as `%pS`
//! (`kernel::trace::trace_functions::FUNCTION_OPS+0x0/0x20`, as Linux's `global_ops+0x0/0xd8`; an ops
//! outside the symbol table, as Linux's allocated ones, prints as its address). arm64 has no
//! trampolines, so no `tramp:` or `->` parts.

use core::fmt::{self, Write};

use super::ftrace_plan::{FTRACE_FL_CALL_OPS, FTRACE_FL_IPMODIFY, FTRACE_FL_REGS, FTRACE_REF_MAX};
use crate::symbols::SymbolizedAddr;

/// What an ` O` line shows after `ops: `: the ops and its callback, symbolized.
#[derive(Clone, Copy, Debug)]
pub struct CallOpsText<'a> {
    pub ops: SymbolizedAddr<'a>,
    pub func: SymbolizedAddr<'a>,
}

/// One `enabled_functions` line. `call_ops` is the ops a CALL_OPS site calls.
pub fn write_enabled_function(
    w: &mut dyn Write,
    name: &str,
    flags: u32,
    call_ops: Option<CallOpsText<'_>>,
) -> fmt::Result {
    let on = |bit: u32, text: &'static str, blank: &'static str| {
        if flags & bit != 0 { text } else { blank }
    };
    write!(
        w,
        "{name} ({}){}{}  {}{}",
        flags & FTRACE_REF_MAX,
        on(FTRACE_FL_REGS, " R", "  "),
        on(FTRACE_FL_IPMODIFY, " I", "  "),
        on(FTRACE_FL_CALL_OPS, " O", "  "),
        on(FTRACE_FL_IPMODIFY, " M ", "   "),
    )?;
    if let Some(CallOpsText { ops, func }) = call_ops.filter(|_| flags & FTRACE_FL_CALL_OPS != 0) {
        write!(w, "\tops: {ops} ({func})")?;
    }
    w.write_char('\n')
}

/// A write to `ftrace_enabled`: an integer, as `proc_dointvec` reads it; non-zero is on.
pub fn parse_ftrace_enabled(data: &[u8]) -> Option<bool> {
    let text = core::str::from_utf8(data).ok()?.trim();
    text.parse::<i32>().ok().map(|v| v != 0)
}

#[cfg(target_os = "none")]
mod files {
    use core::fmt::Write;

    use super::{CallOpsText, parse_ftrace_enabled, write_enabled_function};
    use crate::fs::{self, Errno};
    use crate::symbols;
    use crate::trace::ftrace_ops::{enabled_sites, ftrace_enabled, set_ftrace_enabled};
    use crate::tracefs::create_file;

    fn read_enabled_functions(w: &mut dyn Write) -> Result<(), Errno> {
        let functions = symbols::functions();
        for site in enabled_sites() {
            let hex = alloc::format!("{:#x}", site.func);
            let name = functions.lookup(site.func).map_or(hex.as_str(), |s| s.name);
            let call_ops = site.call_ops.map(|c| CallOpsText {
                ops: symbols::symbolize(c.ops),
                func: symbols::symbolize(c.func),
            });
            write_enabled_function(w, name, site.flags, call_ops)?;
        }
        Ok(())
    }

    fn write_ftrace_enabled(data: &[u8]) -> Result<(), Errno> {
        set_ftrace_enabled(parse_ftrace_enabled(data).ok_or(Errno::EINVAL)?)
    }

    /// `enabled_functions` under `tracefs`, and `/proc/sys/kernel/ftrace_enabled`.
    pub fn init(tracefs: &str) {
        create_file(
            &alloc::format!("{tracefs}/enabled_functions"),
            fs::read_only(read_enabled_functions),
        );
        create_file(
            "/proc/sys/kernel/ftrace_enabled",
            fs::read_write(
                |w| Ok(writeln!(w, "{}", u8::from(ftrace_enabled()))?),
                |data, _| write_ftrace_enabled(data),
            ),
        );
    }
}

#[cfg(target_os = "none")]
pub use files::init;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::format::{SymbolIn, Table, encode};
    use crate::symbols::format_addr;
    use std::string::String;
    use std::vec::Vec;

    const OPS: u64 = 0xffff_ff80_402e_a448;
    const CALLBACK: u64 = 0xffff_ff80_4021_0000;

    fn table_bytes() -> Vec<u8> {
        encode(&[
            SymbolIn {
                addr: CALLBACK,
                size: 0x100,
                kind: b't',
                name: "kernel::trace::trace_functions::function_trace_call",
            },
            SymbolIn {
                addr: OPS,
                size: 0x20,
                kind: b'd',
                name: "kernel::trace::trace_functions::FUNCTION_OPS",
            },
        ])
    }

    fn line(name: &str, flags: u32, call_ops: Option<(u64, u64)>) -> String {
        let bytes = table_bytes();
        let table = Table::parse(&bytes).unwrap();
        let call_ops = call_ops.map(|(ops, func)| CallOpsText {
            ops: format_addr(&table, ops),
            func: format_addr(&table, func),
        });
        let mut out = String::new();
        write_enabled_function(&mut out, name, flags, call_ops).unwrap();
        out
    }

    #[test]
    fn enabled_function_lines_match_linux_columns() {
        // One plain ops, called through the list: every column blank.
        // " (%ld)" then "  " per R/I/D/O column and "   " for M.
        assert_eq!(line("schedule", 2, None), "schedule (2)           \n");
        // The only ops, called directly: `ops: %pS (%pS)`, the ops object then its callback,
        // as Linux's "vfs_read (1)       O   \tops: global_ops+0x0/0xd8 (function_trace_call+0x0/0x100)".
        assert_eq!(
            line("fib", 1 | FTRACE_FL_CALL_OPS, Some((OPS, CALLBACK))),
            "fib (1)       O   \tops: kernel::trace::trace_functions::FUNCTION_OPS+0x0/0x20 \
             (kernel::trace::trace_functions::function_trace_call+0x0/0x100)\n"
        );
        // An ops the table does not know (Linux: an allocated one) prints as its address.
        assert_eq!(
            line(
                "fib",
                1 | FTRACE_FL_CALL_OPS,
                Some((0xffff_0000_1234_5678, CALLBACK))
            ),
            "fib (1)       O   \tops: 0xffff000012345678 \
             (kernel::trace::trace_functions::function_trace_call+0x0/0x100)\n"
        );
        // No CALL_OPS flag: no ops part, whatever the caller passed.
        assert_eq!(
            line("fib", 1, Some((OPS, CALLBACK))),
            "fib (1)           \n"
        );
        // A live patch: SAVE_REGS and IPMODIFY.
        assert_eq!(
            line(
                "cmdline_proc_show",
                1 | FTRACE_FL_REGS | FTRACE_FL_IPMODIFY,
                None
            ),
            "cmdline_proc_show (1) R I     M \n"
        );
    }

    #[test]
    fn ftrace_enabled_takes_integers() {
        assert_eq!(parse_ftrace_enabled(b"0\n"), Some(false));
        assert_eq!(parse_ftrace_enabled(b"1"), Some(true));
        assert_eq!(parse_ftrace_enabled(b" 7 "), Some(true));
        for bad in [&b""[..], b"on", b"1x", b"\xff", b"99999999999"] {
            assert_eq!(parse_ftrace_enabled(bad), None);
        }
    }
}
