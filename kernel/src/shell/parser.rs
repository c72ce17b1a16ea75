//! Splits a command line into words and stdout redirections, with POSIX sh quoting rules and
//! busybox ash's error messages.
//!
//! - Words are separated by spaces or tabs. `'...'` is literal. In `"..."` a backslash escapes
//!   only `"`, `\`, `$` and backquote and is kept before anything else. An unquoted backslash
//!   escapes the next character (a trailing one stays, as in dash). Quoted and unquoted parts
//!   join into one word (`a'b c'"d"` is `ab cd`), and `''` is an empty word.
//! - `#` at the start of a word starts a comment.
//! - `>` and `>>`, attached or not, redirect stdout to the next word; a preceding unquoted
//!   `1` (`1>FILE`) names stdout explicitly, other descriptors are refused.
//! - There are no pipes, lists, subshells or input redirections: an unquoted `|`, `&`, `;`,
//!   `<`, `(` or `)` is an error rather than silently part of a word, so a line never does
//!   something other than what it would in sh. One expansion: `$?`, unquoted or in `"..."`,
//!   is the last command's exit status; otherwise `$`, `*` and backquote are ordinary
//!   characters.

use crate::fs::WriteMode;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::iter::Peekable;
use core::str::Chars;

/// One parsed line: the command's words and where its stdout goes.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandLine {
    /// The command name and its arguments; empty for a blank line, a comment, or a bare
    /// redirection.
    pub words: Vec<String>,
    /// In the order written; sh opens them all and the last one receives the output.
    pub redirects: Vec<Redirect>,
}

/// `> path` or `>> path`.
#[derive(Debug, PartialEq, Eq)]
pub struct Redirect {
    pub path: String,
    pub mode: WriteMode,
}

/// Why a line could not be parsed. `Display` gives the message after `sh: `.
#[derive(Debug, PartialEq, Eq)]
pub enum SyntaxError {
    UnterminatedQuote,
    /// A redirection at the end of the line.
    UnexpectedNewline,
    /// A redirection straight after another.
    UnexpectedRedirection,
    UnsupportedOperator(char),
    /// A redirection of a descriptor other than stdout, e.g. `2>`.
    UnsupportedDescriptor(String),
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("syntax error: ")?;
        match self {
            Self::UnterminatedQuote => f.write_str("unterminated quoted string"),
            Self::UnexpectedNewline => f.write_str("unexpected newline"),
            Self::UnexpectedRedirection => f.write_str("unexpected redirection"),
            Self::UnsupportedOperator(op) => write!(f, "unsupported operator '{op}'"),
            Self::UnsupportedDescriptor(fd) => {
                write!(f, "can't redirect fd {fd} (only stdout)")
            }
        }
    }
}

/// Parses one line (without its newline), with `$?` as 0.
pub fn parse(line: &str) -> Result<CommandLine, SyntaxError> {
    parse_with_status(line, 0)
}

/// Parses one line (without its newline); `$?` expands to `status`.
pub fn parse_with_status(line: &str, status: i32) -> Result<CommandLine, SyntaxError> {
    let mut parsed = CommandLine {
        words: Vec::new(),
        redirects: Vec::new(),
    };
    let mut tokens = tokenize(line, status)?.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(word) => parsed.words.push(word),
            Token::Redirect(mode) => match tokens.next() {
                Some(Token::Word(path)) => parsed.redirects.push(Redirect { path, mode }),
                Some(Token::Redirect(_)) => return Err(SyntaxError::UnexpectedRedirection),
                None => return Err(SyntaxError::UnexpectedNewline),
            },
        }
    }
    Ok(parsed)
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Redirect(WriteMode),
}

/// The word being assembled.
#[derive(Default)]
struct Word {
    text: String,
    /// Something (even `''`) has been seen, so the word exists even if empty.
    started: bool,
    /// Some part was quoted or escaped, so it cannot be a descriptor number.
    quoted: bool,
}

impl Word {
    fn push(&mut self, c: char) {
        self.started = true;
        self.text.push(c);
    }

