//! fprobe on real functions, after Linux's KUnit `lib/tests/test_fprobe.c`: entry and exit
//! handlers with the right entry ip and return address, the return value at the exit, entry
//! data carried from entry to exit, several fprobes on one function, filter and notfilter
//! globs, registration by addresses and by names, `nmissed` on recursion, an entry handler
//! that cancels the exit, soft disabling, the registration errors, unregistering while three
//! other CPUs run the probed function, an fprobe with `function_graph` and a kretprobe on the
//! same function, a call that unregisters and frees its own fprobe while its return is hooked,
//! no memory left behind by 100 register/unregister cycles, and an fprobe on every function.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arch::exception::TrapFrame;
use arch::ftrace::{FgraphRetRegs, FtraceRegs};

use crate::fs::Errno;
use crate::kprobes::{Kretprobe, KretprobeInstance, register_kretprobe, unregister_kretprobe};
use crate::ktest::{Context, TestResult};
use crate::sched;
use crate::smp::num_online_cpus;
use crate::trace::fgraph::{FgraphOps, FtraceGraphEnt, FtraceGraphRet, GraphTaskState};
use crate::trace::fprobe::{
    Fprobe, MAX_FPROBE_DATA_SIZE, disable_fprobe, enable_fprobe, pools_pending, register_fprobe,
    register_fprobe_ips, register_fprobe_syms, unregister_fprobe,
};
use crate::{kassert, kassert_eq, ktest};

const DIV_FACTOR: u32 = 3;
const TARGET: &str = "kernel::ktests::fprobe::fprobe_selftest_target";
const TARGET2: &str = "kernel::ktests::fprobe::fprobe_selftest_target2";

/// The probed function (Linux's `fprobe_selftest_target`).
#[inline(never)]
fn fprobe_selftest_target(value: u32) -> u32 {
    black_box(value) / DIV_FACTOR
}

/// A second one (Linux's `fprobe_selftest_target2`).
#[inline(never)]
fn fprobe_selftest_target2(value: u32) -> u32 {
    black_box(value) / DIV_FACTOR + 1
}

/// Calls the target: where its return address points.
#[inline(never)]
fn fprobe_caller(value: u32) -> u32 {
    fprobe_selftest_target(black_box(value)).wrapping_add(black_box(0))
}

type Target = fn(u32) -> u32;

fn func_addr(f: Target) -> u64 {
    f as usize as u64
}

/// The ftrace location (record ip) of `f`: what handlers get as `entry_ip`.
fn ftrace_location(f: Target) -> Result<u64, String> {
    crate::trace::ftrace::records()
        .iter()
        .find(|rec| rec.func() == func_addr(f))
        .map(|rec| rec.ip)
        .ok_or_else(|| "no patch site".into())
}

static ENTRY_HITS: AtomicU64 = AtomicU64::new(0);
static EXIT_HITS: AtomicU64 = AtomicU64::new(0);
static ENTRY_IP: AtomicU64 = AtomicU64::new(0);
static EXIT_IP: AtomicU64 = AtomicU64::new(0);
static ENTRY_RET_IP: AtomicU64 = AtomicU64::new(0);
static EXIT_RET_IP: AtomicU64 = AtomicU64::new(0);
static ENTRY_ARG: AtomicU64 = AtomicU64::new(0);
static EXIT_RETVAL: AtomicU64 = AtomicU64::new(0);
static EXIT_DATA: AtomicU64 = AtomicU64::new(0);
/// What the entry handler returns (true cancels the exit).
static ENTRY_SKIPS: AtomicBool = AtomicBool::new(false);

fn reset() {
    for v in [
        &ENTRY_HITS,
        &EXIT_HITS,
        &ENTRY_IP,
        &EXIT_IP,
        &ENTRY_RET_IP,
        &EXIT_RET_IP,
        &ENTRY_ARG,
        &EXIT_RETVAL,
        &EXIT_DATA,
    ] {
        v.store(0, Ordering::Relaxed);
    }
    ENTRY_SKIPS.store(false, Ordering::Relaxed);
}

