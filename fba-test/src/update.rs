//! `FBA_UPDATE=1`: budgets that follow the code, as `insta` and
//! `expect-test` update snapshots. The integer literal of a test's attribute
//! is rewritten to the value measured (the minimum of a passing test, what a
//! failing one needs), optionally with `FBA_MARGIN` percent more rounded up
//! to a multiple of 8. Writes are atomic (a temporary file renamed over the
//! source) and serialised by a lock per source file, so several tests of one
//! file can update at once, in threads or processes.

use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::macro_support::BudgetTest;

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

/// Rewrites `test`'s budget literal to `value`; returns the literal it
/// replaced.
pub(crate) fn rewrite(test: &BudgetTest, value: usize) -> Result<String, String> {
    let literal = test.literal.ok_or_else(|| {
        format!(
            "the budget at {}:{} is a constant or an expression, not an integer literal: \
             only literals are rewritten; write {value} there yourself",
            test.file, test.line
        )
    })?;
    let path = source_path(test.manifest_dir, test.file).ok_or_else(|| {
        format!(
            "cannot find the source file {} to rewrite its budget",
            test.file
        )
    })?;
    let failed = |error: std::io::Error| format!("cannot rewrite {}: {error}", path.display());
    let lock = File::create(lock_path(&path)).map_err(failed)?;
    lock.lock().map_err(failed)?;
    let text = fs::read_to_string(&path).map_err(failed)?;
    let start = literal_offset(&text, literal.line, literal.column, literal.text).ok_or_else(|| {
        format!(
            "the budget {} at {}:{} is not where it was compiled: rebuild, then run with FBA_UPDATE=1 again",
            literal.text, test.file, literal.line
        )
    })?;
    let suffix = if literal.text.ends_with("usize") {
        "usize"
    } else {
        ""
    };
    let mut rewritten = String::with_capacity(text.len() + 8);
    rewritten.push_str(&text[..start]);
    rewritten.push_str(&format!("{value}{suffix}"));
    rewritten.push_str(&text[start + literal.text.len()..]);
    let temporary = path.with_file_name(format!(
        ".{}.fba-update-{}",
        path.file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(rewritten.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, &path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map_err(failed)?;
    lock.unlock().map_err(failed)?;
    Ok(literal.text.to_owned())
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

/// A lock file for `path`, outside the source tree.
fn lock_path(path: &Path) -> PathBuf {
    let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut hasher = DefaultHasher::new();
    canonical.hash(&mut hasher);
    std::env::temp_dir().join(format!("fba-update-{:016x}.lock", hasher.finish()))
}

/// The byte offset of `literal` in `text` at `line` (1-based) and `column`
/// (0-based, in characters), or, if it moved on that line, of the budget
/// after `memory_budget(` when that is `literal`.
fn literal_offset(text: &str, line: u32, column: u32, literal: &str) -> Option<usize> {
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
    let after = line_text.find("memory_budget(")? + "memory_budget(".len();
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
        let offset = literal_offset(text, 2, 16, "4096").unwrap();
        assert_eq!(&text[offset..offset + 4], "4096");
    }

    #[test]
    fn a_literal_that_moved_on_its_line_is_found_once_after_the_attribute() {
        let text = "#[memory_budget( 4_096 , search = false)]\n";
        assert_eq!(literal_offset(text, 1, 16, "4_096"), Some(17));
        assert_eq!(literal_offset(text, 2, 16, "4_096"), None);
        assert_eq!(
            literal_offset("#[memory_budget(64)] // 64\n", 1, 3, "64"),
            Some(16)
        );
        assert_eq!(
            literal_offset("x = 64; #[memory_budget(6464)]\n", 1, 0, "64"),
            None
        );
    }
}
