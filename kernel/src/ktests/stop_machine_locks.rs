//! Rendezvous against locks (issue 9, items 1 and 5): a CPU waiting for the patch lock or the
//! stop-machine lock, with interrupts enabled or masked, is still parked by the rendezvous in
//! progress, so text patching on one CPU and direct `stop_machine` calls on others never
//! deadlock; and a stop IPI the GIC refuses is sent again instead of running the function next
//! to an unparked CPU.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::insn::nop;
use arch::irqflags::local_irq_save_guard;
use arch::patching::patch_text;
use arch::timer::trace_clock_ns;

use crate::sched::{self, Task};
use crate::smp::{cpu_online_mask, num_online_cpus, smp_processor_id};
use crate::stop_machine::{inject_ipi_send_failures, ipi_retries, parked_cpus, stop_machine};
use crate::{kassert, kassert_eq, ktest};

/// Rounds per CPU: each patching round is two patches, each a rendezvous.
const ROUNDS: u64 = 300;
/// How long all rounds may take before the test calls it a deadlock.
const DEADLINE_NS: u64 = 20_000_000_000;

// A patch target of its own: `nop` or `mov x0, #5` in front of a `ret`.
core::arch::global_asm!(
    ".section .text.ktest_lock_target, \"ax\"",
    ".balign 8",
    ".global ktest_lock_target",
    ".type ktest_lock_target, %function",
    "ktest_lock_target:",
    "    nop",
    "    ret",
    ".size ktest_lock_target, . - ktest_lock_target",
);

unsafe extern "C" {
    fn ktest_lock_target();
}

/// `mov x0, #5`.
const MOVZ_X0_5: u32 = 0xd280_00a0;

static PATCH_ROUNDS: AtomicU64 = AtomicU64::new(0);
static STOP_ROUNDS: AtomicU64 = AtomicU64::new(0);
static MASKED_STOP_ROUNDS: AtomicU64 = AtomicU64::new(0);
static PATCH_ERRORS: AtomicU64 = AtomicU64::new(0);

fn progress() -> [u64; 3] {
    [
        PATCH_ROUNDS.load(Ordering::Relaxed),
        STOP_ROUNDS.load(Ordering::Relaxed),
        MASKED_STOP_ROUNDS.load(Ordering::Relaxed),
    ]
}

fn spawn_on(
    name: &str,
    cpu: usize,
    f: impl FnOnce() + Send + 'static,
) -> Result<Arc<Task>, String> {
    sched::spawn(name, Some(cpu), false, f).map_err(|e| format!("spawn {name}: {e:?}"))
}

ktest! {
fn patching_and_stop_machine_on_other_cpus_never_deadlock() -> TestResult {
    kassert!(num_online_cpus() >= 4, "needs 4 CPUs, {} online", num_online_cpus());
    let addr = ktest_lock_target as *const () as u64;
    // CPU1 patches (the patch lock, then the rendezvous from inside it); CPU2 calls
    // stop_machine directly, as ftrace's synchronize does; CPU3 does the same with its
    // interrupts masked, so it can only be parked by answering while it waits for the lock.
    let tasks = [
        spawn_on("patcher", 1, move || {
            for _ in 0..ROUNDS {
                if patch_text(addr, nop(), MOVZ_X0_5).is_err()
                    || patch_text(addr, MOVZ_X0_5, nop()).is_err()
                {
                    PATCH_ERRORS.fetch_add(1, Ordering::Relaxed);
                }
                PATCH_ROUNDS.fetch_add(1, Ordering::Relaxed);
            }
        })?,
        spawn_on("stopper", 2, || {
            for _ in 0..ROUNDS {
                stop_machine(&mut || {});
                STOP_ROUNDS.fetch_add(1, Ordering::Relaxed);
            }
        })?,
        spawn_on("masked-stopper", 3, || {
            for _ in 0..ROUNDS {
                let _irqs = local_irq_save_guard();
                stop_machine(&mut || {});
                MASKED_STOP_ROUNDS.fetch_add(1, Ordering::Relaxed);
            }
        })?,
    ];
    let deadline = trace_clock_ns() + DEADLINE_NS;
    while progress() != [ROUNDS; 3] {
        kassert!(
            trace_clock_ns() < deadline,
            "deadlock: rounds done (patch, stop, masked stop) = {:?} of {ROUNDS}",
            progress()
        );
        sched::msleep(10).map_err(|_| "interrupted")?;
    }
    for task in &tasks {
        sched::join(task).map_err(|_| "join interrupted")?;
    }
    kassert_eq!(PATCH_ERRORS.load(Ordering::Relaxed), 0);
    // SAFETY: the routine is `nop; ret` again (every round restored it).
    unsafe { ktest_lock_target() };
    kassert_eq!(arch::patching::read_insn(addr), Ok(nop()));
    Ok(())
}
}

ktest! {
fn a_refused_stop_ipi_is_sent_again_and_every_cpu_is_parked() -> TestResult {
    let others = cpu_online_mask() & !(1 << smp_processor_id());
    kassert!(others != 0, "needs a second CPU");
    let retries_before = ipi_retries();
    let mut parked_while_running = 0;
    inject_ipi_send_failures(5);
    stop_machine(&mut || parked_while_running = parked_cpus());
    inject_ipi_send_failures(0);
    kassert_eq!(parked_while_running, others);
    kassert!(
        ipi_retries() - retries_before >= 5,
        "retries: {}",
        ipi_retries() - retries_before
    );
    // The retries used up the injected failures; the next rendezvous needs none.
    let retries_before = ipi_retries();
    stop_machine(&mut || parked_while_running = parked_cpus());
    kassert_eq!(parked_while_running, others);
    kassert_eq!(ipi_retries(), retries_before);
    Ok(())
}
}
