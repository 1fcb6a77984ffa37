//! Failure injection, Zig's `std.testing.checkAllAllocationFailures`: after
//! the usual trials, the body runs once per allocation i of the N it makes,
//! with allocation i failed (`fail_each_allocation`) or every allocation
//! from i on (`fail_from_allocation`, for code that retries). Each run must
//! end without a panic, and without leaking blocks when the body frees all
//! it allocates; a run that returns `Ok` although an allocation failed
//! swallowed the failure (unless `swallowed = "allow"`). A body of more
//! than `FBA_MAX_INJECTIONS` allocations has that many failed, spread
//! evenly.
//!
//! A test's runs happen in child processes: an infallible API (`Vec::push`)
//! that gets the failure ends its process in `handle_alloc_error`'s abort,
//! which is then the run's outcome, and the sweep goes on in a new child.
//! After the sweep, one more run in this process records where the failed
//! allocations of the failing runs were made.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::process::Output;

use fba_core::{FailAllocation, Stats};
use serde::{Deserialize, Serialize};

use crate::child::{self, Role};
use crate::measurement::{Frame, Measurement, Verdict};
use crate::message::plural;
use crate::outcome::Outcome;
use crate::quiet::Printing;
use crate::sites::{Picked, Recorder};
use crate::trial::Watch;

/// How failure injection fails allocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Run i fails allocation i, and only it
    /// (`fail_each_allocation = true`).
    EachAllocation,
    /// Run i fails allocation i and every allocation after it
    /// (`fail_from_allocation = true`): SQLite's "persistent" failures, for
    /// code that retries.
    FromAllocation,
}

impl FailurePolicy {
    /// What the allocator fails in the run for allocation `index`.
    pub(crate) fn at(self, index: usize) -> FailAllocation {
        match self {
            FailurePolicy::EachAllocation => FailAllocation::Only(index),
            FailurePolicy::FromAllocation => FailAllocation::From(index),
        }
    }

    /// The option of the attribute that asks for it.
    pub(crate) fn option(self) -> &'static str {
        match self {
            FailurePolicy::EachAllocation => "fail_each_allocation",
            FailurePolicy::FromAllocation => "fail_from_allocation",
        }
    }
}

/// What failure injection found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Injection {
    /// Which allocations each run failed.
    pub policy: FailurePolicy,
    /// The allocations the body makes without failures: N.
    pub allocations: usize,
    /// The runs made, one per allocation failed: N, or `FBA_MAX_INJECTIONS`
    /// of them spread evenly over 1..=N.
    pub runs: usize,
    /// Whether the allocations failed were a sample.
    pub sampled: bool,
    /// Whether runs were checked for leaks: only when the body, run without
    /// failures, frees every block it allocates (an arena-style body that
    /// keeps its blocks until the allocator goes is not checked).
    pub leaks_checked: bool,
    /// The runs that did not handle their failure, by index.
    pub failures: Vec<InjectedFailure>,
}

/// A run that did not handle the allocation failed in it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InjectedFailure {
    /// Which allocation failed (from 1).
    pub index: usize,
    /// Its layout, where the recording run saw it.
    pub layout: Option<Layout>,
    /// Where it was made: the first frame in the user's code.
    pub site: Option<Frame>,
    /// Where the package's own code called the dependency `site` is in, when
    /// it is a dependency's (a registry crate's, a git checkout's).
    pub caller: Option<Frame>,
    /// The whole stack of the allocation, innermost first.
    pub frames: Vec<Frame>,
    /// What the run did instead of handling it.
    pub outcome: InjectedOutcome,
}

/// How a run failed to handle its injected failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum InjectedOutcome {
    /// The body panicked.
    Panicked {
        /// Its panic message.
        message: String,
    },
    /// The body returned with blocks still live that it frees when nothing
    /// fails.
    Leaked {
        /// How many blocks.
        blocks: usize,
        /// Their bytes.
        bytes: usize,
    },
    /// The body returned `Ok` although the allocation failed.
    Swallowed,
    /// The process ended in an abort: an infallible API got the failure.
    Aborted {
        /// The last lines the process wrote (`memory allocation of 24 bytes
        /// failed`).
        output: String,
    },
    /// The run made fewer than `index` allocations, so nothing was failed,
    /// and failed or passed on its own: its allocations are not
    /// deterministic.
    NotReached {
        /// How it failed, if it did.
        failure: Option<String>,
    },
    /// The child process ended some other way (a signal, a timeout).
    Ended {
        /// Its exit status and last lines.
        output: String,
    },
}

