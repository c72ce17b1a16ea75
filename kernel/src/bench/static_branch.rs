//! The cost of a disabled static branch: calls to a function whose body starts with a
//! `static_branch_unlikely!` site of a disabled key (one `nop`), against the same calls to the
//! same body without the site. The difference is that instruction, exactly 1 per call
//! (`cargo xtask test` checks it): a disabled key costs no load and no compare.
//!
//! Both run through the loop that calls a leaf through a register ([`call_loop`]), and neither
//! has a patch site, so only the static branch differs.

use core::hint::black_box;

use arch::insn::nop;
use arch::patching::read_insn;
use arch::static_branch_unlikely;

use super::SetupError;
use super::harness::call_loop;
use crate::jump_label::{StaticKeyFalse, static_key_enabled, static_key_sites};
use crate::kbench;

/// Never enabled: the benchmark measures its sites as they are at boot.
static BENCH_KEY: StaticKeyFalse = StaticKeyFalse::new();

/// The body with a static branch in front; the enabled path (never taken here) goes out of line.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn with_static_branch(x: u64) -> u64 {
    if static_branch_unlikely!(BENCH_KEY) {
        return enabled_path(x);
    }
    add_one(x).rotate_left(1)
}

/// What an enabled key would run instead: out of line, so the disabled path is the same code
/// as [`without_static_branch`] plus the site.
#[cold]
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn enabled_path(x: u64) -> u64 {
    x.wrapping_add(2)
}

/// The same body without the branch.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn without_static_branch(x: u64) -> u64 {
    add_one(x).rotate_left(1)
}

/// The common work of both, called (not tail-called: its result is still rotated) so both
/// bodies keep the same frame code, whatever the compiler does with the branch's cold path.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn add_one(x: u64) -> u64 {
    black_box(x).wrapping_add(1)
}

fn call_with_static_branch(n: u64) {
    call_loop(with_static_branch, n);
}

fn call_without_static_branch(n: u64) {
    call_loop(without_static_branch, n);
}

/// The key must be off and its one site a `nop`: an enabled site would measure the jump.
fn check_branch_disabled() -> Result<(), SetupError> {
    let sites = static_key_sites(&BENCH_KEY);
    let [site] = sites[..] else {
        return Err(SetupError::Fail(alloc::format!(
            "kernel::bench::static_branch::BENCH_KEY has {} sites, not 1",
            sites.len()
        )));
    };
    if static_key_enabled(&BENCH_KEY) || read_insn(site.code) != Ok(nop()) {
        return Err(SetupError::Fail(
            "the static branch of kernel::bench::static_branch::with_static_branch is enabled"
                .into(),
        ));
    }
    Ok(())
}

kbench! {
    name: "static_branch_disabled",
    ops: 10_000,
    run: call_with_static_branch,
    baseline: "call_without_static_branch" => call_without_static_branch,
    setup: check_branch_disabled,
}
