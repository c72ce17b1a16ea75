//! The cost of a BRK exception round trip: `brk #BENCH_BRK_IMM` taken at EL1, through the
//! vector's TrapFrame save, ESR decoding and the BRK hook table to a handler that only steps
//! over the instruction, and back through the restore and ERET; against the same loop without
//! the `brk`. The count includes the walk of the hook table up to this benchmark's hook, in the
//! first slot free when its setup registers it.

use alloc::string::String;
use core::arch::asm;

use arch::debug_monitors::{BreakHook, DbgHookResult, register_break_hook, unregister_break_hook};
use arch::esr::Esr;
use arch::exception::TrapFrame;
use arch::insn::AARCH64_INSN_SIZE;

use super::SetupError;
use crate::kbench;

/// The BRK immediate only this benchmark uses. Linux gives meaning to 0x004-0x007 (kprobes,
/// uprobes), 0x100 (fault), 0x400/0x401 (KGDB), 0x800 (BUG) and 0x900 (KASAN), and the
/// in-kernel tests use 0x0f0; 0x0b0 is none of them.
pub const BENCH_BRK_IMM: u16 = 0x0b0;

arch::noinstr! {
/// Steps over the `brk`: the least a handler can do.
fn bench_brk_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    frame.pc += AARCH64_INSN_SIZE as u64;
    DbgHookResult::Handled
}
}

static BENCH_BRK_HOOK: BreakHook = BreakHook {
    imm: BENCH_BRK_IMM,
    mask: 0,
    handler: bench_brk_handler,
};

/// `n` BRK round trips.
fn brk_loop(n: u64) {
    if n == 0 {
        return;
    }
    // SAFETY: BENCH_BRK_HOOK (registered by the setup) claims the immediate and resumes at the
    // next instruction; the exception saves and restores every register on the stack.
    unsafe {
        asm!(
            "2: brk #{imm}",
            "subs {n}, {n}, #1",
            "b.ne 2b",
            imm = const BENCH_BRK_IMM,
            n = inout(reg) n => _,
        );
    }
}

/// The same loop without the `brk`.
fn loop_without_brk(n: u64) {
    if n == 0 {
        return;
    }
    // SAFETY: a register countdown, nothing else.
    unsafe {
        asm!(
            "2: subs {n}, {n}, #1",
            "b.ne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack),
        );
    }
}

fn register_hook() -> Result<(), SetupError> {
    register_break_hook(&BENCH_BRK_HOOK)
        .map_err(|_| SetupError::Fail("the BRK hook table is full".into()))
}

fn unregister_hook() -> Result<(), String> {
    unregister_break_hook(&BENCH_BRK_HOOK);
    Ok(())
}

kbench! {
    name: "brk_round_trip",
    ops: 1000,
    run: brk_loop,
    baseline: "loop_without_brk" => loop_without_brk,
    setup: register_hook,
    teardown: unregister_hook,
}
