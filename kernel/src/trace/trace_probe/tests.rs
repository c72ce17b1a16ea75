//! Host tests of the fetch programs, the executor on a fake probe hit, the event layout and
//! the printed lines.

use super::*;
use crate::trace::trace_dynevent::tests::{COUNTER, FIB, PARSE_FIB, Syms, TABLE};
use crate::trace::trace_kprobe::{TraceKprobe, parse_kprobe};
use alloc::string::ToString;
use alloc::vec;

const STR_AT: u64 = 0xffff_0000_0000_1000;
const USER_AT: u64 = 0x4000;
const SP: u64 = 0xffff_0000_0001_0000;

/// A probe hit: registers, some kernel and user memory, a task name.
struct Ctx {
    regs: [u64; 31],
    sp: u64,
    kmem: Vec<(u64, Vec<u8>)>,
    umem: Vec<(u64, Vec<u8>)>,
    comm: [u8; 16],
    edata: Vec<u64>,
}

impl Ctx {
    fn new() -> Self {
        let mut comm = [0u8; 16];
        comm[..3].copy_from_slice(b"fib");
        let mut stack = vec![0u8; 64];
        for i in 0..8 {
            stack[i * 8..i * 8 + 8].copy_from_slice(&(0x100 + i as u64).to_le_bytes());
        }
        let mut strings = b"hello\0world\0".to_vec();
        strings.resize(32, 0);
        // Two string pointers at STR_AT + 32.
        strings.extend_from_slice(&STR_AT.to_le_bytes());
        strings.extend_from_slice(&(STR_AT + 6).to_le_bytes());
        Self {
            regs: [0; 31],
            sp: SP,
            kmem: vec![
                (SP, stack),
                (STR_AT, strings),
                (COUNTER, 0x1122_3344_5566_7788u64.to_le_bytes().to_vec()),
            ],
            umem: vec![(USER_AT, b"user!\0".to_vec())],
            comm,
            edata: Vec::new(),
        }
    }
}

fn read(regions: &[(u64, Vec<u8>)], addr: u64, buf: &mut [u8]) -> Result<(), FetchFault> {
    for (start, bytes) in regions {
        if addr >= *start && addr - start + buf.len() as u64 <= bytes.len() as u64 {
            let at = (addr - start) as usize;
            buf.copy_from_slice(&bytes[at..at + buf.len()]);
            return Ok(());
        }
    }
    Err(FetchFault)
}

impl Symbolizer for Ctx {
    fn symbol(&self, addr: u64) -> Option<SymInfo<'_>> {
        SYMS.symbol(addr)
    }

    fn is_kretprobe_trampoline(&self, addr: u64) -> bool {
        SYMS.is_kretprobe_trampoline(addr)
    }
}

impl FetchCtx for Ctx {
    fn reg(&self, n: u8) -> u64 {
        self.regs[usize::from(n)]
    }
    fn sp(&self) -> u64 {
        self.sp
    }
    fn pc(&self) -> u64 {
        FIB + 4
    }
    fn pstate(&self) -> u64 {
        0x3c5
    }
    fn arg(&self, n: u32) -> u64 {
        if n < 8 { self.regs[n as usize] } else { 0 }
    }
    fn retval(&self) -> u64 {
        self.regs[0]
    }
    fn entry_data(&self, offset: u32) -> u64 {
        self.edata[offset as usize / 8]
    }
    fn read_nofault(&self, addr: u64, buf: &mut [u8]) -> Result<(), FetchFault> {
        read(&self.kmem, addr, buf)
    }
    fn read_user_nofault(&self, addr: u64, buf: &mut [u8]) -> Result<(), FetchFault> {
        read(&self.umem, addr, buf)
    }
    fn comm(&self) -> &[u8] {
        &self.comm
    }
}

struct TableSyms;
const SYMS: TableSyms = TableSyms;
const TRAMPOLINE: u64 = 0xffff_8000_8000_0000;

