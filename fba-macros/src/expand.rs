//! Code generation: the checked function becomes a `#[test]` that hands its
//! body to the runtime with the budget and where it was declared; with
//! `#[rstest]` or `#[test_case]` below, the function goes to them with the
//! attribute passed on, so each case they make becomes a budget test.

use proc_macro2::TokenStream;
use std::ops::Not;

use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprLit, FnArg, Item, ItemFn, Lit, PathArguments, ReturnType, Type,
    TypeParamBound,
};

use crate::parse::{self, Allocator, Args, AttributeKind, Errors, Test, Tokio};

/// Expands `#[memory_budget(args)] item`. Never panics: misuse becomes
/// compile errors, emitted beside the original item so that one mistake
/// gives one message.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse::args(args).map_err(|error| errors.push(error)).ok();
    let function = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => function,
        Ok(other) => {
            errors.spanned(
                item_keyword(&other),
                "#[memory_budget] goes on a test function: `fn name(alloc: &FixedBufferAllocator) { .. }`",
            );
            return with_errors(other.into_token_stream(), errors);
        }
        Err(error) => {
            // Not an item at all (rustc passes only items to an attribute,
            // but a macro may be called by hand): the error alone, since
            // tokens that are not an item cannot be emitted as one.
            errors.push(error);
            return with_errors(TokenStream::new(), errors);
        }
    };
    let case = args.as_ref().and_then(|args| args.case);
    let test = parse::function(&function, case)
        .map_err(|error| errors.push(error))
        .ok();
    if let (Some(args), Some(test)) = (&args, &test)
        && test.allocator != Allocator::Global
    {
        for (option, _) in args.leaks.iter().chain(&args.verify) {
            errors.spanned(
                option,
                "this option is for tests without an allocator parameter, which measure the global allocator; \
                 an explicit allocator's blocks cannot outlive the body, and its failures do not abort",
            );
        }
        if let Some((option, _)) = &args.cold {
            errors.spanned(
                option,
                "`cold` is for tests without an allocator parameter, which measure the global allocator; \
                 an explicit allocator is new in every trial, so every run is a first run",
            );
        }
    }
    match (args, test, errors.into_result()) {
        (Some(args), Some(test), Ok(())) if test.cases && args.case.is_none() => {
            to_the_case_generator(&args, &test, function)
        }
        (Some(args), Some(test), Ok(())) => budget_test(&args, &test, function),
        (_, _, result) => {
            let mut errors = Errors::default();
            if let Err(error) = result {
                errors.push(error);
            }
            with_errors(original(function), errors)
        }
    }
}

