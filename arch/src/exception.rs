//! Exception entry: saving the `TrapFrame` (defined in [`crate::ptrace`], re-exported here),
//! and the first-level dispatch on the vector kind and ESR_EL1.EC (Linux: `entry.S` +
//! `entry-common.c`).
//!
//! - BRK64 goes to the BRK hook table, software step to the step hooks
//!   ([`crate::debug_monitors`]); an unclaimed one is fatal at EL1.
//! - A data abort at EL1 whose instruction has an exception-table entry resumes at its fixup
//!   ([`crate::extable`]); this is how the nofault accessors report -EFAULT.
//! - An IRQ (from EL1h or 64-bit EL0) goes to [`crate::irq::handle_irq`], run on this CPU's
//!   IRQ stack ([`crate::stack::run_on_irq_stack`]). On the way out, if a
//!   reschedule is due and preemption is enabled, the scheduler's preemption handler switches
//!   tasks right there, on the interrupted task's stack (Linux: `arm64_preempt_schedule_irq`);
//!   the frame is restored and ERETed when that task is switched back in.
//! - A kernel stack overflow, caught by the EL1 vector entry's stack check (`asm/vectors.s`),
//!   arrives as [`VECTOR_BAD_STACK`] on the CPU's overflow stack and is fatal
//!   ([`Fatal::KernelStackOverflow`]).
//! - Everything else is fatal: the kernel's die handler prints the report and stops.
//!
//! Handlers only edit the frame; the assembly exit path restores it and ERETs.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::debug_monitors::{self, DbgHookResult};
use crate::esr::{self, Esr};
use crate::extable;

pub use crate::ptrace::TrapFrame;

const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(
    FRAME_SIZE.is_multiple_of(16),
    "the stack must stay 16-byte aligned"
);
const _: () = assert!(core::mem::offset_of!(TrapFrame, sp) == 8 * 31);

// The `svc` fast path loads and stores the pair with one `ldp`/`stp`.
const _: () = assert!(
    core::mem::offset_of!(crate::percpu::ArchPerCpu, user_context)
        == core::mem::offset_of!(crate::percpu::ArchPerCpu, user_kernel_sp) + 8
);

core::arch::global_asm!(
    include_str!("asm/vectors.s"),
    frame_size = const FRAME_SIZE,
    off_regs = const core::mem::offset_of!(TrapFrame, regs),
    off_pc = const core::mem::offset_of!(TrapFrame, pc),
    off_esr = const core::mem::offset_of!(TrapFrame, esr),
    off_stackframe = const core::mem::offset_of!(TrapFrame, stackframe),
    thread_shift = const crate::stack::THREAD_SHIFT,
    off_percpu_cpu = const core::mem::offset_of!(crate::percpu::ArchPerCpu, cpu),
    overflow_stack_shift = const crate::stack::OVERFLOW_STACK_SIZE.trailing_zeros(),
    overflow_stack_size = const crate::stack::OVERFLOW_STACK_SIZE,
    vector_bad_stack = const VECTOR_BAD_STACK,
    off_user_kernel_sp = const core::mem::offset_of!(crate::percpu::ArchPerCpu, user_kernel_sp),
    off_user_context = const core::mem::offset_of!(crate::percpu::ArchPerCpu, user_context),
    esr_ec_shift = const crate::esr::ESR_ELx_EC_SHIFT,
    ec_svc64 = const crate::esr::ESR_ELx_EC_SVC64,
    vector_svc_work = const crate::uspace::VECTOR_SVC_WORK,
    svc_handler = sym crate::uspace::SVC_HANDLER,
);

/// The kind `__bad_stack` passes: a stack overflow caught by an EL1 vector entry. Being 8 or
/// more, it takes `exception_entry`'s EL0 branch for the saved SP, which `handle_bad_stack`
/// replaces with the real one.
const VECTOR_BAD_STACK: u64 = 16;

/// SPSR/PSTATE bits the debug code edits.
pub use crate::daifflags::{PSR_D_BIT, PSR_I_BIT};
pub use crate::ptrace::{PSR_MODE_EL0T, PSR_MODE_MASK};
/// PSTATE.SS: the software-step state bit.
pub const DBG_SPSR_SS: u64 = 1 << 21;

/// Which of the sixteen vectors was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorKind(pub u64);

impl VectorKind {
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 16] = [
            "EL1t sync",
            "EL1t IRQ",
            "EL1t FIQ",
            "EL1t SError",
            "EL1h sync",
            "EL1h IRQ",
            "EL1h FIQ",
            "EL1h SError",
            "EL0 64-bit sync",
            "EL0 64-bit IRQ",
            "EL0 64-bit FIQ",
            "EL0 64-bit SError",
            "EL0 32-bit sync",
            "EL0 32-bit IRQ",
            "EL0 32-bit FIQ",
            "EL0 32-bit SError",
        ];
        NAMES.get(self.0 as usize).copied().unwrap_or("unknown")
    }

    fn is_sync(self) -> bool {
        self.0.is_multiple_of(4)
    }

    /// An IRQ from EL1 with SP_EL1, or from 64-bit EL0: the only IRQ vectors this kernel uses.
    fn is_irq(self) -> bool {
        self.0 == 5 || self.0 == 9
    }
}

