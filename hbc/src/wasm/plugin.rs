//! One WebAssembly plugin: loaded from a file, kept as one live instance inside its
//! limits (a new one after any failure, or once its output capture is half used), its
//! report validated, reloaded when the file changes, backing off when it keeps failing.

use super::failure::{CallError, ContractError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hb_proto::{PluginKind, Status};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Store, StoreLimitsBuilder};

use super::host::{CONTRACTS, StoreData, v0_1, v0_2, v0_3};
use super::net::NetGate;
use super::runtime::{EPOCH_TICK, Runtime};
use super::validate::{Scalar, nest};
use crate::plugins::{Collected, Plugin, PluginError};

/// Consecutive failures after which a plugin backs off.
pub const BACKOFF_AFTER: u32 = 3;
/// Longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The operator's settings for one plugin (`wasm_plugins.plugins.NAME`).
#[derive(Debug, Clone, PartialEq)]
pub struct WasmSettings {
    /// Collection interval; the plugin's own default when `None`.
    pub interval: Option<Duration>,
    /// Passed to `collect`.
    pub config: Vec<(String, String)>,
    /// Read-only paths the plugin may read or list.
    pub grants: Vec<PathBuf>,
    /// Time limit per call.
    pub timeout: Duration,
    /// Memory limit per instance, bytes.
    pub memory_bytes: usize,
    /// Where it may connect (contract 0.3.0 and later); none: no network.
    pub net: Vec<hb_artifact::net::Destination>,
    /// Addresses it never connects to, whatever `net` says (`plugin_trust.deny`).
    pub deny: Vec<hb_artifact::net::Destination>,
    /// The most connections it may open per call.
    pub connections: u32,
}

impl Default for WasmSettings {
    fn default() -> Self {
        WasmSettings {
            interval: None,
            config: Vec::new(),
            grants: Vec::new(),
            timeout: Duration::from_secs(1),
            memory_bytes: 32 * 1024 * 1024,
            net: Vec::new(),
            deny: hb_artifact::trust::default_deny(),
            connections: hb_artifact::manifest::DEFAULT_CONNECTIONS,
        }
    }
}

/// A linked plugin, ready to instantiate, of the contract version it speaks.
enum Pre {
    V0_1(v0_1::PluginPre<StoreData>),
    V0_2(v0_2::PluginPre<StoreData>),
    V0_3(v0_3::PluginPre<StoreData>),
}

/// An instance, of the contract version it speaks.
enum Instance {
    V0_1(v0_1::Plugin),
    V0_2(v0_2::Plugin),
    V0_3(v0_3::Plugin),
}

/// What `describe` says, whatever the version.
struct Info {
    name: String,
    kind: PluginKind,
    default_interval_s: u32,
    version: String,
    description: String,
}

/// What `collect` returns, whatever the version.
struct Report {
    metrics: Vec<(Vec<String>, Scalar)>,
    status: Option<Status>,
    message: Option<String>,
}

/// The same conversions for each version's generated types (they are distinct types
/// with the same shapes; 0.2.0 adds `uint`).
macro_rules! convert {
    ($wit:path, $($extra:tt)*) => {{
        use $wit as wit;
        let kind = |k: wit::PluginKind| match k {
            wit::PluginKind::Info => PluginKind::Info,
            wit::PluginKind::Monitor => PluginKind::Monitor,
        };
        let info = move |i: wit::PluginInfo| Info {
            name: i.name,
            kind: kind(i.kind),
            default_interval_s: i.default_interval_s,
            version: i.version,
            description: i.description,
        };
        let report = |r: wit::Report| Report {
            metrics: r
                .metrics
                .into_iter()
                .map(|m| {
                    let v = match m.value {
                        wit::Value::Int(i) => Scalar::Int(i),
                        wit::Value::Float(f) => Scalar::Float(f),
                        wit::Value::Text(t) => Scalar::Text(t),
                        wit::Value::Boolean(b) => Scalar::Bool(b),
                        $($extra)*
                    };
                    (m.path, v)
                })
                .collect(),
            status: r.status.map(|s| match s {
                wit::Status::Ok => Status::Ok,
                wit::Status::Warning => Status::Warning,
                wit::Status::Critical => Status::Critical,
                wit::Status::Unknown => Status::Unknown,
            }),
            message: r.message,
        };
        (info, report)
    }};
}

