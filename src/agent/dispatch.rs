//! One request answered, whichever listener carried it (HTTP/1.1 in `server`, HTTP/2 in `h2`,
//! HTTPS in `tls`): on the HTTP ports the API's routes (`http::handle`), on the server port the
//! Raft and forwarding endpoints, after the `-encrypt` authenticator (`rpc_auth`) is checked.
//! Keeping this in one place means no transport can skip the check.

use std::sync::Arc;

use http::Method;

use super::http::{handle, Reply};
use super::Agent;

/// Largest request body any transport reads; the API answers 413 for KV values above its own,
/// smaller, limit.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Answers one request. `rpc`: it came in on the server port. `token`: the ACL token its
/// headers carry (`acl::token_of`).
pub async fn answer(
    agent: &Arc<Agent>,
    rpc: bool,
    method: Method,
    target: &str,
    body: Vec<u8>,
    token: Option<String>,
) -> Reply {
    if !rpc {
        return handle(agent, method, target, body, token).await;
    }
    let cluster = &agent.store.cluster;
    let path = match cluster.client.key() {
        Some(key) => match key.verify(target, &body) {
            Ok(path) => path,
            Err(why) => {
                tracing::warn!("server port: refused {}: {why}", path_of(target));
                return Reply::error(403, format!("Permission denied: {why}"));
            }
        },
        None => target,
    };
    // Boxed: the server port's futures (Raft writes) are larger than most API handlers', and
    // every waiting blocking query's task would otherwise keep room for them.
    match Box::pin(cluster.handle_rpc(path, &body)).await {
        Ok(body) => Reply::json_bytes(body),
        Err((status, message)) => Reply::error(status, message),
    }
}

fn path_of(target: &str) -> &str {
    target.split_once('?').map_or(target, |(p, _)| p)
}