impl Symbolizer for TableSyms {
    fn symbol(&self, addr: u64) -> Option<SymInfo<'_>> {
        TABLE
            .iter()
            .find(|s| addr >= s.1 && addr - s.1 < s.2)
            .map(|s| SymInfo {
                name: s.0,
                addr: s.1,
                size: s.2,
            })
    }

    fn is_kretprobe_trampoline(&self, addr: u64) -> bool {
        addr == TRAMPOLINE
    }
}

fn kprobe(cmd: &str) -> TraceKprobe {
    let argv = split_words(cmd).unwrap();
    let mut k = parse_kprobe(&argv, &Syms).unwrap().unwrap();
    k.tp.resolve_symbols(&|n| {
        use crate::trace::trace_probe::KsymLookup;
        Syms.lookup_name(n)
    })
    .unwrap();
    k
}

/// Records a hit of `k` in `ctx` as the kprobe handler would: header, probe words, arguments.
fn record(k: &TraceKprobe, ctx: &Ctx, words: &[u64]) -> Vec<u8> {
    let head = k.ptype().head_size();
    let dsize = k.tp.data_size(ctx);
    let mut entry = vec![0xaau8; head + k.tp.size + dsize];
    entry[..COMMON_HEADER_SIZE].fill(0);
    for (i, w) in words.iter().enumerate() {
        let at = COMMON_HEADER_SIZE + 8 * i;
        entry[at..at + 8].copy_from_slice(&w.to_le_bytes());
    }
    k.tp.store_trace_args(ctx, &mut entry, head);
    entry
}

fn line(k: &TraceKprobe, ctx: &Ctx, words: &[u64]) -> String {
    let entry = record(k, ctx, words);
    let mut s = String::new();
    k.print_event(&mut s, &entry, &SYMS).unwrap();
    s
}

fn args_of(k: &TraceKprobe, ctx: &Ctx) -> String {
    let l = line(k, ctx, &[FIB]);
    let start = l.find(") ").map_or(l.len() - 1, |i| i + 1);
    l[start..l.len() - 1].to_string()
}

#[test]
fn issue_example_lines() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = 5;
    let fibp = kprobe("p:fibp kernel::workload::fib n=$arg1");
    assert_eq!(
        line(&fibp, &ctx, &[FIB]),
        "fibp: (kernel::workload::fib+0x0/0x38) n=0x5\n"
    );
    let fibr = kprobe("r:fibr kernel::workload::fib ret=$retval");
    assert_eq!(
        line(&fibr, &ctx, &[FIB, PARSE_FIB + 0x24]),
        "fibr: (kernel::workload::parse_fib+0x24/0x80 <- kernel::workload::fib) ret=0x5\n"
    );
    // The return trampoline, an unknown and a null address.
    assert_eq!(
        line(&fibr, &ctx, &[0x1234, TRAMPOLINE]),
        "fibr: ([unknown/kretprobe'd] <- 0x00001234) ret=0x5\n"
    );
    assert_eq!(line(&fibp, &ctx, &[0]), "fibp: (0) n=0x5\n");
    assert_eq!(line(&fibp, &ctx, &[0x42]), "fibp: (0x42) n=0x5\n");
}

#[test]
fn print_fmt_is_linuxs() {
    let k = kprobe("p:fibp kernel::workload::fib n=$arg1");
    assert_eq!(
        k.tp.print_fmt(k.ptype()).unwrap(),
        "\"(%lx) n=0x%Lx\", REC->__probe_ip, REC->n"
    );
    let k = kprobe("r:fibr kernel::workload::fib ret=$retval");
    assert_eq!(
        k.tp.print_fmt(k.ptype()).unwrap(),
        "\"(%lx <- %lx) ret=0x%Lx\", REC->__probe_func, REC->__probe_ret_ip, REC->ret"
    );
    let k = kprobe(
        "p:e kernel::workload::fib s=+0(%x0):string a=+0(%x0):u8[2] n=%x1:s32 c=%x2:char \
         y=%x3:symbol ss=+0(%x0):string[2] u=%x4:u64",
    );
    assert_eq!(
        k.tp.print_fmt(k.ptype()).unwrap(),
        "\"(%lx) s=\\\"%s\\\" a={%u,%u} n=%d c='%c' y=%pS ss={\\\"%s\\\",\\\"%s\\\"} u=%Lu\", \
         REC->__probe_ip, __get_str(s), REC->a[0], REC->a[1], REC->n, REC->c, REC->y, \
         __get_str(ss[0]), __get_str(ss[1]), REC->u"
    );
    let k = kprobe("p:e kernel::workload::fib");
    assert_eq!(
        k.tp.print_fmt(k.ptype()).unwrap(),
        "\"(%lx)\", REC->__probe_ip"
    );
}

