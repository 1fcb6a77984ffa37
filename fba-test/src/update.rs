//! `FBA_UPDATE=1`: budgets that follow the code, as `insta` and
//! `expect-test` update snapshots. The integer literal of a test's attribute
//! is rewritten to the value measured (the minimum of a passing test, what a
//! failing one needs), optionally with `FBA_MARGIN` percent more rounded up
//! to a multiple of 8; the literal of its count budget (`allocations = N`)
//! to the allocations it makes, with the margin rounded up to a whole one. Writes are atomic (a temporary file renamed over the
//! source) and serialised by a lock per source file, so several tests of one
//! file can update at once, in threads or processes.

use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::budget_test::{BudgetLiteral, BudgetTest};

/// The budget to write for a measured value: exact without a margin; with
/// one, that many percent more, rounded up to a multiple of 8. At least 1
/// (a budget of 0 is not allowed).
pub(crate) fn budget_value(measured: usize, margin: Option<f64>) -> usize {
    let value = match margin {
        None => measured,
        Some(percent) => {
            ((measured as f64 * (1.0 + percent / 100.0)).ceil() as usize).next_multiple_of(8)
        }
    };
    value.max(1)
}

/// The count budget to write for `measured` allocations: exact without a
/// margin; with one, that many percent more, rounded up.
pub(crate) fn count_value(measured: usize, margin: Option<f64>) -> usize {
    match margin {
        None => measured,
        Some(percent) => (measured as f64 * (1.0 + percent / 100.0)).ceil() as usize,
    }
}

/// Which of a test's budgets a rewrite is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Budget {
    /// The byte budget, `#[memory_budget(N)]`.
    Bytes,
    /// The count budget, `allocations = N`.
    Allocations,
}

impl Budget {
    fn literal(self, test: &BudgetTest) -> Option<BudgetLiteral> {
        match self {
            Budget::Bytes => test.literal,
            Budget::Allocations => test.allocations_literal,
        }
    }

    /// What comes before the literal in the attribute.
    fn anchor(self) -> &'static str {
        match self {
            Budget::Bytes => "memory_budget(",
            Budget::Allocations => "allocations",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Budget::Bytes => "budget",
            Budget::Allocations => "allocation budget",
        }
    }
}

/// What [`rewrite`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rewrite {
    /// The literal `from` now reads `to`.
    Changed { from: String, to: usize },
    /// The literal stays at `value`: another test sharing it (a case of the
    /// same function) needs that much, at least as much as this one.
    Kept { value: usize },
}

/// Rewrites `test`'s literal of `budget` to `value`. A literal that other
/// tests share (`shared`: the cases of one `#[rstest]` or `#[test_case]`
/// function) becomes the largest value any of them asks for in this run.
pub(crate) fn rewrite(
    test: &BudgetTest,
    budget: Budget,
    value: usize,
    shared: bool,
) -> Result<Rewrite, String> {
    let literal = budget.literal(test).ok_or_else(|| {
        format!(
            "the {} at {}:{} is a constant or an expression, not an integer literal: \
             only literals are rewritten; write {value} there yourself",
            budget.name(),
            test.file,
            test.line
        )
    })?;
    let path = source_path(test.manifest_dir, test.file).ok_or_else(|| {
        format!(
            "cannot find the source file {} to rewrite its budget",
            test.file
        )
    })?;
    let failed = |error: std::io::Error| format!("cannot rewrite {}: {error}", path.display());
    let lock = File::create(lock_path(&path, "lock")).map_err(failed)?;
    lock.lock().map_err(failed)?;
    let rewritten = (|| {
        let text = fs::read_to_string(&path).map_err(failed)?;
        let not_found = || {
            format!(
                "the {} {} at {}:{} is not where it was compiled: rebuild, then run with FBA_UPDATE=1 again",
                budget.name(),
                literal.text,
                test.file,
                literal.line
            )
        };
        let ledger_path = lock_path(&path, "ledger.json");
        let mut ledger = if shared {
            Ledger::read(&ledger_path)
        } else {
            Ledger::default()
        };
        let session = session();
        // A case sharing the literal rewrote it in this run: take the larger.
        let by_a_sibling = ledger.written(literal, session).and_then(|written| {
            let text_now = literal_text(written, literal.text);
            literal_offset(
                &text,
                literal.line,
                literal.column,
                &text_now,
                budget.anchor(),
            )
            .map(|start| (start, text_now, written))
        });
        let (start, current) = match by_a_sibling {
            Some((_, _, written)) if written >= value => {
                return Ok(Rewrite::Kept { value: written });
            }
            Some((start, current, _)) => (start, current),
            None => {
                let start = literal_offset(
                    &text,
                    literal.line,
                    literal.column,
                    literal.text,
                    budget.anchor(),
                )
                .ok_or_else(not_found)?;
                (start, literal.text.to_owned())
            }
        };
        if shared {
            ledger.record(literal, session, value);
            ledger.write(&ledger_path).map_err(failed)?;
        }
        let new_text = literal_text(value, literal.text);
        if current == new_text {
            return Ok(Rewrite::Kept { value });
        }
        let mut source = String::with_capacity(text.len() + 8);
        source.push_str(&text[..start]);
        source.push_str(&new_text);
        source.push_str(&text[start + current.len()..]);
        write_atomically(&path, &source).map_err(failed)?;
        Ok(Rewrite::Changed {
            from: current,
            to: value,
        })
    })();
    lock.unlock().map_err(failed)?;
    rewritten
}

/// `value` written as the literal `compiled` was: with its `usize` suffix.
fn literal_text(value: usize, compiled: &str) -> String {
    if compiled.ends_with("usize") {
        format!("{value}usize")
    } else {
        value.to_string()
    }
}

