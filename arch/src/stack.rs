//! Kernel stacks: their size and alignment, the per-CPU IRQ and overflow stacks, and the switch
//! onto the IRQ stack (Linux: `asm/memory.h` `THREAD_*`, `irq_stack_ptr`, `call_on_irq_stack`,
//! `overflow_stack`).
//!
//! Every task and IRQ stack is [`THREAD_SIZE`] bytes at a [`THREAD_ALIGN`] (twice the size)
//! aligned address, with nothing mapped in the [`THREAD_SIZE`] below it (`kernel::mm::vmap_stack`
//! maps them so; the boot stack is placed so by the linker script). Bit [`THREAD_SHIFT`] of a
//! stack pointer inside such a stack is therefore always 0, and 1 once it has run off the bottom
//! into the guard: the EL1 vector entries test that one bit before they store anything
//! (`asm/vectors.s`, Linux's `kernel_ventry` with `CONFIG_VMAP_STACK`), and move to this CPU's
//! overflow stack to report the overflow instead of faulting again on every push.
//!
//! Interrupts run on this CPU's IRQ stack ([`call_on_irq_stack`]): the interrupted task's stack
//! only holds the exception frame and one frame record, so a deep handler cannot overflow a task
//! stack that was nearly full. The frame record links the two, so a backtrace from a handler
//! continues into the interrupted code (`kernel::stacktrace` follows it across the stacks).

/// log2 of [`THREAD_SIZE`] (Linux: `THREAD_SHIFT`; 14 there, 16 here because Rust's formatting
/// and the shell's buffers live on kernel stacks).
pub const THREAD_SHIFT: u32 = 16;
/// Size of a task's kernel stack (Linux: `THREAD_SIZE`).
pub const THREAD_SIZE: usize = 1 << THREAD_SHIFT;
/// Alignment of every task and IRQ stack (Linux with `CONFIG_VMAP_STACK`: `THREAD_ALIGN`): twice
/// the size, so that one stack-pointer bit tells an overflow.
pub const THREAD_ALIGN: usize = 2 * THREAD_SIZE;
/// Size of a CPU's IRQ stack (Linux: `IRQ_STACK_SIZE`).
pub const IRQ_STACK_SIZE: usize = THREAD_SIZE;
/// Size of a CPU's overflow stack (Linux: `OVERFLOW_STACK_SIZE`, 4 KiB there). Ours holds the
/// whole crash report, symbolized backtrace included (about 1.8 KiB measured for
/// `EXHAUST_STACK`), with room for the faults a report's nofault reads may take on top. A power
/// of two: the vector entry tests "already on it" with one mask.
pub const OVERFLOW_STACK_SIZE: usize = 16 * 1024;
const _: () = assert!(OVERFLOW_STACK_SIZE.is_power_of_two());

/// A `[low, high)` stack range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackRange {
    pub low: u64,
    pub high: u64,
}

impl StackRange {
    /// Whether the `size` bytes at `addr` lie inside the stack.
    #[inline(always)]
    pub const fn contains(&self, addr: u64, size: u64) -> bool {
        addr >= self.low && addr < self.high && self.high - addr >= size
    }
}

#[cfg(target_os = "none")]
pub use target::*;

#[cfg(target_os = "none")]
mod target {
    use core::sync::atomic::Ordering;

    use super::*;
    use crate::exception::TrapFrame;
    use crate::irq::NR_CPUS;
    use crate::percpu::{ArchPerCpu, this_arch_cpu};

    /// One CPU's overflow stack.
    #[repr(C, align(16))]
    pub struct OverflowStack([u8; OVERFLOW_STACK_SIZE]);

    /// Every CPU's overflow stack, indexed by logical CPU number; the vector entry finds its own
    /// from `ArchPerCpu::cpu` (Linux: the per-CPU `overflow_stack`).
    #[unsafe(export_name = "overflow_stacks")]
    static mut OVERFLOW_STACKS: [OverflowStack; NR_CPUS] =
        [const { OverflowStack([0; OVERFLOW_STACK_SIZE]) }; NR_CPUS];

