//! The cost of an fprobe hit, entry and exit, with handlers that only count (`fprobe`): the
//! leaf's ftrace site calling the fprobe's own ops directly, the recursion bit, an instance
//! taken from the pool and the return hooked on the shadow stack, the entry handler, the
//! return through `return_to_handler`, the exit handler and the instance given back.
//!
//! `fprobe_event_return`: the same with an fprobe event instead of counting handlers, `f:...%return
//! ret=$retval n=$arg1` from `dynamic_events`: the entry handler saves `$arg1` in the call's
//! entry data, the exit handler builds the register frame, fetches both arguments and records one
//! event in the ring buffer.
//!
//! Against the same calls of an identical leaf without a probe (for `fprobe`, one that makes
//! both handlers' increments itself, so the increments cancel out). The setup refuses an fprobe whose leaf
//! site is shared with another ops (it would measure the list walk), and the teardown checks
//! one entry and one exit per operation and nothing missed: `ftrace_enabled` 0 or a tracer on
//! the leaf make the row fail rather than report another number.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::ftrace::{FgraphRetRegs, FtraceRegs};
use spin::Mutex;

use super::SetupError;
use super::harness::call_loop;
use super::recorded::{check_recorded, start_recording};
use crate::fs::{self, WriteMode};
use crate::kbench;
use crate::trace::fprobe::{Fprobe, register_fprobe_ips, unregister_fprobe};
use crate::trace::ftrace_ops::{FTRACE_FL_CALL_OPS, FTRACE_REF_MAX, enabled_sites};

const OPS: u64 = 10_000;

static ENTRIES: AtomicU64 = AtomicU64::new(0);
static EXITS: AtomicU64 = AtomicU64::new(0);
static TWIN_ENTRIES: AtomicU64 = AtomicU64::new(0);
static TWIN_EXITS: AtomicU64 = AtomicU64::new(0);
static FPROBE: Mutex<Option<Arc<Fprobe>>> = Mutex::new(None);

/// One more on `counter` (the CPU's only writer, IRQs masked).
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The probed leaf.
#[inline(never)]
pub fn fprobe_bench_leaf(x: u64) -> u64 {
    x.wrapping_mul(11).wrapping_add(1)
}

/// The unprobed twin, with both handlers' increments.
#[inline(never)]
pub fn fprobe_bench_unprobed(x: u64) -> u64 {
    bump(&TWIN_ENTRIES);
    let r = x.wrapping_mul(11).wrapping_add(2);
    bump(&TWIN_EXITS);
    r
}

/// Counts the entry; no patch site of its own.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn counting_entry(_: &Fprobe, _: u64, _: u64, _: &mut FtraceRegs, _: &mut [u8]) -> bool {
    bump(&ENTRIES);
    false
}

/// Counts the exit; no patch site of its own.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn counting_exit(_: &Fprobe, _: u64, _: u64, _: &FgraphRetRegs, _: &mut [u8]) {
    bump(&EXITS);
}

fn call_leaf(n: u64) {
    call_loop(fprobe_bench_leaf, n);
}

fn call_unprobed(n: u64) {
    call_loop(fprobe_bench_unprobed, n);
}

/// The leaf's site is enabled and calls the fprobe's ops alone.
fn check_own_site(leaf: u64) -> Result<(), String> {
    let own_site = enabled_sites().into_iter().any(|site| {
        site.func == leaf
            && site.flags & FTRACE_FL_CALL_OPS != 0
            && site.flags & FTRACE_REF_MAX == 1
    });
    if own_site {
        Ok(())
    } else {
        Err("the leaf's site is not enabled for the fprobe alone".into())
    }
}

