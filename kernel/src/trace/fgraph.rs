//! The function-graph core (Linux: `kernel/trace/fgraph.c`): a function's entry and its return,
//! by hooking the return address. The `function_graph` tracer is its first user; fprobe exits
//! and kretprobes are meant to be the next.
//!
//! An [`FgraphOps`] is an entry handler, a return handler and the [`FtraceOps`] that brings its
//! functions' entries here (its filter and notrace hashes choose the functions). On entry,
//! [`ftrace_graph_func`] asks the entry handler whether it wants the return; if so, it pushes the
//! real return address (the `lr` of the `ftrace_caller` frame) on the task's shadow stack, a
//! [`RetStack`] inside every task, and replaces it with `return_to_handler` (`arch::ftrace`).
//! When the function returns there, [`ftrace_return_to_handler`] pops the entry, calls the
//! return handler and hands the real address back to the trampoline.
//!
//! Both halves run with IRQs masked on the task's own CPU (tasks never migrate), so the shadow
//! stack needs no lock: an interrupt's functions (on the CPU's IRQ stack) push and pop above the
//! interrupted ones on the interrupted task's shadow stack, strictly nested. Each entry remembers the stack pointer at the
//! function's entry; a return that does not come back with the same one means the shadow stack
//! no longer matches the real one, and the kernel stops with a report rather than returning to
//! a wrong address.
//!
//! Two users on one function hook its return twice: the second saves `return_to_handler` as the
//! "real" address, so the function returns through both, innermost first.
//!
//! kretprobes hook returns here too, from their kprobe's handler rather than from an ftrace_ops
//! callback ([`function_graph_hook_return`], Linux's `rethook_hook`), each with a data word
//! for its return handler: so a kretprobe and `function_graph` on one function both see every
//! return, and unwinders see one shadow stack.
//!
//! A task that ends inside hooked functions never returns through them: when it is freed, its
//! shadow stack is flushed (Linux's `rethook_flush_task()`), each entry through its user's
//! [`GraphFlushFunc`], which gives back the instance its data word names.

use core::cell::UnsafeCell;
use core::sync::atomic::Ordering;

use arch::ftrace::{FgraphRetRegs, FtraceRegs, return_to_handler_addr};

use super::ftrace_ops::{
    FtraceOps, ftrace_test_recursion_trylock_word, ftrace_test_recursion_unlock_word,
};
use super::trace_clock;
use crate::fs::Errno;
use crate::sched::Task;
use crate::smp::PerCpu;

/// Calls one task can have hooked at once (Linux: `FTRACE_RETFUNC_DEPTH`); deeper calls run
/// untraced and are counted in [`RetStack::overrun`].
pub const FTRACE_RETFUNC_DEPTH: usize = 50;

/// A hooked function's entry, as the entry handler sees it (Linux: `ftrace_graph_ent`).
#[derive(Clone, Copy, Debug)]
pub struct FtraceGraphEnt {
    /// The patch site's address (`rec->ip`), inside the function.
    pub func: u64,
    /// Hooked calls below it on this task's shadow stack.
    pub depth: u32,
    /// The trace clock at entry (0 for an [`FgraphOps::new_with_flush`] user).
    pub calltime: u64,
}

/// A hooked function's return (Linux: `ftrace_graph_ret`).
#[derive(Clone, Copy, Debug)]
pub struct FtraceGraphRet {
    pub func: u64,
    pub depth: u32,
    pub calltime: u64,
    /// The trace clock at the return (0 for an [`FgraphOps::new_with_flush`] user).
    pub rettime: u64,
    /// x0 at the return.
    pub retval: u64,
    /// What [`function_graph_hook_return`] was given (0 for ftrace_ops users).
    pub data: u64,
}

/// Per-task state the function_graph tracer's filters keep between an entry and its return
/// (Linux keeps the same in `current->trace_recursion`: `TRACE_GRAPH_BIT` with the depth,
/// `TRACE_GRAPH_NOTRACE_BIT` and `TRACE_IRQ_BIT`).
#[derive(Clone, Copy, Debug)]
pub struct GraphTaskState {
    /// Depth of the `set_graph_function` function the task is inside, or -1.
    pub filter_depth: i32,
    /// Depth of the `set_graph_notrace` function the task is inside, or -1.
    pub notrace_depth: i32,
    /// The last `set_graph_function` function entered was entered by an interrupt: its
    /// callees are traced even with `funcgraph-irqs` off.
    pub filter_in_irq: bool,
}

