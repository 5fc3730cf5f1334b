//! The network between servers: JSON over HTTP/1.1 POSTs to the other servers' server port.
//! Raft's own RPCs (`/raft/append`, `/raft/vote`, `/raft/snapshot`) go over one kept-alive
//! connection per peer (`Conn`), written and read directly: openraft sends them one at a time,
//! and a pooled client's connection task cost two task switches and about a third of a
//! follower's CPU per write. The cluster's other requests (join, forwarded writes, read
//! indexes) are rare and go through `post` on a shared reqwest client. Both sign their
//! requests with the `-encrypt` key and use TLS when configured (`peers::Peers`).

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::peers::{PeerIo, Peers};
use super::{NodeId, TypeConfig};

/// Makes connections to other servers.
#[derive(Clone)]
pub struct Network(pub Arc<Peers>);

/// One server's connection to another for Raft's RPCs: a kept-alive HTTP/1.1 connection,
/// written and read directly by the caller. openraft calls it one RPC at a time; hyper's pool
/// and connection task added two task switches and about a third of a follower's CPU per write.
pub struct Conn {
    target: NodeId,
    addr: String,
    peers: Arc<Peers>,
    stream: Option<Stream>,
}

type Stream = tokio::io::BufStream<Box<dyn PeerIo>>;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Conn;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Conn {
        Conn {
            target,
            addr: node.addr.clone(),
            peers: self.0.clone(),
            stream: None,
        }
    }
}

/// POSTs `body` as JSON to `path` on the server port at `addr` and decodes the JSON answer.
pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
    peers: &Peers,
    addr: &str,
    path: &str,
    body: &Req,
    timeout: Duration,
) -> Result<Resp, PostError> {
    let err = |sent: bool, message: String| PostError { sent, message };
    let bytes = serde_json::to_vec(body).map_err(|e| err(false, e.to_string()))?;
    let resp = peers
        .client()
        .post(peers.url(addr, path, &bytes))
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .body(bytes)
        .send()
        .await
        .map_err(|e| err(!e.is_connect(), format!("{addr}: {e}")))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| err(true, format!("{addr}: {e}")))?;
    if !status.is_success() {
        return Err(err(true, String::from_utf8_lossy(&body).into_owned()));
    }
    serde_json::from_slice(&body).map_err(|e| err(true, format!("{addr}: bad answer: {e}")))
}

/// A failed `post`: `sent` when the request may have reached the other side.
#[derive(Debug)]
pub struct PostError {
    pub sent: bool,
    pub message: String,
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<PostError> for String {
    fn from(e: PostError) -> String {
        e.message
    }
}

/// Why an RPC got no answer: the peer could not be reached, or the exchange broke.
enum Failure {
    Unreachable(std::io::Error),
    Broken(std::io::Error),
}

impl Conn {
    async fn call<Req, Resp, E>(
        &mut self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        // The connection is out of `self` while the exchange runs, and back only once it has
        // read its whole answer: a call abandoned half way (a timeout here, or openraft's own
        // around this call, which drops it) leaves no connection with an answer still to come,
        // which the next call would take for its own. (That once let a leader count entries a
        // follower had not stored as replicated.)
        let stream = self.stream.take();
        let exchanged =
            tokio::time::timeout(option.hard_ttl(), self.exchange(stream, path, &body)).await;
        let answer = match exchanged {
            Ok(Ok((stream, answer))) => {
                self.stream = Some(stream);
                answer
            }
            failed => {
                return Err(match failed {
                    Ok(Err(Failure::Unreachable(e))) => RPCError::Unreachable(Unreachable::new(&e)),
                    Ok(Err(Failure::Broken(e))) => RPCError::Network(NetworkError::new(&e)),
                    _ => RPCError::Network(NetworkError::new(&std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("{}{path}: no answer in {:?}", self.addr, option.hard_ttl()),
                    ))),
                });
            }
        };
        let answer: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&answer)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// Sends one POST on `stream` (a new connection if none) and reads its answer's body;
    /// hands the connection back with the answer, ready for the next call.
    async fn exchange(
        &self,
        stream: Option<Stream>,
        path: &str,
        body: &[u8],
    ) -> Result<(Stream, Vec<u8>), Failure> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let mut stream = match stream {
            Some(s) => s,
            None => {
                let io = self
                    .peers
                    .connect(&self.addr)
                    .await
                    .map_err(Failure::Unreachable)?;
                tokio::io::BufStream::new(io)
            }
        };
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.peers.target(path, body),
            self.addr,
            body.len()
        );
        let broken = Failure::Broken;
        stream.write_all(head.as_bytes()).await.map_err(broken)?;
        stream.write_all(body).await.map_err(broken)?;
        stream.flush().await.map_err(broken)?;
        // The head: a status line, then headers up to an empty line; only the length matters.
        let mut status = None;
        let mut length = None;
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await.map_err(broken)? == 0 {
                return Err(broken(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let text = line.trim_end();
            if text.is_empty() {
                break;
            }
            if status.is_none() {
                status = text.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok());
            } else if let Some((name, value)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let bad = |what: &str| broken(std::io::Error::new(std::io::ErrorKind::InvalidData, what));
        let length = length.ok_or_else(|| bad("answer without Content-Length"))?;
        let mut answer = vec![0; length];
        stream.read_exact(&mut answer).await.map_err(broken)?;
        match status {
            Some(200) => Ok((stream, answer)),
            _ => Err(bad(&format!(
                "{path}: {}",
                String::from_utf8_lossy(&answer).trim_end()
            ))),
        }
    }
}

impl RaftNetwork<TypeConfig> for Conn {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call("/raft/append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call("/raft/snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call("/raft/vote", &rpc, &option).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use openraft::Vote;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    use super::*;

    /// A peer that answers each vote request with the term of its arrival order (1, 2, …),
    /// the first one late.
    async fn numbering_peer() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(AtomicU64::new(0));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut conn = BufReader::new(tcp);
                    loop {
                        let mut length = 0;
                        loop {
                            let mut line = String::new();
                            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap();
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        conn.read_exact(&mut body).await.unwrap();
                        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                        if n == 1 {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                        let answer: Result<VoteResponse<NodeId>, RaftError<NodeId>> =
                            Ok(VoteResponse {
                                vote: Vote::new(n, 1),
                                vote_granted: false,
                                last_log_id: None,
                            });
                        let body = serde_json::to_vec(&answer).unwrap();
                        let head =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                        let tcp = conn.get_mut();
                        if tcp.write_all(head.as_bytes()).await.is_err()
                            || tcp.write_all(&body).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_call_abandoned_half_way_does_not_hand_its_answer_to_the_next() {
        let addr = numbering_peer().await;
        let mut conn = Network(Arc::new(Peers::plain()))
            .new_client(2, &BasicNode::new(addr))
            .await;
        let ask = || VoteRequest::new(Vote::new(7, 1), None);
        // openraft drops a call that outlasts its own timeout, answer still to come.
        let first = tokio::time::timeout(
            Duration::from_millis(50),
            conn.vote(ask(), RPCOption::new(Duration::from_secs(5))),
        )
        .await;
        assert!(first.is_err(), "the first answer comes late");
        let second = conn
            .vote(ask(), RPCOption::new(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(
            second.vote,
            Vote::new(2, 1),
            "the second call got the first's answer"
        );
    }
}
