//! The `ftrace_ops` API (Linux: `kernel/trace/ftrace.c`): callbacks registered on kernel
//! functions through the patch sites of [`super::ftrace`], with per-ops filter and notrace
//! hashes, Linux's ops flags, the `ftrace_enabled` switch and the recursion helpers.
//!
//! How a call reaches a callback: an enabled site branches to `ftrace_caller`
//! ([`arch::ftrace`]), which reads the site's literal (the only ops wanting the site, or
//! [`FTRACE_LIST_OPS`]) and calls [`ftrace_dispatch`] with IRQs masked. Nothing on that path
//! takes a lock or allocates.
//!
//! Updates (register, unregister, filter changes, `ftrace_enabled`) run under [`FTRACE_LOCK`]:
//! the planner ([`super::ftrace_plan`]) computes every site's new state, and all the words that
//! change go out in one `patch_text_batch` (one stop-machine rendezvous). Data the call path
//! reads without a lock (the registered-ops list and each ops' hashes) is replaced by swapping
//! a pointer and freed only after a further rendezvous: callbacks run with IRQs masked, so once
//! every CPU has taken the rendezvous interrupt none is still using the old copy (this is our
//! `synchronize_rcu_tasks`). The same argument gives [`FtraceOps::unregister`] its guarantee.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use arch::ftrace::{FtraceRegs, ftrace_caller_addr};
use arch::patching::{TextPatch, patch_text_batch};
use spin::Mutex;

use super::ftrace::records;
use super::ftrace_plan::{
    FtraceHash, OpsView, PlanError, SiteState, ops_wants, plan, site_changes,
};
use crate::fs::Errno;
use crate::glob::Pattern;

pub use super::ftrace_plan::{
    FTRACE_FL_CALL_OPS, FTRACE_FL_ENABLED, FTRACE_FL_IPMODIFY, FTRACE_FL_REGS,
    FTRACE_OPS_FL_ENABLED, FTRACE_OPS_FL_IPMODIFY, FTRACE_OPS_FL_PERMANENT,
    FTRACE_OPS_FL_RECURSION, FTRACE_OPS_FL_SAVE_REGS, FTRACE_REF_MAX,
};

/// A callback: the record ip (the site's `bl`, function + 4), the caller's return address, the
/// ops, and the saved registers.
pub type FtraceFunc = fn(ip: u64, parent_ip: u64, ops: &FtraceOps, regs: &mut FtraceRegs);

/// One set of callbacks on a set of functions (Linux: `struct ftrace_ops`). Lives in a
/// `static`: sites and the call path refer to it by address.
pub struct FtraceOps {
    func: FtraceFunc,
    flags: u32,
    /// `FTRACE_OPS_FL_ENABLED` while registered.
    state: AtomicU32,
    /// Published hashes (null = empty): the filter (empty = every function) and notrace.
    filter: AtomicPtr<FtraceHash>,
    notrace: AtomicPtr<FtraceHash>,
}

impl FtraceOps {
    /// An ops with `FTRACE_OPS_FL_*` `flags` (SAVE_REGS, IPMODIFY, RECURSION, PERMANENT).
    pub const fn new(func: FtraceFunc, flags: u32) -> FtraceOps {
        FtraceOps {
            func,
            flags,
            state: AtomicU32::new(0),
            filter: AtomicPtr::new(ptr::null_mut()),
            notrace: AtomicPtr::new(ptr::null_mut()),
        }
    }

    pub fn flags(&self) -> u32 {
        self.flags | self.state.load(Ordering::Relaxed)
    }

    pub fn is_enabled(&self) -> bool {
        self.state.load(Ordering::Acquire) & FTRACE_OPS_FL_ENABLED != 0
    }

    fn addr(&self) -> u64 {
        self as *const FtraceOps as u64
    }

