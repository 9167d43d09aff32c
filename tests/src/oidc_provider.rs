//! npm's certified `oidc-provider` as the OpenID Provider single sign-on is tested
//! against (`tests/services/oidc_provider.mjs`), on a free loopback port, stopped when
//! dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::services::{Process, services_dir};

/// The provider, with one client, `hbd`, that may send browsers back to `redirect`.
pub struct OidcProvider {
    /// Its issuer (`http://localhost:PORT`: another site than hbd's 127.0.0.1, as a
    /// real provider is; it listens on 127.0.0.1).
    pub issuer: String,
    _process: Process,
}

impl OidcProvider {
    /// Starts the provider; `secret` is the client's.
    pub fn start(dir: &Path, redirect: &str, secret: &str) -> OidcProvider {
        let npm = crate::needs::npm().join("node_modules");
        let log = dir.join("oidc-provider.log");
        let mut child = Command::new("node")
            .arg(services_dir().join("oidc_provider.mjs"))
            .args([redirect, secret])
            .env("OIDC_PROVIDER", npm.join("oidc-provider/lib/index.js"))
            .env("JOSE", npm.join("jose/dist/webapi/index.js"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("node; run scripts/install-deps.sh");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let process = Process(child);
        let said: serde_json::Value = serde_json::from_str(&first).unwrap_or_else(|_| {
            panic!(
                "the provider did not start: {first:?}; {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        std::thread::spawn(move || for _ in lines {});
        OidcProvider {
            issuer: said["issuer"].as_str().unwrap().to_owned(),
            _process: process,
        }
    }

    /// Spoils the next token response, once (`tamper`, `audience`, `expired`).
    pub fn spoil(&self, how: &str) {
        let addr: SocketAddr = self
            .issuer
            .replace("http://localhost:", "127.0.0.1:")
            .parse()
            .unwrap();
        let (status, body) = crate::http(addr, "POST", &format!("/_test/spoil?how={how}"))
            .expect("the provider answers");
        assert_eq!(status, 200, "{body}");
    }
}
