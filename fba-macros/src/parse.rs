//! Parsing and checking the attribute's arguments and the function: every
//! misuse becomes a `syn::Error` on the offending token, all of them at once.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{
    Attribute, Expr, ExprLit, FnArg, GenericArgument, ItemFn, Lit, LitBool, LitStr, Path,
    PathArguments, ReturnType, Token, Type, UnOp,
};

/// The options after the budget, as text for messages.
const OPTIONS: &str = "`allocations = N`, `fail_each_allocation = true|false`, `fail_from_allocation = true|false`, \
     `swallowed = \"allow\"|\"deny\"`, `search = true|false`, `runs = K`, `cold = true|false`, \
     `leaks = \"allow\"|\"deny\"`, `verify = true|false` and `crate = path`";

/// The options' names, for the hint on a misspelt one (and the property
/// test's inputs).
pub(crate) const OPTION_NAMES: [&str; 10] = [
    "allocations",
    "fail_each_allocation",
    "fail_from_allocation",
    "swallowed",
    "search",
    "runs",
    "cold",
    "leaks",
    "verify",
    "crate",
];

/// The most measuring runs `runs = K` takes.
const MAX_RUNS: usize = 1000;

/// Errors gathered while checking, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn spanned(
        &mut self,
        tokens: impl quote::ToTokens,
        message: impl std::fmt::Display,
    ) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn is_err(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The attribute's arguments: `(budget, option = value, ...)`. Options that
/// only some tests take keep their name, for errors on it.
pub(crate) struct Args {
    /// The budget expression.
    pub(crate) budget: Expr,
    /// `search = ...`.
    pub(crate) search: Option<bool>,
    /// `crate = ...`.
    pub(crate) krate: Option<Path>,
    /// `leaks = "deny"` (true) or `"allow"`.
    pub(crate) leaks: Option<(Path, bool)>,
    /// `verify = ...`.
    pub(crate) verify: Option<(Path, bool)>,
    /// `runs = K`.
    pub(crate) runs: Option<(Path, usize)>,
    /// `cold = ...`.
    pub(crate) cold: Option<(Path, bool)>,
    /// `allocations = N`: the count budget.
    pub(crate) allocations: Option<Expr>,
    /// `fail_each_allocation = true` or `fail_from_allocation = true`.
    pub(crate) failing: Option<(Path, Failing)>,
    /// `swallowed = "allow"` (true) or `"deny"`.
    pub(crate) swallowed: Option<(Path, bool)>,
    /// `__case = "fixed" | "thread_safe"`, hidden: put by the attribute on
    /// the function it hands to `#[rstest]` or `#[test_case]`, for the cases
    /// they make of an explicit-mode test.
    pub(crate) case: Option<Allocator>,
    /// `__made_a_test = true`, hidden: put on the function handed to
    /// `#[test_case]`, which makes each synchronous case a `#[test]` itself.
    pub(crate) made_a_test: bool,
    /// The arguments as written.
    pub(crate) tokens: TokenStream,
}

/// Parses the arguments, reporting every problem with them.
pub(crate) fn args(tokens: TokenStream) -> Result<Args, syn::Error> {
    let written = tokens.clone();
    let parser = |input: ParseStream<'_>| {
        let mut errors = Errors::default();
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "expected the memory budget in bytes: #[memory_budget(4096)]",
            ));
        }
        let budget: Expr = input.parse()?;
        check_budget(&budget, &mut errors);
        let mut args = Args {
            budget,
            search: None,
            krate: None,
            leaks: None,
            verify: None,
            runs: None,
            cold: None,
            allocations: None,
            failing: None,
            swallowed: None,
            case: None,
            made_a_test: false,
            tokens: written,
        };
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            let options: TokenStream = input.parse()?;
            let logic = |meta: syn::meta::ParseNestedMeta<'_>| {
                let path = meta.path.clone();
                let twice = |errors: &mut Errors| {
                    let name = quote::ToTokens::to_token_stream(&path).to_string();
                    errors.spanned(&path, format!("`{name}` is given twice"));
                };
                if meta.path.is_ident("allocations") {
                    let value: Expr = meta.value()?.parse()?;
                    check_count(&value, &mut errors);
                    if args.allocations.replace(value).is_some() {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("fail_each_allocation")
                    || meta.path.is_ident("fail_from_allocation")
                {
                    let policy = if meta.path.is_ident("fail_each_allocation") {
                        Failing::Each
                    } else {
                        Failing::From
                    };
                    let name = policy.option();
                    if let Some(on) = switch(&meta, name, &mut errors)? {
                        match &args.failing {
                            Some((_, earlier)) if *earlier == policy => twice(&mut errors),
                            Some(_) if on => errors.spanned(
                                &path,
                                "`fail_each_allocation` and `fail_from_allocation` are two policies: choose one",
                            ),
                            _ if on => args.failing = Some((path.clone(), policy)),
                            _ => {}
                        }
                    }
                } else if meta.path.is_ident("swallowed") {
                    if let Some(allow) = allow_or_deny(&meta, "swallowed", &mut errors)?
                        && args.swallowed.replace((path.clone(), allow)).is_some()
                    {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("search") {
                    if let Some(value) = switch(&meta, "search", &mut errors)?
                        && args.search.replace(value).is_some()
                    {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("verify") {
                    if let Some(value) = switch(&meta, "verify", &mut errors)?
                        && args.verify.replace((path.clone(), value)).is_some()
                    {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("cold") {
                    if let Some(value) = switch(&meta, "cold", &mut errors)?
                        && args.cold.replace((path.clone(), value)).is_some()
                    {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("runs") {
                    let value: Expr = meta.value()?.parse()?;
                    let runs = match &value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Int(int), ..
                        }) => int
                            .base10_parse::<usize>()
                            .ok()
                            .filter(|runs| (1..=MAX_RUNS).contains(runs)),
                        _ => None,
                    };
                    match runs {
                        Some(runs) => {
                            if args.runs.replace((path.clone(), runs)).is_some() {
                                twice(&mut errors);
                            }
                        }
                        None => errors.spanned(
                            &value,
                            format!("`runs` takes how many times to measure the body, an integer from 1 to {MAX_RUNS}: `runs = 5`"),
                        ),
                    }
                } else if meta.path.is_ident("leaks") {
                    if let Some(allow) = allow_or_deny(&meta, "leaks", &mut errors)?
                        && args.leaks.replace((path.clone(), !allow)).is_some()
                    {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("crate") {
                    let value = meta.value()?;
                    let krate = if value.peek(LitStr) {
                        value.parse::<LitStr>()?.parse::<Path>()?
                    } else {
                        value.parse::<Path>()?
                    };
                    if args.krate.replace(krate).is_some() {
                        twice(&mut errors);
                    }
                } else if meta.path.is_ident("__made_a_test") {
                    args.made_a_test = meta.value()?.parse::<LitBool>()?.value;
                } else if meta.path.is_ident("__case") {
                    let text: LitStr = meta.value()?.parse()?;
                    args.case = match text.value().as_str() {
                        "fixed" => Some(Allocator::Fixed),
                        "thread_safe" => Some(Allocator::ThreadSafe),
                        _ => {
                            errors.spanned(&text, "`__case` is fba's own: do not write it");
                            None
                        }
                    };
                } else {
                    let name = quote::ToTokens::to_token_stream(&meta.path)
                        .to_string()
                        .replace(' ', "");
                    let hint = OPTION_NAMES
                        .into_iter()
                        .find(|known| edit_distance(known, &name) <= 2)
                        .map(|known| format!(" (did you mean `{known}`?)"))
                        .unwrap_or_default();
                    errors.spanned(
                        &meta.path,
                        format!("unknown option `{name}`{hint}: #[memory_budget] takes {OPTIONS} after the budget"),
                    );
                    if meta.input.peek(Token![=]) {
                        meta.value()?.parse::<Expr>()?;
                    }
                }
                Ok(())
            };
            syn::meta::parser(logic).parse2(options)?;
        }
        if let (Some((option, _)), None) = (&args.swallowed, &args.failing) {
            errors.spanned(
                option,
                "`swallowed` says what to do with an injected allocation failure the body returned `Ok` from; \
                 it goes with `fail_each_allocation = true` or `fail_from_allocation = true`",
            );
        }
        errors.into_result().map(|()| args)
    };
    parser.parse2(tokens)
}

/// The value of a `name = true|false` option, or an error on a value of
/// another kind.
fn switch(
    meta: &syn::meta::ParseNestedMeta<'_>,
    name: &str,
    errors: &mut Errors,
) -> Result<Option<bool>, syn::Error> {
    let value: Expr = meta.value()?.parse()?;
    match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(LitBool { value, .. }),
            ..
        }) => Ok(Some(*value)),
        _ => {
            errors.spanned(&value, format!("`{name}` takes `true` or `false`"));
            Ok(None)
        }
    }
}

/// The value of a `name = "allow"|"deny"` option (`true`: allow), or an
/// error on another value.
fn allow_or_deny(
    meta: &syn::meta::ParseNestedMeta<'_>,
    name: &str,
    errors: &mut Errors,
) -> Result<Option<bool>, syn::Error> {
    let value: Expr = meta.value()?.parse()?;
    let allow = match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => match text.value().as_str() {
            "allow" => Some(true),
            "deny" => Some(false),
            _ => None,
        },
        _ => None,
    };
    if allow.is_none() {
        errors.spanned(&value, format!("`{name}` takes \"allow\" or \"deny\""));
    }
    Ok(allow)
}

/// The number of single-character edits between `a` and `b` (Levenshtein),
/// to suggest the option a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Checks what can be checked of the budget before the compiler sees it: a
/// literal must be a positive `usize`; other expressions are left to the
/// compiler (`const BUDGET: usize = ...`) and to a compile-time assertion.
fn check_budget(budget: &Expr, errors: &mut Errors) {
    match budget {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Int(int) => {
                if !matches!(int.suffix(), "" | "usize") {
                    errors.spanned(
                        int,
                        format!(
                            "a memory budget is a `usize`; write `{}` or `{}usize`",
                            int.base10_digits(),
                            int.base10_digits()
                        ),
                    );
                } else {
                    match int.base10_parse::<usize>() {
                        Ok(0) => errors.spanned(
                            int,
                            "a memory budget of 0 bytes is not allowed: give the most bytes the test may use, at least 1",
                        ),
                        Ok(_) => {}
                        Err(_) => errors.spanned(
                            int,
                            format!("this budget does not fit in `usize` (at most {} bytes)", usize::MAX),
                        ),
                    }
                }
            }
            Lit::Str(_) => errors.spanned(
                lit,
                "expected the memory budget in bytes as an integer, not a string: #[memory_budget(4096)]",
            ),
            Lit::Float(_) => errors.spanned(
                lit,
                "expected the memory budget as a whole number of bytes, not a float: #[memory_budget(4096)]",
            ),
            _ => errors.spanned(
                lit,
                "expected the memory budget in bytes: an integer literal or a constant expression of type `usize`",
            ),
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => errors.spanned(
            budget,
            "a memory budget is a number of bytes and cannot be negative",
        ),
        Expr::Assign(assign) => errors.spanned(
            &assign.left,
            "the budget comes first, then the options: #[memory_budget(4096, search = false)]",
        ),
        _ => {}
    }
}

/// Checks a count budget (`allocations = N`): a literal must be a `usize`
/// (0 is allowed: the body makes no allocation); other expressions are left
/// to the compiler.
fn check_count(count: &Expr, errors: &mut Errors) {
    match count {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            if !matches!(int.suffix(), "" | "usize") {
                errors.spanned(
                    int,
                    format!(
                        "an allocation budget is a `usize`; write `{}` or `{}usize`",
                        int.base10_digits(),
                        int.base10_digits()
                    ),
                );
            } else if int.base10_parse::<usize>().is_err() {
                errors.spanned(
                    int,
                    format!("this allocation budget does not fit in `usize` (at most {})", usize::MAX),
                );
            }
        }
        Expr::Lit(ExprLit { lit, .. }) => errors.spanned(
            lit,
            "`allocations` takes how many allocations the body may make, an integer: `allocations = 12`",
        ),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => errors.spanned(
            count,
            "an allocation budget is a number of allocations and cannot be negative",
        ),
        _ => {}
    }
}

