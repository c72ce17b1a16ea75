//! The console: a PL011 UART driver (registers described with tock-registers from the PL011
//! TRM) and the `print!`/`println!` macros.
//!
//! Output converts "\n" to "\r\n" as a tty's OPOST/ONLCR would.
//!
//! Input is interrupt-driven once [`enable_rx_interrupt`] has run: the RX and RX-timeout
//! interrupts move bytes from the UART's receive FIFO into an 8 KiB [`Kfifo`] (a whole shell
//! line and as much again) and wake the reader, which sleeps on a wait queue while that is
//! empty. Nothing is ever
//! dropped: when our FIFO is full the handler stops draining the UART and masks its RX
//! interrupts; the UART's FIFO then stays full, which makes QEMU hold further input back, until
//! the reader has emptied half of ours. Before that (or with IRQs masked) the reader drains the
//! UART itself.
//!
//! While the shell runs a command, Ctrl-C is not input but SIGINT to the shell's task (Linux's
//! `ISIG`): see [`set_foreground`].
//!
//! Locking: [`CONSOLE`] serialises writers so lines from different CPUs do not interleave;
//! [`RX`] guards the receive side (the interrupt handler takes it). Both mask IRQs while held
//! ([`SpinLockIrq`]), so printing or reading can never be interrupted by code that wants the
//! same lock. They are never nested. Each holds its own handle on the UART: the writer uses DR
//! (write) and FR, the receive side DR (read), FR and IMSC. Crash reports call
//! [`force_unlock_for_panic`] first, so a CPU that died while printing cannot block the report
//! (Linux: `bust_spinlocks`). The reader's wait queue is taken after [`RX`] is released.
//! [`FOREGROUND`] is taken inside [`RX`] (a Ctrl-C found while receiving), and a run-queue
//! lock inside it (waking the interrupted task); nothing takes them the other way round.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use arch::exception::TrapFrame;
use arch::irq::{self, IrqAction, IrqError, IrqSpec};
use arch::irqflags::{local_irq_restore, local_irq_save};
use arch::spinlock::SpinLockIrq;
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

use alloc::sync::Arc;

use crate::fs::Errno;
use crate::fs::dev::CharDevice;
use crate::fs::poll::{POLLIN, POLLOUT, PollWake};
use crate::fs::tty::NTty;

use crate::kfifo::Kfifo;
use crate::sched::Task;
use crate::sched::wait::WaitQueue;

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
    /// Interrupt mask set/clear register: 1 enables an interrupt.
    IMSC [
        /// Receive timeout: data has sat in the FIFO below the trigger level.
        RTIM OFFSET(6) NUMBITS(1) [],
        /// Receive: the FIFO reached its trigger level.
        RXIM OFFSET(4) NUMBITS(1) []
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
        (0x38 => IMSC: ReadWrite<u32, IMSC::Register>),
        (0x3c => _reserved3),
        (0x44 => ICR: WriteOnly<u32, ICR::Register>),
        (0x48 => @END),
    }
}

/// A PL011 at a mapped MMIO address.
pub struct Pl011 {
    regs: &'static Pl011Registers,
}

