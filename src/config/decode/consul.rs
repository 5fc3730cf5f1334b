//! The `consul` block (or the deprecated `consul = "address"`) and its `auth`, `retry`, `ssl`
//! and `transport` blocks.

use super::{names, Body, Cx};
use crate::config::hcl::{Key, Node};
use crate::config::{
    AuthConfig, ConsulConfig, Result, RetryConfig, SslConfig, TransportConfig, Tree,
};

/// `consul { }`, or the deprecated `consul = "address"`.
pub(super) fn decode_consul(cx: &Cx, key: &Key, v: &Node) -> Result<ConsulConfig> {
    if let Tree::Str(address) = v {
        tracing::warn!(
            "{}: consul = \"…\" is deprecated; use consul {{ address = \"…\" }}",
            cx.file
        );
        return Ok(ConsulConfig {
            address: Some(address.clone()),
            ..ConsulConfig::default()
        });
    }
    let mut c = ConsulConfig::default();
    for (k, v) in cx.block(key, "consul", v)? {
        let (name, p) = names("consul", k);
        match name.as_str() {
            "address" => c.address = Some(cx.string(k, &p, v)?),
            "namespace" => c.namespace = Some(cx.string(k, &p, v)?),
            "token" => c.token = Some(cx.string(k, &p, v)?),
            "token_file" => c.token_file = Some(cx.string(k, &p, v)?),
            "auth" => c.auth = Some(decode_auth(cx, &p, cx.block(k, &p, v)?)?),
            "retry" => c.retry = Some(decode_retry(cx, &p, cx.block(k, &p, v)?)?),
            "ssl" => c.ssl = Some(decode_ssl(cx, &p, cx.block(k, &p, v)?)?),
            "transport" => c.transport = Some(decode_transport(cx, &p, cx.block(k, &p, v)?)?),
            _ => return Err(cx.unknown(k, "consul")),
        }
    }
    Ok(c)
}

fn decode_auth(cx: &Cx, path: &str, body: &Body) -> Result<AuthConfig> {
    let mut a = AuthConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "enabled" => a.enabled = Some(cx.boolean(k, &p, v)?),
            "username" => a.username = Some(cx.string(k, &p, v)?),
            "password" => a.password = Some(cx.string(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(a)
}

fn decode_retry(cx: &Cx, path: &str, body: &Body) -> Result<RetryConfig> {
    let mut r = RetryConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "enabled" => r.enabled = Some(cx.boolean(k, &p, v)?),
            "attempts" => r.attempts = Some(cx.unsigned(k, &p, v)?),
            "backoff" => r.backoff = Some(cx.duration(k, &p, v)?),
            "max_backoff" => r.max_backoff = Some(cx.duration(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(r)
}

fn decode_ssl(cx: &Cx, path: &str, body: &Body) -> Result<SslConfig> {
    let mut s = SslConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        let field = match name.as_str() {
            "enabled" => {
                s.enabled = Some(cx.boolean(k, &p, v)?);
                continue;
            }
            "verify" => {
                s.verify = Some(cx.boolean(k, &p, v)?);
                continue;
            }
            "cert" => &mut s.cert,
            "key" => &mut s.key,
            "ca_cert" => &mut s.ca_cert,
            "ca_cert_bytes" => &mut s.ca_cert_bytes,
            "ca_path" => &mut s.ca_path,
            "server_name" => &mut s.server_name,
            _ => return Err(cx.unknown(k, path)),
        };
        *field = Some(cx.string(k, &p, v)?);
    }
    Ok(s)
}

fn decode_transport(cx: &Cx, path: &str, body: &Body) -> Result<TransportConfig> {
    let mut t = TransportConfig::default();
    for (k, v) in body {
        let (name, p) = names(path, k);
        match name.as_str() {
            "dial_keep_alive" => t.dial_keep_alive = Some(cx.duration(k, &p, v)?),
            "dial_timeout" => t.dial_timeout = Some(cx.duration(k, &p, v)?),
            "disable_keep_alives" => t.disable_keep_alives = Some(cx.boolean(k, &p, v)?),
            "idle_conn_timeout" => t.idle_conn_timeout = Some(cx.duration(k, &p, v)?),
            "max_idle_conns" => t.max_idle_conns = Some(cx.unsigned(k, &p, v)?),
            "max_idle_conns_per_host" => t.max_idle_conns_per_host = Some(cx.unsigned(k, &p, v)?),
            "max_conns_per_host" => t.max_conns_per_host = Some(cx.unsigned(k, &p, v)?),
            "tls_handshake_timeout" => t.tls_handshake_timeout = Some(cx.duration(k, &p, v)?),
            _ => return Err(cx.unknown(k, path)),
        }
    }
    Ok(t)
}
