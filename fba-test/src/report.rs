//! Reports: one row per budget test run, kept for the harness's table and,
//! with `FBA_REPORT=<path>`, appended to a JSON Lines file. Tests run in
//! parallel threads and, under nextest, in parallel processes: each row is
//! one line, written with one `write` while the file is locked, so no row is
//! lost or torn.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use fba_core::Breakdown;

use crate::injection::{FailurePolicy, InjectedOutcome, Injection};
use crate::measurement::{Blocks, Frame, MeasuredState, Measurement, Sites, Verdict};
use crate::profile::Profile;

/// One budget test's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Row {
    /// The version of this format ([`SCHEMA`]).
    pub(crate) schema: u32,
    /// The test's path, as the test harness lists it.
    pub(crate) test: String,
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) declared: usize,
    pub(crate) minimum: Option<usize>,
    pub(crate) needed: Option<usize>,
    /// The largest high-water mark of the measuring runs.
    pub(crate) high_water_mark: usize,
    /// The smallest: differs only for a body whose memory depends on timing.
    pub(crate) lowest_high_water_mark: usize,
    pub(crate) runs: usize,
    pub(crate) trials: usize,
    /// `fresh allocator` (explicit mode), `steady state` (global mode,
    /// after a warm-up) or `first run` (global mode, `cold = true`).
    pub(crate) measured: &'static str,
    /// `passed`, `over budget`, `too many allocations`, `failure not
    /// handled`, `failed`, `not deterministic`, `leaked`, `not verified`,
    /// `unusable`, `stale` or `updated`.
    pub(crate) verdict: &'static str,
    /// The value the budget was rewritten to (`FBA_UPDATE=1`).
    pub(crate) updated_to: Option<usize>,
    pub(crate) buffer_alignment: usize,
    /// The target triple it was measured for, and its pointer width.
    pub(crate) target: &'static str,
    pub(crate) pointer_width: u32,
    pub(crate) verified_by_failure: bool,
    pub(crate) allocator: AllocatorRow,
    pub(crate) heap: Option<HeapRow>,
    /// Global mode: what the first run left allocated that later runs did
    /// not.
    pub(crate) one_time: Option<BlocksRow>,
    /// `fba::assert_budget`: how many inputs (cases) the row sums up, the
    /// largest minimum of them.
    pub(crate) cases: Option<usize>,
    /// What the bytes of the minimum (or of what is needed) were at that
    /// high-water mark.
    #[serde(with = "crate::global::BreakdownDef")]
    pub(crate) at_high_water: Breakdown,
    /// Where they were allocated (the diagnostic trial).
    pub(crate) sites: Option<Sites>,
    /// How many allocations the body makes, against its count budget.
    pub(crate) allocations: Option<CountRow>,
    /// What failure injection found.
    pub(crate) injection: Option<InjectionRow>,
    /// How the buffer filled over a run (`FBA_PROFILE=1`).
    pub(crate) profile: Option<Profile>,
}

/// The version of the report's rows: 1 since rows carry it (rows without
/// the field are read as version 0).
pub(crate) const SCHEMA: u32 = 1;

/// The allocations a body makes and its count budget (`allocations = N`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct CountRow {
    pub(crate) count: usize,
    pub(crate) budget: Option<usize>,
    /// `within budget`, `over budget`, `stale` or `updated` (with a
    /// budget).
    pub(crate) verdict: Option<&'static str>,
    /// The value the count budget was rewritten to (`FBA_UPDATE=1`).
    pub(crate) updated_to: Option<usize>,
}

/// What failure injection found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct InjectionRow {
    pub(crate) policy: FailurePolicy,
    /// The allocations the body makes without failures.
    pub(crate) allocations: usize,
    /// The runs made, one per allocation failed.
    pub(crate) runs: usize,
    pub(crate) sampled: bool,
    pub(crate) leaks_checked: bool,
    /// The runs that did not handle their failure.
    pub(crate) failures: Vec<InjectedFailureRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct InjectedFailureRow {
    /// Which allocation failed (from 1).
    pub(crate) index: usize,
    pub(crate) layout: Option<LayoutRow>,
    /// Where it was made: the first frame in the user's code, then the
    /// whole stack.
    pub(crate) site: Option<Frame>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) outcome: InjectedOutcome,
}

