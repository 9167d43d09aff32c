//! `log_freshness`: alerts when a log stops moving. Reads only the tail of the granted
//! log file (the last `tail_bytes`, default 64 KiB, however large the log), takes the
//! last line there that starts with an RFC 3339 / ISO 8601 UTC timestamp
//! (`2026-11-24T05:10:00Z`, `2026-11-24T05:10:00.123Z`, `2026-11-24 05:10:00`), and
//! reports its age, with the file's size and the age of its last write from `stat`.
//! Settings: `path` (required), `warning_s` (default 300), `critical_s` (default 900),
//! `tail_bytes` (default 65536, at most 1048576).

use hbd_plugin_sdk::prelude::*;

struct LogFreshness;

/// Days from 1970-01-01 to a civil date (proleptic Gregorian), after H. Hinnant.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch of a line's leading `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z]`.
pub fn leading_timestamp_ms(line: &str) -> Option<i64> {
    let b = line.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| line.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut ms = 0;
    if b.get(19) == Some(&b'.') {
        let frac: String = line[20..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(3)
            .collect();
        ms = format!("{frac:0<3}").parse().unwrap_or(0);
    }
    Some(((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms)
}

impl Plugin for LogFreshness {
    const NAME: &'static str = "log_freshness";

    fn info() -> PluginInfo {
        PluginInfo::monitor(
            "log_freshness",
            "age of the newest timestamped line of a log file",
        )
        .every(60)
    }

    fn collect(config: &Settings) -> Result<Report, String> {
        let path = config.get("path").ok_or("config path is required")?;
        let warning_s: f64 = config.parse("warning_s")?.unwrap_or(300.0);
        let critical_s: f64 = config.parse("critical_s")?.unwrap_or(900.0);
        let tail_bytes: u32 = config.parse("tail_bytes")?.unwrap_or(64 * 1024);
        let (tail, stat) = host::read_tail(path, tail_bytes)?;
        let text = String::from_utf8_lossy(&tail);
        // A tail that starts inside the file may start inside a line: skip that one.
        let whole = match stat.size > tail.len() as u64 {
            true => text.split_once('\n').map_or("", |(_, rest)| rest),
            false => &text,
        };
        let newest = whole.lines().rev().find_map(leading_timestamp_ms);
        let now = host::now_ms() as i64;
        let mut report = Report::new().metric(&["bytes"], stat.size).metric(
            &["modified_age_s"],
            (now - stat.modified_ms).max(0) as f64 / 1000.0,
        );
        let Some(newest) = newest else {
            return Ok(report.status(
                Status::Unknown,
                &format!(
                    "no timestamped line in the last {} bytes of {path}",
                    tail.len()
                ),
            ));
        };
        let age_s = (now - newest).max(0) as f64 / 1000.0;
        report = report.metric(&["age_s"], age_s);
        let (status, verdict) = if age_s > critical_s {
            (Status::Critical, "stale")
        } else if age_s > warning_s {
            (Status::Warning, "getting stale")
        } else {
            (Status::Ok, "fresh")
        };
        Ok(report.status(
            status,
            &format!("{path} {verdict}: last line {age_s:.0} s old"),
        ))
    }
}

export_plugin!(LogFreshness);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(leading_timestamp_ms("1970-01-01T00:00:01Z x"), Some(1000));
        assert_eq!(
            leading_timestamp_ms("2026-11-24T05:10:00.5Z"),
            Some(1_795_497_000_500)
        );
        assert_eq!(
            leading_timestamp_ms("2026-11-24 05:10:00 msg"),
            Some(1_795_497_000_000)
        );
        assert_eq!(leading_timestamp_ms("Nov 24 05:10:00 host"), None);
        assert_eq!(leading_timestamp_ms("2026-13-24T05:10:00Z"), None);
    }
}
