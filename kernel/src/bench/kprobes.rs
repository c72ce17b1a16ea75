//! The cost of a kprobe hit, on both of its paths, with a pre handler that only counts:
//!
//! - `kprobe_brk_xol`: a probe at `SYM+8` of a leaf, the first instruction of its body: the
//!   `brk #0x004` exception, the probe lookup and pre handler, the instruction run in its XOL
//!   slot, the `brk #0x006` exception back and the resume (the BRK path);
//! - `kprobe_ftrace`: a probe at `SYM+0` of a leaf, which goes through the leaf's ftrace site
//!   (KPROBES_ON_FTRACE): `ftrace_caller`, the kprobe ftrace handler building the probe's
//!   register frame, and the pre handler.
//!
//! - `kprobe_simulated`: a probe on a `b` (an instruction that is simulated, not stepped in a
//!   slot) at the start of an assembly leaf: the `brk #0x004` exception, the lookup, the pre
//!   handler and the simulation, one exception in all;
//! - `kretprobe`: a kretprobe on a leaf, entry and return: the ftrace probe at `SYM+0`, an
//!   instance taken and the return hooked on the shadow stack, the return through
//!   `return_to_handler`, and a return handler that only counts.
//!
//! Each against the same calls of an identical leaf without a probe that makes the handler's
//! increment itself, so the increment cancels out. The setup refuses a probe that did not land
//! where the row says (a BRK with a slot, or an ftrace site no other ops shares), and the
//! teardown checks that the handler ran once per operation and no hit was missed: so probes
//! globally disarmed (`kprobes/enabled` 0), `ftrace_enabled` 0, or a tracer on the leaf make
//! the row fail rather than report another number.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::exception::TrapFrame;
use arch::insn::BRK64_OPCODE_KPROBES;
use arch::patching::read_insn;
use spin::Mutex;

use super::SetupError;
use super::harness::call_loop;
use crate::kbench;
use crate::kprobes::{
    Kprobe, Kretprobe, KretprobeInstance, register_kprobe, register_kretprobe, unregister_kprobe,
    unregister_kretprobe,
};
use crate::trace::ftrace_ops::{FTRACE_FL_CALL_OPS, FTRACE_REF_MAX, enabled_sites};

const OPS: u64 = 10_000;

static HITS: AtomicU64 = AtomicU64::new(0);
static UNPROBED_CALLS: AtomicU64 = AtomicU64::new(0);
static PROBE: Mutex<Option<Arc<Kprobe>>> = Mutex::new(None);
static RETPROBE: Mutex<Option<Arc<Kretprobe>>> = Mutex::new(None);

/// One more on `counter` (the CPU's only writer, IRQs masked).
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The leaf probed at `SYM+8`.
#[inline(never)]
pub fn kprobe_bench_brk_leaf(x: u64) -> u64 {
    x.wrapping_mul(3).wrapping_add(1)
}

/// The leaf probed at `SYM+0`.
#[inline(never)]
pub fn kprobe_bench_ftrace_leaf(x: u64) -> u64 {
    x.wrapping_mul(5).wrapping_add(1)
}

// The simulated-instruction leaf and its twin, in assembly so that the probed word is a `b`.
// The twin makes the pre handler's increment itself, with the same four instructions.
core::arch::global_asm!(
    ".section .text.kprobe_bench_sim, \"ax\"",
    ".balign 8",
    ".global kprobe_bench_sim_leaf",
    ".type kprobe_bench_sim_leaf, %function",
    "kprobe_bench_sim_leaf:",
    "    b 1f",
    "1:  add x0, x0, #1",
    "    ret",
    ".size kprobe_bench_sim_leaf, . - kprobe_bench_sim_leaf",
    ".global kprobe_bench_sim_twin",
    ".type kprobe_bench_sim_twin, %function",
    "kprobe_bench_sim_twin:",
    "    adrp x9, {calls}",
    "    ldr x10, [x9, :lo12:{calls}]",
    "    add x10, x10, #1",
    "    str x10, [x9, :lo12:{calls}]",
    "    b 1f",
    "1:  add x0, x0, #2",
    "    ret",
    ".size kprobe_bench_sim_twin, . - kprobe_bench_sim_twin",
    ".text",
    calls = sym UNPROBED_CALLS,
);

unsafe extern "C" {
    fn kprobe_bench_sim_leaf(x: u64) -> u64;
    fn kprobe_bench_sim_twin(x: u64) -> u64;
}

