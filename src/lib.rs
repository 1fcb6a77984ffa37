//! Memory budgets for Rust tests.
//!
//! `fba` is the one dependency a user needs: the fixed buffer allocators of
//! `fba-core`, the `#[memory_budget(N)]` attribute, the runtime behind it
//! ([`measure`] without a macro), and [`allocator_api2`], whose collections
//! run on the allocators.
//!
//! ```
//! use fba::{memory_budget, FixedBufferAllocator};
//! use fba::allocator_api2::vec::Vec;
//!
//! #[memory_budget(4096)]
//! fn parses_a_header(alloc: &FixedBufferAllocator) {
//!     let mut fields = Vec::new_in(alloc);
//!     fields.extend_from_slice(&[1u32, 2, 3]);
//!     assert_eq!(fields.len(), 3);
//! }
//! ```

pub use allocator_api2;
/// allocator-api2 0.4 (the `allocator-api2-04` feature): fba's allocators
/// implement its `Allocator` too, so its `Vec` and `Box` run on them.
#[cfg(feature = "allocator-api2-04")]
pub use allocator_api2_04;
pub use fba_core::{
    AllocError, Allocator, Breakdown, BudgetExceeded, Buffer, Exhaustion, FailAllocation,
    FixedBufferAllocator, Observer, Stats, ThreadSafeFixedBufferAllocator,
};
pub use fba_macros::memory_budget;
pub use fba_test::harness;
pub use fba_test::{
    AllocationSite, BUFFER_ALIGNMENT, Blocks, Budget, BudgetScope, DEFAULT_MAX_BYTES,
    DEFAULT_MAX_INJECTIONS, FailurePolicy, Frame, GlobalBudget, HeapProfile, InjectedFailure,
    InjectedOutcome, Injection, MeasuredState, Measurement, Outcome, Sites, Target, Verdict,
    assert_budget, assert_budget_global, block_on, measure, measure_global, measure_thread_safe,
};

/// What `#[memory_budget]` expands to uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use fba_test::macro_support::*;
}

// The README's examples run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
