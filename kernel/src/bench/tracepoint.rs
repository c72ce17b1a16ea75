//! The cost of a disabled tracepoint at its call site: calls to a function that fires the
//! `sched:sched_waking` tracepoint (its event disabled: the site is its static key's one
//! `nop`), against the same calls to the same body without the call site. The difference is
//! exactly 1 instruction per call (`cargo xtask test` checks it): the arguments are only
//! evaluated on the enabled path, which is out of line.

use core::hint::black_box;
use core::sync::atomic::Ordering;

use arch::insn::nop;
use arch::patching::read_insn;

use super::SetupError;
use super::harness::call_loop;
use crate::jump_label::{static_key_enabled, static_key_sites};
use crate::kbench;
use crate::sched::{Task, current};
use crate::trace::events::sched::{__TRACEPOINT_KEY_SCHED_WAKING, trace_sched_waking};

/// The task the tracepoint would report: read only on the (never taken) enabled path.
static TASK: core::sync::atomic::AtomicPtr<Task> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

fn bench_task() -> Option<&'static Task> {
    // SAFETY: set by the setup to the benchmarking task, which outlives the run.
    unsafe { TASK.load(Ordering::Relaxed).as_ref() }
}

/// The body with the tracepoint in front.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn with_tracepoint(x: u64) -> u64 {
    if let Some(task) = bench_task() {
        trace_sched_waking(task);
    }
    add_one(x).rotate_left(1)
}

/// The same body without it.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn without_tracepoint(x: u64) -> u64 {
    add_one(x).rotate_left(1)
}

/// The common work of both, called so both bodies keep the same frame code.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn add_one(x: u64) -> u64 {
    black_box(x).wrapping_add(1)
}

fn call_with_tracepoint(n: u64) {
    call_loop(with_tracepoint, n);
}

fn call_without_tracepoint(n: u64) {
    call_loop(without_tracepoint, n);
}

/// The event must be off and every site of its key a `nop`.
fn check_tracepoint_disabled() -> Result<(), SetupError> {
    TASK.store(
        current().map_or(core::ptr::null_mut(), |t| core::ptr::from_ref(t).cast_mut()),
        Ordering::Relaxed,
    );
    let key = &__TRACEPOINT_KEY_SCHED_WAKING;
    if static_key_enabled(key)
        || static_key_sites(key)
            .iter()
            .any(|s| read_insn(s.code) != Ok(nop()))
    {
        return Err(SetupError::Fail(
            "the sched_waking tracepoint is enabled: disable events/sched/sched_waking".into(),
        ));
    }
    Ok(())
}

kbench! {
    name: "tracepoint_disabled",
    ops: 10_000,
    run: call_with_tracepoint,
    baseline: "call_without_tracepoint" => call_without_tracepoint,
    setup: check_tracepoint_disabled,
}
