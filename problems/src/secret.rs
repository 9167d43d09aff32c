//! Secrets kept out of the YAML: wherever a key holds a password, a key, a token or a
//! URL with one in it, the value may instead be `{file: PATH}` (the file's first line,
//! trimmed; a relative path is under the directory of the file that says so) or
//! `{env: NAME}` (the environment variable's value), so the config itself can live in
//! version control. Both readers (hbd's and hbc's) resolve them here, then check the
//! value as if it had been written in place.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use crate::collector::Problems;

impl Problems {
    /// `v` with a secret's indirection resolved: `{file: PATH}` or `{env: NAME}` becomes
    /// the secret as a string; any other value is `v` as it is. A file that cannot be
    /// read, an empty one, a variable not set or another mapping is a problem naming
    /// what is wrong (never the secret), and `None`.
    pub fn reveal(&mut self, path: &[&str], v: &Value) -> Option<Value> {
        let Value::Mapping(map) = v else {
            return Some(v.clone());
        };
        let file = map.get("file").and_then(Value::as_str);
        let env = map.get("env").and_then(Value::as_str);
        let text = match (file, env, map.len()) {
            (Some(file), None, 1) => {
                let at = self.beside(Path::new(file));
                match std::fs::read_to_string(&at) {
                    Ok(text) => text.lines().next().unwrap_or_default().trim().to_owned(),
                    Err(e) => {
                        self.error(
                            path,
                            format!("cannot read the secret's file {}: {e}", at.display()),
                        );
                        return None;
                    }
                }
            }
            (None, Some(name), 1) => match std::env::var(name) {
                Ok(value) => value,
                Err(_) => {
                    self.error(path, format!("the environment variable {name} is not set"));
                    return None;
                }
            },
            _ => {
                self.error(path, "expected the value, {file: PATH} or {env: NAME}");
                return None;
            }
        };
        if text.is_empty() {
            let whence = file.map_or_else(
                || format!("the environment variable {}", env.unwrap_or_default()),
                |f| format!("the secret's file {f}"),
            );
            self.error(path, format!("{whence} is empty"));
            return None;
        }
        Some(Value::String(text))
    }

    /// `file` as read by this config file: a relative path is under its directory.
    fn beside(&self, file: &Path) -> PathBuf {
        match self.file().and_then(Path::parent) {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

    use super::*;

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn secrets_come_from_the_value_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cret-token\nsecond line\n").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let config = dir.path().join("hbd.yaml");
        // A variable every process has, so the test sets none.
        let path_var = std::env::var("PATH").unwrap();
        let cases = [
            ("plain", Some("plain")),
            ("{file: token}", Some("s3cret-token")),
            (
                &format!("{{file: {}}}", dir.path().join("token").display()),
                Some("s3cret-token"),
            ),
            ("{env: PATH}", Some(path_var.as_str())),
            ("{file: missing}", None),
            ("{file: empty}", None),
            ("{env: HB_PROBLEMS_TEST_SURELY_UNSET}", None),
            ("{file: token, env: PATH}", None),
            ("{path: token}", None),
        ];
        for (text, want) in cases {
            let mut problems = Problems::new("x: 1\n", Some(config.clone()));
            let got = problems.reveal(&["x"], &yaml(text));
            assert_eq!(
                got.as_ref().and_then(Value::as_str),
                want,
                "{text}: {problems:?}"
            );
            assert_eq!(
                problems.error_count(),
                usize::from(want.is_none()),
                "{text}"
            );
            // A problem names where the secret was to come from, never the secret.
            for p in problems.into_vec() {
                assert!(!p.message.contains("s3cret"), "{p:?}");
            }
        }
    }
}
