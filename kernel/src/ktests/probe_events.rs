//! Probe-event fetch programs on the running kernel: a definition parsed against the embedded
//! symbol table, its `@SYM` arguments resolved, its program run on a trap frame with the
//! exception table's no-fault reads (a faulting string prints `(fault)`, a faulting scalar 0),
//! and the hit printed as Linux prints it.

use alloc::string::String;
use alloc::vec;

use arch::exception::TrapFrame;

use crate::ktest::TestResult;
use crate::symbols::{kallsyms, lookup_name};
use crate::trace::trace_kprobe::parse_kprobe;
use crate::trace::trace_probe::{KsymLookup, TrapFrameCtx, split_words};
use crate::workload;
use crate::{kassert, kassert_eq, ktest};

/// A data object `@SYM` arguments read.
static PROBE_DATA: [u64; 2] = [0x1122_3344_5566_7788, 0x99];
/// A string `+0(%x1):string` reads.
static PROBE_TEXT: [u8; 8] = *b"probe!\0\0";

ktest! {
fn fetch_args_run_on_a_trap_frame() -> TestResult {
    let fib = workload::fib as *const () as u64;
    let fib_size = lookup_name("kernel::workload::fib").ok_or("no fib symbol")?.size;
    let stack = [0x51u64, 0x52, 0x53];
    let mut regs = [0u64; 31];
    regs[0] = 5;
    regs[1] = PROBE_TEXT.as_ptr() as u64;
    // The null page is never mapped: reads there fault.
    regs[2] = 0x10;
    regs[3] = fib + 8;
    let frame = TrapFrame {
        regs,
        sp: stack.as_ptr() as u64,
        pc: fib,
        pstate: 0x3c5,
        esr: 0,
        far: 0,
        stackframe: [0; 2],
    };
    let data = "kernel::ktests::probe_events::PROBE_DATA";
    kassert_eq!(
        kallsyms().lookup_name(data),
        Some(core::ptr::addr_of!(PROBE_DATA) as u64)
    );
    let cmd = alloc::format!(
        "p:kt kernel::workload::fib n=$arg1 s=+0(%x1):string bad=+0(%x2):string c=$comm \
         y=%x3:symbol ys=%x3:symstr v=@{data}:x64 w=@{data}+8:u32 f=+8(@{data}):u64 \
         st=$stack1 a=+0(%x1):char[5] ps=%pstate"
    );
    let argv = split_words(&cmd).map_err(|e| alloc::format!("{e}"))?;
    let table = kallsyms();
    let mut k = parse_kprobe(&argv, &table)
        .map_err(|e| alloc::format!("{e:?}"))?
        .ok_or("not a kprobe")?;
    k.tp.resolve_symbols(&|name| table.lookup_name(name))
        .map_err(|e| alloc::format!("{e}"))?;
    let ctx = TrapFrameCtx::new(&frame, &[], None);
    let head = k.ptype().head_size();
    let mut entry = vec![0u8; head + k.tp.size + k.tp.data_size(&ctx)];
    entry[8..16].copy_from_slice(&fib.to_le_bytes());
    k.tp.store_trace_args(&ctx, &mut entry, head);
    let mut line = String::new();
    k.print_event(&mut line, &entry, &ctx).map_err(|_| "print failed")?;
    let comm = crate::sched::current().map_or(String::new(), |t| String::from(t.name().as_str()));
    kassert_eq!(
        line,
        alloc::format!(
            "kt: (kernel::workload::fib+0x0/{fib_size:#x}) n=0x5 s=\"probe!\" bad=(fault) \
             c=\"{comm}\" y=kernel::workload::fib+0x8/{fib_size:#x} \
             ys=\"kernel::workload::fib+0x8/{fib_size:#x}\" v=0x1122334455667788 w=153 f=0 \
             st=0x52 a={{'p','r','o','b','e'}} ps=0x3c5\n"
        )
    );
    Ok(())
}
}

