//! Agent benchmark: CPU time of one full collection of every native plugin, and the
//! resident memory of the real `hbc` binary with every native plugin enabled.
//!
//! `cargo bench -p hbc --bench collect` prints the figures; docs/PERFORMANCE.md records
//! them. Goals: under 2 ms of CPU per full collection, at most 8 MB resident.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

mod support;

use std::time::{Duration, Instant};

use hbc::plugins::{Options, Plugin, build, on_by_default};
use serde_json::Value;

fn collection_cost() {
    let mut plugins: Vec<Box<dyn Plugin>> = on_by_default()
        .map(|name| build(name, &Options::new(name, &Value::Null).unwrap()).unwrap())
        .collect();
    // Warm up: the first cpu_monitor run waits 200 ms for a baseline, rates need a second sample.
    for p in &mut plugins {
        p.collect().unwrap();
    }
    const ROUNDS: u32 = 200;
    let wall = Instant::now();
    let cpu = support::thread_cpu();
    let mut per_plugin = vec![Duration::ZERO; plugins.len()];
    for _ in 0..ROUNDS {
        for (i, p) in plugins.iter_mut().enumerate() {
            let before = support::thread_cpu();
            p.collect().unwrap();
            per_plugin[i] += support::thread_cpu() - before;
        }
    }
    let cpu = (support::thread_cpu() - cpu) / ROUNDS;
    let wall = wall.elapsed() / ROUNDS;
    println!(
        "full collection of {} native plugins: {:.3} ms CPU, {:.3} ms wall (mean of {ROUNDS}; goal < 2 ms CPU)",
        plugins.len(),
        cpu.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3
    );
    for (p, t) in plugins.iter().zip(per_plugin) {
        println!(
            "  {:<16} {:>7.3} ms",
            p.name(),
            (t / ROUNDS).as_secs_f64() * 1e3
        );
    }
}

fn agent_rss() {
    let Some(hbc) = support::hbc_binary() else {
        println!("agent RSS: skipped, target/release/hbc not built");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hbc.yaml");
    // Every native plugin, collecting every second, so the peak is reached quickly.
    let plugins: String = on_by_default()
        .map(|p| format!("  {p}: {{interval: 1}}\n"))
        .collect();
    std::fs::write(
        &config,
        format!("name: bench\ninterval: 1\nplugins:\n{plugins}"),
    )
    .unwrap();
    let peak = support::peak_rss_mb(&hbc, &config, 6);
    let size = std::fs::metadata(&hbc).map(|m| m.len()).unwrap_or(0);
    println!(
        "agent RSS with every native plugin (6 s, 1 s intervals): peak {peak:.1} MB (goal <= 8 MB); binary {:.1} MB",
        size as f64 / 1_048_576.0
    );
}

fn main() {
    collection_cost();
    agent_rss();
}
