//! The Consul HTTP API as both sides of ctmpl see it: `api` holds the JSON wire types (the agent
//! serves them, the watcher and registrator read them) and `client` the HTTP client that
//! consul-template mode and registrator use to reach an agent.

pub mod api;
pub mod client;
pub mod h2client;
pub(crate) mod tls;
