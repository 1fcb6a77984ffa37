//! A budget as an assertion, for each input of a property test (`proptest!`,
//! quickcheck) or a loop: [`assert_budget`] and [`assert_budget_global`]
//! measure one body, pass it on with its [`Measurement`], and fail it with
//! the standard message (a panic, which a property framework shrinks on).
//!
//! The calls of one test at one call site add up to one report row: the
//! largest minimum over its inputs (or the first that failed), with their
//! count (`cases`). The harness's table has it at once; `FBA_REPORT` gets it
//! when the test's thread ends (libtest runs each test on a thread of its
//! own and waits for it to end), or, in the budget harness, when the test
//! ends. Rows of calls outside any test's thread (a program's `main`) are
//! only in the table.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{self, Location};
use std::thread;

use fba_core::FixedBufferAllocator;

use crate::global;
use crate::measurement::Measurement;
use crate::message::{self, Declared, Site};
use crate::outcome::Outcome;
use crate::output;
use crate::report::{self, Row};
use crate::search;
use crate::settings::{Reporting, Settings};
use crate::trial;

/// Measures `body` as `#[memory_budget(limit)]` measures a test, and fails
/// (panics) with the standard message when it needs more than `limit`
/// bytes, when its memory use is not deterministic, or when it fails for
/// another reason (its own panic, unchanged). Returns the measurement of a
/// body that passed.
///
/// Inside `proptest!` the failing input is shrunk to the smallest one over
/// the budget. The calls of one test add up to one report row (`FBA_REPORT`,
/// the harness's table): the largest minimum over its inputs.
///
/// # Panics
///
/// When the body does not pass within `limit` bytes.
///
/// # Examples
///
/// ```
/// use fba::allocator_api2::vec::Vec;
///
/// for fields in 1..=8 {
///     let measurement = fba::assert_budget(256, |alloc| {
///         let mut header = Vec::with_capacity_in(fields, alloc);
///         header.extend((0..fields).map(|field| field as u64));
///     });
///     assert_eq!(measurement.minimum, Some(fields * 8));
/// }
/// ```
#[track_caller]
pub fn assert_budget<R: Outcome>(
    limit: usize,
    body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
) -> Measurement {
    let location = Location::caller();
    let settings = settings(location, "assert_budget");
    let run = search::run(
        limit,
        settings.search,
        1,
        settings,
        settings.sites.for_assertions(),
        trial::fixed(body),
    );
    conclude(location, "assert_budget", run.measurement, run.at_limit)
}

/// [`assert_budget`] for a body that allocates through the global
/// allocator, measured as a `#[memory_budget(limit)]` test without a
/// parameter measures it (after a warm-up, with a second run to check it is
/// stable). [`GlobalBudget`](crate::GlobalBudget) must be the global
/// allocator.
///
/// # Panics
///
/// When the body does not pass within `limit` bytes.
///
/// # Examples
///
/// ```
/// #[global_allocator]
/// static GLOBAL: fba::GlobalBudget = fba::GlobalBudget::system();
///
/// for words in 1..=4 {
///     let measurement = fba::assert_budget_global(1024, || {
///         let sentence: Vec<String> = (0..words).map(|word| word.to_string()).collect();
///         assert_eq!(sentence.len(), words);
///     });
///     // One `String` header (24 bytes) and one digit per word.
///     assert_eq!(measurement.minimum, Some(words * 24 + words));
/// }
/// ```
#[track_caller]
pub fn assert_budget_global<R: Outcome>(limit: usize, body: impl FnMut() -> R) -> Measurement {
    let location = Location::caller();
    let settings = settings(location, "assert_budget_global");
    let plan = global::Plan::new(limit, settings, settings.sites.for_assertions());
    let (measurement, result) = global::suspended(|| global::measure(plan, body));
    conclude(location, "assert_budget_global", measurement, result)
}

/// The name of the enclosing test: the test harness names the thread that
/// runs a test after it.
fn enclosing_test() -> String {
    if let Some(name) = output::current_test() {
        return name;
    }
    thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("<no test>")
        .to_owned()
}

/// Writes the rows of the tests this thread has run: the budget harness
/// calls it at the end of each test (its threads outlive the tests).
pub(crate) fn test_ended() {
    let _ = PENDING.try_with(|pending| global::suspended(|| pending.borrow_mut().flush(None)));
}

