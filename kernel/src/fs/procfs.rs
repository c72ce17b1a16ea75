//! procfs (Linux: `fs/proc/`): `/proc/PID/{status,stat,maps,cmdline,comm,exe}` for every user
//! process and kernel task, `/proc/self`, `/proc/mounts`, `/proc/meminfo`, `/proc/cpuinfo`,
//! `/proc/uptime`, `/proc/loadavg` and `/proc/stat`, in Linux 6.12's formats.
//!
//! Two halves. The formatters are pure: each takes a plain snapshot ([`TaskInfo`], [`Vma`],
//! [`MemInfo`], ...) and writes Linux's text, so the host tests hold them against output taken
//! from Linux 6.12 on the same QEMU (`fs/proc/array.c`, `task_mmu.c`, `meminfo.c`). The
//! generator (`live`, target only) is a [`super::DirOps`] mounted at `/proc`: it takes the
//! snapshots from the scheduler and the process table each time a file is read, in the
//! reader's context (so `/proc/self` names the reader).
//!
//! The CPU times of `uptime` and `stat` are sampled by a tick hook (per CPU: user, system,
//! idle), which also takes the load samples of `loadavg` (Linux's `calc_global_load`).
//!
//! Kernel tasks are listed as Linux lists kthreads: `Kthread: 1`, all signals ignored, no
//! memory lines, an empty `cmdline`, `maps`, and an `exe` link that does not resolve. Pid 0
//! (the idle tasks) has no directory, as in Linux.

use core::fmt::{self, Write};

/// Linux's `USER_HZ`: the unit of the times in `stat` files.
pub const USER_HZ: u64 = 100;
/// A page, in the units `status` and `meminfo` print (kB).
const PAGE_KB: u64 = 4;
/// `PF_KTHREAD`, the `flags` field of a kernel task's `stat`.
pub const PF_KTHREAD: u64 = 0x0020_0000;
/// `PF_EXITING`: set once a task has begun to exit (zombies).
pub const PF_EXITING: u64 = 0x0000_0004;
/// `CAP_FULL_SET` for `CAP_LAST_CAP` 40: the capability sets root holds.
const CAP_FULL_SET: u64 = (1 << 41) - 1;
/// `NR_OPEN_DEFAULT`: the fd table's first size (`FDSize`).
pub const NR_OPEN_DEFAULT: u32 = 64;
/// `RLIM_INFINITY`, as `stat`'s `rsslim` prints it.
const RLIM_INFINITY: u64 = u64::MAX;
/// The signal a process sends its parent when it exits (`stat`'s `exit_signal`).
const SIGCHLD: u32 = 17;

/// A task's state as `ps` letters it (Linux: `task_state_array`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    Running,
    Sleeping,
    /// Stopped by a stop signal (`T (stopped)`).
    Stopped,
    /// Stopped for its tracer (`t (tracing stop)`, Linux's `TASK_TRACED`).
    TracingStop,
    Zombie,
    /// Finished, not yet gone from the task list (a kernel task's last moment).
    Dead,
}

impl ProcState {
    /// The letter of `stat` and `ps`.
    pub fn letter(self) -> char {
        match self {
            Self::Running => 'R',
            Self::Sleeping => 'S',
            Self::Stopped => 'T',
            Self::TracingStop => 't',
            Self::Zombie => 'Z',
            Self::Dead => 'X',
        }
    }

    /// `status`'s `State:` value.
    fn text(self) -> &'static str {
        match self {
            Self::Running => "R (running)",
            Self::Sleeping => "S (sleeping)",
            Self::Stopped => "T (stopped)",
            Self::TracingStop => "t (tracing stop)",
            Self::Zombie => "Z (zombie)",
            Self::Dead => "X (dead)",
        }
    }
}

/// A task's signal sets, bit `signo - 1` (Linux: `pending`, `shared_pending`, `blocked`, and
/// the ignored and caught sets made from the actions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSets {
    pub pending: u64,
    pub shared_pending: u64,
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

/// A user process's memory as `status` and `stat` report it; addresses are the layout of its
/// address space (Linux: the `mm_struct` fields of the same names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemUsage {
    /// Pages mapped (`total_vm`): also the resident set, as every mapped page is populated.
    pub total_pages: u64,
    /// Writable private pages that are neither stack nor file (`data_vm`).
    pub data_pages: u64,
    /// Stack pages (`stack_vm`).
    pub stack_pages: u64,
    /// Page-table pages below the root (`VmPTE`).
    pub table_pages: u64,
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub start_brk: u64,
    pub start_stack: u64,
}

/// What `/proc/PID/status` and `/proc/PID/stat` say of one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskInfo<'a> {
    pub pid: u32,
    pub ppid: u32,
    /// `comm`: at most 15 bytes.
    pub comm: &'a str,
    pub state: ProcState,
    /// A kernel task (Linux's kthreads): no memory, every signal ignored.
    pub kthread: bool,
    /// The pid of the task tracing it (ptrace), 0 when none.
    pub tracer_pid: u32,
    pub sig: SigSets,
    /// The limit `SigQ` shows beside the signals queued (`RLIMIT_SIGPENDING`).
    pub sigpending_limit: u64,
    /// `None` for kernel tasks and zombies.
    pub mem: Option<MemUsage>,
    /// The CPU it runs on (tasks never migrate: also its allowed set).
    pub cpu: usize,
    /// CPUs that may exist (`nr_cpu_ids`): the width of `Cpus_allowed`.
    pub nr_cpus: usize,
    /// Times it was switched in: `voluntary_ctxt_switches` (the switches are not told
    /// apart yet).
    pub switches: u64,
    /// When it started, in [`USER_HZ`] ticks after boot.
    pub start_time: u64,
    /// CPU time at EL0 and in the kernel, in [`USER_HZ`] ticks.
    pub utime: u64,
    pub stime: u64,
    /// A zombie's wait status (`stat`'s `exit_code`), 0 otherwise.
    pub exit_code: u32,
}

/// `/proc/PID/status` (Linux: `proc_pid_status`).
pub fn write_status(out: &mut dyn Write, t: &TaskInfo<'_>) -> fmt::Result {
    writeln!(out, "Name:\t{}", t.comm)?;
    writeln!(out, "Umask:\t0022")?;
    writeln!(out, "State:\t{}", t.state.text())?;
    writeln!(out, "Tgid:\t{}", t.pid)?;
    writeln!(out, "Ngid:\t0")?;
    writeln!(out, "Pid:\t{}", t.pid)?;
    writeln!(out, "PPid:\t{}", t.ppid)?;
    writeln!(out, "TracerPid:\t{}", t.tracer_pid)?;
    writeln!(out, "Uid:\t0\t0\t0\t0")?;
    writeln!(out, "Gid:\t0\t0\t0\t0")?;
    writeln!(out, "FDSize:\t{NR_OPEN_DEFAULT}")?;
    writeln!(out, "Groups:\t ")?;
    writeln!(out, "NStgid:\t{}", t.pid)?;
    writeln!(out, "NSpid:\t{}", t.pid)?;
    writeln!(out, "NSpgid:\t0")?;
    writeln!(out, "NSsid:\t0")?;
    writeln!(out, "Kthread:\t{}", u8::from(t.kthread))?;
    if let Some(mem) = &t.mem {
        write_status_mem(out, mem)?;
    }
    writeln!(out, "Threads:\t1")?;
    writeln!(
        out,
        "SigQ:\t{}/{}",
        t.sig.pending.count_ones(),
        t.sigpending_limit
    )?;
    writeln!(out, "SigPnd:\t{:016x}", t.sig.pending)?;
    writeln!(out, "ShdPnd:\t{:016x}", t.sig.shared_pending)?;
    writeln!(out, "SigBlk:\t{:016x}", t.sig.blocked)?;
    writeln!(out, "SigIgn:\t{:016x}", t.sig.ignored)?;
    writeln!(out, "SigCgt:\t{:016x}", t.sig.caught)?;
    writeln!(out, "CapInh:\t{:016x}", 0)?;
    for cap in ["CapPrm", "CapEff", "CapBnd"] {
        writeln!(out, "{cap}:\t{CAP_FULL_SET:016x}")?;
    }
    writeln!(out, "CapAmb:\t{:016x}", 0)?;
    writeln!(out, "NoNewPrivs:\t0")?;
    writeln!(out, "Seccomp:\t0")?;
    writeln!(out, "Seccomp_filters:\t0")?;
    writeln!(out, "Speculation_Store_Bypass:\tvulnerable")?;
    writeln!(out, "SpeculationIndirectBranch:\tunknown")?;
    // A bitmap as `%*pb` prints it: hex, as many digits as `nr_cpu_ids` bits need.
    let digits = t.nr_cpus.div_ceil(4).max(1);
    writeln!(out, "Cpus_allowed:\t{:0digits$x}", 1u64 << t.cpu)?;
    writeln!(out, "Cpus_allowed_list:\t{}", t.cpu)?;
    writeln!(out, "Mems_allowed:\t0001")?;
    writeln!(out, "Mems_allowed_list:\t0")?;
    writeln!(out, "voluntary_ctxt_switches:\t{}", t.switches)?;
    writeln!(out, "nonvoluntary_ctxt_switches:\t0")
}

