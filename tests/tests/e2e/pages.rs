//! The pages in a real browser: headless Chromium (Debian) driven by playwright-core
//! (npm) through `tests/browser/pages.mjs` against a real daemon with users.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hbd_e2e::needs::Need;
use std::process::Command;
use std::time::Duration;

use hbd_e2e::{Daemon, password_hash, wait_until};

const PASSWORD: &str = "page test password";

#[test]
fn sign_in_watch_live_and_agent_text_stays_text() {
    hbd_e2e::require!(Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash(PASSWORD);
    let config = format!(
        "users:\n  ada: {{admin: true, password: '{hash}'}}\n  moe: {{password: '{hash}'}}\n\
         grace: 1\n\
         hosts:\n  web1: {{owner: ada, monitors: [moe]}}\n  web3: {{key: 'pages-web3-key-0123456789'}}\n\
         thresholds:\n  cpu_monitor:\n    cpu_percent: {{warning: 80, critical: 90}}\n"
    );
    let daemon = Daemon::start(dir.path(), &config);
    // web1 is CRITICAL, web2 WARNING; web1 has a few reports to chart.
    for cpu in [40.0, 60.0, 75.0, 95.0] {
        daemon.heartbeat_and_cpu("web1", cpu);
    }
    daemon.heartbeat_and_cpu("web2", 85.0);
    // A slow link's round trip, the widest an RTT cell shows.
    hbd_e2e::send_datagram(
        daemon.udp_addr(),
        br#"{"ID":"HTB","name":"web1","interval":60,"rtt":1234.567}"#,
    );
    let token = daemon.login("ada", PASSWORD);
    assert!(
        wait_until(Duration::from_secs(5), || {
            let auth = format!("Bearer {token}");
            daemon
                .call("GET", "/api/0/hosts", &[("Authorization", &auth)], None)
                .json()["total"]
                == 3
        }),
        "web1, web2 and the configured web3"
    );
    // An agent enrolled with a token an administrator must approve: the Fleet page
    // offers the approval.
    let auth = format!("Bearer {token}");
    let made = daemon.call(
        "POST",
        "/api/0/enrolment/tokens",
        &[("Authorization", &auth)],
        Some("{}"),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let enrolled = Command::new(hbd_e2e::bin("hbc"))
        .args(["enrol", "--name", "web9", "--token"])
        .arg(made.json()["token"].as_str().unwrap())
        .arg("--url")
        .arg(format!("http://{}", daemon.http_addr()))
        .arg("--key-file")
        .arg(dir.path().join("web9.key"))
        .output()
        .unwrap();
    assert!(enrolled.status.success(), "{enrolled:?}");
    let npm = std::env::var_os("HBD_NPM_DIR").map_or_else(
        || std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/hbd-npm"),
        std::path::PathBuf::from,
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/pages.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}", daemon.http_addr()))
        .arg(daemon.udp_port.to_string())
        .env(
            "PLAYWRIGHT",
            npm.join("node_modules/playwright-core/index.mjs"),
        )
        .env("HBD_PASSWORD", PASSWORD)
        .output()
        .expect("node; run scripts/install-deps.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let found: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| {
            panic!(
                "{e}: {stdout}\n{}\ndaemon log:\n{}",
                String::from_utf8_lossy(&out.stderr),
                daemon.log()
            )
        });
    assert_eq!(found["problems"], serde_json::json!([]), "{found:#}");
    assert_eq!(found["redirected_to"], "/login");
    assert_eq!(found["wrong_password"], "Wrong user name or password.");
    assert_eq!(found["landed_on"], "/live");
    assert_eq!(
        found["cookie"],
        serde_json::json!({"httpOnly": true, "sameSite": "Strict"})
    );
    assert_eq!(found["script_sees_cookie"], false);
    // It appeared (how fast is a figure of hb-live-bench, not a pass mark here: a
    // busy machine may take longer).
    assert!(found["new_host_ms"].is_u64(), "{found:#}");
    assert_eq!(found["events_img"], 0);
    assert_eq!(found["xss"], serde_json::Value::Null);
    assert_eq!(found["filtered_rows"], serde_json::json!(["fresh1"]));
    assert_eq!(found["url_query"], "?q=fresh");
    assert_eq!(found["after_reload_rows"], serde_json::json!(["fresh1"]));
    // The Events pane opens with the stored events, agent text as text.
    let preloaded: Vec<&str> = found["preloaded_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        preloaded
            .iter()
            .any(|e| e.ends_with("web1: <img src=x onerror=\"window.__xss=1\">")),
        "{preloaded:?}"
    );
    assert!(
        preloaded.iter().any(|e| e.ends_with("brief1 DOWN")),
        "{preloaded:?}"
    );
    assert!(
        preloaded
            .iter()
            .any(|e| e.ends_with("web1 cpu_monitor.cpu_percent CRITICAL")),
        "the stored alert changes too: {preloaded:?}"
    );
    assert_eq!(found["preloaded_img"], 0);
    assert!(found["csp"].as_str().unwrap().contains("script-src 'self'"));
    assert_eq!(found["slash_focuses"], "q");
    assert_eq!(
        found["tab_reaches_host"], "fresh1",
        "the filtered row, by Tab"
    );
    assert_eq!(found["enter_opens"], "/hosts/fresh1");
    // The Fleet page shows who refused what, as text, and follows new reports.
    let img = r#"<img src=x onerror="window.__xss_fleet=1">"#;
    assert_eq!(
        found["fleet_message"],
        format!("refused log_freshness 1.3.0: {img}")
    );
    assert_eq!(
        found["fleet_refused"],
        "log_freshness 1.3.0: unknown_publisher"
    );
    assert_eq!(
        found["fleet_versions"],
        serde_json::json!([["log_freshness", "1.2.0", "1"]])
    );
    assert_eq!(found["fleet_rollouts"], "No group is rolling out a change.");
    assert_eq!(found["fleet_live"], "cannot ask the daemon what to run");
    assert_eq!(found["fleet_img"], 0);
    assert_eq!(found["fleet_xss"], serde_json::Value::Null);
    assert_eq!(found["key_before"], "pending");
    assert_eq!(found["key_after"], "active");
    // Its host page: nothing should run there (no group names it), 1.2.0 runs, with
    // its artifact's digest and contract.
    assert_eq!(
        found["host_managed"],
        serde_json::json!([
            "log_freshness",
            "not here",
            "1.2.0",
            "bbbbbbbbbbbb",
            "hbd:plugin@0.2.0",
            "—",
            ""
        ])
    );
    assert_eq!(found["host_managed_digest"], "b".repeat(64));
    assert_eq!(found["host_managed_sync"], "(not yet what it should run)");
    assert_eq!(
        found["host_managed_refused"],
        format!("Refused: log_freshness 1.3.0: {img} (unknown_publisher)")
    );
    assert_eq!(found["host_img"], 0);
    assert_eq!(found["brief1_state"], "DOWN");
    assert_eq!(found["fresh1_platform"], "x86_64-windows");
    // Problems first, and an UP host with a CRITICAL alert is not shown as plain UP.
    assert_eq!(
        found["problem_order"],
        serde_json::json!(["brief1", "web1", "web2", "web3", "fresh1"]),
        "DOWN, then CRITICAL, then WARNING, then never heard from, then the rest"
    );
    assert_eq!(
        found["live_alerts"]["web1"],
        serde_json::json!(["UP", "1 CRITICAL"])
    );
    assert_eq!(
        found["live_alerts"]["web2"],
        serde_json::json!(["UP", "1 WARNING"])
    );
    assert_eq!(
        found["live_alerts"]["fresh1"],
        serde_json::json!(["UP", ""])
    );
    assert_eq!(found["plugins_url"], "?host=web1&plugin=cpu_monitor");
    assert_eq!(
        (&found["zoom_narrowed"], &found["unzoom_shown"]),
        (&serde_json::json!(true), &serde_json::json!(true)),
        "dragging across a chart zooms in"
    );
    assert_eq!(
        (&found["zoom_kept"], &found["scroll_kept"]),
        (&serde_json::json!(true), &serde_json::json!(true)),
        "a refresh keeps zoom and scroll"
    );
    assert_eq!(found["chart_labels"], serde_json::json!(["cpu_percent"]));
    assert_eq!(
        found["top_hosts"],
        serde_json::json!([["web1", "96"], ["web2", "85"]]),
        "hosts by their latest cpu_percent, highest first"
    );
    assert_eq!(
        found["host_plugin_summary"],
        serde_json::json!(["cpu_monitor"]),
        "the host's plugins as soon as it is picked"
    );
    assert_eq!(
        found["nagios_checks"],
        serde_json::json!([
            ["ping", "OK", "PING OK - rta 0.1 ms"],
            ["root", "WARNING", "DISK WARNING - 9% free"]
        ])
    );
    // Three checks' worth of numbers used to be charted one by one, bounds and all: now
    // the perfdata that moves first, by its label, then what held still; no bounds.
    assert_eq!(
        found["nagios_charts"],
        serde_json::json!(["root / (%)", "ping.duration_ms", "root.duration_ms"])
    );
    assert_eq!(
        found["nagios_legend"],
        serde_json::json!(["Time", "root / (%)", "warning 85", "critical 95"]),
        "the check's own thresholds as lines"
    );
    assert!(
        found["chart_reports"]
            .as_str()
            .unwrap()
            .starts_with("4 reports"),
        "{}",
        found["chart_reports"]
    );
    // The default hour, but a new host's minute of reports fills the chart.
    let span = &found["chart_span"];
    let (since, start, until) = (
        span["since"].as_f64().unwrap(),
        span["start"].as_f64().unwrap(),
        span["until"].as_f64().unwrap(),
    );
    assert!(
        until - since > 3_000_000.0,
        "the range is the default hour: {span}"
    );
    assert!(
        until - start < 600_000.0,
        "the chart starts at the first report: {span}"
    );
    let host = &found["host_page"];
    assert_eq!(host["alert_level"], "CRITICAL");
    assert_eq!(host["worst"], "1 alert, CRITICAL", "the header says it");
    assert_eq!(host["worst_marked"], "CRITICAL");
    let kinds: Vec<&str> = host["history_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    // web1 is declared in the config, so its first heartbeat is UP, not NEW_HOST.
    for kind in ["UP", "raised", "MESSAGE"] {
        assert!(
            kinds.contains(&kind),
            "{kind} missing from the history: {kinds:?}"
        );
    }
    // Worded as the notification and the journal word it, and still text.
    assert_eq!(
        host["message"],
        "MESSAGE from web1: <img src=x onerror=\"window.__xss=1\">"
    );
    assert_eq!(host["history_img"], 0);
    assert_eq!(host["plugin_link"], "/plugins?host=web1&plugin=cpu_monitor");
    assert_eq!(host["access"][0], "ada", "owner");
    assert_eq!(host["access"][2], "moe", "monitors");
    assert_eq!(
        host["actions"],
        // The owner may acknowledge the raised alert from its row.
        serde_json::json!(["Silence", "Forget host", "Acknowledge", "Clear"])
    );
    assert_eq!(
        found["silences"],
        serde_json::json!([["web1", "active", "ada"]]),
        "made from the host page"
    );
    assert!(
        found["holds"]
            .as_str()
            .unwrap()
            .starts_with("Silenced by ada until ")
            && found["holds"]
                .as_str()
                .unwrap()
                .ends_with(": kernel update"),
        "{}",
        found["holds"]
    );
    assert_eq!(
        found["silence_form_after"], false,
        "no second silence offered"
    );
    let held = found["problems_held"].as_str().unwrap();
    assert!(
        held.starts_with("Silence web1 by ada, 1 h ") && held.ends_with(" min left: kernel update"),
        "{held}"
    );
    assert_eq!(
        found["silenced_before"], "CRITICAL (held: silenced)",
        "told before the silence, held now"
    );
    assert_eq!(found["silenced_level"], "OK (held: silenced)");
    assert!(
        found["held_history"]
            .as_str()
            .unwrap()
            .starts_with("RECOVERED of cpu_monitor.cpu_percent: not told (silenced "),
        "{}",
        found["held_history"]
    );
    assert_eq!(
        found["host_alert_history"],
        serde_json::json!(["raised"]),
        "one alert's history"
    );
    assert_eq!(
        found["history_caught_up"], true,
        "an event just before the page opened shows without a later event"
    );
    assert_eq!(found["monitor_host_actions"], serde_json::json!([]));
    assert_eq!(found["monitor_command_form"], false);
    assert_eq!(
        found["monitor_rtt_cut"],
        serde_json::json!([]),
        "RTT cut off on a phone"
    );
    assert_eq!(found["command_form"], false, "web1 has no key");
    assert_eq!(found["upgrade_form"], false, "web1 has no key");
    assert_eq!(found["monitor_upgrade_form"], false);
    // A signed host whose agent runs no commands and takes no upgrades: no form, and
    // the page says why.
    assert_eq!(
        found["web3_controls"],
        serde_json::json!({"command_form": false, "upgrade_form": false,
            "why": "Its agent runs no commands: its commands.allow lists none. Its agent takes no upgrades (commands.upgrade is off)."})
    );
    assert!(
        found["command_refusal"]
            .as_str()
            .unwrap()
            .contains("Commands travel only signed, and this host has no key"),
        "{}",
        found["command_refusal"]
    );
    assert_eq!(found["monitor_foreign_host"], "no host named \"web2\"");
    assert_eq!(found["monitor_rows"], serde_json::json!(["web1"]));
    assert_eq!(found["monitor_alerts"], serde_json::json!(["web1"]));
    assert_eq!(
        found["monitor_split_words"],
        serde_json::json!([]),
        "no word broken across lines on a phone"
    );
    assert_eq!(
        found["turned_away"],
        serde_json::json!(["127.0.0.1", "lost", "lost1", "unknown key"]),
        "an administrator sees who is turned away"
    );
    assert_eq!(found["monitor_sees_rejects"], false);
    assert_eq!(
        found["monitor_top"],
        serde_json::json!(["web1"]),
        "the ranking holds only hosts the monitor sees"
    );
    assert_eq!(found["monitor_plugin_hosts"], serde_json::json!(["web1"]));
    assert_eq!(
        found["monitor_foreign_chart"], "no host named \"web2\"",
        "web2 is not the monitor's: the page says so and asks nothing"
    );
    assert_eq!(found["monitor_foreign_charts"], 0);
    assert_eq!(
        found["monitor_wide_columns_visible"], false,
        "390 px: narrow layout"
    );
    assert_eq!(
        found["critical_alerts"],
        serde_json::json!([["web1", "CRITICAL"]])
    );
    assert!(
        found["alert_summary"]
            .as_str()
            .unwrap()
            .starts_with("1 critical · 1 warning")
    );
    assert_eq!(found["alerts_url"], "", "the cleared filter leaves the URL");
    // The Problems view: the DOWN host first, then CRITICAL, then WARNING, each with how
    // long it has lasted and the threshold with its operator.
    let problems = found["problem_rows"].as_array().unwrap();
    let cells = |i: usize| -> Vec<&str> {
        problems[i]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect()
    };
    assert_eq!(cells(0)[..3], ["DOWN", "brief1", "host"], "{problems:?}");
    assert_eq!(
        (cells(1)[0], cells(1)[1], cells(1)[5]),
        ("CRITICAL", "web1", "> 90"),
        "{problems:?}"
    );
    assert_eq!(
        (cells(2)[0], cells(2)[1], cells(2)[5]),
        ("WARNING", "web2", "> 80"),
        "{problems:?}"
    );
    assert!(
        cells(0)[3].ends_with(" s") || cells(0)[3].ends_with(" min"),
        "a duration: {problems:?}"
    );
    assert_eq!(found["after_logout"], "/login");
    assert_eq!(found["me_after_logout"], 401);
}

#[test]
fn the_login_form_refuses_forged_posts_and_every_answer_carries_the_security_headers() {
    hbd_e2e::require!(Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let hash = password_hash(PASSWORD);
    let daemon = Daemon::start(
        dir.path(),
        &format!("users:\n  ada: {{admin: true, password: '{hash}'}}\n"),
    );
    // Strangers are sent to the form; the form sets its token's cookie.
    let live = daemon.call("GET", "/live", &[], None);
    assert_eq!(live.status, 303);
    assert_eq!(live.header("location"), Some("/login?next=/live"));
    let form = daemon.call("GET", "/login?next=/live", &[], None);
    assert_eq!(form.status, 200);
    let cookie = form.header("set-cookie").unwrap().to_owned();
    assert!(
        cookie.starts_with("hbd_login=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("hbd_login=")
        .to_owned();
    assert!(form.body.contains(&format!("value=\"{token}\"")));
    // A post without the cookie (another site's form, login CSRF) signs nobody in.
    let body = format!("username=ada&password=page+test+password&csrf={token}&next=%2Flive");
    let post = |headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        daemon.call("POST", "/login", &all, Some(&body))
    };
    let forged = post(&[]);
    assert!(
        forged.body.contains("expired or came from another site"),
        "{}",
        forged.body
    );
    assert!(
        !forged
            .headers
            .iter()
            .any(|(k, v)| k == "set-cookie" && v.starts_with("hbd_session="))
    );
    let pair = format!("hbd_login={token}");
    let cross = post(&[("Cookie", &pair), ("Sec-Fetch-Site", "cross-site")]);
    assert!(cross.body.contains("expired or came from another site"));
    // With its cookie, from the page itself: signed in and sent on.
    let ok = post(&[("Cookie", &pair), ("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/live"));
    assert!(
        ok.headers
            .iter()
            .any(|(k, v)| k == "set-cookie" && v.starts_with("hbd_session="))
    );
    // Signed in, a `next` that a browser would read as another site sends it home
    // instead, from the page and from the form alike.
    let session = ok
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("hbd_session="))
        .map(|(_, v)| v.split(';').next().unwrap().to_owned())
        .unwrap();
    for next in [
        "%2F%09%2Fevil.example%2F",
        "%2F%5Cevil.example",
        "%5C%5Cevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example%2F",
        "%2F.%2F%2Fevil.example",
        "javascript%3Aalert(1)",
    ] {
        let page = daemon.call(
            "GET",
            &format!("/login?next={next}"),
            &[("Cookie", &session)],
            None,
        );
        assert_eq!(page.status, 303, "{next}");
        assert_eq!(page.header("location"), Some("/live"), "next={next}");
        let form = format!("username=ada&password=page+test+password&csrf={token}&next={next}");
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(&[("Cookie", pair.as_str()), ("Sec-Fetch-Site", "same-origin")]);
        let posted = daemon.call("POST", "/login", &headers, Some(&form));
        assert_eq!(posted.header("location"), Some("/live"), "POST next={next}");
    }
    let here = daemon.call(
        "GET",
        "/login?next=%2Fhosts%2Fweb1%3Fx%3D1",
        &[("Cookie", &session)],
        None,
    );
    assert_eq!(here.header("location"), Some("/hosts/web1?x=1"));
    // Security headers everywhere, the API included.
    for path in [
        "/login",
        "/api/0/hosts",
        "/static/js/live.js",
        "/api/0/openapi.json",
    ] {
        let r = daemon.call("GET", path, &[], None);
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[test]
fn with_no_users_the_pages_need_no_login() {
    hbd_e2e::require!(Need::Browser);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), "");
    let login = daemon.call("GET", "/login", &[], None);
    assert_eq!(
        (login.status, login.header("location")),
        (303, Some("/live"))
    );
    let live = daemon.call("GET", "/live", &[], None);
    assert_eq!(live.status, 200);
    assert!(live.body.contains("/static/js/live.js"));
    assert!(!live.body.contains("<script>"), "no inline script");
}
