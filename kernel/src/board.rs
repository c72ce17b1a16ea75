//! What the device tree says about the machine: RAM, the console UART, the interrupt
//! controller, the virtio-mmio transports, PSCI and the CPUs. Parsed once at boot with the `fdt` crate, before the heap
//! exists, so everything is kept in fixed-size arrays. Nothing about the board is assumed where
//! the DTB describes it.

use fdt::Fdt;
use spin::Once;

use arch::irq::IrqSpec;
use arch::mmu::RamRange;

const MAX_RAM: usize = 8;
const MAX_GIC_REGS: usize = 4;
pub const MAX_CPUS: usize = 8;
/// QEMU's `virt` board has 32 virtio-mmio transports.
const MAX_VIRTIO_MMIO: usize = 32;

/// A device's first register window.
#[derive(Clone, Copy, Debug, Default)]
pub struct MmioRegion {
    pub base: u64,
    pub size: u64,
}

/// One `virtio,mmio` node: a transport's register window and its interrupt. Whether a device
/// sits behind it only its registers say (QEMU lists every slot, most of them empty).
#[derive(Clone, Copy, Debug, Default)]
pub struct VirtioMmio {
    pub regs: MmioRegion,
    pub irq: Option<IrqSpec>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    /// MPIDR affinity value from the node's `reg`.
    pub mpidr: u64,
}

#[derive(Debug)]
pub struct BoardInfo {
    pub dtb_phys: u64,
    pub dtb_size: usize,
    pub model: &'static str,
    /// The kernel command line: `/chosen/bootargs` (QEMU's `-append`), empty without one.
    pub bootargs: &'static str,
    ram: [RamRange; MAX_RAM],
    ram_count: usize,
    pub uart: MmioRegion,
    /// The UART's interrupt (`interrupts` of its node).
    pub uart_irq: Option<IrqSpec>,
    pub gic_compatible: &'static str,
    gic_regs: [MmioRegion; MAX_GIC_REGS],
    gic_reg_count: usize,
    /// The generic timers' PPIs, in the `/timer` node's order: index with
    /// [`ARCH_TIMER_VIRT_PPI`] and friends.
    pub timer_irqs: [Option<IrqSpec>; ARCH_TIMER_MAX_TIMER_PPI],
    /// PSCI conduit: "hvc" or "smc".
    pub psci_method: &'static str,
    virtio_mmio: [VirtioMmio; MAX_VIRTIO_MMIO],
    virtio_mmio_count: usize,
    cpus: [Cpu; MAX_CPUS],
    cpu_count: usize,
}

impl BoardInfo {
    pub fn ram(&self) -> &[RamRange] {
        &self.ram[..self.ram_count]
    }

    pub fn gic_regs(&self) -> &[MmioRegion] {
        &self.gic_regs[..self.gic_reg_count]
    }

    pub fn cpus(&self) -> &[Cpu] {
        &self.cpus[..self.cpu_count]
    }

    pub fn virtio_mmio(&self) -> &[VirtioMmio] {
        &self.virtio_mmio[..self.virtio_mmio_count]
    }
}

/// Why the device tree could not be used.
#[derive(Debug)]
pub enum BoardError {
    BadDtb(fdt::FdtError),
    NoMemory,
    NoUart,
}

static BOARD: Once<BoardInfo> = Once::new();

/// The board description; [`probe`] must have run.
pub fn info() -> &'static BoardInfo {
    BOARD.get().expect("board::probe runs first in kernel_main")
}

/// The `/timer` node's interrupts, in binding order: secure physical, non-secure physical,
/// virtual, hypervisor (Linux: `enum arch_timer_ppi_nr`).
pub const ARCH_TIMER_PHYS_NONSECURE_PPI: usize = 1;
pub const ARCH_TIMER_VIRT_PPI: usize = 2;
pub const ARCH_TIMER_MAX_TIMER_PPI: usize = 4;
/// The most cells an interrupt specifier of a GIC has (GICv3 with PPI partitions).
const MAX_INTERRUPT_CELLS: usize = 4;

/// The `index`th interrupt of `node`, decoded with the GIC binding: every interrupt on these
/// boards goes to the one GIC, whose `#interrupt-cells` is `cells`.
fn gic_interrupt(node: &fdt::node::FdtNode<'_, '_>, cells: usize, index: usize) -> Option<IrqSpec> {
    if cells > MAX_INTERRUPT_CELLS {
        return None;
    }
    let value = node.property("interrupts")?.value;
    let bytes = value.get(index * cells * 4..(index + 1) * cells * 4)?;
    let mut spec = [0u32; MAX_INTERRUPT_CELLS];
    for (cell, be) in spec.iter_mut().zip(bytes.chunks_exact(4)) {
        *cell = u32::from_be_bytes(be.try_into().ok()?);
    }
    IrqSpec::from_gic_cells(&spec[..cells])
}

