//! `fpsimd [ROUNDS]`: checks that the kernel keeps each process's FP/SIMD registers its own.
//! The program forks; parent and child each fill V0-V31, FPCR and FPSR with values of their
//! own, yield the CPU (so on one CPU the other process runs and fills the registers with its
//! values), busy-wait a little (so timer preemption lands in between too), then read every
//! register back and compare; they also sum a floating-point series across the yields. Prints
//! `fpsimd: N rounds, registers kept` when both saw exactly their own values, else which
//! register went wrong. It also reads CNTVCT_EL0 directly, as the vDSO does. AT_HWCAP must advertise FP and ASIMD (Linux's HWCAP_FP | HWCAP_ASIMD).
#![cfg_attr(target_os = "none", no_std, no_main)]

use user::sys;

/// Linux's `HWCAP_FP | HWCAP_ASIMD`.
const HWCAP_FP_ASIMD: u64 = 0b11;
/// FPCR.RMode = round towards zero, FPCR.FZ, FPCR.DN: bits a program sets on purpose.
const FPCR_BITS: u64 = (0b11 << 22) | (1 << 24) | (1 << 25);

/// The 32 registers plus FPCR and FPSR, as this program stores them.
#[repr(C, align(16))]
struct Regs {
    v: [[u64; 2]; 32],
    fpcr: u64,
    fpsr: u64,
}

fn pattern(seed: u64, round: u64) -> Regs {
    let mut regs = Regs {
        v: [[0; 2]; 32],
        fpcr: FPCR_BITS,
        // FPSR.IXC and IOC (cumulative flags), plus a seed-dependent DZC.
        fpsr: 0x10 | 0x1 | ((seed & 1) << 1),
    };
    for (i, v) in regs.v.iter_mut().enumerate() {
        let x = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(round << 8 | i as u64);
        *v = [x, !x ^ (i as u64)];
    }
    regs
}

/// Loads `input` into the registers, yields (`sched_yield`, then a busy loop of `spin`
/// iterations), and stores the registers into `output`.
#[cfg(target_os = "none")]
fn roundtrip(input: &Regs, output: &mut Regs, spin: u64) {
    // SAFETY: reads `input` and writes `output` (both 528 bytes of a `Regs`); the syscall
    // writes x0 only; every V register and FPCR/FPSR is this asm's to clobber (the program is
    // softfloat: the compiler keeps nothing in them).
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "ldp q0, q1, [{i}, #32 * 0]",
            "ldp q2, q3, [{i}, #32 * 1]",
            "ldp q4, q5, [{i}, #32 * 2]",
            "ldp q6, q7, [{i}, #32 * 3]",
            "ldp q8, q9, [{i}, #32 * 4]",
            "ldp q10, q11, [{i}, #32 * 5]",
            "ldp q12, q13, [{i}, #32 * 6]",
            "ldp q14, q15, [{i}, #32 * 7]",
            "ldp q16, q17, [{i}, #32 * 8]",
            "ldp q18, q19, [{i}, #32 * 9]",
            "ldp q20, q21, [{i}, #32 * 10]",
            "ldp q22, q23, [{i}, #32 * 11]",
            "ldp q24, q25, [{i}, #32 * 12]",
            "ldp q26, q27, [{i}, #32 * 13]",
            "ldp q28, q29, [{i}, #32 * 14]",
            "ldp q30, q31, [{i}, #32 * 15]",
            "ldr {t}, [{i}, #512]",
            "msr fpcr, {t}",
            "ldr {t}, [{i}, #520]",
            "msr fpsr, {t}",
            "mov x8, #124",
            "svc #0",
            "2: subs {spin}, {spin}, #1",
            "b.hi 2b",
            "stp q0, q1, [{o}, #32 * 0]",
            "stp q2, q3, [{o}, #32 * 1]",
            "stp q4, q5, [{o}, #32 * 2]",
            "stp q6, q7, [{o}, #32 * 3]",
            "stp q8, q9, [{o}, #32 * 4]",
            "stp q10, q11, [{o}, #32 * 5]",
            "stp q12, q13, [{o}, #32 * 6]",
            "stp q14, q15, [{o}, #32 * 7]",
            "stp q16, q17, [{o}, #32 * 8]",
            "stp q18, q19, [{o}, #32 * 9]",
            "stp q20, q21, [{o}, #32 * 10]",
            "stp q22, q23, [{o}, #32 * 11]",
            "stp q24, q25, [{o}, #32 * 12]",
            "stp q26, q27, [{o}, #32 * 13]",
            "stp q28, q29, [{o}, #32 * 14]",
            "stp q30, q31, [{o}, #32 * 15]",
            "mrs {t}, fpcr",
            "str {t}, [{o}, #512]",
            "mrs {t}, fpsr",
            "str {t}, [{o}, #520]",
            ".arch_extension nosimd",
            ".arch_extension nofp",
            i = in(reg) input,
            o = in(reg) output,
            spin = inout(reg) spin => _,
            t = out(reg) _,
            out("x0") _,
            out("x8") _,
            options(nostack),
        );
    }
}

