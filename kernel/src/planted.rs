//! A deliberate `noinstr` violation, compiled only with the `plant-noinstr-violation` feature:
//! `cargo xtask test` builds the kernel with it and requires `cargo xtask build` to refuse the
//! image, naming this call. The image is never meant to boot.

use core::hint::black_box;

arch::noinstr! {
/// Calls a traceable function from `.noinstr.text`, outside any `instrumentation!` region.
#[inline(never)]
pub fn noinstr_calls_traced() -> u64 {
    traced(black_box(1))
}
}

/// An ordinary function: it has a patch site.
#[inline(never)]
fn traced(x: u64) -> u64 {
    black_box(x) + 1
}
