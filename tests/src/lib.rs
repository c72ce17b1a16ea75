//! Scenario tests: boot the real kernel image in QEMU and drive its serial shell.
//!
//! - [`qemu`]: the machine's command line ([`QemuConfig`]) and a running machine with piped
//!   stdio, deadlines on every wait, killed on drop ([`Qemu`]).
//! - [`script`]: the `*.tc` scenario format and its parser (documented in tests/README.md).
//! - [`hvc`]: the host end of the guest's virtio console (`/dev/hvc0`), for scenarios that
//!   talk to it with `hvc-send:` and `hvc-expect:`.
//! - [`escape`]: the byte escapes scenarios use to type control bytes and long lines.
//! - [`runner`]: plays scenarios against fresh machines, in parallel, and reports failures with
//!   the full console transcript.
//!
//! `cargo xtask test` runs every `tests/scenarios/*.tc` through [`runner::run_files`].

pub mod escape;
pub mod hvc;
pub mod qemu;
pub mod runner;
pub mod script;

pub use qemu::{Console, Qemu, QemuConfig};
pub use runner::{Report, run_file, run_files, scenario_files};
