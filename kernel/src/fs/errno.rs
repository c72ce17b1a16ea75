//! Linux error numbers and their `strerror` texts: the error currency of the VFS, its file
//! handlers and the shell, which prints them the way a Linux userland would.

use core::fmt;

/// An error number with Linux's value (`include/uapi/asm-generic/errno-base.h`, `errno.h`).
///
/// `Display` prints the glibc `strerror` text, e.g. "Invalid argument".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    ERANGE = 34,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    EOVERFLOW = 75,
    EILSEQ = 84,
    EOPNOTSUPP = 95,
    ETIMEDOUT = 110,
    /// The kernel-internal restart codes (Linux: `include/linux/errno.h`), never seen by a
    /// program: a syscall whose sleep a signal ended returns one instead of `EINTR`, and the
    /// signal path turns it into `EINTR` or a restart of the syscall
    /// (`crate::signal::syscall_restart`). Blocking syscalls map their `EINTR` with
    /// [`Errno::restart_sys`] (read, write, wait4, futex: restarted under `SA_RESTART`) or
    /// [`Errno::restart_nohand`] (pause-like waits, ppoll: restarted only when no handler runs).
    ERESTARTSYS = 512,
    ERESTARTNOINTR = 513,
    ERESTARTNOHAND = 514,
    #[allow(non_camel_case_types)]
    ERESTART_RESTARTBLOCK = 516,
}

impl Errno {
    /// The positive error number, as Linux returns it negated from a system call.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// `EINTR` as `ERESTARTSYS` (Linux's `-ERESTARTSYS` from an interruptible sleep): the
    /// syscall is restarted after a handler with `SA_RESTART`, or when no handler runs.
    pub const fn restart_sys(self) -> Self {
        match self {
            Self::EINTR => Self::ERESTARTSYS,
            other => other,
        }
    }

    /// `EINTR` as `ERESTARTNOHAND`: restarted only when no handler runs.
    pub const fn restart_nohand(self) -> Self {
        match self {
            Self::EINTR => Self::ERESTARTNOHAND,
            other => other,
        }
    }

    /// Whether this is one of the kernel-internal restart codes.
    pub const fn is_restart(self) -> bool {
        matches!(
            self,
            Self::ERESTARTSYS
                | Self::ERESTARTNOINTR
                | Self::ERESTARTNOHAND
                | Self::ERESTART_RESTARTBLOCK
        )
    }

    /// The `strerror` text.
    pub const fn text(&self) -> &'static str {
        match self {
            Self::EPERM => "Operation not permitted",
            Self::ENOENT => "No such file or directory",
            Self::ESRCH => "No such process",
            Self::EINTR => "Interrupted system call",
            Self::EIO => "Input/output error",
            Self::E2BIG => "Argument list too long",
            Self::ENOEXEC => "Exec format error",
            Self::EBADF => "Bad file descriptor",
            Self::ECHILD => "No child processes",
            Self::EAGAIN => "Resource temporarily unavailable",
            Self::ENOMEM => "Cannot allocate memory",
            Self::EACCES => "Permission denied",
            Self::EFAULT => "Bad address",
            Self::EBUSY => "Device or resource busy",
            Self::EEXIST => "File exists",
            Self::EXDEV => "Invalid cross-device link",
            Self::ENODEV => "No such device",
            Self::ENOTDIR => "Not a directory",
            Self::EISDIR => "Is a directory",
            Self::EINVAL => "Invalid argument",
            Self::ENFILE => "Too many open files in system",
            Self::EMFILE => "Too many open files",
            Self::ENOTTY => "Inappropriate ioctl for device",
            Self::EFBIG => "File too large",
            Self::ENOSPC => "No space left on device",
            Self::ESPIPE => "Illegal seek",
            Self::EROFS => "Read-only file system",
            Self::EMLINK => "Too many links",
            Self::EPIPE => "Broken pipe",
            Self::ERANGE => "Numerical result out of range",
            Self::ENAMETOOLONG => "File name too long",
            Self::ENOSYS => "Function not implemented",
            Self::ENOTEMPTY => "Directory not empty",
            Self::ELOOP => "Too many levels of symbolic links",
            Self::EOVERFLOW => "Value too large for defined data type",
            Self::EILSEQ => "Invalid or incomplete multibyte or wide character",
            Self::EOPNOTSUPP => "Operation not supported",
            Self::ETIMEDOUT => "Connection timed out",
            Self::ERESTARTSYS => "Unknown error 512",
            Self::ERESTARTNOINTR => "Unknown error 513",
            Self::ERESTARTNOHAND => "Unknown error 514",
            Self::ERESTART_RESTARTBLOCK => "Unknown error 516",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Lets read handlers use `write!(out, ...)?`. The shell's sinks never fail, so this only
/// surfaces a formatting failure inside a handler itself: an I/O error, as a failed `read(2)`.
impl From<fmt::Error> for Errno {
    fn from(_: fmt::Error) -> Self {
        Self::EIO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn values_match_linux() {
        assert_eq!(Errno::EPERM.code(), 1);
        assert_eq!(Errno::ENOENT.code(), 2);
        assert_eq!(Errno::EIO.code(), 5);
        assert_eq!(Errno::E2BIG.code(), 7);
        assert_eq!(Errno::EBADF.code(), 9);
        assert_eq!(Errno::ENOMEM.code(), 12);
        assert_eq!(Errno::EACCES.code(), 13);
        assert_eq!(Errno::EBUSY.code(), 16);
        assert_eq!(Errno::EEXIST.code(), 17);
        assert_eq!(Errno::ENODEV.code(), 19);
        assert_eq!(Errno::ENOTDIR.code(), 20);
        assert_eq!(Errno::EISDIR.code(), 21);
        assert_eq!(Errno::EINVAL.code(), 22);
        assert_eq!(Errno::EFBIG.code(), 27);
        assert_eq!(Errno::ENOSPC.code(), 28);
        assert_eq!(Errno::ESPIPE.code(), 29);
        assert_eq!(Errno::ENAMETOOLONG.code(), 36);
        assert_eq!(Errno::ENOTEMPTY.code(), 39);
        assert_eq!(Errno::EOPNOTSUPP.code(), 95);
    }

    #[test]
    fn display_is_strerror_text() {
        assert_eq!(format!("{}", Errno::EINVAL), "Invalid argument");
        assert_eq!(format!("{}", Errno::ENOENT), "No such file or directory");
        assert_eq!(format!("{}", Errno::EISDIR), "Is a directory");
        assert_eq!(Errno::EACCES.text(), "Permission denied");
    }

    #[test]
    fn fmt_error_is_an_io_error() {
        assert_eq!(Errno::from(fmt::Error), Errno::EIO);
    }
}
