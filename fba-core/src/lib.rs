#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(feature = "std")]
extern crate std;

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
pub use buffer::Buffer;
pub use exhaustion::{BudgetExceeded, Exhaustion};
pub use failing::FailAllocation;
pub use fixed::FixedBufferAllocator;
pub use observer::Observer;
pub use stats::{Breakdown, Stats};
pub use thread_safe::ThreadSafeFixedBufferAllocator;

#[cfg(test)]
mod testing;