/// The failure-injection policy of `fail_each_allocation = true` and
/// `fail_from_allocation = true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failing {
    /// Run i fails allocation i only.
    Each,
    /// Run i fails allocation i and every one after it.
    From,
}

impl Failing {
    pub(crate) fn option(self) -> &'static str {
        match self {
            Failing::Each => "fail_each_allocation",
            Failing::From => "fail_from_allocation",
        }
    }
}

/// The allocator a budget body takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Allocator {
    Fixed,
    ThreadSafe,
    /// No parameter: the body's global allocations are measured.
    Global,
}

/// `#[tokio::test(..)]` below the attribute: the runtime to drive the
/// future on.
pub(crate) struct Tokio {
    /// The attribute, for errors on it.
    pub(crate) attribute: Attribute,
    /// The path to tokio (`crate = ".."`, or the attribute's own prefix).
    pub(crate) krate: Path,
    pub(crate) multi_thread: bool,
    pub(crate) worker_threads: Option<Expr>,
    pub(crate) start_paused: bool,
}

/// What the attribute found out about the function.
pub(crate) struct Test {
    pub(crate) allocator: Allocator,
    /// The allocator parameter's index among the parameters.
    pub(crate) parameter: Option<usize>,
    /// The future of an `async fn` is driven on tokio, or on fba's own
    /// executor when `tokio` is `None`.
    pub(crate) asyncness: bool,
    pub(crate) tokio: Option<Tokio>,
    /// `#[rstest]` or `#[test_case]` below: they make the cases, each its
    /// own budget test.
    pub(crate) cases: bool,
    /// The function is a case that `#[test_case]` already made a test of
    /// (it puts `#[test]` first, where the attribute cannot see it).
    pub(crate) already_a_test: bool,
}

