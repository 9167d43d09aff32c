//! `tls_expiry` (contract 0.3.0): how many days until the certificates a TLS server
//! presents expire, and whether they are trusted for the name asked. Flags at each of
//! `days` (default `30,14,7`): WARNING below the first, CRITICAL below the last, and the
//! metric `flag_days` names the smallest one crossed (0: none), so an alert on it is
//! told again as each is crossed. The soonest expiry of the whole chain counts (an
//! intermediate expires too). An untrusted chain is CRITICAL unless `require_trusted`
//! is `false` (a private CA the agent's system does not hold).
//! Settings: `host` (required), `port` (default 443), `server_name` (default `host`),
//! `days`, `require_trusted` (default `true`), `timeout_ms` (default 5000).

use hbd_plugin_sdk::prelude::*;

struct TlsExpiry;

const DAY_MS: f64 = 86_400_000.0;

/// `days` as thresholds, largest first.
fn thresholds(text: &str) -> Result<Vec<f64>, String> {
    let mut days: Vec<f64> = text
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .ok_or_else(|| format!("config days: {d:?} is not a number of days"))
        })
        .collect::<Result<_, _>>()?;
    if days.is_empty() {
        return Err("config days: none given".into());
    }
    days.sort_by(|a, b| b.total_cmp(a));
    Ok(days)
}

impl Plugin for TlsExpiry {
    const NAME: &'static str = "tls_expiry";

    fn info() -> PluginInfo {
        PluginInfo::monitor(
            "tls_expiry",
            "days until a TLS server's certificates expire, and whether they are trusted",
        )
        .every(3600)
        .version(env!("CARGO_PKG_VERSION"))
    }

    fn collect(config: &Settings) -> Result<Report, String> {
        let host = config.get("host").ok_or("config host is required")?;
        let port: u16 = config.parse("port")?.unwrap_or(443);
        let days = thresholds(config.get("days").unwrap_or("30,14,7"))?;
        let require_trusted: bool = config.parse("require_trusted")?.unwrap_or(true);
        let timeout_ms: u32 = config.parse("timeout_ms")?.unwrap_or(5000);
        let info = host::tls_certificates(host, port, config.get("server_name"), timeout_ms)?;
        let now = host::now_ms() as i64;
        let (soonest, which) = info
            .chain
            .iter()
            .map(|c| (c.not_after_ms, c.subject.as_str()))
            .min()
            .ok_or("the server presented no certificate")?;
        let left = (soonest - now) as f64 / DAY_MS;
        // The smallest threshold crossed; 0 when none is.
        let flag = days
            .iter()
            .copied()
            .filter(|d| left < *d)
            .reduce(f64::min)
            .unwrap_or(0.0);
        let leaf = &info.chain[0];
        let mut report = Report::new()
            .metric(&["days_left"], (left * 10.0).round() / 10.0)
            .metric(&["flag_days"], flag)
            .metric(&["not_after_ms"], soonest)
            .metric(&["subject"], leaf.subject.as_str())
            .metric(&["issuer"], leaf.issuer.as_str())
            .metric(&["trusted"], info.trusted.is_ok())
            .metric(&["protocol"], info.protocol.as_str())
            .metric(&["address"], info.address.as_str())
            .metric(&["handshake_ms"], info.handshake_ms);
        if let Err(why) = &info.trusted {
            report = report.metric(&["trust_error"], why.as_str());
        }
        let whose = if which == leaf.subject {
            String::new()
        } else {
            format!(" ({which})")
        };
        let (status, message) = if left < 0.0 {
            (
                Status::Critical,
                format!(
                    "{host}:{port} certificate expired {:.0} days ago{whose}",
                    -left
                ),
            )
        } else if require_trusted && info.trusted.is_err() {
            let why = info.trusted.as_ref().err().map_or("", String::as_str);
            (
                Status::Critical,
                format!("{host}:{port} certificate not trusted: {why}"),
            )
        } else if left < days[days.len() - 1] {
            (
                Status::Critical,
                format!("{host}:{port} certificate expires in {left:.1} days{whose}"),
            )
        } else if left < days[0] {
            (
                Status::Warning,
                format!("{host}:{port} certificate expires in {left:.1} days{whose}"),
            )
        } else {
            (
                Status::Ok,
                format!("{host}:{port} certificate valid for {left:.0} more days"),
            )
        };
        Ok(report.status(status, &message))
    }
}

export_plugin!(TlsExpiry);