fn sim_leaf(x: u64) -> u64 {
    // SAFETY: a leaf computing x + 1 in x0.
    unsafe { kprobe_bench_sim_leaf(x) }
}

fn sim_twin(x: u64) -> u64 {
    // SAFETY: a leaf computing x + 2 in x0 that counts its call; it uses x9 and x10 only.
    unsafe { kprobe_bench_sim_twin(x) }
}

fn call_sim_leaf(n: u64) {
    call_loop(sim_leaf, n);
}

fn call_sim_twin(n: u64) {
    call_loop(sim_twin, n);
}

fn check_simulated(kp: &Kprobe) -> Result<(), String> {
    check_brk(kp)?;
    if arch::probes::kprobes::xol_slots_used() as u64 != SLOTS_BEFORE.load(Ordering::Relaxed) {
        return Err("the probed `b` took an XOL slot: it is not simulated".into());
    }
    Ok(())
}

static SLOTS_BEFORE: AtomicU64 = AtomicU64::new(0);

fn setup_simulated() -> Result<(), SetupError> {
    SLOTS_BEFORE.store(
        arch::probes::kprobes::xol_slots_used() as u64,
        Ordering::Relaxed,
    );
    let leaf = kprobe_bench_sim_leaf as unsafe extern "C" fn(u64) -> u64 as usize as u64;
    probe(leaf, check_simulated)
}

/// The leaf with a kretprobe.
#[inline(never)]
pub fn kretprobe_bench_leaf(x: u64) -> u64 {
    x.wrapping_mul(7).wrapping_add(1)
}

/// The unprobed twin, with the handler's increment.
#[inline(never)]
pub fn kprobe_bench_unprobed(x: u64) -> u64 {
    bump(&UNPROBED_CALLS);
    x.wrapping_mul(3).wrapping_add(2)
}

/// Counts the hit; no patch site of its own.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn counting_pre_handler(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    bump(&HITS);
    false
}

/// Counts the return; no patch site of its own.
#[patchable_function_entry(prefix_nops = 0, entry_nops = 0)]
fn counting_return_handler(_ri: &mut KretprobeInstance<'_>, _regs: &TrapFrame) {
    bump(&HITS);
}

fn call_kretprobe_leaf(n: u64) {
    call_loop(kretprobe_bench_leaf, n);
}

fn call_brk_leaf(n: u64) {
    call_loop(kprobe_bench_brk_leaf, n);
}

fn call_ftrace_leaf(n: u64) {
    call_loop(kprobe_bench_ftrace_leaf, n);
}

fn call_unprobed(n: u64) {
    call_loop(kprobe_bench_unprobed, n);
}

/// Registers the counting probe at `addr` and checks it landed as `check` says.
fn probe(addr: u64, check: fn(&Kprobe) -> Result<(), String>) -> Result<(), SetupError> {
    HITS.store(0, Ordering::Relaxed);
    UNPROBED_CALLS.store(0, Ordering::Relaxed);
    let kp = Arc::try_new(Kprobe::at_addr(addr).with_pre_handler(counting_pre_handler))
        .map_err(|_| SetupError::Fail("out of memory".into()))?;
    register_kprobe(&kp).map_err(|e| SetupError::Fail(format!("register_kprobe: {e:?}")))?;
    if let Err(why) = check(&kp) {
        let _ = unregister_kprobe(&kp);
        return Err(SetupError::Fail(why));
    }
    *PROBE.lock() = Some(kp);
    Ok(())
}

fn check_brk(kp: &Kprobe) -> Result<(), String> {
    if kp.is_ftrace() || read_insn(kp.addr()) != Ok(BRK64_OPCODE_KPROBES) {
        return Err(format!("the probe at {:#x} is not an armed BRK", kp.addr()));
    }
    Ok(())
}

fn check_ftrace(kp: &Kprobe) -> Result<(), String> {
    check_ftrace_site(kp, kprobe_bench_ftrace_leaf)
}

/// The probe went through `leaf`'s ftrace site, which calls the kprobe ops alone.
fn check_ftrace_site(kp: &Kprobe, leaf: fn(u64) -> u64) -> Result<(), String> {
    if !kp.is_ftrace() {
        return Err("the probe at SYM+0 did not go through the ftrace site".into());
    }
    let func = leaf as usize as u64;
    let own_site = enabled_sites().into_iter().any(|site| {
        site.func == func
            && site.flags & FTRACE_FL_CALL_OPS != 0
            && site.flags & FTRACE_REF_MAX == 1
    });
    if !own_site {
        return Err("the leaf's site is not enabled for the kprobe ops alone".into());
    }
    Ok(())
}

