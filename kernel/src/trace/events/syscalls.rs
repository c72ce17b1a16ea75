//! Syscall events (Linux: `include/trace/events/syscalls.h` and the recording half of
//! `kernel/trace/trace_syscalls.c`): the `raw_syscalls:sys_enter` / `sys_exit` tracepoints,
//! called around every syscall (`crate::syscall::invoke_syscall`), and their events; and
//! `syscalls:sys_enter_NAME` / `sys_exit_NAME` for every syscall in
//! [`trace_syscalls::SYSCALLS`], made at boot from that table.
//!
//! As in Linux there is one tracepoint pair: a per-syscall event attaches one shared probe to
//! `sys_enter` (or `sys_exit`) when the first of them is enabled and publishes itself in a
//! per-number table, which the probe reads to decide whether, and as which event, to record.
//! While no syscall event is enabled the syscall path pays the two tracepoints' NOPs only.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use arch::exception::TrapFrame;
use spin::Once;

use crate::fs::Errno;
use crate::trace::events::trace_event_record_with;
use crate::trace::trace_events::TraceEventCall;
use crate::trace::trace_output::PrintCtx;
use crate::trace::trace_syscalls::{
    self, EXIT_ENTRY_SIZE, EXIT_PRINT_FMT, NR_OFFSET, NR_SYSCALLS, SyscallMeta,
};
use crate::trace_event;

/// The six argument registers, as `syscall_get_arguments` reads them.
#[inline(always)]
fn syscall_args(regs: &TrapFrame) -> [u64; 6] {
    [
        regs.regs[0],
        regs.regs[1],
        regs.regs[2],
        regs.regs[3],
        regs.regs[4],
        regs.regs[5],
    ]
}

trace_event! {
    /// A syscall is entered, with its number and the six argument registers (Linux:
    /// `trace_sys_enter` in `syscall_trace_enter`).
    raw_syscalls: sys_enter,
    proto: (regs: &TrapFrame, id: i64),
    entry: {
        id: i64 = "long",
        args: [u64; 6] = "unsigned long",
    },
    assign: |e| {
        e.id = id;
        e.args = syscall_args(regs);
    },
    print_fmt: concat!(
        "\"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)\", REC->id, REC->args[0], REC->args[1], ",
        "REC->args[2], REC->args[3], REC->args[4], REC->args[5]"
    ),
    print: |e, _rec, w| write!(
        w,
        "NR {} ({:x}, {:x}, {:x}, {:x}, {:x}, {:x})",
        e.id, e.args[0], e.args[1], e.args[2], e.args[3], e.args[4], e.args[5]
    ),
}

trace_event! {
    /// A syscall returns `ret` (Linux: `trace_sys_exit` in `syscall_trace_exit`).
    raw_syscalls: sys_exit,
    proto: (regs: &TrapFrame, ret: i64),
    entry: {
        id: i64 = "long",
        ret: i64 = "long",
    },
    assign: |e| {
        e.id = regs.regs[8] as i64;
        e.ret = ret;
    },
    print_fmt: "\"NR %ld = %ld\", REC->id, REC->ret",
    print: |e, _rec, w| write!(w, "NR {} = {}", e.id, e.ret),
}

/// The `raw_syscalls:` events, in registration order.
pub static EVENTS: [&TraceEventCall; 2] = [&EVENT_SYS_ENTER, &EVENT_SYS_EXIT];

/// One syscall's pair of events.
struct SyscallEvents {
    meta: &'static SyscallMeta,
    enter: &'static TraceEventCall,
    exit: &'static TraceEventCall,
}

/// The `syscalls:` events, made by [`init`].
static SYSCALL_EVENTS: Once<Vec<SyscallEvents>> = Once::new();

/// The enabled `sys_enter_NAME` / `sys_exit_NAME` per number, null while disabled (Linux's
/// `tr->enter_syscall_files` / `exit_syscall_files`).
static ENTER_FILES: [AtomicPtr<TraceEventCall>; NR_SYSCALLS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; NR_SYSCALLS];
static EXIT_FILES: [AtomicPtr<TraceEventCall>; NR_SYSCALLS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; NR_SYSCALLS];

/// How many per-syscall events hold the shared probe on each tracepoint (Linux's
/// `sys_refcount_enter` / `_exit`); changed under the event mutex.
static REFCOUNT_ENTER: AtomicU32 = AtomicU32::new(0);
static REFCOUNT_EXIT: AtomicU32 = AtomicU32::new(0);

/// The `syscalls:` events, in registration order (none before [`init`]).
pub fn syscall_events() -> impl Iterator<Item = &'static TraceEventCall> {
    SYSCALL_EVENTS
        .get()
        .into_iter()
        .flatten()
        .flat_map(|e| [e.enter, e.exit])
}

/// The enabled event in `files` for syscall `id`, if any.
#[inline(always)]
fn enabled_file(
    files: &[AtomicPtr<TraceEventCall>; NR_SYSCALLS],
    id: i64,
) -> Option<&'static TraceEventCall> {
    let slot = files.get(usize::try_from(id).ok()?)?;
    // SAFETY: only `&'static` events are published here.
    unsafe { slot.load(Ordering::Acquire).as_ref() }
}

