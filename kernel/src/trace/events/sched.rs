//! `sched:` events (Linux: `include/trace/events/sched.h`), with Linux 6.12's fields, print
//! formats and output: `sched_switch`, `sched_waking`, `sched_wakeup`, `sched_wakeup_new`,
//! `sched_process_exit`, `sched_process_free`.
//!
//! Every task has Linux's default priority (`prio` 120: nice 0, the only one our scheduler
//! has); an idle task's comm is Linux's `swapper/N`.

use core::fmt::{self, Write};

use crate::sched::{Task, TaskState};
use crate::trace::trace_events::TraceEventCall;
use crate::trace::trace_output::TASK_COMM_LEN;
use crate::trace_event;

/// Linux's `MAX_RT_PRIO + NICE_WIDTH / 2`: the `prio` of a nice-0 task.
pub const DEFAULT_PRIO: i32 = 120;

/// `prev_state` bits (Linux's `TASK_REPORT` states, as `__trace_sched_switch_state` gives them).
pub const TASK_INTERRUPTIBLE: i64 = 0x0001;
pub const __TASK_STOPPED: i64 = 0x0004;
pub const EXIT_DEAD: i64 = 0x0010;
/// Linux's `TASK_REPORT_MAX`: the task was preempted while runnable (printed `R+`).
pub const TASK_REPORT_MAX: i64 = 0x0100;

/// The letters of the `TASK_REPORT` bits, as `__print_flags` prints them.
const STATE_FLAGS: [(i64, &str); 8] = [
    (0x01, "S"),
    (0x02, "D"),
    (0x04, "T"),
    (0x08, "t"),
    (0x10, "X"),
    (0x20, "Z"),
    (0x40, "P"),
    (0x80, "I"),
];

/// A task's comm as the events store it: `char comm[16]`, NUL-padded; `swapper/N` for CPU
/// N's idle task, as Linux names it.
#[inline(always)]
pub fn comm_field(task: &Task) -> [u8; TASK_COMM_LEN] {
    if task.is_idle() {
        return idle_comm(task.cpu());
    }
    task.comm()
}

/// `swapper/N`, without the formatting machinery (this runs at every switch to or from idle).
fn idle_comm(cpu: usize) -> [u8; TASK_COMM_LEN] {
    const PREFIX: &[u8] = b"swapper/";
    let mut comm = [0; TASK_COMM_LEN];
    comm[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 20];
    let mut n = cpu;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (slot, digit) in comm[PREFIX.len()..TASK_COMM_LEN - 1]
        .iter_mut()
        .zip(digits[..len].iter().rev())
    {
        *slot = *digit;
    }
    comm
}

/// A `char[N]` field as `%s` prints it: up to the first NUL.
pub fn field_str(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).unwrap_or("")
}

/// `prev_state` for a task switched away from (Linux's `__trace_sched_switch_state`). An
/// idle task is always running (Linux switches it out with `schedule_idle`, never preempted).
pub fn switch_state(preempt: bool, prev: &Task) -> i64 {
    if prev.is_idle() {
        return 0;
    }
    if preempt {
        return TASK_REPORT_MAX;
    }
    match prev.state() {
        TaskState::Running => 0,
        TaskState::Interruptible => TASK_INTERRUPTIBLE,
        TaskState::Dead => EXIT_DEAD,
        TaskState::Stopped => __TASK_STOPPED,
    }
}

/// `prev_state=%s%s` of `sched_switch`: the state letters joined by `|`, or `R`; then `+` when
/// preempted.
fn write_state(w: &mut dyn Write, state: i64) -> fmt::Result {
    let bits = state & (TASK_REPORT_MAX - 1);
    if bits == 0 {
        w.write_char('R')?;
    } else {
        let mut sep = "";
        for (bit, letter) in STATE_FLAGS {
            if bits & bit != 0 {
                write!(w, "{sep}{letter}")?;
                sep = "|";
            }
        }
    }
    if state & TASK_REPORT_MAX != 0 {
        w.write_char('+')?;
    }
    Ok(())
}

