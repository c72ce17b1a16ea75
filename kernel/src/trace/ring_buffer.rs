//! The per-CPU trace ring buffer (Linux: `kernel/trace/ring_buffer.c`): the storage under
//! `trace`, `trace_pipe`, `per_cpu/cpuN/{trace,trace_pipe,stats}` and `buffer_size_kb`.
//!
//! # Layout
//! Each CPU owns `nr_pages + 1` data pages of [`BUF_PAGE_SIZE`] bytes (a 4096-byte page less
//! Linux's 16-byte page header, so sizes match Linux's `buffer_size_kb` arithmetic; the extra
//! page plays the part of Linux's reader page). An event is a 16-byte header (payload length,
//! then a full 64-bit timestamp) and the payload padded to 8 bytes. A full timestamp costs 8
//! bytes per event more than Linux's 27-bit deltas, but needs no TIME_EXTEND events and no
//! "previous timestamp" bookkeeping, which is what makes nested writes hard in Linux.
//!
//! Each page's *published* state is one atomic word: its generation `seq` (a per-CPU count of
//! page claims, so readers can tell the order of pages and notice a page being reused), how many
//! bytes and events are committed, and a reader pin count. Writers only append past the
//! committed bytes; readers only read below them, and only while the page is pinned. The
//! writers' reservation word of a page carries the low bits of its generation too.
//!
//! # Writer (lock-free, interrupt re-entrant, never waits)
//! Only the owning CPU writes (and interrupts on it may nest). `reserve` takes space on the
//! tail page with a compare-and-swap on the page's write offset, moving to the next page when
//! full. As in Linux, events become visible only when the *outermost* writer commits: nested
//! writers' commits just leave. The outermost one publishes its own event with one atomic add
//! when everything before it is published (the common case). Otherwise it publishes every
//! page from the oldest page with unpublished reservations (`commit_page`) to the tail. Then,
//! like Linux's `commits` counter, a per-CPU mark that every nested writer sets as it leaves
//! (and every writer clears before it reads the tail) tells it whether a nested writer
//! reserved after it and still needs publishing. So a nested event never exposes the
//! half-written event it interrupted.
//!
//! Nested writers run to completion inside the one they interrupt, at any instruction. Every
//! step of the writer is a compare-and-swap, or a store a nested writer cannot undo, and a move
//! of the tail is recorded before it starts, so a nested writer that needs to move the tail
//! finishes an interrupted move (onto the page already chosen) instead of starting another;
//! the interrupted writer then finds each of its steps done. Host tests run a nested writer
//! at every step (`nest_point!`).
//!
//! Moving the tail claims the next page with a compare-and-swap on its state word. A page a
//! reader has pinned is skipped (it is out of the ring, like Linux's reader page). In overwrite
//! mode (the default) claiming a page that still holds unread events drops them all, counted
//! in `overrun`; without overwrite the new event is dropped instead (`dropped events`). As in
//! Linux, the tail never moves onto the commit page (nested writers filled the whole ring):
//! the new event is dropped and counted as `commit overrun`.
//!
//! Write-path cost (the function tracer's budget is 150 instructions per call, ftrace_caller
//! included): no allocation, division, formatting, lock or bounds check; one exclusive
//! load/store pair to reserve, one to publish. `write_entry` inlines all of it and keeps the
//! page switch and the races out of line; so does `write_on_tail_page` for the event probes,
//! which leaves an event that needs the page switch pending for `write_pending`, called out of
//! line by the probe. Every call the inlined writer makes is its last act, so its callers keep
//! their values in caller-saved registers. A page's bookkeeping is four words (its data pointer
//! among them) and a CPU's buffer 256 bytes, so both are found with a shift. Entry and byte totals are not counted on the way:
//! the stats read them from the page states.
//!
//! The write path has no patch site (Linux builds `kernel/trace/` without `-pg`): the tracers
//! call it from `noinstr` code, and `cargo xtask build` checks that. rustc cannot take methods
//! out of patchable entry, so every write-path method is `#[inline(always)]`, and the parts
//! kept out of line (the cold paths and the full publish) are `noinstr` free functions, `rb_*`,
//! that the methods call.
//!
//! # Readers
//! Readers on any CPU serialise on a per-CPU spin lock the writer never touches. The consuming
//! reader keeps its current page pinned, so the writer never overwrites a half-read page. The
//! next page to read is the one with the smallest `seq` above the current one: that is the
//! oldest surviving page whatever the writer overwrote or skipped. [`Iter`] reads without
//! consuming; [`Merge`] merges CPUs by timestamp for either kind of reader.
//!
//! # Resize and reset
//! Both disable recording on that CPU, wait for an in-flight write there to finish, and then
//! rebuild the CPU's pages. Resizing drops the CPU's contents (Linux keeps what fits; the
//! tracefs files that resize, like `buffer_size_kb`, are rarely written while tracing). The new
//! pages of every CPU resized are allocated fallibly before any CPU is touched, so a size the
//! memory cannot hold fails (`ENOMEM`) with every ring, and its events, as they were.

use alloc::boxed::Box;
use alloc::collections::TryReserveError;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut, Range};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, compiler_fence};

use spin::Mutex;

/// A point between two steps of the write path at which a nested writer (an interrupt or a
/// probe hit on this CPU) may run to completion. Host tests install a hook that runs one there;
/// other builds compile it to nothing, so the kernel's write path is unchanged.
macro_rules! nest_point {
    ($name:literal) => {
        #[cfg(test)]
        tests::nest_point($name);
    };
}

/// The size of a ring-buffer page.
pub const PAGE_SIZE: usize = 4096;
/// Linux's per-page header (time stamp and commit); we keep it out of the data page, but size
/// pages as Linux does so `buffer_size_kb` converts to the same page counts.
pub const BUF_PAGE_HDR_SIZE: usize = 16;
/// Data bytes per page.
pub const BUF_PAGE_SIZE: usize = PAGE_SIZE - BUF_PAGE_HDR_SIZE;
/// Bytes of an event header: payload length (u32), 4 bytes of padding, timestamp (u64).
pub const RB_EVNT_HDR_SIZE: usize = 16;
/// Events and payloads are 8-byte aligned.
pub const RB_ALIGNMENT: usize = 8;
/// The largest payload one event can carry.
pub const BUF_MAX_DATA_SIZE: usize = BUF_PAGE_SIZE - RB_EVNT_HDR_SIZE;
/// Linux never gives a CPU fewer than two pages.
const MIN_NR_PAGES: usize = 2;

// The page state word: pins (bits 0-2), committed bytes (3-15), committed events (16-24),
// whether the consumer has entered this generation of the page (25) and the page's generation
// (26-63).
const PIN: u64 = 1;
const PIN_MASK: u64 = 0x7;
const COMMIT_SHIFT: u32 = 3;
const COMMIT_MASK: u64 = 0x1fff;
const ENTRIES_SHIFT: u32 = 16;
const ENTRIES_MASK: u64 = 0x1ff;
const PAGE_READ: u64 = 1 << 25;
const SEQ_SHIFT: u32 = 26;

// The writer's per-page reservation word: reserved bytes (0-15), events (16-31) and the low
// 32 bits of the page's generation (32-63), which make a reset of the word for a new
// generation a compare-and-swap no later value can match.
const WRITE_BYTES_MASK: u64 = 0xffff;
const WRITE_ENTRY: u64 = 1 << 16;
const WRITE_ENTRIES_MASK: u64 = 0xffff;
const WRITE_GEN_SHIFT: u32 = 32;

/// No move of the tail is in progress (see [`CpuBuffer::moving`]).
const NO_MOVE: u64 = u64::MAX;

/// The bit of a CPU buffer's `disabled` word that says recording is off (`tracing_on`); the
/// bits below [`READ_PAUSE`] count the resizes and resets that own the pages.
const RECORD_OFF: u32 = 1 << 31;
/// The bit that says a reader of `trace` has paused recording (Linux's `tracing_stop`, kept
/// apart from `tracing_on` as Linux keeps `record_disabled` apart from `RB_BUFFER_OFF`).
const READ_PAUSE: u32 = 1 << 30;
/// The bits of `disabled` that stop writers without owning the pages.
const STOP_BITS: u32 = RECORD_OFF | READ_PAUSE;

/// How often the writer retries a reservation whose CAS lost to a nested writer or a reader's
/// pin before giving up: bounds the write path, since it must never spin on a reader.
const RESERVE_RETRIES: u32 = 32;

const _: () = assert!(BUF_PAGE_SIZE as u64 <= COMMIT_MASK);
const _: () = assert!((BUF_PAGE_SIZE / RB_EVNT_HDR_SIZE) as u64 <= ENTRIES_MASK);

#[inline(always)]
fn state_seq(st: u64) -> u64 {
    st >> SEQ_SHIFT
}

#[inline(always)]
fn state_commit(st: u64) -> usize {
    ((st >> COMMIT_SHIFT) & COMMIT_MASK) as usize
}

#[inline(always)]
fn state_entries(st: u64) -> u64 {
    (st >> ENTRIES_SHIFT) & ENTRIES_MASK
}

#[inline(always)]
fn state_pinned(st: u64) -> bool {
    st & PIN_MASK != 0
}

/// The reservation word of a page freshly claimed as generation `seq`.
fn write_fresh(seq: u64) -> u64 {
    seq << WRITE_GEN_SHIFT
}

/// Whether reservation word `w` belongs to generation `seq` (it has been reset for it).
fn write_is_of(w: u64, seq: u64) -> bool {
    w >> WRITE_GEN_SHIFT == seq & 0xffff_ffff
}

/// A [`CpuBuffer::moving`] record: the tail is being moved from page `from` to page `to`.
fn move_record(from: usize, to: usize) -> u64 {
    ((from as u64) << 32) | to as u64
}

/// Bytes an event with a `len`-byte payload takes in a page.
#[inline(always)]
fn event_size(len: usize) -> usize {
    RB_EVNT_HDR_SIZE + ((len + RB_ALIGNMENT - 1) & !(RB_ALIGNMENT - 1))
}

/// Pages needed for `size` bytes per CPU (Linux: `DIV_ROUND_UP(size, BUF_PAGE_SIZE)`, at
/// least two).
pub fn nr_pages_for(size: usize) -> usize {
    size.div_ceil(BUF_PAGE_SIZE).max(MIN_NR_PAGES)
}

/// A boxed slice of `len` values made by `f`, or the allocation error. One allocation of
/// exactly `len` elements (so turning it into a box does not reallocate).
fn try_boxed_slice<T>(len: usize, f: impl FnMut() -> T) -> Result<Box<[T]>, TryReserveError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)?;
    v.resize_with(len, f);
    Ok(v.into_boxed_slice())
}

/// One data page. `u64` elements give the 8-byte alignment event headers need.
struct PageData(UnsafeCell<[u64; BUF_PAGE_SIZE / 8]>);

impl PageData {
    fn new() -> Self {
        Self(UnsafeCell::new([0; BUF_PAGE_SIZE / 8]))
    }

    #[inline(always)]
    fn base(&self) -> *mut u8 {
        self.0.get().cast()
    }
}

/// A page's bookkeeping. Four words: the writer finds page `i`'s at `meta + (i << 5)` and its
/// data through `data`, with no multiplication.
struct PageMeta {
    /// Published state, shared with readers (see the module docs for the bits).
    state: AtomicU64,
    /// Reserved bytes and events, and the generation they count for; touched only by the
    /// owning CPU's writers.
    write: AtomicU64,
    /// The page the writer claimed after this one, for publishing in claim order.
    next: AtomicUsize,
    /// The page's data (`Pages::data[i].base()`, which never moves: both live and are replaced
    /// together).
    data: *mut u8,
}

const _: () = assert!(size_of::<PageMeta>() == 32);

// SAFETY: `data` points into the `Pages` that holds this meta, and is dereferenced only under
// that `Pages`' sharing rules (see `CpuBuffer`); the rest are atomics.
unsafe impl Send for PageMeta {}
// SAFETY: as for `Send`.
unsafe impl Sync for PageMeta {}

struct Pages {
    meta: Box<[PageMeta]>,
    data: Box<[PageData]>,
}

