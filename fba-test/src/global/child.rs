//! Child processes: the parent re-runs one test in a fresh process
//! (`<test binary> <name> --exact`, the role in `FBA_CHILD`) to measure its
//! first run (`cold = true`), and to prove a minimum by real failure
//! (`verify = true`): with a buffer of H bytes the test must pass, and with
//! H - 1 the failing allocation must abort the child as it would abort on a
//! device.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::observed::Observed;
use super::region::{self, Tracking};
use super::scope;
use crate::outcome::Outcome;
use crate::quiet::Printing;
use crate::settings::parse_bytes;

/// The variable that gives a child its role.
const ROLE_VARIABLE: &str = "FBA_CHILD";
/// The prefix of the line on which a measuring child reports.
const MEASUREMENT_LINE: &str = "fba-child-measurement: ";

/// What a child process does with the one test it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Run the body in a buffer of exactly `capacity` bytes, after a
    /// warm-up run outside it unless the test measures its first run.
    Verify { capacity: usize, warm_up: bool },
    /// Run the body twice, the first run of the process and the one after
    /// it, and report both on one line; with `sites`, record where the
    /// bytes of the first run's high-water mark were allocated.
    Measure { sites: bool },
}

impl Role {
    fn to_env(self) -> String {
        match self {
            Role::Verify { capacity, warm_up } => format!(
                "verify {capacity} {}",
                if warm_up { "warm" } else { "cold" }
            ),
            Role::Measure { sites: false } => "measure".to_owned(),
            Role::Measure { sites: true } => "measure sites".to_owned(),
        }
    }
}

/// This process's role, if it is a child.
pub(crate) fn role() -> Option<Result<Role, String>> {
    let value = std::env::var(ROLE_VARIABLE).ok()?;
    Some(parse_role(&value))
}

fn parse_role(value: &str) -> Result<Role, String> {
    let malformed = || {
        format!(
            "{ROLE_VARIABLE}={value:?} is not understood: it is set by fba for the child processes it runs, \
             as `measure`, `measure sites` or `verify <bytes> warm|cold`; unset it"
        )
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    match words.as_slice() {
        ["measure"] => Ok(Role::Measure { sites: false }),
        ["measure", "sites"] => Ok(Role::Measure { sites: true }),
        ["verify", capacity, warmth @ ("warm" | "cold")] => {
            let capacity = match *capacity {
                "0" => 0,
                bytes => parse_bytes(ROLE_VARIABLE, bytes).map_err(|_| malformed())?,
            };
            Ok(Role::Verify {
                capacity,
                warm_up: *warmth == "warm",
            })
        }
        _ => Err(malformed()),
    }
}

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

/// The variable that names the command child processes run through.
const RUNNER_VARIABLE: &str = "FBA_RUNNER";
/// How long a child process may take before it is stopped.
const CHILD_TIMEOUT: Duration = Duration::from_secs(600);
/// An example runner, for messages.
const RUNNER_EXAMPLE: &str = "FBA_RUNNER=\"qemu-arm -L /usr/arm-linux-gnueabihf\"";

/// `FBA_RUNNER`: the command that runs this target's binaries (an
/// emulator), as cargo's `runner` does, split into words.
fn runner() -> Result<Option<Vec<String>>, String> {
    std::env::var(RUNNER_VARIABLE)
        .ok()
        .map(|value| parse_runner(&value))
        .transpose()
}

fn parse_runner(value: &str) -> Result<Vec<String>, String> {
    match shlex::split(value) {
        Some(words) if !words.is_empty() => Ok(words),
        _ => Err(format!(
            "{RUNNER_VARIABLE}={value:?} is not understood: write the command that runs this target's test \
             binaries, as cargo's runner does, with shell quoting, e.g. {RUNNER_EXAMPLE}"
        )),
    }
}

/// Runs the test `name` in a child process with `role`: the test binary
/// itself, or through `FBA_RUNNER`.
fn spawn(name: &str, role: Role) -> Result<Output, String> {
    let executable =
        std::env::current_exe().map_err(|error| format!("cannot find the test binary: {error}"))?;
    let runner = runner()?;
    if let Some(words) = &runner
        && !findable(&words[0])
    {
        return Err(format!(
            "{RUNNER_VARIABLE} names `{}`, which is not a program here (not a file, nor found on PATH): write \
             the command that runs this target's test binaries, e.g. {RUNNER_EXAMPLE}",
            words[0]
        ));
    }
    let mut command = match &runner {
        Some(words) => {
            let mut command = Command::new(&words[0]);
            command.args(&words[1..]).arg(&executable);
            command
        }
        None => Command::new(&executable),
    };
    command
        .args([
            name,
            "--exact",
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(ROLE_VARIABLE, role.to_env())
        .env("FBA_VERIFY", "0")
        .env("RUST_BACKTRACE", "0")
        .env_remove("FBA_REPORT")
        .env_remove("FBA_UPDATE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().map_err(|error| match (&runner, error.raw_os_error()) {
        (Some(words), _) => format!(
            "{RUNNER_VARIABLE} names `{}`, which cannot be run ({error}): write the command that runs this \
             target's test binaries, e.g. {RUNNER_EXAMPLE}",
            words[0]
        ),
        // ENOEXEC: a binary of another architecture, with no emulator
        // registered to run it.
        (None, Some(8)) => format!(
            "the test binary, built for {}, cannot run on this machine by itself ({error}): set \
             {RUNNER_VARIABLE} to the command that runs it, as cargo's runner does, e.g. {RUNNER_EXAMPLE}",
            crate::Target::this().triple
        ),
        _ => format!("cannot run the test binary again: {error}"),
    })?;
    finish(child, CHILD_TIMEOUT)
}

/// Whether `program` names a file, or one on `PATH`. (An emulated process
/// cannot always tell a missing program from its exit status.)
fn findable(program: &str) -> bool {
    let path = std::path::Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|directory| directory.join(program).is_file())
    })
}

