//! The terminal line discipline of the console (Linux: `drivers/tty/n_tty.c`, default
//! `termios`): in canonical mode input is edited a line at a time (erase, kill, `^D` ends a
//! line or, at its start, is end of file) and echoed; in raw mode (`ICANON` off, as a shell's
//! own line editor sets) every byte is available at once. The `termios` is stored whole for
//! `TCGETS`/`TCSETS`.
//!
//! Pure logic: the console driver feeds it received bytes and writes out what it echoes.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// `sizeof(struct termios)` on arm64 (the kernel's `struct termios`, `NCCS` 19).
pub const TERMIOS_SIZE: usize = 36;

// termios flags (include/uapi/asm-generic/termbits.h).
pub const ICRNL: u32 = 0o400;
pub const IGNCR: u32 = 0o200;
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
// c_cc indices.
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;

/// Linux's `tty_std_termios`: ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
/// ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN, and `INIT_C_CC`.
pub const DEFAULT_TERMIOS: [u8; TERMIOS_SIZE] = {
    let mut t = [0u8; TERMIOS_SIZE];
    let words: [u32; 4] = [0o2400, 0o5, 0o2277, 0o105073];
    let mut i = 0;
    while i < 4 {
        let bytes = words[i].to_le_bytes();
        t[i * 4] = bytes[0];
        t[i * 4 + 1] = bytes[1];
        t[i * 4 + 2] = bytes[2];
        t[i * 4 + 3] = bytes[3];
        i += 1;
    }
    // c_line at 16, c_cc from 17.
    let cc: [u8; 17] = [
        3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0,
    ];
    let mut j = 0;
    while j < cc.len() {
        t[17 + j] = cc[j];
        j += 1;
    }
    t
};

/// The longest line canonical mode holds (Linux's `N_TTY_BUF_SIZE` less one).
const MAX_LINE: usize = 4095;

/// A terminal's input state.
pub struct NTty {
    pub termios: [u8; TERMIOS_SIZE],
    /// `TIOCGWINSZ`: rows, columns, x and y pixels.
    pub winsize: [u16; 4],
    /// The line being edited.
    line: Vec<u8>,
    /// Finished input: whole lines in canonical mode (an empty one is end of file), single
    /// bytes in raw mode.
    ready: VecDeque<Vec<u8>>,
    /// Offset into `ready`'s first entry already read.
    consumed: usize,
}

impl Default for NTty {
    fn default() -> Self {
        Self::new()
    }
}

impl NTty {
    pub const fn new() -> Self {
        Self {
            termios: DEFAULT_TERMIOS,
            winsize: [24, 80, 0, 0],
            line: Vec::new(),
            ready: VecDeque::new(),
            consumed: 0,
        }
    }

