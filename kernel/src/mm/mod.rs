//! Memory beyond the heap: physical page frames ([`page_alloc`]) and the guarded kernel stacks
//! mapped from them ([`vmap_stack`]).

#[cfg(target_os = "none")]
pub mod page_alloc;
pub mod vmap_stack;
