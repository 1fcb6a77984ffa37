//! [`Measurement`] and [`Verdict`]: what a budget run found.

use fba_core::{Breakdown, BudgetExceeded, Stats};

use crate::injection::Injection;
use crate::profile::Profile;

/// What running a body under a memory budget found.
///
/// # Examples
///
/// ```
/// use fba::allocator_api2::vec::Vec;
///
/// let measurement = fba::measure(4096, |alloc| {
///     let mut fields = Vec::with_capacity_in(100, alloc);
///     fields.extend(0..100u32);
/// });
/// assert!(measurement.passed());
/// assert_eq!(measurement.minimum, Some(400));
/// assert_eq!(measurement.trials, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Measurement {
    /// The declared limit in bytes.
    pub limit: usize,
    /// The smallest buffer the body passes with, when the search ran and
    /// the body passed at the limit.
    pub minimum: Option<usize>,
    /// What the body needs when the limit is too small, if the search found
    /// it (`None` past [`max_bytes`](Self::max_bytes) or with the search off;
    /// then [`first_failure`](Self::first_failure) gives a lower bound).
    pub needed: Option<usize>,
    /// The high-water mark: of the trial at the limit, or with several
    /// measuring runs (`runs = K`, global mode's stability check) the
    /// largest of them.
    pub high_water_mark: usize,
    /// The smallest high-water mark of the measuring runs: equal to
    /// [`high_water_mark`](Self::high_water_mark) for a body whose memory
    /// does not depend on timing.
    pub lowest_high_water_mark: usize,
    /// The measuring runs the high-water marks come from.
    pub runs: usize,
    /// How many times the body ran: warm-up, measuring runs, searches and
    /// runs in child processes.
    pub trials: usize,
    /// Which run of the body the numbers describe.
    pub state: MeasuredState,
    /// The allocator's statistics after the trial at the limit.
    pub stats: Stats,
    /// What the bytes of the minimum (or of what an over-budget body needs)
    /// were at that high-water mark: live, freed but not reclaimed, padding.
    pub breakdown: Breakdown,
    /// Where those bytes were allocated, from the diagnostic trial (for a
    /// test over its budget, or any test with `FBA_SITES` set).
    pub sites: Option<Sites>,
    /// The first allocation that did not fit in the trial at the limit.
    pub first_failure: Option<BudgetExceeded>,
    /// The verdict.
    pub verdict: Verdict,
    /// Every trial's buffer starts at a multiple of this many bytes.
    pub buffer_alignment: usize,
    /// What it was measured for: the numbers are of this target's layouts.
    pub target: Target,
    /// The largest buffer the search for `needed` tries (`FBA_MAX_BYTES`).
    pub max_bytes: usize,
    /// Whether the search for the minimum (or what is needed) ran.
    pub searched: bool,
    /// For global-allocator mode: the heap the body used.
    pub heap: Option<HeapProfile>,
    /// For global-allocator mode: *one-time state*, what the first run left
    /// allocated that later runs did not (lazily initialised statics, a
    /// thread's destructor list, a runtime's globals). After a warm-up it is
    /// not in the minimum; measured cold, it is.
    pub one_time: Option<Blocks>,
    /// Whether child processes proved the minimum by real failure (global
    /// mode, `verify = true` or `FBA_VERIFY=1`): the body passed with a
    /// buffer of the minimum and aborted on allocation failure with one byte
    /// less.
    pub verified_by_failure: bool,
    /// How many allocations the body makes, in the run the numbers describe
    /// (the trial at the limit, or global mode's steady state): every new
    /// block, a `realloc` that moves its block included, a resize in place
    /// not. `None` where no run passed to count them in.
    pub allocations: Option<usize>,
    /// The count budget (`allocations = N`), if there is one.
    pub allocation_limit: Option<usize>,
    /// What failure injection found (`fail_each_allocation = true`,
    /// `fail_from_allocation = true`), when it ran.
    pub injection: Option<Injection>,
    /// How the buffer filled over a run (`FBA_PROFILE=1`).
    pub profile: Option<Profile>,
}

/// The blocks at a high-water mark, grouped by the place in the user's code
/// that allocated them (the first stack frame outside std, core, alloc,
/// hashbrown, allocator-api2 and fba), largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Sites {
    /// The live blocks.
    pub live: Vec<AllocationSite>,
    /// The blocks freed (or parts of blocks shrunk) that the end could not
    /// move back over.
    pub freed: Vec<AllocationSite>,
    /// The high-water mark of the diagnostic trial the sites come from.
    pub high_water_mark: usize,
    /// Whether the test binary has debug info for lines (`[profile.test]
    /// debug = true`, the default; not in a `--release` test build).
    pub lines: bool,
}

/// Blocks allocated at one place.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AllocationSite {
    /// Their bytes.
    pub bytes: usize,
    /// How many blocks.
    pub blocks: usize,
    /// The place: the first frame in the user's code, `None` when no frame
    /// could be named.
    pub frame: Option<Frame>,
    /// Where the package's own code called the dependency that allocated,
    /// when `frame` is in a dependency's source (a crate from a registry or
    /// a git checkout, such as serde_json's): the first frame after it that
    /// is not. `None` when `frame` is the package's own, or no caller is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Frame>,
    /// The whole stack of the first of the blocks, innermost first.
    pub frames: Vec<Frame>,
}

/// A stack frame: its function, and its file and line where debug info has
/// them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Frame {
    /// The function, without its hash (`my_crate::parse::header`).
    pub function: Option<String>,
    /// The source file, relative to the package when it is inside it.
    pub file: Option<String>,
    /// The line.
    pub line: Option<u32>,
}