/// The `Vm*` block of `status` (Linux: `task_mem`). No high-water marks are kept yet, so the
/// peaks are the current sizes.
fn write_status_mem(out: &mut dyn Write, mem: &MemUsage) -> fmt::Result {
    let kb = |pages: u64| pages * PAGE_KB;
    let exe = (mem.end_code.next_multiple_of(4096) - (mem.start_code & !4095)) / 1024;
    let total = kb(mem.total_pages);
    let rows: [(&str, u64); 16] = [
        ("VmPeak", total),
        ("VmSize", total),
        ("VmLck", 0),
        ("VmPin", 0),
        ("VmHWM", total),
        ("VmRSS", total),
        ("RssAnon", total),
        ("RssFile", 0),
        ("RssShmem", 0),
        ("VmData", kb(mem.data_pages)),
        ("VmStk", kb(mem.stack_pages)),
        ("VmExe", exe),
        ("VmLib", 0),
        ("VmPTE", kb(mem.table_pages)),
        ("VmSwap", 0),
        ("HugetlbPages", 0),
    ];
    for (name, value) in rows {
        writeln!(out, "{name}:\t{value:>8} kB")?;
    }
    writeln!(out, "CoreDumping:\t0")?;
    writeln!(out, "THP_enabled:\t0")?;
    writeln!(out, "untag_mask:\t{:#x}", (1u64 << 56) - 1)
}

/// `/proc/PID/stat` (Linux: `do_task_stat`): 52 fields on one line.
pub fn write_stat(out: &mut dyn Write, t: &TaskInfo<'_>) -> fmt::Result {
    let mem = t.mem.unwrap_or_default();
    let flags = if t.kthread { PF_KTHREAD } else { 0 }
        | if t.state == ProcState::Zombie {
            PF_EXITING
        } else {
            0
        };
    // The old-style signal fields show the first 31 signals only.
    let low = |set: u64| set & 0x7fff_ffff;
    write!(
        out,
        "{} ({}) {} {} 0 0 0 -1 {flags} 0 0 0 0 {} {} 0 0 20 0 1 0 {} {} {} {RLIM_INFINITY} ",
        t.pid,
        t.comm,
        t.state.letter(),
        t.ppid,
        t.utime,
        t.stime,
        t.start_time,
        mem.total_pages * 4096,
        mem.total_pages,
    )?;
    write!(
        out,
        "{} {} {} 0 0 {} {} {} {} {} 0 0 {} {} 0 0 0 0 0 ",
        mem.start_code,
        mem.end_code,
        mem.start_stack,
        low(t.sig.pending),
        low(t.sig.blocked),
        low(t.sig.ignored),
        low(t.sig.caught),
        u8::from(t.state == ProcState::Sleeping),
        if t.kthread { 0 } else { SIGCHLD },
        t.cpu,
    )?;
    writeln!(
        out,
        "{} {} {} 0 0 0 0 {}",
        mem.start_data, mem.end_data, mem.start_brk, t.exit_code
    )
}

/// A mapped file: its path, and its device and inode as `stat` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedFile<'a> {
    pub path: &'a str,
    pub dev: (u32, u32),
    pub ino: u64,
}

/// What a mapping maps, for its `maps` line's last columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind<'a> {
    /// Pages of the program file.
    File(MappedFile<'a>),
    Heap,
    Stack,
    Anon,
}

/// One line of `/proc/PID/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma<'a> {
    pub start: u64,
    pub end: u64,
    pub write: bool,
    pub exec: bool,
    /// The file offset of `start` (file mappings).
    pub offset: u64,
    pub kind: VmaKind<'a>,
}

/// A file-backed range of an address space: `[start, end)` holds the file's bytes from
/// `offset` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRange {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
}

/// What a program's image leaves in its address space for `maps` and `stat` (Linux: the
/// `mm_struct` fields `load_elf_binary` sets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageLayout {
    /// The file-backed ranges, one per segment with file bytes.
    pub files: alloc::vec::Vec<FileRange>,
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    /// The initial stack pointer (where argc is).
    pub start_stack: u64,
}

impl ImageLayout {
    /// The layout of `image` started with stack pointer `sp`, computed as Linux's
    /// `load_elf_binary` does: code from the executable segments, data up to the last
    /// segment's file bytes. `ENOMEM` if the range list cannot be allocated.
    pub fn from_image(image: &crate::binfmt_elf::ElfImage, sp: u64) -> Result<Self, super::Errno> {
        let mut files = alloc::vec::Vec::new();
        files
            .try_reserve(image.copies.len())
            .map_err(|_| super::Errno::ENOMEM)?;
        let mut layout = Self {
            start_code: u64::MAX,
            start_stack: sp,
            ..Self::default()
        };
        for copy in &image.copies {
            let start = copy.vaddr & !4095;
            let end = (copy.vaddr + copy.len as u64).next_multiple_of(4096);
            let exec = image.pages.get(&start).is_some_and(|prot| prot.exec);
            files.push(FileRange {
                start,
                end,
                offset: (copy.offset as u64).saturating_sub(copy.vaddr - start),
            });
            let file_end = copy.vaddr + copy.len as u64;
            if exec {
                layout.start_code = layout.start_code.min(copy.vaddr);
                layout.end_code = layout.end_code.max(file_end);
            }
            layout.start_data = layout.start_data.max(copy.vaddr);
            layout.end_data = layout.end_data.max(file_end);
        }
        if layout.start_code == u64::MAX {
            layout.start_code = 0;
        }
        layout.files = files;
        Ok(layout)
    }
}

/// A process's memory from its mapped pages `(va, write, exec)` (address order) and layout
/// (Linux: `total_vm`, `data_vm`, `stack_vm`, the page-table bytes).
pub fn mem_usage(
    pages: &[(u64, bool, bool)],
    layout: &ImageLayout,
    start_brk: u64,
    stack: core::ops::Range<u64>,
) -> MemUsage {
    let in_file = |va: u64| layout.files.iter().any(|r| (r.start..r.end).contains(&va));
    let count =
        |f: &dyn Fn(&(u64, bool, bool)) -> bool| pages.iter().filter(|p| f(p)).count() as u64;
    let stack_pages = count(&|&(va, _, _)| stack.contains(&va));
    let data_pages = count(&|&(va, write, _)| write && !stack.contains(&va) && !in_file(va));
    // One last-level table per 2 MiB and one middle table per 1 GiB touched (three levels).
    let distinct = |shift: u32| {
        let mut n = 0;
        let mut last = None;
        for &(va, _, _) in pages {
            if last != Some(va >> shift) {
                n += 1;
                last = Some(va >> shift);
            }
        }
        n
    };
    MemUsage {
        total_pages: pages.len() as u64,
        data_pages,
        stack_pages,
        table_pages: distinct(21) + distinct(30),
        start_code: layout.start_code,
        end_code: layout.end_code,
        start_data: layout.start_data,
        end_data: layout.end_data,
        start_brk,
        start_stack: layout.start_stack,
    }
}