/// Checks the function and finds out how to run it. `case` is the hidden
/// `__case` option: the function is a case that a case generator made of an
/// explicit-mode budget test, returning its body.
pub(crate) fn function(function: &ItemFn, case: Option<Allocator>) -> Result<Test, syn::Error> {
    let mut errors = Errors::default();
    let signature = &function.sig;
    let mut tokio = None;
    let mut cases = false;
    for attribute in &function.attrs {
        match attribute_kind(attribute) {
            AttributeKind::ShouldPanic => errors.spanned(
                attribute,
                "#[memory_budget] tests cannot be `#[should_panic]`: a panic fails the trial; test the panic without a budget",
            ),
            AttributeKind::Tokio => match tokio_test(attribute) {
                Ok(runtime) => {
                    if tokio.replace(runtime).is_some() {
                        errors.spanned(attribute, "`#[tokio::test]` is given twice");
                    }
                }
                Err(error) => errors.push(error),
            },
            AttributeKind::OtherTest => errors.spanned(
                attribute,
                "#[memory_budget] drives an `async fn` itself: on tokio with `#[tokio::test]` below it, or on its \
                 own executor with no test attribute; for another runtime, drive the future in a synchronous body",
            ),
            AttributeKind::CaseGenerator => cases = true,
            AttributeKind::StdTest | AttributeKind::Other => {}
        }
    }
    if tokio_test_above(function) {
        errors.spanned(
            signature.fn_token,
            "`#[tokio::test]` is above `#[memory_budget]`: it has already made this a test with its own runtime, \
             inside the budget; write `#[memory_budget(..)]` first and `#[tokio::test]` below it",
        );
    }
    if let Some(asyncness) = &signature.asyncness {
        if case.is_some() {
            errors.spanned(asyncness, "an explicit-mode case is not `async`");
        }
    } else if let Some(runtime) = tokio.as_ref() {
        errors.spanned(
            &runtime.attribute,
            "`#[tokio::test]` runs an `async fn`; this function is not `async`",
        );
    }
    if let syn::Safety::Unsafe(unsafety) = &signature.safety {
        errors.spanned(
            unsafety,
            "a memory budget test cannot be an `unsafe fn`; use an `unsafe` block inside",
        );
    }
    if let Some(abi) = &signature.abi {
        errors.spanned(abi, "a memory budget test cannot have an `extern` ABI");
    }
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.spanned(
            &signature.generics,
            "a memory budget test cannot be generic: write one test per type",
        );
    }
    if let Some(variadic) = &signature.variadic {
        errors.spanned(variadic, "a memory budget test cannot be variadic");
    }
    if case.is_none()
        && let ReturnType::Type(_, ty) = &signature.output
        && let Type::ImplTrait(_) = ty.as_ref()
    {
        errors.spanned(
            ty,
            "a memory budget test returns `()` or `Result<(), E>`, not `impl Trait`",
        );
    }
    let mut allocator = None;
    let mut parameter = None;
    for (index, input) in signature.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                "a memory budget test is a free function; it cannot take `self`",
            ),
            FnArg::Typed(typed) if cases => {
                // The cases' parameters are the generator's; the allocator
                // is the one of an allocator type.
                if let Ok(kind) = allocator_type(&typed.ty) {
                    if allocator.replace(kind).is_some() {
                        errors.spanned(typed, "a memory budget test takes one allocator");
                    }
                    parameter = Some(index);
                }
            }
            FnArg::Typed(typed) if index == 0 => match allocator_type(&typed.ty) {
                Ok(kind) => {
                    allocator = Some(kind);
                    parameter = Some(index);
                }
                Err(error) => errors.push(error),
            },
            FnArg::Typed(typed) => errors.spanned(
                typed,
                "a memory budget test takes at most one parameter, the allocator: `alloc: &FixedBufferAllocator`",
            ),
        }
    }
    if let Some(case) = case {
        if !signature.inputs.is_empty() {
            errors.spanned(
                &signature.inputs,
                "an explicit-mode case takes no parameters",
            );
        }
        allocator = Some(case);
    }
    errors.into_result()?;
    Ok(Test {
        allocator: allocator.unwrap_or(Allocator::Global),
        parameter,
        asyncness: signature.asyncness.is_some(),
        tokio,
        cases,
        already_a_test: made_a_test_by_test_case(function),
    })
}

