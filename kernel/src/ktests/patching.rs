//! Kernel text is read-only except through the fixmap alias, and `patch_text` checks, writes
//! and publishes instructions.

use arch::extable::{Efault, read_u32_nofault, write_u32_nofault};
use arch::insn::nop;
use arch::patching::{PatchError, TextPatch, patch_text, patch_text_batch, read_insn};

use crate::ktest::Context;
use crate::trace::ftrace;
use crate::{kassert, kassert_eq, ktest};

// A patch target in ordinary text: returns 1 until its first instruction is rewritten.
core::arch::global_asm!(
    ".section .text.ktest_patch_target, \"ax\"",
    ".balign 8",
    ".global ktest_patch_target",
    ".type ktest_patch_target, %function",
    "ktest_patch_target:",
    "    mov x0, #1",
    "    ret",
    "    mov x0, #3",
    "    ret",
    ".size ktest_patch_target, . - ktest_patch_target",
);

unsafe extern "C" {
    fn ktest_patch_target() -> u64;
}

/// `mov x0, #imm16` (MOVZ, 64-bit).
fn movz_x0(imm: u16) -> u32 {
    0xd280_0000 | (u32::from(imm) << 5)
}

fn target_addr() -> u64 {
    ktest_patch_target as *const () as u64
}

fn call_target() -> u64 {
    // SAFETY: the routine only writes x0 and returns.
    unsafe { ktest_patch_target() }
}

ktest! {
fn direct_text_store_faults() -> TestResult {
    let addr = target_addr();
    let before = read_u32_nofault(addr).map_err(|_| "text must be readable")?;
    // SAFETY: if the store went through it would rewrite `mov x0, #1` with itself, harmlessly;
    // it must fault because text is mapped read-only.
    let result = unsafe { write_u32_nofault(addr, before) };
    kassert_eq!(result, Err(Efault));
    kassert_eq!(read_u32_nofault(addr), Ok(before));
    Ok(())
}
}

ktest! {
fn patch_text_through_alias_executes_new_instruction() -> TestResult {
    let addr = target_addr();
    kassert_eq!(read_insn(addr), Ok(movz_x0(1)));
    kassert_eq!(call_target(), 1);
    patch_text(addr, movz_x0(1), movz_x0(2)).context("patch")?;
    let patched = call_target();
    patch_text(addr, movz_x0(2), movz_x0(1)).context("restore")?;
    kassert_eq!(patched, 2);
    kassert_eq!(call_target(), 1);
    Ok(())
}
}

ktest! {
fn patch_text_refuses_unexpected_old_instruction() -> TestResult {
    let addr = target_addr();
    let result = patch_text(addr, movz_x0(7), movz_x0(2));
    kassert_eq!(result, Err(PatchError::Mismatch { addr, expected: movz_x0(7), found: movz_x0(1) }));
    kassert_eq!(call_target(), 1);
    Ok(())
}
}

ktest! {
fn patch_batch_is_all_or_nothing() -> TestResult {
    let addr = target_addr();
    // The second site's `old` is wrong: the first must not be written either.
    let bad = [
        TextPatch { addr, old: movz_x0(1), new: movz_x0(5) },
        TextPatch { addr: addr + 8, old: movz_x0(9), new: movz_x0(6) },
    ];
    kassert!(patch_text_batch(&bad).is_err());
    kassert_eq!(read_insn(addr), Ok(movz_x0(1)));

    // Jump over the first `ret` to the second `mov x0, #3; ret`, then undo both.
    let b_plus_8 = arch::insn::b(addr + 4, addr + 8).context("encode b")?;
    let ret = arch::insn::ret();
    let good = [
        TextPatch { addr: addr + 4, old: ret, new: b_plus_8 },
        TextPatch { addr: addr + 8, old: movz_x0(3), new: movz_x0(4) },
    ];
    patch_text_batch(&good).context("batch")?;
    let patched = call_target();
    let undo = [
        TextPatch { addr: addr + 4, old: b_plus_8, new: ret },
        TextPatch { addr: addr + 8, old: movz_x0(4), new: movz_x0(3) },
    ];
    patch_text_batch(&undo).context("undo")?;
    kassert_eq!(patched, 4);
    kassert_eq!(call_target(), 1);
    Ok(())
}
}

ktest! {
fn patch_text_refuses_non_text() -> TestResult {
    static DATA: u32 = 0;
    let addr = &DATA as *const u32 as u64;
    kassert_eq!(patch_text(addr, 0, 1), Err(PatchError::NotText { addr }));
    let noinstr = arch::patching::noinstr_text().start;
    kassert!(patch_text(noinstr, 0, 1).is_err());
    Ok(())
}
}

ktest! {
fn every_patch_site_is_initialised() -> TestResult {
    let records = ftrace::records();
    kassert!(records.len() > 100, "only {} patch sites", records.len());
    let nop = nop();
    for rec in records {
        kassert_eq!(read_insn(rec.func()), Ok(arch::insn::mov_x9_x30()));
        kassert_eq!(read_insn(rec.ip), Ok(nop));
    }
    let fib = crate::workload::fib as *const () as u64;
    kassert!(records.iter().any(|r| r.func() == fib), "kernel::workload::fib has no patch site");
    Ok(())
}
}

ktest! {
fn nofault_read_of_unmapped_address_fails() -> TestResult {
    kassert_eq!(read_u32_nofault(0), Err(Efault));
    kassert_eq!(read_u32_nofault(arch::mmu::FIXADDR_START), Err(Efault));
    Ok(())
}
}

ktest! {
fn patch_batch_costs_one_rendezvous_with_every_other_cpu_parked() -> TestResult {
    use crate::smp::num_online_cpus;
    use crate::stop_machine::{last_parked_cpus, rendezvous_count};
    let addr = target_addr();
    let before = rendezvous_count();
    let batch = [
        TextPatch { addr, old: movz_x0(1), new: movz_x0(2) },
        TextPatch { addr: addr + 8, old: movz_x0(3), new: movz_x0(4) },
    ];
    patch_text_batch(&batch).context("batch")?;
    let parked = last_parked_cpus();
    let after = rendezvous_count();
    let undo = [
        TextPatch { addr, old: movz_x0(2), new: movz_x0(1) },
        TextPatch { addr: addr + 8, old: movz_x0(4), new: movz_x0(3) },
    ];
    patch_text_batch(&undo).context("undo")?;
    kassert_eq!(after, before + 1);
    kassert_eq!(parked, num_online_cpus() - 1);
    kassert_eq!(rendezvous_count(), before + 2);
    kassert_eq!(call_target(), 1);
    Ok(())
}
}
