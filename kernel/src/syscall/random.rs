//! Random bytes for `getrandom` and `AT_RANDOM`: a SplitMix64 stream whose state is stirred
//! with the generic timer's counter at every call.
//!
//! Not cryptographic: QEMU's `virt` board with a Cortex-A72 has no RNDR and we have no
//! virtio-rng driver yet. Good enough for stack canaries and hash seeds in test programs; a
//! later stage should seed from a real entropy source.

use core::sync::atomic::{AtomicU64, Ordering};

static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

fn next() -> u64 {
    let stir = arch::timer::counter_now().rotate_left(29);
    let z = STATE
        .fetch_add(0x9e37_79b9_7f4a_7c15 ^ stir, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15 ^ stir);
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        chunk.copy_from_slice(&next().to_le_bytes()[..chunk.len()]);
    }
}
