//! [`Problems`]: the list a config reader records into while it walks the parsed YAML,
//! finding each key's line in the original text.

use std::path::PathBuf;

use serde_norway::Value;

use crate::locate::line_of;
use crate::problem::{Problem, Severity, did_you_mean};

/// Problems found in one file's text.
#[derive(Debug)]
pub struct Problems {
    /// The file's text (a copy: configuration files are small, and an owned text lets
    /// key tables name the reader's type without a lifetime).
    text: String,
    file: Option<PathBuf>,
    list: Vec<Problem>,
}

impl Problems {
    /// Problems of `text`, read from `file` (`None`: not from a file).
    pub fn new(text: &str, file: Option<PathBuf>) -> Problems {
        Problems {
            text: text.to_owned(),
            file,
            list: Vec::new(),
        }
    }

    /// Records a problem at the key `path`.
    pub fn report(&mut self, severity: Severity, path: &[&str], message: impl Into<String>) {
        self.list.push(Problem {
            severity,
            file: self.file.clone(),
            line: line_of(&self.text, path),
            key: path.join("."),
            message: message.into(),
        });
    }

    /// Records an error at `path`.
    pub fn error(&mut self, path: &[&str], message: impl Into<String>) {
        self.report(Severity::Error, path, message);
    }

    /// Records a warning at `path`.
    pub fn warn(&mut self, path: &[&str], message: impl Into<String>) {
        self.report(Severity::Warning, path, message);
    }

    /// Warns that the last key of `path` is unknown, suggesting the closest of `known`.
    pub fn unknown_key(&mut self, path: &[&str], known: &[&str]) {
        let key = path.last().copied().unwrap_or_default();
        let hint = did_you_mean(key, known)
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        self.warn(path, format!("unknown key, ignored{hint}"));
    }

    /// Parses the text as YAML; a syntax error is recorded (with its line) and `None`
    /// returned.
    pub fn parse_yaml(&mut self) -> Option<Value> {
        match serde_norway::from_str(&self.text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.list.push(Problem {
                    severity: Severity::Error,
                    file: self.file.clone(),
                    line: e.location().map(|l| l.line()),
                    key: "(syntax)".into(),
                    message: format!("not valid YAML: {e}"),
                });
                None
            }
        }
    }

    /// How many segments of the key `path` this text writes (0: none): of several
    /// files, the one that writes most of it defines it.
    pub fn key_depth(&self, path: &[&str]) -> usize {
        crate::locate::locate(&self.text, path).map_or(0, |(depth, _)| depth)
    }

    /// The file the text was read from.
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Whether any error (not only warnings) was recorded.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }

    /// How many errors (not warnings) were recorded so far.
    pub fn error_count(&self) -> usize {
        self.list
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    /// Every problem, in the order found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.list
    }
}

/// What kind of YAML value `v` is, for messages ("a list", "a string").
pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A YAML value as a message shows it: scalars as written, others by kind.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => describe(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_file_line_and_key() {
        let text = "a: 1\nb:\n  c: x\n";
        let mut p = Problems::new(text, Some("/etc/x.yaml".into()));
        assert!(p.parse_yaml().is_some());
        p.error(&["b", "c"], "expected a number, found \"x\"");
        p.unknown_key(&["intervall"], &["interval", "grace"]);
        assert!(p.has_errors());
        let shown: Vec<String> = p.into_vec().iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "/etc/x.yaml:3: error: b.c: expected a number, found \"x\"",
                "/etc/x.yaml: warning: intervall: unknown key, ignored; did you mean `interval`?"
            ]
        );
        let mut bad = Problems::new("a: [1,", None);
        assert!(bad.parse_yaml().is_none());
        assert!(bad.into_vec()[0].to_string().starts_with("<defaults>:"));
    }
}
