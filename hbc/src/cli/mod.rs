//! The `hbc` binary's parts beside `main`, which only parses the command line and
//! hands over: the plugin author's and publisher's tools, enrolment, the log's setup,
//! the signals the running agent answers, and (Windows) running as a service. (The agent itself is the library: `hbc::app`.)

pub mod enrol;
pub mod logging;
#[cfg(feature = "wasm")]
pub mod plugin_artifact;
#[cfg(feature = "wasm")]
pub mod plugin_check;
#[cfg(windows)]
pub mod service;
pub mod signals;
