//! Kprobe events (Linux: `kernel/trace/trace_kprobe.c`): the `kprobe_events` grammar, the
//! listing and `kprobe_profile` lines, and an event's layout and printer. The arming of the
//! probes themselves is `kprobes`' job; this module says what to arm and how its hits look.
//!
//! ```text
//! p[:[GRP/][EVENT]] SYM[+OFFS]|MEMADDR [FETCHARGS]      a kprobe
//! r[MAXACTIVE][:[GRP/][EVENT]] SYM[+0] [FETCHARGS]     a kretprobe (or p ... SYM%return)
//! -:[GRP/][EVENT] [SYM [ARGS]]                          removal (see `trace_dynevent`)
//! ```
//!
//! Symbols are Rust paths (`kernel::workload::fib`): `::` is part of the name. Linux's
//! `MOD:SYM` form is not supported (we have no modules): a symbol with a lone `:` is refused as
//! an unknown symbol, `Invalid probed address or symbol`, with the caret on the symbol.
//! A probe on an address is named `p_0x` and the address in 16 hex digits (Linux's `%p`
//! without pointer hashing).

use alloc::string::String;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

use super::trace_probe::{
    KsymLookup, ProbeError, ProbeLog, ProbePrintType, Symbolizer, TpErr, TraceProbe,
    check_meta_args, flags, kstrtoull, match_command_args, parse_args, parse_event_name,
    parse_maxactive, sanitize_event_name, split_symbol_offset, try_string, with_pending,
};
use crate::fs::Errno;

#[cfg(target_os = "none")]
mod probe;
#[cfg(target_os = "none")]
pub use probe::{
    enable_trace_kprobe, register_trace_kprobe, trace_kprobe_nmissed, unregister_trace_kprobe,
};

/// The group of kprobe events without one.
pub const KPROBE_EVENT_SYSTEM: &str = "kprobes";
/// The largest `MAXACTIVE`.
pub const KRETPROBE_MAXACTIVE_MAX: u32 = 4096;
/// What `error_log` names as the place of kprobe errors.
pub const SUBSYSTEM: &str = "trace_kprobe";

/// A probe's hit and miss counts (Linux's per-CPU `nhit` and the kprobe's `nmissed`), kept by
/// the probe mechanism and shown by `kprobe_profile`. They are not part of the definition: a
/// clone starts from zero and comparisons ignore them.
#[derive(Debug, Default)]
pub struct ProbeHits {
    nhit: AtomicU64,
    nmissed: AtomicU64,
}

