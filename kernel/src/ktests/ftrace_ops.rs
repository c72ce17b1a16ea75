//! The `ftrace_ops` API on real patch sites: filters, notrace and reset, the list and direct
//! (CALL_OPS) paths, IPMODIFY redirection and exclusivity, the recursion guards, PERMANENT and
//! `ftrace_enabled`, and the unregister guarantee while three other CPUs call the traced
//! function.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use arch::ftrace::FtraceRegs;
use arch::insn::{AARCH64_INSN_SIZE, nop};
use arch::patching::read_insn;
use arch::processor::cpu_relax;
use arch::timer::trace_clock_ns;

use crate::fs::Errno;
use crate::ktest::Context;
use crate::sched;
use crate::smp::{cpu_online_mask, smp_processor_id};
use crate::trace::ftrace::records;
use crate::trace::ftrace_ops::{
    FTRACE_FL_CALL_OPS, FTRACE_FL_ENABLED, FTRACE_FL_IPMODIFY, FTRACE_OPS_FL_IPMODIFY,
    FTRACE_OPS_FL_PERMANENT, FTRACE_OPS_FL_RECURSION, FTRACE_OPS_FL_SAVE_REGS, FTRACE_REF_MAX,
    FtraceOps, ftrace_enabled, ftrace_test_recursion_trylock, ftrace_test_recursion_unlock,
    record_flags, set_ftrace_enabled,
};
use crate::workload::{fib, leaf, nested_a, nested_b, nested_c};
use crate::{kassert, kassert_eq, ktest};

fn addr_of(f: fn(u64) -> u64) -> u64 {
    f as usize as u64
}

/// The `dyn_ftrace.flags` of the site of `f`.
fn site_flags(f: fn(u64) -> u64) -> Result<u32, alloc::string::String> {
    let ip = addr_of(f) + AARCH64_INSN_SIZE as u64;
    let index = records()
        .binary_search_by_key(&ip, |rec| rec.ip)
        .map_err(|_| alloc::format!("no patch site at {ip:#x}"))?;
    Ok(record_flags()[index])
}

/// How many sites are enabled.
fn enabled_sites() -> usize {
    record_flags()
        .iter()
        .filter(|f| *f & FTRACE_FL_ENABLED != 0)
        .count()
}

/// Calls `f(x)` through `black_box`, so the call is a real one.
fn call(f: fn(u64) -> u64, x: u64) -> u64 {
    black_box(f)(black_box(x))
}

// One counter per ops, each with its own callback (the callback tells them apart).
static FIB_HITS: AtomicU64 = AtomicU64::new(0);
static FIB_LAST_IP: AtomicU64 = AtomicU64::new(0);
static OTHER_HITS: AtomicU64 = AtomicU64::new(0);

fn count_fib(ip: u64, _parent: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {
    FIB_HITS.fetch_add(1, Ordering::Relaxed);
    FIB_LAST_IP.store(ip, Ordering::Relaxed);
}

fn count_other(_ip: u64, _parent: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {
    OTHER_HITS.fetch_add(1, Ordering::Relaxed);
}

static FIB_OPS: FtraceOps = FtraceOps::new(count_fib, 0);
static OTHER_OPS: FtraceOps = FtraceOps::new(count_other, 0);

/// Unregisters `ops` whatever happened, then returns `result`.
fn cleanup(
    ops: &'static FtraceOps,
    result: Result<(), alloc::string::String>,
) -> Result<(), alloc::string::String> {
    if ops.is_enabled() {
        ops.unregister().context("unregister")?;
    }
    ops.set_filter("", true).context("reset filter")?;
    ops.set_notrace("", true).context("reset notrace")?;
    result
}

fn fib_filter_counts_every_call() -> Result<(), alloc::string::String> {
    FIB_OPS
        .set_filter("kernel::workload::fib", true)
        .or_fail()?;
    FIB_OPS.register().context("register")?;
    let before = FIB_HITS.load(Ordering::Relaxed);
    kassert_eq!(call(fib, 5), 5);
    let hits = FIB_HITS.load(Ordering::Relaxed) - before;
    kassert_eq!(hits, 15);
    kassert_eq!(
        FIB_LAST_IP.load(Ordering::Relaxed),
        addr_of(fib) + AARCH64_INSN_SIZE as u64
    );
    let flags = site_flags(fib)?;
    kassert_eq!(flags, FTRACE_FL_ENABLED | FTRACE_FL_CALL_OPS | 1);
    kassert_eq!(enabled_sites(), 1);
    FIB_OPS.unregister().context("unregister")?;
    kassert_eq!(call(fib, 5), 5);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed) - before, 15);
    kassert_eq!(
        read_insn(addr_of(fib) + AARCH64_INSN_SIZE as u64),
        Ok(nop())
    );
    kassert_eq!(site_flags(fib)? & FTRACE_REF_MAX, 0);
    Ok(())
}

