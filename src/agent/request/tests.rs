//! The request parser against hand-written framing errors and, with proptest, against random
//! chunkings, random read boundaries and random mutations of valid requests.

use proptest::prelude::*;

use super::*;

/// Status and body of an error answer.
fn answer(reply: &Reply) -> (u16, String) {
    let wire = String::from_utf8_lossy(&reply.encode(false, false)).into_owned();
    let status = wire[9..12].parse().unwrap();
    let body = wire.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

/// Feeds `parts` one read at a time: the requests completed, or the first error.
fn parse_parts(parts: &[&[u8]]) -> Result<Vec<Request>, Reply> {
    let mut parser = Parser::default();
    let mut done = Vec::new();
    for part in parts {
        parser.feed(part);
        loop {
            match parser.advance()? {
                Step::Done(req) => done.push(req),
                Step::Continue => continue,
                Step::NeedMore => break,
            }
        }
    }
    Ok(done)
}

fn parse_all(wire: &[u8]) -> Result<Vec<Request>, Reply> {
    parse_parts(&[wire])
}

fn error_of(wire: &[u8]) -> (u16, String) {
    answer(&parse_all(wire).expect_err("a framing error"))
}

/// `body` as chunks of the given sizes (cycled), with a terminating zero chunk.
fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        i += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn chunked_put(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut wire =
        b"PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    wire.extend(chunked(body, sizes));
    wire
}

#[test]
fn heads_bodies_and_pipelining() {
    let reqs = parse_all(
        b"PUT /v1/kv/a?cas=0 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
          GET /v1/kv/a HTTP/1.0\r\n\r\n\
          PUT /v1/kv/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
    )
    .unwrap();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        (&reqs[0].method, reqs[0].target.as_str(), &reqs[0].body[..]),
        (&Method::PUT, "/v1/kv/a?cas=0", &b"abc"[..])
    );
    assert!(reqs[0].keep_alive);
    assert!(!reqs[1].keep_alive, "HTTP/1.0 closes");
    assert_eq!(reqs[2].body, b"abcde");
}

#[test]
fn an_idle_parser_holds_no_buffer() {
    let mut parser = Parser::default();
    parser.feed(b"GET / HTTP/1.1\r\n\r\n");
    assert!(matches!(parser.advance().unwrap(), Step::Done(_)));
    assert!(parser.is_idle());
    assert_eq!(parser.buf.capacity(), 0);
}

#[test]
fn a_chunk_without_its_crlf_is_refused() {
    let wire = b"PUT /v1/kv/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n";
    assert_eq!(
        error_of(wire),
        (400, "400 Bad Request: malformed chunked encoding".into())
    );
}

#[test]
fn chunk_sizes_that_overflow_are_too_large_not_a_panic() {
    let wire = b"PUT /v1/kv/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n";
    let (status, body) = error_of(wire);
    assert_eq!(status, 413);
    assert!(body.starts_with("Request body("), "{body}");
    let wire = b"POST /v1/agent/service/register HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
    assert_eq!(error_of(wire).0, 413);
    let wire = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n";
    assert_eq!(
        error_of(wire),
        (400, "400 Bad Request: http chunk length too large".into())
    );
}

#[test]
fn chunk_lines_have_gos_limits_and_words() {
    let head = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let with = |line: &[u8]| [&head[..], line].concat();
    let mut long = b"1;".to_vec();
    long.extend(std::iter::repeat_n(b'x', 5000));
    assert_eq!(
        error_of(&with(&long)),
        (400, "400 Bad Request: header line too long".into()),
        "an endless extension is cut at 4 KiB, before its end arrives"
    );
    assert_eq!(
        error_of(&with(b"1\na\r\n")),
        (
            400,
            "400 Bad Request: chunked line ends with bare LF".into()
        )
    );
    assert_eq!(
        error_of(&with(b"z\r\n")),
        (400, "400 Bad Request: invalid byte in chunk length".into())
    );
    assert_eq!(
        error_of(&with(b";x\r\n")),
        (
            400,
            "400 Bad Request: empty hex number for chunk length".into()
        )
    );
    // Tiny chunks with large extensions: Go's non-data rule.
    let mut many = head.clone();
    for _ in 0..20 {
        many.extend(format!("1;{}\r\na\r\n", "e".repeat(4000)).as_bytes());
    }
    assert_eq!(
        error_of(&many),
        (
            400,
            "400 Bad Request: chunked encoding contains too much non-data".into()
        )
    );
}

