//! The `FBA_*` environment variables that shape every budget test, read and
//! checked in one place.

use std::env;
use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The default bound of the search for what an over-budget body needs, and
/// the size of a global-mode budget's reservation: 1 GiB, or 64 MiB where
/// pointers are 32 bits wide (several reservations must fit in 4 GiB of
/// address space).
pub const DEFAULT_MAX_BYTES: usize = if cfg!(target_pointer_width = "64") {
    1 << 30
} else {
    1 << 26
};

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
    /// `FBA_SITES`: how many allocation sites to show.
    pub(crate) sites: Sites,
    /// `FBA_MAX_INJECTIONS`: the most runs failure injection makes; a body
    /// with more allocations has that many failed, spread evenly.
    pub(crate) max_injections: usize,
    /// `FBA_PROFILE`: record how the buffer filled over one more run
    /// (default off).
    pub(crate) profile: bool,
}

/// How many runs failure injection makes at most, when
/// `FBA_MAX_INJECTIONS` is not set.
pub const DEFAULT_MAX_INJECTIONS: usize = 10_000;

/// `FBA_SITES`: how many allocation sites at the high-water mark a test
/// shows, found in one diagnostic trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sites {
    /// How many (`None`: all); 0 turns the diagnostic trial off.
    pub(crate) shown: Option<usize>,
    /// Whether `FBA_SITES` was set: then passing tests show them too, not
    /// only failing ones.
    pub(crate) asked: bool,
}

/// How many sites a failure shows when `FBA_SITES` is not set.
pub(crate) const DEFAULT_SITES: usize = 5;

/// When a measurement runs its diagnostic trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Diagnosis {
    Off,
    /// For a body over its budget.
    Failures,
    /// Passing bodies too.
    Always,
}

impl Diagnosis {
    /// Whether a body with this verdict (`over`: over budget) gets one.
    pub(crate) fn wanted(self, over: bool) -> bool {
        match self {
            Diagnosis::Off => false,
            Diagnosis::Failures => over,
            Diagnosis::Always => true,
        }
    }
}

impl Sites {
    /// A budget test's: failures always (their message shows the sites),
    /// passing tests when `FBA_SITES` is set.
    pub(crate) fn for_tests(&self) -> Diagnosis {
        match (self.shown, self.asked) {
            (Some(0), _) => Diagnosis::Off,
            (_, true) => Diagnosis::Always,
            (_, false) => Diagnosis::Failures,
        }
    }

    /// An assertion's (`fba::assert_budget`): failures only, whose message
    /// shows them; a passing input's sites would be shown nowhere.
    pub(crate) fn for_assertions(&self) -> Diagnosis {
        match self.shown {
            Some(0) => Diagnosis::Off,
            _ => Diagnosis::Failures,
        }
    }

    /// A measurement's (`fba::measure`): only when `FBA_SITES` asks, since
    /// nothing is printed.
    pub(crate) fn for_measurements(&self) -> Diagnosis {
        match (self.shown, self.asked) {
            (Some(0), _) | (_, false) => Diagnosis::Off,
            (_, true) => Diagnosis::Always,
        }
    }

    /// How many sites to show, as `FBA_SITES` says (the default where it
    /// is malformed: the test that reads it fails with the sentence).
    pub(crate) fn shown_from_env() -> Option<usize> {
        Settings::from_env()
            .map(|settings| settings.sites.shown)
            .unwrap_or(Some(DEFAULT_SITES))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            search: true,
            max_bytes: DEFAULT_MAX_BYTES,
            verify: false,
            sites: Sites {
                shown: Some(DEFAULT_SITES),
                asked: false,
            },
            max_injections: DEFAULT_MAX_INJECTIONS,
            profile: false,
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
const PROFILE_ACCEPTS: &str = "write 1 or true to record how the buffer fills over one more run of each test (the report's profile), 0 or false not to";
const BYTES_ACCEPTS: &str = "write a positive number of bytes, optionally with a K, M or G suffix (powers of 1024), e.g. 1G";
const SITES_ACCEPTS: &str = "write how many allocation sites to show, a number such as 5 (0 turns the diagnostic trial off), or all";
const INJECTIONS_ACCEPTS: &str =
    "write the most runs failure injection makes, a positive number such as 10000";

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
        if let Some(value) = lookup("FBA_PROFILE") {
            settings.profile = parse_switch("FBA_PROFILE", &value, PROFILE_ACCEPTS)?;
        }
        if let Some(value) = lookup("FBA_MAX_BYTES") {
            settings.max_bytes = parse_bytes("FBA_MAX_BYTES", &value)?;
        }
        if let Some(value) = lookup("FBA_SITES") {
            let shown = match value.trim().to_ascii_lowercase().as_str() {
                "all" => None,
                number => Some(number.parse::<usize>().map_err(|_| SettingsError {
                    variable: "FBA_SITES",
                    value: value.clone(),
                    accepted: SITES_ACCEPTS,
                })?),
            };
            settings.sites = Sites { shown, asked: true };
        }
        if let Some(value) = lookup("FBA_MAX_INJECTIONS") {
            settings.max_injections = value
                .trim()
                .replace('_', "")
                .parse::<usize>()
                .ok()
                .filter(|runs| *runs > 0)
                .ok_or_else(|| SettingsError {
                    variable: "FBA_MAX_INJECTIONS",
                    value: value.clone(),
                    accepted: INJECTIONS_ACCEPTS,
                })?;
        }
        Ok(settings)
    }
}

