//! The daemon's keys, one row each ([`hb_problems::keys`]): how the key is read and
//! whether a reload puts it in force or it needs a restart; a table per level
//! ([`TOP_LEVEL`], a host's [`HOST`], a user's [`USER`]); each section's table is in
//! the section's own file beside this one. The reader's dispatch, the known-key lists its "did you mean" draws
//! on, [`Config::restart_needed`] and the checks of docs/CONFIG.md (its tables of keys
//! and its list of keys that need a restart) all come from them: a new key is one row
//! here, its field and default, and its line in CONFIG.md, which a test holds to the
//! table.

use serde_norway::Value;

use super::{Reader, set};
use crate::config::dns::DynDomain;
use crate::config::{Config, HostConfig, NOTIFICATION_CHANNELS, UserConfig};
use hb_problems::describe as kind;

pub(in crate::config) use hb_problems::keys::Reload;

/// One key of a level `C` of the daemon's configuration.
pub(in crate::config) type KeySpec<C> = hb_problems::keys::KeySpec<Reader, C>;

/// Every top-level key of the daemon's configuration.
pub(in crate::config) static TOP_LEVEL: &[KeySpec<Config>] = &[
    KeySpec {
        name: "hb_port",
        reload: Reload::Restart(|a, b| a.hb_port == b.hb_port),
        read: |r, c, p, v| set(&mut c.hb_port, r.port(p, v)),
    },
    KeySpec {
        name: "hbd_port",
        reload: Reload::Restart(|a, b| a.hbd_port == b.hbd_port),
        read: |r, c, p, v| set(&mut c.hbd_port, r.port(p, v)),
    },
    KeySpec {
        name: "ws_port",
        reload: Reload::Restart(|a, b| a.ws_port == b.ws_port),
        read: |r, c, p, v| c.ws_port = r.port(p, v),
    },
    KeySpec {
        name: "wss_port",
        reload: Reload::Restart(|a, b| a.wss_port == b.wss_port),
        read: |r, c, p, v| c.wss_port = r.port(p, v),
    },
    KeySpec {
        name: "hbd_host",
        reload: Reload::Restart(|a, b| a.hbd_host == b.hbd_host),
        read: |r, c, p, v| set(&mut c.hbd_host, r.ip(p, v)),
    },
    KeySpec {
        name: "hb_host",
        reload: Reload::Restart(|a, b| a.hb_host == b.hb_host),
        read: |r, c, p, v| set(&mut c.hb_host, r.ip(p, v)),
    },
    KeySpec {
        name: "cert_path",
        reload: Reload::Live,
        read: |r, c, p, v| c.cert_path = r.path(p, v),
    },
    KeySpec {
        name: "wss_pem",
        reload: Reload::Live,
        read: |r, c, p, v| c.wss_pem = r.path(p, v),
    },
    KeySpec {
        name: "wss_key",
        reload: Reload::Live,
        read: |r, c, p, v| c.wss_key = r.path(p, v),
    },
    KeySpec {
        name: "hbd_tls",
        reload: Reload::Restart(|a, b| a.hbd_tls == b.hbd_tls),
        read: |r, c, p, v| set(&mut c.hbd_tls, r.boolean(p, v)),
    },
    KeySpec {
        name: "session_idle",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.session_idle, r.seconds(p, v)),
    },
    KeySpec {
        name: "session_lifetime",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.session_lifetime, r.seconds(p, v)),
    },
    KeySpec {
        name: "allowed_origins",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(list) = r.string_list(p, v) {
                for origin in &list {
                    if !(origin.starts_with("http://") || origin.starts_with("https://"))
                        || origin.trim_end_matches('/').matches('/').count() != 2
                    {
                        r.error(
                        p,
                        format!(
                            "`{origin}` is not an origin; expected scheme://host[:port], like https://ops.example.org"
                        ),
                    );
                    }
                }
                c.allowed_origins = list
                    .into_iter()
                    .map(|o| o.trim_end_matches('/').to_owned())
                    .collect();
            }
        },
    },
    KeySpec {
        name: "rate_limit",
        reload: Reload::Live,
        read: |r, c, _p, v| {
            if let Some(limits) = r.rate_limit(v) {
                c.rate_limit = limits;
            }
        },
    },
    KeySpec {
        name: "oidc",
        reload: Reload::Live,
        read: |r, c, _p, v| c.oidc = r.oidc(v),
    },
    KeySpec {
        name: "auth_proxy",
        reload: Reload::Live,
        read: |r, c, _p, v| c.auth_proxy = r.auth_proxy(v),
    },
    KeySpec {
        name: "allowed_hosts",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(list) = r.string_list(p, v) {
                for name in &list {
                    if name.is_empty() || name.contains([':', '/', ' ']) {
                        r.error(
                        p,
                        format!(
                            "`{name}` is not a host name; expected a name such as hbd.example.org (no scheme, no port)"
                        ),
                    );
                    }
                }
                c.allowed_hosts = list.into_iter().map(|n| n.to_ascii_lowercase()).collect();
            }
        },
    },
    KeySpec {
        name: "logfile",
        reload: Reload::Restart(|a, b| a.logfile == b.logfile),
        read: |r, c, p, v| c.logfile = r.path(p, v),
    },
    KeySpec {
        name: "templates_dir",
        reload: Reload::Live,
        read: |r, c, p, v| c.templates_dir = r.path(p, v),
    },
    KeySpec {
        name: "nsupdate_bin",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.nsupdate_bin, r.path(p, v)),
    },
    KeySpec {
        name: "releases_dir",
        reload: Reload::Live,
        read: |r, c, p, v| {
            c.releases_dir = r.path(p, v);
            if let Some(dir) = &c.releases_dir
                && !dir.join(crate::releases::SUMS).is_file()
            {
                r.warn(
                p,
                format!(
                    "{} has no {} (yet): upgrades fail until it does (scripts/hb_install.sh release writes both)",
                    dir.display(),
                    crate::releases::SUMS
                ),
            );
            }
        },
    },
    KeySpec {
        name: "artifacts_dir",
        reload: Reload::Live,
        read: |r, c, p, v| {
            c.artifacts_dir = r.path(p, v);
            if let Some(dir) = &c.artifacts_dir
                && !dir.is_dir()
            {
                let shown = dir.display().to_string();
                r.error(p, format!("{shown}: not a directory"));
            }
        },
    },
    KeySpec {
        name: "plugin_publishers",
        reload: Reload::Live,
        read: |r, c, p, v| {
            c.plugin_publishers.clear();
            for text in r.string_list(p, v).unwrap_or_default() {
                match hb_artifact::Publisher::new(&text) {
                    Ok(key) => c.plugin_publishers.push(key),
                    Err(e) => r.error(p, e.to_string()),
                }
            }
        },
    },
    KeySpec {
        name: "releases_url",
        reload: Reload::Live,
        read: |r, c, p, v| {
            c.releases_url = r.string(p, v);
            if let Some(url) = &c.releases_url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                r.error(
                    p,
                    format!("expected an http:// or https:// URL, not {url:?}"),
                );
            }
        },
    },
    KeySpec {
        name: "state_db",
        reload: Reload::Restart(|a, b| a.state_db == b.state_db),
        read: |r, c, p, v| set(&mut c.state_db, r.path(p, v)),
    },
    KeySpec {
        name: "journal_dir",
        reload: Reload::Restart(|a, b| a.journal.dir == b.journal.dir),
        read: |r, c, p, v| set(&mut c.journal.dir, r.path(p, v)),
    },
    KeySpec {
        name: "journal_file",
        reload: Reload::Restart(|a, b| a.journal.file == b.journal.file),
        read: |r, c, p, v| set(&mut c.journal.file, r.string(p, v)),
    },
    KeySpec {
        name: "journal_enabled",
        reload: Reload::Restart(|a, b| a.journal.enabled == b.journal.enabled),
        read: |r, c, p, v| set(&mut c.journal.enabled, r.boolean(p, v)),
    },
    KeySpec {
        name: "journal_max_size",
        reload: Reload::Restart(|a, b| a.journal.max_size == b.journal.max_size),
        read: |r, c, p, v| set(&mut c.journal.max_size, r.size(p, v)),
    },
    KeySpec {
        name: "journal_max_backups",
        reload: Reload::Restart(|a, b| a.journal.max_backups == b.journal.max_backups),
        read: |r, c, p, v| {
            set(
                &mut c.journal.max_backups,
                r.uint(p, v, 0, 1000).map(|n| n as u32),
            )
        },
    },
    KeySpec {
        name: "interval",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.interval, r.seconds(p, v)),
    },
    KeySpec {
        name: "grace",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.grace, r.seconds_or_zero(p, v)),
    },
    KeySpec {
        name: "threshold_renotify_interval",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.threshold_renotify_interval, r.seconds_or_zero(p, v)),
    },
    KeySpec {
        name: "max_clock_skew",
        reload: Reload::Restart(|a, b| a.max_clock_skew == b.max_clock_skew),
        read: |r, c, p, v| set(&mut c.max_clock_skew, r.seconds(p, v)),
    },
    KeySpec {
        name: "hb_receivers",
        reload: Reload::Restart(|a, b| a.hb_receivers == b.hb_receivers),
        read: |r, c, p, v| set(&mut c.hb_receivers, r.uint(p, v, 1, 16).map(|n| n as usize)),
    },
    KeySpec {
        name: "hb_recv_buffer",
        reload: Reload::Restart(|a, b| a.hb_recv_buffer == b.hb_recv_buffer),
        read: |r, c, p, v| {
            set(
                &mut c.hb_recv_buffer,
                r.size(p, v).map(|n| n as usize).filter(|&n| {
                    let ok = (64 * 1024..=1024 * 1024 * 1024).contains(&n);
                    if !ok {
                        r.error(p, "expected a size from 64 KiB to 1 GiB");
                    }
                    ok
                }),
            )
        },
    },
    KeySpec {
        name: "max_message_bytes",
        reload: Reload::Live,
        read: |r, c, p, v| {
            set(
                &mut c.max_message_bytes,
                r.size(p, v).map(|n| n as usize).filter(|&n| {
                    let ok = (1024..=64 * 1024 * 1024).contains(&n);
                    if !ok {
                        r.error(p, "expected a size from 1 KiB to 64 MiB");
                    }
                    ok
                }),
            )
        },
    },
    KeySpec {
        name: "require_signed",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.require_signed, r.boolean(p, v)),
    },
    KeySpec {
        name: "plugin_history",
        reload: Reload::Restart(|a, b| a.plugin_history == b.plugin_history),
        read: |r, c, p, v| {
            set(
                &mut c.plugin_history,
                r.uint(p, v, 1, 1_000_000).map(|n| n as usize),
            )
        },
    },
    KeySpec {
        name: "hb_key",
        reload: Reload::Live,
        read: |r, c, p, v| c.hb_key = r.secret(p, v, Reader::key),
    },
    KeySpec {
        name: "default_owner",
        reload: Reload::Live,
        read: |r, c, p, v| c.default_owner = r.string(p, v),
    },
    KeySpec {
        name: "pushsrv",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.pushsrv, r.pushsrv(p, v)),
    },
    KeySpec {
        name: "dyndomains",
        reload: Reload::Live,
        read: |r, c, _p, v| c.dyndomains.extend(r.zones(v)),
    },
    KeySpec {
        name: "thresholds",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(json) = r.json_mapping(p, v) {
                if let Some(layers) = r.thresholds(&["thresholds"], &json) {
                    c.threshold_layers = layers;
                }
                c.thresholds = json;
            }
        },
    },
    KeySpec {
        name: "threshold_configs",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(map) = r.mapping(p, v) {
                for (name, profile) in map {
                    let Some(name) = r.key_name(p, name) else {
                        continue;
                    };
                    if let Some(json) = r.json_mapping(&[p[0], &name], profile) {
                        if let Some(layers) = r.thresholds(&[p[0], &name], &json) {
                            c.profile_layers.insert(name.clone(), layers);
                        }
                        c.threshold_configs.insert(name, json);
                    }
                }
            }
        },
    },
    KeySpec {
        name: "threshold_renotify_max",
        reload: Reload::Live,
        read: |r, c, p, v| {
            set(
                &mut c.threshold_renotify_max,
                r.uint(p, v, 0, 1_000_000).map(|n| n as u32),
            )
        },
    },
    KeySpec {
        name: "threshold_notify_unknown",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.threshold_notify_unknown, r.boolean(p, v)),
    },
    KeySpec {
        name: "plugin_status_alerts",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.plugin_status_alerts, r.boolean(p, v)),
    },
    KeySpec {
        name: "email",
        reload: Reload::Live,
        read: |r, c, _p, v| c.notify.email = r.email(v),
    },
    KeySpec {
        name: "pushover",
        reload: Reload::Live,
        read: |r, c, _p, v| c.notify.pushover = r.pushover(v),
    },
    KeySpec {
        name: "mattermost",
        reload: Reload::Live,
        read: |r, c, _p, v| c.notify.mattermost = r.mattermost(v),
    },
    KeySpec {
        name: "signal",
        reload: Reload::Live,
        read: |r, c, _p, v| c.notify.signal = r.signal(v),
    },
    KeySpec {
        name: "notify_retries",
        reload: Reload::Live,
        read: |r, c, p, v| {
            set(
                &mut c.notify.retries,
                r.uint(p, v, 0, 100).map(|n| n as u32),
            )
        },
    },
    KeySpec {
        name: "notify_retry_base",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.notify.retry_base, r.seconds(p, v)),
    },
    KeySpec {
        name: "notify_timeout",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.notify.timeout, r.seconds(p, v)),
    },
    KeySpec {
        name: "maintenance",
        reload: Reload::Live,
        read: |r, c, _p, v| c.maintenance.extend(r.maintenance(v)),
    },
    KeySpec {
        name: "flapping",
        reload: Reload::Live,
        read: |r, c, _p, v| c.flapping = r.flapping(v),
    },
    KeySpec {
        name: "storm",
        reload: Reload::Live,
        read: |r, c, _p, v| set(&mut c.storm, r.storm(v)),
    },
    KeySpec {
        name: "remote_write",
        reload: Reload::Restart(|a, b| a.remote_write == b.remote_write),
        read: |r, c, _p, v| c.remote_write = r.remote_write(v),
    },
    KeySpec {
        name: "ha",
        reload: Reload::Restart(|a, b| a.ha == b.ha),
        read: |r, c, _p, v| c.ha = r.ha(v),
    },
    KeySpec {
        name: "groups",
        reload: Reload::Live,
        read: |r, c, _p, v| c.groups.extend(r.groups(v)),
    },
    KeySpec {
        name: "messages",
        reload: Reload::Live,
        read: |r, c, _p, v| c.notify.messages.extend(r.messages(v)),
    },
    KeySpec {
        name: "public_url",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(url) = r.string(p, v) {
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        c.public_url = Some(url.trim_end_matches('/').to_owned());
                    }
                    _ => r.error(
                        p,
                        format!("{url:?} is not an http:// or https:// URL (such as https://hbd.example.org)"),
                    ),
                }
            }
        },
    },
    KeySpec {
        name: "targets",
        reload: Reload::Live,
        read: |r, c, _p, v| c.notify.targets.extend(r.targets(v)),
    },
    KeySpec {
        name: "checks",
        reload: Reload::Live,
        read: |r, c, _p, v| c.checks.extend(r.checks(v)),
    },
    // Read by `Reader::read_into` after the file's other keys (`reader/include.rs`).
    KeySpec {
        name: "include",
        reload: Reload::Live,
        read: |_r, _c, _p, _v| {},
    },
    KeySpec {
        name: "hosts",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(map) = r.mapping(p, v) {
                for (name, entry) in map {
                    let Some(name) = r.key_name(p, name) else {
                        continue;
                    };
                    if let Err(e) = hb_proto::validate_name(&name) {
                        r.error(&["hosts", &name], e.to_string());
                        continue;
                    }
                    let host = r.host(&name, entry);
                    c.hosts.insert(name, host);
                }
            }
        },
    },
    KeySpec {
        name: "users",
        reload: Reload::Live,
        read: |r, c, p, v| {
            if let Some(map) = r.mapping(p, v) {
                for (name, entry) in map {
                    let Some(name) = r.key_name(p, name) else {
                        continue;
                    };
                    let user = r.user(&name, entry);
                    c.users.insert(name, user);
                }
            }
        },
    },
    KeySpec {
        name: "pickfile",
        reload: Reload::Live,
        read: |r, _c, p, _v| {
            r.error(
                p,
                "is replaced by state_db: hbd keeps its state in an SQLite file; \
         remove pickfile and set state_db (the old pickle is not read)",
            )
        },
    },
];

