//! The clocks the `trace_clock` file selects (Linux: `kernel/trace/trace_clock.c` and the
//! `trace_clocks[]` table in `trace.c`), and what the tracers read for each event's timestamp.
//!
//! - `local`: the per-CPU clock, Linux's `sched_clock()`. Here the virtual counter, which the
//!   architecture keeps in step on every CPU.
//! - `global`: `local` made monotonic across CPUs. A shared high-water mark means a CPU whose
//!   reading lags another's never stamps an event earlier than one already stamped.
//! - `counter`: an atomic count that goes up by one per event. It orders events exactly but
//!   says nothing about time.
//! - `uptime`: the time since boot in `USER_HZ` clock ticks (hundredths of a second), Linux's
//!   `trace_clock_jiffies`: jiffies (our 250 Hz ticks, `arch::timer::HZ`) converted by
//!   [`jiffies_64_to_clock_t`], so 10.7 s after boot it reads 1070 whatever the tick rate.
//!
//! Linux's `local` and `global` convert to nanoseconds on every event. Ours store the raw counter
//! cycles in the ring buffer and convert only when the text is printed (`to_display`). That takes
//! a multiply off the write path, and the order of events is the same. `counter` and `uptime`
//! are not in nanoseconds, and their timestamps print as plain numbers, as on Linux; `uptime` is
//! stored already converted, as Linux stores it.
//! Changing the clock empties the buffer (the tracer does that): a buffer never mixes units.

use core::fmt::{self, Write};

/// One selectable clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceClock {
    pub name: &'static str,
    /// Whether timestamps print as `secs.usecs` (Linux: `in_ns`).
    pub in_ns: bool,
    /// What the tracefs README says of it: Linux's `readme_msg` line.
    pub readme: &'static str,
}

/// The clocks in `trace_clock` order; indices are the values [`parse`] returns.
pub const TRACE_CLOCKS: [TraceClock; 4] = [
    TraceClock {
        name: "local",
        in_ns: true,
        readme: "Per cpu clock but may not be synced across CPUs",
    },
    TraceClock {
        name: "global",
        in_ns: true,
        readme: "Synced across CPUs but slows tracing down.",
    },
    TraceClock {
        name: "counter",
        in_ns: false,
        readme: "Not a clock, but just an increment",
    },
    TraceClock {
        name: "uptime",
        in_ns: false,
        readme: "Jiffy counter from time of boot",
    },
];

pub const CLOCK_LOCAL: usize = 0;
pub const CLOCK_GLOBAL: usize = 1;
pub const CLOCK_COUNTER: usize = 2;
pub const CLOCK_UPTIME: usize = 3;

/// Linux's `USER_HZ`: the unit of `clock_t` that user space sees, and the `uptime` clock's.
pub const USER_HZ: u64 = 100;
/// Linux's `NSEC_PER_SEC`.
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Linux's `jiffies_64_to_clock_t` for a tick of `hz` per second: `x` ticks in `USER_HZ` clock
/// ticks, rounded down. Linux's three cases, chosen at compile time from `TICK_NSEC` (one tick
/// in nanoseconds, rounded): an exact ratio divides or multiplies, anything else (250 Hz: a tick
/// is 0.4 clock ticks) goes through nanoseconds. The product wraps as Linux's does, after some
/// 580 years of 250 Hz ticks. Inlined into the tracers' callbacks: no calls, no divisions
/// by variables once `hz` is a constant.
#[inline(always)]
pub const fn jiffies_64_to_clock_t(x: u64, hz: u64) -> u64 {
    let tick_nsec = (NSEC_PER_SEC + hz / 2) / hz;
    let clock_t_nsec = NSEC_PER_SEC / USER_HZ;
    if tick_nsec.is_multiple_of(clock_t_nsec) {
        if hz < USER_HZ {
            x.wrapping_mul(USER_HZ) / hz
        } else if hz > USER_HZ {
            x / (hz / USER_HZ)
        } else {
            x
        }
    } else {
        x.wrapping_mul(tick_nsec) / clock_t_nsec
    }
}

/// The clock named by a write to `trace_clock`. Surrounding whitespace (the newline) is ignored,
/// as Linux's `tracing_clock_write()` strips it.
pub fn parse(data: &[u8]) -> Option<usize> {
    let name = core::str::from_utf8(data).ok()?.trim();
    TRACE_CLOCKS.iter().position(|c| c.name == name)
}

