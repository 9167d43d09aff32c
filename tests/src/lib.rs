//! Harness for end-to-end tests: starts the real `hbd` and `hbc` binaries in a temp dir
//! on loopback, talks to them over UDP and HTTP, and waits with bounded polls.
//!
//! The binaries are the ones cargo built next to the test executable
//! (`target/<profile>/hbd`); `cargo test --workspace` builds them first. [`services`]
//! starts the stand-in SMTP and HTTP services notification tests talk to; [`needs`] is
//! what a test needs beyond Rust, and what happens when it is missing; [`browser`] runs
//! the pages' scripts in Chromium; [`ws`] reads the live stream; [`oidc_provider`] is
//! the OpenID Provider single sign-on is tested against.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test harness: a failure is a test failure

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub mod browser;
pub mod docs;
pub mod needs;
pub mod oidc_provider;
pub mod services;
pub mod ws;

pub use browser::browser;
pub use ws::{Heard, ws_hear, ws_next};

/// Thresholds on `cpu_monitor.cpu_percent` (WARNING 80, CRITICAL 90) that the alerting
/// tests drive with hand-made reports.
pub const CPU_THRESHOLDS: &str =
    "thresholds:\n  cpu_monitor:\n    cpu_percent: {warning: 80, critical: 90}\n";

/// Where [`bin`] finds binaries when set (a benchmark binary beside them).
static BIN_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes [`bin`] take binaries from `dir` (a benchmark run from `target/release`).
pub fn set_bin_dir(dir: PathBuf) {
    let _ = BIN_DIR.set(dir);
}

/// Path of a workspace binary built by cargo.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/test-xxxx -> target/<profile>/<name>
    let dir = match BIN_DIR.get() {
        Some(dir) => dir.clone(),
        None => exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_owned(),
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built; run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// A WebAssembly plugin built by scripts/build-plugins.sh
/// (`target/wasm32-wasip2/release/NAME.wasm`).
pub fn wasm_plugin(name: &str) -> PathBuf {
    needs::built_wasm(name).unwrap_or_else(|| {
        panic!("{name}.wasm not built; run scripts/build-plugins.sh (or scripts/test.sh)")
    })
}

/// A free UDP port on 127.0.0.1 (released before returning). Only for a test that needs
/// a port nobody listens on yet (an agent started before its daemon); daemons bind
/// port 0 and say which port they got.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` every 50 ms until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Spawns `cmd` with stderr appended to `log` by a thread.
fn spawn_logged(mut cmd: Command, log: &Path) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let stderr = child.stderr.take().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(file, "{line}");
        }
    });
    child
}

/// A running `hbd -f` with its own directory, ports and config.
pub struct Daemon {
    /// The daemon's directory (config, state, journal, log).
    pub dir: PathBuf,
    /// Heartbeat port.
    pub udp_port: u16,
    /// HTTP port.
    pub http_port: u16,
    extra: String,
    child: Option<Child>,
}

impl Daemon {
    /// Starts a daemon in `dir` with `extra` YAML appended to the base config. It binds
    /// port 0 for UDP and HTTP and the harness reads the ports it got from its log, so
    /// parallel tests never race for a port.
    pub fn start(dir: &Path, extra: &str) -> Daemon {
        Daemon::start_on(dir, extra, 0)
    }

    /// As [`Daemon::start`], on a heartbeat port chosen by the caller.
    pub fn start_on(dir: &Path, extra: &str, udp_port: u16) -> Daemon {
        let mut d = Daemon {
            dir: dir.to_owned(),
            udp_port,
            http_port: 0,
            extra: extra.to_owned(),
            child: None,
        };
        d.launch();
        d
    }

