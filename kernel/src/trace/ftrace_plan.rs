//! Which ftrace sites an ops set wants, and the instructions that get the text there (Linux:
//! `ftrace_hash`, `__ftrace_hash_rec_update`, `ftrace_check_record`, `ftrace_find_unique_ops`
//! and arm64's `ftrace_rec_update_ops`). Pure: `ftrace_ops` feeds it the records, the registered
//! ops and their hashes, and turns the result into one patch batch.
//!
//! A site's state is Linux's `dyn_ftrace.flags` word (the number of ops that want it in the low
//! [`FTRACE_REF_MAX_SHIFT`] bits, `FTRACE_FL_*` above) and the value of its ops literal, the 8
//! bytes before the function. An enabled site is `mov x9, x30; bl ftrace_caller` (the `mov` is
//! written once at boot); its literal names the only ops that wants it (`FTRACE_FL_CALL_OPS`),
//! or else the list ops, whose callback walks every registered ops. A disabled site's literal
//! is left at the list ops (or at the boot NOPs if it was never enabled), never at an ops that
//! may be freed. Some generic instances are only 4-byte aligned, so a literal may be too:
//! SCTLR_EL1.A is clear, and literals are only written with every other CPU parked, so the
//! unaligned 64-bit load in `ftrace_caller` never sees half an update.

use alloc::vec::Vec;

use arch::insn::{AARCH64_INSN_SIZE, InsnError, bl, nop};

/// Linux's `FTRACE_OPS_FL_*` values.
pub const FTRACE_OPS_FL_ENABLED: u32 = 1 << 0;
pub const FTRACE_OPS_FL_SAVE_REGS: u32 = 1 << 2;
pub const FTRACE_OPS_FL_RECURSION: u32 = 1 << 4;
pub const FTRACE_OPS_FL_IPMODIFY: u32 = 1 << 12;
pub const FTRACE_OPS_FL_PERMANENT: u32 = 1 << 16;

/// Linux's `FTRACE_FL_*` record flags and the reference count below them.
pub const FTRACE_FL_ENABLED: u32 = 1 << 31;
pub const FTRACE_FL_REGS: u32 = 1 << 30;
pub const FTRACE_FL_IPMODIFY: u32 = 1 << 26;
pub const FTRACE_FL_CALL_OPS: u32 = 1 << 22;
pub const FTRACE_REF_MAX_SHIFT: u32 = 19;
pub const FTRACE_REF_MAX: u32 = (1 << FTRACE_REF_MAX_SHIFT) - 1;

/// The literal of a site that was never enabled: the compiler's two NOPs.
pub const LITERAL_NOPS: u64 = (nop() as u64) << 32 | nop() as u64;

/// A sorted set of record ips (Linux's `ftrace_hash`); empty means "no entries".
pub type FtraceHash = Vec<u64>;

/// Does the sorted `hash` hold `ip`? Hand-written so the tracing path calls no generic library
/// code, which would itself be traceable.
#[inline(always)]
pub fn hash_contains(hash: &[u64], ip: u64) -> bool {
    let (mut lo, mut hi) = (0, hash.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let probe = hash[mid];
        if probe == ip {
            return true;
        }
        if probe < ip {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    false
}

/// Linux's `ftrace_ops_test`: an empty filter means every function, and notrace wins.
#[inline(always)]
pub fn ops_wants(filter: &[u64], notrace: &[u64], ip: u64) -> bool {
    (filter.is_empty() || hash_contains(filter, ip)) && !hash_contains(notrace, ip)
}

/// One registered ops as the planner sees it.
#[derive(Clone, Copy, Debug)]
pub struct OpsView<'a> {
    /// The ops' address: what a site literal holds to call it directly.
    pub addr: u64,
    pub flags: u32,
    pub filter: &'a [u64],
    pub notrace: &'a [u64],
}

/// One site's state: `dyn_ftrace.flags` and its literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SiteState {
    pub flags: u32,
    pub literal: u64,
}

impl SiteState {
    /// A site as `ftrace_init` leaves it.
    pub const BOOT: SiteState = SiteState {
        flags: 0,
        literal: LITERAL_NOPS,
    };

    /// How many ops want the site.
    pub fn refs(&self) -> u32 {
        self.flags & FTRACE_REF_MAX
    }

    pub fn enabled(&self) -> bool {
        self.flags & FTRACE_FL_ENABLED != 0
    }
}

/// Why a plan cannot be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// Two IPMODIFY ops want the function at this record ip (Linux: -EBUSY).
    IpmodifyConflict { ip: u64 },
    /// More ops than the reference count holds.
    TooManyRefs { ip: u64 },
}

