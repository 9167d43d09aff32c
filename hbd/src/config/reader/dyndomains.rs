//! The `dyndomains` section: the DNS zones whose host records hbd keeps, read into
//! their validated form, every problem reported with its line.

use std::collections::BTreeMap;

use serde_norway::Value;

use hb_problems::keys::{Reload, read_map};

use super::keys::KeySpec;
use super::{Reader, set};
use crate::config::dns::Zone;
use hb_problems::describe as kind_of;

/// Keys of one zone (`dyndomains.ZONE`); a reload puts each in force.
pub(in crate::config) static ZONE: &[KeySpec<Zone>] = &[
    KeySpec {
        name: "server",
        reload: Reload::Live,
        read: |r, z, p, v| set(&mut z.server, r.string(p, v)),
    },
    KeySpec {
        name: "port",
        reload: Reload::Live,
        read: |r, z, p, v| set(&mut z.port, r.uint(p, v, 1, 65535).map(|n| n as u16)),
    },
    KeySpec {
        name: "key_file",
        reload: Reload::Live,
        read: |r, z, p, v| {
            z.key_file = r.path(p, v);
            if let Some(file) = &z.key_file
                && !file.is_file()
            {
                r.warn(
                    p,
                    format!(
                        "{} does not exist (yet): updates fail until it does",
                        file.display()
                    ),
                );
            }
        },
    },
    KeySpec {
        name: "ttl",
        reload: Reload::Live,
        read: |r, z, p, v| set(&mut z.ttl, r.uint(p, v, 1, 86_400).map(|n| n as u32)),
    },
    KeySpec {
        name: "all_hosts",
        reload: Reload::Live,
        read: |r, z, p, v| set(&mut z.all_hosts, r.boolean(p, v)),
    },
    KeySpec {
        name: "timeout",
        reload: Reload::Live,
        read: |r, z, p, v| set(&mut z.timeout, r.seconds(p, v)),
    },
];

impl Reader {
    /// `dyndomains: {ZONE: {server, port, key_file, ttl, all_hosts, timeout}}`, or the
    /// original daemon's list of zones, `dyndomains: [example.com]`: each zone's primary
    /// found by `nsupdate` from its SOA, no TSIG key, and a host whose name lies inside
    /// the zone gets the record of that name.
    pub(super) fn zones(&mut self, v: &Value) -> BTreeMap<String, Zone> {
        let mut zones = BTreeMap::new();
        if let Value::Sequence(list) = v {
            for item in list {
                let zone = item
                    .as_str()
                    .map(|z| z.trim().trim_end_matches('.').to_ascii_lowercase())
                    .filter(|z| !z.is_empty() && !z.contains(char::is_whitespace));
                match zone {
                    Some(zone) => {
                        let listed = Zone {
                            names_inside: true,
                            ..Zone::default()
                        };
                        zones.insert(zone, listed);
                    }
                    None => self.error(
                        &["dyndomains"],
                        format!(
                            "{} is not a zone name; expected a list of zones such as [example.com], or the mapping form ZONE: {{server: ..., key_file: ...}}",
                            kind_of(item)
                        ),
                    ),
                }
            }
            return zones;
        }
        let Some(map) = self.mapping(&["dyndomains"], v) else {
            return zones;
        };
        for (name, settings) in map {
            let Some(name) = name.as_str() else { continue };
            let mut zone = Zone::default();
            let Some(keys) = self.mapping(&["dyndomains", name], settings) else {
                self.error(&["dyndomains", name], "a zone needs at least `server`");
                continue;
            };
            read_map(self, ZONE, &mut zone, &["dyndomains", name], keys);
            if zone.server.is_empty() {
                self.error(
                    &["dyndomains", name],
                    "`server` is required: the primary that takes updates",
                );
            }
            zones.insert(name.trim_end_matches('.').to_ascii_lowercase(), zone);
        }
        zones
    }
}