/// What an attribute below `#[memory_budget]` is to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AttributeKind {
    /// `#[test]`: absorbed (the attribute makes the test).
    StdTest,
    /// `#[tokio::test]`: the runtime for an `async fn`.
    Tokio,
    /// Another runtime's test attribute (`#[async_std::test]`).
    OtherTest,
    /// `#[rstest]`, `#[case(..)]`, `#[test_case(..)]`, `#[test_matrix(..)]`.
    CaseGenerator,
    ShouldPanic,
    Other,
}

pub(crate) fn attribute_kind(attribute: &Attribute) -> AttributeKind {
    let segments: Vec<String> = attribute
        .path()
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    let names: Vec<&str> = segments.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["test"] => AttributeKind::StdTest,
        ["core" | "std", "prelude", _, "test"] => AttributeKind::StdTest,
        ["should_panic"] => AttributeKind::ShouldPanic,
        ["tokio", "test"] => AttributeKind::Tokio,
        ["rstest"] | ["rstest", "rstest"] => AttributeKind::CaseGenerator,
        ["case", ..] => AttributeKind::CaseGenerator,
        ["test_case"] | ["test_matrix"] | ["test_case", "test_case" | "case" | "test_matrix"] => {
            AttributeKind::CaseGenerator
        }
        [.., "test"] => AttributeKind::OtherTest,
        _ => AttributeKind::Other,
    }
}

