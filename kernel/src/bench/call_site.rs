//! The cost of a disabled patch site: calls to a function whose entry is `mov x9, x30; nop`
//! (as `ftrace_init` leaves every site), against the same calls to the same body compiled
//! without a site. The difference is those two instructions, exactly 2 per call (`cargo xtask test` checks it).
//!
//! Both variants run through one loop function that calls through a register (`blr`), with
//! the target hidden behind `black_box`: the compiler can neither inline, specialise nor hoist
//! the calls, and the loop is the same code for both, so only the callee differs.

use arch::insn::{AARCH64_INSN_SIZE, mov_x9_x30, nop};
use arch::patching::read_insn;

use super::SetupError;
use super::harness::call_loop;
use crate::kbench;
use crate::trace::ftrace;

/// A traceable function: its two entry instructions are its patch site, left disabled.
#[inline(never)]
pub fn with_site(x: u64) -> u64 {
    x.wrapping_add(1)
}

/// The same body without a patch site.
#[inline(never)]
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
pub fn without_site(x: u64) -> u64 {
    x.wrapping_add(1)
}

fn call_with_site(n: u64) {
    call_loop(with_site, n);
}

fn call_without_site(n: u64) {
    call_loop(without_site, n);
}

/// The site must be a known ftrace record and still be disabled: a traced `with_site` would
/// measure the tracer.
fn check_site_disabled() -> Result<(), SetupError> {
    let func = with_site as fn(u64) -> u64 as usize as u64;
    let ip = func + AARCH64_INSN_SIZE as u64;
    if ftrace::records()
        .binary_search_by_key(&ip, |rec| rec.ip)
        .is_err()
    {
        return Err(SetupError::Fail(
            "kernel::bench::call_site::with_site has no patch site".into(),
        ));
    }
    if read_insn(func) != Ok(mov_x9_x30()) || read_insn(ip) != Ok(nop()) {
        return Err(SetupError::Fail(
            "the patch site of kernel::bench::call_site::with_site is enabled".into(),
        ));
    }
    Ok(())
}

kbench! {
    name: "call_disabled_site",
    ops: 10_000,
    run: call_with_site,
    baseline: "call_without_site" => call_without_site,
    setup: check_site_disabled,
}
