//! What the scheduler's shell commands parse and print, kept free of hardware so it is tested
//! on the host: task names, `sleep` durations, and the task limit of
//! `/proc/sys/kernel/threads-max`.

use core::fmt;

/// A task name holds at most 15 bytes (Linux: `TASK_COMM_LEN` 16 with the NUL).
pub const TASK_COMM_LEN: usize = 16;

/// A task's name as Linux keeps it (`task_struct.comm`): at most [`TASK_COMM_LEN`] - 1 bytes,
/// held inline, so naming a task never allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comm {
    /// The name, NUL-padded (the last byte is always 0, as in Linux's `comm`), as two
    /// little-endian words: trace events copy it by two aligned loads (the target forbids
    /// unaligned ones, so a byte array would be read byte by byte).
    words: [u64; 2],
    len: u8,
}

impl Comm {
    /// The first [`TASK_COMM_LEN`] - 1 bytes of `name`, cut at a character boundary.
    pub fn new(name: &str) -> Self {
        let mut end = name.len().min(TASK_COMM_LEN - 1);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; TASK_COMM_LEN];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        let (lo, hi) = bytes.split_at(TASK_COMM_LEN / 2);
        Self {
            words: [
                u64::from_le_bytes(lo.try_into().unwrap_or_default()),
                u64::from_le_bytes(hi.try_into().unwrap_or_default()),
            ],
            len: end as u8,
        }
    }

    /// The two words and the length, as [`Comm::from_parts`] takes them back (a task keeps its
    /// name in atomics, so `execve` can rename it while others read it).
    pub fn to_parts(&self) -> ([u64; 2], u8) {
        (self.words, self.len)
    }

    /// A name from [`Comm::to_parts`]'s words and length (a length past the words is cut).
    pub fn from_parts(words: [u64; 2], len: u8) -> Self {
        Self {
            words,
            len: len.min(TASK_COMM_LEN as u8 - 1),
        }
    }

    /// The bytes NUL-padded to [`TASK_COMM_LEN`] (Linux's `char comm[16]`).
    #[inline(always)]
    pub fn to_comm(&self) -> [u8; TASK_COMM_LEN] {
        let [lo, hi] = self.words;
        let mut comm = [0; TASK_COMM_LEN];
        comm[..8].copy_from_slice(&lo.to_le_bytes());
        comm[8..].copy_from_slice(&hi.to_le_bytes());
        comm
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: two u64s are 16 initialised bytes; a byte view of them is always valid.
        let bytes: &[u8; TASK_COMM_LEN] = unsafe { &*self.words.as_ptr().cast() };
        // Cut at a character boundary of a `str` by `new`, so always valid.
        core::str::from_utf8(&bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fewest tasks the default limit allows (Linux: `MIN_THREADS`).
pub const MIN_THREADS: u32 = 20;
/// The most `threads-max` takes (Linux: `MAX_THREADS`, `FUTEX_TID_MASK`).
pub const MAX_THREADS: u32 = 0x3fff_ffff;

/// The default task limit for `ram` bytes of memory and `thread_size`-byte stacks: at most an
/// eighth of memory in stacks, within [`MIN_THREADS`]..=[`MAX_THREADS`] (Linux's
/// `set_max_threads`).
pub fn default_max_threads(ram: usize, thread_size: usize) -> u32 {
    let threads = ram as u64 / (thread_size as u64 * 8);
    threads.clamp(u64::from(MIN_THREADS), u64::from(MAX_THREADS)) as u32
}

/// Parses a write to `threads-max`: one integer in 1..=[`MAX_THREADS`], surrounding whitespace
/// allowed (Linux's `proc_dointvec_minmax` with the bounds of `sysctl_max_threads`). `None` is
/// `EINVAL`.
pub fn parse_threads_max(data: &[u8]) -> Option<u32> {
    let value: i64 = core::str::from_utf8(data).ok()?.trim().parse().ok()?;
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=MAX_THREADS).contains(v))
}

/// The longest `sleep` accepted, in milliseconds: one day.
pub const SLEEP_MAX_MS: u64 = 24 * 60 * 60 * 1000;

/// Parses a `sleep` operand as busybox does: a decimal number of seconds with an optional
/// fraction and an optional unit suffix `s`, `m`, `h` or `d`. Returns milliseconds (a fraction
/// below a millisecond rounds up), or None if it is not such a number or exceeds
/// [`SLEEP_MAX_MS`].
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let (number, unit_ms) = match text.as_bytes().last()? {
        b's' => (&text[..text.len() - 1], 1000),
        b'm' => (&text[..text.len() - 1], 60 * 1000),
        b'h' => (&text[..text.len() - 1], 60 * 60 * 1000),
        b'd' => (&text[..text.len() - 1], 24 * 60 * 60 * 1000),
        _ => (text, 1000),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ms = whole.checked_mul(unit_ms)?;
    // Fraction digits: value = digit * unit / 10^k, summed in exact integer steps; anything
    // left below a millisecond rounds up.
    let mut scale: u64 = 1;
    let mut numerator: u64 = 0;
    for b in fraction.bytes().take(12) {
        scale *= 10;
        numerator = numerator * 10 + u64::from(b - b'0');
    }
    if scale > 1 {
        ms = ms.checked_add((numerator * unit_ms).div_ceil(scale))?;
    }
    (ms <= SLEEP_MAX_MS).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_cut_to_fifteen_bytes_at_a_char_boundary() {
        assert_eq!(Comm::new("fib").as_str(), "fib");
        assert_eq!(Comm::new("").as_str(), "");
        assert_eq!(Comm::new("0123456789abcdefgh").as_str(), "0123456789abcde");
        // 'é' is two bytes: byte 15 would split it.
        assert_eq!(Comm::new("01234567890123é").as_str(), "01234567890123");
    }

    #[test]
    fn the_default_task_limit_is_an_eighth_of_memory_in_stacks() {
        // 120 MiB of 64 KiB stacks: 1920 would fit, 240 are allowed.
        assert_eq!(default_max_threads(120 << 20, 64 << 10), 240);
        assert_eq!(default_max_threads(1 << 20, 64 << 10), MIN_THREADS);
        assert_eq!(default_max_threads(usize::MAX, 1), MAX_THREADS);
    }

    #[test]
    fn threads_max_takes_one_integer_in_range() {
        assert_eq!(parse_threads_max(b"20\n"), Some(20));
        assert_eq!(parse_threads_max(b" 1 "), Some(1));
        assert_eq!(parse_threads_max(b"1073741823"), Some(MAX_THREADS));
        for bad in [
            &b""[..],
            b"0",
            b"-1",
            b"1073741824",
            b"99999999999999999999",
            b"12x",
            b"\xff",
        ] {
            assert_eq!(parse_threads_max(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_in_seconds_with_fractions_and_units() {
        assert_eq!(parse_duration_ms("1"), Some(1000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("0.25"), Some(250));
        assert_eq!(parse_duration_ms(".5"), Some(500));
        assert_eq!(parse_duration_ms("2."), Some(2000));
        assert_eq!(parse_duration_ms("0.0001"), Some(1));
        assert_eq!(parse_duration_ms("1.5m"), Some(90_000));
        assert_eq!(parse_duration_ms("2s"), Some(2000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("1d"), Some(SLEEP_MAX_MS));
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in [
            "",
            ".",
            "s",
            "-1",
            "1x",
            "1.2.3",
            "abc",
            "1 ",
            "2d",
            "99999999999999999999",
        ] {
            assert_eq!(parse_duration_ms(bad), None, "{bad:?}");
        }
    }
}
