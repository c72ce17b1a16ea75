//! Static keys on the real text: each branch site is one `nop` or `b` as its key and polarity
//! say, counting users keeps a key on until the last leaves, two CPUs enabling at once both
//! return with the key on, and all the sites of a key change in one rendezvous.

use alloc::format;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use arch::insn::{b, nop};
use arch::jump_label::JumpSite;
use arch::patching::read_insn;
use arch::{static_branch_likely, static_branch_unlikely};

use crate::jump_label::{
    StaticKey, StaticKeyFalse, StaticKeyTrue, static_key_count, static_key_disable,
    static_key_enable, static_key_enabled, static_key_sites, static_key_slow_dec,
    static_key_slow_inc,
};
use crate::sched;
use crate::smp::num_online_cpus;
use crate::stop_machine::rendezvous_count;
use crate::{kassert, kassert_eq, ktest};

static OFF_KEY: StaticKeyFalse = StaticKeyFalse::new();
static ON_KEY: StaticKeyTrue = StaticKeyTrue::new();
static COUNTED_KEY: StaticKeyFalse = StaticKeyFalse::new();
static RACED_KEY: StaticKeyFalse = StaticKeyFalse::new();
static MANY_KEY: StaticKeyFalse = StaticKeyFalse::new();

#[inline(never)]
fn unlikely_off() -> bool {
    static_branch_unlikely!(OFF_KEY)
}

#[inline(never)]
fn likely_off() -> bool {
    static_branch_likely!(OFF_KEY)
}

#[inline(never)]
fn unlikely_on() -> bool {
    static_branch_unlikely!(ON_KEY)
}

#[inline(never)]
fn likely_on() -> bool {
    static_branch_likely!(ON_KEY)
}

#[inline(never)]
fn counted() -> bool {
    static_branch_unlikely!(COUNTED_KEY)
}

#[inline(never)]
fn raced() -> bool {
    static_branch_unlikely!(RACED_KEY)
}

// Three sites of one key, with different bodies so the compiler cannot merge them; one in
// `noinstr` text, where static branches are allowed.
#[inline(never)]
fn many_1() -> u32 {
    if static_branch_unlikely!(MANY_KEY) {
        11
    } else {
        1
    }
}

#[inline(never)]
fn many_2() -> u32 {
    if static_branch_unlikely!(MANY_KEY) {
        12
    } else {
        2
    }
}

arch::noinstr! {
#[inline(never)]
fn many_noinstr() -> u32 {
    if static_branch_unlikely!(MANY_KEY) { 13 } else { 3 }
}
}

/// Whether `site` holds the instruction for `enabled`: `b` to its label exactly when its key's
/// state differs from its polarity.
fn holds(site: &JumpSite, enabled: bool) -> bool {
    let expected = if enabled ^ site.likely {
        b(site.code, site.target).ok()
    } else {
        Some(nop())
    };
    read_insn(site.code).ok() == expected
}

/// The sites of `key`, checked to be `n` and all within `funcs` (each is where a site lives).
fn sites_in(key: &StaticKey, funcs: &[usize]) -> Result<Vec<JumpSite>, alloc::string::String> {
    let sites = static_key_sites(key);
    kassert_eq!(sites.len(), funcs.len());
    for site in &sites {
        kassert!(
            funcs
                .iter()
                .any(|&f| (f as u64..f as u64 + 64).contains(&site.code)),
            "site {:#x} is in none of the test functions",
            site.code
        );
    }
    Ok(sites)
}

ktest! {
fn a_site_is_a_nop_while_disabled_and_a_branch_while_enabled() -> TestResult {
    let sites = sites_in(&OFF_KEY, &[unlikely_off as *const () as usize, likely_off as *const () as usize])?;
    let unlikely = sites.iter().find(|s| !s.likely).ok_or("no unlikely site")?;
    let likely = sites.iter().find(|s| s.likely).ok_or("no likely site")?;
    kassert_eq!(read_insn(unlikely.code), Ok(nop()));
    kassert!(!unlikely_off() && !likely_off());
    static_key_enable(&OFF_KEY);
    kassert_eq!(read_insn(unlikely.code).ok(), b(unlikely.code, unlikely.target).ok());
    kassert_eq!(read_insn(likely.code), Ok(nop()));
    kassert!(unlikely_off() && likely_off());
    static_key_disable(&OFF_KEY);
    kassert!(holds(unlikely, false) && holds(likely, false));
    kassert_eq!(read_insn(unlikely.code), Ok(nop()));
    kassert!(!unlikely_off() && !likely_off());
    Ok(())
}
}

