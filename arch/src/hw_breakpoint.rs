//! Per-task hardware breakpoints and watchpoints for EL0 (Linux: `arch/arm64/kernel/
//! hw_breakpoint.c` with the `NT_ARM_HW_BREAK`/`NT_ARM_HW_WATCH` regsets of `ptrace.c`).
//!
//! A tracer describes each slot as Linux's `struct user_hwdebug_state` does: an address and a
//! control word laid out as the DBGBCR<n>_EL1/DBGWCR<n>_EL1 registers (enable, privilege,
//! load/store type, byte-address-select). [`HwDebugState::regset_set`] validates a write as
//! Linux's `ptrace_hbp_fill_attr_ctrl` and `hw_breakpoint_arch_parse` do (execute-only slots for
//! breakpoints, load/store slots for watchpoints, a contiguous BAS, user addresses only) and
//! keeps the slot in the form the registers take: the address aligned down (4 bytes for an
//! instruction, 8 for data) and the BAS shifted to the watched bytes, the privilege forced to
//! EL0. That layout work is pure and unit-tested on the host.
//!
//! The hardware half ([`TaskDebug`], target only) writes a task's slots into the debug
//! registers when the task returns to EL0. The registers only raise exceptions while
//! MDSCR_EL1.MDE is set, and the EL0 entry code sets MDE only while a task with an enabled slot
//! runs at EL0 (see [`crate::uspace::enter_user_debug`]): other tasks and the kernel itself
//! (whose unprivileged `ldtr`/`sttr` uaccess would otherwise match EL0 watchpoints) never see
//! another task's slots, whatever is left in the registers.

/// Slots `struct user_hwdebug_state` has room for (Linux: `ARM_MAX_BRP`, `ARM_MAX_WRP`).
pub const ARM_MAX_BRP: usize = 16;
pub const ARM_MAX_WRP: usize = 16;

/// DBGBCR/DBGWCR fields (Linux: `asm/hw_breakpoint.h`).
/// LSC (type): an instruction breakpoint, or which data accesses a watchpoint matches.
pub const ARM_BREAKPOINT_EXECUTE: u32 = 0;
pub const ARM_BREAKPOINT_LOAD: u32 = 1;
pub const ARM_BREAKPOINT_STORE: u32 = 2;
/// PMC (privilege): match at EL1, or at EL0.
pub const AARCH64_BREAKPOINT_EL1: u32 = 1;
pub const AARCH64_BREAKPOINT_EL0: u32 = 2;
/// BAS (len) for 1 to 8 bytes from the start of the aligned address.
pub const ARM_BREAKPOINT_LEN_1: u32 = 0x1;
pub const ARM_BREAKPOINT_LEN_4: u32 = 0xf;
pub const ARM_BREAKPOINT_LEN_8: u32 = 0xff;

/// `sizeof(struct user_hwdebug_state)`: `u32 dbg_info, u32 pad`, then sixteen
/// `{u64 addr, u32 ctrl, u32 pad}`.
pub const USER_HWDEBUG_STATE_SIZE: usize = DBG_REGS_OFFSET + ARM_MAX_BRP * SLOT_SIZE;
/// `offsetof(struct user_hwdebug_state, dbg_regs)`.
const DBG_REGS_OFFSET: usize = 8;
/// Linux: `PTRACE_HBP_ADDR_SZ`, `PTRACE_HBP_CTRL_SZ`, `PTRACE_HBP_PAD_SZ`.
const PTRACE_HBP_ADDR_SZ: usize = 8;
const PTRACE_HBP_CTRL_SZ: usize = 4;
const PTRACE_HBP_PAD_SZ: usize = 4;
const SLOT_SIZE: usize = PTRACE_HBP_ADDR_SZ + PTRACE_HBP_CTRL_SZ + PTRACE_HBP_PAD_SZ;
/// The regset's unit (`user_regset.size`): lengths must be multiples of it.
const REGSET_UNIT: usize = 4;

