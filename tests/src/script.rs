//! The scenario file format (`tests/scenarios/*.tc`) and its parser; tests/README.md is the
//! author's guide. A scenario is a list of steps that drive the serial shell (`$ COMMAND`,
//! `send:`, `prompt`, `expect:`, `exit:`, and `hvc-send:`/`hvc-expect:` for the virtio console)
//! and checks on the output of the last step
//! (`=`, `~`, `!`, `count`, `atleast`, `all`, `empty`).
//!
//! Everything a scenario can get wrong is found here, before QEMU starts, and reported with its
//! line number.

use std::fmt;
use std::time::Duration;

use crate::escape;

/// The per-step timeout when a scenario sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest per-step timeout a scenario may ask for.
pub const MAX_TIMEOUT_SECS: f64 = 600.0;

/// A parsed scenario file.
#[derive(Debug)]
pub struct Scenario {
    /// The text after `# description:` on the first line.
    pub description: String,
    /// Extra QEMU arguments from `qemu:` lines, split on whitespace.
    pub qemu_args: Vec<String>,
    /// Steps and checks in file order.
    pub steps: Vec<Step>,
}

/// One directive of a scenario, with where it came from.
#[derive(Debug)]
pub struct Step {
    /// 1-based line number in the scenario file.
    pub line: usize,
    /// The line as written, for failure messages.
    pub source: String,
    /// What to do.
    pub action: Action,
}

/// What a step does.
#[derive(Debug)]
pub enum Action {
    /// `$ COMMAND`: type the command and Enter, wait for the next prompt; the output is what the
    /// shell printed between its echo of the line and the prompt.
    Command(Vec<u8>),
    /// `send: BYTES`: type raw bytes, wait for nothing.
    Send(Vec<u8>),
    /// `prompt`: wait for the next prompt; the output is everything printed since the last step.
    Prompt,
    /// `expect: REGEX`: wait until the output since the last step matches; the output is the text
    /// up to the end of the match.
    Expect(regex::bytes::Regex),
    /// `exit: N`: wait for QEMU to exit and require status N; the output is what was printed
    /// since the last step.
    Exit(i32),
    /// `hvc-send: BYTES`: write raw bytes to the host end of the guest's `/dev/hvc0`.
    HvcSend(Vec<u8>),
    /// `hvc-expect: REGEX`: wait until what the guest wrote to `/dev/hvc0` since the previous
    /// `hvc-expect:` matches; the output is that text up to the end of the match.
    HvcExpect(regex::bytes::Regex),
    /// `gdb: COMMAND`: queues a command for the next `gdb-run:`.
    GdbCommand(String),
    /// `gdb-run: PROG`: runs `gdb-multiarch --batch` with PROG's ELF from the user build,
    /// connected to `/dev/hvc0` (a gdbserver there), and the queued commands; the output is
    /// everything gdb printed.
    GdbRun(String),
    /// `timeout: SECS`: the per-step timeout from here on.
    Timeout(Duration),
    /// A check on the output of the last output-producing step.
    Check(Check),
}

/// A check on a step's output, seen as lines (a final partial line counts as a line).
#[derive(Debug)]
pub enum Check {
    /// `= TEXT`: some line is exactly TEXT, after the line the previous `=`/`~` matched.
    Line(String),
    /// `~ REGEX`: some line matches REGEX (unanchored), after the previous `=`/`~` match.
    LineMatching(regex::Regex),
    /// `! TEXT`: no line contains TEXT.
    NoLineContaining(String),
    /// `count N REGEX` (`at_least` false) or `atleast N REGEX` (true): how many lines match.
    Count {
        lines: usize,
        pattern: regex::Regex,
        at_least: bool,
    },
    /// `all REGEX`: the output has lines and every one matches REGEX (unanchored).
    AllLines(regex::Regex),
    /// `empty`: the output has no characters at all.
    Empty,
}