trace_event! {
    /// A context switch, traced before the switch itself (Linux: `trace_sched_switch` in
    /// `__schedule`).
    sched: sched_switch,
    proto: (preempt: bool, prev: &Task, next: &Task),
    entry: {
        prev_comm: [u8; 16] = "char",
        prev_pid: i32 = "pid_t",
        prev_prio: i32 = "int",
        prev_state: i64 = "long",
        next_comm: [u8; 16] = "char",
        next_pid: i32 = "pid_t",
        next_prio: i32 = "int",
    },
    assign: |e| {
        e.prev_comm = comm_field(prev);
        e.prev_pid = prev.pid() as i32;
        e.prev_prio = DEFAULT_PRIO;
        e.prev_state = switch_state(preempt, prev);
        e.next_comm = comm_field(next);
        e.next_pid = next.pid() as i32;
        e.next_prio = DEFAULT_PRIO;
    },
    print_fmt: concat!(
        "\"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d ",
        "next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ",
        "((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | ",
        "0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ",
        "((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | ",
        "0x00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, ",
        "{ 0x00000002, \"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, ",
        "{ 0x00000010, \"X\" }, { 0x00000020, \"Z\" }, { 0x00000040, \"P\" }, ",
        "{ 0x00000080, \"I\" }) : \"R\", REC->prev_state & (((0x00000000 | 0x00000001 | ",
        "0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) ",
        "<< 1) ? \"+\" : \"\", REC->next_comm, REC->next_pid, REC->next_prio"
    ),
    print: |e, _rec, w| {
        write!(
            w,
            "prev_comm={} prev_pid={} prev_prio={} prev_state=",
            field_str(&e.prev_comm),
            e.prev_pid,
            e.prev_prio
        )
        .and_then(|()| write_state(w, e.prev_state))
        .and_then(|()| {
            write!(
                w,
                " ==> next_comm={} next_pid={} next_prio={}",
                field_str(&e.next_comm),
                e.next_pid,
                e.next_prio
            )
        })
    },
}

/// The `print fmt` of the wakeup events.
const WAKEUP_FMT: &str =
    "\"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu";

macro_rules! wakeup_event {
    ($(#[$meta:meta])* $name:ident) => {
        trace_event! {
            $(#[$meta])*
            sched: $name,
            proto: (task: &Task),
            entry: {
                comm: [u8; 16] = "char",
                pid: i32 = "pid_t",
                prio: i32 = "int",
                target_cpu: i32 = "int",
            },
            assign: |e| {
                e.comm = comm_field(task);
                e.pid = task.pid() as i32;
                e.prio = DEFAULT_PRIO;
                e.target_cpu = task.cpu() as i32;
            },
            print_fmt: WAKEUP_FMT,
            print: |e, _rec, w| write!(
                w,
                "comm={} pid={} prio={} target_cpu={:03}",
                field_str(&e.comm),
                e.pid,
                e.prio,
                e.target_cpu
            ),
        }
    };
}

wakeup_event!(
    /// A wakeup begins, in the waker's context (Linux: `try_to_wake_up`).
    sched_waking
);
wakeup_event!(
    /// A woken task is queued to run (Linux: `ttwu_do_wakeup`).
    sched_wakeup
);
wakeup_event!(
    /// A new task is queued to run for the first time (Linux: `wake_up_new_task`).
    sched_wakeup_new
);

/// The `print fmt` of the process events.
const PROCESS_FMT: &str = "\"comm=%s pid=%d prio=%d\", REC->comm, REC->pid, REC->prio";

macro_rules! process_event {
    ($(#[$meta:meta])* $name:ident) => {
        trace_event! {
            $(#[$meta])*
            sched: $name,
            proto: (task: &Task),
            entry: {
                comm: [u8; 16] = "char",
                pid: i32 = "pid_t",
                prio: i32 = "int",
            },
            assign: |e| {
                e.comm = comm_field(task);
                e.pid = task.pid() as i32;
                e.prio = DEFAULT_PRIO;
            },
            print_fmt: PROCESS_FMT,
            print: |e, _rec, w| write!(
                w,
                "comm={} pid={} prio={}",
                field_str(&e.comm),
                e.pid,
                e.prio
            ),
        }
    };
}

process_event!(
    /// A task exits (Linux: `do_exit`).
    sched_process_exit
);
process_event!(
    /// A task's memory is freed (Linux: `delayed_put_task_struct`).
    sched_process_free
);

/// The `sched:` events, in registration order.
pub static EVENTS: [&TraceEventCall; 6] = [
    &EVENT_SCHED_SWITCH,
    &EVENT_SCHED_WAKING,
    &EVENT_SCHED_WAKEUP,
    &EVENT_SCHED_WAKEUP_NEW,
    &EVENT_SCHED_PROCESS_EXIT,
    &EVENT_SCHED_PROCESS_FREE,
];
