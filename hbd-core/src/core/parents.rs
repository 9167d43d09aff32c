//! Host dependencies: whether a host silent past its deadline is DOWN or UNREACHABLE
//! behind a DOWN parent, and giving UNREACHABLE children a fresh period once their
//! parent is back.

use std::time::Duration;

use super::HostState;
use super::hosts::{Hosts, Parents};
use super::settings::CoreSettings;
use crate::clock::{Mono, Now};

impl Hosts {
    /// Children left UNREACHABLE get a full `interval + grace` from now to be heard,
    /// now that `parent` is back; then their own state decides.
    pub(super) fn recheck_children(&mut self, parent: &str, settings: &CoreSettings, now: Now) {
        let Some(children) = self.children.get(parent).cloned() else {
            return;
        };
        for child in children {
            let Some(t) = self.get_tracked_mut(&child) else {
                continue;
            };
            if t.host.state == HostState::Unreachable {
                t.deadline = now.mono.plus(settings.allowance(&child, t.host.interval));
                let deadline = t.deadline;
                self.schedule(&child, deadline);
            }
        }
    }

    /// Whether `name`, silent past its deadline, is DOWN, UNREACHABLE, or must wait
    /// for a parent's own deadline.
    pub(super) fn parents_of(&self, name: &str, settings: &CoreSettings, now: Now) -> Parents {
        let Some(child) = self.tracked(name) else {
            return Parents::Fine;
        };
        // When the host's next heartbeat was due: a parent heard after that was up
        // while this host was silent.
        let due = child.heard.map(|h| h.plus(child.host.interval));
        let parents = settings.hosts.get(name).map(|h| h.parents.as_slice());
        let mut wait: Option<Mono> = None;
        for parent in parents.unwrap_or_default() {
            let Some(p) = self.tracked(parent) else {
                continue;
            };
            match p.host.state {
                HostState::Down | HostState::Unreachable => return Parents::Down(parent.clone()),
                HostState::Up => {
                    let confirmed = matches!((p.heard, due), (Some(h), Some(d)) if h >= d);
                    if !confirmed {
                        let at = p.deadline.max(now.mono).plus(Duration::from_millis(1));
                        wait = Some(wait.map_or(at, |w| w.max(at)));
                    }
                }
                HostState::Unknown => {}
            }
        }
        match wait {
            Some(at) => Parents::Unconfirmed(at),
            None => Parents::Fine,
        }
    }
}
