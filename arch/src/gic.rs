//! The Generic Interrupt Controller, v2 or v3 as the device tree describes it, driven through the
//! `arm-gic` crate (Linux: `drivers/irqchip/irq-gic.c`, `irq-gic-v3.c`).
//!
//! Split as Linux splits it, so every CPU can bring up its own part:
//! - [`gic_init`], once on the boot CPU: maps the regions and sets up the distributor;
//! - [`gic_cpu_init`], on every CPU including the boot CPU: GICv3 wakes the CPU's redistributor,
//!   enables the system-register CPU interface and resets the CPU's SGIs and PPIs; GICv2 enables
//!   the CPU's banked CPU interface. Either way all 16 SGIs end up enabled on the CPU: they are
//!   its IPIs, raised only by software, so a handler registered once serves every CPU.
//!
//! Configuration: every interrupt is non-secure Group 1 (GICv3; Group 0 on a GICv2 without
//! security extensions, as QEMU's is), at the default priority, with the priority mask wide open
//! and EOImode 0 (the EOI also deactivates). SPIs are routed to the CPU that enables them.
//!
//! Locking: [`GIC`] (a [`SpinLockIrq`]) serialises configuration: distributor and redistributor
//! writes and GICv2 SGIs. It is a leaf lock: nothing else is taken while it is held. The
//! exception path takes no lock: acknowledge and EOI are ICC system registers (GICv3) or this
//! CPU's banked GICC registers (GICv2), and GICv3 SGIs are ICC_SGI1R_EL1 writes.
//!
//! Acknowledge and EOI access those registers directly rather than through the crate: they run
//! on every IRQ from `noinstr` code, and the crate's functions are traceable.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, compiler_fence};

use aarch64_cpu::registers::{MPIDR_EL1, Readable};
use arm_gic::gicv2::registers::{Gicc, Gicd as GicdV2};
use arm_gic::gicv2::{self, GicV2, SgiTargetListFilter};
use arm_gic::gicv3::registers::{Gicd, GicrSgi};
use arm_gic::gicv3::{self, GicCpuInterface, GicV3, SgiTargetGroup};
use arm_gic::{IntId, UniqueMmioPointer};

use crate::irq::{NR_CPUS, Trigger};
use crate::mmu::{self, MapError};
use crate::spinlock::SpinLockIrq;

/// MPIDR_EL1 affinity fields Aff3..Aff0 (Linux: `MPIDR_HWID_BITMASK`).
pub const MPIDR_HWID_BITMASK: u64 = 0xff_00ff_ffff;
/// Priority mask that lets every priority through.
const GIC_PRIO_MASK_ALL: u8 = 0xff;
/// GICv2 `GICD_ITARGETSR<n>`: one byte per interrupt, the CPU-interface mask it targets.
const GIC_DIST_TARGET: usize = 0x800;
/// GICv2 `GICC_IAR`/`GICC_EOIR`: the interrupt ID field; above it, an SGI's source CPU.
const GICC_IAR_INT_ID_MASK: u32 = 0x3ff;
/// GICv2 CPU-interface register offsets: `GICC_IAR` and `GICC_EOIR`.
const GIC_CPU_INTACK: usize = 0x0c;
const GIC_CPU_EOI: usize = 0x10;
/// INTIDs from here on are special (1023: nothing pending).
const GIC_SPECIAL_START: u32 = 1020;
/// A GICv3 redistributor with GICv4 virtual-LPI frames spans 256 KiB (128 KiB without).
const GICR_MAX_STRIDE: u64 = 0x4_0000;

/// The architecture version of the interrupt controller. The discriminants are the values
/// kept in `VERSION`, so reading the version on the interrupt path is a load and a compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum GicVersion {
    V2 = 2,
    V3 = 3,
}

impl GicVersion {
    /// The version a device-tree `compatible` string names.
    pub fn from_compatible(compatible: &str) -> Option<Self> {
        match compatible {
            "arm,gic-v3" => Some(Self::V3),
            "arm,cortex-a15-gic" | "arm,gic-400" => Some(Self::V2),
            _ => None,
        }
    }

