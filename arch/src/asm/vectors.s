// The VBAR_EL1 vector table and the common entry/exit path.
//
// Every entry saves a complete TrapFrame on the current (SP_EL1) stack, links a frame record
// into the x29 chain so backtraces cross the exception, and calls
// `handle_exception(frame, kind)`. Handlers only edit the TrapFrame; the exit path masks all of
// DAIF, restores whatever they left there (including ELR and SPSR) and ERETs.
//
// An entry from EL1 first checks that its stack has not overflowed (see the `ventry` macro).
.global exception_exit_mask

.macro ventry kind
    .balign 0x80
.Lventry_start\@:
    sub     sp, sp, #{frame_size}
.if \kind < 8
    // Linux's CONFIG_VMAP_STACK check in `kernel_ventry`. Task and IRQ stacks are THREAD_ALIGN
    // (2 * THREAD_SIZE) aligned with nothing mapped in the THREAD_SIZE below, so bit
    // THREAD_SHIFT of SP is 0 on a stack and 1 once SP has run into the guard, where storing
    // the frame would fault again and again. Tested without a free register: SP briefly holds
    // SP + x0.
    add     sp, sp, x0                  // sp' = sp + x0
    sub     x0, sp, x0                  // x0' = sp
    tbnz    x0, #{thread_shift}, .Lstack_overflow\@
    sub     x0, sp, x0                  // x0 again
    sub     sp, sp, x0                  // sp again
