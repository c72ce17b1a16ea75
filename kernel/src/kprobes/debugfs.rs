//! `/sys/kernel/debug/kprobes/{list,blacklist,enabled}` (Linux: the debugfs part of
//! `kernel/kprobes.c`), in Linux's formats:
//!
//! - `list`: one line per probe, `ADDR  TYPE  SYM+0xOFF    FLAGS`, where ADDR is `%px` (16 hex
//!   digits), TYPE `k` (kprobe) or `r` (kretprobe), and FLAGS any of `[GONE]`, `[DISABLED]`,
//!   `[OPTIMIZED]`, `[FTRACE]` (Linux's `report_probe`; no module name here, so its `%s` is a
//!   blank);
//! - `blacklist`: `0xSTART-0xEND\tSYM` for every function in the no-probe text (Linux's
//!   `kprobe_blacklist_seq_show`);
//! - `enabled`: `1` or `0`; writing a true or false word (`kstrtobool`) arms or disarms every
//!   probe (Linux's `write_enabled_file_bool`), anything else is EINVAL.

use core::fmt::Write;

use crate::fs::{self, Errno, WriteMode};

pub fn init() {
    let files: [(&str, Result<(), Errno>); 3] = [
        (
            "/sys/kernel/debug/kprobes/list",
            fs::register_file("/sys/kernel/debug/kprobes/list", fs::read_only(show_list)),
        ),
        (
            "/sys/kernel/debug/kprobes/blacklist",
            fs::register_file(
                "/sys/kernel/debug/kprobes/blacklist",
                fs::read_only(show_blacklist),
            ),
        ),
        (
            "/sys/kernel/debug/kprobes/enabled",
            fs::register_file(
                "/sys/kernel/debug/kprobes/enabled",
                fs::read_write(show_enabled, write_enabled),
            ),
        ),
    ];
    for (path, result) in files {
        if let Err(e) = result {
            crate::println!("kprobes: cannot create {path}: {e}");
        }
    }
}

fn show_list(out: &mut dyn Write) -> Result<(), Errno> {
    for probe in super::registered_probes() {
        let (name, offset) = match crate::symbols::lookup(probe.addr) {
            Some(sym) => (sym.name, probe.addr - sym.addr),
            None => ("", probe.addr),
        };
        writeln!(
            out,
            "{:016x}  {}  {}+{:#x}    {}{}",
            probe.addr,
            if probe.kretprobe { "r" } else { "k" },
            name,
            offset,
            if probe.disabled { "[DISABLED]" } else { "" },
            if probe.ftrace { "[FTRACE]" } else { "" },
        )
        .map_err(|_| Errno::EIO)?;
    }
    Ok(())
}

fn show_blacklist(out: &mut dyn Write) -> Result<(), Errno> {
    for sym in crate::symbols::functions().iter() {
        if !super::within_kprobe_blacklist(sym.addr) {
            continue;
        }
        writeln!(
            out,
            "0x{:016x}-0x{:016x}\t{}",
            sym.addr,
            sym.addr + u64::from(sym.size),
            sym.name
        )
        .map_err(|_| Errno::EIO)?;
    }
    Ok(())
}

fn show_enabled(out: &mut dyn Write) -> Result<(), Errno> {
    let armed = super::kprobes_all_armed();
    writeln!(out, "{}", if armed { '1' } else { '0' }).map_err(|_| Errno::EIO)
}

fn write_enabled(data: &[u8], _mode: WriteMode) -> Result<(), Errno> {
    super::set_all_kprobes_armed(kstrtobool(data)?)
}

/// Linux's `kstrtobool`: the first character decides (`y`/`t`/`1`/`e` true, `n`/`f`/`0`/`d`
/// false, `on`/`of`), in either case.
pub fn kstrtobool(s: &[u8]) -> Result<bool, Errno> {
    match s.first().map(u8::to_ascii_lowercase) {
        Some(b'e' | b'y' | b't' | b'1') => Ok(true),
        Some(b'd' | b'n' | b'f' | b'0') => Ok(false),
        Some(b'o') => match s.get(1).map(u8::to_ascii_lowercase) {
            Some(b'n') => Ok(true),
            Some(b'f') => Ok(false),
            _ => Err(Errno::EINVAL),
        },
        _ => Err(Errno::EINVAL),
    }
}