#[test]
fn fields_are_linuxs() {
    let k = kprobe(
        "p:e kernel::workload::fib s=+0(%x0):string a=+0(%x0):u8[2] n=%x1:s32 d=%x2 \
         ss=+0(%x0):string[2] b=%x0:b3@1/16",
    );
    let fields = k.tp.fields(k.ptype()).unwrap();
    let mut s = String::new();
    for f in &fields {
        f.write_format(&mut s).unwrap();
    }
    assert_eq!(
        s,
        "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\
         \tfield:__data_loc char[] s;\toffset:16;\tsize:4;\tsigned:1;\n\
         \tfield:u8 a[];\toffset:20;\tsize:2;\tsigned:0;\n\
         \tfield:s32 n;\toffset:22;\tsize:4;\tsigned:1;\n\
         \tfield:u64 d;\toffset:26;\tsize:8;\tsigned:0;\n\
         \tfield:__data_loc char[][2] ss;\toffset:34;\tsize:8;\tsigned:1;\n\
         \tfield:u16 b;\toffset:42;\tsize:2;\tsigned:0;\n"
    );
    assert!(fields[1].is_string());
    assert_eq!(k.tp.size, 28);
    let r = kprobe("r:e kernel::workload::fib v=$retval:u8");
    let fields = r.tp.fields(r.ptype()).unwrap();
    let names: Vec<(&str, usize)> = fields.iter().map(|f| (&*f.name, f.offset)).collect();
    assert_eq!(
        names,
        [("__probe_func", 8), ("__probe_ret_ip", 16), ("v", 24)]
    );
}

#[test]
fn fetch_programs_have_linuxs_shape() {
    let code = |cmd: &str| kprobe(cmd).tp.args[0].code.to_vec();
    use FetchOp::*;
    assert_eq!(
        code("p:e kernel::workload::fib +8(+0(%x1)):s16"),
        [
            Reg(super::Reg::X(1)),
            Deref(0),
            StMem { offset: 8, size: 2 },
            End
        ]
    );
    assert_eq!(
        code("p:e kernel::workload::fib -16(%sp):x8"),
        [
            Reg(super::Reg::Sp),
            StMem {
                offset: -16,
                size: 1
            },
            End
        ]
    );
    assert_eq!(
        code("p:e kernel::workload::fib @kernel::workload::COUNTER+4:u32"),
        [
            NopSymbol("kernel::workload::COUNTER+4".into()),
            Imm(COUNTER + 4),
            StMem { offset: 0, size: 4 },
            End
        ]
    );
    assert_eq!(
        code("p:e kernel::workload::fib $comm"),
        [Comm, StString { offset: 0 }, End]
    );
    assert_eq!(
        code("p:e kernel::workload::fib +0(%x0):u8[4]"),
        [
            Reg(super::Reg::X(0)),
            StMem { offset: 0, size: 1 },
            LpArray(4),
            End
        ]
    );
    assert_eq!(
        code("p:e kernel::workload::fib +0(%x0):string[2]"),
        [
            Reg(super::Reg::X(0)),
            Deref(0),
            StString { offset: 0 },
            LpArray(2),
            End
        ]
    );
    assert_eq!(
        code("p:e kernel::workload::fib %x0:b4@4/8"),
        [
            Reg(super::Reg::X(0)),
            StRaw { size: 1 },
            ModBf {
                basesize: 1,
                lshift: 0,
                rshift: 4
            },
            End
        ]
    );
    assert_eq!(
        code("p:e kernel::workload::fib +u8(%x0):ustring"),
        [Reg(super::Reg::X(0)), StUString { offset: 8 }, End]
    );
    assert_eq!(
        code("p:e kernel::workload::fib %x2:symstr"),
        [Reg(super::Reg::X(2)), StSymstr { offset: 0 }, End]
    );
    assert_eq!(
        code("r:e kernel::workload::fib $arg2"),
        [EData(0), StRaw { size: 8 }, End]
    );
    assert_eq!(
        code("p:e kernel::workload::fib \\-1:s8"),
        [Imm(u64::MAX), StRaw { size: 1 }, End]
    );
    // Fourteen dereferences fit in Linux's 16 instructions, fifteen do not.
    let nested = |n: usize| {
        alloc::format!(
            "p:e kernel::workload::fib {}%x0{}",
            "+0(".repeat(n),
            ")".repeat(n)
        )
    };
    assert_eq!(kprobe(&nested(14)).tp.args[0].code.len(), 16);
    let argv_owned = nested(15);
    let argv = split_words(&argv_owned).unwrap();
    let e = parse_kprobe(&argv, &Syms).unwrap_err();
    assert_eq!(e.last().unwrap().err, TpErr::TOO_MANY_OPS);
}

