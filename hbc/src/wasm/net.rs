//! The network a plugin of contract 0.3.0 or later reaches through `wasi:sockets`: the
//! check the sockets call for each address, which lets a TCP connection through only
//! to a granted destination (`hb_artifact::net::check`: a granted block, or an address
//! a granted name resolves to now, and no address the agent denies), at most the
//! granted number of times per call; no listening, no UDP. Each call's connections and
//! refusals are counted, so the plugin says once per call what was refused instead of
//! flooding the log, and a call that connected leaves no socket open for the next.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use hb_artifact::net::Destination;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

/// What one call did with the network.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Used {
    /// Connections let through.
    pub connected: u32,
    /// Connections (and binds) refused.
    pub refused: u32,
    /// Why the first was refused.
    pub first_refusal: Option<String>,
}

/// One plugin's grants and this call's count; shared by its instances.
#[derive(Debug, Clone)]
pub struct NetGate(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    grants: Vec<Destination>,
    deny: Vec<Destination>,
    connections: u32,
    used: Mutex<Used>,
}

impl NetGate {
    /// A gate letting through `grants`, never `deny`, `connections` per call.
    pub fn new(grants: Vec<Destination>, deny: Vec<Destination>, connections: u32) -> NetGate {
        NetGate(Arc::new(Inner {
            grants,
            deny,
            connections,
            used: Mutex::new(Used::default()),
        }))
    }

    /// Turns TCP and name lookups on in `wasi`, every address checked here.
    pub fn install(&self, wasi: &mut WasiCtxBuilder) {
        let gate = self.clone();
        wasi.allow_tcp(true)
            .allow_udp(false)
            .allow_ip_name_lookup(true)
            .socket_addr_check(move |addr, use_| {
                // Decided now (a lookup of a granted name blocks this call's thread
                // briefly, as the plugin's own lookup did); the future only carries it.
                let allowed = gate.decide(addr, use_);
                Box::pin(async move { allowed })
            });
    }

    /// What this call did, and a fresh count for the next.
    pub fn take(&self) -> Used {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Used> {
        // A poisoned lock: a check panicked; the count itself is whole.
        self.0
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection the agent makes for the plugin (`tls-certificates`): checked and
    /// counted as one of its own; why not, when not.
    pub fn admit(&self, addr: SocketAddr) -> Result<(), String> {
        self.verdict(addr, SocketAddrUse::TcpConnect)
    }

    fn decide(&self, addr: SocketAddr, use_: SocketAddrUse) -> bool {
        self.verdict(addr, use_).is_ok()
    }

    fn verdict(&self, addr: SocketAddr, use_: SocketAddrUse) -> Result<(), String> {
        let verdict = match use_ {
            // Before a connection the sockets ask to bind to any address, port 0: the
            // system picks the local end. Nothing else may be bound.
            SocketAddrUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => {
                return Ok(());
            }
            SocketAddrUse::TcpConnect => self.connect(addr),
            SocketAddrUse::TcpBind | SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
                Err(format!("{addr}: listening is not allowed"))
            }
            _ => Err(format!("{addr}: UDP is not allowed")),
        };
        let mut used = self.lock();
        match &verdict {
            Ok(()) => used.connected += 1,
            Err(why) => {
                used.refused += 1;
                used.first_refusal.get_or_insert_with(|| why.clone());
            }
        }
        verdict
    }

    fn connect(&self, addr: SocketAddr) -> Result<(), String> {
        let inner = &self.0;
        if self.lock().connected >= inner.connections {
            return Err(format!(
                "{addr}: more than {} connections in one call",
                inner.connections
            ));
        }
        hb_artifact::net::check(addr, &inner.grants, &inner.deny, &mut resolve)
    }
}

/// The addresses `name` has now, by the system's resolver; none when it has none.
fn resolve(name: &str) -> Vec<IpAddr> {
    (name, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Destination {
        text.parse().unwrap()
    }

    #[test]
    fn each_call_counts_what_it_connected_and_what_was_refused() {
        let gate = NetGate::new(
            vec![d("127.0.0.1:8080"), d("localhost:9090")],
            vec![d("127.0.0.9:*")],
            2,
        );
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        // (address, use, let through)
        let cases = [
            ("127.0.0.1:8080", SocketAddrUse::TcpConnect, true),
            ("127.0.0.1:8081", SocketAddrUse::TcpConnect, false),
            ("127.0.0.1:9090", SocketAddrUse::TcpConnect, true),
            ("127.0.0.1:8080", SocketAddrUse::TcpConnect, false),
            ("0.0.0.0:0", SocketAddrUse::TcpBind, true),
            ("[::]:0", SocketAddrUse::TcpBind, true),
            ("127.0.0.1:8080", SocketAddrUse::TcpBind, false),
            ("0.0.0.0:0", SocketAddrUse::TcpListen, false),
            ("127.0.0.1:8080", SocketAddrUse::UdpSend, false),
        ];
        for (addr, use_, through) in cases {
            assert_eq!(gate.decide(at(addr), use_), through, "{addr} {use_:?}");
        }
        let used = gate.take();
        assert_eq!((used.connected, used.refused), (2, 5));
        assert_eq!(
            used.first_refusal.as_deref(),
            Some("127.0.0.1:8081 is covered by no grant")
        );
        assert_eq!(gate.take(), Used::default(), "a fresh count");
        assert!(
            gate.decide(at("127.0.0.1:8080"), SocketAddrUse::TcpConnect),
            "the next call has its own budget"
        );
    }
}
