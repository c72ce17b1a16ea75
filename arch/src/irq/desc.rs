//! IRQ descriptors and dispatch (Linux: `kernel/irq/irqdesc.c`, `handle.c`, `manage.c`): one
//! descriptor per GIC interrupt ID holding its registered [`IrqAction`] and per-CPU counts, and
//! [`handle_irq`], which every IRQ exception runs: acknowledge at the GIC, count, call the
//! action, EOI.
//!
//! Lock-free, like the debug-monitor hook tables: an action slot is an atomic pointer to a
//! `'static` action, counts are atomics, so an interrupt never waits for a lock held by the code
//! it interrupted. Configuring the GIC goes through its own lock (see [`crate::gic`]). Removal
//! only clears a slot after disabling the interrupt; the action must stay valid memory, since
//! another CPU may be running it at that moment.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use super::{IrqSpec, NR_CPUS, Trigger};
use crate::exception::TrapFrame;
use crate::gic::{self, GicError};

/// Descriptors exist for interrupt IDs below this: SGIs, PPIs and SPIs (1020-1023 are special).
pub const NR_IRQS: usize = 1020;

/// What runs for an interrupt (Linux: `struct irqaction`). `frame` is the interrupted context.
pub struct IrqAction {
    /// Shown in /proc/interrupts.
    pub name: &'static str,
    pub handler: fn(irq: u32, frame: &mut TrapFrame),
}

struct IrqDesc {
    action: AtomicPtr<IrqAction>,
    /// Configured as level-triggered (for /proc/interrupts).
    level: AtomicBool,
    /// Interrupts taken, per CPU (Linux: `kstat_irqs`).
    kstat: [AtomicU32; NR_CPUS],
}

impl IrqDesc {
    const fn new() -> Self {
        Self {
            action: AtomicPtr::new(ptr::null_mut()),
            level: AtomicBool::new(false),
            kstat: [const { AtomicU32::new(0) }; NR_CPUS],
        }
    }
}

static IRQ_DESC: [IrqDesc; NR_IRQS] = [const { IrqDesc::new() }; NR_IRQS];

/// Linux's `irqreturn_t` value of a handler that handled its interrupt. Every action's handler
/// does: no line is shared, so an action is only ever called for its own device.
pub const IRQ_HANDLED: i32 = 1;

/// Called around every action's handler with the interrupt number (Linux: the
/// `irq_handler_entry` / `irq_handler_exit` tracepoints of `__handle_irq_event_percpu`): the
/// kernel's tracepoints, which live above this crate. Both must be `noinstr` (they are not
/// functions Linux has, so the function tracer must not show them).
pub struct IrqHandlerHooks {
    /// Before the handler, with the action's name.
    pub entry: fn(irq: u32, name: &'static str),
    /// After it, with what it returned ([`IRQ_HANDLED`]).
    pub exit: fn(irq: u32, ret: i32),
}

static IRQ_HANDLER_HOOKS: AtomicPtr<IrqHandlerHooks> = AtomicPtr::new(ptr::null_mut());

/// Installs the hooks run around every handler, or (`None`) removes them: the kernel installs
/// them only while its tracepoints have probes, so an interrupt pays one load otherwise.
pub fn set_irq_handler_hooks(hooks: Option<&'static IrqHandlerHooks>) {
    let ptr = match hooks {
        Some(hooks) => {
            crate::patching::assert_noinstr_handler(hooks.entry as usize, "irq_handler_entry hook");
            crate::patching::assert_noinstr_handler(hooks.exit as usize, "irq_handler_exit hook");
            hooks as *const IrqHandlerHooks as *mut IrqHandlerHooks
        }
        None => ptr::null_mut(),
    };
    IRQ_HANDLER_HOOKS.store(ptr, Ordering::Release);
}

/// Interrupts nothing was registered for (Linux: `irq_err_count`, the "Err:" line).
static IRQ_ERR_COUNT: AtomicU32 = AtomicU32::new(0);

/// Why an interrupt could not be requested or configured.
#[derive(Clone, Copy, Debug)]
pub enum IrqError {
    /// The GIC does not implement this interrupt ID, or it is of the wrong kind for the call
    /// (a shared SPI for the per-CPU calls, or the reverse).
    Invalid(u32),
    /// Another action is registered for it.
    Busy(u32),
    Gic(GicError),
}

impl From<GicError> for IrqError {
    fn from(error: GicError) -> Self {
        Self::Gic(error)
    }
}

const SGI_COUNT: u32 = 16;
const SPI_BASE: u32 = 32;

/// The descriptor of an implemented interrupt whose ID lies in `kinds`.
fn desc(irq: u32, kinds: core::ops::Range<u32>) -> Result<&'static IrqDesc, IrqError> {
    IRQ_DESC
        .get(irq as usize)
        .filter(|_| irq < gic::nr_irqs() && kinds.contains(&irq))
        .ok_or(IrqError::Invalid(irq))
}