/// The target a measurement is of: layouts (pointers, `usize`, collection
/// headers) and so numbers differ between targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Target {
    /// The target triple the test binary was built for
    /// (`armv7-unknown-linux-gnueabihf`).
    pub triple: &'static str,
    /// Its pointer width in bits.
    pub pointer_width: u32,
}

impl Target {
    /// The target this code was built for.
    pub const fn this() -> Target {
        Target {
            triple: env!("FBA_TARGET"),
            pointer_width: usize::BITS,
        }
    }
}

impl std::fmt::Display for Target {
    /// `armv7-unknown-linux-gnueabihf (32-bit)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}-bit)", self.triple, self.pointer_width)
    }
}

/// Which run of a body a measurement describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MeasuredState {
    /// Explicit mode: every trial gets a new allocator, so every run is
    /// alike.
    #[default]
    FreshAllocator,
    /// Global mode: the runs after a warm-up run, whose one-time state is
    /// reported apart.
    SteadyState,
    /// Global mode with `cold = true`: the first run in a fresh process,
    /// one-time state included (what a freshly booted device needs for the
    /// first call).
    FirstRun,
}

/// Blocks left alive at the end of a run: how many, their bytes, and the
/// layouts of the first of them (in address order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Blocks {
    /// How many blocks.
    pub count: usize,
    /// Their bytes.
    pub bytes: usize,
    /// The layouts of the first blocks, when the run's log named them.
    pub first: Vec<core::alloc::Layout>,
}

impl Blocks {
    pub(crate) fn new(count: usize, bytes: usize, first: Vec<core::alloc::Layout>) -> Blocks {
        Blocks {
            count,
            bytes,
            first,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// What a body in global-allocator mode did with the heap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeapProfile {
    /// The most bytes in live blocks at once, counting a block that a
    /// `realloc` moves as live twice while it moves (as a fixed buffer and
    /// most heaps must): what a general-purpose heap (embedded-alloc, talc)
    /// needs before its own overhead and fragmentation. A heap that grows
    /// blocks in place needs less (dhat's `max_bytes` counts a `realloc` as
    /// one block changing size).
    pub peak_live_bytes: usize,
    /// The blocks live at the moment of [`peak_live_bytes`](Self::peak_live_bytes).
    pub peak_live_blocks: usize,
    /// Allocations made (a block moved by a `realloc` counts once more).
    pub allocations: usize,
    /// The size of the largest single block.
    pub largest_allocation: usize,
    /// Blocks allocated in the measured run and still alive when the body
    /// returned (leaks, or state kept between runs).
    pub escaped: Blocks,
}

impl Measurement {
    /// A measurement before any trial: passed, until a trial says otherwise.
    pub(crate) fn new(limit: usize, searched: bool, max_bytes: usize) -> Measurement {
        Measurement {
            limit,
            minimum: None,
            needed: None,
            high_water_mark: 0,
            lowest_high_water_mark: 0,
            runs: 0,
            trials: 0,
            state: MeasuredState::FreshAllocator,
            stats: Stats::default(),
            breakdown: Breakdown::default(),
            sites: None,
            first_failure: None,
            verdict: Verdict::Passed,
            buffer_alignment: crate::BUFFER_ALIGNMENT,
            target: Target::this(),
            max_bytes,
            searched,
            heap: None,
            one_time: None,
            verified_by_failure: false,
            allocations: None,
            allocation_limit: None,
            injection: None,
            profile: None,
        }
    }

    /// Whether the body passed within its limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let measurement = fba::measure(8, |alloc| alloc.alloc_str("too long for eight bytes").is_ok());
    /// assert!(!measurement.passed());
    /// ```
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Passed
    }

    /// A lower bound on what the body needs, from the first allocation that
    /// failed at the limit: the bytes in use then plus the size asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let measurement = fba::measure(8, |alloc| alloc.alloc_str("sixteen bytes!!!").is_ok());
    /// assert_eq!(measurement.needs_at_least(), Some(16));
    /// ```
    pub fn needs_at_least(&self) -> Option<usize> {
        self.first_failure
            .map(|failure| failure.used.saturating_add(failure.layout.size()))
    }
}

/// How a budget run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The body passed within the limit.
    Passed,
    /// The body needs more memory than the limit.
    OverBudget,
    /// The body failed at the limit for another reason (a panic, an `Err`,
    /// `false`): the reason, unchanged.
    Failed {
        /// The panic message, or the `Err` as `Debug`.
        reason: String,
    },
    /// The body passed once and then failed with the same memory: its
    /// allocations depend on something other than its input.
    NotDeterministic {
        /// What happened, in a sentence.
        reason: String,
    },
    /// Blocks allocated in the budget were still alive when the body
    /// returned, and the test denies leaks (`leaks = "deny"`).
    Leaked {
        /// What escaped, in a sentence.
        reason: String,
    },
    /// The body makes more allocations than its count budget
    /// (`allocations = N`) allows.
    TooManyAllocations,
    /// Failure injection found runs that do not handle a failed
    /// allocation: a panic, a leak, a swallowed failure or an abort
    /// ([`Measurement::injection`] has them).
    FailureNotHandled {
        /// What the runs did, in a sentence.
        reason: String,
    },
    /// Child processes did not confirm the minimum by real failure.
    NotVerified {
        /// What the child processes did, in a sentence.
        reason: String,
    },
    /// The run could not be carried out (a buffer could not be allocated, a
    /// malformed `FBA_*` variable).
    Unusable {
        /// What went wrong and what to do.
        reason: String,
    },
}
