use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget()]
fn parses_a_header(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

fn main() {}