impl InjectionRow {
    fn new(injection: &Injection) -> InjectionRow {
        InjectionRow {
            policy: injection.policy,
            allocations: injection.allocations,
            runs: injection.runs,
            sampled: injection.sampled,
            leaks_checked: injection.leaks_checked,
            failures: injection
                .failures
                .iter()
                .map(|failure| InjectedFailureRow {
                    index: failure.index,
                    layout: failure.layout.map(|layout| LayoutRow {
                        size: layout.size(),
                        align: layout.align(),
                    }),
                    site: failure.site.clone(),
                    frames: failure.frames.clone(),
                    outcome: failure.outcome.clone(),
                })
                .collect(),
        }
    }
}

/// Blocks left alive, with the layouts of the first of them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct BlocksRow {
    pub(crate) blocks: usize,
    pub(crate) bytes: usize,
    pub(crate) layouts: Vec<LayoutRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct LayoutRow {
    pub(crate) size: usize,
    pub(crate) align: usize,
}

impl BlocksRow {
    fn new(blocks: &Blocks) -> BlocksRow {
        BlocksRow {
            blocks: blocks.count,
            bytes: blocks.bytes,
            layouts: blocks
                .first
                .iter()
                .map(|layout| LayoutRow {
                    size: layout.size(),
                    align: layout.align(),
                })
                .collect(),
        }
    }
}

/// The allocator's statistics after the trial at the limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct AllocatorRow {
    pub(crate) capacity: usize,
    pub(crate) used: usize,
    pub(crate) high_water_mark: usize,
    pub(crate) allocations: usize,
    pub(crate) deallocations: usize,
    pub(crate) failed_allocations: usize,
    pub(crate) live_allocations: usize,
    pub(crate) live_bytes: usize,
}

/// What a global-mode body did with the heap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct HeapRow {
    pub(crate) peak_live_bytes: usize,
    /// The blocks live at that peak.
    pub(crate) peak_live_blocks: usize,
    pub(crate) allocations: usize,
    pub(crate) largest_allocation: usize,
    pub(crate) escaped: BlocksRow,
}

impl Row {
    /// The row of `measurement` for the test `test` declared at `file:line`.
    pub(crate) fn new(test: String, file: &str, line: u32, measurement: &Measurement) -> Row {
        let stats = measurement.stats;
        Row {
            schema: SCHEMA,
            test,
            file: file.to_owned(),
            line,
            declared: measurement.limit,
            minimum: measurement.minimum,
            needed: measurement.needed,
            high_water_mark: measurement.high_water_mark,
            lowest_high_water_mark: measurement.lowest_high_water_mark,
            runs: measurement.runs,
            trials: measurement.trials,
            measured: match measurement.state {
                MeasuredState::FreshAllocator => "fresh allocator",
                MeasuredState::SteadyState => "steady state",
                MeasuredState::FirstRun => "first run",
            },
            verdict: verdict_name(&measurement.verdict),
            updated_to: None,
            buffer_alignment: measurement.buffer_alignment,
            target: measurement.target.triple,
            pointer_width: measurement.target.pointer_width,
            verified_by_failure: measurement.verified_by_failure,
            allocator: AllocatorRow {
                capacity: stats.capacity,
                used: stats.used,
                high_water_mark: stats.high_water_mark,
                allocations: stats.allocations,
                deallocations: stats.deallocations,
                failed_allocations: stats.failed_allocations,
                live_allocations: stats.live_allocations,
                live_bytes: stats.live_bytes,
            },
            heap: measurement.heap.as_ref().map(|heap| HeapRow {
                peak_live_bytes: heap.peak_live_bytes,
                peak_live_blocks: heap.peak_live_blocks,
                allocations: heap.allocations,
                largest_allocation: heap.largest_allocation,
                escaped: BlocksRow::new(&heap.escaped),
            }),
            one_time: measurement.one_time.as_ref().map(BlocksRow::new),
            cases: None,
            at_high_water: measurement.breakdown,
            sites: measurement.sites.clone(),
            allocations: measurement.allocations.map(|count| CountRow {
                count,
                budget: measurement.allocation_limit,
                verdict: measurement.allocation_limit.map(|limit| {
                    if count > limit {
                        "over budget"
                    } else {
                        "within budget"
                    }
                }),
                updated_to: None,
            }),
            injection: measurement.injection.as_ref().map(InjectionRow::new),
            profile: measurement.profile.clone(),
        }
    }

