//! [`Observed`]: what one run of a body in a region showed, in one form for
//! a run in this process and a run in a child process (which sends it to
//! its parent as a line of JSON).

use std::alloc::Layout;

use fba_core::{Breakdown, BudgetExceeded, FailAllocation, Stats};
use serde::{Deserialize, Serialize};

use std::thread;

use super::escapes::Escapes;
use super::region::{self, ClaimError, Snapshot, Tracking};
use super::scope;
use crate::measurement::{Blocks, Sites};
use crate::outcome::Outcome;
use crate::profile::Profile;
use crate::quiet::Printing;
use crate::sites::Picked;

/// The most layouts of blocks left alive an observation keeps: enough to
/// compare two runs of any realistic body, bounded for the child's line.
const KEPT_LAYOUTS: usize = 10_000;

/// How many layouts a message or a measurement lists.
pub(crate) const LISTED_LAYOUTS: usize = 4;

/// What one run of a body showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Observed {
    #[serde(with = "StatsDef")]
    pub(crate) stats: Stats,
    pub(crate) peak_live_bytes: usize,
    pub(crate) peak_live_blocks: usize,
    pub(crate) largest: usize,
    /// An allocation did not fit in the region and went to the wrapped
    /// allocator.
    pub(crate) spilled: bool,
    /// The first allocation past the limit: `(size, align, used before)`.
    pub(crate) over_limit: Option<(usize, usize, usize)>,
    /// A thread was still inside the budget long after the body returned.
    pub(crate) abandoned: bool,
    /// The layouts `(size, align)` of the blocks left alive, in address
    /// order, when the run's log named them.
    pub(crate) left_alive: Vec<(usize, usize)>,
    /// Whether `left_alive` lists every block left alive.
    pub(crate) left_alive_complete: bool,
    /// Why the body failed, if it did.
    pub(crate) failure: Option<String>,
    /// Where the bytes of the high-water mark were allocated (a diagnostic
    /// run).
    pub(crate) sites: Option<Sites>,
}

/// Runs `body` once in a tracked region of `max_bytes`, judged against
/// `limit`, with its panics printed as `printing` says; with `sites`, the
/// diagnostic run that records where the bytes of the high-water mark
/// `sites` (the measuring runs') were allocated.
pub(crate) fn observe<R: Outcome>(
    body: &mut impl FnMut() -> R,
    limit: usize,
    max_bytes: usize,
    printing: Printing,
    sites: Option<usize>,
) -> Result<(Observed, thread::Result<R>), ClaimError> {
    let tracking = match sites {
        Some(mark) => Tracking::EscapesAndSites { mark },
        None => Tracking::Escapes,
    };
    let region = region::claim(max_bytes, limit, false, tracking)?;
    let result = {
        let _in_budget = scope::set(region);
        crate::trial::caught(printing, &mut *body)
    };
    let (snapshot, escapes, record) = region.finish();
    let failure = crate::trial::failure(&result);
    let mut observed = Observed::new(snapshot, escapes, failure);
    // Resolving stacks allocates: the runtime's work, outside any budget.
    observed.sites = record
        .map(|record| scope::suspended(|| crate::sites::sites(record, observed.high_water_mark())));
    Ok((observed, result))
}

/// One run of `body` in a region whose allocator fails the allocations
/// `failing` names (failure injection), each failure a null pointer to the
/// caller; with its panics printed as `printing` says.
pub(crate) fn observe_failing<R: Outcome>(
    body: &mut impl FnMut() -> R,
    max_bytes: usize,
    failing: FailAllocation,
    printing: Printing,
) -> Result<(Observed, thread::Result<R>), ClaimError> {
    let region = region::claim_failing(max_bytes, failing, Tracking::Escapes)?;
    let result = {
        let _in_budget = scope::set(region);
        crate::trial::caught(printing, &mut *body)
    };
    let (snapshot, escapes, _) = region.finish();
    let failure = crate::trial::failure(&result);
    Ok((Observed::new(snapshot, escapes, failure), result))
}

/// A run of `body` that records where its allocations numbered `ordinals`
/// were made (the ones failure injection failed).
pub(crate) fn pick<R: Outcome>(
    body: &mut impl FnMut() -> R,
    limit: usize,
    max_bytes: usize,
    ordinals: Vec<usize>,
) -> Result<Vec<Picked>, ClaimError> {
    let record = recorded(body, limit, max_bytes, ordinals)?;
    // Resolving stacks allocates: the runtime's work, outside any budget.
    Ok(record
        .map(|record| scope::suspended(|| crate::sites::picked(record)))
        .unwrap_or_default())
}

/// A run of `body` that records how the region filled (`FBA_PROFILE`).
pub(crate) fn profile<R: Outcome>(
    body: &mut impl FnMut() -> R,
    limit: usize,
    max_bytes: usize,
) -> Result<Option<Profile>, ClaimError> {
    // Allocations are numbered from 1: picking number 0 captures no stack.
    let record = recorded(body, limit, max_bytes, vec![0])?;
    Ok(record.map(|record| scope::suspended(|| Profile::of(&record))))
}