/// Decides whether `ent`'s return is hooked; may record the entry.
pub type GraphEntryFunc = fn(&FtraceGraphEnt, &mut GraphTaskState, &FtraceRegs) -> bool;
/// Runs at every hooked return, also after its ops was unregistered (a task may have been
/// inside a hooked function then), so it can keep [`GraphTaskState`] straight.
pub type GraphReturnFunc = fn(&FtraceGraphRet, &mut GraphTaskState, &FgraphRetRegs);
/// Runs for each of its hooked returns a task still has when it is freed (it ended inside the
/// hooked functions: Linux's `rethook_flush_task()`), with the data word of the entry: gives
/// back what the hook holds, without calling any handler.
pub type GraphFlushFunc = fn(data: u64);

/// A function-graph user (Linux: `struct fgraph_ops`).
#[repr(C)]
pub struct FgraphOps {
    /// First, so [`ftrace_graph_func`] finds the `FgraphOps` from the `FtraceOps` it is called
    /// with (Linux's `container_of`).
    ops: FtraceOps,
    entryfunc: GraphEntryFunc,
    retfunc: GraphReturnFunc,
    flushfunc: Option<GraphFlushFunc>,
    /// Whether its entries and returns carry trace-clock times (`calltime`, `rettime`).
    timestamps: bool,
}

impl FgraphOps {
    pub const fn new(entryfunc: GraphEntryFunc, retfunc: GraphReturnFunc) -> Self {
        Self {
            ops: FtraceOps::new(ftrace_graph_func, 0),
            entryfunc,
            retfunc,
            flushfunc: None,
            timestamps: true,
        }
    }

    /// A user whose hooked returns hold something ([`function_graph_hook_return`]'s data word
    /// names it) that `flushfunc` gives back when a task ends without returning (kretprobes,
    /// fprobe). Such a user reads no times: its `calltime` and `rettime` are 0, sparing two
    /// clock reads per call.
    pub const fn new_with_flush(
        entryfunc: GraphEntryFunc,
        retfunc: GraphReturnFunc,
        flushfunc: GraphFlushFunc,
    ) -> Self {
        Self {
            ops: FtraceOps::new(ftrace_graph_func, 0),
            entryfunc,
            retfunc,
            flushfunc: Some(flushfunc),
            timestamps: false,
        }
    }

    /// The ftrace_ops whose filter and notrace hashes pick the functions.
    pub fn ops(&'static self) -> &'static FtraceOps {
        &self.ops
    }

    /// Linux's `register_ftrace_graph()`.
    pub fn register(&'static self) -> Result<(), Errno> {
        self.ops.register()
    }

    /// Linux's `unregister_ftrace_graph()`. Returns already hooked stay hooked and still reach
    /// the return handler.
    pub fn unregister(&'static self) -> Result<(), Errno> {
        self.ops.unregister()
    }
}

/// One hooked call.
#[derive(Clone, Copy)]
struct RetEntry {
    /// Where the function really returns to.
    ret: u64,
    func: u64,
    calltime: u64,
    /// The stack pointer at the function's entry, which it must return with.
    sp: u64,
    /// The frame pointer at the function's entry (its caller's), which its frame record saves.
    fp: u64,
    gops: *const FgraphOps,
    /// The hooker's word for its return handler.
    data: u64,
}

impl RetEntry {
    const EMPTY: Self = Self {
        ret: 0,
        func: 0,
        calltime: 0,
        sp: 0,
        fp: 0,
        gops: core::ptr::null(),
        data: 0,
    };
}

/// A task's shadow stack of hooked calls (Linux: `current->ret_stack`).
pub struct RetStack {
    depth: usize,
    /// Calls that were not hooked because the stack was full.
    overrun: u64,
    state: GraphTaskState,
    entries: [RetEntry; FTRACE_RETFUNC_DEPTH],
}

impl RetStack {
    pub const fn new() -> Self {
        Self {
            depth: 0,
            overrun: 0,
            state: GraphTaskState {
                filter_depth: -1,
                notrace_depth: -1,
                filter_in_irq: false,
            },
            entries: [RetEntry::EMPTY; FTRACE_RETFUNC_DEPTH],
        }
    }
}

impl Default for RetStack {
    fn default() -> Self {
        Self::new()
    }
}

/// The shadow stack of a task: only its own CPU touches it, with IRQs masked.
pub struct TaskRetStack(UnsafeCell<RetStack>);

impl TaskRetStack {
    pub const fn new() -> Self {
        Self(UnsafeCell::new(RetStack::new()))
    }
}

/// The running task's hooked calls in progress and calls not hooked for lack of room.
pub fn current_depth_and_overrun() -> (usize, u64) {
    let _irqs = arch::irqflags::local_irq_save_guard();
    current_ret_stack().map_or((0, 0), |rs| (rs.depth, rs.overrun))
}

impl Default for TaskRetStack {
    fn default() -> Self {
        Self::new()
    }
}

/// The task is freed (Linux's `delayed_put_task_struct()` calling `rethook_flush_task()`): the
/// hooked returns it still has, from functions it ended inside of, give back what they hold.
/// No handler runs and nothing is counted, as in Linux. Nothing else can touch the stack now:
/// no CPU runs the task any more.
impl Drop for TaskRetStack {
    fn drop(&mut self) {
        flush_ret_stack(self.0.get_mut());
    }
}

/// Pops every entry of `rs`, innermost first, through its user's flush function.
fn flush_ret_stack(rs: &mut RetStack) {
    while let Some(depth) = rs.depth.checked_sub(1) {
        rs.depth = depth;
        let entry = rs.entries[depth];
        // SAFETY: FgraphOps are statics (`register` and `function_graph_hook_return` take
        // `&'static`).
        if let Some(gops) = unsafe { entry.gops.as_ref() }
            && let Some(flush) = gops.flushfunc
        {
            flush(entry.data);
        }
    }
}

// SAFETY: the stack is only ever accessed by its task's own CPU, with IRQs masked, while the
// task is current there (see the module comment); no other CPU reads it.
unsafe impl Sync for TaskRetStack {}

/// The running task's shadow stack, or None before the scheduler has a task here.
#[inline(always)]
fn current_ret_stack() -> Option<&'static mut RetStack> {
    ret_stack_of(crate::smp::this_cpu())
}

