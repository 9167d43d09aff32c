//! Why a plugin could not be loaded or a call into it failed, in the words the agent
//! logs and reports (an UNKNOWN report's message).

use std::time::Duration;

/// Why a call into a plugin (or making its instance) failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The store's limits refused it memory (whatever the failure looked like after).
    #[error("memory limit of {} MiB exceeded", .0 / (1024 * 1024))]
    Memory(usize),
    /// It ran past its time limit.
    #[error("timed out after {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// It panicked or aborted.
    #[error("trapped: the plugin panicked or aborted")]
    Aborted,
    /// Another trap.
    #[error("trapped: {0}")]
    Trap(wasmtime::Trap),
    /// It filled its output capture.
    #[error("wrote more than {} KiB to stdout or stderr", .0 / 1024)]
    Flooded(usize),
    /// wasmtime refused otherwise (linking, instantiation).
    #[error("{0}")]
    Wasm(String),
}

impl CallError {
    /// Why `error` happened: `memory_refused` says the store's limits refused the plugin
    /// memory during the call (so that is why it failed, however the failure surfaced).
    pub fn explain(
        error: &wasmtime::Error,
        timeout: Duration,
        memory: usize,
        memory_refused: bool,
    ) -> CallError {
        if memory_refused {
            return CallError::Memory(memory);
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => CallError::TimedOut(timeout),
            Some(wasmtime::Trap::UnreachableCodeReached) => CallError::Aborted,
            Some(other) => CallError::Trap(*other),
            None => CallError::Wasm(format!("{error:#}")),
        }
    }
}

/// Why a component is not a plugin this agent can run: which contract it speaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// It imports no `hbd:plugin` interface.
    #[error("imports no hbd:plugin interface: not a plugin built against plugin-sdk")]
    NotAPlugin,
    /// It imports more than one version.
    #[error("imports several contract versions ({0:?})")]
    Several(Vec<String>),
    /// A version this agent does not speak.
    #[error(
        "speaks hbd:plugin@{version}, which this agent does not know (it speaks {known}): upgrade the agent"
    )]
    Unknown {
        /// The version it speaks.
        version: String,
        /// The versions this agent speaks.
        known: String,
    },
}
