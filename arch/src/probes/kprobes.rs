//! The arm64 half of kprobes that runs on the machine (Linux: `arch/arm64/kernel/probes/
//! kprobes.c`): the out-of-line (XOL) slot region, preparing, arming and disarming a probed
//! instruction, the per-CPU [`KprobeCtlblk`], and the two BRK handlers.
//!
//! A probe's life, as Linux does it on arm64:
//! - [`arch_prepare_kprobe`] reads the instruction, refuses one with an exception-table fixup,
//!   and asks the decoder ([`super::decode`]) what to do with it. One that can run anywhere is
//!   copied into a slot of the XOL region followed by `brk #0x006`
//!   ([`KPROBES_BRK_SS_IMM`]); one that depends on its own address (branches, PC-relative
//!   loads) keeps the decoder's simulation handler instead.
//! - [`arch_arm_kprobe`] writes `brk #0x004` over the instruction through the checked patch
//!   path (fixmap alias, cache maintenance, stop-machine); [`arch_disarm_kprobe`] writes the
//!   original word back, checking that the BRK is still there.
//! - A hit takes `brk #0x004`: [`kprobe_breakpoint_handler`] finds the probe, runs the pre
//!   handler, then either points the frame at the slot (with every DAIF bit masked, so nothing
//!   can interrupt the slot or switch tasks under it) or simulates the instruction. The slot's
//!   `brk #0x006` lands in [`kprobe_breakpoint_ss_handler`], which gives the context its DAIF
//!   bits back, runs the post handler and resumes at the instruction after the probe.
//!
//! Recursion (Linux's `reenter_kprobe`): a probe hit while this CPU is inside a probe's pre or
//! post handler is counted as missed and its instruction is still executed (slot or
//! simulation) with the outer probe saved in the control block; a hit while a slot of this CPU
//! runs cannot be recovered from and stops the kernel, as Linux's `BUG()` does.
//!
//! The generic half (probe table, handlers, aggregation) is the kernel's: it installs
//! [`KprobeCallbacks`] with [`arch_init_kprobes`]. Every callback runs in the BRK exception,
//! with every DAIF bit masked, so a stop-machine rendezvous is a grace period for them: once
//! one completes after a probe was disarmed, no CPU is in its handlers or its slot.
//!
//! The XOL region is `.kprobes.xol` (see `linker.ld`): pages inside the kernel's read-only,
//! executable text mapping but outside `__text_start..__text_end`, so they can never be probed
//! or traced. Free slots hold `brk #0x800` (a stray jump into one is a BUG report); a slot is
//! written only through [`crate::patching::patch_xol_batch`].

use core::ops::Range;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use super::decode::{ArchProbeInsn, ProbeInsn, arm_kprobe_decode_insn};
use crate::daifflags::DAIF_MASK;
use crate::debug_monitors::{BreakHook, DbgHookResult, TableFull, register_break_hook};
use crate::esr::Esr;
use crate::exception::TrapFrame;
use crate::insn::{
    AARCH64_INSN_SIZE, BRK64_OPCODE_BUG, BRK64_OPCODE_KPROBES, BRK64_OPCODE_KPROBES_SS,
    KPROBES_BRK_IMM, KPROBES_BRK_SS_IMM,
};
use crate::patching::{self, PatchError, TextPatch};
use crate::percpu::this_arch_cpu;

/// Words in one slot: the copied instruction and `brk #0x006` (Linux's `MAX_INSN_SIZE`).
pub const MAX_INSN_SIZE: usize = 2;
/// Bytes in one slot.
pub const XOL_SLOT_SIZE: u64 = (MAX_INSN_SIZE * AARCH64_INSN_SIZE) as u64;
/// Slots in the region: two pages.
pub const XOL_SLOTS: usize = 1024;
const XOL_BITMAP_WORDS: usize = XOL_SLOTS / 64;

core::arch::global_asm!(
    ".pushsection .kprobes.xol, \"ax\"",
    ".balign 4096",
    ".rept {words}",
    ".inst {bug}",
    ".endr",
    ".popsection",
    words = const XOL_SLOTS * MAX_INSN_SIZE,
    bug = const BRK64_OPCODE_BUG,
);

unsafe extern "C" {
    static __kprobes_xol_start: u8;
    static __kprobes_xol_end: u8;
}

