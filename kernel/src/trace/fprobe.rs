//! fprobe (Linux: `kernel/trace/fprobe.c`): entry and exit callbacks on a set of functions,
//! built on [`FtraceOps`] for the entries and on the function-graph shadow stack
//! ([`function_graph_hook_return`]) for the exits, as Linux 6.14 builds it on fgraph. A
//! function an fprobe, `function_graph` and a kretprobe all hook returns through all three.
//!
//! An [`Fprobe`] is a heap object (an [`Arc`]) whose first field is its own ftrace_ops: the
//! ftrace callback finds the fprobe from the ops it is called with. Its functions are picked
//! by globs ([`register_fprobe`], as `set_ftrace_filter`), by addresses
//! ([`register_fprobe_ips`]) or by names ([`register_fprobe_syms`]); all three become the
//! ops' filter of record ips.
//!
//! Per-call data: an fprobe with an exit handler owns a pool of preallocated instances
//! (the entry ip, the return address and `entry_data_size` bytes), taken lock-free at entry
//! and given back at the return; the shadow-stack entry's data word names the instance.
//! A call that finds no free instance, or no room on the shadow stack, runs neither handler
//! and is counted in [`Fprobe::nmissed`] (the seed's "shortage of rethook").
//!
//! Unregistering: the ops goes first (its grace period: no CPU is in an entry handler or can
//! reach one), then the pool forgets the fprobe and a second grace period passes (no CPU is in
//! an exit handler). Returns still hooked (a task inside a probed function) find the pool
//! without fprobe and only give their instance back: the fprobe itself can be freed at once,
//! and the pool is kept (in [`GRAVEYARD`]) until its last instance is back, then freed by a
//! later registration or unregistration. So registering and unregistering at run time leaves
//! nothing behind.
//!
//! Recursion: both handlers run under the ftrace recursion bit; a probed function reached from
//! a handler (of this fprobe or another) does not recurse but counts in that fprobe's
//! `nmissed`.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::{Any, TypeId};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use arch::ftrace::{FgraphRetRegs, FtraceRegs};
use spin::Mutex;

use super::fgraph::{
    FTRACE_RETFUNC_DEPTH, FgraphOps, FtraceGraphEnt, FtraceGraphRet, GraphTaskState,
    function_graph_hook_return,
};
use super::ftrace::records;
use super::ftrace_ops::{
    FtraceOps, ftrace_test_recursion_trylock_word, ftrace_test_recursion_unlock_word,
};
use crate::fs::Errno;
use crate::glob::Pattern;
use crate::objpool::{ObjPool, PoolSlot};

/// Linux's `FPROBE_FL_DISABLED`: registered but soft-disabled.
pub const FPROBE_FL_DISABLED: u32 = 1;
/// Linux 6.14's `MAX_FPROBE_DATA_SIZE_WORD`: entry data is at most this many words.
pub const MAX_FPROBE_DATA_SIZE_WORD: usize = 15;
/// Linux 6.14's `MAX_FPROBE_DATA_SIZE`: a larger `entry_data_size` is E2BIG.
pub const MAX_FPROBE_DATA_SIZE: usize = MAX_FPROBE_DATA_SIZE_WORD * size_of::<u64>();
/// The largest default instance pool (an explicit `nr_maxactive` may be larger).
const FPROBE_DEFAULT_MAXACTIVE_MAX: usize = 4096;

/// Runs at a probed function's entry (Linux's `fprobe_entry_cb`): the fprobe, the record ip
/// of the function (its patch site), the return address, the registers at entry, and the
/// call's entry data. Returning true (Linux: non-zero) cancels this call's exit handler.
pub type FprobeEntryHandler =
    fn(fp: &Fprobe, entry_ip: u64, ret_ip: u64, regs: &mut FtraceRegs, data: &mut [u8]) -> bool;
/// Runs when a probed function returns (Linux's `fprobe_exit_cb`): as the entry handler, with
/// the registers at the return (x0 the return value) and what the entry handler left in the
/// entry data.
pub type FprobeExitHandler =
    fn(fp: &Fprobe, entry_ip: u64, ret_ip: u64, regs: &FgraphRetRegs, data: &mut [u8]);

