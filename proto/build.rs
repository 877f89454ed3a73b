//! Compiles the .proto files with protox (pure Rust, so no system `protoc` is needed) and writes
//! the descriptor set that the node serves over gRPC reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "kronobarn/v1/domain.proto",
        "kronobarn/v1/plan_service.proto",
        "kronobarn/federation/v1/federation.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("kronobarn_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