    fn flag(&self, word: usize) -> u32 {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&self.termios[word * 4..word * 4 + 4]);
        u32::from_le_bytes(bytes)
    }

    fn iflag(&self) -> u32 {
        self.flag(0)
    }

    fn lflag(&self) -> u32 {
        self.flag(3)
    }

    fn cc(&self, index: usize) -> u8 {
        self.termios[17 + index]
    }

    pub fn canonical(&self) -> bool {
        self.lflag() & ICANON != 0
    }

    /// Takes one received byte; what to echo is appended to `echo`.
    pub fn receive(&mut self, mut byte: u8, echo: &mut Vec<u8>) {
        if byte == b'\r' {
            if self.iflag() & IGNCR != 0 {
                return;
            }
            if self.iflag() & ICRNL != 0 {
                byte = b'\n';
            }
        }
        let echoing = self.lflag() & ECHO != 0;
        if !self.canonical() {
            if self.ready.try_reserve(1).is_ok() {
                self.ready.push_back(alloc::vec![byte]);
            }
            if echoing {
                echo.push(byte);
            }
            return;
        }
        if byte == self.cc(VERASE) || byte == 0x08 {
            if self.line.pop().is_some() && echoing {
                echo.extend_from_slice(b"\x08 \x08");
            }
        } else if byte == self.cc(VKILL) {
            for _ in 0..self.line.len() {
                if echoing {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
            self.line.clear();
        } else if byte == self.cc(VEOF) {
            self.finish_line();
        } else if byte == b'\n' {
            if echoing {
                echo.push(b'\n');
            }
            self.line.push(b'\n');
            self.finish_line();
        } else if self.line.len() < MAX_LINE && self.line.try_reserve(1).is_ok() {
            self.line.push(byte);
            if echoing {
                echo.push(byte);
            }
        }
    }

    fn finish_line(&mut self) {
        if self.ready.try_reserve(1).is_ok() {
            self.ready.push_back(core::mem::take(&mut self.line));
        }
    }

    /// Whether a read would return now.
    pub fn has_input(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Bytes a read could take now (`FIONREAD`).
    pub fn available(&self) -> usize {
        self.ready.iter().map(Vec::len).sum::<usize>() - self.consumed
    }

    /// Reads finished input: `None` if there is none yet; `Some(0)` is end of file. A
    /// canonical read ends at the end of a line; a raw one takes all that is there.
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.ready.is_empty() {
            return None;
        }
        let mut done = 0;
        while done < buf.len() {
            let Some(first) = self.ready.front() else {
                break;
            };
            if first.is_empty() {
                // ^D at the start of a line: end of file, alone.
                if done == 0 {
                    self.ready.pop_front();
                }
                break;
            }
            let n = (first.len() - self.consumed).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&first[self.consumed..self.consumed + n]);
            done += n;
            self.consumed += n;
            if self.consumed == first.len() {
                self.ready.pop_front();
                self.consumed = 0;
                if self.canonical() {
                    break;
                }
            }
        }
        Some(done)
    }

    /// Drops all input (Linux flushes it on a signal character).
    pub fn flush(&mut self) {
        self.line.clear();
        self.ready.clear();
        self.consumed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(tty: &mut NTty, input: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &byte in input {
            tty.receive(byte, &mut echo);
        }
        echo
    }

    #[test]
    fn default_termios_is_linux_s() {
        let tty = NTty::new();
        assert_eq!(tty.iflag(), 0x500);
        assert_eq!(tty.lflag(), 0x8a3b);
        assert_eq!(tty.cc(VEOF), 4);
        assert!(tty.canonical());
    }

    #[test]
    fn canonical_lines_with_erase_and_eof() {
        let mut tty = NTty::new();
        let mut buf = [0u8; 64];
        assert_eq!(feed(&mut tty, b"ab"), b"ab");
        assert_eq!(tty.read(&mut buf), None);
        assert_eq!(feed(&mut tty, b"\x7fc\r"), b"\x08 \x08c\n");
        assert_eq!(tty.read(&mut buf), Some(3));
        assert_eq!(&buf[..3], b"ac\n");
        // A short buffer takes a line in pieces; a read never spans two lines.
        feed(&mut tty, b"hello\nx\n");
        assert_eq!(tty.available(), 8);
        assert_eq!(tty.read(&mut buf[..2]), Some(2));
        assert_eq!(tty.read(&mut buf), Some(4));
        assert_eq!(&buf[..4], b"llo\n");
        assert_eq!(tty.read(&mut buf), Some(2));
        // ^D mid-line ends the line without a newline; at the start it is end of file.
        feed(&mut tty, b"ab\x04\x04");
        assert_eq!(tty.read(&mut buf), Some(2));
        assert_eq!(tty.read(&mut buf), Some(0));
        assert_eq!(tty.read(&mut buf), None);
        // Kill erases the line.
        assert_eq!(feed(&mut tty, b"xy\x15z\n"), b"xy\x08 \x08\x08 \x08z\n");
        assert_eq!(tty.read(&mut buf), Some(2));
    }

    #[test]
    fn raw_mode_without_echo_gives_bytes_at_once() {
        let mut tty = NTty::new();
        let lflag = tty.lflag() & !(ICANON | ECHO);
        tty.termios[12..16].copy_from_slice(&lflag.to_le_bytes());
        assert_eq!(feed(&mut tty, b"a\x7f\r"), b"");
        let mut buf = [0u8; 8];
        assert_eq!(tty.read(&mut buf), Some(3));
        assert_eq!(&buf[..3], b"a\x7f\n");
        tty.flush();
        assert!(!tty.has_input());
    }
}
