//! Resource limits (Linux: `include/uapi/asm-generic/resource.h`, `include/asm-generic/
//! resource.h`'s `INIT_RLIMITS`, and the checks of `do_prlimit` in `kernel/sys.c`): the table a
//! process inherits across `fork` and `execve`, read and changed by `prlimit64`, `getrlimit`
//! and `setrlimit` ([`crate::syscall::sys`]).
//!
//! Every process runs as root (with `CAP_SYS_RESOURCE`), so raising a hard limit is allowed,
//! as on Linux, up to `nr_open` for `RLIMIT_NOFILE`. Which limits the kernel enforces is up to
//! the code that owns the resource; the table only stores them faithfully.

use crate::fs::Errno;

pub const RLIMIT_CPU: usize = 0;
pub const RLIMIT_FSIZE: usize = 1;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_CORE: usize = 4;
pub const RLIMIT_RSS: usize = 5;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIMIT_MEMLOCK: usize = 8;
pub const RLIMIT_AS: usize = 9;
pub const RLIMIT_LOCKS: usize = 10;
pub const RLIMIT_SIGPENDING: usize = 11;
pub const RLIMIT_MSGQUEUE: usize = 12;
pub const RLIMIT_NICE: usize = 13;
pub const RLIMIT_RTPRIO: usize = 14;
pub const RLIMIT_RTTIME: usize = 15;
pub const RLIM_NLIMITS: usize = 16;

pub const RLIM_INFINITY: u64 = u64::MAX;
/// Linux's `_STK_LIM`: the default stack limit (8 MiB).
pub const _STK_LIM: u64 = 8 << 20;
/// Linux's `MLOCK_LIMIT` (8 MiB since 5.16).
pub const MLOCK_LIMIT: u64 = 8 << 20;
/// Linux's `INR_OPEN_CUR` and `INR_OPEN_MAX`: the default open-file limits.
pub const INR_OPEN_CUR: u64 = 1024;
pub const INR_OPEN_MAX: u64 = 4096;
/// Linux's `MQ_BYTES_MAX`.
pub const MQ_BYTES_MAX: u64 = 819_200;
/// Linux's default `fs.nr_open` (`sysctl_nr_open`): the highest `RLIMIT_NOFILE` there is.
pub const NR_OPEN: u64 = 1024 * 1024;

/// One limit (`struct rlimit64`: soft, then hard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RLimit {
    pub cur: u64,
    pub max: u64,
}

impl RLimit {
    const fn same(value: u64) -> Self {
        Self {
            cur: value,
            max: value,
        }
    }

    /// The user's `struct rlimit64` (two little-endian u64s).
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.cur.to_le_bytes());
        out[8..].copy_from_slice(&self.max.to_le_bytes());
        out
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let [cur, max] = [0, 8].map(|at| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        });
        Self { cur, max }
    }
}

/// A process's limits (Linux: `signal_struct.rlim`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RLimits([RLimit; RLIM_NLIMITS]);

impl RLimits {
    /// Linux's `INIT_RLIMITS`, with `RLIMIT_NPROC` and `RLIMIT_SIGPENDING` from `threads-max`
    /// as `fork_init` sets them (half of it).
    pub fn init(max_threads: u32) -> Self {
        let tasks = u64::from(max_threads / 2);
        let mut limits = [RLimit::same(RLIM_INFINITY); RLIM_NLIMITS];
        limits[RLIMIT_STACK] = RLimit {
            cur: _STK_LIM,
            max: RLIM_INFINITY,
        };
        limits[RLIMIT_CORE] = RLimit {
            cur: 0,
            max: RLIM_INFINITY,
        };
        limits[RLIMIT_NPROC] = RLimit::same(tasks);
        limits[RLIMIT_NOFILE] = RLimit {
            cur: INR_OPEN_CUR,
            max: INR_OPEN_MAX,
        };
        limits[RLIMIT_MEMLOCK] = RLimit::same(MLOCK_LIMIT);
        limits[RLIMIT_SIGPENDING] = RLimit::same(tasks);
        limits[RLIMIT_MSGQUEUE] = RLimit::same(MQ_BYTES_MAX);
        limits[RLIMIT_NICE] = RLimit::same(0);
        limits[RLIMIT_RTPRIO] = RLimit::same(0);
        Self(limits)
    }

