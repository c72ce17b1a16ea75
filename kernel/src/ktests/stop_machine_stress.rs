//! Stop-machine patching under load (issue 3's stress test): three CPUs call a traced function
//! in a tight loop while a fourth turns its patch site on and off [`TOGGLES`] times, every patch
//! one rendezvous. Each call must either go through the hook or not, never half of it, and never
//! lose or repeat the function's body; the counts of all sides must add up.
//!
//! The site is enabled the way Linux arm64 does it with DYNAMIC_FTRACE_WITH_ARGS: the first
//! entry NOP became `mov x9, x30` at boot (`ftrace_init`), and only the second (`rec->ip`)
//! toggles between NOP and `bl stop_machine_stress_tramp`. A CPU stopped between the two
//! instructions therefore always resumes into a consistent pair.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use arch::insn::{AARCH64_INSN_SIZE, mov_x9_x30, nop};
use arch::patching::{patch_text, read_insn};
use arch::timer::trace_clock_ns;

use arch::processor::cpu_relax;

use crate::sched::{self, Task};
use crate::smp::{cpu_online_mask, num_online_cpus, smp_processor_id};
use crate::stop_machine::{last_parked_cpus, rendezvous_count};
use crate::trace::ftrace;
use crate::{kassert, kassert_eq, ktest, println};

/// Enable-then-disable cycles of the site: 20 000 patches, each one rendezvous.
const TOGGLES: u64 = 10_000;
/// The calling CPUs: 1, 2 and 3; CPU0 (the test task) patches.
const CALLER_CPUS: [usize; 3] = [1, 2, 3];
/// CPUs the test needs online (`-smp 4`).
const STRESS_CPUS: usize = 4;
/// How long the callers may take to make their first call.
const START_TIMEOUT_MS: u64 = 5_000;

/// Every pass through the trampoline, from all CPUs: a contended atomic, checked against the
/// hits the callers saw one by one.
static STRESS_HOOK_HITS: AtomicU64 = AtomicU64::new(0);

// The hook. Entered by the site's `bl` with x9 = the caller's LR (saved by the site's
// `mov x9, x30`), x30 = the instruction after the `bl`, and the target's arguments in x0-x7
// (x0 = its `&CallerSlot`). It counts the hit in the slot and globally with exclusive-monitor
// loops (the cortex-a72 has no LSE atomics), then returns into the body with the caller's LR
// back in x30. It uses only x10-x12, temporaries that are free at a function's entry (AAPCS64).
core::arch::global_asm!(
    ".pushsection .noinstr.text, \"ax\"",
    ".balign 8",
    ".global stop_machine_stress_tramp",
    ".type stop_machine_stress_tramp, %function",
    "stop_machine_stress_tramp:",
    "2:  ldxr x10, [x0]",
    "    add x10, x10, #1",
    "    stxr w11, x10, [x0]",
    "    cbnz w11, 2b",
    "    adrp x12, {hits}",
    "    add x12, x12, :lo12:{hits}",
    "3:  ldxr x10, [x12]",
    "    add x10, x10, #1",
    "    stxr w11, x10, [x12]",
    "    cbnz w11, 3b",
    "    mov x10, x30",
    "    mov x30, x9",
    "    ret x10",
    ".size stop_machine_stress_tramp, . - stop_machine_stress_tramp",
    ".popsection",
    hits = sym STRESS_HOOK_HITS,
);

unsafe extern "C" {
    fn stop_machine_stress_tramp();
}

/// One calling CPU's counters. `hooked` is written by the trampoline only; the rest by the
/// target's body and the caller loop, published when the caller stops.
#[repr(C, align(64))]
#[derive(Default)]
struct CallerSlot {
    /// Trampoline passes for this caller (the asm increments offset 0).
    hooked: AtomicU64,
    /// Executions of the target's body.
    body: AtomicU64,
    /// Calls the caller made.
    calls: AtomicU64,
    /// Calls during which `hooked` moved by one.
    hits: AtomicU64,
    /// Calls during which `hooked` did not move.
    misses: AtomicU64,
    /// Calls during which `hooked` moved by more than one, or that returned a wrong value.
    anomalies: AtomicU64,
    /// The CPU the caller ran on, checked after each call.
    cpu: AtomicUsize,
    /// The caller has made its first call.
    started: AtomicBool,
}