/// How a test's failure injection goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) policy: FailurePolicy,
    pub(crate) allow_swallowed: bool,
    /// The most runs (`FBA_MAX_INJECTIONS`).
    pub(crate) max_runs: usize,
}

/// Where the runs happen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place<'a> {
    /// In child processes running the test `name` again.
    Children { name: &'a str },
    /// In this process (`fba::Budget`, without a test to run again): an
    /// unhandled failure of an infallible API aborts it.
    Here,
}

/// A body's runs, for failure injection.
pub(crate) trait Runs {
    /// Runs the body once with the allocations `failing` names failed, as
    /// the run of allocation `index`.
    fn failing(&mut self, failing: FailAllocation, index: usize) -> Facts;

    /// Runs the body once without failures, recording where its
    /// allocations numbered `ordinals` are made.
    fn pick(&mut self, ordinals: Vec<usize>) -> Vec<Picked>;
}

/// An explicit-mode body's runs: trials at the limit.
pub(crate) struct Trials<'a, T, R> {
    trials: &'a mut T,
    limit: usize,
    returns: PhantomData<fn() -> R>,
}

impl<'a, T, R> Trials<'a, T, R> {
    pub(crate) fn new(trials: &'a mut T, limit: usize) -> Self {
        Trials {
            trials,
            limit,
            returns: PhantomData,
        }
    }
}

impl<R: Outcome, T: crate::trial::Trials<R>> Runs for Trials<'_, T, R> {
    fn failing(&mut self, failing: FailAllocation, index: usize) -> Facts {
        let run = (self.trials)(self.limit, Printing::Quiet, Watch::failing(failing));
        Facts::of(
            index,
            run.map(|trial| (trial.result, trial.stats))
                .map_err(|unavailable| unavailable.to_string()),
        )
    }

    fn pick(&mut self, ordinals: Vec<usize>) -> Vec<Picked> {
        let recorder = Recorder::picking(ordinals);
        drop((self.trials)(
            self.limit,
            Printing::Quiet,
            Watch::recorded(&recorder),
        ));
        // Resolving stacks allocates: the runtime's work, outside any budget.
        crate::global::suspended(|| crate::sites::picked(recorder.take()))
    }
}

/// A global-mode body's runs, in regions of `max_bytes`.
pub(crate) struct GlobalRuns<'a, B> {
    pub(crate) body: &'a mut B,
    pub(crate) limit: usize,
    pub(crate) max_bytes: usize,
}

impl<R: Outcome, B: FnMut() -> R> GlobalRuns<'_, B> {
    /// A first run in this process, in which nothing fails, so that the
    /// sweep's runs are of the steady state the measurement was.
    pub(crate) fn warm_up(&mut self) {
        // Allocations are counted from 1: allocation 0 is never made.
        drop(self.failing(FailAllocation::Only(0), 0));
    }
}

impl<R: Outcome, B: FnMut() -> R> Runs for GlobalRuns<'_, B> {
    fn failing(&mut self, failing: FailAllocation, index: usize) -> Facts {
        let run =
            crate::global::observe_failing(self.body, self.max_bytes, failing, Printing::Quiet);
        Facts::of(
            index,
            run.map(|(observed, result)| (result, observed.stats))
                .map_err(|error| error.to_string()),
        )
    }

    fn pick(&mut self, ordinals: Vec<usize>) -> Vec<Picked> {
        crate::global::pick(self.body, self.limit, self.max_bytes, ordinals).unwrap_or_default()
    }
}

