//! Whole-shell transcripts: scripted bytes in through a fake tty, exact output checked, against
//! a small VFS of tracefs-like files.

use super::*;
use crate::fs::{FileOps, read_only, read_write};
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use spin::Mutex;

/// Plays `input` and records every write.
struct ScriptedTty {
    input: VecDeque<u8>,
    output: Vec<u8>,
    writes: usize,
}

impl ScriptedTty {
    fn new(input: &[u8]) -> Self {
        Self {
            input: input.iter().copied().collect(),
            output: Vec::new(),
            writes: 0,
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }
}

impl Tty for ScriptedTty {
    fn read_byte(&mut self) -> u8 {
        self.input
            .pop_front()
            .expect("the script ended without Ctrl-D on an empty line")
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
        self.writes += 1;
    }
}

/// A file that keeps its content like a regular file and logs every write call.
#[derive(Default)]
struct RecordingFile {
    content: Mutex<String>,
    writes: Mutex<Vec<(String, WriteMode)>>,
}

impl RecordingFile {
    fn writes(&self) -> Vec<(String, WriteMode)> {
        self.writes.lock().clone()
    }
}

impl FileOps for Arc<RecordingFile> {
    fn read(&self, out: &mut dyn fmt::Write) -> Result<(), Errno> {
        Ok(out.write_str(&self.content.lock())?)
    }

    fn write(&self, data: &[u8], mode: WriteMode) -> Result<(), Errno> {
        let data = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        self.writes.lock().push((data.to_string(), mode));
        let mut content = self.content.lock();
        if mode == WriteMode::Truncate {
            content.clear();
        }
        content.push_str(data);
        Ok(())
    }