/// Every key of one entry under `hosts` (all applied at a reload).
pub(in crate::config) static HOST: &[KeySpec<HostConfig>] = &[
    KeySpec {
        name: "key",
        reload: Reload::Live,
        read: |r, c, p, v| c.key = r.secret(p, v, Reader::key),
    },
    KeySpec {
        name: "interval",
        reload: Reload::Live,
        read: |r, c, p, v| c.interval = r.seconds(p, v),
    },
    KeySpec {
        name: "grace",
        reload: Reload::Live,
        read: |r, c, p, v| c.grace = r.seconds_or_zero(p, v),
    },
    KeySpec {
        name: "owner",
        reload: Reload::Live,
        read: |r, c, p, v| c.owner = r.string(p, v),
    },
    KeySpec {
        name: "managers",
        reload: Reload::Live,
        read: |r, c, p, v| c.managers = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "monitors",
        reload: Reload::Live,
        read: |r, c, p, v| c.monitors = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "threshold_config",
        reload: Reload::Live,
        read: |r, c, p, v| c.threshold_config = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "description",
        reload: Reload::Live,
        read: |r, c, p, v| c.description = r.string(p, v),
    },
    KeySpec {
        name: "parents",
        reload: Reload::Live,
        read: |r, c, p, v| c.parents = r.string_list(p, v).unwrap_or_default(),
    },
    KeySpec {
        name: "down_after",
        reload: Reload::Live,
        read: |r, c, p, v| c.down_after = r.uint(p, v, 1, 1000).map(|n| n as u32),
    },
    KeySpec {
        name: "dyndomain",
        reload: Reload::Live,
        read: |r, c, p, v| {
            c.dyndomain = match v {
                Value::Bool(true) => Some(DynDomain::Yes),
                Value::Bool(false) => Some(DynDomain::No),
                Value::String(s) if !s.is_empty() => Some(DynDomain::Name(s.clone())),
                _ => {
                    r.error(
                        p,
                        format!(
                            "expected a zone or a name in one, or true/false, found {}",
                            kind(v)
                        ),
                    );
                    None
                }
            }
        },
    },
];

