//! SMP bring-up: every CPU of the device tree came online, each with its own per-CPU slot
//! holding the MPIDR it read itself.

use crate::board;
use crate::smp::{cpu_online_mask, num_online_cpus, per_cpu, smp_processor_id};
use crate::{kassert, kassert_eq, ktest};

ktest! {
fn every_dtb_cpu_is_online_with_its_own_mpidr() -> TestResult {
    let cpus = board::info().cpus();
    kassert_eq!(num_online_cpus(), cpus.len());
    kassert_eq!(cpu_online_mask(), (1u64 << cpus.len()) - 1);
    kassert_eq!(smp_processor_id(), 0);
    let mut seen = 0u64;
    for cpu in 0..cpus.len() {
        let slot = per_cpu(cpu).ok_or("no per-CPU slot")?;
        kassert_eq!(slot.arch.cpu, cpu);
        let mpidr = slot.mpidr.load(core::sync::atomic::Ordering::Relaxed);
        let index = cpus.iter().position(|c| c.mpidr == mpidr);
        kassert!(index.is_some(), "CPU{cpu} has MPIDR {mpidr:#x}, which the DTB does not list");
        let bit = 1u64 << index.unwrap_or(0);
        kassert!(seen & bit == 0, "two CPUs claim MPIDR {mpidr:#x}");
        seen |= bit;
    }
    Ok(())
}
}
