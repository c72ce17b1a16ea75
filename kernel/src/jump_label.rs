//! Static keys, the generic half of jump labels (Linux: `include/linux/jump_label.h`,
//! `kernel/jump_label.c`).
//!
//! A key is a reference count; its branch sites (arch's `static_branch_likely!` /
//! `static_branch_unlikely!`) read as one `nop` or `b`, never as a load. Changing whether a key
//! is enabled rewrites every site of the key in one patch batch, so one stop-machine rendezvous
//! whatever their number (before the other CPUs are up, the batch is written directly, as all
//! text patching is). `jump_label_init` sorts the sites by key early in boot, before anything
//! may change a key; a key changed before that is a kernel bug.
//!
//! Counting, as Linux does it: `enabled` is the count of users, `-1` while the first enable
//! is patching. An increment of a key already on (or a decrement that leaves it on) is one
//! atomic operation and takes no lock; the transitions 0 → 1 and 1 → 0 take [`JUMP_LABEL`]
//! (Linux's `jump_label_mutex`), which serialises every patch. A second CPU incrementing while
//! the first enable patches finds `-1`, fails the fast path, waits for the lock and then finds
//! the key on: whoever's increment returns sees the sites enabled.

use core::sync::atomic::{AtomicI32, Ordering};

pub use arch::jump_label::StaticKeyType;

/// Linux's `struct static_key`: how many users want the key on (`-1`: the first enable is in
/// progress). Declared through [`StaticKeyFalse`] or [`StaticKeyTrue`].
pub struct StaticKey {
    enabled: AtomicI32,
}

impl StaticKey {
    const fn with_count(count: i32) -> Self {
        Self {
            enabled: AtomicI32::new(count),
        }
    }
}

/// Linux's `DEFINE_STATIC_KEY_FALSE`: a key that starts disabled, so its
/// `static_branch_unlikely!` sites start as `nop`.
#[repr(transparent)]
pub struct StaticKeyFalse {
    pub key: StaticKey,
}

/// Linux's `DEFINE_STATIC_KEY_TRUE`: a key that starts enabled (with one user), so its
/// `static_branch_likely!` sites start as `nop`.
#[repr(transparent)]
pub struct StaticKeyTrue {
    pub key: StaticKey,
}

impl StaticKeyFalse {
    pub const fn new() -> Self {
        Self {
            key: StaticKey::with_count(0),
        }
    }
}

impl Default for StaticKeyFalse {
    fn default() -> Self {
        Self::new()
    }
}

impl StaticKeyTrue {
    pub const fn new() -> Self {
        Self {
            key: StaticKey::with_count(1),
        }
    }
}

impl Default for StaticKeyTrue {
    fn default() -> Self {
        Self::new()
    }
}

impl core::ops::Deref for StaticKeyFalse {
    type Target = StaticKey;
    fn deref(&self) -> &StaticKey {
        &self.key
    }
}

impl core::ops::Deref for StaticKeyTrue {
    type Target = StaticKey;
    fn deref(&self) -> &StaticKey {
        &self.key
    }
}

// SAFETY: both are `repr(transparent)` over `StaticKey`, which is what the jump table's key
// addresses are read as.
unsafe impl StaticKeyType for StaticKeyFalse {
    const INIT_ENABLED: bool = false;
}

// SAFETY: as for `StaticKeyFalse`.
unsafe impl StaticKeyType for StaticKeyTrue {
    const INIT_ENABLED: bool = true;
}

/// Linux's `static_key_count`: the users, with the enable in progress counted as one.
pub fn static_key_count(key: &StaticKey) -> i32 {
    let n = key.enabled.load(Ordering::Acquire);
    if n >= 0 { n } else { 1 }
}

/// Linux's `static_key_enabled`: whether the key is (being) enabled. A load: branch on the key
/// with the macros instead on hot paths.
pub fn static_key_enabled(key: &StaticKey) -> bool {
    static_key_count(key) > 0
}

/// Linux's `static_key_fast_inc_not_disabled`: one more user of a key that is already on.
/// Fails (changing nothing) when the key is off, being enabled, or at `i32::MAX`.
#[cfg(any(test, target_os = "none"))]
fn fast_inc_not_disabled(enabled: &AtomicI32) -> bool {
    enabled
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
            (v > 0 && v < i32::MAX).then(|| v + 1)
        })
        .is_ok()
}

/// What [`dec_not_one`] found.
#[cfg(any(test, target_os = "none"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dec {
    /// Decremented; the key stays on.
    Done,
    /// The last user: the caller must disable under the lock.
    Last,
    /// Not on (0, or -1 while enabling): a decrement without a matching increment.
    Unbalanced(i32),
}

