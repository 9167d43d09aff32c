//! Staged rollouts, the shell around `hbd_core::rollout`: a reload that changes what a
//! group with `rollout` gives its members starts one (`fleet::splits`: no member runs
//! the change yet); the task ([`run`]) then looks, every second, at each running
//! rollout's members (the engine's hosts, the latest reports) and steps it, puts the new
//! split in force through the reloader when hosts move, logs and records each event,
//! tells the people responsible for a host a rollout stopped on, and offers the live
//! stream each rollout's progress when it moves. Operators see, pause, resume and
//! abort rollouts through the API ([`Rollouts`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hb_proto::Status;
use hbd_core::model::HostState;
use hbd_core::rollout::{Event, Member, Rollout, Split, State};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::clock::Timestamp;
use crate::config::SharedConfig;
use crate::engine::Query;
use crate::live::RolloutProgress;
use crate::reload::Reloader;
use crate::samples::Latest;
use crate::store::changes::Line;

/// The rollouts the task steps, shared with the API.
#[derive(Debug, Clone, Default)]
pub struct Rollouts(Arc<Mutex<BTreeMap<String, Rollout>>>);

impl Rollouts {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Rollout>> {
        // A poisoned lock: a step panicked; the map itself is whole.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every rollout, by group.
    pub fn list(&self) -> Vec<Rollout> {
        self.lock().values().cloned().collect()
    }

    /// Whether any rollout is running.
    fn any_running(&self) -> bool {
        self.lock()
            .values()
            .any(|r| r.split.state == State::Running)
    }

    /// Each group's split, as the plan reads them.
    fn splits(&self) -> BTreeMap<String, Split> {
        self.lock()
            .iter()
            .map(|(g, r)| (g.clone(), r.split.clone()))
            .collect()
    }

    /// Where each rollout stands, by group.
    fn progress(&self) -> Vec<RolloutProgress> {
        self.lock().values().map(RolloutProgress::of).collect()
    }

    /// Acts on `group`'s rollout with `act`; `None`: no such rollout; `Some(false)`: not
    /// in a state it applies to.
    pub fn act(&self, group: &str, act: impl FnOnce(&mut Rollout) -> bool) -> Option<bool> {
        self.lock().get_mut(group).map(act)
    }
}

/// What the task needs.
pub struct Driver {
    /// The configuration in force.
    pub config: SharedConfig,
    /// Puts splits in force.
    pub reloader: Reloader,
    /// The engine's queries (its hosts).
    pub engine: mpsc::Sender<Query>,
    /// The latest reports.
    pub latest: Latest,
    /// The rollouts, shared with the API.
    pub rollouts: Rollouts,
    /// Where the splits are kept across restarts (`None`: not kept).
    pub store: Option<crate::store::rollouts::RolloutsDb>,
    /// What was last kept there.
    pub kept: Mutex<Arc<BTreeMap<String, Split>>>,
    /// Progress for the live stream, through the engine.
    pub progress: mpsc::Sender<RolloutProgress>,
    /// What the live stream was last told, by group.
    pub published: Mutex<BTreeMap<String, RolloutProgress>>,
}

/// How often running rollouts are stepped.
const EVERY: Duration = Duration::from_secs(1);

/// Steps every running rollout each second until `shutdown`.
pub async fn run(d: Driver, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = step(&d).await {
            tracing::warn!(%error, "rollouts not stepped this time");
        }
    }
}

async fn hosts(engine: &mpsc::Sender<Query>) -> Result<Vec<hbd_core::model::Host>, String> {
    let (tx, rx) = oneshot::channel();
    engine
        .send_timeout(Query::Hosts(tx), Duration::from_secs(2))
        .await
        .map_err(|e| format!("engine: {e}"))?;
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .map_err(|_| "engine: no answer within 5 s".to_owned())?
        .map_err(|_| "engine: stopping".to_owned())
}

