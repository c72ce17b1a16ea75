//! Host tests of the probe-event commands: Linux's ftracetest `kprobe_syntax_errors.tc` and
//! `fprobe_syntax_errors.tc` (Linux 6.12, `vfs_read` become `kernel::workload::fib`), the
//! default names, the listings, multi-probe events and removal.

use super::*;
use crate::trace::trace_probe::{KsymLookup, LoggedError, TP_ERR_TEXT};
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

pub(crate) const FIB: u64 = 0xffff_8000_8010_0000;
pub(crate) const PARSE_FIB: u64 = 0xffff_8000_8010_0100;
pub(crate) const COUNTER: u64 = 0xffff_8000_8200_0000;

/// A symbol table: the workload functions, one data object, one duplicated name.
pub(crate) struct Syms;

pub(crate) const TABLE: [(&str, u64, u64); 4] = [
    ("kernel::workload::fib", FIB, 0x38),
    ("kernel::workload::parse_fib", PARSE_FIB, 0x80),
    ("kernel::workload::COUNTER", COUNTER, 8),
    ("dup::twice", 0xffff_8000_8010_0200, 0x10),
];

impl KsymLookup for Syms {
    fn lookup_name(&self, name: &str) -> Option<u64> {
        TABLE.iter().find(|s| s.0 == name).map(|s| s.1)
    }

    fn count(&self, name: &str) -> usize {
        match name {
            "dup::twice" => 2,
            _ => TABLE.iter().filter(|s| s.0 == name).count(),
        }
    }
}

/// The rest of the kernel, faked: busy events, taken names, what got armed.
#[derive(Default)]
struct Hooks {
    busy: Vec<(String, String)>,
    taken: Vec<(String, String)>,
    armed: Vec<String>,
    fail: Option<Errno>,
}

impl DynEventHooks for Hooks {
    fn event_exists(&self, group: &str, event: &str) -> bool {
        self.taken.iter().any(|(g, e)| g == group && e == event)
    }

    fn is_busy(&self, ev: &DynEvent) -> bool {
        self.busy
            .iter()
            .any(|(g, e)| g == ev.group() && e == ev.event())
    }

    fn register(&mut self, ev: &Arc<DynEvent>, new_event: bool) -> Result<(), Errno> {
        if let Some(e) = self.fail {
            return Err(e);
        }
        // Linux 6.12's `register_fprobe()`: no function matches its filter.
        if let DynEvent::Fprobe(f) = &**ev
            && Syms.lookup_name(&f.symbol).is_none()
        {
            return Err(Errno::EINVAL);
        }
        self.armed.push(alloc::format!(
            "{}/{} new={new_event}",
            ev.group(),
            ev.event()
        ));
        Ok(())
    }

    fn unregister(&mut self, ev: &DynEvent, last: bool) {
        self.armed
            .push(alloc::format!("-{}/{} last={last}", ev.group(), ev.event()));
    }

    fn lookup_name(&self, name: &str) -> Option<u64> {
        Syms.lookup_name(name)
    }
}

struct World {
    list: DynEventList,
    hooks: Hooks,
}

impl World {
    fn new() -> Self {
        Self {
            list: DynEventList::new(),
            hooks: Hooks::default(),
        }
    }

    fn run(&mut self, file: DynEventFile, cmd: &str) -> Result<(), ProbeError> {
        self.list.run_command(cmd, file, &Syms, &mut self.hooks)
    }

    fn kprobe(&mut self, cmd: &str) -> Result<(), ProbeError> {
        self.run(DynEventFile::KprobeEvents, cmd)
    }

    fn dynamic(&mut self, cmd: &str) -> Result<(), ProbeError> {
        self.run(DynEventFile::DynamicEvents, cmd)
    }

    /// `echo CMD > FILE`: the file emptied of its kind first.
    fn replace(&mut self, file: DynEventFile, cmd: &str) {
        self.list.release_all(file.kind(), &mut self.hooks).unwrap();
        self.run(file, cmd).unwrap();
    }

    fn listing(&self, kind: Option<DynEventKind>) -> String {
        let mut s = String::new();
        self.list.show(kind, &mut s).unwrap();
        s
    }
}

/// ftracetest's `ftrace_errlog_check`: the command with a `^` where the caret must stand fails,
/// and the last `error_log` entry has its caret there, with `want`'s text.
fn check_error(file: DynEventFile, marked: &str, want: TpErr) {
    let pos = marked.find('^').unwrap();
    let cmd = marked.replacen('^', "", 1);
    let mut w = World::new();
    let err = w.run(file, &cmd).expect_err(&cmd);
    let last = err
        .last()
        .unwrap_or_else(|| panic!("{cmd}: nothing logged ({:?})", err.errno));
    assert_eq!(
        (last.err, last.pos),
        (want, pos),
        "{cmd}: logged {:?}",
        err.logged
    );
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(last.command, words.join(" "));
    assert_eq!(
        last.subsystem,
        match file {
            DynEventFile::KprobeEvents => "trace_kprobe",
            DynEventFile::DynamicEvents if cmd.starts_with('f') => "trace_fprobe",
            DynEventFile::DynamicEvents => "trace_kprobe",
        }
    );
}

