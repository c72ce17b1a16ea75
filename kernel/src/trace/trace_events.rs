//! Event descriptions (Linux: `struct trace_event_call` and `struct ftrace_event_field`, from
//! `kernel/trace/trace_events.c`): what every entry type is (system, name, typed fields, print
//! format, print function), and the `format` text `events/SYSTEM/EVENT/format` shows for it.
//!
//! Every entry type, the ftrace-internal ones included, is a [`TraceEventCall`] registered
//! with [`super::trace_output::register_trace_event`], which gives it its id.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU16, AtomicU32, Ordering};

use spin::Mutex;

use super::trace_events_filter::EventFilter;
use super::trace_events_trigger::ArmedTrigger;

use super::trace_entries::COMMON_FIELDS;
use super::trace_output::PrintFn;
use crate::fs::Errno;

/// How a field's type is written in `format` (Linux keeps it in the type text itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A signed scalar: `signed:1`.
    S,
    /// An unsigned scalar (or a pointer): `signed:0`.
    U,
    /// `TYPE name[len]`, a fixed array of unsigned elements (`char comm[16]`).
    Array { len: usize },
    /// `TYPE name[]`, the rest of the entry (a `print` entry's text).
    DynArray,
    /// `__data_loc TYPE[] name`: a `u32` holding the data's offset in the entry (low 16 bits)
    /// and its length (high 16 bits), Linux's `__string()`.
    DataLoc,
    /// `__data_loc TYPE name`: a `__data_loc` Linux declares without `[]` (`__cpumask()`,
    /// `__data_loc cpumask_t cpumask`).
    DataLocScalar,
}

/// One field of an entry (Linux's `struct ftrace_event_field`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The C type as `format` names it, without the array part (`char` for `char comm[16]`).
    pub c_type: Cow<'static, str>,
    pub name: Cow<'static, str>,
    /// Byte offset in the entry, the common header included.
    pub offset: usize,
    /// Bytes (an array's whole size; 4 for a `__data_loc`; 0 for a dynamic array).
    pub size: usize,
    pub ty: FieldType,
    /// `signed:` of `format`: a signed scalar, or whatever a probe argument's type says
    /// (Linux declares probe strings signed).
    pub signed: bool,
}

impl Field {
    pub const fn new(
        c_type: &'static str,
        name: &'static str,
        offset: usize,
        size: usize,
        ty: FieldType,
    ) -> Self {
        Self {
            c_type: Cow::Borrowed(c_type),
            name: Cow::Borrowed(name),
            offset,
            size,
            ty,
            signed: matches!(ty, FieldType::S),
        }
    }

    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// Whether the field holds text (`char` arrays and `__data_loc char[]`), which filters
    /// compare as strings.
    pub fn is_string(&self) -> bool {
        self.c_type == "char"
            && matches!(
                self.ty,
                FieldType::Array { .. } | FieldType::DynArray | FieldType::DataLoc
            )
    }

    /// One `format` line (Linux's `f_show`).
    pub fn write_format(&self, w: &mut dyn Write) -> fmt::Result {
        let (ty, name) = (&self.c_type, &self.name);
        w.write_str("\tfield:")?;
        match self.ty {
            FieldType::S | FieldType::U => write!(w, "{ty} {name}")?,
            FieldType::Array { len } => write!(w, "{ty} {name}[{len}]")?,
            FieldType::DynArray => write!(w, "{ty} {name}[]")?,
            FieldType::DataLoc => write!(w, "__data_loc {ty}[] {name}")?,
            FieldType::DataLocScalar => write!(w, "__data_loc {ty} {name}")?,
        }
        writeln!(
            w,
            ";\toffset:{};\tsize:{};\tsigned:{};",
            self.offset,
            self.size,
            u8::from(self.is_signed())
        )
    }
}

/// The [`FieldType`] of a Rust field type, for the fields a [`crate::trace_event!`] declares.
pub trait FieldTypeOf {
    const TYPE: FieldType;
}