/// [`current_ret_stack`] from this CPU's per-CPU area, which the caller already has.
#[inline(always)]
fn ret_stack_of(pcpu: &PerCpu) -> Option<&'static mut RetStack> {
    let task: *const Task = pcpu.current.load(Ordering::Relaxed);
    // SAFETY: the running task stays alive while it runs here, and its shadow stack is only
    // touched by this CPU with IRQs masked, which the callers are.
    unsafe { task.as_ref().map(|t| &mut *t.ret_stack().0.get()) }
}

/// Linux's `ftrace_graph_ret_addr()`: an unwinder that read `ret` and `parent_fp` from a frame
/// record gets the real return address when `ret` is `return_to_handler`. The record belongs
/// to the hooked call entered with that frame pointer (the caller's, which the callee's record
/// saves: Linux's `retp`), an exact match whichever stack the record is on (a task's, an IRQ
/// stack); when two users hooked that call (or a hooked function tail-called another), the
/// inner entry's "real" address is `return_to_handler` again and the outer one has it.
#[inline(always)]
pub fn ftrace_graph_ret_addr(ret: u64, parent_fp: u64) -> u64 {
    let hook = return_to_handler_addr();
    if ret != hook {
        return ret;
    }
    let _irqs = arch::irqflags::local_irq_save_guard();
    let Some(rs) = current_ret_stack() else {
        return ret;
    };
    let mut at = rs.depth;
    while at > 0 {
        at -= 1;
        let entry = &rs.entries[at];
        if entry.fp == parent_fp && entry.ret != hook {
            return entry.ret;
        }
    }
    ret
}

arch::noinstr! {
/// The callback of every [`FgraphOps`]' ftrace_ops (Linux: `ftrace_graph_func`).
fn ftrace_graph_func(ip: u64, _parent_ip: u64, ops: &FtraceOps, regs: &mut FtraceRegs) {
    let pcpu = crate::smp::this_cpu();
    let bit = ftrace_test_recursion_trylock_word(&pcpu.trace_recursion);
    if bit < 0 {
        return;
    }
    // SAFETY: only `FgraphOps::new` builds an ops with this callback, as the first field of a
    // `#[repr(C)]` FgraphOps, so the ops is that FgraphOps' start.
    let gops = unsafe { &*(ops as *const FtraceOps).cast::<FgraphOps>() };
    if let Some(rs) = ret_stack_of(pcpu) {
        function_graph_enter(gops, ip, rs, regs);
    }
    ftrace_test_recursion_unlock_word(&pcpu.trace_recursion, bit);
}
}

