//! What `ctmpl help`, `ctmpl help COMMAND` and every command's `-h`/`-help`/`--help` print.
//!
//! Each command describes itself once, as a [`Command`] whose flag table is the very table its
//! parser reads; the usage text here (and the shell completion in `completion`) is generated
//! from it, so every accepted flag is documented with its default. The layout is
//! consul-template's and `consul agent -h`'s: a `Usage:` line, a paragraph, then each flag as
//! `-name=<value>` over an indented line of meaning.

use super::flags::{Flag, FlagKind};

/// One `ctmpl` command: its name, what it does, and the flags it accepts.
pub struct Command {
    /// The word after `ctmpl`; empty for consul-template's own command line (`ctmpl [options]`).
    pub name: &'static str,
    /// One line for `ctmpl help`'s list.
    pub synopsis: &'static str,
    /// The `Usage:` line's text after `Usage: `.
    pub usage: &'static str,
    /// A paragraph on what the command does (lines already indented by two spaces).
    pub about: &'static str,
    pub flags: &'static [Flag],
    /// Text after the options (positional arguments, environment); may be empty.
    pub notes: &'static str,
}

/// The usage `-h` prints: every flag of the table, its value, default and meaning.
pub fn usage(cmd: &Command) -> String {
    let mut out = format!("Usage: {}\n\n{}\n", cmd.usage, cmd.about.trim_end());
    let (refused, flags): (Vec<&Flag>, Vec<&Flag>) = cmd.flags.iter().partition(|f| f.is_refused());
    if !flags.is_empty() {
        out.push_str("\nOptions:\n\n");
        for f in flags {
            out.push_str(&flag_entry(f));
        }
        // Entries end in a blank line; the next section brings its own.
        out.pop();
    }
    if !refused.is_empty() {
        let names: Vec<String> = refused.iter().map(|f| format!("-{}", f.name)).collect();
        out.push_str(
            "\nRefused (consul-template flags ctmpl does not support; each says why when given):\n\n",
        );
        out.push_str(&wrap(&names.join(", "), "  ", 78));
    }
    if !cmd.notes.is_empty() {
        out.push('\n');
        out.push_str(cmd.notes.trim_end());
        out.push('\n');
    }
    out
}

/// `  -name=<value>` over `      meaning (default: X)`.
fn flag_entry(f: &Flag) -> String {
    let head = match f.kind {
        FlagKind::Bool => format!("  -{}", f.name),
        FlagKind::Value => format!("  -{}=<{}>", f.name, f.arg),
    };
    let default = match f.default {
        "" => String::new(),
        d => format!(" (default: {d})"),
    };
    format!("{head}\n      {}{default}\n\n", f.help)
}

/// `text` as lines of at most `width` columns, each starting with `indent`, split at spaces.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = indent.to_string();
    for word in text.split(' ') {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.to_string();
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `ctmpl help`: the commands, one line each.
pub fn overview(commands: &[&Command]) -> String {
    let mut out = String::from(
        "Usage: ctmpl [options]\n       ctmpl <command> [args]\n\n  \
         ctmpl re-implements consul-template (`ctmpl [options]`, see `ctmpl -h`) and bundles a\n  \
         Consul-compatible agent and its CLI, registrator, and tools around them.\n\n\
         Available commands are:\n",
    );
    let width = commands.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in commands.iter().filter(|c| !c.name.is_empty()) {
        out.push_str(&format!("    {:<width$}    {}\n", c.name, c.synopsis));
    }
    out.push_str("\nRun `ctmpl help COMMAND` or `ctmpl COMMAND -h` for a command's flags.\n");
    out
}

/// Fails unless `cmd`'s usage documents every flag its parser accepts (each command's unit
/// tests call this on its own table).
#[cfg(test)]
pub fn assert_documents_every_flag(cmd: &Command) {
    let text = usage(cmd);
    for f in cmd.flags {
        let documented = if f.is_refused() {
            text.split(['\n', ',', ' '])
                .any(|w| w == format!("-{}", f.name))
        } else {
            let head = match f.kind {
                FlagKind::Bool => format!("\n  -{}\n      ", f.name),
                FlagKind::Value => format!("\n  -{}=<{}>\n      ", f.name, f.arg),
            };
            text.contains(&head) && !f.help.trim().is_empty()
        };
        assert!(
            documented,
            "-{} is accepted but not in the usage:\n{text}",
            f.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        Flag::bool("once", "run once"),
        Flag::value("wait", "min[:max]", "0s", "quiescence"),
        Flag::refused("dedup", FlagKind::Bool),
    ];
    const CMD: Command = Command {
        name: "x",
        synopsis: "does x",
        usage: "ctmpl x [options]",
        about: "  Does x.",
        flags: FLAGS,
        notes: "",
    };

    #[test]
    fn usage_shows_each_flag_with_its_value_default_and_meaning() {
        let text = usage(&CMD);
        assert!(text.starts_with("Usage: ctmpl x [options]\n\n  Does x.\n"));
        assert!(text.contains("  -once\n      run once\n"));
        assert!(text.contains("  -wait=<min[:max]>\n      quiescence (default: 0s)\n"));
        assert!(text.contains("Refused"));
        assert!(text.contains("  -dedup\n"));
    }

    #[test]
    fn overview_lists_named_commands() {
        let text = overview(&[&CMD]);
        assert!(text.contains("    x    does x\n"));
    }
}
