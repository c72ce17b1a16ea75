//! The generic half of kprobes (Linux: `kernel/kprobes.c`): registering probes on kernel
//! instructions by symbol + offset or address, several probes on one address, enabling,
//! disabling and the global arm switch, `nmissed`, and the probes placed on a function's
//! ftrace patch site (KPROBES_ON_FTRACE). The machine half, the BRK handlers, XOL slots and the
//! per-CPU control block, is [`arch::probes::kprobes`]; kretprobes are [`kretprobe`]; the
//! `/sys/kernel/debug/kprobes/{list,blacklist,enabled}` files are [`debugfs`].
//!
//! Every probed address is one [`KprobeSite`] (Linux's aggregate probe, used here even for one
//! probe, so there is one path): the prepared instruction, whether it is an ftrace site, and
//! the list of [`Kprobe`]s on it. A site is armed (its `brk #0x004` written, or its ftrace
//! filter entry set) while one of its probes is enabled and probes are not globally disarmed.
//!
//! Where a probe goes (Linux's `_kprobe_addr`, `check_ftrace_location`,
//! `check_kprobe_address_safe`): `SYM+OFFS` or an address must fall inside a function
//! symbol (ENOENT otherwise); a function's patch site (its `mov x9, x30` at `SYM+0`, or the
//! `nop`/`bl` at `SYM+4`) is probed through ftrace (Linux's `ftrace_location` maps both to the
//! site): the probe fires before the function's first instruction, reports `SYM+0` as its
//! address and is shown as `[FTRACE]` in the list (the issue's settled choice: a BRK at `SYM+0`
//! plus a slot costs more than twice the ftrace path, and ftrace and kprobes then share the
//! site instead of fighting over it);
//! anything outside the kernel's probe-able text, in `noinstr` text (exception entry, the
//! debug hooks, patching, the ftrace trampolines and this file's handlers), on a static-branch
//! site, or covered by an exception-table fixup is EINVAL, as is an instruction the decoder
//! rejects.
//!
//! Concurrency: registration, removal and the enable switches are serialised by
//! [`KPROBE_MUTEX`] (Linux's `kprobe_mutex`). What the handlers read (the table of sites, each
//! site's probe list) is published by swapping a pointer and freed only after a stop-machine
//! grace period: every probe handler runs with IRQs masked (the BRK exception, the slot, and
//! `ftrace_caller` all mask them), so once every CPU has taken the rendezvous interrupt none is
//! still using the old copy. The same argument gives [`unregister_kprobe`] its guarantee: when
//! it returns, no CPU runs or will run that probe's handlers.
//!
//! SMP and arming: the BRK goes in and out through `patch_text`, inside a stop-machine
//! rendezvous, so no CPU executes the word while it changes. A CPU that already took the BRK
//! when another CPU disarms it is inside the BRK exception (IRQs masked) or in the slot (every
//! DAIF bit masked), so the rendezvous cannot start until it has finished the probe, and the
//! site stays in the table until after the rendezvous: the handler always finds its probe. A
//! CPU that hits a probe being armed sees either the old instruction or the BRK of a site that
//! is already published.

//! Using it (what `kprobe_events` builds on):
//!
//! ```ignore
//! fn pre(kp: &Kprobe, regs: &mut TrapFrame) -> bool {
//!     let ev = kp.data::<MyEvent>().unwrap();   // the caller's per-probe data
//!     ev.record(regs.regs[0]);                   // x0: the first argument at SYM+0
//!     false                                      // true: "I changed regs.pc, skip the insn"
//! }
//! let kp = Arc::try_new(Kprobe::at_symbol("kernel::workload::fib", 0)?
//!     .with_pre_handler(pre)
//!     .with_data(MyEvent::new())?
//!     .disabled())?;                             // armed later by enable_kprobe
//! register_kprobe(&kp)?;                         // EINVAL / ENOENT / ENOMEM / EBUSY
//! enable_kprobe(&kp)?;
//! ...
//! unregister_kprobe(&kp)?;                       // no CPU in `pre` after this returns
//! ```
//!
//! A probe may also give a [`KprobeFtraceHandler`] (ours): when it is alone on an ftrace site
//! without a post handler, that handler runs instead of the pre handler, on the registers
//! ftrace saved, and no frame is built (what kprobe events reading x0-x8 use, and a
//! kretprobe's entry probe).
//!
//! A kretprobe alone on an ftrace site without an entry handler is cheaper still: the hit only
//! takes an instance and hooks the return ([`KprobeSite::kretprobe_fast`]), inline in the
//! ftrace callback, with no handler call, control-block protocol or instrumentation region.
//! A second probe on the address puts the site back on the generic walk until it leaves.
//!
//! A kretprobe is the same with [`Kretprobe`], [`register_kretprobe`] and a
//! `handler(&mut KretprobeInstance, &TrapFrame)` that sees the return value in `regs[0]`, the
//! return address in [`KretprobeInstance::ret_addr`] and `data_size` bytes the entry handler
//! filled.

mod debugfs;
pub mod kretprobe;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::{Any, TypeId};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use arch::exception::TrapFrame;
use arch::ftrace::{FgraphRetRegs, FtraceRegs};
use arch::insn::AARCH64_INSN_SIZE;
use arch::patching::{is_patchable_text, read_insn};
use arch::probes::decode::MAX_ATOMIC_CONTEXT_SIZE;
use arch::probes::kprobes::{
    ArchKprobe, KPROBE_HIT_ACTIVE, KPROBE_HIT_SSDONE, KprobeCallbacks, PrepareError,
    arch_arm_kprobe, arch_disarm_kprobe, arch_init_kprobes, arch_prepare_kprobe,
    arch_remove_kprobe, get_kprobe_ctlblk,
};
use spin::Mutex;

use crate::fs::Errno;
use crate::trace::ftrace::ftrace_location;
use crate::trace::ftrace_ops::{
    FTRACE_OPS_FL_IPMODIFY, FTRACE_OPS_FL_SAVE_REGS, FtraceOps, ftrace_test_recursion_trylock,
    ftrace_test_recursion_unlock,
};

pub use kretprobe::{
    KRETPROBE_MAX_DATA_SIZE, Kretprobe, KretprobeEntryHandler, KretprobeHandler, KretprobeInstance,
    KretprobeRegsHandler, disable_kretprobe, enable_kretprobe, kretprobe_free_instances,
    kretprobe_pools_pending, register_kretprobe, unregister_kretprobe,
};

