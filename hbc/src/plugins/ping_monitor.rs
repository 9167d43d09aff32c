//! `ping_monitor`: round-trip times and loss to each of `hosts`, by running the system
//! `ping` per target with argv, never a shell. ICMP needs privileges the agent should
//! not hold; `ping` has them. Each OS's `ping` is asked and read in its own dialect
//! ([`Dialect`]): iputils on Linux, the BSD one on macOS and FreeBSD, Windows' own.

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

/// Which `ping` the agent runs: how it is asked, and what its summary looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Linux's iputils: `-c COUNT -i 0.2 -W SECONDS`, a `rtt min/avg/max/mdev` line.
    Iputils,
    /// macOS and FreeBSD: `-c COUNT -W MILLISECONDS` (a sub-second interval is the
    /// superuser's only), a `round-trip min/avg/max/stddev` line.
    Bsd,
    /// Windows: `-n COUNT -w MILLISECONDS`, `Packets: Sent = 3, Received = 3` and
    /// `Minimum = 0ms, Maximum = 1ms, Average = 0ms` (in English: a Windows of another
    /// language prints its own words, which are reported as the error they are).
    Windows,
}

impl Dialect {
    /// The `ping` of the OS the agent was built for.
    pub const fn native() -> Dialect {
        if cfg!(windows) {
            Dialect::Windows
        } else if cfg!(any(target_os = "linux", target_os = "android")) {
            Dialect::Iputils
        } else {
            Dialect::Bsd
        }
    }

    /// The arguments that ping `target` `count` times, waiting `wait` for each reply.
    pub fn argv(self, count: u32, wait: Duration, target: &str) -> Vec<String> {
        let count = count.to_string();
        let ms = wait.as_millis().max(1).to_string();
        let mut argv: Vec<String> = match self {
            Dialect::Iputils => {
                let seconds = format!("{}", wait.as_secs_f64().ceil().max(1.0));
                vec!["-n", "-q", "-c", &count, "-i", "0.2", "-W", &seconds]
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            }
            Dialect::Bsd => vec!["-n", "-q", "-c", &count, "-W", &ms]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Dialect::Windows => vec!["-n", &count, "-w", &ms]
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        argv.push(target.to_owned());
        argv
    }
}

/// The first number in `text` (digits with at most one point), if any.
fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn loss(transmitted: u64, received: u64) -> f64 {
    if transmitted == 0 {
        100.0
    } else {
        100.0 * transmitted.saturating_sub(received) as f64 / transmitted as f64
    }
}

/// Parses the summary of `ping` in any [`Dialect`]: iputils' and the BSDs'
/// `3 packets transmitted, 3 (packets) received, 0% packet loss` with their
/// `min/avg/max` line, or Windows' `Sent = 3, Received = 3` with its `Minimum =` line.
pub fn parse_ping(text: &str) -> Option<PingSummary> {
    if let Some(stats) = text.lines().find(|l| l.contains("packets transmitted")) {
        let part = |word: &str| {
            stats
                .split(',')
                .find(|p| p.contains(word))
                .and_then(first_number)
        };
        let transmitted = part("transmitted")? as u64;
        let received = part("received")? as u64;
        let loss_percent = part("packet loss").unwrap_or_else(|| loss(transmitted, received));
        let rtt_ms = text
            .lines()
            .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip"))
            .and_then(|l| l.split_once('=')?.1.split_whitespace().next())
            .and_then(|v| {
                let parts: Vec<f64> = v.split('/').filter_map(|p| p.parse().ok()).collect();
                (parts.len() >= 3).then(|| (parts[0], parts[1], parts[2]))
            });
        return Some(PingSummary {
            transmitted,
            received,
            loss_percent,
            rtt_ms,
        });
    }
    // Windows: `Name = value` pairs, separated by commas.
    let value = |line: &str, name: &str| {
        line.split(',')
            .find_map(|p| p.trim().strip_prefix(name)?.trim().strip_prefix('='))
            .and_then(first_number)
    };
    let stats = text.lines().find(|l| l.contains("Sent ="))?;
    let transmitted = value(stats, "Packets: Sent").or_else(|| value(stats, "Sent"))? as u64;
    let received = value(stats, "Received")? as u64;
    let rtt_ms = text
        .lines()
        .find(|l| l.contains("Minimum ="))
        .and_then(|l| {
            Some((
                value(l, "Minimum")?,
                value(l, "Average")?,
                value(l, "Maximum")?,
            ))
        });
    Some(PingSummary {
        transmitted,
        received,
        loss_percent: loss(transmitted, received),
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
            .args(Dialect::native().argv(self.count, self.wait, target))
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
                    // Windows' ping says what went wrong on its standard output.
                    None => {
                        let error = [&out.stderr, &out.stdout]
                            .iter()
                            .map(|o| String::from_utf8_lossy(o).trim().to_owned())
                            .find(|t| !t.is_empty())
                            .unwrap_or_else(|| format!("{} printed no summary", self.program));
                        json!({ "error": error, "loss_percent": 100.0 })
                    }
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
    fn parses_bsd_and_windows_summaries() {
        let bsd = "PING 127.0.0.1 (127.0.0.1): 56 data bytes\n\n--- 127.0.0.1 ping statistics ---\n3 packets transmitted, 2 packets received, 33.3% packet loss\nround-trip min/avg/max/stddev = 0.045/0.062/0.079/0.014 ms\n";
        assert_eq!(
            parse_ping(bsd),
            Some(PingSummary {
                transmitted: 3,
                received: 2,
                loss_percent: 33.3,
                rtt_ms: Some((0.045, 0.062, 0.079))
            })
        );
        let windows = "\r\nPinging 127.0.0.1 with 32 bytes of data:\r\nReply from 127.0.0.1: bytes=32 time<1ms TTL=128\r\n\r\nPing statistics for 127.0.0.1:\r\n    Packets: Sent = 4, Received = 3, Lost = 1 (25% loss),\r\nApproximate round trip times in milli-seconds:\r\n    Minimum = 0ms, Maximum = 12ms, Average = 4ms\r\n";
        assert_eq!(
            parse_ping(windows),
            Some(PingSummary {
                transmitted: 4,
                received: 3,
                loss_percent: 25.0,
                rtt_ms: Some((0.0, 4.0, 12.0))
            })
        );
        let unanswered = "Ping statistics for 192.0.2.1:\r\n    Packets: Sent = 2, Received = 0, Lost = 2 (100% loss),\r\n";
        let s = parse_ping(unanswered).unwrap();
        assert_eq!((s.received, s.loss_percent, s.rtt_ms), (0, 100.0, None));
        assert_eq!(
            parse_ping("Ping request could not find host nosuch. Please check the name."),
            None
        );
    }

    #[test]
    fn each_dialect_is_asked_in_its_own_words() {
        let wait = Duration::from_millis(1500);
        for (dialect, want) in [
            (Dialect::Iputils, "-n -q -c 3 -i 0.2 -W 2 gw.example"),
            (Dialect::Bsd, "-n -q -c 3 -W 1500 gw.example"),
            (Dialect::Windows, "-n 3 -w 1500 gw.example"),
        ] {
            assert_eq!(
                dialect.argv(3, wait, "gw.example").join(" "),
                want,
                "{dialect:?}"
            );
        }
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
