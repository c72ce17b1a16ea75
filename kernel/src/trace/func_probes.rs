//! Function probes (Linux: `register_ftrace_function_probe` and the `traceon`, `traceoff` and
//! `stacktrace` commands of `trace_functions.c`): `FUNC:CMD[:N]` written to
//! `set_ftrace_filter` runs CMD each time FUNC is hit, N times at most, whatever the current
//! tracer. Parsing and read-back are [`super::ftrace_regex`]'s; this module makes them act.
//!
//! The probes run from [`PROBE_OPS`], an ftrace_ops of its own whose filter is exactly the
//! probed functions. Its callback runs with IRQs masked and takes no lock: it looks the
//! function up in a published [`ProbeTable`] and spends counts with compare-and-swap, so two
//! CPUs hitting one probe never both spend the last count. `traceon`/`traceoff` switch the
//! ring buffer's recording (atomics); `stacktrace` records a `TRACE_STACK` entry starting at
//! the probed function's caller.
//!
//! A write that changes the probes unregisters the ops (after which no CPU is in the callback),
//! swaps and frees the table, and registers the ops again on the new set. The counts left live
//! in the table while it is published; [`sync_counts`] copies them back into the filter state
//! before it is read or changed.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicI64, AtomicPtr, Ordering};

use arch::ftrace::FtraceRegs;

use super::ftrace_ops::FtraceOps;
use super::ftrace_regex::{FilterState, ProbeCommand, ProbeEntry};
use super::func_stack::record_stack;
use super::trace_clock;
use super::trace_functions::function_trace;
use crate::fs::Errno;
use crate::smp::smp_processor_id;

/// One probe on one function.
struct ProbeSlot {
    ip: u64,
    command: ProbeCommand,
    /// Whether `count` limits it (the `:N` form).
    counted: bool,
    /// Hits left to act on, when `counted`.
    count: AtomicI64,
}

/// The probes as the callback sees them.
struct ProbeTable {
    slots: Box<[ProbeSlot]>,
}

/// The published table: null when there are no probes. Replaced only while [`PROBE_OPS`] is
/// unregistered, so the callback never sees a table being freed.
static TABLE: AtomicPtr<ProbeTable> = AtomicPtr::new(ptr::null_mut());

/// The probes' ops.
pub static PROBE_OPS: FtraceOps = FtraceOps::new(probe_call, 0);

/// Spends one hit of `slot` if its command should act now (see [`ProbeCommand::fire`]).
#[inline(always)]
fn try_fire(slot: &ProbeSlot, tracing_on: bool) -> bool {
    if !slot.counted {
        return slot.command.fire(&mut None, tracing_on);
    }
    let mut current = slot.count.load(Ordering::Relaxed);
    loop {
        let mut left = Some(current);
        if !slot.command.fire(&mut left, tracing_on) {
            return false;
        }
        let new = left.unwrap_or(current);
        match slot
            .count
            .compare_exchange(current, new, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => return true,
            Err(seen) => current = seen,
        }
    }
}

arch::noinstr! {
/// The probes' callback: every probe on `ip`, in table order.
fn probe_call(ip: u64, parent_ip: u64, _ops: &FtraceOps, regs: &mut FtraceRegs) {
    function_trace(|rb| {
        // SAFETY: the table is a leaked Box, freed only while the ops is unregistered, when no
        // CPU is in this callback.
        let Some(table) = (unsafe { TABLE.load(Ordering::Acquire).as_ref() }) else {
            return;
        };
        for slot in table.slots.iter().filter(|slot| slot.ip == ip) {
            if !try_fire(slot, rb.is_record_on()) {
                continue;
            }
            match slot.command {
                ProbeCommand::Traceon => rb.record_on(),
                ProbeCommand::Traceoff => rb.record_off(),
                ProbeCommand::Stacktrace => {
                    let cpu = smp_processor_id();
                    let ts = trace_clock::now();
                    // Linux's starts at the caller: the probed function is not a frame.
                    record_stack(rb, cpu, ts, regs.irqs_disabled(), &[parent_ip], regs.fp);
                }
            }
        }
    });
}
}

