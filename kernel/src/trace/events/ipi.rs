//! `ipi:` events (Linux: `include/trace/events/ipi.h`), with Linux 6.12's fields, print formats
//! and output: `ipi_raise` (an IPI sent, [`crate::smp::smp_cross_call`]), `ipi_send_cpu` and
//! `ipi_send_cpumask` (what asked for it: a reschedule, a stop-machine kick), `ipi_entry` and
//! `ipi_exit` (around the IPI's work on the target CPU).
//!
//! `reason` is Linux's `const char *` into `ipi_types`: here the address of the IPI's entry in
//! [`REASONS`] (a copy of [`crate::smp::IPI_TYPES`] with fixed addresses), which the output
//! prints as the text.

use core::fmt::{self, Write};

use crate::smp::{IPI_TYPES, NR_IPI};
use crate::symbols::symbolize;
use crate::trace::trace_events::{CpumaskLoc, DataLoc, TraceEventCall};
use crate::trace::trace_output::write_bitmask;
use crate::trace_event;

/// The IPI texts the `reason` fields point at, by IPI number.
static REASONS: [&str; NR_IPI] = IPI_TYPES;

/// The `reason` field of IPI `ipinr`: its entry's address, 0 (Linux's NULL) for an unknown IPI.
fn reason_field(ipinr: u32) -> u64 {
    REASONS
        .get(ipinr as usize)
        .map_or(0, |r| core::ptr::from_ref(r) as u64)
}

/// A `reason` field as `%s` prints it: the text, `(null)` for NULL, `(efault)` for an address
/// that is not one of [`REASONS`] (vsprintf's `check_pointer`).
fn write_reason(w: &mut dyn Write, reason: u64) -> fmt::Result {
    if reason == 0 {
        return w.write_str("(null)");
    }
    let text = REASONS
        .iter()
        .find(|r| core::ptr::from_ref(*r) as u64 == reason);
    w.write_str(text.map_or("(efault)", |r| r))
}

/// Linux's `_RET_IP_` in the function this is inlined into: its return address (the frame
/// record's saved link register; every function has one, frame pointers being forced).
#[inline(always)]
pub fn return_address() -> u64 {
    let fp: u64;
    // SAFETY: reads x29.
    unsafe {
        core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: x29 points at this function's frame record {caller's x29, x30}, set up by its
    // prologue and valid until it returns.
    unsafe { core::ptr::read_volatile((fp + 8) as *const u64) }
}

/// A CPU mask as `__bitmask`/`__cpumask` record it: `unsigned long[]` for our at most 64 CPUs.
fn mask_bytes(mask: u64) -> [u8; 8] {
    mask.to_le_bytes()
}

trace_event! {
    /// IPI `ipinr` is sent to the CPUs in `target` (Linux arm64: `smp_cross_call`).
    ipi: ipi_raise,
    proto: (target: u64, ipinr: u32),
    entry: {
        target_cpus: DataLoc = "unsigned long",
        reason: u64 = "const char *",
    },
    assign: |e| {
        e.target_cpus = DataLoc::after(core::mem::size_of_val(e), 8);
        e.reason = reason_field(ipinr);
    },
    tail: &mask_bytes(target),
    print_fmt: "\"target_mask=%s (%s)\", __get_bitmask(target_cpus), REC->reason",
    print: |e, rec, w| {
        w.write_str("target_mask=")
            .and_then(|()| write_bitmask(w, e.target_cpus.get(rec)))
            .and_then(|()| w.write_str(" ("))
            .and_then(|()| write_reason(w, e.reason))
            .and_then(|()| w.write_char(')'))
    },
}

trace_event! {
    /// An IPI is requested for one CPU, `callsite` asking, `callback` to run there (0: none;
    /// Linux: `smp_send_reschedule`, `send_call_function_single_ipi`).
    ipi: ipi_send_cpu,
    proto: (cpu: u32, callsite: u64, callback: u64),
    entry: {
        cpu: u32 = "unsigned int",
        callsite: u64 = "void *",
        callback: u64 = "void *",
    },
    assign: |e| {
        e.cpu = cpu;
        e.callsite = callsite;
        e.callback = callback;
    },
    print_fmt: "\"cpu=%u callsite=%pS callback=%pS\", REC->cpu, REC->callsite, REC->callback",
    print: |e, _rec, w| write!(
        w,
        "cpu={} callsite={} callback={}",
        e.cpu,
        symbolize(e.callsite),
        symbolize(e.callback)
    ),
}

trace_event! {
    /// An IPI is requested for several CPUs (Linux: `smp_call_function_many_cond`).
    ipi: ipi_send_cpumask,
    proto: (mask: u64, callsite: u64, callback: u64),
    entry: {
        cpumask: CpumaskLoc = "cpumask_t",
        callsite: u64 = "void *",
        callback: u64 = "void *",
    },
    assign: |e| {
        e.cpumask = CpumaskLoc(DataLoc::after(core::mem::size_of_val(e), 8));
        e.callsite = callsite;
        e.callback = callback;
    },
    tail: &mask_bytes(mask),
    print_fmt: concat!(
        "\"cpumask=%s callsite=%pS callback=%pS\", __get_cpumask(cpumask), REC->callsite, ",
        "REC->callback"
    ),
    print: |e, rec, w| {
        w.write_str("cpumask=")
            .and_then(|()| write_bitmask(w, e.cpumask.0.get(rec)))
            .and_then(|()| {
                write!(
                    w,
                    " callsite={} callback={}",
                    symbolize(e.callsite),
                    symbolize(e.callback)
                )
            })
    },
}

macro_rules! ipi_handler_event {
    ($(#[$meta:meta])* $name:ident) => {
        trace_event! {
            $(#[$meta])*
            ipi: $name,
            proto: (ipinr: u32),
            entry: { reason: u64 = "const char *" },
            assign: |e| {
                e.reason = reason_field(ipinr);
            },
            print_fmt: "\"(%s)\", REC->reason",
            print: |e, _rec, w| w
                .write_char('(')
                .and_then(|()| write_reason(w, e.reason))
                .and_then(|()| w.write_char(')')),
        }
    };
}

ipi_handler_event!(
    /// The target CPU starts IPI `ipinr`'s work (Linux arm64: `do_handle_IPI`).
    ipi_entry
);
ipi_handler_event!(
    /// The target CPU is done with IPI `ipinr`'s work.
    ipi_exit
);

/// The events, in registration order.
pub static EVENTS: [&TraceEventCall; 5] = [
    &EVENT_IPI_RAISE,
    &EVENT_IPI_SEND_CPU,
    &EVENT_IPI_SEND_CPUMASK,
    &EVENT_IPI_ENTRY,
    &EVENT_IPI_EXIT,
];
