//! The tracee's memory, one aligned 64-bit word at a time as `PTRACE_PEEKDATA` gives it, and
//! the reads built on it. Aligned words never straddle a page, so a string that ends just
//! before an unmapped page still reads.

/// A source of the tracee's words.
pub trait Memory {
    /// The 8 bytes at `addr` (a multiple of 8), or `None` if they cannot be read.
    fn peek(&mut self, addr: u64) -> Option<u64>;
}

/// Fills `buf` from `addr`; false if any byte of it cannot be read.
pub fn read(mem: &mut impl Memory, addr: u64, buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let Some(at) = addr.checked_add(done as u64) else {
            return false;
        };
        let word_addr = at & !7;
        let Some(word) = mem.peek(word_addr) else {
            return false;
        };
        let bytes = word.to_le_bytes();
        let offset = (at - word_addr) as usize;
        let n = (8 - offset).min(buf.len() - done);
        buf[done..done + n].copy_from_slice(&bytes[offset..offset + n]);
        done += n;
    }
    true
}

/// Reads a NUL-terminated string at `addr` into `buf`, up to `buf.len()` bytes: the length
/// read (without the NUL) and whether the NUL was seen; `None` if the first byte cannot be
/// read. A fault after some bytes ends the string there, unterminated.
pub fn read_cstr(mem: &mut impl Memory, addr: u64, buf: &mut [u8]) -> Option<(usize, bool)> {
    let mut len = 0;
    while len < buf.len() {
        let at = addr.checked_add(len as u64)?;
        let word_addr = at & !7;
        let Some(word) = mem.peek(word_addr) else {
            return if len == 0 { None } else { Some((len, false)) };
        };
        let bytes = word.to_le_bytes();
        for &byte in &bytes[(at - word_addr) as usize..] {
            if byte == 0 {
                return Some((len, true));
            }
            if len == buf.len() {
                return Some((len, false));
            }
            buf[len] = byte;
            len += 1;
        }
    }
    // Full: one look further says whether the string ends exactly here.
    let mut next = [0u8; 1];
    let terminated = addr
        .checked_add(len as u64)
        .is_some_and(|at| read(mem, at, &mut next) && next[0] == 0);
    Some((len, terminated))
}

pub fn read_u64(mem: &mut impl Memory, addr: u64) -> Option<u64> {
    let mut buf = [0u8; 8];
    read(mem, addr, &mut buf).then(|| u64::from_le_bytes(buf))
}

pub fn read_u32(mem: &mut impl Memory, addr: u64) -> Option<u32> {
    let mut buf = [0u8; 4];
    read(mem, addr, &mut buf).then(|| u32::from_le_bytes(buf))
}

/// A memory made of byte regions, for tests.
#[cfg(test)]
pub mod fake {
    use super::Memory;
    use std::vec::Vec;

    #[derive(Default)]
    pub struct FakeMemory {
        regions: Vec<(u64, Vec<u8>)>,
        pub peeks: usize,
    }

    impl FakeMemory {
        pub fn new() -> Self {
            Self::default()
        }

        /// Maps `bytes` at `addr` (whole words around them read as zero).
        pub fn map(&mut self, addr: u64, bytes: &[u8]) -> &mut Self {
            self.regions.push((addr, bytes.to_vec()));
            self
        }

        fn byte(&self, addr: u64) -> Option<u8> {
            self.regions.iter().find_map(|(start, bytes)| {
                let offset = addr.checked_sub(*start)?;
                bytes.get(offset as usize).copied()
            })
        }

        fn word_mapped(&self, addr: u64) -> bool {
            (0..8).any(|i| self.byte(addr + i).is_some())
        }
    }

    impl Memory for FakeMemory {
        fn peek(&mut self, addr: u64) -> Option<u64> {
            assert_eq!(addr % 8, 0, "unaligned peek");
            self.peeks += 1;
            if !self.word_mapped(addr) {
                return None;
            }
            let mut bytes = [0u8; 8];
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = self.byte(addr + i as u64).unwrap_or(0);
            }
            Some(u64::from_le_bytes(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeMemory;
    use super::*;

    #[test]
    fn reads_across_words() {
        let mut mem = FakeMemory::new();
        mem.map(0x1003, b"0123456789abcdef");
        let mut buf = [0u8; 16];
        assert!(read(&mut mem, 0x1003, &mut buf));
        assert_eq!(&buf, b"0123456789abcdef");
        assert!(!read(&mut mem, 0x1003, &mut [0u8; 40]));
        assert!(!read(&mut mem, u64::MAX - 2, &mut [0u8; 8]));
        assert_eq!(
            read_u32(&mut mem, 0x1003),
            Some(u32::from_le_bytes(*b"0123"))
        );
        assert_eq!(read_u64(&mut mem, 0x9000), None);
        assert!(read(&mut mem, 0x9000, &mut []));
    }

    #[test]
    fn strings_stop_at_nul_or_limit() {
        let mut mem = FakeMemory::new();
        mem.map(0x2005, b"hello\0world");
        let mut buf = [0u8; 33];
        assert_eq!(read_cstr(&mut mem, 0x2005, &mut buf), Some((5, true)));
        assert_eq!(&buf[..5], b"hello");
        let mut small = [0u8; 5];
        assert_eq!(read_cstr(&mut mem, 0x2005, &mut small), Some((5, true)));
        let mut smaller = [0u8; 3];
        assert_eq!(read_cstr(&mut mem, 0x2005, &mut smaller), Some((3, false)));
        assert_eq!(read_cstr(&mut mem, 0x8000, &mut buf), None);
    }

    #[test]
    fn a_string_running_into_unmapped_memory_is_unterminated() {
        let mut mem = FakeMemory::new();
        mem.map(0x3000, b"abcdefgh");
        let mut buf = [0u8; 33];
        // The fake maps only this word: the next one faults.
        assert_eq!(read_cstr(&mut mem, 0x3002, &mut buf), Some((6, false)));
    }
}
