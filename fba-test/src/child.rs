//! Child processes: the parent re-runs one test in a fresh process
//! (`<test binary> <name> --exact`, through `FBA_RUNNER` under an emulator,
//! the role in `FBA_CHILD`). Global mode measures first runs there
//! (`cold = true`) and proves minimums by real failure (`verify = true`);
//! failure injection fails allocations there, where one that nothing
//! handles aborts the child, not the test run.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::injection::FailurePolicy;
use crate::settings::parse_bytes;

/// The variable that gives a child its role.
const ROLE_VARIABLE: &str = "FBA_CHILD";

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
    /// Failure injection: run the body once per allocation index of the
    /// sweep over `allocations` allocations in `runs` runs, from position
    /// `from` of it, reporting each run on a line of its own.
    Inject {
        policy: FailurePolicy,
        allocations: usize,
        runs: usize,
        from: usize,
    },
}

impl Role {
    pub(crate) fn to_env(self) -> String {
        match self {
            Role::Verify { capacity, warm_up } => format!(
                "verify {capacity} {}",
                if warm_up { "warm" } else { "cold" }
            ),
            Role::Measure { sites: false } => "measure".to_owned(),
            Role::Measure { sites: true } => "measure sites".to_owned(),
            Role::Inject {
                policy,
                allocations,
                runs,
                from,
            } => format!(
                "inject {} {allocations} {runs} {from}",
                match policy {
                    FailurePolicy::EachAllocation => "each",
                    FailurePolicy::FromAllocation => "from",
                }
            ),
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
             as `measure`, `measure sites`, `verify <bytes> warm|cold` or `inject each|from <allocations> <runs> <from>`; \
             unset it"
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
        [
            "inject",
            policy @ ("each" | "from"),
            allocations,
            runs,
            from,
        ] => {
            let number = |text: &str| text.parse::<usize>().map_err(|_| malformed());
            Ok(Role::Inject {
                policy: if *policy == "each" {
                    FailurePolicy::EachAllocation
                } else {
                    FailurePolicy::FromAllocation
                },
                allocations: number(allocations)?,
                runs: number(runs)?,
                from: number(from)?,
            })
        }
        _ => Err(malformed()),
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

/// Runs the test `name` in a child process with `role` (the test binary
/// itself, or through `FBA_RUNNER`); a child that goes silent for 600
/// seconds is stopped, and that is an error.
pub(crate) fn spawn(name: &str, role: Role) -> Result<Output, String> {
    let ended = run(name, role)?;
    if ended.stopped {
        return Err(stopped_text());
    }
    Ok(ended.output)
}

/// Runs the test `name` in a child process with `role`, as [`spawn`], and
/// says whether it had to be stopped.
pub(crate) fn run(name: &str, role: Role) -> Result<Ended, String> {
    if cfg!(miri) {
        // Miri would stop the whole run at the first process it cannot
        // start (or at `current_exe`), not fail this one test.
        return Err(
            "this test runs child processes of the test binary (`verify`, `cold`, failure injection), which Miri \
             cannot start: leave it out of Miri's runs with #[cfg_attr(miri, ignore)]"
                .to_owned(),
        );
    }
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
    Ok(finish(child, CHILD_TIMEOUT))
}

/// Why a child that went silent was stopped.
pub(crate) fn stopped_text() -> String {
    format!(
        "the child process running the test again printed nothing for {} seconds, and was stopped",
        CHILD_TIMEOUT.as_secs()
    )
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

/// How a child ended.
pub(crate) struct Ended {
    pub(crate) output: Output,
    /// It printed nothing for the timeout and was stopped.
    pub(crate) stopped: bool,
}

/// Waits for `child` with its output read as it comes, stopping it when it
/// has printed nothing for `timeout` (a long run that reports as it goes,
/// as failure injection's, is not stopped).
fn finish(mut child: Child, timeout: Duration) -> Ended {
    let heard = Arc::new(Mutex::new(Instant::now()));
    let read = |mut pipe: Box<dyn Read + Send>| {
        let heard = Arc::clone(&heard);
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        bytes.extend_from_slice(&chunk[..read]);
                        *heard
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
                    }
                }
            }
            bytes
        })
    };
    let stdout = child
        .stdout
        .take()
        .map(|pipe| read(Box::new(pipe) as Box<dyn Read + Send>));
    let stderr = child
        .stderr
        .take()
        .map(|pipe| read(Box::new(pipe) as Box<dyn Read + Send>));
    let mut stopped = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {
                let silent = heard
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .elapsed();
                if silent < timeout {
                    thread::sleep(Duration::from_millis(5));
                } else {
                    stopped = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
            }
            Err(_) => break None,
        }
    };
    let collect = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    };
    Ended {
        output: Output {
            status: status.unwrap_or_default(),
            stdout: collect(stdout),
            stderr: collect(stderr),
        },
        stopped,
    }
}

pub(crate) fn output_text(output: &Output) -> String {
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

#[cfg(unix)]
pub(crate) fn aborted(output: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    output.status.signal() == Some(6)
}

#[cfg(not(unix))]
pub(crate) fn aborted(output: &Output) -> bool {
    !output.status.success() && output.status.code() != Some(101)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Run by CI under Miri, where a process that cannot be started would
    // stop every test.
    #[cfg(miri)]
    #[test]
    fn under_miri_a_child_process_is_an_error_of_the_test() {
        let error = run("tests::any", Role::Measure { sites: false })
            .err()
            .expect("no child process under Miri");
        assert!(error.contains("Miri cannot start"), "{error}");
        assert!(error.contains("#[cfg_attr(miri, ignore)]"), "{error}");
    }

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
            Role::Inject {
                policy: FailurePolicy::FromAllocation,
                allocations: 120,
                runs: 40,
                from: 7,
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
