//! The line discipline: turns raw serial bytes into lines, echoing like a tty in canonical
//! mode (Linux's `n_tty` with ICANON, ECHO, ECHOE and ECHOCTL). A pure state machine: one
//! byte in, echo bytes and at most one [`Input`] out.
//!
//! - Printable bytes, UTF-8 included, are echoed and inserted; other control bytes (TAB too)
//!   are ignored.
//! - CR or LF ends the line; an LF straight after a CR is the same Enter and is swallowed.
//! - Backspace (DEL or BS) erases the last code point with `"\b \b"`; an invalid byte counts
//!   as one character. Ctrl-U erases the whole line that way.
//! - Ctrl-C abandons the line, echoing `^C`. Ctrl-D ends input on an empty line only.
//! - Escape sequences (`ESC [ params final`, `ESC O x`, and two-byte `ESC x`) are swallowed,
//!   so arrow keys do nothing. A control byte, DEL or non-ASCII byte inside one ends it and
//!   acts as usual.
//! - A line holds [`LINE_MAX`] bytes; later bytes are dropped unechoed and the whole line is
//!   refused at Enter (Ctrl-C and Ctrl-U forget the overflow, backspace does not: the line
//!   already lost bytes).

use alloc::string::String;
use alloc::vec::Vec;

/// The most bytes a line holds (Linux's `N_TTY_BUF_SIZE` less the newline).
pub const LINE_MAX: usize = 4095;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const LINE_FEED: u8 = b'\n';
const CARRIAGE_RETURN: u8 = b'\r';
const CTRL_U: u8 = 0x15;
const ESCAPE: u8 = 0x1b;
const DELETE: u8 = 0x7f;

/// Erases one character on a terminal: back, overwrite with a space, back again.
const ERASE: &[u8] = b"\x08 \x08";

/// What a byte completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// Enter on a valid line (without the newline).
    Line(String),
    /// Enter on a line that lost bytes past [`LINE_MAX`].
    LineTooLong,
    /// Enter on a line that is not UTF-8.
    InvalidUtf8,
    /// Ctrl-C: the line was abandoned.
    Interrupted,
    /// Ctrl-D on an empty line.
    EndOfInput,
}

/// Where the editor is within an escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    None,
    /// After ESC.
    Started,
    /// After `ESC [`: parameter and intermediate bytes until a final byte.
    ControlSequence,
    /// After `ESC O`: one more byte.
    SingleShift,
}

/// The line being typed and the state carried between bytes.
pub struct LineEditor {
    line: Vec<u8>,
    overflowed: bool,
    after_carriage_return: bool,
    escape: Escape,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    pub fn new() -> Self {
        Self {
            line: Vec::new(),
            overflowed: false,
            after_carriage_return: false,
            escape: Escape::None,
        }
    }

