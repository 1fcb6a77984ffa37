//! The repository's own budget harness target (`harness = false`): budget
//! tests run by `fba::harness::main`, which prints the table of budgets after
//! the run. `tests/it/harness.rs` runs this binary as a process to check its
//! command line, its table and its JSON; CI also runs it under nextest.

extern crate alloc;

use fba::allocator_api2::vec::Vec as AllocVec;
use fba::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator, memory_budget};

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

fn main() -> std::process::ExitCode {
    fba::harness::main()
}

mod explicit {
    use super::*;

    // Three fields of two `&str`: allocator_api2's first growth is to 4
    // elements of 32 bytes, one allocation.
    #[memory_budget(4096, allocations = 1)]
    fn parses_a_header(alloc: &FixedBufferAllocator) {
        let mut fields = AllocVec::new_in(alloc);
        for line in "Host: a\nAccept: b\nUser-Agent: c".lines() {
            fields.push(line.split_once(':').unwrap());
        }
        assert_eq!(fields.len(), 3);
    }

    #[memory_budget(256)]
    fn formats_a_line(alloc: &FixedBufferAllocator) {
        let line = alloc
            .alloc_fmt(format_args!("{} {} {}", "GET", "/index.html", 200))
            .unwrap();
        assert_eq!(line.len(), 19);
    }

    #[memory_budget(1024)]
    fn shares_with_threads(alloc: &ThreadSafeFixedBufferAllocator) {
        let blocks: Vec<_> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2u64)
                .map(|id| s.spawn(move || fba::allocator_api2::boxed::Box::new_in([id; 4], alloc)))
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().unwrap())
                .collect()
        });
        assert_eq!(blocks.len(), 2);
    }

    #[memory_budget(4096)]
    #[ignore = "ignored tests have no row in the table"]
    fn ignored(alloc: &FixedBufferAllocator) {
        alloc.alloc_str("ignored").unwrap();
    }
}

mod global {
    use super::*;

    #[memory_budget(4096)]
    fn formats_a_greeting() {
        let mut greeting = String::from("Hello");
        greeting.push_str(", world");
        assert_eq!(greeting, "Hello, world");
    }

    // One block of exactly 100 `u32`s: the iterator knows its length.
    #[memory_budget(1024, allocations = 1)]
    fn collects_numbers() {
        let numbers: Vec<u32> = (0..100).collect();
        assert_eq!(numbers.len(), 100);
    }
}

/// The firmware's code path (`examples/embedded`): run as
/// `armv7-unknown-linux-gnueabihf` (the device's data layout), its minimum is
/// the heap the firmware gets (`tests/device` checks it on a Cortex-M4).
#[path = "../../examples/embedded/src/frame.rs"]
mod frame;

mod device {
    use super::*;

    #[memory_budget(128)]
    fn handles_a_frame() {
        let readings = frame::handle_frame(frame::FRAME);
        assert_eq!(readings.len(), 3);
    }
}

/// Many small budget tests, for reports written by many tests at once.
mod many {
    use super::*;

    macro_rules! many {
        ($($name:ident: $bytes:literal,)*) => {$(
            #[memory_budget(4096)]
            fn $name(alloc: &FixedBufferAllocator) {
                let block = alloc.alloc_slice_copy(&[0u8; $bytes]).unwrap();
                assert_eq!(block.len(), $bytes);
            }
        )*};
    }

    many! {
        budget_01: 8, budget_02: 16, budget_03: 24, budget_04: 32, budget_05: 40, budget_06: 48,
        budget_07: 56, budget_08: 64, budget_09: 72, budget_10: 80, budget_11: 88, budget_12: 96,
        budget_13: 104, budget_14: 112, budget_15: 120, budget_16: 128, budget_17: 136, budget_18: 144,
        budget_19: 152, budget_20: 160, budget_21: 168, budget_22: 176, budget_23: 184, budget_24: 192,
    }
}
