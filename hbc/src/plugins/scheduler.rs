//! Runs each plugin on its own interval (info plugins at start and then daily, monitors
//! every `interval`, default 300 s), on a blocking thread with a time limit. A failure,
//! a panic or a timeout becomes an `UNKNOWN` report carrying the reason; it never stops
//! the agent or the other plugins. The plugins the daemon manages come and go as one
//! set, replaced whole; so do the native collectors when the daemon sets how they run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use hb_proto::{PluginKind, Status};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{
    DEFAULT_INFO_INTERVAL, DEFAULT_MONITOR_INTERVAL, DEFAULT_TIMEOUT, Options, Plugin, PluginError,
    build, built_in, on_by_default,
};

/// Reports waiting for the sender (full: the newest report is dropped and logged).
pub const QUEUE_LEN: usize = 64;

/// A finished collection, ready to be stamped and sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Plugin name.
    pub plugin: String,
    /// Info or monitor.
    pub kind: PluginKind,
    /// Metrics (or `{"error": ...}`).
    pub data: Map<String, Value>,
    /// Verdict; `UNKNOWN` when the collection failed.
    pub status: Option<Status>,
    /// Collection time.
    pub duration_ms: f64,
}

/// One plugin with its schedule.
pub struct Entry {
    plugin: Arc<Mutex<Box<dyn Plugin>>>,
    name: String,
    kind: PluginKind,
    interval: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Entry {
    /// An entry for an already built plugin.
    pub fn new(plugin: Box<dyn Plugin>, interval: Duration, timeout: Duration) -> Entry {
        Entry {
            name: plugin.name().to_owned(),
            kind: plugin.kind(),
            plugin: Arc::new(Mutex::new(plugin)),
            interval,
            timeout,
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How often it runs.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// Builds every enabled plugin from the agent config's `plugins` map. Default plugins
/// run unless `enabled: false`; `ping_monitor` and `nagios_runner` run when listed.
pub fn entries(config: &BTreeMap<String, Value>) -> Result<Vec<Entry>, PluginError> {
    for name in config.keys() {
        if !built_in().any(|b| b == name) {
            build(name, &Options::default())?; // names the unknown plugin
        }
    }
    let mut out = Vec::new();
    for name in built_in() {
        let value = config.get(name);
        let options = Options::new(name, value.unwrap_or(&Value::Null))?;
        let listed = value.is_some_and(|v| *v != Value::Bool(false));
        if !options.enabled(on_by_default().any(|d| d == name) || listed)? {
            continue;
        }
        let plugin = build(name, &options)?;
        let kind = plugin.kind();
        let default_interval = match kind {
            PluginKind::Info => DEFAULT_INFO_INTERVAL,
            PluginKind::Monitor => DEFAULT_MONITOR_INTERVAL,
        };
        // Nagios checks have their own per-check limit; allow it plus margin.
        let default_timeout = match name {
            "nagios_runner" => {
                options.seconds("timeout", super::nagios_runner::DEFAULT_TIMEOUT)?
                    + Duration::from_secs(5)
            }
            _ => options.seconds("timeout", DEFAULT_TIMEOUT)?,
        };
        out.push(Entry {
            plugin: Arc::new(Mutex::new(plugin)),
            name: name.to_owned(),
            kind,
            interval: options.seconds("interval", default_interval)?,
            timeout: default_timeout,
        });
    }
    Ok(out)
}

fn failure(entry: &Entry, error: String, started: Instant) -> Report {
    let mut data = Map::new();
    data.insert("error".into(), json!(error));
    Report {
        plugin: entry.name.clone(),
        kind: entry.kind,
        data,
        status: Some(Status::Unknown),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

/// Collects one plugin once, with its time limit.
pub async fn collect_once(entry: &Entry) -> Report {
    let started = Instant::now();
    let plugin = entry.plugin.clone();
    let job = tokio::task::spawn_blocking(move || match plugin.try_lock() {
        Ok(mut p) => Some(p.collect()),
        Err(TryLockError::WouldBlock) => None,
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner().collect()),
    });
    match tokio::time::timeout(entry.timeout, job).await {
        Err(_) => failure(
            entry,
            format!("timed out after {:.1} s", entry.timeout.as_secs_f64()),
            started,
        ),
        Ok(Err(join)) => failure(entry, format!("plugin panicked: {join}"), started),
        Ok(Ok(None)) => failure(entry, "previous collection still running".into(), started),
        Ok(Ok(Some(Err(error)))) => failure(entry, error.to_string(), started),
        Ok(Ok(Some(Ok(collected)))) => Report {
            plugin: entry.name.clone(),
            kind: entry.kind,
            data: collected.data,
            status: collected.status,
            duration_ms: (started.elapsed().as_secs_f64() * 1e5).round() / 100.0,
        },
    }
}

/// What the daemon manages, as the scheduler runs it.
#[derive(Debug, Clone, Default)]
pub struct ManagedSet {
    /// The signed artifacts' plugins.
    pub wasm: Vec<Arc<Entry>>,
    /// The native collectors built with the daemon's settings laid over the agent's own
    /// (`None`: as the agent's own config built them).
    pub natives: Option<Arc<Vec<Arc<Entry>>>>,
}

fn same(a: Option<&Arc<Vec<Arc<Entry>>>>, b: Option<&Arc<Vec<Arc<Entry>>>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// Runs every entry on its schedule until `shutdown`; the first run of each is at start.
/// A notification on `refresh_info` runs the info plugins at once (on demand, e.g.
/// `kill -USR1` on the agent). `managed` replaces the plugins the daemon manages, whole:
/// the new set's first runs are at once, the old set's plugins run no more. When it
/// brings other native collectors, they replace the ones running (and the agent's own
/// come back when it stops bringing any).
pub async fn run(
    entries: Vec<Entry>,
    mut managed: Option<watch::Receiver<ManagedSet>>,
    tx: mpsc::Sender<Report>,
    refresh_info: Arc<tokio::sync::Notify>,
    shutdown: CancellationToken,
) {
    let now = tokio::time::Instant::now();
    let mut fixed: Vec<(Arc<Entry>, tokio::time::Instant)> =
        entries.into_iter().map(|e| (Arc::new(e), now)).collect();
    let is_native = |e: &Entry| built_in().any(|b| b == e.name);
    let own_natives: Vec<Arc<Entry>> = fixed
        .iter()
        .filter(|(e, _)| is_native(e))
        .map(|(e, _)| e.clone())
        .collect();
    let mut natives_in_force: Option<Arc<Vec<Arc<Entry>>>> = None;
    let mut extra: Vec<(Arc<Entry>, tokio::time::Instant)> = Vec::new();
    loop {
        let soonest = fixed.iter().chain(&extra).map(|(_, at)| *at).min();
        let changed = async {
            match managed.as_mut() {
                Some(rx) => rx.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = async {
                match soonest {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
            () = refresh_info.notified() => {
                let now = tokio::time::Instant::now();
                for (entry, next) in fixed.iter_mut().chain(extra.iter_mut()) {
                    if entry.kind == PluginKind::Info {
                        *next = now;
                    }
                }
                tracing::info!("collecting info plugins on demand");
            }
            alive = changed => {
                if !alive {
                    // The managing task ended: keep what runs.
                    managed = None;
                    continue;
                }
                let now = tokio::time::Instant::now();
                if let Some(rx) = managed.as_mut() {
                    let set = rx.borrow_and_update().clone();
                    extra = set.wasm.iter().map(|e| (e.clone(), now)).collect();
                    if !same(set.natives.as_ref(), natives_in_force.as_ref()) {
                        let natives = set.natives.as_deref().unwrap_or(&own_natives);
                        fixed.retain(|(e, _)| !is_native(e));
                        fixed.extend(natives.iter().map(|e| (e.clone(), now)));
                        tracing::info!(collectors = natives.len(), "native collectors replaced");
                        natives_in_force = set.natives;
                    }
                }
            }
        }
        let now = tokio::time::Instant::now();
        for (entry, next) in fixed.iter_mut().chain(extra.iter_mut()) {
            if *next > now {
                continue;
            }
            *next = now + entry.interval;
            let (entry, tx) = (entry.clone(), tx.clone());
            tokio::spawn(async move {
                let report = collect_once(&entry).await;
                if report.status == Some(Status::Unknown) {
                    let error = report.data.get("error").cloned().unwrap_or_default();
                    tracing::warn!(plugin = %report.plugin, %error, "plugin failed");
                }
                if tx.try_send(report).is_err() {
                    tracing::warn!(plugin = %entry.name, "report queue full; report dropped");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Slow;
    impl Plugin for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn kind(&self) -> PluginKind {
            PluginKind::Monitor
        }
        fn collect(&mut self) -> Result<super::super::Collected, PluginError> {
            std::thread::sleep(Duration::from_millis(300));
            Ok(super::super::Collected::default())
        }
    }

    struct Panics;
    impl Plugin for Panics {
        fn name(&self) -> &'static str {
            "panics"
        }
        fn kind(&self) -> PluginKind {
            PluginKind::Monitor
        }
        fn collect(&mut self) -> Result<super::super::Collected, PluginError> {
            panic!("boom")
        }
    }

    fn entry(plugin: Box<dyn Plugin>, timeout: Duration) -> Entry {
        Entry {
            name: plugin.name().to_owned(),
            kind: plugin.kind(),
            plugin: Arc::new(Mutex::new(plugin)),
            interval: Duration::from_secs(1),
            timeout,
        }
    }

    #[tokio::test]
    async fn failures_become_unknown_reports() {
        let r = collect_once(&entry(Box::new(Slow), Duration::from_millis(50))).await;
        assert_eq!(r.status, Some(Status::Unknown));
        assert_eq!(r.data["error"], "timed out after 0.1 s");
        let r = collect_once(&entry(Box::new(Panics), Duration::from_secs(5))).await;
        assert_eq!(r.status, Some(Status::Unknown));
        assert!(
            r.data["error"].as_str().unwrap().contains("panicked"),
            "{:?}",
            r.data
        );
        let e = entry(Box::new(Slow), Duration::from_secs(5));
        let (a, b) = tokio::join!(collect_once(&e), collect_once(&e));
        let errors: Vec<_> = [a, b]
            .into_iter()
            .filter(|r| r.status == Some(Status::Unknown))
            .collect();
        assert_eq!(errors.len(), 1, "one overlapping run is refused");
        assert_eq!(errors[0].data["error"], "previous collection still running");
    }

    /// A plugin under any name that reports which one it is.
    struct Says(&'static str, &'static str);
    impl Plugin for Says {
        fn name(&self) -> &'static str {
            self.0
        }
        fn kind(&self) -> PluginKind {
            PluginKind::Monitor
        }
        fn collect(&mut self) -> Result<super::super::Collected, PluginError> {
            let mut data = Map::new();
            data.insert("from".into(), json!(self.1));
            Ok(super::super::Collected { data, status: None })
        }
    }

    fn every_50ms(name: &'static str, from: &'static str) -> Entry {
        let mut e = entry(Box::new(Says(name, from)), Duration::from_secs(5));
        e.interval = Duration::from_millis(50);
        e
    }

    #[tokio::test]
    async fn natives_the_daemon_sets_replace_the_agents_own_until_it_stops_setting_them() {
        let (tx, mut rx) = mpsc::channel(QUEUE_LEN);
        let (sets, managed) = watch::channel(ManagedSet::default());
        let shutdown = CancellationToken::new();
        let own = vec![every_50ms("cpu_monitor", "own"), every_50ms("mine", "mine")];
        tokio::spawn(run(
            own,
            Some(managed),
            tx,
            Arc::new(tokio::sync::Notify::new()),
            shutdown.clone(),
        ));
        // Waits (at most 10 s) until the next reports of `plugin` come from `from`, and
        // returns every source seen meanwhile of the other plugins.
        async fn until(rx: &mut mpsc::Receiver<Report>, plugin: &str, from: &str) -> Vec<String> {
            let mut others = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let r = tokio::time::timeout_at(deadline, rx.recv())
                    .await
                    .expect("the report in time")
                    .unwrap();
                let said = r.data["from"].as_str().unwrap().to_owned();
                if r.plugin == plugin && said == from {
                    return others;
                }
                if r.plugin != plugin {
                    others.push(said);
                }
            }
        }
        until(&mut rx, "cpu_monitor", "own").await;
        let daemons = Arc::new(vec![Arc::new(every_50ms("cpu_monitor", "daemon's"))]);
        sets.send(ManagedSet {
            wasm: Vec::new(),
            natives: Some(daemons),
        })
        .unwrap();
        until(&mut rx, "cpu_monitor", "daemon's").await;
        // Its second run: a collection of the agent's own started before the switch
        // has long been reported.
        until(&mut rx, "cpu_monitor", "daemon's").await;
        // From now on only the daemon's cpu_monitor runs, beside the agent's own plugin.
        let mut seen = Vec::new();
        for _ in 0..6 {
            let r = rx.recv().await.unwrap();
            seen.push(format!("{} {}", r.plugin, r.data["from"].as_str().unwrap()));
        }
        assert!(!seen.contains(&"cpu_monitor own".to_owned()), "{seen:?}");
        assert!(seen.contains(&"mine mine".to_owned()), "{seen:?}");
        sets.send(ManagedSet::default()).unwrap();
        until(&mut rx, "cpu_monitor", "own").await;
        shutdown.cancel();
    }

    #[test]
    fn defaults_and_listing() {
        let none = entries(&BTreeMap::new()).unwrap();
        let names: Vec<&str> = none.iter().map(Entry::name).collect();
        assert_eq!(names, on_by_default().collect::<Vec<_>>());
        let mut config = BTreeMap::new();
        config.insert(
            "cpu_monitor".to_owned(),
            json!({"interval": 30, "per_core": true}),
        );
        config.insert("disk_monitor".to_owned(), json!({"enabled": false}));
        config.insert("ping_monitor".to_owned(), json!({"hosts": ["127.0.0.1"]}));
        let e = entries(&config).unwrap();
        let names: Vec<&str> = e.iter().map(Entry::name).collect();
        assert!(names.contains(&"ping_monitor") && !names.contains(&"disk_monitor"));
        let cpu = e.iter().find(|e| e.name() == "cpu_monitor").unwrap();
        assert_eq!(cpu.interval(), Duration::from_secs(30));
        let os = e.iter().find(|e| e.name() == "os_info").unwrap();
        assert_eq!(os.interval(), DEFAULT_INFO_INTERVAL);
        config.insert("cpu_montor".to_owned(), json!({}));
        let err = entries(&config).unwrap_err().to_string();
        assert!(
            err.contains("unknown plugin \"cpu_montor\"; did you mean cpu_monitor?"),
            "{err}"
        );
    }
}
