//! Every message of protocol version 1, as serde types keyed by the JSON field `ID`.
//!
//! Field names are the wire names. Unknown fields are ignored on input, so newer agents can
//! add fields without breaking older daemons.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DecodeError;
use crate::limits::{
    MAX_ARGV_ITEMS, MAX_COMMAND_OUTPUT_BYTES, MAX_SHORT_STRING_BYTES, MAX_TEXT_BYTES,
};
use crate::name::validate_name;

/// One protocol message; the variant is the JSON field `ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ID")]
pub enum Message {
    /// `HTB`: a heartbeat, agent to daemon.
    #[serde(rename = "HTB")]
    Heartbeat(Heartbeat),
    /// `BOOT`: the host booted, agent to daemon.
    #[serde(rename = "BOOT")]
    Boot(Boot),
    /// `MSG`: a one-off operator message, agent to daemon.
    #[serde(rename = "MSG")]
    Text(OperatorMessage),
    /// `PLG`: one plugin's report, agent to daemon.
    #[serde(rename = "PLG")]
    Plugin(PluginReport),
    /// `RES`: the result of a command, agent to daemon.
    #[serde(rename = "RES")]
    CommandResult(CommandResult),
    /// `ACK`: the answer to a heartbeat, daemon to agent.
    #[serde(rename = "ACK")]
    Ack(Ack),
    /// `CMD`: a queued command, daemon to agent.
    #[serde(rename = "CMD")]
    Command(Command),
    /// `UPD`: a queued self-update, daemon to agent. Boxed: it is rare and the largest,
    /// and every heartbeat's message would otherwise be as large.
    #[serde(rename = "UPD")]
    Update(Box<Update>),
    /// Any other `ID`. Never produced by [`Message::from_json`], which reports
    /// [`DecodeError::UnknownId`] instead; present so the type can be deserialized.
    #[serde(other, skip_serializing)]
    Unknown,
}

/// Who sent an agent message and when: the fields replay protection reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp<'a> {
    /// The sending host's name.
    pub name: &'a str,
    /// Sender's clock, Unix seconds.
    pub ts: Option<f64>,
    /// Random id of the agent run.
    pub run: Option<u64>,
    /// Message counter within the run.
    pub seq: Option<u64>,
}

/// `HTB`: sent every `interval` seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Host name.
    pub name: String,
    /// Sender's clock, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// Random id chosen at agent start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Message counter, +1 per message of the run; echoed in the `ACK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The agent's heartbeat interval in seconds; the daemon uses it for DOWN detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// Round trip of the last answered heartbeat, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<f64>,
    /// Agent version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Host uptime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<f64>,
    /// The agent binary's platform, `ARCH-OS` (`x86_64-linux`): which release file an
    /// upgrade sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The labels the agent declares (`labels:` in its config), which host groups go
    /// by; sent in the first heartbeat of a run and every [`LABELS_EVERY`]th after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// What commands the agent runs (`commands` in its config): the programs it allows
    /// and whether it takes upgrades; sent with the labels, so the daemon offers only
    /// what can work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepts: Option<Accepts>,
    /// The digest of the managed plugins the agent applied (64 hex digits; PROTOCOL.md,
    /// "Managed plugins"), from an agent that manages plugins: sent with the labels and
    /// in the first heartbeat after it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<String>,
}

/// What commands an agent runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Accepts {
    /// The programs `commands.allow` lists (absolute paths); empty: none.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Whether it takes self-upgrades (`commands.upgrade`).
    #[serde(default)]
    pub upgrade: bool,
}

/// Programs an agent reports at most.
pub const MAX_ALLOWED: usize = 64;

/// An agent repeats its labels in every this many heartbeats (and its first), so a
/// daemon that lost them learns them again soon without every heartbeat carrying them.
pub const LABELS_EVERY: u64 = 10;

/// Labels an agent may declare at most.
pub const MAX_LABELS: usize = 32;

