//! The API's shapes of the core's types, kept apart from them: the OpenAPI schema
//! derives here, so renaming a field in `hbd-core` is a compile error in a conversion
//! below, never a silent API change. Each type carries its core type's name, so the
//! published schema names stay as they were.

use std::net::IpAddr;

use serde::Serialize;
use utoipa::ToSchema;

use crate::model;

/// Alert levels, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Within thresholds.
    Ok,
    /// Past `warning`.
    Warning,
    /// Past `critical`.
    Critical,
    /// A Nagios check that could not decide (only Nagios results have it).
    Unknown,
}

impl From<model::Level> for Level {
    fn from(level: model::Level) -> Level {
        match level {
            model::Level::Ok => Level::Ok,
            model::Level::Warning => Level::Warning,
            model::Level::Critical => Level::Critical,
            model::Level::Unknown => Level::Unknown,
        }
    }
}

/// Why a notification is held.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// A silence covers it.
    Silenced {
        /// The silence's id.
        silence: String,
    },
    /// A maintenance window is open over it.
    Maintenance {
        /// The window's name.
        window: String,
    },
    /// Its host is UNREACHABLE: a parent is DOWN.
    Unreachable {
        /// The parent that is down.
        parent: String,
    },
    /// It is flapping.
    Flapping {
        /// Weighted state changes, percent.
        percent: f64,
    },
    /// This daemon is the standby of an HA pair: the other one tells (`leader`, when
    /// known; none while coordination is unreachable and before it fails open).
    Standby {
        /// The daemon holding the lease, if known.
        leader: Option<String>,
    },
    /// Its rule's pending period has not passed.
    Pending {
        /// When it fires if still not OK (ms since the Unix epoch).
        until: u64,
    },
    /// Its host is a vantage point of a check run from several: the check tells.
    Vantage {
        /// The check's name.
        check: String,
    },
    /// An operator acknowledged the problem: its reminders are held.
    Acknowledged {
        /// Who.
        by: String,
    },
}

impl From<model::Reason> for Reason {
    fn from(reason: model::Reason) -> Reason {
        match reason {
            model::Reason::Silenced { silence } => Reason::Silenced { silence },
            model::Reason::Maintenance { window } => Reason::Maintenance { window },
            model::Reason::Unreachable { parent } => Reason::Unreachable { parent },
            model::Reason::Flapping { percent } => Reason::Flapping { percent },
            model::Reason::Standby { leader } => Reason::Standby { leader },
            model::Reason::Pending { until } => Reason::Pending { until: until.0 },
            model::Reason::Vantage { check } => Reason::Vantage { check },
            model::Reason::Acknowledged { by } => Reason::Acknowledged { by },
        }
    }
}

/// What a command is, as queued.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Job {
    /// The `cmd_id`: unique, chosen when queued.
    pub id: String,
    /// The host that runs it.
    pub host: String,
    /// Program and arguments, run without a shell.
    pub argv: Vec<String>,
    /// The agent kills it after this many seconds.
    pub timeout_s: u64,
    /// Who queued it.
    pub by: Option<String>,
    /// When it was queued.
    pub queued: u64,
    /// It expires unless its result arrives before this.
    pub expires: u64,
    /// Where it stands.
    pub state: JobState,
    /// For a self-upgrade (`UPD`, with `argv` empty): the release it installs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeJob>,
}

impl From<model::Job> for Job {
    fn from(job: model::Job) -> Job {
        Job {
            id: job.id,
            host: job.host,
            argv: job.argv,
            timeout_s: job.timeout_s,
            by: job.by,
            queued: job.queued.0,
            expires: job.expires.0,
            state: job.state.into(),
            upgrade: job.upgrade.map(|u| UpgradeJob::from(*u)),
        }
    }
}

/// The release a self-upgrade installs, and where the agent downloads it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UpgradeJob {
    /// The version.
    pub version: String,
    /// The platform (`x86_64-linux`).
    pub arch: String,
    /// The release file's name.
    pub file: String,
    /// Its SHA-256 (hex), which the signed `UPD` carries.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Path on the daemon's HTTP port (`/releases/FILE`).
    pub path: String,
    /// The daemon's HTTP port.
    pub port: Option<u16>,
    /// The full URL, when `releases_url` is set.
    pub url: Option<String>,
    /// The release's plugin compiler, installed beside the agent with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiler: Option<UpgradeFile>,
}

impl From<model::UpgradeJob> for UpgradeJob {
    fn from(u: model::UpgradeJob) -> UpgradeJob {
        UpgradeJob {
            version: u.version,
            arch: u.arch,
            file: u.file,
            sha256: u.sha256,
            size: u.size,
            path: u.path,
            port: u.port,
            url: u.url,
            compiler: u.compiler.map(UpgradeFile::from),
        }
    }
}

