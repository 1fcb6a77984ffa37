use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096)]
fn parses_a_header(alloc: &FixedBufferAllocator) -> impl std::fmt::Debug {
    alloc.alloc_str("header").unwrap().len()
}

fn main() {}
