//! Fprobe events (Linux 6.12: `kernel/trace/trace_fprobe.c`): the `f` definitions of
//! `dynamic_events`, their listing, layout and printer. An fprobe event hooks a function's entry
//! or, with `%return` (or a `$retval` argument), its exit, through ftrace; the fprobe mechanism
//! itself is `fprobe`'s job.
//!
//! ```text
//! f[:[GRP/][EVENT]] SYM [FETCHARGS]                 function entry
//! f[MAXACTIVE][:[GRP/][EVENT]] SYM%return [ARGS]    function exit
//! ```
//!
//! Registers cannot be fetched (Linux's rule for fprobes); `$argN`, `$stack`, memory and the
//! rest can. Tracepoint probes (`t`) are not supported: such a line is not an fprobe
//! definition, so the write fails with `EINVAL` as an unknown command.

use alloc::string::String;
use core::fmt::{self, Write};

use super::trace_probe::{
    ProbeError, ProbeLog, ProbePrintType, Symbolizer, TpErr, TraceProbe, check_meta_args, flags,
    match_command_args, parse_args, parse_event_name, parse_maxactive, sanitize_event_name,
    try_string, with_pending,
};

/// The group of fprobe events without one.
pub const FPROBE_EVENT_SYSTEM: &str = "fprobes";
/// The largest `MAXACTIVE` of an exit probe.
pub const RETHOOK_MAXACTIVE_MAX: u32 = 4096;
/// What `error_log` names as the place of fprobe errors.
pub const SUBSYSTEM: &str = "trace_fprobe";

/// A parsed fprobe event (Linux's `struct trace_fprobe` without its fprobe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceFprobe {
    pub group: String,
    pub event: String,
    /// The probed function.
    pub symbol: String,
    pub maxactive: u32,
    pub is_return: bool,
    pub tp: TraceProbe,
}

/// Whether an argument uses `$retval` (not `$retvalX`), which makes the probe an exit probe.
fn uses_retval(arg: &str) -> bool {
    arg.find("$retval").is_some_and(|at| {
        arg.as_bytes()
            .get(at + 7)
            .is_none_or(|&c| !c.is_ascii_alphanumeric() && c != b'_')
    })
}

/// Parses an `f` definition (Linux's `__trace_fprobe_create()`); `Ok(None)` when the words are
/// not one (Linux's `-ECANCELED`). The function is looked up when the probe is registered.
pub fn parse_fprobe(argv: &[&str]) -> Result<Option<TraceFprobe>, ProbeError> {
    if argv.first().is_none_or(|a| !a.starts_with('f')) || argv.len() < 2 {
        return Ok(None);
    }
    let mut log = ProbeLog::new(SUBSYSTEM, argv);
    let argv0 = argv[0];
    let event_at = argv0[1..].find(':').map(|i| i + 2);
    let mut maxactive = 0;
    if argv0.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
        maxactive = parse_maxactive(argv0, event_at, &log)?;
        if maxactive > RETHOOK_MAXACTIVE_MAX {
            return Err(log.inval(TpErr::MAXACT_TOO_BIG, 1));
        }
    }
    log.set_index(1);
    let (symbol, is_return) = match argv[1].find('%') {
        Some(at) if &argv[1][at..] != "%return" => {
            return Err(log.inval(TpErr::BAD_ADDR_SUFFIX, at));
        }
        Some(at) => (&argv[1][..at], true),
        None => (argv[1], argv[2..].iter().any(|a| uses_retval(a))),
    };
    if !is_return && maxactive != 0 {
        log.set_index(0);
        return Err(log.inval(TpErr::BAD_MAXACT_TYPE, 1));
    }
    log.set_index(0);
    let mut group = FPROBE_EVENT_SYSTEM;
    let mut event = None;
    if let Some(at) = event_at {
        let name = parse_event_name(&argv0[at..], at, &log)?;
        group = name.group.unwrap_or(group);
        event = name.event;
    }
    let event = match event {
        Some(e) => try_string(e),
        None => sanitize_event_name(&alloc::format!(
            "{symbol}__{}",
            if is_return { "exit" } else { "entry" }
        )),
    }
    .map_err(ProbeError::silent)?;
    let parse_flags = flags::KERNEL
        | flags::FPROBE
        | if is_return {
            flags::RETURN
        } else {
            flags::FENTRY
        };
    let args = &argv[2..];
    let pending = check_meta_args(args, parse_flags, &mut log)?;
    let mut tp = TraceProbe::new();
    parse_args(&mut tp, args, parse_flags, &mut log).map_err(|e| with_pending(pending, e))?;
    Ok(Some(TraceFprobe {
        group: try_string(group).map_err(ProbeError::silent)?,
        event,
        symbol: try_string(symbol).map_err(ProbeError::silent)?,
        maxactive,
        is_return,
        tp,
    }))
}

