//! The register sets `PTRACE_GETREGSET`/`PTRACE_SETREGSET` read and write (Linux:
//! `arch/arm64/kernel/ptrace.c`'s `aarch64_regsets`), as pure encoders and decoders over a
//! stopped tracee's saved state ([`TraceeRegs`]), so their byte layouts are tested on the host.
//!
//! Each set has Linux's note type, element size and count: the iovec's length must be a
//! multiple of the element size (`EINVAL` otherwise) and is cut to the set's size; a set may
//! be read or written in part, from its start. `NT_PRSTATUS` is `struct user_pt_regs` (x0-x30,
//! sp, pc, pstate: 272 bytes), and a write is refused unless the new PSTATE is a valid EL0t
//! one (Linux's `valid_user_regs`); `NT_PRFPREG` is `struct user_fpsimd_state` (v0-v31, fpsr,
//! fpcr, two reserved words: 528 bytes); `NT_ARM_TLS` is TPIDR_EL0 and TPIDR2_EL0 (no SME
//! here: always 0, writes to it ignored); `NT_ARM_SYSTEM_CALL` is the syscall number (an
//! `int`), which a tracer sets to -1 at a syscall-entry stop to skip the call.
//! `NT_ARM_HW_BREAK` and `NT_ARM_HW_WATCH` (`struct user_hwdebug_state`, 264 bytes) have
//! their shape here, but their contents are the debug monitors' (`process::debug`).

use alloc::vec::Vec;

use arch::fpsimd::UserFpsimdState;
use arch::ptrace::TrapFrame;

use crate::fs::Errno;

// Note types (include/uapi/linux/elf.h).
pub const NT_PRSTATUS: u64 = 1;
pub const NT_PRFPREG: u64 = 2;
pub const NT_ARM_TLS: u64 = 0x401;
pub const NT_ARM_HW_BREAK: u64 = 0x402;
pub const NT_ARM_HW_WATCH: u64 = 0x403;
pub const NT_ARM_SYSTEM_CALL: u64 = 0x404;

/// `sizeof(struct user_pt_regs)`.
pub const USER_PT_REGS_SIZE: usize = 34 * 8;
/// `sizeof(struct user_fpsimd_state)`.
pub const USER_FPSIMD_SIZE: usize = size_of::<UserFpsimdState>();
/// `sizeof(struct user_hwdebug_state)`: `dbg_info`, a pad word, then 16 slots of address,
/// control and pad.
pub const USER_HWDEBUG_STATE_SIZE: usize = 8 + 16 * 16;

// PSTATE bits `valid_user_regs` looks at (arch/arm64/include/uapi/asm/ptrace.h).
const PSR_MODE32_BIT: u64 = 0x10;
const PSR_F_BIT: u64 = 0x40;
const PSR_I_BIT: u64 = 0x80;
const PSR_A_BIT: u64 = 0x100;
const PSR_D_BIT: u64 = 0x200;
/// The bits of an AArch64 SPSR_EL1 that are RES0 for an EL0 context (Linux's
/// `SPSR_EL1_AARCH64_RES0_BITS`): 63:32, 27:26, 23:22 (UAO, PAN), 20:13, 5.
const SPSR_EL1_AARCH64_RES0_BITS: u64 =
    0xffff_ffff_0000_0000 | (0b11 << 26) | (0b11 << 22) | (0xff << 13) | (1 << 5);

/// What a stopped tracee's register sets are read from and written to: the state it saved
/// when it stopped, put back when it resumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceeRegs {
    pub frame: TrapFrame,
    pub fpsimd: UserFpsimdState,
    pub tls: u64,
    /// The syscall number of the syscall being traced (-1: none, or skipped; Linux's
    /// `pt_regs::syscallno`).
    pub syscallno: i32,
}

