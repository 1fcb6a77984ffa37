//! The `#[memory_budget(N)]` attribute of the `fba` crate.
