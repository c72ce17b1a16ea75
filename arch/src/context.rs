//! Switching the CPU from one kernel task to another (Linux: `cpu_switch_to` in `entry.S`,
//! `struct cpu_context`, `ret_from_fork`).
//!
//! A task that is not running is fully described by the callee-saved registers it had when it
//! called [`cpu_switch_to`]: x19-x28, the frame pointer, its stack pointer and the return
//! address. Everything else was either saved by its callers (the AAPCS64 caller-saved
//! registers) or lives on its own stack. Switching saves those into the old task's
//! [`CpuContext`], loads the new task's, and returns: into the new task's own call of
//! `cpu_switch_to`, or, the first time a task runs, into [`ret_from_fork`].
//!
//! No FP/SIMD state here: the kernel is built without FP registers (`-softfloat`), and the EL0
//! FP/SIMD state is saved beside this switch, only for tasks that run at EL0 (`crate::fpsimd`).
//! The EL0 thread pointer, TPIDR_EL0, is switched here too (Linux:
//! `tls_thread_switch`), so each process keeps its own.

/// The registers a task keeps across [`cpu_switch_to`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuContext {
    /// x19-x28.
    pub x19_x28: [u64; 10],
    pub fp: u64,
    pub sp: u64,
    /// Where the task resumes: the return address of its `cpu_switch_to` call.
    pub pc: u64,
    /// The task's EL0 thread pointer.
    pub tpidr_el0: u64,
}

impl CpuContext {
    /// The context of a task that has never run: it starts in [`ret_from_fork`], which calls
    /// `schedule_tail()` (the kernel's tail of a switch) and then `entry(arg)` on `stack_top`.
    /// `entry` must not return.
    pub fn new_task(stack_top: u64, entry: extern "C" fn(u64) -> !, arg: u64) -> Self {
        let mut x19_x28 = [0; 10];
        x19_x28[0] = entry as *const () as u64;
        x19_x28[1] = arg;
        Self {
            x19_x28,
            // The end of the frame-record chain: backtraces stop here.
            fp: 0,
            sp: stack_top & !15,
            pc: ret_from_fork as *const () as u64,
            tpidr_el0: 0,
        }
    }
}

core::arch::global_asm!(
    ".section .noinstr.text, \"ax\"",
    ".balign 8",
    ".global cpu_switch_to",
    ".type cpu_switch_to, %function",
    // x0 = &mut prev.context, x1 = &next.context
    "cpu_switch_to:",
    "    stp x19, x20, [x0, #16 * 0]",
    "    stp x21, x22, [x0, #16 * 1]",
    "    stp x23, x24, [x0, #16 * 2]",
    "    stp x25, x26, [x0, #16 * 3]",
    "    stp x27, x28, [x0, #16 * 4]",
    "    mov x9, sp",
    "    stp x29, x9, [x0, #16 * 5]",
    "    str x30, [x0, #16 * 6]",
    "    mrs x10, tpidr_el0",
    "    str x10, [x0, #16 * 6 + 8]",
    "    ldp x19, x20, [x1, #16 * 0]",
    "    ldp x21, x22, [x1, #16 * 1]",
    "    ldp x23, x24, [x1, #16 * 2]",
    "    ldp x25, x26, [x1, #16 * 3]",
    "    ldp x27, x28, [x1, #16 * 4]",
    "    ldp x29, x9, [x1, #16 * 5]",
    "    ldr x30, [x1, #16 * 6]",
    "    ldr x10, [x1, #16 * 6 + 8]",
    "    msr tpidr_el0, x10",
    "    mov sp, x9",
    "    ret",
    ".size cpu_switch_to, . - cpu_switch_to",
    "",
    ".global ret_from_fork",
    ".type ret_from_fork, %function",
    // A new task's first instructions: x19 = entry, x20 = its argument.
    "ret_from_fork:",
    "    bl schedule_tail",
    "    mov x0, x20",
    "    blr x19",
    "    brk #0x800",
    ".size ret_from_fork, . - ret_from_fork",
);

const _: () = assert!(core::mem::offset_of!(CpuContext, fp) == 16 * 5);
const _: () = assert!(core::mem::offset_of!(CpuContext, pc) == 16 * 6);
const _: () = assert!(core::mem::offset_of!(CpuContext, tpidr_el0) == 16 * 6 + 8);

/// Sets the running task's EL0 thread pointer (a new program's 0, a forked child's parent's).
pub fn set_tpidr_el0(value: u64) {
    // SAFETY: TPIDR_EL0 is EL0's own register; the kernel does not use it.
    unsafe {
        core::arch::asm!("msr tpidr_el0, {v}", v = in(reg) value, options(nostack, preserves_flags))
    };
}

/// The running task's EL0 thread pointer.
pub fn tpidr_el0() -> u64 {
    let value: u64;
    // SAFETY: reads a system register.
    unsafe {
        core::arch::asm!("mrs {v}, tpidr_el0", v = out(reg) value, options(nostack, preserves_flags, nomem))
    };
    value
}

unsafe extern "C" {
    /// Saves the running task's callee-saved state into `prev` and resumes the task `next`
    /// describes. Returns when some CPU later switches back to `prev`.
    ///
    /// # Safety
    /// IRQs masked; `prev` is the running task's context and `next` a context saved by an
    /// earlier switch or made by [`CpuContext::new_task`], whose stack is live and not in use.
    pub fn cpu_switch_to(prev: *mut CpuContext, next: *const CpuContext);

    fn ret_from_fork();
}
