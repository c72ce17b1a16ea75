//! `irq:` events: none yet.

use crate::trace::trace_events::TraceEventCall;

/// The events, in registration order.
pub static EVENTS: [&TraceEventCall; 0] = [];