ktest! {
fn likely_and_unlikely_sites_have_opposite_polarity() -> TestResult {
    // A key that starts enabled: its likely site falls through, its unlikely site jumps.
    let sites = sites_in(&ON_KEY, &[unlikely_on as *const () as usize, likely_on as *const () as usize])?;
    kassert!(static_key_enabled(&ON_KEY));
    for site in &sites {
        kassert!(holds(site, true), "site {:#x} (likely {})", site.code, site.likely);
        let fall_through = read_insn(site.code) == Ok(nop());
        kassert_eq!(fall_through, site.likely);
    }
    kassert!(unlikely_on() && likely_on());
    static_key_disable(&ON_KEY);
    kassert!(sites.iter().all(|s| holds(s, false)));
    kassert!(!unlikely_on() && !likely_on());
    static_key_enable(&ON_KEY);
    kassert!(sites.iter().all(|s| holds(s, true)));
    kassert!(unlikely_on() && likely_on());
    Ok(())
}
}

ktest! {
fn nested_increments_keep_the_key_on_until_the_last_decrement() -> TestResult {
    let [site] = sites_in(&COUNTED_KEY, &[counted as *const () as usize])?[..] else {
        return Err("one site expected".into());
    };
    kassert!(static_key_slow_inc(&COUNTED_KEY));
    kassert!(static_key_slow_inc(&COUNTED_KEY));
    kassert_eq!(static_key_count(&COUNTED_KEY), 2);
    kassert!(counted() && holds(&site, true));
    static_key_slow_dec(&COUNTED_KEY);
    kassert_eq!(static_key_count(&COUNTED_KEY), 1);
    kassert!(counted() && holds(&site, true));
    static_key_slow_dec(&COUNTED_KEY);
    kassert_eq!(static_key_count(&COUNTED_KEY), 0);
    kassert!(!counted() && holds(&site, false));
    // One decrement too many is refused, not counted below zero.
    static_key_slow_dec(&COUNTED_KEY);
    kassert_eq!(static_key_count(&COUNTED_KEY), 0);
    kassert!(!counted());
    Ok(())
}
}

/// Rounds of the two-CPU race.
const RACE_ROUNDS: u32 = 50;
static RACE_READY: AtomicUsize = AtomicUsize::new(0);
/// Increments that returned before the key read as on, over all rounds and CPUs.
static RACE_EARLY: AtomicU32 = AtomicU32::new(0);

/// One racer: waits for the other, increments, and checks the key is on at once.
fn race_once(round: usize) {
    RACE_READY.fetch_add(1, Ordering::AcqRel);
    while RACE_READY.load(Ordering::Acquire) < 2 * round {
        core::hint::spin_loop();
    }
    let counted = static_key_slow_inc(&RACED_KEY);
    if !counted || !raced() || !static_key_enabled(&RACED_KEY) {
        RACE_EARLY.fetch_add(1, Ordering::Relaxed);
    }
}

ktest! {
fn two_cpus_enabling_at_once_both_return_with_the_key_on() -> TestResult {
    kassert!(num_online_cpus() >= 3, "needs 3 CPUs, {} online", num_online_cpus());
    let [site] = sites_in(&RACED_KEY, &[raced as *const () as usize])?[..] else {
        return Err("one site expected".into());
    };
    RACE_READY.store(0, Ordering::Relaxed);
    RACE_EARLY.store(0, Ordering::Relaxed);
    for round in 1..=RACE_ROUNDS as usize {
        let tasks = [1, 2].map(|cpu| {
            sched::spawn("jump_label_race", Some(cpu), false, move || race_once(round))
        });
        for task in tasks {
            let task = task.map_err(|e| format!("spawn: {e:?}"))?;
            sched::join(&task).map_err(|_| "join interrupted")?;
        }
        let count = static_key_count(&RACED_KEY);
        kassert!(count == 2, "round {round}: count {count}");
        kassert!(holds(&site, true), "round {round}");
        static_key_slow_dec(&RACED_KEY);
        static_key_slow_dec(&RACED_KEY);
        kassert!(holds(&site, false) && !raced(), "round {round}");
    }
    kassert_eq!(RACE_EARLY.load(Ordering::Relaxed), 0);
    Ok(())
}
}

ktest! {
fn all_sites_of_a_key_change_in_one_rendezvous() -> TestResult {
    let funcs = [many_1 as *const () as usize, many_2 as *const () as usize, many_noinstr as *const () as usize];
    let sites = sites_in(&MANY_KEY, &funcs)?;
    kassert!(
        sites.iter().any(|s| arch::patching::noinstr_text().contains(&s.code)),
        "no site in noinstr text"
    );
    kassert_eq!([many_1(), many_2(), many_noinstr()], [1, 2, 3]);
    let before = rendezvous_count();
    static_key_enable(&MANY_KEY);
    kassert_eq!(rendezvous_count() - before, 1);
    kassert!(sites.iter().all(|s| holds(s, true)));
    kassert_eq!([many_1(), many_2(), many_noinstr()], [11, 12, 13]);
    let before = rendezvous_count();
    static_key_disable(&MANY_KEY);
    kassert_eq!(rendezvous_count() - before, 1);
    kassert!(sites.iter().all(|s| holds(s, false)));
    kassert_eq!([many_1(), many_2(), many_noinstr()], [1, 2, 3]);
    Ok(())
}
}