/// Parses `#[tokio::test(..)]`'s arguments, as tokio-macros takes them.
fn tokio_test(attribute: &Attribute) -> Result<Tokio, syn::Error> {
    let path = attribute.path();
    let mut runtime = Tokio {
        attribute: attribute.clone(),
        krate: Path {
            leading_colon: Some(Default::default()),
            segments: path
                .segments
                .iter()
                .take(path.segments.len() - 1)
                .cloned()
                .collect(),
        },
        multi_thread: false,
        worker_threads: None,
        start_paused: false,
    };
    if let syn::Meta::Path(_) = attribute.meta {
        return Ok(runtime);
    }
    let mut errors = Errors::default();
    attribute.parse_nested_meta(|meta| {
        let value = meta.value()?;
        if meta.path.is_ident("flavor") {
            let text: LitStr = value.parse()?;
            match text.value().as_str() {
                "current_thread" => runtime.multi_thread = false,
                "multi_thread" => runtime.multi_thread = true,
                other => errors.spanned(
                    &text,
                    format!(
                        "flavor {other:?} is not supported under #[memory_budget]: use \"current_thread\" or \"multi_thread\""
                    ),
                ),
            }
        } else if meta.path.is_ident("worker_threads") {
            runtime.worker_threads = Some(value.parse()?);
        } else if meta.path.is_ident("start_paused") {
            let paused: LitBool = value.parse()?;
            runtime.start_paused = paused.value;
        } else if meta.path.is_ident("crate") {
            let text: LitStr = value.parse()?;
            runtime.krate = text.parse()?;
        } else {
            let name = quote::ToTokens::to_token_stream(&meta.path)
                .to_string()
                .replace(' ', "");
            errors.spanned(
                &meta.path,
                format!(
                    "`{name}` of #[tokio::test] is not supported under #[memory_budget]: it takes `flavor`, \
                     `worker_threads`, `start_paused` and `crate`"
                ),
            );
            value.parse::<Expr>()?;
        }
        Ok(())
    })?;
    if runtime.start_paused && runtime.multi_thread {
        errors.spanned(
            attribute,
            "`start_paused = true` needs `flavor = \"current_thread\"`: tokio pauses time only on the current-thread runtime",
        );
    }
    if let Some(threads) = &runtime.worker_threads
        && !runtime.multi_thread
    {
        errors.spanned(
            threads,
            "`worker_threads` is for `flavor = \"multi_thread\"` (the default flavor is \"current_thread\")",
        );
    }
    errors.into_result().map(|()| runtime)
}

