//! The cost of a disabled tracepoint at its call site: calls to a function that fires the
//! `ipi:ipi_entry` tracepoint (its event disabled: the site is its static key's one `nop`),
//! against the same calls to the same body without the call site. The difference is exactly 1
//! instruction per call (`cargo xtask test` checks it): the argument (here already in a
//! register) is only passed on the enabled path, which is out of line.

use core::hint::black_box;

use arch::insn::nop;
use arch::patching::read_insn;

use super::SetupError;
use super::harness::call_loop;
use crate::jump_label::{static_key_enabled, static_key_sites};
use crate::kbench;
use crate::trace::events::ipi::{__TRACEPOINT_KEY_IPI_ENTRY, trace_ipi_entry};

/// The body with the tracepoint in front.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn with_tracepoint(x: u64) -> u64 {
    trace_ipi_entry(x as u32);
    add_one(x.rotate_left(3)) ^ x
}

/// The same body without it.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn without_tracepoint(x: u64) -> u64 {
    add_one(x.rotate_left(3)) ^ x
}

/// The common work of both. `x` is used again after it, so both bodies keep it in a saved
/// register across the call and have the same frame code (the enabled path, which also keeps
/// `x` across a call, needs no other), and both compute its argument from that register.
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
    let key = &__TRACEPOINT_KEY_IPI_ENTRY;
    if static_key_enabled(key)
        || static_key_sites(key)
            .iter()
            .any(|s| read_insn(s.code) != Ok(nop()))
    {
        return Err(SetupError::Fail(
            "the ipi_entry tracepoint is enabled: disable events/ipi/ipi_entry".into(),
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
