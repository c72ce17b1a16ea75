//! The static ELF64 loader (Linux: `fs/binfmt_elf.c`, `load_elf_binary` and
//! `create_elf_tables`, for static executables only): `ET_EXEC` at its link addresses and
//! static-pie `ET_DYN` at [`ELF_ET_DYN_BASE`], with Linux's initial stack (argc, argv, envp,
//! auxv). A static-pie program relocates itself, as on Linux; no interpreter is loaded
//! (`PT_INTERP` is `ENOEXEC`).
//!
//! Two pure steps, host-tested: [`parse`] reads the headers (with the `object` crate's no_std
//! ELF reader) into an [`ElfImage`] of pages to map and bytes to copy, and [`build_stack`] lays
//! out the initial stack as bytes. [`load`] (target only) applies both to an address space.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use object::LittleEndian;
use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader, ProgramHeader};

use crate::fs::Errno;

pub const PAGE_SIZE: u64 = 4096;
/// The end of the user address range (39-bit VA).
pub const TASK_SIZE: u64 = 1 << 39;
/// Where a static-pie program is loaded (Linux: `ELF_ET_DYN_BASE`, 2/3 of `TASK_SIZE`).
pub const ELF_ET_DYN_BASE: u64 = (TASK_SIZE / 3 * 2) & !(PAGE_SIZE - 1);
/// The top of the initial stack (Linux: `STACK_TOP` = `TASK_SIZE`).
pub const STACK_TOP: u64 = TASK_SIZE;
/// The initial stack's size, mapped up front (no stack growth on faults yet).
pub const STACK_SIZE: u64 = 128 * 1024;
/// Room the stack's strings, table and pointers may take (Linux limits them to a quarter of
/// the stack rlimit; ours is a quarter of the stack).
pub const MAX_ARG_BYTES: usize = (STACK_SIZE / 4) as usize;

// Auxiliary vector keys (Linux's `include/uapi/linux/auxvec.h`).
pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;

/// The user page protections of a loaded page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PageProt {
    pub write: bool,
    pub exec: bool,
}

/// File bytes to copy to a user address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub vaddr: u64,
    pub offset: usize,
    pub len: usize,
}

/// What loading a program means, before any memory is touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// Every page of the `PT_LOAD` segments with its protection (the union where two segments
    /// share a page), in address order.
    pub pages: BTreeMap<u64, PageProt>,
    /// The file's bytes to place: each segment's `p_filesz` part. The rest of a page is zero.
    pub copies: Vec<Copy>,
    /// The entry point, load bias applied.
    pub entry: u64,
    /// The user address of the program headers (`AT_PHDR`).
    pub phdr: u64,
    pub phnum: u64,
    pub phent: u64,
    /// What was added to every link address: 0 for `ET_EXEC`.
    pub bias: u64,
    /// The first page after the highest segment: where `brk` starts.
    pub end: u64,
}

fn noexec<E>(_: E) -> Errno {
    Errno::ENOEXEC
}

/// Reads the ELF headers of a static AArch64 executable. `data` may have any alignment (a
/// cpio member is only 4-byte aligned): the headers are read from an aligned copy, as the ELF
/// reader wants its structures naturally aligned.
pub fn parse(data: &[u8]) -> Result<ElfImage, Errno> {
    if (data.as_ptr() as usize).is_multiple_of(8) {
        return parse_aligned(data, data.len());
    }
    // The ELF header and the program headers: all `parse_aligned` reads.
    let field = |at: usize, len: usize| -> u64 {
        data.get(at..at + len).map_or(0, |b| {
            b.iter()
                .rev()
                .fold(0, |n, &byte| (n << 8) | u64::from(byte))
        })
    };
    let phdrs_end = field(32, 8)
        .saturating_add(field(54, 2).saturating_mul(field(56, 2)))
        .max(64);
    let len = (phdrs_end.min(data.len() as u64)) as usize;
    let mut words: Vec<u64> = Vec::new();
    words
        .try_reserve_exact(len.div_ceil(8))
        .map_err(|_| Errno::ENOMEM)?;
    words.resize(len.div_ceil(8), 0);
    // SAFETY: `words` has at least `len` bytes; u64 has no invalid byte patterns.
    let aligned = unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) };
    aligned.copy_from_slice(&data[..len]);
    parse_aligned(aligned, data.len())
}

