//! BRK and software-step routing: a `brk #imm` reaches the hook registered for that immediate
//! and resumes at the next instruction; single-stepping a kernel instruction sequence takes one
//! step exception per instruction, with the stepped context's interrupts masked so no other
//! task ever sees the CPU's step state; and the DAIF masks of process context, new tasks and
//! the exception return are Linux's.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use arch::debug_monitors::{
    BreakHook, DbgHookResult, StepHook, kernel_disable_single_step, kernel_enable_single_step,
    register_break_hook, register_step_hook, unregister_break_hook, unregister_step_hook,
};
use arch::esr::Esr;
use arch::exception::{PSR_I_BIT, TrapFrame};
use arch::insn::AARCH64_INSN_SIZE;

use crate::{kassert, kassert_eq, ktest};

// `brk #0x0f2` followed by an instruction that proves execution resumed right after it. (Not
// the kprobe immediate 0x004: the kprobe core claims that one from boot.)
core::arch::global_asm!(
    ".section .text.ktest_brk, \"ax\"",
    ".balign 8",
    ".global ktest_brk_kprobe_imm",
    ".type ktest_brk_kprobe_imm, %function",
    "ktest_brk_kprobe_imm:",
    "    mov x0, #0",
    ".global ktest_brk_kprobe_imm_insn",
    "ktest_brk_kprobe_imm_insn:",
    "    brk #0x0f2",
    "    add x0, x0, #42",
    "    ret",
    ".size ktest_brk_kprobe_imm, . - ktest_brk_kprobe_imm",
    // A BRK with a test-only immediate starts stepping; four `add`s are then stepped.
    ".global ktest_step_sequence",
    ".type ktest_step_sequence, %function",
    "ktest_step_sequence:",
    "    mov x0, #0",
    "    brk #0x0f0",
    ".global ktest_step_first",
    "ktest_step_first:",
    "    add x0, x0, #1",
    "    add x0, x0, #1",
    "    add x0, x0, #1",
    "    add x0, x0, #1",
    ".global ktest_step_end",
    "ktest_step_end:",
    "    ret",
    ".size ktest_step_sequence, . - ktest_step_sequence",
);

unsafe extern "C" {
    fn ktest_brk_kprobe_imm() -> u64;
    static ktest_brk_kprobe_imm_insn: u32;
    fn ktest_step_sequence() -> u64;
    static ktest_step_first: u32;
    static ktest_step_end: u32;
}

/// An immediate no subsystem uses, reserved for this test.
const KTEST_STEP_BRK_IMM: u16 = 0x0f0;
/// Another one, for the routing test (the asm above uses it).
const KTEST_BRK_IMM: u16 = 0x0f2;

static BRK_HITS: AtomicUsize = AtomicUsize::new(0);
static BRK_IMM: AtomicU64 = AtomicU64::new(u64::MAX);
static BRK_PC: AtomicU64 = AtomicU64::new(0);

arch::noinstr! {
fn kprobe_imm_handler(frame: &mut TrapFrame, esr: Esr) -> DbgHookResult {
    BRK_HITS.fetch_add(1, Ordering::Relaxed);
    BRK_IMM.store(
        esr.brk_comment().map_or(u64::MAX, u64::from),
        Ordering::Relaxed,
    );
    BRK_PC.store(frame.pc, Ordering::Relaxed);
    frame.pc += AARCH64_INSN_SIZE as u64;
    DbgHookResult::Handled
}
}

static KPROBE_IMM_HOOK: BreakHook = BreakHook {
    imm: KTEST_BRK_IMM,
    mask: 0,
    handler: kprobe_imm_handler,
};

ktest! {
fn brk_reaches_hook_for_its_immediate_and_resumes() -> TestResult {
    register_break_hook(&KPROBE_IMM_HOOK).map_err(|_| "hook table full")?;
    // SAFETY: the routine executes `brk #0x0f2`, which the hook just registered skips.
    let result = unsafe { ktest_brk_kprobe_imm() };
    unregister_break_hook(&KPROBE_IMM_HOOK);
    kassert_eq!(BRK_HITS.load(Ordering::Relaxed), 1);
    kassert_eq!(BRK_IMM.load(Ordering::Relaxed), u64::from(KTEST_BRK_IMM));
    kassert_eq!(BRK_PC.load(Ordering::Relaxed), core::ptr::addr_of!(ktest_brk_kprobe_imm_insn) as u64);
    kassert_eq!(result, 42);
    Ok(())
}
}

const MAX_STEPS: usize = 16;
static STEP_PCS: [AtomicU64; MAX_STEPS] = [const { AtomicU64::new(0) }; MAX_STEPS];
static STEPS: AtomicUsize = AtomicUsize::new(0);

arch::noinstr! {
fn step_start_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    frame.pc += AARCH64_INSN_SIZE as u64;
    kernel_enable_single_step(frame);
    DbgHookResult::Handled
}
}

