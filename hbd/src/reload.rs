//! Configuration reload (`SIGHUP`, `POST /api/0/config/reload`): re-read the file,
//! validate all of it with the same validator as `hbd check-config`, and only if it is
//! clean hand it to the engine, which puts it in force without losing host or alert
//! state. On any error the running configuration stays and every problem is reported.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::config::{self, Severity, SharedConfig};
use crate::engine::control::Reconfigure;

/// How long a reload waits for the engine to take the new config.
pub const ENGINE_WAIT: Duration = Duration::from_secs(5);

/// What a successful reload says.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    /// The file read (`null`: built-in defaults).
    #[schema(value_type = Option<String>)]
    pub source: Option<PathBuf>,
    /// Warnings found on the way, as `file:line: warning: key: message`.
    pub warnings: Vec<String>,
    /// Changed keys that take effect only after a restart.
    pub restart_needed: Vec<&'static str>,
    /// What changed in which signed plugins run where, one line each
    /// (`groups.web.plugins.log_freshness: 1.2.0 -> 1.3.0`).
    pub plugin_changes: Vec<String>,
}

/// Why a reload did not happen; the running configuration is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReloadError {
    /// The new configuration has errors (every problem, errors and warnings).
    #[error("configuration refused, the running one stays:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
    /// The engine did not take it (stopping or stuck).
    #[error("the engine did not take the new configuration: {0}")]
    Engine(String),
}

/// Reloads the config file the daemon was started with.
#[derive(Debug, Clone)]
pub struct Reloader {
    path: Option<PathBuf>,
    shared: SharedConfig,
    engine: mpsc::Sender<Reconfigure>,
    reloads: Arc<tokio::sync::watch::Sender<u64>>,
    record: Option<crate::store::changes::ChangeLog>,
    /// Held while a new configuration is made from the one in force and put in force,
    /// so a reload and an enrolment never undo each other.
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

/// Loads the configuration as the daemon does (at start, on reload, for `check-config`):
/// when a threshold names a plugin that is not built in, the store (`state_db`, if it
/// exists) says which plugins agents have reported, and thresholds on those (WASM
/// plugins) draw no "no known plugin" warning.
pub fn load(path: Option<&std::path::Path>) -> Result<config::Loaded, config::ConfigError> {
    let loaded = config::load(path)?;
    let unknown_plugin = loaded
        .warnings
        .iter()
        .any(|w| w.message.contains("is not a built-in plugin"));
    if !unknown_plugin || !loaded.config.state_db.is_file() {
        return Ok(loaded);
    }
    match crate::store::Reader::open(&loaded.config.state_db)
        .map_err(|e| e.to_string())
        .and_then(|r| r.reported_plugins().map_err(|e| e.to_string()))
    {
        Ok(reported) => config::load_knowing(path, &reported),
        Err(error) => {
            tracing::debug!(%error, "the store could not say which plugins agents report");
            Ok(loaded)
        }
    }
}

impl Reloader {
    /// A reloader for `path` (`None`: built-in defaults, so a reload changes nothing).
    pub fn new(
        path: Option<PathBuf>,
        shared: SharedConfig,
        engine: mpsc::Sender<Reconfigure>,
    ) -> Self {
        Reloader {
            path,
            shared,
            engine,
            reloads: Arc::new(tokio::sync::watch::Sender::new(0)),
            record: None,
            one_at_a_time: Arc::default(),
        }
    }

    /// Puts `enrolled` in force, with the configuration otherwise as it is.
    pub async fn put_enrolled(
        &self,
        enrolled: Arc<crate::config::enrolled::Enrolled>,
    ) -> Result<(), ReloadError> {
        let _one = self.one_at_a_time.lock().await;
        let config = crate::config::Config {
            enrolled,
            ..(*self.shared.get()).clone()
        };
        self.put_in_force(config).await
    }

