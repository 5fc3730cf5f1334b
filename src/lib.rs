//! ctmpl: a consul-template re-implementation. `gotmpl` is the Go text/template engine.
pub mod gotmpl;