/// Checks declared labels: at most [`MAX_LABELS`], each name like a host name's part
/// (`a-z`, `0-9`, `_`, `-`, `.`; 1 to 64) and each value at most 256 bytes.
pub fn validate_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    if labels.len() > MAX_LABELS {
        return Err(format!("{} labels, at most {MAX_LABELS}", labels.len()));
    }
    for (k, v) in labels {
        let fine = !k.is_empty()
            && k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
        if !fine {
            return Err(format!(
                "label name {k:?}: a-z, 0-9, _ - . only, 1 to 64 characters"
            ));
        }
        if v.len() > 256 {
            return Err(format!("label {k:?}: value longer than 256 bytes"));
        }
    }
    Ok(())
}

/// `BOOT`: the host booted (`hbc --boot`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Boot {
    /// Host name.
    pub name: String,
    /// Sender's clock, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// Random id chosen at agent start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Message counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Host uptime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<f64>,
    /// Agent version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `MSG`: a one-off operator message (`hbc -m TEXT`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OperatorMessage {
    /// Host name.
    pub name: String,
    /// Sender's clock, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// Random id chosen at agent start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Message counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The message, at most 8 KiB.
    pub text: String,
}

/// Whether a plugin describes the host (`info`) or measures it (`monitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// Collected at start, then daily or on demand.
    Info,
    /// Collected every interval.
    Monitor,
}

/// A check result in Nagios terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Everything is fine.
    Ok,
    /// Attention needed.
    Warning,
    /// Action needed now.
    Critical,
    /// The check itself failed.
    Unknown,
}

/// `PLG`: one plugin's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginReport {
    /// Host name.
    pub name: String,
    /// Sender's clock, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// Random id chosen at agent start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Message counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Plugin name, e.g. `cpu_monitor`.
    pub plugin: String,
    /// Info or monitor.
    pub kind: PluginKind,
    /// The plugin's metrics, nested as the plugin reports them.
    pub data: Map<String, Value>,
    /// The plugin's own verdict, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// How long the collection took, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

/// A `RES`'s `exit_code` for a command (or upgrade) the agent did not run: refused, or
/// not startable; the reason is the output.
pub const EXIT_NOT_RUN: i32 = -255;

/// A `RES`'s `exit_code` for a command (or upgrade) that was cut short because the agent
/// stopped while it ran (killed, crashed, power lost): the restarted agent answers it so
/// and does not run it again; the reason is the output.
pub const EXIT_INTERRUPTED: i32 = -254;

/// `RES`: the result of a `CMD`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CommandResult {
    /// Host name.
    pub name: String,
    /// Sender's clock, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// Random id chosen at agent start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Message counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The `cmd_id` of the command this answers.
    pub cmd_id: String,
    /// The command's exit code (negative: killed by a signal, [`EXIT_NOT_RUN`] or
    /// [`EXIT_INTERRUPTED`]).
    pub exit_code: i32,
    /// Combined output, at most 16 KiB.
    #[serde(default)]
    pub output: String,
}

/// `ACK`: the answer to every `HTB`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ack {
    /// The heartbeat's `seq`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The heartbeat's `ts`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// The daemon's clock when it answered, Unix seconds.
    pub server_ts: f64,
    /// The digest of the managed plugins the host should run, when its agent reported
    /// another: the agent asks the daemon what to run now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<std::sync::Arc<str>>,
}

/// `CMD`: a command the agent runs by argv, never through a shell.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Command {
    /// Id the agent echoes in its `RES`; each id runs at most once.
    pub cmd_id: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Time limit in seconds.
    pub timeout: u64,
    /// The daemon's clock when it sent this, Unix seconds: an agent refuses a command
    /// too far from its own clock, so a recorded one cannot be replayed later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
}

/// `UPD`: a queued self-update. It names one release file by its SHA-256 and comes
/// signed with the host's key, so the digest is the daemon's word: the agent downloads
/// the file from `url` (or `path` on the daemon's HTTP `port`), and installs it only if
/// its SHA-256 is this one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Update {
    /// Id the agent echoes in its `RES` (the same space as commands' ids); each runs at
    /// most once.
    #[serde(default)]
    pub cmd_id: String,
    /// The version it installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The agent's release file: its SHA-256, size, and `path` (`/releases/FILE` on
    /// `port`) or `url` (the daemon's `releases_url`).
    #[serde(flatten)]
    pub file: UpdateFile,
    /// The daemon's HTTP port, for `path`s; the agent asks the host it sends heartbeats
    /// to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The daemon's clock when it sent this, Unix seconds (replay protection, as for
    /// `CMD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// The plugin compiler (`hbc-compile`) of the same release, installed beside the
    /// agent with it; absent when the release has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<UpdateFile>,
}

