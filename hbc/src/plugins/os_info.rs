//! `os_info` (info): what the host is. Reads `PROC/sys/kernel/{osrelease,hostname}`,
//! `PROC/stat` (boot time) and `/etc/os-release`.
// The /proc readers are Linux's: elsewhere they are compiled (and unit-tested on Linux)
// but not called.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::path::PathBuf;

use hb_proto::PluginKind;
use serde_json::{Map, Value, json};

use super::{Collected, Options, Plugin, PluginError, read};

/// The plugin.
#[derive(Debug)]
pub struct OsInfo {
    proc_root: PathBuf,
    os_release: PathBuf,
}

impl OsInfo {
    /// From options (`proc_root`, `os_release`: test hooks).
    pub fn new(options: &Options) -> OsInfo {
        let os_release = options
            .get("os_release")
            .and_then(Value::as_str)
            .unwrap_or("/etc/os-release");
        OsInfo {
            proc_root: options.proc_root(),
            os_release: PathBuf::from(os_release),
        }
    }
}

/// `NAME`, `VERSION_ID` and `PRETTY_NAME` of an os-release file.
pub fn parse_os_release(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').trim_matches('\'');
        let field = match key.trim() {
            "NAME" => "distribution",
            "VERSION_ID" => "version",
            "PRETTY_NAME" => "pretty_name",
            "ID" => "distribution_id",
            _ => continue,
        };
        out.insert(field.into(), Value::String(value.to_owned()));
    }
    out
}

/// Boot time (Unix seconds) from the `btime` line of `/proc/stat`.
pub fn parse_btime(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

impl Plugin for OsInfo {
    fn name(&self) -> &'static str {
        "os_info"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Info
    }

    #[cfg(not(target_os = "linux"))]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        Ok(Collected {
            data: super::portable::os_info(),
            status: None,
        })
    }

    #[cfg(target_os = "linux")]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let kernel = read(self.proc_root.join("sys/kernel/osrelease"))?;
        let hostname = read(self.proc_root.join("sys/kernel/hostname"))?;
        let stat = read(self.proc_root.join("stat"))?;
        let mut data = Map::new();
        data.insert("os".into(), json!(std::env::consts::OS));
        data.insert("kernel".into(), json!(kernel.trim()));
        data.insert("architecture".into(), json!(std::env::consts::ARCH));
        data.insert("hostname".into(), json!(hostname.trim()));
        data.insert("boot_time".into(), json!(parse_btime(&stat)));
        // A missing os-release (minimal containers) is not a failure.
        if let Ok(text) = std::fs::read_to_string(&self.os_release) {
            data.extend(parse_os_release(&text));
        }
        Ok(Collected { data, status: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release_and_btime() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n# comment\n";
        let m = parse_os_release(text);
        assert_eq!(m["distribution"], "Debian GNU/Linux");
        assert_eq!(m["version"], "12");
        assert_eq!(m["distribution_id"], "debian");
        assert_eq!(
            parse_btime("cpu 1 2 3\nbtime 1764000000\nprocesses 5\n"),
            Some(1_764_000_000)
        );
        assert_eq!(parse_btime("cpu 1\n"), None);
    }
}
