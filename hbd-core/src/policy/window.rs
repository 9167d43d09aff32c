//! Maintenance windows from the config: weekly days and a time of day in a time zone,
//! lasting a while, for some hosts (by name glob or threshold profile). While one is
//! open its hosts are silenced as by a [`super::silence::Silence`].

use std::time::Duration;

use globset::GlobMatcher;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;

use super::silence::{BadGlob, glob, paths_cover};
use crate::clock::Timestamp;
use crate::groups::{Group, Labels};

/// One window as the config states it (checked by the config reader).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowConfig {
    /// Host name globs it covers.
    pub hosts: Vec<String>,
    /// Threshold profiles whose hosts it covers.
    pub profiles: Vec<String>,
    /// Host groups whose members it covers.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Metric paths it covers (a glob); absent: the hosts and all their alerts.
    pub paths: Option<String>,
    /// Days it opens on, 1 = Monday .. 7 = Sunday; empty: every day.
    pub days: Vec<i8>,
    /// Minutes after local midnight it opens.
    pub start_minute: u32,
    /// How long it stays open.
    pub duration: Duration,
    /// IANA time zone name; absent: the system's.
    pub time_zone: Option<String>,
}

/// A window ready to be asked "open at t?".
#[derive(Debug, Clone)]
pub struct Window {
    /// Its name in the config.
    pub name: String,
    hosts: Vec<GlobMatcher>,
    profiles: Vec<String>,
    /// The groups it names, resolved by the config ([`Window::with_groups`]).
    groups: Vec<Group>,
    paths: Option<GlobMatcher>,
    days: Vec<Weekday>,
    start: Time,
    duration: Duration,
    tz: TimeZone,
}

/// Why a window cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// A glob did not compile.
    #[error(transparent)]
    Glob(#[from] BadGlob),
    /// The time zone is not in the system's database.
    #[error("time_zone: {0}")]
    TimeZone(String),
    /// A day or time out of range.
    #[error("{0}")]
    Range(String),
}

impl Window {
    /// Checks and compiles one configured window.
    pub fn new(name: &str, c: &WindowConfig) -> Result<Window, WindowError> {
        let hosts = c
            .hosts
            .iter()
            .map(|h| glob("hosts", h))
            .collect::<Result<_, _>>()?;
        let paths = c.paths.as_deref().map(|p| glob("paths", p)).transpose()?;
        let tz = match &c.time_zone {
            Some(name) => TimeZone::get(name).map_err(|e| WindowError::TimeZone(e.to_string()))?,
            None => TimeZone::system(),
        };
        let days = c
            .days
            .iter()
            .map(|&d| {
                Weekday::from_monday_one_offset(d)
                    .map_err(|_| WindowError::Range(format!("days: {d} is no weekday (1-7)")))
            })
            .collect::<Result<_, _>>()?;
        let hour = i8::try_from(c.start_minute / 60).unwrap_or(i8::MAX);
        let minute = i8::try_from(c.start_minute % 60).unwrap_or(0);
        let start = Time::new(hour, minute, 0, 0)
            .map_err(|_| WindowError::Range("start: expected HH:MM".into()))?;
        Ok(Window {
            name: name.to_owned(),
            hosts,
            profiles: c.profiles.clone(),
            groups: Vec::new(),
            paths,
            days,
            start,
            duration: c.duration,
            tz,
        })
    }

    /// The same, covering the members of `groups` (those its config names).
    pub fn with_groups(mut self, groups: Vec<Group>) -> Window {
        self.groups = groups;
        self
    }

    /// Whether it covers `host` (with these threshold profiles and labels) and `path`
    /// (`None`: the host's own events), whatever the time.
    pub fn matches(
        &self,
        host: &str,
        profiles: &[String],
        labels: Option<&Labels>,
        path: Option<&str>,
    ) -> bool {
        self.covers_host(host, profiles, labels) && paths_cover(self.paths.as_ref(), path)
    }

    /// Whether it covers `host` (with these threshold profiles and labels), or some of
    /// its alerts.
    pub fn covers_host(&self, host: &str, profiles: &[String], labels: Option<&Labels>) -> bool {
        self.hosts.iter().any(|g| g.is_match(host))
            || self.profiles.iter().any(|p| profiles.contains(p))
            || self.groups.iter().any(|g| g.contains(host, labels))
    }

    /// When the occurrence open at `at` ends, or `None` if none is open then.
    pub fn open_until(&self, at: Timestamp) -> Option<Timestamp> {
        let ms = i64::try_from(at.0).ok()?;
        let now = jiff::Timestamp::from_millisecond(ms)
            .ok()?
            .to_zoned(self.tz.clone());
        let lasts = i64::try_from(self.duration.as_millis()).ok()?;
        // An occurrence open now began at most `duration` ago: look back that many days
        // (at least today), latest first.
        let back = self.duration.as_secs() / 86_400 + 1;
        let mut date = now.date();
        let mut found = None;
        for _ in 0..=back {
            if self.days.is_empty() || self.days.contains(&date.weekday()) {
                let opens = date
                    .to_datetime(self.start)
                    .to_zoned(self.tz.clone())
                    .ok()?;
                let opens = opens.timestamp().as_millisecond();
                let ends = opens.saturating_add(lasts);
                if opens <= ms && ms < ends {
                    found = Some(found.map_or(ends, |f: i64| f.max(ends)));
                }
            }
            date = date.yesterday().ok()?;
        }
        found.and_then(|e| u64::try_from(e).ok()).map(Timestamp)
    }
}