.endif
.Lventry_save\@:
    stp     x0, x1, [sp, #{off_regs}]
.if \kind == 8
    // An `svc` from 64-bit EL0 takes the fast path, with the syndrome in x1.
    mrs     x1, esr_el1
    ubfx    x0, x1, #{esr_ec_shift}, #6
    cmp     x0, #{ec_svc64}
    b.eq    el0_svc
.endif
    mov     x0, #\kind
    b       exception_entry
.if \kind < 8
.Lstack_overflow\@:
    kernel_stack_overflow .Lventry_save\@
.endif
    .org    .Lventry_start\@ + 0x80
.endm

// The slow half of the check (Linux: `kernel_ventry` from label 0): x0 = the overflowing SP
// (less the frame), SP = that + the original x0. Moves to this CPU's overflow stack and goes to
// `__bad_stack`; an exception taken while already on the overflow stack (a fault while
// reporting) carries on there instead, at `carry_on`. Either way the kernel never returns to
// EL0 after this, so TPIDR_EL0 and TPIDRRO_EL0 are free to hold SP and x0 meanwhile.
.macro kernel_stack_overflow carry_on
    msr     tpidr_el0, x0
    sub     x0, sp, x0
    msr     tpidrro_el0, x0
    // sp = overflow_stacks + (cpu + 1) * OVERFLOW_STACK_SIZE: the top of this CPU's.
    mrs     x0, tpidr_el1
    ldr     x0, [x0, #{off_percpu_cpu}]
    add     x0, x0, #1
    lsl     x0, x0, #{overflow_stack_shift}
    mov     sp, x0
    adrp    x0, overflow_stacks
    add     x0, x0, :lo12:overflow_stacks
    add     sp, sp, x0
    mrs     x0, tpidr_el0
    sub     x0, sp, x0                  // top - old SP
    tst     x0, #~({overflow_stack_size} - 1)
    b.ne    __bad_stack
    sub     sp, sp, x0                  // was on it: back to the old SP and x0
    mrs     x0, tpidrro_el0
    b       \carry_on
.endm

.section .text.vectors, "ax"
.balign 2048
.global vectors
vectors:
    ventry 0    // current EL, SP_EL0: synchronous
    ventry 1    //                     IRQ
    ventry 2    //                     FIQ
    ventry 3    //                     SError
    ventry 4    // current EL, SP_ELx: synchronous
    ventry 5    //                     IRQ
    ventry 6    //                     FIQ
    ventry 7    //                     SError
    ventry 8    // lower EL, AArch64:  synchronous
    ventry 9    //                     IRQ
    ventry 10   //                     FIQ
    ventry 11   //                     SError
    ventry 12   // lower EL, AArch32:  synchronous
    ventry 13   //                     IRQ
    ventry 14   //                     FIQ
    ventry 15   //                     SError

// The stack overflowed: build the TrapFrame on the overflow stack and report (Linux:
// `__bad_stack`). The kind tells `handle_exception`; it restores the frame's SP from TPIDR_EL0.
.type __bad_stack, %function
__bad_stack:
    mrs     x0, tpidrro_el0
    sub     sp, sp, #{frame_size}
    stp     x0, x1, [sp, #{off_regs}]
    mov     x0, #{vector_bad_stack}
    b       exception_entry
.size __bad_stack, . - __bad_stack

.type exception_entry, %function
exception_entry:
    // x0 = kind; x0/x1 of the interrupted context are already saved.
    stp     x2, x3, [sp, #{off_regs} + 16 * 1]
    stp     x4, x5, [sp, #{off_regs} + 16 * 2]
    stp     x6, x7, [sp, #{off_regs} + 16 * 3]
    stp     x8, x9, [sp, #{off_regs} + 16 * 4]
    stp     x10, x11, [sp, #{off_regs} + 16 * 5]
    stp     x12, x13, [sp, #{off_regs} + 16 * 6]
    stp     x14, x15, [sp, #{off_regs} + 16 * 7]
    stp     x16, x17, [sp, #{off_regs} + 16 * 8]
    stp     x18, x19, [sp, #{off_regs} + 16 * 9]
    stp     x20, x21, [sp, #{off_regs} + 16 * 10]
    stp     x22, x23, [sp, #{off_regs} + 16 * 11]
    stp     x24, x25, [sp, #{off_regs} + 16 * 12]
    stp     x26, x27, [sp, #{off_regs} + 16 * 13]
    stp     x28, x29, [sp, #{off_regs} + 16 * 14]

    // The interrupted stack pointer: SP_EL0 for an exception from EL0, else ours before entry.
    cmp     x0, #8
    b.lo    1f
    mrs     x1, sp_el0
    b       2f
1:  add     x1, sp, #{frame_size}
2:  stp     x30, x1, [sp, #{off_regs} + 16 * 15]

    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #{off_pc}]
    mrs     x4, esr_el1
    mrs     x5, far_el1
    stp     x4, x5, [sp, #{off_esr}]

    // Frame record {{x29, pc}}: the unwinder steps from the handler into the interrupted code.
    stp     x29, x2, [sp, #{off_stackframe}]
    add     x29, sp, #{off_stackframe}

    // From 64-bit EL0: back to the kernel code that entered user space (`__enter_user`),
    // with the frame saved where it put the user context and x0 = the vector kind.
    cmp     x0, #8
    b.lo    4f
    cmp     x0, #12
    b.lo    __exit_user
4:  mov     x1, x0
    mov     x0, sp
    bl      handle_exception

    // Restore; ELR/SPSR may have been changed by a handler. Mask every exception first (Linux:
    // `kernel_exit`): the handler may have unmasked D or A, and a debug exception or SError
    // taken between writing ELR/SPSR and the ERET would overwrite them.
exception_exit_mask:
    msr     daifset, #0xf
    ldp     x2, x3, [sp, #{off_pc}]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    and     x3, x3, #0xf                // SPSR.M[3:0] == 0: returning to EL0t
    cbnz    x3, 3f
    ldr     x1, [sp, #{off_regs} + 8 * 31]
    msr     sp_el0, x1
3:
    ldp     x0, x1, [sp, #{off_regs}]
    ldp     x2, x3, [sp, #{off_regs} + 16 * 1]
    ldp     x4, x5, [sp, #{off_regs} + 16 * 2]
    ldp     x6, x7, [sp, #{off_regs} + 16 * 3]
    ldp     x8, x9, [sp, #{off_regs} + 16 * 4]
    ldp     x10, x11, [sp, #{off_regs} + 16 * 5]
    ldp     x12, x13, [sp, #{off_regs} + 16 * 6]
    ldp     x14, x15, [sp, #{off_regs} + 16 * 7]
    ldp     x16, x17, [sp, #{off_regs} + 16 * 8]
    ldp     x18, x19, [sp, #{off_regs} + 16 * 9]
    ldp     x20, x21, [sp, #{off_regs} + 16 * 10]
    ldp     x22, x23, [sp, #{off_regs} + 16 * 11]
    ldp     x24, x25, [sp, #{off_regs} + 16 * 12]
    ldp     x26, x27, [sp, #{off_regs} + 16 * 13]
    ldp     x28, x29, [sp, #{off_regs} + 16 * 14]
    ldr     x30, [sp, #{off_regs} + 16 * 15]
    add     sp, sp, #{frame_size}
    eret
.size exception_entry, . - exception_entry

// u64 __enter_user(frame: x0, context: x1): runs the user context `frame` (which must lie above
// the current stack pointer, at the top of the task's kernel stack) until an exception from EL0
// that the `svc` fast path does not finish, whose vector kind it returns; `context` is what the
// fast path hands its handler. The kernel's callee-saved registers wait on the stack below the
// frame and the stack pointer in the per-CPU area: an exception from EL0 pushes its frame from the
// top of the stack down, which is exactly over `frame`, then `__exit_user` unwinds to here.
.global __enter_user
.type __enter_user, %function
__enter_user:
    stp     x29, x30, [sp, #-96]!
    mov     x29, sp
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    mrs     x2, tpidr_el1
    mov     x3, sp
    str     x3, [x2, #{off_user_kernel_sp}]
    str     x1, [x2, #{off_user_context}]
    mov     sp, x0
    b       exception_exit_mask
.size __enter_user, . - __enter_user

// The `svc` fast path from EL0 (Linux: `el0_svc` and `ret_to_user`, without the generic
// dispatch): x0/x1 are saved and x1 holds ESR_EL1; save the rest of the frame, then call the installed handler with
// (frame, this CPU's user context) on the kernel stack below `__enter_user`'s save area and
// ERET straight back to EL0 if it returns 0. Otherwise (work before EL0: a reschedule, a
// signal, an exit) unwind to `__enter_user`'s caller with VECTOR_SVC_WORK, the syscall done;
// without a handler or a context, with kind 8 (the generic way, the syscall not run). The
// handler may sleep, and another task entering EL0 on this CPU meanwhile overwrites the
// per-CPU stack pointer and context, so both are written back before leaving. x19-x22 are
// free: the user's are in the frame.
.type el0_svc, %function
el0_svc:
    stp     x1, xzr, [sp, #{off_esr}]               // FAR is UNKNOWN for an SVC
    stp     x2, x3, [sp, #{off_regs} + 16 * 1]
    stp     x4, x5, [sp, #{off_regs} + 16 * 2]
    stp     x6, x7, [sp, #{off_regs} + 16 * 3]
    stp     x8, x9, [sp, #{off_regs} + 16 * 4]
    stp     x10, x11, [sp, #{off_regs} + 16 * 5]
    stp     x12, x13, [sp, #{off_regs} + 16 * 6]
    stp     x14, x15, [sp, #{off_regs} + 16 * 7]
    stp     x16, x17, [sp, #{off_regs} + 16 * 8]
    stp     x18, x19, [sp, #{off_regs} + 16 * 9]
    stp     x20, x21, [sp, #{off_regs} + 16 * 10]
    stp     x22, x23, [sp, #{off_regs} + 16 * 11]
    stp     x24, x25, [sp, #{off_regs} + 16 * 12]
    stp     x26, x27, [sp, #{off_regs} + 16 * 13]
    stp     x28, x29, [sp, #{off_regs} + 16 * 14]
    mrs     x1, sp_el0
    stp     x30, x1, [sp, #{off_regs} + 16 * 15]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #{off_pc}]
    stp     xzr, xzr, [sp, #{off_stackframe}]       // the last frame record: unwinders stop
    add     x29, sp, #{off_stackframe}
    adrp    x2, {svc_handler}
    ldr     x2, [x2, :lo12:{svc_handler}]
    cbz     x2, .Lel0_svc_generic
    mrs     x22, tpidr_el1                      // tasks never migrate: stays this CPU's
    ldp     x19, x21, [x22, #{off_user_kernel_sp}] // and the context, the next word
    cbz     x21, .Lel0_svc_generic
    mov     x20, sp
    mov     sp, x19
    mov     x0, x20
    mov     x1, x21
    msr     daifclr, #0xf                       // process context (Linux: DAIF_PROCCTX)
    blr     x2
    stp     x19, x21, [x22, #{off_user_kernel_sp}]
    mov     sp, x20
    cbnz    x0, .Lel0_svc_work
    // Back to EL0 (`exception_exit_mask`, knowing the target is EL0t).
    msr     daifset, #0xf
    ldp     x2, x3, [sp, #{off_pc}]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x1, [sp, #{off_regs} + 16 * 15]  // lr and the user's sp
    msr     sp_el0, x1
    ldp     x0, x1, [sp, #{off_regs}]
    ldp     x2, x3, [sp, #{off_regs} + 16 * 1]
    ldp     x4, x5, [sp, #{off_regs} + 16 * 2]
    ldp     x6, x7, [sp, #{off_regs} + 16 * 3]
    ldp     x8, x9, [sp, #{off_regs} + 16 * 4]
    ldp     x10, x11, [sp, #{off_regs} + 16 * 5]
    ldp     x12, x13, [sp, #{off_regs} + 16 * 6]
    ldp     x14, x15, [sp, #{off_regs} + 16 * 7]
    ldp     x16, x17, [sp, #{off_regs} + 16 * 8]
    ldp     x18, x19, [sp, #{off_regs} + 16 * 9]
    ldp     x20, x21, [sp, #{off_regs} + 16 * 10]
    ldp     x22, x23, [sp, #{off_regs} + 16 * 11]
    ldp     x24, x25, [sp, #{off_regs} + 16 * 12]
    ldp     x26, x27, [sp, #{off_regs} + 16 * 13]
    ldp     x28, x29, [sp, #{off_regs} + 16 * 14]
    add     sp, sp, #{frame_size}
    eret
.Lel0_svc_work:
    mov     x0, #{vector_svc_work}
    b       __exit_user
.Lel0_svc_generic:
    mov     x0, #8
    b       __exit_user
.size el0_svc, . - el0_svc

.type __exit_user, %function
__exit_user:
    // x0 = kind; every exception is masked (the vector's state), so nothing can use this
    // CPU's saved stack pointer before it is taken.
    mrs     x1, tpidr_el1
    ldr     x2, [x1, #{off_user_kernel_sp}]
    mov     sp, x2
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ret
.size __exit_user, . - __exit_user
