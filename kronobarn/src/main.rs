//! The `kronobarn` binary.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    kronobarn::cli::main()
}
