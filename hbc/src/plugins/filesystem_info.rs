//! `filesystem_info` (info): the mounted filesystems, physical ones only unless
//! `all: true`.

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
        let mut data = Map::new();
        data.insert("count".into(), json!(list.len()));
        data.insert("filesystems".into(), Value::Array(list));
        Ok(Collected { data, status: None })
    }
}
