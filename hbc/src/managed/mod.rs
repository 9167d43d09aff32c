//! Plugins the daemon manages (docs/PLUGINS.md, "Signed artifacts"): at start the agent
//! runs the set it last applied, checked again against its trust as it is now; then, at
//! once, every `managed_plugins.check_every`, and whenever an ACK names a digest other
//! than the one its heartbeats carry, it asks the daemon what to run
//! (answered signed with the host's key, for a nonce of its own), fetches what it does
//! not hold, checks and loads it, builds the native collectors again when the daemon's
//! settings for them changed, and hands the whole new set to the scheduler. A set
//! that fails anywhere is not applied: the previous one keeps running. Each outcome is
//! a report of the pseudo-plugin `managed_plugins` (the applied digest, each plugin's
//! version and state, the collectors' settings, and why anything was refused), so the
//! daemon stores it, shows it and alerts on its status like any plugin's.
//!
//! - [`state`]: the record kept across restarts.
//! - [`apply`]: fetch, check and load one artifact.

pub mod apply;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hb_artifact::Trust;
use hb_artifact::collectors::Collectors;
use hb_artifact::desired::{Desired, DesiredSet, TAG_HEADER, read_answer};
use hb_proto::{PluginKind, Status};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::plugins::scheduler::{Entry, ManagedSet, Report};
use crate::wasm::Runtime;
use apply::Failure;
use state::State;

/// The name the outcome is reported under.
pub const REPORT_NAME: &str = "managed_plugins";
/// The largest answer taken from the daemon.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// What the task needs.
pub struct Managed {
    /// Where artifacts and the record are kept.
    pub dir: PathBuf,
    /// The daemon's HTTP base URL (`http://hbd:50004`).
    pub base: String,
    /// How often to ask.
    pub every: Duration,
    /// Whose artifacts run, and the most they may do.
    pub trust: Trust,
    /// The host's key: the daemon's answer must carry its tag.
    pub key: hb_proto::Key,
    /// This host's name.
    pub host: String,
    /// Plugin names this agent runs from its own config.
    pub taken: Vec<String>,
    /// The agent's own `plugins` section, which the daemon's settings for the native
    /// collectors are laid over.
    pub natives: std::collections::BTreeMap<String, Value>,
    /// The engine plugins run in.
    pub runtime: Runtime,
}

/// How the task talks to the scheduler and the heartbeat loop.
pub struct Links {
    /// The set the scheduler runs, replaced whole.
    pub sets: watch::Sender<ManagedSet>,
    /// The digest applied, which heartbeats carry.
    pub applied: watch::Sender<String>,
    /// The digest an ACK says to run: the daemon is asked at once.
    pub desired: watch::Receiver<Option<Arc<str>>>,
}

/// Runs until `shutdown`.
pub async fn run(
    m: Managed,
    links: Links,
    reports: mpsc::Sender<Report>,
    shutdown: CancellationToken,
) {
    let Links {
        sets,
        applied,
        mut desired,
    } = links;
    if let Err(e) = std::fs::create_dir_all(&m.dir) {
        tracing::error!(dir = %m.dir.display(), error = %e, "managed plugins off: cannot create their directory");
        return;
    }
    let mut state = State::load(&m.dir).unwrap_or_else(|e| {
        tracing::error!(error = %e, "managed plugins: record unreadable; starting from none");
        State::default()
    });
    let m = Arc::new(m);
    // The set applied before, checked again as the trust is now.
    let (entries, mut failures) = load_set(&m, &state, &state.plugins).await;
    state.contracts = contracts(entries.iter().map(|(_, manifest)| manifest));
    let natives = match collectors(&m, &state.collectors) {
        Ok(natives) => natives,
        Err(f) => {
            failures.push(f);
            None
        }
    };
    let mut running = ManagedSet {
        wasm: entries.into_iter().map(|(e, _)| e).collect(),
        natives,
    };
    let _ = sets.send(running.clone());
    let _ = applied.send(applied_digest(&state));
    send(&reports, report(&state, &failures, None));
    loop {
        let outcome = check(&m, &mut state, &running).await;
        match outcome {
            Ok(None) => {}
            Ok(Some(set)) => {
                running = set;
                let _ = sets.send(running.clone());
                let _ = applied.send(applied_digest(&state));
                send(&reports, report(&state, &[], None));
            }
            Err(Problem::Set(failures)) => send(&reports, report(&state, &failures, None)),
            Err(Problem::Ask(why)) => {
                tracing::warn!(error = %why, "managed plugins: cannot ask the daemon");
                send(&reports, report(&state, &[], Some(why)));
            }
        }
        // The next check: at `check_every`, or at once when an ACK names a digest
        // other than what runs (each new digest wakes it once; a refused one is tried
        // again at `check_every`).
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(m.every) => {}
            changed = desired.changed() => {
                if changed.is_err() {
                    // The heartbeat loop is gone: the agent is stopping.
                    return;
                }
            }
        }
    }
}