/// A function entry/exit probe (Linux's `struct fprobe`). Build it, wrap it in an [`Arc`], and
/// register it.
#[repr(C)]
pub struct Fprobe {
    /// First, so the ftrace callback finds the fprobe from its ops (Linux's `container_of`).
    ops: FtraceOps,
    entry_handler: Option<FprobeEntryHandler>,
    exit_handler: Option<FprobeExitHandler>,
    entry_data_size: usize,
    nr_maxactive: AtomicUsize,
    nmissed: AtomicU64,
    flags: AtomicU32,
    data: Option<Box<dyn Any + Send + Sync>>,
    /// The type of [`Self::data`]'s value (checked without the `Any` vtable call per hit).
    data_type: Option<TypeId>,
    /// The live pool while registered with an exit handler (null otherwise).
    pool: AtomicPtr<InstancePool>,
    /// Keeps the pool alive while registered.
    pool_owner: Mutex<Option<Arc<InstancePool>>>,
}

impl Default for Fprobe {
    fn default() -> Self {
        Self::new()
    }
}

impl Fprobe {
    /// An fprobe without handlers.
    pub const fn new() -> Fprobe {
        Fprobe {
            ops: FtraceOps::new(fprobe_ftrace_entry, 0),
            entry_handler: None,
            exit_handler: None,
            entry_data_size: 0,
            nr_maxactive: AtomicUsize::new(0),
            nmissed: AtomicU64::new(0),
            flags: AtomicU32::new(0),
            data: None,
            data_type: None,
            pool: AtomicPtr::new(ptr::null_mut()),
            pool_owner: Mutex::new(None),
        }
    }

    pub fn with_entry_handler(mut self, handler: FprobeEntryHandler) -> Fprobe {
        self.entry_handler = Some(handler);
        self
    }

    pub fn with_exit_handler(mut self, handler: FprobeExitHandler) -> Fprobe {
        self.exit_handler = Some(handler);
        self
    }

    /// Bytes of per-call data shared by the entry and exit handlers (used only with an exit
    /// handler, as in Linux).
    pub fn with_entry_data_size(mut self, size: usize) -> Fprobe {
        self.entry_data_size = size;
        self
    }

    /// Calls that can have their exit hooked at once; 0 means the default (two per CPU per
    /// function, at least [`FTRACE_RETFUNC_DEPTH`], at most 4096).
    pub fn with_maxactive(self, maxactive: usize) -> Fprobe {
        self.nr_maxactive.store(maxactive, Ordering::Relaxed);
        self
    }

    /// Registered soft-disabled (Linux: `FPROBE_FL_DISABLED` set before registering).
    pub fn disabled(self) -> Fprobe {
        self.flags.fetch_or(FPROBE_FL_DISABLED, Ordering::Relaxed);
        self
    }

    /// Attaches the caller's data, for the handlers ([`Fprobe::data`]; Linux embeds the
    /// fprobe in a bigger struct instead).
    pub fn with_data<T: Any + Send + Sync>(mut self, data: T) -> Result<Fprobe, Errno> {
        self.data = Some(Box::try_new(data).map_err(|_| Errno::ENOMEM)?);
        self.data_type = Some(TypeId::of::<T>());
        Ok(self)
    }

    pub fn data<T: Any>(&self) -> Option<&T> {
        crate::kprobes::typed_data(self.data.as_deref(), self.data_type)
    }

