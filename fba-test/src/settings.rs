//! The `FBA_*` environment variables that shape every budget test, read and
//! checked in one place.

use std::env;
use std::fmt;
use std::sync::OnceLock;

/// The default bound of the search for what an over-budget body needs.
pub const DEFAULT_MAX_BYTES: usize = 1 << 30;

/// Settings from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    /// `FBA_SEARCH`: whether to search for the minimum (default on).
    pub(crate) search: bool,
    /// `FBA_MAX_BYTES`: the largest buffer a search tries, and the size of
    /// a global-mode budget's reservation.
    pub(crate) max_bytes: usize,
    /// `FBA_VERIFY`: prove global-mode minimums by real failure in child
    /// processes (default off).
    pub(crate) verify: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            search: true,
            max_bytes: DEFAULT_MAX_BYTES,
            verify: false,
        }
    }
}

/// A malformed `FBA_*` variable: its name, its value and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SettingsError {
    variable: &'static str,
    value: String,
    accepted: &'static str,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is not understood: {}",
            self.variable, self.value, self.accepted
        )
    }
}

const SEARCH_ACCEPTS: &str =
    "write 0 or false to turn the search for the minimum off, 1 or true to turn it on";
const VERIFY_ACCEPTS: &str = "write 1 or true to prove global-mode minimums by real failure in child processes, 0 or false not to";
const BYTES_ACCEPTS: &str = "write a positive number of bytes, optionally with a K, M or G suffix (powers of 1024), e.g. 1G";

impl Settings {
    /// The settings from the environment, read once per process.
    pub(crate) fn from_env() -> Result<Settings, SettingsError> {
        static SETTINGS: OnceLock<Result<Settings, SettingsError>> = OnceLock::new();
        SETTINGS
            .get_or_init(|| Settings::from_lookup(|name| env::var(name).ok()))
            .clone()
    }

    /// Reads the settings through `lookup`, which returns a variable's value.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let mut settings = Settings::default();
        if let Some(value) = lookup("FBA_SEARCH") {
            settings.search = parse_switch("FBA_SEARCH", &value, SEARCH_ACCEPTS)?;
        }
        if let Some(value) = lookup("FBA_VERIFY") {
            settings.verify = parse_switch("FBA_VERIFY", &value, VERIFY_ACCEPTS)?;
        }
        if let Some(value) = lookup("FBA_MAX_BYTES") {
            settings.max_bytes = parse_bytes("FBA_MAX_BYTES", &value)?;
        }
        Ok(settings)
    }
}

/// Parses an on/off variable: `1`, `true`, `yes`, `on` or `0`, `false`, `no`,
/// `off` (any case, surrounding spaces ignored).
pub(crate) fn parse_switch(
    variable: &'static str,
    value: &str,
    accepted: &'static str,
) -> Result<bool, SettingsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(SettingsError {
            variable,
            value: value.to_owned(),
            accepted,
        }),
    }
}

/// Parses a positive byte count: digits (with `_` separators), then an
/// optional `K`, `M` or `G` (`KiB`, `MiB`, `GiB` too; powers of 1024).
pub(crate) fn parse_bytes(variable: &'static str, value: &str) -> Result<usize, SettingsError> {
    let error = || SettingsError {
        variable,
        value: value.to_owned(),
        accepted: BYTES_ACCEPTS,
    };
    let text = value.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(error()),
    };
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    let number: usize = digits.parse().map_err(|_| error())?;
    let bytes = number.checked_mul(1 << shift).ok_or_else(error)?;
    if bytes == 0 {
        return Err(error());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn defaults_search_on_and_one_gib() {
        assert_eq!(
            settings(&[]),
            Ok(Settings {
                search: true,
                max_bytes: 1 << 30,
                verify: false
            })
        );
    }

    #[test]
    fn search_switch_accepts_the_usual_spellings() {
        for off in ["0", "false", "FALSE", " no ", "off"] {
            assert!(!settings(&[("FBA_SEARCH", off)]).unwrap().search, "{off}");
        }
        for on in ["1", "true", "Yes", "on"] {
            assert!(settings(&[("FBA_SEARCH", on)]).unwrap().search, "{on}");
        }
    }

    #[test]
    fn malformed_search_names_the_variable_the_value_and_what_is_accepted() {
        let error = settings(&[("FBA_SEARCH", "maybe")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "FBA_SEARCH=\"maybe\" is not understood: write 0 or false to turn the search for the minimum off, 1 or true to turn it on"
        );
    }

    #[test]
    fn max_bytes_accepts_numbers_and_binary_suffixes() {
        let max = |value| settings(&[("FBA_MAX_BYTES", value)]).map(|s| s.max_bytes);
        assert_eq!(max("4096"), Ok(4096));
        assert_eq!(max("64_000"), Ok(64_000));
        assert_eq!(max("16K"), Ok(16 << 10));
        assert_eq!(max("2 MiB"), Ok(2 << 20));
        assert_eq!(max("1g"), Ok(1 << 30));
    }

    #[test]
    fn malformed_max_bytes_is_an_error_that_says_what_is_accepted() {
        for bad in ["", "0", "-5", "1.5G", "12x", "G", "99999999999999999999999"] {
            let error = settings(&[("FBA_MAX_BYTES", bad)]).unwrap_err();
            let text = error.to_string();
            assert!(
                text.starts_with(&format!(
                    "FBA_MAX_BYTES={bad:?} is not understood: write a positive number of bytes"
                )),
                "{text}"
            );
        }
    }
}
