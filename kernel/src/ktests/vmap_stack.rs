//! Guarded kernel stacks on the real MMU: every task, idle and IRQ stack is `THREAD_ALIGN`
//! aligned with an unmapped guard below it (a nofault read there fails), stacks are unmapped,
//! freed and their slots reused without leaking a page, a failed allocation undoes itself, and
//! an interrupt handler runs on its CPU's IRQ stack with a backtrace that continues into the
//! interrupted task.

use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};

use arch::exception::TrapFrame;
use arch::extable::read_u8_nofault;
use arch::gic::{self, SgiTarget};
use arch::irq::{IrqAction, free_irq, request_percpu_irq};
use arch::mmu::PAGE_SIZE;
use arch::stack::{StackRange, THREAD_ALIGN, THREAD_SIZE, irq_stack_of};
use arch::timer::trace_clock_ns;
use arch::vmap::{VMAP_STACK_END, VMAP_STACK_START, lookup, mapped_pages};

use crate::fs::Errno;
use crate::ktest::{Context, TestResult};
use crate::mm::page_alloc::{alloc_kernel_page as alloc_page, nr_kernel_pages as nr_pages};
use crate::mm::vmap_stack::{VmapStack, nr_stacks};
use crate::sched::{current, idle_task, join, msleep, spawn};
use crate::smp::{cpu_online_mask, per_cpu, smp_processor_id};
use crate::stacktrace::{current_frame_pointer, walk_frames};
use crate::symbols::lookup as symbol_at;
use crate::{kassert, kassert_eq, ktest};

/// A stack is THREAD_SIZE bytes, THREAD_ALIGN-aligned, readable at both ends and unreadable in
/// the page below it (the guard). `vmap`: it lies in the stack area, where the page tables can
/// be asked directly, and the whole THREAD_SIZE below is unmapped.
fn check_guarded(what: &str, stack: StackRange, vmap: bool) -> TestResult {
    kassert_eq!(stack.high - stack.low, THREAD_SIZE as u64);
    kassert!(
        stack.low.is_multiple_of(THREAD_ALIGN as u64),
        "{what} at {:#x} is not THREAD_ALIGN-aligned",
        stack.low
    );
    kassert!(
        read_u8_nofault(stack.low).is_ok(),
        "{what}: its lowest byte is unreadable"
    );
    kassert!(
        read_u8_nofault(stack.high - 1).is_ok(),
        "{what}: its top byte is unreadable"
    );
    kassert!(
        read_u8_nofault(stack.low - 1).is_err(),
        "{what}: the byte below {:#x} is readable: no guard page",
        stack.low
    );
    if vmap {
        kassert!(
            (VMAP_STACK_START..VMAP_STACK_END).contains(&stack.low),
            "{what} outside the area"
        );
        for page in (stack.low - THREAD_SIZE as u64..stack.low).step_by(PAGE_SIZE) {
            kassert!(
                lookup(page).is_none(),
                "{what}: guard page {page:#x} is mapped"
            );
            kassert!(
                read_u8_nofault(page).is_err(),
                "{what}: guard page {page:#x} is readable"
            );
        }
        for page in (stack.low..stack.high).step_by(PAGE_SIZE) {
            kassert!(
                lookup(page).is_some(),
                "{what}: stack page {page:#x} is not mapped"
            );
        }
    }
    Ok(())
}

ktest! {
fn the_running_task_has_a_guarded_stack_and_runs_on_it() -> TestResult {
    let stack = current().ok_or("no current task")?.stack_range();
    check_guarded("this task's stack", stack, true)?;
    let fp = current_frame_pointer();
    kassert!(stack.contains(fp, 16), "fp {fp:#x} is not on the task's stack");
    Ok(())
}
}

ktest! {
fn every_cpu_has_guarded_irq_and_idle_stacks() -> TestResult {
    let online = cpu_online_mask();
    for cpu in (0..64).filter(|cpu| online & (1 << cpu) != 0) {
        let pcpu = per_cpu(cpu).ok_or("no per-CPU data")?;
        let irq = irq_stack_of(&pcpu.arch).ok_or("a CPU without an IRQ stack")?;
        check_guarded("an IRQ stack", irq, true)?;
        let idle = idle_task(cpu).ok_or("no idle task")?.stack_range();
        // CPU 0 idles on the boot stack, which the linker script guards with one page; the
        // others on stacks of the area.
        check_guarded("an idle stack", idle, cpu != 0)?;
        kassert!(irq.low != idle.low, "CPU{cpu}'s IRQ stack is its idle stack");
    }
    Ok(())
}
}

