//! What a VFS file is: a [`FileOps`] implementation (Linux's `struct file_operations`, cut
//! down to what tracefs-style files need), plus one-line constructors for the common cases.

use super::Errno;
use alloc::vec::Vec;
use core::fmt;

/// How a write opens the file, as the shell's `>` and `>>` do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// `O_TRUNC`: the file is cleared first (a trace buffer empties, a filter resets), even
    /// when the data is empty.
    Truncate,
    /// `O_APPEND`: the data is added to what is there (a filter gains entries).
    Append,
}

/// The handlers behind one file. Handlers run without any VFS lock held, so they may register
/// or remove files themselves (as writing `kprobe_events` creates event directories).
pub trait FileOps: Send + Sync {
    /// Streams the whole content into `out`. Content can be large: write it piece by piece,
    /// never build it whole first. Files without a read handler are `EINVAL`, as a tracefs
    /// file without `.read` is.
    fn read(&self, out: &mut dyn fmt::Write) -> Result<(), Errno> {
        let _ = out;
        Err(Errno::EINVAL)
    }

    /// Takes the complete data of one write (the shell gives a command's whole output in one
    /// call). Parse and validate everything before changing state: an error must leave the old
    /// state untouched. Files without a write handler are `EINVAL`.
    fn write(&self, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        let _ = (data, mode);
        Err(Errno::EINVAL)
    }

    /// Permission bits, for display only: writes are refused by the handler, not by the mode
    /// (the shell runs as root, whom Linux lets open any file for writing).
    fn mode(&self) -> u16 {
        0o444
    }

    /// The content of a plain regular file, whole (what `execve` loads); `None` for files
    /// whose content a handler makes.
    fn bytes(&self) -> Option<&[u8]> {
        None
    }

    /// A streaming read (Linux's `trace_pipe`), for files whose content never ends: writes
    /// into `out` what is available now, whole records, stopping once at least `want` bytes
    /// are written or nothing more is there. With nothing available it waits, interruptibly
    /// (`EINTR` when a signal arrives), or fails `EAGAIN` if `nonblock`. A `read(2)` of such a
    /// file returns what this produced (the rest is kept for the next `read` of that open
    /// file) instead of generating the whole content through [`FileOps::read`] first. `None`
    /// (the default) for files that are generated whole.
    fn read_stream(
        &self,
        out: &mut dyn fmt::Write,
        want: usize,
        nonblock: bool,
    ) -> Option<Result<(), Errno>> {
        let _ = (out, want, nonblock);
        None
    }

    /// A copy of a plain regular file's content when [`FileOps::bytes`] cannot lend it (a
    /// file written at run time, whose buffer may change under a reader): what `execve` loads
    /// from a tmpfs file. `None` for files whose content a handler makes; `ENOMEM` if the copy
    /// cannot be allocated.
    fn copy_bytes(&self) -> Option<Result<Vec<u8>, Errno>> {
        None
    }
}

/// A file with only a read handler, mode 0444:
/// `fs::read_only(|out| Ok(writeln!(out, "nop")?))`.
pub fn read_only<R>(read: R) -> impl FileOps + 'static
where
    R: Fn(&mut dyn fmt::Write) -> Result<(), Errno> + Send + Sync + 'static,
{
    ReadOnly(read)
}

/// A file with only a write handler, mode 0200 (like `trace_marker`).
pub fn write_only<W>(write: W) -> impl FileOps + 'static
where
    W: Fn(&[u8], WriteMode) -> Result<(), Errno> + Send + Sync + 'static,
{
    WriteOnly(write)
}

/// A file with both handlers, mode 0644.
pub fn read_write<R, W>(read: R, write: W) -> impl FileOps + 'static
where
    R: Fn(&mut dyn fmt::Write) -> Result<(), Errno> + Send + Sync + 'static,
    W: Fn(&[u8], WriteMode) -> Result<(), Errno> + Send + Sync + 'static,
{
    ReadWrite { read, write }
}

struct ReadOnly<R>(R);

impl<R> FileOps for ReadOnly<R>
where
    R: Fn(&mut dyn fmt::Write) -> Result<(), Errno> + Send + Sync,
{
    fn read(&self, out: &mut dyn fmt::Write) -> Result<(), Errno> {
        (self.0)(out)
    }
}

struct WriteOnly<W>(W);

impl<W> FileOps for WriteOnly<W>
where
    W: Fn(&[u8], WriteMode) -> Result<(), Errno> + Send + Sync,
{
    fn write(&self, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        (self.0)(data, mode)
    }

    fn mode(&self) -> u16 {
        0o200
    }
}

struct ReadWrite<R, W> {
    read: R,
    write: W,
}

impl<R, W> FileOps for ReadWrite<R, W>
where
    R: Fn(&mut dyn fmt::Write) -> Result<(), Errno> + Send + Sync,
    W: Fn(&[u8], WriteMode) -> Result<(), Errno> + Send + Sync,
{
    fn read(&self, out: &mut dyn fmt::Write) -> Result<(), Errno> {
        (self.read)(out)
    }

    fn write(&self, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        (self.write)(data, mode)
    }

    fn mode(&self) -> u16 {
        0o644
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    struct Bare;
    impl FileOps for Bare {}

    #[test]
    fn defaults_refuse_both_directions() {
        let mut out = String::new();
        assert_eq!(Bare.read(&mut out), Err(Errno::EINVAL));
        assert_eq!(Bare.write(b"x", WriteMode::Truncate), Err(Errno::EINVAL));
        assert_eq!(Bare.mode(), 0o444);
        assert!(out.is_empty());
    }

    #[test]
    fn read_only_reads_and_refuses_writes() {
        let file = read_only(|out| Ok(writeln!(out, "nop {}", 1)?));
        let mut out = String::new();
        assert_eq!(file.read(&mut out), Ok(()));
        assert_eq!(out, "nop 1\n");
        assert_eq!(file.write(b"", WriteMode::Truncate), Err(Errno::EINVAL));
        assert_eq!(file.mode(), 0o444);
    }

    #[test]
    fn write_only_writes_and_refuses_reads() {
        let file = write_only(|data, mode| match (data, mode) {
            (b"ok", WriteMode::Append) => Ok(()),
            _ => Err(Errno::EBUSY),
        });
        assert_eq!(file.write(b"ok", WriteMode::Append), Ok(()));
        assert_eq!(file.write(b"ok", WriteMode::Truncate), Err(Errno::EBUSY));
        assert_eq!(file.read(&mut String::new()), Err(Errno::EINVAL));
        assert_eq!(file.mode(), 0o200);
    }

    #[test]
    fn read_write_has_both() {
        let file = read_write(
            |out| Ok(out.write_str("1\n")?),
            |data, _| {
                if data == b"1\n" {
                    Ok(())
                } else {
                    Err(Errno::EINVAL)
                }
            },
        );
        let mut out = String::new();
        assert_eq!(file.read(&mut out), Ok(()));
        assert_eq!(out, "1\n");
        assert_eq!(file.write(b"1\n", WriteMode::Truncate), Ok(()));
        assert_eq!(file.write(b"2\n", WriteMode::Truncate), Err(Errno::EINVAL));
        assert_eq!(file.mode(), 0o644);
    }
}
