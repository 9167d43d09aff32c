//! Keeps a plugin report within the datagram limit: while the encoded report is too
//! large, the biggest piece of per-item detail is replaced by a marker saying what was
//! cut. Deeper containers go first (one interface, one check's perfdata), then whole
//! sections, then long strings are shortened.

use serde_json::{Map, Value, json};

/// Longest string kept once trimming has started.
pub const TRIMMED_STRING: usize = 256;

/// Trims `data` until `fits(data)` holds or nothing is left to trim. Returns the dotted
/// paths of what was trimmed.
pub fn trim_to_fit(
    data: &mut Map<String, Value>,
    mut fits: impl FnMut(&Map<String, Value>) -> bool,
) -> Vec<String> {
    let mut trimmed = Vec::new();
    while !fits(data) {
        let mut best: Option<(usize, usize, Vec<String>)> = None; // (depth, size, path)
        for (k, v) in data.iter() {
            find_largest(v, vec![k.clone()], 1, &mut best);
        }
        let Some((_, _, path)) = best else { break };
        if let Some(slot) = lookup(data, &path) {
            let replacement = match &*slot {
                Value::String(s) => {
                    let mut end = TRIMMED_STRING.min(s.len());
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    Value::String(format!("{}...[trimmed {} bytes]", &s[..end], s.len() - end))
                }
                Value::Array(a) => json!({ "trimmed": true, "items": a.len() }),
                Value::Object(m) => json!({ "trimmed": true, "items": m.len() }),
                other => other.clone(),
            };
            *slot = replacement;
        }
        trimmed.push(path.join("."));
    }
    trimmed
}

fn is_marker(v: &Value) -> bool {
    v.get("trimmed") == Some(&Value::Bool(true))
}

fn find_largest(
    v: &Value,
    path: Vec<String>,
    depth: usize,
    best: &mut Option<(usize, usize, Vec<String>)>,
) {
    let candidate = match v {
        Value::Object(m) if !m.is_empty() && !is_marker(v) => true,
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => s.len() > TRIMMED_STRING + 32,
        _ => false,
    };
    if candidate {
        // Strings rank below containers: shorten text only when no detail is left.
        let depth_rank = if v.is_string() { 0 } else { depth };
        let size = serde_json::to_vec(v).map_or(0, |b| b.len());
        let better = match best {
            None => true,
            Some((d, s, _)) => (depth_rank, size) > (*d, *s),
        };
        if better {
            *best = Some((depth_rank, size, path.clone()));
        }
    }
    match v {
        Value::Object(m) if !is_marker(v) => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(k.clone());
                find_largest(child, p, depth + 1, best);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let mut p = path.clone();
                p.push(i.to_string());
                find_largest(child, p, depth + 1, best);
            }
        }
        _ => {}
    }
}

fn lookup<'a>(data: &'a mut Map<String, Value>, path: &[String]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let mut v = data.get_mut(first)?;
    for key in rest {
        v = match v {
            Value::Object(m) => m.get_mut(key)?,
            Value::Array(a) => a.get_mut(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(m: &Map<String, Value>) -> usize {
        serde_json::to_vec(m).unwrap().len()
    }

    #[test]
    fn trims_deepest_detail_first_until_it_fits() {
        let mut data = serde_json::from_value::<Map<String, Value>>(json!({
            "errors_total": 3,
            "interfaces": {
                "eth0": {"rx_bytes": 1, "detail": "x".repeat(500)},
                "eth1": {"rx_bytes": 2, "detail": "y".repeat(2000)},
            },
        }))
        .unwrap();
        let trimmed = trim_to_fit(&mut data, |m| size(m) < 1000);
        assert_eq!(trimmed, ["interfaces.eth1"]);
        assert_eq!(
            data["interfaces"]["eth1"],
            json!({"trimmed": true, "items": 2})
        );
        assert_eq!(data["interfaces"]["eth0"]["rx_bytes"], 1);
        assert_eq!(data["errors_total"], 3);
    }

    #[test]
    fn shortens_strings_when_no_detail_is_left() {
        let mut data =
            serde_json::from_value::<Map<String, Value>>(json!({"text": "z".repeat(5000)}))
                .unwrap();
        let trimmed = trim_to_fit(&mut data, |m| size(m) < 1000);
        assert_eq!(trimmed, ["text"]);
        assert!(
            data["text"]
                .as_str()
                .unwrap()
                .ends_with("...[trimmed 4744 bytes]")
        );
    }

    #[test]
    fn gives_up_when_nothing_is_left() {
        let mut data = serde_json::from_value::<Map<String, Value>>(json!({"a": 1})).unwrap();
        assert!(trim_to_fit(&mut data, |_| false).is_empty());
    }
}
