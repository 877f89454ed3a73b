//! Exchange between organisations' nodes (`kronobarn.federation.v1`), over mutual TLS.
//!
//! Built so far: the receiving side of Push. Every envelope is verified against the roster
//! before anything in it is used, checked against the receiver's own view of consent with the
//! policy, stored with its exact signed bytes, and recorded in the access log; a copy that the
//! consent no longer covers is purged when a consent or revocation arrives. Still to come: the
//! sending side (outbox and delivery), anti-entropy, leases, checkpoint witnessing.

pub mod delivery;
pub mod handover;
pub mod lease;
pub mod outbox;
pub mod receive;
pub mod service;
pub mod sync;
pub mod witness;
