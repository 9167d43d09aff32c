//! Real services for the tests: the aiosmtpd capture server (mail written to files),
//! the recording HTTP stand-in for Pushover, Mattermost and signal-cli-rest-api
//! (`tests/services/`), and BIND 9 for DNS updates. Each runs on a free loopback port
//! in the test's own directory and stops when dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{http_get, wait_until};

pub(crate) fn services_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("services")
}

/// The Python with aiosmtpd that scripts/install-deps.sh sets up.
pub fn test_python() -> PathBuf {
    let python = crate::needs::venv().join("bin/python");
    assert!(
        python.exists(),
        "{} missing; run scripts/install-deps.sh",
        python.display()
    );
    python
}

/// A started helper process; killed on drop.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port for the SMTP capture server: aiosmtpd checks it is up by connecting
/// to the port it was given, so it cannot be handed port 0. (The HTTP stand-in binds
/// port 0 and says which port it got.)
fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a service and returns it with its `READY ...` line, or what it printed
/// instead (its log has why).
fn try_start(
    python: &Path,
    script: &str,
    args: &[String],
    log: &Path,
) -> Result<(Process, String), String> {
    let mut child = Command::new(python)
        .arg(services_dir().join(script))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    let process = Process(child);
    if !ready.starts_with("READY") {
        return Err(ready);
    }
    std::thread::spawn(move || for _ in lines {});
    Ok((process, ready))
}

/// Starts a service and returns it with its `READY ...` line.
fn start(python: &Path, script: &str, args: &[String], log: &Path) -> (Process, String) {
    try_start(python, script, args, log).unwrap_or_else(|printed| {
        panic!("{script} did not start: {printed:?}; see {}", log.display())
    })
}

/// The SMTP capture server.
pub struct SmtpCapture {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    _process: Process,
}

impl SmtpCapture {
    /// Starts a plain SMTP capture server; `extra` are smtp_capture.py options.
    pub fn start(dir: &Path, extra: &[&str]) -> SmtpCapture {
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        let log = dir.join("smtp.log");
        // The port is free when chosen, but another test may take it before the server
        // binds it: then try another.
        for _ in 0..5 {
            let port = free_tcp_port();
            let mut args = vec![
                "--port".to_owned(),
                port.to_string(),
                "--dir".to_owned(),
                mail.display().to_string(),
            ];
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            if let Ok((process, _)) = try_start(&test_python(), "smtp_capture.py", &args, &log) {
                return SmtpCapture {
                    port,
                    dir: mail,
                    _process: process,
                };
            }
        }
        panic!("smtp_capture.py did not start; see {}", log.display());
    }

    /// The daemon's `email:` section sending to this server, `ops@example.org` the
    /// recipient.
    pub fn email_yaml(&self) -> String {
        format!(
            "email:\n  host: 127.0.0.1\n  port: {}\n  security: none\n  from: hbd@example.org\n  to: [ops@example.org]\n",
            self.port
        )
    }

    /// Every captured message: (envelope JSON, raw message text), oldest first.
    pub fn messages(&self) -> Vec<(serde_json::Value, String)> {
        let mut metas: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        metas.sort();
        metas
            .into_iter()
            .map(|meta| {
                let envelope = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
                let raw = std::fs::read_to_string(meta.with_extension("eml")).unwrap_or_default();
                (envelope, raw)
            })
            .collect()
    }

    /// The subjects of the captured messages (a long one folded over several header
    /// lines is unfolded).
    pub fn subjects(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter_map(|(_, raw)| {
                let mut lines = raw.lines().skip_while(|l| !l.starts_with("Subject: "));
                let mut subject = lines.next()?.strip_prefix("Subject: ")?.to_owned();
                for more in lines.take_while(|l| l.starts_with([' ', '\t'])) {
                    subject.push_str(more);
                }
                Some(subject)
            })
            .collect()
    }
}

