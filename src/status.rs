//! The renderer's status: per template, what it depends on, what it still waits for, when it
//! last rendered and how its commands went. The runner owns its state in one task and
//! publishes a copy here after each pass ([`Shared`]); readers never see its internals.
//!
//! Read by the opt-in listener (`-status-addr`, config `status { address }`; consul-template
//! has no such thing, users asked in its issues #570 and #1338) on `GET /metrics` (Prometheus
//! text) and `GET /status` (JSON), and by `ctmpl -dev`'s embedded agent on
//! `/v1/ctmpl/templates` for the UI's Templates view. The listener is a few lines over
//! `httparse`: one small request, one answer, the connection closed.

use std::sync::{Arc, RwLock};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Exposition, PROMETHEUS_CONTENT_TYPE};

/// One template's state, as last published.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TemplateStatus {
    /// The source file, or the destination for inline `contents`.
    pub name: String,
    pub source: Option<String>,
    pub destination: String,
    /// Every dependency of its last execution (`kv.block(a/b)`, `health.service(web)`, …).
    pub dependencies: Vec<String>,
    /// Those with no data yet: the template waits for them.
    pub missing: Vec<String>,
    /// Whether it has rendered (its data complete) in this run.
    pub rendered: bool,
    /// Times its output was written (or printed with `-dry`).
    pub renders: u64,
    /// Unix seconds of the last write.
    pub last_render: Option<f64>,
    /// Seconds the last written render took (execution and write).
    pub last_render_duration: Option<f64>,
    pub command_runs: u64,
    pub command_failures: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Status {
    pub templates: Vec<TemplateStatus>,
}

/// The runner's published status; cloned into whoever reads it.
pub type Shared = Arc<RwLock<Status>>;

pub fn read(shared: &Shared) -> Status {
    shared.read().unwrap_or_else(|e| e.into_inner()).clone()
}

pub fn publish(shared: &Shared, status: Status) {
    *shared.write().unwrap_or_else(|e| e.into_inner()) = status;
}

/// The Prometheus text of `/metrics`.
pub fn prometheus(status: &Status) -> String {
    type Get = fn(&TemplateStatus) -> f64;
    let families: [(&str, &str, &str, Get); 8] = [
        (
            "ctmpl_template_renders_total",
            "counter",
            "Times the template's output was written.",
            |t| t.renders as f64,
        ),
        (
            "ctmpl_template_rendered",
            "gauge",
            "Whether the template has rendered with complete data (1) or still waits (0).",
            |t| f64::from(u8::from(t.rendered)),
        ),
        (
            "ctmpl_template_last_render_timestamp_seconds",
            "gauge",
            "Unix time of the template's last write (0: never).",
            |t| t.last_render.unwrap_or(0.0),
        ),
        (
            "ctmpl_template_last_render_duration_seconds",
            "gauge",
            "Seconds the template's last written render took.",
            |t| t.last_render_duration.unwrap_or(0.0),
        ),
        (
            "ctmpl_template_dependencies",
            "gauge",
            "Dependencies the template watches.",
            |t| t.dependencies.len() as f64,
        ),
        (
            "ctmpl_template_dependencies_missing",
            "gauge",
            "Dependencies the template still waits for.",
            |t| t.missing.len() as f64,
        ),
        (
            "ctmpl_template_command_runs_total",
            "counter",
            "Times the template's command ran.",
            |t| t.command_runs as f64,
        ),
        (
            "ctmpl_template_command_failures_total",
            "counter",
            "Times the template's command failed.",
            |t| t.command_failures as f64,
        ),
    ];
    let mut e = Exposition::default();
    for (name, kind, help, get) in families {
        e.family(name, kind, help);
        for t in &status.templates {
            let labels = [
                ("template", t.name.as_str()),
                ("destination", t.destination.as_str()),
            ];
            e.sample(name, &labels, get(t));
        }
    }
    e.finish()
}

/// Serves `/metrics` and `/status` on `listener` until `stop`.
pub async fn serve(listener: TcpListener, shared: Shared, stop: CancellationToken) {
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop.cancelled() => return,
        };
        match conn {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, shared.clone()));
            }
            Err(e) => {
                tracing::warn!("status listener: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request head and answers it.
async fn answer(mut stream: tokio::net::TcpStream, shared: Shared) {
    let mut buf = Vec::with_capacity(1024);
    let request = loop {
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
            .await
        {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                break (
                    req.method.unwrap_or("").to_string(),
                    req.path.unwrap_or("").to_string(),
                )
            }
            Ok(httparse::Status::Partial) if buf.len() < 16 * 1024 => continue,
            _ => break (String::new(), String::new()),
        }
    };
    let (code, content_type, body) = route(&request.0, &request.1, &shared);
    let head = format!(
        "HTTP/1.1 {code}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    if request.0 != "HEAD" {
        let _ = stream.write_all(body.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}

fn route(method: &str, target: &str, shared: &Shared) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method.is_empty() {
        return ("400 Bad Request", TEXT, "malformed HTTP request\n".into());
    }
    if method != "GET" && method != "HEAD" {
        return (
            "405 Method Not Allowed",
            TEXT,
            format!("method {method} not allowed: /metrics and /status answer GET\n"),
        );
    }
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/metrics" => ("200 OK", PROMETHEUS_CONTENT_TYPE, prometheus(&read(shared))),
        "/status" => {
            let body = serde_json::to_string_pretty(&read(shared)).unwrap_or_default();
            ("200 OK", "application/json", body + "\n")
        }
        _ => (
            "404 Not Found",
            TEXT,
            format!("no such endpoint {path:?}: try /metrics or /status\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_carry_one_sample_per_template_and_family() {
        let status = Status {
            templates: vec![TemplateStatus {
                name: "in.tmpl".into(),
                destination: "out".into(),
                renders: 2,
                missing: vec!["kv.block(a)".into()],
                ..Default::default()
            }],
        };
        let text = prometheus(&status);
        assert!(text.contains(
            "ctmpl_template_renders_total{template=\"in.tmpl\",destination=\"out\"} 2\n"
        ));
        assert!(text.contains(
            "ctmpl_template_dependencies_missing{template=\"in.tmpl\",destination=\"out\"} 1\n"
        ));
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 8);
    }
}
