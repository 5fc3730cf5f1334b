//! The agent's HTTP port under careless and hostile clients: Consul's per-client connection
//! limit (429 for the one over it), framing errors answered 400 with nothing stored, and other
//! clients' latency while hostile requests run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{eventually, request, target_tmp, Agent};

/// go-connlimit's refusal, which Consul writes to the connection over the limit.
const TOO_MANY: &str = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 81\r\nConnection: close\r\n\r\nYour IP is issuing too many concurrent connections, please rate limit your calls\n";

/// Opens a connection and proves the agent serves it (a keep-alive request and its answer).
fn open_served(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _) = read_answer(&mut s);
    assert_eq!(status, 200);
    s
}

/// One answer off a keep-alive connection: status and body (Content-Length framed).
fn read_answer(s: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read head");
        assert!(n > 0, "closed mid-head: {}", String::from_utf8_lossy(&raw));
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("read body");
    (status, body)
}

/// Everything the agent writes to a new connection before closing it.
fn refused_answer(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

fn assert_limit(agent: &Agent, limit: usize) {
    let mut held: Vec<TcpStream> = (0..limit).map(|_| open_served(&agent.addr)).collect();
    assert_eq!(
        refused_answer(&agent.addr),
        TOO_MANY,
        "connection {} from 127.0.0.1",
        limit + 1
    );
    // A request on a refused connection gets the same answer, not a reset.
    let refused = request(&agent.addr, "GET", "/v1/status/leader", b"");
    assert_eq!(
        (refused.status, refused.text().as_str()),
        (
            429,
            "Your IP is issuing too many concurrent connections, please rate limit your calls\n"
        )
    );
    // Closing one frees its slot.
    drop(held.pop());
    let fresh = eventually(10, "a freed slot", || {
        let r = request(&agent.addr, "GET", "/v1/status/leader", b"");
        (r.status == 200).then_some(r)
    });
    assert_eq!(fresh.status, 200);
}

#[test]
fn the_201st_connection_from_one_address_gets_consuls_429() {
    let agent = Agent::dev();
    assert_limit(&agent, 200);
}

#[test]
fn a_configured_limit_refuses_the_sixth_connection() {
    let dir = target_tmp("agent_limits_hcl");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("limits.hcl");
    std::fs::write(&file, "limits {\n  http_max_conns_per_client = 5\n}\n").unwrap();
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        file.to_str().unwrap(),
    ]);
    assert_limit(&agent, 5);
    drop(agent);
    // The flag sets it too, over the file.
    let agent = Agent::start(&[
        "-dev",
        "-http-port",
        "0",
        "-config-file",
        file.to_str().unwrap(),
        "-http-max-conns-per-client",
        "3",
    ]);
    assert_limit(&agent, 3);
    drop(agent);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Sends raw bytes as one request and reads the answer (the agent closes after an error).