fn kerr(marked: &str, want: TpErr) {
    check_error(DynEventFile::KprobeEvents, marked, want);
}

fn ferr(marked: &str, want: TpErr) {
    check_error(DynEventFile::DynamicEvents, marked, want);
}

const LONG65: &str = "12345678901234567890123456789012345678901234567890123456789012345";

#[test]
fn kprobe_syntax_errors_as_ftracetest() {
    kerr("p^100 kernel::workload::fib", TpErr::BAD_MAXACT_TYPE);
    kerr("r^1a111 kernel::workload::fib", TpErr::BAD_MAXACT);
    kerr("r^100000 kernel::workload::fib", TpErr::MAXACT_TOO_BIG);
    kerr("r^0 kernel::workload::fib", TpErr::BAD_MAXACT);

    kerr("p ^non_exist_func", TpErr::BAD_PROBE_ADDR);
    kerr("p ^hoge-fuga", TpErr::BAD_PROBE_ADDR);
    kerr("p ^hoge+1000-1000", TpErr::BAD_PROBE_ADDR);
    kerr("r ^kernel::workload::fib+10", TpErr::BAD_RETPROBE);
    kerr("p:^/bar kernel::workload::fib", TpErr::NO_GROUP_NAME);
    kerr(
        &alloc::format!("p:^{LONG65}/bar kernel::workload::fib"),
        TpErr::GROUP_TOO_LONG,
    );
    kerr("p:^foo.1/bar kernel::workload::fib", TpErr::BAD_GROUP_NAME);
    kerr("p:^ kernel::workload::fib", TpErr::NO_EVENT_NAME);
    kerr(
        &alloc::format!("p:foo/^{LONG65} kernel::workload::fib"),
        TpErr::EVENT_TOO_LONG,
    );
    kerr("p:foo/^bar.1 kernel::workload::fib", TpErr::BAD_EVENT_NAME);

    kerr("p kernel::workload::fib ^$retval", TpErr::RETVAL_ON_PROBE);
    kerr("p kernel::workload::fib ^$stack10000", TpErr::BAD_STACK_NUM);
    kerr("p kernel::workload::fib ^$arg10000", TpErr::BAD_ARG_NUM);
    kerr("p kernel::workload::fib ^$none_var", TpErr::BAD_VAR);
    kerr("p kernel::workload::fib ^%none_reg", TpErr::BAD_REG_NAME);
    kerr(
        "p kernel::workload::fib ^@12345678abcde",
        TpErr::BAD_MEM_ADDR,
    );
    kerr("p kernel::workload::fib ^@+10", TpErr::FILE_ON_KPROBE);
    kerr("p kernel::workload::fib arg1=\\^x", TpErr::BAD_IMM);
    kerr(
        "p kernel::workload::fib arg1=\\\"abcd^",
        TpErr::IMMSTR_NO_CLOSE,
    );

    kerr("p kernel::workload::fib ^+0@0)", TpErr::DEREF_NEED_BRACE);
    kerr("p kernel::workload::fib ^+0ab1(@0)", TpErr::BAD_DEREF_OFFS);
    kerr(
        "p kernel::workload::fib +0(+0(@0^)",
        TpErr::DEREF_OPEN_BRACE,
    );
    kerr("p kernel::workload::fib +0(^$comm)", TpErr::COMM_CANT_DEREF);
    kerr("p kernel::workload::fib ^&1", TpErr::BAD_FETCH_ARG);

    kerr(
        "p kernel::workload::fib +0(^+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(@0))))))))))))))",
        TpErr::TOO_MANY_OPS,
    );
    kerr(
        "p kernel::workload::fib +0(@11):u8[10^",
        TpErr::ARRAY_NO_CLOSE,
    );
    kerr(
        "p kernel::workload::fib +0(@11):u8[10]^a",
        TpErr::BAD_ARRAY_SUFFIX,
    );
    kerr(
        "p kernel::workload::fib +0(@11):u8[^10a]",
        TpErr::BAD_ARRAY_NUM,
    );
    kerr(
        "p kernel::workload::fib +0(@11):u8[^256]",
        TpErr::ARRAY_TOO_BIG,
    );

    kerr("p kernel::workload::fib @11:^unknown_type", TpErr::BAD_TYPE);
    kerr("p kernel::workload::fib $stack0:^string", TpErr::BAD_STRING);
    kerr("p kernel::workload::fib @11:^b10@a/16", TpErr::BAD_BITFIELD);

    kerr(
        "p kernel::workload::fib ^arg123456789012345678901234567890=@11",
        TpErr::ARG_NAME_TOO_LONG,
    );
    kerr("p kernel::workload::fib ^=@11", TpErr::NO_ARG_NAME);
    kerr("p kernel::workload::fib ^var.1=@11", TpErr::BAD_ARG_NAME);
    kerr(
        "p kernel::workload::fib var1=@11 ^var1=@12",
        TpErr::USED_ARG_NAME,
    );
    kerr(
        "p kernel::workload::fib ^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))",
        TpErr::ARG_TOO_LONG,
    );
    kerr("p kernel::workload::fib arg1=^", TpErr::NO_ARG_BODY);

    // %return suffix errors.
    kerr("p kernel::workload::fib^%hoge", TpErr::BAD_ADDR_SUFFIX);
    kerr("p ^kernel::workload::fib+10%return", TpErr::BAD_RETPROBE);

    // No BTF: `$arg*` is logged as unsupported, then fails as a bad variable at the same place.
    kerr("p kernel::workload::fib ^$arg*", TpErr::BAD_VAR);
    kerr("p kernel::workload::fib ^hoge", TpErr::NOSUP_BTFARG);
}