    /// Starts calling the callback on every function the hashes select (Linux:
    /// `register_ftrace_function`). EBUSY if already registered, if PERMANENT while
    /// `ftrace_enabled` is off, or if IPMODIFY and another IPMODIFY ops wants one of its
    /// functions.
    pub fn register(&'static self) -> Result<(), Errno> {
        let mut core = FTRACE_LOCK.lock();
        if self.is_enabled()
            || (self.flags & FTRACE_OPS_FL_PERMANENT != 0
                && !FTRACE_ENABLED.load(Ordering::Relaxed))
        {
            return Err(Errno::EBUSY);
        }
        let mut ops = core.ops.clone();
        ops.push(self);
        core.update(ops, None)?;
        self.state.store(FTRACE_OPS_FL_ENABLED, Ordering::Release);
        Ok(())
    }

    /// Stops the callback (Linux: `unregister_ftrace_function`). When this returns no CPU is
    /// running the callback or can still enter it. EINVAL if not registered.
    pub fn unregister(&'static self) -> Result<(), Errno> {
        let mut core = FTRACE_LOCK.lock();
        if !self.is_enabled() {
            return Err(Errno::EINVAL);
        }
        let ops = core
            .ops
            .iter()
            .copied()
            .filter(|op| !ptr::eq(*op, self))
            .collect();
        core.update(ops, None)?;
        self.state.store(0, Ordering::Release);
        Ok(())
    }

    /// Linux's `ftrace_set_filter`: adds the functions matching `glob` (`!glob` removes them)
    /// to the filter, after emptying it first if `reset`. An empty filter traces every
    /// function. A glob that matches no function is EINVAL and changes nothing.
    pub fn set_filter(&'static self, glob: &str, reset: bool) -> Result<(), Errno> {
        self.set_hash(HashKind::Filter, glob, reset)
    }

    /// Linux's `ftrace_set_notrace`: as [`set_filter`](Self::set_filter), for the functions
    /// never to trace; it takes precedence over the filter.
    pub fn set_notrace(&'static self, glob: &str, reset: bool) -> Result<(), Errno> {
        self.set_hash(HashKind::Notrace, glob, reset)
    }

    /// Linux's `ftrace_set_filter_ip`: adds (or with `remove`, removes) the function at `ip`
    /// (its address or its record ip). EINVAL if it has no patch site.
    pub fn set_filter_ip(&'static self, ip: u64, remove: bool, reset: bool) -> Result<(), Errno> {
        let rec = records()
            .iter()
            .find(|rec| rec.ip == ip || rec.func() == ip)
            .ok_or(Errno::EINVAL)?;
        let mut core = FTRACE_LOCK.lock();
        let mut hash = self.hash_copy(HashKind::Filter, reset);
        edit_hash(&mut hash, rec.ip, remove);
        core.publish_hash(self, HashKind::Filter, hash)
    }

    /// Replaces the filter with exactly the records at `ips` (record ips), in one step: what a
    /// write to `set_ftrace_filter` resolved to. EINVAL, changing nothing, if one is not a
    /// record's ip.
    pub fn set_filter_ips(&'static self, ips: impl IntoIterator<Item = u64>) -> Result<(), Errno> {
        self.replace_hash(HashKind::Filter, ips)
    }

    /// As [`set_filter_ips`](Self::set_filter_ips), for the notrace hash.
    pub fn set_notrace_ips(&'static self, ips: impl IntoIterator<Item = u64>) -> Result<(), Errno> {
        self.replace_hash(HashKind::Notrace, ips)
    }

    fn replace_hash(
        &'static self,
        kind: HashKind,
        ips: impl IntoIterator<Item = u64>,
    ) -> Result<(), Errno> {
        let mut hash: FtraceHash = ips.into_iter().collect();
        hash.sort_unstable();
        hash.dedup();
        let recs = records();
        if !hash
            .iter()
            .all(|ip| recs.binary_search_by_key(ip, |rec| rec.ip).is_ok())
        {
            return Err(Errno::EINVAL);
        }
        let mut core = FTRACE_LOCK.lock();
        core.publish_hash(self, kind, hash)
    }