/// A control word's fields (Linux: `struct arch_hw_breakpoint_ctrl`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchHwBreakpointCtrl {
    /// BAS: which bytes from the aligned address match.
    pub len: u32,
    pub type_: u32,
    pub privilege: u32,
    pub enabled: bool,
}

/// Splits a control word (Linux: `decode_ctrl_reg`); bits above BAS are ignored.
pub const fn decode_ctrl_reg(reg: u32) -> ArchHwBreakpointCtrl {
    ArchHwBreakpointCtrl {
        enabled: reg & 1 != 0,
        privilege: (reg >> 1) & 0x3,
        type_: (reg >> 3) & 0x3,
        len: (reg >> 5) & 0xff,
    }
}

/// Builds a control word (Linux: `encode_ctrl_reg`).
pub const fn encode_ctrl_reg(ctrl: ArchHwBreakpointCtrl) -> u32 {
    (ctrl.len << 5) | (ctrl.type_ << 3) | (ctrl.privilege << 1) | ctrl.enabled as u32
}

/// Why a regset access failed (the kernel turns these into Linux's errnos).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwDebugError {
    /// `EINVAL`: a malformed slot, a kernel address, a length not a multiple of 4.
    Invalid,
    /// `ENOSPC`: a slot past the ones this CPU has.
    NoSpace,
    /// `ENOMEM`: no memory for the task's slots.
    NoMemory,
}

/// One slot as the tracer sees it (Linux: the perf event's `bp_addr` and the encoded arch
/// control): `addr` is the first watched byte, `ctrl` the register's control word (aligned
/// BAS, EL0 privilege). A disabled slot keeps its address and reads back a zero control word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwSlot {
    pub addr: u64,
    pub ctrl: u32,
}

impl HwSlot {
    /// Whether the slot matches anything.
    pub const fn enabled(&self) -> bool {
        self.ctrl & 1 != 0
    }

    /// The DBGxVR value: the address aligned down to what the BAS counts from.
    pub const fn reg_addr(&self, watch: bool) -> u64 {
        self.addr & !alignment_mask(watch)
    }

    /// The control word as a tracer would write it for [`Self::addr`]: the BAS moved back to
    /// bit 0 (a write of the address alone re-applies it to the new address, as Linux keeps
    /// the length and type of the event).
    const fn user_ctrl(&self) -> u32 {
        let mut ctrl = decode_ctrl_reg(self.ctrl);
        if ctrl.len != 0 {
            ctrl.len >>= ctrl.len.trailing_zeros();
        }
        encode_ctrl_reg(ctrl)
    }
}

/// Breakpoint addresses are instruction (4-byte) aligned, watchpoint addresses 8-byte
/// aligned with a BAS picking bytes of the doubleword (Linux's `alignment_mask`).
const fn alignment_mask(watch: bool) -> u64 {
    if watch { 0x7 } else { 0x3 }
}

