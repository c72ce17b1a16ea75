//! kprobes and kretprobes on real functions, after Linux's KUnit `lib/test_kprobes.c`: pre and
//! post handlers in order and with the right registers, several probes on one address, a probe
//! at `SYM+0` (through the ftrace site), at `SYM+8` (a BRK and an XOL slot) and on simulated
//! instructions (`bl`, `b.cond` inside `fib`), the probed functions still computing the right
//! results, unregistering while three other CPUs hit the probe, kretprobe return values and
//! entry data, a stack trace from a return handler that shows the real caller, a kretprobe and
//! `function_graph` on one function, `nmissed` on recursion, the fast path of a kretprobe alone
//! on an ftrace site (and its `kprobe_profile` as an event), the global `enabled` switch, and
//! the refusals (blacklisted, unknown, misaligned), and a probe at every offset of the workload
//! functions, `schedule` and two ring-buffer readers while three other CPUs run them.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use arch::exception::TrapFrame;
use arch::ftrace::{FgraphRetRegs, FtraceRegs, return_to_handler_addr};
use arch::insn::{AARCH64_INSN_SIZE, BRK64_OPCODE_KPROBES, Insn, InsnClass, classify, decode};
use arch::patching::read_insn;
use arch::probes::decode::{ArchProbeInsn, ProbeInsn, arm_kprobe_decode_insn};
use arch::probes::kprobes::xol_slots_used;

use crate::fs::{self, Errno, WriteMode};
use crate::kprobes::{
    Kprobe, Kretprobe, KretprobeInstance, disable_kprobe, disable_kretprobe, enable_kprobe,
    enable_kretprobe, kretprobe_free_instances, kretprobe_is_fast, kretprobe_pools_pending,
    register_kprobe, register_kretprobe, unregister_kprobe, unregister_kretprobe,
};
use crate::ktest::{Context, TestResult};
use crate::sched;
use crate::smp::num_online_cpus;
use crate::stacktrace::{current_frame_pointer, unwind};
use crate::trace::fgraph::{FgraphOps, FtraceGraphEnt, FtraceGraphRet, GraphTaskState};
use crate::workload::fib;
use crate::{kassert, kassert_eq, ktest};

const DIV_FACTOR: u64 = 3;

/// The probed function (Linux's `kprobe_target`).
#[inline(never)]
fn kprobe_target(value: u64) -> u64 {
    black_box(value).wrapping_mul(7) / DIV_FACTOR + black_box(11)
}

fn expected_target(value: u64) -> u64 {
    value.wrapping_mul(7) / DIV_FACTOR + 11
}

/// A second probed function (Linux's `kprobe_target2`).
#[inline(never)]
fn kprobe_target2(value: u64) -> u64 {
    black_box(value).wrapping_mul(5).rotate_left(3) ^ black_box(0x55)
}

fn expected_target2(value: u64) -> u64 {
    value.wrapping_mul(5).rotate_left(3) ^ 0x55
}

/// Calls [`kprobe_target`]: the caller a return handler's stack trace must show.
#[inline(never)]
fn kprobe_caller(value: u64) -> u64 {
    kprobe_target(black_box(value)).wrapping_add(black_box(1))
}

type Target = fn(u64) -> u64;

fn addr_of(f: Target) -> u64 {
    f as usize as u64
}

/// What the handlers saw, in order: (kind, value).
const LOG_LEN: usize = 16;
const PRE_A: u64 = 1;
const POST_A: u64 = 2;
const PRE_B: u64 = 3;
const POST_B: u64 = 4;

static LOG: [AtomicU64; LOG_LEN * 2] = [const { AtomicU64::new(0) }; LOG_LEN * 2];
static LOG_AT: AtomicUsize = AtomicUsize::new(0);

fn log(kind: u64, value: u64) {
    let at = LOG_AT.fetch_add(1, Ordering::Relaxed);
    if at < LOG_LEN {
        LOG[2 * at].store(kind, Ordering::Relaxed);
        LOG[2 * at + 1].store(value, Ordering::Relaxed);
    }
}

fn take_log() -> Vec<(u64, u64)> {
    let n = LOG_AT.swap(0, Ordering::Relaxed).min(LOG_LEN);
    (0..n)
        .map(|i| {
            (
                LOG[2 * i].load(Ordering::Relaxed),
                LOG[2 * i + 1].load(Ordering::Relaxed),
            )
        })
        .collect()
}

/// Pre handler A: logs x0 and the pc it was called at.
fn pre_a(kp: &Kprobe, regs: &mut TrapFrame) -> bool {
    log(PRE_A, regs.regs[0]);
    log(PRE_A, regs.pc.wrapping_sub(kp.addr()));
    false
}

fn post_a(kp: &Kprobe, regs: &mut TrapFrame) {
    log(POST_A, regs.pc.wrapping_sub(kp.addr()));
}

fn pre_b(_kp: &Kprobe, regs: &mut TrapFrame) -> bool {
    log(PRE_B, regs.regs[0]);
    false
}

fn post_b(_kp: &Kprobe, _regs: &mut TrapFrame) {
    log(POST_B, 0);
}

fn probe_at(addr: u64) -> Result<Arc<Kprobe>, String> {
    Arc::try_new(
        Kprobe::at_addr(addr)
            .with_pre_handler(pre_a)
            .with_post_handler(post_a),
    )
    .map_err(|_| "out of memory".into())
}

ktest! {
fn brk_probe_runs_pre_then_post_around_the_xol_slot() -> TestResult {
    take_log();
    let addr = addr_of(kprobe_target) + 8;
    let original = read_insn(addr).or_fail()?;
    let slots = xol_slots_used();
    let kp = probe_at(addr)?;
    register_kprobe(&kp).context("register")?;
    kassert!(!kp.is_ftrace());
    kassert_eq!(read_insn(addr), Ok(BRK64_OPCODE_KPROBES));
    kassert_eq!(xol_slots_used(), slots + 1);
    // The slots are executable and never writable through that mapping.
    let xol = arch::probes::kprobes::xol_region();
    // SAFETY: a nofault store that must fault: the XOL pages are mapped read-only.
    let store = unsafe { arch::extable::write_u32_nofault(xol.start, 0) };
    kassert!(store.is_err(), "the XOL region is writable");
    let got = kprobe_target(black_box(1234));
    unregister_kprobe(&kp).context("unregister")?;
    kassert_eq!(got, expected_target(1234));
    kassert_eq!(read_insn(addr), Ok(original));
    kassert_eq!(xol_slots_used(), slots);
    // Pre sees the probe's own pc, post the next instruction's.
    kassert_eq!(take_log(), [(PRE_A, 1234), (PRE_A, 0), (POST_A, 4)]);
    kassert_eq!(kp.nmissed(), 0);
    Ok(())
}
}

ktest! {
fn ftrace_probe_at_sym0_goes_through_the_patch_site() -> TestResult {
    take_log();
    let func = addr_of(kprobe_target);
    let kp = Arc::try_new(
        Kprobe::at_symbol("kernel::ktests::kprobes::kprobe_target", 0)
            .or_fail()?
            .with_pre_handler(pre_a)
            .with_post_handler(post_a),
    )
    .or_fail()?;
    register_kprobe(&kp).context("register")?;
    // Linux's ftrace_location: SYM+0 goes to the site (record ip SYM+4), and the probe fires
    // before the function's first instruction, as a probe at SYM+0.
    kassert_eq!(kp.addr(), func);
    kassert!(kp.is_ftrace());
    let mut list = String::new();
    fs::read("/sys/kernel/debug/kprobes/list", &mut list).or_fail()?;
    let got = kprobe_target(black_box(77));
    unregister_kprobe(&kp).context("unregister")?;
    kassert_eq!(got, expected_target(77));
    // Post sees where the body resumes, after the two words of the site.
    kassert_eq!(take_log(), [(PRE_A, 77), (PRE_A, 0), (POST_A, 8)]);
    let line = format!("{func:016x}  k  kernel::ktests::kprobes::kprobe_target+0x0    [FTRACE]");
    kassert!(list.lines().any(|l| l == line), "no `{line}` in:\n{list}");
    // The site's `nop`/`bl` word is the same site.
    let kp = probe_at(func + 4)?;
    register_kprobe(&kp).context("register SYM+4")?;
    kassert!(kp.is_ftrace());
    kassert_eq!(kp.addr(), func);
    unregister_kprobe(&kp).context("unregister SYM+4")?;
    take_log();
    Ok(())
}
}

