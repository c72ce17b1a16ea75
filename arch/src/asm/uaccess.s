// User memory accessors (Linux: __arch_copy_from_user, __arch_copy_to_user,
// strncpy_from_user). Every load from or store to user memory has an __ex_table entry, so a bad
// user pointer ends the copy at its fixup instead of killing the kernel. The callers check the
// range lies below TASK_SIZE first (access_ok), so kernel memory is never the target.
//
// Byte by byte: simple and obviously correct about partial copies across a page edge; the
// return value says exactly how much was not copied.

.macro uaccess_extable insn, fixup
    .pushsection __ex_table, "a"
    .balign 8
    .quad \insn, \fixup
    .popsection
.endm

.section .noinstr.text, "ax"

// u64 __arch_copy_from_user(to: x0 (kernel), from: x1 (user), n: x2) -> bytes not copied
.global __arch_copy_from_user
.type __arch_copy_from_user, %function
__arch_copy_from_user:
    cbz     x2, 2f
1:
0:  ldrb    w3, [x1]
    strb    w3, [x0], #1
    add     x1, x1, #1
    subs    x2, x2, #1
    b.ne    1b
2:  mov     x0, x2
    ret
    uaccess_extable 0b, __uaccess_fixup_remaining
.size __arch_copy_from_user, . - __arch_copy_from_user

// u64 __arch_copy_to_user(to: x0 (user), from: x1 (kernel), n: x2) -> bytes not copied
.global __arch_copy_to_user
.type __arch_copy_to_user, %function
__arch_copy_to_user:
    cbz     x2, 2f
1:  ldrb    w3, [x1], #1
0:  strb    w3, [x0]
    add     x0, x0, #1
    subs    x2, x2, #1
    b.ne    1b
2:  mov     x0, x2
    ret
    uaccess_extable 0b, __uaccess_fixup_remaining
.size __arch_copy_to_user, . - __arch_copy_to_user

// i64 __arch_strncpy_from_user(dst: x0 (kernel), src: x1 (user), n: x2): the string's length
// if a NUL came within n bytes (copied with it), n if none did, -EFAULT on a fault.
.global __arch_strncpy_from_user
.type __arch_strncpy_from_user, %function
__arch_strncpy_from_user:
    mov     x4, #0
1:  cmp     x4, x2
    b.hs    2f
0:  ldrb    w3, [x1, x4]
    strb    w3, [x0, x4]
    cbz     w3, 2f
    add     x4, x4, #1
    b       1b
2:  mov     x0, x4
    ret
    uaccess_extable 0b, __uaccess_fixup_efault
.size __arch_strncpy_from_user, . - __arch_strncpy_from_user

.type __uaccess_fixup_remaining, %function
__uaccess_fixup_remaining:
    mov     x0, x2
    ret
.size __uaccess_fixup_remaining, . - __uaccess_fixup_remaining

.type __uaccess_fixup_efault, %function
__uaccess_fixup_efault:
    mov     x0, #-14                    // -EFAULT
    ret
.size __uaccess_fixup_efault, . - __uaccess_fixup_efault
