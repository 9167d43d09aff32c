//! `network_monitor`: per-interface bytes, packets, errors and drops with rates
//! (`PROC/net/dev`), totals of errors and drops, and TCP connection counts. Elsewhere
//! than Linux, bytes, packets and errors from sysinfo (`portable.rs`).
//!
//! By default the TCP counts come from the kernel's counters (`PROC/net/snmp`
//! `CurrEstab`, `PROC/net/sockstat` `inuse`/`tw`/`orphan`): reading `PROC/net/tcp`
//! makes the kernel walk its whole connection hash table, which measured 5 ms of system
//! time per file on a 24 GiB host with three sockets, more than every other collector
//! together. `tcp_states: true` adds the full per-state breakdown from
//! `PROC/net/tcp` and `tcp6` for hosts where that cost is acceptable.
// The /proc readers are Linux's: elsewhere they are compiled (and unit-tested on Linux)
// but not called.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use hb_proto::PluginKind;
use serde_json::{Map, Value, json};

#[cfg(target_os = "linux")]
use super::read;
use super::{Collected, Options, Plugin, PluginError};

/// Counters of one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetCounters {
    /// Received bytes.
    pub rx_bytes: u64,
    /// Received packets.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Sent bytes.
    pub tx_bytes: u64,
    /// Sent packets.
    pub tx_packets: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Sent packets dropped.
    pub tx_dropped: u64,
}

/// Parses `/proc/net/dev`.
pub fn parse_net_dev(text: &str) -> Result<BTreeMap<String, NetCounters>, PluginError> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let n: Vec<u64> = rest
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        if n.len() < 16 {
            return Err(PluginError::Parse {
                what: "/proc/net/dev",
                detail: format!("short line for {}", name.trim()),
            });
        }
        out.insert(
            name.trim().to_owned(),
            NetCounters {
                rx_bytes: n[0],
                rx_packets: n[1],
                rx_errors: n[2],
                rx_dropped: n[3],
                tx_bytes: n[8],
                tx_packets: n[9],
                tx_errors: n[10],
                tx_dropped: n[11],
            },
        );
    }
    Ok(out)
}

const TCP_STATES: [&str; 12] = [
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

/// Adds the connections of a `/proc/net/tcp` or `tcp6` text to `counts` by state name.
pub fn count_tcp_states(text: &str, counts: &mut BTreeMap<&'static str, u64>) {
    for line in text.lines().skip(1) {
        let Some(state) = line.split_whitespace().nth(3) else {
            continue;
        };
        let Ok(code) = u8::from_str_radix(state, 16) else {
            continue;
        };
        if let Some(name) = TCP_STATES.get(usize::from(code).wrapping_sub(1)) {
            *counts.entry(name).or_insert(0) += 1;
        }
    }
}

/// TCP counters from `/proc/net/sockstat` (`inuse`, `orphan`, `tw`) and the `Tcp:`
/// `CurrEstab` of `/proc/net/snmp`, as a state-name map.
pub fn tcp_counters(sockstat: &str, snmp: &str) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    if let Some(line) = sockstat.lines().find(|l| l.starts_with("TCP:")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        for pair in f[1..].chunks(2) {
            let [key, value] = pair else { continue };
            let Ok(n) = value.parse() else { continue };
            match *key {
                "inuse" => out.insert("in_use", n),
                "orphan" => out.insert("orphan", n),
                "tw" => out.insert("TIME_WAIT", n),
                _ => None,
            };
        }
    }
    let tcp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Tcp:")).collect();
    if let [header, values] = tcp[..] {
        let names = header.split_whitespace();
        if let Some((_, v)) = names
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "CurrEstab")
            && let Ok(n) = v.parse()
        {
            out.insert("ESTABLISHED", n);
        }
    }
    out
}

/// The plugin.
#[derive(Debug)]
pub struct NetworkMonitor {
    proc_root: PathBuf,
    tcp_states: bool,
    previous: Option<(Instant, BTreeMap<String, NetCounters>)>,
}

impl NetworkMonitor {
    /// From options (`tcp_states`).
    pub fn new(options: &Options) -> Result<NetworkMonitor, PluginError> {
        Ok(NetworkMonitor {
            proc_root: options.proc_root(),
            tcp_states: options.flag("tcp_states", false)?,
            previous: None,
        })
    }