/// [`parse`] on an 8-byte aligned prefix `data` of a file of `file_len` bytes.
fn parse_aligned(data: &[u8], file_len: usize) -> Result<ElfImage, Errno> {
    let header = FileHeader64::<LittleEndian>::parse(data).map_err(noexec)?;
    let endian = header.endian().map_err(noexec)?;
    if header.e_machine(endian) != elf::EM_AARCH64 {
        return Err(Errno::ENOEXEC);
    }
    let bias = match header.e_type(endian) {
        elf::ET_EXEC => 0,
        elf::ET_DYN => ELF_ET_DYN_BASE,
        _ => return Err(Errno::ENOEXEC),
    };
    let phdrs: &[ProgramHeader64<LittleEndian>] =
        header.program_headers(endian, data).map_err(noexec)?;
    if phdrs.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let mut pages = BTreeMap::new();
    let mut copies = Vec::new();
    let mut end = 0;
    let mut phdr_addr = None;
    let phoff = header.e_phoff(endian);
    for ph in phdrs {
        match ph.p_type(endian) {
            elf::PT_INTERP => return Err(Errno::ENOEXEC),
            elf::PT_PHDR => phdr_addr = Some(ph.p_vaddr(endian)),
            elf::PT_LOAD => {}
            _ => continue,
        }
        if ph.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let (vaddr, memsz) = (ph.p_vaddr(endian), ph.p_memsz(endian));
        let (offset, filesz) = (ph.p_offset(endian), ph.p_filesz(endian));
        let start = vaddr.checked_add(bias).ok_or(Errno::ENOEXEC)?;
        let seg_end = start.checked_add(memsz).ok_or(Errno::ENOEXEC)?;
        if filesz > memsz || seg_end > TASK_SIZE || start < PAGE_SIZE {
            return Err(Errno::ENOEXEC);
        }
        let file_end = offset.checked_add(filesz).ok_or(Errno::ENOEXEC)?;
        if file_end > file_len as u64 {
            return Err(Errno::ENOEXEC);
        }
        let flags = ph.p_flags(endian);
        let prot = PageProt {
            write: flags & elf::PF_W != 0,
            exec: flags & elf::PF_X != 0,
        };
        let mut page = start & !(PAGE_SIZE - 1);
        while page < seg_end {
            let entry = pages.entry(page).or_insert(PageProt::default());
            entry.write |= prot.write;
            entry.exec |= prot.exec;
            page += PAGE_SIZE;
        }
        if filesz > 0 {
            copies.push(Copy {
                vaddr: start,
                offset: offset as usize,
                len: filesz as usize,
            });
        }
        if phdr_addr.is_none() && (offset..file_end).contains(&phoff) {
            phdr_addr = Some(vaddr + (phoff - offset));
        }
        end = end.max(seg_end);
    }
    if pages.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let entry = header
        .e_entry(endian)
        .checked_add(bias)
        .ok_or(Errno::ENOEXEC)?;
    Ok(ElfImage {
        pages,
        copies,
        entry,
        phdr: phdr_addr.map_or(0, |a| a + bias),
        phnum: phdrs.len() as u64,
        phent: u64::from(header.e_phentsize(endian)),
        bias,
        end: end.next_multiple_of(PAGE_SIZE),
    })
}

/// What goes on a new program's stack.
pub struct StackArgs<'a> {
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    /// The path execve was given (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// `AT_RANDOM`'s 16 bytes.
    pub random: [u8; 16],
    /// Every auxv entry but `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` and `AT_NULL`, which
    /// [`build_stack`] adds with the addresses it chose.
    pub auxv: &'a [(u64, u64)],
}

/// The platform string Linux's arm64 `ELF_PLATFORM` gives (`AT_PLATFORM`).
pub const ELF_PLATFORM: &[u8] = b"aarch64";

