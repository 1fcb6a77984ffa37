//! Global mode's child processes (see [`crate::child`]): the first run of a
//! test in a fresh process (`cold = true`), and the proof of a minimum by
//! real failure (`verify = true`): with a buffer of H bytes the test must
//! pass, and with H - 1 the failing allocation must abort the child as it
//! would abort on a device.

use super::observed::Observed;
use super::region::{self, Tracking};
use super::scope;
use crate::child::{Role, aborted, output_text, spawn};
use crate::outcome::Outcome;
use crate::quiet::Printing;

/// The prefix of the line on which a measuring child reports.
const MEASUREMENT_LINE: &str = "fba-child-measurement: ";

/// Plays `role` for the test whose body is `body`, with regions of
/// `max_bytes` and a limit of `limit` for soft runs; returns what the body
/// returned (its panic propagates and fails the child's test).
pub(crate) fn act<R: Outcome>(
    role: Role,
    limit: usize,
    max_bytes: usize,
    mut body: impl FnMut() -> R,
) -> Result<R, String> {
    match role {
        Role::Verify { capacity, warm_up } => {
            if warm_up {
                let region = region::claim(max_bytes, usize::MAX, false, Tracking::Nothing)
                    .map_err(|error| error.to_string())?;
                {
                    let _in_budget = scope::set(region);
                    drop(body());
                }
                region.finish();
            }
            let region = region::claim(capacity, usize::MAX, true, Tracking::Nothing)
                .map_err(|error| error.to_string())?;
            let returned = {
                let _in_budget = scope::set(region);
                body()
            };
            region.finish();
            Ok(returned)
        }
        Role::Inject { .. } => {
            Err("the failure-injection role is played by the test's own run, not here".to_owned())
        }
        Role::Measure { sites } => {
            let (first, result) = super::observed::observe(
                &mut body,
                limit,
                max_bytes,
                Printing::Trial,
                sites.then_some(usize::MAX),
            )
            .map_err(|error| error.to_string())?;
            let (second, _) =
                super::observed::observe(&mut body, limit, max_bytes, Printing::Quiet, None)
                    .map_err(|error| error.to_string())?;
            let line = scope::suspended(|| serde_json::to_string(&(first, second)))
                .map_err(|error| error.to_string())?;
            println!("{MEASUREMENT_LINE}{line}");
            match result {
                Ok(returned) => Ok(returned),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
    }
}

/// The first and the second run of the test `name` in a fresh process.
pub(crate) fn measure(name: &str, sites: bool) -> Result<(Observed, Observed), String> {
    scope::suspended(|| {
        let output = spawn(name, Role::Measure { sites })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        // The line may follow libtest's `test <name> ... ` on the same line.
        let line = stdout
            .split_once(MEASUREMENT_LINE)
            .and_then(|(_, rest)| rest.lines().next())
            .ok_or_else(|| {
                format!(
                    "the child process that measures its first run reported nothing ({}):\n{}",
                    output.status,
                    output_text(&output)
                )
            })?;
        serde_json::from_str(line).map_err(|error| {
            format!("the child process's report is not understood ({error}): {line}")
        })
    })
}

/// Checks that the test `name` passes with `high_water` bytes and that the
/// failing allocation aborts it with one byte less.
pub(crate) fn verify(name: &str, high_water: usize, warm_up: bool) -> Result<(), String> {
    scope::suspended(|| {
        let at_high_water = spawn(
            name,
            Role::Verify {
                capacity: high_water,
                warm_up,
            },
        )?;
        let stdout = String::from_utf8_lossy(&at_high_water.stdout);
        if !at_high_water.status.success() || !stdout.contains("1 passed") {
            return Err(format!(
                "with a buffer of exactly {high_water} bytes the test did not pass in a child process ({}):\n{}",
                at_high_water.status,
                output_text(&at_high_water)
            ));
        }
        if high_water == 0 {
            return Ok(());
        }
        let below = spawn(
            name,
            Role::Verify {
                capacity: high_water - 1,
                warm_up,
            },
        )?;
        let stderr = String::from_utf8_lossy(&below.stderr);
        if aborted(&below) && stderr.contains("memory allocation of") {
            return Ok(());
        }
        Err(format!(
            "with a buffer of {} bytes the child process did not end in the allocation-failure abort ({}); \
             the body reacts to failing allocations or its memory use is not deterministic:\n{}",
            high_water - 1,
            below.status,
            output_text(&below)
        ))
    })
}
