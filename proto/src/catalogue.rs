//! The built-in plugins of the agent: their names, kinds and the metrics they report.
//!
//! One list shared by the agent (which plugins exist, which run by default) and the
//! daemon (which threshold paths can match a report), so neither repeats the other.
//! A test in the agent runs every collector and checks that each metric it reports is
//! listed here.

/// How a plugin's reports can raise alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alerting {
    /// Numeric metrics compared with thresholds.
    Thresholds,
    /// One status per check in the report (`data.CHECK.status`): the plugin judges
    /// itself, thresholds do not apply.
    OwnStatus,
    /// Facts about the host, nothing to alert on.
    Info,
}

/// One built-in plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginSpec {
    /// The name reports and thresholds use.
    pub name: &'static str,
    /// Whether it runs without being listed in the agent's config.
    pub on_by_default: bool,
    /// How it alerts.
    pub alerting: Alerting,
    /// Metrics at the top of its data (`cpu_percent`).
    pub metrics: &'static [&'static str],
    /// Collections: one entry per item (mount point, interface, ...), each with these
    /// metrics (`partitions./.percent`). An empty metric list means the items are the
    /// metrics (`tcp_connections.ESTABLISHED`).
    pub collections: &'static [(&'static str, &'static [&'static str])],
}

/// The plugin whose reports carry one status per check (Nagios checks).
pub const STATUS_PLUGIN: &str = "nagios_runner";

/// Every built-in plugin, those on by default first.
pub const BUILT_IN: &[PluginSpec] = &[
    PluginSpec {
        name: "os_info",
        on_by_default: true,
        alerting: Alerting::Info,
        metrics: &[],
        collections: &[],
    },
    PluginSpec {
        name: "cpu_monitor",
        on_by_default: true,
        alerting: Alerting::Thresholds,
        metrics: &[
            "cpu_percent",
            "load_1min",
            "load_5min",
            "load_15min",
            "cpu_count",
            "frequency_mhz",
            "process_count",
            "thread_count",
        ],
        // One busy percentage per core (`per_core: true`): `per_core.0`.
        collections: &[("per_core", &[])],
    },
    PluginSpec {
        name: "memory_monitor",
        on_by_default: true,
        alerting: Alerting::Thresholds,
        metrics: &[
            "percent",
            "total_mb",
            "used_mb",
            "available_mb",
            "swap_percent",
            "swap_total_mb",
            "swap_used_mb",
        ],
        collections: &[],
    },
    PluginSpec {
        name: "disk_monitor",
        on_by_default: true,
        alerting: Alerting::Thresholds,
        metrics: &[],
        collections: &[
            (
                "partitions",
                &["percent", "free_gb", "free_mb", "total_gb", "used_gb"],
            ),
            (
                "io",
                &[
                    "reads",
                    "writes",
                    "read_bytes",
                    "write_bytes",
                    "read_bytes_per_s",
                    "write_bytes_per_s",
                    "busy_percent",
                ],
            ),
        ],
    },
    PluginSpec {
        name: "network_monitor",
        on_by_default: true,
        alerting: Alerting::Thresholds,
        metrics: &["errors_total", "dropped_total"],
        collections: &[
            (
                "interfaces",
                &[
                    "rx_bytes",
                    "tx_bytes",
                    "rx_packets",
                    "tx_packets",
                    "rx_errors",
                    "tx_errors",
                    "rx_dropped",
                    "tx_dropped",
                    "rx_bytes_per_s",
                    "tx_bytes_per_s",
                    "rx_packets_per_s",
                    "tx_packets_per_s",
                    "errors_per_s",
                ],
            ),
            ("tcp_connections", &[]),
        ],
    },
    PluginSpec {
        name: "filesystem_info",
        on_by_default: true,
        alerting: Alerting::Info,
        metrics: &[],
        collections: &[],
    },
    PluginSpec {
        name: "ping_monitor",
        on_by_default: false,
        alerting: Alerting::Thresholds,
        metrics: &[],
        collections: &[(
            "targets",
            &[
                "loss_percent",
                "rtt_min_ms",
                "rtt_avg_ms",
                "rtt_max_ms",
                "received",
                "transmitted",
            ],
        )],
    },
    PluginSpec {
        name: STATUS_PLUGIN,
        on_by_default: false,
        alerting: Alerting::OwnStatus,
        metrics: &[],
        collections: &[],
    },
];

/// The built-in plugin called `name`.
pub fn find(name: &str) -> Option<&'static PluginSpec> {
    BUILT_IN.iter().find(|p| p.name == name)
}

/// Keys that hold one entry per item in any built-in plugin; the daemon leaves them out
/// of shown alert paths (`disk_monitor./.percent`).
pub fn is_collection(key: &str) -> bool {
    BUILT_IN.iter().any(|p| {
        p.collections
            .iter()
            .any(|(c, m)| *c == key && !m.is_empty())
    })
}

