//! `timer:` events: none. Each of Linux's `timer:` events traces a mechanism this kernel does
//! not have: `timer_*` the timer wheel (`struct timer_list`, its buckets and base clock),
//! `hrtimer_*` high-resolution timers, `itimer_*` POSIX interval timers, `tick_stop` and
//! `timer_base_idle` the NO_HZ tick. Our tick is the arch timer's periodic interrupt (Linux's
//! `tick_handle_periodic`, which fires none of them; it shows as `irq:irq_handler_entry` with
//! `name=arch_timer`), and `msleep` sleepers are a per-CPU list the tick scans, not timers.

use crate::trace::trace_events::TraceEventCall;

/// The events, in registration order.
pub static EVENTS: [&TraceEventCall; 0] = [];