impl Pages {
    /// `nr_pages` pages and the reader's spare, or the allocation error (the size comes from
    /// `buffer_size_kb`, so running out of memory is an error, not a panic).
    fn try_new(nr_pages: usize) -> Result<Self, TryReserveError> {
        let total = nr_pages + 1;
        let data = try_boxed_slice(total, PageData::new)?;
        let mut pages = data.iter();
        let meta = try_boxed_slice(total, || PageMeta {
            state: AtomicU64::new(0),
            write: AtomicU64::new(0),
            next: AtomicUsize::new(0),
            data: pages.next().map_or(core::ptr::null_mut(), PageData::base),
        })?;
        Ok(Self { meta, data })
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.meta.len()
    }

    /// Page `i`'s bookkeeping, without a bounds check: for the write path, whose indices
    /// (`tail`, `commit_page`, a page's `next`) only ever hold page numbers of these pages.
    #[inline(always)]
    fn meta_at(&self, i: usize) -> &PageMeta {
        debug_assert!(i < self.meta.len());
        // SAFETY: see above; the pages are replaced only together with those indices.
        unsafe { self.meta.get_unchecked(i) }
    }

    /// The page after `i` in ring order.
    #[inline(always)]
    fn after(&self, i: usize) -> usize {
        if i + 1 == self.len() { 0 } else { i + 1 }
    }

    /// The published page with the smallest generation above `seq`: the oldest page a reader
    /// that has finished generation `seq` has not seen. `None` when that page has nothing
    /// published yet (it is the writer's fresh tail, or holds only unpublished nested writes).
    fn next_after(&self, seq: u64) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64, u64)> = None;
        for (i, meta) in self.meta.iter().enumerate() {
            let st = meta.state.load(Ordering::Acquire);
            let s = state_seq(st);
            if s > seq && best.is_none_or(|(_, b, _)| s < b) {
                best = Some((i, s, st));
            }
        }
        let (page, s, st) = best?;
        (state_commit(st) > 0).then_some((page, s))
    }

    /// How many events, and their bytes, lie before `off` in `page`, which the caller has pinned
    /// with `off` an event boundary within its published commit.
    fn events_before(&self, page: usize, off: usize) -> (u64, u64) {
        let base = self.data[page].base();
        let (mut at, mut count) = (0, 0);
        while at < off {
            // SAFETY: as in `read_event`: pinned, below the commit, at an event boundary.
            let len = unsafe { base.add(at).cast::<u32>().read() } as usize;
            at += event_size(len);
            count += 1;
        }
        (count, at as u64)
    }

    /// Copies out the event at `off` of `page`, which the caller has pinned with `off` below
    /// its published commit. Returns the event and its size in the page.
    fn read_event(&self, page: usize, off: usize) -> (u64, Vec<u8>, usize) {
        let base = self.data[page].base();
        // SAFETY: the page is pinned, so the writer cannot reclaim it, and bytes below the
        // published commit (Acquire-loaded by the caller) are complete and never written again
        // while pinned. `off` is an event boundary below the commit, so the header and the
        // payload (`len` bytes, within the commit) are in bounds.
        unsafe {
            let len = base.add(off).cast::<u32>().read() as usize;
            let ts = base.add(off + 8).cast::<u64>().read();
            let payload = core::slice::from_raw_parts(base.add(off + RB_EVNT_HDR_SIZE), len);
            (ts, payload.to_vec(), event_size(len))
        }
    }
}

/// Where a reader is: the page it reads (`None`: it has not picked one), that page's
/// generation (or, without a page, the generation it has finished) and the offset in it.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    page: Option<usize>,
    seq: u64,
    off: usize,
}

/// Where one writer's event went: page, offset and size (header included).
#[derive(Clone, Copy, Debug)]
struct Slot {
    page: usize,
    off: usize,
    size: usize,
    /// Page `page`'s bookkeeping, as the reservation found it: the header's write and the
    /// commit use it without looking the page up again (the entry's stores in between may, for
    /// all the compiler knows, change the pages' pointers, so it would reload them).
    meta: *const PageMeta,
}

/// One event as a reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub cpu: usize,
    pub ts: u64,
    pub payload: Vec<u8>,
}

/// The per-CPU counters of `per_cpu/cpuN/stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Events in the buffer: neither read nor overwritten.
    pub entries: u64,
    /// Events lost to overwriting.
    pub overrun: u64,
    /// Events dropped because nested writes filled the whole buffer.
    pub commit_overrun: u64,
    /// Bytes (headers included) of the events in the buffer.
    pub bytes: u64,
    /// Timestamp (ns) of the oldest event in the buffer, 0 when empty.
    pub oldest_event_ts: u64,
    /// Events dropped because the buffer was full without overwrite (or all its pages were
    /// held by readers, or a reservation lost too many races).
    pub dropped_events: u64,
    /// Events consumed by `trace_pipe`-style reads.
    pub read_events: u64,
}

/// One CPU's buffer. `repr(C)` with `nest` first, at the address itself: the writer's
/// acquire/release accesses to it (which take no offset) need no address computed. Aligned to
/// 256 bytes, its size: the buffers of two CPUs never share a cache line, and the writer finds
/// its own with a shift.
#[repr(C, align(256))]
struct CpuBuffer {
    /// Writers in progress on this CPU (more than one when interrupts nest).
    nest: AtomicU32,
    /// Non-zero while writes are refused: a count of resizes and resets that own the pages,
    /// plus [`RECORD_OFF`] while recording is off (Linux: `cpu_buffer->record_disabled`). One
    /// word, so the writer checks both with one load.
    disabled: AtomicU32,
    cpu: usize,
    /// Replaced only by [`CpuBuffer::exclusive`], which first shuts out writers and readers.
    pages: UnsafeCell<Pages>,
    /// The page the writer appends to.
    tail: AtomicUsize,
    /// The oldest page with reservations the outermost commit has not published yet.
    commit_page: AtomicUsize,
    /// Set by every nested writer as it leaves, cleared by every writer before it reads the tail
    /// to reserve: still clear when the outermost writer has published, no nested writer has
    /// reserved since its own reservation began, so nothing is left unpublished. Only stores,
    /// so no nested writer's mark can be lost (Linux keeps a `commits` count for this).
    nested_write: AtomicBool,
    /// The move of the tail in progress ([`move_record`]: from page, to page), or [`NO_MOVE`]. A
    /// writer that must move the tail off the page a move starts from finishes that move
    /// (onto its page) instead of choosing another: the writer it interrupted may have
    /// claimed that page already.
    moving: AtomicU64,
    /// The generation the next claimed page gets.
    next_seq: AtomicU64,
    /// Pages of this generation or older have been consumed (the reader's current page is
    /// pinned and never claimed).
    consumed_seq: AtomicU64,
    /// Events lost to overwriting. (Events and bytes still in the buffer are counted from the
    /// page states when the stats are read, which keeps counting off the write path.)
    overrun: AtomicU64,
    commit_overrun: AtomicU64,
    dropped: AtomicU64,
    /// Consumed events, updated under the reader lock.
    read: AtomicU64,
    /// The consuming reader's position; also the lock all readers of this CPU take.
    reader: Mutex<Cursor>,
}

// SAFETY: `pages` is the only non-Sync field. Shared access to it follows the protocol in
// `CpuBuffer::exclusive`: it is replaced only while no writer is inside the write path
// (`disabled` set, then `nest` seen zero) and the reader lock is held; every other access is
// through `&Pages`, whose data pages are partitioned between writer (past the commit) and
// pinned readers (below it).
unsafe impl Sync for CpuBuffer {}

const _: () = assert!(size_of::<CpuBuffer>() == 256);

impl CpuBuffer {
    fn new(cpu: usize, pages: Pages) -> Self {
        let cb = Self {
            cpu,
            pages: UnsafeCell::new(pages),
            tail: AtomicUsize::new(0),
            commit_page: AtomicUsize::new(0),
            nest: AtomicU32::new(0),
            disabled: AtomicU32::new(0),
            nested_write: AtomicBool::new(false),
            moving: AtomicU64::new(NO_MOVE),
            next_seq: AtomicU64::new(1),
            consumed_seq: AtomicU64::new(0),
            overrun: AtomicU64::new(0),
            commit_overrun: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            read: AtomicU64::new(0),
            reader: Mutex::new(Cursor {
                page: None,
                seq: 0,
                off: 0,
            }),
        };
        cb.exclusive(|pages, cursor| cb.restart(pages, cursor));
        cb
    }

    /// Shared access to the pages, for a writer inside its nest window or a reader holding
    /// the reader lock.
    #[inline(always)]
    fn pages(&self) -> &Pages {
        // SAFETY: callers are writers that incremented `nest` and then saw `disabled` clear, or
        // readers holding the reader lock; `exclusive` replaces the pages only when neither
        // can exist, so this shared reference never overlaps its `&mut`.
        unsafe { &*self.pages.get() }
    }

    /// Runs `f` with the pages to itself: readers are locked out, recording on this CPU is
    /// disabled and an in-flight write is waited for (the writer itself never waits).
    fn exclusive<R>(&self, f: impl FnOnce(&mut Pages, &mut Cursor) -> R) -> R {
        let mut cursor = self.reader.lock();
        // SeqCst pairs with the writer's SeqCst `nest` store then `disabled` load: either the
        // writer sees `disabled` and backs out, or we see its `nest`.
        self.disabled.fetch_add(1, Ordering::SeqCst);
        while self.nest.load(Ordering::SeqCst) != 0 {
            core::hint::spin_loop();
        }
        // SAFETY: no writer is in the write path (see above) and the reader lock is held, so
        // nothing else references the pages.
        let pages = unsafe { &mut *self.pages.get() };
        let r = f(pages, &mut cursor);
        self.disabled.fetch_sub(1, Ordering::SeqCst);
        r
    }

