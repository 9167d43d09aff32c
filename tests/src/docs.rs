//! Reading the documentation's tables, for the tests that hold the code's key lists to
//! docs/CONFIG.md (both binaries').

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The text of `docs/NAME`: found up from the running test's crate (cargo sets
/// `CARGO_MANIFEST_DIR` when it runs a test), else from where this crate was built.
pub fn read(name: &str) -> String {
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    let path = starts
        .into_iter()
        .flatten()
        .flat_map(|start| {
            start
                .ancestors()
                .map(|dir| dir.join("docs").join(name))
                .collect::<Vec<_>>()
        })
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("docs/{name} not found above the test's crate"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rows (header and rule included) of the first table at or after `from` (a
/// heading, or any text that starts the part of the document meant).
fn table<'a>(md: &'a str, from: &str) -> impl Iterator<Item = &'a str> {
    let at = md
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} not in the document"));
    md[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
}

/// The backticked names in the first column of a row.
fn first_column(row: &str) -> Vec<String> {
    row.split('|').nth(1).map(backticked).unwrap_or_default()
}

/// The backticked names in the first column of the first table at or after `from`.
pub fn table_keys(md: &str, from: &str) -> BTreeSet<String> {
    table(md, from).skip(2).flat_map(first_column).collect()
}

/// The row of the first table at or after `from` whose first column names `key`.
pub fn row<'a>(md: &'a str, from: &str, key: &str) -> &'a str {
    table(md, from)
        .find(|l| first_column(l).iter().any(|k| k == key))
        .unwrap_or_else(|| panic!("no row for `{key}` after {from:?}"))
}

/// The backticked words of `text`.
pub fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}
