//! Memory budgets for Rust tests.
//!
//! `fba` is the one dependency a user needs: the fixed buffer allocators of
//! [`fba_core`] and [`allocator_api2`], whose collections run on them.

pub use allocator_api2;
pub use fba_core::{
    AllocError, Allocator, BudgetExceeded, Buffer, Exhaustion, FixedBufferAllocator, Stats,
    ThreadSafeFixedBufferAllocator,
};

// The README's examples run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
