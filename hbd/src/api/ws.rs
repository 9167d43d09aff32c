//! `GET /ws`: the live stream over a WebSocket. The client gets `hello`, then a
//! snapshot of the hosts it may see (or, reconnecting with `?run=R&seq=N`, just the
//! updates it missed), then batches of updates every 100 ms while there are any.
//!
//! - Authenticated like the API (session cookie or bearer token); a handshake with a
//!   foreign `Origin` is refused (403), since browsers send the cookie with it.
//! - Filtered per user by the same decision as the API; when users or access change
//!   the client gets a fresh snapshot, so a newly granted host appears live.
//! - A client that does not keep up never slows the engine or other clients: the
//!   stream is a bounded broadcast, and a client that falls behind it gets `resync` and
//!   a fresh snapshot; a send that does not finish in [`SEND_TIMEOUT`] closes the
//!   connection (1013). Silent connections are pinged and closed when dead; a session
//!   that ends (logout, revoked, user removed) closes the socket (1008).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tokio::time::{Instant, sleep_until, timeout};

use super::caller::{Caller, HostLimit, Via, same_origin};
use super::extract::Params;
use super::{ApiError, ApiState, ask};
use crate::auth::directory::Directory;
use crate::auth::roles::{Action, Decision};
use crate::engine::Query;
use crate::live::view;
use crate::live::{Item, Resume, Start, Subscription, Update};

/// How long updates are gathered into one message.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// Updates per message at most.
pub const BATCH_MAX: usize = 2000;
/// A send that takes longer closes the connection.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an idle connection is pinged (and its session re-checked).
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// A connection silent this long (no pong, no message) is closed.
pub const DEAD_AFTER: Duration = Duration::from_secs(75);
/// Largest message accepted from a client.
pub const MAX_INBOUND: usize = 64 * 1024;

/// Where to resume from.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// The run id of the last message seen.
    run: Option<String>,
    /// The last `seq` seen.
    seq: Option<u64>,
}

/// The handshake.
pub async fn upgrade(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Params(query): Params<WsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    caller.may(Action::View, None)?;
    same_origin(&headers, &state.config.get().allowed_origins)?;
    let resume = match (query.run, query.seq) {
        (Some(run), Some(seq)) => Some(Resume { run, seq }),
        _ => None,
    };
    Ok(ws
        .max_message_size(MAX_INBOUND)
        .on_upgrade(move |socket| async move {
            state.metrics.ws_clients.inc();
            Session {
                state: state.clone(),
                caller,
                socket,
            }
            .run(resume)
            .await;
            state.metrics.ws_clients.dec();
        }))
}

struct Session {
    state: ApiState,
    caller: Caller,
    socket: WebSocket,
}

/// Why a session ended, as a close frame.
struct Close(u16, &'static str);

/// Whether `user` may see a host, by `directory`.
fn sees<'d>(
    user: Option<String>,
    directory: &'d Directory,
    limit: Option<&'d HostLimit>,
) -> impl Fn(&str) -> bool + 'd {
    move |host: &str| {
        limit.is_none_or(|l| l.covers(host, directory))
            && directory.decide(user.as_deref(), Action::View, Some(host)) == Decision::Allow
    }
}

/// The updates about hosts `user` may see (within a token's host limit), and those
/// about no host when they may look (and are not limited to hosts).
fn visible<'u>(
    user: Option<String>,
    directory: &Directory,
    limit: Option<&HostLimit>,
    updates: &'u [Arc<Update>],
) -> Vec<&'u Update> {
    let sees = sees(user.clone(), directory, limit);
    // An update about no host: for whoever may look at all.
    let looks =
        limit.is_none() && directory.decide(user.as_deref(), Action::View, None) == Decision::Allow;
    updates
        .iter()
        .map(Arc::as_ref)
        .filter(|u| view::host_of(u).map_or(looks, &sees))
        .collect()
}

