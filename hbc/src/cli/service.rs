//! Running as a Windows service: the service control manager starts `hbc.exe --service
//! ...` (registered with `sc.exe create`, docs/INSTALL.md); this tells it the agent
//! runs, and turns its Stop and Shutdown into the agent's clean stop.

use std::ffi::OsString;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};

/// The agent, ready to run until the token is cancelled.
type Agent = Box<dyn FnOnce(CancellationToken) -> anyhow::Result<()> + Send>;

/// The agent the dispatcher's thread runs: set once, before the dispatcher starts.
static AGENT: Mutex<Option<Agent>> = Mutex::new(None);

/// The name the service is registered under.
const NAME: &str = "hbc";

define_windows_service!(ffi_service_main, service_main);

/// Hands `agent` to the service control manager and blocks until the service stops.
/// Fails when the program was not started by the service control manager.
pub fn run(agent: Agent) -> anyhow::Result<()> {
    *AGENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(agent);
    service_dispatcher::start(NAME, ffi_service_main).map_err(|e| {
        anyhow::anyhow!(
            "not started as a service ({e}): register it with sc.exe create (docs/INSTALL.md)"
        )
    })
}

fn status(state: ServiceState, exit: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit),
        checkpoint: 0,
        wait_hint: Duration::from_secs(10),
        process_id: None,
    }
}

/// On the dispatcher's thread: report Running, run the agent, report Stopped.
fn service_main(_arguments: Vec<OsString>) {
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            stop.cancel();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(handle) = service_control_handler::register(NAME, handler) else {
        return;
    };
    let agent = AGENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    let Some(agent) = agent else {
        let _ = handle.set_service_status(status(ServiceState::Stopped, 1));
        return;
    };
    let _ = handle.set_service_status(status(ServiceState::Running, 0));
    let outcome = agent(shutdown);
    if let Err(error) = &outcome {
        tracing::error!(%error, "the agent stopped");
    }
    let _ = handle.set_service_status(status(ServiceState::Stopped, u32::from(outcome.is_err())));
}
