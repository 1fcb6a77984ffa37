//! Global-allocator mode: budgets for code that allocates through the global
//! allocator (`Vec::new()`, `String`, `Box`), per test thread.
//!
//! [`GlobalBudget`] is installed as the `#[global_allocator]`. Outside a
//! budget it forwards every call to the allocator it wraps. Inside one, the
//! allocations of the threads in the budget come from a [`Region`]: a fixed
//! buffer (`fba-core`'s thread-safe allocator, so the semantics are the
//! fixed buffer allocator's) over a reservation far larger than the budget,
//! so nothing fails; the verdict compares the high-water mark with the budget
//! afterwards. Every block is freed by the allocator that gave it: frees are
//! routed by address, on any thread, during or after the budget.
//!
//! This module holds all of `fba-test`'s unsafe code.

#![allow(unsafe_code)]

mod allocator;
mod escapes;
mod measure;
mod region;
mod scope;
mod verify;

pub use allocator::GlobalBudget;
pub(crate) use measure::{Leaks, Plan, measure};
pub use scope::BudgetScope;
pub(crate) use scope::suspended;
pub(crate) use verify::{child_capacity, run_as_child};

#[cfg(test)]
mod tests;
