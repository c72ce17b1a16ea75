//! The register sets ptrace's `PTRACE_GETREGSET`/`SETREGSET` transfer on arm64
//! (arch/arm64/include/uapi/asm/ptrace.h), and gdb's view of the same registers (the
//! `org.gnu.gdb.aarch64.core` and `.fpu` features, in their order: x0-x30, sp, pc, cpsr,
//! v0-v31, fpsr, fpcr).

use gdbstub::arch::Registers;

/// `NT_PRSTATUS`: `struct user_pt_regs`.
pub const NT_PRSTATUS: usize = 1;
/// `NT_PRFPREG`: `struct user_fpsimd_state`.
pub const NT_PRFPREG: usize = 2;

/// `sizeof(struct user_pt_regs)`: `regs[31]`, `sp`, `pc`, `pstate`, all u64.
pub const USER_PT_REGS_SIZE: usize = 272;
/// `sizeof(struct user_fpsimd_state)`: `vregs[32]` (u128), `fpsr`, `fpcr`, `__reserved[2]`.
pub const USER_FPSIMD_STATE_SIZE: usize = 528;

const SP_OFFSET: usize = 31 * 8;
const PC_OFFSET: usize = 32 * 8;
const PSTATE_OFFSET: usize = 33 * 8;
const FPSR_OFFSET: usize = 32 * 16;
const FPCR_OFFSET: usize = FPSR_OFFSET + 4;

/// Every register gdb's aarch64 description has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AArch64Regs {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    /// PSTATE (gdb keeps AArch32's name and 32 bits).
    pub cpsr: u32,
    pub v: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

impl AArch64Regs {
    /// The registers from the two register sets as the kernel gave them.
    pub fn from_regsets(
        prstatus: &[u8; USER_PT_REGS_SIZE],
        fpsimd: &[u8; USER_FPSIMD_STATE_SIZE],
    ) -> Self {
        let mut regs = AArch64Regs::default();
        for (i, x) in regs.x.iter_mut().enumerate() {
            *x = u64_at(prstatus, i * 8);
        }
        regs.sp = u64_at(prstatus, SP_OFFSET);
        regs.pc = u64_at(prstatus, PC_OFFSET);
        regs.cpsr = u64_at(prstatus, PSTATE_OFFSET) as u32;
        for (i, v) in regs.v.iter_mut().enumerate() {
            let mut q = [0u8; 16];
            q.copy_from_slice(&fpsimd[i * 16..i * 16 + 16]);
            *v = u128::from_le_bytes(q);
        }
        regs.fpsr = u32_at(fpsimd, FPSR_OFFSET);
        regs.fpcr = u32_at(fpsimd, FPCR_OFFSET);
        regs
    }

    /// Writes the registers into the two register sets, over their current content: PSTATE's
    /// upper half (which gdb does not see) and the reserved words are kept.
    pub fn to_regsets(
        &self,
        prstatus: &mut [u8; USER_PT_REGS_SIZE],
        fpsimd: &mut [u8; USER_FPSIMD_STATE_SIZE],
    ) {
        for (i, x) in self.x.iter().enumerate() {
            prstatus[i * 8..i * 8 + 8].copy_from_slice(&x.to_le_bytes());
        }
        prstatus[SP_OFFSET..SP_OFFSET + 8].copy_from_slice(&self.sp.to_le_bytes());
        prstatus[PC_OFFSET..PC_OFFSET + 8].copy_from_slice(&self.pc.to_le_bytes());
        let pstate = u64_at(prstatus, PSTATE_OFFSET) & !0xffff_ffff | u64::from(self.cpsr);
        prstatus[PSTATE_OFFSET..PSTATE_OFFSET + 8].copy_from_slice(&pstate.to_le_bytes());
        for (i, v) in self.v.iter().enumerate() {
            fpsimd[i * 16..i * 16 + 16].copy_from_slice(&v.to_le_bytes());
        }
        fpsimd[FPSR_OFFSET..FPSR_OFFSET + 4].copy_from_slice(&self.fpsr.to_le_bytes());
        fpsimd[FPCR_OFFSET..FPCR_OFFSET + 4].copy_from_slice(&self.fpcr.to_le_bytes());
    }
}

/// The size of a `g` packet's register block, in bytes.
const G_PACKET_SIZE: usize = 33 * 8 + 4 + 32 * 16 + 4 + 4;

