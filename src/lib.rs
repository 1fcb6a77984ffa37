//! Memory budgets for Rust tests.
//!
//! `fba` is the one dependency a user needs: the fixed buffer allocators of
//! [`fba_core`] and [`allocator_api2`], whose collections run on them.

pub use allocator_api2;
pub use fba_core::{
    AllocError, Allocator, BudgetExceeded, Exhaustion, FixedBufferAllocator, Stats,
    ThreadSafeFixedBufferAllocator,
};
