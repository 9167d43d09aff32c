//! The notification channel sections of the config (`email`, `pushover`, `mattermost`,
//! `signal`): each read into its validated form, every problem reported with its line.

use std::path::PathBuf;

use serde_norway::{Mapping, Value};

use super::Reader;

impl Reader {
    /// Warns about keys of the section `name` not among `known`.
    fn known_keys(&mut self, name: &str, v: &Value, known: &[&str]) {
        if let Value::Mapping(map) = v {
            for k in map.keys().filter_map(Value::as_str) {
                if !known.contains(&k) {
                    self.unknown_key(&[name, k], known);
                }
            }
        }
    }

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

    fn text(&mut self, section: &str, map: &Mapping, key: &str) -> Option<String> {
        map.get(key).and_then(|v| self.string(&[section, key], v))
    }

    pub(super) fn url(&mut self, section: &str, map: &Mapping, key: &str) -> Option<String> {
        map.get(key).and_then(|v| self.http_url(&[section, key], v))
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

    pub(super) fn email(&mut self, v: &Value) -> Option<crate::config::EmailConfig> {
        use crate::config::Security;
        let known = [
            "host", "port", "security", "username", "password", "from", "to", "ca_file",
        ];
        self.known_keys("email", v, &known);
        let map = self.section("email", v, &["host", "from", "to"])?;
        let security = match map
            .get("security")
            .and_then(|v| self.string(&["email", "security"], v))
            .as_deref()
        {
            None | Some("starttls") => Security::Starttls,
            Some("tls") => Security::Tls,
            Some("none") => Security::None,
            Some(other) => {
                self.error(
                    &["email", "security"],
                    format!("expected starttls, tls or none, found {other:?}"),
                );
                return None;
            }
        };
        let default_port = match security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        };
        let port = match map.get("port") {
            Some(p) => self.uint(&["email", "port"], p, 1, 65535)? as u16,
            None => default_port,
        };
        let to = self.string_list(&["email", "to"], map.get("to")?)?;
        if to.is_empty() {
            self.error(&["email", "to"], "needs at least one address");
        }
        let username = self.text("email", map, "username");
        let password = self.text("email", map, "password");
        if username.is_some() != password.is_some() {
            self.error(&["email"], "username and password go together");
        }
        Some(crate::config::EmailConfig {
            host: self.text("email", map, "host")?,
            port,
            security,
            username,
            password,
            from: self.text("email", map, "from")?,
            to,
            ca_file: self.text("email", map, "ca_file").map(PathBuf::from),
        })
    }

    pub(super) fn pushover(&mut self, v: &Value) -> Option<crate::config::PushoverConfig> {
        self.known_keys("pushover", v, &["token", "user", "priority", "url"]);
        let map = self.section("pushover", v, &["token"])?;
        let priority = match map.get("priority") {
            None => 0,
            Some(p) => match p.as_i64() {
                Some(n) if (-2..=1).contains(&n) => n as i8,
                _ => {
                    self.error(&["pushover", "priority"], "expected -2, -1, 0 or 1");
                    return None;
                }
            },
        };
        let url = if map.contains_key("url") {
            self.url("pushover", map, "url")?
        } else {
            "https://api.pushover.net/1/messages.json".into()
        };
        Some(crate::config::PushoverConfig {
            token: self.text("pushover", map, "token")?,
            user: self.text("pushover", map, "user"),
            priority,
            url,
        })
    }

    pub(super) fn mattermost(&mut self, v: &Value) -> Option<crate::config::MattermostConfig> {
        self.known_keys("mattermost", v, &["webhook_url", "channel", "username"]);
        let map = self.section("mattermost", v, &["webhook_url"])?;
        Some(crate::config::MattermostConfig {
            webhook_url: self.url("mattermost", map, "webhook_url")?,
            channel: self.text("mattermost", map, "channel"),
            username: self.text("mattermost", map, "username"),
        })
    }

    pub(super) fn signal(&mut self, v: &Value) -> Option<crate::config::SignalConfig> {
        self.known_keys("signal", v, &["url", "number", "recipients"]);
        let map = self.section("signal", v, &["url", "number"])?;
        let recipients = match map.get("recipients") {
            Some(r) => self.string_list(&["signal", "recipients"], r)?,
            None => Vec::new(),
        };
        Some(crate::config::SignalConfig {
            url: self
                .url("signal", map, "url")?
                .trim_end_matches('/')
                .to_owned(),
            number: self.text("signal", map, "number")?,
            recipients,
        })
    }
}