/// A second file of a self-upgrade (the release's plugin compiler).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UpgradeFile {
    /// The file's name.
    pub file: String,
    /// Its SHA-256 (hex), which the signed `UPD` carries.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Path on the daemon's HTTP port (`/releases/FILE`).
    pub path: String,
    /// The full URL, when `releases_url` is set.
    pub url: Option<String>,
}

impl From<model::UpgradeFile> for UpgradeFile {
    fn from(f: model::UpgradeFile) -> UpgradeFile {
        UpgradeFile {
            file: f.file,
            sha256: f.sha256,
            size: f.size,
            path: f.path,
            url: f.url,
        }
    }
}

/// Where a command stands.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the host's next signed heartbeat.
    Queued,
    /// Sent; sent again after every heartbeat until the result arrives.
    Sent {
        /// Sent this many times.
        times: u32,
        /// Last sent.
        last: u64,
    },
    /// The agent's result arrived.
    Done {
        /// When.
        at: u64,
        /// Exit code (negative: killed by a signal, timed out, refused by the agent, or
        /// [`hb_proto::EXIT_INTERRUPTED`]: cut short by the agent's restart).
        exit_code: i32,
        /// Combined output, at most 16 KiB.
        output: String,
        /// How often it had been sent (0 in records from before this was kept).
        sent_times: u32,
        /// When it was last sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        last_sent: Option<u64>,
    },
    /// No result arrived in time.
    Expired {
        /// When it expired.
        at: u64,
        /// How often it had been sent.
        sent_times: u32,
        /// When it was last sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        last_sent: Option<u64>,
    },
}

impl From<model::JobState> for JobState {
    fn from(state: model::JobState) -> JobState {
        match state {
            model::JobState::Queued => JobState::Queued,
            model::JobState::Sent { times, last } => JobState::Sent {
                times,
                last: last.0,
            },
            model::JobState::Done {
                at,
                exit_code,
                output,
                sent_times,
                last_sent,
            } => JobState::Done {
                at: at.0,
                exit_code,
                output,
                sent_times,
                last_sent: last_sent.map(|t| t.0),
            },
            model::JobState::Expired {
                at,
                sent_times,
                last_sent,
            } => JobState::Expired {
                at: at.0,
                sent_times,
                last_sent: last_sent.map(|t| t.0),
            },
        }
    }
}

/// One silence as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Silence {
    /// Its id.
    pub id: String,
    /// Host names it covers: a glob (`web*`, `db[12]`, `*`).
    pub hosts: String,
    /// Metric paths it covers (a glob); absent: the hosts themselves (UP/DOWN and other
    /// host events) and every alert of theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<String>,
    /// The hosts it is limited to, whatever else `hosts` matches: for a silence made by
    /// someone who is not an administrator, the hosts the glob matched that they
    /// managed when they made it (so a glob cannot reach, or reveal, hosts they do not
    /// see). Absent: every host the glob matches, now or later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// When it begins (ms since the Unix epoch).
    pub starts: u64,
    /// When it ends (ms since the Unix epoch); an early expiry sets it to then.
    pub ends: u64,
    /// Why.
    pub comment: String,
    /// Who made it.
    pub author: String,
    /// When it was made.
    pub created: u64,
}

impl From<crate::policy::silence::Silence> for Silence {
    fn from(s: crate::policy::silence::Silence) -> Silence {
        Silence {
            id: s.id,
            hosts: s.hosts,
            paths: s.paths,
            only: s.only,
            starts: s.starts.0,
            ends: s.ends.0,
            comment: s.comment,
            author: s.author,
            created: s.created.0,
        }
    }
}

/// One grouped message, kept for the API.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StormRecord {
    /// Its number, counting from 1 since the daemon started.
    pub id: u64,
    /// When it was sent.
    pub at: u64,
    /// How many notifications it holds.
    pub count: usize,
    /// Each notification, oldest first.
    pub items: Vec<StormItem>,
    /// The hosts concerned, sorted, each once.
    pub hosts: Vec<String>,
}

/// One notification in a storm group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StormItem {
    /// The host it is about.
    pub host: String,
    /// Its text.
    pub text: String,
}

impl From<crate::policy::storm::StormRecord> for StormRecord {
    fn from(r: crate::policy::storm::StormRecord) -> StormRecord {
        StormRecord {
            id: r.id,
            at: r.at.0,
            count: r.count,
            items: r
                .items
                .into_iter()
                .map(|i| StormItem {
                    host: i.host,
                    text: i.text,
                })
                .collect(),
            hosts: r.hosts,
        }
    }
}

/// One metric's points, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Series {
    /// Times, Unix milliseconds.
    pub t: Vec<u64>,
    /// Values.
    pub v: Vec<f64>,
}

impl From<crate::downsample::Series> for Series {
    fn from(s: crate::downsample::Series) -> Series {
        Series { t: s.t, v: s.v }
    }
}