#[cfg(not(target_os = "none"))]
fn roundtrip(input: &Regs, output: &mut Regs, _spin: u64) {
    output.v = input.v;
    output.fpcr = input.fpcr;
    output.fpsr = input.fpsr;
}

/// One step of a floating-point sum kept in D16 across a yield: returns D16 + `x`.
#[cfg(target_os = "none")]
fn fadd_across_yield(acc: u64, x: u64) -> u64 {
    let out: u64;
    // SAFETY: register-only FP arithmetic and a `sched_yield`; D16/D17 are this asm's.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            "fmov d16, {acc}",
            "fmov d17, {x}",
            "mov x8, #124",
            "svc #0",
            "fadd d16, d16, d17",
            "fmov {out}, d16",
            ".arch_extension nofp",
            acc = in(reg) acc,
            x = in(reg) x,
            out = lateout(reg) out,
            out("x0") _,
            out("x8") _,
            options(nostack),
        );
    }
    out
}

#[cfg(not(target_os = "none"))]
fn fadd_across_yield(acc: u64, x: u64) -> u64 {
    (f64::from_bits(acc) + f64::from_bits(x)).to_bits()
}

/// Runs `rounds` round trips with `seed`'s values; the first bad register's name on failure.
fn check(seed: u64, rounds: u64) -> Result<(), &'static [u8]> {
    let mut out = Regs {
        v: [[0; 2]; 32],
        fpcr: 0,
        fpsr: 0,
    };
    let mut sum = 0f64.to_bits();
    for round in 0..rounds {
        let regs = pattern(seed, round);
        roundtrip(&regs, &mut out, 20_000 + seed * 7_000);
        if let Some(i) = (0..32).find(|&i| out.v[i] != regs.v[i]) {
            return Err(V_NAMES[i]);
        }
        if out.fpcr & FPCR_BITS != FPCR_BITS {
            return Err(b"FPCR");
        }
        if out.fpsr & 0x1f != regs.fpsr {
            return Err(b"FPSR");
        }
        // Integers up to 2^53 add exactly in f64 whatever the rounding mode.
        sum = fadd_across_yield(sum, ((seed * 1000 + round) as f64).to_bits());
    }
    let expected: u64 = (0..rounds).map(|r| seed * 1000 + r).sum();
    if sum != (expected as f64).to_bits() {
        return Err(b"D16 (fadd)");
    }
    Ok(())
}

const V_NAMES: [&[u8]; 32] = [
    b"V0", b"V1", b"V2", b"V3", b"V4", b"V5", b"V6", b"V7", b"V8", b"V9", b"V10", b"V11", b"V12",
    b"V13", b"V14", b"V15", b"V16", b"V17", b"V18", b"V19", b"V20", b"V21", b"V22", b"V23", b"V24",
    b"V25", b"V26", b"V27", b"V28", b"V29", b"V30", b"V31",
];

/// CNTVCT_EL0, which EL0 reads directly once the kernel sets CNTKCTL_EL1.EL0VCTEN (a SIGILL
/// otherwise).
#[cfg(target_os = "none")]
fn cntvct() -> u64 {
    let ticks: u64;
    // SAFETY: reads a counter register.
    unsafe { core::arch::asm!("isb", "mrs {t}, cntvct_el0", t = out(reg) ticks, options(nostack)) };
    ticks
}

#[cfg(not(target_os = "none"))]
fn cntvct() -> u64 {
    0
}

fn run(args: user::Args) -> i32 {
    let rounds = args.get(1).and_then(user::parse_u64).unwrap_or(50);
    let start = cntvct();
    if user::auxv_hwcap() & HWCAP_FP_ASIMD != HWCAP_FP_ASIMD {
        user::print(b"fpsimd: AT_HWCAP lacks FP/ASIMD\n");
        return 1;
    }
    let pid = sys::fork();
    if pid < 0 {
        user::print(b"fpsimd: fork failed\n");
        return 1;
    }
    let seed = if pid == 0 { 2 } else { 1 };
    let result = check(seed, rounds);
    if let Err(name) = result {
        user::print(if pid == 0 {
            b"fpsimd: child: "
        } else {
            b"fpsimd: parent: "
        });
        user::print(name);
        user::print(b" changed under it\n");
    }
    if pid == 0 {
        return i32::from(result.is_err());
    }
    let (_, status) = sys::wait4(pid, 0);
    if result.is_err() || status != 0 {
        return 1;
    }
    if cntvct() <= start && cfg!(target_os = "none") {
        user::print(b"fpsimd: CNTVCT_EL0 did not advance\n");
        return 1;
    }
    user::print(b"fpsimd: ");
    user::print_u64(rounds);
    user::print(b" rounds in two processes, registers kept\n");
    0
}

user::entry!(run);
