//! `sigtest`: signals as Linux's arm64 ABI gives them to a program. Without arguments it runs
//! every check and prints `sigtest: N checks passed` (or the first failure, exit 1):
//! handlers with `SA_SIGINFO` (si_signo, si_code, si_pid), blocked signals staying pending
//! until unblocked, the handler's mask (`sa_mask`, the signal itself unless `SA_NODEFER`),
//! `SA_RESETHAND`, `rt_sigsuspend`, `tgkill`'s `SI_TKILL`, the FP/SIMD registers saved in the
//! frame's `fpsimd_context` and restored by `rt_sigreturn`, a NULL read caught by a SIGSEGV
//! handler that skips the load by editing the saved pc (si_code SEGV_MAPERR, si_addr,
//! fault_address, an `esr_context`), a BRK caught as SIGTRAP, SIGCHLD with CLD_EXITED, and
//! children killed by SIGTERM and SIGKILL (an ignored SIGTERM does nothing).
//! `sigtest bg` forks a child that spins until a signal ends it, prints its pid and exits;
//! `sigtest int` waits for Ctrl-C's SIGINT in a handler.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use user::sys::{self, SA_NODEFER, SA_RESETHAND, SA_RESTORER, SA_SIGINFO, SigAction};
use user::{Checks, Failed};

const SIGINT: usize = 2;
const SIGTRAP: usize = 5;
const SIGKILL: usize = 9;
const SIGUSR1: usize = 10;
const SIGSEGV: usize = 11;
const SIGUSR2: usize = 12;
const SIGTERM: usize = 15;
const SIGCHLD: usize = 17;
const SIG_BLOCK: usize = 0;
const SIG_UNBLOCK: usize = 1;
const SIG_SETMASK: usize = 2;
const SIG_IGN: usize = 1;
const SI_USER: i32 = 0;
const SI_TKILL: i32 = -6;
const SEGV_MAPERR: i32 = 1;
const TRAP_BRKPT: i32 = 1;
const CLD_EXITED: i32 = 1;
const FPSIMD_MAGIC: u32 = 0x4650_8001;
const ESR_MAGIC: u32 = 0x4553_5201;

// Offsets in Linux's arm64 ucontext: uc_sigmask, then uc_mcontext's fields.
const UC_SIGMASK: usize = 40;
const MC: usize = 176;
const MC_FAULT_ADDRESS: usize = MC;
const MC_PC: usize = MC + 264;
const MC_RESERVED: usize = MC + 288;

const fn bit(sig: usize) -> u64 {
    1 << (sig - 1)
}

/// What the handlers saw.
static COUNT: AtomicU64 = AtomicU64::new(0);
static LAST_SIG: AtomicU64 = AtomicU64::new(0);
static LAST_CODE: AtomicU64 = AtomicU64::new(0);
static LAST_PID: AtomicU64 = AtomicU64::new(0);
static LAST_STATUS: AtomicU64 = AtomicU64::new(0);
static LAST_ADDR: AtomicU64 = AtomicU64::new(0);
static MASK_IN_HANDLER: AtomicU64 = AtomicU64::new(0);
static FRAME_WORDS: AtomicU64 = AtomicU64::new(0);
static FRAME_V8: AtomicU64 = AtomicU64::new(0);
static UC_MASK: AtomicU64 = AtomicU64::new(0);

fn read<T: Copy>(base: *const u8, offset: usize) -> T {
    // SAFETY: the kernel's frame: offsets inside the siginfo or ucontext it passed.
    unsafe { base.add(offset).cast::<T>().read_unaligned() }
}

