//! Parsing and checking the attribute's arguments and the function: every
//! misuse becomes a `syn::Error` on the offending token, all of them at once.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{
    Attribute, Expr, ExprLit, FnArg, GenericArgument, ItemFn, Lit, LitBool, LitStr, Path,
    PathArguments, ReturnType, Token, Type, UnOp,
};

/// The options after the budget, as text for messages.
const OPTIONS: &str =
    "`search = true|false`, `leaks = \"allow\"|\"deny\"`, `verify = true|false` and `crate = path`";

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

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The attribute's arguments: `(budget, option = value, ...)`.
pub(crate) struct Args {
    /// The budget expression.
    pub(crate) budget: Expr,
    /// `search = ...`.
    pub(crate) search: Option<bool>,
    /// `crate = ...`.
    pub(crate) krate: Option<Path>,
    /// `leaks = "deny"` (true) or `"allow"`, with the option's name for errors.
    pub(crate) leaks: Option<(Path, bool)>,
    /// `verify = ...`, with the option's name for errors.
    pub(crate) verify: Option<(Path, bool)>,
}

/// Parses the arguments, reporting every problem with them.
pub(crate) fn args(tokens: TokenStream) -> Result<Args, syn::Error> {
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
        };
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            let options: TokenStream = input.parse()?;
            let logic = |meta: syn::meta::ParseNestedMeta<'_>| {
                if meta.path.is_ident("search") {
                    let value: Expr = meta.value()?.parse()?;
                    match &value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Bool(LitBool { value, .. }),
                            ..
                        }) => {
                            if args.search.replace(*value).is_some() {
                                errors.spanned(&meta.path, "`search` is given twice");
                            }
                        }
                        _ => errors.spanned(&value, "`search` takes `true` or `false`"),
                    }
                } else if meta.path.is_ident("verify") {
                    let value: Expr = meta.value()?.parse()?;
                    match &value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Bool(LitBool { value, .. }),
                            ..
                        }) => {
                            if args.verify.replace((meta.path.clone(), *value)).is_some() {
                                errors.spanned(&meta.path, "`verify` is given twice");
                            }
                        }
                        _ => errors.spanned(&value, "`verify` takes `true` or `false`"),
                    }
                } else if meta.path.is_ident("leaks") {
                    let value: Expr = meta.value()?.parse()?;
                    let deny = match &value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(text),
                            ..
                        }) => match text.value().as_str() {
                            "deny" => Some(true),
                            "allow" => Some(false),
                            _ => None,
                        },
                        _ => None,
                    };
                    match deny {
                        Some(deny) => {
                            if args.leaks.replace((meta.path.clone(), deny)).is_some() {
                                errors.spanned(&meta.path, "`leaks` is given twice");
                            }
                        }
                        None => errors.spanned(&value, "`leaks` takes \"allow\" or \"deny\""),
                    }
                } else if meta.path.is_ident("crate") {
                    let value = meta.value()?;
                    let path = if value.peek(LitStr) {
                        value.parse::<LitStr>()?.parse::<Path>()?
                    } else {
                        value.parse::<Path>()?
                    };
                    if args.krate.replace(path).is_some() {
                        errors.spanned(&meta.path, "`crate` is given twice");
                    }
                } else {
                    let name = quote::ToTokens::to_token_stream(&meta.path)
                        .to_string()
                        .replace(' ', "");
                    let hint = ["search", "leaks", "verify", "crate"]
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
        errors.into_result().map(|()| args)
    };
    parser.parse2(tokens)
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

/// The allocator a budget body takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Allocator {
    Fixed,
    ThreadSafe,
    /// No parameter: the body's global allocations are measured.
    Global,
}

/// Checks the function and returns the allocator its parameter asks for.
pub(crate) fn function(function: &ItemFn) -> Result<Allocator, syn::Error> {
    let mut errors = Errors::default();
    let signature = &function.sig;
    for attribute in &function.attrs {
        check_attribute(attribute, &mut errors);
    }
    if let Some(asyncness) = &signature.asyncness {
        errors.spanned(
            asyncness,
            "a memory budget test cannot be `async`: run the future to completion inside a synchronous body",
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
    if let ReturnType::Type(_, ty) = &signature.output
        && let Type::ImplTrait(_) = ty.as_ref()
    {
        errors.spanned(
            ty,
            "a memory budget test returns `()` or `Result<(), E>`, not `impl Trait`",
        );
    }
    let mut allocator = None;
    let mut inputs = signature.inputs.iter();
    match inputs.next() {
        None => allocator = Some(Allocator::Global),
        Some(FnArg::Receiver(receiver)) => errors.spanned(
            receiver,
            "a memory budget test is a free function; it cannot take `self`",
        ),
        Some(FnArg::Typed(parameter)) => match allocator_type(&parameter.ty) {
            Ok(kind) => allocator = Some(kind),
            Err(error) => errors.push(error),
        },
    }
    for extra in inputs {
        errors.spanned(
            extra,
            "a memory budget test takes at most one parameter, the allocator: `alloc: &FixedBufferAllocator`",
        );
    }
    errors.into_result()?;
    allocator.ok_or_else(|| syn::Error::new_spanned(&signature.inputs, EXPECTED_PARAMETER))
}

fn check_attribute(attribute: &Attribute, errors: &mut Errors) {
    let path = attribute.path();
    if path.is_ident("test") {
        errors.spanned(
            attribute,
            "remove this `#[test]`: #[memory_budget] makes the function a test",
        );
    } else if path.is_ident("should_panic") {
        errors.spanned(
            attribute,
            "#[memory_budget] tests cannot be `#[should_panic]`: a panic fails the trial; test the panic without a budget",
        );
    }
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
