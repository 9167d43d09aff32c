//! Nagios plugin output: status text, long output and performance data, parsed per the
//! monitoring-plugins development guidelines.
//!
//! Perfdata items are `'label'=value[UOM];[warn];[crit];[min];[max]`, space separated;
//! labels may be quoted with `'` (a quote inside is written `''`); trailing fields and
//! their `;` may be left out; `U` is an undetermined value. Thresholds use the range
//! syntax `10`, `10:`, `~:10`, `10:20`, `@10:20`.

use serde::Serialize;

/// Units of measure the guidelines define.
pub const UNITS: &[&str] = &["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"];

/// A threshold range. A value alerts when it lies outside `[start, end]`, or inside it
/// when `inside` (the `@` form).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Range {
    /// Lower bound (`None`: negative infinity, written `~`).
    pub start: Option<f64>,
    /// Upper bound (`None`: infinity).
    pub end: Option<f64>,
    /// Alert inside the range instead of outside.
    pub inside: bool,
    /// The range as written.
    pub text: String,
}

impl Range {
    /// Parses the range syntax.
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let original = text.to_owned();
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let number = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| RangeError::BadNumber {
                    number: s.to_owned(),
                    range: original.clone(),
                })
        };
        let (start, end) = match body.split_once(':') {
            None => (Some(0.0), Some(number(body)?)),
            Some((lo, hi)) => {
                let start = match lo {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(number(s)?),
                };
                let end = if hi.is_empty() {
                    None
                } else {
                    Some(number(hi)?)
                };
                (start, end)
            }
        };
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(RangeError::StartAfterEnd(original));
        }
        Ok(Range {
            start,
            end,
            inside,
            text: original,
        })
    }

    /// Whether `value` triggers this threshold.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start.is_none_or(|s| value >= s) && self.end.is_none_or(|e| value <= e);
        if self.inside { within } else { !within }
    }
}

/// Why a threshold range does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A bound is not a finite number.
    #[error("bad number {number:?} in range {range:?}")]
    BadNumber {
        /// The bound as written.
        number: String,
        /// The range as written.
        range: String,
    },
    /// The start lies past the end.
    #[error("range {0:?} has start > end")]
    StartAfterEnd(String),
}

/// Why one perfdata item does not parse: the item as written, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{token:?}: {problem}")]
pub struct PerfError {
    /// The item as written.
    pub token: String,
    /// What is wrong with it.
    pub problem: PerfProblem,
}

/// What is wrong with a perfdata item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PerfProblem {
    /// A quoted label without its closing quote.
    #[error("unclosed quote")]
    UnclosedQuote,
    /// A quoted label not followed by `=`.
    #[error("no '=' after the label")]
    NoEqualsAfterLabel,
    /// No `=` at all.
    #[error("no '='")]
    NoEquals,
    /// Nothing before the `=`.
    #[error("empty label")]
    EmptyLabel,
    /// The value is not a finite number (nor `U`).
    #[error("bad value {0:?}")]
    BadValue(String),
    /// A unit Nagios does not define.
    #[error("unknown unit {0:?}")]
    UnknownUnit(String),
    /// A warning or critical range that does not parse.
    #[error("{0}")]
    Range(RangeError),
    /// A minimum or maximum that is not a number.
    #[error("bad number {0:?}")]
    BadNumber(String),
}

/// One performance data item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerfItem {
    /// The label, unquoted.
    pub label: String,
    /// The value; `None` for `U`.
    pub value: Option<f64>,
    /// Unit of measure (may be empty).
    pub uom: String,
    /// Warning range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn: Option<Range>,
    /// Critical range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit: Option<Range>,
    /// Minimum possible value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum possible value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A whole plugin output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// First line, before any `|`.
    pub text: String,
    /// The following lines, before the perfdata part.
    pub long_output: String,
    /// Every item that parsed.
    pub perfdata: Vec<PerfItem>,
    /// Items that did not parse, with the reason.
    pub perfdata_errors: Vec<String>,
}

/// Splits plugin output into text, long output and perfdata.
pub fn parse_output(raw: &str) -> Output {
    let mut lines = raw.lines();
    let first = lines.next().unwrap_or_default();
    let (text, mut perf) = match first.split_once('|') {
        Some((t, p)) => (t.trim().to_owned(), p.to_owned()),
        None => (first.trim().to_owned(), String::new()),
    };
    let mut long = Vec::new();
    let mut in_perf = false;
    for line in lines {
        if in_perf {
            perf.push(' ');
            perf.push_str(line);
        } else if let Some((l, p)) = line.split_once('|') {
            long.push(l);
            perf.push(' ');
            perf.push_str(p);
            in_perf = true;
        } else {
            long.push(line);
        }
    }
    let (perfdata, perfdata_errors) = parse_perfdata(&perf);
    Output {
        text,
        long_output: long.join("\n").trim_end().to_owned(),
        perfdata,
        perfdata_errors,
    }
}