ktest! {
fn multiple_probes_on_one_address_run_in_order() -> TestResult {
    // A BRK's post handler sees the next instruction, an ftrace probe's the body after the site.
    for (addr, post) in [(addr_of(kprobe_target2) + 8, 4), (addr_of(kprobe_target2), 8)] {
        take_log();
        let a = probe_at(addr)?;
        let b = Arc::try_new(Kprobe::at_addr(addr).with_pre_handler(pre_b).with_post_handler(post_b))
            .or_fail()?;
        register_kprobe(&a).context("register a")?;
        register_kprobe(&b).context("register b")?;
        let mut list = String::new();
        fs::read("/sys/kernel/debug/kprobes/list", &mut list).or_fail()?;
        let lines = list.lines().filter(|l| l.contains("kprobe_target2+")).count();
        let got = kprobe_target2(black_box(5));
        kassert_eq!(got, expected_target2(5));
        kassert_eq!(
            take_log(),
            [(PRE_A, 5), (PRE_A, 0), (PRE_B, 5), (POST_A, post), (POST_B, 0)]
        );
        kassert!(lines == 2, "{list}: {} != {}", lines, 2);
        // Disabling one keeps the other; disabling both disarms the site.
        disable_kprobe(&a).context("disable a")?;
        kassert_eq!(kprobe_target2(black_box(6)), expected_target2(6));
        kassert_eq!(take_log(), [(PRE_B, 6), (POST_B, 0)]);
        disable_kprobe(&b).context("disable b")?;
        kassert_eq!(kprobe_target2(black_box(7)), expected_target2(7));
        kassert_eq!(take_log(), []);
        if !a.is_ftrace() {
            kassert!(read_insn(addr).or_fail()? != BRK64_OPCODE_KPROBES);
        }
        enable_kprobe(&a).context("enable a")?;
        unregister_kprobe(&b).context("unregister b")?;
        kassert_eq!(kprobe_target2(black_box(8)), expected_target2(8));
        kassert_eq!(take_log(), [(PRE_A, 8), (PRE_A, 0), (POST_A, post)]);
        unregister_kprobe(&a).context("unregister a")?;
        kassert_eq!(unregister_kprobe(&a), Err(Errno::EINVAL));
    }
    Ok(())
}
}

const FTRACE_H: u64 = 5;

/// An ftrace handler: logs x0 as ftrace saved it.
fn ftrace_h(_kp: &Kprobe, fregs: &mut FtraceRegs) {
    log(FTRACE_H, fregs.regs[0]);
}

fn probe_with_ftrace_handler(addr: u64) -> Result<Arc<Kprobe>, String> {
    Arc::try_new(
        Kprobe::at_addr(addr)
            .with_pre_handler(pre_b)
            .with_ftrace_handler(ftrace_h),
    )
    .map_err(|_| "out of memory".into())
}

ktest! {
fn ftrace_handler_runs_only_for_a_lone_probe_on_an_ftrace_site() -> TestResult {
    take_log();
    let func = addr_of(kprobe_target2);
    let kp = probe_with_ftrace_handler(func)?;
    register_kprobe(&kp).context("register")?;
    kassert!(kp.is_ftrace());
    kassert_eq!(kprobe_target2(black_box(9)), expected_target2(9));
    kassert_eq!(take_log(), [(FTRACE_H, 9)]);
    disable_kprobe(&kp).context("disable")?;
    kassert_eq!(kprobe_target2(black_box(10)), expected_target2(10));
    kassert_eq!(take_log(), []);
    enable_kprobe(&kp).context("enable")?;
    // A second probe on the site: every probe's pre handler, in order, on the frame.
    let other = probe_at(func)?;
    register_kprobe(&other).context("register the second")?;
    kassert_eq!(kprobe_target2(black_box(11)), expected_target2(11));
    kassert_eq!(
        take_log(),
        [(PRE_B, 11), (PRE_A, 11), (PRE_A, 0), (POST_A, 8)]
    );
    unregister_kprobe(&other).context("unregister the second")?;
    kassert_eq!(kprobe_target2(black_box(12)), expected_target2(12));
    kassert_eq!(take_log(), [(FTRACE_H, 12)]);
    unregister_kprobe(&kp).context("unregister")?;
    // A post handler, or a BRK site, takes the pre handler.
    let with_post = Arc::try_new(
        Kprobe::at_addr(func)
            .with_pre_handler(pre_b)
            .with_post_handler(post_b)
            .with_ftrace_handler(ftrace_h),
    )
    .or_fail()?;
    register_kprobe(&with_post).context("register with a post handler")?;
    kassert_eq!(kprobe_target2(black_box(13)), expected_target2(13));
    unregister_kprobe(&with_post).context("unregister with a post handler")?;
    kassert_eq!(take_log(), [(PRE_B, 13), (POST_B, 0)]);
    let brk = probe_with_ftrace_handler(func + 8)?;
    register_kprobe(&brk).context("register at SYM+8")?;
    kassert!(!brk.is_ftrace());
    kassert_eq!(kprobe_target2(black_box(14)), expected_target2(14));
    unregister_kprobe(&brk).context("unregister at SYM+8")?;
    kassert_eq!(take_log(), [(PRE_B, 14)]);
    Ok(())
}
}

/// The first word in `f` after its patch site that `pick` accepts.
fn find_word(f: Target, pick: impl Fn(u32) -> bool) -> Result<u64, String> {
    let func = addr_of(f);
    let sym = crate::symbols::lookup(func).ok_or("no symbol")?;
    (8..u64::from(sym.size))
        .step_by(AARCH64_INSN_SIZE)
        .map(|off| func + off)
        .find(|&addr| read_insn(addr).is_ok_and(&pick))
        .ok_or_else(|| format!("no such instruction in {}", sym.name))
}

static SIM_HITS: AtomicU64 = AtomicU64::new(0);

fn count_hit(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    SIM_HITS.fetch_add(1, Ordering::Relaxed);
    false
}

ktest! {
fn probes_on_simulated_bl_and_b_cond_keep_fib_right() -> TestResult {
    let fib: Target = fib;
    let bl = find_word(fib, |w| matches!(decode(w), Insn::Bl { .. }))?;
    let bcond = find_word(fib, |w| classify(w) == InsnClass::CondBranch)?;
    for addr in [bl, bcond] {
        let word = read_insn(addr).or_fail()?;
        let mut api = ArchProbeInsn::default();
        kassert_eq!(arm_kprobe_decode_insn(word, &[], &mut api), ProbeInsn::GoodNoSlot);
        let slots = xol_slots_used();
        SIM_HITS.store(0, Ordering::Relaxed);
        let kp = Arc::try_new(Kprobe::at_addr(addr).with_pre_handler(count_hit)).or_fail()?;
        register_kprobe(&kp).context("register")?;
        kassert!(xol_slots_used() == slots, "a simulated instruction takes no slot: {} != {}", xol_slots_used(), slots);
        let got = fib(black_box(12));
        unregister_kprobe(&kp).context("unregister")?;
        kassert_eq!(got, 144);
        kassert!(SIM_HITS.load(Ordering::Relaxed) > 0, "probe at {addr:#x} never hit");
    }
    Ok(())
}
}