    fn set_hash(&'static self, kind: HashKind, glob: &str, reset: bool) -> Result<(), Errno> {
        let (remove, pattern) = match glob.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, glob),
        };
        let mut core = FTRACE_LOCK.lock();
        let mut hash = self.hash_copy(kind, reset);
        if !pattern.is_empty() {
            let matched = matching_ips(pattern);
            if matched.is_empty() {
                return Err(Errno::EINVAL);
            }
            for ip in matched {
                edit_hash(&mut hash, ip, remove);
            }
        }
        core.publish_hash(self, kind, hash)
    }

    fn hash_ptr(&self, kind: HashKind) -> &AtomicPtr<FtraceHash> {
        match kind {
            HashKind::Filter => &self.filter,
            HashKind::Notrace => &self.notrace,
        }
    }

    /// The published hash of `kind`, or an empty one if `reset`.
    fn hash_copy(&self, kind: HashKind, reset: bool) -> FtraceHash {
        if reset {
            return Vec::new();
        }
        hash_slice(self.hash_ptr(kind).load(Ordering::Acquire)).to_vec()
    }

    /// Does this ops want the record at `ip`, by its published hashes?
    #[inline(always)]
    fn wants(&self, ip: u64) -> bool {
        let filter = hash_slice(self.filter.load(Ordering::Acquire));
        let notrace = hash_slice(self.notrace.load(Ordering::Acquire));
        ops_wants(filter, notrace, ip)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HashKind {
    Filter,
    Notrace,
}

/// A published hash as a slice; null is the empty hash.
#[inline(always)]
fn hash_slice<'a>(hash: *const FtraceHash) -> &'a [u64] {
    if hash.is_null() {
        return &[];
    }
    // SAFETY: non-null hash pointers come from `Box::into_raw` in `publish_hash` and are freed
    // only after a rendezvous that follows their replacement: a reader (IRQs masked, or holding
    // FTRACE_LOCK) cannot see one freed under it.
    unsafe { (*hash).as_slice() }
}

fn edit_hash(hash: &mut FtraceHash, ip: u64, remove: bool) {
    match (hash.binary_search(&ip), remove) {
        (Err(at), false) => hash.insert(at, ip),
        (Ok(at), true) => {
            hash.remove(at);
        }
        _ => {}
    }
}

/// The record ips whose function name matches `glob` (Linux: `ftrace_match_records`).
fn matching_ips(glob: &str) -> Vec<u64> {
    let pattern = Pattern::parse(glob);
    let table = crate::symbols::functions();
    records()
        .iter()
        .filter(|rec| {
            table
                .lookup(rec.func())
                .is_some_and(|sym| sym.addr == rec.func() && pattern.matches(sym.name))
        })
        .map(|rec| rec.ip)
        .collect()
}

/// The sites' state and the registered ops; everything an update reads or changes.
struct FtraceCore {
    sites: Vec<SiteState>,
    ops: Vec<&'static FtraceOps>,
}

/// Linux's `ftrace_lock`: serialises every update.
static FTRACE_LOCK: Mutex<FtraceCore> = Mutex::new(FtraceCore {
    sites: Vec::new(),
    ops: Vec::new(),
});

/// The registered ops as the list callback walks them (a boxed slice; null = none).
static FTRACE_OPS_LIST: AtomicPtr<Vec<&'static FtraceOps>> = AtomicPtr::new(ptr::null_mut());

/// Linux's `ftrace_enabled` sysctl.
static FTRACE_ENABLED: AtomicBool = AtomicBool::new(true);

/// What sites wanted by more than one ops call: it walks every registered ops (Linux:
/// `ftrace_list_ops` / `ftrace_ops_list_func`).
pub static FTRACE_LIST_OPS: FtraceOps = FtraceOps::new(ftrace_ops_list_func, 0);

/// One pending hash change, used by the planner before it is published.
struct PendingHash<'a> {
    ops: &'static FtraceOps,
    kind: HashKind,
    hash: &'a [u64],
}