#[test]
fn scalar_types_print_as_linux() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = 0xffff_ffff_ffff_ff85;
    ctx.regs[1] = b'A' as u64;
    ctx.regs[2] = FIB + 0x10;
    ctx.regs[3] = 0x1234;
    let k = kprobe(
        "p:e kernel::workload::fib a=%x0:u8 b=%x0:u16 c=%x0:u32 d=%x0:u64 e=%x0:s8 f=%x0:s16 \
         g=%x0:s32 h=%x0:s64 i=%x0:x8 j=%x0:x16 k=%x0:x32 l=%x0:x64 m=%x1:char n=%x2:symbol \
         o=%x3:symbol p=%x0",
    );
    assert_eq!(
        args_of(&k, &ctx),
        " a=133 b=65413 c=4294967173 d=18446744073709551493 e=-123 f=-123 g=-123 h=-123 \
         i=0x85 j=0xff85 k=0xffffff85 l=0xffffffffffffff85 m='A' \
         n=kernel::workload::fib+0x10/0x38 o=0x1234 p=0xffffffffffffff85"
    );
}

#[test]
fn registers_stack_and_immediates() {
    let mut ctx = Ctx::new();
    ctx.regs[30] = 0x30;
    ctx.regs[7] = 7;
    ctx.regs[8] = 8;
    let k = kprobe(
        "p:e kernel::workload::fib %x30 %sp %pc %pstate $stack $stack0 $stack7 $stack8 \
         $arg8 $arg9 \\42 \\-2:s16 \\0x10:u8",
    );
    assert_eq!(
        args_of(&k, &ctx),
        alloc::format!(
            " arg1=0x30 arg2={SP:#x} arg3={:#x} arg4=0x3c5 arg5={SP:#x} arg6=0x100 arg7=0x107 \
             arg8=0x0 arg9=0x7 arg10=0x0 arg11=0x2a arg12=-2 arg13=16",
            FIB + 4
        )
    );
}

#[test]
fn strings_comm_immediates_user_and_symbols() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = STR_AT;
    ctx.regs[1] = 0x10;
    ctx.regs[2] = FIB + 8;
    ctx.regs[3] = USER_AT;
    let k = kprobe(
        "p:e kernel::workload::fib s=+0(%x0):string t=+6(%x0):string bad=+0(%x1):string \
         c=$comm i=\\\"imm\" e=\\\" u=+0(%x3):ustring uu=+u0(%x3):string y=%x2:symstr \
         yy=+0(%x0):symstr at=@0xffff000000001006:string",
    );
    assert_eq!(
        args_of(&k, &ctx),
        " s=\"hello\" t=\"world\" bad=(fault) c=\"fib\" i=\"imm\" e=\"\" u=\"user!\" \
         uu=\"user!\" y=\"kernel::workload::fib+0x8/0x38\" yy=\"0x6f77006f6c6c6568\" at=\"world\""
    );
    // The strings' room: each with its NUL; a fault takes none.
    assert_eq!(
        k.tp.data_size(&ctx),
        6 + 6 + 4 + 4 + 1 + 6 + 6 + 31 + 19 + 6
    );
}