/// What heartbeats carry: the digest applied, the empty set's before any.
fn applied_digest(state: &State) -> String {
    if state.digest.is_empty() {
        DesiredSet::default().digest()
    } else {
        state.digest.clone()
    }
}

fn send(reports: &mpsc::Sender<Report>, report: Report) {
    if reports.try_send(report).is_err() {
        tracing::warn!("report queue full; managed plugins' report dropped");
    }
}

/// Why a check did not apply a new set.
enum Problem {
    /// The daemon could not be asked, or its answer was not taken.
    Ask(String),
    /// Some artifact of the new set failed.
    Set(Vec<Failure>),
}

/// Asks the daemon; applies its answer when it differs from what runs. `Ok(None)`:
/// nothing to change.
async fn check(
    m: &Arc<Managed>,
    state: &mut State,
    running: &ManagedSet,
) -> Result<Option<ManagedSet>, Problem> {
    let desired = ask(m).await.map_err(Problem::Ask)?;
    if desired.digest == state.digest {
        return Ok(None);
    }
    let Desired { digest, set, .. } = desired;
    let (entries, mut failures) = load_set(m, state, &set.plugins).await;
    // The collectors are built again only when their settings changed, so that what
    // they keep between collections (counters for rates) is not lost for nothing.
    let natives = if set.collectors == state.collectors {
        running.natives.clone()
    } else {
        collectors(m, &set.collectors).unwrap_or_else(|f| {
            failures.push(f);
            None
        })
    };
    if !failures.is_empty() {
        for f in &failures {
            tracing::warn!(artifact = %f.artifact, reason = f.reason, detail = %f.detail, "managed plugin refused; the previous set keeps running");
        }
        return Err(Problem::Set(failures));
    }
    let (entries, manifests): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    for manifest in &manifests {
        state.ran.record(manifest);
    }
    state.contracts = contracts(manifests.iter());
    state.digest = digest;
    state.plugins = set.plugins;
    state.collectors = set.collectors;
    if let Err(e) = state.save(&m.dir) {
        tracing::error!(error = %e, "managed plugins: record not saved");
    }
    state.tidy(&m.dir);
    tracing::info!(digest = %state.digest, plugins = state.plugins.len(), collectors = state.collectors.len(), "managed plugins applied");
    Ok(Some(ManagedSet {
        wasm: entries,
        natives,
    }))
}

/// The native collectors built with the daemon's `collectors` laid over the agent's
/// own config; `None` when the daemon sets none (the agent's own run).
fn collectors(
    m: &Managed,
    collectors: &Collectors,
) -> Result<Option<Arc<Vec<Arc<Entry>>>>, Failure> {
    if collectors.is_empty() {
        return Ok(None);
    }
    let fail = |detail: String| Failure {
        artifact: "collectors".into(),
        reason: "collectors",
        detail,
    };
    let config = crate::plugins::overlay::overlay(&m.natives, collectors)
        .map_err(|e| fail(e.to_string()))?;
    let entries = crate::plugins::scheduler::entries(&config).map_err(|e| fail(e.to_string()))?;
    Ok(Some(Arc::new(entries.into_iter().map(Arc::new).collect())))
}

