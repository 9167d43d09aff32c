//! hbd, the host-monitoring daemon. Module map (data flows top to bottom):
//!
//! - [`model`]: the shared words (hosts, events, alert levels and notices, holds,
//!   notifications, policy decisions, queued commands), below everything that uses them;
//!   [`render`]: their text, as notifications and history say it.
//! - [`body`]: a webhook's body template over a notification's facts (checked to make
//!   JSON), below the config that checks it and the notifier that uses it;
//!   [`messages`]: the subject, body and text of each kind of message, from templates
//!   an operator may override (checked the same way).
//! - [`config`]: YAML configuration, validated with file/line/key problems.
//! - [`receiver`]: the UDP socket loop; [`gate`]: its checks (signature, replay, limits);
//!   [`rejects`]: the senders it turned away, for the log and the API;
//!   [`replies`]: ACKs and commands back, many per system call.
//! - [`engine`]: the task that owns the [`core`], carries out its actions and answers
//!   requests (queries, commands, subscriptions, reloads).
//! - [`core`]: pure host state (new, UP, DOWN, BOOT, MSG, IP change) and operator
//!   commands over synthetic time.
//! - [`live`]: the numbered stream of updates (snapshot, then deltas).
//! - [`reload`]: re-reading and validating the config, then putting it in force;
//!   [`rollouts`]: the task that moves staged rollouts on.
//! - [`journal`]: JSON Lines journal with size rotation, on its own thread.
//! - [`samples`]: plugin reports: latest per host and plugin, shared with the API;
//!   [`downsample`]: their history thinned to two points per chart pixel.
//! - [`store`]: SQLite store of hosts and plugin history, written in batches on its own
//!   thread.
//! - [`alerting`]: pure threshold engine (levels, hysteresis, reminders, profiles).
//! - [`policy`]: pure "who is told, and when": silences, maintenance windows,
//!   UNREACHABLE hosts, flapping, pending periods, storm grouping.
//! - [`notify`]: email, Pushover, Mattermost, Signal and the `targets` (webhooks, chat
//!   services, PagerDuty, Alertmanager) with retries;
//!   [`dns`]: host records kept current through `nsupdate`; [`releases`]: agent
//!   release files offered for self-upgrade.
//! - [`catalogue`]: the signed plugin artifacts `artifacts_dir` offers
//!   ([`compile_check`]: whether one compiles, with the agents' compiler); [`fleet`]:
//!   which each host should run by its groups and its own; [`enrolment`]: tokens,
//!   and the keys agents make with them.
//! - [`ha`]: an HA pair's one notifier: the lease in PostgreSQL, fenced claims, takeover;
//!   [`remote_write`]: metric history out to a Prometheus-compatible TSDB.
//! - [`api`]: HTTP API, its OpenAPI document, `/metrics` and `/healthz` ([`health`]:
//!   `hbd health`, which asks it); [`metrics`]: the counters
//!   behind it; [`router`]: every route, the API's and the pages'; [`server`]: the
//!   listener, plain or TLS.
//! - [`web`]: the pages (`/login`, `/live`, `/plugins`, `/alerts`): handlers, static assets,
//!   security headers; [`templates`]: their handlebars registry.
//! - [`auth`]: users, roles, sessions and tokens, login throttling, passwords
//!   (Werkzeug-compatible hashes).
//! - [`app`]: wiring and orderly shutdown; [`logging`]: log setup; [`clock`]: wall and
//!   monotonic time.

pub mod api;
pub mod app;
pub mod auth;
pub mod body;
pub mod catalogue;
pub mod clock;
pub mod compile_check;
pub mod config;
pub mod dns;
pub mod engine;
pub mod enrolment;
pub mod fleet;
pub mod gate;
pub mod ha;
pub mod health;
pub mod journal;
pub mod live;
pub mod logging;
pub mod messages;
pub mod metrics;
pub mod notify;
pub mod password;
pub mod receiver;
pub mod rejects;
pub mod releases;
pub mod reload;
pub mod remote_write;
pub mod replies;
pub mod rollouts;
pub mod router;
pub mod samples;
pub mod server;
pub mod store;
pub mod templates;
pub mod web;

// The pure floors live in their own crate (`hbd-core`), re-exported under the names the
// daemon's modules have always used.
pub use hbd_core::{alerting, core, downsample, model, policy, render};
