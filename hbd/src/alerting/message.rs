//! The exact texts of alert notifications.

use super::rule::Level;

/// A value as messages show it: one decimal for whole numbers (`85.0`), otherwise as
/// measured (`85.25`).
pub fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// `WARNING: webserver01 - cpu_monitor.cpu_percent = 85.0` (a raise), with
/// ` (CRITICAL -> WARNING)` on a partial recovery.
pub fn raised(level: Level, host: &str, path: &str, shown: &str, from: Option<Level>) -> String {
    match from {
        Some(from) if from > level => format!(
            "{}: {host} - {path} = {shown} ({} -> {})",
            level.as_str(),
            from.as_str(),
            level.as_str()
        ),
        _ => format!("{}: {host} - {path} = {shown}", level.as_str()),
    }
}

/// `RECOVERED: database01 - disk_monitor./.percent = 75.0 (WARNING -> OK)`.
pub fn recovered(host: &str, path: &str, shown: &str, from: Level) -> String {
    format!(
        "RECOVERED: {host} - {path} = {shown} ({} -> OK)",
        from.as_str()
    )
}

/// `REMINDER (CRITICAL): host - path = value (ongoing for 3600s)`.
pub fn reminder(level: Level, host: &str, path: &str, shown: &str, ongoing_s: u64) -> String {
    format!(
        "REMINDER ({}): {host} - {path} = {shown} (ongoing for {ongoing_s}s)",
        level.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_forms() {
        assert_eq!(
            raised(
                Level::Warning,
                "webserver01",
                "cpu_monitor.cpu_percent",
                &value(85.0),
                Some(Level::Ok)
            ),
            "WARNING: webserver01 - cpu_monitor.cpu_percent = 85.0"
        );
        assert_eq!(
            raised(
                Level::Critical,
                "webserver01",
                "cpu_monitor.cpu_percent",
                &value(97.5),
                None
            ),
            "CRITICAL: webserver01 - cpu_monitor.cpu_percent = 97.5"
        );
        assert_eq!(
            recovered(
                "database01",
                "disk_monitor./.percent",
                &value(75.0),
                Level::Warning
            ),
            "RECOVERED: database01 - disk_monitor./.percent = 75.0 (WARNING -> OK)"
        );
        assert_eq!(
            reminder(
                Level::Critical,
                "db1",
                "memory_monitor.percent",
                &value(96.0),
                3600
            ),
            "REMINDER (CRITICAL): db1 - memory_monitor.percent = 96.0 (ongoing for 3600s)"
        );
        assert_eq!(
            raised(Level::Warning, "h", "p", "82.0", Some(Level::Critical)),
            "WARNING: h - p = 82.0 (CRITICAL -> WARNING)"
        );
    }
}