    fn mark_quoted(&mut self) {
        self.started = true;
        self.quoted = true;
    }

    /// An unquoted run of digits right before `>`: sh's `IO_NUMBER`.
    fn is_descriptor(&self) -> bool {
        self.started && !self.quoted && self.text.bytes().all(|b| b.is_ascii_digit())
    }

    fn finish_into(&mut self, tokens: &mut Vec<Token>) {
        let word = core::mem::take(self);
        if word.started {
            tokens.push(Token::Word(word.text));
        }
    }
}

/// `$?` at the front of `chars` (after a `$`): appends the status to `word`.
fn expand_status(chars: &mut Peekable<Chars<'_>>, word: &mut Word, status: i32) -> bool {
    if chars.next_if_eq(&'?').is_none() {
        return false;
    }
    word.mark_quoted();
    for c in alloc::format!("{status}").chars() {
        word.push(c);
    }
    true
}

fn tokenize(line: &str, status: i32) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut word = Word::default();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => word.finish_into(&mut tokens),
            '#' if !word.started => break,
            '\'' => {
                word.mark_quoted();
                single_quoted(&mut chars, &mut word)?;
            }
            '"' => {
                word.mark_quoted();
                double_quoted(&mut chars, &mut word, status)?;
            }
            '$' if expand_status(&mut chars, &mut word, status) => {}
            '\\' => {
                word.mark_quoted();
                word.push(chars.next().unwrap_or('\\'));
            }
            '>' => {
                let mode = match chars.next_if_eq(&'>') {
                    Some(_) => WriteMode::Append,
                    None => WriteMode::Truncate,
                };
                if word.is_descriptor() {
                    let fd = core::mem::take(&mut word).text;
                    if fd.parse::<u32>() != Ok(1) {
                        return Err(SyntaxError::UnsupportedDescriptor(fd));
                    }
                } else {
                    word.finish_into(&mut tokens);
                }
                tokens.push(Token::Redirect(mode));
            }
            '|' | '&' | ';' | '<' | '(' | ')' => return Err(SyntaxError::UnsupportedOperator(c)),
            c => word.push(c),
        }
    }
    word.finish_into(&mut tokens);
    Ok(tokens)
}

/// After an opening `'`: everything up to the next `'` is literal.
fn single_quoted(chars: &mut Peekable<Chars<'_>>, word: &mut Word) -> Result<(), SyntaxError> {
    loop {
        match chars.next() {
            Some('\'') => return Ok(()),
            Some(c) => word.push(c),
            None => return Err(SyntaxError::UnterminatedQuote),
        }
    }
}