impl TraceeRegs {
    /// All zero: what a process that never stopped holds.
    pub const ZERO: Self = Self {
        frame: TrapFrame {
            regs: [0; 31],
            sp: 0,
            pc: 0,
            pstate: 0,
            esr: 0,
            far: 0,
            stackframe: [0; 2],
        },
        fpsimd: UserFpsimdState {
            vregs: [0; 32],
            fpsr: 0,
            fpcr: 0,
            __reserved: [0; 2],
        },
        tls: 0,
        syscallno: -1,
    };
}

/// A register set's shape (Linux's `struct user_regset`: `n` elements of `size` bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regset {
    pub note: u64,
    pub n: usize,
    pub size: usize,
}

/// The sets this kernel gives. `NT_ARM_HW_BREAK` and `NT_ARM_HW_WATCH` are the debug
/// monitors' per-task slots (`process::debug`), not saved registers: [`get`] and [`set`]
/// refuse them.
pub const REGSETS: [Regset; 6] = [
    Regset {
        note: NT_PRSTATUS,
        n: USER_PT_REGS_SIZE / 8,
        size: 8,
    },
    Regset {
        note: NT_PRFPREG,
        n: USER_FPSIMD_SIZE / 4,
        size: 4,
    },
    Regset {
        note: NT_ARM_TLS,
        n: 2,
        size: 8,
    },
    Regset {
        note: NT_ARM_SYSTEM_CALL,
        n: 1,
        size: 4,
    },
    Regset {
        note: NT_ARM_HW_BREAK,
        n: USER_HWDEBUG_STATE_SIZE / 4,
        size: 4,
    },
    Regset {
        note: NT_ARM_HW_WATCH,
        n: USER_HWDEBUG_STATE_SIZE / 4,
        size: 4,
    },
];

/// The set `note` names and the length a transfer of `iov_len` bytes moves (Linux's
/// `ptrace_regset`): `EINVAL` for an unknown set or a length that is not a whole number of
/// elements; longer ones are cut to the set's size.
pub fn transfer_len(note: u64, iov_len: u64) -> Result<(Regset, usize), Errno> {
    let set = REGSETS
        .iter()
        .find(|s| s.note == note)
        .copied()
        .ok_or(Errno::EINVAL)?;
    if !iov_len.is_multiple_of(set.size as u64) {
        return Err(Errno::EINVAL);
    }
    let len = iov_len.min((set.n * set.size) as u64) as usize;
    Ok((set, len))
}

/// The whole set `note` as its bytes (`len` of them go to the tracer).
pub fn get(note: u64, regs: &TraceeRegs) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    out.try_reserve(USER_FPSIMD_SIZE)
        .map_err(|_| Errno::ENOMEM)?;
    match note {
        NT_PRSTATUS => {
            let f = &regs.frame;
            for word in f.regs.iter().chain([&f.sp, &f.pc, &f.pstate]) {
                out.extend_from_slice(&word.to_le_bytes());
            }
        }
        NT_PRFPREG => {
            let fp = &regs.fpsimd;
            for v in &fp.vregs {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for word in [fp.fpsr, fp.fpcr, fp.__reserved[0], fp.__reserved[1]] {
                out.extend_from_slice(&word.to_le_bytes());
            }
        }
        NT_ARM_TLS => {
            out.extend_from_slice(&regs.tls.to_le_bytes());
            // TPIDR2_EL0 exists only with SME.
            out.extend_from_slice(&0u64.to_le_bytes());
        }
        NT_ARM_SYSTEM_CALL => out.extend_from_slice(&regs.syscallno.to_le_bytes()),
        _ => return Err(Errno::EINVAL),
    }
    Ok(out)
}

