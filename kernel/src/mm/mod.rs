//! Memory beyond the heap's objects: physical page frames ([`page_alloc`]: a pool for user
//! space, so a process can never exhaust the heap the tracers allocate from, and heap pages for
//! the kernel's own page-by-page mappings) and the guarded kernel stacks mapped from the latter
//! ([`vmap_stack`]), and the `PROT_NONE` reservations of user address spaces ([`reserved`]).

#[cfg(target_os = "none")]
pub mod page_alloc;
pub mod reserved;
pub mod vmap_stack;
