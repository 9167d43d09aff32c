//! The built-in collectors' figures where the agent has no `/proc` of its own to read
//! (Windows, macOS, FreeBSD): measured by sysinfo, named and scaled as the catalogue
//! names them on Linux. A figure the OS does not give is left out (failures as data),
//! never made up. On Linux the agent's own readers stay: they read only what each
//! collection needs.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
#[cfg(not(windows))]
use sysinfo::Disks;
use sysinfo::System;

use super::PluginError;

fn unavailable(what: &'static str, error: impl std::fmt::Display) -> PluginError {
    PluginError::Parse {
        what,
        detail: error.to_string(),
    }
}

/// Memory and swap in KiB under `/proc/meminfo`'s names, which `memory_monitor` turns
/// into its metrics as on Linux.
pub fn meminfo() -> Result<HashMap<&'static str, u64>, PluginError> {
    let mut system = System::new().map_err(|e| unavailable("memory", e))?;
    system.refresh_memory();
    let kib = |bytes: u64| bytes / 1024;
    Ok(HashMap::from([
        ("MemTotal", kib(system.total_memory())),
        ("MemAvailable", kib(system.available_memory())),
        ("SwapTotal", kib(system.total_swap())),
        (
            "SwapFree",
            kib(system.total_swap().saturating_sub(system.used_swap())),
        ),
    ]))
}

/// CPU use between two collections, with the core count, load averages (where the OS
/// keeps them) and processes; elsewhere than Windows also the frequency and, asked,
/// each core's use (sysinfo). On Windows the busy share comes from `GetSystemTimes`:
/// sysinfo reads it through the performance counters (PDH), which Wine lacks and which
/// a service may be denied.
#[derive(Debug)]
pub struct Cpu {
    system: System,
    #[cfg(windows)]
    times: Option<windows_times::Times>,
}

impl Cpu {
    /// A sampler; its first collection measures from now.
    pub fn new() -> Result<Cpu, PluginError> {
        #[allow(unused_mut)] // only elsewhere than Windows is sysinfo's CPU refreshed
        let mut system = System::new().map_err(|e| unavailable("cpu", e))?;
        #[cfg(not(windows))]
        system.refresh_cpu_usage();
        Ok(Cpu {
            system,
            #[cfg(windows)]
            times: windows_times::Times::now(),
        })
    }

    /// This collection's figures: busy share since the last one.
    pub fn collect(&mut self, per_core: bool) -> Map<String, Value> {
        let round2 = |v: f64| (v * 100.0).round() / 100.0;
        let mut data = Map::new();
        #[cfg(windows)]
        {
            let _ = per_core;
            let now = windows_times::Times::now();
            if let (Some(before), Some(now)) = (self.times, now) {
                data.insert(
                    "cpu_percent".into(),
                    json!(round2(now.busy_percent_since(before))),
                );
            }
            self.times = now;
            let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
            data.insert("cpu_count".into(), json!(cores));
        }
        #[cfg(not(windows))]
        {
            self.system.refresh_cpu_usage();
            let cpus = self.system.cpus();
            data.insert(
                "cpu_percent".into(),
                json!(round2(f64::from(self.system.global_cpu_usage()))),
            );
            data.insert("cpu_count".into(), json!(cpus.len()));
            let mhz = cpus.iter().map(|c| c.frequency()).max().filter(|f| *f > 0);
            data.insert("frequency_mhz".into(), json!(mhz));
            if per_core {
                let cores: Vec<Value> = cpus
                    .iter()
                    .map(|c| json!(round2(f64::from(c.usage()))))
                    .collect();
                data.insert("per_core".into(), Value::Array(cores));
            }
            // Windows keeps no load average: there the keys are left out, not zeroed.
            if let Ok(load) = System::load_average() {
                data.insert("load_1min".into(), json!(round2(load.one)));
                data.insert("load_5min".into(), json!(round2(load.five)));
                data.insert("load_15min".into(), json!(round2(load.fifteen)));
            }
        }
        self.system
            .refresh_processes(sysinfo::ProcessesToUpdate::All, false);
        data.insert("process_count".into(), json!(self.system.processes().len()));
        data
    }
}

/// The whole machine's CPU times from `GetSystemTimes`, in 100 ns ticks.
#[cfg(windows)]
mod windows_times {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::GetSystemTimes;

    #[derive(Debug, Clone, Copy)]
    pub struct Times {
        idle: u64,
        /// Kernel (which includes idle) plus user.
        total: u64,
    }

    impl Times {
        pub fn now() -> Option<Times> {
            let zero = FILETIME {
                dwLowDateTime: 0,
                dwHighDateTime: 0,
            };
            let (mut idle, mut kernel, mut user) = (zero, zero, zero);
            // SAFETY: GetSystemTimes writes three FILETIMEs, each pointer to one here.
            #[allow(unsafe_code)]
            let ok = unsafe { GetSystemTimes(&mut idle, &mut kernel, &mut user) };
            let ticks =
                |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
            (ok != 0).then(|| Times {
                idle: ticks(idle),
                total: ticks(kernel).saturating_add(ticks(user)),
            })
        }

        /// The busy share of the time between `before` and these, in percent.
        pub fn busy_percent_since(&self, before: Times) -> f64 {
            let total = self.total.saturating_sub(before.total);
            let idle = self.idle.saturating_sub(before.idle);
            if total == 0 {
                0.0
            } else {
                100.0 * total.saturating_sub(idle) as f64 / total as f64
            }
        }
    }
}

