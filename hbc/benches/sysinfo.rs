//! Why the agent keeps its own `/proc` readers on Linux and uses sysinfo elsewhere:
//! CPU time of one collection of CPU, memory, disks and network interfaces, by the
//! agent's collectors and by sysinfo's refreshes of the same figures, side by side on
//! this machine. `cargo bench -p hbc --bench sysinfo` prints both; docs/PERFORMANCE.md
//! records them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

mod support;

use std::time::Duration;

use hbc::plugins::{Options, build};
use serde_json::Value;

const ROUNDS: u32 = 200;

/// Mean CPU time of `f` over [`ROUNDS`] calls, after two to warm up.
fn cost(mut f: impl FnMut()) -> Duration {
    f();
    f();
    let start = support::thread_cpu();
    for _ in 0..ROUNDS {
        f();
    }
    (support::thread_cpu() - start) / ROUNDS
}

fn main() {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("one collection, mean CPU time of {ROUNDS} (this machine, Linux):");
    println!(
        "  {:<16} {:>12} {:>12}",
        "figures", "hbc (/proc)", "sysinfo"
    );
    let mut total = (Duration::ZERO, Duration::ZERO);
    for (plugin, refresh) in [
        (
            "cpu_monitor",
            Box::new({
                let mut s = sysinfo::System::new().unwrap();
                move || {
                    s.refresh_cpu_usage();
                    s.refresh_processes(sysinfo::ProcessesToUpdate::All, false);
                    std::hint::black_box(s.global_cpu_usage());
                }
            }) as Box<dyn FnMut()>,
        ),
        (
            "memory_monitor",
            Box::new({
                let mut s = sysinfo::System::new().unwrap();
                move || {
                    s.refresh_memory();
                    std::hint::black_box(s.available_memory());
                }
            }),
        ),
        (
            "disk_monitor",
            Box::new({
                let mut d = sysinfo::Disks::new_with_refreshed_list().unwrap();
                move || {
                    d.refresh(true);
                    std::hint::black_box(d.iter().count());
                }
            }),
        ),
        (
            "network_monitor",
            Box::new({
                let mut n = sysinfo::Networks::new_with_refreshed_list().unwrap();
                move || {
                    n.refresh(true);
                    std::hint::black_box(n.iter().count());
                }
            }),
        ),
    ] {
        let mut own = build(plugin, &Options::new(plugin, &Value::Null).unwrap()).unwrap();
        let ours = cost(|| {
            std::hint::black_box(own.collect().unwrap());
        });

        let theirs = cost(refresh);
        total = (total.0 + ours, total.1 + theirs);
        println!("  {plugin:<16} {:>9.3} ms {:>9.3} ms", ms(ours), ms(theirs));
    }
    println!(
        "  {:<16} {:>9.3} ms {:>9.3} ms",
        "together",
        ms(total.0),
        ms(total.1)
    );
}
