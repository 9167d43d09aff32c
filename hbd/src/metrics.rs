//! The daemon's telemetry: counters and gauges shared by every task, exposed in
//! Prometheus text format at `/metrics`.
//!
//! Handles to each labelled series are created once at start, so the hot path is one
//! atomic add with no lookup.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use hb_proto::{Message, RejectReason};

use crate::model::HostState;
use crate::samples::{Latest, Sample, numeric_leaves};

/// Message types counted by `hbd_datagrams_total`.
pub const MESSAGE_TYPES: [&str; 6] = ["HTB", "BOOT", "MSG", "PLG", "RES", "other"];

type Labels = Vec<(&'static str, &'static str)>;

/// Every metric of the daemon.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    datagrams: Vec<Counter>,
    rejects: Vec<Counter>,
    hosts: Vec<Gauge>,
    /// Bytes written to the journal.
    pub journal_bytes: Counter,
    /// Journal entries dropped because the writer fell behind.
    pub journal_dropped: Counter,
    /// Accepted datagrams dropped because the engine fell behind.
    pub engine_dropped: Counter,
    /// Replies that could not be sent.
    pub replies_failed: Counter,
    /// Replies sent.
    pub replies_sent: Counter,
    /// Host rows written to the store.
    pub store_rows: Counter,
    /// Store write batches that failed.
    pub store_errors: Counter,
    /// Plugin samples written to the store.
    pub store_samples: Counter,
    /// Plugin samples dropped because the store fell too far behind.
    pub samples_dropped: Counter,
    /// Alert notices (raised, lowered, recovered, reminders).
    pub alert_notices: Counter,
    /// API requests answered 503 because the engine was busy or slow.
    pub api_unavailable: Counter,
    /// Open WebSocket connections.
    pub ws_clients: Gauge,
    /// Fresh snapshots sent to WebSocket clients that fell behind or whose access
    /// changed.
    pub ws_resyncs: Counter,
    /// DNS records written.
    pub dns_updates_ok: Counter,
    /// DNS updates that failed (each try counts; they are retried).
    pub dns_updates_failed: Counter,
    /// Host addresses not handed to the DNS task because its queue was full.
    pub dns_dropped: Counter,
    /// Logins that succeeded.
    pub logins: Counter,
    /// Logins refused: wrong name or password.
    pub login_failures: Counter,
    /// Logins refused unheard because the address or name failed too often.
    pub logins_throttled: Counter,
    /// remote_write: samples produced, sent (accepted by the TSDB), retried (each
    /// retry counts) and dropped (queue full, refused with a 4xx, or left at shutdown);
    /// sent + dropped + queued = produced.
    pub rw_produced: Counter,
    /// remote_write samples the TSDB accepted.
    pub rw_sent: Counter,
    /// remote_write samples sent again after a 5xx, a 429 or no answer.
    pub rw_retried: Counter,
    /// remote_write samples given up on.
    pub rw_dropped: Counter,
    /// remote_write samples waiting in the queue (or in flight).
    pub rw_queued: Gauge,
    ha_leader: Gauge,
    ha_epoch: Gauge,
    coordination_up: Gauge,
    ha_messages: Family<Labels, Counter>,
    notifications: Family<Vec<(&'static str, &'static str)>, Counter>,
    notification_failures: Family<Vec<(&'static str, &'static str)>, Counter>,
    notifications_dropped: Family<Vec<(&'static str, &'static str)>, Counter>,
    api_limited: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Accepted datagrams by type, counted by the receiver per batch and added to the
/// shared counters once per batch: an atomic increment per datagram on a cache line the
/// engine's thread also writes was a visible share of the receiver's time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally([u64; 6]);

