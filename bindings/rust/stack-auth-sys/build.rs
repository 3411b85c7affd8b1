//! Finds the prebuilt libstack_auth (Rust never builds the Go library itself):
//!   1. STACK_AUTH_LIB_DIR: the folder holding libstack_auth.so / .dylib / stack_auth.lib;
//!   2. pkg-config `stack_auth` (the C archive's lib/pkgconfig/stack_auth.pc is relocatable:
//!      PKG_CONFIG_PATH=<archive>/lib/pkgconfig is enough).
//! Programs find the library at run time as any shared library (LD_LIBRARY_PATH, PATH on
//! Windows, an rpath or an installed copy); `DEP_STACK_AUTH_LIB_DIR` tells a dependent's build
//! script the folder, to set an rpath of its own.
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=STACK_AUTH_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let dir = if let Some(d) = env::var_os("STACK_AUTH_LIB_DIR") {
        let d = PathBuf::from(d);
        if !d.is_dir() {
            panic!("STACK_AUTH_LIB_DIR={} is not a folder (it should hold libstack_auth)", d.display());
        }
        println!("cargo:rustc-link-search=native={}", d.display());
        println!("cargo:rustc-link-lib=dylib=stack_auth");
        d
    } else {
        match pkg_config::Config::new().atleast_version(&version).probe("stack_auth") {
            Ok(lib) => match lib.link_paths.first() {
                Some(d) => d.clone(),
                None => return,
            },
            Err(e) => panic!(
                "stack-auth-sys: libstack_auth {version} not found.\n\
                 Unpack the C archive for your platform (stack-auth-c-{version}-<target>.tar.gz) and set\n\
                 PKG_CONFIG_PATH=<archive>/lib/pkgconfig, or set STACK_AUTH_LIB_DIR=<folder with the library>.\n\
                 pkg-config said: {e}"
            ),
        }
    };
    println!("cargo:lib_dir={}", dir.display()); // DEP_STACK_AUTH_LIB_DIR for dependents' build scripts
}
