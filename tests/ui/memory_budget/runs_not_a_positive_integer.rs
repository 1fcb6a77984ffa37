use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096, runs = 0)]
fn no_runs(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

#[memory_budget(4096, runs = "5")]
fn runs_as_a_string(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

fn main() {}
