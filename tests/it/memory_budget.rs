//! Every accepted form of `#[memory_budget]`, as plain tests: each compiles,
//! runs its body on the allocator the parameter names, and passes.

use fba::allocator_api2::boxed::Box;
use fba::allocator_api2::vec::Vec;
use fba::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator, memory_budget};

const KIB: usize = 1024;
const BUDGET: usize = 512;

/// Allocates 100 bytes and checks the buffer is the budget or less.
fn hundred_bytes(alloc: &FixedBufferAllocator<'_>, budget: usize) {
    assert!(
        alloc.capacity() <= budget,
        "a trial got {} bytes, more than the budget",
        alloc.capacity()
    );
    let bytes = alloc.alloc_slice_copy(&[7u8; 100]).unwrap();
    assert_eq!(bytes.iter().map(|b| *b as usize).sum::<usize>(), 700);
}

#[memory_budget(4096)]
fn integer_literal(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4_096)]
fn literal_with_separators(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096usize)]
fn literal_with_usize_suffix(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4 * KIB)]
fn constant_expression(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4 * KIB);
}

#[memory_budget(BUDGET)]
fn named_constant(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, BUDGET);
}

#[memory_budget(4096, search = false)]
fn search_off_runs_once_at_the_budget(alloc: &FixedBufferAllocator) {
    assert_eq!(
        alloc.capacity(),
        4096,
        "without the search, the only trial is at the budget"
    );
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096, search = true)]
fn search_on(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096, crate = ::fba)]
fn crate_path(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096, crate = "fba")]
fn crate_path_as_string(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096)]
fn trailing_comma(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096)]
fn any_binding_name(arena: &FixedBufferAllocator) {
    hundred_bytes(arena, 4096);
}