/// The state of the site at `ip`, given every registered ops, whether ftrace is enabled
/// (`ftrace_enabled`) and the previous literal.
fn plan_site(
    ip: u64,
    ops: &[OpsView<'_>],
    enabled: bool,
    list_addr: u64,
    old: SiteState,
) -> Result<SiteState, PlanError> {
    let (mut refs, mut flags, mut unique, mut ipmodify) = (0u32, 0u32, 0u64, 0u32);
    for op in ops.iter().filter(|op| ops_wants(op.filter, op.notrace, ip)) {
        refs += 1;
        unique = op.addr;
        if op.flags & FTRACE_OPS_FL_SAVE_REGS != 0 {
            flags |= FTRACE_FL_REGS;
        }
        if op.flags & FTRACE_OPS_FL_IPMODIFY != 0 {
            ipmodify += 1;
            flags |= FTRACE_FL_IPMODIFY;
        }
    }
    if ipmodify > 1 {
        return Err(PlanError::IpmodifyConflict { ip });
    }
    if refs > FTRACE_REF_MAX {
        return Err(PlanError::TooManyRefs { ip });
    }
    let literal = match refs {
        _ if !enabled || refs == 0 => {
            if old.literal == LITERAL_NOPS {
                LITERAL_NOPS
            } else {
                list_addr
            }
        }
        1 => {
            flags |= FTRACE_FL_CALL_OPS;
            unique
        }
        _ => list_addr,
    };
    if enabled && refs > 0 {
        flags |= FTRACE_FL_ENABLED;
    }
    Ok(SiteState {
        flags: flags | refs,
        literal,
    })
}

/// The new state of every site (`ips` in record order, `old` parallel to it).
pub fn plan(
    ips: &[u64],
    old: &[SiteState],
    ops: &[OpsView<'_>],
    enabled: bool,
    list_addr: u64,
) -> Result<Vec<SiteState>, PlanError> {
    ips.iter()
        .zip(old)
        .map(|(&ip, &old)| plan_site(ip, ops, enabled, list_addr, old))
        .collect()
}

/// One instruction word to change (an `arch::patching::TextPatch` without the arch types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsnChange {
    pub addr: u64,
    pub old: u32,
    pub new: u32,
}

/// The literal's address for the site whose `bl` is at `ip`: 8 bytes before the function.
pub fn literal_addr(ip: u64) -> u64 {
    ip - AARCH64_INSN_SIZE as u64 - 8
}

/// Appends the words that take the site at `ip` from `old` to `new`: the literal's halves
/// (little-endian) and the `bl ftrace_caller` / NOP at `ip`. Unchanged words are left out.
pub fn site_changes(
    ip: u64,
    old: SiteState,
    new: SiteState,
    caller: u64,
    out: &mut Vec<InsnChange>,
) -> Result<(), InsnError> {
    let lit = literal_addr(ip);
    for (half, addr) in [(0, lit), (32, lit + AARCH64_INSN_SIZE as u64)] {
        let (was, now) = ((old.literal >> half) as u32, (new.literal >> half) as u32);
        if was != now {
            out.push(InsnChange {
                addr,
                old: was,
                new: now,
            });
        }
    }
    if old.enabled() != new.enabled() {
        let call = bl(ip, caller)?;
        let (was, now) = if new.enabled() {
            (nop(), call)
        } else {
            (call, nop())
        };
        out.push(InsnChange {
            addr: ip,
            old: was,
            new: now,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: u64 = 0xffff_0000_0000_1000;
    const A: u64 = 0xffff_0000_0000_2000;
    const B: u64 = 0xffff_0000_0000_3000;
    const IPS: [u64; 4] = [0x1004, 0x2004, 0x3004, 0x4004];
    const CALLER: u64 = 0x8000;

    fn view(
        addr: u64,
        flags: u32,
        filter: &'static [u64],
        notrace: &'static [u64],
    ) -> OpsView<'static> {
        OpsView {
            addr,
            flags,
            filter,
            notrace,
        }
    }

    fn boot() -> Vec<SiteState> {
        alloc::vec![SiteState::BOOT; IPS.len()]
    }

    #[test]
    fn hash_lookup_finds_exactly_its_members() {
        let hash = [2, 4, 6, 8, 10];
        for ip in 0..12 {
            assert_eq!(
                hash_contains(&hash, ip),
                ip % 2 == 0 && (2..=10).contains(&ip)
            );
        }
        assert!(!hash_contains(&[], 0));
    }

    #[test]
    fn empty_filter_means_all_and_notrace_wins() {
        assert!(ops_wants(&[], &[], 5));
        assert!(!ops_wants(&[], &[5], 5));
        assert!(!ops_wants(&[5], &[5], 5));
        assert!(ops_wants(&[5], &[6], 5));
        assert!(!ops_wants(&[4], &[], 5));
    }

    #[test]
    fn one_ops_gets_a_direct_literal() {
        let ops = [view(A, 0, &[0x2004], &[])];
        let new = plan(&IPS, &boot(), &ops, true, LIST).unwrap();
        assert_eq!(new[0], SiteState::BOOT);
        assert_eq!(new[1].literal, A);
        assert_eq!(new[1].flags, FTRACE_FL_ENABLED | FTRACE_FL_CALL_OPS | 1);
        assert_eq!(new[1].refs(), 1);
    }

    #[test]
    fn two_ops_share_the_list_literal() {
        let ops = [
            view(A, FTRACE_OPS_FL_SAVE_REGS, &[0x2004, 0x3004], &[]),
            view(B, 0, &[0x3004], &[]),
        ];
        let new = plan(&IPS, &boot(), &ops, true, LIST).unwrap();
        assert_eq!(new[1].literal, A);
        assert_eq!(new[2].literal, LIST);
        assert_eq!(new[2].flags, FTRACE_FL_ENABLED | FTRACE_FL_REGS | 2);
    }

    #[test]
    fn disabling_leaves_the_list_literal_or_the_boot_nops() {
        let ops = [view(A, 0, &[0x2004], &[])];
        let on = plan(&IPS, &boot(), &ops, true, LIST).unwrap();
        let off = plan(&IPS, &on, &[], true, LIST).unwrap();
        assert_eq!(off[0], SiteState::BOOT);
        assert_eq!(
            off[1],
            SiteState {
                flags: 0,
                literal: LIST
            }
        );
    }

    #[test]
    fn ftrace_enabled_off_disables_every_site_but_keeps_counting() {
        let ops = [view(A, 0, &[], &[])];
        let on = plan(&IPS, &boot(), &ops, true, LIST).unwrap();
        let off = plan(&IPS, &on, &ops, false, LIST).unwrap();
        assert!(
            off.iter()
                .all(|s| !s.enabled() && s.refs() == 1 && s.literal == LIST)
        );
    }

    #[test]
    fn two_ipmodify_ops_on_one_function_conflict() {
        let ops = [
            view(A, FTRACE_OPS_FL_IPMODIFY, &[0x2004], &[]),
            view(B, FTRACE_OPS_FL_IPMODIFY, &[0x1004, 0x2004], &[]),
        ];
        assert_eq!(
            plan(&IPS, &boot(), &ops, true, LIST),
            Err(PlanError::IpmodifyConflict { ip: 0x2004 })
        );
        let apart = [ops[0], view(B, FTRACE_OPS_FL_IPMODIFY, &[0x1004], &[])];
        let new = plan(&IPS, &boot(), &apart, true, LIST).unwrap();
        assert!(new[0].flags & FTRACE_FL_IPMODIFY != 0 && new[1].flags & FTRACE_FL_IPMODIFY != 0);
    }

    #[test]
    fn enabling_writes_both_literal_halves_and_the_bl() {
        let ip = 0x2004;
        let new = SiteState {
            flags: FTRACE_FL_ENABLED | FTRACE_FL_CALL_OPS | 1,
            literal: A,
        };
        let mut out = Vec::new();
        site_changes(ip, SiteState::BOOT, new, CALLER, &mut out).unwrap();
        assert_eq!(
            out,
            [
                InsnChange {
                    addr: 0x1ff8,
                    old: nop(),
                    new: A as u32
                },
                InsnChange {
                    addr: 0x1ffc,
                    old: nop(),
                    new: (A >> 32) as u32
                },
                InsnChange {
                    addr: ip,
                    old: nop(),
                    new: bl(ip, CALLER).unwrap()
                },
            ]
        );
        let mut back = Vec::new();
        let off = SiteState {
            flags: 0,
            literal: LIST,
        };
        site_changes(ip, new, off, CALLER, &mut back).unwrap();
        // The high halves of A and LIST are equal: only the low half and the bl change.
        assert_eq!(
            back,
            [
                InsnChange {
                    addr: 0x1ff8,
                    old: A as u32,
                    new: LIST as u32
                },
                InsnChange {
                    addr: ip,
                    old: bl(ip, CALLER).unwrap(),
                    new: nop()
                },
            ]
        );
    }

    #[test]
    fn an_unchanged_site_needs_no_patch() {
        let mut out = Vec::new();
        let s = SiteState {
            flags: FTRACE_FL_ENABLED | 2,
            literal: LIST,
        };
        site_changes(0x2004, s, s, CALLER, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
