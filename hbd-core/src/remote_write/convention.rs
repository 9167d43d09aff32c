//! Series names by Prometheus' naming rules, as `promtool check metrics` applies them:
//! snake_case, base units (seconds, bytes) with the value scaled to match, no
//! abbreviated units, and no suffix Prometheus keeps for counters and histograms on a
//! value hbd writes as a plain gauge. Pure; the writer and the chart reader use the same
//! function, so a value scaled on the way out is scaled back on the way in.

/// A unit written as a base one: its name in the series name and the factor to it.
pub(crate) fn unit(token: &str) -> Option<(&'static str, f64)> {
    const KIB: f64 = 1024.0;
    Some(match token {
        "ns" | "nanoseconds" => ("seconds", 1e-9),
        "us" | "microseconds" => ("seconds", 1e-6),
        "ms" | "milliseconds" => ("seconds", 1e-3),
        "s" | "sec" | "secs" => ("seconds", 1.0),
        "minutes" => ("seconds", 60.0),
        "h" | "hours" => ("seconds", 3600.0),
        "d" | "days" => ("seconds", 86_400.0),
        "b" => ("bytes", 1.0),
        "bits" => ("bytes", 0.125),
        "kb" | "kib" | "kilobytes" => ("bytes", KIB),
        "mb" | "mib" | "megabytes" => ("bytes", KIB * KIB),
        "gb" | "gib" | "gigabytes" => ("bytes", KIB * KIB * KIB),
        "tb" | "tib" | "terabytes" => ("bytes", KIB * KIB * KIB * KIB),
        "pb" | "pib" | "petabytes" => ("bytes", KIB * KIB * KIB * KIB * KIB),
        _ => return None,
    })
}

/// Suffixes Prometheus gives counters (`_total`) and histograms or summaries (`_count`,
/// `_sum`, `_bucket`): a gauge ending so gets `_value` after it.
const RESERVED: &[&str] = &["total", "count", "sum", "bucket"];

/// The words of a raw name: split at `_` and at lower-to-upper case changes, lowercase.
pub(crate) fn words(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in raw.split('_').filter(|p| !p.is_empty()) {
        let mut word = String::new();
        let mut prev_lower = false;
        for c in part.chars() {
            if c.is_ascii_uppercase() && prev_lower && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            word.push(c.to_ascii_lowercase());
        }
        out.push(word);
    }
    out
}

/// `raw` (`hbd_` and ASCII letters, digits and `_`) as a conventional name, and the
/// factor its values are multiplied by: `hbd_disk_monitor_partitions_free_gb` becomes
/// `hbd_disk_monitor_partitions_free_bytes` (x 2^30), `..._read_bytes_per_s`
/// `..._read_bytes_per_second`, `..._errors_total` `..._errors_total_value`.
pub fn name(raw: &str) -> (String, f64) {
    let mut words = words(raw);
    let mut factor = 1.0;
    let mut scaled = false;
    for i in 1..words.len() {
        let Some((base, f)) = unit(&words[i]) else {
            continue;
        };
        if words[i - 1] == "per" {
            // A rate: per second, its value scaled the other way.
            if base == "seconds" {
                words[i] = "second".to_owned();
                if !scaled {
                    factor = 1.0 / f;
                    scaled = true;
                }
            } else {
                words[i] = base.trim_end_matches('s').to_owned();
            }
        } else {
            words[i] = base.to_owned();
            if !scaled {
                factor = f;
                scaled = true;
            }
        }
    }
    if words.last().is_some_and(|w| RESERVED.contains(&w.as_str())) {
        words.push("value".to_owned());
    }
    (words.join("_"), factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_rules_and_values_move_to_base_units() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        // (raw, name, factor)
        let table: &[(&str, &str, f64)] = &[
            (
                "hbd_cpu_monitor_cpu_percent",
                "hbd_cpu_monitor_cpu_percent",
                1.0,
            ),
            (
                "hbd_cpu_monitor_load_1min",
                "hbd_cpu_monitor_load_1min",
                1.0,
            ),
            (
                "hbd_memory_monitor_total_mb",
                "hbd_memory_monitor_total_bytes",
                1024.0 * 1024.0,
            ),
            (
                "hbd_disk_monitor_partitions_free_gb",
                "hbd_disk_monitor_partitions_free_bytes",
                gib,
            ),
            (
                "hbd_disk_monitor_io_read_bytes_per_s",
                "hbd_disk_monitor_io_read_bytes_per_second",
                1.0,
            ),
            ("hbd_x_requests_per_ms", "hbd_x_requests_per_second", 1000.0),
            (
                "hbd_ping_monitor_rtt_ms",
                "hbd_ping_monitor_rtt_seconds",
                1e-3,
            ),
            ("hbd_x_latency_ms_p99", "hbd_x_latency_seconds_p99", 1e-3),
            ("hbd_x_uptime_s", "hbd_x_uptime_seconds", 1.0),
            (
                "hbd_network_monitor_errors_total",
                "hbd_network_monitor_errors_total_value",
                1.0,
            ),
            (
                "hbd_cpu_monitor_cpu_count",
                "hbd_cpu_monitor_cpu_count_value",
                1.0,
            ),
            ("hbd_app_queueLength", "hbd_app_queue_length", 1.0),
            (
                "hbd_network_monitor_tcp_connections_ESTABLISHED",
                "hbd_network_monitor_tcp_connections_established",
                1.0,
            ),
            ("hbd_x_a__b", "hbd_x_a_bytes", 1.0),
            (
                "hbd_x_size_kb_total",
                "hbd_x_size_bytes_total_value",
                1024.0,
            ),
            // Only the first unit scales the value.
            ("hbd_x_wait_ms_per_s", "hbd_x_wait_seconds_per_second", 1e-3),
        ];
        for (raw, want, f) in table {
            let (got, factor) = name(raw);
            assert_eq!(&got, want, "{raw}");
            assert!((factor - f).abs() <= f * 1e-12, "{raw}: {factor} != {f}");
        }
    }
}