#[test]
fn kprobe_errors_beyond_ftracetest() {
    kerr("p ^dup::twice", TpErr::NON_UNIQ_SYMBOL);
    // `MOD:SYM` is not supported: an unknown symbol.
    kerr("p ^kernel:fib", TpErr::BAD_PROBE_ADDR);
    kerr("p kernel::workload::fib+8 ^$arg1", TpErr::NOFENTRY_ARGS);
    kerr("p kernel::workload::fib a=^$arg0", TpErr::BAD_ARG_NUM);
    kerr("p kernel::workload::fib ^$stackx", TpErr::BAD_VAR);
    kerr("p kernel::workload::fib ^$args", TpErr::BAD_VAR);
    kerr("p kernel::workload::fib ^%x31", TpErr::BAD_REG_NAME);
    kerr("p kernel::workload::fib ^%x01", TpErr::BAD_REG_NAME);
    kerr(
        "p kernel::workload::fib ^__probe_ip=%x0",
        TpErr::USED_ARG_NAME,
    );
    kerr(
        "p kernel::workload::fib ^common_pid=%x0",
        TpErr::USED_ARG_NAME,
    );
    kerr(
        "p kernel::workload::fib $comm:^u32",
        TpErr::NEED_STRING_TYPE,
    );
    kerr(
        "p kernel::workload::fib $comm:^string[2]",
        TpErr::NEED_STRING_TYPE,
    );
    kerr(
        "p kernel::workload::fib $comm:^symstr",
        TpErr::NEED_STRING_TYPE,
    );
    kerr(
        "r kernel::workload::fib $arg1:^symstr",
        TpErr::BAD_SYMSTRING,
    );
    kerr("r kernel::workload::fib $arg1:^string", TpErr::BAD_STRING);
    kerr("p kernel::workload::fib \\1:^symstr", TpErr::BAD_SYMSTRING);
    kerr("p kernel::workload::fib %x0:^u8[4]", TpErr::BAD_STRING);
    kerr("p kernel::workload::fib @11:^b9@0/8", TpErr::BAD_BITFIELD);
    kerr("p kernel::workload::fib @11:^b0@0/8", TpErr::BAD_BITFIELD);
    kerr("p kernel::workload::fib @11:^b4@4/12", TpErr::BAD_TYPE);
    kerr("p kernel::workload::fib @11:^%pd", TpErr::BAD_TYPE);
    // A `u` dereference: Linux's caret lands one byte short (on the brace).
    kerr(
        "p kernel::workload::fib +u0^($comm)",
        TpErr::COMM_CANT_DEREF,
    );
    kerr(
        "p kernel::workload::fib -u0^($comm)",
        TpErr::COMM_CANT_DEREF,
    );
    kerr("p kernel::workload::fib -0(^$comm)", TpErr::COMM_CANT_DEREF);
}

#[test]
fn kprobe_registration_errors_point_at_the_probe_point() {
    let mut w = World::new();
    w.hooks.fail = Some(Errno::EILSEQ);
    let e = w.kprobe("p kernel::workload::fib+2").unwrap_err();
    assert_eq!(e.errno, Errno::EILSEQ);
    assert_eq!(
        (e.last().unwrap().err, e.last().unwrap().pos),
        (TpErr::BAD_INSN_BNDRY, 2)
    );
    w.hooks.fail = Some(Errno::EINVAL);
    let e = w.kprobe("p:x kernel::workload::fib").unwrap_err();
    assert_eq!(
        (e.last().unwrap().err, e.last().unwrap().pos),
        (TpErr::FAIL_REG_PROBE, 4)
    );
    w.hooks.fail = Some(Errno::ENOMEM);
    assert_eq!(
        w.kprobe("p kernel::workload::fib").unwrap_err(),
        ProbeError::silent(Errno::ENOMEM)
    );
    w.hooks.fail = None;
    // An unknown data symbol is found missing when the probe registers.
    let e = w.kprobe("p kernel::workload::fib @nosuch:u8").unwrap_err();
    assert_eq!(e.errno, Errno::ENOENT);
    assert_eq!(
        (e.last().unwrap().err, e.last().unwrap().pos),
        (TpErr::BAD_PROBE_ADDR, 2)
    );
    assert!(w.list.is_empty());
}

