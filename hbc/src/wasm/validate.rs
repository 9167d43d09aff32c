//! Turns a plugin's report into the nested JSON every report carries, refusing what a
//! well-behaved plugin never sends: empty or huge paths, a path that is both a value and
//! a parent, non-finite numbers, too many metrics.

use serde_json::{Map, Value};

/// Most metrics in one report.
pub const MAX_METRICS: usize = 10_000;
/// Longest path segment.
pub const MAX_SEGMENT: usize = 128;
/// Deepest path.
pub const MAX_DEPTH: usize = 16;

/// A metric value, independent of the generated bindings.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Whole number.
    Int(i64),
    /// Unsigned whole number (contract 0.2.0).
    Uint(u64),
    /// Float.
    Float(f64),
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
}

/// What is malformed in a plugin's report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Malformed {
    /// More than [`MAX_METRICS`] metrics.
    #[error("{0} metrics, at most {MAX_METRICS}")]
    TooMany(usize),
    /// A path of no segment or more than [`MAX_DEPTH`].
    #[error("metric path {0:?}: 1 to {MAX_DEPTH} segments")]
    Depth(Vec<String>),
    /// A segment empty or longer than [`MAX_SEGMENT`] bytes.
    #[error("metric path {path:?}: segment {segment:?} must be 1 to {MAX_SEGMENT} bytes")]
    Segment {
        /// The path.
        path: Vec<String>,
        /// The bad segment.
        segment: String,
    },
    /// A float that is NaN or infinite.
    #[error("metric {path}: {value} is not a finite number")]
    NotFinite {
        /// The dotted path.
        path: String,
        /// The value.
        value: f64,
    },
    /// A segment that is already a value, not a parent.
    #[error("metric path {path:?}: {segment:?} is already a value")]
    UnderAValue {
        /// The path.
        path: Vec<String>,
        /// The segment that holds a value.
        segment: String,
    },
    /// The same path twice, or a value where a parent is.
    #[error("metric path {0:?} given twice (or is also a parent)")]
    Twice(Vec<String>),
}

/// Builds the nested data map, or says what is malformed.
pub fn nest(metrics: Vec<(Vec<String>, Scalar)>) -> Result<Map<String, Value>, Malformed> {
    if metrics.len() > MAX_METRICS {
        return Err(Malformed::TooMany(metrics.len()));
    }
    let mut root = Map::new();
    for (path, value) in metrics {
        if path.is_empty() || path.len() > MAX_DEPTH {
            return Err(Malformed::Depth(path));
        }
        if let Some(bad) = path.iter().find(|s| s.is_empty() || s.len() > MAX_SEGMENT) {
            return Err(Malformed::Segment {
                segment: bad.clone(),
                path,
            });
        }
        let value = match value {
            Scalar::Int(i) => Value::from(i),
            Scalar::Uint(u) => Value::from(u),
            Scalar::Float(f) if f.is_finite() => Value::from(f),
            Scalar::Float(f) => {
                return Err(Malformed::NotFinite {
                    path: path.join("."),
                    value: f,
                });
            }
            Scalar::Text(t) => Value::String(t.chars().take(4096).collect()),
            Scalar::Bool(b) => Value::Bool(b),
        };
        let Some((last, parents)) = path.split_last() else {
            return Err(Malformed::Depth(path));
        };
        let mut node = &mut root;
        for segment in parents {
            let child = node
                .entry(segment.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            node = child
                .as_object_mut()
                .ok_or_else(|| Malformed::UnderAValue {
                    path: path.clone(),
                    segment: segment.clone(),
                })?;
        }
        if node.contains_key(last) {
            return Err(Malformed::Twice(path.clone()));
        }
        node.insert(last.clone(), value);
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn nests_and_refuses_malformed_reports() {
        let data = nest(vec![
            (p(&["partitions", "/", "percent"]), Scalar::Float(40.5)),
            (
                p(&["partitions", "/", "fstype"]),
                Scalar::Text("ext4".into()),
            ),
            (p(&["ok"]), Scalar::Bool(true)),
            (p(&["n"]), Scalar::Int(3)),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(data),
            serde_json::json!({"partitions": {"/": {"percent": 40.5, "fstype": "ext4"}}, "ok": true, "n": 3})
        );
        let bad: Vec<Vec<(Vec<String>, Scalar)>> = vec![
            vec![(vec![], Scalar::Int(1))],
            vec![(p(&[""]), Scalar::Int(1))],
            vec![(p(&["x"]), Scalar::Float(f64::NAN))],
            vec![
                (p(&["a"]), Scalar::Int(1)),
                (p(&["a", "b"]), Scalar::Int(2)),
            ],
            vec![
                (p(&["a", "b"]), Scalar::Int(1)),
                (p(&["a"]), Scalar::Int(2)),
            ],
            vec![(p(&["a"]), Scalar::Int(1)), (p(&["a"]), Scalar::Int(2))],
        ];
        for metrics in bad {
            assert!(nest(metrics.clone()).is_err(), "{metrics:?}");
        }
    }
}