impl FtraceCore {
    /// Plans and patches every site for the ops set `ops` (with `pending` applied), publishes
    /// the new list before the patch (a site may turn to the list callback) and waits out the
    /// readers of the old one.
    fn update(
        &mut self,
        ops: Vec<&'static FtraceOps>,
        pending: Option<&PendingHash<'_>>,
    ) -> Result<(), Errno> {
        let new_sites = self.plan_for(&ops, pending)?;
        let old_list = FTRACE_OPS_LIST.swap(Box::into_raw(Box::new(ops.clone())), Ordering::AcqRel);
        if let Err(e) = self.patch_to(new_sites) {
            let ours = FTRACE_OPS_LIST.swap(old_list, Ordering::AcqRel);
            crate::stop_machine::synchronize();
            drop_list(ours);
            return Err(e);
        }
        self.ops = ops;
        crate::stop_machine::synchronize();
        drop_list(old_list);
        Ok(())
    }

    fn plan_for(
        &mut self,
        ops: &[&'static FtraceOps],
        pending: Option<&PendingHash<'_>>,
    ) -> Result<Vec<SiteState>, Errno> {
        let recs = records();
        if self.sites.len() != recs.len() {
            self.sites = alloc::vec![SiteState::BOOT; recs.len()];
        }
        let views: Vec<OpsView<'_>> = ops.iter().map(|op| view(op, pending)).collect();
        let ips: Vec<u64> = recs.iter().map(|rec| rec.ip).collect();
        let enabled = FTRACE_ENABLED.load(Ordering::Relaxed);
        plan(&ips, &self.sites, &views, enabled, FTRACE_LIST_OPS.addr()).map_err(|e| match e {
            PlanError::IpmodifyConflict { .. } | PlanError::TooManyRefs { .. } => Errno::EBUSY,
        })
    }

    /// Writes every changed word in one batch and records the new state.
    fn patch_to(&mut self, new_sites: Vec<SiteState>) -> Result<(), Errno> {
        let caller = ftrace_caller_addr();
        let mut changes = Vec::new();
        for ((rec, &old), &new) in records().iter().zip(&self.sites).zip(&new_sites) {
            site_changes(rec.ip, old, new, caller, &mut changes).map_err(|_| Errno::EINVAL)?;
        }
        let batch: Vec<TextPatch> = changes
            .iter()
            .map(|c| TextPatch {
                addr: c.addr,
                old: c.old,
                new: c.new,
            })
            .collect();
        if !batch.is_empty() {
            patch_text_batch(&batch).map_err(|_| Errno::EIO)?;
        }
        self.sites = new_sites;
        Ok(())
    }

    /// Replaces a hash of `op`: when registered, the sites are patched with the new hash first
    /// and it is published after, so no call ever sees a state that was never asked for.
    fn publish_hash(
        &mut self,
        op: &'static FtraceOps,
        kind: HashKind,
        hash: FtraceHash,
    ) -> Result<(), Errno> {
        if op.is_enabled() {
            let pending = PendingHash {
                ops: op,
                kind,
                hash: &hash,
            };
            let ops = self.ops.clone();
            let new_sites = self.plan_for(&ops, Some(&pending))?;
            self.patch_to(new_sites)?;
        }
        let new = if hash.is_empty() {
            ptr::null_mut()
        } else {
            Box::into_raw(Box::new(hash))
        };
        let old = op.hash_ptr(kind).swap(new, Ordering::AcqRel);
        if !old.is_null() {
            crate::stop_machine::synchronize();
            // SAFETY: `old` came from `Box::into_raw` here; it is unpublished and, after the
            // rendezvous, no reader still holds it.
            drop(unsafe { Box::from_raw(old) });
        }
        Ok(())
    }
}

/// An ops' hashes for the planner, with `pending` in place of the published one it replaces.
fn view<'a>(op: &'static FtraceOps, pending: Option<&PendingHash<'a>>) -> OpsView<'a> {
    let pick = |kind: HashKind| match pending {
        Some(p) if ptr::eq(p.ops, op) && p.kind == kind => p.hash,
        _ => hash_slice(op.hash_ptr(kind).load(Ordering::Acquire)),
    };
    OpsView {
        addr: op.addr(),
        flags: op.flags,
        filter: pick(HashKind::Filter),
        notrace: pick(HashKind::Notrace),
    }
}

fn drop_list(list: *mut Vec<&'static FtraceOps>) {
    if !list.is_null() {
        // SAFETY: every list pointer comes from `Box::into_raw` in `update`, is dropped once
        // after being unpublished, and after a rendezvous (no walker holds it).
        drop(unsafe { Box::from_raw(list) });
    }
}

/// Linux's `ftrace_enabled` sysctl write: off disables every site but keeps the ops
/// registered; EBUSY while a PERMANENT ops is registered.
pub fn set_ftrace_enabled(enabled: bool) -> Result<(), Errno> {
    let mut core = FTRACE_LOCK.lock();
    if !enabled
        && core
            .ops
            .iter()
            .any(|op| op.flags & FTRACE_OPS_FL_PERMANENT != 0)
    {
        return Err(Errno::EBUSY);
    }
    let was = FTRACE_ENABLED.swap(enabled, Ordering::Relaxed);
    let ops = core.ops.clone();
    core.update(ops, None)
        .inspect_err(|_| FTRACE_ENABLED.store(was, Ordering::Relaxed))
}

pub fn ftrace_enabled() -> bool {
    FTRACE_ENABLED.load(Ordering::Relaxed)
}

/// Every site's `dyn_ftrace.flags` (record order), for `enabled_functions` and tests.
pub fn record_flags() -> Vec<u32> {
    let core = FTRACE_LOCK.lock();
    if core.sites.is_empty() {
        return alloc::vec![0; records().len()];
    }
    core.sites.iter().map(|s| s.flags).collect()
}

/// One site `enabled_functions` lists: one some ops want.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnabledSite {
    /// The traced function's address.
    pub func: u64,
    /// Its `dyn_ftrace.flags`.
    pub flags: u32,
    /// With `FTRACE_FL_CALL_OPS`: the ops the site calls directly.
    pub call_ops: Option<CallOps>,
}

