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
    stream: Option<tokio::io::BufStream<Box<dyn PeerIo>>>,
}

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
        let exchanged = tokio::time::timeout(option.hard_ttl(), self.exchange(path, &body)).await;
        let answer = match exchanged {
            Ok(Ok(answer)) => answer,
            failed => {
                // Whatever state the connection is in, the next call starts on a fresh one.
                self.stream = None;
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

    /// Sends one POST and reads its answer's body, connecting first if need be.
    async fn exchange(&mut self, path: &str, body: &[u8]) -> Result<Vec<u8>, Failure> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        if self.stream.is_none() {
            let io = self
                .peers
                .connect(&self.addr)
                .await
                .map_err(Failure::Unreachable)?;
            self.stream = Some(tokio::io::BufStream::new(io));
        }
        let Some(stream) = self.stream.as_mut() else {
            unreachable!("connected above")
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
            Some(200) => Ok(answer),
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