/// Copies the counts left from the published table into `state` (its probes are the table's).
pub fn sync_counts(state: &mut FilterState) {
    // SAFETY: as in `probe_call`; the caller holds the tracer's state lock, which every table
    // change takes, so the table stays alive while it is read here.
    let Some(table) = (unsafe { TABLE.load(Ordering::Acquire).as_ref() }) else {
        return;
    };
    for slot in table.slots.iter().filter(|slot| slot.counted) {
        for (command, count) in state.probes_at(slot.ip) {
            if command == slot.command && count.is_some() {
                *count = Some(slot.count.load(Ordering::Relaxed));
            }
        }
    }
}

fn build(
    state: &FilterState,
    carried: &dyn Fn(&ProbeEntry) -> Option<i64>,
) -> Option<Box<ProbeTable>> {
    let slots: Vec<ProbeSlot> = state
        .probes()
        .map(|probe| ProbeSlot {
            ip: probe.ip,
            command: probe.command,
            counted: probe.count.is_some(),
            count: AtomicI64::new(
                probe
                    .count
                    .map_or(0, |count| carried(&probe).unwrap_or(count)),
            ),
        })
        .collect();
    (!slots.is_empty()).then(|| {
        Box::new(ProbeTable {
            slots: slots.into_boxed_slice(),
        })
    })
}

/// Publishes `table` (null for none) and frees the one it replaces. Call with the ops
/// unregistered.
fn swap_table(table: Option<Box<ProbeTable>>) {
    let new = table.map_or(ptr::null_mut(), Box::into_raw);
    let old = TABLE.swap(new, Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw` here, and with the ops unregistered no CPU
        // can still be reading it.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// Makes the probes of `new` act, replacing those of `old` (whose counts were synced). The
/// caller holds the tracer's state lock. On error the old probes stay in force.
pub fn apply(old: &FilterState, new: &FilterState) -> Result<(), Errno> {
    let before: Vec<_> = old.probes().collect();
    let after: Vec<_> = new.probes().collect();
    if before == after {
        return Ok(());
    }
    if PROBE_OPS.is_enabled() {
        PROBE_OPS.unregister()?;
    }
    // Hits between the caller's sync and the unregister above spent counts that `old` and
    // `new` do not show: a probe the write left as it was keeps the table's final count.
    let live = live_counts();
    let carried = |probe: &ProbeEntry| {
        before
            .iter()
            .any(|b| b == probe)
            .then(|| {
                live.iter()
                    .find(|(ip, command, _)| (*ip, *command) == (probe.ip, probe.command))
                    .map(|&(_, _, count)| count)
            })
            .flatten()
    };
    let result = install(new, &carried);
    if result.is_err() {
        // Put the old probes back; if even that fails the probes are off, which is safe.
        let _ = install(old, &carried);
    }
    result
}

/// The counted probes of the published table with the counts they have left.
fn live_counts() -> Vec<(u64, ProbeCommand, i64)> {
    // SAFETY: as in `sync_counts` (the caller holds the tracer's state lock).
    let Some(table) = (unsafe { TABLE.load(Ordering::Acquire).as_ref() }) else {
        return Vec::new();
    };
    table
        .slots
        .iter()
        .filter(|slot| slot.counted)
        .map(|slot| (slot.ip, slot.command, slot.count.load(Ordering::Relaxed)))
        .collect()
}

/// Publishes `state`'s probes and registers the ops on them (nothing when there are none: an
/// empty filter would mean every function). `carried` gives a probe's count when it should
/// not start from the one `state` holds.
fn install(state: &FilterState, carried: &dyn Fn(&ProbeEntry) -> Option<i64>) -> Result<(), Errno> {
    swap_table(build(state, carried));
    let ips = state.probe_ips();
    if ips.is_empty() {
        return Ok(());
    }
    PROBE_OPS.set_filter_ips(ips.iter().copied())?;
    PROBE_OPS.register()
}
