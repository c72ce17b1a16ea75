//! The cost of the ftrace call path: calls to a traced leaf whose site is enabled for one ops
//! with an empty callback (a direct CALL_OPS literal: `bl ftrace_caller`, the register save,
//! `ftrace_dispatch`, the callback and the restore), against the same calls to an identical
//! leaf whose site is disabled. The difference is what tracing adds to one call before a tracer
//! does any work.
//!
//! The callback does the least that proves it ran, one counter increment, and the untraced
//! leaf makes the same increment on a counter of its own: the run and the baseline both pay for
//! one, so it cancels out and the row stays the cost of an empty callback. The teardown checks
//! that the callback ran once per operation (no other ops sharing the site, `ftrace_enabled`
//! on) and the untraced leaf once per baseline operation.

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::ftrace::FtraceRegs;

use super::SetupError;
use super::harness::call_loop;
use crate::kbench;
use crate::trace::ftrace_ops::{FTRACE_FL_CALL_OPS, FTRACE_REF_MAX, FtraceOps, enabled_sites};

const OPS: u64 = 10_000;

/// Calls of the callback and of the untraced leaf since the setup.
static CALLBACKS: AtomicU64 = AtomicU64::new(0);
static UNTRACED_CALLS: AtomicU64 = AtomicU64::new(0);

/// One more on `counter`: a load, an add and a store (the CPU's only writer, with IRQs masked;
/// an atomic read-modify-write would be a loop on this ARMv8.0 CPU).
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The traced leaf.
#[inline(never)]
pub fn ftrace_bench_traced(x: u64) -> u64 {
    x.wrapping_add(1)
}

/// The same leaf, its site left disabled, plus the callback's increment.
#[inline(never)]
pub fn ftrace_bench_untraced(x: u64) -> u64 {
    bump(&UNTRACED_CALLS);
    x.wrapping_add(2)
}

/// Only counts its calls, and has no patch site of its own.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn counting_callback(_ip: u64, _parent_ip: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {
    bump(&CALLBACKS);
}

static BENCH_OPS: FtraceOps = FtraceOps::new(counting_callback, 0);

fn call_traced(n: u64) {
    call_loop(ftrace_bench_traced, n);
}

fn call_untraced(n: u64) {
    call_loop(ftrace_bench_untraced, n);
}

/// Points `ops` at the one leaf `f` and registers it: the setup of the benchmarks that time a
/// traced call against [`call_loop`] over an untraced twin. Fails, unregistered again, when the
/// leaf's site then goes through the list of every ops (another one traces the leaf): the call
/// would cost something else. A site left disabled (`ftrace_enabled` 0) is the teardown's to
/// catch, by what the run did not record.
pub(super) fn trace_only(ops: &'static FtraceOps, f: fn(u64) -> u64) -> Result<(), SetupError> {
    let leaf = f as usize as u64;
    ops.set_filter_ip(leaf, false, true)
        .and_then(|()| ops.register())
        .map_err(|e| SetupError::Fail(format!("cannot trace the bench leaf: {e:?}")))?;
    let shared = enabled_sites().into_iter().any(|site| {
        site.func == leaf
            && (site.flags & FTRACE_FL_CALL_OPS == 0 || site.flags & FTRACE_REF_MAX != 1)
    });
    if !shared {
        return Ok(());
    }
    untrace(ops).map_err(SetupError::Fail)?;
    Err(SetupError::Fail(
        "another ftrace_ops traces the bench leaf too".into(),
    ))
}

/// Undoes [`trace_only`].
pub(super) fn untrace(ops: &'static FtraceOps) -> Result<(), String> {
    ops.unregister().map_err(|e| format!("unregister: {e:?}"))
}

fn register_ops() -> Result<(), SetupError> {
    CALLBACKS.store(0, Ordering::Relaxed);
    UNTRACED_CALLS.store(0, Ordering::Relaxed);
    trace_only(&BENCH_OPS, ftrace_bench_traced)
}

/// Unregisters, then checks that every traced call reached the callback.
fn unregister_ops() -> Result<(), String> {
    untrace(&BENCH_OPS)?;
    let calls = [
        CALLBACKS.load(Ordering::Relaxed),
        UNTRACED_CALLS.load(Ordering::Relaxed),
    ];
    if calls == [OPS, OPS] {
        return Ok(());
    }
    let [callbacks, untraced] = calls;
    Err(format!(
        "expected {OPS} callbacks and {OPS} untraced calls, got {callbacks} and {untraced} \
         (ftrace_enabled 0, or another ops on the leaf?)"
    ))
}

kbench! {
    name: "ftrace_ops_empty_callback",
    ops: OPS,
    run: call_traced,
    baseline: "call_untraced_leaf" => call_untraced,
    setup: register_ops,
    teardown: unregister_ops,
}
