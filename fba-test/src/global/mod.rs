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
mod capture;
mod child;
mod escapes;
mod measure;
mod observed;
mod region;
mod scope;

pub use allocator::GlobalBudget;
pub(crate) use child::act as act_as_child;
pub(crate) use measure::{Leaks, Plan, measure};
pub(crate) use observed::{BreakdownDef, observe_failing, pick};
pub use scope::BudgetScope;
pub(crate) use scope::suspended;

#[cfg(test)]
mod tests;
