//! Function-name pattern matching with Linux's semantics, for `set_ftrace_filter`,
//! `set_ftrace_notrace`, `set_graph_function`, fprobe and kprobe symbol lists.
//!
//! [`glob_match`] is Linux's `lib/glob.c`: `*` matches any run of bytes, `?` any single byte,
//! `[...]` a set of bytes and ranges (`[a-z_]`, negated by a leading `!` as in `[!0-9]`, with `]`
//! allowed as the first member), and `\` makes the next byte literal. The whole text must match.
//! [`Pattern`] is ftrace's `filter_parse_regex()` in front of it: the common shapes `name`,
//! `name*`, `*name` and `*name*` become plain string comparisons, and only the rest run the
//! glob matcher.
//!
//! Matching works on bytes, as Linux does: `?` matches one byte, not one UTF-8 character.
//! Kernel symbol names are ASCII, so the difference never shows there.
//!
//! Malformed patterns never fail, they match as Linux's would:
//! - a `[` without a closing `]` (`[abc`, `[a-`) is an ordinary byte matching a literal `[`;
//! - a trailing lone `\` matches the end of the text, as Linux's matcher reads it as escaping
//!   the string's terminating NUL (so `abc\` matches exactly `abc`);
//! - a set never matches the end of the text, not even a negated one (Linux's `[!a]` could step
//!   over the terminating NUL; here it simply fails).

/// How a [`Pattern`] is matched; Linux's `enum regex_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchType {
    /// `MATCH_FULL`: no wildcard; the text must equal the pattern.
    Full,
    /// `MATCH_FRONT_ONLY`: `abc*`; the text starts with `abc`.
    FrontOnly,
    /// `MATCH_MIDDLE_ONLY`: `*abc*`; the text contains `abc`.
    MiddleOnly,
    /// `MATCH_END_ONLY`: `*abc`; the text ends with `abc`.
    EndOnly,
    /// `MATCH_GLOB`: anything else; the full [`glob_match`].
    Glob,
}

/// A parsed filter pattern: its [`MatchType`] and the string it compares with (the pattern with
/// the classified `*`s removed, or the whole pattern for [`MatchType::Glob`]).
///
/// This is the pattern only: a filter file's leading `!` (remove matches) and the all-digits
/// index form (`echo 42 > set_ftrace_filter`) belong to the file's parser, which strips or
/// handles them first, as Linux's `filter_parse_regex()` does before classifying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pattern<'a> {
    kind: MatchType,
    search: &'a str,
}

impl<'a> Pattern<'a> {
    /// Classifies `pattern` as Linux's `filter_parse_regex()` does: a `*` at the start and/or at
    /// the end gives the front/middle/end forms; a `*` anywhere else, or any of `?`, `[`, `\`,
    /// makes it a glob. The empty pattern is [`MatchType::Full`] and matches only "".
    pub fn parse(pattern: &'a str) -> Pattern<'a> {
        let bytes = pattern.as_bytes();
        let last = bytes.len().saturating_sub(1);
        let mut kind = MatchType::Full;
        let mut search = pattern;
        for (i, &byte) in bytes.iter().enumerate() {
            match byte {
                b'*' if i == 0 => kind = MatchType::EndOnly,
                b'*' if i == last => {
                    kind = if kind == MatchType::EndOnly {
                        MatchType::MiddleOnly
                    } else {
                        MatchType::FrontOnly
                    };
                    search = &pattern[..i];
                    break;
                }
                b'*' | b'?' | b'[' | b'\\' => {
                    return Pattern {
                        kind: MatchType::Glob,
                        search: pattern,
                    };
                }
                _ => {}
            }
        }
        if kind != MatchType::Full && kind != MatchType::FrontOnly {
            search = &search[1..];
        }
        Pattern { kind, search }
    }

    /// How this pattern is matched.
    pub fn kind(&self) -> MatchType {
        self.kind
    }

    /// The string the text is compared with (see [`Pattern`]).
    pub fn search(&self) -> &'a str {
        self.search
    }

