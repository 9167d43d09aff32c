//! The keys agents made for themselves by enrolling (`enrolment`), as the configuration
//! in force carries them: for each host, its key and whether it may speak. A host with
//! one is spoken for by that key alone, whatever `hb_key` says. Read on every signed
//! datagram; changed only by enrolment, approval, rekey and revocation, which put a new
//! configuration in force.

use std::collections::HashMap;

use hb_proto::Key;

/// Whether an enrolled key speaks for its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// It does.
    Active,
    /// Not until an administrator approves it.
    Pending,
    /// No longer: the host is silent until it enrols again.
    Revoked,
}

impl Standing {
    /// The word the API and the store use.
    pub fn word(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Pending => "pending",
            Standing::Revoked => "revoked",
        }
    }

    /// The standing a word names.
    pub fn from_word(word: &str) -> Option<Standing> {
        match word {
            "active" => Some(Standing::Active),
            "pending" => Some(Standing::Pending),
            "revoked" => Some(Standing::Revoked),
            _ => None,
        }
    }
}

/// One host's enrolled key.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolledKey {
    /// The key.
    pub key: Key,
    /// Whether it speaks.
    pub standing: Standing,
}

/// Every host's enrolled key, by host name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Enrolled(HashMap<String, EnrolledKey>);

impl Enrolled {
    /// From each host's key.
    pub fn new(keys: HashMap<String, EnrolledKey>) -> Enrolled {
        Enrolled(keys)
    }

    /// `host`'s enrolled key, whatever its standing.
    pub fn get(&self, host: &str) -> Option<&EnrolledKey> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(host)
    }

    /// The key that speaks for `host` now, if it enrolled one that does.
    pub fn active(&self, host: &str) -> Option<&Key> {
        self.get(host)
            .filter(|e| e.standing == Standing::Active)
            .map(|e| &e.key)
    }

    /// Hosts with an active key.
    pub fn active_hosts(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|(_, e)| e.standing == Standing::Active)
            .map(|(h, _)| h.as_str())
    }
}
