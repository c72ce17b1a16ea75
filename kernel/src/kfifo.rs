//! A fixed-size byte FIFO (Linux: `kfifo`): a power-of-two array with free-running `in`/`out`
//! counters, so full and empty need no spare slot and the counters may wrap. The console's
//! receive buffer. No locking of its own: the owner serialises access.

pub struct Kfifo<const N: usize> {
    buf: [u8; N],
    /// Bytes ever put in / taken out, modulo 2^32.
    inp: u32,
    out: u32,
}

impl<const N: usize> Kfifo<N> {
    const SIZE_IS_POWER_OF_TWO: () = assert!(N.is_power_of_two() && N <= 1 << 31);

    pub const fn new() -> Self {
        let () = Self::SIZE_IS_POWER_OF_TWO;
        Self {
            buf: [0; N],
            inp: 0,
            out: 0,
        }
    }

    pub const fn capacity(&self) -> usize {
        N
    }

    pub fn len(&self) -> usize {
        self.inp.wrapping_sub(self.out) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.len() == N
    }

    /// Appends `byte`; `false` (and nothing stored) if the FIFO is full.
    pub fn put(&mut self, byte: u8) -> bool {
        if self.is_full() {
            return false;
        }
        self.buf[self.inp as usize & (N - 1)] = byte;
        self.inp = self.inp.wrapping_add(1);
        true
    }

    /// Takes the oldest byte.
    pub fn get(&mut self) -> Option<u8> {
        if self.is_empty() {
            return None;
        }
        let byte = self.buf[self.out as usize & (N - 1)];
        self.out = self.out.wrapping_add(1);
        Some(byte)
    }
}

impl<const N: usize> Default for Kfifo<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order() {
        let mut fifo = Kfifo::<8>::new();
        assert!(fifo.is_empty());
        for b in b"hello" {
            assert!(fifo.put(*b));
        }
        assert_eq!(fifo.len(), 5);
        let out: Vec<u8> = core::iter::from_fn(|| fifo.get()).collect();
        assert_eq!(out, b"hello");
        assert_eq!(fifo.get(), None);
    }

    #[test]
    fn a_full_fifo_refuses_and_keeps_what_it_has() {
        let mut fifo = Kfifo::<4>::new();
        for b in 0..4 {
            assert!(fifo.put(b));
        }
        assert!(fifo.is_full());
        assert!(!fifo.put(99));
        assert_eq!(fifo.len(), 4);
        assert_eq!(fifo.get(), Some(0));
        assert!(fifo.put(4));
        let out: Vec<u8> = core::iter::from_fn(|| fifo.get()).collect();
        assert_eq!(out, [1, 2, 3, 4]);
    }

    #[test]
    fn wraps_around_the_array_many_times_like_a_deque() {
        let mut fifo = Kfifo::<4>::new();
        let mut model = std::collections::VecDeque::new();
        for i in 0..1000u32 {
            // Put one or two bytes, take one: the FIFO fills up and then stays full.
            for b in [i as u8, (i as u8).wrapping_add(100)]
                .into_iter()
                .take(1 + (i % 2) as usize)
            {
                let stored = fifo.put(b);
                assert_eq!(stored, model.len() < 4, "step {i}");
                if stored {
                    model.push_back(b);
                }
            }
            assert_eq!(fifo.len(), model.len());
            assert_eq!(fifo.get(), model.pop_front(), "step {i}");
        }
    }

    #[test]
    fn counters_may_wrap_past_u32_max() {
        let mut fifo = Kfifo::<8> {
            buf: [0; 8],
            inp: u32::MAX - 2,
            out: u32::MAX - 2,
        };
        for b in 0..8 {
            assert!(fifo.put(b));
        }
        assert!(fifo.is_full());
        assert!(!fifo.put(8));
        let out: Vec<u8> = core::iter::from_fn(|| fifo.get()).collect();
        assert_eq!(out, [0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(fifo.is_empty());
    }
}