    /// Path of the config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("hbd.yaml")
    }

    /// The daemon's heartbeat address.
    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.udp_port))
    }

    fn launch(&mut self) {
        // Loopback unless the test binds the heartbeat socket itself.
        let hb_host = if self.extra.contains("hb_host:") {
            ""
        } else {
            "hb_host: 127.0.0.1\n"
        };
        let config = format!(
            "{hb_host}hb_port: {}\nhbd_host: 127.0.0.1\nhbd_port: {}\n\
             state_db: {}\njournal_dir: {}\n{}\n",
            self.udp_port,
            self.http_port,
            self.dir.join("state.db").display(),
            self.dir.join("journal").display(),
            self.extra
        );
        std::fs::write(self.config_path(), config).unwrap();
        let mut cmd = Command::new(bin("hbd"));
        cmd.arg("-f")
            .arg("-c")
            .arg(self.config_path())
            .env("RUST_LOG", "hbd=debug");
        let log_len = self.log().len();
        self.child = Some(spawn_logged(cmd, &self.dir.join("hbd.log")));
        // `hbd listening udp=ADDR http=ADDR`: the ports it bound (0 in the config means
        // any free one); a restart keeps them, as agents keep sending there.
        let mut ports = None;
        let listening = wait_until(Duration::from_secs(10), || {
            ports = listening_ports(&self.log()[log_len..]);
            ports.is_some()
        });
        assert!(listening, "hbd did not come up; log:\n{}", self.log());
        (self.udp_port, self.http_port) = ports.unwrap();
        // Over TLS the harness's plain client gets no answer: a connection is enough.
        let tls = self.extra.contains("hbd_tls: true");
        let ready = wait_until(Duration::from_secs(10), || {
            if tls {
                TcpStream::connect(self.http_addr()).is_ok()
            } else {
                self.get("/api/0/hosts").is_some()
            }
        });
        assert!(ready, "hbd did not answer; log:\n{}", self.log());
    }

    /// Sends SIGHUP (reload) and waits until the log says how it went: `Ok` for
    /// "configuration reloaded", `Err(log)` for "reload failed".
    pub fn reload(&self) -> Result<(), String> {
        let before = self.log().len();
        self.signal(Signal::SIGHUP);
        let mut outcome = None;
        let done = wait_until(Duration::from_secs(10), || {
            let log = self.log();
            let new = &log[before.min(log.len())..];
            if new.contains("configuration reloaded") {
                outcome = Some(Ok(()));
            } else if new.contains("reload failed") {
                outcome = Some(Err(new.to_owned()));
            }
            outcome.is_some()
        });
        assert!(done, "no reload outcome in the log:\n{}", self.log());
        outcome.unwrap()
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        }
    }

    /// Starts it again after [`Daemon::stop`] (same directory, config and ports).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.launch();
    }

    /// Stops with SIGTERM and starts again with the same config and ports.
    pub fn restart(&mut self) {
        let (status, _) = self.stop(Signal::SIGTERM);
        assert!(status.success(), "hbd exited with {status}");
        self.launch();
    }

    /// Sends `signal` and waits for exit; returns the status and how long it took.
    pub fn stop(&mut self, signal: Signal) -> (ExitStatus, Duration) {
        let mut child = self.child.take().expect("running");
        let started = Instant::now();
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                panic!("hbd did not exit within 15 s of {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("hbd.log")).unwrap_or_default()
    }

    /// `GET path`: (status, body), or `None` if nothing answers.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(SocketAddr::from(([127, 0, 0, 1], self.http_port)), path)
    }

    /// `METHOD path` with no body: (status, body), or `None` if nothing answers.
    pub fn request(&self, method: &str, path: &str) -> Option<(u16, String)> {
        http(
            SocketAddr::from(([127, 0, 0, 1], self.http_port)),
            method,
            path,
        )
    }

    /// An address from the last `hbd listening` log line (`key` is `ws=`, `wss=`, ...).
    pub fn listening(&self, key: &str) -> Option<SocketAddr> {
        let log = self.log();
        let line = log.lines().rev().find(|l| l.contains("hbd listening"))?;
        let rest = &line[line.find(key)? + key.len()..];
        rest.split_whitespace().next()?.parse().ok()
    }

    /// The daemon's HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    /// `METHOD path` with extra headers and an optional JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        http_try(self.http_addr(), method, path, headers, body)
            .unwrap_or_else(|why| panic!("no answer to {method} {path}: {why}"))
    }

    /// Signs in and returns the session token.
    pub fn login(&self, user: &str, password: &str) -> String {
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        let reply = self.call("POST", "/api/0/auth/login", &[], Some(&body));
        assert_eq!(reply.status, 200, "login {user}: {}", reply.body);
        reply.json()["token"].as_str().unwrap().to_owned()
    }

    /// Sends, unsigned, a heartbeat of `host` (interval 60 s) and a `cpu_monitor` report
    /// with `cpu_percent`.
    pub fn heartbeat_and_cpu(&self, host: &str, cpu_percent: f64) {
        send_datagram(
            self.udp_addr(),
            format!(r#"{{"ID":"HTB","name":"{host}","interval":60}}"#).as_bytes(),
        );
        send_datagram(
            self.udp_addr(),
            format!(
                r#"{{"ID":"PLG","name":"{host}","plugin":"cpu_monitor","kind":"monitor","data":{{"cpu_percent":{cpu_percent}}}}}"#
            )
            .as_bytes(),
        );
    }

    /// The journal's messages with this `ID` (`ALERT`, `EVENT`, ...), oldest first
    /// (the current file only).
    pub fn journal(&self, id: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("journal/hbd_journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|e| e["message"].clone())
            .filter(|m| m["ID"] == id)
            .collect()
    }

    /// `GET path` as JSON, asserting status 200.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).expect("http answer");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The host's JSON, if the daemon knows it.
    pub fn host(&self, name: &str) -> Option<serde_json::Value> {
        let (status, body) = self.get(&format!("/api/0/hosts/{name}"))?;
        (status == 200).then(|| serde_json::from_str(&body).unwrap())
    }

    /// The newest report of `host`'s `plugin`, waited for up to `within`; panics when
    /// none came.
    pub fn latest_sample(&self, host: &str, plugin: &str, within: Duration) -> serde_json::Value {
        let mut sample = serde_json::Value::Null;
        let path = format!("/api/0/hosts/{host}/plugins/{plugin}?limit=1");
        let reported = wait_until(within, || {
            let Some((200, body)) = self.get(&path) else {
                return false;
            };
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            sample = answer["samples"][0].clone();
            sample["data"].is_object()
        });
        assert!(reported, "no {plugin} report from {host} within {within:?}");
        sample
    }

    /// The host's state (`UP`, `DOWN`, ...), if known.
    pub fn host_state(&self, name: &str) -> Option<String> {
        self.host(name)
            .and_then(|h| h["state"].as_str().map(str::to_owned))
    }

    /// Value of one sample in `/metrics`, e.g. `hbd_datagrams_rejected_total{reason="bomb"}`.
    pub fn metric(&self, series: &str) -> f64 {
        let (_, body) = self.get("/metrics").expect("metrics");
        metric_value(&body, series).unwrap_or(0.0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the `hbd` at `program` (a release build, for the benchmarks) on `config`, a
/// config that binds port 0, with its log in `log` (warnings, and the daemon's own
/// start and stop), and waits for its `hbd listening` line: the running daemon and the
/// (UDP, HTTP) ports it bound. Stop it with [`terminate`].
pub fn spawn_hbd(program: &Path, config: &Path, log: &Path) -> (Child, (u16, u16)) {
    let daemon = Command::new(program)
        .args(["-f", "-c"])
        .arg(config)
        .env("RUST_LOG", "warn,hbd::app=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("create the daemon's log"))
        .spawn()
        .expect("start hbd");
    let mut ports = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            ports = listening_ports(&std::fs::read_to_string(log).unwrap_or_default());
            ports.is_some()
        }),
        "hbd did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    // Invariant: the wait above ended with the ports found.
    (daemon, ports.unwrap_or_default())
}

/// Stops a daemon as an operator would (SIGTERM) and waits for it to exit.
pub fn terminate(daemon: &mut Child) {
    let _ = kill(Pid::from_raw(daemon.id() as i32), Signal::SIGTERM);
    let _ = daemon.wait();
}

/// The ports of the last `hbd listening udp=... http=...` line of a log.
pub fn listening_ports(log: &str) -> Option<(u16, u16)> {
    let line = log.lines().rev().find(|l| l.contains("hbd listening"))?;
    let port = |key: &str| -> Option<u16> {
        let rest = &line[line.find(key)? + key.len()..];
        let addr: SocketAddr = rest.split_whitespace().next()?.parse().ok()?;
        Some(addr.port())
    };
    Some((port("udp=")?, port("http=")?))
}

/// Reads one sample from Prometheus text.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

/// A minimal HTTP/1.0 GET (no chunking from the server for 1.0 clients).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    http(addr, "GET", path)
}

/// A minimal HTTP/1.0 request without a body.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> Option<(u16, String)> {
    let reply = http_with(addr, method, path, &[], None)?;
    Some((reply.status, reply.body))
}

/// An HTTP answer with its headers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A minimal HTTP/1.0 request with extra headers and an optional JSON body; `None` when
/// it got no answer ([`http_try`] says why).
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Option<Reply> {
    http_try(addr, method, path, headers, body).ok()
}

/// As [`http_with`], with the reason a request got no answer: connecting, sending,
/// reading, or an answer that is not HTTP.
pub fn http_try(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Reply, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| format!("cannot set a read timeout: {e}"))?;
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nContent-Length: {}\r\n",
        body.len()
    );
    // The caller's own `Host`, if it gives one, instead of the address.
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    let typed = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if !body.is_empty() && !typed {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").map_err(|e| format!("cannot send: {e}"))?;
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .map_err(|e| format!("no whole answer within 10 s: {e} (read so far: {raw:?})"))?;
    let not_http = || format!("not an HTTP answer: {raw:?}");
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(not_http)?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(not_http)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// A password hash made by `hbd passwd` at a low cost (1,000 PBKDF2 iterations), for
/// test configs.
pub fn password_hash(password: &str) -> String {
    password_hash_by(&bin("hbd"), password)
}

/// As [`password_hash`], made by the `hbd` binary at `hbd`.
pub fn password_hash_by(hbd: &Path, password: &str) -> String {
    let mut child = Command::new(hbd)
        .args(["passwd", "test", "--iterations", "1000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    write!(stdin, "{password}\n{password}\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "hbd passwd failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A running `hbc`.
pub struct Agent {
    child: Option<Child>,
    log: PathBuf,
}

impl Agent {
    /// Starts `hbc -v -c DIR/NAME.yaml 127.0.0.1:PORT` with `yaml` as its config.
    pub fn start(dir: &Path, name: &str, server: SocketAddr, yaml: &str) -> Agent {
        Agent::start_binary(&bin("hbc"), dir, name, server, yaml)
    }

    /// As [`Agent::start`], running the agent binary at `binary`.
    pub fn start_binary(
        binary: &Path,
        dir: &Path,
        name: &str,
        server: SocketAddr,
        yaml: &str,
    ) -> Agent {
        Agent::start_via(Command::new(binary), dir, name, server, yaml)
    }

    /// As [`Agent::start`], through `cmd` (the agent binary, or an emulator with the
    /// binary as its argument), to which the agent's own arguments are added.
    pub fn start_via(
        mut cmd: Command,
        dir: &Path,
        name: &str,
        server: SocketAddr,
        yaml: &str,
    ) -> Agent {
        let config = dir.join(format!("{name}.yaml"));
        std::fs::write(&config, format!("name: {name}\n{yaml}\n")).unwrap();
        let log = dir.join(format!("{name}.log"));
        cmd.arg("-v").arg("-c").arg(&config).arg(server.to_string());
        let child = spawn_logged(cmd, &log);
        Agent {
            child: Some(child),
            log,
        }
    }

    /// Starts `hbc -v -c DIR/NAME.yaml` sending every datagram to each of `servers`
    /// (`servers:` in its config, as for an HA pair).
    pub fn start_to_all(dir: &Path, name: &str, servers: &[SocketAddr], yaml: &str) -> Agent {
        let config = dir.join(format!("{name}.yaml"));
        let list: Vec<String> = servers.iter().map(|s| format!("'{s}'")).collect();
        std::fs::write(
            &config,
            format!("name: {name}\nservers: [{}]\n{yaml}\n", list.join(", ")),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(bin("hbc"));
        cmd.arg("-v").arg("-c").arg(&config);
        Agent {
            child: Some(spawn_logged(cmd, &log)),
            log,
        }
    }

    /// Sends a signal to the agent.
    pub fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        }
    }

    /// The agent's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the agent process is still running (not exited).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the agent at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends one datagram from a fresh socket.
pub fn send_datagram(to: SocketAddr, bytes: &[u8]) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(bytes, to).unwrap();
}

/// A heartbeat's JSON as the benchmarks send it (`hb-load`, hbd's `heartbeat` bench): host
/// `name`'s number `seq`, with the replay fields `(ts, run)` when it is to be signed.
pub fn bench_heartbeat(name: &str, seq: u64, replay: Option<(f64, u64)>) -> String {
    match replay {
        None => format!(
            r#"{{"ID":"HTB","name":"{name}","interval":3600,"seq":{seq},"version":"load"}}"#
        ),
        Some((ts, run)) => format!(
            r#"{{"ID":"HTB","name":"{name}","ts":{ts},"run":{run},"seq":{seq},"interval":3600,"version":"load"}}"#
        ),
    }
}

/// Unix time now, in seconds.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// What `promtool check metrics` (Debian `prometheus`) says about an exposition text:
/// its exit status and its findings (empty when clean).
pub fn promtool_check(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian prometheus; scripts/install-deps.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), findings)
}

/// The resident memory of process `pid`, bytes (`VmRSS` of `/proc/PID/status`); `None`
/// once it is gone.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `pid`'s resident memory once it holds still: 25 readings 200 ms apart (five seconds:
/// the store's one-second flushes and the allocator returning freed pages lower it in
/// steps for a few seconds after a load) within 1 % of each other, or the last reading
/// at `limit`.
pub fn settled_rss(pid: u32, limit: Duration) -> u64 {
    let end = Instant::now() + limit;
    const READINGS: usize = 25;
    let mut last = Vec::with_capacity(READINGS + 1);
    loop {
        let now = rss_bytes(pid).expect("the process is running");
        last.push(now);
        if last.len() > READINGS {
            last.remove(0);
        }
        let (lo, hi) = (last.iter().min(), last.iter().max());
        if let (READINGS, Some(&lo), Some(&hi)) = (last.len(), lo, hi)
            && hi - lo <= hi / 100
        {
            return now;
        }
        if Instant::now() >= end {
            return now;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
