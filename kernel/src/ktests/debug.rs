//! BRK and software-step routing: a `brk #imm` reaches the hook registered for that immediate
//! and resumes at the next instruction; single-stepping a kernel instruction sequence takes one
//! step exception per instruction.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arch::debug_monitors::{
    BreakHook, DbgHookResult, StepHook, kernel_disable_single_step, kernel_enable_single_step,
    register_break_hook, register_step_hook, unregister_break_hook, unregister_step_hook,
};
use arch::esr::Esr;
use arch::exception::TrapFrame;
use arch::insn::{AARCH64_INSN_SIZE, KPROBES_BRK_IMM};

use crate::{kassert_eq, ktest};

// `brk #0x004` followed by an instruction that proves execution resumed right after it.
core::arch::global_asm!(
    ".section .text.ktest_brk, \"ax\"",
    ".balign 8",
    ".global ktest_brk_kprobe_imm",
    ".type ktest_brk_kprobe_imm, %function",
    "ktest_brk_kprobe_imm:",
    "    mov x0, #0",
    ".global ktest_brk_kprobe_imm_insn",
    "ktest_brk_kprobe_imm_insn:",
    "    brk #0x004",
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
    imm: KPROBES_BRK_IMM,
    mask: 0,
    handler: kprobe_imm_handler,
};

ktest! {
fn brk_reaches_hook_for_its_immediate_and_resumes() -> TestResult {
    register_break_hook(&KPROBE_IMM_HOOK).map_err(|_| "hook table full")?;
    // SAFETY: the routine executes `brk #4`, which the hook just registered skips.
    let result = unsafe { ktest_brk_kprobe_imm() };
    unregister_break_hook(&KPROBE_IMM_HOOK);
    kassert_eq!(BRK_HITS.load(Ordering::Relaxed), 1);
    kassert_eq!(BRK_IMM.load(Ordering::Relaxed), u64::from(KPROBES_BRK_IMM));
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
