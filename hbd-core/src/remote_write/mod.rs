//! Metric history out, the pure part: which series hbd writes and how they are named
//! ([`series`], [`convention`]) and the wire format ([`wire`]). The sender is the
//! daemon's.

pub mod convention;
pub mod series;
pub mod wire;
