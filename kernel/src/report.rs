//! Crash reports: what the kernel prints when it dies, in Linux's oops format: the reason, the
//! decoded ESR, FAR, every register, and a frame-pointer backtrace symbolized as
//! `name+0xoff/0xsize`. Then QEMU exits with [`EXIT_KERNEL_PANIC`] (never 1, QEMU's own
//! failure status). Also the `BUG()` hook (BRK #0x800) and the panic handler.

use crate::stacktrace::{current_frame_pointer, unwind};
use core::sync::atomic::{AtomicBool, Ordering};

use arch::debug_monitors::{BreakHook, DbgHookResult, register_break_hook};
use arch::esr::Esr;
use arch::exception::{Fatal, TrapFrame, set_die_handler};
use arch::insn::BUG_BRK_IMM;
use arch::semihosting::{EXIT_KERNEL_PANIC, exit};

use crate::console;
use crate::symbols::symbolize;
use crate::{print, println};

/// Deepest backtrace printed.
const MAX_FRAMES: usize = 64;

pub fn init() {
    set_die_handler(die);
}

static DYING: AtomicBool = AtomicBool::new(false);

/// Starts a crash report: takes the console over. A second fatal error while reporting (a fault
/// in the report itself) leaves at once rather than recursing.
fn begin_report() {
    if DYING.swap(true, Ordering::SeqCst) {
        exit(EXIT_KERNEL_PANIC);
    }
    console::force_unlock_for_panic();
}

/// Executes `brk #0x800`: the BUG hook prints the report and stops the kernel.
#[macro_export]
macro_rules! bug {
    () => {{
        // SAFETY: BRK #BUG_BRK_IMM traps to the BUG hook, which never returns.
        unsafe { core::arch::asm!("brk #0x800", options(nomem, nostack, noreturn)) }
    }};
}

static BUG_HOOK: BreakHook = BreakHook {
    imm: BUG_BRK_IMM,
    mask: 0,
    handler: bug_handler,
};

pub fn register_bug_hook() {
    register_break_hook(&BUG_HOOK).expect("the BRK hook table has room at boot");
}

// The reports below are entered from `noinstr` code (the BUG hook, the die handler, a panic
// anywhere, the tracers' callbacks included) and run as instrumentation regions: printing and
// symbolizing are ordinary traced code. That is safe: the kernel is going down, and a report
// started inside a tracer callback runs under its recursion guard, so it is not traced again.

arch::noinstr! {
fn bug_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    arch::instrumentation! {
        begin_report();
        println!("------------[ cut here ]------------");
        println!("kernel BUG at {}!", symbolize(frame.pc));
        oops(frame, "Oops - BUG");
    }
    exit(EXIT_KERNEL_PANIC)
}
}

arch::noinstr! {
/// The die handler `arch` calls for every fatal exception.
fn die(frame: &TrapFrame, why: Fatal) -> ! {
    arch::instrumentation! { die_report(frame, why) }
    exit(EXIT_KERNEL_PANIC)
}
}

/// The report of a fatal exception.
fn die_report(frame: &TrapFrame, why: Fatal) {
    begin_report();
    let esr = Esr(frame.esr);
    match why {
        Fatal::KernelFault => {
            println!(
                "Unable to handle kernel {} at virtual address {:016x}",
                fault_description(frame, esr),
                frame.far
            );
            oops(frame, "Oops");
        }
        Fatal::UnclaimedBrk => {
            println!("Unexpected kernel BRK exception at EL1");
            oops(frame, "Oops - BRK");
        }
        Fatal::UnclaimedStep => {
            println!("Unexpected kernel single-step exception at EL1");
            oops(frame, "Oops - SS");
        }
        Fatal::Unhandled(kind) => {
            println!("Unhandled {} exception: {}", kind.name(), esr.ec_name());
            oops(frame, "Oops - bad mode");
        }
        Fatal::KernelStackOverflow => panic_bad_stack(frame, esr),
    }
}

