//! Global-allocator mode in a downstream crate: budget tests of code that
//! allocates through the global allocator (`String`, `Vec`, `Box`). Some
//! fail on purpose.

use fba::memory_budget;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

// `String::from("Hello")` allocates exactly 5 bytes; pushing 7 more grows it
// to max(2 x 5, 12) = 12 bytes, in place: it is the last block.
#[memory_budget(4096)]
fn global_formats_a_greeting() {
    let mut greeting = String::from("Hello");
    greeting.push_str(", world");
    assert_eq!(greeting, "Hello, world");
}

// 100 bytes of list: over a budget of 64.
#[memory_budget(64)]
fn global_builds_a_long_list() {
    let list: Vec<u8> = (0..100).collect();
    assert_eq!(list.len(), 100);
}

#[memory_budget(4096)]
fn global_leaks_a_box() {
    let leaked: &'static mut [u8; 32] = Box::leak(Box::new([0u8; 32]));
    leaked[0] = 1;
}

#[memory_budget(4096, leaks = "deny")]
fn global_leaks_a_box_and_denies_leaks() {
    let leaked: &'static mut [u8; 32] = Box::leak(Box::new([0u8; 32]));
    leaked[0] = 1;
}

// Proved by real failure: a child process passes with 100 bytes and aborts
// with 99, as a device with a 99-byte heap would.
#[memory_budget(4096, verify = true)]
fn global_verified_by_failure() {
    let bytes = vec![1u8; 100];
    assert_eq!(bytes.iter().map(|b| *b as usize).sum::<usize>(), 100);
}

#[memory_budget(4096)]
fn global_fails_its_own_assertion() {
    let greeting = String::from("Hello");
    assert_eq!(greeting, "Goodbye", "the greeting is wrong");
}

// A worker that gets the scope allocates into the same buffer.
#[memory_budget(8192)]
fn global_worker_with_the_scope() {
    let scope = fba::BudgetScope::current();
    let total = std::thread::scope(|s| s.spawn(|| scope.enter(|| vec![0u8; 2048].len())).join().unwrap());
    assert_eq!(total, 2048);
}
