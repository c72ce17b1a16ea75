//! Strings as strace prints them (`util.c`'s `string_quote`, `printstr_ex`, `printpathn`):
//! in double quotes; `"` and `\` escaped; `\f \n \r \t \v` by name; other bytes outside
//! 0x20..0x7e in octal, as short as possible unless the next printed byte is an octal digit
//! (then three digits, so the escape cannot swallow it). Buffers and NUL-terminated strings
//! longer than `-s 32` print their first 32 bytes and then `...`; paths are not limited by `-s`.

use crate::out::Line;

/// strace's default `-s`: how many bytes of a string it prints.
pub const MAX_STRLEN: usize = 32;

/// strace's `PATH_MAX - 1`: how much of a path it prints.
pub const MAX_PATHLEN: usize = 4095;

/// Prints `data` quoted, every byte of it.
pub fn quote(out: &mut Line, data: &[u8]) {
    out.push_byte(b'"');
    for (i, &c) in data.iter().enumerate() {
        match c {
            b'"' | b'\\' => {
                out.push_byte(b'\\');
                out.push_byte(c);
            }
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push_byte(c),
            _ => {
                let next_is_octal = data.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                octal(out, c, next_is_octal);
            }
        }
    }
    out.push_byte(b'"');
}

/// `\ooo`, with fewer digits when they suffice and `full` is false (`sprint_byte_oct`).
fn octal(out: &mut Line, c: u8, full: bool) {
    out.push_byte(b'\\');
    if full || c >> 6 != 0 {
        out.push_byte(b'0' + (c >> 6));
    }
    if full || c >> 3 != 0 {
        out.push_byte(b'0' + ((c >> 3) & 7));
    }
    out.push_byte(b'0' + (c & 7));
}

/// `data` quoted entirely in hex escapes (`"\x26\x83"`): strace's `QUOTE_FORCE_HEX`, which
/// it uses for getrandom's bytes; cut at `-s` like [`buffer`].
pub fn hex_buffer(out: &mut Line, data: &[u8], len: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let shown = data.len().min(MAX_STRLEN).min(len as usize);
    out.push_byte(b'"');
    for &c in &data[..shown] {
        out.push_str("\\x");
        out.push_byte(HEX[usize::from(c >> 4)]);
        out.push_byte(HEX[usize::from(c & 15)]);
    }
    out.push_byte(b'"');
    if len > MAX_STRLEN as u64 {
        out.push_str("...");
    }
}

/// A buffer of `len` bytes of which `data` (at least `min(len, MAX_STRLEN)` bytes) was read:
/// strace's `printstrn`.
pub fn buffer(out: &mut Line, data: &[u8], len: u64) {
    let shown = data.len().min(MAX_STRLEN).min(len as usize);
    quote(out, &data[..shown]);
    if len > MAX_STRLEN as u64 {
        out.push_str("...");
    }
}

/// A NUL-terminated string of which `data` was read (without its NUL); `terminated` says
/// whether the NUL was found within `limit` + 1 bytes. strace's `printstr` (limit
/// [`MAX_STRLEN`]) and `printpath` (limit [`MAX_PATHLEN`]).
pub fn cstring(out: &mut Line, data: &[u8], terminated: bool, limit: usize) {
    let shown = data.len().min(limit);
    quote(out, &data[..shown]);
    if !terminated || data.len() > limit {
        out.push_str("...");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(data: &[u8]) -> String {
        let mut line = Line::new();
        quote(&mut line, data);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn escapes_as_strace() {
        assert_eq!(quoted(b"hello\n"), r#""hello\n""#);
        assert_eq!(quoted(b"a\tb\rc\x0bd\x0ce"), r#""a\tb\rc\vd\fe""#);
        assert_eq!(quoted(b"say \"hi\" \\ bye"), r#""say \"hi\" \\ bye""#);
        assert_eq!(quoted(b""), r#""""#);
    }

    #[test]
    fn octal_is_short_unless_a_digit_follows() {
        assert_eq!(quoted(b"\x00"), r#""\0""#);
        assert_eq!(quoted(b"\x1b[0m"), r#""\33[0m""#);
        assert_eq!(quoted(b"\x7fELF\x02\x01"), r#""\177ELF\2\1""#);
        assert_eq!(quoted(b"\x001"), r#""\0001""#);
        assert_eq!(quoted(b"\x017"), r#""\0017""#);
        assert_eq!(quoted(b"\x018"), r#""\18""#);
        assert_eq!(quoted(b"\xff\xfe"), r#""\377\376""#);
    }

    fn buffered(data: &[u8], len: u64) -> String {
        let mut line = Line::new();
        buffer(&mut line, data, len);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn buffers_stop_at_32_bytes() {
        assert_eq!(buffered(b"hello\n", 6), r#""hello\n""#);
        let long = [b'a'; 40];
        let want32 = format!("\"{}\"", "a".repeat(32));
        assert_eq!(buffered(&long[..32], 32), want32);
        assert_eq!(buffered(&long, 40), format!("{want32}..."));
        assert_eq!(buffered(&long[..33], 1000), format!("{want32}..."));
        // The octal look-ahead does not peek past the 32nd byte.
        let mut data = [b'x'; 33];
        data[31] = 0;
        data[32] = b'1';
        assert!(buffered(&data, 33).ends_with("x\\0\"..."));
        assert_eq!(buffered(b"", 0), r#""""#);
    }

    #[test]
    fn hex_buffers() {
        let mut line = Line::new();
        hex_buffer(&mut line, b"\x26\x83a", 3);
        assert_eq!(line.as_bytes(), br#""\x26\x83\x61""#);
        let mut line = Line::new();
        hex_buffer(&mut line, &[0; 40], 40);
        assert_eq!(line.len(), 2 + 32 * 4 + 3);
    }

    fn cstr(data: &[u8], terminated: bool, limit: usize) -> String {
        let mut line = Line::new();
        cstring(&mut line, data, terminated, limit);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn strings_and_paths() {
        assert_eq!(cstr(b"/bin/hello", true, MAX_STRLEN), r#""/bin/hello""#);
        let s32 = [b'p'; 32];
        assert_eq!(
            cstr(&s32, true, MAX_STRLEN),
            format!("\"{}\"", "p".repeat(32))
        );
        let s33 = [b'p'; 33];
        assert_eq!(
            cstr(&s33, false, MAX_STRLEN),
            format!("\"{}\"...", "p".repeat(32))
        );
        assert_eq!(
            cstr(&s33, true, MAX_PATHLEN),
            format!("\"{}\"", "p".repeat(33))
        );
        assert_eq!(cstr(b"ab", false, MAX_PATHLEN), r#""ab"..."#);
    }
}
