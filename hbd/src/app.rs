//! Wiring: binds the sockets, opens journal and store, starts the receiver, engine and
//! HTTP server, and shuts them down in order (stop receiving, drain the engine, flush the
//! store and journal).

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::ApiState;
use crate::auth::db::AuthDb;
use crate::auth::service::Auth;
use crate::clock::Clock;
use crate::config::{Config, SharedConfig};
use crate::core::{Core, STATUS_PLUGIN};
use crate::engine::{self, Engine, Parts};
use crate::gate::Gate;
use crate::journal::{self, JournalError};
use crate::live::Publisher;
use crate::metrics::Metrics;
use crate::notify::NotifyError;
use crate::receiver;
use crate::reload::{self, Reloader};
use crate::samples::Latest;
use crate::server::{self, ServerError};
use crate::store::{self, Reader, Store, StoreError};

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A socket could not be bound.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal failed to open.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A notification channel could not be set up.
    #[error(transparent)]
    Notify(#[from] NotifyError),
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Http(std::io::Error),
    /// A heartbeat socket could not be handed to the runtime.
    #[error("heartbeat socket: {0}")]
    Udp(std::io::Error),
    /// The remote_write sender could not start (its HTTP client).
    #[error("remote_write: {0}")]
    RemoteWrite(reqwest::Error),
    /// A page template does not parse.
    #[error(transparent)]
    Templates(#[from] crate::templates::TemplateError),
    /// The HTTP server could not start (a TLS certificate).
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// The daemon's listening sockets, bound before anything starts.
#[derive(Debug)]
pub struct Sockets {
    /// Heartbeat socket (the first of `hb_receivers`; replies leave from it).
    pub udp: UdpSocket,
    /// The other heartbeat sockets on the same port (`SO_REUSEPORT`), when
    /// `hb_receivers` is more than one.
    pub more_udp: Vec<UdpSocket>,
    /// HTTP listener.
    pub http: TcpListener,
    /// The original's plain WebSocket port (`ws_port`), if set.
    pub ws: Option<TcpListener>,
    /// The original's TLS WebSocket port (`wss_port`), if set.
    pub wss: Option<TcpListener>,
}

impl Sockets {
    /// Binds `hb_host:hb_port` (UDP) and `hbd_host:hbd_port` (TCP).
    pub fn bind(config: &Config) -> Result<Sockets, AppError> {
        let udp_addr = SocketAddr::new(config.hb_host, config.hb_port);
        let shared = config.hb_receivers > 1;
        let udp = bind_udp(udp_addr, config.hb_recv_buffer, shared).or_else(|error| {
            if udp_addr.ip().is_unspecified() && udp_addr.is_ipv6() {
                // No IPv6 on this machine: fall back to every IPv4 address.
                bind_udp(
                    SocketAddr::from(([0, 0, 0, 0], config.hb_port)),
                    config.hb_recv_buffer,
                    shared,
                )
            } else {
                Err(error)
            }
        })?;
        // The others on the port the first got (port 0 in tests picks one).
        let bound = udp.local_addr().map_err(|source| AppError::Bind {
            what: "udp",
            addr: udp_addr,
            source,
        })?;
        let more_udp = (1..config.hb_receivers)
            .map(|_| bind_udp(bound, config.hb_recv_buffer, true))
            .collect::<Result<Vec<_>, _>>()?;
        let tcp = |what: &'static str, port: u16| {
            let addr = SocketAddr::new(config.hbd_host, port);
            TcpListener::bind(addr).map_err(|source| AppError::Bind { what, addr, source })
        };
        Ok(Sockets {
            udp,
            more_udp,
            http: tcp("http", config.hbd_port)?,
            ws: config.ws_port.map(|p| tcp("ws", p)).transpose()?,
            wss: config.wss_port.map(|p| tcp("wss", p)).transpose()?,
        })
    }
}

fn bind_udp(addr: SocketAddr, recv_buffer: usize, reuse_port: bool) -> Result<UdpSocket, AppError> {
    let err = |source| AppError::Bind {
        what: "udp",
        addr,
        source,
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    if addr.is_ipv6() {
        let _ = socket.set_only_v6(false);
    }
    // Several sockets on one port: the kernel spreads datagrams over them by source
    // address and port, so one agent's datagrams always reach the same receiver and
    // keep their order.
    if reuse_port {
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReusePort, &true)
            .map_err(|e| err(e.into()))?;
    }
    // A burst of reports (every host at once after an outage) must not overflow the
    // socket: the kernel holds it while the receiver catches up. The memory is taken
    // only while datagrams wait. As root, SO_RCVBUFFORCE passes net.core.rmem_max;
    // otherwise the kernel caps SO_RCVBUF there (logged). Best effort either way.
    if nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::RcvBufForce,
        &recv_buffer,
    )
    .is_err()
    {
        let _ = socket.set_recv_buffer_size(recv_buffer);
    }
    let got = socket.recv_buffer_size().unwrap_or(0);
    // Linux reports twice what was set (its bookkeeping share); half is what was granted.
    if got / 2 < recv_buffer {
        tracing::warn!(
            asked = recv_buffer,
            granted = got / 2,
            "heartbeat socket's receive buffer capped by net.core.rmem_max: a large burst may be dropped by the kernel"
        );
    }
    socket.bind(&addr.into()).map_err(err)?;
    Ok(socket.into())
}

