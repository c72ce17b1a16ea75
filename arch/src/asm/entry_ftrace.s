// ftrace_caller: the common trampoline of every enabled ftrace site (Linux:
// arch/arm64/kernel/entry-ftrace.S with DYNAMIC_FTRACE_WITH_ARGS and WITH_CALL_OPS).
//
// An enabled site is `mov x9, x30; bl ftrace_caller` at the traced function's entry, so on entry:
//   x9  = the traced function's return address (its caller, the "parent"),
//   x30 = rec->ip + 4, where the traced function's body resumes,
//   x0-x8 = its arguments, sp = its entry stack pointer.
// The site's ops literal sits in the two NOPs before the function: func - 8 = x30 - 16.
//
// The trampoline saves an FtraceRegs (layout in arch/src/ftrace.rs), builds two frame records
// (the traced function's, then its own) so backtraces walk through, masks IRQs and FIQs, loads
// the literal and calls ftrace_dispatch(ip, parent_ip, ops, regs). Interrupts stay masked from
// before the literal is read until the callback has returned: a stop-machine rendezvous, which
// needs every CPU to take an interrupt, is therefore a quiescent point for every callback.
// Afterwards it restores the arguments, fp and the caller's LR (a callback may have changed any
// of them) and branches to regs.pc: rec->ip + 4 unless an IPMODIFY callback redirected it.

    .pushsection .noinstr.text, "ax"
    .balign 8
    .global ftrace_caller
    .type ftrace_caller, %function
ftrace_caller:
    mov     x10, sp
    sub     sp, sp, #(FREGS_SIZE + 32)
    stp     x0, x1, [sp, #FREGS_X0]
    stp     x2, x3, [sp, #(FREGS_X0 + 16)]
    stp     x4, x5, [sp, #(FREGS_X0 + 32)]
    stp     x6, x7, [sp, #(FREGS_X0 + 48)]
    // Pairs: x8 and fp, lr and sp, pc and daif are adjacent (asserted in ftrace.rs).
    stp     x8, x29, [sp, #(FREGS_X0 + 64)]
    stp     x9, x10, [sp, #FREGS_LR]
    mrs     x11, daif
    stp     x30, x11, [sp, #FREGS_PC]
    msr     daifset, #3
    // The traced function's frame record, then ours above the FtraceRegs.
    stp     x29, x9, [sp, #(FREGS_SIZE + 16)]
    add     x29, sp, #(FREGS_SIZE + 16)
    stp     x29, x30, [sp, #FREGS_SIZE]
    add     x29, sp, #FREGS_SIZE
    sub     x0, x30, #4
    mov     x1, x9
    ldur    x2, [x30, #-16]
    mov     x3, sp
    bl      ftrace_dispatch
    ldp     x9, x11, [sp, #FREGS_PC]
    msr     daif, x11
    ldp     x0, x1, [sp, #FREGS_X0]
    ldp     x2, x3, [sp, #(FREGS_X0 + 16)]
    ldp     x4, x5, [sp, #(FREGS_X0 + 32)]
    ldp     x6, x7, [sp, #(FREGS_X0 + 48)]
    ldp     x8, x29, [sp, #(FREGS_X0 + 64)]
    ldr     x30, [sp, #FREGS_LR]
    add     sp, sp, #(FREGS_SIZE + 32)
    ret     x9
    .size ftrace_caller, . - ftrace_caller
    .popsection

// return_to_handler: where a function whose return the function-graph tracer hooked returns to
// (Linux: return_to_handler in arch/arm64/kernel/entry-ftrace.S). The graph entry replaced the
// function's return address (regs.lr in its ftrace_caller frame) with this address and pushed
// the real one on the task's shadow stack.
//
// On entry the function has just executed `ret`: x0-x7 hold its result, sp is back to its entry
// value, x30 is this address. The trampoline saves the results, fp, sp and DAIF as an
// FgraphRetRegs, masks IRQs and FIQs (the shadow stack is popped and the return event written
// without anything nesting on this CPU), and calls ftrace_return_to_handler(regs), which pops
// the shadow stack and returns the real return address. It restores DAIF, the results and fp,
// and returns there.

    .pushsection .noinstr.text, "ax"
    .balign 8
    .global return_to_handler
    .type return_to_handler, %function
return_to_handler:
    sub     sp, sp, #(FGRET_SIZE + 16)
    stp     x0, x1, [sp, #FGRET_X0]
    stp     x2, x3, [sp, #(FGRET_X0 + 16)]
    stp     x4, x5, [sp, #(FGRET_X0 + 32)]
    stp     x6, x7, [sp, #(FGRET_X0 + 48)]
    // Pairs: fp and sp are adjacent (asserted in ftrace.rs).
    add     x9, sp, #(FGRET_SIZE + 16)
    stp     x29, x9, [sp, #FGRET_FP]
    mrs     x10, daif
    str     x10, [sp, #FGRET_DAIF]
    msr     daifset, #3
    // A frame record, so a backtrace from the handler walks on into the caller's frames.
    stp     x29, x30, [sp, #FGRET_SIZE]
    add     x29, sp, #FGRET_SIZE
    mov     x0, sp
    bl      ftrace_return_to_handler
    mov     x30, x0
    ldr     x10, [sp, #FGRET_DAIF]
    msr     daif, x10
    ldp     x0, x1, [sp, #FGRET_X0]
    ldp     x2, x3, [sp, #(FGRET_X0 + 16)]
    ldp     x4, x5, [sp, #(FGRET_X0 + 32)]
    ldp     x6, x7, [sp, #(FGRET_X0 + 48)]
    ldr     x29, [sp, #FGRET_FP]
    add     sp, sp, #(FGRET_SIZE + 16)
    ret
    .size return_to_handler, . - return_to_handler
    .popsection
