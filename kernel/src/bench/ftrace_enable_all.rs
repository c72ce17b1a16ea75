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
//!
//! The teardown checks the patching too: it registers each ops once more and reads every
//! site's text. No site may call `ftrace_caller` before (another ops on the sites would leave
//! the run only their literals to rewrite), every site must call it for the unfiltered ops and
//! exactly one for the other, and all must be back to their NOP after unregistering.

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicUsize, Ordering};

use arch::ftrace::{FtraceRegs, ftrace_caller_addr};
use arch::insn::{bl, nop};
use arch::patching::read_insn;

use super::SetupError;
use crate::kbench;
use crate::stop_machine::rendezvous_count;
use crate::trace::ftrace::records;
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

/// How many sites call `ftrace_caller` and how many hold their NOP, read from the text.
fn site_text() -> (usize, usize) {
    let caller = ftrace_caller_addr();
    records()
        .iter()
        .fold((0, 0), |(calls, nops), rec| match read_insn(rec.ip) {
            Ok(insn) if Ok(insn) == bl(rec.ip, caller) => (calls + 1, nops),
            Ok(insn) if insn == nop() => (calls, nops + 1),
            _ => (calls, nops),
        })
}

/// Registers `ops` and returns the sites that then call `ftrace_caller`; checks that none
/// did before and every site has its NOP back after unregistering.
fn sites_patched(ops: &'static FtraceOps) -> Result<usize, String> {
    let sites = records().len();
    match site_text() {
        (0, nops) if nops == sites => {}
        (calls, _) => {
            return Err(format!(
                "{calls} sites already call ftrace_caller: another ftrace_ops is registered"
            ));
        }
    }
    ops.register().map_err(|e| format!("register: {e:?}"))?;
    let (calls, _) = site_text();
    ops.unregister().map_err(|e| format!("unregister: {e:?}"))?;
    match site_text() {
        (0, nops) if nops == sites => Ok(calls),
        (left, _) => Err(format!(
            "{left} sites still call ftrace_caller after unregistering"
        )),
    }
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

/// The counts' rendezvous, then what one more registration of each ops patches.
fn check_patches() -> Result<(), String> {
    check_rendezvous()?;
    let sites = records().len();
    let (all, one) = (sites_patched(&ALL_OPS)?, sites_patched(&ONE_OPS)?);
    if (all, one) == (sites, 1) {
        Ok(())
    } else {
        Err(format!(
            "expected {sites} sites patched for every function and 1 for one, got {all} and \
             {one}"
        ))
    }
}

kbench! {
    name: "ftrace_enable_all_sites",
    ops: 1,
    run: enable_all,
    baseline: "enable_one_site" => enable_one,
    setup: setup,
    teardown: check_patches,
}