/// The tokens to point at for an item that is not a function.
fn item_keyword(item: &Item) -> TokenStream {
    match item {
        Item::Struct(item) => item.struct_token.to_token_stream(),
        Item::Enum(item) => item.enum_token.to_token_stream(),
        Item::Const(item) => item.const_token.to_token_stream(),
        Item::Static(item) => item.static_token.to_token_stream(),
        Item::Mod(item) => item.mod_token.to_token_stream(),
        Item::Impl(item) => item.impl_token.to_token_stream(),
        Item::Trait(item) => item.trait_token.to_token_stream(),
        Item::Type(item) => item.type_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}

fn with_errors(item: TokenStream, errors: Errors) -> TokenStream {
    let errors = errors
        .into_result()
        .err()
        .map(syn::Error::into_compile_error);
    quote!(#item #errors)
}

/// The user's function as written, minus the attributes that would add
/// errors of their own (test and case attributes on a function that is not
/// a test), and allowed to be unused.
fn original(mut function: ItemFn) -> TokenStream {
    let cases = function
        .attrs
        .iter()
        .any(|attribute| parse::attribute_kind(attribute) == AttributeKind::CaseGenerator);
    function
        .attrs
        .retain(|attribute| matches!(parse::attribute_kind(attribute), AttributeKind::Other));
    if cases {
        // The generator's parameter attributes (`#[case]`, `#[values(..)]`)
        // would be errors of their own without it.
        for input in &mut function.sig.inputs {
            if let FnArg::Typed(typed) = input {
                typed.attrs.clear();
            }
        }
    }
    quote!(#[allow(dead_code)] #function)
}

fn krate(args: &Args) -> TokenStream {
    match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::fba),
    }
}

/// The attribute again, to pass on to the cases, with `extra` options.
fn passed_on(args: &Args, extra: TokenStream) -> Attribute {
    let krate = krate(args);
    let tokens = &args.tokens;
    let separator = match tokens.clone().into_iter().last() {
        Some(proc_macro2::TokenTree::Punct(punct)) if punct.as_char() == ',' => None,
        _ => extra.is_empty().not().then(|| quote!(,)),
    };
    syn::parse_quote!(#[#krate::memory_budget(#tokens #separator #extra)])
}

/// `#[memory_budget]` above `#[rstest]` or `#[test_case]`: the function goes
/// to them with the attribute passed on below their case attributes, which
/// they copy onto every case. A function that measures the global allocator
/// goes as it is (each case, arguments and call, is the body); one that
/// takes an allocator goes without that parameter, returning its body as a
/// closure that each case's trial calls with the allocator.
fn to_the_case_generator(args: &Args, test: &Test, mut function: ItemFn) -> TokenStream {
    let krate = krate(args);
    let mut errors = Errors::default();
    if test.allocator != Allocator::Global {
        for attribute in &function.attrs {
            if let Some(expectation) = test_case_expectation(attribute) {
                errors.spanned(
                    expectation,
                    "a test case's expected result (`=> ..`) is not supported on a budget test with an allocator \
                     parameter: assert inside the body",
                );
            }
        }
    }
    if errors.is_err() {
        return with_errors(original(function), errors);
    }
    let attributes = std::mem::take(&mut function.attrs);
    let last_case = attributes
        .iter()
        .rposition(|attribute| parse::attribute_kind(attribute) == AttributeKind::CaseGenerator)
        .unwrap_or(0);
    let by_test_case = attributes.iter().any(is_test_case);
    // An `async fn` of the global allocator without a runtime goes to the
    // generator as a synchronous function that drives its future on fba's
    // executor (the generators want a runtime's test attribute for async).
    let tokio = test.tokio.is_some();
    let made_sync = test.asyncness && (!tokio || test.allocator != Allocator::Global);
    let mut extra = match test.allocator {
        Allocator::Global => TokenStream::new(),
        Allocator::Fixed => quote!(__case = "fixed"),
        Allocator::ThreadSafe => quote!(__case = "thread_safe"),
    };
    // `#[test_case]` puts `#[test]` on a synchronous case before the passed
    // attribute, where it cannot see it: the attribute is told.
    if by_test_case && (made_sync || !test.asyncness) {
        let separator = (!extra.is_empty()).then(|| quote!(,));
        extra = quote!(#extra #separator __made_a_test = true);
    }
    let mut kept: Vec<Attribute> = Vec::new();
    let mut runtimes: Vec<Attribute> = Vec::new();
    for (index, attribute) in attributes.into_iter().enumerate() {
        match parse::attribute_kind(&attribute) {
            AttributeKind::StdTest => {}
            // The runtime's attribute goes below the passed attribute, so
            // that each case gives it to the attribute to drive; with an
            // allocator parameter the body drives its future itself.
            AttributeKind::Tokio => {
                if test.allocator == Allocator::Global {
                    runtimes.push(attribute);
                }
            }
            _ => kept.push(attribute),
        }
        if index == last_case {
            kept.push(passed_on(args, extra.clone()));
            kept.append(&mut runtimes);
        }
    }
    kept.append(&mut runtimes);
    function.attrs = kept;
    if test.allocator == Allocator::Global {
        if made_sync {
            let block = &function.block;
            function.sig.asyncness = None;
            function.block = syn::parse_quote!({ #krate::__private::block_on(async move #block) });
        }
        return function.into_token_stream();
    }
    // The body as a closure of the allocator.
    let parameter = test.parameter.map(|index| {
        let removed = function.sig.inputs.iter().nth(index).cloned();
        function.sig.inputs = function
            .sig
            .inputs
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != index)
            .map(|(_, input)| input.clone())
            .collect::<Punctuated<FnArg, syn::Token![,]>>();
        removed
    });
    let Some(Some(FnArg::Typed(parameter))) = parameter else {
        // `parse::function` found the allocator parameter.
        return original(function);
    };
    let (pattern, ty) = (&parameter.pat, &parameter.ty);
    let returns = returned_type(&function.sig.output);
    let (allocator, case) = match test.allocator {
        Allocator::ThreadSafe => (
            quote!(#krate::ThreadSafeFixedBufferAllocator<'_>),
            quote!(thread_safe_case),
        ),
        _ => (quote!(#krate::FixedBufferAllocator<'_>), quote!(fixed_case)),
    };
    let block = &function.block;
    let body = if test.asyncness {
        let driver = match &test.tokio {
            Some(tokio) => {
                let runtime = runtime(tokio);
                quote!(#runtime.block_on)
            }
            None => quote!(#krate::__private::block_on),
        };
        quote!(#driver(async move #block))
    } else {
        quote!(#block)
    };
    function.sig.asyncness = None;
    function.sig.output = syn::parse_quote!(-> impl ::core::ops::FnOnce(&#allocator) -> #returns);
    function.block = syn::parse_quote!({
        #krate::__private::#case(move |#pattern: #ty| -> #returns { #body })
    });
    function.into_token_stream()
}

/// Whether the attribute is test-case's (`#[test_case]`, `#[test_matrix]`).
fn is_test_case(attribute: &Attribute) -> bool {
    let path = attribute.path();
    path.segments
        .iter()
        .any(|segment| segment.ident == "test_case" || segment.ident == "test_matrix")
}

/// The `=> ..` of a `#[test_case(.. => ..)]`, if the attribute is one.
fn test_case_expectation(attribute: &Attribute) -> Option<TokenStream> {
    if parse::attribute_kind(attribute) != AttributeKind::CaseGenerator
        || attribute.path().is_ident("rstest")
    {
        return None;
    }
    let syn::Meta::List(list) = &attribute.meta else {
        return None;
    };
    let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
    tokens.windows(2).find_map(|pair| match pair {
        [
            proc_macro2::TokenTree::Punct(equals),
            proc_macro2::TokenTree::Punct(greater),
        ] if equals.as_char() == '=' && greater.as_char() == '>' => Some(quote!(#equals #greater)),
        _ => None,
    })
}

/// The type a function returns (`()` when it returns nothing).
fn returned_type(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    }
}

/// What the body of an explicit-mode case returns: the `R` of the
/// `impl FnOnce(&Allocator) -> R` the case function returns.
fn case_returns(output: &ReturnType) -> Option<ReturnType> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::ImplTrait(bounds) = ty.as_ref() else {
        return None;
    };
    bounds.bounds.iter().find_map(|bound| match bound {
        TypeParamBound::Trait(bound) => match &bound.path.segments.last()?.arguments {
            PathArguments::Parenthesized(arguments) => Some(arguments.output.clone()),
            _ => None,
        },
        _ => None,
    })
}

/// Writes the allocator parameter's type as `&FixedBufferAllocator<'_>`: an
/// `async fn` may not leave a path's lifetime out (`&FixedBufferAllocator`).
fn name_the_lifetime(function: &mut ItemFn, parameter: usize) {
    let Some(FnArg::Typed(typed)) = function.sig.inputs.iter_mut().nth(parameter) else {
        return;
    };
    let mut ty = typed.ty.as_mut();
    while let Type::Paren(inner) = ty {
        ty = inner.elem.as_mut();
    }
    if let Type::Reference(reference) = ty
        && let Type::Path(path) = reference.elem.as_mut()
        && let Some(last) = path.path.segments.last_mut()
        && last.arguments.is_empty()
    {
        last.arguments = PathArguments::AngleBracketed(syn::parse_quote!(<'_>));
    }
}

/// The tokio runtime `#[tokio::test(..)]` asks for, built.
fn runtime(tokio: &Tokio) -> TokenStream {
    let krate = &tokio.krate;
    let builder = if tokio.multi_thread {
        quote!(new_multi_thread)
    } else {
        quote!(new_current_thread)
    };
    let threads = tokio
        .worker_threads
        .as_ref()
        .map(|threads| quote!(.worker_threads(#threads)));
    let paused = tokio.start_paused.then(|| quote!(.start_paused(true)));
    quote! {
        #krate::runtime::Builder::#builder()
            #threads
            .enable_all()
            #paused
            .build()
            .expect("Failed building the Runtime")
    }
}

/// The test. Beside the user's function it generates:
///
/// - `__fba_test_<name>`, a `static` describing the test
///   (`BudgetTest::new(..)` and a call per option given), and for a budget
///   that is not a literal `__fba_budget_<name>`, a `const` whose value a
///   compile-time assertion checks;
/// - `__fba_run_<name>`, which declares the user's function and runs it
///   under the budget (an `async fn`'s future driven on the runtime of
///   `#[tokio::test]`, built outside the budget, or on fba's executor);
/// - the `#[test]` function, with the user's attributes first, for the
///   default test harness (unless `#[test_case]` made it a test already);
/// - an `inventory` registration, for the budget harness (`harness = false`
///   targets, where `#[test]` functions are not compiled).
///
/// The body goes to `run_fixed` (and its siblings) as a `&mut dyn FnMut`,
/// of a `fn` pointer when it captures nothing, so nothing of the runtime
/// and no vtable is compiled per test: a budget test costs its
/// crate little more to build than a `#[test]`
/// (`fba-macros/benches/compile_cost.sh`).
fn budget_test(args: &Args, test: &Test, mut function: ItemFn) -> TokenStream {
    let krate = krate(args);
    let attributes: Vec<Attribute> = std::mem::take(&mut function.attrs)
        .into_iter()
        .filter(|attribute| {
            !matches!(
                parse::attribute_kind(attribute),
                AttributeKind::StdTest | AttributeKind::Tokio
            )
        })
        .collect();
    // `#[cfg(..)]` applies to everything generated for the function; lint
    // attributes also to the user's function, where its body is.
    let cfgs: Vec<_> = attributes
        .iter()
        .filter(|attribute| attribute.path().is_ident("cfg"))
        .collect();
    function.attrs = attributes
        .iter()
        .filter(|attribute| {
            ["allow", "warn", "deny", "forbid", "expect"]
                .iter()
                .any(|lint| attribute.path().is_ident(lint))
        })
        .cloned()
        .collect();
    let ignored = attributes
        .iter()
        .any(|attribute| attribute.path().is_ident("ignore"));
    if test.asyncness
        && let Some(index) = test.parameter
    {
        name_the_lifetime(&mut function, index);
    }
    let visibility = std::mem::replace(&mut function.vis, syn::Visibility::Inherited);
    let name = &function.sig.ident;
    let output = match args.case {
        Some(_) => case_returns(&function.sig.output).unwrap_or(ReturnType::Default),
        None => function.sig.output.clone(),
    };
    let budget = &args.budget;
    let budget_span = budget.span();
    let budget_const = format_ident!("__fba_budget_{}", name);
    let test_static = format_ident!("__fba_test_{}", name);
    let runner = format_ident!("__fba_run_{}", name);
    // The description: `BudgetTest::new(..)`, then one call per option
    // given. A literal budget goes in as it is; a constant expression
    // through a `const`, whose value this assertion checks (its type the
    // compiler does).
    let (budget_value, positive) = match budget {
        Expr::Lit(_) => (quote!(#budget), None),
        _ => (
            quote!(#budget_const),
            Some(quote_spanned! {budget_span=>
                #(#cfgs)*
                #[doc(hidden)]
                #[allow(non_upper_case_globals)]
                const #budget_const: usize = #budget;
                #(#cfgs)*
                const _: () = ::core::assert!(
                    #budget_const > 0,
                    "a memory budget of 0 bytes is not allowed: give the most bytes the test may use, at least 1",
                );
            }),
        ),
    };
    let mut options = TokenStream::new();
    if let Some((text, line, column)) = literal(budget) {
        options.extend(quote!(.literal(#text, #line, #column)));
    }
    if let Some(search) = args.search {
        options.extend(quote!(.search(#search)));
    }
    if args.leaks.as_ref().is_some_and(|(_, deny)| *deny) {
        options.extend(quote!(.deny_leaks()));
    }
    if let Some((_, verify)) = &args.verify {
        options.extend(quote!(.verify(#verify)));
    }
    if let Some((_, runs)) = &args.runs {
        options.extend(quote!(.runs(#runs)));
    }
    if args.cold.as_ref().is_some_and(|(_, cold)| *cold) {
        options.extend(quote!(.cold()));
    }
    if let Some(count) = &args.allocations {
        options.extend(quote!(.allocations(#count)));
        if let Some((text, line, column)) = literal(count) {
            options.extend(quote!(.allocations_literal(#text, #line, #column)));
        }
    }
    match args.failing.as_ref().map(|(_, failing)| failing) {
        Some(parse::Failing::Each) => {
            options.extend(quote!(.failing(#krate::__private::FailurePolicy::EachAllocation)))
        }
        Some(parse::Failing::From) => {
            options.extend(quote!(.failing(#krate::__private::FailurePolicy::FromAllocation)))
        }
        None => {}
    }
    if args.swallowed.as_ref().is_some_and(|(_, allow)| *allow) {
        options.extend(quote!(.allow_swallowed()));
    }
    let run = match test.allocator {
        Allocator::Fixed => quote!(run_fixed),
        Allocator::ThreadSafe => quote!(run_thread_safe),
        Allocator::Global => quote!(run_global),
    };
    // The runtime is built before the budget, so its own allocations are
    // not the body's.
    let runtime = test.tokio.as_ref().map(|tokio| {
        let runtime = runtime(tokio);
        quote!(let __fba_runtime = #runtime;)
    });
    let drive = |future: TokenStream| match &test.tokio {
        Some(_) => quote!(__fba_runtime.block_on(#future)),
        None => quote!(#krate::__private::block_on(#future)),
    };
    // A body that captures nothing goes to the runtime as a function
    // pointer: a `dyn FnMut` of a `fn` type has one vtable per return type,
    // where a function's or closure's own type would compile its shims again
    // for every test. Only a body driven on a tokio runtime captures (it).
    let pointer = match test.allocator {
        Allocator::Fixed => quote!(fixed_fn),
        Allocator::ThreadSafe => quote!(thread_safe_fn),
        Allocator::Global => quote!(global_fn),
    };
    let as_pointer = |body: TokenStream| match (&test.tokio, args.case) {
        (Some(_), None) if test.asyncness => body,
        _ => quote!(#krate::__private::#pointer(#body)),
    };
    let body = as_pointer(match (args.case, test.asyncness, test.allocator) {
        (Some(_), _, _) => quote!(|alloc| #name()(alloc)),
        (None, false, _) => quote!(#name),
        (None, true, Allocator::Global) => {
            let driven = drive(quote!(#name()));
            quote!(|| #driven)
        }
        (None, true, _) => {
            let driven = drive(quote!(#name(alloc)));
            quote!(|alloc| #driven)
        }
    });
    // The harness calls the runner itself when the test returns nothing,
    // and a closure that reads what it returned otherwise.
    let registered_run = match output {
        ReturnType::Default => quote!(#krate::__private::Run::Unit(#runner)),
        ReturnType::Type(..) => quote! {
            #krate::__private::Run::Returning(|| #krate::__private::conclude(#runner()))
        },
    };
    let test_attribute = (test.already_a_test || args.made_a_test)
        .not()
        .then(|| quote!(#[test]));
    let name_text = name.to_string();
    quote! {
        #positive
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #test_static: #krate::__private::BudgetTest = #krate::__private::BudgetTest::new(
            ::core::module_path!(),
            #name_text,
            ::core::file!(),
            ::core::line!(),
            ::core::env!("CARGO_MANIFEST_DIR"),
            #budget_value,
        ) #options;
        #(#cfgs)*
        #[doc(hidden)]
        fn #runner() #output {
            #function
            #runtime
            #krate::__private::#run(&#test_static, &mut #body)
        }
        #(#attributes)*
        #test_attribute
        #visibility fn #name() #output {
            #runner()
        }
        #(#cfgs)*
        #krate::__private::inventory::submit! {
            #krate::__private::RegisteredTest {
                test: &#test_static,
                ignored: #ignored,
                run: #registered_run,
            }
        }
    }
}

/// Where an integer literal (a budget) is in the source, for `FBA_UPDATE`:
/// its text, line and column, or `None` for another expression.
fn literal(value: &Expr) -> Option<(String, u32, u32)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            let start = int.span().start();
            Some((int.to_string(), start.line as u32, start.column as u32))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_text(args: &str, item: &str) -> String {
        expand(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn a_test_gets_the_users_attributes_then_test() {
        let text = expand_text(
            "4096",
            "#[ignore] /// docs\nfn parses(alloc: &FixedBufferAllocator) {}",
        );
        let ignore = text.find("# [ignore]").unwrap();
        let test = text.find("# [test]").unwrap();
        assert!(ignore < test, "{text}");
        assert!(text.contains(":: fba :: __private :: run_fixed"), "{text}");
        assert!(!text.contains("compile_error"), "{text}");
    }

    #[test]
    fn tokens_that_are_not_an_item_give_the_error_alone() {
        // Found by the property test (fuzz.rs): echoing `#` beside the
        // error made an expansion that does not parse.
        let text = expand_text("4096", "#");
        assert!(text.starts_with(":: core :: compile_error !"), "{text}");
        assert!(syn::parse_str::<syn::File>(&text).is_ok(), "{text}");
    }

    #[test]
    fn a_body_that_captures_nothing_goes_as_a_fn_pointer_and_a_unit_test_registers_its_runner() {
        let text = expand_text("64", "fn f(a: &FixedBufferAllocator) {}");
        assert!(
            text.contains("& mut :: fba :: __private :: fixed_fn (f)"),
            "{text}"
        );
        assert!(
            text.contains("run : :: fba :: __private :: Run :: Unit (__fba_run_f)"),
            "{text}"
        );
        let global = expand_text("64", "fn g() -> Result<(), String> { Ok(()) }");
        assert!(global.contains("global_fn (g)"), "{global}");
        assert!(
            global
                .contains("Run :: Returning (|| :: fba :: __private :: conclude (__fba_run_g ()))"),
            "{global}"
        );
    }

    #[test]
    fn the_thread_safe_allocator_runs_the_thread_safe_runtime() {
        let text = expand_text("64", "fn f(a: &fba::ThreadSafeFixedBufferAllocator<'_>) {}");
        assert!(text.contains("run_thread_safe"), "{text}");
    }

    #[test]
    fn crate_option_replaces_the_path_to_the_runtime() {
        let text = expand_text("64, crate = my::fba", "fn f(a: &FixedBufferAllocator) {}");
        assert!(
            text.contains("my :: fba :: __private :: run_fixed"),
            "{text}"
        );
        let text = expand_text("64, crate = \"other\"", "fn f(a: &FixedBufferAllocator) {}");
        assert!(text.contains("other :: __private :: run_fixed"), "{text}");
    }

    #[test]
    fn misuse_keeps_the_original_function_and_reports_every_error() {
        let text = expand_text(
            "0, color = 3",
            "unsafe fn f(a: FixedBufferAllocator, b: u8) {}",
        );
        assert_eq!(text.matches("compile_error").count(), 5, "{text}");
        assert!(text.contains("unsafe fn f"), "{text}");
        assert!(!text.contains("# [test]"), "{text}");
    }

    #[test]
    fn a_function_without_parameter_measures_the_global_allocator() {
        let text = expand_text("4096, leaks = \"deny\", verify = true", "fn f() {}");
        assert!(text.contains("run_global"), "{text}");
        assert!(text.contains(". deny_leaks ()"), "{text}");
        assert!(text.contains(". verify (true)"), "{text}");
    }

    #[test]
    fn global_mode_options_are_errors_with_an_explicit_allocator() {
        let text = expand_text(
            "4096, leaks = \"deny\"",
            "fn f(a: &FixedBufferAllocator) {}",
        );
        assert!(text.contains("compile_error"), "{text}");
    }

    #[test]
    fn a_constant_expression_gets_a_compile_time_check() {
        let text = expand_text("4 * KIB", "fn f(a: &FixedBufferAllocator) {}");
        assert!(
            text.contains("const __fba_budget_f : usize = 4 * KIB"),
            "{text}"
        );
        assert!(text.contains(":: core :: assert !"), "{text}");
    }

    #[test]
    fn the_test_registers_itself_for_the_budget_harness() {
        let text = expand_text("4096", "#[ignore] fn f(a: &FixedBufferAllocator) {}");
        assert!(
            text.contains(":: fba :: __private :: inventory :: submit !"),
            "{text}"
        );
        assert!(text.contains("ignored : true"), "{text}");
        assert!(
            text.contains(". literal (\"4096\" , 1u32 , 0u32)"),
            "{text}"
        );
    }

    #[test]
    fn a_test_attribute_below_is_absorbed_not_doubled() {
        for test in [
            "#[test]",
            "#[::core::prelude::v1::test]",
            "#[std::prelude::rust_2024::test]",
        ] {
            let text = expand_text("64", &format!("{test} fn f(a: &FixedBufferAllocator) {{}}"));
            assert_eq!(text.matches("# [test]").count(), 1, "{text}");
            assert!(!text.contains("prelude"), "{text}");
            assert!(!text.contains("compile_error"), "{text}");
        }
    }

    #[test]
    fn an_async_fn_is_driven_on_tokio_built_outside_the_budget_or_on_fbas_executor() {
        let text = expand_text(
            "64",
            "#[tokio::test(flavor = \"multi_thread\", worker_threads = 2)] async fn f() {}",
        );
        assert!(!text.contains("# [tokio :: test"), "{text}");
        let built = text
            .find("let __fba_runtime = :: tokio :: runtime :: Builder :: new_multi_thread ()")
            .unwrap();
        let run = text
            .find("run_global (& __fba_test_f , & mut || __fba_runtime . block_on (f ()))")
            .unwrap();
        assert!(
            built < run,
            "the runtime is built before the budget runs:\n{text}"
        );
        assert!(text.contains(". worker_threads (2)"), "{text}");
        let own = expand_text("64", "async fn f(a: &FixedBufferAllocator) {}");
        assert!(
            own.contains(
                "run_fixed (& __fba_test_f , & mut :: fba :: __private :: fixed_fn (| alloc | :: fba :: __private :: block_on (f (alloc))))"
            ),
            "{own}"
        );
        assert!(
            own.contains("FixedBufferAllocator < '_ >"),
            "the lifetime is named:\n{own}"
        );
    }

    #[test]
    fn tokio_test_above_the_attribute_is_an_error_that_says_to_swap_them() {
        // What `#[tokio::test]` hands the attribute below it.
        let text = expand_text(
            "64",
            "#[::core::prelude::v1::test] fn f() { let body = async {}; tokio::pin!(body); \
             { use tokio::runtime::Builder; return Builder::new_current_thread().enable_all().build()\
             .expect(\"Failed building the Runtime\").block_on(body); } }",
        );
        assert!(text.contains("compile_error"), "{text}");
        assert!(
            text.contains("write `#[memory_budget(..)]` first"),
            "{text}"
        );
    }

    #[test]
    fn above_rstest_the_attribute_is_passed_on_below_the_last_case() {
        let text = expand_text(
            "4096",
            "#[rstest] #[case(1)] #[ignore] #[case(2)] #[tokio::test] async fn f(#[case] n: usize) {}",
        );
        let last_case = text.find("# [case (2)]").unwrap();
        let passed_on = text.find("# [:: fba :: memory_budget (4096)]").unwrap();
        let tokio = text.find("# [tokio :: test]").unwrap();
        assert!(last_case < passed_on && passed_on < tokio, "{text}");
        assert!(
            !text.contains("__fba_run"),
            "the cases are the tests:\n{text}"
        );
    }

    #[test]
    fn above_a_case_generator_an_explicit_test_hands_over_its_body_as_a_closure() {
        let text = expand_text(
            "4096, search = false",
            "#[test_case(1)] fn f(alloc: &FixedBufferAllocator, n: usize) -> Result<(), String> { Ok(()) }",
        );
        assert!(
            text.contains(
                "# [:: fba :: memory_budget (4096 , search = false , __case = \"fixed\" , __made_a_test = true)]"
            ),
            "{text}"
        );
        assert!(text.contains("fn f (n : usize) -> impl :: core :: ops :: FnOnce (& :: fba :: FixedBufferAllocator < '_ >) -> Result < () , String >"), "{text}");
        assert!(
            text.contains("fixed_case (move | alloc : & FixedBufferAllocator |"),
            "{text}"
        );
        // Each case then calls its body with the trial's allocator.
        let case = expand_text(
            "4096, __case = \"fixed\"",
            "#[test] fn case_1() -> impl ::core::ops::FnOnce(&::fba::FixedBufferAllocator<'_>) -> Result<(), String> { f(1) }",
        );
        assert!(
            case.contains(
                "run_fixed (& __fba_test_case_1 , & mut :: fba :: __private :: fixed_fn (| alloc | case_1 () (alloc)))"
            ),
            "{case}"
        );
        assert!(
            case.contains("fn case_1 () -> Result < () , String > { __fba_run_case_1 () }"),
            "{case}"
        );
    }

    #[test]
    fn a_case_test_case_made_a_test_already_gets_no_second_test_attribute() {
        let text = expand_text(
            "64",
            "#[allow(clippy::bool_assert_comparison)] fn test_case_1() { let _result = super::f(1); _result }",
        );
        assert!(!text.contains("# [test]"), "{text}");
        assert!(
            text.contains("fn test_case_1 () { __fba_run_test_case_1 () }"),
            "{text}"
        );
        let own = expand_text("64", "#[allow(clippy::bool_assert_comparison)] fn f() {}");
        assert!(
            own.contains("# [test]"),
            "a user's own allow is not a case:\n{own}"
        );
    }

    #[test]
    fn runs_and_cold_reach_the_runtime() {
        let text = expand_text("64, runs = 5, cold = true", "fn f() {}");
        assert!(text.contains(". runs (5usize) . cold ()"), "{text}");
    }

    #[test]
    fn above_a_case_generator_the_runtime_attribute_goes_below_the_passed_attribute() {
        // Written before the cases, `#[tokio::test]` still reaches each case
        // after the attribute.
        let text = expand_text(
            "4096",
            "#[tokio::test] #[rstest] #[case(1)] async fn f(#[case] n: usize) {}",
        );
        let passed_on = text.find("# [:: fba :: memory_budget (4096)]").unwrap();
        let tokio = text.find("# [tokio :: test]").unwrap();
        assert!(passed_on < tokio, "{text}");
        assert!(text.contains("async fn f"), "{text}");
    }

    #[test]
    fn above_a_case_generator_an_async_fn_without_a_runtime_drives_its_future_itself() {
        let text = expand_text("4096", "#[test_case(1)] async fn f(n: usize) {}");
        assert!(!text.contains("async fn"), "{text}");
        assert!(
            text.contains(":: fba :: __private :: block_on (async move"),
            "{text}"
        );
        assert!(
            text.contains("__made_a_test = true"),
            "test-case makes it a test:\n{text}"
        );
    }

    #[test]
    fn a_mistake_on_a_case_function_does_not_leave_the_generators_attributes_behind() {
        let text = expand_text(
            "4096",
            "#[rstest] #[case(1)] #[should_panic] fn f(#[case] n: usize) {}",
        );
        assert_eq!(text.matches("compile_error").count(), 1, "{text}");
        assert!(!text.contains("# [case"), "{text}");
        assert!(!text.contains("rstest"), "{text}");
    }
}
