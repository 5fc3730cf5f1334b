//! The run loop: one task executes every template against the brain, watches what they use,
//! writes (or with `-dry` prints) each template once its data is complete, and waits for the
//! next change. consul-template's n-pass model: nested lookups (`range services` → `service
//! .Name`) are discovered pass by pass until nothing is missing.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::client::{Client, ClientConfig};
use crate::template::{Brain, Template, TemplateConfig};
use crate::watch::{Event, WatchConfig, Watcher};

/// `-template "SRC[:DEST[:COMMAND]]"`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateSpec {
    pub source: String,
    pub destination: String,
    pub command: String,
}

impl TemplateSpec {
    pub fn parse(s: &str) -> Result<TemplateSpec, String> {
        let mut parts = s.splitn(3, ':');
        let source = parts.next().unwrap_or("").to_string();
        if source.is_empty() {
            return Err(format!("invalid template declaration {s:?}: no source"));
        }
        Ok(TemplateSpec {
            source,
            destination: parts.next().unwrap_or("").to_string(),
            command: parts.next().unwrap_or("").to_string(),
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    pub consul: Option<ClientConfig>,
    pub templates: Vec<TemplateSpec>,
    pub once: bool,
    pub dry: bool,
    pub watch: WatchConfig,
}

/// Why the runner stopped (consul-template's exit codes: 14 runtime, 15 configuration).
#[derive(Debug)]
pub enum RunError {
    Config(String),
    Runtime(String),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Config(_) => 15,
            RunError::Runtime(_) => 14,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(m) | RunError::Runtime(m) => f.write_str(m),
        }
    }
}

struct Loaded {
    spec: TemplateSpec,
    template: Template,
    /// What was last written or printed, to write only on change.
    last: Option<Vec<u8>>,
}

fn load(spec: &TemplateSpec) -> Result<Loaded, RunError> {
    let text = std::fs::read(&spec.source)
        .map_err(|e| RunError::Config(format!("template: failed reading {}: {e}", spec.source)))?;
    let config = TemplateConfig {
        name: spec.source.clone(),
        text,
        ..Default::default()
    };
    let template = Template::new(config).map_err(RunError::Config)?;
    Ok(Loaded {
        spec: spec.clone(),
        template,
        last: None,
    })
}

/// Runs until every template rendered (`once`) or until `shutdown`.
pub async fn run(config: RunConfig, shutdown: CancellationToken) -> Result<(), RunError> {
    if config.templates.is_empty() {
        return Err(RunError::Config(
            "no templates given (use -template SRC:DEST)".into(),
        ));
    }
    let mut templates: Vec<Loaded> = config
        .templates
        .iter()
        .map(load)
        .collect::<Result<_, _>>()?;
    let consul = config.consul.clone().unwrap_or_else(ClientConfig::from_env);
    let client = Arc::new(Client::new(&consul).map_err(RunError::Config)?);
    let mut watch = config.watch.clone();
    watch.once = config.once;
    let (mut watcher, mut events) = Watcher::new(client, watch, shutdown.child_token());
    let mut brain = Arc::new(Brain::default());
    loop {
        let mut used = HashSet::new();
        let mut missing = HashSet::new();
        for t in templates.iter_mut() {
            let r = t
                .template
                .execute(brain.clone())
                .map_err(RunError::Runtime)?;
            for d in &r.used {
                used.insert(d.key());
                watcher.watch(d);
            }
            if !r.missing.is_empty() {
                missing.extend(r.missing.iter().map(|d| d.key()));
                continue;
            }
            if t.last.as_deref() != Some(&r.output) {
                emit(&t.spec, &r.output, config.dry)?;
                t.last = Some(r.output);
            }
        }
        watcher.retain(&used);
        Arc::make_mut(&mut brain).retain(&used);
        if config.once && missing.is_empty() {
            return Ok(());
        }
        let first = tokio::select! {
            e = events.recv() => e,
            _ = shutdown.cancelled() => return Ok(()),
        };
        let Some(first) = first else { return Ok(()) };
        apply(&mut brain, first, &mut missing)?;
        // While answers the last pass waited for are still coming, gather them rather than
        // render once per answer (quadratic with `range services` / `service .Name`); a quiet
        // spell renders anyway, so nested lookups keep progressing.
        loop {
            while let Ok(e) = events.try_recv() {
                apply(&mut brain, e, &mut missing)?;
            }
            if missing.is_empty() {
                break;
            }
            match tokio::time::timeout(GATHER_QUIET, events.recv()).await {
                Ok(Some(e)) => apply(&mut brain, e, &mut missing)?,
                _ => break,
            }
        }
    }
}

/// How long to wait for more answers before rendering an incomplete pass again.
const GATHER_QUIET: std::time::Duration = std::time::Duration::from_millis(50);

fn apply(
    brain: &mut Arc<Brain>,
    event: Event,
    missing: &mut HashSet<String>,
) -> Result<(), RunError> {
    match event {
        Event::Data { key, data } => {
            missing.remove(&key);
            Arc::make_mut(brain).remember(key, data);
            Ok(())
        }
        Event::Failed { key, error } => Err(RunError::Runtime(format!("{key}: {error}"))),
    }
}

/// Writes a rendered template, or with `-dry` prints it after a `> DEST` line.
fn emit(spec: &TemplateSpec, output: &[u8], dry: bool) -> Result<(), RunError> {
    use std::io::Write;
    if dry || spec.destination.is_empty() {
        let mut out = std::io::stdout().lock();
        let header = format!("> {}\n", spec.destination);
        return out
            .write_all(header.as_bytes())
            .and_then(|_| out.write_all(output))
            .and_then(|_| out.flush())
            .map_err(|e| RunError::Runtime(format!("stdout: {e}")));
    }
    let dest = Path::new(&spec.destination);
    if std::fs::read(dest).ok().as_deref() == Some(output) {
        return Ok(());
    }
    crate::agent::store::write_atomically(dest, output).map_err(RunError::Runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_declarations() {
        let t = TemplateSpec::parse("in.ctmpl:out.conf:nginx -s reload").unwrap();
        assert_eq!(
            (
                t.source.as_str(),
                t.destination.as_str(),
                t.command.as_str()
            ),
            ("in.ctmpl", "out.conf", "nginx -s reload")
        );
        assert_eq!(TemplateSpec::parse("in.ctmpl").unwrap().destination, "");
        assert_eq!(
            TemplateSpec::parse("a:b:sh -c 'x:y'").unwrap().command,
            "sh -c 'x:y'"
        );
        assert!(TemplateSpec::parse(":out").is_err());
    }
}
