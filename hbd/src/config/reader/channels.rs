//! The notification channel sections of the config (`email`, `pushover`, `mattermost`,
//! `signal`): each read into its validated form, every problem reported with its line.

use std::path::PathBuf;

use serde_norway::{Mapping, Value};

use hb_problems::keys::{Reload, read_map};

use super::keys::KeySpec;
use super::{Reader, set};
use crate::config::{EmailConfig, MattermostConfig, PushoverConfig, Security, SignalConfig};

/// `email` as read, before its defaults and checks across keys.
#[derive(Debug, Default)]
pub(in crate::config) struct EmailDraft {
    host: Option<String>,
    port: Option<u16>,
    security: Option<Security>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
    to: Option<Vec<String>>,
    ca_file: Option<PathBuf>,
}

/// Keys of `email`; a reload puts each in force (the notifier is made anew).
pub(in crate::config) static EMAIL: &[KeySpec<EmailDraft>] = &[
    KeySpec {
        name: "host",
        reload: Reload::Live,
        read: |r, e, p, v| e.host = r.string(p, v),
    },
    KeySpec {
        name: "port",
        reload: Reload::Live,
        read: |r, e, p, v| e.port = r.uint(p, v, 1, 65535).map(|n| n as u16),
    },
    KeySpec {
        name: "security",
        reload: Reload::Live,
        read: |r, e, p, v| {
            e.security = match r.string(p, v).as_deref() {
                Some("starttls") => Some(Security::Starttls),
                Some("tls") => Some(Security::Tls),
                Some("none") => Some(Security::None),
                Some(other) => {
                    r.error(
                        p,
                        format!("expected starttls, tls or none, found {other:?}"),
                    );
                    None
                }
                None => None,
            }
        },
    },
    KeySpec {
        name: "username",
        reload: Reload::Live,
        read: |r, e, p, v| e.username = r.string(p, v),
    },
    KeySpec {
        name: "password",
        reload: Reload::Live,
        read: |r, e, p, v| e.password = r.secret(p, v, Reader::string),
    },
    KeySpec {
        name: "from",
        reload: Reload::Live,
        read: |r, e, p, v| e.from = r.string(p, v),
    },
    KeySpec {
        name: "to",
        reload: Reload::Live,
        read: |r, e, p, v| {
            e.to = r.string_list(p, v);
            if e.to.as_ref().is_some_and(Vec::is_empty) {
                r.error(p, "needs at least one address");
            }
        },
    },
    KeySpec {
        name: "ca_file",
        reload: Reload::Live,
        read: |r, e, p, v| e.ca_file = r.string(p, v).map(PathBuf::from),
    },
];

/// Keys of `pushover`.
pub(in crate::config) static PUSHOVER: &[KeySpec<PushoverConfig>] = &[
    KeySpec {
        name: "token",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.token, r.secret(p, v, Reader::string)),
    },
    KeySpec {
        name: "user",
        reload: Reload::Live,
        read: |r, c, p, v| c.user = r.secret(p, v, Reader::string),
    },
    KeySpec {
        name: "priority",
        reload: Reload::Live,
        read: |r, c, p, v| match v.as_i64() {
            Some(n) if (-2..=1).contains(&n) => c.priority = n as i8,
            _ => r.error(p, "expected -2, -1, 0 or 1"),
        },
    },
    KeySpec {
        name: "url",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.url, r.http_url(p, v)),
    },
];

/// Keys of `mattermost`.
pub(in crate::config) static MATTERMOST: &[KeySpec<MattermostConfig>] = &[
    KeySpec {
        name: "webhook_url",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.webhook_url, r.secret(p, v, Reader::http_url)),
    },
    KeySpec {
        name: "channel",
        reload: Reload::Live,
        read: |r, c, p, v| c.channel = r.string(p, v),
    },
    KeySpec {
        name: "username",
        reload: Reload::Live,
        read: |r, c, p, v| c.username = r.string(p, v),
    },
];

/// Keys of `signal` (signal-cli-rest-api).
pub(in crate::config) static SIGNAL: &[KeySpec<SignalConfig>] = &[
    KeySpec {
        name: "url",
        reload: Reload::Live,
        read: |r, c, p, v| {
            set(
                &mut c.url,
                r.http_url(p, v).map(|u| u.trim_end_matches('/').to_owned()),
            )
        },
    },
    KeySpec {
        name: "number",
        reload: Reload::Live,
        read: |r, c, p, v| set(&mut c.number, r.string(p, v)),
    },
    KeySpec {
        name: "recipients",
        reload: Reload::Live,
        read: |r, c, p, v| c.recipients = r.string_list(p, v).unwrap_or_default(),
    },
];

impl Reader {
    /// The mapping of the section `name`, when it has every `required` key (each one
    /// missing is an error); its keys are read through its table.
    pub(super) fn section<'v>(
        &mut self,
        name: &str,
        v: &'v Value,
        required: &[&str],
    ) -> Option<&'v Mapping> {
        let map = self.mapping(&[name], v)?;
        let mut ok = true;
        for r in required {
            if !map.contains_key(*r) {
                self.error(&[name], format!("needs `{r}`"));
                ok = false;
            }
        }
        ok.then_some(map)
    }

    /// An `http://` or `https://` URL.
    pub(super) fn http_url(&mut self, path: &[&str], v: &Value) -> Option<String> {
        let url = self.string(path, v)?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.error(
                path,
                format!("expected an http:// or https:// URL, found {url:?}"),
            );
            return None;
        }
        Some(url)
    }

    pub(super) fn email(&mut self, v: &Value) -> Option<EmailConfig> {
        let map = self.section("email", v, &["host", "from", "to"])?;
        let mut e = EmailDraft::default();
        if !read_map(self, EMAIL, &mut e, &["email"], map) {
            return None;
        }
        if e.username.is_some() != e.password.is_some() {
            self.error(&["email"], "username and password go together");
        }
        let security = e.security.unwrap_or(Security::Starttls);
        let default_port = match security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        };
        Some(EmailConfig {
            host: e.host?,
            port: e.port.unwrap_or(default_port),
            security,
            username: e.username,
            password: e.password,
            from: e.from?,
            to: e.to?,
            ca_file: e.ca_file,
        })
    }

    pub(super) fn pushover(&mut self, v: &Value) -> Option<PushoverConfig> {
        let map = self.section("pushover", v, &["token"])?;
        let mut c = PushoverConfig {
            token: String::new(),
            user: None,
            priority: 0,
            url: "https://api.pushover.net/1/messages.json".into(),
        };
        read_map(self, PUSHOVER, &mut c, &["pushover"], map).then_some(c)
    }

    pub(super) fn mattermost(&mut self, v: &Value) -> Option<MattermostConfig> {
        let map = self.section("mattermost", v, &["webhook_url"])?;
        let mut c = MattermostConfig {
            webhook_url: String::new(),
            channel: None,
            username: None,
        };
        read_map(self, MATTERMOST, &mut c, &["mattermost"], map).then_some(c)
    }

    pub(super) fn signal(&mut self, v: &Value) -> Option<SignalConfig> {
        let map = self.section("signal", v, &["url", "number"])?;
        let mut c = SignalConfig {
            url: String::new(),
            number: String::new(),
            recipients: Vec::new(),
        };
        read_map(self, SIGNAL, &mut c, &["signal"], map).then_some(c)
    }
}
