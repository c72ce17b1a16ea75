//! The function-graph core on real functions: entry and return handlers see every hooked call
//! with its depth, in order, and the return value; the traced code computes the same results;
//! two users on one function both see its return; a backtrace taken inside hooked functions
//! shows the real callers, not `return_to_handler`; a return handler that calls traced code does
//! not recurse; the shadow stack is empty again after.

use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arch::ftrace::{FgraphRetRegs, FtraceRegs, return_to_handler_addr};

use crate::ktest::Context;
use crate::stacktrace::unwind;
use crate::trace::fgraph::{
    FgraphOps, FtraceGraphEnt, FtraceGraphRet, GraphTaskState, current_depth_and_overrun,
};
use crate::workload::{nested_a, nested_b, nested_c};
use crate::{kassert, kassert_eq, ktest};

const LOG_LEN: usize = 32;
const ENTRY: u64 = 1;
const RETURN: u64 = 2;

/// What the handlers saw: (kind, function, depth, value), in order.
struct Log {
    len: AtomicUsize,
    rows: [[AtomicU64; 4]; LOG_LEN],
}

static LOG: Log = Log {
    len: AtomicUsize::new(0),
    rows: [const { [const { AtomicU64::new(0) }; 4] }; LOG_LEN],
};

arch::noinstr! {
fn log(row: [u64; 4]) {
    let at = LOG.len.fetch_add(1, Ordering::Relaxed);
    if at < LOG_LEN {
        for (cell, value) in LOG.rows[at].iter().zip(row) {
            cell.store(value, Ordering::Relaxed);
        }
    }
}
}

fn take_log() -> Vec<[u64; 4]> {
    let len = LOG.len.swap(0, Ordering::Relaxed).min(LOG_LEN);
    LOG.rows[..len]
        .iter()
        .map(|row| core::array::from_fn(|i| row[i].load(Ordering::Relaxed)))
        .collect()
}

arch::noinstr! {
fn log_entry(ent: &FtraceGraphEnt, _: &mut GraphTaskState, _: &FtraceRegs) -> bool {
    log([ENTRY, ent.func, u64::from(ent.depth), 0]);
    true
}
}

arch::noinstr! {
fn log_return(ret: &FtraceGraphRet, _: &mut GraphTaskState, _: &FgraphRetRegs) {
    log([RETURN, ret.func, u64::from(ret.depth), ret.retval]);
}
}

static GRAPH_A: FgraphOps = FgraphOps::new(log_entry, log_return);
static GRAPH_B: FgraphOps = FgraphOps::new(log_entry, log_return);

/// `rec->ip` of `f`'s site: what the handlers get as the function.
fn site(f: fn(u64) -> u64) -> u64 {
    f as usize as u64 + 4
}

fn trace_nested(gops: &'static FgraphOps) -> Result<(), alloc::string::String> {
    for (i, f) in [nested_a as fn(u64) -> u64, nested_b, nested_c]
        .into_iter()
        .enumerate()
    {
        gops.ops()
            .set_filter_ip(f as usize as u64, false, i == 0)
            .or_fail()?;
    }
    gops.register().or_fail()
}

fn shadow_depth() -> usize {
    current_depth_and_overrun().0
}

ktest! {
fn graph_handlers_see_each_call_in_order_with_depth_and_return_value() -> TestResult {
    let expected = nested_a(black_box(7));
    take_log();
    let base = shadow_depth() as u64;
    trace_nested(&GRAPH_A)?;
    let got = nested_a(black_box(7));
    GRAPH_A.unregister().or_fail()?;
    let log = take_log();
    kassert_eq!(got, expected);
    let (a, b, c) = (site(nested_a), site(nested_b), site(nested_c));
    let want = [
        [ENTRY, a, base, 0],
        [ENTRY, b, base + 1, 0],
        [ENTRY, c, base + 2, 0],
        [RETURN, c, base + 2, nested_c(16)],
        [RETURN, b, base + 1, nested_b(8)],
        [RETURN, a, base, expected],
    ];
    kassert_eq!(log.as_slice(), &want[..]);
    kassert_eq!(shadow_depth() as u64, base);
    Ok(())
}
}