/// Where an address space keeps what `maps` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout<'a> {
    /// The program file, for its file ranges.
    pub file: MappedFile<'a>,
    pub files: &'a [FileRange],
    /// `[start_brk, brk)`: the heap.
    pub start_brk: u64,
    pub brk: u64,
    /// `[stack_start, stack_end)`.
    pub stack_start: u64,
    pub stack_end: u64,
}

impl<'a> Layout<'a> {
    /// What the page at `va` belongs to, and its file offset.
    fn classify(&self, va: u64) -> (VmaKind<'a>, u64) {
        if let Some(range) = self.files.iter().find(|r| (r.start..r.end).contains(&va)) {
            return (VmaKind::File(self.file), range.offset + (va - range.start));
        }
        let heap = self.start_brk & !4095..self.brk.next_multiple_of(4096);
        if heap.contains(&va) {
            (VmaKind::Heap, 0)
        } else if (self.stack_start..self.stack_end).contains(&va) {
            (VmaKind::Stack, 0)
        } else {
            (VmaKind::Anon, 0)
        }
    }
}

/// Folds the mapped pages `(va, write, exec)`, in address order, into `maps` lines: runs of
/// contiguous pages with the same protection and the same backing (Linux's VMAs, which we do
/// not keep: the page table is the record). Each finished line goes to `emit` as it is
/// found, so listing a process split into many runs allocates nothing.
pub fn for_each_vma<'a, E>(
    pages: impl IntoIterator<Item = (u64, bool, bool)>,
    layout: &Layout<'a>,
    mut emit: impl FnMut(&Vma<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let mut current: Option<Vma<'a>> = None;
    for (va, write, exec) in pages {
        let (kind, offset) = layout.classify(va);
        if let Some(last) = current.as_mut()
            && last.end == va
            && last.write == write
            && last.exec == exec
            && last.kind == kind
            && match kind {
                VmaKind::File(_) => last.offset + (va - last.start) == offset,
                _ => true,
            }
        {
            last.end = va + 4096;
            continue;
        }
        if let Some(done) = current.replace(Vma {
            start: va,
            end: va + 4096,
            write,
            exec,
            offset,
            kind,
        }) {
            emit(&done)?;
        }
    }
    match current {
        Some(last) => emit(&last),
        None => Ok(()),
    }
}

/// One `maps` line (Linux: `show_map_vma`): the name column starts at byte 73.
pub fn write_vma(out: &mut dyn Write, vma: &Vma<'_>) -> fmt::Result {
    let ((major, minor), ino) = match vma.kind {
        VmaKind::File(file) => (file.dev, file.ino),
        _ => ((0, 0), 0),
    };
    let mut head = alloc::string::String::new();
    let _ = write!(
        head,
        "{:08x}-{:08x} r{}{}p {:08x} {major:02x}:{minor:02x} {ino} ",
        vma.start,
        vma.end,
        if vma.write { 'w' } else { '-' },
        if vma.exec { 'x' } else { '-' },
        vma.offset,
    );
    let name = match vma.kind {
        VmaKind::File(file) => file.path,
        VmaKind::Heap => "[heap]",
        VmaKind::Stack => "[stack]",
        VmaKind::Anon => return writeln!(out, "{head}"),
    };
    // `seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)` then `seq_pad(m, ' ')`.
    writeln!(out, "{head:<72} {name}")
}

/// `/proc/PID/cmdline`: the arguments, each ended by a NUL (Linux: `proc_pid_cmdline_read`).
/// The shell's `cat` takes text: an argument holding invalid UTF-8 is shown lossily.
pub fn write_cmdline(out: &mut dyn Write, argv: &[u8]) -> fmt::Result {
    for chunk in argv.utf8_chunks() {
        out.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            out.write_char(char::REPLACEMENT_CHARACTER)?;
        }
    }
    Ok(())
}

/// One `/proc/mounts` line: a mounted filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount {
    pub source: &'static str,
    pub path: &'static str,
    pub fstype: &'static str,
    pub options: &'static str,
}

/// The filesystems the kernel's tree has, with the options Linux mounts them with; `/proc/mounts`
/// lists those whose directory exists.
pub const MOUNTS: &[Mount] = &[
    Mount {
        source: "rootfs",
        path: "/",
        fstype: "rootfs",
        options: "rw",
    },
    Mount {
        source: "proc",
        path: "/proc",
        fstype: "proc",
        options: "rw,nosuid,nodev,noexec,relatime",
    },
    Mount {
        source: "sysfs",
        path: "/sys",
        fstype: "sysfs",
        options: "rw,nosuid,nodev,noexec,relatime",
    },
    Mount {
        source: "tmpfs",
        path: "/tmp",
        fstype: "tmpfs",
        options: "rw,relatime,inode64",
    },
    Mount {
        source: "debugfs",
        path: "/sys/kernel/debug",
        fstype: "debugfs",
        options: "rw,nosuid,nodev,noexec,relatime",
    },
    Mount {
        source: "tracefs",
        path: "/sys/kernel/tracing",
        fstype: "tracefs",
        options: "rw,nosuid,nodev,noexec,relatime",
    },
];

/// `/proc/mounts` (Linux: `show_vfsmnt`).
pub fn write_mounts<'m>(
    out: &mut dyn Write,
    mounts: impl IntoIterator<Item = &'m Mount>,
) -> fmt::Result {
    for m in mounts {
        writeln!(
            out,
            "{} {} {} {} 0 0",
            m.source, m.path, m.fstype, m.options
        )?;
    }
    Ok(())
}

/// What `/proc/meminfo` reports, in kB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    /// The kernel heap in use (`Slab`, all unreclaimable).
    pub slab: u64,
    /// Kernel stacks.
    pub kernel_stack: u64,
    /// Frames given to user space: their pages and page tables (`AnonPages`).
    pub anon: u64,
}

/// `/proc/meminfo` (Linux: `meminfo_proc_show`), the first lines and those we can fill.
pub fn write_meminfo(out: &mut dyn Write, m: &MemInfo) -> fmt::Result {
    let rows: [(&str, u64); 19] = [
        ("MemTotal:", m.total),
        ("MemFree:", m.free),
        ("MemAvailable:", m.free),
        ("Buffers:", 0),
        ("Cached:", 0),
        ("SwapCached:", 0),
        ("Active:", m.anon),
        ("Inactive:", 0),
        ("Active(anon):", m.anon),
        ("Inactive(anon):", 0),
        ("Active(file):", 0),
        ("Inactive(file):", 0),
        ("SwapTotal:", 0),
        ("SwapFree:", 0),
        ("AnonPages:", m.anon),
        ("Slab:", m.slab),
        ("SReclaimable:", 0),
        ("SUnreclaim:", m.slab),
        ("KernelStack:", m.kernel_stack),
    ];
    for (name, kb) in rows {
        // `show_val_kb`: the name padded to 16 columns, the value to 8.
        writeln!(out, "{name:<16}{kb:>8} kB")?;
    }
    Ok(())
}

/// Linux's load-average arithmetic (`include/linux/sched/loadavg.h`): fixed point with
/// [`FSHIFT`] fraction bits, updated every [`LOAD_FREQ`] seconds (and one tick) with the decay
/// factors of 1, 5 and 15 minutes.
pub const FSHIFT: u32 = 11;
pub const FIXED_1: u64 = 1 << FSHIFT;
/// Seconds between load samples.
pub const LOAD_FREQ: u64 = 5;
/// `EXP_1`, `EXP_5`, `EXP_15`: `FIXED_1 / exp(5 s / 1, 5, 15 min)`.
pub const EXP: [u64; 3] = [1884, 2014, 2037];

/// One load-average step (Linux: `calc_load`): `active` is the number of active tasks times
/// [`FIXED_1`].
pub fn calc_load(load: u64, exp: u64, active: u64) -> u64 {
    let mut new = load * exp + active * (FIXED_1 - exp);
    if active >= load {
        new += FIXED_1 - 1;
    }
    new / FIXED_1
}

/// `/proc/uptime`: seconds since boot and seconds all CPUs spent idle, to the hundredth.
pub fn write_uptime(out: &mut dyn Write, uptime_ns: u64, idle_ns: u64) -> fmt::Result {
    let centi = |ns: u64| ns / 10_000_000;
    let (up, idle) = (centi(uptime_ns), centi(idle_ns));
    writeln!(
        out,
        "{}.{:02} {}.{:02}",
        up / 100,
        up % 100,
        idle / 100,
        idle % 100
    )
}

