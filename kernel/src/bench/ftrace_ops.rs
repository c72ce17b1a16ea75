//! The cost of the ftrace call path: calls to a traced leaf whose site is enabled for one ops
//! with an empty callback (a direct CALL_OPS literal: `bl ftrace_caller`, the register save,
//! `ftrace_dispatch`, the callback and the restore), against the same calls to an identical
//! leaf whose site is disabled. The difference is what tracing adds to one call before a tracer
//! does any work.

use alloc::format;
use alloc::string::String;

use arch::ftrace::FtraceRegs;

use super::SetupError;
use super::harness::call_loop;
use crate::kbench;
use crate::trace::ftrace_ops::FtraceOps;

/// The traced leaf.
#[inline(never)]
pub fn ftrace_bench_traced(x: u64) -> u64 {
    x.wrapping_add(1)
}

/// The same leaf, its site left disabled. Its body differs by a constant (same instruction
/// count) so the linker cannot fold the two into one function.
#[inline(never)]
pub fn ftrace_bench_untraced(x: u64) -> u64 {
    x.wrapping_add(2)
}

/// Does nothing, and has no patch site of its own.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn empty_callback(_ip: u64, _parent_ip: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {}

static BENCH_OPS: FtraceOps = FtraceOps::new(empty_callback, 0);

fn call_traced(n: u64) {
    call_loop(ftrace_bench_traced, n);
}

fn call_untraced(n: u64) {
    call_loop(ftrace_bench_untraced, n);
}

/// Points `ops` at the one leaf `f` and registers it: the setup of the benchmarks that time a
/// traced call against [`call_loop`] over an untraced twin.
pub(super) fn trace_only(ops: &'static FtraceOps, f: fn(u64) -> u64) -> Result<(), SetupError> {
    ops.set_filter_ip(f as usize as u64, false, true)
        .and_then(|()| ops.register())
        .map_err(|e| SetupError::Fail(format!("cannot trace the bench leaf: {e:?}")))
}

/// Undoes [`trace_only`].
pub(super) fn untrace(ops: &'static FtraceOps) -> Result<(), String> {
    ops.unregister().map_err(|e| format!("unregister: {e:?}"))
}

fn register_ops() -> Result<(), SetupError> {
    trace_only(&BENCH_OPS, ftrace_bench_traced)
}

fn unregister_ops() -> Result<(), String> {
    untrace(&BENCH_OPS)
}

kbench! {
    name: "ftrace_ops_empty_callback",
    ops: 10_000,
    run: call_traced,
    baseline: "call_untraced_leaf" => call_untraced,
    setup: register_ops,
    teardown: unregister_ops,
}