fn first_reg(node: &fdt::node::FdtNode<'_, '_>) -> Option<MmioRegion> {
    let region = node.reg()?.next()?;
    Some(MmioRegion {
        base: region.starting_address as u64,
        size: region.size? as u64,
    })
}

/// Parses the DTB at `dtb_virt` (physical address `dtb_phys`).
///
/// # Safety
/// `dtb_virt` must point at mapped memory holding the device tree, which stays untouched for
/// the rest of the program.
pub unsafe fn probe(dtb_phys: u64, dtb_virt: u64) -> Result<&'static BoardInfo, BoardError> {
    // SAFETY: the caller guarantees a readable, immutable DTB at this address.
    let fdt: Fdt<'static> =
        unsafe { Fdt::from_ptr(dtb_virt as *const u8) }.map_err(BoardError::BadDtb)?;

    let mut ram = [RamRange { start: 0, size: 0 }; MAX_RAM];
    let mut ram_count = 0;
    for region in fdt.memory().regions().take(MAX_RAM) {
        if let Some(size) = region.size {
            ram[ram_count] = RamRange {
                start: region.starting_address as u64,
                size: size as u64,
            };
            ram_count += 1;
        }
    }
    if ram_count == 0 {
        return Err(BoardError::NoMemory);
    }

    let uart_node = fdt
        .chosen()
        .stdout()
        .filter(|n| {
            n.compatible()
                .is_some_and(|c| c.all().any(|c| c == "arm,pl011"))
        })
        .or_else(|| fdt.find_compatible(&["arm,pl011"]))
        .ok_or(BoardError::NoUart)?;
    let uart = first_reg(&uart_node).ok_or(BoardError::NoUart)?;

    let mut gic_regs = [MmioRegion::default(); MAX_GIC_REGS];
    let mut gic_reg_count = 0;
    let mut gic_compatible = "none";
    let mut gic_cells = 0;
    if let Some(gic) = fdt.find_compatible(&["arm,gic-v3", "arm,cortex-a15-gic", "arm,gic-400"]) {
        gic_compatible = gic.compatible().map_or("unknown", |c| c.first());
        gic_cells = gic.interrupt_cells().unwrap_or(0);
        for region in gic.reg().into_iter().flatten().take(MAX_GIC_REGS) {
            if let Some(size) = region.size {
                gic_regs[gic_reg_count] = MmioRegion {
                    base: region.starting_address as u64,
                    size: size as u64,
                };
                gic_reg_count += 1;
            }
        }
    }

    let uart_irq = gic_interrupt(&uart_node, gic_cells, 0);
    let mut timer_irqs = [None; ARCH_TIMER_MAX_TIMER_PPI];
    if let Some(timer) = fdt.find_compatible(&["arm,armv8-timer", "arm,armv7-timer"]) {
        for (ppi, irq) in timer_irqs.iter_mut().enumerate() {
            *irq = gic_interrupt(&timer, gic_cells, ppi);
        }
    }

    let psci_method = fdt
        .find_node("/psci")
        .and_then(|n| n.property("method"))
        .and_then(|p| p.as_str())
        .unwrap_or("none");

    let mut virtio_mmio = [VirtioMmio::default(); MAX_VIRTIO_MMIO];
    let mut virtio_mmio_count = 0;
    let transports = fdt.all_nodes().filter(|n| {
        n.compatible()
            .is_some_and(|c| c.all().any(|c| c == "virtio,mmio"))
    });
    for node in transports.take(MAX_VIRTIO_MMIO) {
        if let Some(regs) = first_reg(&node) {
            virtio_mmio[virtio_mmio_count] = VirtioMmio {
                regs,
                irq: gic_interrupt(&node, gic_cells, 0),
            };
            virtio_mmio_count += 1;
        }
    }

    let mut cpus = [Cpu::default(); MAX_CPUS];
    let mut cpu_count = 0;
    for cpu in fdt.cpus().take(MAX_CPUS) {
        cpus[cpu_count] = Cpu {
            mpidr: cpu.ids().first() as u64,
        };
        cpu_count += 1;
    }

    Ok(BOARD.call_once(|| BoardInfo {
        dtb_phys,
        dtb_size: fdt.total_size(),
        model: fdt.root().model(),
        bootargs: fdt.chosen().bootargs().unwrap_or(""),
        ram,
        ram_count,
        uart,
        uart_irq,
        gic_compatible,
        gic_regs,
        gic_reg_count,
        timer_irqs,
        psci_method,
        virtio_mmio,
        virtio_mmio_count,
        cpus,
        cpu_count,
    }))
}