/// `trace_clock`'s text: every clock, the selected one in brackets.
pub fn show(selected: usize, w: &mut dyn Write) -> fmt::Result {
    for (i, clock) in TRACE_CLOCKS.iter().enumerate() {
        let sep = if i + 1 == TRACE_CLOCKS.len() {
            "\n"
        } else {
            " "
        };
        if i == selected {
            write!(w, "[{}]{sep}", clock.name)?;
        } else {
            write!(w, "{}{sep}", clock.name)?;
        }
    }
    Ok(())
}

/// A timestamp of clock `clock` as the trace text shows it: nanoseconds for the `in_ns` clocks,
/// computed with `cycles_to_ns`, or the raw count otherwise.
pub fn to_display(clock: usize, ts: u64, cycles_to_ns: impl Fn(u64) -> u64) -> u64 {
    match clock {
        CLOCK_LOCAL | CLOCK_GLOBAL => cycles_to_ns(ts),
        _ => ts,
    }
}

/// Whether clock `clock` prints in nanoseconds.
pub fn in_ns(clock: usize) -> bool {
    TRACE_CLOCKS.get(clock).is_some_and(|c| c.in_ns)
}

/// The `global` clock's step: `now` unless another CPU has already stamped a later value, whose
/// mark (`prev`) then stands.
pub fn global_step(prev: u64, now: u64) -> u64 {
    prev.max(now)
}

#[cfg(target_os = "none")]
mod clock {
    use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use arch::static_branch_unlikely;

    use super::{CLOCK_COUNTER, CLOCK_GLOBAL, CLOCK_LOCAL, global_step, jiffies_64_to_clock_t};
    use crate::jump_label::{StaticKeyFalse, static_key_disable, static_key_enable};

    static SELECTED: AtomicUsize = AtomicUsize::new(CLOCK_LOCAL);
    /// The latest `global` timestamp handed out (Linux: `trace_clock_struct.prev_time`).
    static GLOBAL_PREV: AtomicU64 = AtomicU64::new(0);
    /// The `counter` clock (Linux: `trace_counter`).
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    /// The selected clock.
    pub fn selected() -> usize {
        SELECTED.load(Ordering::Relaxed)
    }

    /// On while a clock other than `local` is selected: [`now`] tests it with one `nop`
    /// instead of loading and comparing [`SELECTED`].
    static NOT_LOCAL: StaticKeyFalse = StaticKeyFalse::new();

    /// Selects `clock`. The caller empties the buffer, so it never holds two clocks' units.
    /// Callers are serialised (the trace state lock). Between the store and the key's
    /// patching an event may read either clock; the buffer is emptied after both.
    pub fn select(clock: usize) {
        SELECTED.store(clock, Ordering::Relaxed);
        if clock == CLOCK_LOCAL {
            static_key_disable(&NOT_LOCAL);
        } else {
            static_key_enable(&NOT_LOCAL);
        }
    }

    /// Now, on the selected clock: the timestamp of an event recorded now. Inlined into the
    /// tracers' callbacks, so it calls nothing traceable.
    #[inline(always)]
    pub fn now() -> u64 {
        // `local`, the default, costs the key's `nop` and the counter read.
        if static_branch_unlikely!(NOT_LOCAL) {
            // `SELECTED` may already say `local` while the key is being turned off.
            return match SELECTED.load(Ordering::Relaxed) {
                CLOCK_LOCAL => arch::timer::counter_now(),
                CLOCK_GLOBAL => global_now(),
                CLOCK_COUNTER => COUNTER.fetch_add(1, Ordering::Relaxed) + 1,
                _ => jiffies_64_to_clock_t(arch::timer::jiffies(), arch::timer::HZ),
            };
        }
        arch::timer::counter_now()
    }

    /// `global`: one atomic max on the shared mark. A CPU that reads the counter
    /// before another CPU's later reading still stamps no earlier than that reading.
    #[inline(always)]
    fn global_now() -> u64 {
        let now = arch::timer::counter_now();
        let prev = GLOBAL_PREV.fetch_max(now, Ordering::Relaxed);
        global_step(prev, now)
    }

    /// A timestamp of the selected clock, ready to print (see [`super::to_display`]).
    pub fn display(ts: u64) -> u64 {
        super::to_display(selected(), ts, arch::timer::cycles_to_ns)
    }