#[test]
fn strings_are_cut_to_the_room_the_entry_has() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = STR_AT;
    let k = kprobe("p:e kernel::workload::fib s=+0(%x0):string t=+6(%x0):string");
    let head = k.ptype().head_size();
    // Room for "hel" and a NUL: the second string finds none left.
    let mut entry = vec![0u8; head + k.tp.size + 4];
    k.tp.store_trace_args(&ctx, &mut entry, head);
    let mut s = String::new();
    k.tp.print_args(&mut s, &entry, head, &SYMS).unwrap();
    assert_eq!(s, " s=\"hel\" t=(fault)");
}

#[test]
fn arrays_and_string_arrays() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = STR_AT;
    ctx.regs[1] = STR_AT + 32;
    let k = kprobe(
        "p:e kernel::workload::fib a=+0(%x0):u8[4] h=+0(%x0):x16[2] c=+0(%x0):char[2] \
         s=+0(%x1):string[2] z=+0(%x0):s8[1]",
    );
    assert_eq!(
        args_of(&k, &ctx),
        " a={104,101,108,108} h={0x6568,0x6c6c} c={'h','e'} s={\"hello\",\"world\"} z={104}"
    );
    assert_eq!(k.tp.data_size(&ctx), 12);
}

#[test]
fn dereferences_with_negative_offsets_and_faults() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = SP + 16;
    ctx.regs[1] = 0xdead_0000;
    let k = kprobe(
        "p:e kernel::workload::fib a=-16(%x0):u64 b=+8(-8(%x0)):u16 c=+0(%x1):u64 \
         d=+0(+0(%x1)):u32 e=-8(%x0):s16 f=+u0(%x0):u64",
    );
    // -8(%x0) reads the word 0x101 at SP+8; +8(0x101) faults.
    assert_eq!(args_of(&k, &ctx), " a=256 b=0 c=0 d=0 e=257 f=0");
}

#[test]
fn bitfields() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = 0xab;
    ctx.regs[1] = 0x8000_0000_0000_0001;
    ctx.regs[2] = 0b1011_0000;
    let k = kprobe(
        "p:e kernel::workload::fib hi=%x0:b4@4/8 lo=%x0:b4@0/8 top=%x1:b1@63/64 \
         bot=%x1:b1@0/64 mid=%x2:b3@4/32 whole=%x0:b8@0/8",
    );
    assert_eq!(
        args_of(&k, &ctx),
        " hi=10 lo=11 top=1 bot=1 mid=3 whole=171"
    );
}

#[test]
fn data_symbols_resolve_when_registered() {
    let ctx = Ctx::new();
    let k = kprobe(
        "p:e kernel::workload::fib v=@kernel::workload::COUNTER:u64 \
         hi=@kernel::workload::COUNTER+4:x32 w=+4(@kernel::workload::COUNTER):u8",
    );
    assert_eq!(
        args_of(&k, &ctx),
        " v=1234605616436508552 hi=0x11223344 w=0"
    );
    // Unresolved, the probe refuses to register.
    let argv = ["p:e", "kernel::workload::fib", "@nosuch+4"];
    let mut k = parse_kprobe(&argv, &Syms).unwrap().unwrap();
    assert_eq!(k.tp.resolve_symbols(&|_| None), Err(Errno::ENOENT));
}

