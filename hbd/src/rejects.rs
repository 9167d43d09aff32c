//! Who was turned away: the senders whose datagrams the gate rejected, by source
//! address, key id and reason, so a wrong or missing agent key is not silent. Bounded
//! ([`MAX_SENDERS`], the longest quiet forgotten first), and it says when a sender is
//! worth a warning in the log: when it first shows up, then at most once per
//! [`WARN_EVERY`] while it keeps sending.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hb_proto::RejectReason;

use crate::clock::Timestamp;

/// Senders kept at most.
pub const MAX_SENDERS: usize = 1000;

/// A sender that keeps being rejected is warned about at most this often.
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// Who sent it: where from, the key id its frame named, and what was wrong.
type Key = (IpAddr, Option<String>, RejectReason);

/// One rejected sender, as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The source address.
    pub source: IpAddr,
    /// The key id its frame named (signed datagrams).
    pub key_id: Option<String>,
    /// The host name its first rejected datagram claimed, when that could be read.
    pub name: Option<String>,
    /// Why its datagrams are rejected.
    pub reason: RejectReason,
    /// The latest rejection, in words.
    pub detail: String,
    /// Datagrams rejected.
    pub count: u64,
    /// The first and the latest.
    pub first: Timestamp,
    /// The latest.
    pub last: Timestamp,
    /// When the log last warned about it.
    warned: Option<Timestamp>,
    /// Rejections since that warning.
    since_warned: u64,
}

/// A warning due about a sender: what the log says.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// The sender.
    pub sender: Rejected,
    /// Datagrams rejected since the last warning about it.
    pub since_last: u64,
}

/// The rejected senders.
#[derive(Debug, Default)]
pub struct Rejects {
    senders: HashMap<Key, Rejected>,
}

impl Rejects {
    /// Records one rejected datagram; `name` reads the host name it claims (asked only
    /// for a sender not seen before). Returns a warning when one is due.
    pub fn record(
        &mut self,
        source: IpAddr,
        key_id: Option<&str>,
        reason: RejectReason,
        detail: &dyn std::fmt::Display,
        name: impl FnOnce() -> Option<String>,
        now: Timestamp,
    ) -> Option<Warning> {
        let key: Key = (source.to_canonical(), key_id.map(str::to_owned), reason);
        if !self.senders.contains_key(&key) && self.senders.len() >= MAX_SENDERS {
            self.forget_quietest();
        }
        let sender = self.senders.entry(key).or_insert_with(|| Rejected {
            source: source.to_canonical(),
            key_id: key_id.map(str::to_owned),
            name: name(),
            reason,
            detail: String::new(),
            count: 0,
            first: now,
            last: now,
            warned: None,
            since_warned: 0,
        });
        sender.count += 1;
        sender.since_warned += 1;
        sender.last = now;
        let due = sender.warned.is_none_or(|at| now.since(at) >= WARN_EVERY);
        if sender.detail.is_empty() || due {
            sender.detail = detail.to_string();
        }
        if !due {
            return None;
        }
        let since_last = std::mem::take(&mut sender.since_warned);
        sender.warned = Some(now);
        Some(Warning {
            sender: sender.clone(),
            since_last,
        })
    }

    /// Every sender, the latest rejected first.
    pub fn list(&self) -> Vec<Rejected> {
        let mut all: Vec<Rejected> = self.senders.values().cloned().collect();
        all.sort_by(|a, b| b.last.cmp(&a.last).then(a.source.cmp(&b.source)));
        all
    }

    fn forget_quietest(&mut self) {
        let quietest = self
            .senders
            .iter()
            .min_by_key(|(_, s)| s.last)
            .map(|(k, _)| k.clone());
        if let Some(k) = quietest {
            self.senders.remove(&k);
        }
    }
}