    /// Each interface's counters (drops only with `drops`) and rates since the previous
    /// collection, which these counters then become; and the totals of errors and drops.
    fn interfaces(
        &mut self,
        counters: BTreeMap<String, NetCounters>,
        drops: bool,
    ) -> (Map<String, Value>, u64, u64) {
        let now = Instant::now();
        let mut interfaces = Map::new();
        let (mut errors_total, mut dropped_total) = (0u64, 0u64);
        for (name, c) in &counters {
            errors_total += c.rx_errors + c.tx_errors;
            dropped_total += c.rx_dropped + c.tx_dropped;
            let mut d = Map::new();
            let dropped = [("rx_dropped", c.rx_dropped), ("tx_dropped", c.tx_dropped)];
            for (key, value) in [
                ("rx_bytes", c.rx_bytes),
                ("tx_bytes", c.tx_bytes),
                ("rx_packets", c.rx_packets),
                ("tx_packets", c.tx_packets),
                ("rx_errors", c.rx_errors),
                ("tx_errors", c.tx_errors),
            ]
            .into_iter()
            .chain(dropped.into_iter().filter(|_| drops))
            {
                d.insert(key.into(), json!(value));
            }
            if let Some((then, prev)) = &self.previous
                && let Some(p) = prev.get(name)
            {
                let secs = now.duration_since(*then).as_secs_f64().max(1e-3);
                let rate =
                    |a: u64, b: u64| (a.saturating_sub(b) as f64 / secs * 10.0).round() / 10.0;
                d.insert("rx_bytes_per_s".into(), json!(rate(c.rx_bytes, p.rx_bytes)));
                d.insert("tx_bytes_per_s".into(), json!(rate(c.tx_bytes, p.tx_bytes)));
                d.insert(
                    "rx_packets_per_s".into(),
                    json!(rate(c.rx_packets, p.rx_packets)),
                );
                d.insert(
                    "tx_packets_per_s".into(),
                    json!(rate(c.tx_packets, p.tx_packets)),
                );
                let errs = (c.rx_errors + c.tx_errors).saturating_sub(p.rx_errors + p.tx_errors);
                d.insert("errors_per_s".into(), json!(rate(errs, 0)));
            }
            interfaces.insert(name.clone(), Value::Object(d));
        }
        self.previous = Some((now, counters));
        (interfaces, errors_total, dropped_total)
    }
}

impl Plugin for NetworkMonitor {
    fn name(&self) -> &'static str {
        "network_monitor"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }

    /// Elsewhere than Linux: bytes, packets and errors per interface, with rates, and
    /// the errors' total; drops and TCP connections are left out (not every OS counts
    /// them for sysinfo to read).
    #[cfg(not(target_os = "linux"))]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let counters: BTreeMap<String, NetCounters> = super::portable::interfaces()?
            .into_iter()
            .map(|i| {
                let c = NetCounters {
                    rx_bytes: i.rx_bytes,
                    rx_packets: i.rx_packets,
                    rx_errors: i.rx_errors,
                    tx_bytes: i.tx_bytes,
                    tx_packets: i.tx_packets,
                    tx_errors: i.tx_errors,
                    ..NetCounters::default()
                };
                (i.name, c)
            })
            .collect();
        let (interfaces, errors_total, _) = self.interfaces(counters, false);
        let mut data = Map::new();
        data.insert("interfaces".into(), Value::Object(interfaces));
        data.insert("errors_total".into(), json!(errors_total));
        Ok(Collected { data, status: None })
    }

    #[cfg(target_os = "linux")]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let counters = parse_net_dev(&read(self.proc_root.join("net/dev"))?)?;
        let (interfaces, errors_total, dropped_total) = self.interfaces(counters, true);
        let tcp = if self.tcp_states {
            let mut tcp = BTreeMap::new();
            for file in ["net/tcp", "net/tcp6"] {
                if let Ok(text) = std::fs::read_to_string(self.proc_root.join(file)) {
                    count_tcp_states(&text, &mut tcp);
                }
            }
            tcp
        } else {
            let sockstat =
                std::fs::read_to_string(self.proc_root.join("net/sockstat")).unwrap_or_default();
            let snmp = std::fs::read_to_string(self.proc_root.join("net/snmp")).unwrap_or_default();
            tcp_counters(&sockstat, &snmp)
        };
        let mut data = Map::new();
        data.insert("interfaces".into(), Value::Object(interfaces));
        data.insert("errors_total".into(), json!(errors_total));
        data.insert("dropped_total".into(), json!(dropped_total));
        data.insert("tcp_connections".into(), json!(tcp));
        Ok(Collected { data, status: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 5000000  4000    2    3    0     0          0         0  2000000    3000    1    4    0     0       0          0
";

    #[test]
    fn parses_interfaces() {
        let d = parse_net_dev(DEV).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d["eth0"],
            NetCounters {
                rx_bytes: 5_000_000,
                rx_packets: 4000,
                rx_errors: 2,
                rx_dropped: 3,
                tx_bytes: 2_000_000,
                tx_packets: 3000,
                tx_errors: 1,
                tx_dropped: 4
            }
        );
        assert!(parse_net_dev("h1\nh2\n  eth0: 1 2 3\n").is_err());
    }

    #[test]
    fn tcp_counters_from_kernel_counters() {
        let sockstat =
            "sockets: used 8\nTCP: inuse 5 orphan 1 tw 3 alloc 9 mem 132\nUDP: inuse 0 mem 0\n";
        let snmp = "Tcp: RtoAlgorithm RtoMin CurrEstab InSegs\nTcp: 1 200 4 24812\n";
        let c = tcp_counters(sockstat, snmp);
        assert_eq!(c.get("in_use"), Some(&5));
        assert_eq!(c.get("orphan"), Some(&1));
        assert_eq!(c.get("TIME_WAIT"), Some(&3));
        assert_eq!(c.get("ESTABLISHED"), Some(&4));
        assert!(tcp_counters("", "").is_empty());
    }

    #[test]
    fn counts_tcp_states() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:D2F0 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:D2F1 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
";
        let mut counts = BTreeMap::new();
        count_tcp_states(tcp, &mut counts);
        assert_eq!(counts.get("LISTEN"), Some(&1));
        assert_eq!(counts.get("ESTABLISHED"), Some(&2));
        assert_eq!(counts.get("TIME_WAIT"), Some(&1));
    }
}