/// Writes `text` to a temporary file beside `path` and renames it over it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_file_name(format!(
        ".{}.fba-update-{}",
        path.file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// The run of the test runner that updates: the tests of one `cargo test`
/// or `cargo nextest run` (threads or processes) share their parent.
fn session() -> u32 {
    #[cfg(unix)]
    {
        std::os::unix::process::parent_id()
    }
    #[cfg(not(unix))]
    {
        std::process::id()
    }
}

/// What the runs of shared literals wrote: per literal, the compiled text,
/// the run (`session`) and the value written. Kept beside the lock file.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Ledger {
    entries: Vec<LedgerEntry>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct LedgerEntry {
    line: u32,
    column: u32,
    compiled: String,
    session: u32,
    written: usize,
}

impl Ledger {
    fn read(path: &Path) -> Ledger {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        fs::write(path, text)
    }

    fn entry(&self, literal: BudgetLiteral) -> Option<&LedgerEntry> {
        self.entries.iter().find(|entry| {
            entry.line == literal.line
                && entry.column == literal.column
                && entry.compiled == literal.text
        })
    }

    /// The value written for `literal` in `session`, if any.
    fn written(&self, literal: BudgetLiteral, session: u32) -> Option<usize> {
        self.entry(literal)
            .filter(|entry| entry.session == session)
            .map(|entry| entry.written)
    }

    fn record(&mut self, literal: BudgetLiteral, session: u32, written: usize) {
        self.entries
            .retain(|entry| !(entry.line == literal.line && entry.column == literal.column));
        self.entries.push(LedgerEntry {
            line: literal.line,
            column: literal.column,
            compiled: literal.text.to_owned(),
            session,
            written,
        });
    }
}

/// The source file `file!()` names: relative to the workspace root, which
/// is the package's directory or one of its ancestors.
fn source_path(manifest_dir: &str, file: &str) -> Option<PathBuf> {
    let file = Path::new(file);
    if file.is_absolute() {
        return file.is_file().then(|| file.to_owned());
    }
    Path::new(manifest_dir)
        .ancestors()
        .map(|directory| directory.join(file))
        .find(|candidate| candidate.is_file())
}

/// A file of the update of `path` (its lock, its ledger), outside the
/// source tree.
fn lock_path(path: &Path, extension: &str) -> PathBuf {
    let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut hasher = DefaultHasher::new();
    canonical.hash(&mut hasher);
    std::env::temp_dir().join(format!("fba-update-{:016x}.{extension}", hasher.finish()))
}

/// The byte offset of `literal` in `text` at `line` (1-based) and `column`
/// (0-based, in characters), or, if it moved on that line, of the value
/// after `anchor` (`memory_budget(`, or `allocations` and its `=`) when
/// that is `literal`.
fn literal_offset(
    text: &str,
    line: u32,
    column: u32,
    literal: &str,
    anchor: &str,
) -> Option<usize> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)? as usize)
        .map(str::len)
        .sum();
    let line_text = text[line_start..].split('\n').next()?;
    if let Some((offset, _)) = line_text.char_indices().nth(column as usize)
        && line_text[offset..].starts_with(literal)
    {
        return Some(line_start + offset);
    }
    let mut after = line_text.find(anchor)? + anchor.len();
    if !anchor.ends_with('(') {
        let rest = &line_text[after..];
        let equals = rest.trim_start().strip_prefix('=')?;
        after += rest.len() - equals.len();
    }
    let rest = &line_text[after..];
    let budget_start = rest.len() - rest.trim_start().len();
    let budget = rest[budget_start..].split([',', ')']).next()?.trim_end();
    (budget == literal).then_some(line_start + after + budget_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_margin_the_value_is_exact() {
        assert_eq!(budget_value(3104, None), 3104);
        assert_eq!(budget_value(0, None), 1);
    }

    #[test]
    fn a_margin_is_added_and_rounded_up_to_a_multiple_of_8() {
        assert_eq!(budget_value(1000, Some(10.0)), 1104);
        assert_eq!(budget_value(1000, Some(0.0)), 1000);
        assert_eq!(budget_value(1001, Some(0.0)), 1008);
        assert_eq!(budget_value(3, Some(50.0)), 8);
    }

    #[test]
    fn the_literal_is_found_at_its_line_and_column() {
        let text = "fn a() {}\n#[memory_budget(4096)]\nfn b() {}\n";
        let offset = literal_offset(text, 2, 16, "4096", "memory_budget(").unwrap();
        assert_eq!(&text[offset..offset + 4], "4096");
    }

    #[test]
    fn a_literal_that_moved_on_its_line_is_found_once_after_the_attribute() {
        let text = "#[memory_budget( 4_096 , search = false)]\n";
        let bytes = "memory_budget(";
        assert_eq!(literal_offset(text, 1, 16, "4_096", bytes), Some(17));
        assert_eq!(literal_offset(text, 2, 16, "4_096", bytes), None);
        assert_eq!(
            literal_offset("#[memory_budget(64)] // 64\n", 1, 3, "64", bytes),
            Some(16)
        );
        assert_eq!(
            literal_offset("x = 64; #[memory_budget(6464)]\n", 1, 0, "64", bytes),
            None
        );
    }

    #[test]
    fn a_count_literal_that_moved_is_found_after_allocations_and_its_equals() {
        let text = "#[memory_budget(4096, allocations  =  12)]\n";
        assert_eq!(literal_offset(text, 1, 0, "12", "allocations"), Some(38));
        assert_eq!(literal_offset(text, 1, 0, "4096", "allocations"), None);
        assert_eq!(count_value(12, None), 12);
        assert_eq!(count_value(0, None), 0);
        // 12 and 10% more is 13.2: 14 allocations.
        assert_eq!(count_value(12, Some(10.0)), 14);
    }
}