/// Every key of one entry under `users` (all applied at a reload).
pub(in crate::config) static USER: &[KeySpec<UserConfig>] = &[
    KeySpec {
        name: "password",
        reload: Reload::Live,
        read: |r, c, p, v| {
            c.password = r.secret(p, v, Reader::string);
            if let Some(hash) = &c.password
                && let Err(e) = crate::password::PasswordHash::parse(hash)
            {
                r.error(
                    p,
                    format!(
                        "{e}; make one with `hbd passwd {}`, never a plain password",
                        p[1]
                    ),
                );
            }
        },
    },
    KeySpec {
        name: "full_name",
        reload: Reload::Live,
        read: |r, c, p, v| c.full_name = r.string(p, v),
    },
    KeySpec {
        name: "avatar",
        reload: Reload::Live,
        read: |r, c, p, v| c.avatar = r.string(p, v),
    },
    KeySpec {
        name: "admin",
        reload: Reload::Live,
        read: |r, c, p, v| c.admin = r.boolean(p, v).unwrap_or(false),
    },
    KeySpec {
        name: "email",
        reload: Reload::Live,
        read: |r, c, p, v| c.email = r.string(p, v),
    },
    KeySpec {
        name: "pushover_user",
        reload: Reload::Live,
        read: |r, c, p, v| c.pushover_user = r.string(p, v),
    },
    KeySpec {
        name: "signal_number",
        reload: Reload::Live,
        read: |r, c, p, v| c.signal_number = r.string(p, v),
    },
    KeySpec {
        name: "mattermost_channel",
        reload: Reload::Live,
        read: |r, c, p, v| c.mattermost_channel = r.string(p, v),
    },
    KeySpec {
        name: "notification_channels",
        reload: Reload::Live,
        read: |r, c, p, v| {
            let list = r.string_list(p, v).unwrap_or_default();
            for ch in &list {
                if !NOTIFICATION_CHANNELS.contains(&ch.as_str()) {
                    r.error(
                        p,
                        format!(
                            "unknown channel `{ch}`; expected any of {}",
                            NOTIFICATION_CHANNELS.join(", ")
                        ),
                    );
                }
            }
            c.notification_channels = list;
        },
    },
];