    /// Linux's irq_chip name, as /proc/interrupts shows it.
    pub fn chip_name(self) -> &'static str {
        match self {
            Self::V2 => "GICv2",
            Self::V3 => "GICv3",
        }
    }
}

/// Why the GIC could not be set up or configured.
#[derive(Clone, Copy, Debug)]
pub enum GicError {
    /// [`gic_init`] has not run.
    NotInitialised,
    /// The device tree gave fewer register regions than the version needs.
    MissingRegion,
    Map(MapError),
    /// No redistributor claims this CPU's affinity.
    NoRedistributor {
        mpidr: u64,
    },
    /// The logical CPU number is not below [`NR_CPUS`], or that CPU is not up.
    BadCpu(usize),
    /// Not an interrupt ID of the kind asked for.
    BadIrq(u32),
    V2(gicv2::Error),
    V3(gicv3::GicError),
}

impl From<gicv3::GicError> for GicError {
    fn from(error: gicv3::GicError) -> Self {
        Self::V3(error)
    }
}

impl From<gicv2::Error> for GicError {
    fn from(error: gicv2::Error) -> Self {
        Self::V2(error)
    }
}

impl From<MapError> for GicError {
    fn from(error: MapError) -> Self {
        Self::Map(error)
    }
}

/// What [`gic_init`] found, for the boot log.
#[derive(Clone, Copy, Debug)]
pub struct GicInfo {
    pub version: GicVersion,
    /// Interrupt IDs 0..nr_irqs exist (SGIs, PPIs and the implemented SPIs).
    pub nr_irqs: u32,
}

