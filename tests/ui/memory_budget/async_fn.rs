use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096)]
async fn parses_a_header(alloc: &FixedBufferAllocator<'_>) {
    alloc.alloc_str("header").unwrap();
}

fn main() {}