fn entry_record(
    _fp: &Fprobe,
    ip: u64,
    ret_ip: u64,
    regs: &mut FtraceRegs,
    data: &mut [u8],
) -> bool {
    ENTRY_HITS.fetch_add(1, Ordering::Relaxed);
    ENTRY_IP.store(ip, Ordering::Relaxed);
    ENTRY_RET_IP.store(ret_ip, Ordering::Relaxed);
    ENTRY_ARG.store(regs.regs[0], Ordering::Relaxed);
    if data.len() >= 8 {
        // What the exit must see: derived from the argument.
        data[..8].copy_from_slice(&(regs.regs[0] * 2 + 1).to_le_bytes());
    }
    ENTRY_SKIPS.load(Ordering::Relaxed)
}

fn exit_record(_fp: &Fprobe, ip: u64, ret_ip: u64, regs: &FgraphRetRegs, data: &mut [u8]) {
    EXIT_HITS.fetch_add(1, Ordering::Relaxed);
    EXIT_IP.store(ip, Ordering::Relaxed);
    EXIT_RET_IP.store(ret_ip, Ordering::Relaxed);
    EXIT_RETVAL.store(regs.return_value(), Ordering::Relaxed);
    if data.len() >= 8 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&data[..8]);
        EXIT_DATA.store(u64::from_le_bytes(word), Ordering::Relaxed);
    }
}

fn recording_fprobe(data_size: usize) -> Result<Arc<Fprobe>, String> {
    Arc::try_new(
        Fprobe::new()
            .with_entry_handler(entry_record)
            .with_exit_handler(exit_record)
            .with_entry_data_size(data_size),
    )
    .or_fail()
}