extern "C" fn on_signal(sig: i32, info: *const u8, uc: *mut u8) {
    COUNT.fetch_add(1, SeqCst);
    LAST_SIG.store(sig as u64, SeqCst);
    LAST_CODE.store(read::<i32>(info, 8) as u64, SeqCst);
    LAST_PID.store(u64::from(read::<u32>(info, 16)), SeqCst);
    LAST_STATUS.store(read::<i32>(info, 24) as u64, SeqCst);
    MASK_IN_HANDLER.store(sys::sigprocmask(SIG_BLOCK, None), SeqCst);
    UC_MASK.store(read(uc, UC_SIGMASK), SeqCst);
    let magic: u32 = read(uc, MC_RESERVED);
    let size: u32 = read(uc, MC_RESERVED + 4);
    FRAME_WORDS.store(u64::from(magic) << 32 | u64::from(size), SeqCst);
    // V8's low half in the frame (fpsimd_context.vregs[8]).
    FRAME_V8.store(read(uc, MC_RESERVED + 16 + 8 * 16), SeqCst);
    clobber_v8();
}

/// Catches a fault: records si_code/si_addr and the frame, skips the faulting instruction.
extern "C" fn on_fault(sig: i32, info: *const u8, uc: *mut u8) {
    COUNT.fetch_add(1, SeqCst);
    LAST_SIG.store(sig as u64, SeqCst);
    LAST_CODE.store(read::<i32>(info, 8) as u64, SeqCst);
    LAST_ADDR.store(read(info, 16), SeqCst);
    let fault_address: u64 = read(uc, MC_FAULT_ADDRESS);
    let esr_magic: u32 = read(uc, MC_RESERVED + 528);
    let pc: u64 = read(uc, MC_PC);
    // Records whether fault_address matched si_addr and an esr_context followed the FP record.
    let ok = (fault_address == LAST_ADDR.load(SeqCst) || sig as usize == SIGTRAP)
        && esr_magic == ESR_MAGIC;
    FRAME_WORDS.store(u64::from(ok), SeqCst);
    MASK_IN_HANDLER.store(pc, SeqCst);
    // SAFETY: the saved pc in the kernel's ucontext; the next instruction is a valid one.
    unsafe { uc.add(MC_PC).cast::<u64>().write_unaligned(pc + 4) };
}

#[cfg(target_os = "none")]
fn set_v8(value: u64) {
    // SAFETY: writes D8 only (nothing else keeps values in FP registers: softfloat).
    unsafe {
        core::arch::asm!(".arch_extension fp", "fmov d8, {v}", ".arch_extension nofp", v = in(reg) value)
    };
}

#[cfg(target_os = "none")]
fn get_v8() -> u64 {
    let value: u64;
    // SAFETY: reads D8.
    unsafe {
        core::arch::asm!(".arch_extension fp", "fmov {v}, d8", ".arch_extension nofp", v = out(reg) value)
    };
    value
}

fn clobber_v8() {
    #[cfg(target_os = "none")]
    set_v8(0xdead_beef);
}

#[cfg(not(target_os = "none"))]
fn set_v8(_: u64) {}

#[cfg(not(target_os = "none"))]
fn get_v8() -> u64 {
    0x1234_5678_9abc_def0
}

/// A NULL-ish load the handler skips; returns the (unchanged) value of `x`.
#[cfg(target_os = "none")]
fn faulting_load(addr: u64) -> u64 {
    let mut x: u64 = 42;
    // SAFETY: deliberately loads from an unmapped address; the SIGSEGV handler steps over it,
    // leaving `x` untouched.
    unsafe { core::arch::asm!("ldr {x}, [{a}]", x = inout(reg) x, a = in(reg) addr) };
    x
}

#[cfg(target_os = "none")]
fn brk() {
    // SAFETY: a breakpoint the SIGTRAP handler steps over.
    unsafe { core::arch::asm!("brk #0x7") };
}

#[cfg(not(target_os = "none"))]
fn faulting_load(_: u64) -> u64 {
    42
}

#[cfg(not(target_os = "none"))]
fn brk() {}

fn install(
    sig: usize,
    handler: extern "C" fn(i32, *const u8, *mut u8),
    flags: usize,
    mask: u64,
) -> isize {
    let act = SigAction {
        handler: handler as usize,
        flags: flags | SA_SIGINFO | SA_RESTORER,
        restorer: sys::restorer(),
        mask,
    };
    sys::sigaction(sig, Some(&act), None)
}

