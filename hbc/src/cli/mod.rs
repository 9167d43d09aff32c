//! The `hbc` binary's parts beside `main`, which only parses the command line and
//! hands over: the plugin author's and publisher's tools, enrolment, the log's setup,
//! and the signals the running agent answers. (The agent itself is the library: `hbc::app`.)

pub mod enrol;
pub mod logging;
#[cfg(feature = "wasm")]
pub mod plugin_artifact;
#[cfg(feature = "wasm")]
pub mod plugin_check;
pub mod signals;
