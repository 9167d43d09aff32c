//! What one WebSocket client sees of the live stream, as JSON text: its snapshot
//! (columnar, only the hosts it may see, with counts per state) and batches of the
//! updates about those hosts. Pure: the visibility test is passed in.
//!
//! Times are Unix milliseconds. The message shapes are documented in
//! `docs/WEBSOCKET.md`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Snapshot, Update, UpdateKind};
use crate::alerting::AlertState;
use crate::core::{Host, HostState};

/// The protocol version in `hello`.
pub const PROTOCOL: u32 = 1;

/// The host an update is about; `None` for one about no host (a rollout's progress).
pub fn host_of(update: &Update) -> Option<&str> {
    match &update.kind {
        UpdateKind::Event { event, .. } => Some(&event.host),
        UpdateKind::Heartbeat { host, .. }
        | UpdateKind::Plugin { host, .. }
        | UpdateKind::Job { host, .. }
        | UpdateKind::Dns { host, .. }
        | UpdateKind::Decision { host, .. }
        | UpdateKind::Alert { host, .. }
        | UpdateKind::Ack { host, .. } => Some(host),
        UpdateKind::Rollout(_) => None,
    }
}

/// `{"type":"hello",...}`: the first message of a connection.
pub fn hello(run: &str, user: Option<&str>) -> String {
    json!({"type": "hello", "proto": PROTOCOL, "run": run, "user": user}).to_string()
}

/// `{"type":"resync","reason":...}`: a snapshot follows.
pub fn resync(reason: &str) -> String {
    json!({"type": "resync", "reason": reason}).to_string()
}

fn host_json(h: &Host) -> Value {
    json!({
        "name": h.name,
        "state": h.state.as_str(),
        "state_since": h.state_since.0,
        "last_seen": h.last_seen.map(|t| t.0),
        "rtt_ms": h.last_rtt_ms,
        "version": h.version,
        "arch": h.arch.as_deref(),
        "uptime_s": h.uptime_s,
        "boots": h.boots,
        "interval_s": h.interval.as_secs_f64(),
        "address": h.address.map(|a| a.ip().to_canonical().to_string()),
    })
}

fn alert_json(a: &AlertState) -> Value {
    json!({
        "host": a.host,
        "path": a.path,
        "level": a.level.as_str(),
        "since": a.since.0,
        "value": a.value,
        "detail": a.detail,
        "threshold": a.threshold,
        "operator": a.operator.map(|o| o.as_str()),
        "reminders": a.reminders,
        "held": a.held,
        "ack": a.ack,
    })
}

/// Hosts (and alerts) in one snapshot message at most.
pub const SNAPSHOT_PART: usize = 1000;

/// One part's hosts as columns: index `i` of every array is one host, which is half
/// the size of an array of objects at 10,000 hosts. Serialized straight from the hosts,
/// without an intermediate JSON tree.
#[derive(Serialize)]
struct Columns<'a> {
    name: Vec<&'a str>,
    state: Vec<&'static str>,
    state_since: Vec<u64>,
    last_seen: Vec<Option<u64>>,
    rtt_ms: Vec<Option<f64>>,
    version: Vec<Option<&'a str>>,
    arch: Vec<Option<&'a str>>,
    uptime_s: Vec<Option<f64>>,
    address: Vec<Option<String>>,
}

