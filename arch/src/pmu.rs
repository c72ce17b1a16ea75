//! The PMUv3 instruction counter the benchmark harness measures with: event counter 0 counting
//! ARMv8 common event 0x08, INST_RETIRED (Linux: `ARMV8_PMUV3_PERFCTR_INST_RETIRED`), at EL1 and
//! EL0, on the CPU that programs it. Register and bit names follow Linux's `arm_pmuv3.h`.
//!
//! aarch64-cpu 11 describes ID_AA64DFR0_EL1 (read here for PMUVer) but none of the PMU
//! registers, so PMCR_EL0, PMCEID0_EL0, PMEVTYPER0_EL0, PMCNTENSET/CLR_EL0, PMINTENCLR_EL1,
//! PMOVSCLR_EL0 and PMEVCNTR0_EL0 are accessed with inline `mrs`/`msr`.
//!
//! QEMU implements INST_RETIRED only with precise instruction counting (`-icount shift=N`),
//! and then counts every vCPU's instructions into one sum: measure on a single-CPU machine
//! unless the cost of all CPUs together is what is wanted.

use core::arch::asm;
use core::fmt;

use aarch64_cpu::registers::{ID_AA64DFR0_EL1, Readable};

/// Instruction architecturally executed (the ARMv8 common event number).
pub const ARMV8_PMUV3_PERFCTR_INST_RETIRED: u16 = 0x08;

/// ID_AA64DFR0_EL1.PMUVer: no PMU, and an IMPLEMENTATION DEFINED (non-PMUv3) one.
const ID_AA64DFR0_EL1_PMUVER_NI: u64 = 0x0;
const ID_AA64DFR0_EL1_PMUVER_IMP_DEF: u64 = 0xf;

/// PMCR_EL0.E: enables every counter PMCNTENSET enables.
const ARMV8_PMU_PMCR_E: u64 = 1 << 0;
/// PMCR_EL0.N: how many event counters there are.
const ARMV8_PMU_PMCR_N_SHIFT: u64 = 11;
const ARMV8_PMU_PMCR_N_MASK: u64 = 0x1f;

/// PMEVTYPER<n>_EL0.P: do not count at EL1 (left clear: kernel instructions are the point).
const ARMV8_PMU_EXCLUDE_EL1: u64 = 1 << 31;
/// PMEVTYPER<n>_EL0.evtCount.
const ARMV8_PMU_EVTYPE_EVENT: u64 = 0xffff;

/// The event counter used, and its bit in PMCNTENSET/PMCNTENCLR/PMINTENCLR/PMOVSCLR.
const COUNTER: u64 = 0;
const COUNTER_BIT: u64 = 1 << COUNTER;

/// Why instructions cannot be counted on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmuError {
    /// ID_AA64DFR0_EL1.PMUVer names no PMUv3.
    NoPmuV3 { pmuver: u64 },
    /// PMCR_EL0.N is zero: the PMU has only the cycle counter.
    NoEventCounters,
    /// PMCEID0_EL0 says the event is not implemented.
    EventNotSupported { event: u16 },
}

impl fmt::Display for PmuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PmuError::NoPmuV3 { pmuver } => {
                write!(f, "no PMUv3 (ID_AA64DFR0_EL1.PMUVer = {pmuver:#x})")
            }
            PmuError::NoEventCounters => {
                write!(f, "the PMU has no event counters (PMCR_EL0.N = 0)")
            }
            PmuError::EventNotSupported { event } => write!(
                f,
                "PMU event {event:#04x} INST_RETIRED is not supported (PMCEID0_EL0 bit {event} \
                 clear); QEMU counts instructions only with -icount, as `cargo xtask bench` runs it"
            ),
        }
    }
}

