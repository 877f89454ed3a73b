//! The `kronobarn` binary.

fn main() -> std::process::ExitCode {
    kronobarn_node::cli::main()
}
