//! The kernel image. Everything lives in the library; `arch`'s boot code jumps to
//! `kernel::boot::kernel_main` once the MMU is on.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
use kernel as _;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "the kernel image only builds for aarch64-unknown-none-softfloat: use `cargo xtask run`"
    );
}
