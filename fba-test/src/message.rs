//! The sentences a budget test prints: the pass line and the failure
//! messages, with the numbers and what to write instead.

use crate::measurement::{HeapProfile, Measurement, Verdict};

/// Where a budget is declared, for messages that point at it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site<'a> {
    /// The test's path, as the test harness lists it (`tests::parses_a_header`).
    pub(crate) name: &'a str,
    pub(crate) file: &'a str,
    pub(crate) line: u32,
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// The line a passing test prints, e.g.
/// `memory_budget tests::parses_a_header: minimum 3104 of 4096 bytes (75.8%), 3 trials`.
pub(crate) fn pass_line(site: &Site<'_>, measurement: &Measurement) -> String {
    let mut line = explicit_pass_line(site, measurement);
    if let Some(heap) = &measurement.heap {
        line += &format!(
            "; peak {} live bytes in {}, {}, largest {} bytes",
            heap.peak_live_bytes,
            plural(heap.peak_live_blocks, "block"),
            plural(heap.allocations, "allocation"),
            heap.largest_allocation,
        );
        if heap.escaped_blocks > 0 {
            line += &format!("; {}", escapes(heap));
        }
    }
    if measurement.verified_by_failure {
        line += &format!(
            "; verified by failure at {} bytes",
            measurement.minimum.unwrap_or(0).saturating_sub(1)
        );
    }
    line
}

/// What escaped a budget: `2 blocks escaped (48 bytes): 24 bytes (align 8), 24 bytes (align 8)`.
pub(crate) fn escapes(heap: &HeapProfile) -> String {
    let mut text = format!(
        "{} escaped ({} bytes)",
        plural(heap.escaped_blocks, "block"),
        heap.escaped_bytes
    );
    if !heap.first_escapes.is_empty() {
        let listed: Vec<String> = heap
            .first_escapes
            .iter()
            .map(|layout| format!("{} bytes (align {})", layout.size(), layout.align()))
            .collect();
        text += ": ";
        text += &listed.join(", ");
        if heap.escaped_blocks > heap.first_escapes.len() {
            text += ", ...";
        }
    }
    text
}