/// Linux's `static_key_dec_not_one`: one user fewer, unless it is the last one.
#[cfg(any(test, target_os = "none"))]
fn dec_not_one(enabled: &AtomicI32) -> Dec {
    let mut v = enabled.load(Ordering::Acquire);
    loop {
        if v <= 0 {
            return Dec::Unbalanced(v);
        }
        if v == 1 {
            return Dec::Last;
        }
        match enabled.compare_exchange_weak(v, v - 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Dec::Done,
            Err(now) => v = now,
        }
    }
}

#[cfg(target_os = "none")]
pub use transitions::*;

#[cfg(target_os = "none")]
mod transitions {
    use alloc::vec::Vec;
    use core::sync::atomic::Ordering;

    use arch::jump_label::{JumpSite, arch_jump_label_transform_apply, jump_sites};
    use arch::patching::{TextPatch, read_insn};
    use arch::spinlock::SpinLock;

    use super::{Dec, StaticKey, dec_not_one, fast_inc_not_disabled, static_key_enabled};
    use crate::stop_machine::cpu_stop_answer;

    /// The sites sorted by key (Linux sorts `__jump_table` in place; here a sorted copy), and
    /// room for one key's patches so a change never allocates.
    struct JumpTable {
        sites: Vec<JumpSite>,
        patches: Vec<TextPatch>,
    }

    /// Linux's `jump_label_mutex`: serialises key transitions and their patching. `None`
    /// until [`jump_label_init`]. Waited for answering any rendezvous, as the patch lock is.
    static JUMP_LABEL: SpinLock<Option<JumpTable>> = SpinLock::new(None);

    /// Sorts the branch sites by key and checks that each holds the instruction for its key's
    /// state (Linux: `jump_label_init`). Call once, early in boot, after the heap and before
    /// anything changes a key.
    pub fn jump_label_init() {
        let mut sites: Vec<JumpSite> = jump_sites().collect();
        sites.sort_unstable();
        let most = sites
            .chunk_by(|a, b| a.key == b.key)
            .map(<[JumpSite]>::len)
            .max()
            .unwrap_or(0);
        for site in &sites {
            let expected = site.insn(static_key_enabled(key_of(site))).ok();
            assert!(
                expected.is_some() && read_insn(site.code).ok() == expected,
                "jump_label: the site at {:#x} does not hold its key's instruction",
                site.code
            );
        }
        let mut table = JUMP_LABEL.lock();
        assert!(table.is_none(), "jump_label_init called twice");
        *table = Some(JumpTable {
            sites,
            patches: Vec::with_capacity(most),
        });
    }

