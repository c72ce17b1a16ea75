//! The `PROT_NONE` reservations of an address space (what Linux's VMA list records of
//! `mmap(PROT_NONE)` without any page behind it): sorted address ranges, pure logic, so
//! `mprotect`, `munmap` and `mmap` over them can be host-tested. Used by
//! `crate::process::mm`.

use alloc::vec::Vec;

use crate::fs::Errno;

/// Sorted, disjoint, non-adjacent `[start, end)` address ranges (page aligned): the
/// `PROT_NONE` reservations of an address space. Every change that can split a range reserves
/// its room first, so a failure (`ENOMEM`) leaves the set as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reserved(Vec<(u64, u64)>);

impl Reserved {
    /// Adds `[start, end)`, merging with the ranges it touches.
    pub fn insert(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        if start >= end {
            return Ok(());
        }
        self.0.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let (mut start, mut end) = (start, end);
        // Every range that overlaps or touches the new one is folded into it.
        self.0.retain(|&(s, e)| {
            if e < start || s > end {
                return true;
            }
            start = start.min(s);
            end = end.max(e);
            false
        });
        let at = self.0.partition_point(|&(s, _)| s < start);
        self.0.insert(at, (start, end));
        Ok(())
    }

    /// Removes `[start, end)`; a range it cuts in the middle becomes two.
    pub fn remove(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        if start >= end || !self.0.iter().any(|&(s, e)| s < end && e > start) {
            return Ok(());
        }
        self.0.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let mut kept = Vec::new();
        kept.try_reserve(self.0.len() + 1)
            .map_err(|_| Errno::ENOMEM)?;
        for &(s, e) in &self.0 {
            if e <= start || s >= end {
                kept.push((s, e));
                continue;
            }
            if s < start {
                kept.push((s, start));
            }
            if e > end {
                kept.push((end, e));
            }
        }
        self.0 = kept;
        Ok(())
    }

    /// A copy (for `fork`); `ENOMEM` when there is no memory for it.
    pub fn try_clone(&self) -> Result<Self, Errno> {
        let mut ranges = Vec::new();
        ranges
            .try_reserve(self.0.len())
            .map_err(|_| Errno::ENOMEM)?;
        ranges.extend_from_slice(&self.0);
        Ok(Self(ranges))
    }

    /// The reserved range holding `addr`, if any.
    pub fn containing(&self, addr: u64) -> Option<(u64, u64)> {
        let at = self.0.partition_point(|&(_, e)| e <= addr);
        self.0.get(at).copied().filter(|&(s, _)| s <= addr)
    }

    /// The parts of `[start, end)` that are reserved, in order.
    pub fn within(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.0
            .iter()
            .filter(move |&&(s, e)| s < end && e > start)
            .map(move |&(s, e)| (s.max(start), e.min(end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(set: &Reserved) -> &[(u64, u64)] {
        &set.0
    }

    #[test]
    fn insert_merges_overlapping_and_touching_ranges() {
        let mut set = Reserved::default();
        set.insert(0x5000, 0x6000).unwrap();
        set.insert(0x1000, 0x2000).unwrap();
        set.insert(0x8000, 0x9000).unwrap();
        assert_eq!(
            ranges(&set),
            [(0x1000, 0x2000), (0x5000, 0x6000), (0x8000, 0x9000)]
        );
        set.insert(0x2000, 0x3000).unwrap();
        assert_eq!(ranges(&set)[0], (0x1000, 0x3000));
        set.insert(0x5800, 0x8800).unwrap();
        assert_eq!(ranges(&set), [(0x1000, 0x3000), (0x5000, 0x9000)]);
        set.insert(0x4000, 0x4000).unwrap();
        assert_eq!(ranges(&set).len(), 2);
        set.insert(0, 0x10000).unwrap();
        assert_eq!(ranges(&set), [(0, 0x10000)]);
    }

    #[test]
    fn remove_splits_trims_and_drops() {
        let mut set = Reserved::default();
        set.insert(0x1000, 0x9000).unwrap();
        set.remove(0x3000, 0x4000).unwrap();
        assert_eq!(ranges(&set), [(0x1000, 0x3000), (0x4000, 0x9000)]);
        set.remove(0x0, 0x2000).unwrap();
        assert_eq!(ranges(&set), [(0x2000, 0x3000), (0x4000, 0x9000)]);
        set.remove(0x8000, 0x20000).unwrap();
        assert_eq!(ranges(&set), [(0x2000, 0x3000), (0x4000, 0x8000)]);
        set.remove(0x2000, 0x8000).unwrap();
        assert!(ranges(&set).is_empty());
        set.remove(0x2000, 0x1000).unwrap();
        assert!(ranges(&set).is_empty());
    }

    #[test]
    fn lookups() {
        let mut set = Reserved::default();
        set.insert(0x1000, 0x3000).unwrap();
        set.insert(0x5000, 0x6000).unwrap();
        assert_eq!(set.containing(0x1000), Some((0x1000, 0x3000)));
        assert_eq!(set.containing(0x2fff), Some((0x1000, 0x3000)));
        assert_eq!(set.containing(0x3000), None);
        assert_eq!(set.containing(0x0), None);
        assert_eq!(set.containing(0x5000), Some((0x5000, 0x6000)));
        assert_eq!(set.containing(0x7000), None);
        let within: Vec<_> = set.within(0x2000, 0x5800).collect();
        assert_eq!(within, [(0x2000, 0x3000), (0x5000, 0x5800)]);
        assert_eq!(set.within(0x3000, 0x5000).count(), 0);
        assert_eq!(set.try_clone().unwrap(), set);
    }
}