#[test]
fn kprobe_multiprobe_errors_as_ftracetest() {
    let k = DynEventFile::KprobeEvents;
    let mut w = World::new();
    w.replace(k, "p:kprobes/testevent kernel::workload::fib");
    let e = w
        .kprobe("r:kprobes/testevent kernel::workload::parse_fib")
        .unwrap_err();
    assert_eq!(e.errno, Errno::EEXIST);
    assert_eq!(
        (e.last().unwrap().err, e.last().unwrap().pos),
        (TpErr::DIFF_PROBE_TYPE, 0)
    );

    w.replace(k, "p:kprobes/testevent kernel::workload::fib abcd=\\1");
    for (marked, want) in [
        (
            "p:kprobes/testevent kernel::workload::fib ^bcd=\\1",
            TpErr::DIFF_ARG_TYPE,
        ),
        (
            "p:kprobes/testevent kernel::workload::fib ^abcd=\\1:u8",
            TpErr::DIFF_ARG_TYPE,
        ),
        (
            "p:kprobes/testevent kernel::workload::fib ^abcd=\\\"foo\"",
            TpErr::DIFF_ARG_TYPE,
        ),
        (
            "^p:kprobes/testevent kernel::workload::fib abcd=\\1",
            TpErr::SAME_PROBE,
        ),
    ] {
        let pos = marked.find('^').unwrap();
        let e = w.kprobe(&marked.replacen('^', "", 1)).unwrap_err();
        assert_eq!(
            (e.last().unwrap().err, e.last().unwrap().pos),
            (want, pos),
            "{marked}"
        );
    }
    // The same arguments on another place join the event.
    w.kprobe("p:kprobes/testevent kernel::workload::parse_fib abcd=\\1")
        .unwrap();
    assert_eq!(
        w.listing(None),
        "p:kprobes/testevent kernel::workload::fib abcd=\\1\n\
         p:kprobes/testevent kernel::workload::parse_fib abcd=\\1\n"
    );
    assert_eq!(w.hooks.armed.last().unwrap(), "kprobes/testevent new=false");
}

#[test]
fn fprobe_syntax_errors_as_ftracetest() {
    ferr("f^100 kernel::workload::fib", TpErr::BAD_MAXACT_TYPE);
    ferr("f^1a111 kernel::workload::fib", TpErr::BAD_MAXACT);
    ferr("f^100000 kernel::workload::fib", TpErr::MAXACT_TOO_BIG);

    // Linux 6.12 finds an unknown function when its ftrace filter matches nothing (EINVAL).
    ferr("f ^non_exist_func", TpErr::FAIL_REG_PROBE);
    ferr("f ^kernel::workload::fib+10", TpErr::FAIL_REG_PROBE);
    ferr("f:^/bar kernel::workload::fib", TpErr::NO_GROUP_NAME);
    ferr(
        &alloc::format!("f:^{LONG65}/bar kernel::workload::fib"),
        TpErr::GROUP_TOO_LONG,
    );
    ferr("f:^foo.1/bar kernel::workload::fib", TpErr::BAD_GROUP_NAME);
    ferr("f:^ kernel::workload::fib", TpErr::NO_EVENT_NAME);
    ferr(
        &alloc::format!("f:foo/^{LONG65} kernel::workload::fib"),
        TpErr::EVENT_TOO_LONG,
    );
    ferr("f:foo/^bar.1 kernel::workload::fib", TpErr::BAD_EVENT_NAME);

    ferr("f kernel::workload::fib ^$stack10000", TpErr::BAD_STACK_NUM);
    ferr("f kernel::workload::fib ^$arg10000", TpErr::BAD_ARG_NUM);
    ferr("f kernel::workload::fib ^$none_var", TpErr::BAD_VAR);
    // Registers are not for fprobes: a bad variable, then a bad fetch argument, both here.
    ferr("f kernel::workload::fib ^%x0", TpErr::BAD_FETCH_ARG);

    ferr(
        "f kernel::workload::fib ^@12345678abcde",
        TpErr::BAD_MEM_ADDR,
    );
    ferr("f kernel::workload::fib ^@+10", TpErr::FILE_ON_KPROBE);
    ferr("f kernel::workload::fib arg1=\\^x", TpErr::BAD_IMM);
    ferr(
        "f kernel::workload::fib arg1=\\\"abcd^",
        TpErr::IMMSTR_NO_CLOSE,
    );

    ferr("f kernel::workload::fib ^+0@0)", TpErr::DEREF_NEED_BRACE);
    ferr("f kernel::workload::fib ^+0ab1(@0)", TpErr::BAD_DEREF_OFFS);
    ferr(
        "f kernel::workload::fib +0(+0(@0^)",
        TpErr::DEREF_OPEN_BRACE,
    );
    ferr("f kernel::workload::fib +0(^$comm)", TpErr::COMM_CANT_DEREF);
    ferr("f kernel::workload::fib ^&1", TpErr::BAD_FETCH_ARG);

    ferr(
        "f kernel::workload::fib +0(^+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(+0(@0))))))))))))))",
        TpErr::TOO_MANY_OPS,
    );
    ferr(
        "f kernel::workload::fib +0(@11):u8[10^",
        TpErr::ARRAY_NO_CLOSE,
    );
    ferr(
        "f kernel::workload::fib +0(@11):u8[10]^a",
        TpErr::BAD_ARRAY_SUFFIX,
    );
    ferr(
        "f kernel::workload::fib +0(@11):u8[^10a]",
        TpErr::BAD_ARRAY_NUM,
    );
    ferr(
        "f kernel::workload::fib +0(@11):u8[^256]",
        TpErr::ARRAY_TOO_BIG,
    );

    ferr("f kernel::workload::fib @11:^unknown_type", TpErr::BAD_TYPE);
    ferr("f kernel::workload::fib $stack0:^string", TpErr::BAD_STRING);
    ferr("f kernel::workload::fib @11:^b10@a/16", TpErr::BAD_BITFIELD);

    ferr(
        "f kernel::workload::fib ^arg123456789012345678901234567890=@11",
        TpErr::ARG_NAME_TOO_LONG,
    );
    ferr("f kernel::workload::fib ^=@11", TpErr::NO_ARG_NAME);
    ferr("f kernel::workload::fib ^var.1=@11", TpErr::BAD_ARG_NAME);
    ferr(
        "f kernel::workload::fib var1=@11 ^var1=@12",
        TpErr::USED_ARG_NAME,
    );
    ferr(
        "f kernel::workload::fib ^+1234567(+1234567(+1234567(+1234567(+1234567(+1234567(@1234))))))",
        TpErr::ARG_TOO_LONG,
    );
    ferr("f kernel::workload::fib arg1=^", TpErr::NO_ARG_BODY);

    ferr("f kernel::workload::fib^%hoge", TpErr::BAD_ADDR_SUFFIX);
    ferr("f kernel::workload::fib ^$arg*", TpErr::BAD_VAR);
}