crate::noinstr! {
/// The XOL slot region: executable, read-only, outside the kernel's probe-able text.
pub fn xol_region() -> Range<u64> {
    (&raw const __kprobes_xol_start as u64)..(&raw const __kprobes_xol_end as u64)
}
}

/// Which slots are taken (bit set).
static XOL_USED: [AtomicU64; XOL_BITMAP_WORDS] = [const { AtomicU64::new(0) }; XOL_BITMAP_WORDS];

/// Takes a free slot (Linux's `get_insn_slot`), or None when all are taken.
fn alloc_insn_slot() -> Option<u64> {
    let base = xol_region().start;
    for (w, word) in XOL_USED.iter().enumerate() {
        let mut cur = word.load(Ordering::Relaxed);
        while cur != u64::MAX {
            let bit = (!cur).trailing_zeros() as usize;
            match word.compare_exchange(cur, cur | 1 << bit, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(base + (w * 64 + bit) as u64 * XOL_SLOT_SIZE),
                Err(now) => cur = now,
            }
        }
    }
    None
}

/// Gives a slot back (Linux's `free_insn_slot`).
fn free_insn_slot(slot: u64) {
    let index = ((slot - xol_region().start) / XOL_SLOT_SIZE) as usize;
    XOL_USED[index / 64].fetch_and(!(1 << (index % 64)), Ordering::AcqRel);
}

/// Slots in use, for `kprobes` tests and reports.
pub fn xol_slots_used() -> usize {
    XOL_USED
        .iter()
        .map(|w| w.load(Ordering::Relaxed).count_ones() as usize)
        .sum()
}

/// How a prepared probe executes its instruction (Linux's `struct arch_specific_insn`).
#[derive(Default)]
pub struct ArchSpecificInsn {
    /// The XOL slot holding the copied instruction, for an instruction that runs out of line.
    pub xol_insn: Option<u64>,
    /// Where to resume after the slot: the probed address + 4 (0 for a simulated one, whose
    /// handler sets the pc itself).
    pub xol_restore: u64,
    /// The simulation handler the decoder chose, for an instruction without a slot.
    pub api: ArchProbeInsn,
}

/// The machine state of one probed address (the arch fields of Linux's `struct kprobe`). The
/// kernel embeds it, first, in its own probe structure and gets back there from the
/// `&ArchKprobe` the callbacks receive.
#[derive(Default)]
pub struct ArchKprobe {
    /// The probed instruction's address.
    pub addr: u64,
    /// The original instruction there.
    pub opcode: u32,
    pub ainsn: ArchSpecificInsn,
}

/// Why a probe cannot be prepared; the kernel maps these to Linux's errnos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrepareError {
    /// Misaligned, not kernel text, covered by an exception-table fixup, or an instruction
    /// the decoder rejects (Linux: -EINVAL).
    Invalid,
    /// No XOL slot is free (Linux: -ENOMEM).
    NoSlot,
    /// Writing the slot failed.
    Patch(PatchError),
}

/// Prepares a probe at `addr` (Linux's `arch_prepare_kprobe`): `preceding` are the words
/// before `addr` in the same function, oldest first (at most
/// [`super::decode::MAX_ATOMIC_CONTEXT_SIZE`]), for the decoder's exclusive-sequence check.
pub fn arch_prepare_kprobe(addr: u64, preceding: &[u32]) -> Result<ArchKprobe, PrepareError> {
    let opcode = patching::read_insn(addr).map_err(|_| PrepareError::Invalid)?;
    if crate::extable::search_exception_tables(addr) {
        return Err(PrepareError::Invalid);
    }
    let mut api = ArchProbeInsn::default();
    let xol_insn = match arm_kprobe_decode_insn(opcode, preceding, &mut api) {
        ProbeInsn::Rejected => return Err(PrepareError::Invalid),
        ProbeInsn::GoodNoSlot if api.handler.is_none() => return Err(PrepareError::Invalid),
        ProbeInsn::GoodNoSlot => None,
        ProbeInsn::Good => Some(prepare_ss_slot(opcode)?),
    };
    Ok(ArchKprobe {
        addr,
        opcode,
        ainsn: ArchSpecificInsn {
            xol_insn,
            xol_restore: if xol_insn.is_some() {
                addr + AARCH64_INSN_SIZE as u64
            } else {
                0
            },
            api: if xol_insn.is_some() {
                ArchProbeInsn::default()
            } else {
                api
            },
        },
    })
}

