//! Counter cycles to nanoseconds, as Linux's clocksources do it (`kernel/time/clocksource.c`:
//! `clocks_calc_mult_shift`, `clocksource_cyc2ns`): `ns = cycles * mult >> shift`, a multiply and
//! a shift instead of a division on every timestamp.
//!
//! Linux keeps `mult` to 32 bits and the product to 64, so it must re-base the counter before
//! the product wraps. Here `mult` has 64 bits and the product 128 (one `mul` and one `umulh` on
//! AArch64), so a conversion of the raw counter never wraps, needs no epoch, and stays monotonic
//! for the counter's whole range. `shift` is the largest that keeps `mult` in 64 bits
//! (`mult >= 2^63`), so the rounding of `mult` costs less than `ns / 2^63`: at most 1 ns below the
//! exact value up to 2^63 ns (292 years), 2 ns beyond.

pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// The conversion factors for one counter frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConv {
    pub mult: u64,
    pub shift: u32,
}

impl ClockConv {
    /// Factors for a counter running at `freq_hz` (> 0): `mult = floor(10^9 * 2^shift / freq)`.
    pub const fn new(freq_hz: u64) -> Self {
        assert!(freq_hz > 0, "a counter frequency is never zero");
        let mut shift = 63;
        loop {
            let mult = ((NSEC_PER_SEC as u128) << shift) / freq_hz as u128;
            if mult <= u64::MAX as u128 {
                return Self {
                    mult: mult as u64,
                    shift,
                };
            }
            shift -= 1;
        }
    }

    /// Nanoseconds for `cycles`, rounded down; saturates rather than wrapping past 2^64 ns
    /// (584 years).
    #[inline(always)]
    pub const fn cyc2ns(self, cycles: u64) -> u64 {
        let ns = (cycles as u128 * self.mult as u128) >> self.shift;
        if ns > u64::MAX as u128 {
            u64::MAX
        } else {
            ns as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// floor(cycles * 10^9 / freq), computed exactly.
    fn exact_ns(cycles: u64, freq: u64) -> u128 {
        cycles as u128 * NSEC_PER_SEC as u128 / freq as u128
    }

    /// Counter values across the whole range: small, around powers of two, near the top.
    fn sample_cycles() -> Vec<u64> {
        let mut v = vec![0, 1, 2, 3, 15, 16, 17, 999, 62_500_000, 24_000_000 * 3600];
        for bit in 0..64 {
            let p = 1u64 << bit;
            v.extend([p - 1, p, p.saturating_add(1)]);
        }
        v.extend([u64::MAX / 3, u64::MAX - 1, u64::MAX]);
        v
    }

    #[test]
    fn qemu_virt_62_5_mhz_is_exactly_16_ns_per_cycle() {
        let conv = ClockConv::new(62_500_000);
        for cycles in sample_cycles().into_iter().filter(|&c| c <= u64::MAX / 16) {
            assert_eq!(conv.cyc2ns(cycles), cycles * 16, "cycles {cycles}");
        }
    }

    #[test]
    fn one_ghz_is_the_identity() {
        let conv = ClockConv::new(NSEC_PER_SEC);
        for cycles in sample_cycles() {
            assert_eq!(conv.cyc2ns(cycles), cycles);
        }
    }

    #[test]
    fn non_integral_rates_are_within_one_ns_of_exact() {
        // Raspberry Pi 4 (54 MHz), many SoCs (24 MHz, 19.2 MHz), Apple (24 MHz), odd ones.
        for freq in [
            54_000_000,
            24_000_000,
            19_200_000,
            100_000_000,
            1_000_000_007,
            32_768,
            3,
        ] {
            let conv = ClockConv::new(freq);
            for cycles in sample_cycles() {
                let exact = exact_ns(cycles, freq);
                if exact > u64::MAX as u128 {
                    assert_eq!(
                        conv.cyc2ns(cycles),
                        u64::MAX,
                        "saturates: {freq} Hz {cycles}"
                    );
                    continue;
                }
                let got = conv.cyc2ns(cycles) as u128;
                let bound = 1 + (exact >> 63);
                assert!(
                    got <= exact && exact - got <= bound,
                    "{freq} Hz, {cycles} cycles: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn mult_uses_all_64_bits_and_shift_is_largest() {
        for freq in [62_500_000, 24_000_000, 1, 3, NSEC_PER_SEC, u64::MAX] {
            let conv = ClockConv::new(freq);
            assert!(
                conv.mult >= 1 << 63 || conv.shift == 63,
                "{freq} Hz: {conv:?}"
            );
        }
    }

    #[test]
    fn conversion_is_monotonic() {
        let conv = ClockConv::new(24_000_000);
        let mut cycles = sample_cycles();
        cycles.sort_unstable();
        for pair in cycles.windows(2) {
            assert!(conv.cyc2ns(pair[0]) <= conv.cyc2ns(pair[1]), "{pair:?}");
        }
        // Consecutive counter values never go backwards, also where the product needs 128 bits.
        for start in [0u64, 1 << 40, u64::MAX - 1000] {
            let mut prev = conv.cyc2ns(start);
            for c in start..start.saturating_add(1000) {
                let ns = conv.cyc2ns(c);
                assert!(ns >= prev, "cycles {c}");
                prev = ns;
            }
        }
    }
}
