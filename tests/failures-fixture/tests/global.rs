//! Failure injection in global mode: std's fallible `try_reserve` handles
//! a failed allocation, an infallible `push` aborts (in its child process).

use fba::memory_budget;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

#[memory_budget(4096, fail_each_allocation = true)]
fn try_reserve_handles_the_failure() -> Result<(), std::collections::TryReserveError> {
    let mut numbers: Vec<u32> = Vec::new();
    numbers.try_reserve_exact(10)?;
    numbers.extend(0..10);
    Ok(())
}

#[memory_budget(4096, fail_each_allocation = true)]
fn push_is_not_handled() {
    let mut numbers: Vec<u32> = Vec::new();
    numbers.push(7);
    assert_eq!(numbers.len(), 1);
}

#[memory_budget(4096, allocations = 4)]
fn two_vectors_growing_in_turn() {
    let (mut a, mut b): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for i in 0..10 {
        a.push(i);
        b.push(i);
    }
    assert_eq!((a.capacity(), b.capacity()), (16, 16));
}
