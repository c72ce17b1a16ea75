//! A live patch built on ftrace's IPMODIFY (Linux: `kernel/livepatch/patch.c` and
//! `samples/livepatch/livepatch-sample.c`): while enabled, every call of
//! [`cmdline_proc_show`] runs [`livepatch_cmdline_proc_show`] instead, so
//! `cat /proc/cmdline` prints `this has been live patched`.
//!
//! As in Linux, the patch is an [`FtraceOps`] with SAVE_REGS, IPMODIFY and PERMANENT, filtered
//! to the one function, whose callback points the saved pc at the replacement. `ftrace_caller`
//! then resumes there with the original arguments and return address, so the caller never
//! knows. IPMODIFY makes it exclusive: a second redirection of the same function is refused.
//! PERMANENT means `ftrace_enabled` cannot be turned off while the patch is enabled. Linux's
//! consistency model (per-task transition, stack checking) is not modelled: the redirection
//! takes effect for every task at once, which is safe here because the replacement has the
//! same signature and no state.
//!
//! Controls: `/sys/kernel/livepatch/livepatch_sample/enabled` (Linux's file: read `0`/`1`,
//! write `1` or `0`, writing the current value is EINVAL) and the shell's
//! `livepatch [enable|disable]`.

use alloc::format;
use core::fmt::{self, Write};

use arch::ftrace::FtraceRegs;
use spin::Mutex;

use crate::cmdline::cmdline_proc_show;
use crate::fs::{self, Errno, WriteMode};
use crate::shell::{Command, Context, register_command};
use crate::trace::ftrace_ops::{
    FTRACE_OPS_FL_IPMODIFY, FTRACE_OPS_FL_PERMANENT, FTRACE_OPS_FL_SAVE_REGS, FtraceOps,
};

/// The patch's directory name under `/sys/kernel/livepatch` (Linux names it after the module).
pub const PATCH_NAME: &str = "livepatch_sample";

/// The replacement for [`cmdline_proc_show`], with the same signature.
#[inline(never)]
pub fn livepatch_cmdline_proc_show(out: &mut dyn Write) -> fmt::Result {
    writeln!(out, "this has been live patched")
}

/// Linux's `klp_ftrace_handler`: resume in the replacement instead of the patched function.
fn klp_ftrace_handler(_ip: u64, _parent_ip: u64, _ops: &FtraceOps, regs: &mut FtraceRegs) {
    let replacement: fn(&mut dyn Write) -> fmt::Result = livepatch_cmdline_proc_show;
    regs.set_instruction_pointer(replacement as usize as u64);
}

static KLP_OPS: FtraceOps = FtraceOps::new(
    klp_ftrace_handler,
    FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT,
);

/// Serialises enabling and disabling.
static LOCK: Mutex<()> = Mutex::new(());

/// Whether the patch is applied.
pub fn is_enabled() -> bool {
    KLP_OPS.is_enabled()
}

/// Applies (`true`) or removes the patch. EINVAL when it already is in that state, as Linux's
/// `enabled_store` answers; the ftrace errors otherwise (EBUSY: another IPMODIFY ops owns the
/// function, or `ftrace_enabled` is 0).
pub fn set_enabled(enable: bool) -> Result<(), Errno> {
    let _guard = LOCK.lock();
    if is_enabled() == enable {
        return Err(Errno::EINVAL);
    }
    if enable {
        let target: fn(&mut dyn Write) -> fmt::Result = cmdline_proc_show;
        KLP_OPS.set_filter_ip(target as usize as u64, false, true)?;
        KLP_OPS.register()
    } else {
        KLP_OPS.unregister()
    }
}

/// A write to `enabled`: `1` or `0` with optional surrounding whitespace (Linux: `kstrtobool`
/// also takes y/n and on/off).
fn parse_enabled(data: &[u8]) -> Result<bool, Errno> {
    match core::str::from_utf8(data).map(str::trim) {
        Ok("1" | "y" | "Y" | "on") => Ok(true),
        Ok("0" | "n" | "N" | "off") => Ok(false),
        _ => Err(Errno::EINVAL),
    }
}

fn write_enabled(data: &[u8], _mode: WriteMode) -> Result<(), Errno> {
    set_enabled(parse_enabled(data)?)
}

fn read_enabled(out: &mut dyn Write) -> Result<(), Errno> {
    Ok(writeln!(out, "{}", u8::from(is_enabled()))?)
}

fn cmd_livepatch(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let enable = match args {
        [] => {
            let state = if is_enabled() { "enabled" } else { "disabled" };
            let _ = writeln!(ctx.out, "{PATCH_NAME}: {state}");
            return 0;
        }
        ["enable"] => true,
        ["disable"] => false,
        _ => {
            ctx.error("livepatch: usage: livepatch [enable|disable]");
            return 2;
        }
    };
    match set_enabled(enable) {
        Ok(()) => 0,
        Err(e) => {
            ctx.error(&format!("livepatch: {}: {e}", args[0]));
            1
        }
    }
}

pub fn init() {
    let path = format!("/sys/kernel/livepatch/{PATCH_NAME}/enabled");
    fs::register_file(&path, fs::read_write(read_enabled, write_enabled))
        .unwrap_or_else(|e: Errno| panic!("cannot register {path}: {e}"));
    register_command(Command {
        name: "livepatch",
        usage: "livepatch [enable|disable]",
        help: "apply or remove the sample live patch of cmdline_proc_show (/proc/cmdline)",
        run: cmd_livepatch,
    });
}