/// `/proc/loadavg` (Linux: `loadavg_proc_show`): the three averages, runnable/existing tasks,
/// and the last pid given out.
pub fn write_loadavg(
    out: &mut dyn Write,
    avenrun: [u64; 3],
    running: usize,
    total: usize,
    last_pid: u32,
) -> fmt::Result {
    for (i, load) in avenrun.iter().enumerate() {
        // LOAD_INT / LOAD_FRAC of `avenrun + FIXED_1/200`: rounded to the hundredth.
        let load = load + FIXED_1 / 200;
        let frac = ((load & (FIXED_1 - 1)) * 100) >> FSHIFT;
        let sep = if i == 0 { "" } else { " " };
        write!(out, "{sep}{}.{frac:02}", load >> FSHIFT)?;
    }
    writeln!(out, " {running}/{total} {last_pid}")
}

/// A CPU's time in [`USER_HZ`] ticks, as `/proc/stat` splits it (we tell apart user, system
/// and idle; Linux's other columns stay 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
    pub idle: u64,
}

/// What `/proc/stat` reports besides the CPU times.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemStat {
    /// Interrupts taken by number, from 0.
    pub intr: alloc::vec::Vec<u64>,
    /// Context switches.
    pub ctxt: u64,
    /// Boot time, seconds since the epoch of `CLOCK_REALTIME`.
    pub btime: u64,
    /// Tasks created since boot.
    pub processes: u64,
    pub procs_running: u64,
    pub procs_blocked: u64,
}

/// `/proc/stat` (Linux: `show_stat`): the sum over CPUs, each CPU, then the counters.
pub fn write_proc_stat(
    out: &mut dyn Write,
    cpus: &[(usize, CpuTimes)],
    s: &SystemStat,
) -> fmt::Result {
    let line = |out: &mut dyn Write, label: &str, t: &CpuTimes| {
        writeln!(
            out,
            "{label} {} 0 {} {} 0 0 0 0 0 0",
            t.user, t.system, t.idle
        )
    };
    let sum = cpus.iter().fold(CpuTimes::default(), |a, (_, t)| CpuTimes {
        user: a.user + t.user,
        system: a.system + t.system,
        idle: a.idle + t.idle,
    });
    line(out, "cpu ", &sum)?;
    for (cpu, times) in cpus {
        line(out, &alloc::format!("cpu{cpu}"), times)?;
    }
    write!(out, "intr {}", s.intr.iter().sum::<u64>())?;
    for count in &s.intr {
        write!(out, " {count}")?;
    }
    writeln!(out)?;
    writeln!(out, "ctxt {}", s.ctxt)?;
    writeln!(out, "btime {}", s.btime)?;
    writeln!(out, "processes {}", s.processes)?;
    writeln!(out, "procs_running {}", s.procs_running)?;
    writeln!(out, "procs_blocked {}", s.procs_blocked)?;
    // No softirqs here: the total and the ten kinds are 0.
    writeln!(out, "softirq 0 0 0 0 0 0 0 0 0 0 0")
}

/// Linux's names of the `AT_HWCAP` bits, from bit 0 (`hwcap_str`): `cpuinfo`'s `Features`.
const HWCAP_NAMES: [&str; 12] = [
    "fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp",
    "asimdhp", "cpuid",
];

