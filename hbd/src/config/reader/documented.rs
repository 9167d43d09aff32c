//! docs/CONFIG.md against the daemon's key tables: every key of every table and
//! section is documented, no other, and the keys that need a restart are listed as
//! such. (Tests only.)

use std::collections::BTreeSet;

use hb_problems::keys::{Reload, find, names};

use super::keys::{HOST, TOP_LEVEL, USER};
use crate::config::Config;

use hbd_e2e::docs::{backticked, read, row, table_keys};

fn config_md() -> String {
    read("CONFIG.md")
}

fn set(names: impl IntoIterator<Item = &'static str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

#[test]
fn config_md_documents_every_key_of_the_table_and_no_other() {
    let md = config_md();
    assert_eq!(
        table_keys(&md, "## Daemon"),
        set(TOP_LEVEL.iter().map(|k| k.name)),
        "docs/CONFIG.md's daemon table against config/reader/keys.rs"
    );
    assert_eq!(table_keys(&md, "### `hosts.NAME`"), set(names(HOST)));
    assert_eq!(table_keys(&md, "### `users.NAME`"), set(names(USER)));
}

/// Each section's table, by the top-level key it sits under.
fn sections() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    use crate::config::reader::{
        checks, dyndomains, groups, ha, oidc, policy, proxy, rate_limit, remote_write, targets,
    };
    use hb_problems::keys::restart_keys;
    vec![
        (
            "remote_write",
            names(remote_write::REMOTE_WRITE),
            restart_keys(remote_write::REMOTE_WRITE),
        ),
        ("ha", names(ha::HA), restart_keys(ha::HA)),
        (
            "rate_limit",
            names(rate_limit::RATE_LIMIT),
            restart_keys(rate_limit::RATE_LIMIT),
        ),
        ("oidc", names(oidc::OIDC), restart_keys(oidc::OIDC)),
        (
            "auth_proxy",
            names(proxy::AUTH_PROXY),
            restart_keys(proxy::AUTH_PROXY),
        ),
        (
            "maintenance",
            names(policy::WINDOW),
            restart_keys(policy::WINDOW),
        ),
        (
            "flapping",
            names(policy::FLAPPING),
            restart_keys(policy::FLAPPING),
        ),
        ("storm", names(policy::STORM), restart_keys(policy::STORM)),
        (
            "dyndomains",
            names(dyndomains::ZONE),
            restart_keys(dyndomains::ZONE),
        ),
        ("groups", names(groups::GROUP), restart_keys(groups::GROUP)),
        ("checks", names(checks::CHECK), restart_keys(checks::CHECK)),
        (
            "targets",
            names(targets::TARGET),
            restart_keys(targets::TARGET),
        ),
        (
            "groups",
            names(groups::GROUP_PLUGIN),
            restart_keys(groups::GROUP_PLUGIN),
        ),
        (
            "groups",
            names(groups::GROUP_COLLECTOR),
            restart_keys(groups::GROUP_COLLECTOR),
        ),
        (
            "groups",
            names(groups::GROUP_ROLLOUT),
            restart_keys(groups::GROUP_ROLLOUT),
        ),
    ]
}

/// Each section's keys are named in its row of the table.
#[test]
fn config_md_names_every_key_of_each_section() {
    let md = config_md();
    for (section, keys, _) in sections() {
        let words = backticked(row(&md, "## Daemon", section));
        for key in keys {
            assert!(
                words.iter().any(|w| w == key),
                "docs/CONFIG.md's `{section}` row does not name `{key}`"
            );
        }
    }
}

/// The channels' example in THRESHOLD_ALERTING.md writes every key of each channel's
/// table, and loads without a single problem.
#[test]
fn the_channels_example_shows_every_channel_key() {
    use crate::config::reader::channels::{EMAIL, MATTERMOST, PUSHOVER, SIGNAL};
    let md = read("THRESHOLD_ALERTING.md");
    let from = md.find("### Channels").expect("the channels section");
    let start = from + md[from..].find("```yaml\n").expect("its example") + 8;
    let text = &md[start..start + md[start..].find("```").expect("its end")];
    let example: serde_norway::Value = serde_norway::from_str(text).unwrap();
    let keys = |section: &str| -> BTreeSet<String> {
        example[section]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys("email"), set(names(EMAIL)));
    assert_eq!(keys("pushover"), set(names(PUSHOVER)));
    assert_eq!(keys("mattermost"), set(names(MATTERMOST)));
    assert_eq!(keys("signal"), set(names(SIGNAL)));
    let loaded = crate::config::parse(text, None).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// A section needs a restart as a whole exactly when its keys do.
#[test]
fn a_section_row_needs_a_restart_when_its_keys_do() {
    for (section, keys, restart) in sections() {
        let row = find(TOP_LEVEL, section).expect("a top-level row per section");
        let whole = matches!(row.reload, Reload::Restart(_));
        assert!(
            restart.is_empty() || restart.len() == keys.len(),
            "`{section}`: some keys need a restart and some do not: {restart:?}"
        );
        assert_eq!(whole, !restart.is_empty(), "`{section}`");
    }
}

#[test]
fn config_md_lists_exactly_the_keys_that_need_a_restart() {
    let md = config_md();
    let from = md
        .find("These keys\nneed a restart")
        .expect("the restart list");
    let sentence = &md[from..from + md[from..].find(".\n").expect("its end")];
    let listed: BTreeSet<String> = backticked(sentence)
        .into_iter()
        .filter(|w| w != "restart_needed")
        .collect();
    let restart = TOP_LEVEL
        .iter()
        .filter(|k| matches!(k.reload, Reload::Restart(_)))
        .map(|k| k.name);
    assert_eq!(listed, set(restart));
}

#[test]
fn each_restart_key_is_told_when_it_changes_and_only_then() {
    let base = Config::default();
    let mut changed = Config::default();
    changed.hb_port += 1;
    changed.journal.max_backups += 1;
    changed.interval *= 2;
    assert_eq!(
        base.restart_needed(&changed),
        ["hb_port", "journal_max_backups"]
    );
    assert!(base.restart_needed(&base.clone()).is_empty());
}
