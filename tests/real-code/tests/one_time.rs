//! One-time state: a `OnceLock` built in the body and a thread-local with a
//! destructor land in the warm-up, not in the minimum.

use fba::memory_budget;
use real_code::Table;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

/// The body both tests of a table measure: a copy of 100 of its bytes.
fn copy_100_bytes(table: &Table) {
    let copy = table.get()[..100].to_vec();
    assert_eq!(copy[99], 99);
}

// The table (256 bytes) is one-time state; the copy is the body's 100.
#[memory_budget(4096)]
fn a_once_lock_built_in_the_body() {
    static TABLE: Table = Table::new();
    copy_100_bytes(&TABLE);
}

// The same body measured on its first run in a fresh process: the table is
// in the minimum.
#[memory_budget(4096, cold = true)]
fn a_once_lock_built_in_the_body_measured_cold() {
    static TABLE: Table = Table::new();
    copy_100_bytes(&TABLE);
}

// The thread's scratch buffer of 16 `u32`s is one-time state; the line is
// the body's 10 bytes.
#[memory_budget(4096)]
fn a_thread_local_with_a_destructor() {
    assert_eq!(real_code::scratch_sum(16), 120);
    let line = vec![b'x'; 10];
    assert_eq!(line.len(), 10);
}