/// What a run did, as a child reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Facts {
    pub(crate) index: usize,
    /// Failures injected (0: the run never reached allocation `index`).
    pub(crate) injected: usize,
    /// Blocks still live, and their bytes, when the body returned.
    pub(crate) live_blocks: usize,
    pub(crate) live_bytes: usize,
    /// The body's panic message.
    pub(crate) panic: Option<String>,
    /// The body's failure without a panic (an `Err` returned, `false`).
    pub(crate) failure: Option<String>,
}

impl Facts {
    /// The facts of the run of allocation `index`: its body ended with
    /// `result`, its allocator with `stats`; or, `Err`, it could not run.
    fn of<R: Outcome>(index: usize, run: Result<(std::thread::Result<R>, Stats), String>) -> Facts {
        let (result, stats) = match run {
            Ok(run) => run,
            Err(reason) => {
                return Facts {
                    index,
                    panic: Some(reason),
                    ..Facts::default()
                };
            }
        };
        let (panic, failure) = match &result {
            Err(payload) => (Some(crate::trial::panic_message(payload.as_ref())), None),
            Ok(returned) => (None, returned.failure()),
        };
        Facts {
            index,
            injected: stats.injected_failures,
            live_blocks: stats.live_allocations,
            live_bytes: stats.live_bytes,
            panic,
            failure,
        }
    }

    /// Whether the run handled its failure under any plan: it returned a
    /// failure for the one injected, with nothing left live.
    fn plainly_handled(&self) -> bool {
        self.panic.is_none() && self.failure.is_some() && self.injected > 0 && self.live_blocks == 0
    }
}

/// The verdict on one run, `None` when it handled its failure.
fn judge(facts: &Facts, plan: Plan, leaks_checked: bool) -> Option<InjectedOutcome> {
    if let Some(message) = &facts.panic {
        return Some(InjectedOutcome::Panicked {
            message: message.clone(),
        });
    }
    if facts.injected == 0 {
        return Some(InjectedOutcome::NotReached {
            failure: facts.failure.clone(),
        });
    }
    if leaks_checked && facts.live_blocks > 0 {
        return Some(InjectedOutcome::Leaked {
            blocks: facts.live_blocks,
            bytes: facts.live_bytes,
        });
    }
    if facts.failure.is_none() && !plan.allow_swallowed {
        return Some(InjectedOutcome::Swallowed);
    }
    None
}

/// The allocations to fail, one run each: all of 1..=`allocations`, or
/// `max_runs` of them spread evenly, the first and the last included.
pub(crate) fn indices(allocations: usize, max_runs: usize) -> Vec<usize> {
    if allocations <= max_runs {
        return (1..=allocations).collect();
    }
    if max_runs == 1 {
        return vec![1];
    }
    (0..max_runs)
        .map(|k| 1 + k * (allocations - 1) / (max_runs - 1))
        .collect()
}

/// The prefix of the lines on which an injecting child reports.
const LINE: &str = "fba-child-injection: ";

