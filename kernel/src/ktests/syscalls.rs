//! Syscall events on the real kernel: every implemented syscall has its metadata (so its
//! `syscalls:` events) and nothing else does; disabled, the syscall path's two `raw_syscalls`
//! tracepoint sites are single NOPs (the whole disabled cost); enabling one per-syscall event
//! (`syscalls:sys_enter_getppid`) turns the `sys_enter` sites into branches and leaves the
//! `sys_exit` ones alone, and disabling it restores the NOPs (Linux's shared probe with a
//! reference count).

use arch::insn::nop;
use arch::patching::read_insn;

use crate::jump_label::static_key_sites;
use crate::trace::events::syscalls::{
    __TRACEPOINT_KEY_SYS_ENTER, __TRACEPOINT_KEY_SYS_EXIT, syscall_events,
};
use crate::trace::events::{EVENT_MUTEX, event_enable_disable};
use crate::{kassert, ktest};

/// Whether `key` has sites and every one reads as `nop`.
fn all_nops(key: &crate::jump_label::StaticKeyFalse) -> bool {
    let sites = static_key_sites(&key.key);
    !sites.is_empty() && sites.iter().all(|s| read_insn(s.code) == Ok(nop()))
}

fn sites_are_branches(key: &crate::jump_label::StaticKeyFalse) -> bool {
    let sites = static_key_sites(&key.key);
    !sites.is_empty() && sites.iter().all(|s| read_insn(s.code) != Ok(nop()))
}

ktest! {
fn syscall_event_sites_are_nops_until_an_event_is_enabled() -> TestResult {
    kassert!(all_nops(&__TRACEPOINT_KEY_SYS_ENTER), "a sys_enter site is not a nop");
    kassert!(all_nops(&__TRACEPOINT_KEY_SYS_EXIT), "a sys_exit site is not a nop");
    let call = syscall_events()
        .find(|c| c.name == "sys_enter_getppid")
        .ok_or("no syscalls:sys_enter_getppid")?;
    {
        let _guard = EVENT_MUTEX.lock();
        event_enable_disable(call, true, false).map_err(|e| alloc::format!("{e}"))?;
    }
    let enabled = sites_are_branches(&__TRACEPOINT_KEY_SYS_ENTER)
        && all_nops(&__TRACEPOINT_KEY_SYS_EXIT);
    {
        let _guard = EVENT_MUTEX.lock();
        event_enable_disable(call, false, false).map_err(|e| alloc::format!("{e}"))?;
    }
    kassert!(enabled, "enabling sys_enter_getppid did not patch exactly the sys_enter sites");
    kassert!(all_nops(&__TRACEPOINT_KEY_SYS_ENTER), "sys_enter sites stayed patched");
    Ok(())
}
}

ktest! {
fn every_implemented_syscall_has_events_and_only_those() -> TestResult {
    for nr in 0..crate::syscall::NR_SYSCALLS {
        let meta = crate::trace::trace_syscalls::syscall_nr_to_meta(nr as i64);
        kassert!(
            crate::syscall::implemented(nr) == meta.is_some(),
            "syscall {nr}: in the table {}, in trace_syscalls::SYSCALLS {}",
            crate::syscall::implemented(nr),
            meta.is_some()
        );
        if let Some(meta) = meta {
            let enter = alloc::format!("sys_enter_{}", meta.short_name());
            kassert!(syscall_events().any(|c| c.name == enter), "no syscalls:{enter}");
        }
    }
    kassert!(!crate::syscall::implemented(crate::syscall::NR_SYSCALLS));
    Ok(())
}
}
