//! Global-allocator mode against its peers, side by side in one run:
//! `GlobalBudget` outside a budget against the bare system allocator,
//! inside a budget against the thread-safe fixed buffer allocator used
//! directly, and a global-mode budget test against one plain run of its
//! body. Run with `cargo bench -p fba-test --bench global`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use allocator_api2::alloc::{AllocError, Allocator, Global};
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use criterion::{Criterion, criterion_group};
use fba::{ThreadSafeFixedBufferAllocator, measure_global};

#[path = "../../fba-core/benches/support/ratios.rs"]
mod ratios;

#[global_allocator]
static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();

const BOXES: u64 = 1_000_000;
const PUSHES: u64 = 1_000;

/// A `GlobalAlloc` called directly, as an `Allocator`: the pass-through
/// benchmarks call `GlobalBudget` and `System` the same way, out of line as
/// std's `__rust_alloc` shim calls any global allocator, so the ratio is what
/// `GlobalBudget` adds.
struct Direct<A: 'static>(&'static A);

impl<A> Clone for Direct<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for Direct<A> {}

// SAFETY: every call forwards to the wrapped `GlobalAlloc` with the same
// layouts; zero-size requests never reach it.
unsafe impl<A: GlobalAlloc> Allocator for Direct<A> {
    #[inline(never)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(NonNull::slice_from_raw_parts(NonNull::<u8>::dangling(), 0));
        }
        // SAFETY: a non-zero layout.
        let block = NonNull::new(unsafe { self.0.alloc(layout) }).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(block, layout.size()))
    }

    #[inline(never)]
    unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: a live block of this allocator with this layout.
            unsafe { self.0.dealloc(block.as_ptr(), layout) }
        }
    }

    #[inline(never)]
    unsafe fn grow(
        &self,
        block: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() == 0 {
            return self.allocate(new);
        }
        // SAFETY: a live block with `old`; vectors keep the alignment.
        let grown = NonNull::new(unsafe { self.0.realloc(block.as_ptr(), old, new.size()) })
            .ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(grown, new.size()))
    }
}

static SYSTEM: System = System;

/// 1M `Box<u64>` allocated and freed at once.
fn box_alloc_free<A: Allocator + Copy>(alloc: A) -> u64 {
    let mut sum = 0;
    for i in 0..BOXES {
        sum += **black_box(&Box::new_in(i, alloc));
    }
    sum
}

/// A `Vec<u64>` pushed one by one to 1000 (small enough that the system
/// allocator serves it from its heap: larger vectors measure its mmap and
/// trimming thresholds, which swing by 2x with the order of the runs).
fn vec_pushed<A: Allocator>(alloc: A) -> u64 {
    let mut numbers = Vec::new_in(alloc);
    for i in 0..PUSHES {
        numbers.push(i);
    }
    numbers[black_box(PUSHES as usize - 1)]
}

/// About 100 allocations of ordinary code: words into a vector of strings,
/// joined, and an index of them.
fn hundred_allocations() -> usize {
    let words: std::vec::Vec<String> = (0..60).map(|i| format!("word{i}")).collect();
    let joined = words.join(" ");
    let mut index: std::vec::Vec<(usize, &str)> =
        words.iter().map(String::as_str).enumerate().collect();
    index.sort_by_key(|(_, word)| std::cmp::Reverse(*word));
    let lengths: std::vec::Vec<std::vec::Vec<u8>> = (0..30).map(|i| vec![0u8; i]).collect();
    joined.len() + index.len() + lengths.len()
}

fn pass_through(c: &mut Criterion) {
    let mut group = c.benchmark_group("global_pass_through_box_1m");
    group.bench_function("global_budget", |b| {
        b.iter(|| box_alloc_free(Direct(&GLOBAL)))
    });
    group.bench_function("system", |b| b.iter(|| box_alloc_free(Direct(&SYSTEM))));
    group.finish();
    let mut group = c.benchmark_group("global_pass_through_vec_push_1k");
    group.bench_function("system", |b| b.iter(|| vec_pushed(Direct(&SYSTEM))));
    group.bench_function("global_budget", |b| b.iter(|| vec_pushed(Direct(&GLOBAL))));
    group.finish();
}

fn inside(c: &mut Criterion) {
    let mut group = c.benchmark_group("global_inside_budget_box_1m");
    // `measure_global` runs the body twice (the second run checks the first):
    // half its time is one run inside a budget.
    group.bench_function("global_budget", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                let measurement = measure_global(1 << 20, || {
                    black_box(box_alloc_free(Global));
                });
                total += start.elapsed() / 2;
                assert_eq!(measurement.trials, 2);
            }
            total
        })
    });
    let mut memory = std::boxed::Box::new(fba::Buffer::<{ 1 << 20 }>::new());
    group.bench_function("thread_safe", |b| {
        b.iter(|| {
            let alloc = ThreadSafeFixedBufferAllocator::new(&mut memory[..]);
            box_alloc_free(&alloc)
        })
    });
    group.finish();
    let mut group = c.benchmark_group("global_budget_test_100_allocations");
    group.bench_function("measure_global", |b| {
        b.iter(|| {
            measure_global(1 << 20, || {
                black_box(hundred_allocations());
            })
        })
    });
    group.bench_function("plain_run", |b| b.iter(hundred_allocations));
    group.finish();
}

criterion_group!(benches, pass_through, inside);

/// Runs the benchmarks, then prints the ratios.
fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    use ratios::Ratio;
    ratios::print(
        "fba-test global mode: time / peer's time, same run",
        &[
            Ratio {
                group: "global_pass_through_box_1m",
                subject: "global_budget",
                peer: "system",
            },
            Ratio {
                group: "global_pass_through_vec_push_1k",
                subject: "global_budget",
                peer: "system",
            },
            Ratio {
                group: "global_inside_budget_box_1m",
                subject: "global_budget",
                peer: "thread_safe",
            },
            Ratio {
                group: "global_budget_test_100_allocations",
                subject: "measure_global",
                peer: "plain_run",
            },
        ],
    );
}
