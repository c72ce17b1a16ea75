//! The runtime of the initramfs programs: `_start`, Linux arm64 syscalls (`svc #0`, number in
//! x8, arguments in x0-x5, result or `-errno` in x0), argument parsing and a little output.
//! Nothing here knows about our kernel: the same binaries run on Linux.
//!
//! Built by `cargo xtask build` for `aarch64-unknown-none-softfloat` with its own RUSTFLAGS (no
//! patchable entries: those are the kernel's), static, non-PIE; see the README. On the host it
//! builds as an empty library so workspace-wide cargo commands keep working.
#![cfg_attr(target_os = "none", no_std)]

pub mod sys;

/// A check failed (its line is printed already).
#[derive(Debug)]
pub struct Failed;

/// A test program's checks, stopping at the first failure: each passing one is counted, a
/// failing one prints `NAME: FAILED: WHAT` and returns `Err`, which the program's `?` passes up.
pub struct Checks {
    name: &'static [u8],
    pub passed: u64,
}

impl Checks {
    pub const fn new(name: &'static [u8]) -> Self {
        Self { name, passed: 0 }
    }

    pub fn check(&mut self, ok: bool, what: &[u8]) -> Result<(), Failed> {
        if ok {
            self.passed += 1;
            Ok(())
        } else {
            print(self.name);
            print(b": FAILED: ");
            print(what);
            print(b"\n");
            Err(Failed)
        }
    }
}

/// The program's arguments, as `_start` found them on the initial stack.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    pub fn len(&self) -> usize {
        self.argc
    }

    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// The argument vector: `argc` C strings and a NULL, as `execve` takes it.
    pub fn argv(&self) -> *const *const u8 {
        self.argv
    }

    /// The environment `_start` found after argv: a NULL-terminated array of C strings, as
    /// `execve` takes it.
    pub fn envp(&self) -> *const *const u8 {
        // SAFETY: argv has argc entries and a NULL; envp follows (Linux's initial stack).
        unsafe { self.argv.add(self.argc + 1) }
    }

    /// Argument `i` without its NUL; `None` past the end.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: the kernel put argc pointers to NUL-terminated strings on the stack, which
        // lives (unchanged by us) for the whole program.
        unsafe {
            let s = *self.argv.add(i);
            let mut len = 0;
            while *s.add(len) != 0 {
                len += 1;
            }
            Some(core::slice::from_raw_parts(s, len))
        }
    }
}

/// Parses a decimal argument.
pub fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &c| {
        let digit = (c as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Writes all of `bytes` to standard output.
pub fn print(bytes: &[u8]) {
    let _ = sys::write(1, bytes);
}

/// Writes `n` in decimal.
pub fn print_u64(n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    print(&buf[at..]);
}

/// Writes a negative errno as `-N`, anything else in decimal.
pub fn print_ret(ret: isize) {
    if ret < 0 {
        print(b"-");
        print_u64(ret.unsigned_abs() as u64);
    } else {
        print_u64(ret as u64);
    }
}

/// `AT_HWCAP` from the auxiliary vector, as `_start` found it (0 if absent).
pub fn auxv_hwcap() -> u64 {
    HWCAP.load(core::sync::atomic::Ordering::Relaxed)
}

static HWCAP: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Linux's `AT_NULL` and `AT_HWCAP` keys.
const AT_NULL: usize = 0;
const AT_HWCAP: usize = 16;

/// Reads the auxiliary vector that follows envp's NULL on the initial stack.
///
/// # Safety
/// `envp` must point at the initial stack's NULL-terminated envp array.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
unsafe fn read_auxv(envp: *const usize) {
    // SAFETY: the caller's: envp ends in NULL and the auxv's (key, value) pairs, ending in
    // AT_NULL, follow it (Linux's initial stack).
    unsafe {
        let mut at = envp;
        while *at != 0 {
            at = at.add(1);
        }
        at = at.add(1);
        while *at != AT_NULL {
            if *at == AT_HWCAP {
                HWCAP.store(*at.add(1) as u64, core::sync::atomic::Ordering::Relaxed);
            }
            at = at.add(2);
        }
    }
}

/// Defines the program's `main(args) -> exit status`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[cfg(target_os = "none")]
        #[unsafe(no_mangle)]
        extern "Rust" fn __user_main(args: $crate::Args) -> i32 {
            $main(args)
        }

        #[cfg(not(target_os = "none"))]
        fn main() {
            let _: fn($crate::Args) -> i32 = $main;
            eprintln!("this program runs at EL0 under the kernel: `cargo xtask run`");
        }
    };
}

#[cfg(target_os = "none")]
mod rt {
    // The ELF entry: sp points at argc, argv[] follows (Linux's initial stack).
    core::arch::global_asm!(
        ".section .text._start, \"ax\"",
        ".global _start",
        ".type _start, %function",
        "_start:",
        "    mov x29, #0",
        "    mov x30, #0",
        "    mov x0, sp",
        "    bl {start}",
        "    brk #0x1",
        start = sym start,
    );

    unsafe extern "Rust" {
        fn __user_main(args: super::Args) -> i32;
    }

    extern "C" fn start(sp: *const usize) -> ! {
        // SAFETY: the kernel's initial stack: argc, then argc argv pointers.
        let args = unsafe {
            super::Args {
                argc: *sp,
                argv: sp.add(1).cast(),
            }
        };
        // SAFETY: envp follows argv's NULL on the kernel's initial stack.
        unsafe { super::read_auxv(sp.add(2 + *sp)) };
        // SAFETY: every program defines it with `entry!`.
        let status = unsafe { __user_main(args) };
        super::sys::exit_group(status)
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        super::print(b"panic\n");
        super::sys::exit_group(101)
    }
}
