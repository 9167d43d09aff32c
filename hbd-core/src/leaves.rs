//! A plugin report's numbers by dotted path, as charts, `/metrics` and downsampling
//! read them.

use serde_json::{Map, Value};

/// Numeric leaves of a report as `(dotted path, value)`: `partitions./.percent`,
/// `per_core.0`; booleans count as 0 and 1, everything else is skipped.
pub fn numeric_leaves(data: &Map<String, Value>) -> Vec<(String, f64)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
        match v {
            Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    out.push((prefix.to_owned(), f));
                }
            }
            Value::Bool(b) => out.push((prefix.to_owned(), f64::from(u8::from(*b)))),
            Value::Object(m) => {
                for (k, child) in m {
                    walk(&format!("{prefix}.{k}"), child, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{prefix}.{i}"), child, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in data {
        walk(k, v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_use_dotted_paths() {
        let data = json!({
            "cpu_percent": 12.5,
            "partitions": {"/": {"percent": 40, "fstype": "ext4"}},
            "per_core": [1.0, 2.0],
            "up": true,
        });
        let leaves = numeric_leaves(data.as_object().unwrap());
        assert_eq!(
            leaves,
            [
                ("cpu_percent".to_owned(), 12.5),
                ("partitions./.percent".to_owned(), 40.0),
                ("per_core.0".to_owned(), 1.0),
                ("per_core.1".to_owned(), 2.0),
                ("up".to_owned(), 1.0),
            ]
        );
    }
}