/// Validates a tracer's (address, control word) for a breakpoint or watchpoint slot below
/// `task_size` and returns the slot (Linux: `ptrace_hbp_fill_attr_ctrl`,
/// `arch_bp_generic_fields`, `hw_breakpoint_arch_parse`, `arch_check_bp_in_kernelspace`).
pub fn validate_slot(
    watch: bool,
    addr: u64,
    ctrl: u32,
    task_size: u64,
) -> Result<HwSlot, HwDebugError> {
    let ctrl = decode_ctrl_reg(ctrl);
    if !ctrl.enabled {
        // Linux checks a disabled event's address too: a kernel address is refused.
        if addr >= task_size {
            return Err(HwDebugError::Invalid);
        }
        return Ok(HwSlot { addr, ctrl: 0 });
    }
    let type_ok = if watch {
        matches!(ctrl.type_, 1..=3)
    } else {
        ctrl.type_ == ARM_BREAKPOINT_EXECUTE
    };
    // BAS: a contiguous run of ones; where it starts moves the address (Linux: `__ffs`).
    if !type_ok || ctrl.len == 0 {
        return Err(HwDebugError::Invalid);
    }
    let offset = ctrl.len.trailing_zeros();
    let mut len = ctrl.len >> offset;
    if len & (len + 1) != 0 {
        return Err(HwDebugError::Invalid);
    }
    let bp_addr = addr
        .checked_add(u64::from(offset))
        .ok_or(HwDebugError::Invalid)?;
    if !watch {
        // AArch64 instructions are four bytes: Linux fixes any other length up to 4; an
        // unaligned breakpoint could never match an instruction.
        len = ARM_BREAKPOINT_LEN_4;
        if bp_addr & alignment_mask(false) != 0 {
            return Err(HwDebugError::Invalid);
        }
    }
    let bytes = u64::from(len.count_ones());
    if bp_addr >= task_size || bp_addr + bytes > task_size {
        return Err(HwDebugError::Invalid);
    }
    // The watched bytes must lie in one aligned doubleword: BAS has eight bits.
    let shifted = len << (bp_addr & alignment_mask(watch));
    if shifted > ARM_BREAKPOINT_LEN_8 {
        return Err(HwDebugError::Invalid);
    }
    let ctrl = ArchHwBreakpointCtrl {
        len: shifted,
        type_: ctrl.type_,
        privilege: AARCH64_BREAKPOINT_EL0,
        enabled: true,
    };
    Ok(HwSlot {
        addr: bp_addr,
        ctrl: encode_ctrl_reg(ctrl),
    })
}

/// Copies `src` into `dst` byte by byte. Not `copy_from_slice`: its generic body would be
/// instantiated here with a patch site and shared with `noinstr` callers elsewhere.
fn put(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// What the CPU offers: slot counts and the debug architecture version
/// (ID_AA64DFR0_EL1.BRPs + 1, .WRPs + 1, .DebugVer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwDebugInfo {
    pub brps: usize,
    pub wrps: usize,
    pub debug_arch: u32,
}

impl HwDebugInfo {
    /// The slots of one kind.
    pub const fn slots(&self, watch: bool) -> usize {
        if watch { self.wrps } else { self.brps }
    }

    /// `user_hwdebug_state.dbg_info` (Linux: `ptrace_hbp_get_resource_info`).
    pub const fn dbg_info(&self, watch: bool) -> u32 {
        (self.debug_arch << 8) | self.slots(watch) as u32
    }
}

/// A task's breakpoint and watchpoint slots (Linux: `thread.debug.hbp_break/hbp_watch`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HwDebugState {
    pub bps: [HwSlot; ARM_MAX_BRP],
    pub wps: [HwSlot; ARM_MAX_WRP],
}

impl HwDebugState {
    pub const fn new() -> Self {
        Self {
            bps: [HwSlot { addr: 0, ctrl: 0 }; ARM_MAX_BRP],
            wps: [HwSlot { addr: 0, ctrl: 0 }; ARM_MAX_WRP],
        }
    }

    fn slots(&self, watch: bool) -> &[HwSlot] {
        if watch { &self.wps } else { &self.bps }
    }

    /// Whether any slot is enabled (MDSCR_EL1.MDE is needed at EL0).
    pub fn any_enabled(&self) -> bool {
        self.bps.iter().chain(self.wps.iter()).any(HwSlot::enabled)
    }

    /// `PTRACE_GETREGSET` of `NT_ARM_HW_BREAK` (`watch` false) or `NT_ARM_HW_WATCH`: writes
    /// `struct user_hwdebug_state` (cut to `out`'s length, at most its size) and returns the
    /// bytes written (Linux: `hw_break_get`). `out`'s length must be a multiple of 4.
    pub fn regset_get(
        &self,
        info: &HwDebugInfo,
        watch: bool,
        out: &mut [u8],
    ) -> Result<usize, HwDebugError> {
        if !out.len().is_multiple_of(REGSET_UNIT) {
            return Err(HwDebugError::Invalid);
        }
        let mut image = [0u8; USER_HWDEBUG_STATE_SIZE];
        put(&mut image[..4], &info.dbg_info(watch).to_le_bytes());
        for (i, slot) in self.slots(watch).iter().enumerate() {
            let at = DBG_REGS_OFFSET + i * SLOT_SIZE;
            put(&mut image[at..at + 8], &slot.addr.to_le_bytes());
            put(&mut image[at + 8..at + 12], &slot.ctrl.to_le_bytes());
        }
        let n = out.len().min(USER_HWDEBUG_STATE_SIZE);
        put(&mut out[..n], &image[..n]);
        Ok(n)
    }