    /// `(declared - minimum) / declared`, in percent.
    pub(crate) fn headroom(&self) -> Option<f64> {
        let minimum = self.minimum?;
        (self.declared > 0)
            .then(|| (self.declared as f64 - minimum as f64) * 100.0 / self.declared as f64)
    }
}

fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::OverBudget => "over budget",
        Verdict::TooManyAllocations => "too many allocations",
        Verdict::FailureNotHandled { .. } => "failure not handled",
        Verdict::Failed { .. } => "failed",
        Verdict::NotDeterministic { .. } => "not deterministic",
        Verdict::Leaked { .. } => "leaked",
        Verdict::NotVerified { .. } => "not verified",
        Verdict::Unusable { .. } => "unusable",
    }
}

/// The rows of this process's budget tests, for the harness's table.
static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());

/// Keeps `row`, and appends it to the report file `path` if there is one.
pub(crate) fn record(row: Row, path: Option<&Path>) -> Result<(), String> {
    let appended = path.map(|path| append(path, &row)).unwrap_or(Ok(()));
    keep(row);
    appended
}

/// Keeps `row` for the harness's table only. A row that sums up cases
/// (`cases` set) replaces the earlier row of the same test and call site.
pub(crate) fn keep(row: Row) {
    let mut rows = ROWS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let earlier = row.cases.and_then(|_| {
        rows.iter().position(|earlier| {
            earlier.cases.is_some()
                && (&earlier.test, &earlier.file, earlier.line) == (&row.test, &row.file, row.line)
        })
    });
    match earlier {
        Some(index) => rows[index] = row,
        None => rows.push(row),
    }
}

/// The rows recorded so far, sorted by test path.
pub(crate) fn rows() -> Vec<Row> {
    let mut rows = ROWS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    rows.sort_by(|a, b| a.test.cmp(&b.test));
    rows
}

/// Appends `row` as one JSON line, with one `write` under an exclusive lock
/// of the file (other processes write the same file).
pub(crate) fn append(path: &Path, row: &Row) -> Result<(), String> {
    let mut line = serde_json::to_vec(row).map_err(|error| error.to_string())?;
    line.push(b'\n');
    append_locked(path, &line, "the report FBA_REPORT")
}

/// Appends `bytes` to the file at `path` (`what`, for the error), with one
/// `write` under an exclusive lock of the file.
pub(crate) fn append_locked(path: &Path, bytes: &[u8], what: &str) -> Result<(), String> {
    let failed =
        |error: std::io::Error| format!("could not append to {what}={}: {error}", path.display());
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(failed)?;
    file.lock().map_err(failed)?;
    let written = file.write_all(bytes).map_err(failed);
    file.unlock().map_err(failed)?;
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(test: &str) -> Row {
        let mut measurement = Measurement::new(4096, true, 1 << 30);
        measurement.minimum = Some(1024);
        measurement.trials = 3;
        Row::new(test.to_owned(), "src/lib.rs", 7, &measurement)
    }

    #[test]
    fn headroom_is_the_share_of_the_budget_above_the_minimum() {
        assert_eq!(row("a").headroom(), Some(75.0));
    }

    #[test]
    fn a_row_is_one_json_object_on_one_line() {
        let path =
            std::env::temp_dir().join(format!("fba-report-unit-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        append(&path, &row("tests::a")).unwrap();
        append(&path, &row("tests::b")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let tests: Vec<String> = text
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap()["test"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(tests, ["tests::a", "tests::b"]);
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(
            (first["declared"].as_u64(), first["minimum"].as_u64()),
            (Some(4096), Some(1024))
        );
        assert_eq!(first["buffer_alignment"].as_u64(), Some(4096));
        std::fs::remove_file(&path).unwrap();
    }
}
