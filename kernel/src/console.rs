//! The console: a PL011 UART driver (registers described with tock-registers from the PL011
//! TRM) and the `print!`/`println!` macros.
//!
//! Output converts "\n" to "\r\n" as a tty's OPOST/ONLCR would. Input is polled from the
//! receive FIFO; QEMU holds back further bytes while the FIFO is full, so nothing is lost.
//!
//! Locking: [`CONSOLE`] serialises writers so lines from different CPUs do not interleave.
//! Crash reports call [`force_unlock_for_panic`] first, so a CPU that died while printing
//! cannot block the report (Linux: `bust_spinlocks`).

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use spin::Mutex;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields! {u32,
    /// Data register.
    DR [
        DATA OFFSET(0) NUMBITS(8) []
    ],
    /// Flag register.
    FR [
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) [],
        /// UART busy transmitting.
        BUSY OFFSET(3) NUMBITS(1) []
    ],
    /// Line control register.
    LCR_H [
        /// Word length.
        WLEN OFFSET(5) NUMBITS(2) [
            EightBit = 0b11
        ],
        /// Enable the 16-entry transmit and receive FIFOs.
        FEN OFFSET(4) NUMBITS(1) []
    ],
    /// Control register.
    CR [
        RXE OFFSET(9) NUMBITS(1) [],
        TXE OFFSET(8) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// Interrupt clear register.
    ICR [
        ALL OFFSET(0) NUMBITS(11) []
    ]
}

register_structs! {
    #[allow(non_snake_case)]
    Pl011Registers {
        (0x00 => DR: ReadWrite<u32, DR::Register>),
        (0x04 => _reserved0),
        (0x18 => FR: ReadOnly<u32, FR::Register>),
        (0x1c => _reserved1),
        (0x2c => LCR_H: ReadWrite<u32, LCR_H::Register>),
        (0x30 => CR: ReadWrite<u32, CR::Register>),
        (0x34 => _reserved2),
        (0x44 => ICR: WriteOnly<u32, ICR::Register>),
        (0x48 => @END),
    }
}

/// A PL011 at a mapped MMIO address.
pub struct Pl011 {
    regs: &'static Pl011Registers,
}

// SAFETY: the registers are MMIO; the driver is only reached through the CONSOLE lock (or by
// the single dying CPU after `force_unlock_for_panic`), so accesses are never concurrent.
unsafe impl Send for Pl011 {}

impl Pl011 {
    /// # Safety
    /// `base` must be the virtual address of a PL011's registers, mapped as device memory, and
    /// nothing else may drive the UART.
    pub unsafe fn new(base: u64) -> Self {
        // SAFETY: the caller guarantees `base` maps a PL011 register block for the program's life.
        let regs = unsafe { &*(base as *const Pl011Registers) };
        Self { regs }
    }

    /// 8N1 with FIFOs on; QEMU ignores the baud rate, so the divisors stay as the firmware set them.
    fn init(&self) {
        self.flush();
        self.regs.CR.set(0);
        self.regs.ICR.write(ICR::ALL::SET);
        self.regs
            .LCR_H
            .write(LCR_H::WLEN::EightBit + LCR_H::FEN::SET);
        self.regs
            .CR
            .write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
    }

    fn flush(&self) {
        while self.regs.FR.is_set(FR::BUSY) {
            core::hint::spin_loop();
        }
    }

    fn put_byte(&self, byte: u8) {
        while self.regs.FR.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.regs.DR.write(DR::DATA.val(byte as u32));
    }

    fn try_get_byte(&self) -> Option<u8> {
        if self.regs.FR.is_set(FR::RXFE) {
            None
        } else {
            Some(self.regs.DR.read(DR::DATA) as u8)
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.put_byte(b'\r');
            }
            self.put_byte(b);
        }
    }
}

static CONSOLE: Mutex<Option<Pl011>> = Mutex::new(None);
static PANICKING: AtomicBool = AtomicBool::new(false);

/// Takes over the PL011 at `base` as the kernel console.
///
/// # Safety
/// As for [`Pl011::new`].
pub unsafe fn init(base: u64) {
    // SAFETY: forwarded from the caller.
    let uart = unsafe { Pl011::new(base) };
    uart.init();
    *CONSOLE.lock() = Some(uart);
}

/// From now on writers do not wait for the console lock: the report must get out even if the
/// CPU that died was holding it.
pub fn force_unlock_for_panic() {
    PANICKING.store(true, Ordering::SeqCst);
}

fn with_console(f: impl FnOnce(&Pl011)) {
    if PANICKING.load(Ordering::Relaxed) && CONSOLE.is_locked() {
        // SAFETY: after a fatal error only the dying CPU prints; a holder of the lock that
        // stopped mid-write can at worst interleave a partial line with the report.
        unsafe { CONSOLE.force_unlock() };
    }
    if let Some(uart) = CONSOLE.lock().as_ref() {
        f(uart);
    }
}

/// Writes raw bytes (with "\n" → "\r\n").
pub fn write_bytes(bytes: &[u8]) {
    with_console(|uart| uart.write_bytes(bytes));
}

/// A `fmt::Write` onto the console.
pub struct ConsoleWriter;

impl fmt::Write for ConsoleWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

struct UartWriter<'a>(&'a Pl011);

impl fmt::Write for UartWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Formats straight into the UART under the lock: no allocation (it works before the heap and
/// in crash reports), and one call's text is never split by another CPU.
#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    with_console(|uart| {
        let _ = fmt::write(&mut UartWriter(uart), args);
    });
}

/// Polls for one input byte.
pub fn try_read_byte() -> Option<u8> {
    let mut byte = None;
    with_console(|uart| byte = uart.try_get_byte());
    byte
}

/// Waits for one input byte.
pub fn read_byte() -> u8 {
    loop {
        if let Some(b) = try_read_byte() {
            return b;
        }
        core::hint::spin_loop();
    }
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::_print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::_print(format_args!("{}\n", format_args!($($arg)*))));
}

/// The console as the shell's terminal.
pub struct ConsoleTty;

impl crate::shell::Tty for ConsoleTty {
    fn read_byte(&mut self) -> u8 {
        read_byte()
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        write_bytes(bytes);
    }
}
