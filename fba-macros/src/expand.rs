//! Code generation: the checked function becomes a `#[test]` that hands its
//! body to the runtime with the budget and where it was declared.

use proc_macro2::TokenStream;
use std::ops::Not;

use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Item, ItemFn, Lit};

use crate::parse::{self, Allocator, Args, Errors};

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
            errors.push(error);
            return with_errors(item, errors);
        }
    };
    let allocator = parse::function(&function)
        .map_err(|error| errors.push(error))
        .ok();
    if let (Some(args), Some(allocator)) = (&args, allocator)
        && allocator != Allocator::Global
    {
        for (option, _) in args.leaks.iter().chain(&args.verify) {
            errors.spanned(
                option,
                "this option is for tests without an allocator parameter, which measure the global allocator; \
                 an explicit allocator's blocks cannot outlive the body, and its failures do not abort",
            );
        }
    }
    match (args, allocator, errors.into_result()) {
        (Some(args), Some(allocator), Ok(())) => test(&args, allocator, function),
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
/// errors of their own (`#[test]` on a function with a parameter), and
/// allowed to be unused.
fn original(mut function: ItemFn) -> TokenStream {
    function.attrs.retain(|attribute| {
        !attribute.path().is_ident("test") && !attribute.path().is_ident("should_panic")
    });
    quote!(#[allow(dead_code)] #function)
}

/// The test. Beside the user's function it generates:
///
/// - `__fba_budget_<name>`, the budget as a `const` (type-checked by the
///   compiler, its value by a compile-time assertion unless it is a literal),
///   and `__fba_test_<name>`, a `static` describing the test;
/// - `__fba_run_<name>`, which declares the user's function and runs it
///   under the budget;
/// - the `#[test]` function, with the user's attributes first, for the
///   default test harness;
/// - an `inventory` registration, for the budget harness (`harness = false`
///   targets, where `#[test]` functions are not compiled).
fn test(args: &Args, allocator: Allocator, mut function: ItemFn) -> TokenStream {
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::fba),
    };
    let attributes = std::mem::take(&mut function.attrs);
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
    let visibility = std::mem::replace(&mut function.vis, syn::Visibility::Inherited);
    let name = &function.sig.ident;
    let output = &function.sig.output;
    let budget = &args.budget;
    let budget_span = budget.span();
    let budget_const = format_ident!("__fba_budget_{}", name);
    let test_static = format_ident!("__fba_test_{}", name);
    let runner = format_ident!("__fba_run_{}", name);
    let literal = match budget {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            let text = int.to_string();
            let start = int.span().start();
            let (line, column) = (start.line as u32, start.column as u32);
            quote!(::core::option::Option::Some(#krate::__private::BudgetLiteral {
                text: #text,
                line: #line,
                column: #column,
            }))
        }
        _ => quote!(::core::option::Option::None),
    };
    // A constant expression is checked by the compiler: its type by the
    // `const`, its value by this assertion.
    let positive = matches!(budget, Expr::Lit(_)).not().then(|| {
        quote_spanned! {budget_span=>
            #(#cfgs)*
            const _: () = ::core::assert!(
                #budget_const > 0,
                "a memory budget of 0 bytes is not allowed: give the most bytes the test may use, at least 1",
            );
        }
    });
    let search = match args.search {
        Some(search) => quote!(::core::option::Option::Some(#search)),
        None => quote!(::core::option::Option::None),
    };
    let run = match allocator {
        Allocator::Fixed => quote!(run_fixed),
        Allocator::ThreadSafe => quote!(run_thread_safe),
        Allocator::Global => quote!(run_global),
    };
    let deny_leaks = args.leaks.as_ref().is_some_and(|(_, deny)| *deny);
    let verify = match &args.verify {
        Some((_, verify)) => quote!(::core::option::Option::Some(#verify)),
        None => quote!(::core::option::Option::None),
    };
    let name_text = name.to_string();
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        const #budget_const: usize = #budget;
        #positive
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #test_static: #krate::__private::BudgetTest = #krate::__private::BudgetTest {
            module_path: ::core::module_path!(),
            function: #name_text,
            file: ::core::file!(),
            line: ::core::line!(),
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            budget: #budget_const,
            search: #search,
            deny_leaks: #deny_leaks,
            verify: #verify,
            literal: #literal,
        };
        #(#cfgs)*
        #[doc(hidden)]
        fn #runner() #output {
            #function
            #krate::__private::#run(&#test_static, #name)
        }
        #(#attributes)*
        #[test]
        #visibility fn #name() #output {
            #runner()
        }
        #(#cfgs)*
        #krate::__private::inventory::submit! {
            #krate::__private::RegisteredTest {
                test: &#test_static,
                ignored: #ignored,
                run: || #krate::__private::conclude(#runner()),
            }
        }
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
            "async fn f(a: FixedBufferAllocator, b: u8) {}",
        );
        assert_eq!(text.matches("compile_error").count(), 5, "{text}");
        assert!(text.contains("async fn f"), "{text}");
        assert!(!text.contains("# [test]"), "{text}");
    }

    #[test]
    fn a_function_without_parameter_measures_the_global_allocator() {
        let text = expand_text("4096, leaks = \"deny\", verify = true", "fn f() {}");
        assert!(text.contains("run_global"), "{text}");
        assert!(text.contains("deny_leaks : true"), "{text}");
        assert!(
            text.contains("verify : :: core :: option :: Option :: Some (true)"),
            "{text}"
        );
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
        assert!(text.contains("text : \"4096\""), "{text}");
    }
}
