//! Budgets are per thread: the sixteen tests of `parallel.rs`, run by this
//! binary in a child process with eight test threads, each report their own
//! exact minimum, twenty runs in a row.

use std::process::Command;

#[test]
fn sixteen_parallel_budget_tests_each_report_their_own_minimum_twenty_times() {
    for run in 1..=20 {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["parallel::", "--test-threads=8", "--show-output"])
            .env("RUST_BACKTRACE", "0");
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FBA_")) {
            command.env_remove(name);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "run {run}:\n{stdout}");
        for test in 1..=16 {
            let line = format!(
                "memory_budget parallel::budget_{test:02}: minimum {} of 4096 bytes",
                test * 100
            );
            assert!(
                stdout.contains(&line),
                "run {run} lacks {line:?}:\n{stdout}"
            );
        }
    }
}