    /// Puts the rollouts' splits in force: each one that is still the rollout in force
    /// (a reload meanwhile may have started another, which stays).
    pub async fn put_rollouts(
        &self,
        splits: Arc<std::collections::BTreeMap<String, hbd_core::rollout::Split>>,
    ) -> Result<(), ReloadError> {
        let _one = self.one_at_a_time.lock().await;
        let current = self.shared.get();
        let merged: std::collections::BTreeMap<_, _> = current
            .rollouts
            .iter()
            .map(|(group, split)| {
                let newer = splits
                    .get(group)
                    .filter(|s| s.started == split.started)
                    .unwrap_or(split);
                (group.clone(), newer.clone())
            })
            .collect();
        if merged == *current.rollouts {
            return Ok(());
        }
        let config = crate::config::Config {
            rollouts: Arc::new(merged),
            ..(*current).clone()
        };
        self.put_in_force(config).await
    }

    /// Puts the hosts' own plugins `hosts` in force, with the configuration otherwise
    /// as it is.
    pub async fn put_host_plugins(
        &self,
        hosts: Arc<std::collections::BTreeMap<String, hbd_core::managed::HostOwn>>,
    ) -> Result<(), ReloadError> {
        let _one = self.one_at_a_time.lock().await;
        let config = crate::config::Config {
            host_plugins: hosts,
            ..(*self.shared.get()).clone()
        };
        self.put_in_force(config).await
    }

    async fn put_in_force(&self, config: crate::config::Config) -> Result<(), ReloadError> {
        let (tx, rx) = oneshot::channel();
        self.engine
            .send_timeout(Reconfigure(Arc::new(config), tx), ENGINE_WAIT)
            .await
            .map_err(|e| ReloadError::Engine(e.to_string()))?;
        tokio::time::timeout(ENGINE_WAIT, rx)
            .await
            .map_err(|_| ReloadError::Engine("no answer within 5 s".into()))?
            .map_err(|_| ReloadError::Engine("stopping".into()))?
            .map_err(|e| ReloadError::Engine(e.to_string()))
    }

    /// Keeps each change to what runs where in `record`.
    pub fn with_record(self, record: crate::store::changes::ChangeLog) -> Self {
        Reloader {
            record: Some(record),
            ..self
        }
    }

    /// The record of changes to what runs where, when one is kept.
    pub fn record(&self) -> Option<&crate::store::changes::ChangeLog> {
        self.record.as_ref()
    }

    /// Counts reloads put in force: what re-reads files (TLS certificates) waits on.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// Reads, validates and (if clean) applies the configuration; `by` (a user's name,
    /// or `SIGHUP`) is logged with what it changed in the plugins run.
    pub async fn reload(&self, by: &str) -> Result<Reloaded, ReloadError> {
        let path = self.path.clone();
        let loaded = tokio::task::spawn_blocking(move || load(path.as_deref()))
            .await
            .map_err(|e| ReloadError::Engine(e.to_string()))?;
        let loaded = loaded.map_err(|e| {
            let errors = e
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            tracing::error!(errors, "configuration reload refused");
            for p in &e.problems {
                tracing::error!("{p}");
            }
            ReloadError::Invalid(e.problems.iter().map(ToString::to_string).collect())
        })?;
        let one = self.one_at_a_time.lock().await;
        let mut config = loaded.config;
        let current = self.shared.get();
        // Enrolled keys and the hosts' own plugins are not in the file: they stay.
        config.enrolled = current.enrolled.clone();
        config.host_plugins = current.host_plugins.clone();
        // A change to what a group with `rollout` gives starts its rollout.
        config.rollouts = Arc::new(crate::fleet::splits::splits_after(
            &current,
            &config,
            crate::clock::Timestamp::now(),
        ));
        let restart_needed = current.restart_needed(&config);
        let plugin_changes = crate::fleet::changes::between(&current, &config);
        if !restart_needed.is_empty() {
            tracing::warn!(keys = ?restart_needed, "changed settings take effect after a restart");
        }
        self.put_in_force(config).await?;
        drop(one);
        self.reloads.send_modify(|n| *n += 1);
        for change in &plugin_changes {
            tracing::info!(by, %change, "managed plugins changed");
        }
        if let Some(record) = self.record.clone()
            && !plugin_changes.is_empty()
        {
            // A reload changes what groups give: its lines name no host.
            let what: Vec<crate::store::changes::Line> = plugin_changes
                .iter()
                .map(crate::store::changes::Line::general)
                .collect();
            let who = by.to_owned();
            let at = crate::clock::Timestamp::now();
            let kept = tokio::task::spawn_blocking(move || record.record(at, &who, &what)).await;
            match kept {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "changes to managed plugins not recorded")
                }
                Err(error) => tracing::error!(%error, "changes to managed plugins not recorded"),
            }
        }
        Ok(Reloaded {
            source: self.path.clone(),
            warnings: loaded.warnings.iter().map(ToString::to_string).collect(),
            restart_needed,
            plugin_changes,
        })
    }
}