arch::noinstr! {
/// Records where each step stopped; re-arms until the sequence's `ret` is reached.
fn step_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    let n = STEPS.fetch_add(1, Ordering::Relaxed);
    if let Some(slot) = STEP_PCS.get(n) {
        slot.store(frame.pc, Ordering::Relaxed);
    }
    if frame.pc == core::ptr::addr_of!(ktest_step_end) as u64 || n + 1 >= MAX_STEPS {
        kernel_disable_single_step(frame);
    } else {
        kernel_enable_single_step(frame);
    }
    DbgHookResult::Handled
}
}

static STEP_START_HOOK: BreakHook = BreakHook {
    imm: KTEST_STEP_BRK_IMM,
    mask: 0,
    handler: step_start_handler,
};
static STEP_HOOK: StepHook = StepHook {
    handler: step_handler,
};

ktest! {
fn single_step_reports_one_exception_per_instruction() -> TestResult {
    register_break_hook(&STEP_START_HOOK).map_err(|_| "hook table full")?;
    register_step_hook(&STEP_HOOK).map_err(|_| "step hook table full")?;
    // SAFETY: the routine executes `brk #0xf0`, whose hook steps the four `add`s that follow.
    let result = unsafe { ktest_step_sequence() };
    unregister_step_hook(&STEP_HOOK);
    unregister_break_hook(&STEP_START_HOOK);

    kassert_eq!(result, 4);
    kassert_eq!(STEPS.load(Ordering::Relaxed), 4);
    let first = core::ptr::addr_of!(ktest_step_first) as u64;
    for (i, slot) in STEP_PCS.iter().take(4).enumerate() {
        // Each step stops before the next instruction: after add #1 at `first`, pc = first + 4...
        kassert_eq!(slot.load(Ordering::Relaxed), first + 4 * (i as u64 + 1));
    }
    kassert_eq!(first + 16, core::ptr::addr_of!(ktest_step_end) as u64);
    Ok(())
}
}

// A counted loop entered through `brk #0xf1`, whose hook steps every instruction of it:
// `x0` iterations of `subs; b.ne`, two steps each.
core::arch::global_asm!(
    ".section .text.ktest_step_loop, \"ax\"",
    ".balign 8",
    ".global ktest_step_loop",
    ".type ktest_step_loop, %function",
    "ktest_step_loop:",
    "    brk #0x0f1",
    ".global ktest_step_loop_body",
    "ktest_step_loop_body:",
    "1:  subs x0, x0, #1",
    "    b.ne 1b",
    ".global ktest_step_loop_end",
    "ktest_step_loop_end:",
    "    ret",
    ".size ktest_step_loop, . - ktest_step_loop",
);

unsafe extern "C" {
    fn ktest_step_loop(iterations: u64);
    static ktest_step_loop_body: u32;
    static ktest_step_loop_end: u32;
}

const KTEST_STEP_LOOP_BRK_IMM: u16 = 0x0f1;
/// Iterations of the stepped loop: long enough for dozens of ticks to fall due meanwhile.
const STEP_LOOP_ITERATIONS: u64 = 50_000;

static LOOP_STEPS: AtomicUsize = AtomicUsize::new(0);
static FOREIGN_STEPS: AtomicUsize = AtomicUsize::new(0);
static STEPPED_WITH_IRQS_UNMASKED: AtomicUsize = AtomicUsize::new(0);

arch::noinstr! {
fn step_loop_start_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    frame.pc += AARCH64_INSN_SIZE as u64;
    kernel_enable_single_step(frame);
    DbgHookResult::Handled
}
}

arch::noinstr! {
/// Steps the loop to its `ret`. A step exception anywhere else belongs to some other context
/// that inherited this CPU's step state: counted, and stepping is turned off so it cannot
/// repeat forever.
fn step_loop_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    let body = core::ptr::addr_of!(ktest_step_loop_body) as u64;
    let end = core::ptr::addr_of!(ktest_step_loop_end) as u64;
    if !(body..=end).contains(&frame.pc) {
        FOREIGN_STEPS.fetch_add(1, Ordering::Relaxed);
        kernel_disable_single_step(frame);
        return DbgHookResult::Handled;
    }
    LOOP_STEPS.fetch_add(1, Ordering::Relaxed);
    if frame.pstate & PSR_I_BIT == 0 {
        STEPPED_WITH_IRQS_UNMASKED.fetch_add(1, Ordering::Relaxed);
    }
    if frame.pc == end {
        kernel_disable_single_step(frame);
    } else {
        kernel_enable_single_step(frame);
    }
    DbgHookResult::Handled
}
}

