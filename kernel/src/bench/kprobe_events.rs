//! The cost of a kprobe event hit, recorded: what `kprobe_events` users pay, the kprobe core's
//! path plus the event's dispatcher, its fetch program and the ring-buffer write.
//!
//! - `kprobe_event_entry`: `p SYM x=$arg1` on a leaf, through its ftrace site (`SYM+0`,
//!   KPROBES_ON_FTRACE), one argument recorded (Linux 6.12: 1221 on the same emulator);
//! - `kprobe_event_brk_xol`: the same at `SYM+8` (`x=%x0`): the `brk #0x004`, the event
//!   recorded, the instruction in its XOL slot and `brk #0x006` back;
//! - `kretprobe_event`: `r SYM ret=$retval`, entry and return, one return recorded with the
//!   function and the real return address (Linux 6.12: 1788).
//!
//! Each against the same calls of an identical unprobed leaf. The events are made through
//! `kprobe_events` and enabled through their `enable` files, as a user would. The setup refuses
//! a probe that did not land where the row says; the teardown checks that exactly one entry per
//! operation was written, of the row's event and naming the leaf (the buffer's counters: none
//! dropped, nothing else), that `kprobe_profile` counts one hit per operation and no miss.

use alloc::format;
use alloc::string::String;

use super::SetupError;
use super::harness::call_loop;
use super::recorded::{check_recorded, start_recording};
use crate::fs::{self, WriteMode};
use crate::kbench;
use crate::trace::trace_output::EVENTS;
use crate::tracefs::TRACEFS;

const OPS: u64 = 5_000;
const GROUP: &str = "kbench";

/// The leaf probed at `SYM+0`.
#[inline(never)]
pub fn kprobe_event_entry_leaf(x: u64) -> u64 {
    x.wrapping_mul(3).wrapping_add(1)
}

/// The leaf probed at `SYM+8`, the first instruction of its body.
#[inline(never)]
pub fn kprobe_event_brk_leaf(x: u64) -> u64 {
    x.wrapping_mul(5).wrapping_add(1)
}

/// The leaf with a kretprobe event.
#[inline(never)]
pub fn kretprobe_event_leaf(x: u64) -> u64 {
    x.wrapping_mul(7).wrapping_add(1)
}

/// The unprobed twin.
#[inline(never)]
pub fn kprobe_event_unprobed(x: u64) -> u64 {
    x.wrapping_mul(9).wrapping_add(1)
}

fn call_entry_leaf(n: u64) {
    call_loop(kprobe_event_entry_leaf, n);
}

fn call_brk_leaf(n: u64) {
    call_loop(kprobe_event_brk_leaf, n);
}

fn call_kretprobe_leaf(n: u64) {
    call_loop(kretprobe_event_leaf, n);
}

fn call_unprobed(n: u64) {
    call_loop(kprobe_event_unprobed, n);
}

fn write(file: &str, data: &str, mode: WriteMode) -> Result<(), String> {
    fs::write(&format!("{TRACEFS}/{file}"), data.as_bytes(), mode)
        .map_err(|e| format!("{file} <- {data}: {e}"))
}

fn symbol_of(leaf: fn(u64) -> u64) -> Result<&'static str, String> {
    crate::symbols::lookup(leaf as usize as u64)
        .map(|s| s.name)
        .ok_or_else(|| "the leaf has no symbol".into())
}