#[test]
fn return_probes_read_entry_arguments_back() {
    let mut ctx = Ctx::new();
    ctx.regs[0] = 11;
    ctx.regs[1] = 22;
    let k = kprobe("r:e kernel::workload::fib b=$arg2 a=$arg1 bb=$arg2:u8 ret=$retval");
    assert_eq!(k.tp.entry_args, [1, 0]);
    assert_eq!(k.tp.entry_data_size(), 16);
    let mut saved = [0u64; 2];
    k.tp.store_entry_data(&ctx, &mut saved);
    assert_eq!(saved, [22, 11]);
    // At the return, the registers changed.
    ctx.edata = saved.to_vec();
    ctx.regs[0] = 99;
    ctx.regs[1] = 0;
    let l = line(&k, &ctx, &[FIB, PARSE_FIB]);
    assert!(l.ends_with(") b=0x16 a=0xb bb=22 ret=0x63\n"), "{l}");
}

#[test]
fn listing_shows_args_as_written() {
    let k = kprobe("p:e kernel::workload::fib+4 x=+8(%x0):string %x1:b2@3/32 \\\"a\"");
    let mut s = String::new();
    k.show(&mut s).unwrap();
    assert_eq!(
        s,
        "p:kprobes/e kernel::workload::fib+4 x=+8(%x0):string arg2=%x1:b2@3/32 arg3=\\\"a\"\n"
    );
}

#[test]
fn helpers_behave_as_linuxs() {
    assert_eq!(kstrtoull("0x1f", 0), Ok(31));
    assert_eq!(kstrtoull("017", 0), Ok(15));
    assert_eq!(kstrtoull("+9", 0), Ok(9));
    assert_eq!(kstrtoull("9\n", 0), Ok(9));
    assert_eq!(kstrtoull("0x", 0), Err(Errno::EINVAL));
    assert_eq!(kstrtoull("18446744073709551616", 0), Err(Errno::ERANGE));
    assert_eq!(kstrtoll("-9223372036854775808", 0), Ok(i64::MIN));
    assert_eq!(kstrtoll("-9223372036854775809", 0), Err(Errno::ERANGE));
    assert_eq!(kstrtouint("4294967296", 0), Err(Errno::ERANGE));
    assert_eq!(simple_strtoul("10@a"), (10, 2));
    assert_eq!(simple_strtoul("0x1f/8"), (31, 4));
    assert_eq!(simple_strtoul("a/16"), (0, 0));
    assert_eq!(split_symbol_offset("a::b+0x10"), Ok(("a::b", 16)));
    assert_eq!(split_symbol_offset("a-3"), Ok(("a", -3)));
    assert!(split_symbol_offset("a+1-1").is_err());
    assert!(is_good_name("_a1") && !is_good_name("1a") && !is_good_name("a.b"));
    assert!(is_good_system_name("a-b") && !is_good_system_name("a.b"));
    assert_eq!(
        sanitize_event_name("p_<T as x::Y>::f_0").unwrap(),
        "p__T_as_x__Y___f_0"
    );
    assert_eq!(sanitize_event_name(&"x".repeat(100)).unwrap().len(), 63);
    assert_eq!(Reg::from_name("x30"), Some(Reg::X(30)));
    assert_eq!(Reg::from_name("x+1"), None);
    assert_eq!(Reg::from_name("w0"), None);
    assert_eq!(type_separator("@a::b::c:u8"), Some(8));
    assert_eq!(type_separator("@a::b"), None);
    assert_eq!(find_fetch_type(Some("b3@1/32")).unwrap().name, "u32");
    assert!(find_fetch_type(Some("b3@1/12")).is_none());
    assert_eq!(find_fetch_type(None).unwrap().name, "x64");
    let log_argv = ["p", "sym", "arg"];
    let mut log = ProbeLog::new("trace_kprobe", &log_argv);
    assert_eq!(log.pos(1), 1);
    log.set_index(2);
    assert_eq!(log.pos(2), 8);
    log.set_index(3);
    assert_eq!(log.pos(5), 10, "past the last word, the offset is ignored");
}

/// A small deterministic generator (no `rand` on the host tests' side).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next() as usize % from.len()]
    }
}