    /// Empties the buffer: fresh page states, the tail on page 0, counters zeroed.
    /// Generations keep counting so stale iterators see every new page as newer.
    fn restart(&self, pages: &mut Pages, cursor: &mut Cursor) {
        for meta in pages.meta.iter() {
            meta.state.store(0, Ordering::Relaxed);
            meta.write.store(0, Ordering::Relaxed);
            meta.next.store(0, Ordering::Relaxed);
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        pages.meta[0]
            .state
            .store(seq << SEQ_SHIFT, Ordering::Relaxed);
        pages.meta[0]
            .write
            .store(write_fresh(seq), Ordering::Relaxed);
        self.tail.store(0, Ordering::Relaxed);
        self.moving.store(NO_MOVE, Ordering::Relaxed);
        self.nested_write.store(false, Ordering::Relaxed);
        self.commit_page.store(0, Ordering::Relaxed);
        self.consumed_seq.store(seq - 1, Ordering::Relaxed);
        *cursor = Cursor {
            page: None,
            seq: seq - 1,
            off: 0,
        };
        for counter in [
            &self.overrun,
            &self.commit_overrun,
            &self.dropped,
            &self.read,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Enters the write path, returning the nesting depth to restore on exit; `None` (and
    /// nothing to undo) when recording is off here.
    #[inline(always)]
    fn enter(&self) -> Option<u32> {
        // Only this CPU's writers touch `nest`, and nested ones restore it before returning,
        // so a plain load and store are interrupt-safe.
        let nest = self.nest.load(Ordering::Relaxed);
        self.nest.store(nest + 1, Ordering::SeqCst);
        if self.disabled.load(Ordering::SeqCst) != 0 {
            self.nest.store(nest, Ordering::Release);
            return None;
        }
        Some(nest)
    }

    /// Reserves `size` bytes on the tail page if they fit and no nested writer races us:
    /// the common case, one exclusive load/store pair. [`CpuBuffer::reserve_space_slow`] does
    /// the rest.
    #[inline(always)]
    fn reserve_space(&self, pages: &Pages, size: usize) -> Option<Slot> {
        // Before the tail is read: a nested writer that ran earlier reserved before us, and our
        // publish covers it (see `exit`).
        self.nested_write.store(false, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        nest_point!("reserve: mark cleared");
        let t = self.tail.load(Ordering::Relaxed);
        nest_point!("reserve: tail read");
        let meta = pages.meta_at(t);
        let w = meta.write.load(Ordering::Relaxed);
        nest_point!("reserve: write read");
        let off = (w & WRITE_BYTES_MASK) as usize;
        if off + size > BUF_PAGE_SIZE {
            return None;
        }
        meta.write
            .compare_exchange(
                w,
                w + size as u64 + WRITE_ENTRY,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .ok()
            .map(|_| Slot {
                page: t,
                off,
                size,
                meta,
            })
    }

    /// Reserves `size` bytes when [`CpuBuffer::reserve_space`] could not (the tail page is full
    /// or a nested writer won the race): moves the tail and retries, a bounded number of times.
    #[inline(always)]
    fn reserve_space_slow(&self, pages: &Pages, size: usize, overwrite: bool) -> Option<Slot> {
        for _ in 0..RESERVE_RETRIES {
            let t = self.tail.load(Ordering::Relaxed);
            nest_point!("reserve_slow: tail read");
            let meta = pages.meta_at(t);
            let w = meta.write.load(Ordering::Relaxed);
            nest_point!("reserve_slow: write read");
            let off = (w & WRITE_BYTES_MASK) as usize;
            if off + size <= BUF_PAGE_SIZE {
                let new = w + size as u64 + WRITE_ENTRY;
                // A failed CAS means a nested writer reserved here meanwhile: retry.
                if meta
                    .write
                    .compare_exchange(w, new, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    return Some(Slot {
                        page: t,
                        off,
                        size,
                        meta,
                    });
                }
            } else if !self.move_tail(pages, t, overwrite) {
                return None;
            }
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Moves the tail off the full page `t`. `false` when the event must be dropped (counted
    /// here); `true` to retry the reservation, whether or not this call moved the tail.
    #[inline(always)]
    fn move_tail(&self, pages: &Pages, t: usize, overwrite: bool) -> bool {
        if self.tail.load(Ordering::Relaxed) != t {
            // A nested writer moved it since our caller read it: retry there.
            return true;
        }
        let moving = self.moving.load(Ordering::Relaxed);
        if moving >> 32 == t as u64 {
            // We interrupted a writer moving the tail off `t`: finish its move.
            return rb_install(self, pages, t, (moving & 0xffff_ffff) as usize, overwrite);
        }
        let Some(n) = self.next_page(pages, t) else {
            return false;
        };
        self.moving.store(move_record(t, n), Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        nest_point!("move_tail: move recorded");
        // A nested writer that moved the tail before we recorded our move chose its own page.
        let moved =
            self.tail.load(Ordering::Relaxed) != t || rb_install(self, pages, t, n, overwrite);
        // Nested writers finish their own moves, so the record is ours (or stale) to clear.
        self.moving.store(NO_MOVE, Ordering::Relaxed);
        moved
    }

    /// The page to move the tail to from `t`: the next one no reader has pinned. `None`
    /// (counted) when every other page is pinned, or when that page is the commit page: it and
    /// the pages after it hold events the outermost writer has not published yet (Linux's
    /// commit overrun). So the tail never laps the commit page, and no page from the commit
    /// page to the tail is claimed again while a writer is inside: the indices writers hold
    /// keep naming the same page generations.
    #[inline(always)]
    fn next_page(&self, pages: &Pages, t: usize) -> Option<usize> {
        let commit = self.commit_page.load(Ordering::Relaxed);
        let mut n = pages.after(t);
        loop {
            if n == t {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            if n == commit {
                self.commit_overrun.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            if !state_pinned(pages.meta_at(n).state.load(Ordering::Acquire)) {
                return Some(n);
            }
            n = pages.after(n);
        }
    }

    /// Moves the tail from `t` onto `n`: claims `n` from readers as a new generation, resets its
    /// reservation word for that generation, links it after `t`, moves the tail. It starts at
    /// whichever step `n` shows is next, and each step is a compare-and-swap no later state
    /// can match or a store of the value it already has, so a nested writer can finish a move
    /// this one began, and this one then finds every step done. `false` when the event must be
    /// dropped (counted); `true` to retry the reservation.
    #[inline(always)]
    fn install(&self, pages: &Pages, t: usize, n: usize, overwrite: bool) -> bool {
        let meta = pages.meta_at(n);
        let st = meta.state.load(Ordering::Acquire);
        let w = meta.write.load(Ordering::Relaxed);
        nest_point!("install: page read");
        let t_seq = state_seq(pages.meta_at(t).state.load(Ordering::Relaxed));
        let seq = if state_seq(st) > t_seq {
            // Claimed after `t` by the move we are finishing.
            state_seq(st)
        } else {
            if state_pinned(st) {
                // A reader took it since it was chosen: choose again.
                return true;
            }
            if !overwrite && state_seq(st) > self.consumed_seq.load(Ordering::Acquire) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            nest_point!("install: seq taken");
            if meta
                .state
                .compare_exchange(st, seq << SEQ_SHIFT, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                // A reader pinned it, or a nested writer claimed it for this move.
                return true;
            }
            nest_point!("install: claimed");
            // The consumer marks each page it enters, so the CAS tells whether these events
            // were read: the consumed generation cannot, as the consumer passes over a page
            // claimed before it got there.
            if st & PAGE_READ == 0 {
                self.overrun.fetch_add(state_entries(st), Ordering::Relaxed);
            }
            seq
        };
        nest_point!("install: overrun counted");
        if !write_is_of(w, seq)
            && meta
                .write
                .compare_exchange(w, write_fresh(seq), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            // A nested writer reset the page and finished the move (and may have reserved).
            return true;
        }
        nest_point!("install: page reset");
        pages.meta_at(t).next.store(n, Ordering::Relaxed);
        nest_point!("install: linked");
        // Fails only if a nested writer finished the move: the tail never comes back to `t`
        // while we are inside (see `next_page`).
        let _ = self
            .tail
            .compare_exchange(t, n, Ordering::Relaxed, Ordering::Relaxed);
        true
    }

    /// Leaves the write path after reserving `slot`; the outermost writer publishes
    /// everything reserved so far.
    ///
    /// Usually that is just its own event, right after the published bytes of the commit page:
    /// then one atomic add publishes it. Interrupts on this CPU are the only other writers,
    /// and a CPU sees its own accesses in program order, so a compiler fence (not a barrier)
    /// orders the `nest` store before the look for writes that raced with the publish.
    ///
    /// Every call here is the writer's last act (the full publish goes on to clear `nest`
    /// itself): inlined into a writer, it leaves no value live across a call.
    #[inline(always)]
    fn exit(&self, nest: u32, slot: Slot) {
        if nest != 0 {
            self.nested_write.store(true, Ordering::Relaxed);
            self.nest.store(nest, Ordering::Release);
            return;
        }
        nest_point!("exit: before publish");
        if !self.publish_own(slot) {
            return rb_exit_publish(self);
        }
        self.exit_published();
    }

    /// The outermost writer's exit after its publish: clears `nest`, then publishes what
    /// nested writers reserved meanwhile.
    #[inline(always)]
    fn exit_published(&self) {
        nest_point!("exit: published");
        self.nest.store(0, Ordering::Release);
        compiler_fence(Ordering::SeqCst);
        nest_point!("exit: nest cleared");
        // An interrupt after the store was the outermost writer and published itself. One
        // that began reserving after us and left before the store saw `nest == 1` and left its
        // mark; one that did so before we read the tail reserved before us, and then our event
        // was not the oldest unpublished one and `publish` covered both.
        if self.nested_write.load(Ordering::Relaxed) {
            rb_republish(self);
        }
    }

    /// Leaves the write path without an event (it was dropped). Nested writers that reserved
    /// meanwhile still need the outermost writer to publish them.
    #[inline(always)]
    fn exit_unreserved(&self, nest: u32) {
        if nest != 0 {
            self.nested_write.store(true, Ordering::Relaxed);
        }
        self.nest.store(nest, Ordering::Release);
        if nest == 0 {
            rb_republish(self);
        }
    }

    /// Publishes `slot` alone when everything before it is published; `false` otherwise.
    #[inline(always)]
    fn publish_own(&self, slot: Slot) -> bool {
        if self.commit_page.load(Ordering::Relaxed) != slot.page {
            return false;
        }
        // SAFETY: `slot.meta` is page `slot.page`'s bookkeeping in `pages`, which stay while
        // this writer is inside.
        let meta = unsafe { &*slot.meta };
        if state_commit(meta.state.load(Ordering::Relaxed)) != slot.off {
            return false;
        }
        // Only this CPU's outermost writer changes the commit bits; readers' pins may change
        // the word meanwhile, hence the atomic add. The page holds our unpublished event, so
        // no writer has reclaimed it.
        meta.state.fetch_add(
            ((slot.size as u64) << COMMIT_SHIFT) | (1 << ENTRIES_SHIFT),
            Ordering::Release,
        );
        true
    }

    /// Publishes as the outermost writer until nothing is left unpublished: after nested
    /// writes raced with a publish, or after a dropped event. Re-enters properly, as a resize
    /// may have started meanwhile (it drops the contents anyway).
    #[inline(always)]
    fn republish(&self) {
        loop {
            self.nest.store(1, Ordering::SeqCst);
            self.nested_write.store(false, Ordering::Relaxed);
            compiler_fence(Ordering::SeqCst);
            if self.disabled.load(Ordering::SeqCst) & !STOP_BITS != 0 {
                self.nest.store(0, Ordering::Release);
                return;
            }
            if self.has_unpublished() {
                self.publish();
            }
            self.nest.store(0, Ordering::Release);
            compiler_fence(Ordering::SeqCst);
            nest_point!("republish: nest cleared");
            // A nested writer that reserved after the look above left its mark.
            if !self.nested_write.load(Ordering::Relaxed) {
                return;
            }
        }
    }

    #[inline(always)]
    fn has_unpublished(&self) -> bool {
        let pages = self.pages();
        let t = self.tail.load(Ordering::Relaxed);
        let meta = &pages.meta[t];
        self.commit_page.load(Ordering::Relaxed) != t
            || (meta.write.load(Ordering::Relaxed) & WRITE_BYTES_MASK) as usize
                != state_commit(meta.state.load(Ordering::Relaxed))
    }

    /// Makes every reservation from `commit_page` to the tail visible, in claim order, so a
    /// reader that sees a page's commit also sees every earlier page's. Runs with `nest == 1`,
    /// so only one publisher exists at a time; nested writers only reserve meanwhile.
    #[inline(always)]
    fn publish(&self) {
        let pages = self.pages();
        let p = self.commit_page.load(Ordering::Relaxed);
        self.publish_page(pages.meta_at(p));
        if p != self.tail.load(Ordering::Relaxed) {
            self.publish_pages(pages, p);
        }
    }

    /// `publish` when the tail has moved on since the last commit: finishes each page up to
    /// the tail.
    #[inline(always)]
    fn publish_pages(&self, pages: &Pages, mut p: usize) {
        while p != self.tail.load(Ordering::Relaxed) {
            p = pages.meta_at(p).next.load(Ordering::Relaxed);
            self.commit_page.store(p, Ordering::Relaxed);
            self.publish_page(pages.meta_at(p));
        }
    }

    /// Publishes what was reserved on one page since its last publish.
    #[inline(always)]
    fn publish_page(&self, meta: &PageMeta) {
        let w = meta.write.load(Ordering::Relaxed);
        let st = meta.state.load(Ordering::Relaxed);
        let bytes = (w & WRITE_BYTES_MASK) - state_commit(st) as u64;
        let entries = ((w >> 16) & WRITE_ENTRIES_MASK) - state_entries(st);
        if bytes != 0 {
            meta.state.fetch_add(
                (bytes << COMMIT_SHIFT) | (entries << ENTRIES_SHIFT),
                Ordering::Release,
            );
        }
    }

    /// Events and bytes (headers included) published and not yet consumed or overwritten:
    /// every page newer than the consumed generation, plus the rest of the consumer's page.
    /// A snapshot; the writer may move on meanwhile.
    fn unread(&self) -> (u64, u64) {
        let cursor = self.reader.lock();
        let pages = self.pages();
        let consumed = self.consumed_seq.load(Ordering::Acquire);
        let (mut entries, mut bytes) = (0, 0);
        for (i, meta) in pages.meta.iter().enumerate() {
            let st = meta.state.load(Ordering::Acquire);
            let seq = state_seq(st);
            if cursor.page == Some(i) && seq == cursor.seq {
                // The consumer keeps this page pinned: its events are stable to walk.
                let (read, read_bytes) = pages.events_before(i, cursor.off);
                entries += state_entries(st) - read;
                bytes += state_commit(st) as u64 - read_bytes;
            } else if seq > consumed {
                entries += state_entries(st);
                bytes += state_commit(st) as u64;
            }
        }
        (entries, bytes)
    }

    /// Reads (and with `consume`, consumes) the next event at `cursor`. The caller holds the
    /// reader lock. `consume` cursors keep their page pinned between calls.
    fn step(&self, cursor: &mut Cursor, consume: bool, advance: bool) -> Option<Event> {
        let pages = self.pages();
        loop {
            let Some(p) = cursor.page.filter(|&p| p < pages.len()) else {
                let (q, seq) = pages.next_after(cursor.seq)?;
                self.enter_page(pages, cursor, None, q, seq, consume);
                continue;
            };
            let meta = &pages.meta[p];
            let st = meta.state.fetch_add(PIN, Ordering::Acquire) + PIN;
            if state_seq(st) != cursor.seq {
                // Overwritten since we were here (only possible for a non-consuming reader).
                meta.state.fetch_sub(PIN, Ordering::Release);
                cursor.page = None;
                continue;
            }
            if cursor.off < state_commit(st) {
                let (ts, payload, size) = pages.read_event(p, cursor.off);
                meta.state.fetch_sub(PIN, Ordering::Release);
                if advance {
                    cursor.off += size;
                    if consume {
                        self.read.fetch_add(1, Ordering::Relaxed);
                    }
                }
                return Some(Event {
                    cpu: self.cpu,
                    ts,
                    payload,
                });
            }
            meta.state.fetch_sub(PIN, Ordering::Release);
            let (q, seq) = pages.next_after(cursor.seq)?;
            // `q` being published means everything reserved before it on `p` is too: look at
            // `p` once more before leaving it.
            let st = meta.state.load(Ordering::Acquire);
            if state_seq(st) == cursor.seq && cursor.off < state_commit(st) {
                continue;
            }
            self.enter_page(pages, cursor, Some(p), q, seq, consume);
        }
    }

    /// Moves `cursor` from page `from` to page `q` of generation `seq`. A consuming cursor pins
    /// `q` first (giving up if the writer just reclaimed it: the caller rescans), then tells
    /// the writer pages up to `seq` are consumed, then unpins `from`.
    fn enter_page(
        &self,
        pages: &Pages,
        cursor: &mut Cursor,
        from: Option<usize>,
        q: usize,
        seq: u64,
        consume: bool,
    ) {
        if consume {
            let st = pages.meta[q].state.fetch_add(PIN, Ordering::Acquire);
            if state_seq(st) != seq {
                pages.meta[q].state.fetch_sub(PIN, Ordering::Release);
                return;
            }
            pages.meta[q].state.fetch_or(PAGE_READ, Ordering::Relaxed);
            self.consumed_seq.store(seq, Ordering::Release);
            if let Some(p) = from {
                pages.meta[p].state.fetch_sub(PIN, Ordering::Release);
            }
        }
        *cursor = Cursor {
            page: Some(q),
            seq,
            off: 0,
        };
    }
}

/// The per-CPU ring buffers.
pub struct RingBuffer {
    cpus: Box<[CpuBuffer]>,
    /// Non-zero turns recording off on every CPU (Linux: `ring_buffer_record_off`, under
    /// `tracing_on`).
    record_disabled: AtomicU32,
    /// Overwrite the oldest events when full (Linux's default, the `overwrite` option).
    overwrite: AtomicBool,
}

/// A write [`RingBuffer::write_on_tail_page`] could not finish: the writer is inside this
/// CPU's write path (at depth `nest`) with nothing reserved. Two words, so it is passed in
/// registers. Not `Send`, as a reservation.
#[must_use]
pub struct PendingWrite<'a> {
    cb: &'a CpuBuffer,
    nest: u32,
}

/// A reserved event: write the payload through `DerefMut`, then [`Reservation::commit`] (or
/// drop it). Not `Send`: the commit must happen on the reserving CPU.
pub struct Reservation<'a> {
    cpu: &'a CpuBuffer,
    nest: u32,
    slot: Slot,
    buf: &'a mut [u8],
    _not_send: PhantomData<*mut ()>,
}

impl Reservation<'_> {
    /// Commits the event. Nested events become visible with the outermost commit.
    #[inline(always)]
    pub fn commit(self) {
        // What the drop does, without the drop glue (`drop(self)` is a call of
        // `core::mem::drop`, which opt-level "s" may leave out of line, patch site and all).
        let this = core::mem::ManuallyDrop::new(self);
        this.cpu.exit(this.nest, this.slot);
    }
}

impl Deref for Reservation<'_> {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        self.buf
    }
}

impl DerefMut for Reservation<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.buf
    }
}

impl Drop for Reservation<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.cpu.exit(self.nest, self.slot);
    }
}

impl RingBuffer {
    /// `nr_cpus` buffers of `size` bytes each (rounded up to whole pages, at least two), or
    /// the allocation error.
    pub fn try_new(nr_cpus: usize, size: usize) -> Result<Self, TryReserveError> {
        let mut cpus = Vec::new();
        cpus.try_reserve_exact(nr_cpus)?;
        for cpu in 0..nr_cpus {
            cpus.push(CpuBuffer::new(cpu, Pages::try_new(nr_pages_for(size))?));
        }
        Ok(Self {
            cpus: cpus.into_boxed_slice(),
            record_disabled: AtomicU32::new(0),
            overwrite: AtomicBool::new(true),
        })
    }

    pub fn nr_cpus(&self) -> usize {
        self.cpus.len()
    }

    /// Data pages of `cpu`'s ring, not counting the reader's spare.
    pub fn nr_pages(&self, cpu: usize) -> usize {
        let _guard = self.cpus[cpu].reader.lock();
        self.cpus[cpu].pages().len() - 1
    }

    /// Bytes `cpu` holds (Linux: `ring_buffer_size`, `nr_pages * BUF_PAGE_SIZE`).
    pub fn size(&self, cpu: usize) -> usize {
        self.nr_pages(cpu) * BUF_PAGE_SIZE
    }

    /// Gives each CPU of `cpus` `size` bytes, dropping its events and counters. All or
    /// nothing: every new ring is allocated before any is swapped in, so when memory runs out
    /// (Linux: `-ENOMEM` from `ring_buffer_resize`) what was allocated is freed and every CPU
    /// keeps its ring and its events.
    pub fn resize(&self, cpus: Range<usize>, size: usize) -> Result<(), TryReserveError> {
        let nr_pages = nr_pages_for(size);
        let mut fresh = Vec::new();
        fresh.try_reserve_exact(cpus.len())?;
        for _ in cpus.clone() {
            fresh.push(Pages::try_new(nr_pages)?);
        }
        for (cb, new) in self.cpus[cpus].iter().zip(fresh) {
            // The old pages are freed when the closure returns, with writers and readers
            // still shut out.
            cb.exclusive(|pages, cursor| {
                *pages = new;
                cb.restart(pages, cursor);
            });
        }
        Ok(())
    }

    /// Empties `cpu` (or every CPU for `None`) and zeroes its counters.
    pub fn reset(&self, cpu: Option<usize>) {
        for cb in self.selected(cpu) {
            cb.exclusive(|pages, cursor| cb.restart(pages, cursor));
        }
    }

    fn selected(&self, cpu: Option<usize>) -> &[CpuBuffer] {
        match cpu {
            Some(cpu) => core::slice::from_ref(&self.cpus[cpu]),
            None => &self.cpus,
        }
    }

    pub fn set_overwrite(&self, overwrite: bool) {
        self.overwrite.store(overwrite, Ordering::Relaxed);
    }

    #[inline(always)]
    pub fn overwrite(&self) -> bool {
        self.overwrite.load(Ordering::Relaxed)
    }

    /// Starts recording again after [`RingBuffer::record_off`] (`echo 1 > tracing_on`).
    pub fn record_on(&self) {
        self.record_disabled.store(0, Ordering::Relaxed);
        for cb in self.cpus.iter() {
            cb.disabled.fetch_and(!RECORD_OFF, Ordering::Relaxed);
        }
    }

    /// Stops recording; writes are ignored and not counted (`echo 0 > tracing_on`).
    pub fn record_off(&self) {
        self.record_disabled.store(1, Ordering::Relaxed);
        for cb in self.cpus.iter() {
            cb.disabled.fetch_or(RECORD_OFF, Ordering::Relaxed);
        }
    }

    pub fn is_record_on(&self) -> bool {
        self.record_disabled.load(Ordering::Relaxed) == 0
    }

    /// Pauses recording while `trace` is read (Linux: `tracing_stop`), whatever `tracing_on`
    /// says and without changing it. Readers serialise their pauses (one at a time).
    pub fn pause(&self) {
        for cb in self.cpus.iter() {
            cb.disabled.fetch_or(READ_PAUSE, Ordering::Relaxed);
        }
    }

    /// Ends [`RingBuffer::pause`] (Linux: `tracing_start`).
    pub fn unpause(&self) {
        for cb in self.cpus.iter() {
            cb.disabled.fetch_and(!READ_PAUSE, Ordering::Relaxed);
        }
    }

    /// Reserves an event with a `len`-byte payload and timestamp `ts` on `cpu`. `None` when
    /// recording is off or the event is dropped (counted in the stats).
    ///
    /// The payload bytes hold whatever was there before: write all `len` of them.
    /// Timestamps should come from the clock just before the call; an interrupt that writes
    /// between the clock read and the reservation puts a later timestamp first.
    ///
    /// # Safety
    /// `cpu` must be the calling CPU (below [`RingBuffer::nr_cpus`]), with preemption disabled
    /// until the reservation is committed; only interrupts on this CPU may write to `cpu`
    /// meanwhile (they nest).
    #[inline(always)]
    pub unsafe fn reserve(&self, cpu: usize, len: usize, ts: u64) -> Option<Reservation<'_>> {
        // SAFETY: forwarded from the caller.
        let (cb, nest) = unsafe { self.enter(cpu, len) }?;
        let pages = cb.pages();
        let slot = match cb.reserve_space(pages, event_size(len)) {
            Some(slot) => Some(slot),
            None => unpack_slot(
                pages,
                rb_reserve_space_slow(cb, pages, event_size(len), self.overwrite()),
                event_size(len),
            ),
        };
        let Some(slot) = slot else {
            rb_exit_unreserved(cb, nest);
            return None;
        };
        nest_point!("reserve: reserved");
        // SAFETY: `slot` is this writer's until it exits, which the reservation does on drop.
        let payload = unsafe { write_event_header(slot, len, ts) };
        // SAFETY: as above; the payload is the `len` bytes after the header.
        let buf = unsafe { core::slice::from_raw_parts_mut(payload, len) };
        Some(Reservation {
            cpu: cb,
            nest,
            slot,
            buf,
            _not_send: PhantomData,
        })
    }

    /// Writes one event whose payload is `words` (a trace entry's `words()`, its bytes as
    /// little-endian words) and commits it: the tracers' fast path (no slices, no bounds
    /// checks, aligned stores, the unusual cases out of line). `false` when it was not
    /// recorded.
    ///
    /// # Safety
    /// As for [`RingBuffer::reserve`].
    #[inline(always)]
    pub unsafe fn write_entry<const N: usize>(&self, cpu: usize, ts: u64, words: [u64; N]) -> bool {
        // SAFETY: forwarded from the caller.
        let Some((cb, nest)) = (unsafe { self.enter(cpu, N * 8) }) else {
            return false;
        };
        let pages = cb.pages();
        let Some(slot) = cb.reserve_space(pages, event_size(N * 8)) else {
            // SAFETY: forwarded from the caller; we are inside the write path at `nest`.
            return unsafe { rb_write_entry_slow(self, cb, nest, ts, words) };
        };
        // SAFETY: `slot` is ours until `exit`.
        unsafe { write_event_words(slot, ts, &words) };
        cb.exit(nest, slot);
        true
    }

    /// [`RingBuffer::write_entry`] when the fast reservation failed.
    ///
    /// # Safety
    /// As for [`RingBuffer::reserve`], called between `enter` (which returned `nest`) and exit.
    #[inline(always)]
    unsafe fn write_entry_slow<const N: usize>(
        &self,
        cb: &CpuBuffer,
        nest: u32,
        ts: u64,
        words: [u64; N],
    ) -> bool {
        let pages = cb.pages();
        let size = event_size(N * 8);
        let Some(slot) = unpack_slot(
            pages,
            rb_reserve_space_slow(cb, pages, size, self.overwrite()),
            size,
        ) else {
            rb_exit_unreserved(cb, nest);
            return false;
        };
        // SAFETY: `slot` is ours until `exit`.
        unsafe { write_event_words(slot, ts, &words) };
        cb.exit(nest, slot);
        true
    }

    /// Writes one event with a `len`-byte payload, written by `write` (which gets the payload's
    /// first byte, 8-byte aligned, and must write all `len` bytes), and commits it, when it
    /// fits on the tail page: the event probes' fast path. `Ok` when done: written, or refused
    /// as recording is off or the event too long (counted). Otherwise (the tail page is full,
    /// or a nested writer raced the reservation) the writer is still inside the write path,
    /// and the caller must finish with [`RingBuffer::write_pending`], out of line.
    ///
    /// Every call out of line here is the writer's last act, so a probe that inlines this
    /// keeps its values in caller-saved registers and saves none; and `write`, inlined, needs
    /// no copy of what it captures in memory, as a slow path taking it along would.
    ///
    /// # Safety
    /// As for [`RingBuffer::reserve`]. `write` must be inlined (it runs inside the writer,
    /// which has no patch site).
    #[inline(always)]
    pub unsafe fn write_on_tail_page(
        &self,
        cpu: usize,
        len: usize,
        ts: u64,
        write: impl FnOnce(*mut u8),
    ) -> Result<(), PendingWrite<'_>> {
        // SAFETY: forwarded from the caller.
        let Some((cb, nest)) = (unsafe { self.enter(cpu, len) }) else {
            return Ok(());
        };
        let pages = cb.pages();
        let Some(slot) = cb.reserve_space(pages, event_size(len)) else {
            return Err(PendingWrite { cb, nest });
        };
        // SAFETY: `slot` is ours until `exit`, for `len` payload bytes.
        write(unsafe { write_event_header(slot, len, ts) });
        cb.exit(nest, slot);
        Ok(())
    }

    /// Finishes what [`RingBuffer::write_on_tail_page`] left pending: the full reservation
    /// (which moves the tail), the write, the commit; or the exit of a dropped event.
    ///
    /// # Safety
    /// As for [`RingBuffer::write_on_tail_page`], with the same `len` and nothing else written
    /// on this CPU since, but by nested writers.
    #[inline(always)]
    pub unsafe fn write_pending(
        &self,
        pending: PendingWrite<'_>,
        len: usize,
        ts: u64,
        write: impl FnOnce(*mut u8),
    ) {
        let PendingWrite { cb, nest } = pending;
        let pages = cb.pages();
        let size = event_size(len);
        let Some(slot) = unpack_slot(
            pages,
            rb_reserve_space_slow(cb, pages, size, self.overwrite()),
            size,
        ) else {
            return rb_exit_unreserved(cb, nest);
        };
        // SAFETY: `slot` is ours until `exit`, for `len` payload bytes.
        write(unsafe { write_event_header(slot, len, ts) });
        cb.exit(nest, slot);
    }

    /// Enters `cpu`'s write path for an event with a `len`-byte payload: the CPU buffer and
    /// the nesting depth for its `exit`, or `None` (counted when it is a drop) when the event
    /// cannot be recorded.
    ///
    /// # Safety
    /// As for [`RingBuffer::reserve`].
    #[inline(always)]
    unsafe fn enter(&self, cpu: usize, len: usize) -> Option<(&CpuBuffer, u32)> {
        debug_assert!(cpu < self.cpus.len());
        // SAFETY: the caller passes its own CPU, which is below `nr_cpus`.
        let cb = unsafe { self.cpus.get_unchecked(cpu) };
        if len > BUF_MAX_DATA_SIZE {
            cb.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some((cb, cb.enter()?))
    }

    /// Writes one event; `false` when it was not recorded.
    ///
    /// # Safety
    /// As for [`RingBuffer::reserve`].
    pub unsafe fn write(&self, cpu: usize, ts: u64, payload: &[u8]) -> bool {
        // SAFETY: forwarded from the caller.
        let Some(mut r) = (unsafe { self.reserve(cpu, payload.len(), ts) }) else {
            return false;
        };
        r.copy_from_slice(payload);
        r.commit();
        true
    }

    /// Consumes `cpu`'s oldest event (`trace_pipe`).
    pub fn consume(&self, cpu: usize) -> Option<Event> {
        let cb = &self.cpus[cpu];
        let mut cursor = cb.reader.lock();
        cb.step(&mut cursor, true, true)
    }

    /// `cpu`'s oldest unconsumed event, left in place.
    pub fn peek(&self, cpu: usize) -> Option<Event> {
        let cb = &self.cpus[cpu];
        let mut cursor = cb.reader.lock();
        cb.step(&mut cursor, true, false)
    }

    /// Whether `cpu` has nothing to consume.
    pub fn is_empty(&self, cpu: usize) -> bool {
        self.peek(cpu).is_none()
    }

    /// A non-consuming reader of `cpu` (`per_cpu/cpuN/trace`), from its oldest unconsumed event.
    pub fn iter(&self, cpu: usize) -> Iter<'_> {
        let cursor = *self.cpus[cpu].reader.lock();
        Iter {
            cb: &self.cpus[cpu],
            cursor,
            peeked: None,
        }
    }

    /// Every CPU's events, oldest first, without consuming (`trace`).
    pub fn iter_all(&self) -> Merge<Iter<'_>> {
        Merge::new((0..self.nr_cpus()).map(|cpu| self.iter(cpu)).collect())
    }