/// Linux's `arch_prepare_ss_slot`: a slot holding `opcode` then `brk #0x006`.
fn prepare_ss_slot(opcode: u32) -> Result<u64, PrepareError> {
    let slot = alloc_insn_slot().ok_or(PrepareError::NoSlot)?;
    match patching::patch_xol_batch(&slot_patches(
        slot,
        [BRK64_OPCODE_BUG; 2],
        slot_words(opcode),
    )) {
        Ok(()) => Ok(slot),
        Err(e) => {
            free_insn_slot(slot);
            Err(PrepareError::Patch(e))
        }
    }
}

fn slot_words(opcode: u32) -> [u32; MAX_INSN_SIZE] {
    [opcode, BRK64_OPCODE_KPROBES_SS]
}

fn slot_patches(slot: u64, old: [u32; 2], new: [u32; 2]) -> [TextPatch; 2] {
    core::array::from_fn(|i| TextPatch {
        addr: slot + (i * AARCH64_INSN_SIZE) as u64,
        old: old[i],
        new: new[i],
    })
}

/// Frees what [`arch_prepare_kprobe`] took (Linux's `arch_remove_kprobe`): the slot is filled
/// with `brk #0x800` again and returned. The caller has disarmed the probe and waited out a
/// grace period, so no CPU runs the slot.
pub fn arch_remove_kprobe(p: &mut ArchKprobe) -> Result<(), PatchError> {
    if let Some(slot) = p.ainsn.xol_insn.take() {
        patching::patch_xol_batch(&slot_patches(
            slot,
            slot_words(p.opcode),
            [BRK64_OPCODE_BUG; 2],
        ))?;
        free_insn_slot(slot);
    }
    Ok(())
}

/// Writes `brk #0x004` over the probed instruction, checking it is still the original one.
pub fn arch_arm_kprobe(p: &ArchKprobe) -> Result<(), PatchError> {
    patching::patch_text(p.addr, p.opcode, BRK64_OPCODE_KPROBES)
}

/// Puts the original instruction back, checking the BRK is still there.
pub fn arch_disarm_kprobe(p: &ArchKprobe) -> Result<(), PatchError> {
    patching::patch_text(p.addr, BRK64_OPCODE_KPROBES, p.opcode)
}

/// Linux's `kprobe_status` values.
pub const KPROBE_HIT_ACTIVE: u32 = 0x0000_0001;
pub const KPROBE_HIT_SS: u32 = 0x0000_0002;
pub const KPROBE_REENTER: u32 = 0x0000_0004;
pub const KPROBE_HIT_SSDONE: u32 = 0x0000_0008;

/// This CPU's kprobe state (Linux's `current_kprobe` and `struct kprobe_ctlblk`). Only its own
/// CPU touches it, always with IRQs masked; the atomics only make it shareable.
pub struct KprobeCtlblk {
    current: AtomicPtr<ArchKprobe>,
    status: AtomicU32,
    prev_kprobe: AtomicPtr<ArchKprobe>,
    prev_status: AtomicU32,
    /// The probed context's DAIF bits while its instruction runs in a slot.
    saved_irqflag: AtomicU64,
}

impl KprobeCtlblk {
    pub const fn new() -> Self {
        Self {
            current: AtomicPtr::new(ptr::null_mut()),
            status: AtomicU32::new(0),
            prev_kprobe: AtomicPtr::new(ptr::null_mut()),
            prev_status: AtomicU32::new(0),
            saved_irqflag: AtomicU64::new(0),
        }
    }

    /// The probe whose handlers or slot this CPU is in (Linux's `kprobe_running`).
    #[inline(always)]
    pub fn running(&self) -> Option<&ArchKprobe> {
        // SAFETY: only `set_current` stores here, a probe that stays valid until a grace
        // period after it is disarmed, and this CPU is inside its handling (IRQs masked).
        unsafe { self.current.load(Ordering::Relaxed).as_ref() }
    }

    #[inline(always)]
    pub fn status(&self) -> u32 {
        self.status.load(Ordering::Relaxed)
    }

    #[inline(always)]
    pub fn set_status(&self, status: u32) {
        self.status.store(status, Ordering::Relaxed);
    }

    /// Linux's `__this_cpu_write(current_kprobe, p)`.
    #[inline(always)]
    pub fn set_current(&self, p: &ArchKprobe) {
        self.current
            .store(ptr::from_ref(p).cast_mut(), Ordering::Relaxed);
    }