ktest! {
fn a_probe_event_records_and_prints_through_the_trace() -> TestResult {
    use crate::fs::{self, WriteMode};
    use crate::trace::trace_dynevent::{ProbeEventCall, trace_probe_record};
    use crate::trace::trace_output::EVENTS;
    use crate::tracefs::TRACEFS;

    let path = |f: &str| alloc::format!("{TRACEFS}/{f}");
    fs::write(
        &path("kprobe_events"),
        b"p:ktrec kernel::workload::fib n=$arg1 s=+0(%x1):string",
        WriteMode::Append,
    )
    .map_err(|e| alloc::format!("kprobe_events: {e}"))?;
    let call = EVENTS
        .read()
        .lookup("kprobes", "ktrec")
        .ok_or("the event is not registered")?;
    // SAFETY: probe events are registered as the `call` of a `ProbeEventCall`.
    let pe = unsafe { ProbeEventCall::from_call(call) };
    let fib = workload::fib as *const () as u64;
    let mut regs = [0u64; 31];
    regs[0] = 5;
    regs[1] = PROBE_TEXT.as_ptr() as u64;
    let frame = TrapFrame {
        regs,
        sp: 0,
        pc: fib,
        pstate: 0,
        esr: 0,
        far: 0,
        stackframe: [0; 2],
    };
    let fib_size = lookup_name("kernel::workload::fib").ok_or("no fib symbol")?.size;
    let want = alloc::format!(
        "ktrec: (kernel::workload::fib+0x0/{fib_size:#x}) n=0x5 s=\"probe!\""
    );
    // Unfiltered (in place), then through a filter that rejects it and one that takes it
    // (assembled on the stack).
    let mut seen = [false; 3];
    for (i, filter) in [None, Some("n == 6"), Some("n == 5 && s == \"probe!\"")]
        .iter()
        .enumerate()
    {
        if let Some(f) = filter {
            fs::write(&path("events/kprobes/ktrec/filter"), f.as_bytes(), WriteMode::Truncate)
                .map_err(|e| alloc::format!("filter {f}: {e}"))?;
        }
        fs::write(&path("trace"), b"", WriteMode::Truncate).map_err(|e| alloc::format!("{e}"))?;
        {
            let _irqs = arch::irqflags::local_irq_save_guard();
            let ctx = TrapFrameCtx::new(&frame, &[], None);
            trace_probe_record(call, pe.event.tp(), pe.event.ptype(), &[fib], &ctx, true);
        }
        let mut text = String::new();
        fs::read(&path("trace"), &mut text).map_err(|e| alloc::format!("{e}"))?;
        seen[i] = text.lines().any(|l| l.ends_with(&want));
    }
    fs::write(&path("events/kprobes/ktrec/filter"), b"0", WriteMode::Truncate)
        .map_err(|e| alloc::format!("{e}"))?;
    fs::write(&path("kprobe_events"), b"", WriteMode::Truncate)
        .map_err(|e| alloc::format!("{e}"))?;
    kassert_eq!(seen, [true, false, true]);
    kassert!(EVENTS.read().lookup("kprobes", "ktrec").is_none());
    Ok(())
}
}

/// A write to a tracefs file.
fn tracefs_write(
    file: &str,
    data: &str,
    mode: crate::fs::WriteMode,
) -> Result<(), crate::fs::Errno> {
    crate::fs::write(
        &alloc::format!("{}/{file}", crate::tracefs::TRACEFS),
        data.as_bytes(),
        mode,
    )
}

fn tracefs_read(file: &str) -> Result<String, String> {
    let mut text = String::new();
    crate::fs::read(
        &alloc::format!("{}/{file}", crate::tracefs::TRACEFS),
        &mut text,
    )
    .map_err(|e| alloc::format!("{file}: {e}"))?;
    Ok(text)
}

// ftracetest kprobe/multiple_kprobes.tc: a kprobe event on each of the first 256 functions
// of the symbol table that take one (in address order, names without spaces or dots, at
// `+0`), all enabled at once and disabled again while the kernel runs, then removed.
ktest! {
fn two_hundred_fifty_six_kprobe_events_register_enable_and_go() -> TestResult {
    use crate::fs::WriteMode;
    tracefs_write("kprobe_events", "", WriteMode::Truncate).map_err(|e| alloc::format!("{e}"))?;
    let mut n = 0;
    for sym in crate::symbols::functions().iter() {
        if sym.name.contains(|c: char| c.is_whitespace() || c == '.' || c == '#') {
            continue;
        }
        let line = alloc::format!("p {}+0", sym.name);
        if tracefs_write("kprobe_events", &line, WriteMode::Append).is_ok() {
            n += 1;
            if n == 256 {
                break;
            }
        }
    }
    let lines = tracefs_read("kprobe_events")?.lines().count();
    kassert_eq!(lines, 256);
    let enabled = tracefs_write("events/kprobes/enable", "1", WriteMode::Truncate);
    // Run some of the kernel under them (the shell's own path is among the probed).
    let _ = workload::fib(core::hint::black_box(10));
    crate::sched::yield_now();
    let disabled = tracefs_write("events/kprobes/enable", "0", WriteMode::Truncate);
    let removed = tracefs_write("kprobe_events", "", WriteMode::Truncate);
    kassert_eq!((enabled, disabled, removed), (Ok(()), Ok(()), Ok(())));
    kassert_eq!(tracefs_read("kprobe_events")?, "");
    let _ = tracefs_write("trace", "", WriteMode::Truncate);
    Ok(())
}
}