ktest! {
fn filtered_ops_counts_fifteen_calls_of_fib_5() -> TestResult {
    cleanup(&FIB_OPS, fib_filter_counts_every_call())
}
}

fn notrace_wins() -> Result<(), alloc::string::String> {
    FIB_OPS
        .set_filter("kernel::workload::nested_*", true)
        .or_fail()?;
    FIB_OPS
        .set_notrace("kernel::workload::nested_b", true)
        .or_fail()?;
    FIB_OPS.register().context("register")?;
    let before = FIB_HITS.load(Ordering::Relaxed);
    call(nested_a, 1);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed) - before, 2);
    kassert!(site_flags(nested_a)? & FTRACE_FL_ENABLED != 0);
    kassert_eq!(site_flags(nested_b)?, 0);
    kassert!(site_flags(nested_c)? & FTRACE_FL_ENABLED != 0);
    // A glob that matches nothing fails and leaves the hashes as they were.
    kassert_eq!(
        FIB_OPS.set_notrace("no_such_function_*", true),
        Err(Errno::EINVAL)
    );
    kassert_eq!(site_flags(nested_b)?, 0);
    // An empty notrace (reset) brings nested_b back while registered.
    FIB_OPS.set_notrace("", true).or_fail()?;
    kassert!(site_flags(nested_b)? & FTRACE_FL_ENABLED != 0);
    call(nested_a, 1);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed) - before, 5);
    Ok(())
}

ktest! {
fn notrace_takes_precedence_over_the_filter() -> TestResult {
    cleanup(&FIB_OPS, notrace_wins())
}
}

fn reset_swaps() -> Result<(), alloc::string::String> {
    FIB_OPS
        .set_filter("kernel::workload::fib", true)
        .or_fail()?;
    FIB_OPS.register().context("register")?;
    FIB_OPS
        .set_filter("kernel::workload::leaf", true)
        .or_fail()?;
    kassert_eq!(enabled_sites(), 1);
    kassert_eq!(site_flags(fib)?, 0);
    let before = FIB_HITS.load(Ordering::Relaxed);
    call(fib, 5);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed), before);
    call(leaf, 3);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed), before + 1);
    // Appending (no reset) and removing by address.
    FIB_OPS
        .set_filter_ip(addr_of(fib), false, false)
        .or_fail()?;
    kassert_eq!(enabled_sites(), 2);
    FIB_OPS
        .set_filter_ip(addr_of(leaf), true, false)
        .or_fail()?;
    kassert_eq!(enabled_sites(), 1);
    kassert!(site_flags(fib)? & FTRACE_FL_ENABLED != 0);
    kassert_eq!(FIB_OPS.set_filter_ip(1, false, false), Err(Errno::EINVAL));
    Ok(())
}

ktest! {
fn filter_reset_swaps_the_traced_functions() -> TestResult {
    cleanup(&FIB_OPS, reset_swaps())
}
}