/// Whether `#[tokio::test]` above the attribute already rewrote the
/// function: its body is `let body = async { .. };` and a `Builder` that
/// builds a runtime to `block_on(body)`.
fn tokio_test_above(function: &ItemFn) -> bool {
    fn idents(tokens: TokenStream, found: &mut Vec<String>) {
        for token in tokens {
            match token {
                proc_macro2::TokenTree::Group(group) => idents(group.stream(), found),
                proc_macro2::TokenTree::Ident(ident) => found.push(ident.to_string()),
                _ => {}
            }
        }
    }
    let starts_with_the_future = match function.block.stmts.first() {
        Some(syn::Stmt::Local(local)) => {
            quote::ToTokens::to_token_stream(&local.pat).to_string() == "body"
                && matches!(
                    local.init.as_ref().map(|init| init.expr.as_ref()),
                    Some(Expr::Async(_))
                )
        }
        _ => false,
    };
    if function.sig.asyncness.is_some() || !starts_with_the_future {
        return false;
    }
    let mut found = Vec::new();
    idents(
        quote::ToTokens::to_token_stream(&function.block),
        &mut found,
    );
    ["Builder", "block_on", "body"]
        .iter()
        .all(|ident| found.iter().any(|found| found == ident))
}

/// Whether `#[test_case]` made this function (one of its cases) a test
/// already: it puts `#[test]` first, then
/// `#[allow(clippy::bool_assert_comparison)]`, and the body calls the
/// function the cases are of, `super::name(..)`, without `.await`.
fn made_a_test_by_test_case(function: &ItemFn) -> bool {
    let marked = function.attrs.iter().any(|attribute| {
        attribute.path().is_ident("allow")
            && quote::ToTokens::to_token_stream(&attribute.meta)
                .to_string()
                .replace(' ', "")
                .contains("clippy::bool_assert_comparison")
    });
    let calls_the_function = match function.block.stmts.first() {
        Some(syn::Stmt::Local(local)) => {
            let binding = quote::ToTokens::to_token_stream(&local.pat).to_string();
            let value = local
                .init
                .as_ref()
                .map(|init| quote::ToTokens::to_token_stream(&init.expr).to_string())
                .unwrap_or_default();
            binding == "_result" && value.starts_with("super ::") && !value.contains(". await")
        }
        _ => false,
    };
    marked && calls_the_function && function.sig.asyncness.is_none()
}