macro_rules! field_types {
    ($ty:expr => $($t:ty),*) => { $(impl FieldTypeOf for $t { const TYPE: FieldType = $ty; })* };
}
field_types!(FieldType::S => i8, i16, i32, i64);
field_types!(FieldType::U => u8, u16, u32, u64, bool);

impl<const N: usize> FieldTypeOf for [u8; N] {
    const TYPE: FieldType = FieldType::Array { len: N };
}

impl<const N: usize> FieldTypeOf for [u64; N] {
    const TYPE: FieldType = FieldType::Array { len: N };
}

/// A `__data_loc` field: where the entry's dynamic data is (offset from the entry's start in
/// the low 16 bits, length in the high 16).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataLoc(pub u32);

impl DataLoc {
    /// The dynamic data right after an entry of `entry_size` bytes, `len` bytes long.
    pub const fn after(entry_size: usize, len: usize) -> Self {
        Self(((len as u32) << 16) | (entry_size as u32 & 0xffff))
    }

    /// The bytes it points at in `record`, or none when it points outside it.
    pub fn get(self, record: &[u8]) -> &[u8] {
        let (off, len) = ((self.0 & 0xffff) as usize, (self.0 >> 16) as usize);
        record.get(off..off + len).unwrap_or_default()
    }

    /// The string it points at (Linux's `__get_str`): up to the first NUL.
    pub fn get_str(self, record: &[u8]) -> &str {
        let bytes = self.get(record);
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        core::str::from_utf8(&bytes[..end]).unwrap_or("")
    }
}

impl FieldTypeOf for DataLoc {
    const TYPE: FieldType = FieldType::DataLoc;
}

/// A `__cpumask()` field: a [`DataLoc`] to a CPU bitmask, which `format` declares as
/// `__data_loc cpumask_t`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpumaskLoc(pub DataLoc);

impl FieldTypeOf for CpumaskLoc {
    const TYPE: FieldType = FieldType::DataLocScalar;
}

/// Linux's `TRACE_EVENT_FL_IGNORE_ENABLE`: the ftrace-internal entries have a `format` but no
/// `enable` (the tracers write them).
pub const TRACE_EVENT_FL_IGNORE_ENABLE: u32 = 1 << 4;
/// An ftrace entry with an `id` file (Linux gives one to the entries it registers for perf:
/// `function` and `print`). Events with a probe always have one.
pub const TRACE_EVENT_FL_HAS_ID: u32 = 1 << 31;