impl Instance {
    fn describe(&self, store: &mut Store<StoreData>) -> wasmtime::Result<Info> {
        match self {
            Instance::V0_1(p) => {
                let (info, _) = convert!(v0_1::hbd::plugin::types,);
                p.call_describe(store).map(info)
            }
            Instance::V0_2(p) => {
                let (info, _) =
                    convert!(v0_2::hbd::plugin::types, wit::Value::Uint(u) => Scalar::Uint(u),);
                p.call_describe(store).map(info)
            }
            Instance::V0_3(p) => {
                let (info, _) =
                    convert!(v0_3::hbd::plugin::types, wit::Value::Uint(u) => Scalar::Uint(u),);
                p.call_describe(store).map(info)
            }
        }
    }

    // The generated bindings take the settings as `&Vec`.
    #[allow(clippy::ptr_arg)]
    fn collect(
        &self,
        store: &mut Store<StoreData>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Report, String>> {
        match self {
            Instance::V0_1(p) => {
                let (_, report) = convert!(v0_1::hbd::plugin::types,);
                Ok(p.call_collect(store, config)?.map(report))
            }
            Instance::V0_2(p) => {
                let (_, report) =
                    convert!(v0_2::hbd::plugin::types, wit::Value::Uint(u) => Scalar::Uint(u),);
                Ok(p.call_collect(store, config)?.map(report))
            }
            Instance::V0_3(p) => {
                let (_, report) =
                    convert!(v0_3::hbd::plugin::types, wit::Value::Uint(u) => Scalar::Uint(u),);
                Ok(p.call_collect(store, config)?.map(report))
            }
        }
    }
}

/// A live instance and how much of its captured output was already logged.
struct Live {
    store: Store<StoreData>,
    instance: Instance,
    logged: [usize; 2],
}

/// A loaded plugin.
pub struct WasmPlugin {
    live: Option<Live>,
    runtime: Runtime,
    path: PathBuf,
    settings: WasmSettings,
    grants: Vec<PathBuf>,
    /// The network it may reach, when it has any.
    net: Option<NetGate>,
    pre: Pre,
    stamp: Option<(SystemTime, u64)>,
    name: String,
    kind: PluginKind,
    default_interval: Duration,
    version: String,
    description: String,
    failures: u32,
    retry_at: Option<Instant>,
}

impl std::fmt::Debug for WasmPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmPlugin")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish()
    }
}

