use fba::memory_budget;

// One mistake, one error: the case attributes, unknown here, add none.
#[memory_budget(4096)]
#[rstest]
#[case(1)]
#[should_panic]
fn parses(#[case] fields: usize, #[values(1, 2)] width: usize) {
    assert!(fields * width > 0);
}

fn main() {}
