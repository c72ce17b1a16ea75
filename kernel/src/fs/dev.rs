//! Character devices (Linux: `drivers/char/mem.c` for `/dev/null` and `/dev/zero`; the console
//! tty is in [`crate::console`]): nodes whose reads and writes go to a driver, with no offset.

use super::Errno;
use super::poll::{POLLIN, POLLOUT};
use alloc::sync::Arc;

/// A character device's operations. Reads and writes take kernel buffers; `ioctl` gets the
/// user's argument as Linux passes it (a number or a user pointer, reached only through
/// `crate::uaccess`).
pub trait CharDevice: Send + Sync {
    /// Fills `buf` with what the device gives: 0 is end of file. `nonblock` is `O_NONBLOCK`
    /// (`EAGAIN` instead of sleeping).
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno>;

    /// Takes `buf`: how much was taken.
    fn write(&self, buf: &[u8]) -> Result<usize, Errno>;

    /// `ioctl(fd, cmd, arg)`: `ENOTTY` for what the device does not know.
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let _ = (cmd, arg);
        Err(Errno::ENOTTY)
    }

    /// Which of `POLLIN`/`POLLOUT` would not block now.
    fn poll(&self) -> u16 {
        POLLIN | POLLOUT
    }

    /// What wakes a poller when [`Self::poll`]'s answer may have changed.
    #[cfg(target_os = "none")]
    fn poll_wake(&self) -> super::poll::PollWake<'_> {
        super::poll::PollWake::Never
    }

    /// The device number (`st_rdev`): major and minor.
    fn rdev(&self) -> (u32, u32);

    /// Whether reads and writes are a terminal's (`isatty`).
    fn is_tty(&self) -> bool {
        false
    }

    /// Whether a read always fills its buffer (`/dev/zero`), so one `read(2)` of any size
    /// is served whole, in as many pieces as the kernel's buffer needs.
    fn fills_reads(&self) -> bool {
        false
    }
}

/// `/dev/null`: reads end at once, writes vanish.
pub struct Null;

impl CharDevice for Null {
    fn read(&self, _: &mut [u8], _: bool) -> Result<usize, Errno> {
        Ok(0)
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        Ok(buf.len())
    }

    fn rdev(&self) -> (u32, u32) {
        (1, 3)
    }
}

/// `/dev/zero`: reads give zeros, writes vanish.
pub struct Zero;

impl CharDevice for Zero {
    fn read(&self, buf: &mut [u8], _: bool) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }

    fn fills_reads(&self) -> bool {
        true
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        Ok(buf.len())
    }

    fn rdev(&self) -> (u32, u32) {
        (1, 5)
    }
}

/// `/dev/tty` (5, 0): the process's controlling terminal, which here is always `terminal`
/// (the console, 5, 1): everything but the device number is the terminal's.
pub struct ControllingTty(pub Arc<dyn CharDevice>);

impl CharDevice for ControllingTty {
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        self.0.read(buf, nonblock)
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        self.0.write(buf)
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        self.0.ioctl(cmd, arg)
    }

    fn poll(&self) -> u16 {
        self.0.poll()
    }

    #[cfg(target_os = "none")]
    fn poll_wake(&self) -> super::poll::PollWake<'_> {
        self.0.poll_wake()
    }

    fn rdev(&self) -> (u32, u32) {
        (5, 0)
    }

    fn is_tty(&self) -> bool {
        self.0.is_tty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_zero() {
        let mut buf = [7u8; 4];
        assert_eq!(Null.read(&mut buf, false), Ok(0));
        assert_eq!(buf, [7; 4]);
        assert_eq!(Null.write(b"abc"), Ok(3));
        assert_eq!(Zero.read(&mut buf, false), Ok(4));
        assert_eq!(buf, [0; 4]);
        assert_eq!(Zero.ioctl(0x5401, 0), Err(Errno::ENOTTY));
        assert_eq!(Null.rdev(), (1, 3));
    }
}