/// The granted paths, resolved (so `..` and symlinks cannot widen them later).
fn canonical_grants(settings: &WasmSettings) -> Result<Vec<PathBuf>, PluginError> {
    settings
        .grants
        .iter()
        .map(|g| {
            // A grant written for another OS (`C:\\logs` on Linux, `/var/log` on
            // Windows) would otherwise be read as relative to the working directory.
            if !g.is_absolute() {
                return Err(PluginError::Config(format!(
                    "grant {}: not an absolute path on this OS",
                    g.display()
                )));
            }
            std::fs::canonicalize(g)
                .map_err(|e| PluginError::Config(format!("grant {}: {e}", g.display())))
        })
        .collect()
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl WasmPlugin {
    /// Loads `path` (through the compile cache), links it and asks it what it is.
    pub fn load(
        runtime: &Runtime,
        path: &Path,
        settings: WasmSettings,
    ) -> Result<WasmPlugin, PluginError> {
        let grants = canonical_grants(&settings)?;
        let pre = Self::link(runtime, path)?;
        let net = net_gate(&pre, &settings)
            .map_err(|e| PluginError::Config(format!("{}: {e}", path.display())))?;
        let mut plugin = WasmPlugin {
            live: None,
            runtime: runtime.clone(),
            path: path.to_owned(),
            settings,
            grants,
            net,
            pre,
            stamp: stamp(path),
            name: String::new(),
            kind: PluginKind::Monitor,
            default_interval: Duration::from_secs(300),
            version: String::new(),
            description: String::new(),
            failures: 0,
            retry_at: None,
        };
        plugin.describe()?;
        Ok(plugin)
    }

    fn link(runtime: &Runtime, path: &Path) -> Result<Pre, PluginError> {
        let wasm =
            |e: &dyn std::fmt::Display| PluginError::Command(format!("{}: {e}", path.display()));
        let component: Arc<Component> = runtime.load(path).map_err(|e| wasm(&e))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&runtime.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        if let Some(net) = imports.iter().find(|i| i.starts_with("wasi:http")) {
            return Err(PluginError::Command(format!(
                "{}: imports {net}; plugins reach the network through wasi:sockets (contract 0.3.0)",
                path.display()
            )));
        }
        let contract = contract_of(&imports).map_err(|e| wasm(&e))?;
        let mut linker: Linker<StoreData> = Linker::new(&runtime.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| wasm(&e))?;
        let linked = |e: wasmtime::Error| wasm(&format!("{e:#}"));
        match contract {
            "0.1.0" => {
                v0_1::Plugin::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |s| s)
                    .map_err(linked)?;
                let pre = linker.instantiate_pre(&component).map_err(linked)?;
                Ok(Pre::V0_1(v0_1::PluginPre::new(pre).map_err(linked)?))
            }
            "0.2.0" => {
                v0_2::Plugin::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |s| s)
                    .map_err(linked)?;
                let pre = linker.instantiate_pre(&component).map_err(linked)?;
                Ok(Pre::V0_2(v0_2::PluginPre::new(pre).map_err(linked)?))
            }
            _ => {
                v0_3::Plugin::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |s| s)
                    .map_err(linked)?;
                let pre = linker.instantiate_pre(&component).map_err(linked)?;
                Ok(Pre::V0_3(v0_3::PluginPre::new(pre).map_err(linked)?))
            }
        }
    }

    /// The contract version the plugin speaks (`0.2.0`).
    pub fn contract(&self) -> &'static str {
        contract_of_pre(&self.pre)
    }

    /// The call time limit in epoch ticks (at least one).
    fn deadline_ticks(&self) -> u64 {
        let ticks = self
            .settings
            .timeout
            .as_millis()
            .div_ceil(EPOCH_TICK.as_millis())
            .max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    fn instantiate(&self) -> Result<Live, CallError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.settings.memory_bytes)
            .memories(4)
            .tables(32)
            .instances(32)
            .trap_on_grow_failure(true)
            .build();
        let label = if self.name.is_empty() {
            self.path.display().to_string()
        } else {
            self.name.clone()
        };
        let mut store = Store::new(
            &self.runtime.engine,
            StoreData::new(&label, self.grants.clone(), self.net.as_ref(), limits),
        );
        store.data_mut().call_timeout = self.settings.timeout;
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(self.deadline_ticks());
        let instance = match &self.pre {
            Pre::V0_1(pre) => pre.instantiate(&mut store).map(Instance::V0_1),
            Pre::V0_2(pre) => pre.instantiate(&mut store).map(Instance::V0_2),
            Pre::V0_3(pre) => pre.instantiate(&mut store).map(Instance::V0_3),
        }
        .map_err(|e| {
            let refused = store.data().limits.memory_refused;
            CallError::explain(
                &e,
                self.settings.timeout,
                self.settings.memory_bytes,
                refused,
            )
        })?;
        Ok(Live {
            store,
            instance,
            logged: [0, 0],
        })
    }

    /// Runs `f` on the live instance (made first if needed) within the limits; new
    /// output is logged. A failed call discards the instance.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Store<StoreData>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        live.store.set_epoch_deadline(self.deadline_ticks());
        let data = live.store.data_mut();
        (data.log_lines, data.log_dropped) = (0, 0);
        data.limits.memory_refused = false;
        if let Some(gate) = &self.net {
            gate.take();
        }
        let result = f(&mut live.store, &live.instance);
        // What the call did with the network: once in the log, however often it was
        // refused; and no socket it opened outlives it (a fresh instance next time).
        let used = self.net.as_ref().map(NetGate::take).unwrap_or_default();
        if used.refused > 0 {
            tracing::warn!(
                plugin = %live.store.data().name,
                refused = used.refused,
                first = used.first_refusal.as_deref().unwrap_or(""),
                "connections refused: not granted to this plugin"
            );
        }
        let data = live.store.data();
        if data.log_dropped > 0 {
            tracing::warn!(
                plugin = %data.name,
                dropped = data.log_dropped,
                "log lines over {} per call were dropped",
                super::host::LOG_LINES_PER_CALL
            );
        }
        let mut flooded = false;
        let mut half_full = false;
        for (i, (stream, pipe)) in [("stdout", &data.stdout), ("stderr", &data.stderr)]
            .into_iter()
            .enumerate()
        {
            let bytes = pipe.contents();
            flooded |= bytes.len() >= super::host::CAPTURE_BYTES;
            half_full |= bytes.len() >= super::host::CAPTURE_BYTES / 2;
            let new = bytes.get(live.logged[i]..).unwrap_or_default();
            for line in String::from_utf8_lossy(new).lines().take(50) {
                tracing::info!(plugin = %data.name, stream, "{line}");
            }
            live.logged[i] = bytes.len();
        }
        match result {
            Ok(r) => {
                // Keep the instance unless its output capture is running out or it
                // connected somewhere.
                if !half_full && used.connected == 0 {
                    self.live = Some(live);
                }
                Ok(r)
            }
            Err(_) if flooded => Err(CallError::Flooded(super::host::CAPTURE_BYTES)),
            Err(e) => Err(CallError::explain(
                &e,
                self.settings.timeout,
                self.settings.memory_bytes,
                data.limits.memory_refused,
            )),
        }
    }

    fn describe(&mut self) -> Result<(), PluginError> {
        let info = self.call(|store, p| p.describe(store)).map_err(|e| {
            PluginError::Command(format!("{}: describe failed: {e}", self.path.display()))
        })?;
        if !hb_artifact::manifest::valid_name(&info.name) {
            return Err(PluginError::Command(format!(
                "{}: plugin name {:?} must be 1-64 of a-z 0-9 _",
                self.path.display(),
                info.name
            )));
        }
        if !self.name.is_empty() && self.name != info.name {
            return Err(PluginError::Command(format!(
                "{}: changed its name from {} to {}; restart the agent to rename a plugin",
                self.path.display(),
                self.name,
                info.name
            )));
        }
        self.name = info.name;
        // The instance that answered was labelled with the file; from now on its log
        // lines carry the plugin's name.
        if let Some(live) = &mut self.live {
            live.store.data_mut().name.clone_from(&self.name);
        }
        self.kind = info.kind;
        self.default_interval = Duration::from_secs(u64::from(info.default_interval_s.max(1)));
        self.version = info.version;
        self.description = info.description;
        Ok(())
    }

    /// Applies the operator's settings to a loaded plugin (its name is known only once
    /// loaded); the next call starts a fresh instance under the new limits.
    pub fn configure(&mut self, settings: WasmSettings) -> Result<(), PluginError> {
        self.grants = canonical_grants(&settings)?;
        self.net = net_gate(&self.pre, &settings).map_err(PluginError::Config)?;
        self.settings = settings;
        self.live = None;
        Ok(())
    }

    /// The interval to collect at.
    pub fn interval(&self) -> Duration {
        self.settings.interval.unwrap_or(self.default_interval)
    }

    /// The time limit the scheduler should allow a collection (call limit plus margin).
    pub fn timeout(&self) -> Duration {
        self.settings.timeout + Duration::from_secs(2)
    }

    /// The version its `describe` gives.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// `name version (kind): description`.
    pub fn description(&self) -> String {
        let kind = match self.kind {
            PluginKind::Info => "info",
            PluginKind::Monitor => "monitor",
        };
        format!(
            "{} {} ({kind}, every {} s): {}",
            self.name,
            self.version,
            self.interval().as_secs_f64(),
            self.description
        )
    }

    fn reload_if_changed(&mut self) -> Result<(), PluginError> {
        let now = stamp(&self.path);
        if now.is_none() || now == self.stamp {
            return Ok(());
        }
        tracing::info!(plugin = %self.name, path = %self.path.display(), "plugin file changed; reloading");
        self.pre = Self::link(&self.runtime, &self.path)?;
        self.live = None;
        self.stamp = now;
        self.failures = 0;
        self.retry_at = None;
        self.describe()
    }

    fn collect_once(&mut self) -> Result<Collected, PluginError> {
        self.reload_if_changed()?;
        let config = self.settings.config.clone();
        let report = self
            .call(|store, p| p.collect(store, &config))
            .map_err(|e| PluginError::Command(e.to_string()))?
            .map_err(|e| {
                let e = super::host::truncate(&e, super::host::MAX_TEXT_CHARS);
                PluginError::Command(format!("plugin error: {e}"))
            })?;
        let mut data = nest(report.metrics)
            .map_err(|e| PluginError::Command(format!("malformed report: {e}")))?;
        if let Some(message) = report.message {
            data.insert(
                "message".into(),
                serde_json::Value::String(message.chars().take(1024).collect()),
            );
        }
        let status = report.status;
        Ok(Collected { data, status })
    }
}

