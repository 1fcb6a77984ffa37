//! Sixteen budget tests with different exact needs, run in parallel by
//! `isolation.rs` (in a child process of this binary): each must report its
//! own minimum.

use fba::memory_budget;

macro_rules! budget_tests {
    ($($name:ident: $bytes:literal,)*) => {$(
        #[memory_budget(4096)]
        fn $name() {
            let block = Vec::<u8>::with_capacity($bytes);
            assert_eq!(block.capacity(), $bytes);
        }
    )*};
}

budget_tests! {
    budget_01: 100, budget_02: 200, budget_03: 300, budget_04: 400,
    budget_05: 500, budget_06: 600, budget_07: 700, budget_08: 800,
    budget_09: 900, budget_10: 1000, budget_11: 1100, budget_12: 1200,
    budget_13: 1300, budget_14: 1400, budget_15: 1500, budget_16: 1600,
}
