//! Alertmanager as a target: each problem is posted to its v2 API (`POST
//! /api/v2/alerts`) as an alert labelled with the host, the path, the severity and the
//! shard, and posted again every `resend` while it stays open (Alertmanager resolves an
//! alert nobody re-posts, as it does for Prometheus); a recovery posts it with `endsAt`
//! now, which resolves it at once. Teams that already route with Alertmanager keep
//! their routing, grouping and silences.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::delivery::{Outgoing, SendError};
use crate::clock::Timestamp;
use hbd_core::facts::{Facts, Kind};

/// How many `resend` periods an alert stays open in Alertmanager without news, so a
/// daemon that stops leaves nothing open for ever.
pub const ENDS_AFTER: u32 = 4;

/// One open alert, as posted.
#[derive(Debug, Clone, PartialEq)]
struct Open {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
}

/// An Alertmanager target and the alerts it holds open.
#[derive(Debug, Clone)]
pub struct Alertmanager {
    client: reqwest::Client,
    url: String,
    resend: Duration,
    labels: BTreeMap<String, String>,
    open: Arc<Mutex<BTreeMap<String, Open>>>,
}

impl Alertmanager {
    /// A target posting to `url` (Alertmanager's base URL), adding `labels` (and
    /// `shard`, when this daemon is one) to every alert.
    pub fn new(
        client: reqwest::Client,
        url: String,
        resend: Duration,
        mut labels: BTreeMap<String, String>,
        shard: Option<String>,
    ) -> Alertmanager {
        if let Some(shard) = shard {
            labels.entry("shard".into()).or_insert(shard);
        }
        Alertmanager {
            client,
            url,
            resend,
            labels,
            open: Arc::default(),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Open>> {
        // A poisoned lock only means a sender panicked mid-insert; the map is whole.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The alert for a problem, as Alertmanager labels it.
    fn alert_of(&self, f: &Facts) -> Open {
        let mut labels = self.labels.clone();
        let name = if f.path.is_some() {
            "hbd_alert"
        } else {
            "hbd_host_down"
        };
        labels.insert("alertname".into(), name.into());
        labels.insert("host".into(), f.host.clone());
        if let Some(path) = &f.path {
            labels.insert("path".into(), path.clone());
        }
        labels.insert("severity".into(), f.severity.to_ascii_lowercase());
        let mut annotations = BTreeMap::new();
        annotations.insert("summary".into(), f.text.clone());
        if let Some(detail) = &f.detail {
            annotations.insert("description".into(), detail.clone());
        }
        Open {
            labels,
            annotations,
            starts_at: f.since.clone(),
        }
    }

    fn body(alerts: &[&Open], ends_at: &str) -> serde_json::Value {
        serde_json::Value::Array(
            alerts
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "labels": a.labels,
                        "annotations": a.annotations,
                        "startsAt": a.starts_at,
                        "endsAt": ends_at,
                    })
                })
                .collect(),
        )
    }

    fn ends_at(&self) -> String {
        Timestamp::now().plus(self.resend * ENDS_AFTER).rfc3339()
    }

    async fn post(&self, body: serde_json::Value) -> Result<super::delivery::Answer, SendError> {
        let url = format!("{}/api/v2/alerts", self.url);
        SendError::deliver("alertmanager", self.client.post(url).json(&body)).await
    }

    /// Posts `m`: a problem opens (or refreshes) its alert, a recovery resolves it;
    /// news that is no problem is not an alert.
    pub async fn send(&self, m: &Outgoing) -> Result<super::delivery::Answer, SendError> {
        let f = &m.facts;
        match f.kind {
            Kind::Problem | Kind::Reminder if f.severity != "OK" => {
                let alert = self.alert_of(f);
                let alert = {
                    let mut open = self.open();
                    // A problem that changes level keeps when it began.
                    let kept = open.entry(f.key.clone()).or_insert(alert.clone());
                    kept.labels = alert.labels;
                    kept.annotations = alert.annotations;
                    kept.clone()
                };
                self.post(Self::body(&[&alert], &self.ends_at())).await
            }
            Kind::Recovery | Kind::Problem => {
                let was = self.open().remove(&f.key);
                let alert = was.unwrap_or_else(|| self.alert_of(f));
                self.post(Self::body(&[&alert], &Timestamp::now().rfc3339()))
                    .await
            }
            Kind::Reminder | Kind::Flapping | Kind::Info | Kind::Group | Kind::Escalation => {
                Ok("not sent: Alertmanager takes problems and recoveries only".into())
            }
        }
    }

    /// Posts every open alert again each `resend`, until `shutdown`.
    pub async fn keep_open(self, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(self.resend);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            let open: Vec<Open> = self.open().values().cloned().collect();
            if open.is_empty() {
                continue;
            }
            let refs: Vec<&Open> = open.iter().collect();
            if let Err(error) = self.post(Self::body(&refs, &self.ends_at())).await {
                tracing::warn!(target_url = %self.url, alerts = open.len(), %error, "alertmanager: open alerts not posted again; next try in one resend period");
            }
        }
    }
}