/// Writes `bytes` (the start of set `note`, a whole number of its elements) over the tracee's
/// state: the rest of the set keeps its value. Nothing changes on error (`EINVAL` for a
/// PSTATE that is not a valid EL0t one).
pub fn set(note: u64, regs: &mut TraceeRegs, bytes: &[u8]) -> Result<(), Errno> {
    let mut whole = get(note, regs)?;
    let n = bytes.len().min(whole.len());
    whole[..n].copy_from_slice(&bytes[..n]);
    let word = |i: usize| u64::from_le_bytes(whole[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let word32 = |at: usize| u32::from_le_bytes(whole[at..at + 4].try_into().unwrap_or([0; 4]));
    match note {
        NT_PRSTATUS => {
            let pstate = valid_user_pstate(word(33)).ok_or(Errno::EINVAL)?;
            let f = &mut regs.frame;
            for (i, r) in f.regs.iter_mut().enumerate() {
                *r = word(i);
            }
            f.sp = word(31);
            f.pc = word(32);
            f.pstate = pstate;
        }
        NT_PRFPREG => {
            let fp = &mut regs.fpsimd;
            for (i, v) in fp.vregs.iter_mut().enumerate() {
                *v = u128::from_le_bytes(whole[i * 16..i * 16 + 16].try_into().unwrap_or([0; 16]));
            }
            fp.fpsr = word32(512);
            fp.fpcr = word32(516);
            fp.__reserved = [word32(520), word32(524)];
        }
        NT_ARM_TLS => regs.tls = word(0),
        NT_ARM_SYSTEM_CALL => regs.syscallno = word32(0) as i32,
        _ => return Err(Errno::EINVAL),
    }
    Ok(())
}

/// A PSTATE a tracer may give an EL0 task (Linux's `valid_native_regs`): its RES0 bits
/// cleared; `None` unless it returns to AArch64 EL0t with no exception masked.
pub fn valid_user_pstate(pstate: u64) -> Option<u64> {
    let pstate = pstate & !SPSR_EL1_AARCH64_RES0_BITS;
    let bad = arch::ptrace::PSR_MODE_MASK
        | PSR_MODE32_BIT
        | PSR_D_BIT
        | PSR_A_BIT
        | PSR_I_BIT
        | PSR_F_BIT;
    (pstate & bad == 0).then_some(pstate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TraceeRegs {
        let mut regs = TraceeRegs::default();
        for (i, r) in regs.frame.regs.iter_mut().enumerate() {
            *r = 0x1000 + i as u64;
        }
        regs.frame.sp = 0x7fff_0000;
        regs.frame.pc = 0x40_0000;
        regs.frame.pstate = 0x6000_0000;
        for (i, v) in regs.fpsimd.vregs.iter_mut().enumerate() {
            *v = (i as u128) << 64 | 0xab;
        }
        regs.fpsimd.fpsr = 0x11;
        regs.fpsimd.fpcr = 0x0300_0000;
        regs.tls = 0xdead_beef;
        regs.syscallno = 64;
        regs
    }

    #[test]
    fn prstatus_is_user_pt_regs() {
        let regs = sample();
        let bytes = get(NT_PRSTATUS, &regs).unwrap();
        assert_eq!(bytes.len(), 272);
        assert_eq!(&bytes[0..8], &0x1000u64.to_le_bytes());
        assert_eq!(&bytes[8 * 8..8 * 9], &0x1008u64.to_le_bytes());
        assert_eq!(&bytes[248..256], &0x7fff_0000u64.to_le_bytes());
        assert_eq!(&bytes[256..264], &0x40_0000u64.to_le_bytes());
        assert_eq!(&bytes[264..272], &0x6000_0000u64.to_le_bytes());
    }

    #[test]
    fn fprfpreg_is_user_fpsimd_state() {
        let regs = sample();
        let bytes = get(NT_PRFPREG, &regs).unwrap();
        assert_eq!(bytes.len(), 528);
        assert_eq!(&bytes[16..32], &((1u128 << 64) | 0xab).to_le_bytes());
        assert_eq!(&bytes[512..516], &0x11u32.to_le_bytes());
        assert_eq!(&bytes[516..520], &0x0300_0000u32.to_le_bytes());
        let mut copy = TraceeRegs::default();
        set(NT_PRFPREG, &mut copy, &bytes).unwrap();
        assert_eq!(copy.fpsimd, regs.fpsimd);
    }

    #[test]
    fn tls_and_system_call() {
        let mut regs = sample();
        let tls = get(NT_ARM_TLS, &regs).unwrap();
        assert_eq!(tls.len(), 16);
        assert_eq!(&tls[..8], &0xdead_beefu64.to_le_bytes());
        assert_eq!(&tls[8..], &[0; 8]);
        assert_eq!(get(NT_ARM_SYSTEM_CALL, &regs).unwrap(), 64i32.to_le_bytes());
        set(NT_ARM_SYSTEM_CALL, &mut regs, &(-1i32).to_le_bytes()).unwrap();
        assert_eq!(regs.syscallno, -1);
        set(NT_ARM_TLS, &mut regs, &7u64.to_le_bytes()).unwrap();
        assert_eq!(regs.tls, 7);
        assert_eq!(get(NT_ARM_HW_BREAK, &regs), Err(Errno::EINVAL));
    }

    #[test]
    fn lengths_follow_ptrace_regset() {
        let (set, len) = transfer_len(NT_PRSTATUS, 4096).unwrap();
        assert_eq!((set.n * set.size, len), (272, 272));
        assert_eq!(transfer_len(NT_PRSTATUS, 16).unwrap().1, 16);
        assert_eq!(transfer_len(NT_PRSTATUS, 12), Err(Errno::EINVAL));
        assert_eq!(transfer_len(NT_PRFPREG, 1000).unwrap().1, 528);
        assert_eq!(transfer_len(NT_PRFPREG, 6), Err(Errno::EINVAL));
        assert_eq!(transfer_len(NT_ARM_SYSTEM_CALL, 8).unwrap().1, 4);
        assert_eq!(transfer_len(NT_ARM_TLS, 8).unwrap().1, 8);
        assert_eq!(transfer_len(0x999, 8), Err(Errno::EINVAL));
        assert_eq!(transfer_len(NT_ARM_HW_BREAK, 4096).unwrap().1, 264);
        assert_eq!(transfer_len(NT_ARM_HW_WATCH, 6), Err(Errno::EINVAL));
        assert_eq!(transfer_len(NT_PRSTATUS, 0).unwrap().1, 0);
    }

    #[test]
    fn partial_writes_keep_the_rest_and_pstate_is_checked() {
        let mut regs = sample();
        // Only x0 and x1.
        let mut two = [0u8; 16];
        two[..8].copy_from_slice(&5u64.to_le_bytes());
        two[8..].copy_from_slice(&6u64.to_le_bytes());
        set(NT_PRSTATUS, &mut regs, &two).unwrap();
        assert_eq!(&regs.frame.regs[..3], &[5, 6, 0x1002]);
        assert_eq!(regs.frame.pc, 0x40_0000);
        // A PSTATE for EL1h, or with IRQs masked, or AArch32: refused, nothing changed.
        let mut bytes = get(NT_PRSTATUS, &regs).unwrap();
        bytes[0..8].copy_from_slice(&99u64.to_le_bytes());
        for bad in [0x5u64, 0x80, 0x10, 0x200] {
            bytes[264..272].copy_from_slice(&bad.to_le_bytes());
            assert_eq!(set(NT_PRSTATUS, &mut regs, &bytes), Err(Errno::EINVAL));
            assert_eq!(regs.frame.regs[0], 5);
        }
        // RES0 bits are dropped, flags kept.
        bytes[264..272].copy_from_slice(&(0xf000_0000u64 | 1 << 40 | 1 << 22).to_le_bytes());
        set(NT_PRSTATUS, &mut regs, &bytes).unwrap();
        assert_eq!(regs.frame.pstate, 0xf000_0000);
        assert_eq!(regs.frame.regs[0], 99);
        assert_eq!(valid_user_pstate(1 << 21), Some(1 << 21));
    }
}
