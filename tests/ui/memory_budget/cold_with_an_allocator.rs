use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096, cold = true)]
fn parses_a_header(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

fn main() {}