static STEP_LOOP_START_HOOK: BreakHook = BreakHook {
    imm: KTEST_STEP_LOOP_BRK_IMM,
    mask: 0,
    handler: step_loop_start_handler,
};
static STEP_LOOP_HOOK: StepHook = StepHook {
    handler: step_loop_handler,
};

ktest! {
fn a_kernel_step_is_never_taken_by_another_task_on_its_cpu() -> TestResult {
    // A busy task shares this CPU, so every tick that falls due would switch to it: with the
    // step state left armed on the CPU, it would take step exceptions of its own.
    let stop = Arc::new(AtomicBool::new(false));
    let hog_stop = stop.clone();
    let cpu = crate::smp::smp_processor_id();
    let hog = crate::sched::spawn("step-hog", Some(cpu), false, move || {
        while !hog_stop.load(Ordering::Relaxed) {
            core::hint::spin_loop();
        }
    })
    .map_err(|e| alloc::format!("spawn: {e:?}"))?;
    register_break_hook(&STEP_LOOP_START_HOOK).map_err(|_| "hook table full")?;
    register_step_hook(&STEP_LOOP_HOOK).map_err(|_| "step hook table full")?;
    // SAFETY: the routine's `brk #0xf1` is claimed by the hook just registered, which steps
    // the loop that follows; the loop only counts x0 down.
    unsafe { ktest_step_loop(STEP_LOOP_ITERATIONS) };
    let irqs_masked_after = arch::irqflags::irqs_disabled();
    let still_armed = arch::debug_monitors::kernel_single_step_active();
    unregister_step_hook(&STEP_LOOP_HOOK);
    unregister_break_hook(&STEP_LOOP_START_HOOK);
    stop.store(true, Ordering::Relaxed);
    crate::sched::join(&hog).map_err(|_| "join interrupted")?;

    kassert_eq!(FOREIGN_STEPS.load(Ordering::Relaxed), 0);
    // Two instructions per iteration, and the step that lands on `ret`.
    kassert_eq!(LOOP_STEPS.load(Ordering::Relaxed) as u64, 2 * STEP_LOOP_ITERATIONS);
    kassert_eq!(STEPPED_WITH_IRQS_UNMASKED.load(Ordering::Relaxed), 0);
    kassert!(!irqs_masked_after, "the stepped context's interrupts were not given back");
    kassert!(!still_armed, "the CPU still has a kernel step armed");
    Ok(())
}
}

ktest! {
fn process_context_has_debug_exceptions_and_serror_unmasked() -> TestResult {
    use arch::daifflags::{DAIF_MASK, DAIF_PROCCTX, local_daif_save};
    kassert_eq!(local_daif_save() & DAIF_MASK, DAIF_PROCCTX);
    // A task started on an idle CPU is switched in at the exit of the IPI that woke it; it
    // must not keep that exception's masks for its whole life.
    let seen = Arc::new(AtomicU64::new(u64::MAX));
    for cpu in 1..crate::smp::num_online_cpus() {
        let seen_by_task = seen.clone();
        let task = crate::sched::spawn("daif-probe", Some(cpu), false, move || {
            seen_by_task.store(local_daif_save() & DAIF_MASK, Ordering::Relaxed);
        })
        .map_err(|e| alloc::format!("spawn on CPU{cpu}: {e:?}"))?;
        crate::sched::join(&task).map_err(|_| "join interrupted")?;
        kassert_eq!(seen.load(Ordering::Relaxed), DAIF_PROCCTX);
    }
    Ok(())
}
}

unsafe extern "C" {
    /// The first instruction of the exception return path in `asm/vectors.s`.
    static exception_exit_mask: u32;
}

ktest! {
fn the_exception_return_masks_every_exception_before_writing_elr_and_spsr() -> TestResult {
    // msr daifset, #0xf
    const MSR_DAIFSET_ALL: u32 = 0xd503_4fdf;
    // msr elr_el1, xN / msr spsr_el1, xN (Rt masked out)
    const MSR_ELR_EL1: u32 = 0xd518_4020;
    const MSR_SPSR_EL1: u32 = 0xd518_4000;
    const ERET: u32 = 0xd69f_03e0;
    let start = core::ptr::addr_of!(exception_exit_mask);
    // SAFETY: the exit path is mapped kernel text; it is read up to its `eret`.
    let insn = |i: usize| unsafe { start.add(i).read_volatile() };
    kassert_eq!(insn(0), MSR_DAIFSET_ALL);
    let mut writes = 0;
    for i in 1..64 {
        match insn(i) {
            ERET => break,
            x if x & !0x1f == MSR_ELR_EL1 || x & !0x1f == MSR_SPSR_EL1 => writes += 1,
            // msr daifclr, #imm
            x => kassert!(x & !0xf00 != 0xd503_40ff, "DAIF unmasked again at +{}", 4 * i),
        }
    }
    kassert_eq!(writes, 2);
    Ok(())
}
}