    /// Linux's `reset_current_kprobe`.
    #[inline(always)]
    pub fn reset_current(&self) {
        self.current.store(ptr::null_mut(), Ordering::Relaxed);
    }

    #[inline(always)]
    fn save_previous(&self) {
        self.prev_kprobe
            .store(self.current.load(Ordering::Relaxed), Ordering::Relaxed);
        self.prev_status.store(self.status(), Ordering::Relaxed);
    }

    #[inline(always)]
    fn restore_previous(&self) {
        self.current
            .store(self.prev_kprobe.load(Ordering::Relaxed), Ordering::Relaxed);
        self.set_status(self.prev_status.load(Ordering::Relaxed));
    }
}

impl Default for KprobeCtlblk {
    fn default() -> Self {
        Self::new()
    }
}

crate::noinstr! {
/// This CPU's control block (Linux's `get_kprobe_ctlblk`).
#[inline(always)]
pub fn get_kprobe_ctlblk() -> &'static KprobeCtlblk {
    &this_arch_cpu().kprobe_ctlblk
}
}

/// What the generic kprobe core provides to the BRK handlers. Every function must be `noinstr`
/// (checked by [`arch_init_kprobes`]): they run in the BRK exception.
pub struct KprobeCallbacks {
    /// The armed probe at `addr`, or null (Linux's `get_kprobe`).
    pub get_kprobe: fn(addr: u64) -> *const ArchKprobe,
    /// Runs the probe's pre handlers; true means one of them changed the pc and the
    /// instruction must not be executed.
    pub pre_handler: fn(&ArchKprobe, &mut TrapFrame) -> bool,
    /// Runs the probe's post handlers, after its instruction.
    pub post_handler: fn(&ArchKprobe, &mut TrapFrame),
    /// Counts a hit that could not be handled (Linux's `kprobes_inc_nmissed_count`).
    pub missed: fn(&ArchKprobe),
}

static CALLBACKS: AtomicPtr<KprobeCallbacks> = AtomicPtr::new(ptr::null_mut());

crate::noinstr! {
#[inline(always)]
fn callbacks() -> Option<&'static KprobeCallbacks> {
    // SAFETY: only `arch_init_kprobes` stores here, from a `&'static KprobeCallbacks`.
    unsafe { CALLBACKS.load(Ordering::Acquire).as_ref() }
}
}

static KPROBES_BREAK_HOOK: BreakHook = BreakHook {
    imm: KPROBES_BRK_IMM,
    mask: 0,
    handler: kprobe_breakpoint_handler,
};

static KPROBES_BREAK_SS_HOOK: BreakHook = BreakHook {
    imm: KPROBES_BRK_SS_IMM,
    mask: 0,
    handler: kprobe_breakpoint_ss_handler,
};

/// Installs the generic core's callbacks and the two BRK hooks (Linux's `arch_init_kprobes`).
/// Call once.
pub fn arch_init_kprobes(callbacks: &'static KprobeCallbacks) -> Result<(), TableFull> {
    for (f, what) in [
        (callbacks.get_kprobe as usize, "get_kprobe"),
        (
            callbacks.pre_handler as usize,
            "kprobe pre_handler callback",
        ),
        (
            callbacks.post_handler as usize,
            "kprobe post_handler callback",
        ),
        (callbacks.missed as usize, "kprobe missed callback"),
    ] {
        patching::assert_noinstr_handler(f, what);
    }
    CALLBACKS.store(ptr::from_ref(callbacks).cast_mut(), Ordering::Release);
    register_break_hook(&KPROBES_BREAK_HOOK)?;
    register_break_hook(&KPROBES_BREAK_SS_HOOK)
}

crate::noinstr! {
/// The `brk #0x004` handler (Linux's `kprobe_breakpoint_handler`).
fn kprobe_breakpoint_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    // Kernel probes only (Linux registers these as kernel break hooks): a `brk #0x004` from
    // EL0 is the task's business.
    if frame.user_mode() {
        return DbgHookResult::Error;
    }
    let Some(cb) = callbacks() else { return DbgHookResult::Error };
    // SAFETY: `get_kprobe` returns null or an armed probe, valid for this exception (IRQs
    // masked: it is freed only after a grace period that follows its disarming).
    let Some(p) = (unsafe { (cb.get_kprobe)(frame.pc).as_ref() }) else {
        return DbgHookResult::Error;
    };
    let kcb = get_kprobe_ctlblk();
    if kcb.running().is_some() {
        reenter_kprobe(cb, p, frame, kcb);
    } else {
        kcb.set_current(p);
        kcb.set_status(KPROBE_HIT_ACTIVE);
        if (cb.pre_handler)(p, frame) {
            kcb.reset_current();
        } else {
            setup_singlestep(cb, p, frame, kcb, false);
        }
    }
    DbgHookResult::Handled
}
}

