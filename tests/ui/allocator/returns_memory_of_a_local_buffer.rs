// The seed's "broken example": a function returns memory allocated from a
// buffer on its own stack. In Zig the caller gets a dangling slice; here the
// borrow checker refuses it.
use fba::{Buffer, FixedBufferAllocator};

fn make_name() -> &'static mut str {
    let mut memory = Buffer::<64>::new();
    let alloc = FixedBufferAllocator::new(&mut memory);
    alloc.alloc_str("Ada").unwrap()
}

fn main() {
    println!("{}", make_name());
}
