//! The main job: find the minimum buffer size of each code path with
//! `fba::measure`, as an embedded developer does before a port, and print
//! them as a table.
//!
//! Run with `cargo run --example minimum_sizes`.

use fba::allocator_api2::boxed::Box;
use fba::allocator_api2::vec::Vec;
use fba::{FixedBufferAllocator, Measurement, Verdict};

/// Parses `name: value` lines into a vector of borrowed pairs.
fn parse_header(alloc: &FixedBufferAllocator<'_>) {
    let input = "Host: example.org\nAccept: */*\nUser-Agent: fba\n";
    let mut fields = Vec::new_in(alloc);
    for line in input.lines() {
        fields.push(line.split_once(':').expect("a header line"));
    }
    assert_eq!(fields.len(), 3);
}

/// Formats a log line straight into the buffer.
fn format_log_line(alloc: &FixedBufferAllocator<'_>) {
    let line = alloc
        .alloc_fmt(format_args!(
            "{} {:>5} request from {} took {} ms",
            "12:00:01", "INFO", "10.0.0.7", 42
        ))
        .expect("the line fits");
    assert!(line.ends_with("42 ms"));
}

/// Collects 50 boxed records and sorts them, newest first.
fn collect_fifty_records(alloc: &FixedBufferAllocator<'_>) {
    let mut records = Vec::new_in(alloc);
    for id in 0..50u32 {
        records.push(Box::new_in((id, id * id), alloc));
    }
    records.sort_by_key(|record| std::cmp::Reverse(record.0));
    assert_eq!(records[0].0, 49);
}

/// Sorts 1000 numbers in a vector that grows one push at a time.
fn sort_a_thousand(alloc: &FixedBufferAllocator<'_>) {
    let mut numbers = Vec::new_in(alloc);
    for i in 0..1000u32 {
        numbers.push(i.wrapping_mul(2_654_435_761) % 1000);
    }
    numbers.sort_unstable();
    assert!(numbers.windows(2).all(|pair| pair[0] <= pair[1]));
}

/// Builds a 16 KiB frame: more than the 8 KiB this path is given.
fn build_a_frame(alloc: &FixedBufferAllocator<'_>) {
    let frame = Vec::<u8, _>::with_capacity_in(16 * 1024, alloc);
    assert!(frame.capacity() >= 16 * 1024);
}

fn describe(measurement: &Measurement) -> String {
    match (
        &measurement.verdict,
        measurement.minimum,
        measurement.needed,
    ) {
        (Verdict::Passed, Some(minimum), _) => format!("{minimum:>8} bytes"),
        (Verdict::OverBudget, _, Some(needed)) => format!("over: needs {needed} bytes"),
        (verdict, _, _) => format!("{verdict:?}"),
    }
}

/// A code path: its name, its budget and the code.
type CodePath = (&'static str, usize, fn(&FixedBufferAllocator<'_>));

fn main() {
    let paths: [CodePath; 5] = [
        ("parse a 3-field header", 4096, parse_header),
        ("format a log line", 4096, format_log_line),
        ("collect 50 boxed records", 8192, collect_fifty_records),
        ("sort 1000 numbers", 8192, sort_a_thousand),
        ("build a 16 KiB frame", 8192, build_a_frame),
    ];
    println!(
        "{:<28} {:>8} {:>28} {:>7}",
        "code path", "budget", "minimum", "trials"
    );
    for (name, budget, path) in paths {
        let measurement = fba::measure(budget, path);
        println!(
            "{name:<28} {budget:>8} {:>28} {:>7}",
            describe(&measurement),
            measurement.trials
        );
    }
    println!(
        "\nEvery trial's buffer starts at a multiple of {} bytes.",
        fba::BUFFER_ALIGNMENT
    );
}
