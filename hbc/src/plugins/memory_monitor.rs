//! `memory_monitor`: memory and swap use from `PROC/meminfo` (elsewhere than Linux,
//! sysinfo's figures under meminfo's names: `portable.rs`).

use std::collections::HashMap;
use std::path::PathBuf;

use hb_proto::PluginKind;
use serde_json::{Map, json};

#[cfg(target_os = "linux")]
use super::read;
use super::{Collected, Options, Plugin, PluginError};

/// Fields of `/proc/meminfo` in KiB.
pub fn parse_meminfo(text: &str) -> HashMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let (key, rest) = l.split_once(':')?;
            let kib = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.trim(), kib))
        })
        .collect()
}

/// The plugin's metrics from meminfo fields.
pub fn metrics(m: &HashMap<&str, u64>) -> Result<Map<String, serde_json::Value>, PluginError> {
    let get = |k: &str| {
        m.get(k).copied().ok_or_else(|| PluginError::Parse {
            what: "/proc/meminfo",
            detail: format!("no {k}"),
        })
    };
    let total = get("MemTotal")?;
    // Kernels before 3.14 have no MemAvailable: approximate as free + buffers + cached.
    let available = get("MemAvailable").or_else(|_| {
        Ok::<u64, PluginError>(
            get("MemFree")?
                + m.get("Buffers").copied().unwrap_or(0)
                + m.get("Cached").copied().unwrap_or(0),
        )
    })?;
    let swap_total = m.get("SwapTotal").copied().unwrap_or(0);
    let swap_used = swap_total.saturating_sub(m.get("SwapFree").copied().unwrap_or(0));
    let used = total.saturating_sub(available);
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            (10_000.0 * part as f64 / whole as f64).round() / 100.0
        }
    };
    let mb = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    let mut data = Map::new();
    data.insert("percent".into(), json!(pct(used, total)));
    data.insert("total_mb".into(), json!(mb(total)));
    data.insert("used_mb".into(), json!(mb(used)));
    data.insert("available_mb".into(), json!(mb(available)));
    data.insert("swap_percent".into(), json!(pct(swap_used, swap_total)));
    data.insert("swap_total_mb".into(), json!(mb(swap_total)));
    data.insert("swap_used_mb".into(), json!(mb(swap_used)));
    Ok(data)
}

/// The plugin.
#[derive(Debug)]
pub struct MemoryMonitor {
    proc_root: PathBuf,
}

impl MemoryMonitor {
    /// From options.
    pub fn new(options: &Options) -> MemoryMonitor {
        MemoryMonitor {
            proc_root: options.proc_root(),
        }
    }
}

impl Plugin for MemoryMonitor {
    fn name(&self) -> &'static str {
        "memory_monitor"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }

    fn collect(&mut self) -> Result<Collected, PluginError> {
        #[cfg(target_os = "linux")]
        let text = read(self.proc_root.join("meminfo"))?;
        #[cfg(target_os = "linux")]
        let fields = parse_meminfo(&text);
        #[cfg(not(target_os = "linux"))]
        let fields = {
            let _ = &self.proc_root;
            super::portable::meminfo()?
        };
        Ok(Collected {
            data: metrics(&fields)?,
            status: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_use_from_available() {
        let text = "MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    4096000 kB\nBuffers:          100 kB\nSwapTotal:       2048000 kB\nSwapFree:        1536000 kB\n";
        let d = metrics(&parse_meminfo(text)).unwrap();
        assert_eq!(d["percent"], 75.0);
        assert_eq!(d["total_mb"], 16000.0);
        assert_eq!(d["used_mb"], 12000.0);
        assert_eq!(d["available_mb"], 4000.0);
        assert_eq!(d["swap_percent"], 25.0);
        assert_eq!(d["swap_used_mb"], 500.0);
    }

    #[test]
    fn old_kernels_and_no_swap() {
        let text = "MemTotal: 1000 kB\nMemFree: 200 kB\nBuffers: 100 kB\nCached: 200 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n";
        let d = metrics(&parse_meminfo(text)).unwrap();
        assert_eq!(d["percent"], 50.0);
        assert_eq!(d["swap_percent"], 0.0);
        assert!(metrics(&parse_meminfo("nonsense")).is_err());
    }
}