/// One mounted file system (a fixed drive on Windows) and its size, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    /// Where it is mounted (`/`, `C:\\`).
    pub mount: String,
    /// What is mounted (a device, `C:`).
    pub device: String,
    /// Its file system (`apfs`, `NTFS`), empty when unknown.
    pub fstype: String,
    /// Its size.
    pub total: u64,
    /// What is free to the agent.
    pub available: u64,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Every mounted file system, by sysinfo.
#[cfg(not(windows))]
pub fn drives() -> Result<Vec<Drive>, PluginError> {
    let disks = Disks::new_with_refreshed_list().map_err(|e| unavailable("disks", e))?;
    Ok(disks
        .iter()
        .map(|disk| Drive {
            mount: disk.mount_point().to_string_lossy().into_owned(),
            device: disk.name().to_string_lossy().into_owned(),
            fstype: disk.file_system().to_string_lossy().into_owned(),
            total: disk.total_space(),
            available: disk.available_space(),
            read_only: disk.is_read_only(),
        })
        .collect())
}

/// Every fixed drive (`C:\`), by the Win32 calls every Windows and Wine answer (sysinfo
/// enumerates volumes, which Wine does not).
#[cfg(windows)]
pub fn drives() -> Result<Vec<Drive>, PluginError> {
    use windows_sys::Win32::Storage::FileSystem::{
        GetDiskFreeSpaceExW, GetDriveTypeW, GetLogicalDriveStringsW, GetVolumeInformationW,
    };
    const DRIVE_FIXED: u32 = 3;
    const FILE_READ_ONLY_VOLUME: u32 = 0x0008_0000;
    let mut names = [0u16; 512];
    // SAFETY: the buffer's length in u16s is passed with it; the call writes within it.
    #[allow(unsafe_code)]
    let len = unsafe { GetLogicalDriveStringsW(names.len() as u32, names.as_mut_ptr()) };
    if len == 0 || len as usize > names.len() {
        return Err(unavailable("drives", std::io::Error::last_os_error()));
    }
    let mut out = Vec::new();
    // "C:\\0D:\\0\0": each root, NUL-terminated, as the calls below take it.
    for root in names[..len as usize].split_inclusive(|c| *c == 0) {
        if root.len() < 2 {
            continue;
        }
        // SAFETY: `root` is a NUL-terminated wide string, alive for each call; the
        // out-parameters are locals of the types asked for, the buffer's length passed.
        #[allow(unsafe_code)]
        let (kind, sizes, fstype, flags) = unsafe {
            let kind = GetDriveTypeW(root.as_ptr());
            let (mut available, mut total, mut free) = (0u64, 0u64, 0u64);
            let sizes = GetDiskFreeSpaceExW(root.as_ptr(), &mut available, &mut total, &mut free);
            let mut fs = [0u16; 64];
            let mut flags = 0u32;
            let named = GetVolumeInformationW(
                root.as_ptr(),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut flags,
                fs.as_mut_ptr(),
                fs.len() as u32,
            );
            let fstype = if named == 0 {
                String::new()
            } else {
                let end = fs.iter().position(|c| *c == 0).unwrap_or(fs.len());
                String::from_utf16_lossy(&fs[..end])
            };
            (
                kind,
                (sizes != 0).then_some((total, available)),
                fstype,
                flags,
            )
        };
        if kind != DRIVE_FIXED {
            continue;
        }
        let Some((total, available)) = sizes else {
            continue;
        };
        let mount = String::from_utf16_lossy(&root[..root.len() - 1]);
        out.push(Drive {
            device: mount.trim_end_matches('\\').to_owned(),
            mount,
            fstype,
            total,
            available,
            read_only: flags & FILE_READ_ONLY_VOLUME != 0,
        });
    }
    Ok(out)
}

/// `os_info`'s facts: the OS as Rust names it, its kernel, version and name, the
/// machine's name and boot time (Unix seconds); what the OS does not tell is left out.
pub fn os_info() -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("os".into(), json!(std::env::consts::OS));
    data.insert("architecture".into(), json!(std::env::consts::ARCH));
    data.insert("hostname".into(), json!(crate::host_facts::hostname()));
    let mut put = |key: &str, value: Result<String, sysinfo::Error>| {
        if let Ok(value) = value.map(|v| v.trim().to_owned())
            && !value.is_empty()
        {
            data.insert(key.into(), json!(value));
        }
    };
    put("kernel", System::kernel_version());
    put("distribution", System::name());
    put("version", System::os_version());
    put("pretty_name", System::long_os_version());
    put(
        "distribution_id",
        System::name().map(|n| n.to_lowercase().replace(' ', "")),
    );
    if let Ok(boot) = System::boot_time() {
        data.insert("boot_time".into(), json!(boot));
    }
    data
}

/// One network interface's counters since boot: what sysinfo reads on every OS (no
/// drops: not every OS counts them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Sent bytes.
    pub tx_bytes: u64,
    /// Received packets.
    pub rx_packets: u64,
    /// Sent packets.
    pub tx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Send errors.
    pub tx_errors: u64,
}

/// Every network interface, by sysinfo.
pub fn interfaces() -> Result<Vec<Interface>, PluginError> {
    let networks =
        sysinfo::Networks::new_with_refreshed_list().map_err(|e| unavailable("networks", e))?;
    Ok(networks
        .iter()
        .map(|(name, data)| Interface {
            name: name.to_string_lossy().into_owned(),
            rx_bytes: data.total_received(),
            tx_bytes: data.total_transmitted(),
            rx_packets: data.total_packets_received(),
            tx_packets: data.total_packets_transmitted(),
            rx_errors: data.total_errors_on_received(),
            tx_errors: data.total_errors_on_transmitted(),
        })
        .collect())
}
