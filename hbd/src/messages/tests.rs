use super::*;

fn sample(kind: &str) -> Facts {
    crate::body::samples()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, f)| f)
        .unwrap_or_else(|| panic!("no sample {kind}"))
}

const CONTEXT: Context<'static> = Context {
    description: Some("the shop's web server"),
    public_url: Some("https://hbd.example.org/"),
};

/// The default messages, as golden outputs: what an operator reads.
#[test]
fn default_messages_carry_threshold_since_description_link_and_how_to_silence() {
    let m = Messages::default();
    let problem = m.render("email", &sample("problem"), &CONTEXT);
    assert_eq!(
        problem.subject,
        "CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0"
    );
    assert_eq!(problem.text, problem.subject);
    assert_eq!(
        problem.body,
        "CRITICAL on web1 (the shop's web server)\n\
         \n\
         Check:     cpu_monitor.cpu_percent\n\
         Value:     95.0 %\n\
         Threshold: CRITICAL while the value is > 90.0 %\n\
         Detail:    a \"quoted\" <b>text</b>\n\
         with a new line\n\
         Since:     2026-11-18 11:06:40 UTC (was OK)\n\
         \n\
         Open:      https://hbd.example.org/hosts/web1\n\
         Acknowledge it to stop reminders, or silence the host, on the page above.\n"
    );
    let recovery = m.render("email", &sample("recovery"), &Context::default());
    assert_eq!(
        recovery.body,
        "cpu_monitor.cpu_percent on web1 is OK again.\n\
         \n\
         Value:     95.0 %\n\
         Detail:    a \"quoted\" <b>text</b>\n\
         with a new line\n\
         Was:       CRITICAL\n\
         At:        2026-11-18 11:06:40 UTC\n\
         Silence the host to stop such messages (POST /api/0/silences, or the host page).\n"
    );
    let down = m.render("email", &sample("down"), &Context::default());
    assert_eq!(down.subject, "DOWN: web1 - no heartbeat for 1m 10s");
    assert_eq!(
        down.body,
        "web1 is DOWN: its agent's heartbeats stopped.\n\
         \n\
         Since:     2026-11-18 11:06:40 UTC\n\
         Acknowledge it to stop reminders (POST /api/0/hosts/web1/ack), or silence the host (POST /api/0/silences).\n"
    );
    let group = m.render("email", &sample("storm group"), &CONTEXT);
    assert_eq!(
        group.body,
        "2 notifications arrived together and are told as one message:\n\
         \n\
         - CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0\n\
         - RECOVERED: web1 - cpu_monitor.cpu_percent = 95.0 (CRITICAL -> OK)\n\
         \n\
         Open:      https://hbd.example.org/alerts\n"
    );
}

#[test]
fn what_hbd_failed_to_do_for_a_host_is_told_too() {
    let m = Messages::default();
    let command = m.render("email", &sample("command failed"), &Context::default());
    assert_eq!(
        command.subject,
        "COMMAND FAILED: web1 - /usr/bin/systemctl restart nginx exited 1: Job for nginx.service failed"
    );
    assert_eq!(
        command.body,
        "A command for web1 failed.\n\
         \n\
         COMMAND FAILED: web1 - /usr/bin/systemctl restart nginx exited 1: Job for nginx.service failed\n\
         Output:    Job for nginx.service failed\n\
         At:        2026-11-18 11:06:40 UTC\n\
         Silence the host to stop such messages (POST /api/0/silences, or the host page).\n"
    );
    let dns = m.render("email", &sample("dns failed"), &CONTEXT);
    assert_eq!(
        dns.subject,
        "DNS FAILED: web1 - web1.dyn.example.org not written after 3 tries: update failed: REFUSED"
    );
    assert!(
        dns.body.starts_with(
            "The DNS record of web1 (the shop's web server) cannot be written; hbd keeps trying.\n"
        ),
        "{}",
        dns.body
    );
    assert!(
        dns.body.contains("Error:     update failed: REFUSED\n"),
        "{}",
        dns.body
    );
}

#[test]
fn every_kind_has_a_default_that_renders() {
    let m = Messages::default();
    let mut kinds = std::collections::BTreeSet::new();
    for (name, facts) in crate::body::samples() {
        let msg = m.render("email", &facts, &CONTEXT);
        assert!(
            !msg.subject.is_empty() && !msg.subject.contains('\n'),
            "{name}"
        );
        assert!(msg.body.ends_with('\n'), "{name}: {:?}", msg.body);
        assert!(!msg.body.contains("\n\n\n"), "{name}: {:?}", msg.body);
        kinds.insert(kind_of(&facts));
    }
    // The samples cover every kind (`info` by the MESSAGE sample).
    assert_eq!(kinds.len(), KINDS.len(), "{kinds:?}");
}

#[test]
fn an_override_for_one_channel_wins_over_one_for_every_channel() {
    let overrides = BTreeMap::from([
        (
            "problem.text".to_owned(),
            "{{severity}} {{host}}".to_owned(),
        ),
        (
            "mattermost/problem.text".to_owned(),
            ":red_circle: {{headline}} {{link}}".to_owned(),
        ),
    ]);
    let m = Messages::new(&overrides).unwrap();
    let facts = sample("problem");
    assert_eq!(
        m.render("mattermost", &facts, &CONTEXT).text,
        ":red_circle: CRITICAL: web1 - cpu_monitor.cpu_percent = 95.0 https://hbd.example.org/hosts/web1"
    );
    assert_eq!(m.render("signal", &facts, &CONTEXT).text, "CRITICAL web1");
    // The other kinds keep their defaults.
    let down = m.render("mattermost", &sample("down"), &CONTEXT);
    assert_eq!(down.text, "DOWN: web1 - no heartbeat for 1m 10s");
}

#[test]
fn a_bad_template_is_refused_with_its_name_and_line() {
    let bad = BTreeMap::from([(
        "problem.body".to_owned(),
        "line one\n{{#if host}}\nunclosed\n".to_owned(),
    )]);
    let err = Messages::new(&bad).unwrap_err();
    let MessageError::Template { name, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(name, "problem.body");
    let text = err.to_string();
    assert!(text.starts_with("message template problem.body"), "{text}");

    // A helper that does not exist fails when a sample renders, with its line.
    let missing = BTreeMap::from([(
        "down.text".to_owned(),
        "DOWN {{host}}\n{{shout host}}".to_owned(),
    )]);
    let err = Messages::new(&missing).unwrap_err();
    assert!(
        matches!(&err, MessageError::Template { name, line: Some(2), .. } if name == "down.text"),
        "{err:?}"
    );

    let unknown = BTreeMap::from([("problems.body".to_owned(), "x".to_owned())]);
    assert!(matches!(
        Messages::new(&unknown),
        Err(MessageError::Name { .. })
    ));
    assert_eq!(channel_of("slack-ops/down.text"), Some("slack-ops"));
    assert_eq!(channel_of("down.text"), None);
}

#[test]
fn host_names_in_links_are_one_path_segment() {
    let mut facts = sample("down");
    facts.host = "web 1/a".into();
    let m = Messages::default();
    let msg = m.render("email", &facts, &CONTEXT);
    assert!(
        msg.body
            .contains("https://hbd.example.org/hosts/web%201%2Fa\n"),
        "{}",
        msg.body
    );
}
