//! `hbc enrol` and `hbc rekey` (PROTOCOL.md, "Enrolment"): this host makes its own key
//! with a token an administrator made, or replaces the key it has, by an exchange with
//! the daemon in which neither the key nor the token's secret crosses the network.
//! The key goes to `key_file` (mode 0600), which the agent reads at start.

use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use hb_proto::enrol::{Answer, Offer, Standing, Token};

use hbc::config::AgentConfig;

/// The largest answer taken.
const MAX_ANSWER: u64 = 64 * 1024;
/// How long the daemon has to answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What `hbc enrol` and `hbc rekey` are told on the command line.
pub struct EnrolArgs {
    /// The token (enrol only).
    pub token: Option<String>,
    /// The daemon's HTTP base URL.
    pub url: Option<String>,
    /// The host name to enrol as.
    pub name: Option<String>,
    /// Where the key goes.
    pub key_file: Option<PathBuf>,
}

fn random() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Where to ask, as whom, and where the key goes.
fn place(args: &EnrolArgs, config: &AgentConfig) -> anyhow::Result<(String, String, PathBuf)> {
    let name = args
        .name
        .clone()
        .or_else(|| config.name.clone())
        .unwrap_or_else(hbc::host_facts::hostname);
    hb_proto::validate_name(&name).map_err(|e| anyhow::anyhow!("name {name:?}: {e}"))?;
    let Some(key_file) = args.key_file.clone().or_else(|| config.key_file.clone()) else {
        bail!("no key file: give --key-file or set `key_file` in the config");
    };
    let url = match (&args.url, config.servers.first()) {
        (Some(url), _) => hbc::config::daemon_url(Some(url), ""),
        (None, Some((host, _))) => {
            hbc::config::daemon_url(config.managed_plugins.url.as_deref(), host)
        }
        (None, None) => bail!("no daemon: give --url or set `server` in the config"),
    };
    Ok((url, name, key_file))
}

/// Posts `body` to the daemon and reads its answer, or says why it refused.
fn exchange(url: &str, body: Vec<u8>) -> anyhow::Result<Answer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let (status, answer) = runtime
        .block_on(hbc::fetch::post_json(url, body, MAX_ANSWER, TIMEOUT))
        .with_context(|| format!("cannot reach {url}"))?;
    if status != 200 {
        let why = serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&answer).trim().to_owned());
        bail!("{url} refused ({status}): {why}");
    }
    serde_json::from_slice(&answer).with_context(|| format!("{url}: not an answer"))
}

/// Writes `key` to `path`, readable by this user alone: a new file, or (`replace`) over
/// the old one by a rename, so a crash leaves one key or the other.
fn write_key(path: &Path, key: &str, replace: bool) -> anyhow::Result<()> {
    let new = if replace {
        path.with_extension("new")
    } else {
        path.to_owned()
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    // The key: readable by its owner only (Windows: the directory's ACL decides).
    #[cfg(unix)]
    options.mode(0o600);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(&new)
        .with_context(|| format!("cannot write {}", new.display()))?;
    file.write_all(format!("{key}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", new.display()))?;
    if replace {
        std::fs::rename(&new, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}

/// `hbc enrol`: makes this host's key with a token.
pub fn enrol(args: &EnrolArgs, config: &AgentConfig) -> anyhow::Result<()> {
    let Some(token) = &args.token else {
        bail!("no token: give --token (an administrator makes one: POST /api/0/enrolment/tokens)");
    };
    let token = Token::parse(token)?;
    let (url, name, key_file) = place(args, config)?;
    if key_file.exists() {
        bail!(
            "{} exists: this host has a key already (`hbc rekey` replaces it)",
            key_file.display()
        );
    }
    let offer = Offer::new(random()?);
    let request = offer.request(&name, &token);
    let answer = exchange(&format!("{url}/agent/enrol"), serde_json::to_vec(&request)?)?;
    let key = offer.accept(&token, &request, &answer)?;
    write_key(&key_file, &key, false)?;
    match answer.standing {
        Standing::Active => println!(
            "enrolled {name}: its key is in {}, and speaks for {name} from now on",
            key_file.display()
        ),
        Standing::Pending => println!(
            "enrolled {name}: its key is in {}; it speaks for {name} once an administrator approves it (POST /api/0/enrolment/keys/{name}/approve)",
            key_file.display()
        ),
    }
    Ok(())
}

/// `hbc rekey`: replaces this host's key, proved with the current one.
pub fn rekey(args: &EnrolArgs, config: &AgentConfig) -> anyhow::Result<()> {
    let (url, name, key_file) = place(args, config)?;
    let current = std::fs::read_to_string(&key_file)
        .with_context(|| format!("cannot read the current key from {}", key_file.display()))?;
    let current = current.trim();
    let offer = Offer::new(random()?);
    let request = offer.rekey(&name, current);
    let answer = exchange(&format!("{url}/agent/rekey"), serde_json::to_vec(&request)?)?;
    let key = offer.accept_rekey(current, &request, &answer)?;
    write_key(&key_file, &key, true)?;
    println!(
        "{name}: new key in {}; the old one no longer speaks: restart the agent",
        key_file.display()
    );
    Ok(())
}
