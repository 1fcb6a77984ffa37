//! One trial: the body run once on a fresh allocator of a given capacity,
//! with its panics caught, and the judgement of what happened.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use fba_core::{
    BudgetExceeded, Exhaustion, FailAllocation, FixedBufferAllocator, Stats,
    ThreadSafeFixedBufferAllocator,
};

use crate::buffer::{BufferUnavailable, TrialBuffer};
use crate::outcome::Outcome;
use crate::quiet::{self, Printing};
use crate::sites::Recorder;

/// What one run of the body did.
pub(crate) struct Trial<R> {
    /// What the body returned, or its panic.
    pub(crate) result: std::thread::Result<R>,
    /// The allocator's statistics afterwards.
    pub(crate) stats: Stats,
    /// The first allocation that did not fit.
    pub(crate) first_failure: Option<BudgetExceeded>,
}

/// A trial's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Judgement {
    Passed,
    /// It failed, and an allocation had not fit: the budget was exceeded,
    /// wherever the failure surfaced (a panic on another thread, an `Err`).
    OverBudget,
    /// It failed for another reason.
    Failed(String),
}

/// Why a run of a body failed, if it did: what it returned, or its panic.
pub(crate) fn failure<R: Outcome>(result: &std::thread::Result<R>) -> Option<String> {
    match result {
        Ok(returned) => returned.failure(),
        Err(payload) => Some(panic_message(payload.as_ref())),
    }
}

impl<R: Outcome> Trial<R> {
    pub(crate) fn judgement(&self) -> Judgement {
        match failure(&self.result) {
            None => Judgement::Passed,
            Some(_) if self.stats.failed_allocations > 0 => Judgement::OverBudget,
            Some(reason) => Judgement::Failed(reason),
        }
    }

    pub(crate) fn passed(&self) -> bool {
        self.judgement() == Judgement::Passed
    }
}

/// The message of a panic payload, as the default hook would print it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else if let Some(failure) = payload.downcast_ref::<BudgetExceeded>() {
        format!("memory budget exceeded: {failure}")
    } else {
        "a panic with a payload that is not a string".to_owned()
    }
}

/// What a trial does besides running the body: record its blocks (the
/// diagnostic trial), fail allocations on purpose (failure injection).
#[derive(Clone, Copy)]
pub(crate) struct Watch<'a> {
    pub(crate) recorder: Option<&'a Recorder>,
    pub(crate) failing: Option<FailAllocation>,
}

impl<'a> Watch<'a> {
    /// A plain trial.
    pub(crate) const NOTHING: Watch<'static> = Watch {
        recorder: None,
        failing: None,
    };

    /// A trial recorded by `recorder`.
    pub(crate) fn recorded(recorder: &'a Recorder) -> Watch<'a> {
        Watch {
            recorder: Some(recorder),
            failing: None,
        }
    }

    /// A trial that fails the allocations `failing` names.
    pub(crate) fn failing(failing: FailAllocation) -> Watch<'static> {
        Watch {
            recorder: None,
            failing: Some(failing),
        }
    }
}

/// A body's trials: `trial(capacity, printing, watch)` runs the body once
/// on a fresh allocator of `capacity` bytes, with its panics printed as
/// `printing` says, and `watch` (a recorder in the diagnostic trial, the
/// allocations to fail in failure injection).
pub(crate) trait Trials<R>:
    FnMut(usize, Printing, Watch<'_>) -> Result<Trial<R>, BufferUnavailable>
{
}

impl<R, F> Trials<R> for F where
    F: FnMut(usize, Printing, Watch<'_>) -> Result<Trial<R>, BufferUnavailable>
{
}

/// Runs trials of a body that takes a [`FixedBufferAllocator`]: the body
/// once, on a fresh allocator of `capacity` bytes, with its panics printed
/// as `printing` says, and `watch`.
pub(crate) fn fixed<R>(mut body: impl FnMut(&FixedBufferAllocator<'_>) -> R) -> impl Trials<R> {
    let mut buffer = TrialBuffer::default();
    move |capacity, printing, watch: Watch<'_>| {
        let bytes = buffer.bytes(capacity)?;
        let base = bytes.as_ptr().addr();
        let mut alloc = FixedBufferAllocator::new(bytes);
        alloc.set_exhaustion(Exhaustion::Panic);
        if let Some(recorder) = watch.recorder {
            recorder.start(base);
            alloc.set_observer(Some(recorder));
        }
        alloc.set_failing(watch.failing);
        let result = caught(printing, || body(&alloc));
        Ok(Trial {
            result,
            stats: alloc.stats(),
            first_failure: alloc.first_failure(),
        })
    }
}

/// Runs trials of a body that takes a [`ThreadSafeFixedBufferAllocator`],
/// as [`fixed`] does.
pub(crate) fn thread_safe<R>(
    mut body: impl FnMut(&ThreadSafeFixedBufferAllocator<'_>) -> R,
) -> impl Trials<R> {
    let mut buffer = TrialBuffer::default();
    move |capacity, printing, watch: Watch<'_>| {
        let bytes = buffer.bytes(capacity)?;
        let base = bytes.as_ptr().addr();
        let mut alloc = ThreadSafeFixedBufferAllocator::new(bytes);
        alloc.set_exhaustion(Exhaustion::Panic);
        if let Some(recorder) = watch.recorder {
            recorder.start(base);
            alloc.set_observer(Some(recorder));
        }
        alloc.set_failing(watch.failing);
        let result = caught(printing, || body(&alloc));
        Ok(Trial {
            result,
            stats: alloc.stats(),
            first_failure: alloc.first_failure(),
        })
    }
}

/// Runs `body`, catching its panic, with panics printed as `printing` says.
pub(crate) fn caught<R>(printing: Printing, body: impl FnOnce() -> R) -> std::thread::Result<R> {
    // Installing the hook allocates: not the body's work.
    crate::global::suspended(quiet::install);
    quiet::printing(printing, || panic::catch_unwind(AssertUnwindSafe(body)))
}