impl Session {
    async fn send(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), Close> {
        match timeout(SEND_TIMEOUT, self.socket.send(Message::Text(text.into()))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Close(1001, "gone")),
            Err(_) => Err(Close(1013, "not reading; reconnect")),
        }
    }

    /// Subscribes and sends the start: a snapshot or the missed updates. Returns the
    /// subscription, the run and the last number sent.
    async fn start(
        &mut self,
        resume: Option<Resume>,
        directory: &Arc<Directory>,
    ) -> Result<(Subscription, String, u64), Close> {
        let asked = resume.clone();
        let (start, subscription) = ask(&self.state, |tx| Query::Subscribe(asked, tx))
            .await
            .map_err(|_| Close(1013, "the daemon is busy; reconnect"))?;
        match start {
            Start::Snapshot(s) => {
                let user = self.caller.user.clone();
                let parts = match self.caller.hosts.as_deref() {
                    // A token limited to hosts sees its own part: not the user's cached one.
                    Some(limit) => Arc::new(
                        view::snapshot(&s, sees(user.clone(), directory, Some(limit)))
                            .into_iter()
                            .map(Utf8Bytes::from)
                            .collect(),
                    ),
                    None => {
                        self.state
                            .snapshots
                            .get(&s, user.as_deref(), directory, || {
                                view::snapshot(&s, sees(user.clone(), directory, None))
                            })
                            .await
                    }
                };
                for part in parts.iter() {
                    self.send(part.clone()).await?;
                }
                Ok((subscription, s.run.clone(), s.seq))
            }
            Start::Replay(updates) => {
                let Some(resume) = resume else {
                    return Err(Close(1011, "replay without a resume point"));
                };
                let last = updates.last().map_or(resume.seq, |u| u.seq);
                let shown = visible(
                    self.caller.user.clone(),
                    directory,
                    self.caller.hosts.as_deref(),
                    &updates,
                );
                let text = view::batch(&resume.run, last, &shown);
                self.send(text).await?;
                Ok((subscription, resume.run, last))
            }
        }
    }

    /// The caller's session or token still holds, and the user still exists.
    fn still_signed_in(&self, directory: &Directory) -> bool {
        match &self.caller.via {
            Via::Open => directory.is_open(),
            Via::Nothing => false,
            // The proxy stands behind the connection: the user must still exist, and
            // the proxy still be one (the config may have changed).
            Via::Proxy => {
                self.caller
                    .user
                    .as_deref()
                    .is_some_and(|u| directory.user(u).is_some())
                    && self.state.config.get().auth_proxy.is_some()
            }
            Via::Bearer(secret) | Via::Cookie(secret) => self.state.auth.check(secret).is_some(),
        }
    }

    async fn run(mut self, resume: Option<Resume>) {
        let end = self.serve(resume).await;
        let Close(code, reason) = end;
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = timeout(
            Duration::from_secs(1),
            self.socket.send(Message::Close(Some(frame))),
        )
        .await;
    }

    async fn serve(&mut self, resume: Option<Resume>) -> Close {
        let mut directory = self.state.auth.directory();
        let run = self.state.live_run.clone();
        if let Err(close) = self
            .send(view::hello(&run, self.caller.user.as_deref()))
            .await
        {
            return close;
        }
        let (mut subscription, mut run, mut last) = match self.start(resume, &directory).await {
            Ok(started) => started,
            Err(close) => return close,
        };
        let mut pending: Vec<Arc<Update>> = Vec::new();
        let mut flush_at: Option<Instant> = None;
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        let mut heard = Instant::now();
        let mut ended = self.state.auth.ended();
        loop {
            let mut resync: Option<&'static str> = None;
            tokio::select! {
                item = subscription.next(), if pending.len() < BATCH_MAX => match item {
                    Item::Update(u) => {
                        pending.push(u);
                        flush_at.get_or_insert(Instant::now() + BATCH_WINDOW);
                        if pending.len() >= BATCH_MAX {
                            flush_at = Some(Instant::now());
                        }
                    }
                    Item::Resync { missed } => {
                        tracing::debug!(missed, user = self.caller.user.as_deref(), "live client fell behind");
                        resync = Some("lagged");
                    }
                    Item::Closed => return Close(1001, "the daemon is stopping"),
                },
                () = sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                    flush_at = None;
                    let now_directory = self.state.auth.directory();
                    if !Arc::ptr_eq(&now_directory, &directory) {
                        directory = now_directory;
                        if !self.still_signed_in(&directory) {
                            return Close(1008, "signed out");
                        }
                        resync = Some("access");
                    } else {
                        last = pending.last().map_or(last, |u| u.seq);
                        let shown = visible(
                            self.caller.user.clone(),
                            &directory,
                            self.caller.hosts.as_deref(),
                            &pending,
                        );
                        let text = (!shown.is_empty()).then(|| view::batch(&run, last, &shown));
                        pending.clear();
                        if let Some(text) = text
                            && let Err(close) = self.send(text).await
                        {
                            return close;
                        }
                    }
                }
                // A revoked token or ended session closes its streams at once.
                Ok(()) = ended.changed() => {
                    if !self.still_signed_in(&self.state.auth.directory()) {
                        return Close(1008, "signed out");
                    }
                }
                message = self.socket.recv() => match message {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Close(1000, "bye"),
                    Some(Ok(_)) => heard = Instant::now(),
                },
                _ = ping.tick() => {
                    if heard.elapsed() > DEAD_AFTER {
                        return Close(1001, "no answer to pings");
                    }
                    if !self.still_signed_in(&self.state.auth.directory()) {
                        return Close(1008, "signed out");
                    }
                    if let Err(Close(code, why)) = timeout(SEND_TIMEOUT, self.socket.send(Message::Ping(Default::default())))
                        .await
                        .map_err(|_| Close(1013, "not reading; reconnect"))
                        .and_then(|r| r.map_err(|_| Close(1001, "gone")))
                    {
                        return Close(code, why);
                    }
                }
            }
            if let Some(reason) = resync {
                self.state.metrics.ws_resyncs.inc();
                pending.clear();
                flush_at = None;
                if let Err(close) = self.send(view::resync(reason)).await {
                    return close;
                }
                match self.start(None, &directory).await {
                    Ok((s, r, l)) => (subscription, run, last) = (s, r, l),
                    Err(close) => return close,
                }
            }
        }
    }
}