fn settings(location: &'static Location<'static>, function: &'static str) -> Settings {
    Settings::from_env().unwrap_or_else(|error| {
        let name = enclosing_test();
        panic!(
            "{}",
            message::unusable(&site(&name, location, function), &error.to_string())
        )
    })
}

fn site<'a>(
    name: &'a str,
    location: &'static Location<'static>,
    function: &'static str,
) -> Site<'a> {
    Site {
        name,
        file: location.file(),
        line: location.line(),
        declared: Declared::Call(function),
    }
}

/// The inputs one test has measured at one call site so far.
struct Cases {
    count: usize,
    trials: usize,
    /// The row so far: of the input with the largest minimum, or the first
    /// that failed.
    row: Row,
}

/// A test and a call site: `(test, file, line)`.
type CallSite = (String, &'static str, u32);

/// The cases of the tests this thread ran, written to the report when the
/// thread ends.
#[derive(Default)]
struct Pending(HashMap<CallSite, Cases>);

impl Pending {
    /// Writes the rows of every test but `keep`'s to the report.
    fn flush(&mut self, keep: Option<&str>) {
        let done: Vec<CallSite> = self
            .0
            .keys()
            .filter(|site| Some(site.0.as_str()) != keep)
            .cloned()
            .collect();
        let path = Reporting::from_env()
            .ok()
            .and_then(|reporting| reporting.report);
        for site in done {
            let Some(cases) = self.0.remove(&site) else {
                continue;
            };
            if let Some(path) = &path
                && let Err(reason) = report::append(path, &cases.row)
            {
                // The test has passed: say what was lost, do not fail it.
                eprintln!(
                    "fba: the report row of {} was not written: {reason}",
                    site.0
                );
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        global::suspended(|| self.flush(None));
    }
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

#[track_caller]
fn conclude<R: Outcome>(
    location: &'static Location<'static>,
    function: &'static str,
    measurement: Measurement,
    result: Option<thread::Result<R>>,
) -> Measurement {
    let name = enclosing_test();
    let site = site(&name, location, function);
    // The runtime's own work (messages, the report) is outside any budget.
    let failure = global::suspended(|| {
        // A malformed report variable fails the test now, not at its end.
        Reporting::from_env().map_err(|error| message::unusable(&site, &error.to_string()))?;
        let row = Row::new(name.clone(), site.file, site.line, &measurement);
        fold(&name, location, row, measurement.trials);
        let shown = crate::settings::Sites::shown_from_env();
        match message::failure(&site, &measurement, crate::run::passed(&result), shown) {
            Some(text) => Err(text),
            None => Ok(()),
        }
    });
    if let Err(text) = failure {
        panic!("{text}");
    }
    match result {
        Some(Ok(returned)) => match returned.failure() {
            Some(reason) => panic!("{reason}"),
            None => measurement,
        },
        Some(Err(payload)) => panic::resume_unwind(payload),
        None => panic!("{}", message::unusable(&site, "the body did not run")),
    }
}

/// Adds an input's `row` to its test's cases, for the harness's table at
/// once and for the report when the test's thread ends.
fn fold(name: &str, location: &'static Location<'static>, mut row: Row, trials: usize) {
    let site = (name.to_owned(), location.file(), location.line());
    let folded = PENDING.try_with(|pending| {
        let mut pending = pending.borrow_mut();
        // A thread that runs another test now (a harness's worker thread)
        // has finished the earlier ones.
        pending.flush(Some(name));
        let cases = pending.0.entry(site).or_insert_with(|| Cases {
            count: 0,
            trials: 0,
            row: row.clone(),
        });
        cases.count += 1;
        cases.trials += trials;
        let failed_first = row.verdict != "passed" && cases.row.verdict == "passed";
        let larger = row.verdict == "passed"
            && cases.row.verdict == "passed"
            && row.minimum.unwrap_or(row.high_water_mark)
                > cases.row.minimum.unwrap_or(cases.row.high_water_mark);
        if cases.count == 1 || failed_first || larger {
            cases.row = row.clone();
        }
        cases.row.cases = Some(cases.count);
        cases.row.trials = cases.trials;
        cases.row.clone()
    });
    // During the thread's teardown the row goes to the table alone.
    row.cases = Some(1);
    report::keep(folded.unwrap_or(row));
}
