//! A command queued for an agent (`CMD`) or a self-upgrade (`UPD`), and where it stands:
//! the core's outbox keeps them, the store and the HA pair's queue carry them, the API
//! shows them.

use hb_proto::Message;
use serde::{Deserialize, Serialize};

use crate::clock::{Now, Timestamp};

/// What a command is, as queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub queued: Timestamp,
    /// It expires unless its result arrives before this.
    pub expires: Timestamp,
    /// Where it stands.
    pub state: JobState,
    /// For a self-upgrade (`UPD`, with `argv` empty): the release it installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Box<UpgradeJob>>,
}

/// The release a self-upgrade installs, and where the agent downloads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<UpgradeFile>,
}

/// A second file of a self-upgrade (the release's plugin compiler).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Where a command stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the host's next signed heartbeat.
    Queued,
    /// Sent; sent again after every heartbeat until the result arrives.
    Sent {
        /// Sent this many times.
        times: u32,
        /// Last sent.
        last: Timestamp,
    },
    /// The agent's result arrived.
    Done {
        /// When.
        at: Timestamp,
        /// Exit code (negative: killed by a signal, timed out, refused by the agent, or
        /// [`hb_proto::EXIT_INTERRUPTED`]: cut short by the agent's restart).
        exit_code: i32,
        /// Combined output, at most 16 KiB.
        output: String,
        /// How often it had been sent (0 in records from before this was kept).
        #[serde(default)]
        sent_times: u32,
        /// When it was last sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_sent: Option<Timestamp>,
    },
    /// No result arrived in time.
    Expired {
        /// When it expired.
        at: Timestamp,
        /// How often it had been sent.
        #[serde(default)]
        sent_times: u32,
        /// When it was last sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_sent: Option<Timestamp>,
    },
}

impl Job {
    /// The `CMD` (or `UPD`) that carries it, stamped with the daemon's clock `now`.
    pub fn command(&self, now: Now) -> Message {
        if let Some(up) = &self.upgrade {
            return Message::Update(Box::new(hb_proto::Update {
                cmd_id: self.id.clone(),
                version: Some(up.version.clone()),
                file: hb_proto::UpdateFile {
                    sha256: up.sha256.clone(),
                    size: up.size,
                    path: up.path.clone(),
                    url: up.url.clone(),
                },
                port: up.port,
                ts: Some(now.wall.as_secs_f64()),
                compiler: up.compiler.as_ref().map(|c| hb_proto::UpdateFile {
                    sha256: c.sha256.clone(),
                    size: c.size,
                    path: c.path.clone(),
                    url: c.url.clone(),
                }),
            }));
        }
        Message::Command(hb_proto::Command {
            cmd_id: self.id.clone(),
            argv: self.argv.clone(),
            timeout: self.timeout_s,
            ts: Some(now.wall.as_secs_f64()),
        })
    }
}

impl JobState {
    /// Done or expired: nothing more happens to it.
    pub fn finished(&self) -> bool {
        matches!(self, JobState::Done { .. } | JobState::Expired { .. })
    }

    /// How often it has been sent, and when last (kept when it ends).
    pub fn sent(&self) -> (u32, Option<Timestamp>) {
        match self {
            JobState::Queued => (0, None),
            JobState::Sent { times, last } => (*times, Some(*last)),
            JobState::Done {
                sent_times,
                last_sent,
                ..
            }
            | JobState::Expired {
                sent_times,
                last_sent,
                ..
            } => (*sent_times, *last_sent),
        }
    }
}
