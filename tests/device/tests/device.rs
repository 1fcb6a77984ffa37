//! Numbers for the device: the workspace's budget tests built for
//! `armv7-unknown-linux-gnueabihf` (thumbv7em's data layout) and run under
//! `qemu-arm`, side by side with the host's; `verify` through `FBA_RUNNER`;
//! and the firmware of `examples/embedded` on an emulated Cortex-M4 with a
//! heap of exactly the armv7 minimum (it runs) and one byte less (its
//! allocation fails).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const ARMV7: &str = "armv7-unknown-linux-gnueabihf";
const THUMBV7EM: &str = "thumbv7em-none-eabihf";
const RUNNER: &str = "qemu-arm -L /usr/arm-linux-gnueabihf";

/// One nested cargo at a time: they share a target directory.
static CARGO: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Fails with what to install when a tool is missing.
fn require(program: &str, install: &str) {
    let found = Command::new(program).arg("--version").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "`{program}` is needed for the device checks: install {install}"
    );
}

fn tools() {
    require("qemu-arm", "Debian's qemu-user (apt-get install qemu-user)");
    require(
        "qemu-system-arm",
        "Debian's qemu-system-arm (apt-get install qemu-system-arm)",
    );
    require(
        "arm-linux-gnueabihf-gcc",
        "Debian's gcc-arm-linux-gnueabihf and libc6-dev-armhf-cross",
    );
}

/// `cargo <args>` on the manifest `manifest` (relative to the workspace),
/// in the target directory `target/<target_dir>`, with armv7's linker and
/// runner, no `FBA_*` of the outer run, and `envs`. The workspace's runs use
/// `target/fixtures`, the directory of its own fixture runs, so the crates
/// built for the host there are not built and stored a second time.
fn cargo(manifest: &str, target_dir: &str, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
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
        .arg(root().join(manifest))
        .arg("--locked")
        .args(&args[split..]);
    for (name, _) in std::env::vars() {
        if name.starts_with("FBA_")
            || name.starts_with("NEXTEST")
            || name == "CI"
            || name == "GITHUB_ACTIONS"
        {
            command.env_remove(name);
        }
    }
    command
        .env("CARGO_TARGET_DIR", root().join("target").join(target_dir))
        .env(
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER",
            "arm-linux-gnueabihf-gcc",
        )
        .env("CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER", RUNNER)
        .env("RUST_BACKTRACE", "0")
        .envs(envs.iter().copied());
    let output = command.output().expect("cargo runs");
    (output.status.success(), text(&output))
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The rows of the budget harness run for `target` (`None`: the host),
/// by test.
fn budget_rows(target: Option<&str>) -> BTreeMap<String, serde_json::Value> {
    let name = target.unwrap_or("host");
    let report = root().join(format!("target/device/budgets-{name}.jsonl"));
    let _ = std::fs::remove_file(&report);
    let mut args = vec!["test", "--test", "budgets"];
    if let Some(target) = target {
        args.extend(["--target", target]);
    }
    let (success, output) = cargo(
        "Cargo.toml",
        "fixtures",
        &args,
        &[("FBA_REPORT", report.to_str().unwrap())],
    );
    assert!(success, "{output}");
    if let Some(target) = target {
        let title = format!("memory budgets ({target}, 32-bit):");
        assert!(
            output.contains(&title),
            "the table says what it measured for:\n{output}"
        );
    }
    std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            (row["test"].as_str().unwrap().to_owned(), row)
        })
        .collect()
}

#[test]
fn exact_numbers_of_both_widths_hold_on_armv7_under_cargo_test_and_nextest() {
    tools();
    let (success, output) = cargo(
        "Cargo.toml",
        "fixtures",
        &[
            "test", "--target", ARMV7, "--test", "global", "--", "widths::",
        ],
        &[],
    );
    assert!(
        success && output.contains("test result: ok. 3 passed"),
        "{output}"
    );
    let (success, output) = cargo(
        "Cargo.toml",
        "fixtures",
        &[
            "nextest",
            "run",
            "--target",
            ARMV7,
            "--test",
            "global",
            "-E",
            "test(/widths::/)",
        ],
        &[],
    );
    assert!(
        success && output.contains("3 tests run: 3 passed"),
        "{output}"
    );
}

