//! Code as crates have it, for budget tests to measure: it allocates
//! through the global allocator, and keeps state between calls.

use std::cell::RefCell;
use std::sync::OnceLock;

/// The fields of a comma-separated line.
pub fn fields(line: &str) -> Vec<&str> {
    line.split(',').collect()
}

/// A lookup table built on first use and kept for the process: 256 bytes.
#[derive(Debug)]
pub struct Table(OnceLock<Vec<u8>>);

impl Table {
    /// A table not built yet.
    pub const fn new() -> Table {
        Table(OnceLock::new())
    }

    /// The table, built on the first call.
    pub fn get(&self) -> &[u8] {
        self.0.get_or_init(|| (0..=255).collect())
    }
}

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

thread_local! {
    /// A per-thread scratch buffer, dropped when the thread ends.
    static SCRATCH: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Sums `0..n` in the thread's scratch buffer, which keeps its capacity
/// between calls.
pub fn scratch_sum(n: u32) -> u32 {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.clear();
        scratch.extend(0..n);
        scratch.iter().sum()
    })
}
