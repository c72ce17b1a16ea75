//! The tracefs `README` (Linux: `readme_msg` in `kernel/trace/trace.c`), put together each time
//! it is read from what this kernel has, so it cannot go stale:
//!
//! 1. Linux's text, verbatim and in Linux's order, for each file we have ([`LINUX`]): Linux's
//!    ftracetest scripts grep these lines to decide what a kernel supports. A line about a file
//!    or feature we lack is left out. The clock list comes from the `trace_clock` table and the
//!    function-probe commands from the probe parser's.
//! 2. Our own lines for the files Linux's text does not describe ([`OURS`]).
//! 3. The shell's commands, from its command table, as `help` lists them.
//!
//! An entry shows only while its file exists. An in-kernel test (`ktests::readme`) walks the
//! whole tree and fails on a file no entry describes, or a shell command the text lacks.

use core::fmt::{self, Write};

use super::ftrace_regex::ProbeCommand;
use super::trace_clock::TRACE_CLOCKS;
use super::trace_events_trigger::TRIGGER_COMMANDS;
use crate::shell::{self, Command};

/// One part of the README.
pub struct Entry {
    /// The file this part describes, relative to tracefs or absolute; with a trailing `/`, a
    /// directory and everything under it. The part shows only while that exists.
    pub file: &'static str,
    /// Its text, whole lines.
    pub text: &'static str,
    /// Lines generated from the feature's own table, written after `text`.
    pub more: Option<fn(&mut dyn Write) -> fmt::Result>,
}

const fn entry(file: &'static str, text: &'static str) -> Entry {
    Entry {
        file,
        text,
        more: None,
    }
}

/// The start, shown always (Linux's, without its paragraph on mount options: we mount nothing).
const HEADER: &str = "tracing mini-HOWTO:\n\n";

