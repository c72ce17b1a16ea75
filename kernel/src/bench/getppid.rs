//! The getppid round trip from EL0, the loop of the Linux anchor's bench (`getppid` in a tight
//! loop): one operation is one `svc #0` with x8 = 173 and its return to EL0, through the
//! vector's `svc` fast path (the handler, the syscall dispatch and `getppid`, the work check)
//! and the exception return. `getppid_sys_enter` is the same with `raw_syscalls:sys_enter`
//! enabled: its teardown checks the buffer holds one `sys_enter` entry per call (and one for
//! each loop's final `exit`), nothing else.
//!
//! The run and the baseline execute the same hand-assembled EL0 loop in an address space made
//! in the setup; the baseline has a `nop` where the run has the `svc`, so only the round trip
//! is counted. Both start and end with the same entry to and exit from user space, whose cost
//! cancels out. The loop sums the values getppid returned: the teardown checks the run made
//! exactly `ops` calls, each returning the benchmark task's pid (the program runs as its child),
//! and the baseline none.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::exception::TrapFrame;

use super::SetupError;
use crate::kbench;
use crate::process::mm::Mm;
use crate::trace::events::syscalls::{EVENT_SYS_ENTER, TraceEventRawSysEnter};
use crate::trace::events::{EVENT_MUTEX, event_enable_disable};
use crate::trace::trace::buffer;
use crate::trace::trace_entries::read_entry;

const OPS: u64 = 1000;
const CODE: u64 = 0x10000;
const STACK: u64 = 0x20000;

/// `movz x8, #173` (getppid).
const MOV_X8_GETPPID: u32 = 0xd280_15a8;
/// `movz x0, #0` (the exit status).
const MOV_X0_0: u32 = 0xd280_0000;
/// `movz x8, #93` (exit).
const MOV_X8_EXIT: u32 = 0xd280_0ba8;
const SVC_0: u32 = 0xd400_0001;
const NOP: u32 = 0xd503_201f;
/// `add x20, x20, x0`.
const ADD_X20_X0: u32 = 0x8b00_0294;
/// `subs x19, x19, #1`.
const SUBS_X19_1: u32 = 0xf100_0673;
/// `b.ne` back four instructions.
const B_NE_MINUS_16: u32 = 0x54ff_ff81;

static RUN_SUM: AtomicU64 = AtomicU64::new(0);
static BASELINE_SUM: AtomicU64 = AtomicU64::new(u64::MAX);
static FAILED: spin::Mutex<Option<String>> = spin::Mutex::new(None);

fn program(op: u32) -> Result<Box<Mm>, String> {
    let insns = [
        MOV_X8_GETPPID,
        op,
        ADD_X20_X0,
        SUBS_X19_1,
        B_NE_MINUS_16,
        MOV_X0_0,
        MOV_X8_EXIT,
        SVC_0,
    ];
    let code: alloc::vec::Vec<u8> = insns.iter().flat_map(|i| i.to_le_bytes()).collect();
    let mm = Box::new(Mm::new().map_err(|e| format!("address space: {e}"))?);
    mm.map_zeroed(CODE, 4096, false, true)
        .map_err(|e| format!("code page: {e}"))?;
    mm.map_zeroed(STACK, 4096, true, false)
        .map_err(|e| format!("stack page: {e}"))?;
    mm.write(CODE, &code).map_err(|e| format!("code: {e}"))?;
    mm.sync_icache_page(CODE)
        .map_err(|e| format!("icache: {e}"))?;
    Ok(mm)
}

/// Runs the loop `n` times with `op` in its middle; the sum of x0 after each `op`.
fn run_loop(n: u64, op: u32) -> Result<u64, String> {
    let mm = program(op)?;
    let mut regs = [0; 31];
    regs[19] = n;
    let frame = TrapFrame {
        regs,
        sp: STACK + 4096,
        pc: CODE,
        pstate: arch::uspace::USER_PSTATE,
        esr: 0,
        far: 0,
        stackframe: [0; 2],
    };
    let (status, regs) =
        crate::process::run_here(*mm, frame).map_err(|e| format!("cannot run: {e}"))?;
    if status != crate::signal::WaitStatus::exited(0) {
        return Err(format!("the loop ended with status {:#x}", status.0));
    }
    Ok(regs[20])
}

fn record(result: Result<u64, String>, sum: &AtomicU64) {
    match result {
        Ok(value) => sum.store(value, Ordering::Relaxed),
        Err(error) => *FAILED.lock() = Some(error),
    }
}

fn getppid_loop(n: u64) {
    record(run_loop(n, SVC_0), &RUN_SUM);
}

fn nop_loop(n: u64) {
    record(run_loop(n, NOP), &BASELINE_SUM);
}

fn reset() -> Result<(), SetupError> {
    RUN_SUM.store(0, Ordering::Relaxed);
    BASELINE_SUM.store(u64::MAX, Ordering::Relaxed);
    *FAILED.lock() = None;
    Ok(())
}

fn check() -> Result<(), String> {
    if let Some(error) = FAILED.lock().take() {
        return Err(error);
    }
    let ppid = u64::from(crate::sched::current().map_or(0, crate::sched::Task::pid));
    let (run, baseline) = (
        RUN_SUM.load(Ordering::Relaxed),
        BASELINE_SUM.load(Ordering::Relaxed),
    );
    if run == OPS * ppid && baseline == 0 {
        Ok(())
    } else {
        Err(format!(
            "expected {OPS} getppid calls returning {ppid} and none in the baseline, got a sum of \
             {run} and {baseline}"
        ))
    }
}

/// Enables `raw_syscalls:sys_enter` on an empty buffer, after the checks' reset.
fn enable_sys_enter() -> Result<(), SetupError> {
    reset()?;
    super::recorded::start_recording();
    let _guard = EVENT_MUTEX.lock();
    event_enable_disable(&EVENT_SYS_ENTER, true, false)
        .map_err(|e| SetupError::Fail(format!("enabling sys_enter: {e}")))
}

/// Disables the event; checks the sums and that the buffer holds exactly `OPS` getppid
/// `sys_enter` entries and the two loops' `exit` ones.
fn disable_and_check() -> Result<(), String> {
    {
        let _guard = EVENT_MUTEX.lock();
        event_enable_disable(&EVENT_SYS_ENTER, false, false)
            .map_err(|e| format!("disabling sys_enter: {e}"))?;
    }
    check()?;
    let (mut getppid, mut exit, mut other) = (0u64, 0u64, 0u64);
    for event in buffer().iter_all() {
        match read_entry::<TraceEventRawSysEnter>(&event.payload) {
            Some(e) if e.ent.type_ == EVENT_SYS_ENTER.id() && e.id == 173 => getppid += 1,
            Some(e) if e.ent.type_ == EVENT_SYS_ENTER.id() && e.id == 93 => exit += 1,
            _ => other += 1,
        }
    }
    buffer().reset(None);
    if getppid != OPS || exit != 2 || other != 0 {
        return Err(format!(
            "expected {OPS} getppid and 2 exit sys_enter entries, found {getppid}, {exit} and              {other} others"
        ));
    }
    Ok(())
}

kbench! {
    name: "getppid_sys_enter",
    ops: OPS,
    run: getppid_loop,
    baseline: "nop_instead_of_svc" => nop_loop,
    setup: enable_sys_enter,
    teardown: disable_and_check,
}

kbench! {
    name: "getppid_round_trip",
    ops: OPS,
    run: getppid_loop,
    baseline: "nop_instead_of_svc" => nop_loop,
    setup: reset,
    teardown: check,
}