ktest! {
fn refused_addresses_get_linux_errors() -> TestResult {
    // The kprobe machinery itself, in the no-probe text.
    let handler = crate::symbols::lookup_name("arch::probes::kprobes::kprobe_breakpoint_handler")
        .ok_or("no kprobe_breakpoint_handler symbol")?;
    let kp = Arc::try_new(Kprobe::at_addr(handler.addr + 8)).or_fail()?;
    kassert_eq!(register_kprobe(&kp), Err(Errno::EINVAL));
    let kp = Arc::try_new(Kprobe::at_symbol("no::such::symbol", 0).or_fail()?).or_fail()?;
    kassert_eq!(register_kprobe(&kp), Err(Errno::ENOENT));
    let kp = Arc::try_new(Kprobe::at_addr(addr_of(kprobe_target) + 10)).or_fail()?;
    kassert_eq!(register_kprobe(&kp), Err(Errno::EINVAL));
    // Outside every function: the XOL region.
    let xol = arch::probes::kprobes::xol_region().start;
    let kp = Arc::try_new(Kprobe::at_addr(xol)).or_fail()?;
    kassert_eq!(register_kprobe(&kp), Err(Errno::ENOENT));
    let mut blacklist = String::new();
    fs::read("/sys/kernel/debug/kprobes/blacklist", &mut blacklist).or_fail()?;
    kassert!(
        blacklist
            .lines()
            .any(|l| l.starts_with("0x") && l.ends_with("\tarch::probes::kprobes::kprobe_breakpoint_handler")),
        "blacklist lacks the BRK handler"
    );
    Ok(())
}
}

ktest! {
fn enabled_file_disarms_and_rearms_every_probe() -> TestResult {
    take_log();
    let addr = addr_of(kprobe_target) + 8;
    let original = read_insn(addr).or_fail()?;
    let brk = probe_at(addr)?;
    let ftrace = Arc::try_new(Kprobe::at_addr(addr_of(kprobe_target2)).with_pre_handler(pre_b)).or_fail()?;
    register_kprobe(&brk).context("register")?;
    register_kprobe(&ftrace).context("register ftrace")?;
    let result = (|| -> TestResult {
        fs::write("/sys/kernel/debug/kprobes/enabled", b"0\n", WriteMode::Truncate).or_fail()?;
        let mut enabled = String::new();
        fs::read("/sys/kernel/debug/kprobes/enabled", &mut enabled).or_fail()?;
        kassert_eq!(enabled, "0\n");
        kassert_eq!(read_insn(addr), Ok(original));
        kassert_eq!(kprobe_target(black_box(3)), expected_target(3));
        kassert_eq!(kprobe_target2(black_box(3)), expected_target2(3));
        kassert_eq!(take_log(), []);
        kassert_eq!(
            fs::write("/sys/kernel/debug/kprobes/enabled", b"x", WriteMode::Truncate),
            Err(Errno::EINVAL)
        );
        fs::write("/sys/kernel/debug/kprobes/enabled", b"1\n", WriteMode::Truncate).or_fail()?;
        kassert_eq!(read_insn(addr), Ok(BRK64_OPCODE_KPROBES));
        kassert_eq!(kprobe_target(black_box(4)), expected_target(4));
        kassert_eq!(kprobe_target2(black_box(4)), expected_target2(4));
        kassert_eq!(take_log(), [(PRE_A, 4), (PRE_A, 0), (POST_A, 4), (PRE_B, 4)]);
        Ok(())
    })();
    let _ = fs::write("/sys/kernel/debug/kprobes/enabled", b"1", WriteMode::Truncate);
    unregister_kprobe(&brk).context("unregister")?;
    unregister_kprobe(&ftrace).context("unregister ftrace")?;
    result
}
}

static INNER_HITS: AtomicU64 = AtomicU64::new(0);
static INNER_RESULT: AtomicU64 = AtomicU64::new(0);

fn inner_hit(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    INNER_HITS.fetch_add(1, Ordering::Relaxed);
    false
}

/// A pre handler that calls the other probed function.
fn outer_calls_target2(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    INNER_RESULT.store(kprobe_target2(black_box(9)), Ordering::Relaxed);
    false
}

ktest! {
fn a_probe_hit_inside_a_handler_is_counted_as_missed() -> TestResult {
    // The inner probe on a BRK (reentered: its instruction still runs) and on the ftrace site.
    for inner_addr in [addr_of(kprobe_target2) + 8, addr_of(kprobe_target2)] {
        INNER_HITS.store(0, Ordering::Relaxed);
        INNER_RESULT.store(0, Ordering::Relaxed);
        let outer = Arc::try_new(
            Kprobe::at_addr(addr_of(kprobe_target) + 8).with_pre_handler(outer_calls_target2),
        )
        .or_fail()?;
        let inner = Arc::try_new(Kprobe::at_addr(inner_addr).with_pre_handler(inner_hit)).or_fail()?;
        register_kprobe(&outer).context("register outer")?;
        register_kprobe(&inner).context("register inner")?;
        let got = kprobe_target(black_box(21));
        let direct = kprobe_target2(black_box(2));
        unregister_kprobe(&outer).context("unregister outer")?;
        unregister_kprobe(&inner).context("unregister inner")?;
        kassert_eq!(got, expected_target(21));
        kassert_eq!(INNER_RESULT.load(Ordering::Relaxed), expected_target2(9));
        kassert_eq!(direct, expected_target2(2));
        kassert!(inner.nmissed() == 1, "inner probe at {inner_addr:#x}: {} != {}", inner.nmissed(), 1);
        kassert!(INNER_HITS.load(Ordering::Relaxed) == 1, "only the direct call: {} != {}", INNER_HITS.load(Ordering::Relaxed), 1);
        kassert_eq!(outer.nmissed(), 0);
    }
    Ok(())
}
}

static STRESS_HITS: AtomicU64 = AtomicU64::new(0);
static STRESS_IN_HANDLER: AtomicU64 = AtomicU64::new(0);

fn stress_pre(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    STRESS_IN_HANDLER.fetch_add(1, Ordering::AcqRel);
    STRESS_HITS.fetch_add(1, Ordering::Relaxed);
    core::hint::spin_loop();
    STRESS_IN_HANDLER.fetch_sub(1, Ordering::AcqRel);
    false
}

const STRESS_ROUNDS: u64 = 12;

