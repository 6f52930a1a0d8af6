//! The derive's compile errors (#14): each invalid schema in `tests/ui/` fails to compile with
//! the message in its `.stderr`, pointing at the attribute at fault; `tests/ui/pass/` compiles
//! and runs.
#![cfg(feature = "derive")]

#[test]
fn invalid_schemas_are_compile_errors_and_valid_ones_run() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