ktest! {
fn fprobe_handlers_see_ip_return_address_return_value_and_entry_data() -> TestResult {
    reset();
    let fp = recording_fprobe(8)?;
    register_fprobe(&fp, TARGET, None).context("register")?;
    let got = fprobe_caller(black_box(301));
    unregister_fprobe(&fp).context("unregister")?;
    kassert_eq!(got, 301 / DIV_FACTOR);
    let ip = ftrace_location(fprobe_selftest_target)?;
    kassert_eq!(ENTRY_HITS.load(Ordering::Relaxed), 1);
    kassert_eq!(EXIT_HITS.load(Ordering::Relaxed), 1);
    kassert_eq!(ENTRY_IP.load(Ordering::Relaxed), ip);
    kassert_eq!(EXIT_IP.load(Ordering::Relaxed), ip);
    kassert_eq!(ENTRY_ARG.load(Ordering::Relaxed), 301);
    kassert_eq!(EXIT_RETVAL.load(Ordering::Relaxed), u64::from(301 / DIV_FACTOR));
    kassert_eq!(EXIT_DATA.load(Ordering::Relaxed), 603);
    let ret_ip = ENTRY_RET_IP.load(Ordering::Relaxed);
    kassert_eq!(EXIT_RET_IP.load(Ordering::Relaxed), ret_ip);
    let caller = crate::symbols::lookup(func_addr(fprobe_caller)).ok_or("no caller symbol")?;
    kassert!(caller.contains(ret_ip), "ret_ip {ret_ip:#x} is not in fprobe_caller");
    kassert_eq!(fp.nmissed(), 0);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

ktest! {
fn an_entry_handler_returning_true_cancels_the_exit() -> TestResult {
    reset();
    ENTRY_SKIPS.store(true, Ordering::Relaxed);
    let fp = recording_fprobe(0)?;
    register_fprobe_syms(&fp, &[TARGET]).context("register")?;
    let got = fprobe_selftest_target(black_box(30));
    unregister_fprobe(&fp).context("unregister")?;
    kassert_eq!(got, 10);
    kassert_eq!(ENTRY_HITS.load(Ordering::Relaxed), 1);
    kassert_eq!(EXIT_HITS.load(Ordering::Relaxed), 0);
    kassert_eq!(pools_pending(), 0);
    Ok(())
}
}

static COUNT_A: AtomicU64 = AtomicU64::new(0);
static COUNT_B: AtomicU64 = AtomicU64::new(0);
static SEEN_T1: AtomicU64 = AtomicU64::new(0);
static SEEN_T2: AtomicU64 = AtomicU64::new(0);

fn count_a(_: &Fprobe, _: u64, _: u64, _: &mut FtraceRegs, _: &mut [u8]) -> bool {
    COUNT_A.fetch_add(1, Ordering::Relaxed);
    false
}

fn count_b_exit(_: &Fprobe, _: u64, _: u64, _: &FgraphRetRegs, _: &mut [u8]) {
    COUNT_B.fetch_add(1, Ordering::Relaxed);
}

/// Counts entries per target, by entry ip.
fn count_by_ip(_: &Fprobe, ip: u64, _: u64, _: &mut FtraceRegs, _: &mut [u8]) -> bool {
    if ftrace_location(fprobe_selftest_target) == Ok(ip) {
        SEEN_T1.fetch_add(1, Ordering::Relaxed);
    } else if ftrace_location(fprobe_selftest_target2) == Ok(ip) {
        SEEN_T2.fetch_add(1, Ordering::Relaxed);
    }
    false
}

fn call_both() -> u32 {
    fprobe_selftest_target(black_box(9)) + fprobe_selftest_target2(black_box(9))
}

ktest! {
fn several_fprobes_globs_ips_and_syms_pick_the_right_functions() -> TestResult {
    COUNT_A.store(0, Ordering::Relaxed);
    COUNT_B.store(0, Ordering::Relaxed);
    // Two fprobes on one function: one by address (its entry), one by name with an exit.
    let a = Arc::try_new(Fprobe::new().with_entry_handler(count_a)).or_fail()?;
    let b = Arc::try_new(Fprobe::new().with_exit_handler(count_b_exit)).or_fail()?;
    register_fprobe_ips(&a, &[func_addr(fprobe_selftest_target)]).context("ips")?;
    register_fprobe_syms(&b, &[TARGET]).context("syms")?;
    let got = call_both();
    unregister_fprobe(&a).context("unregister a")?;
    unregister_fprobe(&b).context("unregister b")?;
    kassert_eq!(got, 3 + 4);
    kassert_eq!(COUNT_A.load(Ordering::Relaxed), 1);
    kassert_eq!(COUNT_B.load(Ordering::Relaxed), 1);
    // A glob for both targets, then the same glob without target2.
    let glob = alloc::format!("{TARGET}*");
    for (notfilter, want2) in [(None, 1), (Some("*target2"), 0)] {
        SEEN_T1.store(0, Ordering::Relaxed);
        SEEN_T2.store(0, Ordering::Relaxed);
        let fp = Arc::try_new(Fprobe::new().with_entry_handler(count_by_ip)).or_fail()?;
        register_fprobe(&fp, &glob, notfilter).context("glob")?;
        call_both();
        unregister_fprobe(&fp).context("unregister glob")?;
        kassert_eq!(SEEN_T1.load(Ordering::Relaxed), 1);
        kassert_eq!(SEEN_T2.load(Ordering::Relaxed), want2);
    }
    // The ftrace location works as well as the function's address.
    let fp = Arc::try_new(Fprobe::new().with_entry_handler(count_a)).or_fail()?;
    register_fprobe_ips(&fp, &[ftrace_location(fprobe_selftest_target2)?]).context("rec ip")?;
    call_both();
    unregister_fprobe(&fp).context("unregister rec ip")?;
    kassert_eq!(COUNT_A.load(Ordering::Relaxed), 2);
    Ok(())
}
}

ktest! {
fn registration_errors_are_linux_errnos() -> TestResult {
    let fp = recording_fprobe(MAX_FPROBE_DATA_SIZE + 1)?;
    kassert_eq!(register_fprobe(&fp, TARGET, None), Err(Errno::E2BIG));
    let fp = recording_fprobe(8)?;
    kassert_eq!(register_fprobe(&fp, "no_such_function_*", None), Err(Errno::ENOENT));
    kassert_eq!(register_fprobe(&fp, TARGET, Some(TARGET)), Err(Errno::ENOENT));
    kassert_eq!(register_fprobe(&fp, "", None), Err(Errno::EINVAL));
    kassert_eq!(register_fprobe_ips(&fp, &[]), Err(Errno::EINVAL));
    kassert_eq!(register_fprobe_ips(&fp, &[func_addr(fprobe_selftest_target) + 8]), Err(Errno::EINVAL));
    kassert_eq!(register_fprobe_syms(&fp, &["no_such_function"]), Err(Errno::ENOENT));
    kassert_eq!(unregister_fprobe(&fp), Err(Errno::EINVAL));
    register_fprobe(&fp, TARGET, None).context("register")?;
    kassert_eq!(register_fprobe(&fp, TARGET, None), Err(Errno::EINVAL));
    unregister_fprobe(&fp).context("unregister")?;
    kassert_eq!(unregister_fprobe(&fp), Err(Errno::EINVAL));
    kassert!(!fp.is_registered());
    Ok(())
}
}

ktest! {
fn a_disabled_fprobe_runs_no_handler_until_enabled() -> TestResult {
    reset();
    let fp = Arc::try_new(
        Fprobe::new()
            .with_entry_handler(entry_record)
            .with_exit_handler(exit_record)
            .disabled(),
    )
    .or_fail()?;
    register_fprobe(&fp, TARGET, None).context("register")?;
    fprobe_selftest_target(black_box(3));
    let while_disabled = (ENTRY_HITS.load(Ordering::Relaxed), EXIT_HITS.load(Ordering::Relaxed));
    enable_fprobe(&fp);
    fprobe_selftest_target(black_box(3));
    let enabled = (ENTRY_HITS.load(Ordering::Relaxed), EXIT_HITS.load(Ordering::Relaxed));
    disable_fprobe(&fp);
    fprobe_selftest_target(black_box(3));
    let disabled_again = (ENTRY_HITS.load(Ordering::Relaxed), EXIT_HITS.load(Ordering::Relaxed));
    unregister_fprobe(&fp).context("unregister")?;
    kassert_eq!(while_disabled, (0, 0));
    kassert_eq!(enabled, (1, 1));
    kassert_eq!(disabled_again, (1, 1));
    kassert_eq!(fp.nmissed(), 0);
    Ok(())
}
}

// Recursion.

static NEST_CALLS: AtomicU64 = AtomicU64::new(0);

/// Calls the other probed function from inside the handler (Linux's nest test).
fn entry_calls_target2(_: &Fprobe, _: u64, _: u64, _: &mut FtraceRegs, _: &mut [u8]) -> bool {
    NEST_CALLS.fetch_add(1, Ordering::Relaxed);
    fprobe_selftest_target2(black_box(6));
    false
}

fn exit_calls_target2(_: &Fprobe, _: u64, _: u64, _: &FgraphRetRegs, _: &mut [u8]) {
    NEST_CALLS.fetch_add(1, Ordering::Relaxed);
    fprobe_selftest_target2(black_box(6));
}

ktest! {
fn a_probed_function_called_from_a_handler_counts_as_missed() -> TestResult {
    NEST_CALLS.store(0, Ordering::Relaxed);
    let fp = Arc::try_new(
        Fprobe::new()
            .with_entry_handler(entry_calls_target2)
            .with_exit_handler(exit_calls_target2),
    )
    .or_fail()?;
    register_fprobe_syms(&fp, &[TARGET, TARGET2]).context("register")?;
    let got = fprobe_selftest_target(black_box(12));
    unregister_fprobe(&fp).context("unregister")?;
    kassert_eq!(got, 4);
    // The target's entry and exit ran; target2 from each was missed, not entered.
    kassert_eq!(NEST_CALLS.load(Ordering::Relaxed), 2);
    kassert_eq!(fp.nmissed(), 2);
    Ok(())
}
}

// Unregistering under load.

static STRESS_IN_HANDLER: AtomicU64 = AtomicU64::new(0);
static STRESS_HITS: AtomicU64 = AtomicU64::new(0);

fn stress_entry(_: &Fprobe, _: u64, _: u64, _: &mut FtraceRegs, _: &mut [u8]) -> bool {
    STRESS_IN_HANDLER.fetch_add(1, Ordering::AcqRel);
    STRESS_HITS.fetch_add(1, Ordering::Relaxed);
    core::hint::spin_loop();
    STRESS_IN_HANDLER.fetch_sub(1, Ordering::AcqRel);
    false
}

fn stress_exit(_: &Fprobe, _: u64, _: u64, _: &FgraphRetRegs, _: &mut [u8]) {
    STRESS_IN_HANDLER.fetch_add(1, Ordering::AcqRel);
    STRESS_HITS.fetch_add(1, Ordering::Relaxed);
    STRESS_IN_HANDLER.fetch_sub(1, Ordering::AcqRel);
}

const STRESS_ROUNDS: u64 = 10;

ktest! {
fn unregister_while_three_other_cpus_run_the_probed_function() -> TestResult {
    if num_online_cpus() < 4 {
        return Err("needs 4 CPUs".into());
    }
    let stop = Arc::try_new(AtomicBool::new(false)).or_fail()?;
    let errors = Arc::try_new(AtomicU64::new(0)).or_fail()?;
    let calls = Arc::try_new(AtomicU64::new(0)).or_fail()?;
    let mut workers = Vec::new();
    for cpu in 1..4 {
        let (stop, errors, calls) = (stop.clone(), errors.clone(), calls.clone());
        let task = sched::spawn("fprobe-stress", Some(cpu), false, move || {
            let target = black_box(fprobe_caller as Target);
            let mut i = 0u32;
            while !stop.load(Ordering::Acquire) {
                if target(i) != i / DIV_FACTOR {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                calls.fetch_add(1, Ordering::Relaxed);
                i = i.wrapping_add(1);
                arch::processor::cpu_relax();
            }
        })
        .context("spawn")?;
        workers.push(task);
    }
    let result = (|| -> TestResult {
        for round in 0..STRESS_ROUNDS {
            let fp = Arc::try_new(
                Fprobe::new()
                    .with_entry_handler(stress_entry)
                    .with_exit_handler(stress_exit)
                    .with_entry_data_size(16),
            )
            .or_fail()?;
            let before = STRESS_HITS.load(Ordering::Relaxed);
            register_fprobe(&fp, TARGET, None).context("register")?;
            let mut spins = 0u64;
            while STRESS_HITS.load(Ordering::Relaxed) < before + 40 && spins < 50_000_000 {
                spins += 1;
                arch::processor::cpu_relax();
            }
            unregister_fprobe(&fp).context("unregister")?;
            drop(fp);
            kassert!(STRESS_IN_HANDLER.load(Ordering::Acquire) == 0, "a handler still runs");
            let after = STRESS_HITS.load(Ordering::Acquire);
            kassert!(after >= before + 40, "round {round}: only {} hits", after - before);
            let calls_then = calls.load(Ordering::Relaxed);
            while calls.load(Ordering::Relaxed) < calls_then + 30 {
                arch::processor::cpu_relax();
            }
            kassert!(
                STRESS_HITS.load(Ordering::Acquire) == after,
                "hit after unregister: {} != {after}",
                STRESS_HITS.load(Ordering::Acquire)
            );
        }
        Ok(())
    })();
    stop.store(true, Ordering::Release);
    for task in &workers {
        let _ = sched::join(task);
    }
    kassert!(errors.load(Ordering::Relaxed) == 0, "wrong results under the probe");
    // Every call that was inside the target at an unregistration has returned by now.
    kassert_eq!(pools_pending(), 0);
    result
}
}

// With function_graph and a kretprobe on the same function.

static GRAPH_RETURNS: AtomicU64 = AtomicU64::new(0);
static GRAPH_RETVAL: AtomicU64 = AtomicU64::new(0);
static KRET_RETURNS: AtomicU64 = AtomicU64::new(0);
static KRET_RETVAL: AtomicU64 = AtomicU64::new(0);

arch::noinstr! {
fn graph_entry(_: &FtraceGraphEnt, _: &mut GraphTaskState, _: &FtraceRegs) -> bool {
    true
}
}

arch::noinstr! {
fn graph_return(ret: &FtraceGraphRet, _: &mut GraphTaskState, _: &FgraphRetRegs) {
    GRAPH_RETURNS.fetch_add(1, Ordering::Relaxed);
    GRAPH_RETVAL.store(ret.retval, Ordering::Relaxed);
}
}

static FPROBE_TEST_GRAPH: FgraphOps = FgraphOps::new(graph_entry, graph_return);

fn kret_return(_ri: &mut KretprobeInstance<'_>, regs: &TrapFrame) {
    KRET_RETURNS.fetch_add(1, Ordering::Relaxed);
    KRET_RETVAL.store(regs.regs[0], Ordering::Relaxed);
}

ktest! {
fn fprobe_function_graph_and_kretprobe_all_see_every_return() -> TestResult {
    reset();
    for v in [&GRAPH_RETURNS, &GRAPH_RETVAL, &KRET_RETURNS, &KRET_RETVAL] {
        v.store(0, Ordering::Relaxed);
    }
    FPROBE_TEST_GRAPH
        .ops()
        .set_filter_ip(func_addr(fprobe_selftest_target), false, true)
        .or_fail()?;
    let rp = Arc::try_new(
        Kretprobe::at_symbol(TARGET, 0)
            .or_fail()?
            .with_handler(kret_return),
    )
    .or_fail()?;
    let fp = recording_fprobe(8)?;
    // In one order on, in the other off.
    register_fprobe(&fp, TARGET, None).context("fprobe")?;
    FPROBE_TEST_GRAPH.register().context("graph")?;
    register_kretprobe(&rp).context("kretprobe")?;
    let mut results = [0u32; 3];
    for (i, r) in results.iter_mut().enumerate() {
        *r = fprobe_caller(black_box(90 + i as u32 * 3));
    }
    unregister_fprobe(&fp).context("unregister fprobe")?;
    FPROBE_TEST_GRAPH.unregister().context("unregister graph")?;
    unregister_kretprobe(&rp).context("unregister kretprobe")?;
    kassert_eq!(results, [30, 31, 32]);
    kassert_eq!(EXIT_HITS.load(Ordering::Relaxed), 3);
    kassert_eq!(GRAPH_RETURNS.load(Ordering::Relaxed), 3);
    kassert_eq!(KRET_RETURNS.load(Ordering::Relaxed), 3);
    kassert_eq!(EXIT_RETVAL.load(Ordering::Relaxed), 32);
    kassert_eq!(GRAPH_RETVAL.load(Ordering::Relaxed), 32);
    kassert_eq!(KRET_RETVAL.load(Ordering::Relaxed), 32);
    kassert_eq!(EXIT_DATA.load(Ordering::Relaxed), 2 * 96 + 1);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

// Memory.

fn one_cycle() -> TestResult {
    let fp = recording_fprobe(24)?;
    register_fprobe(&fp, alloc::format!("{TARGET}*").as_str(), None).context("register")?;
    fprobe_caller(black_box(7));
    unregister_fprobe(&fp).context("unregister")?;
    Ok(())
}

ktest! {
fn a_hundred_register_unregister_cycles_leave_the_heap_as_it_was() -> TestResult {
    // The first cycle sizes the registries' vectors for good.
    one_cycle()?;
    let (before, _) = crate::heap::usage();
    for _ in 0..100 {
        one_cycle()?;
    }
    let (after, _) = crate::heap::usage();
    kassert_eq!(pools_pending(), 0);
    kassert!(after <= before, "heap grew from {before} to {after} bytes");
    Ok(())
}
}

// A return hooked before the unregistration.

static SELF_FPROBE: spin::Mutex<Option<Arc<Fprobe>>> = spin::Mutex::new(None);
static SELF_UNREGISTERED: AtomicBool = AtomicBool::new(false);

/// Unregisters (and frees) its own fprobe while its return is hooked: the call must still
/// return to its caller with its value, without the exit handler, and the instance's pool is
/// freed once it is back.
#[inline(never)]
fn fprobe_unregistering_target(value: u32) -> u32 {
    if let Some(fp) = SELF_FPROBE.lock().take() {
        let ok = unregister_fprobe(&fp).is_ok();
        let pending = pools_pending();
        // The last reference: the fprobe is freed here, inside the probed call.
        drop(fp);
        SELF_UNREGISTERED.store(ok && pending == 1, Ordering::Relaxed);
    }
    black_box(value) + 1
}

#[inline(never)]
fn call_unregistering_target(value: u32) -> u32 {
    fprobe_unregistering_target(black_box(value)).wrapping_mul(black_box(2))
}

ktest! {
fn a_return_hooked_before_unregister_completes_without_the_exit_handler() -> TestResult {
    reset();
    let fp = recording_fprobe(8)?;
    register_fprobe(&fp, "kernel::ktests::fprobe::fprobe_unregistering_target", None)
        .context("register")?;
    *SELF_FPROBE.lock() = Some(fp);
    let got = call_unregistering_target(black_box(20));
    kassert_eq!(got, 42);
    kassert!(SELF_UNREGISTERED.load(Ordering::Relaxed), "not unregistered inside the call with its pool pending");
    kassert_eq!(ENTRY_HITS.load(Ordering::Relaxed), 1);
    kassert_eq!(EXIT_HITS.load(Ordering::Relaxed), 0);
    kassert_eq!(pools_pending(), 0);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

// Every function at once.

static ALL_ENTRIES: AtomicU64 = AtomicU64::new(0);
static ALL_EXITS: AtomicU64 = AtomicU64::new(0);

fn count_all_entry(_: &Fprobe, _: u64, _: u64, _: &mut FtraceRegs, data: &mut [u8]) -> bool {
    ALL_ENTRIES.fetch_add(1, Ordering::Relaxed);
    data.fill(0x5a);
    false
}

fn count_all_exit(_: &Fprobe, _: u64, _: u64, _: &FgraphRetRegs, data: &mut [u8]) {
    if data.iter().all(|&b| b == 0x5a) {
        ALL_EXITS.fetch_add(1, Ordering::Relaxed);
    }
}

ktest! {
fn an_fprobe_on_every_function_keeps_the_kernel_right_and_every_return_comes_back() -> TestResult {
    ALL_ENTRIES.store(0, Ordering::Relaxed);
    ALL_EXITS.store(0, Ordering::Relaxed);
    let fp = Arc::try_new(
        Fprobe::new()
            .with_entry_handler(count_all_entry)
            .with_exit_handler(count_all_exit)
            .with_entry_data_size(16),
    )
    .or_fail()?;
    register_fprobe(&fp, "*", None).context("register *")?;
    let fib = crate::workload::fib(black_box(12));
    let target = fprobe_caller(black_box(33));
    let _ = sched::msleep(20);
    unregister_fprobe(&fp).context("unregister *")?;
    kassert_eq!(fib, 144);
    kassert_eq!(target, 11);
    let (entries, exits) = (ALL_ENTRIES.load(Ordering::Relaxed), ALL_EXITS.load(Ordering::Relaxed));
    // fib(12) alone is 465 calls, each entered and returned with its own entry data.
    kassert!(entries >= 465 && exits >= 465, "{entries} entries, {exits} exits");
    kassert!(exits <= entries);
    // Calls still inside a probed function (a task asleep in one) keep the pool; every one
    // returns soon, and the pool goes with the last.
    let mut waited = 0;
    while pools_pending() != 0 && waited < 100 {
        let _ = sched::msleep(5);
        waited += 1;
    }
    kassert_eq!(pools_pending(), 0);
    Ok(())
}
}
