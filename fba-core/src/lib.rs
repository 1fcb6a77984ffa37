#![doc = include_str!("../README.md")]
#![no_std]
// The `nightly` feature implements the standard library's own, unstable
// `Allocator` as well, for `std`'s collections (`Vec::new_in`).
#![cfg_attr(feature = "nightly", feature(allocator_api))]

#[cfg(feature = "std")]
extern crate std;

mod allocator_api;
mod buffer;
mod bump;
mod exhaustion;
mod failing;
mod fixed;
mod observer;
mod stats;
mod text;
mod thread_safe;

pub use allocator_api2::alloc::{AllocError, Allocator};
/// allocator-api2 0.4, whose `Allocator` fba's allocators implement as well
/// (the `allocator-api2-04` feature): its collections run on them.
#[cfg(feature = "allocator-api2-04")]
pub use allocator_api2_04;
pub use buffer::Buffer;
pub use exhaustion::{BudgetExceeded, Exhaustion};
pub use failing::FailAllocation;
pub use fixed::FixedBufferAllocator;
pub use observer::Observer;
pub use stats::{Breakdown, Stats};
pub use thread_safe::ThreadSafeFixedBufferAllocator;

#[cfg(test)]
mod testing;
