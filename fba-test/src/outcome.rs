//! [`Outcome`]: what a body's return value says about a trial.

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
