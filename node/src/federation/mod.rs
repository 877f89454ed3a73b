//! Exchange between organisations' nodes (`kronobarn.federation.v1`), over mutual TLS. Each part
//! is a room of its own on top of the node core, which never imports them:
//! - `admission`: what a peer pushes or a fetch brings is verified against the roster, checked
//!   against the receiver's own consent view and stored (or refused with a code);
//! - `delivery`: one task per peer drains that peer's outbox and keeps the signed receipts;
//! - `sync`: anti-entropy from each peer's change feed;
//! - `lease`: the consent leases a holder renews and the consent home grants;
//! - `witness`: checkpoints of this node's log cosigned by its peers, and theirs cosigned here only
//!   when consistent with what was cosigned before;
//! - `indicators`: the county's indicators, answered to the report readers the config names
//!   and collected from every member by a reader;
//! - `service`: the gRPC service; `connect`: TLS connections to peers.

pub mod admission;
#[cfg(test)]
mod attacks;
pub mod connect;
pub mod delivery;
pub mod indicators;
pub mod lease;
pub mod service;
pub mod sync;
pub mod witness;
