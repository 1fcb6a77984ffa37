//! [`BudgetTest`]: a `#[memory_budget]` test as the attribute describes it
//! (its name, where it is declared, its budget and options), and its
//! registration for the budget harness.

use crate::injection::FailurePolicy;
use crate::message::{Declared, Site};

/// A budget test, as the attribute describes it.
#[derive(Clone, Copy, Debug)]
pub struct BudgetTest {
    /// `module_path!()` where the test is declared.
    pub module_path: &'static str,
    /// The function's name.
    pub function: &'static str,
    /// `file!()` of the attribute.
    pub file: &'static str,
    /// `line!()` of the attribute.
    pub line: u32,
    /// `env!("CARGO_MANIFEST_DIR")` of the crate the test is in.
    pub manifest_dir: &'static str,
    /// The declared budget in bytes.
    pub budget: usize,
    /// The `search = ...` option, if given.
    pub search: Option<bool>,
    /// `leaks = "deny"` (global mode).
    pub deny_leaks: bool,
    /// The `verify = ...` option, if given (global mode).
    pub verify: Option<bool>,
    /// `runs = K`: measuring trials for a body whose memory depends on
    /// thread timing.
    pub runs: Option<usize>,
    /// `cold = true` (global mode): measure the first run in a fresh
    /// process instead of the steady state after a warm-up.
    pub cold: bool,
    /// The budget's integer literal, if it is one (for `FBA_UPDATE`).
    pub literal: Option<BudgetLiteral>,
    /// `allocations = N`: the most allocations the body may make.
    pub allocations: Option<usize>,
    /// The count budget's integer literal, if it is one.
    pub allocations_literal: Option<BudgetLiteral>,
    /// `fail_each_allocation = true` or `fail_from_allocation = true`.
    pub failing: Option<FailurePolicy>,
    /// `swallowed = "allow"`: a run that returns `Ok` although an
    /// allocation failed passes.
    pub allow_swallowed: bool,
}

/// Where a budget's integer literal is in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetLiteral {
    /// The literal as written (`4_096`, `4096usize`).
    pub text: &'static str,
    /// Its line, from 1.
    pub line: u32,
    /// Its column, in characters from 0.
    pub column: u32,
}

/// The attribute writes a test's description as `BudgetTest::new(..)` and
/// one call for each option given: fewer tokens per test than a struct
/// literal of every field, which a crate of budget tests builds faster.
impl BudgetTest {
    /// A test with the budget `budget` and no options.
    pub const fn new(
        module_path: &'static str,
        function: &'static str,
        file: &'static str,
        line: u32,
        manifest_dir: &'static str,
        budget: usize,
    ) -> BudgetTest {
        BudgetTest {
            module_path,
            function,
            file,
            line,
            manifest_dir,
            budget,
            search: None,
            deny_leaks: false,
            verify: None,
            runs: None,
            cold: false,
            literal: None,
            allocations: None,
            allocations_literal: None,
            failing: None,
            allow_swallowed: false,
        }
    }

    /// The budget is the integer literal `text` at `line` and `column`.
    pub const fn literal(mut self, text: &'static str, line: u32, column: u32) -> BudgetTest {
        self.literal = Some(BudgetLiteral { text, line, column });
        self
    }

    /// `search = ...`.
    pub const fn search(mut self, search: bool) -> BudgetTest {
        self.search = Some(search);
        self
    }

    /// `leaks = "deny"`.
    pub const fn deny_leaks(mut self) -> BudgetTest {
        self.deny_leaks = true;
        self
    }

    /// `verify = ...`.
    pub const fn verify(mut self, verify: bool) -> BudgetTest {
        self.verify = Some(verify);
        self
    }

    /// `runs = K`.
    pub const fn runs(mut self, runs: usize) -> BudgetTest {
        self.runs = Some(runs);
        self
    }

    /// `cold = true`.
    pub const fn cold(mut self) -> BudgetTest {
        self.cold = true;
        self
    }

    /// `allocations = N`.
    pub const fn allocations(mut self, count: usize) -> BudgetTest {
        self.allocations = Some(count);
        self
    }

    /// The count budget is the integer literal `text` at `line` and `column`.
    pub const fn allocations_literal(
        mut self,
        text: &'static str,
        line: u32,
        column: u32,
    ) -> BudgetTest {
        self.allocations_literal = Some(BudgetLiteral { text, line, column });
        self
    }

    /// `fail_each_allocation = true` or `fail_from_allocation = true`.
    pub const fn failing(mut self, policy: FailurePolicy) -> BudgetTest {
        self.failing = Some(policy);
        self
    }

    /// `swallowed = "allow"`.
    pub const fn allow_swallowed(mut self) -> BudgetTest {
        self.allow_swallowed = true;
        self
    }

    /// The test's path as the test harness lists it: the module path without
    /// the crate's name, then the function (`tests::parses_a_header`).
    pub fn name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_crate, modules)) => format!("{modules}::{}", self.function),
            None => self.function.to_owned(),
        }
    }

    /// Where the test is declared, for messages.
    pub(crate) fn site<'a>(&'a self, name: &'a str) -> Site<'a> {
        Site {
            name,
            file: self.file,
            line: self.line,
            declared: Declared::Attribute,
        }
    }

    /// Whether other tests of this binary share this test's budget literal:
    /// the cases `#[rstest]` or `#[test_case]` make of one function.
    pub(crate) fn shares_its_literal(&self) -> bool {
        let Some(literal) = self.literal else {
            return false;
        };
        registered()
            .filter(|registered| {
                registered.test.file == self.file && registered.test.literal == Some(literal)
            })
            .take(2)
            .count()
            > 1
    }
}

/// A budget test registered for the budget harness.
#[derive(Debug)]
pub struct RegisteredTest {
    /// The test.
    pub test: &'static BudgetTest,
    /// Whether the function is `#[ignore]`d.
    pub ignored: bool,
    /// Runs it.
    pub run: Run,
}

/// How the budget harness runs a registered test.
#[derive(Debug, Clone, Copy)]
pub enum Run {
    /// A test that returns nothing: its runner itself (fails by panicking).
    Unit(fn()),
    /// A test that returns a value: `Err` with the reason when it fails by
    /// returning (a panic fails it too).
    Returning(fn() -> Result<(), String>),
}

impl Run {
    /// Runs the test: `Err` with the reason when it failed by returning.
    pub(crate) fn call(self) -> Result<(), String> {
        match self {
            Run::Unit(run) => {
                run();
                Ok(())
            }
            Run::Returning(run) => run(),
        }
    }
}

inventory::collect!(RegisteredTest);

/// The budget tests registered in this binary.
pub(crate) fn registered() -> impl Iterator<Item = &'static RegisteredTest> {
    inventory::iter::<RegisteredTest>.into_iter()
}