ktest! {
fn unregister_while_three_other_cpus_hit_the_probe() -> TestResult {
    if num_online_cpus() < 4 {
        return Err("needs 4 CPUs".into());
    }
    let stop = Arc::try_new(AtomicBool::new(false)).or_fail()?;
    let errors = Arc::try_new(AtomicU64::new(0)).or_fail()?;
    let calls = Arc::try_new(AtomicU64::new(0)).or_fail()?;
    let mut workers = Vec::new();
    for cpu in 1..4 {
        let (stop, errors, calls) = (stop.clone(), errors.clone(), calls.clone());
        let task = sched::spawn("kprobe-stress", Some(cpu), false, move || {
            let target = black_box(kprobe_target as Target);
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                if target(i) != expected_target(i) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                calls.fetch_add(1, Ordering::Relaxed);
                i += 1;
                arch::processor::cpu_relax();
            }
        })
        .context("spawn")?;
        workers.push(task);
    }
    let result = (|| -> TestResult {
        for round in 0..STRESS_ROUNDS {
            let addr = addr_of(kprobe_target) + if round % 2 == 0 { 8 } else { 0 };
            let kp = Arc::try_new(Kprobe::at_addr(addr).with_pre_handler(stress_pre)).or_fail()?;
            let before = STRESS_HITS.load(Ordering::Relaxed);
            register_kprobe(&kp).context("register")?;
            let mut spins = 0u64;
            while STRESS_HITS.load(Ordering::Relaxed) < before + 20 && spins < 50_000_000 {
                spins += 1;
                arch::processor::cpu_relax();
            }
            unregister_kprobe(&kp).context("unregister")?;
            kassert!(STRESS_IN_HANDLER.load(Ordering::Acquire) == 0, "a handler still runs: {} != {}", STRESS_IN_HANDLER.load(Ordering::Acquire), 0);
            let after = STRESS_HITS.load(Ordering::Acquire);
            kassert!(after >= before + 20, "round {round}: only {} hits", after - before);
            let calls_then = calls.load(Ordering::Relaxed);
            while calls.load(Ordering::Relaxed) < calls_then + 30 {
                arch::processor::cpu_relax();
            }
            kassert!(STRESS_HITS.load(Ordering::Acquire) == after, "hit after unregister: {} != {}", STRESS_HITS.load(Ordering::Acquire), after);
        }
        Ok(())
    })();
    stop.store(true, Ordering::Release);
    for task in &workers {
        let _ = sched::join(task);
    }
    kassert!(errors.load(Ordering::Relaxed) == 0, "wrong results under the probe: {} != {}", errors.load(Ordering::Relaxed), 0);
    result
}
}

// kretprobes.

static RET_VALUE: AtomicU64 = AtomicU64::new(0);
static RET_ENTRY_ARG: AtomicU64 = AtomicU64::new(0);
static RET_CALLS: AtomicU64 = AtomicU64::new(0);
static RET_SAW_CALLER: AtomicBool = AtomicBool::new(false);
static RET_SAW_TRAMPOLINE: AtomicBool = AtomicBool::new(false);

fn entry_save_arg(ri: &mut KretprobeInstance<'_>, regs: &mut TrapFrame) -> bool {
    ri.data_mut()[..8].copy_from_slice(&regs.regs[0].to_le_bytes());
    false
}

fn return_record(ri: &mut KretprobeInstance<'_>, regs: &TrapFrame) {
    RET_CALLS.fetch_add(1, Ordering::Relaxed);
    RET_VALUE.store(regs.regs[0], Ordering::Relaxed);
    let mut arg = [0u8; 8];
    arg.copy_from_slice(&ri.data()[..8]);
    RET_ENTRY_ARG.store(u64::from_le_bytes(arg), Ordering::Relaxed);
    let caller = crate::symbols::lookup(addr_of(kprobe_caller));
    unwind::<24>(current_frame_pointer(), |ret| {
        if ret == return_to_handler_addr() {
            RET_SAW_TRAMPOLINE.store(true, Ordering::Relaxed);
        }
        if caller.is_some_and(|sym| sym.contains(ret)) {
            RET_SAW_CALLER.store(true, Ordering::Relaxed);
        }
    });
}

fn reset_ret_state() {
    for v in [&RET_VALUE, &RET_ENTRY_ARG, &RET_CALLS] {
        v.store(0, Ordering::Relaxed);
    }
    RET_SAW_CALLER.store(false, Ordering::Relaxed);
    RET_SAW_TRAMPOLINE.store(false, Ordering::Relaxed);
}

fn target_kretprobe() -> Result<Arc<Kretprobe>, String> {
    Arc::try_new(
        Kretprobe::at_symbol("kernel::ktests::kprobes::kprobe_target", 0)
            .or_fail()?
            .with_entry_handler(entry_save_arg)
            .with_handler(return_record)
            .with_data_size(8),
    )
    .map_err(|_| "out of memory".into())
}

