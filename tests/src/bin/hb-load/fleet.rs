//! `--mode fleet`: N simulated agents that manage plugins as `hbc` does, against a real
//! `hbd`: each sends signed heartbeats every `--interval` seconds carrying the digest
//! of the set it applied; when an ACK names another digest it asks
//! `GET /agent/NAME/plugins` with a nonce of its own, checks the answer's tag with its
//! key, fetches over HTTP each artifact file it does not hold (checking the `.wasm`'s
//! SHA-256 against the signed answer) and reports the new digest in its next
//! heartbeat. No plugin is run: this measures the daemon's side.
//!
//! The run: all agents up; a reload hands every agent a new artifact at once; then a
//! closed-loop heartbeat flood (as `--mode heartbeats --signed`, other host names) runs
//! in `--seconds` windows, three before a staged rollout of the next version, as long
//! as it runs, and three after. It prints:
//! - how long until 99 % (and all) of the agents applied it, against two heartbeat
//!   intervals plus the median time one agent took to fetch;
//! - the bytes the agents fetched against the artifact's size times the agents, and
//!   the most times one agent fetched one file;
//! - the flood's rate while the rollout ran against the windows before and after.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hb_artifact::desired::{DesiredSet, TAG_HEADER, read_answer};
use hb_proto::frame::{DEFAULT_COMPRESS_OVER, decode_payload, encode, split};
use hb_proto::{Heartbeat, Key, Limits, Message, Signer};
use hbd_e2e::{http_with, metric_value, spawn_hbd, terminate, wait_until};

use super::traffic::BENCH_KEY;
use super::{Args, load};

/// Threads that send the agents' heartbeats and read their ACKs.
const UDP_THREADS: usize = 4;
/// Threads that fetch for agents, each with its own keep-alive connections (real agents
/// fetch all at once, each on its own; fewer threads here would measure this tool).
const FETCHERS: usize = 64;

/// One simulated agent.
struct Agent {
    name: String,
    key: Key,
    /// The digest of the set it applied.
    applied: Mutex<String>,
    /// Asked to fetch and not done yet.
    busy: AtomicBool,
    /// The artifacts (by SHA-256) it holds.
    held: Mutex<HashSet<String>>,
    /// When it applied the digest the change brought, since the reload.
    done_at: Mutex<Option<Duration>>,
    /// How long its fetch took.
    fetch_took: Mutex<Option<Duration>>,
    /// The version of the artifact it runs.
    version: Mutex<Option<String>>,
    /// Its next heartbeat should come with a `managed_plugins` report.
    report_applied: AtomicBool,
}

/// What the fetchers counted.
#[derive(Default)]
struct Counts {
    /// Bytes of artifact files fetched.
    bytes: AtomicU64,
    /// Artifact files fetched.
    files: AtomicU64,
    /// Answers refused (bad tag, not this request).
    refused: AtomicU64,
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    hb_proto::digest::hex(&b)
}

/// Writes an artifact of about `kb` KiB as `probe-VERSION.*` in `dir`: the
/// log_freshness plugin (the daemon checks that it compiles) with a custom section of
/// random bytes after it, so each version differs and the size is what is asked; its
/// three files' bytes in all.
fn artifact(dir: &Path, kb: usize, version: &str) -> u64 {
    let mut wasm = std::fs::read(hbd_e2e::wasm_plugin("hbd_log_freshness")).unwrap();
    let mut padding = vec![0u8; (kb * 1024).saturating_sub(wasm.len()).max(16)];
    getrandom::fill(&mut padding).unwrap();
    // A custom section (id 0): its size, then its name, then the bytes.
    let name = b"hb-load padding";
    let mut section = leb128(name.len());
    section.extend_from_slice(name);
    section.extend_from_slice(&padding);
    wasm.push(0);
    wasm.extend(leb128(section.len()));
    wasm.extend(section);
    let manifest = hb_artifact::Manifest {
        hbd_artifact: hb_artifact::manifest::FORMAT,
        name: "probe".into(),
        version: version.parse().unwrap(),
        sha256: hb_proto::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&wasm)),
        size: wasm.len() as u64,
        contract: "hbd:plugin@0.2.0".into(),
        capabilities: hb_artifact::Capabilities {
            grants: Vec::new(),
            memory_mb: 32,
            timeout_ms: 1000,
            min_interval_s: 60.0,
            net: Vec::new(),
            connections: None,
        },
        description: None,
    };
    let json = serde_json::to_vec_pretty(&manifest).unwrap();
    let sig = b"untrusted comment: not checked here\n".to_vec();
    std::fs::write(dir.join(format!("probe-{version}.wasm")), &wasm).unwrap();
    std::fs::write(dir.join(format!("probe-{version}.json")), &json).unwrap();
    std::fs::write(dir.join(format!("probe-{version}.json.minisig")), &sig).unwrap();
    (wasm.len() + json.len() + sig.len()) as u64
}

