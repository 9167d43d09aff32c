//! The `thresholds` tree of the config and its profiles, turned into one rule per metric
//! path for each host.
//!
//! A node with any of `warning`, `critical`, `operator`, `hysteresis` is a rule; any
//! other mapping nests: `disk_monitor: partitions: /: percent: {warning: 80}` is the rule
//! for `data.partitions["/"].percent` of `disk_monitor` reports, shown as
//! `disk_monitor./.percent` (collection levels such as `partitions` are left out of the
//! shown path; `hb_proto::catalogue` says which keys are collections). `rtt: HOST: {...}` is the rule for the heartbeat round trip of HOST.
//! Profiles (`threshold_configs`) layer over the defaults field by field, left to right;
//! `null` removes a field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::rule::{Operator, Rule};

const RULE_KEYS: &[&str] = &["warning", "critical", "operator", "hysteresis", "for"];

/// A rule as one layer states it: `None` not mentioned, `Some(None)` removed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Layer {
    warning: Option<Option<f64>>,
    critical: Option<Option<f64>>,
    operator: Option<Operator>,
    hysteresis: Option<f64>,
    pending: Option<std::time::Duration>,
}

/// Rules by key path (plugin first, then the keys inside its data).
pub type Rules = BTreeMap<Vec<String>, Rule>;

/// One layer of rules (the defaults or one profile).
pub type Layers = BTreeMap<Vec<String>, Layer>;

/// A problem in a thresholds tree: the key path and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// Keys from the tree's root.
    pub path: Vec<String>,
    /// What is wrong.
    pub message: String,
}