/// Linux 6.12's `readme_msg`, in its order, keeping the lines about what we have.
pub const LINUX: &[Entry] = &[
    entry(
        "tracing_on",
        "# echo 0 > tracing_on : quick way to disable tracing\n\
         # echo 1 > tracing_on : quick way to re-enable tracing\n\n \
         Important files:\n",
    ),
    entry(
        "trace",
        "  trace\t\t\t- The static contents of the buffer\n\
         \t\t\t  To clear the buffer write into this file: echo > trace\n",
    ),
    entry(
        "trace_pipe",
        "  trace_pipe\t\t- A consuming read to see the contents of the buffer\n",
    ),
    entry(
        "current_tracer",
        "  current_tracer\t- function and latency tracers\n",
    ),
    entry(
        "available_tracers",
        "  available_tracers\t- list of configured tracers for current_tracer\n",
    ),
    entry(
        "error_log",
        "  error_log\t- error log for failed commands (that support it)\n",
    ),
    entry(
        "buffer_size_kb",
        "  buffer_size_kb\t- view and modify size of per cpu buffer\n",
    ),
    Entry {
        file: "trace_clock",
        text: "\n  trace_clock\t\t- change the clock used to order events\n",
        more: Some(write_clocks),
    },
    entry(
        "trace_marker",
        "\n  trace_marker\t\t- Writes into this file writes into the kernel buffer\n",
    ),
    entry(
        "trace_options",
        "  trace_options\t\t- Set format or modify how tracing happens\n\
         \t\t\t  Disable an option by prefixing 'no' to the\n\
         \t\t\t  option name\n",
    ),
    entry(
        "saved_cmdlines_size",
        "  saved_cmdlines_size\t- echo command number in here to store comm-pid list\n",
    ),
    entry(
        "available_filter_functions",
        "\n  available_filter_functions - list of functions that can be filtered on\n",
    ),
    Entry {
        file: "set_ftrace_filter",
        text: "  set_ftrace_filter\t- echo function name in here to only trace these\n\
               \t\t\t  functions\n\
               \t     accepts: func_full_name or glob-matching-pattern\n\
               \t    triggers: a command to perform when function is hit\n\
               \t      Format: <function>:<trigger>[:count]\n\
               \t     trigger: traceon, traceoff\n",
        more: Some(write_other_probe_commands),
    },
    entry(
        "set_ftrace_filter",
        "\t     example: echo do_fault:traceoff > set_ftrace_filter\n\
         \t              echo do_trap:traceoff:3 > set_ftrace_filter\n\
         \t     The first one will disable tracing every time do_fault is hit\n\
         \t     The second will disable tracing at most 3 times when do_trap is hit\n\
         \t       The first time do trap is hit and it disables tracing, the\n\
         \t       counter will decrement to 2. If tracing is already disabled,\n\
         \t       the counter will not decrement. It only decrements when the\n\
         \t       trigger did work\n\
         \t     To remove trigger without count:\n\
         \t       echo '!<function>:<trigger> > set_ftrace_filter\n\
         \t     To remove trigger with a count:\n\
         \t       echo '!<function>:<trigger>:0 > set_ftrace_filter\n",
    ),
    entry(
        "set_ftrace_notrace",
        "  set_ftrace_notrace\t- echo function name in here to never trace.\n\
         \t    accepts: func_full_name, *func_end, func_begin*, *func_middle*\n\
         \t    Does not accept triggers\n",
    ),
    entry(
        "set_graph_function",
        "  set_graph_function\t- Trace the nested calls of a function (function_graph)\n",
    ),
    entry(
        "set_graph_notrace",
        "  set_graph_notrace\t- Do not trace the nested calls of a function (function_graph)\n",
    ),
    entry(
        "dynamic_events",
        "  dynamic_events\t\t- Create/append/remove/show the generic dynamic events\n\
         \t\t\t  Write into this file to define/undefine new trace events.\n",
    ),
    // With Linux's definition syntax, without uprobes, tracepoint probes, eprobes, synthetic
    // events, BTF names and the `%pd`/`%pD` types we lack.
    entry(
        "kprobe_events",
        concat!(
            "  kprobe_events\t\t- Create/append/remove/show the kernel dynamic events\n",
            "\t\t\t  Write into this file to define/undefine new trace events.\n",
            "\t  accepts: event-definitions (one definition per line)\n",
            "\t   Format: p[:[<group>/][<event>]] <place> [<args>]\n",
            "\t           r[maxactive][:[<group>/][<event>]] <place> [<args>]\n",
            "\t           f[:[<group>/][<event>]] <func-name>[%return] [<args>]\n",
            "\t           -:[<group>/][<event>]\n",
            "\t    place: [<module>:]<symbol>[+<offset>]|<memaddr>\n",
            "place (kretprobe): [<module>:]<symbol>[+<offset>]%return|<memaddr>\n",
            "\t     args: <name>=fetcharg[:type]\n",
            "\t fetcharg: (%<register>|$<efield>), @<address>, @<symbol>[+|-<offset>],\n",
            "\t           $stack<index>, $stack, $retval, $comm, $arg<N>,\n",
            "\t           +|-[u]<offset>(<fetcharg>), \\imm-value, \\\"imm-string\"\n",
            "\t     kernel return probes support: $retval, $arg<N>, $comm\n",
            "\t     type: s8/16/32/64, u8/16/32/64, x8/16/32/64, char, string, symbol,\n",
            "\t           b<bit-width>@<bit-offset>/<container-size>, ustring,\n",
            "\t           symstr, <type>\\[<array-size>\\]\n",
        ),
    ),
    Entry {
        file: "events/",
        text: concat!(
            "  events/\t\t- Directory containing all trace event subsystems:\n",
            "      enable\t\t- Write 0/1 to enable/disable tracing of all events\n",
            "  events/<system>/\t- Directory containing all trace events for <system>:\n",
            "      enable\t\t- Write 0/1 to enable/disable tracing of all <system>\n",
            "\t\t\t  events\n",
            "      filter\t\t- If set, only events passing filter are traced\n",
            "  events/<system>/<event>/\t- Directory containing control files for\n",
            "\t\t\t  <event>:\n",
            "      enable\t\t- Write 0/1 to enable/disable tracing of <event>\n",
            "      filter\t\t- If set, only events passing filter are traced\n",
            "      trigger\t\t- If set, a command to perform when event is hit\n",
            "\t    Format: <trigger>[:count][if <filter>]\n",
        ),
        more: Some(write_event_trigger_commands),
    },
    entry(
        "events/",
        concat!(
            "\t   example: echo traceoff > events/block/block_unplug/trigger\n",
            "\t            echo traceoff:3 > events/block/block_unplug/trigger\n",
            "\t            echo 'enable_event:kmem:kmalloc:3 if nr_rq > 1' > \\\n",
            "\t                  events/block/block_unplug/trigger\n",
            "\t   The first disables tracing every time block_unplug is hit.\n",
            "\t   The second disables tracing the first 3 times block_unplug is hit.\n",
            "\t   The third enables the kmalloc event the first 3 times block_unplug\n",
            "\t     is hit and has value of greater than 1 for the 'nr_rq' event field.\n",
            "\t   Like function triggers, the counter is only decremented if it\n",
            "\t    enabled or disabled tracing.\n",
            "\t   To remove a trigger without a count:\n",
            "\t     echo '!<trigger> > <system>/<event>/trigger\n",
            "\t   To remove a trigger with a count:\n",
            "\t     echo '!<trigger>:0 > <system>/<event>/trigger\n",
            "\t   Filters can be ignored when removing a trigger.\n",
        ),
    ),
];