/// The ops a CALL_OPS site calls directly, as addresses to print with `%pS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallOps {
    /// The `FtraceOps` itself (Linux prints the ops symbol: `global_ops+0x0/0xd8`).
    pub ops: u64,
    /// Its callback.
    pub func: u64,
}

/// Every site with `FTRACE_FL_ENABLED`, in record order (Linux's `enabled_functions`).
pub fn enabled_sites() -> Vec<EnabledSite> {
    let core = FTRACE_LOCK.lock();
    core.sites
        .iter()
        .zip(records())
        .filter(|(site, _)| site.flags & FTRACE_FL_ENABLED != 0)
        .map(|(site, rec)| {
            let direct =
                site.flags & FTRACE_FL_CALL_OPS != 0 && site.literal != FTRACE_LIST_OPS.addr();
            let call_ops = direct.then(|| {
                // SAFETY: a CALL_OPS site's literal is the address of the registered (static)
                // ops it calls, published under FTRACE_LOCK, which is held.
                let ops = unsafe { &*(site.literal as *const FtraceOps) };
                CallOps {
                    ops: site.literal,
                    func: ops.func as usize as u64,
                }
            });
            EnabledSite {
                func: rec.func(),
                flags: site.flags,
                call_ops,
            }
        })
        .collect()
}

/// Taken by [`ftrace_test_recursion_trylock`] for callbacks that guard themselves (Linux's
/// `TRACE_FTRACE_BIT` family; the word is per CPU, `PerCpu::trace_recursion`).
const TRACE_FTRACE_BIT: i32 = 0;
/// Taken by the framework: the list walk and RECURSION ops' calls.
const TRACE_LIST_BIT: i32 = 1;

/// This CPU's recursion bits. Callbacks run with IRQs masked, so on one CPU only a callback's
/// own calls can nest inside it.
#[inline(always)]
fn recursion_word() -> &'static AtomicU32 {
    &crate::smp::this_cpu().trace_recursion
}

arch::noinstr! {
#[inline(always)]
fn recursion_trylock(bit: i32) -> i32 {
    recursion_trylock_word(recursion_word(), bit)
}
}

