//! What `#[memory_budget]` expands to calls: the glue between the attribute
//! and the runtime, not a public API (the facade re-exports it as
//! `fba::__private`), and free to change with the macro.

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

pub use inventory;

pub use crate::block_on::block_on;
pub use crate::budget_test::{BudgetLiteral, BudgetTest, RegisteredTest};
pub use crate::injection::FailurePolicy;
use crate::outcome::Outcome;
use crate::{run, trial};

/// A test's result as the harness takes it.
pub fn conclude<R: Outcome>(returned: R) -> Result<(), String> {
    returned.failure().map_or(Ok(()), Err)
}

/// Runs a budget test whose body takes a `&FixedBufferAllocator`.
#[track_caller]
pub fn run_fixed<R: Outcome>(
    test: &BudgetTest,
    body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
) -> R {
    run::explicit(test, trial::fixed(body))
}

/// Runs a budget test whose body takes a `&ThreadSafeFixedBufferAllocator`.
#[track_caller]
pub fn run_thread_safe<R: Outcome>(
    test: &BudgetTest,
    body: impl FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> R {
    run::explicit(test, trial::thread_safe(body))
}

/// Runs a budget test without an allocator parameter: global-allocator mode.
#[track_caller]
pub fn run_global<R: Outcome>(test: &BudgetTest, body: impl FnMut() -> R) -> R {
    run::global(test, body)
}

/// The body of a case that `#[rstest]` or `#[test_case]` made of an
/// explicit-mode budget test: the case builds it (its arguments), the trial
/// runs it with the allocator. Pins the closure's signature to one that
/// takes an allocator of any lifetime.
pub fn fixed_case<R, F: FnOnce(&FixedBufferAllocator<'_>) -> R>(body: F) -> F {
    body
}

/// [`fixed_case`] for the thread-safe allocator.
pub fn thread_safe_case<R, F: FnOnce(&ThreadSafeFixedBufferAllocator<'_>) -> R>(body: F) -> F {
    body
}
