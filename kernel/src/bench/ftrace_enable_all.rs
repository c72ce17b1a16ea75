//! The cost of enabling and disabling every ftrace site in the kernel at once: one operation
//! registers an ops with no filter (every patch site gets `bl ftrace_caller`) and unregisters
//! it (every site gets its NOP back). Divide by twice the site count
//! (`available_filter_functions`) for instructions per site patched. The baseline registers the
//! same ops filtered to one function, so what remains is the cost of the other sites.
//!
//! Both directions are batched: the teardown checks that each register and each unregister
//! took exactly two stop-machine rendezvous however many sites it patched: one that patches
//! every site, and the grace period before the replaced ops list is freed (Linux's
//! `synchronize_rcu` after the update).

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicUsize, Ordering};

use arch::ftrace::FtraceRegs;

use super::SetupError;
use crate::kbench;
use crate::stop_machine::rendezvous_count;
use crate::trace::ftrace_ops::FtraceOps;

arch::noinstr! {
/// Without a site of its own: with every site enabled, a traceable callback would call itself.
fn empty_callback(_ip: u64, _parent_ip: u64, _ops: &FtraceOps, _regs: &mut FtraceRegs) {}
}

static ALL_OPS: FtraceOps = FtraceOps::new(empty_callback, 0);
static ONE_OPS: FtraceOps = FtraceOps::new(empty_callback, 0);

static RUN_RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);
static BASELINE_RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);

/// Registers and unregisters `ops` `n` times; returns the rendezvous made meanwhile (0 if a
/// registration failed, which the teardown reports).
fn toggle(ops: &'static FtraceOps, n: u64) -> usize {
    let before = rendezvous_count();
    for _ in 0..n {
        if ops.register().is_err() || ops.unregister().is_err() {
            return 0;
        }
    }
    rendezvous_count() - before
}

fn enable_all(n: u64) {
    RUN_RENDEZVOUS.store(toggle(&ALL_OPS, n), Ordering::Relaxed);
}

fn enable_one(n: u64) {
    BASELINE_RENDEZVOUS.store(toggle(&ONE_OPS, n), Ordering::Relaxed);
}

fn setup() -> Result<(), SetupError> {
    ONE_OPS
        .set_filter("kernel::workload::leaf", true)
        .map_err(|e| SetupError::Fail(format!("set_filter: {e}")))
}

fn check_rendezvous() -> Result<(), String> {
    let run = RUN_RENDEZVOUS.load(Ordering::Relaxed);
    let baseline = BASELINE_RENDEZVOUS.load(Ordering::Relaxed);
    if (run, baseline) == (4, 4) {
        Ok(())
    } else {
        Err(format!(
            "expected two rendezvous to enable and two to disable, got {run} in all for every \
             site and {baseline} for one"
        ))
    }
}

kbench! {
    name: "ftrace_enable_all_sites",
    ops: 1,
    run: enable_all,
    baseline: "enable_one_site" => enable_one,
    setup: setup,
    teardown: check_rendezvous,
}
