//! A proving key's cosets computed (what every proof does without `pk.cosets`) against read
//! from `pk.cosets` (digests checked), part by part, in seconds: one table row per part.
//!
//! usage: cargo run --release -p zkinfer-prover --example cosets_bench -- MODEL.zkc KEYDIR
//! (KEYDIR from `zkinfer setup --precompute-cosets`)

use std::path::PathBuf;
use std::time::Instant;

use halo2_axiom::plonk::KeyCosetSource;
use zkinfer_ir::CompiledModel;
use zkinfer_prover::{CosetsFile, Keys, COSETS_FILE};

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [model, dir] = &args[..] else {
        anyhow::bail!("usage: cosets_bench MODEL.zkc KEYDIR");
    };
    let model = CompiledModel::read(model)?;
    let keys = Keys::read(dir, &model)?;
    let file = CosetsFile::open(&dir.join(COSETS_FILE), &keys.pk, &keys.header.vk_digest)?;
    let polys = file.header().fixed + 3 + file.header().permutation;
    println!("| part | polynomials | computed (s) | read (s) |");
    println!("|---|---|---|---|");
    for part in 0..keys.pk.num_extended_parts() {
        let t = Instant::now();
        let computed = keys.pk.compute_key_cosets(part);
        let computed_s = t.elapsed().as_secs_f64();
        drop(computed);
        let t = Instant::now();
        let read = file.part(part)?;
        let read_s = t.elapsed().as_secs_f64();
        // As the prover does: every part's memory but the last goes back for the next read.
        file.recycle(read);
        println!("| {part} | {polys} | {computed_s:.2} | {read_s:.2} |");
    }
    Ok(())
}
