//! Tracepoints (Linux: `kernel/tracepoint.c`, `include/linux/tracepoint.h`): a named hook in
//! the kernel's code that calls every probe registered on it, and costs one NOP when none is.
//!
//! A [`Tracepoint`] owns a static key and a probe array. The call site (the `trace_NAME`
//! function a [`crate::trace_event!`] defines) is one static branch; when the key is on it
//! calls [`Tracepoint::call`] out of line, which walks the published array with IRQs masked.
//! As Linux's, the array ends in an entry without a function, and the tracepoint points at its
//! first entry: the walk loads no length and no second pointer.
//! Registering or unregistering builds a new array, publishes it by a pointer swap, and frees
//! the old one after the stop-machine grace period (every CPU has since had IRQs unmasked, so
//! no caller still walks it: "RCU-style" until the kernel has a real RCU). The key goes on with
//! the first probe and off with the last.
//!
//! Unregistering never fails for want of memory (callers tearing down cannot undo): when the
//! smaller array cannot be allocated, the probe's slot in the published array is overwritten
//! with the tracepoint's do-nothing stub inside a stop-machine rendezvous, where no CPU walks
//! it (Linux's `tp_stub_func` fallback). Stubbed slots are skipped by the next rebuild.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use spin::Mutex;

use crate::fs::Errno;
use crate::jump_label::{StaticKey, static_key_slow_dec, static_key_slow_inc};

/// One registered probe: the function, its identity (the function's address, for
/// unregistering), its data and its priority (higher runs first).
#[derive(Clone, Copy)]
pub struct TracepointFunc<P> {
    /// `None` only in the entry that ends a published array.
    func: Option<P>,
    addr: *const (),
    data: *const (),
    prio: i32,
}

impl<P> TracepointFunc<P> {
    /// The entry that ends a published array (Linux's NULL `func`).
    const END: Self = Self {
        func: None,
        addr: ptr::null(),
        data: ptr::null(),
        prio: 0,
    };
}

/// The priority of a probe registered without one (Linux's `TRACEPOINT_DEFAULT_PRIO`).
pub const TRACEPOINT_DEFAULT_PRIO: i32 = 10;

/// A published probe array, [`TracepointFunc::END`] last; never changed once published but
/// for stubbing (see [`Tracepoint::stub_out`]).
type Probes<P> = Box<[TracepointFunc<P>]>;

/// Serialises every tracepoint's registrations (Linux's `tracepoints_mutex`).
static TRACEPOINTS_MUTEX: Mutex<()> = Mutex::new(());

/// A tracepoint's regfunc and unregfunc.
type RegFuncs = (fn(), fn());

/// A tracepoint whose probes have the function type `P` (`fn(*const (), ARGS...)`).
pub struct Tracepoint<P: 'static> {
    pub name: &'static str,
    /// On while any probe is registered; the call sites branch on it.
    pub key: &'static StaticKey,
    /// The first entry of the published array (a leaked `Probes<P>`), or null.
    funcs: AtomicPtr<TracepointFunc<P>>,
    /// Called before the first probe is attached and after the last is removed (Linux's
    /// `TRACE_EVENT_FN` regfunc/unregfunc): installs what feeds the tracepoint only while
    /// someone listens.
    regfunc: Option<RegFuncs>,
    /// A probe that does nothing: what an unregistered probe's slot holds when the smaller
    /// array could not be allocated.
    stub: P,
}

// SAFETY: the raw `data`/`addr` pointers are only compared and handed back to the probes that
// registered them; the array is published and freed under the rules in the module docs.
unsafe impl<P> Sync for Tracepoint<P> {}

