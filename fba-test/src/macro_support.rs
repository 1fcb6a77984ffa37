//! What `#[memory_budget]` expands to calls: not a public API (the facade
//! re-exports it as `fba::__private`), and free to change with the macro.

use std::panic;

use fba_core::{FixedBufferAllocator, ThreadSafeFixedBufferAllocator};

use crate::global;
use crate::measurement::Verdict;
use crate::message::{self, Site};
use crate::outcome::Outcome;
use crate::search::{self, Run};
use crate::settings::Settings;
use crate::trial;

/// A budget test, as the attribute describes it.
#[derive(Clone, Copy, Debug)]
pub struct BudgetTest {
    /// `module_path!()` where the test is declared.
    pub module_path: &'static str,
    /// The function's name.
    pub function: &'static str,
    /// `file!()` of the attribute.
    pub file: &'static str,
    /// `line!()` of the attribute.
    pub line: u32,
    /// The declared budget in bytes.
    pub budget: usize,
    /// The `search = ...` option, if given.
    pub search: Option<bool>,
    /// `leaks = "deny"` (global mode).
    pub deny_leaks: bool,
    /// The `verify = ...` option, if given (global mode).
    pub verify: Option<bool>,
}

impl BudgetTest {
    /// The test's path as the test harness lists it: the module path without
    /// the crate's name, then the function (`tests::parses_a_header`).
    pub fn name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_crate, modules)) => format!("{modules}::{}", self.function),
            None => self.function.to_owned(),
        }
    }
}

/// Runs a budget test whose body takes a `&FixedBufferAllocator`.
#[track_caller]
pub fn run_fixed<R: Outcome>(
    test: &BudgetTest,
    body: impl FnMut(&FixedBufferAllocator<'_>) -> R,
) -> R {
    let settings = settings(test);
    let search = test.search.unwrap_or(true) && settings.search;
    finish(
        test,
        search::run(test.budget, search, settings, trial::fixed(body)),
    )
}

/// Runs a budget test whose body takes a `&ThreadSafeFixedBufferAllocator`.
#[track_caller]
pub fn run_thread_safe<R: Outcome>(
    test: &BudgetTest,
    body: impl FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> R {
    let settings = settings(test);
    let search = test.search.unwrap_or(true) && settings.search;
    finish(
        test,
        search::run(test.budget, search, settings, trial::thread_safe(body)),
    )
}

/// Runs a budget test without an allocator parameter: global-allocator mode.
#[track_caller]
pub fn run_global<R: Outcome>(test: &BudgetTest, mut body: impl FnMut() -> R) -> R {
    let name = test.name();
    let site = Site {
        name: &name,
        file: test.file,
        line: test.line,
    };
    if let Some(capacity) = global::child_capacity() {
        // A verification child: one run in a buffer of exactly this size.
        let result = capacity
            .map_err(|error| error.to_string())
            .and_then(|capacity| global::run_as_child(capacity, &mut body));
        return result.unwrap_or_else(|reason| panic!("{}", message::unusable(&site, &reason)));
    }
    let settings = settings(test);
    let search = test.search.unwrap_or(true) && settings.search;
    let verify = test
        .verify
        .unwrap_or(settings.verify)
        .then_some(name.as_str());
    let leaks = if test.deny_leaks {
        global::Leaks::Deny
    } else {
        global::Leaks::Allow
    };
    let plan = global::Plan {
        limit: test.budget,
        search,
        leaks,
        verify,
        settings,
    };
    let (measurement, at_limit) = global::measure(plan, body);
    finish(
        test,
        Run {
            measurement,
            at_limit,
        },
    )
}

#[track_caller]
fn settings(test: &BudgetTest) -> Settings {
    match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            let name = test.name();
            let site = Site {
                name: &name,
                file: test.file,
                line: test.line,
            };
            panic!("{}", message::unusable(&site, &error.to_string()))
        }
    }
}

/// Reports a run as the test's result: the pass line, the body's own
/// failure unchanged, or the runtime's failure message.
#[track_caller]
fn finish<R: Outcome>(test: &BudgetTest, run: Run<R>) -> R {
    let name = test.name();
    let site = Site {
        name: &name,
        file: test.file,
        line: test.line,
    };
    let measurement = run.measurement;
    if let Some(text) = message::failure(&site, &measurement) {
        panic!("{text}");
    }
    match run.at_limit {
        Some(Ok(returned)) => {
            if measurement.verdict == Verdict::Passed {
                println!("{}", message::pass_line(&site, &measurement));
            }
            // A failure the body returned (`Err`) fails the test as `#[test]` does.
            returned
        }
        // The body's own panic, unchanged (its message was printed when it happened).
        Some(Err(payload)) => panic::resume_unwind(payload),
        None => unreachable!("a run without a trial at the limit is unusable"),
    }
}
