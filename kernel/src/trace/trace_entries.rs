//! The trace entries (Linux: `kernel/trace/trace_entries.h`, `include/linux/trace_events.h`):
//! the common header every entry in the ring buffer starts with ([`TraceEntry`], Linux's
//! `struct trace_entry`), the ftrace-internal entry types the tracers write (`function`,
//! `kernel_stack`, `print`, `funcgraph_entry`, `funcgraph_exit`) as `#[repr(C)]` structs with
//! Linux's layouts, and their field lists, which `events/ftrace/*/format` prints.
//!
//! Entries are written as these structs ([`super::ring_buffer::RingBuffer::write_entry`]) and
//! read back as them ([`read_entry`]); nothing here knows how an entry is printed (that is the
//! event registry's job, [`super::trace_output`]).

use core::mem::{offset_of, size_of};

use super::trace_events::{Field, FieldType};

/// Linux's `enum trace_type` values of the ftrace-internal entries. Ids of events registered
/// later (tracepoints, probe events) are allocated from [`TRACE_LAST_TYPE`] up.
pub const TRACE_FN: u16 = 1;
pub const TRACE_STACK: u16 = 4;
pub const TRACE_PRINT: u16 = 5;
pub const TRACE_GRAPH_RET: u16 = 10;
pub const TRACE_GRAPH_ENT: u16 = 11;
/// Linux's `__TRACE_LAST_TYPE`: the first id `register_trace_event` hands out.
pub const TRACE_LAST_TYPE: u16 = 20;

/// `common_flags` bits (Linux's `enum trace_flag_type`).
pub const TRACE_FLAG_IRQS_OFF: u8 = 0x01;
/// The task must be rescheduled at the next preemption point (lazy).
pub const TRACE_FLAG_NEED_RESCHED_LAZY: u8 = 0x02;
/// The task must be rescheduled.
pub const TRACE_FLAG_NEED_RESCHED: u8 = 0x04;
/// Recorded in hard-interrupt context.
pub const TRACE_FLAG_HARDIRQ: u8 = 0x08;
/// Recorded in softirq context.
pub const TRACE_FLAG_SOFTIRQ: u8 = 0x10;
/// The preempt count's need-resched fold bit was set.
pub const TRACE_FLAG_PREEMPT_RESCHED: u8 = 0x20;
/// Recorded in NMI context.
pub const TRACE_FLAG_NMI: u8 = 0x40;
/// Bottom halves were disabled.
pub const TRACE_FLAG_BH_OFF: u8 = 0x80;

/// The common header of every entry (Linux's `struct trace_entry`): what `format` lists as the
/// `common_*` fields.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceEntry {
    /// The entry's event id (`common_type`).
    pub type_: u16,
    /// `TRACE_FLAG_*` bits (`common_flags`).
    pub flags: u8,
    /// Low nibble: preemption depth; high nibble: migrate-disable depth, each capped at 15
    /// (`common_preempt_count`).
    pub preempt_count: u8,
    /// The task's pid (`common_pid`), 0 for the idle tasks.
    pub pid: i32,
}

impl TraceEntry {
    /// The header as the little-endian word its `#[repr(C)]` bytes make: the tracers' fast
    /// paths hand the ring buffer whole words, which stay in registers (a struct built and then
    /// copied is spilled to the stack first).
    #[inline(always)]
    pub const fn word(self) -> u64 {
        self.type_ as u64
            | (self.flags as u64) << 16
            | (self.preempt_count as u64) << 24
            | (self.pid as u32 as u64) << 32
    }
}

/// Bytes of [`TraceEntry`]: where every entry's own fields start.
pub const ENTRY_HDR_SIZE: usize = size_of::<TraceEntry>();

/// The `common_*` fields, as every `format` file lists them first.
pub static COMMON_FIELDS: [Field; 4] = [
    Field::new(
        "unsigned short",
        "common_type",
        offset_of!(TraceEntry, type_),
        2,
        FieldType::U,
    ),
    Field::new(
        "unsigned char",
        "common_flags",
        offset_of!(TraceEntry, flags),
        1,
        FieldType::U,
    ),
    Field::new(
        "unsigned char",
        "common_preempt_count",
        offset_of!(TraceEntry, preempt_count),
        1,
        FieldType::U,
    ),
    Field::new(
        "int",
        "common_pid",
        offset_of!(TraceEntry, pid),
        4,
        FieldType::S,
    ),
];

