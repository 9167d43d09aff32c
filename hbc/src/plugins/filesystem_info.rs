//! `filesystem_info` (info): the mounted filesystems, physical ones only unless
//! `all: true`. Off Linux: the file systems the OS lists as disks (sysinfo; the fixed
//! drives on Windows), which are physical ones; `all` adds nothing there.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::path::PathBuf;

use hb_proto::PluginKind;
use serde_json::{Map, Value, json};

use super::mounts::parse_mounts;
use super::{Collected, Options, Plugin, PluginError, read};

/// The plugin.
#[derive(Debug)]
pub struct FilesystemInfo {
    proc_root: PathBuf,
    all: bool,
}

impl FilesystemInfo {
    /// From options (`all`).
    pub fn new(options: &Options) -> Result<FilesystemInfo, PluginError> {
        Ok(FilesystemInfo {
            proc_root: options.proc_root(),
            all: options.flag("all", false)?,
        })
    }
}

impl Plugin for FilesystemInfo {
    fn name(&self) -> &'static str {
        "filesystem_info"
    }

    fn kind(&self) -> PluginKind {
        PluginKind::Info
    }

    #[cfg(not(target_os = "linux"))]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let list: Vec<Value> = super::portable::drives()?
            .into_iter()
            .map(|d| {
                json!({
                    "device": d.device,
                    "mount_point": d.mount,
                    "fstype": d.fstype,
                    "read_only": d.read_only,
                })
            })
            .collect();
        Ok(listed(list))
    }

    #[cfg(target_os = "linux")]
    fn collect(&mut self) -> Result<Collected, PluginError> {
        let mounts = parse_mounts(&read(self.proc_root.join("self/mounts"))?);
        let list: Vec<Value> = mounts
            .iter()
            .filter(|m| self.all || m.is_physical())
            .map(|m| {
                json!({
                    "device": m.device,
                    "mount_point": m.mount_point,
                    "fstype": m.fstype,
                    "read_only": m.options.split(',').any(|o| o == "ro"),
                })
            })
            .collect();
        Ok(listed(list))
    }
}

/// The report: how many, and each.
fn listed(list: Vec<Value>) -> Collected {
    let mut data = Map::new();
    data.insert("count".into(), json!(list.len()));
    data.insert("filesystems".into(), Value::Array(list));
    Collected { data, status: None }
}
