//! Pid lists (Linux: `kernel/trace/pid_list.c` and `trace_pid_write` in `trace.c`): the sets
//! behind `set_event_pid` and `set_event_notrace_pid`, and the parser of what users write to
//! them.
//!
//! A [`PidList`] is a bitmap of the pids below [`PID_MAX_DEFAULT`] plus a sorted array of the
//! larger ones a user wrote. Bits are atomics, so the tracing side tests them lock-free and
//! `event-fork` adds a child (or drops a freed task) in place, without building a new list;
//! the array never changes once built. Our pids count up from 1, so every task of a realistic
//! run is in the bitmap; a pid beyond it is added to a copy instead.
//!
//! Reads list the pids in increasing order, as Linux's `trace_pid_list_next` walks its bitmap.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::fs::Errno;

/// Linux's `PID_MAX_DEFAULT` (`0x8000`): the pids the bitmap covers.
pub const PID_MAX_DEFAULT: u32 = 0x8000;
/// Linux's `MAX_PID` in `pid_list.h` (30 bits): larger values cannot be listed (EPERM).
pub const MAX_PID: u32 = 1 << 30;
/// Linux's `PID_BUF_SIZE`: the longest pid token a write may hold (EINVAL beyond).
pub const PID_BUF_SIZE: usize = 127;

const WORDS: usize = PID_MAX_DEFAULT as usize / 64;

/// A set of pids.
pub struct PidList {
    /// Bit `pid` for every pid below [`PID_MAX_DEFAULT`].
    bits: Box<[AtomicU64]>,
    /// The listed pids from [`PID_MAX_DEFAULT`] up, sorted, without duplicates.
    extra: Box<[u32]>,
}

impl PidList {
    /// A list of `old`'s pids (if any) and `added`'s; `None` when that is no pid at all (Linux
    /// frees an empty list). Every pid must be below [`MAX_PID`]. `ENOMEM` when it cannot be
    /// allocated.
    pub fn try_new(old: Option<&PidList>, added: &[u32]) -> Result<Option<Self>, Errno> {
        let mut bits = Vec::new();
        bits.try_reserve_exact(WORDS).map_err(|_| Errno::ENOMEM)?;
        bits.resize_with(WORDS, || AtomicU64::new(0));
        let mut extra: Vec<u32> = Vec::new();
        let old_extra = old.map_or(&[][..], |o| &o.extra[..]);
        let new_extra = added.iter().filter(|&&p| p >= PID_MAX_DEFAULT);
        extra
            .try_reserve_exact(old_extra.len() + new_extra.clone().count())
            .map_err(|_| Errno::ENOMEM)?;
        extra.extend(old_extra.iter().chain(new_extra));
        extra.sort_unstable();
        extra.dedup();
        let list = Self {
            bits: bits.into_boxed_slice(),
            extra: extra.into_boxed_slice(),
        };
        if let Some(old) = old {
            for (new, old) in list.bits.iter().zip(old.bits.iter()) {
                new.store(old.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        for &pid in added.iter().filter(|&&p| p < PID_MAX_DEFAULT) {
            list.set_bit(pid);
        }
        Ok((!list.is_empty()).then_some(list))
    }

    fn set_bit(&self, pid: u32) {
        self.bits[pid as usize / 64].fetch_or(1 << (pid % 64), Ordering::Relaxed);
    }

    /// Whether `pid` is listed (Linux's `trace_pid_list_is_set`). Lock-free.
    #[inline(always)]
    pub fn is_set(&self, pid: u32) -> bool {
        match self.bits.get(pid as usize / 64) {
            Some(word) => word.load(Ordering::Relaxed) & (1 << (pid % 64)) != 0,
            None => self.extra.binary_search(&pid).is_ok(),
        }
    }

    /// Lists `pid` without building a new list, if it can (it is below
    /// [`PID_MAX_DEFAULT`] or listed already): whether it did.
    pub fn set_in_place(&self, pid: u32) -> bool {
        if pid < PID_MAX_DEFAULT {
            self.set_bit(pid);
            return true;
        }
        self.is_set(pid)
    }

    /// Unlists `pid` if it is in the bitmap (the array is never changed; a pid there was
    /// written by the user and no task of ours has it yet).
    pub fn clear_in_place(&self, pid: u32) {
        if let Some(word) = self.bits.get(pid as usize / 64) {
            word.fetch_and(!(1 << (pid % 64)), Ordering::Relaxed);
        }
    }

    /// The listed pids, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let low = self.bits.iter().enumerate().flat_map(|(i, word)| {
            let w = word.load(Ordering::Relaxed);
            (0..64)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| (i * 64 + b) as u32)
        });
        low.chain(self.extra.iter().copied())
    }

    pub fn is_empty(&self) -> bool {
        self.extra.is_empty() && self.bits.iter().all(|w| w.load(Ordering::Relaxed) == 0)
    }
}

