//! A Kronobarn node: one organisation's plans, fragments, consents and signed access log on
//! embedded storage, served to the organisation's own systems through the gateway.
//!
//! Pure parts (the clock, the log's verifier and the extract's checks) are kept apart from I/O
//! (the store, the server) so they can be tested exhaustively. The `kronobarn` binary (crate `kronobarn`) drives this
//! library; nothing here parses arguments or draws on a terminal.

#![forbid(unsafe_code)]

pub mod accesslog;
pub mod client;
pub mod clock;
pub mod commit;
pub mod config;
pub mod directory;
pub mod federation;
pub mod init;
pub mod keys;
pub mod node;
pub mod outbox;
pub mod pki;
pub mod pseudonym;
pub mod records;
pub mod roster;
pub mod server;
pub mod store;
#[cfg(test)]
mod testkit;
pub mod work;