    crate::noinstr! {
    /// This CPU's overflow stack.
    #[inline(always)]
    pub fn overflow_stack() -> StackRange {
        let cpu = this_arch_cpu().cpu;
        let base = core::ptr::addr_of!(OVERFLOW_STACKS) as u64;
        let low = base + (cpu * OVERFLOW_STACK_SIZE) as u64;
        StackRange { low, high: low + OVERFLOW_STACK_SIZE as u64 }
    }
    }

    crate::noinstr! {
    /// This CPU's IRQ stack, once it has one.
    #[inline(always)]
    pub fn irq_stack() -> Option<StackRange> {
        irq_stack_of(this_arch_cpu())
    }
    }

    crate::noinstr! {
    /// `cpu`'s IRQ stack, once it has one.
    #[inline(always)]
    pub fn irq_stack_of(cpu: &ArchPerCpu) -> Option<StackRange> {
        let low = cpu.irq_stack_ptr.load(Ordering::Relaxed);
        (low != 0).then_some(StackRange { low, high: low + IRQ_STACK_SIZE as u64 })
    }
    }

    crate::noinstr! {
    /// The stack the caller runs on, if that is a task stack ([`THREAD_SIZE`] bytes,
    /// [`THREAD_ALIGN`]-aligned): the boot and idle stacks have no other record of where they are.
    #[inline(always)]
    pub fn current_thread_stack() -> StackRange {
        let sp: u64;
        // SAFETY: reads SP.
        unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
        let low = sp & !(THREAD_ALIGN as u64 - 1);
        StackRange { low, high: low + THREAD_SIZE as u64 }
    }
    }

    /// Gives `cpu` its IRQ stack: [`IRQ_STACK_SIZE`] bytes at `low`, [`THREAD_ALIGN`]-aligned
    /// with an unmapped guard below. Set before the CPU first unmasks IRQs; never changed.
    pub fn set_irq_stack(cpu: &ArchPerCpu, low: u64) {
        debug_assert!(low.is_multiple_of(THREAD_ALIGN as u64));
        cpu.irq_stack_ptr.store(low, Ordering::Release);
    }

    core::arch::global_asm!(
        ".section .noinstr.text, \"ax\"",
        ".balign 8",
        ".global call_on_irq_stack",
        ".type call_on_irq_stack, %function",
        // x0 = the TrapFrame, x1 = the handler. A frame record on the current stack keeps lr and
        // (in x29) the stack pointer, and links the handler's frames back to this stack.
        "call_on_irq_stack:",
        "    stp     x29, x30, [sp, #-16]!",
        "    mov     x29, sp",
        "    mrs     x16, tpidr_el1",
        "    ldr     x16, [x16, #{irq_stack_ptr}]",
        // No IRQ stack yet (early boot), or already on it: call the handler where we are.
        "    cbz     x16, 1f",
        "    mov     x17, sp",
        "    sub     x17, x17, x16",
        "    cmp     x17, #{irq_stack_size}",
        "    b.ls    1f",
        "    add     sp, x16, #{irq_stack_size}",
        "1:  blr     x1",
        "    mov     sp, x29",
        "    ldp     x29, x30, [sp], #16",
        "    ret",
        ".size call_on_irq_stack, . - call_on_irq_stack",
        irq_stack_ptr = const core::mem::offset_of!(ArchPerCpu, irq_stack_ptr),
        irq_stack_size = const IRQ_STACK_SIZE,
    );

    unsafe extern "C" {
        fn call_on_irq_stack(frame: &mut TrapFrame, handler: extern "C" fn(&mut TrapFrame));
    }

    crate::noinstr! {
    /// Runs `handler(frame)` on this CPU's IRQ stack (Linux: `do_interrupt_handler`); on the
    /// current stack if the CPU has none yet or already runs on it. IRQs must be masked.
    #[inline(always)]
    pub fn run_on_irq_stack(frame: &mut TrapFrame, handler: extern "C" fn(&mut TrapFrame)) {
        // SAFETY: call_on_irq_stack moves to the top of this CPU's IRQ stack, which nothing else
        // uses while IRQs are masked here (interrupts do not nest), calls the handler there and
        // restores the stack pointer and frame record before it returns.
        unsafe { call_on_irq_stack(frame, handler) }
    }
    }
}
