//! Software breakpoints: the instruction at the address is replaced by `brk #0` (Linux arm64's
//! `AARCH64_BREAK_MON`, what gdb and gdbserver use), and the original is kept to put back.
//! The tracee's BRK stops it with SIGTRAP / `TRAP_BRKPT`, its PC at the BRK.

/// `brk #0`.
pub const AARCH64_BREAKPOINT: u32 = 0xd420_0000;
/// The only breakpoint kind gdb asks for on AArch64: 4 bytes.
pub const AARCH64_BREAKPOINT_KIND: usize = 4;

/// Why a breakpoint cannot be inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakpointError {
    /// Not on an instruction boundary, or not gdb's 4-byte kind.
    Misaligned,
    /// Every slot is taken.
    Full,
}

/// The inserted breakpoints, at most `N`.
pub struct SwBreakpoints<const N: usize> {
    /// (address, original instruction).
    slots: [Option<(u64, u32)>; N],
}

impl<const N: usize> Default for SwBreakpoints<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SwBreakpoints<N> {
    pub const fn new() -> Self {
        Self { slots: [None; N] }
    }

    /// Checks a `Z0,addr,kind` request before the text is touched.
    pub fn check(&self, addr: u64, kind: usize) -> Result<(), BreakpointError> {
        if !addr.is_multiple_of(4) || kind != AARCH64_BREAKPOINT_KIND {
            return Err(BreakpointError::Misaligned);
        }
        if !self.contains(addr) && self.slots.iter().all(Option::is_some) {
            return Err(BreakpointError::Full);
        }
        Ok(())
    }

    /// Records a breakpoint at `addr` whose replaced instruction was `original`. Inserting one
    /// that is already there keeps the first original (the text now holds a BRK).
    pub fn insert(&mut self, addr: u64, original: u32) -> Result<(), BreakpointError> {
        if self.contains(addr) {
            return Ok(());
        }
        let slot = self
            .slots
            .iter_mut()
            .find(|slot| slot.is_none())
            .ok_or(BreakpointError::Full)?;
        *slot = Some((addr, original));
        Ok(())
    }

    /// Forgets the breakpoint at `addr`: the instruction to write back.
    pub fn remove(&mut self, addr: u64) -> Option<u32> {
        let slot = self
            .slots
            .iter_mut()
            .find(|slot| matches!(slot, Some((at, _)) if *at == addr))?;
        slot.take().map(|(_, original)| original)
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.iter().any(|(at, _)| at == addr)
    }

    /// Every (address, original instruction).
    pub fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.slots.iter().flatten().copied()
    }

    /// Shows memory read at `start` as the program has it: the originals in place of our BRKs.
    pub fn unpatch(&self, start: u64, data: &mut [u8]) {
        for (addr, original) in self.iter() {
            for (i, byte) in original.to_le_bytes().into_iter().enumerate() {
                let at = addr.wrapping_add(i as u64).wrapping_sub(start);
                if let Some(slot) = usize::try_from(at).ok().and_then(|at| data.get_mut(at)) {
                    *slot = byte;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_limits() {
        let mut bps = SwBreakpoints::<2>::new();
        assert_eq!(bps.check(0x1002, 4), Err(BreakpointError::Misaligned));
        assert_eq!(bps.check(0x1000, 2), Err(BreakpointError::Misaligned));
        assert_eq!(bps.check(0x1000, 4), Ok(()));
        bps.insert(0x1000, 0xaa).unwrap();
        bps.insert(0x1000, AARCH64_BREAKPOINT).unwrap();
        bps.insert(0x2000, 0xbb).unwrap();
        assert_eq!(bps.check(0x3000, 4), Err(BreakpointError::Full));
        assert_eq!(bps.check(0x1000, 4), Ok(()));
        assert_eq!(bps.insert(0x3000, 0xcc), Err(BreakpointError::Full));
        assert!(bps.contains(0x2000));
        assert_eq!(bps.remove(0x1000), Some(0xaa), "the first original is kept");
        assert_eq!(bps.remove(0x1000), None);
        assert_eq!(bps.iter().collect::<Vec<_>>(), [(0x2000, 0xbb)]);
    }

    #[test]
    fn reads_show_the_original_instructions() {
        let mut bps = SwBreakpoints::<4>::new();
        bps.insert(0x1004, 0x1122_3344).unwrap();
        bps.insert(0x0ffc, 0x5566_7788).unwrap();
        let brk = AARCH64_BREAKPOINT.to_le_bytes();
        let mut data = [0u8; 8];
        data[4..8].copy_from_slice(&brk);
        bps.unpatch(0x1000, &mut data);
        assert_eq!(data, [0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
        // A read that covers only part of a breakpoint.
        let mut part = [0u8; 2];
        bps.unpatch(0x1006, &mut part);
        assert_eq!(part, [0x22, 0x11]);
        let mut before = [9u8; 2];
        bps.unpatch(0x0ffe, &mut before);
        assert_eq!(before, [0x66, 0x55]);
    }
}
