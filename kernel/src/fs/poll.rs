//! `poll` event bits (include/uapi/asm-generic/poll.h), shared by the files that report
//! readiness and the `ppoll`/`pselect6` syscalls, and [`PollWake`]: how a sleeping poller hears
//! of a change.

pub const POLLIN: u16 = 0x0001;
pub const POLLPRI: u16 = 0x0002;
pub const POLLOUT: u16 = 0x0004;
pub const POLLERR: u16 = 0x0008;
pub const POLLHUP: u16 = 0x0010;
pub const POLLNVAL: u16 = 0x0020;
pub const POLLRDNORM: u16 = 0x0040;
pub const POLLWRNORM: u16 = 0x0100;

/// How a poller learns that a file's readiness may have changed (Linux: the queue a file's
/// `poll` hands to `poll_wait`).
#[cfg(target_os = "none")]
pub enum PollWake<'a> {
    /// This queue is woken on every change.
    Queue(&'a crate::sched::wait::WaitQueue),
    /// The readiness never changes (regular files, `/dev/null`).
    Never,
    /// Nothing announces a change (the console before its receive interrupt is on): a poller
    /// looks again every few milliseconds.
    Unannounced,
}