#[memory_budget(4096)]
fn anonymous_lifetime(alloc: &FixedBufferAllocator<'_>) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096)]
fn path_to_the_type(alloc: &fba::FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096)]
fn anonymous_reference_lifetime(alloc: &'_ FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096)]
fn returns_ok(alloc: &FixedBufferAllocator) -> Result<(), String> {
    let mut numbers = Vec::new_in(alloc);
    numbers.try_reserve(10).map_err(|error| error.to_string())?;
    numbers.extend(0..10u64);
    assert_eq!(numbers.iter().sum::<u64>(), 45);
    Ok(())
}

#[memory_budget(4096)]
fn returns_io_result(alloc: &FixedBufferAllocator) -> std::io::Result<()> {
    hundred_bytes(alloc, 4096);
    Ok(())
}

#[memory_budget(4096)]
fn thread_safe_allocator_shared_by_scoped_threads(alloc: &ThreadSafeFixedBufferAllocator) {
    // Each thread's block comes back to this thread, so all four are alive
    // at once however the threads interleave: 4 x 64 bytes every time.
    let blocks: std::vec::Vec<_> = std::thread::scope(|s| {
        let workers: std::vec::Vec<_> = (0..4u64)
            .map(|id| s.spawn(move || Box::new_in([id; 8], alloc)))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    assert_eq!(
        blocks
            .iter()
            .map(|block| block.iter().sum::<u64>())
            .sum::<u64>(),
        8 * (1 + 2 + 3)
    );
}

/// Lint attributes reach the body: without the `allow`, `unused_mut` would
/// warn, and the gate's `clippy --all-targets -D warnings` would fail.
#[memory_budget(4096)]
#[allow(clippy::unnecessary_operation, unused_mut)]
fn other_attributes_are_kept(alloc: &FixedBufferAllocator) {
    let mut unused = 1;
    hundred_bytes(alloc, 4096 + unused - 1);
}

#[memory_budget(64)]
#[ignore = "kept out of the run: its body would fail"]
fn ignore_is_kept(_alloc: &FixedBufferAllocator) {
    panic!("an ignored test ran");
}

#[memory_budget(64)]
#[cfg_attr(all(), ignore = "cfg_attr is applied")]
fn cfg_attr_is_kept(_alloc: &FixedBufferAllocator) {
    panic!("the cfg_attr(ignore) was lost");
}

/// A `#[test]` below the attribute (written by hand, or put there by another
/// macro) is absorbed: the function is one test, not two.
#[memory_budget(4096)]
#[test]
fn a_test_attribute_below_is_absorbed(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
}

/// An `async fn` without a runtime attribute runs on fba's own executor,
/// its future borrowing the allocator.
#[memory_budget(4096)]
async fn async_fn_on_fbas_executor(alloc: &FixedBufferAllocator) {
    let ready = async { 100 }.await;
    hundred_bytes(alloc, 4096 + ready - 100);
}

/// `runs = K` measures K trials at the budget: every trial gets a buffer of
/// the budget's size.
#[memory_budget(4096, runs = 3)]
fn runs_are_trials_at_the_budget(alloc: &FixedBufferAllocator) {
    assert_eq!(alloc.capacity(), 4096);
    hundred_bytes(alloc, 4096);
}

const COUNT: usize = 2;

#[memory_budget(4096, allocations = COUNT)]
fn count_budget_of_a_constant(alloc: &FixedBufferAllocator) {
    hundred_bytes(alloc, 4096);
    hundred_bytes(alloc, 4096);
}

#[memory_budget(4096, allocations = 0)]
fn a_count_budget_of_zero_for_a_body_that_does_not_allocate(alloc: &FixedBufferAllocator) {
    assert_eq!(alloc.used(), 0);
}

#[memory_budget(4096, fail_each_allocation = true)]
fn failure_injection_on_the_thread_safe_allocator(
    alloc: &ThreadSafeFixedBufferAllocator,
) -> Result<(), fba::AllocError> {
    let name = alloc.alloc_str("worker")?;
    let id = Box::try_new_in(7u64, alloc)?;
    assert_eq!((name.len(), *id), (6, 7));
    Ok(())
}

#[memory_budget(4096, fail_each_allocation = false)]
fn failure_injection_turned_off(alloc: &FixedBufferAllocator) {
    // Unwrapping is fine when nothing is failed on purpose.
    alloc.alloc_str("kept").unwrap();
}

/// `fba::Budget`, the attribute's options without the macro: exact counts
/// and the runs of failure injection, in this process.
#[test]
fn a_budget_without_the_macro_counts_and_injects() {
    use fba::{Budget, InjectedOutcome, Verdict};
    // Ten boxes in a row: each is a new block.
    let boxes = |alloc: &FixedBufferAllocator<'_>| -> Result<(), fba::AllocError> {
        for i in 0..10u64 {
            drop(Box::try_new_in(i, alloc)?);
        }
        Ok(())
    };
    let counted = Budget::bytes(4096).allocations(10).measure(boxes);
    assert_eq!(
        (
            counted.allocations,
            counted.allocation_limit,
            counted.verdict
        ),
        (Some(10), Some(10), Verdict::Passed)
    );
    let over = Budget::bytes(4096).allocations(9).measure(boxes);
    assert_eq!(over.verdict, Verdict::TooManyAllocations);

    let injected = Budget::bytes(4096).fail_each_allocation().measure(boxes);
    let injection = injected.injection.as_ref().unwrap();
    assert!(injected.passed(), "{:?}", injected.verdict);
    assert_eq!((injection.allocations, injection.runs), (10, 10));
    // 3 trials, then one run per allocation.
    assert_eq!(injected.trials, 3 + 10);

    // A body that goes on without a box it could not make: it swallows
    // every failure.
    let swallowing = |alloc: &FixedBufferAllocator<'_>| {
        for i in 0..10u64 {
            if let Ok(boxed) = Box::try_new_in(i, alloc) {
                drop(boxed);
            }
        }
    };
    let swallowed = Budget::bytes(4096)
        .fail_each_allocation()
        .measure(swallowing);
    let injection = swallowed.injection.as_ref().unwrap();
    assert_eq!(injection.failures.len(), 10);
    assert!(
        injection
            .failures
            .iter()
            .all(|failure| failure.outcome == InjectedOutcome::Swallowed
                && failure.layout.map(|layout| layout.size()) == Some(8))
    );
    let allowed = Budget::bytes(4096)
        .fail_each_allocation()
        .allow_swallowed()
        .measure(swallowing);
    assert!(allowed.passed());

    // Failing every allocation from each one on: the body gives up at the
    // first, so each run returns its `Err`.
    let persistent = Budget::bytes(4096).fail_from_allocation().measure(boxes);
    assert!(persistent.passed());
}
