//! `ctmpl render`: renders one template file with Go's builtins only, to stdout, the way Go's
//! `text/template` would (the tool for checking our engine against Go).

use std::io::Write;

use super::flags::{self, Flag};
use super::help::Command;
use crate::gotmpl::{GoStr, MissingKey, Template, Value};

const FLAGS: &[Flag] = &[
    Flag::value(
        "data",
        "file.json",
        "",
        "JSON document the template renders (its dot)",
    ),
    Flag::value(
        "missingkey",
        "default|zero|error",
        "default",
        "what a missing map key gives, as Go's Option(\"missingkey=…\")",
    ),
    Flag::value("left-delim", "delim", "{{", "left action delimiter"),
    Flag::value("right-delim", "delim", "}}", "right action delimiter"),
];

pub const COMMAND: Command = Command {
    name: "render",
    synopsis: "Renders one template with Go's text/template builtins only, to stdout",
    usage: "ctmpl render [options] TEMPLATE",
    about: "  Renders the template file TEMPLATE to stdout the way Go's text/template does, with Go's\n  \
            builtin functions only: the tool for checking ctmpl's engine against Go.",
    flags: FLAGS,
    notes: "Exit status: 1 for a parse error, 2 for an execution error, 64 for bad usage or input.",
};

/// What went wrong, and so the exit status: 1 parse, 2 execution, 64 usage or input.
#[derive(Debug)]
pub enum RenderError {
    Usage(String),
    Parse(String),
    Exec(String),
}

impl RenderError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RenderError::Parse(_) => 1,
            RenderError::Exec(_) => 2,
            RenderError::Usage(_) => 64,
        }
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Usage(m) | RenderError::Parse(m) | RenderError::Exec(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RenderError {}

/// Runs `ctmpl render` on a thread with a deep stack: deeply nested data and recursive
/// templates must end in Go's errors, not a stack overflow.
pub fn run(args: &[String]) -> Result<(), RenderError> {
    let args = args.to_vec();
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || render(&args))
        .map_err(|e| RenderError::Usage(format!("cannot start: {e}")))?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn render(args: &[String]) -> Result<(), RenderError> {
    let usage = |m: String| RenderError::Usage(format!("{m}\n\n{}", super::help::usage(&COMMAND)));
    let flags = flags::parse(args, FLAGS).map_err(|e| usage(e.0))?;
    let [path] = flags.args.as_slice() else {
        return Err(usage("render takes exactly one TEMPLATE".into()));
    };
    let missing_key: MissingKey = flags
        .get("missingkey")
        .unwrap_or("default")
        .parse()
        .map_err(usage)?;
    let text = read(path)?;
    let data = match flags.get("data") {
        Some(file) => Value::from_json_owned(json_text(read(file)?))
            .map_err(|e| RenderError::Usage(format!("{file}: invalid JSON: {e}")))?,
        None => Value::Missing,
    };
    let mut tmpl = Template::new(path)
        .delims(
            flags.get("left-delim").unwrap_or(""),
            flags.get("right-delim").unwrap_or(""),
        )
        .missing_key(missing_key);
    tmpl.parse(&text).map_err(|e| RenderError::Parse(e.0))?;
    let mut out = Vec::new();
    let result = tmpl.execute(&mut out, &data);
    // Go has written everything before an error; so do we.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out).and_then(|_| stdout.flush());
    // The process ends right after: freeing a large document node by node would cost as much
    // as parsing it did.
    std::mem::forget((data, tmpl, out));
    result.map_err(|e| RenderError::Exec(e.0))
}

/// A file's bytes: templates need not be UTF-8.
fn read(path: &str) -> Result<Vec<u8>, RenderError> {
    std::fs::read(path).map_err(|e| RenderError::Usage(format!("open {path}: {e}")))
}

/// JSON text as Go's decoder reads it: each byte that is not UTF-8 is U+FFFD (inside a string
/// that is what Go decodes; outside one it is a syntax error either way).
fn json_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| GoStr::Raw(e.as_bytes()).to_lossy())
}

#[cfg(test)]
mod tests {
    #[test]
    fn usage_documents_every_flag() {
        super::super::help::assert_documents_every_flag(&super::COMMAND);
    }
}