/// What happens after a budget test's measurement: the variables of the
/// update workflow, the staleness guard, the report and CI annotations.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Reporting {
    /// `FBA_UPDATE`: rewrite budget literals to what was measured.
    pub(crate) update: bool,
    /// `FBA_MARGIN`: percent added to a rewritten budget.
    pub(crate) margin: Option<f64>,
    /// `FBA_MAX_HEADROOM`: the most percent a budget may be above the
    /// minimum before the test fails as stale.
    pub(crate) max_headroom: Option<f64>,
    /// `FBA_REPORT`: where to append the JSON report.
    pub(crate) report: Option<PathBuf>,
    /// `CI` is set: updates are refused.
    pub(crate) ci: bool,
    /// `GITHUB_ACTIONS=true`: failures also print `::error` annotations.
    pub(crate) github_actions: bool,
}

const UPDATE_ACCEPTS: &str =
    "write 1 or true to rewrite budget literals to the values measured, 0 or false not to";
const MARGIN_ACCEPTS: &str =
    "write a percent to add to rewritten budgets, a number of 0 or more such as 10 or 12.5";
const HEADROOM_ACCEPTS: &str =
    "write the most percent a budget may be above the minimum, a number from 0 to 100 such as 25";
const REPORT_ACCEPTS: &str = "write the path of the file to append the JSON report to";

impl Reporting {
    /// The reporting settings from the environment, read once per process.
    pub(crate) fn from_env() -> Result<Reporting, SettingsError> {
        static REPORTING: OnceLock<Result<Reporting, SettingsError>> = OnceLock::new();
        REPORTING
            .get_or_init(|| Reporting::from_lookup(|name| env::var(name).ok()))
            .clone()
    }

    /// Reads the reporting settings through `lookup`.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Reporting, SettingsError> {
        let mut reporting = Reporting::default();
        if let Some(value) = lookup("FBA_UPDATE") {
            reporting.update = parse_switch("FBA_UPDATE", &value, UPDATE_ACCEPTS)?;
        }
        if let Some(value) = lookup("FBA_MARGIN") {
            reporting.margin = Some(parse_percent("FBA_MARGIN", &value, None, MARGIN_ACCEPTS)?);
        }
        if let Some(value) = lookup("FBA_MAX_HEADROOM") {
            reporting.max_headroom = Some(parse_percent(
                "FBA_MAX_HEADROOM",
                &value,
                Some(100.0),
                HEADROOM_ACCEPTS,
            )?);
        }
        if let Some(value) = lookup("FBA_REPORT") {
            if value.trim().is_empty() {
                return Err(SettingsError {
                    variable: "FBA_REPORT",
                    value,
                    accepted: REPORT_ACCEPTS,
                });
            }
            reporting.report = Some(PathBuf::from(value));
        }
        reporting.ci =
            lookup("CI").is_some_and(|value| !matches!(value.trim(), "" | "0" | "false"));
        reporting.github_actions =
            lookup("GITHUB_ACTIONS").is_some_and(|value| value.trim() == "true");
        Ok(reporting)
    }
}