impl<P: Copy + 'static> Tracepoint<P> {
    /// A tracepoint whose call sites branch on `key` (a `StaticKeyFalse`'s key); `stub` is a
    /// probe of the right type that does nothing.
    pub const fn new(name: &'static str, key: &'static StaticKey, stub: P) -> Self {
        Self {
            name,
            key,
            funcs: AtomicPtr::new(ptr::null_mut()),
            regfunc: None,
            stub,
        }
    }

    /// The same tracepoint with a regfunc and an unregfunc.
    pub const fn with_regfunc(mut self, reg: fn(), unreg: fn()) -> Self {
        self.regfunc = Some((reg, unreg));
        self
    }

    /// The published array's probes (without its end).
    fn published(&self) -> &[TracepointFunc<P>] {
        let first = self.funcs.load(Ordering::Acquire);
        if first.is_null() {
            return &[];
        }
        // SAFETY: a published array is freed only after its replacement and a grace period;
        // callers hold IRQs masked (`call`) or the mutex (registration), which frees nothing
        // while it reads. It ends in `END`, so the probes before it are in bounds.
        unsafe { core::slice::from_raw_parts(first, Self::len_at(first)) }
    }

    /// How many probes the published array at `first` has before its end.
    ///
    /// # Safety
    /// `first` is the first entry of a live published array.
    unsafe fn len_at(first: *const TracepointFunc<P>) -> usize {
        let mut n = 0;
        // SAFETY: per the caller, every entry up to `END` is in the array.
        while unsafe { (*first.add(n)).func.is_some() } {
            n += 1;
        }
        n
    }

    /// The registered probes: the published array without stubbed slots.
    fn live(&self) -> impl Iterator<Item = &TracepointFunc<P>> + Clone {
        self.published().iter().filter(|f| !f.addr.is_null())
    }

    /// `new` (allocated with exactly one more entry's room) ended and boxed as an array to
    /// publish; `None` when it has no probe.
    fn boxed(mut new: Vec<TracepointFunc<P>>) -> Option<Probes<P>> {
        if new.is_empty() {
            return None;
        }
        debug_assert!(new.capacity() == new.len() + 1);
        new.push(TracepointFunc::END);
        // `new` has exactly its length's capacity: boxing the slice does not reallocate.
        Some(new.into_boxed_slice())
    }

    /// Publishes `new` and frees the array it replaces once no caller can be walking it.
    fn publish(&self, new: Option<Probes<P>>) {
        let new = new.map_or(ptr::null_mut(), |b| {
            Box::into_raw(b).cast::<TracepointFunc<P>>()
        });
        let old = self.funcs.swap(new, Ordering::AcqRel);
        if !old.is_null() {
            crate::stop_machine::synchronize();
            // SAFETY: unpublished above, and every CPU has since passed a rendezvous; `old`
            // is a leaked `Probes<P>`: its probes and its end.
            drop(unsafe {
                let len = Self::len_at(old) + 1;
                Box::from_raw(ptr::slice_from_raw_parts_mut(old, len))
            });
        }
    }

    /// Adds a probe (Linux's `tracepoint_probe_register`) at the default priority.
    pub fn probe_register(
        &'static self,
        func: P,
        addr: *const (),
        data: *const (),
    ) -> Result<(), Errno> {
        self.probe_register_prio(func, addr, data, TRACEPOINT_DEFAULT_PRIO)
    }

    /// Adds a probe that runs before those of lower `prio` and after those of the same or
    /// higher (Linux's `tracepoint_probe_register_prio`): `EEXIST` if the same function and
    /// data are registered already, `ENOMEM` when the new array cannot be allocated.
    pub fn probe_register_prio(
        &'static self,
        func: P,
        addr: *const (),
        data: *const (),
        prio: i32,
    ) -> Result<(), Errno> {
        let _guard = TRACEPOINTS_MUTEX.lock();
        let old = self.live();
        if old.clone().any(|f| f.addr == addr && f.data == data) {
            return Err(Errno::EEXIST);
        }
        let len = old.clone().count();
        let mut new = Vec::new();
        new.try_reserve_exact(len + 2).map_err(|_| Errno::ENOMEM)?;
        let at = old.clone().position(|f| f.prio < prio).unwrap_or(len);
        new.extend(old.clone().take(at).copied());
        new.push(TracepointFunc {
            func: Some(func),
            addr,
            data,
            prio,
        });
        new.extend(old.skip(at).copied());
        let first = len == 0;
        let new = Self::boxed(new);
        if first && let Some((reg, _)) = self.regfunc {
            reg();
        }
        self.publish(new);
        if first {
            static_key_slow_inc(self.key);
        }
        Ok(())
    }

    /// Removes a probe (Linux's `tracepoint_probe_unregister`): `ENOENT` if it is not there,
    /// and nothing else: a failed allocation falls back to stubbing the slot in place. When
    /// this returns, no CPU is still in the probe through this tracepoint.
    pub fn probe_unregister(&'static self, addr: *const (), data: *const ()) -> Result<(), Errno> {
        let _guard = TRACEPOINTS_MUTEX.lock();
        let Some(at) = self
            .published()
            .iter()
            .position(|f| !f.addr.is_null() && f.addr == addr && f.data == data)
        else {
            return Err(Errno::ENOENT);
        };
        let len = self.live().count() - 1;
        let last = len == 0;
        let mut new = Vec::new();
        let rebuilt = !inject_alloc_failure() && new.try_reserve_exact(len + 1).is_ok() && {
            new.extend(
                self.published()
                    .iter()
                    .enumerate()
                    .filter(|&(i, f)| i != at && !f.addr.is_null())
                    .map(|(_, f)| *f),
            );
            if last {
                static_key_slow_dec(self.key);
            }
            self.publish(Self::boxed(new));
            true
        };
        if !rebuilt {
            self.stub_out(at);
            if last {
                static_key_slow_dec(self.key);
            }
        }
        if last && let Some((_, unreg)) = self.regfunc {
            unreg();
        }
        Ok(())
    }

    /// Replaces the published slot `at` with the stub while every other CPU is parked in a
    /// rendezvous, so none is walking the array (walkers run with IRQs masked, and a CPU only
    /// parks from its IPI handler).
    fn stub_out(&self, at: usize) {
        let stub = self.stub;
        let funcs = self.funcs.load(Ordering::Acquire);
        crate::stop_machine::stop_machine(&mut || {
            // SAFETY: `funcs` is the published array (non-null: it holds the probe at `at`),
            // only freed under the mutex we hold, and no other CPU reads it during the
            // rendezvous.
            let slot = unsafe { &mut *funcs.add(at) };
            *slot = TracepointFunc {
                func: Some(stub),
                addr: ptr::null(),
                data: ptr::null(),
                prio: slot.prio,
            };
        });
    }

    /// Calls `each` with every registered probe and whether the caller ran with IRQs masked,
    /// IRQs masked meanwhile (Linux's `__DO_TRACE`). Called from the `trace_NAME` call site's
    /// out-of-line branch. The caller's IRQ state comes from the DAIF value the masking saves,
    /// so DAIF is read once.
    #[inline(always)]
    pub fn call(&self, mut each: impl FnMut(P, *const (), bool)) {
        let irqs = arch::irqflags::local_irq_save();
        let irqs_off = irqs.irqs_disabled();
        let mut f = self.funcs.load(Ordering::Acquire).cast_const();
        if !f.is_null() {
            // SAFETY: a published array, which stays while IRQs are masked (see `published`),
            // ends in `END`: every entry read is in it.
            while let Some(func) = unsafe { (*f).func } {
                // SAFETY: as above.
                let data = unsafe { (*f).data };
                each(func, data, irqs_off);
                // SAFETY: as above: `f` was not the end.
                f = unsafe { f.add(1) };
            }
        }
        arch::irqflags::local_irq_restore(irqs);
    }
}

/// The next unregistration behaves as if its allocation failed (for the in-kernel tests).
#[cfg(feature = "ktest")]
pub static INJECT_UNREGISTER_ALLOC_FAILURE: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

#[cfg(feature = "ktest")]
fn inject_alloc_failure() -> bool {
    INJECT_UNREGISTER_ALLOC_FAILURE.swap(false, Ordering::Relaxed)
}

#[cfg(not(feature = "ktest"))]
fn inject_alloc_failure() -> bool {
    false
}