    /// `PTRACE_SETREGSET`: reads `struct user_hwdebug_state` from `data` (the header is
    /// ignored; slots are taken in order for as far as `data` goes, an address without its
    /// control word keeping the slot's control) and returns the bytes consumed (Linux:
    /// `hw_break_set`). Every slot is validated before any changes: on error the state is as
    /// it was. A slot the CPU lacks is `NoSpace`, a partial address `Invalid`.
    pub fn regset_set(
        &mut self,
        info: &HwDebugInfo,
        watch: bool,
        data: &[u8],
        task_size: u64,
    ) -> Result<usize, HwDebugError> {
        if !data.len().is_multiple_of(REGSET_UNIT) {
            return Err(HwDebugError::Invalid);
        }
        let data = &data[..data.len().min(USER_HWDEBUG_STATE_SIZE)];
        let mut new = self.clone();
        let slots = if watch { &mut new.wps } else { &mut new.bps };
        let mut at = DBG_REGS_OFFSET;
        let mut idx = 0;
        while at < data.len() {
            let rest = &data[at..];
            if rest.len() < PTRACE_HBP_ADDR_SZ {
                return Err(HwDebugError::Invalid);
            }
            if idx >= info.slots(watch) {
                return Err(HwDebugError::NoSpace);
            }
            let addr = u64::from_le_bytes(rest[..8].try_into().unwrap_or_default());
            let ctrl = match rest.get(8..12) {
                Some(bytes) => u32::from_le_bytes(bytes.try_into().unwrap_or_default()),
                None => slots[idx].user_ctrl(),
            };
            slots[idx] = validate_slot(watch, addr, ctrl, task_size)?;
            at += SLOT_SIZE;
            idx += 1;
        }
        *self = new;
        Ok(data.len())
    }
}

#[cfg(target_os = "none")]
pub use hw::*;

#[cfg(target_os = "none")]
mod hw {
    use alloc::boxed::Box;
    use core::sync::atomic::{AtomicBool, Ordering};

    use aarch64_cpu::registers::{ID_AA64DFR0_EL1, Readable};

    use super::{HwDebugError, HwDebugInfo, HwDebugState, HwSlot};
    use crate::debug_monitors::{DBG_MDSCR_MDE, DBG_MDSCR_SS};
    use crate::spinlock::SpinLockIrq;

    /// This CPU's breakpoint and watchpoint counts and debug architecture (every CPU of the
    /// machine has the same; Linux: `core_num_brps`, `core_num_wrps`, `debug_monitors_arch`).
    pub fn hw_debug_info() -> HwDebugInfo {
        let dfr0 = ID_AA64DFR0_EL1.extract();
        HwDebugInfo {
            brps: dfr0.read(ID_AA64DFR0_EL1::BRPs) as usize + 1,
            wrps: dfr0.read(ID_AA64DFR0_EL1::WRPs) as usize + 1,
            debug_arch: dfr0.read(ID_AA64DFR0_EL1::DebugVer) as u32,
        }
    }