impl Registers for AArch64Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let mut put = |bytes: &[u8]| bytes.iter().for_each(|&b| write_byte(Some(b)));
        for x in &self.x {
            put(&x.to_le_bytes());
        }
        put(&self.sp.to_le_bytes());
        put(&self.pc.to_le_bytes());
        put(&self.cpsr.to_le_bytes());
        for v in &self.v {
            put(&v.to_le_bytes());
        }
        put(&self.fpsr.to_le_bytes());
        put(&self.fpcr.to_le_bytes());
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() < G_PACKET_SIZE {
            return Err(());
        }
        for (i, x) in self.x.iter_mut().enumerate() {
            *x = u64_at(bytes, i * 8);
        }
        self.sp = u64_at(bytes, SP_OFFSET);
        self.pc = u64_at(bytes, PC_OFFSET);
        self.cpsr = u32_at(bytes, PSTATE_OFFSET);
        let v_start = PSTATE_OFFSET + 4;
        for (i, v) in self.v.iter_mut().enumerate() {
            let mut q = [0u8; 16];
            q.copy_from_slice(&bytes[v_start + i * 16..v_start + i * 16 + 16]);
            *v = u128::from_le_bytes(q);
        }
        self.fpsr = u32_at(bytes, v_start + 32 * 16);
        self.fpcr = u32_at(bytes, v_start + 32 * 16 + 4);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_regsets() -> ([u8; USER_PT_REGS_SIZE], [u8; USER_FPSIMD_STATE_SIZE]) {
        let mut prstatus = [0u8; USER_PT_REGS_SIZE];
        for i in 0..34 {
            let value = 0x1000 + i as u64;
            prstatus[i * 8..i * 8 + 8].copy_from_slice(&value.to_le_bytes());
        }
        // PSTATE with a bit above gdb's 32.
        prstatus[PSTATE_OFFSET..PSTATE_OFFSET + 8].copy_from_slice(&0x1_6000_0000u64.to_le_bytes());
        let mut fpsimd = [0u8; USER_FPSIMD_STATE_SIZE];
        for i in 0..32 {
            let value = (i as u128) << 64 | 0xaa;
            fpsimd[i * 16..i * 16 + 16].copy_from_slice(&value.to_le_bytes());
        }
        fpsimd[FPSR_OFFSET..FPSR_OFFSET + 4].copy_from_slice(&0x8000_0010u32.to_le_bytes());
        fpsimd[FPCR_OFFSET..FPCR_OFFSET + 4].copy_from_slice(&0x0300_0000u32.to_le_bytes());
        fpsimd[524] = 0x5a;
        (prstatus, fpsimd)
    }

    #[test]
    fn regsets_to_gdb_registers() {
        let (prstatus, fpsimd) = sample_regsets();
        let regs = AArch64Regs::from_regsets(&prstatus, &fpsimd);
        assert_eq!(regs.x[0], 0x1000);
        assert_eq!(regs.x[30], 0x1000 + 30);
        assert_eq!(regs.sp, 0x1000 + 31);
        assert_eq!(regs.pc, 0x1000 + 32);
        assert_eq!(regs.cpsr, 0x6000_0000);
        assert_eq!(regs.v[3], 3u128 << 64 | 0xaa);
        assert_eq!(regs.fpsr, 0x8000_0010);
        assert_eq!(regs.fpcr, 0x0300_0000);
        assert_eq!(regs.pc(), 0x1020);
    }

    #[test]
    fn writing_back_keeps_what_gdb_does_not_see() {
        let (mut prstatus, mut fpsimd) = sample_regsets();
        let mut regs = AArch64Regs::from_regsets(&prstatus, &fpsimd);
        regs.x[5] = 42;
        regs.pc = 0x40_0000;
        regs.cpsr = 0x2000_0000;
        regs.v[31] = u128::MAX;
        regs.fpcr = 0;
        regs.to_regsets(&mut prstatus, &mut fpsimd);
        assert_eq!(u64_at(&prstatus, 5 * 8), 42);
        assert_eq!(u64_at(&prstatus, PC_OFFSET), 0x40_0000);
        assert_eq!(u64_at(&prstatus, PSTATE_OFFSET), 0x1_2000_0000);
        assert_eq!(&fpsimd[31 * 16..32 * 16], &[0xff; 16]);
        assert_eq!(u32_at(&fpsimd, FPCR_OFFSET), 0);
        assert_eq!(fpsimd[524], 0x5a, "reserved words untouched");
        assert_eq!(AArch64Regs::from_regsets(&prstatus, &fpsimd), regs);
    }

    #[test]
    fn g_packet_round_trip_in_gdb_order() {
        let (prstatus, fpsimd) = sample_regsets();
        let regs = AArch64Regs::from_regsets(&prstatus, &fpsimd);
        let mut bytes = Vec::new();
        regs.gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), G_PACKET_SIZE);
        // cpsr right after pc, 4 bytes; fpsr before fpcr at the end.
        assert_eq!(&bytes[264..268], &0x6000_0000u32.to_le_bytes());
        assert_eq!(
            &bytes[G_PACKET_SIZE - 8..G_PACKET_SIZE - 4],
            &0x8000_0010u32.to_le_bytes()
        );
        assert_eq!(&bytes[G_PACKET_SIZE - 4..], &0x0300_0000u32.to_le_bytes());
        let mut back = AArch64Regs::default();
        assert_eq!(back.gdb_deserialize(&bytes), Ok(()));
        assert_eq!(back, regs);
        assert_eq!(back.gdb_deserialize(&bytes[..100]), Err(()));
    }
}
