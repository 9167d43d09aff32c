//! Running `nsupdate`: the update script goes to its standard input (so nothing secret
//! is on a command line: the TSIG key stays in its file, named with `-k`), with a time
//! limit after which the process is killed.

use std::net::IpAddr;
use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::plan::Job;
use crate::config::dns::Zone;

/// Error text kept from a failed run at most.
const MAX_ERROR: usize = 1024;

/// The script that replaces `job`'s record: its A and AAAA go, the new one comes, in
/// one message (atomic on the server).
pub fn script(zone: &Zone, job: &Job) -> String {
    let address = job.address.to_canonical();
    let kind = match address {
        IpAddr::V4(_) => "A",
        IpAddr::V6(_) => "AAAA",
    };
    let name = &job.record.name;
    // No server: nsupdate sends to the primary the zone's SOA names.
    let server = if zone.server.is_empty() {
        String::new()
    } else {
        format!("server {} {}\n", zone.server, zone.port)
    };
    format!(
        "{server}zone {zone_name}.\nupdate delete {name}. A\nupdate delete {name}. AAAA\nupdate add {name}. {ttl} {kind} {address}\nsend\n",
        zone_name = job.record.zone,
        ttl = zone.ttl,
    )
}

/// Why an update did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// `nsupdate_bin` could not be started.
    #[error("cannot run {program}: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        reason: String,
    },
    /// The script could not be handed to it.
    #[error("cannot write the update script: {0}")]
    Script(String),
    /// Its end could not be awaited.
    #[error("cannot wait for nsupdate: {0}")]
    Wait(String),
    /// It ran past the zone's `timeout` and was killed.
    #[error("nsupdate did not finish within {0} s; killed")]
    TimedOut(u64),
    /// It ran and failed (refused, unreachable): its exit status and what it said.
    #[error("nsupdate failed ({status}): {said}")]
    Failed {
        /// Its exit status.
        status: String,
        /// Its standard error (or output), at most 1 KiB.
        said: String,
    },
    /// The record's zone left the config while the update waited.
    #[error("zone {0} is no longer configured")]
    ZoneGone(String),
}

/// Runs `program` with `job`'s script.
pub async fn run(program: &Path, zone: &Zone, job: &Job) -> Result<(), UpdateError> {
    let mut command = tokio::process::Command::new(program);
    if let Some(key) = &zone.key_file {
        command.arg("-k").arg(key);
    }
    // nsupdate's own limit, a little inside ours.
    command
        .arg("-t")
        .arg(zone.timeout.as_secs().max(1).to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| UpdateError::Spawn {
        program: program.display().to_string(),
        reason: e.to_string(),
    })?;
    let text = script(zone, job);
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .await
                .map_err(|e| UpdateError::Script(e.to_string()))?;
        }
        child
            .wait_with_output()
            .await
            .map_err(|e| UpdateError::Wait(e.to_string()))
    };
    let limit = zone.timeout + std::time::Duration::from_secs(2);
    let output = tokio::time::timeout(limit, run)
        .await
        .map_err(|_| UpdateError::TimedOut(limit.as_secs()))??;
    if output.status.success() {
        return Ok(());
    }
    let mut why = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if why.is_empty() {
        why = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    if why.len() > MAX_ERROR {
        let mut end = MAX_ERROR;
        while !why.is_char_boundary(end) {
            end -= 1;
        }
        why.truncate(end);
    }
    Err(UpdateError::Failed {
        status: output.status.to_string(),
        said: why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dns::Record;

    #[test]
    fn the_script_replaces_both_families_with_the_one_address() {
        let zone = Zone {
            server: "127.0.0.1".into(),
            port: 15353,
            ttl: 120,
            ..Zone::default()
        };
        let job = |address: &str| Job {
            host: "web1".into(),
            record: Record {
                zone: "example.test".into(),
                name: "web1.example.test".into(),
            },
            address: address.parse().unwrap(),
        };
        assert_eq!(
            script(&zone, &job("192.0.2.10")),
            "server 127.0.0.1 15353\nzone example.test.\nupdate delete web1.example.test. A\nupdate delete web1.example.test. AAAA\nupdate add web1.example.test. 120 A 192.0.2.10\nsend\n"
        );
        assert!(script(&zone, &job("2001:db8::3")).contains("120 AAAA 2001:db8::3\n"));
        // An IPv4-mapped address is written as the IPv4 address it is.
        assert!(script(&zone, &job("::ffff:192.0.2.7")).contains("120 A 192.0.2.7\n"));
    }
}
