//! Budget tests on the test macros crate authors use: tokio, rstest,
//! test-case, proptest and rayon.

use fba::{FixedBufferAllocator, memory_budget};

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

mod tokio_tests {
    use super::*;

    // `#[memory_budget]` first, `#[tokio::test]` below it: the runtime is
    // built outside the budget, and the future runs in it on this thread.
    #[memory_budget(4096)]
    #[tokio::test]
    async fn parses_after_a_yield() {
        tokio::task::yield_now().await;
        let fields = real_code::fields("a,b,c");
        assert_eq!(fields.len(), 3);
    }

    // The spawned task's memory is freed by whichever thread drops it
    // last: its memory depends on timing, so the largest of 5 runs counts.
    #[memory_budget(4096, runs = 5)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parses_on_a_multi_thread_runtime() {
        let line = tokio::spawn(async { String::from("a,b,c") }).await.unwrap();
        assert_eq!(real_code::fields(&line).len(), 3);
    }
}

mod rstest_tests {
    use super::*;
    use rstest::rstest;

    // `#[memory_budget]` first: every case is a budget test of its own.
    #[memory_budget(4096)]
    #[rstest]
    #[case::one("a", 1)]
    #[case::three("a,b,c", 3)]
    fn splits(#[case] line: &str, #[case] expected: usize) {
        assert_eq!(real_code::fields(line).len(), expected);
    }

    // `#[rstest]` first works as well.
    #[rstest]
    #[case::two("a,b", 2)]
    #[memory_budget(4096)]
    fn splits_rstest_first(#[case] line: &str, #[case] expected: usize) {
        assert_eq!(real_code::fields(line).len(), expected);
    }

    // Values make a case of each combination.
    #[memory_budget(4096)]
    #[rstest]
    fn fills(#[values(1, 4)] fields: usize) {
        let line = vec!["x"; fields].join(",");
        assert_eq!(real_code::fields(&line).len(), fields);
    }

    // With an allocator parameter, the cases hand the body the allocator.
    #[memory_budget(4096)]
    #[rstest]
    #[case::two(2)]
    #[case::ten(10)]
    fn copies_into_the_budget(alloc: &FixedBufferAllocator, #[case] bytes: usize) {
        assert_eq!(alloc.alloc_slice_copy(&vec![1u8; bytes]).unwrap().len(), bytes);
    }

    // `#[rstest]` first: rstest passes an `#[ignore]`d parameter through.
    #[rstest]
    #[case::three(3)]
    #[memory_budget(4096)]
    fn copies_rstest_first(#[ignore] alloc: &FixedBufferAllocator, #[case] bytes: usize) {
        assert_eq!(alloc.alloc_slice_copy(&vec![1u8; bytes]).unwrap().len(), bytes);
    }

    // An `async fn` without a runtime's attribute runs on fba's executor.
    #[memory_budget(4096)]
    #[rstest]
    #[case::one("a")]
    async fn splits_in_a_future(#[case] line: &str) {
        let fields = async { real_code::fields(line) }.await;
        assert_eq!(fields.len(), 1);
    }
}

mod test_case_tests {
    use super::*;
    use test_case::test_case;

    #[memory_budget(4096)]
    #[test_case("a" ; "one field")]
    #[test_case("a,b,c,d,e" ; "five fields")]
    fn splits(line: &str) {
        assert_eq!(real_code::fields(line).len(), line.len().div_ceil(2));
    }

    #[memory_budget(4096)]
    #[test_case(5 ; "five bytes")]
    fn copies_into_the_budget(alloc: &FixedBufferAllocator, bytes: usize) {
        assert_eq!(alloc.alloc_slice_copy(&vec![1u8; bytes]).unwrap().len(), bytes);
    }
}

mod proptest_tests {
    use proptest::prelude::*;

    proptest! {
        // A budget for every generated line; a line over it is shrunk to
        // the shortest one that is.
        #[test]
        fn any_line_of_up_to_16_fields_fits_in_256_bytes(count in 1..=16usize) {
            let line = vec!["x"; count].join(",");
            let measurement = fba::assert_budget_global(256, || {
                assert_eq!(real_code::fields(&line).len(), count);
            });
            // The fields are collected into a vector of `&str`s (16 bytes)
            // that grows from 4 by doubling, in place: it is the body's
            // only block.
            prop_assert_eq!(measurement.minimum, Some(16 * count.next_power_of_two().max(4)));
        }
    }
}

mod rayon_tests {
    use super::*;

    // Workers share the budget through its scope; how the blocks land
    // depends on which thread runs first, so the largest of 5 runs counts.
    #[memory_budget(1 << 20, runs = 5)]
    fn splits_lines_on_a_pool() {
        let scope = fba::BudgetScope::current();
        let lines = ["a,b", "c,d,e", "f", "g,h,i,j"];
        let mut counts = [0; 4];
        rayon::scope(|s| {
            for (line, count) in lines.iter().zip(counts.iter_mut()) {
                s.spawn(move |_| scope.enter(|| *count = real_code::fields(line).len()));
            }
        });
        assert_eq!(counts, [2, 3, 1, 4]);
    }
}
