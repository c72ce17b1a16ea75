//! The cost of one enabled trace event with a `sched_switch`-sized payload (two comms, two
//! pids, two priorities, a state: 56 bytes after the common header): calls to the
//! `sched:sched_switch` tracepoint with the event enabled (the out-of-line probe walk, the
//! probe building the entry, the clock, the ring-buffer reservation and copy), against the same
//! loop without the call site. Linux 6.12 spends 808 instructions per `syscalls:sys_enter_getppid`
//! event on the same emulator (`../shared/linux-anchor`).
//!
//! The teardown checks that the run recorded exactly one `sched_switch` entry per operation,
//! each naming the benchmarking task on both sides (a real context switch during the run
//! would add one that does not), and nothing else.

use alloc::format;
use alloc::string::String;

use super::SetupError;
use super::harness::call_loop;
use super::recorded::start_recording;
use crate::kbench;
use crate::sched::current;
use crate::trace::events::sched::{
    EVENT_SCHED_SWITCH, TraceEventRawSchedSwitch, trace_sched_switch,
};
use crate::trace::events::{EVENT_MUTEX, event_enable_disable};
use crate::trace::trace::buffer;
use crate::trace::trace_entries::read_entry;

const OPS: u64 = 2_000;

/// One event: the running task switching to itself.
#[inline(never)]
fn emit_sched_switch(x: u64) -> u64 {
    if let Some(task) = current() {
        trace_sched_switch(false, task, task);
    }
    x
}

/// The same without the call site.
#[inline(never)]
fn no_event(x: u64) -> u64 {
    if let Some(task) = current() {
        core::hint::black_box(task);
    }
    x
}

fn run(n: u64) {
    call_loop(emit_sched_switch, n);
}

fn baseline(n: u64) {
    call_loop(no_event, n);
}

fn enable() -> Result<(), SetupError> {
    let _guard = EVENT_MUTEX.lock();
    event_enable_disable(&EVENT_SCHED_SWITCH, true, false)
        .map_err(|e| SetupError::Fail(format!("enabling sched_switch: {e}")))?;
    start_recording();
    Ok(())
}

/// Disables the event, then checks every entry: `OPS` `sched_switch` entries from this task
/// to itself, and nothing else.
fn disable_and_check() -> Result<(), String> {
    {
        let _guard = EVENT_MUTEX.lock();
        event_enable_disable(&EVENT_SCHED_SWITCH, false, false)
            .map_err(|e| format!("disabling sched_switch: {e}"))?;
    }
    let me = current().map_or(0, |t| t.pid() as i32);
    let (mut ours, mut other) = (0u64, 0u64);
    for event in buffer().iter_all() {
        match read_entry::<TraceEventRawSchedSwitch>(&event.payload) {
            Some(e)
                if e.ent.type_ == EVENT_SCHED_SWITCH.id()
                    && e.prev_pid == me
                    && e.next_pid == me =>
            {
                ours += 1
            }
            _ => other += 1,
        }
    }
    buffer().reset(None);
    if ours != OPS || other != 0 {
        return Err(format!(
            "expected {OPS} sched_switch entries of the benchmark, found {ours} and {other} others"
        ));
    }
    Ok(())
}

kbench! {
    name: "trace_event_enabled",
    ops: OPS,
    run: run,
    baseline: "loop_without_event" => baseline,
    setup: enable,
    teardown: disable_and_check,
}
