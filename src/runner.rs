//! The run loop: one task owns the state. It executes every template against the brain, watches
//! what they use, writes each template once its data is complete (after its quiescence wait),
//! runs the commands of the files that changed, drives the exec child, and waits for the next
//! change, timer or signal. consul-template's n-pass model: nested lookups (`range services` →
//! `service .Name`) are discovered pass by pass until nothing is missing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::child::{self, CommandSpec, Env, ExecOptions, Supervisor};
use crate::consul::client::{Client, ClientConfig};
use crate::renderer::{self, RenderOptions};
use crate::status::{Status, TemplateStatus};
use crate::template::jinja::{is_jinja_path, AnyTemplate};
use crate::template::{Brain, TemplateConfig};
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

/// Quiescence: write once no change came for `min`, or `max` after the first change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub min: Duration,
    pub max: Duration,
}

impl Wait {
    /// `MIN[:MAX]`, MAX defaulting to 4×MIN.
    pub fn parse(s: &str) -> Result<Wait, String> {
        let (min, max) = match s.split_once(':') {
            Some((a, b)) => (crate::duration::parse(a)?, crate::duration::parse(b)?),
            None => {
                let min = crate::duration::parse(s)?;
                (min, min * 4)
            }
        };
        if max < min {
            return Err(format!(
                "wait: max ({max:?}) must be larger than min ({min:?})"
            ));
        }
        Ok(Wait { min, max })
    }
}

/// Everything about one template.
#[derive(Clone, Debug)]
pub struct TemplateSettings {
    pub source: Option<PathBuf>,
    pub contents: Option<String>,
    pub destination: String,
    pub command: Option<CommandSpec>,
    pub command_timeout: Duration,
    /// Run after a changed file is in place, before `command`; failing restores the old file.
    pub check_command: Option<CommandSpec>,
    pub render: RenderOptions,
    pub error_on_missing_key: bool,
    pub error_fatal: bool,
    pub left_delimiter: String,
    pub right_delimiter: String,
    pub function_denylist: Vec<String>,
    pub sandbox_path: Option<PathBuf>,
    pub wait: Option<Wait>,
    /// Jinja (true) or Go (false); unset: Jinja for a source ending in `.j2` or `.jinja`.
    pub jinja: Option<bool>,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        TemplateSettings {
            source: None,
            contents: None,
            destination: String::new(),
            command: None,
            command_timeout: Duration::from_secs(30),
            check_command: None,
            render: RenderOptions {
                create_dest_dirs: true,
                ..Default::default()
            },
            error_on_missing_key: false,
            error_fatal: true,
            left_delimiter: String::new(),
            right_delimiter: String::new(),
            function_denylist: Vec::new(),
            sandbox_path: None,
            wait: None,
            jinja: None,
        }
    }
}

