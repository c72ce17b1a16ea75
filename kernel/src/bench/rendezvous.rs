//! The cost of one stop-machine rendezvous, `stop_machine(&mut || {})`, with 1, 2 and 4 CPUs
//! online: the lock, the IPIs that park every other CPU, the wait for all of them to arrive,
//! the empty function, the release, and the wait for all of them to leave. The baseline calls
//! the empty function directly through the same function pointer.
//!
//! Under `-icount` QEMU runs all vCPUs round robin in one thread and the PMU's INST_RETIRED is
//! the global instruction count, so the count is the whole machine's: the calling CPU's spins
//! waiting for the others, and each parked CPU's wake-up from WFI, IPI entry, spin and exit.
//! Every YIELD in those waits hands QEMU's thread to the next vCPU, so how many spins a wait
//! takes is set by QEMU's round robin: this is the cost on this machine, not a model of
//! hardware. The other CPUs are otherwise idle in WFI; a tick of theirs that falls due during
//! the counts is counted too, and shows as a remainder of about one `timer_irq_round_trip` over
//! the operations. The harness starts counting right after a tick of this CPU, so the same ticks
//! land in the counts on every run.
//!
//! The teardown checks that the run made one rendezvous per operation, each parking every
//! other CPU, and that the baseline made none.

use alloc::format;
use alloc::string::String;
use core::hint::black_box;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::kbench;
use crate::smp::num_online_cpus;
use crate::stop_machine::{last_parked_cpus, rendezvous_count, stop_machine};

const OPS: u64 = 1000;

static RUN_RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);
static BASELINE_RENDEZVOUS: AtomicUsize = AtomicUsize::new(0);

/// Calls `f` here and now: what the baseline does instead of a rendezvous.
#[inline(never)]
fn run_here(f: &mut dyn FnMut()) {
    f();
}

/// Calls `call` on an empty function `n` times; returns the rendezvous made meanwhile. The
/// run and the baseline share it, so only `call` differs.
#[inline(never)]
fn rendezvous_loop(n: u64, call: fn(&mut dyn FnMut())) -> usize {
    let before = rendezvous_count();
    let call = black_box(call);
    for _ in 0..n {
        call(&mut || {});
    }
    rendezvous_count() - before
}

fn stop_machine_loop(n: u64) {
    RUN_RENDEZVOUS.store(rendezvous_loop(n, stop_machine), Ordering::Relaxed);
}

fn direct_call_loop(n: u64) {
    BASELINE_RENDEZVOUS.store(rendezvous_loop(n, run_here), Ordering::Relaxed);
}

fn check_rendezvous() -> Result<(), String> {
    let run = RUN_RENDEZVOUS.load(Ordering::Relaxed);
    let baseline = BASELINE_RENDEZVOUS.load(Ordering::Relaxed);
    let parked = last_parked_cpus();
    let others = num_online_cpus() - 1;
    if (run, baseline, parked) == (OPS as usize, 0, others) {
        Ok(())
    } else {
        Err(format!(
            "expected {OPS} rendezvous parking {others} CPUs in the run and none in the \
             baseline, got {run} parking {parked}, and {baseline}"
        ))
    }
}

kbench! {
    name: "stop_machine_1cpu",
    ops: OPS,
    cpus: 1,
    run: stop_machine_loop,
    baseline: "call_directly" => direct_call_loop,
    teardown: check_rendezvous,
}

kbench! {
    name: "stop_machine_2cpus",
    ops: OPS,
    cpus: 2,
    run: stop_machine_loop,
    baseline: "call_directly" => direct_call_loop,
    teardown: check_rendezvous,
}

kbench! {
    name: "stop_machine_4cpus",
    ops: OPS,
    cpus: 4,
    run: stop_machine_loop,
    baseline: "call_directly" => direct_call_loop,
    teardown: check_rendezvous,
}
