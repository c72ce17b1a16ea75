//! Debug monitors: the BRK-immediate hook table, the software-step hook table, and the debug
//! register setup that makes single-step work at EL1 (Linux: `debug-monitors.c`). A kernel
//! single step is per-CPU state and runs with the stepped context's interrupts masked (see
//! [`kernel_enable_single_step`]).
//!
//! A user task's single step is per-task state instead ([`user_enable_single_step`], the flag
//! in [`crate::hw_breakpoint::TaskDebug`]): its saved SPSR.SS says where the step state machine
//! stands, and MDSCR_EL1.SS is set only while that task runs at EL0. The EL0 entry code
//! ([`crate::uspace::enter_user_debug`]) sets it just before the ERET and clears it at once on
//! any exception back to the kernel, before PSTATE.D is unmasked (Linux: `enable_step_tsk` and
//! `disable_step_tsk`), so the kernel never takes a step exception for a stepped task's
//! syscall or interrupt, and no other task ever runs with it.
//!
//! Hooks are registered at init and then read without locks from exception context: each table
//! is a fixed array of atomic pointers to `'static` hooks. A probe that fires while its own
//! subsystem holds a lock therefore cannot deadlock here. Removal only clears a slot; a removed
//! hook must stay valid memory (`'static`), since a CPU may be calling it at that moment.

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::daifflags::{DAIF_MASK, PSR_D_BIT, PSR_F_BIT, PSR_I_BIT};
use crate::percpu::{NO_KERNEL_STEP, this_arch_cpu};

use aarch64_cpu::registers::{MDSCR_EL1, OSLAR_EL1, ReadWriteable, Writeable};

use crate::esr::Esr;
use crate::exception::{DBG_SPSR_SS, TrapFrame};

/// MDSCR_EL1.SS: software step enabled (Linux: `DBG_MDSCR_SS`).
pub const DBG_MDSCR_SS: u64 = 1 << 0;
/// MDSCR_EL1.MDE: breakpoint and watchpoint exceptions enabled (Linux: `DBG_MDSCR_MDE`).
pub const DBG_MDSCR_MDE: u64 = 1 << 15;

/// What a hook did with the exception (Linux's DBG_HOOK_HANDLED / DBG_HOOK_ERROR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbgHookResult {
    Handled,
    Error,
}

/// Claims `brk #imm` where `(imm & !mask) == self.imm`.
pub struct BreakHook {
    pub imm: u16,
    pub mask: u16,
    pub handler: fn(&mut TrapFrame, Esr) -> DbgHookResult,
}

/// Offered every software-step exception until one returns `Handled`.
pub struct StepHook {
    pub handler: fn(&mut TrapFrame, Esr) -> DbgHookResult,
}

const MAX_HOOKS: usize = 16;

/// A fixed, lock-free table of hook pointers.
pub struct HookTable<T: 'static> {
    slots: [AtomicPtr<T>; MAX_HOOKS],
}

/// The table is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFull;

