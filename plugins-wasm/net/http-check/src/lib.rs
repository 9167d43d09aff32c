//! `http_check` (contract 0.3.0): requests `url` and reports the status, how long the
//! answer took and, with `expect`, whether the body holds that text. CRITICAL for a
//! status outside `status` (default `200-399`), a body without `expect`, or no answer;
//! WARNING or CRITICAL for an answer slower than `warning_ms` / `critical_ms`. A
//! redirect is not followed: it is the answer (3xx is within the default statuses).
//! Settings: `url` (required), `method` (default GET), `status`, `expect`,
//! `warning_ms` (default 1000), `critical_ms` (default 5000), `timeout_ms` (default
//! 10000), `max_body_bytes` (default 1048576), `verify_tls` (default `true`).

use hbd_plugin_sdk::prelude::*;

struct HttpCheck;

/// `200-399` or `200,204`: whether `status` is one of them.
fn status_allowed(spec: &str, status: u16) -> Result<bool, String> {
    for part in spec.split(',') {
        let part = part.trim();
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let num = |s: &str| {
            s.trim()
                .parse::<u16>()
                .map_err(|_| format!("config status: {part:?} is not a status or a range"))
        };
        if (num(a)?..=num(b)?).contains(&status) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Plugin for HttpCheck {
    const NAME: &'static str = "http_check";

    fn info() -> PluginInfo {
        PluginInfo::monitor(
            "http_check",
            "an HTTP(S) endpoint's status, latency and body",
        )
        .every(60)
        .version(env!("CARGO_PKG_VERSION"))
    }

    fn collect(config: &Settings) -> Result<Report, String> {
        let url = config.get("url").ok_or("config url is required")?;
        let request = host::HttpRequest {
            method: config.get("method").unwrap_or("GET").to_owned(),
            url: url.to_owned(),
            headers: vec![("user-agent".into(), "hbc http_check".into())],
            body: None,
            timeout_ms: config.parse("timeout_ms")?.unwrap_or(10_000),
            max_body_bytes: config.parse("max_body_bytes")?.unwrap_or(1 << 20),
            verify_tls: config.parse("verify_tls")?.unwrap_or(true),
        };
        let warning_ms: f64 = config.parse("warning_ms")?.unwrap_or(1000.0);
        let critical_ms: f64 = config.parse("critical_ms")?.unwrap_or(5000.0);
        let answer = match host::http(&request) {
            Ok(answer) => answer,
            // Not granted, or a name that does not resolve: the check itself is wrong.
            Err(e @ (host::NetError::NotGranted(_) | host::NetError::Dns(_))) => {
                return Err(e.into());
            }
            Err(e) => {
                let why: String = e.into();
                return Ok(Report::new().status(Status::Critical, &format!("{url}: {why}")));
            }
        };
        let ms = f64::from(answer.elapsed_ms);
        let mut report = Report::new()
            .metric(&["status_code"], answer.status)
            .metric(&["response_ms"], ms)
            .metric(&["body_bytes"], answer.body.len() as u64)
            .metric(&["address"], answer.address.as_str());
        if let Some(tls) = &answer.tls {
            if let Some(leaf) = tls.chain.first() {
                let days = (leaf.not_after_ms - host::now_ms() as i64) as f64 / 86_400_000.0;
                report = report.metric(&["tls", "days_left"], (days * 10.0).round() / 10.0);
            }
            report = report.metric(&["tls", "trusted"], tls.trusted.is_ok());
        }
        let allowed = status_allowed(config.get("status").unwrap_or("200-399"), answer.status)?;
        if !allowed {
            return Ok(report.status(
                Status::Critical,
                &format!("{url} answered {}", answer.status),
            ));
        }
        if let Some(expected) = config.get("expect") {
            let body = String::from_utf8_lossy(&answer.body);
            if !body.contains(expected) {
                let kept = if answer.truncated {
                    " (of the part kept)"
                } else {
                    ""
                };
                return Ok(report.status(
                    Status::Critical,
                    &format!("{url}: {expected:?} not in the body{kept}"),
                ));
            }
        }
        let status = if ms > critical_ms {
            Status::Critical
        } else if ms > warning_ms {
            Status::Warning
        } else {
            Status::Ok
        };
        Ok(report.status(
            status,
            &format!("{url} answered {} in {ms:.0} ms", answer.status),
        ))
    }
}

export_plugin!(HttpCheck);