/// Runs the daemon until `shutdown` is cancelled, then stops it cleanly. `config_path`
/// is the file a reload reads again (`None`: built-in defaults).
pub async fn run(
    config: Arc<Config>,
    config_path: Option<PathBuf>,
    sockets: Sockets,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let clock = Clock::start();
    let started = clock.now();
    let metrics = Arc::new(Metrics::new());
    let (journal, journal_thread) = journal::start(&config.journal, metrics.clone())?;
    let store = Store::open(&config.state_db, config.plugin_history)?;
    // The keys agents enrolled are in the store, not the file.
    let enrolment_db = crate::store::enrolment::EnrolmentDb::open(&config.state_db)?;
    let host_plugins = crate::store::host_plugins::HostPluginsDb::open(&config.state_db)?;
    let rollouts_db = crate::store::rollouts::RolloutsDb::open(&config.state_db)?;
    let kept_rollouts = Arc::new(rollouts_db.all()?);
    let config = Arc::new(Config {
        enrolled: Arc::new(enrolment_db.enrolled()?),
        host_plugins: Arc::new(host_plugins.all()?),
        rollouts: kept_rollouts.clone(),
        ..(*config).clone()
    });
    let shared = SharedConfig::new(config.clone());
    let hosts = store.load_hosts()?;
    let alerts = store.load_alerts()?;
    let jobs = store.load_jobs()?;
    let silences = store.load_silences()?;
    let told = store.load_told()?;
    let acks = store.load_acks()?;
    let latest = Latest::default();
    let mut checks = HashSet::new();
    for sample in store.load_latest_samples()? {
        if sample.plugin == STATUS_PLUGIN {
            for check in sample.data.keys() {
                checks.insert((sample.host.clone(), format!("{STATUS_PLUGIN}.{check}")));
            }
        }
        latest.insert(Arc::new(sample));
    }
    let reader = Reader::open(&config.state_db)?;
    tracing::info!(hosts = hosts.len(), path = %config.state_db.display(), "store opened");
    let (store_tx, store_thread) = store::start_writer(store, metrics.clone())?;
    let mut core = Core::restore(
        crate::core::CoreSettings::from(&*config),
        hosts,
        alerts,
        &checks,
        started,
    );
    core.restore_jobs(jobs, started);
    core.restore_policy(silences, told);
    core.restore_acks(acks, started);

    let tokio_udp = |s: UdpSocket| {
        s.set_nonblocking(true)?;
        tokio::net::UdpSocket::from_std(s).map(Arc::new)
    };
    let udp = tokio_udp(sockets.udp).map_err(AppError::Udp)?;
    let more_udp = sockets
        .more_udp
        .into_iter()
        .map(tokio_udp)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::Udp)?;
    let udp_addr = udp.local_addr().map_err(AppError::Udp)?;
    let http = sockets.http;
    let http_addr = http.local_addr().map_err(AppError::Http)?;
    let auth = Auth::start(
        shared.clone(),
        AuthDb::open(&config.state_db)?,
        clock,
        metrics.clone(),
        journal.clone(),
    )?;
    if clear_text_risk(!auth.directory().is_open(), config.hbd_tls, http_addr) {
        tracing::warn!(
            http = %http_addr,
            "users are configured but the HTTP port is plain HTTP on a non-loopback address: passwords and session tokens cross the network in clear text; set hbd_tls (with wss_pem and wss_key) or put a TLS proxy in front"
        );
    }

    let live_run = format!("{:x}-{:x}", started.wall.0, std::process::id());
    let stop_notifying = CancellationToken::new();
    let (inbound_tx, inbound_rx) = mpsc::channel(receiver::QUEUE_LEN);
    let (request_tx, request_rx) = mpsc::channel(engine::QUERY_QUEUE);
    let (reload_tx, reload_rx) = mpsc::channel(engine::control::RELOAD_QUEUE);
    let stop_receiving = shutdown.child_token();
    // One receiver per heartbeat socket, all sharing one replay window and the
    // engine's queue (the engine stops once every receiver has closed its end).
    let gate = Gate::new(shared.clone());
    let rejects = gate.rejects();
    let mut receivers = Vec::new();
    for socket in more_udp {
        receivers.push(tokio::spawn(receiver::run(
            socket,
            gate.sharing(),
            clock,
            inbound_tx.clone(),
            journal.clone(),
            metrics.clone(),
            stop_receiving.clone(),
        )));
    }
    receivers.push(tokio::spawn(receiver::run(
        udp.clone(),
        gate,
        clock,
        inbound_tx,
        journal.clone(),
        metrics.clone(),
        stop_receiving.clone(),
    )));
    let (written_tx, written_rx) = mpsc::channel(crate::dns::worker::WRITTEN_QUEUE);
    let dns = crate::dns::worker::start(
        Some(written_tx),
        shared.clone(),
        clock,
        journal.clone(),
        metrics.clone(),
        shutdown.clone(),
    );
    let remote_write = match &config.remote_write {
        Some(settings) => {
            let (handle, task) = crate::remote_write::RemoteWrite::start(
                settings.clone(),
                metrics.clone(),
                shutdown.clone(),
            )
            .map_err(AppError::RemoteWrite)?;
            Some((handle, task))
        }
        None => None,
    };
    let (remote_write, remote_write_task) = match remote_write {
        Some((h, t)) => (Some(h), Some(t)),
        None => (None, None),
    };
    let (progress_tx, progress_rx) = mpsc::channel(engine::control::ROLLOUT_QUEUE);
    let mut control = crate::engine::control::Control {
        reload: Some(reload_rx),
        ha: None,
        dns: Some(written_rx),
        rollouts: Some(progress_rx),
    };
    let (ha, delivery, ha_task) = match &config.ha {
        Some(settings) => {
            let (reports_tx, reports_rx) = mpsc::channel(crate::ha::REPORTS_QUEUE);
            control.ha = Some(reports_rx);
            // The engine puts the notifier in force here; the pair sends through it.
            let (delivery, delivery_rx) = tokio::sync::watch::channel(None);
            tracing::info!(node = %settings.node, shard = %settings.shard, "one of an HA pair: standby until the lease says otherwise");
            let (pair, task) = crate::ha::Pair::start(
                settings.clone(),
                reports_tx,
                delivery_rx,
                metrics.clone(),
                shutdown.clone(),
            );
            (Some(pair), Some(delivery), Some(task))
        }
        None => (None, None, None),
    };
    // The stored hosts' labels, for the access checks before each host is next heard.
    let labels = auth.host_labels();
    for host in core.hosts() {
        labels.set(&host.name, host.labels.as_ref());
    }
    let engine = Engine::new(Parts {
        ha,
        delivery,
        remote_write,
        dns: dns.clone(),
        core,
        clock,
        config: shared.clone(),
        directories: auth.directories(),
        labels,
        socket: udp,
        journal,
        store: Some(store_tx),
        latest: latest.clone(),
        metrics: metrics.clone(),
        live: Publisher::new(live_run.clone()),
        stop_notifying: stop_notifying.clone(),
    })?;
    // The engine stops when the receiver closes its queue, after draining it.
    let engine =
        tokio::spawn(engine.run(inbound_rx, request_rx, control, CancellationToken::new()));
    let mut reloader = Reloader::new(config_path, shared.clone(), reload_tx);
    match crate::store::changes::ChangeLog::open(&config.state_db) {
        Ok(record) => reloader = reloader.with_record(record),
        Err(error) => tracing::error!(%error, "changes to managed plugins will only be logged"),
    }
    let audit_log = match crate::store::audit::AuditLog::open(&config.state_db) {
        Ok(log) => Some(log),
        Err(error) => {
            tracing::error!(%error, "the audit log cannot be opened: changes go to the journal only");
            None
        }
    };
    let audited = {
        let (log, auth) = (audit_log.clone(), auth.clone());
        move |entry: crate::store::audit::Audited| {
            if let Some(log) = &log
                && let Err(error) = log.record(&entry)
            {
                tracing::error!(%error, "the audit log could not be written");
            }
            auth.journal_entry(crate::journal::Entry::Audit(Box::new(entry)));
        }
    };
    let sighup = tokio::spawn(reload::on_sighup(reloader.clone(), audited));
    let enrolment =
        crate::enrolment::Enrolment::new(enrolment_db, shared.clone(), reloader.clone());
    let rollouts = crate::rollouts::Rollouts::default();
    let rollout_task = tokio::spawn(crate::rollouts::run(
        crate::rollouts::Driver {
            config: shared.clone(),
            reloader: reloader.clone(),
            engine: request_tx.clone(),
            latest: latest.clone(),
            rollouts: rollouts.clone(),
            store: Some(rollouts_db),
            kept: std::sync::Mutex::new(kept_rollouts),
            progress: progress_tx,
            published: std::sync::Mutex::default(),
        },
        shutdown.clone(),
    ));
    let api_state = ApiState {
        requests: request_tx,
        reloader,
        config: shared.clone(),
        auth: auth.clone(),
        tls: config.hbd_tls,
        metrics,
        latest,
        reader,
        live_run,
        templates: crate::templates::Templates::load(config.templates_dir.as_deref())?,
        snapshots: Default::default(),
        dns,
        http_port: http_addr.port(),
        rejects,
        artifacts: Default::default(),
        enrolment: Some(enrolment),
        host_plugins: Some(host_plugins),
        rollouts,
        audit: audit_log,
    };
    let tls = match config.hbd_tls {
        true => Some(server::tls_config(&api_state).await?),
        false => None,
    };
    let local = |l: &Option<TcpListener>| {
        l.as_ref()
            .and_then(|l| l.local_addr().ok())
            .map_or_else(|| "off".to_owned(), |a| a.to_string())
    };
    // Tests that bind port 0 read the real ports from this line.
    tracing::info!(
        udp = %udp_addr,
        http = %http_addr,
        tls = tls.is_some(),
        receivers = config.hb_receivers,
        ws = %local(&sockets.ws),
        wss = %local(&sockets.wss),
        "hbd listening"
    );
    // The original's WebSocket ports serve the same router (and so `/ws`).
    let mut extra = Vec::new();
    if let Some(ws) = sockets.ws {
        extra.push(tokio::spawn(server::serve(
            ws,
            api_state.clone(),
            None,
            shutdown.clone(),
        )));
    }
    if let Some(wss) = sockets.wss {
        let tls = server::tls_config(&api_state).await?;
        extra.push(tokio::spawn(server::serve(
            wss,
            api_state.clone(),
            Some(tls),
            shutdown.clone(),
        )));
    }
    let api = tokio::spawn(server::serve(http, api_state, tls, shutdown.clone()));
    let sessions = tokio::spawn(flush_sessions(auth.clone(), shutdown.clone()));

    shutdown.cancelled().await;
    tracing::info!("shutting down");
    sighup.abort();
    rollout_task.abort();
    for receiver in receivers {
        log_panic("receiver", receiver.await);
    }
    let workers = match engine.await {
        Ok(workers) => workers,
        Err(error) => {
            tracing::error!(task = "engine", %error, "task panicked");
            Vec::new()
        }
    };
    // The engine is gone, and with it the notifier's queues: each worker ends once its
    // queue is delivered. Give that 2 s, then stop the rest; what they still hold is
    // counted and journaled.
    let drain = async {
        for worker in workers {
            log_panic("notifier", worker.await);
        }
    };
    let mut drain = std::pin::pin!(drain);
    if tokio::time::timeout(NOTIFY_DRAIN, &mut drain)
        .await
        .is_err()
    {
        stop_notifying.cancel();
        drain.await;
    }
    // A leader hands its lease over at once (bounded by the statement time limit).
    if let Some(task) = ha_task {
        match tokio::time::timeout(std::time::Duration::from_secs(6), task).await {
            Ok(joined) => log_panic("ha", joined),
            Err(_) => tracing::warn!("the HA task did not finish within 6 s at shutdown"),
        }
    }
    // remote_write makes one last try for what it holds (bounded by its timeout).
    if let Some(task) = remote_write_task {
        match tokio::time::timeout(std::time::Duration::from_secs(15), task).await {
            Ok(joined) => log_panic("remote_write", joined),
            Err(_) => tracing::warn!("remote_write did not finish within 15 s at shutdown"),
        }
    }
    let http_result = api.await;
    for listener in extra {
        match listener.await {
            Ok(Err(error)) => tracing::error!(%error, "websocket listener failed"),
            Ok(Ok(())) => {}
            Err(error) => tracing::error!(task = "ws listener", %error, "task panicked"),
        }
    }
    log_panic("sessions", sessions.await);
    auth.flush().await;
    // The auth service holds a journal handle: the journal thread ends after it.
    drop(auth);
    // Journal and store threads end once their last sender is gone (dropped with the
    // receiver and engine), after writing what they hold.
    let joined = tokio::task::spawn_blocking(move || {
        if let Some(t) = journal_thread {
            log_thread("journal", t.join());
        }
        log_thread("store", store_thread.join());
    })
    .await;
    if let Err(error) = joined {
        tracing::error!(%error, "joining the journal and store threads failed");
    }
    tracing::info!("stopped");
    match http_result {
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(())) => Ok(()),
        Err(error) => {
            tracing::error!(task = "http", %error, "task panicked");
            Ok(())
        }
    }
}