fn list_path() -> Result<(), alloc::string::String> {
    FIB_OPS
        .set_filter("kernel::workload::fib", true)
        .or_fail()?;
    OTHER_OPS
        .set_filter("kernel::workload::fib", true)
        .or_fail()?;
    FIB_OPS.register().context("register")?;
    OTHER_OPS.register().context("register other")?;
    kassert_eq!(site_flags(fib)?, FTRACE_FL_ENABLED | 2);
    let (fib_before, other_before) = (
        FIB_HITS.load(Ordering::Relaxed),
        OTHER_HITS.load(Ordering::Relaxed),
    );
    call(fib, 5);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed) - fib_before, 15);
    kassert_eq!(OTHER_HITS.load(Ordering::Relaxed) - other_before, 15);
    OTHER_OPS.unregister().context("unregister other")?;
    kassert_eq!(site_flags(fib)?, FTRACE_FL_ENABLED | FTRACE_FL_CALL_OPS | 1);
    call(fib, 5);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed) - fib_before, 30);
    kassert_eq!(OTHER_HITS.load(Ordering::Relaxed) - other_before, 15);
    Ok(())
}

ktest! {
fn two_ops_on_one_site_are_both_called_through_the_list() -> TestResult {
    let result = cleanup(&OTHER_OPS, list_path());
    cleanup(&FIB_OPS, result)
}
}

/// The function the IPMODIFY test redirects, and its replacement.
#[inline(never)]
fn patched_target(x: u64) -> u64 {
    black_box(x) + 1
}

#[inline(never)]
fn replacement(x: u64) -> u64 {
    black_box(x) + 100
}

fn redirect(_ip: u64, _parent: u64, _ops: &FtraceOps, regs: &mut FtraceRegs) {
    regs.set_instruction_pointer(addr_of(replacement));
}

static LIVEPATCH_OPS: FtraceOps =
    FtraceOps::new(redirect, FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_SAVE_REGS);
static SECOND_IPMODIFY_OPS: FtraceOps =
    FtraceOps::new(redirect, FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_SAVE_REGS);

fn ipmodify() -> Result<(), alloc::string::String> {
    kassert_eq!(call(patched_target, 1), 2);
    LIVEPATCH_OPS
        .set_filter_ip(addr_of(patched_target), false, true)
        .or_fail()?;
    LIVEPATCH_OPS.register().context("register")?;
    kassert_eq!(call(patched_target, 1), 101);
    kassert!(site_flags(patched_target)? & FTRACE_FL_IPMODIFY != 0);
    SECOND_IPMODIFY_OPS
        .set_filter("kernel::ktests::ftrace_ops::patched_target", true)
        .or_fail()?;
    kassert_eq!(SECOND_IPMODIFY_OPS.register(), Err(Errno::EBUSY));
    kassert!(!SECOND_IPMODIFY_OPS.is_enabled());
    LIVEPATCH_OPS.unregister().context("unregister")?;
    kassert_eq!(call(patched_target, 1), 2);
    // Once the first is gone, the second may take the function.
    SECOND_IPMODIFY_OPS.register().context("register second")?;
    kassert_eq!(call(patched_target, 2), 102);
    Ok(())
}

ktest! {
fn ipmodify_redirects_and_is_exclusive() -> TestResult {
    let result = cleanup(&SECOND_IPMODIFY_OPS, ipmodify());
    cleanup(&LIVEPATCH_OPS, result)
}
}