impl<'a> Columns<'a> {
    fn of(hosts: &[&'a Host]) -> Columns<'a> {
        Columns {
            name: hosts.iter().map(|h| h.name.as_str()).collect(),
            state: hosts.iter().map(|h| h.state.as_str()).collect(),
            state_since: hosts.iter().map(|h| h.state_since.0).collect(),
            last_seen: hosts.iter().map(|h| h.last_seen.map(|t| t.0)).collect(),
            rtt_ms: hosts.iter().map(|h| h.last_rtt_ms).collect(),
            version: hosts.iter().map(|h| h.version.as_deref()).collect(),
            arch: hosts.iter().map(|h| h.arch.as_deref()).collect(),
            uptime_s: hosts.iter().map(|h| h.uptime_s).collect(),
            address: hosts
                .iter()
                .map(|h| h.address.map(|a| a.ip().to_canonical().to_string()))
                .collect(),
        }
    }
}

/// One snapshot message.
#[derive(Serialize)]
struct Part<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    run: &'a str,
    seq: u64,
    part: usize,
    parts: usize,
    counts: &'a Map<String, Value>,
    hosts: Columns<'a>,
    alerts: Vec<Value>,
}

/// The snapshot, with only the hosts (and their alerts) `sees` lets through, as
/// messages of at most [`SNAPSHOT_PART`] hosts and alerts each (`part` 0 to
/// `parts - 1`; the view is complete after the last). Small messages keep what a
/// connection buffers small when its client reads slowly.
pub fn snapshot(s: &Snapshot, sees: impl Fn(&str) -> bool) -> Vec<String> {
    let hosts: Vec<&Host> = s.hosts.iter().filter(|h| sees(&h.name)).collect();
    let alerts: Vec<&AlertState> = s.alerts.iter().filter(|a| sees(&a.host)).collect();
    let mut counts = Map::new();
    for state in HostState::ALL {
        let n = hosts.iter().filter(|h| h.state == state).count();
        counts.insert(state.as_str().into(), n.into());
    }
    let parts = hosts.len().max(alerts.len()).div_ceil(SNAPSHOT_PART).max(1);
    let chunk = |all_len: usize, i: usize| {
        let from = (i * SNAPSHOT_PART).min(all_len);
        from..(from + SNAPSHOT_PART).min(all_len)
    };
    (0..parts)
        .map(|i| {
            let part = Part {
                kind: "snapshot",
                run: &s.run,
                seq: s.seq,
                part: i,
                parts,
                counts: &counts,
                hosts: Columns::of(&hosts[chunk(hosts.len(), i)]),
                alerts: alerts[chunk(alerts.len(), i)]
                    .iter()
                    .map(|a| alert_json(a))
                    .collect(),
            };
            // Serializing these plain structs and maps cannot fail.
            serde_json::to_string(&part).unwrap_or_default()
        })
        .collect()
}

/// One update as JSON (`seq`, `type`, and its fields).
pub fn update(u: &Update) -> Value {
    match &u.kind {
        UpdateKind::Event { event, host } => {
            let mut v = serde_json::to_value(event).unwrap_or_default();
            if let Value::Object(map) = &mut v {
                map.insert("at".into(), event.at.0.into());
                map.insert("seq".into(), u.seq.into());
                map.insert("type".into(), "event".into());
                map.insert(
                    "record".into(),
                    host.as_deref().map_or(Value::Null, host_json),
                );
            }
            v
        }
        UpdateKind::Heartbeat {
            host,
            last_seen,
            rtt_ms,
        } => json!({
            "seq": u.seq, "type": "heartbeat", "host": host,
            "last_seen": last_seen.map(|t| t.0), "rtt_ms": rtt_ms,
        }),
        UpdateKind::Plugin {
            host,
            plugin,
            status,
            received,
        } => json!({
            "seq": u.seq, "type": "plugin", "host": host, "plugin": plugin,
            "status": status, "received": received.0,
        }),
        UpdateKind::Dns { host, status } => json!({
            "seq": u.seq, "type": "dns", "host": host, "dns": status,
        }),
        UpdateKind::Decision { host, decision } => json!({
            "seq": u.seq, "type": "policy", "host": host, "decision": decision,
        }),
        UpdateKind::Job { host, job } => json!({
            "seq": u.seq, "type": "command", "host": host, "command": job,
        }),
        UpdateKind::Rollout(p) => json!({
            "seq": u.seq, "type": "rollout", "group": p.group, "state": p.state,
            "stage": p.stage, "on_new": p.on_new, "stage_hosts": p.stage_hosts,
        }),
        UpdateKind::Alert { host, path, state } => json!({
            "seq": u.seq, "type": "alert", "host": host, "path": path,
            "state": state.as_ref().map(alert_json),
        }),
        UpdateKind::Ack { host, path, ack } => json!({
            "seq": u.seq, "type": "ack", "host": host, "path": path, "ack": ack,
        }),
    }
}

/// `{"type":"updates","run":R,"seq":LAST,"updates":[...]}`: the updates `sees` lets
/// through; `seq` is the last number considered (resume from it), even when the visible
/// ones end earlier or there are none.
pub fn batch(run: &str, last_seq: u64, updates: &[&Update]) -> String {
    let list: Vec<Value> = updates.iter().map(|u| update(u)).collect();
    json!({"type": "updates", "run": run, "seq": last_seq, "updates": list}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::core::{Event, EventKind};
    use std::time::Duration;

    fn host(name: &str, state: HostState) -> Host {
        let mut h = Host::new(name, Duration::from_secs(60), Timestamp(1_000));
        h.state = state;
        h.last_rtt_ms = Some(0.5);
        h
    }

    #[test]
    fn the_snapshot_is_columnar_and_holds_only_what_the_user_sees() {
        let s = Snapshot {
            run: "r1".into(),
            seq: 42,
            hosts: vec![
                host("db1", HostState::Down),
                host("web1", HostState::Up),
                host("web2", HostState::Up),
            ],
            alerts: vec![],
        };
        let parts = snapshot(&s, |h| h.starts_with("web"));
        assert_eq!(parts.len(), 1);
        let v: Value = serde_json::from_str(&parts[0]).unwrap();
        assert_eq!(v["seq"], 42);
        assert_eq!(
            (v["part"].as_u64(), v["parts"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(v["hosts"]["name"], json!(["web1", "web2"]));
        assert_eq!(v["hosts"]["state"], json!(["UP", "UP"]));
        assert_eq!(v["hosts"]["rtt_ms"], json!([0.5, 0.5]));
        assert_eq!(
            v["counts"],
            json!({"UP": 2, "DOWN": 0, "UNKNOWN": 0, "UNREACHABLE": 0})
        );
    }

    #[test]
    fn a_large_snapshot_comes_in_parts_that_add_up_to_it() {
        let n = 2 * SNAPSHOT_PART + 7;
        let s = Snapshot {
            run: "r1".into(),
            seq: 3,
            hosts: (0..n)
                .map(|i| host(&format!("h{i:05}"), HostState::Up))
                .collect(),
            alerts: vec![],
        };
        let parts: Vec<Value> = snapshot(&s, |_| true)
            .iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect();
        assert_eq!(parts.len(), 3);
        let names: Vec<&str> = parts
            .iter()
            .flat_map(|p| p["hosts"]["name"].as_array().unwrap())
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names.len(), n);
        assert_eq!((names[0], names[n - 1]), ("h00000", "h02006"));
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(
                (p["part"].as_u64(), p["parts"].as_u64()),
                (Some(i as u64), Some(3))
            );
            assert_eq!(p["counts"]["UP"], n, "every part carries the totals");
        }
    }

    #[test]
    fn updates_name_their_host_and_carry_the_record() {
        let event = Update {
            seq: 7,
            kind: UpdateKind::Event {
                event: Event {
                    host: "web1".into(),
                    at: Timestamp(5_000),
                    kind: EventKind::NewHost,
                },
                host: Some(Box::new(host("web1", HostState::Up))),
            },
        };
        assert_eq!(host_of(&event), Some("web1"));
        let v = update(&event);
        assert_eq!(
            (v["seq"].as_u64(), v["type"].as_str(), v["event"].as_str()),
            (Some(7), Some("event"), Some("NEW_HOST"))
        );
        assert_eq!(v["record"]["state"], "UP");
        assert_eq!(v["at"], 5_000);
        let beat = Update {
            seq: 8,
            kind: UpdateKind::Heartbeat {
                host: "web2".into(),
                last_seen: Some(Timestamp(6_000)),
                rtt_ms: Some(1.5),
            },
        };
        let text = batch("r1", 9, &[&event, &beat]);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["seq"], 9, "the last number considered, for resuming");
        assert_eq!(v["updates"][1]["last_seen"], 6_000);
    }
}