fn setup() -> Result<(), SetupError> {
    for c in [&ENTRIES, &EXITS, &TWIN_ENTRIES, &TWIN_EXITS] {
        c.store(0, Ordering::Relaxed);
    }
    let fail = |what: String| SetupError::Fail(what);
    let fp = Fprobe::new()
        .with_entry_handler(counting_entry)
        .with_exit_handler(counting_exit);
    let fp = Arc::try_new(fp).map_err(|_| fail("out of memory".into()))?;
    let leaf = fprobe_bench_leaf as fn(u64) -> u64 as usize as u64;
    register_fprobe_ips(&fp, &[leaf]).map_err(|e| fail(format!("register_fprobe_ips: {e:?}")))?;
    if let Err(why) = check_own_site(leaf) {
        let _ = unregister_fprobe(&fp);
        return Err(fail(why));
    }
    *FPROBE.lock() = Some(fp);
    Ok(())
}

/// Unregisters, then checks every call reached both handlers and none was missed.
fn teardown() -> Result<(), String> {
    let fp = FPROBE.lock().take().ok_or("no fprobe registered")?;
    unregister_fprobe(&fp).map_err(|e| format!("unregister_fprobe: {e:?}"))?;
    let got = (
        ENTRIES.load(Ordering::Relaxed),
        EXITS.load(Ordering::Relaxed),
        TWIN_ENTRIES.load(Ordering::Relaxed),
        fp.nmissed(),
    );
    if got == (OPS, OPS, OPS, 0) {
        return Ok(());
    }
    Err(format!(
        "expected {OPS} entries, exits and unprobed calls and none missed, got {got:?} \
         (ftrace_enabled 0, or another tracer on the leaf?)"
    ))
}

kbench! {
    name: "fprobe",
    ops: OPS,
    run: call_leaf,
    baseline: "call_unprobed_twin" => call_unprobed,
    setup: setup,
    teardown: teardown,
}

/// The leaf with the fprobe event.
#[inline(never)]
pub fn fprobe_bench_event_leaf(x: u64) -> u64 {
    x.wrapping_mul(13).wrapping_add(1)
}

/// Its unprobed twin.
#[inline(never)]
pub fn fprobe_bench_event_twin(x: u64) -> u64 {
    x.wrapping_mul(13).wrapping_add(2)
}

fn call_event_leaf(n: u64) {
    call_loop(fprobe_bench_event_leaf, n);
}

fn call_event_twin(n: u64) {
    call_loop(fprobe_bench_event_twin, n);
}

const TRACEFS: &str = crate::tracefs::TRACEFS;
const EVENT_DEF: &str = "f:fprobe_bench/benchr kernel::bench::fprobe::fprobe_bench_event_leaf%return \
                         ret=$retval n=$arg1";

fn tracefs_write(file: &str, data: &str, mode: WriteMode) -> Result<(), String> {
    fs::write(&format!("{TRACEFS}/{file}"), data.as_bytes(), mode)
        .map_err(|e| format!("{file}: {e:?}"))
}

fn remove_event() {
    let _ = tracefs_write(
        "events/fprobe_bench/benchr/enable",
        "0",
        WriteMode::Truncate,
    );
    let _ = tracefs_write("dynamic_events", "-:fprobe_bench/benchr", WriteMode::Append);
}

fn setup_event() -> Result<(), SetupError> {
    let steps = || -> Result<(), String> {
        tracefs_write("dynamic_events", EVENT_DEF, WriteMode::Append)?;
        tracefs_write(
            "events/fprobe_bench/benchr/enable",
            "1",
            WriteMode::Truncate,
        )?;
        check_own_site(fprobe_bench_event_leaf as fn(u64) -> u64 as usize as u64)
    };
    start_recording();
    steps().map_err(|why| {
        remove_event();
        SetupError::Fail(why)
    })
}

/// Removes the event, then checks one event per operation, all of it and of the leaf.
fn teardown_event() -> Result<(), String> {
    let id = crate::trace::trace_output::EVENTS
        .read()
        .lookup("fprobe_bench", "benchr")
        .map(|call| call.id());
    remove_event();
    let id = id.ok_or("the event is gone")?;
    check_recorded(
        OPS,
        &[id],
        fprobe_bench_event_leaf as fn(u64) -> u64 as usize as u64,
    )
}

kbench! {
    name: "fprobe_event_return",
    ops: OPS,
    run: call_event_leaf,
    baseline: "call_unprobed_twin" => call_event_twin,
    setup: setup_event,
    teardown: teardown_event,
}
