//! A configuration problem with its file, line and key, and the "did you mean" helper.

use std::fmt;
use std::path::PathBuf;

/// How bad a problem is: errors stop the daemon, warnings are printed and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The daemon refuses to start.
    Error,
    /// Printed; the daemon starts.
    Warning,
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file, or `None` for built-in defaults.
    pub file: Option<PathBuf>,
    /// 1-based line of the key, when it can be found.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `hosts.web1.interval`.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_ref()
            .map_or_else(|| "<defaults>".to_owned(), |p| p.display().to_string());
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(line) => write!(f, "{file}:{line}: {level}: {}: {}", self.key, self.message),
            None => write!(f, "{file}: {level}: {}: {}", self.key, self.message),
        }
    }
}

impl Problem {
    /// A file that cannot be read at all.
    pub fn unreadable(file: &std::path::Path, error: &std::io::Error) -> Problem {
        Problem {
            severity: Severity::Error,
            file: Some(file.to_owned()),
            line: None,
            key: "(file)".into(),
            message: format!("cannot read: {error}"),
        }
    }
}

/// Reads a config file; failing that, the one problem that says why.
pub fn read_file(path: &std::path::Path) -> Result<String, Problem> {
    std::fs::read_to_string(path).map_err(|e| Problem::unreadable(path, &e))
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let keys = ["interval", "grace", "hb_port", "journal_max_size"];
        assert_eq!(did_you_mean("intervall", &keys), Some("interval"));
        assert_eq!(did_you_mean("hbport", &keys), Some("hb_port"));
        assert_eq!(
            did_you_mean("journal_max_sise", &keys),
            Some("journal_max_size")
        );
        assert_eq!(did_you_mean("colour", &keys), None);
    }

    #[test]
    fn display_names_file_line_and_key() {
        let p = Problem {
            severity: Severity::Error,
            file: Some("/etc/hbd.yaml".into()),
            line: Some(7),
            key: "hosts.web1.interval".into(),
            message: "expected a number of seconds > 0".into(),
        };
        assert_eq!(
            p.to_string(),
            "/etc/hbd.yaml:7: error: hosts.web1.interval: expected a number of seconds > 0"
        );
    }
}