/// The recording HTTP stand-in.
pub struct HttpStub {
    /// Its address.
    pub addr: SocketAddr,
    _process: Process,
}

impl HttpStub {
    /// Starts the stand-in.
    pub fn start(dir: &Path) -> HttpStub {
        HttpStub::start_with(dir, &[])
    }

    /// Starts the stand-in with more arguments (`--telegram-token T`, ...).
    pub fn start_with(dir: &Path, extra: &[&str]) -> HttpStub {
        let records = dir.join("stub");
        std::fs::create_dir_all(&records).unwrap();
        let mut args = vec![
            "--port".to_owned(),
            "0".to_owned(),
            "--dir".to_owned(),
            records.display().to_string(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        // The stand-in uses the standard library only.
        let (process, ready) = start(
            Path::new("python3"),
            "notify_stub.py",
            &args,
            &dir.join("stub.log"),
        );
        // "READY http://127.0.0.1:PORT"
        let port: u16 = ready
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in {ready:?}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(wait_until(Duration::from_secs(5), || http_get(
            addr,
            "/__health"
        )
        .is_some()));
        HttpStub {
            addr,
            _process: process,
        }
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every recorded request whose path starts with `prefix`, oldest first.
    pub fn requests(&self, prefix: &str) -> Vec<serde_json::Value> {
        let (_, body) = http_get(self.addr, "/__requests").expect("stub answers");
        let all: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        all.into_iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(prefix)))
            .collect()
    }

    /// Makes the next `count` requests under `prefix` fail with `status` (0: drop the
    /// connection), after `delay_s` seconds.
    pub fn fail(&self, prefix: &str, status: u16, count: u32, delay_s: f64) {
        let body = serde_json::json!({"path_prefix": prefix, "status": status, "count": count, "delay_s": delay_s}).to_string();
        let mut stream = TcpStream::connect(self.addr).unwrap();
        write!(
            stream,
            "POST /__fail HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
        assert!(answer.contains("armed"), "{answer}");
    }
}

/// A throwaway authoritative BIND 9 on loopback (Debian's `named`, as in
/// ../shared/recipes/dns): zone `example.test` takes updates signed with the TSIG key
/// `hbd-key` (in [`Bind::key_file`]); zone `locked.test` takes updates only with a key
/// the daemon does not hold, so it refuses the daemon's.
pub struct Bind {
    process: Option<Process>,
    dir: PathBuf,
    /// The port it answers on (UDP and TCP).
    pub port: u16,
    /// The TSIG key file (`nsupdate -k`).
    pub key_file: PathBuf,
}

impl Bind {
    /// Starts `named` in `dir/bind`.
    pub fn start(dir: &Path) -> Bind {
        let dir = dir.join("bind");
        std::fs::create_dir_all(&dir).unwrap();
        let keygen = |name: &str| {
            let out = Command::new("/usr/sbin/tsig-keygen")
                .args(["-a", "hmac-sha256", name])
                .output()
                .expect("tsig-keygen; run scripts/install-deps.sh (bind9)");
            String::from_utf8(out.stdout).unwrap()
        };
        let key_file = dir.join("tsig.key");
        std::fs::write(&key_file, keygen("hbd-key")).unwrap();
        std::fs::write(dir.join("other.key"), keygen("other-key")).unwrap();
        for zone in ["example.test", "locked.test"] {
            std::fs::write(
                dir.join(format!("{zone}.zone")),
                format!(
                    "$TTL 60\n@ IN SOA ns1.{zone}. hostmaster.{zone}. ( 1 60 60 3600 60 )\n  IN NS ns1.{zone}.\nns1 IN A 127.0.0.1\n"
                ),
            )
            .unwrap();
        }
        let mut bind = Bind {
            process: None,
            port: 0,
            key_file,
            dir,
        };
        bind.restart();
        bind
    }

    /// Starts `named` again (after [`Bind::stop`]), on the same port when it has one.
    pub fn restart(&mut self) {
        for _ in 0..5 {
            if self.port == 0 {
                self.port = free_tcp_port();
            }
            let dir = self.dir.display();
            let port = self.port;
            std::fs::write(
                self.dir.join("named.conf"),
                format!(
                    r#"options {{
    directory "{dir}"; pid-file "{dir}/named.pid"; session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
    recursion no; allow-query {{ any; }}; allow-transfer {{ none; }}; dnssec-validation no; notify no;
}};
controls {{ }};
include "{dir}/tsig.key";
include "{dir}/other.key";
zone "example.test" {{ type primary; file "{dir}/example.test.zone"; update-policy {{ grant hbd-key zonesub ANY; }}; }};
zone "locked.test" {{ type primary; file "{dir}/locked.test.zone"; update-policy {{ grant other-key zonesub ANY; }}; }};
"#
                ),
            )
            .unwrap();
            let log = std::fs::File::create(self.dir.join("named.log")).unwrap();
            let child = Command::new("/usr/sbin/named")
                .args(["-g", "-4", "-n", "1", "-c"])
                .arg(self.dir.join("named.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("named; run scripts/install-deps.sh (bind9)");
            let mut process = Process(child);
            if wait_until(Duration::from_secs(10), || {
                self.lookup("example.test", "SOA")
                    .contains("ns1.example.test")
                    || process.0.try_wait().ok().flatten().is_some()
            }) && process.0.try_wait().ok().flatten().is_none()
            {
                self.process = Some(process);
                return;
            }
            // The port was taken meanwhile: another one.
            let _ = process.0.kill();
            self.port = 0;
        }
        panic!(
            "named did not start: {}",
            std::fs::read_to_string(self.dir.join("named.log")).unwrap_or_default()
        );
    }

    /// Stops `named` (the server becomes unreachable).
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// `dig +short NAME TYPE` against this server.
    pub fn lookup(&self, name: &str, kind: &str) -> String {
        let out = Command::new("dig")
            .args(["+short", "+time=1", "+tries=1", "@127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args([name, kind])
            .output()
            .expect("dig; run scripts/install-deps.sh (bind9-dnsutils)");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// A real Alertmanager (Debian's `prometheus-alertmanager`) on a loopback port, not
/// clustered, with one receiver that sends nowhere: what hbd posts is read back from
/// its v2 API. Stopped when dropped.
pub struct Alertmanager {
    /// Its address.
    pub addr: SocketAddr,
    _process: Process,
}

impl Alertmanager {
    /// Starts it in `dir/alertmanager`.
    pub fn start(dir: &Path) -> Alertmanager {
        let dir = dir.join("alertmanager");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route: {receiver: nowhere, group_wait: 1s}\nreceivers: [{name: nowhere}]\n",
        )
        .unwrap();
        for _ in 0..5 {
            let port = free_tcp_port();
            let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
            let child = Command::new("prometheus-alertmanager")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("prometheus-alertmanager; run scripts/install-deps.sh");
            let mut process = Process(child);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let up = wait_until(Duration::from_secs(20), || {
                matches!(process.0.try_wait(), Ok(None))
                    && http_get(addr, "/-/ready").is_some_and(|(status, _)| status == 200)
            });
            if up {
                return Alertmanager {
                    addr,
                    _process: process,
                };
            }
            let _ = process.0.kill();
        }
        panic!(
            "alertmanager did not start: {}",
            std::fs::read_to_string(dir.join("alertmanager.log")).unwrap_or_default()
        );
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The alerts its v2 API lists (`GET /api/v2/alerts`): those not resolved.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        let (status, body) = http_get(self.addr, "/api/v2/alerts").expect("alertmanager answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// A Prometheus-compatible TSDB taking remote_write: VictoriaMetrics single node or
/// Prometheus with its receiver on (both from Debian), on a loopback port in the test's
/// directory; stopped when dropped.
pub struct Tsdb {
    /// Its HTTP address.
    pub addr: SocketAddr,
    /// `victoria-metrics` or `prometheus`.
    pub kind: &'static str,
    _process: Process,
}

impl Tsdb {
    /// VictoriaMetrics, with the newest samples visible at once (the recipe's pitfall 1:
    /// by default it hides the last 30 s).
    pub fn victoria_metrics(dir: &Path) -> Tsdb {
        Tsdb::victoria_metrics_with(dir, &[])
    }

    /// As [`Tsdb::victoria_metrics`], with more command-line flags (`-promscrape.config=`
    /// to scrape too).
    pub fn victoria_metrics_with(dir: &Path, flags: &[String]) -> Tsdb {
        let data = dir.join("vm-data");
        Tsdb::start("victoria-metrics", dir, |port| {
            let mut c = Command::new("victoria-metrics");
            c.arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .arg(format!("-storageDataPath={}", data.display()))
                .args([
                    "-retentionPeriod=1d",
                    "-search.latencyOffset=0s",
                    "-search.disableCache",
                ])
                .args(flags);
            c
        })
    }

    /// Prometheus with `--web.enable-remote-write-receiver` and no scrapes.
    pub fn prometheus(dir: &Path) -> Tsdb {
        let config = dir.join("prom.yml");
        std::fs::write(&config, "scrape_configs: []\n").unwrap();
        let data = dir.join("prom-data");
        Tsdb::start("prometheus", dir, |port| {
            let mut c = Command::new("prometheus");
            c.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .args([
                    "--storage.tsdb.retention.time=1d",
                    "--web.enable-remote-write-receiver",
                ]);
            c
        })
    }

    fn start(kind: &'static str, dir: &Path, command: impl Fn(u16) -> Command) -> Tsdb {
        let ready = if kind == "prometheus" {
            "/-/ready"
        } else {
            "/health"
        };
        for _ in 0..5 {
            let port = free_tcp_port();
            let log = std::fs::File::create(dir.join(format!("{kind}.log"))).unwrap();
            let child = command(port)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap_or_else(|e| panic!("{kind}: {e}; run scripts/install-deps.sh"));
            let mut process = Process(child);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let up = wait_until(Duration::from_secs(20), || {
                matches!(process.0.try_wait(), Ok(None))
                    && http_get(addr, ready).is_some_and(|(status, _)| status == 200)
            });
            if up {
                return Tsdb {
                    addr,
                    kind,
                    _process: process,
                };
            }
            // The port was taken in between, or it died: try another.
            let _ = process.0.kill();
        }
        panic!("{kind} did not start; see {}/{kind}.log", dir.display());
    }

    /// The remote_write URL.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// An instant PromQL query's result vector (VictoriaMetrics is flushed first, so
    /// what it took is searchable).
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        self.query_checked(promql).unwrap_or_default()
    }

    /// As [`Tsdb::query`], with the TSDB's error (a bad query, an unreachable server)
    /// instead of an empty result.
    pub fn query_checked(&self, promql: &str) -> Result<Vec<serde_json::Value>, String> {
        let v = self.api(&format!("/api/v1/query?query={}", url_encode(promql)))?;
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// A label's values on the series `selector` matches (Grafana's `label_values`).
    pub fn label_values(&self, label: &str, selector: &str) -> Result<Vec<String>, String> {
        let v = self.api(&format!(
            "/api/v1/label/{label}/values?match[]={}",
            url_encode(selector)
        ))?;
        Ok(v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect())
    }

    /// `GET path` of the Prometheus API, its JSON when `status` is `success`
    /// (VictoriaMetrics is flushed first, so what it took is searchable).
    fn api(&self, path: &str) -> Result<serde_json::Value, String> {
        if self.kind == "victoria-metrics" {
            let _ = http_get(self.addr, "/internal/force_flush");
        }
        let (status, body) =
            http_get(self.addr, path).ok_or_else(|| format!("{} did not answer", self.kind))?;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if status == 200 && v["status"] == "success" {
            Ok(v)
        } else {
            Err(format!("{status}: {body}"))
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A throw-away PostgreSQL cluster (Debian's `postgresql`) in the test's directory,
/// trusting connections on 127.0.0.1, run as user `postgres` (initdb refuses root);
/// stopped when dropped. The recipe is ../shared/recipes/scaleout/pg-start.sh. Its
/// superuser is `postgres`; the daemons connect as role `hbd` to database `hbd`, made
/// by the statements docs/SCALING.md gives ("The database"), so the docs cannot drift.
pub struct Postgres {
    /// Its port on 127.0.0.1.
    pub port: u16,
    data: PathBuf,
    bin: PathBuf,
    log: PathBuf,
    socket_dir: PathBuf,
}

/// The SQL block of docs/SCALING.md's "The database" section.
fn documented_grants() -> String {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SCALING.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let section = text
        .split_once("### The database")
        .expect("docs/SCALING.md has a section \"The database\"")
        .1;
    let block = section
        .split_once("```sql\n")
        .expect("\"The database\" has a ```sql block")
        .1;
    block.split_once("```").unwrap().0.to_owned()
}

impl Postgres {
    /// Makes the cluster under `dir/pg` and starts it.
    pub fn start(dir: &Path) -> Postgres {
        use std::os::unix::fs::PermissionsExt;
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL not installed; run scripts/install-deps.sh")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("no initdb under /usr/lib/postgresql; run scripts/install-deps.sh");
        // Every directory on the way must be enterable by user postgres.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.join("pg");
        std::fs::create_dir_all(&root).unwrap();
        let owned = Command::new("chown")
            .args(["postgres:", root.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(owned.success(), "chown postgres {}", root.display());
        let data = root.join("data");
        let init = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mut pg = Postgres {
            port: 0,
            data,
            bin,
            log: root.join("pg.log"),
            socket_dir: root.clone(),
        };
        for _ in 0..5 {
            pg.port = free_tcp_port();
            if pg.start_on_port() {
                pg.psql("postgres", "postgres", &documented_grants());
                return pg;
            }
        }
        panic!("postgres did not start; see {}/pg.log", root.display());
    }

    fn start_on_port(&self) -> bool {
        self.ctl(&[
            "-l",
            self.log.to_str().unwrap(),
            "-w",
            "-t",
            "30",
            "-o",
            &format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                self.port,
                self.socket_dir.display()
            ),
            "start",
        ])
    }

    /// Starts it again after [`Postgres::stop`], on the same port.
    pub fn start_again(&self) {
        assert!(
            self.start_on_port(),
            "postgres did not start again; see {}",
            self.log.display()
        );
    }

    fn ctl(&self, args: &[&str]) -> bool {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The connection string hbd's `ha.postgres` takes: the documented role and
    /// database.
    pub fn conninfo(&self) -> String {
        format!("host=127.0.0.1 port={} user=hbd dbname=hbd", self.port)
    }

    /// Runs one SQL statement in database `hbd` as the superuser and returns its rows,
    /// fields split by `|`.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        self.psql("postgres", "hbd", sql)
    }

    /// Runs `sql` (statements, each on its own: CREATE DATABASE may not share a
    /// transaction) as `user` in `db`; its rows.
    fn psql(&self, user: &str, db: &str, sql: &str) -> Vec<Vec<String>> {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args([
            "-h",
            "127.0.0.1",
            "-U",
            user,
            "-d",
            db,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-p",
        ])
        .arg(self.port.to_string());
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            cmd.args(["-c", statement]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    }

    /// Stops it (fast shutdown): connections are cut, the port closes.
    pub fn stop(&self) {
        assert!(self.ctl(&["-m", "fast", "-w", "stop"]), "pg_ctl stop");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.ctl(&["-m", "immediate", "-w", "stop"]);
    }
}
