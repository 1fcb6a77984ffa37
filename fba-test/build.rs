//! Hands the target triple the runtime is built for to its code
//! (`FBA_TARGET`): every measurement says what it was measured for.

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=FBA_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
