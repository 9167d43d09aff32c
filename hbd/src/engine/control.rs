//! The engine's mailboxes for the daemon's own tasks, apart from the API's requests: the
//! HA pair's coordination ([`crate::ha::Report`]) and the DNS worker
//! ([`crate::dns::worker::Written`]), each on its own bounded queue, served before
//! queries, so a busy API never delays a role change or an approved message. Each task
//! speaks its own words; the engine listens to each.

use tokio::sync::mpsc;

use crate::dns::worker::Written;
use crate::ha::Report;

/// What the engine hears from the daemon's own tasks.
#[derive(Debug, Default)]
pub struct Control {
    /// The HA pair's coordination, when this daemon is one of a pair.
    pub ha: Option<mpsc::Receiver<Report>>,
    /// The DNS worker's results.
    pub dns: Option<mpsc::Receiver<Written>>,
}

/// One message from one of them.
#[derive(Debug)]
pub enum Heard {
    /// From the HA pair's coordination.
    Pair(Report),
    /// From the DNS worker.
    Dns(Written),
}

impl Control {
    /// The next message from any of them; pending for ever when none is left open.
    pub async fn recv(&mut self) -> Heard {
        tokio::select! {
            Some(report) = recv_from(&mut self.ha) => Heard::Pair(report),
            Some(written) = recv_from(&mut self.dns) => Heard::Dns(written),
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
