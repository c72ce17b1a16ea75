//! The kprobe behind each kprobe event (Linux: the `struct kprobe`/`struct kretprobe` half of
//! `trace_kprobe.c`): registered, disabled, when its `kprobe_events` line is accepted
//! (`__register_trace_kprobe()`), so a line the kprobe core refuses (blacklisted, not an
//! instruction, not a function's entry for `r`) fails at once with the core's error; armed
//! while its event is enabled (`enable_trace_kprobe()`, reached through the event's `reg`);
//! unregistered with its line (`__unregister_trace_kprobe()`).
//!
//! The handlers are Linux's `kprobe_dispatcher()` and `kretprobe_dispatcher()`: count the hit
//! for `kprobe_profile`, run the event's fetch program on the trap frame and record through
//! the event registry. They run inside the kprobe core's handler walk, IRQs masked and this
//! CPU's control block busy, so a probe they (or the recording code below them) hit is counted
//! as missed rather than entered. They and the fetch/record path are also in the no-probe text
//! ([`arch::nokprobe!`], Linux's `NOKPROBE_SYMBOL`): a probe there is refused.
//!
//! A kretprobe event's `$argN` are saved by its entry handler into the instance's data
//! (Linux's `kretprobe_event_entry_handler()`) and read back at the return.
//!
//! The common event, whose values are all plain registers, `$argN`, `$retval` or saved
//! `$argN` ([`ProbePlan`]), skips the fetch programs: its plan, made at registration, writes
//! them straight into the reservation. When they are x0-x8 at an ftrace-site entry, or x0-x7
//! at a return, the dispatcher reads the registers ftrace or the return trampoline saved
//! (the kprobe core's [`crate::kprobes::KprobeFtraceHandler`] and
//! [`crate::kprobes::KretprobeRegsHandler`]) and no trap frame is built at all.

use alloc::sync::Arc;
use alloc::vec::Vec;

use arch::exception::TrapFrame;
use arch::ftrace::{FgraphRetRegs, FtraceRegs};
use spin::Mutex;

use super::TraceKprobe;
use crate::fs::Errno;
use crate::kprobes::{
    Kprobe, Kretprobe, KretprobeInstance, disable_kprobe, disable_kretprobe, enable_kprobe,
    enable_kretprobe, register_kprobe, register_kretprobe, unregister_kprobe, unregister_kretprobe,
};
use crate::trace::ring_buffer::BUF_MAX_DATA_SIZE;
use crate::trace::trace_dynevent::{DynEvent, trace_probe_record, trace_probe_record_plan};
use crate::trace::trace_events::TraceEventCall;
use crate::trace::trace_probe::{ProbePlan, TrapFrameCtx};

/// What a probe's handlers need: the event's definition and its registry entry.
struct EventProbe {
    /// Always a [`DynEvent::Kprobe`].
    ev: Arc<DynEvent>,
    call: &'static TraceEventCall,
    /// The arguments' plan when they are all plain registers or saved words: a hit then
    /// writes them without the fetch programs.
    plan: Option<ProbePlan>,
}

impl EventProbe {
    /// The event probe a dispatcher of this file was called for: they are attached only by
    /// [`register_trace_kprobe`], always with an `EventProbe` as the probe's data.
    #[inline(always)]
    fn of(kp: &Kprobe) -> Option<&EventProbe> {
        // SAFETY: see above; only this file's dispatchers call this, with their probe.
        unsafe { kp.data_unchecked::<EventProbe>() }
    }

    /// [`Self::of`] for a kretprobe's handlers.
    #[inline(always)]
    fn of_ret(rp: &Kretprobe) -> Option<&EventProbe> {
        // SAFETY: as in `of`.
        unsafe { rp.data_unchecked::<EventProbe>() }
    }

    #[inline(always)]
    fn tk(&self) -> Option<&TraceKprobe> {
        match &*self.ev {
            DynEvent::Kprobe(tk) => Some(tk),
            DynEvent::Fprobe(_) => None,
        }
    }
}