    /// Now on the selected clock, ready to print (the `now ts` of `per_cpu/cpuN/stats`).
    pub fn display_now() -> u64 {
        match selected() {
            CLOCK_COUNTER => COUNTER.load(Ordering::Relaxed),
            clock => super::to_display(clock, now(), arch::timer::cycles_to_ns),
        }
    }
}

#[cfg(target_os = "none")]
pub use clock::{display, display_now, now, select, selected};

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn parse_takes_every_name_with_surrounding_whitespace() {
        for (i, clock) in TRACE_CLOCKS.iter().enumerate() {
            assert_eq!(parse(clock.name.as_bytes()), Some(i));
            assert_eq!(parse(std::format!("{}\n", clock.name).as_bytes()), Some(i));
            assert_eq!(
                parse(std::format!("  {} \n", clock.name).as_bytes()),
                Some(i)
            );
        }
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            &b""[..],
            b"\n",
            b"loca",
            b"locall",
            b"[local]",
            b"local global",
            b"x86-tsc",
            b"\xff\xfe",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn show_brackets_the_selected_clock() {
        let mut out = String::new();
        show(CLOCK_LOCAL, &mut out).unwrap();
        assert_eq!(out, "[local] global counter uptime\n");
        out.clear();
        show(CLOCK_UPTIME, &mut out).unwrap();
        assert_eq!(out, "local global counter [uptime]\n");
        out.clear();
        show(CLOCK_GLOBAL, &mut out).unwrap();
        assert_eq!(out, "local [global] counter uptime\n");
    }

    #[test]
    fn only_local_and_global_convert_to_ns() {
        let times16 = |c: u64| c * 16;
        assert_eq!(to_display(CLOCK_LOCAL, 3, times16), 48);
        assert_eq!(to_display(CLOCK_GLOBAL, 3, times16), 48);
        assert_eq!(to_display(CLOCK_COUNTER, 3, times16), 3);
        assert_eq!(to_display(CLOCK_UPTIME, 3, times16), 3);
        assert!(in_ns(CLOCK_LOCAL) && in_ns(CLOCK_GLOBAL));
        assert!(!in_ns(CLOCK_COUNTER) && !in_ns(CLOCK_UPTIME) && !in_ns(99));
    }

    #[test]
    fn uptime_counts_hundredths_at_250_hz() {
        // Linux arm64 at HZ=250: 10.7 s of uptime is 2675 jiffies, 1070 clock ticks.
        assert_eq!(jiffies_64_to_clock_t(2675, 250), 1070);
        assert_eq!(jiffies_64_to_clock_t(250, 250), USER_HZ);
        // A tick is 0.4 clock ticks: rounded down, never ahead of the time.
        let got: std::vec::Vec<u64> = (0..=5).map(|x| jiffies_64_to_clock_t(x, 250)).collect();
        assert_eq!(got, [0, 0, 0, 1, 1, 2]);
        // A day of ticks, and the u64 product at its last value before it wraps.
        assert_eq!(jiffies_64_to_clock_t(86_400 * 250, 250), 86_400 * USER_HZ);
        let last = u64::MAX / 4_000_000;
        assert_eq!(
            jiffies_64_to_clock_t(last, 250),
            last * 4_000_000 / 10_000_000
        );
    }

    #[test]
    fn uptime_takes_linux_exact_ratio_paths() {
        // HZ > USER_HZ with a whole ratio divides; HZ == USER_HZ is the identity; HZ < USER_HZ
        // multiplies; 300 Hz (3.333... ms ticks) goes through nanoseconds.
        assert_eq!(jiffies_64_to_clock_t(1999, 1000), 199);
        assert_eq!(jiffies_64_to_clock_t(1234, 100), 1234);
        assert_eq!(jiffies_64_to_clock_t(7, 50), 14);
        assert_eq!(
            jiffies_64_to_clock_t(300, 300),
            99,
            "TICK_NSEC 3333333 rounds down"
        );
    }

    #[test]
    fn global_never_goes_back() {
        assert_eq!(global_step(100, 150), 150);
        assert_eq!(global_step(150, 120), 150);
        let mut prev = 0;
        let mut last = 0;
        for now in [5, 3, 9, 9, 2, 10] {
            let ts = global_step(prev, now);
            assert!(ts >= last);
            prev = prev.max(now);
            last = ts;
        }
    }
}