impl<T> HookTable<T> {
    const fn new() -> Self {
        Self {
            slots: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_HOOKS],
        }
    }

    fn register(&self, hook: &'static T) -> Result<(), TableFull> {
        let hook = hook as *const T as *mut T;
        for slot in &self.slots {
            if slot
                .compare_exchange(ptr::null_mut(), hook, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(TableFull)
    }

    fn unregister(&self, hook: &'static T) {
        let hook = hook as *const T as *mut T;
        for slot in &self.slots {
            let _ =
                slot.compare_exchange(hook, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'static T> + '_ {
        self.slots.iter().filter_map(|slot| {
            let hook = slot.load(Ordering::Acquire);
            // SAFETY: non-null slots only ever hold pointers made from `&'static T`.
            (!hook.is_null()).then(|| unsafe { &*hook })
        })
    }
}

static BREAK_HOOKS: HookTable<BreakHook> = HookTable::new();
static STEP_HOOKS: HookTable<StepHook> = HookTable::new();

pub fn register_break_hook(hook: &'static BreakHook) -> Result<(), TableFull> {
    crate::patching::assert_noinstr_handler(hook.handler as usize, "debug hook handler");
    BREAK_HOOKS.register(hook)
}

pub fn unregister_break_hook(hook: &'static BreakHook) {
    BREAK_HOOKS.unregister(hook)
}

pub fn register_step_hook(hook: &'static StepHook) -> Result<(), TableFull> {
    crate::patching::assert_noinstr_handler(hook.handler as usize, "debug hook handler");
    STEP_HOOKS.register(hook)
}

pub fn unregister_step_hook(hook: &'static StepHook) {
    STEP_HOOKS.unregister(hook)
}

crate::noinstr! {
/// Routes a BRK64 exception to the hook that claims its immediate.
pub fn brk_handler(frame: &mut TrapFrame, esr: Esr) -> DbgHookResult {
    let Some(imm) = esr.brk_comment() else { return DbgHookResult::Error };
    BREAK_HOOKS
        .iter()
        .find(|hook| imm & !hook.mask == hook.imm)
        .map_or(DbgHookResult::Error, |hook| (hook.handler)(frame, esr))
}
}

crate::noinstr! {
/// Offers a software-step exception to each step hook in turn.
pub fn single_step_handler(frame: &mut TrapFrame, esr: Esr) -> DbgHookResult {
    for hook in STEP_HOOKS.iter() {
        if (hook.handler)(frame, esr) == DbgHookResult::Handled {
            return DbgHookResult::Handled;
        }
    }
    DbgHookResult::Error
}
}

/// Enables self-hosted debug at EL1: clears the OS lock and sets MDSCR_EL1.KDE so debug
/// exceptions can be taken from EL1. SS and MDE start clear whatever the reset left there:
/// the EL0 entry sets them per task, and the breakpoint registers hold nothing meaningful
/// until a task's slots are written. The caller then unmasks PSTATE.D (with
/// [`crate::daifflags::local_daif_restore`]).
pub fn debug_monitors_init() {
    OSLAR_EL1.write(OSLAR_EL1::OSLK::Unlocked);
    MDSCR_EL1.modify(
        MDSCR_EL1::KDE::AllDebugExceptionsEnabled
            + MDSCR_EL1::MDE::CLEAR
            + MDSCR_EL1::SS::SoftwareStepDisabled,
    );
    // SAFETY: an ISB only, so the new MDSCR_EL1 and OS lock take effect before D is unmasked.
    unsafe { core::arch::asm!("isb", options(nostack, preserves_flags)) };
}

crate::noinstr! {
/// Arms software step for the context `frame` returns to: the first instruction executed
/// after the ERET completes, then a software-step exception is taken (Linux:
/// `kernel_enable_single_step`, with kprobes' `kprobes_save_local_irqflag`).
///
/// Step state belongs to this CPU (MDSCR_EL1.SS), not to the stepped context, so the stepped
/// context must not be switched away from or interrupted while it is armed: the first call
/// saves its DAIF bits on this CPU and masks IRQ and FIQ in its SPSR (D is cleared, or the step
/// would never be taken); [`kernel_disable_single_step`] puts them back. Calling this again
/// from the step handler to step the next instruction keeps the first saved value. Stepping an
/// instruction that itself writes DAIF is not supported (kprobes refuses those).
pub fn kernel_enable_single_step(frame: &mut TrapFrame) {
    let saved = &this_arch_cpu().kernel_step_daif;
    if saved.load(Ordering::Relaxed) == NO_KERNEL_STEP {
        saved.store(frame.pstate & DAIF_MASK, Ordering::Relaxed);
    }
    frame.pstate |= DBG_SPSR_SS | PSR_I_BIT | PSR_F_BIT;
    frame.pstate &= !PSR_D_BIT;
    MDSCR_EL1.modify(MDSCR_EL1::SS::SoftwareStepEnabled);
}
}

crate::noinstr! {
/// Stops software step (Linux: `kernel_disable_single_step`) and gives the stepped context
/// back the DAIF bits it had when stepping began.
pub fn kernel_disable_single_step(frame: &mut TrapFrame) {
    frame.pstate &= !DBG_SPSR_SS;
    MDSCR_EL1.modify(MDSCR_EL1::SS::SoftwareStepDisabled);
    let saved = this_arch_cpu().kernel_step_daif.swap(NO_KERNEL_STEP, Ordering::Relaxed);
    if saved != NO_KERNEL_STEP {
        frame.pstate = (frame.pstate & !DAIF_MASK) | saved;
    }
}
}

crate::noinstr! {
/// Whether a kernel single step is armed on this CPU (for tests and crash reports).
pub fn kernel_single_step_active() -> bool {
    this_arch_cpu().kernel_step_daif.load(Ordering::Relaxed) != NO_KERNEL_STEP
}
}

/// Single-steps a user task from its next return to EL0 (Linux: `user_enable_single_step`):
/// sets its step flag and, if it was not already set, SPSR.SS in its saved frame, so that the
/// first instruction after the ERET executes and a software-step exception follows. An
/// already stepped task keeps the SPSR.SS its last step left, as Linux's
/// `test_and_set_ti_thread_flag` does.
pub fn user_enable_single_step(debug: &crate::hw_breakpoint::TaskDebug, frame: &mut TrapFrame) {
    if !debug.set_single_step(true) {
        frame.pstate |= DBG_SPSR_SS;
    }
}

/// Stops single-stepping a user task (Linux: `user_disable_single_step`). SPSR.SS stays as it
/// is: without MDSCR_EL1.SS it means nothing.
pub fn user_disable_single_step(debug: &crate::hw_breakpoint::TaskDebug) {
    debug.set_single_step(false);
}

/// After a step exception from a stepped task, arms the next step (Linux:
/// `user_rewind_single_step`): the exception left SPSR.SS clear (active-pending), which would
/// trap again before executing anything; set, the next instruction runs first.
pub fn user_rewind_single_step(debug: &crate::hw_breakpoint::TaskDebug, frame: &mut TrapFrame) {
    if debug.single_step() {
        frame.pstate |= DBG_SPSR_SS;
    }
}

/// Makes a stepped task trap before its next instruction (Linux:
/// `user_fastforward_single_step`), for when the kernel completed an instruction for it (an
/// emulated instruction): SPSR.SS clear means the step is done.
pub fn user_fastforward_single_step(
    debug: &crate::hw_breakpoint::TaskDebug,
    frame: &mut TrapFrame,
) {
    if debug.single_step() {
        frame.pstate &= !DBG_SPSR_SS;
    }
}

crate::noinstr! {
/// Sets `bits` (of [`DBG_MDSCR_SS`], [`DBG_MDSCR_MDE`]) in MDSCR_EL1 for the task about to
/// run at EL0 (Linux: `enable_step_tsk`). Every DAIF bit must be set: with D clear, MDSCR.SS
/// would make the kernel itself take a step exception. The ERET that follows synchronizes it.
pub fn user_debug_enable(bits: u64) {
    // SAFETY: read-modify-write of MDSCR_EL1 with debug exceptions masked.
    unsafe {
        core::arch::asm!(
            "mrs {tmp}, mdscr_el1",
            "orr {tmp}, {tmp}, {bits}",
            "msr mdscr_el1, {tmp}",
            tmp = out(reg) _,
            bits = in(reg) bits,
            options(nomem, nostack, preserves_flags)
        )
    };
}
}

crate::noinstr! {
/// Clears `bits` in MDSCR_EL1 on the way back from EL0, still with every DAIF bit set (Linux:
/// `disable_step_tsk`); the ISB makes it take effect before a later unmask of PSTATE.D.
pub fn user_debug_disable(bits: u64) {
    // SAFETY: read-modify-write of MDSCR_EL1 with debug exceptions masked, then an ISB.
    unsafe {
        core::arch::asm!(
            "mrs {tmp}, mdscr_el1",
            "bic {tmp}, {tmp}, {bits}",
            "msr mdscr_el1, {tmp}",
            "isb",
            tmp = out(reg) _,
            bits = in(reg) bits,
            options(nomem, nostack, preserves_flags)
        )
    };
}
}
