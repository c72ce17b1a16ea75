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

/// Powers off the calling CPU; returns only if the firmware refused (Linux: `psci_cpu_off`).
pub fn cpu_off(conduit: Conduit) -> PsciError {
    let result = match conduit {
        Conduit::Hvc => psci::cpu_off::<Hvc>(),
        Conduit::Smc => psci::cpu_off::<Smc>(),
    };
    match result {
        Ok(()) => PsciError(psci::Error::Denied),
        Err(e) => PsciError(e),
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