/// A file an `UPD` installs (the agent's binary, its compiler): named by its SHA-256 and
/// size, and fetched from the daemon's port (`path`) or from `url`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateFile {
    /// SHA-256 of the file, lowercase hex.
    #[serde(default)]
    pub sha256: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Where the daemon serves it (`/releases/FILE`), on the `UPD`'s `port`.
    #[serde(default)]
    pub path: String,
    /// A full URL instead of `path` and `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Message {
    /// The wire `ID` of this message.
    pub fn id(&self) -> &'static str {
        match self {
            Message::Heartbeat(_) => "HTB",
            Message::Boot(_) => "BOOT",
            Message::Text(_) => "MSG",
            Message::Plugin(_) => "PLG",
            Message::CommandResult(_) => "RES",
            Message::Ack(_) => "ACK",
            Message::Command(_) => "CMD",
            Message::Update(_) => "UPD",
            Message::Unknown => "?",
        }
    }

    /// Sender and replay fields of an agent-to-daemon message; `None` for replies.
    pub fn stamp(&self) -> Option<Stamp<'_>> {
        macro_rules! stamp {
            ($m:expr) => {
                Some(Stamp {
                    name: &$m.name,
                    ts: $m.ts,
                    run: $m.run,
                    seq: $m.seq,
                })
            };
        }
        match self {
            Message::Heartbeat(m) => stamp!(m),
            Message::Boot(m) => stamp!(m),
            Message::Text(m) => stamp!(m),
            Message::Plugin(m) => stamp!(m),
            Message::CommandResult(m) => stamp!(m),
            Message::Ack(_) | Message::Command(_) | Message::Update(_) | Message::Unknown => None,
        }
    }

    /// Parses one JSON object and checks every field bound. The caller has already
    /// enforced the size and depth limits.
    ///
    /// The `ID` is read first and the object is then parsed straight into that
    /// variant's struct (which ignores the `ID` field like any other unknown one). The
    /// derived internally tagged path would first buffer every field of the object into
    /// an intermediate tree, which on the heartbeat path cost as much as the parse.
    pub fn from_json(json: &[u8]) -> Result<Message, DecodeError> {
        // Checked once here, so that the parser need not check each string again (JSON
        // that is not UTF-8 is malformed in any case).
        let json = std::str::from_utf8(json).map_err(|e| DecodeError::BadJson {
            detail: format!("not UTF-8: {e}"),
        })?;
        let id = match leading_id(json) {
            Some(id) => std::borrow::Cow::Borrowed(id),
            None => std::borrow::Cow::Owned(scan_id(json)?),
        };
        let message = match id.as_ref() {
            "HTB" => Message::Heartbeat(parse(json)?),
            "BOOT" => Message::Boot(parse(json)?),
            "MSG" => Message::Text(parse(json)?),
            "PLG" => Message::Plugin(parse(json)?),
            "RES" => Message::CommandResult(parse(json)?),
            "ACK" => Message::Ack(parse(json)?),
            "CMD" => Message::Command(parse(json)?),
            "UPD" => Message::Update(parse(json)?),
            other => {
                // Well-formed JSON with an ID this version does not know (journaled by
                // the daemon for later study); malformed JSON is a JSON error.
                serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(bad_json)?;
                return Err(DecodeError::UnknownId {
                    id: truncate(other, 32).to_owned(),
                });
            }
        };
        message.validate()?;
        Ok(message)
    }

    /// Checks the bounds the protocol puts on names, strings and lists.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if let Some(stamp) = self.stamp() {
            validate_name(stamp.name).map_err(|e| invalid("name", e.to_string()))?;
            if let Some(ts) = stamp.ts
                && !ts.is_finite()
            {
                return Err(invalid("ts", "not a finite number".into()));
            }
        }
        match self {
            Message::Heartbeat(m) => {
                positive("interval", m.interval)?;
                non_negative("rtt", m.rtt)?;
                non_negative("uptime", m.uptime)?;
                short("version", m.version.as_deref())?;
                short("arch", m.arch.as_deref())?;
                if let Some(labels) = &m.labels {
                    validate_labels(labels).map_err(|e| invalid("labels", e))?;
                }
                if let Some(digest) = &m.plugins {
                    sha256_hex("plugins", digest)?;
                }
                if let Some(a) = &m.accepts {
                    if a.allow.len() > MAX_ALLOWED {
                        return Err(invalid(
                            "accepts",
                            format!("{} programs, at most {MAX_ALLOWED}", a.allow.len()),
                        ));
                    }
                    for program in &a.allow {
                        bounded("accepts", program, 4096)?;
                    }
                }
            }
            Message::Boot(m) => {
                non_negative("uptime", m.uptime)?;
                short("version", m.version.as_deref())?;
            }
            Message::Text(m) => bounded("text", &m.text, MAX_TEXT_BYTES)?,
            Message::Plugin(m) => {
                if m.plugin.is_empty() {
                    return Err(invalid("plugin", "empty".into()));
                }
                short("plugin", Some(&m.plugin))?;
                non_negative("duration_ms", m.duration_ms)?;
            }
            Message::CommandResult(m) => {
                short("cmd_id", Some(&m.cmd_id))?;
                bounded("output", &m.output, MAX_COMMAND_OUTPUT_BYTES)?;
            }
            Message::Ack(_) => {}
            Message::Command(m) => {
                short("cmd_id", Some(&m.cmd_id))?;
                if m.argv.is_empty() {
                    return Err(invalid("argv", "empty".into()));
                }
                if m.argv.len() > MAX_ARGV_ITEMS {
                    return Err(invalid(
                        "argv",
                        format!("{} items, at most {MAX_ARGV_ITEMS}", m.argv.len()),
                    ));
                }
            }
            Message::Update(m) => {
                short("cmd_id", Some(&m.cmd_id))?;
                short("version", m.version.as_deref())?;
                m.file.validate(["path", "url", "sha256"])?;
                if let Some(c) = &m.compiler {
                    c.validate(["compiler.path", "compiler.url", "compiler.sha256"])?;
                }
            }
            Message::Unknown => return Err(DecodeError::UnknownId { id: String::new() }),
        }
        Ok(())
    }

    /// Serializes to compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        if let Message::Ack(ack) = self {
            let mut out = Vec::with_capacity(80);
            ack.write_json(&mut out);
            return out;
        }
        // Invariant: every field is a plain string, number, list or JSON map, and all map
        // keys are strings, so serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl Ack {
    /// Appends `{"ID":"ACK",...}` to `out`, byte for byte what serde writes for
    /// [`Message::Ack`]: written by hand because an ACK answers every heartbeat, and
    /// serde's tagged serializer was most of the reply's cost on the daemon's heartbeat
    /// path (a signed frame writes it straight after its header).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"ID":"ACK""#);
        if let Some(seq) = self.seq {
            out.extend_from_slice(br#","seq":"#);
            out.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
        }
        if let Some(ts) = self.ts {
            out.extend_from_slice(br#","ts":"#);
            json_f64(ts, out);
        }
        out.extend_from_slice(br#","server_ts":"#);
        json_f64(self.server_ts, out);
        if let Some(digest) = &self.plugins {
            // A digest is hex: nothing in it needs escaping. Anything else goes the
            // long way, through serde.
            if digest.bytes().all(|b| b.is_ascii_alphanumeric()) {
                out.extend_from_slice(br#","plugins":""#);
                out.extend_from_slice(digest.as_bytes());
                out.push(b'"');
            } else {
                let text = serde_json::to_string(&**digest).unwrap_or_default();
                out.extend_from_slice(br#","plugins":"#);
                out.extend_from_slice(text.as_bytes());
            }
        }
        out.push(b'}');
    }
}

/// An f64 as serde_json writes one: the shortest text that reads back the same, and
/// `null` for NaN and the infinities.
fn json_f64(value: f64, out: &mut Vec<u8>) {
    if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

impl UpdateFile {
    /// Checks its bounds; `fields` name `path`, `url` and `sha256` in errors.
    fn validate(&self, [path, url, sha256]: [&'static str; 3]) -> Result<(), DecodeError> {
        short(path, Some(&self.path))?;
        short(url, self.url.as_deref())?;
        sha256_hex(sha256, &self.sha256)
    }
}

fn sha256_hex(field: &'static str, digest: &str) -> Result<(), DecodeError> {
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(invalid(field, "not 64 hex digits".into()))
    }
}

fn invalid(field: &'static str, reason: String) -> DecodeError {
    DecodeError::Invalid { field, reason }
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<(), DecodeError> {
    if value.len() > max {
        return Err(invalid(
            field,
            format!("{} bytes, at most {max}", value.len()),
        ));
    }
    Ok(())
}

fn short(field: &'static str, value: Option<&str>) -> Result<(), DecodeError> {
    value.map_or(Ok(()), |v| bounded(field, v, MAX_SHORT_STRING_BYTES))
}

fn positive(field: &'static str, value: Option<f64>) -> Result<(), DecodeError> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(invalid(field, format!("{v} is not > 0"))),
        _ => Ok(()),
    }
}

fn non_negative(field: &'static str, value: Option<f64>) -> Result<(), DecodeError> {
    match value {
        Some(v) if !(v.is_finite() && v >= 0.0) => Err(invalid(field, format!("{v} is not >= 0"))),
        _ => Ok(()),
    }
}

/// Parses `json` as one variant's fields.
fn parse<'de, T: Deserialize<'de>>(json: &'de str) -> Result<T, DecodeError> {
    serde_json::from_str(json).map_err(bad_json)
}

fn bad_json(e: serde_json::Error) -> DecodeError {
    DecodeError::BadJson {
        detail: e.to_string(),
    }
}

/// The `ID` of an object that starts `{"ID":"` followed by a plain value, as every
/// agent writes it (serde puts a tag first); `None` for any other layout.
fn leading_id(json: &str) -> Option<&str> {
    let rest = json.strip_prefix(r#"{"ID":""#)?;
    let end = rest.bytes().take(16).position(|b| b == b'"')?;
    let id = &rest[..end];
    id.bytes().all(|b| b.is_ascii_uppercase()).then_some(id)
}

/// The `ID` of an object laid out any other way, found by a full parse that keeps
/// nothing else.
fn scan_id(json: &str) -> Result<String, DecodeError> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(rename = "ID")]
        id: String,
    }
    serde_json::from_str::<IdOnly>(json)
        .map(|m| m.id)
        .map_err(bad_json)
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_netcat_heartbeat_parses() {
        let m = Message::from_json(br#"{"ID":"HTB","name":"web1","interval":30}"#).unwrap();
        assert_eq!(
            m,
            Message::Heartbeat(Heartbeat {
                name: "web1".into(),
                interval: Some(30.0),
                ..Heartbeat::default()
            })
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let m = Message::from_json(br#"{"ID":"MSG","name":"a","text":"hi","future":[1,2]}"#);
        assert!(matches!(m, Ok(Message::Text(t)) if t.text == "hi"));
    }

    #[test]
    fn rejections_name_their_reason() {
        let long_text = format!(r#"{{"ID":"MSG","name":"a","text":"{}"}}"#, "x".repeat(9000));
        let cases: Vec<(&[u8], &str)> = vec![
            (
                br#"{"ID":"NOPE","name":"a"}"#,
                "unknown message ID \"NOPE\"",
            ),
            (br#"{"name":"a"}"#, "bad JSON"),
            (br#"{"ID":"HTB"}"#, "bad JSON"),
            (br#"{"ID":"HTB","name":"a b"}"#, "invalid field name"),
            (
                br#"{"ID":"HTB","name":"a","interval":0}"#,
                "invalid field interval",
            ),
            (br#"{"ID":"HTB","name":"a","rtt":-1}"#, "invalid field rtt"),
            (long_text.as_bytes(), "invalid field text"),
            (
                br#"{"ID":"CMD","cmd_id":"1","argv":[],"timeout":5}"#,
                "invalid field argv",
            ),
        ];
        for (json, want) in cases {
            let err = Message::from_json(json).unwrap_err().to_string();
            assert!(
                err.starts_with(want),
                "{}: {err}",
                String::from_utf8_lossy(json)
            );
        }
    }

    #[test]
    fn the_id_is_read_wherever_it_stands_and_however_it_is_written() {
        let first = br#"{"ID":"HTB","name":"web1","interval":30,"seq":4}"#;
        let want = Message::from_json(first).unwrap();
        let layouts: [&[u8]; 4] = [
            br#"{"name":"web1","interval":30,"seq":4,"ID":"HTB"}"#,
            br#"{ "ID" : "HTB", "name":"web1","interval":30,"seq":4}"#,
            br#"{"ID":"\u0048TB","name":"web1","interval":30,"seq":4}"#,
            br#"{"name":"web1","ID":"HTB","interval":30,"seq":4}"#,
        ];
        for json in layouts {
            assert_eq!(
                Message::from_json(json).unwrap(),
                want,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        // Each variant comes out of its own ID, its struct's fields intact.
        let upd = format!(
            r#"{{"ID":"UPD","cmd_id":"u","version":"2","path":"/releases/x","sha256":"{}","size":9}}"#,
            "0".repeat(64)
        );
        type Is = fn(&Message) -> bool;
        let cases: [(&[u8], Is); 8] = [
            (
                br#"{"ID":"HTB","name":"a"}"#,
                |m| matches!(m, Message::Heartbeat(h) if h.name == "a"),
            ),
            (
                br#"{"ID":"BOOT","name":"a","uptime":3}"#,
                |m| matches!(m, Message::Boot(b) if b.uptime == Some(3.0)),
            ),
            (
                br#"{"ID":"MSG","name":"a","text":"t"}"#,
                |m| matches!(m, Message::Text(t) if t.text == "t"),
            ),
            (
                br#"{"ID":"PLG","name":"a","plugin":"p","kind":"monitor","data":{"x":1}}"#,
                |m| matches!(m, Message::Plugin(p) if p.plugin == "p"),
            ),
            (
                br#"{"ID":"RES","name":"a","cmd_id":"c","exit_code":0,"output":"o"}"#,
                |m| matches!(m, Message::CommandResult(r) if r.cmd_id == "c"),
            ),
            (br#"{"ID":"ACK","seq":2,"server_ts":1.5}"#, |m| {
                matches!(m, Message::Ack(_))
            }),
            (
                br#"{"ID":"CMD","cmd_id":"c","argv":["ls"],"timeout":5}"#,
                |m| matches!(m, Message::Command(c) if c.argv == ["ls"]),
            ),
            (
                upd.as_bytes(),
                |m| matches!(m, Message::Update(u) if u.file.size == 9),
            ),
        ];
        for (json, is) in cases {
            let m = Message::from_json(json);
            assert!(
                m.as_ref().is_ok_and(is),
                "{}: {m:?}",
                String::from_utf8_lossy(json)
            );
        }
        // A malformed object with an unknown ID is a JSON error, not an unknown ID.
        let err = Message::from_json(br#"{"ID":"NOPE","name":"#).unwrap_err();
        assert!(matches!(err, DecodeError::BadJson { .. }), "{err}");
    }

    #[test]
    fn stamp_reads_the_replay_fields() {
        let m =
            Message::from_json(br#"{"ID":"BOOT","name":"h","ts":5.5,"run":7,"seq":9}"#).unwrap();
        let s = m.stamp().unwrap();
        assert_eq!(
            (s.name, s.ts, s.run, s.seq),
            ("h", Some(5.5), Some(7), Some(9))
        );
        assert!(Message::Ack(Ack::default()).stamp().is_none());
    }
}
