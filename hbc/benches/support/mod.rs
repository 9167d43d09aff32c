//! Shared by the agent benchmarks: run the real release `hbc` with a config and report
//! its peak resident memory; the CPU time a thread has used.
#![allow(dead_code)] // each benchmark uses some of these, none all

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `hbc` binary to measure: `$HBC_BINARY` if set (the shipped fat-LTO release
/// build, copied aside: `cargo bench` rebuilds `target/release/hbc` with the bench
/// profile), else the one next to the benchmark (`target/release/hbc`), if built.
pub fn hbc_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HBC_BINARY") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let hbc = exe.parent()?.parent()?.join("hbc");
    hbc.exists().then_some(hbc)
}

/// Resident KiB of `pid` (0 once it is gone), by the harness's reader.
fn rss_kib(pid: u32) -> u64 {
    hbd_e2e::rss_bytes(pid).unwrap_or(0) / 1024
}

/// Runs `hbc -c config` against a local sink for `seconds` and returns its peak RSS in
/// MB, sampled every 200 ms.
pub fn peak_rss_mb(hbc: &Path, config: &Path, seconds: u64) -> f64 {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind a sink");
    let mut child = Command::new(hbc)
        .arg("-c")
        .arg(config)
        .arg(sink.local_addr().expect("sink address").to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hbc");
    let mut peak = 0;
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(200));
        peak = peak.max(rss_kib(child.id()));
    }
    let _ = child.kill();
    let _ = child.wait();
    peak as f64 / 1024.0
}

/// CPU time of this thread (user + system).
pub fn thread_cpu() -> Duration {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_THREAD).unwrap();
    let tv =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(usage.user_time()) + tv(usage.system_time())
}