    /// Takes one byte, appends what to echo to `echo`, and reports a finished line or event.
    pub fn feed(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<Input> {
        let after_carriage_return = core::mem::take(&mut self.after_carriage_return);
        if self.swallow_escape(byte) {
            return None;
        }
        match byte {
            LINE_FEED if after_carriage_return => None,
            CARRIAGE_RETURN | LINE_FEED => {
                self.after_carriage_return = byte == CARRIAGE_RETURN;
                echo.push(b'\n');
                Some(self.finish_line())
            }
            CTRL_C => {
                echo.extend_from_slice(b"^C\n");
                self.clear();
                Some(Input::Interrupted)
            }
            CTRL_D if self.line.is_empty() => Some(Input::EndOfInput),
            BACKSPACE | DELETE => {
                if self.erase_char() {
                    echo.extend_from_slice(ERASE);
                }
                None
            }
            CTRL_U => {
                while self.erase_char() {
                    echo.extend_from_slice(ERASE);
                }
                self.overflowed = false;
                None
            }
            ESCAPE => {
                self.escape = Escape::Started;
                None
            }
            0x00..=0x1f => None,
            _ => {
                self.insert(byte, echo);
                None
            }
        }
    }

    /// Advances an escape sequence; true if `byte` belonged to it. A control byte ends the
    /// sequence without being part of it, so Enter or Ctrl-C still work after a stray ESC.
    fn swallow_escape(&mut self, byte: u8) -> bool {
        let next = match (self.escape, byte) {
            (Escape::None, _) => return false,
            (_, 0x00..=0x1f | DELETE..) => {
                self.escape = Escape::None;
                return false;
            }
            (Escape::Started, b'[') => Escape::ControlSequence,
            (Escape::Started, b'O') => Escape::SingleShift,
            (Escape::ControlSequence, 0x20..=0x3f) => Escape::ControlSequence,
            (Escape::Started | Escape::ControlSequence | Escape::SingleShift, _) => Escape::None,
        };
        self.escape = next;
        true
    }

    fn insert(&mut self, byte: u8, echo: &mut Vec<u8>) {
        if self.line.len() >= LINE_MAX {
            self.overflowed = true;
            return;
        }
        self.line.push(byte);
        echo.push(byte);
    }

    /// Removes the last character: a whole UTF-8 code point, or one byte that is not part of
    /// a valid one. False on an empty line.
    fn erase_char(&mut self) -> bool {
        let len = self.line.len();
        if len == 0 {
            return false;
        }
        let tail_start = len.saturating_sub(4);
        let start = (tail_start..len)
            .rev()
            .find(|&i| !is_continuation(self.line[i]))
            .filter(|&i| is_single_char(&self.line[i..]))
            .unwrap_or(len - 1);
        self.line.truncate(start);
        true
    }

    fn finish_line(&mut self) -> Input {
        let line = core::mem::take(&mut self.line);
        if core::mem::take(&mut self.overflowed) {
            return Input::LineTooLong;
        }
        match String::from_utf8(line) {
            Ok(line) => Input::Line(line),
            Err(_) => Input::InvalidUtf8,
        }
    }

    fn clear(&mut self) {
        self.line.clear();
        self.overflowed = false;
    }
}

fn is_continuation(byte: u8) -> bool {
    byte & 0xc0 == 0x80
}

fn is_single_char(bytes: &[u8]) -> bool {
    core::str::from_utf8(bytes).is_ok_and(|s| s.chars().count() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Feeds `bytes`, returning everything echoed and every input produced.
    fn feed_all(editor: &mut LineEditor, bytes: &[u8]) -> (Vec<u8>, Vec<Input>) {
        let mut echo = Vec::new();
        let inputs = bytes
            .iter()
            .filter_map(|&b| editor.feed(b, &mut echo))
            .collect();
        (echo, inputs)
    }

    fn feed_fresh(bytes: &[u8]) -> (Vec<u8>, Vec<Input>) {
        feed_all(&mut LineEditor::new(), bytes)
    }

    fn line(text: &str) -> Input {
        Input::Line(String::from(text))
    }

    #[test]
    fn printable_bytes_echo_and_enter_completes() {
        let (echo, inputs) = feed_fresh(b"ls -l\r");
        assert_eq!(echo, b"ls -l\n");
        assert_eq!(inputs, [line("ls -l")]);
    }

    #[test]
    fn cr_lf_counts_once_but_other_pairs_count_twice() {
        assert_eq!(
            feed_fresh(b"a\r\nb\r\n"),
            (b"a\nb\n".to_vec(), vec![line("a"), line("b")])
        );
        assert_eq!(feed_fresh(b"a\n\r").1, [line("a"), line("")]);
        assert_eq!(feed_fresh(b"\r\r").1, [line(""), line("")]);
        assert_eq!(feed_fresh(b"\n\n").1, [line(""), line("")]);
        // Only an LF *straight* after the CR is swallowed.
        assert_eq!(feed_fresh(b"\rx\n").1, [line(""), line("x")]);
        assert_eq!(feed_fresh(b"\r\x1b[A\n").1, [line(""), line("")]);
    }

    #[test]
    fn backspace_erases_one_char_and_nothing_on_empty_line() {
        let (echo, inputs) = feed_fresh(b"ab\x7fc\x08\x08d\n");
        assert_eq!(echo, b"ab\x08 \x08c\x08 \x08\x08 \x08d\n");
        assert_eq!(inputs, [line("d")]);
        let (echo, inputs) = feed_fresh(b"\x7f\x08x\n");
        assert_eq!(echo, b"x\n");
        assert_eq!(inputs, [line("x")]);
    }

    #[test]
    fn backspace_erases_whole_multibyte_code_points() {
        for text in ["é", "€", "😀"] {
            let mut bytes = alloc::format!("a{text}").into_bytes();
            bytes.extend_from_slice(b"\x7f\n");
            let (echo, inputs) = feed_fresh(&bytes);
            let mut expected = alloc::format!("a{text}").into_bytes();
            expected.extend_from_slice(b"\x08 \x08\n");
            assert_eq!(echo, expected, "{text}");
            assert_eq!(inputs, [line("a")], "{text}");
        }
        // Two code points need two backspaces.
        assert_eq!(feed_fresh("aéü\x7f\x7f\n".as_bytes()).1, [line("a")]);
    }

    #[test]
    fn backspace_erases_invalid_bytes_one_at_a_time() {
        // A lead byte without its continuation, then a stray continuation byte.
        let (echo, inputs) = feed_fresh(b"a\xe2\x82\x7f\x7f\n");
        assert_eq!(echo, b"a\xe2\x82\x08 \x08\x08 \x08\n");
        assert_eq!(inputs, [line("a")]);
        assert_eq!(
            feed_fresh(b"a\x80\x80\x80\x80\x7f\x7f\x7f\x7f\n").1,
            [line("a")]
        );
        assert_eq!(feed_fresh(b"a\xff\x7f\n").1, [line("a")]);
        // "é" followed by a stray continuation byte: the stray byte goes first.
        assert_eq!(feed_fresh(b"\xc3\xa9\xa9\x7f\n").1, [line("é")]);
    }

    #[test]
    fn ctrl_c_abandons_the_line() {
        let (echo, inputs) = feed_fresh(b"abc\x03x\n");
        assert_eq!(echo, b"abc^C\nx\n");
        assert_eq!(inputs, [Input::Interrupted, line("x")]);
        assert_eq!(feed_fresh(b"\x03").1, [Input::Interrupted]);
    }

    #[test]
    fn ctrl_u_kills_the_line_on_screen() {
        let (echo, inputs) = feed_fresh("aé\x15b\n".as_bytes());
        assert_eq!(echo, "aé\x08 \x08\x08 \x08b\n".as_bytes());
        assert_eq!(inputs, [line("b")]);
        assert_eq!(feed_fresh(b"\x15\n"), (b"\n".to_vec(), vec![line("")]));
    }

    #[test]
    fn ctrl_d_ends_input_only_on_an_empty_line() {
        assert_eq!(feed_fresh(b"\x04"), (Vec::new(), vec![Input::EndOfInput]));
        assert_eq!(
            feed_fresh(b"ab\x04\n"),
            (b"ab\n".to_vec(), vec![line("ab")])
        );
        assert_eq!(feed_fresh(b"a\x7f\x04").1, [Input::EndOfInput]);
    }

    #[test]
    fn other_control_bytes_are_ignored() {
        let ignored: Vec<u8> = (0x00..0x20u8)
            .filter(|b| {
                ![
                    CTRL_C,
                    CTRL_D,
                    BACKSPACE,
                    LINE_FEED,
                    CARRIAGE_RETURN,
                    CTRL_U,
                    ESCAPE,
                ]
                .contains(b)
            })
            .collect();
        assert!(ignored.contains(&b'\t'));
        let mut input = b"a".to_vec();
        input.extend_from_slice(&ignored);
        input.extend_from_slice(b"b\n");
        assert_eq!(feed_fresh(&input), (b"ab\n".to_vec(), vec![line("ab")]));
    }

    #[test]
    fn escape_sequences_are_swallowed() {
        let arrows = b"\x1b[A\x1b[B\x1b[C\x1b[D";
        let mut input = b"a".to_vec();
        input.extend_from_slice(arrows);
        input.extend_from_slice(b"\x1b[1;5C\x1b[3~\x1b[?25h\x1bOP\x1bOA\x1bb\x1b \x7fz\n");
        let (echo, inputs) = feed_fresh(&input);
        assert_eq!(echo, b"a\x08 \x08z\n");
        assert_eq!(inputs, [line("z")]);
    }

    #[test]
    fn control_bytes_break_out_of_escape_sequences() {
        assert_eq!(feed_fresh(b"a\x1b\n").1, [line("a")]);
        assert_eq!(feed_fresh(b"a\x1b[12\n").1, [line("a")]);
        assert_eq!(feed_fresh(b"a\x1bO\r").1, [line("a")]);
        assert_eq!(feed_fresh(b"a\x1b[\x03").1, [Input::Interrupted]);
        // ESC ESC [ A: the second ESC starts the sequence that is swallowed.
        assert_eq!(feed_fresh(b"a\x1b\x1b[Ab\n").1, [line("ab")]);
        // A non-ASCII byte ends the sequence and is inserted.
        assert_eq!(feed_fresh("\x1b[é\n".as_bytes()).1, [line("é")]);
        // DEL is a control byte too.
        assert_eq!(feed_fresh(b"ab\x1b[\x7f\n").1, [line("a")]);
        // After the final byte, bytes are ordinary again.
        assert_eq!(feed_fresh(b"\x1b[Axy\n").1, [line("xy")]);
    }

    #[test]
    fn line_max_bytes_fit_exactly() {
        let mut input = vec![b'x'; LINE_MAX];
        input.push(b'\n');
        let (echo, inputs) = feed_fresh(&input);
        assert_eq!(echo.len(), LINE_MAX + 1);
        assert_eq!(inputs, [Input::Line("x".repeat(LINE_MAX))]);
    }

    #[test]
    fn bytes_past_line_max_are_dropped_and_the_line_refused() {
        let mut editor = LineEditor::new();
        let mut input = vec![b'x'; LINE_MAX + 1];
        input.extend_from_slice(b"yz");
        let (echo, inputs) = feed_all(&mut editor, &input);
        assert_eq!(echo, vec![b'x'; LINE_MAX]);
        assert!(inputs.is_empty());
        // Erasing does not forget the lost bytes.
        let (echo, inputs) = feed_all(&mut editor, b"\x7f\n");
        assert_eq!(echo, b"\x08 \x08\n");
        assert_eq!(inputs, [Input::LineTooLong]);
        // The next line starts clean.
        assert_eq!(feed_all(&mut editor, b"ok\n").1, [line("ok")]);
    }

    #[test]
    fn a_multibyte_char_split_at_line_max_overflows() {
        let mut input = vec![b'x'; LINE_MAX - 1];
        input.extend_from_slice("é\n".as_bytes());
        assert_eq!(feed_fresh(&input).1, [Input::LineTooLong]);
    }

    #[test]
    fn ctrl_c_and_ctrl_u_forget_an_overflow() {
        let mut over = vec![b'x'; LINE_MAX + 1];
        over.extend_from_slice(b"\x03ok\n");
        assert_eq!(feed_fresh(&over).1, [Input::Interrupted, line("ok")]);
        let mut over = vec![b'x'; LINE_MAX + 1];
        over.extend_from_slice(b"\x15ok\n");
        assert_eq!(feed_fresh(&over).1, [line("ok")]);
    }

    #[test]
    fn invalid_utf8_is_reported_at_enter() {
        assert_eq!(feed_fresh(b"a\xffb\n").1, [Input::InvalidUtf8]);
        assert_eq!(feed_fresh(b"\xc3\n").1, [Input::InvalidUtf8]);
        assert_eq!(feed_fresh(b"\xed\xa0\x80\n").1, [Input::InvalidUtf8]);
        assert_eq!(
            feed_fresh(b"\xff\nok\n").1,
            [Input::InvalidUtf8, line("ok")]
        );
    }

    #[test]
    fn every_byte_value_is_handled_without_panicking() {
        let mut editor = LineEditor::new();
        let mut echo = Vec::new();
        for round in 0..3u8 {
            for byte in 0..=255u8 {
                editor.feed(byte.wrapping_add(round), &mut echo);
            }
        }
    }
}
