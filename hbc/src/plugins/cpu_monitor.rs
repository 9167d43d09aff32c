//! `cpu_monitor`: `cpu_percent` over the interval (from `PROC/stat` deltas), load
//! averages and thread count (`PROC/loadavg`), process count, average frequency
//! (`PROC/cpuinfo`); with `per_core: true` also each core's percentage. Elsewhere than
//! Linux, sysinfo's figures (`portable.rs`).
// The /proc readers are Linux's: elsewhere they are compiled (and unit-tested on Linux)
// but not called.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::path::PathBuf;
use std::time::Duration;

use hb_proto::PluginKind;
#[cfg(target_os = "linux")]
use serde_json::{Map, Value, json};

use super::{Collected, Options, Plugin, PluginError, read};

/// Jiffies of one `cpu` line: (busy, total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Times {
    /// Everything but idle and iowait.
    pub busy: u64,
    /// All fields but guest (already counted in user).
    pub total: u64,
}

/// The `cpu` lines of `/proc/stat`: the aggregate first, then each core.
pub fn parse_stat(text: &str) -> Result<Vec<Times>, PluginError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("cpu")) {
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8) // user nice system idle iowait irq softirq steal
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        if fields.len() < 4 {
            return Err(PluginError::Parse {
                what: "/proc/stat",
                detail: format!("short cpu line {line:?}"),
            });
        }
        let total: u64 = fields.iter().sum();
        let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
        out.push(Times {
            busy: total - idle,
            total,
        });
    }
    if out.is_empty() {
        return Err(PluginError::Parse {
            what: "/proc/stat",
            detail: "no cpu line".into(),
        });
    }
    Ok(out)
}

/// Busy percentage between two samples (0 when no time passed).
pub fn percent(before: Times, after: Times) -> f64 {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        return 0.0;
    }
    let busy = after.busy.saturating_sub(before.busy);
    round2(100.0 * busy as f64 / total as f64)
}

/// `(load1, load5, load15, threads)` from `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<(f64, f64, f64, u64), PluginError> {
    let bad = || PluginError::Parse {
        what: "/proc/loadavg",
        detail: format!("{:?}", text.trim()),
    };
    let f: Vec<&str> = text.split_whitespace().collect();
    if f.len() < 4 {
        return Err(bad());
    }
    let load = |s: &str| s.parse::<f64>().map_err(|_| bad());
    let threads = f[3]
        .split_once('/')
        .and_then(|(_, t)| t.parse().ok())
        .ok_or_else(bad)?;
    Ok((load(f[0])?, load(f[1])?, load(f[2])?, threads))
}

/// Average `cpu MHz` of `/proc/cpuinfo`, if it lists any.
pub fn parse_mhz(text: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .filter_map(|l| l.split_once(':')?.1.trim().parse().ok())
        .collect();
    (!values.is_empty()).then(|| round2(values.iter().sum::<f64>() / values.len() as f64))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Average current frequency from `SYS/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq`
/// (kHz), for kernels whose `/proc/cpuinfo` has no `cpu MHz` (ARM).
fn sys_mhz(sys_root: &std::path::Path) -> Option<f64> {
    let dir = std::fs::read_dir(sys_root.join("devices/system/cpu")).ok()?;
    let khz: Vec<f64> = dir
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.starts_with("cpu") && n[3..].bytes().all(|b| b.is_ascii_digit()) && n.len() > 3
            })
        })
        .filter_map(|e| {
            std::fs::read_to_string(e.path().join("cpufreq/scaling_cur_freq"))
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    (!khz.is_empty()).then(|| round2(khz.iter().sum::<f64>() / khz.len() as f64 / 1000.0))
}

/// The plugin.
#[derive(Debug)]
pub struct CpuMonitor {
    sys_root: PathBuf,
    proc_root: PathBuf,
    per_core: bool,
    previous: Option<Vec<Times>>,
    /// Where there is no `/proc` (not Linux): sysinfo's sampler, made at the first
    /// collection.
    #[cfg(not(target_os = "linux"))]
    portable: Option<super::portable::Cpu>,
}

impl CpuMonitor {
    /// From options (`per_core`).
    pub fn new(options: &Options) -> Result<CpuMonitor, PluginError> {
        Ok(CpuMonitor {
            sys_root: options.sys_root(),
            proc_root: options.proc_root(),
            per_core: options.flag("per_core", false)?,
            previous: None,
            #[cfg(not(target_os = "linux"))]
            portable: None,
        })
    }

    fn sample(&self) -> Result<Vec<Times>, PluginError> {
        parse_stat(&read(self.proc_root.join("stat"))?)
    }

    fn processes(&self) -> u64 {
        std::fs::read_dir(&self.proc_root).map_or(0, |dir| {
            dir.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                })
                .count() as u64
        })
    }
}