/// Runs failure injection for a body whose clean run (the measurement's)
/// left `left_live` blocks live, with `runs` (here, or to pick the places
/// of the failing runs' allocations after a sweep in child processes).
/// Fills in the measurement's injection and verdict.
pub(crate) fn inject(
    measurement: &mut Measurement,
    plan: Plan,
    place: Place<'_>,
    left_live: usize,
    runs: &mut impl Runs,
) {
    let allocations = measurement.allocations.unwrap_or(0);
    let indices = indices(allocations, plan.max_runs);
    let leaks_checked = left_live == 0;
    let outcomes = match place {
        Place::Here => Ok(indices
            .iter()
            .filter_map(|&index| {
                let facts = runs.failing(plan.policy.at(index), index);
                judge(&facts, plan, leaks_checked).map(|outcome| (index, outcome))
            })
            .collect()),
        Place::Children { name } => in_children(name, plan, allocations, &indices, leaks_checked),
    };
    measurement.trials += indices.len();
    let outcomes: Vec<(usize, InjectedOutcome)> = match outcomes {
        Ok(outcomes) => outcomes,
        Err(reason) => {
            measurement.verdict = Verdict::Unusable { reason };
            return;
        }
    };
    let mut failures: Vec<InjectedFailure> = outcomes
        .into_iter()
        .map(|(index, outcome)| InjectedFailure {
            index,
            layout: None,
            site: None,
            caller: None,
            frames: Vec::new(),
            outcome,
        })
        .collect();
    if !failures.is_empty() {
        measurement.trials += 1;
        let wanted = failures
            .iter()
            .take(PICKED)
            .map(|failure| failure.index)
            .collect();
        for picked in runs.pick(wanted) {
            if let Some(failure) = failures
                .iter_mut()
                .find(|failure| failure.index == picked.ordinal)
            {
                failure.layout = Some(picked.layout);
                failure.site = picked.frame;
                failure.caller = picked.caller;
                failure.frames = picked.frames;
            }
        }
    }
    let injection = Injection {
        policy: plan.policy,
        allocations,
        runs: indices.len(),
        sampled: indices.len() < allocations,
        leaks_checked,
        failures,
    };
    if !injection.failures.is_empty() {
        measurement.verdict = Verdict::FailureNotHandled {
            reason: format!(
                "{} of {} did not handle the failure",
                plural(injection.failures.len(), "run"),
                injection.runs
            ),
        };
    }
    measurement.injection = Some(injection);
}

/// How many failing runs get the place of their failed allocation.
const PICKED: usize = 100;

/// The sweep in child processes, a new one after each that ends early.
fn in_children(
    name: &str,
    plan: Plan,
    allocations: usize,
    indices: &[usize],
    leaks_checked: bool,
) -> Result<Vec<(usize, InjectedOutcome)>, String> {
    let mut outcomes = Vec::new();
    let mut from = 0;
    while from < indices.len() {
        let ended = child::run(
            name,
            Role::Inject {
                policy: plan.policy,
                allocations,
                runs: indices.len(),
                from,
            },
        )?;
        let output = ended.output;
        let report = Report::read(&output);
        for facts in &report.facts {
            if let Some(outcome) = judge(facts, plan, leaks_checked) {
                outcomes.push((facts.index, outcome));
            }
        }
        if report.done {
            break;
        }
        let Some(position) = report.started else {
            return Err(format!(
                "the child process that injects allocation failures ended before its first run ({}):\n{}",
                output.status,
                child::output_text(&output)
            ));
        };
        let index = indices[position];
        let last_words = last_words(&output);
        outcomes.push((
            index,
            if ended.stopped {
                InjectedOutcome::Ended {
                    output: format!("{} (the run did not end)", child::stopped_text()),
                }
            } else if child::aborted(&output) {
                InjectedOutcome::Aborted { output: last_words }
            } else {
                InjectedOutcome::Ended {
                    output: format!("{}: {last_words}", output.status),
                }
            },
        ));
        from = position + 1;
    }
    Ok(outcomes)
}

/// What an injecting child printed.
struct Report {
    facts: Vec<Facts>,
    /// The position in the sweep of the last run it started.
    started: Option<usize>,
    done: bool,
}

impl Report {
    fn read(output: &Output) -> Report {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut report = Report {
            facts: Vec::new(),
            started: None,
            done: false,
        };
        // A line may follow libtest's `test <name> ... ` on the same line.
        for line in stdout.lines() {
            let Some((_, line)) = line.split_once(LINE) else {
                continue;
            };
            if let Some(position) = line.strip_prefix("start ") {
                report.started = position.trim().parse().ok();
            } else if line.trim() == "done" {
                report.done = true;
            } else if let Ok(facts) = serde_json::from_str(line) {
                report.facts.push(facts);
            }
        }
        report
    }
}

/// The last lines of what a child wrote to stderr (an abort's
/// `memory allocation of 24 bytes failed`), without the runtime's.
fn last_words(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            !line.trim().is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE")
        })
        .collect();
    let start = lines.len().saturating_sub(3);
    let text = lines[start..].join("\n");
    if text.is_empty() {
        "(it printed nothing)".to_owned()
    } else {
        text
    }
}