/// One CPU's block of `/proc/cpuinfo` (Linux arm64: `c_show`): its number, BogoMIPS (twice
/// the timer frequency in MHz: `loops_per_jiffy` is one jiffy of timer ticks), the features
/// user space is told of (`hwcap`), and the fields of its `MIDR_EL1`.
pub fn write_cpuinfo(
    out: &mut dyn Write,
    cpu: usize,
    midr: u64,
    timer_hz: u64,
    hwcap: u64,
) -> fmt::Result {
    let centi_bogomips = timer_hz / 5_000;
    writeln!(out, "processor\t: {cpu}")?;
    writeln!(
        out,
        "BogoMIPS\t: {}.{:02}",
        centi_bogomips / 100,
        centi_bogomips % 100
    )?;
    out.write_str("Features\t:")?;
    for (bit, name) in HWCAP_NAMES.iter().enumerate() {
        if hwcap & (1 << bit) != 0 {
            write!(out, " {name}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "CPU implementer\t: {:#04x}", (midr >> 24) & 0xff)?;
    writeln!(out, "CPU architecture: 8")?;
    writeln!(out, "CPU variant\t: {:#x}", (midr >> 20) & 0xf)?;
    writeln!(out, "CPU part\t: {:#05x}", (midr >> 4) & 0xfff)?;
    writeln!(out, "CPU revision\t: {}", midr & 0xf)?;
    writeln!(out)
}

#[cfg(target_os = "none")]
pub use live::{TaskView, init, next_load_sample, task_view, task_views};

/// The generator: snapshots of the scheduler's tasks and the process table, served as
/// `/proc` entries.
#[cfg(target_os = "none")]
mod live {
    use super::*;
    use alloc::format;
    use alloc::string::String;
    use alloc::sync::Arc;
    use alloc::vec::Vec;

    use core::sync::atomic::{AtomicU64, Ordering};

    use arch::exception::TrapFrame;
    use arch::irq::NR_CPUS;
    use arch::timer::TickHook;

    use crate::fs::{self, DirEntry, DirOps, Errno, FileOps, NodeKind};
    use crate::process::mm::Mm;
    use crate::process::{self, ExecInfo};
    use crate::sched::format::Comm;
    use crate::sched::{self, Pid, TaskState};

    /// One task as `/proc` and `ps` see it, taken at one moment.
    pub struct TaskView {
        pub pid: Pid,
        pub ppid: Pid,
        pub comm: Comm,
        pub state: ProcState,
        pub kthread: bool,
        pub cpu: usize,
        pub switches: u64,
        pub sig: SigSets,
        pub start_time: u64,
        /// User and system time in [`USER_HZ`] ticks.
        pub utime: u64,
        pub stime: u64,
        pub exit_code: u32,
        /// A live process's program.
        pub exec: Option<Arc<ExecInfo>>,
        /// A live process's address space.
        pub mm: Option<Arc<Mm>>,
    }

    impl TaskView {
        /// The formatters' snapshot; `mem` from [`TaskView::mem`].
        pub fn info(&self, mem: Option<MemUsage>) -> TaskInfo<'_> {
            TaskInfo {
                pid: self.pid,
                ppid: self.ppid,
                comm: self.comm.as_str(),
                state: self.state,
                kthread: self.kthread,
                tracer_pid: tracer_pid(self.pid),
                sig: self.sig,
                sigpending_limit: u64::from(sched::max_threads() / 2),
                mem,
                cpu: self.cpu,
                nr_cpus: crate::smp::num_possible_cpus(),
                switches: self.switches,
                start_time: self.start_time,
                utime: self.utime,
                stime: self.stime,
                exit_code: self.exit_code,
            }
        }

        /// The fields the task itself has (its process aside).
        fn from_task(task: &sched::Task, ppid: Pid, kthread: bool) -> Self {
            let freq = arch::timer::counter_freq_hz().max(1);
            let (user, system) = task.cputime();
            Self {
                pid: task.pid(),
                ppid,
                comm: task.name(),
                state: state_of(task),
                kthread,
                cpu: task.cpu(),
                switches: task.nr_switches(),
                sig: SigSets {
                    pending: task.sig_pending(),
                    blocked: task.sig_blocked(),
                    ..SigSets::default()
                },
                start_time: task.start_jiffies() * USER_HZ / arch::timer::HZ,
                utime: user * USER_HZ / freq,
                stime: system * USER_HZ / freq,
                exit_code: 0,
                exec: None,
                mm: None,
            }
        }

        /// The address space's usage, for a live process.
        fn mem(&self) -> Result<Option<MemUsage>, Errno> {
            let Some(mm) = &self.mm else { return Ok(None) };
            let snap = mm.snapshot()?;
            Ok(Some(mem_usage(
                &snap.pages,
                &snap.layout,
                snap.start_brk,
                mm.stack_range(),
            )))
        }
    }

    /// The pid of the process tracing `pid` (ptrace), 0 for none.
    fn tracer_pid(pid: Pid) -> Pid {
        process::find_shared(pid).map_or(0, |p| p.tracer_pid())
    }

    fn state_of(task: &sched::Task) -> ProcState {
        // A tracee is `t` from the moment its tracer can see the stop, switched away or not
        // yet (Linux sets `TASK_TRACED` before it schedules).
        if task.state() == TaskState::Stopped
            && process::find_shared(task.pid()).is_some_and(|p| p.ptrace_stopped())
        {
            return ProcState::TracingStop;
        }
        // The running task is R even while it is between marking itself asleep and switching.
        if sched::task_curr(task) {
            return ProcState::Running;
        }
        match task.state() {
            TaskState::Running => ProcState::Running,
            TaskState::Interruptible => ProcState::Sleeping,
            TaskState::Stopped => ProcState::Stopped,
            TaskState::Dead => ProcState::Dead,
        }
    }

    /// The task `pid` (not an idle task), a process (zombies included) or a kernel task.
    pub fn task_view(pid: Pid) -> Option<TaskView> {
        if pid == sched::IDLE_PID {
            return None;
        }
        let task = sched::find_task_by_pid(pid);
        let Some(proc) = process::find_process(pid) else {
            // A kernel task: a kthread, which ignores every signal.
            let task = task?;
            let mut view = TaskView::from_task(&task, 0, true);
            view.sig.ignored = u64::MAX;
            return Some(view);
        };
        let exec = proc.exec();
        let zombie = proc.exit_status();
        let mut view = match &task {
            Some(task) => TaskView::from_task(task, proc.ppid(), false),
            // Reaped by the scheduler before its parent reaped it: only the process is left.
            None => TaskView {
                pid,
                ppid: proc.ppid(),
                comm: Comm::new(exec.comm()),
                state: ProcState::Zombie,
                kthread: false,
                cpu: 0,
                switches: 0,
                sig: SigSets::default(),
                start_time: 0,
                utime: 0,
                stime: 0,
                exit_code: 0,
                exec: None,
                mm: None,
            },
        };
        (view.sig.ignored, view.sig.caught) = proc.sig_actions();
        match zombie {
            Some(status) => {
                view.state = ProcState::Zombie;
                view.exit_code = status.0;
            }
            None => {
                view.exec = Some(exec);
                view.mm = proc.mm();
            }
        }
        Some(view)
    }

    /// Every task but the idle tasks, and every zombie, in pid order. `ENOMEM` if the list
    /// cannot be allocated.
    pub fn task_views() -> Result<Vec<TaskView>, Errno> {
        let mut pids: Vec<Pid> = Vec::new();
        let tasks = sched::all_tasks();
        let procs = process::processes()?;
        pids.try_reserve(tasks.len() + procs.len())
            .map_err(|_| Errno::ENOMEM)?;
        pids.extend(tasks.iter().map(|t| t.pid()));
        pids.extend(procs.iter().map(|p| p.pid()));
        drop((tasks, procs));
        pids.sort_unstable();
        pids.dedup();
        let mut views = Vec::new();
        views.try_reserve(pids.len()).map_err(|_| Errno::ENOMEM)?;
        views.extend(pids.into_iter().filter_map(task_view));
        Ok(views)
    }

    fn file(ops: impl FileOps + 'static) -> Result<DirEntry, Errno> {
        let file: Arc<dyn FileOps> = Arc::try_new(ops).map_err(|_| Errno::ENOMEM)?;
        Ok(DirEntry::File(file))
    }

    fn names(list: &[&str]) -> Result<Vec<String>, Errno> {
        let mut names = Vec::new();
        names.try_reserve(list.len()).map_err(|_| Errno::ENOMEM)?;
        for name in list {
            let mut copy = String::new();
            copy.try_reserve(name.len()).map_err(|_| Errno::ENOMEM)?;
            copy.push_str(name);
            names.push(copy);
        }
        Ok(names)
    }

    /// `/proc/PID`.
    struct PidDir(Pid);

    /// The entries of `/proc/PID`, in `ls` order.
    const PID_ENTRIES: [&str; 6] = ["cmdline", "comm", "exe", "maps", "stat", "status"];

    impl PidDir {
        /// The task now: `ESRCH` once it has been reaped.
        fn view(pid: Pid) -> Result<TaskView, Errno> {
            task_view(pid).ok_or(Errno::ESRCH)
        }
    }

    impl DirOps for PidDir {
        fn lookup(&self, name: &str) -> Result<DirEntry, Errno> {
            let pid = self.0;
            match name {
                "status" => file(fs::read_only(move |out| {
                    let view = PidDir::view(pid)?;
                    Ok(write_status(out, &view.info(view.mem()?))?)
                })),
                "stat" => file(fs::read_only(move |out| {
                    let view = PidDir::view(pid)?;
                    Ok(write_stat(out, &view.info(view.mem()?))?)
                })),
                "comm" => file(fs::read_only(move |out| {
                    Ok(writeln!(out, "{}", PidDir::view(pid)?.comm)?)
                })),
                "cmdline" => file(fs::read_only(move |out| {
                    let view = PidDir::view(pid)?;
                    let argv = view.exec.as_ref().map_or(&[][..], |e| &e.argv[..]);
                    Ok(write_cmdline(out, argv)?)
                })),
                "maps" => file(fs::read_only(move |out| write_maps(out, pid))),
                "exe" => {
                    let view = PidDir::view(pid).map_err(|_| Errno::ENOENT)?;
                    let exec = view.exec.ok_or(Errno::ENOENT)?;
                    let mut target = String::new();
                    target
                        .try_reserve(exec.exe.len())
                        .map_err(|_| Errno::ENOMEM)?;
                    target.push_str(&exec.exe);
                    Ok(DirEntry::Symlink(target))
                }
                _ => Err(Errno::ENOENT),
            }
        }

        fn list(&self) -> Result<Vec<String>, Errno> {
            names(&PID_ENTRIES)
        }
    }

    /// `/proc/PID/maps`: empty for kernel tasks and zombies, which have no address space.
    fn write_maps(out: &mut dyn Write, pid: Pid) -> Result<(), Errno> {
        let view = PidDir::view(pid)?;
        let (Some(mm), Some(exec)) = (&view.mm, &view.exec) else {
            return Ok(());
        };
        let snap = mm.snapshot()?;
        let stack = mm.stack_range();
        // The file as `stat` sees it now (0 if it has gone since the exec).
        let ino = fs::vfs().stat(&exec.exe).map_or(0, |stat| stat.ino);
        let layout = Layout {
            file: MappedFile {
                path: &exec.exe,
                dev: crate::syscall::fs::ST_DEV,
                ino,
            },
            files: &snap.layout.files,
            start_brk: snap.start_brk,
            brk: snap.brk,
            stack_start: stack.start,
            stack_end: stack.end,
        };
        for_each_vma(snap.pages.iter().copied(), &layout, |vma| {
            write_vma(out, vma)
        })?;
        Ok(())
    }

    /// Counter cycles each CPU spent in user mode, in the kernel and idle, sampled at its
    /// ticks: the time since its previous tick goes to what the tick interrupted (Linux's
    /// tick-based `account_process_tick`, weighted by the real interval so that ticks QEMU
    /// runs late lose nothing).
    static CPU_CYCLES: [[AtomicU64; 3]; NR_CPUS] =
        [const { [const { AtomicU64::new(0) }; 3] }; NR_CPUS];
    /// Each CPU's counter at its last tick.
    static LAST_TICK: [AtomicU64; NR_CPUS] = [const { AtomicU64::new(0) }; NR_CPUS];
    const USER: usize = 0;
    const SYSTEM: usize = 1;
    const IDLE: usize = 2;
    /// The load averages (Linux: `avenrun`), and the counter value of the next sample.
    static AVENRUN: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
    static NEXT_LOAD_SAMPLE: AtomicU64 = AtomicU64::new(0);

    static ACCOUNT_TICK: TickHook = TickHook {
        handler: account_tick,
    };

    /// Each CPU's tick: charges the time since its last tick, and on the boot CPU takes a
    /// load sample every [`LOAD_FREQ`] seconds (Linux: `calc_global_load`).
    fn account_tick(frame: &mut TrapFrame) {
        let cpu = crate::smp::smp_processor_id();
        let now = arch::timer::counter_now();
        let last = LAST_TICK[cpu].swap(now, Ordering::Relaxed);
        let slot = if frame.user_mode() {
            USER
        } else if sched::current().is_none_or(sched::Task::is_idle) {
            IDLE
        } else {
            SYSTEM
        };
        if last != 0 {
            let cycles = now.saturating_sub(last);
            CPU_CYCLES[cpu][slot].fetch_add(cycles, Ordering::Relaxed);
            if let Some(task) = sched::current().filter(|_| slot != IDLE) {
                task.account_cputime(slot == USER, cycles);
            }
        }
        let next = NEXT_LOAD_SAMPLE.load(Ordering::Relaxed);
        if cpu == 0 && now >= next {
            let period = LOAD_FREQ * arch::timer::counter_freq_hz();
            NEXT_LOAD_SAMPLE.store(now + period, Ordering::Relaxed);
            if next != 0 {
                sample_load();
            }
        }
    }

    /// The counter value at or after which the boot CPU's tick takes the next load sample; 0
    /// before its first tick. A benchmark that spans seconds of ticks (`timer_irq_round_trip`)
    /// starts right after a sample so that none falls inside its count.
    pub fn next_load_sample() -> u64 {
        NEXT_LOAD_SAMPLE.load(Ordering::Relaxed)
    }

    fn online_cpus() -> impl Iterator<Item = usize> {
        let online = crate::smp::cpu_online_mask();
        (0..crate::smp::num_possible_cpus().min(NR_CPUS))
            .filter(move |cpu| online & (1 << cpu) != 0)
    }

    fn nr_running() -> usize {
        online_cpus().map(sched::nr_running).sum()
    }

    fn sample_load() {
        let active = nr_running() as u64 * FIXED_1;
        for (avg, exp) in AVENRUN.iter().zip(EXP) {
            avg.store(
                calc_load(avg.load(Ordering::Relaxed), exp, active),
                Ordering::Relaxed,
            );
        }
    }

    /// A CPU's accounted time in [`USER_HZ`] ticks.
    fn cpu_times(cpu: usize) -> CpuTimes {
        let freq = arch::timer::counter_freq_hz().max(1);
        let ticks = |slot: usize| CPU_CYCLES[cpu][slot].load(Ordering::Relaxed) * USER_HZ / freq;
        CpuTimes {
            user: ticks(USER),
            system: ticks(SYSTEM),
            idle: ticks(IDLE),
        }
    }

    fn write_uptime_now(out: &mut dyn Write) -> Result<(), Errno> {
        let freq = arch::timer::counter_freq_hz().max(1);
        let idle: u64 = online_cpus()
            .map(|cpu| CPU_CYCLES[cpu][IDLE].load(Ordering::Relaxed))
            .sum();
        let ns = |cycles: u64| (u128::from(cycles) * 1_000_000_000 / u128::from(freq)) as u64;
        let up = arch::timer::jiffies() * 1_000_000_000 / arch::timer::HZ;
        Ok(write_uptime(out, up, ns(idle))?)
    }

    fn write_loadavg_now(out: &mut dyn Write) -> Result<(), Errno> {
        let avenrun = core::array::from_fn(|i| AVENRUN[i].load(Ordering::Relaxed));
        Ok(write_loadavg(
            out,
            avenrun,
            nr_running(),
            sched::nr_threads(),
            sched::last_pid(),
        )?)
    }

    fn write_proc_stat_now(out: &mut dyn Write) -> Result<(), Errno> {
        let mut cpus = Vec::new();
        cpus.try_reserve(NR_CPUS).map_err(|_| Errno::ENOMEM)?;
        cpus.extend(online_cpus().map(|cpu| (cpu, cpu_times(cpu))));
        let mut intr = Vec::new();
        for stat in arch::irq::irq_stats() {
            let irq = stat.irq as usize;
            if intr.len() <= irq {
                intr.try_reserve(irq + 1 - intr.len())
                    .map_err(|_| Errno::ENOMEM)?;
                intr.resize(irq + 1, 0);
            }
            intr[irq] = stat.counts.iter().map(|&c| u64::from(c)).sum();
        }
        let stat = SystemStat {
            intr,
            ctxt: online_cpus().map(sched::nr_switches).sum(),
            // CLOCK_REALTIME counts from boot (no RTC): boot was at its 0.
            btime: 0,
            processes: u64::from(sched::last_pid()),
            procs_running: nr_running() as u64,
            // Tasks sleep interruptibly only.
            procs_blocked: 0,
        };
        Ok(write_proc_stat(out, &cpus, &stat)?)
    }

    /// `/proc` itself: the pid directories, `self`, and the system-wide files.
    struct ProcRoot;

    /// The system-wide entries, in `ls` order.
    const ROOT_ENTRIES: [&str; 7] = [
        "cpuinfo", "loadavg", "meminfo", "mounts", "self", "stat", "uptime",
    ];

    impl DirOps for ProcRoot {
        fn lookup(&self, name: &str) -> Result<DirEntry, Errno> {
            match name {
                "self" => {
                    let pid = sched::current().map_or(0, sched::Task::pid);
                    Ok(DirEntry::Symlink(format!("{pid}")))
                }
                "mounts" => file(fs::read_only(|out| {
                    let mounted = MOUNTS
                        .iter()
                        .filter(|m| fs::lookup(m.path) == Ok(NodeKind::Dir));
                    Ok(write_mounts(out, mounted)?)
                })),
                "cpuinfo" => file(fs::read_only(|out| {
                    use aarch64_cpu::registers::{MIDR_EL1, Readable};
                    // The CPUs are alike (QEMU's -cpu): each shows the reader's MIDR.
                    let midr = MIDR_EL1.get();
                    let online = crate::smp::cpu_online_mask();
                    for cpu in
                        (0..crate::smp::num_possible_cpus()).filter(|c| online & (1 << c) != 0)
                    {
                        write_cpuinfo(
                            out,
                            cpu,
                            midr,
                            arch::timer::counter_freq_hz(),
                            crate::binfmt_elf::HWCAP,
                        )?;
                    }
                    Ok(())
                })),
                "meminfo" => file(fs::read_only(|out| Ok(write_meminfo(out, &meminfo())?))),
                "uptime" => file(fs::read_only(write_uptime_now)),
                "loadavg" => file(fs::read_only(write_loadavg_now)),
                "stat" => file(fs::read_only(write_proc_stat_now)),
                _ => {
                    let pid: Pid = name.parse().map_err(|_| Errno::ENOENT)?;
                    // Only the canonical spelling names a pid ("01" does not).
                    if format!("{pid}") != name || task_view(pid).is_none() {
                        return Err(Errno::ENOENT);
                    }
                    let dir: Arc<dyn DirOps> =
                        Arc::try_new(PidDir(pid)).map_err(|_| Errno::ENOMEM)?;
                    Ok(DirEntry::Dir(dir))
                }
            }
        }

        fn list(&self) -> Result<Vec<String>, Errno> {
            let views = task_views()?;
            let mut list = names(&ROOT_ENTRIES)?;
            list.try_reserve(views.len()).map_err(|_| Errno::ENOMEM)?;
            list.extend(views.iter().map(|v| format!("{}", v.pid)));
            Ok(list)
        }
    }

    fn meminfo() -> MemInfo {
        let (frames_free, frames_total) = crate::mm::page_alloc::counts();
        let (heap_used, heap_free) = crate::heap::usage();
        let stacks = crate::mm::page_alloc::nr_kernel_pages() as u64 * PAGE_KB;
        let kb = |frames: usize| frames as u64 * PAGE_KB;
        MemInfo {
            total: kb(frames_total) + (heap_used + heap_free) as u64 / 1024,
            free: kb(frames_free) + heap_free as u64 / 1024,
            slab: (heap_used as u64 / 1024).saturating_sub(stacks),
            kernel_stack: stacks,
            anon: kb(frames_total - frames_free),
        }
    }

    /// Mounts procfs at `/proc` and starts the CPU time and load accounting.
    pub fn init() {
        if let Err(e) = arch::timer::register_tick_hook(&ACCOUNT_TICK) {
            crate::println!("procfs: no tick hook ({e:?}): no CPU times or load averages");
        }
        let root: Arc<dyn DirOps> = Arc::new(ProcRoot);
        if let Err(e) = fs::mount("/proc", root) {
            crate::println!("procfs: cannot mount /proc: {e:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn kthreadd() -> TaskInfo<'static> {
        TaskInfo {
            pid: 2,
            ppid: 0,
            comm: "kthreadd",
            state: ProcState::Sleeping,
            kthread: true,
            tracer_pid: 0,
            sig: SigSets {
                ignored: u64::MAX,
                ..SigSets::default()
            },
            sigpending_limit: 3576,
            mem: None,
            cpu: 0,
            nr_cpus: 2,
            switches: 107,
            start_time: 8,
            utime: 0,
            stime: 13,
            exit_code: 0,
        }
    }

    /// `cat /proc/2/status` on Linux 6.12 (Debian's arm64 build, `-smp 2`), but
    /// `Cpus_allowed` (kthreadd may run on both CPUs; our tasks on one) and
    /// `nonvoluntary_ctxt_switches`.
    const LINUX_KTHREADD_STATUS: &str = "Name:\tkthreadd\nUmask:\t0022\nState:\tS (sleeping)\n\
Tgid:\t2\nNgid:\t0\nPid:\t2\nPPid:\t0\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n\
FDSize:\t64\nGroups:\t \nNStgid:\t2\nNSpid:\t2\nNSpgid:\t0\nNSsid:\t0\nKthread:\t1\nThreads:\t1\n\
SigQ:\t0/3576\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\n\
SigIgn:\tffffffffffffffff\nSigCgt:\t0000000000000000\nCapInh:\t0000000000000000\n\
CapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n\
CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n\
Speculation_Store_Bypass:\tvulnerable\nSpeculationIndirectBranch:\tunknown\nCpus_allowed:\t1\n\
Cpus_allowed_list:\t0\nMems_allowed:\t0001\nMems_allowed_list:\t0\n\
voluntary_ctxt_switches:\t107\nnonvoluntary_ctxt_switches:\t0\n";

    #[test]
    fn kernel_task_status_is_linuxs() {
        let mut out = String::new();
        write_status(&mut out, &kthreadd()).unwrap();
        assert_eq!(out, LINUX_KTHREADD_STATUS);
    }

    #[test]
    fn kernel_task_stat_is_linuxs() {
        // Linux: `2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 13 0 0 20 0 1 0 8 0 0 ...`,
        // with PF_NOFREEZE|PF_FORKNOEXEC in the flags.
        let mut out = String::new();
        write_stat(&mut out, &kthreadd()).unwrap();
        assert_eq!(
            out,
            "2 (kthreadd) S 0 0 0 0 -1 2097152 0 0 0 0 0 13 0 0 20 0 1 0 8 0 0 \
18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        );
        assert_eq!(out.split(' ').count(), 52);
    }

    fn cat() -> TaskInfo<'static> {
        TaskInfo {
            pid: 137,
            ppid: 1,
            comm: "cat",
            state: ProcState::Running,
            kthread: false,
            sig: SigSets::default(),
            mem: Some(MemUsage {
                total_pages: 539,
                data_pages: 60,
                stack_pages: 33,
                table_pages: 9,
                start_code: 0x400000,
                end_code: 5972170,
                start_data: 6068304,
                end_data: 6104344,
                start_brk: 412065792,
                start_stack: 281474371273808,
            }),
            cpu: 1,
            switches: 0,
            start_time: 542,
            utime: 0,
            stime: 3,
            ..kthreadd()
        }
    }

    #[test]
    fn process_status_has_linuxs_lines_in_order() {
        let mut out = String::new();
        write_status(&mut out, &cat()).unwrap();
        // `head -3 /proc/self/status` on Linux.
        assert!(out.starts_with("Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t137\n"));
        let names: alloc::vec::Vec<&str> =
            out.lines().map(|l| l.split_once(':').unwrap().0).collect();
        // Linux 6.12's field order for a process (`cat /proc/self/status`).
        let linux = "Name Umask State Tgid Ngid Pid PPid TracerPid Uid Gid FDSize Groups NStgid \
NSpid NSpgid NSsid Kthread VmPeak VmSize VmLck VmPin VmHWM VmRSS RssAnon RssFile RssShmem VmData \
VmStk VmExe VmLib VmPTE VmSwap HugetlbPages CoreDumping THP_enabled untag_mask Threads SigQ \
SigPnd ShdPnd SigBlk SigIgn SigCgt CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp \
Seccomp_filters Speculation_Store_Bypass SpeculationIndirectBranch Cpus_allowed \
Cpus_allowed_list Mems_allowed Mems_allowed_list voluntary_ctxt_switches \
nonvoluntary_ctxt_switches";
        assert_eq!(names.join(" "), linux);
        assert!(out.contains("\nVmSize:\t    2156 kB\n"), "{out}");
        assert!(out.contains("\nVmExe:\t    1740 kB\n"), "{out}");
        assert!(out.contains("\nuntag_mask:\t0xffffffffffffff\n"));
        assert!(out.contains("\nCpus_allowed:\t2\nCpus_allowed_list:\t1\n"));
    }

    #[test]
    fn process_stat_fields_are_linuxs() {
        // Linux: `138 (cat) R 1 0 0 0 -1 4194304 59 0 0 0 0 3 0 0 20 0 1 0 542 2207744 293
        // 18446744073709551615 4194304 5972170 281474371273808 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0
        // 0 6068304 6104344 412065792 281474371276690 281474371276710 281474371276710
        // 281474371276777 0`: PF_RANDOMIZE, fault counts and the argument and environment
        // addresses differ.
        let mut out = String::new();
        let mut t = cat();
        t.pid = 138;
        write_stat(&mut out, &t).unwrap();
        assert_eq!(
            out,
            "138 (cat) R 1 0 0 0 -1 0 0 0 0 0 0 3 0 0 20 0 1 0 542 2207744 539 \
18446744073709551615 4194304 5972170 281474371273808 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 \
6068304 6104344 412065792 0 0 0 0 0\n"
        );
        assert_eq!(out.trim_end().split(' ').count(), 52);
    }

    #[test]
    fn zombies_say_z_and_exiting() {
        let t = TaskInfo {
            state: ProcState::Zombie,
            mem: None,
            exit_code: 0x0f00,
            ..cat()
        };
        let mut status = String::new();
        write_status(&mut status, &t).unwrap();
        assert!(status.contains("\nState:\tZ (zombie)\n"));
        assert!(!status.contains("VmSize"));
        let mut stat = String::new();
        write_stat(&mut stat, &t).unwrap();
        assert!(stat.starts_with("137 (cat) Z 1 0 0 0 -1 4 "), "{stat}");
        assert!(stat.ends_with(" 3840\n"));
    }

    /// `cat /proc/self/maps` of busybox on Linux 6.12, without `[vvar]`/`[vdso]` (we have no
    /// vDSO).
    const LINUX_MAPS: &str = "\
00400000-005b3000 r-xp 00000000 00:02 10                                 /bin/busybox
005c9000-005d0000 r--p 001b9000 00:02 10                                 /bin/busybox
005d0000-005d3000 rw-p 001c0000 00:02 10                                 /bin/busybox
005d3000-005da000 rw-p 00000000 00:00 0 
22699000-226bb000 rw-p 00000000 00:00 0                                  [heap]
ffffb80f5000-ffffb8105000 rw-p 00000000 00:00 0 
ffffe27f8000-ffffe2819000 rw-p 00000000 00:00 0                          [stack]
";

    fn pages(
        start: u64,
        end: u64,
        write: bool,
        exec: bool,
    ) -> impl Iterator<Item = (u64, bool, bool)> {
        (start..end).step_by(4096).map(move |va| (va, write, exec))
    }

    #[test]
    fn maps_fold_pages_into_linuxs_lines() {
        let files = [
            FileRange {
                start: 0x400000,
                end: 0x5b3000,
                offset: 0,
            },
            FileRange {
                start: 0x5c9000,
                end: 0x5d3000,
                offset: 0x1b9000,
            },
        ];
        let layout = Layout {
            file: MappedFile {
                path: "/bin/busybox",
                dev: (0, 2),
                ino: 10,
            },
            files: &files,
            start_brk: 0x22699000,
            brk: 0x226ba010,
            stack_start: 0xffffe27f8000,
            stack_end: 0xffffe2819000,
        };
        let all = pages(0x400000, 0x5b3000, false, true)
            .chain(pages(0x5c9000, 0x5d0000, false, false))
            .chain(pages(0x5d0000, 0x5da000, true, false))
            .chain(pages(0x22699000, 0x226bb000, true, false))
            .chain(pages(0xffffb80f5000, 0xffffb8105000, true, false))
            .chain(pages(0xffffe27f8000, 0xffffe2819000, true, false));
        let mut out = String::new();
        for_each_vma(all, &layout, |vma| write_vma(&mut out, vma)).unwrap();
        assert_eq!(out, LINUX_MAPS);
    }

    #[test]
    fn file_pages_split_where_the_offset_jumps() {
        let files = [
            FileRange {
                start: 0x400000,
                end: 0x401000,
                offset: 0,
            },
            FileRange {
                start: 0x401000,
                end: 0x402000,
                offset: 0x5000,
            },
        ];
        let layout = Layout {
            file: MappedFile {
                path: "/bin/x",
                dev: (0, 1),
                ino: 3,
            },
            files: &files,
            start_brk: 0x500000,
            brk: 0x500000,
            stack_start: 0x600000,
            stack_end: 0x601000,
        };
        let mut v = Vec::new();
        for_each_vma(
            pages(0x400000, 0x402000, false, true).chain(pages(0x500000, 0x501000, true, false)),
            &layout,
            |vma| {
                v.push(*vma);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!((v[1].start, v[1].offset), (0x401000, 0x5000));
        // An empty heap (brk == start_brk) names nothing: Linux has no [heap] VMA then.
        assert_eq!(v[2].kind, VmaKind::Anon);
    }

    #[test]
    fn image_layout_is_load_elf_binarys() {
        use crate::binfmt_elf::{Copy, ElfImage, PageProt};
        let mut pages = alloc::collections::BTreeMap::new();
        pages.insert(
            0x400000,
            PageProt {
                write: false,
                exec: true,
            },
        );
        pages.insert(
            0x410000,
            PageProt {
                write: true,
                exec: false,
            },
        );
        pages.insert(
            0x411000,
            PageProt {
                write: true,
                exec: false,
            },
        );
        let image = ElfImage {
            pages,
            copies: alloc::vec![
                Copy {
                    vaddr: 0x400000,
                    offset: 0,
                    len: 0xc0
                },
                Copy {
                    vaddr: 0x4100c0,
                    offset: 0xc0,
                    len: 0x40
                },
            ],
            entry: 0x4000b0,
            phdr: 0x400040,
            phnum: 2,
            phent: 56,
            bias: 0,
            end: 0x412000,
        };
        let layout = ImageLayout::from_image(&image, 0xfff0).unwrap();
        assert_eq!(
            layout.files,
            [
                FileRange {
                    start: 0x400000,
                    end: 0x401000,
                    offset: 0
                },
                FileRange {
                    start: 0x410000,
                    end: 0x411000,
                    offset: 0
                },
            ]
        );
        assert_eq!((layout.start_code, layout.end_code), (0x400000, 0x4000c0));
        assert_eq!((layout.start_data, layout.end_data), (0x4100c0, 0x410100));
        let all: alloc::vec::Vec<_> = pages_of(&image).collect();
        let mem = mem_usage(&all, &layout, 0x412000, 0x7000_0000..0x7000_1000);
        // The bss page past the file bytes is data; the file-backed ones are not.
        assert_eq!(
            (mem.total_pages, mem.data_pages, mem.stack_pages),
            (3, 1, 0)
        );
        assert_eq!(mem.table_pages, 2);
    }

    fn pages_of(
        image: &crate::binfmt_elf::ElfImage,
    ) -> impl Iterator<Item = (u64, bool, bool)> + '_ {
        image
            .pages
            .iter()
            .map(|(&va, prot)| (va, prot.write, prot.exec))
    }

    #[test]
    fn cmdline_keeps_the_nuls() {
        let mut out = String::new();
        write_cmdline(&mut out, b"cat\0/proc/self/cmdline\0").unwrap();
        assert_eq!(out, "cat\0/proc/self/cmdline\0");
        out.clear();
        write_cmdline(&mut out, b"a\xffb\0").unwrap();
        assert_eq!(out, "a\u{fffd}b\0");
    }

    #[test]
    fn mounts_lines_are_linuxs() {
        let mut out = String::new();
        write_mounts(&mut out, MOUNTS.iter().filter(|m| m.fstype == "tracefs")).unwrap();
        assert_eq!(
            out,
            "tracefs /sys/kernel/tracing tracefs rw,nosuid,nodev,noexec,relatime 0 0\n"
        );
    }

    #[test]
    fn uptime_and_loadavg_are_linuxs() {
        let mut out = String::new();
        write_uptime(&mut out, 6_123_456_789, 1_730_000_000).unwrap();
        assert_eq!(out, "6.12 1.73\n");
        out.clear();
        // 0.16 0.03 0.01 in fixed point, as Linux printed them.
        write_loadavg(&mut out, [328, 61, 20], 1, 54, 155).unwrap();
        assert_eq!(out, "0.16 0.03 0.01 1/54 155\n");
    }

    #[test]
    fn load_averages_decay_as_linuxs() {
        // One task always running: the 1-minute average passes 0.63 after a minute (12
        // samples), as 1 - 1/e.
        let mut load = 0;
        for _ in 0..12 {
            load = calc_load(load, EXP[0], FIXED_1);
        }
        assert_eq!(load * 100 / FIXED_1, 63);
        // Idle again: it decays, and reaches 0 (the rounding only goes up while rising).
        for _ in 0..200 {
            load = calc_load(load, EXP[0], 0);
        }
        assert_eq!(load, 0);
        assert_eq!(calc_load(0, EXP[2], 0), 0);
    }

    #[test]
    fn proc_stat_lines_are_linuxs() {
        let mut out = String::new();
        let cpus = [
            (
                0,
                CpuTimes {
                    user: 5,
                    system: 397,
                    idle: 62,
                },
            ),
            (
                1,
                CpuTimes {
                    user: 9,
                    system: 332,
                    idle: 118,
                },
            ),
        ];
        let stat = SystemStat {
            intr: alloc::vec![0, 154, 293],
            ctxt: 2348,
            btime: 0,
            processes: 158,
            procs_running: 1,
            procs_blocked: 0,
        };
        write_proc_stat(&mut out, &cpus, &stat).unwrap();
        // Linux 6.12's lines, with its irq and softirq times (38, 20, 18) not kept here.
        assert_eq!(
            out,
            "cpu  14 0 729 180 0 0 0 0 0 0\ncpu0 5 0 397 62 0 0 0 0 0 0\n\
cpu1 9 0 332 118 0 0 0 0 0 0\nintr 447 0 154 293\nctxt 2348\nbtime 0\nprocesses 158\n\
procs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n"
        );
    }

    #[test]
    fn cpuinfo_is_linuxs() {
        // `cat /proc/cpuinfo` on Linux 6.12 (cortex-a72 under QEMU), but the features, which
        // are what each kernel tells user space.
        let mut out = String::new();
        write_cpuinfo(&mut out, 1, 0x410f_d083, 62_500_000, 0b11).unwrap();
        assert_eq!(
            out,
            "processor\t: 1\nBogoMIPS\t: 125.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n\
CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n"
        );
    }

    #[test]
    fn meminfo_columns_are_linuxs() {
        let mut out = String::new();
        let m = MemInfo {
            total: 991620,
            free: 942500,
            ..MemInfo::default()
        };
        write_meminfo(&mut out, &m).unwrap();
        assert!(out.starts_with(
            "MemTotal:         991620 kB\nMemFree:          942500 kB\nMemAvailable:     942500 kB\n"
        ));
        assert!(out.contains("\nInactive(anon):        0 kB\n"));
    }
}
