//! Hardware watchpoints through `NT_ARM_HW_WATCH` (arch/arm64/kernel/ptrace.c `hw_break_get`
//! and `hw_break_set`): the regset is `struct user_hwdebug_state`, a `dbg_info` word (bits 0-7
//! the number of slots, 8-15 the debug architecture) and per slot an address and a control word
//! laid out as DBGWCR_EL1 (arch/arm64/include/asm/hw_breakpoint.h `encode_ctrl_reg`).
//!
//! A watchpoint covers bytes of one aligned doubleword, chosen by the byte-address-select mask
//! (BAS), as gdb's aarch64 code aligns them (`aarch64_align_watch`): a gdb watch that crosses
//! a doubleword boundary takes one slot per doubleword.

use gdbstub::target::ext::breakpoints::WatchKind;

/// `NT_ARM_HW_WATCH`.
pub const NT_ARM_HW_WATCH: usize = 0x403;
/// `ARM_MAX_WRP`: the most slots the regset has.
pub const ARM_MAX_WRP: usize = 16;
/// `offsetof(struct user_hwdebug_state, dbg_regs)`.
const DBG_REGS_OFFSET: usize = 8;
/// One `dbg_regs` entry: `u64 addr; u32 ctrl; u32 pad`.
const DBG_REG_SIZE: usize = 16;
/// `sizeof(struct user_hwdebug_state)`.
pub const USER_HWDEBUG_STATE_SIZE: usize = DBG_REGS_OFFSET + ARM_MAX_WRP * DBG_REG_SIZE;

/// Control word fields: `ARM_BREAKPOINT_LOAD`/`STORE` (bits 3-4), `AARCH64_BREAKPOINT_EL0`
/// (privilege, bits 1-2), enable (bit 0); BAS is bits 5-12.
const ARM_BREAKPOINT_LOAD: u32 = 1;
const ARM_BREAKPOINT_STORE: u32 = 2;
const AARCH64_BREAKPOINT_EL0: u32 = 2;

/// The control word of an enabled EL0 watchpoint on the bytes `bas` selects.
pub fn encode_ctrl(kind: WatchKind, bas: u8) -> u32 {
    let access = match kind {
        WatchKind::Read => ARM_BREAKPOINT_LOAD,
        WatchKind::Write => ARM_BREAKPOINT_STORE,
        WatchKind::ReadWrite => ARM_BREAKPOINT_LOAD | ARM_BREAKPOINT_STORE,
    };
    u32::from(bas) << 5 | access << 3 | AARCH64_BREAKPOINT_EL0 << 1 | 1
}

/// The (aligned doubleword, BAS) pieces covering `[addr, addr + len)`.
pub fn pieces(addr: u64, len: u64) -> impl Iterator<Item = (u64, u8)> {
    crate::mem::word_chunks(addr, len as usize).map(|chunk| {
        let bas = ((1u16 << chunk.in_word.end) - (1u16 << chunk.in_word.start)) as u8;
        (chunk.word_addr, bas)
    })
}

/// One slot in use: its register values and the gdb watchpoint it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    addr: u64,
    ctrl: u32,
    watch: (u64, u64, WatchKind),
}

/// Why a watchpoint cannot be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchError {
    /// Zero length, or not enough free slots.
    NoSlots,
}

/// The tracee's watchpoint slots, as gdb's `Z2`-`Z4` packets fill them.
pub struct Watchpoints {
    slots: [Option<Slot>; ARM_MAX_WRP],
    /// How many the CPU has (`dbg_info` bits 0-7).
    count: usize,
}

impl Watchpoints {
    /// Slots as `dbg_info` (the first word `PTRACE_GETREGSET` gives) describes them.
    pub fn new(dbg_info: u32) -> Self {
        Watchpoints {
            slots: [None; ARM_MAX_WRP],
            count: ((dbg_info & 0xff) as usize).min(ARM_MAX_WRP),
        }
    }

    /// How many slots the CPU has.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Takes slots for gdb's watchpoint on `[addr, addr + len)`; nothing changes on failure.
    pub fn add(&mut self, addr: u64, len: u64, kind: WatchKind) -> Result<(), WatchError> {
        let needed = pieces(addr, len).count();
        let free = self.slots[..self.count]
            .iter()
            .filter(|s| s.is_none())
            .count();
        if needed == 0 || needed > free {
            return Err(WatchError::NoSlots);
        }
        let mut free_slots = self.slots[..self.count].iter_mut().filter(|s| s.is_none());
        for (word, bas) in pieces(addr, len) {
            if let Some(slot) = free_slots.next() {
                *slot = Some(Slot {
                    addr: word,
                    ctrl: encode_ctrl(kind, bas),
                    watch: (addr, len, kind),
                });
            }
        }
        Ok(())
    }

    /// Frees gdb's watchpoint on `[addr, addr + len)`: whether it was there.
    pub fn remove(&mut self, addr: u64, len: u64, kind: WatchKind) -> bool {
        let mut found = false;
        for slot in &mut self.slots {
            if slot.is_some_and(|s| s.watch == (addr, len, kind)) {
                *slot = None;
                found = true;
            }
        }
        found
    }