/// Linux's `function_graph_enter_regs()`: asks `gops`, then pushes and hooks.
#[inline(always)]
fn function_graph_enter(gops: &FgraphOps, ip: u64, rs: &mut RetStack, regs: &mut FtraceRegs) {
    let depth = rs.depth;
    if depth >= FTRACE_RETFUNC_DEPTH {
        rs.overrun += 1;
        return;
    }
    let ent = FtraceGraphEnt {
        func: ip,
        depth: depth as u32,
        calltime: trace_clock::now(),
    };
    if !(gops.entryfunc)(&ent, &mut rs.state, regs) {
        return;
    }
    rs.entries[depth] = RetEntry {
        ret: regs.lr,
        func: ip,
        calltime: ent.calltime,
        sp: regs.sp,
        fp: regs.fp,
        gops,
        data: 0,
    };
    rs.depth = depth + 1;
    regs.lr = return_to_handler_addr();
}

arch::noinstr! {
/// Hooks the return of the function entered with stack pointer `sp`, frame pointer `fp` (its
/// caller's) and return address `*lr` for `gops`'s return handler, which gets `data` back in [`FtraceGraphRet::data`] (Linux's
/// `rethook_hook`). For a probe handler at the function's entry, IRQs masked. False (nothing
/// hooked) when there is no task or its shadow stack is full (counted as an overrun). The
/// entry carries no `calltime` (0): its users need no times.
#[inline(always)]
pub fn function_graph_hook_return(
    gops: &'static FgraphOps,
    func: u64,
    sp: u64,
    fp: u64,
    lr: &mut u64,
    data: u64,
) -> bool {
    let Some(rs) = current_ret_stack() else {
        return false;
    };
    let depth = rs.depth;
    if depth >= FTRACE_RETFUNC_DEPTH {
        rs.overrun += 1;
        return false;
    }
    rs.entries[depth] = RetEntry {
        ret: *lr,
        func,
        // Its users (kretprobes, fprobe) read no times.
        calltime: 0,
        sp,
        fp,
        gops,
        data,
    };
    rs.depth = depth + 1;
    *lr = return_to_handler_addr();
    true
}
}

arch::noinstr! {
/// Called by `return_to_handler` with IRQs masked; returns where the function really returns
/// to (Linux: `ftrace_return_to_handler`).
#[unsafe(no_mangle)]
extern "C" fn ftrace_return_to_handler(regs: &mut FgraphRetRegs) -> u64 {
    let pcpu = crate::smp::this_cpu();
    let Some(rs) = ret_stack_of(pcpu) else {
        graph_stack_corrupted("no task", 0, regs.sp);
    };
    let Some(depth) = rs.depth.checked_sub(1) else {
        graph_stack_corrupted("an empty shadow stack", 0, regs.sp);
    };
    let entry = rs.entries[depth];
    if entry.sp != regs.sp {
        graph_stack_corrupted("a shadow stack entry of another frame", entry.func, regs.sp);
    }
    // The handler runs under the recursion bit: a traceable function it reaches is then not
    // hooked (its entry finds the bit taken), so it cannot return through here again.
    let bit = ftrace_test_recursion_trylock_word(&pcpu.trace_recursion);
    if bit >= 0 {
        // SAFETY: FgraphOps are statics (`register` takes `&'static self`).
        let gops = unsafe { &*entry.gops };
        let ret = FtraceGraphRet {
            func: entry.func,
            depth: depth as u32,
            calltime: entry.calltime,
            rettime: if gops.timestamps { trace_clock::now() } else { 0 },
            retval: regs.return_value(),
            data: entry.data,
        };
        (gops.retfunc)(&ret, &mut rs.state, regs);
        ftrace_test_recursion_unlock_word(&pcpu.trace_recursion, bit);
    }
    // Popped only now, so a backtrace taken in the handler still finds this call's entry.
    rs.depth = depth;
    entry.ret
}
}

arch::noinstr! {
/// The shadow stack does not match the real one: returning anywhere would be a guess.
#[cold]
#[inline(never)]
fn graph_stack_corrupted(what: &str, func: u64, sp: u64) -> ! {
    // The kernel is going down: the report may run traced code.
    arch::instrumentation! {
        panic!(
            "ftrace: function graph return with {what} (func {}, sp {sp:#x})",
            crate::symbols::symbolize(func)
        )
    }
}
}
