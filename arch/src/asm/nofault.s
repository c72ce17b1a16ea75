// Nofault memory accessors. Each load or store that may fault has an entry in __ex_table
// pairing it with a fixup; on a data abort at that instruction the exception handler resumes at
// the fixup, which returns -EFAULT. Success returns 0 (and the value through x1's pointer for
// loads). Linux: copy_from_kernel_nofault / copy_to_kernel_nofault and their extable.

.macro extable insn, fixup
    .pushsection __ex_table, "a"
    .balign 8
    .quad \insn, \fixup
    .popsection
.endm

.section .noinstr.text, "ax"

// i64 __nofault_read_u8(addr: x0, out: *mut u8)
.global __nofault_read_u8
.type __nofault_read_u8, %function
__nofault_read_u8:
0:  ldrb    w2, [x0]
    strb    w2, [x1]
    mov     x0, #0
    ret
    extable 0b, __nofault_efault
.size __nofault_read_u8, . - __nofault_read_u8

// i64 __nofault_read_u32(addr: x0, out: *mut u32)
.global __nofault_read_u32
.type __nofault_read_u32, %function
__nofault_read_u32:
0:  ldr     w2, [x0]
    str     w2, [x1]
    mov     x0, #0
    ret
    extable 0b, __nofault_efault
.size __nofault_read_u32, . - __nofault_read_u32

// i64 __nofault_read_u64(addr: x0, out: *mut u64)
.global __nofault_read_u64
.type __nofault_read_u64, %function
__nofault_read_u64:
0:  ldr     x2, [x0]
    str     x2, [x1]
    mov     x0, #0
    ret
    extable 0b, __nofault_efault
.size __nofault_read_u64, . - __nofault_read_u64

// i64 __nofault_write_u32(addr: x0, value: w1)
.global __nofault_write_u32
.type __nofault_write_u32, %function
__nofault_write_u32:
0:  str     w1, [x0]
    mov     x0, #0
    ret
    extable 0b, __nofault_efault
.size __nofault_write_u32, . - __nofault_write_u32

// i64 __nofault_write_u64(addr: x0, value: x1)
.global __nofault_write_u64
.type __nofault_write_u64, %function
__nofault_write_u64:
0:  str     x1, [x0]
    mov     x0, #0
    ret
    extable 0b, __nofault_efault
.size __nofault_write_u64, . - __nofault_write_u64

.type __nofault_efault, %function
__nofault_efault:
    mov     x0, #-14                    // -EFAULT
    ret
.size __nofault_efault, . - __nofault_efault
