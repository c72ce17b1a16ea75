//! Event descriptions (Linux: `struct trace_event_call` and `struct ftrace_event_field`, from
//! `kernel/trace/trace_events.c`): what every entry type is (system, name, typed fields, print
//! format, print function), and the `format` text `events/SYSTEM/EVENT/format` shows for it.
//!
//! Every entry type, the ftrace-internal ones included, is a [`TraceEventCall`] registered
//! with [`super::trace_output::register_trace_event`], which gives it its id.

use alloc::borrow::Cow;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU16, Ordering};

use super::trace_entries::COMMON_FIELDS;
use super::trace_output::PrintFn;

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
        }
    }

    pub fn is_signed(&self) -> bool {
        self.ty == FieldType::S
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

/// Linux's `TRACE_EVENT_FL_IGNORE_ENABLE`: the ftrace-internal entries have a `format` but no
/// `enable` (the tracers write them).
pub const TRACE_EVENT_FL_IGNORE_ENABLE: u32 = 1 << 4;

/// An entry type (Linux's `struct trace_event_call` with its `struct trace_event`).
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
        }
    }

    /// The event's id (`common_type`; `events/.../id`).
    #[inline(always)]
    pub fn id(&self) -> u16 {
        self.id.load(Ordering::Relaxed)
    }

    pub(super) fn set_id(&self, id: u16) {
        self.id.store(id, Ordering::Relaxed);
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
    }
}
