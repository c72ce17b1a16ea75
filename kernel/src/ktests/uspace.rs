//! User space on the real MMU: EL0 cannot read, write or run kernel memory; user pages keep
//! their permissions at EL0; two address spaces with the same virtual address see their own
//! pages across ASID switches and an ASID rollover; the uaccess helpers turn bad pointers into
//! EFAULT through their exception-table fixups.
//!
//! The tests run tiny hand-assembled programs at EL0 on the test task itself (its stack has the
//! user frame at its top, as every task's does).

use alloc::vec::Vec;

use arch::esr;
use arch::exception::TrapFrame;
use arch::uspace::{UserExit, enter_user, handle_user_irq};

use crate::process::mm::Mm;
use crate::sched::current_task;
use crate::signal::{SEGV_ACCERR, SEGV_MAPERR, SIGSEGV, signal_for_exception};
use crate::uaccess;
use crate::{kassert, kassert_eq, ktest};

/// `ldr x0, [x1]`.
pub(super) const LDR_X0_X1: u32 = 0xf940_0020;
/// `str x2, [x1]`.
pub(super) const STR_X2_X1: u32 = 0xf900_0022;
/// `svc #0`.
pub(super) const SVC_0: u32 = 0xd400_0001;

pub(super) const CODE: u64 = 0x10000;
pub(super) const DATA: u64 = 0x20000;
pub(super) const RODATA: u64 = 0x30000;

fn code_bytes(insns: &[u32]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_le_bytes()).collect()
}

/// An address space with `insns` at CODE (read-only, executable), a writable page at DATA
/// holding `value`, and a read-only page at RODATA.
pub(super) fn program(insns: &[u32], value: u64) -> Result<Mm, alloc::string::String> {
    let mm = Mm::new().map_err(|e| alloc::format!("Mm::new: {e}"))?;
    mm.map_zeroed(CODE, 4096, false, true)
        .map_err(|e| alloc::format!("map code: {e}"))?;
    mm.map_zeroed(DATA, 4096, true, false)
        .map_err(|e| alloc::format!("map data: {e}"))?;
    mm.map_zeroed(RODATA, 4096, false, false)
        .map_err(|e| alloc::format!("map rodata: {e}"))?;
    mm.write(CODE, &code_bytes(insns))
        .map_err(|e| alloc::format!("write code: {e}"))?;
    mm.write(DATA, &value.to_le_bytes())
        .map_err(|e| alloc::format!("write data: {e}"))?;
    let image = crate::binfmt_elf::ElfImage {
        pages: [(
            CODE,
            crate::binfmt_elf::PageProt {
                write: false,
                exec: true,
            },
        )]
        .into(),
        copies: Vec::new(),
        entry: CODE,
        phdr: 0,
        phnum: 0,
        phent: 0,
        bias: 0,
        end: 0,
    };
    mm.sync_icache(&image)
        .map_err(|e| alloc::format!("sync: {e}"))?;
    Ok(mm)
}

/// Installs `mm` on the running task (or nothing, for null).
pub(super) fn install(mm: *const arch::asid::MmContext) {
    let task = current_task();
    let flags = arch::irqflags::local_irq_save();
    task.set_mm(mm);
    // SAFETY: IRQs masked on our own CPU; the callers keep `mm` alive until they install null.
    unsafe { arch::asid::switch_mm(crate::smp::smp_processor_id(), mm) };
    arch::irqflags::local_irq_restore(flags);
}

/// Runs `mm` at EL0 from `pc` with x1 = `x1`, x2 = `x2` until something other than an IRQ
/// brings it back.
pub(super) fn run_user(mm: &Mm, pc: u64, x1: u64, x2: u64) -> (UserExit, TrapFrame) {
    use arch::daifflags::{DAIF_PROCCTX, local_daif_restore};
    let task = current_task();
    // SAFETY: our own task's user frame, at the top of our stack; nothing else uses it.
    let frame = unsafe { &mut *task.pt_regs().expect("the test task has a stack") };
    let mut regs = [0; 31];
    regs[1] = x1;
    regs[2] = x2;
    *frame = TrapFrame {
        regs,
        sp: DATA + 4096,
        pc,
        pstate: arch::uspace::USER_PSTATE,
        esr: 0,
        far: 0,
        stackframe: [0; 2],
    };
    install(mm.context());
    let exit = loop {
        arch::irqflags::local_irq_disable();
        // SAFETY: the frame is ours, made for EL0t; `mm` is installed. No context: every
        // `svc` comes back here (the generic way).
        let exit = unsafe { enter_user(frame, core::ptr::null_mut()) };
        if exit == UserExit::Irq {
            handle_user_irq(frame);
            local_daif_restore(DAIF_PROCCTX);
            continue;
        }
        local_daif_restore(DAIF_PROCCTX);
        break exit;
    };
    let frame = frame.clone();
    install(core::ptr::null());
    (exit, frame)
}