const _: () = assert!(core::mem::offset_of!(CallerSlot, hooked) == 0);

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    slots: [CallerSlot; CALLER_CPUS.len()],
}

/// The traced function: an ordinary kernel function with its patch site. It returns its second
/// argument plus one, so a caller can tell that x0 and x1 survived the hook.
#[inline(never)]
extern "C" fn stress_target(slot: &CallerSlot, token: u64) -> u64 {
    slot.body.fetch_add(1, Ordering::Relaxed);
    token.wrapping_add(1)
}

type Target = extern "C" fn(&CallerSlot, u64) -> u64;

/// Calls the target until told to stop, classifying each call by what it did to `hooked`.
fn caller_loop(shared: &Shared, slot: &CallerSlot) {
    // Through `black_box`: the compiler may neither inline nor specialise the call.
    let target = black_box(stress_target as Target);
    let cpu = smp_processor_id();
    let (mut calls, mut hits, mut misses, mut anomalies) = (0u64, 0u64, 0u64, 0u64);
    while !shared.stop.load(Ordering::Acquire) {
        let before = slot.hooked.load(Ordering::Relaxed);
        let returned = target(slot, calls);
        match slot.hooked.load(Ordering::Relaxed).wrapping_sub(before) {
            0 => misses += 1,
            1 => hits += 1,
            _ => anomalies += 1,
        }
        if returned != calls.wrapping_add(1) || smp_processor_id() != cpu {
            anomalies += 1;
        }
        calls += 1;
        slot.started.store(true, Ordering::Release);
        // A no-op on hardware and under multi-threaded TCG; under the test machine's
        // single-threaded TCG it hands the thread on, so the rendezvous never waits for a
        // spinning caller's whole time slice.
        cpu_relax();
    }
    slot.cpu.store(cpu, Ordering::Relaxed);
    slot.calls.store(calls, Ordering::Relaxed);
    slot.hits.store(hits, Ordering::Relaxed);
    slot.misses.store(misses, Ordering::Relaxed);
    slot.anomalies.store(anomalies, Ordering::Release);
}

/// The target's patch site and the two instructions it takes when enabled.
struct Site {
    /// The first entry instruction, `mov x9, x30` since boot.
    func: u64,
    /// The second entry NOP (`rec->ip`), toggled to `bl stop_machine_stress_tramp`.
    ip: u64,
    bl: u32,
}

impl Site {
    fn find() -> Result<Site, String> {
        let func = stress_target as Target as usize as u64;
        let ip = func + AARCH64_INSN_SIZE as u64;
        if ftrace::records()
            .binary_search_by_key(&ip, |rec| rec.ip)
            .is_err()
        {
            return Err(format!("stress_target at {func:#x} has no patch site"));
        }
        let tramp = stop_machine_stress_tramp as unsafe extern "C" fn() as usize as u64;
        let bl = arch::insn::bl(ip, tramp).map_err(|e| format!("encode bl: {e}"))?;
        if read_insn(func) != Ok(mov_x9_x30()) || read_insn(ip) != Ok(nop()) {
            return Err("the site of stress_target is not disabled".into());
        }
        Ok(Site { func, ip, bl })
    }
}

/// Patches made by the test, and how many of them parked fewer CPUs than were online.
#[derive(Default)]
struct PatchLog {
    patches: u64,
    short_parks: u64,
}

impl PatchLog {
    fn patch(&mut self, addr: u64, old: u32, new: u32, parked: usize) -> Result<(), String> {
        patch_text(addr, old, new).map_err(|e| format!("patch {addr:#x}: {e:?}"))?;
        self.patches += 1;
        if last_parked_cpus() != parked {
            self.short_parks += 1;
        }
        Ok(())
    }

    /// Toggles the `bl` on and off [`TOGGLES`] times.
    fn toggle(&mut self, site: &Site, parked: usize) -> Result<(), String> {
        for _ in 0..TOGGLES {
            self.patch(site.ip, nop(), site.bl, parked)?;
            self.patch(site.ip, site.bl, nop(), parked)?;
        }
        Ok(())
    }

    /// Puts the NOP back at `rec->ip` if a failed toggle left the `bl`.
    fn restore(&mut self, site: &Site, parked: usize) -> Result<(), String> {
        if read_insn(site.ip) == Ok(site.bl) {
            self.patch(site.ip, site.bl, nop(), parked)?;
        }
        Ok(())
    }
}