    /// The gdb watchpoint a hit at `addr` (the tracee's `si_addr`) belongs to: its start and
    /// kind. A hit is reported on the watched doubleword, so the access may lie outside gdb's
    /// exact range; the nearest watch wins.
    pub fn hit(&self, addr: u64) -> Option<(u64, WatchKind)> {
        self.slots
            .iter()
            .flatten()
            .min_by_key(|slot| {
                let (start, len, _) = slot.watch;
                if addr < start {
                    start - addr
                } else {
                    addr.saturating_sub(start.saturating_add(len.saturating_sub(1)))
                }
            })
            .map(|slot| (slot.watch.0, slot.watch.2))
    }

    /// The regset to `PTRACE_SETREGSET`, and how many of its bytes to pass: the header and
    /// exactly the CPU's slots (Linux refuses slots beyond them).
    pub fn encode(&self) -> ([u8; USER_HWDEBUG_STATE_SIZE], usize) {
        let mut state = [0u8; USER_HWDEBUG_STATE_SIZE];
        for (i, slot) in self.slots[..self.count].iter().enumerate() {
            let at = DBG_REGS_OFFSET + i * DBG_REG_SIZE;
            if let Some(slot) = slot {
                state[at..at + 8].copy_from_slice(&slot.addr.to_le_bytes());
                state[at + 8..at + 12].copy_from_slice(&slot.ctrl.to_le_bytes());
            }
        }
        (state, DBG_REGS_OFFSET + self.count * DBG_REG_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_words_as_linux_encodes_them() {
        // A 4-byte write watch at an aligned address: BAS 0b1111, store, EL0, enabled.
        assert_eq!(
            encode_ctrl(WatchKind::Write, 0x0f),
            0x0f << 5 | 2 << 3 | 2 << 1 | 1
        );
        assert_eq!(encode_ctrl(WatchKind::Read, 0xff) >> 3 & 3, 1);
        assert_eq!(encode_ctrl(WatchKind::ReadWrite, 0x01) >> 3 & 3, 3);
    }

    #[test]
    fn pieces_per_doubleword() {
        assert_eq!(pieces(0x1000, 8).collect::<Vec<_>>(), [(0x1000, 0xff)]);
        assert_eq!(pieces(0x1004, 4).collect::<Vec<_>>(), [(0x1000, 0xf0)]);
        assert_eq!(pieces(0x1003, 1).collect::<Vec<_>>(), [(0x1000, 0x08)]);
        assert_eq!(
            pieces(0x1006, 4).collect::<Vec<_>>(),
            [(0x1000, 0xc0), (0x1008, 0x03)]
        );
        assert_eq!(pieces(0x1000, 0).count(), 0);
    }

    #[test]
    fn slots_fill_encode_and_free() {
        // dbg_info: debug architecture 6 (ARMv8), 4 watchpoints, as QEMU's cortex-a72.
        let mut watch = Watchpoints::new(0x0604);
        assert_eq!(watch.count(), 4);
        watch.add(0x41_2004, 4, WatchKind::Write).unwrap();
        watch.add(0x41_2106, 4, WatchKind::Read).unwrap();
        assert_eq!(
            watch.add(0x41_3006, 4, WatchKind::Read),
            Err(WatchError::NoSlots)
        );
        assert_eq!(
            watch.add(0x41_3000, 0, WatchKind::Read),
            Err(WatchError::NoSlots)
        );
        let (state, len) = watch.encode();
        assert_eq!(len, 8 + 4 * 16);
        assert_eq!(&state[0..8], &[0; 8]);
        assert_eq!(&state[8..16], &0x41_2000u64.to_le_bytes());
        assert_eq!(
            &state[16..20],
            &encode_ctrl(WatchKind::Write, 0xf0).to_le_bytes()
        );
        assert_eq!(&state[24..32], &0x41_2100u64.to_le_bytes());
        assert_eq!(&state[40..48], &0x41_2108u64.to_le_bytes());
        assert_eq!(&state[56..72], &[0; 16], "the fourth slot is free");
        assert_eq!(watch.hit(0x41_2004), Some((0x41_2004, WatchKind::Write)));
        assert_eq!(watch.hit(0x41_2108), Some((0x41_2106, WatchKind::Read)));
        assert!(watch.remove(0x41_2106, 4, WatchKind::Read));
        assert!(!watch.remove(0x41_2106, 4, WatchKind::Read));
        let (state, _) = watch.encode();
        assert_eq!(&state[24..56], &[0; 32]);
        watch.add(0x41_3006, 4, WatchKind::Read).unwrap();
        assert!(watch.remove(0x41_2004, 4, WatchKind::Write));
        assert!(watch.remove(0x41_3006, 4, WatchKind::Read));
        assert_eq!(watch.hit(0x41_2004), None);
    }

    #[test]
    fn never_more_slots_than_the_regset_has() {
        assert_eq!(Watchpoints::new(0xff).count(), ARM_MAX_WRP);
        assert_eq!(Watchpoints::new(0).count(), 0);
        assert_eq!(
            Watchpoints::new(0).add(0x1000, 4, WatchKind::Write),
            Err(WatchError::NoSlots)
        );
    }
}
