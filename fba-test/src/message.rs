//! The sentences a budget test prints: the pass line and the failure
//! messages, with the numbers and what to write instead.

use fba_core::Breakdown;

use crate::count_budget;
use crate::injection::{InjectedFailure, InjectedOutcome, Injection};
use crate::measurement::{
    AllocationSite, Blocks, Frame, MeasuredState, Measurement, Sites, Verdict,
};

/// Where a budget is declared, for messages that point at it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site<'a> {
    /// The test's path, as the test harness lists it (`tests::parses_a_header`).
    pub(crate) name: &'a str,
    pub(crate) file: &'a str,
    pub(crate) line: u32,
    /// How the budget is written there.
    pub(crate) declared: Declared,
}

/// How a budget is declared, for the text that says what to write instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Declared {
    /// `#[memory_budget(N)]`.
    Attribute,
    /// A call such as `fba::assert_budget(N, ..)`, named.
    Call(&'static str),
}

impl Site<'_> {
    /// What to write to give the budget `bytes`, and where.
    fn write(&self, bytes: &str) -> String {
        match self.declared {
            Declared::Attribute => format!(
                "write #[memory_budget({bytes})] at {}:{}",
                self.file, self.line
            ),
            Declared::Call(function) => format!(
                "write fba::{function}({bytes}, ..) at {}:{}",
                self.file, self.line
            ),
        }
    }

    /// What to write to give the count budget `count`, and where.
    fn write_count(&self, count: usize) -> String {
        match self.declared {
            Declared::Attribute => format!(
                "write allocations = {count} in #[memory_budget(..)] at {}:{}",
                self.file, self.line
            ),
            Declared::Call(_) => format!("give it an allocation budget of {count}"),
        }
    }

    /// What to write to set an option, and where.
    fn write_option(&self, option: &str) -> String {
        match self.declared {
            Declared::Attribute => format!(
                "write {option} in #[memory_budget(..)] at {}:{}",
                self.file, self.line
            ),
            Declared::Call(_) => format!("set {option}"),
        }
    }

    /// How to have budgets rewritten, where they can be.
    fn or_update(&self) -> &'static str {
        match self.declared {
            Declared::Attribute => ", or run the tests with FBA_UPDATE=1",
            Declared::Call(_) => "",
        }
    }
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
    let limit = measurement.limit;
    let state = match measurement.state {
        MeasuredState::FreshAllocator => "",
        MeasuredState::SteadyState => " after a warm-up",
        MeasuredState::FirstRun => " on the first run (cold)",
    };
    let mut line = match measurement.minimum {
        Some(minimum) => format!(
            "memory_budget {}: minimum {minimum} of {limit} bytes ({:.1}%){state}",
            site.name,
            percent(minimum, limit),
        ),
        None => format!(
            "memory_budget {}: high-water mark {} of {limit} bytes ({:.1}%){state}",
            site.name,
            measurement.high_water_mark,
            percent(measurement.high_water_mark, limit),
        ),
    };
    if measurement.runs > 1 && measurement.lowest_high_water_mark != measurement.high_water_mark {
        line += &format!(
            ", the largest of {} runs ({}-{} bytes)",
            measurement.runs, measurement.lowest_high_water_mark, measurement.high_water_mark
        );
    } else if measurement.runs > 2 {
        line += &format!(", the same in {} runs", measurement.runs);
    }
    line += &format!(", {}", plural(measurement.trials, "trial"));
    if measurement.minimum.is_none() {
        line += " (search off)";
    }
    if let Some(one_time) = measurement
        .one_time
        .as_ref()
        .filter(|blocks| !blocks.is_empty())
    {
        line += &format!("; one-time state {}", blocks(one_time, ""));
    }
    if let Some(heap) = &measurement.heap {
        line += &format!(
            "; peak {} live bytes in {}, {}, largest {} bytes",
            heap.peak_live_bytes,
            plural(heap.peak_live_blocks, "block"),
            plural(heap.allocations, "allocation"),
            heap.largest_allocation,
        );
        if !heap.escaped.is_empty() {
            line += &format!("; {}", blocks(&heap.escaped, "escaped"));
        }
    }
    if measurement.verified_by_failure {
        line += &format!(
            "; verified by failure at {} bytes",
            measurement.minimum.unwrap_or(0).saturating_sub(1)
        );
    }
    if let (Some(count), Some(limit)) = (measurement.allocations, measurement.allocation_limit) {
        line += &format!(
            "; {count} of {} ({:.1}%)",
            plural(limit, "allocation"),
            percent(count, limit)
        );
    }
    if let Some(injection) = &measurement.injection {
        line += &format!("; {}", injected(injection));
    }
    line += &format!("; measured for {}", measurement.target);
    line
}