async fn step(d: &Driver) -> Result<(), String> {
    let config = d.config.get();
    let now = Timestamp::now();
    // Rollouts the configuration started (a reload), and those it no longer has.
    {
        let mut rollouts = d.rollouts.lock();
        rollouts.retain(|group, _| config.rollouts.contains_key(group));
        for (group, split) in config.rollouts.iter() {
            let fresh = rollouts
                .get(group)
                .is_none_or(|r| r.split.started != split.started);
            let settings = config.groups.get(group).and_then(|g| g.rollout.clone());
            if let (true, Some(settings)) = (fresh, settings) {
                let mut rollout = Rollout::new(group, settings, split.from.clone(), split.started);
                rollout.split = split.clone();
                rollouts.insert(group.clone(), rollout);
                tracing::info!(group, "rollout started");
            }
        }
    }
    let running = d.rollouts.any_running();
    let mut changed = false;
    let mut told: Vec<Line> = Vec::new();
    let mut tell: Vec<(String, String)> = Vec::new();
    if running {
        let hosts = hosts(&d.engine).await?;
        let plan = config.plugin_plan();
        let mut digests = hbd_core::managed::Digests::default();
        let mut rollouts = d.rollouts.lock();
        for rollout in rollouts.values_mut() {
            if rollout.split.state != State::Running {
                continue;
            }
            let Some(group) = config
                .groups
                .get(&rollout.group)
                .and_then(|g| g.group(&rollout.group).ok())
            else {
                continue;
            };
            let new_set = plan
                .groups
                .iter()
                .find(|(g, _)| g.name == rollout.group)
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            let new_plugins: Vec<String> = new_set.plugins.iter().map(|p| p.name.clone()).collect();
            // The stage's hosts by name: a wave can hold thousands of the members.
            let watched: HashSet<&str> = rollout.stage_hosts.iter().map(String::as_str).collect();
            let members: Vec<Member> = hosts
                .iter()
                .filter(|h| group.contains(&h.name, h.labels.as_deref()))
                .map(|h| {
                    let wanted = watched
                        .contains(h.name.as_str())
                        .then(|| digests.digest(&plan, &h.name, h.labels.as_deref()));
                    member(h, wanted, &new_plugins, &d.latest)
                })
                .collect();
            drop(watched);
            let before = rollout.split.clone();
            let events = rollout.step(&members, &new_plugins, now);
            if rollout.split != before {
                changed = true;
            }
            for event in events {
                let lines = say(&rollout.group, &event);
                if let Event::RolledBack { host, .. } | Event::Paused { host, .. } = &event {
                    tell.extend(lines.iter().map(|l| (host.clone(), l.text.clone())));
                }
                told.extend(lines);
            }
        }
    }
    // Operators' pauses and aborts change splits too.
    let splits = d.rollouts.splits();
    if changed
        || splits
            .iter()
            .any(|(g, s)| config.rollouts.get(g) != Some(s))
    {
        d.reloader
            .put_rollouts(Arc::new(splits))
            .await
            .map_err(|e| e.to_string())?;
    }
    // Kept as in force (a reload's new rollout too).
    keep(d).await;
    publish(d);
    // The people responsible for the host it stopped on are told, as of an operator
    // message from it (their channels, its history, the live stream).
    for (host, text) in tell {
        let (tx, rx) = oneshot::channel();
        let command = crate::core::Command::Tell { host, text };
        let sent = d
            .engine
            .send_timeout(Query::Command(command, tx), Duration::from_secs(2))
            .await;
        if sent.is_err() || !matches!(rx.await, Ok(Ok(_))) {
            tracing::error!("a stopped rollout could not be told");
        }
    }
    for line in &told {
        if line.text.contains("rolled back") || line.text.contains("paused") {
            tracing::warn!(change = %line.text, "rollout stopped");
        } else {
            tracing::info!(change = %line.text, "rollout");
        }
    }
    if let (Some(record), false) = (d.reloader.record().cloned(), told.is_empty()) {
        let kept = tokio::task::spawn_blocking(move || record.record(now, "rollout", &told)).await;
        if !matches!(kept, Ok(Ok(()))) {
            tracing::error!("rollout events not recorded");
        }
    }
    Ok(())
}

/// Offers the live stream each rollout that moved since it was last told (a start, a
/// stage, a stop, the end, an operator's pause or abort). A full queue keeps the rest
/// for the next step.
fn publish(d: &Driver) {
    let mut published = d
        .published
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for now in d.rollouts.progress() {
        if published.get(&now.group) == Some(&now) {
            continue;
        }
        match d.progress.try_send(now.clone()) {
            Ok(()) => {
                published.insert(now.group.clone(), now);
            }
            // Full: the rest wait for the next step; closed: the daemon is stopping.
            Err(_) => return,
        }
    }
}

/// Keeps the splits in force in the store when they changed since last kept.
async fn keep(d: &Driver) {
    let Some(db) = d.store.clone() else {
        return;
    };
    let in_force = d.config.get().rollouts.clone();
    let kept = |d: &Driver| {
        d.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    };
    if *kept(d) == *in_force {
        return;
    }
    let saving = in_force.clone();
    match tokio::task::spawn_blocking(move || db.save(&saving)).await {
        Ok(Ok(())) => {
            *d.kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = in_force;
        }
        _ => tracing::error!("rollouts not kept in the store; tried again in a second"),
    }
}

/// The lines for the log and the record, each naming the host it is about (one per
/// canary: the record shows a host's name only to those who may see it).
fn say(group: &str, event: &Event) -> Vec<Line> {
    match event {
        Event::Promoted { stage: 0, hosts } => hosts
            .iter()
            .map(|h| {
                Line::about(
                    h,
                    format!("groups.{group} rollout: canary {h} on the new set"),
                )
            })
            .collect(),
        Event::Promoted { stage, hosts } => vec![Line::general(format!(
            "groups.{group} rollout: wave {stage}, {} more on the new set",
            hosts.len()
        ))],
        Event::RolledBack { host, reason } => vec![Line::about(
            host,
            format!("groups.{group} rollout rolled back: canary {host} unhealthy: {reason}"),
        )],
        Event::Paused { host, reason } => vec![Line::about(
            host,
            format!("groups.{group} rollout paused: {host} unhealthy: {reason}"),
        )],
        Event::Done => vec![Line::general(format!(
            "groups.{group} rollout done: every member on the new set"
        ))],
    }
}

/// What the rollout needs of one member; only one of the current stage, whose `wanted`
/// digest is given, is looked at closely.
fn member(
    h: &hbd_core::model::Host,
    wanted: Option<Arc<str>>,
    new_plugins: &[String],
    latest: &Latest,
) -> Member {
    let watched = wanted.is_some();
    let wanted = wanted.map_or_else(String::new, |w| w.to_string());
    let applied = watched
        .then(|| latest.get(&h.name, "managed_plugins"))
        .flatten()
        .map(|s| {
            let text = |k: &str| {
                s.data
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            (
                text("digest"),
                s.status == Some(Status::Ok),
                text("message"),
                s.received,
            )
        });
    let reports = if watched {
        new_plugins
            .iter()
            .filter_map(|p| {
                let s = latest.get(&h.name, p)?;
                let error = (s.status == Some(Status::Unknown)).then(|| {
                    s.data
                        .get("error")
                        .and_then(|e| e.as_str())
                        .unwrap_or("UNKNOWN")
                        .to_owned()
                });
                Some((p.clone(), (error, s.received)))
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    Member {
        host: h.name.clone(),
        up: h.state != HostState::Down,
        interval_s: h.interval.as_secs_f64(),
        wanted,
        applied,
        reports,
    }
}