impl TraceFprobe {
    pub fn ptype(&self) -> ProbePrintType {
        ProbePrintType::of(self.is_return)
    }

    /// Its `dynamic_events` line (Linux's `trace_fprobe_show()`).
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        w.write_char('f')?;
        if self.is_return && self.maxactive != 0 {
            write!(w, "{}", self.maxactive)?;
        }
        write!(w, ":{}/{} {}", self.group, self.event, self.symbol)?;
        if self.is_return {
            w.write_str("%return")?;
        }
        self.tp.write_args_def(w)?;
        w.write_char('\n')
    }

    /// Whether a removal names it (Linux's `trace_fprobe_match()`).
    pub fn matches(&self, system: Option<&str>, event: &str, argv: &[&str]) -> bool {
        if !(event.is_empty() || self.event == event) || system.is_some_and(|s| s != self.group) {
            return false;
        }
        match argv.split_first() {
            None => true,
            Some((point, args)) => *point == self.symbol && match_command_args(&self.tp, args),
        }
    }

    /// Linux's `trace_fprobe_has_same_fprobe()`.
    pub fn same_probe(&self, other: &TraceFprobe) -> bool {
        self.symbol == other.symbol && self.tp.same_comms(&other.tp)
    }

    /// A recorded hit, after the context columns.
    pub fn print_event(
        &self,
        w: &mut dyn Write,
        entry: &[u8],
        sym: &(impl Symbolizer + ?Sized),
    ) -> fmt::Result {
        self.tp
            .print_event(w, &self.event, self.ptype(), entry, sym)
    }
}

// ---------------------------------------------------------------------------------------------
// Armed fprobe events
// ---------------------------------------------------------------------------------------------

#[cfg(target_os = "none")]
pub use armed::{fprobe_event_reg, fprobe_probe_added, fprobe_probe_removed};

/// What enabling an fprobe event does (Linux's `enable_trace_fprobe()` /
/// `disable_trace_fprobe()`): an [`Fprobe`](crate::trace::fprobe::Fprobe) per probe of the
/// event, whose handlers fetch the arguments and record the hit (Linux's `fentry_trace_func()`
/// and `fexit_trace_func()`).
#[cfg(target_os = "none")]
mod armed {
    use alloc::sync::Arc;
    use alloc::vec::Vec;

    use arch::ftrace::{FgraphRetRegs, FtraceRegs};
    use arch::insn::AARCH64_INSN_SIZE;
    use spin::Mutex;

    use super::TraceFprobe;
    use crate::fs::Errno;
    use crate::kprobes::{frame_from_fregs, frame_from_ret_regs};
    use crate::trace::fprobe::{Fprobe, register_fprobe_syms, unregister_fprobe};
    use crate::trace::ring_buffer::BUF_MAX_DATA_SIZE;
    use crate::trace::trace_dynevent::{
        DynEvent, probes_of_event, trace_probe_record, trace_probe_record_plan,
    };
    use crate::trace::trace_events::TraceEventCall;
    use crate::trace::trace_probe::{ProbePlan, ProbePrintType, TrapFrameCtx};

