//! Integration tests: real node processes, real TLS, real sled files in temp dirs.

mod bad_input;
mod common;
mod county;
mod crash;
mod demo;
mod durability;
mod federation;
mod gallring;
mod harness;
mod hostile;
mod indicators;
mod log_tamper;
mod partition;
mod practice;
mod python;
mod raw;
mod responsible;
mod rules;
mod scope;
mod transport;
mod witness;
mod young;
