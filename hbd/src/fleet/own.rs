//! A host's own managed plugins, as those who manage it ask for them through the API:
//! each artifact by version with the settings a group would give, or `null` for a
//! plugin its groups name that it should not run, and native collectors' settings.
//! Checked as `check-config` checks a group's (on offer, within the manifest, a known
//! collector), and resolved against the catalogue into what the plan holds; and what
//! changed, one line each, for the record. Pure.

use std::collections::BTreeMap;

use hb_artifact::collectors::Collectors;
use hb_artifact::desired::{DesiredPlugin, Files, Settings};
use hbd_core::managed::HostOwn;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::catalogue::Catalogue;

/// What a manager asks one host to run of its own.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnAsk {
    /// By plugin name: an artifact at a version with its settings, or `null`: this
    /// host does not run it, whatever its groups say.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub plugins: BTreeMap<String, Option<OwnPlugin>>,
    /// Native collectors' settings by collector name: `enabled`, `interval`, and
    /// `checks` for `nagios_runner` (CONFIG.md, `groups`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub collectors: Collectors,
}

/// One artifact a host runs of its own: what `groups.NAME.plugins.PLUGIN` says for a
/// group.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnPlugin {
    /// Its version (`1.2.0`), on offer in `artifacts_dir`.
    pub version: String,
    /// Seconds between collections.
    #[serde(default)]
    pub interval: Option<f64>,
    /// Passed to the plugin.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Paths it may read, below the manifest's grants.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub grants: Vec<std::path::PathBuf>,
    /// Time per call, ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Memory per instance, MiB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Where it may connect (`HOST:PORT`), within the manifest's `net`.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub net: Vec<hb_artifact::net::Destination>,
}

/// `ask` checked and resolved against `catalogue` (`None`: no `artifacts_dir`), or
/// every problem found, one sentence each.
pub fn resolve(ask: OwnAsk, catalogue: Option<&Catalogue>) -> Result<HostOwn, Vec<String>> {
    let mut problems = Vec::new();
    let mut own = HostOwn::default();
    for (name, entry) in ask.plugins {
        if !hb_artifact::manifest::valid_name(&name) {
            problems.push(format!(
                "{name:?} is not a plugin name (a-z 0-9 _, 1 to 64)"
            ));
            continue;
        }
        let Some(entry) = entry else {
            own.without.push(name);
            continue;
        };
        let Ok(version) = entry.version.parse::<semver::Version>() else {
            problems.push(format!(
                "{name}: {:?} is not a semantic version (1.2.0)",
                entry.version
            ));
            continue;
        };
        let Some(catalogue) = catalogue else {
            problems.push(format!(
                "{name}: the daemon offers no artifacts (no artifacts_dir)"
            ));
            continue;
        };
        let Some(offered) = catalogue.get(&name, &version) else {
            problems.push(format!("{name} {version} is not on offer"));
            continue;
        };
        let settings = Settings {
            interval: entry.interval,
            config: entry.config,
            grants: entry.grants,
            timeout_ms: entry.timeout_ms,
            memory_mb: entry.memory_mb,
            net: entry.net,
        };
        if let Some(why) = settings.exceeds(&offered.manifest.capabilities) {
            problems.push(format!("{name}: {why}"));
            continue;
        }
        own.plugins.push(DesiredPlugin {
            files: Files::of(&name, &version),
            name,
            version,
            sha256: offered.manifest.sha256.clone(),
            size: offered.manifest.size,
            settings,
        });
    }
    for (name, settings) in &ask.collectors {
        if let Some(why) = settings.problem(name) {
            problems.push(format!("collectors.{name}: {why}"));
        }
    }
    own.collectors = ask.collectors;
    if problems.is_empty() {
        Ok(own)
    } else {
        Err(problems)
    }
}