/// Linux's lines of the event trigger list, in its order, each with the command it names
/// (`traceon, traceoff` share one line).
const EVENT_TRIGGER_LINES: [(&str, &str); 4] = [
    ("traceon", "\t   trigger: traceon, traceoff\n"),
    (
        "enable_event",
        "\t            enable_event:<system>:<event>\n",
    ),
    (
        "disable_event",
        "\t            disable_event:<system>:<event>\n",
    ),
    ("stacktrace", "\t\t    stacktrace\n"),
];

/// Our lines for the files Linux's README does not describe, tracefs's then the others.
pub const OURS: &[Entry] = &[
    entry("README", "\n More files:\n  README\t\t- this text\n"),
    entry(
        "per_cpu/",
        "  per_cpu/cpuN/\t\t- one CPU's trace, trace_pipe, buffer_size_kb (resizes that CPU)\n\
         \t\t\t  and stats (entries, overrun, bytes, timestamps, dropped and read)\n",
    ),
    entry(
        "options/",
        "  options/\t\t- one file per option of trace_options: 0 or 1\n",
    ),
    entry(
        "enabled_functions",
        "  enabled_functions\t- the functions some ftrace_ops is attached to: name (ops count),\n\
         \t\t\t  R (regs), I (ip modify), O (calls its only ops directly:\n\
         \t\t\t  ops: OPS (CALLBACK)), M (modified by an ip modify ops)\n",
    ),
    entry(
        "saved_cmdlines",
        "  saved_cmdlines\t\t- pid and comm of the tasks seen switching while tracing,\n\
         \t\t\t  which trace prints for tasks that have exited\n",
    ),
    entry(
        "set_event_pid",
        "  set_event_pid\t\t- echo pid(s) in here to record events only for those tasks\n\
         \t\t\t  (options/event-fork: and for the tasks they create)\n",
    ),
    entry(
        "set_event_notrace_pid",
        "  set_event_notrace_pid\t- echo pid(s) in here to never record events for those tasks\n\
         \t\t\t  (options/event-fork: nor for the tasks they create)\n",
    ),
    entry(
        "available_events",
        "  available_events\t- the events set_event and the enable files switch,\n\
         \t\t\t  one <system>:<event> a line\n",
    ),
    entry(
        "set_event",
        "  set_event\t\t- the events now attached, <system>:<event> (those only a\n\
         \t\t\t  trigger holds, whose enable reads 0* or 1*, included).\n\
         \t\t\t  Write <system>:<event>, <system>:*, *:<event>, *:*, or a\n\
         \t\t\t  bare system or event name to enable; prefix '!' to disable.\n\
         \t\t\t  '>' disables every event first, '>>' adds\n",
    ),
    entry(
        "events/header_page",
        "  events/header_page\t- the header of a ring-buffer page, as binary readers\n\
         \t\t\t  (libtraceevent) see it\n",
    ),
    entry(
        "events/header_event",
        "  events/header_event\t- the compressed header of each entry in those pages\n",
    ),
    entry(
        "events/ftrace/",
        concat!(
            "  events/<system>/<event>/id\t- the event's type (common_type of its entries)\n",
            "  events/<system>/<event>/format - its entry: fields with offset, size and\n",
            "\t\t\t  signedness, and its print fmt\n",
            "  events/ftrace/\t- the tracer's own entries (function, print, ...):\n",
            "\t\t\t  format and id only, they are not switched\n",
        ),
    ),
    entry(
        "kprobe_profile",
        "  kprobe_profile\t\t- each kprobe event's probe: event, hits, misses\n",
    ),
    entry(
        "/proc/kallsyms",
        "\n Other files:\n  /proc/kallsyms\t\t- the kernel's symbol table: address, type, name\n",
    ),
    entry(
        "/proc/cmdline",
        "  /proc/cmdline\t\t- the kernel command line (QEMU's -append)\n",
    ),
    entry(
        "/proc/interrupts",
        "  /proc/interrupts\t- interrupt counts per CPU (timer, UART, IPIs)\n",
    ),
    entry(
        "/proc/sys/kernel/ftrace_enabled",
        "  /proc/sys/kernel/ftrace_enabled\n\
         \t\t\t- 1: ftrace sites may be enabled; echo 0 turns every site off\n\
         \t\t\t  (EBUSY while a PERMANENT ops, such as the live patch, is registered)\n",
    ),
    entry(
        "/proc/sys/kernel/threads-max",
        "  /proc/sys/kernel/threads-max\n\
         \t\t\t- the most tasks that may exist; creating one more fails\n\
         \t\t\t  with EAGAIN (run -b: sh: can't fork: ...)\n",
    ),
    entry(
        "/proc/",
        "  /proc/<pid>/{status,stat,maps,cmdline,comm,exe}, /proc/self\n\
         \t\t\t- every process and kernel task, in Linux's formats;\n\
         \t\t\t  /proc/{mounts,meminfo,cpuinfo}: filesystems, memory, CPUs;\n\
         \t\t\t  /proc/{uptime,loadavg,stat}: CPU time and load\n",
    ),
    entry("/etc/", "  /etc/{passwd,group}\t- root, the only user\n"),
    entry(
        "/sys/kernel/livepatch/livepatch_sample/",
        "  /sys/kernel/livepatch/livepatch_sample/enabled\n\
         \t\t\t- 1 while the sample live patch replaces cmdline_proc_show\n",
    ),
    entry(
        "/bin/",
        "  /bin/<program>\t\t- the initramfs's EL0 programs (hello, fib N, getppid N,\n\
         \t\t\t  crash null|undef|brk, badcall, forkwait N, forkbomb, fstest): type the path\n",
    ),
    entry(
        "/dev/",
        "  /dev/console, /dev/tty\t- the console for EL0 programs (line editing, echo, ^C, ^D)\n\
         \t\t\t  /dev/null, /dev/zero: as on Linux\n",
    ),
    entry(
        "/tmp/",
        "  /tmp/, /\t\t- tmpfs: programs and > create, write, rename and remove files here\n",
    ),
    entry(
        "/sys/kernel/debug/provoke-crash/",
        "  /sys/kernel/debug/provoke-crash/DIRECT\n\
         \t\t\t- write BUG, EXCEPTION, WRITE_KERN or PANIC to crash the kernel\n",
    ),
    entry(
        "/sys/kernel/debug/kprobes/list",
        "  /sys/kernel/debug/kprobes/list\n\
         \t\t\t- registered kprobes: address, k or r, SYM+off, [DISABLED] [FTRACE]\n",
    ),
    entry(
        "/sys/kernel/debug/kprobes/blacklist",
        "  /sys/kernel/debug/kprobes/blacklist\n\
         \t\t\t- functions no kprobe may be placed in: 0xSTART-0xEND SYM\n",
    ),
    entry(
        "/sys/kernel/debug/kprobes/enabled",
        "  /sys/kernel/debug/kprobes/enabled\n\
         \t\t\t- 1 while kprobes are armed; echo 0 disarms all, echo 1 arms them\n",
    ),
];