ktest! {
fn kretprobe_sees_return_value_entry_data_and_the_real_caller() -> TestResult {
    reset_ret_state();
    let rp = target_kretprobe()?;
    register_kretprobe(&rp).context("register")?;
    kassert!(rp.kprobe().is_ftrace());
    kassert!(rp.maxactive() >= 10);
    let mut list = String::new();
    fs::read("/sys/kernel/debug/kprobes/list", &mut list).or_fail()?;
    let got = kprobe_caller(black_box(300));
    unregister_kretprobe(&rp).context("unregister")?;
    kassert_eq!(got, expected_target(300) + 1);
    kassert_eq!(RET_CALLS.load(Ordering::Relaxed), 1);
    kassert_eq!(RET_VALUE.load(Ordering::Relaxed), expected_target(300));
    kassert_eq!(RET_ENTRY_ARG.load(Ordering::Relaxed), 300);
    kassert!(RET_SAW_CALLER.load(Ordering::Relaxed), "the stack trace misses kprobe_caller");
    kassert!(!RET_SAW_TRAMPOLINE.load(Ordering::Relaxed), "the stack trace shows return_to_handler");
    kassert!(
        list.lines().any(|l| l.contains("  r  kernel::ktests::kprobes::kprobe_target+0x0") && l.ends_with("[FTRACE]")),
        "{list}"
    );
    kassert_eq!(rp.nmissed(), 0);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

/// Skips every return: the entry handler says "do not hook".
fn entry_skip(_ri: &mut KretprobeInstance<'_>, _regs: &mut TrapFrame) -> bool {
    true
}

ktest! {
fn kretprobe_entry_handler_can_skip_and_maxactive_bounds_instances() -> TestResult {
    reset_ret_state();
    let rp = Arc::try_new(
        Kretprobe::at_addr(addr_of(kprobe_target))
            .or_fail()?
            .with_entry_handler(entry_skip)
            .with_handler(return_record),
    )
    .or_fail()?;
    register_kretprobe(&rp).context("register")?;
    kassert_eq!(kprobe_target(black_box(5)), expected_target(5));
    unregister_kretprobe(&rp).context("unregister")?;
    kassert_eq!(RET_CALLS.load(Ordering::Relaxed), 0);
    // Recursion deeper than maxactive: the calls beyond it are missed, all return right.
    let rp = Arc::try_new(
        Kretprobe::at_symbol("kernel::workload::fib", 0)
            .or_fail()?
            .with_maxactive(3),
    )
    .or_fail()?;
    register_kretprobe(&rp).context("register fib")?;
    let got = fib(black_box(6));
    unregister_kretprobe(&rp).context("unregister fib")?;
    kassert_eq!(got, 8);
    // fib(6) makes 25 calls, at most 6 deep: 3 instances cannot hold them all at once.
    kassert!(rp.nmissed() > 0);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    // Not at a function's entry, data too big.
    let bad = Arc::try_new(Kretprobe::at_addr(addr_of(kprobe_target) + 8).or_fail()?).or_fail()?;
    kassert_eq!(register_kretprobe(&bad), Err(Errno::EINVAL));
    let big = Arc::try_new(Kretprobe::at_addr(addr_of(kprobe_target)).or_fail()?.with_data_size(4097)).or_fail()?;
    kassert_eq!(register_kretprobe(&big), Err(Errno::E2BIG));
    Ok(())
}
}

static GRAPH_RETURNS: AtomicU64 = AtomicU64::new(0);
static GRAPH_RETVAL: AtomicU64 = AtomicU64::new(0);

arch::noinstr! {
fn graph_entry(_: &FtraceGraphEnt, _: &mut GraphTaskState, _: &FtraceRegs) -> bool {
    true
}
}

arch::noinstr! {
fn graph_return(ret: &FtraceGraphRet, _: &mut GraphTaskState, _: &FgraphRetRegs) {
    GRAPH_RETURNS.fetch_add(1, Ordering::Relaxed);
    GRAPH_RETVAL.store(ret.retval, Ordering::Relaxed);
}
}

static KPROBE_GRAPH: FgraphOps = FgraphOps::new(graph_entry, graph_return);

ktest! {
fn kretprobe_and_function_graph_both_see_every_return() -> TestResult {
    reset_ret_state();
    GRAPH_RETURNS.store(0, Ordering::Relaxed);
    KPROBE_GRAPH
        .ops()
        .set_filter_ip(addr_of(kprobe_target), false, true)
        .or_fail()?;
    // Both orders: the graph first, then the kretprobe, and the other way round.
    for graph_first in [true, false] {
        let rp = target_kretprobe()?;
        if graph_first {
            KPROBE_GRAPH.register().context("register graph")?;
            register_kretprobe(&rp).context("register kretprobe")?;
        } else {
            register_kretprobe(&rp).context("register kretprobe")?;
            KPROBE_GRAPH.register().context("register graph")?;
        }
        let mut results = [0u64; 3];
        for (i, r) in results.iter_mut().enumerate() {
            *r = kprobe_caller(black_box(i as u64 + 40));
        }
        unregister_kretprobe(&rp).context("unregister kretprobe")?;
        KPROBE_GRAPH.unregister().context("unregister graph")?;
        for (i, r) in results.iter().enumerate() {
            kassert_eq!(*r, expected_target(i as u64 + 40) + 1);
        }
    }
    kassert_eq!(RET_CALLS.load(Ordering::Relaxed), 6);
    kassert_eq!(GRAPH_RETURNS.load(Ordering::Relaxed), 6);
    kassert_eq!(GRAPH_RETVAL.load(Ordering::Relaxed), expected_target(42));
    kassert_eq!(RET_VALUE.load(Ordering::Relaxed), expected_target(42));
    kassert!(RET_SAW_CALLER.load(Ordering::Relaxed));
    kassert!(!RET_SAW_TRAMPOLINE.load(Ordering::Relaxed));
    Ok(())
}
}

/// A function to probe at every offset, with a call that checks its result.
struct EveryOffsetCase {
    func: u64,
    /// Calls the function and says whether it computed what it should.
    call: fn() -> bool,
}

fn call_fib() -> bool {
    fib(black_box(7)) == 13
}

fn call_leaf() -> bool {
    crate::workload::leaf(black_box(12345)) == 12345u64.wrapping_mul(2654435761).rotate_left(7)
}

fn call_nested() -> bool {
    crate::workload::nested_a(black_box(3)) == ((3 + 1) * 2) ^ 0x5a
}

fn call_nested_b() -> bool {
    crate::workload::nested_b(black_box(5)) == (5 * 2) ^ 0x5a
}

fn call_nested_c() -> bool {
    crate::workload::nested_c(black_box(9)) == 9 ^ 0x5a
}

/// A ring buffer of the test's own, for probing the ring buffer's reader-side functions.
static TEST_RB: spin::Once<Option<crate::trace::ring_buffer::RingBuffer>> = spin::Once::new();
static TEST_RB_PAGES: AtomicUsize = AtomicUsize::new(0);

fn test_rb() -> Option<&'static crate::trace::ring_buffer::RingBuffer> {
    TEST_RB
        .call_once(|| crate::trace::ring_buffer::RingBuffer::try_new(1, 8192).ok())
        .as_ref()
}

fn call_rb_nr_pages() -> bool {
    test_rb().is_some_and(|rb| rb.nr_pages(black_box(0)) == TEST_RB_PAGES.load(Ordering::Relaxed))
}

fn call_rb_is_empty() -> bool {
    test_rb().is_some_and(|rb| rb.is_empty(black_box(0)))
}

fn call_schedule() -> bool {
    sched::yield_now();
    true
}

/// The workers' load on CPUs 1-3: the workload functions and the scheduler, results checked.
fn offset_worker(stop: &AtomicBool, errors: &AtomicU64) {
    while !stop.load(Ordering::Acquire) {
        for call in [call_fib, call_leaf, call_nested, call_schedule] {
            if !call() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        arch::processor::cpu_relax();
    }
}

/// The functions probed at every offset: the workloads, `schedule` and two ring-buffer
/// readers.
fn every_offset_cases() -> [EveryOffsetCase; 8] {
    use crate::trace::ring_buffer::RingBuffer;
    let schedule: fn() = sched::schedule;
    let rb_nr_pages: fn(&RingBuffer, usize) -> usize = RingBuffer::nr_pages;
    let rb_is_empty: fn(&RingBuffer, usize) -> bool = RingBuffer::is_empty;
    [
        EveryOffsetCase {
            func: addr_of(fib),
            call: call_fib,
        },
        EveryOffsetCase {
            func: addr_of(crate::workload::leaf),
            call: call_leaf,
        },
        EveryOffsetCase {
            func: addr_of(crate::workload::nested_a),
            call: call_nested,
        },
        EveryOffsetCase {
            func: addr_of(crate::workload::nested_b),
            call: call_nested_b,
        },
        EveryOffsetCase {
            func: addr_of(crate::workload::nested_c),
            call: call_nested_c,
        },
        EveryOffsetCase {
            func: schedule as usize as u64,
            call: call_schedule,
        },
        EveryOffsetCase {
            func: rb_nr_pages as usize as u64,
            call: call_rb_nr_pages,
        },
        EveryOffsetCase {
            func: rb_is_empty as usize as u64,
            call: call_rb_is_empty,
        },
    ]
}

/// Runs `body` while CPUs 1-3 run the workloads and the scheduler, checking their results.
fn with_offset_workers(body: impl FnOnce() -> TestResult) -> TestResult {
    if num_online_cpus() < 4 {
        return Err("needs 4 CPUs".into());
    }
    let rb = test_rb().ok_or("no memory for the test's ring buffer")?;
    TEST_RB_PAGES.store(rb.nr_pages(0), Ordering::Relaxed);
    let stop = Arc::try_new(AtomicBool::new(false)).or_fail()?;
    let errors = Arc::try_new(AtomicU64::new(0)).or_fail()?;
    let mut workers = Vec::new();
    for cpu in 1..4 {
        let (stop, errors) = (stop.clone(), errors.clone());
        workers.push(
            sched::spawn("kprobe-offsets", Some(cpu), false, move || {
                offset_worker(&stop, &errors)
            })
            .context("spawn")?,
        );
    }
    let result = body();
    stop.store(true, Ordering::Release);
    for task in &workers {
        let _ = sched::join(task);
    }
    kassert!(
        errors.load(Ordering::Relaxed) == 0,
        "workers saw wrong results"
    );
    result
}

ktest! {
fn a_probe_at_every_offset_of_the_workloads_works_or_is_refused() -> TestResult {
    let cases = every_offset_cases();
    with_offset_workers(|| {
        let (mut probed, mut refused, mut unhit) = (0, 0, Vec::new());
        let mut refused_words = Vec::new();
        for case in &cases {
            let sym = crate::symbols::lookup(case.func).ok_or("no symbol")?;
            for off in (0..u64::from(sym.size)).step_by(AARCH64_INSN_SIZE) {
                let kp = Arc::try_new(Kprobe::at_addr(case.func + off).with_pre_handler(count_hit))
                    .or_fail()?;
                match register_kprobe(&kp) {
                    Ok(()) => {}
                    Err(Errno::EINVAL) => {
                        refused += 1;
                        refused_words.push(format!(
                            "+{off:#x}={:08x}",
                            read_insn(case.func + off).unwrap_or(0)
                        ));
                        continue;
                    }
                    Err(e) => return Err(format!("{}+{off:#x}: {e:?}", sym.name)),
                }
                let before = SIM_HITS.load(Ordering::Relaxed);
                let ok = (0..3).all(|_| (case.call)());
                let hit = SIM_HITS.load(Ordering::Relaxed) != before;
                unregister_kprobe(&kp).context("unregister")?;
                kassert!(ok, "{}+{off:#x}: wrong result under the probe", sym.name);
                probed += 1;
                if !hit {
                    unhit.push(format!("{}+{off:#x}", sym.name));
                }
            }
        }
        crate::println!(
            "ktest:   {probed} offsets probed, {refused} refused ({refused_words:?}); not \
             reached: {unhit:?}"
        );
        kassert!(probed > 40, "only {probed} offsets could be probed");
        Ok(())
    })
}
}

/// An event's hits and misses in `kprobe_profile`.
fn event_profile(event: &str) -> Result<(u64, u64), String> {
    let mut text = String::new();
    fs::read("/sys/kernel/tracing/kprobe_profile", &mut text).or_fail()?;
    text.lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            if words.next() != Some(event) {
                return None;
            }
            Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
        })
        .ok_or_else(|| format!("{event} is not in kprobe_profile"))
}