/// Registers (`true`) or unregisters the event's probe on its tracepoint (Linux's
/// `trace_event_class.reg` with `TRACE_REG_REGISTER`/`TRACE_REG_UNREGISTER`).
pub type RegFn = fn(&'static TraceEventCall, bool) -> Result<(), Errno>;

/// `EVENT_FILE_FL_*`: the event is enabled (its probe records).
pub const EVENT_FILE_FL_ENABLED: u32 = 1 << 0;
/// A filter is set.
pub const EVENT_FILE_FL_FILTERED: u32 = 1 << 3;
/// Triggers hold the event registered (soft mode): its probe runs even while disabled.
pub const EVENT_FILE_FL_SOFT_MODE: u32 = 1 << 5;
/// In soft mode, and not enabled: the probe records nothing (`enable` reads `0*`).
pub const EVENT_FILE_FL_SOFT_DISABLED: u32 = 1 << 6;
/// Triggers are attached.
pub const EVENT_FILE_FL_TRIGGER_MODE: u32 = 1 << 7;
/// Some trigger has a filter, so triggers run after the entry is built.
pub const EVENT_FILE_FL_TRIGGER_COND: u32 = 1 << 8;
/// `set_event_pid` or `set_event_notrace_pid` is set.
pub const EVENT_FILE_FL_PID_FILTER: u32 = 1 << 9;
/// Was ever enabled (Linux keeps it for `EVENT_FILE_FL_WAS_ENABLED`).
pub const EVENT_FILE_FL_WAS_ENABLED: u32 = 1 << 10;

/// An entry type (Linux's `struct trace_event_call` with its `struct trace_event` and the
/// global instance's `struct trace_event_file`).
pub struct TraceEventCall {
    pub system: Cow<'static, str>,
    pub name: Cow<'static, str>,
    /// The fields after the common header.
    pub fields: Cow<'static, [Field]>,
    /// The `print fmt:` text of `format`: a quoted format and its arguments, as libtraceevent
    /// parses them.
    pub print_fmt: Cow<'static, str>,
    /// Prints a recorded entry after the context columns (with its trailing newline).
    pub print: PrintFn,
    /// `TRACE_EVENT_FL_*` bits.
    pub flags: u32,
    /// The id (`common_type`), 0 until registered (or fixed, for the ftrace entries).
    id: AtomicU16,
    /// Attaches the event's probe to its tracepoint; `None` for the ftrace entries.
    pub reg: Option<RegFn>,
    /// `EVENT_FILE_FL_*` bits, read by the probe.
    pub file_flags: AtomicU32,
    /// Soft-mode references (Linux's `sm_ref`), changed under the event mutex.
    pub sm_ref: AtomicU32,
    /// The filter its probe applies (`EVENT_FILE_FL_FILTERED`), published by pointer swap
    /// and freed after a grace period; null without one.
    pub filter: AtomicPtr<EventFilter>,
    /// What `filter` reads back: the filter's text or the last write's error, `None` for
    /// `none`. Changed under the event mutex.
    pub filter_text: Mutex<Option<String>>,
    /// The triggers its probe runs (`EVENT_FILE_FL_TRIGGER_MODE`), newest first, published
    /// like the filter; null without any.
    pub triggers: AtomicPtr<Vec<Arc<ArmedTrigger>>>,
}

impl TraceEventCall {
    /// An event whose id [`super::trace_output::register_trace_event`] allocates (`id` 0) or
    /// that has Linux's fixed one.
    pub const fn new(
        system: &'static str,
        name: &'static str,
        id: u16,
        fields: &'static [Field],
        print_fmt: &'static str,
        print: PrintFn,
        flags: u32,
    ) -> Self {
        Self {
            system: Cow::Borrowed(system),
            name: Cow::Borrowed(name),
            fields: Cow::Borrowed(fields),
            print_fmt: Cow::Borrowed(print_fmt),
            print,
            flags,
            id: AtomicU16::new(id),
            reg: None,
            file_flags: AtomicU32::new(0),
            sm_ref: AtomicU32::new(0),
            filter: AtomicPtr::new(ptr::null_mut()),
            filter_text: Mutex::new(None),
            triggers: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// An event made at run time (a probe event): owned names, fields and format, its id
    /// allocated when registered.
    pub fn new_dynamic(
        system: String,
        name: String,
        fields: Vec<Field>,
        print_fmt: String,
        print: PrintFn,
        reg: RegFn,
    ) -> Self {
        let mut call = Self::new("", "", 0, &[], "", print, 0);
        call.system = Cow::Owned(system);
        call.name = Cow::Owned(name);
        call.fields = Cow::Owned(fields);
        call.print_fmt = Cow::Owned(print_fmt);
        call.reg = Some(reg);
        call
    }

    /// A tracepoint event (a [`crate::trace_event!`]): its id is allocated when registered.
    pub const fn new_event(
        system: &'static str,
        name: &'static str,
        fields: &'static [Field],
        print_fmt: &'static str,
        print: PrintFn,
        reg: RegFn,
    ) -> Self {
        let mut call = Self::new(system, name, 0, fields, print_fmt, print, 0);
        call.reg = Some(reg);
        call
    }

    /// The event's id (`common_type`; `events/.../id`).
    #[inline(always)]
    pub fn id(&self) -> u16 {
        self.id.load(Ordering::Relaxed)
    }

    pub(super) fn set_id(&self, id: u16) {
        self.id.store(id, Ordering::Relaxed);
    }

    /// The published filter, if any. Callers hold IRQs masked (a probe) or the event mutex
    /// (which frees filters only after a grace period).
    #[inline(always)]
    pub fn active_filter(&self) -> Option<&EventFilter> {
        // SAFETY: see above: a published filter outlives every such reader.
        unsafe { self.filter.load(Ordering::Acquire).as_ref() }
    }

    /// The published triggers, newest first; callers as for [`Self::active_filter`].
    #[inline(always)]
    pub fn active_triggers(&self) -> &[Arc<ArmedTrigger>] {
        // SAFETY: as for `active_filter`.
        unsafe { self.triggers.load(Ordering::Acquire).as_ref() }.map_or(&[], |v| &v[..])
    }

    /// A field by name: the event's own, then the common ones.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .chain(COMMON_FIELDS.iter())
            .find(|f| f.name == name)
    }

    /// `events/SYSTEM/EVENT/format` (Linux's `f_show` and friends).
    pub fn write_format(&self, w: &mut dyn Write) -> fmt::Result {
        writeln!(w, "name: {}", self.name)?;
        writeln!(w, "ID: {}", self.id())?;
        writeln!(w, "format:")?;
        for field in &COMMON_FIELDS {
            field.write_format(w)?;
        }
        writeln!(w)?;
        for field in self.fields.iter() {
            field.write_format(w)?;
        }
        writeln!(w)?;
        writeln!(w, "print fmt: {}", self.print_fmt)
    }
}

/// Defines a tracepoint and its event in one place (Linux's `TRACE_EVENT(name, proto, args,
/// struct, assign, print)`):
///
/// ```text
/// trace_event! {
///     /// Docs.
///     sched: sched_foo,
///     proto: (task: &Task, cpu: u32),
///     entry: { pid: i32 = "pid_t", target_cpu: i32 = "int" },
///     assign: |e| { e.pid = task.pid() as i32; e.target_cpu = cpu as i32; },
///     print_fmt: "\"pid=%d target_cpu=%03d\", REC->pid, REC->target_cpu",
///     print: |e, _rec, w| write!(w, "pid={} target_cpu={:03}", e.pid, e.target_cpu),
/// }
/// ```
///
/// defines the tracepoint `__tracepoint_sched_foo` (a static key and a probe array), the call
/// site `trace_sched_foo(task, cpu)` (one NOP while nothing is attached),
/// `register_trace_sched_foo` / `unregister_trace_sched_foo` for probes
/// (`fn(data, irqs_off, task, cpu)`), the entry struct `TraceEventRawSchedFoo` (the common
/// header, then the fields in order, `#[repr(C)]`), its field list for `format`,
/// and the event `EVENT_SCHED_FOO` whose probe builds and records an entry. `print` writes the
/// text after `name: `; the entry is `e`, the whole record `_rec` (for `__data_loc` fields).
/// Fields are integers, `bool`, byte arrays (`[u8; N]` for `char name[N]`) or [`DataLoc`]
/// (Linux's `__string`/`__bitmask`): the optional `tail: EXPR,` after `assign` gives the
/// dynamic bytes (a `&[u8]`) recorded after the entry, and `assign` points the `DataLoc`
/// field at them with [`DataLoc::after`]. An optional `regfunc: F, unregfunc: G,` (Linux's
/// `TRACE_EVENT_FN`) runs `F` before the tracepoint's first probe is attached and `G` after its
/// last is removed.
#[macro_export]
macro_rules! trace_event {
    (
        $(#[$meta:meta])*
        $system:ident : $name:ident,
        proto: ($($arg:ident : $argty:ty),* $(,)?),
        entry: { $($field:ident : $fty:ty = $ctype:literal),* $(,)? },
        assign: |$e:ident| $assign:block,
        $(tail: $tail:expr,)?
        $(regfunc: $regfunc:path, unregfunc: $unregfunc:path,)?
        print_fmt: $print_fmt:expr,
        print: |$pe:ident, $prec:pat_param, $pw:ident| $print:expr $(,)?
    ) => { $crate::__pastey::paste! {
        /// The tracepoint's static key: its call sites are one NOP while it is off.
        pub static [<__TRACEPOINT_KEY_ $name:upper>]: $crate::jump_label::StaticKeyFalse =
            $crate::jump_label::StaticKeyFalse::new();

        $(#[$meta])*
        #[allow(non_upper_case_globals)]
        pub static [<__tracepoint_ $name>]:
            $crate::tracepoint::Tracepoint<fn(*const (), bool, $($argty),*)> =
            $crate::tracepoint::Tracepoint::new(
                stringify!($name),
                &[<__TRACEPOINT_KEY_ $name:upper>].key,
                [<__tp_stub_ $name>] as fn(*const (), bool, $($argty),*),
            )
                $(.with_regfunc($regfunc, $unregfunc))?;

        /// What an unregistered probe's slot runs when the smaller array could not be
        /// allocated (Linux's `tp_stub_func`).
        fn [<__tp_stub_ $name>](_: *const (), _: bool, $(_: $argty),*) {}

        $(#[$meta])*
        ///
        /// The call site: one NOP while no probe is attached. The probes are reached
        /// through an instrumentation region, so `noinstr` code may have call sites too.
        #[inline(always)]
        pub fn [<trace_ $name>]($($arg: $argty),*) {
            if arch::static_branch_unlikely!([<__TRACEPOINT_KEY_ $name:upper>]) {
                // `arch::instrumentation!` with the arguments moved in: a closure that
                // borrowed them would make the disabled path store them to the stack.
                arch::instrumentation_region(
                    #[inline(always)]
                    move || [<__traceiter_ $name>]($($arg),*),
                )
            }
        }

        /// Calls every probe of the tracepoint (out of line: the call site stays small).
        #[cold]
        #[inline(never)]
        pub fn [<__traceiter_ $name>]($($arg: $argty),*) {
            [<__tracepoint_ $name>].call(|probe, data, irqs_off| probe(data, irqs_off, $($arg),*));
        }

        /// Attaches `probe` (with `data`) to the tracepoint.
        pub fn [<register_trace_ $name>](
            probe: fn(*const (), bool, $($argty),*),
            data: *const (),
        ) -> Result<(), $crate::fs::Errno> {
            [<__tracepoint_ $name>].probe_register(probe, probe as *const (), data)
        }

        /// Attaches `probe` (with `data`) to run before the probes of lower `prio` (the
        /// events' own have [`TRACEPOINT_DEFAULT_PRIO`](crate::tracepoint::TRACEPOINT_DEFAULT_PRIO)).
        pub fn [<register_trace_prio_ $name>](
            probe: fn(*const (), bool, $($argty),*),
            data: *const (),
            prio: i32,
        ) -> Result<(), $crate::fs::Errno> {
            [<__tracepoint_ $name>].probe_register_prio(probe, probe as *const (), data, prio)
        }

        /// Detaches `probe` (with `data`); no CPU runs it through this tracepoint afterwards.
        pub fn [<unregister_trace_ $name>](
            probe: fn(*const (), bool, $($argty),*),
            data: *const (),
        ) -> Result<(), $crate::fs::Errno> {
            [<__tracepoint_ $name>].probe_unregister(probe as *const (), data)
        }

        /// The event's entry (Linux's `struct trace_event_raw_*`).
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct [<TraceEventRaw $name:camel>] {
            pub ent: $crate::trace::trace_entries::TraceEntry,
            $(pub $field: $fty),*
        }

        // SAFETY: repr(C), the header first, integer fields: valid for any bytes.
        unsafe impl $crate::trace::trace_entries::Entry for [<TraceEventRaw $name:camel>] {}

        static [<__FIELDS_ $name:upper>]: [$crate::trace::trace_events::Field;
            0 $(+ { let _ = stringify!($field); 1 })*] = [
            $($crate::trace::trace_events::Field::new(
                $ctype,
                stringify!($field),
                core::mem::offset_of!([<TraceEventRaw $name:camel>], $field),
                core::mem::size_of::<$fty>(),
                <$fty as $crate::trace::trace_events::FieldTypeOf>::TYPE,
            )),*
        ];

        fn [<__print_ $name>](
            call: &$crate::trace::trace_events::TraceEventCall,
            record: &[u8],
            $pw: &mut dyn core::fmt::Write,
            _ctx: &$crate::trace::trace_output::PrintCtx<'_>,
        ) -> core::fmt::Result {
            #[allow(unused_imports)]
            use core::fmt::Write as _;
            let $pe = $crate::trace::trace_entries::read_entry::<[<TraceEventRaw $name:camel>]>(record)
                .ok_or(core::fmt::Error)?;
            let $prec = record;
            write!($pw, "{}: ", call.name)?;
            $print?;
            $pw.write_char('\n')
        }

        fn [<__probe_ $name>](data: *const (), irqs_off: bool, $($arg: $argty),*) {
            // SAFETY: `data` is the `&'static TraceEventCall` the event registered with.
            let call = unsafe { &*data.cast::<$crate::trace::trace_events::TraceEventCall>() };
            // Shadowed by the event's own `tail`, if it has one.
            #[allow(unused_variables)]
            let tail: &[u8] = &[];
            $(let tail: &[u8] = $tail;)?
            $crate::trace::events::trace_event_buffer_record(
                call,
                irqs_off,
                tail,
                #[inline(always)]
                move |$e: &mut [<TraceEventRaw $name:camel>]| $assign,
            );
        }

        fn [<__reg_ $name>](
            call: &'static $crate::trace::trace_events::TraceEventCall,
            on: bool,
        ) -> Result<(), $crate::fs::Errno> {
            let data = core::ptr::from_ref(call).cast::<()>();
            if on {
                [<register_trace_ $name>]([<__probe_ $name>], data)
            } else {
                [<unregister_trace_ $name>]([<__probe_ $name>], data)
            }
        }

        $(#[$meta])*
        pub static [<EVENT_ $name:upper>]: $crate::trace::trace_events::TraceEventCall =
            $crate::trace::trace_events::TraceEventCall::new_event(
                stringify!($system),
                stringify!($name),
                &[<__FIELDS_ $name:upper>],
                $print_fmt,
                [<__print_ $name>],
                [<__reg_ $name>],
            );
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::trace_entries::{FTRACE_FIELDS, PRINT_FIELDS, STACK_FIELDS, TRACE_FN};
    use alloc::string::String;

    fn no_print(
        _: &TraceEventCall,
        _: &[u8],
        _: &mut dyn Write,
        _: &crate::trace::trace_output::PrintCtx<'_>,
    ) -> fmt::Result {
        Ok(())
    }

    #[test]
    fn function_format_is_linuxs() {
        let call = TraceEventCall::new(
            "ftrace",
            "function",
            TRACE_FN,
            &FTRACE_FIELDS,
            "\" %ps <-- %ps\", (void *)REC->ip, (void *)REC->parent_ip",
            no_print,
            TRACE_EVENT_FL_IGNORE_ENABLE,
        );
        let mut s = String::new();
        call.write_format(&mut s).unwrap();
        assert_eq!(
            s,
            "name: function\nID: 1\nformat:\n\
             \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
             \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
             \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
             \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
             \tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\
             \tfield:unsigned long parent_ip;\toffset:16;\tsize:8;\tsigned:0;\n\n\
             print fmt: \" %ps <-- %ps\", (void *)REC->ip, (void *)REC->parent_ip\n"
        );
    }

    #[test]
    fn array_shapes_print_as_linux_declares_them() {
        let line = |f: &Field| {
            let mut s = String::new();
            f.write_format(&mut s).unwrap();
            s
        };
        assert_eq!(
            line(&STACK_FIELDS[1]),
            "\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n"
        );
        assert_eq!(
            line(&PRINT_FIELDS[1]),
            "\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:0;\n"
        );
        let name = Field::new("char", "name", 12, 4, FieldType::DataLoc);
        assert_eq!(
            line(&name),
            "\tfield:__data_loc char[] name;\toffset:12;\tsize:4;\tsigned:0;\n"
        );
        assert!(name.is_string() && PRINT_FIELDS[1].is_string() && !STACK_FIELDS[1].is_string());
        let mask = Field::new(
            "cpumask_t",
            "cpumask",
            8,
            4,
            <CpumaskLoc as FieldTypeOf>::TYPE,
        );
        assert_eq!(
            line(&mask),
            "\tfield:__data_loc cpumask_t cpumask;\toffset:8;\tsize:4;\tsigned:0;\n"
        );
        assert!(!mask.is_string());
    }
}