impl Tally {
    /// Counts one accepted `message`.
    pub fn add(&mut self, message: &Message) {
        let i = match message {
            Message::Heartbeat(_) => 0,
            Message::Boot(_) => 1,
            Message::Text(_) => 2,
            Message::Plugin(_) => 3,
            Message::CommandResult(_) => 4,
            _ => 5,
        };
        self.0[i] += 1;
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let datagrams_family = Family::<Labels, Counter>::default();
        registry.register(
            "hbd_datagrams",
            "Accepted datagrams by message type",
            datagrams_family.clone(),
        );
        let datagrams = MESSAGE_TYPES
            .iter()
            .map(|t| datagrams_family.get_or_create(&vec![("type", *t)]).clone())
            .collect();
        let rejects_family = Family::<Labels, Counter>::default();
        registry.register(
            "hbd_datagrams_rejected",
            "Rejected datagrams by reason",
            rejects_family.clone(),
        );
        let rejects = RejectReason::ALL
            .iter()
            .map(|r| {
                rejects_family
                    .get_or_create(&vec![("reason", r.as_str())])
                    .clone()
            })
            .collect();
        let hosts_family = Family::<Labels, Gauge>::default();
        registry.register("hbd_hosts", "Hosts by state", hosts_family.clone());
        let hosts = HostState::ALL
            .iter()
            .map(|s| {
                hosts_family
                    .get_or_create(&vec![("state", s.as_str())])
                    .clone()
            })
            .collect();
        let mut counter = |name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let journal_bytes = counter("hbd_journal_bytes", "Bytes written to the message journal");
        let journal_dropped = counter(
            "hbd_journal_dropped",
            "Journal entries dropped because the writer fell behind",
        );
        let engine_dropped = counter(
            "hbd_engine_dropped",
            "Accepted datagrams dropped because the engine queue was full",
        );
        let replies_failed = counter("hbd_replies_failed", "Replies that could not be sent");
        let replies_sent = counter("hbd_replies_sent", "Replies (ACK, CMD, UPD) sent");
        let store_rows = counter("hbd_store_host_rows", "Host rows written to the store");
        let store_errors = counter(
            "hbd_store_errors",
            "Store write attempts that failed (the batch is kept and retried)",
        );
        let store_samples = counter("hbd_store_samples", "Plugin samples written to the store");
        let samples_dropped = counter(
            "hbd_samples_dropped",
            "Plugin samples dropped because the store fell too far behind",
        );
        let alert_notices = counter(
            "hbd_alert_notices",
            "Alert notices: raised, lowered, recovered and reminders",
        );
        let api_unavailable = counter(
            "hbd_api_unavailable",
            "API requests answered 503 because the engine's queue was full or it did not answer in time",
        );
        let logins = counter("hbd_logins", "Logins that succeeded");
        let ws_resyncs = counter(
            "hbd_ws_resyncs",
            "Fresh snapshots sent to WebSocket clients that fell behind or whose access changed",
        );
        let dns_updates_ok = counter("hbd_dns_updates", "DNS records written with nsupdate");
        let dns_updates_failed = counter(
            "hbd_dns_update_failures",
            "DNS updates that failed (refused, unreachable, timed out); each try counts, and each is retried with backoff",
        );
        let dns_dropped = counter(
            "hbd_dns_dropped",
            "Host addresses not handed to the DNS task because its queue was full",
        );
        let login_failures = counter(
            "hbd_login_failures",
            "Logins refused for a wrong name or password",
        );
        let logins_throttled = counter(
            "hbd_logins_throttled",
            "Logins refused before checking because the address or name failed too often",
        );
        let rw_produced = counter(
            "hbd_remote_write_samples_produced",
            "Samples produced for remote_write (plugin values, host up and RTT, alert levels)",
        );
        let rw_sent = counter(
            "hbd_remote_write_samples_sent",
            "remote_write samples the TSDB accepted",
        );
        let rw_retried = counter(
            "hbd_remote_write_samples_retried",
            "remote_write samples sent again after a 5xx, a 429 or no answer (each retry counts)",
        );
        let rw_dropped = counter(
            "hbd_remote_write_samples_dropped",
            "remote_write samples given up on: queue full, refused with a 4xx, or left at shutdown",
        );
        let rw_queued = Gauge::default();
        registry.register(
            "hbd_remote_write_queue_samples",
            "remote_write samples waiting to be sent or in flight",
            rw_queued.clone(),
        );
        let ws_clients = Gauge::default();
        registry.register(
            "hbd_ws_clients",
            "Open WebSocket connections",
            ws_clients.clone(),
        );
        let channel_family = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<Labels, Counter>::default();
            registry.register(name, help, family.clone());
            for channel in ["email", "pushover", "mattermost", "signal"] {
                let _ = family.get_or_create(&vec![("channel", channel)]);
            }
            family
        };
        let api_limited = Family::<Labels, Counter>::default();
        registry.register(
            "hbd_api_rate_limited",
            "API requests answered 429 by the rate limits, by the bucket that was empty (token or address)",
            api_limited.clone(),
        );
        for by in ["token", "address"] {
            let _ = api_limited.get_or_create(&vec![("by", by)]);
        }
        let notifications = channel_family(
            &mut registry,
            "hbd_notifications_sent",
            "Notifications delivered, by channel",
        );
        let notification_failures = channel_family(
            &mut registry,
            "hbd_notification_failures",
            "Failed delivery attempts (each retry counts), by channel",
        );
        let notifications_dropped = channel_family(
            &mut registry,
            "hbd_notifications_dropped",
            "Notifications given up on (retries exhausted, refused, or queue full), by channel",
        );
        let mut gauge = |name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let ha_leader = gauge(
            "hbd_ha_leader",
            "1 while this daemon holds its HA pair's lease and tells (or tells on its own, coordination down), else 0",
        );
        let ha_epoch = gauge(
            "hbd_ha_epoch",
            "The HA lease's epoch this daemon holds (0: it does not)",
        );
        let coordination_up = gauge(
            "hbd_coordination_up",
            "1 when the HA pair's PostgreSQL answered the last lease renewal, else 0",
        );
        let ha_messages = Family::<Labels, Counter>::default();
        registry.register(
            "hbd_ha_messages",
            "Messages of an HA pair's daemon by outcome: claimed and sent, fenced (another daemon leads), sent while failing open, dropped",
            ha_messages.clone(),
        );
        Metrics {
            ha_leader,
            ha_epoch,
            coordination_up,
            ha_messages,
            rw_produced,
            rw_sent,
            rw_retried,
            rw_dropped,
            rw_queued,
            alert_notices,
            api_unavailable,
            logins,
            ws_clients,
            ws_resyncs,
            dns_updates_ok,
            dns_updates_failed,
            dns_dropped,
            login_failures,
            logins_throttled,
            notifications,
            notification_failures,
            notifications_dropped,
            api_limited,
            registry,
            datagrams,
            rejects,
            hosts,
            journal_bytes,
            journal_dropped,
            engine_dropped,
            replies_failed,
            replies_sent,
            store_rows,
            store_errors,
            store_samples,
            samples_dropped,
        }
    }

    /// Adds what a [`Tally`] counted to the accepted-datagram counters.
    pub fn accepted(&self, tally: &Tally) {
        for (counter, &n) in self.datagrams.iter().zip(&tally.0) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
    }

    /// A label value for a name made at run time (a notification target's): each
    /// distinct name is kept once for the life of the process, so there are as many as
    /// targets were ever configured, never more.
    pub fn label(name: &str) -> &'static str {
        static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        // A poisoned lock only means another thread panicked while pushing a name.
        let mut names = NAMES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = names.iter().find(|n| **n == name) {
            return known;
        }
        let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
        names.push(kept);
        kept
    }

    /// Counts a delivered notification.
    pub fn notification_sent(&self, channel: &'static str) {
        self.notifications
            .get_or_create(&vec![("channel", channel)])
            .inc();
    }

    /// Counts a failed delivery attempt.
    pub fn notification_failed(&self, channel: &'static str) {
        self.notification_failures
            .get_or_create(&vec![("channel", channel)])
            .inc();
    }

    /// Counts an HA pair's messages by outcome (`claimed`, `fenced`, `fail_open`,
    /// `dropped`).
    pub fn ha_messages(&self, outcome: &'static str, n: u64) {
        self.ha_messages
            .get_or_create(&vec![("outcome", outcome)])
            .inc_by(n);
    }

    /// Whether the HA coordinator answered the last renewal.
    pub fn ha_renewal(&self, answered: bool) {
        self.coordination_up.set(i64::from(answered));
    }

    /// The HA role now: whether this daemon tells (leading, or failing open), and its
    /// lease's epoch (0 when it holds none).
    pub fn set_ha_role(&self, tells: bool, epoch: i64) {
        self.ha_leader.set(i64::from(tells));
        self.ha_epoch.set(epoch);
    }

    /// Counts a notification given up on.
    pub fn notification_dropped(&self, channel: &'static str) {
        self.notifications_dropped
            .get_or_create(&vec![("channel", channel)])
            .inc();
    }

    /// Counts an API request refused by a rate limit (`token` or `address`).
    pub fn api_limited(&self, by: &'static str) {
        self.api_limited.get_or_create(&vec![("by", by)]).inc();
    }

    /// Counts a rejected datagram.
    pub fn rejected(&self, reason: RejectReason) {
        self.rejects[reason.index()].inc();
    }

    /// Accepted datagrams of one type (`MESSAGE_TYPES` name).
    pub fn accepted_count(&self, message_type: &str) -> u64 {
        MESSAGE_TYPES
            .iter()
            .position(|t| *t == message_type)
            .map_or(0, |i| self.datagrams[i].get())
    }

    /// Rejected datagrams for one reason.
    pub fn rejected_count(&self, reason: RejectReason) -> u64 {
        self.rejects[reason.index()].get()
    }

    /// Sets the hosts-by-state gauges, counts in [`HostState::ALL`] order.
    pub fn set_hosts(&self, counts: [usize; 4]) {
        for (gauge, n) in self.hosts.iter().zip(counts) {
            gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The exposition text, with the latest plugin values as gauges.
    pub fn render(&self, latest: &Latest) -> String {
        let mut out = String::with_capacity(4096);
        // Invariant: writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        if out.ends_with("# EOF\n") {
            out.truncate(out.len() - "# EOF\n".len());
        }
        render_plugins(&mut out, &latest.all());
        out.push_str("# EOF\n");
        out
    }
}

