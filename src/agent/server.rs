//! The agent's HTTP/1.1 listener: accepts connections (at most `limits.http_max_conns_per_client`
//! at a time from one address, see `connlimit`), reads requests (`request`: bounded and
//! streaming), hands them to `http::handle`, writes the answers, keeps connections alive. A blocking query may wait for minutes, so a connection
//! holds no buffer while its request runs: 10,000 waiting clients stay cheap (hyper keeps about
//! 16 KiB per connection, which measured 235 MiB for 10,000 waiters).

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connlimit::ConnLimiter;
use super::dispatch::answer;
use super::request::{read_request, Parser};
use super::Agent;

/// How long an idle keep-alive connection, or a slow request, may take.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long shutdown waits for answers in flight.
const DRAIN: Duration = Duration::from_millis(800);

/// Accepts connections until `shutdown`, then lets the ones in flight answer.
/// `rpc`: the server port, which answers the Raft and forwarding endpoints only.
pub async fn serve(
    listener: TcpListener,
    agent: Arc<Agent>,
    shutdown: CancellationToken,
    rpc: bool,
) {
    let tracker = TaskTracker::new();
    // Consul limits the HTTP port's connections per client address, not the server port's.
    let limiter = ConnLimiter::new(if rpc {
        0
    } else {
        agent.config.http_max_conns_per_client
    });
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => match limiter.accept(peer.ip()) {
                Some(slot) => {
                    let conn = connection(stream, agent.clone(), shutdown.clone(), rpc);
                    tracker.spawn(async move {
                        conn.await;
                        drop(slot);
                    });
                }
                None => {
                    tracker.spawn(super::connlimit::refuse(stream));
                }
            },
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracker.close();
    let _ = tokio::time::timeout(DRAIN, tracker.wait()).await;
}

async fn connection(
    mut stream: TcpStream,
    agent: Arc<Agent>,
    shutdown: CancellationToken,
    rpc: bool,
) {
    let _ = stream.set_nodelay(true);
    // h2c with prior knowledge: the same port, told apart by the client's first bytes.
    if super::h2::starts_with_preface(&stream).await {
        return super::h2::serve(stream, agent, shutdown, rpc).await;
    }
    // Keeps the bytes of a pipelined next request, read along with the previous one.
    let mut parser = Parser::default();
    loop {
        let read = tokio::select! {
            r = tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut stream, &mut parser)) => r,
            _ = shutdown.cancelled() => return,
        };
        let req = match read {
            Ok(Ok(Some(req))) => req,
            Ok(Ok(None)) | Err(_) => return,
            Ok(Err(bad)) => {
                if stream.write_all(&bad.encode(false, false)).await.is_ok() {
                    super::request::close_after_error(&mut stream).await;
                }
                return;
            }
        };
        let head_only = req.method == Method::HEAD;
        let method = if head_only { Method::GET } else { req.method };
        let reply = answer(&agent, rpc, method, &req.target, req.body, req.token).await;
        let keep_alive = req.keep_alive && !shutdown.is_cancelled();
        if stream
            .write_all(&reply.encode(head_only, keep_alive))
            .await
            .is_err()
            || !keep_alive
        {
            // Dropping the stream closes it.
            return;
        }
    }
}
