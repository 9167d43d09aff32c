//! The value readers both configuration readers share: a whole number in a range,
//! seconds, a boolean, a size with units. Each records a problem naming what it
//! expected and what it found, and returns `None` then, so a reader carries on.

use std::time::Duration;

use serde_norway::Value;

use crate::collector::{Problems, show};

impl Problems {
    /// A whole number from `min` to `max`.
    pub fn whole(&mut self, path: &[&str], v: &Value, min: u64, max: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    path,
                    format!(
                        "expected a whole number from {min} to {max}, found {}",
                        show(v)
                    ),
                );
                None
            }
        }
    }

    /// A number of seconds above zero (below 10⁹).
    pub fn seconds(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        match v.as_f64() {
            Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
            _ => {
                self.error(
                    path,
                    format!("expected a number of seconds > 0, found {}", show(v)),
                );
                None
            }
        }
    }

    /// A number of seconds, zero allowed (below 10⁹).
    pub fn seconds_or_zero(&mut self, path: &[&str], v: &Value) -> Option<Duration> {
        match v.as_f64() {
            Some(s) if (0.0..1e9).contains(&s) => Some(Duration::from_secs_f64(s)),
            _ => {
                self.error(
                    path,
                    format!("expected a number of seconds >= 0, found {}", show(v)),
                );
                None
            }
        }
    }

    /// A number of seconds from `min` to `max`, written as the message gives them
    /// (`0.1`, `86400`).
    pub fn seconds_between(
        &mut self,
        path: &[&str],
        v: &Value,
        min: f64,
        max: f64,
    ) -> Option<Duration> {
        match v.as_f64() {
            Some(s) if (min..=max).contains(&s) => Some(Duration::from_secs_f64(s)),
            _ => {
                self.error(
                    path,
                    format!("expected seconds from {min} to {max}, found {}", show(v)),
                );
                None
            }
        }
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, path: &[&str], v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.error(path, format!("expected true or false, found {}", show(v)));
                None
            }
        }
    }

    /// A size in bytes, or with a unit ([`parse_size`]).
    pub fn size(&mut self, path: &[&str], v: &Value) -> Option<u64> {
        let parsed = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => parse_size(s),
            _ => None,
        };
        if parsed.is_none() {
            self.error(
                path,
                format!(
                    "expected a size in bytes or with a unit (100MB, 512KiB, 1G), found {}",
                    show(v)
                ),
            );
        }
        parsed
    }
}

/// Parses `100MB`, `100 MiB`, `1G`, `512k` or a plain number of bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let bytes = number * factor as f64;
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reader_takes_its_values_and_names_what_it_expected_otherwise() {
        let yaml = |s: &str| serde_norway::from_str::<Value>(s).unwrap();
        let mut p = Problems::new("k: x\n", None);
        assert_eq!(p.whole(&["k"], &yaml("7"), 1, 9), Some(7));
        assert_eq!(p.whole(&["k"], &yaml("70"), 1, 9), None);
        assert_eq!(
            p.seconds(&["k"], &yaml("2.5")),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(p.seconds(&["k"], &yaml("0")), None);
        assert_eq!(p.seconds_or_zero(&["k"], &yaml("0")), Some(Duration::ZERO));
        assert_eq!(p.seconds_between(&["k"], &yaml("0.05"), 0.1, 86400.0), None);
        assert_eq!(p.boolean(&["k"], &yaml("yes please")), None);
        assert_eq!(p.size(&["k"], &yaml("1MiB")), Some(1024 * 1024));
        let said: Vec<String> = p.into_vec().iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "<defaults>:1: error: k: expected a whole number from 1 to 9, found 70",
                "<defaults>:1: error: k: expected a number of seconds > 0, found 0",
                "<defaults>:1: error: k: expected seconds from 0.1 to 86400, found 0.05",
                "<defaults>:1: error: k: expected true or false, found \"yes please\"",
            ]
        );
    }

    #[test]
    fn sizes_parse_with_units() {
        for (text, want) in [
            ("100", Some(100)),
            ("100MB", Some(100 * 1024 * 1024)),
            ("512 KiB", Some(512 * 1024)),
            ("1G", Some(1024 * 1024 * 1024)),
            ("1.5k", Some(1536)),
            ("ten", None),
            ("5 parsecs", None),
        ] {
            assert_eq!(parse_size(text), want, "{text}");
        }
    }
}
