//! End to end: messages from templates. A mail carries the threshold and its operator,
//! since when, the host's description, a link to its page and how to silence it; a
//! RECOVERED threads under its problem (`In-Reply-To`); an operator's template for one
//! channel replaces the default there only; a reload refuses a template that does not
//! render and keeps the one in force.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use hbd_e2e::needs::Need;
use hbd_e2e::services::{HttpStub, SmtpCapture};
use hbd_e2e::{Daemon, send_datagram, wait_until};

fn cpu(daemon: &Daemon, value: f64) {
    let json = format!(
        r#"{{"ID":"PLG","name":"web1","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{value}}}}}"#
    );
    send_datagram(daemon.udp_addr(), json.as_bytes());
}

/// A header's value (unfolded), if the mail has it.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let mut lines = head.lines();
    let prefix = format!("{}:", name.to_ascii_lowercase());
    while let Some(line) = lines.next() {
        if line.to_ascii_lowercase().starts_with(&prefix) {
            let mut value = line[prefix.len()..].trim().to_owned();
            for more in lines.by_ref().take_while(|l| l.starts_with([' ', '\t'])) {
                value.push(' ');
                value.push_str(more.trim());
            }
            return Some(value);
        }
    }
    None
}

/// The body as a reader sees it (quoted-printable undone).
fn body(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    if !head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        return body.to_owned();
    }
    let joined = body.replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn config(smtp: &SmtpCapture, stub: &HttpStub, mattermost_text: &str) -> String {
    format!(
        "{thresholds}{email}
mattermost:
  webhook_url: {url}/hooks/ops
public_url: https://hbd.example.org
hosts:
  web1:
    description: the shop's web server
messages:
  mattermost/problem.text: '{mattermost_text}'
",
        thresholds = hbd_e2e::CPU_THRESHOLDS,
        email = smtp.email_yaml(),
        url = stub.url()
    )
}

fn mail_with_subject(smtp: &SmtpCapture, start: &str) -> Option<String> {
    smtp.messages()
        .into_iter()
        .map(|(_, raw)| raw)
        .find(|raw| header(raw, "Subject").is_some_and(|s| s.starts_with(start)))
}

#[test]
fn a_mail_tells_the_details_and_its_recovery_threads_under_it() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(
        dir.path(),
        &config(&smtp, &stub, ":rotating_light: {{headline}} {{link}}"),
    );
    cpu(&daemon, 95.25);
    assert!(
        wait_until(Duration::from_secs(10), || mail_with_subject(
            &smtp,
            "[hbd] CRITICAL"
        )
        .is_some()),
        "{:?}",
        smtp.subjects()
    );
    let problem = mail_with_subject(&smtp, "[hbd] CRITICAL").unwrap();
    assert_eq!(
        header(&problem, "Subject").unwrap(),
        "[hbd] CRITICAL: web1 - cpu_monitor.cpu_percent = 95.25"
    );
    let text = body(&problem);
    for line in [
        "CRITICAL on web1 (the shop's web server)",
        "Check:     cpu_monitor.cpu_percent",
        "Value:     95.2 %",
        "Threshold: CRITICAL while the value is > 90.0 %",
        "Open:      https://hbd.example.org/hosts/web1",
        "Acknowledge it to stop reminders, or silence the host, on the page above.",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    assert!(text.contains("Since:     20"), "{text}");
    // The body is no copy of the subject.
    assert!(!text.contains("CRITICAL: web1 - cpu_monitor"), "{text}");
    let problem_id = header(&problem, "Message-ID").expect("a Message-ID");
    assert!(
        problem_id.starts_with("<hbd.") && problem_id.ends_with("@example.org>"),
        "{problem_id}"
    );
    assert_eq!(header(&problem, "In-Reply-To"), None);

    // The operator's template for Mattermost; the other channels keep the default.
    assert!(wait_until(Duration::from_secs(10), || {
        stub.requests("/hooks/ops").iter().any(|r| {
            r["body"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(":rotating_light:"))
        })
    }));
    let texts: Vec<String> = stub
        .requests("/hooks/ops")
        .iter()
        .filter_map(|r| r["body"]["text"].as_str().map(str::to_owned))
        .collect();
    assert!(
        texts.contains(
            &":rotating_light: CRITICAL: web1 - cpu_monitor.cpu_percent = 95.25 https://hbd.example.org/hosts/web1"
                .to_owned()
        ),
        "{texts:?}"
    );

    cpu(&daemon, 10.0);
    assert!(
        wait_until(Duration::from_secs(10), || mail_with_subject(
            &smtp,
            "[hbd] RECOVERED"
        )
        .is_some()),
        "{:?}",
        smtp.subjects()
    );
    let recovered = mail_with_subject(&smtp, "[hbd] RECOVERED").unwrap();
    assert_eq!(header(&recovered, "In-Reply-To"), Some(problem_id.clone()));
    assert_eq!(header(&recovered, "References"), Some(problem_id.clone()));
    assert_ne!(header(&recovered, "Message-ID"), Some(problem_id));
    let text = body(&recovered);
    assert!(
        text.contains("cpu_monitor.cpu_percent on web1 (the shop's web server) is OK again."),
        "{text}"
    );
    assert!(text.contains("Was:       CRITICAL"), "{text}");
    // Every mail has its own ID.
    let ids: std::collections::BTreeSet<String> = smtp
        .messages()
        .iter()
        .filter_map(|(_, raw)| header(raw, "Message-ID"))
        .collect();
    assert_eq!(ids.len(), smtp.messages().len(), "{ids:?}");
}

#[test]
fn a_reload_refuses_a_template_that_does_not_render_and_keeps_the_old_one() {
    hbd_e2e::require!(Need::TestPython);
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpCapture::start(dir.path(), &[]);
    let stub = HttpStub::start(dir.path());
    let daemon = Daemon::start(dir.path(), &config(&smtp, &stub, "first {{headline}}"));

    let good = std::fs::read_to_string(daemon.config_path()).unwrap();
    std::fs::write(
        daemon.config_path(),
        good.replace("first {{headline}}", "{{#if host}}never closed"),
    )
    .unwrap();
    let failed = daemon.reload().unwrap_err();
    let file = daemon.config_path().display().to_string();
    assert!(
        failed.contains(&format!("{file}:")) && failed.contains("messages.mattermost/problem.text"),
        "{failed}"
    );
    assert!(failed.contains("line 1 of the template"), "{failed}");

    // `hbd check-config` says the same, and exits non-zero.
    let check = std::process::Command::new(hbd_e2e::bin("hbd"))
        .args(["check-config", "-c"])
        .arg(daemon.config_path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{said}");
    assert!(said.contains("messages.mattermost/problem.text"), "{said}");

    // Still the old template.
    cpu(&daemon, 95.0);
    assert!(
        wait_until(Duration::from_secs(10), || {
            stub.requests("/hooks/ops").iter().any(|r| {
                r["body"]["text"] == "first CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"
            })
        }),
        "{:#?}",
        stub.requests("/hooks/ops")
    );
}