#[test]
fn fprobe_double_log_for_registers() {
    let mut w = World::new();
    let e = w.dynamic("f kernel::workload::fib %x0").unwrap_err();
    let got: Vec<(TpErr, usize)> = e.logged.iter().map(|l| (l.err, l.pos)).collect();
    assert_eq!(got, [(TpErr::BAD_VAR, 24), (TpErr::BAD_FETCH_ARG, 24)]);
    let e = w.dynamic("f kernel::workload::fib $arg*").unwrap_err();
    let got: Vec<(TpErr, usize)> = e.logged.iter().map(|l| (l.err, l.pos)).collect();
    assert_eq!(got, [(TpErr::NOSUP_BTFARG, 24), (TpErr::BAD_VAR, 24)]);
}

#[test]
fn fprobe_multiprobe_errors_as_ftracetest() {
    let d = DynEventFile::DynamicEvents;
    let mut w = World::new();
    w.replace(d, "f:fprobes/testevent kernel::workload::fib");
    let e = w
        .dynamic("f:fprobes/testevent kernel::workload::parse_fib%return")
        .unwrap_err();
    assert_eq!(
        (e.last().unwrap().err, e.last().unwrap().pos),
        (TpErr::DIFF_PROBE_TYPE, 0)
    );
    w.replace(d, "f:fprobes/testevent kernel::workload::fib abcd=\\1");
    for (marked, want) in [
        (
            "f:fprobes/testevent kernel::workload::fib ^bcd=\\1",
            TpErr::DIFF_ARG_TYPE,
        ),
        (
            "f:fprobes/testevent kernel::workload::fib ^abcd=\\1:u8",
            TpErr::DIFF_ARG_TYPE,
        ),
        (
            "f:fprobes/testevent kernel::workload::fib ^abcd=\\\"foo\"",
            TpErr::DIFF_ARG_TYPE,
        ),
        (
            "^f:fprobes/testevent kernel::workload::fib abcd=\\1",
            TpErr::SAME_PROBE,
        ),
    ] {
        let pos = marked.find('^').unwrap();
        let e = w.dynamic(&marked.replacen('^', "", 1)).unwrap_err();
        assert_eq!(
            (e.last().unwrap().err, e.last().unwrap().pos),
            (want, pos),
            "{marked}"
        );
        assert_eq!(e.last().unwrap().subsystem, "trace_fprobe");
    }
}

#[test]
fn default_names_and_listing() {
    let mut w = World::new();
    w.kprobe("p kernel::workload::fib").unwrap();
    w.kprobe("p kernel::workload::fib+8 x=%x1:s32").unwrap();
    w.kprobe("r kernel::workload::fib $retval").unwrap();
    w.kprobe("p kernel::workload::parse_fib%return").unwrap();
    w.kprobe("r7:grp/ev kernel::workload::fib ret=$retval:s64 n=$arg1")
        .unwrap();
    w.kprobe("p:mygrp/ kernel::workload::parse_fib").unwrap();
    w.kprobe("p 0xffff800080100010").unwrap();
    w.kprobe("p:fibp kernel::workload::fib n=$arg1").unwrap();
    w.dynamic("f kernel::workload::fib").unwrap();
    w.dynamic("f kernel::workload::fib%return").unwrap();
    w.dynamic("f:fr kernel::workload::parse_fib r=$retval")
        .unwrap();
    w.dynamic("f9:g/e kernel::workload::parse_fib%return $arg1:u32")
        .unwrap();
    let kprobes = "p:kprobes/p_kernel__workload__fib_0 kernel::workload::fib\n\
                   p:kprobes/p_kernel__workload__fib_8 kernel::workload::fib+8 x=%x1:s32\n\
                   r:kprobes/r_kernel__workload__fib_0 kernel::workload::fib arg1=$retval\n\
                   r:kprobes/r_kernel__workload__parse_fib_0 kernel::workload::parse_fib\n\
                   r7:grp/ev kernel::workload::fib ret=$retval:s64 n=$arg1\n\
                   p:mygrp/p_kernel__workload__parse_fib_0 kernel::workload::parse_fib\n\
                   p:kprobes/p_0xffff800080100010 0xffff800080100010\n\
                   p:kprobes/fibp kernel::workload::fib n=$arg1\n";
    assert_eq!(w.listing(Some(DynEventKind::Kprobe)), kprobes);
    let fprobes = "f:fprobes/kernel__workload__fib__entry kernel::workload::fib\n\
                   f:fprobes/kernel__workload__fib__exit kernel::workload::fib%return\n\
                   f:fprobes/fr kernel::workload::parse_fib%return r=$retval\n\
                   f9:g/e kernel::workload::parse_fib%return arg1=$arg1:u32\n";
    assert_eq!(w.listing(None), alloc::format!("{kprobes}{fprobes}"));
}