fn explicit_pass_line(site: &Site<'_>, measurement: &Measurement) -> String {
    let limit = measurement.limit;
    let trials = plural(measurement.trials, "trial");
    match measurement.minimum {
        Some(minimum) => format!(
            "memory_budget {}: minimum {minimum} of {limit} bytes ({:.1}%), {trials}",
            site.name,
            percent(minimum, limit),
        ),
        None => format!(
            "memory_budget {}: high-water mark {} of {limit} bytes ({:.1}%), {trials} (search off)",
            site.name,
            measurement.high_water_mark,
            percent(measurement.high_water_mark, limit),
        ),
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The panic message of a test that needs more than its budget.
pub(crate) fn over_budget(site: &Site<'_>, measurement: &Measurement) -> String {
    let limit = measurement.limit;
    let mut text = match measurement.needed {
        Some(needed) => format!(
            "memory budget exceeded in {}: needs {needed} bytes, budget is {limit} bytes (+{:.1}%)",
            site.name,
            percent(needed - limit.min(needed), limit),
        ),
        None if measurement.searched => format!(
            "memory budget exceeded in {}: needs more than {} bytes, budget is {limit} bytes",
            site.name,
            measurement.max_bytes.max(limit),
        ),
        None => format!(
            "memory budget exceeded in {}: needs at least {} bytes, budget is {limit} bytes",
            site.name,
            measurement.needs_at_least().unwrap_or(limit + 1),
        ),
    };
    if let Some(failure) = measurement.first_failure {
        text += &format!(
            "\nfirst failing allocation: {} bytes (align {}) with {} of {} bytes in use",
            failure.layout.size(),
            failure.layout.align(),
            failure.used,
            failure.capacity,
        );
    }
    text += &match measurement.needed {
        Some(needed) => format!(
            "\nto accept it, write #[memory_budget({needed})] at {}:{}, or run the tests with FBA_UPDATE=1",
            site.file, site.line
        ),
        None if measurement.searched => format!(
            "\nthe search stops at FBA_MAX_BYTES={}: raise it to learn what the test needs",
            measurement.max_bytes
        ),
        None => "\nthe search is off (FBA_SEARCH=0 or search = false): turn it on to learn what the test needs".to_owned(),
    };
    text
}

/// The panic message of a passing test whose budget is far above its
/// minimum (`FBA_MAX_HEADROOM`).
pub(crate) fn stale(
    site: &Site<'_>,
    limit: usize,
    minimum: usize,
    headroom: f64,
    max: f64,
) -> String {
    format!(
        "memory budget of {} is stale: minimum {minimum} of {limit} bytes, {headroom:.1}% headroom, more than \
         FBA_MAX_HEADROOM={max}%\nto tighten it, write #[memory_budget({minimum})] at {}:{}, or run the tests with FBA_UPDATE=1",
        site.name, site.file, site.line
    )
}

/// The panic message of a test whose memory use changed between trials.
pub(crate) fn not_deterministic(site: &Site<'_>, reason: &str) -> String {
    format!(
        "memory use of {} is not deterministic: {reason}\n\
         a budget test needs a body whose allocations depend only on its input, not on timing or on state kept between runs",
        site.name
    )
}

/// The panic message of a run that could not be carried out.
pub(crate) fn unusable(site: &Site<'_>, reason: &str) -> String {
    format!("memory budget test {} could not run: {reason}", site.name)
}

/// The message for `verdict`, if it is a failure the runtime reports itself
/// (not a failure of the body, which is reported unchanged).
pub(crate) fn failure(site: &Site<'_>, measurement: &Measurement) -> Option<String> {
    match &measurement.verdict {
        Verdict::OverBudget => Some(over_budget(site, measurement)),
        Verdict::NotDeterministic { reason } => Some(not_deterministic(site, reason)),
        Verdict::Unusable { reason } => Some(unusable(site, reason)),
        Verdict::Leaked { reason } => Some(format!(
            "memory budget test {} leaked: {reason}\n\
             free what the body allocates before it returns, or remove leaks = \"deny\"",
            site.name
        )),
        Verdict::NotVerified { reason } => Some(format!(
            "the minimum of memory budget test {} was not proved by failure: {reason}",
            site.name
        )),
        Verdict::Passed | Verdict::Failed { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::alloc::Layout;
    use fba_core::BudgetExceeded;

    const SITE: Site<'static> = Site {
        name: "tests::parses_a_header",
        file: "src/lib.rs",
        line: 42,
    };

    fn measurement(verdict: Verdict) -> Measurement {
        let mut measurement = Measurement::new(4096, true, 1 << 30);
        measurement.high_water_mark = 4000;
        measurement.trials = 1;
        measurement.first_failure = Some(BudgetExceeded {
            layout: Layout::from_size_align(1024, 8).unwrap(),
            used: 3584,
            capacity: 4096,
        });
        measurement.verdict = verdict;
        measurement
    }

    #[test]
    fn pass_line_gives_the_minimum_its_share_and_the_trials() {
        let m = Measurement {
            minimum: Some(3104),
            trials: 3,
            ..measurement(Verdict::Passed)
        };
        assert_eq!(
            pass_line(&SITE, &m),
            "memory_budget tests::parses_a_header: minimum 3104 of 4096 bytes (75.8%), 3 trials"
        );
    }

    #[test]
    fn pass_line_without_search_gives_the_high_water_mark() {
        let m = Measurement {
            searched: false,
            ..measurement(Verdict::Passed)
        };
        assert_eq!(
            pass_line(&SITE, &m),
            "memory_budget tests::parses_a_header: high-water mark 4000 of 4096 bytes (97.7%), 1 trial (search off)"
        );
    }

    #[test]
    fn global_pass_line_adds_the_heap_escapes_and_verification() {
        let mut m = Measurement {
            minimum: Some(100),
            trials: 2,
            verified_by_failure: true,
            ..measurement(Verdict::Passed)
        };
        m.heap = Some(HeapProfile {
            peak_live_bytes: 96,
            peak_live_blocks: 3,
            allocations: 5,
            largest_allocation: 64,
            escaped_blocks: 2,
            escaped_bytes: 16,
            first_escapes: vec![Layout::new::<u64>(), Layout::new::<u64>()],
        });
        assert_eq!(
            pass_line(&SITE, &m),
            "memory_budget tests::parses_a_header: minimum 100 of 4096 bytes (2.4%), 2 trials; \
             peak 96 live bytes in 3 blocks, 5 allocations, largest 64 bytes; \
             2 blocks escaped (16 bytes): 8 bytes (align 8), 8 bytes (align 8); verified by failure at 99 bytes"
        );
    }

    #[test]
    fn over_budget_says_what_is_needed_the_failing_allocation_and_what_to_write() {
        let m = Measurement {
            needed: Some(5120),
            ..measurement(Verdict::OverBudget)
        };
        assert_eq!(
            over_budget(&SITE, &m),
            "memory budget exceeded in tests::parses_a_header: needs 5120 bytes, budget is 4096 bytes (+25.0%)\n\
             first failing allocation: 1024 bytes (align 8) with 3584 of 4096 bytes in use\n\
             to accept it, write #[memory_budget(5120)] at src/lib.rs:42, or run the tests with FBA_UPDATE=1"
        );
    }

    #[test]
    fn over_budget_past_the_search_bound_says_more_than_and_how_to_raise_it() {
        let m = measurement(Verdict::OverBudget);
        let text = over_budget(&SITE, &m);
        assert!(text.starts_with("memory budget exceeded in tests::parses_a_header: needs more than 1073741824 bytes, budget is 4096 bytes\n"), "{text}");
        assert!(text.ends_with("the search stops at FBA_MAX_BYTES=1073741824: raise it to learn what the test needs"), "{text}");
    }

    #[test]
    fn over_budget_without_search_gives_a_lower_bound() {
        let m = Measurement {
            searched: false,
            ..measurement(Verdict::OverBudget)
        };
        let text = over_budget(&SITE, &m);
        assert!(text.starts_with("memory budget exceeded in tests::parses_a_header: needs at least 4608 bytes, budget is 4096 bytes\n"), "{text}");
        assert!(
            text.ends_with("turn it on to learn what the test needs"),
            "{text}"
        );
    }
}