/// `n` as unsigned LEB128, as WebAssembly writes sizes.
fn leb128(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The daemon's configuration: every `sim*` host in one group, running the artifact at
/// `version` or not, and rolling a change out in stages or not.
fn config(dir: &Path, version: Option<&str>, staged: bool) -> String {
    let mut plugins = String::new();
    if staged {
        plugins
            .push_str("    rollout: {canaries: 100, healthy_for: 1, waves: [10, 25, 50, 100]}\n");
    }
    if let Some(v) = version {
        plugins.push_str(&format!("    plugins:\n      probe: {{version: {v}}}\n"));
    }
    format!(
        "hb_host: 127.0.0.1\nhb_port: 0\nhbd_host: 127.0.0.1\nhbd_port: 0\n\
         state_db: {}\njournal_dir: {}\njournal_enabled: true\n\
         hb_key: '{BENCH_KEY}'\nrequire_signed: true\nartifacts_dir: {}\n\
         groups:\n  sims:\n    hosts: ['sim*']\n{plugins}",
        dir.join("state.db").display(),
        dir.join("journal").display(),
        dir.join("artifacts").display(),
    )
}

/// Sends each of `agents` a heartbeat every `interval`, spread over it, and hands the
/// ACKs that name another digest to the fetchers, until `stop`.
fn heartbeats(
    agents: Arc<Vec<Agent>>,
    mine: Vec<usize>,
    target: SocketAddr,
    interval: Duration,
    jobs: std::sync::mpsc::Sender<usize>,
    stop: Arc<AtomicBool>,
) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(target).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let run: u64 = rand_u64();
    let start = Instant::now();
    let mut seq = 0u64;
    // Agent k of this thread's n is due at start + k/n of the interval, then every
    // interval.
    let n = mine.len().max(1);
    let mut next: Vec<Instant> = (0..mine.len())
        .map(|k| start + interval.mul_f64(k as f64 / n as f64))
        .collect();
    let mut buf = [0u8; 2048];
    let limits = Limits::default();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        for (k, &i) in mine.iter().enumerate() {
            if next[k] > now {
                continue;
            }
            next[k] += interval;
            let a = &agents[i];
            seq += 1;
            let beat = Message::Heartbeat(Heartbeat {
                name: a.name.clone(),
                ts: Some(hbd_e2e::unix_now()),
                run: Some(run),
                seq: Some(seq),
                interval: Some(interval.as_secs_f64()),
                plugins: Some(a.applied.lock().unwrap().clone()),
                ..Heartbeat::default()
            });
            let signer = Signer {
                key_id: a.name.clone(),
                key: a.key.clone(),
            };
            let _ = socket.send(&encode(&beat, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap());
            // What it runs, as `hbc` reports it: the applied set once it changed, and
            // the plugin's report with each heartbeat.
            let version = a.version.lock().unwrap().clone();
            if let Some(version) = version {
                let mut reports = vec![("probe", serde_json::json!({"ok": 1}))];
                if a.report_applied.swap(false, Ordering::AcqRel) {
                    reports.push((
                        "managed_plugins",
                        serde_json::json!({
                            "digest": *a.applied.lock().unwrap(),
                            "plugins": {"probe": {"version": version}},
                            "refused": [],
                            "message": "1 managed plugin(s) applied",
                        }),
                    ));
                }
                for (plugin, data) in reports {
                    seq += 1;
                    let report = Message::Plugin(hb_proto::PluginReport {
                        name: a.name.clone(),
                        ts: Some(hbd_e2e::unix_now()),
                        run: Some(run),
                        seq: Some(seq),
                        plugin: plugin.into(),
                        kind: hb_proto::PluginKind::Monitor,
                        status: Some(hb_proto::Status::Ok),
                        data: data.as_object().cloned().unwrap_or_default(),
                        duration_ms: None,
                    });
                    let _ = socket
                        .send(&encode(&report, Some(&signer), DEFAULT_COMPRESS_OVER).unwrap());
                }
            }
        }
        while let Ok(len) = socket.recv(&mut buf) {
            let Ok(frame) = split(&buf[..len], &limits) else {
                continue;
            };
            let Some(i) = frame
                .key_id()
                .and_then(|id| id.strip_prefix("sim"))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let Some(a) = agents.get(i) else { continue };
            if frame.verify(&a.key).is_err() {
                continue;
            }
            let Ok(decoded) = decode_payload(frame.payload(), &limits) else {
                continue;
            };
            if let Message::Ack(ack) = decoded.message
                && let Some(wanted) = ack.plugins
                && *wanted != *a.applied.lock().unwrap()
                && !a.busy.swap(true, Ordering::AcqRel)
            {
                let _ = jobs.send(i);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

/// Fetches for agents as `hbc` does: the signed answer, then each file not held.
fn fetcher(
    agents: Arc<Vec<Agent>>,
    base: String,
    jobs: Arc<Mutex<std::sync::mpsc::Receiver<usize>>>,
    counts: Arc<Counts>,
    changed: Arc<Mutex<Option<Instant>>>,
) {
    // Plain HTTP, as agents fetch; the client still wants a crypto provider chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    loop {
        // One job at a time; the lock is held only to take it.
        let next = jobs.lock().unwrap().recv();
        let Ok(i) = next else { return };
        let a = &agents[i];
        let began = Instant::now();
        let nonce = nonce();
        let reply = client
            .get(format!("{base}/agent/{}/plugins?nonce={nonce}", a.name))
            .send();
        let Ok(reply) = reply else {
            a.busy.store(false, Ordering::Release);
            continue;
        };
        let tag = reply
            .headers()
            .get(TAG_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = reply.bytes().unwrap_or_default();
        let desired = match read_answer(&a.key, &body, tag.as_deref(), &a.name, &nonce) {
            Ok(d) => d,
            Err(_) => {
                counts.refused.fetch_add(1, Ordering::Relaxed);
                a.busy.store(false, Ordering::Release);
                continue;
            }
        };
        let mut ok = true;
        for p in &desired.set.plugins {
            if a.held.lock().unwrap().contains(&p.sha256) {
                continue;
            }
            for (path, check) in [
                (&p.files.wasm, true),
                (&p.files.manifest, false),
                (&p.files.signature, false),
            ] {
                let got = client
                    .get(format!("{base}{path}"))
                    .send()
                    .and_then(|r| r.error_for_status())
                    .and_then(|r| r.bytes());
                match got {
                    Ok(bytes) => {
                        counts
                            .bytes
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        counts.files.fetch_add(1, Ordering::Relaxed);
                        if check
                            && hb_proto::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(
                                &bytes,
                            )) != p.sha256
                        {
                            ok = false;
                        }
                    }
                    Err(_) => ok = false,
                }
            }
            if ok {
                a.held.lock().unwrap().insert(p.sha256.clone());
            }
        }
        if ok {
            *a.applied.lock().unwrap() = desired.digest;
            *a.version.lock().unwrap() = desired.set.plugins.first().map(|p| p.version.to_string());
            a.report_applied.store(true, Ordering::Release);
            if let Some(at) = *changed.lock().unwrap() {
                *a.done_at.lock().unwrap() = Some(at.elapsed());
                *a.fetch_took.lock().unwrap() = Some(began.elapsed());
            }
        }
        a.busy.store(false, Ordering::Release);
    }
}

fn percentile(mut xs: Vec<Duration>, p: f64) -> Option<Duration> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable();
    let i = ((xs.len() - 1) as f64 * p).round() as usize;
    Some(xs[i])
}

/// Runs the fleet measurement.
pub(crate) fn run(args: &Args, hbd: &Path, interval_s: f64, artifact_kb: usize) {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let files_bytes = artifact(&artifacts, artifact_kb, "1.0.0");
    artifact(&artifacts, artifact_kb, "1.1.0");
    let config_path = dir.path().join("hbd.yaml");
    std::fs::write(&config_path, config(dir.path(), None, false)).unwrap();
    let (mut daemon, (udp, http)) = spawn_hbd(hbd, &config_path, &dir.path().join("hbd.log"));
    let http_addr = SocketAddr::from(([127, 0, 0, 1], http));
    let udp_addr = SocketAddr::from(([127, 0, 0, 1], udp));
    let get = |path: &str| -> String {
        let reply = (0..5)
            .find_map(|_| http_with(http_addr, "GET", path, &[], None))
            .expect("http answer within five tries");
        reply.body
    };
    let counter =
        || metric_value(&get("/metrics"), "hbd_datagrams_total{type=\"HTB\"}").unwrap_or(0.0);
    let hup = |daemon: &std::process::Child| {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(daemon.id() as i32),
            nix::sys::signal::Signal::SIGHUP,
        )
        .unwrap();
    };
    println!(
        "hb-load fleet: {} agents, heartbeat every {interval_s} s, an artifact of {files_bytes} bytes in its three files (the log_freshness plugin, padded to at least {artifact_kb} KiB)",
        args.hosts
    );
    let empty = DesiredSet::default().digest();
    let agents: Arc<Vec<Agent>> = Arc::new(
        (0..args.hosts)
            .map(|i| Agent {
                name: format!("sim{i:06}"),
                key: Key::new(BENCH_KEY),
                applied: Mutex::new(empty.clone()),
                busy: AtomicBool::new(false),
                held: Mutex::new(HashSet::new()),
                done_at: Mutex::new(None),
                fetch_took: Mutex::new(None),
                version: Mutex::new(None),
                report_applied: AtomicBool::new(false),
            })
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let changed: Arc<Mutex<Option<Instant>>> = Arc::default();
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel();
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let interval = Duration::from_secs_f64(interval_s);
    let mut threads = Vec::new();
    for t in 0..UDP_THREADS {
        let mine: Vec<usize> = (t..args.hosts).step_by(UDP_THREADS).collect();
        let (agents, jobs, stop) = (agents.clone(), jobs_tx.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            heartbeats(agents, mine, udp_addr, interval, jobs, stop);
        }));
    }
    drop(jobs_tx);
    let base = format!("http://{http_addr}");
    let fetchers: Vec<_> = (0..FETCHERS)
        .map(|_| {
            let (agents, base, jobs, counts, changed) = (
                agents.clone(),
                base.clone(),
                jobs_rx.clone(),
                counts.clone(),
                changed.clone(),
            );
            std::thread::spawn(move || fetcher(agents, base, jobs, counts, changed))
        })
        .collect();
    // Every agent heard (two intervals, and some time on a busy machine).
    let heard = || metric_value(&get("/metrics"), "hbd_hosts{state=\"UP\"}").unwrap_or(0.0);
    assert!(
        wait_until(Duration::from_secs_f64(interval_s * 4.0 + 30.0), || heard()
            >= args.hosts as f64),
        "not every agent is up: {}",
        heard()
    );

    // 1. A new plugin for every agent at once: how soon they have it, and what it cost
    //    in bytes.
    std::fs::write(&config_path, config(dir.path(), Some("1.0.0"), false)).unwrap();
    let t0 = Instant::now();
    *changed.lock().unwrap() = Some(t0);
    hup(&daemon);
    let applied = || {
        agents
            .iter()
            .filter(|a| a.done_at.lock().unwrap().is_some())
            .count()
    };
    wait_until(Duration::from_secs_f64(interval_s * 6.0 + 60.0), || {
        applied() == args.hosts
    });
    let done: Vec<Duration> = agents
        .iter()
        .filter_map(|a| *a.done_at.lock().unwrap())
        .collect();
    let took: Vec<Duration> = agents
        .iter()
        .filter_map(|a| *a.fetch_took.lock().unwrap())
        .collect();
    let bytes = counts.bytes.load(Ordering::Relaxed);
    let files = counts.files.load(Ordering::Relaxed);

    // 2. A staged rollout of the next version: the heartbeat flood's rate while it runs
    //    against just before.
    let flood = Args {
        signed: true,
        ..args.clone()
    };
    let pid = daemon.id();
    // A window's heartbeat rate, and where the CPU went: the daemon's per heartbeat, and
    // the cores the simulated agents (this process, less the flood's senders) took.
    let rate = || {
        let (before, daemon_before) = (counter(), crate::cpu::process_cpu_seconds(pid));
        let tool_before = crate::cpu::own_cpu_seconds();
        let run = load(udp_addr, &flood);
        let beats = counter() - before;
        let daemon_cpu = (crate::cpu::process_cpu_seconds(pid) - daemon_before).total();
        let tool = crate::cpu::own_cpu_seconds() - tool_before;
        Window {
            rate: beats / run.elapsed,
            daemon_us: daemon_cpu * 1e6 / beats.max(1.0),
            agents_cores: (tool - run.cpu).max(0.0) / run.elapsed,
        }
    };
    // The machine's speed drifts: the baseline is three windows before the rollout and
    // three after it.
    let mut quiet_windows: Vec<Window> = (0..3).map(|_| rate()).collect();
    // One reload gives the group `rollout` and the next version: a change to a group
    // with `rollout` starts one.
    std::fs::write(&config_path, config(dir.path(), Some("1.1.0"), true)).unwrap();
    let rollout_started = Instant::now();
    hup(&daemon);
    let state = || -> String {
        let list: serde_json::Value =
            serde_json::from_str(&get("/api/0/rollouts")).unwrap_or_default();
        list["rollouts"][0]["split"]["state"]
            .as_str()
            .unwrap_or("none")
            .to_owned()
    };
    let mut during = Vec::new();
    let limit = Duration::from_secs_f64(interval_s * 20.0 + 120.0);
    while rollout_started.elapsed() < limit && matches!(state().as_str(), "running" | "none") {
        during.push(rate());
    }
    let rollout_took = rollout_started.elapsed();
    let final_state = state();
    quiet_windows.extend((0..3).map(|_| rate()));
    let quiet = Window::mean(&quiet_windows);
    let on_new = agents
        .iter()
        .filter(|a| a.version.lock().unwrap().as_deref() == Some("1.1.0"))
        .count();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    for f in fetchers {
        f.join().unwrap();
    }
    terminate(&mut daemon);

    let secs = |d: Option<Duration>| {
        d.map_or_else(
            || "never".to_owned(),
            |d| format!("{:.2} s", d.as_secs_f64()),
        )
    };
    // The time by which 99 % of all agents (not of those that made it) had applied it.
    let k = (args.hosts * 99).div_ceil(100).max(1);
    let mut sorted = done.clone();
    sorted.sort_unstable();
    let p99 = sorted.get(k - 1).copied();
    let all = (done.len() == args.hosts)
        .then(|| sorted.last().copied())
        .flatten();
    let fetch_median = percentile(took.clone(), 0.5);
    let budget = 2.0 * interval_s + fetch_median.map_or(0.0, |d| d.as_secs_f64());
    println!(
        "reach: {} of {} agents applied it; 99 % within {}, all within {} (goal: 99 % within two intervals plus the median fetch, {budget:.2} s); one agent's fetch: median {}, p99 {}",
        done.len(),
        args.hosts,
        secs(p99),
        secs(all),
        secs(fetch_median),
        secs(percentile(took, 0.99)),
    );
    let most = files_bytes * args.hosts as u64;
    println!(
        "egress: {:.1} MB of artifact files fetched against {:.1} MB for each agent once ({:.3}); {files} files for {} agents (3 each at most); {} answers refused",
        bytes as f64 / 1e6,
        most as f64 / 1e6,
        bytes as f64 / most as f64,
        args.hosts,
        counts.refused.load(Ordering::Relaxed),
    );
    let mean = Window::mean(&during);
    let each: Vec<String> = during
        .iter()
        .map(|w| format!("{:.2}", w.rate / quiet.rate))
        .collect();
    println!(
        "rollout (100 canaries, then 10, 25, 50, 100 %): {final_state} after {:.1} s, {on_new} of {} agents on 1.1.0",
        rollout_took.as_secs_f64(),
        args.hosts
    );
    println!(
        "heartbeats (closed loop, signed, {} s windows): {:.0}/s without (3 windows before, 3 after: {}), {:.0}/s while the rollout ran: {:.2} of without (goal >= 0.90); by window: {}",
        args.seconds,
        quiet.rate,
        quiet_windows
            .iter()
            .map(|w| format!("{:.0}", w.rate))
            .collect::<Vec<_>>()
            .join(" "),
        mean.rate,
        mean.rate / quiet.rate,
        each.join(" ")
    );
    println!(
        "           the daemon's CPU per heartbeat: {:.2} us without, {:.2} us during; the simulated agents' HTTP clients took {:.2} cores without, {:.2} during (by window: {})",
        quiet.daemon_us,
        mean.daemon_us,
        quiet.agents_cores,
        mean.agents_cores,
        during
            .iter()
            .map(|w| format!("{:.2}", w.agents_cores))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// One window of the flood during (or around) the staged rollout.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    /// Heartbeats the daemon counted, per second.
    rate: f64,
    /// The daemon's CPU (all its threads) per heartbeat, in microseconds.
    daemon_us: f64,
    /// Cores the simulated agents' fetches and heartbeats took.
    agents_cores: f64,
}

impl Window {
    fn mean(windows: &[Window]) -> Window {
        let n = windows.len().max(1) as f64;
        let sum = |f: fn(&Window) -> f64| windows.iter().map(f).sum::<f64>() / n;
        Window {
            rate: sum(|w| w.rate),
            daemon_us: sum(|w| w.daemon_us),
            agents_cores: sum(|w| w.agents_cores),
        }
    }
}