/// Parses a percent: a finite number of 0 or more (at most `max`), with an
/// optional `%`.
fn parse_percent(
    variable: &'static str,
    value: &str,
    max: Option<f64>,
    accepted: &'static str,
) -> Result<f64, SettingsError> {
    let number = value.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(percent)
            if percent.is_finite() && percent >= 0.0 && max.is_none_or(|max| percent <= max) =>
        {
            Ok(percent)
        }
        _ => Err(SettingsError {
            variable,
            value: value.to_owned(),
            accepted,
        }),
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
        assert_eq!(settings(&[]), Ok(Settings::default()));
        let defaults = Settings::default();
        assert_eq!(
            (defaults.search, defaults.max_bytes, defaults.verify),
            (true, 1 << 30, false)
        );
        assert_eq!(defaults.sites.shown, Some(5));
        assert_eq!(defaults.sites.for_tests(), Diagnosis::Failures);
        assert_eq!(defaults.sites.for_measurements(), Diagnosis::Off);
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
    fn max_injections_is_a_positive_count() {
        assert_eq!(Settings::default().max_injections, 10_000);
        let parsed = settings(&[("FBA_MAX_INJECTIONS", " 2_500 ")]).unwrap();
        assert_eq!(parsed.max_injections, 2500);
        for bad in ["0", "-3", "many", ""] {
            let error = settings(&[("FBA_MAX_INJECTIONS", bad)]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "FBA_MAX_INJECTIONS={bad:?} is not understood: write the most runs failure injection makes, \
                     a positive number such as 10000"
                )
            );
        }
    }

    fn reporting(vars: &[(&str, &str)]) -> Result<Reporting, SettingsError> {
        Reporting::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn reporting_reads_update_margin_headroom_report_and_ci() {
        let parsed = reporting(&[
            ("FBA_UPDATE", "1"),
            ("FBA_MARGIN", "12.5"),
            ("FBA_MAX_HEADROOM", "25%"),
            ("FBA_REPORT", "target/budgets.jsonl"),
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
        ])
        .unwrap();
        assert!(parsed.update && parsed.ci && parsed.github_actions);
        assert_eq!(
            (parsed.margin, parsed.max_headroom),
            (Some(12.5), Some(25.0))
        );
        assert_eq!(parsed.report, Some(PathBuf::from("target/budgets.jsonl")));
        assert_eq!(reporting(&[]), Ok(Reporting::default()));
        assert!(!reporting(&[("CI", "false")]).unwrap().ci);
    }

    #[test]
    fn malformed_reporting_variables_say_what_is_accepted() {
        let error = reporting(&[("FBA_MARGIN", "-5")]).unwrap_err().to_string();
        assert_eq!(
            error,
            "FBA_MARGIN=\"-5\" is not understood: write a percent to add to rewritten budgets, a number of 0 or more such as 10 or 12.5"
        );
        let error = reporting(&[("FBA_MAX_HEADROOM", "150")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("FBA_MAX_HEADROOM=\"150\" is not understood: write the most percent"),
            "{error}"
        );
        let error = reporting(&[("FBA_UPDATE", "please")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("FBA_UPDATE=\"please\" is not understood: write 1 or true"),
            "{error}"
        );
        assert!(reporting(&[("FBA_REPORT", " ")]).is_err());
    }

    #[test]
    fn sites_take_a_count_or_all_and_say_what_is_accepted() {
        let sites = |value| settings(&[("FBA_SITES", value)]).map(|s| s.sites);
        assert_eq!(sites("3").map(|s| s.shown), Ok(Some(3)));
        assert_eq!(sites(" ALL ").map(|s| s.shown), Ok(None));
        let off = sites("0").unwrap();
        assert_eq!(
            (
                off.for_tests(),
                off.for_assertions(),
                off.for_measurements()
            ),
            (Diagnosis::Off, Diagnosis::Off, Diagnosis::Off)
        );
        let asked = sites("2").unwrap();
        assert_eq!(
            asked.for_tests(),
            Diagnosis::Always,
            "set, passing tests show theirs too"
        );
        assert_eq!(asked.for_assertions(), Diagnosis::Failures);
        assert_eq!(asked.for_measurements(), Diagnosis::Always);
        assert_eq!(
            sites("many").unwrap_err().to_string(),
            "FBA_SITES=\"many\" is not understood: write how many allocation sites to show, a number such as 5 \
             (0 turns the diagnostic trial off), or all"
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
