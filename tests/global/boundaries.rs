//! Blocks that cross a budget's boundary, budgets inside budgets, and
//! bad input that must not abort.

use fba::{Verdict, measure_global};

#[test]
fn a_block_from_before_the_budget_grows_and_is_freed_inside_it() {
    // One vector per run (the warm-up and two measuring runs), each
    // allocated outside the budget.
    let mut befores: Vec<Vec<u64>> = (0..3).map(|_| vec![1, 2]).collect();
    let m = measure_global(4096, || {
        let mut before = befores.pop().unwrap();
        before.extend(3..=10);
        assert_eq!(before.iter().sum::<u64>(), 55);
        before.clear();
        before.shrink_to_fit();
    });
    // Growing to 10 elements moves the block into the budget (80 bytes);
    // shrinking it to nothing frees it there.
    assert_eq!(m.minimum, Some(80));
    assert_eq!(m.heap.as_ref().unwrap().escaped.count, 0);
}

#[test]
fn a_block_from_the_budget_outlives_it_and_is_freed_afterwards() {
    let mut kept = None;
    let m = measure_global(4096, || {
        kept = Some(vec![7u8; 64]);
    });
    assert_eq!(fba::measure_global(64, || ()).minimum, Some(0));
    assert_eq!(m.heap.as_ref().unwrap().escaped.count, 1);
    let mut kept = kept.unwrap();
    kept.extend([8u8; 1000]);
    assert_eq!(
        kept.iter().map(|b| *b as usize).sum::<usize>(),
        7 * 64 + 8 * 1000
    );
}

#[test]
fn a_block_freed_on_another_thread_during_the_budget_is_returned() {
    let m = measure_global(4096, || {
        let block = vec![0u8; 300];
        std::thread::scope(|s| s.spawn(move || drop(block)).join().unwrap());
    });
    assert!(m.passed(), "{m:?}");
    let heap = m.heap.as_ref().unwrap();
    assert_eq!(heap.escaped.count, 0, "{m:?}");
}

#[test]
fn a_nested_budget_measures_its_body_alone() {
    let mut inner = None;
    let outer = measure_global(4096, || {
        let scratch = vec![0u8; 100];
        inner = Some(measure_global(4096, || {
            assert_eq!(vec![0u8; 500].len(), 500)
        }));
        assert_eq!(scratch.len(), 100);
    });
    assert_eq!(inner.unwrap().minimum, Some(500));
    // The inner run and its measurement are the runtime's work, outside the
    // outer budget: the outer body needed its 100 bytes.
    assert_eq!(outer.minimum, Some(100));
}

#[test]
fn a_body_whose_use_changes_between_runs_is_not_deterministic() {
    let mut runs = 0;
    let m = measure_global(4096, || {
        runs += 1;
        assert_eq!(vec![0u8; 100 * runs].len(), 100 * runs);
    });
    let Verdict::NotDeterministic { reason } = m.verdict else {
        panic!("{m:?}")
    };
    // The warm-up is run 0 (100 bytes); the measuring runs need 200 and 300.
    assert_eq!(
        reason,
        "its high-water mark differed between runs after a warm-up: 200 bytes in run 1, 300 bytes in run 2 (+100 bytes)"
    );
}

#[test]
fn runs_that_differ_name_the_blocks_one_left_alive_and_the_other_did_not() {
    // Room for the kept block made outside the budget.
    let mut kept = Vec::with_capacity(1);
    let mut runs = 0;
    let m = measure_global(4096, || {
        runs += 1;
        // The warm-up and the first measured run keep nothing; the second
        // measured run keeps a block of 3 `u64`s.
        if runs == 3 {
            kept.push(vec![0u64; 3]);
        }
    });
    let Verdict::NotDeterministic { reason } = m.verdict else {
        panic!("{m:?}")
    };
    assert_eq!(
        reason,
        "its high-water mark differed between runs after a warm-up: 0 bytes in run 1, 24 bytes in run 2 (+24 bytes)\n\
         run 2 left alive 1 block that the other did not: 24 bytes (align 8)"
    );
    assert_eq!(kept.len(), 1);
}

#[test]
fn what_the_warm_up_leaves_is_one_time_state_not_part_of_the_minimum() {
    let mut table: Option<Vec<u32>> = None;
    let m = measure_global(4096, || {
        let table = table.get_or_insert_with(|| vec![7; 64]);
        let copy = table[..10].to_vec();
        assert_eq!(copy.len(), 10);
    });
    // 64 `u32`s built on the first run stay; each run copies 10 of them.
    assert_eq!(m.minimum, Some(10 * 4), "{m:?}");
    let one_time = m.one_time.expect("global mode reports one-time state");
    assert_eq!(
        (one_time.count, one_time.bytes, one_time.first),
        (1, 64 * 4, vec![std::alloc::Layout::new::<[u32; 64]>()])
    );
    assert_eq!(m.state, fba::MeasuredState::SteadyState);
}

#[test]
fn what_the_body_prints_under_cargo_tests_output_capture_is_not_charged() {
    // Under `cargo test` (without --no-capture) a print appends to libtest's
    // capture buffer, which grows in every run as the text adds up: it is
    // the harness's, and a body that prints must still be judged, with the
    // minimum of what it allocates itself. (With --no-capture the line goes
    // to stdout, whose buffer libtest's own output already allocated.)
    let line = "x".repeat(100);
    let m = measure_global(4096, || {
        let fields = vec![0u32; 10];
        println!("{line} {}", fields.len());
    });
    assert!(m.passed(), "{m:?}");
    // The body's one block: 10 `u32`s.
    assert_eq!(m.minimum, Some(10 * 4), "{m:?}");
    // The capture's first block, allocated by the warm-up's print and moved
    // out when the next run grew it, is not the body's one-time state.
    let one_time = m.one_time.expect("global mode reports one-time state");
    assert_eq!((one_time.count, one_time.bytes), (0, 0), "{one_time:?}");
}
