//! Exact numbers: the allocator is deterministic and every region starts at
//! a multiple of 4096, so what ordinary code needs is a number to assert.
//! The numbers that follow the pointer width (a `String`, a `HashMap`) are
//! in `widths.rs`, which also runs on a 32-bit target.

use std::alloc::Layout;

use fba::{HeapProfile, Measurement, Verdict, measure_global};

fn heap(measurement: &Measurement) -> &HeapProfile {
    measurement
        .heap
        .as_ref()
        .expect("global mode measures the heap")
}

#[test]
fn vec_with_capacity_100_needs_100_bytes() {
    let m = measure_global(4096, || {
        let bytes: Vec<u8> = Vec::with_capacity(100);
        assert_eq!(bytes.capacity(), 100);
    });
    // A warm-up, then two measuring runs that agree.
    assert_eq!(
        (m.verdict.clone(), m.minimum, m.trials, m.runs),
        (Verdict::Passed, Some(100), 3, 2)
    );
    let heap = heap(&m);
    assert_eq!(
        (
            heap.peak_live_bytes,
            heap.peak_live_blocks,
            heap.allocations
        ),
        (100, 1, 1)
    );
    assert_eq!((heap.largest_allocation, heap.escaped.count), (100, 0));
}

#[test]
fn a_box_then_a_vec_need_their_sizes_laid_end_to_end() {
    let m = measure_global(4096, || {
        let boxed = Box::new(0u64);
        let numbers = vec![0u32; 3];
        assert_eq!(*boxed as usize + numbers.len(), 3);
    });
    // 8 bytes of `u64` at 0, then 12 bytes of `u32`s at 8 (already aligned).
    assert_eq!(m.minimum, Some(8 + 12));
    assert_eq!(heap(&m).peak_live_blocks, 2);
}

#[test]
fn a_leaked_box_escapes_and_is_named() {
    let m = measure_global(4096, || {
        let leaked: &'static mut u64 = Box::leak(Box::new(7));
        *leaked += 1;
    });
    assert_eq!((m.verdict.clone(), m.minimum), (Verdict::Passed, Some(8)));
    let heap = heap(&m);
    assert_eq!((heap.escaped.count, heap.escaped.bytes), (1, 8));
    assert_eq!(heap.escaped.first, vec![Layout::new::<u64>()]);
}

#[test]
fn a_failing_assertion_fails_with_its_own_message_and_is_not_charged() {
    let m = measure_global(4096, || {
        let numbers = vec![1u8, 2, 3];
        assert_eq!(numbers.len(), 4, "the body's own message");
    });
    let Verdict::Failed { reason } = &m.verdict else {
        panic!("{m:?}")
    };
    assert_eq!(
        reason,
        "assertion `left == right` failed: the body's own message\n  left: 3\n right: 4"
    );
    // The panic hook (message, backtrace capture under RUST_BACKTRACE) runs
    // outside the budget: only the vector and the panic's payload count.
    assert!(m.high_water_mark < 256, "{m:?}");
    assert!(heap(&m).escaped.count <= 2, "{m:?}");
    assert_eq!(m.trials, 1);
}

#[test]
fn over_the_limit_it_needs_the_high_water_mark_and_names_the_allocation() {
    let m = measure_global(64, || {
        let first = vec![0u8; 40];
        let second = vec![0u8; 40];
        assert_eq!(first.len() + second.len(), 80);
    });
    assert_eq!(
        (m.verdict.clone(), m.needed),
        (Verdict::OverBudget, Some(80))
    );
    let failure = m
        .first_failure
        .expect("the allocation that went past 64 bytes");
    assert_eq!(
        (failure.layout.size(), failure.used, failure.capacity),
        (40, 40, 64)
    );
}

#[test]
fn a_thread_counts_only_when_the_body_hands_it_the_scope() {
    // Spawning allocates on the spawning thread, and the first spawn in a
    // process caches settings: spawn once before measuring.
    std::thread::spawn(|| ()).join().unwrap();
    let work = || vec![0u8; 4096].len();
    let without = measure_global(1 << 20, || {
        assert_eq!(std::thread::scope(|s| s.spawn(work).join().unwrap()), 4096);
    });
    let with = measure_global(1 << 20, || {
        let scope = fba::BudgetScope::current();
        assert_eq!(
            std::thread::scope(|s| s.spawn(|| scope.enter(work)).join().unwrap()),
            4096
        );
    });
    let (without, with) = (without.minimum.unwrap(), with.minimum.unwrap());
    // The spawning thread's allocations (the thread's handle, its result's
    // slot, the boxed closure) count either way; the worker's 4096 bytes
    // only with the scope handed over. (Where they land depends on what
    // the spawning thread has freed by then: a few bytes either way.)
    assert!(without > 0 && without < 4096, "{without}");
    assert!(with >= 4096 && with > without + 4000, "{with} vs {without}");
}

#[test]
fn a_worker_in_the_scope_can_take_the_budget_over() {
    std::thread::spawn(|| ()).join().unwrap();
    let m = measure_global(4096, || {
        let scope = fba::BudgetScope::current();
        let len = std::thread::scope(|s| {
            s.spawn(|| scope.enter(|| vec![0u8; 5000].len()))
                .join()
                .unwrap()
        });
        assert_eq!(len, 5000);
    });
    // The worker's 5000 bytes (and what spawning it took) are over 4096.
    assert_eq!(m.verdict, Verdict::OverBudget, "{m:?}");
    assert!(m.needed.is_some_and(|needed| needed > 5000), "{m:?}");
    let failure = m
        .first_failure
        .expect("the allocation that went past 4096 bytes");
    assert_eq!(failure.layout.size(), 5000);
}
