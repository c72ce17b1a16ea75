//! PLACEHOLDER until the jump-label branch lands: a static key as a counter that call sites
//! load. Replaced by the real one (NOP/branch patched sites).

use core::sync::atomic::{AtomicI32, Ordering};

pub struct StaticKey {
    enabled: AtomicI32,
}

impl StaticKey {
    pub const fn new_false() -> Self {
        Self {
            enabled: AtomicI32::new(0),
        }
    }
}

pub fn static_key_enabled(key: &StaticKey) -> bool {
    key.enabled.load(Ordering::Relaxed) > 0
}

pub fn static_key_slow_inc(key: &StaticKey) {
    key.enabled.fetch_add(1, Ordering::Relaxed);
}

pub fn static_key_slow_dec(key: &StaticKey) {
    key.enabled.fetch_sub(1, Ordering::Relaxed);
}

#[macro_export]
macro_rules! static_branch_unlikely {
    ($key:expr) => {
        $crate::jump_label::static_key_enabled(&$key)
    };
}