/// The shared `sys_enter` probe (Linux's `ftrace_syscall_enter`).
fn ftrace_syscall_enter(_: *const (), irqs_off: bool, regs: &TrapFrame, id: i64) {
    let Some(call) = enabled_file(&ENTER_FILES, id) else {
        return;
    };
    let Some(meta) = trace_syscalls::syscall_nr_to_meta(id) else {
        return;
    };
    let args = syscall_args(regs);
    let len = trace_syscalls::enter_entry_size(meta);
    trace_event_record_with(call, irqs_off, len, true, |buf| {
        buf[NR_OFFSET..NR_OFFSET + 4].copy_from_slice(&(id as i32).to_le_bytes());
        for (i, arg) in args.iter().take(meta.args.len()).enumerate() {
            let at = trace_syscalls::ENTER_ARGS_OFFSET + 8 * i;
            buf[at..at + 8].copy_from_slice(&arg.to_le_bytes());
        }
    });
}

/// The shared `sys_exit` probe (Linux's `ftrace_syscall_exit`).
fn ftrace_syscall_exit(_: *const (), irqs_off: bool, regs: &TrapFrame, ret: i64) {
    let id = regs.regs[8] as i64;
    let Some(call) = enabled_file(&EXIT_FILES, id) else {
        return;
    };
    trace_event_record_with(call, irqs_off, EXIT_ENTRY_SIZE, true, |buf| {
        buf[NR_OFFSET..NR_OFFSET + 4].copy_from_slice(&(id as i32).to_le_bytes());
        buf[16..24].copy_from_slice(&ret.to_le_bytes());
    });
}

/// The number of the syscall `call` is an event of, and whether it is the enter event.
fn syscall_of(call: &TraceEventCall) -> Option<(usize, bool)> {
    SYSCALL_EVENTS.get()?.iter().find_map(|e| {
        let nr = e.meta.nr as usize;
        if core::ptr::eq(e.enter, call) {
            Some((nr, true))
        } else if core::ptr::eq(e.exit, call) {
            Some((nr, false))
        } else {
            None
        }
    })
}

/// Enables or disables one per-syscall event (Linux's `reg_event_syscall_enter` / `_exit`
/// and their `unreg_`): the shared probe goes on its tracepoint with the first and off with the
/// last. The caller holds the event mutex.
fn syscall_reg(call: &'static TraceEventCall, on: bool) -> Result<(), Errno> {
    let (nr, enter) = syscall_of(call).ok_or(Errno::EINVAL)?;
    let (files, refcount) = if enter {
        (&ENTER_FILES, &REFCOUNT_ENTER)
    } else {
        (&EXIT_FILES, &REFCOUNT_EXIT)
    };
    let probe = |register: bool| {
        let data = core::ptr::null();
        match (enter, register) {
            (true, true) => register_trace_sys_enter(ftrace_syscall_enter, data),
            (true, false) => unregister_trace_sys_enter(ftrace_syscall_enter, data),
            (false, true) => register_trace_sys_exit(ftrace_syscall_exit, data),
            (false, false) => unregister_trace_sys_exit(ftrace_syscall_exit, data),
        }
    };
    if on {
        if refcount.load(Ordering::Relaxed) == 0 {
            probe(true)?;
        }
        refcount.fetch_add(1, Ordering::Relaxed);
        files[nr].store(core::ptr::from_ref(call).cast_mut(), Ordering::Release);
    } else {
        files[nr].store(core::ptr::null_mut(), Ordering::Release);
        if refcount.fetch_sub(1, Ordering::Relaxed) == 1 {
            probe(false)?;
        }
    }
    Ok(())
}

fn print_enter(
    _: &TraceEventCall,
    record: &[u8],
    w: &mut dyn Write,
    _: &PrintCtx<'_>,
) -> core::fmt::Result {
    trace_syscalls::print_syscall_enter(record, w)
}

fn print_exit(
    _: &TraceEventCall,
    record: &[u8],
    w: &mut dyn Write,
    _: &PrintCtx<'_>,
) -> core::fmt::Result {
    trace_syscalls::print_syscall_exit(record, w)
}

/// Makes the `syscalls:` events from the table (Linux's `init_ftrace_syscalls` and the
/// `SYSCALL_METADATA` events), before the registry registers every event.
pub fn init() {
    SYSCALL_EVENTS.call_once(|| {
        let leak = |call: TraceEventCall| -> &'static TraceEventCall { Box::leak(Box::new(call)) };
        trace_syscalls::SYSCALLS
            .iter()
            .map(|meta| SyscallEvents {
                meta,
                enter: leak(TraceEventCall::new_dynamic(
                    String::from("syscalls"),
                    alloc::format!("sys_enter_{}", meta.short_name()),
                    trace_syscalls::enter_fields(meta),
                    trace_syscalls::enter_print_fmt(meta),
                    print_enter,
                    syscall_reg,
                )),
                exit: leak(TraceEventCall::new_dynamic(
                    String::from("syscalls"),
                    alloc::format!("sys_exit_{}", meta.short_name()),
                    trace_syscalls::exit_fields(),
                    String::from(EXIT_PRINT_FMT),
                    print_exit,
                    syscall_reg,
                )),
            })
            .collect()
    });
}
