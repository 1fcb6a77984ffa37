//! A fixed buffer allocator at work: the seed's examples in Rust, with the
//! statistics the allocator keeps.
//!
//! Run with `cargo run --example fixed_buffer`.

use fba::allocator_api2::vec::Vec;
use fba::{Buffer, Exhaustion, FixedBufferAllocator, Stats};

fn print_stats(label: &str, stats: Stats) {
    println!(
        "{label:<28} used {:>4} of {:>4} bytes, high-water {:>4}, live {:>2} blocks / {:>4} bytes, {} allocations, {} failed",
        stats.used,
        stats.capacity,
        stats.high_water_mark,
        stats.live_allocations,
        stats.live_bytes,
        stats.allocations,
        stats.failed_allocations,
    );
}

fn main() {
    // Zig: `var memory: [1024]u8 = undefined;`
    let mut memory = Buffer::<1024>::new();
    let mut alloc = FixedBufferAllocator::new(&mut memory);

    let buffer = alloc
        .alloc_slice_copy(&[0u8; 100])
        .expect("100 bytes fit in 1024");
    buffer[0] = 42;
    println!("allocated {} bytes", buffer.len());
    print_stats("after alloc(u8, 100)", alloc.stats());

    let message = alloc
        .alloc_fmt(format_args!("user {} has score {}", "Ada", 42))
        .expect("the message fits");
    println!("{message}");
    print_stats("after allocPrint", alloc.stats());

    {
        let mut fields = Vec::new_in(&alloc);
        for field in 0..64u32 {
            fields.push(field);
        }
        print_stats("with 64 fields", alloc.stats());
    }
    print_stats("fields freed (last: rewound)", alloc.stats());

    // The buffer is a hard limit: memory failure is not hidden.
    match alloc.alloc_slice_copy(&[0u8; 2048]) {
        Ok(_) => unreachable!("2048 bytes cannot fit in 1024"),
        Err(_) => println!(
            "alloc(u8, 2048) failed: {}",
            alloc.first_failure().expect("recorded")
        ),
    }

    // Reuse the same memory for the next round of work.
    alloc.reset();
    print_stats("after reset", alloc.stats());

    alloc.set_exhaustion(Exhaustion::Panic);
    // The default hook would print the payload as `Box<dyn Any>`: stay quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| Vec::<u8, _>::with_capacity_in(4096, &alloc));
    drop(std::panic::take_hook());
    if let Err(payload) = outcome {
        let failure = payload
            .downcast::<fba::BudgetExceeded>()
            .expect("a BudgetExceeded payload");
        println!("under Exhaustion::Panic, Vec::with_capacity_in(4096) panicked: {failure}");
    }
}
