//! Physical memory for user space: the page-frame allocator ([`page_alloc`]). The kernel's own
//! objects come from the heap ([`crate::heap`]); user pages and their page tables come from
//! here, so a process can never exhaust the heap the tracers allocate from.

pub mod page_alloc;
