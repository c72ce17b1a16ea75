//! A process's address space (Linux: `struct mm_struct`): its page tables and ASID context,
//! and the `brk` and `mmap` bookkeeping. Pages are populated when mapped (no demand paging
//! yet), so every fault at EL0 is a real error and every fault in a uaccess helper is EFAULT.
//!
//! The page table is the record of what is mapped: there is no VMA list yet
//! (`/proc/PID/maps` folds the pages into lines, see [`Mm::snapshot`]). `mmap` without `MAP_FIXED` takes addresses top-down from below the stack
//! and does not reuse holes. The one thing the table cannot say is which unmapped addresses
//! `mmap(PROT_NONE)` reserved (no frame backs them until `mprotect` opens them): those ranges
//! are kept in a [`Reserved`] set. `mprotect` changes the protection of mapped pages in place
//! ([`UserPageTable::protect_range`]; `PROT_NONE` keeps the frame, see
//! [`arch::pgtable::user_prot_none`]) and maps zeroed pages over reserved ones.
//!
//! Locking: a spinlock around the tables and counters; only the owning task changes them (the
//! scheduler reads nothing but the `MmContext`, which never changes after creation). `/proc`
//! readers in other tasks take the same lock for a [`Mm::snapshot`].

use alloc::vec::Vec;
use arch::asid::MmContext;
use arch::mmu::phys_to_virt;
use arch::pgtable::{
    TASK_SIZE, UserMapError, UserPageTable, user_prot, user_prot_exec, user_prot_none,
};
use spin::Mutex;

use crate::binfmt_elf::{ElfImage, PAGE_SIZE, STACK_SIZE, STACK_TOP};
use crate::fs::Errno;
use crate::fs::procfs::ImageLayout;
use crate::mm::page_alloc::{self, Frames};
use crate::mm::reserved::Reserved;

/// The highest address `mmap` hands out: a gap of 8 MiB below the stack (Linux keeps the stack
/// rlimit's room there).
const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (8 << 20);

/// The signal-return page: mapped read-only and executable in every program's address space,
/// holding Linux's `sigtramp` of `arch/arm64/kernel/vdso/sigreturn.S`. It sits below the
/// stack with one unmapped page between (a stack overflow still faults there first), in the
/// stack's last-level table, which saves a fork and an exec one table each (12,500
/// instructions of `forkexec_hello`) over a place of its own near the `mmap` area, where Linux
/// puts its vDSO. A handler installed without `SA_RESTORER` (glibc's
/// way on arm64) returns to [`SIGTRAMP`], as Linux's return to the vDSO's
/// `__kernel_rt_sigreturn`.
pub const SIGPAGE: u64 = STACK_TOP - STACK_SIZE - 2 * PAGE_SIZE;
/// `__kernel_rt_sigreturn`: after the page's leading `nop` (Linux keeps one before the symbol
/// for unwinders).
pub const SIGTRAMP: u64 = SIGPAGE + 4;
/// `nop; mov x8, #__NR_rt_sigreturn (139); svc #0`.
const SIGPAGE_CODE: [u32; 3] = [0xd503_201f, 0xd280_1168, 0xd400_0001];

struct Inner {
    table: Option<UserPageTable>,
    /// Where the heap starts (the page after the program) and where it ends now.
    start_brk: u64,
    brk: u64,
    /// Next `mmap` address is below this.
    mmap_base: u64,
    /// What the loaded program left here, for `/proc/PID/maps` and `stat`.
    layout: ImageLayout,
    /// `PROT_NONE` reservations: addresses no frame backs, which `mprotect` may open.
    reserved: Reserved,
}

/// What `/proc/PID/maps`, `status` and `stat` read of an address space, taken at one moment.
pub struct MmSnapshot {
    /// Every mapped page `(va, write, exec)`, in address order.
    pub pages: Vec<(u64, bool, bool)>,
    pub layout: ImageLayout,
    pub start_brk: u64,
    pub brk: u64,
}

pub struct Mm {
    context: MmContext,
    inner: Mutex<Inner>,
}

impl Mm {
    /// An empty address space; `ENOMEM` when no frame is left for its root table.
    pub fn new() -> Result<Self, Errno> {
        let table = UserPageTable::new(&Frames).ok_or(Errno::ENOMEM)?;
        Ok(Self {
            context: MmContext::new(table.root_phys()),
            inner: Mutex::new(Inner {
                table: Some(table),
                start_brk: 0,
                brk: 0,
                mmap_base: MMAP_TOP,
                layout: ImageLayout::default(),
                reserved: Reserved::default(),
            }),
        })
    }

