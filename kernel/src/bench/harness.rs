//! The benchmark registry (the `.kbench` linker section, filled by [`kbench!`](crate::kbench))
//! and the measurement of one benchmark: its setup, then its run and its baseline counted with
//! IRQs and FIQs masked, then its teardown.
//!
//! Masking interrupts keeps asynchronous work (a tick, console input arriving whenever the host
//! sends it) out of the counts, which is what makes them repeatable. A benchmark that measures
//! an interrupt unmasks it inside its own run and baseline.
//!
//! A benchmark runs only with exactly the CPUs it names online, and is skipped otherwise: under
//! QEMU's `-icount` the PMU counts the instructions of every vCPU, so a count means what it
//! says only on the machine it was made for. The other CPUs' ticks are part of such a count
//! whenever one falls due inside it, so the counting starts right after a tick of this CPU:
//! every CPU's tick keeps a fixed offset from this one's, and the same ticks fall inside the
//! count on every run. (Without that, when the shell's input arrived decided the phase: the
//! host's timing.) The heap's layout must not follow the host's timing either: a count that
//! allocates (registering an ftrace_ops does) walks the allocator's free list, so how often the
//! shell slept waiting for input must leave no trace in it, which is why sleeping on a
//! [`WaitQueue`](crate::sched::wait::WaitQueue) never allocates. For the same reason no count
//! may hold the one tick in 1250 that also takes the load-average sample: a sample due soon is
//! slept past first.

use alloc::format;
use alloc::string::{String, ToString};
use core::hint::black_box;

use arch::irq::kstat_irqs_cpu;
use arch::irqflags::{
    cpu_do_idle, irqs_disabled, local_irq_disable, local_irq_enable, local_irq_save_guard,
};
use arch::pmu;

use crate::board::{self, ARCH_TIMER_VIRT_PPI};
use crate::fs::procfs::next_load_sample;
use crate::smp::{num_online_cpus, smp_processor_id};

/// Why a benchmark's setup did not prepare the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// This machine cannot run it (too few CPUs, say): reported as skipped, not an error.
    Skip(String),
    /// Something is wrong: reported as failed, and the run fails.
    Fail(String),
}

/// One registered benchmark.
#[repr(C)]
pub struct KBench {
    /// One word (see [`is_valid_name`](super::format::is_valid_name)).
    pub name: &'static str,
    /// Operations per run. The baseline cancels the fixed costs, so a few thousand is plenty;
    /// the run and the baseline together must stay under 2^32 instructions.
    pub ops: u64,
    /// The CPUs that must be online (1 unless the benchmark says otherwise).
    pub cpus: usize,
    /// Performs the operation `n` times.
    pub run: fn(u64),
    /// What the baseline is, one word.
    pub baseline_name: &'static str,
    /// Does everything `run` does `n` times except the operation; its count is subtracted.
    pub baseline: fn(u64),
    /// Prepares the machine before both counts (registers a hook, starts tasks).
    pub setup: fn() -> Result<(), SetupError>,
    /// Undoes `setup` after both counts, and says why the counts are wrong if the run or the
    /// baseline did not do what it should (took fewer interrupts than operations, say).
    pub teardown: fn() -> Result<(), String>,
}

/// The setup of a benchmark that needs none.
pub fn no_setup() -> Result<(), SetupError> {
    Ok(())
}

/// The teardown of a benchmark that needs none.
pub fn no_teardown() -> Result<(), String> {
    Ok(())
}

/// Registers a benchmark: a name, the operations per run, optionally the CPUs it needs online
/// (default 1), the run, the baseline's name and function, and optionally a setup and teardown.
/// Names are checked at compile time.
#[macro_export]
macro_rules! kbench {
    (
        name: $name:literal,
        ops: $ops:expr,
        $(cpus: $cpus:expr,)?
        run: $run:expr,
        baseline: $baseline_name:literal => $baseline:expr
        $(, setup: $setup:expr)?
        $(, teardown: $teardown:expr)?
        $(,)?
    ) => {
        const _: () = {
            assert!(
                $crate::bench::format::is_valid_name($name)
                    && $crate::bench::format::is_valid_name($baseline_name),
                "benchmark and baseline names are one word without `=`"
            );
            assert!($ops > 0, "a benchmark runs at least one operation");
            assert!(
                $crate::kbench!(@or [$($cpus)?] 1) > 0,
                "a benchmark runs on at least one CPU"
            );
            #[used]
            #[unsafe(link_section = ".kbench")]
            static BENCH: $crate::bench::KBench = $crate::bench::KBench {
                name: $name,
                ops: $ops,
                cpus: $crate::kbench!(@or [$($cpus)?] 1),
                run: $run,
                baseline_name: $baseline_name,
                baseline: $baseline,
                setup: $crate::kbench!(@or [$($setup)?] $crate::bench::no_setup),
                teardown: $crate::kbench!(@or [$($teardown)?] $crate::bench::no_teardown),
            };
        };
    };
    (@or [] $default:expr) => {
        $default
    };
    (@or [$given:expr] $default:expr) => {
        $given
    };
}

unsafe extern "C" {
    // Declared as bytes: only their addresses are used.
    static __start_kbench: u8;
    static __stop_kbench: u8;
}

/// Every registered benchmark, in link order.
pub fn benches() -> &'static [KBench] {
    // SAFETY: the linker script brackets .kbench with these symbols, and the section holds only
    // KBench records placed there by `kbench!`.
    unsafe {
        let start = core::ptr::addr_of!(__start_kbench).cast::<KBench>();
        let stop = core::ptr::addr_of!(__stop_kbench).cast::<KBench>();
        core::slice::from_raw_parts(start, stop.offset_from(start) as usize)
    }
}