arch::noinstr! {
#[inline(always)]
fn recursion_trylock_word(word: &AtomicU32, bit: i32) -> i32 {
    let val = word.load(Ordering::Relaxed);
    if val & (1 << bit) != 0 {
        return -1;
    }
    word.store(val | (1 << bit), Ordering::Relaxed);
    bit
}
}

arch::noinstr! {
#[inline(always)]
fn recursion_unlock(bit: i32) {
    recursion_unlock_word(recursion_word(), bit);
}
}

arch::noinstr! {
#[inline(always)]
fn recursion_unlock_word(word: &AtomicU32, bit: i32) {
    word.store(word.load(Ordering::Relaxed) & !(1 << bit), Ordering::Relaxed);
}
}

arch::noinstr! {
/// [`ftrace_test_recursion_trylock`] on this CPU's recursion word (`PerCpu::trace_recursion`)
/// that the caller already holds, which spares a hot path another per-CPU lookup.
#[inline(always)]
pub fn ftrace_test_recursion_trylock_word(word: &AtomicU32) -> i32 {
    recursion_trylock_word(word, TRACE_FTRACE_BIT)
}
}

arch::noinstr! {
/// Releases what [`ftrace_test_recursion_trylock_word`] took.
#[inline(always)]
pub fn ftrace_test_recursion_unlock_word(word: &AtomicU32, bit: i32) {
    if bit >= 0 {
        recursion_unlock_word(word, bit);
    }
}
}

arch::noinstr! {
/// For callbacks without RECURSION: returns a bit to pass to [`ftrace_test_recursion_unlock`],
/// or a negative value when this CPU is already inside a guarded callback (then return at
/// once).
#[inline(always)]
pub fn ftrace_test_recursion_trylock() -> i32 {
    recursion_trylock(TRACE_FTRACE_BIT)
}
}

arch::noinstr! {
/// Releases what [`ftrace_test_recursion_trylock`] took.
#[inline(always)]
pub fn ftrace_test_recursion_unlock(bit: i32) {
    if bit >= 0 {
        recursion_unlock(bit);
    }
}
}

arch::noinstr! {
/// Called by `ftrace_caller` with the site's literal, IRQs masked.
#[unsafe(no_mangle)]
extern "C" fn ftrace_dispatch(ip: u64, parent_ip: u64, ops: &FtraceOps, regs: &mut FtraceRegs) {
    if ops.flags & FTRACE_OPS_FL_RECURSION == 0 {
        (ops.func)(ip, parent_ip, ops, regs);
    } else {
        dispatch_guarded(ip, parent_ip, ops, regs);
    }
}
}

arch::noinstr! {
/// [`ftrace_dispatch`] for a RECURSION ops: the framework takes the recursion bit. Out of line,
/// so the direct call of the common case needs no stack frame.
#[inline(never)]
fn dispatch_guarded(ip: u64, parent_ip: u64, ops: &FtraceOps, regs: &mut FtraceRegs) {
    let bit = recursion_trylock(TRACE_LIST_BIT);
    if bit >= 0 {
        (ops.func)(ip, parent_ip, ops, regs);
        recursion_unlock(bit);
    }
}
}

arch::noinstr! {
/// Calls every registered ops that wants `ip`, under the framework's recursion bit.
fn ftrace_ops_list_func(ip: u64, parent_ip: u64, _list: &FtraceOps, regs: &mut FtraceRegs) {
    let bit = recursion_trylock(TRACE_LIST_BIT);
    if bit < 0 {
        return;
    }
    let list = FTRACE_OPS_LIST.load(Ordering::Acquire);
    if !list.is_null() {
        // SAFETY: published lists are freed only after a rendezvous that follows their
        // replacement, and this runs with IRQs masked.
        let list = unsafe { &*list };
        let mut i = 0;
        while i < list.len() {
            let op = list[i];
            if op.wants(ip) {
                (op.func)(ip, parent_ip, op, regs);
            }
            i += 1;
        }
    }
    recursion_unlock(bit);
}
}