pub(super) fn expect_fault(
    exit: UserExit,
    ec: u8,
) -> Result<arch::esr::Esr, alloc::string::String> {
    match exit {
        UserExit::Exception(e) if e.ec() == ec => Ok(e),
        other => Err(alloc::format!(
            "expected EC {ec:#x}, EL0 came back with {other:?}"
        )),
    }
}

static KERNEL_SECRET: u64 = 0x5ec2e7;

ktest! {
fn el0_reads_its_own_memory_and_makes_syscalls() -> TestResult {
    let mm = program(&[LDR_X0_X1, SVC_0], 0x1234_5678)?;
    let (exit, frame) = run_user(&mm, CODE, DATA, 0);
    kassert_eq!(exit, UserExit::Syscall);
    kassert_eq!(frame.regs[0], 0x1234_5678);
    kassert_eq!(frame.pc, CODE + 8);
    Ok(())
}
}

ktest! {
fn el0_cannot_read_write_or_run_kernel_memory() -> TestResult {
    let secret = core::ptr::addr_of!(KERNEL_SECRET) as u64;
    let mm = program(&[LDR_X0_X1, SVC_0], 0)?;
    let (exit, frame) = run_user(&mm, CODE, secret, 0);
    let e = expect_fault(exit, esr::ESR_ELx_EC_DABT_LOW)?;
    kassert_eq!(frame.far, secret);
    kassert!(frame.regs[0] == 0, "something was loaded: {:#x}", frame.regs[0]);
    kassert_eq!(signal_for_exception(e).signo, SIGSEGV);

    let mm = program(&[STR_X2_X1, SVC_0], 0)?;
    let (exit, _) = run_user(&mm, CODE, secret, 0xbad);
    expect_fault(exit, esr::ESR_ELx_EC_DABT_LOW)?;
    kassert_eq!(KERNEL_SECRET, 0x5ec2e7);

    // Kernel text is executable at EL1 only (UXN): EL0 jumping there is an instruction abort.
    let text = run_user as *const () as u64;
    let (exit, frame) = run_user(&mm, text, 0, 0);
    expect_fault(exit, esr::ESR_ELx_EC_IABT_LOW)?;
    kassert_eq!(frame.far, text);
    Ok(())
}
}

ktest! {
fn user_page_permissions_hold_at_el0() -> TestResult {
    // A store to the read-only page: a permission fault, SEGV_ACCERR.
    let mm = program(&[STR_X2_X1, SVC_0], 0)?;
    let (exit, _) = run_user(&mm, CODE, RODATA, 1);
    let e = expect_fault(exit, esr::ESR_ELx_EC_DABT_LOW)?;
    kassert_eq!(signal_for_exception(e).code, SEGV_ACCERR);
    // An unmapped page: a translation fault, SEGV_MAPERR.
    let (exit, _) = run_user(&mm, CODE, 0x7000_0000, 1);
    let e = expect_fault(exit, esr::ESR_ELx_EC_DABT_LOW)?;
    kassert_eq!(signal_for_exception(e).code, SEGV_MAPERR);
    // The data page is not executable (UXN).
    let (exit, _) = run_user(&mm, DATA, 0, 0);
    expect_fault(exit, esr::ESR_ELx_EC_IABT_LOW)?;
    // And the store to the writable page lands.
    let (exit, _) = run_user(&mm, CODE, DATA, 0xfeed);
    kassert_eq!(exit, UserExit::Syscall);
    let mut back = [0u8; 8];
    install(mm.context());
    let read = uaccess::copy_from_user(&mut back, DATA);
    install(core::ptr::null());
    kassert_eq!(read, Ok(()));
    kassert_eq!(u64::from_le_bytes(back), 0xfeed);
    Ok(())
}
}

ktest! {
fn address_spaces_are_isolated_across_asid_switches_and_rollover() -> TestResult {
    let a = program(&[LDR_X0_X1, SVC_0], 0xaaaa)?;
    let b = program(&[LDR_X0_X1, SVC_0], 0xbbbb)?;
    for _ in 0..3 {
        kassert_eq!(run_user(&a, CODE, DATA, 0).1.regs[0], 0xaaaa);
        kassert_eq!(run_user(&b, CODE, DATA, 0).1.regs[0], 0xbbbb);
    }
    // Use up a generation of ASIDs: `a` and `b` must still see their own pages, never a stale
    // translation of another address space with a recycled ASID.
    let before = arch::asid::rollovers();
    let mut others = Vec::new();
    for i in 0..300u64 {
        // Boxed: an installed context must not move.
        let other = alloc::boxed::Box::new(program(&[LDR_X0_X1, SVC_0], 0xc000 + i)?);
        install(other.context());
        others.push(other);
    }
    install(core::ptr::null());
    kassert!(arch::asid::rollovers() > before, "300 address spaces rolled the 8-bit ASIDs over");
    kassert_eq!(run_user(&a, CODE, DATA, 0).1.regs[0], 0xaaaa);
    kassert_eq!(run_user(&b, CODE, DATA, 0).1.regs[0], 0xbbbb);
    let last = others.last().ok_or("no address spaces made")?;
    kassert_eq!(run_user(last, CODE, DATA, 0).1.regs[0], 0xc000 + 299);
    kassert_eq!(run_user(&others[0], CODE, DATA, 0).1.regs[0], 0xc000);
    Ok(())
}
}

