//! kretprobes (Linux: the kretprobe half of `kernel/kprobes.c`, with rethook): a probe on a
//! function's return. As in Linux, a kretprobe is a kprobe at the function's entry whose pre
//! handler takes a preallocated instance, runs the entry handler, and hooks the return; the
//! return handler runs when the function returns, with the instance's data.
//!
//! The return is hooked on the function-graph shadow stack
//! ([`crate::trace::fgraph::function_graph_hook_return`]) rather than on a stack of its own:
//! the function returns through `return_to_handler`, unwinders (crash reports, stack traces
//! taken in the return handler) translate that address back to the real caller, and a
//! kretprobe and `function_graph` on the same function are two entries of one shadow stack, so
//! each sees every return.
//!
//! On an ftrace site, a kretprobe without an entry handler that has the address to itself is
//! the kprobe core's fast path: the ftrace callback takes an instance and hooks the return
//! inline ([`kretprobe_ftrace_hook`]), counting recursion in the entry probe's `nmissed` as
//! the generic path does. Otherwise the entry probe's handlers below run as for any kprobe.
//!
//! Instances: `maxactive` of them (Linux's default `max(10, 2 * possible CPUs)` when 0), each
//! with `data_size` bytes, allocated at registration (ENOMEM if they cannot be), taken and
//! given back lock-free ([`crate::objpool`]). A call that finds none free is counted in
//! [`Kretprobe::nmissed`] and not hooked.
//!
//! Unregistering: the entry probe goes first (with its grace period, no new instance is
//! taken), then the pool is marked dead and another grace period passes, so no return handler
//! still runs the kretprobe's code. Returns still hooked (a task inside the function) find the
//! pool dead and only give their instance back; a pool with instances out is kept until they
//! are all back and freed by a later registration or unregistration. A task that ends inside
//! the function gives its instance back when it is freed (Linux's `rethook_flush_task()`, no
//! handler called, nothing counted). While registered, a kretprobe is kept alive
//! by [`KRETPROBES`], whatever its owner does with its own `Arc`.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::{Any, TypeId};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use arch::exception::TrapFrame;
use arch::ftrace::{FgraphRetRegs, FtraceRegs};
use arch::probes::decode::ArchProbeInsn;
use arch::probes::kprobes::{ArchKprobe, ArchSpecificInsn, KPROBE_HIT_ACTIVE, get_kprobe_ctlblk};
use spin::Mutex;

use super::{Kprobe, register_kprobe, unregister_kprobe};
use crate::fs::Errno;
use crate::objpool::{ObjPool, PoolSlot};
use crate::trace::fgraph::{
    FgraphOps, FtraceGraphEnt, FtraceGraphRet, GraphTaskState, function_graph_hook_return,
};

/// Linux's `KRETPROBE_MAX_DATA_SIZE`: a larger `data_size` is E2BIG.
pub const KRETPROBE_MAX_DATA_SIZE: usize = 4096;