/// The classic Prometheus text format (0.0.4) of an OpenMetrics text: a counter family
/// `x` is named `x_total` in its HELP and TYPE lines (as its samples are), `# UNIT` and
/// `# EOF` go. What Prometheus' own tools (`promtool check metrics`) and older scrapers
/// read; scrapers that ask for OpenMetrics get it unchanged.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(prefix);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Appends `hbd_plugin_value` (every numeric leaf of every latest report) and
/// `hbd_plugin_status` (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) for scraping.
fn render_plugins(out: &mut String, samples: &[std::sync::Arc<Sample>]) {
    use std::fmt::Write;
    out.push_str("# HELP hbd_plugin_value Latest numeric values reported by agent plugins.\n");
    out.push_str("# TYPE hbd_plugin_value gauge\n");
    for s in samples {
        for (metric, value) in numeric_leaves(&s.data) {
            let _ = writeln!(
                out,
                "hbd_plugin_value{{host=\"{}\",plugin=\"{}\",metric=\"{}\"}} {value}",
                label(&s.host),
                label(&s.plugin),
                label(&metric)
            );
        }
    }
    out.push_str(
        "# HELP hbd_plugin_status Latest plugin status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n",
    );
    out.push_str("# TYPE hbd_plugin_status gauge\n");
    for s in samples {
        if let Some(status) = s.status {
            let code = match status {
                hb_proto::Status::Ok => 0,
                hb_proto::Status::Warning => 1,
                hb_proto::Status::Critical => 2,
                hb_proto::Status::Unknown => 3,
            };
            let _ = writeln!(
                out,
                "hbd_plugin_status{{host=\"{}\",plugin=\"{}\"}} {code}",
                label(&s.host),
                label(&s.plugin)
            );
        }
    }
}