ktest! {
fn uaccess_bad_pointers_are_efault() -> TestResult {
    use crate::fs::Errno;
    let mm = program(&[SVC_0], 0x0102_0304_0506_0708)?;
    install(mm.context());
    let mut buf = [0u8; 16];
    let results = [
        uaccess::copy_from_user(&mut buf[..8], DATA).map(|()| u64::from_le_bytes(buf[..8].try_into().unwrap_or_default())),
        uaccess::copy_from_user(&mut buf, 0x7000_0000).map(|()| 0),
        uaccess::copy_from_user(&mut buf, core::ptr::addr_of!(KERNEL_SECRET) as u64).map(|()| 0),
        uaccess::copy_from_user(&mut buf, u64::MAX - 4).map(|()| 0),
        uaccess::copy_to_user(RODATA, b"nope").map(|()| 0),
        uaccess::copy_to_user(core::ptr::addr_of!(KERNEL_SECRET) as u64, b"nope").map(|()| 0),
    ];
    // Across the end of the data page: the bytes before the edge, exactly.
    let edge = uaccess::copy_from_user_partial(&mut buf, DATA + 4096 - 5);
    let edge_to = uaccess::copy_to_user_partial(DATA + 4096 - 3, b"abcdef");
    let string = uaccess::strndup_user(DATA + 4096 - 3, 64);
    let unterminated = uaccess::strndup_user(DATA, 2);
    let bad_string = uaccess::strndup_user(0x7000_0000, 64);
    install(core::ptr::null());
    kassert_eq!(results[0], Ok(0x0102_0304_0506_0708));
    for (i, result) in results[1..].iter().enumerate() {
        kassert!(*result == Err(Errno::EFAULT), "case {}: {:?}", i + 1, result);
    }
    kassert_eq!(edge, 5);
    kassert_eq!(edge_to, 3);
    // "abc" then the page ends with no NUL: the next byte faults.
    kassert_eq!(string, Err(Errno::EFAULT));
    kassert_eq!(unterminated, Err(Errno::ENAMETOOLONG));
    kassert_eq!(bad_string, Err(Errno::EFAULT));
    kassert_eq!(KERNEL_SECRET, 0x5ec2e7);
    Ok(())
}
}

ktest! {
fn programs_exit_with_linux_statuses_and_give_their_memory_back() -> TestResult {
    use crate::fs::Errno;
    use crate::mm::page_alloc;
    use crate::process::spawn;
    use crate::signal::{SIGILL, SIGTRAP, WaitStatus};
    let (free_before, total) = page_alloc::counts();
    let cases: [(&str, &[&str], WaitStatus); 6] = [
        ("/bin/hello", &["hello"], WaitStatus::exited(0)),
        // fork, execve, wait4, exits and a SIGSEGV death, all checked by the program itself.
        ("/bin/forkwait", &["forkwait", "5"], WaitStatus::exited(0)),
        ("/bin/fib", &["fib"], WaitStatus::exited(2)),
        ("/bin/crash", &["crash", "null"], WaitStatus::signaled(SIGSEGV, false)),
        ("/bin/crash", &["crash", "undef"], WaitStatus::signaled(SIGILL, false)),
        ("/bin/crash", &["crash", "brk"], WaitStatus::signaled(SIGTRAP, false)),
    ];
    for (path, argv, expected) in cases {
        let child = spawn(path, argv).map_err(|e| alloc::format!("spawn {path}: {e}"))?;
        let status = child.wait();
        kassert!(status == expected, "{path} {argv:?}: {status:?}, expected {expected:?}");
    }
    kassert_eq!(page_alloc::counts(), (free_before, total));
    kassert!(matches!(spawn("/bin/nope", &["nope"]), Err(Errno::ENOENT)));
    kassert!(matches!(spawn("/bin", &["bin"]), Err(Errno::EACCES)));
    kassert!(matches!(spawn("/proc/kallsyms", &["x"]), Err(Errno::EACCES)));
    kassert_eq!(page_alloc::counts(), (free_before, total));
    Ok(())
}
}

ktest! {
fn kill_ends_a_busy_program_with_sigkill() -> TestResult {
    use crate::mm::page_alloc;
    use crate::signal::{SIGKILL, WaitStatus};
    let before = page_alloc::counts();
    let child = crate::process::spawn("/bin/getppid", &["getppid", "1000000000"])
        .map_err(|e| alloc::format!("spawn: {e}"))?;
    crate::sched::msleep(20).map_err(|_| "interrupted")?;
    crate::sched::kill(child.task.pid()).map_err(|e| alloc::format!("kill: {e:?}"))?;
    let status = child.wait();
    kassert!(status == WaitStatus::signaled(SIGKILL, false), "{status:?}");
    kassert_eq!(page_alloc::counts(), before);
    Ok(())
}
}