fn all(c: &mut Checks) -> Result<(), Failed> {
    let me = sys::getpid();
    c.check(
        install(SIGUSR1, on_signal, 0, bit(SIGUSR2)) == 0,
        b"rt_sigaction",
    )?;
    // Delivered on the way back from kill itself, with the sender's pid and SI_USER.
    set_v8(0x1234_5678_9abc_def0);
    c.check(sys::kill(me, SIGUSR1) == 0, b"kill self")?;
    c.check(COUNT.load(SeqCst) == 1, b"handler ran once")?;
    c.check(LAST_SIG.load(SeqCst) == SIGUSR1 as u64, b"x0 = signo")?;
    c.check(LAST_CODE.load(SeqCst) as i32 == SI_USER, b"si_code SI_USER")?;
    c.check(LAST_PID.load(SeqCst) == me as u64, b"si_pid")?;
    let mask = MASK_IN_HANDLER.load(SeqCst);
    c.check(
        mask & bit(SIGUSR1) != 0 && mask & bit(SIGUSR2) != 0,
        b"handler mask = signal | sa_mask",
    )?;
    c.check(
        sys::sigprocmask(SIG_BLOCK, None) == 0,
        b"mask restored by sigreturn",
    )?;
    c.check(
        FRAME_WORDS.load(SeqCst) == u64::from(FPSIMD_MAGIC) << 32 | 528,
        b"fpsimd_context record",
    )?;
    c.check(
        FRAME_V8.load(SeqCst) == 0x1234_5678_9abc_def0,
        b"V8 in the frame",
    )?;
    c.check(
        get_v8() == 0x1234_5678_9abc_def0,
        b"V8 restored by sigreturn",
    )?;

    // Blocked: pending, not delivered, until unblocked.
    sys::sigprocmask(SIG_BLOCK, Some(bit(SIGUSR1)));
    sys::kill(me, SIGUSR1);
    c.check(COUNT.load(SeqCst) == 1, b"blocked signal not delivered")?;
    c.check(sys::sigpending() == bit(SIGUSR1), b"rt_sigpending")?;
    sys::sigprocmask(SIG_UNBLOCK, Some(bit(SIGUSR1)));
    c.check(COUNT.load(SeqCst) == 2, b"delivered once unblocked")?;

    // SA_NODEFER and SA_RESETHAND.
    install(SIGUSR2, on_signal, SA_NODEFER | SA_RESETHAND, 0);
    sys::tgkill(me, me, SIGUSR2);
    c.check(COUNT.load(SeqCst) == 3, b"tgkill delivered")?;
    c.check(
        LAST_CODE.load(SeqCst) as i32 == SI_TKILL,
        b"si_code SI_TKILL",
    )?;
    c.check(
        MASK_IN_HANDLER.load(SeqCst) & bit(SIGUSR2) == 0,
        b"SA_NODEFER",
    )?;
    let mut old = SigAction::default();
    sys::sigaction(SIGUSR2, None, Some(&mut old));
    c.check(old.handler == 0, b"SA_RESETHAND back to SIG_DFL")?;

    // rt_sigsuspend: waits with USR1 unblocked, returns EINTR, the old mask comes back.
    sys::sigprocmask(SIG_SETMASK, Some(bit(SIGUSR1)));
    sys::kill(me, SIGUSR1);
    c.check(sys::sigsuspend(0) == -4, b"rt_sigsuspend EINTR")?;
    c.check(COUNT.load(SeqCst) == 4, b"delivered in rt_sigsuspend")?;
    c.check(
        UC_MASK.load(SeqCst) == bit(SIGUSR1),
        b"uc_sigmask = the mask before sigsuspend",
    )?;
    c.check(
        sys::sigprocmask(SIG_SETMASK, Some(0)) == bit(SIGUSR1),
        b"mask back after sigsuspend",
    )?;

    // A fault caught by a handler that skips the faulting load.
    install(SIGSEGV, on_fault, 0, 0);
    let x = faulting_load(0x10);
    c.check(
        x == 42 && COUNT.load(SeqCst) == 5,
        b"SIGSEGV handler skipped the load",
    )?;
    c.check(LAST_CODE.load(SeqCst) as i32 == SEGV_MAPERR, b"SEGV_MAPERR")?;
    c.check(LAST_ADDR.load(SeqCst) == 0x10, b"si_addr = the address")?;
    c.check(
        FRAME_WORDS.load(SeqCst) == 1,
        b"fault_address and esr_context",
    )?;
    install(SIGTRAP, on_fault, 0, 0);
    brk();
    c.check(
        COUNT.load(SeqCst) == 6 && LAST_CODE.load(SeqCst) as i32 == TRAP_BRKPT,
        b"BRK: SIGTRAP TRAP_BRKPT",
    )?;
    c.check(
        LAST_ADDR.load(SeqCst) == MASK_IN_HANDLER.load(SeqCst),
        b"BRK: si_addr = pc",
    )?;

    // SIGCHLD with the child's pid and exit status.
    install(SIGCHLD, on_signal, 0, 0);
    let pid = sys::fork();
    if pid == 0 {
        sys::exit_group(7);
    }
    let (reaped, status) = loop {
        let (r, s) = sys::wait4(pid, 0);
        if r != -4 {
            break (r, s);
        }
    };
    c.check(reaped == pid && status == 0x700, b"wait4 of exit(7)")?;
    c.check(LAST_SIG.load(SeqCst) == SIGCHLD as u64, b"SIGCHLD")?;
    c.check(LAST_CODE.load(SeqCst) as i32 == CLD_EXITED, b"CLD_EXITED")?;
    c.check(
        LAST_PID.load(SeqCst) == pid as u64 && LAST_STATUS.load(SeqCst) == 7,
        b"SIGCHLD si_pid, si_status",
    )?;

    // Hostile arguments get Linux's errnos.
    let raw = |nr: usize, args: [usize; 6]| {
        // SAFETY: deliberately bad arguments; the kernel checks every pointer.
        unsafe { sys::syscall6(nr, args) }
    };
    let act = SigAction::default();
    let act_ptr = &act as *const SigAction as usize;
    let einval = -22;
    c.check(
        raw(sys::SYS_RT_SIGACTION, [SIGUSR1, act_ptr, 0, 4, 0, 0]) == einval,
        b"sigaction size",
    )?;
    c.check(
        raw(sys::SYS_RT_SIGACTION, [0, act_ptr, 0, 8, 0, 0]) == einval,
        b"sigaction sig 0",
    )?;
    c.check(
        raw(sys::SYS_RT_SIGACTION, [65, 0, 0, 8, 0, 0]) == einval,
        b"sigaction sig 65",
    )?;
    c.check(
        raw(sys::SYS_RT_SIGACTION, [SIGKILL, act_ptr, 0, 8, 0, 0]) == einval,
        b"sigaction SIGKILL",
    )?;
    c.check(
        raw(sys::SYS_RT_SIGACTION, [SIGUSR1, 8, 0, 8, 0, 0]) == -14,
        b"sigaction bad act EFAULT",
    )?;
    c.check(
        raw(
            sys::SYS_RT_SIGACTION,
            [SIGUSR1, 0, 0xffff_ffff_0000, 8, 0, 0],
        ) == -14,
        b"sigaction bad oact EFAULT",
    )?;
    c.check(
        raw(sys::SYS_RT_SIGPROCMASK, [7, act_ptr, 0, 8, 0, 0]) == einval,
        b"sigprocmask how",
    )?;
    c.check(
        raw(sys::SYS_RT_SIGPROCMASK, [SIG_BLOCK, 16, 0, 8, 0, 0]) == -14,
        b"sigprocmask EFAULT",
    )?;
    c.check(sys::kill(me, 65) == einval, b"kill sig 65")?;
    c.check(sys::kill(99_999, 0) == -3, b"kill ESRCH")?;
    c.check(sys::kill(me, 0) == 0, b"kill sig 0")?;
    c.check(sys::tgkill(0, me, SIGUSR1) == einval, b"tgkill tgid 0")?;
    c.check(sys::tgkill(me, me + 1000, SIGUSR1) == -3, b"tgkill ESRCH")?;
    // A bad frame at rt_sigreturn: SIGSEGV for the caller only.
    let pid = sys::fork();
    if pid == 0 {
        // Inherited handlers would catch it (as on Linux): back to the default first.
        sys::sigaction(SIGSEGV, Some(&SigAction::default()), None);
        raw(sys::SYS_RT_SIGRETURN, [0; 6]);
        sys::exit_group(0);
    }
    let (r, status) = sys::wait4(pid, 0);
    if status != SIGSEGV as u32 {
        user::print(b"sigtest: wait4 ");
        user::print_ret(r);
        user::print(b" status ");
        user::print_u64(u64::from(status));
        user::print(b"\n");
    }
    c.check(status == SIGSEGV as u32, b"bad sigreturn frame: SIGSEGV")?;

    // Signal deaths: SIGTERM kills; ignored, it does nothing and SIGKILL still kills.
    sys::sigprocmask(SIG_BLOCK, Some(bit(SIGUSR2)));
    for (ignore, sig, want) in [(false, SIGTERM, 15), (true, SIGTERM, 9)] {
        let pid = sys::fork();
        if pid == 0 {
            if ignore {
                let act = SigAction {
                    handler: SIG_IGN,
                    ..SigAction::default()
                };
                sys::sigaction(SIGTERM, Some(&act), None);
            }
            sys::kill(sys::getppid(), SIGUSR2);
            loop {
                sys::sched_yield();
            }
        }
        // Let the child run (and, for the second, ignore SIGTERM) first: it says so with a
        // SIGUSR2, kept pending (blocked) until seen, then discarded by ignoring it.
        while sys::sigpending() & bit(SIGUSR2) == 0 {
            sys::sched_yield();
        }
        let ign = SigAction {
            handler: SIG_IGN,
            ..SigAction::default()
        };
        sys::sigaction(SIGUSR2, Some(&ign), None);
        c.check(
            sys::sigpending() == 0,
            b"ignoring discards the pending signal",
        )?;
        sys::sigaction(SIGUSR2, Some(&SigAction::default()), None);
        sys::kill(pid, sig);
        if ignore {
            for _ in 0..20 {
                sys::sched_yield();
            }
            sys::kill(pid, SIGKILL);
        }
        let (r, status) = loop {
            let (r, s) = sys::wait4(pid, 0);
            if r != -4 {
                break (r, s);
            }
        };
        c.check(r == pid && status == want, b"killed child's wait status")?;
    }
    Ok(())
}

fn background() -> i32 {
    let pid = sys::fork();
    if pid == 0 {
        loop {
            sys::sched_yield();
        }
    }
    user::print(b"sigtest: background pid ");
    user::print_u64(pid as u64);
    user::print(b"\n");
    0
}

/// Waits for the console's Ctrl-C with a SIGINT handler installed.
fn interrupt() -> i32 {
    install(SIGINT, on_signal, 0, 0);
    user::print(b"sigtest: waiting for SIGINT\n");
    while COUNT.load(SeqCst) == 0 {
        sys::sched_yield();
    }
    user::print(b"sigtest: caught SIGINT, si_code ");
    user::print_ret(LAST_CODE.load(SeqCst) as i32 as isize);
    user::print(b"\n");
    0
}

fn run(args: user::Args) -> i32 {
    match args.get(1) {
        Some(b"bg") => return background(),
        Some(b"int") => return interrupt(),
        _ => {}
    }
    let mut c = Checks::new(b"sigtest");
    if all(&mut c).is_err() {
        return 1;
    }
    user::print(b"sigtest: ");
    user::print_u64(c.passed);
    user::print(b" checks passed\n");
    0
}

user::entry!(run);