const EXPECTED_PARAMETER: &str = "expected `&FixedBufferAllocator` or `&ThreadSafeFixedBufferAllocator`, the allocator the budget gives the body";

/// The allocator named by `ty`, which must be a shared reference to one.
fn allocator_type(ty: &Type) -> Result<Allocator, syn::Error> {
    match ty {
        Type::Group(group) => allocator_type(&group.elem),
        Type::Paren(paren) => allocator_type(&paren.elem),
        Type::Reference(reference) => {
            if let Some(mutability) = &reference.mutability {
                let and_token = &reference.and_token;
                return Err(syn::Error::new_spanned(
                    quote::quote!(#and_token #mutability),
                    "take the allocator by shared reference: `&FixedBufferAllocator`",
                ));
            }
            if let Some(lifetime) = &reference.lifetime
                && lifetime.ident != "_"
            {
                return Err(syn::Error::new_spanned(
                    lifetime,
                    "leave the lifetime out: `&FixedBufferAllocator` (the buffer lives only for the trial)",
                ));
            }
            named_allocator(&reference.elem)
                .ok_or_else(|| syn::Error::new_spanned(&reference.elem, EXPECTED_PARAMETER))
        }
        _ => match named_allocator(ty) {
            Some(_) => Err(syn::Error::new_spanned(
                ty,
                "take the allocator by reference: `&FixedBufferAllocator`",
            )),
            None => Err(syn::Error::new_spanned(ty, EXPECTED_PARAMETER)),
        },
    }
}

/// The allocator a path such as `fba::FixedBufferAllocator<'_>` names.
fn named_allocator(ty: &Type) -> Option<Allocator> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let lifetime_only = match &last.arguments {
        PathArguments::None => true,
        PathArguments::AngleBracketed(arguments) => {
            arguments.args.len() == 1
                && matches!(arguments.args.first(), Some(GenericArgument::Lifetime(lifetime)) if lifetime.ident == "_")
        }
        PathArguments::Parenthesized(_) => false,
    };
    if !lifetime_only {
        return None;
    }
    if last.ident == "FixedBufferAllocator" {
        Some(Allocator::Fixed)
    } else if last.ident == "ThreadSafeFixedBufferAllocator" {
        Some(Allocator::ThreadSafe)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("search", "search"), 0);
        assert_eq!(edit_distance("search", "serach"), 2);
        assert_eq!(edit_distance("search", "seach"), 1);
        assert_eq!(edit_distance("crate", "colour"), 5);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
