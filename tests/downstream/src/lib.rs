//! A tiny header parser, the kind of code a crate author budgets: it takes
//! an allocator, so tests can hand it a fixed buffer.
//!
//! The tests below are the end-to-end fixtures of fba: some fail on
//! purpose. Their numbers are exact because the allocator is deterministic
//! and every trial's buffer starts at a multiple of 4096.

/// A parsed header: `name: value` fields, borrowed from the input.
#[derive(Debug)]
pub struct Header<'input, A: fba_alloc::Allocator> {
    /// The fields in order.
    pub fields: fba_alloc::Vec<(&'input str, &'input str), A>,
}

/// What the parser needs from an allocator (re-exported by `fba`).
pub mod fba_alloc {
    pub use fba::Allocator;
    pub use fba::allocator_api2::vec::Vec;
}

/// Parses `name: value` lines.
pub fn parse_header<'input, A: fba_alloc::Allocator>(
    input: &'input str,
    alloc: A,
) -> Result<Header<'input, A>, String> {
    let mut fields = fba_alloc::Vec::new_in(alloc);
    for line in input.lines().filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("no colon in {line:?}"))?;
        fields.push((name.trim(), value.trim()));
    }
    Ok(Header { fields })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use fba::allocator_api2::vec::Vec;
    use fba::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator, memory_budget};

    use super::parse_header;

    const INPUT: &str = "Host: example.org\nAccept: */*\nUser-Agent: fba\n";

    // Three fields of two `&str` each: capacity 4 (allocator_api2's first
    // growth) x 32 bytes = 128 bytes.
    #[memory_budget(4096)]
    fn parses_a_header(alloc: &FixedBufferAllocator) {
        let header = parse_header(INPUT, alloc).unwrap();
        assert_eq!(header.fields.len(), 3);
    }

    // Ten fields: capacity 4, then 8 in place, then 16 in place: 512 bytes.
    #[memory_budget(256)]
    fn parses_a_long_header(alloc: &FixedBufferAllocator) {
        let input = "a: 1\n".repeat(10);
        let header = parse_header(&input, alloc).unwrap();
        assert_eq!(header.fields.len(), 10);
    }

    #[memory_budget(4096)]
    fn fails_for_another_reason(alloc: &FixedBufferAllocator) {
        let header = parse_header(INPUT, alloc).unwrap();
        assert_eq!(header.fields.len(), 4, "the header has three fields");
    }

    #[memory_budget(4096)]
    fn returns_ok(alloc: &FixedBufferAllocator) -> Result<(), String> {
        let header = parse_header(INPUT, alloc)?;
        assert_eq!(header.fields[0], ("Host", "example.org"));
        Ok(())
    }

    #[memory_budget(4096)]
    fn returns_err(alloc: &FixedBufferAllocator) -> Result<(), String> {
        parse_header("not a header line", alloc)?;
        Ok(())
    }

    // Four threads parse at once; each header comes back to this thread, so
    // all four are alive together: 4 x 128 bytes whatever the interleaving.
    #[memory_budget(4096)]
    fn parses_on_four_threads(alloc: &ThreadSafeFixedBufferAllocator) {
        let headers: std::vec::Vec<_> = std::thread::scope(|s| {
            let workers: std::vec::Vec<_> = (0..4).map(|_| s.spawn(|| parse_header(INPUT, alloc).unwrap())).collect();
            workers.into_iter().map(|worker| worker.join().unwrap()).collect()
        });
        assert!(headers.iter().all(|header| header.fields.len() == 3));
    }

    // The same, over budget: the failing allocation happens on a spawned
    // thread, and is still reported as the budget being exceeded.
    #[memory_budget(300)]
    fn parses_on_four_threads_over_budget(alloc: &ThreadSafeFixedBufferAllocator) {
        let headers: std::vec::Vec<_> = std::thread::scope(|s| {
            let workers: std::vec::Vec<_> = (0..4).map(|_| s.spawn(|| parse_header(INPUT, alloc).unwrap())).collect();
            workers.into_iter().map(|worker| worker.join().unwrap()).collect()
        });
        assert_eq!(headers.len(), 4);
    }

    // Each run allocates more than the last: the check at the high-water
    // mark fails, and the test says its memory use is not deterministic.
    #[memory_budget(4096)]
    fn grows_every_run(alloc: &FixedBufferAllocator) {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
        let scratch: Vec<u8, _> = Vec::with_capacity_in(100 * runs, alloc);
        assert!(scratch.capacity() >= 100);
    }

    // No allocator parameter: global-allocator mode, but this test binary
    // has not installed `fba::GlobalBudget`: the test says how to.
    #[memory_budget(4096)]
    fn global_mode_without_global_budget() {
        let header = String::from(INPUT);
        assert_eq!(header.lines().count(), 3);
    }

    // With less than 1000 bytes the body fails its own assertion (after
    // catching the budget's panic): the trial at H - 1 fails for another
    // reason, quietly, and the minimum is still H.
    #[memory_budget(4096)]
    fn fails_otherwise_when_short(alloc: &FixedBufferAllocator) {
        let big = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Vec::<u8, _>::with_capacity_in(1000, alloc).capacity()
        }));
        assert!(big.is_ok(), "quiet: the body cannot work without its 1000 bytes");
    }

    #[memory_budget(4096, search = false)]
    fn enforces_only(alloc: &FixedBufferAllocator) {
        let header = parse_header(INPUT, alloc).unwrap();
        assert_eq!(header.fields.len(), 3);
    }
}
