//! The `kronobarn` binary's edge: the command line, the county demo, the benchmarks and progress
//! on a terminal. The libraries it drives (`kronobarn-node` and below) know nothing of clap or
//! terminals; everything that parses arguments, prints for a person or uses `anyhow` is here.

#![forbid(unsafe_code)]

mod bench;
pub mod cli;
mod county;
mod county_report;
mod delay;
mod demo;
mod progress;