/// The contract version a linked plugin speaks.
fn contract_of_pre(pre: &Pre) -> &'static str {
    match pre {
        Pre::V0_1(_) => CONTRACTS[0],
        Pre::V0_2(_) => CONTRACTS[1],
        Pre::V0_3(_) => CONTRACTS[2],
    }
}

/// The gate for `settings.net`: none without any; an error for a plugin whose contract
/// reaches no network.
fn net_gate(pre: &Pre, settings: &WasmSettings) -> Result<Option<NetGate>, String> {
    if settings.net.is_empty() {
        return Ok(None);
    }
    if !matches!(pre, Pre::V0_3(_)) {
        return Err(format!(
            "net: a plugin of contract {} reaches no network (0.3.0 and later do)",
            contract_of_pre(pre)
        ));
    }
    Ok(Some(NetGate::new(
        settings.net.clone(),
        settings.deny.clone(),
        settings.connections,
    )))
}

/// The contract version a component speaks, from the `hbd:plugin/types@VERSION` it
/// imports (every plugin does: its exports use those types).
fn contract_of(imports: &[String]) -> Result<&'static str, ContractError> {
    let spoken: Vec<&str> = imports
        .iter()
        .filter_map(|i| i.strip_prefix("hbd:plugin/"))
        .filter_map(|i| i.split_once('@').map(|(_, v)| v))
        .collect();
    match spoken.first() {
        None => Err(ContractError::NotAPlugin),
        Some(v) if spoken.iter().any(|w| w != v) => Err(ContractError::Several(
            spoken.iter().map(|s| (*s).to_owned()).collect(),
        )),
        Some(v) => {
            CONTRACTS
                .iter()
                .find(|c| *c == v)
                .copied()
                .ok_or_else(|| ContractError::Unknown {
                    version: (*v).to_owned(),
                    known: CONTRACTS.join(" and "),
                })
        }
    }
}

