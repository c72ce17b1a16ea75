//! The cost of the `function` tracer per traced call: a leaf whose site is enabled for an ops
//! with the tracer's own callback (recursion lock, clock, one ring-buffer entry with pid and
//! flags, commit), filtered to that leaf alone, against the same calls to an identical leaf
//! whose site is disabled. Linux's budget for this path is about 150 instructions.
//!
//! The teardown checks that the run wrote exactly one `TRACE_FN` entry per operation, all of
//! the traced leaf ([`super::recorded`]).

use alloc::string::String;

use super::SetupError;
use super::ftrace_ops::{trace_only, untrace};
use super::harness::call_loop;
use super::recorded::{check_recorded, record_ip, start_recording};
use crate::kbench;
use crate::trace::ftrace_ops::FtraceOps;
use crate::trace::trace::buffer;
use crate::trace::trace_entries::TRACE_FN;
use crate::trace::trace_functions::function_trace_call;

const OPS: u64 = 10_000;

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

fn call_traced(n: u64) {
    call_loop(function_tracer_bench_traced, n);
}

fn call_untraced(n: u64) {
    call_loop(function_tracer_bench_untraced, n);
}

fn register_ops() -> Result<(), SetupError> {
    start_recording();
    trace_only(&BENCH_OPS, function_tracer_bench_traced)
}

/// Unregisters, checks what the run recorded, and empties the buffer, so `trace` does not show
/// the bench's entries.
fn unregister_ops() -> Result<(), String> {
    untrace(&BENCH_OPS)?;
    let ip = record_ip(function_tracer_bench_traced).ok_or("the traced leaf has no patch site")?;
    let checked = check_recorded(OPS, &[TRACE_FN], ip);
    buffer().reset(None);
    checked
}

kbench! {
    name: "function_tracer",
    ops: OPS,
    run: call_traced,
    baseline: "call_untraced_leaf" => call_untraced,
    setup: register_ops,
    teardown: unregister_ops,
}