    /// The key a site names.
    fn key_of(site: &JumpSite) -> &'static StaticKey {
        // SAFETY: the branch macros take the key as a `sym` of a static whose type implements
        // `StaticKeyType`, which only the `repr(transparent)` wrappers of `StaticKey` do.
        unsafe { &*(site.key as *const StaticKey) }
    }

    /// Runs `f` with the jump label lock held and the table ready.
    fn with_table<R>(f: impl FnOnce(&mut JumpTable) -> R) -> R {
        let mut table = JUMP_LABEL.lock_with(cpu_stop_answer);
        let table = table
            .as_mut()
            .expect("a static key changed before jump_label_init");
        f(table)
    }

    /// Rewrites every site of `key` for its current state, in one batch (Linux:
    /// `jump_label_update`). Called with the lock held, after the count changed.
    fn jump_label_update(table: &mut JumpTable, key: &StaticKey) {
        let addr = key as *const StaticKey as u64;
        let first = table.sites.partition_point(|s| s.key < addr);
        let last = table.sites.partition_point(|s| s.key <= addr);
        let enabled = static_key_enabled(key);
        table.patches.clear();
        for site in &table.sites[first..last] {
            let patch = site
                .patch(enabled)
                .expect("a static branch jumps out of range");
            table.patches.push(patch);
        }
        if table.patches.is_empty() {
            return;
        }
        if let Err(e) = arch_jump_label_transform_apply(&table.patches) {
            panic!("jump_label: patching the sites of key {addr:#x} failed: {e:?}");
        }
    }

    /// Linux's `static_key_slow_inc`: one more user; the first enables the key's sites. When
    /// this returns the key is enabled, even while another CPU's first increment is still
    /// patching. `false` (nothing changed) when the count is at `i32::MAX`.
    pub fn static_key_slow_inc(key: &StaticKey) -> bool {
        if fast_inc_not_disabled(&key.enabled) {
            return true;
        }
        with_table(|table| {
            if key
                .enabled
                .compare_exchange(0, -1, Ordering::Acquire, Ordering::Acquire)
                .is_ok()
            {
                jump_label_update(table, key);
                // Whoever then sees 1 (the fast paths) also sees the patched text.
                key.enabled.store(1, Ordering::Release);
                true
            } else {
                // Under the lock the count is never -1, so it is on (or saturated).
                fast_inc_not_disabled(&key.enabled)
            }
        })
    }

    /// Linux's `static_key_slow_dec`: one user fewer; the last disables the key's sites. A
    /// decrement without an increment is a bug in the caller: warned about, count unchanged.
    pub fn static_key_slow_dec(key: &StaticKey) {
        match dec_not_one(&key.enabled) {
            Dec::Done => {}
            Dec::Unbalanced(v) => warn_unbalanced(key, v),
            // Under the lock only fast increments can race, so the count stays positive.
            Dec::Last => with_table(|table| {
                if key.enabled.fetch_sub(1, Ordering::AcqRel) == 1 {
                    jump_label_update(table, key);
                }
            }),
        }
    }

    fn warn_unbalanced(key: &StaticKey, count: i32) {
        crate::println!(
            "jump_label: static_key_slow_dec of key {:#x} with count {count}: unbalanced",
            key as *const StaticKey as u64
        );
    }

    /// Linux's `static_key_enable`: on, whatever the count was (use either this pair or the
    /// counting pair on one key, not both).
    pub fn static_key_enable(key: &StaticKey) {
        if key.enabled.load(Ordering::Acquire) > 0 {
            return;
        }
        with_table(|table| {
            if key.enabled.load(Ordering::Acquire) == 0 {
                key.enabled.store(-1, Ordering::Relaxed);
                jump_label_update(table, key);
                key.enabled.store(1, Ordering::Release);
            }
        });
    }

    /// Linux's `static_key_disable`: off, whatever the count was.
    pub fn static_key_disable(key: &StaticKey) {
        if key.enabled.load(Ordering::Acquire) == 0 {
            return;
        }
        with_table(|table| {
            if key.enabled.swap(0, Ordering::AcqRel) != 0 {
                jump_label_update(table, key);
            }
        });
    }

    /// The sites of `key`, in address order (for tests and benchmarks that check the text).
    pub fn static_key_sites(key: &StaticKey) -> Vec<JumpSite> {
        let addr = key as *const StaticKey as u64;
        with_table(|table| {
            let mut sites: Vec<JumpSite> = table
                .sites
                .iter()
                .filter(|s| s.key == addr)
                .copied()
                .collect();
            sites.sort_unstable_by_key(|s| s.code);
            sites
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_increment_only_counts_a_key_already_on() {
        let key = AtomicI32::new(0);
        assert!(!fast_inc_not_disabled(&key));
        assert_eq!(key.load(Ordering::Relaxed), 0);
        key.store(-1, Ordering::Relaxed);
        assert!(
            !fast_inc_not_disabled(&key),
            "an enable in progress is not on yet"
        );
        assert_eq!(key.load(Ordering::Relaxed), -1);
        key.store(2, Ordering::Relaxed);
        assert!(fast_inc_not_disabled(&key));
        assert_eq!(key.load(Ordering::Relaxed), 3);
        key.store(i32::MAX, Ordering::Relaxed);
        assert!(!fast_inc_not_disabled(&key));
        assert_eq!(key.load(Ordering::Relaxed), i32::MAX);
    }

    #[test]
    fn the_fast_decrement_leaves_the_last_user_to_the_lock() {
        let key = AtomicI32::new(3);
        assert_eq!(dec_not_one(&key), Dec::Done);
        assert_eq!(dec_not_one(&key), Dec::Done);
        assert_eq!(key.load(Ordering::Relaxed), 1);
        assert_eq!(dec_not_one(&key), Dec::Last);
        assert_eq!(key.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn unbalanced_decrements_change_nothing() {
        for v in [0, -1] {
            let key = AtomicI32::new(v);
            assert_eq!(dec_not_one(&key), Dec::Unbalanced(v));
            assert_eq!(key.load(Ordering::Relaxed), v);
        }
    }

    #[test]
    fn an_enable_in_progress_counts_as_enabled() {
        let key = StaticKeyFalse::new();
        assert!(!static_key_enabled(&key));
        key.enabled.store(-1, Ordering::Relaxed);
        assert_eq!(static_key_count(&key), 1);
        assert!(static_key_enabled(&key));
        assert!(static_key_enabled(&StaticKeyTrue::new()));
    }
}
