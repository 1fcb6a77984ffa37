//! What a budget costs: the full search of a budget test (a trial at the
//! limit, at the high-water mark H and at H - 1) against one plain run of its
//! body on a fixed buffer allocator, side by side in one run. Run with
//! `cargo bench -p fba-test`; the ratio prints at the end.

use std::hint::black_box;
use std::mem::MaybeUninit;

use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use criterion::{Criterion, criterion_group};
use fba::{Buffer, FixedBufferAllocator};

#[path = "../../fba-core/benches/support/ratios.rs"]
mod ratios;

/// A header of 30 `name: value` lines.
fn header_text() -> String {
    (0..30)
        .map(|i| format!("X-Field-{i}: value number {i} of the header\n"))
        .collect()
}

/// A realistic body of about 100 allocations: parse the header into owned,
/// lower-cased names and trimmed values, then index them by name.
fn parse_header(alloc: &FixedBufferAllocator<'_>, text: &str) -> usize {
    let mut fields = Vec::new_in(alloc);
    for line in text.lines() {
        let (name, value) = line.split_once(':').expect("a colon");
        let mut owned_name = Vec::with_capacity_in(name.len(), alloc);
        owned_name.extend(name.bytes().map(|byte| byte.to_ascii_lowercase()));
        let owned_value = alloc.alloc_str(value.trim()).expect("fits");
        fields.push((owned_name, &*owned_value));
    }
    let mut index = Vec::with_capacity_in(fields.len(), alloc);
    index.extend(0..fields.len());
    index.sort_unstable_by(|a, b| fields[*a].0.cmp(&fields[*b].0));
    fields.len() + index[0]
}

/// A minimal body of about 100 allocations and little else: a growing vector
/// of boxed records and a formatted line per ten of them.
fn body(alloc: &FixedBufferAllocator<'_>) -> usize {
    let mut records = Vec::new_in(alloc);
    let mut lines = 0;
    for i in 0..90u64 {
        records.push(Box::new_in([i; 4], alloc));
        if i % 10 == 0 {
            lines += alloc
                .alloc_fmt(format_args!("record {i}"))
                .map_or(0, |line| line.len());
        }
    }
    records.len() + lines
}

fn search(c: &mut Criterion) {
    let mut memory: std::boxed::Box<Buffer<8192>> = std::boxed::Box::new(Buffer::new());
    let text = header_text();
    let mut group = c.benchmark_group("budget_test_100_allocations");
    group.bench_function("plain_run", |b| {
        b.iter(|| {
            let bytes: &mut [MaybeUninit<u8>] = &mut memory[..];
            let alloc = FixedBufferAllocator::new(bytes);
            black_box(body(&alloc))
        })
    });
    group.bench_function("full_search", |b| {
        b.iter(|| {
            let measurement = fba::measure(8192, |alloc| {
                black_box(body(alloc));
            });
            assert_eq!(measurement.trials, 3);
            measurement
        })
    });
    group.finish();
    let mut group = c.benchmark_group("budget_test_header_parse");
    group.bench_function("plain_run", |b| {
        b.iter(|| {
            let bytes: &mut [MaybeUninit<u8>] = &mut memory[..];
            let alloc = FixedBufferAllocator::new(bytes);
            black_box(parse_header(&alloc, &text))
        })
    });
    group.bench_function("full_search", |b| {
        b.iter(|| {
            let measurement = fba::measure(8192, |alloc| {
                black_box(parse_header(alloc, &text));
            });
            assert_eq!(measurement.trials, 3);
            measurement
        })
    });
    group.finish();
}

criterion_group!(benches, search);

/// Runs the benchmark, then prints the ratio.
fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratios::print(
        "fba-test: full search / one plain run, same run",
        &[
            ratios::Ratio {
                group: "budget_test_100_allocations",
                subject: "full_search",
                peer: "plain_run",
            },
            ratios::Ratio {
                group: "budget_test_header_parse",
                subject: "full_search",
                peer: "plain_run",
            },
        ],
    );
}
