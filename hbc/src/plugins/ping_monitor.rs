//! `ping_monitor`: round-trip times and loss to each of `hosts`, by running the system
//! `ping` (iputils) per target with argv, never a shell: `ping -n -q -c COUNT -W WAIT
//! TARGET`. ICMP needs privileges the agent should not hold; `ping` has them.

use std::process::Command;
use std::time::Duration;

use hb_proto::PluginKind;
use serde_json::{Map, Value, json};

use super::{Collected, Options, Plugin, PluginError};

/// Round-trip summary of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct PingSummary {
    /// Packets sent.
    pub transmitted: u64,
    /// Packets answered.
    pub received: u64,
    /// Loss in percent.
    pub loss_percent: f64,
    /// `(min, avg, max)` in ms, when anything was answered.
    pub rtt_ms: Option<(f64, f64, f64)>,
}

/// Parses the summary lines of iputils `ping -q`.
pub fn parse_ping(text: &str) -> Option<PingSummary> {
    let stats = text.lines().find(|l| l.contains("packets transmitted"))?;
    let number_before = |word: &str| -> Option<f64> {
        let at = stats.find(word)?;
        stats[..at]
            .split_whitespace()
            .last()?
            .trim_end_matches('%')
            .parse()
            .ok()
    };
    let transmitted = number_before(" packets transmitted")? as u64;
    let received = number_before(" received")? as u64;
    let loss_percent = number_before(" packet loss").unwrap_or(if transmitted == 0 {
        100.0
    } else {
        100.0 * (transmitted - received) as f64 / transmitted as f64
    });
    let rtt_ms = text
        .lines()
        .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip"))
        .and_then(|l| {
            l.split_once('=')?
                .1
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .and_then(|v| {
            let parts: Vec<f64> = v.split('/').filter_map(|p| p.parse().ok()).collect();
            (parts.len() >= 3).then(|| (parts[0], parts[1], parts[2]))
        });
    Some(PingSummary {
        transmitted,
        received,
        loss_percent,
        rtt_ms,
    })
}

/// The plugin.
#[derive(Debug)]
pub struct PingMonitor {
    hosts: Vec<String>,
    count: u32,
    wait: Duration,
    program: String,
}

impl PingMonitor {
    /// From options (`hosts`, `count`, `timeout` per reply, `program`).
    pub fn new(options: &Options) -> Result<PingMonitor, PluginError> {
        let hosts = options.strings("hosts")?;
        if hosts.is_empty() {
            return Err(PluginError::Config(
                "plugins.ping_monitor.hosts: give at least one target".into(),
            ));
        }
        if let Some(bad) = hosts.iter().find(|h| h.starts_with('-') || h.is_empty()) {
            return Err(PluginError::Config(format!(
                "plugins.ping_monitor.hosts: {bad:?} is not a host"
            )));
        }
        let count = match options.get("count") {
            None => 3,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    PluginError::Config("plugins.ping_monitor.count: expected 1 to 100".into())
                })? as u32,
        };
        Ok(PingMonitor {
            hosts,
            count,
            wait: options.seconds("timeout", Duration::from_secs(1))?,
            program: options
                .get("program")
                .and_then(Value::as_str)
                .unwrap_or("ping")
                .to_owned(),
        })
    }

    fn ping(&self, target: &str) -> Value {
        let out = Command::new(&self.program)
            .args(["-n", "-q", "-c", &self.count.to_string(), "-i", "0.2", "-W"])
            .arg(format!("{}", self.wait.as_secs_f64().ceil().max(1.0)))
            .arg(target)
            .output();
        match out {
            Err(e) => {
                json!({ "error": format!("cannot run {}: {e}", self.program), "loss_percent": 100.0 })
            }
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                match parse_ping(&text) {
                    Some(s) => {
                        let mut m = Map::new();
                        m.insert("transmitted".into(), json!(s.transmitted));
                        m.insert("received".into(), json!(s.received));
                        m.insert("loss_percent".into(), json!(s.loss_percent));
                        if let Some((min, avg, max)) = s.rtt_ms {
                            m.insert("rtt_min_ms".into(), json!(min));
                            m.insert("rtt_avg_ms".into(), json!(avg));
                            m.insert("rtt_max_ms".into(), json!(max));
                        }
                        Value::Object(m)
                    }
                    None => json!({
                        "error": String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                        "loss_percent": 100.0,
                    }),
                }
            }
        }
    }
}

impl Plugin for PingMonitor {
    fn name(&self) -> &'static str {
        "ping_monitor"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }

    fn collect(&mut self) -> Result<Collected, PluginError> {
        let this = &*self;
        let results: Vec<Value> = std::thread::scope(|s| {
            let handles: Vec<_> = this
                .hosts
                .iter()
                .map(|h| s.spawn(move || this.ping(h)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Value::Null))
                .collect()
        });
        let mut targets = Map::new();
        for (host, result) in self.hosts.iter().zip(results) {
            targets.insert(host.clone(), result);
        }
        let mut data = Map::new();
        data.insert("targets".into(), Value::Object(targets));
        Ok(Collected { data, status: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iputils_summaries() {
        let ok = "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n\n--- 127.0.0.1 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2041ms\nrtt min/avg/max/mdev = 0.031/0.042/0.055/0.010 ms\n";
        assert_eq!(
            parse_ping(ok),
            Some(PingSummary {
                transmitted: 3,
                received: 3,
                loss_percent: 0.0,
                rtt_ms: Some((0.031, 0.042, 0.055))
            })
        );
        let lossy = "--- 192.0.2.1 ping statistics ---\n4 packets transmitted, 1 received, +2 errors, 75% packet loss, time 3000ms\nrtt min/avg/max/mdev = 1.5/1.5/1.5/0.0 ms\n";
        let s = parse_ping(lossy).unwrap();
        assert_eq!((s.received, s.loss_percent), (1, 75.0));
        let dead = "--- 192.0.2.1 ping statistics ---\n2 packets transmitted, 0 received, 100% packet loss, time 1000ms\n\n";
        assert_eq!(parse_ping(dead).unwrap().rtt_ms, None);
        assert_eq!(parse_ping("ping: unknown host"), None);
    }

    #[test]
    fn options_are_checked() {
        for bad in [
            json!({}),
            json!({"hosts": ["-f"]}),
            json!({"hosts": ["a"], "count": 0}),
        ] {
            let o = Options::new("ping_monitor", &bad).unwrap();
            assert!(PingMonitor::new(&o).is_err(), "{bad}");
        }
    }
}