/// The kernel probe of one kprobe event line.
enum Handle {
    Kprobe(Arc<Kprobe>),
    Kretprobe(Arc<Kretprobe>),
}

impl Handle {
    fn set_enabled(&self, on: bool) -> Result<(), Errno> {
        match (self, on) {
            (Self::Kprobe(kp), true) => enable_kprobe(kp),
            (Self::Kprobe(kp), false) => disable_kprobe(kp),
            (Self::Kretprobe(rp), true) => enable_kretprobe(rp),
            (Self::Kretprobe(rp), false) => disable_kretprobe(rp),
        }
    }

    /// Linux's `trace_kprobe_nmissed()`: the entry probe's misses, and a kretprobe's calls
    /// without a free instance.
    fn nmissed(&self) -> u64 {
        match self {
            Self::Kprobe(kp) => kp.nmissed(),
            Self::Kretprobe(rp) => rp.kprobe().nmissed() + rp.nmissed(),
        }
    }

    fn unregister(&self) {
        let result = match self {
            Self::Kprobe(kp) => unregister_kprobe(kp),
            Self::Kretprobe(rp) => unregister_kretprobe(rp),
        };
        if let Err(e) = result {
            crate::println!("trace_kprobe: cannot unregister a probe: {e:?}");
        }
    }
}

/// One registered line: its definition (by address, the list's `Arc` keeps it there), its
/// event and its probe.
struct Registered {
    tk: *const TraceKprobe,
    call: &'static TraceEventCall,
    handle: Handle,
}

// SAFETY: `tk` is only compared, never dereferenced.
unsafe impl Send for Registered {}

/// Every kprobe event line's probe, changed under the event mutex (and so under the list's
/// lock order: event mutex, list, this).
static PROBES: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

fn tk_of(ev: &DynEvent) -> Option<&TraceKprobe> {
    match ev {
        DynEvent::Kprobe(tk) => Some(tk),
        DynEvent::Fprobe(_) => None,
    }
}

/// Linux's `__register_trace_kprobe()`: registers the probe of `ev` (a kprobe line) for the
/// event `call`, armed now only if `enabled` (it joins an enabled event). The kprobe core's
/// errors come back as they are (ENOENT, EINVAL, EILSEQ, ENOMEM, ...).
pub fn register_trace_kprobe(
    ev: &Arc<DynEvent>,
    call: &'static TraceEventCall,
    enabled: bool,
) -> Result<(), Errno> {
    let tk = tk_of(ev).ok_or(Errno::EINVAL)?;
    let mut probes = PROBES.lock();
    probes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let plan = tk.tp.simple_plan(tk.ptype(), BUF_MAX_DATA_SIZE);
    // A return whose values all come from x0-x7 (what the return trampoline saves) needs no
    // frame built.
    let regs_only = plan.as_ref().is_some_and(|p| p.nregs <= 8);
    // An entry whose values come from x0-x8 (what ftrace saves) reads them there when the
    // probe is on an ftrace site.
    let fregs_only = plan.as_ref().is_some_and(|p| p.nregs <= 9);
    let data = EventProbe {
        ev: Arc::clone(ev),
        call,
        plan,
    };
    let handle = if tk.is_return {
        let rp = match &tk.symbol {
            Some(s) => Kretprobe::at_symbol(s, u64::from(tk.offset))?,
            None => Kretprobe::at_addr(tk.addr)?,
        };
        let rp = if regs_only {
            rp.with_regs_handler(kretprobe_regs_dispatcher)
        } else {
            rp.with_handler(kretprobe_dispatcher)
        };
        let mut rp = rp.with_maxactive(tk.maxactive as usize).with_data(data)?;
        if !tk.tp.entry_args.is_empty() {
            rp = rp
                .with_entry_handler(kretprobe_event_entry_handler)
                .with_data_size(tk.tp.entry_data_size());
        }
        if !enabled {
            rp = rp.disabled();
        }
        let rp = Arc::try_new(rp).map_err(|_| Errno::ENOMEM)?;
        register_kretprobe(&rp)?;
        Handle::Kretprobe(rp)
    } else {
        let kp = match &tk.symbol {
            Some(s) => Kprobe::at_symbol(s, u64::from(tk.offset))?,
            None => Kprobe::at_addr(tk.addr),
        };
        let mut kp = kp.with_pre_handler(kprobe_dispatcher);
        if fregs_only {
            kp = kp.with_ftrace_handler(kprobe_ftrace_dispatcher);
        }
        let mut kp = kp.with_data(data)?;
        if !enabled {
            kp = kp.disabled();
        }
        let kp = Arc::try_new(kp).map_err(|_| Errno::ENOMEM)?;
        register_kprobe(&kp)?;
        Handle::Kprobe(kp)
    };
    probes.push(Registered {
        tk: core::ptr::from_ref(tk),
        call,
        handle,
    });
    Ok(())
}