#[test]
fn endless_trailers_count_against_the_head_limit() {
    let mut wire = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
    let line = format!("X-Pad: {}\r\n", "p".repeat(1000));
    while wire.len() < MAX_HEAD + 2000 {
        wire.extend(line.as_bytes());
    }
    assert_eq!(
        error_of(&wire),
        (431, "431 Request Header Fields Too Large".into())
    );
    assert_eq!(
        error_of(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n").0,
        400
    );
}

#[test]
fn heads_are_bounded() {
    let mut wire = b"GET / HTTP/1.1\r\n".to_vec();
    while wire.len() < MAX_HEAD + 10 {
        wire.extend(b"X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    // Headers not yet ended: refused once past the limit, without waiting for the end.
    assert_eq!(
        error_of(&wire),
        (431, "431 Request Header Fields Too Large".into())
    );
}

#[test]
fn kv_values_over_512_kib_are_refused_from_the_head() {
    let wire = b"PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 600000\r\n\r\n";
    assert_eq!(
        error_of(wire),
        (413, "Request body(600000 bytes) too large, max size: 524288 bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.".into())
    );
    let body = vec![b'v'; 524_289];
    let (status, _) = error_of(&chunked_put(&body, &[100_000]));
    assert_eq!(status, 413, "a chunked value is counted as it arrives");
    let ok = vec![b'v'; 524_288];
    assert_eq!(
        parse_all(&chunked_put(&ok, &[7, 100_000])).unwrap()[0].body,
        ok
    );
}

#[test]
fn content_length_is_read_as_go_reads_it() {
    for (value, reason) in [
        ("+3", "bad Content-Length \"+3\""),
        ("-1", "bad Content-Length \"-1\""),
        (
            "99999999999999999999",
            "bad Content-Length \"99999999999999999999\"",
        ),
    ] {
        let wire = format!("POST /x HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            error_of(wire.as_bytes()),
            (400, format!("400 Bad Request: {reason}"))
        );
    }
    assert_eq!(
        error_of(b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        (400, "400 Bad Request: http: message cannot contain multiple Content-Length headers; got [\"1\" \"2\"]".into())
    );
    assert_eq!(
        error_of(b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        (501, "unsupported transfer encoding: \"gzip\"".into())
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let mut parser = Parser::default();
    parser.feed(b"PUT /v1/kv/k HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    assert!(matches!(parser.advance().unwrap(), Step::Continue));
    assert!(matches!(parser.advance().unwrap(), Step::NeedMore));
    parser.feed(b"hi");
    let Step::Done(req) = parser.advance().unwrap() else {
        panic!("the body completes the request")
    };
    assert_eq!(req.body, b"hi");
}

#[test]
fn one_byte_chunks_of_a_mebibyte_cost_linear_time() {
    let body: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let wire = chunked_put(&body, &[1]);
    // Fed as a slow client sends it: a few bytes per read.
    let parts: Vec<&[u8]> = wire.chunks(7).collect();
    let started = std::time::Instant::now();
    let mut parser = Parser::new(|_, _| BodyLimit {
        max: MAX_BODY,
        too_large: |_| Reply::error(413, "too large"),
    });
    let mut got = None;
    for part in parts {
        parser.feed(part);
        if let Step::Done(req) = parser.advance().unwrap() {
            got = Some(req);
        }
    }
    let took = started.elapsed();
    assert_eq!(got.expect("the request completes").body, body);
    println!(
        "1 MiB body in 1-byte chunks, {} reads of 7 bytes: parsed in {took:?}",
        wire.len() / 7
    );
}

/// A valid request with `body`, in one of the three framings.
fn framed(body: &[u8], framing: u8, sizes: &[usize]) -> Vec<u8> {
    match framing % 3 {
        0 => chunked_put(body, sizes),
        1 => {
            let mut w = format!(
                "PUT /v1/kv/k HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            w.extend_from_slice(body);
            w
        }
        _ => {
            let mut w =
                b"POST /v1/agent/service/register HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            w.extend(chunked(body, sizes));
            w
        }
    }
}

/// Cuts `wire` at the given points (as reads would).
fn split_at_points(wire: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.sort_unstable();
    let mut parts = Vec::new();
    let mut last = 0;
    for p in points {
        parts.push(wire[last..p].to_vec());
        last = p;
    }
    parts.push(wire[last..].to_vec());
    parts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any chunking of a body, read in any pieces, decodes to the same bytes, and the request
    /// after it in the pipeline is intact.
    #[test]
    fn any_chunking_decodes_to_the_same_body(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        sizes in proptest::collection::vec(1usize..700, 1..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        framing in any::<u8>(),
    ) {
        let mut wire = framed(&body, framing, &sizes);
        wire.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
        let parts = split_at_points(&wire, &cuts);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let reqs = parse_parts(&refs).unwrap();
        prop_assert_eq!(reqs.len(), 2);
        prop_assert_eq!(&reqs[0].body, &body);
        prop_assert_eq!(reqs[1].target.as_str(), "/next");
    }

    /// A mutated request never panics the parser: it is refused with a 4xx/501, or parses
    /// as some request(s), or waits for more bytes.
    #[test]
    fn mutated_requests_are_refused_or_parsed_never_a_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        sizes in proptest::collection::vec(1usize..50, 1..4),
        framing in any::<u8>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut wire = framed(&body, framing, &sizes);
        for (at, byte, kind) in edits {
            let at = at % (wire.len() + 1);
            match kind {
                0 if at < wire.len() => wire[at] = byte,
                1 => wire.insert(at, byte),
                _ if at < wire.len() => { wire.remove(at); }
                _ => wire.push(byte),
            }
        }
        let parts = split_at_points(&wire, &cuts);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        match parse_parts(&refs) {
            Ok(reqs) => {
                for r in reqs {
                    prop_assert!(r.body.len() <= wire.len());
                }
            }
            Err(reply) => {
                let (status, _) = answer(&reply);
                prop_assert!(matches!(status, 400 | 413 | 431 | 501), "status {}", status);
            }
        }
    }

    /// Random bytes after a valid head: same rule.
    #[test]
    fn random_bodies_behind_a_chunked_head_never_panic(
        noise in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut wire = b"PUT /v1/kv/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        wire.extend(noise);
        if let Err(reply) = parse_all(&wire) {
            let (status, _) = answer(&reply);
            prop_assert!(matches!(status, 400 | 413 | 431 | 501));
        }
    }
}