/// The heading of the shell's part.
const SHELL_HEADING: &str = "\n Shell commands (help lists them too):\n";

/// Linux's clock lines, one per clock `trace_clock` offers.
fn write_clocks(w: &mut dyn Write) -> fmt::Result {
    for clock in &TRACE_CLOCKS {
        writeln!(w, "{:>12}:   {}", clock.name, clock.readme)?;
    }
    Ok(())
}

/// Linux's line for each probe command after the two its `trigger:` line names.
fn write_other_probe_commands(w: &mut dyn Write) -> fmt::Result {
    let listed = [ProbeCommand::Traceon, ProbeCommand::Traceoff];
    for command in ProbeCommand::ALL.iter().filter(|c| !listed.contains(c)) {
        writeln!(w, "\t\t      {}", command.name())?;
    }
    Ok(())
}

/// Linux's event trigger lines for the commands the trigger parser takes.
fn write_event_trigger_commands(w: &mut dyn Write) -> fmt::Result {
    EVENT_TRIGGER_LINES
        .iter()
        .filter(|(command, _)| TRIGGER_COMMANDS.contains(command))
        .try_for_each(|(_, line)| w.write_str(line))
}

/// The README for a kernel in which `exists(file)` says which [`Entry::file`]s exist, and whose
/// shell has `commands`.
pub fn write_readme(
    w: &mut dyn Write,
    exists: &dyn Fn(&str) -> bool,
    commands: &[Command],
) -> fmt::Result {
    w.write_str(HEADER)?;
    for entry in LINUX.iter().chain(OURS).filter(|e| exists(e.file)) {
        w.write_str(entry.text)?;
        if let Some(more) = entry.more {
            more(w)?;
        }
    }
    w.write_str(SHELL_HEADING)?;
    shell::write_command_list(w, commands, "  ")
}