/// The initial stack: `bytes` go at `[sp, top)`. From `sp` up: argc, argv[] and NULL, envp[]
/// and NULL, the auxv pairs ending in `AT_NULL`; then, 16-byte aligned, the random bytes, the
/// platform string, and the strings (argv's, envp's, the exec path) up to `top`, as Linux's
/// `create_elf_tables` lays them out. `sp` is 16-byte aligned. `E2BIG` past [`MAX_ARG_BYTES`].
pub fn build_stack(top: u64, args: &StackArgs<'_>) -> Result<(u64, Vec<u8>), Errno> {
    let strings: usize = args
        .argv
        .iter()
        .chain(args.envp)
        .chain([&args.execfn, &ELF_PLATFORM])
        .map(|s| s.len() + 1)
        .sum();
    // 2 pairs per extra auxv entry (AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL).
    let words = 1 + args.argv.len() + 1 + args.envp.len() + 1 + 2 * (args.auxv.len() + 4);
    let total = strings + 16 + 16 + words * 8 + 16;
    if total > MAX_ARG_BYTES || args.argv.iter().chain(args.envp).any(|s| s.contains(&0)) {
        return Err(Errno::E2BIG);
    }
    let sp = (top - total as u64) & !15;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact((top - sp) as usize)
        .map_err(|_| Errno::ENOMEM)?;
    bytes.resize((top - sp) as usize, 0);

    // Strings at the top, argv[0] lowest, as Linux's copy_strings leaves them.
    let mut cursor = top - strings as u64;
    let mut put_string = |bytes: &mut Vec<u8>, s: &[u8]| {
        let at = (cursor - sp) as usize;
        bytes[at..at + s.len()].copy_from_slice(s);
        bytes[at + s.len()] = 0;
        let addr = cursor;
        cursor += s.len() as u64 + 1;
        addr
    };
    let argv: Vec<u64> = args
        .argv
        .iter()
        .map(|s| put_string(&mut bytes, s))
        .collect();
    let envp: Vec<u64> = args
        .envp
        .iter()
        .map(|s| put_string(&mut bytes, s))
        .collect();
    let execfn = put_string(&mut bytes, args.execfn);
    let platform = put_string(&mut bytes, ELF_PLATFORM);
    let random = ((top - strings as u64) & !15) - 16;
    let at = (random - sp) as usize;
    bytes[at..at + 16].copy_from_slice(&args.random);

    let mut table: Vec<u64> = Vec::new();
    table.push(args.argv.len() as u64);
    table.extend(&argv);
    table.push(0);
    table.extend(&envp);
    table.push(0);
    for &(key, value) in args.auxv {
        table.extend([key, value]);
    }
    table.extend([AT_RANDOM, random, AT_EXECFN, execfn, AT_PLATFORM, platform]);
    table.extend([AT_NULL, 0]);
    debug_assert!(sp + table.len() as u64 * 8 <= random);
    for (i, word) in table.iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    Ok((sp, bytes))
}

/// The auxv entries every program gets, besides those [`build_stack`] adds.
pub fn standard_auxv(image: &ElfImage, hwcap: u64) -> [(u64, u64); 14] {
    [
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, image.phdr),
        (AT_PHENT, image.phent),
        (AT_PHNUM, image.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, image.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
    ]
}

#[cfg(target_os = "none")]
pub use target::*;

#[cfg(target_os = "none")]
mod target {
    use super::*;
    use crate::process::mm::Mm;

    /// `AT_HWCAP`: FP and Advanced SIMD, which EL0 may use and whose registers are switched
    /// per task (`arch::fpsimd`). Not `HWCAP_CPUID`: `mrs` of ID registers is not emulated.
    pub const HWCAP: u64 = arch::fpsimd::HWCAP_FP | arch::fpsimd::HWCAP_ASIMD;

    /// Where a loaded program starts.
    pub struct Loaded {
        pub entry: u64,
        pub sp: u64,
        /// The first page past the program: the initial `brk`.
        pub brk: u64,
    }