/// Linux's `__unregister_trace_kprobe()`: when this returns no CPU runs the line's handlers.
pub fn unregister_trace_kprobe(ev: &DynEvent) {
    let Some(tk) = tk_of(ev) else {
        return;
    };
    let mut probes = PROBES.lock();
    if let Some(i) = probes.iter().position(|r| core::ptr::eq(r.tk, tk)) {
        let r = probes.swap_remove(i);
        r.handle.unregister();
    }
}

/// Linux's `enable_trace_kprobe()` / `disable_trace_kprobe()`: arms or disarms every probe of
/// the event `call`. Enabling is all or nothing: on an error the probes armed so far are
/// disarmed again.
pub fn enable_trace_kprobe(call: &TraceEventCall, on: bool) -> Result<(), Errno> {
    let probes = PROBES.lock();
    let mine = || probes.iter().filter(|r| core::ptr::eq(r.call, call));
    if !on {
        for r in mine() {
            // Disarming cannot be refused for a registered probe; a patch error is reported
            // by the core.
            let _ = r.handle.set_enabled(false);
        }
        return Ok(());
    }
    for (i, r) in mine().enumerate() {
        if let Err(e) = r.handle.set_enabled(true) {
            for r in mine().take(i) {
                let _ = r.handle.set_enabled(false);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The misses of the line `tk` (for `kprobe_profile`).
pub fn trace_kprobe_nmissed(tk: &TraceKprobe) -> u64 {
    PROBES
        .lock()
        .iter()
        .find(|r| core::ptr::eq(r.tk, tk))
        .map_or(0, |r| r.handle.nmissed())
}

/// An instance's data as words: it is u64-aligned storage (the pool's words), so this is all
/// of it; a misaligned slice (never made) would read as no words. Cast by hand: `align_to`
/// is an out-of-line call.
#[inline(always)]
fn data_words(data: &[u8]) -> &[u64] {
    let p = data.as_ptr();
    if !p.addr().is_multiple_of(core::mem::align_of::<u64>()) {
        return &[];
    }
    // SAFETY: `p` is aligned for u64 and `len / 8` words lie inside `data`, borrowed as long.
    unsafe { core::slice::from_raw_parts(p.cast::<u64>(), data.len() / 8) }
}

/// [`data_words`], writable.
#[inline(always)]
fn data_words_mut(data: &mut [u8]) -> &mut [u64] {
    let p = data.as_mut_ptr();
    if !p.addr().is_multiple_of(core::mem::align_of::<u64>()) {
        return &mut [];
    }
    // SAFETY: as in `data_words`, exclusively borrowed.
    unsafe { core::slice::from_raw_parts_mut(p.cast::<u64>(), data.len() / 8) }
}

/// Whether the interrupted context had IRQs masked.
#[inline(always)]
fn irqs_were_off(regs: &TrapFrame) -> bool {
    regs.pstate & arch::daifflags::PSR_I_BIT != 0
}

arch::nokprobe! {
/// Linux's `kprobe_dispatcher()` with `kprobe_trace_func()`: counts the hit and records it.
fn kprobe_dispatcher(kp: &Kprobe, regs: &mut TrapFrame) -> bool {
    let Some(ep) = EventProbe::of(kp) else {
        return false;
    };
    let Some(tk) = ep.tk() else {
        return false;
    };
    tk.hits.hit();
    let irqs_off = irqs_were_off(regs);
    if let Some(plan) = &ep.plan {
        trace_probe_record_plan(ep.call, plan, &[kp.addr()], &regs.regs, &[], irqs_off);
        return false;
    }
    let ctx = TrapFrameCtx::new(regs, &[], None);
    trace_probe_record(
        ep.call,
        &tk.tp,
        tk.ptype(),
        &[kp.addr()],
        &ctx,
        irqs_off,
    );
    false
}
}

arch::nokprobe! {
/// Linux's `kretprobe_event_entry_handler()`: saves the `$argN` the return reads.
fn kretprobe_event_entry_handler(ri: &mut KretprobeInstance<'_>, regs: &mut TrapFrame) -> bool {
    let Some(tk) = EventProbe::of_ret(ri.kretprobe()).and_then(EventProbe::tk) else {
        return false;
    };
    tk.tp.store_entry_regs(&regs.regs, data_words_mut(ri.data_mut()));
    false
}
}

arch::nokprobe! {
/// Linux's `kretprobe_dispatcher()` with `kretprobe_trace_func()`: counts the hit and records
/// the function, the real return address and the arguments.
fn kretprobe_dispatcher(ri: &mut KretprobeInstance<'_>, regs: &TrapFrame) {
    let rp = ri.kretprobe();
    let Some(ep) = EventProbe::of_ret(rp) else {
        return;
    };
    let Some(tk) = ep.tk() else {
        return;
    };
    tk.hits.hit();
    let func = rp.kprobe().addr();
    let ret_ip = ri.ret_addr();
    let words = if tk.tp.entry_args.is_empty() {
        &[]
    } else {
        data_words(ri.data())
    };
    let irqs_off = irqs_were_off(regs);
    if let Some(plan) = &ep.plan {
        trace_probe_record_plan(ep.call, plan, &[func, ret_ip], &regs.regs, words, irqs_off);
        return;
    }
    let ctx = TrapFrameCtx::new(regs, words, Some(arch::ftrace::return_to_handler_addr()));
    trace_probe_record(
        ep.call,
        &tk.tp,
        tk.ptype(),
        &[func, ret_ip],
        &ctx,
        irqs_off,
    );
}
}

arch::nokprobe! {
/// [`kretprobe_dispatcher`] for an event with a plan reading x0-x7 only: the values straight
/// from the registers the return trampoline saved.
fn kretprobe_regs_dispatcher(ri: &mut KretprobeInstance<'_>, regs: &FgraphRetRegs) {
    let rp = ri.kretprobe();
    let Some(ep) = EventProbe::of_ret(rp) else {
        return;
    };
    let (Some(tk), Some(plan)) = (ep.tk(), &ep.plan) else {
        return;
    };
    tk.hits.hit();
    let func = rp.kprobe().addr();
    let ret_ip = ri.ret_addr();
    let words = if tk.tp.entry_args.is_empty() {
        &[]
    } else {
        data_words(ri.data())
    };
    trace_probe_record_plan(
        ep.call,
        plan,
        &[func, ret_ip],
        &regs.regs,
        words,
        regs.irqs_disabled(),
    );
}
}

arch::nokprobe! {
/// [`kprobe_dispatcher`] on an ftrace site for an event with a plan reading x0-x8 only: the
/// values straight from the registers ftrace saved.
fn kprobe_ftrace_dispatcher(kp: &Kprobe, fregs: &mut FtraceRegs) {
    let Some(ep) = EventProbe::of(kp) else {
        return;
    };
    let (Some(tk), Some(plan)) = (ep.tk(), &ep.plan) else {
        return;
    };
    tk.hits.hit();
    trace_probe_record_plan(
        ep.call,
        plan,
        &[kp.addr()],
        &fregs.regs,
        &[],
        fregs.irqs_disabled(),
    );
}
}
