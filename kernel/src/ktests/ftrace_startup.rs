//! The startup self-test of the tracers (Linux: `CONFIG_FTRACE_STARTUP_TEST`,
//! `trace_selftest_startup_function` and `_function_graph`), run by the test image at
//! `-smp 4`: the `function` and the `function_graph` tracer with no filter, each switched on
//! through its tracefs files while background tasks keep every CPU busy, record events from
//! every CPU, from the scheduler's tick (the timer interrupt) and from the UART driver.
//! Switching back to `nop` leaves every site's text exactly as `ftrace_init` left it:
//! `mov x9, x30` then a NOP.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use arch::insn::{AARCH64_INSN_SIZE, mov_x9_x30, nop};
use arch::patching::read_insn;

use crate::fs::{self, WriteMode};
use crate::ktest::Context;
use crate::sched::{self, Task};
use crate::smp::{cpu_online_mask, num_online_cpus};
use crate::symbols;
use crate::trace::ftrace::records;
use crate::trace::trace::buffer;
use crate::trace::trace_entries::{ENTRY_HDR_SIZE, TRACE_FN, TRACE_GRAPH_ENT, entry_header};
use crate::workload::fib;
use crate::{kassert, kassert_eq, ktest};

const TRACING: &str = "/sys/kernel/tracing";
/// How long the tracer runs with every site enabled.
const TRACE_MS: u64 = 100;
/// Both entry types hold the function's address right after the common header.
const FN_IP_OFFSET: usize = ENTRY_HDR_SIZE;

fn write_file(name: &str, text: &str) -> Result<(), String> {
    fs::write(
        &format!("{TRACING}/{name}"),
        text.as_bytes(),
        WriteMode::Truncate,
    )
    .context(name)
}

/// A task per other online CPU, calling `fib` and sleeping until killed: the scheduler, the
/// timer and the wait queues all run on every CPU while the tracer is on.
fn start_workers() -> Result<Vec<Arc<Task>>, String> {
    let mut workers = Vec::new();
    for cpu in (1..num_online_cpus()).filter(|cpu| cpu_online_mask() & (1 << cpu) != 0) {
        let task = sched::spawn("ftrace-worker", Some(cpu), true, || {
            while !sched::signal_pending() {
                core::hint::black_box(fib(core::hint::black_box(8)));
                let _ = sched::msleep(1);
            }
        })
        .map_err(|e| format!("spawn on CPU {cpu}: {e:?}"))?;
        workers.push(task);
    }
    Ok(workers)
}

fn stop_workers(workers: &[Arc<Task>]) {
    for task in workers {
        let _ = sched::kill(task.pid());
        let _ = sched::join(task);
    }
}

/// The CPUs that recorded function entries of type `kind`, and the names of the functions
/// recorded.
fn recorded(kind: u16) -> (BTreeSet<usize>, BTreeSet<&'static str>) {
    let mut cpus = BTreeSet::new();
    let mut names = BTreeSet::new();
    for event in buffer().iter_all() {
        let p = &event.payload;
        if entry_header(p).map(|h| h.type_) != Some(kind) || p.len() < FN_IP_OFFSET + 8 {
            continue;
        }
        cpus.insert(event.cpu);
        let ip = u64::from_le_bytes(
            p[FN_IP_OFFSET..FN_IP_OFFSET + 8]
                .try_into()
                .unwrap_or_default(),
        );
        if let Some(sym) = symbols::lookup(ip) {
            names.insert(sym.name);
        }
    }
    (cpus, names)
}

fn has_prefix(names: &BTreeSet<&str>, prefix: &str) -> bool {
    names
        .iter()
        .any(|n| n.starts_with(prefix) || n.contains(&format!("<{prefix}")))
}

/// Every site is back to what `ftrace_init` wrote: `mov x9, x30; nop`.
fn every_site_is_a_nop() -> Result<(), String> {
    for rec in records() {
        let first = read_insn(rec.ip - AARCH64_INSN_SIZE as u64).or_fail()?;
        let second = read_insn(rec.ip).or_fail()?;
        if (first, second) != (mov_x9_x30(), nop()) {
            let name = symbols::lookup(rec.func()).map_or("?", |s| s.name);
            return Err(format!(
                "site {:#x} ({name}) holds {first:#010x} {second:#010x}",
                rec.ip
            ));
        }
    }
    Ok(())
}

fn tracer_everywhere(tracer: &str, entry_kind: u16) -> Result<(), String> {
    kassert!(num_online_cpus() >= 2);
    write_file("set_ftrace_filter", "")?;
    write_file("current_tracer", tracer)?;
    crate::println!("ftrace startup test: {tracer} tracer on every site");
    sched::msleep(TRACE_MS).or_fail()?;
    write_file("tracing_on", "0")?;
    let (cpus, names) = recorded(entry_kind);
    write_file("tracing_on", "1")?;
    write_file("current_tracer", "nop")?;
    let online = (0..num_online_cpus()).collect::<BTreeSet<_>>();
    kassert_eq!(cpus, online);
    for wanted in [
        "kernel::sched::core_sched::scheduler_tick",
        "kernel::workload::fib",
    ] {
        kassert!(names.contains(wanted), "{wanted} not recorded");
    }
    kassert!(
        has_prefix(&names, "kernel::console::"),
        "no UART driver function recorded"
    );
    kassert!(
        !has_prefix(&names, "kernel::trace::"),
        "the tracer traced itself"
    );
    every_site_is_a_nop()
}

/// Runs [`tracer_everywhere`] with the workers going; back to `nop` whatever happens.
fn startup_test(tracer: &str, entry_kind: u16) -> Result<(), String> {
    let workers = start_workers()?;
    let result = tracer_everywhere(tracer, entry_kind);
    stop_workers(&workers);
    if result.is_err() {
        let _ = write_file("current_tracer", "nop");
        let _ = write_file("tracing_on", "1");
    }
    result
}

ktest! {
fn function_tracer_on_every_site_under_smp_load_then_all_nops() -> TestResult {
    startup_test("function", TRACE_FN)
}
}

ktest! {
fn function_graph_on_every_site_under_smp_load_then_all_nops() -> TestResult {
    startup_test("function_graph", TRACE_GRAPH_ENT)
}
}
