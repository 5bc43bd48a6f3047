//! `einv-load serve` on its own: it warns when it listens beyond loopback, and at its
//! open-file limit it waits instead of spinning. Every request goes to 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::einv;

/// A `serve` child, killed when dropped.
pub(crate) struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        // A server that died before the test ended says how, for the failure message.
        if let Ok(Some(status)) = self.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = self.0.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            eprintln!("serve exited early ({status}): {err}");
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `cmd` (a `serve`), and read the port it listens on from its first line.
pub(crate) fn start(mut cmd: Command) -> (Served, u16) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line}"));
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    (Served(child), port)
}

/// Stop `served` and return what it wrote on stderr.
fn stderr_of(mut served: Served) -> String {
    let _ = served.0.kill();
    let mut err = String::new();
    served.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    err
}

#[test]
fn listening_beyond_loopback_warns() {
    // Bound to every interface, but nothing is sent to it: the test only reads what it says.
    let (exposed, _) = start({
        let mut c = einv();
        c.args(["serve", "--addr", "0.0.0.0:0"]);
        c
    });
    let err = stderr_of(exposed);
    assert!(err.contains("is not a loopback address") && err.contains("127.0.0.1"), "{err}");
    let (local, _) = start({
        let mut c = einv();
        c.args(["serve", "--addr", "127.0.0.1:0"]);
        c
    });
    let err = stderr_of(local);
    assert!(!err.contains("loopback"), "loopback is quiet: {err}");
}

/// CPU seconds (user + system) `pid` has used, from /proc/PID/stat (clock ticks of 1/100 s).
#[cfg(target_os = "linux")]
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// With 64 file descriptors and room for 1,000 connections, 100 connections exhaust the
/// descriptors: accept fails with EMFILE while the rest wait in the backlog. `serve`
/// must back off (it used to retry at once: 100 % of a core, answering nobody), and
/// serve again once descriptors free up.
#[cfg(target_os = "linux")]
#[test]
fn at_its_file_limit_serve_backs_off_instead_of_spinning() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=64", "--"]).arg(env!("CARGO_BIN_EXE_einv-load"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--max-connections", "1000", "--header-timeout", "60s"]);
    let (served, port) = start(cmd);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let held: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // prlimit execs the command: the child's pid is the server's.
    let pid = served.0.id();
    let before = cpu_seconds(pid);
    // A window to measure CPU over, not a wait for something to happen.
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_seconds(pid) - before;
    // Backing off costs a few accept calls a second; spinning costs whatever share of a
    // core the machine gives it, on a busy one still several tenths of a second.
    assert!(used < 0.3, "serve used {used:.2} s of CPU in 3 s while out of file descriptors");
    drop(held);
    // Descriptors free again: a normal request is answered (within 10 s of tries).
    let mut last = String::new();
    let answered = (0..100).any(|_| {
        last = healthz(addr);
        let ok = last.starts_with("HTTP/1.1 200");
        if !ok {
            std::thread::sleep(Duration::from_millis(100));
        }
        ok
    });
    assert!(answered, "serve answers again once connections close; the last try got {last:?}");
}

/// GET /healthz on a new connection: what came back, or why nothing did.
fn healthz(addr: SocketAddr) -> String {
    let mut s = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(e) => return format!("connect: {e}"),
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if let Err(e) = s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n") {
        return format!("write: {e}");
    }
    let mut out = String::new();
    match s.read_to_string(&mut out) {
        Ok(_) => out,
        Err(e) => format!("read: {e} after {out:?}"),
    }
}
