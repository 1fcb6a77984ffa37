//! Nested cargo runs on the fixture crates beside the workspace
//! (`tests/downstream`, `tests/real-code`, copies of `tests/update-fixture`),
//! one at a time, in a clean environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One nested cargo at a time: they share a target directory and two cores.
static CARGO: Mutex<()> = Mutex::new(());

/// The target directory of every fixture crate, `target/fixtures`. One
/// directory, not one per fixture: the fixtures depend on the same crates
/// (fba's own, syn, clap, backtrace...), which are then built and stored
/// once instead of once per fixture.
const TARGET: &str = "fixtures";

/// The workspace's root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cargo <args>` on the crate of `manifest` (cargo's own options go
/// before a `--`, the test binary's after it) with target directory
/// `target/fixtures`, without any `FBA_*`, CI or nextest variable of the
/// outer run, `RUST_BACKTRACE=0`, and then `envs`. Returns whether it
/// succeeded, and its stdout and stderr.
pub(crate) fn cargo(manifest: &Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let _one_at_a_time = CARGO
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let split = args
        .iter()
        .position(|arg| *arg == "--")
        .unwrap_or(args.len());
    command
        .args(&args[..split])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--locked")
        .args(&args[split..]);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("FBA_")
            || name.starts_with("NEXTEST")
            || name.starts_with("__NEXTEST")
            || ["CI", "GITHUB_ACTIONS", "RUST_TEST_THREADS"].contains(&name.as_str())
        {
            command.env_remove(&name);
        }
    }
    command
        .env("CARGO_TARGET_DIR", root().join("target").join(TARGET))
        .env("RUST_BACKTRACE", "0")
        .envs(envs.iter().copied());
    let output = command.output().expect("cargo runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// nextest's output without the four spaces it indents each test's captured
/// output by.
pub(crate) fn unindented(output: &str) -> String {
    output
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The line (from 1) of the `#[memory_budget(..)]` attribute of `fn
/// function` in the workspace file `file`, as messages cite it.
pub(crate) fn attribute_line(file: &str, function: &str) -> usize {
    let source = std::fs::read_to_string(root().join(file)).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let function_line = lines
        .iter()
        .position(|line| line.contains(&format!("fn {function}(")))
        .unwrap_or_else(|| panic!("no fn {function} in {file}"));
    lines[..function_line]
        .iter()
        .rposition(|line| line.contains("#[memory_budget("))
        .unwrap_or_else(|| panic!("no #[memory_budget] above fn {function} in {file}"))
        + 1
}
