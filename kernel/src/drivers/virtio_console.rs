//! A virtio console as `/dev/hvc0` (Linux: `drivers/char/virtio_console.c` with
//! `drivers/tty/hvc/`): a raw byte channel to the host, which QEMU connects to a socket
//! (`cargo xtask run --hvc-port PORT`). `gdbserver` talks to gdb over it.
//!
//! No line discipline: a read returns the bytes that have arrived (at least one, sleeping until
//! one comes unless `O_NONBLOCK`, then `EAGAIN`), a write sends its bytes, and `ppoll` sees
//! `POLLIN` while received bytes wait, so a reader can wait for input and for something else
//! at once.
//!
//! The queues are the `virtio-drivers` crate's `VirtIOConsole` (one port, one receive buffer of
//! a page in flight). Receive is interrupt-driven: the device's interrupt completes the receive
//! request and wakes [`RX_WAIT`]; the reader takes bytes out of the completed buffer, and once
//! it is empty the driver posts it again. Nothing is dropped: while the buffer holds unread
//! bytes the device has nowhere to put more, so QEMU holds the host's input back.
//!
//! Transmit copies the caller's bytes into a heap bounce buffer first (the device needs a
//! physical address, and the caller's buffer may be on a vmapped stack), one page at a time.
//! QEMU takes the bytes at the notify (a virtio console drops what its host side cannot take
//! rather than stall the guest), so the wait for the used buffer is short.
//!
//! Locking: [`HVC`] masks IRQs while held (its interrupt handler takes it too) and is never held
//! while taking another lock; the wait queue's lock is taken after it is released.

use alloc::boxed::Box;
use alloc::sync::Arc;

use arch::exception::TrapFrame;
use arch::irq::{self, IrqAction, IrqSpec};
use arch::spinlock::SpinLockIrq;
use virtio_drivers::device::console::VirtIOConsole;
use virtio_drivers::transport::mmio::MmioTransport;

use super::virtio::KernelHal;
use crate::fs::Errno;
use crate::fs::dev::CharDevice;
use crate::fs::poll::{POLLIN, POLLOUT, PollWake};
use crate::println;
use crate::sched::wait::WaitQueue;

/// Linux's `HVC_MAJOR`; hvc0 is minor 0.
const HVC_MAJOR: u32 = 229;

/// How much one transmit request carries: one page of bounce buffer.
const TX_CHUNK: usize = 4096;

type Console = VirtIOConsole<KernelHal, MmioTransport<'static>>;

/// The device and its transmit bounce buffer.
struct Hvc {
    console: Console,
    tx: Box<[u8; TX_CHUNK]>,
}

static HVC: SpinLockIrq<Option<Hvc>> = SpinLockIrq::new(None);

/// Readers sleeping until a byte arrives.
static RX_WAIT: WaitQueue = WaitQueue::new();

static HVC_ACTION: IrqAction = IrqAction {
    name: "virtio-console",
    handler: hvc_int,
};

/// The device's interrupt: acknowledge it (a completed receive becomes readable) and wake the
/// readers and pollers. Every interrupt wakes them: a reader on another CPU may have taken the
/// completed receive itself ([`has_input`] finishes it too) before this handler looked, and the
/// woken only look again. A used transmit buffer needs nothing: [`HvcDevice::write`] waits for
/// it itself.
fn hvc_int(_irq: u32, _frame: &mut TrapFrame) {
    if let Some(hvc) = HVC.lock().as_mut() {
        let _ = hvc.console.ack_interrupt();
    }
    RX_WAIT.wake_up();
}

/// Starts the console found at physical address `base` (for the boot log) with interrupt `irq`
/// and creates `/dev/hvc0`. Only the first console becomes hvc0; a failure is reported and
/// boot goes on.
pub fn probe(transport: MmioTransport<'static>, base: u64, irq: Option<IrqSpec>) {
    if HVC.lock().is_some() {
        println!("virtio-console: {base:#x}: only one console is supported, ignored");
        return;
    }
    let Some(spec) = irq else {
        println!("virtio-console: {base:#x}: no interrupt in the device tree, ignored");
        return;
    };
    let console = match Console::new(transport) {
        Ok(console) => console,
        Err(error) => {
            println!("virtio-console: {base:#x}: {error}");
            return;
        }
    };
    let Ok(tx) = Box::try_new([0u8; TX_CHUNK]) else {
        println!("virtio-console: {base:#x}: out of memory");
        return;
    };
    *HVC.lock() = Some(Hvc { console, tx });
    if let Err(error) = irq::request_irq(spec, &HVC_ACTION) {
        println!(
            "virtio-console: {base:#x}: interrupt {}: {error:?}",
            spec.irq
        );
        *HVC.lock() = None;
        return;
    }
    if let Err(error) = crate::fs::vfs().add_device("/dev/hvc0", Arc::new(HvcDevice)) {
        println!("virtio-console: /dev/hvc0: {error}");
        return;
    }
    println!("virtio-console: hvc0 at {base:#x}, irq {}", spec.irq);
}

/// Moves received bytes into `buf`: how many (0 when none are there).
fn take_received(buf: &mut [u8]) -> usize {
    let mut hvc = HVC.lock();
    let Some(hvc) = hvc.as_mut() else { return 0 };
    let mut done = 0;
    while done < buf.len() {
        match hvc.console.recv(true) {
            Ok(Some(byte)) => {
                buf[done] = byte;
                done += 1;
            }
            _ => break,
        }
    }
    done
}

/// Whether a received byte waits.
fn has_input() -> bool {
    HVC.lock()
        .as_mut()
        .is_some_and(|hvc| matches!(hvc.console.recv(false), Ok(Some(_))))
}

/// `/dev/hvc0`.
pub struct HvcDevice;

impl CharDevice for HvcDevice {
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = take_received(buf);
            if n > 0 {
                return Ok(n);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if RX_WAIT.wait_event(has_input).is_err() {
                return Err(Errno::EINTR);
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        for chunk in buf.chunks(TX_CHUNK) {
            let mut hvc = HVC.lock();
            let hvc = hvc.as_mut().ok_or(Errno::EIO)?;
            hvc.tx[..chunk.len()].copy_from_slice(chunk);
            hvc.console
                .send_bytes(&hvc.tx[..chunk.len()])
                .map_err(|_| Errno::EIO)?;
        }
        Ok(buf.len())
    }

    fn poll(&self) -> u16 {
        if has_input() {
            POLLIN | POLLOUT
        } else {
            POLLOUT
        }
    }

    /// Its interrupt wakes [`RX_WAIT`] (writes never block).
    fn poll_wake(&self) -> PollWake<'_> {
        PollWake::Queue(&RX_WAIT)
    }

    fn rdev(&self) -> (u32, u32) {
        (HVC_MAJOR, 0)
    }
}