/// Called when the probed instruction is hit, before it runs. Returning true means the handler
/// changed `regs.pc` and the instruction must be skipped (Linux: a non-zero return).
pub type KprobePreHandler = fn(&Kprobe, &mut TrapFrame) -> bool;
/// Called after the probed instruction has run (Linux: `post_handler`, without its unused
/// flags argument).
pub type KprobePostHandler = fn(&Kprobe, &mut TrapFrame);

/// Ours: called instead of the pre handler when the probe is alone on an ftrace site with no
/// post handler, with the registers ftrace saved (x0-x8, fp, lr, sp, the IRQ mask) rather
/// than a whole frame; what it changes there is restored, but it cannot redirect the call.
/// For handlers that need no more (probe events whose values are x0-x8, a kretprobe hooking
/// the return address), sparing the frame's build and copy back on every hit.
pub type KprobeFtraceHandler = fn(&Kprobe, &mut FtraceRegs);

/// Linux's `KPROBE_FLAG_*`.
pub const KPROBE_FLAG_GONE: u32 = 1;
pub const KPROBE_FLAG_DISABLED: u32 = 2;
pub const KPROBE_FLAG_OPTIMIZED: u32 = 4;
pub const KPROBE_FLAG_FTRACE: u32 = 8;
pub const KPROBE_FLAG_ON_FUNC_ENTRY: u32 = 16;
/// Ours: set from a successful registration until unregistration.
const KPROBE_FLAG_REGISTERED: u32 = 1 << 16;

/// Where a probe goes, as the caller names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KprobeTarget {
    /// `symbol_name` + `offset`.
    Symbol { name: String, offset: u64 },
    /// An address.
    Addr(u64),
}

/// One probe (Linux's `struct kprobe`). Build it, wrap it in an [`Arc`] and pass it to
/// [`register_kprobe`]; the registry holds a reference while it is registered, and the
/// handlers reach the caller's data through [`Kprobe::data`].
pub struct Kprobe {
    target: KprobeTarget,
    pre_handler: Option<KprobePreHandler>,
    post_handler: Option<KprobePostHandler>,
    ftrace_handler: Option<KprobeFtraceHandler>,
    /// The resolved address (0 until registered): the instruction, or for an ftrace probe the
    /// function's start.
    addr: AtomicU64,
    /// The address of the site it is on (for an ftrace probe, the site's record ip).
    site: AtomicU64,
    nmissed: AtomicU64,
    flags: AtomicU32,
    data: Option<Box<dyn Any + Send + Sync>>,
    /// The type of [`Self::data`]'s value: checked by [`Kprobe::data`] without the `Any` vtable
    /// call on every hit.
    data_type: Option<TypeId>,
    /// The kretprobe this is the entry probe of, or null.
    kretprobe: AtomicPtr<kretprobe::Kretprobe>,
}

impl Kprobe {
    /// A probe at `name + offset`. ENOMEM if the name cannot be copied.
    pub fn at_symbol(name: &str, offset: u64) -> Result<Kprobe, Errno> {
        let mut owned = String::new();
        owned.try_reserve(name.len()).map_err(|_| Errno::ENOMEM)?;
        owned.push_str(name);
        Ok(Self::new(KprobeTarget::Symbol {
            name: owned,
            offset,
        }))
    }

    /// A probe at an address.
    pub fn at_addr(addr: u64) -> Kprobe {
        Self::new(KprobeTarget::Addr(addr))
    }

    fn new(target: KprobeTarget) -> Kprobe {
        Kprobe {
            target,
            pre_handler: None,
            post_handler: None,
            ftrace_handler: None,
            addr: AtomicU64::new(0),
            site: AtomicU64::new(0),
            nmissed: AtomicU64::new(0),
            flags: AtomicU32::new(0),
            data: None,
            data_type: None,
            kretprobe: AtomicPtr::new(ptr::null_mut()),
        }
    }

    pub fn with_pre_handler(mut self, handler: KprobePreHandler) -> Kprobe {
        self.pre_handler = Some(handler);
        self
    }

    /// The [`KprobeFtraceHandler`] taking the pre handler's place on an ftrace site, where it
    /// can (the pre handler still runs on any other path).
    pub fn with_ftrace_handler(mut self, handler: KprobeFtraceHandler) -> Kprobe {
        self.ftrace_handler = Some(handler);
        self
    }

    pub fn with_post_handler(mut self, handler: KprobePostHandler) -> Kprobe {
        self.post_handler = Some(handler);
        self
    }

    /// Attaches the caller's data, for the handlers ([`Kprobe::data`]). ENOMEM on allocation
    /// failure.
    pub fn with_data<T: Any + Send + Sync>(mut self, data: T) -> Result<Kprobe, Errno> {
        let boxed = Box::try_new(data).map_err(|_| Errno::ENOMEM)?;
        self.data = Some(boxed);
        self.data_type = Some(TypeId::of::<T>());
        Ok(self)
    }

    /// Registered disabled (Linux: `KPROBE_FLAG_DISABLED` set before `register_kprobe`).
    pub fn disabled(self) -> Kprobe {
        self.flags.store(KPROBE_FLAG_DISABLED, Ordering::Relaxed);
        self
    }

    /// The data given to [`Kprobe::with_data`], if it is a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        typed_data(self.data.as_deref(), self.data_type)
    }

    /// [`Kprobe::data`] without the type check, for a handler that is only ever attached
    /// together with its data (the check costs a hit a dozen instructions).
    ///
    /// # Safety
    /// The data, if any, was attached as a `T`.
    #[inline(always)]
    pub unsafe fn data_unchecked<T: Any>(&self) -> Option<&T> {
        // SAFETY: per the caller.
        unsafe { untyped_data(self.data.as_deref(), self.data_type) }
    }

    pub fn target(&self) -> &KprobeTarget {
        &self.target
    }

    /// The probed address once registered (an ftrace probe's is its function's start, where
    /// it fires before the function's first instruction).
    pub fn addr(&self) -> u64 {
        self.addr.load(Ordering::Relaxed)
    }

    /// Hits that were not handled because this CPU was already in a probe.
    pub fn nmissed(&self) -> u64 {
        self.nmissed.load(Ordering::Relaxed)
    }

    /// `KPROBE_FLAG_*` bits.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed) & !KPROBE_FLAG_REGISTERED
    }

    pub fn is_disabled(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & KPROBE_FLAG_DISABLED != 0
    }

    pub fn is_ftrace(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & KPROBE_FLAG_FTRACE != 0
    }

    pub fn is_registered(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & KPROBE_FLAG_REGISTERED != 0
    }

    pub fn is_kretprobe(&self) -> bool {
        !self.kretprobe.load(Ordering::Relaxed).is_null()
    }

    fn set_flag(&self, flag: u32, on: bool) {
        if on {
            self.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }
}

