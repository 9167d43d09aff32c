//! The engine's mailboxes for the daemon's own tasks, apart from the API's queries: a
//! reload ([`Reconfigure`]), the HA pair's coordination ([`crate::ha::Report`]), the
//! DNS worker ([`crate::dns::worker::Written`]) and the rollout task
//! ([`RolloutProgress`]), each on its own bounded queue, served
//! before queries, so a busy API never delays a reload, a role change or an approved
//! message. Each task speaks its own words; the engine listens to each.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::dns::worker::Written;
use crate::ha::Report;
use crate::live::RolloutProgress;
use crate::notify::NotifyError;

/// Reloads waiting for the engine (one runs at a time; the reloader waits for room).
pub const RELOAD_QUEUE: usize = 4;

/// Put a validated configuration in force; the answer says whether the notifiers
/// started with it.
#[derive(Debug)]
pub struct Reconfigure(
    pub Arc<Config>,
    pub oneshot::Sender<Result<(), NotifyError>>,
);

/// What the engine hears from the daemon's own tasks.
#[derive(Debug, Default)]
pub struct Control {
    /// Reloads (`SIGHUP`, `POST /api/0/config/reload`).
    pub reload: Option<mpsc::Receiver<Reconfigure>>,
    /// The HA pair's coordination, when this daemon is one of a pair.
    pub ha: Option<mpsc::Receiver<Report>>,
    /// The DNS worker's results.
    pub dns: Option<mpsc::Receiver<Written>>,
    /// Staged rollouts' progress, for the live stream.
    pub rollouts: Option<mpsc::Receiver<RolloutProgress>>,
}

/// Progress reports waiting for the engine; when full, the rollout task keeps the
/// report and offers it again at its next step (a second later).
pub const ROLLOUT_QUEUE: usize = 16;

/// One message from one of them.
#[derive(Debug)]
pub enum Heard {
    /// A reload.
    Reload(Reconfigure),
    /// From the HA pair's coordination.
    Pair(Report),
    /// From the DNS worker.
    Dns(Written),
    /// From the rollout task.
    Rollout(RolloutProgress),
}

impl Control {
    /// The next message from any of them; pending for ever when none is left open.
    pub async fn recv(&mut self) -> Heard {
        tokio::select! {
            Some(reload) = recv_from(&mut self.reload) => Heard::Reload(reload),
            Some(report) = recv_from(&mut self.ha) => Heard::Pair(report),
            Some(written) = recv_from(&mut self.dns) => Heard::Dns(written),
            Some(progress) = recv_from(&mut self.rollouts) => Heard::Rollout(progress),
            else => std::future::pending().await,
        }
    }
}

/// Receives from `rx`, if there is one; `None` when there is none or it closed (and
/// then it is dropped, so a closed queue is not polled again).
async fn recv_from<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    let got = match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    };
    if got.is_none() {
        *rx = None;
    }
    got
}