/// Waits up to a second for `done()`, sleeping between looks (a dead task's stack is freed by
/// its CPU's next switch).
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = trace_clock_ns() + 1_000_000_000;
    while !done() {
        if trace_clock_ns() > deadline {
            return false;
        }
        let _ = msleep(4);
    }
    true
}

/// Spawns `n` tasks over the CPUs, joins them, and returns their stacks.
fn spawn_and_exit(n: usize) -> Result<Vec<u64>, alloc::string::String> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        tasks.push(spawn("stacker", None, false, || {}).or_fail()?);
    }
    let mut lows = Vec::new();
    for task in tasks {
        join(&task).map_err(|_| "join interrupted")?;
        lows.push(task.stack_range().low);
    }
    lows.sort_unstable();
    Ok(lows)
}

ktest! {
fn stacks_are_unmapped_freed_and_reused_without_leaking() -> TestResult {
    const N: usize = 24;
    let before_all = nr_stacks();
    // A first round leaves the page tables of the slots it used, which stay for reuse.
    let first = spawn_and_exit(N)?;
    kassert!(wait_until(|| nr_stacks() == before_all), "{} stacks not freed", nr_stacks() - before_all);
    let (stacks, mapped, pages) = (nr_stacks(), mapped_pages(), nr_pages());
    let second = spawn_and_exit(N)?;
    kassert!(wait_until(|| nr_stacks() == stacks), "{} stacks not freed", nr_stacks() - stacks);
    kassert_eq!(mapped_pages(), mapped);
    kassert_eq!(nr_pages(), pages);
    // Freed stacks are unmapped: their pages are gone from the tables and fault when read.
    for &low in &second {
        kassert!(lookup(low).is_none(), "a freed stack at {low:#x} is still mapped");
        kassert!(read_u8_nofault(low).is_err(), "a freed stack at {low:#x} is readable");
    }
    // Lowest free slot first: the second round reused the first round's slots.
    kassert_eq!(first, second);
    Ok(())
}
}

ktest! {
fn a_stack_allocation_that_runs_out_of_pages_undoes_itself() -> TestResult {
    // A successful allocation first, so the slot's page tables exist and stay.
    drop(VmapStack::alloc().or_fail()?);
    let (stacks, mapped, pages) = (nr_stacks(), mapped_pages(), nr_pages());
    let mut given = 0;
    let failed = VmapStack::alloc_with(&mut || {
        given += 1;
        if given > 5 { None } else { alloc_page() }
    });
    kassert_eq!(failed.err(), Some(Errno::ENOMEM));
    kassert_eq!(given, 6);
    kassert_eq!(nr_stacks(), stacks);
    kassert_eq!(mapped_pages(), mapped);
    kassert_eq!(nr_pages(), pages);
    // And the slot is free again.
    let again = VmapStack::alloc().or_fail()?;
    check_guarded("a reallocated stack", again.range(), true)?;
    Ok(())
}
}

/// An SGI reserved for the in-kernel tests (as in `ktests::irq`, which runs at another time).
const KTEST_SGI: u32 = 15;
static HANDLER_SP: AtomicU64 = AtomicU64::new(0);
/// The handler's backtrace, innermost first.
static HANDLER_TRACE: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];

fn recording_handler(_irq: u32, _frame: &mut TrapFrame) {
    let sp: u64;
    // SAFETY: reads SP.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    HANDLER_SP.store(sp, Ordering::Relaxed);
    let mut frames = [[0u8; 8]; 32];
    let n = walk_frames(current_frame_pointer(), frames.len(), &mut frames);
    for (slot, frame) in HANDLER_TRACE.iter().zip(&frames[..n]) {
        slot.store(u64::from_le_bytes(*frame), Ordering::Relaxed);
    }
}

static RECORDING_ACTION: IrqAction = IrqAction {
    name: "ktest stack SGI",
    handler: recording_handler,
};

