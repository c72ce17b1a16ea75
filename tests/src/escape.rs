//! Decoding of the escapes a scenario may use in the bytes it types (`$ ...` and `send: ...`
//! lines), so a test can send control bytes, invalid UTF-8 and very long lines while staying a
//! readable one-line text file.
//!
//! | escape    | bytes                                                              |
//! |-----------|--------------------------------------------------------------------|
//! | `\\`      | one backslash                                                      |
//! | `\xNN`    | the byte 0xNN (exactly two hex digits)                             |
//! | `\n` `\r` | LF, CR                                                             |
//! | `\t` `\e` | TAB, ESC                                                           |
//! | `\{N}`    | repeats the unit before it (a character or an escape) N times in all |

use std::fmt;

/// The largest repeat count `\{N}` accepts: far beyond any line the shell takes, small enough
/// that a typo cannot make a test allocate gigabytes.
pub const MAX_REPEAT: usize = 1_000_000;

/// Why an escaped text could not be decoded; `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// 1-based character position of the offending backslash.
    pub column: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// Decodes `text` into the bytes it stands for.
pub fn decode(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut bytes = Vec::with_capacity(text.len());
    // Where the last unit started in `bytes`, so `\{N}` knows what to repeat.
    let mut last_unit: Option<usize> = None;
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((index, (_, c))) = chars.next() {
        let column = index + 1;
        let error = |message: String| EscapeError { column, message };
        if c != '\\' {
            last_unit = Some(bytes.len());
            let mut utf8 = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        let Some((_, (_, escape))) = chars.next() else {
            return Err(error(
                "a lone backslash ends the line (write `\\\\` for a backslash)".into(),
            ));
        };
        let byte = match escape {
            '\\' => b'\\',
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            'e' => 0x1b,
            'x' => {
                let digits: String = (0..2)
                    .filter_map(|_| chars.next().map(|(_, (_, d))| d))
                    .collect();
                parse_hex_byte(&digits)
                    .ok_or_else(|| error(format!("`\\x` needs two hex digits, found `{digits}`")))?
            }
            '{' => {
                let mut count = String::new();
                let mut closed = false;
                for (_, (_, d)) in chars.by_ref() {
                    if d == '}' {
                        closed = true;
                        break;
                    }
                    count.push(d);
                }
                if !closed {
                    return Err(error("`\\{` without a closing `}`".into()));
                }
                let start = last_unit
                    .ok_or_else(|| error("`\\{N}` has nothing before it to repeat".into()))?;
                let times = parse_repeat(&count).map_err(error)?;
                let unit = bytes[start..].to_vec();
                for _ in 1..times {
                    bytes.extend_from_slice(&unit);
                }
                // A repeat is not itself a unit: `a\{2}\{3}` is an error, not six a's.
                last_unit = None;
                continue;
            }
            other => {
                return Err(error(format!(
                    "unknown escape `\\{other}` (known: \\\\ \\xNN \\n \\r \\t \\e \\{{N}})"
                )));
            }
        };
        last_unit = Some(bytes.len());
        bytes.push(byte);
    }
    Ok(bytes)
}

fn parse_hex_byte(digits: &str) -> Option<u8> {
    if digits.len() != 2 || !digits.chars().all(|d| d.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(digits, 16).ok()
}

fn parse_repeat(count: &str) -> Result<usize, String> {
    let times: usize = count
        .parse()
        .map_err(|_| format!("`\\{{{count}}}`: the repeat count must be a number"))?;
    if times == 0 || times > MAX_REPEAT {
        return Err(format!(
            "`\\{{{count}}}`: the repeat count must be 1..={MAX_REPEAT}"
        ));
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> EscapeError {
        decode(text).expect_err(text)
    }

    #[test]
    fn plain_text_is_its_utf8_bytes() {
        assert_eq!(decode("ls /").unwrap(), b"ls /");
        assert_eq!(decode("échø").unwrap(), "échø".as_bytes());
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn named_escapes() {
        assert_eq!(decode(r"a\\b\n\r\t\e").unwrap(), b"a\\b\n\r\t\x1b");
    }

    #[test]
    fn hex_escapes_give_any_byte() {
        assert_eq!(
            decode(r"\x00\x7f\xFF\xc3\x28").unwrap(),
            [0, 0x7f, 0xff, 0xc3, 0x28]
        );
    }

    #[test]
    fn repeat_applies_to_the_unit_before_it() {
        assert_eq!(decode(r"a\{3}").unwrap(), b"aaa");
        assert_eq!(decode(r"echo x\{1}").unwrap(), b"echo x");
        assert_eq!(decode(r"\x7f\{2}!").unwrap(), b"\x7f\x7f!");
        assert_eq!(decode(r"é\{2}").unwrap(), "éé".as_bytes());
        assert_eq!(decode(r"a\{10000}").unwrap().len(), 10_000);
    }

    #[test]
    fn error_columns_count_characters() {
        let error = error_of(r"éa\q");
        assert_eq!(error.column, 3);
        assert!(error.message.contains(r"unknown escape `\q`"), "{error}");
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert!(error_of("abc\\").message.contains("lone backslash"));
        assert!(error_of(r"\x4").message.contains("two hex digits"));
        assert!(error_of(r"\xg0").message.contains("two hex digits"));
        assert!(error_of(r"\x+1").message.contains("two hex digits"));
        assert!(error_of(r"\{3}").message.contains("nothing before it"));
        assert!(error_of(r"a\{3}\{2}").message.contains("nothing before it"));
        assert!(error_of(r"a\{3").message.contains("closing"));
        assert!(error_of(r"a\{x}").message.contains("must be a number"));
        assert!(error_of(r"a\{-1}").message.contains("must be a number"));
        assert!(error_of(r"a\{0}").message.contains("1..="));
        assert!(error_of(r"a\{1000001}").message.contains("1..="));
        assert!(
            error_of(r"a\{99999999999999999999999}")
                .message
                .contains("must be a number")
        );
    }
}
