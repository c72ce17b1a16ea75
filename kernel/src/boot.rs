//! Boot order. `arch`'s boot code turns the MMU on with an early map and calls [`kernel_main`]
//! on the boot stack; from here: device tree, final page tables, console, heap, exceptions and
//! debug monitors, interrupts, the scheduler, the other CPUs, ftrace patch sites, tracefs, then
//! the shell as task 1 (or, in the test image, the in-kernel tests), while the boot context
//! becomes CPU 0's idle task.

use arch::mmu;

use crate::{board, console, heap, print, println, report, trace, tracefs};

/// Where QEMU's `-kernel` ELF boot leaves the generated DTB: at the start of RAM, below the
/// image (it passes no pointer in x0, unlike the Linux boot protocol, which we honour when set).
const QEMU_VIRT_DTB_PHYS: u64 = 0x4000_0000;

/// The Rust entry point, called once by `asm/boot.s` on the boot CPU.
#[unsafe(no_mangle)]
pub extern "C" fn kernel_main(boot_x0: u64) -> ! {
    // Per-CPU data first: every lock reads this CPU's preemption count.
    crate::smp::init_boot_cpu();
    // Links the planted violation in (the build is meant to fail on it).
    #[cfg(feature = "plant-noinstr-violation")]
    crate::planted::noinstr_calls_traced();
    let dtb_phys = if boot_x0 != 0 {
        boot_x0
    } else {
        QEMU_VIRT_DTB_PHYS
    };
    // SAFETY: the early map covers the 1 GiB of RAM holding the image and the DTB below it, and
    // nothing writes the DTB.
    let board = match unsafe { board::probe(dtb_phys, mmu::phys_to_virt(dtb_phys)) } {
        Ok(board) => board,
        // No console yet: all we can do is leave with the panic status.
        Err(_) => arch::semihosting::exit(arch::semihosting::EXIT_KERNEL_PANIC),
    };

    let devices = [(board.uart.base, board.uart.size)];
    // SAFETY: first and only call, on the boot CPU, under the early map.
    if unsafe { mmu::init(board.ram(), &devices) }.is_err() {
        arch::semihosting::exit(arch::semihosting::EXIT_KERNEL_PANIC);
    }
    // SAFETY: the UART's registers were just mapped at their linear address; only the console
    // drives it.
    unsafe { console::init(mmu::phys_to_virt(board.uart.base)) };
    report::init();

    println!(
        "Booting tracing unikernel on {} (EL1, 4 KiB pages, 39-bit VA)",
        board.model
    );
    println!("dtb: {:#x} ({} bytes)", board.dtb_phys, board.dtb_size);
    for r in board.ram() {
        println!(
            "memory: [{:#012x}-{:#012x}] {} MiB",
            r.start,
            r.start + r.size - 1,
            r.size >> 20
        );
    }
    println!("uart: pl011 at {:#x}", board.uart.base);
    for (i, r) in board.gic_regs().iter().enumerate() {
        println!(
            "gic: {} region {} at {:#x} size {:#x}",
            board.gic_compatible, i, r.base, r.size
        );
    }
    println!("psci: method {}", board.psci_method);
    print!("cpus: {} (mpidr", board.cpus().len());
    for cpu in board.cpus() {
        print!(" {:#x}", cpu.mpidr);
    }
    println!(")");

    let image = mmu::kernel_image();
    let (heap_start, ram_size) = heap_region(board, image.end);
    // An eighth of it becomes page frames for user space (its top end), the rest the heap
    // (which the trace buffers are sized from: 2 x 50000 KiB must fit at 128 MiB).
    let frames_size = (ram_size / 8) & !(mmu::PAGE_SIZE - 1);
    let heap_size = ram_size - frames_size;
    // SAFETY: the region is RAM above the image, mapped read-write by mmu::init, used by no one;
    // the heap and the frame allocator get disjoint parts of it.
    unsafe {
        heap::init(heap_start, heap_size);
        crate::mm::page_alloc::init(
            mmu::virt_to_phys(heap_start) + heap_size as u64,
            frames_size as u64,
        );
    }
    // Before anything can change a static key.
    crate::jump_label::jump_label_init();
    println!(
        "mm: kernel image [{:#x}-{:#x}], {} page tables, heap {} MiB at {:#x}, {} MiB of user page frames",
        image.start,
        image.end,
        mmu::tables_used(),
        heap_size >> 20,
        heap_start,
        frames_size >> 20
    );

    crate::smp::init_boot_cpu_irq_stack();
    report::register_bug_hook();
    println!("debug: OS lock cleared, MDSCR_EL1.KDE set, BRK and step hooks ready");
    crate::irq::init(board);
    crate::sched::init();

    crate::symbols::init_log();
    crate::stop_machine::init();
    crate::smp::smp_init();
    trace::ftrace::ftrace_init();
    tracefs::init();
    crate::debugfs::init();
    crate::kprobes::init();
    crate::initramfs::init();
    crate::drivers::init(board);
    crate::process::init();
    crate::fs::procfs::init();
    crate::shell::procps::init();
    init_etc();
    crate::workload::init();
    crate::cmdline::init();
    crate::livepatch::init();
    crate::bench::init();

    // The first task, pid 1, on this CPU (which takes the console's interrupt): the in-kernel
    // tests, or the shell. This boot context becomes CPU 0's idle task.
    #[cfg(feature = "ktest")]
    let first = crate::sched::spawn("ktest", Some(0), false, || crate::ktest::run_all());
    #[cfg(not(feature = "ktest"))]
    let first = crate::sched::spawn("sh", Some(0), false, || {
        crate::shell::run(&mut console::ConsoleTty);
        // End of input (Ctrl-D on an empty line): like init exiting, but clean.
        arch::semihosting::exit(0)
    });
    first.expect("CPU 0 is online");
    crate::sched::cpu_idle()
}

/// The heap: all of the RAM range holding the image, above it (page aligned).
fn heap_region(board: &board::BoardInfo, image_end: u64) -> (u64, usize) {
    let image_end_phys = mmu::virt_to_phys(image_end);
    let ram = board
        .ram()
        .iter()
        .find(|r| (r.start..r.start + r.size).contains(&(image_end_phys - 1)))
        .expect("the kernel image lies in RAM the DTB describes");
    let start = (image_end_phys + mmu::PAGE_SIZE as u64 - 1) & !(mmu::PAGE_SIZE as u64 - 1);
    (
        mmu::phys_to_virt(start),
        (ram.start + ram.size - start) as usize,
    )
}

/// `/etc/passwd` and `/etc/group` for root, the only user (what `ps`, `ls -l` and `id` look
/// names up in), as regular files anyone may replace.
fn init_etc() {
    const FILES: [(&str, &[u8]); 2] = [
        ("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        ("/etc/group", b"root:x:0:\n"),
    ];
    for (path, data) in FILES {
        let file = crate::fs::RegFile::new_static(data, 0o100644);
        if let Err(e) = crate::fs::vfs().add_regular(path, file) {
            println!("boot: cannot create {path}: {e:?}");
        }
    }
}