fn install(desc: &IrqDesc, irq: u32, action: &'static IrqAction) -> Result<(), IrqError> {
    let action = action as *const IrqAction as *mut IrqAction;
    desc.action
        .compare_exchange(ptr::null_mut(), action, Ordering::AcqRel, Ordering::Relaxed)
        .map(|_| ())
        .map_err(|_| IrqError::Busy(irq))
}

fn uninstall(desc: &IrqDesc, action: &'static IrqAction) {
    let action = action as *const IrqAction as *mut IrqAction;
    let _ =
        desc.action
            .compare_exchange(action, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed);
}

/// Registers `action` for a shared peripheral interrupt, configures its trigger, routes it to
/// this CPU and enables it (Linux: `request_irq`).
pub fn request_irq(spec: IrqSpec, action: &'static IrqAction) -> Result<(), IrqError> {
    let desc = desc(spec.irq, SPI_BASE..NR_IRQS as u32)?;
    install(desc, spec.irq, action)?;
    desc.level
        .store(spec.trigger == Trigger::Level, Ordering::Relaxed);
    gic::enable_spi(spec.irq, spec.trigger).inspect_err(|_| uninstall(desc, action))?;
    Ok(())
}

/// Registers `action` for an SGI or a PPI, on every CPU at once (Linux: `request_percpu_irq`).
/// SGIs are enabled on each CPU by its GIC bring-up, so an SGI's action runs from now on; a PPI
/// is enabled by each CPU with [`enable_percpu_irq`].
pub fn request_percpu_irq(irq: u32, action: &'static IrqAction) -> Result<(), IrqError> {
    install(desc(irq, 0..SPI_BASE)?, irq, action)
}

/// Configures and enables a PPI on this CPU (Linux: `enable_percpu_irq`).
pub fn enable_percpu_irq(spec: IrqSpec) -> Result<(), IrqError> {
    let desc = desc(spec.irq, SGI_COUNT..SPI_BASE)?;
    desc.level
        .store(spec.trigger == Trigger::Level, Ordering::Relaxed);
    Ok(gic::enable_ppi(spec.irq, spec.trigger)?)
}

/// Disables a PPI on this CPU (Linux: `disable_percpu_irq`).
pub fn disable_percpu_irq(irq: u32) -> Result<(), IrqError> {
    desc(irq, SGI_COUNT..SPI_BASE)?;
    Ok(gic::disable_ppi(irq)?)
}

/// Unregisters `action` (if it is the registered one); an SGI arriving afterwards counts as
/// unhandled. An SPI is disabled first; a PPI must already be disabled on every CPU with
/// [`disable_percpu_irq`] (Linux: `free_irq`, `free_percpu_irq`).
pub fn free_irq(irq: u32, action: &'static IrqAction) -> Result<(), IrqError> {
    let desc = desc(irq, 0..NR_IRQS as u32)?;
    if irq >= SPI_BASE {
        gic::disable_spi(irq)?;
    }
    uninstall(desc, action);
    Ok(())
}