/// Escapes a label value for the text exposition format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_labelled_counts() {
        let m = Metrics::new();
        m.rejected(RejectReason::Bomb);
        m.rejected(RejectReason::Bomb);
        m.set_hosts([0, 3, 1, 0]);
        let text = m.render(&Latest::default());
        assert!(
            text.contains("hbd_datagrams_rejected_total{reason=\"bomb\"} 2"),
            "{text}"
        );
        assert!(text.contains("hbd_hosts{state=\"UP\"} 3"), "{text}");
        assert!(text.contains("hbd_hosts{state=\"DOWN\"} 1"), "{text}");
        assert_eq!(m.rejected_count(RejectReason::Bomb), 2);
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn the_classic_text_names_counters_as_their_samples() {
        let om = "# HELP hbd_datagrams Accepted datagrams.\n# TYPE hbd_datagrams counter\n\
                  hbd_datagrams_total{type=\"HTB\"} 3\n# HELP hbd_hosts Hosts.\n\
                  # TYPE hbd_hosts gauge\n# UNIT hbd_hosts hosts\nhbd_hosts{state=\"UP\"} 1\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP hbd_datagrams_total Accepted datagrams.\n# TYPE hbd_datagrams_total counter\n\
             hbd_datagrams_total{type=\"HTB\"} 3\n# HELP hbd_hosts Hosts.\n\
             # TYPE hbd_hosts gauge\nhbd_hosts{state=\"UP\"} 1\n"
        );
    }

    #[test]
    fn plugin_values_are_gauges_with_escaped_labels() {
        let latest = Latest::default();
        latest.insert(std::sync::Arc::new(Sample {
            host: "web1".into(),
            plugin: "disk_monitor".into(),
            kind: hb_proto::PluginKind::Monitor,
            received: crate::clock::Timestamp(0),
            status: Some(hb_proto::Status::Warning),
            duration_ms: None,
            data: serde_json::json!({"partitions": {"/mnt/\"x\"": {"percent": 81.5}}})
                .as_object()
                .cloned()
                .unwrap(),
        }));
        let text = Metrics::new().render(&latest);
        assert!(
            text.contains(r#"hbd_plugin_value{host="web1",plugin="disk_monitor",metric="partitions./mnt/\"x\".percent"} 81.5"#),
            "{text}"
        );
        assert!(
            text.contains(r#"hbd_plugin_status{host="web1",plugin="disk_monitor"} 1"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