/// The daemon's signed answer for a fresh nonce.
async fn ask(m: &Managed) -> Result<Desired, String> {
    let nonce = format!(
        "{:016x}{:016x}",
        getrandom::u64().map_err(|e| e.to_string())?,
        getrandom::u64().map_err(|e| e.to_string())?
    );
    let url = format!(
        "{}/agent/{}/plugins?nonce={nonce}",
        m.base.trim_end_matches('/'),
        m.host
    );
    let (headers, body) = crate::fetch::fetch_bytes(&url, MAX_ANSWER_BYTES, apply::FETCH_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let tag = headers.get(TAG_HEADER).and_then(|v| v.to_str().ok());
    read_answer(&m.key, &body, tag, &m.host, &nonce).map_err(|e| format!("{url}: {e}"))
}

/// An entry with the manifest it was checked against.
type Checked = (Arc<Entry>, hb_artifact::Manifest);

/// Fetches, checks and loads every artifact of `plugins`: the entries, or every
/// failure.
async fn load_set(
    m: &Arc<Managed>,
    state: &State,
    plugins: &[hb_artifact::desired::DesiredPlugin],
) -> (Vec<Checked>, Vec<Failure>) {
    let mut verified = Vec::new();
    let mut failures = Vec::new();
    for plugin in plugins {
        match apply::fetch_and_verify(&m.base, &m.dir, plugin, &m.trust, &state.ran).await {
            Ok(manifest) => verified.push((plugin.clone(), manifest)),
            Err(f) => failures.push(f),
        }
    }
    if !failures.is_empty() {
        return (Vec::new(), failures);
    }
    let m2 = m.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let mut entries = Vec::new();
        let mut failures = Vec::new();
        for (plugin, manifest) in &verified {
            match apply::load(
                &m2.runtime,
                &m2.dir,
                plugin,
                manifest,
                &m2.taken,
                &m2.trust.ceiling.deny,
            ) {
                Ok(entry) => entries.push((Arc::new(entry), manifest.clone())),
                Err(f) => failures.push(f),
            }
        }
        (entries, failures)
    })
    .await;
    match loaded {
        Ok((_, failures)) if !failures.is_empty() => (Vec::new(), failures),
        Ok((entries, _)) => (entries, Vec::new()),
        Err(e) => (
            Vec::new(),
            vec![Failure {
                artifact: "the set".into(),
                reason: "load",
                detail: format!("loading panicked: {e}"),
            }],
        ),
    }
}

/// Each plugin's contract, by name.
fn contracts<'a>(
    manifests: impl Iterator<Item = &'a hb_artifact::Manifest>,
) -> std::collections::BTreeMap<String, String> {
    manifests
        .map(|m| (m.name.clone(), m.contract.clone()))
        .collect()
}

/// The outcome as a report: OK with the applied set, or WARNING naming what was refused
/// or why the daemon could not be asked (the set applied before keeps running).
fn report(state: &State, failures: &[Failure], ask: Option<String>) -> Report {
    let started = Instant::now();
    let mut data = Map::new();
    data.insert("digest".into(), json!(state.digest));
    let plugins: Map<String, Value> = state
        .plugins
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                json!({
                    "version": p.version.to_string(),
                    "sha256": p.sha256,
                    "contract": state.contracts.get(&p.name),
                }),
            )
        })
        .collect();
    data.insert("plugins".into(), Value::Object(plugins));
    data.insert("collectors".into(), json!(state.collectors));
    let refused: Vec<Value> = failures
        .iter()
        .map(|f| json!({"artifact": f.artifact, "reason": f.reason, "detail": f.detail}))
        .collect();
    data.insert("refused".into(), Value::Array(refused));
    let status = if failures.is_empty() && ask.is_none() {
        data.insert(
            "message".into(),
            json!(format!("{} managed plugin(s) applied", state.plugins.len())),
        );
        Status::Ok
    } else {
        let text = match (&ask, failures.first()) {
            (Some(why), _) => format!("cannot ask the daemon what to run: {why}"),
            (None, Some(first)) => format!(
                "refused {first}{}; the previous set keeps running",
                if failures.len() > 1 {
                    format!(" and {} more", failures.len() - 1)
                } else {
                    String::new()
                }
            ),
            (None, None) => String::new(),
        };
        data.insert(
            "message".into(),
            json!(text.chars().take(1024).collect::<String>()),
        );
        Status::Warning
    };
    Report {
        plugin: REPORT_NAME.into(),
        kind: PluginKind::Monitor,
        data,
        status: Some(status),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}