/// Starts one caller per CPU of [`CALLER_CPUS`]; on failure stops the ones already running.
fn spawn_callers(shared: &Arc<Shared>) -> Result<Vec<Arc<Task>>, String> {
    let mut tasks = Vec::new();
    for (index, &cpu) in CALLER_CPUS.iter().enumerate() {
        let mine = shared.clone();
        let spawned = sched::spawn("stress-caller", Some(cpu), false, move || {
            caller_loop(&mine, &mine.slots[index]);
        });
        match spawned {
            Ok(task) => tasks.push(task),
            Err(e) => {
                stop_callers(shared, &tasks)?;
                return Err(format!("spawn on CPU{cpu}: {e:?}"));
            }
        }
    }
    Ok(tasks)
}

fn stop_callers(shared: &Shared, tasks: &[Arc<Task>]) -> Result<(), String> {
    shared.stop.store(true, Ordering::Release);
    for task in tasks {
        sched::join(task).map_err(|_| format!("join of pid {} interrupted", task.pid()))?;
    }
    Ok(())
}

/// Waits until every caller has made a call, so the whole toggle run overlaps the calls.
fn wait_started(shared: &Shared) -> Result<(), String> {
    for _ in 0..START_TIMEOUT_MS {
        if shared
            .slots
            .iter()
            .all(|s| s.started.load(Ordering::Acquire))
        {
            return Ok(());
        }
        sched::msleep(1).map_err(|_| "interrupted while waiting for the callers")?;
    }
    Err(format!(
        "the callers made no call within {START_TIMEOUT_MS} ms"
    ))
}

/// Sums one counter over the callers.
fn total(shared: &Shared, counter: impl Fn(&CallerSlot) -> &AtomicU64) -> u64 {
    shared
        .slots
        .iter()
        .map(|s| counter(s).load(Ordering::Acquire))
        .sum()
}

ktest! {
fn toggling_a_called_site_loses_no_call() -> TestResult {
    let online = num_online_cpus();
    let needed = (1u64 << STRESS_CPUS) - 1;
    kassert!(
        online >= STRESS_CPUS && cpu_online_mask() & needed == needed,
        "needs CPUs 0-3 online (boot with -smp 4); {online} online, mask {:#x}",
        cpu_online_mask()
    );
    let site = Site::find()?;
    let parked = online - 1;
    let shared = Arc::new(Shared::default());
    let hits_before = STRESS_HOOK_HITS.load(Ordering::Relaxed);
    let rendezvous_before = rendezvous_count();
    let started_ns = trace_clock_ns();

    let tasks = spawn_callers(&shared)?;
    let mut log = PatchLog::default();
    let toggled = wait_started(&shared).and_then(|()| log.toggle(&site, parked));
    let stopped = stop_callers(&shared, &tasks);
    let restored = log.restore(&site, parked);
    toggled?;
    stopped?;
    restored?;
    let elapsed_ms = (trace_clock_ns() - started_ns) / 1_000_000;

    let calls = total(&shared, |s| &s.calls);
    let hits = total(&shared, |s| &s.hits);
    let misses = total(&shared, |s| &s.misses);
    println!(
        "ktest:   {} patches in {elapsed_ms} ms; {calls} calls: {hits} hooked, {misses} not",
        log.patches
    );
    for (slot, cpu) in shared.slots.iter().zip(CALLER_CPUS) {
        kassert_eq!(slot.cpu.load(Ordering::Relaxed), cpu);
        kassert_eq!(slot.anomalies.load(Ordering::Acquire), 0);
        kassert_eq!(slot.body.load(Ordering::Relaxed), slot.calls.load(Ordering::Relaxed));
        kassert_eq!(slot.hooked.load(Ordering::Relaxed), slot.hits.load(Ordering::Relaxed));
    }
    kassert_eq!(hits + misses, calls);
    kassert_eq!(STRESS_HOOK_HITS.load(Ordering::Relaxed) - hits_before, hits);
    kassert!(hits > 0 && misses > 0, "both paths must be taken: {hits} hooked, {misses} not");
    kassert_eq!(log.patches, 2 * TOGGLES);
    kassert_eq!(rendezvous_count() - rendezvous_before, log.patches as usize);
    kassert_eq!(log.short_parks, 0);
    kassert_eq!(read_insn(site.func), Ok(mov_x9_x30()));
    kassert_eq!(read_insn(site.ip), Ok(nop()));
    Ok(())
}
}
