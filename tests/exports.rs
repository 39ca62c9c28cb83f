//! The built module exports exactly one symbol of its own, the module record
//! `wsgi_module` (ARCHITECTURE.md §2): Rust callbacks, the C shim and pyo3's
//! init functions must stay hidden, because Apache loads modules with
//! RTLD_GLOBAL and anything exported leaks into every other module.

#[macro_use]
mod common;

use std::process::Command;

#[test]
fn only_the_module_record_is_exported() {
    ours_only!("how our module is linked (a C mod_wsgi exports its own functions)");
    let so = common::module_under_test();
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("nm (binutils) must be installed");
    assert!(out.status.success(), "nm failed on {}", so.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let symbols: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| !matches!(*s, "_init" | "_fini" | "_edata" | "_end" | "__bss_start"))
        .collect();
    assert_eq!(
        symbols,
        vec!["wsgi_module"],
        "exported symbols of {}",
        so.display()
    );
}

#[test]
fn linked_with_nodelete_and_libpython() {
    ours_only!("how our module is linked (neither C mod_wsgi has NODELETE; pip's has a RUNPATH)");
    let so = common::module_under_test();
    let out = Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
        .expect("readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NODELETE"),
        "module must be linked with -z nodelete:\n{text}"
    );
    assert!(
        text.contains("libpython3"),
        "module must link libpython:\n{text}"
    );
    // System Python: no rpath.
    assert!(
        !text.contains("RUNPATH") && !text.contains("RPATH"),
        "unexpected rpath:\n{text}"
    );
}
