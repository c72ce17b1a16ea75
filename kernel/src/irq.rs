//! Interrupt bring-up from the device tree, and `/proc/interrupts` (Linux:
//! `kernel/irq/proc.c` `show_interrupts`, arm64 `arch_show_interrupts`).
//!
//! [`init`] runs once on the boot CPU: the GIC the DTB describes, the boot CPU's share of it,
//! the generic timer's tick, UART input by interrupt, `/proc/interrupts`, and finally IRQs
//! unmasked. Every other CPU then runs [`secondary_init`] for its own share: its GIC CPU
//! interface (and redistributor), its timer, and its IRQ unmask.

use alloc::vec::Vec;
use core::fmt::{self, Write};

use arch::irq::Trigger;

/// One interrupt's line of /proc/interrupts.
#[derive(Clone, Debug)]
pub struct InterruptRow<'a> {
    /// GIC interrupt ID (our irq numbers are the hardware numbers).
    pub irq: u32,
    /// Taken on each online CPU, in CPU order.
    pub counts: Vec<u32>,
    pub trigger: Trigger,
    /// The registered action; `None` for one that fired without.
    pub name: Option<&'a str>,
}

/// Width of the irq-number column (Linux: `prec`): 3 digits, more if `nr_irqs` needs them.
fn irq_column_width(nr_irqs: u32) -> usize {
    let mut prec = 3;
    let mut limit = 1000u64;
    while prec < 10 && limit <= u64::from(nr_irqs) {
        prec += 1;
        limit *= 10;
    }
    prec
}

/// Writes /proc/interrupts as Linux arm64 does: a header of online CPUs, one line per PPI or
/// SPI (`irq: counts chip hwirq trigger name`), one `IPIn:` line per SGI (SGIs are the IPIs),
/// then the `Err:` count of interrupts nothing handled.
pub fn show_interrupts(
    out: &mut dyn Write,
    chip: &str,
    nr_irqs: u32,
    cpus: &[usize],
    rows: &[InterruptRow<'_>],
    err_count: u32,
) -> fmt::Result {
    let prec = irq_column_width(nr_irqs);
    write!(out, "{:w$}", "", w = prec + 8)?;
    for cpu in cpus {
        write!(out, "CPU{cpu:<8}")?;
    }
    writeln!(out)?;
    let counts = |out: &mut dyn Write, row: &InterruptRow<'_>| -> fmt::Result {
        row.counts.iter().try_for_each(|c| write!(out, "{c:>10} "))
    };
    for row in rows.iter().filter(|r| r.irq >= 16) {
        write!(out, "{:>prec$}: ", row.irq)?;
        counts(out, row)?;
        write!(
            out,
            " {chip:>8} {:>prec$} {:<8}",
            row.irq,
            row.trigger.name()
        )?;
        if let Some(name) = row.name {
            write!(out, "  {name}")?;
        }
        writeln!(out)?;
    }
    for row in rows.iter().filter(|r| r.irq < 16) {
        let pad = if prec >= 4 { " " } else { "" };
        write!(out, "{:>w$}{}:{pad}", "IPI", row.irq, w = prec - 1)?;
        counts(out, row)?;
        writeln!(out, "      {}", row.name.unwrap_or(""))?;
    }
    writeln!(out, "{:>prec$}: {err_count:>10}", "Err")
}

#[cfg(target_os = "none")]
pub use setup::{init, secondary_init};

#[cfg(target_os = "none")]
mod setup {
    use alloc::vec::Vec;

    use arch::gic::{self, GicVersion};
    use arch::irq::{self, NR_CPUS};
    use arch::irqflags::local_irq_enable;
    use arch::timer::{self, HZ};

    use super::{InterruptRow, show_interrupts};
    use crate::board::{ARCH_TIMER_VIRT_PPI, BoardInfo};
    use crate::{console, fs, println};

    /// Brings up interrupts on the boot CPU and unmasks them. Anything the device tree lacks
    /// is reported and skipped: without a GIC, IRQs stay masked and the console polls.
    pub fn init(board: &BoardInfo) {
        let Some(version) = GicVersion::from_compatible(board.gic_compatible) else {
            println!(
                "irq: no supported GIC ({}); interrupts stay off",
                board.gic_compatible
            );
            return;
        };
        let regions: Vec<(u64, u64)> = board.gic_regs().iter().map(|r| (r.base, r.size)).collect();
        let info = match gic::gic_init(version, &regions, board.cpus().len()) {
            Ok(info) => info,
            Err(e) => {
                println!(
                    "irq: {} setup failed: {e:?}; interrupts stay off",
                    version.chip_name()
                );
                return;
            }
        };
        println!(
            "{}: {} interrupts ({} SPIs), distributor at {:#x}",
            version.chip_name(),
            info.nr_irqs,
            info.nr_irqs.saturating_sub(32),
            regions[0].0
        );
        let cpu = crate::smp::smp_processor_id();
        if let Err(e) = gic::gic_cpu_init(cpu) {
            println!("irq: CPU{cpu}: GIC CPU interface setup failed: {e:?}; interrupts stay off");
            return;
        }
        init_timer(board);
        match board.uart_irq.map(console::enable_rx_interrupt) {
            Some(Ok(())) => {}
            Some(Err(e)) => println!("uart-pl011: RX interrupt failed: {e:?}; input is polled"),
            None => println!("uart-pl011: no interrupt in the device tree; input is polled"),
        }
        register_proc_interrupts(version.chip_name());
        log_registered();
        local_irq_enable();
    }