crate::noinstr! {
/// A probe hit while this CPU already handles one (Linux's `reenter_kprobe`).
fn reenter_kprobe(cb: &KprobeCallbacks, p: &ArchKprobe, frame: &mut TrapFrame, kcb: &KprobeCtlblk) {
    match kcb.status() {
        KPROBE_HIT_ACTIVE | KPROBE_HIT_SSDONE => {
            (cb.missed)(p);
            setup_singlestep(cb, p, frame, kcb, true);
        }
        _ => unrecoverable_reentry(p.addr),
    }
}
}

crate::noinstr! {
/// A probe hit inside a slot of this CPU: the slot state cannot be saved twice.
#[cold]
#[inline(never)]
fn unrecoverable_reentry(addr: u64) -> ! {
    // The kernel is going down: the report may run traced code.
    crate::instrumentation! {
        panic!("kprobes: Failed to recover from reentered kprobes. (probe at {addr:#x})")
    }
}
}

crate::noinstr! {
/// Runs the probed instruction: points the frame at the slot, or simulates it (Linux's
/// `setup_singlestep`).
fn setup_singlestep(
    cb: &KprobeCallbacks,
    p: &ArchKprobe,
    frame: &mut TrapFrame,
    kcb: &KprobeCtlblk,
    reenter: bool,
) {
    if reenter {
        kcb.save_previous();
        kcb.set_current(p);
        kcb.set_status(KPROBE_REENTER);
    } else {
        kcb.set_status(KPROBE_HIT_SS);
    }
    match p.ainsn.xol_insn {
        Some(slot) => {
            // Nothing may interrupt the slot: an IRQ could switch tasks or hit another probe
            // while this CPU's control block describes the slot (Linux's
            // `kprobes_save_local_irqflag`).
            kcb.saved_irqflag
                .store(frame.pstate & DAIF_MASK, Ordering::Relaxed);
            frame.pstate |= DAIF_MASK;
            frame.pc = slot;
        }
        None => {
            if let Some(handler) = p.ainsn.api.handler {
                handler(p.opcode, p.addr, frame);
            }
            post_kprobe_handler(cb, p, frame, kcb);
        }
    }
}
}

crate::noinstr! {
/// After the instruction: resume point, then the post handlers, unless this was a re-entered
/// probe (Linux's `post_kprobe_handler`).
fn post_kprobe_handler(cb: &KprobeCallbacks, p: &ArchKprobe, frame: &mut TrapFrame, kcb: &KprobeCtlblk) {
    if p.ainsn.xol_restore != 0 {
        frame.pc = p.ainsn.xol_restore;
    }
    if kcb.status() == KPROBE_REENTER {
        kcb.restore_previous();
        return;
    }
    kcb.set_status(KPROBE_HIT_SSDONE);
    (cb.post_handler)(p, frame);
    kcb.reset_current();
}
}

crate::noinstr! {
/// The `brk #0x006` handler at the end of a slot (Linux's `kprobe_breakpoint_ss_handler`).
fn kprobe_breakpoint_ss_handler(frame: &mut TrapFrame, _esr: Esr) -> DbgHookResult {
    if frame.user_mode() {
        return DbgHookResult::Error;
    }
    let Some(cb) = callbacks() else { return DbgHookResult::Error };
    let kcb = get_kprobe_ctlblk();
    let Some(cur) = kcb.running() else { return DbgHookResult::Error };
    let in_slot = kcb.status() & (KPROBE_HIT_SS | KPROBE_REENTER) != 0;
    if !in_slot || cur.ainsn.xol_insn.map(|s| s + AARCH64_INSN_SIZE as u64) != Some(frame.pc) {
        return DbgHookResult::Error;
    }
    frame.pstate = (frame.pstate & !DAIF_MASK) | kcb.saved_irqflag.load(Ordering::Relaxed);
    post_kprobe_handler(cb, cur, frame, kcb);
    DbgHookResult::Handled
}
}