/// What failure injection did, for a pass line:
/// `fail_each_allocation: all 7 allocations failed in turn, each handled`.
fn injected(injection: &Injection) -> String {
    let policy = injection.policy.option();
    let mut text = match (injection.allocations, injection.sampled) {
        (0, _) => format!("{policy}: no allocation to fail"),
        (1, _) => format!("{policy}: the 1 allocation failed, handled"),
        (all, false) => format!("{policy}: all {all} allocations failed in turn, each handled"),
        (all, true) => format!(
            "{policy}: {} of {all} allocations failed in turn (spread evenly, FBA_MAX_INJECTIONS), each handled",
            injection.runs
        ),
    };
    if injection.allocations > 0 && !injection.leaks_checked {
        text += " (leaks not checked: without failures the body keeps blocks live)";
    }
    text
}

/// Blocks, with what became of them:
/// `2 blocks escaped (48 bytes): 24 bytes (align 8), 24 bytes (align 8)`.
pub(crate) fn blocks(blocks: &Blocks, what: &str) -> String {
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    };
    let mut text = format!(
        "{}{what} ({} bytes)",
        plural(blocks.count, "block"),
        blocks.bytes
    );
    if !blocks.first.is_empty() {
        text += ": ";
        text += &layouts(&blocks.first, blocks.count);
    }
    text
}

/// The layouts of `count` blocks, of which `listed` are known:
/// `24 bytes (align 8), 8 bytes (align 8), ...`.
pub(crate) fn layouts(listed: &[core::alloc::Layout], count: usize) -> String {
    let mut text = listed
        .iter()
        .take(LISTED)
        .map(|layout| format!("{} bytes (align {})", layout.size(), layout.align()))
        .collect::<Vec<_>>()
        .join(", ");
    if count > listed.len().min(LISTED) {
        text += ", ...";
    }
    text
}

/// How many layouts a message lists.
const LISTED: usize = 4;

pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The panic message of a test that needs more than its budget, with
/// `shown` allocation sites of each kind (`None`: all).
pub(crate) fn over_budget(
    site: &Site<'_>,
    measurement: &Measurement,
    shown: Option<usize>,
) -> String {
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
    // The breakdown is of the run that gave the number said: what it needs,
    // or, in global mode (where nothing fails), its high-water mark.
    if measurement.needed.is_some() || measurement.heap.is_some() {
        text += &format!("\n{}", breakdown(&measurement.breakdown));
    }
    text += &match measurement.needed {
        Some(needed) => format!(
            "\nto accept it, {}{}",
            site.write(&needed.to_string()),
            site.or_update()
        ),
        None if measurement.searched => format!(
            "\nthe search stops at FBA_MAX_BYTES={}: raise it to learn what the test needs",
            measurement.max_bytes
        ),
        None => "\nthe search is off (FBA_SEARCH=0 or search = false): turn it on to learn what the test needs".to_owned(),
    };
    if count_budget::exceeded(measurement)
        && let (Some(count), Some(limit)) = (measurement.allocations, measurement.allocation_limit)
    {
        text += &format!(
            "\nit also makes {}, allocation budget is {limit}: {}",
            plural(count, "allocation"),
            site.write_count(count)
        );
    }
    if let Some(sites) = &measurement.sites {
        text += &sites_text(sites, shown, measurement.breakdown.total());
    }
    text
}

/// The panic message of a test that makes more allocations than its count
/// budget.
pub(crate) fn too_many_allocations(site: &Site<'_>, measurement: &Measurement) -> String {
    let count = measurement.allocations.unwrap_or(0);
    let limit = measurement.allocation_limit.unwrap_or(0);
    let over = if limit == 0 {
        String::new()
    } else {
        format!(" (+{:.1}%)", percent(count - limit.min(count), limit))
    };
    format!(
        "allocation budget exceeded in {}: makes {}, budget is {limit}{over}\nto accept it, {}{}",
        site.name,
        plural(count, "allocation"),
        site.write_count(count),
        site.or_update()
    )
}

