use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096)]
fn parses_a_header(alloc: &FixedBufferAllocator, input: &str) {
    alloc.alloc_str(input).unwrap();
}

fn main() {}