    /// Writes debug register `$reg<n>_EL1` for a run-time `n` below 16 (the register number
    /// is part of the instruction, hence one `msr` per number).
    macro_rules! write_dbg_reg {
        ($reg:literal, $n:expr, $value:expr) => {{
            let value: u64 = $value;
            macro_rules! arm {
                        ($i:literal) => {
                            // SAFETY: a debug register write; it matters only while MDSCR_EL1.MDE
                            // is set, which the EL0 entry code controls.
                            unsafe {
                                core::arch::asm!(
                                    concat!("msr ", $reg, stringify!($i), "_el1, {}"),
                                    in(reg) value,
                                    options(nomem, nostack, preserves_flags)
                                )
                            }
                        };
                    }
            match $n {
                0 => arm!(0),
                1 => arm!(1),
                2 => arm!(2),
                3 => arm!(3),
                4 => arm!(4),
                5 => arm!(5),
                6 => arm!(6),
                7 => arm!(7),
                8 => arm!(8),
                9 => arm!(9),
                10 => arm!(10),
                11 => arm!(11),
                12 => arm!(12),
                13 => arm!(13),
                14 => arm!(14),
                15 => arm!(15),
                _ => {}
            }
        }};
    }

    /// A task's EL0 debug state (Linux: `TIF_SINGLESTEP` and `thread.debug`): whether it is
    /// single-stepped, and its breakpoint and watchpoint slots. Written by a tracer while the
    /// task is stopped, read by the task itself on its way to EL0. The slots are allocated by
    /// the first regset write (Linux creates its perf events then too), so an untraced task
    /// carries two flags and an empty lock.
    pub struct TaskDebug {
        single_step: AtomicBool,
        /// Any slot in `hw` enabled: the one word the EL0 entry reads for an untraced task.
        hw_enabled: AtomicBool,
        hw: SpinLockIrq<Option<Box<HwDebugState>>>,
    }

    impl Default for TaskDebug {
        fn default() -> Self {
            Self::new()
        }
    }

    impl TaskDebug {
        pub const fn new() -> Self {
            Self {
                single_step: AtomicBool::new(false),
                hw_enabled: AtomicBool::new(false),
                hw: SpinLockIrq::new(None),
            }
        }

        /// Whether the task is single-stepped (Linux: `TIF_SINGLESTEP`).
        pub fn single_step(&self) -> bool {
            self.single_step.load(Ordering::Acquire)
        }

        /// Sets or clears the single-step flag; returns the old value.
        pub fn set_single_step(&self, on: bool) -> bool {
            self.single_step.swap(on, Ordering::AcqRel)
        }

        /// The MDSCR_EL1 bits the task needs while it runs at EL0: SS while stepped, MDE
        /// while it has an enabled breakpoint or watchpoint; 0 for an untraced task.
        #[inline(always)]
        pub fn mdscr_bits(&self) -> u64 {
            let mut bits = 0;
            if self.single_step.load(Ordering::Relaxed) {
                bits |= DBG_MDSCR_SS;
            }
            if self.hw_enabled.load(Ordering::Relaxed) {
                bits |= DBG_MDSCR_MDE;
            }
            bits
        }

        /// The `NT_ARM_HW_BREAK`/`NT_ARM_HW_WATCH` regset read (see
        /// [`HwDebugState::regset_get`]).
        pub fn regset_get(&self, watch: bool, out: &mut [u8]) -> Result<usize, HwDebugError> {
            let hw = self.hw.lock();
            let empty = HwDebugState::new();
            hw.as_deref()
                .unwrap_or(&empty)
                .regset_get(&hw_debug_info(), watch, out)
        }

        /// The regset write (see [`HwDebugState::regset_set`]); applies at the task's next
        /// return to EL0.
        pub fn regset_set(&self, watch: bool, data: &[u8]) -> Result<usize, HwDebugError> {
            let mut fresh = None;
            loop {
                let mut hw = self.hw.lock();
                if hw.is_none() {
                    *hw = fresh.take();
                }
                if let Some(state) = hw.as_deref_mut() {
                    let n = state.regset_set(
                        &hw_debug_info(),
                        watch,
                        data,
                        crate::pgtable::TASK_SIZE,
                    )?;
                    self.hw_enabled
                        .store(state.any_enabled(), Ordering::Release);
                    return Ok(n);
                }
                drop(hw);
                // The task's first slots, allocated outside the lock (which masks IRQs).
                fresh =
                    Some(Box::try_new(HwDebugState::new()).map_err(|_| HwDebugError::NoMemory)?);
            }
        }

