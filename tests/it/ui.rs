//! trybuild UI tests: misuse that must not compile, with the compiler's
//! message pinned in the `.stderr` beside each case (stable toolchain).

#[test]
fn misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/allocator/*.rs");
    cases.compile_fail("tests/ui/memory_budget/*.rs");
}