    /// Limit `resource`; `EINVAL` for an unknown one.
    pub fn get(&self, resource: u64) -> Result<RLimit, Errno> {
        let index = usize::try_from(resource).map_err(|_| Errno::EINVAL)?;
        self.0.get(index).copied().ok_or(Errno::EINVAL)
    }

    /// Sets limit `resource` to `new` and returns the old one (Linux's `do_prlimit` for a
    /// caller with `CAP_SYS_RESOURCE`): `EINVAL` for an unknown resource or a soft limit above
    /// the hard one, `EPERM` for an open-file limit above `nr_open`.
    pub fn set(&mut self, resource: u64, new: RLimit) -> Result<RLimit, Errno> {
        let old = self.get(resource)?;
        if new.cur > new.max {
            return Err(Errno::EINVAL);
        }
        if resource as usize == RLIMIT_NOFILE && new.max > NR_OPEN {
            return Err(Errno::EPERM);
        }
        self.0[resource as usize] = new;
        Ok(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_matches_linux_defaults() {
        let limits = RLimits::init(240);
        assert_eq!(
            limits.get(RLIMIT_STACK as u64),
            Ok(RLimit {
                cur: 8 << 20,
                max: RLIM_INFINITY
            })
        );
        assert_eq!(
            limits.get(RLIMIT_NOFILE as u64),
            Ok(RLimit {
                cur: 1024,
                max: 4096
            })
        );
        assert_eq!(limits.get(RLIMIT_NPROC as u64), Ok(RLimit::same(120)));
        assert_eq!(limits.get(RLIMIT_CORE as u64).map(|l| l.cur), Ok(0));
        assert_eq!(
            limits.get(RLIMIT_CPU as u64),
            Ok(RLimit::same(RLIM_INFINITY))
        );
        assert_eq!(limits.get(RLIM_NLIMITS as u64), Err(Errno::EINVAL));
        assert_eq!(limits.get(u64::MAX), Err(Errno::EINVAL));
    }

    #[test]
    fn set_checks_as_do_prlimit() {
        let mut limits = RLimits::init(240);
        let lower = RLimit { cur: 64, max: 128 };
        assert_eq!(
            limits.set(RLIMIT_NOFILE as u64, lower),
            Ok(RLimit {
                cur: 1024,
                max: 4096
            })
        );
        assert_eq!(limits.get(RLIMIT_NOFILE as u64), Ok(lower));
        // Root may raise the hard limit again, up to nr_open.
        let raised = RLimit {
            cur: 2048,
            max: NR_OPEN,
        };
        assert_eq!(limits.set(RLIMIT_NOFILE as u64, raised), Ok(lower));
        let past = RLimit {
            cur: 1,
            max: NR_OPEN + 1,
        };
        assert_eq!(limits.set(RLIMIT_NOFILE as u64, past), Err(Errno::EPERM));
        let inverted = RLimit { cur: 10, max: 5 };
        assert_eq!(
            limits.set(RLIMIT_STACK as u64, inverted),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            limits.set(RLIM_NLIMITS as u64, RLimit::same(1)),
            Err(Errno::EINVAL)
        );
        // Failures changed nothing.
        assert_eq!(limits.get(RLIMIT_NOFILE as u64), Ok(raised));
        assert_eq!(limits.get(RLIMIT_STACK as u64).map(|l| l.cur), Ok(8 << 20));
    }

    #[test]
    fn rlimit64_layout() {
        let limit = RLimit {
            cur: 0x0102,
            max: RLIM_INFINITY,
        };
        let bytes = limit.to_bytes();
        assert_eq!(&bytes[..8], &[2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[8..], &[0xff; 8]);
        assert_eq!(RLimit::from_bytes(bytes), limit);
    }
}
