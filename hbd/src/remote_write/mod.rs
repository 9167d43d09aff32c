//! Metric history out: plugin values, host up/RTT and alert levels as Prometheus
//! `remote_write` samples to any compatible TSDB (VictoriaMetrics, Prometheus' receiver,
//! Mimir, Thanos Receive).
//!
//! - [`series`] (pure): what hbd writes and how series are named, with the agent's
//!   report time as the sample time; [`convention`] (pure): names by Prometheus' rules,
//!   values in base units.
//! - [`wire`] (pure): the protobuf `WriteRequest`, snappy-compressed.
//! - [`sender`]: the task with its own bounded queue, so a slow or dead TSDB never
//!   stalls heartbeats; 5xx and 429 are retried with backoff, other 4xx dropped, and
//!   every sample is counted as sent or dropped.
//! - [`actions`] (pure): which of the core's actions become series.
//! - [`query`]: the way back: a plugin's series over a range from the TSDB's query API,
//!   for the charts.

pub mod actions;
pub mod query;
pub mod sender;

pub use hbd_core::remote_write::{convention, series, wire};

pub use sender::{HANDOVER, RemoteWrite, Settings};
pub use series::Sample;
