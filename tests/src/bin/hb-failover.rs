//! hb-failover: how long an HA pair is without a notifier when its leader dies or
//! freezes. Starts a real PostgreSQL and two `hbd` with `ha` (the lease and renewal
//! given), then, round after round, kills the leader with SIGKILL (or freezes it with
//! SIGSTOP) and measures until the other daemon reports itself leader on `/metrics`
//! (polled every 10 ms), then starts the dead one again as the new standby.
//!
//! Usage: hb-failover [--rounds N] [--lease S] [--renew S] [--freeze]
//!   cargo build --release -p hbd -p hbd-e2e && target/release/hb-failover
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is right

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use hbd_e2e::services::Postgres;
use hbd_e2e::{Daemon, wait_until};
use nix::sys::signal::Signal;

#[derive(Parser)]
#[command(about = "Failover time of an hbd HA pair (real PostgreSQL, two daemons)")]
struct Args {
    /// Leader deaths to measure.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// ha.lease, seconds.
    #[arg(long, default_value_t = 15.0)]
    lease: f64,
    /// ha.renew, seconds.
    #[arg(long, default_value_t = 5.0)]
    renew: f64,
    /// Freeze the leader (SIGSTOP) instead of killing it.
    #[arg(long)]
    freeze: bool,
}

fn start(dir: &Path, node: &str, pg: &Postgres, args: &Args) -> Daemon {
    let dir = dir.join(node);
    std::fs::create_dir_all(&dir).unwrap();
    Daemon::start(
        &dir,
        &format!(
            "ha:\n  postgres: '{}'\n  node: {node}\n  lease: {}s\n  renew: {}s\n  fail_open_after: {}s\n",
            pg.conninfo(),
            args.lease,
            args.renew,
            args.lease * 4.0
        ),
    )
}

fn leads(d: &Daemon) -> bool {
    d.metric("hbd_ha_leader") == 1.0 && d.metric("hbd_coordination_up") == 1.0
}

fn main() {
    let args = Args::parse();
    if let Some(dir) = std::env::current_exe().unwrap().parent() {
        hbd_e2e::set_bin_dir(dir.to_owned());
    }
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(dir.path());
    let limit = Duration::from_secs_f64(args.lease * 3.0 + 10.0);
    let mut leader = start(dir.path(), "a", &pg, &args);
    assert!(wait_until(limit, || leads(&leader)), "no leader");
    let mut standby = start(dir.path(), "b", &pg, &args);
    assert!(wait_until(limit, || standby.metric("hbd_coordination_up") == 1.0));
    let how = if args.freeze { "SIGSTOP" } else { "SIGKILL" };
    println!(
        "lease {} s, renew {} s; leader stopped by {how}; time until the standby leads:",
        args.lease, args.renew
    );
    let mut times = Vec::new();
    for round in 1..=args.rounds {
        // Let the leader renew at a random point of its cycle, as a real death would.
        let pause = Duration::from_millis(u64::from(round) * 377 % 1000);
        std::thread::sleep(pause);
        let t0 = Instant::now();
        if args.freeze {
            leader.signal(Signal::SIGSTOP);
        } else {
            leader.stop(Signal::SIGKILL);
        }
        let mut took = None;
        let ok = wait_until(limit, || {
            let up = leads(&standby);
            if up {
                took = Some(t0.elapsed());
            }
            up
        });
        assert!(ok, "round {round}: no takeover within {limit:?}");
        let took = took.unwrap();
        println!("  round {round}: {:.2} s", took.as_secs_f64());
        times.push(took.as_secs_f64());
        if args.freeze {
            leader.signal(Signal::SIGCONT);
            assert!(wait_until(limit, || leader.metric("hbd_ha_leader") == 0.0));
        } else {
            leader.start_again();
            assert!(wait_until(limit, || leader.metric("hbd_coordination_up") == 1.0));
        }
        std::mem::swap(&mut leader, &mut standby);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "failover: min {:.2} s, median {:.2} s, max {:.2} s over {} rounds",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
}
