//! Facts about this host the heartbeat carries: its name and uptime.

use std::path::Path;

/// This machine's host name, made protocol-safe (characters outside `A-Z a-z 0-9 . - _`
/// become `-`).
pub fn hostname() -> String {
    #[cfg(unix)]
    let raw = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok());
    // The computer's NetBIOS name, as Windows sets it for every process.
    #[cfg(windows)]
    let raw = std::env::var("COMPUTERNAME").ok();
    sanitize(&raw.unwrap_or_else(|| "localhost".into()))
}

fn sanitize(raw: &str) -> String {
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(hb_proto::name::MAX_NAME_LEN)
        .collect();
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

/// Seconds since boot, from `PROC/uptime`.
pub fn uptime(proc_root: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(proc_root.join("uptime")).ok()?;
    parse_uptime(&text)
}

/// Parses the first field of `/proc/uptime`.
pub fn parse_uptime(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uptime_and_sanitizes_names() {
        assert_eq!(parse_uptime("12345.67 23456.78\n"), Some(12345.67));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(sanitize("my host!"), "my-host-");
        assert_eq!(sanitize(""), "localhost");
        assert!(hb_proto::validate_name(&hostname()).is_ok());
    }
}