/// An event's hits in `kprobe_profile`.
fn event_hits(event: &str) -> Result<u64, String> {
    Ok(event_profile(event)?.0)
}

// The every-offset test through `kprobe_events`: a recording kprobe event (`p 0xADDR` with
// register, stack and memory fetches) at each offset, enabled while three other CPUs run the
// functions; each offset records (its profile counts the hits) or is refused with EINVAL, the
// functions stay right, nothing panics, and the trace holds the records.
ktest! {
fn a_recording_kprobe_event_at_every_offset_works_or_is_refused() -> TestResult {
    let events = "/sys/kernel/tracing/kprobe_events";
    let enable = "/sys/kernel/tracing/events/kprobes/every/enable";
    fs::write(events, b"", WriteMode::Truncate).or_fail()?;
    fs::write("/sys/kernel/tracing/trace", b"", WriteMode::Truncate).or_fail()?;
    let cases = every_offset_cases();
    with_offset_workers(|| {
        let (mut probed, mut refused, mut hit, mut records) = (0, 0, 0, 0);
        for case in &cases {
            let sym = crate::symbols::lookup(case.func).ok_or("no symbol")?;
            for off in (0..u64::from(sym.size)).step_by(AARCH64_INSN_SIZE) {
                let line = format!(
                    "p:every {:#x} a=%x0 b=%x1 s=$stack1 lr=%x30:symbol m=+0(%sp):x32",
                    case.func + off
                );
                match fs::write(events, line.as_bytes(), WriteMode::Append) {
                    Ok(()) => {}
                    Err(Errno::EINVAL) => {
                        refused += 1;
                        continue;
                    }
                    Err(e) => return Err(format!("{}+{off:#x}: {e:?}", sym.name)),
                }
                fs::write(enable, b"1", WriteMode::Truncate).context("enable")?;
                let ok = (0..3).all(|_| (case.call)());
                fs::write(enable, b"0", WriteMode::Truncate).context("disable")?;
                let hits = event_hits("every")?;
                if hits > 0 && records == 0 {
                    // Read while the event exists: its records print through it.
                    let mut trace = String::new();
                    fs::read("/sys/kernel/tracing/trace", &mut trace).or_fail()?;
                    records = trace
                        .lines()
                        .filter(|l| l.contains(" every: (") && l.contains(" a=0x"))
                        .count();
                }
                fs::write(events, b"-:every", WriteMode::Append).context("remove")?;
                kassert!(ok, "{}+{off:#x}: wrong result under the event", sym.name);
                probed += 1;
                hit += usize::from(hits > 0);
            }
        }
        crate::println!(
            "ktest:   {probed} event offsets probed ({hit} hit), {refused} refused; \
             {records} records of the first hit offset in the trace"
        );
        kassert!(probed > 40, "only {probed} offsets could be probed");
        kassert!(hit > 40, "only {hit} offsets were hit");
        kassert!(records > 0, "nothing recorded");
        Ok(())
    })?;
    fs::write("/sys/kernel/tracing/trace", b"", WriteMode::Truncate).or_fail()?;
    Ok(())
}
}

// A function without an ftrace site (plain assembly in ordinary text): a probe at its SYM+0
// is a BRK, and a kretprobe there hooks the return from the BRK handler's frame.
core::arch::global_asm!(
    ".section .text.ktest_kprobe_asm, \"ax\"",
    ".balign 8",
    ".global ktest_kprobe_asm_target",
    ".type ktest_kprobe_asm_target, %function",
    "ktest_kprobe_asm_target:",
    "    add x8, x0, #1",
    "    lsl x0, x8, #1",
    "    ret",
    ".size ktest_kprobe_asm_target, . - ktest_kprobe_asm_target",
    ".text",
);

unsafe extern "C" {
    fn ktest_kprobe_asm_target(x: u64) -> u64;
}

fn asm_target(x: u64) -> u64 {
    // SAFETY: a leaf that only computes (x + 1) * 2 in x0 and x8.
    unsafe { ktest_kprobe_asm_target(black_box(x)) }
}

