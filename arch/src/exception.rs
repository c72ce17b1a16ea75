//! Exception entry: the `TrapFrame` every exception saves, and the first-level dispatch on the
//! vector kind and ESR_EL1.EC (Linux: `entry.S` + `entry-common.c`).
//!
//! - BRK64 goes to the BRK hook table, software step to the step hooks
//!   ([`crate::debug_monitors`]); an unclaimed one is fatal at EL1.
//! - A data abort at EL1 whose instruction has an exception-table entry resumes at its fixup
//!   ([`crate::extable`]); this is how the nofault accessors report -EFAULT.
//! - An IRQ (from EL1h or 64-bit EL0) goes to [`crate::irq::handle_irq`]. On the way out, if a
//!   reschedule is due and preemption is enabled, the scheduler's preemption handler switches
//!   tasks right there, on the interrupted task's stack (Linux: `arm64_preempt_schedule_irq`);
//!   the frame is restored and ERETed when that task is switched back in.
//! - Everything else is fatal: the kernel's die handler prints the report and stops.
//!
//! Handlers only edit the frame; the assembly exit path restores it and ERETs.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::debug_monitors::{self, DbgHookResult};
use crate::esr::{self, Esr};
use crate::extable;

/// Registers and exception state saved on every exception (Linux's `struct pt_regs`).
#[repr(C)]
#[derive(Clone, Debug)]
pub struct TrapFrame {
    /// x0-x30.
    pub regs: [u64; 31],
    /// The interrupted stack pointer (restored only for returns to EL0).
    pub sp: u64,
    /// ELR_EL1: where execution resumes.
    pub pc: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub pstate: u64,
    pub esr: u64,
    pub far: u64,
    /// A frame record {x29, pc} linking the handler's frame chain to the interrupted code.
    pub stackframe: [u64; 2],
}

const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(
    FRAME_SIZE.is_multiple_of(16),
    "the stack must stay 16-byte aligned"
);
const _: () = assert!(core::mem::offset_of!(TrapFrame, sp) == 8 * 31);

core::arch::global_asm!(
    include_str!("asm/vectors.s"),
    frame_size = const FRAME_SIZE,
    off_regs = const core::mem::offset_of!(TrapFrame, regs),
    off_pc = const core::mem::offset_of!(TrapFrame, pc),
    off_esr = const core::mem::offset_of!(TrapFrame, esr),
    off_stackframe = const core::mem::offset_of!(TrapFrame, stackframe),
    off_user_kernel_sp = const core::mem::offset_of!(crate::percpu::ArchPerCpu, user_kernel_sp),
);

/// SPSR/PSTATE bits the debug code edits.
pub const PSR_MODE_MASK: u64 = 0xf;
pub const PSR_MODE_EL0T: u64 = 0x0;
pub use crate::daifflags::{PSR_D_BIT, PSR_I_BIT};
/// PSTATE.SS: the software-step state bit.
pub const DBG_SPSR_SS: u64 = 1 << 21;

impl TrapFrame {
    pub fn user_mode(&self) -> bool {
        self.pstate & PSR_MODE_MASK == PSR_MODE_EL0T
    }

    pub fn fp(&self) -> u64 {
        self.regs[29]
    }

    pub fn lr(&self) -> u64 {
        self.regs[30]
    }
}

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
        crate::irq::handle_irq(frame);
        crate::percpu::irq_exit();
        irq_exit_preempt();
        return;
    }
    if !kind.is_sync() || kind.0 >= 12 || kind.0 < 4 {
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