/// Reloads on every `SIGHUP` until the process ends.
/// Reloads on each SIGHUP; each reload, done or refused, is handed to `audit` (the
/// audit log and the journal) as the signal's change.
pub async fn on_sighup(
    reloader: Reloader,
    audit: impl Fn(crate::store::audit::Audited) + Clone + Send + 'static,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::error!("cannot install the SIGHUP handler; reload through the API");
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!(signal = "SIGHUP", "reloading the configuration");
        let (status, outcome) = match reloader.reload("SIGHUP").await {
            Ok(done) => {
                for w in &done.warnings {
                    tracing::warn!("{w}");
                }
                (200, serde_json::to_value(&done).unwrap_or_default())
            }
            Err(error) => {
                tracing::error!(%error, "reload failed");
                (422, serde_json::json!({ "error": error.to_string() }))
            }
        };
        let entry = crate::store::audit::Audited {
            at: crate::clock::Timestamp::now(),
            asked: crate::store::audit::Asked {
                user: "SIGHUP".into(),
                address: String::new(),
                kind: "reload".into(),
                method: "SIGHUP".into(),
                operation: "SIGHUP".into(),
                path: String::new(),
                host: None,
                status,
                // The signal asks nothing: what the reload did (or why not) is its after.
                request: serde_json::Value::Null,
                before: None,
                after: Some(outcome),
            },
        };
        let audit = audit.clone();
        // The audit log writes to the store: off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || audit(entry)).await;
    }
}

#[cfg(test)]
mod load_tests {
    use std::sync::Arc;

    use hb_proto::{PluginKind, Status};

    use crate::clock::Timestamp;
    use crate::samples::Sample;
    use crate::store::{Batch, Store};

    /// A threshold on a WASM plugin draws "no known plugin" until an agent has reported
    /// that plugin; then, as the daemon loads it (start, reload, check-config), none.
    #[test]
    fn a_threshold_on_a_plugin_agents_report_draws_no_warning() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let file = dir.path().join("hbd.yaml");
        std::fs::write(
            &file,
            format!(
                "state_db: {}\nthresholds:\n  log_freshness:\n    age_s: {{warning: 600}}\n",
                db.display()
            ),
        )
        .unwrap();
        let warned = |loaded: &crate::config::Loaded| {
            loaded
                .warnings
                .iter()
                .any(|w| w.key == "thresholds.log_freshness.age_s")
        };
        assert!(warned(&super::load(Some(&file)).unwrap()), "no store yet");
        let mut store = Store::open(&db, 10).unwrap();
        let sample = Sample {
            host: "app1".into(),
            plugin: "log_freshness".into(),
            kind: PluginKind::Monitor,
            received: Timestamp(1_000),
            status: Some(Status::Ok),
            duration_ms: None,
            data: serde_json::json!({"age_s": 3.0})
                .as_object()
                .cloned()
                .unwrap(),
        };
        store
            .write(&Batch {
                samples: vec![Arc::new(sample)],
                ..Batch::default()
            })
            .unwrap();
        drop(store);
        assert!(
            !warned(&super::load(Some(&file)).unwrap()),
            "reported by app1"
        );
        assert!(
            warned(&crate::config::load(Some(&file)).unwrap()),
            "the plain reader still warns"
        );
    }
}