    fn mode(&self) -> u16 {
        0o644
    }
}

const BIG_LINES: usize = 1000;

struct Fixture {
    vfs: Vfs,
    commands: CommandTable,
    trace: Arc<RecordingFile>,
}

fn fixture() -> Fixture {
    let vfs = Vfs::new();
    let trace = Arc::new(RecordingFile::default());
    vfs.register_file(
        "/version",
        read_only(|out| Ok(out.write_str("Tiny 0.1\n")?)),
    )
    .unwrap();
    vfs.register_file("/sys/kernel/tracing/trace", Arc::clone(&trace))
        .unwrap();
    vfs.register_file(
        "/sys/kernel/tracing/tracing_on",
        read_write(
            |out| Ok(out.write_str("1\n")?),
            |data, _| match data {
                b"0\n" | b"1\n" => Ok(()),
                _ => Err(Errno::EINVAL),
            },
        ),
    )
    .unwrap();
    vfs.register_file("/sys/kernel/tracing/broken", read_only(|_| Err(Errno::EIO)))
        .unwrap();
    vfs.mkdir_p("/sys/kernel/tracing/events").unwrap();
    vfs.register_file(
        "/big",
        read_only(|out| {
            for i in 0..BIG_LINES {
                writeln!(out, "line {i:04}")?;
            }
            Ok(())
        }),
    )
    .unwrap();
    vfs.register_file(
        "/huge",
        read_only(|out| {
            let chunk = "x".repeat(1024);
            for _ in 0..=REDIRECT_MAX / 1024 {
                out.write_str(&chunk)?;
            }
            Ok(())
        }),
    )
    .unwrap();
    Fixture {
        vfs,
        commands: CommandTable::new(),
        trace,
    }
}

fn session_bytes(fixture: &Fixture, input: &[u8]) -> ScriptedTty {
    let mut tty = ScriptedTty::new(input);
    Shell::new(&fixture.vfs, &fixture.commands).run(&mut tty);
    tty
}

/// Runs `input` (which must end the session) and returns the transcript.
fn session(fixture: &Fixture, input: &str) -> String {
    session_bytes(fixture, input.as_bytes()).output()
}

/// The transcript of typing each line (with LF) and then Ctrl-D, for a shell that never leaves
/// `/`: prompts, echoes and `outputs[i]` after line `i`.
fn transcript_at_root(lines: &[&str], outputs: &[&str]) -> String {
    assert_eq!(lines.len(), outputs.len());
    let mut expected = String::new();
    for (line, output) in lines.iter().zip(outputs) {
        expected.push_str(&format!("/ # {line}\n{output}"));
    }
    expected.push_str("/ # exit\n");
    expected
}

fn input_lines(lines: &[&str]) -> String {
    let mut input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    input.push('\x04');
    input
}

/// Checks a session at `/` line by line.
fn check_at_root(fixture: &Fixture, lines_and_outputs: &[(&str, &str)]) {
    let lines: Vec<&str> = lines_and_outputs.iter().map(|(line, _)| *line).collect();
    let outputs: Vec<&str> = lines_and_outputs
        .iter()
        .map(|(_, output)| *output)
        .collect();
    assert_eq!(
        session(fixture, &input_lines(&lines)),
        transcript_at_root(&lines, &outputs)
    );
}

#[test]
fn ctrl_d_on_the_first_prompt_exits() {
    assert_eq!(session(&fixture(), "\x04"), "/ # exit\n");
}

#[test]
fn blank_lines_and_comments_only_prompt_again() {
    check_at_root(
        &fixture(),
        &[("", ""), ("   ", ""), ("# echo hi", ""), ("  # x", "")],
    );
}

#[test]
fn cd_and_pwd_follow_the_prompt() {
    let input = input_lines(&[
        "cd /sys/kernel/tracing",
        "pwd",
        "cd ..",
        "pwd",
        "cd ../..//sys/./kernel/",
        "cd tracing/events",
        "cd ../../../..",
        "cd sys",
        "cd",
        "pwd",
    ]);
    assert_eq!(
        session(&fixture(), &input),
        "/ # cd /sys/kernel/tracing\n\
         /sys/kernel/tracing # pwd\n\
         /sys/kernel/tracing\n\
         /sys/kernel/tracing # cd ..\n\
         /sys/kernel # pwd\n\
         /sys/kernel\n\
         /sys/kernel # cd ../..//sys/./kernel/\n\
         /sys/kernel # cd tracing/events\n\
         /sys/kernel/tracing/events # cd ../../../..\n\
         / # cd sys\n\
         /sys # cd\n\
         / # pwd\n\
         /\n\
         / # exit\n"
    );
}

#[test]
fn cd_errors_keep_the_directory() {
    check_at_root(
        &fixture(),
        &[
            (
                "cd /nope",
                "sh: cd: can't cd to /nope: No such file or directory\n",
            ),
            (
                "cd version",
                "sh: cd: can't cd to version: Not a directory\n",
            ),
            (
                "cd /version/..",
                "sh: cd: can't cd to /version/..: Not a directory\n",
            ),
            (
                "cd /nope/..",
                "sh: cd: can't cd to /nope/..: No such file or directory\n",
            ),
            ("cd ''", "sh: cd: can't cd to : No such file or directory\n"),
            ("cd a b", "sh: cd: too many arguments\n"),
            ("pwd", "/\n"),
        ],
    );
}

#[test]
fn ls_lists_sorted_entries_and_reports_errors() {
    check_at_root(
        &fixture(),
        &[
            ("ls", "big\nhuge\nsys\nversion\n"),
            (
                "ls /sys/kernel/tracing",
                "broken\nevents\ntrace\ntracing_on\n",
            ),
            ("ls sys//kernel/./tracing/events", ""),
            ("ls version", "version\n"),
            ("ls /nope", "ls: /nope: No such file or directory\n"),
            ("ls /version/", "ls: /version/: Not a directory\n"),
            (
                "ls /sys /version /nope /sys/kernel/tracing/events big",
                "ls: /nope: No such file or directory\n\
                 /version\n\
                 big\n\
                 \n\
                 /sys:\n\
                 kernel\n\
                 \n\
                 /sys/kernel/tracing/events:\n",
            ),
            (
                "ls /sys/kernel /sys",
                "/sys:\nkernel\n\n/sys/kernel:\ntracing\n",
            ),
        ],
    );
}

#[test]
fn ls_without_arguments_lists_the_working_directory() {
    let input = input_lines(&[
        "cd /sys/kernel",
        "ls",
        "ls ..",
        "ls ../kernel/tracing/trace",
    ]);
    assert_eq!(
        session(&fixture(), &input),
        "/ # cd /sys/kernel\n\
         /sys/kernel # ls\n\
         tracing\n\
         /sys/kernel # ls ..\n\
         kernel\n\
         /sys/kernel # ls ../kernel/tracing/trace\n\
         ../kernel/tracing/trace\n\
         /sys/kernel # exit\n"
    );
}

#[test]
fn cat_prints_files_and_busybox_errors() {
    check_at_root(
        &fixture(),
        &[
            ("cat /version", "Tiny 0.1\n"),
            ("cat version /version", "Tiny 0.1\nTiny 0.1\n"),
            (
                "cat /nope",
                "cat: can't open '/nope': No such file or directory\n",
            ),
            (
                "cat /version/x",
                "cat: can't open '/version/x': Not a directory\n",
            ),
            ("cat /sys", "cat: read error: Is a directory\n"),
            (
                "cat sys/kernel/tracing/broken",
                "cat: read error: Input/output error\n",
            ),
            (
                "cat /nope /version",
                "cat: can't open '/nope': No such file or directory\nTiny 0.1\n",
            ),
            ("cat", "usage: cat FILE...\n"),
        ],
    );
}

#[test]
fn echo_joins_arguments() {
    let input = input_lines(&[
        "echo hello   world",
        "echo 'a  b' \"c\\\"d\" e\\ f",
        "echo",
        "echo -n a b",
        "echo -n",
        "echo -nn x",
        "echo -e -n x",
        "echo x -n",
    ]);
    assert_eq!(
        session(&fixture(), &input),
        "/ # echo hello   world\nhello world\n\
         / # echo 'a  b' \"c\\\"d\" e\\ f\na  b c\"d e f\n\
         / # echo\n\n\
         / # echo -n a b\na b\
         / # echo -n\n\
         / # echo -nn x\nx\
         / # echo -e -n x\n-e -n x\n\
         / # echo x -n\nx -n\n\
         / # exit\n"
    );
}

#[test]
fn redirections_write_once_with_the_right_mode() {
    let fixture = fixture();
    let input = input_lines(&[
        "echo 1 > /sys/kernel/tracing/trace",
        "cd /sys/kernel/tracing",
        "echo 2 >>trace",
        "cat trace",
        "echo -n >trace",
        "cat trace",
        ">> trace",
        "echo a b>trace c",
        "cat trace",
        "> trace",
        "echo x 1>>../tracing/trace",
        "cat /version > trace",
    ]);
    let output = session(&fixture, &input);
    assert_eq!(
        output,
        "/ # echo 1 > /sys/kernel/tracing/trace\n\
         / # cd /sys/kernel/tracing\n\
         /sys/kernel/tracing # echo 2 >>trace\n\
         /sys/kernel/tracing # cat trace\n\
         1\n2\n\
         /sys/kernel/tracing # echo -n >trace\n\
         /sys/kernel/tracing # cat trace\n\
         /sys/kernel/tracing # >> trace\n\
         /sys/kernel/tracing # echo a b>trace c\n\
         /sys/kernel/tracing # cat trace\n\
         a b c\n\
         /sys/kernel/tracing # > trace\n\
         /sys/kernel/tracing # echo x 1>>../tracing/trace\n\
         /sys/kernel/tracing # cat /version > trace\n\
         /sys/kernel/tracing # exit\n"
    );
    let expected: Vec<(String, WriteMode)> = [
        ("1\n", WriteMode::Truncate),
        ("2\n", WriteMode::Append),
        ("", WriteMode::Truncate),
        ("", WriteMode::Append),
        ("a b c\n", WriteMode::Truncate),
        ("", WriteMode::Truncate),
        ("x\n", WriteMode::Append),
        ("Tiny 0.1\n", WriteMode::Truncate),
    ]
    .iter()
    .map(|&(data, mode)| (data.to_string(), mode))
    .collect();
    assert_eq!(fixture.trace.writes(), expected);
}

#[test]
fn redirections_create_files_where_files_can_be_created() {
    let fixture = fixture();
    check_at_root(
        &fixture,
        &[
            ("echo one > new", ""),
            ("echo two >> /new", ""),
            ("cat new", "one\ntwo\n"),
            ("echo three > new", ""),
            ("cat /new", "three\n"),
        ],
    );
}

#[test]
fn redirection_errors() {
    let fixture = fixture();
    check_at_root(
        &fixture,
        &[
            (
                "echo x > /sys/nope",
                "sh: can't create /sys/nope: Permission denied\n",
            ),
            (
                "echo x > sys/kernel/nope",
                "sh: can't create sys/kernel/nope: Permission denied\n",
            ),
            ("echo x >> /sys", "sh: can't create /sys: Is a directory\n"),
            (
                "echo x > /version/x",
                "sh: can't create /version/x: Not a directory\n",
            ),
            (
                "echo x > ''",
                "sh: can't create : No such file or directory\n",
            ),
            ("echo x > /version", "sh: write error: Invalid argument\n"),
            (
                "echo 2 > /sys/kernel/tracing/tracing_on",
                "sh: write error: Invalid argument\n",
            ),
            ("echo 1 > /sys/kernel/tracing/tracing_on", ""),
            ("> /version", "sh: write error: Invalid argument\n"),
        ],
    );
    assert!(fixture.trace.writes().is_empty());
}

#[test]
fn a_failing_command_still_opens_its_redirection() {
    let fixture = fixture();
    check_at_root(
        &fixture,
        &[
            (
                "nosuch > sys/kernel/tracing/trace",
                "sh: nosuch: not found\n",
            ),
            (
                "cat /nope >> sys/kernel/tracing/trace",
                "cat: can't open '/nope': No such file or directory\n",
            ),
        ],
    );
    assert_eq!(
        fixture.trace.writes(),
        [
            ("".to_string(), WriteMode::Truncate),
            ("".to_string(), WriteMode::Append)
        ]
    );
}

#[test]
fn several_redirections_open_in_order_and_the_last_gets_the_output() {
    let fixture = fixture();
    let trace = "/sys/kernel/tracing/trace";
    let tracing_on = "/sys/kernel/tracing/tracing_on";
    let lines = [
        format!("echo a > {trace} > {tracing_on}"),
        format!("echo b >> {trace} > {tracing_on}"),
        format!("echo c > /sys/nope > {trace}"),
        format!("echo d > {trace} > /sys/nope"),
        format!("echo 1 > {trace} >> {trace}"),
        format!("echo e > /version > {trace}"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs = [
        "sh: write error: Invalid argument\n",
        "sh: write error: Invalid argument\n",
        "sh: can't create /sys/nope: Permission denied\n",
        "sh: can't create /sys/nope: Permission denied\n",
        "",
        "sh: write error: Invalid argument\n",
    ];
    assert_eq!(
        session(&fixture, &input_lines(&lines)),
        transcript_at_root(&lines, &outputs)
    );
    let expected: Vec<(String, WriteMode)> = [
        ("", WriteMode::Truncate),
        ("", WriteMode::Truncate),
        ("", WriteMode::Truncate),
        ("1\n", WriteMode::Append),
    ]
    .iter()
    .map(|&(data, mode)| (data.to_string(), mode))
    .collect();
    assert_eq!(fixture.trace.writes(), expected);
}

#[test]
fn syntax_errors_run_nothing() {
    let fixture = fixture();
    check_at_root(
        &fixture,
        &[
            (
                "echo 'abc > /sys/kernel/tracing/trace",
                "sh: syntax error: unterminated quoted string\n",
            ),
            (
                "echo \"abc",
                "sh: syntax error: unterminated quoted string\n",
            ),
            ("echo >", "sh: syntax error: unexpected newline\n"),
            (
                "echo hi >> # no target",
                "sh: syntax error: unexpected newline\n",
            ),
            (
                "echo > > /sys/kernel/tracing/trace",
                "sh: syntax error: unexpected redirection\n",
            ),
            (
                "echo a | cat",
                "sh: syntax error: unsupported operator '|'\n",
            ),
            (
                "echo a; echo b",
                "sh: syntax error: unsupported operator ';'\n",
            ),
            (
                "echo a 2>/sys/kernel/tracing/trace",
                "sh: syntax error: can't redirect fd 2 (only stdout)\n",
            ),
        ],
    );
    assert!(fixture.trace.writes().is_empty());
}

#[test]
fn unknown_commands_are_not_found() {
    check_at_root(
        &fixture(),
        &[
            ("nosuch", "sh: nosuch: not found\n"),
            ("nosuch a b", "sh: nosuch: not found\n"),
            ("'' x", "sh: : not found\n"),
            ("ECHO x", "sh: ECHO: not found\n"),
            ("/version", "sh: /version: not found\n"),
        ],
    );
}

fn poweroff(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    match args {
        [] => 0,
        [status] => match status.parse() {
            Ok(status) => status,
            Err(_) => {
                let _ = writeln!(ctx.err(), "poweroff: invalid status '{status}'");
                1
            }
        },
        _ => ctx.usage(),
    }
}

/// Shows everything a command sees: its arguments, the working directory, the VFS, stderr.
fn inspect(ctx: &mut Context<'_>, args: &[&str]) -> i32 {
    let _ = writeln!(ctx.out, "args={args:?} cwd={}", ctx.cwd());
    let path = ctx.path("trace");
    let _ = writeln!(ctx.out, "path={path} kind={:?}", ctx.vfs().lookup(&path));
    ctx.error("to stderr");
    let _ = writeln!(ctx.out, "end");
    3
}

const POWEROFF: Command = Command {
    name: "poweroff",
    usage: "poweroff [STATUS]",
    help: "power off; QEMU exits with STATUS (default 0)",
    run: poweroff,
};

const INSPECT: Command = Command {
    name: "inspect",
    usage: "inspect [ARG...]",
    help: "show what a command sees",
    run: inspect,
};

#[test]
fn help_lists_builtins_and_registered_commands() {
    let fixture = fixture();
    fixture.commands.register(POWEROFF).unwrap();
    check_at_root(
        &fixture,
        &[(
            "help",
            "cat FILE...         print the contents of files\n\
             cd [DIR]            change the working directory (default /)\n\
             echo [-n] [ARG...]  print the arguments (-n: without the newline)\n\
             help                list the commands\n\
             ls [PATH...]        list directory entries\n\
             poweroff [STATUS]   power off; QEMU exits with STATUS (default 0)\n\
             pwd                 print the working directory\n",
        )],
    );
}

#[test]
fn registered_commands_get_arguments_context_and_stderr() {
    let fixture = fixture();
    fixture.commands.register(INSPECT).unwrap();
    fixture.commands.register(POWEROFF).unwrap();
    let input = input_lines(&[
        "cd /sys/kernel/tracing",
        "inspect a 'b c' \"\"",
        "inspect > trace",
        "poweroff 1 2",
        "poweroff x",
    ]);
    assert_eq!(
        session(&fixture, &input),
        "/ # cd /sys/kernel/tracing\n\
         /sys/kernel/tracing # inspect a 'b c' \"\"\n\
         args=[\"a\", \"b c\", \"\"] cwd=/sys/kernel/tracing\n\
         path=/sys/kernel/tracing/trace kind=Ok(File { mode: 420 })\n\
         to stderr\n\
         end\n\
         /sys/kernel/tracing # inspect > trace\n\
         to stderr\n\
         /sys/kernel/tracing # poweroff 1 2\n\
         usage: poweroff [STATUS]\n\
         /sys/kernel/tracing # poweroff x\n\
         poweroff: invalid status 'x'\n\
         /sys/kernel/tracing # exit\n"
    );
    assert_eq!(
        fixture.trace.writes(),
        [(
            "args=[] cwd=/sys/kernel/tracing\n\
             path=/sys/kernel/tracing/trace kind=Ok(File { mode: 420 })\n\
             end\n"
                .to_string(),
            WriteMode::Truncate
        )]
    );
}

#[test]
fn execute_returns_exit_statuses() {
    let fixture = fixture();
    fixture.commands.register(POWEROFF).unwrap();
    fixture.commands.register(INSPECT).unwrap();
    let mut shell = Shell::new(&fixture.vfs, &fixture.commands);
    let mut tty = ScriptedTty::new(b"");
    let cases = [
        ("", 0),
        ("pwd", 0),
        ("poweroff 42", 42),
        ("inspect", 3),
        ("poweroff 1 2", 2),
        ("cat", 2),
        ("cat /nope", 1),
        ("ls /nope", 1),
        ("cd /nope", 1),
        ("nosuch", 127),
        ("echo 'x", 2),
        ("echo x > /sys/nope", 1),
        ("echo x > /version", 1),
        ("inspect > /sys/kernel/tracing/trace", 3),
    ];
    for (line, status) in cases {
        assert_eq!(shell.execute(&mut tty, line), status, "{line}");
    }
    assert_eq!(shell.cwd(), "/");
    assert_eq!(shell.execute(&mut tty, "cd sys/kernel"), 0);
    assert_eq!(shell.cwd(), "/sys/kernel");
}

#[test]
fn registration_refuses_taken_and_untypeable_names() {
    let commands = CommandTable::new();
    commands.register(POWEROFF).unwrap();
    assert_eq!(commands.register(POWEROFF), Err(Errno::EEXIST));
    for name in ["cat", "cd", "echo", "help", "ls", "pwd"] {
        assert_eq!(
            commands.register(Command { name, ..POWEROFF }),
            Err(Errno::EEXIST),
            "{name}"
        );
    }
    for name in ["", "two words", "tab\there"] {
        assert_eq!(
            commands.register(Command { name, ..POWEROFF }),
            Err(Errno::EINVAL),
            "{name:?}"
        );
    }
}

#[test]
fn global_registry_feeds_the_global_shell() {
    fn hello(ctx: &mut Context<'_>, _: &[&str]) -> i32 {
        let _ = writeln!(ctx.out, "hello");
        0
    }
    let command = Command {
        name: "hello-global",
        usage: "hello-global",
        help: "say hello",
        run: hello,
    };
    register_command(command);
    assert_eq!(COMMANDS.register(command), Err(Errno::EEXIST));
    let mut tty = ScriptedTty::new(b"hello-global\n\x04");
    run(&mut tty);
    assert_eq!(tty.output(), "/ # hello-global\nhello\n/ # exit\n");
}

#[test]
#[should_panic(expected = "shell: cannot register command 'twice': File exists")]
fn registering_a_global_command_twice_is_a_bug() {
    let command = Command {
        name: "twice",
        ..POWEROFF
    };
    register_command(command);
    register_command(command);
}

#[test]
fn line_editing_reaches_the_transcript() {
    let fixture = fixture();
    // Ctrl-C abandons, Ctrl-U erases, backspace fixes a typo, arrows do nothing,
    // Ctrl-D on a non-empty line is ignored, CR LF is one Enter.
    let input = b"ech\x03abc\x15pwx\x7fd\x1b[A\x1b[D\r\ncd /sy\x04s\r\x04";
    assert_eq!(
        session_bytes(&fixture, input).output(),
        "/ # ech^C\n\
         / # abc\x08 \x08\x08 \x08\x08 \x08pwx\x08 \x08d\n\
         /\n\
         / # cd /sys\n\
         /sys # exit\n"
    );
}

#[test]
fn overlong_lines_are_refused() {
    let fixture = fixture();
    let mut input = vec![b'x'; LINE_MAX + 1];
    input.extend_from_slice(b"\n\x04");
    let expected = format!(
        "/ # {}\nsh: line too long (max 4095 bytes)\n/ # exit\n",
        "x".repeat(LINE_MAX)
    );
    assert_eq!(session_bytes(&fixture, &input).output(), expected);
}

#[test]
fn a_line_of_exactly_line_max_bytes_runs() {
    let argument = "y".repeat(LINE_MAX - "echo ".len());
    let line = format!("echo {argument}");
    assert_eq!(line.len(), LINE_MAX);
    check_at_root(&fixture(), &[(&line, &format!("{argument}\n"))]);
}

#[test]
fn invalid_utf8_lines_are_refused() {
    let tty = session_bytes(&fixture(), b"echo \xff\n\x04");
    assert_eq!(
        tty.output,
        b"/ # echo \xff\nsh: invalid UTF-8 in input\n/ # exit\n"
    );
}

#[test]
fn tty_output_streams_while_redirected_output_is_written_once() {
    let fixture = fixture();
    let streamed = session_bytes(&fixture, b"cat /big\n\x04");
    assert!(streamed.writes > BIG_LINES, "{} writes", streamed.writes);
    assert!(
        streamed
            .output()
            .starts_with("/ # cat /big\nline 0000\nline 0001\n")
    );
    assert!(streamed.output().ends_with("line 0999\n/ # exit\n"));

    let redirected = session_bytes(&fixture, b"cat /big > sys/kernel/tracing/trace\n\x04");
    assert_eq!(
        redirected.output(),
        "/ # cat /big > sys/kernel/tracing/trace\n/ # exit\n"
    );
    let writes = fixture.trace.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].0.len(), BIG_LINES * "line 0000\n".len());
    assert!(writes[0].0.ends_with("line 0999\n"));
}

#[test]
fn redirected_output_past_the_cap_is_refused_whole() {
    let fixture = fixture();
    check_at_root(
        &fixture,
        &[(
            "cat /huge > /sys/kernel/tracing/trace",
            "sh: write error: File too large\n",
        )],
    );
    assert!(fixture.trace.writes().is_empty());
}

#[test]
fn redirect_buffer_takes_exactly_the_cap() {
    let mut buffer = RedirectBuffer::default();
    let chunk = "z".repeat(REDIRECT_MAX / 4);
    for _ in 0..4 {
        buffer.write_str(&chunk).unwrap();
    }
    assert_eq!(buffer.error, None);
    assert_eq!(buffer.data.len(), REDIRECT_MAX);
    buffer.write_str("!").unwrap();
    assert_eq!(buffer.error, Some(Errno::EFBIG));
    assert!(buffer.data.is_empty());
    buffer.write_str("more").unwrap();
    assert!(buffer.data.is_empty());
}

#[test]
fn notices_from_background_jobs_come_before_the_next_prompt() {
    let fixture = fixture();
    fixture.commands.notify("[2] Done run early\n".to_string());
    let job = Command {
        name: "job",
        usage: "job",
        help: "queue a notice",
        run: |ctx, _| {
            let _ = writeln!(ctx.out, "started");
            ctx.commands.notify("[3] Done run job\n".to_string());
            0
        },
    };
    fixture.commands.register(job).unwrap();
    assert_eq!(
        session(&fixture, "job\necho x\n\x04"),
        "[2] Done run early\n/ # job\nstarted\n[3] Done run job\n/ # echo x\nx\n/ # exit\n"
    );
}

/// A tty on which every command is interrupted by Ctrl-C, as if typed while it ran.
struct InterruptingTty(ScriptedTty);

impl Tty for InterruptingTty {
    fn read_byte(&mut self) -> u8 {
        self.0.read_byte()
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        self.0.write_bytes(bytes);
    }