#[test]
fn probes_parse_what_linux_accepts() {
    let mut w = World::new();
    for (i, cmd) in [
        "p kernel::workload::fib %x0 %x30 %sp %pc %pstate",
        "p kernel::workload::fib $stack $stack0 $stack8192 $comm $COMM $arg1 $arg8",
        "p kernel::workload::fib @0x1000 @kernel::workload::COUNTER @kernel::workload::COUNTER+8",
        "p kernel::workload::fib @kernel::workload::COUNTER-8:u32 +0(%x0):string",
        "p kernel::workload::fib +8(+0(%x1)):s16 -16(%sp):x8 +u4(%x2):u32 -u8(%x2):ustring",
        "p kernel::workload::fib +0(%x0):u8[64] +0(%x0):string[3] $comm:string",
        "p kernel::workload::fib \\-5 \\+7:s8 \\0x10:x16 \\\"hi\" \\\"",
        "p kernel::workload::fib %x0:b3@4/32 +0(%x0):b1@63/64 %x0:char %x0:symbol %x0:symstr",
        "p kernel::workload::fib +0(%x0):symstr $stack1:symstr",
        "r kernel::workload::fib $retval:symstr $arg2 +8($arg3):u64",
        "pfoo:ok kernel::workload::fib",
        "rabc kernel::workload::fib",
        "p:a.b kernel::workload::fib",
        "p:some-group/ev kernel::workload::fib",
        "   p:spaced    kernel::workload::fib    a=%x0   ",
    ]
    .iter()
    .enumerate()
    {
        let first = cmd.split_whitespace().next().unwrap();
        let cmd = if first.len() == 1 {
            alloc::format!("{first}:e{i} {}", &cmd[2..])
        } else {
            cmd.to_string()
        };
        w.kprobe(&cmd).unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
    }
    assert!(w.list.find("a", "b").is_some());
    assert!(w.list.find("kprobes", "ok").is_some());
    assert!(w.list.find("some-group", "ev").is_some());
    let spaced = w.list.find("kprobes", "spaced").unwrap();
    let mut s = String::new();
    spaced.show(&mut s).unwrap();
    assert_eq!(s, "p:kprobes/spaced kernel::workload::fib a=%x0\n");
}

#[test]
fn non_probe_lines_are_einval_without_a_log() {
    let mut w = World::new();
    for cmd in [
        "x kernel::workload::fib",
        "p",
        "r",
        "f kernel::workload::fib",
    ] {
        let e = w.kprobe(cmd).unwrap_err();
        assert_eq!(e, ProbeError::silent(Errno::EINVAL), "{cmd}");
    }
    assert_eq!(
        w.dynamic("t sched_switch").unwrap_err().errno,
        Errno::EINVAL
    );
    assert_eq!(
        w.dynamic("!p:x").unwrap_err(),
        ProbeError::silent(Errno::ENOENT)
    );
    assert_eq!(
        w.kprobe("-x").unwrap_err(),
        ProbeError::silent(Errno::EINVAL)
    );
    assert_eq!(
        w.kprobe("-:").unwrap_err(),
        ProbeError::silent(Errno::EINVAL)
    );
    assert!(w.kprobe("").is_ok() && w.kprobe("   ").is_ok());
    let many: Vec<String> = (0..129).map(|i| alloc::format!("a{i}=%x0")).collect();
    let e = w
        .kprobe(&alloc::format!(
            "p kernel::workload::fib {}",
            many.join(" ")
        ))
        .unwrap_err();
    assert_eq!(e, ProbeError::silent(Errno::E2BIG));
    assert!(w.list.is_empty());
}

#[test]
fn existing_event_names_are_refused() {
    let mut w = World::new();
    w.hooks
        .taken
        .push(("sched".to_string(), "sched_switch".to_string()));
    let e = w
        .kprobe("p:sched/sched_switch kernel::workload::fib")
        .unwrap_err();
    assert_eq!(e.errno, Errno::EEXIST);
    assert_eq!(e.last().unwrap().err, TpErr::EVENT_EXIST);
    // A kprobe and an fprobe cannot share an event either.
    w.dynamic("f:g/e kernel::workload::fib").unwrap();
    let e = w.kprobe("p:g/e kernel::workload::fib").unwrap_err();
    assert_eq!(e.last().unwrap().err, TpErr::EVENT_EXIST);
}