#[test]
fn random_commands_never_panic_and_run_safely() {
    const PIECES: &[&str] = &[
        "p",
        "r",
        "f",
        "r5",
        "p:",
        "x=",
        "+",
        "-",
        "u",
        "0",
        "8",
        "0x10",
        "(",
        ")",
        "%x0",
        "%sp",
        "$arg1",
        "$arg*",
        "$retval",
        "$stack",
        "$stack3",
        "$comm",
        "@",
        "@kernel::workload::COUNTER",
        ":",
        "::",
        "u8",
        "s16",
        "x64",
        "string",
        "ustring",
        "symstr",
        "symbol",
        "char",
        "[",
        "]",
        "2",
        "b3@1/8",
        "\\",
        "\"",
        "\\\"",
        "é",
        "/",
        "grp",
        ".",
        "%return",
        "kernel::workload::fib",
        " ",
        " ",
        "#",
        "\t",
        "=",
        "+0(",
        "-8(",
        "+u0(",
        "%pd",
        "a",
        "_",
        "\u{1F600}",
    ];
    let mut rng = Lcg(0x5eed);
    let mut ctx = Ctx::new();
    ctx.regs[0] = STR_AT;
    ctx.regs[1] = STR_AT + 32;
    ctx.regs[2] = SP;
    ctx.edata = vec![STR_AT; MAX_TRACE_ARGS];
    for _ in 0..20_000 {
        let mut cmd = String::from(rng.pick(&["p ", "r ", "f ", "p:e ", "r:e ", "f:e ", "-:", ""]));
        cmd.push_str(rng.pick(&[
            "kernel::workload::fib ",
            "kernel::workload::fib%return ",
            "",
        ]));
        for _ in 0..rng.next() % 12 {
            cmd.push_str(rng.pick(PIECES));
        }
        let Ok(argv) = split_words(&cmd) else {
            continue;
        };
        let parsed = parse_kprobe(&argv, &Syms);
        if let Ok(Some(mut k)) = parsed {
            let _ = k.tp.resolve_symbols(&|n| {
                use crate::trace::trace_probe::KsymLookup;
                Syms.lookup_name(n)
            });
            // Whatever it compiled into runs and prints without panicking.
            let head = k.ptype().head_size();
            for room in [0, 3, 64] {
                let mut entry = vec![0u8; head + k.tp.size + room.min(k.tp.data_size(&ctx))];
                k.tp.store_trace_args(&ctx, &mut entry, head);
                let mut s = String::new();
                k.print_event(&mut s, &entry, &SYMS).unwrap();
                // And a truncated record prints too.
                let mut t = String::new();
                k.print_event(&mut t, &entry[..entry.len() / 2], &SYMS)
                    .unwrap();
            }
            let _ = k.tp.print_fmt(k.ptype()).unwrap();
            let _ = k.tp.fields(k.ptype()).unwrap();
        } else if let Err(e) = parsed {
            for l in &e.logged {
                assert!(l.pos <= l.command.len() + 1, "{cmd}: {l:?}");
            }
        }
        let _ = crate::trace::trace_fprobe::parse_fprobe(&argv);
    }
}

/// `entry` as the plan writes it into a zeroed buffer starting `shift` bytes into 8-byte
/// aligned storage (0: the ring buffer's case, plain stores; else the checked path).
/// The entry `plan` writes at `shift` bytes past an 8-byte boundary, into stale bytes as the
/// recorder hands them over: the header zero (written), the rest zeroed only when the plan
/// does not cover it.
fn plan_entry(plan: &ProbePlan, ctx: &Ctx, words: &[u64], shift: usize) -> Vec<u8> {
    let mut storage = vec![0xa5a5_a5a5_a5a5_a5a5u64; plan.len / 8 + 2];
    // SAFETY: a view of the words' bytes, inside `storage`.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(storage.as_mut_ptr().cast::<u8>(), storage.len() * 8)
    };
    let entry = &mut bytes[shift..shift + plan.len];
    let zeroed = if plan.covers {
        COMMON_HEADER_SIZE
    } else {
        plan.len
    };
    entry[..zeroed].fill(0);
    plan.fill(words, &ctx.regs, &ctx.edata, entry);
    entry.to_vec()
}