/// After an opening `"`: up to the next unescaped `"`.
fn double_quoted(
    chars: &mut Peekable<Chars<'_>>,
    word: &mut Word,
    status: i32,
) -> Result<(), SyntaxError> {
    loop {
        match chars.next() {
            Some('"') => return Ok(()),
            Some('$') if expand_status(chars, word, status) => {}
            Some('\\') => match chars.next_if(|&c| matches!(c, '"' | '\\' | '$' | '`')) {
                Some(escaped) => word.push(escaped),
                None => word.push('\\'),
            },
            Some(c) => word.push(c),
            None => return Err(SyntaxError::UnterminatedQuote),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn dollar_question_is_the_last_status() {
        let parsed = parse_with_status(r#"echo $? "$?" '$?' \$? x$?y $"#, 139).unwrap();
        assert_eq!(
            parsed.words,
            ["echo", "139", "139", "$?", "$?", "x139y", "$"]
        );
        assert_eq!(parse("echo $?").unwrap().words, ["echo", "0"]);
    }

    fn words(line: &str) -> Vec<String> {
        let parsed = parse(line).unwrap();
        assert!(parsed.redirects.is_empty(), "{line}");
        parsed.words
    }

    fn redirect(path: &str, mode: WriteMode) -> Redirect {
        Redirect {
            path: path.to_string(),
            mode,
        }
    }

    #[test]
    fn splits_on_spaces_and_tabs() {
        assert_eq!(words("echo  a\tb   c "), ["echo", "a", "b", "c"]);
        assert_eq!(words("   "), Vec::<String>::new());
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("héllo wörld"), ["héllo", "wörld"]);
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(
            words(r#"echo 'a  b' '\n' '"' '$x' '#'"#),
            ["echo", "a  b", r"\n", "\"", "$x", "#"]
        );
        assert_eq!(words("echo '' x"), ["echo", "", "x"]);
        assert_eq!(words("echo 'a'\"b\"c"), ["echo", "abc"]);
        assert_eq!(words("echo a'b c'd"), ["echo", "ab cd"]);
        assert_eq!(words("echo '>' '>>' '|'"), ["echo", ">", ">>", "|"]);
    }

    #[test]
    fn double_quotes_escape_only_four_characters() {
        assert_eq!(
            words(r#"echo "a \" \\ \$ \` \n \x b""#),
            ["echo", r#"a " \ $ ` \n \x b"#]
        );
        assert_eq!(words(r#"echo "" "'""#), ["echo", "", "'"]);
        assert_eq!(words(r##"echo "a#b" "# c""##), ["echo", "a#b", "# c"]);
        assert_eq!(words(r#"echo "x\\""#), ["echo", r"x\"]);
    }

    #[test]
    fn unquoted_backslash_escapes_the_next_character() {
        assert_eq!(
            words(r#"echo a\ b \' \" \\ \# \> \é"#),
            ["echo", "a b", "'", "\"", "\\", "#", ">", "é"]
        );
        assert_eq!(words(r"echo \n"), ["echo", "n"]);
        assert_eq!(words(r"echo a\"), ["echo", r"a\"]);
        assert_eq!(words(r"echo \"), ["echo", r"\"]);
    }

    #[test]
    fn comments_start_only_at_a_word_start() {
        assert_eq!(words("echo a # b c"), ["echo", "a"]);
        assert_eq!(words("echo a#b"), ["echo", "a#b"]);
        assert_eq!(words("# whole line"), Vec::<String>::new());
        assert_eq!(words("#"), Vec::<String>::new());
        assert_eq!(words("echo ''#x"), ["echo", "#x"]);
        assert_eq!(words("echo a #'unterminated"), ["echo", "a"]);
    }

    #[test]
    fn redirections_separate_and_attached() {
        let cases = [
            ("echo hi > f", "f", WriteMode::Truncate),
            ("echo hi >f", "f", WriteMode::Truncate),
            ("echo hi>f", "f", WriteMode::Truncate),
            ("echo hi >> f", "f", WriteMode::Append),
            ("echo hi>>f", "f", WriteMode::Append),
            ("echo hi 1>f", "f", WriteMode::Truncate),
            ("echo hi 1>>f", "f", WriteMode::Append),
            ("echo hi 01> f", "f", WriteMode::Truncate),
        ];
        for (line, path, mode) in cases {
            let parsed = parse(line).unwrap();
            assert_eq!(parsed.words, ["echo", "hi"], "{line}");
            assert_eq!(parsed.redirects, [redirect(path, mode)], "{line}");
        }
    }

    #[test]
    fn redirections_may_appear_anywhere() {
        let parsed = parse("> f echo a >>g b").unwrap();
        assert_eq!(parsed.words, ["echo", "a", "b"]);
        assert_eq!(
            parsed.redirects,
            [
                redirect("f", WriteMode::Truncate),
                redirect("g", WriteMode::Append)
            ]
        );
        let parsed = parse("> trace").unwrap();
        assert!(parsed.words.is_empty());
        assert_eq!(parsed.redirects, [redirect("trace", WriteMode::Truncate)]);
    }

    #[test]
    fn redirection_targets_are_ordinary_words() {
        let parsed = parse("echo > 'a b'").unwrap();
        assert_eq!(parsed.redirects, [redirect("a b", WriteMode::Truncate)]);
        let parsed = parse(r#"echo >"x"y\ z"#).unwrap();
        assert_eq!(parsed.redirects, [redirect("xy z", WriteMode::Truncate)]);
        let parsed = parse("echo > ''").unwrap();
        assert_eq!(parsed.redirects, [redirect("", WriteMode::Truncate)]);
    }

    #[test]
    fn quoted_digits_are_words_not_descriptors() {
        let parsed = parse("echo '1'>f").unwrap();
        assert_eq!(parsed.words, ["echo", "1"]);
        let parsed = parse(r"echo \1>f").unwrap();
        assert_eq!(parsed.words, ["echo", "1"]);
        let parsed = parse("echo a1>f").unwrap();
        assert_eq!(parsed.words, ["echo", "a1"]);
        assert_eq!(parse("echo 1 > f").unwrap().words, ["echo", "1"]);
    }

    #[test]
    fn other_descriptors_are_refused() {
        assert_eq!(
            parse("echo 2>f"),
            Err(SyntaxError::UnsupportedDescriptor("2".to_string()))
        );
        assert_eq!(
            parse("echo 99999999999>f"),
            Err(SyntaxError::UnsupportedDescriptor(
                "99999999999".to_string()
            ))
        );
        assert_eq!(
            parse("echo 2>f").unwrap_err().to_string(),
            "syntax error: can't redirect fd 2 (only stdout)"
        );
    }

    #[test]
    fn missing_redirection_targets() {
        for line in [
            "echo >",
            "echo >>",
            "echo a >  ",
            ">",
            "echo > # comment",
            "echo a>",
        ] {
            assert_eq!(parse(line), Err(SyntaxError::UnexpectedNewline), "{line}");
        }
        for line in ["echo > > f", "echo >>>f", "echo >> >> f", "echo >>>"] {
            assert_eq!(
                parse(line),
                Err(SyntaxError::UnexpectedRedirection),
                "{line}"
            );
        }
        assert_eq!(
            parse("echo >").unwrap_err().to_string(),
            "syntax error: unexpected newline"
        );
    }

    #[test]
    fn unterminated_quotes() {
        for line in [
            "echo 'abc",
            "echo \"abc",
            "echo \"a\\\"",
            "'",
            "\"",
            "echo > 'f",
            "echo \"it's",
        ] {
            assert_eq!(parse(line), Err(SyntaxError::UnterminatedQuote), "{line}");
        }
        assert_eq!(
            parse("'").unwrap_err().to_string(),
            "syntax error: unterminated quoted string"
        );
    }

    #[test]
    fn unsupported_operators_are_errors() {
        for (line, op) in [
            ("echo a | cat", '|'),
            ("echo a; ls", ';'),
            ("sleep &", '&'),
            ("cat < f", '<'),
            ("(ls)", '('),
            ("echo a)", ')'),
            ("echo a 2>&1", '&'),
        ] {
            let expected = if line.contains("2>") {
                SyntaxError::UnsupportedDescriptor("2".to_string())
            } else {
                SyntaxError::UnsupportedOperator(op)
            };
            assert_eq!(parse(line), Err(expected), "{line}");
        }
        assert_eq!(
            parse("echo >&2"),
            Err(SyntaxError::UnsupportedOperator('&'))
        );
        assert_eq!(
            parse("a|b").unwrap_err().to_string(),
            "syntax error: unsupported operator '|'"
        );
        // Quoted or escaped, they are ordinary characters.
        assert_eq!(
            words(r#"echo 'p:myprobe do_sys_open +0(%x1):string' \; "a|b&c""#),
            ["echo", "p:myprobe do_sys_open +0(%x1):string", ";", "a|b&c"]
        );
    }

    #[test]
    fn no_expansions() {
        assert_eq!(
            words("echo $HOME * `x` ~ ! {a,b}"),
            ["echo", "$HOME", "*", "`x`", "~", "!", "{a,b}"]
        );
    }

    #[test]
    fn whole_line_example() {
        assert_eq!(
            parse("echo -n 'sched*' \"do_fork\"  >>set_ftrace_filter # add two"),
            Ok(CommandLine {
                words: vec![
                    "echo".into(),
                    "-n".into(),
                    "sched*".into(),
                    "do_fork".into()
                ],
                redirects: vec![redirect("set_ftrace_filter", WriteMode::Append)],
            })
        );
    }
}