    fn init_timer(board: &BoardInfo) {
        let Some(spec) = board.timer_irqs[ARCH_TIMER_VIRT_PPI] else {
            println!("arch_timer: no virtual timer interrupt in the device tree; no tick");
            return;
        };
        match timer::timer_init(spec).and_then(|info| timer::timer_cpu_init().map(|()| info)) {
            Ok(info) => println!(
                "arch_timer: cp15 timer(s) running at {}.{:02}MHz (virt), HZ={HZ}, \
                 trace clock {}ns resolution",
                info.freq_hz / 1_000_000,
                info.freq_hz / 10_000 % 100,
                info.resolution_ns
            ),
            Err(e) => println!("arch_timer: setup failed: {e:?}; no tick"),
        }
    }

    /// One boot-log line naming every registered interrupt.
    fn log_registered() {
        let mut line = alloc::string::String::from("irq: registered");
        for stat in irq::irq_stats() {
            let kind = match stat.irq {
                0..16 => "SGI",
                16..32 => "PPI",
                _ => "SPI",
            };
            let name = stat.name.unwrap_or("-");
            let _ = core::fmt::Write::write_fmt(
                &mut line,
                format_args!(" {} {name} ({kind}, {})", stat.irq, stat.trigger.name()),
            );
        }
        println!("{line}");
    }

    fn register_proc_interrupts(chip: &'static str) {
        let file = fs::read_only(move |out| {
            let cpus: Vec<usize> = (0..NR_CPUS).filter(|&cpu| gic::cpu_online(cpu)).collect();
            let rows: Vec<InterruptRow<'_>> = irq::irq_stats()
                .map(|stat| InterruptRow {
                    irq: stat.irq,
                    counts: cpus.iter().map(|&cpu| stat.counts[cpu]).collect(),
                    trigger: stat.trigger,
                    name: stat.name,
                })
                .collect();
            Ok(show_interrupts(
                out,
                chip,
                gic::nr_irqs(),
                &cpus,
                &rows,
                irq::irq_err_count(),
            )?)
        });
        if let Err(e) = fs::register_file("/proc/interrupts", file) {
            println!("irq: cannot create /proc/interrupts: {e:?}");
        }
    }

    /// This CPU's share of interrupt setup; every secondary CPU calls it once, with IRQs
    /// masked, after the boot CPU's [`init`]. Unmasks IRQs on success.
    pub fn secondary_init(cpu: usize) {
        if gic::gic_version().is_none() {
            return;
        }
        if let Err(e) = gic::gic_cpu_init(cpu) {
            println!("CPU{cpu}: GIC CPU interface setup failed: {e:?}; interrupts stay off");
            return;
        }
        if timer::counter_freq_hz() != 0
            && let Err(e) = timer::timer_cpu_init()
        {
            println!("CPU{cpu}: arch_timer setup failed: {e:?}");
        }
        local_irq_enable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    fn row(irq: u32, counts: &[u32], name: Option<&'static str>) -> InterruptRow<'static> {
        InterruptRow {
            irq,
            counts: counts.to_vec(),
            trigger: if irq < 16 {
                Trigger::Edge
            } else {
                Trigger::Level
            },
            name,
        }
    }

    #[test]
    fn matches_linux_arm64_on_qemu_virt() {
        let rows = vec![
            row(1, &[20, 33], Some("Function call interrupts")),
            row(27, &[1606, 1539], Some("arch_timer")),
            row(33, &[36, 0], Some("uart-pl011")),
        ];
        let mut out = String::new();
        show_interrupts(&mut out, "GICv3", 288, &[0, 1], &rows, 0).unwrap();
        assert_eq!(
            out,
            "           CPU0       CPU1       \n\
             \x2027:       1606       1539     GICv3  27 Level     arch_timer\n\
             \x2033:         36          0     GICv3  33 Level     uart-pl011\n\
             IPI1:        20         33       Function call interrupts\n\
             Err:          0\n"
        );
    }

    #[test]
    fn one_cpu_unnamed_interrupt_and_errors() {
        let rows = vec![row(40, &[3], None)];
        let mut out = String::new();
        show_interrupts(&mut out, "GICv2", 160, &[0], &rows, 3).unwrap();
        assert_eq!(
            out,
            "           CPU0       \n\
             \x2040:          3     GICv2  40 Level   \n\
             Err:          3\n"
        );
    }

    #[test]
    fn wide_irq_numbers_widen_the_first_column() {
        assert_eq!(irq_column_width(0), 3);
        assert_eq!(irq_column_width(999), 3);
        assert_eq!(irq_column_width(1000), 4);
        assert_eq!(irq_column_width(1020), 4);
        let rows = vec![row(1019, &[1], Some("x")), row(2, &[0], Some("ipi"))];
        let mut out = String::new();
        show_interrupts(&mut out, "GICv3", 1020, &[0], &rows, 0).unwrap();
        assert_eq!(
            out,
            "            CPU0       \n\
             1019:          1     GICv3 1019 Level     x\n\
             IPI2:          0       ipi\n\
             \x20Err:          0\n"
        );
    }
}