/// The panic message of a passing test whose count budget is far above
/// what it makes (`FBA_MAX_HEADROOM`).
pub(crate) fn stale_count(
    site: &Site<'_>,
    limit: usize,
    count: usize,
    headroom: f64,
    max: f64,
) -> String {
    format!(
        "allocation budget of {} is stale: makes {count} of {} allocations, {headroom:.1}% headroom, more than \
         FBA_MAX_HEADROOM={max}%\nto tighten it, {}{}",
        site.name,
        limit,
        site.write_count(count),
        site.or_update()
    )
}

/// The panic message of a test whose failure injection found runs that do
/// not handle their failed allocation, `shown` of them (`None`: all).
pub(crate) fn failures_not_handled(
    site: &Site<'_>,
    injection: &Injection,
    shown: Option<usize>,
) -> String {
    let failing = injection.failures.len();
    let mut text = format!(
        "memory budget test {} does not handle allocation failure: {} of {} failed ({})",
        site.name,
        plural(failing, "run"),
        injection.runs,
        injection.policy.option()
    );
    let count = shown.unwrap_or(failing).max(1).min(failing);
    for failure in &injection.failures[..count] {
        text += &format!("\n{}", injected_failure(failure, injection.allocations));
    }
    if failing > count {
        text += &format!("\n... and {}", plural(failing - count, "more run"));
    }
    let any = |kind: fn(&InjectedOutcome) -> bool| {
        injection
            .failures
            .iter()
            .any(|failure| kind(&failure.outcome))
    };
    if any(|outcome| matches!(outcome, InjectedOutcome::Aborted { .. })) {
        text += "\nan infallible API (`Vec::push`, `Box::new`, `format!`) aborts when its allocation fails: use the \
                 fallible form (`try_reserve`, `Box::try_new_in`) where the failure must be handled";
    }
    if any(|outcome| matches!(outcome, InjectedOutcome::Leaked { .. })) {
        text += "\nfree on the error path what the body allocated before the failure (without failures it frees \
                 every block)";
    }
    if any(|outcome| matches!(outcome, InjectedOutcome::Swallowed)) {
        text += &format!(
            "\na body that recovers from a failed allocation on purpose (a fallback, a retry) passes: {}",
            site.write_option("swallowed = \"allow\"")
        );
    }
    if any(|outcome| matches!(outcome, InjectedOutcome::NotReached { .. })) {
        text += "\na run that never reached its allocation made fewer allocations than the run without failures: \
                 the body's allocations are not deterministic";
    }
    text
}

/// `allocation 3 of 7 (24 bytes, align 8) at src/lib.rs:12 in app::parse
/// is not handled: the body panicked: ...`.
fn injected_failure(failure: &InjectedFailure, allocations: usize) -> String {
    let mut text = format!("allocation {} of {allocations}", failure.index);
    if let Some(layout) = failure.layout {
        text += &format!(" ({} bytes, align {})", layout.size(), layout.align());
    }
    if let Some(frame) = &failure.site {
        text += &place_text(frame);
    }
    text += &caller_text(failure.caller.as_ref());
    text += &match &failure.outcome {
        InjectedOutcome::Panicked { message } => {
            format!(" is not handled: the body panicked: {}", indented(message))
        }
        InjectedOutcome::Aborted { output } => {
            format!(
                " is not handled (the process aborted): {}",
                indented(output)
            )
        }
        InjectedOutcome::Leaked { blocks, bytes } => format!(
            " leaks: the body returned with {} ({bytes} bytes) still live",
            plural(*blocks, "block")
        ),
        InjectedOutcome::Swallowed => {
            " is swallowed: the body returned Ok although the allocation failed".to_owned()
        }
        InjectedOutcome::NotReached { failure } => format!(
            " was never made: the run made fewer allocations{}",
            failure
                .as_ref()
                .map(|failure| format!(", and failed: {}", indented(failure)))
                .unwrap_or_default()
        ),
        InjectedOutcome::Ended { output } => {
            format!(" ended the process: {}", indented(output))
        }
    };
    text
}

