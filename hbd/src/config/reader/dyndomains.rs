//! The `dyndomains` section: the DNS zones whose host records hbd keeps, read into
//! their validated form, every problem reported with its line.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::{Reader, set};
use crate::config::dns::{ZONE_KEYS, Zone};
use hb_problems::describe as kind_of;

impl Reader<'_> {
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
            for (k, v) in keys {
                let Some(key) = k.as_str() else { continue };
                let p = ["dyndomains", name, key];
                match key {
                    "server" => set(&mut zone.server, self.string(&p, v)),
                    "port" => set(&mut zone.port, self.uint(&p, v, 1, 65535).map(|n| n as u16)),
                    "key_file" => {
                        zone.key_file = self.path(&p, v);
                        if let Some(file) = &zone.key_file
                            && !file.is_file()
                        {
                            self.warn(
                                &p,
                                format!(
                                    "{} does not exist (yet): updates fail until it does",
                                    file.display()
                                ),
                            );
                        }
                    }
                    "ttl" => set(&mut zone.ttl, self.uint(&p, v, 1, 86_400).map(|n| n as u32)),
                    "all_hosts" => set(&mut zone.all_hosts, self.boolean(&p, v)),
                    "timeout" => set(&mut zone.timeout, self.seconds(&p, v)),
                    _ => self.unknown_key(&p, ZONE_KEYS),
                }
            }
            if zone.server.is_empty() {
                self.error(
                    &["dyndomains", name],
                    "`server` is required: the primary that takes updates",
                );
            }
            zones.insert(name.trim_end_matches('.').to_ascii_lowercase(), zone);
        }
        if zones.values().filter(|z| z.all_hosts).count() > 1 {
            self.error(&["dyndomains"], "only one zone may say all_hosts: true");
        }
        zones
    }
}