    /// What an event's fprobe handlers need.
    struct FprobeEvent {
        call: &'static TraceEventCall,
        probe: Arc<DynEvent>,
        /// The arguments' plan when they are all plain values of x0-x7 or saved words (what
        /// both the entry's and the exit's saved registers hold): a hit then writes them
        /// without building a trap frame or running the fetch programs.
        plan: Option<ProbePlan>,
    }

    impl FprobeEvent {
        fn tf(&self) -> Option<&TraceFprobe> {
            match &*self.probe {
                DynEvent::Fprobe(tf) => Some(tf),
                DynEvent::Kprobe(_) => None,
            }
        }
    }

    /// One armed probe of an enabled event.
    struct Armed {
        /// The address of the event's call.
        call: usize,
        /// The address of the probe (its `DynEvent` in the list).
        probe: usize,
        fp: Arc<Fprobe>,
    }

    /// The armed fprobes of the enabled events.
    static ARMED: Mutex<Vec<Armed>> = Mutex::new(Vec::new());

    /// The entry data as the words the fetch programs store and read (the pool keeps it in
    /// u64s, so it is always aligned; a misaligned slice, never made, reads as no words).
    /// Cast by hand: `align_to_mut` is an out-of-line call.
    #[inline(always)]
    fn data_words(data: &mut [u8]) -> &mut [u64] {
        let p = data.as_mut_ptr();
        if !p.addr().is_multiple_of(core::mem::align_of::<u64>()) {
            return &mut [];
        }
        // SAFETY: `p` is aligned for u64, `len / 8` words lie inside `data`, exclusively
        // borrowed as long; every bit pattern is a valid u64.
        unsafe { core::slice::from_raw_parts_mut(p.cast::<u64>(), data.len() / 8) }
    }

    /// An entry probe's hit, or a return probe's entry saving what `$argN` needs at the exit.
    fn fentry_handler(
        fp: &Fprobe,
        ip: u64,
        _ret_ip: u64,
        regs: &mut FtraceRegs,
        data: &mut [u8],
    ) -> bool {
        let Some(ev) = fp.data::<FprobeEvent>() else {
            return true;
        };
        let Some(tf) = ev.tf() else {
            return true;
        };
        if tf.is_return && data.is_empty() {
            // An exit probe without `$argN`: nothing to fetch at the entry.
            return false;
        }
        if tf.is_return {
            // `$argN` only: the argument registers as ftrace saved them.
            tf.tp.store_entry_regs(&regs.regs, data_words(data));
            return false;
        }
        let func = ip - AARCH64_INSN_SIZE as u64;
        let irqs_off = regs.irqs_disabled();
        if let Some(plan) = &ev.plan {
            trace_probe_record_plan(ev.call, plan, &[func], &regs.regs, &[], irqs_off);
            return false;
        }
        let mut frame = core::mem::MaybeUninit::uninit();
        let frame = frame_from_fregs(regs, func, &mut frame);
        let ctx = TrapFrameCtx::new(frame, &[], None);
        trace_probe_record(
            ev.call,
            &tf.tp,
            ProbePrintType::Normal,
            &[func],
            &ctx,
            irqs_off,
        );
        false
    }

    /// A return probe's hit: `(caller <- func)` and the arguments at the return.
    fn fexit_handler(fp: &Fprobe, ip: u64, ret_ip: u64, regs: &FgraphRetRegs, data: &mut [u8]) {
        let Some(ev) = fp.data::<FprobeEvent>() else {
            return;
        };
        let Some(tf) = ev.tf() else {
            return;
        };
        let func = ip - AARCH64_INSN_SIZE as u64;
        let irqs_off = regs.irqs_disabled();
        let words = data_words(data);
        if let Some(plan) = &ev.plan {
            trace_probe_record_plan(ev.call, plan, &[func, ret_ip], &regs.regs, words, irqs_off);
            return;
        }
        let mut frame = core::mem::MaybeUninit::uninit();
        let frame = frame_from_ret_regs(regs, ret_ip, &mut frame);
        let ctx = TrapFrameCtx::new(frame, words, None);
        trace_probe_record(
            ev.call,
            &tf.tp,
            ProbePrintType::Return,
            &[func, ret_ip],
            &ctx,
            irqs_off,
        );
    }

