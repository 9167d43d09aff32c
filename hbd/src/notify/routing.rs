//! Who receives a notification about a host on each channel: the channel's own
//! recipients, plus every user who may view the host (owner, managers, monitors, the
//! `default_owner` for hosts nobody declared, administrators always: the same
//! [`Directory`] decision as the API's) and chose that channel in
//! `notification_channels`. Pure.

use std::collections::BTreeSet;

use crate::auth::directory::Directory;
use crate::config::{Config, UserConfig};

/// The four channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChannelKind {
    /// SMTP.
    Email,
    /// Pushover.
    Pushover,
    /// Mattermost.
    Mattermost,
    /// Signal.
    Signal,
}

impl ChannelKind {
    /// Every channel.
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Email,
        ChannelKind::Pushover,
        ChannelKind::Mattermost,
        ChannelKind::Signal,
    ];

    /// Lower-case name, as in config and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Pushover => "pushover",
            ChannelKind::Mattermost => "mattermost",
            ChannelKind::Signal => "signal",
        }
    }

    fn user_address(self, user: &UserConfig) -> Option<&String> {
        match self {
            ChannelKind::Email => user.email.as_ref(),
            ChannelKind::Pushover => user.pushover_user.as_ref(),
            ChannelKind::Mattermost => user.mattermost_channel.as_ref(),
            ChannelKind::Signal => user.signal_number.as_ref(),
        }
    }

    /// The channel's own recipients from its config section (empty for Mattermost: the
    /// webhook's channel is the default target, named by an empty address).
    pub fn base(self, config: &Config) -> Vec<String> {
        let n = &config.notify;
        match self {
            ChannelKind::Email => n.email.as_ref().map(|e| e.to.clone()).unwrap_or_default(),
            ChannelKind::Pushover => n
                .pushover
                .as_ref()
                .and_then(|p| p.user.clone())
                .into_iter()
                .collect(),
            ChannelKind::Mattermost => n
                .mattermost
                .as_ref()
                .map(|_| vec![String::new()])
                .unwrap_or_default(),
            ChannelKind::Signal => n
                .signal
                .as_ref()
                .map(|s| s.recipients.clone())
                .unwrap_or_default(),
        }
    }
}

/// Addresses on `channel` for a notification about `host`, deduplicated.
pub fn recipients(
    config: &Config,
    directory: &Directory,
    channel: ChannelKind,
    host: &str,
) -> Vec<String> {
    if !channel_configured(config, channel) {
        return Vec::new();
    }
    let mut out: BTreeSet<String> = channel.base(config).into_iter().collect();
    for user in directory.hears_about(host) {
        if user
            .notification_channels
            .iter()
            .any(|c| c == channel.as_str())
            && let Some(address) = channel.user_address(user)
        {
            out.insert(address.clone());
        }
    }
    out.into_iter().collect()
}

/// Addresses on `channel` of the named `users` who chose it (an escalation step's
/// people: only they, not the channel's own recipients), deduplicated.
pub fn users_on(
    config: &Config,
    directory: &Directory,
    channel: ChannelKind,
    users: &[String],
) -> Vec<String> {
    if !channel_configured(config, channel) {
        return Vec::new();
    }
    let mut out = BTreeSet::new();
    for name in users {
        if let Some(entry) = directory.user(name)
            && entry
                .user
                .notification_channels
                .iter()
                .any(|c| c == channel.as_str())
            && let Some(address) = channel.user_address(&entry.user)
        {
            out.insert(address.clone());
        }
    }
    out.into_iter().collect()
}

fn channel_configured(config: &Config, channel: ChannelKind) -> bool {
    let n = &config.notify;
    match channel {
        ChannelKind::Email => n.email.is_some(),
        ChannelKind::Pushover => n.pushover.is_some(),
        ChannelKind::Mattermost => n.mattermost.is_some(),
        ChannelKind::Signal => n.signal.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "
users:
  alice: {email: alice@example.org, pushover_user: ualice, notification_channels: [email, pushover]}
  bob: {email: bob@example.org, signal_number: '+4911', notification_channels: [signal]}
  carol: {email: carol@example.org, admin: true, notification_channels: [email]}
  dave: {email: dave@example.org, notification_channels: [email]}
default_owner: dave
hosts:
  web1: {owner: alice, monitors: [bob]}
email: {host: 127.0.0.1, from: hbd@example.org, to: [ops@example.org], security: none}
signal: {url: 'http://127.0.0.1:1', number: '+4900', recipients: ['+4901']}
";

    #[test]
    fn users_hear_about_their_hosts_on_their_channels() {
        let config = crate::config::parse(CONFIG, None).unwrap().config;
        let mut stored = crate::auth::directory::Stored::default();
        // erin, made through the API, monitors db9 and hears about it by email.
        let erin = UserConfig {
            email: Some("erin@example.org".into()),
            notification_channels: vec!["email".into()],
            ..UserConfig::default()
        };
        stored.users.insert("erin".into(), erin);
        let access = crate::auth::directory::AccessList {
            owner: Some("dave".into()),
            managers: vec![],
            monitors: vec!["erin".into()],
        };
        stored.access.insert("db9".into(), access);
        let directory = Directory::build(&config, &stored);
        let cases: &[(ChannelKind, &str, &[&str])] = &[
            (
                ChannelKind::Email,
                "web1",
                &["alice@example.org", "carol@example.org", "ops@example.org"],
            ),
            (ChannelKind::Signal, "web1", &["+4901", "+4911"]),
            (ChannelKind::Pushover, "web1", &[]), // no pushover section: alice's key has no channel
            // other hosts belong to the default owner
            (
                ChannelKind::Email,
                "db9",
                &[
                    "carol@example.org",
                    "dave@example.org",
                    "erin@example.org",
                    "ops@example.org",
                ],
            ),
            (
                ChannelKind::Email,
                "db10",
                &["carol@example.org", "dave@example.org", "ops@example.org"],
            ),
            (ChannelKind::Signal, "db9", &["+4901"]),
        ];
        for (channel, host, want) in cases {
            let got = recipients(&config, &directory, *channel, host);
            assert_eq!(got, *want, "{channel:?} {host}");
        }
    }
}