impl Plugin for WasmPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> PluginKind {
        self.kind
    }

    fn collect(&mut self) -> Result<Collected, PluginError> {
        if let Some(at) = self.retry_at
            && Instant::now() < at
        {
            return Err(PluginError::Command(format!(
                "backing off after {} failures in a row; next try in {} s",
                self.failures,
                at.saturating_duration_since(Instant::now()).as_secs()
            )));
        }
        match self.collect_once() {
            Ok(c) => {
                self.failures = 0;
                self.retry_at = None;
                Ok(c)
            }
            Err(e) => {
                self.failures += 1;
                if self.failures >= BACKOFF_AFTER {
                    let factor = 1u32 << (self.failures - BACKOFF_AFTER).min(16);
                    let wait = self.interval().saturating_mul(factor).min(MAX_BACKOFF);
                    self.retry_at = Some(Instant::now() + wait);
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::contract_of;

    #[test]
    fn the_contract_is_the_version_of_the_hbd_plugin_imports() {
        let imports = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases: [(&[&str], Result<&str, &str>); 6] = [
            (
                &[
                    "wasi:io/streams@0.2.0",
                    "hbd:plugin/types@0.1.0",
                    "hbd:plugin/host@0.1.0",
                ],
                Ok("0.1.0"),
            ),
            (
                &["hbd:plugin/types@0.2.0", "hbd:plugin/host@0.2.0"],
                Ok("0.2.0"),
            ),
            (&["hbd:plugin/types@0.3.0"], Ok("0.3.0")),
            (
                &["hbd:plugin/types@0.4.0"],
                Err(
                    "speaks hbd:plugin@0.4.0, which this agent does not know (it speaks 0.1.0 and 0.2.0 and 0.3.0)",
                ),
            ),
            (
                &["hbd:plugin/types@0.1.0", "hbd:plugin/host@0.2.0"],
                Err("several contract versions"),
            ),
            (
                &["wasi:cli/run@0.2.0"],
                Err("imports no hbd:plugin interface"),
            ),
        ];
        for (names, want) in cases {
            match (contract_of(&imports(names)), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{got}"),
                (got, want) => panic!("{names:?}: {got:?} against {want:?}"),
            }
        }
    }
}