    /// What the context switch installs.
    pub fn context(&self) -> &MmContext {
        &self.context
    }

    /// Maps zeroed pages over `[start, start + len)` (page aligned). `ENOMEM` when frames run
    /// out (what this call mapped is unmapped again), `EEXIST` if a page is mapped already.
    pub fn map_zeroed(&self, start: u64, len: u64, write: bool, exec: bool) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        map_zeroed(&mut inner, self.context.asid(), start, len, write, exec)
    }

    /// Unmaps whatever is mapped or reserved in `[start, start + len)` and frees its frames.
    /// `ENOMEM` (nothing changed) when a reservation cut in two needs memory that is not there.
    pub fn unmap(&self, start: u64, len: u64) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        unmap(&mut inner, self.context.asid(), start, len)
    }

    /// Copies `data` to the mapped user address `va` through the linear map (the loader's
    /// way in: the address space is not installed yet, so no uaccess helper can reach it).
    pub fn write(&self, mut va: u64, mut data: &[u8]) -> Result<(), Errno> {
        let inner = self.inner.lock();
        let table = inner.table.as_ref().ok_or(Errno::EFAULT)?;
        while !data.is_empty() {
            let (pa, _) = table.translate(va).ok_or(Errno::EFAULT)?;
            let in_page = (va % PAGE_SIZE) as usize;
            let n = data.len().min(PAGE_SIZE as usize - in_page);
            // SAFETY: `pa` is a frame of this address space (mapped, owned by its table), in
            // the linear map; `n` stays inside the page.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    (phys_to_virt(pa) as *mut u8).add(in_page),
                    n,
                );
            }
            va += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// Makes the code just written for `image` visible to instruction fetch.
    pub fn sync_icache(&self, image: &ElfImage) -> Result<(), Errno> {
        let inner = self.inner.lock();
        let table = inner.table.as_ref().ok_or(Errno::EFAULT)?;
        for (&page, prot) in &image.pages {
            if prot.exec {
                let (pa, _) = table.translate(page).ok_or(Errno::EFAULT)?;
                let va = phys_to_virt(pa);
                arch::cache::caches_clean_inval_pou(va, va + PAGE_SIZE);
            }
        }
        Ok(())
    }

    /// A copy of this address space, page by page (Linux's `dup_mm`, without copy-on-write):
    /// `ENOMEM` when frames run out (nothing is left allocated then).
    pub fn duplicate(&self) -> Result<Mm, Errno> {
        let copy = Mm::new()?;
        let inner = self.inner.lock();
        let table = inner.table.as_ref().ok_or(Errno::EFAULT)?;
        let mut result = Ok(());
        {
            let mut new_inner = copy.inner.lock();
            new_inner.start_brk = inner.start_brk;
            new_inner.brk = inner.brk;
            new_inner.mmap_base = inner.mmap_base;
            new_inner.layout = clone_layout(&inner.layout)?;
            new_inner.reserved = inner.reserved.try_clone()?;
            let new_table = new_inner.table.as_mut().ok_or(Errno::EFAULT)?;
            table.for_each_page_prot(|va, pa, prot| {
                if result.is_err() {
                    return;
                }
                let Some(frame) = page_alloc::alloc_page() else {
                    result = Err(Errno::ENOMEM);
                    return;
                };
                // SAFETY: both frames are in the linear map; `pa` is mapped by the parent (whose
                // lock we hold) and `frame` was just allocated.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        phys_to_virt(pa) as *const u8,
                        phys_to_virt(frame) as *mut u8,
                        PAGE_SIZE as usize,
                    );
                }
                if user_prot_exec(prot) {
                    let va = phys_to_virt(frame);
                    arch::cache::caches_clean_inval_pou(va, va + PAGE_SIZE);
                }
                if new_table.map_page(va, frame, prot, &Frames).is_err() {
                    page_alloc::free_page(frame);
                    result = Err(Errno::ENOMEM);
                }
            });
        }
        // On failure `copy` drops here and frees what was copied.
        result.map(|()| copy)
    }

    /// Makes the code written to the executable page `va` visible to instruction fetch.
    pub fn sync_icache_page(&self, va: u64) -> Result<(), Errno> {
        let inner = self.inner.lock();
        let table = inner.table.as_ref().ok_or(Errno::EFAULT)?;
        let (pa, _) = table.translate(va).ok_or(Errno::EFAULT)?;
        let va = phys_to_virt(pa);
        arch::cache::caches_clean_inval_pou(va, va + PAGE_SIZE);
        Ok(())
    }

    /// Maps the signal-return page ([`SIGPAGE`]) into a new address space.
    pub fn map_sigpage(&self) -> Result<(), Errno> {
        self.map_zeroed(SIGPAGE, PAGE_SIZE, false, true)?;
        let mut code = [0u8; 12];
        for (bytes, insn) in code.chunks_exact_mut(4).zip(SIGPAGE_CODE) {
            bytes.copy_from_slice(&insn.to_le_bytes());
        }
        self.write(SIGPAGE, &code)?;
        self.sync_icache_page(SIGPAGE)
    }

    /// Records what the loader placed (the program's ranges and stack), for `/proc`.
    pub fn set_layout(&self, layout: ImageLayout) {
        self.inner.lock().layout = layout;
    }

    /// The mapped pages and the layout as they are now (Linux reads `maps` under the mmap
    /// lock likewise). `ENOMEM` if the page list cannot be allocated.
    pub fn snapshot(&self) -> Result<MmSnapshot, Errno> {
        let inner = self.inner.lock();
        let mut pages = Vec::new();
        let mut result = Ok(());
        if let Some(table) = inner.table.as_ref() {
            table.for_each_page(|va, _, write, exec| {
                if result.is_ok() {
                    result = pages.try_reserve(1).map_err(|_| Errno::ENOMEM);
                    if result.is_ok() {
                        pages.push((va, write, exec));
                    }
                }
            });
        }
        result?;
        Ok(MmSnapshot {
            pages,
            layout: clone_layout(&inner.layout)?,
            start_brk: inner.start_brk,
            brk: inner.brk,
        })
    }

    /// Where the stack is: `[start, end)`.
    pub fn stack_range(&self) -> core::ops::Range<u64> {
        STACK_TOP - STACK_SIZE..STACK_TOP
    }

    /// Sets where the heap starts (the loader's `brk`).
    pub fn set_brk_start(&self, start: u64) {
        let mut inner = self.inner.lock();
        inner.start_brk = start;
        inner.brk = start;
    }

    /// Linux's `brk`: moves the heap's end to `new` if that is possible and returns the end it
    /// has then (the old one on any failure, as Linux does).
    pub fn brk(&self, new: u64) -> u64 {
        let mut inner = self.inner.lock();
        let old = inner.brk;
        if new < inner.start_brk || new > inner.mmap_base {
            return old;
        }
        let (old_end, new_end) = (page_up(old), page_up(new));
        if new_end > old_end {
            let asid = self.context.asid();
            if map_zeroed(&mut inner, asid, old_end, new_end - old_end, true, false).is_err() {
                return old;
            }
        } else if new_end < old_end
            && unmap(&mut inner, self.context.asid(), new_end, old_end - new_end).is_err()
        {
            return old;
        }
        inner.brk = new;
        new
    }

    /// `MAP_FIXED_NOREPLACE`: maps at `addr` unless something is there (`EEXIST`).
    pub fn mmap_at(&self, addr: u64, len: u64, write: bool, exec: bool) -> Result<u64, Errno> {
        let mut inner = self.inner.lock();
        let asid = self.context.asid();
        map_zeroed(&mut inner, asid, addr, len, write, exec).map(|()| addr)
    }

    /// Anonymous private `mmap`: at `fixed` (replacing what was there) or at an address of our
    /// choosing. `len` is non-zero and page aligned. `PROT_NONE` (`none`) only reserves the
    /// addresses: nothing is mapped, so any access faults.
    pub fn mmap_anonymous(
        &self,
        fixed: Option<u64>,
        len: u64,
        none: bool,
        write: bool,
        exec: bool,
    ) -> Result<u64, Errno> {
        let mut inner = self.inner.lock();
        let asid = self.context.asid();
        let start = match fixed {
            Some(addr) => {
                unmap(&mut inner, asid, addr, len)?;
                addr
            }
            None => {
                let start = inner
                    .mmap_base
                    .checked_sub(len)
                    .filter(|&s| s >= page_up(inner.brk))
                    .ok_or(Errno::ENOMEM)?;
                inner.mmap_base = start;
                start
            }
        };
        if none {
            inner.reserved.insert(start, start + len)?;
        } else {
            map_zeroed(&mut inner, asid, start, len, write, exec)?;
        }
        Ok(start)
    }

    /// Linux's `mprotect` of `[start, start + len)` (page aligned, `len` non-zero): as Linux
    /// walks its mappings, the pages from `start` up to the first address that is neither
    /// mapped nor reserved get the new protection, and a hole before `start + len` (or a range
    /// past `TASK_SIZE`) is `ENOMEM` after that partial change, as on Linux. Mapped pages change
    /// in place; reserved ones are mapped zeroed unless the protection is `PROT_NONE` (`none`).
    /// `ENOMEM` when frames run out for those (the pages mapped so far stay).
    pub fn mprotect(
        &self,
        start: u64,
        len: u64,
        none: bool,
        write: bool,
        exec: bool,
    ) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        let asid = self.context.asid();
        let end = start.saturating_add(len);
        let stop = covered_prefix(&inner, start, end.min(TASK_SIZE))?;
        if stop == start {
            return Err(Errno::ENOMEM);
        }
        let prot = if none {
            user_prot_none()
        } else {
            user_prot(write, exec)
        };
        if !none {
            let mut pieces = Vec::new();
            pieces
                .try_reserve(inner.reserved.within(start, stop).count())
                .map_err(|_| Errno::ENOMEM)?;
            pieces.extend(inner.reserved.within(start, stop));
            for (s, e) in pieces {
                map_zeroed(&mut inner, asid, s, e - s, write, exec)?;
            }
        }
        let table = inner.table.as_mut().ok_or(Errno::EFAULT)?;
        table.protect_range(start, stop, asid, prot);
        if exec {
            // Code written while the pages were writable must reach instruction fetch.
            let mut va = start;
            while va < stop {
                if let Some((pa, _)) = table.translate(va) {
                    let kva = phys_to_virt(pa);
                    arch::cache::caches_clean_inval_pou(kva, kva + PAGE_SIZE);
                }
                va += PAGE_SIZE;
            }
        }
        if stop < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}

