//! The `remote_write` section: metric history out to a Prometheus remote_write
//! receiver, read into its validated form, every problem reported with its line.

use serde_norway::Value;

use super::{Reader, set};
use crate::remote_write::Settings as RemoteWriteSettings;

/// Keys of `remote_write`.
pub const REMOTE_WRITE_KEYS: &[&str] = &[
    "url",
    "external_labels",
    "max_samples",
    "batch",
    "flush_interval",
    "max_backoff",
    "timeout",
    "query_url",
    "shards",
];

impl Reader<'_> {
    pub(super) fn remote_write(&mut self, v: &Value) -> Option<RemoteWriteSettings> {
        let map = self.section("remote_write", v, REMOTE_WRITE_KEYS, &["url"])?;
        let mut s = RemoteWriteSettings::default();
        let mut ok = true;
        for (k, v) in map {
            let Some(key) = k.as_str() else { continue };
            let p = ["remote_write", key];
            match key {
                "url" => match self.url("remote_write", map, key) {
                    Some(u) => s.url = u,
                    None => ok = false,
                },
                "external_labels" => {
                    let Some(labels) = self.mapping(&p, v) else {
                        continue;
                    };
                    for (name, value) in labels {
                        let (Some(name), Some(value)) = (name.as_str(), value.as_str()) else {
                            self.error(&p, "expected label names with string values");
                            ok = false;
                            continue;
                        };
                        if !crate::remote_write::series::valid_name(name) || name.starts_with("__")
                        {
                            self.error(
                                &p,
                                format!("{name:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"),
                            );
                            ok = false;
                        } else if ["host", "item", "index", "path", "metric"].contains(&name) {
                            self.error(&p, format!("{name:?} is a label hbd sets itself"));
                            ok = false;
                        } else {
                            s.external_labels.push((name.to_owned(), value.to_owned()));
                        }
                    }
                    s.external_labels.sort();
                }
                // A bad URL is reported (and refuses the config); an empty one is none.
                "query_url" => {
                    s.query_url = self
                        .url("remote_write", map, key)
                        .map(|u| u.trim_end_matches('/').to_owned());
                }
                "max_samples" => set(
                    &mut s.max_samples,
                    self.uint(&p, v, 1000, 100_000_000).map(|n| n as usize),
                ),
                "batch" => set(
                    &mut s.batch,
                    self.uint(&p, v, 1, 100_000).map(|n| n as usize),
                ),
                "flush_interval" => set(
                    &mut s.flush_interval,
                    self.span(&p, v).filter(|d| !d.is_zero()),
                ),
                "max_backoff" => set(
                    &mut s.max_backoff,
                    self.span(&p, v).filter(|d| !d.is_zero()),
                ),
                "timeout" => set(&mut s.timeout, self.span(&p, v).filter(|d| !d.is_zero())),
                "shards" => set(&mut s.shards, self.uint(&p, v, 1, 64).map(|n| n as usize)),
                _ => {}
            }
        }
        ok.then_some(s)
    }
}