// ftracetest kprobe/probepoint.tc: a probe point by symbol, by address, at the offset of the
// next symbol; a negative offset and an offset that wraps the address space are refused.
ktest! {
fn probe_points_by_symbol_address_and_offset() -> TestResult {
    use crate::fs::{Errno, WriteMode};
    let target = "kernel::workload::fib";
    let sym = lookup_name(target).ok_or("no fib symbol")?;
    let functions = crate::symbols::functions();
    let next = functions
        .iter()
        .filter(|s| s.addr > sym.addr)
        .map(|s| s.addr)
        .min()
        .ok_or("no symbol after fib")?;
    let prev = functions
        .iter()
        .filter(|s| s.addr < sym.addr)
        .map(|s| s.addr)
        .max()
        .ok_or("no symbol before fib")?;
    let write = |line: String| tracefs_write("kprobe_events", &line, WriteMode::Truncate);
    kassert_eq!(write(alloc::format!("p:testprobe {target}")), Ok(()));
    kassert_eq!(write(alloc::format!("p:testprobe {:#x}", sym.addr)), Ok(()));
    kassert_eq!(
        write(alloc::format!("p:testprobe {target}+{}", next - sym.addr)),
        Ok(())
    );
    kassert_eq!(
        write(alloc::format!("p:testprobe {target}-{}", sym.addr - prev)),
        Err(Errno::EINVAL)
    );
    kassert_eq!(
        write(alloc::format!("p:testprobe {target}+{:#x}", prev.wrapping_sub(sym.addr))),
        Err(Errno::EINVAL)
    );
    tracefs_write("kprobe_events", "", WriteMode::Truncate).map_err(|e| alloc::format!("{e}"))?;
    Ok(())
}
}

/// Adds a kprobe, a kretprobe and an fprobe event, switches the kprobe event on and off, and
/// removes all three.
fn probe_event_cycle() -> TestResult {
    use crate::fs::WriteMode::Append;
    let step = |file: &str, line: &str| {
        tracefs_write(file, line, Append).map_err(|e| alloc::format!("{file} <- {line}: {e}"))
    };
    step(
        "kprobe_events",
        "p:kpleak kernel::workload::fib n=$arg1 s=+0(%x1):string",
    )?;
    step(
        "kprobe_events",
        "r:krleak kernel::workload::fib ret=$retval",
    )?;
    step(
        "dynamic_events",
        "f:fpleak kernel::workload::fib%return ret=$retval",
    )?;
    step("events/kprobes/kpleak/enable", "1")?;
    step("events/kprobes/krleak/enable", "1")?;
    step("events/kprobes/kpleak/enable", "0")?;
    step("events/kprobes/krleak/enable", "0")?;
    step("kprobe_events", "-:kpleak")?;
    step("kprobe_events", "-:krleak")?;
    step("dynamic_events", "-:fpleak")?;
    kassert!(
        crate::trace::trace_output::EVENTS
            .read()
            .lookup("kprobes", "kpleak")
            .is_none()
    );
    Ok(())
}

ktest! {
fn a_hundred_probe_event_add_remove_cycles_leave_the_heap_as_it_was() -> TestResult {
    // The first cycle sizes the registries' vectors for good.
    probe_event_cycle()?;
    let (before, _) = crate::heap::usage();
    for _ in 0..100 {
        probe_event_cycle()?;
    }
    let (after, _) = crate::heap::usage();
    kassert!(after <= before, "heap grew from {before} to {after} bytes");
    Ok(())
}
}

/// Adds an event, holds its `format` file open, removes the event; the event's entry waits
/// for the file, still readable, and goes at the next removal once the file is let go.
fn held_file_cycle() -> TestResult {
    use crate::fs::WriteMode::Append;
    use crate::trace::trace_dynevent::removed_events_pending;
    let format = alloc::format!("{}/events/kprobes/kphold/format", crate::tracefs::TRACEFS);
    tracefs_write("kprobe_events", "p:kphold kernel::workload::fib", Append)
        .map_err(|e| alloc::format!("add: {e}"))?;
    // An open `format` file: its handler names the event's call.
    let held = crate::fs::vfs()
        .open(&format)
        .map_err(|e| alloc::format!("open: {e}"))?;
    tracefs_write("kprobe_events", "-:kphold", Append)
        .map_err(|e| alloc::format!("remove: {e}"))?;
    kassert!(
        crate::fs::lookup(&format).is_err(),
        "the event's files outlived it"
    );
    kassert_eq!(removed_events_pending(), 1);
    // Still readable: the call was kept for it.
    let mut text = String::new();
    held.read(&mut text)
        .map_err(|e| alloc::format!("read: {e}"))?;
    kassert!(text.starts_with("name: kphold\n"), "{text}");
    drop(held);
    // The next removal frees it.
    probe_event_cycle()?;
    kassert_eq!(removed_events_pending(), 0);
    Ok(())
}

ktest! {
fn a_removed_probe_event_is_freed_only_once_its_files_are_let_go() -> TestResult {
    held_file_cycle()?;
    let (before, _) = crate::heap::usage();
    held_file_cycle()?;
    let (after, _) = crate::heap::usage();
    kassert!(after <= before, "heap grew from {before} to {after} bytes");
    Ok(())
}
}