    /// Every CPU's events, oldest first, consumed as they are returned (`trace_pipe`).
    pub fn consume_all(&self) -> Merge<Consumer<'_>> {
        Merge::new(
            (0..self.nr_cpus())
                .map(|cpu| Consumer { rb: self, cpu })
                .collect(),
        )
    }

    /// `cpu`'s counters, for `per_cpu/cpuN/stats` and the `trace` header.
    pub fn stats(&self, cpu: usize) -> CpuStats {
        let cb = &self.cpus[cpu];
        let oldest_event_ts = self.peek(cpu).map_or(0, |e| e.ts);
        let (entries, bytes) = cb.unread();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let overrun = load(&cb.overrun);
        let read = load(&cb.read);
        CpuStats {
            entries,
            overrun,
            commit_overrun: load(&cb.commit_overrun),
            bytes,
            oldest_event_ts,
            dropped_events: load(&cb.dropped),
            read_events: read,
        }
    }
}

/// Writes the header of an event with a `len`-byte payload and returns its payload.
///
/// # Safety
/// `slot` is a reservation of the calling writer, for `len` payload bytes, not yet exited.
#[inline(always)]
unsafe fn write_event_header(slot: Slot, len: usize, ts: u64) -> *mut u8 {
    // SAFETY: bytes `off..off + size` of this page were reserved for this event alone by the
    // CAS that made `slot`; they lie past the published commit, so no reader looks at them,
    // and the page stays ours until published (a page with unpublished reservations is never
    // reclaimed). `off` is 8-byte aligned.
    unsafe {
        let event = (*slot.meta).data.add(slot.off);
        event.cast::<u64>().write(len as u64);
        event.add(8).cast::<u64>().write(ts);
        event.add(RB_EVNT_HDR_SIZE)
    }
}