/// What changed in `host`'s own from `before` to `after`, one line each.
pub fn changes(host: &str, before: &HostOwn, after: &HostOwn) -> Vec<String> {
    let at = |what: &str| format!("hosts.{host}.{what}");
    let versions = |own: &HostOwn| -> BTreeMap<String, (String, Settings)> {
        own.plugins
            .iter()
            .map(|p| (p.name.clone(), (p.version.to_string(), p.settings.clone())))
            .collect()
    };
    let (old, new) = (versions(before), versions(after));
    let mut out = Vec::new();
    for (name, (version, settings)) in &old {
        let here = at(&format!("plugins.{name}"));
        match new.get(name) {
            None => out.push(format!("{here}: {version} removed")),
            Some((v, s)) if v != version => {
                let diff = super::changes::settings_diff(settings, s);
                let with = if diff.is_empty() {
                    String::new()
                } else {
                    format!("; {diff}")
                };
                out.push(format!("{here}: {version} -> {v}{with}"));
            }
            Some((v, s)) if s != settings => out.push(format!(
                "{here}: {v}: {}",
                super::changes::settings_diff(settings, s)
            )),
            Some(_) => {}
        }
    }
    for (name, (version, _)) in &new {
        if !old.contains_key(name) {
            out.push(format!(
                "{}: {version} added",
                at(&format!("plugins.{name}"))
            ));
        }
    }
    for name in &after.without {
        if !before.without.contains(name) {
            out.push(format!("{}: not run here", at(&format!("plugins.{name}"))));
        }
    }
    for name in &before.without {
        if !after.without.contains(name) {
            out.push(format!(
                "{}: run as its groups say",
                at(&format!("plugins.{name}"))
            ));
        }
    }
    // Invariant: plain fields serialize.
    let shown =
        |c: &hb_artifact::collectors::Collector| serde_json::to_string(c).unwrap_or_default();
    for (name, was) in &before.collectors {
        let here = at(&format!("collectors.{name}"));
        match after.collectors.get(name) {
            None => out.push(format!("{here}: {} dropped", shown(was))),
            Some(now) if now != was => {
                out.push(format!("{here}: {} -> {}", shown(was), shown(now)))
            }
            Some(_) => {}
        }
    }
    for (name, now) in &after.collectors {
        if !before.collectors.contains_key(name) {
            out.push(format!(
                "{}: {} set",
                at(&format!("collectors.{name}")),
                shown(now)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../artifact/tests/fixtures");

    /// A catalogue offering log_freshness 1.2.0 (the fixture, grants /var/log/app).
    fn catalogue(dir: &std::path::Path) -> Catalogue {
        let good = std::fs::read_to_string(format!("{FIXTURES}/good.json")).unwrap();
        let stem = dir.join("log_freshness-1.2.0").display().to_string();
        std::fs::write(format!("{stem}.json"), &good).unwrap();
        std::fs::write(format!("{stem}.json.minisig"), "x").unwrap();
        std::fs::copy(format!("{FIXTURES}/plugin.wasm"), format!("{stem}.wasm")).unwrap();
        crate::catalogue::scan(dir, &[]).unwrap()
    }

    fn ask(json: serde_json::Value) -> OwnAsk {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn what_a_manager_asks_is_checked_like_a_groups_and_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalogue(dir.path());
        let own = resolve(
            ask(serde_json::json!({
                "plugins": {"log_freshness": {"version": "1.2.0", "grants": ["/var/log/app/x"]},
                            "tls_expiry": null},
                "collectors": {"cpu_monitor": {"interval": 10.0}},
            })),
            Some(&c),
        )
        .unwrap();
        assert_eq!(
            own.plugins[0].sha256,
            c.get("log_freshness", &"1.2.0".parse().unwrap())
                .unwrap()
                .manifest
                .sha256
        );
        assert_eq!(own.without, ["tls_expiry"]);
        assert_eq!(own.collectors["cpu_monitor"].interval, Some(10.0));

        let problems = resolve(
            ask(serde_json::json!({
                "plugins": {"log_freshness": {"version": "9.0.0"},
                            "Bad": {"version": "1.0.0"},
                            "other": {"version": "one"}},
                "collectors": {"cpu_monitr": {}},
            })),
            Some(&c),
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "\"Bad\" is not a plugin name (a-z 0-9 _, 1 to 64)",
                "log_freshness 9.0.0 is not on offer",
                "other: \"one\" is not a semantic version (1.2.0)",
                "collectors.cpu_monitr: \"cpu_monitr\" is not a native collector (one of os_info, cpu_monitor, memory_monitor, disk_monitor, network_monitor, filesystem_info, ping_monitor, nagios_runner)",
            ]
        );
        let beyond = resolve(
            ask(serde_json::json!({"plugins": {"log_freshness": {"version": "1.2.0", "grants": ["/etc"]}}})),
            Some(&c),
        )
        .unwrap_err();
        assert!(
            beyond[0].starts_with("log_freshness: grant /etc is not below"),
            "{beyond:?}"
        );
        let none = resolve(
            ask(serde_json::json!({"plugins": {"log_freshness": {"version": "1.2.0"}}})),
            None,
        )
        .unwrap_err();
        assert_eq!(
            none,
            ["log_freshness: the daemon offers no artifacts (no artifacts_dir)"]
        );
    }

    #[test]
    fn each_change_to_a_hosts_own_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalogue(dir.path());
        let before = resolve(
            ask(
                serde_json::json!({"plugins": {"log_freshness": {"version": "1.2.0"}, "a": null},
                                   "collectors": {"cpu_monitor": {"interval": 10.0}}}),
            ),
            Some(&c),
        )
        .unwrap();
        let after = resolve(
            ask(serde_json::json!({"plugins": {"log_freshness": {"version": "1.2.0", "interval": 120.0}, "b": null}})),
            Some(&c),
        )
        .unwrap();
        assert_eq!(
            changes("web1", &before, &after),
            [
                "hosts.web1.plugins.log_freshness: 1.2.0: interval: - -> 120.0",
                "hosts.web1.plugins.b: not run here",
                "hosts.web1.plugins.a: run as its groups say",
                "hosts.web1.collectors.cpu_monitor: {\"interval\":10.0} dropped",
            ]
        );
        assert_eq!(
            changes("web1", &HostOwn::default(), &before)[0],
            "hosts.web1.plugins.log_freshness: 1.2.0 added"
        );
        assert!(changes("web1", &after, &after).is_empty());
    }
}