enum Driver {
    V2(GicV2<'static>),
    V3 {
        gic: GicV3<'static>,
        /// Redistributors the mapping covers.
        nr_redist: usize,
    },
}

static GIC: SpinLockIrq<Option<Driver>> = SpinLockIrq::new(None);

/// 0 until [`gic_init`], then 2 or 3: read lock-free by the exception path.
/// The [`GicVersion`] as its discriminant, 0 before `init`.
static VERSION: AtomicU8 = AtomicU8::new(0);
const V2: u8 = GicVersion::V2 as u8;
const V3: u8 = GicVersion::V3 as u8;
static NR_IRQS: AtomicU32 = AtomicU32::new(0);
/// GICv2: the virtual addresses of the distributor and the (banked) CPU interface.
static GICD_V2_BASE: AtomicUsize = AtomicUsize::new(0);
static GICC_BASE: AtomicUsize = AtomicUsize::new(0);

const CPU_OFFLINE: u64 = u64::MAX;
/// Per logical CPU, filled by its [`gic_cpu_init`]: its MPIDR affinity, its GICv3
/// redistributor index and its GICv2 CPU-interface mask.
static CPU_MPIDR: [AtomicU64; NR_CPUS] = [const { AtomicU64::new(CPU_OFFLINE) }; NR_CPUS];
static CPU_REDIST: [AtomicUsize; NR_CPUS] = [const { AtomicUsize::new(0) }; NR_CPUS];
static CPU_TARGET_V2: [AtomicU8; NR_CPUS] = [const { AtomicU8::new(0) }; NR_CPUS];

crate::noinstr! {
/// The interrupt controller's version, once [`gic_init`] has run.
pub fn gic_version() -> Option<GicVersion> {
    match VERSION.load(Ordering::Acquire) {
        2 => Some(GicVersion::V2),
        3 => Some(GicVersion::V3),
        _ => None,
    }
}
}

/// Number of interrupt IDs the GIC implements (0 before [`gic_init`]).
pub fn nr_irqs() -> u32 {
    NR_IRQS.load(Ordering::Relaxed)
}

/// Maps the GIC and sets up its distributor; call once, on the boot CPU, before any
/// [`gic_cpu_init`]. `regions` are the device-tree `reg` windows in binding order (GICv3:
/// distributor, redistributors; GICv2: distributor, CPU interface); `nr_cpus` is the number of
/// CPUs whose redistributors must be reachable.
pub fn gic_init(
    version: GicVersion,
    regions: &[(u64, u64)],
    nr_cpus: usize,
) -> Result<GicInfo, GicError> {
    let [(dist_pa, dist_size), (cpu_pa, cpu_size), ..] = *regions else {
        return Err(GicError::MissingRegion);
    };
    let dist = mmu::map_device(dist_pa, dist_size)?;
    let driver = match version {
        GicVersion::V3 => {
            let nr_redist = nr_cpus.min(NR_CPUS);
            let gicr = mmu::map_device(cpu_pa, cpu_size.min(nr_redist as u64 * GICR_MAX_STRIDE))?;
            // SAFETY: both windows were just mapped as device memory at these addresses and only
            // this driver (behind the GIC lock) accesses them.
            let mut gic = unsafe {
                GicV3::new(
                    UniqueMmioPointer::new(NonNull::new(dist as *mut Gicd).expect("mapped")),
                    NonNull::new(gicr as *mut GicrSgi).expect("mapped"),
                    nr_redist,
                )
            }?;
            gic.distributor().configure_default_settings();
            Driver::V3 { gic, nr_redist }
        }
        GicVersion::V2 => {
            let gicc = mmu::map_device(cpu_pa, cpu_size)?;
            GICD_V2_BASE.store(dist as usize, Ordering::Relaxed);
            GICC_BASE.store(gicc as usize, Ordering::Relaxed);
            // SAFETY: as above; GICC's IAR/EOIR are also used by the exception path, which
            // touches only the current CPU's banked copy, with IRQs masked (see `gicc`).
            Driver::V2(unsafe { GicV2::new(dist as *mut GicdV2, gicc as *mut Gicc) })
        }
    };
    let nr_irqs = match &driver {
        Driver::V2(gic) => gic.typer().num_irqs(),
        Driver::V3 { gic, .. } => gic.typer().num_spis() + 32,
    }
    .min(GIC_SPECIAL_START);
    NR_IRQS.store(nr_irqs, Ordering::Relaxed);
    *GIC.lock() = Some(driver);
    VERSION.store(version as u8, Ordering::Release);
    Ok(GicInfo { version, nr_irqs })
}

/// Brings up this CPU's part of the GIC; `cpu` is its logical number. Every CPU calls this
/// once, with IRQs masked, before it unmasks them; the boot CPU calls it after [`gic_init`].
pub fn gic_cpu_init(cpu: usize) -> Result<(), GicError> {
    if cpu >= NR_CPUS {
        return Err(GicError::BadCpu(cpu));
    }
    let mpidr = MPIDR_EL1.get() & MPIDR_HWID_BITMASK;
    let mut guard = GIC.lock();
    match guard.as_mut().ok_or(GicError::NotInitialised)? {
        Driver::V3 { gic, nr_redist } => {
            let index = (0..*nr_redist)
                .find(|&i| gic.gicr_typer(i).is_ok_and(|t| t.core_mpidr() == mpidr))
                .ok_or(GicError::NoRedistributor { mpidr })?;
            // Enables ICC_SRE_EL1.SRE, wakes the redistributor, sets ICC_CTLR_EL1 (EOImode 0).
            gic.init_cpu(index);
            isb();
            gic.redistributor(index)?.configure_default_settings();
            for sgi in 0..IntId::SGI_COUNT {
                gic.enable_interrupt(IntId::sgi(sgi), Some(index), true)?;
            }
            GicCpuInterface::set_priority_mask(GIC_PRIO_MASK_ALL);
            GicCpuInterface::enable_group1(true);
            isb();
            CPU_REDIST[cpu].store(index, Ordering::Relaxed);
        }
        Driver::V2(gic) => {
            // Enables this CPU's banked CPU interface and priority mask, and the groups of its
            // banked SGI/PPI registers (the distributor part is the same on every CPU).
            gic.setup();
            for sgi in 0..IntId::SGI_COUNT {
                gic.enable_interrupt(IntId::sgi(sgi), true)?;
            }
            CPU_TARGET_V2[cpu].store(gicv2_cpu_target(), Ordering::Relaxed);
        }
    }
    CPU_MPIDR[cpu].store(mpidr, Ordering::Release);
    Ok(())
}

/// This CPU's GICv2 CPU-interface mask: any byte of the banked ITARGETSR0-7 reads as it
/// (Linux: `gic_get_cpumask`). A uniprocessor GIC reads zero; its one interface is bit 0.
fn gicv2_cpu_target() -> u8 {
    let addr = GICD_V2_BASE.load(Ordering::Relaxed) + GIC_DIST_TARGET;
    // SAFETY: GICD_ITARGETSR0 of the distributor gic_init mapped; a read has no side effects.
    let mask = unsafe { core::ptr::read_volatile(addr as *const u8) };
    mask.max(1)
}

fn isb() {
    // SAFETY: a barrier only: later instructions see the system-register writes before it.
    unsafe { core::arch::asm!("isb", options(nostack, preserves_flags)) };
}

/// Whether `cpu` has run [`gic_cpu_init`] (Linux: `cpu_online`, for /proc/interrupts).
pub fn cpu_online(cpu: usize) -> bool {
    CPU_MPIDR
        .get(cpu)
        .is_some_and(|m| m.load(Ordering::Acquire) != CPU_OFFLINE)
}

crate::noinstr! {
/// This CPU's logical number, looked up by its MPIDR among the CPUs that ran [`gic_cpu_init`]
/// (0 for a CPU that has not).
pub fn this_cpu_id() -> usize {
    let mpidr = MPIDR_EL1.get() & MPIDR_HWID_BITMASK;
    CPU_MPIDR.iter().position(|m| m.load(Ordering::Relaxed) == mpidr).unwrap_or(0)
}
}

crate::noinstr! {
/// GICv2: reads this CPU's banked CPU-interface register at `offset`.
fn gicc_read(offset: usize) -> u32 {
    // SAFETY: GICC_BASE holds the CPU interface gic_init mapped before publishing the version
    // our caller checked; `offset` is one of its 32-bit registers. They are banked per CPU and
    // we run with IRQs masked, so nothing else on this CPU touches IAR/EOIR meanwhile; the
    // driver's own pointer touches only CTLR/PMR, under the GIC lock, which masks IRQs too.
    unsafe { core::ptr::read_volatile((GICC_BASE.load(Ordering::Relaxed) + offset) as *const u32) }
}
}

crate::noinstr! {
/// GICv2: writes this CPU's banked CPU-interface register at `offset`; see [`gicc_read`].
fn gicc_write(offset: usize, value: u32) {
    // SAFETY: as in `gicc_read`.
    unsafe {
        core::ptr::write_volatile((GICC_BASE.load(Ordering::Relaxed) + offset) as *mut u32, value)
    }
}
}

/// An acknowledged interrupt: give it back to [`end_interrupt`] when its handler is done.
#[derive(Clone, Copy, Debug)]
pub struct IrqAck {
    /// The IAR value (GICv2 SGIs carry the source CPU above the ID; the EOI must repeat it).
    raw: u32,
}

impl IrqAck {
    /// The interrupt ID.
    pub fn irq(self) -> u32 {
        self.raw & GICC_IAR_INT_ID_MASK
    }
}

crate::noinstr! {
/// Acknowledges the highest-priority pending interrupt; `None` if there is none (spurious).
pub fn acknowledge() -> Option<IrqAck> {
    // The raw version, not `gic_version()`: one compare per interrupt instead of a decode.
    let raw = match VERSION.load(Ordering::Acquire) {
        V3 => {
            let iar: u64;
            // SAFETY: reading ICC_IAR1_EL1 acknowledges the pending Group 1 interrupt, which
            // is what this function is for; the system-register interface is enabled on every
            // CPU that takes interrupts (`gic_cpu_init`). The DSB keeps the handler's loads
            // (an IPI's shared data, such as stop_machine's state) after the acknowledge, as
            // Linux's `gic_read_iar_common`; not `nomem`, so also a compiler barrier.
            unsafe {
                core::arch::asm!("mrs {}, icc_iar1_el1", "dsb sy", out(reg) iar, options(nostack))
            };
            // INTID is bits [23:0]; the rest of the register is RES0.
            iar as u32
        }
        V2 => {
            let iar = gicc_read(GIC_CPU_INTACK);
            // An IPI's shared data is read after its acknowledge (Linux: the smp_rmb in
            // gic_handle_irq).
            core::sync::atomic::fence(Ordering::Acquire);
            iar
        }
        _ => return None,
    };
    // The handler's loads must not be hoisted above the acknowledge.
    compiler_fence(Ordering::SeqCst);
    (raw & GICC_IAR_INT_ID_MASK < GIC_SPECIAL_START).then_some(IrqAck { raw })
}
}

crate::noinstr! {
/// Drops the running priority and deactivates the interrupt (EOImode 0).
pub fn end_interrupt(ack: IrqAck) {
    // The handler's accesses must not sink below the EOI.
    compiler_fence(Ordering::SeqCst);
    match VERSION.load(Ordering::Acquire) {
        V3 => {
            // SAFETY: writing ICC_EOIR1_EL1 ends the Group 1 interrupt `acknowledge` returned,
            // on the CPU that acknowledged it (IRQs stay masked in between). Not `nomem`: a
            // compiler barrier too.
            unsafe {
                core::arch::asm!(
                    "msr icc_eoir1_el1, {}",
                    in(reg) u64::from(ack.raw),
                    options(nostack)
                )
            };
        }
        V2 => gicc_write(GIC_CPU_EOI, ack.raw),
        _ => {}
    }
}
}

fn intid(irq: u32) -> Result<IntId, GicError> {
    IntId::try_from(irq).map_err(|_| GicError::BadIrq(irq))
}

fn gic_trigger(trigger: Trigger) -> arm_gic::Trigger {
    match trigger {
        Trigger::Edge => arm_gic::Trigger::Edge,
        Trigger::Level => arm_gic::Trigger::Level,
    }
}

/// Runs `f` on the driver under the GIC lock.
fn with_driver<R>(f: impl FnOnce(&mut Driver) -> Result<R, GicError>) -> Result<R, GicError> {
    f(GIC.lock().as_mut().ok_or(GicError::NotInitialised)?)
}

/// A PPI's interrupt ID.
fn ppi(irq: u32) -> Result<IntId, GicError> {
    let id = intid(irq)?;
    if id.is_ppi() {
        Ok(id)
    } else {
        Err(GicError::BadIrq(irq))
    }
}

/// Sets a PPI's trigger and enables it on this CPU.
pub fn enable_ppi(irq: u32, trigger: Trigger) -> Result<(), GicError> {
    let id = ppi(irq)?;
    let cpu = this_cpu_id();
    with_driver(|driver| match driver {
        Driver::V3 { gic, .. } => {
            let redist = Some(CPU_REDIST[cpu].load(Ordering::Relaxed));
            gic.set_trigger(id, redist, gic_trigger(trigger))?;
            Ok(gic.enable_interrupt(id, redist, true)?)
        }
        Driver::V2(gic) => {
            gic.set_trigger(id, gic_trigger(trigger));
            Ok(gic.enable_interrupt(id, true)?)
        }
    })
}

/// Disables a PPI on this CPU.
pub fn disable_ppi(irq: u32) -> Result<(), GicError> {
    let id = ppi(irq)?;
    let cpu = this_cpu_id();
    with_driver(|driver| match driver {
        Driver::V3 { gic, .. } => {
            let redist = Some(CPU_REDIST[cpu].load(Ordering::Relaxed));
            Ok(gic.enable_interrupt(id, redist, false)?)
        }
        Driver::V2(gic) => Ok(gic.enable_interrupt(id, false)?),
    })
}

/// Sets an SPI's trigger, routes it to this CPU and enables it.
pub fn enable_spi(irq: u32, trigger: Trigger) -> Result<(), GicError> {
    let id = intid(irq)?;
    let cpu = this_cpu_id();
    with_driver(|driver| match driver {
        Driver::V3 { gic, .. } => {
            gic.set_trigger(id, None, gic_trigger(trigger))?;
            let mpidr = CPU_MPIDR[cpu].load(Ordering::Relaxed);
            gic.distributor().set_routing(id, Some(mpidr))?;
            Ok(gic.enable_interrupt(id, None, true)?)
        }
        Driver::V2(gic) => {
            gic.set_trigger(id, gic_trigger(trigger));
            let target = GICD_V2_BASE.load(Ordering::Relaxed) + GIC_DIST_TARGET + irq as usize;
            // SAFETY: GICD_ITARGETSR<irq/4> byte irq%4 of the mapped distributor (byte
            // accessible); we hold the GIC lock, so the driver is not using the distributor.
            unsafe {
                core::ptr::write_volatile(
                    target as *mut u8,
                    CPU_TARGET_V2[cpu].load(Ordering::Relaxed),
                )
            };
            Ok(gic.enable_interrupt(id, true)?)
        }
    })
}

/// Disables an SPI at the distributor.
pub fn disable_spi(irq: u32) -> Result<(), GicError> {
    let id = intid(irq)?;
    with_driver(|driver| match driver {
        Driver::V3 { gic, .. } => Ok(gic.enable_interrupt(id, None, false)?),
        Driver::V2(gic) => Ok(gic.enable_interrupt(id, false)?),
    })
}

/// Where an SGI goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgiTarget {
    /// One CPU, by logical number (it must have run [`gic_cpu_init`]); may be this CPU.
    Cpu(usize),
    /// Every CPU but this one.
    AllButSelf,
}