impl Mm {
    /// `madvise` of `[start, start + len)` (page aligned, non-empty): with `zero`
    /// (`MADV_DONTNEED`), the mapped pages' contents become zero, as a private anonymous page
    /// reads after Linux drops it (every page here is private and anonymous: file data is copied
    /// in at load). As Linux, holes are skipped and reported at the end: `ENOMEM` if any part of
    /// the range is neither mapped nor reserved.
    pub fn madvise(&self, start: u64, len: u64, zero: bool) -> Result<(), Errno> {
        let inner = self.inner.lock();
        let end = start.saturating_add(len);
        let table = inner.table.as_ref().ok_or(Errno::EFAULT)?;
        if zero {
            table.for_each_page(|va, pa, _, exec| {
                if va < start || va >= end {
                    return;
                }
                let kva = phys_to_virt(pa);
                // SAFETY: a frame of this address space (we hold its lock), in the linear
                // map; zeroing it is what the owner's next read must see.
                unsafe { core::ptr::write_bytes(kva as *mut u8, 0, PAGE_SIZE as usize) };
                if exec {
                    arch::cache::caches_clean_inval_pou(kva, kva + PAGE_SIZE);
                }
            });
        }
        if end > TASK_SIZE || covered_prefix(&inner, start, end)? < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}

/// Reads (`write` false) or writes `buf` at the user address `addr` of `mm`, another
/// process's address space, the way a debugger does (Linux: `access_process_vm` with
/// `FOLL_FORCE`): each page is found by walking `mm`'s page table, and its frame is reached
/// through the kernel's linear map of physical memory, never through the process's own
/// mapping, so read-only text takes a breakpoint and a page without EL0 access
/// (`PROT_NONE`) can be read. Returns how many bytes were copied: it stops at the first
/// unmapped page (or at `TASK_SIZE`: a kernel address is never reached).
///
/// No frame is shared between two address spaces here (`fork` copies every page, `execve`
/// loads the program into fresh ones, and only a `vfork` child shares its parent's whole
/// `Mm`, as on Linux), so a write changes this process alone and needs no copy-on-write
/// break first. After a write the range is cleaned to the point of unification and the
/// instruction cache invalidated (DC CVAU, DSB ISH, IC IVAU, DSB ISH, ISB), so an
/// instruction written there (`brk #0`) is what the tracee fetches next.
pub fn access_process_vm(mm: &Mm, mut addr: u64, buf: &mut [u8], write: bool) -> usize {
    let inner = mm.inner.lock();
    let Some(table) = inner.table.as_ref() else {
        return 0;
    };
    let mut done = 0;
    while done < buf.len() {
        let Some((pa, _)) = table.translate(addr) else {
            break;
        };
        let in_page = (addr % PAGE_SIZE) as usize;
        let n = (buf.len() - done).min(PAGE_SIZE as usize - in_page);
        let alias = phys_to_virt(pa) + in_page as u64;
        let part = &mut buf[done..done + n];
        // SAFETY: `pa` is a frame of `mm` (mapped in its table, whose lock we hold, so it
        // cannot be unmapped and freed meanwhile), reached through the linear map; `n` bytes
        // stay inside the page.
        unsafe {
            if write {
                core::ptr::copy_nonoverlapping(part.as_ptr(), alias as *mut u8, n);
            } else {
                core::ptr::copy_nonoverlapping(alias as *const u8, part.as_mut_ptr(), n);
            }
        }
        if write {
            // Whether or not the page is executable now: it may be made so later, and a word
            // costs a line of each cache.
            arch::cache::caches_clean_inval_pou(alias, alias + n as u64);
        }
        done += n;
        addr += n as u64;
    }
    done
}

/// The first address of `[start, end)` that is neither mapped nor reserved (`end` if there is
/// none). Reserved ranges are skipped whole and the walk stops at the first hole, so it costs
/// what is mapped, not the range's length.
fn covered_prefix(inner: &Inner, start: u64, end: u64) -> Result<u64, Errno> {
    let table = inner.table.as_ref().ok_or(Errno::EFAULT)?;
    let mut va = start;
    while va < end {
        if let Some((_, reserved_end)) = inner.reserved.containing(va) {
            va = reserved_end;
            continue;
        }
        if table.translate(va).is_none() {
            return Ok(va);
        }
        va += PAGE_SIZE;
    }
    Ok(end.max(start))
}

impl Drop for Mm {
    fn drop(&mut self) {
        debug_assert!(!arch::asid::is_installed(&self.context));
        if let Some(table) = self.inner.get_mut().table.take() {
            table.destroy(&Frames);
        }
    }
}

/// A copy of `layout`, fallibly (its range list is as long as the program has segments).
fn clone_layout(layout: &ImageLayout) -> Result<ImageLayout, Errno> {
    let mut files = Vec::new();
    files
        .try_reserve(layout.files.len())
        .map_err(|_| Errno::ENOMEM)?;
    files.extend_from_slice(&layout.files);
    Ok(ImageLayout { files, ..*layout })
}

fn page_up(addr: u64) -> u64 {
    addr.next_multiple_of(PAGE_SIZE)
}

fn map_zeroed(
    inner: &mut Inner,
    asid: u16,
    start: u64,
    len: u64,
    write: bool,
    exec: bool,
) -> Result<(), Errno> {
    let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
    if end > TASK_SIZE || !(start | len).is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let table = inner.table.as_mut().ok_or(Errno::EFAULT)?;
    let prot = user_prot(write, exec);
    let mut va = start;
    while va < end {
        let result = match page_alloc::alloc_page() {
            Some(pa) => table
                .map_page(va, pa, prot, &Frames)
                .inspect_err(|_| page_alloc::free_page(pa)),
            None => Err(UserMapError::NoMemory),
        };
        if let Err(error) = result {
            unmap_pages(inner, asid, start, va - start);
            return Err(match error {
                UserMapError::NoMemory => Errno::ENOMEM,
                UserMapError::Exists => Errno::EEXIST,
                UserMapError::BadAddress => Errno::EINVAL,
            });
        }
        va += PAGE_SIZE;
    }
    // Mapped now, so no longer only reserved. Cutting a reservation may need memory: if there
    // is none, the pages go again.
    if let Err(error) = inner.reserved.remove(start, end) {
        unmap_pages(inner, asid, start, len);
        return Err(error);
    }
    Ok(())
}

/// Unmaps (and un-reserves) `[start, start + len)`; `ENOMEM`, with nothing changed, when
/// cutting a reservation needs memory that is not there.
fn unmap(inner: &mut Inner, asid: u16, start: u64, len: u64) -> Result<(), Errno> {
    inner.reserved.remove(start, start.saturating_add(len))?;
    unmap_pages(inner, asid, start, len);
    Ok(())
}

fn unmap_pages(inner: &mut Inner, asid: u16, start: u64, len: u64) {
    let Some(table) = inner.table.as_mut() else {
        return;
    };
    table.unmap_range(
        start,
        start.saturating_add(len),
        asid,
        page_alloc::free_page,
    );
}