#[test]
fn removal_matches_events_groups_and_definitions() {
    let mut w = World::new();
    for cmd in [
        "p:a/one kernel::workload::fib x=%x0",
        "p:a/two kernel::workload::fib",
        "p:b/one kernel::workload::parse_fib",
        "p:b/three kernel::workload::fib+4",
    ] {
        w.kprobe(cmd).unwrap();
    }
    assert_eq!(w.kprobe("-:nosuch").unwrap_err().errno, Errno::ENOENT);
    // The definition must match what is listed.
    assert_eq!(
        w.kprobe("-:a/one kernel::workload::parse_fib")
            .unwrap_err()
            .errno,
        Errno::ENOENT
    );
    assert_eq!(
        w.kprobe("-:a/one kernel::workload::fib x=%x1")
            .unwrap_err()
            .errno,
        Errno::ENOENT
    );
    w.kprobe("-:b/three kernel::workload::fib+4").unwrap();
    w.kprobe("-:a/one kernel::workload::fib x=%x0").unwrap();
    // Without a group, every group's event of that name.
    w.kprobe("p:a/one kernel::workload::fib").unwrap();
    w.kprobe("-:one").unwrap();
    assert_eq!(w.listing(None), "p:a/two kernel::workload::fib\n");
    // A whole group.
    w.kprobe("p:a/three kernel::workload::fib").unwrap();
    w.kprobe("-:a/").unwrap();
    assert!(w.list.is_empty());
    // `dynamic_events` takes both kinds, and `!` too; `kprobe_events` only its own.
    w.dynamic("f:x/f kernel::workload::fib").unwrap();
    assert_eq!(w.kprobe("-:x/f").unwrap_err().errno, Errno::ENOENT);
    w.dynamic("!:x/f").unwrap();
    assert!(w.list.is_empty());
}

#[test]
fn enabled_events_are_busy() {
    let mut w = World::new();
    w.kprobe("p:fibp kernel::workload::fib").unwrap();
    w.kprobe("p:other kernel::workload::fib").unwrap();
    w.hooks
        .busy
        .push(("kprobes".to_string(), "fibp".to_string()));
    assert_eq!(w.kprobe("-:fibp").unwrap_err().errno, Errno::EBUSY);
    assert_eq!(
        w.list.release_all(Some(DynEventKind::Kprobe), &mut w.hooks),
        Err(Errno::EBUSY)
    );
    assert_eq!(w.list.len(), 2, "a busy truncation removes nothing");
    // A second probe on the busy event can go; the last one cannot.
    w.kprobe("p:fibp kernel::workload::parse_fib").unwrap();
    w.kprobe("-:fibp kernel::workload::parse_fib").unwrap();
    assert_eq!(w.hooks.armed.last().unwrap(), "-kprobes/fibp last=false");
    w.hooks.busy.clear();
    w.list.release_all(None, &mut w.hooks).unwrap();
    assert!(w.list.is_empty());
}

#[test]
fn kprobe_profile_layout() {
    let mut w = World::new();
    w.kprobe("p:fibp kernel::workload::fib").unwrap();
    w.kprobe("r:fibr kernel::workload::fib").unwrap();
    w.dynamic("f:ff kernel::workload::fib").unwrap();
    for ev in w.list.iter() {
        if let DynEvent::Kprobe(k) = ev {
            (0..15).for_each(|_| k.hits.hit());
            if k.is_return {
                (0..2).for_each(|_| k.hits.missed());
            }
        }
    }
    let mut s = String::new();
    w.list
        .show_profile(&mut s, &|k| (k.hits.nhit(), k.hits.nmissed()))
        .unwrap();
    assert_eq!(
        s,
        "  fibp                                                      15               0\n\
         \x20 fibr                                                      15               2\n"
    );
}

#[test]
fn run_command_splits_lines_and_cuts_comments() {
    let mut seen = Vec::new();
    let n = parse_run_command(
        "p a # comment\n\n# only\nr b",
        |l| {
            seen.push(l.to_string());
            Ok::<(), Errno>(())
        },
        Errno::EINVAL,
    )
    .unwrap();
    assert_eq!(n, 25);
    assert_eq!(seen, ["p a ", "", "", "r b"]);
    // Stops at the first error, which the write returns.
    let mut runs = 0;
    let r = parse_run_command(
        "a\nb\nc\n",
        |l| {
            runs += 1;
            if l == "b" { Err(Errno::EBUSY) } else { Ok(()) }
        },
        Errno::EINVAL,
    );
    assert_eq!((r, runs), (Err(Errno::EBUSY), 2));
    // A line of WRITE_BUFSIZE - 1 bytes or more is refused, unless it ends the write.
    let long = "x".repeat(WRITE_BUFSIZE);
    let r = parse_run_command(&alloc::format!("{long}\n"), |_| Ok(()), Errno::EINVAL);
    assert_eq!(r, Err(Errno::EINVAL));
    let ok_line = "y".repeat(WRITE_BUFSIZE - 2);
    let mut lens = Vec::new();
    let text = alloc::format!("{ok_line}\n{ok_line}\nz");
    let r = parse_run_command(
        &text,
        |l| {
            lens.push(l.len());
            Ok::<(), Errno>(())
        },
        Errno::EINVAL,
    );
    assert_eq!(r, Ok(text.len()));
    assert_eq!(lens, [WRITE_BUFSIZE - 2, WRITE_BUFSIZE - 2, 1]);
    // Multi-byte text never splits inside a character.
    let r = parse_run_command(&"é".repeat(3000), |_| Ok(()), Errno::EINVAL);
    assert_eq!(r, Err(Errno::EINVAL));
}