/// `data` as a `T` when `ty` (the type recorded when it was attached) says it is one: what
/// `downcast_ref` does, without its call through the `Any` vtable (a probe's handlers ask on
/// every hit).
#[inline(always)]
pub(crate) fn typed_data<T: Any>(
    data: Option<&(dyn Any + Send + Sync)>,
    ty: Option<TypeId>,
) -> Option<&T> {
    let data = data?;
    if ty != Some(TypeId::of::<T>()) {
        return None;
    }
    // SAFETY: `ty` is the type id of the value behind `data` (both are set together by
    // `with_data`), so it is a `T`.
    Some(unsafe { &*ptr::from_ref(data).cast::<T>() })
}

/// [`typed_data`] known to be a `T`: no type check (but in debug builds).
///
/// # Safety
/// `data`, if any, is a `T`.
#[inline(always)]
pub(crate) unsafe fn untyped_data<T: Any>(
    data: Option<&(dyn Any + Send + Sync)>,
    ty: Option<TypeId>,
) -> Option<&T> {
    let data = data?;
    debug_assert!(ty == Some(TypeId::of::<T>()));
    let _ = ty;
    // SAFETY: the caller says the value behind `data` is a `T`.
    Some(unsafe { &*ptr::from_ref(data).cast::<T>() })
}

/// The probes on one site, as the handlers walk them.
type ProbeList = Vec<Arc<Kprobe>>;

/// One probed address (Linux's aggregate kprobe). `#[repr(C)]` with the arch part first: the
/// BRK handlers get an `&ArchKprobe` and come back here from it.
#[repr(C)]
pub struct KprobeSite {
    arch: ArchKprobe,
    /// Probed through the ftrace site rather than a BRK.
    ftrace: bool,
    /// The published probe list (never null while the site is in the table).
    probes: AtomicPtr<ProbeList>,
    /// Some probe in the list has a post handler (Linux gives an aggregate probe a post
    /// handler only then): a hit skips the post walk otherwise.
    has_post: AtomicBool,
    /// The probe when it is alone in the list with a [`KprobeFtraceHandler`] and no post
    /// handler (null otherwise): an ftrace hit then calls that handler and builds no frame.
    /// Lives as long as the list it is in.
    ftrace_fast: AtomicPtr<Kprobe>,
    /// On an ftrace site, the kretprobe whose entry probe is alone in the list without an entry
    /// handler or a post handler (null otherwise): an ftrace hit hooks its return at once,
    /// without the control block's protocol (see [`kprobe_ftrace_hit`]). Published as
    /// [`Self::ftrace_fast`]; the kretprobe lives while its entry probe is in a list.
    kretprobe_fast: AtomicPtr<Kretprobe>,
    /// Armed, and with which ftrace ops (under KPROBE_MUTEX).
    armed: Option<Arming>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arming {
    Brk,
    Ftrace { ipmodify: bool },
}

impl KprobeSite {
    fn addr(&self) -> u64 {
        self.arch.addr
    }

    /// The published list; handlers call this with IRQs masked, the registry under the mutex.
    #[inline(always)]
    fn probes(&self) -> &[Arc<Kprobe>] {
        // SAFETY: the pointer comes from `Box::into_raw` in `publish_probes` and is freed only
        // after a grace period that follows its replacement (see the module comment).
        unsafe { self.probes.load(Ordering::Acquire).as_ref() }.map_or(&[], Vec::as_slice)
    }

    fn wants_armed(&self, all_disarmed: bool) -> bool {
        !all_disarmed && self.probes().iter().any(|kp| !kp.is_disabled())
    }

    /// Linux arms an ftrace probe with a post handler through the IPMODIFY ops.
    fn wants_ipmodify(&self) -> bool {
        self.probes().iter().any(|kp| kp.post_handler.is_some())
    }
}

/// The registry (under [`KPROBE_MUTEX`]).
struct Registry {
    /// Boxed: the handlers' table points at sites, so they must not move when this grows.
    #[allow(clippy::vec_box)]
    sites: Vec<Box<KprobeSite>>,
    /// Linux's `kprobes_all_disarmed`.
    all_disarmed: bool,
    /// Armed ftrace sites per ops: an ops is registered exactly while its count is non-zero.
    ftrace_armed: usize,
    ipmodify_armed: usize,
}

/// Linux's `kprobe_mutex`.
static KPROBE_MUTEX: Mutex<Registry> = Mutex::new(Registry {
    sites: Vec::new(),
    all_disarmed: false,
    ftrace_armed: 0,
    ipmodify_armed: 0,
});

/// One entry of the handlers' lookup table.
#[derive(Clone, Copy)]
struct TableEntry {
    addr: u64,
    site: *const KprobeSite,
}

/// The published sites, sorted by address (Linux's `kprobe_table`, a hash there).
static KPROBE_TABLE: AtomicPtr<Vec<TableEntry>> = AtomicPtr::new(ptr::null_mut());

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// The ftrace ops of probes on patch sites (Linux's `kprobe_ftrace_ops` and
/// `kprobe_ipmodify_ops`).
static KPROBE_FTRACE_OPS: FtraceOps =
    FtraceOps::new(kprobe_ftrace_handler, FTRACE_OPS_FL_SAVE_REGS);
static KPROBE_IPMODIFY_OPS: FtraceOps = FtraceOps::new(
    kprobe_ftrace_handler,
    FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
);

static CALLBACKS: KprobeCallbacks = KprobeCallbacks {
    get_kprobe: get_kprobe_arch,
    pre_handler: aggr_pre_handler,
    post_handler: aggr_post_handler,
    missed: kprobes_inc_nmissed_count,
};

/// Installs the BRK hooks and the debugfs files (Linux's `init_kprobes`).
pub fn init() {
    if let Err(e) = arch_init_kprobes(&CALLBACKS) {
        crate::println!("kprobes: cannot register the BRK hooks: {e:?}");
        return;
    }
    INITIALIZED.store(true, Ordering::Release);
    debugfs::init();
}

arch::noinstr! {
/// The site probed at `addr` (Linux's `get_kprobe`), for code running with IRQs masked.
#[inline(always)]
fn get_kprobe(addr: u64) -> Option<&'static KprobeSite> {
    // SAFETY: a published table is freed only after a grace period that follows its
    // replacement; the caller runs with IRQs masked.
    let table = unsafe { KPROBE_TABLE.load(Ordering::Acquire).as_ref() }?.as_slice();
    // A lower-bound search without an early exit: each halving is one load and a conditional
    // move, and a table of one site takes no step at all.
    let mut size = table.len();
    if size == 0 {
        return None;
    }
    let mut base = 0;
    while size > 1 {
        let half = size / 2;
        if table[base + half].addr <= addr {
            base += half;
        }
        size -= half;
    }
    let entry = table[base];
    if entry.addr != addr {
        return None;
    }
    // SAFETY: sites in a published table live until a grace period after they leave it.
    unsafe { entry.site.as_ref() }
}
}

