//! ctmpl: a consul-template re-implementation. `gotmpl` is the Go text/template engine, `render`
//! the `ctmpl render` command, `cli` Go's flag rules.
pub mod cli;
pub mod gotmpl;
pub mod render;