/// Text of several lines, its lines after the first indented.
fn indented(text: &str) -> String {
    text.trim_end().replace('\n', "\n    ")
}

/// What the bytes of a high-water mark were:
/// `at the high-water mark of 512 bytes: 300 live, 180 freed but not reclaimed, 32 padding`.
pub(crate) fn breakdown(breakdown: &Breakdown) -> String {
    format!(
        "at the high-water mark of {} bytes: {} live, {} freed but not reclaimed, {} padding",
        breakdown.total(),
        breakdown.live_bytes,
        breakdown.freed_bytes,
        breakdown.padding_bytes
    )
}

/// Where the bytes of a passing test's high-water mark go: the breakdown,
/// then `shown` sites of each kind, each line starting with a newline.
pub(crate) fn where_the_bytes_go(
    breakdown: &Breakdown,
    sites: &Sites,
    shown: Option<usize>,
) -> String {
    format!(
        "\n{}{}",
        self::breakdown(breakdown),
        sites_text(sites, shown, breakdown.total())
    )
}

/// The sites of the high-water mark `mark`, `shown` of each kind (`None`:
/// all), one per line, each line starting with a newline:
/// `  1024 bytes in 1 block at src/lib.rs:12 in my_crate::make_buffer`.
pub(crate) fn sites_text(sites: &Sites, shown: Option<usize>, mark: usize) -> String {
    let mut text = String::new();
    if sites.high_water_mark != mark {
        // The diagnostic run peaked elsewhere (its memory depends on timing).
        text += &format!(
            "\n(the sites are of a diagnostic run whose high-water mark was {} bytes)",
            sites.high_water_mark
        );
    }
    for (list, title) in [
        (
            &sites.live,
            "live at the high-water mark, by where it was allocated:",
        ),
        (
            &sites.freed,
            "freed but not reclaimed, by where it was allocated:",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        text += &format!("\n{title}");
        let count = shown.unwrap_or(list.len()).min(list.len());
        for site in &list[..count] {
            text += &format!("\n  {}", site_line(site));
        }
        if list.len() > count {
            text += &format!("\n  ... and {}", plural(list.len() - count, "more site"));
        }
    }
    if !sites.lines {
        text += "\n(places need debug info: `[profile.test] debug = true` is the default; for a --release test build \
                 set `[profile.release] debug = \"line-tables-only\"`)";
    }
    text
}

/// `1024 bytes in 1 block at src/lib.rs:12 in my_crate::make_buffer`, and
/// for a block a dependency allocated, `, called from src/lib.rs:30 in
/// my_crate::load`.
fn site_line(site: &AllocationSite) -> String {
    let place = match &site.frame {
        None => " at <unknown>".to_owned(),
        Some(frame) => place_text(frame),
    };
    format!(
        "{} bytes in {}{place}{}",
        site.bytes,
        plural(site.blocks, "block"),
        caller_text(site.caller.as_ref())
    )
}

/// ` at src/lib.rs:12 in my_crate::make_buffer`, or ` in my_crate::make_buffer`
/// without a line.
fn place_text(frame: &Frame) -> String {
    match (&frame.file, frame.line) {
        (Some(_), Some(_)) => format!(" at {}", frame_text(frame)),
        _ => format!(" in {}", frame_text(frame)),
    }
}

/// `, called from src/lib.rs:30 in my_crate::load`, or nothing.
fn caller_text(caller: Option<&Frame>) -> String {
    caller
        .map(|frame| format!(", called from {}", frame_text(frame)))
        .unwrap_or_default()
}

/// `src/lib.rs:12 in my_crate::make_buffer`, or the function alone without
/// a line.
fn frame_text(frame: &Frame) -> String {
    let function = frame.function.as_deref().unwrap_or("<unknown>");
    match (&frame.file, frame.line) {
        (Some(file), Some(line)) => format!("{file}:{line} in {function}"),
        _ => function.to_owned(),
    }
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
         FBA_MAX_HEADROOM={max}%\nto tighten it, {}{}",
        site.name,
        site.write(&minimum.to_string()),
        site.or_update()
    )
}

