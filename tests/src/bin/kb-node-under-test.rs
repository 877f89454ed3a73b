//! The `kronobarn` binary, built inside the test package so the integration tests can start and
//! kill real node processes (`CARGO_BIN_EXE_kb-node-under-test`).

fn main() -> std::process::ExitCode {
    kronobarn::cli::main()
}
