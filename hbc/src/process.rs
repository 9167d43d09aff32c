//! Running a program the way the agent runs every external program (Nagios checks and
//! commands from the daemon): by argv, never through a shell, with no standard input,
//! in its own process group, with a time limit after which the whole group is killed,
//! and with at most a bounded amount of each output stream kept (the rest is read and
//! discarded, so a chatty program neither blocks nor floods the agent). When the program
//! exits, whatever it left running in its group is killed too, so nothing it started
//! outlives it or holds its output open.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) use tree::{Tree, isolate};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// The time limit passed; the process group was killed.
    TimedOut,
    /// It could not be started, or waited for.
    Failed(String),
}

/// What a run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// How it ended.
    pub exit: Exit,
    /// Standard output, at most the bound asked for.
    pub stdout: Vec<u8>,
    /// Standard error, at most the bound asked for.
    pub stderr: Vec<u8>,
    /// Wall time.
    pub duration: Duration,
}

fn drain(pipe: Option<Box<dyn Read + Send>>, keep: usize) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
        kept
    })
}

/// Runs `argv` (program first; not empty) for at most `timeout`, keeping at most
/// `keep` bytes of each output stream. Blocks; run it on a thread of its own.
pub fn run(argv: &[String], timeout: Duration, keep: usize) -> Finished {
    let started = Instant::now();
    let failed = |why: String| Finished {
        exit: Exit::Failed(why),
        stdout: Vec::new(),
        stderr: Vec::new(),
        duration: started.elapsed(),
    };
    let Some((program, args)) = argv.split_first() else {
        return failed("nothing to run: empty argv".into());
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    isolate(&mut command);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot run {program}: {e}")),
    };
    let group = Tree::of(&child);
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        keep,
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        keep,
    );
    // A thread waits for the child; this one waits for that thread's word, at most
    // until the time limit, so the run ends the moment the child does (no polling).
    let (exited, exit_of) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    let waited = match exit_of.recv_timeout(timeout.saturating_sub(started.elapsed())) {
        Ok(waited) => Ok(waited),
        Err(_) => {
            // Killing the group ends the child, and so the waiting thread's wait.
            group.kill();
            let _ = exit_of.recv();
            Err(Exit::TimedOut)
        }
    };
    let status = match waited {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(Exit::Failed(format!("cannot wait for {program}: {e}"))),
        Err(timed_out) => Err(timed_out),
    };
    // Whatever it left in its group goes too, so the pipes close and the reads end.
    group.kill();
    let exit = match status {
        Ok(s) => match (s.code(), tree::signal(&s)) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Failed("ended without a code or a signal".into()),
        },
        Err(exit) => exit,
    };
    Finished {
        exit,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        duration: started.elapsed(),
    }
}

/// A program's process tree, killed as one: on Unix its process group (the program
/// leads a group of its own), on Windows a job object holding it.
#[cfg(unix)]
mod tree {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Child, Command, ExitStatus};

    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    /// Makes the program lead a process group of its own when spawned.
    pub(crate) fn isolate(command: &mut Command) {
        command.process_group(0);
    }

    /// The group a child spawned after [`isolate`] leads.
    pub(crate) struct Tree(Pid);

    impl Tree {
        /// The child's group: its pid is the group id.
        pub(crate) fn of(child: &Child) -> Tree {
            Tree(Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX)))
        }

        /// Kills every process in the group (none left is not an error).
        pub(crate) fn kill(&self) {
            let _ = killpg(self.0, Signal::SIGKILL);
        }
    }

    /// The signal that ended it, if one did.
    pub(crate) fn signal(status: &ExitStatus) -> Option<i32> {
        status.signal()
    }
}

#[cfg(windows)]
mod tree {
    use std::os::windows::io::AsRawHandle;
    use std::process::{Child, Command, ExitStatus};

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
    };

    /// Nothing to set before spawning: the job is made after.
    pub(crate) fn isolate(_command: &mut Command) {}

    /// A job object holding the child, and what it starts from then on.
    pub(crate) struct Tree(Option<usize>);

    impl Tree {
        /// A new job with the child in it; without one (the call failed), killing
        /// reaches nothing and the caller's wait still ends with the child.
        pub(crate) fn of(child: &Child) -> Tree {
            // SAFETY: CreateJobObjectW with no attributes and no name only allocates a
            // handle; AssignProcessToJobObject is given that handle and the child's
            // process handle, which `child` keeps open for this call.
            #[allow(unsafe_code)]
            let job = unsafe {
                let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
                if !job.is_null()
                    && AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE) == 0
                {
                    CloseHandle(job);
                    std::ptr::null_mut()
                } else {
                    job
                }
            };
            Tree((!job.is_null()).then_some(job as usize))
        }

        /// Ends every process in the job.
        pub(crate) fn kill(&self) {
            if let Some(job) = self.0 {
                // SAFETY: the handle is the job made in `of`, open until drop.
                #[allow(unsafe_code)]
                unsafe {
                    TerminateJobObject(job as HANDLE, 1);
                }
            }
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            if let Some(job) = self.0 {
                // SAFETY: closed once, here; no use follows.
                #[allow(unsafe_code)]
                unsafe {
                    CloseHandle(job as HANDLE);
                }
            }
        }
    }

    /// Windows ends programs with codes, not signals.
    pub(crate) fn signal(_status: &ExitStatus) -> Option<i32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exit_codes_signals_timeouts_and_failures_are_told_apart() {
        let r = run(
            &argv(&["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
            1024,
        );
        assert_eq!(r.exit, Exit::Code(3));
        assert_eq!(
            (r.stdout.as_slice(), r.stderr.as_slice()),
            (&b"out\n"[..], &b"err\n"[..])
        );
        let r = run(
            &argv(&["/bin/sh", "-c", "kill -TERM $$"]),
            Duration::from_secs(10),
            1024,
        );
        assert_eq!(r.exit, Exit::Signal(15));
        let r = run(
            &argv(&["/bin/sleep", "30"]),
            Duration::from_millis(200),
            1024,
        );
        assert_eq!(r.exit, Exit::TimedOut);
        assert!(
            r.duration < Duration::from_secs(10),
            "killed, not waited for"
        );
        let r = run(
            &argv(&["/nonexistent/program"]),
            Duration::from_secs(1),
            1024,
        );
        assert!(matches!(r.exit, Exit::Failed(ref why) if why.contains("/nonexistent/program")));
    }

    #[test]
    fn output_is_bounded_and_a_lingering_child_does_not_hold_it_open() {
        // 1 MiB of output, 100 bytes kept.
        let r = run(
            &argv(&["/bin/sh", "-c", "head -c 1048576 /dev/zero"]),
            Duration::from_secs(10),
            100,
        );
        assert_eq!((r.exit, r.stdout.len()), (Exit::Code(0), 100));
        // A background child keeps stdout open; the run still ends when the program does.
        let r = run(
            &argv(&["/bin/sh", "-c", "sleep 30 & echo started"]),
            Duration::from_secs(20),
            100,
        );
        assert_eq!(r.exit, Exit::Code(0));
        assert!(r.duration < Duration::from_secs(20), "{:?}", r.duration);
    }
}
