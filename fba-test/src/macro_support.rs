//! What `#[memory_budget]` expands to calls: the glue between the attribute
//! and the runtime, not a public API (the facade re-exports it as
//! `fba::__private`), and free to change with the macro.

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

pub use inventory;

pub use crate::block_on::block_on;
pub use crate::budget_test::{BudgetLiteral, BudgetTest, RegisteredTest, Run};
use crate::global;
pub use crate::injection::FailurePolicy;
use crate::outcome::{Outcome, Returned};
use crate::run;

/// A test's result as the harness takes it.
pub fn conclude<R: Outcome>(returned: R) -> Result<(), String> {
    returned.failure().map_or(Ok(()), Err)
}

/// Runs a budget test whose body takes a `&FixedBufferAllocator`.
///
/// The body comes as a `dyn FnMut`, and these three are generic only over
/// what it returns (`()` in most tests): a crate of budget tests compiles
/// them once per return type, not once per test, and the runtime behind
/// them ([`Returned`] erases the type) once, in this crate.
#[track_caller]
pub fn run_fixed<R: Outcome + 'static>(
    test: &BudgetTest,
    body: &mut dyn FnMut(&FixedBufferAllocator<'_>) -> R,
) -> R {
    run::fixed(test, &mut |alloc| Returned::new(body(alloc))).into_inner()
}

/// Runs a budget test whose body takes a `&ThreadSafeFixedBufferAllocator`.
#[track_caller]
pub fn run_thread_safe<R: Outcome + 'static>(
    test: &BudgetTest,
    body: &mut dyn FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> R {
    run::thread_safe(test, &mut |alloc| Returned::new(body(alloc))).into_inner()
}

/// Runs a budget test without an allocator parameter: global-allocator mode.
#[track_caller]
pub fn run_global<R: Outcome + 'static>(test: &BudgetTest, body: &mut dyn FnMut() -> R) -> R {
    run::global(test, &mut || {
        let returned = body();
        // Boxed outside the budget: the runtime's allocation, not the body's.
        global::suspended(|| Returned::new(returned))
    })
    .into_inner()
}

/// The body of a case that `#[rstest]` or `#[test_case]` made of an
/// explicit-mode budget test: the case builds it (its arguments), the trial
/// runs it with the allocator. Pins the closure's signature to one that
/// takes an allocator of any lifetime.
pub fn fixed_case<R, F: FnOnce(&FixedBufferAllocator<'_>) -> R>(body: F) -> F {
    body
}

/// A body as a function pointer, which `&mut` makes a `dyn FnMut` for
/// [`run_fixed`]: one vtable per return type for all the tests of a crate,
/// instead of call shims compiled for each test's own function type.
pub fn fixed_fn<R>(body: fn(&FixedBufferAllocator<'_>) -> R) -> fn(&FixedBufferAllocator<'_>) -> R {
    body
}

/// [`fixed_fn`] for the thread-safe allocator.
pub fn thread_safe_fn<R>(
    body: fn(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> fn(&ThreadSafeFixedBufferAllocator<'_>) -> R {
    body
}

/// [`fixed_fn`] for global-allocator mode.
pub fn global_fn<R>(body: fn() -> R) -> fn() -> R {
    body
}

/// [`fixed_case`] for the thread-safe allocator.
pub fn thread_safe_case<R, F: FnOnce(&ThreadSafeFixedBufferAllocator<'_>) -> R>(body: F) -> F {
    body
}