impl From<&TemplateSpec> for TemplateSettings {
    fn from(spec: &TemplateSpec) -> Self {
        TemplateSettings {
            source: Some(PathBuf::from(&spec.source)),
            destination: spec.destination.clone(),
            command: (!spec.command.is_empty()).then(|| CommandSpec::from_string(&spec.command)),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    pub consul: Option<ClientConfig>,
    pub templates: Vec<TemplateSettings>,
    pub once: bool,
    pub dry: bool,
    pub parse_only: bool,
    /// Re-read and re-render a template whose source file changes (`-watch-templates`).
    pub watch_templates: bool,
    pub watch: WatchConfig,
    pub wait: Option<Wait>,
    pub exec: Option<ExecOptions>,
    pub pid_file: Option<PathBuf>,
    /// Where the templates' status is published after each pass (`-status-addr`, `-dev`'s UI).
    pub status: Option<crate::status::Shared>,
}

/// Why the runner stopped (consul-template's exit codes).
#[derive(Debug)]
pub enum RunError {
    /// 15: a configuration or template could not be loaded.
    Config(String),
    /// 14: a render, write, command or lookup failed for good.
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

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Everything rendered (`-once`) or stopped on request: exit 0.
    Done,
    /// The reload signal: re-read the configuration and start again.
    Reload,
    /// The exec child exited with this code.
    Child(i32),
    /// The kill signal: exit 12.
    Killed,
}

/// Signals the runner reacts to, delivered by whoever owns the process's signal handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Reload,
    /// Graceful stop (SIGTERM, or the shutdown of an embedding program).
    Stop,
    Kill,
    /// Any other signal: forwarded to the exec child.
    Forward(Signal),
}

struct Loaded {
    settings: TemplateSettings,
    template: AnyTemplate,
    /// What this run last wrote (or printed), to write only on change.
    last: Option<Vec<u8>>,
    /// Dependencies of the last good execution (kept watched if the next one fails), shared
    /// with the executions that found the same ones: comparing them is cheap.
    used: Vec<Arc<str>>,
    rendered: bool,
    /// Quiescence: when to write at the latest, and the next quiet-timer firing.
    deadline: Option<Instant>,
    fire_at: Option<Instant>,
    /// What the last execution still waited for (dependency keys), and when to say so next.
    waiting: Vec<String>,
    report_at: Option<Instant>,
    /// What the status reports beyond the above.
    renders: u64,
    last_render: Option<f64>,
    last_render_duration: Option<f64>,
    command_runs: u64,
    command_failures: u64,
}

impl Loaded {
    fn status(&self) -> TemplateStatus {
        TemplateStatus {
            name: self.template.name().to_string(),
            source: self
                .settings
                .source
                .as_ref()
                .map(|p| p.display().to_string()),
            destination: self.settings.destination.clone(),
            dependencies: self.used.iter().map(|k| k.to_string()).collect(),
            missing: self.waiting.clone(),
            rendered: self.rendered,
            renders: self.renders,
            last_render: self.last_render,
            last_render_duration: self.last_render_duration,
            command_runs: self.command_runs,
            command_failures: self.command_failures,
        }
    }
}

/// Publishes the templates' state for the status listener and the UI.
fn publish(templates: &[Loaded], to: Option<&crate::status::Shared>) {
    if let Some(shared) = to {
        let templates = templates.iter().map(Loaded::status).collect();
        crate::status::publish(shared, Status { templates });
    }
}

/// How long a template may wait for data before the runner says what it waits for, and how
/// often it says it again while still waiting: long enough that a normal start is silent.
const FIRST_WAITING_REPORT: Duration = Duration::from_secs(5);
const WAITING_REPORT_EVERY: Duration = Duration::from_secs(30);

/// The variables consul-template's runner gives templates (`env`) and commands (its
/// `childEnv`): the Consul address, token and TLS settings as configured. ctmpl keeps HTTPS in
/// the address's scheme, so `CONSUL_HTTP_SSL` is read from it and the scheme is left out of
/// `CONSUL_HTTP_ADDR`, as consul-template's `-consul-ssl` users write the address.
pub fn consul_env(consul: &ClientConfig) -> HashMap<String, String> {
    let ssl = consul.address.starts_with("https://");
    let address = consul
        .address
        .strip_prefix("https://")
        .unwrap_or(&consul.address);
    let mut env = HashMap::new();
    if !address.is_empty() {
        env.insert("CONSUL_HTTP_ADDR".to_string(), address.to_string());
    }
    if !consul.token.is_empty() {
        env.insert("CONSUL_HTTP_TOKEN".to_string(), consul.token.clone());
    }
    env.insert("CONSUL_HTTP_SSL".to_string(), ssl.to_string());
    env.insert(
        "CONSUL_HTTP_SSL_VERIFY".to_string(),
        (!consul.insecure).to_string(),
    );
    env
}

fn load(settings: &TemplateSettings, env: &HashMap<String, String>) -> Result<Loaded, RunError> {
    let (name, source, text) = match (&settings.source, &settings.contents) {
        (Some(path), None) => {
            let text = std::fs::read(path).map_err(|e| {
                RunError::Config(format!("template: failed reading {}: {e}", path.display()))
            })?;
            let path = path.display().to_string();
            (path.clone(), path, text)
        }
        (None, Some(contents)) => (
            settings.destination.clone(),
            String::new(),
            contents.clone().into_bytes(),
        ),
        _ => {
            return Err(RunError::Config(
                "template: exactly one of source and contents is required".into(),
            ))
        }
    };
    let config = TemplateConfig {
        name,
        source,
        text,
        left_delim: settings.left_delimiter.clone(),
        right_delim: settings.right_delimiter.clone(),
        error_on_missing_key: settings.error_on_missing_key,
        function_denylist: settings.function_denylist.clone(),
        sandbox_path: settings.sandbox_path.clone(),
        env: env.clone(),
    };
    let jinja = settings
        .jinja
        .unwrap_or_else(|| settings.source.as_deref().is_some_and(is_jinja_path));
    // A template that does not parse is a runner error (14), as consul-template's first run.
    let template = AnyTemplate::new(config, jinja).map_err(RunError::Runtime)?;
    Ok(Loaded {
        settings: settings.clone(),
        template,
        last: None,
        used: Vec::new(),
        rendered: false,
        deadline: None,
        fire_at: None,
        waiting: Vec::new(),
        report_at: None,
        renders: 0,
        last_render: None,
        last_render_duration: None,
        command_runs: 0,
        command_failures: 0,
    })
}

/// The PID file: written at start, removed when the runner is dropped.
struct PidFile(Option<PathBuf>);

impl PidFile {
    fn write(path: Option<&Path>) -> Result<PidFile, RunError> {
        if let Some(p) = path {
            std::fs::write(p, format!("{}\n", std::process::id()))
                .map_err(|e| RunError::Runtime(format!("pid file {}: {e}", p.display())))?;
        }
        Ok(PidFile(path.map(Path::to_path_buf)))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs until everything rendered (`once`), the exec child exits, or a control signal.
pub async fn run(
    config: RunConfig,
    mut control: mpsc::UnboundedReceiver<Control>,
) -> Result<Stopped, RunError> {
    if config.templates.is_empty() {
        return Err(RunError::Config(
            "no templates given (use -template SRC:DEST or a config file)".into(),
        ));
    }
    let consul = config.consul.clone().unwrap_or_else(ClientConfig::from_env);
    let env = consul_env(&consul);
    let mut templates: Vec<Loaded> = config
        .templates
        .iter()
        .map(|t| load(t, &env))
        .collect::<Result<_, _>>()?;
    let _pid = PidFile::write(config.pid_file.as_deref())?;
    let client = Arc::new(Client::new(&consul).map_err(RunError::Config)?);
    let mut watch = config.watch.clone();
    watch.once = config.once;
    let shutdown = CancellationToken::new();
    let _stop_views = shutdown.clone().drop_guard();
    let (mut watcher, mut events) = Watcher::new(client, watch, shutdown.clone());
    let mut brain = Arc::new(Brain::default());
    let mut child: Option<Supervisor> = None;
    let mut extra_env: Vec<(String, String)> = env.clone().into_iter().collect();
    extra_env.sort();
    let mut fired: HashSet<usize> = HashSet::new();
    // Dependencies whose views answered that they have no data yet.
    let mut waiting: HashSet<String> = HashSet::new();
    let sources_changed = Arc::new(tokio::sync::Notify::new());
    let _source_watch = watch_sources(&config, &sources_changed);
    loop {
        let pass = pass(&mut templates, &mut brain, &mut watcher, &config, &fired).await?;
        fired.clear();
        if config.parse_only {
            return Ok(Stopped::Done);
        }
        run_commands(&pass.written, &mut templates, &extra_env).await;
        publish(&templates, config.status.as_ref());
        let all_rendered = templates.iter().all(|t| t.rendered);
        if let Some(exec) = &config.exec {
            match child.as_mut() {
                None if all_rendered => {
                    let mut opts = exec.clone();
                    opts.env.extra.extend(extra_env.clone());
                    child = Some(Supervisor::start(opts).map_err(RunError::Runtime)?);
                }
                Some(c) if !pass.written.is_empty() => {
                    c.reload().await.map_err(RunError::Runtime)?
                }
                _ => {}
            }
        }
        if config.once && pass.missing.is_empty() && child.is_none() {
            return Ok(Stopped::Done);
        }
        // Views that said they have nothing yet will not answer soon: no reason to wait.
        if let Some(used) = &pass.used {
            waiting.retain(|k| used.contains(k));
        }
        let mut missing = pass.missing;
        missing.retain(|k| !waiting.contains(k));
        if missing.is_empty() {
            watcher.settled();
        }
        let timer = templates
            .iter()
            .flat_map(|t| [t.fire_at, t.report_at])
            .flatten()
            .min();
        tokio::select! {
            e = events.recv() => {
                let Some(e) = e else { return Ok(Stopped::Done) };
                let (started, asked) = (std::time::Instant::now(), missing.len());
                apply(&mut brain, e, &mut missing, &mut waiting)?;
                gather(&mut events, &mut brain, &mut missing, &mut waiting).await?;
                tracing::debug!(
                    "(runner) gathered {} of {asked} awaited answers in {:?}",
                    asked - missing.len(),
                    started.elapsed()
                );
            }
            _ = sleep_until(timer) => {
                let now = Instant::now();
                for (i, t) in templates.iter_mut().enumerate() {
                    if t.fire_at.is_some_and(|at| at <= now) {
                        fired.insert(i);
                    }
                    report_waiting(t, now);
                }
            }
            _ = sources_changed.notified(), if _source_watch.is_some() => {
                // Let an editor's write-rename-chmod settle into one re-read.
                tokio::time::sleep(Duration::from_millis(30)).await;
                reload_sources(&mut templates, &env);
            }
            code = wait_child(&mut child) => return Ok(Stopped::Child(code)),
            c = control.recv() => {
                let c = c.unwrap_or(Control::Stop);
                if let Control::Forward(sig) = c {
                    if let Some(ch) = &child {
                        ch.forward(sig);
                    }
                    continue;
                }
                if let Some(ch) = child.as_mut() {
                    ch.stop().await;
                }
                return Ok(match c {
                    Control::Reload => Stopped::Reload,
                    Control::Kill => Stopped::Killed,
                    _ => Stopped::Done,
                });
            }
        }
    }
}

/// `-watch-templates`: file events for every template source.
fn watch_sources(
    config: &RunConfig,
    changed: &Arc<tokio::sync::Notify>,
) -> Option<crate::fswatch::FsWatch> {
    if !config.watch_templates || config.once {
        return None;
    }
    let sources: Vec<PathBuf> = config
        .templates
        .iter()
        .filter_map(|t| t.source.clone())
        .collect();
    match crate::fswatch::watch(&sources, changed.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("-watch-templates: {e}; edited templates need SIGHUP");
            None
        }
    }
}

/// Parses every template source again; one that no longer parses (or cannot be read) is
/// logged and keeps its last good version, and so its last output.
fn reload_sources(templates: &mut [Loaded], env: &HashMap<String, String>) {
    for t in templates.iter_mut().filter(|t| t.settings.source.is_some()) {
        match load(&t.settings, env) {
            Ok(fresh) => t.template = fresh.template,
            Err(e) => tracing::error!("{e}; keeping the last good template"),
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn wait_child(child: &mut Option<Supervisor>) -> i32 {
    match child.as_mut() {
        Some(c) => c.wait().await,
        None => std::future::pending().await,
    }
}

/// One pass's outcome.
struct Pass {
    /// Templates whose destination changed, in template order.
    written: Vec<usize>,
    missing: HashSet<String>,
    /// Every dependency some template uses, when that set changed in this pass.
    used: Option<HashSet<String>>,
}

/// Executes every template, watches what they use, writes what is complete and quiet.
async fn pass(
    templates: &mut [Loaded],
    brain: &mut Arc<Brain>,
    watcher: &mut Watcher,
    config: &RunConfig,
    fired: &HashSet<usize>,
) -> Result<Pass, RunError> {
    // Whether some template's dependencies changed: only then are views started or stopped
    // and the brain pruned (a pass after one service changed touches none of that).
    let mut deps_changed = false;
    let mut missing = HashSet::new();
    let mut written = Vec::new();
    // Quiescence starts once every template has been written once (first render not delayed).
    let quiescent = !config.once && templates.iter().all(|t| t.rendered);
    for (i, t) in templates.iter_mut().enumerate() {
        let started = std::time::Instant::now();
        let r = match t.template.execute(brain.clone()) {
            Ok(r) => r,
            Err(e) if t.settings.error_fatal => return Err(RunError::Runtime(e)),
            Err(e) => {
                tracing::error!("(runner) {e}");
                continue;
            }
        };
        if !same_keys(&t.used, &r.used) {
            for d in r.used.iter() {
                watcher.watch(d.dep());
            }
            t.used = r.used.iter().map(|d| d.shared_key().clone()).collect();
            deps_changed = true;
        }
        tracing::debug!(
            template = %t.template.name(),
            "(runner) executed in {:?}: {} dependencies, {} missing",
            started.elapsed(),
            r.used.len(),
            r.missing.len()
        );
        if !r.missing.is_empty() {
            let keys: Vec<String> = r.missing.iter().map(|d| d.key().to_string()).collect();
            missing.extend(keys.iter().cloned());
            note_waiting(t, keys);
            continue;
        }
        note_waiting(t, Vec::new());
        if config.parse_only || t.last.as_deref() == Some(&r.output) {
            t.template.recycle(r.output);
            t.rendered = true;
            continue;
        }
        let wait = t.settings.wait.or(config.wait);
        if let (true, Some(w), false) = (quiescent, wait, fired.contains(&i)) {
            arm(t, w);
            continue;
        }
        t.deadline = None;
        t.fire_at = None;
        if emit(t, &r.output, config.dry).await? {
            written.push(i);
        }
        t.renders += 1;
        t.last_render = Some(crate::metrics::unix_now());
        t.last_render_duration = Some(started.elapsed().as_secs_f64());
        if let Some(old) = t.last.replace(r.output) {
            t.template.recycle(old);
        }
        t.rendered = true;
    }
    // Every dependency some template uses, when that changed (views started or stopped).
    let mut used = None;
    if deps_changed {
        let now: HashSet<String> = templates
            .iter()
            .flat_map(|t| t.used.iter().map(|k| k.to_string()))
            .collect();
        watcher.retain(&now);
        Arc::make_mut(brain).retain(&now);
        used = Some(now);
    }
    Ok(Pass {
        written,
        missing,
        used,
    })
}

/// Whether an execution used the same dependencies, in the same order, as the last one.
fn same_keys(last: &[Arc<str>], now: &[crate::template::KeyedDep]) -> bool {
    last.len() == now.len()
        && last
            .iter()
            .zip(now)
            .all(|(a, b)| Arc::ptr_eq(a, b.shared_key()) || **a == *b.key())
}

/// Records what a template waits for; the first report is due a while after it started
/// waiting, so a template whose data arrives promptly is never reported.
fn note_waiting(t: &mut Loaded, mut keys: Vec<String>) {
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        t.report_at = None;
    } else if t.report_at.is_none() {
        t.report_at = Some(Instant::now() + FIRST_WAITING_REPORT);
    }
    t.waiting = keys;
}

/// Says what a template is still waiting for once its report is due, then again later.
fn report_waiting(t: &mut Loaded, now: Instant) {
    if t.report_at.is_none_or(|at| at > now) || t.waiting.is_empty() {
        return;
    }
    tracing::info!(
        "(runner) {}: waiting for: {}",
        t.template.name(),
        t.waiting.join(", ")
    );
    t.report_at = Some(now + WAITING_REPORT_EVERY);
}

/// Arms (or re-arms) a template's quiet timer: `min` from now, but never past `max` from the
/// first change.
fn arm(t: &mut Loaded, w: Wait) {
    let now = Instant::now();
    let deadline = *t.deadline.get_or_insert(now + w.max);
    t.fire_at = Some((now + w.min).min(deadline));
}

/// Puts a complete render in place; true when the destination changed. A failing
/// `check_command` puts the previous contents back.
async fn emit(t: &mut Loaded, output: &[u8], dry: bool) -> Result<bool, RunError> {
    use std::io::Write;
    let dest = &t.settings.destination;
    if dry || dest.is_empty() {
        let mut out = std::io::stdout().lock();
        let header = format!("> {dest}\n");
        out.write_all(header.as_bytes())
            .and_then(|_| out.write_all(output))
            .and_then(|_| out.flush())
            .map_err(|e| RunError::Runtime(format!("stdout: {e}")))?;
        return Ok(false);
    }
    let written = match renderer::render(Path::new(dest), output, &t.settings.render) {
        Ok(w) => w,
        Err(e) if t.settings.error_fatal => return Err(RunError::Runtime(e)),
        Err(e) => {
            tracing::error!(destination = %dest, "{e}");
            return Ok(false);
        }
    };
    if written.changed {
        tracing::info!(destination = %dest, "rendered");
    }
    Ok(written.changed && check(t, written.previous).await.is_ok())
}

/// Runs the template's `check_command` on the new file; restores the old one if it fails.
async fn check(t: &Loaded, previous: Option<Vec<u8>>) -> Result<(), ()> {
    let Some(check) = &t.settings.check_command else {
        return Ok(());
    };
    let dest = Path::new(&t.settings.destination);
    match child::run(check, t.settings.command_timeout, &Env::default()).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::error!(destination = %dest.display(), "check_command failed, previous contents restored: {e}");
            if let Err(r) = renderer::restore(dest, previous.as_deref()) {
                tracing::error!(destination = %dest.display(), "cannot restore: {r}");
            }
            Err(())
        }
    }
}

/// The commands of the written templates, in template order, each distinct command once.
async fn run_commands(written: &[usize], templates: &mut [Loaded], extra_env: &[(String, String)]) {
    let mut seen: Vec<CommandSpec> = Vec::new();
    for &i in written {
        let t = &mut templates[i];
        let Some(cmd) = t.settings.command.clone().filter(|c| !c.is_empty()) else {
            continue;
        };
        if seen.contains(&cmd) {
            continue;
        }
        seen.push(cmd.clone());
        t.command_runs += 1;
        let env = Env {
            extra: extra_env.to_vec(),
            ..Default::default()
        };
        match child::run(&cmd, t.settings.command_timeout, &env).await {
            Ok(output) if !output.is_empty() => {
                tracing::info!(command = %cmd, "{}", output.trim_end())
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(destination = %t.settings.destination, "{e}");
                t.command_failures += 1;
            }
        }
    }
}

/// Collects answers the last pass waited for, instead of rendering once per answer (quadratic
/// with `range services` / `service .Name`): until every dependency the pass found missing
/// has answered, with data or with word that it has none yet (`Event::Waiting`). So a pass
/// never runs on part of what was asked together, however slowly the answers trickle in; a
/// long quiet spell (a view that neither answers nor says it waits) renders anyway.
async fn gather(
    events: &mut mpsc::UnboundedReceiver<Event>,
    brain: &mut Arc<Brain>,
    missing: &mut HashSet<String>,
    waiting: &mut HashSet<String>,
) -> Result<(), RunError> {
    loop {
        while let Ok(e) = events.try_recv() {
            apply(brain, e, missing, waiting)?;
        }
        if missing.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(GATHER_QUIET, events.recv()).await {
            Ok(Some(e)) => apply(brain, e, missing, waiting)?,
            _ => return Ok(()),
        }
    }
}

const GATHER_QUIET: Duration = Duration::from_secs(2);

fn apply(
    brain: &mut Arc<Brain>,
    event: Event,
    missing: &mut HashSet<String>,
    waiting: &mut HashSet<String>,
) -> Result<(), RunError> {
    match event {
        Event::Data { key, data } => {
            missing.remove(&key);
            waiting.remove(&key);
            Arc::make_mut(brain).remember(key, data);
            Ok(())
        }
        Event::Waiting { key } => {
            missing.remove(&key);
            waiting.insert(key);
            Ok(())
        }
        Event::Failed { key, error } => Err(RunError::Runtime(format!("{key}: {error}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gotmpl::Value;

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

    #[test]
    fn wait_forms() {
        let s = Duration::from_secs;
        assert_eq!(
            Wait::parse("5s").unwrap(),
            Wait {
                min: s(5),
                max: s(20)
            }
        );
        assert_eq!(
            Wait::parse("2s:10s").unwrap(),
            Wait {
                min: s(2),
                max: s(10)
            }
        );
        assert!(Wait::parse("10s:2s").is_err());
    }

    fn loaded() -> Loaded {
        load(
            &TemplateSettings {
                contents: Some("x".into()),
                destination: "d".into(),
                ..Default::default()
            },
            &HashMap::new(),
        )
        .unwrap()
    }

    /// A pass's missing dependencies are gathered until each has answered, with data or with
    /// word that it has none yet; no quiet spell is waited out, and later passes do not wait
    /// for a view that said it has nothing.
    #[tokio::test(start_paused = true)]
    async fn gather_ends_when_every_missing_dependency_answered() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut brain = Arc::new(Brain::default());
        let mut missing: HashSet<String> = ["a".to_string(), "b".to_string()].into();
        let mut waiting = HashSet::new();
        tx.send(Event::Data {
            key: "a".into(),
            data: Value::str("x"),
        })
        .unwrap();
        let started = Instant::now();
        let answer_b = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            tx.send(Event::Waiting { key: "b".into() }).unwrap();
        };
        let (gathered, ()) = tokio::join!(
            gather(&mut rx, &mut brain, &mut missing, &mut waiting),
            answer_b
        );
        gathered.unwrap();
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(500),
            "ends at b's answer"
        );
        assert!(missing.is_empty());
        assert_eq!(brain.get("a").and_then(Value::as_str), Some("x"));
        assert!(waiting.contains("b") && !waiting.contains("a"));
        // Data for b later: no longer waiting.
        tx.send(Event::Data {
            key: "b".into(),
            data: Value::str("y"),
        })
        .unwrap();
        gather(&mut rx, &mut brain, &mut missing, &mut waiting)
            .await
            .unwrap();
        assert!(waiting.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn quiescence_rearms_within_the_max() {
        let w = Wait {
            min: Duration::from_secs(2),
            max: Duration::from_secs(5),
        };
        let mut t = loaded();
        let start = Instant::now();
        arm(&mut t, w);
        assert_eq!(t.fire_at, Some(start + Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(1)).await;
        arm(&mut t, w);
        assert_eq!(
            t.fire_at,
            Some(start + Duration::from_secs(3)),
            "a change re-arms min"
        );
        tokio::time::advance(Duration::from_millis(2500)).await;
        arm(&mut t, w);
        assert_eq!(
            t.fire_at,
            Some(start + Duration::from_secs(5)),
            "never past max"
        );
    }
}
