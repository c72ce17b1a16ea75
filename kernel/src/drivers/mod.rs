//! Device drivers found in the device tree (Linux: `drivers/`). The PL011 console and the GIC
//! come up early in boot (`crate::console`, `arch::gic`); what is probed here comes after
//! interrupts and the root filesystem exist, so a driver can request its interrupt and create
//! its `/dev` node:
//! - [`virtio`]: the virtio-mmio transports the DTB lists, and the DMA glue (`Hal`) the
//!   `virtio-drivers` crate needs;
//! - [`virtio_console`]: a virtio console as `/dev/hvc0`.

pub mod virtio;
pub mod virtio_console;

/// Probes every device the board describes that has a driver here. A missing or failing device
/// is reported and skipped: boot goes on without it.
pub fn init(board: &crate::board::BoardInfo) {
    virtio::probe_all(board);
}