/// Raises the SGI on this CPU and spins until its handler has run: the interrupt arrives while
/// this function's frame is on the task stack.
#[inline(never)]
fn interrupted_here() -> Result<(), &'static str> {
    let cpu = smp_processor_id();
    gic::send_sgi(SgiTarget::Cpu(cpu), KTEST_SGI).map_err(|_| "no SGI")?;
    let deadline = trace_clock_ns() + 100_000_000;
    while HANDLER_SP.load(Ordering::Relaxed) == 0 {
        if trace_clock_ns() > deadline {
            return Err("the SGI never arrived");
        }
        black_box(());
    }
    Ok(())
}

ktest! {
fn an_irq_handler_runs_on_the_irq_stack_and_unwinds_into_the_task() -> TestResult {
    HANDLER_SP.store(0, Ordering::Relaxed);
    HANDLER_TRACE.iter().for_each(|slot| slot.store(0, Ordering::Relaxed));
    request_percpu_irq(KTEST_SGI, &RECORDING_ACTION).or_fail()?;
    // Pinned: the handler must run on the CPU whose IRQ stack is checked.
    let result = {
        let _preempt = arch::percpu::preempt_guard();
        per_cpu(smp_processor_id())
            .and_then(|pcpu| irq_stack_of(&pcpu.arch))
            .ok_or("no IRQ stack")
            .and_then(|irq| interrupted_here().map(|()| irq))
    };
    free_irq(KTEST_SGI, &RECORDING_ACTION).or_fail()?;
    let irq = result?;
    let sp = HANDLER_SP.load(Ordering::Relaxed);
    kassert!(irq.contains(sp, 0), "handler SP {sp:#x} is not on the IRQ stack [{:#x}..{:#x}]", irq.low, irq.high);
    let task = current().ok_or("no current task")?.stack_range();
    kassert!(!task.contains(sp, 0), "the handler ran on the task stack");
    let names: Vec<&str> = HANDLER_TRACE
        .iter()
        .map(|slot| slot.load(Ordering::Relaxed))
        .take_while(|&pc| pc != 0)
        .map(|pc| symbol_at(pc).map_or("?", |s| s.name))
        .collect();
    // The interrupt may land in a leaf that `interrupted_here` called, whose caller's frame the
    // chain then skips; either function shows the chain reached the task stack.
    kassert!(
        names.iter().any(|n| n.ends_with("::interrupted_here")
            || n.ends_with("::an_irq_handler_runs_on_the_irq_stack_and_unwinds_into_the_task")),
        "the backtrace did not cross into the task stack: {names:?}"
    );
    Ok(())
}
}

/// A frame record, as the unwinder reads it.
#[repr(C, align(16))]
struct Record([u64; 2]);

ktest! {
fn the_unwinder_crosses_to_another_stack_once_and_never_back() -> TestResult {
    let _irqs = arch::irqflags::local_irq_save_guard();
    // With IRQs masked nothing uses this CPU's IRQ stack: a fake record at its bottom stands for
    // an interrupt handler's frame, below the task stack in the address space, so the chain
    // must step down to reach it.
    let irq = irq_stack_of(&per_cpu(smp_processor_id()).ok_or("no per-CPU data")?.arch)
        .ok_or("no IRQ stack")?;
    let task = current().ok_or("no current task")?.stack_range();
    kassert!(irq.high <= task.low, "the IRQ stack is above the task stack");
    let back_on_task = Record([0, 0x3333]);
    let on_irq = irq.low + 64;
    // SAFETY: the bottom of this CPU's IRQ stack, unused while IRQs are masked here; aligned.
    unsafe { (on_irq as *mut Record).write(Record([&back_on_task as *const Record as u64, 0x2222])) };
    let start = Record([on_irq, 0x1111]);
    let mut frames = [[0u8; 8]; 8];
    let n = walk_frames(black_box(&start as *const Record as u64), frames.len(), &mut frames);
    let pcs: Vec<u64> = frames[..n].iter().map(|f| u64::from_le_bytes(*f)).collect();
    // Task stack -> IRQ stack is allowed once; back to the task stack it left is not.
    kassert_eq!(pcs, [0x1111, 0x2222]);
    black_box(&back_on_task);
    Ok(())
}
}