/// The entry describing `path` (absolute, `tracefs` the tracing directory), if any.
pub fn entry_for(path: &str, tracefs: &str) -> Option<&'static Entry> {
    LINUX.iter().chain(OURS).find(|entry| {
        let file = absolute(entry.file, tracefs);
        match file.strip_suffix('/') {
            Some(dir) => path
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/')),
            None => path == file,
        }
    })
}

/// An [`Entry::file`] as an absolute path.
pub fn absolute(file: &str, tracefs: &str) -> alloc::string::String {
    if file.starts_with('/') {
        file.into()
    } else {
        alloc::format!("{tracefs}/{file}")
    }
}

#[cfg(target_os = "none")]
mod file {
    use core::fmt::Write;

    use super::{absolute, write_readme};
    use crate::fs::{self, Errno};
    use crate::tracefs::{TRACEFS, create_file};

    fn exists(file: &str) -> bool {
        let path = absolute(file, TRACEFS);
        fs::lookup(path.trim_end_matches('/')).is_ok()
    }

    fn read_readme(w: &mut dyn Write) -> Result<(), Errno> {
        Ok(write_readme(w, &exists, &crate::shell::commands())?)
    }

    /// Creates `README` under `tracefs`.
    pub fn init(tracefs: &str) {
        create_file(
            &alloc::format!("{tracefs}/README"),
            fs::read_only(read_readme),
        );
    }
}

