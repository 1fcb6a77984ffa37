use fba::{memory_budget, FixedBufferAllocator};

#[memory_budget(4096, swallowed = "allow")]
fn without_failure_injection(alloc: &FixedBufferAllocator) {
    alloc.alloc_str("header").unwrap();
}

#[memory_budget(4096, fail_each_allocation = true, swallowed = "maybe")]
fn neither_allow_nor_deny(alloc: &FixedBufferAllocator) -> Result<(), fba::AllocError> {
    alloc.alloc_str("header")?;
    Ok(())
}

fn main() {}
