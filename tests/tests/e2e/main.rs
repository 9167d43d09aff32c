//! The end-to-end tests: the real `hbd` and `hbc` binaries on loopback, one test binary
//! with a module per area (one link instead of eighteen). Run one area with
//! `cargo test -p hbd-e2e --test e2e dns::`.
//!
//! Tests that need only what cargo builds run anywhere. A test that needs a real
//! service, tool or browser states it first (`hbd_e2e::require!`): where it is missing
//! it says so loudly and does not run, except in CI and under `scripts/test.sh`, where
//! a missing need fails it (`hbd_e2e::needs`).

mod acks;
mod alerts;
mod arm64;
mod artifacts;
mod audit;
mod backup;
mod collectors;
mod commands;
mod conformance;
mod dns;
mod enrolment;
mod grafana;
mod groups;
mod ha;
mod heartbeats;
mod hostile;
mod install;
mod live;
mod messages;
mod net_plugins;
mod notifications;
mod openapi;
mod operations;
mod pages;
mod plugins;
mod policy;
mod prometheus_rules;
mod rate_limits;
mod rejects;
mod remote_write;
mod rollout;
mod rollout_views;
mod sign_in_oidc;
mod sign_in_proxy;
mod targets;
mod tls;
mod tokens;
mod upgrade;
mod users;
mod vantage;
mod windows;
