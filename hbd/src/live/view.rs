//! What one WebSocket client sees of the live stream, as JSON text: its snapshot
//! (columnar, only the hosts it may see, with counts per state) and batches of the
//! updates about those hosts. Pure: the visibility test is passed in.
//!
//! Times are Unix milliseconds. The message shapes are documented in
//! `docs/WEBSOCKET.md`.

use serde_json::{Map, Value, json};

use super::{Snapshot, Update, UpdateKind};
use crate::alerting::AlertState;
use crate::core::{Host, HostState};

/// The protocol version in `hello`.
pub const PROTOCOL: u32 = 1;

/// The host an update is about.
pub fn host_of(update: &Update) -> &str {
    match &update.kind {
        UpdateKind::Event { event, .. } => &event.host,
        UpdateKind::Heartbeat { host, .. }
        | UpdateKind::Plugin { host, .. }
        | UpdateKind::Alert { host, .. } => host,
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
        "reminders": a.reminders,
    })
}

/// The snapshot, with only the hosts (and their alerts) `sees` lets through; host
/// fields are columns (index `i` of every array is one host), which is half the size of
/// an array of objects at 10,000 hosts.
pub fn snapshot(s: &Snapshot, sees: impl Fn(&str) -> bool) -> String {
    let hosts: Vec<&Host> = s.hosts.iter().filter(|h| sees(&h.name)).collect();
    let mut columns = Map::new();
    let mut column = |name: &str, f: &dyn Fn(&Host) -> Value| {
        columns.insert(name.into(), hosts.iter().map(|h| f(h)).collect());
    };
    column("name", &|h| h.name.clone().into());
    column("state", &|h| h.state.as_str().into());
    column("state_since", &|h| h.state_since.0.into());
    column("last_seen", &|h| h.last_seen.map(|t| t.0).into());
    column("rtt_ms", &|h| h.last_rtt_ms.into());
    column("version", &|h| h.version.clone().into());
    column("uptime_s", &|h| h.uptime_s.into());
    column("address", &|h| {
        h.address.map(|a| a.ip().to_canonical().to_string()).into()
    });
    let mut counts = Map::new();
    for state in HostState::ALL {
        let n = hosts.iter().filter(|h| h.state == state).count();
        counts.insert(state.as_str().into(), n.into());
    }
    let alerts: Vec<Value> = s
        .alerts
        .iter()
        .filter(|a| sees(&a.host))
        .map(alert_json)
        .collect();
    json!({
        "type": "snapshot",
        "run": s.run,
        "seq": s.seq,
        "hosts": columns,
        "counts": counts,
        "alerts": alerts,
    })
    .to_string()
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
        UpdateKind::Alert { host, path, state } => json!({
            "seq": u.seq, "type": "alert", "host": host, "path": path,
            "state": state.as_ref().map(alert_json),
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
        let v: Value = serde_json::from_str(&snapshot(&s, |h| h.starts_with("web"))).unwrap();
        assert_eq!(v["seq"], 42);
        assert_eq!(v["hosts"]["name"], json!(["web1", "web2"]));
        assert_eq!(v["hosts"]["state"], json!(["UP", "UP"]));
        assert_eq!(v["hosts"]["rtt_ms"], json!([0.5, 0.5]));
        assert_eq!(v["counts"], json!({"UP": 2, "DOWN": 0, "UNKNOWN": 0}));
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
        assert_eq!(host_of(&event), "web1");
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