    /// Calls skipped: a hit inside a handler, or no instance or shadow-stack room for the exit.
    pub fn nmissed(&self) -> u64 {
        self.nmissed.load(Ordering::Relaxed)
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Linux's `fprobe_disabled()`.
    #[inline(always)]
    pub fn is_disabled(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & FPROBE_FL_DISABLED != 0
    }

    /// Whether it is registered.
    pub fn is_registered(&self) -> bool {
        self.ops.is_enabled()
    }

    /// The instance pool size in effect (after registration with an exit handler).
    pub fn maxactive(&self) -> usize {
        self.nr_maxactive.load(Ordering::Relaxed)
    }

    #[inline(always)]
    fn live_pool(&self) -> Option<&InstancePool> {
        // SAFETY: set from the registered pool, which `pool_owner` keeps alive until after it
        // is cleared and a grace period has passed.
        unsafe { self.pool.load(Ordering::Acquire).as_ref() }
    }
}

/// Linux's `enable_fprobe()`: the handlers run again.
pub fn enable_fprobe(fp: &Fprobe) {
    fp.flags.fetch_and(!FPROBE_FL_DISABLED, Ordering::Relaxed);
}

/// Linux's `disable_fprobe()`: entries are ignored (not counted) and exits not yet run skip
/// the exit handler, until [`enable_fprobe`].
pub fn disable_fprobe(fp: &Fprobe) {
    fp.flags.fetch_or(FPROBE_FL_DISABLED, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------------
// Instances
// ---------------------------------------------------------------------------------------------

/// An fprobe's per-call fixed part: the entry's ip and return address, for the exit handler.
#[derive(Default)]
struct CallSite {
    entry_ip: AtomicU64,
    ret_ip: AtomicU64,
}

/// Preallocated instances of one registration (Linux <= 6.13's rethook pool of an fprobe); its
/// owner is the fprobe.
type InstancePool = ObjPool<Fprobe, CallSite>;
/// One hooked call; its address is the data word of its shadow-stack entry.
type InstanceSlot = PoolSlot<Fprobe, CallSite>;

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// The registered fprobes: keeps each alive while its ops can reach it, and serialises
/// registration and unregistration.
static FPROBES: Mutex<Vec<Arc<Fprobe>>> = Mutex::new(Vec::new());

/// Pools unregistered with instances still out (freed once they are all back).
static GRAVEYARD: Mutex<Vec<Arc<InstancePool>>> = Mutex::new(Vec::new());

fn reap_graveyard() {
    InstancePool::reap(&GRAVEYARD);
}

/// The record ips of the functions whose names match `filter` and not `notfilter` (Linux
/// 6.14's `get_ips_from_filter()`).
fn ips_from_filter(filter: &str, notfilter: Option<&str>) -> Result<Vec<u64>, Errno> {
    let want = Pattern::parse(filter);
    let skip = notfilter.map(Pattern::parse);
    let table = crate::symbols::functions();
    let mut ips = Vec::new();
    for rec in records() {
        let Some(sym) = table.lookup(rec.func()) else {
            continue;
        };
        if sym.addr != rec.func()
            || !want.matches(sym.name)
            || skip.as_ref().is_some_and(|p| p.matches(sym.name))
        {
            continue;
        }
        ips.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        ips.push(rec.ip);
    }
    Ok(ips)
}

/// Registers `fp` on every traceable function whose name matches the glob `filter` (the
/// `set_ftrace_filter` syntax) and not `notfilter` (Linux's `register_fprobe()`). ENOENT if
/// none is left, and the errors of [`register_fprobe_ips`].
pub fn register_fprobe(
    fp: &Arc<Fprobe>,
    filter: &str,
    notfilter: Option<&str>,
) -> Result<(), Errno> {
    if filter.is_empty() {
        return Err(Errno::EINVAL);
    }
    let ips = ips_from_filter(filter, notfilter)?;
    if ips.is_empty() {
        return Err(Errno::ENOENT);
    }
    register_record_ips(fp, ips)
}

/// Registers `fp` on the functions at `addrs`, each a function's address or its ftrace
/// location (Linux's `register_fprobe_ips()`). EINVAL if `addrs` is empty, names an address
/// without a patch site, or `fp` is already registered; E2BIG for an `entry_data_size` above
/// [`MAX_FPROBE_DATA_SIZE`]; ENOMEM if memory runs out.
pub fn register_fprobe_ips(fp: &Arc<Fprobe>, addrs: &[u64]) -> Result<(), Errno> {
    if addrs.is_empty() {
        return Err(Errno::EINVAL);
    }
    let recs = records();
    let mut ips = Vec::new();
    ips.try_reserve_exact(addrs.len())
        .map_err(|_| Errno::ENOMEM)?;
    for &addr in addrs {
        let rec = recs
            .iter()
            .find(|rec| rec.ip == addr || rec.func() == addr)
            .ok_or(Errno::EINVAL)?;
        ips.push(rec.ip);
    }
    register_record_ips(fp, ips)
}

/// Registers `fp` on the functions named `syms` (Linux's `register_fprobe_syms()`). ENOENT
/// for a name that is no function, and the errors of [`register_fprobe_ips`].
pub fn register_fprobe_syms(fp: &Arc<Fprobe>, syms: &[&str]) -> Result<(), Errno> {
    if syms.is_empty() {
        return Err(Errno::EINVAL);
    }
    let table = crate::symbols::functions();
    let mut addrs = Vec::new();
    addrs
        .try_reserve_exact(syms.len())
        .map_err(|_| Errno::ENOMEM)?;
    for name in syms {
        addrs.push(table.find(name).ok_or(Errno::ENOENT)?.addr);
    }
    register_fprobe_ips(fp, &addrs)
}

/// Whether `name` is a function an fprobe can probe: one with a patch site (what Linux's
/// `register_fprobe_syms()` needs of it).
pub fn is_fprobe_target(name: &str) -> bool {
    crate::symbols::functions()
        .find(name)
        .is_some_and(|sym| records().iter().any(|rec| rec.func() == sym.addr))
}

/// The default pool size: Linux ≤ 6.13's `num * 2 * num_possible_cpus()`, raised to a task's
/// shadow-stack depth (so one recursive call chain fits) and capped.
fn default_maxactive(nfuncs: usize) -> usize {
    nfuncs
        .saturating_mul(2 * crate::smp::num_possible_cpus())
        .clamp(FTRACE_RETFUNC_DEPTH, FPROBE_DEFAULT_MAXACTIVE_MAX)
}

fn register_record_ips(fp: &Arc<Fprobe>, mut ips: Vec<u64>) -> Result<(), Errno> {
    ips.sort_unstable();
    ips.dedup();
    reap_graveyard();
    let mut registered = FPROBES.lock();
    if fp.is_registered() {
        return Err(Errno::EINVAL);
    }
    if fp.entry_data_size > MAX_FPROBE_DATA_SIZE {
        return Err(Errno::E2BIG);
    }
    registered.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    if fp.exit_handler.is_some() {
        if fp.maxactive() == 0 {
            fp.nr_maxactive
                .store(default_maxactive(ips.len()), Ordering::Relaxed);
        }
        let pool = InstancePool::try_new(fp.maxactive(), fp.entry_data_size, CallSite::default)?;
        pool.owner
            .store(Arc::as_ptr(fp).cast_mut(), Ordering::Release);
        fp.pool
            .store(Arc::as_ptr(&pool).cast_mut(), Ordering::Release);
        *fp.pool_owner.lock() = Some(pool);
    }
    fp.nmissed.store(0, Ordering::Relaxed);
    // SAFETY: the ops lives inside `fp`, which `FPROBES` keeps alive from before the ops is
    // registered until after it is unregistered (and its grace period has passed).
    let ops: &'static FtraceOps = unsafe { &*ptr::from_ref(&fp.ops) };
    let armed = ops.set_filter_ips(ips).and_then(|()| ops.register());
    if let Err(e) = armed {
        fp.pool.store(ptr::null_mut(), Ordering::Release);
        fp.pool_owner.lock().take();
        // Frees the filter; the ops was never registered.
        let _ = ops.set_filter_ips([]);
        return Err(e);
    }
    registered.push(fp.clone());
    Ok(())
}

/// Unregisters `fp` (Linux's `unregister_fprobe()`): when this returns no CPU runs or will run
/// its handlers, and `fp` may be dropped; calls still inside a probed function return normally
/// without the exit handler. EINVAL if not registered.
pub fn unregister_fprobe(fp: &Arc<Fprobe>) -> Result<(), Errno> {
    let mut registered = FPROBES.lock();
    if !fp.is_registered() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: as in `register_record_ips`: `fp` is alive, held by `FPROBES`.
    let ops: &'static FtraceOps = unsafe { &*ptr::from_ref(&fp.ops) };
    ops.unregister()?;
    fp.pool.store(ptr::null_mut(), Ordering::Release);
    let pool = fp.pool_owner.lock().take();
    if let Some(pool) = pool {
        InstancePool::retire(pool, &GRAVEYARD);
    }
    // The filter is heap memory of the ops; an unregistered ops' hash has no readers left.
    ops.set_filter_ips([])?;
    registered.retain(|other| !Arc::ptr_eq(other, fp));
    drop(registered);
    reap_graveyard();
    Ok(())
}

/// Pools still waiting for hooked returns (for tests: 0 once every probed call has returned).
pub fn pools_pending() -> usize {
    reap_graveyard();
    GRAVEYARD.lock().len()
}

// ---------------------------------------------------------------------------------------------
// The handlers' path
// ---------------------------------------------------------------------------------------------

/// The function-graph user fprobes hook returns for: never registered as an ftrace_ops (each
/// fprobe's own ops is the entry), only its return handler is used.
static FPROBE_GRAPH: FgraphOps =
    FgraphOps::new_with_flush(fprobe_graph_entry, fprobe_graph_return, fprobe_flush);

/// A hooked call's task was freed without returning (Linux's `rethook_flush_task()`): its
/// instance goes back to the pool, no exit handler runs. The pool is alive while the instance
/// is out (the free is the last touch).
fn fprobe_flush(data: u64) {
    // SAFETY: the data word is an `InstanceSlot` of a pool alive while the instance is out.
    let slot = unsafe { &*(data as *const InstanceSlot) };
    // SAFETY: as above.
    unsafe { slot.pool() }.free(slot);
}

/// Instances of `fp`'s pool free now (None without a pool): for tests.
pub fn fprobe_free_instances(fp: &Fprobe) -> Option<usize> {
    fp.pool_owner.lock().as_ref().map(|pool| pool.nr_free())
}

arch::noinstr! {
fn fprobe_graph_entry(_: &FtraceGraphEnt, _: &mut GraphTaskState, _: &FtraceRegs) -> bool {
    false
}
}

arch::noinstr! {
/// The callback of every fprobe's ops (Linux's `fprobe_entry` / `fprobe_handler`), IRQs
/// masked.
fn fprobe_ftrace_entry(ip: u64, _parent_ip: u64, ops: &FtraceOps, fregs: &mut FtraceRegs) {
    // SAFETY: only `Fprobe::new` builds an ops with this callback, as the first field of a
    // `#[repr(C)]` Fprobe, so the ops is that Fprobe's start.
    let fp = unsafe { &*ptr::from_ref(ops).cast::<Fprobe>() };
    let pcpu = crate::smp::this_cpu();
    let bit = ftrace_test_recursion_trylock_word(&pcpu.trace_recursion);
    if bit < 0 {
        fp.nmissed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if !fp.is_disabled() {
        fprobe_entry(fp, ip, fregs);
    }
    ftrace_test_recursion_unlock_word(&pcpu.trace_recursion, bit);
}
}

arch::noinstr! {
#[inline(always)]
fn fprobe_entry(fp: &Fprobe, ip: u64, fregs: &mut FtraceRegs) {
    let ret_ip = fregs.lr;
    if fp.exit_handler.is_none() {
        if let Some(entry) = fp.entry_handler {
            // An indirect call to the user's code under the recursion bit (what lets `noinstr`
            // code make it without an instrumentation region).
            entry(fp, ip, ret_ip, fregs, &mut []);
        }
        return;
    }
    let Some(pool) = fp.live_pool() else {
        return;
    };
    let Some(slot) = pool.alloc() else {
        fp.nmissed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    slot.ext.entry_ip.store(ip, Ordering::Relaxed);
    slot.ext.ret_ip.store(ret_ip, Ordering::Relaxed);
    if let Some(entry) = fp.entry_handler {
        // SAFETY: `slot` was just taken and is ours until freed.
        let data = unsafe { pool.data(slot) };
        // The user's code, under the recursion bit, as above.
        if entry(fp, ip, ret_ip, fregs, data) {
            pool.free(slot);
            return;
        }
    }
    if !function_graph_hook_return(
        &FPROBE_GRAPH,
        ip,
        fregs.sp,
        fregs.fp,
        &mut fregs.lr,
        ptr::from_ref(slot) as u64,
    ) {
        pool.free(slot);
        fp.nmissed.fetch_add(1, Ordering::Relaxed);
    }
}
}

arch::noinstr! {
/// The return of a call an fprobe hooked (Linux's `fprobe_return`), from
/// `ftrace_return_to_handler` with IRQs masked and the recursion bit held.
fn fprobe_graph_return(ret: &FtraceGraphRet, _: &mut GraphTaskState, regs: &FgraphRetRegs) {
    // SAFETY: the data word is an `InstanceSlot` of a pool that stays alive while one of its
    // instances is out (its fprobe's `pool_owner`, then the graveyard, keep it).
    let slot = unsafe { &*(ret.data as *const InstanceSlot) };
    // SAFETY: as above, the pool is alive while this instance is out.
    let pool = unsafe { slot.pool() };
    // SAFETY: the owner is cleared before the grace period that ends its registration.
    if let Some(fp) = unsafe { pool.owner.load(Ordering::Acquire).as_ref() }
        && !fp.is_disabled()
        && let Some(exit) = fp.exit_handler
    {
        let entry_ip = slot.ext.entry_ip.load(Ordering::Relaxed);
        let ret_ip = slot.ext.ret_ip.load(Ordering::Relaxed);
        // SAFETY: the slot belongs to this hooked call until it is freed below.
        let data = unsafe { pool.data(slot) };
        // An indirect call to the user's code under the recursion bit, as at the entry.
        exit(fp, entry_ip, ret_ip, regs, data);
    }
    pool.free(slot);
}
}