crate::noinstr! {
/// The IRQ exception: acknowledge at the GIC, dispatch, EOI (Linux: `gic_handle_irq`). Runs
/// with IRQs masked; one interrupt per exception, a still pending one is taken again right
/// after the ERET. Acknowledge and EOI are GIC register accesses and stay untraceable; the
/// dispatch in between is [`generic_handle_domain_irq`], the traced IRQ-entry function.
pub fn handle_irq(frame: &mut TrapFrame) {
    let Some(ack) = gic::acknowledge() else {
        return;
    };
    // The traced IRQ entry, as in Linux: handlers are traced code, and a tracer callback an
    // interrupt lands in holds the recursion guard, so its handler's events are dropped.
    crate::instrumentation! { generic_handle_domain_irq(ack.irq(), frame) }
    gic::end_interrupt(ack);
}
}

/// Counts the interrupt and runs its action (Linux: `generic_handle_domain_irq`). The one
/// traced function every interrupt goes through: the function_graph tracer marks IRQ entry
/// and exit on it (Linux keys those markers on `__irqentry_text`). An interrupt without an
/// action is counted in "Err"; a PPI or SPI is also disabled (on this CPU), so a
/// level-triggered line cannot storm. (SGIs are edge-triggered, and on a GICv2 cannot be
/// disabled.)
pub fn generic_handle_domain_irq(irq: u32, frame: &mut TrapFrame) {
    let action = IRQ_DESC.get(irq as usize).map_or(ptr::null_mut(), |desc| {
        desc.kstat[gic::this_cpu_id()].fetch_add(1, Ordering::Relaxed);
        desc.action.load(Ordering::Acquire)
    });
    if action.is_null() {
        IRQ_ERR_COUNT.fetch_add(1, Ordering::Relaxed);
        let _ = match irq {
            0..SGI_COUNT => Ok(()),
            SGI_COUNT..SPI_BASE => gic::disable_ppi(irq),
            _ => gic::disable_spi(irq),
        };
    } else {
        // SAFETY: non-null slots only ever hold pointers made from `&'static IrqAction`.
        let action = unsafe { &*action };
        // SAFETY: only `set_irq_handler_hooks` stores here, from a `&'static IrqHandlerHooks`.
        let hooks = unsafe { IRQ_HANDLER_HOOKS.load(Ordering::Acquire).as_ref() };
        if let Some(hooks) = hooks {
            (hooks.entry)(irq, action.name);
        }
        (action.handler)(irq, frame);
        if let Some(hooks) = hooks {
            (hooks.exit)(irq, IRQ_HANDLED);
        }
    }
}

/// One row of /proc/interrupts.
#[derive(Clone, Copy, Debug)]
pub struct IrqStat {
    pub irq: u32,
    /// The registered action's name, if any.
    pub name: Option<&'static str>,
    pub trigger: Trigger,
    /// Interrupts taken, per logical CPU.
    pub counts: [u32; NR_CPUS],
}

/// Every interrupt that has an action or has fired, in ascending order.
pub fn irq_stats() -> impl Iterator<Item = IrqStat> {
    IRQ_DESC.iter().enumerate().filter_map(|(irq, desc)| {
        let action = desc.action.load(Ordering::Acquire);
        let counts = core::array::from_fn(|cpu| desc.kstat[cpu].load(Ordering::Relaxed));
        if action.is_null() && counts.iter().all(|&c| c == 0) {
            return None;
        }
        // SAFETY: as in `handle_irq`.
        let name = (!action.is_null()).then(|| unsafe { (*action).name });
        let trigger = if desc.level.load(Ordering::Relaxed) {
            Trigger::Level
        } else {
            Trigger::Edge
        };
        Some(IrqStat {
            irq: irq as u32,
            name,
            trigger,
            counts,
        })
    })
}

/// How often `irq` was taken on `cpu` (Linux: `kstat_irqs_cpu`).
pub fn kstat_irqs_cpu(irq: u32, cpu: usize) -> u32 {
    IRQ_DESC
        .get(irq as usize)
        .and_then(|desc| desc.kstat.get(cpu))
        .map_or(0, |count| count.load(Ordering::Relaxed))
}

/// Interrupts taken without an action.
pub fn irq_err_count() -> u32 {
    IRQ_ERR_COUNT.load(Ordering::Relaxed)
}
