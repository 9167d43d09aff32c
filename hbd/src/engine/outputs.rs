//! Where the core's actions go. Each sink owns its projection of an action into its own
//! type: `journal::Entry::from_action`, `store::HistoryEntry::from_action`,
//! `live::UpdateKind::from_action`, `remote_write::actions::samples_for` and
//! `dns::worker::DnsInput::from_action`; [`Engine::carry`] hands every action to each
//! sink in turn. Adding a sink is its projection, in its own file, and one line in
//! `carry`. Replies to agents (the hot path: one per heartbeat, taken by value) and
//! notifications are carried out here too.

use std::net::SocketAddr;

use hb_proto::Message;
use hb_proto::frame::{DEFAULT_COMPRESS_OVER, encode_into};

use super::Engine;
use crate::core::Action;
use crate::dns::worker::DnsInput;
use crate::journal::Entry;
use crate::live::UpdateKind;
use crate::model::Notification;
use crate::store::HistoryEntry;

impl Engine {
    /// Carries out the core's actions, in order.
    pub(super) fn dispatch(&mut self, actions: &mut Vec<Action>, journal: &mut Vec<Entry>) {
        let mut host_events = false;
        for action in actions.drain(..) {
            let action = match action {
                Action::Reply {
                    to,
                    key_id,
                    message,
                } => {
                    self.reply(to, key_id.as_deref(), &message);
                    continue;
                }
                Action::Notify(group) => {
                    self.notify(group);
                    continue;
                }
                other => other,
            };
            log(&action);
            host_events |= matches!(action, Action::Event(_));
            self.carry(&action, journal);
        }
        if host_events {
            self.parts.metrics.set_hosts(self.parts.core.counts());
        }
    }

    /// Hands one action to every sink; each takes what its projection makes of it.
    fn carry(&mut self, action: &Action, journal: &mut Vec<Entry>) {
        let writes_dns = self.acts() && !self.config.dyndomains.is_empty();
        let p = &mut self.parts;
        if let Some(entry) = Entry::from_action(action) {
            journal.push(entry);
        }
        if p.store.is_some()
            && let Some(entry) = HistoryEntry::from_action(action)
        {
            self.history.push(entry);
        }
        if let Some(rw) = &p.remote_write {
            let now = p.clock.now().wall;
            rw.push(crate::remote_write::actions::samples_for(
                action,
                now,
                &rw.external,
            ));
        }
        if p.live.active()
            && let Some(update) = UpdateKind::from_action(action, |h| p.core.host(h).cloned())
        {
            p.live.publish(update);
        }
        let address = |h: &str| p.core.host(h).and_then(|h| h.address).map(|a| a.ip());
        if let Some(input) = DnsInput::from_action(action, writes_dns, address)
            && !p.dns.send(input)
        {
            tracing::warn!("DNS task queue full: this change of a host's record is not written");
        }
        match action {
            Action::Alert(_) => {
                p.metrics.alert_notices.inc();
            }
            Action::Forget { host } => p.latest.remove_host(host),
            _ => {}
        }
    }

    /// Sends a notification group, one way: straight to the notifier, or, when this
    /// daemon is one of an HA pair, to the pair, which claims it and hands what it may
    /// tell to the notifier itself (`ha::Deliver`).
    fn notify(&mut self, group: Vec<Notification>) {
        match &self.parts.ha {
            Some(pair) => pair.claim(group),
            None => {
                if let Some(notifier) = &self.notifier {
                    crate::ha::Deliver::deliver(notifier, &group, None);
                }
            }
        }
    }

    /// Hands every known host's address to the DNS task (a new leader of a pair makes
    /// every record current).
    pub(super) fn keep_all_dns(&self) {
        if self.config.dyndomains.is_empty() {
            return;
        }
        for host in self.parts.core.hosts() {
            if let Some(address) = host.address {
                let input = DnsInput::Address {
                    host: host.name.clone(),
                    address: address.ip(),
                };
                if !self.parts.dns.send(input) {
                    tracing::warn!(host = %host.name, "DNS task queue full: this address is not written");
                }
            }
        }
    }

    /// Whether this daemon writes DNS and sends commands: alone, as the pair's leader,
    /// or failing open (the core keeps whether it is the standby).
    pub(super) fn acts(&self) -> bool {
        !self.parts.core.is_standby()
    }

    /// Encodes a reply (signed with `key_id`'s key when given) for the end of the turn.
    fn reply(&mut self, to: SocketAddr, key_id: Option<&str>, message: &Message) {
        let key = key_id.and_then(|id| self.config.key_for(id).map(|(key, _)| (id, key)));
        // Sent at the end of the turn, with the others ([`Engine::send_replies`]).
        let queued = self.replies.push_with(to, |out| {
            encode_into(message, key, DEFAULT_COMPRESS_OVER, out)
        });
        match queued {
            Ok(()) => {}
            Err(error) => {
                self.parts.metrics.replies_failed.inc();
                tracing::debug!(%to, %error, "reply not encoded");
            }
        }
    }

    /// Sends the turn's replies, many per system call.
    pub(super) fn send_replies(&mut self) {
        if self.replies.is_empty() {
            return;
        }
        let done = self.replies.flush(&self.parts.socket);
        self.parts.metrics.replies_sent.inc_by(done.sent);
        self.parts.metrics.replies_failed.inc_by(done.failed);
    }
}

/// The log line of an action.
fn log(action: &Action) {
    match action {
        Action::Event(event) => {
            tracing::info!(host = %event.host, event = event.kind.name(), "host event");
        }
        Action::Alert(notice) => {
            let text = crate::render::notice_text(notice);
            tracing::info!(host = %notice.host, path = %notice.path, %text, "alert");
        }
        Action::Decision(decision) => tracing::info!(
            host = %decision.host,
            path = decision.path.as_deref().unwrap_or(""),
            what = %decision.what,
            verdict = ?decision.verdict,
            "policy"
        ),
        Action::Job(job) => {
            tracing::info!(host = %job.host, cmd_id = %job.id, state = ?job.state, "command");
        }
        _ => {}
    }
}
