//! Numbers for people: a value in a message is shown by the unit its metric path names,
//! one fixed rule per unit (docs/THRESHOLD_ALERTING.md, "Numbers in messages"), so
//! `memory_monitor.percent = 4.84166` reads `4.8 %` and `disk.free_gb = 1.5` reads
//! `1.50 GiB`. Pure; the unit words are the ones remote_write scales by.

use std::time::Duration;

use crate::remote_write::convention::{unit, words};
use crate::render;

/// What a path's name says its values measure.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Percent,
    /// Bytes, times this factor.
    Bytes(f64),
    /// Seconds, times this factor.
    Seconds(f64),
    /// Something per second: the measured unit (or none), per this many seconds.
    Rate(Option<f64>, f64),
    /// A plain number.
    Number,
}

/// The unit of a single word, as bytes or seconds with its factor.
fn word_unit(word: &str) -> Option<Unit> {
    match word {
        "bytes" => return Some(Unit::Bytes(1.0)),
        "seconds" | "second" => return Some(Unit::Seconds(1.0)),
        _ => {}
    }
    match unit(word)? {
        ("bytes", f) => Some(Unit::Bytes(f)),
        (_, f) => Some(Unit::Seconds(f)),
    }
}

/// The unit the last name of `path` ends with (`disk_monitor./.free_gb` -> GiB).
fn unit_of(path: &str) -> Unit {
    if path.ends_with('%') {
        return Unit::Percent;
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    let w = words(last);
    let n = w.len();
    match w.last().map(String::as_str) {
        None => Unit::Number,
        Some("percent" | "pct") => Unit::Percent,
        Some(word) => {
            let per = n >= 2 && w[n - 2] == "per";
            match (word_unit(word), per) {
                (Some(Unit::Seconds(f)), true) => {
                    let measured = match (n >= 3).then(|| word_unit(&w[n - 3])).flatten() {
                        Some(Unit::Bytes(b)) => Some(b),
                        _ => None,
                    };
                    Unit::Rate(measured, f)
                }
                (Some(u), false) => u,
                _ => Unit::Number,
            }
        }
    }
}

/// Three significant digits for a number from 1 to 1023: `1.50`, `15.3`, `153`.
fn three_digits(v: f64) -> String {
    let size = v.abs();
    if size < 10.0 {
        format!("{v:.2}")
    } else if size < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Bytes in binary units: `512 B`, `1.50 KiB`, `15.3 GiB`.
fn bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if b.abs() < 1024.0 {
        return format!("{b:.0} B");
    }
    let mut v = b;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{} {}", three_digits(v), UNITS[i - 1])
}

/// Seconds as people read them: `850 µs`, `350 ms`, `2.5 s`, `1m 5s`, `2h 3m 4s`.
fn seconds(s: f64) -> String {
    let size = s.abs();
    let sign = if s < 0.0 { "-" } else { "" };
    if size == 0.0 {
        "0 s".into()
    } else if size < 0.001 {
        format!("{sign}{} µs", three_digits(size * 1e6))
    } else if size < 1.0 {
        format!("{sign}{} ms", three_digits(size * 1e3))
    } else if size < 60.0 {
        format!("{sign}{} s", render::value((size * 10.0).round() / 10.0))
    } else {
        format!(
            "{sign}{}",
            render::duration(Duration::from_secs(size.round() as u64))
        )
    }
}

/// `v` as a message shows it, by the unit `path` names:
/// - `...percent`, `...pct`, `...%`: one decimal and ` %` (`4.8 %`);
/// - bytes (`..._b`, `..._bytes`, `..._kb` ... `..._pb`, binary multiples): binary
///   units, three significant digits (`1.50 GiB`, `512 B`);
/// - time (`..._ms`, `..._s`, `..._seconds`, `..._minutes`, `..._hours`, `..._days`):
///   `850 µs`, `350 ms`, `2.5 s`, then `1m 5s`;
/// - `..._per_s` (or `_per_second`): per second, bytes as above (`12.0 MiB/s`), a plain
///   number otherwise (`12.5/s`);
/// - anything else: at most three decimals ([`render::value`]).
///
/// Infinite and NaN values are shown as they are.
pub fn shown(path: &str, v: f64) -> String {
    if !v.is_finite() {
        return render::value(v);
    }
    match unit_of(path) {
        Unit::Percent => format!("{v:.1} %"),
        Unit::Bytes(f) => bytes(v * f),
        Unit::Seconds(f) => seconds(v * f),
        Unit::Rate(Some(b), per) => format!("{}/s", bytes(v * b / per)),
        Unit::Rate(None, per) => format!("{}/s", render::value(v / per)),
        Unit::Number => render::value(v),
    }
}

/// A threshold with its operator as a message shows it: `> 90.0 %`.
pub fn threshold(path: &str, operator: &str, t: f64) -> String {
    format!("{operator} {}", shown(path, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented rule, as golden outputs.
    #[test]
    fn each_unit_has_its_rule() {
        for (path, v, want) in [
            ("memory_monitor.percent", 4.841_666, "4.8 %"),
            ("cpu_monitor.cpu_percent", 85.0, "85.0 %"),
            ("disk_monitor./.percent", 100.0, "100.0 %"),
            ("nagios_runner.disk.used%", 93.25, "93.2 %"),
            ("disk_monitor./.free_gb", 1.5, "1.50 GiB"),
            ("disk_monitor./.free_gb", 153.4, "153 GiB"),
            ("disk_monitor./.free_gb", 0.25, "256 MiB"),
            ("memory_monitor.available_mb", 15_667.0, "15.3 GiB"),
            ("net.rx_bytes", 512.0, "512 B"),
            ("net.rx_bytes", 1536.0, "1.50 KiB"),
            ("store.size_tb", 2048.0, "2.00 PiB"),
            ("web.latency_ms", 350.0, "350 ms"),
            ("web.latency_ms", 2.5, "2.50 ms"),
            ("web.latency_ms", 0.85, "850 µs"),
            ("web.latency_ms", 2500.0, "2.5 s"),
            ("web.latency_s", 65.4, "1m 5s"),
            ("uptime_monitor.uptime_seconds", 7384.0, "2h 3m 4s"),
            ("backup.age_hours", 26.0, "1day 2h"),
            ("clock.offset_s", -0.012, "-12.0 ms"),
            ("clock.offset_s", 0.0, "0 s"),
            (
                "disk.read_bytes_per_s",
                12.0 * 1024.0 * 1024.0,
                "12.0 MiB/s",
            ),
            ("nginx.requests_per_s", 12.5, "12.5/s"),
            ("nginx.requests_per_minutes", 120.0, "2.0/s"),
            ("load_monitor.load_1m", 0.123_45, "0.123"),
            ("load_monitor.load_15m", 3.0, "3.0"),
            ("process_monitor.count", 7.0, "7.0"),
            ("items", 2.0, "2.0"),
            ("web.latency_ms", f64::INFINITY, "inf"),
        ] {
            assert_eq!(shown(path, v), want, "{path} = {v}");
        }
    }

    #[test]
    fn a_threshold_reads_with_its_operator() {
        assert_eq!(threshold("cpu_monitor.cpu_percent", ">", 90.0), "> 90.0 %");
        assert_eq!(threshold("disk./.free_gb", "<=", 2.0), "<= 2.00 GiB");
    }
}
