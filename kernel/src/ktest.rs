//! In-kernel tests: functions registered with [`ktest!`](crate::ktest) land in the `.ktest`
//! linker section; the test image (`--features ktest`) runs them all after boot instead of the
//! shell, prints one line per test and a closing `ktest: N passed, N failed`, and exits QEMU
//! with 0 (all passed) or [`EXIT_TESTS_FAILED`]. A test returns `Err(message)` to fail; a panic
//! or fault stops the image with the kernel-panic status and the usual report.

use alloc::string::String;

use arch::semihosting::{EXIT_TESTS_FAILED, exit};

use crate::println;

pub type TestResult = Result<(), String>;

/// One registered test.
#[repr(C)]
pub struct KTest {
    pub name: &'static str,
    pub func: fn() -> TestResult,
}

/// Registers `fn NAME() -> TestResult { ... }` as an in-kernel test.
#[macro_export]
macro_rules! ktest {
    (fn $name:ident() -> TestResult $body:block) => {
        fn $name() -> $crate::ktest::TestResult $body
        const _: () = {
            #[used]
            #[unsafe(link_section = ".ktest")]
            static TEST: $crate::ktest::KTest = $crate::ktest::KTest {
                name: concat!(module_path!(), "::", stringify!($name)),
                func: $name,
            };
        };
    };
}

/// Fails the test with file:line and a message unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr) => {
        $crate::kassert!($cond, "assertion failed: {}", stringify!($cond))
    };
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(alloc::format!("{}:{}: {}", file!(), line!(), format_args!($($fmt)+)));
        }
    };
}

/// Fails the test unless `left == right`, showing both.
#[macro_export]
macro_rules! kassert_eq {
    ($left:expr, $right:expr) => {{
        let (left, right) = (&$left, &$right);
        $crate::kassert!(
            left == right,
            "{} == {}: left {:?}, right {:?}",
            stringify!($left),
            stringify!($right),
            left,
            right
        );
    }};
}

/// Turns a failed step into the test's failure message: `spawn(..).context("spawn")?` fails
/// with `spawn: <error>`, `step.or_fail()?` with the error alone.
pub trait Context<T> {
    fn context(self, what: &str) -> Result<T, String>;
    fn or_fail(self) -> Result<T, String>;
}

impl<T, E: core::fmt::Debug> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, String> {
        self.map_err(|e| alloc::format!("{what}: {e:?}"))
    }

    fn or_fail(self) -> Result<T, String> {
        self.map_err(|e| alloc::format!("{e:?}"))
    }
}

unsafe extern "C" {
    // Declared as bytes: only their addresses are used.
    static __start_ktest: u8;
    static __stop_ktest: u8;
}

fn tests() -> &'static [KTest] {
    // SAFETY: the linker script brackets .ktest with these symbols, and the section holds only
    // KTest records placed there by `ktest!`.
    unsafe {
        let start = core::ptr::addr_of!(__start_ktest).cast::<KTest>();
        let stop = core::ptr::addr_of!(__stop_ktest).cast::<KTest>();
        core::slice::from_raw_parts(start, stop.offset_from(start) as usize)
    }
}

/// Runs every registered test and exits QEMU with the verdict.
pub fn run_all() -> ! {
    let tests = tests();
    println!("ktest: running {} tests", tests.len());
    let mut failed = 0;
    for test in tests {
        match (test.func)() {
            Ok(()) => println!("ktest: {} ... ok", test.name),
            Err(message) => {
                failed += 1;
                println!("ktest: {} ... FAILED\nktest:   {}", test.name, message);
            }
        }
    }
    println!("ktest: {} passed, {} failed", tests.len() - failed, failed);
    exit(if failed == 0 { 0 } else { EXIT_TESTS_FAILED })
}