/// Linux's `panic_bad_stack`: a kernel stack ran into its guard, and this report runs on the
/// CPU's overflow stack. The three stacks, the task and registers (the pc names the overflowing
/// function), then the panic and the backtrace, which reads the overflowed stack with nofault
/// loads (a fault in the report carries on on the overflow stack).
fn panic_bad_stack(frame: &TrapFrame, esr: Esr) {
    let task = crate::sched::current().map(|t| t.stack_range());
    let irq = arch::stack::irq_stack();
    let overflow = arch::stack::overflow_stack();
    let range = |r: Option<arch::stack::StackRange>| r.map_or((0, 0), |r| (r.low, r.high));
    println!("Insufficient stack space to handle exception!");
    println!("ESR: 0x{:016x} -- {}", frame.esr, esr.ec_name());
    println!("FAR: 0x{:016x}", frame.far);
    let (low, high) = range(task);
    println!("Task stack:     [0x{low:016x}..0x{high:016x}]");
    let (low, high) = range(irq);
    println!("IRQ stack:      [0x{low:016x}..0x{high:016x}]");
    let (low, high) = range(Some(overflow));
    println!("Overflow stack: [0x{low:016x}..0x{high:016x}]");
    show_task();
    show_regs(frame);
    println!("Kernel panic - not syncing: kernel stack overflow");
    println!("Call trace:");
    println!(" {}", symbolize(frame.pc));
    unwind::<MAX_FRAMES>(frame.fp(), |pc| println!(" {}", symbolize(pc)));
}

/// What a kernel data/instruction abort tried to do, in Linux's words (`__do_kernel_fault`).
fn fault_description(frame: &TrapFrame, esr: Esr) -> &'static str {
    if frame.far < arch::mmu::PAGE_SIZE as u64 {
        "NULL pointer dereference"
    } else if is_permission_fault(esr) && esr.is_write() {
        "write to read-only memory"
    } else if is_permission_fault(esr) && esr.is_instruction_abort() {
        "execute from non-executable memory"
    } else {
        "paging request"
    }
}

/// Fault status codes 0b0011xx: permission fault at level 0-3.
fn is_permission_fault(esr: Esr) -> bool {
    esr.fsc().is_some_and(|fsc| fsc & 0x3c == 0x0c)
}

/// Linux's `CPU: N PID: N Comm: NAME` line: where the oops happened. The idle task is pid 0,
/// `swapper/N` as Linux names it here (trace output calls it `<idle>`).
fn show_task() {
    let cpu = crate::smp::smp_processor_id();
    match crate::sched::current() {
        Some(task) if !task.is_idle() => {
            println!("CPU: {cpu} PID: {} Comm: {}", task.pid(), task.name());
        }
        _ => println!("CPU: {cpu} PID: 0 Comm: swapper/{cpu}"),
    }
}

/// The common tail of every report: the decoded ESR (with FAR), registers, backtrace. The
/// caller exits.
fn oops(frame: &TrapFrame, what: &str) {
    let esr = Esr(frame.esr);
    println!(
        "{}",
        if esr.is_abort() {
            "Mem abort info:"
        } else {
            "Exception info:"
        }
    );
    println!("{esr}");
    println!("  FAR = 0x{:016x}", frame.far);
    println!("Internal error: {}: {:016x} [#1] SMP", what, frame.esr);
    show_task();
    show_regs(frame);
    println!("Call trace:");
    println!(" {}", symbolize(frame.pc));
    unwind::<MAX_FRAMES>(frame.fp(), |pc| println!(" {}", symbolize(pc)));
    println!("Kernel panic - not syncing: Oops: Fatal exception");
}

/// Linux's `__show_regs` layout: pstate, pc, lr, sp, then x29..x0 three to a line.
fn show_regs(frame: &TrapFrame) {
    let p = frame.pstate;
    let flag = |bit: u32, c: char| {
        if p & (1 << bit) != 0 {
            c.to_ascii_uppercase()
        } else {
            c
        }
    };
    println!(
        "pstate: {:08x} ({}{}{}{} {}{}{}{} EL{}{})",
        p,
        flag(31, 'n'),
        flag(30, 'z'),
        flag(29, 'c'),
        flag(28, 'v'),
        flag(9, 'd'),
        flag(8, 'a'),
        flag(7, 'i'),
        flag(6, 'f'),
        (p >> 2) & 3,
        if p & 1 != 0 { 'h' } else { 't' },
    );
    println!("pc : {}", symbolize(frame.pc));
    println!("lr : {}", symbolize(frame.lr()));
    println!("sp : {:016x}", frame.sp);
    for i in (0..30).rev() {
        let end = if i % 3 == 0 { "\n" } else { " " };
        print!("x{:<2}: {:016x}{end}", i, frame.regs[i]);
    }
}

#[cfg(not(test))]
arch::noinstr! {
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    arch::instrumentation! {
        begin_report();
        println!("Kernel panic - not syncing: {}", info.message());
        if let Some(location) = info.location() {
            println!("  at {}:{}", location.file(), location.line());
        }
        println!("Call trace:");
        unwind::<MAX_FRAMES>(current_frame_pointer(), |pc| println!(" {}", symbolize(pc)));
    }
    exit(EXIT_KERNEL_PANIC)
}
}
