//! [`Outcome`]: what a body's return value says about a trial.

use std::any::Any;
use std::fmt::Debug;

/// A value a budget body may return: `()`, `bool`, or `Result<T, E>` with
/// `E: Debug`. `false` and `Err` fail the trial, as they fail a `#[test]`.
#[diagnostic::on_unimplemented(
    message = "a memory budget body returns `()`, `bool` or `Result<T, E>` with `E: Debug`, not `{Self}`",
    label = "this return type"
)]
pub trait Outcome {
    /// Why the trial failed, or `None` if it passed.
    fn failure(&self) -> Option<String>;
}

impl Outcome for () {
    fn failure(&self) -> Option<String> {
        None
    }
}

impl Outcome for bool {
    fn failure(&self) -> Option<String> {
        (!*self).then(|| "the body returned false".to_owned())
    }
}

impl<T, E: Debug> Outcome for Result<T, E> {
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(|error| format!("Error: {error:?}"))
    }
}

/// A body's return value with its type erased, so that the runtime a budget
/// test goes through is compiled once, in this crate, instead of once per
/// test in the test's crate (what kept a crate of budget tests slow to
/// build: every test instantiated the search, the injection runs and the
/// report for its own body and return type).
pub(crate) struct Returned(Box<dyn AnyOutcome>);

/// An [`Outcome`] that can be taken back as its own type.
trait AnyOutcome: Any {
    fn failure(&self) -> Option<String>;
}

impl<T: Outcome + 'static> AnyOutcome for T {
    fn failure(&self) -> Option<String> {
        Outcome::failure(self)
    }
}

impl Returned {
    /// Erases `returned`'s type. A zero-size value (`()`) allocates nothing;
    /// in global-allocator mode, box other values outside the budget
    /// (`global::suspended`).
    pub(crate) fn new<R: Outcome + 'static>(returned: R) -> Returned {
        Returned(Box::new(returned))
    }

    /// The value, as the type it was made from.
    ///
    /// # Panics
    ///
    /// When `R` is not that type: the runtime hands a test back only what its
    /// own body returned.
    pub(crate) fn into_inner<R: 'static>(self) -> R {
        let any: Box<dyn Any> = self.0;
        *any.downcast::<R>()
            .expect("a budget test gets back the value its own body returned")
    }
}

impl Outcome for Returned {
    fn failure(&self) -> Option<String> {
        self.0.failure()
    }
}
