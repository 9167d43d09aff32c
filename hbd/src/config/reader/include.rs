//! Config includes: `include: conf.d/*.yaml` (a pattern or a list, relative to the
//! main file's directory) reads more files into the same configuration, each problem
//! reported with its own file and line. Sections of named entries (`hosts`, `users`,
//! `threshold_configs`, `maintenance`, `dyndomains`, `groups`) gather entries from every
//! file; an entry defined in two files, or any other key set in two, is an error naming
//! both.
//! Included files do not include further.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::Reader;
use crate::config::Config;
use hb_problems::describe;

/// Top-level keys whose entries may come from several files.
pub(super) const GATHERED: &[&str] = &[
    "hosts",
    "users",
    "threshold_configs",
    "maintenance",
    "dyndomains",
    "groups",
    "checks",
    "targets",
];

/// Included files read at most: a pattern that matches more is a mistake.
pub const MAX_INCLUDED: usize = 1000;

/// Which file set each top-level key and defined each entry of a gathered section.
#[derive(Debug, Default)]
pub(super) struct Origins {
    keys: HashMap<String, String>,
    entries: HashMap<(String, String), String>,
}

impl Origins {
    /// Records that `file` sets `key` to `v` (the entries too, for a gathered section).
    pub(super) fn note(&mut self, key: &str, v: &Value, file: Option<&Path>) {
        let file = shown(file);
        self.keys
            .entry(key.to_owned())
            .or_insert_with(|| file.clone());
        if GATHERED.contains(&key)
            && let Value::Mapping(map) = v
        {
            for name in map.keys().filter_map(entry_name) {
                self.entries
                    .entry((key.to_owned(), name))
                    .or_insert_with(|| file.clone());
            }
        }
    }

    /// Whether some file sets `key`.
    pub(super) fn has(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }
}

fn shown(file: Option<&Path>) -> String {
    file.map_or_else(|| "the main file".to_owned(), |f| f.display().to_string())
}

fn entry_name(k: &Value) -> Option<String> {
    match k {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Reader {
    /// Reads every file `patterns` (the value of `include`) names, in name order.
    pub(super) fn read_included(
        &mut self,
        config: &mut Config,
        patterns: &Value,
        origins: &mut Origins,
    ) {
        let base = self
            .problems
            .file()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        let list = match patterns {
            Value::String(s) => vec![s.clone()],
            Value::Sequence(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Value::Null => Vec::new(),
            other => {
                self.error(
                    &["include"],
                    format!(
                        "expected a file pattern (conf.d/*.yaml) or a list of them, found {}",
                        describe(other)
                    ),
                );
                return;
            }
        };
        let mut files = Vec::new();
        for pattern in list {
            match expand(&base, &pattern) {
                Ok(found) => files.extend(found),
                Err(why) => self.error(&["include"], format!("{pattern:?}: {why}")),
            }
        }
        files.dedup();
        if files.len() > MAX_INCLUDED {
            self.error(
                &["include"],
                format!(
                    "matches {} files; at most {MAX_INCLUDED} are read",
                    files.len()
                ),
            );
            files.truncate(MAX_INCLUDED);
        }
        for file in files {
            if Some(file.as_path()) == self.problems.file() {
                continue;
            }
            match hb_problems::read_file(&file) {
                Ok(text) => self.read_one(config, &text, &file, origins),
                Err(problem) => {
                    self.error(&["include"], problem.message);
                }
            }
        }
    }

    /// Reads one included file into `config`.
    fn read_one(&mut self, config: &mut Config, text: &str, file: &Path, origins: &mut Origins) {
        let mut sub = Reader::new(text, Some(file.to_owned()));
        sub.reported = self.reported.clone();
        if let Some(root) = sub.problems.parse_yaml() {
            match root {
                Value::Null => {}
                Value::Mapping(map) => {
                    for (k, v) in &map {
                        let Some(key) = k.as_str() else {
                            sub.error(&["(top level)"], "keys must be strings");
                            continue;
                        };
                        if key == "include" {
                            sub.error(
                                &["include"],
                                "included files do not include further: list every pattern in the main file",
                            );
                            continue;
                        }
                        if sub.set_elsewhere(key, v, origins) {
                            continue;
                        }
                        origins.note(key, v, Some(file));
                        sub.read_top(config, key, v);
                    }
                }
                other => sub.error(
                    &["(top level)"],
                    format!("expected a mapping of keys, found {}", describe(&other)),
                ),
            }
        }
        self.included.push(sub.problems);
        self.included.extend(sub.included);
    }

    /// Whether `key` was already set by another file, so this file's value is left
    /// out; each clash is an error here, naming that file. A gathered section is read
    /// whatever its entries clash with (each clash an error), so the rest of it is
    /// still checked.
    fn set_elsewhere(&mut self, key: &str, v: &Value, origins: &Origins) -> bool {
        if GATHERED.contains(&key) {
            if let Value::Mapping(map) = v {
                for name in map.keys().filter_map(entry_name) {
                    if let Some(there) = origins.entries.get(&(key.to_owned(), name.clone())) {
                        self.error(&[key, &name], format!("is also defined in {there}"));
                    }
                }
            }
            return false;
        }
        match origins.keys.get(key) {
            Some(there) => {
                self.error(&[key], format!("is also set in {there}"));
                true
            }
            None => false,
        }
    }
}

/// The files `pattern` names under `base`, sorted: a path, or a directory and a file
/// name with `*`, `?` or `[...]` (no wildcards in the directory part).
fn expand(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let path = base.join(pattern);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("names no file")?
        .to_owned();
    let dir = path.parent().unwrap_or(base).to_owned();
    if dir.to_string_lossy().contains(['*', '?', '[']) {
        return Err("wildcards only in the file name, not in directories".into());
    }
    if !name.contains(['*', '?', '[']) {
        return match path.is_file() {
            true => Ok(vec![path]),
            false => Err(format!("{} does not exist", path.display())),
        };
    }
    let glob = globset::GlobBuilder::new(&name)
        .literal_separator(true)
        .build()
        .map_err(|e| e.to_string())?
        .compile_matcher();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                // Editors' and package managers' leftovers are not configuration.
                .is_some_and(|n| glob.is_match(n) && !n.starts_with('.'))
        })
        .collect();
    found.sort();
    Ok(found)
}
