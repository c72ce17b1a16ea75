//! `pollread PATH MS`: opens PATH with `O_NONBLOCK`, waits up to MS milliseconds in `ppoll` for
//! `POLLIN`, then reads once. Prints `poll: POLLIN` or `poll: timeout`, then `read N: BYTES` or
//! `read: -ERRNO` (`-11` is `EAGAIN`): what a program that waits on a device (gdbserver on
//! `/dev/hvc0`) sees of its readiness and of a read with nothing there.
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys;

/// Linux's `POLLIN` (include/uapi/asm-generic/poll.h).
const POLLIN: i16 = 0x0001;

/// `struct pollfd`.
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

fn run(args: user::Args) -> i32 {
    let (Some(path), Some(ms)) = (args.get(1), args.get(2).and_then(user::parse_u64)) else {
        user::print(b"usage: pollread PATH MS\n");
        return 2;
    };
    let mut cpath = [0u8; 256];
    if path.len() >= cpath.len() {
        user::print(b"pollread: path too long\n");
        return 2;
    }
    cpath[..path.len()].copy_from_slice(path);
    let Ok(cpath) = core::ffi::CStr::from_bytes_until_nul(&cpath) else {
        return 2;
    };
    let fd = sys::open(cpath, sys::O_RDONLY | sys::O_NONBLOCK, 0);
    if fd < 0 {
        user::print(b"open: ");
        user::print_ret(fd);
        user::print(b"\n");
        return 1;
    }
    let mut pollfd = PollFd {
        fd: fd as i32,
        events: POLLIN,
        revents: 0,
    };
    let timeout = [ms / 1000, ms % 1000 * 1_000_000];
    // SAFETY: one valid pollfd, a valid timespec, no signal mask.
    let ready = unsafe {
        sys::syscall6(
            sys::SYS_PPOLL,
            [
                &mut pollfd as *mut PollFd as usize,
                1,
                timeout.as_ptr() as usize,
                0,
                8,
                0,
            ],
        )
    };
    match ready {
        1 if pollfd.revents & POLLIN != 0 => user::print(b"poll: POLLIN\n"),
        0 => user::print(b"poll: timeout\n"),
        other => {
            user::print(b"poll: ");
            user::print_ret(other);
            user::print(b"\n");
        }
    }
    let mut buf = [0u8; 64];
    let n = sys::read(fd as usize, &mut buf);
    if n < 0 {
        user::print(b"read: ");
        user::print_ret(n);
    } else {
        user::print(b"read ");
        user::print_u64(n as u64);
        user::print(b": ");
        user::print(&buf[..n as usize]);
    }
    user::print(b"\n");
    0
}

user::entry!(run);
