//! A plugin's own status as an alert: at the path named for the plugin, on by
//! default, off with `plugin_status_alerts: false`.

use super::*;

/// A plugin's own verdict alerts at the path named for the plugin (on by default), its
/// message as the text; the Nagios runner's overall status does not (its checks do);
/// with `plugin_status_alerts: false` nothing is raised and a kept alert is dropped
/// at the next reload.
#[test]
fn a_plugins_own_status_alerts_at_its_name_unless_turned_off() {
    let with_status = |plugin: &str, status: hb_proto::Status, data: serde_json::Value| {
        let Message::Plugin(mut r) = report("app1", plugin, data) else {
            unreachable!()
        };
        r.status = Some(status);
        Message::Plugin(r)
    };
    let mut core = Core::new(settings(&alert_config()), at(0));
    let stale = serde_json::json!({"age_s": 1200.0, "message": "app.log getting stale"});
    assert_eq!(
        alerts_of(
            &mut core,
            with_status("log_freshness", hb_proto::Status::Warning, stale.clone()),
            1
        ),
        ["WARNING: app1 - log_freshness = app.log getting stale"]
    );
    assert!(
        alerts_of(
            &mut core,
            with_status("log_freshness", hb_proto::Status::Warning, stale),
            2
        )
        .is_empty(),
        "the same verdict again is no news"
    );
    // A collection that failed reports UNKNOWN with its error.
    assert_eq!(
        alerts_of(
            &mut core,
            with_status(
                "fixture",
                hb_proto::Status::Unknown,
                serde_json::json!({"error": "timed out"})
            ),
            3
        ),
        ["UNKNOWN: app1 - fixture = timed out"]
    );
    let nagios = serde_json::json!({"root": {"status": "OK", "text": "DISK OK"}});
    assert!(
        alerts_of(
            &mut core,
            with_status("nagios_runner", hb_proto::Status::Critical, nagios),
            4
        )
        .is_empty(),
        "the runner's checks alert, not its overall status"
    );
    assert_eq!(core.host_alerts("app1", at(0)).len(), 3);

    let mut off = alert_config();
    off.plugin_status_alerts = false;
    let mut out = Vec::new();
    core.reconfigure(settings(&off), at(5), &mut out);
    let kept: Vec<String> = core
        .host_alerts("app1", at(0))
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(kept, ["nagios_runner.root"]);
    let ok = serde_json::json!({"message": "fine"});
    assert!(
        alerts_of(
            &mut core,
            with_status("log_freshness", hb_proto::Status::Critical, ok),
            6
        )
        .is_empty()
    );
}
