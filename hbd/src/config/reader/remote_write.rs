//! The `remote_write` section: metric history out to a Prometheus remote_write
//! receiver, read into its validated form, every problem reported with its line.

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::keys::KeySpec;
use super::{Reader, set};
use crate::remote_write::Settings as RemoteWriteSettings;

/// Keys of `remote_write`; each needs a restart (the sender starts with the daemon).
pub(in crate::config) static REMOTE_WRITE: &[KeySpec<RemoteWriteSettings>] = &[
    KeySpec {
        name: "url",
        reload: Reload::Restart(|a, b| a.url == b.url),
        read: |r, s, p, v| set(&mut s.url, r.secret(p, v, Reader::http_url)),
    },
    KeySpec {
        name: "external_labels",
        reload: Reload::Restart(|a, b| a.external_labels == b.external_labels),
        read: |r, s, p, v| {
            let Some(labels) = r.mapping(p, v) else {
                return;
            };
            for (name, value) in labels {
                let (Some(name), Some(value)) = (name.as_str(), value.as_str()) else {
                    r.error(p, "expected label names with string values");
                    continue;
                };
                if !crate::remote_write::series::valid_name(name) || name.starts_with("__") {
                    r.error(
                        p,
                        format!("{name:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"),
                    );
                } else if ["host", "item", "index", "path", "metric"].contains(&name) {
                    r.error(p, format!("{name:?} is a label hbd sets itself"));
                } else {
                    s.external_labels.push((name.to_owned(), value.to_owned()));
                }
            }
            s.external_labels.sort();
        },
    },
    KeySpec {
        name: "max_samples",
        reload: Reload::Restart(|a, b| a.max_samples == b.max_samples),
        read: |r, s, p, v| {
            set(
                &mut s.max_samples,
                r.uint(p, v, 1000, 100_000_000).map(|n| n as usize),
            )
        },
    },
    KeySpec {
        name: "batch",
        reload: Reload::Restart(|a, b| a.batch == b.batch),
        read: |r, s, p, v| set(&mut s.batch, r.uint(p, v, 1, 100_000).map(|n| n as usize)),
    },
    KeySpec {
        name: "flush_interval",
        reload: Reload::Restart(|a, b| a.flush_interval == b.flush_interval),
        read: |r, s, p, v| set(&mut s.flush_interval, r.positive_span(p, v)),
    },
    KeySpec {
        name: "max_backoff",
        reload: Reload::Restart(|a, b| a.max_backoff == b.max_backoff),
        read: |r, s, p, v| set(&mut s.max_backoff, r.positive_span(p, v)),
    },
    KeySpec {
        name: "timeout",
        reload: Reload::Restart(|a, b| a.timeout == b.timeout),
        read: |r, s, p, v| set(&mut s.timeout, r.positive_span(p, v)),
    },
    // A bad URL is reported (and refuses the config); an empty one is none.
    KeySpec {
        name: "query_url",
        reload: Reload::Restart(|a, b| a.query_url == b.query_url),
        read: |r, s, p, v| {
            s.query_url = r.http_url(p, v).map(|u| u.trim_end_matches('/').to_owned())
        },
    },
    KeySpec {
        name: "shards",
        reload: Reload::Restart(|a, b| a.shards == b.shards),
        read: |r, s, p, v| set(&mut s.shards, r.uint(p, v, 1, 64).map(|n| n as usize)),
    },
];

impl Reader {
    pub(super) fn remote_write(&mut self, v: &Value) -> Option<RemoteWriteSettings> {
        let map = self.section("remote_write", v, &["url"])?;
        let mut s = RemoteWriteSettings::default();
        read_map(self, REMOTE_WRITE, &mut s, &["remote_write"], map).then_some(s)
    }
}