#[test]
fn error_texts_are_linuxs() {
    assert_eq!(TP_ERR_TEXT.len(), 80);
    assert_eq!(
        TpErr::BAD_RETPROBE.text(),
        "Retprobe address must be an function entry"
    );
    assert_eq!(TpErr::BAD_VAR.text(), "Invalid $-valiable specified");
    assert_eq!(
        TpErr::IMMSTR_NO_CLOSE.text(),
        "String is not closed with '\"'"
    );
    assert_eq!(TpErr::TOO_MANY_EARGS as usize, 79);
    let e = LoggedError {
        subsystem: "trace_kprobe",
        command: "p kernel::workload::fib $retval".to_string(),
        err: TpErr::RETVAL_ON_PROBE,
        pos: 24,
    };
    let entry = crate::trace::error_log::ErrEntry::try_new(
        1_500_000_000,
        e.subsystem,
        &e.command,
        &TP_ERR_TEXT,
        e.err as usize,
        e.pos,
    )
    .unwrap();
    let mut s = String::new();
    entry.show(&mut s).unwrap();
    assert_eq!(
        s,
        "[    1.500000] trace_kprobe: error: $retval is not available on probe\n  \
         Command: p kernel::workload::fib $retval\n                                   ^\n"
    );
    let _ = vec![0u8];
}

fn reg_nothing(_: &'static TraceEventCall, _: bool) -> Result<(), Errno> {
    Err(Errno::ENODEV)
}

#[test]
fn probe_event_call_has_linuxs_format_and_prints_its_hits() {
    let mut w = World::new();
    w.kprobe("p:fibp kernel::workload::fib n=$arg1").unwrap();
    let ev = Arc::clone(w.list.find("kprobes", "fibp").unwrap());
    let pe = ProbeEventCall::new(ev, reg_nothing).unwrap();
    let mut s = String::new();
    pe.call.write_format(&mut s).unwrap();
    assert_eq!(
        s,
        "name: fibp\nID: 0\nformat:\n\
         \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
         \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
         \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
         \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
         \tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\
         \tfield:u64 n;\toffset:16;\tsize:8;\tsigned:0;\n\n\
         print fmt: \"(%lx) n=0x%Lx\", REC->__probe_ip, REC->n\n"
    );
    assert_eq!(pe.call.system, "kprobes");
    assert!(pe.call.field("n").is_some() && pe.call.field("__probe_ip").is_some());
    // Its print function finds the probe back from the call (no kernel symbols on the host).
    let mut record = vec![0u8; 24];
    record[8..16].copy_from_slice(&FIB.to_le_bytes());
    record[16..24].copy_from_slice(&5u64.to_le_bytes());
    let opts = crate::trace::trace_output::PrintOpts::default();
    let sym = |ip| crate::trace::trace_output::Func { ip, name: None };
    let ctx = PrintCtx {
        opts: &opts,
        sym: &sym,
    };
    let mut out = String::new();
    (pe.call.print)(&pe.call, &record, &mut out, &ctx).unwrap();
    assert_eq!(out, "fibp: (0xffff800080100000) n=0x5\n");
}

#[test]
fn kallsyms_tables_serve_lookups_and_symbols() {
    use crate::symbols::format::{SymbolIn, encode};
    let syms: Vec<SymbolIn<'_>> = TABLE
        .iter()
        .map(|&(name, addr, size)| SymbolIn {
            addr,
            size: size as u32,
            kind: b'T',
            name,
        })
        .collect();
    let bytes = encode(&syms);
    let table = Table::parse(&bytes).unwrap();
    assert_eq!(table.lookup_name("kernel::workload::fib"), Some(FIB));
    assert_eq!(KsymLookup::count(&table, "kernel::workload::fib"), 1);
    assert_eq!(KsymLookup::count(&table, "nosuch"), 0);
    let mut sym = TableSymbolizer::new(table);
    sym.trampoline = Some(0x1000);
    let mut s = String::new();
    crate::trace::trace_probe::write_ip_sym(&mut s, &sym, PARSE_FIB + 0x24, true).unwrap();
    s.push(' ');
    crate::trace::trace_probe::write_ip_sym(&mut s, &sym, 0x1000, true).unwrap();
    assert_eq!(
        s,
        "kernel::workload::parse_fib+0x24/0x80 [unknown/kretprobe'd]"
    );
    // Parsing against the table: Rust paths are symbols.
    let argv = ["p:x", "kernel::workload::parse_fib+4"];
    assert!(
        crate::trace::trace_kprobe::parse_kprobe(&argv, &table)
            .unwrap()
            .is_some()
    );
}
