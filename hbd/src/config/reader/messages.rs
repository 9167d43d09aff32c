//! The `messages` section and `templates_dir/messages/`: the operator's message
//! templates (`KIND.PART` or `CHANNEL/KIND.PART` -> Handlebars source), each rendered
//! against a sample of its kind as it is read, so a template that does not render is a
//! config error with its key (or file) and line, and a reload refuses it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_norway::Value;

use super::Reader;
use crate::config::Config;
use crate::messages::{MessageError, Messages, channel_of};

/// The channels a `CHANNEL/` prefix may name besides the targets.
const CHANNELS: &[&str] = &["email", "pushover", "mattermost", "signal"];

impl Reader {
    /// `messages:` as a mapping of template name to source.
    pub(super) fn messages(&mut self, v: &Value) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(map) = v.as_mapping() else {
            self.error(
                &["messages"],
                "expected a mapping of template names (problem.body, email/down.subject, ...) to templates",
            );
            return out;
        };
        for (k, v) in map {
            let Some(name) = self.key_name(&["messages"], k) else {
                continue;
            };
            let Some(source) = self.string(&["messages", &name], v) else {
                continue;
            };
            let one = BTreeMap::from([(name.clone(), source.clone())]);
            match Messages::new(&one) {
                Ok(_) => {
                    out.insert(name, source);
                }
                Err(e) => self.error(&["messages", &name], explain(&e)),
            }
        }
        out
    }

    /// After the whole file: adds the templates `templates_dir/messages/` holds (the
    /// config's own win) and checks that each `CHANNEL/` names a channel or target.
    pub(super) fn check_messages(&mut self, config: &mut Config) {
        if let Some(dir) = config.templates_dir.clone() {
            for (name, file) in template_files(&dir.join("messages")) {
                if config.notify.messages.contains_key(&name) {
                    continue;
                }
                let source = match std::fs::read_to_string(&file) {
                    Ok(s) => s,
                    Err(e) => {
                        self.error(
                            &["templates_dir"],
                            format!("cannot read {}: {e}", file.display()),
                        );
                        continue;
                    }
                };
                let one = BTreeMap::from([(name.clone(), source.clone())]);
                match Messages::new(&one) {
                    Ok(_) => {
                        config.notify.messages.insert(name, source);
                    }
                    Err(e) => self.error(
                        &["templates_dir"],
                        format!("{}: {}", file.display(), explain(&e)),
                    ),
                }
            }
        }
        let names: Vec<String> = config.notify.messages.keys().cloned().collect();
        for name in names {
            if let Some(channel) = channel_of(&name)
                && !CHANNELS.contains(&channel)
                && !config.notify.targets.iter().any(|t| t.name == channel)
            {
                let channel = channel.to_owned();
                self.warn(
                    &["messages", &name],
                    format!(
                        "`{channel}` is neither a channel ({}) nor a target: this template is never used",
                        CHANNELS.join(", ")
                    ),
                );
            }
        }
    }
}

/// What is wrong, with the template's own line when the error names one.
fn explain(e: &MessageError) -> String {
    match e {
        MessageError::Name { .. } => e.to_string(),
        MessageError::Template { line, message, .. } => match line {
            Some(line) => format!("line {line} of the template: {message}"),
            None => format!("the template: {message}"),
        },
    }
}

/// `NAME.hbs` and `CHANNEL/NAME.hbs` under `dir`, as (template name, file).
fn template_files(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()).map(str::to_owned) else {
            continue;
        };
        if path.is_dir() {
            if let Ok(inner) = std::fs::read_dir(&path) {
                for e in inner.flatten() {
                    let p = e.path();
                    if let Some(name) = p
                        .file_name()
                        .and_then(|f| f.to_str())
                        .and_then(|f| f.strip_suffix(".hbs"))
                    {
                        out.push((format!("{file}/{name}"), p.clone()));
                    }
                }
            }
        } else if let Some(name) = file.strip_suffix(".hbs") {
            out.push((name.to_owned(), path.clone()));
        }
    }
    out.sort();
    out
}
