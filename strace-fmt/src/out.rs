//! The output line: a fixed buffer (the tracer has no allocator) that formats with
//! `core::fmt::Write` and knows its column, so results line up at strace's column 40
//! (`tabto()`: `") "`, spaces up to column 40, `"= "`).

use core::fmt;

/// strace's `DEFAULT_ACOLUMN`: where ` = result` starts when the call is shorter.
pub const RESULT_COLUMN: usize = 40;

/// Bytes one piece of output may hold. A call's longest text (32 argv strings of 32 escaped
/// bytes each) fits; anything longer is cut, never overflowed.
pub const LINE_CAPACITY: usize = 8192;

/// One piece of output, starting at column `start_col` of the physical line.
pub struct Line {
    buf: [u8; LINE_CAPACITY],
    len: usize,
    start_col: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    pub const fn new() -> Self {
        Self {
            buf: [0; LINE_CAPACITY],
            len: 0,
            start_col: 0,
        }
    }

    /// Empties the buffer for a piece that starts at column `col`.
    pub fn reset(&mut self, col: usize) {
        self.len = 0;
        self.start_col = col;
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let room = LINE_CAPACITY - self.len;
        let n = bytes.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    pub fn push_str(&mut self, text: &str) {
        self.push(text.as_bytes());
    }

    pub fn push_byte(&mut self, byte: u8) {
        self.push(&[byte]);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The column the next byte lands in.
    pub fn column(&self) -> usize {
        self.start_col + self.len
    }

    /// strace's `tabto()`: spaces up to [`RESULT_COLUMN`] if the line is shorter.
    pub fn tab_to_result(&mut self) {
        while self.column() < RESULT_COLUMN && self.len < LINE_CAPACITY {
            self.push_byte(b' ');
        }
    }

    /// `value` in decimal.
    pub fn dec(&mut self, value: i64) {
        let _ = fmt::Write::write_fmt(self, format_args!("{value}"));
    }

    /// `value` in decimal, unsigned.
    pub fn udec(&mut self, value: u64) {
        let _ = fmt::Write::write_fmt(self, format_args!("{value}"));
    }

    /// `value` as C's `%#x`: `0` for zero, `0x...` otherwise.
    pub fn hex(&mut self, value: u64) {
        if value == 0 {
            self.push_byte(b'0');
        } else {
            let _ = fmt::Write::write_fmt(self, format_args!("{value:#x}"));
        }
    }

    /// strace's `printaddr`: `NULL` or `0x...`.
    pub fn addr(&mut self, value: u64) {
        if value == 0 {
            self.push_str("NULL");
        } else {
            self.hex(value);
        }
    }

    /// strace's `print_numeric_umode_t` (C's `%#03o`): `000`, `022`, `0644`.
    pub fn mode(&mut self, value: u64) {
        let mut digits = [0u8; 23];
        let mut at = digits.len();
        let mut rest = value;
        while rest != 0 {
            at -= 1;
            digits[at] = b'0' + (rest & 7) as u8;
            rest >>= 3;
        }
        // `#` adds the leading 0; width 3 pads with zeros on the left.
        at -= 1;
        digits[at] = b'0';
        while digits.len() - at < 3 {
            at -= 1;
            digits[at] = b'0';
        }
        self.push(&digits[at..]);
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> &str {
        core::str::from_utf8(line.as_bytes()).unwrap()
    }

    #[test]
    fn numbers_print_as_c_does() {
        let mut line = Line::new();
        line.dec(-100);
        line.push_str(" ");
        line.hex(0);
        line.push_str(" ");
        line.hex(0x1000);
        line.push_str(" ");
        line.addr(0);
        line.push_str(" ");
        line.addr(0xffff_0000);
        line.push_str(" ");
        line.udec(u64::MAX);
        assert_eq!(
            text(&line),
            "-100 0 0x1000 NULL 0xffff0000 18446744073709551615"
        );
    }

    #[test]
    fn modes_are_percent_hash_03o() {
        for (mode, want) in [
            (0, "000"),
            (0o7, "007"),
            (0o22, "022"),
            (0o644, "0644"),
            (0o4755, "04755"),
        ] {
            let mut line = Line::new();
            line.mode(mode);
            assert_eq!(text(&line), want);
        }
    }

    #[test]
    fn results_align_at_column_40() {
        let mut line = Line::new();
        line.push_str("brk(NULL) ");
        line.tab_to_result();
        line.push_str("= 0");
        assert_eq!(text(&line), "brk(NULL)                               = 0");
        assert_eq!(line.as_bytes().iter().position(|&b| b == b'='), Some(40));
        // A piece that continues a line counts from where the line already is.
        line.reset(35);
        line.push_str(") ");
        line.tab_to_result();
        assert_eq!(text(&line), ")    ");
        // A long line gets no padding.
        line.reset(50);
        line.push_str(") ");
        line.tab_to_result();
        assert_eq!(text(&line), ") ");
    }

    #[test]
    fn overflow_is_cut_not_panicking() {
        let mut line = Line::new();
        for _ in 0..LINE_CAPACITY + 10 {
            line.push_str("ab");
        }
        assert_eq!(line.len(), LINE_CAPACITY);
        line.tab_to_result();
        assert_eq!(line.len(), LINE_CAPACITY);
    }
}
