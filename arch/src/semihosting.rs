//! Leaving QEMU with an exit status, through Arm semihosting's SYS_EXIT (QEMU runs with
//! `-semihosting-config enable=on,target=native`). The statuses are chosen so that QEMU's own
//! failure (status 1) is never mistaken for a result.

use qemu_exit::QEMUExit;

/// A kernel panic, an unhandled exception or a BUG: the report has been printed.
pub const EXIT_KERNEL_PANIC: u32 = 101;
/// The in-kernel test image ran, and at least one test failed.
pub const EXIT_TESTS_FAILED: u32 = 2;

/// Ends the emulation with `status`.
pub fn exit(status: u32) -> ! {
    qemu_exit::AArch64::new().exit(status)
}