/// An entry struct: `#[repr(C)]`, starting with its [`TraceEntry`], 8-byte aligned at most
/// (the ring buffer's payload alignment), and valid for any bit pattern.
///
/// # Safety
/// The type must be `#[repr(C)]` with a [`TraceEntry`] first, `align_of` at most 8, and every
/// byte pattern must be a valid value (plain integers and arrays of them), so that
/// [`read_entry`] may copy any payload bytes into it.
pub unsafe trait Entry: Copy + 'static {}

/// The entry of type `T` at the start of `payload`, or `None` when the payload is shorter.
pub fn read_entry<T: Entry>(payload: &[u8]) -> Option<T> {
    if payload.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: `T: Entry` is plain old data, valid for any bytes, and the payload holds at
    // least `size_of::<T>()` of them; the read is unaligned.
    Some(unsafe { payload.as_ptr().cast::<T>().read_unaligned() })
}

/// The bytes of an entry, as its filter reads them.
pub fn entry_bytes<T: Entry>(entry: &T) -> &[u8] {
    // SAFETY: `T: Entry` is `#[repr(C)]` plain old data; its padding bytes were written as
    // part of the whole value (entries are built field by field from zeroed structs or with
    // explicit pad fields), so every byte is initialised.
    unsafe { core::slice::from_raw_parts((entry as *const T).cast::<u8>(), size_of::<T>()) }
}

/// The common header of `payload`, or `None` when it is shorter than one.
pub fn entry_header(payload: &[u8]) -> Option<TraceEntry> {
    read_entry::<TraceEntry>(payload)
}

// SAFETY: repr(C), plain integers.
unsafe impl Entry for TraceEntry {}

/// `ftrace:function` (`TRACE_FN`, Linux's `struct ftrace_entry`): a traced function's entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FtraceEntry {
    pub ent: TraceEntry,
    /// The traced function's patch site.
    pub ip: u64,
    /// Where it was called from.
    pub parent_ip: u64,
}
// SAFETY: repr(C), the header first, plain integers.
unsafe impl Entry for FtraceEntry {}

impl FtraceEntry {
    /// The entry's words, byte for byte its `#[repr(C)]` layout (see [`TraceEntry::word`]).
    #[inline(always)]
    pub const fn words(self) -> [u64; 3] {
        [self.ent.word(), self.ip, self.parent_ip]
    }
}

pub static FTRACE_FIELDS: [Field; 2] = [
    Field::new(
        "unsigned long",
        "ip",
        offset_of!(FtraceEntry, ip),
        8,
        FieldType::U,
    ),
    Field::new(
        "unsigned long",
        "parent_ip",
        offset_of!(FtraceEntry, parent_ip),
        8,
        FieldType::U,
    ),
];

/// Frames of a `kernel_stack` entry as its `format` declares them (Linux's
/// `FTRACE_STACK_ENTRIES`); a recorded entry holds `size` frames, as many as were found.
pub const FTRACE_STACK_ENTRIES: usize = 8;

/// `ftrace:kernel_stack` (`TRACE_STACK`, Linux's `struct stack_entry`): `size` return
/// addresses follow this header, innermost first.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackEntry {
    pub ent: TraceEntry,
    /// How many frames follow.
    pub size: i32,
    /// Keeps `caller` 8-byte aligned, where Linux's `unsigned long caller[]` is.
    pub _pad: u32,
}
// SAFETY: repr(C), the header first, plain integers.
unsafe impl Entry for StackEntry {}

pub static STACK_FIELDS: [Field; 2] = [
    Field::new("int", "size", offset_of!(StackEntry, size), 4, FieldType::S),
    Field::new(
        "unsigned long",
        "caller",
        size_of::<StackEntry>(),
        8 * FTRACE_STACK_ENTRIES,
        FieldType::Array {
            len: FTRACE_STACK_ENTRIES,
        },
    ),
];

