//! Silences: an operator's "nobody is told about these hosts (and metric paths) from
//! start to end", with the globs compiled once, and the policy's keeping of them (added,
//! ended early, listed, pruned), each change looking at what they held again.

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::clock::{Now, Timestamp};

use super::{ENDED_KEPT, Policy};

/// One silence as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Its id.
    pub id: String,
    /// Host names it covers: a glob (`web*`, `db[12]`, `*`).
    pub hosts: String,
    /// Metric paths it covers (a glob); absent: the hosts themselves (UP/DOWN and other
    /// host events) and every alert of theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<String>,
    /// The hosts it is limited to, whatever else `hosts` matches: for a silence made by
    /// someone who is not an administrator, the hosts the glob matched that they
    /// managed when they made it (so a glob cannot reach, or reveal, hosts they do not
    /// see). Absent: every host the glob matches, now or later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// When it begins (ms since the Unix epoch).
    pub starts: Timestamp,
    /// When it ends (ms since the Unix epoch); an early expiry sets it to then.
    pub ends: Timestamp,
    /// Why.
    pub comment: String,
    /// Who made it.
    pub author: String,
    /// When it was made.
    pub created: Timestamp,
}

/// A glob that did not compile.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadGlob {
    /// `hosts` or `paths`.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// A glob over names; `*` crosses `.` and `/` (metric paths hold both).
pub fn glob(field: &'static str, pattern: &str) -> Result<GlobMatcher, BadGlob> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| BadGlob {
            field,
            message: e.kind().to_string(),
        })
}

/// Whether a `paths` glob (absent: everything) covers `path` (absent: the host's own
/// events, which only a silence or window without `paths` covers).
pub fn paths_cover(paths: Option<&GlobMatcher>, path: Option<&str>) -> bool {
    match (paths, path) {
        (None, _) => true,
        (Some(p), Some(path)) => p.is_match(path),
        (Some(_), None) => false,
    }
}

/// A silence with its globs compiled.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The silence.
    pub silence: Silence,
    hosts: GlobMatcher,
    paths: Option<GlobMatcher>,
}

impl Compiled {
    /// Compiles the silence's globs.
    pub fn new(silence: Silence) -> Result<Compiled, BadGlob> {
        let hosts = glob("hosts", &silence.hosts)?;
        let paths = silence
            .paths
            .as_deref()
            .map(|p| glob("paths", p))
            .transpose()?;
        Ok(Compiled {
            silence,
            hosts,
            paths,
        })
    }

    /// Whether it covers `host` (`path: None`: the host's own events) at `at`.
    pub fn covers(&self, host: &str, path: Option<&str>, at: Timestamp) -> bool {
        self.silence.starts <= at && at < self.silence.ends && self.matches(host, path)
    }

    /// Whether its matchers cover `host` and `path`, whatever the time.
    pub fn matches(&self, host: &str, path: Option<&str>) -> bool {
        self.covers_host(host) && paths_cover(self.paths.as_ref(), path)
    }

    /// Whether it covers `host`, or some of its alerts, whatever the time.
    pub fn covers_host(&self, host: &str) -> bool {
        self.hosts.is_match(host)
            && self
                .silence
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|h| h == host))
    }
}

impl Policy {
    /// Keeps every silence not yet ended and the [`ENDED_KEPT`] that ended last.
    fn prune_silences(&mut self, now: Now) {
        let mut ended: Vec<Timestamp> = self
            .silences
            .iter()
            .map(|s| s.silence.ends)
            .filter(|&e| e <= now.wall)
            .collect();
        if ended.len() <= ENDED_KEPT {
            return;
        }
        ended.sort_unstable_by(|a, b| b.cmp(a));
        let oldest_kept = ended[ENDED_KEPT - 1];
        self.silences
            .retain(|s| s.silence.ends > now.wall || s.silence.ends >= oldest_kept);
    }

    /// Adds or replaces a silence; held subjects are looked at again.
    pub fn put_silence(&mut self, silence: Silence, now: Now) -> Result<(), BadGlob> {
        let compiled = Compiled::new(silence)?;
        self.silences
            .retain(|s| s.silence.id != compiled.silence.id);
        self.silences_dirty.push(compiled.silence.clone());
        self.silences.push(compiled);
        self.prune_silences(now);
        self.recheck_all(now);
        Ok(())
    }

    /// Ends a silence now; what it held is told if it differs from what was last told.
    pub fn expire_silence(&mut self, id: &str, now: Now) -> Option<Silence> {
        let s = self.silences.iter_mut().find(|s| s.silence.id == id)?;
        if s.silence.ends > now.wall {
            s.silence.ends = now.wall;
            if s.silence.starts > now.wall {
                s.silence.starts = now.wall;
            }
        }
        let silence = s.silence.clone();
        self.silences_dirty.push(silence.clone());
        self.recheck_all(now);
        Some(silence)
    }

    /// Every silence, newest first (ended ones too, until pruned).
    pub fn silences(&self) -> Vec<Silence> {
        let mut all: Vec<Silence> = self.silences.iter().map(|s| s.silence.clone()).collect();
        all.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn silence(hosts: &str, only: Option<&[&str]>) -> Compiled {
        Compiled::new(Silence {
            id: "s".into(),
            hosts: hosts.into(),
            paths: None,
            only: only.map(|o| o.iter().map(|h| (*h).to_owned()).collect()),
            starts: Timestamp(0),
            ends: Timestamp(10),
            comment: "patching".into(),
            author: "mal".into(),
            created: Timestamp(0),
        })
        .expect("a valid glob")
    }

    #[test]
    fn a_limited_silence_covers_only_its_hosts_whatever_its_glob_matches() {
        let limited = silence("*", Some(&["mal1"]));
        let open = silence("*", None);
        for (host, limited_covers) in [("mal1", true), ("secret-db", false), ("mal2", false)] {
            assert_eq!(
                limited.covers(host, None, Timestamp(5)),
                limited_covers,
                "{host}"
            );
            assert!(open.covers(host, None, Timestamp(5)), "{host}");
        }
        assert!(!silence("web*", Some(&["mal1"])).covers("mal1", None, Timestamp(5)));
    }
}