/// Parses a perfdata string into items and per-item errors.
pub fn parse_perfdata(text: &str) -> (Vec<PerfItem>, Vec<String>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for token in tokens(text) {
        match parse_item(&token) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (items, errors)
}

/// Splits on spaces outside single-quoted labels.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                current.push_str("''");
                chars.next();
            }
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn parse_item(token: &str) -> Result<PerfItem, PerfError> {
    let bad = |problem| PerfError {
        token: token.to_owned(),
        problem,
    };
    let (label, rest) = if let Some(quoted) = token.strip_prefix('\'') {
        let end = find_closing_quote(quoted).ok_or_else(|| bad(PerfProblem::UnclosedQuote))?;
        let label = quoted[..end].replace("''", "'");
        let rest = quoted[end + 1..]
            .strip_prefix('=')
            .ok_or_else(|| bad(PerfProblem::NoEqualsAfterLabel))?;
        (label, rest)
    } else {
        let (l, r) = token
            .split_once('=')
            .ok_or_else(|| bad(PerfProblem::NoEquals))?;
        (l.to_owned(), r)
    };
    if label.is_empty() {
        return Err(bad(PerfProblem::EmptyLabel));
    }
    let mut fields = rest.split(';');
    let value_uom = fields.next().unwrap_or_default();
    let split = value_uom
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(value_uom.len());
    let (number, uom) = match value_uom.strip_prefix('U') {
        Some(uom) => ("U", uom),
        None => value_uom.split_at(split),
    };
    let value = match number {
        "U" => None,
        n => Some(
            n.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(PerfProblem::BadValue(n.to_owned())))?,
        ),
    };
    if !UNITS.contains(&uom) {
        return Err(bad(PerfProblem::UnknownUnit(uom.to_owned())));
    }
    let range = |f: Option<&str>| -> Result<Option<Range>, PerfError> {
        match f {
            None | Some("") => Ok(None),
            Some(t) => Range::parse(t)
                .map(Some)
                .map_err(|e| bad(PerfProblem::Range(e))),
        }
    };
    let number_field = |f: Option<&str>| -> Result<Option<f64>, PerfError> {
        match f {
            None | Some("") => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|_| bad(PerfProblem::BadNumber(t.to_owned()))),
        }
    };
    Ok(PerfItem {
        label,
        value,
        uom: uom.to_owned(),
        warn: range(fields.next())?,
        crit: range(fields.next())?,
        min: number_field(fields.next())?,
        max: number_field(fields.next())?,
    })
}

fn find_closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_syntax() {
        // (range, value, alerts?)
        let cases: &[(&str, f64, bool)] = &[
            ("10", 5.0, false),
            ("10", 11.0, true),
            ("10", -1.0, true),
            ("10:", 10.0, false),
            ("10:", 9.9, true),
            ("~:10", -100.0, false),
            ("~:10", 10.1, true),
            ("10:20", 15.0, false),
            ("10:20", 21.0, true),
            ("10:20", 9.0, true),
            ("@10:20", 15.0, true),
            ("@10:20", 10.0, true),
            ("@10:20", 25.0, false),
            ("0.5:1.5", 1.0, false),
        ];
        for (text, value, want) in cases {
            let r = Range::parse(text).unwrap();
            assert_eq!(r.alerts(*value), *want, "{text} with {value}");
        }
        for bad in ["abc", "20:10", "1:x", "@"] {
            assert!(Range::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn perfdata_items() {
        let (items, errors) = parse_perfdata(
            "time=0.002s;1.0;2.0;0; 'in use'=75%;80;90 'it''s'=3c size=12.5MB;;;0;100 load1=0.5;;;; u=U trailing=4",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(
            labels,
            ["time", "in use", "it's", "size", "load1", "u", "trailing"]
        );
        assert_eq!(items[0].value, Some(0.002));
        assert_eq!(items[0].uom, "s");
        assert_eq!(items[0].crit.as_ref().unwrap().end, Some(2.0));
        assert_eq!(items[0].min, Some(0.0));
        assert_eq!(items[0].max, None);
        assert_eq!(items[1].uom, "%");
        assert_eq!(items[1].warn.as_ref().unwrap().text, "80");
        assert_eq!(items[3].max, Some(100.0));
        assert!(items[3].warn.is_none());
        assert_eq!(items[5].value, None);
        assert_eq!(items[6].uom, "");
    }

    #[test]
    fn bad_perfdata_is_reported_not_fatal() {
        let (items, errors) = parse_perfdata("ok=1 novalue x=5furlongs y=1;abc z=zz 'open=1");
        assert_eq!(items.len(), 1);
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn output_with_long_text_and_multiline_perfdata() {
        let raw = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%); | /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n";
        let out = parse_output(raw);
        assert_eq!(out.text, "DISK OK - free space: / 3326 MB (56%);");
        assert_eq!(out.long_output, "/ 15272 MB (77%);\n/boot 68 MB (69%);");
        let labels: Vec<&str> = out.perfdata.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["/", "/boot", "/home"]);
        let plain = parse_output("OK\n");
        assert_eq!((plain.text.as_str(), plain.perfdata.len()), ("OK", 0));
    }
}
