//! `plugin`: runs an executable with arguments and returns its trimmed stdout, killed after 30s,
//! with consul-template's and `os/exec`'s error wording.

use super::go_errno;
use crate::gotmpl::{printf, Arity, FuncError, FuncMap, Value};
use crate::template::funcs::{def, string_arg};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "plugin", Arity::AtLeast(1), |a| {
        let name = string_arg(&a[0])?;
        let args = a[1..]
            .iter()
            .map(|v| string_arg(v).map(|s| s.into_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        run_plugin(&name, &args, PLUGIN_TIMEOUT)
            .map(Value::from)
            .map_err(FuncError)
    });
}

/// How long a plugin may run before it is killed.
pub(super) const PLUGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// consul-template's `plugin`: runs `name` (no shell) with the trimmed, non-empty args and
/// returns its trimmed stdout.
pub(in crate::template::funcs) fn run_plugin(
    name: &str,
    args: &[String],
    timeout: std::time::Duration,
) -> Result<String, String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    if name.is_empty() {
        return Ok(String::new());
    }
    let args: Vec<&str> = args
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    let failed = |err: &str, out: &[u8], errout: &[u8]| {
        format!(
            "exec {}: {err}\n\nstdout:\n\n{}\n\nstderr:\n\n{}",
            printf::quote(name),
            String::from_utf8_lossy(out),
            String::from_utf8_lossy(errout)
        )
    };
    let spawned = Command::new(name)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return Err(failed(&spawn_error(name, &e), b"", b"")),
    };
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let errout = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(e) => return Err(failed(&go_errno(&e), b"", b"")),
        }
    };
    let Some(status) = status else {
        if child.kill().is_err() {
            return Err(format!("exec {}: failed to kill", printf::quote(name)));
        }
        let _ = child.wait();
        return Err(format!(
            "exec {}: did not finish in 30s",
            printf::quote(name)
        ));
    };
    let (out, errout) = (
        out.join().unwrap_or_default(),
        errout.join().unwrap_or_default(),
    );
    if !status.success() {
        return Err(failed(&exit_message(status), &out, &errout));
    }
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Go's `exec.Command(...).Start()` error.
fn spawn_error(name: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound && !name.contains('/') {
        return format!(
            "exec: {}: executable file not found in $PATH",
            printf::quote(name)
        );
    }
    format!("fork/exec {name}: {}", go_errno(e))
}

/// Go's `ProcessState.String()`.
fn exit_message(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let sig = status.signal().unwrap_or(0);
    let name = match sig {
        1 => "hangup".to_string(),
        2 => "interrupt".to_string(),
        3 => "quit".to_string(),
        6 => "aborted".to_string(),
        9 => "killed".to_string(),
        11 => "segmentation fault".to_string(),
        13 => "broken pipe".to_string(),
        15 => "terminated".to_string(),
        n => format!("signal {n}"),
    };
    format!("signal: {name}")
}