/// Checks that this CPU can count INST_RETIRED, and starts event counter 0 counting it at EL1
/// and EL0 from zero, with its overflow flag clear and its overflow interrupt off. Calling it
/// again restarts the count.
pub fn inst_retired_init() -> Result<(), PmuError> {
    let pmuver = ID_AA64DFR0_EL1.read(ID_AA64DFR0_EL1::PMUVer);
    if pmuver == ID_AA64DFR0_EL1_PMUVER_NI || pmuver == ID_AA64DFR0_EL1_PMUVER_IMP_DEF {
        return Err(PmuError::NoPmuV3 { pmuver });
    }
    let pmcr = read_pmcr();
    if (pmcr >> ARMV8_PMU_PMCR_N_SHIFT) & ARMV8_PMU_PMCR_N_MASK == 0 {
        return Err(PmuError::NoEventCounters);
    }
    let event = ARMV8_PMUV3_PERFCTR_INST_RETIRED;
    if read_pmceid0() & (1 << event) == 0 {
        return Err(PmuError::EventNotSupported { event });
    }
    // P clear: count at EL1. U and NSH clear too: count at EL0, not at EL2.
    let evtype = u64::from(event) & ARMV8_PMU_EVTYPE_EVENT & !ARMV8_PMU_EXCLUDE_EL1;
    // SAFETY: programming PMU counter 0, which only the benchmark harness uses. The counter is
    // stopped while its event changes, and its overflow interrupt is turned off before it runs.
    unsafe {
        asm!(
            "msr pmcntenclr_el0, {bit}",
            "isb",
            "msr pmevtyper0_el0, {evtype}",
            "msr pmevcntr0_el0, xzr",
            "msr pmintenclr_el1, {bit}",
            "msr pmovsclr_el0, {bit}",
            "msr pmcntenset_el0, {bit}",
            "msr pmcr_el0, {pmcr}",
            "isb",
            bit = in(reg) COUNTER_BIT,
            evtype = in(reg) evtype,
            pmcr = in(reg) pmcr | ARMV8_PMU_PMCR_E,
            options(nomem, nostack, preserves_flags),
        );
    }
    Ok(())
}

/// The INST_RETIRED count: an ISB, so every earlier instruction has retired, then PMEVCNTR0_EL0.
/// The counter is 32 bits wide (PMUv3 without PMCR_EL0.LP); subtract with `wrapping_sub` and
/// check [`inst_retired_overflowed`] for spans of 2^32 instructions or more.
#[inline(always)]
pub fn read_inst_retired() -> u32 {
    let count: u64;
    // SAFETY: reading an event counter at EL1 has no side effects. Not `pure`: the compiler
    // must keep each read where it is relative to the code being measured.
    unsafe {
        asm!(
            "isb",
            "mrs {count}, pmevcntr0_el0",
            count = out(reg) count,
            options(nomem, nostack, preserves_flags),
        );
    }
    count as u32
}

/// Whether counter 0 wrapped since [`inst_retired_init`] or the previous call; clears the flag.
pub fn inst_retired_overflowed() -> bool {
    let flags: u64;
    // SAFETY: PMOVSCLR_EL0 reads the overflow flags and clears those written as 1; only counter
    // 0's flag is touched.
    unsafe {
        asm!(
            "mrs {flags}, pmovsclr_el0",
            "msr pmovsclr_el0, {bit}",
            flags = out(reg) flags,
            bit = in(reg) COUNTER_BIT,
            options(nomem, nostack, preserves_flags),
        );
    }
    flags & COUNTER_BIT != 0
}

fn read_pmcr() -> u64 {
    let pmcr: u64;
    // SAFETY: reading PMCR_EL0 has no side effects.
    unsafe { asm!("mrs {}, pmcr_el0", out(reg) pmcr, options(nomem, nostack, preserves_flags)) };
    pmcr
}

fn read_pmceid0() -> u64 {
    let pmceid0: u64;
    // SAFETY: reading PMCEID0_EL0 has no side effects.
    unsafe {
        asm!("mrs {}, pmceid0_el0", out(reg) pmceid0, options(nomem, nostack, preserves_flags))
    };
    pmceid0
}