    fn arm(call: &'static TraceEventCall, probe: Arc<DynEvent>) -> Result<Arc<Fprobe>, Errno> {
        let DynEvent::Fprobe(tf) = &*probe else {
            return Err(Errno::EINVAL);
        };
        let mut fp = Fprobe::new().with_entry_handler(fentry_handler);
        if tf.is_return {
            fp = fp
                .with_exit_handler(fexit_handler)
                .with_entry_data_size(tf.tp.entry_data_size())
                .with_maxactive(tf.maxactive as usize);
        }
        // x0-x7: all the exit's saved registers hold (the entry's hold x0-x8).
        let plan = tf
            .tp
            .simple_plan(tf.ptype(), BUF_MAX_DATA_SIZE)
            .filter(|plan| plan.nregs <= 8);
        let fp = Arc::try_new(fp.with_data(FprobeEvent { call, probe, plan })?)
            .map_err(|_| Errno::ENOMEM)?;
        let symbol = fp
            .data::<FprobeEvent>()
            .and_then(FprobeEvent::tf)
            .map(|tf| tf.symbol.as_str())
            .ok_or(Errno::EINVAL)?;
        register_fprobe_syms(&fp, &[symbol])?;
        Ok(fp)
    }

    /// Unregisters and forgets the armed fprobes `pick` selects. One whose unregistration
    /// fails (out of memory in the ftrace update) stays armed and listed, and the first such
    /// error is returned, so the caller does not report a probe gone that still records.
    fn disarm(pick: impl Fn(&Armed) -> bool) -> Result<(), Errno> {
        let mut result = Ok(());
        ARMED.lock().retain(|armed| {
            if !pick(armed) {
                return true;
            }
            // Only registered fprobes are kept here.
            match unregister_fprobe(&armed.fp) {
                Ok(()) => false,
                Err(e) => {
                    result = result.and(Err(e));
                    true
                }
            }
        });
        result
    }

    fn arm_into_list(call: &'static TraceEventCall, probe: Arc<DynEvent>) -> Result<(), Errno> {
        ARMED.lock().try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let armed = Armed {
            call: core::ptr::from_ref(call) as usize,
            probe: Arc::as_ptr(&probe) as usize,
            fp: arm(call, probe)?,
        };
        ARMED.lock().push(armed);
        Ok(())
    }

    /// The `reg` of every fprobe event: arms (or disarms) each probe of the event.
    pub fn fprobe_event_reg(call: &'static TraceEventCall, on: bool) -> Result<(), Errno> {
        let key = core::ptr::from_ref(call) as usize;
        if !on {
            return disarm(|armed| armed.call == key);
        }
        for probe in probes_of_event(&call.system, &call.name)? {
            if let Err(e) = arm_into_list(call, probe) {
                // The arming error is the one to report; a probe that cannot be unarmed
                // either stays listed, to be disarmed with the event.
                let _ = disarm(|armed| armed.call == key);
                return Err(e);
            }
        }
        Ok(())
    }

    /// A probe joined the event of `call`: armed at once if the event is (Linux's
    /// `append_trace_fprobe()`).
    pub fn fprobe_probe_added(
        call: &'static TraceEventCall,
        probe: &Arc<DynEvent>,
    ) -> Result<(), Errno> {
        let key = core::ptr::from_ref(call) as usize;
        let enabled = ARMED.lock().iter().any(|armed| armed.call == key);
        if enabled {
            arm_into_list(call, Arc::clone(probe))?;
        }
        Ok(())
    }

    /// A probe leaves the list: its fprobe, if armed, goes with it (one that cannot be
    /// unregistered stays armed and listed, and the error is returned).
    pub fn fprobe_probe_removed(probe: &DynEvent) -> Result<(), Errno> {
        let key = core::ptr::from_ref(probe) as usize;
        disarm(|armed| armed.probe == key)
    }
}