/// Why an exception could not be handled.
#[derive(Clone, Copy, Debug)]
pub enum Fatal {
    /// An exception class nothing handles (or a vector that must never be taken).
    Unhandled(VectorKind),
    /// A data or instruction abort at EL1 without a fixup.
    KernelFault,
    /// A BRK no hook claimed.
    UnclaimedBrk,
    /// A software-step exception no hook claimed.
    UnclaimedStep,
    /// The kernel stack overflowed into its guard; the frame was saved on this CPU's overflow
    /// stack (Linux: `handle_bad_stack`).
    KernelStackOverflow,
}

/// Called for every fatal exception; must not return. The kernel installs one that prints the
/// report and exits.
pub type DieHandler = fn(&TrapFrame, Fatal) -> !;

static DIE_HANDLER: AtomicUsize = AtomicUsize::new(0);
static PREEMPT_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Installs the scheduler's interrupt-exit preemption: called with IRQs masked, at the end of
/// an IRQ, when `need_resched` is set and the preemption count is 0.
pub fn set_preempt_handler(handler: fn()) {
    crate::patching::assert_noinstr_handler(handler as usize, "exception-path handler");
    PREEMPT_HANDLER.store(handler as usize, Ordering::Release);
}

crate::noinstr! {
fn irq_exit_preempt() {
    if !crate::percpu::need_resched() || crate::percpu::preempt_count() != 0 {
        return;
    }
    let handler = PREEMPT_HANDLER.load(Ordering::Acquire);
    if handler != 0 {
        // SAFETY: only `set_preempt_handler` stores here, always a valid `fn()`.
        let handler: fn() = unsafe { core::mem::transmute(handler) };
        handler();
    }
}
}

pub fn set_die_handler(handler: DieHandler) {
    crate::patching::assert_noinstr_handler(handler as usize, "exception-path handler");
    DIE_HANDLER.store(handler as usize, Ordering::Release);
}

crate::noinstr! {
fn die(frame: &TrapFrame, why: Fatal) -> ! {
    let handler = DIE_HANDLER.load(Ordering::Acquire);
    if handler != 0 {
        // SAFETY: only `set_die_handler` stores here, always a valid `DieHandler`.
        let handler: DieHandler = unsafe { core::mem::transmute(handler) };
        handler(frame, why);
    }
    crate::semihosting::exit(crate::semihosting::EXIT_KERNEL_PANIC)
}
}

crate::noinstr! {
/// The Rust side of every vector; `frame` is the TrapFrame just saved on the stack.
#[unsafe(no_mangle)]
extern "C" fn handle_exception(frame: &mut TrapFrame, kind: u64) {
    let kind = VectorKind(kind);
    if kind.is_irq() {
        // Interrupt handling runs with only I and F masked (Linux: `el1_interrupt`), so debug
        // exceptions work in handlers and a task switched in at the exit below starts its
        // life without a debug or SError mask.
        crate::daifflags::local_daif_unmask_debug_serror();
        crate::percpu::irq_enter();
        crate::stack::run_on_irq_stack(frame, irq_handler);
        crate::percpu::irq_exit();
        irq_exit_preempt();
        return;
    }
    if !kind.is_sync() || kind.0 >= 12 || kind.0 < 4 {
        if kind.0 == VECTOR_BAD_STACK {
            handle_bad_stack(frame);
        }
        die(frame, Fatal::Unhandled(kind));
    }
    let esr = Esr(frame.esr);
    match esr.ec() {
        esr::ESR_ELx_EC_BRK64 => {
            if debug_monitors::brk_handler(frame, esr) != DbgHookResult::Handled {
                die(frame, Fatal::UnclaimedBrk);
            }
        }
        esr::ESR_ELx_EC_SOFTSTP_CUR | esr::ESR_ELx_EC_SOFTSTP_LOW => {
            if debug_monitors::single_step_handler(frame, esr) != DbgHookResult::Handled {
                die(frame, Fatal::UnclaimedStep);
            }
        }
        esr::ESR_ELx_EC_DABT_CUR | esr::ESR_ELx_EC_IABT_CUR => {
            if !extable::fixup_exception(frame) {
                die(frame, Fatal::KernelFault);
            }
        }
        _ => die(frame, Fatal::Unhandled(kind)),
    }
}
}

crate::noinstr! {
/// The interrupt handler, run on this CPU's IRQ stack.
extern "C" fn irq_handler(frame: &mut TrapFrame) {
    crate::irq::handle_irq(frame);
}
}

crate::noinstr! {
/// A stack overflow caught at an EL1 vector entry (Linux: `handle_bad_stack`). `__bad_stack`
/// saved the frame on the overflow stack and left the interrupted SP (less a frame) in
/// TPIDR_EL0; the entry code's idea of SP is wrong here.
#[cold]
fn handle_bad_stack(frame: &mut TrapFrame) -> ! {
    let sp: u64;
    // SAFETY: reads TPIDR_EL0, which the vector entry set to the overflowing SP.
    unsafe { core::arch::asm!("mrs {}, tpidr_el0", out(reg) sp, options(nomem, nostack)) };
    frame.sp = sp + FRAME_SIZE as u64;
    die(frame, Fatal::KernelStackOverflow)
}
}
