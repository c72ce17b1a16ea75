//! `badcall`: hostile syscall arguments, each with the result Linux gives: kernel pointers and
//! unmapped pointers are EFAULT (-14), unknown numbers ENOSYS (-38), bad mmap flags EINVAL
//! (-22), bad fds EBADF (-9). Then the same calls done right. Prints one `name = result` line
//! per call.
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys::{self, syscall6};

fn show(name: &[u8], ret: isize) {
    user::print(name);
    user::print(b" = ");
    user::print_ret(ret);
    user::print(b"\n");
}

/// A `struct timespec` somewhere that lives for the call (a static: the calls are sequential).
fn timespec(sec: i64, nsec: i64) -> usize {
    static mut TS: [i64; 2] = [0; 2];
    // SAFETY: single-threaded program; the pointer is used by the very next syscall only.
    unsafe {
        TS = [sec, nsec];
        (&raw mut TS) as usize
    }
}

/// An address in the kernel's half (its linear map): must never be read or written.
const KERNEL_ADDR: usize = 0xffff_ff80_4020_0000;
/// A user address nothing maps.
const UNMAPPED: usize = 0x1000;

fn run(_args: user::Args) -> i32 {
    // SAFETY: the pointers are deliberately bad and the kernel must refuse them; the one store
    // goes to bytes of a page this program just mapped.
    unsafe {
        show(
            b"write(1, kernel)",
            syscall6(sys::SYS_WRITE, [1, KERNEL_ADDR, 16, 0, 0, 0]),
        );
        show(
            b"write(1, unmapped)",
            syscall6(sys::SYS_WRITE, [1, UNMAPPED, 16, 0, 0, 0]),
        );
        show(
            b"write(-1)",
            syscall6(
                sys::SYS_WRITE,
                [usize::MAX, b"x".as_ptr() as usize, 1, 0, 0, 0],
            ),
        );
        show(
            b"uname(kernel)",
            syscall6(sys::SYS_UNAME, [KERNEL_ADDR, 0, 0, 0, 0, 0]),
        );
        show(
            b"uname(unmapped)",
            syscall6(sys::SYS_UNAME, [UNMAPPED, 0, 0, 0, 0, 0]),
        );
        show(
            b"getrandom(kernel)",
            syscall6(sys::SYS_GETRANDOM, [KERNEL_ADDR, 16, 0, 0, 0, 0]),
        );
        show(
            b"nanosleep(kernel)",
            syscall6(sys::SYS_NANOSLEEP, [KERNEL_ADDR, 0, 0, 0, 0, 0]),
        );
        show(
            b"mmap(len 0)",
            syscall6(sys::SYS_MMAP, [0, 0, 3, 0x22, usize::MAX, 0]),
        );
        show(
            b"mmap(file)",
            syscall6(sys::SYS_MMAP, [0, 4096, 3, 0x02, 3, 0]),
        );
        show(
            b"munmap(unaligned)",
            syscall6(sys::SYS_MUNMAP, [0x1001, 4096, 0, 0, 0, 0]),
        );
        show(b"syscall 9999", syscall6(9999, [0; 6]));
        show(b"syscall 1", syscall6(1, [0; 6]));
        // A buffer that crosses from a mapped page into an unmapped one: the bytes before the
        // edge are written, the count says how many.
        let page = syscall6(sys::SYS_MMAP, [0, 8192, 3, 0x22, usize::MAX, 0]);
        if page > 0 {
            let page = page as usize;
            syscall6(sys::SYS_MUNMAP, [page + 4096, 4096, 0, 0, 0, 0]);
            let edge = page + 4096 - 3;
            core::ptr::copy_nonoverlapping(b"ab\n".as_ptr(), edge as *mut u8, 3);
            show(
                b"write(edge)",
                syscall6(sys::SYS_WRITE, [1, edge, 100, 0, 0, 0]),
            );
            show(
                b"uname(edge)",
                syscall6(sys::SYS_UNAME, [edge, 0, 0, 0, 0, 0]),
            );
        }
        show(
            b"nanosleep(nsec 1e9)",
            syscall6(
                sys::SYS_NANOSLEEP,
                [timespec(0, 1_000_000_000), 0, 0, 0, 0, 0],
            ),
        );
        show(
            b"clock_gettime(99)",
            syscall6(sys::SYS_CLOCK_GETTIME, [99, timespec(0, 0), 0, 0, 0, 0]),
        );
        show(
            b"getrandom(flags 8)",
            syscall6(sys::SYS_GETRANDOM, [timespec(0, 0), 16, 8, 0, 0, 0]),
        );

        // Done right.
        let mut t0 = [0i64; 2];
        let mut t1 = [0i64; 2];
        syscall6(
            sys::SYS_CLOCK_GETTIME,
            [1, t0.as_mut_ptr() as usize, 0, 0, 0, 0],
        );
        show(
            b"nanosleep(20 ms)",
            syscall6(sys::SYS_NANOSLEEP, [timespec(0, 20_000_000), 0, 0, 0, 0, 0]),
        );
        syscall6(
            sys::SYS_CLOCK_GETTIME,
            [1, t1.as_mut_ptr() as usize, 0, 0, 0, 0],
        );
        let slept_ns = (t1[0] - t0[0]) * 1_000_000_000 + (t1[1] - t0[1]);
        show(b"slept at least 20 ms", isize::from(slept_ns >= 20_000_000));
        show(
            b"clock_nanosleep(99)",
            syscall6(sys::SYS_CLOCK_NANOSLEEP, [99, 0, timespec(0, 1), 0, 0, 0]),
        );
        // An absolute deadline 20 ms ahead on CLOCK_MONOTONIC.
        let mut now = [0i64; 2];
        syscall6(
            sys::SYS_CLOCK_GETTIME,
            [1, now.as_mut_ptr() as usize, 0, 0, 0, 0],
        );
        let deadline_ns = now[0] * 1_000_000_000 + now[1] + 20_000_000;
        let deadline = timespec(deadline_ns / 1_000_000_000, deadline_ns % 1_000_000_000);
        show(
            b"clock_nanosleep(abs +20 ms)",
            syscall6(sys::SYS_CLOCK_NANOSLEEP, [1, 1, deadline, 0, 0, 0]),
        );
        syscall6(
            sys::SYS_CLOCK_GETTIME,
            [1, now.as_mut_ptr() as usize, 0, 0, 0, 0],
        );
        show(
            b"deadline passed",
            isize::from(now[0] * 1_000_000_000 + now[1] >= deadline_ns),
        );
        let head = [0u64; 3];
        show(
            b"set_robust_list(24)",
            syscall6(
                sys::SYS_SET_ROBUST_LIST,
                [head.as_ptr() as usize, 24, 0, 0, 0, 0],
            ),
        );
        show(
            b"set_robust_list(1)",
            syscall6(
                sys::SYS_SET_ROBUST_LIST,
                [head.as_ptr() as usize, 1, 0, 0, 0, 0],
            ),
        );
        let mut random = [0u8; 64];
        show(
            b"getrandom(64)",
            syscall6(
                sys::SYS_GETRANDOM,
                [random.as_mut_ptr() as usize, 64, 0, 0, 0, 0],
            ),
        );
        show(
            b"random bytes differ",
            isize::from(random.iter().any(|&b| b != random[0])),
        );
        let mut uts = [0u8; 65 * 6];
        show(
            b"uname",
            syscall6(sys::SYS_UNAME, [uts.as_mut_ptr() as usize, 0, 0, 0, 0, 0]),
        );
        user::print(b"sysname ");
        user::print(&uts[..5]);
        user::print(b", machine ");
        user::print(&uts[65 * 4..65 * 4 + 7]);
        user::print(b"\n");
        show(b"getpid > 1", isize::from(sys::getpid() > 1));
        let brk = syscall6(sys::SYS_BRK, [0; 6]);
        let grown = syscall6(sys::SYS_BRK, [brk as usize + 10000, 0, 0, 0, 0, 0]);
        show(b"brk grows", (grown == brk + 10000) as isize);
        // The new heap is zeroed and writable.
        let heap = brk as usize as *mut u8;
        core::ptr::write_volatile(heap.add(9999), 7);
        show(
            b"heap byte",
            isize::from(core::ptr::read_volatile(heap.add(9999))),
        );
    }
    0
}

user::entry!(run);
