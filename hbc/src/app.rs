//! The agent's wiring: given a checked config and its plugins, send the one-off messages
//! asked for, then run the plugin scheduler and the heartbeat loop until `shutdown`.
//! `main.rs` only parses the command line, sets up logging and calls [`run`].

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::command_runner::Runner;
use crate::config::AgentConfig;
use crate::heartbeat::{self, Identity};
use crate::link::Link;
use crate::plugins::scheduler::{self, Entry};

/// Where to send and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Each daemon's host name or address and UDP port: one, or the two of an HA pair
    /// (every datagram goes to each).
    pub servers: Vec<(String, u16)>,
    /// The name this host reports.
    pub name: String,
    /// Key id of signed frames.
    pub key_id: String,
}

/// What to do besides heartbeating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Once {
    /// Send BOOT first.
    pub boot: bool,
    /// Send this message and exit.
    pub message: Option<String>,
}

/// Why the agent stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The one-off message could not be sent.
    #[error("message not sent: {0}")]
    NotSent(crate::link::LinkError),
}

/// Runs the agent until `shutdown` is cancelled (or, with `once.message`, until the
/// message is sent). `refresh_info` asks for the info plugins now (SIGUSR1);
/// `upgrades`: what [`crate::upgrade::Resume::start`] found.
pub async fn run(
    config: AgentConfig,
    target: Target,
    plugins: Vec<Entry>,
    once: Once,
    refresh_info: Arc<tokio::sync::Notify>,
    upgrades: crate::upgrade::Resume,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let mut link = Link::to_all(&target.servers, config.key.as_deref(), &target.key_id);
    let mut me = Identity::new(target.name.clone());
    me.labels = config.labels.clone();
    me.accepts = hb_proto::Accepts {
        allow: config
            .commands
            .allow
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        upgrade: config.commands.upgrade,
    };
    if let Some(text) = &once.message {
        let message = me.text(text);
        link.send(&message).await.map_err(AppError::NotSent)?;
        return Ok(());
    }
    if once.boot {
        let message = me.boot();
        if let Err(error) = link.send(&message).await {
            tracing::warn!(%error, "boot message not sent");
        }
    }
    let servers: Vec<String> = target
        .servers
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect();
    tracing::info!(servers = %servers.join(","), name = %me.name, interval_s = config.interval.as_secs_f64(), signed = config.key.is_some(), plugins = plugins.len(), "hbc started");
    let (report_tx, report_rx) = tokio::sync::mpsc::channel(scheduler::QUEUE_LEN);
    #[cfg(feature = "wasm")]
    let (managed, plugins_link) = match managed(&config, &target, &plugins) {
        Some(m) => {
            let (sets, rx) = tokio::sync::watch::channel(Default::default());
            let (applied_tx, applied) = tokio::sync::watch::channel(String::new());
            let (desired, desired_rx) = tokio::sync::watch::channel(None);
            tokio::spawn(crate::managed::run(
                m,
                crate::managed::Links {
                    sets,
                    applied: applied_tx,
                    desired: desired_rx,
                },
                report_tx.clone(),
                shutdown.clone(),
            ));
            (Some(rx), Some(heartbeat::PluginsLink { applied, desired }))
        }
        None => (None, None),
    };
    #[cfg(not(feature = "wasm"))]
    let (managed, plugins_link) = (None, None);
    tokio::spawn(scheduler::run(
        plugins,
        managed,
        report_tx,
        refresh_info,
        shutdown.clone(),
    ));
    let commands = Runner::new(config.commands.clone(), upgrades.context, upgrades.report);
    heartbeat::run(
        link,
        me,
        config.interval,
        report_rx,
        commands,
        plugins_link,
        shutdown,
    )
    .await;
    tracing::info!("hbc stopped");
    Ok(())
}

/// What the managed plugins' task needs, when `plugin_trust` names a publisher and the
/// agent has a key (the config reader requires both together).
#[cfg(feature = "wasm")]
fn managed(
    config: &AgentConfig,
    target: &Target,
    plugins: &[Entry],
) -> Option<crate::managed::Managed> {
    if config.plugin_trust.publishers.is_empty() {
        return None;
    }
    let key = hb_proto::Key::new(config.key.clone()?);
    let runtime = match crate::wasm_loader::runtime(&config.wasm_plugins) {
        Ok(r) => r,
        Err(error) => {
            tracing::error!(%error, "managed plugins off: no WebAssembly runtime");
            return None;
        }
    };
    let m = &config.managed_plugins;
    let base = crate::config::daemon_url(m.url.as_deref(), &target.servers[0].0);
    Some(crate::managed::Managed {
        dir: m.dir.clone(),
        base,
        every: m.check_every,
        trust: config.plugin_trust.clone(),
        key,
        host: target.name.clone(),
        taken: plugins.iter().map(|e| e.name().to_owned()).collect(),
        natives: config.plugins.clone(),
        runtime,
    })
}