/// Why a threshold path cannot match what a built-in plugin reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// No keys at all.
    #[error("empty path")]
    Empty,
    /// An `rtt` rule not of the form `rtt: HOST: {...}`.
    #[error("rtt rules are rtt: HOST: {{...}}")]
    Rtt,
    /// Not a built-in plugin: only a warning, since a WASM plugin may report it.
    #[error(
        "{0} is not a built-in plugin; make sure a (WASM) plugin of that name reports this path"
    )]
    NotBuiltIn(String),
    /// The Nagios runner: its checks alert through their own status.
    #[error("Nagios checks alert through their own status; they need no thresholds")]
    OwnStatus,
    /// An info plugin: nothing to alert on.
    #[error("{0} is an info plugin with no numeric metrics to alert on")]
    Info(String),
    /// A collection without that metric.
    #[error("{plugin} reports no metric {metric:?} under {collection}")]
    NoMetricUnder {
        /// The plugin.
        plugin: String,
        /// The collection.
        collection: String,
        /// The metric asked for.
        metric: String,
    },
    /// No such collection.
    #[error("{plugin} has no collection {collection:?}")]
    NoCollection {
        /// The plugin.
        plugin: String,
        /// The collection asked for.
        collection: String,
    },
    /// Nothing at that path.
    #[error("{plugin} reports no metric at {path:?}")]
    NoMetric {
        /// The plugin.
        plugin: String,
        /// The path below the plugin, dotted.
        path: String,
    },
}

/// Whether a threshold at `keys` (plugin first) can match what a built-in plugin
/// reports; the error says why not. A plugin that is not built in may report anything.
pub fn check_path(keys: &[String]) -> Result<(), PathError> {
    let Some((plugin, rest)) = keys.split_first() else {
        return Err(PathError::Empty);
    };
    if plugin == "rtt" {
        return if rest.len() == 1 {
            Ok(())
        } else {
            Err(PathError::Rtt)
        };
    }
    let Some(spec) = find(plugin) else {
        return Err(PathError::NotBuiltIn(plugin.clone()));
    };
    match spec.alerting {
        Alerting::OwnStatus => return Err(PathError::OwnStatus),
        Alerting::Info => return Err(PathError::Info(plugin.clone())),
        Alerting::Thresholds => {}
    }
    let collection = |name: &str| spec.collections.iter().find(|(c, _)| *c == name);
    match rest {
        [metric] if spec.metrics.contains(&metric.as_str()) => Ok(()),
        [name, _item, metric] => match collection(name) {
            Some((_, metrics)) if metrics.is_empty() || metrics.contains(&metric.as_str()) => {
                Ok(())
            }
            Some(_) => Err(PathError::NoMetricUnder {
                plugin: plugin.clone(),
                collection: name.clone(),
                metric: metric.clone(),
            }),
            None => Err(PathError::NoCollection {
                plugin: plugin.clone(),
                collection: name.clone(),
            }),
        },
        [name, _state] if collection(name).is_some_and(|(_, m)| m.is_empty()) => Ok(()),
        _ => Err(PathError::NoMetric {
            plugin: plugin.clone(),
            path: rest.join("."),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn threshold_paths() {
        for ok in [
            &["cpu_monitor", "cpu_percent"][..],
            &["disk_monitor", "partitions", "/", "percent"],
            &["network_monitor", "interfaces", "eth0", "rx_errors"],
            &["network_monitor", "errors_total"],
            &["network_monitor", "tcp_connections", "ESTABLISHED"],
            &["ping_monitor", "targets", "gw", "loss_percent"],
            &["rtt", "web1"],
        ] {
            assert_eq!(check_path(&keys(ok)), Ok(()), "{ok:?}");
        }
        for bad in [
            &["cpu_monitor", "cpu_percnt"][..],
            &["disk_monitor", "partitions", "/", "percnt"],
            &["disk_monitor", "percent"],
            &["my_wasm_plugin", "x"],
            &["nagios_runner", "check_load"],
            &["os_info", "kernel"],
        ] {
            assert!(check_path(&keys(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn collections_and_defaults() {
        assert!(is_collection("partitions") && is_collection("targets"));
        assert!(!is_collection("tcp_connections") && !is_collection("cpu_percent"));
        let defaults: Vec<&str> = BUILT_IN
            .iter()
            .filter(|p| p.on_by_default)
            .map(|p| p.name)
            .collect();
        assert_eq!(defaults.len(), 6);
        assert_eq!(
            find(STATUS_PLUGIN).map(|p| p.alerting),
            Some(Alerting::OwnStatus)
        );
    }
}