#[cfg(target_os = "none")]
pub use file::init;

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    const TRACEFS: &str = "/sys/kernel/tracing";

    fn run(_: &mut shell::Context<'_>, _: &[&str]) -> i32 {
        0
    }

    fn command(name: &'static str, usage: &'static str, help: &'static str) -> Command {
        Command {
            name,
            usage,
            help,
            run,
        }
    }

    fn readme(exists: &dyn Fn(&str) -> bool) -> String {
        let commands = [
            command("cat", "cat FILE...", "print the contents of files"),
            command("ps", "ps", "list tasks"),
        ];
        let mut out = String::new();
        write_readme(&mut out, exists, &commands).unwrap();
        out
    }

    #[test]
    fn everything_present_shows_every_entry_in_order_then_the_commands() {
        let text = readme(&|_| true);
        assert!(text.starts_with("tracing mini-HOWTO:\n\n# echo 0 > tracing_on"));
        let mut at = 0;
        for entry in LINUX.iter().chain(OURS) {
            let found = text[at..].find(entry.text).map(|i| at + i);
            assert!(found.is_some(), "{} missing or out of order", entry.file);
            at = found.unwrap() + entry.text.len();
        }
        assert!(text.ends_with(
            "\n Shell commands (help lists them too):\n  \
             cat FILE...  print the contents of files\n  \
             ps           list tasks\n"
        ));
    }

    #[test]
    fn linux_lines_stay_verbatim() {
        // Lines Linux's ftracetest greps (test.d/functions `check_requires`), and the clock list.
        let text = readme(&|_| true);
        for line in [
            " Important files:",
            "  trace_clock\t\t- change the clock used to order events",
            "       local:   Per cpu clock but may not be synced across CPUs",
            "      global:   Synced across CPUs but slows tracing down.",
            "     counter:   Not a clock, but just an increment",
            "      uptime:   Jiffy counter from time of boot",
            "  set_ftrace_filter\t- echo function name in here to only trace these",
            "\t      Format: <function>:<trigger>[:count]",
            "\t     trigger: traceon, traceoff",
            "\t\t      stacktrace",
            "\t    accepts: func_full_name, *func_end, func_begin*, *func_middle*",
            "  set_graph_notrace\t- Do not trace the nested calls of a function (function_graph)",
            "  events/\t\t- Directory containing all trace event subsystems:",
            "      filter\t\t- If set, only events passing filter are traced",
            "\t    Format: <trigger>[:count][if <filter>]",
            "\t   trigger: traceon, traceoff",
            "\t            enable_event:<system>:<event>",
            "\t            disable_event:<system>:<event>",
            "\t\t    stacktrace",
            "\t            echo 'enable_event:kmem:kmalloc:3 if nr_rq > 1' > \\",
            "\t   Filters can be ignored when removing a trigger.",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?}");
        }
        // What we lack stays out: modules, histograms, snapshots, the perf clock, and the
        // function probes enable_event and disable_event.
        for absent in [
            ":mod:",
            "hist",
            "snapshot",
            "perf:",
            "uprobe_events",
            "<argname>",
            "\t\t      enable_event:<system>:<event>",
        ] {
            assert!(!text.contains(absent), "{absent}");
        }
    }

    #[test]
    fn every_clock_and_probe_command_is_listed() {
        let text = readme(&|_| true);
        for clock in &TRACE_CLOCKS {
            assert!(text.contains(&std::format!("{}:   {}\n", clock.name, clock.readme)));
        }
        for command in ProbeCommand::ALL {
            assert!(text.contains(command.name()), "{}", command.name());
        }
    }

    #[test]
    fn every_trigger_command_is_listed_under_events() {
        let text = readme(&|_| true);
        let events = &text[text.find("  events/\t\t").unwrap()..];
        for command in TRIGGER_COMMANDS {
            let listed = events
                .lines()
                .skip_while(|l| !l.starts_with("\t   trigger:"))
                .take_while(|l| !l.starts_with("\t   example:"))
                .any(|l| l.contains(command));
            assert!(listed, "{command}");
        }
    }

    #[test]
    fn an_entry_shows_only_while_its_file_exists() {
        let text = readme(&|file| file != "trace_clock" && !file.starts_with("/proc/"));
        assert!(!text.contains("trace_clock"));
        assert!(!text.contains("uptime"));
        assert!(!text.contains("/proc/kallsyms"));
        assert!(text.contains("trace_marker"));
        let bare = readme(&|_| false);
        assert!(bare.starts_with("tracing mini-HOWTO:\n\n\n Shell commands"));
    }

    #[test]
    fn entries_cover_files_and_directories() {
        let covered = |path| entry_for(path, TRACEFS).map(|e| e.file);
        assert_eq!(covered("/sys/kernel/tracing/trace"), Some("trace"));
        assert_eq!(
            covered("/sys/kernel/tracing/per_cpu/cpu3/stats"),
            Some("per_cpu/")
        );
        assert_eq!(
            covered("/sys/kernel/tracing/options/funcgraph-irqs"),
            Some("options/")
        );
        assert_eq!(covered("/proc/interrupts"), Some("/proc/interrupts"));
        assert_eq!(
            covered("/sys/kernel/tracing/trace_pipe"),
            Some("trace_pipe")
        );
        assert_eq!(
            covered("/sys/kernel/tracing/per_cpu"),
            None,
            "the directory itself"
        );
        assert_eq!(covered("/sys/kernel/tracing/optionsx/a"), None);
        assert_eq!(covered("/sys/kernel/tracing/uprobe_events"), None);
        assert_eq!(covered("/trace"), None);
    }

    #[test]
    fn every_entry_names_a_distinct_place() {
        let files: Vec<String> = LINUX
            .iter()
            .chain(OURS)
            .map(|e| absolute(e.file, TRACEFS))
            .collect();
        for (i, file) in files.iter().enumerate() {
            // set_ftrace_filter's and events/'s texts are two entries around the generated
            // command lists.
            let split = file.ends_with("set_ftrace_filter") || file.ends_with("/events/");
            let twice = files[..i].contains(file) && !split;
            assert!(!twice, "{file} has two entries");
        }
    }
}