/// Sends SGI `sgi` (0..16) to `target`. Stores made before the call are visible to the target
/// CPUs before the SGI reaches them (Linux: `gic_ipi_send_mask`).
pub fn send_sgi(target: SgiTarget, sgi: u32) -> Result<(), GicError> {
    if sgi >= IntId::SGI_COUNT {
        return Err(GicError::BadIrq(sgi));
    }
    let id = IntId::sgi(sgi);
    if let SgiTarget::Cpu(cpu) = target
        && !cpu_online(cpu)
    {
        return Err(GicError::BadCpu(cpu));
    }
    // SAFETY: a barrier only: our Normal-memory stores complete before the SGI is sent.
    unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
    match gic_version().ok_or(GicError::NotInitialised)? {
        GicVersion::V3 => {
            let target = match target {
                SgiTarget::Cpu(cpu) => {
                    let mpidr = CPU_MPIDR[cpu].load(Ordering::Acquire);
                    let aff =
                        |level: u32| (mpidr >> (if level == 3 { 32 } else { 8 * level })) as u8;
                    gicv3::SgiTarget::List {
                        affinity3: aff(3),
                        affinity2: aff(2),
                        affinity1: aff(1),
                        target_list: 1 << (aff(0) & 0xf),
                    }
                }
                SgiTarget::AllButSelf => gicv3::SgiTarget::All,
            };
            GicCpuInterface::send_sgi(id, target, SgiTargetGroup::CurrentGroup1)?;
            isb();
            Ok(())
        }
        GicVersion::V2 => {
            let target = match target {
                SgiTarget::Cpu(cpu) => gicv2::SgiTarget::List {
                    target_list_filter: SgiTargetListFilter::CPUTargetList,
                    target_list: u16::from(CPU_TARGET_V2[cpu].load(Ordering::Relaxed)),
                },
                SgiTarget::AllButSelf => gicv2::SgiTarget::List {
                    target_list_filter: SgiTargetListFilter::ForwardOthersOnly,
                    target_list: 0,
                },
            };
            with_driver(|driver| {
                if let Driver::V2(gic) = driver {
                    gic.send_sgi(id, target);
                }
                Ok(())
            })
        }
    }
}