arch::noinstr! {
fn get_kprobe_arch(addr: u64) -> *const ArchKprobe {
    match get_kprobe(addr) {
        Some(site) if !site.ftrace => &site.arch,
        _ => ptr::null(),
    }
}
}

arch::noinstr! {
/// Back from the arch part to its site (Linux's `container_of`).
#[inline(always)]
fn site_of(p: &ArchKprobe) -> &KprobeSite {
    // SAFETY: the BRK handlers only pass `ArchKprobe`s that `get_kprobe_arch` returned, the
    // first field of a `#[repr(C)]` KprobeSite.
    unsafe { &*ptr::from_ref(p).cast::<KprobeSite>() }
}
}

arch::noinstr! {
/// Linux's `aggr_pre_handler`: each enabled probe's pre handler, until one says it changed
/// the pc.
fn aggr_pre_handler(p: &ArchKprobe, regs: &mut TrapFrame) -> bool {
    run_pre_handlers(site_of(p), regs)
}
}

arch::noinstr! {
#[inline(always)]
fn run_pre_handlers(site: &KprobeSite, regs: &mut TrapFrame) -> bool {
    // The handlers are the probe users' code, which may be traced: this CPU's control block
    // says it is in a probe, so a probe they hit is only counted (the recursion guard).
    arch::instrumentation! {
        pre_handlers(site, regs)
    }
}
}

/// Each enabled probe's pre handler until one returns true; inside an instrumentation region.
#[inline(always)]
fn pre_handlers(site: &KprobeSite, regs: &mut TrapFrame) -> bool {
    for kp in site.probes() {
        if kp.is_disabled() {
            continue;
        }
        if let Some(pre) = kp.pre_handler
            && pre(kp, regs)
        {
            return true;
        }
    }
    false
}

arch::noinstr! {
/// Linux's `aggr_post_handler`.
fn aggr_post_handler(p: &ArchKprobe, regs: &mut TrapFrame) {
    let site = site_of(p);
    if site.has_post.load(Ordering::Relaxed) {
        run_post_handlers(site, regs);
    }
}
}

arch::noinstr! {
#[inline(always)]
fn run_post_handlers(site: &KprobeSite, regs: &mut TrapFrame) {
    // As in `run_pre_handlers`: the control block is the recursion guard.
    arch::instrumentation! {
        post_handlers(site, regs)
    }
}
}

/// Each enabled probe's post handler; inside an instrumentation region.
#[inline(always)]
fn post_handlers(site: &KprobeSite, regs: &mut TrapFrame) {
    for kp in site.probes() {
        if kp.is_disabled() {
            continue;
        }
        if let Some(post) = kp.post_handler {
            post(kp, regs);
        }
    }
}

arch::noinstr! {
/// Linux's `kprobes_inc_nmissed_count`: every probe on the site missed the hit.
fn kprobes_inc_nmissed_count(p: &ArchKprobe) {
    inc_nmissed(site_of(p));
}
}

arch::noinstr! {
#[inline(always)]
fn inc_nmissed(site: &KprobeSite) {
    let probes = site.probes();
    let mut i = 0;
    while i < probes.len() {
        probes[i].nmissed.fetch_add(1, Ordering::Relaxed);
        i += 1;
    }
}
}

/// Writes `src[i]` to `(*dst)[i]` for each listed `i`, as separate stores.
macro_rules! seq_macro_copy {
    ($dst:expr, $src:expr, $($i:literal)*) => { $((&raw mut (*$dst)[$i]).write($src[$i]);)* };
}

/// Writes 0 to `(*dst)[i]` for each listed `i`, as separate volatile stores.
macro_rules! seq_macro_zero {
    ($dst:expr, $($i:literal)*) => { $((&raw mut (*$dst)[$i]).write_volatile(0);)* };
}

/// PSTATE of an EL1h context, as a probe handler's frame reports it.
const PSR_MODE_EL1H: u64 = 0x5;

arch::noinstr! {
/// The registers an ftrace probe's handlers see: the state at the function's first
/// instruction, as a BRK there would have saved it, with `pc` the function's address.
/// ftrace_caller saves only x0-x8, fp, lr, sp and the DAIF mask: x9 (which the site's
/// `mov x9, x30` overwrote) and x10-x28 (not saved by the trampoline) read as 0.
///
/// Written word by word: at opt-level "s" a whole-struct initializer becomes `memset` and
/// `memcpy` calls that cost more than the rest of the hit.
#[inline(always)]
pub(crate) fn frame_from_fregs<'a>(
    fregs: &FtraceRegs,
    pc: u64,
    frame: &'a mut core::mem::MaybeUninit<TrapFrame>,
) -> &'a mut TrapFrame {
    let f = frame.as_mut_ptr();
    // SAFETY: every field of the frame is written below before the reference is made; the
    // writes go through raw pointers to the caller's uninitialised frame.
    unsafe {
        let regs = &raw mut (*f).regs;
        // Unrolled by hand: a loop here becomes a `memcpy` call.
        seq_macro_copy!(regs, fregs.regs, 0 1 2 3 4 5 6 7 8);
        // Volatile, so the run of zeros does not become a `memset` call.
        seq_macro_zero!(regs, 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28);
        write_frame_tail(f, fregs.fp, fregs.lr, fregs.sp, pc, fregs.irqs_disabled());
        frame.assume_init_mut()
    }
}
}

/// The rest of a frame built word by word after x0-x28: fp, lr, sp, pc, an EL1h PSTATE with
/// the caller's IRQ mask, and no syndrome or frame record.
///
/// # Safety
/// `f` points to a frame being initialised, writable.
#[inline(always)]
unsafe fn write_frame_tail(f: *mut TrapFrame, fp: u64, lr: u64, sp: u64, pc: u64, irqs_off: bool) {
    let irq = if irqs_off {
        arch::daifflags::PSR_I_BIT
    } else {
        0
    };
    // SAFETY: in bounds of the caller's frame; plain writes of integer fields (volatile where
    // a run of zeros would otherwise become a `memset` call).
    unsafe {
        (&raw mut (*f).regs[29]).write(fp);
        (&raw mut (*f).regs[30]).write(lr);
        (&raw mut (*f).sp).write(sp);
        (&raw mut (*f).pc).write(pc);
        (&raw mut (*f).pstate).write(PSR_MODE_EL1H | irq);
        (&raw mut (*f).esr).write_volatile(0);
        (&raw mut (*f).far).write_volatile(0);
        (&raw mut (*f).stackframe[0]).write_volatile(0);
        (&raw mut (*f).stackframe[1]).write_volatile(0);
    }
}