/// Plays an injecting child's part: the runs of the sweep from `from` on,
/// reported one line each; then the process ends (a run that aborts it
/// ends it sooner, and the parent goes on from the next).
pub(crate) fn act(role: Role, runs: &mut impl Runs) -> ! {
    let Role::Inject {
        policy,
        allocations,
        runs: sweep,
        from,
    } = role
    else {
        unreachable!("an injecting child plays the inject role");
    };
    let indices = indices(allocations, sweep.max(1));
    for (position, &index) in indices.iter().enumerate().skip(from) {
        println!("{LINE}start {position}");
        let facts = runs.failing(policy.at(index), index);
        if !facts.plainly_handled() {
            let line = serde_json::to_string(&facts).unwrap_or_default();
            println!("{LINE}{line}");
        }
    }
    println!("{LINE}done");
    std::process::exit(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allocation_is_failed_up_to_the_most_runs_then_a_spread_with_both_ends() {
        assert_eq!(indices(0, 10), Vec::<usize>::new());
        assert_eq!(indices(4, 10), vec![1, 2, 3, 4]);
        assert_eq!(indices(10, 10), (1..=10).collect::<Vec<_>>());
        // 1 + k * 99 / 4 for k = 0..5.
        assert_eq!(indices(100, 5), vec![1, 25, 50, 75, 100]);
        assert_eq!(indices(100, 1), vec![1]);
        let spread = indices(1_000_003, 10_000);
        assert_eq!(spread.len(), 10_000);
        assert!(spread.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!((spread[0], spread[9_999]), (1, 1_000_003));
    }

    const PLAN: Plan = Plan {
        policy: FailurePolicy::EachAllocation,
        allow_swallowed: false,
        max_runs: 10,
    };

    fn facts(injected: usize, live: usize, panic: Option<&str>, failure: Option<&str>) -> Facts {
        Facts {
            index: 3,
            injected,
            live_blocks: live,
            live_bytes: live * 8,
            panic: panic.map(str::to_owned),
            failure: failure.map(str::to_owned),
        }
    }

    #[test]
    fn a_run_handles_its_failure_by_failing_without_a_panic_or_a_leak() {
        let handled = facts(1, 0, None, Some("AllocError"));
        assert!(handled.plainly_handled());
        assert_eq!(judge(&handled, PLAN, true), None);
        assert_eq!(
            judge(&facts(1, 0, Some("unwrap on Err"), None), PLAN, true),
            Some(InjectedOutcome::Panicked {
                message: "unwrap on Err".to_owned()
            })
        );
        assert_eq!(
            judge(&facts(1, 2, None, Some("AllocError")), PLAN, true),
            Some(InjectedOutcome::Leaked {
                blocks: 2,
                bytes: 16
            })
        );
        // An arena-style body keeps its blocks: no leak check.
        assert_eq!(
            judge(&facts(1, 2, None, Some("AllocError")), PLAN, false),
            None
        );
        assert_eq!(
            judge(&facts(1, 0, None, None), PLAN, true),
            Some(InjectedOutcome::Swallowed)
        );
        let allowing = Plan {
            allow_swallowed: true,
            ..PLAN
        };
        assert_eq!(judge(&facts(1, 0, None, None), allowing, true), None);
        assert_eq!(
            judge(&facts(0, 0, None, None), allowing, true),
            Some(InjectedOutcome::NotReached { failure: None })
        );
    }

    #[test]
    fn a_childs_report_is_read_from_its_lines() {
        let facts = facts(1, 0, Some("boom"), None);
        let stdout = format!(
            "running 1 test\ntest tests::f ... {LINE}start 0\n{LINE}{}\n{LINE}start 1\n",
            serde_json::to_string(&facts).unwrap()
        );
        let output = Output {
            status: std::process::ExitStatus::default(),
            stdout: stdout.into_bytes(),
            stderr: b"\nmemory allocation of 24 bytes failed\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n".to_vec(),
        };
        let report = Report::read(&output);
        assert_eq!(report.facts, vec![facts]);
        assert_eq!((report.started, report.done), (Some(1), false));
        assert_eq!(last_words(&output), "memory allocation of 24 bytes failed");
    }
}
