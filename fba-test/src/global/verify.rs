//! Proof by real failure: the parent re-runs the one test in child
//! processes (`<test binary> <name> --exact`), with a buffer of H bytes,
//! where it must pass, and of H - 1 bytes, where the failing allocation
//! must abort the child as it would abort on a device.

use std::process::{Command, Output};

use super::region;
use super::scope;
use crate::outcome::Outcome;
use crate::settings::{SettingsError, parse_bytes};

/// The variable that carries the child's capacity.
pub(crate) const CAPACITY_VARIABLE: &str = "FBA_VERIFY_CAPACITY";

/// The capacity this process runs budget tests with, if it is a
/// verification child.
pub(crate) fn child_capacity() -> Option<Result<usize, SettingsError>> {
    let value = std::env::var(CAPACITY_VARIABLE).ok()?;
    if value.trim() == "0" {
        return Some(Ok(0));
    }
    Some(parse_bytes(CAPACITY_VARIABLE, &value))
}

/// Runs `body` once with the calling thread's allocations in a buffer of
/// exactly `capacity` bytes: an allocation that does not fit makes the
/// global allocator return null, and std aborts the process.
pub(crate) fn run_as_child<R: Outcome>(
    capacity: usize,
    body: impl FnOnce() -> R,
) -> Result<R, String> {
    let region =
        region::claim(capacity, usize::MAX, true, false).map_err(|error| error.to_string())?;
    let returned = {
        let _in_budget = scope::set(region);
        body()
    };
    region.finish();
    Ok(returned)
}

/// Runs the test `name` in a child with `capacity` bytes.
fn child(name: &str, capacity: usize) -> Result<Output, String> {
    let executable =
        std::env::current_exe().map_err(|error| format!("cannot find the test binary: {error}"))?;
    let mut command = Command::new(executable);
    command
        .args([
            name,
            "--exact",
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CAPACITY_VARIABLE, capacity.to_string())
        .env("FBA_VERIFY", "0")
        .env("RUST_BACKTRACE", "0");
    command
        .output()
        .map_err(|error| format!("cannot run the test binary again: {error}"))
}

/// Checks that the test passes with `high_water` bytes and that the failing
/// allocation aborts it with one byte less.
pub(crate) fn by_failure(name: &str, high_water: usize) -> Result<(), String> {
    scope::suspended(|| {
        let at_high_water = child(name, high_water)?;
        let stdout = String::from_utf8_lossy(&at_high_water.stdout);
        if !at_high_water.status.success() || !stdout.contains("1 passed") {
            return Err(format!(
                "with a buffer of exactly {high_water} bytes the test did not pass in a child process ({}):\n{}{}",
                at_high_water.status,
                stdout,
                String::from_utf8_lossy(&at_high_water.stderr)
            ));
        }
        if high_water == 0 {
            return Ok(());
        }
        let below = child(name, high_water - 1)?;
        let stderr = String::from_utf8_lossy(&below.stderr);
        if aborted(&below) && stderr.contains("memory allocation of") {
            return Ok(());
        }
        Err(format!(
            "with a buffer of {} bytes the child process did not end in the allocation-failure abort ({}); \
             the body reacts to failing allocations or its memory use is not deterministic:\n{}{}",
            high_water - 1,
            below.status,
            String::from_utf8_lossy(&below.stdout),
            stderr
        ))
    })
}

#[cfg(unix)]
fn aborted(output: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    output.status.signal() == Some(6)
}

#[cfg(not(unix))]
fn aborted(output: &Output) -> bool {
    !output.status.success() && output.status.code() != Some(101)
}
