//! `per_cpu/cpuN/{trace,trace_pipe,buffer_size_kb,stats}`: one directory per possible CPU,
//! as Linux's `tracing_init_tracefs_percpu` creates them (`for_each_tracing_cpu`), each file
//! acting on that CPU's part of the trace buffer alone.

use core::fmt::Write;
use core::ops::Range;

use super::ring_buffer::format_stats;
use super::trace::{
    buffer, read_buffer_size_kb, read_trace, write_buffer_size_kb, write_trace_file,
};
use super::trace_clock;
use crate::fs::{self, Errno};
use crate::smp::num_possible_cpus;
use crate::tracefs::create_file;

/// The CPUs with a `per_cpu/cpuN` directory, and whose sizes `buffer_size_kb` compares: the
/// possible CPUs (the device tree's), which the buffer always covers.
pub(super) fn tracing_cpus() -> Range<usize> {
    0..num_possible_cpus().clamp(1, buffer().nr_cpus())
}

/// `per_cpu/cpuN/stats`, as Linux's `tracing_stats_read` prints it.
fn read_stats(cpu: usize, w: &mut dyn Write) -> Result<(), Errno> {
    let mut stats = buffer().stats(cpu);
    stats.oldest_event_ts = trace_clock::display(stats.oldest_event_ts);
    let in_ns = trace_clock::in_ns(trace_clock::selected());
    Ok(format_stats(&stats, trace_clock::display_now(), in_ns, w)?)
}

/// Creates `per_cpu/cpuN` under `tracefs` for every possible CPU.
pub(super) fn init(tracefs: &str) {
    for cpu in tracing_cpus() {
        let path = |name: &str| alloc::format!("{tracefs}/per_cpu/cpu{cpu}/{name}");
        create_file(
            &path("trace"),
            fs::read_write(
                move |w| read_trace(Some(cpu), w),
                move |_, mode| write_trace_file(Some(cpu), mode),
            ),
        );
        create_file(
            &path("trace_pipe"),
            super::trace_pipe::TracePipe::new(Some(cpu)),
        );
        create_file(
            &path("buffer_size_kb"),
            fs::read_write(
                move |w| read_buffer_size_kb(Some(cpu), w),
                move |data, _| write_buffer_size_kb(Some(cpu), data),
            ),
        );
        create_file(&path("stats"), fs::read_only(move |w| read_stats(cpu, w)));
    }
}