fn raw_exchange(addr: &str, wire: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The agent may answer and close before all of it is written.
    let _ = s.write_all(wire);
    let (status, body) = read_answer(&mut s);
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn chunked_put(path: &str, chunks: &[&[u8]], tail: &[u8]) -> Vec<u8> {
    let mut w = format!("PUT {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .into_bytes();
    for c in chunks {
        w.extend(format!("{:x}\r\n", c.len()).as_bytes());
        w.extend_from_slice(c);
        w.extend_from_slice(b"\r\n");
    }
    w.extend_from_slice(tail);
    w
}

#[test]
fn malformed_framing_is_refused_and_nothing_is_stored() {
    let agent = Agent::dev();
    let missing_crlf =
        b"PUT /v1/kv/bad/crlf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n";
    assert_eq!(
        raw_exchange(&agent.addr, missing_crlf),
        (400, "400 Bad Request: malformed chunked encoding".into())
    );
    let overflow =
        b"PUT /v1/kv/bad/huge HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc";
    assert_eq!(raw_exchange(&agent.addr, overflow).0, 413);
    let mut extension =
        b"PUT /v1/kv/bad/ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    extension.extend(std::iter::repeat_n(b'e', 5000));
    assert_eq!(
        raw_exchange(&agent.addr, &extension),
        (400, "400 Bad Request: header line too long".into())
    );
    let big = vec![b'v'; 600 * 1024];
    let (status, text) = raw_exchange(
        &agent.addr,
        &chunked_put("/v1/kv/bad/big", &[&big], b"0\r\n\r\n"),
    );
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("max size: 524288 bytes"), "{text}");
    for key in ["crlf", "huge", "ext", "big"] {
        assert_eq!(agent.get(&format!("/v1/kv/bad/{key}")).status, 404, "{key}");
    }
    // The agent still serves, and a correct chunked value is stored whole.
    let ok = raw_exchange(
        &agent.addr,
        &chunked_put("/v1/kv/good", &[b"hel", b"lo"], b"0\r\n\r\n"),
    );
    assert_eq!(ok, (200, "true".into()));
    assert_eq!(agent.get("/v1/kv/good?raw").text(), "hello");
}

/// A 1 MiB registration body sent as 1-byte chunks.
fn one_byte_chunks() -> Vec<u8> {
    let mut wire =
        b"PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for i in 0..1_048_576u32 {
        wire.extend_from_slice(b"1\r\n");
        wire.push(b'a' + (i % 26) as u8);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

/// Hostile clients, each in a loop until `stop`: a 1 MiB body in 1-byte chunks, an endless
/// chunk extension, endless trailers, a head sent a byte at a time, an overflowing chunk size.
fn hostile_loops(addr: &str, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<usize>> {
    let tiny_chunks = one_byte_chunks();
    let mut endless_ext =
        b"PUT /v1/kv/h/ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    endless_ext.extend(std::iter::repeat_n(b'x', 1 << 20));
    let mut endless_trailers =
        b"PUT /v1/kv/h/tr HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
    while endless_trailers.len() < 2 << 20 {
        endless_trailers
            .extend_from_slice(b"X-Trailer: tttttttttttttttttttttttttttttttttttttttt\r\n");
    }
    let overflow =
        b"PUT /v1/kv/h/of HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"
            .to_vec();
    let mut handles = Vec::new();
    for wire in [tiny_chunks, endless_ext, endless_trailers, overflow] {
        let (addr, stop) = (addr.to_string(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(&addr) else {
                    continue;
                };
                // In pieces, so that the loop stops soon after `stop`.
                for piece in wire.chunks(64 * 1024) {
                    if stop.load(Ordering::Relaxed) || s.write_all(piece).is_err() {
                        break;
                    }
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let mut sink = Vec::new();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let _ = s.read_to_end(&mut sink);
                sent += 1;
            }
            sent
        }));
    }
    // A slowloris: a head a byte at a time, never finished.
    let (addr, stop) = (addr.to_string(), stop.clone());
    handles.push(std::thread::spawn(move || {
        let mut s = TcpStream::connect(&addr).expect("connect");
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            let byte = if sent == 0 { b"G" } else { b"x" };
            if s.write_all(byte).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        sent
    }));
    handles
}

#[test]
fn hostile_requests_do_not_delay_other_clients() {
    let agent = Agent::dev();
    assert_eq!(agent.put("/v1/kv/probe", "here").status, 200);
    let alone = Instant::now();
    let (status, _) = raw_exchange(&agent.addr, &one_byte_chunks());
    println!(
        "1 MiB body in 1-byte chunks (6 MiB on the wire), alone: answered {status} in {:?}",
        alone.elapsed()
    );
    assert_eq!(status, 400, "decoded whole, then refused as JSON");
    let stop = Arc::new(AtomicBool::new(false));
    let hostile = hostile_loops(&agent.addr, &stop);
    // Let the hostile clients get going.
    std::thread::sleep(Duration::from_millis(300));
    let mut latencies = Vec::new();
    let started = Instant::now();
    while latencies.len() < 300 {
        let t = Instant::now();
        let r = request(&agent.addr, "GET", "/v1/kv/probe?raw", b"");
        latencies.push(t.elapsed());
        assert_eq!((r.status, r.text().as_str()), (200, "here"));
        std::thread::sleep(Duration::from_millis(5));
    }
    let measured_for = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let joined = Instant::now();
    let rounds: Vec<usize> = hostile.into_iter().map(|h| h.join().unwrap()).collect();
    println!("hostile clients stopped in {:?}", joined.elapsed());
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let (p50, p99, max) = (pct(0.50), pct(0.99), *latencies.last().unwrap());
    println!(
        "other clients under hostile load ({measured_for:?}; hostile rounds: 1-byte chunks {}, endless extension {}, endless trailers {}, overflow {}, slowloris bytes {}): p50 {p50:?}, p99 {p99:?}, max {max:?}",
        rounds[0], rounds[1], rounds[2], rounds[3], rounds[4]
    );
    assert!(
        rounds[0] >= 1,
        "the 1-byte-chunk body was sent at least once"
    );
    assert!(
        p99 < Duration::from_millis(50),
        "other clients' p99 {p99:?} (p50 {p50:?}, max {max:?})"
    );
    for key in ["ext", "tr", "of"] {
        assert_eq!(agent.get(&format!("/v1/kv/h/{key}")).status, 404, "{key}");
    }
}

#[test]
fn registrations_get_consuls_limits_and_gos_json() {
    let agent = Agent::dev();
    let huge = format!(
        r#"{{"Name": "big", "Meta": {{"v": "{}"}}}}"#,
        "x".repeat(10 << 20)
    );
    let r = request(
        &agent.addr,
        "PUT",
        "/v1/agent/service/register",
        huge.as_bytes(),
    );
    assert_eq!(r.status, 400);
    let text = r.text();
    assert!(
        text.starts_with("Invalid Service Meta: Couldn't load metadata pair ('v', 'xxx")
            && text.ends_with("Value is too long (limit: 512 characters)"),
        "{}",
        &text[..100]
    );
    for meta in [
        r#"{"a!": "1"}"#.to_string(),
        r#"{"consul-x": "1"}"#.to_string(),
        format!(
            "{{{}}}",
            (0..65)
                .map(|i| format!(r#""k{i}": "v""#))
                .collect::<Vec<_>>()
                .join(",")
        ),
    ] {
        let body = format!(r#"{{"Name": "big", "Meta": {meta}}}"#);
        let r = request(
            &agent.addr,
            "PUT",
            "/v1/agent/service/register",
            body.as_bytes(),
        );
        assert_eq!(r.status, 400, "{meta}");
    }
    assert_eq!(
        agent.get("/v1/agent/service/big").status,
        404,
        "nothing stored"
    );
    // A lone surrogate is U+FFFD, and bytes after the object are not read (Go's json.Decoder).
    let body = br#"{"Name": "odd", "Tags": ["a\ud800b"]} and then some"#;
    let r = request(&agent.addr, "PUT", "/v1/agent/service/register", body);
    assert_eq!((r.status, r.text().as_str()), (200, ""));
    let svc = agent.get("/v1/agent/service/odd").json();
    assert_eq!(svc["Tags"][0], "a\u{fffd}b");
}