fn setup_brk() -> Result<(), SetupError> {
    probe(
        kprobe_bench_brk_leaf as fn(u64) -> u64 as usize as u64 + 8,
        check_brk,
    )
}

fn setup_ftrace() -> Result<(), SetupError> {
    probe(
        kprobe_bench_ftrace_leaf as fn(u64) -> u64 as usize as u64,
        check_ftrace,
    )
}

/// Unregisters, then checks every probed call reached the handler and none was missed.
fn teardown() -> Result<(), String> {
    let kp = PROBE.lock().take().ok_or("no probe registered")?;
    unregister_kprobe(&kp).map_err(|e| format!("unregister_kprobe: {e:?}"))?;
    let (hits, unprobed, missed) = (
        HITS.load(Ordering::Relaxed),
        UNPROBED_CALLS.load(Ordering::Relaxed),
        kp.nmissed(),
    );
    if (hits, unprobed, missed) == (OPS, OPS, 0) {
        return Ok(());
    }
    Err(format!(
        "expected {OPS} hits and {OPS} unprobed calls, got {hits} and {unprobed}, {missed} \
         missed (kprobes/enabled 0, ftrace_enabled 0, or another tracer on the leaf?)"
    ))
}

fn setup_kretprobe() -> Result<(), SetupError> {
    HITS.store(0, Ordering::Relaxed);
    UNPROBED_CALLS.store(0, Ordering::Relaxed);
    let fail = |what: &str| SetupError::Fail(what.into());
    let rp = Kretprobe::at_addr(kretprobe_bench_leaf as fn(u64) -> u64 as usize as u64)
        .map_err(|e| fail(&format!("{e:?}")))?
        .with_handler(counting_return_handler);
    let rp = Arc::try_new(rp).map_err(|_| fail("out of memory"))?;
    register_kretprobe(&rp).map_err(|e| fail(&format!("register_kretprobe: {e:?}")))?;
    if let Err(why) = check_ftrace_site(rp.kprobe(), kretprobe_bench_leaf) {
        let _ = unregister_kretprobe(&rp);
        return Err(SetupError::Fail(why));
    }
    *RETPROBE.lock() = Some(rp);
    Ok(())
}

/// Unregisters, then checks every call's return reached the handler and none was missed.
fn teardown_kretprobe() -> Result<(), String> {
    let rp = RETPROBE.lock().take().ok_or("no kretprobe registered")?;
    unregister_kretprobe(&rp).map_err(|e| format!("unregister_kretprobe: {e:?}"))?;
    let (hits, unprobed, missed) = (
        HITS.load(Ordering::Relaxed),
        UNPROBED_CALLS.load(Ordering::Relaxed),
        rp.nmissed() + rp.kprobe().nmissed(),
    );
    if (hits, unprobed, missed) == (OPS, OPS, 0) {
        return Ok(());
    }
    Err(format!(
        "expected {OPS} returns and {OPS} unprobed calls, got {hits} and {unprobed}, {missed} \
         missed (kprobes/enabled 0, ftrace_enabled 0, or another tracer on the leaf?)"
    ))
}

kbench! {
    name: "kprobe_brk_xol",
    ops: OPS,
    run: call_brk_leaf,
    baseline: "call_unprobed_leaf" => call_unprobed,
    setup: setup_brk,
    teardown: teardown,
}

kbench! {
    name: "kprobe_ftrace",
    ops: OPS,
    run: call_ftrace_leaf,
    baseline: "call_unprobed_leaf" => call_unprobed,
    setup: setup_ftrace,
    teardown: teardown,
}

kbench! {
    name: "kretprobe",
    ops: OPS,
    run: call_kretprobe_leaf,
    baseline: "call_unprobed_leaf" => call_unprobed,
    setup: setup_kretprobe,
    teardown: teardown_kretprobe,
}

kbench! {
    name: "kprobe_simulated",
    ops: OPS,
    run: call_sim_leaf,
    baseline: "call_unprobed_twin" => call_sim_twin,
    setup: setup_simulated,
    teardown: teardown,
}
