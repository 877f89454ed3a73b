//! Tests of the decisions through the public API: fixtures, examples per rule, and the laws as
//! properties.

mod authoring;
mod examples;
mod fixtures;
mod laws;
mod responsibility;
