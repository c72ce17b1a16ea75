//! `poll` event bits (include/uapi/asm-generic/poll.h), shared by the files that report
//! readiness and the `ppoll`/`pselect6` syscalls.

pub const POLLIN: u16 = 0x0001;
pub const POLLPRI: u16 = 0x0002;
pub const POLLOUT: u16 = 0x0004;
pub const POLLERR: u16 = 0x0008;
pub const POLLHUP: u16 = 0x0010;
pub const POLLNVAL: u16 = 0x0020;
pub const POLLRDNORM: u16 = 0x0040;
pub const POLLWRNORM: u16 = 0x0100;
