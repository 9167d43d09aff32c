//! CPU spent per datagram: the daemon's threads by kind (from `/proc`), the calling
//! thread's own (`RUSAGE_THREAD`), and the line that prints them.

use crate::Run;

/// CPU seconds (user and system) the threads of process `pid` have used, from
/// `/proc/PID/task/*/stat`, by kind of thread.
pub(crate) fn process_cpu_seconds(pid: u32) -> Cpu {
    let mut cpu = Cpu::default();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return cpu;
    };
    // Ticks per second of /proc's counts (USER_HZ; 100 if it cannot be read).
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64);
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
        let seconds = (ticks(11) + ticks(12)) / hz;
        if head.ends_with("(tokio-rt-worker") {
            cpu.workers += seconds;
        } else {
            cpu.others += seconds;
        }
    }
    cpu
}

/// CPU seconds a process has used: its async runtime's workers (where the daemon's
/// receiver and engine take turns) and its other threads (journal, store).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Cpu {
    pub(crate) workers: f64,
    pub(crate) others: f64,
}

impl Cpu {
    pub(crate) fn total(self) -> f64 {
        self.workers + self.others
    }
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, before: Cpu) -> Cpu {
        Cpu {
            workers: self.workers - before.workers,
            others: self.others - before.others,
        }
    }
}

impl std::ops::AddAssign for Cpu {
    fn add_assign(&mut self, more: Cpu) {
        self.workers += more.workers;
        self.others += more.others;
    }
}

/// CPU seconds (user and system) this process has used, its ended threads included.
pub(crate) fn own_cpu_seconds() -> f64 {
    usage(nix::sys::resource::UsageWho::RUSAGE_SELF)
}

/// CPU seconds (user and system) the calling thread has used.
pub(crate) fn thread_cpu_seconds() -> f64 {
    usage(nix::sys::resource::UsageWho::RUSAGE_THREAD)
}

fn usage(who: nix::sys::resource::UsageWho) -> f64 {
    nix::sys::resource::getrusage(who).map_or(0.0, |u| {
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        secs(u.user_time()) + secs(u.system_time())
    })
}

/// Prints what the side that answered spent: CPU per datagram and cores used. On a
/// machine with few cores this is the steadier figure: the ratio also depends on how
/// the answering side and the load generator share the cores.
/// With `split`, the daemon's runtime workers and its other threads are shown apart: on
/// 2 cores the workers' figure sets its throughput.
pub(crate) fn cpu_line(
    cpu_seconds: f64,
    elapsed: f64,
    datagrams: f64,
    generator: &Run,
    split: Option<Cpu>,
) {
    let per = |cpu: f64| cpu * 1e6 / datagrams.max(1.0);
    let cores = |cpu: f64| cpu / elapsed.max(1e-9);
    let threads = split.map_or(String::new(), |cpu| {
        format!(
            ": the runtime's workers {:.2} us, other threads {:.2} us",
            per(cpu.workers),
            per(cpu.others)
        )
    });
    println!(
        "           CPU {:.2} us per datagram ({:.2} cores{threads}); the load generator's {:.2} us ({:.2} cores)",
        per(cpu_seconds),
        cores(cpu_seconds),
        per(generator.cpu),
        cores(generator.cpu)
    );
}