impl Plugin for CpuMonitor {
    fn name(&self) -> &'static str {
        "cpu_monitor"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Monitor
    }

    #[cfg(not(target_os = "linux"))]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let cpu = match &mut self.portable {
            Some(cpu) => cpu,
            None => {
                // First run: measure over a short window rather than since boot.
                let cpu = self.portable.insert(super::portable::Cpu::new()?);
                std::thread::sleep(Duration::from_millis(200));
                cpu
            }
        };
        Ok(Collected {
            data: cpu.collect(self.per_core),
            status: None,
        })
    }

    #[cfg(target_os = "linux")]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let before = match self.previous.take() {
            Some(p) => p,
            None => {
                // First run: measure over a short window rather than since boot.
                let first = self.sample()?;
                std::thread::sleep(Duration::from_millis(200));
                first
            }
        };
        let now = self.sample()?;
        let (load1, load5, load15, threads) =
            parse_loadavg(&read(self.proc_root.join("loadavg"))?)?;
        let mut data = Map::new();
        data.insert("cpu_percent".into(), json!(percent(before[0], now[0])));
        data.insert("load_1min".into(), json!(load1));
        data.insert("load_5min".into(), json!(load5));
        data.insert("load_15min".into(), json!(load15));
        data.insert("cpu_count".into(), json!(now.len().saturating_sub(1)));
        let mhz = std::fs::read_to_string(self.proc_root.join("cpuinfo"))
            .ok()
            .and_then(|t| parse_mhz(&t))
            .or_else(|| sys_mhz(&self.sys_root));
        data.insert("frequency_mhz".into(), json!(mhz));
        data.insert("process_count".into(), json!(self.processes()));
        data.insert("thread_count".into(), json!(threads));
        if self.per_core {
            let cores: Vec<Value> = before
                .iter()
                .zip(&now)
                .skip(1)
                .map(|(b, a)| json!(percent(*b, *a)))
                .collect();
            data.insert("per_core".into(), Value::Array(cores));
        }
        self.previous = Some(now);
        Ok(Collected { data, status: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT_A: &str = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\ncpu1 50 0 50 350 50 0 0 0 0 0\nintr 1\nbtime 1\n";
    const STAT_B: &str = "cpu  200 0 200 1100 100 0 0 0 0 0\ncpu0 150 0 100 400 50 0 0 0 0 0\ncpu1 50 0 100 700 50 0 0 0 0 0\n";

    #[test]
    fn cpu_percent_is_busy_share_of_the_interval() {
        let a = parse_stat(STAT_A).unwrap();
        let b = parse_stat(STAT_B).unwrap();
        assert_eq!(a.len(), 3);
        // aggregate: busy +200 of total +600
        assert_eq!(percent(a[0], b[0]), 33.33);
        assert_eq!(percent(a[1], b[1]), 75.0); // +150 of +200
        assert_eq!(percent(a[2], b[2]), 12.5); // +50 of +400
        assert_eq!(percent(a[0], a[0]), 0.0);
        assert!(parse_stat("intr 5\n").is_err());
    }

    #[test]
    fn loadavg_and_mhz() {
        assert_eq!(
            parse_loadavg("0.52 0.58 0.59 3/467 12345\n").unwrap(),
            (0.52, 0.58, 0.59, 467)
        );
        assert!(parse_loadavg("garbage").is_err());
        assert_eq!(
            parse_mhz("cpu MHz\t\t: 2000.000\ncpu MHz\t\t: 3000.5\n"),
            Some(2500.25)
        );
        assert_eq!(parse_mhz("model name: x\n"), None);
    }
}
