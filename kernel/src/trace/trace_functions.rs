//! The `function` tracer's callbacks (Linux: `kernel/trace/trace_functions.c`): one
//! `function` entry per traced call, and with `options/func_stack_trace` its stack after it.
//!
//! Every function-tracing callback (these two and the `set_ftrace_filter` probe commands of
//! [`super::func_probes`]) runs through one skeleton, [`function_trace`]: the recursion guard,
//! the global buffer, the callback's own work. The callbacks are `noinstr`: what they reach
//! (the ring-buffer writer, the clock, `current`, the per-CPU helpers) is too, so nothing they
//! call can recurse into them (`cargo xtask build` checks it).
//!
//! `func_stack_trace` swaps the tracer's ops (see `trace::set_func_stack_trace`) rather than
//! being tested in the plain callback, so the plain function tracer's path is unchanged when it
//! is off.

use arch::ftrace::FtraceRegs;

use super::ftrace_ops::{FtraceOps, ftrace_test_recursion_trylock, ftrace_test_recursion_unlock};
use super::func_stack::record_stack;
use super::options;
use super::ring_buffer::RingBuffer;
use super::trace::{tracing_gen_ctx, try_buffer};
use super::trace_clock;
use super::trace_entries::{FtraceEntry, TRACE_FN};

/// The function tracer's ops.
pub static FUNCTION_OPS: FtraceOps = FtraceOps::new(function_trace_call, 0);

/// The function tracer's ops while `func_stack_trace` is on.
pub static FUNCTION_STACK_OPS: FtraceOps = FtraceOps::new(function_stack_trace_call, 0);

/// The function tracer's ops: the stack-tracing one while `func_stack_trace` is on.
pub fn function_ops() -> &'static FtraceOps {
    if options::enabled(options::FUNC_STACK_TRACE) {
        &FUNCTION_STACK_OPS
    } else {
        &FUNCTION_OPS
    }
}

/// The skeleton of every function-tracing callback: `body` runs with the trace buffer, unless
/// this CPU is already inside one (Linux's `ftrace_test_recursion_trylock`) or there is no
/// buffer yet. Callbacks run with IRQs masked, so `body` writes to this CPU's buffer.
#[inline(always)]
pub fn function_trace(body: impl FnOnce(&'static RingBuffer)) {
    let bit = ftrace_test_recursion_trylock();
    if bit < 0 {
        return;
    }
    if let Some(rb) = try_buffer() {
        body(rb);
    }
    ftrace_test_recursion_unlock(bit);
}

/// Records one `function` entry at `ts`; the CPU it was written on.
#[inline(always)]
fn write_function_entry(
    rb: &RingBuffer,
    ts: u64,
    ip: u64,
    parent_ip: u64,
    irqs_off: bool,
) -> usize {
    let (ent, cpu) = tracing_gen_ctx(TRACE_FN, irqs_off);
    // SAFETY: this CPU, with IRQs masked until the entry is committed; whole words.
    unsafe { rb.write_entry(cpu, ts, FtraceEntry { ent, ip, parent_ip }.words()) };
    cpu
}

arch::noinstr! {
/// The `function` tracer's callback: one `function` entry per call. Everything it uses is
/// inlined: the only call is the ring buffer's rare page switch.
pub fn function_trace_call(ip: u64, parent_ip: u64, _ops: &FtraceOps, regs: &mut FtraceRegs) {
    function_trace(|rb| {
        let ts = trace_clock::now();
        write_function_entry(rb, ts, ip, parent_ip, regs.irqs_disabled());
    });
}
}

arch::noinstr! {
/// The callback while `func_stack_trace` is on (Linux's `function_stack_trace_call`): the
/// function entry, then its stack from the function itself.
pub fn function_stack_trace_call(ip: u64, parent_ip: u64, _ops: &FtraceOps, regs: &mut FtraceRegs) {
    function_trace(|rb| {
        let irqs_off = regs.irqs_disabled();
        // One timestamp for both entries, as Linux stamps them with one context.
        let ts = trace_clock::now();
        let cpu = write_function_entry(rb, ts, ip, parent_ip, irqs_off);
        record_stack(rb, cpu, ts, irqs_off, &[ip, parent_ip], regs.fp);
    });
}
}