        /// Drops every slot (Linux: `flush_ptrace_hw_breakpoint`, at exec and detach).
        pub fn flush_hw(&self) {
            let old = {
                let mut hw = self.hw.lock();
                self.hw_enabled.store(false, Ordering::Release);
                hw.take()
            };
            // Freed outside the lock.
            drop(old);
        }

        /// Writes the task's slots into this CPU's debug registers, every slot the CPU has,
        /// disabled ones as zero (Linux: `hw_breakpoint_thread_switch`, done here at each
        /// return to EL0 of a task with slots: the registers of a CPU may hold another task's).
        pub fn install_hw(&self) {
            let info = hw_debug_info();
            let hw = self.hw.lock();
            let Some(hw) = hw.as_deref() else { return };
            let write = |watch: bool, slots: &[HwSlot], n: usize| {
                for (i, slot) in slots.iter().take(n).enumerate() {
                    let (addr, ctrl) = if slot.enabled() {
                        (slot.reg_addr(watch), u64::from(slot.ctrl))
                    } else {
                        (0, 0)
                    };
                    if watch {
                        write_dbg_reg!("dbgwvr", i, addr);
                        write_dbg_reg!("dbgwcr", i, ctrl);
                    } else {
                        write_dbg_reg!("dbgbvr", i, addr);
                        write_dbg_reg!("dbgbcr", i, ctrl);
                    }
                }
            };
            write(false, &hw.bps, info.brps);
            write(true, &hw.wps, info.wrps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK_SIZE: u64 = 1 << 39;
    const INFO: HwDebugInfo = HwDebugInfo {
        brps: 6,
        wrps: 4,
        debug_arch: 6,
    };

    /// A control word as gdb writes it: enabled, EL0, `type_`, `bas`.
    fn ctrl(type_: u32, bas: u32) -> u32 {
        encode_ctrl_reg(ArchHwBreakpointCtrl {
            len: bas,
            type_,
            privilege: AARCH64_BREAKPOINT_EL0,
            enabled: true,
        })
    }

    fn image(slots: &[(u64, u32)]) -> Vec<u8> {
        let mut out = vec![0u8; DBG_REGS_OFFSET];
        for &(addr, ctrl) in slots {
            out.extend_from_slice(&addr.to_le_bytes());
            out.extend_from_slice(&ctrl.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
        out
    }

    #[test]
    fn ctrl_round_trips() {
        let c = ArchHwBreakpointCtrl {
            len: 0xf0,
            type_: ARM_BREAKPOINT_STORE,
            privilege: AARCH64_BREAKPOINT_EL0,
            enabled: true,
        };
        assert_eq!(encode_ctrl_reg(c), (0xf0 << 5) | (2 << 3) | (2 << 1) | 1);
        assert_eq!(decode_ctrl_reg(encode_ctrl_reg(c)), c);
        // Bits above BAS (the watchpoint MASK field) are not ours: ignored.
        assert_eq!(decode_ctrl_reg(encode_ctrl_reg(c) | 0x1f00_0000), c);
    }

    #[test]
    fn layout_matches_linux() {
        assert_eq!(USER_HWDEBUG_STATE_SIZE, 264);
        assert_eq!(INFO.dbg_info(false), 0x606);
        assert_eq!(INFO.dbg_info(true), 0x604);
    }

    #[test]
    fn breakpoint_slots() {
        // gdb's breakpoint: BAS 0xf, EL0, execute.
        let slot = validate_slot(false, 0x40_1000, ctrl(0, 0xf), TASK_SIZE).unwrap();
        assert_eq!(slot.addr, 0x40_1000);
        assert_eq!(slot.reg_addr(false), 0x40_1000);
        assert_eq!(decode_ctrl_reg(slot.ctrl).len, 0xf);
        // Other lengths are fixed up to four bytes, as Linux does; the privilege is forced.
        let slot = validate_slot(false, 0x40_1000, ctrl(0, 0xff) & !(3 << 1), TASK_SIZE).unwrap();
        assert_eq!(decode_ctrl_reg(slot.ctrl).len, 0xf);
        assert_eq!(decode_ctrl_reg(slot.ctrl).privilege, AARCH64_BREAKPOINT_EL0);
        // A load/store type, an empty or holey BAS, an unaligned or kernel address: EINVAL.
        for (addr, c) in [
            (0x40_1000, ctrl(ARM_BREAKPOINT_LOAD, 0xf)),
            (0x40_1000, ctrl(0, 0)),
            (0x40_1000, ctrl(0, 0x5)),
            (0x40_1002, ctrl(0, 0xf)),
            (0xffff_0000_0000_1000, ctrl(0, 0xf)),
            (TASK_SIZE, ctrl(0, 0xf)),
        ] {
            assert_eq!(
                validate_slot(false, addr, c, TASK_SIZE),
                Err(HwDebugError::Invalid),
                "{addr:#x} {c:#x}"
            );
        }
    }

    #[test]
    fn watchpoint_slots() {
        // Four bytes at 0x1004 as gdb writes them: the doubleword's address, BAS 0xf0.
        let slot =
            validate_slot(true, 0x1000, ctrl(ARM_BREAKPOINT_STORE, 0xf0), TASK_SIZE).unwrap();
        assert_eq!(slot.addr, 0x1004);
        assert_eq!(slot.reg_addr(true), 0x1000);
        assert_eq!(decode_ctrl_reg(slot.ctrl).len, 0xf0);
        // The same, as the unaligned address with BAS 0xf.
        let same = validate_slot(true, 0x1004, ctrl(ARM_BREAKPOINT_STORE, 0xf), TASK_SIZE).unwrap();
        assert_eq!(same, slot);
        // Eight bytes, read or write.
        let rw = ARM_BREAKPOINT_LOAD | ARM_BREAKPOINT_STORE;
        let slot = validate_slot(true, 0x2000, ctrl(rw, 0xff), TASK_SIZE).unwrap();
        assert_eq!((slot.addr, decode_ctrl_reg(slot.ctrl).type_), (0x2000, rw));
        for (addr, c) in [
            // An execute type.
            (0x2000, ctrl(ARM_BREAKPOINT_EXECUTE, 0xff)),
            // Holes in BAS.
            (0x2000, ctrl(rw, 0x81)),
            // Four bytes from 0x2006 cross the doubleword.
            (0x2006, ctrl(rw, 0xf)),
            // The last byte of user space is fine, one past it is not.
            (TASK_SIZE - 1, ctrl(rw, 0x3)),
            (u64::MAX, ctrl(rw, 0x80)),
        ] {
            assert_eq!(
                validate_slot(true, addr, c, TASK_SIZE),
                Err(HwDebugError::Invalid),
                "{addr:#x} {c:#x}"
            );
        }
        assert!(validate_slot(true, TASK_SIZE - 1, ctrl(rw, 0x1), TASK_SIZE).is_ok());
    }

    #[test]
    fn disabled_slots_keep_their_address() {
        let slot = validate_slot(true, 0x1234, ctrl(1, 0x3) & !1, TASK_SIZE).unwrap();
        assert_eq!(
            slot,
            HwSlot {
                addr: 0x1234,
                ctrl: 0
            }
        );
        assert!(!slot.enabled());
        // Even disabled, a kernel address is refused.
        assert_eq!(
            validate_slot(true, TASK_SIZE, 0, TASK_SIZE),
            Err(HwDebugError::Invalid)
        );
    }

    #[test]
    fn regset_get_encodes_the_state() {
        let mut state = HwDebugState::new();
        state.wps[1] = HwSlot {
            addr: 0x1004,
            ctrl: ctrl(2, 0xf0),
        };
        let mut out = [0xaau8; USER_HWDEBUG_STATE_SIZE + 8];
        assert_eq!(
            state.regset_get(&INFO, true, &mut out),
            Ok(USER_HWDEBUG_STATE_SIZE)
        );
        assert_eq!(&out[..8], &[4, 6, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&out[24..32], &0x1004u64.to_le_bytes());
        assert_eq!(&out[32..36], &ctrl(2, 0xf0).to_le_bytes());
        assert_eq!(&out[36..40], &[0; 4]);
        assert!(out[40..USER_HWDEBUG_STATE_SIZE].iter().all(|&b| b == 0));
        assert_eq!(out[USER_HWDEBUG_STATE_SIZE], 0xaa);
        // The breakpoint regset is another array, and a short buffer gets a prefix.
        let mut short = [0u8; 8];
        assert_eq!(state.regset_get(&INFO, false, &mut short), Ok(8));
        assert_eq!(&short, &[6, 6, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            state.regset_get(&INFO, false, &mut [0u8; 6]),
            Err(HwDebugError::Invalid)
        );
    }

    #[test]
    fn regset_set_validates_before_changing() {
        let mut state = HwDebugState::new();
        let data = image(&[(0x40_1000, ctrl(0, 0xf)), (0x40_2000, ctrl(0, 0xf))]);
        assert_eq!(
            state.regset_set(&INFO, false, &data, TASK_SIZE),
            Ok(data.len())
        );
        assert_eq!(state.bps[1].addr, 0x40_2000);
        assert!(state.any_enabled());
        assert!(state.wps.iter().all(|s| *s == HwSlot::default()));
        // A bad second slot leaves the first one alone too.
        let before = state.clone();
        let bad = image(&[(0x50_0000, ctrl(0, 0xf)), (0x50_0002, ctrl(0, 0xf))]);
        assert_eq!(
            state.regset_set(&INFO, false, &bad, TASK_SIZE),
            Err(HwDebugError::Invalid)
        );
        assert_eq!(state, before);
        // Zeroed slots disable.
        let off = image(&[(0, 0), (0, 0)]);
        assert_eq!(
            state.regset_set(&INFO, false, &off, TASK_SIZE),
            Ok(off.len())
        );
        assert!(!state.any_enabled());
    }

    #[test]
    fn regset_set_sizes() {
        let mut state = HwDebugState::new();
        // The header alone changes nothing.
        assert_eq!(state.regset_set(&INFO, true, &[0; 8], TASK_SIZE), Ok(8));
        // Not a multiple of four, or a cut address: EINVAL.
        assert_eq!(
            state.regset_set(&INFO, true, &[0; 10], TASK_SIZE),
            Err(HwDebugError::Invalid)
        );
        assert_eq!(
            state.regset_set(&INFO, true, &[0; 12], TASK_SIZE),
            Err(HwDebugError::Invalid)
        );
        // An address without its control word keeps the slot's control.
        let data = image(&[(0x1004, ctrl(2, 0xf))]);
        state.regset_set(&INFO, true, &data, TASK_SIZE).unwrap();
        let addr_only = &image(&[(0x2000, 0)])[..16];
        assert_eq!(state.regset_set(&INFO, true, addr_only, TASK_SIZE), Ok(16));
        assert_eq!(state.wps[0].addr, 0x2000);
        assert_eq!(decode_ctrl_reg(state.wps[0].ctrl).len, 0xf);
        // All sixteen slots: more than the CPU's four is ENOSPC.
        let full = image(&[(0, 0); 16]);
        assert_eq!(full.len(), USER_HWDEBUG_STATE_SIZE);
        assert_eq!(
            state.regset_set(&INFO, true, &full, TASK_SIZE),
            Err(HwDebugError::NoSpace)
        );
        // Exactly the CPU's slots (gdb's write): fine; longer than the struct is cut.
        let four = image(&[(0, 0); 4]);
        assert_eq!(
            state.regset_set(&INFO, true, &four, TASK_SIZE),
            Ok(four.len())
        );
        let mut long = image(&[(0, 0); 4]);
        long.resize(USER_HWDEBUG_STATE_SIZE + 64, 0);
        assert_eq!(
            state.regset_set(&INFO, true, &long, TASK_SIZE),
            Err(HwDebugError::NoSpace)
        );
    }
}