/// The registers a kretprobe's return handler sees: x0-x7 (the result), fp, sp, and the real
/// return address as pc and lr; the rest read as 0. Word by word, as [`frame_from_fregs`].
#[inline(always)]
pub(crate) fn frame_from_ret_regs<'a>(
    ret: &FgraphRetRegs,
    ret_addr: u64,
    frame: &'a mut core::mem::MaybeUninit<TrapFrame>,
) -> &'a mut TrapFrame {
    let f = frame.as_mut_ptr();
    // SAFETY: every field of the frame is written below before the reference is made.
    unsafe {
        let regs = &raw mut (*f).regs;
        seq_macro_copy!(regs, ret.regs, 0 1 2 3 4 5 6 7);
        seq_macro_zero!(regs, 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28);
        write_frame_tail(f, ret.fp, ret_addr, ret.sp, ret_addr, ret.irqs_disabled());
        frame.assume_init_mut()
    }
}

arch::noinstr! {
/// What ftrace_caller restores from its frame: the arguments, fp and the return address.
#[inline(always)]
pub(crate) fn frame_to_fregs(regs: &TrapFrame, fregs: &mut FtraceRegs) {
    // Unrolled by hand, as in `frame_from_fregs`.
    macro_rules! copy_back {
        ($($i:literal)*) => { $(fregs.regs[$i] = regs.regs[$i];)* };
    }
    copy_back!(0 1 2 3 4 5 6 7 8);
    fregs.fp = regs.regs[29];
    fregs.lr = regs.regs[30];
}
}

arch::noinstr! {
/// The callback of both kprobe ftrace ops (Linux's `kprobe_ftrace_handler`): the site's
/// handlers as if a BRK at the record ip had been hit and its `nop` stepped over.
fn kprobe_ftrace_handler(ip: u64, _parent_ip: u64, _ops: &FtraceOps, fregs: &mut FtraceRegs) {
    let bit = ftrace_test_recursion_trylock();
    if bit < 0 {
        return;
    }
    if let Some(site) = get_kprobe(ip) {
        kprobe_ftrace_hit(site, ip, fregs);
    }
    ftrace_test_recursion_unlock(bit);
}
}

arch::noinstr! {
#[inline(always)]
fn kprobe_ftrace_hit(site: &KprobeSite, ip: u64, fregs: &mut FtraceRegs) {
    let kcb = get_kprobe_ctlblk();
    if kcb.running().is_some() {
        inc_nmissed(site);
        return;
    }
    // SAFETY: the kretprobe of the lone probe of the published list (see `kretprobe_fast`),
    // alive until a grace period after the probe leaves it; IRQs are masked here.
    if let Some(rp) = unsafe { site.kretprobe_fast.load(Ordering::Acquire).as_ref() } {
        // A kretprobe without an entry handler: the hit only takes an instance and pushes the
        // return on the shadow stack, noinstr code inlined here that runs none of the probe
        // users' code, so the control block need not say "in a probe" (nothing can hit a probe
        // meanwhile) and no instrumentation region is entered. A hit from inside another
        // probe's handlers was counted as missed above, as on the generic path.
        kretprobe::kretprobe_ftrace_hook(rp, fregs);
        return;
    }
    // SAFETY: the pointer is to a probe of the published list (see `ftrace_fast`), alive
    // until a grace period after it leaves; IRQs are masked here.
    if let Some(kp) = unsafe { site.ftrace_fast.load(Ordering::Acquire).as_ref() }
        && let Some(handler) = kp.ftrace_handler
    {
        // Alone, no post handler, no redirection: the saved registers are all it reads.
        if !kp.is_disabled() {
            kcb.set_current(&site.arch);
            kcb.set_status(KPROBE_HIT_ACTIVE);
            arch::instrumentation! {
                handler(kp, fregs)
            };
            kcb.reset_current();
        }
        return;
    }
    kprobe_ftrace_hit_frame(site, ip, fregs);
}
}

arch::noinstr! {
/// The generic path of an ftrace hit: the site's probe walk on a frame built from `fregs`.
/// Out of line, so the fast paths above keep no frame on their stack.
#[inline(never)]
fn kprobe_ftrace_hit_frame(site: &KprobeSite, ip: u64, fregs: &mut FtraceRegs) {
    let kcb = get_kprobe_ctlblk();
    let mut frame = core::mem::MaybeUninit::uninit();
    // The state at the function's first instruction: the site is the probed "instruction".
    let func = ip - AARCH64_INSN_SIZE as u64;
    let regs = frame_from_fregs(fregs, func, &mut frame);
    kcb.set_current(&site.arch);
    kcb.set_status(KPROBE_HIT_ACTIVE);
    // One region for both handler walks: the control block is the recursion guard.
    let redirected = arch::instrumentation! {
        let redirected = pre_handlers(site, regs);
        if !redirected {
            regs.pc = ip + AARCH64_INSN_SIZE as u64;
            kcb.set_status(KPROBE_HIT_SSDONE);
            if site.has_post.load(Ordering::Relaxed) {
                post_handlers(site, regs);
            }
        }
        redirected
    };
    frame_to_fregs(regs, fregs);
    if redirected {
        // The handler redirected the call: resume where it said.
        fregs.set_instruction_pointer(regs.pc);
    }
    kcb.reset_current();
}
}

/// Linux's `kprobe_running()`, for callers outside the handlers: whether this CPU is inside a
/// probe's handling.
pub fn kprobe_running() -> bool {
    let _irqs = arch::irqflags::local_irq_save_guard();
    get_kprobe_ctlblk().running().is_some()
}

/// A resolved probe address (Linux's `_kprobe_addr` plus `check_ftrace_location`).
struct ResolvedAddr {
    /// The probe's address as reported: the instruction, or the function's start for an
    /// ftrace probe.
    addr: u64,
    /// What is patched and looked up: the instruction, or the ftrace site's record ip.
    site: u64,
    on_func_entry: bool,
    ftrace: bool,
    /// The function's start.
    func: u64,
}

