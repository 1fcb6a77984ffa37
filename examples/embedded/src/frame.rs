//! The firmware's work, one code path for the device and for its budget
//! test: decode a sensor frame such as `T:21;H:40;P:1013` into named
//! readings. `no_std` (it needs `alloc` only), so the same source builds for
//! the device, and for the host and armv7 Linux where its budget is
//! measured (`tests/budgets/main.rs`, `examples/embedded_heap.rs`).

use alloc::string::String;
use alloc::vec::Vec;

/// The frame the firmware handles.
pub(crate) const FRAME: &str = "T:21;H:40;P:1013";

/// The readings of `frame`, by name.
pub(crate) fn handle_frame(frame: &str) -> Vec<(String, i32)> {
    let mut readings = Vec::with_capacity(frame.split(';').count());
    for field in frame.split(';') {
        if let Some((name, value)) = field.split_once(':') {
            readings.push((String::from(name), value.parse().unwrap_or(0)));
        }
    }
    readings
}
