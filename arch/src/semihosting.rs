//! Leaving QEMU with an exit status, through Arm semihosting's SYS_EXIT (QEMU runs with
//! `-semihosting-config enable=on,target=native`). The statuses are chosen so that QEMU's own
//! failure (status 1) is never mistaken for a result.
//!
//! The call is made here rather than through the `qemu-exit` crate: the exception path ends in
//! it and is `noinstr`, and the crate's functions are traceable.

/// A kernel panic, an unhandled exception or a BUG: the report has been printed.
pub const EXIT_KERNEL_PANIC: u32 = 101;
/// The in-kernel test image ran, and at least one test failed.
pub const EXIT_TESTS_FAILED: u32 = 2;

/// The semihosting operation number of SYS_EXIT (Arm's "Semihosting for AArch32 and AArch64").
const SYS_EXIT: u64 = 0x18;
/// SYS_EXIT's reason code that makes QEMU exit with the status in the parameter block's second
/// word (any other reason exits with status 1).
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

crate::noinstr! {
/// Ends the emulation with `status`. Untraced: the exception path's last resort.
pub fn exit(status: u32) -> ! {
    let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, u64::from(status)];
    // SAFETY: `hlt #0xf000` is the AArch64 semihosting trap; SYS_EXIT reads the two-word
    // parameter block `x1` points to and does not return when QEMU honours it.
    unsafe {
        core::arch::asm!("hlt #0xf000", in("x0") SYS_EXIT, in("x1") block.as_ptr(), options(nostack))
    };
    // Semihosting is off: nothing else can stop the machine, so stay here.
    loop {
        // SAFETY: waits for an event; no memory or state is touched.
        unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
    }
}
}
