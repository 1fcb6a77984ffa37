//! Real clients of the `Allocator` trait (allocator-api2's `Vec` and `Box`,
//! hashbrown's `HashMap`) on both allocators, and the exhaustion policy seen
//! through their infallible APIs.

use std::panic::{AssertUnwindSafe, catch_unwind};

use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use fba_core::{BudgetExceeded, Exhaustion, FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

use crate::subject::{Aligned, Subject};

fn vec_grows_in_place_at_the_end_of_the_buffer<'b, S: Subject<'b>>(
    buffer: &'b mut [core::mem::MaybeUninit<u8>],
) {
    let subject = S::create(buffer);
    let mut numbers = Vec::new_in(subject.allocator());
    numbers.push(0u64);
    let first = numbers.as_ptr();
    for i in 1..1000u64 {
        numbers.push(i);
    }
    assert_eq!(numbers.as_ptr(), first, "{}: the vector moved", S::NAME);
    assert_eq!(numbers.iter().sum::<u64>(), 999 * 1000 / 2);
    // Growth by doubling ends at capacity 1024 (4, 8, ..., 1024), all in place.
    assert_eq!(subject.stats().used, 1024 * 8, "{}", S::NAME);
    assert_eq!(subject.stats().allocations, 1, "{}", S::NAME);
    drop(numbers);
    assert_eq!(subject.stats().used, 0, "{}", S::NAME);
}

#[test]
fn vec_grows_in_place_on_both_allocators() {
    vec_grows_in_place_at_the_end_of_the_buffer::<FixedBufferAllocator<'_>>(
        &mut Aligned::<8192>::new().0,
    );
    vec_grows_in_place_at_the_end_of_the_buffer::<ThreadSafeFixedBufferAllocator<'_>>(
        &mut Aligned::<8192>::new().0,
    );
}

fn boxes_free_in_reverse_order_rewind_to_the_padding<'b, S: Subject<'b>>(
    buffer: &'b mut [core::mem::MaybeUninit<u8>],
) {
    let subject = S::create(buffer);
    let a = Box::new_in(1u32, subject.allocator());
    let b = Box::new_in([2u64; 4], subject.allocator());
    assert_eq!((*a, b[3]), (1, 2));
    assert_eq!(subject.stats().used, 40, "{}: 4 + 4 padding + 32", S::NAME);
    drop(b);
    // Freeing `b` rewinds to its start; its padding stays used (as in Zig),
    // so `a` no longer ends at the end and its free reclaims nothing.
    drop(a);
    let stats = subject.stats();
    assert_eq!(
        (stats.used, stats.high_water_mark, stats.live_allocations),
        (8, 40, 0),
        "{}",
        S::NAME
    );
    assert_eq!(stats.live_bytes, 0, "{}", S::NAME);
}

#[test]
fn boxes_work_on_both_allocators() {
    boxes_free_in_reverse_order_rewind_to_the_padding::<FixedBufferAllocator<'_>>(
        &mut Aligned::<64>::new().0,
    );
    boxes_free_in_reverse_order_rewind_to_the_padding::<ThreadSafeFixedBufferAllocator<'_>>(
        &mut Aligned::<64>::new().0,
    );
}

fn hash_map_holds_its_entries<'b, S: Subject<'b>>(buffer: &'b mut [core::mem::MaybeUninit<u8>]) {
    let subject = S::create(buffer);
    let mut squares = hashbrown::HashMap::new_in(subject.allocator());
    for i in 0..200u32 {
        squares.insert(i, i * i);
    }
    assert_eq!(squares.len(), 200);
    assert_eq!(squares[&17], 289);
    let stats = subject.stats();
    assert_eq!(stats.live_allocations, 1, "{}: one table", S::NAME);
    assert!(stats.high_water_mark > 200 * 8, "{}: {stats:?}", S::NAME);
}

#[test]
fn hash_map_works_on_both_allocators() {
    hash_map_holds_its_entries::<FixedBufferAllocator<'_>>(&mut Aligned::<{ 64 * 1024 }>::new().0);
    hash_map_holds_its_entries::<ThreadSafeFixedBufferAllocator<'_>>(
        &mut Aligned::<{ 64 * 1024 }>::new().0,
    );
}