    fn end_command(&mut self) -> bool {
        true
    }
}

#[test]
fn a_command_interrupted_by_ctrl_c_ends_with_caret_c_and_status_130() {
    let f = fixture();
    let vfs = &f.vfs;
    vfs.register_file(
        "/pipe",
        read_only(|out| {
            out.write_str("event\n")?;
            Err(Errno::EINTR)
        }),
    )
    .unwrap();
    let mut shell = Shell::new(vfs, &f.commands);
    let mut tty = InterruptingTty(ScriptedTty::new(b""));
    assert_eq!(shell.execute(&mut tty, "cat /pipe"), STATUS_SIGINT);
    // cat dies of the signal without a read error; the ^C echo follows its output.
    assert_eq!(tty.0.output(), "event\n^C\n");
}

#[test]
fn dollar_question_shows_the_last_status() {
    check_at_root(
        &fixture(),
        &[
            ("echo $?", "0\n"),
            ("nosuch", "sh: nosuch: not found\n"),
            ("echo $? \"$?\" '$?'", "127 127 $?\n"),
            ("echo $?", "0\n"),
        ],
    );
}

#[test]
fn a_path_runs_through_the_exec_hook_with_argv() {
    fn exec(ctx: &mut Context<'_>, path: &str, argv: &[&str]) -> i32 {
        let _ = writeln!(ctx.out, "exec {path} {argv:?}");
        139
    }
    let fixture = fixture();
    fixture.commands.set_exec(exec);
    check_at_root(
        &fixture,
        &[
            ("/bin/x a b", "exec /bin/x [\"/bin/x\", \"a\", \"b\"]\n"),
            ("echo $?", "139\n"),
            ("./y", "exec /./y [\"./y\"]\n"),
            // A word without a slash is a command name, as in sh.
            ("nosuch", "sh: nosuch: not found\n"),
        ],
    );
}

#[test]
fn a_bare_word_runs_a_program_found_in_path_after_the_builtins() {
    fn exec(ctx: &mut Context<'_>, path: &str, argv: &[&str]) -> i32 {
        let _ = writeln!(ctx.out, "exec {path} {argv:?}");
        0
    }
    let fixture = fixture();
    fixture.commands.set_exec(exec);
    fixture.vfs.mkdir_p("/bin/sub").unwrap();
    let vfs = &fixture.vfs;
    let (bin, _) = vfs.walk_parent(vfs.root(), "/bin/fib").unwrap();
    vfs.create_regular(&bin, "fib", 0o755).unwrap();
    vfs.create_regular(&bin, "echo", 0o755).unwrap();
    check_at_root(
        &fixture,
        &[
            ("fib 20", "exec /bin/fib [\"fib\", \"20\"]\n"),
            // Builtins come first, as in busybox sh.
            ("echo hi", "hi\n"),
            // A directory in PATH is not a program.
            ("sub", "sh: sub: not found\n"),
            ("nosuch", "sh: nosuch: not found\n"),
        ],
    );
}