/// A scenario file that does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// What the parser knows about the steps so far, to reject scenarios that cannot mean anything.
struct State {
    steps: Vec<Step>,
    qemu_args: Vec<String>,
    /// Whether checks have an output to look at (the boot log counts, so this starts true).
    has_output: bool,
    /// Set by `exit:`: QEMU is gone, only checks may follow.
    exited: bool,
}

/// Parses a scenario file's text.
pub fn parse(source: &str) -> Result<Scenario, ParseError> {
    let mut lines = source
        .lines()
        .enumerate()
        .map(|(index, text)| (index + 1, text));
    let description = parse_description(lines.next())?;
    let mut state = State {
        steps: Vec::new(),
        qemu_args: Vec::new(),
        has_output: true,
        exited: false,
    };
    for (line, text) in lines {
        let parsed =
            parse_line(&mut state, text).map_err(|message| ParseError { line, message })?;
        if let Some(action) = parsed {
            state.steps.push(Step {
                line,
                source: text.to_string(),
                action,
            });
        }
    }
    if !state.steps.iter().any(|step| step.action.talks_to_qemu()) {
        return Err(ParseError {
            line: source.lines().count().max(1),
            message: "the scenario has no steps (`$`, `send:`, `prompt`, `expect:` or `exit:`)"
                .into(),
        });
    }
    Ok(Scenario {
        description,
        qemu_args: state.qemu_args,
        steps: state.steps,
    })
}

impl Action {
    fn talks_to_qemu(&self) -> bool {
        !matches!(self, Action::Timeout(_) | Action::Check(_))
    }
}

impl Scenario {
    /// Whether the machine needs a virtio console whose host end the runner holds.
    pub fn uses_hvc(&self) -> bool {
        self.steps.iter().any(|step| {
            matches!(
                step.action,
                Action::HvcSend(_)
                    | Action::HvcExpect(_)
                    | Action::GdbCommand(_)
                    | Action::GdbRun(_)
            )
        })
    }
}

fn parse_description(first: Option<(usize, &str)>) -> Result<String, ParseError> {
    let missing = |message: &str| ParseError {
        line: 1,
        message: message.into(),
    };
    let (_, text) =
        first.ok_or_else(|| missing("empty file: the first line must be `# description: ...`"))?;
    let description = text
        .strip_prefix("# description:")
        .ok_or_else(|| missing("the first line must be `# description: ...`"))?
        .trim();
    if description.is_empty() {
        return Err(missing("the description is empty"));
    }
    Ok(description.to_string())
}

