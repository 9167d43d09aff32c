//! What one host should run: the plan the core holds too ([`Config::plugin_plan`]: every
//! artifact the groups that hold it name, the first group by name winning where two name
//! the same plugin, each at its version with the group's settings, as resolved when the
//! configuration was read), so the digest an ACK names is the one the answer carries.
//! An artifact whose files have left `artifacts_dir` since stays in the set (an agent
//! keeps running what it has rather than dropping it) and is said to be missing. Pure.

use hb_artifact::desired::DesiredPlugin;
use hbd_core::groups::Labels;

use super::catalogue::Catalogue;
use crate::config::Config;

/// The artifacts `host`, declaring `labels`, should run, sorted by name, and those of
/// them `catalogue` no longer offers.
pub fn plugins_for(
    config: &Config,
    host: &str,
    labels: Option<&Labels>,
    catalogue: &Catalogue,
) -> (Vec<DesiredPlugin>, Vec<String>) {
    let plugins = config.plugin_plan().for_host(host, labels);
    let missing = plugins
        .iter()
        .filter(|p| catalogue.get(&p.name, &p.version).is_none())
        .map(|p| {
            format!(
                "{} {} is no longer on offer in artifacts_dir",
                p.name, p.version
            )
        })
        .collect();
    (plugins, missing)
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
        // Removed from the directory after the config was read: still named (the agent
        // keeps what it runs), and said to be missing.
        std::fs::remove_file(dir.path().join("log_freshness-1.2.0.wasm")).unwrap();
        let c = crate::fleet::catalogue::scan(dir.path(), &[]).unwrap();
        let (kept, missing) = plugins_for(&config, "db1", None, &c);
        assert_eq!(kept.len(), 1);
        assert_eq!(
            missing,
            ["log_freshness 1.2.0 is no longer on offer in artifacts_dir"]
        );
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