fn resolve_addr(target: &KprobeTarget) -> Result<ResolvedAddr, Errno> {
    let wanted = match target {
        KprobeTarget::Symbol { name, offset } => {
            let sym = crate::symbols::lookup_name(name).ok_or(Errno::ENOENT)?;
            sym.addr.checked_add(*offset).ok_or(Errno::EINVAL)?
        }
        KprobeTarget::Addr(addr) => *addr,
    };
    let func = crate::symbols::functions()
        .lookup(wanted)
        .filter(|sym| sym.contains(wanted))
        .ok_or(Errno::ENOENT)?;
    let offset = wanted - func.addr;
    match ftrace_location(wanted) {
        Some(site) => Ok(ResolvedAddr {
            addr: func.addr,
            site,
            on_func_entry: true,
            ftrace: true,
            func: func.addr,
        }),
        None => Ok(ResolvedAddr {
            addr: wanted,
            site: wanted,
            on_func_entry: offset == 0,
            ftrace: false,
            func: func.addr,
        }),
    }
}

/// Linux's `kprobe_on_func_entry`: Ok when `target` resolves to a function's entry (`SYM+0`,
/// or its ftrace site), ENOENT for an unknown symbol or an address outside every function,
/// EINVAL for any other offset. What a return probe or `$argN` requires.
pub fn kprobe_on_func_entry(target: &KprobeTarget) -> Result<(), Errno> {
    if resolve_addr(target)?.on_func_entry {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Linux's `check_kprobe_address_safe` and `within_kprobe_blacklist`: EINVAL outside the
/// probe-able text, in the no-instrumentation text, or on a static-branch site.
fn check_address_safe(addr: u64) -> Result<(), Errno> {
    if !is_patchable_text(addr) || within_kprobe_blacklist(addr) {
        return Err(Errno::EINVAL);
    }
    if arch::jump_label::jump_sites().any(|site| site.code == addr) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Whether `addr` is in the blacklist: the `noinstr` text (exception entry, debug hooks,
/// patching, the tracing trampolines, the kprobe handlers) and the no-probe text
/// ([`arch::nokprobe!`]: probe events' dispatchers and their fetch and record path).
pub fn within_kprobe_blacklist(addr: u64) -> bool {
    arch::patching::noinstr_text().contains(&addr) || arch::patching::kprobes_text().contains(&addr)
}

/// The words before `addr` in its function, oldest first, at most what the decoder looks at.
fn preceding_words(func: u64, addr: u64) -> Vec<u32> {
    let size = AARCH64_INSN_SIZE as u64;
    let n = (((addr - func) / size) as usize).min(MAX_ATOMIC_CONTEXT_SIZE);
    let start = addr - n as u64 * size;
    let mut words = Vec::new();
    if words.try_reserve(n).is_err() {
        return words;
    }
    for i in 0..n as u64 {
        match read_insn(start + i * size) {
            Ok(word) => words.push(word),
            Err(_) => words.clear(),
        }
    }
    words
}

/// Registers `kp` (Linux's `register_kprobe`). Errors, as Linux: EINVAL for a probe already
/// registered, a bad address or a refused instruction, ENOENT for an unknown symbol or an
/// address outside every function, ENOMEM when a slot or memory runs out, EBUSY when the
/// ftrace site is taken by an exclusive (IPMODIFY) user.
pub fn register_kprobe(kp: &Arc<Kprobe>) -> Result<(), Errno> {
    if !INITIALIZED.load(Ordering::Acquire) {
        return Err(Errno::ENODEV);
    }
    let mut reg = KPROBE_MUTEX.lock();
    if kp.is_registered() {
        return Err(Errno::EINVAL);
    }
    let resolved = resolve_addr(&kp.target)?;
    check_address_safe(resolved.site)?;
    kp.addr.store(resolved.addr, Ordering::Relaxed);
    kp.site.store(resolved.site, Ordering::Relaxed);
    kp.set_flag(KPROBE_FLAG_ON_FUNC_ENTRY, resolved.on_func_entry);
    kp.set_flag(KPROBE_FLAG_FTRACE, resolved.ftrace);
    kp.set_flag(KPROBE_FLAG_GONE | KPROBE_FLAG_OPTIMIZED, false);
    let result = match reg.site_index(resolved.site) {
        Some(i) => reg.add_to_site(i, kp),
        None => reg.new_site(&resolved, kp),
    };
    match result {
        Ok(()) => {
            kp.set_flag(KPROBE_FLAG_REGISTERED, true);
            Ok(())
        }
        Err(e) => {
            kp.addr.store(0, Ordering::Relaxed);
            kp.site.store(0, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// Unregisters `kp` (Linux's `unregister_kprobe`): when this returns, no CPU runs or will run
/// its handlers. EINVAL if it is not registered.
pub fn unregister_kprobe(kp: &Arc<Kprobe>) -> Result<(), Errno> {
    let mut reg = KPROBE_MUTEX.lock();
    if !kp.is_registered() {
        return Err(Errno::EINVAL);
    }
    let i = reg
        .site_index(kp.site.load(Ordering::Relaxed))
        .ok_or(Errno::EINVAL)?;
    let remaining = try_collect(
        reg.sites[i]
            .probes()
            .iter()
            .filter(|other| !Arc::ptr_eq(other, kp))
            .cloned(),
    )?;
    if remaining.is_empty() {
        reg.remove_site(i)?;
    } else {
        let all_disarmed = reg.all_disarmed;
        reg.publish_probes(i, remaining)?;
        let site = &reg.sites[i];
        let want = site.wants_armed(all_disarmed);
        reg.update_arming(i, want)?;
    }
    kp.set_flag(KPROBE_FLAG_REGISTERED, false);
    Ok(())
}

/// Linux's `enable_kprobe`: arms the probe again. EINVAL if it is not registered.
pub fn enable_kprobe(kp: &Arc<Kprobe>) -> Result<(), Errno> {
    set_kprobe_enabled(kp, true)
}

/// Linux's `disable_kprobe`: the probe stays registered but its handlers are not called; its
/// site is disarmed when no enabled probe remains there.
pub fn disable_kprobe(kp: &Arc<Kprobe>) -> Result<(), Errno> {
    set_kprobe_enabled(kp, false)
}

fn set_kprobe_enabled(kp: &Arc<Kprobe>, enable: bool) -> Result<(), Errno> {
    let mut reg = KPROBE_MUTEX.lock();
    if !kp.is_registered() {
        return Err(Errno::EINVAL);
    }
    let i = reg
        .site_index(kp.site.load(Ordering::Relaxed))
        .ok_or(Errno::EINVAL)?;
    let was_disabled = kp.is_disabled();
    kp.set_flag(KPROBE_FLAG_DISABLED, !enable);
    let want = reg.sites[i].wants_armed(reg.all_disarmed);
    reg.update_arming(i, want).inspect_err(|_| {
        kp.set_flag(KPROBE_FLAG_DISABLED, was_disabled);
    })
}

/// Linux's `arm_all_kprobes` / `disarm_all_kprobes` (the `enabled` file).
pub fn set_all_kprobes_armed(arm: bool) -> Result<(), Errno> {
    let mut reg = KPROBE_MUTEX.lock();
    if reg.all_disarmed != arm {
        // Already in that state: Linux returns quietly.
        return Ok(());
    }
    reg.all_disarmed = !arm;
    let mut result = Ok(());
    for i in 0..reg.sites.len() {
        let want = reg.sites[i].wants_armed(reg.all_disarmed);
        if let Err(e) = reg.update_arming(i, want) {
            result = Err(e);
        }
    }
    crate::println!(
        "Kprobes globally {}",
        if arm { "enabled" } else { "disabled" }
    );
    result
}

/// Whether probes are globally armed (the `enabled` file).
pub fn kprobes_all_armed() -> bool {
    !KPROBE_MUTEX.lock().all_disarmed
}

/// One line of `kprobes/list`: a probe and its site's state.
pub struct ProbeInfo {
    pub addr: u64,
    pub kretprobe: bool,
    pub disabled: bool,
    pub ftrace: bool,
}

/// Every registered probe, by address (for `kprobes/list`).
pub fn registered_probes() -> Vec<ProbeInfo> {
    let reg = KPROBE_MUTEX.lock();
    let mut out = Vec::new();
    for site in &reg.sites {
        for kp in site.probes() {
            if out.try_reserve(1).is_err() {
                return out;
            }
            out.push(ProbeInfo {
                addr: kp.addr(),
                kretprobe: kp.is_kretprobe(),
                disabled: kp.is_disabled(),
                ftrace: site.ftrace,
            });
        }
    }
    out
}

/// Whether `rp`'s entry hits take the fast path of a kretprobe alone on an ftrace site
/// without an entry handler ([`KprobeSite::kretprobe_fast`]); for tests.
pub fn kretprobe_is_fast(rp: &Kretprobe) -> bool {
    let reg = KPROBE_MUTEX.lock();
    reg.site_index(rp.kprobe().site.load(Ordering::Relaxed))
        .is_some_and(|i| ptr::eq(reg.sites[i].kretprobe_fast.load(Ordering::Relaxed), rp))
}

/// Collects fallibly: ENOMEM instead of an allocation panic.
fn try_collect<T>(items: impl Iterator<Item = T>) -> Result<Vec<T>, Errno> {
    let mut out = Vec::new();
    for item in items {
        out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        out.push(item);
    }
    Ok(out)
}

fn map_prepare_error(e: PrepareError) -> Errno {
    match e {
        PrepareError::Invalid => Errno::EINVAL,
        PrepareError::NoSlot => Errno::ENOMEM,
        PrepareError::Patch(_) => Errno::EIO,
    }
}

impl Registry {
    fn site_index(&self, addr: u64) -> Option<usize> {
        self.sites.binary_search_by_key(&addr, |s| s.addr()).ok()
    }

    /// Linux's `register_aggr_kprobe`: another probe on a registered site.
    fn add_to_site(&mut self, i: usize, kp: &Arc<Kprobe>) -> Result<(), Errno> {
        let list = try_collect(
            self.sites[i]
                .probes()
                .iter()
                .cloned()
                .chain(core::iter::once(kp.clone())),
        )?;
        self.publish_probes(i, list)?;
        let want = self.sites[i].wants_armed(self.all_disarmed);
        if let Err(e) = self.update_arming(i, want) {
            let old = try_collect(
                self.sites[i]
                    .probes()
                    .iter()
                    .filter(|other| !Arc::ptr_eq(other, kp))
                    .cloned(),
            )?;
            self.publish_probes(i, old)?;
            return Err(e);
        }
        Ok(())
    }

    /// A first probe at a new address: prepare, publish, arm (Linux's `prepare_kprobe`,
    /// `arm_kprobe`).
    fn new_site(&mut self, resolved: &ResolvedAddr, kp: &Arc<Kprobe>) -> Result<(), Errno> {
        let arch = if resolved.ftrace {
            ArchKprobe {
                addr: resolved.site,
                ..ArchKprobe::default()
            }
        } else {
            let preceding = preceding_words(resolved.func, resolved.site);
            arch_prepare_kprobe(resolved.site, &preceding).map_err(map_prepare_error)?
        };
        let site = match new_site_box(arch, resolved.ftrace, kp) {
            Ok(site) => site,
            Err(mut arch) => {
                let _ = arch_remove_kprobe(&mut arch);
                return Err(Errno::ENOMEM);
            }
        };
        if self.sites.try_reserve(1).is_err() {
            free_site(*site);
            return Err(Errno::ENOMEM);
        }
        let at = self.sites.partition_point(|s| s.addr() < resolved.site);
        self.sites.insert(at, site);
        if let Err(e) = self.publish_table() {
            self.drop_site(at);
            return Err(e);
        }
        let want = self.sites[at].wants_armed(self.all_disarmed);
        if let Err(e) = self.update_arming(at, want) {
            let _ = self.remove_site(at);
            return Err(e);
        }
        Ok(())
    }

    /// Disarms, unpublishes, waits a grace period, then frees site `i`.
    fn remove_site(&mut self, i: usize) -> Result<(), Errno> {
        self.update_arming(i, false)?;
        let site = self.sites.remove(i);
        if let Err(e) = self.publish_table() {
            self.sites.insert(i, site);
            return Err(e);
        }
        crate::stop_machine::synchronize();
        free_site(*site);
        Ok(())
    }

    /// Frees a site that was never armed nor published in a table a handler could see.
    fn drop_site(&mut self, i: usize) {
        let site = self.sites.remove(i);
        free_site(*site);
    }

    /// Publishes a new probe list for site `i` and frees the old one after a grace period.
    fn publish_probes(&mut self, i: usize, list: ProbeList) -> Result<(), Errno> {
        let has_post = list.iter().any(|kp| kp.post_handler.is_some());
        let new = Box::into_raw(Box::try_new(list).map_err(|_| Errno::ENOMEM)?);
        let site = &self.sites[i];
        // Raised before the new list is visible, lowered only once the old one is gone: a
        // hit never skips the post handler of a probe in the list it walks.
        if has_post {
            site.has_post.store(true, Ordering::Release);
        }
        // Cleared before the new list is visible and set after: a hit never takes the fast
        // path of a probe that is not alone in the list it sees.
        site.ftrace_fast.store(ptr::null_mut(), Ordering::Release);
        site.kretprobe_fast
            .store(ptr::null_mut(), Ordering::Release);
        let old = site.probes.swap(new, Ordering::AcqRel);
        // SAFETY: `new` was just published and lives until a later swap's grace period.
        let list = unsafe { &*new };
        site.ftrace_fast
            .store(ftrace_fast_of(list), Ordering::Release);
        site.kretprobe_fast
            .store(kretprobe_fast_of(list, site.ftrace), Ordering::Release);
        crate::stop_machine::synchronize();
        if !has_post {
            site.has_post.store(false, Ordering::Release);
        }
        free_probe_list(old);
        Ok(())
    }

    /// Publishes the handlers' table for the current sites; the old one is freed after a grace
    /// period.
    fn publish_table(&mut self) -> Result<(), Errno> {
        let table = try_collect(self.sites.iter().map(|s| TableEntry {
            addr: s.addr(),
            site: &**s,
        }))?;
        let new = Box::into_raw(Box::try_new(table).map_err(|_| Errno::ENOMEM)?);
        let old = KPROBE_TABLE.swap(new, Ordering::AcqRel);
        if !old.is_null() {
            crate::stop_machine::synchronize();
            // SAFETY: every table comes from `Box::into_raw` here, is unpublished now, and no
            // handler holds it after the grace period.
            drop(unsafe { Box::from_raw(old) });
        }
        Ok(())
    }

    /// Arms or disarms site `i` so that it is armed exactly when `want`, with the ftrace ops
    /// its probes need.
    fn update_arming(&mut self, i: usize, want: bool) -> Result<(), Errno> {
        let target = match (want, self.sites[i].ftrace) {
            (false, _) => None,
            (true, false) => Some(Arming::Brk),
            (true, true) => Some(Arming::Ftrace {
                ipmodify: self.sites[i].wants_ipmodify(),
            }),
        };
        let current = self.sites[i].armed;
        if current == target {
            return Ok(());
        }
        if let Some(arming) = current {
            self.disarm(i, arming)?;
            self.sites[i].armed = None;
        }
        if let Some(arming) = target {
            self.arm(i, arming)?;
            self.sites[i].armed = Some(arming);
        }
        Ok(())
    }

    fn arm(&mut self, i: usize, arming: Arming) -> Result<(), Errno> {
        let addr = self.sites[i].addr();
        match arming {
            Arming::Brk => arch_arm_kprobe(&self.sites[i].arch).map_err(|_| Errno::EIO),
            Arming::Ftrace { ipmodify } => {
                let (ops, count) = self.ftrace_ops(ipmodify);
                ops.set_filter_ip(addr, false, false)?;
                if *count == 0
                    && let Err(e) = ops.register()
                {
                    let _ = ops.set_filter_ip(addr, true, false);
                    return Err(e);
                }
                *count += 1;
                Ok(())
            }
        }
    }

    fn disarm(&mut self, i: usize, arming: Arming) -> Result<(), Errno> {
        let addr = self.sites[i].addr();
        match arming {
            Arming::Brk => arch_disarm_kprobe(&self.sites[i].arch).map_err(|_| Errno::EIO),
            Arming::Ftrace { ipmodify } => {
                let (ops, count) = self.ftrace_ops(ipmodify);
                // Unregistered before its filter empties: an empty filter means every function.
                if *count == 1 {
                    ops.unregister()?;
                }
                *count -= 1;
                ops.set_filter_ip(addr, true, false)
            }
        }
    }

    fn ftrace_ops(&mut self, ipmodify: bool) -> (&'static FtraceOps, &mut usize) {
        if ipmodify {
            (&KPROBE_IPMODIFY_OPS, &mut self.ipmodify_armed)
        } else {
            (&KPROBE_FTRACE_OPS, &mut self.ftrace_armed)
        }
    }
}

/// A site holding `kp` alone; on allocation failure the prepared instruction comes back, for
/// the caller to release.
fn new_site_box(
    arch: ArchKprobe,
    ftrace: bool,
    kp: &Arc<Kprobe>,
) -> Result<Box<KprobeSite>, ArchKprobe> {
    let mut list = Vec::new();
    if list.try_reserve(1).is_err() {
        return Err(arch);
    }
    list.push(kp.clone());
    let Ok(list) = Box::try_new(list) else {
        return Err(arch);
    };
    let Ok(uninit) = Box::<KprobeSite>::try_new_uninit() else {
        return Err(arch);
    };
    Ok(Box::write(
        uninit,
        KprobeSite {
            arch,
            ftrace,
            probes: AtomicPtr::new(Box::into_raw(list)),
            has_post: AtomicBool::new(kp.post_handler.is_some()),
            ftrace_fast: AtomicPtr::new(ftrace_fast_of(core::slice::from_ref(kp))),
            kretprobe_fast: AtomicPtr::new(kretprobe_fast_of(core::slice::from_ref(kp), ftrace)),
            armed: None,
        },
    ))
}

/// What [`KprobeSite::ftrace_fast`] holds for `list`.
fn ftrace_fast_of(list: &[Arc<Kprobe>]) -> *mut Kprobe {
    match list {
        [kp] if kp.ftrace_handler.is_some() && kp.post_handler.is_none() => {
            Arc::as_ptr(kp).cast_mut()
        }
        _ => ptr::null_mut(),
    }
}

/// What [`KprobeSite::kretprobe_fast`] holds for `list` on a site probed through ftrace or
/// not (`ftrace`).
fn kretprobe_fast_of(list: &[Arc<Kprobe>], ftrace: bool) -> *mut Kretprobe {
    match list {
        [kp] if ftrace && kp.post_handler.is_none() => {
            let rp = kp.kretprobe.load(Ordering::Acquire);
            // SAFETY: a kretprobe's entry probe names it from before its registration until
            // after its unregistration, and the registry keeps it alive meanwhile.
            match unsafe { rp.as_ref() } {
                Some(r) if r.hooks_at_entry_only() => rp,
                _ => ptr::null_mut(),
            }
        }
        _ => ptr::null_mut(),
    }
}

fn free_probe_list(list: *mut ProbeList) {
    if !list.is_null() {
        // SAFETY: lists come from `Box::into_raw` and are freed once, after being unpublished
        // and a grace period.
        drop(unsafe { Box::from_raw(list) });
    }
}

/// Frees a site nobody can reach any more: its slot, its list, itself.
fn free_site(mut site: KprobeSite) {
    if let Err(e) = arch_remove_kprobe(&mut site.arch) {
        crate::println!(
            "kprobes: cannot clear the slot of {}: {e:?}",
            crate::symbols::symbolize(site.addr())
        );
    }
    free_probe_list(site.probes.swap(ptr::null_mut(), Ordering::AcqRel));
}