/// Writes a whole event whose payload is `words`, one word at a time: each word is stored
/// from the register that computed it. (Copying the array as a whole made LLVM build it on
/// the stack first and, at 48 bytes, call `memcpy`: ~45 instructions per `funcgraph_exit`.)
///
/// # Safety
/// As for [`write_event_header`], with `len` = `words.len() * 8`.
#[inline(always)]
unsafe fn write_event_words(slot: Slot, ts: u64, words: &[u64]) {
    // SAFETY: forwarded from the caller; the payload is 8-byte aligned and `words.len() * 8`
    // bytes long.
    unsafe {
        let payload = write_event_header(slot, words.len() * 8, ts).cast::<u64>();
        for (i, &word) in words.iter().enumerate() {
            payload.add(i).write(word);
        }
    }
}

arch::noinstr! {
/// [`CpuBuffer::reserve_space_slow`], out of line. The slot comes back as page and offset
/// packed in one register (see [`unpack_slot`]): an `Option<Slot>` is returned through
/// memory, and the fast path, which joins the slow one, then keeps its own slot on the stack
/// too.
#[cold]
#[inline(never)]
fn rb_reserve_space_slow(cb: &CpuBuffer, pages: &Pages, size: usize, overwrite: bool) -> u64 {
    cb.reserve_space_slow(pages, size, overwrite)
        .map_or(NO_SLOT, |slot| ((slot.page as u64) << 32) | slot.off as u64)
}
}

/// [`rb_reserve_space_slow`]'s answer for no slot (no page index reaches 2^32).
const NO_SLOT: u64 = u64::MAX;

/// The slot of `size` bytes [`rb_reserve_space_slow`] packed, or `None`.
#[inline(always)]
fn unpack_slot(pages: &Pages, packed: u64, size: usize) -> Option<Slot> {
    let page = (packed >> 32) as usize;
    (packed != NO_SLOT).then(|| Slot {
        page,
        off: (packed & 0xffff_ffff) as usize,
        size,
        meta: pages.meta_at(page),
    })
}

arch::noinstr! {
/// [`CpuBuffer::install`], out of line (a move of the tail has two call sites).
#[cold]
#[inline(never)]
fn rb_install(cb: &CpuBuffer, pages: &Pages, t: usize, n: usize, overwrite: bool) -> bool {
    cb.install(pages, t, n, overwrite)
}
}

arch::noinstr! {
/// [`CpuBuffer::exit_unreserved`], out of line.
#[cold]
#[inline(never)]
fn rb_exit_unreserved(cb: &CpuBuffer, nest: u32) {
    cb.exit_unreserved(nest)
}
}

arch::noinstr! {
/// [`CpuBuffer::exit`] of the outermost writer when its event is not right after the
/// published bytes: the full publish, then the rest of the exit, out of line.
#[inline(never)]
fn rb_exit_publish(cb: &CpuBuffer) {
    cb.publish();
    cb.exit_published();
}
}

arch::noinstr! {
/// [`CpuBuffer::republish`], out of line.
#[cold]
#[inline(never)]
fn rb_republish(cb: &CpuBuffer) {
    cb.republish()
}
}

arch::noinstr! {
/// [`RingBuffer::write_entry_slow`], out of line.
///
/// # Safety
/// As for [`RingBuffer::write_entry_slow`].
#[cold]
#[inline(never)]
unsafe fn rb_write_entry_slow<const N: usize>(
    rb: &RingBuffer,
    cb: &CpuBuffer,
    nest: u32,
    ts: u64,
    words: [u64; N],
) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { rb.write_entry_slow(cb, nest, ts, words) }
}
}

/// Something [`Merge`] can merge: one CPU's events in order.
pub trait EventSource {
    /// The timestamp of the event `next_event` would return.
    fn peek_ts(&mut self) -> Option<u64>;
    fn next_event(&mut self) -> Option<Event>;
}

/// Reads one CPU without consuming. Ends when it catches up with the writer; if the writer
/// overwrites the page it is on, it continues at the oldest surviving page.
pub struct Iter<'a> {
    cb: &'a CpuBuffer,
    cursor: Cursor,
    peeked: Option<Event>,
}

impl Iter<'_> {
    fn fill(&mut self) -> Option<&Event> {
        if self.peeked.is_none() {
            let _guard = self.cb.reader.lock();
            self.peeked = self.cb.step(&mut self.cursor, false, true);
        }
        self.peeked.as_ref()
    }
}

impl EventSource for Iter<'_> {
    fn peek_ts(&mut self) -> Option<u64> {
        self.fill().map(|e| e.ts)
    }

    fn next_event(&mut self) -> Option<Event> {
        self.fill();
        self.peeked.take()
    }
}

impl Iterator for Iter<'_> {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        self.next_event()
    }
}

/// Consumes one CPU.
pub struct Consumer<'a> {
    rb: &'a RingBuffer,
    cpu: usize,
}

impl EventSource for Consumer<'_> {
    fn peek_ts(&mut self) -> Option<u64> {
        self.rb.peek(self.cpu).map(|e| e.ts)
    }

    fn next_event(&mut self) -> Option<Event> {
        self.rb.consume(self.cpu)
    }
}

/// Merges per-CPU sources by timestamp, like Linux's `__find_next_entry`: the source with the
/// smallest next timestamp goes first, the lower CPU on ties.
pub struct Merge<S> {
    sources: Vec<S>,
}

impl<S: EventSource> Merge<S> {
    pub fn new(sources: Vec<S>) -> Self {
        Self { sources }
    }
}

impl<S: EventSource> Iterator for Merge<S> {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        let mut best: Option<(usize, u64)> = None;
        for (i, source) in self.sources.iter_mut().enumerate() {
            if let Some(ts) = source.peek_ts()
                && best.is_none_or(|(_, b)| ts < b)
            {
                best = Some((i, ts));
            }
        }
        self.sources[best?.0].next_event()
    }
}