    /// Maps `data`'s segments and a stack into the empty address space `mm`, and writes the
    /// initial stack. `ENOEXEC` for a file that is not a static AArch64 executable, `ENOMEM`
    /// when frames run out, `E2BIG` for too many arguments.
    pub fn load(
        mm: &Mm,
        data: &[u8],
        argv: &[&[u8]],
        envp: &[&[u8]],
        execfn: &[u8],
    ) -> Result<Loaded, Errno> {
        let image = parse(data)?;
        for (&page, prot) in &image.pages {
            mm.map_zeroed(page, PAGE_SIZE, prot.write, prot.exec)?;
        }
        for copy in &image.copies {
            mm.write(copy.vaddr, &data[copy.offset..copy.offset + copy.len])?;
        }
        mm.sync_icache(&image)?;
        mm.map_zeroed(STACK_TOP - STACK_SIZE, STACK_SIZE, true, false)?;
        let mut random = [0; 16];
        crate::syscall::random::fill(&mut random);
        let auxv = standard_auxv(&image, HWCAP);
        let args = StackArgs {
            argv,
            envp,
            execfn,
            random,
            auxv: &auxv,
        };
        let (sp, bytes) = build_stack(STACK_TOP, &args)?;
        mm.write(sp, &bytes)?;
        mm.set_layout(crate::fs::procfs::ImageLayout::from_image(&image, sp)?);
        Ok(Loaded {
            entry: image.entry,
            sp,
            brk: image.end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal static AArch64 ELF: the header, two program headers (text RX at 0x400000
    /// covering the headers, data RW at 0x410000 with a .bss tail), and 16 bytes of code.
    fn crafted(e_type: u16) -> Vec<u8> {
        let mut f = vec![0u8; 0x100];
        f[0..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // ELFDATA2LSB
        f[6] = 1; // EV_CURRENT
        f[16..18].copy_from_slice(&e_type.to_le_bytes());
        f[18..20].copy_from_slice(&elf::EM_AARCH64.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&0x4000b0u64.to_le_bytes()); // e_entry
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[56..58].copy_from_slice(&2u16.to_le_bytes()); // e_phnum
        let ph =
            |f: &mut Vec<u8>, at: usize, flags: u32, off: u64, va: u64, filesz: u64, memsz: u64| {
                f[at..at + 4].copy_from_slice(&elf::PT_LOAD.to_le_bytes());
                f[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
                f[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
                f[at + 16..at + 24].copy_from_slice(&va.to_le_bytes());
                f[at + 24..at + 32].copy_from_slice(&va.to_le_bytes());
                f[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
                f[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
                f[at + 48..at + 56].copy_from_slice(&0x1000u64.to_le_bytes());
            };
        ph(&mut f, 64, elf::PF_R | elf::PF_X, 0, 0x400000, 0xc0, 0xc0);
        ph(
            &mut f,
            120,
            elf::PF_R | elf::PF_W,
            0xc0,
            0x4100c0,
            0x40,
            0x2000,
        );
        f
    }

    #[test]
    fn exec_segments_pages_and_auxv_values() {
        let image = parse(&crafted(elf::ET_EXEC)).unwrap();
        assert_eq!(image.bias, 0);
        assert_eq!(image.entry, 0x4000b0);
        assert_eq!(image.phdr, 0x400040);
        assert_eq!((image.phnum, image.phent), (2, 56));
        let pages: Vec<_> = image.pages.iter().map(|(&p, &prot)| (p, prot)).collect();
        let rx = PageProt {
            write: false,
            exec: true,
        };
        let rw = PageProt {
            write: true,
            exec: false,
        };
        assert_eq!(
            pages,
            [
                (0x400000, rx),
                (0x410000, rw),
                (0x411000, rw),
                (0x412000, rw)
            ]
        );
        assert_eq!(
            image.copies,
            [
                Copy {
                    vaddr: 0x400000,
                    offset: 0,
                    len: 0xc0
                },
                Copy {
                    vaddr: 0x4100c0,
                    offset: 0xc0,
                    len: 0x40
                }
            ]
        );
        assert_eq!(image.end, 0x413000);
    }

    #[test]
    fn unaligned_files_parse_too() {
        let file = crafted(elf::ET_EXEC);
        let mut buf = vec![0u8; 8 + file.len()];
        let start = (8 - buf.as_ptr() as usize % 8) % 8 + 4;
        buf[start..start + file.len()].copy_from_slice(&file);
        let unaligned = &buf[start..start + file.len()];
        assert_ne!(unaligned.as_ptr() as usize % 8, 0);
        assert_eq!(parse(unaligned), parse(&file));
        assert!(parse(unaligned).is_ok());
    }

    #[test]
    fn static_pie_is_biased() {
        let image = parse(&crafted(elf::ET_DYN)).unwrap();
        assert_eq!(image.bias, ELF_ET_DYN_BASE);
        assert_eq!(image.entry, ELF_ET_DYN_BASE + 0x4000b0);
        assert_eq!(image.phdr, ELF_ET_DYN_BASE + 0x400040);
        assert!(image.end < TASK_SIZE);
    }

    #[test]
    fn bad_files_are_enoexec() {
        assert_eq!(parse(b""), Err(Errno::ENOEXEC));
        assert_eq!(parse(b"#!/bin/sh\n"), Err(Errno::ENOEXEC));
        let mut wrong_machine = crafted(elf::ET_EXEC);
        wrong_machine[18] = 62; // x86-64
        assert_eq!(parse(&wrong_machine), Err(Errno::ENOEXEC));
        let mut relocatable = crafted(elf::ET_EXEC);
        relocatable[16] = 1; // ET_REL
        assert_eq!(parse(&relocatable), Err(Errno::ENOEXEC));
        // filesz past the end of the file.
        let mut truncated = crafted(elf::ET_EXEC);
        truncated.truncate(0xd0);
        assert_eq!(parse(&truncated), Err(Errno::ENOEXEC));
        // A segment reaching past TASK_SIZE.
        let mut huge = crafted(elf::ET_EXEC);
        huge[120 + 40..120 + 48].copy_from_slice(&(TASK_SIZE).to_le_bytes());
        assert_eq!(parse(&huge), Err(Errno::ENOEXEC));
        // filesz > memsz.
        let mut inverted = crafted(elf::ET_EXEC);
        inverted[120 + 40..120 + 48].copy_from_slice(&0x10u64.to_le_bytes());
        assert_eq!(parse(&inverted), Err(Errno::ENOEXEC));
        // A program interpreter: dynamic programs are not supported.
        let mut interp = crafted(elf::ET_EXEC);
        interp[64..68].copy_from_slice(&elf::PT_INTERP.to_le_bytes());
        assert_eq!(parse(&interp), Err(Errno::ENOEXEC));
    }

    fn word(bytes: &[u8], sp: u64, addr: u64) -> u64 {
        let at = (addr - sp) as usize;
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    fn string(bytes: &[u8], sp: u64, addr: u64) -> &[u8] {
        let at = (addr - sp) as usize;
        let len = bytes[at..].iter().position(|&b| b == 0).unwrap();
        &bytes[at..at + len]
    }

    #[test]
    fn initial_stack_layout() {
        let top = STACK_TOP;
        let image = parse(&crafted(elf::ET_EXEC)).unwrap();
        let auxv = standard_auxv(&image, 0);
        let args = StackArgs {
            argv: &[b"/bin/fib", b"20"],
            envp: &[b"PATH=/bin"],
            execfn: b"/bin/fib",
            random: *b"0123456789abcdef",
            auxv: &auxv,
        };
        let (sp, bytes) = build_stack(top, &args).unwrap();
        assert_eq!(sp % 16, 0);
        assert_eq!(sp + bytes.len() as u64, top);
        assert_eq!(word(&bytes, sp, sp), 2);
        assert_eq!(string(&bytes, sp, word(&bytes, sp, sp + 8)), b"/bin/fib");
        assert_eq!(string(&bytes, sp, word(&bytes, sp, sp + 16)), b"20");
        assert_eq!(word(&bytes, sp, sp + 24), 0);
        assert_eq!(string(&bytes, sp, word(&bytes, sp, sp + 32)), b"PATH=/bin");
        assert_eq!(word(&bytes, sp, sp + 40), 0);
        // The auxv, pair by pair, to AT_NULL.
        let mut aux = BTreeMap::new();
        let mut at = sp + 48;
        loop {
            let (key, value) = (word(&bytes, sp, at), word(&bytes, sp, at + 8));
            at += 16;
            if key == AT_NULL {
                break;
            }
            assert!(aux.insert(key, value).is_none(), "duplicate key {key}");
        }
        assert_eq!(aux[&AT_PHDR], 0x400040);
        assert_eq!(aux[&AT_PHENT], 56);
        assert_eq!(aux[&AT_PHNUM], 2);
        assert_eq!(aux[&AT_PAGESZ], 4096);
        assert_eq!(aux[&AT_ENTRY], 0x4000b0);
        assert_eq!(aux[&AT_SECURE], 0);
        for key in [AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP] {
            assert_eq!(aux[&key], 0);
        }
        let random = aux[&AT_RANDOM];
        assert_eq!(random % 16, 0);
        assert!(random >= at, "the random bytes lie above the table");
        let r = (random - sp) as usize;
        assert_eq!(&bytes[r..r + 16], b"0123456789abcdef");
        assert_eq!(string(&bytes, sp, aux[&AT_EXECFN]), b"/bin/fib");
        assert_eq!(string(&bytes, sp, aux[&AT_PLATFORM]), b"aarch64");
        // The strings end exactly at the top, the last one NUL-terminated.
        assert_eq!(*bytes.last().unwrap(), 0);
    }

    #[test]
    fn too_many_arguments_is_e2big() {
        let long = vec![b'x'; MAX_ARG_BYTES];
        let args = StackArgs {
            argv: &[&long],
            envp: &[],
            execfn: b"/bin/x",
            random: [0; 16],
            auxv: &[],
        };
        assert_eq!(build_stack(STACK_TOP, &args), Err(Errno::E2BIG));
    }
}
