//! The in-kernel tests: what needs the real hardware (MMU permissions, the fixmap, BRK and step
//! routing, the patch-site table, the embedded symbol table). Collected by `ktest!` and run by
//! the test image.

mod debug;
mod patching;
mod smp;
mod symbols;