/// Whether passwords and session tokens would cross the network unencrypted: users are
/// configured, TLS is off and the HTTP port is reachable beyond loopback.
pub fn clear_text_risk(users: bool, tls: bool, http: SocketAddr) -> bool {
    users && !tls && !http.ip().to_canonical().is_loopback()
}

/// How often session activity is written back and expired sessions are deleted.
pub const SESSION_FLUSH: std::time::Duration = std::time::Duration::from_secs(60);

async fn flush_sessions(auth: Auth, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(SESSION_FLUSH);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => auth.flush().await,
        }
    }
}

/// How long queued notifications may take to go out at shutdown.
pub const NOTIFY_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

fn log_panic(task: &str, result: Result<(), tokio::task::JoinError>) {
    if let Err(error) = result {
        tracing::error!(task, %error, "task panicked");
    }
}

fn log_thread(thread: &str, result: std::thread::Result<()>) {
    if let Err(panic) = result {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(thread, panic = %what, "thread panicked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_with_users_beyond_loopback_is_a_risk() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        let cases = [
            (true, false, "0.0.0.0:50004", true),
            (true, false, "[::]:50004", true),
            (true, false, "192.0.2.1:50004", true),
            (true, false, "127.0.0.1:50004", false),
            (true, false, "[::ffff:127.0.0.1]:50004", false),
            (true, false, "[::1]:50004", false),
            (true, true, "0.0.0.0:50004", false),
            (false, false, "0.0.0.0:50004", false),
        ];
        for (users, tls, addr, risk) in cases {
            assert_eq!(
                clear_text_risk(users, tls, at(addr)),
                risk,
                "{users} {tls} {addr}"
            );
        }
    }
}