impl ProbeHits {
    /// Counts a hit (the probe's dispatcher, on every hit).
    pub fn hit(&self) {
        self.nhit.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a hit the probe could not handle (recursion, no instance left).
    pub fn missed(&self) {
        self.nmissed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn nhit(&self) -> u64 {
        self.nhit.load(Ordering::Relaxed)
    }

    pub fn nmissed(&self) -> u64 {
        self.nmissed.load(Ordering::Relaxed)
    }
}

impl Clone for ProbeHits {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for ProbeHits {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ProbeHits {}

/// A parsed kprobe event (Linux's `struct trace_kprobe` without its kprobe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceKprobe {
    pub group: String,
    pub event: String,
    /// The probed symbol, or `None` for a probe on [`Self::addr`].
    pub symbol: Option<String>,
    pub addr: u64,
    /// Bytes into the symbol.
    pub offset: u32,
    /// Instances a kretprobe tracks at once; 0 for the default.
    pub maxactive: u32,
    pub is_return: bool,
    pub tp: TraceProbe,
    pub hits: ProbeHits,
}

/// A symbol with a `:` that is not part of a `::`: Linux's `MOD:SYM`.
fn has_module_part(symbol: &str) -> bool {
    let b = symbol.as_bytes();
    (0..b.len())
        .any(|i| b[i] == b':' && (i == 0 || b[i - 1] != b':') && b.get(i + 1) != Some(&b':'))
}

/// Parses a `kprobe_events` definition (Linux's `__trace_kprobe_create()`). `Ok(None)` when
/// the words are not a kprobe definition (Linux's `-ECANCELED`).
pub fn parse_kprobe(
    argv: &[&str],
    syms: &dyn KsymLookup,
) -> Result<Option<TraceKprobe>, ProbeError> {
    let is_return = match argv.first().map(|a| a.as_bytes()[0]) {
        Some(b'r') => true,
        Some(b'p') => false,
        _ => return Ok(None),
    };
    if argv.len() < 2 {
        return Ok(None);
    }
    let mut log = ProbeLog::new(SUBSYSTEM, argv);
    parse(argv, is_return, syms, &mut log)
}

fn parse(
    argv: &[&str],
    mut is_return: bool,
    syms: &dyn KsymLookup,
    log: &mut ProbeLog<'_>,
) -> Result<Option<TraceKprobe>, ProbeError> {
    let argv0 = argv[0];
    let event_at = argv0[1..].find(':').map(|i| i + 2);
    let mut maxactive = 0;
    if argv0.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
        if !is_return {
            return Err(log.inval(TpErr::BAD_MAXACT_TYPE, 1));
        }
        maxactive = parse_maxactive(argv0, event_at, log)?;
        if maxactive > KRETPROBE_MAXACTIVE_MAX {
            return Err(log.inval(TpErr::MAXACT_TOO_BIG, 1));
        }
    }
    let mut parse_flags = flags::KERNEL;
    let (symbol, addr, offset) = match kstrtoull(argv[1], 0) {
        Ok(addr) => (None, addr, 0),
        Err(_) => {
            log.set_index(1);
            let mut symbol = argv[1];
            if symbol.contains('/') && symbol.contains(':') {
                // A uprobe definition.
                return Ok(None);
            }
            if let Some(at) = symbol.find('%') {
                if &symbol[at..] != "%return" {
                    return Err(log.inval(TpErr::BAD_ADDR_SUFFIX, at));
                }
                symbol = &symbol[..at];
                is_return = true;
            }
            let (name, offset) = match split_symbol_offset(symbol) {
                Ok((name, off)) if (0..=i64::from(u32::MAX)).contains(&off) => (name, off as u32),
                _ => return Err(log.inval(TpErr::BAD_PROBE_ADDR, 0)),
            };
            match syms.count(name) {
                _ if has_module_part(name) => return Err(log.inval(TpErr::BAD_PROBE_ADDR, 0)),
                0 => return Err(log.inval(TpErr::BAD_PROBE_ADDR, 0)),
                1 => {}
                _ => return Err(log.inval(TpErr::NON_UNIQ_SYMBOL, 0)),
            }
            if is_return {
                parse_flags |= flags::RETURN;
            }
            // Linux's `kprobe_on_func_entry()`: on arm64, offset 0 only.
            if offset == 0 && !is_return {
                parse_flags |= flags::FENTRY;
            }
            if offset != 0 && is_return {
                return Err(log.inval(TpErr::BAD_RETPROBE, 0));
            }
            (Some(name), 0, offset)
        }
    };
    log.set_index(0);
    let mut group = KPROBE_EVENT_SYSTEM;
    let mut event = None;
    if let Some(at) = event_at {
        let name = parse_event_name(&argv0[at..], at, log)?;
        group = name.group.unwrap_or(group);
        event = name.event;
    }
    let event = match event {
        Some(e) => try_string(e),
        None => {
            let kind = if is_return { 'r' } else { 'p' };
            let generated = match symbol {
                Some(s) => alloc::format!("{kind}_{s}_{offset}"),
                None => alloc::format!("{kind}_0x{addr:016x}"),
            };
            sanitize_event_name(&generated)
        }
    }
    .map_err(ProbeError::silent)?;
    let args = &argv[2..];
    let pending = check_meta_args(args, parse_flags, log)?;
    let mut tp = TraceProbe::new();
    parse_args(&mut tp, args, parse_flags, log).map_err(|e| with_pending(pending, e))?;
    Ok(Some(TraceKprobe {
        group: try_string(group).map_err(ProbeError::silent)?,
        event,
        symbol: symbol
            .map(try_string)
            .transpose()
            .map_err(ProbeError::silent)?,
        addr,
        offset,
        maxactive,
        is_return,
        tp,
        hits: ProbeHits::default(),
    }))
}

/// What registering a probe failed with, as Linux logs it on the probe point (word 1): the
/// kprobe core answers `EILSEQ` for an address inside an instruction, `ENOENT` for an unknown
/// symbol.
pub fn register_error(argv: &[&str], subsystem: &'static str, errno: Errno) -> ProbeError {
    let log = ProbeLog::new(subsystem, argv);
    let err = match errno {
        Errno::ENOENT => TpErr::BAD_PROBE_ADDR,
        Errno::ENOMEM | Errno::EEXIST => return ProbeError::silent(errno),
        Errno::EILSEQ => TpErr::BAD_INSN_BNDRY,
        _ => TpErr::FAIL_REG_PROBE,
    };
    log.err_in(1, errno, err, 0)
}

impl TraceKprobe {
    pub fn ptype(&self) -> ProbePrintType {
        ProbePrintType::of(self.is_return)
    }

    /// The probe point as the listing shows it: `SYM`, `SYM+OFFS` or `0xADDR`.
    pub fn write_point(&self, w: &mut dyn Write) -> fmt::Result {
        match &self.symbol {
            None => write!(w, "0x{:016x}", self.addr),
            Some(s) if self.offset != 0 => write!(w, "{s}+{}", self.offset),
            Some(s) => w.write_str(s),
        }
    }

    /// Its `kprobe_events` / `dynamic_events` line (Linux's `trace_kprobe_show()`).
    pub fn show(&self, w: &mut dyn Write) -> fmt::Result {
        w.write_char(if self.is_return { 'r' } else { 'p' })?;
        if self.is_return && self.maxactive != 0 {
            write!(w, "{}", self.maxactive)?;
        }
        write!(w, ":{}/{} ", self.group, self.event)?;
        self.write_point(w)?;
        self.tp.write_args_def(w)?;
        w.write_char('\n')
    }

    /// Its `kprobe_profile` line: event name, hits and misses.
    pub fn show_profile(&self, w: &mut dyn Write, nhit: u64, nmissed: u64) -> fmt::Result {
        writeln!(w, "  {:<44} {nhit:>15} {nmissed:>15}", self.event)
    }

    /// Whether a removal `-:[system/]event [POINT [ARGS]]` names it (Linux's
    /// `trace_kprobe_match()`): an empty `event` names every event of the system.
    pub fn matches(&self, system: Option<&str>, event: &str, argv: &[&str]) -> bool {
        if !(event.is_empty() || self.event == event) || system.is_some_and(|s| s != self.group) {
            return false;
        }
        let Some((point, args)) = argv.split_first() else {
            return true;
        };
        let mut shown = String::new();
        self.write_point(&mut shown).is_ok()
            && shown == *point
            && match_command_args(&self.tp, args)
    }

    /// Whether `self` and `other` probe the same place with the same arguments (Linux's
    /// `trace_kprobe_has_same_kprobe()`).
    pub fn same_probe(&self, other: &TraceKprobe) -> bool {
        self.symbol == other.symbol
            && self.offset == other.offset
            && self.addr == other.addr
            && self.tp.same_comms(&other.tp)
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
