//! Tests of the crate, one module per concern; `support` builds small inputs by hand.

mod disclosure;
mod indicators;
mod properties;
mod support;

mod report;
mod scale;
