//! What one host should run: every artifact the groups that hold it name, the first
//! group by name winning where two name the same plugin (as for owners), each at its
//! version with the group's settings. An artifact not on offer any more (removed from
//! `artifacts_dir` after the config was read) is left out and said why. Pure.

use std::collections::BTreeMap;

use hb_artifact::desired::{DesiredPlugin, Files};
use hbd_core::groups::Labels;

use super::catalogue::Catalogue;
use crate::config::Config;

/// The artifacts `host`, declaring `labels`, should run, sorted by name, and what could
/// not be included.
pub fn plugins_for(
    config: &Config,
    host: &str,
    labels: Option<&Labels>,
    catalogue: &Catalogue,
) -> (Vec<DesiredPlugin>, Vec<String>) {
    let mut chosen: BTreeMap<&str, DesiredPlugin> = BTreeMap::new();
    let mut missing = Vec::new();
    for (group_name, group) in &config.groups {
        if group.plugins.is_empty()
            || !group
                .group(group_name)
                .is_ok_and(|g| g.contains(host, labels))
        {
            continue;
        }
        for (name, entry) in &group.plugins {
            if chosen.contains_key(name.as_str()) {
                continue;
            }
            let Some(version) = &entry.version else {
                continue;
            };
            let Some(offered) = catalogue.get(name, version) else {
                missing.push(format!(
                    "group {group_name}: {name} {version} is not on offer"
                ));
                continue;
            };
            if let Some(why) = entry.settings.exceeds(&offered.manifest.capabilities) {
                missing.push(format!("group {group_name}: {name} {version}: {why}"));
                continue;
            }
            chosen.insert(
                name,
                DesiredPlugin {
                    name: name.clone(),
                    version: version.clone(),
                    sha256: offered.manifest.sha256.clone(),
                    size: offered.manifest.size,
                    files: Files::of(name, version),
                    settings: entry.settings.clone(),
                },
            );
        }
    }
    (chosen.into_values().collect(), missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../artifact/tests/fixtures");

    /// An artifacts directory offering log_freshness 1.2.0 and 1.3.0 (unsigned: without
    /// `plugin_publishers` the daemon checks only each .wasm against its manifest).
    fn offering(dir: &std::path::Path) {
        let good = std::fs::read_to_string(format!("{FIXTURES}/good.json")).unwrap();
        for version in ["1.2.0", "1.3.0"] {
            let stem = dir
                .join(format!("log_freshness-{version}"))
                .display()
                .to_string();
            std::fs::write(format!("{stem}.json"), good.replace("1.2.0", version)).unwrap();
            std::fs::write(format!("{stem}.json.minisig"), "x").unwrap();
            std::fs::copy(format!("{FIXTURES}/plugin.wasm"), format!("{stem}.wasm")).unwrap();
        }
    }

    #[test]
    fn a_host_runs_what_its_groups_name_the_first_group_winning() {
        let dir = tempfile::tempdir().unwrap();
        offering(dir.path());
        let config = crate::config::parse(
            &format!(
                "
artifacts_dir: {}
groups:
  a_canary:
    hosts: ['web1']
    plugins:
      log_freshness: {{version: 1.3.0, grants: [/var/log/app]}}
  web:
    hosts: ['web*']
    plugins:
      log_freshness: {{version: 1.2.0, interval: 60}}
  gone:
    hosts: ['db*']
    plugins:
      log_freshness: {{version: 1.2.0}}
",
                dir.path().display()
            ),
            None,
        )
        .unwrap()
        .config;
        let c = crate::fleet::catalogue::scan(dir.path(), &[]).unwrap();
        // (host, the versions it runs)
        let cases: &[(&str, &[&str])] =
            &[("web1", &["1.3.0"]), ("web2", &["1.2.0"]), ("mail", &[])];
        for (host, want) in cases {
            let (plugins, missing) = plugins_for(&config, host, None, &c);
            let got: Vec<String> = plugins.iter().map(|p| p.version.to_string()).collect();
            assert_eq!(got, *want, "{host}");
            assert!(missing.is_empty(), "{host}: {missing:?}");
        }
        let (web1, _) = plugins_for(&config, "web1", None, &c);
        assert_eq!(web1[0].files.wasm, "/artifacts/log_freshness-1.3.0.wasm");
        assert_eq!(
            web1[0].settings.grants,
            [std::path::PathBuf::from("/var/log/app")]
        );
        assert_eq!(
            web1[0].sha256,
            c.get("log_freshness", &web1[0].version)
                .unwrap()
                .manifest
                .sha256
        );
        // Removed from the directory after the config was read: left out, and said so.
        std::fs::remove_file(dir.path().join("log_freshness-1.2.0.wasm")).unwrap();
        let c = crate::fleet::catalogue::scan(dir.path(), &[]).unwrap();
        let (none, missing) = plugins_for(&config, "db1", None, &c);
        assert!(none.is_empty());
        assert_eq!(missing, ["group gone: log_freshness 1.2.0 is not on offer"]);
    }

    #[test]
    fn the_config_names_what_is_not_on_offer_and_settings_beyond_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        offering(dir.path());
        std::fs::write(dir.path().join("junk.json"), "{}").unwrap();
        let text = format!(
            "artifacts_dir: {}
groups:
  web:
    hosts: ['web*']
    plugins:
      log_freshness: {{version: 2.0.0}}
  db:
    hosts: ['db*']
    plugins:
      log_freshness: {{version: 1.2.0, grants: [/etc]}}
      Bad-Name: {{version: 1.0.0}}
      no_version: {{interval: 60}}
",
            dir.path().display()
        );
        let err = crate::config::parse(&text, Some(std::path::Path::new("/etc/hbd.yaml")))
            .unwrap_err()
            .to_string();
        for want in [
            "/etc/hbd.yaml:6: error: groups.web.plugins.log_freshness.version: log_freshness 2.0.0 is not on offer in",
            "(offered: 1.2.0, 1.3.0)",
            "/etc/hbd.yaml:10: error: groups.db.plugins.log_freshness: grant /etc is not below the artifact's grants (/var/log/app)",
            "/etc/hbd.yaml:11: error: groups.db.plugins.Bad-Name: is not a plugin name (a-z 0-9 _, 1 to 64)",
            "/etc/hbd.yaml:12: error: groups.db.plugins.no_version: needs `version` (the artifact's, 1.2.0)",
            "/etc/hbd.yaml:1: warning: artifacts_dir: not offered: junk.json: manifest is not valid",
        ] {
            assert!(err.contains(want), "missing {want:?} in\n{err}");
        }
        let without = "groups:\n  web:\n    hosts: ['web*']\n    plugins:\n      log_freshness: {version: 1.2.0}\n";
        let err = crate::config::parse(without, None).unwrap_err().to_string();
        assert!(
            err.contains("groups.web.plugins: needs artifacts_dir"),
            "{err}"
        );
    }
}
