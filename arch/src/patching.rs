//! Kernel text patching (Linux: `arch/arm64/kernel/patching.c`).
//!
//! The kernel text is mapped read-only, so a patch is written through a temporary writable alias
//! of the same physical page at the [`FixmapSlot::TextPoke0`] fixmap slot, which is torn down
//! again afterwards. Each site is first checked to hold the instruction the caller expects
//! (ftrace's `ftrace_modify_code` check): a mismatch refuses the whole batch and changes
//! nothing. After the writes, D-cache clean and I-cache invalidate to PoU make the new
//! instructions visible to instruction fetch.
//!
//! [`patch_text_batch`] is the one entry point that touches text (static branch sites go
//! through its twin `patch_kernel_text_batch`, which also allows `noinstr` text, and kprobe
//! out-of-line slots through [`patch_xol_batch`], which allows only the XOL region of
//! [`crate::probes::kprobes`]: executable, read-only, and written like text); it holds
//! [`PATCH_LOCK`] for the whole batch. The write phase runs inside the stop-machine rendezvous the kernel installs
//! with [`set_stop_machine`] (Linux: `aarch64_insn_patch_text` → `stop_machine`): every other
//! CPU is parked with interrupts masked while the text changes, and executes an ISB before it
//! resumes. A whole batch costs one rendezvous. Until a rendezvous is installed (one CPU) the
//! write phase runs directly.
//!
//! Interrupts and rendezvous: neither [`PATCH_LOCK`] nor the rendezvous's own lock is ever
//! waited for with interrupts masked unless the waiter keeps answering rendezvous requests
//! meanwhile. A patcher holding the lock may be about to start a rendezvous (or another CPU's
//! direct `stop_machine` may be running one); a CPU spinning for the lock with interrupts
//! masked and not answering would never be parked, and the initiator would wait for it forever
//! while it waits for the initiator. So the lock is waited for with the installed
//! [`StopMachine::answer`] polled between attempts, the check phase runs with the caller's
//! interrupt state, and interrupts are masked only inside the write phase (by the rendezvous,
//! or here when there is none).

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::spinlock::SpinLock;

use crate::cache::caches_clean_inval_pou;
use crate::insn::AARCH64_INSN_SIZE;
use crate::irqflags::local_irq_save_guard;
use crate::mmu::{self, FixmapSlot, PAGE_SIZE};

/// One instruction to replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextPatch {
    pub addr: u64,
    pub old: u32,
    pub new: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// The site does not hold the expected instruction (Linux's -EINVAL from
    /// ftrace_modify_code); nothing was written.
    Mismatch {
        addr: u64,
        expected: u32,
        found: u32,
    },
    /// The address is not 4-byte aligned kernel text (or, for [`patch_xol_batch`], not in the
    /// kprobe XOL region).
    NotText { addr: u64 },
}

/// Serialises all text patching and the TextPoke0 fixmap slot.
static PATCH_LOCK: SpinLock<()> = SpinLock::new(());

/// The write phase of a patch batch: `noinstr`, run with every other CPU parked.
pub type WritePhase = fn(&[TextPatch]);

/// The kernel's stop-machine rendezvous, as the write phase of every patch uses it.
pub struct StopMachine {
    /// Runs `phase(patches)` with every other online CPU parked, interrupts masked, and
    /// returns once they have all resumed (each after an ISB). Called with interrupts in any
    /// state. A plain function rather than a closure: `phase` is `noinstr`, and a closure
    /// would keep a patch site (rustc cannot mark closures), putting a traceable function
    /// inside the rendezvous.
    pub run: fn(phase: WritePhase, patches: &[TextPatch]),
    /// Parks this CPU in a rendezvous that is waiting for it, if there is one: what a CPU
    /// polls while it spins for a lock an initiator may hold. Must be `noinstr`.
    pub answer: fn(),
}

static STOP_MACHINE: AtomicPtr<StopMachine> = AtomicPtr::new(ptr::null_mut());

