//! The API's rate limits against a real daemon: a token's burst, then 429 with
//! `Retry-After` and a message naming the limit, then served again once the bucket
//! refills; each token its own bucket; requests without a credential limited by
//! address unless the address is exempt (loopback, by default); each refusal counted.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use hbd_e2e::{Daemon, password_hash};

const PASSWORD: &str = "rate limits password";

fn config(limits: &str) -> String {
    format!(
        "users:\n  ada: {{admin: true, password: '{hash}'}}\n  bob: {{password: '{hash}'}}\n\
         rate_limit: {limits}\n",
        hash = password_hash(PASSWORD)
    )
}

fn get(daemon: &Daemon, token: Option<&str>) -> hbd_e2e::Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    daemon.call("GET", "/api/0/auth/me", &headers, None)
}

fn retry_after(reply: &hbd_e2e::Reply) -> u64 {
    reply
        .headers
        .iter()
        .find(|(k, _)| k == "retry-after")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", reply.headers))
}

#[test]
fn a_token_gets_its_burst_then_429_with_retry_after_then_is_served_again() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config("{}"));
    let ada = daemon.login("ada", PASSWORD);
    let bob = daemon.login("bob", PASSWORD);
    // Half a request a second, four seconds' worth at once: a burst of two; loopback
    // not exempt. A reload applies it; the sessions stay.
    std::fs::write(
        daemon.config_path(),
        config("{per_token: 0.5, per_address: 0.5, burst: 4, exempt: []}"),
    )
    .unwrap();
    daemon.reload().unwrap();
    for _ in 0..2 {
        assert_eq!(get(&daemon, Some(&ada)).status, 200);
    }
    let refused = get(&daemon, Some(&ada));
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait = retry_after(&refused);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(
        refused.body.contains("too many requests from this token"),
        "{}",
        refused.body
    );
    // Bob's token has its own bucket.
    assert_eq!(get(&daemon, Some(&bob)).status, 200);
    // Once the bucket refills, ada is served again (a refusal costs nothing).
    let refilled = Instant::now();
    assert!(hbd_e2e::wait_until(Duration::from_secs(10), || {
        get(&daemon, Some(&ada)).status == 200
    }));
    assert!(refilled.elapsed() <= Duration::from_secs(10));

    // Without a credential: the address's bucket (loopback is not exempt here).
    let anonymous: Vec<u16> = (0..3).map(|_| get(&daemon, None).status).collect();
    assert_eq!(anonymous, [401, 401, 429], "the third anonymous request");
    // Each refusal counted (`/metrics` is not the API: not limited).
    let metrics = daemon.call(
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {ada}"))],
        None,
    );
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    for by in ["token", "address"] {
        let series = format!("hbd_api_rate_limited_total{{by=\"{by}\"}}");
        let counted = hbd_e2e::metric_value(&metrics.body, &series).unwrap_or(0.0);
        assert!(counted >= 1.0, "{series} = {counted}");
    }
}

#[test]
fn loopback_is_exempt_from_the_address_limit_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), &config("{per_address: 0.5, burst: 4}"));
    let statuses: Vec<u16> = (0..20).map(|_| get(&daemon, None).status).collect();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
}