/// The frames after a `kernel_stack` entry's header: at most its `size`, up to the first zero.
pub fn stack_frames(payload: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let size = read_entry::<StackEntry>(payload).map_or(0, |e| e.size.max(0) as usize);
    payload
        .get(size_of::<StackEntry>()..)
        .unwrap_or_default()
        .as_chunks::<8>()
        .0
        .iter()
        .take(size)
        .map(|frame| u64::from_le_bytes(*frame))
        .take_while(|&ip| ip != 0)
}

/// `ftrace:print` (`TRACE_PRINT`, Linux's `struct print_entry`): a `trace_marker` write; the
/// text follows this header.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintEntry {
    pub ent: TraceEntry,
    /// The writer's instruction pointer (Linux's `_THIS_IP_` in `tracing_mark_write`).
    pub ip: u64,
}
// SAFETY: repr(C), the header first, plain integers.
unsafe impl Entry for PrintEntry {}

pub static PRINT_FIELDS: [Field; 2] = [
    Field::new(
        "unsigned long",
        "ip",
        offset_of!(PrintEntry, ip),
        8,
        FieldType::U,
    ),
    Field::new(
        "char",
        "buf",
        size_of::<PrintEntry>(),
        0,
        FieldType::DynArray,
    ),
];

/// The text of a `print` entry (what follows its header), up to the first invalid UTF-8 byte.
pub fn print_text(payload: &[u8]) -> &str {
    let text = payload.get(size_of::<PrintEntry>()..).unwrap_or_default();
    match core::str::from_utf8(text) {
        Ok(text) => text,
        Err(e) => core::str::from_utf8(&text[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// `ftrace:funcgraph_entry` (`TRACE_GRAPH_ENT`, Linux's `struct ftrace_graph_ent_entry`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FtraceGraphEntEntry {
    pub ent: TraceEntry,
    /// The function's patch site.
    pub func: u64,
    /// Its call depth (0 outermost).
    pub depth: i32,
    pub _pad: u32,
}
// SAFETY: repr(C), the header first, plain integers.
unsafe impl Entry for FtraceGraphEntEntry {}

impl FtraceGraphEntEntry {
    /// The entry's words, byte for byte its `#[repr(C)]` layout (see [`TraceEntry::word`]).
    #[inline(always)]
    pub const fn words(self) -> [u64; 3] {
        [
            self.ent.word(),
            self.func,
            self.depth as u32 as u64 | (self._pad as u64) << 32,
        ]
    }
}

pub static GRAPH_ENT_FIELDS: [Field; 2] = [
    Field::new(
        "unsigned long",
        "func",
        offset_of!(FtraceGraphEntEntry, func),
        8,
        FieldType::U,
    ),
    Field::new(
        "int",
        "depth",
        offset_of!(FtraceGraphEntEntry, depth),
        4,
        FieldType::S,
    ),
];

/// `ftrace:funcgraph_exit` (`TRACE_GRAPH_RET`, Linux's `struct ftrace_graph_ret_entry` with
/// `CONFIG_FUNCTION_GRAPH_RETVAL`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FtraceGraphRetEntry {
    pub ent: TraceEntry,
    /// The function's patch site.
    pub func: u64,
    /// x0 at the return.
    pub retval: u64,
    /// Its call depth.
    pub depth: i32,
    /// Returns lost to a full shadow stack (always 0: a full stack is not hooked at all).
    pub overrun: u32,
    /// Trace clock at the entry.
    pub calltime: u64,
    /// Trace clock at the return.
    pub rettime: u64,
}
// SAFETY: repr(C), the header first, plain integers.
unsafe impl Entry for FtraceGraphRetEntry {}

impl FtraceGraphRetEntry {
    /// The entry's words, byte for byte its `#[repr(C)]` layout (see [`TraceEntry::word`]).
    #[inline(always)]
    pub const fn words(self) -> [u64; 6] {
        [
            self.ent.word(),
            self.func,
            self.retval,
            self.depth as u32 as u64 | (self.overrun as u64) << 32,
            self.calltime,
            self.rettime,
        ]
    }
}

pub static GRAPH_RET_FIELDS: [Field; 6] = [
    Field::new(
        "unsigned long",
        "func",
        offset_of!(FtraceGraphRetEntry, func),
        8,
        FieldType::U,
    ),
    Field::new(
        "unsigned long",
        "retval",
        offset_of!(FtraceGraphRetEntry, retval),
        8,
        FieldType::U,
    ),
    Field::new(
        "int",
        "depth",
        offset_of!(FtraceGraphRetEntry, depth),
        4,
        FieldType::S,
    ),
    Field::new(
        "unsigned int",
        "overrun",
        offset_of!(FtraceGraphRetEntry, overrun),
        4,
        FieldType::U,
    ),
    Field::new(
        "unsigned long long",
        "calltime",
        offset_of!(FtraceGraphRetEntry, calltime),
        8,
        FieldType::U,
    ),
    Field::new(
        "unsigned long long",
        "rettime",
        offset_of!(FtraceGraphRetEntry, rettime),
        8,
        FieldType::U,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_linuxs() {
        assert_eq!(ENTRY_HDR_SIZE, 8);
        assert_eq!(size_of::<FtraceEntry>(), 24);
        assert_eq!(size_of::<FtraceGraphEntEntry>(), 24);
        assert_eq!(size_of::<FtraceGraphRetEntry>(), 48);
        assert_eq!(offset_of!(FtraceGraphRetEntry, overrun), 28);
        assert_eq!(size_of::<StackEntry>(), 16);
        assert_eq!(size_of::<PrintEntry>(), 16);
    }

    #[test]
    fn entries_read_back_as_written() {
        let e = FtraceEntry {
            ent: TraceEntry {
                type_: TRACE_FN,
                flags: TRACE_FLAG_IRQS_OFF,
                preempt_count: 2,
                pid: 7,
            },
            ip: 0x1234,
            parent_ip: 0x5678,
        };
        let bytes = entry_bytes(&e);
        assert_eq!(&bytes[..8], &[1, 0, 1, 2, 7, 0, 0, 0]);
        assert_eq!(read_entry::<FtraceEntry>(bytes), Some(e));
        assert_eq!(read_entry::<FtraceEntry>(&bytes[..23]), None);
        assert_eq!(entry_header(bytes).map(|h| h.pid), Some(7));
    }

    /// The words the fast paths write are the structs' bytes.
    #[test]
    fn words_are_the_repr_c_bytes() {
        fn bytes_of(words: &[u64]) -> Vec<u8> {
            words.iter().flat_map(|w| w.to_le_bytes()).collect()
        }
        let ent = TraceEntry {
            type_: 0x1234,
            flags: 0x56,
            preempt_count: 0x78,
            pid: -2,
        };
        let f = FtraceEntry {
            ent,
            ip: 1,
            parent_ip: u64::MAX,
        };
        assert_eq!(bytes_of(&f.words()), entry_bytes(&f));
        let g = FtraceGraphEntEntry {
            ent,
            func: 3,
            depth: -1,
            _pad: 0,
        };
        assert_eq!(bytes_of(&g.words()), entry_bytes(&g));
        let r = FtraceGraphRetEntry {
            ent,
            func: 4,
            retval: 5,
            depth: 6,
            overrun: 7,
            calltime: 8,
            rettime: 9,
        };
        assert_eq!(bytes_of(&r.words()), entry_bytes(&r));
    }

    #[test]
    fn stack_frames_stop_at_size_and_zero() {
        let head = StackEntry {
            ent: TraceEntry::default(),
            size: 3,
            _pad: 0,
        };
        let mut p = entry_bytes(&head).to_vec();
        for ip in [10u64, 20, 30, 40] {
            p.extend_from_slice(&ip.to_le_bytes());
        }
        assert_eq!(stack_frames(&p).collect::<Vec<_>>(), [10, 20, 30]);
        p[size_of::<StackEntry>() + 8..size_of::<StackEntry>() + 16].fill(0);
        assert_eq!(stack_frames(&p).collect::<Vec<_>>(), [10]);
        assert_eq!(stack_frames(&p[..4]).count(), 0);
    }

    #[test]
    fn print_text_is_the_valid_prefix() {
        let head = PrintEntry {
            ent: TraceEntry::default(),
            ip: 1,
        };
        let mut p = entry_bytes(&head).to_vec();
        p.extend_from_slice(b"hi\n\xff");
        assert_eq!(print_text(&p), "hi\n");
    }
}
