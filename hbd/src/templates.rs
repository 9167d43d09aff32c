//! The page templates: embedded in the binary (`templates/*.hbs` at the top of the workspace), and, with
//! `templates_dir`, the same names read from that directory instead, again on every
//! request, so an operator's edit shows without a restart.

use std::path::Path;
use std::sync::Arc;

use handlebars::{DirectorySourceOptions, Handlebars};
use serde::Serialize;

/// The embedded templates.
#[derive(rust_embed::RustEmbed)]
#[folder = "../templates/"]
struct Embedded;

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template does not parse.
    #[error("template: {0}")]
    Parse(String),
    /// Rendering failed (a missing value in strict mode).
    #[error("rendering {name}: {message}")]
    Render {
        /// The template.
        name: String,
        /// Why.
        message: String,
    },
}

/// The registry in force.
#[derive(Debug, Clone)]
pub struct Templates {
    registry: Arc<Handlebars<'static>>,
}

impl Templates {
    /// The embedded templates, overridden by those in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        // Before registering, or the sources are not kept for reloading.
        hb.set_dev_mode(dir.is_some());
        hb.register_embed_templates_with_extension::<Embedded>(".hbs")
            .map_err(|e| TemplateError::Parse(e.to_string()))?;
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            hb.register_templates_directory(dir, DirectorySourceOptions::default())
                .map_err(|e| TemplateError::Parse(e.to_string()))?;
        }
        Ok(Templates {
            registry: Arc::new(hb),
        })
    }

    /// Renders page `name` with `data` (escaping every value as HTML).
    pub fn render(&self, name: &str, data: &impl Serialize) -> Result<String, TemplateError> {
        self.registry
            .render(name, data)
            .map_err(|e| TemplateError::Render {
                name: name.to_owned(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_render_escaped_and_an_override_wins_at_once() {
        let t = Templates::load(None).unwrap();
        let data = serde_json::json!({
            "csrf": "t", "error": "<b>x</b>", "next": "/live", "username": "",
            "passwords": true, "sso": "<i>Our ID</i>", "sso_next": "/live",
        });
        let html = t.render("login", &data).unwrap();
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "escaped");
        assert!(
            html.contains("&lt;i&gt;Our ID&lt;/i&gt;"),
            "the button's label escaped"
        );
        assert!(html.contains("id=\"password\""), "the password form");
        assert!(!html.contains("<script>"), "no inline script");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("login.hbs"), "custom {{csrf}}").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let data = serde_json::json!({"csrf": "t1"});
        assert_eq!(t.render("login", &data).unwrap(), "custom t1");
        std::fs::write(dir.path().join("login.hbs"), "edited {{csrf}}").unwrap();
        assert_eq!(t.render("login", &data).unwrap(), "edited t1", "no restart");
    }
}
