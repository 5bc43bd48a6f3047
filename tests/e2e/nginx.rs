//! Against nginx, a server the engine did not write: HTTP/1.1, prior-knowledge h2c and h2
//! over TLS, each counted by nginx's own access log, which must equal the summary's
//! `sent`. Each test starts its own nginx (one process, its own prefix and port on
//! 127.0.0.1) and stops it by PID. Without nginx the tests say so and pass, unless CI is
//! set: there a missing nginx is a failure (.ci/run installs it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{run_profile, stderr, stdout, summary};

/// How nginx listens.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Listen {
    Http1,
    /// `listen ... http2;`: prior-knowledge h2c only (nginx 1.22 speaks no HTTP/1.1 there).
    H2c,
    /// `listen ... ssl http2;`: ALPN offers h2 and http/1.1.
    Tls,
}

/// One nginx process in a temp prefix; killed on drop.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nginx binary: on PATH, or where Debian puts it (/usr/sbin is not on every PATH).
fn nginx_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nginx"));
    on_path.chain([PathBuf::from("/usr/sbin/nginx")]).find(|p| p.is_file())
}

impl Nginx {
    /// Start nginx listening as `listen`, or `None` (with a message) when nginx is not
    /// installed and CI is not set.
    fn start(listen: Listen) -> Option<Nginx> {
        let Some(bin) = nginx_binary() else {
            assert!(std::env::var_os("CI").is_none(), "CI is set and nginx is not installed (.ci/run installs it)");
            eprintln!("SKIPPED: nginx is not installed (apt-get install nginx); the nginx tests did not run");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        // A free port: nginx cannot report the one the kernel gave it.
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let tls = (listen == Listen::Tls).then(|| write_certificate(dir.path()));
        std::fs::write(dir.path().join("nginx.conf"), config(dir.path(), addr, listen, tls.is_some())).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { child, addr, dir };
        nginx.wait_until_listening();
        Some(nginx)
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            let log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "nginx did not listen on {}: {log}", self.addr);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// The certificate a TLS nginx serves, for the profile's `tls-ca`.
    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Stop nginx and count the requests it logged (the readiness probe's connection sent
    /// none, and nginx logs none for it). Stopped first: the log is unbuffered, but a
    /// request is only written once nginx is done with it.
    fn stop_and_count(mut self) -> u64 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.lines().count() as u64
    }
}

/// A self-signed certificate for 127.0.0.1 and its key, written to `dir`.
fn write_certificate(dir: &Path) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
}

/// nginx.conf: one process in the foreground, everything it writes inside `dir`, a fixed
/// small JSON answer for every request, and connections kept for the whole run.
fn config(dir: &Path, addr: SocketAddr, listen: Listen, tls: bool) -> String {
    let d = dir.display();
    let options = match listen {
        Listen::Http1 => "",
        Listen::H2c => " http2",
        Listen::Tls => " ssl http2",
    };
    let certs = match tls {
        true => format!("ssl_certificate {d}/cert.pem;\n    ssl_certificate_key {d}/key.pem;"),
        false => String::new(),
    };
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  # nginx closes a connection after 1,000 requests by default (GOAWAY over HTTP/2).
  keepalive_requests 100000;
  server {{
    listen {addr}{options};
    {certs}
    location / {{
      default_type application/json;
      return 200 '{{"ok":true}}';
    }}
  }}
}}
"#
    )
}

/// A profile for `url` with `[target]` extras: 1,000 requests/s for 2 s of invoices.
fn profile(url: &str, target: &str) -> String {
    format!(
        r#"schema = 1
name = "nginx-e2e"
[target]
url = "{url}"
connections = 4
request-timeout = "5s"
{target}
[load]
[[load.stage]]
kind = "constant"
rate = 1000
duration = "2s"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = {{ generator = "invoice" }}
"#
    )
}

fn tls_ca(nginx: &Nginx) -> String {
    format!("tls-ca = {:?}", nginx.cert().display().to_string())
}

/// Run 2,000 requests against nginx listening as `listen`, speaking `protocol`: every one
/// is answered, nginx logged exactly `sent`, and the summary names the protocol. Returns
/// the summary for further checks.
fn counted_run(listen: Listen, protocol: &str) -> Option<serde_json::Value> {
    let nginx = Nginx::start(listen)?;
    let (scheme, ca) = match listen {
        Listen::Tls => ("https", tls_ca(&nginx)),
        Listen::Http1 | Listen::H2c => ("http", String::new()),
    };
    let target = format!("protocol = {protocol:?}\n{ca}");
    let (_tmp, out, o) = run_profile(&profile(&nginx.url(scheme), &target), &[]);
    let counted = nginx.stop_and_count();
    assert_eq!(o.status.code(), Some(0), "{listen:?} {protocol}: {}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let r = &s["overall"]["requests"];
    assert_eq!((r["sent"].as_u64(), r["ok"].as_u64()), (Some(2000), Some(2000)), "{listen:?} {protocol}: {r}");
    assert_eq!(Some(counted), r["sent"].as_u64(), "{listen:?} {protocol}: nginx's access log counts what was sent");
    let c = &s["connections"];
    let h2 = listen != Listen::Http1;
    match h2 {
        true => assert_eq!(c["http2"], c["opened"], "{listen:?} {protocol}: every connection spoke HTTP/2: {c}"),
        false => assert!(c.get("http2").is_none(), "{c}"),
    }
    assert_eq!(stdout(&o).contains("HTTP/2"), h2, "the text summary names the protocol: {}", stdout(&o));
    Some(s)
}

#[test]
fn nginx_counts_what_http1_sent() {
    counted_run(Listen::Http1, "http1");
}

#[test]
fn nginx_counts_what_h2c_sent() {
    counted_run(Listen::H2c, "http2");
}

#[test]
fn nginx_counts_what_h2_over_tls_sent() {
    counted_run(Listen::Tls, "http2");
}

/// `auto` over TLS, nginx offering h2 by ALPN: the connections speak HTTP/2 and share
/// their streams as `http2` does (2 connections of 8 streams carry more than 2 requests
/// at once), and nginx still counts exactly what was sent.
#[test]
fn auto_over_tls_shares_streams_once_alpn_chose_h2() {
    let Some(nginx) = Nginx::start(Listen::Tls) else { return };
    let target = format!("protocol = \"auto\"\nmax-streams = 8\n{}", tls_ca(&nginx));
    // 1,000 requests due within 50 ms keep more than 2 in flight however fast nginx is.
    let src = profile(&nginx.url("https"), &target).replace("connections = 4", "connections = 2").replace(
        "kind = \"constant\"\nrate = 1000\nduration = \"2s\"",
        "kind = \"spike\"\nbase = 500\npeak = 20000\nat = \"1s\"\nwidth = \"50ms\"\nduration = \"2s\"",
    );
    let (_tmp, out, o) = run_profile(&src, &[]);
    let counted = nginx.stop_and_count();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let (r, c) = (&s["overall"]["requests"], &s["connections"]);
    assert_eq!(Some(counted), r["sent"].as_u64(), "{r}");
    assert_eq!(r["ok"], r["sent"], "{r}");
    assert_eq!(c["http2"], c["opened"], "ALPN chose h2 for every connection: {c}");
    assert!(c["max_open"].as_u64().is_some_and(|n| n <= 2), "{c}");
    let in_flight = c["max_in_flight"].as_u64().unwrap_or(0);
    assert!((3..=16).contains(&in_flight), "streams shared: {in_flight} in flight on 2 connections: {c}");
}
