//! The cost of the ftrace call path: calls to a traced leaf whose site is enabled for one ops
//! with an empty callback (a direct CALL_OPS literal: `bl ftrace_caller`, the register save,
//! `ftrace_dispatch`, the callback and the restore), against the same calls to an identical
//! leaf whose site is disabled. The difference is what tracing adds to one call before a tracer
//! does any work.

use alloc::format;
use alloc::string::String;
use core::hint::black_box;

use arch::ftrace::FtraceRegs;

use super::SetupError;
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

/// Calls `f` `n` times through a register.
#[inline(never)]
fn call_loop(f: fn(u64) -> u64, n: u64) {
    let f = black_box(f);
    for i in 0..n {
        black_box(f(i));
    }
}

fn call_traced(n: u64) {
    call_loop(ftrace_bench_traced, n);
}

fn call_untraced(n: u64) {
    call_loop(ftrace_bench_untraced, n);
}

fn register_ops() -> Result<(), SetupError> {
    let ip = ftrace_bench_traced as fn(u64) -> u64 as usize as u64;
    BENCH_OPS
        .set_filter_ip(ip, false, true)
        .and_then(|()| BENCH_OPS.register())
        .map_err(|e| SetupError::Fail(format!("cannot trace ftrace_bench_traced: {e:?}")))
}

fn unregister_ops() -> Result<(), String> {
    BENCH_OPS
        .unregister()
        .map_err(|e| format!("unregister: {e:?}"))
}

kbench! {
    name: "ftrace_ops_empty_callback",
    ops: 10_000,
    run: call_traced,
    baseline: "call_untraced_leaf" => call_untraced,
    setup: register_ops,
    teardown: unregister_ops,
}