static GUARDED_HITS: AtomicU64 = AtomicU64::new(0);
static SELF_GUARDED_HITS: AtomicU64 = AtomicU64::new(0);
static SELF_GUARDED_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Calls the traced function it is called for: without a guard this would never end.
fn recurse_framework(_ip: u64, _parent: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {
    GUARDED_HITS.fetch_add(1, Ordering::Relaxed);
    call(leaf, 7);
}

fn recurse_self_guarded(_ip: u64, _parent: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {
    let bit = ftrace_test_recursion_trylock();
    if bit < 0 {
        SELF_GUARDED_REFUSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    SELF_GUARDED_HITS.fetch_add(1, Ordering::Relaxed);
    call(fib, 1);
    ftrace_test_recursion_unlock(bit);
}

static GUARDED_OPS: FtraceOps = FtraceOps::new(recurse_framework, FTRACE_OPS_FL_RECURSION);
static SELF_GUARDED_OPS: FtraceOps = FtraceOps::new(recurse_self_guarded, 0);

fn recursion() -> Result<(), alloc::string::String> {
    GUARDED_OPS
        .set_filter("kernel::workload::leaf", true)
        .or_fail()?;
    GUARDED_OPS.register().context("register")?;
    let before = GUARDED_HITS.load(Ordering::Relaxed);
    call(leaf, 1);
    kassert_eq!(GUARDED_HITS.load(Ordering::Relaxed) - before, 1);
    GUARDED_OPS.unregister().context("unregister")?;

    SELF_GUARDED_OPS
        .set_filter("kernel::workload::fib", true)
        .or_fail()?;
    SELF_GUARDED_OPS.register().context("register")?;
    let (hits, refused) = (
        SELF_GUARDED_HITS.load(Ordering::Relaxed),
        SELF_GUARDED_REFUSED.load(Ordering::Relaxed),
    );
    call(fib, 1);
    kassert_eq!(SELF_GUARDED_HITS.load(Ordering::Relaxed) - hits, 1);
    kassert_eq!(SELF_GUARDED_REFUSED.load(Ordering::Relaxed) - refused, 1);
    // The bit was released: the next call is traced again.
    call(fib, 1);
    kassert_eq!(SELF_GUARDED_HITS.load(Ordering::Relaxed) - hits, 2);
    Ok(())
}

ktest! {
fn recursion_is_guarded_by_the_framework_or_the_helpers() -> TestResult {
    let result = cleanup(&SELF_GUARDED_OPS, recursion());
    cleanup(&GUARDED_OPS, result)
}
}

static PERMANENT_OPS: FtraceOps = FtraceOps::new(count_other, FTRACE_OPS_FL_PERMANENT);

fn permanent() -> Result<(), alloc::string::String> {
    PERMANENT_OPS
        .set_filter("kernel::workload::nested_c", true)
        .or_fail()?;
    PERMANENT_OPS.register().context("register")?;
    kassert_eq!(set_ftrace_enabled(false), Err(Errno::EBUSY));
    kassert!(ftrace_enabled());
    PERMANENT_OPS.unregister().context("unregister")?;

    FIB_OPS
        .set_filter("kernel::workload::fib", true)
        .or_fail()?;
    FIB_OPS.register().context("register fib")?;
    set_ftrace_enabled(false).context("disable")?;
    kassert_eq!(PERMANENT_OPS.register(), Err(Errno::EBUSY));
    let before = FIB_HITS.load(Ordering::Relaxed);
    call(fib, 5);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed), before);
    kassert_eq!(site_flags(fib)?, 1);
    set_ftrace_enabled(true).context("enable")?;
    call(fib, 5);
    kassert_eq!(FIB_HITS.load(Ordering::Relaxed) - before, 15);
    Ok(())
}

ktest! {
fn permanent_ops_and_ftrace_enabled_exclude_each_other() -> TestResult {
    let result = permanent();
    let restored = set_ftrace_enabled(true).context("re-enable");
    let result = cleanup(&PERMANENT_OPS, result.and(restored));
    cleanup(&FIB_OPS, result)
}
}

/// The SMP test's traced function.
#[inline(never)]
fn smp_target(x: u64) -> u64 {
    black_box(x) ^ 1
}

/// Whether a callback may run now (false from the moment unregister returned).
static CALLBACK_ALLOWED: AtomicBool = AtomicBool::new(false);
static CALLBACKS_RUNNING: AtomicI64 = AtomicI64::new(0);
static SMP_HITS: AtomicU64 = AtomicU64::new(0);
static LATE_CALLBACKS: AtomicU64 = AtomicU64::new(0);
/// Register/unregister cycles of the SMP test.
const SMP_CYCLES: usize = 40;
const SMP_CALLERS: [usize; 3] = [1, 2, 3];
const SMP_TIMEOUT_NS: u64 = 5_000_000_000;

/// Stays in the callback for a while, so an unregister has something to wait for.
fn slow_callback(_ip: u64, _parent: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {
    CALLBACKS_RUNNING.fetch_add(1, Ordering::AcqRel);
    if !CALLBACK_ALLOWED.load(Ordering::Acquire) {
        LATE_CALLBACKS.fetch_add(1, Ordering::Relaxed);
    }
    for _ in 0..200 {
        cpu_relax();
    }
    SMP_HITS.fetch_add(1, Ordering::Relaxed);
    CALLBACKS_RUNNING.fetch_sub(1, Ordering::AcqRel);
}

static SMP_OPS: FtraceOps = FtraceOps::new(slow_callback, 0);

/// Waits (spinning, so the callers get the CPU under single-threaded TCG) until `done()`.
fn spin_until(done: impl Fn() -> bool) -> bool {
    let start = trace_clock_ns();
    while !done() {
        if trace_clock_ns() - start > SMP_TIMEOUT_NS {
            return false;
        }
        let _ = sched::msleep(1);
    }
    true
}

fn smp_cycles(stop: &AtomicBool) -> Result<(), alloc::string::String> {
    SMP_OPS
        .set_filter_ip(addr_of(smp_target), false, true)
        .or_fail()?;
    for cycle in 0..SMP_CYCLES {
        CALLBACK_ALLOWED.store(true, Ordering::Release);
        let before = SMP_HITS.load(Ordering::Relaxed);
        SMP_OPS.register().context("register")?;
        kassert!(
            spin_until(|| SMP_HITS.load(Ordering::Relaxed) > before + 3),
            "cycle {cycle}: the callers never reached the callback"
        );
        SMP_OPS.unregister().context("unregister")?;
        CALLBACK_ALLOWED.store(false, Ordering::Release);
        kassert_eq!(CALLBACKS_RUNNING.load(Ordering::Acquire), 0);
        // Let the callers run on the disabled site for a while.
        let _ = sched::msleep(2);
        kassert_eq!(LATE_CALLBACKS.load(Ordering::Relaxed), 0);
    }
    kassert!(!stop.load(Ordering::Relaxed));
    Ok(())
}

ktest! {
fn after_unregister_no_cpu_runs_or_enters_the_callback() -> TestResult {
    kassert!(cpu_online_mask() & 0xf == 0xf, "needs CPUs 0-3 (-smp 4)");
    kassert_eq!(smp_processor_id(), 0);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for cpu in SMP_CALLERS {
        let (stop, calls) = (stop.clone(), calls.clone());
        let task = sched::spawn("ftrace-caller", Some(cpu), false, move || {
            while !stop.load(Ordering::Acquire) {
                call(smp_target, 3);
                calls.fetch_add(1, Ordering::Relaxed);
                cpu_relax();
            }
        })
        .map_err(|e| alloc::format!("spawn on CPU{cpu}: {e:?}"))?;
        tasks.push(task);
    }
    let result = smp_cycles(&stop);
    let result = cleanup(&SMP_OPS, result);
    stop.store(true, Ordering::Release);
    for task in &tasks {
        sched::join(task).map_err(|_| "join interrupted")?;
    }
    result?;
    kassert_eq!(LATE_CALLBACKS.load(Ordering::Relaxed), 0);
    kassert!(calls.load(Ordering::Relaxed) > SMP_HITS.load(Ordering::Relaxed));
    kassert_eq!(enabled_sites(), 0);
    Ok(())
}
}
