//! The heap of an embedded program, sized with the number a budget
//! measured: `cargo run --example embedded_heap` measures the firmware's
//! code path (`examples/embedded/src/frame.rs`) on this machine and shows
//! what it needs.
//!
//! The firmware itself (`examples/embedded`, for `thumbv7em-none-eabihf`)
//! makes its heap a `ThreadSafeFixedBufferAllocator` over a static `Buffer`
//! of exactly the minimum: the allocator the budget measured with, so the
//! number carries over to the byte. A 64-bit host measures 64-bit layouts:
//! the device's number comes from the same budget test run as
//! `armv7-unknown-linux-gnueabihf` under `qemu-arm` (see the README's
//! "Numbers for your device"), and `tests/device` runs the firmware under
//! `qemu-system-arm` with that heap and with one byte less.

extern crate alloc;

#[path = "embedded/src/frame.rs"]
mod frame;

use std::mem::size_of;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

fn main() {
    let measurement = fba::measure_global(4096, || {
        let readings = frame::handle_frame(frame::FRAME);
        assert_eq!(readings.len(), 3);
    });
    let minimum = measurement.minimum.expect("it fits its budget");
    println!(
        "handle_frame needs a heap of {minimum} bytes on {}, peak {} live bytes",
        measurement.target,
        measurement
            .heap
            .as_ref()
            .map_or(0, |heap| heap.peak_live_bytes),
    );
    // Three readings, a `(String, i32)` each (`String`: 3 words), in one
    // vector, then their one-byte names: 51 bytes where pointers have 32
    // bits, 99 where they have 64.
    let reading = size_of::<(String, i32)>();
    assert_eq!(reading, 3 * size_of::<usize>() + size_of::<usize>().max(4));
    assert_eq!(minimum, 3 * reading + 3, "the readings and their names");
}
