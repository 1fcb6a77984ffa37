//! Reports put back together: the rows of several JSON Lines files (CI
//! shards, test binaries, retries), one row per test and target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fba_test::summary::{self, ReportRow};

/// A test of one target, wherever its rows came from: its path, its file
/// and line (two binaries may hold tests of the same path) and the target.
type Key = (String, String, String, u32);

/// The merged rows of a run.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    /// One row per test and target, with the JSON object it was read from,
    /// sorted by target, then test.
    pub(crate) rows: Vec<(ReportRow, serde_json::Value)>,
    /// Tests that had more than one row (a retry, a shard run twice): the
    /// test, its target and how many rows it had. The last one counts.
    pub(crate) repeated: Vec<(String, String, usize)>,
}

/// A report that could not be read.
#[derive(Debug)]
pub(crate) struct ReadError(pub(crate) String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads and merges the reports at `paths`, in order: of the rows of one
/// test, the last read counts.
pub(crate) fn read(paths: &[PathBuf]) -> Result<Merged, ReadError> {
    let mut texts = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ReadError(format!(
                "could not read the report {}: {error}",
                path.display()
            ))
        })?;
        texts.push((path.as_path(), text));
    }
    merge(texts.iter().map(|(path, text)| (*path, text.as_str())))
}

/// Merges the reports `texts` (each with the path it came from).
pub(crate) fn merge<'a>(
    texts: impl IntoIterator<Item = (&'a Path, &'a str)>,
) -> Result<Merged, ReadError> {
    let mut rows: BTreeMap<Key, (ReportRow, serde_json::Value, usize)> = BTreeMap::new();
    for (path, text) in texts {
        let parsed = summary::parse(text).map_err(|bad| {
            ReadError(format!(
                "{}: {bad}; a report is the JSON Lines file a run with FBA_REPORT=<path> writes",
                path.display()
            ))
        })?;
        for (row, value) in parsed {
            let key = (
                row.target.clone(),
                row.test.clone(),
                row.file.clone(),
                row.line,
            );
            let seen = rows.get(&key).map_or(0, |(_, _, seen)| *seen);
            rows.insert(key, (row, value, seen + 1));
        }
    }
    let repeated = rows
        .values()
        .filter(|(_, _, seen)| *seen > 1)
        .map(|(row, _, seen)| (row.test.clone(), row.target.clone(), *seen))
        .collect();
    Ok(Merged {
        rows: rows
            .into_values()
            .map(|(row, value, _)| (row, value))
            .collect(),
        repeated,
    })
}

impl Merged {
    /// The rows, grouped by target (sorted), each group sorted by test.
    pub(crate) fn by_target(&self) -> BTreeMap<&str, Vec<&ReportRow>> {
        let mut groups: BTreeMap<&str, Vec<&ReportRow>> = BTreeMap::new();
        for (row, _) in &self.rows {
            groups.entry(row.target.as_str()).or_default().push(row);
        }
        groups
    }

    /// The sentence about tests that had several rows, if any did.
    pub(crate) fn repeated_note(&self) -> Option<String> {
        if self.repeated.is_empty() {
            return None;
        }
        const NAMED: usize = 10;
        let mut tests: Vec<String> = self
            .repeated
            .iter()
            .take(NAMED)
            .map(|(test, target, seen)| format!("{test} ({target}): {seen} rows"))
            .collect();
        if self.repeated.len() > NAMED {
            tests.push(format!("and {} more", self.repeated.len() - NAMED));
        }
        Some(format!(
            "{} test(s) were reported more than once (a retry, or a shard run twice); the last row of each counts: {}",
            self.repeated.len(),
            tests.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(test: &str, target: &str, minimum: usize) -> String {
        format!(
            "{{\"schema\":1,\"test\":\"{test}\",\"file\":\"tests/a.rs\",\"line\":1,\"declared\":4096,\"minimum\":{minimum},\"verdict\":\"passed\",\"target\":\"{target}\"}}\n"
        )
    }

    #[test]
    fn shards_merge_into_one_row_per_test_and_a_retry_counts_once() {
        let first = row("a", "x86_64", 100) + &row("b", "x86_64", 200);
        // Shard 2 ran `a` again (a retry): its last row counts.
        let second = row("c", "x86_64", 300) + &row("a", "x86_64", 150);
        let merged = merge([
            (Path::new("1.jsonl"), first.as_str()),
            (Path::new("2.jsonl"), second.as_str()),
        ])
        .unwrap();
        let minimums: Vec<(&str, Option<usize>)> = merged
            .rows
            .iter()
            .map(|(row, _)| (row.test.as_str(), row.minimum))
            .collect();
        assert_eq!(
            minimums,
            [("a", Some(150)), ("b", Some(200)), ("c", Some(300))]
        );
        assert_eq!(merged.repeated, [("a".to_owned(), "x86_64".to_owned(), 2)]);
        assert!(
            merged
                .repeated_note()
                .unwrap()
                .contains("a (x86_64): 2 rows")
        );
    }

    #[test]
    fn rows_of_different_targets_are_kept_apart() {
        let text = row("a", "x86_64", 100) + &row("a", "armv7", 60);
        let merged = merge([(Path::new("r.jsonl"), text.as_str())]).unwrap();
        let groups = merged.by_target();
        assert_eq!(
            groups.keys().copied().collect::<Vec<_>>(),
            ["armv7", "x86_64"]
        );
        assert!(merged.repeated.is_empty());
    }

    #[test]
    fn a_bad_line_names_the_file_and_the_line() {
        let error = merge([(Path::new("shard.jsonl"), "{\"test\":1}\n")]).unwrap_err();
        assert!(
            error
                .0
                .starts_with("shard.jsonl: line 1 is not a row of an fba report"),
            "{error}"
        );
    }
}
