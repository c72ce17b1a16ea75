//! `irq:` events (Linux: `include/trace/events/irq.h`), with Linux 6.12's fields, print formats
//! and output: `irq_handler_entry` and `irq_handler_exit`, fired around every action handler
//! the IRQ layer runs (`arch::irq::generic_handle_domain_irq`, through its handler hooks).
//!
//! `irq` is our interrupt number, the GIC interrupt ID /proc/interrupts shows (Linux prints its
//! virtual irq number), and `name` the action's name as /proc/interrupts shows it.

use arch::irq::IrqHandlerHooks;

use crate::trace::trace_events::{DataLoc, TraceEventCall};
use core::sync::atomic::{AtomicU32, Ordering};

use crate::trace_event;

/// The longest handler name recorded whole, its NUL included (Linux's `__string` has no limit;
/// our names are static and far shorter: a longer one is cut here).
const NAME_MAX: usize = 64;

/// How many bytes `name` takes in an entry: Linux's `__string` records it with its NUL.
fn recorded_len(name: &str) -> usize {
    name.len().min(NAME_MAX - 1) + 1
}

/// `name` NUL-terminated, as the entry's dynamic data; its first [`recorded_len`] bytes count.
fn name_with_nul(name: &str) -> [u8; NAME_MAX] {
    let mut buf = [0; NAME_MAX];
    let n = recorded_len(name) - 1;
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    buf
}

trace_event! {
    /// An interrupt's handler is about to run (Linux: `__handle_irq_event_percpu`).
    irq: irq_handler_entry,
    proto: (irq: u32, name: &str),
    entry: {
        irq: i32 = "int",
        name: DataLoc = "char",
    },
    assign: |e| {
        e.irq = irq as i32;
        e.name = DataLoc::after(core::mem::size_of_val(e), recorded_len(name));
    },
    tail: &name_with_nul(name)[..recorded_len(name)],
    regfunc: hooks_get, unregfunc: hooks_put,
    print_fmt: "\"irq=%d name=%s\", REC->irq, __get_str(name)",
    print: |e, rec, w| write!(w, "irq={} name={}", e.irq, e.name.get_str(rec)),
}

trace_event! {
    /// An interrupt's handler returned `ret` (Linux's `irqreturn_t`: nonzero is handled).
    irq: irq_handler_exit,
    proto: (irq: u32, ret: i32),
    entry: {
        irq: i32 = "int",
        ret: i32 = "int",
    },
    assign: |e| {
        e.irq = irq as i32;
        e.ret = ret;
    },
    regfunc: hooks_get, unregfunc: hooks_put,
    print_fmt: "\"irq=%d ret=%s\", REC->irq, REC->ret ? \"handled\" : \"unhandled\"",
    print: |e, _rec, w| write!(
        w,
        "irq={} ret={}",
        e.irq,
        if e.ret != 0 { "handled" } else { "unhandled" }
    ),
}

arch::noinstr! {
/// The IRQ layer's entry hook: the `irq_handler_entry` tracepoint.
fn handler_entry(irq: u32, name: &'static str) {
    trace_irq_handler_entry(irq, name);
}
}

arch::noinstr! {
/// The IRQ layer's exit hook: the `irq_handler_exit` tracepoint.
fn handler_exit(irq: u32, ret: i32) {
    trace_irq_handler_exit(irq, ret);
}
}

static HOOKS: IrqHandlerHooks = IrqHandlerHooks {
    entry: handler_entry,
    exit: handler_exit,
};

/// Tracepoints (of the two) with a probe attached: the IRQ layer calls the hooks only while
/// there is one, so an interrupt costs nothing more while both events are off. Changed under
/// the tracepoints' mutex.
static HOOK_USERS: AtomicU32 = AtomicU32::new(0);

/// The regfunc of both tracepoints: puts the hooks around every handler.
fn hooks_get() {
    if HOOK_USERS.fetch_add(1, Ordering::Relaxed) == 0 {
        arch::irq::set_irq_handler_hooks(Some(&HOOKS));
    }
}

/// Their unregfunc: takes the hooks away with the last probe. A handler already past the
/// hook load may still call a hook, which then finds its tracepoint off.
fn hooks_put() {
    if HOOK_USERS.fetch_sub(1, Ordering::Relaxed) == 1 {
        arch::irq::set_irq_handler_hooks(None);
    }
}

/// The events, in registration order.
pub static EVENTS: [&TraceEventCall; 2] = [&EVENT_IRQ_HANDLER_ENTRY, &EVENT_IRQ_HANDLER_EXIT];
