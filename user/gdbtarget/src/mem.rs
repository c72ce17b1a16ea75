//! Memory accesses of any address and length as `PTRACE_PEEKDATA`/`POKEDATA` make them: one
//! aligned 64-bit word at a time, a partial word written by reading it, merging and writing it
//! back.

use core::ops::Range;

/// What one word transfer does for an access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordChunk {
    /// The aligned address to peek or poke.
    pub word_addr: u64,
    /// The bytes of the word the access covers.
    pub in_word: Range<usize>,
    /// The same bytes' place in the caller's buffer.
    pub in_data: Range<usize>,
}

impl WordChunk {
    /// Whether the access covers the whole word (a poke needs no peek first).
    pub fn is_whole(&self) -> bool {
        self.in_word == (0..8)
    }
}

/// The word transfers covering `[addr, addr + len)`, in address order. An access that would
/// run past the top of the address space stops there.
pub fn word_chunks(addr: u64, len: usize) -> impl Iterator<Item = WordChunk> {
    let end = addr.saturating_add(len as u64);
    let mut at = addr;
    core::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let word_addr = at & !7;
        let first = (at - word_addr) as usize;
        let last = (end - word_addr).min(8) as usize;
        let data_start = (at - addr) as usize;
        let chunk = WordChunk {
            word_addr,
            in_word: first..last,
            in_data: data_start..data_start + (last - first),
        };
        at = word_addr.saturating_add(8);
        if at == word_addr {
            at = end;
        }
        Some(chunk)
    })
}

/// `word` with the bytes `in_word` replaced by `bytes`.
pub fn merge(word: u64, in_word: Range<usize>, bytes: &[u8]) -> u64 {
    let mut raw = word.to_le_bytes();
    raw[in_word].copy_from_slice(bytes);
    u64::from_le_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(addr: u64, len: usize) -> Vec<(u64, Range<usize>, Range<usize>)> {
        word_chunks(addr, len)
            .map(|c| (c.word_addr, c.in_word, c.in_data))
            .collect()
    }

    #[test]
    fn aligned_and_unaligned_spans() {
        assert_eq!(chunks(0x1000, 8), [(0x1000, 0..8, 0..8)]);
        assert_eq!(
            chunks(0x1000, 16),
            [(0x1000, 0..8, 0..8), (0x1008, 0..8, 8..16)]
        );
        assert_eq!(chunks(0x1003, 2), [(0x1000, 3..5, 0..2)]);
        assert_eq!(
            chunks(0x1006, 12),
            [
                (0x1000, 6..8, 0..2),
                (0x1008, 0..8, 2..10),
                (0x1010, 0..2, 10..12)
            ]
        );
        assert!(chunks(0x1000, 0).is_empty());
        assert!(word_chunks(0x1000, 8).next().unwrap().is_whole());
        assert!(!word_chunks(0x1001, 7).next().unwrap().is_whole());
    }

    #[test]
    fn stops_at_the_top_of_the_address_space() {
        assert_eq!(chunks(u64::MAX - 3, 100), [(u64::MAX - 7, 4..7, 0..3)]);
        assert_eq!(chunks(u64::MAX - 7, 8), [(u64::MAX - 7, 0..7, 0..7)]);
    }

    #[test]
    fn merges_bytes_into_a_word() {
        let word = 0x1122_3344_5566_7788u64;
        assert_eq!(
            merge(word, 4..8, &0xd420_0000u32.to_le_bytes()),
            0xd420_0000_5566_7788
        );
        assert_eq!(merge(word, 0..1, &[0xff]), 0x1122_3344_5566_77ff);
        assert_eq!(merge(word, 0..8, &[0; 8]), 0);
    }
}
