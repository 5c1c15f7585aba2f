//! Verifies a zkinfer proof in-process, as a client would: only `zkinfer-verifier` is needed
//! (no ONNX, no onnxruntime, no prover code).
//!
//! ```text
//! bash examples/demo.sh        # makes target/demo/keys and target/demo/proof.json
//! cargo run --release --example verify_in_process -- target/demo/keys/bundle.bin target/demo/proof.json
//! ```

use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let bundle_path = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/demo/keys/bundle.bin".into()),
    );
    let proof_path = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/demo/proof.json".into()),
    );

    let bundle = zkinfer_verifier::Bundle::read(&bundle_path)?;
    let proof = zkinfer_verifier::ProofFile::read(&proof_path)?;
    if bundle.header.srs.insecure {
        eprintln!("note: these keys were made with a local, insecure test SRS");
    }
    let t = Instant::now();
    match zkinfer_verifier::verify(&bundle, &proof) {
        Ok(out) => {
            println!(
                "valid proof, verified in {:.1} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
            for (i, o) in out.outputs.iter().enumerate() {
                println!("output {i}: {o:?}");
            }
            Ok(())
        }
        Err(e) => {
            // Every rejection is a typed `VerifyError`; match on it to react per case.
            eprintln!("rejected: {e}");
            std::process::exit(1);
        }
    }
}