fn budget_exceeded<R>(body: impl FnOnce() -> R) -> BudgetExceeded {
    let payload = catch_unwind(AssertUnwindSafe(body))
        .err()
        .expect("the body did not panic");
    *payload
        .downcast::<BudgetExceeded>()
        .expect("the payload is not BudgetExceeded")
}

#[test]
fn infallible_apis_panic_with_budget_exceeded_under_the_panic_policy() {
    let mut memory = Aligned::<256>::new();
    let alloc = FixedBufferAllocator::new(&mut memory.0);
    alloc.set_exhaustion(Exhaustion::Panic);
    let mut bytes = Vec::new_in(&alloc);
    // `extend` with an exact size reserves all 256 bytes at once: they fit.
    bytes.extend(0..=255u8);
    // The 257th byte doubles the capacity: 256 more bytes in place do not fit.
    let failure = budget_exceeded(|| bytes.push(0));
    assert_eq!(
        (failure.layout.size(), failure.used, failure.capacity),
        (512, 256, 256)
    );
    assert_eq!(bytes.len(), 256, "the failed push changed the vector");
    drop(bytes);

    let boxed = budget_exceeded(|| Box::new_in([0u8; 300], &alloc));
    assert_eq!(boxed.layout.size(), 300);

    let mut map = hashbrown::HashMap::new_in(&alloc);
    let failure = budget_exceeded(|| (0..1000u32).for_each(|i| _ = map.insert(i, i)));
    assert_eq!(failure.capacity, 256);
    assert_eq!(alloc.stats().failed_allocations, 3);
}

#[test]
fn infallible_apis_panic_on_the_thread_safe_allocator_too() {
    let mut memory = Aligned::<64>::new();
    let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory.0);
    alloc.set_exhaustion(Exhaustion::Panic);
    let failure = budget_exceeded(|| Vec::<u64, _>::with_capacity_in(9, &alloc));
    assert_eq!((failure.layout.size(), failure.layout.align()), (72, 8));
    let failure = budget_exceeded(|| Box::new_in([0u32; 17], &alloc));
    assert_eq!(failure.layout.size(), 68);
    let mut map = hashbrown::HashMap::new_in(&alloc);
    budget_exceeded(|| (0..100u32).for_each(|i| _ = map.insert(i, i)));
    assert_eq!(alloc.stats().failed_allocations, 3);
}

#[test]
fn fallible_apis_return_err_under_the_error_policy() {
    let mut memory = Aligned::<64>::new();
    let alloc = FixedBufferAllocator::new(&mut memory.0);
    let mut bytes: Vec<u8, _> = Vec::new_in(&alloc);
    assert!(bytes.try_reserve(65).is_err());
    assert!(bytes.try_reserve(64).is_ok());
    assert!(Box::try_new_in([0u8; 1], &alloc).is_err());
}

#[test]
fn fallible_apis_panic_too_under_the_panic_policy() {
    let mut memory = Aligned::<64>::new();
    let alloc = FixedBufferAllocator::new(&mut memory.0);
    alloc.set_exhaustion(Exhaustion::Panic);
    let mut bytes: Vec<u8, _> = Vec::new_in(&alloc);
    let failure = budget_exceeded(|| bytes.try_reserve(65));
    assert_eq!(failure.layout.size(), 65);
}

fn owns_exactly_its_buffer<'b, S: Subject<'b>>(memory: &'b mut [core::mem::MaybeUninit<u8>]) {
    let start = memory.as_ptr().cast::<u8>();
    let subject = S::create(&mut memory[8..40]);
    assert!(!subject.owns(start.wrapping_add(7)), "{}", S::NAME);
    assert!(subject.owns(start.wrapping_add(8)), "{}", S::NAME);
    assert!(subject.owns(start.wrapping_add(39)), "{}", S::NAME);
    assert!(!subject.owns(start.wrapping_add(40)), "{}", S::NAME);
}

#[test]
fn owns_is_true_exactly_inside_the_buffer_for_both_allocators() {
    owns_exactly_its_buffer::<FixedBufferAllocator<'_>>(&mut Aligned::<64>::new().0);
    owns_exactly_its_buffer::<ThreadSafeFixedBufferAllocator<'_>>(&mut Aligned::<64>::new().0);
}
