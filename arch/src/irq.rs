//! Interrupts: how the device tree names them ([`IrqSpec`], the GIC binding's three-cell
//! specifier), and, on the target, the descriptor table and dispatch in [`desc`] (Linux:
//! `kernel/irq/`). Interrupt numbers are GIC interrupt IDs: 0-15 SGIs, 16-31 PPIs, 32-1019 SPIs.

#[cfg(target_os = "none")]
mod desc;

#[cfg(target_os = "none")]
pub use desc::*;

/// The most CPUs the interrupt code keeps state for (a GICv2 addresses at most 8).
pub const NR_CPUS: usize = 8;

/// First cell of a GIC interrupt specifier (`dt-bindings/interrupt-controller/arm-gic.h`).
pub const GIC_SPI: u32 = 0;
pub const GIC_PPI: u32 = 1;
/// Third cell, bits 3:0 (`dt-bindings/interrupt-controller/irq.h`); GICv2 PPIs also carry a
/// CPU mask in bits 15:8.
pub const IRQ_TYPE_NONE: u32 = 0;
pub const IRQ_TYPE_EDGE_RISING: u32 = 1;
pub const IRQ_TYPE_EDGE_FALLING: u32 = 2;
pub const IRQ_TYPE_LEVEL_HIGH: u32 = 4;
pub const IRQ_TYPE_LEVEL_LOW: u32 = 8;
pub const IRQ_TYPE_SENSE_MASK: u32 = 0xf;

/// The GIC's interrupt-ID spaces the specifier numbers from.
const PPI_BASE: u32 = 16;
const PPI_COUNT: u32 = 16;
const SPI_BASE: u32 = 32;
const SPI_COUNT: u32 = 988;

/// How the GIC samples the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Edge,
    Level,
}

impl Trigger {
    /// As /proc/interrupts shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Edge => "Edge",
            Self::Level => "Level",
        }
    }
}

/// An interrupt as a device tree `interrupts` property names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqSpec {
    /// GIC interrupt ID.
    pub irq: u32,
    pub trigger: Trigger,
}

impl IrqSpec {
    /// Decodes one `<type number flags>` specifier of the GIC binding (Linux:
    /// `gic_irq_domain_translate`). The GIC has no active-low or falling-edge inputs; as in Linux,
    /// those senses name the same wire as their opposite, and IRQ_TYPE_NONE keeps the reset
    /// configuration, which is level.
    pub fn from_gic_cells(cells: &[u32]) -> Option<Self> {
        let [kind, number, flags] = *cells else {
            return None;
        };
        let irq = match kind {
            GIC_SPI if number < SPI_COUNT => SPI_BASE + number,
            GIC_PPI if number < PPI_COUNT => PPI_BASE + number,
            _ => return None,
        };
        let trigger = match flags & IRQ_TYPE_SENSE_MASK {
            IRQ_TYPE_EDGE_RISING | IRQ_TYPE_EDGE_FALLING => Trigger::Edge,
            IRQ_TYPE_NONE | IRQ_TYPE_LEVEL_HIGH | IRQ_TYPE_LEVEL_LOW => Trigger::Level,
            _ => return None,
        };
        Some(Self { irq, trigger })
    }

    /// SGIs and PPIs are banked per CPU; SPIs are shared.
    pub fn is_private(self) -> bool {
        self.irq < SPI_BASE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_virt_uart_is_spi_1() {
        let spec = IrqSpec::from_gic_cells(&[GIC_SPI, 1, IRQ_TYPE_LEVEL_HIGH]).unwrap();
        assert_eq!(
            spec,
            IrqSpec {
                irq: 33,
                trigger: Trigger::Level
            }
        );
        assert!(!spec.is_private());
    }

    #[test]
    fn qemu_virt_timers_are_ppis() {
        // GICv3 /timer: secure, non-secure physical, virtual, hypervisor.
        let irqs: Vec<u32> = [13, 14, 11, 10]
            .iter()
            .map(|&n| {
                IrqSpec::from_gic_cells(&[GIC_PPI, n, IRQ_TYPE_LEVEL_HIGH])
                    .unwrap()
                    .irq
            })
            .collect();
        assert_eq!(irqs, [29, 30, 27, 26]);
        // GICv2 adds a CPU mask in bits 15:8 of the flags.
        let spec = IrqSpec::from_gic_cells(&[GIC_PPI, 11, 0xf04]).unwrap();
        assert_eq!(
            spec,
            IrqSpec {
                irq: 27,
                trigger: Trigger::Level
            }
        );
        assert!(spec.is_private());
    }

    #[test]
    fn senses_map_onto_the_two_gic_triggers() {
        let trigger = |flags| IrqSpec::from_gic_cells(&[GIC_SPI, 5, flags]).map(|s| s.trigger);
        assert_eq!(trigger(IRQ_TYPE_EDGE_RISING), Some(Trigger::Edge));
        assert_eq!(trigger(IRQ_TYPE_EDGE_FALLING), Some(Trigger::Edge));
        assert_eq!(trigger(IRQ_TYPE_LEVEL_HIGH), Some(Trigger::Level));
        assert_eq!(trigger(IRQ_TYPE_LEVEL_LOW), Some(Trigger::Level));
        assert_eq!(trigger(IRQ_TYPE_NONE), Some(Trigger::Level));
        assert_eq!(trigger(3), None, "both edges is not a GIC configuration");
    }

    #[test]
    fn out_of_range_and_malformed_specifiers_are_refused() {
        assert_eq!(IrqSpec::from_gic_cells(&[GIC_PPI, 16, 4]), None);
        assert_eq!(
            IrqSpec::from_gic_cells(&[GIC_SPI, 987, 4]).map(|s| s.irq),
            Some(1019)
        );
        assert_eq!(IrqSpec::from_gic_cells(&[GIC_SPI, 988, 4]), None);
        assert_eq!(
            IrqSpec::from_gic_cells(&[2, 0, 4]),
            None,
            "extended SPIs are not used"
        );
        assert_eq!(IrqSpec::from_gic_cells(&[GIC_SPI, 1]), None);
        assert_eq!(IrqSpec::from_gic_cells(&[GIC_SPI, 1, 4, 0]), None);
        assert_eq!(IrqSpec::from_gic_cells(&[]), None);
    }
}