/// Installs the kernel's stop-machine rendezvous for the write phase of every patch.
pub fn set_stop_machine(stop_machine: &'static StopMachine) {
    STOP_MACHINE.store(ptr::from_ref(stop_machine).cast_mut(), Ordering::Release);
}

crate::noinstr! {
fn installed_stop_machine() -> Option<&'static StopMachine> {
    // SAFETY: only `set_stop_machine` stores here, always from a `&'static StopMachine`.
    unsafe { STOP_MACHINE.load(Ordering::Acquire).as_ref() }
}
}

crate::noinstr! {
/// Answers a pending rendezvous while waiting for a lock (see the module doc).
fn answer_rendezvous() {
    if let Some(stop_machine) = installed_stop_machine() {
        (stop_machine.answer)();
    }
}
}

crate::noinstr! {
fn run_stopped(phase: WritePhase, patches: &[TextPatch]) {
    match installed_stop_machine() {
        Some(stop_machine) => (stop_machine.run)(phase, patches),
        None => {
            let _irqs = local_irq_save_guard();
            phase(patches);
        }
    }
}
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __noinstr_text_start: u8;
    static __noinstr_text_end: u8;
    static __kprobes_text_start: u8;
    static __kprobes_text_end: u8;
}

crate::noinstr! {
fn section(start: &u8, end: &u8) -> core::ops::Range<u64> {
    (start as *const u8 as u64)..(end as *const u8 as u64)
}
}

crate::noinstr! {
/// The kernel's executable text.
pub fn kernel_text() -> core::ops::Range<u64> {
    // SAFETY: only the addresses of the linker symbols are used.
    unsafe { section(&__text_start, &__text_end) }
}
}

crate::noinstr! {
/// Text that must never be patched or probed (exception entry, debug hooks, this module).
pub fn noinstr_text() -> core::ops::Range<u64> {
    // SAFETY: only the addresses of the linker symbols are used.
    unsafe { section(&__noinstr_text_start, &__noinstr_text_end) }
}
}

/// Text that may be traced but not probed ([`crate::nokprobe!`], Linux's `.kprobes.text`).
pub fn kprobes_text() -> core::ops::Range<u64> {
    // SAFETY: only the addresses of the linker symbols are used.
    unsafe { section(&__kprobes_text_start, &__kprobes_text_end) }
}

/// Panics unless `handler` is `noinstr`. Handlers called through a pointer from `noinstr` code
/// (the exception path's debug hooks, die and preemption handlers) must be `noinstr`
/// themselves (ARCHITECTURE.md, "Code that guards itself"); registering another is a bug.
pub fn assert_noinstr_handler(handler: usize, what: &str) {
    assert!(
        noinstr_text().contains(&(handler as u64)),
        "{what} {handler:#x} is not in .noinstr.text: declare it with noinstr!"
    );
}

crate::noinstr! {
/// Whether `addr` is an aligned instruction in patchable kernel text.
pub fn is_patchable_text(addr: u64) -> bool {
    addr.is_multiple_of(AARCH64_INSN_SIZE as u64)
        && kernel_text().contains(&addr)
        && !noinstr_text().contains(&addr)
}
}

crate::noinstr! {
/// Reads the instruction at `addr` (text is always readable).
pub fn read_insn(addr: u64) -> Result<u32, PatchError> {
    if !addr.is_multiple_of(AARCH64_INSN_SIZE as u64) || !kernel_text().contains(&addr) {
        return Err(PatchError::NotText { addr });
    }
    // SAFETY: `addr` is aligned and inside the mapped kernel text.
    Ok(unsafe { core::ptr::read_volatile(addr as *const u32) })
}
}

crate::noinstr! {
/// Replaces one instruction; see [`patch_text_batch`].
pub fn patch_text(addr: u64, old: u32, new: u32) -> Result<(), PatchError> {
    patch_text_batch(&[TextPatch { addr, old, new }])
}
}