/// The panic message of a test whose memory use changed between trials.
pub(crate) fn not_deterministic(site: &Site<'_>, reason: &str) -> String {
    let runs = match site.declared {
        Declared::Attribute => format!(
            "judge the largest of several runs: write #[memory_budget(.., runs = 5)] at {}:{}",
            site.file, site.line
        ),
        Declared::Call(_) => "measure it in a #[memory_budget(.., runs = 5)] test, which judges the largest of several runs".to_owned(),
    };
    format!(
        "memory use of {} is not deterministic: {reason}\n\
         a budget test needs a body whose allocations depend only on its input; if they depend on a random \
         generator, give it a fixed seed (proptest: `TestRunner::deterministic()`); if they depend on thread \
         timing, {runs}",
        site.name
    )
}

/// The panic message of a run that could not be carried out.
pub(crate) fn unusable(site: &Site<'_>, reason: &str) -> String {
    format!("memory budget test {} could not run: {reason}", site.name)
}

/// The message for `verdict`, if it is a failure the runtime reports itself
/// (not a failure of the body, which is reported unchanged).
///
/// A `Failed` verdict is the body's own failure, which the test's result
/// carries, unless `passed` says that result passed: then a later run failed,
/// and its reason is the message. An over-budget message shows `shown`
/// allocation sites of each kind (`None`: all).
pub(crate) fn failure(
    site: &Site<'_>,
    measurement: &Measurement,
    passed: bool,
    shown: Option<usize>,
) -> Option<String> {
    let measured = |text: String| format!("{text}\nmeasured for {}", measurement.target);
    match &measurement.verdict {
        Verdict::Failed { reason } if passed => Some(reason.clone()),
        Verdict::OverBudget => Some(measured(over_budget(site, measurement, shown))),
        Verdict::NotDeterministic { reason } => Some(measured(not_deterministic(site, reason))),
        Verdict::Unusable { reason } => Some(unusable(site, reason)),
        Verdict::Leaked { reason } => Some(measured(format!(
            "memory budget test {} leaked: {reason}\n\
             free what the body allocates before it returns, or remove leaks = \"deny\"",
            site.name
        ))),
        Verdict::NotVerified { reason } => Some(measured(format!(
            "the minimum of memory budget test {} was not proved by failure: {reason}",
            site.name
        ))),
        Verdict::TooManyAllocations => Some(measured(too_many_allocations(site, measurement))),
        Verdict::FailureNotHandled { reason } => Some(measured(match &measurement.injection {
            Some(injection) => failures_not_handled(site, injection, shown),
            None => format!(
                "memory budget test {} does not handle allocation failure: {reason}",
                site.name
            ),
        })),
        Verdict::Passed | Verdict::Failed { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::{Frame, HeapProfile};
    use core::alloc::Layout;
    use fba_core::BudgetExceeded;

    /// The pass line without the target it ends with (which
    /// `every_line_says_what_target_it_was_measured_for` checks).
    fn pass_line(site: &Site<'_>, measurement: &Measurement) -> String {
        let line = super::pass_line(site, measurement);
        let target = format!("; measured for {}", crate::Target::this());
        line.strip_suffix(&target)
            .unwrap_or_else(|| panic!("{line:?} does not end with {target:?}"))
            .to_owned()
    }

    #[test]
    fn every_line_says_what_target_it_was_measured_for() {
        let m = Measurement {
            minimum: Some(64),
            trials: 3,
            ..measurement(Verdict::Passed)
        };
        let target = crate::Target::this();
        assert_eq!(target.pointer_width, usize::BITS);
        assert!(
            target
                .triple
                .contains(std::env::consts::ARCH.split('_').next().unwrap()),
            "{target}"
        );
        assert!(super::pass_line(&SITE, &m).ends_with(&format!(
            "; measured for {} ({}-bit)",
            target.triple,
            usize::BITS
        )));
        let over = Measurement {
            needed: Some(5120),
            ..measurement(Verdict::OverBudget)
        };
        let text = failure(&SITE, &over, false, Some(5)).unwrap();
        assert!(
            text.ends_with(&format!("\nmeasured for {target}")),
            "{text}"
        );
    }

    const SITE: Site<'static> = Site {
        name: "tests::parses_a_header",
        file: "src/lib.rs",
        line: 42,
        declared: Declared::Attribute,
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
    fn global_pass_line_adds_the_state_one_time_state_heap_escapes_and_verification() {
        let mut m = Measurement {
            minimum: Some(100),
            trials: 3,
            runs: 2,
            lowest_high_water_mark: 100,
            high_water_mark: 100,
            state: MeasuredState::SteadyState,
            one_time: Some(Blocks::new(1, 24, vec![Layout::new::<[u64; 3]>()])),
            verified_by_failure: true,
            ..measurement(Verdict::Passed)
        };
        m.heap = Some(HeapProfile {
            peak_live_bytes: 96,
            peak_live_blocks: 3,
            allocations: 5,
            largest_allocation: 64,
            escaped: Blocks::new(3, 24, vec![Layout::new::<u64>(), Layout::new::<u64>()]),
        });
        assert_eq!(
            pass_line(&SITE, &m),
            "memory_budget tests::parses_a_header: minimum 100 of 4096 bytes (2.4%) after a warm-up, 3 trials; \
             one-time state 1 block (24 bytes): 24 bytes (align 8); \
             peak 96 live bytes in 3 blocks, 5 allocations, largest 64 bytes; \
             3 blocks escaped (24 bytes): 8 bytes (align 8), 8 bytes (align 8), ...; verified by failure at 99 bytes"
        );
    }

    #[test]
    fn pass_line_of_several_runs_gives_their_range_and_of_a_cold_run_says_so() {
        let m = Measurement {
            minimum: Some(2727),
            high_water_mark: 2727,
            lowest_high_water_mark: 2679,
            runs: 5,
            trials: 6,
            state: MeasuredState::FirstRun,
            ..measurement(Verdict::Passed)
        };
        assert_eq!(
            pass_line(&SITE, &m),
            "memory_budget tests::parses_a_header: minimum 2727 of 4096 bytes (66.6%) on the first run (cold), \
             the largest of 5 runs (2679-2727 bytes), 6 trials"
        );
        let same = Measurement {
            lowest_high_water_mark: 2727,
            ..m
        };
        assert!(
            pass_line(&SITE, &same).contains("(cold), the same in 5 runs, 6 trials"),
            "{}",
            pass_line(&SITE, &same)
        );
    }

    #[test]
    fn not_deterministic_names_a_fixed_seed_runs_and_where_to_write_it() {
        assert_eq!(
            not_deterministic(&SITE, "it varied"),
            "memory use of tests::parses_a_header is not deterministic: it varied\n\
             a budget test needs a body whose allocations depend only on its input; if they depend on a random \
             generator, give it a fixed seed (proptest: `TestRunner::deterministic()`); if they depend on thread \
             timing, judge the largest of several runs: write #[memory_budget(.., runs = 5)] at src/lib.rs:42"
        );
    }

    fn site(
        bytes: usize,
        blocks: usize,
        frame: Option<(&str, Option<(&str, u32)>)>,
    ) -> AllocationSite {
        AllocationSite {
            bytes,
            blocks,
            frame: frame.map(|(function, place)| Frame {
                function: Some(function.to_owned()),
                file: place.map(|(file, _)| file.to_owned()),
                line: place.map(|(_, line)| line),
            }),
            caller: None,
            frames: Vec::new(),
        }
    }

    #[test]
    fn over_budget_says_what_is_needed_its_bytes_the_failing_allocation_what_to_write_and_where() {
        let m = Measurement {
            needed: Some(5120),
            breakdown: Breakdown {
                live_bytes: 5000,
                freed_bytes: 100,
                padding_bytes: 20,
            },
            sites: Some(Sites {
                live: vec![
                    site(4000, 1, Some(("app::header", Some(("src/lib.rs", 12))))),
                    site(600, 3, Some(("app::fields", Some(("src/lib.rs", 20))))),
                    site(400, 2, None),
                ],
                freed: vec![site(
                    100,
                    1,
                    Some(("app::scratch", Some(("src/lib.rs", 30)))),
                )],
                high_water_mark: 5120,
                lines: true,
            }),
            ..measurement(Verdict::OverBudget)
        };
        assert_eq!(
            over_budget(&SITE, &m, Some(2)),
            "memory budget exceeded in tests::parses_a_header: needs 5120 bytes, budget is 4096 bytes (+25.0%)\n\
             first failing allocation: 1024 bytes (align 8) with 3584 of 4096 bytes in use\n\
             at the high-water mark of 5120 bytes: 5000 live, 100 freed but not reclaimed, 20 padding\n\
             to accept it, write #[memory_budget(5120)] at src/lib.rs:42, or run the tests with FBA_UPDATE=1\n\
             live at the high-water mark, by where it was allocated:\n  \
             4000 bytes in 1 block at src/lib.rs:12 in app::header\n  \
             600 bytes in 3 blocks at src/lib.rs:20 in app::fields\n  \
             ... and 1 more site\n\
             freed but not reclaimed, by where it was allocated:\n  \
             100 bytes in 1 block at src/lib.rs:30 in app::scratch"
        );
    }

    #[test]
    fn sites_without_lines_name_their_function_or_unknown_and_say_what_lines_need() {
        let sites = Sites {
            live: vec![site(64, 1, Some(("app::header", None))), site(8, 1, None)],
            freed: Vec::new(),
            high_water_mark: 72,
            lines: false,
        };
        assert_eq!(
            sites_text(&sites, None, 72),
            "\nlive at the high-water mark, by where it was allocated:\n  \
             64 bytes in 1 block in app::header\n  \
             8 bytes in 1 block at <unknown>\n\
             (places need debug info: `[profile.test] debug = true` is the default; for a --release test build \
             set `[profile.release] debug = \"line-tables-only\"`)"
        );
    }

    /// A frame of `function` at `file:line`.
    fn frame_at(function: &str, file: &str, line: u32) -> Frame {
        Frame {
            function: Some(function.to_owned()),
            file: Some(file.to_owned()),
            line: Some(line),
        }
    }

    #[test]
    fn a_site_in_a_dependency_names_the_packages_line_that_called_it() {
        let json = "/home/u/.cargo/registry/src/index.crates.io-1/serde_json-1.0.0/src/read.rs";
        let sites = Sites {
            live: vec![AllocationSite {
                caller: Some(frame_at("app::load", "src/lib.rs", 30)),
                ..site(
                    256,
                    2,
                    Some(("serde_json::read::parse_str", Some((json, 7)))),
                )
            }],
            freed: Vec::new(),
            high_water_mark: 256,
            lines: true,
        };
        assert_eq!(
            sites_text(&sites, None, 256),
            format!(
                "\nlive at the high-water mark, by where it was allocated:\n  \
                 256 bytes in 2 blocks at {json}:7 in serde_json::read::parse_str, called from src/lib.rs:30 in app::load"
            )
        );
    }

    #[test]
    fn an_injected_failure_in_a_dependency_names_the_packages_line_that_called_it() {
        let json = "/home/u/.cargo/registry/src/index.crates.io-1/serde_json-1.0.0/src/de.rs";
        let failure = InjectedFailure {
            index: 2,
            layout: Some(Layout::new::<[u64; 16]>()),
            site: Some(frame_at("serde_json::de::from_str", json, 114)),
            caller: Some(frame_at("app::load", "src/lib.rs", 30)),
            frames: Vec::new(),
            outcome: InjectedOutcome::Panicked {
                message: "out of memory".to_owned(),
            },
        };
        assert_eq!(
            injected_failure(&failure, 3),
            format!(
                "allocation 2 of 3 (128 bytes, align 8) at {json}:114 in serde_json::de::from_str, \
                 called from src/lib.rs:30 in app::load is not handled: the body panicked: out of memory"
            )
        );
    }

    #[test]
    fn over_budget_past_the_search_bound_says_more_than_and_how_to_raise_it() {
        let m = measurement(Verdict::OverBudget);
        let text = over_budget(&SITE, &m, Some(5));
        assert!(text.starts_with("memory budget exceeded in tests::parses_a_header: needs more than 1073741824 bytes, budget is 4096 bytes\n"), "{text}");
        assert!(text.ends_with("the search stops at FBA_MAX_BYTES=1073741824: raise it to learn what the test needs"), "{text}");
    }

    #[test]
    fn over_budget_without_search_gives_a_lower_bound() {
        let m = Measurement {
            searched: false,
            ..measurement(Verdict::OverBudget)
        };
        let text = over_budget(&SITE, &m, Some(5));
        assert!(text.starts_with("memory budget exceeded in tests::parses_a_header: needs at least 4608 bytes, budget is 4096 bytes\n"), "{text}");
        assert!(
            text.ends_with("turn it on to learn what the test needs"),
            "{text}"
        );
    }
}
