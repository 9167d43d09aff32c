//! Dynamic DNS settings: the zones under `dyndomains` and each host's `dyndomain`, and
//! the pure rule that names a host's record.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One zone the daemon keeps host records in.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The primary server that takes updates (name or address); empty: `nsupdate`
    /// finds it from the zone's SOA record (the list form, as the original daemon had).
    pub server: String,
    /// Its port.
    pub port: u16,
    /// TSIG key file for `nsupdate -k` (the secret stays in the file).
    pub key_file: Option<PathBuf>,
    /// TTL of the records written.
    pub ttl: u32,
    /// Every host gets a record here unless it says `dyndomain: false`.
    pub all_hosts: bool,
    /// How long one `nsupdate` run may take.
    pub timeout: Duration,
    /// A host whose name lies inside the zone (`web1.example.com`) gets the record of
    /// that very name (the list form: the original daemon's rule, where agents send
    /// their fully qualified names).
    pub names_inside: bool,
}

impl Default for Zone {
    fn default() -> Zone {
        Zone {
            server: String::new(),
            port: 53,
            key_file: None,
            ttl: 60,
            all_hosts: false,
            timeout: Duration::from_secs(10),
            names_inside: false,
        }
    }
}

/// A host's `dyndomain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynDomain {
    /// `true`: in the only zone.
    Yes,
    /// `false`: never.
    No,
    /// A zone (`example.org`: the record is `HOST.example.org`) or a full name inside
    /// one (`www.example.org`).
    Name(String),
}

/// Where a host's record goes: the zone and the record's full name (no trailing dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The zone, a key of `dyndomains`.
    pub zone: String,
    /// The record's name.
    pub name: String,
}

/// The record of `host` under `zones`, given its `dyndomain` (`None`: not set).
pub fn record_for(
    zones: &BTreeMap<String, Zone>,
    host: &str,
    setting: Option<&DynDomain>,
) -> Option<Record> {
    let in_zone = |zone: &str| Record {
        zone: zone.to_owned(),
        name: format!("{}.{zone}", host.to_ascii_lowercase()),
    };
    match setting {
        Some(DynDomain::No) => None,
        Some(DynDomain::Yes) => {
            (zones.len() == 1).then(|| zones.keys().next().map(|z| in_zone(z)))?
        }
        Some(DynDomain::Name(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if zones.contains_key(&name) {
                return Some(in_zone(&name));
            }
            // The longest zone the name lies in.
            zones
                .keys()
                .filter(|z| name.ends_with(&format!(".{z}")))
                .max_by_key(|z| z.len())
                .map(|z| Record {
                    zone: z.clone(),
                    name,
                })
        }
        None => {
            let host = host.trim_end_matches('.').to_ascii_lowercase();
            let inside = zones
                .iter()
                .filter(|(z, zone)| zone.names_inside && host.ends_with(&format!(".{z}")))
                .max_by_key(|(z, _)| z.len())
                .map(|(z, _)| Record {
                    zone: z.clone(),
                    name: host.clone(),
                });
            inside.or_else(|| {
                zones
                    .iter()
                    .find(|(_, z)| z.all_hosts)
                    .map(|(name, _)| in_zone(name))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosts_record_follows_its_setting() {
        let mut zones = BTreeMap::new();
        zones.insert("example.test".to_owned(), Zone::default());
        let rec = |zone: &str, name: &str| {
            Some(Record {
                zone: zone.into(),
                name: name.into(),
            })
        };
        // (zones with all_hosts?, setting) -> record
        assert_eq!(
            record_for(&zones, "Web1", None),
            None,
            "only hosts that ask"
        );
        assert_eq!(
            record_for(&zones, "Web1", Some(&DynDomain::Yes)),
            rec("example.test", "web1.example.test")
        );
        assert_eq!(
            record_for(
                &zones,
                "web1",
                Some(&DynDomain::Name("example.test.".into()))
            ),
            rec("example.test", "web1.example.test")
        );
        assert_eq!(
            record_for(
                &zones,
                "web1",
                Some(&DynDomain::Name("www.Example.test".into()))
            ),
            rec("example.test", "www.example.test"),
            "a full name overrides the host's"
        );
        assert_eq!(
            record_for(&zones, "web1", Some(&DynDomain::Name("other.org".into()))),
            None
        );
        zones.get_mut("example.test").unwrap().all_hosts = true;
        assert_eq!(
            record_for(&zones, "web1", None),
            rec("example.test", "web1.example.test")
        );
        assert_eq!(record_for(&zones, "web1", Some(&DynDomain::No)), None);
        zones.insert("b.test".to_owned(), Zone::default());
        let listed = Zone {
            names_inside: true,
            ..Zone::default()
        };
        zones.insert("hosts.c.test".to_owned(), listed.clone());
        zones.insert("c.test".to_owned(), listed);
        assert_eq!(
            record_for(&zones, "Web7.Hosts.C.test", None),
            rec("hosts.c.test", "web7.hosts.c.test"),
            "a name inside a listed zone: that name, in the innermost zone"
        );
        assert_eq!(
            record_for(&zones, "web1", None),
            rec("example.test", "web1.example.test"),
            "other names as before"
        );
        assert_eq!(
            record_for(&zones, "web1", Some(&DynDomain::Yes)),
            None,
            "true is ambiguous with two zones (check-config says so)"
        );
    }
}
