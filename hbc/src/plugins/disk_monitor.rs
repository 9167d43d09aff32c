//! `disk_monitor`: space per physical mount point (`partitions`, keyed by mount point, via
//! statvfs) and I/O counters and rates per block device (`PROC/diskstats`). Elsewhere
//! than Linux, space per file system from sysinfo (`portable.rs`), without I/O.
// The /proc readers are Linux's: elsewhere they are compiled (and unit-tested on Linux)
// but not called.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use hb_proto::PluginKind;
use serde_json::{Map, Value, json};

#[cfg(target_os = "linux")]
use super::mounts::parse_mounts;
#[cfg(target_os = "linux")]
use super::read;
use super::{Collected, Options, Plugin, PluginError};

/// Counters of one block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoCounters {
    /// Reads completed.
    pub reads: u64,
    /// Writes completed.
    pub writes: u64,
    /// Bytes read (sectors x 512).
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Milliseconds spent doing I/O.
    pub busy_ms: u64,
}

/// Parses `/proc/diskstats`, skipping loop, ram and zram devices.
pub fn parse_diskstats(text: &str) -> BTreeMap<String, IoCounters> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 14 {
            continue;
        }
        let name = f[2];
        if name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram") {
            continue;
        }
        let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
        out.insert(
            name.to_owned(),
            IoCounters {
                reads: n(3),
                read_bytes: n(5) * 512,
                writes: n(7),
                write_bytes: n(9) * 512,
                busy_ms: n(12),
            },
        );
    }
    out
}

/// Space figures of one filesystem from statvfs numbers, as `df` computes them.
pub fn space(block_size: u64, blocks: u64, free: u64, available: u64) -> Map<String, Value> {
    let total = blocks * block_size;
    let used = (blocks - free.min(blocks)) * block_size;
    let avail = available * block_size;
    let percent = if used + avail == 0 {
        0.0
    } else {
        (10_000.0 * used as f64 / (used + avail) as f64).round() / 100.0
    };
    let gb = |b: u64| (b as f64 / 1_073_741_824.0 * 100.0).round() / 100.0;
    let mut m = Map::new();
    m.insert("percent".into(), json!(percent));
    m.insert("total_gb".into(), json!(gb(total)));
    m.insert("used_gb".into(), json!(gb(used)));
    m.insert("free_gb".into(), json!(gb(avail)));
    m.insert(
        "free_mb".into(),
        json!((avail as f64 / 1_048_576.0).round()),
    );
    m
}

/// The plugin.
#[derive(Debug)]
pub struct DiskMonitor {
    proc_root: PathBuf,
    include: Vec<String>,
    previous: Option<(Instant, BTreeMap<String, IoCounters>)>,
}

impl DiskMonitor {
    /// From options (`mount_points`: only these, default every physical one).
    pub fn new(options: &Options) -> Result<DiskMonitor, PluginError> {
        Ok(DiskMonitor {
            proc_root: options.proc_root(),
            include: options.strings("mount_points")?,
            previous: None,
        })
    }
}

impl Plugin for DiskMonitor {
    fn name(&self) -> &'static str {
        "disk_monitor"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }

    #[cfg(not(target_os = "linux"))]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        // No I/O counters here: sysinfo's are per process, not per device.
        let mut partitions = Map::new();
        for drive in super::portable::drives()? {
            if !self.include.is_empty() && !self.include.contains(&drive.mount) {
                continue;
            }
            let mut entry = space(1, drive.total, drive.available, drive.available);
            entry.insert("fstype".into(), json!(drive.fstype));
            entry.insert("device".into(), json!(drive.device));
            partitions.insert(drive.mount, Value::Object(entry));
        }
        let mut data = Map::new();
        data.insert("partitions".into(), Value::Object(partitions));
        Ok(Collected { data, status: None })
    }

    #[cfg(target_os = "linux")]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let mounts = parse_mounts(&read(self.proc_root.join("self/mounts"))?);
        let mut partitions = Map::new();
        for m in mounts.iter().filter(|m| {
            if self.include.is_empty() {
                m.is_physical()
            } else {
                self.include.contains(&m.mount_point)
            }
        }) {
            let mut entry = match nix::sys::statvfs::statvfs(m.mount_point.as_str()) {
                Ok(s) => space(
                    s.fragment_size(),
                    s.blocks(),
                    s.blocks_free(),
                    s.blocks_available(),
                ),
                Err(e) => {
                    let mut err = Map::new();
                    err.insert("error".into(), json!(e.to_string()));
                    err
                }
            };
            entry.insert("fstype".into(), json!(m.fstype));
            entry.insert("device".into(), json!(m.device));
            partitions.insert(m.mount_point.clone(), Value::Object(entry));
        }
        let now = Instant::now();
        let counters = std::fs::read_to_string(self.proc_root.join("diskstats"))
            .map(|t| parse_diskstats(&t))
            .unwrap_or_default();
        let mut io = Map::new();
        for (dev, c) in &counters {
            let mut d = Map::new();
            d.insert("reads".into(), json!(c.reads));
            d.insert("writes".into(), json!(c.writes));
            d.insert("read_bytes".into(), json!(c.read_bytes));
            d.insert("write_bytes".into(), json!(c.write_bytes));
            if let Some((then, prev)) = &self.previous
                && let Some(p) = prev.get(dev)
            {
                let secs = now.duration_since(*then).as_secs_f64().max(1e-3);
                let rate = |a: u64, b: u64| (a.saturating_sub(b) as f64 / secs).round();
                d.insert(
                    "read_bytes_per_s".into(),
                    json!(rate(c.read_bytes, p.read_bytes)),
                );
                d.insert(
                    "write_bytes_per_s".into(),
                    json!(rate(c.write_bytes, p.write_bytes)),
                );
                let busy = (c.busy_ms.saturating_sub(p.busy_ms) as f64 / (secs * 10.0)).min(100.0);
                d.insert("busy_percent".into(), json!((busy * 100.0).round() / 100.0));
            }
            io.insert(dev.clone(), Value::Object(d));
        }
        self.previous = Some((now, counters));
        let mut data = Map::new();
        data.insert("partitions".into(), Value::Object(partitions));
        data.insert("io".into(), Value::Object(io));
        Ok(Collected { data, status: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_matches_df() {
        // 4 KiB blocks: 1000 total, 300 free, 250 available to users.
        let m = space(4096, 1000, 300, 250);
        // used 700, avail 250: 700 / 950
        assert_eq!(m["percent"], 73.68);
        assert_eq!(m["free_mb"], 1.0);
        assert_eq!(space(4096, 0, 0, 0)["percent"], 0.0);
    }

    #[test]
    fn diskstats_skip_virtual_devices() {
        let text = "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0\n 254       0 vda 100 5 2048 30 200 10 4096 50 0 70 80 0 0 0 0\n";
        let d = parse_diskstats(text);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d["vda"],
            IoCounters {
                reads: 100,
                writes: 200,
                read_bytes: 1_048_576,
                write_bytes: 2_097_152,
                busy_ms: 70
            }
        );
    }
}