/// What the log adds to a warning: the likely cause and what to do.
pub fn hint(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::UnknownKey => {
            "the daemon has no key by this id: give the host one (hosts.NAME.key, or hb_key for all) or fix the agent's key_id"
        }
        RejectReason::BadSignature => {
            "signed with another key than the daemon's for this id: check the agent's key"
        }
        RejectReason::Unsigned => {
            "require_signed is on and this agent sends unsigned: give it a key"
        }
        RejectReason::ClockSkew => "the agent's clock is off: keep its time with NTP",
        RejectReason::Replay => {
            "repeated or out-of-order datagrams: a replay, or two agents with one name and key"
        }
        _ => "not a datagram this daemon can read: another program, or a broken agent",
    }
}

/// The rejected senders, shared by the receivers and the API.
#[derive(Debug, Clone, Default)]
pub struct SharedRejects(Arc<Mutex<Rejects>>);

impl SharedRejects {
    /// Records one rejected datagram (see [`Rejects::record`]).
    pub fn record(
        &self,
        source: IpAddr,
        key_id: Option<&str>,
        reason: RejectReason,
        detail: &dyn std::fmt::Display,
        name: impl FnOnce() -> Option<String>,
        now: Timestamp,
    ) -> Option<Warning> {
        self.lock()
            .record(source, key_id, reason, detail, name, now)
    }

    /// Every sender, the latest rejected first.
    pub fn list(&self) -> Vec<Rejected> {
        self.lock().list()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rejects> {
        // A poisoned lock means a receiver panicked mid-record; the table is still a
        // table of senders (each record is one update), so go on with it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Timestamp {
        Timestamp(1_800_000_000_000 + s * 1000)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_sender_is_warned_about_first_then_once_a_minute_with_the_count_between() {
        let mut r = Rejects::default();
        let mut warned = Vec::new();
        for s in 0..150 {
            let w = r.record(
                ip(5),
                Some("web7"),
                RejectReason::BadSignature,
                &"bad signature",
                || Some("web7".into()),
                at(s),
            );
            if let Some(w) = w {
                warned.push((s, w.since_last));
            }
        }
        assert_eq!(warned, [(0, 1), (60, 60), (120, 60)]);
        let list = r.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].count, 150);
        assert_eq!(list[0].name.as_deref(), Some("web7"));
        assert_eq!((list[0].first, list[0].last), (at(0), at(149)));
    }

    #[test]
    fn senders_are_told_apart_by_address_key_id_and_reason_and_listed_latest_first() {
        let mut r = Rejects::default();
        let cases: [(u8, Option<&str>, RejectReason); 4] = [
            (5, Some("web7"), RejectReason::BadSignature),
            (5, Some("web8"), RejectReason::BadSignature),
            (5, Some("web7"), RejectReason::Replay),
            (6, None, RejectReason::Unsigned),
        ];
        for (i, (last, key, reason)) in cases.iter().enumerate() {
            let w = r.record(ip(*last), *key, *reason, &"why", || None, at(i as u64));
            assert!(w.is_some(), "a new sender is warned about: {i}");
        }
        let order: Vec<(IpAddr, Option<String>)> =
            r.list().into_iter().map(|s| (s.source, s.key_id)).collect();
        assert_eq!(
            order,
            [
                (ip(6), None),
                (ip(5), Some("web7".into())),
                (ip(5), Some("web8".into())),
                (ip(5), Some("web7".into())),
            ]
        );
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_longest_quiet() {
        let mut r = Rejects::default();
        for i in 0..(MAX_SENDERS as u64 + 10) {
            let source = IpAddr::from(std::net::Ipv6Addr::from(u128::from(i) + 1));
            r.record(source, None, RejectReason::BadJson, &"x", || None, at(i));
        }
        let list = r.list();
        assert_eq!(list.len(), MAX_SENDERS);
        assert_eq!(
            list.last().map(|s| s.first),
            Some(at(10)),
            "0 to 9 forgotten"
        );
    }
}