/// Waits for `child` with its output read as it comes, stopping it after
/// `timeout`.
fn finish(mut child: Child, timeout: Duration) -> Result<Output, String> {
    fn read(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    }
    let stdout = child.stdout.take().map(read);
    let stderr = child.stderr.take().map(read);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the child process running the test again did not end within {} seconds, and was stopped",
                    timeout.as_secs()
                ));
            }
            Err(error) => return Err(format!("cannot wait for the child process: {error}")),
        }
    };
    let collect = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn output_text(output: &Output) -> String {
    if output.stdout.is_empty()
        && output.stderr.is_empty()
        && std::env::var_os(RUNNER_VARIABLE).is_none()
    {
        // An emulator that cannot run the binary again by itself (qemu-user
        // exits 127 without a word).
        return format!(
            "the child printed nothing: if this test binary (built for {}) runs under an emulator, set \
             {RUNNER_VARIABLE} to it, as cargo's runner, e.g. {RUNNER_EXAMPLE}",
            crate::Target::this().triple
        );
    }
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
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

#[cfg(unix)]
fn aborted(output: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    output.status.signal() == Some(6)
}

#[cfg(not(unix))]
fn aborted(output: &Output) -> bool {
    !output.status.success() && output.status.code() != Some(101)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_the_environment() {
        for role in [
            Role::Measure { sites: false },
            Role::Measure { sites: true },
            Role::Verify {
                capacity: 4096,
                warm_up: true,
            },
            Role::Verify {
                capacity: 0,
                warm_up: false,
            },
        ] {
            assert_eq!(parse_role(&role.to_env()), Ok(role));
        }
    }

    #[test]
    fn a_runner_is_split_as_a_shell_splits_it_and_a_malformed_one_is_a_sentence() {
        assert_eq!(
            parse_runner("qemu-arm -L '/usr/arm linux'"),
            Ok(vec![
                "qemu-arm".to_owned(),
                "-L".to_owned(),
                "/usr/arm linux".to_owned()
            ])
        );
        for bad in ["", "  ", "qemu-arm \"-L"] {
            let error = parse_runner(bad).unwrap_err();
            assert!(
                error.starts_with(&format!(
                    "FBA_RUNNER={bad:?} is not understood: write the command"
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn a_malformed_role_says_what_is_accepted() {
        let error = parse_role("verify lots warm").unwrap_err();
        assert!(
            error.starts_with("FBA_CHILD=\"verify lots warm\" is not understood: it is set by fba"),
            "{error}"
        );
        assert!(parse_role("verify 10 tepid").is_err());
    }
}