ktest! {
fn two_graph_users_on_one_function_both_see_its_return() -> TestResult {
    take_log();
    GRAPH_A.ops().set_filter_ip(nested_c as fn(u64) -> u64 as usize as u64, false, true).or_fail()?;
    GRAPH_B.ops().set_filter_ip(nested_c as fn(u64) -> u64 as usize as u64, false, true).or_fail()?;
    GRAPH_A.register().or_fail()?;
    let registered = GRAPH_B.register();
    let got = nested_c(black_box(3));
    let _ = GRAPH_B.unregister();
    GRAPH_A.unregister().or_fail()?;
    registered.or_fail()?;
    let log = take_log();
    kassert_eq!(got, 3 ^ 0x5a);
    let entries = log.iter().filter(|r| r[0] == ENTRY).count();
    let returns: Vec<_> = log.iter().filter(|r| r[0] == RETURN).collect();
    kassert_eq!(entries, 2);
    kassert_eq!(returns.len(), 2);
    kassert!(returns.iter().all(|r| r[1] == site(nested_c) && r[3] == got), "{log:?}");
    Ok(())
}
}

/// Records the return addresses of its own backtrace.
static TRACE: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

#[inline(never)]
fn backtrace_here(x: u64) -> u64 {
    let fp: u64;
    // SAFETY: reads x29.
    unsafe { core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack)) };
    let mut i = 0;
    unwind::<64>(fp, |pc| {
        if let Some(slot) = TRACE.get(i) {
            slot.store(pc, Ordering::Relaxed);
        }
        i += 1;
    });
    black_box(x)
}

#[inline(never)]
fn backtrace_caller(x: u64) -> u64 {
    backtrace_here(black_box(x)) + 1
}

ktest! {
fn backtraces_through_hooked_functions_show_the_real_callers() -> TestResult {
    for (i, f) in [backtrace_here as fn(u64) -> u64, backtrace_caller]
        .into_iter()
        .enumerate()
    {
        GRAPH_A
            .ops()
            .set_filter_ip(f as usize as u64, false, i == 0)
            .or_fail()?;
    }
    GRAPH_A.register().or_fail()?;
    backtrace_caller(black_box(1));
    GRAPH_A.unregister().or_fail()?;
    take_log();
    let pcs: Vec<u64> = TRACE.iter().map(|s| s.load(Ordering::Relaxed)).collect();
    kassert!(!pcs.contains(&return_to_handler_addr()), "{pcs:x?}");
    // The first return address is inside backtrace_caller, the next inside this test.
    let caller = backtrace_caller as fn(u64) -> u64 as usize as u64;
    kassert!(pcs[0] > caller && pcs[0] < caller + 64, "{pcs:x?} vs {caller:#x}");
    Ok(())
}
}

arch::noinstr! {
/// A return handler that calls a function its own ops traces.
fn log_return_and_call_traced(ret: &FtraceGraphRet, _: &mut GraphTaskState, _: &FgraphRetRegs) {
    log([RETURN, ret.func, u64::from(ret.depth), ret.retval]);
    // Allowed: return handlers run under the recursion bit, which is what this test checks.
    arch::instrumentation! { black_box(nested_c(black_box(1))) };
}
}

static GRAPH_RECURSE: FgraphOps = FgraphOps::new(log_entry, log_return_and_call_traced);

ktest! {
fn a_return_handler_calling_a_traced_function_does_not_recurse() -> TestResult {
    // Without the recursion bit around return handlers, nested_c's return would run the
    // handler again, which calls nested_c again, until the stack overflows.
    take_log();
    let base = shadow_depth() as u64;
    for (i, f) in [nested_a as fn(u64) -> u64, nested_c].into_iter().enumerate() {
        GRAPH_RECURSE
            .ops()
            .set_filter_ip(f as usize as u64, false, i == 0)
            .or_fail()?;
    }
    GRAPH_RECURSE.register().or_fail()?;
    let got = nested_a(black_box(7));
    GRAPH_RECURSE.unregister().or_fail()?;
    let log = take_log();
    let (a, c) = (site(nested_a), site(nested_c));
    // nested_c inside nested_a is traced; the call from the return handler is not.
    let want = [
        [ENTRY, a, base, 0],
        [ENTRY, c, base + 1, 0],
        [RETURN, c, base + 1, nested_c(16)],
        [RETURN, a, base, got],
    ];
    kassert_eq!(log.as_slice(), &want[..]);
    kassert_eq!(shadow_depth() as u64, base);
    Ok(())
}
}
