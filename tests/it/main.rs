//! Workspace-level tests of the `fba` facade: compile-fail UI tests and the
//! public API as a user's crate sees it.

mod downstream;
mod failures;
mod harness;
mod memory_budget;
mod nested;
mod real_code;
mod sites;
mod ui;
mod update;