crate::noinstr! {
/// Checks every site, then writes all of them through the fixmap alias and makes them visible to
/// instruction fetch. Either every site is patched or, on error, none is.
pub fn patch_text_batch(patches: &[TextPatch]) -> Result<(), PatchError> {
    patch_batch_where(patches, is_patchable_text)
}
}

crate::noinstr! {
/// [`patch_text_batch`] for any aligned kernel text, `noinstr` text included: only for static
/// branch sites (`jump_label`), which Linux allows there too.
pub(crate) fn patch_kernel_text_batch(patches: &[TextPatch]) -> Result<(), PatchError> {
    patch_batch_where(patches, is_kernel_insn)
}
}

crate::noinstr! {
/// [`patch_text_batch`] for the kprobe out-of-line slots: only words of
/// [`crate::probes::kprobes::xol_region`], which is mapped executable and read-only like text
/// and so is written through the same fixmap alias, with the same cache maintenance.
pub fn patch_xol_batch(patches: &[TextPatch]) -> Result<(), PatchError> {
    patch_batch_where(patches, is_xol_insn)
}
}

crate::noinstr! {
fn is_xol_insn(addr: u64) -> bool {
    addr.is_multiple_of(AARCH64_INSN_SIZE as u64)
        && crate::probes::kprobes::xol_region().contains(&addr)
}
}

crate::noinstr! {
fn is_kernel_insn(addr: u64) -> bool {
    addr.is_multiple_of(AARCH64_INSN_SIZE as u64) && kernel_text().contains(&addr)
}
}

/// The body of the batch entry points: `allowed` says which sites may be written.
#[inline(always)]
fn patch_batch_where(patches: &[TextPatch], allowed: fn(u64) -> bool) -> Result<(), PatchError> {
    let _lock = PATCH_LOCK.lock_with(answer_rendezvous);
    for p in patches {
        if !allowed(p.addr) {
            return Err(PatchError::NotText { addr: p.addr });
        }
        // SAFETY: `allowed` accepted `p.addr`: an aligned word of mapped, readable text.
        let found = unsafe { core::ptr::read_volatile(p.addr as *const u32) };
        if found != p.old {
            return Err(PatchError::Mismatch {
                addr: p.addr,
                expected: p.old,
                found,
            });
        }
    }
    run_stopped(write_phase, patches);
    Ok(())
}

crate::noinstr! {
/// The write phase of [`patch_text_batch`], run in the rendezvous: the new instructions, then
/// the cache maintenance that makes them visible to instruction fetch.
fn write_phase(patches: &[TextPatch]) {
    write_through_fixmap(patches);
    for p in patches {
        caches_clean_inval_pou(p.addr, p.addr + AARCH64_INSN_SIZE as u64);
    }
}
}

crate::noinstr! {
/// Writes each patch through the TextPoke0 alias, remapping only when the page changes.
fn write_through_fixmap(patches: &[TextPatch]) {
    let page_mask = !(PAGE_SIZE as u64 - 1);
    let mut mapped_page = None;
    for p in patches {
        let pa = mmu::virt_to_phys(p.addr);
        if mapped_page != Some(pa & page_mask) {
            if mapped_page.is_some() {
                mmu::clear_fixmap(FixmapSlot::TextPoke0);
            }
            mmu::set_fixmap(FixmapSlot::TextPoke0, pa);
            mapped_page = Some(pa & page_mask);
        }
        let alias = mmu::fix_to_virt(FixmapSlot::TextPoke0) + (pa & !page_mask);
        // SAFETY: `alias` is the writable fixmap mapping of the page holding `p.addr`, which
        // was validated as an aligned kernel text instruction.
        unsafe { core::ptr::write_volatile(alias as *mut u32, p.new) };
    }
    if mapped_page.is_some() {
        mmu::clear_fixmap(FixmapSlot::TextPoke0);
    }
}
}