/// Parses one line after the first; `None` for blank and comment lines and `qemu:` headers.
fn parse_line(state: &mut State, text: &str) -> Result<Option<Action>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.starts_with(char::is_whitespace) {
        return Err("a line must not start with whitespace".into());
    }
    if text.starts_with("# description:") {
        return Err("the description belongs on the first line only".into());
    }
    if text.starts_with('#') {
        return Ok(None);
    }
    let (word, argument) = split_directive(text);
    if state.exited
        && !matches!(
            word,
            "=" | "~" | "!" | "count" | "atleast" | "all" | "empty"
        )
    {
        return Err(format!(
            "`{word}` after `exit:`: QEMU has exited, only checks may follow"
        ));
    }
    let action = match word {
        "qemu:" => {
            if state.steps.iter().any(|step| step.action.talks_to_qemu()) {
                return Err("`qemu:` must come before the first step".into());
            }
            let args = required(argument, "qemu:", "QEMU arguments")?;
            state
                .qemu_args
                .extend(args.split_whitespace().map(String::from));
            return Ok(None);
        }
        "$" => Action::Command(parse_command(argument.unwrap_or(""))?),
        "send:" => Action::Send(parse_bytes(required(argument, "send:", "bytes to send")?)?),
        "prompt" => no_argument(argument, "prompt", Action::Prompt)?,
        "expect:" => Action::Expect(parse_bytes_regex(required(
            argument, "expect:", "a regex",
        )?)?),
        "exit:" => Action::Exit(parse_exit_status(required(
            argument,
            "exit:",
            "an exit status",
        )?)?),
        "hvc-send:" => Action::HvcSend(parse_bytes(required(
            argument,
            "hvc-send:",
            "bytes to send",
        )?)?),
        "hvc-expect:" => Action::HvcExpect(parse_bytes_regex(required(
            argument,
            "hvc-expect:",
            "a regex",
        )?)?),
        "gdb:" => Action::GdbCommand(required(argument, "gdb:", "a gdb command")?.to_string()),
        "gdb-run:" => Action::GdbRun(
            required(argument, "gdb-run:", "a program")?
                .trim()
                .to_string(),
        ),
        "timeout:" => Action::Timeout(parse_timeout(required(argument, "timeout:", "seconds")?)?),
        "=" => Action::Check(Check::Line(argument.unwrap_or("").to_string())),
        "~" => Action::Check(Check::LineMatching(parse_regex(required(
            argument, "~", "a regex",
        )?)?)),
        "!" => Action::Check(Check::NoLineContaining(
            required(argument, "!", "text")?.to_string(),
        )),
        "count" | "atleast" => Action::Check(parse_count(word, argument)?),
        "all" => Action::Check(Check::AllLines(parse_regex(required(
            argument, "all", "a regex",
        )?)?)),
        "empty" => no_argument(argument, "empty", Action::Check(Check::Empty))?,
        _ => return Err(unknown_directive(text)),
    };
    match &action {
        Action::Check(_) if !state.has_output => {
            return Err(format!(
                "`{word}` checks output, but `send:` produced none: add `prompt` or `expect:` first"
            ));
        }
        Action::Command(_)
        | Action::Prompt
        | Action::Expect(_)
        | Action::HvcExpect(_)
        | Action::GdbRun(_) => state.has_output = true,
        Action::Send(_) | Action::HvcSend(_) | Action::GdbCommand(_) => state.has_output = false,
        Action::Exit(_) => {
            state.has_output = true;
            state.exited = true;
        }
        Action::Timeout(_) | Action::Check(_) => {}
    }
    Ok(Some(action))
}

/// Splits `WORD ARGUMENT` at the first space; the argument keeps any further spaces.
fn split_directive(text: &str) -> (&str, Option<&str>) {
    match text.split_once(' ') {
        Some((word, argument)) => (word, Some(argument)),
        None => (text, None),
    }
}

fn required<'a>(argument: Option<&'a str>, word: &str, what: &str) -> Result<&'a str, String> {
    match argument {
        Some(argument) if !argument.trim().is_empty() => Ok(argument),
        _ => Err(format!("`{word}` needs {what}")),
    }
}

fn no_argument(argument: Option<&str>, word: &str, action: Action) -> Result<Action, String> {
    match argument {
        Some(extra) if !extra.trim().is_empty() => {
            Err(format!("`{word}` takes no argument, found `{extra}`"))
        }
        _ => Ok(action),
    }
}

fn unknown_directive(text: &str) -> String {
    format!(
        "unknown directive `{text}` (expected `$ CMD`, `send:`, `prompt`, `expect:`, `exit:`, \
         `hvc-send:`, `hvc-expect:`, `gdb:`, `gdb-run:`, `timeout:`, `qemu:`, `= TEXT`, `~ REGEX`, `! TEXT`, `count N REGEX`, `atleast N REGEX`, \
         `all REGEX`, `empty` or a `#` comment)"
    )
}

fn parse_bytes(text: &str) -> Result<Vec<u8>, String> {
    escape::decode(text).map_err(|error| format!("bad escape at {error}"))
}

/// A command is one line: the runner adds the Enter, and a second line would get a prompt of its
/// own that the next step would mistake for its own.
fn parse_command(text: &str) -> Result<Vec<u8>, String> {
    let bytes = parse_bytes(text)?;
    if bytes.iter().any(|&byte| byte == b'\n' || byte == b'\r') {
        return Err("a `$` command must not contain a line break: use `send:` and `prompt`".into());
    }
    Ok(bytes)
}

fn parse_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|error| format!("bad regex `{pattern}`: {error}"))
}