    /// Does `text` match? Linux's `ftrace_match()`.
    pub fn matches(&self, text: &str) -> bool {
        match self.kind {
            MatchType::Full => text == self.search,
            MatchType::FrontOnly => text.starts_with(self.search),
            MatchType::MiddleOnly => text.contains(self.search),
            MatchType::EndOnly => text.ends_with(self.search),
            MatchType::Glob => glob_match(self.search, text),
        }
    }
}

/// Does the whole of `text` match the shell-style `pattern`? Linux's `glob_match()`; see the
/// module documentation for the syntax and for how malformed patterns match.
///
/// Runs without recursion or allocation in at most `pattern.len() * text.len()` steps: on a
/// mismatch it only ever backtracks to the most recent `*`, which is enough because a later `*`
/// can absorb anything an earlier one could.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob_match_bytes(pattern.as_bytes(), text.as_bytes())
}

/// [`glob_match`] on bytes, for texts that need not be UTF-8 (strings copied into trace
/// records, matched by event filters).
pub fn glob_match_bytes(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after a mismatch: the pattern just past the last `*`, and the text
    // position that `*` currently stops at.
    let mut retry: Option<(usize, usize)> = None;
    loop {
        let c = text.get(t).copied();
        let step = match pat.get(p) {
            Some(b'?') if c.is_some() => Some(1),
            Some(b'?') => None,
            Some(b'*') => {
                if p + 1 == pat.len() {
                    return true;
                }
                retry = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'[') => match byte_set(pat, p + 1, c) {
                SetMatch::Matched(len) => Some(len),
                SetMatch::Unmatched => None,
                SetMatch::Malformed => (c == Some(b'[')).then_some(1),
            },
            Some(b'\\') => {
                let escaped = pat.get(p + 1).copied();
                if escaped.is_none() && c.is_none() {
                    return true;
                }
                (escaped.is_some() && c == escaped).then_some(2)
            }
            Some(&literal) => (c == Some(literal)).then_some(1),
            None if c.is_none() => return true,
            None => None,
        };
        match (step, retry) {
            (Some(pattern_bytes), _) => {
                p += pattern_bytes;
                t += 1;
            }
            // Let the last `*` swallow one more byte and try the rest again.
            (None, Some((after_star, star_end))) if c.is_some() => {
                retry = Some((after_star, star_end + 1));
                p = after_star;
                t = star_end + 1;
            }
            (None, _) => return false,
        }
    }
}

/// The outcome of matching one byte against a `[...]` set.
enum SetMatch {
    /// The byte is in the set, which spans this many pattern bytes including its `[`.
    Matched(usize),
    /// The byte is not in the set, or there is no byte (the text has ended).
    Unmatched,
    /// The set has no closing `]`: the `[` is an ordinary byte.
    Malformed,
}