/// Parses a thresholds tree (a JSON object) into layers, collecting every problem.
pub fn parse_layers(tree: &Value) -> Result<Layers, Vec<RuleError>> {
    let mut out = Layers::new();
    let mut errors = Vec::new();
    if let Some(map) = tree.as_object() {
        // A profile may wrap its rules in `thresholds:`.
        let map = match map.get("thresholds") {
            Some(Value::Object(inner)) if map.len() == 1 => inner,
            _ => map,
        };
        for (k, v) in map {
            walk(v, vec![k.clone()], &mut out, &mut errors);
        }
    } else if !tree.is_null() {
        errors.push(RuleError {
            path: vec![],
            message: "expected a mapping of plugins".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn walk(v: &Value, path: Vec<String>, out: &mut Layers, errors: &mut Vec<RuleError>) {
    let Value::Object(map) = v else {
        errors.push(RuleError {
            path,
            message:
                "expected a mapping (a nested metric or {warning, critical, operator, hysteresis})"
                    .into(),
        });
        return;
    };
    if map.keys().any(|k| RULE_KEYS.contains(&k.as_str())) {
        match layer(map) {
            Ok(l) => {
                out.insert(path, l);
            }
            Err(messages) => errors.extend(messages.into_iter().map(|message| RuleError {
                path: path.clone(),
                message,
            })),
        }
        return;
    }
    for (k, child) in map {
        let mut p = path.clone();
        p.push(k.clone());
        walk(child, p, out, errors);
    }
}

/// One rule's fields; every bad field is reported, not only the first.
fn layer(map: &Map<String, Value>) -> Result<Layer, Vec<String>> {
    let mut l = Layer::default();
    let mut errors = Vec::new();
    for (k, v) in map {
        match k.as_str() {
            "warning" | "critical" => {
                let n = match v {
                    Value::Null => None,
                    Value::Number(n) => match n.as_f64() {
                        Some(n) => Some(n),
                        None => {
                            errors.push(format!("{k}: threshold out of range"));
                            continue;
                        }
                    },
                    other => {
                        errors.push(format!("{k}: expected a number, found {other}"));
                        continue;
                    }
                };
                if k == "warning" {
                    l.warning = Some(n);
                } else {
                    l.critical = Some(n);
                }
            }
            "operator" => match v.as_str().map(|s| (s, Operator::parse(s))) {
                Some((_, Some(op))) => l.operator = Some(op),
                Some((s, None)) => errors.push(format!(
                    "operator: expected one of > >= < <= == !=, found {s:?}"
                )),
                None => errors.push(format!(
                    "operator: expected one of > >= < <= == !=, found {v}"
                )),
            },
            "hysteresis" => match v.as_f64().filter(|h| (0.0..1.0).contains(h)) {
                Some(h) => l.hysteresis = Some(h),
                None => errors.push(format!(
                    "hysteresis: expected a fraction from 0 to below 1 (0.1 = 10 %), found {v}"
                )),
            },
            "for" => {
                let d = match v {
                    Value::Number(n) => n
                        .as_f64()
                        .filter(|s| s.is_finite() && (0.0..1e9).contains(s))
                        .map(std::time::Duration::from_secs_f64),
                    Value::String(s) => humantime::parse_duration(s.trim()).ok(),
                    _ => None,
                };
                match d {
                    Some(d) => l.pending = Some(d),
                    None => errors.push(format!(
                        "for: expected seconds or a duration such as 5m, found {v}"
                    )),
                }
            }
            other => errors.push(format!(
                "unknown rule key {other:?}; a rule has warning, critical, operator, hysteresis, for"
            )),
        }
    }
    if errors.is_empty() {
        Ok(l)
    } else {
        Err(errors)
    }
}

/// Applies layers left to right (defaults first), field by field.
pub fn merge(layers: &[&Layers]) -> Rules {
    let mut merged: BTreeMap<Vec<String>, Layer> = BTreeMap::new();
    for layers in layers {
        for (path, l) in *layers {
            let m = merged.entry(path.clone()).or_default();
            if l.warning.is_some() {
                m.warning = l.warning;
            }
            if l.critical.is_some() {
                m.critical = l.critical;
            }
            if l.operator.is_some() {
                m.operator = l.operator;
            }
            if l.hysteresis.is_some() {
                m.hysteresis = l.hysteresis;
            }
            if l.pending.is_some() {
                m.pending = l.pending;
            }
        }
    }
    merged
        .into_iter()
        .map(|(path, l)| {
            let rule = Rule {
                warning: l.warning.flatten(),
                critical: l.critical.flatten(),
                operator: l.operator.unwrap_or_default(),
                hysteresis: l.hysteresis.unwrap_or(0.0),
                pending: l.pending.unwrap_or_default(),
            };
            (path, rule)
        })
        .filter(|(_, r)| r.warning.is_some() || r.critical.is_some())
        .collect()
}

/// The shown metric path: `disk_monitor./.percent`, `cpu_monitor.cpu_percent`, `rtt.web1`.
pub fn display_path(keys: &[String]) -> String {
    let mut parts: Vec<&str> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        if i == 1 && keys.len() > 2 && hb_proto::catalogue::is_collection(k) {
            continue;
        }
        parts.push(k);
    }
    parts.join(".")
}

/// The number at `keys` inside a report's data.
pub fn lookup(data: &Map<String, Value>, keys: &[String]) -> Option<f64> {
    let (first, rest) = keys.split_first()?;
    let mut v = data.get(first)?;
    for k in rest {
        v = match v {
            Value::Object(m) => m.get(k)?,
            Value::Array(a) => a.get(k.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn nested_rules_and_display_paths() {
        let tree = json!({
            "cpu_monitor": {"cpu_percent": {"warning": 80, "critical": 95, "hysteresis": 0.1}},
            "disk_monitor": {"partitions": {"/": {"percent": {"warning": 80, "critical": 90}}}},
            "rtt": {"web1": {"warning": 100, "critical": 500}},
        });
        let rules = merge(&[&parse_layers(&tree).unwrap()]);
        assert_eq!(rules.len(), 3);
        let disk = keys(&["disk_monitor", "partitions", "/", "percent"]);
        assert_eq!(rules[&disk].critical, Some(90.0));
        assert_eq!(display_path(&disk), "disk_monitor./.percent");
        assert_eq!(
            display_path(&keys(&["cpu_monitor", "cpu_percent"])),
            "cpu_monitor.cpu_percent"
        );
        assert_eq!(display_path(&keys(&["rtt", "web1"])), "rtt.web1");
        let data = json!({"partitions": {"/": {"percent": 91.5}}});
        assert_eq!(lookup(data.as_object().unwrap(), &disk[1..]), Some(91.5));
    }

    #[test]
    fn profiles_layer_field_by_field() {
        let defaults = parse_layers(&json!({
            "cpu_monitor": {"cpu_percent": {"warning": 80, "critical": 95}, "load_1min": {"warning": 4}},
        }))
        .unwrap();
        let busy =
            parse_layers(&json!({"thresholds": {"cpu_monitor": {"cpu_percent": {"warning": 90}}}}))
                .unwrap();
        let quiet = parse_layers(&json!({"cpu_monitor": {"cpu_percent": {"critical": null}, "load_1min": {"warning": 8}}})).unwrap();
        let rules = merge(&[&defaults, &busy, &quiet]);
        let cpu = &rules[&keys(&["cpu_monitor", "cpu_percent"])];
        assert_eq!((cpu.warning, cpu.critical), (Some(90.0), None));
        assert_eq!(
            rules[&keys(&["cpu_monitor", "load_1min"])].warning,
            Some(8.0)
        );
        // Not mentioned by any profile: inherited.
        let only_defaults = merge(&[&defaults, &busy]);
        assert_eq!(
            only_defaults[&keys(&["cpu_monitor", "cpu_percent"])].critical,
            Some(95.0)
        );
    }

    #[test]
    fn bad_rules_are_all_reported() {
        let errors = parse_layers(&json!({
            "cpu_monitor": {"cpu_percent": {"warning": "high"}, "load_1min": {"operator": "=>", "warning": 1}},
            "memory_monitor": {"percent": {"warning": 80, "hysteresis": 10}},
            "disk_monitor": 5,
            "x": {"y": {"warning": 1, "critcal": 2}},
            "both": {"bad": {"warning": "high", "operator": "=>"}},
        }))
        .unwrap_err();
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.path.join("."), e.message))
            .collect();
        assert_eq!(messages.len(), 7, "{messages:#?}");
        // Every problem of one rule, not only the first.
        assert!(messages.contains(&"both.bad: warning: expected a number, found \"high\"".into()));
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("both.bad: operator: expected one of"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("cpu_monitor.cpu_percent: warning: expected a number"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("cpu_monitor.load_1min: operator:"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("memory_monitor.percent: hysteresis:"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("disk_monitor: expected a mapping"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown rule key \"critcal\""))
        );
    }
}
