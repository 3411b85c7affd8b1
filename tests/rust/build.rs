//! Links build/out/lib/libstack_auth.so (built by `make lib`), with an rpath so the test
//! binaries find it without LD_LIBRARY_PATH. STACK_AUTH_LIB_DIR overrides the directory.
use std::env;
use std::path::PathBuf;

fn main() {
    let dir = match env::var_os("STACK_AUTH_LIB_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("../../build/out/lib"),
    };
    let dir = dir.canonicalize().unwrap_or_else(|e| {
        panic!("{}: {e}; run `make lib` first", dir.display());
    });
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=stack_auth");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    println!("cargo:rerun-if-env-changed=STACK_AUTH_LIB_DIR");
    println!("cargo:rerun-if-changed={}", dir.join("libstack_auth.so").display());
}