/// Linux's `kstrtoul(s, 0, ..)`: an optional `+`, then hex after `0x`/`0X`, octal after a
/// leading `0`, else decimal; the whole token, no overflow.
fn kstrtoul(token: &str) -> Option<u64> {
    let token = token.strip_prefix('+').unwrap_or(token);
    let (digits, radix) = if let Some(hex) = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        (hex, 16)
    } else if token.len() > 1 && token.starts_with('0') {
        (&token[1..], 8)
    } else {
        (token, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The pids of a `set_event_pid` / `set_event_notrace_pid` write (Linux's `trace_pid_write`):
/// whitespace-separated numbers as `kstrtoul` reads them. A token that is not one, or longer
/// than [`PID_BUF_SIZE`], is `EINVAL`; a number is cut to a 32-bit pid as Linux's `(pid_t)`
/// cast does, and one at or above [`MAX_PID`] fails with `EPERM` (Linux returns -1 there).
pub fn parse_pids(data: &[u8]) -> Result<Vec<u32>, Errno> {
    let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let mut pids = Vec::new();
    for token in text.split_ascii_whitespace() {
        if token.len() > PID_BUF_SIZE {
            return Err(Errno::EINVAL);
        }
        let pid = kstrtoul(token).ok_or(Errno::EINVAL)? as u32;
        if pid >= MAX_PID {
            return Err(Errno::EPERM);
        }
        pids.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        pids.push(pid);
    }
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(old: Option<&PidList>, pids: &[u32]) -> Option<PidList> {
        PidList::try_new(old, pids).unwrap()
    }

    fn pids(l: &PidList) -> Vec<u32> {
        l.iter().collect()
    }

    #[test]
    fn parses_what_linux_accepts() {
        assert_eq!(parse_pids(b"1\n"), Ok(vec![1]));
        assert_eq!(parse_pids(b" 2  3\t4\n"), Ok(vec![2, 3, 4]));
        assert_eq!(parse_pids(b"99999999"), Ok(vec![99_999_999]));
        assert_eq!(parse_pids(b"0x10 010 +5 0"), Ok(vec![16, 8, 5, 0]));
        // Linux's (pid_t) cast keeps the low 32 bits.
        assert_eq!(parse_pids(b"4294967297"), Ok(vec![1]));
        assert_eq!(parse_pids(b"\n"), Ok(vec![]));
        assert_eq!(parse_pids(b""), Ok(vec![]));
    }

    #[test]
    fn refuses_what_linux_refuses() {
        for bad in [
            &b"abc"[..],
            b"-1",
            b"1,2",
            b"1 x",
            b"0x",
            b"09",
            b"+",
            b"18446744073709551616",
            b"\xff",
        ] {
            assert_eq!(parse_pids(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        let long = "1".repeat(PID_BUF_SIZE + 1);
        assert_eq!(parse_pids(long.as_bytes()), Err(Errno::EINVAL));
        assert_eq!(parse_pids(b"1073741824"), Err(Errno::EPERM));
        assert_eq!(parse_pids(b"4294967295"), Err(Errno::EPERM));
        assert_eq!(parse_pids(b"1073741823"), Ok(vec![MAX_PID - 1]));
    }

    #[test]
    fn lists_are_sorted_and_merge_with_the_old_one() {
        let a = list(None, &[40_000, 3, 1, 3, 64, 99_999_999]).unwrap();
        assert_eq!(pids(&a), [1, 3, 64, 40_000, 99_999_999]);
        let b = list(Some(&a), &[2, 40_000, 50_000]).unwrap();
        assert_eq!(pids(&b), [1, 2, 3, 64, 40_000, 50_000, 99_999_999]);
        assert!(b.is_set(2) && b.is_set(50_000) && !b.is_set(4) && !b.is_set(40_001));
        // The old list is not changed.
        assert!(!a.is_set(2));
        assert!(list(None, &[]).is_none());
        assert_eq!(pids(&list(Some(&a), &[]).unwrap()), pids(&a));
    }

    #[test]
    fn in_place_changes_cover_the_bitmap() {
        let l = list(None, &[5]).unwrap();
        assert!(l.set_in_place(7) && l.is_set(7));
        assert!(l.set_in_place(PID_MAX_DEFAULT - 1));
        assert!(!l.set_in_place(PID_MAX_DEFAULT));
        assert!(!l.is_set(PID_MAX_DEFAULT));
        l.clear_in_place(5);
        assert_eq!(pids(&l), [7, PID_MAX_DEFAULT - 1]);
        l.clear_in_place(7);
        l.clear_in_place(PID_MAX_DEFAULT - 1);
        assert!(l.is_empty());
    }
}