/// Calls `f` `n` times through a register: the loop of the benchmarks that time one call of a
/// leaf, run and baseline alike, so only the leaf differs. `black_box` keeps the compiler from
/// inlining, specialising or hoisting the call.
#[inline(never)]
pub(super) fn call_loop(f: fn(u64) -> u64, n: u64) {
    let f = black_box(f);
    for i in 0..n {
        black_box(f(i));
    }
}

/// Instructions retired by a benchmark's run and by its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub insns: u64,
    pub baseline_insns: u64,
}

/// Sets `bench` up, counts its run and baseline, and tears it down; skips it unless exactly
/// its CPUs are online.
pub fn measure(bench: &KBench) -> Result<Counts, SetupError> {
    let online = num_online_cpus();
    if online != bench.cpus {
        return Err(SetupError::Skip(format!(
            "needs {} CPU{}, {online} online",
            bench.cpus,
            if bench.cpus == 1 { "" } else { "s" }
        )));
    }
    (bench.setup)()?;
    sleep_past_load_sample(LOAD_SAMPLE_GUARD_MS)?;
    wait_for_tick();
    let counts = count_run_and_baseline(bench);
    let checked = (bench.teardown)().map_err(SetupError::Fail);
    let counts = counts?;
    checked.map(|()| counts)
}

/// How close a due load sample must be for [`measure`] to sleep past it first: longer than
/// any count that lets the boot CPU's tick in (another CPU's, when the benchmark's task is not
/// on CPU 0), far shorter than the sample's period.
const LOAD_SAMPLE_GUARD_MS: u64 = 100;

/// Sleeps until the boot CPU's tick has taken the load-average sample (procfs's
/// `calc_global_load`, every `LOAD_FREQ` seconds), if it is due within `within_ms`. That tick
/// does more than the others, and whether it falls inside a count would depend on the jiffies
/// count when `bench` started: on when the host typed it. Fails if the sample is not taken.
pub(super) fn sleep_past_load_sample(within_ms: u64) -> Result<(), SetupError> {
    let freq = arch::timer::counter_freq_hz();
    if irqs_disabled() {
        // With no tick to wait for, nothing can be waited out.
        return Ok(());
    }
    // The boot CPU's first tick schedules the first sample (and takes none).
    let start = arch::timer::counter_now();
    if !wait_ticks_while(|| next_load_sample() == 0, start + freq) {
        return Err(SetupError::Fail("no load sample is scheduled".into()));
    }
    let due = next_load_sample();
    if due.saturating_sub(arch::timer::counter_now()) > within_ms * freq / 1000 {
        return Ok(());
    }
    // A tick or two past the due time at most: a whole second more means no sample is taken.
    if !wait_ticks_while(|| next_load_sample() == due, due + freq) {
        return Err(SetupError::Fail(format!(
            "the load sample due at counter {due} was not taken"
        )));
    }
    Ok(())
}

/// Sleeps tick by tick while `waiting()` holds: false if the counter passes `give_up` first.
fn wait_ticks_while(mut waiting: impl FnMut() -> bool, give_up: u64) -> bool {
    while waiting() {
        if arch::timer::counter_now() > give_up {
            return false;
        }
        wait_for_tick();
    }
    true
}

/// The tick's interrupt ID: the virtual timer's, as the device tree names it.
pub(super) fn tick_irq() -> Option<u32> {
    board::info().timer_irqs[ARCH_TIMER_VIRT_PPI].map(|spec| spec.irq)
}

/// Sleeps until this CPU has taken its next tick. Returns at once with IRQs masked, when no
/// tick could come.
fn wait_for_tick() {
    let Some(irq) = tick_irq() else { return };
    if irqs_disabled() {
        return;
    }
    let cpu = smp_processor_id();
    let taken = kstat_irqs_cpu(irq, cpu);
    while kstat_irqs_cpu(irq, cpu) == taken {
        // Checked again with IRQs masked: a tick between the check and the WFI still ends it.
        local_irq_disable();
        if kstat_irqs_cpu(irq, cpu) == taken {
            cpu_do_idle();
        }
        local_irq_enable();
    }
}

fn count_run_and_baseline(bench: &KBench) -> Result<Counts, SetupError> {
    let _masked = local_irq_save_guard();
    // On this CPU, now: the task running the shell may have moved since the last benchmark.
    pmu::inst_retired_init().map_err(|error| SetupError::Fail(error.to_string()))?;
    let insns = count(bench.run, bench.ops);
    let baseline_insns = count(bench.baseline, bench.ops);
    // The counter started at zero, so a wrap means both counts together passed 2^32.
    if pmu::inst_retired_overflowed() {
        return Err(SetupError::Fail(
            "more than 2^32 instructions: the 32-bit counter wrapped; lower ops".to_string(),
        ));
    }
    Ok(Counts {
        insns: insns.into(),
        baseline_insns: baseline_insns.into(),
    })
}

arch::noinstr! {
/// Instructions retired by `f(n)`, the call and one counter read included. The run and the
/// baseline both go through this one function, so that part cancels out.
#[inline(never)]
fn count(f: fn(u64), n: u64) -> u32 {
    let start = pmu::read_inst_retired();
    f(black_box(n));
    pmu::read_inst_retired().wrapping_sub(start)
}
}