/// Makes and enables the event `event` (`kind` `p` or `r`) on `leaf` + `offset` with `args`,
/// and checks its probe went through ftrace or not as `ftrace` says.
fn setup_event(
    kind: char,
    event: &str,
    leaf: fn(u64) -> u64,
    offset: u64,
    args: &str,
    ftrace: bool,
) -> Result<(), SetupError> {
    let fail = SetupError::Fail;
    let sym = symbol_of(leaf).map_err(fail)?;
    let point = if offset == 0 {
        String::from(sym)
    } else {
        format!("{sym}+{offset}")
    };
    write(
        "kprobe_events",
        &format!("{kind}:{GROUP}/{event} {point} {args}"),
        WriteMode::Append,
    )
    .map_err(fail)?;
    let addr = leaf as usize as u64 + if ftrace { 0 } else { offset };
    let landed = crate::kprobes::registered_probes()
        .iter()
        .any(|p| p.addr == addr && p.ftrace == ftrace);
    if !landed {
        let _ = write(
            "kprobe_events",
            &format!("-:{GROUP}/{event}"),
            WriteMode::Append,
        );
        return Err(fail(format!(
            "the probe at {point} is not {}",
            if ftrace {
                "on the ftrace site"
            } else {
                "a BRK"
            }
        )));
    }
    start_recording();
    write(
        &format!("events/{GROUP}/{event}/enable"),
        "1",
        WriteMode::Truncate,
    )
    .map_err(fail)
}

/// `event`'s hits and misses in `kprobe_profile`.
fn profile(event: &str) -> Result<(u64, u64), String> {
    let mut text = String::new();
    fs::read(&format!("{TRACEFS}/kprobe_profile"), &mut text).map_err(|e| format!("{e}"))?;
    text.lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            if words.next() != Some(event) {
                return None;
            }
            Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
        })
        .ok_or_else(|| format!("{event} is not in kprobe_profile"))
}

/// Disables and removes `event`, then checks the buffer holds `OPS` of its entries naming
/// `ip` and nothing else, and its profile `OPS` hits, no miss.
fn teardown_event(event: &str, ip: u64) -> Result<(), String> {
    let disabled = write(
        &format!("events/{GROUP}/{event}/enable"),
        "0",
        WriteMode::Truncate,
    );
    let id = EVENTS.read().lookup(GROUP, event).map(|c| c.id());
    let counts = profile(event);
    let recorded = match id {
        Some(id) => check_recorded(OPS, &[id], ip),
        None => Err(format!("{GROUP}/{event} is not registered")),
    };
    crate::trace::trace::buffer().reset(None);
    write(
        "kprobe_events",
        &format!("-:{GROUP}/{event}"),
        WriteMode::Append,
    )?;
    disabled?;
    recorded?;
    match counts? {
        (hits, 0) if hits == OPS => Ok(()),
        (hits, missed) => Err(format!(
            "expected {OPS} hits and no miss in kprobe_profile, got {hits} and {missed}"
        )),
    }
}

fn setup_entry() -> Result<(), SetupError> {
    setup_event('p', "kp_entry", kprobe_event_entry_leaf, 0, "x=$arg1", true)
}

fn teardown_entry() -> Result<(), String> {
    teardown_event(
        "kp_entry",
        kprobe_event_entry_leaf as fn(u64) -> u64 as usize as u64,
    )
}

fn setup_brk() -> Result<(), SetupError> {
    setup_event('p', "kp_brk", kprobe_event_brk_leaf, 8, "x=%x0", false)
}

fn teardown_brk() -> Result<(), String> {
    teardown_event(
        "kp_brk",
        kprobe_event_brk_leaf as fn(u64) -> u64 as usize as u64 + 8,
    )
}

fn setup_kretprobe() -> Result<(), SetupError> {
    setup_event('r', "kretp", kretprobe_event_leaf, 0, "ret=$retval", true)
}

fn teardown_kretprobe() -> Result<(), String> {
    teardown_event(
        "kretp",
        kretprobe_event_leaf as fn(u64) -> u64 as usize as u64,
    )
}

kbench! {
    name: "kprobe_event_entry",
    ops: OPS,
    run: call_entry_leaf,
    baseline: "call_unprobed_leaf" => call_unprobed,
    setup: setup_entry,
    teardown: teardown_entry,
}

kbench! {
    name: "kprobe_event_brk_xol",
    ops: OPS,
    run: call_brk_leaf,
    baseline: "call_unprobed_leaf" => call_unprobed,
    setup: setup_brk,
    teardown: teardown_brk,
}

kbench! {
    name: "kretprobe_event",
    ops: OPS,
    run: call_kretprobe_leaf,
    baseline: "call_unprobed_leaf" => call_unprobed,
    setup: setup_kretprobe,
    teardown: teardown_kretprobe,
}
