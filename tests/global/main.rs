//! Global-allocator mode, in a test binary whose global allocator is
//! `fba::GlobalBudget`: exact numbers for ordinary Rust code, budgets of
//! parallel tests kept apart, and blocks crossing a budget's boundary.

#![expect(clippy::useless_vec, reason = "the tests measure heap allocations")]

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

mod boundaries;
mod exact;
mod isolation;
mod parallel;
mod widths;
