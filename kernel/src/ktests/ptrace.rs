//! ptrace's access to another address space (`process::mm::access_process_vm`, what
//! `PEEKTEXT`/`POKETEXT` use) on the real MMU: it reads and writes through the page tables and
//! the linear map, read-only text included, and what it writes into text is what EL0 runs
//! next; unmapped and kernel addresses move nothing.

use arch::uspace::UserExit;

use super::uspace::{CODE, DATA, LDR_X0_X1, RODATA, SVC_0, program, run_user};
use crate::process::mm::access_process_vm;
use crate::{kassert_eq, ktest};

/// `mov x0, #7`.
const MOV_X0_7: u32 = 0xd280_00e0;

ktest! {
fn access_process_vm_reads_and_writes_read_only_text() -> TestResult {
    let mm = program(&[LDR_X0_X1, SVC_0], 0x1122_3344_5566_7788)?;
    let mut word = [0u8; 8];
    kassert_eq!(access_process_vm(&mm, DATA, &mut word, false), 8);
    kassert_eq!(u64::from_le_bytes(word), 0x1122_3344_5566_7788);
    // The first instruction of the read-only, executable page becomes `mov x0, #7`.
    let mut insn = MOV_X0_7.to_le_bytes();
    kassert_eq!(access_process_vm(&mm, CODE, &mut insn, true), 4);
    let mut back = [0u8; 4];
    kassert_eq!(access_process_vm(&mm, CODE, &mut back, false), 4);
    kassert_eq!(u32::from_le_bytes(back), MOV_X0_7);
    // EL0 runs the new instruction, and the page is still read-only to it.
    let (exit, frame) = run_user(&mm, CODE, DATA, 0);
    kassert_eq!(exit, UserExit::Syscall);
    kassert_eq!(frame.regs[0], 7);
    // Read-only data can be written too (FOLL_FORCE).
    let mut bytes = 5u64.to_le_bytes();
    kassert_eq!(access_process_vm(&mm, RODATA, &mut bytes, true), 8);
    Ok(())
}
}

ktest! {
fn access_process_vm_stops_at_unmapped_and_kernel_addresses() -> TestResult {
    let mm = program(&[SVC_0], 0)?;
    let mut word = [0u8; 8];
    kassert_eq!(access_process_vm(&mm, 0x1000, &mut word, false), 0);
    kassert_eq!(access_process_vm(&mm, 0x1000, &mut word, true), 0);
    let kernel = access_process_vm as *const () as u64;
    kassert_eq!(access_process_vm(&mm, kernel, &mut word, false), 0);
    kassert_eq!(access_process_vm(&mm, u64::MAX - 3, &mut word, false), 0);
    // Across the end of the data page into an unmapped one: the mapped part only.
    kassert_eq!(access_process_vm(&mm, DATA + 4096 - 4, &mut word, false), 4);
    Ok(())
}
}