/// Matches the text byte `c` against the set whose body starts at `pat[start]` (just past the
/// `[`). A leading `!` negates; the first member may be `]`; `a-b` is a range unless the `-` is
/// followed by the closing `]`; a range whose ends are reversed matches nothing.
fn byte_set(pat: &[u8], start: usize, c: Option<u8>) -> SetMatch {
    let negated = pat.get(start) == Some(&b'!');
    let mut i = start + usize::from(negated);
    let mut found = false;
    let mut first = true;
    loop {
        let Some(&low) = pat.get(i) else {
            return SetMatch::Malformed;
        };
        if low == b']' && !first {
            break;
        }
        first = false;
        let mut high = low;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&b| b != b']') {
            high = pat[i + 2];
            i += 3;
        } else {
            i += 1;
        }
        found |= c.is_some_and(|c| (low..=high).contains(&c));
    }
    match c {
        Some(_) if found != negated => SetMatch::Matched(i + 1 - (start - 1)),
        _ => SetMatch::Unmatched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns() {
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(!glob_match("a", ""));
        assert!(glob_match("schedule", "schedule"));
        assert!(!glob_match("schedule", "schedule_tail"));
        assert!(!glob_match("schedule_tail", "schedule"));
        assert!(!glob_match("Schedule", "schedule"), "case sensitive");
    }

    #[test]
    fn star() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("**", ""));
        assert!(glob_match("sched*", "sched"));
        assert!(glob_match("sched*", "schedule"));
        assert!(!glob_match("sched*", "resched"));
        assert!(glob_match("*sched", "resched"));
        assert!(glob_match("*sched*", "try_to_resched_now"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(
            glob_match("a*c", "abcbc"),
            "backtracks past an early partial match"
        );
        assert!(!glob_match("a*c", "abcb"));
        assert!(glob_match("*aaaaa", "aaaaaaaaaa"), "Linux's worst case");
        assert!(!glob_match("*aaaaa", "aaaa"));
        assert!(glob_match("*a*a*a*", "banana"));
        assert!(!glob_match("*a*a*a*a*", "banana"));
    }

    #[test]
    fn question_mark() {
        assert!(glob_match("?", "a"));
        assert!(!glob_match("?", ""));
        assert!(!glob_match("?", "ab"));
        assert!(glob_match("fib?", "fib2"));
        assert!(glob_match("??*", "ab"));
        assert!(!glob_match("??*", "a"));
        assert!(glob_match("*?", "a"));
        assert!(!glob_match("*?", ""));
    }

    #[test]
    fn sets_and_ranges() {
        assert!(glob_match("[abc]", "b"));
        assert!(!glob_match("[abc]", "d"));
        assert!(glob_match("x[0-9]y", "x5y"));
        assert!(!glob_match("x[0-9]y", "xay"));
        assert!(glob_match("[a-cx-z]", "y"));
        assert!(!glob_match("[a-cx-z]", "m"));
        assert!(glob_match("[!0-9]", "a"));
        assert!(!glob_match("[!0-9]", "7"));
        assert!(glob_match("[]]", "]"), "] first is a member");
        assert!(glob_match("[]a]", "a"));
        assert!(glob_match("[!]]", "a"));
        assert!(!glob_match("[!]]", "]"));
        assert!(glob_match("[a-]", "-"), "- before ] is a member");
        assert!(glob_match("[a-]", "a"));
        assert!(!glob_match("[a-]", "b"));
        assert!(glob_match("[-a]", "-"));
        assert!(glob_match("[^a]", "^"), "^ is not negation, just a member");
        assert!(!glob_match("[^a]", "b"));
        assert!(!glob_match("[z-a]", "m"), "reversed range matches nothing");
        assert!(glob_match("[*?]", "*"));
        assert!(glob_match("[*?]", "?"));
        assert!(
            !glob_match("[*?]", "a"),
            "wildcards are literal inside a set"
        );
        assert!(glob_match("do_[sh]*_fault", "do_shared_fault"));
        assert!(glob_match("*_[0-9][0-9]", "irq_42"));
    }

    #[test]
    fn set_never_matches_end_of_text() {
        assert!(!glob_match("a[!b]", "a"));
        assert!(!glob_match("a[b]", "a"));
        assert!(!glob_match("*[!x]", ""));
    }

    #[test]
    fn escapes() {
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
        assert!(glob_match("a\\?c", "a?c"));
        assert!(!glob_match("a\\?c", "abc"));
        assert!(glob_match("\\[a]", "[a]"));
        assert!(glob_match("\\\\", "\\"));
        assert!(glob_match("\\a", "a"), "escaping an ordinary byte keeps it");
        assert!(glob_match("*\\*", "star*"));
    }

    #[test]
    fn malformed_patterns_match_like_linux() {
        // Unterminated set: the [ is literal.
        assert!(glob_match("[abc", "[abc"));
        assert!(!glob_match("[abc", "a"));
        assert!(glob_match("[", "["));
        assert!(!glob_match("[", ""));
        assert!(glob_match("[!", "[!"));
        assert!(glob_match("[a-", "[a-"));
        assert!(
            glob_match("x[]", "x[]"),
            "[] opens a set whose first member is ]"
        );
        assert!(glob_match("*[", "foo["));
        // A trailing lone backslash matches the end of the text.
        assert!(glob_match("abc\\", "abc"));
        assert!(!glob_match("abc\\", "abc\\"));
        assert!(!glob_match("abc\\", "abcd"));
        assert!(glob_match("*\\", "anything"));
        assert!(glob_match("\\", ""));
    }

    #[test]
    fn bytes_not_characters() {
        assert!(glob_match("??", "é"), "é is two bytes");
        assert!(!glob_match("?", "é"));
        assert!(glob_match("*é*", "café au lait"));
        assert!(!glob_match("[é]", "é"), "a set matches one byte of the two");
        assert!(glob_match("[é][é]", "é"));
    }

    #[test]
    fn embedded_nul_is_an_ordinary_byte() {
        assert!(glob_match("a\0b", "a\0b"));
        assert!(!glob_match("a", "a\0"));
        assert!(glob_match("a*", "a\0b"));
    }

    #[test]
    fn classification() {
        let cases: &[(&str, MatchType, &str)] = &[
            ("", MatchType::Full, ""),
            ("schedule", MatchType::Full, "schedule"),
            ("sched*", MatchType::FrontOnly, "sched"),
            ("*sched", MatchType::EndOnly, "sched"),
            ("*sched*", MatchType::MiddleOnly, "sched"),
            ("*", MatchType::EndOnly, ""),
            ("**", MatchType::MiddleOnly, ""),
            ("a*b", MatchType::Glob, "a*b"),
            ("*a*b", MatchType::Glob, "*a*b"),
            ("a*b*", MatchType::Glob, "a*b*"),
            ("***", MatchType::Glob, "***"),
            ("fib?", MatchType::Glob, "fib?"),
            ("[ab]*", MatchType::Glob, "[ab]*"),
            ("*x\\*", MatchType::Glob, "*x\\*"),
            ("!fib", MatchType::Full, "!fib"),
            ("é*", MatchType::FrontOnly, "é"),
        ];
        for &(pattern, kind, search) in cases {
            let parsed = Pattern::parse(pattern);
            assert_eq!(
                (parsed.kind(), parsed.search()),
                (kind, search),
                "{pattern:?}"
            );
        }
    }

    #[test]
    fn pattern_matching_agrees_with_glob_match() {
        let patterns = [
            "", "*", "**", "***", "fib", "fib*", "*fib", "*fib*", "f*b", "*f*b*", "fi?", "[fl]*",
            "*_[0-9]", "[", "\\*", "*\\", "a\\", "[!f]*", "*ib*", "nested*", "*e*",
        ];
        let texts = [
            "",
            "fib",
            "fibonacci",
            "libfib",
            "my_fib_2",
            "leaf",
            "nested",
            "fb",
            "f*b",
            "*",
            "a",
            "x_7",
            "[",
            "fi",
            "fix",
        ];
        for pattern in patterns {
            let parsed = Pattern::parse(pattern);
            for text in texts {
                assert_eq!(
                    parsed.matches(text),
                    glob_match(pattern, text),
                    "pattern {pattern:?} text {text:?} ({:?})",
                    parsed.kind()
                );
            }
        }
    }

    #[test]
    fn pattern_matches() {
        let front = Pattern::parse("kernel::workload::*");
        assert!(front.matches("kernel::workload::fib"));
        assert!(!front.matches("kernel::shell::run"));
        let middle = Pattern::parse("*workload*");
        assert!(middle.matches("kernel::workload::leaf"));
        assert!(!middle.matches("kernel::work::leaf"));
        let end = Pattern::parse("*::fib");
        assert!(end.matches("kernel::workload::fib"));
        assert!(!end.matches("kernel::workload::fib2"));
        let full = Pattern::parse("kernel::workload::fib");
        assert!(full.matches("kernel::workload::fib"));
        assert!(!full.matches("kernel::workload::fibx"));
        let glob = Pattern::parse("kernel::*::fi?");
        assert!(glob.matches("kernel::workload::fib"));
        assert!(!glob.matches("kernel::workload::fibs"));
    }
}