#[test]
fn the_budget_harness_on_armv7_and_on_the_host_say_what_each_measured_for() {
    tools();
    let host = budget_rows(None);
    let device = budget_rows(Some(ARMV7));
    assert_eq!(
        host.keys().collect::<Vec<_>>(),
        device.keys().collect::<Vec<_>>(),
        "every test has a row on both"
    );
    for (test, row) in &device {
        assert_eq!(
            (row["target"].as_str(), row["pointer_width"].as_u64()),
            (Some(ARMV7), Some(32)),
            "{test}"
        );
        assert_eq!(host[test]["pointer_width"], usize::BITS, "{test}");
        assert_ne!(host[test]["target"], row["target"], "{test}");
        assert_eq!(row["verdict"], "passed", "{test}");
    }
    // Three `(&str, &str)` fields (4 words each) in a vector of 4.
    let word = |row: &serde_json::Value| row["pointer_width"].as_u64().unwrap() / 8;
    for rows in [&host, &device] {
        let row = &rows["explicit::parses_a_header"];
        assert_eq!(row["minimum"].as_u64(), Some(4 * 4 * word(row)));
        // Three readings of a `String` (3 words) and an `i32` (padded to a
        // word), and their one-byte names.
        let row = &rows["device::handles_a_frame"];
        assert_eq!(
            row["minimum"].as_u64(),
            Some(3 * (3 * word(row) + word(row).max(4)) + 3)
        );
    }
    // The README shows these numbers side by side.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Numbers for your device")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut shown = 0;
    for line in section.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let test = cells[1].split('`').nth(1).unwrap();
        let minimum =
            |rows: &BTreeMap<String, serde_json::Value>| rows[test]["minimum"].to_string();
        assert_eq!(
            (cells[2], cells[3]),
            (minimum(&host).as_str(), minimum(&device).as_str()),
            "{line}"
        );
        shown += 1;
    }
    assert!(shown >= 4, "{section}");
    let (success, output) = cargo(
        "Cargo.toml",
        "fixtures",
        &["nextest", "run", "--target", ARMV7, "--test", "budgets"],
        &[],
    );
    assert!(
        success,
        "the budget harness under nextest on armv7:\n{output}"
    );
}

#[test]
fn verify_runs_its_children_through_fba_runner_and_says_to_set_it() {
    tools();
    let args = [
        "test",
        "--target",
        ARMV7,
        "--test",
        "budgets",
        "--",
        "global::formats_a_greeting",
        "--exact",
    ];
    let (success, output) = cargo(
        "Cargo.toml",
        "fixtures",
        &args,
        &[("FBA_VERIFY", "1"), ("FBA_RUNNER", RUNNER)],
    );
    assert!(success, "{output}");
    let (success, output) = cargo("Cargo.toml", "fixtures", &args, &[("FBA_VERIFY", "1")]);
    assert!(!success, "{output}");
    assert!(
        output.contains(&format!(
            "set FBA_RUNNER to it, as cargo's runner, e.g. FBA_RUNNER=\"{RUNNER}\""
        )),
        "{output}"
    );
    let (success, output) = cargo(
        "Cargo.toml",
        "fixtures",
        &args,
        &[("FBA_VERIFY", "1"), ("FBA_RUNNER", "qemu-nope -L x")],
    );
    assert!(!success);
    assert!(
        output.contains("FBA_RUNNER names `qemu-nope`, which is not a program here"),
        "{output}"
    );
}

/// Builds the firmware with a heap of `heap` bytes and runs it on QEMU's
/// Cortex-M4 machine: its exit status and its semihosting output.
fn firmware(heap: u64) -> (bool, String) {
    let (success, output) = cargo(
        "examples/embedded/Cargo.toml",
        "embedded",
        &["build", "--target", THUMBV7EM],
        &[("FBA_HEAP_BYTES", &heap.to_string())],
    );
    assert!(success, "{output}");
    let elf = root()
        .join("target/embedded")
        .join(THUMBV7EM)
        .join("debug/embedded-heap");
    let mut child = Command::new("qemu-system-arm")
        .args(["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("qemu-system-arm runs");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the firmware did not end within 120 seconds");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (output.status.success(), text(&output))
}

#[test]
fn the_armv7_minimum_is_exactly_the_heap_the_firmware_needs_on_a_cortex_m4() {
    tools();
    let device = budget_rows(Some(ARMV7));
    let heap = device["device::handles_a_frame"]["minimum"]
        .as_u64()
        .unwrap();
    let (success, output) = firmware(heap);
    assert!(success, "with the measured heap it runs:\n{output}");
    assert!(
        output.contains(&format!(
            "a heap of {heap} bytes, high-water mark {heap} bytes"
        )),
        "the device's high-water mark is the armv7 minimum:\n{output}"
    );
    let (success, output) = firmware(heap - 1);
    assert!(!success, "one byte less and the firmware fails:\n{output}");
    assert!(
        output.contains("memory allocation of"),
        "an allocation failed:\n{output}"
    );
}
