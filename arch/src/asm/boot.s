// Boot entry: the first instructions the boot CPU runs.
//
// The MMU is off and the image runs at its physical load address while it is linked at
// PAGE_OFFSET + that address, so everything up to the jump to `__primary_switched` is
// PC-relative. We build one early translation table with a single 1 GiB block covering the RAM
// the image was loaded into, install it as both the identity map (TTBR0) and the linear map
// (TTBR1), turn the MMU on and continue at the linked (virtual) address. The Rust side then builds
// the real page tables with per-section permissions.


// If entered at EL2 (e.g. -M virt,virtualization=on), continue at EL1: AArch64 EL1, EL1 owns
// the timers, DAIF masked.
.macro el2_to_el1
    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #2
    b.ne    8f
    mov     x1, #(1 << 31)              // HCR_EL2.RW: EL1 runs AArch64
    msr     hcr_el2, x1
    mov     x1, #3                      // CNTHCTL_EL2.EL1PCTEN | EL1PCEN
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #0x3c5                  // SPSR_EL2: EL1h, DAIF masked
    msr     spsr_el2, x1
    adr     x1, 8f
    msr     elr_el2, x1
    eret
8:
.endm

// Turn the MMU on with the given table roots (physical addresses); clobbers x1-x3.
.macro enable_mmu ttbr0, ttbr1
    ldr     x1, ={mair}
    msr     mair_el1, x1
    ldr     x1, ={tcr}
    mrs     x2, id_aa64mmfr0_el1
    and     x2, x2, #0xf                // PARange
    cmp     x2, #5
    mov     x3, #5
    csel    x2, x2, x3, ls              // at most 48-bit physical addresses with 4 KiB pages
    bfi     x1, x2, #32, #3             // TCR_EL1.IPS
    msr     tcr_el1, x1
    msr     ttbr0_el1, \ttbr0
    msr     ttbr1_el1, \ttbr1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    ldr     x1, ={sctlr}
    msr     sctlr_el1, x1
    isb
.endm

.section .text.boot, "ax"
.global _start
.type _start, %function
_start:
    mov     x19, x0                     // DTB address, if a Linux-style loader passed one

    el2_to_el1
    // x20 = early table (physical); zero it: it sits in .data, which the loader filled with zeros,
    // but a warm restart must not inherit a previous boot's entries.
    adrp    x20, early_pgtable_l1
    mov     x1, x20
    add     x2, x20, #4096
0:  stp     xzr, xzr, [x1], #16
    cmp     x1, x2
    b.lo    0b

    // One L1 block for the 1 GiB containing _start. Its L1 index is the same for the identity
    // address and for PAGE_OFFSET + it, because PAGE_OFFSET has no bits in [38:0].
    adr     x1, _start
    and     x1, x1, #0xffffffffc0000000
    lsr     x2, x1, #30
    and     x2, x2, #0x1ff
    ldr     x3, ={early_block_attrs}
    orr     x3, x3, x1
    str     x3, [x20, x2, lsl #3]

    // The table was written with the MMU and caches off: invalidate its lines so the table
    // walker, which looks up the cache once TCR says the walks are cacheable, sees memory.
    mrs     x3, ctr_el0
    ubfx    x3, x3, #16, #4             // CTR_EL0.DminLine: log2(words) of the smallest D line
    mov     x4, #4
    lsl     x4, x4, x3
    mov     x1, x20
    add     x2, x20, #4096
1:  dc      ivac, x1
    add     x1, x1, x4
    cmp     x1, x2
    b.lo    1b
    dsb     sy

    enable_mmu x20, x20

    ldr     x1, =__primary_switched
    br      x1
.size _start, . - _start

// Runs at the linked (virtual) address with the early tables.
.type __primary_switched, %function
__primary_switched:
    adrp    x1, __boot_stack_top
    add     x1, x1, :lo12:__boot_stack_top
    mov     sp, x1

    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
0:  cmp     x1, x2
    b.hs    1f
    stp     xzr, xzr, [x1], #16
    b       0b
1:
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    isb

    mov     x29, xzr                    // the frame-pointer chain ends here
    mov     x30, xzr
    mov     x0, x19
    bl      kernel_main
    b       .
.size __primary_switched, . - __primary_switched

// Entry for secondary CPUs, started by PSCI CPU_ON with x0 = their logical CPU number. The boot
// CPU has filled this CPU's slot of `secondary_data` (and cleaned it to PoC, since we read it
// with the MMU off):
// the final kernel root table and this CPU's stack. TTBR0 gets the early identity map only so
// that the instruction after the MMU turns on is still mapped; TTBR1 gets the final tables
// directly, as the MMU is off and no stale translation can exist yet.
.global secondary_entry
.type secondary_entry, %function
secondary_entry:
    mov     x19, x0
    el2_to_el1
    adrp    x20, early_pgtable_l1
    adrp    x1, secondary_data
    add     x1, x1, :lo12:secondary_data
    mov     x2, #{secondary_size}
    madd    x1, x19, x2, x1             // this CPU's own slot
    ldr     x21, [x1, #{secondary_ttbr1}]
    enable_mmu x20, x21
    ldr     x1, =__secondary_switched
    br      x1
.size secondary_entry, . - secondary_entry

.type __secondary_switched, %function
__secondary_switched:
    adrp    x1, secondary_data
    add     x1, x1, :lo12:secondary_data
    mov     x2, #{secondary_size}
    madd    x1, x19, x2, x1
    ldr     x2, [x1, #{secondary_stack}]
    mov     sp, x2
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    isb
    mov     x29, xzr
    mov     x30, xzr
    mov     x0, x19
    bl      secondary_start_kernel
    b       .
.size __secondary_switched, . - __secondary_switched

// Switch TTBR1 to a new root table (x0) without ever having two live tables mapping the same
// address differently: point TTBR1 at an empty table (x1), flush the TLB, then install the new
// root. Must be called through the identity map (TTBR0), since the kernel's own mapping is
// briefly gone; it touches no memory. Linux: idmap_cpu_replace_ttbr1.
.section .noinstr.text, "ax"
.global idmap_cpu_replace_ttbr1
.type idmap_cpu_replace_ttbr1, %function
idmap_cpu_replace_ttbr1:
    msr     ttbr1_el1, x1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    msr     ttbr1_el1, x0
    isb
    ret
.size idmap_cpu_replace_ttbr1, . - idmap_cpu_replace_ttbr1

.section .data.boot_pgtable, "aw"
.balign 4096
early_pgtable_l1:
    .space 4096
