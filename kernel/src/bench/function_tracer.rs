//! The cost of the `function` tracer per traced call: a leaf whose site is enabled for an ops
//! with the tracer's own callback (recursion lock, clock, one ring-buffer entry with pid and
//! flags, commit), filtered to that leaf alone, against the same calls to an identical leaf
//! whose site is disabled. Linux's budget for this path is about 150 instructions.

use alloc::format;
use alloc::string::String;
use core::hint::black_box;

use super::SetupError;
use crate::kbench;
use crate::trace::ftrace_ops::FtraceOps;
use crate::trace::tracer::{buffer, function_trace_call};

/// The traced leaf.
#[inline(never)]
pub fn function_tracer_bench_traced(x: u64) -> u64 {
    x.wrapping_add(3)
}

/// The same leaf, its site left disabled; a different constant keeps the two from being
/// folded into one function.
#[inline(never)]
pub fn function_tracer_bench_untraced(x: u64) -> u64 {
    x.wrapping_add(4)
}

static BENCH_OPS: FtraceOps = FtraceOps::new(function_trace_call, 0);

/// Calls `f` `n` times through a register.
#[inline(never)]
fn call_loop(f: fn(u64) -> u64, n: u64) {
    let f = black_box(f);
    for i in 0..n {
        black_box(f(i));
    }
}

fn call_traced(n: u64) {
    call_loop(function_tracer_bench_traced, n);
}

fn call_untraced(n: u64) {
    call_loop(function_tracer_bench_untraced, n);
}

fn register_ops() -> Result<(), SetupError> {
    let ip = function_tracer_bench_traced as fn(u64) -> u64 as usize as u64;
    BENCH_OPS
        .set_filter_ip(ip, false, true)
        .and_then(|()| BENCH_OPS.register())
        .map_err(|e| SetupError::Fail(format!("cannot trace the bench leaf: {e:?}")))
}

/// Unregisters and empties the buffer, so `trace` does not show the bench's entries.
fn unregister_ops() -> Result<(), String> {
    BENCH_OPS
        .unregister()
        .map_err(|e| format!("unregister: {e:?}"))?;
    buffer().reset(None);
    Ok(())
}

kbench! {
    name: "function_tracer",
    ops: 10_000,
    run: call_traced,
    baseline: "call_untraced_leaf" => call_untraced,
    setup: register_ops,
    teardown: unregister_ops,
}
