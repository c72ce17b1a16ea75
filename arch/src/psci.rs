//! PSCI, through the `smccc` crate: starting secondary CPUs (CPU_ON), and turning off one that
//! came too late (CPU_OFF), with the conduit the
//! device tree's `/psci` node names (`hvc` on plain `-M virt`, `smc` with `virtualization=on`).

use smccc::psci;
use smccc::{Hvc, Smc};

/// How PSCI calls reach the firmware (or QEMU's emulation of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    Hvc,
    Smc,
}

impl Conduit {
    /// The conduit named by a `/psci` node's `method` property.
    pub fn from_method(method: &str) -> Option<Self> {
        match method {
            "hvc" => Some(Self::Hvc),
            "smc" => Some(Self::Smc),
            _ => None,
        }
    }
}

/// A PSCI call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PsciError(pub psci::Error);

/// Powers on the CPU with affinity `mpidr` at physical address `entry`, with `context` in x0.
pub fn cpu_on(conduit: Conduit, mpidr: u64, entry: u64, context: u64) -> Result<(), PsciError> {
    match conduit {
        Conduit::Hvc => psci::cpu_on::<Hvc>(mpidr, entry, context),
        Conduit::Smc => psci::cpu_on::<Smc>(mpidr, entry, context),
    }
    .map_err(PsciError)
}

/// PSCI 0.2 CPU_OFF (Linux: `PSCI_0_2_FN_CPU_OFF`).
pub const PSCI_0_2_FN_CPU_OFF: u32 = 0x8400_0002;

crate::noinstr! {
/// Powers off the calling CPU; returns only if the firmware refused (Linux: `psci_cpu_off`).
/// Raw rather than through `smccc`: a CPU that came too late to be brought up calls it before
/// it may run anything traceable.
pub fn cpu_off(conduit: Conduit) {
    // SAFETY: CPU_OFF takes no arguments and, when it returns, only its status in x0; the
    // SMCCC lets the call clobber x0-x17.
    unsafe {
        match conduit {
            Conduit::Hvc => core::arch::asm!(
                "hvc #0",
                inout("x0") u64::from(PSCI_0_2_FN_CPU_OFF) => _,
                out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x5") _, out("x6") _,
                out("x7") _, out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                out("x12") _, out("x13") _, out("x14") _, out("x15") _, out("x16") _,
                out("x17") _,
                options(nostack),
            ),
            Conduit::Smc => core::arch::asm!(
                "smc #0",
                inout("x0") u64::from(PSCI_0_2_FN_CPU_OFF) => _,
                out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x5") _, out("x6") _,
                out("x7") _, out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                out("x12") _, out("x13") _, out("x14") _, out("x15") _, out("x16") _,
                out("x17") _,
                options(nostack),
            ),
        }
    }
}
}

/// The PSCI version as (major, minor).
pub fn version(conduit: Conduit) -> Result<(u16, u16), PsciError> {
    let version = match conduit {
        Conduit::Hvc => psci::version::<Hvc>(),
        Conduit::Smc => psci::version::<Smc>(),
    }
    .map_err(PsciError)?;
    Ok((version.major, version.minor))
}