ktest! {
fn a_kretprobe_on_a_function_without_ftrace_site_goes_through_a_brk() -> TestResult {
    take_log();
    reset_ret_state();
    let func = ktest_kprobe_asm_target as unsafe extern "C" fn(u64) -> u64 as usize as u64;
    kassert!(crate::trace::ftrace::ftrace_location(func).is_none());
    let kp = probe_at(func)?;
    register_kprobe(&kp).context("register kprobe")?;
    kassert!(!kp.is_ftrace());
    kassert_eq!(read_insn(func), Ok(BRK64_OPCODE_KPROBES));
    let got = asm_target(20);
    unregister_kprobe(&kp).context("unregister kprobe")?;
    kassert_eq!(got, 42);
    kassert_eq!(take_log(), [(PRE_A, 20), (PRE_A, 0), (POST_A, 4)]);
    let rp = Arc::try_new(
        Kretprobe::at_addr(func)
            .or_fail()?
            .with_entry_handler(entry_save_arg)
            .with_handler(return_record)
            .with_data_size(8),
    )
    .or_fail()?;
    register_kretprobe(&rp).context("register kretprobe")?;
    kassert!(!rp.kprobe().is_ftrace());
    let got = asm_target(6);
    unregister_kretprobe(&rp).context("unregister kretprobe")?;
    kassert_eq!(got, 14);
    kassert_eq!(RET_CALLS.load(Ordering::Relaxed), 1);
    kassert_eq!(RET_VALUE.load(Ordering::Relaxed), 14);
    kassert_eq!(RET_ENTRY_ARG.load(Ordering::Relaxed), 6);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

ktest! {
fn kretprobes_register_disabled_and_follow_enable_and_disable() -> TestResult {
    use crate::kprobes::{KprobeTarget, kprobe_on_func_entry};
    let at = |name: &str, offset| KprobeTarget::Symbol {
        name: name.into(),
        offset,
    };
    kassert_eq!(kprobe_on_func_entry(&at("kernel::workload::fib", 0)), Ok(()));
    kassert_eq!(kprobe_on_func_entry(&at("kernel::workload::fib", 8)), Err(Errno::EINVAL));
    kassert_eq!(kprobe_on_func_entry(&at("no::such", 0)), Err(Errno::ENOENT));
    reset_ret_state();
    let rp = Arc::try_new(
        Kretprobe::at_addr(addr_of(kprobe_target))
            .or_fail()?
            .with_handler(return_record)
            .with_data_size(8)
            .disabled(),
    )
    .or_fail()?;
    register_kretprobe(&rp).context("register")?;
    let mut calls = [0u64; 3];
    kprobe_target(black_box(1));
    calls[0] = RET_CALLS.load(Ordering::Relaxed);
    enable_kretprobe(&rp).context("enable")?;
    kprobe_target(black_box(2));
    calls[1] = RET_CALLS.load(Ordering::Relaxed);
    disable_kretprobe(&rp).context("disable")?;
    kprobe_target(black_box(3));
    calls[2] = RET_CALLS.load(Ordering::Relaxed);
    unregister_kretprobe(&rp).context("unregister")?;
    kassert_eq!(calls, [0, 1, 1]);
    kassert_eq!(RET_VALUE.load(Ordering::Relaxed), expected_target(2));
    kassert_eq!(unregister_kretprobe(&rp), Err(Errno::EINVAL));
    Ok(())
}
}

/// Counts its hits in its data.
fn count_own_hit(kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    if let Some(hits) = kp.data::<AtomicU64>() {
        hits.fetch_add(1, Ordering::Relaxed);
    }
    false
}

// The handlers' site lookup (a lower bound over the sorted table) finds every site of a
// table of several: ftrace and BRK probes on three functions, each hit exactly once per call.
ktest! {
fn every_site_of_a_table_of_several_is_found() -> TestResult {
    let funcs: [Target; 3] = [kprobe_target, kprobe_target2, kprobe_caller];
    let mut probes = Vec::new();
    for f in funcs {
        for off in [0, 8] {
            let kp = Kprobe::at_addr(addr_of(f) + off)
                .with_pre_handler(count_own_hit)
                .with_data(AtomicU64::new(0))
                .or_fail()?;
            let kp = Arc::try_new(kp).or_fail()?;
            register_kprobe(&kp).context("register")?;
            probes.push(kp);
        }
    }
    let ok = kprobe_target(black_box(3)) == expected_target(3)
        && kprobe_target2(black_box(3)) == expected_target2(3);
    for kp in &probes {
        unregister_kprobe(kp).context("unregister")?;
    }
    let hits: Vec<u64> = probes
        .iter()
        .map(|kp| kp.data::<AtomicU64>().map_or(0, |h| h.load(Ordering::Relaxed)))
        .collect();
    kassert!(ok, "a probed function computed a wrong result");
    // kprobe_caller is not called: its two probes see nothing.
    kassert_eq!(hits, [1, 1, 1, 1, 0, 0]);
    Ok(())
}
}

// The kprobe core's fast path for a kretprobe alone on an ftrace site without an entry
// handler (`KprobeSite::kretprobe_fast`): returns hooked and handled, a hit from inside another
// probe's handler missed, a second probe on the address served with it by the generic path
// (and the fast path back once it is gone), disable and enable followed, every instance back.

static FAST_RETURNS: AtomicU64 = AtomicU64::new(0);
static FAST_RETVAL: AtomicU64 = AtomicU64::new(0);
static FAST_ENTRIES: AtomicU64 = AtomicU64::new(0);

fn count_return(_ri: &mut KretprobeInstance<'_>, regs: &TrapFrame) {
    FAST_RETURNS.fetch_add(1, Ordering::Relaxed);
    FAST_RETVAL.store(regs.regs[0], Ordering::Relaxed);
}

fn count_entry(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    FAST_ENTRIES.fetch_add(1, Ordering::Relaxed);
    false
}

/// A pre handler that calls [`kprobe_target`].
fn outer_calls_target(_kp: &Kprobe, _regs: &mut TrapFrame) -> bool {
    INNER_RESULT.store(kprobe_target(black_box(4)), Ordering::Relaxed);
    false
}

/// Calls [`kprobe_target2`] with a BRK probe in it whose handler calls [`kprobe_target`]: a
/// hit of `kprobe_target` inside a probe handler. Whether both computed right.
fn hit_target_inside_a_handler() -> Result<bool, String> {
    INNER_RESULT.store(0, Ordering::Relaxed);
    let outer = Arc::try_new(
        Kprobe::at_addr(addr_of(kprobe_target2) + 8).with_pre_handler(outer_calls_target),
    )
    .or_fail()?;
    register_kprobe(&outer).context("register outer")?;
    let got = kprobe_target2(black_box(1));
    unregister_kprobe(&outer).context("unregister outer")?;
    Ok(got == expected_target2(1) && INNER_RESULT.load(Ordering::Relaxed) == expected_target(4))
}

ktest! {
fn a_lone_kretprobe_on_an_ftrace_site_takes_the_fast_path_until_shared() -> TestResult {
    FAST_RETURNS.store(0, Ordering::Relaxed);
    FAST_ENTRIES.store(0, Ordering::Relaxed);
    let rp = Arc::try_new(
        Kretprobe::at_addr(addr_of(kprobe_target))
            .or_fail()?
            .with_handler(count_return),
    )
    .or_fail()?;
    register_kretprobe(&rp).context("register")?;
    let fast_alone = kretprobe_is_fast(&rp);
    let mut ok = (0..3u64).all(|v| kprobe_target(black_box(v)) == expected_target(v));
    let alone = FAST_RETURNS.load(Ordering::Relaxed);
    ok &= hit_target_inside_a_handler()?;
    let after_inner = (FAST_RETURNS.load(Ordering::Relaxed), rp.kprobe().nmissed());
    let kp = Arc::try_new(Kprobe::at_addr(addr_of(kprobe_target)).with_pre_handler(count_entry))
        .or_fail()?;
    register_kprobe(&kp).context("register the second probe")?;
    let fast_shared = kretprobe_is_fast(&rp);
    ok &= kprobe_target(black_box(7)) == expected_target(7);
    let shared = (FAST_RETURNS.load(Ordering::Relaxed), FAST_ENTRIES.load(Ordering::Relaxed));
    unregister_kprobe(&kp).context("unregister the second probe")?;
    let fast_again = kretprobe_is_fast(&rp);
    ok &= kprobe_target(black_box(8)) == expected_target(8);
    disable_kretprobe(&rp).context("disable")?;
    ok &= kprobe_target(black_box(9)) == expected_target(9);
    let disabled = FAST_RETURNS.load(Ordering::Relaxed);
    enable_kretprobe(&rp).context("enable")?;
    ok &= kprobe_target(black_box(10)) == expected_target(10);
    let enabled = FAST_RETURNS.load(Ordering::Relaxed);
    let free = kretprobe_free_instances(&rp);
    unregister_kretprobe(&rp).context("unregister")?;
    kassert!(ok, "a probed function computed a wrong result");
    kassert_eq!((fast_alone, fast_shared, fast_again), (true, false, true));
    kassert_eq!(alone, 3);
    kassert_eq!(after_inner, (3, 1));
    kassert_eq!(shared, (4, 1));
    kassert_eq!((disabled, enabled), (5, 6));
    kassert_eq!(FAST_RETVAL.load(Ordering::Relaxed), expected_target(10));
    kassert_eq!(free, Some(rp.maxactive()));
    kassert_eq!(rp.nmissed(), 0);
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

// The same through `kprobe_events`: a kretprobe event on the fast path counts its hits and
// its miss (a hit inside a probe handler) in `kprobe_profile`, and keeps counting beside a
// kprobe event on the same address.
ktest! {
fn a_kretprobe_event_on_the_fast_path_keeps_its_kprobe_profile() -> TestResult {
    let events = "/sys/kernel/tracing/kprobe_events";
    let target = "kernel::ktests::kprobes::kprobe_target";
    let enable = |event: &str, on: &[u8]| {
        fs::write(
            &format!("/sys/kernel/tracing/events/kprobes/{event}/enable"),
            on,
            WriteMode::Truncate,
        )
    };
    fs::write(events, format!("r:ktfast {target} ret=$retval").as_bytes(), WriteMode::Append)
        .context("add the kretprobe event")?;
    enable("ktfast", b"1").context("enable")?;
    let mut ok = kprobe_target(black_box(2)) == expected_target(2);
    ok &= hit_target_inside_a_handler()?;
    ok &= kprobe_target(black_box(3)) == expected_target(3);
    let alone = event_profile("ktfast");
    fs::write(events, format!("p:ktfast_entry {target}").as_bytes(), WriteMode::Append)
        .context("add the kprobe event")?;
    enable("ktfast_entry", b"1").context("enable the kprobe event")?;
    ok &= kprobe_target(black_box(5)) == expected_target(5);
    let shared = (event_profile("ktfast"), event_profile("ktfast_entry"));
    let disabled = (enable("ktfast", b"0"), enable("ktfast_entry", b"0"));
    let removed = fs::write(events, b"", WriteMode::Truncate);
    fs::write("/sys/kernel/tracing/trace", b"", WriteMode::Truncate).or_fail()?;
    kassert!(ok, "a probed function computed a wrong result");
    kassert_eq!(disabled, (Ok(()), Ok(())));
    kassert_eq!(removed, Ok(()));
    kassert_eq!(alone, Ok((2, 1)));
    kassert_eq!(shared, (Ok((3, 1)), Ok((1, 0))));
    Ok(())
}
}

// A task that ends inside a function whose return is hooked (Linux's `rethook_flush_task()`).

/// Set by [`exit_inside_target`] once it runs: the shadow-stack depth it saw, plus one.
static EXIT_INSIDE_DEPTH: AtomicUsize = AtomicUsize::new(0);
/// Lets [`exit_inside_target`] end its task.
static EXIT_INSIDE_GO: AtomicBool = AtomicBool::new(false);
static EXIT_INSIDE_RETURNS: AtomicU64 = AtomicU64::new(0);

/// Ends its task from inside itself, once [`EXIT_INSIDE_GO`] is set: it never returns.
#[inline(never)]
fn exit_inside_target(value: u64) -> u64 {
    let depth = crate::trace::fgraph::current_depth_and_overrun().0;
    EXIT_INSIDE_DEPTH.store(depth + 1, Ordering::Release);
    while !EXIT_INSIDE_GO.load(Ordering::Acquire) {
        sched::yield_now();
    }
    if black_box(value) != 0 {
        sched::do_exit();
    }
    value
}

fn exit_inside_return(_ri: &mut KretprobeInstance<'_>, _regs: &TrapFrame) {
    EXIT_INSIDE_RETURNS.fetch_add(1, Ordering::Relaxed);
}

/// Runs [`exit_inside_target`] in a task on another CPU; `inside` runs while the task is in
/// it (its return hooked); returns once the task is freed.
fn run_task_exiting_inside(inside: &mut dyn FnMut(usize) -> TestResult) -> TestResult {
    EXIT_INSIDE_DEPTH.store(0, Ordering::Relaxed);
    EXIT_INSIDE_GO.store(false, Ordering::Relaxed);
    let cpu = if num_online_cpus() > 1 { 1 } else { 0 };
    let task = sched::spawn("exit-inside", Some(cpu), false, || {
        black_box(exit_inside_target(black_box(1)));
    })
    .map_err(|e| format!("spawn: {e:?}"))?;
    let mut waited = 0;
    while EXIT_INSIDE_DEPTH.load(Ordering::Acquire) == 0 && waited < 5000 {
        let _ = sched::msleep(1);
        waited += 1;
    }
    let depth = EXIT_INSIDE_DEPTH.load(Ordering::Acquire);
    let seen = inside(depth);
    EXIT_INSIDE_GO.store(true, Ordering::Release);
    sched::join(&task).map_err(|_| "join interrupted")?;
    // The task is freed when its last reference goes: ours, and the run queue's, dropped at
    // its CPU's next switch.
    let weak = Arc::downgrade(&task);
    drop(task);
    let mut waited = 0;
    while weak.strong_count() != 0 && waited < 5000 {
        let _ = sched::msleep(1);
        waited += 1;
    }
    kassert!(weak.strong_count() == 0, "the exited task was not freed");
    seen
}

ktest! {
fn a_task_ending_inside_a_kretprobed_function_gives_its_instance_back() -> TestResult {
    EXIT_INSIDE_RETURNS.store(0, Ordering::Relaxed);
    let rp = Arc::try_new(
        Kretprobe::at_symbol("kernel::ktests::kprobes::exit_inside_target", 0)
            .or_fail()?
            .with_handler(exit_inside_return)
            .with_maxactive(4),
    )
    .map_err(|_| "out of memory")?;
    register_kretprobe(&rp).context("register")?;
    let free0 = kretprobe_free_instances(&rp).ok_or("no pool")?;
    kassert_eq!(free0, 4);
    // Registered all along: the task's flush gives the instance back to the live pool.
    let seen = run_task_exiting_inside(&mut |depth| {
        kassert!(depth >= 2, "the return was not hooked (depth {})", depth.wrapping_sub(1));
        kassert_eq!(kretprobe_free_instances(&rp), Some(free0 - 1));
        Ok(())
    });
    if seen.is_err() {
        let _ = unregister_kretprobe(&rp);
        return seen;
    }
    kassert_eq!(kretprobe_free_instances(&rp), Some(free0));
    kassert_eq!(EXIT_INSIDE_RETURNS.load(Ordering::Relaxed), 0);
    kassert_eq!(rp.nmissed(), 0);
    // Unregistered while the task is inside: the retired pool waits in the graveyard until
    // the task is freed, then goes.
    run_task_exiting_inside(&mut |depth| {
        unregister_kretprobe(&rp).context("unregister")?;
        kassert!(depth >= 2, "the return was not hooked (depth {})", depth.wrapping_sub(1));
        kassert_eq!(kretprobe_pools_pending(), 1);
        Ok(())
    })?;
    kassert_eq!(kretprobe_pools_pending(), 0);
    kassert_eq!(EXIT_INSIDE_RETURNS.load(Ordering::Relaxed), 0);
    // The current task's shadow stack is untouched.
    kassert_eq!(crate::trace::fgraph::current_depth_and_overrun().0, 0);
    Ok(())
}
}

fn exit_inside_fprobe_exit(
    _fp: &crate::trace::fprobe::Fprobe,
    _entry_ip: u64,
    _ret_ip: u64,
    _regs: &FgraphRetRegs,
    _data: &mut [u8],
) {
    EXIT_INSIDE_RETURNS.fetch_add(1, Ordering::Relaxed);
}

ktest! {
fn a_task_ending_inside_an_fprobed_function_gives_its_instance_back() -> TestResult {
    use crate::trace::fprobe::{
        Fprobe, fprobe_free_instances, pools_pending, register_fprobe_syms, unregister_fprobe,
    };
    EXIT_INSIDE_RETURNS.store(0, Ordering::Relaxed);
    let fp = Arc::try_new(
        Fprobe::new()
            .with_exit_handler(exit_inside_fprobe_exit)
            .with_entry_data_size(8)
            .with_maxactive(3),
    )
    .map_err(|_| "out of memory")?;
    register_fprobe_syms(&fp, &["kernel::ktests::kprobes::exit_inside_target"])
        .context("register")?;
    kassert_eq!(fprobe_free_instances(&fp), Some(3));
    let seen = run_task_exiting_inside(&mut |depth| {
        kassert!(depth >= 2, "the exit was not hooked (depth {})", depth.wrapping_sub(1));
        kassert_eq!(fprobe_free_instances(&fp), Some(2));
        Ok(())
    });
    if seen.is_err() {
        let _ = unregister_fprobe(&fp);
        return seen;
    }
    kassert_eq!(fprobe_free_instances(&fp), Some(3));
    run_task_exiting_inside(&mut |_| {
        unregister_fprobe(&fp).context("unregister")?;
        kassert_eq!(pools_pending(), 1);
        Ok(())
    })?;
    kassert_eq!(pools_pending(), 0);
    kassert_eq!(EXIT_INSIDE_RETURNS.load(Ordering::Relaxed), 0);
    kassert_eq!(fp.nmissed(), 0);
    Ok(())
}
}