/// Linux's `ns2usecs`: nanoseconds to microseconds, rounded to nearest.
fn ns2usecs(ns: u64) -> u64 {
    (ns + 500) / 1000
}

/// Writes `per_cpu/cpuN/stats` exactly as Linux's `tracing_stats_read` does. With a
/// nanosecond trace clock (`in_ns`) the two timestamps are nanoseconds printed as
/// `secs.usecs`; otherwise (the `counter` and `uptime` clocks) they are printed raw.
/// `now` is the trace clock's current value.
pub fn format_stats(
    stats: &CpuStats,
    now: u64,
    in_ns: bool,
    out: &mut (impl fmt::Write + ?Sized),
) -> fmt::Result {
    writeln!(out, "entries: {}", stats.entries)?;
    writeln!(out, "overrun: {}", stats.overrun)?;
    writeln!(out, "commit overrun: {}", stats.commit_overrun)?;
    writeln!(out, "bytes: {}", stats.bytes)?;
    if in_ns {
        let oldest = ns2usecs(stats.oldest_event_ts);
        let now = ns2usecs(now);
        writeln!(
            out,
            "oldest event ts: {:5}.{:06}",
            oldest / 1_000_000,
            oldest % 1_000_000
        )?;
        writeln!(out, "now ts: {:5}.{:06}", now / 1_000_000, now % 1_000_000)?;
    } else {
        writeln!(out, "oldest event ts: {}", stats.oldest_event_ts)?;
        writeln!(out, "now ts: {now}")?;
    }
    writeln!(out, "dropped events: {}", stats.dropped_events)?;
    writeln!(out, "read events: {}", stats.read_events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::cell::{Cell, RefCell};
    use std::iter;
    use std::rc::Rc;
    use std::string::String;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::thread;

    /// Payload of test event `i`: `i` six times, so a torn or misplaced event is visible.
    const WORDS: usize = 6;
    /// 16-byte header + 48-byte payload.
    const SIZE: usize = 64;
    /// Events of SIZE per page.
    const PER_PAGE: u64 = (BUF_PAGE_SIZE / SIZE) as u64;

    fn payload(i: u64) -> Vec<u8> {
        (0..WORDS).flat_map(|_| i.to_le_bytes()).collect()
    }

    /// Writes event `i` (timestamp `i`) on `cpu`.
    fn put(rb: &RingBuffer, cpu: usize, i: u64) -> bool {
        put_at(rb, cpu, i, i)
    }

    fn put_at(rb: &RingBuffer, cpu: usize, i: u64, ts: u64) -> bool {
        // SAFETY: in these tests each CPU buffer has one writer thread, which plays that CPU.
        unsafe { rb.write(cpu, ts, &payload(i)) }
    }

    /// The `i` an event carries, after checking its payload is intact.
    fn num(e: &Event) -> u64 {
        assert_eq!(e.payload.len(), WORDS * 8);
        let i = u64::from_le_bytes(e.payload[..8].try_into().unwrap());
        assert_eq!(e.payload, payload(i), "torn event");
        i
    }

    fn drain(rb: &RingBuffer, cpu: usize) -> Vec<u64> {
        core::iter::from_fn(|| rb.consume(cpu))
            .map(|e| num(&e))
            .collect()
    }

    #[test]
    fn write_entry_stores_little_endian_words_and_nests() {
        let rb = RingBuffer::try_new(1, BUF_PAGE_SIZE * 2).unwrap();
        // SAFETY: single-threaded test: CPU 0 is "this" CPU.
        unsafe {
            let mut outer = rb.reserve(0, 8, 1).unwrap();
            outer.copy_from_slice(&7u64.to_le_bytes());
            // A nested writer (an interrupt) commits first; neither is visible until the
            // outermost commit.
            assert!(rb.write_entry(0, 2, [0x0102_0304_0506_0708, u64::MAX]));
            assert!(rb.is_empty(0));
            outer.commit();
        }
        let events: Vec<Event> = core::iter::from_fn(|| rb.consume(0)).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(
            (events[0].ts, events[0].payload.as_slice()),
            (1, &7u64.to_le_bytes()[..])
        );
        let mut want = 0x0102_0304_0506_0708u64.to_le_bytes().to_vec();
        want.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!((events[1].ts, events[1].payload.clone()), (2, want));
        assert_eq!(rb.stats(0).read_events, 2);
    }

    #[test]
    fn write_entry_across_pages_keeps_every_event_in_order() {
        let rb = RingBuffer::try_new(1, BUF_PAGE_SIZE * 4).unwrap();
        let n = 3 * BUF_PAGE_SIZE as u64 / 40;
        for i in 0..n {
            // SAFETY: single-threaded test.
            assert!(unsafe { rb.write_entry(0, i, [i, !i, i ^ 0x55]) });
        }
        let got: Vec<u64> = core::iter::from_fn(|| rb.consume(0))
            .map(|e| e.ts)
            .collect();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }

    /// The event probes' pair: the tail page's fast write, and `write_pending` when the event
    /// does not fit there, with a nested writer between the two (as an interrupt could be).
    #[test]
    fn write_on_tail_page_falls_back_to_write_pending_across_pages() {
        let rb = RingBuffer::try_new(1, BUF_PAGE_SIZE * 4).unwrap();
        let n = 3 * BUF_PAGE_SIZE as u64 / 40;
        let (mut pending_writes, mut want) = (0, Vec::new());
        let fill = |i: u64| {
            move |dst: *mut u8| {
                // SAFETY: the payload is 24 bytes, 8-byte aligned.
                unsafe { dst.cast::<[u64; 3]>().write([i, !i, i ^ 0x55]) }
            }
        };
        for i in 0..n {
            // SAFETY: single-threaded test: the thread plays CPU 0.
            if let Err(pending) = unsafe { rb.write_on_tail_page(0, 24, 2 * i, fill(2 * i)) } {
                pending_writes += 1;
                // A nested writer finishes first, and is published with the outer event.
                // SAFETY: as above; nested inside the pending write.
                assert!(unsafe { rb.write_entry(0, 2 * i + 1, [2 * i + 1, 0, 0]) });
                want.push(2 * i + 1);
                // SAFETY: as above; `pending` is this write's.
                unsafe { rb.write_pending(pending, 24, 2 * i, fill(2 * i)) };
            }
            want.push(2 * i);
        }
        assert!(pending_writes >= 3);
        let got: Vec<(u64, Vec<u8>)> = core::iter::from_fn(|| rb.consume(0))
            .map(|e| (e.ts, e.payload))
            .collect();
        assert_eq!(got.iter().map(|(ts, _)| *ts).collect::<Vec<_>>(), want);
        for (ts, payload) in got.iter().filter(|(ts, _)| ts % 2 == 0) {
            let mut words = payload
                .chunks(8)
                .map(|w| u64::from_le_bytes(w.try_into().unwrap()));
            assert_eq!(words.next(), Some(*ts));
            assert_eq!(words.next(), Some(!ts));
        }
    }

    #[test]
    fn sizes_follow_linux_page_arithmetic() {
        assert_eq!(event_size(48), SIZE);
        assert_eq!(event_size(0), 16);
        assert_eq!(event_size(1), 24);
        assert_eq!(nr_pages_for(0), 2);
        assert_eq!(nr_pages_for(7 * 1024), 2);
        assert_eq!(nr_pages_for(1408 * 1024), 354);
        let rb = RingBuffer::try_new(2, 1408 * 1024).unwrap();
        assert_eq!(rb.nr_pages(1), 354);
        assert_eq!(rb.size(1), 354 * BUF_PAGE_SIZE);
    }

    #[test]
    fn events_read_back_in_order_with_timestamps() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        for i in 0..10 {
            assert!(put_at(&rb, 0, i, 1000 + i));
        }
        let seen: Vec<(u64, u64)> = rb.iter(0).map(|e| (num(&e), e.ts)).collect();
        assert_eq!(seen, (0..10).map(|i| (i, 1000 + i)).collect::<Vec<_>>());
        let s = rb.stats(0);
        assert_eq!(
            (s.entries, s.bytes, s.oldest_event_ts),
            (10, 10 * SIZE as u64, 1000)
        );
    }

    #[test]
    fn iterating_does_not_consume_and_consuming_does() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        for i in 0..5 {
            put(&rb, 0, i);
        }
        assert_eq!(rb.iter(0).count(), 5);
        assert_eq!(rb.iter(0).count(), 5);
        assert_eq!(num(&rb.peek(0).unwrap()), 0);
        assert_eq!(num(&rb.consume(0).unwrap()), 0);
        assert_eq!(num(&rb.consume(0).unwrap()), 1);
        // The iterator starts where the consumer is.
        assert_eq!(rb.iter(0).map(|e| num(&e)).collect::<Vec<_>>(), [2, 3, 4]);
        let s = rb.stats(0);
        assert_eq!((s.entries, s.read_events, s.oldest_event_ts), (3, 2, 2));
        assert_eq!(s.bytes, 3 * SIZE as u64);
        assert_eq!(drain(&rb, 0), [2, 3, 4]);
        assert!(rb.is_empty(0));
        assert_eq!(rb.stats(0).entries, 0);
        put(&rb, 0, 5);
        assert_eq!(drain(&rb, 0), [5]);
    }

    #[test]
    fn wrapping_drops_whole_oldest_pages_as_overrun() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        let n = 1000;
        for i in 0..n {
            assert!(put(&rb, 0, i));
        }
        let s = rb.stats(0);
        assert_eq!(s.overrun % PER_PAGE, 0, "whole pages are dropped");
        assert!(s.overrun > 0);
        assert_eq!(s.entries + s.overrun, n);
        // Three pages (two plus the reader's spare); the tail page is partly full.
        assert!(s.entries > 2 * PER_PAGE && s.entries <= 3 * PER_PAGE);
        let got = drain(&rb, 0);
        assert_eq!(got, (s.overrun..n).collect::<Vec<_>>());
        assert_eq!(rb.stats(0).read_events, got.len() as u64);
    }

    #[test]
    fn a_half_read_page_is_never_overwritten() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        for i in 0..PER_PAGE * 2 {
            put(&rb, 0, i);
        }
        assert_eq!(num(&rb.consume(0).unwrap()), 0);
        for i in PER_PAGE * 2..PER_PAGE * 10 {
            put(&rb, 0, i);
        }
        // The reader's page survives; what follows it is the newest two pages' worth.
        let got = drain(&rb, 0);
        assert_eq!(
            got[..PER_PAGE as usize - 1],
            (1..PER_PAGE).collect::<Vec<_>>()
        );
        let rest = &got[PER_PAGE as usize - 1..];
        assert_eq!(*rest.last().unwrap(), PER_PAGE * 10 - 1);
        assert!(rest.windows(2).all(|w| w[1] == w[0] + 1));
        let s = rb.stats(0);
        assert_eq!(s.overrun + s.read_events, PER_PAGE * 10);
    }

    #[test]
    fn without_overwrite_new_events_are_dropped() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        rb.set_overwrite(false);
        assert!(!rb.overwrite());
        let accepted = (0..1000).filter(|&i| put(&rb, 0, i)).count() as u64;
        assert_eq!(accepted, 3 * PER_PAGE);
        let s = rb.stats(0);
        assert_eq!(
            (s.entries, s.overrun, s.dropped_events),
            (accepted, 0, 1000 - accepted)
        );
        // Reading a page and a bit frees the first page for the writer.
        for i in 0..PER_PAGE + 1 {
            assert_eq!(num(&rb.consume(0).unwrap()), i);
        }
        assert!(put(&rb, 0, 5000));
        let got = drain(&rb, 0);
        assert_eq!(got.len() as u64, 2 * PER_PAGE);
        assert_eq!(got.last(), Some(&5000));
    }

    #[test]
    fn merge_orders_cpus_by_timestamp() {
        let rb = RingBuffer::try_new(3, 0).unwrap();
        // CPU c gets timestamps c, c + 3, c + 6, ...; CPU 2 also one tied with CPU 0.
        for k in 0..20 {
            for cpu in 0..3 {
                put_at(&rb, cpu, k * 3 + cpu as u64, k * 3 + cpu as u64);
            }
        }
        put_at(&rb, 2, 1000, 1000);
        put_at(&rb, 0, 999, 1000);
        let all: Vec<Event> = rb.iter_all().collect();
        assert_eq!(all.len(), 62);
        assert!(all.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert_eq!((all[3].cpu, num(&all[3])), (0, 3));
        // Ties go to the lower CPU.
        assert_eq!((all[60].cpu, all[61].cpu), (0, 2));
        // Non-consuming: everything is still there, and the consuming merge agrees.
        let consumed: Vec<Event> = rb.consume_all().collect();
        assert_eq!(consumed, all);
        assert!(rb.consume_all().next().is_none());
        assert_eq!(rb.stats(1).read_events, 20);
    }

    #[test]
    fn resize_sets_pages_and_drops_contents() {
        let rb = RingBuffer::try_new(2, 0).unwrap();
        for i in 0..10 {
            put(&rb, 0, i);
            put(&rb, 1, i);
        }
        rb.resize(0..1, 1024 * 1024).unwrap();
        assert_eq!(rb.nr_pages(0), (1024 * 1024usize).div_ceil(BUF_PAGE_SIZE));
        assert_eq!(rb.nr_pages(1), 2);
        assert!(rb.is_empty(0));
        assert_eq!(rb.stats(0), CpuStats::default());
        assert_eq!(rb.iter(1).count(), 10);
        // The bigger buffer holds more before overwriting.
        for i in 0..10_000 {
            put(&rb, 0, i);
        }
        assert_eq!(rb.stats(0).overrun, 0);
        rb.resize(0..2, 8192).unwrap();
        assert_eq!((rb.nr_pages(0), rb.nr_pages(1)), (3, 3));
        assert!(rb.is_empty(0) && rb.is_empty(1));
        put(&rb, 1, 7);
        assert_eq!(drain(&rb, 1), [7]);
    }

    /// A resize the memory cannot hold (or whose size overflows) changes nothing: every CPU
    /// keeps its pages and its events, and records on.
    #[test]
    fn a_resize_that_does_not_fit_keeps_every_ring_and_its_events() {
        let rb = RingBuffer::try_new(2, 0).unwrap();
        rb.resize(1..2, 64 * 1024).unwrap();
        for i in 0..10 {
            put(&rb, 0, i);
            put(&rb, 1, i);
        }
        rb.consume(1);
        let before = [rb.stats(0), rb.stats(1)];
        // A petabyte per CPU does not fit a host's address space; usize::MAX overflows.
        for size in [1 << 50, usize::MAX] {
            assert!(rb.resize(0..2, size).is_err());
            assert!(rb.resize(1..2, size).is_err());
        }
        assert_eq!((rb.nr_pages(0), rb.nr_pages(1)), (2, 17));
        assert_eq!([rb.stats(0), rb.stats(1)], before);
        put(&rb, 1, 10);
        assert_eq!(drain(&rb, 0), (0..10).collect::<Vec<_>>());
        assert_eq!(drain(&rb, 1), (1..11).collect::<Vec<_>>());
    }

    #[test]
    fn an_iterator_outlives_a_resize() {
        let rb = RingBuffer::try_new(1, 64 * 1024).unwrap();
        for i in 0..PER_PAGE * 10 {
            put(&rb, 0, i);
        }
        let mut it = rb.iter(0);
        assert_eq!(num(&it.next().unwrap()), 0);
        for _ in 0..PER_PAGE * 5 {
            it.next();
        }
        rb.resize(0..1, 0).unwrap();
        put(&rb, 0, 77);
        assert_eq!(it.map(|e| num(&e)).collect::<Vec<_>>(), [77]);
    }

    #[test]
    fn reset_clears_events_and_counters() {
        let rb = RingBuffer::try_new(2, 0).unwrap();
        for i in 0..500 {
            put(&rb, 0, i);
            put(&rb, 1, i);
        }
        rb.consume(0);
        rb.reset(Some(0));
        assert_eq!(rb.stats(0), CpuStats::default());
        assert_eq!(rb.stats(1).entries + rb.stats(1).overrun, 500);
        rb.reset(None);
        assert!(rb.iter_all().next().is_none());
        assert_eq!(rb.stats(1), CpuStats::default());
        put(&rb, 0, 1);
        assert_eq!(drain(&rb, 0), [1]);
    }

    #[test]
    fn record_off_ignores_writes_without_counting() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        rb.record_off();
        assert!(!rb.is_record_on());
        assert!(!put(&rb, 0, 1));
        assert_eq!(rb.stats(0), CpuStats::default());
        rb.record_on();
        assert!(rb.is_record_on());
        assert!(put(&rb, 0, 2));
        assert_eq!(drain(&rb, 0), [2]);
    }

    #[test]
    fn a_read_pause_stops_writes_but_leaves_tracing_on_alone() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        rb.pause();
        assert!(rb.is_record_on());
        assert!(!put(&rb, 0, 1));
        // tracing_on changes during the pause are kept; the pause still holds.
        rb.record_off();
        rb.record_on();
        assert!(!put(&rb, 0, 2));
        rb.unpause();
        assert!(put(&rb, 0, 3));
        rb.record_off();
        rb.pause();
        rb.unpause();
        assert!(!rb.is_record_on());
        assert!(!put(&rb, 0, 4));
        assert_eq!(drain(&rb, 0), [3]);
    }

    #[test]
    fn oversized_events_are_dropped() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        let big = [0u8; BUF_MAX_DATA_SIZE + 1];
        // SAFETY: this thread is CPU 0's only writer.
        assert!(!unsafe { rb.write(0, 1, &big) });
        // SAFETY: as above.
        assert!(unsafe { rb.write(0, 2, &big[..BUF_MAX_DATA_SIZE]) });
        assert_eq!(rb.stats(0).dropped_events, 1);
        assert_eq!(rb.consume(0).unwrap().payload.len(), BUF_MAX_DATA_SIZE);
    }

    #[test]
    fn reserve_hands_out_exactly_the_payload() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        // SAFETY: this thread is CPU 0's only writer.
        let mut r = unsafe { rb.reserve(0, 5, 42) }.unwrap();
        assert_eq!(r.len(), 5);
        r.copy_from_slice(b"hello");
        r.commit();
        let e = rb.consume(0).unwrap();
        assert_eq!((e.cpu, e.ts, &e.payload[..]), (0, 42, &b"hello"[..]));
    }

    #[test]
    fn nested_writes_appear_with_the_outermost_commit() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        put(&rb, 0, 0);
        // SAFETY: this thread is CPU 0's only writer; the nested writes play an interrupt.
        let mut outer = unsafe { rb.reserve(0, WORDS * 8, 1) }.unwrap();
        outer[..8].copy_from_slice(&1u64.to_le_bytes());
        for i in 2..5 {
            assert!(put(&rb, 0, i));
        }
        // Nothing past the open reservation is visible yet.
        assert_eq!(rb.iter(0).map(|e| num(&e)).collect::<Vec<_>>(), [0]);
        outer.copy_from_slice(&payload(1));
        outer.commit();
        assert_eq!(drain(&rb, 0), [0, 1, 2, 3, 4]);
        assert_eq!(rb.stats(0).entries, 0);
    }

    #[test]
    fn nested_writes_may_cross_pages() {
        let rb = RingBuffer::try_new(1, 64 * 1024).unwrap();
        for i in 0..PER_PAGE - 1 {
            put(&rb, 0, i);
        }
        // The outer event takes the last slot of page 0; the nested ones fill two more pages.
        // SAFETY: as in the previous test.
        let mut outer = unsafe { rb.reserve(0, WORDS * 8, PER_PAGE - 1) }.unwrap();
        for i in PER_PAGE..PER_PAGE * 3 {
            assert!(put(&rb, 0, i));
        }
        assert_eq!(rb.iter(0).count() as u64, PER_PAGE - 1);
        outer.copy_from_slice(&payload(PER_PAGE - 1));
        drop(outer);
        assert_eq!(drain(&rb, 0), (0..PER_PAGE * 3).collect::<Vec<_>>());
    }

    #[test]
    fn nested_writes_that_fill_the_ring_count_commit_overrun() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        // SAFETY: as in the previous tests.
        let mut outer = unsafe { rb.reserve(0, WORDS * 8, 0) }.unwrap();
        let accepted = (1..1000).filter(|&i| put(&rb, 0, i)).count() as u64;
        outer.copy_from_slice(&payload(0));
        outer.commit();
        let s = rb.stats(0);
        assert_eq!(s.commit_overrun, 999 - accepted);
        assert_eq!(s.overrun, 0);
        // The outer event and every accepted nested one are intact.
        assert_eq!(drain(&rb, 0), (0..=accepted).collect::<Vec<_>>());
        assert!(put(&rb, 0, 5000));
        assert_eq!(drain(&rb, 0), [5000]);
    }

    /// What runs at a nest point: the tests' "interrupt", given the point's name.
    type NestHook = Box<dyn FnMut(&'static str)>;

    thread_local! {
        /// The hook of this thread's nest points.
        static NEST_HOOK: RefCell<Option<NestHook>> =
            const { RefCell::new(None) };
    }

    /// Runs the installed hook, which is taken out meanwhile: the writes it does are nested
    /// ones and do not reach the hook again.
    pub(super) fn nest_point(name: &'static str) {
        if let Some(mut hook) = NEST_HOOK.with(|h| h.borrow_mut().take()) {
            hook(name);
            NEST_HOOK.with(|h| *h.borrow_mut() = Some(hook));
        }
    }

    /// Runs `f` with `hook` at every nest point.
    fn with_nest_hook<R>(hook: impl FnMut(&'static str) + 'static, f: impl FnOnce() -> R) -> R {
        NEST_HOOK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
        let r = f();
        NEST_HOOK.with(|h| *h.borrow_mut() = None);
        r
    }

    /// Writes event `i` with a payload of `words` copies of `i` on CPU 0.
    fn put_words(rb: &RingBuffer, i: u64, words: usize) -> bool {
        let payload: Vec<u8> = (0..words).flat_map(|_| i.to_le_bytes()).collect();
        // SAFETY: CPU 0's writer is this thread; the hook's writes nest like interrupts.
        unsafe { rb.write(0, i, &payload) }
    }

    /// The `i` of an event written by [`put_words`], after checking it is intact.
    fn num_words(e: &Event) -> u64 {
        let i = u64::from_le_bytes(e.payload[..8].try_into().unwrap());
        assert!(
            e.payload.chunks(8).all(|w| w == i.to_le_bytes()),
            "torn event {i}"
        );
        assert_eq!(e.ts, i, "event {i} has another's timestamp");
        i
    }

    /// A state of CPU 0's buffer before the writer under test, and its event's size.
    #[derive(Clone, Copy, Debug)]
    enum Before {
        /// An empty buffer: everything takes the fast path.
        Empty,
        /// 24 bytes left on the tail page: the tested 24-byte event fits, a nested 64-byte one
        /// moves to the next page.
        AlmostFull,
        /// The tail page is full: the tested writer moves the tail.
        Full,
    }

    /// Builds the buffer for `before`, returning it and the events written so far.
    fn buffer_before(before: Before) -> (Arc<RingBuffer>, Vec<u64>) {
        let rb = Arc::new(RingBuffer::try_new(1, 0).unwrap());
        // 63 events of 64 bytes and two of 24 fill a page (4080 bytes).
        let sizes: &[usize] = match before {
            Before::Empty => &[],
            Before::AlmostFull => &[6; 63],
            Before::Full => &[6; 63],
        };
        let small = match before {
            Before::Empty => 0,
            Before::AlmostFull => 1,
            Before::Full => 2,
        };
        let words = sizes.iter().copied().chain(iter::repeat_n(1, small));
        let written: Vec<u64> = (0..)
            .zip(words)
            .map(|(i, w)| {
                assert!(put_words(&rb, i, w));
                i
            })
            .collect();
        (rb, written)
    }

    /// The nest points the writer under test passes in `before`, in order.
    fn nest_points(before: Before) -> Vec<&'static str> {
        let (rb, _) = buffer_before(before);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        with_nest_hook(
            move |name| log.borrow_mut().push(name),
            || put_words(&rb, 1000, 1),
        );
        let seen = seen.borrow().clone();
        assert!(!seen.is_empty());
        seen
    }

    /// Runs the writer under test (event 1000, 24 bytes) in `before`, with `nested` (a complete
    /// write of 64-byte events) at its `at`-th nest point. Returns the buffer and every event
    /// written (the outer one only if it was recorded: a burst may fill the ring).
    fn write_with_nested_at(
        before: Before,
        at: usize,
        nested: impl Fn(&Arc<RingBuffer>) -> Vec<u64> + 'static,
    ) -> (Arc<RingBuffer>, Vec<u64>) {
        let (rb, mut written) = buffer_before(before);
        let nested_written = Rc::new(RefCell::new(Vec::new()));
        let (inner, out, mut point) = (rb.clone(), nested_written.clone(), 0);
        let ok = with_nest_hook(
            move |_| {
                if point == at {
                    out.borrow_mut().extend(nested(&inner));
                }
                point += 1;
            },
            || put_words(&rb, 1000, 1),
        );
        if ok {
            written.push(1000);
        }
        written.extend(nested_written.borrow().iter());
        (rb, written)
    }

    /// Runs `case` for every state before the writer and every nest point of the writer; fails
    /// with every point at which `case` returned an error.
    fn at_every_nest_point(case: impl Fn(Before, usize) -> Result<(), String>) {
        let mut failures = Vec::new();
        for before in [Before::Empty, Before::AlmostFull, Before::Full] {
            for (at, name) in nest_points(before).into_iter().enumerate() {
                if let Err(e) = case(before, at) {
                    failures.push(alloc::format!("{before:?}, nested at {at} ({name}): {e}"));
                }
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    fn consume_all(rb: &RingBuffer) -> Vec<u64> {
        iter::from_fn(|| rb.consume(0))
            .map(|e| num_words(&e))
            .collect()
    }

    /// One nested 64-byte event at each step of a writer, in each state of the tail page: both
    /// events are published when the outer writer returns, and nothing counts as lost.
    #[test]
    fn a_nested_writer_at_any_step_is_published_with_the_outer_one() {
        at_every_nest_point(|before, at| {
            let (rb, written) = write_with_nested_at(before, at, |rb| {
                put_words(rb, 2000, 6).then_some(2000).into_iter().collect()
            });
            if !written.contains(&1000) || !written.contains(&2000) {
                return Err(alloc::format!("an event was dropped: {:?}", rb.stats(0)));
            }
            all_published(&rb, written)
        });
    }

    /// Checks that `written` is what `rb` holds, all published, and nothing counted as lost.
    fn all_published(rb: &RingBuffer, mut written: Vec<u64>) -> Result<(), String> {
        let s = rb.stats(0);
        let mut read = consume_all(rb);
        read.sort_unstable();
        written.sort_unstable();
        if read != written {
            let missing: Vec<_> = written.iter().filter(|i| !read.contains(i)).collect();
            return Err(alloc::format!("unpublished: {missing:?}"));
        }
        if (s.commit_overrun, s.dropped_events, s.overrun) != (0, 0, 0) {
            return Err(alloc::format!("counted as lost: {s:?}"));
        }
        Ok(())
    }

    /// Two levels: a nested writer (event 2000) at each step of the writer, and a writer nested
    /// in that one (event 3000) at each of its steps, so every step a nested writer can take
    /// while finishing an interrupted move is interrupted too.
    #[test]
    fn a_writer_nested_in_a_nested_writer_at_any_steps_is_published() {
        at_every_nest_point(|before, at| {
            for inner_at in 0.. {
                let fired = Rc::new(Cell::new(false));
                let seen = fired.clone();
                let (rb, written) = write_with_nested_at(before, at, move |rb| {
                    let (inner, out, fired) = (rb.clone(), Rc::new(Cell::new(false)), seen.clone());
                    let (recorded, mut point) = (out.clone(), 0);
                    let middle = with_nest_hook(
                        move |_| {
                            if point == inner_at {
                                fired.set(true);
                                recorded.set(put_words(&inner, 3000, 6));
                            }
                            point += 1;
                        },
                        || put_words(rb, 2000, 6),
                    );
                    let mut got = Vec::new();
                    got.extend(middle.then_some(2000));
                    got.extend(out.get().then_some(3000));
                    got
                });
                if !fired.get() {
                    return Ok(());
                }
                if written.len() != buffer_before(before).1.len() + 3 {
                    return Err(alloc::format!("inner at {inner_at}: dropped, {written:?}"));
                }
                all_published(&rb, written)
                    .map_err(|e| alloc::format!("inner at {inner_at}: {e}"))?;
            }
            unreachable!()
        });
    }

    /// The writer moves the tail past a page a consumer holds; at each of its steps the
    /// consumer moves on (unpinning that page) and a nested writer runs. The nested writer must
    /// finish the move onto the page the writer chose, not claim the unpinned one: two claims
    /// would leave a claimed page out of the ring and the links between pages wrong.
    #[test]
    fn a_nested_writer_finishes_a_move_a_reader_made_stale() {
        let setup = || {
            let rb = Arc::new(RingBuffer::try_new(1, 0).unwrap());
            // Three full pages; the consumer holds page 0, so a move off page 2 skips it.
            for i in 0..3 * 63 {
                assert!(put_words(&rb, i, 6));
            }
            assert_eq!(rb.consume(0).map(|e| num_words(&e)), Some(0));
            rb
        };
        let points = {
            let rb = setup();
            let seen = Rc::new(RefCell::new(Vec::new()));
            let log = seen.clone();
            with_nest_hook(
                move |name| log.borrow_mut().push(name),
                || put_words(&rb, 1000, 6),
            );
            seen.take()
        };
        let mut failures = Vec::new();
        for (at, name) in points.into_iter().enumerate() {
            let rb = setup();
            let read = Rc::new(RefCell::new(vec![0]));
            let (inner, log, mut point) = (rb.clone(), read.clone(), 0);
            let nested_ok = Rc::new(Cell::new(false));
            let ok_out = nested_ok.clone();
            let outer_ok = with_nest_hook(
                move |_| {
                    if point == at {
                        // Read the rest of page 0 and the first event of page 2.
                        for _ in 0..63 {
                            log.borrow_mut()
                                .extend(inner.consume(0).map(|e| num_words(&e)));
                        }
                        ok_out.set(put_words(&inner, 2000, 6));
                    }
                    point += 1;
                },
                || put_words(&rb, 1000, 6),
            );
            let mut read = read.take();
            read.extend(consume_all(&rb));
            let s = rb.stats(0);
            let accepted = 189 + u64::from(outer_ok) + u64::from(nested_ok.get());
            let ordered = read.iter().filter(|&&i| i < 1000).is_sorted();
            if !ordered
                || read.len() as u64 + s.overrun != accepted
                || s.commit_overrun + s.dropped_events != 2 + 189 - accepted
                || !put_words(&rb, 9000, 6)
                || consume_all(&rb) != [9000]
            {
                failures.push(alloc::format!("at {at} ({name}): read {read:?}, {s:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// A burst of nested writes that wraps the whole ring at each step of a writer: what is
    /// read is intact and in order, every event is read or counted as lost, and the CPU
    /// records and publishes normally afterwards.
    #[test]
    fn a_burst_of_nested_writes_at_any_step_leaves_the_buffer_consistent() {
        const BURST: u64 = 4 * PER_PAGE;
        at_every_nest_point(|before, at| {
            let (rb, written) = write_with_nested_at(before, at, |rb| {
                (2000..2000 + BURST)
                    .filter(|&i| put_words(rb, i, 6))
                    .collect()
            });
            let read = consume_all(&rb);
            let s = rb.stats(0);
            let accepted = written.iter().filter(|&&i| i >= 2000).count() as u64;
            if read.len() as u64 + s.overrun != written.len() as u64
                || s.commit_overrun + s.dropped_events != BURST - accepted
            {
                return Err(alloc::format!(
                    "{} accepted, {} read, {s:?}",
                    written.len(),
                    read.len()
                ));
            }
            let nested: Vec<u64> = read.iter().copied().filter(|&i| i >= 2000).collect();
            if !nested.windows(2).all(|w| w[0] < w[1]) {
                return Err(alloc::format!("out of order: {nested:?}"));
            }
            if !put_words(&rb, 9000, 6) || consume_all(&rb) != [9000] {
                return Err("the next event is not recorded and published".into());
            }
            Ok(())
        });
    }

    #[test]
    fn stats_format_matches_linux() {
        let stats = CpuStats {
            entries: 5,
            overrun: 1,
            commit_overrun: 2,
            bytes: 224,
            oldest_event_ts: 96_955_082_688_499,
            dropped_events: 3,
            read_events: 4,
        };
        let mut out = String::new();
        format_stats(&stats, 5_000_500, true, &mut out).unwrap();
        assert_eq!(
            out,
            "entries: 5\noverrun: 1\ncommit overrun: 2\nbytes: 224\n\
             oldest event ts: 96955.082688\nnow ts:     0.005001\n\
             dropped events: 3\nread events: 4\n"
        );
    }

    #[test]
    fn stats_format_of_a_counter_clock_is_raw() {
        let stats = CpuStats {
            entries: 2,
            oldest_event_ts: 17,
            ..CpuStats::default()
        };
        let mut out = String::new();
        format_stats(&stats, 42, false, &mut out).unwrap();
        assert_eq!(
            out,
            "entries: 2\noverrun: 0\ncommit overrun: 0\nbytes: 0\n\
             oldest event ts: 17\nnow ts: 42\n\
             dropped events: 0\nread events: 0\n"
        );
    }

    #[test]
    fn stats_of_a_real_buffer_format() {
        let rb = RingBuffer::try_new(1, 0).unwrap();
        for i in 0..3 {
            put_at(&rb, 0, i, 1_500_000_000 + i);
        }
        rb.consume(0);
        let mut out = String::new();
        format_stats(&rb.stats(0), 2_000_000_000, true, &mut out).unwrap();
        assert_eq!(
            out,
            "entries: 2\noverrun: 0\ncommit overrun: 0\nbytes: 128\n\
             oldest event ts:     1.500000\nnow ts:     2.000000\n\
             dropped events: 0\nread events: 1\n"
        );
    }

    /// One thread writes CPU 0 as fast as it can into a small buffer, another consumes it and a
    /// third iterates it: every event read is intact and in order, and events are either
    /// consumed, overwritten (counted) or dropped (counted).
    #[test]
    fn concurrent_writer_consumer_and_iterator() {
        let rb = Arc::new(RingBuffer::try_new(1, 4 * BUF_PAGE_SIZE).unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let n = 300_000u64;
        let writer = {
            let rb = rb.clone();
            thread::spawn(move || (0..n).filter(|&i| put(&rb, 0, i)).count() as u64)
        };
        let consumer = {
            let (rb, done) = (rb.clone(), done.clone());
            thread::spawn(move || {
                let mut last = None;
                let mut count = 0u64;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    match rb.consume(0) {
                        Some(e) => {
                            let i = num(&e);
                            assert!(last.is_none_or(|l| i > l), "{i} after {last:?}");
                            last = Some(i);
                            count += 1;
                        }
                        None if finished => return count,
                        None => thread::yield_now(),
                    }
                }
            })
        };
        let iterator = {
            let (rb, done) = (rb.clone(), done.clone());
            thread::spawn(move || {
                while !done.load(Ordering::Acquire) {
                    let seen: Vec<u64> = rb.iter(0).take(1000).map(|e| num(&e)).collect();
                    assert!(seen.windows(2).all(|w| w[0] < w[1]));
                }
            })
        };
        let written = writer.join().unwrap();
        done.store(true, Ordering::Release);
        let consumed = consumer.join().unwrap();
        iterator.join().unwrap();
        let s = rb.stats(0);
        assert_eq!(written + s.dropped_events, n);
        assert_eq!(consumed + s.overrun, written);
        assert_eq!(
            (s.entries, s.read_events, s.commit_overrun),
            (0, consumed, 0)
        );
        assert!(consumed > 0);
    }

    /// Resets and resizes from another thread while the writer runs: the writer never waits
    /// for them, and what is read afterwards is intact.
    #[test]
    fn reset_and_resize_race_with_the_writer() {
        let rb = Arc::new(RingBuffer::try_new(1, 0).unwrap());
        let writer = {
            let rb = rb.clone();
            thread::spawn(move || {
                for i in 0..200_000 {
                    put(&rb, 0, i);
                }
            })
        };
        for k in 0..200 {
            if k % 2 == 0 {
                rb.reset(Some(0));
            } else {
                rb.resize(0..1, (k % 7) * BUF_PAGE_SIZE).unwrap();
            }
            let seen = drain(&rb, 0);
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
        }
        writer.join().unwrap();
        let seen = drain(&rb, 0);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }
}
