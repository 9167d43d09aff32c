//! Plugin reports as the daemon keeps them: the latest report of every plugin per host
//! in memory (shared by the engine, the API and `/metrics`), with every sample also
//! written to the store's bounded history.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use hb_proto::{PluginKind, PluginReport, Status};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
pub use hbd_core::leaves::numeric_leaves;

/// One stored plugin report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// The host.
    pub host: String,
    /// The plugin.
    pub plugin: String,
    /// Info or monitor.
    pub kind: PluginKind,
    /// When the daemon received it.
    pub received: Timestamp,
    /// The plugin's verdict.
    pub status: Option<Status>,
    /// Collection time on the agent.
    pub duration_ms: Option<f64>,
    /// The metrics.
    pub data: Map<String, Value>,
}

impl Sample {
    /// A sample from a `PLG` message received at `at`.
    pub fn from_report(report: PluginReport, at: Timestamp) -> Sample {
        Sample {
            host: report.name,
            plugin: report.plugin,
            kind: report.kind,
            received: at,
            status: report.status,
            duration_ms: report.duration_ms,
            data: report.data,
        }
    }
}

/// Host name -> plugin name -> latest sample.
type ByHost = HashMap<String, BTreeMap<String, Arc<Sample>>>;

/// Latest sample per host and plugin. Writers (the engine) hold the lock only to swap an
/// `Arc`; readers clone `Arc`s and work outside the lock.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    inner: Arc<RwLock<ByHost>>,
}

impl Latest {
    /// Records a sample as its host's and plugin's latest.
    pub fn insert(&self, sample: Arc<Sample>) {
        if let Ok(mut map) = self.inner.write() {
            map.entry(sample.host.clone())
                .or_default()
                .insert(sample.plugin.clone(), sample);
        }
    }

    /// Forgets every sample of `host` (it was dropped).
    pub fn remove_host(&self, host: &str) {
        if let Ok(mut map) = self.inner.write() {
            map.remove(host);
        }
    }

    /// Every plugin's latest sample for `host`.
    pub fn for_host(&self, host: &str) -> BTreeMap<String, Arc<Sample>> {
        self.inner
            .read()
            .ok()
            .and_then(|m| m.get(host).cloned())
            .unwrap_or_default()
    }

    /// One plugin's latest sample for `host`.
    pub fn get(&self, host: &str, plugin: &str) -> Option<Arc<Sample>> {
        self.inner.read().ok()?.get(host)?.get(plugin).cloned()
    }

    /// Every latest sample, sorted by host then plugin.
    pub fn all(&self) -> Vec<Arc<Sample>> {
        let Ok(map) = self.inner.read() else {
            return Vec::new();
        };
        let mut hosts: Vec<&String> = map.keys().collect();
        hosts.sort();
        hosts
            .into_iter()
            .flat_map(|h| map[h].values().cloned())
            .collect()
    }
}
