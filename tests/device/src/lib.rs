//! See `tests/device.rs`.