/// Runs at the function's entry (Linux's `entry_handler`). Returning true means "do not hook
/// this return" (Linux: a non-zero return), and the instance is given back.
pub type KretprobeEntryHandler = fn(&mut KretprobeInstance<'_>, &mut TrapFrame) -> bool;
/// Runs when the function returns (Linux's `handler`); the frame holds x0-x7 (the return
/// value in x0), fp, sp, and the real return address as pc and lr.
pub type KretprobeHandler = fn(&mut KretprobeInstance<'_>, &TrapFrame);
/// A return handler that reads the registers as the return trampoline saved them (x0-x7, fp,
/// sp, the IRQ mask) instead of a whole frame: ours, for handlers that need no more (probe
/// events whose values are plain registers), sparing the frame's build on every return.
pub type KretprobeRegsHandler = fn(&mut KretprobeInstance<'_>, &FgraphRetRegs);

/// The return handler and what it reads.
#[derive(Clone, Copy)]
enum ReturnHandler {
    Frame(KretprobeHandler),
    Regs(KretprobeRegsHandler),
}

/// One hooked call, as its handlers see it (Linux's `struct kretprobe_instance`).
pub struct KretprobeInstance<'a> {
    rp: &'a Kretprobe,
    ret_addr: u64,
    data: &'a mut [u8],
}

impl<'a> KretprobeInstance<'a> {
    /// The kretprobe (for its [`Kretprobe::data`]).
    pub fn kretprobe(&self) -> &'a Kretprobe {
        self.rp
    }

    /// Where the function returns to.
    pub fn ret_addr(&self) -> u64 {
        self.ret_addr
    }

    /// The instance's `data_size` bytes: what the entry handler left for the return handler.
    pub fn data(&self) -> &[u8] {
        self.data
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        self.data
    }
}

/// A return probe (Linux's `struct kretprobe`). Build it, wrap it in an [`Arc`], and pass it
/// to [`register_kretprobe`].
pub struct Kretprobe {
    kp: Arc<Kprobe>,
    handler: Option<ReturnHandler>,
    entry_handler: Option<KretprobeEntryHandler>,
    maxactive: AtomicUsize,
    data_size: usize,
    nmissed: AtomicU64,
    data: Option<Box<dyn Any + Send + Sync>>,
    /// The type of [`Self::data`]'s value: checked by [`Kretprobe::data`] without the `Any` vtable
    /// call on every hit.
    data_type: Option<TypeId>,
    /// The live pool while registered (null otherwise): what the entry handler takes from.
    pool: AtomicPtr<InstancePool>,
    /// Keeps the pool alive while registered (under the registry's use of this kretprobe).
    pool_owner: Mutex<Option<Arc<InstancePool>>>,
}

impl Kretprobe {
    /// A kretprobe on the function `name` (at `offset`, which must be its entry). ENOMEM if
    /// memory runs out.
    pub fn at_symbol(name: &str, offset: u64) -> Result<Kretprobe, Errno> {
        Self::new(Kprobe::at_symbol(name, offset)?)
    }

    /// A kretprobe on the function starting at `addr`.
    pub fn at_addr(addr: u64) -> Result<Kretprobe, Errno> {
        Self::new(Kprobe::at_addr(addr))
    }

    fn new(kp: Kprobe) -> Result<Kretprobe, Errno> {
        let kp = Arc::try_new(
            kp.with_pre_handler(pre_handler_kretprobe)
                .with_ftrace_handler(ftrace_handler_kretprobe),
        )
        .map_err(|_| Errno::ENOMEM)?;
        Ok(Kretprobe {
            kp,
            handler: None,
            entry_handler: None,
            maxactive: AtomicUsize::new(0),
            data_size: 0,
            nmissed: AtomicU64::new(0),
            data: None,
            data_type: None,
            pool: AtomicPtr::new(ptr::null_mut()),
            pool_owner: Mutex::new(None),
        })
    }

    pub fn with_handler(mut self, handler: KretprobeHandler) -> Kretprobe {
        self.handler = Some(ReturnHandler::Frame(handler));
        self
    }

    /// The return handler as a [`KretprobeRegsHandler`] (it replaces one given to
    /// [`Kretprobe::with_handler`]).
    pub fn with_regs_handler(mut self, handler: KretprobeRegsHandler) -> Kretprobe {
        self.handler = Some(ReturnHandler::Regs(handler));
        self
    }

    pub fn with_entry_handler(mut self, handler: KretprobeEntryHandler) -> Kretprobe {
        self.entry_handler = Some(handler);
        self
    }

    /// Registered disabled (Linux: `KPROBE_FLAG_DISABLED` on `rp->kp`); [`enable_kretprobe`]
    /// arms it.
    pub fn disabled(self) -> Kretprobe {
        self.kp
            .flags
            .fetch_or(super::KPROBE_FLAG_DISABLED, Ordering::Relaxed);
        self
    }

    /// Calls that can be hooked at once; 0 means Linux's default.
    pub fn with_maxactive(self, maxactive: usize) -> Kretprobe {
        self.maxactive.store(maxactive, Ordering::Relaxed);
        self
    }

    /// Bytes of per-instance data.
    pub fn with_data_size(mut self, data_size: usize) -> Kretprobe {
        self.data_size = data_size;
        self
    }

    /// Attaches the caller's data, for the handlers ([`Kretprobe::data`]).
    pub fn with_data<T: Any + Send + Sync>(mut self, data: T) -> Result<Kretprobe, Errno> {
        self.data = Some(Box::try_new(data).map_err(|_| Errno::ENOMEM)?);
        self.data_type = Some(TypeId::of::<T>());
        Ok(self)
    }

    pub fn data<T: Any>(&self) -> Option<&T> {
        super::typed_data(self.data.as_deref(), self.data_type)
    }

    /// [`Kretprobe::data`] without the type check, as [`Kprobe::data_unchecked`].
    ///
    /// # Safety
    /// The data, if any, was attached as a `T`.
    #[inline(always)]
    pub unsafe fn data_unchecked<T: Any>(&self) -> Option<&T> {
        // SAFETY: per the caller.
        unsafe { super::untyped_data(self.data.as_deref(), self.data_type) }
    }

    /// The entry probe (its address, flags, and its own `nmissed` for recursion).
    pub fn kprobe(&self) -> &Arc<Kprobe> {
        &self.kp
    }

    /// The maxactive in effect (after registration, the default replaces 0).
    pub fn maxactive(&self) -> usize {
        self.maxactive.load(Ordering::Relaxed)
    }

    /// Calls not hooked because every instance was in use.
    pub fn nmissed(&self) -> u64 {
        self.nmissed.load(Ordering::Relaxed)
    }

    /// Whether a hit at the entry only hooks the return (no entry handler to run on a frame):
    /// what lets the kprobe core take its fast path ([`kretprobe_ftrace_hook`]).
    pub(super) fn hooks_at_entry_only(&self) -> bool {
        self.entry_handler.is_none()
    }

    #[inline(always)]
    fn live_pool(&self) -> Option<&InstancePool> {
        // SAFETY: the pointer is set from the registered pool, which `pool_owner` keeps alive
        // until after it is cleared and a grace period has passed.
        unsafe { self.pool.load(Ordering::Acquire).as_ref() }
    }
}

/// A kretprobe's per-call fixed part: where the hooked call really returns.
#[derive(Default)]
struct RetAddr {
    ret_addr: AtomicU64,
}

/// Preallocated instances (Linux's rethook node pool); its owner is the kretprobe.
type InstancePool = ObjPool<Kretprobe, RetAddr>;
/// One instance; its address is the data word of its shadow-stack entry.
type InstanceSlot = PoolSlot<Kretprobe, RetAddr>;

/// The function-graph user kretprobes hook returns for: never registered as an ftrace_ops
/// (the kprobe is the entry), only its return handler is used.
static KRETPROBE_GRAPH: FgraphOps = FgraphOps::new_with_flush(
    kretprobe_graph_entry,
    kretprobe_graph_return,
    kretprobe_flush,
);

/// Pools unregistered with instances still out (freed once they are all back).
static GRAVEYARD: Mutex<Vec<Arc<InstancePool>>> = Mutex::new(Vec::new());

/// The registered kretprobes: keeps each alive while its entry probe can reach it, and
/// serialises registration and unregistration.
static KRETPROBES: Mutex<Vec<Arc<Kretprobe>>> = Mutex::new(Vec::new());

/// Linux's `kprobe_busy`: what this CPU's control block names while a return handler runs,
/// so that probes it hits are counted instead of entered. A plain static: nothing to check on
/// the return path.
static KPROBE_BUSY: ArchKprobe = ArchKprobe {
    addr: 0,
    opcode: 0,
    ainsn: ArchSpecificInsn {
        xol_insn: None,
        xol_restore: 0,
        api: ArchProbeInsn { handler: None },
    },
};

fn reap_graveyard() {
    InstancePool::reap(&GRAVEYARD);
}

/// Registers `rp` (Linux's `register_kretprobe`): ENOENT for an unknown symbol, EINVAL if
/// the address is not a function's entry or `rp` is already registered, E2BIG for a
/// `data_size` above [`KRETPROBE_MAX_DATA_SIZE`], ENOMEM if the instances cannot be
/// allocated, and the errors of [`register_kprobe`].
pub fn register_kretprobe(rp: &Arc<Kretprobe>) -> Result<(), Errno> {
    reap_graveyard();
    let mut registered = KRETPROBES.lock();
    if rp.kp.is_registered() {
        return Err(Errno::EINVAL);
    }
    registered.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let resolved = super::resolve_addr(rp.kp.target())?;
    if !resolved.on_func_entry {
        return Err(Errno::EINVAL);
    }
    if rp.data_size > KRETPROBE_MAX_DATA_SIZE {
        return Err(Errno::E2BIG);
    }
    if rp.maxactive() == 0 {
        rp.maxactive.store(
            10.max(2 * crate::smp::num_possible_cpus()),
            Ordering::Relaxed,
        );
    }
    let maxactive = rp.maxactive();
    let pool = InstancePool::try_new(maxactive, rp.data_size, RetAddr::default)?;
    pool.owner
        .store(Arc::as_ptr(rp).cast_mut(), Ordering::Release);
    rp.nmissed.store(0, Ordering::Relaxed);
    rp.pool
        .store(Arc::as_ptr(&pool).cast_mut(), Ordering::Release);
    *rp.pool_owner.lock() = Some(pool);
    rp.kp
        .kretprobe
        .store(Arc::as_ptr(rp).cast_mut(), Ordering::Release);
    if let Err(e) = register_kprobe(&rp.kp) {
        rp.kp.kretprobe.store(ptr::null_mut(), Ordering::Release);
        rp.pool.store(ptr::null_mut(), Ordering::Release);
        rp.pool_owner.lock().take();
        return Err(e);
    }
    registered.push(rp.clone());
    Ok(())
}

/// Unregisters `rp` (Linux's `unregister_kretprobe`): when this returns no CPU runs or will
/// run its handlers; returns still hooked complete without them. EINVAL if not registered.
pub fn unregister_kretprobe(rp: &Arc<Kretprobe>) -> Result<(), Errno> {
    let mut registered = KRETPROBES.lock();
    unregister_kprobe(&rp.kp)?;
    rp.pool.store(ptr::null_mut(), Ordering::Release);
    let pool = rp.pool_owner.lock().take();
    if let Some(pool) = pool {
        InstancePool::retire(pool, &GRAVEYARD);
    }
    rp.kp.kretprobe.store(ptr::null_mut(), Ordering::Release);
    registered.retain(|other| !Arc::ptr_eq(other, rp));
    drop(registered);
    reap_graveyard();
    Ok(())
}

/// Linux's `enable_kretprobe`: enables the entry probe.
pub fn enable_kretprobe(rp: &Arc<Kretprobe>) -> Result<(), Errno> {
    super::enable_kprobe(&rp.kp)
}

/// Linux's `disable_kretprobe`: no new call is hooked; calls already hooked still run the
/// return handler.
pub fn disable_kretprobe(rp: &Arc<Kretprobe>) -> Result<(), Errno> {
    super::disable_kprobe(&rp.kp)
}

arch::noinstr! {
/// The kprobe core's fast path for `rp` alone on an ftrace site without an entry handler
/// ([`super::KprobeSite::kretprobe_fast`]): the return is hooked straight on the return address
/// ftrace saved. noinstr and inlined into the ftrace callback: it calls no traceable code and
/// none of the probe users' code, so it needs no control-block protocol or instrumentation
/// region (the caller has checked this CPU is not inside a probe, and counted that as a miss).
#[inline(always)]
pub(super) fn kretprobe_ftrace_hook(rp: &Kretprobe, fregs: &mut FtraceRegs) {
    let kp = &*rp.kp;
    if !kp.is_disabled() {
        hook_return(rp, kp, fregs.sp, fregs.fp, &mut fregs.lr, None);
    }
}
}

/// The entry probe's handler on an ftrace site where the kprobe core's fast path does not take
/// the hit: for a kretprobe with an entry handler (run on a frame), and for one without while
/// the site's fast path is being republished (its return then hooked straight on ftrace's
/// saved return address, as the fast path does).
fn ftrace_handler_kretprobe(kp: &Kprobe, fregs: &mut FtraceRegs) {
    let Some(rp) = kretprobe_of(kp) else {
        return;
    };
    if rp.entry_handler.is_some() {
        return ftrace_entry_handler_kretprobe(rp, kp, fregs);
    }
    hook_return(rp, kp, fregs.sp, fregs.fp, &mut fregs.lr, None);
}

/// [`ftrace_handler_kretprobe`] with an entry handler: on a frame built from `fregs`. Out of
/// line, so the common case keeps no frame on its stack.
#[inline(never)]
fn ftrace_entry_handler_kretprobe(rp: &Kretprobe, kp: &Kprobe, fregs: &mut FtraceRegs) {
    let mut frame = core::mem::MaybeUninit::uninit();
    let regs = super::frame_from_fregs(fregs, kp.addr(), &mut frame);
    let mut lr = regs.regs[30];
    hook_return(rp, kp, regs.sp, regs.regs[29], &mut lr, Some(&mut *regs));
    regs.regs[30] = lr;
    super::frame_to_fregs(regs, fregs);
}

/// The kretprobe `kp` is the entry probe of.
#[inline(always)]
fn kretprobe_of(kp: &Kprobe) -> Option<&Kretprobe> {
    // SAFETY: set while registered; unregistering clears it only after the entry probe's
    // grace period, and the handlers run with IRQs masked.
    unsafe { kp.kretprobe.load(Ordering::Acquire).as_ref() }
}

/// The entry probe's pre handler (Linux's `pre_handler_kretprobe`): take an instance, run the
/// entry handler, hook the return. Runs in a probe handler (IRQs masked).
fn pre_handler_kretprobe(kp: &Kprobe, regs: &mut TrapFrame) -> bool {
    let Some(rp) = kretprobe_of(kp) else {
        return false;
    };
    let (sp, fp) = (regs.sp, regs.regs[29]);
    let mut lr = regs.regs[30];
    hook_return(rp, kp, sp, fp, &mut lr, Some(&mut *regs));
    regs.regs[30] = lr;
    false
}

/// Takes an instance of `rp` (whose entry probe is `kp`), runs the entry handler on `regs`
/// (when there is one; the caller gives the frame then), and hooks the return: `lr` becomes
/// the return trampoline's address.
#[inline(always)]
fn hook_return(
    rp: &Kretprobe,
    kp: &Kprobe,
    sp: u64,
    fp: u64,
    lr: &mut u64,
    regs: Option<&mut TrapFrame>,
) {
    let Some(pool) = rp.live_pool() else {
        return;
    };
    let Some(slot) = pool.alloc() else {
        rp.nmissed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let ret_addr = *lr;
    slot.ext.ret_addr.store(ret_addr, Ordering::Relaxed);
    if let (Some(entry), Some(regs)) = (rp.entry_handler, regs) {
        let mut ri = KretprobeInstance {
            rp,
            ret_addr,
            // SAFETY: `slot` was just taken and is ours until freed.
            data: unsafe { pool.data(slot) },
        };
        let skip = entry(&mut ri, regs);
        // The entry handler may have changed the frame's lr: hook what it left.
        *lr = regs.regs[30];
        if skip {
            pool.free(slot);
            return;
        }
    }
    let data = ptr::from_ref(slot) as u64;
    if !function_graph_hook_return(&KRETPROBE_GRAPH, kp.addr(), sp, fp, lr, data) {
        pool.free(slot);
        rp.nmissed.fetch_add(1, Ordering::Relaxed);
    }
}

arch::noinstr! {
fn kretprobe_graph_entry(_: &FtraceGraphEnt, _: &mut GraphTaskState, _: &FtraceRegs) -> bool {
    false
}
}

arch::noinstr! {
/// The return of a call a kretprobe hooked (Linux's `kretprobe_rethook_handler`), called by
/// `ftrace_return_to_handler` with IRQs masked and the ftrace recursion bit held.
fn kretprobe_graph_return(ret: &FtraceGraphRet, _: &mut GraphTaskState, regs: &FgraphRetRegs) {
    // The handler is the user's code: the recursion bit and the busy kprobe guard it.
    arch::instrumentation! {
        kretprobe_return(ret, regs)
    }
}
}

fn kretprobe_return(ret: &FtraceGraphRet, regs: &FgraphRetRegs) {
    // SAFETY: the data word is an `InstanceSlot` of a pool that stays alive while one of its
    // instances is out (the pool's owner, then the graveyard, keep it).
    let slot = unsafe { &*(ret.data as *const InstanceSlot) };
    // SAFETY: as above, the pool is alive while this instance is out.
    let pool = unsafe { slot.pool() };
    // SAFETY: the owner is cleared before the grace period that ends its registration.
    if let Some(rp) = unsafe { pool.owner.load(Ordering::Acquire).as_ref() } {
        run_return_handler(rp, pool, slot, regs);
    }
    pool.free(slot);
}

/// A hooked call's task was freed without returning (Linux's `rethook_flush_task()`): its
/// instance goes back to the pool, no handler runs. The pool is still alive: this instance is
/// out, and a retired pool waits in the graveyard until it is back (last touch: the free).
fn kretprobe_flush(data: u64) {
    // SAFETY: the data word is an `InstanceSlot` of a pool alive while the instance is out.
    let slot = unsafe { &*(data as *const InstanceSlot) };
    // SAFETY: as above.
    unsafe { slot.pool() }.free(slot);
}

/// Instances of `rp`'s pool free now (None while unregistered): for tests.
pub fn kretprobe_free_instances(rp: &Kretprobe) -> Option<usize> {
    rp.pool_owner.lock().as_ref().map(|pool| pool.nr_free())
}

/// Unregistered kretprobe pools still waiting for instances out (for tests: 0 once every
/// hooked call returned or its task was freed).
pub fn kretprobe_pools_pending() -> usize {
    reap_graveyard();
    GRAVEYARD.lock().len()
}

fn run_return_handler(
    rp: &Kretprobe,
    pool: &InstancePool,
    slot: &InstanceSlot,
    regs: &FgraphRetRegs,
) {
    let Some(handler) = rp.handler else {
        return;
    };
    let kcb = get_kprobe_ctlblk();
    if kcb.running().is_some() {
        rp.nmissed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let ret_addr = slot.ext.ret_addr.load(Ordering::Relaxed);
    let mut ri = KretprobeInstance {
        rp,
        ret_addr,
        // SAFETY: the slot belongs to this hooked call until it is freed after this.
        data: unsafe { pool.data(slot) },
    };
    kcb.set_current(&KPROBE_BUSY);
    kcb.set_status(KPROBE_HIT_ACTIVE);
    match handler {
        ReturnHandler::Frame(handler) => {
            let mut frame = core::mem::MaybeUninit::uninit();
            let frame = super::frame_from_ret_regs(regs, ret_addr, &mut frame);
            handler(&mut ri, frame);
        }
        ReturnHandler::Regs(handler) => handler(&mut ri, regs),
    }
    kcb.reset_current();
}