#[test]
fn plans_write_what_the_fetch_programs_write() {
    let mut ctx = Ctx::new();
    for (i, r) in ctx.regs.iter_mut().enumerate() {
        *r = 0x0102_0304_0506_0700 + i as u64 * 0x1111;
    }
    ctx.edata = vec![0xdead_beef_0000_0001, 0x55];
    let cases: [(&str, &[u64]); 5] = [
        ("p:e kernel::workload::fib x=$arg1", &[FIB]),
        (
            "p:e kernel::workload::fib e=%x1:x64 d=$arg9 c=%x30:s32 b=%x3:u16 a=$arg2:u8",
            &[FIB],
        ),
        ("r:e kernel::workload::fib ret=$retval", &[FIB, PARSE_FIB]),
        (
            "r:e kernel::workload::fib b=$arg2 a=$arg1:u32 ret=$retval:u16",
            &[FIB, PARSE_FIB],
        ),
        ("p:e kernel::workload::fib", &[FIB]),
    ];
    for (cmd, words) in cases {
        let k = kprobe(cmd);
        let plan = k.tp.simple_plan(k.ptype(), 4096).expect(cmd);
        let want = record(&k, &ctx, words);
        assert_eq!(plan.len, want.len(), "{cmd}");
        // Values are packed (Linux's layout), so a plan's stores leave no byte unwritten.
        assert!(plan.covers, "{cmd}");
        for shift in [0, 1, 4] {
            assert_eq!(
                plan_entry(&plan, &ctx, words, shift),
                want,
                "{cmd} at +{shift}"
            );
        }
    }
}

#[test]
fn plans_only_for_plain_values() {
    for cmd in [
        "p:e kernel::workload::fib s=+0(%x0):string",
        "p:e kernel::workload::fib d=+8(%x0)",
        "p:e kernel::workload::fib b=%x1:b2@3/32",
        "p:e kernel::workload::fib a=+0(%x1):u8[4]",
        "p:e kernel::workload::fib c=$comm",
        "p:e kernel::workload::fib s=$stack1",
        "p:e kernel::workload::fib i=\\1",
        // A u64 after a u8 is not 8-byte aligned: the plain stores could not write it.
        "p:e kernel::workload::fib a=%x1:u8 b=%x2",
    ] {
        let k = kprobe(cmd);
        assert_eq!(k.tp.simple_plan(k.ptype(), 4096), None, "{cmd}");
    }
    // An entry longer than the room.
    let k = kprobe("p:e kernel::workload::fib a=%x1 b=%x2");
    assert!(k.tp.simple_plan(k.ptype(), 16 + 16).is_some());
    assert_eq!(k.tp.simple_plan(k.ptype(), 16 + 15), None);
}

#[test]
fn entry_words_from_registers_match_the_fetch_path() {
    let mut ctx = Ctx::new();
    for (i, r) in ctx.regs.iter_mut().enumerate() {
        *r = 0x100 + i as u64;
    }
    let k = kprobe("r:e kernel::workload::fib b=$arg2 a=$arg1 h=$arg8 i=$arg9 ret=$retval");
    let n = k.tp.entry_args.len();
    let mut want = vec![0u64; n];
    k.tp.store_entry_data(&ctx, &mut want);
    for saved in [&ctx.regs[..], &ctx.regs[..9], &ctx.regs[..8]] {
        let mut got = vec![u64::MAX; n];
        k.tp.store_entry_regs(saved, &mut got);
        assert_eq!(got, want);
    }
    // Fewer saved registers than the arguments asked: the missing ones read 0.
    let mut got = vec![u64::MAX; n];
    k.tp.store_entry_regs(&ctx.regs[..1], &mut got);
    assert_eq!(got, [0, 0x100, 0, 0]);
}