fn parse_bytes_regex(pattern: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::Regex::new(pattern).map_err(|error| format!("bad regex `{pattern}`: {error}"))
}

fn parse_exit_status(text: &str) -> Result<i32, String> {
    match text.trim().parse::<u8>() {
        Ok(status) => Ok(i32::from(status)),
        Err(_) => Err(format!(
            "`exit: {text}`: the status must be a number 0..=255"
        )),
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`timeout: {text}`: the timeout must be a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "`timeout: {text}`: the timeout must be in (0, {MAX_TIMEOUT_SECS}] seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_count(word: &str, argument: Option<&str>) -> Result<Check, String> {
    let usage = || format!("`{word}` needs a line count and a regex: `{word} N REGEX`");
    let (count, pattern) = argument
        .and_then(|argument| argument.split_once(' '))
        .ok_or_else(usage)?;
    let lines = count
        .parse()
        .map_err(|_| format!("`{word} {count}`: the line count must be a number"))?;
    if pattern.trim().is_empty() {
        return Err(usage());
    }
    Ok(Check::Count {
        lines,
        pattern: parse_regex(pattern)?,
        at_least: word == "atleast",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "# description: a test\n";

    fn parse_body(body: &str) -> Result<Scenario, ParseError> {
        parse(&format!("{HEADER}{body}"))
    }

    /// Parses a body that must fail and returns (line, message).
    fn error_of(body: &str) -> (usize, String) {
        let error = parse_body(body).expect_err(body);
        (error.line, error.message)
    }

    fn actions(body: &str) -> Vec<Action> {
        parse_body(body)
            .unwrap()
            .steps
            .into_iter()
            .map(|step| step.action)
            .collect()
    }

    #[test]
    fn a_full_scenario() {
        let scenario = parse(
            "# description: ls shows the tracing directory\n\
             # a comment\n\
             qemu: -smp 4  -m 256M\n\
             \n\
             timeout: 2.5\n\
             $ ls /sys/kernel\n\
             = tracing\n\
             ~ ^trac\n\
             ! debug\n\
             count 1 .\n\
             atleast 1 t\n\
             $\n\
             empty\n\
             send: ab\\x7f\n\
             expect: a\n\
             prompt\n\
             $ poweroff 3\n\
             exit: 3\n\
             empty\n",
        )
        .unwrap();
        assert_eq!(scenario.description, "ls shows the tracing directory");
        assert_eq!(scenario.qemu_args, ["-smp", "4", "-m", "256M"]);
        let lines: Vec<usize> = scenario.steps.iter().map(|step| step.line).collect();
        assert_eq!(
            lines,
            [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
        );
        assert_eq!(scenario.steps[1].source, "$ ls /sys/kernel");
        assert!(
            matches!(scenario.steps[0].action, Action::Timeout(t) if t == Duration::from_millis(2500))
        );
        assert!(matches!(&scenario.steps[1].action, Action::Command(c) if c == b"ls /sys/kernel"));
        assert!(
            matches!(&scenario.steps[2].action, Action::Check(Check::Line(t)) if t == "tracing")
        );
        assert!(
            matches!(&scenario.steps[3].action, Action::Check(Check::LineMatching(r)) if r.as_str() == "^trac")
        );
        assert!(
            matches!(&scenario.steps[4].action, Action::Check(Check::NoLineContaining(t)) if t == "debug")
        );
        assert!(matches!(
            &scenario.steps[5].action,
            Action::Check(Check::Count {
                lines: 1,
                at_least: false,
                ..
            })
        ));
        assert!(matches!(
            &scenario.steps[6].action,
            Action::Check(Check::Count {
                lines: 1,
                at_least: true,
                ..
            })
        ));
        assert!(matches!(&scenario.steps[7].action, Action::Command(c) if c.is_empty()));
        assert!(matches!(
            scenario.steps[8].action,
            Action::Check(Check::Empty)
        ));
        assert!(matches!(&scenario.steps[9].action, Action::Send(b) if b == b"ab\x7f"));
        assert!(matches!(&scenario.steps[10].action, Action::Expect(r) if r.as_str() == "a"));
        assert!(matches!(scenario.steps[11].action, Action::Prompt));
        assert!(matches!(scenario.steps[13].action, Action::Exit(3)));
    }

    #[test]
    fn command_text_keeps_spaces_and_decodes_escapes() {
        let parsed = actions("$ echo  'a  b' \\x41\\{3}\n");
        assert!(matches!(&parsed[0], Action::Command(c) if c == b"echo  'a  b' AAA"));
    }

    #[test]
    fn hvc_directives() {
        let scenario = parse_body("hvc-send: a\\x03\nhvc-expect: ^hi\n= hi\n$ ls\n").unwrap();
        assert!(scenario.uses_hvc());
        assert!(matches!(&scenario.steps[0].action, Action::HvcSend(b) if b == b"a\x03"));
        assert!(matches!(&scenario.steps[1].action, Action::HvcExpect(r) if r.as_str() == "^hi"));
        assert!(!parse_body("$ ls\n").unwrap().uses_hvc());
        assert!(error_of("hvc-send:\n").1.contains("needs bytes"));
        assert!(error_of("hvc-expect: (\n").1.contains("bad regex"));
        assert!(error_of("hvc-send: x\n= x\n").1.contains("add `prompt`"));
        let gdb = parse_body("gdb: break fib\ngdb: bt\ngdb-run: /bin/fib\n~ ^#0\n").unwrap();
        assert!(gdb.uses_hvc());
        assert!(matches!(&gdb.steps[0].action, Action::GdbCommand(c) if c == "break fib"));
        assert!(matches!(&gdb.steps[2].action, Action::GdbRun(p) if p == "/bin/fib"));
        assert!(error_of("gdb:\n").1.contains("needs a gdb command"));
        assert!(error_of("gdb-run:\n").1.contains("needs a program"));
    }

    #[test]
    fn all_lines_check() {
        let parsed = actions("$ ls\nall ^[a-z]+$\n");
        assert!(
            matches!(&parsed[1], Action::Check(Check::AllLines(r)) if r.as_str() == "^[a-z]+$")
        );
    }

    #[test]
    fn a_bare_equals_expects_an_empty_line() {
        let parsed = actions("$ echo\n=\n= \n");
        assert!(matches!(&parsed[1], Action::Check(Check::Line(t)) if t.is_empty()));
        assert!(matches!(&parsed[2], Action::Check(Check::Line(t)) if t.is_empty()));
    }

    #[test]
    fn checks_before_any_step_look_at_the_boot_log() {
        let parsed = actions("~ Booting\n$ ls\n");
        assert!(matches!(parsed[0], Action::Check(Check::LineMatching(_))));
    }

    #[test]
    fn crlf_files_parse_like_lf_files() {
        let scenario = parse("# description: dos\r\n$ pwd\r\n= /\r\n").unwrap();
        assert!(matches!(&scenario.steps[1].action, Action::Check(Check::Line(t)) if t == "/"));
    }

    #[test]
    fn the_description_must_come_first() {
        let missing = |source: &str| parse(source).expect_err(source);
        assert_eq!(missing("").line, 1);
        assert!(missing("").message.contains("empty file"));
        assert!(missing("$ ls\n").message.contains("first line must be"));
        assert!(
            missing("#description: x\n$ ls\n")
                .message
                .contains("first line must be")
        );
        assert!(
            missing("# description:   \n$ ls\n")
                .message
                .contains("empty")
        );
        let (line, message) = error_of("$ ls\n# description: again\n");
        assert_eq!(line, 3);
        assert!(message.contains("first line only"));
    }

    #[test]
    fn a_scenario_needs_a_step() {
        let (line, message) = error_of("# only comments\ntimeout: 3\n");
        assert_eq!(line, 3);
        assert!(message.contains("no steps"));
        assert!(
            parse("# description: x")
                .unwrap_err()
                .message
                .contains("no steps")
        );
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let cases: &[(&str, &str)] = &[
            (" $ ls", "whitespace"),
            ("\t= x", "whitespace"),
            ("ls", "unknown directive `ls`"),
            ("$ls", "unknown directive `$ls`"),
            ("=x", "unknown directive `=x`"),
            ("send:", "`send:` needs bytes"),
            ("send: ", "`send:` needs bytes"),
            ("send:x", "unknown directive"),
            ("send: \\q", "bad escape at column 1"),
            ("$ echo \\x4", "bad escape at column 6"),
            ("$ echo a\\nb", "line break"),
            ("$ echo a\\x0d", "line break"),
            ("prompt now", "takes no argument"),
            ("empty x", "takes no argument"),
            ("expect:", "needs a regex"),
            ("expect: (", "bad regex `(`"),
            ("~", "`~` needs a regex"),
            ("~ [z-a]", "bad regex"),
            ("!", "`!` needs text"),
            ("exit:", "needs an exit status"),
            ("exit: -1", "0..=255"),
            ("exit: 256", "0..=255"),
            ("exit: x", "0..=255"),
            ("timeout:", "needs seconds"),
            ("timeout: 0", "(0, 600]"),
            ("timeout: 601", "(0, 600]"),
            ("timeout: NaN", "(0, 600]"),
            ("timeout: soon", "number of seconds"),
            ("count", "count N REGEX"),
            ("count 3", "count N REGEX"),
            ("count 3 ", "count N REGEX"),
            ("count x .", "line count must be a number"),
            ("count -1 .", "line count must be a number"),
            ("atleast 2 (", "bad regex"),
            ("all", "`all` needs a regex"),
            ("all ", "`all` needs a regex"),
            ("all )", "bad regex"),
        ];
        for (text, expected) in cases {
            let (line, message) = error_of(&format!("$ pwd\n{text}\n"));
            assert_eq!(line, 3, "{text}");
            assert!(
                message.contains(expected),
                "`{text}` gave `{message}`, expected `{expected}`"
            );
        }
    }

    #[test]
    fn qemu_arguments_belong_in_the_header() {
        let (line, message) = error_of("$ ls\nqemu: -smp 2\n");
        assert_eq!(line, 3);
        assert!(message.contains("before the first step"));
        assert!(parse_body("# comment\nqemu: -smp 2\ntimeout: 1\n$ ls\n").is_ok());
        assert!(parse_body("timeout: 1\nqemu: -smp 2\n$ ls\n").is_ok());
        let (line, message) = error_of("qemu:\n$ ls\n");
        assert_eq!(line, 2);
        assert!(message.contains("needs QEMU arguments"));
        assert_eq!(
            parse_body("qemu: -smp 2\nqemu: -m 1G\n$ ls\n")
                .unwrap()
                .qemu_args
                .len(),
            4
        );
    }

    #[test]
    fn checks_after_send_need_a_prompt_or_expect() {
        let (line, message) = error_of("send: ls\n= x\n");
        assert_eq!(line, 3);
        assert!(message.contains("add `prompt` or `expect:`"));
        assert!(parse_body("send: ls\nprompt\n= x\n").is_ok());
        assert!(parse_body("send: ls\nexpect: l\n= x\n").is_ok());
        assert!(parse_body("send: ls\ntimeout: 1\nempty\n").is_err());
        assert!(parse_body("send: \\x04\nexit: 0\n= exit\n").is_ok());
    }

    #[test]
    fn only_checks_may_follow_exit() {
        assert!(parse_body("$ poweroff 2\nexit: 2\nempty\n! panic\n").is_ok());
        for step in [
            "$ ls",
            "send: x",
            "prompt",
            "expect: x",
            "exit: 0",
            "timeout: 1",
        ] {
            let (line, message) = error_of(&format!("$ poweroff\nexit: 0\n{step}\n"));
            assert_eq!(line, 4, "{step}");
            assert!(message.contains("only checks may follow"), "{message}");
        }
    }
}