/// A host's DNS record as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Status {
    /// The zone.
    pub zone: String,
    /// The record's name.
    pub name: String,
    /// The address it should hold.
    #[schema(value_type = String)]
    pub address: IpAddr,
    /// The address last written successfully (this daemon run).
    #[schema(value_type = Option<String>)]
    pub applied: Option<IpAddr>,
    /// `pending`, `running`, `ok` or `failing`.
    pub state: &'static str,
    /// Failed tries since the last success.
    pub failures: u32,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When the record was last written (Unix ms).
    pub last_ok: Option<u64>,
}

impl From<crate::dns::plan::Status> for Status {
    fn from(s: crate::dns::plan::Status) -> Status {
        Status {
            zone: s.zone,
            name: s.name,
            address: s.address,
            applied: s.applied,
            state: s.state,
            failures: s.failures,
            last_error: s.last_error,
            last_ok: s.last_ok.map(|t| t.0),
        }
    }
}

/// What an applied command did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The host is forgotten.
    HostDropped,
    /// The alert path is forgotten.
    AlertCleared {
        /// Its level before.
        was: Level,
    },
    /// The command is queued for the host's agent.
    Queued {
        /// The command.
        job: Box<Job>,
    },
    /// The silence is in force (or ended, when expired).
    Silence {
        /// The silence now.
        silence: Box<Silence>,
    },
    /// The message is on its way.
    Told,
    /// The problem is acknowledged.
    Acknowledged {
        /// The acknowledgement.
        ack: Ack,
    },
    /// The acknowledgement is taken back.
    Withdrawn,
}

/// An operator's acknowledgement of a problem, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ack {
    /// Who.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Why: what is being done about it.
    pub comment: String,
    /// When it ends by itself (RFC 3339), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl From<model::Ack> for Ack {
    fn from(a: model::Ack) -> Ack {
        Ack {
            at: a.at.rfc3339(),
            until: a.until.map(|t| t.rfc3339()),
            by: a.by,
            comment: a.comment,
        }
    }
}

impl From<crate::core::Outcome> for Outcome {
    fn from(outcome: crate::core::Outcome) -> Outcome {
        match outcome {
            crate::core::Outcome::HostDropped => Outcome::HostDropped,
            crate::core::Outcome::AlertCleared { was } => Outcome::AlertCleared { was: was.into() },
            crate::core::Outcome::Queued { job } => Outcome::Queued {
                job: Box::new(Job::from(*job)),
            },
            crate::core::Outcome::Silence { silence } => Outcome::Silence {
                silence: Box::new(Silence::from(*silence)),
            },
            crate::core::Outcome::Told => Outcome::Told,
            crate::core::Outcome::Acknowledged { ack } => Outcome::Acknowledged {
                ack: Ack::from(*ack),
            },
            crate::core::Outcome::Withdrawn => Outcome::Withdrawn,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::clock::Timestamp;

    /// The views say what the core's own serialization says, so records the journal
    /// and the live stream carry read the same as the API's.
    #[test]
    fn views_serialize_as_the_core_types_do() {
        let job = model::Job {
            id: "j1".into(),
            host: "web1".into(),
            argv: vec!["/bin/true".into()],
            timeout_s: 5,
            by: Some("ops".into()),
            queued: Timestamp(1),
            expires: Timestamp(2),
            state: model::JobState::Done {
                at: Timestamp(3),
                exit_code: 0,
                output: "ok".into(),
                sent_times: 1,
                last_sent: Some(Timestamp(2)),
            },
            upgrade: Some(Box::new(model::UpgradeJob {
                version: "1.2".into(),
                arch: "x86_64-linux".into(),
                file: "hbc".into(),
                sha256: "ab".into(),
                size: 9,
                path: "/releases/hbc".into(),
                port: Some(8080),
                url: None,
                compiler: Some(model::UpgradeFile {
                    file: "c".into(),
                    sha256: "cd".into(),
                    size: 1,
                    path: "/releases/c".into(),
                    url: None,
                }),
            })),
        };
        let core = serde_json::to_value(crate::core::Outcome::Queued {
            job: Box::new(job.clone()),
        })
        .unwrap();
        let view = serde_json::to_value(Outcome::from(crate::core::Outcome::Queued {
            job: Box::new(job),
        }))
        .unwrap();
        assert_eq!(view, core);
        assert_eq!(view["job"]["state"]["state"], json!("done"));

        let held = model::Reason::Pending {
            until: Timestamp(7),
        };
        assert_eq!(
            serde_json::to_value(Reason::from(held.clone())).unwrap(),
            serde_json::to_value(held).unwrap()
        );
        let cleared = crate::core::Outcome::AlertCleared {
            was: model::Level::Critical,
        };
        assert_eq!(
            serde_json::to_value(Outcome::from(cleared.clone())).unwrap(),
            serde_json::to_value(cleared).unwrap()
        );
    }
}
