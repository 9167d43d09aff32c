//! Keeps a plugin report within the datagram limit: while the encoded report is too
//! large, the biggest piece of per-item detail is replaced by a marker saying what was
//! cut. Deeper containers go first (one interface, one check's perfdata), then whole
//! sections, then long strings are shortened.

use serde_json::{Map, Value, json};

/// Longest string kept once trimming has started.
pub const TRIMMED_STRING: usize = 256;

/// Trims `data` until `encoded_len(data) <= limit` or nothing is left to trim. Returns
/// the dotted paths of what was trimmed.
///
/// The first round trims a small sample of the deepest detail (largest first) and
/// measures how much each trimmed item saves on the wire; later rounds trim as many items
/// as that rate says are needed (plus 10 %). Thousands of items take a handful of
/// encodes, not one per item, and little more than necessary is cut.
pub fn trim_to_fit(
    data: &mut Map<String, Value>,
    limit: usize,
    mut encoded_len: impl FnMut(&Map<String, Value>) -> usize,
) -> Vec<String> {
    let mut trimmed = Vec::new();
    let mut len = encoded_len(data);
    let mut saving_per_item: Option<f64> = None;
    while len > limit {
        let mut candidates = Vec::new();
        for (k, v) in data.iter() {
            collect_candidates(v, vec![k.clone()], 1, &mut candidates);
        }
        let Some(deepest) = candidates.iter().map(|c| c.0).max() else {
            break;
        };
        let mut level: Vec<(usize, usize, Vec<String>)> =
            candidates.into_iter().filter(|c| c.0 == deepest).collect();
        level.sort_by_key(|c| std::cmp::Reverse(c.1));
        let count = match saving_per_item {
            Some(per) if per > 0.0 => ((len - limit) as f64 / per * 1.1).ceil() as usize,
            _ => level.len().div_ceil(20),
        }
        .clamp(1, level.len());
        for (_, _, path) in level.into_iter().take(count) {
            if let Some(slot) = lookup(data, &path) {
                *slot = marker(slot);
                trimmed.push(path.join("."));
            }
        }
        let new_len = encoded_len(data);
        if new_len < len {
            saving_per_item = Some((len - new_len) as f64 / count as f64);
        }
        len = new_len;
    }
    trimmed
}

fn marker(v: &Value) -> Value {
    match v {
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
    }
}

fn is_marker(v: &Value) -> bool {
    v.get("trimmed") == Some(&Value::Bool(true))
}

/// Lists every trimmable piece as (depth rank, JSON size, path): non-empty containers
/// by depth, long strings at rank 0 (shortened only when no detail is left).
fn collect_candidates(
    v: &Value,
    path: Vec<String>,
    depth: usize,
    out: &mut Vec<(usize, usize, Vec<String>)>,
) {
    let candidate = match v {
        Value::Object(m) => !m.is_empty() && !is_marker(v),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => s.len() > TRIMMED_STRING + 32,
        _ => false,
    };
    if candidate {
        let rank = if v.is_string() { 0 } else { depth };
        let size = serde_json::to_vec(v).map_or(0, |b| b.len());
        out.push((rank, size, path.clone()));
    }
    match v {
        Value::Object(m) if !is_marker(v) => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(k.clone());
                collect_candidates(child, p, depth + 1, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let mut p = path.clone();
                p.push(i.to_string());
                collect_candidates(child, p, depth + 1, out);
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
        let trimmed = trim_to_fit(&mut data, 1000, size);
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
        let trimmed = trim_to_fit(&mut data, 1000, size);
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
        assert!(trim_to_fit(&mut data, 0, |_| usize::MAX).is_empty());
    }
}