/// A run of `body` that records every event, with the stacks of the
/// allocations numbered `ordinals`.
fn recorded<R: Outcome>(
    body: &mut impl FnMut() -> R,
    limit: usize,
    max_bytes: usize,
    ordinals: Vec<usize>,
) -> Result<Option<crate::sites::Record>, ClaimError> {
    let region = region::claim(
        max_bytes,
        limit,
        false,
        Tracking::EscapesAndSites { mark: usize::MAX },
    )?;
    region.pick(ordinals);
    {
        let _in_budget = scope::set(region);
        drop(crate::trial::caught(Printing::Quiet, &mut *body));
    }
    let (_, _, record) = region.finish();
    Ok(record)
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Stats")]
struct StatsDef {
    capacity: usize,
    used: usize,
    high_water_mark: usize,
    allocations: usize,
    deallocations: usize,
    failed_allocations: usize,
    #[serde(default)]
    injected_failures: usize,
    live_allocations: usize,
    live_bytes: usize,
    #[serde(with = "BreakdownDef")]
    at_high_water: Breakdown,
}

/// `Breakdown` (of fba-core, which has no serde) as rows and child reports
/// write it.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Breakdown")]
pub(crate) struct BreakdownDef {
    live_bytes: usize,
    freed_bytes: usize,
    padding_bytes: usize,
}

impl Observed {
    /// The observation of a run whose region ended with `snapshot` and
    /// `escapes`, and whose body failed with `failure`.
    pub(crate) fn new(
        snapshot: Snapshot,
        escapes: Option<Escapes>,
        failure: Option<String>,
    ) -> Observed {
        let (left_alive, left_alive_complete) = match escapes {
            Some(escapes) => (
                escapes
                    .blocks
                    .iter()
                    .take(KEPT_LAYOUTS)
                    .map(|layout| (layout.size(), layout.align()))
                    .collect(),
                escapes.complete && escapes.blocks.len() <= KEPT_LAYOUTS,
            ),
            None => (Vec::new(), snapshot.stats.live_allocations == 0),
        };
        Observed {
            stats: snapshot.stats,
            peak_live_bytes: snapshot.peak_live_bytes,
            peak_live_blocks: snapshot.peak_live_blocks,
            largest: snapshot.largest,
            spilled: snapshot.spilled,
            over_limit: snapshot
                .over_limit
                .map(|failure| (failure.layout.size(), failure.layout.align(), failure.used)),
            abandoned: snapshot.abandoned,
            left_alive,
            left_alive_complete,
            failure,
            sites: None,
        }
    }

    pub(crate) fn high_water_mark(&self) -> usize {
        self.stats.high_water_mark
    }

    /// The first allocation past `limit`, as a buffer of that size would
    /// have failed it.
    pub(crate) fn over_limit(&self, limit: usize) -> Option<BudgetExceeded> {
        let (size, align, used) = self.over_limit?;
        Some(BudgetExceeded {
            layout: Layout::from_size_align(size, align).ok()?,
            used,
            capacity: limit,
        })
    }

    /// The blocks the run left alive.
    pub(crate) fn escaped(&self) -> Blocks {
        Blocks::new(
            self.stats.live_allocations,
            self.stats.live_bytes,
            layouts(self.left_alive.iter().take(LISTED_LAYOUTS)),
        )
    }

    /// The blocks this run left alive and `other` did not (by layout), if
    /// both runs named theirs.
    pub(crate) fn left_alive_beyond(&self, other: &Observed) -> Option<Vec<Layout>> {
        if !(self.left_alive_complete && other.left_alive_complete) {
            return None;
        }
        let mut theirs = other.left_alive.clone();
        let mut beyond = Vec::new();
        for block in &self.left_alive {
            match theirs.iter().position(|their| their == block) {
                Some(index) => {
                    theirs.swap_remove(index);
                }
                None => beyond.push(*block),
            }
        }
        Some(layouts(beyond.iter()))
    }

    /// What this first run left alive and a second run, `again`, did not:
    /// the one-time state, less `harness`, blocks of it that were libtest's
    /// output capture.
    pub(crate) fn one_time_state(&self, again: &Observed, harness: &[Layout]) -> Blocks {
        match self.left_alive_beyond(again) {
            Some(mut layouts) => {
                for block in harness {
                    if let Some(index) = layouts.iter().position(|layout| layout == block) {
                        layouts.remove(index);
                    }
                }
                let bytes = layouts.iter().map(Layout::size).sum();
                let count = layouts.len();
                let first = layouts.into_iter().take(LISTED_LAYOUTS).collect();
                Blocks::new(count, bytes, first)
            }
            // Unnamed blocks: what the counts say.
            None => Blocks::new(
                self.stats
                    .live_allocations
                    .saturating_sub(again.stats.live_allocations)
                    .saturating_sub(harness.len()),
                self.stats
                    .live_bytes
                    .saturating_sub(again.stats.live_bytes)
                    .saturating_sub(harness.iter().map(Layout::size).sum()),
                Vec::new(),
            ),
        }
    }
}

fn layouts<'a>(blocks: impl Iterator<Item = &'a (usize, usize)>) -> Vec<Layout> {
    blocks
        .filter_map(|(size, align)| Layout::from_size_align(*size, *align).ok())
        .collect()
}