// SAFETY: the registers are MMIO. Each of the two handles is only reached through its lock
// (CONSOLE, or RX; or by the single dying CPU after `force_unlock_for_panic`), and the two use
// disjoint operations (see the module doc), so no access races with one of the same kind.
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

    /// 8N1; QEMU ignores the baud rate, so the divisors stay as the firmware set them. The
    /// FIFOs stay as the firmware left them (QEMU's `-kernel` boot: off, a one-byte holding
    /// register each way): switching them on or off empties the receive FIFO, which would
    /// drop input typed before boot.
    fn init(&self) {
        self.flush();
        self.regs.CR.set(0);
        self.regs.ICR.write(ICR::ALL::SET);
        let fifos = self.regs.LCR_H.read(LCR_H::FEN);
        self.regs
            .LCR_H
            .write(LCR_H::WLEN::EightBit + LCR_H::FEN.val(fifos));
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

    /// Enables or masks the RX and RX-timeout interrupts (the only ones we use).
    fn set_rx_interrupts(&self, enable: bool) {
        if enable {
            self.regs.IMSC.write(IMSC::RXIM::SET + IMSC::RTIM::SET);
        } else {
            self.regs.IMSC.set(0);
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

static CONSOLE: SpinLockIrq<Option<Pl011>> = SpinLockIrq::new(None);
static PANICKING: AtomicBool = AtomicBool::new(false);

/// Received bytes not yet read: a shell line (4095 bytes) and as much again.
const RX_BUF_SIZE: usize = 8192;

/// The receive side.
struct Rx {
    uart: Option<Pl011>,
    fifo: Kfifo<RX_BUF_SIZE>,
    /// The RX interrupt delivers input (else the reader polls).
    irq_driven: bool,
    /// RX interrupts are masked because `fifo` filled up.
    throttled: bool,
}

static RX: SpinLockIrq<Rx> = SpinLockIrq::new(Rx {
    uart: None,
    fifo: Kfifo::new(),
    irq_driven: false,
    throttled: false,
});

impl Rx {
    /// Moves bytes from the UART's FIFO into ours (Linux: `pl011_rx_chars`). If ours fills up,
    /// the rest stays in the UART, whose full FIFO holds the sender back; in interrupt mode the
    /// RX interrupts are masked until [`Rx::get`] has made room, or the level-triggered line
    /// would fire again at once.
    fn receive_chars(&mut self) {
        let Some(uart) = &self.uart else { return };
        while !self.fifo.is_full() {
            let Some(byte) = uart.try_get_byte() else {
                return;
            };
            if !isig(byte) {
                self.fifo.put(byte);
            }
        }
        if self.irq_driven && !self.throttled {
            uart.set_rx_interrupts(false);
            self.throttled = true;
        }
    }

    /// The oldest received byte; unthrottles once half of the buffer is free again.
    fn get(&mut self) -> Option<u8> {
        let byte = self.fifo.get()?;
        if self.throttled && self.fifo.len() <= self.fifo.capacity() / 2 {
            self.throttled = false;
            if let Some(uart) = &self.uart {
                uart.set_rx_interrupts(true);
            }
        }
        Some(byte)
    }
}

static UART_ACTION: IrqAction = IrqAction {
    name: "uart-pl011",
    handler: pl011_int,
};

/// The UART's interrupt: only RX interrupts are enabled, and draining the FIFO clears them.
fn pl011_int(_irq: u32, _frame: &mut TrapFrame) {
    RX.lock().receive_chars();
    RX_WAIT.wake_up();
}

/// Linux's `VINTR` character, Ctrl-C.
const INTR_CHAR: u8 = 0x03;

/// The task running a shell command in the foreground: while one is set, Ctrl-C does not go
/// into the input but sends it SIGINT (Linux's `ISIG` with the foreground process group), so
/// a command blocked in a read (`cat trace_pipe`) ends. At the prompt the line editor gets the
/// byte and abandons the line itself.
static FOREGROUND: SpinLockIrq<Option<Arc<Task>>> = SpinLockIrq::new(None);

/// Makes `task` the foreground command (`Some`) or hands the console back to the line editor
/// (`None`). Called by the task running the commands, so the SIGINT it takes back is its own:
/// returns whether a Ctrl-C interrupted the previous foreground command.
pub fn set_foreground(task: Option<Arc<Task>>) -> bool {
    // All under the lock that `isig` holds while it signals: a Ctrl-C either reaches the old
    // foreground command before this, or finds the new state; a SIGINT can never arrive after
    // it was cleared here and linger into the prompt.
    let mut foreground = FOREGROUND.lock();
    *foreground = task;
    crate::sched::clear_sigint()
}

/// Handles a received Ctrl-C while a command runs in the foreground: true if it was turned
/// into SIGINT (the byte is then dropped, as Linux's `n_tty` does with `ISIG`).
fn isig(byte: u8) -> bool {
    if byte != INTR_CHAR || !TTY_ISIG.load(Ordering::Relaxed) {
        return false;
    }
    // Signalled under the lock (no reference is cloned, so none is dropped here, in IRQ
    // context): see `set_foreground`.
    let foreground = FOREGROUND.lock();
    let Some(task) = foreground.as_ref() else {
        return false;
    };
    crate::sched::send_sigint(task);
    ISIG_FLUSH.store(true, Ordering::Relaxed);
    true
}

/// Set when a Ctrl-C was turned into SIGINT: the next console read drops pending input
/// (done there, as the receive interrupt must not take [`NTTY`]).
static ISIG_FLUSH: AtomicBool = AtomicBool::new(false);

/// Takes over the PL011 at `base` as the kernel console.
///
/// # Safety
/// As for [`Pl011::new`].
pub unsafe fn init(base: u64) {
    // SAFETY: forwarded from the caller.
    let uart = unsafe { Pl011::new(base) };
    uart.init();
    *CONSOLE.lock() = Some(uart);
    // SAFETY: the second handle on the same UART, for the receive side (see `Pl011`'s Send).
    RX.lock().uart = Some(unsafe { Pl011::new(base) });
}

/// Switches input to the UART's interrupt `spec` (its device-tree `interrupts`), routed to
/// this CPU, which should be the one that reads.
pub fn enable_rx_interrupt(spec: IrqSpec) -> Result<(), IrqError> {
    irq::request_irq(spec, &UART_ACTION)?;
    let mut rx = RX.lock();
    rx.irq_driven = true;
    if let Some(uart) = &rx.uart {
        uart.set_rx_interrupts(true);
    }
    // Take what arrived before (`init` cleared its interrupt), so the next byte finds the FIFO
    // empty and raises the RX interrupt (QEMU asserts it when the FIFO reaches one byte).
    rx.receive_chars();
    Ok(())
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

/// Wakes the reader when input arrives.
static RX_WAIT: WaitQueue = WaitQueue::new();

/// Waits for one input byte. In interrupt mode the calling task sleeps on [`RX_WAIT`], which
/// the UART's interrupt wakes, so its CPU can idle in WFI or run other tasks. With IRQs masked
/// by the caller, outside a task, or before [`enable_rx_interrupt`], it drains the UART itself.
pub fn read_byte() -> u8 {
    loop {
        let flags = local_irq_save();
        let (byte, sleep) = {
            let mut rx = RX.lock();
            let sleep =
                rx.irq_driven && !flags.irqs_disabled() && crate::sched::current().is_some();
            if !sleep {
                rx.receive_chars();
            }
            (rx.get(), sleep)
        };
        local_irq_restore(flags);
        match byte {
            Some(byte) => return byte,
            // Not killable: a kill can only end the wait early, and the loop waits again.
            None if sleep => {
                let _ = RX_WAIT.wait_event(|| !RX.lock().fifo.is_empty());
            }
            None => core::hint::spin_loop(),
        }
    }
}

/// The console's line discipline (its `termios`, the line being edited, finished input).
static NTTY: SpinLockIrq<NTty> = SpinLockIrq::new(NTty::new());

/// The received byte, if one is there (draining the UART when input is not interrupt-driven
/// or IRQs are masked), and whether the caller may sleep on [`RX_WAIT`] for the next.
fn try_read_byte() -> (Option<u8>, bool) {
    let flags = local_irq_save();
    let result = {
        let mut rx = RX.lock();
        let sleep = rx.irq_driven && !flags.irqs_disabled() && crate::sched::current().is_some();
        if !sleep {
            rx.receive_chars();
        }
        (rx.get(), sleep)
    };
    local_irq_restore(flags);
    result
}

/// Moves received bytes through the line discipline, echoing: whether any came.
fn ntty_receive() -> bool {
    let mut any = false;
    let mut echo = alloc::vec::Vec::new();
    while let (Some(byte), _) = try_read_byte() {
        any = true;
        NTTY.lock().receive(byte, &mut echo);
    }
    if !echo.is_empty() {
        write_bytes(&echo);
    }
    if any {
        // Another poller may have found the receive FIFO empty (we had taken its bytes)
        // before they reached the line discipline: it looks again.
        RX_WAIT.wake_up();
    }
    any
}

/// `/dev/console` and `/dev/tty` for user processes: reads go through [`NTty`] (canonical
/// with echo by default), writes straight out, and the terminal `ioctl`s.
pub struct ConsoleDevice;

// Terminal ioctls (include/uapi/asm-generic/ioctls.h).
const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TIOCSCTTY: u32 = 0x540E;
const TIOCGPGRP: u32 = 0x540F;
const TIOCSPGRP: u32 = 0x5410;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const FIONREAD: u32 = 0x541B;

/// The `ISIG` bit of the console's `termios` (a program that clears it reads Ctrl-C as a
/// byte), kept apart so the receive interrupt need not take [`NTTY`].
static TTY_ISIG: AtomicBool = AtomicBool::new(true);

/// Gives the console back its default `termios` (canonical, echo, `ISIG`) and drops unread
/// input, as a shell does when it takes the terminal back from a program.
pub fn reset_tty() {
    let mut ntty = NTTY.lock();
    ntty.termios = crate::fs::tty::DEFAULT_TERMIOS;
    ntty.flush();
    TTY_ISIG.store(true, Ordering::Relaxed);
}

/// The foreground process group `TIOCSPGRP` set (0: the caller's pid is answered).
static FOREGROUND_PGRP: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

impl CharDevice for ConsoleDevice {
    fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            ntty_receive();
            if ISIG_FLUSH.swap(false, Ordering::Relaxed) {
                // A Ctrl-C became SIGINT: the terminal drops its pending input (n_tty's
                // `isig` flush), but other signals leave the line being typed alone.
                NTTY.lock().flush();
            }
            if let Some(n) = NTTY.lock().read(buf) {
                return Ok(n);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            if crate::sched::signal_pending() {
                return Err(Errno::EINTR);
            }
            match try_read_byte() {
                (Some(byte), _) => {
                    let mut echo = alloc::vec::Vec::new();
                    NTTY.lock().receive(byte, &mut echo);
                    write_bytes(&echo);
                }
                (None, true) => {
                    if RX_WAIT.wait_event(|| !RX.lock().fifo.is_empty()).is_err() {
                        return Err(Errno::EINTR);
                    }
                }
                (None, false) => crate::sched::yield_now(),
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        write_bytes(buf);
        Ok(buf.len())
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<u64, Errno> {
        use crate::uaccess::{copy_from_user, copy_to_user};
        match cmd {
            TCGETS => {
                let termios = NTTY.lock().termios;
                copy_to_user(arg, &termios)?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut termios = [0u8; crate::fs::tty::TERMIOS_SIZE];
                copy_from_user(&mut termios, arg)?;
                let mut ntty = NTTY.lock();
                if cmd == TCSETSF {
                    ntty.flush();
                }
                ntty.termios = termios;
                let lflag =
                    u32::from_le_bytes([termios[12], termios[13], termios[14], termios[15]]);
                TTY_ISIG.store(lflag & crate::fs::tty::ISIG != 0, Ordering::Relaxed);
                drop(ntty);
                // Leaving canonical mode can make buffered input readable (Linux's
                // `n_tty_set_termios` wakes its readers too).
                RX_WAIT.wake_up();
            }
            TIOCGWINSZ => {
                let winsize = NTTY.lock().winsize;
                let mut bytes = [0u8; 8];
                for (i, v) in winsize.iter().enumerate() {
                    bytes[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
                }
                copy_to_user(arg, &bytes)?;
            }
            TIOCSWINSZ => {
                let mut bytes = [0u8; 8];
                copy_from_user(&mut bytes, arg)?;
                let mut winsize = [0u16; 4];
                for (i, v) in winsize.iter_mut().enumerate() {
                    *v = u16::from_le_bytes([bytes[i * 2], bytes[i * 2 + 1]]);
                }
                NTTY.lock().winsize = winsize;
            }
            TIOCGPGRP => {
                let pgrp = match FOREGROUND_PGRP.load(Ordering::Relaxed) {
                    0 => crate::sched::current().map_or(0, crate::sched::Task::pid),
                    pgrp => pgrp,
                };
                copy_to_user(arg, &pgrp.to_le_bytes())?;
            }
            TIOCSPGRP => {
                let mut bytes = [0u8; 4];
                copy_from_user(&mut bytes, arg)?;
                let pgrp = i32::from_le_bytes(bytes);
                if pgrp < 0 {
                    return Err(Errno::EINVAL);
                }
                FOREGROUND_PGRP.store(pgrp as u32, Ordering::Relaxed);
            }
            TIOCSCTTY => {}
            FIONREAD => {
                ntty_receive();
                let n = NTTY.lock().available() as u32;
                copy_to_user(arg, &n.to_le_bytes())?;
            }
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }

    fn poll(&self) -> u16 {
        ntty_receive();
        let input = if NTTY.lock().has_input() { POLLIN } else { 0 };
        input | POLLOUT
    }

    /// The receive interrupt wakes [`RX_WAIT`] for every byte, and so do whoever moves bytes
    /// into the line discipline and a termios change (writes never block).
    fn poll_wake(&self) -> PollWake<'_> {
        if RX.lock().irq_driven {
            PollWake::Queue(&RX_WAIT)
        } else {
            PollWake::Unannounced
        }
    }

    fn rdev(&self) -> (u32, u32) {
        (5, 1)
    }

    fn is_tty(&self) -> bool {
        true
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

    fn begin_command(&mut self) {
        set_foreground(Some(crate::sched::current_task()));
    }

    fn end_command(&mut self) -> bool {
        set_foreground(None)
    }
}
